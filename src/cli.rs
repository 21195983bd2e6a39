//! Subcommands. Each is a thin call into the library.

use std::fs::File;
use std::io::{BufReader, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use dhakira::proto;
use dhakira::tsv::ImportSummary;
use dhakira::{LookupRequest, TranslationMemory, UnitInput};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Debug, Parser)]
#[command(name = "dhakira", version, about = "Arabic–English translation memory server")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the translation memory over gRPC.
    Serve {
        /// Address to listen on (port 0 picks a free port).
        #[arg(long, env = "DHAKIRA_ADDR", default_value = "127.0.0.1:50051")]
        addr: SocketAddr,
        #[command(flatten)]
        db: Db,
        /// Do not load the bundled sample into an empty database.
        #[arg(long)]
        no_sample: bool,
        /// On SIGINT/SIGTERM, how long requests in flight may take to finish.
        #[arg(long, env = "DHAKIRA_DRAIN_SECONDS", default_value_t = 10)]
        drain_seconds: u64,
    },
    /// Import TSV files (arabic<TAB>english per line) into a database.
    Import {
        /// The files to import.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        db: Db,
        /// The memory to import into.
        #[arg(long, default_value = dhakira::DEFAULT_MEMORY)]
        memory: String,
        /// Domain recorded on every imported unit.
        #[arg(long, default_value = "")]
        domain: String,
    },
    /// Find the stored units most similar to a sentence.
    Lookup {
        /// The sentence to look up.
        text: String,
        /// Its language: ar or en (ar-EG, en_US… accepted).
        #[arg(long)]
        lang: String,
        #[command(flatten)]
        db: Db,
        /// Lowest score shown (0–101).
        #[arg(long)]
        min_score: Option<u32>,
        /// Most matches shown.
        #[arg(long)]
        max_results: Option<u32>,
        /// Search only these memories (repeatable).
        #[arg(long = "memory")]
        memories: Vec<String>,
        /// Compare with every unit instead of using the index (same answer).
        #[arg(long)]
        exhaustive: bool,
        /// Ask a running server (127.0.0.1:50051, or a URL) instead of
        /// opening the database, which the server holds locked.
        #[arg(long)]
        server: Option<String>,
    },
    /// Measure lookups: build a memory of N units from the corpus, run Q
    /// seeded queries, print a summary and, last, one JSON line.
    Bench(BenchArgs),
    /// Count units per memory.
    Stats {
        #[command(flatten)]
        db: Db,
    },
}

#[derive(Debug, Args)]
struct BenchArgs {
    /// Directory of arabic<TAB>english .tsv files.
    #[arg(long, default_value = "../shared/data/corpus")]
    corpus: PathBuf,
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
    /// with identical answers.
    #[arg(long)]
    check_recall: bool,
    /// Queries in the recall sample.
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
}

#[derive(Debug, Args)]
struct Db {
    /// The database directory (sled); created when missing.
    #[arg(long = "db", env = "DHAKIRA_DB", default_value = "dhakira-data")]
    path: PathBuf,
}

impl Db {
    /// Opens the database, creating it when missing.
    fn open(&self) -> anyhow::Result<TranslationMemory> {
        Ok(TranslationMemory::open(&self.path)?)
    }

    /// Opens a database that must already exist: a mistyped path must not
    /// quietly become an empty memory with no matches.
    fn open_existing(&self) -> anyhow::Result<TranslationMemory> {
        anyhow::ensure!(
            self.path.exists(),
            "there is no database at {} (`dhakira serve` or `dhakira import` creates one; --db chooses it)",
            self.path.display()
        );
        self.open()
    }
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve { addr, db, no_sample, drain_seconds } => {
            serve(addr, &db, no_sample, Duration::from_secs(drain_seconds))
        }
        Command::Import { files, db, memory, domain } => import(&files, &db, memory, domain),
        Command::Lookup { text, lang, db, min_score, max_results, memories, exhaustive, server } => {
            // Checked here too, so that the message names the flag.
            dhakira::Lang::parse(&lang, "--lang")?;
            let request = LookupRequest { text, source_lang: lang, min_score, max_results, memories, exhaustive };
            let matches = match server {
                Some(addr) => remote_lookup(&server_url(&addr), request)?,
                None => db.open_existing()?.lookup(request)?.into_iter().map(Into::into).collect(),
            };
            print_matches(&matches)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(args) => bench(args),
        Command::Stats { db } => {
            let stats = db.open_existing()?.stats();
            for (memory, units) in &stats.memories {
                println!("{memory}\t{units}");
            }
            println!("total\t{}", stats.total_units);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn serve(addr: SocketAddr, db: &Db, no_sample: bool, drain: Duration) -> anyhow::Result<ExitCode> {
    init_logging();
    let tm = db.open()?;
    if !no_sample {
        if let Some(summary) = dhakira::sample::load_if_empty(&tm)? {
            tracing::info!(units = summary.added, "empty database: loaded the bundled sample");
        }
    }
    let stats = tm.stats();
    tracing::info!(db = %db.path.display(), units = stats.total_units, "database open");
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
        let local = listener.local_addr()?;
        // Scripts and tests read this line to find the port.
        println!("dhakira listening on {local}");
        std::io::stdout().flush()?;
        dhakira::server::serve(tm, listener, shutdown_signal(), drain).await?;
        anyhow::Ok(())
    })?;
    // Engine work still running on the blocking pool (a long exhaustive
    // lookup) gets the same bound; nothing it holds has been acknowledged.
    runtime.shutdown_timeout(drain);
    tracing::info!("stopped: every acknowledged write is on disk");
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing the SIGTERM handler");
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    tracing::info!("shutting down: finishing requests in flight");
}

fn import(files: &[PathBuf], db: &Db, memory: String, domain: String) -> anyhow::Result<ExitCode> {
    let tm = db.open()?;
    let mut total = ImportSummary::default();
    for path in files {
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let bar = ProgressBar::new(file.metadata()?.len()).with_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}")?
                .progress_chars("=> "),
        );
        bar.set_message(path.display().to_string());
        let template = UnitInput {
            memory: memory.clone(),
            domain: domain.clone(),
            source_document: path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            ..Default::default()
        };
        let summary = dhakira::tsv::import(&tm, BufReader::new(bar.wrap_read(file)), &template)
            .with_context(|| format!("importing {}", path.display()))?;
        bar.finish_and_clear();
        println!(
            "{}: {} added, {} duplicates skipped, {} rejected",
            path.display(),
            summary.added,
            summary.duplicates,
            summary.rejected.len()
        );
        for rejected in summary.rejected.iter().take(20) {
            println!("  line {}: {}", rejected.line, rejected.reason);
        }
        if summary.rejected.len() > 20 {
            println!("  … and {} more", summary.rejected.len() - 20);
        }
        total.absorb(summary);
    }
    if files.len() > 1 {
        println!(
            "total: {} added, {} duplicates skipped, {} rejected",
            total.added,
            total.duplicates,
            total.rejected.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `host:port` or a URL; plain addresses mean plaintext HTTP/2.
fn server_url(addr: &str) -> String {
    if addr.contains("://") {
        addr.to_owned()
    } else {
        format!("http://{addr}")
    }
}

fn remote_lookup(url: &str, request: LookupRequest) -> anyhow::Result<Vec<proto::Match>> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let mut client = dhakira::server::connect(url).await.with_context(|| format!("cannot connect to {url}"))?;
        let request = proto::LookupRequest::from(request);
        let response = client.lookup(request).await.map_err(|status| anyhow::anyhow!("{}", status.message()))?;
        Ok(response.into_inner().matches)
    })
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

fn bench(args: BenchArgs) -> anyhow::Result<ExitCode> {
    use dhakira::bench::{read_corpus, run_grpc, run_in_process, Settings, Workload};
    let lang = dhakira::Lang::parse(&args.lang, "--lang")?;
    let pairs = read_corpus(&args.corpus)?;
    let mut workload = Workload::new(pairs, args.seed);
    let units = workload.units(args.units);
    let queries = workload.queries(&units, args.queries, lang);
    let settings = Settings {
        lang,
        min_score: args.min_score,
        max_results: args.max_results,
        recall_sample: if args.check_recall { args.recall_sample } else { 0 },
    };
    let report = match &args.grpc {
        Some(url) => {
            let runtime = tokio::runtime::Runtime::new()?;
            let load = args.load.then_some(units);
            runtime.block_on(run_grpc(&server_url(url), load, queries, &settings, args.concurrency))?
        }
        None => {
            let tm = match &args.db {
                Some(path) => TranslationMemory::open(path)?,
                None => TranslationMemory::in_memory(),
            };
            let started = std::time::Instant::now();
            let bar = ProgressBar::new(units.len() as u64).with_style(ProgressStyle::with_template(
                "building memory [{bar:30}] {pos}/{len} {per_sec} ETA {eta}",
            )?);
            for chunk in units.chunks(10_000) {
                tm.add_units(chunk.to_vec())?;
                bar.inc(chunk.len() as u64);
            }
            bar.finish_and_clear();
            run_in_process(&tm, &queries, &settings, started.elapsed())?
        }
    };
    println!(
        "{} lookups ({}, {} units, min_score {}, max_results {}, {}): p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms, {:.0} lookups/s, {:.0} % with a match",
        report.queries,
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
        println!("recall: {:.4} ({} sampled queries, index vs exhaustive scan)", recall, report.recall_sample);
    }
    println!("memory built in {:.1} s, RSS {:.0} MiB", report.build_s, report.rss_mb);
    println!("{}", serde_json::to_string(&report)?);
    Ok(ExitCode::SUCCESS)
}

fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
}
