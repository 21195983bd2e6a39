//! A throw-away PostgreSQL cluster for tests: `initdb` into a temporary
//! folder, `pg_ctl start` on a free port of 127.0.0.1, stopped (and its
//! folder removed) on drop. As `clients/python/weblate.sh` does: the binaries
//! come from `/usr/lib/postgresql/*/bin` (the newest) or `PATH`, and when the
//! tests run as root the cluster runs as the `postgres` user (PostgreSQL
//! refuses root). A missing PostgreSQL fails the test, saying what to run.
//!
//! This file is shared: the library's unit tests include it as a module, the
//! integration tests with `#[path]`; it uses only `std` and `tempfile`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Says what to do when PostgreSQL is missing.
const INSTALL: &str = "PostgreSQL's initdb and pg_ctl are needed by this test: run `bash .ci/postgres-deps` \
                       (Debian's `postgresql` package)";

/// A running cluster, stopped on drop.
pub struct Cluster {
    bin: PathBuf,
    /// The data directory, inside `dir`.
    data: PathBuf,
    pub port: u16,
    /// Runs commands as `postgres` when we are root.
    as_postgres: bool,
    dir: tempfile::TempDir,
}

/// The folder of `initdb` and `pg_ctl`.
fn bin_dir() -> PathBuf {
    let mut found: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version =
                entry.file_name().to_str()?.split('.').map(|n| n.parse().ok()).collect::<Option<Vec<u32>>>()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    found.sort();
    if let Some((_, bin)) = found.pop() {
        return bin;
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file());
    on_path.unwrap_or_else(|| panic!("{INSTALL}: neither /usr/lib/postgresql/*/bin nor PATH has initdb"))
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|out| out.stdout.trim_ascii() == b"0")
}

/// A port nobody listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

impl Cluster {
    /// A new cluster with a superuser `dhakira` (trust authentication on
    /// 127.0.0.1) and a database `dhakira`.
    pub fn start() -> Cluster {
        let bin = bin_dir();
        let dir = tempfile::Builder::new().prefix("dhakira-pg").tempdir().expect("a temporary folder");
        let as_postgres = is_root();
        if as_postgres {
            // The cluster's user must reach its folder.
            run(Command::new("chmod").arg("755").arg(dir.path()), "chmod");
            run(Command::new("chown").arg("postgres:").arg(dir.path()), "chown postgres");
        }
        let data = dir.path().join("data");
        let mut cluster = Cluster { bin, data, port: 0, as_postgres, dir };
        let mut initdb = cluster.command("initdb");
        initdb.arg("-D").arg(&cluster.data).args(["-U", "dhakira", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"]);
        initdb.arg("--no-sync");
        run(&mut initdb, "initdb");
        cluster.start_on_free_port();
        let mut createdb = Command::new(cluster.bin.join("createdb"));
        createdb.args(["-h", "127.0.0.1", "-p", &cluster.port.to_string(), "-U", "dhakira", "dhakira"]);
        run(&mut createdb, "createdb");
        cluster
    }

    /// A command of the cluster's binaries, run as its owner.
    fn command(&self, name: &str) -> Command {
        let program = self.bin.join(name);
        if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }

    fn start_on_free_port(&mut self) {
        // Another process may take the port between the probe and the start.
        for attempt in 0..5 {
            self.port = free_port();
            if self.pg_ctl_start(attempt == 4) {
                return;
            }
        }
    }

    /// Starts the server on `self.port`; false when it did not start (and
    /// `must` is false).
    fn pg_ctl_start(&self, must: bool) -> bool {
        let options = format!("-h 127.0.0.1 -p {} -k {} -c max_connections=60", self.port, self.dir.path().display());
        let mut start = self.command("pg_ctl");
        start.arg("start").arg("-w").arg("-D").arg(&self.data).arg("-l").arg(self.log()).args(["-o", &options]);
        let status = start.stdout(Stdio::null()).status().unwrap_or_else(|err| panic!("{INSTALL}: pg_ctl: {err}"));
        if !status.success() && must {
            panic!(
                "pg_ctl start failed ({status}); its log:\n{}",
                std::fs::read_to_string(self.log()).unwrap_or_default()
            );
        }
        status.success()
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("postgres.log")
    }

    /// `postgres://dhakira@127.0.0.1:PORT/DATABASE`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://dhakira@127.0.0.1:{}/{database}", self.port)
    }

    /// A new, empty database; its URL.
    pub fn new_database(&self, name: &str) -> String {
        let mut createdb = Command::new(self.bin.join("createdb"));
        createdb.args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "dhakira", name]);
        run(&mut createdb, "createdb");
        self.url(name)
    }

    /// Runs SQL with `psql` in `database`; its output (unaligned, tuples only).
    pub fn psql(&self, database: &str, sql: &str) -> String {
        let out = Command::new(self.bin.join("psql"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "dhakira", "-X", "-A", "-t", "-q"])
            .args(["-v", "ON_ERROR_STOP=1", "-d", database, "-c", sql])
            .output()
            .unwrap_or_else(|err| panic!("{INSTALL}: psql: {err}"));
        assert!(out.status.success(), "psql {sql:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Stops the server as a crash would (`pg_ctl stop -m immediate`: no
    /// checkpoint; the next start replays the WAL).
    pub fn kill(&self) {
        let mut stop = self.command("pg_ctl");
        stop.arg("stop").arg("-w").args(["-m", "immediate"]).arg("-D").arg(&self.data);
        run(stop.stdout(Stdio::null()), "pg_ctl stop -m immediate");
    }

    /// Starts the server again on the same port.
    pub fn restart(&self) {
        self.pg_ctl_start(true);
    }

    pub fn data_dir(&self) -> &Path {
        &self.data
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let mut stop = self.command("pg_ctl");
        stop.arg("stop").arg("-w").args(["-m", "immediate"]).arg("-D").arg(&self.data);
        let _ = stop.stdout(Stdio::null()).stderr(Stdio::null()).status();
    }
}

fn run(command: &mut Command, what: &str) {
    let out = command.stdin(Stdio::null()).output().unwrap_or_else(|err| panic!("{INSTALL}: {what}: {err}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
