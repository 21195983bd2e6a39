//! Explanations on real pairs: NTREX-128 news (CC-BY-SA 4.0, Microsoft),
//! FLORES-200 devtest (CC-BY-SA 4.0, NLLB Team), and a few short software
//! strings quoted from FileZilla, apt and calibre.

use super::*;

const AR: Lang = Lang::Arabic;
const EN: Lang = Lang::English;

fn kinds(e: &Explanation) -> Vec<&str> {
    e.penalties.iter().map(|p| p.kind.as_str()).collect()
}

fn chars(text: &str, range: &Option<Range<usize>>) -> String {
    let range = range.clone().expect("a range");
    text.chars().skip(range.start).take(range.end - range.start).collect()
}

/// An edit as (kind, query range, source range).
type Shown = (EditKind, Option<Range<usize>>, Option<Range<usize>>);

fn changed(e: &Explanation) -> Vec<Shown> {
    e.edits.iter().filter(|x| x.kind != EditKind::Equal).map(|x| (x.kind, x.query.clone(), x.source.clone())).collect()
}

// NTREX-128.
const POLICE_AR: &str = "صرّحت الشرطة أن الحادث وقع في Ballyhackamore.";
const POLICE_EN: &str = "The incident happened in Ballyhackamore, police said.";
const TOLL_AR: &str = "ارتفاع عدد الوفيات جراء تسونامي إندونيسيا إلى 832";
const TOLL_EN: &str = "Death toll from Indonesia tsunami rises to 832";
const SIMS_AR: &str = "وكان سيمز يبلغ 20 عامًا.";
const SIMS_EN: &str = "Sims was 20 years old.";
const POLL_AR: &str = "وقال 70 في المائة من هؤلاء أنهم سيصوتون بنعم.";
const POLL_EN: &str = "Of those, 70 percent said they would vote yes.";
// FLORES-200.
const QUAKE_AR: &str = "وضربَ الزلزال ماريانا في الساعة ٠٧:١٩ صباحاً بالتوقيت المحلي (الجمعة ٠٩:١٩ مساءً بتوقيت جرينتش).";
const QUAKE_EN: &str = "The eathquake struck Mariana at 07:19 a.m. local time (09:19 p.m. GMT Friday).";
const GOVERNOR_AR: &str = "وقال مكتب المحافظ أن ١٩ من المصابين كانوا من ضباط الشرطة.";
const GOVERNOR_EN: &str = "The governor's office said nineteen of the injured were police officers.";

#[test]
fn identical_text_scores_100_with_every_word_equal() {
    let e = explain(POLICE_AR, POLICE_AR, POLICE_EN, AR);
    assert_eq!(e.score, 100);
    assert!(e.penalties.is_empty() && e.repaired_target.is_none());
    assert!(changed(&e).is_empty());
    assert_eq!(e.edits.len(), 7);
}

#[test]
fn spelling_differences_score_95_to_99_and_show_where() {
    // No shadda, bare alef, ha for ta marbuta, Arabic-Indic digits.
    let query = "صرحت الشرطه ان الحادث وقع في Ballyhackamore.";
    let e = explain(query, POLICE_AR, POLICE_EN, AR);
    assert_eq!(kinds(&e), ["diacritics", "alef_hamza", "ta_marbuta"]);
    assert_eq!(e.score, 97);
    let normalized: Vec<String> =
        e.edits.iter().filter(|x| x.kind == EditKind::Normalized).map(|x| chars(query, &x.query)).collect();
    assert_eq!(normalized, ["صرحت", "الشرطه", "ان"]);
    for edit in e.edits.iter().filter(|x| x.kind == EditKind::Normalized) {
        let source = chars(POLICE_AR, &edit.source);
        assert_eq!(crate::text::words(&source), crate::text::words(&chars(query, &edit.query)));
    }
    assert!(e.repaired_target.is_none());

    let e = explain("ارتفاع عدد الوفيات جراء تسونامي إندونيسيا إلى ٨٣٢", TOLL_AR, TOLL_EN, AR);
    assert_eq!((e.score, kinds(&e)), (99, vec!["digit_script"]));
}

#[test]
fn a_clitic_or_suffix_costs_half_a_word() {
    // الشرطة → شرطة (the article), and a whole different word for comparison.
    let variant = explain("صرّحت شرطة أن الحادث وقع في Ballyhackamore.", POLICE_AR, POLICE_EN, AR);
    let substituted = explain("صرّحت الحكومة أن الحادث وقع في Ballyhackamore.", POLICE_AR, POLICE_EN, AR);
    assert_eq!((variant.cost.tenths, variant.variants, variant.word_edits), (5, 1, 0));
    assert_eq!((substituted.cost.tenths, substituted.word_edits), (10, 1));
    assert_eq!(variant.score, 92); // ⌊100 × (7 − ½) / 7⌋
    assert_eq!(substituted.score, 85);
    assert_eq!(changed(&variant), [(EditKind::Variant, Some(6..10), Some(6..12))]);

    // والشركات / الشركة, بالمائة / المائة: proclitics and plural endings.
    let e = explain("وقال 70 بالمائة من هؤلاء أنهم سيصوتون بنعم.", POLL_AR, POLL_EN, AR);
    assert_eq!((e.cost.tenths, e.variants, e.word_edits), (15, 1, 1));
    assert_eq!(changed(&e), [(EditKind::Delete, None, Some(8..10)), (EditKind::Variant, Some(8..15), Some(11..17))]);
}

#[test]
fn english_plurals_and_possessives_are_variants() {
    let e = explain("Sims was 20 year old.", SIMS_EN, SIMS_AR, EN);
    assert_eq!((e.variants, e.word_edits, e.score), (1, 0, 90));
    let e =
        explain("The governor office said nineteen of the injured were police officers.", GOVERNOR_EN, GOVERNOR_AR, EN);
    assert_eq!((e.variants, e.word_edits), (1, 0));
    assert_eq!(changed(&e)[0].0, EditKind::Variant);
}

#[test]
fn a_changed_number_repairs_the_target_in_its_own_digits() {
    // ar→en: Arabic-Indic digits in the query, Western in the target.
    let e = explain("ارتفاع عدد الوفيات جراء تسونامي إندونيسيا إلى ٩٤٠", TOLL_AR, TOLL_EN, AR);
    assert_eq!(e.score, 98);
    assert_eq!(kinds(&e), ["placeable_number"]);
    assert_eq!(e.repaired_target.as_deref(), Some("Death toll from Indonesia tsunami rises to 940"));
    assert_eq!(changed(&e), [(EditKind::Placeable, Some(46..49), Some(46..49))]);
    assert_eq!(TOLL_AR.chars().skip(46).collect::<String>(), "832");

    // en→ar: the Arabic target keeps its Arabic-Indic digits.
    let e = explain(
        "The eathquake struck Mariana at 08:19 a.m. local time (09:19 p.m. GMT Friday).",
        QUAKE_EN,
        QUAKE_AR,
        EN,
    );
    assert_eq!(
        e.repaired_target.as_deref(),
        Some("وضربَ الزلزال ماريانا في الساعة ٠٨:١٩ صباحاً بالتوقيت المحلي (الجمعة ٠٩:١٩ مساءً بتوقيت جرينتش).")
    );

    // A percentage.
    let e = explain("وقال 65 في المائة من هؤلاء أنهم سيصوتون بنعم.", POLL_AR, POLL_EN, AR);
    assert_eq!(e.repaired_target.as_deref(), Some("Of those, 65 percent said they would vote yes."));
}

#[test]
fn a_number_that_changes_the_counted_noun_is_flagged() {
    // 20 years: عامًا (accusative singular); 5 years needs أعوام (plural).
    let e = explain("Sims was 5 years old.", SIMS_EN, SIMS_AR, EN);
    assert_eq!(e.repaired_target.as_deref(), Some("وكان سيمز يبلغ 5 عامًا."));
    assert_eq!(e.warnings.iter().map(|w| w.kind).collect::<Vec<_>>(), ["arabic_number_agreement"]);
    assert!(e.warnings[0].message.contains("plural"), "{}", e.warnings[0].message);
    // 20 → 25: both take an accusative singular.
    let e = explain("Sims was 25 years old.", SIMS_EN, SIMS_AR, EN);
    assert_eq!(e.repaired_target.as_deref(), Some("وكان سيمز يبلغ 25 عامًا."));
    assert!(e.warnings.is_empty());
    // ar→en: 20 → 1 year.
    let e = explain("وكان سيمز يبلغ 1 عامًا.", SIMS_AR, SIMS_EN, AR);
    assert_eq!(e.warnings.iter().map(|w| w.kind).collect::<Vec<_>>(), ["english_number_agreement"]);
}

#[test]
fn a_number_the_target_spells_out_is_not_repaired_and_says_why() {
    let e = explain("وقال مكتب المحافظ أن ٢١ من المصابين كانوا من ضباط الشرطة.", GOVERNOR_AR, GOVERNOR_EN, AR);
    assert_eq!(e.score, 98);
    assert_eq!(e.repaired_target, None);
    assert_eq!(e.warnings.iter().map(|w| w.kind).collect::<Vec<_>>(), ["placeable_not_in_target"]);
}

#[test]
fn a_changed_latin_name_inside_arabic_repairs_the_target() {
    let e = explain("صرّحت الشرطة أن الحادث وقع في Belfast.", POLICE_AR, POLICE_EN, AR);
    assert_eq!((e.score, kinds(&e)), (98, vec!["placeable_latin_name"]));
    assert_eq!(e.repaired_target.as_deref(), Some("The incident happened in Belfast, police said."));
    // With a spelling difference as well: both are named.
    let e = explain("صرحت الشرطة أن الحادث وقع في Belfast.", POLICE_AR, POLICE_EN, AR);
    assert_eq!((e.score, kinds(&e)), (97, vec!["diacritics", "placeable_latin_name"]));
}

#[test]
fn urls_emails_handles_placeholders_and_tags_are_placeables() {
    let cases: [(&str, &str, &str, &str, &str); 5] = [
        (
            // FileZilla
            "شاهد أيضا : https://wiki.filezilla-project.org/Network_Configuration",
            "See also: https://wiki.filezilla-project.org/Network_Configuration",
            "شاهد أيضا : https://wiki.filezilla-project.org/Firewall",
            "See also: https://wiki.filezilla-project.org/Firewall",
            "placeable_url",
        ),
        (
            // apt
            "يا للغرابة... لم تتطابق الأحجام، الرجاء مراسلة apt@packages.debian.org",
            "How odd... The sizes didn't match, email apt@packages.debian.org",
            "يا للغرابة... لم تتطابق الأحجام، الرجاء مراسلة deity@lists.debian.org",
            "How odd... The sizes didn't match, email deity@lists.debian.org",
            "placeable_email",
        ),
        (
            // NTREX, with a handle added
            "صرّحت الشرطة أن الحادث وقع في Ballyhackamore @PSNIBelfast",
            "The incident happened in Ballyhackamore, police said @PSNIBelfast",
            "صرّحت الشرطة أن الحادث وقع في Ballyhackamore @BBCNews",
            "The incident happened in Ballyhackamore, police said @BBCNews",
            "placeable_handle",
        ),
        (
            // GNOME builder
            "أمر البناء '%s' فشل.",
            "Build command '%s' failed.",
            "أمر البناء '{0}' فشل.",
            "Build command '{0}' failed.",
            "placeable_placeholder",
        ),
        (
            // calibre
            "<b>اضبط %(name)s</b><br>%(desc)s",
            "<b>Configure %(name)s</b><br>%(desc)s",
            "<i>اضبط %(name)s</i><br>%(desc)s",
            "<i>Configure %(name)s</i><br>%(desc)s",
            "placeable_tag",
        ),
    ];
    for (source, target, query, repaired, kind) in cases {
        let e = explain(query, source, target, AR);
        assert!(kinds(&e).iter().all(|k| *k == kind), "{query}: {:?}", kinds(&e));
        assert_eq!(e.cost.tenths, 0, "{query}");
        assert_eq!(e.repaired_target.as_deref(), Some(repaired), "{query}");
        // And the other way round.
        let back = explain(repaired, target, source, EN);
        assert_eq!(back.repaired_target.as_deref(), Some(query), "{repaired}");
    }
}

#[test]
fn a_repeated_number_is_repaired_by_occurrence_order_and_says_so() {
    // "19" appears twice on both sides, in the same order of numbers; only
    // the first changes.
    let e = explain(
        "The eathquake struck Mariana at 07:20 a.m. local time (09:19 p.m. GMT Friday).",
        QUAKE_EN,
        QUAKE_AR,
        EN,
    );
    assert_eq!(
        e.repaired_target.as_deref(),
        Some("وضربَ الزلزال ماريانا في الساعة ٠٧:٢٠ صباحاً بالتوقيت المحلي (الجمعة ٠٩:١٩ مساءً بتوقيت جرينتش).")
    );
    assert_eq!(e.warnings.iter().map(|w| w.kind).collect::<Vec<_>>(), ["placeable_repaired_by_order"]);
    assert!(e.warnings[0].message.contains("occurrence 2 unchanged"), "{}", e.warnings[0].message);
    // The second one, the other way round.
    let e = explain(
        "وضربَ الزلزال ماريانا في الساعة ٠٧:١٩ صباحاً بالتوقيت المحلي (الجمعة ٠٩:٢٠ مساءً بتوقيت جرينتش).",
        QUAKE_AR,
        QUAKE_EN,
        AR,
    );
    assert_eq!(
        e.repaired_target.as_deref(),
        Some("The eathquake struck Mariana at 07:19 a.m. local time (09:20 p.m. GMT Friday).")
    );
    // Both changed alike: no order is needed, nothing to say.
    let e = explain(
        "The eathquake struck Mariana at 07:25 a.m. local time (09:25 p.m. GMT Friday).",
        QUAKE_EN,
        QUAKE_AR,
        EN,
    );
    assert!(e.repaired_target.as_deref().is_some_and(|t| t.contains("٠٧:٢٥") && t.contains("٠٩:٢٥")));
    assert!(e.warnings.is_empty(), "{:?}", e.warnings);
}

#[test]
fn a_repeated_number_the_target_reorders_is_not_repaired() {
    // UN: the Arabic lists the countries in Arabic alphabetical order, the
    // English in English order, so the first 2016 of one side is the second
    // of the other.
    let arabic = "الاتحاد الروسي* (2016)، بولندا (2017)، بيلاروس* (2016)، رومانيا (2017)";
    let english = "Belarus* (2016), Poland (2017), Romania (2017), Russian Federation* (2016)";
    let e = explain("الاتحاد الروسي* (2019)، بولندا (2017)، بيلاروس* (2016)، رومانيا (2017)", arabic, english, AR);
    assert_eq!(e.repaired_target, None);
    assert_eq!(e.warnings.iter().map(|w| w.kind).collect::<Vec<_>>(), ["placeable_ambiguous"]);
}

// Numbers written differently on the two sides (real pairs).
// NTREX: Arabic groups thousands with a dot, English with a comma.
const BATS_AR: &str = "تُعد هيئة الخدمات الصحية الوطنية المسؤولة عن رعاية أكثر من 270 مبنى تاريخيًا و38 حديقة مهمة و76.000 هكتار من الأراضي في جميع أنحاء البلاد، وتهم بالخفافيش بشكل جدي للغاية.";
const BATS_EN: &str = "The NTS, which is responsible for the care of more than 270 historical buildings, 38 important gardens and 76,000 hectares of land around the country, takes bats very seriously.";
// NTREX: here the English groups with a dot and the Arabic not at all.
const HACK_AR: &str = "أجرت الحكومة الألمانية هاكاثون لمدة 48 ساعة في عطلة نهاية الأسبوع شارك فيه أكثر من 42000 شخص.";
const HACK_EN: &str = "German government conducted a 48 hours weekend hackathon with more than 42.000 participants.";
// UN: a decimal comma in Arabic, a decimal point in English.
const CAMEROON_AR: &str =
    "ففي الكاميرون على سبيل المثال تبلغ نسبة مشاركة النساء في سوق العمالة 63,6% مقابل نسبة للرجال تبلغ 76,7%.";
const CAMEROON_EN: &str = "In Cameroon, for example, women's participation in the labour market is 63.6 per cent, compared to 76.7 per cent for men.";
// TICO-19: a dollar sign glued to the English amount.
const AID_AR: &str = "في 19 فبراير، أعلن الصليب الأحمر السنغافوري أنه سيرسل للصين مساعدات بـ 2.26 مليون دولار.";
const AID_EN: &str =
    "On 19 February, the Singapore Red Cross announced that it would send $2.26 million worth of aid to China.";
// WMT24++ (Egyptian): a unit glued to the English number.
const ROW_AR: &str = "@user20 ده معناه إنك بتقطع 2.8 كم في اليوم تقريبًا؟ بتعمل ده على عجلة ثابتة ولا في المياه؟";
const ROW_EN: &str = "@user20 so every day you row at least 2.8km? Is that on the erg or on the water?";

#[test]
fn thousands_separators_follow_the_target() {
    // ar→en: 76.000 is 76 thousand; English writes 77,000.
    let query = BATS_AR.replace("76.000", "77.000");
    let e = explain(&query, BATS_AR, BATS_EN, AR);
    assert_eq!(e.repaired_target, Some(BATS_EN.replace("76,000", "77,000")), "{:?}", e.warnings);
    // en→ar: 77,000 → 77.000 in the Arabic.
    let e = explain(&BATS_EN.replace("76,000", "77,000"), BATS_EN, BATS_AR, EN);
    assert_eq!(e.repaired_target, Some(query), "{:?}", e.warnings);
    // A number the target wrote ungrouped stays ungrouped; a grouped one in
    // a target that groups with a dot keeps the dot.
    let e = explain(&HACK_EN.replace("42.000", "43.500"), HACK_EN, HACK_AR, EN);
    assert_eq!(e.repaired_target, Some(HACK_AR.replace("42000", "43500")), "{:?}", e.warnings);
    let e = explain(&HACK_AR.replace("42000", "43500"), HACK_AR, HACK_EN, AR);
    assert_eq!(e.repaired_target, Some(HACK_EN.replace("42.000", "43.500")), "{:?}", e.warnings);
}

#[test]
fn decimal_separators_follow_the_target() {
    // ar→en: 63,6 → 17,5 is 17.5 in English.
    let e = explain(&CAMEROON_AR.replace("63,6", "17,5"), CAMEROON_AR, CAMEROON_EN, AR);
    assert_eq!(e.repaired_target, Some(CAMEROON_EN.replace("63.6", "17.5")), "{:?}", e.warnings);
    // The Arabic decimal separator ٫ in the query.
    let e = explain(&CAMEROON_AR.replace("63,6", "17٫5"), CAMEROON_AR, CAMEROON_EN, AR);
    assert_eq!(e.repaired_target, Some(CAMEROON_EN.replace("63.6", "17.5")), "{:?}", e.warnings);
    // en→ar: the Arabic keeps its comma.
    let e = explain(&CAMEROON_EN.replace("76.7", "80.2"), CAMEROON_EN, CAMEROON_AR, EN);
    assert_eq!(e.repaired_target, Some(CAMEROON_AR.replace("76,7", "80,2")), "{:?}", e.warnings);
    // An Arabic target in Arabic-Indic digits stays in them, with ٫.
    let indic = CAMEROON_AR.replace("63,6%", "٦٣٫٦٪").replace("76,7%", "٧٦٫٧٪");
    let e = explain(&CAMEROON_EN.replace("63.6", "17.5"), CAMEROON_EN, &indic, EN);
    assert_eq!(e.repaired_target, Some(indic.replace("٦٣٫٦", "١٧٫٥")), "{:?}", e.warnings);
}

#[test]
fn currency_signs_and_units_glued_to_a_number_stay_in_place() {
    // $2.26 → $348.4: the Arabic writes the amount without the sign.
    let e = explain(&AID_EN.replace("$2.26", "$348.4"), AID_EN, AID_AR, EN);
    assert_eq!(e.repaired_target, Some(AID_AR.replace("2.26", "348.4")), "{:?}", e.warnings);
    // ar→en: the sign stays glued in the English.
    let e = explain(&AID_AR.replace("2.26", "348.4"), AID_AR, AID_EN, AR);
    assert_eq!(e.repaired_target, Some(AID_EN.replace("2.26", "348.4")), "{:?}", e.warnings);
    // The sign after the number, and an Arabic target in Arabic-Indic digits
    // (١٠٠ مليون).
    let after = AID_EN.replace("$2.26 million", "2.26$ million");
    let indic = AID_AR.replace("19", "١٩").replace("2.26", "١٠٠");
    let e = explain(&after.replace("2.26", "348.4"), &after.replace("2.26", "100"), &indic, EN);
    assert_eq!(e.repaired_target, Some(indic.replace("١٠٠", "٣٤٨٫٤")), "{:?}", e.warnings);
    // Percent signs before and after.
    let before = CAMEROON_AR.replace("63,6%", "%63,6");
    let e = explain(&before.replace("63,6", "3,2"), &before, CAMEROON_EN, AR);
    assert_eq!(e.repaired_target, Some(CAMEROON_EN.replace("63.6", "3.2")), "{:?}", e.warnings);
    let english = CAMEROON_EN.replace("63.6 per cent", "63.6%");
    let e = explain(&english.replace("63.6", "3.2"), &english, CAMEROON_AR, EN);
    assert_eq!(e.repaired_target, Some(CAMEROON_AR.replace("63,6", "3,2")), "{:?}", e.warnings);
    // A unit: 2.8km → 5km, and 5GB → 8GB.
    let e = explain(&ROW_EN.replace("2.8km", "5km"), ROW_EN, ROW_AR, EN);
    assert_eq!(e.repaired_target, Some(ROW_AR.replace("2.8", "5")), "{:?}", e.warnings);
    let (gb_en, gb_ar) = (ROW_EN.replace("2.8km", "5GB"), ROW_AR.replace("2.8 كم", "5GB"));
    let e = explain(&gb_en.replace("5GB", "8GB"), &gb_en, &gb_ar, EN);
    assert_eq!(e.repaired_target, Some(gb_ar.replace("5GB", "8GB")), "{:?}", e.warnings);
    assert_eq!(kinds(&e), ["placeable_number"]);
    // Another unit is another thing: not repaired, and said so.
    let e = explain(&gb_en.replace("5GB", "5MB"), &gb_en, &gb_ar, EN);
    assert_eq!(e.repaired_target, None);
    assert_eq!(e.warnings.iter().map(|w| w.kind).collect::<Vec<_>>(), ["placeable_unit_changed"]);
}

#[test]
fn fuzzy_matches_list_every_edit_with_ranges_on_both_sides() {
    let query = "وقال 70 في المائة من الناخبين إنهم سيصوتون بنعم.";
    let e = explain(query, POLL_AR, POLL_EN, AR);
    let shown: Vec<(EditKind, String, String)> = e
        .edits
        .iter()
        .filter(|x| x.kind != EditKind::Equal)
        .map(|x| {
            let q = x.query.as_ref().map_or(String::new(), |_| chars(query, &x.query));
            let s = x.source.as_ref().map_or(String::new(), |_| chars(POLL_AR, &x.source));
            (x.kind, q, s)
        })
        .collect();
    assert_eq!(
        shown,
        [
            (EditKind::Substitute, "الناخبين".into(), "هؤلاء".into()),
            (EditKind::Normalized, "إنهم".into(), "أنهم".into())
        ]
    );
    assert_eq!(e.score, 88); // one word of 9
    assert!(e.penalties.is_empty(), "spelling points apply only to word-equal matches");
}

/// The score from the alignment's cost alone, which lookups rank ties by
/// without explaining them, is the explanation's whenever words were
/// edited, and not given otherwise: real sentences against their
/// neighbours in the corpus and against edits of themselves (a word
/// dropped, two words swapped, a letter's case changed, a number changed).
#[test]
fn the_edited_score_is_the_explanations_whenever_words_were_edited() {
    let dir = crate::test_corpus::corpus_dir();
    let mut pairs = crate::test_corpus::read_pairs(&dir.join("tatoeba.tsv")).unwrap();
    pairs.truncate(1500);
    pairs.extend(crate::test_corpus::read_pairs(&dir.join("ntrex128.tsv")).unwrap().into_iter().take(500));
    let (mut given, mut withheld) = (0, 0);
    for lang in [AR, EN] {
        let side = |p: &(String, String)| if lang == AR { p.0.clone() } else { p.1.clone() };
        let texts: Vec<String> = pairs.iter().map(side).collect();
        for (i, query) in texts.iter().enumerate() {
            let words: Vec<&str> = query.split(' ').collect();
            let mut sources = vec![texts[(i + 1) % texts.len()].clone(), texts[(i + 7) % texts.len()].clone()];
            sources.push(words.iter().skip(1).copied().collect::<Vec<_>>().join(" "));
            if words.len() > 2 {
                let mut swapped = words.clone();
                swapped.swap(0, 1);
                sources.push(swapped.join(" "));
            }
            sources.push(query.to_uppercase());
            sources.push(query.replacen(|c: char| c.is_ascii_digit(), "7", 1));
            sources.push(query.clone());
            let q = tokens(query, lang);
            for source in &sources {
                let s = tokens(source, lang);
                let e = explain_tokens(query, &q, source, &s, "", lang);
                let edited =
                    query != source && !(q.is_empty() && s.is_empty()) && counted_tenths(e.cost, q.len(), s.len()) > 0;
                match edited_score(query, &q, source, &s) {
                    Some(score) => {
                        assert!(edited, "{query:?} / {source:?}: a score given where words are not edited");
                        assert_eq!(score, e.score, "{query:?} / {source:?}");
                        given += 1;
                    }
                    None => {
                        assert!(!edited, "{query:?} / {source:?}: no score where words are edited");
                        withheld += 1;
                    }
                }
            }
        }
    }
    assert!(given > 10_000 && withheld > 3_000, "given {given}, withheld {withheld}");
}
