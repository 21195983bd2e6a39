use std::time::{SystemTime, UNIX_EPOCH};

use dhakira::bench::Workload;
use dhakira::reference::Reference;
use dhakira::{Lang, LookupRequest, TranslationMemory};

use crate::common::read_corpus;

/// An in-memory memory of `units` (added 10,000 at a time), and every
/// unit it stored, for the reference.
fn memory_of(units: &[dhakira::UnitInput]) -> (TranslationMemory, Vec<dhakira::Unit>) {
    let tm = TranslationMemory::in_memory();
    for chunk in units.chunks(10_000) {
        tm.add_units(chunk.to_vec()).unwrap();
    }
    let mut stored = Vec::new();
    tm.for_each_unit(&mut |unit| {
        stored.push(unit);
        Ok(())
    })
    .unwrap();
    (tm, stored)
}

/// The index answers exactly what the reference (`dhakira::reference`,
/// written from README's score table, sharing nothing with the index)
/// answers: same units, same scores, same order, on thousands of seeded
/// queries over the real corpus grown to 120,000 units, in both languages
/// and at the thresholds translators use.
#[test]
fn index_lookups_equal_the_reference_on_the_corpus() {
    let mut workload = Workload::new(read_corpus(), 2026);
    let units = workload.units(120_000);
    let (tm, stored) = memory_of(&units);
    assert!(stored.len() >= 100_000, "only {} distinct units", stored.len());
    let reference = Reference::new(stored);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
    let mut compared = 0;
    let mut with_matches = 0;
    for (lang, min_score, max_results) in
        [(Lang::Arabic, 70, 5), (Lang::English, 70, 5), (Lang::Arabic, 50, 10), (Lang::English, 50, 3)]
    {
        for text in workload.queries(&units, 600, lang) {
            let request = LookupRequest {
                text: text.clone(),
                source_lang: lang.code().into(),
                min_score: Some(min_score),
                max_results: Some(max_results),
                ..Default::default()
            };
            let expected = reference.lookup(&request.clone().validate().unwrap(), now).unwrap();
            let found = tm.lookup(request).unwrap();
            assert_eq!(found, expected, "{lang} min_score {min_score}: {text}");
            compared += 1;
            with_matches += usize::from(!expected.is_empty());
        }
    }
    assert_eq!(compared, 2_400);
    // The comparison means something only if many queries do match.
    assert!(with_matches > 1_000, "only {with_matches} queries matched");

    // `exhaustive: true` is the reference, reading every unit from the store.
    for text in workload.queries(&units, 3, Lang::Arabic) {
        let request = |exhaustive| LookupRequest {
            text: text.clone(),
            source_lang: "ar".into(),
            min_score: Some(50),
            exhaustive,
            ..Default::default()
        };
        assert_eq!(tm.lookup(request(true)).unwrap(), tm.lookup(request(false)).unwrap(), "{text}");
    }
}

/// The same on a memory where 5,000 of 25,000 units come from one news
/// template with varied numbers (`dhakira bench --templates`), with queries
/// from that template: the index checks the template's group once and
/// loads only its best members, and still answers what the reference does.
#[test]
fn template_lookups_equal_the_reference_on_the_corpus() {
    let mut workload = Workload::new(read_corpus(), 14);
    let mut units = workload.units(20_000);
    units.extend(workload.template_units(5_000));
    let (tm, stored) = memory_of(&units);
    let reference = Reference::new(stored);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
    let mut with_matches = 0;
    for (lang, min_score, max_results) in [(Lang::Arabic, 70, 5), (Lang::English, 90, 10), (Lang::Arabic, 97, 3)] {
        for text in workload.template_queries(100, lang) {
            let request = LookupRequest {
                text: text.clone(),
                source_lang: lang.code().into(),
                min_score: Some(min_score),
                max_results: Some(max_results),
                ..Default::default()
            };
            let expected = reference.lookup(&request.clone().validate().unwrap(), now).unwrap();
            assert_eq!(tm.lookup(request).unwrap(), expected, "{lang} min_score {min_score}: {text}");
            with_matches += usize::from(expected.len() == max_results as usize);
        }
    }
    // Most answers are a full top-k cut inside the template's group.
    assert!(with_matches > 200, "only {with_matches} full answers");
}

/// The same for the query mix's categories that the other test lacks, on a
/// memory grown from the document split's memory side (as `dhakira bench`
/// grows it): unseen news sentences, word-less queries, one number alone,
/// and stop words only, whose every key is among the commonest (the
/// key-bits filter drops most of their inverted lists' units unread).
#[test]
fn mix_lookups_equal_the_reference_on_the_corpus() {
    use dhakira::bench::{corpus_dir, document_split, unseen_queries, Category};
    let split = document_split(&corpus_dir()).unwrap();
    let mut workload = Workload::new(split.memory, 2027);
    let units = workload.units(120_000);
    let (tm, stored) = memory_of(&units);
    let reference = Reference::new(stored);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
    let mut compared = std::collections::BTreeMap::<(Category, bool), usize>::new();
    for (lang, min_score, max_results) in
        [(Lang::Arabic, 70, 5), (Lang::English, 70, 5), (Lang::Arabic, 50, 10), (Lang::English, 50, 3)]
    {
        let unseen = unseen_queries(&split.unseen, &units, lang);
        let mix = workload.mix(&units, &unseen, 1_000, lang);
        for query in mix.iter().filter(|q| !matches!(q.category, Category::Edited | Category::Words)) {
            let request = LookupRequest {
                text: query.text.clone(),
                source_lang: lang.code().into(),
                min_score: Some(min_score),
                max_results: Some(max_results),
                ..Default::default()
            };
            let expected = reference.lookup(&request.clone().validate().unwrap(), now).unwrap();
            let found = tm.lookup(request).unwrap();
            assert_eq!(found, expected, "{lang} min_score {min_score} {:?}: {}", query.category, query.text);
            *compared.entry((query.category, !expected.is_empty())).or_default() += 1;
        }
    }
    // Every category was compared, and stop-word and unseen queries with
    // matches too (a comparison of empty answers alone would say little).
    for category in [Category::Unseen, Category::Wordless, Category::Number, Category::Stopwords] {
        assert!(compared.get(&(category, false)).is_some_and(|&n| n > 0), "{category:?}: {compared:?}");
    }
    for category in [Category::Unseen, Category::Stopwords] {
        assert!(compared.get(&(category, true)).is_some_and(|&n| n >= 20), "{category:?}: {compared:?}");
    }
}
