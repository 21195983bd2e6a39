//! Engine tests on real sentence pairs (the bundled sample, from the shared
//! corpus: TICO-19 and FLORES-200 news).

use super::*;
use crate::tsv;

const NEWS: [&str; 2] = [
    include_str!("../../data/sample/tico19_cc0_sample150.tsv"),
    include_str!("../../data/sample/flores200_wikinews_sample150.tsv"),
];

fn news_pairs() -> Vec<(String, String)> {
    NEWS.iter().flat_map(|file| file.lines()).filter_map(|line| tsv::parse_line(line).unwrap()).collect()
}

fn news_memory() -> (TranslationMemory, Vec<(String, String)>) {
    let tm = TranslationMemory::in_memory();
    let pairs = news_pairs();
    let units = pairs
        .iter()
        .map(|(arabic, english)| UnitInput { arabic: arabic.clone(), english: english.clone(), ..Default::default() })
        .collect();
    let added = tm.add_units(units).unwrap();
    assert_eq!(added.added, pairs.len(), "the sample has no duplicate pairs");
    (tm, pairs)
}

fn lookup(tm: &TranslationMemory, text: &str, lang: &str) -> Vec<Match> {
    tm.lookup(LookupRequest { text: text.into(), source_lang: lang.into(), ..Default::default() }).unwrap()
}

/// Ways Arabic text reaches a memory spelled differently.
fn variants(arabic: &str) -> Vec<(&'static str, String)> {
    let is_tashkeel = |c: char| ('\u{064B}'..='\u{0652}').contains(&c);
    let mut out = vec![
        ("no diacritics", arabic.chars().filter(|&c| !is_tashkeel(c)).collect()),
        (
            "fatha added",
            arabic
                .chars()
                .enumerate()
                .flat_map(|(i, c)| {
                    let mark = (i % 3 == 0 && ('\u{0628}'..='\u{064A}').contains(&c)).then_some('\u{064E}');
                    std::iter::once(c).chain(mark)
                })
                .collect(),
        ),
        ("bare alef", arabic.replace(['أ', 'إ', 'آ'], "ا")),
        ("hamza alef", arabic.replace(" ا", " أ")),
        ("ta marbuta as ha", arabic.replace('ة', "ه")),
        (
            "arabic-indic digits",
            arabic
                .chars()
                .map(|c| match c.to_digit(10) {
                    Some(d) if c.is_ascii_digit() => char::from_u32(0x0660 + d).unwrap(),
                    _ => c,
                })
                .collect(),
        ),
        ("tatweel", arabic.replacen("ل", "ـل", 2)),
        ("bidi mark", format!("\u{200F}{arabic}\u{200E}")),
        ("arabic punctuation", arabic.replace(',', "،").replace('?', "؟")),
    ];
    out.retain(|(_, v)| v != arabic);
    out
}

#[test]
fn orthographic_variants_of_real_news_find_the_original_at_95_to_99() {
    let (tm, pairs) = news_memory();
    let mut checked = 0;
    for (arabic, english) in &pairs {
        for (kind, variant) in variants(arabic) {
            let matches = lookup(&tm, &variant, "ar");
            let best = matches.first().unwrap_or_else(|| panic!("{kind}: no match for {variant}"));
            assert_eq!(best.source(), arabic, "{kind}");
            assert_eq!(best.target(), english, "{kind}");
            assert!((95..=99).contains(&best.score), "{kind}: score {} for {variant}", best.score);
            assert!(!best.penalties.is_empty(), "{kind}: no penalty named");
            checked += 1;
        }
    }
    assert!(checked > 1000, "only {checked} variants checked");
}

#[test]
fn each_variant_kind_names_its_penalty() {
    let tm = TranslationMemory::in_memory();
    let stored = "أعلنت الشركة عن نموذج جديد في عام 2023";
    tm.add_units(vec![UnitInput {
        arabic: stored.into(),
        english: "The company announced a new model in 2023".into(),
        ..Default::default()
    }])
    .unwrap();
    let cases = [
        ("أَعْلَنَت الشركة عن نموذج جديد في عام 2023", "diacritics"),
        ("اعلنت الشركة عن نموذج جديد في عام 2023", "alef_hamza"),
        ("أعلنت الشركه عن نموذج جديد في عام 2023", "ta_marbuta"),
        ("أعلنت الشركة عن نموذج جديد في عام ٢٠٢٣", "digit_script"),
        ("أعلنت الشركة عن نمـــوذج جديد في عام 2023", "diacritics"),
        ("أعلنت الشركة، عن نموذج جديد في عام 2023", "punctuation"),
        ("\u{200F}أعلنت الشركة عن نموذج جديد في عام 2023", "invisible_controls"),
    ];
    for (query, kind) in cases {
        let best = &lookup(&tm, query, "ar-EG")[0];
        assert_eq!(best.score, 99, "{query}");
        assert_eq!(best.penalties.iter().map(|p| p.kind).collect::<Vec<_>>(), [kind], "{query}");
    }
    assert_eq!(lookup(&tm, stored, "ar")[0].score, 100);
}

#[test]
fn english_lookup_returns_arabic_targets_and_scores_word_edits() {
    let (tm, pairs) = news_memory();
    let mut checked = 0;
    for (arabic, english) in &pairs {
        let words: Vec<&str> = english.split(' ').collect();
        if words.len() < 10 {
            continue;
        }
        // One word replaced by a word no unit has: d = 1.
        let Some(at) = (words.len() / 2..words.len()).find(|&i| words[i].chars().all(char::is_alphabetic)) else {
            continue;
        };
        let mut edited = words.clone();
        edited[at] = "zzzqx";
        let edited = edited.join(" ");
        let best = &lookup(&tm, &edited, "en")[0];
        assert_eq!(best.source(), english);
        assert_eq!(best.target(), arabic);
        assert_eq!(best.distance, 1);
        let n = crate::text::words(english).len();
        assert_eq!(best.score as usize, 100 * (n - 1) / n, "{edited}");
        checked += 1;
    }
    assert!(checked > 100);
}

#[test]
fn results_are_ranked_and_respect_limits() {
    let (tm, pairs) = news_memory();
    let (_, english) = &pairs[10];
    let request = |min_score, max_results| LookupRequest {
        text: english.clone(),
        source_lang: "en".into(),
        min_score,
        max_results,
        memories: vec![],
        exhaustive: false,
    };
    let all = tm.lookup(request(Some(0), Some(100))).unwrap();
    assert_eq!(all.len(), 100);
    assert_eq!(all[0].score, 100);
    assert!(all.windows(2).all(|w| w[0].score >= w[1].score));
    let top = tm.lookup(request(Some(0), Some(3))).unwrap();
    assert_eq!(top, all[..3]);
    let strict = tm.lookup(request(Some(101), None)).unwrap();
    assert!(strict.is_empty(), "101 needs context, which this lookup has none of");
}

#[test]
fn duplicates_are_not_stored_twice_and_deletes_are_final() {
    let tm = TranslationMemory::in_memory();
    let unit =
        UnitInput { arabic: "شكرا جزيلا".into(), english: "Thank you very much".into(), ..Default::default() };
    let first = tm.add_units(vec![unit.clone(), unit.clone()]).unwrap();
    assert_eq!((first.added, first.duplicates), (1, 1));
    assert_eq!(first.ids[0], first.ids[1]);
    let other_memory = UnitInput { memory: "client-a".into(), ..unit.clone() };
    let second = tm.add_units(vec![unit.clone(), other_memory]).unwrap();
    assert_eq!(second.ids[0], first.ids[0]);
    assert_ne!(second.ids[1], first.ids[0]);
    assert_eq!(tm.stats().memories, [("client-a".to_owned(), 1), ("default".to_owned(), 1)]);

    tm.delete_unit(first.ids[0]).unwrap();
    assert!(matches!(tm.get_unit(first.ids[0]), Err(Error::NotFound { .. })));
    assert!(matches!(tm.delete_unit(first.ids[0]), Err(Error::NotFound { .. })));
    let found = lookup(&tm, "شكرا جزيلا", "ar");
    assert_eq!(found.iter().map(|m| m.unit.memory.as_str()).collect::<Vec<_>>(), ["client-a"]);
    // Adding it again after deletion stores it again, with a new id.
    let again = tm.add_units(vec![unit]).unwrap();
    assert_eq!(again.added, 1);
    assert!(again.ids[0] > second.ids[1]);
}

#[test]
fn invalid_lookups_name_their_field() {
    let tm = TranslationMemory::in_memory();
    let base = || LookupRequest { text: "hello".into(), source_lang: "en".into(), ..Default::default() };
    let cases = [
        (LookupRequest { text: " ".into(), ..base() }, "text: must not be empty"),
        (LookupRequest { source_lang: "de".into(), ..base() }, "source_lang: unknown language"),
        (LookupRequest { min_score: Some(102), ..base() }, "min_score: is 102"),
        (LookupRequest { max_results: Some(0), ..base() }, "max_results: is 0"),
        (LookupRequest { memories: vec!["nope".into()], ..base() }, "memories[0]: no memory is named \"nope\""),
    ];
    for (request, message) in cases {
        let err = tm.lookup(request).unwrap_err().to_string();
        assert!(err.starts_with(message), "{err}");
    }
}

mod index_equals_scan {
    use proptest::prelude::*;

    use super::*;

    const VOCAB: [&str; 10] = ["كشفت", "شركة", "Tencent", "عن", "نموذج", "Hunyuan", "جديد", "2023", "في", "model"];

    fn sentence() -> impl Strategy<Value = String> {
        prop::collection::vec((0..VOCAB.len(), 0..4u8), 1..10).prop_map(|words| {
            words
                .into_iter()
                .map(|(w, variant)| match variant {
                    // Spelling variants that normalize to the same word.
                    0 => VOCAB[w].replace('ة', "ه"),
                    1 => VOCAB[w].to_uppercase(),
                    _ => VOCAB[w].to_owned(),
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Top-k through the index (rising threshold included) equals top-k
        /// of the full scan: same units, scores, penalties and order.
        #[test]
        fn lookups_through_the_index_equal_exhaustive_lookups(
            units in prop::collection::vec((sentence(), sentence()), 1..60),
            queries in prop::collection::vec(sentence(), 1..6),
            min_score in 0u32..=101,
            max_results in 1u32..8,
        ) {
            let tm = TranslationMemory::in_memory();
            let inputs = units
                .into_iter()
                .map(|(arabic, english)| UnitInput { arabic, english, ..Default::default() })
                .collect();
            tm.add_units(inputs).unwrap();
            for text in queries {
                for lang in ["ar", "en"] {
                    let request = |exhaustive| LookupRequest {
                        text: text.clone(),
                        source_lang: lang.into(),
                        min_score: Some(min_score),
                        max_results: Some(max_results),
                        memories: vec![],
                        exhaustive,
                    };
                    prop_assert_eq!(tm.lookup(request(false)).unwrap(), tm.lookup(request(true)).unwrap());
                }
            }
        }
    }
}
