//! The `dhakira` command: parse the command line, run one subcommand, turn
//! errors into a message and an exit code. Everything else is in the library.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("dhakira: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

// jemalloc: glibc's allocator fragments badly under sled's copy-on-write
// nodes and the import threads (a 1M-unit TMX import peaked at 565 MiB RSS
// with glibc, one arena, for a heap of about 300 MiB).
#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
