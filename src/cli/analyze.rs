//! `dhakira analyze` and `dhakira pretranslate`: a document's coverage by
//! match band, or each of its sentences with its best match.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use dhakira::proto;

use super::db::ExistingDb;
use super::remote;

#[derive(Debug, Args)]
pub struct DocumentArgs {
    /// The document: UTF-8 plain text, one paragraph per line.
    file: PathBuf,
    /// Its language: ar or en. Default: guessed from its letters.
    #[arg(long)]
    lang: Option<String>,
    #[command(flatten)]
    db: ExistingDb,
    /// Search only these memories (repeatable).
    #[arg(long = "memory")]
    memories: Vec<String>,
    /// Ask a running server (127.0.0.1:50051, or a URL) instead of opening
    /// the database, which the server holds locked.
    #[arg(long)]
    server: Option<String>,
    /// Print TSV (band, segments, words) instead of a table.
    #[arg(long)]
    tsv: bool,
}

#[derive(Debug, Args)]
pub struct PretranslateArgs {
    #[command(flatten)]
    document: DocumentArgs,
    /// Lowest score whose translation is filled in.
    #[arg(long, default_value_t = 75)]
    min_score: u32,
}

pub fn run(args: &DocumentArgs) -> anyhow::Result<ExitCode> {
    let analysis = analyze(args)?;
    print_analysis(&analysis, args.tsv)?;
    Ok(ExitCode::SUCCESS)
}

pub fn pretranslate(args: &PretranslateArgs) -> anyhow::Result<ExitCode> {
    let analysis = analyze(&args.document)?;
    print_pretranslation(&analysis, args.min_score)?;
    Ok(ExitCode::SUCCESS)
}

/// Analyzes a document file, in the database or on a server; every
/// segment's best match included.
fn analyze(args: &DocumentArgs) -> anyhow::Result<proto::AnalyzeResponse> {
    let text = std::fs::read_to_string(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    let lang = match &args.lang {
        Some(code) => dhakira::Lang::parse(code, "--lang")?,
        None => dhakira::Lang::guess(&text).with_context(|| {
            format!("{}: cannot tell its language (no Arabic or Latin letters); give --lang", args.file.display())
        })?,
    };
    let request = proto::AnalyzeRequest {
        text,
        source_lang: lang.code().to_owned(),
        memories: args.memories.clone(),
        include_segments: true,
        ..Default::default()
    };
    match &args.server {
        Some(addr) => remote::unary(addr, request, |mut client, request| async move { client.analyze(request).await }),
        None => {
            let tm = args.db.open()?;
            Ok(tm.analyze(dhakira::analysis::AnalyzeRequest::from(request))?.into())
        }
    }
}

fn print_analysis(analysis: &proto::AnalyzeResponse, tsv: bool) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    let percent = |words: u32| {
        if analysis.total_words == 0 {
            0.0
        } else {
            100.0 * f64::from(words) / f64::from(analysis.total_words)
        }
    };
    if tsv {
        writeln!(out, "band\tsegments\twords\tpercent_words")?;
        for b in &analysis.bands {
            writeln!(out, "{}\t{}\t{}\t{:.1}", b.name, b.segments, b.words, percent(b.words))?;
        }
        writeln!(out, "total\t{}\t{}\t100.0", analysis.total_segments, analysis.total_words)?;
        return Ok(());
    }
    writeln!(out, "{:<12} {:>9} {:>9} {:>8}", "band", "segments", "words", "% words")?;
    for b in &analysis.bands {
        writeln!(out, "{:<12} {:>9} {:>9} {:>7.1}%", b.name, b.segments, b.words, percent(b.words))?;
    }
    writeln!(out, "{:<12} {:>9} {:>9} {:>7.1}%", "total", analysis.total_segments, analysis.total_words, 100.0)
}

fn print_pretranslation(analysis: &proto::AnalyzeResponse, min_score: u32) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    let clean = |s: &str| s.replace(['\t', '\n', '\r'], " ");
    writeln!(out, "segment\tband\tscore\tunit_id\ttranslation")?;
    for segment in &analysis.segments {
        let (score, id, translation) = match &segment.best {
            Some(m) if m.score >= min_score => (
                m.score.to_string(),
                m.unit_id.to_string(),
                m.repaired_target.clone().unwrap_or_else(|| m.target.clone()),
            ),
            Some(m) => (m.score.to_string(), m.unit_id.to_string(), String::new()),
            None => (String::new(), String::new(), String::new()),
        };
        writeln!(out, "{}\t{}\t{score}\t{id}\t{}", clean(&segment.text), segment.band, clean(&translation))?;
    }
    Ok(())
}
