//! `dhakira import`: files into a database, or streamed to a server's
//! Import; a line per file, its rejections, and optionally the rejected
//! units written out for fixing.

use std::fs::File;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use dhakira::import::{Format, ImportOptions, ImportSummary};
use dhakira::proto;
use dhakira::TranslationMemory;
use indicatif::{ProgressBar, ProgressStyle};

use super::db::Db;
use super::output::{init_logging, LogFormat};
use super::remote::{authorized, connect, server_url};

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The files to import.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    #[command(flatten)]
    db: Db,
    /// Import into a running server (127.0.0.1:50051, or a URL) over gRPC
    /// instead of opening the database (which the server holds locked).
    #[arg(long)]
    server: Option<String>,
    /// The memory every unit goes to. Default: a TMX unit's
    /// x-dhakira-memory property (exports write it), else "default".
    #[arg(long)]
    memory: Option<String>,
    /// What to do with a unit whose source is stored with another
    /// translation. A pair stored already is never stored twice.
    #[arg(long, value_enum, default_value_t = Policy::Add)]
    policy: Policy,
    /// The source side for the policy when a TMX unit names none (srclang).
    #[arg(long, default_value = "en")]
    source_lang: String,
    /// tmx, tsv or csv. Default: from the file's extension, else guessed.
    #[arg(long)]
    format: Option<String>,
    /// Domain recorded on units that have none.
    #[arg(long, default_value = "")]
    domain: String,
    /// Write the rejected units here, for fixing and importing again: a TMX
    /// of the rejected <tu> elements (each after a comment with its line and
    /// reason), the rejected lines of a TSV, or the header and the rejected
    /// records of a CSV. One input file only.
    #[arg(long)]
    rejected: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Policy {
    /// Store the new translation alongside the stored ones.
    Add,
    /// The new translation replaces the stored ones.
    Overwrite,
    /// The newer translation (changedate, else creationdate) wins.
    KeepNewest,
}

impl From<Policy> for dhakira::DuplicatePolicy {
    fn from(p: Policy) -> dhakira::DuplicatePolicy {
        match p {
            Policy::Add => dhakira::DuplicatePolicy::Add,
            Policy::Overwrite => dhakira::DuplicatePolicy::Overwrite,
            Policy::KeepNewest => dhakira::DuplicatePolicy::KeepNewest,
        }
    }
}

pub fn run(args: ImportArgs) -> anyhow::Result<ExitCode> {
    init_logging("warn", LogFormat::Text);
    anyhow::ensure!(args.rejected.is_none() || args.files.len() == 1, "--rejected takes one input file at a time");
    let memory = args.memory.as_deref().map(|m| dhakira::unit::memory_name(m, "--memory")).transpose()?;
    let source_lang = dhakira::Lang::parse(&args.source_lang, "--source-lang")?;
    let forced = match &args.format {
        Some(name) => Some(Format::parse(name, "--format")?.context("--format: use tmx, tsv or csv")?),
        None => None,
    };
    // A database this import creates is removed again if nothing lands in it
    // (a directory; a PostgreSQL database is the operator's).
    let creates_db = args.server.is_none() && !args.db.is_postgres() && !args.db.path.exists();
    let tm = match args.server {
        Some(_) => None,
        None => Some(TranslationMemory::open_for_import_with(&args.db.path, args.db.options())?),
    };
    let mut total = ImportSummary::default();
    let mut failed = false;
    let started = std::time::Instant::now();
    for path in &args.files {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let format = forced.or_else(|| Format::from_file_name(&name));
        let options = ImportOptions {
            format,
            memory: memory.clone(),
            policy: args.policy.into(),
            source_lang,
            domain: args.domain.clone(),
            source_document: name,
        };
        let summary = import_file(path, &options, tm.as_ref(), args.server.as_deref())?;
        failed |= summary.stopped.is_some();
        if let Some(out) = &args.rejected {
            write_rejected(path, format, &summary, out)?;
        }
        total.absorb(summary);
    }
    if args.files.len() > 1 {
        println!("total: {} in {:.1} s", total.counts(), started.elapsed().as_secs_f64());
    }
    // Nothing stored and nothing already there: the files held nothing to
    // import (re-importing a file, all duplicates, is a success).
    if total.added + total.updated + total.duplicates + total.kept_newer == 0 {
        failed = true;
        if creates_db {
            drop(tm);
            std::fs::remove_dir_all(&args.db.path)
                .with_context(|| format!("removing the empty database {}", args.db.path.display()))?;
            println!("nothing was imported: no database was created at {}", args.db.path.display());
        }
    } else if tm.is_some() {
        println!("(the index is built when the database is opened: `dhakira serve --db {}`)", args.db.describe());
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// Imports one file into `tm`, or into the server at `server`, with a
/// progress bar; prints what happened to it.
fn import_file(
    path: &Path,
    options: &ImportOptions,
    tm: Option<&TranslationMemory>,
    server: Option<&str>,
) -> anyhow::Result<ImportSummary> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let size = file.metadata()?.len();
    let bar = ProgressBar::new(size).with_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {percent}% {msg} ETA {eta}")?.progress_chars("=> "),
    );
    bar.set_prefix(options.source_document.clone());
    let file_started = std::time::Instant::now();
    let mut progress = |summary: &ImportSummary, progress: dhakira::import::Progress| {
        bar.set_position(progress.bytes);
        let rate = summary.read as f64 / file_started.elapsed().as_secs_f64().max(1e-3);
        bar.set_message(format!("{} units, {:.0} units/s", summary.read, rate));
    };
    let summary = match (server, tm) {
        (Some(addr), _) => remote_import(&server_url(addr), file, options, &bar)?,
        (None, tm) => {
            let tm = tm.expect("opened when there is no --server");
            dhakira::import::import(tm, BufReader::new(file), options, &mut progress)
                .with_context(|| format!("importing {}", path.display()))?
        }
    };
    bar.finish_and_clear();
    print_summary(path, &summary, file_started.elapsed().as_secs_f64());
    Ok(summary)
}

/// A file's line: its counts, rate and encoding, then its first
/// rejections and warnings, and why it stopped if it did.
fn print_summary(path: &Path, summary: &ImportSummary, seconds: f64) {
    let rate = if seconds >= 0.5 { format!(" ({:.0} units/s)", summary.read as f64 / seconds) } else { String::new() };
    let encoding = if summary.encoding.is_empty() { String::new() } else { format!(", {}", summary.encoding) };
    println!("{}: {} in {seconds:.1} s{rate}{encoding}", path.display(), summary.counts());
    for rejection in summary.rejections.iter().take(20) {
        let tuid = if rejection.tuid.is_empty() { String::new() } else { format!(" (tuid {})", rejection.tuid) };
        println!("  rejected: line {}{tuid}: {}", rejection.line, rejection.reason);
    }
    if summary.rejected > 20 {
        println!("  … and {} more rejected", summary.rejected - 20);
    }
    for warning in summary.warnings.iter().take(10) {
        println!("  warning: line {}: {}", warning.line, warning.reason);
    }
    if summary.warnings.len() > 10 {
        println!("  … and {} more warnings", summary.warnings.len() - 10);
    }
    if let Some(stopped) = &summary.stopped {
        match summary.added + summary.updated {
            0 => println!("  stopped: {stopped}"),
            _ => println!("  stopped: {stopped}; what was read before it is stored"),
        }
    }
}

/// Writes the rejected units of `input` to `out`: a TMX of their `<tu>`
/// elements, or the rejected lines of a TSV.
fn write_rejected(input: &Path, format: Option<Format>, summary: &ImportSummary, out: &Path) -> anyhow::Result<()> {
    let format = match format {
        Some(format) => format,
        None => {
            let mut prefix = Vec::new();
            std::io::Read::read_to_end(&mut std::io::Read::take(File::open(input)?, 64 << 10), &mut prefix)?;
            Format::sniff(&prefix)
        }
    };
    let create = || File::create(out).with_context(|| format!("cannot create {}", out.display()));
    let lines: std::collections::HashSet<u64> = summary.rejections.iter().map(|r| r.line).collect();
    match format {
        Format::Tmx => {
            let spans: Vec<_> = summary
                .rejections
                .iter()
                .filter_map(|r| r.span.map(|(start, end)| (start, end, r.reason.clone())))
                .collect();
            dhakira::tmx::copy_units(File::open(input)?, &spans, create()?)?;
        }
        Format::Tsv => {
            let mut writer = std::io::BufWriter::new(create()?);
            let reader = BufReader::new(File::open(input)?);
            for (i, line) in std::io::BufRead::split(reader, b'\n').enumerate() {
                let line = line?;
                if lines.contains(&(i as u64 + 1)) {
                    writer.write_all(&line)?;
                    writer.write_all(b"\n")?;
                }
            }
            writer.flush()?;
        }
        Format::Csv => {
            // The header, then each rejected record (quoted again if needed).
            let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_path(input)?;
            let mut writer = csv::WriterBuilder::new().flexible(true).from_writer(create()?);
            let mut record = csv::ByteRecord::new();
            let mut first = true;
            while reader.read_byte_record(&mut record).unwrap_or(false) {
                let line = record.position().map_or(0, |p| p.line());
                if std::mem::take(&mut first) || lines.contains(&line) {
                    writer.write_byte_record(&record)?;
                }
            }
            writer.flush()?;
        }
    }
    println!("  {} rejected units written to {}", summary.rejections.len(), out.display());
    Ok(())
}

/// Streams `file` to the server's Import RPC.
fn remote_import(
    url: &str,
    mut file: File,
    options: &ImportOptions,
    bar: &ProgressBar,
) -> anyhow::Result<ImportSummary> {
    use std::io::Read;
    let request_options = proto::ImportOptions::from(options);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    let bar = bar.clone();
    let started = std::time::Instant::now();
    let response = runtime.block_on(async move {
        let mut client = connect(url).await?;
        let (requests, stream) = tokio::sync::mpsc::channel(4);
        requests
            .send(proto::ImportRequest { item: Some(proto::import_request::Item::Options(request_options)) })
            .await?;
        let reader = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let mut sent = 0u64;
            // Units sent, counted roughly (the server's summary has the
            // exact figures): `<tu` tags in a TMX, lines otherwise.
            let mut units = 0u64;
            let mut tmx = None;
            loop {
                let mut chunk = vec![0; 256 << 10];
                let n = file.read(&mut chunk)?;
                if n == 0 {
                    return Ok(());
                }
                chunk.truncate(n);
                sent += n as u64;
                let is_tmx = *tmx.get_or_insert_with(|| Format::sniff(&chunk) == Format::Tmx);
                units += if is_tmx {
                    (memchr::memmem::find_iter(&chunk, b"<tu ").count()
                        + memchr::memmem::find_iter(&chunk, b"<tu>").count()) as u64
                } else {
                    memchr::memchr_iter(b'\n', &chunk).count() as u64
                };
                bar.set_position(sent);
                let rate = units as f64 / started.elapsed().as_secs_f64().max(1e-3);
                bar.set_message(format!("~{units} units sent, ~{rate:.0} units/s"));
                let item = proto::import_request::Item::Chunk(chunk);
                if requests.blocking_send(proto::ImportRequest { item: Some(item) }).is_err() {
                    return Ok(()); // The call ended; its status says why.
                }
            }
        });
        let response = client.import(authorized(tokio_stream::wrappers::ReceiverStream::new(stream))?).await;
        reader.await??;
        anyhow::Ok(response)
    })?;
    let (summary, stopped) = match response {
        Ok(response) => (response.into_inner(), None),
        Err(status) if status.code() == tonic::Code::InvalidArgument && !status.details().is_empty() => {
            use prost::Message;
            (proto::ImportSummary::decode(status.details())?, Some(status.message().to_owned()))
        }
        Err(status) => anyhow::bail!("{}", status.message()),
    };
    Ok(ImportSummary { stopped, ..summary.into() })
}
