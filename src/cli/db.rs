//! The database flags shared by the commands that open one.

use std::path::PathBuf;

use clap::Args;
use dhakira::TranslationMemory;

use super::output::{init_logging, LogFormat};

#[derive(Debug, Args)]
pub struct Db {
    /// The database: a directory (sled), created when missing, or a
    /// PostgreSQL URL (postgres://user:password@host:port/database) whose
    /// tables Dhakira creates and migrates.
    #[arg(long = "db", env = "DHAKIRA_DB", default_value = "dhakira-data")]
    pub path: PathBuf,
    /// Open a database that holds writes although its record of
    /// acknowledged commits (dhakira-acknowledged) is missing or empty, as
    /// after a restore that left it out: the record is recreated from what
    /// the store holds, with a warning. Without it such a database is
    /// refused.
    #[arg(long, env = "DHAKIRA_ACCEPT_MISSING_COMMIT_RECORD")]
    pub accept_missing_commit_record: bool,
}

impl Db {
    pub fn options(&self) -> dhakira::store::OpenOptions {
        dhakira::store::OpenOptions { accept_missing_commit_record: self.accept_missing_commit_record }
    }

    /// Whether `--db` names a PostgreSQL database.
    pub fn is_postgres(&self) -> bool {
        self.path.to_str().is_some_and(dhakira::store::postgres::is_url)
    }

    /// `--db` for logs and messages (a URL without its password).
    pub fn describe(&self) -> String {
        dhakira::store::describe(&self.path)
    }

    /// Opens the database, creating it when missing.
    pub fn open(&self) -> anyhow::Result<TranslationMemory> {
        // Warnings of opening (an accepted missing record) are shown.
        init_logging("warn", LogFormat::Text);
        Ok(TranslationMemory::open_with(&self.path, self.options())?)
    }
}

/// The database of a command that only reads (or looks up): it must exist.
#[derive(Debug, Args)]
pub struct ExistingDb {
    /// The database directory (sled), which must exist (`dhakira serve` or
    /// `dhakira import` creates one), or a PostgreSQL URL
    /// (postgres://user:password@host:port/database).
    #[arg(long = "db", env = "DHAKIRA_DB", default_value = "dhakira-data")]
    pub path: PathBuf,
    /// Open a database that holds writes although its record of
    /// acknowledged commits (dhakira-acknowledged) is missing or empty, as
    /// after a restore that left it out: the record is recreated from what
    /// the store holds, with a warning. Without it such a database is
    /// refused.
    #[arg(long, env = "DHAKIRA_ACCEPT_MISSING_COMMIT_RECORD")]
    pub accept_missing_commit_record: bool,
}

impl ExistingDb {
    /// Opens a database that must already exist: a mistyped path must not
    /// quietly become an empty memory with no matches.
    pub fn open(&self) -> anyhow::Result<TranslationMemory> {
        let postgres = self.path.to_str().is_some_and(dhakira::store::postgres::is_url);
        anyhow::ensure!(
            postgres || self.path.exists(),
            "there is no database at {} (`dhakira serve` or `dhakira import` creates one; --db chooses it)",
            self.path.display()
        );
        Db { path: self.path.clone(), accept_missing_commit_record: self.accept_missing_commit_record }.open()
    }
}
