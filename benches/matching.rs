//! Micro-benchmarks of the score function and of candidate generation.
//! Run with `cargo bench`; reads the corpus from the repository's
//! `data/corpus` (or `$DHAKIRA_CORPUS`). The end-to-end load generator is `dhakira bench`.

use std::sync::OnceLock;

use dhakira::bench::{corpus_dir, read_corpus, Workload};
use dhakira::matching::{explain, word_distance, Index, Query, Scope, Selection};
use dhakira::text::words;
use dhakira::{Lang, Unit};

fn main() {
    divan::main();
}

struct Fixture {
    index: Index,
    queries: Vec<Query>,
    /// Every unit, no penalty.
    all: Selection,
}

/// 100,000 units grown from the corpus, and 200 seeded Arabic queries.
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let mut workload = Workload::new(read_corpus(&corpus_dir()).expect("the corpus (data/corpus)"), 1);
        let units = workload.units(100_000);
        let mut index = Index::default();
        for (i, u) in units.iter().enumerate() {
            let unit =
                Unit { id: i as u64 + 1, arabic: u.arabic.clone(), english: u.english.clone(), ..Default::default() };
            index.insert(&unit);
        }
        let queries =
            workload.queries(&units, 200, Lang::Arabic).iter().map(|q| index.encode_text(q, Lang::Arabic)).collect();
        let all = index.selection(&Scope::default());
        Fixture { index, queries, all }
    })
}

#[divan::bench(args = [5, 20, 60])]
fn word_distance_strsim(bencher: divan::Bencher, n: u32) {
    let a: Vec<u32> = (0..n).collect();
    let b: Vec<u32> = (0..n).map(|i| if i % 4 == 0 { i + 1000 } else { i }).collect();
    bencher.bench(|| word_distance(divan::black_box(&a), divan::black_box(&b)));
}

/// Whole explanations against one stored unit: a spelling variant (spelling
/// penalties and edits), and other names and year (a repaired target).
#[divan::bench(args = [
    "كَشَفَتْ شركه Tencent، عن نموذج Hunyuan في عام ٢٠٢٣",
    "كشفت شركة Alibaba عن نموذج Qwen في عام 2024",
])]
fn explain_against_one_unit(bencher: divan::Bencher, query: &str) {
    let source = "كشفت شركة Tencent عن نموذج Hunyuan في عام 2023";
    let target = "Tencent unveiled the Hunyuan model in 2023";
    bencher.bench(|| explain(divan::black_box(query), divan::black_box(source), target, Lang::Arabic));
}

#[divan::bench]
fn normalize_and_split(bencher: divan::Bencher) {
    let text = "أعلنت شركة Alibaba عن إطلاق نموذج Qwen-7B-Chat الجديد، الذي يتفوق على Llama 2 في ٧ من أصل ١٠ اختبارات.";
    bencher.bench(|| words(divan::black_box(text)));
}

#[divan::bench(args = [50, 70])]
fn candidates_index_100k(bencher: divan::Bencher, min_score: u8) {
    let f = fixture();
    let mut i = 0;
    bencher.bench_local(|| {
        i = (i + 1) % f.queries.len();
        f.index.candidates(&f.queries[i], &f.all, min_score, 5)
    });
}

#[divan::bench(args = [70])]
fn candidates_scan_100k(bencher: divan::Bencher, min_score: u8) {
    let f = fixture();
    let mut i = 0;
    bencher.bench_local(|| {
        i = (i + 1) % f.queries.len();
        f.index.scan(&f.queries[i], &f.all, min_score)
    });
}
