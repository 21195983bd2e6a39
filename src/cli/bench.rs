//! `dhakira bench`: lookups (or concordance searches) timed on a memory
//! grown from the corpus, in-process or against a server; or placeable
//! repair measured (`--repairs`). The last line of each report is JSON.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use dhakira::bench::{
    document_split, read_corpus, run_grpc, run_in_process, unseen_queries, Category, Query, Report, Settings, Workload,
};
use dhakira::{TranslationMemory, UnitInput};
use indicatif::{ProgressBar, ProgressStyle};

use super::output::json_line;
use super::remote::server_url;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Directory of arabic<TAB>english .tsv files (default: $DHAKIRA_CORPUS,
    /// else the repository's data/corpus).
    #[arg(long)]
    corpus: Option<PathBuf>,
    /// Units in the memory (real pairs first, then pairs grown from them).
    #[arg(long, default_value_t = 116_550)]
    units: usize,
    /// Lookups to time.
    #[arg(long, default_value_t = 2_000)]
    queries: usize,
    #[arg(long, default_value_t = dhakira::DEFAULT_MIN_SCORE)]
    min_score: u8,
    #[arg(long, default_value_t = dhakira::DEFAULT_MAX_RESULTS)]
    max_results: usize,
    /// Query language: ar or en.
    #[arg(long, default_value = "ar")]
    lang: String,
    /// Also run a sample of the queries exhaustively and report the share
    /// with identical answers (overall and per category).
    #[arg(long)]
    check_recall: bool,
    /// Queries in the recall sample, per category of the query mix.
    #[arg(long, default_value_t = 200)]
    recall_sample: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Keep the memory in a sled database here instead of in RAM.
    #[arg(long)]
    db: Option<PathBuf>,
    /// Query a running server at this address (127.0.0.1:50051 or a URL).
    #[arg(long)]
    grpc: Option<String>,
    /// Concurrent gRPC clients.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// With --grpc: first add the generated units to the server.
    #[arg(long)]
    load: bool,
    /// Write the generated units to this TMX file (as CAT tools export
    /// them: ids, dates, a property, some markup) and exit.
    #[arg(long)]
    write_tmx: Option<PathBuf>,
    /// With --grpc: import this file over the Import RPC while the clients
    /// look up, and report both.
    #[arg(long)]
    import_file: Option<PathBuf>,
    /// Spread the units over this many memories (m0, m1…), domains tech,
    /// sport and health in turn.
    #[arg(long, default_value_t = 1)]
    memories: usize,
    /// Look up as a cascade over every memory: m{i} loses 2·i points,
    /// units outside the "tech" domain lose 3.
    #[arg(long)]
    cascade: bool,
    /// Look up only units of this domain (tech, sport or health).
    #[arg(long)]
    filter_domain: Option<String>,
    /// Measure placeable repair instead: change one number in each news
    /// sentence, look the changed sentence up (ar→en and en→ar) and print
    /// the share of top matches whose repaired target is right, with the
    /// failures by category.
    #[arg(long)]
    repairs: bool,
    /// Make this many of the units from one news template with varied
    /// numbers, and take every query from that template.
    #[arg(long, default_value_t = 0)]
    templates: usize,
    /// Time concordance searches (1–3 consecutive words of a stored unit,
    /// a page of 20 hits) instead of lookups; in-process only.
    #[arg(long)]
    concordance: bool,
    /// Ask every lookup for its sub-segment matches too (in-process: the
    /// hits are then the queries with at least one sub-segment match).
    #[arg(long)]
    subsegments: bool,
    /// Time the lookups twice, quiet and then while another thread adds
    /// this many units per second (one per request); in-process only.
    #[arg(long, default_value_t = 0.0)]
    background_adds: f64,
    /// With the second timing, also this many threads running lookups
    /// that read every unit (min_score 0) back to back.
    #[arg(long, default_value_t = 0)]
    background_scans: usize,
    /// Time only the queries of this category of the mix (edited, unseen,
    /// words, wordless, number, stopwords): the same queries as in the
    /// whole mix of --queries, the others left out (to profile one).
    #[arg(long)]
    only: Option<String>,
    /// Also print this many of the slowest queries, with their category,
    /// time and text (to see where the tail comes from).
    #[arg(long, default_value_t = 0)]
    slowest: usize,
}

/// Units set aside for `--background-adds` (each added with a running
/// number, so the pool may be used several times).
const ADD_POOL: usize = 20_000;

/// `dhakira bench --repairs`: see [`dhakira::bench::run_repairs`].
fn bench_repairs(corpus: &Path) -> anyhow::Result<ExitCode> {
    let mut pairs = Vec::new();
    for file in dhakira::bench::NEWS_FILES {
        pairs.extend(dhakira::bench::read_pairs(&corpus.join(file))?);
    }
    let report = dhakira::bench::run_repairs(&pairs, usize::MAX)?;
    println!(
        "repairs: {} of {} number-changed news sentences repaired right ({:.1} %); repeated numbers {} of {}; number not in the target: {} of {} declined; {} skipped (changed sentence stored)",
        report.correct, report.checked, 100.0 * report.share(), report.repeated_correct, report.repeated_checked,
        report.declined, report.not_in_target, report.skipped_stored
    );
    for (category, count) in &report.failures {
        println!("  {count:>5}  {category}");
    }
    json_line(&report)?;
    Ok(ExitCode::SUCCESS)
}

pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let corpus = args.corpus.clone().unwrap_or_else(dhakira::bench::corpus_dir);
    if args.repairs {
        return bench_repairs(&corpus);
    }
    let lang = dhakira::Lang::parse(&args.lang, "--lang")?;
    // The query mix (the default) holds real sentences never stored: the
    // memory is then grown from the other documents of the corpus only.
    let mixed = !args.concordance && args.templates == 0 && args.write_tmx.is_none();
    anyhow::ensure!(
        mixed || args.only.is_none(),
        "--only: a category of the query mix, not of --templates or --concordance"
    );
    let (pairs, held_out) = if mixed {
        let split = document_split(&corpus)?;
        (split.memory, split.unseen)
    } else {
        (read_corpus(&corpus)?, Vec::new())
    };
    let mut workload = Workload::new(pairs, args.seed);
    let contention = args.background_adds > 0.0 || args.background_scans > 0;
    anyhow::ensure!(
        !contention || (args.grpc.is_none() && !args.concordance && args.write_tmx.is_none()),
        "--background-adds, --background-scans: in-process lookups only"
    );
    anyhow::ensure!(args.background_adds.is_finite() && args.background_adds >= 0.0, "--background-adds: a rate >= 0");
    let own = args.units.saturating_sub(args.templates);
    let mut units = workload.units(own + if contention { ADD_POOL } else { 0 });
    let pool = units.split_off(own);
    units.extend(workload.template_units(args.templates.min(args.units)));
    if let Some(path) = &args.write_tmx {
        let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let bytes = dhakira::bench::write_tmx(&units, file)?;
        println!("{} units written to {} ({:.0} MB)", units.len(), path.display(), bytes as f64 / 1e6);
        return Ok(ExitCode::SUCCESS);
    }
    let queries: Vec<Query> = if args.concordance {
        anyhow::ensure!(args.grpc.is_none(), "--concordance: runs in-process only (without --grpc)");
        let phrases = workload.phrases(&units, args.queries, lang);
        phrases.into_iter().map(|text| Query::new(Category::Phrase, text)).collect()
    } else if args.templates > 0 {
        let texts = workload.template_queries(args.queries, lang);
        texts.into_iter().map(|text| Query::new(Category::Template, text)).collect()
    } else {
        let unseen = unseen_queries(&held_out, &units, lang);
        let mut mix = workload.mix(&units, &unseen, args.queries, lang);
        if let Some(only) = &args.only {
            let category = dhakira::bench::MIX
                .iter()
                .map(|&(category, _)| category)
                .find(|category| category.name() == only)
                .with_context(|| format!("--only: {only} is not a category of the mix"))?;
            mix.retain(|query| query.category == category);
        }
        mix
    };
    let settings = Settings {
        lang,
        min_score: args.min_score,
        max_results: args.max_results,
        recall_sample: if args.check_recall { args.recall_sample } else { 0 },
        memories: args.memories,
        cascade: args.cascade,
        filter_domain: args.filter_domain.clone(),
        concordance: args.concordance,
        subsegments: args.subsegments,
        slowest: args.slowest,
    };
    settings.spread(&mut units);
    if let (Some(url), Some(file)) = (&args.grpc, &args.import_file) {
        let texts = queries.into_iter().map(|q| q.text).collect();
        return bench_import(url, file, texts, &settings, args.concurrency);
    }
    if contention {
        let background = dhakira::bench::Background { adds_per_s: args.background_adds, scans: args.background_scans };
        let texts: Vec<String> = queries.into_iter().map(|q| q.text).collect();
        return bench_contention(args.db.as_deref(), units, &texts, &settings, background, &pool);
    }
    let report = match &args.grpc {
        Some(url) => {
            let runtime = tokio::runtime::Runtime::new()?;
            let load = args.load.then_some(units);
            runtime.block_on(run_grpc(&server_url(url), load, queries, &settings, args.concurrency))?
        }
        None => bench_in_process(args.db.as_deref(), units, &queries, &settings)?,
    };
    print_report(&report, args.concordance)?;
    Ok(ExitCode::SUCCESS)
}

/// `--grpc URL --import-file FILE`: an import over gRPC while clients look
/// up.
fn bench_import(
    url: &str,
    file: &Path,
    queries: Vec<String>,
    settings: &Settings,
    concurrency: usize,
) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new()?;
    let report = runtime.block_on(dhakira::bench::run_import_while_serving(
        &server_url(url),
        file,
        queries,
        settings,
        concurrency,
    ))?;
    println!(
        "import over gRPC: {} units read, {} added in {:.1} s: {:.0} units/s; meanwhile {} lookups (concurrency {}): p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        report.units_read, report.added, report.import_s, report.units_per_s, report.lookups, report.concurrency,
        report.lookup_p50_ms, report.lookup_p99_ms, report.lookup_max_ms
    );
    json_line(&report)?;
    Ok(ExitCode::SUCCESS)
}

/// `--background-adds`, `--background-scans`: see
/// [`dhakira::bench::run_contention`].
fn bench_contention(
    db: Option<&Path>,
    units: Vec<UnitInput>,
    queries: &[String],
    settings: &Settings,
    background: dhakira::bench::Background,
    pool: &[UnitInput],
) -> anyhow::Result<ExitCode> {
    let tm = build_memory(db, units)?;
    settle(&tm);
    let report = dhakira::bench::run_contention(&tm, queries, settings, background, pool)?;
    let pass =
        |p: &dhakira::bench::Pass| format!("p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms", p.p50_ms, p.p99_ms, p.max_ms);
    println!(
        "{} lookups ({}, {} units, min_score {}, max_results {}, one thread in-process)\n  quiet: {}\n  while adding {}/s and {} full scans: {}\n  p99 ratio {:.2}; {} units added (slowest add {:.1} ms), {} full scans done",
        report.queries, settings.lang.code(), report.units, settings.min_score, settings.max_results,
        pass(&report.quiet), report.adds_per_s, report.scans, pass(&report.busy),
        report.p99_ratio, report.added, report.add_max_ms, report.scans_done
    );
    json_line(&report)?;
    Ok(ExitCode::SUCCESS)
}

/// The memory (in RAM, or in a database at `db`) with `units`, built with
/// a progress bar. The units are handed over batch by batch, so that the
/// benchmark does not keep a second copy of the memory beside it.
fn build_memory(db: Option<&Path>, units: Vec<UnitInput>) -> anyhow::Result<TranslationMemory> {
    let tm = match db {
        Some(path) => TranslationMemory::open(path)?,
        None => TranslationMemory::in_memory(),
    };
    let started = std::time::Instant::now();
    let bar = ProgressBar::new(units.len() as u64)
        .with_style(ProgressStyle::with_template("building memory [{bar:30}] {pos}/{len} {per_sec} ETA {eta}")?);
    // Split from the end (each split copies one batch), then added in order.
    let mut batches = Vec::new();
    let mut rest = units;
    while !rest.is_empty() {
        let at = rest.len().saturating_sub(10_000);
        batches.push(rest.split_off(at));
    }
    drop(rest);
    for batch in batches.into_iter().rev() {
        let len = batch.len() as u64;
        tm.add_units(batch)?;
        bar.inc(len);
    }
    bar.finish_and_clear();
    tracing::info!(seconds = started.elapsed().as_secs_f64(), "memory built");
    Ok(tm)
}

/// Builds the memory, then times the queries on one thread.
fn bench_in_process(
    db: Option<&Path>,
    units: Vec<UnitInput>,
    queries: &[Query],
    settings: &Settings,
) -> anyhow::Result<Report> {
    let started = std::time::Instant::now();
    let tm = build_memory(db, units)?;
    let build = started.elapsed();
    settle(&tm);
    Ok(run_in_process(&tm, queries, settings, build)?)
}

/// Brings the memory to rest before lookups are timed: the word alignment
/// model, which a memory trains on another thread soon after it starts
/// (and again after growing by a quarter), is trained now, so that the
/// timed lookups do not share the machine with a training, as on a server
/// serving a memory it has settled.
fn settle(tm: &TranslationMemory) {
    let started = std::time::Instant::now();
    let status = tm.ensure_alignment();
    eprintln!(
        "word alignment model trained on {} units before timing ({:.1} s)",
        status.trained_units,
        started.elapsed().as_secs_f64()
    );
    // The small segments a build leaves, merged as a server's writer merges
    // them once the writes pause (it may have done so meanwhile).
    let (before, started) = (tm.stats().segments, std::time::Instant::now());
    while tm.settle_index() {}
    eprintln!(
        "index in {} segments before timing ({before} before merging the last ones, {:.1} s)",
        tm.stats().segments,
        started.elapsed().as_secs_f64()
    );
}

fn print_report(report: &Report, concordance: bool) -> anyhow::Result<()> {
    println!(
        "{} {} ({}, {} units, min_score {}, max_results {}, {}): p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms, {:.0}/s, {:.0} % with a match",
        report.queries,
        if concordance { "concordance searches" } else { "lookups" },
        report.lang,
        report.units,
        report.min_score,
        report.max_results,
        if report.mode == "grpc" { format!("gRPC, concurrency {}", report.concurrency) } else { "one thread in-process".into() },
        report.p50_ms,
        report.p90_ms,
        report.p99_ms,
        report.max_ms,
        report.qps,
        report.hit_rate * 100.0,
    );
    if let Some(recall) = report.recall {
        println!(
            "recall: {:.4} ({} sampled queries, index vs the reference implementation)",
            recall, report.recall_sample
        );
    }
    if report.categories.len() > 1 {
        println!("  category   queries      p50      p90      p99      max  match  recall (sample)");
        for c in &report.categories {
            let recall = c.recall.map_or(String::new(), |r| format!("{r:.4} ({})", c.recall_sample));
            println!(
                "  {:<9} {:>8} {:>8.3} {:>8.3} {:>8.3} {:>8.3} {:>5.0} %  {recall}",
                c.category.name(),
                c.queries,
                c.p50_ms,
                c.p90_ms,
                c.p99_ms,
                c.max_ms,
                c.hit_rate * 100.0
            );
        }
    }
    for slow in &report.slowest {
        println!("  slow: {:>8.3} ms  {:<9}  {}", slow.ms, slow.category.name(), slow.text);
    }
    println!(
        "memory built in {:.1} s, RSS {:.0} MiB (peak {:.0} MiB)",
        report.build_s, report.rss_mb, report.peak_rss_mb
    );
    json_line(report)
}
