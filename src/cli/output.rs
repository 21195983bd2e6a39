//! What the commands print besides their own tables: logs on stderr, and
//! the one JSON line that ends a measurement's report (`bench`, `soak`).

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// Logs to stderr at `default` level, or as `RUST_LOG` says.
pub fn init_logging(default: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default.into());
    // A log line that cannot be written is dropped: by default the
    // subscriber reports it with eprintln!, which panics the request when
    // stderr is a closed pipe.
    // Colours only for a terminal: a log file or a pipe gets plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .log_internal_errors(false);
    // The first call wins (`serve` sets its format before opening).
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// Prints `report` as one JSON line: the last line of a measurement, read
/// by scripts.
#[cfg(feature = "tools")]
pub fn json_line(report: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(report)?);
    Ok(())
}
