//! The sled [`Store`].
//!
//! Key layout, in one tree:
//!
//! | key                                        | value                       |
//! |--------------------------------------------|-----------------------------|
//! | `u` + id (u64 BE)                          | the [`Unit`], prost-encoded, then its CRC-32 (u32 LE) |
//! | `meta:schema`                              | schema version (u32 BE)     |
//! | `meta:commits`                             | group commits flushed (u64 BE) |
//!
//! A unit is one key, and new units (growing ids) go at the tree's right
//! edge. The duplicate check's index (ids by [`SideKey`]) is kept in RAM
//! and rebuilt from the units when the database opens (see
//! [`super::side_index`]).
//!
//! Memory records live in a second tree, `memories`: name → [`MemoryRecord`].
//!
//! Big-endian ids make a prefix scan return units in id order. Batches hold
//! at most [`MAX_BATCH_KEYS`] keys: larger batches make sled 0.34 use a lot
//! of memory.
//!
//! **Damage is refused, never served.** Every unit carries a checksum,
//! checked whenever it is read (all of them when the index is built at
//! start-up). Beside sled, the file [`ACK_FILE`] records how many group
//! commits were acknowledged (written and synced after each flush, before
//! any answer): at start-up sled must hold at least that many, else it lost
//! acknowledged writes (a damaged or truncated log it recovered from
//! quietly) and the database is refused with what to do.
//!
//! **A failed write is retried on a fresh handle.** sled keeps failing
//! every write after an I/O error (a full disk, say), even once the cause is
//! gone; [`Store::recover`] reopens the database so that writes resume when
//! space returns. sled writes when it opens, and a handle that failed
//! cannot even read what it had not flushed, so the database directory
//! holds a reserve, [`RESERVE_FILE`] ([`RESERVE_BYTES`] of zeros): a failed
//! write deletes it and reopens the database in the space it frees, so that
//! reads (lookups, `GetUnit`, exports) go on while the disk is full. Writes
//! are refused until the reserve can be written again.
//!
//! Schema 1 had one `f` + fingerprint(memory, arabic, english) + id key per
//! unit; schemas 2 and 3 had two side keys per unit, `a` (or `e`) + side
//! key (u64 BE) + id (BE); schema 2 had no checksums. Older schemas
//! are migrated when opened (in batches, the schema version written last, so
//! an interrupted migration starts again).

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::{Mutex, RwLock, RwLockReadGuard};
use prost::Message;

use super::saved_index::{SavedIndex, SavedIndexFile};
use super::side_index::{SideIndex, SideMap, Sides};
use super::{MemoryRecord, Store, Write};
use crate::error::{Error, Result};
use crate::text::Lang;
use crate::unit::{SideKey, Unit, UnitId};

/// Most keys in one sled batch.
pub const MAX_BATCH_KEYS: usize = 1_000;

/// The file, in the database directory, that records the acknowledged
/// group commits.
pub const ACK_FILE: &str = "dhakira-acknowledged";

const UNIT: u8 = b'u';
const SCHEMA_KEY: &[u8] = b"meta:schema";
const COMMITS_KEY: &[u8] = b"meta:commits";
const SCHEMA_VERSION: u32 = 4;
/// The schema 1 fingerprint keys.
const FINGERPRINT_V1: u8 = b'f';

/// The schema 2 and 3 side keys' first bytes.
const SIDES_V3: [u8; 2] = [b'a', b'e'];

/// sled's page cache, in bytes (`DHAKIRA_CACHE_MB` overrides it). Its real
/// footprint is several times this (nodes in memory are larger than on disk):
/// with 32 MiB a 1M-unit TMX import peaks at about 330 MiB RSS, with 64 MiB
/// at 440 MiB, for 5 % more speed. Lookups read few units (their matches),
/// which the OS page cache holds anyway.
const CACHE_BYTES: u64 = 32 << 20;

/// Free space a write needs on the database's filesystem, in bytes
/// (`DHAKIRA_MIN_FREE_MB` overrides it): writes are refused below it, so
/// that sled, which cannot go on after running out of space until it is
/// reopened, never does.
const MIN_FREE_BYTES: u64 = 64 << 20;

/// The file, in the database directory, that keeps space for reopening
/// the database after a failed write.
pub const RESERVE_FILE: &str = "dhakira-reserve";

/// The size of [`RESERVE_FILE`]: room for sled to open the database.
const RESERVE_BYTES: usize = 8 << 20;

/// `DHAKIRA_UNSAFE_NO_FLUSH=1`: acknowledge writes before they are stored
/// and never flush them (the writer answers adds 100 ms before applying
/// them). Only for the crash test's control run, which must show that losses
/// are seen when they happen: it is honoured only in a build with the
/// `test-hooks` feature, which only the test build enables (through the
/// crate's dev-dependency on itself); `cargo build` and `cargo install`
/// ignore the variable.
#[cfg(feature = "test-hooks")]
pub(crate) fn unsafe_no_flush() -> bool {
    std::env::var_os("DHAKIRA_UNSAFE_NO_FLUSH").is_some_and(|v| v == "1")
}

/// Without the test hooks (`cargo build`, `cargo install`): always flush;
/// the variable is not even read.
#[cfg(not(feature = "test-hooks"))]
pub(crate) fn unsafe_no_flush() -> bool {
    false
}

/// How to open a database.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpenOptions {
    /// Open a store that holds group commits although its acknowledgment
    /// record ([`ACK_FILE`]) is missing or empty (restored without it):
    /// the record is recreated from what the store holds, with a warning.
    /// Without it such a store is refused (`--accept-missing-commit-record`).
    pub accept_missing_commit_record: bool,
}

/// sled's errors as the library's: an I/O error is [`Error::DiskFull`] or
/// [`Error::Storage`] (see [`Error::from_io`]), corrupted data is
/// [`Error::Damaged`], anything else [`Error::Storage`] with sled's error as
/// its source.
impl From<sled::Error> for Error {
    fn from(err: sled::Error) -> Error {
        match err {
            sled::Error::Io(io) => Error::from_io(io, "sled"),
            sled::Error::Corruption { at, .. } => {
                tracing::error!(?at, "sled read corrupted data");
                Error::Damaged(format!(
                    "the database is damaged: its storage engine read corrupted data. {}",
                    crate::error::REFUSED
                ))
            }
            other => Error::storage_caused(other.to_string(), other),
        }
    }
}

/// Runs `f`, which calls into sled, turning a panic inside it (sled 0.34
/// panics on some damaged files instead of returning an error) into
/// [`Error::Damaged`]. The panic is logged, not printed as a crash.
fn guarded<T>(path: &Path, doing: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    quiet_panics::install();
    let caught = quiet_panics::QUIET.with(|quiet| {
        quiet.set(quiet.get() + 1);
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        quiet.set(quiet.get() - 1);
        caught
    });
    caught.unwrap_or_else(|_| {
        let panic = quiet_panics::LAST.with(|last| last.take()).unwrap_or_default();
        tracing::error!(path = %path.display(), %panic, "sled failed (a panic, caught) while {doing}");
        // The message may reach a client: the path stays in the log.
        Err(Error::Damaged(format!(
            "the database is damaged: its storage engine (sled) failed while {doing}. {}",
            crate::error::REFUSED
        )))
    })
}

/// A panic hook that keeps quiet about panics [`guarded`] catches (it
/// remembers them for the log) and leaves every other panic to the hook
/// it replaced.
mod quiet_panics {
    use std::cell::{Cell, RefCell};
    use std::sync::Once;

    thread_local! {
        /// Calls of `guarded` running on this thread.
        pub(super) static QUIET: Cell<u32> = const { Cell::new(0) };
        /// The last panic caught quietly on this thread.
        pub(super) static LAST: RefCell<Option<String>> = const { RefCell::new(None) };
    }

    pub(super) fn install() {
        static INSTALL: Once = Once::new();
        INSTALL.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                if QUIET.with(Cell::get) > 0 {
                    let payload = info.payload();
                    let message = payload
                        .downcast_ref::<&str>()
                        .map(|m| m.to_string())
                        .or_else(|| payload.downcast_ref::<String>().cloned())
                        .unwrap_or_default();
                    let place = info.location().map(|l| format!(" ({}:{})", l.file(), l.line())).unwrap_or_default();
                    LAST.with(|last| *last.borrow_mut() = Some(format!("{message}{place}")));
                } else {
                    previous(info);
                }
            }));
        });
    }
}

pub struct SledStore {
    path: PathBuf,
    /// See [`MIN_FREE_BYTES`].
    min_free: u64,
    /// `None` only while [`Store::recover`] reopens the database.
    inner: RwLock<Option<Inner>>,
    /// [`RESERVE_FILE`] is not in place (spent by a failed write, or the
    /// disk was full at start-up): writes wait until it is written again.
    reserve_spent: AtomicBool,
    /// Group commits flushed so far (`meta:commits`).
    commits: AtomicU64,
    /// The acknowledgment record ([`ACK_FILE`]).
    ack: Mutex<File>,
    /// Ids by side key (the duplicate check's), in RAM.
    sides: SideIndex,
    /// The index kept between runs ([`super::INDEX_FILE`]).
    saved_index: SavedIndexFile,
}

struct Inner {
    db: sled::Db,
    tree: sled::Tree,
    /// Memory records: name → [`MemoryRecord`], prost-encoded.
    memories: sled::Tree,
}

impl Inner {
    fn open(path: &Path) -> Result<Inner> {
        let cache = std::env::var("DHAKIRA_CACHE_MB")
            .ok()
            .and_then(|mb| mb.parse::<u64>().ok())
            .map_or(CACHE_BYTES, |mb| mb << 20);
        let config = sled::Config::new().path(path).cache_capacity(cache);
        #[cfg(feature = "test-hooks")]
        let config = if unsafe_no_flush() {
            tracing::warn!(
                "DHAKIRA_UNSAFE_NO_FLUSH=1: writes are acknowledged before they are durable; a crash loses them"
            );
            config.flush_every_ms(None)
        } else {
            config
        };
        let db = guarded(path, "opening it", || Ok(config.open()))?.map_err(|err| match err {
            sled::Error::Io(io) if io.kind() == std::io::ErrorKind::WouldBlock || is_lock_error(&io) => {
                Error::Locked { path: path.to_owned() }
            }
            sled::Error::Io(io) if io.raw_os_error() == Some(28) => {
                Error::from_io(io, &format!("cannot open the database at {}", path.display()))
            }
            sled::Error::Corruption { at, .. } => {
                tracing::error!(path = %path.display(), ?at, "sled read corrupted data");
                Error::Damaged(format!(
                    "the database at {} is damaged: its storage engine (sled) read corrupted data. {}",
                    path.display(),
                    crate::error::REFUSED
                ))
            }
            other => Error::storage_caused(
                format!(
                    "cannot open the database at {}: {other} (--db must name a directory this process can create \
                     and write)",
                    path.display()
                ),
                other,
            ),
        })?;
        guarded(path, "reading it", || Inner::prepare(db))
    }

    /// The trees, the schema checked (older schemas migrated).
    fn prepare(db: sled::Db) -> Result<Inner> {
        let tree = db.open_tree("units")?;
        match tree.get(SCHEMA_KEY)? {
            None => {
                tree.insert(SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes())?;
            }
            Some(v) if v.as_ref() == SCHEMA_VERSION.to_be_bytes() => {}
            Some(v) if [1u32, 2, 3].iter().any(|old| v.as_ref() == old.to_be_bytes()) => {
                if v.as_ref() == 1u32.to_be_bytes() {
                    migrate_from_v1(&tree)?;
                }
                if v.as_ref() != 3u32.to_be_bytes() {
                    migrate_from_v2(&tree)?;
                }
                migrate_from_v3(&tree)?;
                db.flush()?;
            }
            Some(v) => {
                return Err(Error::Corrupt {
                    key: "meta:schema".into(),
                    reason: format!("unknown schema version {v:?}; this build reads version {SCHEMA_VERSION}"),
                })
            }
        }
        let memories = db.open_tree("memories")?;
        Ok(Inner { db, tree, memories })
    }

    fn commits(&self) -> Result<u64> {
        Ok(match self.tree.get(COMMITS_KEY)? {
            Some(v) => u64::from_be_bytes(v.as_ref().try_into().map_err(|_| Error::Corrupt {
                key: "meta:commits".into(),
                reason: format!("{} bytes, not 8", v.len()),
            })?),
            None => 0,
        })
    }
}

impl SledStore {
    /// Opens (or creates) the database in `path`, refusing it when it holds
    /// fewer group commits than were acknowledged, or when it holds some
    /// and the record of them is missing.
    pub fn open(path: &Path) -> Result<SledStore> {
        SledStore::open_with(path, OpenOptions::default())
    }

    /// [`SledStore::open`] with options.
    pub fn open_with(path: &Path, options: OpenOptions) -> Result<SledStore> {
        let inner = Inner::open(path)?;
        let commits = guarded(path, "reading it", || inner.commits())?;
        let ack_path = path.join(ACK_FILE);
        let missing = ack_record_missing(path, &ack_path, commits, &options)?;
        let ack = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&ack_path)
            .map_err(|err| Error::storage_caused(format!("cannot open {}: {err}", ack_path.display()), err))?;
        let acknowledged = read_ack(&ack, &ack_path)?;
        if acknowledged > commits {
            return Err(Error::Corrupt {
                key: ACK_FILE.into(),
                reason: format!(
                    "the database at {} holds {commits} group commits but {acknowledged} were acknowledged: \
                     acknowledged writes are missing (its log was damaged or truncated). It is not served. \
                     Restore the directory from a backup, or start a new database and import your last TMX \
                     export into it (`dhakira import export.tmx --db NEW_DIR`)",
                    path.display()
                ),
            });
        }
        let min_free = std::env::var("DHAKIRA_MIN_FREE_MB")
            .ok()
            .and_then(|mb| mb.parse::<u64>().ok())
            .map_or(MIN_FREE_BYTES, |mb| mb << 20);
        let store = SledStore {
            path: path.to_owned(),
            min_free,
            inner: RwLock::new(Some(inner)),
            reserve_spent: AtomicBool::new(false),
            commits: AtomicU64::new(commits),
            ack: Mutex::new(ack),
            sides: SideIndex::new(),
            saved_index: SavedIndexFile::new(path),
        };
        // A new database (or one written before this record existed) starts
        // it now; its directory entry is made durable too.
        store.write_ack(commits)?;
        if missing {
            File::open(path)
                .and_then(|dir| dir.sync_all())
                .map_err(|err| Error::from_io(err, &format!("cannot record {ACK_FILE} in {}", path.display())))?;
        }
        match store.write_reserve() {
            Ok(()) => {}
            Err(err @ Error::DiskFull(_)) => {
                tracing::warn!(error = %err, "no room for the reserve: writes are refused until there is");
                store.reserve_spent.store(true, Ordering::SeqCst);
            }
            Err(err) => return Err(err),
        }
        Ok(store)
    }

    /// [`Store::check_space`], the kept index left in place.
    fn check_space_once(&self) -> Result<()> {
        if self.reserve_spent.load(Ordering::SeqCst) {
            let needed = RESERVE_BYTES as u64 + self.min_free;
            let free = self.free_bytes()?;
            if free < needed {
                return Err(Error::DiskFull(format!(
                    "{} MiB free where the database is; writes resume once {} MiB are free",
                    free >> 20,
                    needed.div_ceil(1 << 20)
                )));
            }
            self.write_reserve()?;
            self.reserve_spent.store(false, Ordering::SeqCst);
        }
        let free = self.free_bytes()?;
        if free < self.min_free {
            return Err(Error::DiskFull(format!(
                "{} MiB free where the database is, and writes need {} MiB (DHAKIRA_MIN_FREE_MB)",
                free >> 20,
                self.min_free >> 20
            )));
        }
        Ok(())
    }

    /// The open database; reopened first if a failed reopen left none.
    fn inner(&self) -> Result<parking_lot::MappedRwLockReadGuard<'_, Inner>> {
        if let Ok(inner) = RwLockReadGuard::try_map(self.inner.read(), Option::as_ref) {
            return Ok(inner);
        }
        self.reopen()?;
        RwLockReadGuard::try_map(self.inner.read(), Option::as_ref)
            .map_err(|_| Error::storage("the database could not be reopened after a failure; retry"))
    }

    /// Drops the database handle and opens the directory again.
    fn reopen(&self) -> Result<()> {
        let mut slot = self.inner.write();
        // The old handle goes first: it holds the directory's lock.
        drop(slot.take());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let opened = loop {
            match Inner::open(&self.path) {
                Err(Error::Locked { .. }) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20))
                }
                other => {
                    break other.and_then(|inner| Ok((guarded(&self.path, "reading it", || inner.commits())?, inner)))
                }
            }
        };
        // The error goes to a client: its path and details stay in the log.
        let (commits, inner) = opened.map_err(|err| {
            tracing::error!(path = %self.path.display(), error = %err, "cannot reopen the database");
            match err {
                Error::DiskFull(_) => Error::DiskFull("no room to reopen the database after a failed write".into()),
                Error::Damaged(_) | Error::Corrupt { .. } => Error::Damaged(
                    "the database could not be reopened after a failed write: it is damaged (the server's log \
                     has the details)"
                        .into(),
                ),
                _ => Error::storage(
                    "the database could not be reopened after a failed write (the server's log has the details); \
                     retry",
                ),
            }
        })?;
        self.commits.store(commits, Ordering::SeqCst);
        *slot = Some(inner);
        tracing::info!(path = %self.path.display(), "database reopened after a failed write");
        Ok(())
    }

    /// Reads every unit's sides into `map` (see [`super::side_index`]), on
    /// every core.
    fn scan_sides(&self, map: &mut SideMap) -> Result<()> {
        let started = std::time::Instant::now();
        let units = self.scan_adding_sides(cores(), MIN_SPLIT_IDS, map, |_, _| Ok(()))?;
        tracing::debug!(units, ms = started.elapsed().as_millis() as u64, "index of sides built");
        Ok(())
    }

    /// [`SledStore::scan_units_split`] with `f`, each unit's sides added to
    /// `map` on the way: hashed on the range's thread, added a batch at a
    /// time. Returns the units read.
    fn scan_adding_sides(
        &self,
        parts: usize,
        min_ids: u64,
        map: &mut SideMap,
        f: impl Fn(usize, Unit) -> Result<()> + Sync,
    ) -> Result<u64> {
        let map = Mutex::new(map);
        let batches = self.scan_units_split(
            parts,
            min_ids,
            || (Vec::with_capacity(SIDES_BATCH), 0u64),
            |(batch, units), part, unit| {
                batch.push(Sides::of(&unit));
                *units += 1;
                if batch.len() == SIDES_BATCH {
                    map.lock().add_sides(batch.drain(..));
                }
                f(part, unit)
            },
        )?;
        let map = map.into_inner();
        let mut units = 0;
        for (mut batch, count) in batches {
            map.add_sides(batch.drain(..));
            units += count;
        }
        Ok(units)
    }

    /// Every stored unit, checksums checked: `f(state, part, unit)` for
    /// each, the ids cut into at most `parts` ranges of at least `min_ids`
    /// ids, each read on a thread of its own with a state `init` made for it
    /// (returned, in the ranges' order). The first error stops every range.
    fn scan_units_split<S: Send>(
        &self,
        parts: usize,
        min_ids: u64,
        init: impl Fn() -> S + Sync,
        f: impl Fn(&mut S, usize, Unit) -> Result<()> + Sync,
    ) -> Result<Vec<S>> {
        let inner = self.inner()?;
        let bounds = guarded(&self.path, "reading every unit", || unit_bounds(&inner.tree))?;
        let ranges = match bounds {
            Some((first, last)) => split_ids(first, last, parts, min_ids),
            None => Vec::new(),
        };
        if ranges.len() <= 1 {
            drop(inner);
            let mut state = init();
            self.scan_units(&mut |unit| f(&mut state, 0, unit))?;
            return Ok(vec![state]);
        }
        let stop = AtomicBool::new(false);
        let tree = &inner.tree;
        let (init, f, stop) = (&init, &f, &stop);
        let read = |part: usize, (lo, hi): (UnitId, UnitId)| -> Result<S> {
            let mut state = init();
            let mut items = tree.range(unit_key(lo)..=unit_key(hi));
            let outcome = (|| {
                while let Some(item) = guarded(&self.path, "reading every unit", || Ok(items.next()))? {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let (key, value) = item?;
                    f(&mut state, part, decode(&key, &value)?)?;
                }
                Ok(())
            })();
            if outcome.is_err() {
                stop.store(true, Ordering::Relaxed);
            }
            outcome.map(|()| state)
        };
        let read = &read;
        let outcomes: Vec<Result<S>> = std::thread::scope(|scope| {
            let threads: Vec<_> = ranges
                .iter()
                .enumerate()
                .map(|(part, &range)| {
                    std::thread::Builder::new()
                        .name(format!("dhakira-scan-{part}"))
                        .spawn_scoped(scope, move || read(part, range))
                        .expect("spawning a scan thread")
                })
                .collect();
            // A panic of `f` goes on in this thread, as it would unsplit.
            threads
                .into_iter()
                .map(|thread| thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
                .collect()
        });
        outcomes.into_iter().collect()
    }

    /// Every stored unit, in id order, checksums checked.
    fn scan_units(&self, f: &mut dyn FnMut(Unit) -> Result<()>) -> Result<()> {
        let inner = self.inner()?;
        let mut items = inner.tree.scan_prefix([UNIT]);
        // Only sled's part is guarded: a panic of `f` is not damage.
        while let Some(item) = guarded(&self.path, "reading every unit", || Ok(items.next()))? {
            let (key, value) = item?;
            f(decode(&key, &value)?)?;
        }
        Ok(())
    }

    /// Writes below this much free space are refused (tests of a full disk).
    #[cfg(test)]
    pub(crate) fn set_min_free(&mut self, bytes: u64) {
        self.min_free = bytes;
    }

    /// Takes the last group commit out of the count sled holds, as a
    /// damaged or truncated log would, leaving the acknowledgment record as
    /// it is (tests of the check at start-up).
    #[cfg(test)]
    pub(crate) fn lose_last_commit(&self) {
        let inner = self.inner().unwrap();
        let commits = inner.commits().unwrap();
        inner.tree.insert(COMMITS_KEY, &commits.saturating_sub(1).to_be_bytes()).unwrap();
        inner.db.flush().unwrap();
    }

    /// Writes [`RESERVE_FILE`] (synced) unless it is there in full.
    fn write_reserve(&self) -> Result<()> {
        let path = self.path.join(RESERVE_FILE);
        if std::fs::metadata(&path).is_ok_and(|m| m.len() == RESERVE_BYTES as u64) {
            return Ok(());
        }
        let written = File::create(&path).and_then(|mut file| {
            std::io::Write::write_all(&mut file, &vec![0u8; RESERVE_BYTES])?;
            file.sync_all()
        });
        written.map_err(|err| {
            let _ = std::fs::remove_file(&path);
            Error::from_io(err, &format!("cannot write the reserve {RESERVE_FILE}"))
        })
    }

    /// Free space on the database's filesystem, in bytes.
    fn free_bytes(&self) -> Result<u64> {
        let stat = rustix::fs::statvfs(&self.path).map_err(|err| {
            tracing::error!(path = %self.path.display(), error = %err, "cannot read the free space");
            Error::storage_caused(format!("cannot read the free space where the database is: {err}"), err)
        })?;
        Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
    }

    /// Records `commits` acknowledged group commits, durably.
    fn write_ack(&self, commits: u64) -> Result<()> {
        let mut record = [0u8; 12];
        record[..8].copy_from_slice(&commits.to_le_bytes());
        let crc = crc32fast::hash(&record[..8]);
        record[8..].copy_from_slice(&crc.to_le_bytes());
        let file = self.ack.lock();
        file.write_all_at(&record, 0)
            .and_then(|()| file.sync_data())
            .map_err(|err| Error::from_io(err, &format!("cannot record the commit in {ACK_FILE}")))
    }
}

/// Whether the record of acknowledged commits at `ack_path` is missing or
/// empty; a database that holds commits without it is not opened unless
/// `options.accept_missing_commit_record`.
fn ack_record_missing(path: &Path, ack_path: &Path, commits: u64, options: &OpenOptions) -> Result<bool> {
    let missing = match std::fs::metadata(ack_path) {
        Ok(meta) => meta.len() == 0,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => true,
        Err(err) => return Err(Error::storage_caused(format!("cannot read {}: {err}", ack_path.display()), err)),
    };
    if missing && commits > 0 {
        if !options.accept_missing_commit_record {
            return Err(Error::Damaged(format!(
                "the database at {} holds {commits} group commits, but its record of acknowledged commits \
                 ({ACK_FILE}) is missing or empty, so whether acknowledged writes are missing cannot be \
                 checked (was it restored without it? a backup is the whole directory). It is not served. \
                 Restore the whole directory from a backup; or, if you know this store holds every \
                 acknowledged write, open it once with --accept-missing-commit-record \
                 (DHAKIRA_ACCEPT_MISSING_COMMIT_RECORD=1), which recreates the record from what it holds",
                path.display()
            )));
        }
        tracing::warn!(
            path = %path.display(),
            commits,
            "--accept-missing-commit-record: the record of acknowledged commits ({ACK_FILE}) was missing or \
             empty; it is recreated from the {commits} group commits the store holds, which cannot be checked"
        );
    }
    Ok(missing)
}

/// The acknowledged group commits an [`ACK_FILE`] records (0 when empty).
fn read_ack(file: &File, path: &Path) -> Result<u64> {
    let mut record = [0u8; 12];
    let len = file
        .metadata()
        .map_err(|err| Error::storage_caused(format!("cannot read {}: {err}", path.display()), err))?
        .len();
    if len == 0 {
        return Ok(0);
    }
    let damaged = |reason: String| Error::Corrupt {
        key: ACK_FILE.into(),
        reason: format!(
            "{} is damaged ({reason}): the acknowledged writes cannot be checked. Restore the directory from a \
             backup, or start a new database and import your last TMX export into it",
            path.display()
        ),
    };
    if len != 12 {
        return Err(damaged(format!("{len} bytes, not 12")));
    }
    file.read_exact_at(&mut record, 0).map_err(|err| damaged(err.to_string()))?;
    if crc32fast::hash(&record[..8]).to_le_bytes() != record[8..] {
        return Err(damaged("its checksum does not match".into()));
    }
    Ok(u64::from_le_bytes(record[..8].try_into().expect("8 bytes")))
}

/// Writes applied in sled batches of at most [`MAX_BATCH_KEYS`] keys, for
/// the migrations.
struct Batches<'a> {
    tree: &'a sled::Tree,
    batch: sled::Batch,
    keys: usize,
}

impl<'a> Batches<'a> {
    fn new(tree: &'a sled::Tree) -> Batches<'a> {
        Batches { tree, batch: sled::Batch::default(), keys: 0 }
    }

    fn insert(&mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        self.batch.insert(key.as_ref(), value.as_ref());
        self.count()
    }

    fn remove(&mut self, key: impl AsRef<[u8]>) -> Result<()> {
        self.batch.remove(key.as_ref());
        self.count()
    }

    fn count(&mut self) -> Result<()> {
        self.keys += 1;
        if self.keys >= MAX_BATCH_KEYS {
            self.tree.apply_batch(std::mem::take(&mut self.batch))?;
            self.keys = 0;
        }
        Ok(())
    }

    /// Applies what is left and flushes.
    fn finish(self) -> Result<()> {
        self.tree.apply_batch(self.batch)?;
        self.tree.flush()?;
        Ok(())
    }
}

/// Schema 1 to 2: the fingerprint keys go (schema 2 added side keys, which
/// schema 4 no longer stores), then the version changes. Every step may be
/// repeated after a crash.
fn migrate_from_v1(tree: &sled::Tree) -> Result<()> {
    tracing::info!("migrating the database from schema 1 to 2 (no fingerprint keys)");
    let mut batches = Batches::new(tree);
    for key in tree.scan_prefix([FINGERPRINT_V1]).keys() {
        batches.remove(key?)?;
    }
    batches.finish()?;
    tree.insert(SCHEMA_KEY, &2u32.to_be_bytes())?;
    Ok(())
}

/// Schema 2 to 3: a checksum after every unit. A value whose last four
/// bytes are already its checksum was migrated before a crash.
fn migrate_from_v2(tree: &sled::Tree) -> Result<()> {
    tracing::info!("migrating the database from schema 2 to 3 (checksums)");
    let mut batches = Batches::new(tree);
    for item in tree.scan_prefix([UNIT]) {
        let (key, value) = item?;
        if checked(&value).is_none() {
            decode_unchecked(&key, &value)?;
            batches.insert(key, with_checksum(value.to_vec()))?;
        }
    }
    batches.finish()?;
    tree.insert(SCHEMA_KEY, &3u32.to_be_bytes())?;
    Ok(())
}

/// Schema 3 to 4: the side keys go (the duplicate check's index is kept in
/// RAM, built from the units).
fn migrate_from_v3(tree: &sled::Tree) -> Result<()> {
    tracing::info!("migrating the database from schema 3 to 4 (side keys kept in RAM)");
    let mut batches = Batches::new(tree);
    for tag in SIDES_V3 {
        for key in tree.scan_prefix([tag]).keys() {
            batches.remove(key?)?;
        }
    }
    batches.finish()?;
    tree.insert(SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes())?;
    Ok(())
}

/// A unit's encoding followed by its CRC-32.
pub(super) fn with_checksum(mut bytes: Vec<u8>) -> Vec<u8> {
    let crc = crc32fast::hash(&bytes);
    bytes.extend_from_slice(&crc.to_le_bytes());
    bytes
}

/// The encoding inside a stored value, when its checksum holds.
pub(super) fn checked(value: &[u8]) -> Option<&[u8]> {
    let (bytes, crc) = value.split_at_checked(value.len().checked_sub(4)?)?;
    (crc32fast::hash(bytes).to_le_bytes() == crc).then_some(bytes)
}

fn is_lock_error(io: &std::io::Error) -> bool {
    io.to_string().contains("lock")
}

/// Ranges of fewer ids are not read on threads of their own when the
/// sides are scanned: a small store is read in one stream. (The unit tests
/// split from a few dozen units, so that every scan of theirs that builds
/// the sides reads ranges at once.)
const MIN_SPLIT_IDS: u64 = if cfg!(test) { 16 } else { 1 << 16 };

/// Units' sides hashed by a scan thread before they are added to the
/// index of sides under its lock.
const SIDES_BATCH: usize = 4_096;

/// The cores a split scan reads on.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The ids of the first and the last stored unit; `None` when there is
/// none.
fn unit_bounds(tree: &sled::Tree) -> Result<Option<(UnitId, UnitId)>> {
    let id = |key: &[u8]| match key {
        [UNIT, id @ ..] => <[u8; 8]>::try_from(id).ok().map(u64::from_be_bytes),
        _ => None,
    };
    let first = tree.get_gt([UNIT])?.and_then(|(key, _)| id(&key));
    let last = tree.get_lt([UNIT + 1])?.and_then(|(key, _)| id(&key));
    Ok(first.zip(last))
}

/// `first..=last` cut into at most `parts` ranges of about equal numbers
/// of ids, each of at least `min_ids` ids (one range when the span is
/// shorter), in order, as inclusive bounds.
fn split_ids(first: UnitId, last: UnitId, parts: usize, min_ids: u64) -> Vec<(UnitId, UnitId)> {
    let span = u128::from(last - first) + 1;
    let parts = (parts.max(1) as u128).min(span / u128::from(min_ids.max(1))).max(1);
    let at = |i: u128| u128::from(first) + span * i / parts;
    (0..parts).map(|i| (at(i) as u64, (at(i + 1) - 1) as u64)).collect()
}

fn unit_key(id: UnitId) -> [u8; 9] {
    let mut key = [0; 9];
    key[0] = UNIT;
    key[1..].copy_from_slice(&id.to_be_bytes());
    key
}

fn put(batch: &mut sled::Batch, unit: &Unit) {
    batch.insert(&unit_key(unit.id), with_checksum(unit.encode_to_vec()));
}

fn delete(batch: &mut sled::Batch, unit: &Unit) {
    batch.remove(&unit_key(unit.id));
}

/// A stored unit, its checksum checked.
fn decode(key: &[u8], value: &[u8]) -> Result<Unit> {
    let bytes = checked(value).ok_or_else(|| damaged_unit(key, "its checksum does not match its contents"))?;
    Unit::decode(bytes).map_err(|err| damaged_unit(key, &err.to_string()))
}

/// A unit stored before checksums (schemas 1 and 2).
fn decode_unchecked(key: &[u8], value: &[u8]) -> Result<Unit> {
    Unit::decode(value).map_err(|err| damaged_unit(key, &err.to_string()))
}

fn damaged_unit(key: &[u8], reason: &str) -> Error {
    let what = match key.get(1..9).and_then(|id| <[u8; 8]>::try_from(id).ok()) {
        Some(id) if key[0] == UNIT => format!("unit {}", u64::from_be_bytes(id)),
        _ => format!("{key:02x?}"),
    };
    Error::Corrupt {
        key: what,
        reason: format!(
            "{reason}. The database is damaged and is not served as it is: restore the directory from a \
             backup, or start a new database and import your last TMX export into it"
        ),
    }
}

impl Store for SledStore {
    fn next_id(&self) -> Result<UnitId> {
        // sled reserves id ranges durably, so ids never repeat after a crash.
        Ok(self.inner()?.db.generate_id()? + 1)
    }

    fn get(&self, id: UnitId) -> Result<Option<Unit>> {
        let key = unit_key(id);
        let inner = self.inner()?;
        guarded(&self.path, "reading a unit", || inner.tree.get(key)?.map(|v| decode(&key, &v)).transpose())
    }

    fn ids_with_side(&self, lang: Lang, key: SideKey) -> Result<Vec<UnitId>> {
        self.sides.ids(lang, key, |map| self.scan_sides(map))
    }

    fn ids_with_sides(&self, keys: &[(Lang, SideKey)]) -> Result<Vec<Vec<UnitId>>> {
        self.sides.with(|map| self.scan_sides(map), |map| keys.iter().map(|&(lang, key)| map.get(lang, key)).collect())
    }

    fn apply(&self, writes: &[Write]) -> Result<()> {
        if writes.is_empty() {
            return Ok(());
        }
        let inner = self.inner()?;
        self.saved_index.before_write()?;
        // The index of sides holds at least what sled does at every moment.
        self.sides.before(writes);
        // A write never straddles two batches (a replacement is one write).
        let mut batch = sled::Batch::default();
        let mut keys = 0;
        for write in writes {
            let size = match write {
                Write::Put(_) | Write::Delete(_) => 1,
                Write::Replace { .. } => 2,
            };
            if keys + size > MAX_BATCH_KEYS {
                inner.tree.apply_batch(std::mem::take(&mut batch))?;
                keys = 0;
            }
            keys += size;
            match write {
                Write::Put(unit) => put(&mut batch, unit),
                Write::Replace { old, new } => {
                    // In a sled batch the last write of a key wins.
                    delete(&mut batch, old);
                    put(&mut batch, new);
                }
                Write::Delete(unit) => delete(&mut batch, unit),
            }
        }
        if keys > 0 {
            inner.tree.apply_batch(batch)?;
        }
        self.sides.after(writes);
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        // The commit count goes in after the group's writes: sled recovers a
        // prefix of its log, so a count that survived means its group did.
        if unsafe_no_flush() {
            return Ok(());
        }
        let next = self.commits.load(Ordering::SeqCst) + 1;
        {
            let inner = self.inner()?;
            inner.tree.insert(COMMITS_KEY, &next.to_be_bytes())?;
            inner.db.flush()?;
        }
        self.write_ack(next)?;
        self.commits.store(next, Ordering::SeqCst);
        Ok(())
    }

    fn recover(&self) -> Result<()> {
        // The reserve makes room for sled to open again.
        self.reserve_spent.store(true, Ordering::SeqCst);
        match std::fs::remove_file(self.path.join(RESERVE_FILE)) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                tracing::warn!(error = %err, "cannot delete the reserve")
            }
            _ => {}
        }
        self.sides.invalidate();
        self.reopen()
    }

    fn check_space(&self) -> Result<()> {
        match self.check_space_once() {
            // The kept index is a cache: its room goes to the writes.
            Err(Error::DiskFull(_)) if self.saved_index.discard()? => self.check_space_once(),
            other => other,
        }
    }

    fn check_every_unit(&self) -> Result<()> {
        self.sides.with(|map| self.scan_sides(map), |_| ())
    }

    fn index_stamp(&self) -> Option<u64> {
        Some(self.saved_index.stamp())
    }

    fn saved_index(&self) -> Option<SavedIndex> {
        self.saved_index.load(self.commits.load(Ordering::SeqCst))
    }

    fn save_index(&self, stamp: u64, index: &mut dyn FnMut(&mut dyn std::io::Write) -> Result<()>) -> Result<bool> {
        let kept = self.saved_index.save(stamp, || self.commits.load(Ordering::SeqCst), index)?;
        // Writes come first: a kept index that leaves them too little room
        // is given up at once.
        if kept && self.free_bytes()? < self.min_free + RESERVE_BYTES as u64 {
            self.saved_index.discard()?;
            tracing::warn!("too little room left to keep the index; the next start builds it");
            return Ok(false);
        }
        Ok(kept)
    }

    fn for_each_unit_split(
        &self,
        parts: usize,
        min_ids: u64,
        f: &(dyn Fn(usize, Unit) -> Result<()> + Sync),
    ) -> Result<()> {
        // As in `for_each_unit`, the first full scan builds the index of
        // sides on its way: each range's sides a batch at a time.
        let Some(sides) = self.sides.along() else {
            return self.scan_units_split(parts, min_ids, || (), |(), part, unit| f(part, unit)).map(drop);
        };
        // `sides` stays on this thread (it holds the build's lock); the
        // ranges fill a map of their own, installed once they are read.
        let mut map = SideMap::default();
        self.scan_adding_sides(parts, min_ids, &mut map, f)?;
        sides.finish_with(map);
        Ok(())
    }

    fn for_each_unit(&self, f: &mut dyn FnMut(Unit) -> Result<()>) -> Result<()> {
        // The first full scan builds the index of sides on its way.
        let mut sides = self.sides.along();
        self.scan_units(&mut |unit| {
            if let Some(sides) = &mut sides {
                sides.unit(&unit);
            }
            f(unit)
        })?;
        if let Some(sides) = sides {
            sides.finish();
        }
        Ok(())
    }

    fn memories(&self) -> Result<Vec<MemoryRecord>> {
        self.inner()?
            .memories
            .iter()
            .map(|item| {
                let (key, value) = item?;
                MemoryRecord::decode(value.as_ref())
                    .map_err(|err| Error::Corrupt { key: format!("memories/{key:02x?}"), reason: err.to_string() })
            })
            .collect()
    }

    fn put_memory(&self, record: &MemoryRecord) -> Result<()> {
        let inner = self.inner()?;
        self.saved_index.before_write()?;
        inner.memories.insert(record.name.as_bytes(), record.encode_to_vec())?;
        Ok(())
    }

    fn remove_memory(&self, name: &str) -> Result<()> {
        let inner = self.inner()?;
        self.saved_index.before_write()?;
        inner.memories.remove(name.as_bytes())?;
        Ok(())
    }
}

/// `open`'s result once the database opened before it lets go of its
/// directory (sled's flusher thread may hold the lock a moment after the
/// drop), within 10 s (tests).
#[cfg(test)]
pub(crate) fn when_released<T>(mut open: impl FnMut() -> Result<T>) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match open() {
            Err(Error::Locked { .. }) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            other => break other.unwrap(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Opens the store once the database dropped before it lets go of its
    /// directory.
    fn open_when_released(path: &Path) -> SledStore {
        when_released(|| SledStore::open(path))
    }

    proptest::proptest! {
        /// Keys keep the order of ids (so a scan returns units in id order),
        /// and stored values decode to their unit only with their checksum
        /// intact.
        #[test]
        fn keys_order_like_ids_and_values_round_trip(a: u64, b: u64, text in "[\\PC]{0,30}", flip in 0usize..64) {
            proptest::prop_assert_eq!(unit_key(a).cmp(&unit_key(b)), a.cmp(&b));
            proptest::prop_assert_eq!(unit_key(a)[0], UNIT);
            let unit = Unit { id: a, arabic: text.clone(), english: text, ..Unit::default() };
            let mut value = with_checksum(unit.encode_to_vec());
            proptest::prop_assert_eq!(decode(&unit_key(a), &value).unwrap(), unit);
            let at = flip % value.len();
            value[at] ^= 0x10;
            proptest::prop_assert!(decode(&unit_key(a), &value).is_err());
        }
    }

    #[test]
    fn a_missing_commit_record_is_refused_unless_accepted_and_then_recreated() {
        let dir = tempfile::tempdir().unwrap();
        {
            // Opening a new database makes no commit: no record is needed.
            let store = SledStore::open(dir.path()).unwrap();
            drop(store);
            std::fs::remove_file(dir.path().join(ACK_FILE)).unwrap();
            let store = open_when_released(dir.path());
            let unit =
                Unit { id: 3, memory: "m".into(), arabic: "نص".into(), english: "text".into(), ..Unit::default() };
            store.apply(&[Write::Put(unit)]).unwrap();
            store.flush().unwrap();
        }
        for emptied in [false, true] {
            let ack = dir.path().join(ACK_FILE);
            if emptied {
                std::fs::write(&ack, b"").unwrap();
            } else {
                std::fs::remove_file(&ack).unwrap();
            }
            let refused = loop {
                match SledStore::open(dir.path()) {
                    Err(Error::Locked { .. }) => std::thread::sleep(std::time::Duration::from_millis(20)),
                    Err(err) => break err.to_string(),
                    Ok(_) => panic!("a store without its commit record was opened"),
                }
            };
            assert!(refused.contains("holds 1 group commits"), "{refused}");
            assert!(refused.contains("--accept-missing-commit-record"), "{refused}");
            let store = SledStore::open_with(dir.path(), OpenOptions { accept_missing_commit_record: true }).unwrap();
            assert_eq!(store.get(3).unwrap().unwrap().english, "text");
            drop(store);
            assert_eq!(std::fs::metadata(&ack).unwrap().len(), 12);
            // Recreated: opened again without the flag.
            drop(open_when_released(dir.path()));
        }
    }

    #[test]
    fn a_unit_whose_bytes_changed_is_refused_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let unit =
            Unit {
                id: 41, memory: "m".into(), arabic: "مرحبا".into(), english: "Hello".into(), ..Unit::default()
            };
        store.apply(&[Write::Put(unit.clone())]).unwrap();
        store.flush().unwrap();
        assert_eq!(store.get(41).unwrap(), Some(unit));
        let inner = store.inner().unwrap();
        let mut value = inner.tree.get(unit_key(41)).unwrap().unwrap().to_vec();
        value[3] ^= 0x20;
        inner.tree.insert(unit_key(41), value).unwrap();
        drop(inner);
        let err = store.get(41).unwrap_err().to_string();
        assert!(err.starts_with("stored record unit 41 is damaged: its checksum does not match its contents"), "{err}");
        assert!(store.for_each_unit(&mut |_| Ok(())).is_err());
    }

    /// A split scan reads every unit once, in id order within its range,
    /// the ranges in order; the first one builds the index of sides on its
    /// way, which then finds every unit by its sides (and none it deleted);
    /// a damaged unit in a later range is an error naming it.
    #[test]
    fn a_split_scan_reads_every_unit_once_and_builds_the_sides_on_its_way() {
        let dir = tempfile::tempdir().unwrap();
        let units = numbered_units(5_000, |id| format!("جملة رقم {id}"));
        let gone: Vec<&Unit> = units.iter().filter(|unit| unit.id % 11 == 3).collect();
        let kept: Vec<&Unit> = units.iter().filter(|unit| unit.id % 11 != 3).collect();
        {
            let store = SledStore::open(dir.path()).unwrap();
            for batch in units.chunks(MAX_BATCH_KEYS) {
                store.apply(&batch.iter().cloned().map(Write::Put).collect::<Vec<_>>()).unwrap();
            }
            store.apply(&gone.iter().map(|&unit| Write::Delete(unit.clone())).collect::<Vec<_>>()).unwrap();
            store.flush().unwrap();
        }
        let store = open_when_released(dir.path());
        assert!(!store.sides.is_built());
        let seen = Mutex::new(vec![Vec::new(); 4]);
        store
            .for_each_unit_split(4, 100, &|part, unit| {
                seen.lock()[part].push(unit.id);
                Ok(())
            })
            .unwrap();
        let seen = seen.into_inner();
        assert!(seen.iter().all(|part| part.len() > 1_000), "{:?}", seen.iter().map(Vec::len).collect::<Vec<_>>());
        assert_eq!(seen.concat(), kept.iter().map(|unit| unit.id).collect::<Vec<_>>());
        assert!(store.sides.is_built(), "the first full scan builds the sides");
        for unit in &units {
            for lang in [Lang::Arabic, Lang::English] {
                let ids = store.ids_with_side(lang, unit.side_key(lang)).unwrap();
                assert_eq!(ids.contains(&unit.id), unit.id % 11 != 3, "unit {} by its {lang:?}", unit.id);
            }
        }
        // A later scan builds nothing, and stops at a damaged unit.
        let inner = store.inner().unwrap();
        let mut value = inner.tree.get(unit_key(4_001)).unwrap().unwrap().to_vec();
        value[3] ^= 0x20;
        inner.tree.insert(unit_key(4_001), value).unwrap();
        drop(inner);
        let err = store.for_each_unit_split(4, 100, &|_, _| Ok(())).unwrap_err().to_string();
        assert!(err.contains("unit 4001 is damaged"), "{err}");
    }

    /// `first..=last` is cut into ranges that cover it once, in order, of
    /// at least `min_ids` ids, up to the largest id.
    #[test]
    fn ids_are_split_into_ranges_that_cover_them_once() {
        for (first, last, parts, min) in
            [(1, 1, 4, 16), (1, 1_000_000, 2, 1 << 17), (7, 100, 3, 16), (0, u64::MAX, 5, 1), (5, 40, 8, 16)]
        {
            let ranges = split_ids(first, last, parts, min);
            assert!(!ranges.is_empty() && ranges.len() <= parts, "{ranges:?}");
            assert_eq!(ranges[0].0, first);
            assert_eq!(ranges.last().unwrap().1, last);
            assert!(ranges.windows(2).all(|pair| pair[1].0 == pair[0].1 + 1), "{ranges:?}");
            if ranges.len() > 1 {
                assert!(ranges.iter().all(|&(lo, hi)| hi - lo + 1 >= min), "{ranges:?}");
            }
        }
        assert_eq!(split_ids(1, 1_000_000, 2, 1 << 17), [(1, 500_000), (500_001, 1_000_000)]);
        assert_eq!(split_ids(5, 40, 8, 16).len(), 2);
    }

    /// Units 1..=n of memory "news": `sentence number {id}`, with the
    /// Arabic `arabic(id)`.
    fn numbered_units(n: u64, arabic: impl Fn(u64) -> String) -> Vec<Unit> {
        (1..=n)
            .map(|id| Unit {
                id,
                memory: "news".into(),
                arabic: arabic(id),
                english: format!("sentence number {id}"),
                ..Default::default()
            })
            .collect()
    }

    #[test]
    fn a_schema_1_database_is_migrated_when_opened() {
        let dir = tempfile::tempdir().unwrap();
        let units = numbered_units(1_200, |id| format!("جملة رقم {id}"));
        {
            // The schema 1 layout, written by hand.
            let db = sled::Config::new().path(dir.path()).open().unwrap();
            let tree = db.open_tree("units").unwrap();
            tree.insert(SCHEMA_KEY, &1u32.to_be_bytes()).unwrap();
            for unit in &units {
                tree.insert(unit_key(unit.id), unit.encode_to_vec()).unwrap();
                let mut key = vec![FINGERPRINT_V1];
                key.extend_from_slice(&[7; 16]);
                key.extend_from_slice(&unit.id.to_be_bytes());
                tree.insert(key, &[]).unwrap();
            }
            db.flush().unwrap();
        }
        let store = open_when_released(dir.path());
        for unit in [&units[0], &units[777], &units[1_199]] {
            assert_eq!(store.get(unit.id).unwrap().as_ref(), Some(unit));
            for lang in [Lang::Arabic, Lang::English] {
                assert_eq!(store.ids_with_side(lang, unit.side_key(lang)).unwrap(), vec![unit.id]);
            }
        }
        assert_eq!(store.inner().unwrap().tree.scan_prefix([FINGERPRINT_V1]).count(), 0);
        assert_eq!(
            store.inner().unwrap().tree.get(SCHEMA_KEY).unwrap().unwrap().as_ref(),
            SCHEMA_VERSION.to_be_bytes()
        );
        drop(store);
        // Opening again finds the current schema and changes nothing.
        let store = open_when_released(dir.path());
        assert_eq!(store.inner().unwrap().tree.scan_prefix([UNIT]).count(), units.len());
        assert_eq!(store.inner().unwrap().tree.len(), units.len() + 1, "the units and the schema, nothing else");
    }

    #[test]
    fn a_schema_3_database_loses_its_side_keys_and_keeps_finding_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        // Two units share their Arabic side.
        let units = numbered_units(2_500, |id| format!("جملة رقم {}", id.min(2_499)));
        {
            // The schema 3 layout, written by hand: checksummed units and
            // two side keys each.
            let db = sled::Config::new().path(dir.path()).open().unwrap();
            let tree = db.open_tree("units").unwrap();
            tree.insert(SCHEMA_KEY, &3u32.to_be_bytes()).unwrap();
            for unit in &units {
                tree.insert(unit_key(unit.id), with_checksum(unit.encode_to_vec())).unwrap();
                for (tag, lang) in SIDES_V3.into_iter().zip([Lang::Arabic, Lang::English]) {
                    let mut key = vec![tag];
                    key.extend_from_slice(&unit.side_key(lang).0.to_be_bytes());
                    key.extend_from_slice(&unit.id.to_be_bytes());
                    tree.insert(key, &[]).unwrap();
                }
            }
            db.flush().unwrap();
        }
        let store = open_when_released(dir.path());
        let tree = store.inner().unwrap().tree.clone();
        assert_eq!(tree.get(SCHEMA_KEY).unwrap().unwrap().as_ref(), SCHEMA_VERSION.to_be_bytes());
        for tag in SIDES_V3 {
            assert_eq!(tree.scan_prefix([tag]).count(), 0);
        }
        assert_eq!(tree.scan_prefix([UNIT]).count(), units.len());
        // Asked before any full scan: the index of sides is built by one.
        assert_eq!(store.ids_with_side(Lang::Arabic, units[2_498].side_key(Lang::Arabic)).unwrap(), vec![2_499, 2_500]);
        assert_eq!(store.ids_with_side(Lang::English, units[2_499].side_key(Lang::English)).unwrap(), vec![2_500]);
        assert_eq!(store.ids_with_side(Lang::Arabic, units[0].side_key(Lang::Arabic)).unwrap(), vec![1]);
        // A deletion and a replacement are seen at once.
        let mut changed = units[0].clone();
        changed.arabic = "جملة أخرى".into();
        store
            .apply(&[
                Write::Replace { old: units[0].clone(), new: changed.clone() },
                Write::Delete(units[2_499].clone()),
            ])
            .unwrap();
        assert!(store.ids_with_side(Lang::Arabic, units[0].side_key(Lang::Arabic)).unwrap().is_empty());
        assert_eq!(store.ids_with_side(Lang::Arabic, changed.side_key(Lang::Arabic)).unwrap(), vec![1]);
        assert_eq!(store.ids_with_side(Lang::English, changed.side_key(Lang::English)).unwrap(), vec![1]);
        assert_eq!(store.ids_with_side(Lang::Arabic, units[2_498].side_key(Lang::Arabic)).unwrap(), vec![2_499]);
        store.flush().unwrap();
        drop((store, tree));
        // Reopened, a full scan builds it on its way, with the same answers.
        let store = open_when_released(dir.path());
        let mut seen = 0;
        store
            .for_each_unit(&mut |_| {
                seen += 1;
                Ok(())
            })
            .unwrap();
        assert_eq!(seen, units.len() - 1);
        assert_eq!(store.ids_with_side(Lang::Arabic, changed.side_key(Lang::Arabic)).unwrap(), vec![1]);
        assert_eq!(store.ids_with_side(Lang::Arabic, units[2_498].side_key(Lang::Arabic)).unwrap(), vec![2_499]);
    }
}
