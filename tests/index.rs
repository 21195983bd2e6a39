use dhakira::bench::{read_corpus, Workload};
use dhakira::{Lang, LookupRequest, TranslationMemory};

use crate::common::corpus_dir;

/// The index answers exactly what a full scan answers: same units, same
/// scores, same order, on thousands of seeded queries over the real corpus
/// (grown to 150,000 units), in both languages and at the thresholds
/// translators use.
#[test]
fn index_and_exhaustive_scan_return_identical_matches_on_the_corpus() {
    let mut workload = Workload::new(read_corpus(&corpus_dir()).unwrap(), 2026);
    let units = workload.units(150_000);
    let tm = TranslationMemory::in_memory();
    for chunk in units.chunks(10_000) {
        tm.add_units(chunk.to_vec()).unwrap();
    }
    let mut compared = 0;
    let mut with_matches = 0;
    for (lang, min_score, max_results) in
        [(Lang::Arabic, 70, 5), (Lang::English, 70, 5), (Lang::Arabic, 50, 10), (Lang::English, 50, 3)]
    {
        for text in workload.queries(&units, 600, lang) {
            let request = |exhaustive| LookupRequest {
                text: text.clone(),
                source_lang: lang.code().into(),
                min_score: Some(min_score),
                max_results: Some(max_results),
                memories: vec![],
                exhaustive,
                ..Default::default()
            };
            let fast = tm.lookup(request(false)).unwrap();
            let full = tm.lookup(request(true)).unwrap();
            assert_eq!(fast, full, "{lang} min_score {min_score}: {text}");
            compared += 1;
            with_matches += usize::from(!full.is_empty());
        }
    }
    assert_eq!(compared, 2_400);
    // The comparison means something only if many queries do match.
    assert!(with_matches > 1_000, "only {with_matches} queries matched");
}
