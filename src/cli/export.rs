//! `dhakira export`: memories as a TMX file, from a database or from a
//! server's Export stream.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use dhakira::export::ExportFilter;
use dhakira::proto;

use super::db::ExistingDb;
use super::remote::{authorized, connect, server_url};

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The TMX file to write.
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    db: ExistingDb,
    /// Ask a running server (127.0.0.1:50051, or a URL) instead of
    /// opening the database.
    #[arg(long)]
    server: Option<String>,
    /// Export only these memories (repeatable); all by default.
    #[arg(long = "memory")]
    memories: Vec<String>,
    /// Export only units of this domain.
    #[arg(long)]
    domain: Option<String>,
}

pub fn run(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let ExportArgs { out, db, server, memories, domain } = args;
    let filter = ExportFilter { memories, domain }.validate("--memory")?;
    let file = File::create(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let count = match server {
        Some(addr) => remote_export(&server_url(&addr), filter, file)?,
        None => dhakira::export::export(&db.open()?, file, &filter)?,
    };
    println!("{count} units written to {}", out.display());
    Ok(ExitCode::SUCCESS)
}

/// Writes the server's Export stream to `out`; returns the units written.
fn remote_export(url: &str, filter: ExportFilter, mut out: File) -> anyhow::Result<u64> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        // A TMX shrinks several times: worth it over any real link.
        let mut client = connect(url).await?.accept_compressed(tonic::codec::CompressionEncoding::Gzip);
        let request = proto::ExportRequest::from(filter);
        let mut stream = client
            .export(authorized(request)?)
            .await
            .map_err(|status| anyhow::anyhow!("{}", status.message()))?
            .into_inner();
        let mut units = 0;
        let mut carry = Vec::new();
        while let Some(chunk) = stream.message().await.map_err(|status| anyhow::anyhow!("{}", status.message()))? {
            // A chunk may end inside a tag: count across the boundary.
            carry.extend_from_slice(&chunk.data);
            units += (memchr::memmem::find_iter(&carry, b"<tu ").count()
                + memchr::memmem::find_iter(&carry, b"<tu>").count()) as u64;
            let keep = carry.len().min(3);
            carry.drain(..carry.len() - keep);
            out.write_all(&chunk.data)?;
        }
        out.flush()?;
        Ok(units)
    })
}
