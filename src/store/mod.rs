//! Durable storage of units behind a small trait, with a sled implementation
//! (the default: one process, one directory), a PostgreSQL one (`--db
//! postgres://…`) and an in-memory one for tests.
//!
//! The store knows nothing of matching: the in-memory index is rebuilt from
//! [`Store::for_each_unit`] at start-up.

mod in_memory;
#[cfg(test)]
pub(crate) mod pg_cluster;
pub mod postgres;
mod saved_index;
mod side_index;
mod sled_store;

pub use in_memory::InMemoryStore;
pub use postgres::PostgresStore;
pub use saved_index::{SavedIndex, INDEX_FILE};
pub(crate) use sled_store::unsafe_no_flush;
#[cfg(test)]
pub(crate) use sled_store::when_released;
pub use sled_store::{OpenOptions, SledStore};

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::error::Result;
use crate::text::Lang;
use crate::unit::{SideKey, Unit, UnitId};

/// Opens the store `--db` names: a PostgreSQL database for a
/// `postgres://` or `postgresql://` URL, else the sled database in that
/// directory (created when missing).
pub fn open(location: &Path, options: OpenOptions) -> Result<Arc<dyn Store>> {
    match location.to_str() {
        Some(url) if postgres::is_url(url) => Ok(Arc::new(PostgresStore::open(url)?)),
        _ => Ok(Arc::new(SledStore::open_with(location, options)?)),
    }
}

/// `--db` as logs and messages show it: a PostgreSQL URL without its
/// password, a directory as it is.
pub fn describe(location: &Path) -> String {
    match location.to_str() {
        Some(url) if postgres::is_url(url) => postgres::describe(url),
        _ => location.display().to_string(),
    }
}

/// One change to the store.
#[derive(Debug, Clone, PartialEq)]
// Replacements are rare; boxing would cost every put an allocation.
#[allow(clippy::large_enum_variant)]
pub enum Write {
    /// Stores a new unit (found by its side keys from then on).
    Put(Unit),
    /// Replaces a stored unit by a new version with the same id.
    Replace { old: Unit, new: Unit },
    /// Removes a unit (no longer found by its side keys).
    Delete(Unit),
}

impl Write {
    /// The id of the unit it writes.
    pub fn id(&self) -> UnitId {
        match self {
            Write::Put(unit) | Write::Delete(unit) | Write::Replace { new: unit, .. } => unit.id,
        }
    }
}

/// A memory created by name (a memory also exists, without a record, once
/// it holds units).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct MemoryRecord {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub description: String,
    #[prost(int64, tag = "3")]
    pub created_at_ms: i64,
}

/// Where units live.
///
/// Contract: after [`Store::apply`] returns, reads see the writes; after
/// [`Store::flush`] returns, they survive a crash. Each [`Write`] is atomic
/// (a unit appears, changes or vanishes together with what
/// [`Store::ids_with_side`] finds of it; while a write is being applied a
/// store may find the id of a unit it is removing, since callers check the
/// text, but never misses a stored one).
pub trait Store: Send + Sync + 'static {
    /// A fresh id, larger than every id handed out before (gaps are allowed).
    fn next_id(&self) -> Result<UnitId>;

    /// The unit with this id.
    fn get(&self, id: UnitId) -> Result<Option<Unit>>;

    /// Ids of the units whose [`SideKey`] in `lang` is `key`, in id order
    /// (usually none or one; a hash collision may add others: check the text).
    fn ids_with_side(&self, lang: Lang, key: SideKey) -> Result<Vec<UnitId>>;

    /// [`Store::ids_with_side`] for each of `keys`, in their order: a
    /// group's duplicate check in one read where the store is remote.
    fn ids_with_sides(&self, keys: &[(Lang, SideKey)]) -> Result<Vec<Vec<UnitId>>> {
        keys.iter().map(|&(lang, key)| self.ids_with_side(lang, key)).collect()
    }

    /// Applies the writes in order.
    fn apply(&self, writes: &[Write]) -> Result<()>;

    /// Makes every applied write durable.
    fn flush(&self) -> Result<()>;

    /// `DiskFull` when a write now could fill the disk: refused before it
    /// starts, so that the storage engine never meets a full disk.
    fn check_space(&self) -> Result<()> {
        Ok(())
    }

    /// After a failed [`Store::apply`] or [`Store::flush`]: gets the store
    /// back to what is durable, ready for writes again (writes that were
    /// not flushed are gone; none was acknowledged), and readable even on
    /// a full disk. [`Store::check_space`] may refuse writes until there is
    /// room again.
    fn recover(&self) -> Result<()> {
        Ok(())
    }

    /// Calls `f` for every unit, in id order.
    fn for_each_unit(&self, f: &mut dyn FnMut(Unit) -> Result<()>) -> Result<()>;

    /// Calls `f(part, unit)` for every unit, the ids cut into at most
    /// `parts` ranges (of at least `min_ids` ids each) that follow one
    /// another, `part` 0 first. The ranges are read at once, each on a
    /// thread of its own, in id order within each; so `f` is called from
    /// several threads. What the start-up index build reads (sled: on every
    /// core; the default reads in one stream, as part 0). The first error
    /// stops every range and is returned.
    fn for_each_unit_split(
        &self,
        parts: usize,
        min_ids: u64,
        f: &(dyn Fn(usize, Unit) -> Result<()> + Sync),
    ) -> Result<()> {
        let _ = (parts, min_ids);
        self.for_each_unit(&mut |unit| f(0, unit))
    }

    /// The memory records, by name.
    fn memories(&self) -> Result<Vec<MemoryRecord>>;

    /// Stores a memory record (replacing one of that name); durable after
    /// [`Store::flush`].
    fn put_memory(&self, record: &MemoryRecord) -> Result<()>;

    /// Removes a memory record, if there is one; durable after
    /// [`Store::flush`].
    fn remove_memory(&self, name: &str) -> Result<()>;

    /// Commits a group: its unit writes and its memory records (`None`:
    /// removed), durable when it returns. Returns the group's change
    /// sequence: a store with a change log ([`Store::change_log`]) writes
    /// them in one transaction with one entry of the log and returns its
    /// sequence (a group that writes nothing returns the log's head); the
    /// others return 0 (and count no commit for a group that writes nothing).
    fn commit(&self, writes: &[Write], records: &BTreeMap<String, Option<MemoryRecord>>) -> Result<u64> {
        // A group that writes nothing counts no commit: the count then
        // changes only with what the store holds (which sled's kept index
        // relies on).
        if writes.is_empty() && records.is_empty() {
            return Ok(0);
        }
        self.apply(writes)?;
        for (name, record) in records {
            match record {
                Some(record) => self.put_memory(record)?,
                None => self.remove_memory(name)?,
            }
        }
        self.flush()?;
        Ok(0)
    }

    /// The change log several nodes on one database follow (PostgreSQL);
    /// `None` for a store only one process uses.
    fn change_log(&self) -> Option<&dyn ChangeLog> {
        None
    }

    /// Reads every unit, checking it (a damaged one is an error), and
    /// builds on the way what the first write would otherwise build (sled:
    /// the ids by side that the duplicate check reads): what opening does
    /// when the index is read from [`Store::saved_index`] instead of built
    /// from the units.
    fn check_every_unit(&self) -> Result<()> {
        Ok(())
    }

    /// The store's state now, for [`Store::save_index`]; `None` for a
    /// store that keeps no index between runs (only sled keeps one).
    fn index_stamp(&self) -> Option<u64> {
        None
    }

    /// The index saved with [`Store::save_index`], if it still describes
    /// the store: nothing was written since, and its bytes are whole (see
    /// `saved_index`). A store with a change log keeps none (`None`): its
    /// nodes build their index and follow the log.
    fn saved_index(&self) -> Option<SavedIndex> {
        None
    }

    /// Keeps what `index` writes as the index of the store as it was at
    /// `stamp` ([`Store::index_stamp`]), replacing the one kept before;
    /// `Ok(false)`, nothing kept, when the store was written since.
    fn save_index(&self, stamp: u64, index: &mut dyn FnMut(&mut dyn std::io::Write) -> Result<()>) -> Result<bool> {
        let _ = (stamp, index);
        Ok(false)
    }
}

/// One entry of the change log: what one group commit changed.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Its sequence: entries commit in sequence order (see
    /// [`ChangeLog::changes_after`]).
    pub seq: u64,
    /// The node that made it ([`ChangeLog::origin`]).
    pub origin: i64,
    /// When it was committed, by the database's clock (ms since the epoch).
    pub at_ms: i64,
    /// Units added, changed or deleted (their state is read from the
    /// units table, which holds the newest).
    pub units: Vec<UnitId>,
    /// Memory records created or removed.
    pub memories: Vec<String>,
}

/// Entries of the change log after a sequence.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Changes {
    /// In sequence order.
    pub changes: Vec<Change>,
    /// The highest sequence trimmed from the log (0: none): a reader that
    /// applied less than it missed entries and must rebuild.
    pub trimmed: u64,
    /// The highest sequence committed.
    pub head: u64,
}

/// A change log in the database, shared by every node on it.
pub trait ChangeLog: Send + Sync {
    /// This process's id in the log's entries.
    fn origin(&self) -> i64;
    /// At most `limit` entries after `seq`, in order. Every entry with a
    /// smaller sequence than one returned has committed (or never will):
    /// a gap is a rolled-back transaction, never one still to come.
    fn changes_after(&self, seq: u64, limit: usize) -> Result<Changes>;
    /// The stored units among `ids` (the others are deleted).
    fn get_many(&self, ids: &[UnitId]) -> Result<Vec<Unit>>;
    /// A connection that wakes up when an entry is committed.
    fn listen(&self) -> Result<Box<dyn Listener>>;
    /// Removes the entries older than `keep` (always keeping the newest);
    /// returns how many it removed.
    fn trim(&self, keep: Duration) -> Result<u64>;
}

/// See [`ChangeLog::listen`].
pub trait Listener: Send {
    /// Waits at most `timeout` for a new entry: `true` when one came. An
    /// error means the connection is lost (listen again).
    fn wait(&mut self, timeout: Duration) -> Result<bool>;
}

/// The conformance suite every [`Store`] implementation passes: the
/// trait's contract (reads see applied writes, each write atomic, scans in
/// id order), memory records, durability across a crash, recovery after a
/// failed write, the free-space check and the acknowledgment record.
#[cfg(test)]
mod conformance {
    use super::*;

    fn unit(store: &dyn Store, memory: &str, arabic: &str, english: &str) -> Unit {
        Unit {
            id: store.next_id().unwrap(),
            memory: memory.into(),
            arabic: arabic.into(),
            english: english.into(),
            created_at_ms: 1,
            ..Default::default()
        }
    }

    fn all(store: &dyn Store) -> Vec<Unit> {
        let mut units = Vec::new();
        store
            .for_each_unit(&mut |u| {
                units.push(u);
                Ok(())
            })
            .unwrap();
        units
    }

    pub fn ids_grow(store: &dyn Store) {
        let a = store.next_id().unwrap();
        let b = store.next_id().unwrap();
        assert!(a >= 1 && b > a);
    }

    pub fn put_get_delete(store: &dyn Store) {
        let u = unit(store, "news", "مرحبا", "Hello");
        assert_eq!(store.get(u.id).unwrap(), None);
        store.apply(&[Write::Put(u.clone())]).unwrap();
        store.flush().unwrap();
        assert_eq!(store.get(u.id).unwrap(), Some(u.clone()));
        for lang in [Lang::Arabic, Lang::English] {
            assert_eq!(store.ids_with_side(lang, u.side_key(lang)).unwrap(), vec![u.id]);
        }
        let new = Unit { english: "Hi".into(), ..u.clone() };
        store.apply(&[Write::Replace { old: u.clone(), new: new.clone() }]).unwrap();
        assert_eq!(store.get(u.id).unwrap(), Some(new.clone()));
        assert_eq!(store.ids_with_side(Lang::Arabic, u.side_key(Lang::Arabic)).unwrap(), vec![u.id]);
        assert!(store.ids_with_side(Lang::English, u.side_key(Lang::English)).unwrap().is_empty());
        assert_eq!(store.ids_with_side(Lang::English, new.side_key(Lang::English)).unwrap(), vec![u.id]);
        // The batched read answers as the single one, key by key, in order,
        // with repeats, keys of nothing, and a side two units share.
        let twin = unit(store, "news", "مرحبا", "Hello there");
        store.apply(&[Write::Put(twin.clone())]).unwrap();
        let keys = [
            (Lang::English, new.side_key(Lang::English)),
            (Lang::Arabic, u.side_key(Lang::Arabic)),
            (Lang::English, u.side_key(Lang::English)),
            (Lang::English, twin.side_key(Lang::English)),
            (Lang::English, new.side_key(Lang::English)),
        ];
        let one_by_one: Vec<Vec<UnitId>> = keys.iter().map(|&(l, k)| store.ids_with_side(l, k).unwrap()).collect();
        assert_eq!(one_by_one[1], vec![u.id, twin.id]);
        assert_eq!(store.ids_with_sides(&keys).unwrap(), one_by_one);
        assert!(store.ids_with_sides(&[]).unwrap().is_empty());
        store.apply(&[Write::Delete(twin)]).unwrap();
        store.apply(&[Write::Delete(new.clone())]).unwrap();
        assert_eq!(store.get(u.id).unwrap(), None);
        for lang in [Lang::Arabic, Lang::English] {
            assert!(store.ids_with_side(lang, new.side_key(lang)).unwrap().is_empty());
        }
    }

    pub fn scans_in_id_order(store: &dyn Store) {
        let units: Vec<Unit> =
            (0..300).map(|i| unit(store, "m", &format!("جملة {i}"), &format!("sentence {i}"))).collect();
        let mut writes: Vec<Write> = units.iter().rev().cloned().map(Write::Put).collect();
        writes.push(Write::Delete(units[7].clone()));
        store.apply(&writes).unwrap();
        let mut expected = units.clone();
        expected.remove(7);
        assert_eq!(all(store), expected);
    }

    pub fn same_side_keeps_both_ids(store: &dyn Store) {
        let a = unit(store, "m", "نص", "text");
        let b = Unit { id: store.next_id().unwrap(), english: "a text".into(), ..a.clone() };
        store.apply(&[Write::Put(a.clone()), Write::Put(b.clone())]).unwrap();
        assert_eq!(store.ids_with_side(Lang::Arabic, a.side_key(Lang::Arabic)).unwrap(), vec![a.id, b.id]);
        assert_eq!(store.ids_with_side(Lang::English, b.side_key(Lang::English)).unwrap(), vec![b.id]);
        let other_memory = Unit { memory: "n".into(), ..a.clone() };
        assert!(store.ids_with_side(Lang::Arabic, other_memory.side_key(Lang::Arabic)).unwrap().is_empty());
    }

    /// What the suite needs of a store beyond the trait: to be opened again
    /// after a crash, to lose a flushed commit as a damaged log would, and
    /// to run out of room.
    pub trait Subject: Sized {
        type S: Store;
        fn store(&self) -> &Self::S;
        /// Opened again after a crash: what was flushed survives; what was
        /// not may or may not.
        fn crash(self) -> Result<Self>;
        /// Opened again after its storage lost the last flushed commit.
        fn lose_last_commit(self) -> Result<Self>;
        /// No room left for writes.
        fn fill(&mut self);
    }

    fn record(name: &str, description: &str) -> MemoryRecord {
        MemoryRecord { name: name.into(), description: description.into(), created_at_ms: 1_000 }
    }

    /// Present with its side keys, or absent with none: never half a unit.
    fn whole_or_gone(store: &dyn Store, unit: &Unit) -> bool {
        let sides = [Lang::Arabic, Lang::English].map(|lang| store.ids_with_side(lang, unit.side_key(lang)).unwrap());
        match store.get(unit.id).unwrap() {
            Some(stored) => stored == *unit && sides.iter().all(|ids| ids.contains(&unit.id)),
            None => sides.iter().all(|ids| !ids.contains(&unit.id)),
        }
    }

    pub fn memory_records_are_kept_by_name_and_durable_after_a_flush<H: Subject>(subject: H) {
        let store = subject.store();
        store.put_memory(&record("news", "")).unwrap();
        store.put_memory(&record("acme", "client")).unwrap();
        store.put_memory(&record("news", "world news")).unwrap();
        store.put_memory(&record("gone", "")).unwrap();
        store.remove_memory("gone").unwrap();
        store.remove_memory("never-created").unwrap();
        let expected = vec![record("acme", "client"), record("news", "world news")];
        assert_eq!(store.memories().unwrap(), expected);
        store.flush().unwrap();
        let subject = subject.crash().unwrap();
        assert_eq!(subject.store().memories().unwrap(), expected);
    }

    pub fn flushed_writes_survive_a_crash_and_ids_are_never_reused<H: Subject>(subject: H) {
        let store = subject.store();
        let kept = unit(store, "news", "خبر أول", "First news");
        let deleted = unit(store, "news", "خبر ثان", "Second news");
        store.apply(&[Write::Put(kept.clone()), Write::Put(deleted.clone())]).unwrap();
        store.flush().unwrap();
        store.apply(&[Write::Delete(deleted.clone())]).unwrap();
        store.flush().unwrap();
        let unflushed = unit(store, "news", "خبر ثالث", "Third news");
        store.apply(&[Write::Put(unflushed.clone())]).unwrap();
        let subject = subject.crash().unwrap();
        let store = subject.store();
        assert_eq!(store.get(kept.id).unwrap(), Some(kept.clone()));
        assert!(whole_or_gone(store, &kept) && whole_or_gone(store, &unflushed));
        assert_eq!(store.get(deleted.id).unwrap(), None, "a flushed deletion came back");
        assert!(store.next_id().unwrap() > unflushed.id, "an id was handed out twice");
    }

    pub fn recover_gets_back_to_what_was_flushed_and_takes_writes_again<H: Subject>(subject: H) {
        let store = subject.store();
        let flushed = unit(store, "m", "نص محفوظ", "kept text");
        store.apply(&[Write::Put(flushed.clone())]).unwrap();
        store.flush().unwrap();
        let replaced = Unit { english: "changed text".into(), ..flushed.clone() };
        let added = unit(store, "m", "نص جديد", "new text");
        store
            .apply(&[Write::Replace { old: flushed.clone(), new: replaced.clone() }, Write::Put(added.clone())])
            .unwrap();
        store.recover().unwrap();
        // Each write is atomic: the unit is one version or the other, whole.
        let now = store.get(flushed.id).unwrap().expect("a flushed unit survives recovery");
        assert!(now == flushed || now == replaced, "{now:?}");
        assert!(whole_or_gone(store, &now) && whole_or_gone(store, &added));
        let later = unit(store, "m", "نص لاحق", "later text");
        store.apply(&[Write::Put(later.clone())]).unwrap();
        store.flush().unwrap();
        assert_eq!(store.get(later.id).unwrap(), Some(later.clone()));
        let scanned: Vec<UnitId> = all(store).iter().map(|u| u.id).collect();
        let readable: Vec<UnitId> =
            [flushed.id, added.id, later.id].into_iter().filter(|&id| store.get(id).unwrap().is_some()).collect();
        assert_eq!(scanned, readable);
    }

    pub fn a_full_store_refuses_writes_before_they_start_and_keeps_reads<H: Subject>(mut subject: H) {
        let stored = unit(subject.store(), "m", "نص", "text");
        subject.store().check_space().unwrap();
        subject.store().apply(&[Write::Put(stored.clone())]).unwrap();
        subject.store().flush().unwrap();
        subject.store().put_memory(&record("m", "")).unwrap();
        subject.fill();
        let store = subject.store();
        assert!(matches!(store.check_space(), Err(crate::Error::DiskFull(_))), "{:?}", store.check_space());
        assert_eq!(store.get(stored.id).unwrap(), Some(stored.clone()));
        assert_eq!(all(store), vec![stored]);
        assert_eq!(store.memories().unwrap(), vec![record("m", "")]);
    }

    pub fn a_store_that_lost_an_acknowledged_commit_is_refused<H: Subject>(subject: H) {
        let store = subject.store();
        for n in 0..3 {
            let u = unit(store, "m", &format!("جملة {n}"), &format!("sentence {n}"));
            store.apply(&[Write::Put(u)]).unwrap();
            store.flush().unwrap();
        }
        let subject = subject.crash().expect("a store with every acknowledged commit opens");
        match subject.lose_last_commit() {
            Err(crate::Error::Corrupt { reason, .. }) => {
                assert!(reason.contains("acknowledged"), "{reason}")
            }
            Err(other) => panic!("refused for another reason: {other}"),
            Ok(_) => panic!("a store missing an acknowledged commit was opened"),
        }
    }

    struct Memory(InMemoryStore);

    impl Subject for Memory {
        type S = InMemoryStore;
        fn store(&self) -> &InMemoryStore {
            &self.0
        }
        fn crash(self) -> Result<Memory> {
            self.0.reopened().map(Memory)
        }
        fn lose_last_commit(self) -> Result<Memory> {
            self.0.lose_last_commit();
            self.crash()
        }
        fn fill(&mut self) {
            let units = all(&self.0).len();
            let full = InMemoryStore::with_room(units);
            let mut writes: Vec<Write> = all(&self.0).into_iter().map(Write::Put).collect();
            writes.sort_by_key(Write::id);
            full.apply(&writes).unwrap();
            full.flush().unwrap();
            for record in self.0.memories().unwrap() {
                full.put_memory(&record).unwrap();
            }
            self.0 = full;
        }
    }

    struct Sled {
        dir: tempfile::TempDir,
        store: Option<SledStore>,
    }

    impl Sled {
        fn new() -> Sled {
            let dir = tempfile::tempdir().unwrap();
            let store = SledStore::open(dir.path()).unwrap();
            Sled { dir, store: Some(store) }
        }

        /// Opens the directory again once sled has let go of its lock (its
        /// flusher thread may hold it a moment after the drop).
        fn reopen(mut self) -> Result<Sled> {
            drop(self.store.take());
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            loop {
                match SledStore::open(self.dir.path()) {
                    Err(crate::Error::Locked { .. }) if std::time::Instant::now() < deadline => {
                        std::thread::sleep(std::time::Duration::from_millis(20))
                    }
                    opened => break Ok(Sled { store: Some(opened?), ..self }),
                }
            }
        }
    }

    impl Subject for Sled {
        type S = SledStore;
        fn store(&self) -> &SledStore {
            self.store.as_ref().unwrap()
        }
        fn crash(self) -> Result<Sled> {
            self.reopen()
        }
        fn lose_last_commit(mut self) -> Result<Sled> {
            let store = self.store.take().unwrap();
            store.lose_last_commit();
            drop(store);
            self.reopen()
        }
        fn fill(&mut self) {
            self.store.as_mut().unwrap().set_min_free(u64::MAX);
        }
    }

    /// A PostgreSQL store on a throw-away cluster of its own. A crash is
    /// PostgreSQL's (`pg_ctl stop -m immediate`, no checkpoint: the start
    /// replays the WAL) and the process's: the store is dropped with its
    /// broken connections and opened again.
    struct Pg {
        cluster: pg_cluster::Cluster,
        store: Option<PostgresStore>,
    }

    impl Pg {
        fn new() -> Pg {
            let cluster = pg_cluster::Cluster::start();
            let store = PostgresStore::open(&cluster.url("dhakira")).unwrap();
            Pg { cluster, store: Some(store) }
        }
    }

    impl Subject for Pg {
        type S = PostgresStore;
        fn store(&self) -> &PostgresStore {
            self.store.as_ref().unwrap()
        }
        fn crash(mut self) -> Result<Pg> {
            self.cluster.kill();
            drop(self.store.take());
            self.cluster.restart();
            self.store = Some(PostgresStore::open(&self.cluster.url("dhakira"))?);
            Ok(self)
        }
        /// As after a failover to a replica that missed the last commit:
        /// the count of commits goes back by one, the connections break,
        /// and the same store (which saw the commit) reconnects.
        fn lose_last_commit(self) -> Result<Pg> {
            self.cluster.psql("dhakira", "UPDATE dhakira_commits SET count = count - 1");
            self.cluster.psql(
                "dhakira",
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'dhakira'",
            );
            self.store().memories()?;
            Ok(self)
        }
        fn fill(&mut self) {
            self.store().set_disk_full();
        }
    }

    /// A store that outlives a restart of PostgreSQL: meanwhile reads and
    /// writes fail with `Unavailable` (nothing acknowledged), then it
    /// reconnects by itself and finds every committed unit.
    #[test]
    fn postgres_a_store_reconnects_after_postgres_restarts_and_is_unavailable_meanwhile() {
        let subject = Pg::new();
        let store = subject.store();
        let kept = unit(store, "m", "نص باق", "a text that stays");
        store.apply(&[Write::Put(kept.clone())]).unwrap();
        subject.cluster.kill();
        let refused = unit(store, "m", "نص مرفوض", "a refused text");
        let write = store.apply(&[Write::Put(refused.clone())]);
        assert!(matches!(write, Err(crate::Error::Unavailable { .. })), "{write:?}");
        let read = store.get(kept.id);
        assert!(matches!(read, Err(crate::Error::Unavailable { .. })), "{read:?}");
        assert_eq!(tonic::Status::from(read.unwrap_err()).code(), tonic::Code::Unavailable);
        subject.cluster.restart();
        store.recover().unwrap();
        assert_eq!(store.get(kept.id).unwrap(), Some(kept.clone()));
        assert_eq!(store.get(refused.id).unwrap(), None);
        let later = unit(store, "m", "نص لاحق", "a later text");
        store.apply(&[Write::Put(later.clone())]).unwrap();
        assert_eq!(all(store), vec![kept, later]);
    }

    /// Large groups go in with COPY; a unit whose stored bytes changed is
    /// refused naming it; the migrations ran once, and opening again
    /// applies none.
    #[test]
    fn postgres_copy_checksums_and_migrations() {
        let subject = Pg::new();
        let store = subject.store();
        let units: Vec<Unit> =
            (0..2_500).map(|i| unit(store, "big", &format!("جملة رقم {i}"), &format!("sentence {i}"))).collect();
        store.apply(&units.iter().cloned().map(Write::Put).collect::<Vec<_>>()).unwrap();
        assert_eq!(all(store), units);
        for u in [&units[0], &units[1_234], &units[2_499]] {
            assert_eq!(store.ids_with_side(Lang::English, u.side_key(Lang::English)).unwrap(), vec![u.id]);
        }
        let count = |sql: &str| subject.cluster.psql("dhakira", sql);
        assert_eq!(count("SELECT count(*) FROM dhakira_units WHERE memory = 'big'"), "2500");
        assert_eq!(
            count("SELECT string_agg(version::text, ',' ORDER BY version) FROM dhakira_schema_migrations"),
            "1,2"
        );
        let again = PostgresStore::open(&subject.cluster.url("dhakira")).unwrap();
        assert_eq!(count("SELECT count(*) FROM dhakira_schema_migrations"), "2");
        let id = units[77].id;
        count(&format!(
            "UPDATE dhakira_units SET record = set_byte(record, 3, get_byte(record, 3) # 32) WHERE id = {id}"
        ));
        let err = again.get(id).unwrap_err();
        assert!(err.to_string().starts_with(&format!("stored record unit {id} is damaged: its checksum")), "{err}");
        assert!(again.for_each_unit(&mut |_| Ok(())).is_err());
        // A database migrated by a newer build is refused.
        count("INSERT INTO dhakira_schema_migrations (version, name) VALUES (99, 'from the future')");
        match PostgresStore::open(&subject.cluster.url("dhakira")) {
            Err(crate::Error::Corrupt { reason, .. }) => assert!(reason.contains("version 99"), "{reason}"),
            other => panic!("{:?}", other.map(|_| ())),
        }
    }

    /// Each group commit writes one entry of the change log, with its
    /// units and memory records; a group that writes nothing answers the
    /// head; trimming keeps the newest entry and records what it removed.
    #[test]
    fn postgres_change_log_entries_and_trimming() {
        let subject = Pg::new();
        let store = subject.store();
        let log = store.change_log().unwrap();
        let a = unit(store, "m", "أ", "a");
        let b = unit(store, "m", "ب", "b");
        let first = store.commit(&[Write::Put(a.clone()), Write::Put(b.clone())], &BTreeMap::new()).unwrap();
        let records = BTreeMap::from([("news".to_owned(), Some(record("news", "")))]);
        let second = store.commit(&[Write::Delete(a.clone())], &records).unwrap();
        assert!(first >= 1 && second > first, "{first} {second}");
        assert_eq!(store.commit(&[], &BTreeMap::new()).unwrap(), second);
        let read = log.changes_after(0, 10).unwrap();
        assert_eq!((read.head, read.trimmed), (second, 0));
        let entries: Vec<_> =
            read.changes.iter().map(|c| (c.seq, c.origin, c.units.clone(), c.memories.clone())).collect();
        assert_eq!(
            entries,
            vec![
                (first, log.origin(), vec![a.id, b.id], vec![]),
                (second, log.origin(), vec![a.id], vec!["news".to_owned()])
            ]
        );
        assert_eq!(log.changes_after(first, 10).unwrap().changes.len(), 1);
        assert_eq!(log.get_many(&[a.id, b.id]).unwrap(), vec![b.clone()]);
        assert_eq!(log.trim(Duration::ZERO).unwrap(), 1);
        let read = log.changes_after(0, 10).unwrap();
        assert_eq!((read.trimmed, read.head), (first, second));
        assert_eq!(read.changes.iter().map(|c| c.seq).collect::<Vec<_>>(), vec![second]);
    }

    /// Several stores (nodes) commit at once while a reader follows the log
    /// as a node does (entries after the last one it saw): it sees every
    /// entry, in order, none skipped — a sequence never becomes visible
    /// after a larger one.
    #[test]
    fn postgres_a_follower_misses_no_entry_of_concurrent_commits() {
        let subject = Pg::new();
        let url = subject.cluster.url("dhakira");
        let nodes: Vec<Arc<PostgresStore>> = (0..3).map(|_| Arc::new(PostgresStore::open(&url).unwrap())).collect();
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = {
            let log = Arc::clone(&nodes[0]);
            let done = Arc::clone(&done);
            std::thread::spawn(move || {
                let mut seen = Vec::new();
                loop {
                    let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                    let after = seen.last().copied().unwrap_or(0);
                    seen.extend(log.changes_after(after, 1_000).unwrap().changes.iter().map(|c| c.seq));
                    if finished {
                        return seen;
                    }
                }
            })
        };
        let writers: Vec<_> = (0..6)
            .map(|w| {
                let store = Arc::clone(&nodes[w % 3]);
                std::thread::spawn(move || {
                    (0..40)
                        .map(|i| {
                            let u = unit(store.as_ref(), "m", &format!("نص {w} {i}"), &format!("text {w} {i}"));
                            store.commit(&[Write::Put(u)], &BTreeMap::new()).unwrap()
                        })
                        .collect::<Vec<u64>>()
                })
            })
            .collect();
        let mut committed: Vec<u64> = writers.into_iter().flat_map(|w| w.join().unwrap()).collect();
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        let seen = reader.join().unwrap();
        committed.sort_unstable();
        assert_eq!(committed.len(), 240);
        assert_eq!(seen, committed);
    }

    macro_rules! suite {
        ($name:ident, $make:expr, $subject:expr) => {
            mod $name {
                use super::*;
                #[test]
                fn ids_grow() {
                    let (_guard, store) = $make;
                    super::ids_grow(&store);
                }
                #[test]
                fn put_get_delete() {
                    let (_guard, store) = $make;
                    super::put_get_delete(&store);
                }
                #[test]
                fn scans_in_id_order() {
                    let (_guard, store) = $make;
                    super::scans_in_id_order(&store);
                }
                #[test]
                fn same_side_keeps_both_ids() {
                    let (_guard, store) = $make;
                    super::same_side_keeps_both_ids(&store);
                }
                #[test]
                fn memory_records_are_kept_by_name_and_durable_after_a_flush() {
                    super::memory_records_are_kept_by_name_and_durable_after_a_flush($subject);
                }
                #[test]
                fn flushed_writes_survive_a_crash_and_ids_are_never_reused() {
                    super::flushed_writes_survive_a_crash_and_ids_are_never_reused($subject);
                }
                #[test]
                fn recover_gets_back_to_what_was_flushed_and_takes_writes_again() {
                    super::recover_gets_back_to_what_was_flushed_and_takes_writes_again($subject);
                }
                #[test]
                fn a_full_store_refuses_writes_before_they_start_and_keeps_reads() {
                    super::a_full_store_refuses_writes_before_they_start_and_keeps_reads($subject);
                }
                #[test]
                fn a_store_that_lost_an_acknowledged_commit_is_refused() {
                    super::a_store_that_lost_an_acknowledged_commit_is_refused($subject);
                }
            }
        };
    }

    suite!(in_memory, ((), InMemoryStore::default()), Memory(InMemoryStore::default()));
    suite!(
        sled,
        {
            let dir = tempfile::tempdir().unwrap();
            let store = SledStore::open(dir.path()).unwrap();
            (dir, store)
        },
        Sled::new()
    );
    suite!(
        postgres,
        {
            let subject = Pg::new();
            let store = PostgresStore::open(&subject.cluster.url("dhakira")).unwrap();
            (subject, store)
        },
        Pg::new()
    );
}
