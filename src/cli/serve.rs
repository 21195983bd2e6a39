//! `dhakira serve`: flags, the configuration file under them, the checks
//! of both, then the server until SIGINT or SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use super::db::Db;
use super::output::{init_logging, LogFormat};

#[derive(Debug, Args)]
pub struct ServeArgs {
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
    /// Log lines as text or as JSON objects (one per line). RUST_LOG
    /// filters them (`info` by default; `dhakira::request=off` drops the
    /// line per request).
    #[arg(long, env = "DHAKIRA_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Calls (unary gRPC and gRPC-web, REST) served at once, all
    /// connections together; more are shed with RESOURCE_EXHAUSTED
    /// (REST: 503).
    #[arg(long, env = "DHAKIRA_MAX_IN_FLIGHT", default_value_t = dhakira::server::DEFAULT_MAX_IN_FLIGHT)]
    max_in_flight: usize,
    /// How long a call may run before DEADLINE_EXCEEDED (REST: 504) and
    /// its work is stopped, in seconds (fractions allowed); a client's
    /// shorter grpc-timeout wins.
    #[arg(long, env = "DHAKIRA_REQUEST_TIMEOUT", default_value_t = 30.0)]
    request_timeout: f64,
    /// Streams (LookupStream, Import, Export) open at once; more are
    /// shed with RESOURCE_EXHAUSTED.
    #[arg(long, env = "DHAKIRA_MAX_STREAMS", default_value_t = dhakira::server::DEFAULT_MAX_STREAMS)]
    max_streams: usize,
    /// How long a stream may wait for its client's next message (an
    /// export: for its client to read) before DEADLINE_EXCEEDED, in
    /// seconds.
    #[arg(long, env = "DHAKIRA_STREAM_IDLE_TIMEOUT", default_value_t = 60.0)]
    stream_idle_timeout: f64,
    /// Full scans (exhaustive, or min_score 0) running at once; more
    /// are refused with RESOURCE_EXHAUSTED.
    #[arg(long, env = "DHAKIRA_MAX_SCANS", default_value_t = dhakira::DEFAULT_MAX_SCANS)]
    max_scans: usize,
    /// Connections open at once; when all are taken, a new one replaces
    /// one with no request in flight (one that never sent a request
    /// first), else it is closed.
    #[arg(long, env = "DHAKIRA_MAX_CONNECTIONS", default_value_t = dhakira::server::DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,
    /// How long a new connection may take to send its first request
    /// before it is closed, in seconds.
    #[arg(long, env = "DHAKIRA_FIRST_REQUEST_TIMEOUT", default_value_t = 10.0)]
    first_request_timeout: f64,
    /// A TOML file of API keys and their grants (see README, "Security").
    /// DHAKIRA_API_KEYS adds keys as `name:secret:grant,grant …`.
    #[arg(long, env = "DHAKIRA_KEYS_FILE")]
    keys: Option<PathBuf>,
    /// Serve TLS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, env = "DHAKIRA_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, env = "DHAKIRA_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Listen on a non-loopback address without API keys (anyone who can
    /// reach the port may read and change every memory).
    #[arg(long)]
    insecure: bool,
    /// Several nodes on PostgreSQL: the longest a lookup waits for its
    /// min_sequence to be applied on this node, in seconds, before
    /// UNAVAILABLE.
    #[arg(long, env = "DHAKIRA_MIN_SEQUENCE_WAIT", default_value_t = 5.0)]
    min_sequence_wait: f64,
    /// Several nodes on PostgreSQL: health (grpc.health.v1) says
    /// NOT_SERVING while this node has been behind the change log, or
    /// unable to read it, for longer than this, in seconds.
    #[arg(long, env = "DHAKIRA_MAX_LAG", default_value_t = 5.0)]
    max_lag: f64,
    #[command(flatten)]
    browsers: BrowserArgs,
    /// A TOML file with any of: addr, db, accept_missing_commit_record,
    /// no_sample, drain_seconds, log_format, max_in_flight,
    /// request_timeout, max_streams, stream_idle_timeout, max_scans,
    /// max_connections, first_request_timeout, min_sequence_wait, max_lag,
    /// keys, tls_cert, tls_key,
    /// cors_origin, allowed_host, jsonp. Flags and DHAKIRA_* variables
    /// override it.
    #[arg(long, env = "DHAKIRA_CONFIG")]
    config: Option<PathBuf>,
}

/// What web browsers may do (see README, "Browsers"). By default no web
/// page of another origin may call the server.
#[derive(Debug, Args)]
pub struct BrowserArgs {
    /// Let web pages of this origin (scheme://host[:port], e.g.
    /// https://weblate.example.org) call the server: CORS (repeatable;
    /// DHAKIRA_CORS_ORIGIN takes a comma-separated list).
    #[arg(long = "cors-origin", env = "DHAKIRA_CORS_ORIGIN", value_delimiter = ',')]
    cors_origin: Vec<String>,
    /// Answer to this host name too (besides localhost, 127.0.0.1, [::1]
    /// and the address listened on), e.g. the name clients or a proxy use;
    /// `*` for every name (repeatable; DHAKIRA_ALLOWED_HOST: comma-separated).
    #[arg(long = "allowed-host", env = "DHAKIRA_ALLOWED_HOST", value_delimiter = ',')]
    allowed_host: Vec<String>,
    /// Serve amaGama's JSONP (jsoncallback=) for old browser clients: any
    /// web page can then read the memory through it.
    #[arg(long, env = "DHAKIRA_JSONP")]
    jsonp: bool,
}

/// The configuration file of `dhakira serve` (TOML). Every key is
/// optional; flags and `DHAKIRA_*` variables win over it.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    addr: Option<SocketAddr>,
    db: Option<PathBuf>,
    accept_missing_commit_record: Option<bool>,
    no_sample: Option<bool>,
    drain_seconds: Option<u64>,
    log_format: Option<LogFormat>,
    max_in_flight: Option<usize>,
    request_timeout: Option<f64>,
    max_streams: Option<usize>,
    stream_idle_timeout: Option<f64>,
    max_scans: Option<usize>,
    max_connections: Option<usize>,
    first_request_timeout: Option<f64>,
    min_sequence_wait: Option<f64>,
    max_lag: Option<f64>,
    keys: Option<PathBuf>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    cors_origin: Option<Vec<String>>,
    allowed_host: Option<Vec<String>>,
    jsonp: Option<bool>,
}

/// Serves until SIGINT or SIGTERM. `matches` are `serve`'s: they say which
/// values came from flags or the environment.
pub fn run(mut args: ServeArgs, matches: &clap::ArgMatches) -> anyhow::Result<ExitCode> {
    if let Some(path) = &args.config {
        Config::read(path)?.apply(&mut args, matches);
    }
    init_logging("info", args.log_format);
    let limits = limits(&args)?;
    let mut security = security(args.keys.as_deref(), args.tls_cert.as_deref(), args.tls_key.as_deref())?;
    let browsers = &args.browsers;
    security.browsers =
        dhakira::server::BrowserAccess::new(&browsers.cors_origin, &browsers.allowed_host, browsers.jsonp)?;
    let addr = args.addr;
    anyhow::ensure!(
        addr.ip().is_loopback() || !security.keys.is_empty() || args.insecure,
        "refusing to listen on {addr} without API keys: anyone who reaches it could read and change every \
         memory. Configure keys (--keys FILE or DHAKIRA_API_KEYS), listen on 127.0.0.1, or pass --insecure"
    );
    if !addr.ip().is_loopback() && security.keys.is_empty() {
        tracing::warn!(%addr, "--insecure: serving without API keys on a non-loopback address");
    }
    serve(addr, &args.db, args.no_sample, Duration::from_secs(args.drain_seconds), limits, security)
}

impl Config {
    fn read(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        toml::from_str(&text).map_err(|err| anyhow::anyhow!("{}: {err}", path.display()))
    }

    /// Sets each value the file holds, unless a flag or a `DHAKIRA_*`
    /// variable gave one (those win over the file).
    fn apply(self, args: &mut ServeArgs, matches: &clap::ArgMatches) {
        let unset = |id: &str| matches!(matches.value_source(id), None | Some(clap::parser::ValueSource::DefaultValue));
        macro_rules! from_file {
            ($($value:expr => $target:expr, $id:literal;)*) => {
                $(if let Some(value) = $value.filter(|_| unset($id)) {
                    $target = value;
                })*
            };
        }
        from_file! {
            self.addr => args.addr, "addr";
            self.db => args.db.path, "path";
            self.accept_missing_commit_record => args.db.accept_missing_commit_record, "accept_missing_commit_record";
            self.no_sample => args.no_sample, "no_sample";
            self.drain_seconds => args.drain_seconds, "drain_seconds";
            self.log_format => args.log_format, "log_format";
            self.max_in_flight => args.max_in_flight, "max_in_flight";
            self.request_timeout => args.request_timeout, "request_timeout";
            self.max_streams => args.max_streams, "max_streams";
            self.stream_idle_timeout => args.stream_idle_timeout, "stream_idle_timeout";
            self.max_scans => args.max_scans, "max_scans";
            self.max_connections => args.max_connections, "max_connections";
            self.first_request_timeout => args.first_request_timeout, "first_request_timeout";
            self.min_sequence_wait => args.min_sequence_wait, "min_sequence_wait";
            self.max_lag => args.max_lag, "max_lag";
            self.keys.map(Some) => args.keys, "keys";
            self.tls_cert.map(Some) => args.tls_cert, "tls_cert";
            self.tls_key.map(Some) => args.tls_key, "tls_key";
            self.cors_origin => args.browsers.cors_origin, "cors_origin";
            self.allowed_host => args.browsers.allowed_host, "allowed_host";
            self.jsonp => args.browsers.jsonp, "jsonp";
        }
    }
}

/// The server's limits, checked (errors name the flag).
fn limits(args: &ServeArgs) -> anyhow::Result<dhakira::server::Limits> {
    for (flag, value) in [
        ("--max-in-flight", args.max_in_flight),
        ("--max-streams", args.max_streams),
        ("--max-scans", args.max_scans),
        ("--max-connections", args.max_connections),
    ] {
        anyhow::ensure!(value > 0, "{flag}: must be at least 1");
    }
    let seconds = |flag: &str, value: f64| {
        anyhow::ensure!(
            value.is_finite() && (0.001..=86_400.0).contains(&value),
            "{flag}: must be between 0.001 and 86400 seconds"
        );
        Ok(Duration::from_secs_f64(value))
    };
    Ok(dhakira::server::Limits {
        max_in_flight: args.max_in_flight,
        request_timeout: seconds("--request-timeout", args.request_timeout)?,
        max_streams: args.max_streams,
        stream_idle_timeout: seconds("--stream-idle-timeout", args.stream_idle_timeout)?,
        max_scans: args.max_scans,
        max_connections: args.max_connections,
        first_request_timeout: seconds("--first-request-timeout", args.first_request_timeout)?,
        min_sequence_wait: seconds("--min-sequence-wait", args.min_sequence_wait)?,
        max_lag: seconds("--max-lag", args.max_lag)?,
    })
}

/// API keys (a file and DHAKIRA_API_KEYS) and TLS files, read and checked.
fn security(keys: Option<&Path>, cert: Option<&Path>, key: Option<&Path>) -> anyhow::Result<dhakira::server::Security> {
    use dhakira::auth::Keys;
    let mut all = Keys::default();
    if let Some(path) = keys {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read the keys file {}", path.display()))?;
        all.extend(Keys::from_toml(&text, &path.display().to_string())?);
    }
    if let Ok(text) = std::env::var("DHAKIRA_API_KEYS") {
        all.extend(Keys::from_env(&text, "DHAKIRA_API_KEYS")?);
    }
    let read = |path: &Path, what: &str| {
        std::fs::read(path).with_context(|| format!("cannot read the TLS {what} {}", path.display()))
    };
    let tls = match (cert, key) {
        (Some(cert), Some(key)) => Some((read(cert, "certificate")?, read(key, "key")?)),
        _ => None,
    };
    if !all.is_empty() {
        tracing::info!(keys = all.len(), "API keys required");
    }
    Ok(dhakira::server::Security { keys: all, tls, ..Default::default() })
}

fn serve(
    addr: SocketAddr,
    db: &Db,
    no_sample: bool,
    drain: Duration,
    limits: dhakira::server::Limits,
    security: dhakira::server::Security,
) -> anyhow::Result<ExitCode> {
    let tm = db.open()?;
    if !no_sample {
        if let Some(summary) = dhakira::sample::load_if_empty(&tm)? {
            tracing::info!(units = summary.added, "empty database: loaded the bundled sample");
        }
    }
    let stats = tm.stats();
    tracing::info!(db = %db.describe(), units = stats.total_units, "database open");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(limits.blocking_threads())
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
        let local = listener.local_addr()?;
        // Scripts and tests read this line to find the port.
        println!("dhakira listening on {local}");
        std::io::stdout().flush()?;
        dhakira::server::serve(tm.clone(), listener, shutdown_signal(), drain, limits, security).await?;
        anyhow::Ok(())
    })?;
    // Engine work still running on the blocking pool (a long exhaustive
    // lookup) gets the same bound; nothing it holds has been acknowledged.
    runtime.shutdown_timeout(drain);
    // The next start reads the index instead of building it.
    match tm.save_index() {
        Ok(saved) => tracing::debug!(saved, "index kept with the database"),
        Err(err) => tracing::warn!(error = %err, "the index is not kept; the next start builds it"),
    }
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
