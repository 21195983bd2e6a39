//! Subcommands. Each is a thin call into the library.

use std::fs::File;
use std::io::{BufReader, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use dhakira::proto;
use dhakira::{LookupRequest, TranslationMemory};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Debug, Parser)]
#[command(name = "dhakira", version, about = "Arabic–English translation memory server")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the translation memory over gRPC.
    Serve {
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
        #[command(flatten)]
        browsers: BrowserArgs,
        /// A TOML file with any of: addr, db, accept_missing_commit_record,
        /// no_sample, drain_seconds, log_format, max_in_flight,
        /// request_timeout, max_streams, stream_idle_timeout, max_scans,
        /// max_connections, first_request_timeout, keys, tls_cert, tls_key,
        /// cors_origin, allowed_host, jsonp. Flags and DHAKIRA_* variables
        /// override it.
        #[arg(long, env = "DHAKIRA_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Import TMX, TSV (arabic<TAB>english per line) or CSV (with a header)
    /// files: into a database (--db), or into a running server (--server).
    Import(ImportArgs),
    /// Export memories as a TMX 1.4b file (from --db, or from a --server).
    Export {
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
    },
    /// Find the stored units most similar to a sentence.
    Lookup {
        /// The sentence to look up.
        text: String,
        /// Its language: ar or en (ar-EG, en_US… accepted).
        #[arg(long)]
        lang: String,
        #[command(flatten)]
        db: ExistingDb,
        /// Lowest score shown (0–101).
        #[arg(long)]
        min_score: Option<u32>,
        /// Most matches shown.
        #[arg(long)]
        max_results: Option<u32>,
        /// Search only these memories (repeatable).
        #[arg(long = "memory")]
        memories: Vec<String>,
        /// Compare with every stored unit through the reference implementation
        /// (dhakira::reference) instead of using the index: an independent
        /// answer, much slower.
        #[arg(long)]
        exhaustive: bool,
        /// Ask a running server (127.0.0.1:50051, or a URL) instead of
        /// opening the database, which the server holds locked.
        #[arg(long)]
        server: Option<String>,
    },
    /// How much of a document the memory covers: segments and words per
    /// match band (101, 100, 95-99, 85-94, 75-84, 50-74, no match,
    /// repetitions). The document is plain text, one paragraph per line,
    /// split into sentences.
    Analyze(DocumentArgs),
    /// Each sentence of a document with its best match, as TSV: segment,
    /// band, score, unit id, translation (the repaired target when there is
    /// one; empty below --min-score).
    Pretranslate {
        #[command(flatten)]
        document: DocumentArgs,
        /// Lowest score whose translation is filled in.
        #[arg(long, default_value_t = 75)]
        min_score: u32,
    },
    /// Soak a real server: start one on a temporary database, run a mix of
    /// lookups, adds, deletions and imports for a while, and check that its
    /// memory and file descriptors stay flat and that nothing fails but
    /// deliberate load shedding (exit status 1 otherwise).
    Soak {
        /// How long, in seconds.
        #[arg(long, default_value_t = 300)]
        seconds: u64,
        /// Directory of arabic<TAB>english .tsv files: the data (default:
        /// $DHAKIRA_CORPUS, else the repository's data/corpus).
        #[arg(long)]
        corpus: Option<PathBuf>,
    },
    /// Measure lookups: build a memory of N units from the corpus, run Q
    /// seeded queries, print a summary and, last, one JSON line.
    Bench(BenchArgs),
    /// Count units per memory (in --db, or in a running --server).
    Stats {
        #[command(flatten)]
        db: ExistingDb,
        /// Ask a running server (127.0.0.1:50051, or a URL) instead of
        /// opening the database, which the server holds locked.
        #[arg(long)]
        server: Option<String>,
    },
}

/// What web browsers may do (see README, "Browsers"). By default no web
/// page of another origin may call the server.
#[derive(Debug, Args)]
struct BrowserArgs {
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

#[derive(Debug, Args)]
struct DocumentArgs {
    /// The document: UTF-8 plain text, one paragraph per line.
    file: PathBuf,
    /// Its language: ar or en. Default: guessed from its letters.
    #[arg(long)]
    lang: Option<String>,
    #[command(flatten)]
    db: ExistingDb,
    /// Search only these memories (repeatable).
    #[arg(long = "memory")]
    memories: Vec<String>,
    /// Ask a running server (127.0.0.1:50051, or a URL) instead of opening
    /// the database, which the server holds locked.
    #[arg(long)]
    server: Option<String>,
    /// Print TSV (band, segments, words) instead of a table.
    #[arg(long)]
    tsv: bool,
}

#[derive(Debug, Args)]
struct ImportArgs {
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
    keys: Option<PathBuf>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    cors_origin: Option<Vec<String>>,
    allowed_host: Option<Vec<String>>,
    jsonp: Option<bool>,
}

impl Config {
    fn read(path: &std::path::Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        toml::from_str(&text).map_err(|err| anyhow::anyhow!("{}: {err}", path.display()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
enum LogFormat {
    Text,
    Json,
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

#[derive(Debug, Args)]
struct BenchArgs {
    /// Directory of arabic<TAB>english .tsv files (default: $DHAKIRA_CORPUS,
    /// else the repository's data/corpus).
    #[arg(long)]
    corpus: Option<PathBuf>,
    /// Units in the memory (real pairs first, then pairs grown from them).
    #[arg(long, default_value_t = 116_550)]
    units: usize,
    /// Lookups to time.
    #[arg(long, default_value_t = 2_000)]
    queries: usize,
    #[arg(long, default_value_t = dhakira::DEFAULT_MIN_SCORE)]
    min_score: u8,
    #[arg(long, default_value_t = dhakira::DEFAULT_MAX_RESULTS)]
    max_results: usize,
    /// Query language: ar or en.
    #[arg(long, default_value = "ar")]
    lang: String,
    /// Also run a sample of the queries exhaustively and report the share
    /// with identical answers.
    #[arg(long)]
    check_recall: bool,
    /// Queries in the recall sample.
    #[arg(long, default_value_t = 200)]
    recall_sample: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Keep the memory in a sled database here instead of in RAM.
    #[arg(long)]
    db: Option<PathBuf>,
    /// Query a running server at this address (127.0.0.1:50051 or a URL).
    #[arg(long)]
    grpc: Option<String>,
    /// Concurrent gRPC clients.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// With --grpc: first add the generated units to the server.
    #[arg(long)]
    load: bool,
    /// Write the generated units to this TMX file (as CAT tools export
    /// them: ids, dates, a property, some markup) and exit.
    #[arg(long)]
    write_tmx: Option<PathBuf>,
    /// With --grpc: import this file over the Import RPC while the clients
    /// look up, and report both.
    #[arg(long)]
    import_file: Option<PathBuf>,
    /// Spread the units over this many memories (m0, m1…), domains tech,
    /// sport and health in turn.
    #[arg(long, default_value_t = 1)]
    memories: usize,
    /// Look up as a cascade over every memory: m{i} loses 2·i points,
    /// units outside the "tech" domain lose 3.
    #[arg(long)]
    cascade: bool,
    /// Look up only units of this domain (tech, sport or health).
    #[arg(long)]
    filter_domain: Option<String>,
    /// Measure placeable repair instead: change one number in each news
    /// sentence, look the changed sentence up (ar→en and en→ar) and print
    /// the share of top matches whose repaired target is right, with the
    /// failures by category.
    #[arg(long)]
    repairs: bool,
    /// Make this many of the units from one news template with varied
    /// numbers, and take every query from that template.
    #[arg(long, default_value_t = 0)]
    templates: usize,
    /// Time concordance searches (1–3 consecutive words of a stored unit,
    /// a page of 20 hits) instead of lookups; in-process only.
    #[arg(long)]
    concordance: bool,
}

#[derive(Debug, Args)]
struct Db {
    /// The database directory (sled); created when missing.
    #[arg(long = "db", env = "DHAKIRA_DB", default_value = "dhakira-data")]
    path: PathBuf,
    /// Open a database that holds writes although its record of
    /// acknowledged commits (dhakira-acknowledged) is missing or empty, as
    /// after a restore that left it out: the record is recreated from what
    /// the store holds, with a warning. Without it such a database is
    /// refused.
    #[arg(long, env = "DHAKIRA_ACCEPT_MISSING_COMMIT_RECORD")]
    accept_missing_commit_record: bool,
}

impl Db {
    fn options(&self) -> dhakira::store::OpenOptions {
        dhakira::store::OpenOptions { accept_missing_commit_record: self.accept_missing_commit_record }
    }

    /// Opens the database, creating it when missing.
    fn open(&self) -> anyhow::Result<TranslationMemory> {
        // Warnings of opening (an accepted missing record) are shown.
        init_logging("warn", LogFormat::Text);
        Ok(TranslationMemory::open_with(&self.path, self.options())?)
    }
}

/// The database of a command that only reads (or looks up): it must exist.
#[derive(Debug, Args)]
struct ExistingDb {
    /// The database directory (sled); it must exist (`dhakira serve` or
    /// `dhakira import` creates one).
    #[arg(long = "db", env = "DHAKIRA_DB", default_value = "dhakira-data")]
    path: PathBuf,
    /// Open a database that holds writes although its record of
    /// acknowledged commits (dhakira-acknowledged) is missing or empty, as
    /// after a restore that left it out: the record is recreated from what
    /// the store holds, with a warning. Without it such a database is
    /// refused.
    #[arg(long, env = "DHAKIRA_ACCEPT_MISSING_COMMIT_RECORD")]
    accept_missing_commit_record: bool,
}

impl ExistingDb {
    /// Opens a database that must already exist: a mistyped path must not
    /// quietly become an empty memory with no matches.
    fn open(&self) -> anyhow::Result<TranslationMemory> {
        anyhow::ensure!(
            self.path.exists(),
            "there is no database at {} (`dhakira serve` or `dhakira import` creates one; --db chooses it)",
            self.path.display()
        );
        Db { path: self.path.clone(), accept_missing_commit_record: self.accept_missing_commit_record }.open()
    }
}

/// Connects to a running server; a failure says so once (the transport's
/// error repeats its cause) and says what to check.
async fn connect(
    url: &str,
) -> anyhow::Result<proto::translation_memory_client::TranslationMemoryClient<tonic::transport::Channel>> {
    dhakira::server::connect(url).await.map_err(|err| {
        let mut cause: &dyn std::error::Error = &err;
        while let Some(source) = cause.source() {
            cause = source;
        }
        anyhow::anyhow!(
            "cannot connect to {url}: {cause}; check that `dhakira serve` runs there (--server chooses the address)"
        )
    })
}

pub fn run(cli: Cli, matches: &clap::ArgMatches) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve {
            mut addr,
            mut db,
            mut no_sample,
            mut drain_seconds,
            mut log_format,
            mut max_in_flight,
            mut request_timeout,
            mut max_streams,
            mut stream_idle_timeout,
            mut max_scans,
            mut max_connections,
            mut first_request_timeout,
            mut keys,
            mut tls_cert,
            mut tls_key,
            insecure,
            mut browsers,
            config,
        } => {
            if let Some(path) = &config {
                let file = Config::read(path)?;
                let serve = matches.subcommand_matches("serve").expect("the serve subcommand");
                // A value from a flag or a DHAKIRA_* variable wins over the file.
                let unset =
                    |id: &str| matches!(serve.value_source(id), None | Some(clap::parser::ValueSource::DefaultValue));
                if let Some(value) = file.addr.filter(|_| unset("addr")) {
                    addr = value;
                }
                if let Some(value) = file.db.filter(|_| unset("path")) {
                    db.path = value;
                }
                if let Some(value) = file.accept_missing_commit_record.filter(|_| unset("accept_missing_commit_record"))
                {
                    db.accept_missing_commit_record = value;
                }
                if let Some(value) = file.no_sample.filter(|_| unset("no_sample")) {
                    no_sample = value;
                }
                if let Some(value) = file.drain_seconds.filter(|_| unset("drain_seconds")) {
                    drain_seconds = value;
                }
                if let Some(value) = file.log_format.filter(|_| unset("log_format")) {
                    log_format = value;
                }
                if let Some(value) = file.max_in_flight.filter(|_| unset("max_in_flight")) {
                    max_in_flight = value;
                }
                if let Some(value) = file.request_timeout.filter(|_| unset("request_timeout")) {
                    request_timeout = value;
                }
                if let Some(value) = file.max_streams.filter(|_| unset("max_streams")) {
                    max_streams = value;
                }
                if let Some(value) = file.stream_idle_timeout.filter(|_| unset("stream_idle_timeout")) {
                    stream_idle_timeout = value;
                }
                if let Some(value) = file.max_scans.filter(|_| unset("max_scans")) {
                    max_scans = value;
                }
                if let Some(value) = file.max_connections.filter(|_| unset("max_connections")) {
                    max_connections = value;
                }
                if let Some(value) = file.first_request_timeout.filter(|_| unset("first_request_timeout")) {
                    first_request_timeout = value;
                }
                if file.keys.is_some() && unset("keys") {
                    keys = file.keys;
                }
                if file.tls_cert.is_some() && unset("tls_cert") {
                    tls_cert = file.tls_cert;
                }
                if file.tls_key.is_some() && unset("tls_key") {
                    tls_key = file.tls_key;
                }
                if let Some(value) = file.cors_origin.filter(|_| unset("cors_origin")) {
                    browsers.cors_origin = value;
                }
                if let Some(value) = file.allowed_host.filter(|_| unset("allowed_host")) {
                    browsers.allowed_host = value;
                }
                if let Some(value) = file.jsonp.filter(|_| unset("jsonp")) {
                    browsers.jsonp = value;
                }
            }
            init_logging("info", log_format);
            for (flag, value) in [
                ("--max-in-flight", max_in_flight),
                ("--max-streams", max_streams),
                ("--max-scans", max_scans),
                ("--max-connections", max_connections),
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
            let limits = dhakira::server::Limits {
                max_in_flight,
                request_timeout: seconds("--request-timeout", request_timeout)?,
                max_streams,
                stream_idle_timeout: seconds("--stream-idle-timeout", stream_idle_timeout)?,
                max_scans,
                max_connections,
                first_request_timeout: seconds("--first-request-timeout", first_request_timeout)?,
            };
            let mut security = security(keys.as_deref(), tls_cert.as_deref(), tls_key.as_deref())?;
            security.browsers =
                dhakira::server::BrowserAccess::new(&browsers.cors_origin, &browsers.allowed_host, browsers.jsonp)?;
            anyhow::ensure!(
                addr.ip().is_loopback() || !security.keys.is_empty() || insecure,
                "refusing to listen on {addr} without API keys: anyone who reaches it could read and change every \
                 memory. Configure keys (--keys FILE or DHAKIRA_API_KEYS), listen on 127.0.0.1, or pass --insecure"
            );
            if !addr.ip().is_loopback() && security.keys.is_empty() {
                tracing::warn!(%addr, "--insecure: serving without API keys on a non-loopback address");
            }
            serve(addr, &db, no_sample, Duration::from_secs(drain_seconds), limits, security)
        }
        Command::Import(args) => import(args),
        Command::Export { out, db, server, memories, domain } => {
            let filter = dhakira::export::ExportFilter { memories, domain }.validate("--memory")?;
            let file = File::create(&out).with_context(|| format!("cannot create {}", out.display()))?;
            let count = match server {
                Some(addr) => remote_export(&server_url(&addr), filter, file)?,
                None => dhakira::export::export(&db.open()?, file, &filter)?,
            };
            println!("{count} units written to {}", out.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Lookup { text, lang, db, min_score, max_results, memories, exhaustive, server } => {
            // Checked here too, so that the message names the flag.
            dhakira::Lang::parse(&lang, "--lang")?;
            let request = LookupRequest {
                text,
                source_lang: lang,
                min_score,
                max_results,
                memories,
                exhaustive,
                ..Default::default()
            };
            let matches = match server {
                Some(addr) => remote_lookup(&server_url(&addr), request)?,
                None => db.open()?.lookup(request)?.into_iter().map(Into::into).collect(),
            };
            print_matches(&matches)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Analyze(args) => {
            let analysis = analyze(&args)?;
            print_analysis(&analysis, args.tsv)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Pretranslate { document, min_score } => {
            let analysis = analyze(&document)?;
            print_pretranslation(&analysis, min_score)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(args) => bench(args),
        Command::Soak { seconds, corpus } => soak(seconds, &corpus.unwrap_or_else(dhakira::bench::corpus_dir)),
        Command::Stats { db, server } => {
            let stats = match server {
                Some(addr) => remote_stats(&server_url(&addr))?,
                None => proto::StatsResponse::from(db.open()?.stats()),
            };
            let mut out = std::io::stdout().lock();
            for memory in &stats.memories {
                writeln!(out, "{}\t{}", memory.name, memory.units)?;
            }
            writeln!(out, "total\t{}", stats.total_units)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// API keys (a file and DHAKIRA_API_KEYS) and TLS files, read and checked.
fn security(
    keys: Option<&std::path::Path>,
    cert: Option<&std::path::Path>,
    key: Option<&std::path::Path>,
) -> anyhow::Result<dhakira::server::Security> {
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
    let read = |path: &std::path::Path, what: &str| {
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
    tracing::info!(db = %db.path.display(), units = stats.total_units, "database open");
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
        dhakira::server::serve(tm, listener, shutdown_signal(), drain, limits, security).await?;
        anyhow::Ok(())
    })?;
    // Engine work still running on the blocking pool (a long exhaustive
    // lookup) gets the same bound; nothing it holds has been acknowledged.
    runtime.shutdown_timeout(drain);
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

fn import(args: ImportArgs) -> anyhow::Result<ExitCode> {
    use dhakira::import::{Format, ImportOptions, ImportSummary};
    init_logging("warn", LogFormat::Text);
    anyhow::ensure!(args.rejected.is_none() || args.files.len() == 1, "--rejected takes one input file at a time");
    let memory = args.memory.as_deref().map(|m| dhakira::unit::memory_name(m, "--memory")).transpose()?;
    let source_lang = dhakira::Lang::parse(&args.source_lang, "--source-lang")?;
    let forced = match &args.format {
        Some(name) => Some(Format::parse(name, "--format")?.context("--format: use tmx, tsv or csv")?),
        None => None,
    };
    // A database this import creates is removed again if nothing lands in it.
    let creates_db = args.server.is_none() && !args.db.path.exists();
    let tm = match args.server {
        Some(_) => None,
        None => Some(TranslationMemory::open_for_import_with(&args.db.path, args.db.options())?),
    };
    let mut total = ImportSummary::default();
    let mut failed = false;
    let started = std::time::Instant::now();
    for path in &args.files {
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let size = file.metadata()?.len();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let format = forced.or_else(|| Format::from_file_name(&name));
        let options = ImportOptions {
            format,
            memory: memory.clone(),
            policy: args.policy.into(),
            source_lang,
            domain: args.domain.clone(),
            source_document: name.clone(),
        };
        let bar = ProgressBar::new(size).with_style(
            ProgressStyle::with_template("{prefix} [{bar:30}] {percent}% {msg} ETA {eta}")?.progress_chars("=> "),
        );
        bar.set_prefix(name.clone());
        let file_started = std::time::Instant::now();
        let mut progress = |summary: &ImportSummary, progress: dhakira::import::Progress| {
            bar.set_position(progress.bytes);
            let rate = summary.read as f64 / file_started.elapsed().as_secs_f64().max(1e-3);
            bar.set_message(format!("{} units, {:.0} units/s", summary.read, rate));
        };
        let summary = match &args.server {
            Some(addr) => remote_import(&server_url(addr), file, &options, &bar)?,
            None => {
                let tm = tm.as_ref().expect("opened above");
                dhakira::import::import(tm, BufReader::new(file), &options, &mut progress)
                    .with_context(|| format!("importing {}", path.display()))?
            }
        };
        bar.finish_and_clear();
        let seconds = file_started.elapsed().as_secs_f64();
        let rate =
            if seconds >= 0.5 { format!(" ({:.0} units/s)", summary.read as f64 / seconds) } else { String::new() };
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
            failed = true;
        }
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
        println!("(the index is built when the database is opened: `dhakira serve --db {}`)", args.db.path.display());
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// Writes the rejected units of `input` to `out`: a TMX of their `<tu>`
/// elements, or the rejected lines of a TSV.
fn write_rejected(
    input: &std::path::Path,
    format: Option<dhakira::import::Format>,
    summary: &dhakira::import::ImportSummary,
    out: &std::path::Path,
) -> anyhow::Result<()> {
    use dhakira::import::Format;
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
    options: &dhakira::import::ImportOptions,
    bar: &ProgressBar,
) -> anyhow::Result<dhakira::import::ImportSummary> {
    use dhakira::import::ImportSummary;
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
                let is_tmx =
                    *tmx.get_or_insert_with(|| dhakira::import::Format::sniff(&chunk) == dhakira::import::Format::Tmx);
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

/// Writes the server's Export stream to `out`; returns the units written.
fn remote_export(url: &str, filter: dhakira::export::ExportFilter, mut out: File) -> anyhow::Result<u64> {
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

/// `host:port` or a URL; plain addresses mean plaintext HTTP/2.
/// A request to a server, with `authorization: Bearer $DHAKIRA_API_KEY`
/// when that variable is set.
fn authorized<T>(message: T) -> anyhow::Result<tonic::Request<T>> {
    let mut request = tonic::Request::new(message);
    if let Ok(key) = std::env::var("DHAKIRA_API_KEY") {
        let value = format!("Bearer {key}").parse().context("DHAKIRA_API_KEY: not a valid header value")?;
        request.metadata_mut().insert("authorization", value);
    }
    Ok(request)
}

fn server_url(addr: &str) -> String {
    if addr.contains("://") {
        addr.to_owned()
    } else {
        format!("http://{addr}")
    }
}

/// Analyzes a document file, in the database or on a server; every
/// segment's best match included.
fn analyze(args: &DocumentArgs) -> anyhow::Result<proto::AnalyzeResponse> {
    let text = std::fs::read_to_string(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    let lang = match &args.lang {
        Some(code) => dhakira::Lang::parse(code, "--lang")?,
        None => dhakira::Lang::guess(&text).with_context(|| {
            format!("{}: cannot tell its language (no Arabic or Latin letters); give --lang", args.file.display())
        })?,
    };
    let request = proto::AnalyzeRequest {
        text,
        source_lang: lang.code().to_owned(),
        memories: args.memories.clone(),
        include_segments: true,
        ..Default::default()
    };
    match &args.server {
        Some(addr) => {
            let url = server_url(addr);
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async {
                let mut client = connect(&url).await?;
                let response = client
                    .analyze(authorized(request)?)
                    .await
                    .map_err(|status| anyhow::anyhow!("{}", status.message()))?;
                Ok(response.into_inner())
            })
        }
        None => {
            let tm = args.db.open()?;
            Ok(tm.analyze(dhakira::analysis::AnalyzeRequest::from(request))?.into())
        }
    }
}

fn print_analysis(analysis: &proto::AnalyzeResponse, tsv: bool) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    let percent = |words: u32| {
        if analysis.total_words == 0 {
            0.0
        } else {
            100.0 * f64::from(words) / f64::from(analysis.total_words)
        }
    };
    if tsv {
        writeln!(out, "band\tsegments\twords\tpercent_words")?;
        for b in &analysis.bands {
            writeln!(out, "{}\t{}\t{}\t{:.1}", b.name, b.segments, b.words, percent(b.words))?;
        }
        writeln!(out, "total\t{}\t{}\t100.0", analysis.total_segments, analysis.total_words)?;
        return Ok(());
    }
    writeln!(out, "{:<12} {:>9} {:>9} {:>8}", "band", "segments", "words", "% words")?;
    for b in &analysis.bands {
        writeln!(out, "{:<12} {:>9} {:>9} {:>7.1}%", b.name, b.segments, b.words, percent(b.words))?;
    }
    writeln!(out, "{:<12} {:>9} {:>9} {:>7.1}%", "total", analysis.total_segments, analysis.total_words, 100.0)
}

fn print_pretranslation(analysis: &proto::AnalyzeResponse, min_score: u32) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    let clean = |s: &str| s.replace(['\t', '\n', '\r'], " ");
    writeln!(out, "segment\tband\tscore\tunit_id\ttranslation")?;
    for segment in &analysis.segments {
        let (score, id, translation) = match &segment.best {
            Some(m) if m.score >= min_score => (
                m.score.to_string(),
                m.unit_id.to_string(),
                m.repaired_target.clone().unwrap_or_else(|| m.target.clone()),
            ),
            Some(m) => (m.score.to_string(), m.unit_id.to_string(), String::new()),
            None => (String::new(), String::new(), String::new()),
        };
        writeln!(out, "{}\t{}\t{score}\t{id}\t{}", clean(&segment.text), segment.band, clean(&translation))?;
    }
    Ok(())
}

fn remote_lookup(url: &str, request: LookupRequest) -> anyhow::Result<Vec<proto::Match>> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let mut client = connect(url).await?;
        let request = proto::LookupRequest::from(request);
        let response =
            client.lookup(authorized(request)?).await.map_err(|status| anyhow::anyhow!("{}", status.message()))?;
        Ok(response.into_inner().matches)
    })
}

fn remote_stats(url: &str) -> anyhow::Result<proto::StatsResponse> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let mut client = connect(url).await?;
        let response = client
            .stats(authorized(proto::StatsRequest {})?)
            .await
            .map_err(|status| anyhow::anyhow!("{}", status.message()))?;
        Ok(response.into_inner())
    })
}

fn print_matches(matches: &[proto::Match]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    if matches.is_empty() {
        writeln!(out, "no match")?;
    }
    for m in matches {
        writeln!(out, "{:>3}  #{} [{}]  {}", m.score, m.unit_id, m.memory, m.source)?;
        writeln!(out, "     → {}", m.target)?;
        if let Some(repaired) = &m.repaired_target {
            writeln!(out, "     ⇒ {repaired}   (repaired)")?;
        }
        for p in &m.penalties {
            writeln!(out, "     −{} {}: {}", p.points, p.kind, p.reason)?;
        }
        if let Some(e) = &m.explanation {
            let edits: Vec<String> = e
                .edits
                .iter()
                .filter(|edit| !matches!(edit.kind(), proto::EditKind::Equal))
                .map(|edit| {
                    let kind = edit.kind().as_str_name().trim_start_matches("EDIT_KIND_").to_lowercase();
                    let range =
                        |r: &Option<proto::CharRange>| r.map_or("-".to_owned(), |r| format!("{}..{}", r.start, r.end));
                    format!("{kind} q{} s{}", range(&edit.query), range(&edit.source))
                })
                .collect();
            if !edits.is_empty() {
                writeln!(
                    out,
                    "     words: {} (edit cost {}, word score {})",
                    edits.join(", "),
                    e.edit_cost,
                    e.word_score
                )?;
            }
            for w in &e.warnings {
                writeln!(out, "     ! {}: {}", w.kind, w.message)?;
            }
        }
    }
    Ok(())
}

fn soak(seconds: u64, corpus: &std::path::Path) -> anyhow::Result<ExitCode> {
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
    println!("{}", serde_json::to_string(&report)?);
    Ok(if report.passed() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// `dhakira bench --repairs`: see [`dhakira::bench::run_repairs`].
fn bench_repairs(corpus: &std::path::Path) -> anyhow::Result<ExitCode> {
    let mut pairs = Vec::new();
    for file in dhakira::bench::NEWS_FILES {
        pairs.extend(dhakira::bench::read_pairs(&corpus.join(file))?);
    }
    let report = dhakira::bench::run_repairs(&pairs, usize::MAX)?;
    println!(
        "repairs: {} of {} number-changed news sentences repaired right ({:.1} %); repeated numbers {} of {}; number not in the target: {} of {} declined; {} skipped (changed sentence stored)",
        report.correct, report.checked, 100.0 * report.share(), report.repeated_correct, report.repeated_checked,
        report.declined, report.not_in_target, report.skipped_stored
    );
    for (category, count) in &report.failures {
        println!("  {count:>5}  {category}");
    }
    println!("{}", serde_json::to_string(&report)?);
    Ok(ExitCode::SUCCESS)
}

fn bench(args: BenchArgs) -> anyhow::Result<ExitCode> {
    use dhakira::bench::{read_corpus, run_grpc, run_in_process, Settings, Workload};
    if args.repairs {
        return bench_repairs(&args.corpus.clone().unwrap_or_else(dhakira::bench::corpus_dir));
    }
    let lang = dhakira::Lang::parse(&args.lang, "--lang")?;
    let pairs = read_corpus(&args.corpus.clone().unwrap_or_else(dhakira::bench::corpus_dir))?;
    let mut workload = Workload::new(pairs, args.seed);
    let mut units = workload.units(args.units.saturating_sub(args.templates));
    units.extend(workload.template_units(args.templates.min(args.units)));
    if let Some(path) = &args.write_tmx {
        let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let bytes = dhakira::bench::write_tmx(&units, file)?;
        println!("{} units written to {} ({:.0} MB)", units.len(), path.display(), bytes as f64 / 1e6);
        return Ok(ExitCode::SUCCESS);
    }
    let queries = if args.concordance {
        anyhow::ensure!(args.grpc.is_none(), "--concordance: runs in-process only (without --grpc)");
        workload.phrases(&units, args.queries, lang)
    } else if args.templates > 0 {
        workload.template_queries(args.queries, lang)
    } else {
        workload.queries(&units, args.queries, lang)
    };
    let settings = Settings {
        lang,
        min_score: args.min_score,
        max_results: args.max_results,
        recall_sample: if args.check_recall { args.recall_sample } else { 0 },
        memories: args.memories,
        cascade: args.cascade,
        filter_domain: args.filter_domain.clone(),
        concordance: args.concordance,
    };
    settings.spread(&mut units);
    if let (Some(url), Some(file)) = (&args.grpc, &args.import_file) {
        let runtime = tokio::runtime::Runtime::new()?;
        let report = runtime.block_on(dhakira::bench::run_import_while_serving(
            &server_url(url),
            file,
            queries,
            &settings,
            args.concurrency,
        ))?;
        println!(
            "import over gRPC: {} units read, {} added in {:.1} s: {:.0} units/s; meanwhile {} lookups (concurrency {}): p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
            report.units_read, report.added, report.import_s, report.units_per_s, report.lookups, report.concurrency,
            report.lookup_p50_ms, report.lookup_p99_ms, report.lookup_max_ms
        );
        println!("{}", serde_json::to_string(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    let report = match &args.grpc {
        Some(url) => {
            let runtime = tokio::runtime::Runtime::new()?;
            let load = args.load.then_some(units);
            runtime.block_on(run_grpc(&server_url(url), load, queries, &settings, args.concurrency))?
        }
        None => {
            let tm = match &args.db {
                Some(path) => TranslationMemory::open(path)?,
                None => TranslationMemory::in_memory(),
            };
            let started = std::time::Instant::now();
            let bar = ProgressBar::new(units.len() as u64).with_style(ProgressStyle::with_template(
                "building memory [{bar:30}] {pos}/{len} {per_sec} ETA {eta}",
            )?);
            for chunk in units.chunks(10_000) {
                tm.add_units(chunk.to_vec())?;
                bar.inc(chunk.len() as u64);
            }
            bar.finish_and_clear();
            run_in_process(&tm, &queries, &settings, started.elapsed())?
        }
    };
    println!(
        "{} {} ({}, {} units, min_score {}, max_results {}, {}): p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms, {:.0}/s, {:.0} % with a match",
        report.queries,
        if args.concordance { "concordance searches" } else { "lookups" },
        report.lang,
        report.units,
        report.min_score,
        report.max_results,
        if report.mode == "grpc" { format!("gRPC, concurrency {}", report.concurrency) } else { "one thread in-process".into() },
        report.p50_ms,
        report.p90_ms,
        report.p99_ms,
        report.max_ms,
        report.qps,
        report.hit_rate * 100.0,
    );
    if let Some(recall) = report.recall {
        println!(
            "recall: {:.4} ({} sampled queries, index vs the reference implementation)",
            recall, report.recall_sample
        );
    }
    println!("memory built in {:.1} s, RSS {:.0} MiB", report.build_s, report.rss_mb);
    println!("{}", serde_json::to_string(&report)?);
    Ok(ExitCode::SUCCESS)
}

/// Logs to stderr at `default` level, or as `RUST_LOG` says.
fn init_logging(default: &str, format: LogFormat) {
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
