//! `dhakira lookup`: the best matches for a sentence, from a database or a
//! server, each with its penalties, edits and warnings.

use std::io::Write;
use std::process::ExitCode;

use clap::Args;
use dhakira::proto;
use dhakira::LookupRequest;

use super::db::ExistingDb;
use super::remote;

#[derive(Debug, Args)]
pub struct LookupArgs {
    /// The sentence to look up.
    text: String,
    /// Its language: ar or en (ar-EG, en_US… accepted).
    #[arg(long)]
    lang: String,
    #[command(flatten)]
    db: ExistingDb,
    /// Lowest score shown (0–101).
    #[arg(long)]
    min_score: Option<u32>,
    /// Most matches shown.
    #[arg(long)]
    max_results: Option<u32>,
    /// Search only these memories (repeatable).
    #[arg(long = "memory")]
    memories: Vec<String>,
    /// Compare with every stored unit through the reference implementation
    /// (dhakira::reference) instead of using the index: an independent
    /// answer, much slower.
    #[arg(long)]
    exhaustive: bool,
    /// Also show sub-segment matches: stored units whose whole source is a
    /// run of the sentence's words (shown anyway when nothing matches).
    #[arg(long)]
    subsegments: bool,
    /// Also show fragments inside units: runs of the sentence's words found
    /// inside longer stored units, with the part of their target the word
    /// alignment links them to.
    #[arg(long)]
    aligned: bool,
    /// Ask a running server (127.0.0.1:50051, or a URL) instead of
    /// opening the database, which the server holds locked.
    #[arg(long)]
    server: Option<String>,
}

pub fn run(args: LookupArgs) -> anyhow::Result<ExitCode> {
    let LookupArgs { text, lang, db, min_score, max_results, memories, exhaustive, subsegments, aligned, server } =
        args;
    // Checked here too, so that the message names the flag.
    dhakira::Lang::parse(&lang, "--lang")?;
    let request = LookupRequest {
        text,
        source_lang: lang,
        min_score,
        max_results,
        memories,
        exhaustive,
        subsegments,
        aligned_fragments: aligned,
        ..Default::default()
    };
    let response = match server {
        Some(addr) => {
            let request = proto::LookupRequest::from(request);
            remote::unary(&addr, request, |mut client, request| async move { client.lookup(request).await })?
        }
        None => {
            let tm = db.open()?;
            if aligned {
                tm.ensure_alignment();
            }
            let found = tm.lookup_with_fragments(request)?;
            proto::LookupResponse {
                matches: found.matches.into_iter().map(Into::into).collect(),
                fragments: found.fragments.into_iter().map(Into::into).collect(),
            }
        }
    };
    print_matches(&response.matches)?;
    print_fragments(&response.fragments)?;
    Ok(ExitCode::SUCCESS)
}

/// Fragments: the query words covered (and their characters), `*`
/// marking the cover; for a fragment inside a unit, the unit's words it is,
/// its translation (the linked target words) and its confidence.
fn print_fragments(fragments: &[proto::Fragment]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    if !fragments.is_empty() {
        writeln!(out, "fragments (* in the cover):")?;
    }
    let part = |text: &str, range: Option<proto::CharRange>| -> String {
        range.map_or_else(String::new, |r| {
            text.chars().skip(r.start as usize).take((r.end - r.start) as usize).collect()
        })
    };
    for f in fragments {
        let chars = f.query.map_or(String::new(), |r| format!(" c{}..{}", r.start, r.end));
        let cover = if f.in_cover { '*' } else { ' ' };
        let (first, last) = (f.query_word_start, f.query_word_end);
        if f.kind() == proto::FragmentKind::Aligned {
            writeln!(
                out,
                "  {cover} words {first}..{last}{chars}  inside #{} [{}] words {}..{}, confidence {}",
                f.unit_id, f.memory, f.source_word_start, f.source_word_end, f.confidence
            )?;
            writeln!(out, "       {} → {}", part(&f.source, f.source_range), part(&f.target, f.target_range))?;
        } else {
            writeln!(out, "  {cover} words {first}..{last}{chars}  #{} [{}]  {}", f.unit_id, f.memory, f.source)?;
            writeln!(out, "       → {}", f.target)?;
        }
    }
    Ok(())
}

fn print_matches(matches: &[proto::Match]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    if matches.is_empty() {
        writeln!(out, "no match")?;
    }
    for m in matches {
        writeln!(out, "{:>3}  #{} [{}]  {}", m.score, m.unit_id, m.memory, m.source)?;
        writeln!(out, "     → {}", m.target)?;
        if let Some(repaired) = &m.repaired_target {
            writeln!(out, "     ⇒ {repaired}   (repaired)")?;
        }
        for p in &m.penalties {
            writeln!(out, "     −{} {}: {}", p.points, p.kind, p.reason)?;
        }
        if let Some(e) = &m.explanation {
            let edits: Vec<String> = e
                .edits
                .iter()
                .filter(|edit| !matches!(edit.kind(), proto::EditKind::Equal))
                .map(|edit| {
                    let kind = edit.kind().as_str_name().trim_start_matches("EDIT_KIND_").to_lowercase();
                    let range =
                        |r: &Option<proto::CharRange>| r.map_or("-".to_owned(), |r| format!("{}..{}", r.start, r.end));
                    format!("{kind} q{} s{}", range(&edit.query), range(&edit.source))
                })
                .collect();
            if !edits.is_empty() {
                writeln!(
                    out,
                    "     words: {} (edit cost {}, word score {})",
                    edits.join(", "),
                    e.edit_cost,
                    e.word_score
                )?;
            }
            for w in &e.warnings {
                writeln!(out, "     ! {}: {}", w.kind, w.message)?;
            }
        }
    }
    Ok(())
}
