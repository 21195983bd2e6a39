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

/// Stores `pairs` (Arabic, English) in the default memory, in requests of
/// the largest size; the ids in pair order.
fn add_pairs(tm: &TranslationMemory, pairs: &[(String, String)]) -> Vec<UnitId> {
    let inputs: Vec<UnitInput> = pairs
        .iter()
        .map(|(arabic, english)| UnitInput { arabic: arabic.clone(), english: english.clone(), ..Default::default() })
        .collect();
    inputs.chunks(MAX_UNITS_PER_REQUEST).flat_map(|chunk| tm.add_units(chunk.to_vec()).unwrap().ids).collect()
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
            assert!(!best.explanation.penalties.is_empty(), "{kind}: no penalty named");
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
        assert_eq!(best.explanation.penalties.iter().map(|p| p.kind.as_str()).collect::<Vec<_>>(), [kind], "{query}");
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
        assert_eq!(best.explanation.word_edits, 1);
        let n = crate::text::words(english).len();
        // README's table: at most 94 with a word edit.
        assert_eq!(best.score as usize, (100 * (n - 1) / n).min(94), "{edited}");
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
        ..Default::default()
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
        (LookupRequest { max_subsegments: Some(0), ..base() }, "max_subsegments: is 0"),
        (LookupRequest { max_subsegments: Some(101), ..base() }, "max_subsegments: is 101"),
        (LookupRequest { memories: vec!["nope".into()], ..base() }, "memories[0]: no memory is named \"nope\""),
    ];
    for (request, message) in cases {
        let err = tm.lookup(request).unwrap_err().to_string();
        assert!(err.starts_with(message), "{err}");
    }
}

mod index_equals_reference {
    use proptest::prelude::*;

    use super::*;
    use crate::matching::{MetadataField, UnitFilter};
    use crate::memory::PreferenceRequest;

    /// Words with morphological variants (شركة/والشركة/شركات, model/models),
    /// placeables (numbers in several scripts and styles, Latin names inside
    /// Arabic) and hostile spellings: mixed digit scripts, a tatweel after a
    /// Latin name, full-width and presentation forms, a bidi mark inside a
    /// word, numbers glued to clitics, words that fold to nothing, and
    /// punctuation that is no word at all.
    const VOCAB: [&str; 32] = [
        "كشفت",
        "شركة",
        "والشركة",
        "شركات",
        "Tencent",
        "عن",
        "نموذج",
        "Hunyuan",
        "جديد",
        "2023",
        "٢٠٢٤",
        "في",
        "model",
        "models",
        "٢٠١5",
        "2015",
        "Tencentـ",
        "\u{FF12}\u{FF10}\u{FF12}\u{FF13}",
        "\u{FEFB}",
        "لا",
        "Ten\u{200F}cent",
        "و15",
        "بـ5",
        "ـــ",
        "\u{064E}\u{0650}",
        "42",
        "22",
        "4.0",
        "450",
        "-",
        "...",
        "!",
    ];

    fn sentence() -> impl Strategy<Value = String> {
        prop::collection::vec((0..VOCAB.len(), 0..4u8), 1..10).prop_map(|words| {
            let text = words
                .into_iter()
                .map(|(w, variant)| match variant {
                    // Spelling variants that normalize to the same word.
                    0 => VOCAB[w].replace('ة', "ه"),
                    1 => VOCAB[w].to_uppercase(),
                    _ => VOCAB[w].to_owned(),
                })
                .collect::<Vec<_>>()
                .join(" ");
            // A unit's text needs something visible.
            if text.trim().is_empty() {
                "-".to_owned()
            } else {
                text
            }
        })
    }

    /// Sentences of one template that differ only in their numbers, and
    /// others that repeat a placeable.
    fn template() -> impl Strategy<Value = String> {
        (0u32..60, 0u32..4, any::<bool>()).prop_map(|(a, b, repeat)| {
            if repeat {
                format!("ارتفع السهم {a} نقطة ثم {a} نقطة في {b}")
            } else {
                format!("ارتفعت أسهم Tencent {a}% إلى {b} دولار")
            }
        })
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![3 => sentence(), 1 => template()]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Top-k through the index (rising threshold included) equals the
        /// reference's answer (`exhaustive: true`): same units, scores,
        /// penalties and order.
        #[test]
        fn lookups_through_the_index_equal_the_reference(
            units in prop::collection::vec((text(), text(), 0..2usize, 0..2usize, 0..3usize, 0..1500i64), 1..60),
            queries in prop::collection::vec(text(), 1..6),
            min_score in 0u32..=101,
            max_results in 1u32..8,
            memory_points in 0u32..8,
            domain_points in 0u32..5,
            context in 0..4usize,
            freshness in any::<bool>(),
            domain_filter in any::<bool>(),
        ) {
            // Contexts the units and the queries share, so that 101 happens.
            const CONTEXTS: [&str; 3] = ["الشركة الجديدة", "a new model", "نموذج"];
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
            let tm = TranslationMemory::in_memory();
            // Stored texts are queries too: exact matches, 101 in context,
            // several translations.
            let mut queries = queries;
            queries.extend(units.iter().take(2).flat_map(|u| [u.0.clone(), u.1.clone()]));
            let inputs = units
                .into_iter()
                .map(|(arabic, english, memory, domain, context, age_days)| UnitInput {
                    arabic,
                    english,
                    memory: format!("m{memory}"),
                    domain: ["news", "sport"][domain].into(),
                    context_before: CONTEXTS[context].into(),
                    created_at_ms: (now - age_days * 86_400_000).max(1000),
                    ..Default::default()
                })
                .collect();
            tm.add_units(inputs).unwrap();
            let memories = tm.list_memories().unwrap();
            for text in queries {
                for lang in ["ar", "en"] {
                    let request = |exhaustive| LookupRequest {
                        text: text.clone(),
                        source_lang: lang.into(),
                        min_score: Some(min_score),
                        max_results: Some(max_results),
                        memories: vec![],
                        exhaustive,
                        memory_penalties: memories
                            .iter()
                            .filter(|m| m.name == "m1" && memory_points > 0)
                            .map(|m| (m.name.clone(), memory_points))
                            .collect(),
                        preferences: (domain_points > 0)
                            .then(|| PreferenceRequest {
                                field: Some(MetadataField::Domain),
                                value: "news".into(),
                                points: domain_points,
                            })
                            .into_iter()
                            .collect(),
                        filter: UnitFilter {
                            domains: if domain_filter { vec!["sport".into()] } else { vec![] },
                            ..UnitFilter::default()
                        },
                        context_before: CONTEXTS.get(context).map_or(String::new(), |c| (*c).to_owned()),
                        freshness: freshness.then_some((365, 5)),
                        ..Default::default()
                    };
                    prop_assert_eq!(tm.lookup(request(false)).unwrap(), tm.lookup(request(true)).unwrap());
                }
            }
        }
    }

    /// A news template in both languages with three numbers, written in
    /// several ways that normalize alike (Arabic-Indic digits, a hamza
    /// left out, a diacritic), and optionally with a word changed.
    fn news_template(numbers: [u32; 3], spelling: u8, edit: u8) -> (String, String) {
        let [percent, price, day] = numbers;
        let number = |n: u32| {
            if spelling == 1 {
                n.to_string().chars().map(|c| char::from_u32(c as u32 - '0' as u32 + 0x0660).unwrap_or(c)).collect()
            } else {
                n.to_string()
            }
        };
        let shares = match spelling {
            2 => "اسهم",
            3 => "أَسهم",
            _ => "أسهم",
        };
        let verb = if edit == 1 { "انخفضت" } else { "ارتفعت" };
        let month = if edit == 2 { "" } else { " نوفمبر" };
        let arabic = format!(
            "{verb} {shares} Tencent بنسبة {}.5% إلى {} دولارا في {}{month}",
            number(percent),
            number(price),
            number(day)
        );
        let verb = if edit == 1 { "fell" } else { "rose" };
        let month = if edit == 2 { "" } else { " November" };
        let english = format!("Shares of Tencent {verb} {percent}.5% to ${price} on{month} {day}");
        (arabic, english)
    }

    /// Three numbers from small ranges, so that units share some of them
    /// with each other and with the queries.
    fn numbers() -> impl Strategy<Value = [u32; 3]> {
        (0u32..4, 10u32..14, 1u32..4).prop_map(|(a, b, c)| [a, b, c])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(120))]

        /// A memory where many units share one template and differ in one
        /// or several numbers (and some in spelling, a word, their memory,
        /// age, context or target): lookups through the index, whose
        /// template groups are checked once and ranked by their placeables,
        /// equal the reference, with thresholds and top-k that cut inside
        /// a group.
        #[test]
        fn template_lookups_equal_the_reference(
            units in prop::collection::vec((numbers(), 0u8..4, 0u8..8, 0..2usize, 0..3usize, 0..1500i64, 0..3u8), 20..150),
            queries in prop::collection::vec((numbers(), 0u8..4, 0u8..4), 1..5),
            min_score in 60u32..=101,
            max_results in 1u32..8,
            memory_points in 0u32..4,
            context in 0..4usize,
            freshness in any::<bool>(),
            deleted in prop::collection::vec(any::<prop::sample::Index>(), 0..5),
        ) {
            const CONTEXTS: [&str; 3] = ["الشركة الجديدة", "a new model", "نموذج"];
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
            let tm = TranslationMemory::in_memory();
            let inputs: Vec<UnitInput> = units
                .iter()
                .map(|&(numbers, spelling, edit, memory, context, age_days, target)| {
                    let (arabic, mut english) = news_template(numbers, spelling, edit);
                    // Another translation of the same source, sometimes.
                    if target == 1 {
                        english.push_str(" (update)");
                    }
                    UnitInput {
                        arabic,
                        english,
                        memory: format!("m{memory}"),
                        context_before: CONTEXTS[context].into(),
                        created_at_ms: (now - age_days * 86_400_000).max(1000),
                        ..Default::default()
                    }
                })
                .collect();
            let added = tm.add_units(inputs).unwrap();
            for d in &deleted {
                if let Some(&id) = added.ids.get(d.index(added.ids.len())) {
                    tm.delete_unit(id).ok();
                }
            }
            let memories = tm.list_memories().unwrap();
            let mut texts: Vec<(String, String)> =
                queries.iter().map(|&(numbers, spelling, edit)| news_template(numbers, spelling, edit)).collect();
            // Stored texts: exact matches, 101 in context, several
            // translations.
            texts.extend(units.iter().take(2).map(|&(numbers, spelling, edit, ..)| news_template(numbers, spelling, edit)));
            for (arabic, english) in texts {
                for (text, lang) in [(arabic, "ar"), (english, "en")] {
                    let request = |exhaustive| LookupRequest {
                        text: text.clone(),
                        source_lang: lang.into(),
                        min_score: Some(min_score),
                        max_results: Some(max_results),
                        exhaustive,
                        memory_penalties: memories
                            .iter()
                            .filter(|m| m.name == "m1" && memory_points > 0)
                            .map(|m| (m.name.clone(), memory_points))
                            .collect(),
                        context_before: CONTEXTS.get(context).map_or(String::new(), |c| (*c).to_owned()),
                        freshness: freshness.then_some((365, 5)),
                        ..Default::default()
                    };
                    prop_assert_eq!(tm.lookup(request(false)).unwrap(), tm.lookup(request(true)).unwrap(), "{}", text);
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(120))]

        /// Sub-segment matches through the index (template hashes, groups,
        /// several segments, deletions, a memory filter) equal a brute force
        /// over every stored unit (`reference::subsegments`), hit for hit
        /// and in order.
        #[test]
        fn subsegments_equal_a_brute_force_over_every_unit(
            batches in prop::collection::vec(prop::collection::vec((text(), text(), 0..2usize), 1..25), 1..4),
            picks in prop::collection::vec((0..1000usize, 0..1000usize, 0..1000usize, text()), 1..5),
            deletions in prop::collection::vec(0..1000usize, 0..4),
            one_memory in any::<bool>(),
        ) {
            let tm = TranslationMemory::in_memory();
            let mut ids = Vec::new();
            for batch in batches {
                let inputs = batch
                    .into_iter()
                    .map(|(arabic, english, memory)| UnitInput {
                        arabic,
                        english,
                        memory: format!("m{memory}"),
                        ..Default::default()
                    })
                    .collect();
                ids.extend(tm.add_units(inputs).unwrap().ids);
            }
            for d in deletions {
                let _ = tm.delete_unit(ids[d % ids.len()]);
            }
            let mut units = Vec::new();
            tm.for_each_unit(&mut |unit| {
                units.push(unit);
                Ok(())
            })
            .unwrap();
            prop_assume!(!units.is_empty());
            let memories: Vec<String> = if one_memory { vec![units[0].memory.clone()] } else { vec![] };
            for (a, b, c, extra) in picks {
                for lang in [Lang::Arabic, Lang::English] {
                    // Stored texts glued together, with a random sentence
                    // between: many runs are whole units.
                    let side = |i: usize| units[i % units.len()].side(lang).to_owned();
                    let text = format!("{} {} {} {}", side(a), extra, side(b), side(c));
                    let request = LookupRequest {
                        text: text.clone(),
                        source_lang: lang.code().into(),
                        memories: memories.clone(),
                        subsegments: true,
                        max_subsegments: Some(100),
                        ..Default::default()
                    };
                    let found = tm.lookup_with_fragments(request).unwrap().fragments;
                    let got: Vec<_> =
                        found.iter().map(|f| (f.unit.id, f.query_words.start, f.query_words.len())).collect();
                    let mut expected = crate::reference::subsegments(&units, &text, lang, &memories);
                    expected.truncate(100);
                    prop_assert_eq!(&got, &expected, "{}", text);
                    // The cover: greedy in rank order, no overlaps.
                    let mut taken: Vec<std::ops::Range<usize>> = Vec::new();
                    for f in &found {
                        let free = taken.iter().all(|r| r.end <= f.query_words.start || f.query_words.end <= r.start);
                        prop_assert_eq!(f.in_cover, free);
                        if free {
                            taken.push(f.query_words.clone());
                        }
                        prop_assert_eq!(f.translation(), f.target());
                    }
                }
            }
        }
    }
}

#[test]
fn chunks_analyzed_out_of_order_are_filled_in_order() {
    let mut in_order = InOrder::default();
    let mut taken = Vec::new();
    for number in [2, 0, 3, 1, 5, 4] {
        in_order.put(number, number * 10);
        taken.extend(std::iter::from_fn(|| in_order.next()));
        assert!(taken.windows(2).all(|pair| pair[0] < pair[1]), "{taken:?}");
    }
    assert_eq!(taken, [0, 10, 20, 30, 40, 50]);
}

/// The index `build` makes of `tm`'s store, and one built from the same
/// units one at a time, both as lookups see them (closed).
fn built_and_one_by_one(
    tm: &TranslationMemory,
    build: impl Fn(&dyn Store) -> Result<(Index, Option<Mirror>)>,
) -> (Index, Index) {
    let store = tm.shared.store.as_ref();
    let (mut built, mirror) = build(store).unwrap();
    assert!(mirror.is_none());
    let mut one_by_one = Index::default();
    store
        .for_each_unit(&mut |unit| {
            one_by_one.insert(&unit);
            Ok(())
        })
        .unwrap();
    (built.snapshot(), one_by_one.snapshot())
}

/// The index a memory builds when it opens (its store read in chunks,
/// analyzed on several threads, filled in the store's order) holds the
/// units in the slots an index built one unit at a time gives them, and
/// finds the same candidates: on the Tatoeba pairs, seven times the chunks
/// the start-up pipeline keeps in flight.
#[test]
fn the_index_built_on_opening_equals_one_built_unit_by_unit() {
    use crate::matching::Scope;
    use crate::test_corpus::{corpus_dir, read_pairs};
    use crate::text::Lang;

    let pairs = read_pairs(&corpus_dir().join("tatoeba.tsv")).unwrap();
    let tm = TranslationMemory::in_memory();
    add_pairs(&tm, &pairs);
    let (built, one_by_one) = built_and_one_by_one(&tm, |store| build_index(store, false));
    assert!(built.len() > 7 * 4_096, "{} units", built.len());
    assert_eq!(built.segments(), one_by_one.segments());
    let (everything, everything_too) = (built.selection(&Scope::default()), one_by_one.selection(&Scope::default()));
    assert_eq!(built.select(&everything), one_by_one.select(&everything_too), "slot order");
    let mut found = 0;
    for (arabic, english) in pairs.iter().step_by(211) {
        for (text, lang) in [(arabic, Lang::Arabic), (english, Lang::English)] {
            let candidates = built.candidates(&built.encode_text(text, lang), &everything, 60, 5);
            let expected = one_by_one.candidates(&one_by_one.encode_text(text, lang), &everything_too, 60, 5);
            assert_eq!(candidates, expected, "{text}");
            found += usize::from(!candidates.is_empty());
        }
    }
    assert!(found > 200, "only {found} lookups found their unit");
}

/// The index built from ranges of ids read at once (sled; one filler per
/// range, the ranges' indexes joined) holds the units in the order of one
/// built unit by unit, and finds the same candidates, also within one
/// memory and with metadata preferences: the later ranges' memories and
/// metadata combinations, met in another order, are renumbered as the
/// first's.
#[test]
fn the_index_built_from_ranges_read_at_once_equals_one_built_unit_by_unit() {
    use crate::matching::{MetadataField, Preference, Scope};
    use crate::test_corpus::{corpus_dir, read_pairs};
    use crate::text::Lang;

    let pairs = read_pairs(&corpus_dir().join("tatoeba.tsv")).unwrap();
    let pairs = &pairs[..9_000];
    let dir = tempfile::tempdir().unwrap();
    let tm = TranslationMemory::open(dir.path()).unwrap();
    // The first third in "first" alone; then "second" before "first", and
    // a domain on the last third, so the later ranges meet them in another
    // order than the first range.
    let inputs: Vec<UnitInput> = pairs
        .iter()
        .enumerate()
        .map(|(n, (arabic, english))| UnitInput {
            arabic: arabic.clone(),
            english: english.clone(),
            memory: if n < 3_000 || n % 3 == 1 { "first" } else { "second" }.into(),
            domain: if n >= 6_000 && n % 2 == 0 { "law".into() } else { String::new() },
            ..Default::default()
        })
        .collect();
    let ids: Vec<UnitId> =
        inputs.chunks(MAX_UNITS_PER_REQUEST).flat_map(|chunk| tm.add_units(chunk.to_vec()).unwrap().ids).collect();
    for &id in ids.iter().step_by(37) {
        tm.delete_unit(id).unwrap();
    }
    let (built, one_by_one) = built_and_one_by_one(&tm, |store| build_index_with(store, false, 3, 1_000));
    assert!(built.segments() >= 3, "{} segments: the store was not read in ranges", built.segments());
    assert_eq!(built.len(), one_by_one.len());
    assert_eq!(built.memory_counts(), one_by_one.memory_counts());
    let scopes = |index: &Index| {
        let second = Scope { memories: Some(vec![index.memory_id("second").unwrap()]), ..Scope::default() };
        let law = Preference { field: MetadataField::Domain, value: "law".into(), points: 7 };
        let prefers_law = Scope { preferences: vec![law], ..Scope::default() };
        [Scope::default(), second, prefers_law].map(|scope| index.selection(&scope))
    };
    let (selections, expected_selections) = (scopes(&built), scopes(&one_by_one));
    let mut found = 0;
    for (selection, expected_selection) in selections.iter().zip(&expected_selections) {
        assert_eq!(built.select(selection), one_by_one.select(expected_selection), "slot order");
        for (arabic, english) in pairs.iter().step_by(97) {
            for (text, lang) in [(arabic, Lang::Arabic), (english, Lang::English)] {
                // Every candidate (no top to cut at), in id order: the
                // segments differ, and with them the order units are met.
                let by_id = |mut found: Vec<crate::matching::Candidate>| {
                    found.sort_by_key(|c| c.id);
                    found
                };
                let candidates = by_id(built.candidates(&built.encode_text(text, lang), selection, 60, usize::MAX));
                let expected = by_id(one_by_one.candidates(
                    &one_by_one.encode_text(text, lang),
                    expected_selection,
                    60,
                    usize::MAX,
                ));
                assert_eq!(candidates, expected, "{text}");
                found += usize::from(candidates.iter().any(|c| c.points > 0));
            }
        }
    }
    assert!(found > 20, "only {found} lookups met a unit with points off");
}

/// The quality check of Arabic-aware matching, on the news files of the
/// corpus in data/corpus (NTREX-128, FLORES-200, TICO-19).
mod news_quality {
    use std::collections::HashMap;

    use super::*;

    use crate::test_corpus::{corpus_dir, read_pairs};

    const FILES: [&str; 3] = ["ntrex128.tsv", "flores200_devtest.tsv", "tico19_test.tsv"];

    /// Every news pair, stored in one memory; and the pairs whose Arabic side
    /// occurs once (so "the original comes back first" is well defined).
    fn news() -> (TranslationMemory, Vec<(String, String)>) {
        let mut pairs = Vec::new();
        for file in FILES {
            pairs.extend(read_pairs(&corpus_dir().join(file)).unwrap());
        }
        let tm = TranslationMemory::in_memory();
        add_pairs(&tm, &pairs);
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (arabic, english) in &pairs {
            *seen.entry(crate::text::words(arabic).join(" ")).or_default() += 1;
            *seen.entry(crate::text::words(english).join(" ")).or_default() += 1;
        }
        pairs.retain(|(a, e)| {
            seen[&crate::text::words(a).join(" ")] == 1 && seen[&crate::text::words(e).join(" ")] == 1
        });
        (tm, pairs)
    }

    #[test]
    fn orthographic_variants_of_1000_news_sentences_find_the_original_at_95_to_99() {
        let (tm, pairs) = news();
        let mut sentences = 0;
        let mut lookups = 0;
        for (arabic, english) in &pairs {
            let variants = variants(arabic);
            if variants.is_empty() {
                continue;
            }
            sentences += 1;
            for (kind, variant) in variants {
                let matches = lookup(&tm, &variant, "ar");
                let best = matches.first().unwrap_or_else(|| panic!("{kind}: no match for {variant}"));
                assert_eq!((best.source(), best.target()), (arabic.as_str(), english.as_str()), "{kind}: {variant}");
                assert!((95..=99).contains(&best.score), "{kind}: score {} for {variant}", best.score);
                assert!(!best.explanation.penalties.is_empty(), "{kind}: no penalty named");
                lookups += 1;
            }
        }
        assert!(sentences >= 1000, "only {sentences} sentences");
        assert!(lookups >= 5000, "only {lookups} variants");
    }

    /// Issue 14, item 8: README's table keeps 95–99 for spelling and named
    /// differences, but one content word replaced in a sentence of 20 words
    /// or more scored ⌊100 × (1 − 1/n)⌋ ≥ 95. Real news sentences of 20 to 40
    /// words, with one word replaced by another (and, in Arabic, one word
    /// turned into a variant with a proclitic), find the original at 94.
    #[test]
    fn one_word_replaced_in_a_long_news_sentence_scores_at_most_94() {
        let (tm, pairs) = news();
        let (mut replaced, mut twenty_two, mut variants) = (0, 0, 0);
        for (arabic, english) in &pairs {
            for (text, lang, replacement) in [(english, "en", "zebras"), (arabic, "ar", "زرافات")] {
                let words: Vec<&str> = text.split(' ').collect();
                let n = crate::text::words(text).len();
                if !(20..=40).contains(&n) {
                    continue;
                }
                // A content word in the second half, with no punctuation.
                let Some(at) = (words.len() / 2..words.len())
                    .find(|&i| words[i].chars().count() >= 4 && words[i].chars().all(char::is_alphabetic))
                else {
                    continue;
                };
                let mut edited = words.clone();
                edited[at] = replacement;
                let query = edited.join(" ");
                let best = &lookup(&tm, &query, lang)[0];
                assert_eq!(best.source(), text.as_str(), "{query}");
                assert_eq!((best.explanation.word_edits, best.explanation.variants), (1, 0), "{query}");
                // Before the cap: ⌊100 × (1 − 1/n)⌋ ≥ 95.
                assert!(100 * (n - 1) / n >= 95);
                assert_eq!(best.score, 94, "{query}");
                assert_eq!(best.explanation.word_score, 94);
                replaced += 1;
                twenty_two += usize::from(n == 22);
                if lang == "ar" && !words[at].starts_with('و') {
                    // و + the word: a variant (½ word), a word edit too.
                    let mut edited = words.clone();
                    let with_clitic = format!("و{}", words[at]);
                    edited[at] = &with_clitic;
                    let query = edited.join(" ");
                    let best = &lookup(&tm, &query, lang)[0];
                    if best.source() == text.as_str() && best.explanation.variants == 1 {
                        assert_eq!(best.explanation.word_edits, 0);
                        assert_eq!(best.score, 94, "{query}");
                        variants += 1;
                    }
                }
            }
        }
        assert!(replaced >= 500 && twenty_two >= 30 && variants >= 100, "{replaced} {twenty_two} {variants}");
        eprintln!("{replaced} long sentences ({twenty_two} of 22 words), {variants} variants at 94");
    }

    /// The space-separated words of `text` without surrounding punctuation.
    fn cores(text: &str) -> impl Iterator<Item = &str> {
        text.split_whitespace().map(|t| t.trim_matches(|c: char| !c.is_alphanumeric()))
    }

    /// How often `token` is a word of `text`, in any case.
    fn count_token(text: &str, token: &str) -> usize {
        cores(text).filter(|t| t.to_lowercase() == token.to_lowercase()).count()
    }

    /// `text` with the space-separated word `old` (punctuation around it
    /// kept) replaced by `new`.
    fn replace_token(text: &str, old: &str, new: &str) -> String {
        text.split_inclusive(char::is_whitespace)
            .map(|t| {
                let core = t.trim_matches(|c: char| !c.is_alphanumeric());
                if core == old {
                    t.replacen(old, new, 1)
                } else {
                    t.to_owned()
                }
            })
            .collect()
    }

    /// The numbers of `text`: maximal runs of ASCII digits, `.` and `,`,
    /// without trailing punctuation, with their byte ranges.
    fn numbers(text: &str) -> Vec<(usize, &str)> {
        let mut out = Vec::new();
        let mut start = None;
        for (at, c) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
            let part = c.is_ascii_digit() || c == '.' || c == ',';
            match (start, part) {
                (None, true) => start = Some(at),
                (Some(s), false) => {
                    let run = text[s..at].trim_end_matches(['.', ',']);
                    let mut before = text[..s].chars().rev();
                    let after = text[s + run.len()..].chars().next();
                    // Not part of a word (125th, يعتقد387), but an Arabic
                    // clitic may be glued before it (و15).
                    let alone = !after.is_some_and(char::is_alphanumeric)
                        && match before.next() {
                            Some('و' | 'ف' | 'ب' | 'ل' | 'ك') => !before.next().is_some_and(char::is_alphanumeric),
                            Some(c) => !c.is_alphanumeric(),
                            None => true,
                        };
                    if alone && run.starts_with(|c: char| c.is_ascii_digit()) {
                        out.push((s, run));
                    }
                    start = None;
                }
                _ => {}
            }
        }
        out
    }

    fn count_number(text: &str, number: &str) -> usize {
        numbers(text).into_iter().filter(|(_, n)| *n == number).count()
    }

    fn replace_number(text: &str, old: &str, new: &str) -> String {
        let (at, _) = numbers(text).into_iter().find(|(_, n)| *n == old).expect("counted before");
        format!("{}{new}{}", &text[..at], &text[at + old.len()..])
    }

    fn arabic_indic(digits: &str) -> String {
        digits.chars().map(|c| char::from_u32(0x0660 + c.to_digit(10).unwrap()).unwrap()).collect()
    }

    #[test]
    fn a_changed_number_or_latin_name_finds_the_original_first_with_its_target_repaired() {
        let (tm, pairs) = news();
        let (mut numbers_checked, mut names, mut english_numbers) = (0, 0, 0);
        for (i, (arabic, english)) in pairs.iter().enumerate() {
            // Numbers written the same way (Western digits, no separators) once on each side.
            let number = numbers(arabic)
                .into_iter()
                .map(|(_, n)| n)
                .find(|n| n.len() <= 6 && n.chars().all(|c| c.is_ascii_digit()) && !n.starts_with('0'))
                .filter(|n| count_number(arabic, n) == 1 && count_number(english, n) == 1);
            if let Some(old) = number {
                let new = format!("{}7", old);
                let arabic_digits = i % 2 == 0;
                let query = replace_number(arabic, old, &if arabic_digits { arabic_indic(&new) } else { new.clone() });
                let best = &lookup(&tm, &query, "ar")[0];
                assert_eq!(best.source(), arabic, "{query}");
                let expected = replace_number(english, old, &new);
                let e = &best.explanation;
                assert_eq!(e.repaired_target.as_deref(), Some(expected.as_str()), "{query} {:?}", e.warnings);
                assert!(e.penalties.iter().any(|p| p.kind == "placeable_number"));
                numbers_checked += 1;

                // en→ar: the Arabic target gets the number.
                let query = replace_number(english, old, &new);
                let best = &lookup(&tm, &query, "en")[0];
                assert_eq!(best.source(), english, "{query}");
                let expected = replace_number(arabic, old, &new);
                let e = &best.explanation;
                assert_eq!(e.repaired_target.as_deref(), Some(expected.as_str()), "{query} {:?}", e.warnings);
                english_numbers += 1;
            }
            // A Latin name inside the Arabic, once on each side.
            let name = cores(arabic)
                .find(|t| t.len() >= 3 && t.chars().all(|c| c.is_ascii_alphabetic()))
                .filter(|t| count_token(arabic, t) == 1 && count_token(english, t) == 1);
            if let Some(old) = name {
                let query = replace_token(arabic, old, "Zorvexa");
                let best = &lookup(&tm, &query, "ar")[0];
                assert_eq!(best.source(), arabic, "{query}");
                assert_eq!(
                    best.explanation.repaired_target.as_deref(),
                    Some(replace_token(english, old, "Zorvexa").as_str()),
                    "{query}"
                );
                assert!(best.explanation.penalties.iter().any(|p| p.kind == "placeable_latin_name"));
                names += 1;
            }
        }
        assert!(numbers_checked >= 300 && english_numbers >= 300, "only {numbers_checked} numbers");
        assert!(names >= 20, "only {names} Latin names");
        eprintln!("checked {numbers_checked} numbers (ar→en and en→ar) and {names} Latin names");
    }
}

#[test]
fn deleting_most_units_compacts_the_index_and_lookups_still_find_the_rest() {
    let unit = |i: usize| UnitInput {
        arabic: format!("أعلنت الشركة عن النموذج رقم {i}"),
        english: format!("The company announced model number {i}"),
        memory: if i < 11_000 { "churn" } else { "kept" }.into(),
        ..Default::default()
    };
    let tm = TranslationMemory::in_memory();
    let units: Vec<UnitInput> = (0..12_000).map(unit).collect();
    for chunk in units.chunks(5_000) {
        tm.add_units(chunk.to_vec()).unwrap();
    }
    assert_eq!(tm.delete_memory("churn").unwrap(), 11_000);
    // The index dropped dead slots: it keeps fewer than were deleted.
    assert!(tm.shared.index.load().deleted_slots() < 11_000, "the index was not compacted");
    assert_eq!(tm.stats().total_units, 1_000);
    // Lookups answer as a memory that never held the deleted units does.
    let fresh = TranslationMemory::in_memory();
    fresh.add_units((11_000..12_000).map(unit).collect()).unwrap();
    let answers = |tm: &TranslationMemory, text: &str, lang: &str| -> Vec<(u8, String, String)> {
        let request = LookupRequest { text: text.into(), source_lang: lang.into(), ..Default::default() };
        tm.lookup(request).unwrap().into_iter().map(|m| (m.score, m.unit.english, m.unit.memory)).collect()
    };
    for (text, lang) in [
        ("The company announced model number 11500", "en"),
        ("The company announced model number 42", "en"),
        ("أعلنت الشركة عن النموذج رقم 42", "ar"),
        ("أعلنت الشركة عن النموذج رقم 11999", "ar"),
    ] {
        let found = answers(&tm, text, lang);
        assert!(!found.is_empty() && found.iter().all(|(_, _, memory)| memory == "kept"), "{text}: {found:?}");
        assert_eq!(found, answers(&fresh, text, lang), "{text}");
    }
}

/// Issue 14: a word's key was read from its spelling, and the index kept
/// the key of the first spelling it met for a surface, so a stored sentence
/// was not found by its own text.
#[test]
fn mixed_digit_scripts_and_a_tatweel_after_a_name_are_found_through_the_index() {
    let tm = TranslationMemory::in_memory();
    let unit = |arabic: &str, english: &str| UnitInput {
        arabic: arabic.into(),
        english: english.into(),
        ..Default::default()
    };
    tm.add_units(vec![
        unit("عام ٢٠١5", "year 2015"),
        unit("عام 2015", "the year 2015"),
        unit("أعلنت شركة Tencentـ عن نموذج", "Tencent announced a model"),
        unit("أعلنت شركة Tencent عن نموذج جديد", "Tencent announced a new model"),
    ])
    .unwrap();
    let scores = |text: &str, min_score: u32, exhaustive: bool| {
        let request = LookupRequest {
            text: text.into(),
            source_lang: "ar".into(),
            min_score: Some(min_score),
            exhaustive,
            ..Default::default()
        };
        tm.lookup(request).unwrap().iter().map(|m| (m.target().to_owned(), m.score)).collect::<Vec<_>>()
    };
    for exhaustive in [false, true] {
        assert_eq!(
            scores("عام 2015", 70, exhaustive),
            [("the year 2015".to_owned(), 100), ("year 2015".to_owned(), 99)],
            "exhaustive: {exhaustive}"
        );
        // One changed number: 100 − 2 (README's score table).
        let changed = scores("عام 2016", 70, exhaustive);
        assert_eq!(changed.iter().map(|(_, s)| *s).collect::<Vec<_>>(), [98, 98], "exhaustive: {exhaustive}");
        let name = scores("أعلنت شركة Tencent عن نموذج", 70, exhaustive);
        assert_eq!(name[0], ("Tencent announced a model".to_owned(), 99), "exhaustive: {exhaustive}");
        let other = scores("أعلنت شركة Baidu عن نموذج", 70, exhaustive);
        assert_eq!(other[0], ("Tencent announced a model".to_owned(), 98), "exhaustive: {exhaustive}");
    }
    // The changed number is repaired in the target of the mixed spelling too.
    let found =
        tm.lookup(LookupRequest { text: "عام 2016".into(), source_lang: "ar".into(), ..Default::default() }).unwrap();
    let repaired: Vec<_> = found.iter().map(|m| m.explanation.repaired_target.clone()).collect();
    assert!(repaired.contains(&Some("year 2016".into())), "{repaired:?}");
}

/// Issue 14, item 8: segments without words (`-`, `...`, `!`) compare their
/// symbols, and a segment that is one number differs in content from
/// another number; the identical unit comes first even when it lost a point
/// for several translations, and the reference agrees.
#[test]
fn word_less_and_number_only_segments_rank_the_identical_unit_first() {
    let tm = TranslationMemory::in_memory();
    let unit = |arabic: &str, english: &str| UnitInput {
        arabic: arabic.into(),
        english: english.into(),
        ..Default::default()
    };
    tm.add_units(vec![
        unit("&&", "&&"),
        unit("(!)", "(!)"),
        unit("-", "-"),
        unit("-", "–"),
        unit("...", "…"),
        unit("!", "!"),
        unit("22", "22"),
        unit("4.0", "4.0"),
        unit("450", "450"),
        unit("42", "42"),
        unit("42", "٤٢"),
        unit("الإصدار 4.0", "Version 4.0"),
    ])
    .unwrap();
    let found = |text: &str, exhaustive: bool| {
        let request = LookupRequest {
            text: text.into(),
            source_lang: "ar".into(),
            min_score: Some(0),
            max_results: Some(20),
            exhaustive,
            ..Default::default()
        };
        tm.lookup(request).unwrap().iter().map(|m| (m.source().to_owned(), m.score)).collect::<Vec<_>>()
    };
    for exhaustive in [false, true] {
        let dash = found("-", exhaustive);
        assert_eq!(dash[..2], [("-".to_owned(), 99), ("-".to_owned(), 99)], "{dash:?}");
        assert!(dash[2..].iter().all(|(_, score)| *score <= 94), "{dash:?}");
        assert!(dash.contains(&("&&".to_owned(), 0)) && dash.contains(&("(!)".to_owned(), 0)), "{dash:?}");
        // `…` folds to `...`: a spelling difference, not another text.
        let dots = found("…", exhaustive);
        assert_eq!(dots[0], ("...".to_owned(), 99), "{dots:?}");
        assert_eq!(found("!!", exhaustive)[0], ("!".to_owned(), 50));
        let number = found("42", exhaustive);
        assert_eq!(number[..2], [("42".to_owned(), 99), ("42".to_owned(), 99)], "{number:?}");
        // 22, 4.0 and 450 are other contents: a word edit of one word.
        for other in ["22", "4.0", "450"] {
            assert!(number.contains(&(other.to_owned(), 0)), "{number:?}");
        }
        // In a sentence a number is a figure: 2 points, target repaired.
        assert_eq!(found("الإصدار 5.0", exhaustive)[0], ("الإصدار 4.0".to_owned(), 98));
    }
    // A spelling variant of an exact match that lost its point for several
    // translations ties at 99; the identical text still comes first.
    tm.add_units(vec![unit("42.", "42.")]).unwrap();
    for exhaustive in [false, true] {
        let number = found("42", exhaustive);
        assert_eq!(number[2], ("42.".to_owned(), 99), "{number:?}");
        assert_eq!(number[..2], [("42".to_owned(), 99), ("42".to_owned(), 99)], "{number:?}");
    }
}

/// Issue 14, item 7: a page token was a slot number, and compaction
/// renumbers slots, so after a memory was deleted the second page could
/// repeat the first. Pages are cut by (change time, id) now: paged across a
/// compaction, no unit comes twice and none is missed, newest first.
#[test]
fn concordance_pages_survive_a_compaction() {
    let day = 86_400_000i64;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    // 11,000 units to delete (added first: the lowest slots), 1,500 kept,
    // dated so that the newest-first order is not the order of ids.
    let unit = |i: usize| UnitInput {
        arabic: format!("أعلنت {} عن النموذج رقم {i}", if i % 3 == 0 { "الشركة" } else { "الحكومة" }),
        english: format!("The company announced model number {i}"),
        memory: if i < 11_000 { "churn" } else { "kept" }.into(),
        created_at_ms: (now - ((i * 7_919) % 900) as i64 * day) / 1000 * 1000,
        ..Default::default()
    };
    let tm = TranslationMemory::in_memory();
    let units: Vec<UnitInput> = (0..12_500).map(unit).collect();
    for chunk in units.chunks(5_000) {
        tm.add_units(chunk.to_vec()).unwrap();
    }
    let request = |token: String| ConcordanceRequest {
        text: "شركة".into(),
        lang: "ar".into(),
        memories: vec!["kept".into()],
        page_size: 40,
        page_token: token,
        ..Default::default()
    };
    let first = tm.concordance(request(String::new())).unwrap();
    assert_eq!(first.hits.len(), 40);
    // Deleting the other memory (in groups of 10,000) kills 11,000 slots of
    // 12,500: the index is compacted after the first group, and every kept
    // unit changes slot.
    assert_eq!(tm.delete_memory("churn").unwrap(), 11_000);
    assert!(tm.shared.index.load().deleted_slots() < 11_000, "the index was not compacted");
    let mut pages = vec![first];
    while !pages.last().unwrap().next_page_token.is_empty() {
        let token = pages.last().unwrap().next_page_token.clone();
        pages.push(tm.concordance(request(token)).unwrap());
        assert!(pages.len() < 100, "paging does not end");
    }
    let hits: Vec<&ConcordanceHit> = pages.iter().flat_map(|p| &p.hits).collect();
    // Expected: every stored unit of `kept` whose Arabic holds a word with
    // the key of شركة, read from the store, not from the index.
    let key = &crate::text::tokens("شركة", crate::text::Lang::Arabic)[0].key;
    let mut expected = Vec::new();
    tm.for_each_unit(&mut |u| {
        if u.memory == "kept" && crate::text::tokens(&u.arabic, crate::text::Lang::Arabic).iter().any(|t| &t.key == key)
        {
            expected.push((u.changed_or_created_ms(), u.id));
        }
        Ok(())
    })
    .unwrap();
    expected.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(expected.len(), 500);
    let returned: Vec<(i64, u64)> = hits.iter().map(|h| (h.unit.changed_or_created_ms(), h.unit.id)).collect();
    assert_eq!(returned, expected, "pages repeat or miss units, or leave the newest-first order");
    assert!(pages.iter().rev().skip(1).all(|p| p.hits.len() == 40));
    // The order is by date, not by id.
    assert!(returned.windows(2).any(|w| w[0].1 < w[1].1));
    // A malformed token names the field.
    for token in ["s12", "c12", "c.5", "cx.5", "c1.2.3", "zzz"] {
        let err = tm.concordance(request(token.into())).unwrap_err().to_string();
        assert!(err.starts_with("page_token: "), "{token}: {err}");
    }
}

/// A template's members are handed over from the index best first (those
/// sharing most numbers with the query); when the best of them lose
/// points to spelling, members the index held back outrank them, and the
/// lookup must ask for those too. Here the three members sharing two
/// numbers are respelled three ways (Arabic-Indic digits, a hamza left
/// out, a diacritic: 98 − 3 = 95), so the top three are the plain members
/// sharing one number (96), as the reference says.
#[test]
fn template_members_held_back_still_outrank_respelled_ones() {
    let tm = TranslationMemory::in_memory();
    let sentence = |percent: u32, price: u32, day: u32, respelled: bool| {
        let (shares, rate) = if respelled { ("اسهم", "بِنسبة") } else { ("أسهم", "بنسبة") };
        let digits = |n: u32| {
            let n = n.to_string();
            if respelled {
                n.chars().map(|c| char::from_u32(c as u32 - '0' as u32 + 0x0660).unwrap_or(c)).collect()
            } else {
                n
            }
        };
        format!(
            "ارتفعت {shares} Tencent {rate} {}.5% إلى {} دولارا في {} نوفمبر",
            digits(percent),
            digits(price),
            digits(day)
        )
    };
    let mut units = Vec::new();
    // Sharing two of the query's numbers (1, 10, 1), respelled.
    for day in [2, 3, 4] {
        units.push(sentence(1, 10, day, true));
    }
    // Sharing one, plain.
    for price in [20, 30, 40] {
        units.push(sentence(7, price, 1, false));
    }
    // Sharing none.
    for price in 50..80 {
        units.push(sentence(8, price, 9, false));
    }
    let inputs = units
        .iter()
        .enumerate()
        .map(|(i, arabic)| UnitInput { arabic: arabic.clone(), english: format!("Unit {i}"), ..Default::default() })
        .collect();
    tm.add_units(inputs).unwrap();
    let request = |exhaustive| LookupRequest {
        text: sentence(1, 10, 1, false),
        source_lang: "ar".into(),
        max_results: Some(3),
        exhaustive,
        ..Default::default()
    };
    let found = tm.lookup(request(false)).unwrap();
    let scores: Vec<u8> = found.iter().map(|m| m.score).collect();
    assert_eq!(scores, [96, 96, 96]);
    assert_eq!(found, tm.lookup(request(true)).unwrap());
    // Asked for more, the respelled ones follow at 95.
    let more = tm.lookup(LookupRequest { max_results: Some(6), ..request(false) }).unwrap();
    assert_eq!(more.iter().map(|m| m.score).collect::<Vec<_>>(), [96, 96, 96, 95, 95, 95]);
}

/// A store that counts the units read from it.
#[derive(Default)]
struct CountingStore {
    inner: crate::store::InMemoryStore,
    gets: std::sync::atomic::AtomicUsize,
}

impl crate::store::Store for CountingStore {
    fn next_id(&self) -> Result<UnitId> {
        self.inner.next_id()
    }
    fn get(&self, id: UnitId) -> Result<Option<Unit>> {
        self.gets.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.get(id)
    }
    fn ids_with_side(&self, lang: Lang, key: crate::unit::SideKey) -> Result<Vec<UnitId>> {
        self.inner.ids_with_side(lang, key)
    }
    fn apply(&self, writes: &[crate::store::Write]) -> Result<()> {
        self.inner.apply(writes)
    }
    fn flush(&self) -> Result<()> {
        self.inner.flush()
    }
    fn for_each_unit(&self, f: &mut dyn FnMut(Unit) -> Result<()>) -> Result<()> {
        self.inner.for_each_unit(f)
    }
    fn memories(&self) -> Result<Vec<crate::store::MemoryRecord>> {
        self.inner.memories()
    }
    fn put_memory(&self, record: &crate::store::MemoryRecord) -> Result<()> {
        self.inner.put_memory(record)
    }
    fn remove_memory(&self, name: &str) -> Result<()> {
        self.inner.remove_memory(name)
    }
}

/// A source stored with many translations: every candidate carries the
/// several-translations penalty with the right count, and the lookup reads
/// each of those units about once, not once per candidate (which made a
/// one-word query like "ziri" cost milliseconds at 1M units).
#[test]
fn a_source_with_many_translations_is_read_once_per_lookup_not_once_per_candidate() {
    let store = Arc::new(CountingStore::default());
    let tm = TranslationMemory::with_store(Arc::clone(&store) as Arc<dyn crate::store::Store>).unwrap();
    let translations = 40;
    let units = (0..translations)
        .map(|i| UnitInput {
            arabic: format!("غادر زيري المكتب مبكرا في اليوم {i}"),
            english: "Ziri left the office early.".into(),
            ..Default::default()
        })
        .collect();
    assert_eq!(tm.add_units(units).unwrap().added, translations);
    let before = store.gets.load(std::sync::atomic::Ordering::Relaxed);
    let matches = lookup(&tm, "Ziri left the office early.", "en");
    let reads = store.gets.load(std::sync::atomic::Ordering::Relaxed) - before;
    assert_eq!(matches.len(), 5);
    for m in &matches {
        let several: Vec<&str> = m
            .explanation
            .penalties
            .iter()
            .filter(|p| p.kind == "several_translations")
            .map(|p| p.reason.as_str())
            .collect();
        assert_eq!(several, [format!("its memory holds {} other translation(s) of this source", translations - 1)]);
    }
    assert!(reads <= 3 * translations, "{reads} units read for {translations} translations");
}

/// The index kept with a sled database (see `saving` and
/// `store::saved_index`): read back whole, never used once it no longer
/// describes the store.
mod saved_index {
    use std::path::Path;

    use super::*;
    use crate::store::INDEX_FILE;
    use crate::test_corpus::{corpus_dir, read_pairs};

    /// Opens the database once the last engine on it let go of it.
    fn reopen(path: &Path) -> TranslationMemory {
        crate::store::when_released(|| TranslationMemory::open(path))
    }

    fn tatoeba(n: usize) -> Vec<(String, String)> {
        read_pairs(&corpus_dir().join("tatoeba.tsv")).unwrap().into_iter().take(n).collect()
    }

    /// Every 97th pair looked up on both sides at 50.
    fn lookups(tm: &TranslationMemory, pairs: &[(String, String)]) -> Vec<Vec<Match>> {
        let mut all = Vec::new();
        for (arabic, english) in pairs.iter().step_by(97) {
            for (text, lang) in [(arabic, "ar"), (english, "en")] {
                let request = LookupRequest {
                    text: text.clone(),
                    source_lang: lang.into(),
                    min_score: Some(50),
                    ..Default::default()
                };
                all.push(tm.lookup(request).unwrap());
            }
        }
        all
    }

    /// The published index in its saved form.
    fn encoded(tm: &TranslationMemory) -> Vec<u8> {
        let mut bytes = Vec::new();
        tm.shared.index.load().save(&mut bytes).unwrap();
        bytes
    }

    #[test]
    fn an_index_kept_with_the_database_is_read_back_whole_and_answers_alike() {
        let dir = tempfile::tempdir().unwrap();
        let pairs = tatoeba(6_000);
        let tm = TranslationMemory::open(dir.path()).unwrap();
        let ids = add_pairs(&tm, &pairs);
        // Deletions too: segments with deleted slots are kept as they are.
        for &id in ids.iter().step_by(50) {
            tm.delete_unit(id).unwrap();
        }
        assert!(!tm.index_was_saved());
        let (expected, bytes, stats) = (lookups(&tm, &pairs), encoded(&tm), tm.stats());
        let before_index = tm.shared.index.load();
        assert!(expected.iter().filter(|matches| !matches.is_empty()).count() > 100);
        assert!(tm.save_index().unwrap(), "a changed index is kept");
        assert!(!tm.save_index().unwrap(), "an index kept already is not written again");
        assert!(dir.path().join(INDEX_FILE).exists());
        drop(tm);

        let tm = reopen(dir.path());
        assert!(tm.index_was_saved());
        // Maps encode in their (random) iteration order: the same length,
        // not the same bytes.
        assert_eq!(encoded(&tm).len(), bytes.len(), "every field read back");
        let (before, after) = (&*before_index, &*tm.shared.index.load());
        let everything = crate::matching::Scope::default();
        assert_eq!(
            before.select(&before.selection(&everything)),
            after.select(&after.selection(&everything)),
            "every unit in its slot"
        );
        assert_eq!(lookups(&tm, &pairs), expected);
        assert_eq!(tm.stats().memories, stats.memories);
        // It goes on taking writes like a built one.
        let more = add_pairs(&tm, &tatoeba(6_500)[6_000..]);
        assert_eq!(more.len(), 500);
        let (arabic, _) = &tatoeba(6_500)[6_400];
        assert_eq!(lookup(&tm, arabic, "ar")[0].score, 100);
    }

    #[test]
    fn a_write_deletes_the_kept_index_before_it_lands_so_that_a_crash_after_it_rebuilds() {
        let dir = tempfile::tempdir().unwrap();
        let pairs = tatoeba(2_001);
        let tm = TranslationMemory::open(dir.path()).unwrap();
        add_pairs(&tm, &pairs[..2_000]);
        assert!(tm.save_index().unwrap());
        let file = dir.path().join(INDEX_FILE);
        assert!(file.exists());
        add_pairs(&tm, &pairs[2_000..]);
        assert!(!file.exists(), "the first write after a save deletes it");
        // Dropped without a save, as a crash would leave it.
        drop(tm);
        let tm = reopen(dir.path());
        assert!(!tm.index_was_saved());
        assert_eq!(lookup(&tm, &pairs[2_000].0, "ar")[0].score, 100);
        assert_eq!(tm.stats().total_units, 2_001);
    }

    #[test]
    fn a_save_taken_before_a_write_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let pairs = tatoeba(101);
        let tm = TranslationMemory::open(dir.path()).unwrap();
        add_pairs(&tm, &pairs[..100]);
        let store = Arc::clone(&tm.shared.store);
        let stamp = store.index_stamp().unwrap();
        let index = tm.shared.index.load();
        add_pairs(&tm, &pairs[100..]);
        assert!(!store.save_index(stamp, &mut |out| index.save(out)).unwrap());
        assert!(!dir.path().join(INDEX_FILE).exists());
        // Taken together by the writer, it is kept.
        assert!(tm.save_index().unwrap());
        assert!(dir.path().join(INDEX_FILE).exists());
    }

    #[test]
    fn a_damaged_stale_or_foreign_kept_index_is_not_used() {
        let dir = tempfile::tempdir().unwrap();
        let pairs = tatoeba(2_001);
        let file = dir.path().join(INDEX_FILE);
        let tm = TranslationMemory::open(dir.path()).unwrap();
        add_pairs(&tm, &pairs[..2_000]);
        let expected = lookups(&tm, &pairs);
        assert!(tm.save_index().unwrap());
        drop(tm);
        let good = std::fs::read(&file).unwrap();
        // `bytes` in place of the kept index: not read, and the index built
        // instead answers as the first did.
        let not_read = |bytes: &[u8], why: &str| {
            std::fs::write(&file, bytes).unwrap();
            let tm = reopen(dir.path());
            assert!(!tm.index_was_saved(), "{why}");
            assert_eq!(lookups(&tm, &pairs), expected);
        };

        // One byte of the body changed.
        let mut damaged = good.clone();
        let middle = damaged.len() / 2;
        damaged[middle] ^= 0x10;
        not_read(&damaged, "a damaged file is not read");

        // Another build's form, with a checksum that matches: the form
        // string follows the 36-byte header and its length byte.
        let mut foreign = good.clone();
        foreign[36 + 1] ^= 0x01;
        let crc = crc32fast::hash(&foreign[36..]);
        foreign[32..36].copy_from_slice(&crc.to_le_bytes());
        not_read(&foreign, "another build's index is not read");

        // The good file, put back after a write it does not hold (the
        // store's commit count moved on).
        std::fs::write(&file, &good).unwrap();
        let tm = reopen(dir.path());
        assert!(tm.index_was_saved(), "the good file is read");
        add_pairs(&tm, &pairs[2_000..]);
        drop(tm);
        std::fs::write(&file, &good).unwrap();
        let tm = reopen(dir.path());
        assert!(!tm.index_was_saved(), "a file from before the last write is not read");
        assert_eq!(lookup(&tm, &pairs[2_000].0, "ar")[0].score, 100);
    }
}

/// Many small writes leave many small segments; merging the last ones
/// (what the writer does once the writes pause) leaves one, and every
/// lookup answers as before.
#[test]
fn settling_the_index_leaves_one_segment_and_the_same_answers() {
    let tm = TranslationMemory::in_memory();
    let pairs = news_pairs();
    for batch in pairs.chunks(6) {
        add_pairs(&tm, batch);
    }
    let before = tm.stats().segments;
    assert!(before >= 5, "{before} segments");
    let queries: Vec<&str> = pairs.iter().step_by(5).map(|(arabic, _)| arabic.as_str()).collect();
    let answers = |tm: &TranslationMemory| -> Vec<Vec<(UnitId, u8)>> {
        queries.iter().map(|q| lookup(tm, q, "ar").iter().map(|m| (m.unit.id, m.score)).collect()).collect()
    };
    let expected = answers(&tm);
    assert!(expected.iter().all(|found| found.first().is_some_and(|&(_, score)| score >= 99)));
    assert!(tm.settle_index());
    assert_eq!(tm.stats().segments, 1);
    assert_eq!(answers(&tm), expected);
    assert_eq!(tm.stats().total_units as usize, pairs.len());
    // Nothing left to merge.
    assert!(!tm.settle_index());
}
