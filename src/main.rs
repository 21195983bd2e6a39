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
