//! The PostgreSQL [`Store`] (`--db postgres://…`).
//!
//! The client is the synchronous `postgres` crate (tokio-postgres driven by
//! a small runtime of its own per connection): the [`Store`] trait is
//! synchronous and called from blocking threads, so an async driver would
//! only be wrapped in `block_on` again. Connections are kept in a small
//! pool of this module ([`MAX_CONNECTIONS`] at most), each with its
//! statements prepared once.
//!
//! **Schema** (see [`MIGRATIONS`], applied in order by [`migrate`], each
//! recorded in `dhakira_schema_migrations`; every table is prefixed
//! `dhakira_` so that the database may hold others):
//!
//! | table | holds |
//! |-------|-------|
//! | `dhakira_units` | `id` (bigint key), `memory`, `arabic_key`, `english_key` (the [`SideKey`]s as bigint, indexed with the id), `record`: the [`Unit`] prost-encoded, then its CRC-32 (u32 LE), as sled stores it |
//! | `dhakira_unit_ids` | a sequence: each value is a block of [`ID_BLOCK`] ids |
//! | `dhakira_memories` | the memory records: `name` (C collation), `description`, `created_at_ms` |
//! | `dhakira_commits` | one row: `count`, the group commits made so far |
//! | `dhakira_changes` | the change log (migration 2): one entry per group commit, `seq`, `origin`, `at`, `units`, `memories` (see [`ChangeLog`]) |
//! | `dhakira_changes_trimmed` | one row: `seq`, the highest sequence trimmed from the log |
//!
//! **A group commit is one transaction.** [`Store::commit`] writes the
//! group's units (large runs of new units with `COPY … FROM STDIN BINARY`)
//! and memory records, takes the change-log lock ([`CHANGES_LOCK`]),
//! increments `dhakira_commits.count`, writes the group's change-log entry
//! (and its `NOTIFY`) and commits; it returns only once
//! PostgreSQL answered the `COMMIT`, so [`Store::flush`] has nothing left to
//! do. Durability is then PostgreSQL's (`fsync`, `synchronous_commit`: a
//! warning is logged at start-up when either is off).
//!
//! **Damage is refused, never served**: every unit's checksum is checked
//! when it is read, as with sled. The store remembers the highest commit
//! count it has seen; a connection (a reconnection after a failover, say)
//! or a commit that finds fewer means the database lost acknowledged
//! commits, and is refused with [`Error::Corrupt`].

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::error::SqlState;
use postgres::types::Type;
use postgres::{Client, NoTls, Statement};
use prost::Message;

use super::sled_store::{checked, with_checksum};
use super::{Change, ChangeLog, Changes, Listener, MemoryRecord, Store, Write};
use crate::error::{Error, Result};
use crate::text::Lang;
use crate::unit::{SideKey, Unit, UnitId};

/// Connections open at once; a caller waits for one when all are taken.
pub const MAX_CONNECTIONS: usize = 16;

/// Ids handed out per value of the `dhakira_unit_ids` sequence.
pub const ID_BLOCK: u64 = 1_000;

/// New units in one write group from which they go in with `COPY` rather
/// than one `INSERT` each.
const COPY_FROM: usize = 64;

/// How long a write is refused after PostgreSQL answered that its disk is
/// full (the next write after it tries again).
const DISK_FULL_PAUSE: Duration = Duration::from_secs(5);

/// How long a caller waits for a free connection.
const CHECKOUT_WAIT: Duration = Duration::from_secs(30);

/// Whether `--db` names a PostgreSQL database rather than a directory.
pub fn is_url(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

/// The migrations, in order: (version, name, SQL). Applied ones are never
/// edited; a change of schema is a new migration.
pub const MIGRATIONS: &[(i32, &str, &str)] = &[
    (
        1,
        "units, id sequence, memories, commit count",
        "CREATE TABLE dhakira_units (
         id bigint PRIMARY KEY,
         memory text NOT NULL,
         arabic_key bigint NOT NULL,
         english_key bigint NOT NULL,
         record bytea NOT NULL
     );
     CREATE INDEX dhakira_units_arabic ON dhakira_units (arabic_key, id);
     CREATE INDEX dhakira_units_english ON dhakira_units (english_key, id);
     CREATE SEQUENCE dhakira_unit_ids AS bigint MINVALUE 0 START 0;
     CREATE TABLE dhakira_memories (
         name text COLLATE \"C\" PRIMARY KEY,
         description text NOT NULL,
         created_at_ms bigint NOT NULL
     );
     CREATE TABLE dhakira_commits (
         one boolean PRIMARY KEY DEFAULT true CHECK (one),
         count bigint NOT NULL
     );
     INSERT INTO dhakira_commits (count) VALUES (0);",
    ),
    (
        2,
        "change log",
        "CREATE TABLE dhakira_changes (
             seq bigserial PRIMARY KEY,
             origin bigint NOT NULL,
             at timestamptz NOT NULL DEFAULT clock_timestamp(),
             units bigint[] NOT NULL,
             memories text[] NOT NULL
         );
         CREATE INDEX dhakira_changes_at ON dhakira_changes (at);
         CREATE TABLE dhakira_changes_trimmed (
             one boolean PRIMARY KEY DEFAULT true CHECK (one),
             seq bigint NOT NULL
         );
         INSERT INTO dhakira_changes_trimmed (seq) VALUES (0);",
    ),
];

/// A key of `pg_advisory_xact_lock` that serializes migrations when several
/// processes start at once ("dhakira" in ASCII).
const MIGRATION_LOCK: i64 = 0x64_68_61_6b_69_72_61;

/// The key of `pg_advisory_xact_lock` every group commit takes before it
/// draws its change sequence and holds until it commits: sequences then
/// commit in order, so a reader never sees a sequence before a smaller one
/// that is still to commit ("dhakira" + 1).
const CHANGES_LOCK: i64 = MIGRATION_LOCK + 1;

/// The channel of `NOTIFY` after each group commit.
pub const CHANNEL: &str = "dhakira_changes";

/// The driver's errors as the library's, the driver's error kept as the
/// source: a lost or refused connection (or a server shutting down) is
/// [`Error::Unavailable`], a full disk [`Error::DiskFull`], data PostgreSQL
/// found corrupted [`Error::Damaged`], anything else [`Error::Storage`].
impl From<postgres::Error> for Error {
    fn from(err: postgres::Error) -> Error {
        let message = err.to_string();
        let Some(code) = err.code() else {
            // No answer from the server: the connection failed or closed.
            return Error::Unavailable { message: format!("PostgreSQL: {message}"), source: Some(Box::new(err)) };
        };
        let class = code.code().get(..2).unwrap_or("");
        if *code == SqlState::DISK_FULL {
            return Error::DiskFull(format!("PostgreSQL: {message}"));
        }
        if *code == SqlState::DATA_CORRUPTED || *code == SqlState::INDEX_CORRUPTED {
            tracing::error!(error = %message, "PostgreSQL reports corrupted data");
            return Error::Damaged(format!(
                "the database is damaged: PostgreSQL reports corrupted data ({message}). It is not served as it \
                 is: restore it from a backup, or start a new database and import your last TMX export into it"
            ));
        }
        // 08: connection exceptions; 57P0x: the server is shutting down or
        // starting; 53300: too many connections; 40001/40P01: retry.
        let unavailable = class == "08"
            || *code == SqlState::ADMIN_SHUTDOWN
            || *code == SqlState::CRASH_SHUTDOWN
            || *code == SqlState::CANNOT_CONNECT_NOW
            || *code == SqlState::TOO_MANY_CONNECTIONS
            || *code == SqlState::T_R_SERIALIZATION_FAILURE
            || *code == SqlState::T_R_DEADLOCK_DETECTED
            || *code == SqlState::READ_ONLY_SQL_TRANSACTION;
        if unavailable {
            Error::Unavailable { message: format!("PostgreSQL: {message}"), source: Some(Box::new(err)) }
        } else {
            Error::storage_caused(format!("PostgreSQL: {message}"), err)
        }
    }
}

/// The location without its password, for logs and messages.
pub fn describe(url: &str) -> String {
    match url.parse::<postgres::Config>() {
        Ok(config) => {
            let host = config
                .get_hosts()
                .iter()
                .map(|host| match host {
                    postgres::config::Host::Tcp(name) => name.clone(),
                    postgres::config::Host::Unix(path) => path.display().to_string(),
                })
                .collect::<Vec<_>>()
                .join(",");
            let port = config.get_ports().iter().map(u16::to_string).collect::<Vec<_>>().join(",");
            let user = config.get_user().map(|u| format!("{u}@")).unwrap_or_default();
            let port = if port.is_empty() { String::new() } else { format!(":{port}") };
            format!("postgres://{user}{host}{port}/{}", config.get_dbname().unwrap_or(""))
        }
        Err(_) => "postgres://…".into(),
    }
}

/// One connection, its statements prepared.
struct Conn {
    client: Client,
    get: Statement,
    side: [Statement; 2],
    insert: Statement,
    replace: Statement,
    delete: Statement,
    commit: Statement,
    log: Statement,
}

impl Conn {
    fn new(mut client: Client) -> Result<Conn> {
        Ok(Conn {
            get: client.prepare("SELECT record FROM dhakira_units WHERE id = $1")?,
            side: [
                client.prepare("SELECT id FROM dhakira_units WHERE arabic_key = $1 ORDER BY id")?,
                client.prepare("SELECT id FROM dhakira_units WHERE english_key = $1 ORDER BY id")?,
            ],
            insert: client.prepare(
                "INSERT INTO dhakira_units (id, memory, arabic_key, english_key, record) VALUES ($1, $2, $3, $4, $5)",
            )?,
            replace: client.prepare(
                "UPDATE dhakira_units SET memory = $2, arabic_key = $3, english_key = $4, record = $5 WHERE id = $1",
            )?,
            delete: client.prepare("DELETE FROM dhakira_units WHERE id = $1")?,
            commit: client.prepare("UPDATE dhakira_commits SET count = count + 1 RETURNING count")?,
            log: client.prepare(
                "WITH entry AS (INSERT INTO dhakira_changes (origin, units, memories) VALUES ($1, $2, $3) RETURNING seq)
                 SELECT seq, pg_notify('dhakira_changes', seq::text) FROM entry",
            )?,
            client,
        })
    }
}

#[derive(Default)]
struct Pool {
    idle: Vec<Conn>,
    /// Connections open (idle or in use).
    open: usize,
}

/// The ids of the current block: `next..end`.
#[derive(Default)]
struct Ids {
    next: u64,
    end: u64,
}

pub struct PostgresStore {
    config: postgres::Config,
    /// The location without its password.
    described: String,
    pool: Mutex<Pool>,
    returned: Condvar,
    ids: Mutex<Ids>,
    /// The highest commit count seen: a database that shows fewer lost
    /// acknowledged commits.
    commits: AtomicU64,
    /// When PostgreSQL last answered that its disk is full.
    disk_full_at: Mutex<Option<Instant>>,
    /// This process's id in the change log.
    origin: i64,
}

/// A random id for this process's entries in the change log.
fn new_origin() -> i64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    // Positive, so that it reads well in psql.
    (hasher.finish() >> 1) as i64
}

impl PostgresStore {
    /// Connects to the database at `url`, creating or migrating Dhakira's
    /// tables.
    pub fn open(url: &str) -> Result<PostgresStore> {
        let described = describe(url);
        let mut config: postgres::Config = url.parse().map_err(|err: postgres::Error| {
            Error::invalid("db", format!("{described} is not a valid PostgreSQL connection URL: {err}"))
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        config.keepalives(true).keepalives_idle(Duration::from_secs(30));
        if config.get_application_name().is_none() {
            config.application_name("dhakira");
        }
        let store = PostgresStore {
            config,
            described,
            pool: Mutex::new(Pool::default()),
            returned: Condvar::new(),
            ids: Mutex::new(Ids::default()),
            commits: AtomicU64::new(0),
            disk_full_at: Mutex::new(None),
            origin: new_origin(),
        };
        let mut client = store.connect_client()?;
        migrate(&mut client)?;
        for setting in ["fsync", "synchronous_commit"] {
            let row = client.query_one(&format!("SHOW {setting}"), &[])?;
            let value: String = row.try_get(0)?;
            if value == "off" {
                tracing::warn!(
                    database = %store.described,
                    "PostgreSQL runs with {setting} = off: a crash of PostgreSQL may lose acknowledged writes"
                );
            }
        }
        let conn = store.prepare(client)?;
        store.checkin(conn);
        store.pool.lock().open += 1;
        Ok(store)
    }

    /// The location, without its password.
    pub fn describe(&self) -> &str {
        &self.described
    }

    fn connect_client(&self) -> Result<Client> {
        self.config.connect(NoTls).map_err(|err| match Error::from(err) {
            Error::Unavailable { message, source } => {
                Error::Unavailable { message: format!("cannot connect to {}: {message}", self.described), source }
            }
            other => other,
        })
    }

    /// A connection's statements, once its commit count is checked.
    fn prepare(&self, mut client: Client) -> Result<Conn> {
        // What was seen before the read: another connection of this store
        // may commit, and record a higher count, while it runs.
        let seen = self.commits.load(Ordering::SeqCst);
        let count: i64 = client.query_one("SELECT count FROM dhakira_commits", &[])?.try_get(0)?;
        self.check_commits(count, seen)?;
        Conn::new(client)
    }

    /// Refuses a database that holds fewer commits (`count`, read) than
    /// this store had seen before reading it (`seen`).
    fn check_commits(&self, count: i64, seen: u64) -> Result<()> {
        let count = u64::try_from(count).map_err(|_| Error::Corrupt {
            key: "dhakira_commits".into(),
            reason: format!("a negative commit count, {count}"),
        })?;
        self.commits.fetch_max(count, Ordering::SeqCst);
        if count < seen {
            tracing::error!(database = %self.described, count, seen, "the database lost acknowledged commits");
            return Err(Error::Corrupt {
                key: "dhakira_commits".into(),
                reason: format!(
                    "the database at {} holds {count} group commits but {seen} were acknowledged: acknowledged \
                     writes are missing (restored from an older backup, or a failover to a replica that was \
                     behind). It is not served. Restore the newest backup, or start a new database and import \
                     your last TMX export into it",
                    self.described
                ),
            });
        }
        Ok(())
    }

    /// A connection: an idle one, or a new one while fewer than
    /// [`MAX_CONNECTIONS`] are open.
    fn checkout(&self) -> Result<Conn> {
        let deadline = Instant::now() + CHECKOUT_WAIT;
        let mut pool = self.pool.lock();
        loop {
            if let Some(conn) = pool.idle.pop() {
                return Ok(conn);
            }
            if pool.open < MAX_CONNECTIONS {
                pool.open += 1;
                drop(pool);
                let conn = self.connect_client().and_then(|client| self.prepare(client));
                if conn.is_err() {
                    self.pool.lock().open -= 1;
                    self.returned.notify_one();
                }
                return conn;
            }
            if self.returned.wait_until(&mut pool, deadline).timed_out() {
                return Err(Error::Busy(format!(
                    "all {MAX_CONNECTIONS} connections to PostgreSQL are in use; retry after a short backoff"
                )));
            }
        }
    }

    fn checkin(&self, conn: Conn) {
        self.pool.lock().idle.push(conn);
        self.returned.notify_one();
    }

    /// A connection that failed or was left mid-stream is closed.
    fn discard(&self, conn: Conn) {
        drop(conn);
        self.pool.lock().open -= 1;
        self.returned.notify_one();
    }

    /// Runs `f` on a connection. A connection that broke is closed; when
    /// `retry`, `f` runs once more on a new one (reads only: a write whose
    /// connection broke may or may not have committed).
    fn with_conn<T>(&self, retry: bool, mut f: impl FnMut(&mut Conn) -> Result<T>) -> Result<T> {
        let mut attempts = if retry { 2 } else { 1 };
        loop {
            attempts -= 1;
            let mut conn = self.checkout()?;
            let result = f(&mut conn);
            let unavailable = matches!(result, Err(Error::Unavailable { .. }));
            if matches!(result, Err(Error::DiskFull(_))) {
                *self.disk_full_at.lock() = Some(Instant::now());
            }
            if unavailable || conn.client.is_closed() {
                self.discard(conn);
                if unavailable && attempts > 0 {
                    continue;
                }
            } else {
                self.checkin(conn);
            }
            return result;
        }
    }

    /// Closes every idle connection (after a failure: the next use opens
    /// new ones).
    fn close_idle(&self) {
        let idle = std::mem::take(&mut self.pool.lock().idle);
        let closed = idle.len();
        drop(idle);
        self.pool.lock().open -= closed;
        self.returned.notify_all();
    }

    /// Refuses writes as PostgreSQL would after it reported a full disk
    /// (tests of a full disk).
    #[cfg(test)]
    pub(crate) fn set_disk_full(&self) {
        *self.disk_full_at.lock() = Some(Instant::now() + Duration::from_secs(3600));
    }
}

/// Creates `dhakira_schema_migrations` and applies the missing migrations,
/// all in one transaction under an advisory lock (processes starting at once
/// wait for each other). A database migrated by a newer build is refused.
fn migrate(client: &mut Client) -> Result<()> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS dhakira_schema_migrations (
             version integer PRIMARY KEY,
             name text NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )?;
    let applied: Option<i32> = tx.query_one("SELECT max(version) FROM dhakira_schema_migrations", &[])?.try_get(0)?;
    let applied = applied.unwrap_or(0);
    let latest = MIGRATIONS.last().map_or(0, |m| m.0);
    if applied > latest {
        return Err(Error::Corrupt {
            key: "dhakira_schema_migrations".into(),
            reason: format!(
                "the database's schema is version {applied}, newer than this build of Dhakira reads (version \
                 {latest}): run a newer Dhakira on it"
            ),
        });
    }
    for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > applied) {
        tracing::info!(version, name, "migrating the PostgreSQL schema");
        tx.batch_execute(sql)?;
        tx.execute("INSERT INTO dhakira_schema_migrations (version, name) VALUES ($1, $2)", &[version, name])?;
    }
    tx.commit()?;
    Ok(())
}

/// An id as PostgreSQL's bigint.
fn sql_id(id: UnitId) -> Result<i64> {
    i64::try_from(id).map_err(|_| Error::invalid("unit_id", format!("{id} is beyond the largest id PostgreSQL holds")))
}

/// A side key as bigint (its bits unchanged).
fn sql_key(key: SideKey) -> i64 {
    key.0 as i64
}

/// A stored unit, its checksum and its id checked.
fn decode(id: i64, record: &[u8]) -> Result<Unit> {
    let damaged = |reason: &str| Error::Corrupt {
        key: format!("unit {id}"),
        reason: format!(
            "{reason}. The database is damaged and is not served as it is: restore it from a backup, or start a \
             new database and import your last TMX export into it"
        ),
    };
    let bytes = checked(record).ok_or_else(|| damaged("its checksum does not match its contents"))?;
    let unit = Unit::decode(bytes).map_err(|err| damaged(&err.to_string()))?;
    if i64::try_from(unit.id).ok() != Some(id) {
        return Err(damaged(&format!("its record holds id {}", unit.id)));
    }
    Ok(unit)
}

/// Writes `units` (new ones) in the transaction: `COPY` when they are many.
/// Runs `statement` (an insert or a replace of one unit's row) with the
/// unit's columns; returns the rows it touched.
fn write_row(tx: &mut postgres::Transaction<'_>, statement: &Statement, unit: &Unit) -> Result<u64> {
    let record = with_checksum(unit.encode_to_vec());
    let columns: [&(dyn postgres::types::ToSql + Sync); 5] = [
        &sql_id(unit.id)?,
        &unit.memory,
        &sql_key(unit.side_key(Lang::Arabic)),
        &sql_key(unit.side_key(Lang::English)),
        &record,
    ];
    Ok(tx.execute(statement, &columns)?)
}

fn insert(tx: &mut postgres::Transaction<'_>, statement: &Statement, units: &[&Unit]) -> Result<()> {
    if units.len() >= COPY_FROM {
        let sink = tx.copy_in("COPY dhakira_units (id, memory, arabic_key, english_key, record) FROM STDIN BINARY")?;
        let mut writer = BinaryCopyInWriter::new(sink, &[Type::INT8, Type::TEXT, Type::INT8, Type::INT8, Type::BYTEA]);
        for unit in units {
            let record = with_checksum(unit.encode_to_vec());
            writer.write(&[
                &sql_id(unit.id)?,
                &unit.memory,
                &sql_key(unit.side_key(Lang::Arabic)),
                &sql_key(unit.side_key(Lang::English)),
                &record,
            ])?;
        }
        writer.finish()?;
    } else {
        for unit in units {
            write_row(tx, statement, unit)?;
        }
    }
    Ok(())
}

impl Store for PostgresStore {
    fn next_id(&self) -> Result<UnitId> {
        let mut ids = self.ids.lock();
        if ids.next == ids.end {
            // A block of ids per sequence value: value v owns
            // v*ID_BLOCK+1 ..= (v+1)*ID_BLOCK.
            let value: i64 = self.with_conn(true, |conn| {
                Ok(conn.client.query_one("SELECT nextval('dhakira_unit_ids')", &[])?.try_get(0)?)
            })?;
            let value = u64::try_from(value).map_err(|_| Error::Corrupt {
                key: "dhakira_unit_ids".into(),
                reason: format!("the id sequence gave {value}"),
            })?;
            let start = value.checked_mul(ID_BLOCK).and_then(|s| s.checked_add(1)).ok_or_else(|| Error::Corrupt {
                key: "dhakira_unit_ids".into(),
                reason: format!("the id sequence is at {value}, beyond the ids a unit can have"),
            })?;
            let end = start.checked_add(ID_BLOCK).ok_or_else(|| Error::Corrupt {
                key: "dhakira_unit_ids".into(),
                reason: format!("the id sequence is at {value}, beyond the ids a unit can have"),
            })?;
            *ids = Ids { next: start, end };
        }
        let id = ids.next;
        ids.next += 1;
        Ok(id)
    }

    fn get(&self, id: UnitId) -> Result<Option<Unit>> {
        let id = match i64::try_from(id) {
            Ok(id) => id,
            Err(_) => return Ok(None),
        };
        self.with_conn(true, |conn| {
            let row = conn.client.query_opt(&conn.get, &[&id])?;
            row.map(|row| decode(id, row.try_get(0)?)).transpose()
        })
    }

    fn ids_with_side(&self, lang: Lang, key: SideKey) -> Result<Vec<UnitId>> {
        let statement = match lang {
            Lang::Arabic => 0,
            Lang::English => 1,
        };
        self.with_conn(true, |conn| {
            let rows = conn.client.query(&conn.side[statement], &[&sql_key(key)])?;
            rows.iter()
                .map(|row| {
                    let id: i64 = row.try_get(0)?;
                    UnitId::try_from(id)
                        .map_err(|_| Error::Corrupt { key: format!("unit {id}"), reason: "a negative id".into() })
                })
                .collect()
        })
    }

    fn ids_with_sides(&self, keys: &[(Lang, SideKey)]) -> Result<Vec<Vec<UnitId>>> {
        // One query per language for the whole batch instead of a round
        // trip per key: what makes a large group's duplicate check cheap.
        let mut found: Vec<Vec<UnitId>> = vec![Vec::new(); keys.len()];
        for (lang, column) in [(Lang::Arabic, "arabic_key"), (Lang::English, "english_key")] {
            let mut wanted: HashMap<i64, Vec<usize>> = HashMap::new();
            for (at, &(l, key)) in keys.iter().enumerate() {
                if l == lang {
                    wanted.entry(sql_key(key)).or_default().push(at);
                }
            }
            if wanted.is_empty() {
                continue;
            }
            let list: Vec<i64> = wanted.keys().copied().collect();
            let sql = format!("SELECT id, {column} FROM dhakira_units WHERE {column} = ANY($1) ORDER BY id");
            let rows = self.with_conn(true, |conn| Ok(conn.client.query(sql.as_str(), &[&list])?))?;
            for row in rows {
                let (id, key): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
                let id = UnitId::try_from(id)
                    .map_err(|_| Error::Corrupt { key: format!("unit {id}"), reason: "a negative id".into() })?;
                for &at in wanted.get(&key).into_iter().flatten() {
                    found[at].push(id);
                }
            }
        }
        Ok(found)
    }

    fn apply(&self, writes: &[Write]) -> Result<()> {
        self.commit(writes, &BTreeMap::new()).map(|_| ())
    }

    fn flush(&self) -> Result<()> {
        // Every group was committed by `apply`.
        Ok(())
    }

    fn check_space(&self) -> Result<()> {
        match *self.disk_full_at.lock() {
            Some(at) if at.elapsed() < DISK_FULL_PAUSE || at > Instant::now() => Err(Error::DiskFull(
                "PostgreSQL answered that its disk is full; writes are tried again a few seconds after that \
                 answer"
                    .into(),
            )),
            _ => Ok(()),
        }
    }

    fn recover(&self) -> Result<()> {
        // A failed transaction was rolled back (or its connection closed);
        // idle connections may be broken too: new ones are opened.
        self.close_idle();
        let conn = self.checkout()?;
        self.checkin(conn);
        Ok(())
    }

    fn for_each_unit(&self, f: &mut dyn FnMut(Unit) -> Result<()>) -> Result<()> {
        let mut delivered = false;
        let mut attempts = 2;
        loop {
            attempts -= 1;
            let mut conn = self.checkout()?;
            let mut stopped = false;
            let result = (|| {
                let query = "SELECT id, record FROM dhakira_units ORDER BY id";
                let mut rows = conn.client.query_raw(query, std::iter::empty::<i64>())?;
                while let Some(row) = postgres::fallible_iterator::FallibleIterator::next(&mut rows)? {
                    let id: i64 = row.try_get(0)?;
                    let unit = decode(id, row.try_get(1)?)?;
                    delivered = true;
                    if let Err(err) = f(unit) {
                        stopped = true;
                        return Err(err);
                    }
                }
                Ok(())
            })();
            // A scan left before its end leaves the connection mid-answer.
            if result.is_err() || conn.client.is_closed() {
                self.discard(conn);
            } else {
                self.checkin(conn);
            }
            match result {
                Err(Error::Unavailable { .. }) if !delivered && !stopped && attempts > 0 => continue,
                other => return other,
            }
        }
    }

    fn memories(&self) -> Result<Vec<MemoryRecord>> {
        self.with_conn(true, |conn| {
            let rows = conn.client.query(
                "SELECT name, description, created_at_ms FROM dhakira_memories ORDER BY name COLLATE \"C\"",
                &[],
            )?;
            rows.iter()
                .map(|row| {
                    Ok(MemoryRecord {
                        name: row.try_get(0)?,
                        description: row.try_get(1)?,
                        created_at_ms: row.try_get(2)?,
                    })
                })
                .collect()
        })
    }

    fn put_memory(&self, record: &MemoryRecord) -> Result<()> {
        self.commit(&[], &BTreeMap::from([(record.name.clone(), Some(record.clone()))])).map(|_| ())
    }

    fn remove_memory(&self, name: &str) -> Result<()> {
        self.commit(&[], &BTreeMap::from([(name.to_owned(), None)])).map(|_| ())
    }

    fn commit(&self, writes: &[Write], records: &BTreeMap<String, Option<MemoryRecord>>) -> Result<u64> {
        if writes.is_empty() && records.is_empty() {
            return self.with_conn(true, |conn| head(&mut conn.client));
        }
        let units: Vec<i64> = writes.iter().map(|w| sql_id(w.id())).collect::<Result<_>>()?;
        let names: Vec<&str> = records.keys().map(String::as_str).collect();
        let (count, seq) = self.with_conn(false, |conn| {
            let mut tx = conn.client.transaction()?;
            // Runs of new units go in together; other writes one by one, in
            // order.
            let mut new: Vec<&Unit> = Vec::new();
            for write in writes {
                if let Write::Put(unit) = write {
                    new.push(unit);
                    continue;
                }
                insert(&mut tx, &conn.insert, &std::mem::take(&mut new))?;
                match write {
                    Write::Put(_) => {}
                    Write::Replace { new: unit, .. } => {
                        let replaced = write_row(&mut tx, &conn.replace, unit)?;
                        if replaced == 0 {
                            insert(&mut tx, &conn.insert, &[unit])?;
                        }
                    }
                    Write::Delete(unit) => {
                        tx.execute(&conn.delete, &[&sql_id(unit.id)?])?;
                    }
                }
            }
            insert(&mut tx, &conn.insert, &new)?;
            for (name, record) in records {
                match record {
                    Some(record) => tx.execute(
                        "INSERT INTO dhakira_memories (name, description, created_at_ms) VALUES ($1, $2, $3)
                         ON CONFLICT (name) DO UPDATE SET description = excluded.description,
                                                          created_at_ms = excluded.created_at_ms",
                        &[&record.name, &record.description, &record.created_at_ms],
                    )?,
                    None => tx.execute("DELETE FROM dhakira_memories WHERE name = $1", &[name])?,
                };
            }
            // Last, so that the lock is held for as short as can be: from
            // here to the commit, group commits of every node queue up.
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&CHANGES_LOCK])?;
            let count: i64 = tx.query_one(&conn.commit, &[])?.try_get(0)?;
            // A count not above the last one seen: the database lost
            // commits; this transaction is rolled back (dropped).
            // (No other commit can be recorded meanwhile: they wait for the
            // lock this transaction holds.)
            let seen = self.commits.load(Ordering::SeqCst);
            if u64::try_from(count).is_ok_and(|count| count <= seen) {
                self.check_commits(count - 1, seen)?;
            }
            let seq: i64 = tx.query_one(&conn.log, &[&self.origin, &units, &names])?.try_get(0)?;
            tx.commit()?;
            Ok((count, seq))
        })?;
        // Checked in the transaction (the row was locked); other
        // connections of this store may have committed more since.
        self.commits.fetch_max(count.max(0) as u64, Ordering::SeqCst);
        Ok(seq.max(0) as u64)
    }

    fn change_log(&self) -> Option<&dyn ChangeLog> {
        Some(self)
    }
}

/// The highest sequence committed (the newest entry is never trimmed; 0
/// before the first).
fn head(client: &mut Client) -> Result<u64> {
    let row = client.query_one(
        "SELECT greatest((SELECT max(seq) FROM dhakira_changes), (SELECT seq FROM dhakira_changes_trimmed), 0)",
        &[],
    )?;
    let head: i64 = row.try_get(0)?;
    Ok(head.max(0) as u64)
}

impl ChangeLog for PostgresStore {
    fn origin(&self) -> i64 {
        self.origin
    }

    fn changes_after(&self, seq: u64, limit: usize) -> Result<Changes> {
        let after = i64::try_from(seq).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with_conn(true, |conn| {
            // One snapshot for the entries and the trimmed point.
            let mut tx =
                conn.client.build_transaction().isolation_level(postgres::IsolationLevel::RepeatableRead).start()?;
            let trimmed: i64 = tx.query_one("SELECT seq FROM dhakira_changes_trimmed", &[])?.try_get(0)?;
            let rows = tx.query(
                "SELECT seq, origin, (extract(epoch FROM at) * 1000)::bigint, units, memories FROM dhakira_changes
                 WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&after, &limit],
            )?;
            let head = head_in(&mut tx)?;
            tx.commit()?;
            let changes = rows
                .iter()
                .map(|row| {
                    let units: Vec<i64> = row.try_get(3)?;
                    Ok(Change {
                        seq: row.try_get::<_, i64>(0)?.max(0) as u64,
                        origin: row.try_get(1)?,
                        at_ms: row.try_get(2)?,
                        units: units.into_iter().map(|id| id.max(0) as u64).collect(),
                        memories: row.try_get(4)?,
                    })
                })
                .collect::<Result<Vec<Change>>>()?;
            Ok(Changes { changes, trimmed: trimmed.max(0) as u64, head })
        })
    }

    fn get_many(&self, ids: &[UnitId]) -> Result<Vec<Unit>> {
        let ids: Vec<i64> = ids.iter().filter_map(|&id| i64::try_from(id).ok()).collect();
        self.with_conn(true, |conn| {
            let rows =
                conn.client.query("SELECT id, record FROM dhakira_units WHERE id = ANY($1) ORDER BY id", &[&ids])?;
            rows.iter().map(|row| decode(row.try_get(0)?, row.try_get(1)?)).collect()
        })
    }

    fn listen(&self) -> Result<Box<dyn Listener>> {
        let mut client = self.connect_client()?;
        client.batch_execute(&format!("LISTEN {CHANNEL}"))?;
        Ok(Box::new(PgListener { client }))
    }

    fn trim(&self, keep: Duration) -> Result<u64> {
        let seconds = keep.as_secs_f64();
        self.with_conn(false, |conn| {
            let mut tx = conn.client.transaction()?;
            let row = tx.query_one(
                "WITH gone AS (
                     DELETE FROM dhakira_changes
                     WHERE at < clock_timestamp() - make_interval(secs => $1)
                       AND seq < (SELECT max(seq) FROM dhakira_changes)
                     RETURNING seq)
                 SELECT count(*), coalesce(max(seq), 0) FROM gone",
                &[&seconds],
            )?;
            let (removed, highest): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
            tx.execute("UPDATE dhakira_changes_trimmed SET seq = greatest(seq, $1)", &[&highest])?;
            tx.commit()?;
            Ok(removed.max(0) as u64)
        })
    }
}

/// [`head`] in a transaction.
fn head_in(tx: &mut postgres::Transaction<'_>) -> Result<u64> {
    let row = tx.query_one(
        "SELECT greatest((SELECT max(seq) FROM dhakira_changes), (SELECT seq FROM dhakira_changes_trimmed), 0)",
        &[],
    )?;
    let head: i64 = row.try_get(0)?;
    Ok(head.max(0) as u64)
}

/// A connection of its own that `LISTEN`s on [`CHANNEL`].
struct PgListener {
    client: Client,
}

impl Listener for PgListener {
    fn wait(&mut self, timeout: Duration) -> Result<bool> {
        use postgres::fallible_iterator::FallibleIterator;
        let mut notifications = self.client.notifications();
        let woke = notifications.timeout_iter(timeout).next()?.is_some();
        // Several commits may have notified: one catch-up reads them all.
        while notifications.iter().next()?.is_some() {}
        drop(notifications);
        if self.client.is_closed() {
            return Err(Error::Unavailable {
                message: "PostgreSQL: the listening connection closed".into(),
                source: None,
            });
        }
        Ok(woke)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_never_appears_in_the_description() {
        let described = describe("postgres://tm:s3cret@db.example:5433/memories?sslmode=disable");
        assert_eq!(described, "postgres://tm@db.example:5433/memories");
        assert!(!describe("postgres://tm:s3cret@[::1").contains("s3cret"));
        assert!(is_url("postgresql://x/y") && is_url("postgres://x") && !is_url("dhakira-data"));
    }

    #[test]
    fn a_record_whose_bytes_changed_or_that_names_another_id_is_refused() {
        let unit =
            Unit {
                id: 41, memory: "m".into(), arabic: "مرحبا".into(), english: "Hello".into(), ..Unit::default()
            };
        let mut record = with_checksum(unit.encode_to_vec());
        assert_eq!(decode(41, &record).unwrap(), unit);
        let err = decode(42, &record).unwrap_err().to_string();
        assert!(err.starts_with("stored record unit 42 is damaged: its record holds id 41"), "{err}");
        record[3] ^= 0x20;
        let err = decode(41, &record).unwrap_err().to_string();
        assert!(err.starts_with("stored record unit 41 is damaged: its checksum does not match"), "{err}");
    }
}
