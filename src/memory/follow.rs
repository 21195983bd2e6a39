//! Following the change log (PostgreSQL, several nodes on one database).
//!
//! Every group commit of every node writes one entry of the database's
//! change log in its own transaction ([`crate::store::ChangeLog`]). Each
//! node runs a follower thread: it waits on its own `LISTEN` connection for
//! the `NOTIFY` of a commit, or [`POLL`] at most, then asks the writer
//! thread to catch up. The writer reads the entries after the last one it
//! applied, reads the current state of the units they name from the units
//! table and puts it in the index (a unit gone from the table leaves it):
//! applying an entry twice, or an older one after a newer state was read,
//! gives the same index, so the index converges on the table. Entries this
//! node made are skipped: its writer put them in its index before it
//! acknowledged them. The writer does it all, so the index keeps its one
//! writer and the follower's reads cannot race the node's own writes.
//!
//! [`Replication`] holds the sequence applied, which lookups with
//! `min_sequence` wait for, and what health and `/metrics` report.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::writer::Writer;
use super::Shared;
use crate::error::{Error, Result};

/// The longest a follower waits for a `NOTIFY` before it looks at the log
/// anyway (a lost connection, a missed notification).
pub const POLL: Duration = Duration::from_millis(250);

/// Entries the writer applies at once (then it takes the next writes).
const BATCH: usize = 1_000;

/// How long entries stay in the log: a node down for longer rebuilds its
/// index from the units table when it comes back.
pub const KEEP: Duration = Duration::from_secs(24 * 3600);

/// How often a follower trims the log.
const TRIM_EVERY: Duration = Duration::from_secs(600);

/// The default longest wait of a lookup for its `min_sequence`.
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(5);

/// Where a node stands in the change log.
#[derive(Default)]
pub(crate) struct Replication {
    /// Whether the store has a change log (else everything here stays 0).
    pub(super) enabled: bool,
    /// The highest sequence applied to the index: every entry up to it is
    /// in (entries of this node were in before their writes were answered).
    applied: Mutex<u64>,
    applied_changed: Condvar,
    /// The highest sequence this node's writes reached (its own group
    /// commits, or the head when a group wrote nothing).
    committed: AtomicU64,
    /// The highest sequence seen in the log.
    head: AtomicU64,
    /// When the log was last read (`None`: never since start-up).
    contact: Mutex<Option<Instant>>,
    /// Since when the node is behind the head it last saw.
    behind_since: Mutex<Option<Instant>>,
    /// Replication lag of the last entry of another node applied: from its
    /// commit (database clock) to its application here, in ms.
    last_lag_ms: AtomicU64,
    /// Entries of other nodes applied, and their lags (ms) since start.
    lags: Mutex<Vec<u32>>,
    /// The longest a lookup waits for its `min_sequence`, in ms.
    max_wait_ms: AtomicU64,
    /// Whether the follower lost its database connection.
    disconnected: AtomicBool,
}

/// A node's replication state, for health and `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReplicationStatus {
    /// False on a store without change log (sled): the rest is 0.
    pub enabled: bool,
    pub applied: u64,
    pub head: u64,
    /// How long the node has been behind the head it saw (0: it is not).
    pub behind: Duration,
    /// Since the log was last read (`None`: not since start-up).
    pub since_contact: Option<Duration>,
    /// Lag of the last entry of another node applied, in ms.
    pub last_lag_ms: u64,
}

impl Replication {
    pub(super) fn new(enabled: bool, head: u64) -> Replication {
        Replication {
            enabled,
            applied: Mutex::new(head),
            committed: AtomicU64::new(head),
            head: AtomicU64::new(head),
            contact: Mutex::new(enabled.then(Instant::now)),
            max_wait_ms: AtomicU64::new(DEFAULT_MAX_WAIT.as_millis() as u64),
            ..Default::default()
        }
    }

    pub(super) fn applied(&self) -> u64 {
        *self.applied.lock()
    }

    fn set_applied(&self, seq: u64) {
        let mut applied = self.applied.lock();
        if seq > *applied {
            *applied = seq;
            self.applied_changed.notify_all();
        }
    }

    /// A group commit of this node reached `seq`.
    pub(super) fn committed(&self, seq: u64) {
        self.committed.fetch_max(seq, Ordering::SeqCst);
        self.head.fetch_max(seq, Ordering::SeqCst);
    }

    /// The sequence to hand a client after its write returned: its own
    /// group's, or a later one of this node.
    pub(super) fn last_committed(&self) -> u64 {
        self.committed.load(Ordering::SeqCst)
    }

    pub(super) fn set_max_wait(&self, wait: Duration) {
        self.max_wait_ms.store(wait.as_millis().min(u64::MAX as u128) as u64, Ordering::SeqCst);
    }

    /// Waits until `seq` is applied, at most the longest wait set.
    pub(super) fn wait_for(&self, seq: u64) -> Result<()> {
        if seq == 0 {
            return Ok(());
        }
        if !self.enabled {
            return Err(Error::invalid(
                "min_sequence",
                format!(
                    "{seq}: this server's database keeps no change log (sled: one node), so there is no sequence \
                     to wait for; leave min_sequence unset (0)"
                ),
            ));
        }
        let wait = Duration::from_millis(self.max_wait_ms.load(Ordering::SeqCst));
        let deadline = Instant::now() + wait;
        let mut applied = self.applied.lock();
        while *applied < seq {
            if self.applied_changed.wait_until(&mut applied, deadline).timed_out() && *applied < seq {
                let head = self.head.load(Ordering::SeqCst);
                let why = if seq > head {
                    format!("the newest change this node has seen in the database is {head}")
                } else {
                    format!("this node has applied the changes up to {} only", *applied)
                };
                return Err(Error::Unavailable {
                    message: format!(
                        "min_sequence {seq} is not applied on this node after waiting {:.1} s: {why}; retry, or \
                         ask another node",
                        wait.as_secs_f64()
                    ),
                    source: None,
                });
            }
        }
        Ok(())
    }

    pub(super) fn status(&self) -> ReplicationStatus {
        if !self.enabled {
            return ReplicationStatus::default();
        }
        let since_contact =
            if self.disconnected.load(Ordering::SeqCst) { None } else { self.contact.lock().map(|at| at.elapsed()) };
        ReplicationStatus {
            enabled: true,
            applied: self.applied(),
            head: self.head.load(Ordering::SeqCst),
            behind: self.behind_since.lock().map_or(Duration::ZERO, |since| since.elapsed()),
            since_contact,
            last_lag_ms: self.last_lag_ms.load(Ordering::SeqCst),
        }
    }

    /// The lags recorded so far (ms), and forgets them (measurements).
    pub(super) fn take_lags(&self) -> Vec<u32> {
        std::mem::take(&mut *self.lags.lock())
    }

    fn seen(&self, head: u64) {
        *self.contact.lock() = Some(Instant::now());
        self.disconnected.store(false, Ordering::SeqCst);
        self.head.fetch_max(head, Ordering::SeqCst);
        let behind = self.applied() < self.head.load(Ordering::SeqCst);
        let mut since = self.behind_since.lock();
        match (behind, *since) {
            (true, None) => *since = Some(Instant::now()),
            (false, Some(_)) => *since = None,
            _ => {}
        }
    }
}

/// Catches up with the change log (run by the writer thread): returns
/// whether more entries are waiting.
pub(super) fn catch_up(shared: &Shared) -> Result<bool> {
    let Some(log) = shared.store.change_log() else { return Ok(false) };
    let replication = &shared.replication;
    let applied = replication.applied();
    let batch = log.changes_after(applied, BATCH)?;
    if batch.head < applied {
        // Changes this node applied are gone from the database: restored
        // from an older backup, or a failover to a replica that was behind.
        // Not followed (health goes NOT_SERVING as the node stops reading
        // the log); a restart builds the index from what the database holds.
        tracing::error!(applied, head = batch.head, "the database's change log is behind what this node applied");
        return Err(Error::Corrupt {
            key: "dhakira_changes".into(),
            reason: format!(
                "the change log ends at {} but this node applied changes up to {applied}: acknowledged changes are \
                 missing from the database",
                batch.head
            ),
        });
    }
    if batch.trimmed > applied {
        // Entries this node never applied were trimmed: the index is built
        // again from the units table (which holds every entry up to the
        // head read before it).
        tracing::warn!(
            applied,
            trimmed = batch.trimmed,
            "the change log was trimmed past what this node applied; rebuilding the index from the database"
        );
        if shared.indexed {
            let (index, mirror) = super::build_index(shared.store.as_ref(), shared.mirror.is_some())?;
            let mut working = shared.working.lock();
            *working = index;
            if let (Some(shared), Some(mirror)) = (&shared.mirror, mirror) {
                *shared.write() = mirror;
            }
            shared.index.store(working.snapshot());
        }
        replication.set_applied(batch.head);
        replication.seen(batch.head);
        return Ok(true);
    }
    let Some(last) = batch.changes.last().map(|c| c.seq) else {
        replication.seen(batch.head);
        return Ok(false);
    };
    let theirs: Vec<_> = batch.changes.iter().filter(|c| c.origin != log.origin()).collect();
    let ids: BTreeSet<_> = theirs.iter().flat_map(|c| c.units.iter().copied()).collect();
    if shared.indexed && !ids.is_empty() {
        let ids: Vec<_> = ids.into_iter().collect();
        let stored = log.get_many(&ids)?;
        let mut index = shared.working.lock();
        for &id in &ids {
            index.remove(id);
            shared.mirror(id, None);
        }
        for unit in &stored {
            index.insert(unit);
            shared.mirror(unit.id, Some(unit));
        }
        shared.index.store(index.snapshot());
        drop(index);
        shared.aligner.added(stored.iter().map(|unit| unit.id));
        // As after a group commit: a node that only follows merges its
        // segments and drops deleted units too.
        super::writer::tidy_index(shared);
    }
    let now_ms = super::now_ms();
    if let Some(newest) = theirs.last() {
        let mut lags = replication.lags.lock();
        for change in &theirs {
            lags.push((now_ms - change.at_ms).clamp(0, u32::MAX as i64) as u32);
        }
        replication.last_lag_ms.store((now_ms - newest.at_ms).max(0) as u64, Ordering::SeqCst);
    }
    replication.set_applied(last);
    replication.seen(batch.head);
    Ok(batch.changes.len() == BATCH)
}

/// Starts the follower thread of a node whose store has a change log. It
/// stops when the engine is dropped.
pub(super) fn start(shared: &Arc<Shared>, writer: &Arc<Writer>) {
    let (shared, writer) = (Arc::downgrade(shared), Arc::downgrade(writer));
    std::thread::Builder::new()
        .name("dhakira-follower".into())
        .spawn(move || follow(&shared, &writer))
        .expect("spawning the follower thread");
}

fn follow(shared: &Weak<Shared>, writer: &Weak<Writer>) {
    let mut listener = None;
    let mut trimmed_at = Instant::now();
    let mut warned = false;
    loop {
        if listener.is_none() {
            let Some(shared) = shared.upgrade() else { return };
            let Some(log) = shared.store.change_log() else { return };
            match log.listen() {
                Ok(l) => {
                    listener = Some(l);
                    if warned {
                        tracing::info!("listening to the change log again");
                    }
                    warned = false;
                }
                Err(err) => {
                    if !warned {
                        tracing::warn!(error = %err, "cannot listen to the change log; retrying");
                    }
                    warned = true;
                    shared.replication.disconnected.store(true, Ordering::SeqCst);
                }
            }
        }
        match listener.as_mut() {
            Some(l) => {
                if let Err(err) = l.wait(POLL) {
                    tracing::warn!(error = %err, "lost the connection listening to the change log");
                    listener = None;
                    if let Some(shared) = shared.upgrade() {
                        shared.replication.disconnected.store(true, Ordering::SeqCst);
                    }
                }
            }
            None => std::thread::sleep(POLL),
        }
        let Some(writer) = writer.upgrade() else { return };
        loop {
            match writer.catch_up() {
                Ok(true) => continue,
                Ok(false) => break,
                Err(Error::ShuttingDown) => return,
                Err(err) => {
                    tracing::debug!(error = %err, "cannot read the change log; retrying");
                    break;
                }
            }
        }
        drop(writer);
        if trimmed_at.elapsed() >= TRIM_EVERY {
            trimmed_at = Instant::now();
            let Some(shared) = shared.upgrade() else { return };
            if let Some(log) = shared.store.change_log() {
                match log.trim(KEEP) {
                    Ok(removed) if removed > 0 => tracing::info!(removed, "change log trimmed"),
                    Ok(_) => {}
                    Err(err) => tracing::debug!(error = %err, "cannot trim the change log"),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use crate::store::{pg_cluster::Cluster, PostgresStore, Store};
    use crate::{LookupRequest, TranslationMemory, UnitInput};

    /// Two engines on one database, as two nodes: what one adds, replaces
    /// and deletes, the other's index ends up holding exactly. Checked
    /// against the units table (`for_each_unit`) and against full scans
    /// (`exhaustive`, the reference) on a sample of the corpus.
    #[test]
    fn a_follower_index_matches_the_database_after_adds_and_deletes() {
        let cluster = Cluster::start();
        let url = cluster.url("dhakira");
        let node = || TranslationMemory::with_store(Arc::new(PostgresStore::open(&url).unwrap()) as Arc<dyn Store>);
        let (a, b) = (node().unwrap(), node().unwrap());
        let pairs = crate::test_corpus::read_pairs(&crate::test_corpus::corpus_dir().join("un_v1_testsets.tsv"))
            .unwrap()
            .into_iter()
            .take(1_200)
            .collect::<Vec<_>>();
        let mut ids = Vec::new();
        for (i, chunk) in pairs.chunks(100).enumerate() {
            let units = chunk
                .iter()
                .map(|(ar, en)| UnitInput {
                    arabic: ar.clone(),
                    english: en.clone(),
                    memory: format!("m{}", i % 3),
                    ..Default::default()
                })
                .collect();
            ids.extend(a.add_units(units).unwrap().ids);
        }
        for id in ids.iter().step_by(7) {
            a.delete_unit(*id).unwrap();
        }
        let mut stored = Vec::new();
        b.for_each_unit(&mut |u| {
            stored.push(u);
            Ok(())
        })
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while b.stats().total_units != stored.len() as u64 {
            assert!(Instant::now() < deadline, "{} units on b, {} stored", b.stats().total_units, stored.len());
            std::thread::sleep(Duration::from_millis(20));
        }
        let (sa, sb) = (a.stats(), b.stats());
        assert_eq!((sb.memories, sb.total_units), (sa.memories, sa.total_units));
        b.wait_for(a.sequence()).unwrap();
        for (english, _) in pairs.iter().step_by(37).map(|(ar, en)| (en, ar)) {
            let request = |exhaustive| LookupRequest {
                text: english.clone(),
                source_lang: "en".into(),
                min_score: Some(50),
                exhaustive,
                ..Default::default()
            };
            let ids =
                |matches: Vec<crate::Match>| matches.into_iter().map(|m| (m.unit.id, m.score)).collect::<Vec<_>>();
            assert_eq!(ids(b.lookup(request(false)).unwrap()), ids(b.lookup(request(true)).unwrap()), "{english:?}");
        }

        // The database goes back in time under b (its log emptied, as a
        // restore of an older backup would leave it): b stops following
        // and its health goes NOT_SERVING, it does not take the old state.
        cluster.psql("dhakira", "TRUNCATE dhakira_changes; UPDATE dhakira_changes_trimmed SET seq = 0");
        let err = super::catch_up(&b.shared).unwrap_err();
        assert!(err.to_string().contains("acknowledged changes are missing"), "{err}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while b.replication().since_contact.is_some_and(|since| since < Duration::from_secs(1)) {
            assert!(Instant::now() < deadline, "{:?}", b.replication());
            std::thread::sleep(Duration::from_millis(50));
        }
        let (sa, sb) = (a.stats(), b.stats());
        assert_eq!((sb.memories, sb.total_units), (sa.memories, sa.total_units));
    }
}
