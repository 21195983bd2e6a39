//! The command line: one module per subcommand, each a thin call into the
//! library. A new command is a variant of [`Command`] with its arguments'
//! struct in a module of its own, and one line in [`run`]. `bench` and
//! `soak` are the measuring tools (feature `tools`, on by default).

mod analyze;
#[cfg(feature = "tools")]
mod bench;
mod db;
mod export;
mod import;
mod lookup;
mod output;
#[cfg(feature = "tools")]
mod recall;
mod remote;
mod serve;
#[cfg(feature = "tools")]
mod soak;
mod stats;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "dhakira", version, about = "Arabic–English translation memory server")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the translation memory over gRPC.
    Serve(serve::ServeArgs),
    /// Import TMX, TSV (arabic<TAB>english per line) or CSV (with a header)
    /// files: into a database (--db), or into a running server (--server).
    Import(import::ImportArgs),
    /// Export memories as a TMX 1.4b file (from --db, or from a --server).
    Export(export::ExportArgs),
    /// Find the stored units most similar to a sentence.
    Lookup(lookup::LookupArgs),
    /// How much of a document the memory covers: segments and words per
    /// match band (101, 100, 95-99, 85-94, 75-84, 50-74, no match,
    /// repetitions). The document is plain text, one paragraph per line,
    /// split into sentences.
    Analyze(analyze::DocumentArgs),
    /// Each sentence of a document with its best match, as TSV: segment,
    /// band, score, unit id, translation (the repaired target when there is
    /// one; below --min-score, the sentence with its sub-segment matches
    /// replaced by their translations, or empty), fill (match, fragments or
    /// empty).
    Pretranslate(analyze::PretranslateArgs),
    /// The stored documents (units' source_document) that cover a document
    /// best: per document, the words covered, its segments per match band
    /// and through sub-segment matches, and which segments.
    Similar(analyze::SimilarArgs),
    /// Soak a real server: start one on a temporary database, run a mix of
    /// lookups, adds, deletions and imports for a while, and check that its
    /// memory and file descriptors stay flat and that nothing fails but
    /// deliberate load shedding (exit status 1 otherwise).
    #[cfg(feature = "tools")]
    Soak(soak::SoakArgs),
    /// Measure lookups: build a memory of N units from the corpus, run Q
    /// seeded queries, print a summary and, last, one JSON line.
    #[cfg(feature = "tools")]
    Bench(bench::BenchArgs),
    /// Measure fragments inside units: hold out a fifth of the corpus's
    /// news documents, look their sentences up with aligned fragments, and
    /// print the share of fragments whose words occur in the reference
    /// translation and the share of words covered, per confidence.
    #[cfg(feature = "tools")]
    FragmentRecall(recall::RecallArgs),
    /// Count units per memory (in --db, or in a running --server).
    Stats(stats::StatsArgs),
}

/// Runs the subcommand. `matches` say which values came from flags or the
/// environment, which `serve`'s configuration file must not override.
pub fn run(cli: Cli, matches: &clap::ArgMatches) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => serve::run(args, matches.subcommand_matches("serve").expect("the serve subcommand")),
        Command::Import(args) => import::run(args),
        Command::Export(args) => export::run(args),
        Command::Lookup(args) => lookup::run(args),
        Command::Analyze(args) => analyze::run(&args),
        Command::Pretranslate(args) => analyze::pretranslate(&args),
        Command::Similar(args) => analyze::similar(&args),
        #[cfg(feature = "tools")]
        Command::Soak(args) => soak::run(args),
        #[cfg(feature = "tools")]
        Command::Bench(args) => bench::run(args),
        #[cfg(feature = "tools")]
        Command::FragmentRecall(args) => recall::run(args),
        Command::Stats(args) => stats::run(args),
    }
}
