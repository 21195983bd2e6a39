//! `dhakira soak`: a real server under a mix of work for a while, its
//! memory and file descriptors sampled (see `dhakira::soak`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use super::output::json_line;

#[derive(Debug, Args)]
pub struct SoakArgs {
    /// How long, in seconds.
    #[arg(long, default_value_t = 300)]
    seconds: u64,
    /// Directory of arabic<TAB>english .tsv files: the data (default:
    /// $DHAKIRA_CORPUS, else the repository's data/corpus).
    #[arg(long)]
    corpus: Option<PathBuf>,
}

pub fn run(args: SoakArgs) -> anyhow::Result<ExitCode> {
    soak(args.seconds, &args.corpus.unwrap_or_else(dhakira::bench::corpus_dir))
}

fn soak(seconds: u64, corpus: &Path) -> anyhow::Result<ExitCode> {
    anyhow::ensure!((1..=3600).contains(&seconds), "--seconds: between 1 and 3600");
    let pairs = dhakira::bench::read_corpus(corpus)?;
    let db = std::env::temp_dir().join(format!("dhakira-soak-{}", std::process::id()));
    let mut server = std::process::Command::new(std::env::current_exe()?)
        .args(["serve", "--addr", "127.0.0.1:0", "--no-sample", "--db"])
        .arg(&db)
        .env("RUST_LOG", "warn,dhakira::request=off")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("starting the server")?;
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(server.stdout.take().expect("piped")), &mut line)?;
    let addr = line.trim().strip_prefix("dhakira listening on ").context("the server did not start")?.to_owned();
    let pid = server.id();
    let runtime = tokio::runtime::Runtime::new()?;
    let report =
        runtime.block_on(dhakira::soak::run(&format!("http://{addr}"), pid, Duration::from_secs(seconds), pairs));
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&db);
    let report = report?;
    println!("{:>8} {:>9} {:>5}", "seconds", "RSS MiB", "fds");
    for s in &report.samples {
        println!("{:>8.0} {:>9.1} {:>5}", s.seconds, s.rss_mb, s.fds);
    }
    println!(
        "{:.0} s: {} lookups, {} adds, {} imports, {} churns; {} shed (RESOURCE_EXHAUSTED), {} other errors; \
         RSS end/after warm-up {:.3}; fds {}–{}",
        report.seconds,
        report.lookups,
        report.adds,
        report.imports,
        report.churns,
        report.shed,
        report.error_count,
        report.rss_growth,
        report.fds_min,
        report.fds_max
    );
    for error in &report.errors {
        println!("error: {error}");
    }
    json_line(&report)?;
    Ok(if report.passed() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
