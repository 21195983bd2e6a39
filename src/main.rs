//! The `dhakira` command: parse the command line, run one subcommand, turn
//! errors into a message and an exit code. Everything else is in the library.

mod cli;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

fn main() -> ExitCode {
    // The matches are kept: they say which values came from flags or the
    // environment, which a configuration file must not override.
    let matches = cli::Cli::command().get_matches();
    let args = match cli::Cli::from_arg_matches(&matches) {
        Ok(args) => args,
        Err(err) => err.exit(),
    };
    match cli::run(args, &matches) {
        Ok(code) => code,
        // `dhakira lookup … | head -1`: the reader has all it wanted.
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("dhakira: error: {}", report(&err));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes, each after a colon, as anyhow's `{:#}` writes
/// them, except a cause the message before it quotes already (a library
/// error quotes the I/O or sled error it keeps as its source).
fn report(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain().map(ToString::to_string) {
        if text.is_empty() {
            text = cause;
        } else if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

// jemalloc: glibc's allocator fragments badly under sled's copy-on-write
// nodes and the import threads (a 1M-unit TMX import peaked at 565 MiB RSS
// with glibc, one arena, for a heap of about 300 MiB).
#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
