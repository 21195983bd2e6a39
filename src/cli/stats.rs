//! `dhakira stats`: units per memory, from a database or a server, and the
//! word alignment model's state when it has one.

use std::io::Write;
use std::process::ExitCode;

use clap::Args;
use dhakira::proto;

use super::db::ExistingDb;
use super::remote;

#[derive(Debug, Args)]
pub struct StatsArgs {
    #[command(flatten)]
    db: ExistingDb,
    /// Ask a running server (127.0.0.1:50051, or a URL) instead of
    /// opening the database, which the server holds locked.
    #[arg(long)]
    server: Option<String>,
}

pub fn run(args: StatsArgs) -> anyhow::Result<ExitCode> {
    let stats =
        match &args.server {
            Some(addr) => remote::unary(addr, proto::StatsRequest {}, |mut client, request| async move {
                client.stats(request).await
            })?,
            None => proto::StatsResponse::from(args.db.open()?.stats()),
        };
    let mut out = std::io::stdout().lock();
    for memory in &stats.memories {
        writeln!(out, "{}\t{}", memory.name, memory.units)?;
    }
    writeln!(out, "total\t{}", stats.total_units)?;
    // A server's model only: a database opened here has not trained one yet.
    if let Some(a) = stats.alignment.filter(|a| a.memory_units > 0 && args.server.is_some()) {
        writeln!(
            out,
            "alignment\tmodel of {} units (trained on {}, {} entries, {} ms), {} units aligned ({} ms)",
            a.memory_units, a.trained_units, a.model_entries, a.training_ms, a.aligned_units, a.aligning_ms
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
