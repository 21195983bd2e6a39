//! `dhakira analyze` and `dhakira pretranslate`: a document's coverage by
//! match band, or each of its sentences with its best match.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use dhakira::proto;

use dhakira::analysis::{FILL_FRAGMENTS, FILL_MATCH};
use dhakira::fragments::assemble_spans;

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
    /// Also cover segments without a match with fragments inside units
    /// (translated through the memory's word alignment).
    #[arg(long)]
    aligned: bool,
}

#[derive(Debug, Args)]
pub struct PretranslateArgs {
    #[command(flatten)]
    document: DocumentArgs,
    /// Lowest score whose translation is filled in.
    #[arg(long, default_value_t = 75)]
    min_score: u32,
}

#[derive(Debug, Args)]
pub struct SimilarArgs {
    #[command(flatten)]
    document: DocumentArgs,
    /// Most documents listed (1–100).
    #[arg(long, default_value_t = 10)]
    max_documents: u32,
}

pub fn similar(args: &SimilarArgs) -> anyhow::Result<ExitCode> {
    let analysis = analyze_with(&args.document, Some(args.max_documents))?;
    print_similar(&analysis, args.document.tsv)?;
    Ok(ExitCode::SUCCESS)
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
    analyze_with(args, None)
}

/// [`analyze`], with the similar documents when `max_documents` is given.
fn analyze_with(args: &DocumentArgs, max_documents: Option<u32>) -> anyhow::Result<proto::AnalyzeResponse> {
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
        similar_documents: max_documents.is_some(),
        max_documents,
        aligned_fragments: args.aligned,
        ..Default::default()
    };
    match &args.server {
        Some(addr) => remote::unary(addr, request, |mut client, request| async move { client.analyze(request).await }),
        None => {
            let tm = args.db.open()?;
            if args.aligned {
                tm.ensure_alignment();
            }
            Ok(tm.analyze(dhakira::analysis::AnalyzeRequest::from(request))?.into())
        }
    }
}

/// The similar documents, best first: covered words (and their share of
/// the document's words), segments per band, fragment segments and words,
/// the segments matched (1-based).
fn print_similar(analysis: &proto::AnalyzeResponse, tsv: bool) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    let percent = |words: u32| percent_of(words, analysis.total_words);
    let bands: Vec<&str> = dhakira::analysis::DOCUMENT_BANDS.to_vec();
    if tsv {
        writeln!(
            out,
            "source_document\tcovered_words\tpercent_words\t{}\tfragment_segments\tfragment_words\tsegments",
            bands.join("\t")
        )?;
    } else if analysis.similar_documents.is_empty() {
        writeln!(out, "no stored document covers any of the {} segments", analysis.total_segments)?;
    } else {
        writeln!(
            out,
            "{} segments, {} words; per document: covered words, segments per band ({}), fragments (segments/words)",
            analysis.total_segments,
            analysis.total_words,
            bands.join(" ")
        )?;
    }
    for d in &analysis.similar_documents {
        let counts: Vec<String> = d.bands.iter().map(|b| b.segments.to_string()).collect();
        let segments: Vec<String> = d.segments.iter().map(|i| (i + 1).to_string()).collect();
        if tsv {
            writeln!(
                out,
                "{}\t{}\t{:.1}\t{}\t{}\t{}\t{}",
                d.source_document,
                d.covered_words,
                percent(d.covered_words),
                counts.join("\t"),
                d.fragment_segments,
                d.fragment_words,
                segments.join(",")
            )?;
        } else {
            writeln!(
                out,
                "{:>6} words {:>5.1}%  [{}]  fragments {}/{}  {}",
                d.covered_words,
                percent(d.covered_words),
                counts.join(" "),
                d.fragment_segments,
                d.fragment_words,
                d.source_document
            )?;
            writeln!(out, "       segments {}", segments.join(","))?;
        }
    }
    Ok(())
}

/// `words` as a percentage of `total` (0 when there are none).
fn percent_of(words: u32, total: u32) -> f64 {
    if total == 0 {
        0.0
    } else {
        100.0 * f64::from(words) / f64::from(total)
    }
}

fn print_analysis(analysis: &proto::AnalyzeResponse, tsv: bool) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    let percent = |words: u32| percent_of(words, analysis.total_words);
    if tsv {
        writeln!(out, "band\tsegments\twords\tpercent_words")?;
        for b in &analysis.bands {
            writeln!(out, "{}\t{}\t{}\t{:.1}", b.name, b.segments, b.words, percent(b.words))?;
        }
        writeln!(out, "total\t{}\t{}\t100.0", analysis.total_segments, analysis.total_words)?;
        writeln!(
            out,
            "no_match_fragment_words\t\t{}\t{:.1}",
            analysis.fragment_words,
            percent(analysis.fragment_words)
        )?;
        return Ok(());
    }
    writeln!(out, "{:<12} {:>9} {:>9} {:>8}", "band", "segments", "words", "% words")?;
    for b in &analysis.bands {
        writeln!(out, "{:<12} {:>9} {:>9} {:>7.1}%", b.name, b.segments, b.words, percent(b.words))?;
    }
    writeln!(out, "{:<12} {:>9} {:>9} {:>7.1}%", "total", analysis.total_segments, analysis.total_words, 100.0)?;
    writeln!(
        out,
        "words of no_match segments covered by sub-segment matches: {} ({:.1}% of the words)",
        analysis.fragment_words,
        percent(analysis.fragment_words)
    )
}

/// The pretranslation TSV, as `Analysis::pretranslation_tsv` writes it:
/// a segment without a match at `min_score` gets its fragment assembly
/// (`fill` "fragments").
fn print_pretranslation(analysis: &proto::AnalyzeResponse, min_score: u32) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    let clean = |s: &str| s.replace(['\t', '\n', '\r'], " ");
    writeln!(out, "segment\tband\tscore\tunit_id\ttranslation\tfill")?;
    for segment in &analysis.segments {
        let (score, id, translation) = match &segment.best {
            Some(m) if m.score >= min_score => (
                m.score.to_string(),
                m.unit_id.to_string(),
                Some(m.repaired_target.clone().unwrap_or_else(|| m.target.clone())),
            ),
            Some(m) => (m.score.to_string(), m.unit_id.to_string(), None),
            None => (String::new(), String::new(), None),
        };
        let (translation, fill) = match translation {
            Some(t) => (t, FILL_MATCH),
            None => {
                let mut cover: Vec<(std::ops::Range<usize>, String)> = segment
                    .fragments
                    .iter()
                    .filter(|f| f.in_cover)
                    .filter_map(|f| {
                        let q = f.query?;
                        let t = f.target_range?;
                        let translation: String =
                            f.target.chars().skip(t.start as usize).take((t.end - t.start) as usize).collect();
                        Some((q.start as usize..q.end as usize, translation))
                    })
                    .collect();
                match assemble_spans(&segment.text, &mut cover) {
                    Some(draft) => (draft, FILL_FRAGMENTS),
                    None => (String::new(), ""),
                }
            }
        };
        writeln!(out, "{}\t{}\t{score}\t{id}\t{}\t{fill}", clean(&segment.text), segment.band, clean(&translation))?;
    }
    Ok(())
}
