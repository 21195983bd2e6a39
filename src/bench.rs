//! The benchmark workload: a memory of N units grown deterministically from
//! the real corpus, and a seeded mix of queries, plus the figures a run
//! reports. Used by `dhakira bench` (in-process or over gRPC) and by the
//! tests that check the index against the reference (`tests/index.rs`).

mod contention;
mod mix;
pub mod recall;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::text::Lang;
use crate::tsv::parse_line;
use crate::unit::UnitInput;

pub use contention::{run as run_contention, Background, ContentionReport, Pass};
pub use mix::{unseen_queries, Category, Query, MIX, STOPWORDS};

/// The corpus for tests and benchmarks: `$DHAKIRA_CORPUS`, or the
/// repository's `data/corpus` (real pairs with their licences, see its
/// README).
pub fn corpus_dir() -> PathBuf {
    std::env::var_os("DHAKIRA_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("data/corpus"))
}

/// The pairs of one `arabic<TAB>english` file, malformed lines skipped.
pub fn read_pairs(file: &Path) -> Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(file)
        .map_err(|err| Error::Input { path: file.display().to_string(), reason: err.to_string() })?;
    Ok(text.lines().filter_map(|line| parse_line(line).ok().flatten()).collect())
}

/// The `.tsv` files of a corpus directory, sorted by name (so the order is
/// stable).
fn tsv_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|err| Error::Input { path: dir.display().to_string(), reason: err.to_string() })?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "tsv"))
        .collect();
    files.sort();
    Ok(files)
}

/// Real pairs, read from every `.tsv` file of a corpus directory (sorted by
/// file name, so the order is stable).
pub fn read_corpus(dir: &Path) -> Result<Vec<(String, String)>> {
    let files = tsv_files(dir)?;
    let mut pairs = Vec::new();
    for file in files {
        pairs.extend(read_pairs(&file)?);
    }
    if pairs.is_empty() {
        let reason = "no .tsv file with pairs in this directory".into();
        return Err(Error::Input { path: dir.display().to_string(), reason });
    }
    Ok(pairs)
}

/// Files of the corpus that are not news: short everyday sentences and
/// software strings. [`document_split`] keeps them whole in the memory.
const NOT_NEWS: [&str; 2] = ["tatoeba.tsv", "l10n_django.tsv"];

/// Lines per document in [`document_split`].
pub const SPLIT_DOCUMENT_LINES: usize = 20;

/// A corpus split by document: the memory, and unseen sentences from other
/// documents.
#[derive(Debug, Clone)]
pub struct DocumentSplit {
    pub memory: Vec<(String, String)>,
    /// Pairs of the held-out documents, in file order.
    pub unseen: Vec<(String, String)>,
}

/// A document-disjoint split of the corpus's news files. The files keep
/// their documents' sentences in order, without document ids, so a
/// document here is a block of [`SPLIT_DOCUMENT_LINES`] consecutive lines:
/// every fifth block of each news file is held out (the unseen sentences),
/// the others and the files that are not news (`tatoeba.tsv`,
/// `l10n_django.tsv`) make the memory. Only the sentences next to a block's
/// edge can share a real document with the other side. Deterministic.
pub fn document_split(dir: &Path) -> Result<DocumentSplit> {
    document_split_fold(dir, 4)
}

/// [`document_split`] holding out block `fold` of every five (0–4) instead
/// of the fifth: another split of the same documents.
pub fn document_split_fold(dir: &Path, fold: usize) -> Result<DocumentSplit> {
    let input = |reason: String| Error::Input { path: dir.display().to_string(), reason };
    let files = tsv_files(dir)?;
    let mut split = DocumentSplit { memory: Vec::new(), unseen: Vec::new() };
    for file in files {
        let pairs = read_pairs(&file)?;
        let news = !file.file_name().is_some_and(|name| NOT_NEWS.iter().any(|n| name == *n));
        if !news {
            split.memory.extend(pairs);
            continue;
        }
        for (block, document) in pairs.chunks(SPLIT_DOCUMENT_LINES).enumerate() {
            let side = if block % 5 == fold % 5 { &mut split.unseen } else { &mut split.memory };
            side.extend(document.iter().cloned());
        }
    }
    if split.unseen.is_empty() {
        return Err(input("no news file to hold documents out of".into()));
    }
    Ok(split)
}

/// Names and products that tech news swaps in and out.
const NAMES: [&str; 16] = [
    "Tencent",
    "Hunyuan",
    "Alibaba",
    "Qwen-7B-Chat",
    "Meta",
    "Llama 2",
    "OpenAI",
    "GPT-4",
    "Google",
    "Gemini",
    "Baidu",
    "Ernie",
    "Microsoft",
    "Copilot",
    "Anthropic",
    "Mistral",
];

/// The workload generator: deterministic for a seed and a corpus.
pub struct Workload {
    pairs: Vec<(String, String)>,
    rng: StdRng,
}

impl Workload {
    pub fn new(pairs: Vec<(String, String)>, seed: u64) -> Workload {
        Workload { pairs, rng: StdRng::seed_from_u64(seed) }
    }

    /// `n` units: the real pairs first, then pairs grown from them (word
    /// edits drawn from the corpus, splices of two sentences, number and
    /// name swaps), so the vocabulary keeps its natural shape.
    pub fn units(&mut self, n: usize) -> Vec<UnitInput> {
        let mut units: Vec<UnitInput> = self.pairs.iter().take(n).map(|(ar, en)| unit(ar, en)).collect();
        while units.len() < n {
            let (ar, en) = self.grown_pair();
            units.push(unit(&ar, &en));
        }
        units
    }

    fn grown_pair(&mut self) -> (String, String) {
        let (ar, en) = self.pairs.choose(&mut self.rng).expect("a non-empty corpus").clone();
        match self.rng.random_range(0..4) {
            0 => (self.edit_words(&ar, Lang::Arabic, 2), self.edit_words(&en, Lang::English, 2)),
            1 => {
                let (ar2, en2) = self.pairs.choose(&mut self.rng).expect("a non-empty corpus");
                (splice(&ar, ar2), splice(&en, en2))
            }
            2 => {
                let number = self.rng.random_range(2..100_000).to_string();
                (swap_numbers(&ar, &number), swap_numbers(&en, &number))
            }
            _ => {
                let name = *NAMES.choose(&mut self.rng).expect("names");
                (format!("{} {name}", self.edit_words(&ar, Lang::Arabic, 1)), format!("{} {name}", en))
            }
        }
    }

    /// A word drawn from the corpus side `lang`, with its natural frequency
    /// (a random occurrence of a random sentence).
    fn corpus_word(&mut self, lang: Lang) -> String {
        loop {
            let (ar, en) = self.pairs.choose(&mut self.rng).expect("a non-empty corpus");
            let words: Vec<&str> = match lang {
                Lang::Arabic => ar.split_whitespace().collect(),
                Lang::English => en.split_whitespace().collect(),
            };
            if let Some(word) = words.choose(&mut self.rng) {
                return (*word).to_owned();
            }
        }
    }

    /// Up to `edits` random word substitutions, deletions or insertions.
    fn edit_words(&mut self, text: &str, lang: Lang, edits: usize) -> String {
        let mut words: Vec<String> = text.split_whitespace().map(str::to_owned).collect();
        for _ in 0..self.rng.random_range(1..=edits) {
            let at = self.rng.random_range(0..=words.len());
            match self.rng.random_range(0..3) {
                0 if at < words.len() => words[at] = self.corpus_word(lang),
                1 if at < words.len() && words.len() > 1 => {
                    words.remove(at);
                }
                _ => words.insert(at, self.corpus_word(lang)),
            }
        }
        words.join(" ")
    }

    /// `n` concordance phrases in `lang`: one to three consecutive words of
    /// a random unit.
    pub fn phrases(&mut self, units: &[UnitInput], n: usize, lang: Lang) -> Vec<String> {
        (0..n)
            .map(|_| {
                let source = units.choose(&mut self.rng).expect("units to query");
                let text = if lang == Lang::Arabic { &source.arabic } else { &source.english };
                let words: Vec<&str> = text.split_whitespace().collect();
                let len = self.rng.random_range(1..=3).min(words.len());
                let at = self.rng.random_range(0..=words.len() - len);
                words[at..at + len].join(" ")
            })
            .collect()
    }

    /// `n` queries in `lang`: about 70 % are stored sentences with one to
    /// three word edits (they should match), the rest are corpus words
    /// thrown together (they should not).
    pub fn queries(&mut self, units: &[UnitInput], n: usize, lang: Lang) -> Vec<String> {
        (0..n)
            .map(|_| {
                let source = units.choose(&mut self.rng).expect("units to query");
                let text = match lang {
                    Lang::Arabic => &source.arabic,
                    Lang::English => &source.english,
                };
                let edited = self.rng.random_bool(0.7);
                self.edit_or_scatter(text, lang, edited)
            })
            .collect()
    }

    /// `text` with one to three word edits, or (`edited` false) as many
    /// corpus words as it has, thrown together.
    fn edit_or_scatter(&mut self, text: &str, lang: Lang, edited: bool) -> String {
        if edited {
            let edits = self.rng.random_range(1..=3);
            self.edit_words(text, lang, edits)
        } else {
            let len = text.split_whitespace().count().max(1);
            (0..len).map(|_| self.corpus_word(lang)).collect::<Vec<_>>().join(" ")
        }
    }
}

impl Workload {
    /// `n` units of one news template that differ only in their numbers (a
    /// percentage, a price, a day), as financial news repeats them; the
    /// same numbers drawn twice make one unit (duplicates are not stored).
    pub fn template_units(&mut self, n: usize) -> Vec<UnitInput> {
        (0..n)
            .map(|_| {
                let (ar, en) = self.template_pair();
                unit(&ar, &en)
            })
            .collect()
    }

    /// `n` queries in `lang` from the same template, with numbers drawn
    /// anew: what a translator meets when the figures change.
    pub fn template_queries(&mut self, n: usize, lang: Lang) -> Vec<String> {
        (0..n)
            .map(|_| {
                let (ar, en) = self.template_pair();
                if lang == Lang::Arabic {
                    ar
                } else {
                    en
                }
            })
            .collect()
    }

    fn template_pair(&mut self) -> (String, String) {
        let percent = format!("{}.{}", self.rng.random_range(0..10), self.rng.random_range(1..10));
        let price = self.rng.random_range(10..1000);
        let day = self.rng.random_range(1..31);
        (
            format!("ارتفعت أسهم Tencent بنسبة {percent}% إلى {price} دولارا في {day} نوفمبر"),
            format!("Shares of Tencent rose {percent}% to ${price} on November {day}"),
        )
    }
}

fn unit(arabic: &str, english: &str) -> UnitInput {
    UnitInput { arabic: arabic.to_owned(), english: english.to_owned(), ..Default::default() }
}

/// The first half of `a` followed by the second half of `b`.
fn splice(a: &str, b: &str) -> String {
    let a: Vec<&str> = a.split_whitespace().collect();
    let b: Vec<&str> = b.split_whitespace().collect();
    a[..a.len().div_ceil(2)].iter().chain(&b[b.len() / 2..]).copied().collect::<Vec<_>>().join(" ")
}

/// Every run of ASCII digits replaced by `number` (or `number` appended).
fn swap_numbers(text: &str, number: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut swapped = false;
    let mut in_number = false;
    for c in text.chars() {
        if c.is_ascii_digit() {
            if !in_number {
                out.push_str(number);
                swapped = true;
            }
            in_number = true;
        } else {
            in_number = false;
            out.push(c);
        }
    }
    if !swapped {
        out.push(' ');
        out.push_str(number);
    }
    out
}

/// Latency figures of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub mode: String,
    pub lang: String,
    pub units: usize,
    pub queries: usize,
    pub min_score: u8,
    pub max_results: usize,
    pub concurrency: usize,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
    pub qps: f64,
    /// Share of the sampled queries whose indexed answer equals the
    /// reference's (`dhakira::reference`); `None` when not checked.
    pub recall: Option<f64>,
    pub recall_sample: usize,
    /// Share of queries with at least one match.
    pub hit_rate: f64,
    /// Resident memory at the end, and its peak over the whole run (the
    /// benchmark's own data included), in MiB; 0 over gRPC.
    pub rss_mb: f64,
    pub peak_rss_mb: f64,
    pub build_s: f64,
    /// The same figures for each category of queries (see [`MIX`]), in
    /// [`Category`] order.
    pub categories: Vec<CategoryReport>,
    /// The [`Settings::slowest`] slowest queries, the slowest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub slowest: Vec<SlowQuery>,
}

/// One query of [`Report::slowest`].
#[derive(Debug, Clone, Serialize)]
pub struct SlowQuery {
    pub category: Category,
    pub ms: f64,
    pub text: String,
}

/// One category's share of a run.
#[derive(Debug, Clone, Serialize)]
pub struct CategoryReport {
    pub category: Category,
    pub queries: usize,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
    pub hit_rate: f64,
    pub recall: Option<f64>,
    pub recall_sample: usize,
}

/// The `q`-quantile (0–1) of sorted latencies, in milliseconds.
pub fn quantile_ms(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let at = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[at].as_secs_f64() * 1e3
}

/// Resident memory of this process in MiB (0 where /proc is missing).
pub fn rss_mb() -> f64 {
    status_mb("VmRSS:")
}

/// The most resident memory this process has had, in MiB.
pub fn peak_rss_mb() -> f64 {
    status_mb("VmHWM:")
}

fn status_mb(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with(field))?;
            line.split_whitespace().nth(1)?.parse::<f64>().ok()
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus() -> Vec<(String, String)> {
        include_str!("../data/sample/tatoeba_fuzzy_clusters.tsv")
            .lines()
            .filter_map(|l| parse_line(l).unwrap())
            .collect()
    }

    #[test]
    fn the_document_split_holds_out_whole_blocks_of_news_only() {
        let split = document_split(&corpus_dir()).unwrap();
        let all = read_corpus(&corpus_dir()).unwrap();
        assert_eq!(split.memory.len() + split.unseen.len(), all.len());
        // About a fifth of the 10,689 news pairs, none from Tatoeba or Django.
        assert!((2_000..2_300).contains(&split.unseen.len()), "{}", split.unseen.len());
        let tatoeba = read_pairs(&corpus_dir().join("tatoeba.tsv")).unwrap();
        assert!(!split.unseen.contains(&tatoeba[0]) && split.memory.contains(&tatoeba[0]));
        let ntrex = read_pairs(&corpus_dir().join("ntrex128.tsv")).unwrap();
        assert!(split.memory.contains(&ntrex[0]) && split.unseen.contains(&ntrex[4 * SPLIT_DOCUMENT_LINES]));
    }

    #[test]
    fn workload_is_deterministic_for_a_seed() {
        let a = Workload::new(corpus(), 7).units(1_000);
        let b = Workload::new(corpus(), 7).units(1_000);
        let c = Workload::new(corpus(), 8).units(1_000);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 1_000);
        assert_eq!(a[0].arabic, corpus()[0].0, "real pairs come first");
    }

    #[test]
    fn splices_and_number_swaps() {
        assert_eq!(splice("a b c d", "w x y z"), "a b y z");
        assert_eq!(swap_numbers("in 2023 and 5", "77"), "in 77 and 77");
        assert_eq!(swap_numbers("no digits", "9"), "no digits 9");
    }

    #[test]
    fn figures_are_found_and_changed_as_written() {
        let text = "G20: $348.4 و76.000 ١٩ في 21st 5GB";
        let found: Vec<&str> = figures(text).iter().map(|(r, _)| &text[r.clone()]).collect();
        assert_eq!(found, ["348.4", "76.000", "١٩", "5"]);
        let (range, digits) = &figures(text)[2];
        assert_eq!(digits, "19");
        assert_eq!(change_digit(text, range, 1, 8), "G20: $348.4 و76.000 ١٨ في 21st 5GB");
    }

    /// The repair measurement on a slice of every news file (the first 150
    /// pairs of each): the share of number-changed sentences whose top match
    /// carries the right repaired target. `dhakira bench --repairs` runs it
    /// on the whole files.
    #[test]
    fn repairs_of_changed_numbers_in_news_are_right() {
        let mut pairs = Vec::new();
        for file in NEWS_FILES {
            pairs.extend(read_pairs(&corpus_dir().join(file)).unwrap().into_iter().take(150));
        }
        let report = run_repairs(&pairs, usize::MAX).unwrap();
        eprintln!("{}", serde_json::to_string_pretty(&report).unwrap());
        assert!(report.checked >= 400, "only {} variants with a repair to check", report.checked);
        assert!(report.repeated_checked >= 10, "only {} repeated numbers", report.repeated_checked);
        assert!(report.share() >= 0.95, "{} of {} repaired right", report.correct, report.checked);
        assert!(
            report.declined * 10 >= report.not_in_target * 9,
            "{} of {} numbers missing from the target were repaired anyway",
            report.not_in_target - report.declined,
            report.not_in_target
        );
    }
}

/// What one benchmark run asks for.
#[derive(Debug, Clone)]
pub struct Settings {
    pub lang: Lang,
    pub min_score: u8,
    pub max_results: usize,
    /// Queries of each category whose answer is also computed
    /// exhaustively (0: none).
    pub recall_sample: usize,
    /// Memories the units are spread over (`m0`, `m1`…; 0 or 1: the
    /// default memory).
    pub memories: usize,
    /// Search every memory as a cascade: `m{i}` loses `2·i` points, and
    /// units whose domain is not "tech" lose 3.
    pub cascade: bool,
    /// Only units of this domain.
    pub filter_domain: Option<String>,
    /// Time concordance searches (a page of 20) instead of lookups.
    pub concordance: bool,
    /// Ask every lookup for its sub-segment matches too; a query then
    /// counts as a hit when it has at least one.
    pub subsegments: bool,
    /// Report this many of the slowest queries, with their text.
    pub slowest: usize,
}

/// The domains [`Settings::spread`] gives units, in turn.
pub const DOMAINS: [&str; 3] = ["tech", "sport", "health"];

impl Settings {
    /// Spreads units over the memories and gives them domains in turn,
    /// when the settings use either.
    pub fn spread(&self, units: &mut [UnitInput]) {
        if self.memories <= 1 && !self.cascade && self.filter_domain.is_none() {
            return;
        }
        let memories = self.memories.max(1);
        for (i, unit) in units.iter_mut().enumerate() {
            if memories > 1 {
                unit.memory = format!("m{}", i % memories);
            }
            unit.domain = DOMAINS[(i / memories) % DOMAINS.len()].to_owned();
        }
    }
}

impl Settings {
    fn request(&self, text: &str, exhaustive: bool) -> crate::LookupRequest {
        crate::LookupRequest {
            text: text.to_owned(),
            source_lang: self.lang.code().to_owned(),
            min_score: Some(self.min_score.into()),
            max_results: Some(self.max_results as u32),
            memories: Vec::new(),
            exhaustive,
            subsegments: self.subsegments,
            memory_penalties: if self.cascade {
                (1..self.memories).map(|i| (format!("m{i}"), 2 * i as u32)).collect()
            } else {
                Vec::new()
            },
            preferences: if self.cascade {
                vec![crate::PreferenceRequest {
                    field: Some(crate::matching::MetadataField::Domain),
                    value: "tech".into(),
                    points: 3,
                }]
            } else {
                Vec::new()
            },
            filter: crate::matching::UnitFilter {
                domains: self.filter_domain.iter().cloned().collect(),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    /// The queries also answered exhaustively (their positions): at most
    /// `recall_sample` of each category, spread evenly over the run.
    fn recall_queries(&self, queries: &[Query]) -> Vec<usize> {
        if self.recall_sample == 0 {
            return Vec::new();
        }
        let mut by_category: std::collections::BTreeMap<Category, Vec<usize>> = Default::default();
        for (i, query) in queries.iter().enumerate() {
            by_category.entry(query.category).or_default().push(i);
        }
        let mut sample: Vec<usize> = by_category
            .values()
            .flat_map(|at| {
                let step = (at.len() / self.recall_sample).max(1);
                at.iter().copied().step_by(step).take(self.recall_sample)
            })
            .collect();
        sample.sort_unstable();
        sample
    }
}

/// Lookups as timed: each query's latency and whether it found a match,
/// in the queries' order.
struct Timed {
    latencies: Vec<Duration>,
    found: Vec<bool>,
    wall: Duration,
}

/// Indexed answers compared with exhaustive ones: (query position, equal).
#[derive(Default)]
struct Recall(Vec<(usize, bool)>);

impl Recall {
    fn add(&mut self, at: usize, equal: bool) {
        self.0.push((at, equal));
    }

    /// The share of equal answers among the checked queries `of` selects.
    fn share(&self, of: impl Fn(usize) -> bool) -> (Option<f64>, usize) {
        let checked: Vec<bool> = self.0.iter().filter(|(at, _)| of(*at)).map(|&(_, equal)| equal).collect();
        let equal = checked.iter().filter(|&&e| e).count();
        ((!checked.is_empty()).then(|| equal as f64 / checked.len() as f64), checked.len())
    }
}

/// What was run, besides the settings.
struct Run<'a> {
    mode: &'a str,
    units: usize,
    concurrency: usize,
    build: Duration,
    rss_mb: f64,
}

/// (unit id, score) of each match: what must be equal between the index and
/// the scan.
fn answer(matches: &[crate::Match]) -> Vec<(u64, u8)> {
    matches.iter().map(|m| (m.unit.id, m.score)).collect()
}

/// Runs `queries` one after the other on one thread, in this process.
pub fn run_in_process(
    tm: &crate::TranslationMemory,
    queries: &[Query],
    settings: &Settings,
    build: Duration,
) -> Result<Report> {
    let mut latencies = Vec::with_capacity(queries.len());
    let mut found = Vec::with_capacity(queries.len());
    let started = std::time::Instant::now();
    for Query { text, .. } in queries {
        let at = std::time::Instant::now();
        let hit = if settings.concordance {
            let request = crate::ConcordanceRequest {
                text: text.clone(),
                lang: settings.lang.code().to_owned(),
                page_size: 20,
                ..Default::default()
            };
            !tm.concordance(request)?.hits.is_empty()
        } else if settings.subsegments {
            !tm.lookup_with_fragments(settings.request(text, false))?.fragments.is_empty()
        } else {
            !tm.lookup(settings.request(text, false))?.is_empty()
        };
        latencies.push(at.elapsed());
        found.push(hit);
    }
    let timed = Timed { latencies, found, wall: started.elapsed() };
    let mut recall = Recall::default();
    let sample = settings.recall_queries(queries);
    if !sample.is_empty() {
        // The reference (what `exhaustive: true` answers), prepared once
        // for the whole sample rather than once per query.
        let mut units = Vec::new();
        tm.for_each_unit(&mut |unit| {
            units.push(unit);
            Ok(())
        })?;
        let reference = crate::reference::Reference::new(units);
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        for at in sample {
            let text = &queries[at].text;
            let fast = tm.lookup(settings.request(text, false))?;
            let full = reference.lookup(&settings.request(text, true).validate()?, now)?;
            recall.add(at, answer(&fast) == answer(&full));
        }
    }
    let units = tm.stats().total_units as usize;
    let mode = if settings.concordance { "concordance in-process" } else { "in-process" };
    let run = Run { mode, units, concurrency: 1, build, rss_mb: rss_mb() };
    Ok(report(settings, run, queries, timed, recall))
}

fn report(settings: &Settings, run: Run<'_>, asked: &[Query], timed: Timed, recall: Recall) -> Report {
    let Timed { latencies: timed_latencies, found, wall } = timed;
    let hits = found.iter().filter(|&&f| f).count();
    let mut latencies = timed_latencies.clone();
    latencies.sort();
    let queries = latencies.len();
    let total: Duration = latencies.iter().sum();
    let mut categories: Vec<Category> = asked.iter().map(|q| q.category).collect();
    categories.sort();
    categories.dedup();
    let categories = categories
        .into_iter()
        .map(|category| {
            let of = |at: usize| asked[at].category == category;
            let mut latencies: Vec<Duration> =
                timed_latencies.iter().enumerate().filter(|&(at, _)| of(at)).map(|(_, &d)| d).collect();
            latencies.sort();
            let n = latencies.len().max(1) as f64;
            let hits = found.iter().enumerate().filter(|&(at, &f)| of(at) && f).count();
            let (recall, recall_sample) = recall.share(of);
            CategoryReport {
                category,
                queries: latencies.len(),
                p50_ms: quantile_ms(&latencies, 0.50),
                p90_ms: quantile_ms(&latencies, 0.90),
                p99_ms: quantile_ms(&latencies, 0.99),
                max_ms: quantile_ms(&latencies, 1.0),
                mean_ms: latencies.iter().sum::<Duration>().as_secs_f64() * 1e3 / n,
                hit_rate: hits as f64 / n,
                recall,
                recall_sample,
            }
        })
        .collect();
    let (recall, recall_sample) = recall.share(|_| true);
    let mut by_time: Vec<usize> = (0..timed_latencies.len()).collect();
    by_time.sort_by(|&a, &b| timed_latencies[b].cmp(&timed_latencies[a]));
    let slowest = by_time
        .into_iter()
        .take(settings.slowest)
        .map(|at| SlowQuery {
            category: asked[at].category,
            ms: timed_latencies[at].as_secs_f64() * 1e3,
            text: asked[at].text.clone(),
        })
        .collect();
    Report {
        mode: run.mode.to_owned(),
        lang: settings.lang.code().to_owned(),
        units: run.units,
        queries,
        min_score: settings.min_score,
        max_results: settings.max_results,
        concurrency: run.concurrency,
        p50_ms: quantile_ms(&latencies, 0.50),
        p90_ms: quantile_ms(&latencies, 0.90),
        p99_ms: quantile_ms(&latencies, 0.99),
        max_ms: quantile_ms(&latencies, 1.0),
        mean_ms: total.as_secs_f64() * 1e3 / queries.max(1) as f64,
        qps: queries as f64 / wall.as_secs_f64().max(1e-9),
        recall,
        recall_sample,
        hit_rate: hits as f64 / queries.max(1) as f64,
        rss_mb: run.rss_mb,
        peak_rss_mb: if run.rss_mb > 0.0 { peak_rss_mb() } else { 0.0 },
        build_s: run.build.as_secs_f64(),
        categories,
        slowest,
    }
}

/// Runs `queries` against a server over gRPC from `concurrency` tasks (one
/// connection each), after loading `units` into it when given.
pub async fn run_grpc(
    url: &str,
    units: Option<Vec<UnitInput>>,
    queries: Vec<Query>,
    settings: &Settings,
    concurrency: usize,
) -> Result<Report> {
    use crate::proto::{AddUnitsRequest, StatsRequest};
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    let failed = |what: &str, err: String| Error::Input { path: url.to_owned(), reason: format!("{what}: {err}") };
    let connect = || async { crate::server::connect(url).await.map_err(|err| failed("connect", err.to_string())) };
    let mut client = connect().await?;
    let started = std::time::Instant::now();
    if let Some(units) = units {
        for chunk in units.chunks(5_000) {
            let request = AddUnitsRequest { units: chunk.iter().cloned().map(Into::into).collect() };
            client.add_units(request).await.map_err(|s| failed("add_units", s.message().to_owned()))?;
        }
    }
    let build = started.elapsed();

    let queries = Arc::new(queries);
    let next = Arc::new(AtomicUsize::new(0));
    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let client = connect().await?;
        let (queries, next) = (Arc::clone(&queries), Arc::clone(&next));
        tasks.push(tokio::spawn(grpc_client(client, queries, next, settings.clone())));
    }
    let mut timed = Vec::with_capacity(queries.len());
    for task in tasks {
        timed.extend(task.await.map_err(|err| failed("task", err.to_string()))?.map_err(|err| failed("lookup", err))?);
    }
    let wall = started.elapsed();
    timed.sort_unstable_by_key(|&(at, _, _)| at);
    let timed = Timed {
        latencies: timed.iter().map(|&(_, latency, _)| latency).collect(),
        found: timed.iter().map(|&(_, _, hit)| hit).collect(),
        wall,
    };

    let mut recall = Recall::default();
    for at in settings.recall_queries(&queries) {
        let text = &queries[at].text;
        let ask = |exhaustive| {
            let request = grpc_request(settings, text, exhaustive);
            let mut client = client.clone();
            async move { client.lookup(request).await.map(|r| r.into_inner().matches) }
        };
        let fast = ask(false).await.map_err(|s| failed("lookup", s.message().to_owned()))?;
        let full = ask(true).await.map_err(|s| failed("lookup", s.message().to_owned()))?;
        let key = |m: &[crate::proto::Match]| m.iter().map(|m| (m.unit_id, m.score)).collect::<Vec<_>>();
        recall.add(at, key(&fast) == key(&full));
    }
    let units = client
        .stats(StatsRequest {})
        .await
        .map_err(|s| failed("stats", s.message().to_owned()))?
        .into_inner()
        .total_units as usize;
    // This process only sends requests: the server's memory is what matters,
    // and it is not visible from here.
    let run = Run { mode: "grpc", units, concurrency, build, rss_mb: 0.0 };
    Ok(report(settings, run, &queries, timed, recall))
}

/// One timed client: looks up the next query not yet taken until none is
/// left; for each, its position, latency and whether it found a match.
async fn grpc_client(
    mut client: crate::proto::translation_memory_client::TranslationMemoryClient<tonic::transport::Channel>,
    queries: std::sync::Arc<Vec<Query>>,
    next: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    settings: Settings,
) -> std::result::Result<Vec<(usize, Duration, bool)>, String> {
    let mut timed = Vec::new();
    loop {
        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let Some(query) = queries.get(i) else { break };
        let request = grpc_request(&settings, &query.text, false);
        let at = std::time::Instant::now();
        let response = client.lookup(request).await.map_err(|s| s.message().to_owned())?;
        timed.push((i, at.elapsed(), !response.into_inner().matches.is_empty()));
    }
    Ok(timed)
}

fn grpc_request(settings: &Settings, text: &str, exhaustive: bool) -> crate::proto::LookupRequest {
    settings.request(text, exhaustive).into()
}

/// Writes `units` as a TMX 1.4b file the way CAT tools export one: a tuid,
/// creation and change dates and ids, a domain property and `srclang` on
/// every unit, and a `<bpt>`/`<ept>` pair on every tenth. Returns the bytes
/// written.
pub fn write_tmx(units: &[UnitInput], out: impl std::io::Write) -> std::io::Result<u64> {
    use crate::tmx::{Attribute, Header, InlineKind, InlineTag, Prop, Segment, TmxUnit, TmxWriter, Variant};
    let mut out = CountingWriter { inner: std::io::BufWriter::with_capacity(1 << 20, out), bytes: 0 };
    let mut writer = TmxWriter::new(&mut out, &Header::dhakira("en"))?;
    let base = 1_600_000_000_000i64;
    for (i, unit) in units.iter().enumerate() {
        let date = |offset: i64| crate::tmx::format_date(base + (i as i64 * 7_919 + offset) % 157_680_000 * 1_000);
        let mut english = Segment::plain(&unit.english);
        if i % 10 == 0 {
            let code = |element, content: &str| InlineKind::Code {
                element,
                attributes: vec![Attribute::new("i", "1")],
                content: content.to_owned(),
            };
            let end = unit.english.chars().count();
            english.markup = vec![
                InlineTag { offset: 0, kind: code(crate::tmx::CodeElement::Bpt, "&lt;b&gt;") },
                InlineTag { offset: end, kind: code(crate::tmx::CodeElement::Ept, "&lt;/b&gt;") },
            ];
        }
        let tmx = TmxUnit {
            attributes: vec![
                Attribute::new("tuid", (i + 1).to_string()),
                Attribute::new("srclang", "en-US"),
                Attribute::new("creationdate", date(0)),
                Attribute::new("creationid", format!("translator{}", i % 37)),
                Attribute::new("changedate", date(86_400)),
                Attribute::new("changeid", format!("reviewer{}", i % 11)),
            ],
            props: vec![Prop::new("x-domain", if i % 3 == 0 { "tech-news" } else { "news" })],
            notes: Vec::new(),
            arabic: Variant::new("ar-SA", Segment::plain(&unit.arabic)),
            english: Variant::new("en-US", english),
        };
        writer.write_unit(&tmx)?;
    }
    writer.finish()?;
    std::io::Write::flush(&mut out)?;
    Ok(out.bytes)
}

struct CountingWriter<W> {
    inner: W,
    bytes: u64,
}

impl<W: std::io::Write> std::io::Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// What an import over gRPC while lookups run measured.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub units_read: u64,
    pub added: u64,
    pub import_s: f64,
    pub units_per_s: f64,
    /// Lookups answered while the import ran, and their latency.
    pub lookups: usize,
    pub lookup_p50_ms: f64,
    pub lookup_p99_ms: f64,
    pub lookup_max_ms: f64,
    pub concurrency: usize,
}

/// Streams `file` to the server's Import RPC while `concurrency` clients
/// look up `queries` round and round until the import ends.
pub async fn run_import_while_serving(
    url: &str,
    file: &Path,
    queries: Vec<String>,
    settings: &Settings,
    concurrency: usize,
) -> Result<ImportReport> {
    use crate::proto::import_request::Item;
    use crate::proto::{ImportOptions, ImportRequest};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    let failed = |what: &str, err: String| Error::Input { path: url.to_owned(), reason: format!("{what}: {err}") };
    let connect = || async { crate::server::connect(url).await.map_err(|err| failed("connect", err.to_string())) };
    let done = Arc::new(AtomicBool::new(false));
    let queries = Arc::new(queries);
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let mut client = connect().await?;
        let (queries, done, settings) = (Arc::clone(&queries), Arc::clone(&done), settings.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = worker;
            while !done.load(Ordering::Relaxed) && !queries.is_empty() {
                let request = grpc_request(&settings, &queries[i % queries.len()], false);
                i += concurrency;
                let at = std::time::Instant::now();
                client.lookup(request).await.map_err(|s| s.message().to_owned())?;
                latencies.push(at.elapsed());
            }
            Ok::<_, String>(latencies)
        }));
    }
    let data = std::fs::read(file).map_err(|err| failed("read", err.to_string()))?;
    let mut client = connect().await?;
    let started = std::time::Instant::now();
    let options = ImportOptions { memory: "imported".into(), ..Default::default() };
    let mut requests = vec![ImportRequest { item: Some(Item::Options(options)) }];
    requests.extend(data.chunks(1 << 20).map(|c| ImportRequest { item: Some(Item::Chunk(c.to_vec())) }));
    drop(data);
    let summary =
        client.import(tokio_stream::iter(requests)).await.map_err(|s| failed("import", s.message().to_owned()));
    let import_s = started.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for task in tasks {
        latencies
            .extend(task.await.map_err(|err| failed("task", err.to_string()))?.map_err(|err| failed("lookup", err))?);
    }
    let summary = summary?.into_inner();
    latencies.sort_unstable();
    Ok(ImportReport {
        units_read: summary.read,
        added: summary.added,
        import_s,
        units_per_s: summary.read as f64 / import_s,
        lookups: latencies.len(),
        lookup_p50_ms: quantile_ms(&latencies, 0.5),
        lookup_p99_ms: quantile_ms(&latencies, 0.99),
        lookup_max_ms: quantile_ms(&latencies, 1.0),
        concurrency,
    })
}

/// The news files of the corpus (everything but Tatoeba and the software
/// strings): the sentences a repair measurement changes numbers in.
pub const NEWS_FILES: [&str; 6] = [
    "ntrex128.tsv",
    "flores200_devtest.tsv",
    "tico19_test.tsv",
    "un_v1_testsets.tsv",
    "wmt24pp_ar_EG.tsv",
    "wmt24pp_ar_SA.tsv",
];

/// What `dhakira bench --repairs` measured: over number-changed variants of
/// real sentences, how often the top match's repaired target is the stored
/// target with exactly that number changed.
#[derive(Debug, Default, Serialize)]
pub struct RepairReport {
    /// Variants whose number the stored target writes as often as the
    /// source: a correct repair exists.
    pub checked: usize,
    pub correct: usize,
    /// Of those, the ones where the number occurs more than once.
    pub repeated_checked: usize,
    pub repeated_correct: usize,
    /// Variants whose number the target does not write in digits (spelled
    /// out, rounded…): no repair is right, and `declined` of them got none.
    pub not_in_target: usize,
    pub declined: usize,
    /// Variants skipped because the changed sentence is itself stored, or
    /// a unit holding the new figure (the same sentence up to spelling)
    /// came first.
    pub skipped_stored: usize,
    /// Failures by category (`not_repaired:<warnings>`, `wrong_repair`,
    /// `other_unit_first`, `no_match`), with up to 3 examples each.
    pub failures: std::collections::BTreeMap<String, usize>,
    pub examples: std::collections::BTreeMap<String, Vec<RepairExample>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RepairExample {
    pub query: String,
    pub expected: String,
    pub got: Option<String>,
}

impl RepairReport {
    /// Correct repairs among the variants where one exists.
    pub fn share(&self) -> f64 {
        self.correct as f64 / self.checked.max(1) as f64
    }

    /// A figure the stored target does not write as often as the source:
    /// not checked; a repair made all the same is kept as an example.
    fn without_counterpart(&mut self, lang: &str, example: RepairExample) {
        self.not_in_target += 1;
        self.declined += usize::from(example.got.is_none());
        if example.got.is_some() {
            let examples = self.examples.entry(format!("{lang}: repaired_without_counterpart")).or_default();
            if examples.len() < 3 {
                examples.push(example);
            }
        }
    }

    fn fail(&mut self, category: String, example: RepairExample) {
        *self.failures.entry(category.clone()).or_default() += 1;
        let examples = self.examples.entry(category).or_default();
        if examples.len() < 3 {
            examples.push(example);
        }
    }
}

/// A figure as the measurement sees it, independently of the matcher's own
/// number reading: a maximal run of digits (Western, Arabic-Indic or
/// Persian) with single `.` `,` `٫` `٬` between digits, not glued after a
/// Latin letter (`G20`) nor followed by an ordinal or decade ending (`21st`,
/// `1990s`: those a translator would not meet changed, see
/// [`figures_with_ordinals`]). Returns its byte range and its digits as
/// ASCII, separators left out: `20.000` and `20,000` have the same digits.
fn figures(text: &str) -> Vec<(std::ops::Range<usize>, String)> {
    figures_with_ordinals(text).into_iter().filter(|f| !f.2).map(|(range, digits, _)| (range, digits)).collect()
}

/// [`figures`], ordinals and decades included, each with whether it is one.
fn figures_with_ordinals(text: &str) -> Vec<(std::ops::Range<usize>, String, bool)> {
    let digit = |c: char| match c {
        '0'..='9' => Some(c as u32 - '0' as u32),
        '\u{0660}'..='\u{0669}' => Some(c as u32 - 0x0660),
        '\u{06F0}'..='\u{06F9}' => Some(c as u32 - 0x06F0),
        _ => None,
    };
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if digit(chars[i].1).is_none() {
            i += 1;
            continue;
        }
        let start = i;
        let mut digits = String::new();
        while i < chars.len() {
            if let Some(d) = digit(chars[i].1) {
                digits.push(char::from(b'0' + d as u8));
                i += 1;
            } else if matches!(chars[i].1, '.' | ',' | '٫' | '٬')
                && chars.get(i + 1).is_some_and(|&(_, c)| digit(c).is_some())
            {
                i += 1;
            } else {
                break;
            }
        }
        let end = chars.get(i).map_or(text.len(), |&(b, _)| b);
        let after: String = text[end..].chars().take_while(|c| c.is_alphabetic()).collect();
        let glued_before = start > 0 && chars[start - 1].1.is_ascii_alphabetic();
        let ordinal = ["st", "nd", "rd", "th", "s"].contains(&after.to_lowercase().as_str());
        if !glued_before {
            out.push((chars[start].0..end, digits, ordinal));
        }
    }
    out
}

/// `figure` (a range of `text` from [`figures`]) with its digit number `at`
/// (counting digits only) replaced by `new` (0–9), in the digit script the
/// text wrote it with.
fn change_digit(text: &str, figure: &std::ops::Range<usize>, at: usize, new: u32) -> String {
    let zero_of = |c: char| match c {
        '0'..='9' => Some('0' as u32),
        '\u{0660}'..='\u{0669}' => Some(0x0660),
        '\u{06F0}'..='\u{06F9}' => Some(0x06F0),
        _ => None,
    };
    // The figure's script is its first digit's (`٢٠١5` is a slip of the
    // keyboard in Arabic-Indic digits).
    let script = text[figure.clone()].chars().find_map(zero_of).expect("a figure has digits");
    let mut out = text[..figure.start].to_owned();
    let mut seen = 0;
    for c in text[figure.clone()].chars() {
        match zero_of(c) {
            Some(_) => {
                out.push(if seen == at { char::from_u32(script + new).expect("a digit") } else { c });
                seen += 1;
            }
            None => out.push(c),
        }
    }
    out.push_str(&text[figure.end..]);
    out
}

/// Measures placeable repair on real numbers: a memory holds `pairs`; for
/// each pair with a figure, one figure of the source is changed (its last
/// non-zero digit goes up by one, 9 goes down), the changed source is looked
/// up (ar→en and en→ar), and the top match's repaired target is compared with
/// the stored target with the same digit changed in the same figure, written
/// as the target writes it. A figure that occurs k times on both sides is
/// changed at one occurrence, and the target's occurrence of the same rank is
/// expected to change. At most `limit` pairs are tried per direction.
pub fn run_repairs(pairs: &[(String, String)], limit: usize) -> Result<RepairReport> {
    use std::collections::HashSet;
    let tm = crate::TranslationMemory::in_memory();
    for chunk in pairs.chunks(5_000) {
        tm.add_units(chunk.iter().map(|(a, e)| unit(a, e)).collect())?;
    }
    let stored: [HashSet<&str>; 2] =
        [pairs.iter().map(|p| p.0.as_str()).collect(), pairs.iter().map(|p| p.1.as_str()).collect()];
    let mut report = RepairReport::default();
    for (side, lang) in [(0, "ar"), (1, "en")] {
        for (n, pair) in pairs.iter().take(limit).enumerate() {
            let (source, target) = if side == 0 { (&pair.0, &pair.1) } else { (&pair.1, &pair.0) };
            let stored = |text: &str| stored[side].contains(text);
            check_repair(&tm, &stored, lang, n, (source, target), &mut report)?;
        }
    }
    Ok(report)
}

/// The figures of `list` written `digits`.
fn count_digits(list: &[(std::ops::Range<usize>, String)], digits: &str) -> usize {
    list.iter().filter(|(_, d)| d == digits).count()
}

/// The last digit of `digits` that is not 0 and what it becomes: the next
/// digit (8 for 9).
fn digit_to_change(digits: &str) -> Option<(usize, u32)> {
    let at = digits.rfind(|c| c != '0')?;
    let old = digits.as_bytes()[at] - b'0';
    Some((at, if old == 9 { 8 } else { u32::from(old) + 1 }))
}

/// `digits` with the digit at `at` changed to `new`.
fn changed_digits(digits: &str, at: usize, new: u32) -> String {
    let mut d = digits.to_owned().into_bytes();
    d[at] = b'0' + new as u8;
    String::from_utf8(d).expect("ASCII digits")
}

/// Pair `n`'s figure to change: one the target writes as often as the
/// source (then `true`: it has a counterpart); else any.
fn pick_figure(in_source: &[(std::ops::Range<usize>, String)], target: &str, n: usize) -> (usize, bool) {
    let in_target: Vec<_> = figures_with_ordinals(target).into_iter().map(|(r, d, _)| (r, d)).collect();
    let repairable: Vec<usize> = (0..in_source.len())
        .filter(|&k| count_digits(&in_target, &in_source[k].1) == count_digits(in_source, &in_source[k].1))
        .collect();
    match repairable.len() {
        0 => (n % in_source.len(), false),
        len => (repairable[n % len], true),
    }
}

/// Changes one digit of a figure of pair `n`'s source (`lang`), looks the
/// changed sentence up and counts whether the top match's target was
/// repaired as expected.
fn check_repair(
    tm: &crate::TranslationMemory,
    stored: &dyn Fn(&str) -> bool,
    lang: &str,
    n: usize,
    (source, target): (&String, &String),
    report: &mut RepairReport,
) -> Result<()> {
    let in_source = figures(source);
    if in_source.is_empty() {
        return Ok(());
    }
    let (k, has_counterpart) = pick_figure(&in_source, target, n);
    let (range, digits) = &in_source[k];
    let Some((at, new)) = digit_to_change(digits) else { return Ok(()) };
    let query = change_digit(source, range, at, new);
    if stored(query.as_str()) {
        report.skipped_stored += 1;
        return Ok(());
    }
    let request = crate::LookupRequest {
        text: query.clone(),
        source_lang: lang.into(),
        max_results: Some(1),
        ..Default::default()
    };
    let matches = tm.lookup(request)?;
    let got = matches.first().and_then(|m| m.explanation.repaired_target.clone());
    // The target to repair: the top match's own when it is this source (a source may be stored
    // with several translations). A near-duplicate of this source (the same sentence spelled
    // otherwise, stored as well) may come first: it is judged the same way, on its own target.
    let best = matches.first().filter(|m| {
        m.source() == source.as_str() || count_digits(&figures(m.source()), digits) == count_digits(&in_source, digits)
    });
    let stored_target = best.map_or(target.as_str(), |m| m.target());
    let target_figures = figures_with_ordinals(stored_target);
    let in_stored_target = target_figures.iter().filter(|(_, d, _)| d == digits).count();
    if !has_counterpart || in_stored_target != count_digits(&in_source, digits) {
        report.without_counterpart(lang, RepairExample { query, expected: stored_target.to_owned(), got });
        return Ok(());
    }
    // The same occurrence rank in the target.
    let rank = in_source[..k].iter().filter(|(_, d)| d == digits).count();
    let repeated = count_digits(&in_source, digits) > 1;
    report.checked += 1;
    report.repeated_checked += usize::from(repeated);
    if matches.is_empty() {
        let example = RepairExample { query, expected: String::new(), got: None };
        report.fail("no_match".into(), example);
        return Ok(());
    }
    let Some(best) = best else {
        // Another unit came first: fine when it already holds the
        // new figure (the memory has that sentence, up to spelling).
        let new_digits = changed_digits(digits, at, new);
        if figures(matches[0].source()).iter().any(|(_, d)| *d == new_digits) {
            report.checked -= 1;
            report.repeated_checked -= usize::from(repeated);
            report.skipped_stored += 1;
            return Ok(());
        }
        let example = RepairExample { query, expected: target.clone(), got };
        report.fail("other_unit_first".into(), example);
        return Ok(());
    };
    let (target_range, _, ordinal) =
        target_figures.iter().filter(|(_, d, _)| d == digits).nth(rank).expect("counted above");
    let mut expected = change_digit(stored_target, target_range, at, new);
    if *ordinal && lang == "ar" {
        follow_ordinal(&mut expected, stored_target, target_range, &changed_digits(digits, at, new));
    }
    record_repair(report, lang, RepairExample { query, expected, got }, best, repeated);
    Ok(())
}

/// The English ordinal ending after `figure` in `stored_target` follows
/// the new number (`new_digits`) in `expected`.
fn follow_ordinal(expected: &mut String, stored_target: &str, figure: &std::ops::Range<usize>, new_digits: &str) {
    let n: u64 = new_digits.parse().unwrap_or(0);
    let ending = if (11..=13).contains(&(n % 100)) {
        "th"
    } else {
        ["th", "st", "nd", "rd", "th", "th", "th", "th", "th", "th"][(n % 10) as usize]
    };
    let after = &stored_target[figure.end..];
    let letters = after.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(after.len());
    if ["st", "nd", "rd", "th"].contains(&after[..letters].to_lowercase().as_str()) {
        expected.replace_range(figure.end..figure.end + letters, ending);
    }
}

/// Counts a checked repair: correct, wrong, or not made (by the kinds of
/// the top match's warnings).
fn record_repair(report: &mut RepairReport, lang: &str, example: RepairExample, best: &crate::Match, repeated: bool) {
    match &example.got {
        Some(repaired) if *repaired == example.expected => {
            report.correct += 1;
            report.repeated_correct += usize::from(repeated);
        }
        Some(_) => report.fail(format!("{lang}: wrong_repair"), example),
        None => {
            let mut kinds: Vec<&str> = best.explanation.warnings.iter().map(|w| w.kind).collect();
            kinds.sort();
            kinds.dedup();
            report.fail(format!("{lang}: not_repaired: {}", kinds.join("+")), example);
        }
    }
}
