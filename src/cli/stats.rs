//! `dhakira stats`: units per memory, from a database or a server.

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
    Ok(ExitCode::SUCCESS)
}
