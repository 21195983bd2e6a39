//! `dhakira fragment-recall`: precision and coverage of fragments inside
//! units on unseen news sentences, and the alignment model's training time
//! and memory (see `dhakira::bench::recall`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use dhakira::bench::corpus_dir;
use dhakira::bench::recall::{run as run_recall, RecallSettings};
use dhakira::Lang;

#[derive(Debug, Args)]
pub struct RecallArgs {
    /// The corpus directory (default: $DHAKIRA_CORPUS, else the
    /// repository's data/corpus). Its news files are split by document:
    /// the memory holds four documents in five, the queries come from the
    /// fifth.
    #[arg(long)]
    corpus: Option<PathBuf>,
    /// Grow the memory to this many units (edits of its pairs, as `dhakira
    /// bench` does) to time training at scale.
    #[arg(long)]
    units: Option<usize>,
    /// At most this many held-out sentences per language.
    #[arg(long)]
    queries: Option<usize>,
    /// Confidence thresholds, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [0u8, 40, 50, 60, 70, 80])]
    thresholds: Vec<u8>,
    /// Query language: ar, en, or both.
    #[arg(long, default_value = "both")]
    lang: String,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Which block of every five news documents is held out (0–4): 4 is the
    /// split the model's settings were chosen on, the others check them.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(0..=4))]
    fold: u8,
}

pub fn run(args: RecallArgs) -> anyhow::Result<ExitCode> {
    let langs = match args.lang.as_str() {
        "both" => vec![Lang::English, Lang::Arabic],
        other => vec![Lang::parse(other, "--lang")?],
    };
    if let Some(&bad) = args.thresholds.iter().find(|&&t| t > 100) {
        anyhow::bail!("--thresholds: {bad} is above 100");
    }
    let settings = RecallSettings {
        units: args.units,
        queries: args.queries,
        thresholds: args.thresholds,
        langs,
        seed: args.seed,
        fold: args.fold.into(),
    };
    let corpus = args.corpus.unwrap_or_else(corpus_dir);
    let report = run_recall(&corpus, &settings, &|step| eprintln!("{step}…"))?;
    println!(
        "memory {} units; model trained on {} units in {:.1} s ({} entries), every unit aligned in {:.1} s; peak RSS {:.0} MiB before training, {:.0} MiB after",
        report.memory_units,
        report.trained_units,
        report.training_s,
        report.model_entries,
        report.aligning_s,
        report.peak_rss_before_training_mb,
        report.peak_rss_after_training_mb
    );
    println!("queries: {} unseen sentences per language, words {:?}", report.queries_per_lang, report.query_words);
    println!("lang\tmin_conf\tfragments\tprecision(key)\tprecision(surface)\tcoverage\tcoverage+subsegments\tprecision+subsegments\tp50 ms\tp99 ms");
    for row in &report.rows {
        println!(
            "{}\t{}\t{}\t{:.3}\t{:.3}\t{:.3}\t{:.3}\t{:.3}\t{:.2}\t{:.2}",
            row.lang,
            row.min_confidence,
            row.fragments,
            row.precision_by_key,
            row.precision_by_surface,
            row.coverage,
            row.coverage_with_subsegments,
            row.precision_with_subsegments,
            row.lookup_p50_ms,
            row.lookup_p99_ms
        );
    }
    println!("{}", serde_json::to_string(&report)?);
    Ok(ExitCode::SUCCESS)
}
