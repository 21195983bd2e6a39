use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use dhakira::proto::translation_memory_client::TranslationMemoryClient;
use dhakira::proto::UnitInput;
use tonic::transport::Channel;

pub type Client = TranslationMemoryClient<Channel>;

/// A `dhakira serve` process on a loopback port.
pub struct Server {
    child: Child,
    pub addr: String,
    /// The database directory, when the server owns it.
    _db: Option<tempfile::TempDir>,
}

impl Server {
    /// Starts a server on a new temporary database, removed with the server.
    pub fn on_temp_db() -> Server {
        Server::on_temp_db_with(&["--no-sample"])
    }

    /// [`Server::on_temp_db`] with these flags (`--no-sample` is not
    /// implied).
    pub fn on_temp_db_with(extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let mut server = Server::start_with(dir.path(), extra);
        server._db = Some(dir);
        server
    }

    /// Starts a server on `db` without the bundled sample.
    pub fn start(db: &Path) -> Server {
        Server::start_with(db, &["--no-sample"])
    }

    pub fn start_with(db: &Path, extra: &[&str]) -> Server {
        Server::start_env(db, extra, &[])
    }

    /// [`Server::start_with`] with environment variables.
    pub fn start_env(db: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let log = std::env::var("DHAKIRA_TEST_LOG").unwrap_or("warn".into());
        Server::spawn(db, extra, &[env, &[("RUST_LOG", &log)]].concat(), Stdio::inherit())
    }

    /// [`Server::start_env`] with its log (`RUST_LOG=info`, plain lines)
    /// in the file `log`.
    pub fn start_logged(db: &Path, env: &[(&str, &str)], log: &Path) -> Server {
        let file = std::fs::File::create(log).unwrap();
        Server::spawn(db, &["--no-sample"], &[env, &[("RUST_LOG", "info")]].concat(), file.into())
    }

    fn spawn(db: &Path, extra: &[&str], env: &[(&str, &str)], stderr: Stdio) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_dhakira"))
            .args(["serve", "--addr", "127.0.0.1:0", "--db"])
            .arg(db)
            .args(extra)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("starting dhakira serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let addr = line
            .trim()
            .strip_prefix("dhakira listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from the server: {line:?}"))
            .to_owned();
        Server { child, addr, _db: None }
    }

    pub async fn client(&self) -> Client {
        let url = format!("http://{}", self.addr);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match dhakira::server::connect(&url).await {
                Ok(client) => return client,
                Err(err) if Instant::now() > deadline => panic!("cannot connect to {url}: {err}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then wait for the exit (without blocking the runtime, so
    /// clients can answer the server's GOAWAY).
    pub async fn terminate(mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The corpus: `$DHAKIRA_CORPUS`, else the repository's `data/corpus`.
pub fn corpus_dir() -> std::path::PathBuf {
    std::env::var_os("DHAKIRA_CORPUS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/corpus"))
}

/// The pairs of one corpus file (`arabic<TAB>english` lines, read by
/// `dhakira::tsv`), in file order; lines that are not a pair are skipped.
pub fn read_pairs(file: &str) -> Vec<(String, String)> {
    let path = corpus_dir().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("the corpus, {}: {err}", path.display()));
    text.lines().filter_map(|line| dhakira::tsv::parse_line(line).ok().flatten()).collect()
}

/// The pairs of every `.tsv` file of the corpus, by file name.
pub fn read_corpus() -> Vec<(String, String)> {
    let mut files: Vec<String> = std::fs::read_dir(corpus_dir())
        .expect("the corpus (data/corpus)")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".tsv"))
        .collect();
    files.sort();
    files.iter().flat_map(|file| read_pairs(file)).collect()
}

/// Up to `limit` pairs from one corpus file, in file order.
pub fn corpus_pairs(file: &str, limit: usize) -> Vec<(String, String)> {
    let mut pairs = read_pairs(file);
    pairs.truncate(limit);
    pairs
}

pub fn unit(arabic: &str, english: &str, memory: &str) -> UnitInput {
    UnitInput { arabic: arabic.into(), english: english.into(), memory: memory.into(), ..Default::default() }
}

/// A child process killed (and reaped) when dropped, so that a failing test
/// leaves no server behind.
pub struct Reaped(pub Child);

impl std::ops::Deref for Reaped {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Reaped {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
