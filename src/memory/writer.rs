//! The single writer: group commit.
//!
//! Every write goes through one thread. It takes whatever requests are
//! queued, checks them against the store (duplicates, missing ids), applies
//! all of their writes in batches, flushes once, updates the index, and only
//! then acknowledges each request. Nothing is acknowledged before the flush
//! that makes it durable has returned.

use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;

use super::{now_ms, Shared};
use crate::error::{Error, Result};
use crate::matching::Analyzed;
use crate::store::{MemoryRecord, Store, Write};
use crate::text::Lang;
use crate::unit::{SideKey, Unit, UnitEdit, UnitId};

/// Most requests committed together.
const MAX_GROUP: usize = 256;

/// What to do with a unit whose source text is already stored in its memory
/// with another translation. A unit whose source and target are both stored
/// already is never stored twice, whatever the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum DuplicatePolicy {
    /// Store the new translation alongside the ones already there.
    #[default]
    Add,
    /// The new translation replaces the stored ones: the newest stored unit
    /// of that source is updated in place (same id), the others are removed.
    Overwrite,
    /// Like [`DuplicatePolicy::Overwrite`] when the new unit is at least as
    /// new (`changedate`, else `creationdate`; a unit without dates counts
    /// as new now) as every stored translation of that source; otherwise the
    /// stored ones stay and the new one is skipped.
    KeepNewest,
}

/// A validated unit on its way to the store.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// Without id; a zero `created_at_ms` means "now".
    pub unit: Unit,
    /// Which side is the source, for the duplicate policy.
    pub source: Lang,
    /// The unit's analysis for the index, when the caller computed it
    /// already (importers do it on their own thread).
    pub analyzed: Option<Analyzed>,
}

impl Incoming {
    pub fn new(unit: Unit, source: Lang) -> Incoming {
        Incoming { unit, source, analyzed: None }
    }
}

/// What happened to one incoming unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Stored as a new unit.
    Added(UnitId),
    /// Already stored exactly so (text and metadata): nothing changed.
    Duplicate(UnitId),
    /// A stored unit (this id) was updated to it.
    Updated(UnitId),
    /// Skipped: a stored translation of the same source (this id) is newer.
    KeptNewer(UnitId),
}

impl Outcome {
    /// The id of the unit that now holds the pair (or the newer one kept).
    pub fn id(self) -> UnitId {
        match self {
            Outcome::Added(id) | Outcome::Duplicate(id) | Outcome::Updated(id) | Outcome::KeptNewer(id) => id,
        }
    }
}

/// What an add request did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Added {
    /// The id of each unit, in request order: the new id, the existing id
    /// of a duplicate or an updated unit, or the newer unit kept.
    pub ids: Vec<UnitId>,
    /// Units newly stored.
    pub added: usize,
    /// Units already stored exactly so (skipped).
    pub duplicates: usize,
    /// Stored units updated (policy overwrite or keep-newest, or new
    /// metadata for a stored pair).
    pub updated: usize,
    /// Units skipped because a newer translation is stored (keep-newest).
    pub kept_newer: usize,
    /// Other translations of an overwritten source that were removed.
    pub removed: usize,
}

impl Added {
    fn record(&mut self, outcome: Outcome) {
        self.ids.push(outcome.id());
        match outcome {
            Outcome::Added(_) => self.added += 1,
            Outcome::Duplicate(_) => self.duplicates += 1,
            Outcome::Updated(_) => self.updated += 1,
            Outcome::KeptNewer(_) => self.kept_newer += 1,
        }
    }
}

/// A change to one stored unit.
#[derive(Debug, Clone)]
pub enum Change {
    /// New values for some fields.
    Edit(Box<UnitEdit>),
    /// A translator used it: one more use, last used now.
    Use,
}

/// A change to the records of named memories.
pub(super) enum MemoryChange {
    /// Creates a memory's record: `AlreadyExists` when the memory exists
    /// (it has a record, or holds units).
    Create(MemoryRecord),
    /// Removes a memory's record, if there is one.
    Remove(String),
}

enum Command {
    Add(Vec<Incoming>, DuplicatePolicy, mpsc::SyncSender<Result<Added>>),
    /// Ids to delete; with `strict`, a missing one is an error (else it is
    /// skipped). Answers how many were deleted.
    Delete(Vec<UnitId>, bool, mpsc::SyncSender<Result<usize>>),
    Change(UnitId, Change, mpsc::SyncSender<Result<Unit>>),
    Memory(MemoryChange, mpsc::SyncSender<Result<()>>),
    /// Applies the change log's new entries to the index (see
    /// [`super::follow`]); answers whether more are waiting.
    CatchUp(mpsc::SyncSender<Result<bool>>),
    /// Keep the index with the store (see [`super::saving`]).
    SaveIndex(mpsc::SyncSender<Result<bool>>),
}

pub(super) struct Writer {
    queue: Option<mpsc::Sender<Command>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    pub(super) fn start(shared: Arc<Shared>) -> Writer {
        let (queue, commands) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("dhakira-writer".into())
            .spawn(move || run(&shared, &commands))
            .expect("spawning the writer thread");
        Writer { queue: Some(queue), thread: Some(thread) }
    }

    /// Stores units (validated, without ids); blocks until they are durable.
    pub(super) fn add(&self, units: Vec<Incoming>, policy: DuplicatePolicy) -> Result<Added> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.send(Command::Add(units, policy, reply))?;
        answer.recv().map_err(|_| Error::ShuttingDown)?
    }

    /// Deletes units (with `strict`, every one must exist); blocks until
    /// the deletion is durable. Returns how many were deleted.
    pub(super) fn delete(&self, ids: Vec<UnitId>, strict: bool) -> Result<usize> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.send(Command::Delete(ids, strict, reply))?;
        answer.recv().map_err(|_| Error::ShuttingDown)?
    }

    /// Changes one unit; blocks until the change is durable. Returns the
    /// unit as stored.
    pub(super) fn change(&self, id: UnitId, change: Change) -> Result<Unit> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.send(Command::Change(id, change, reply))?;
        answer.recv().map_err(|_| Error::ShuttingDown)?
    }

    /// Creates or removes a memory's record; blocks until it is durable.
    pub(super) fn memory(&self, change: MemoryChange) -> Result<()> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.send(Command::Memory(change, reply))?;
        answer.recv().map_err(|_| Error::ShuttingDown)?
    }

    /// Applies the change log's next entries (other nodes' writes) to the
    /// index, between two group commits.
    pub(super) fn catch_up(&self) -> Result<bool> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.send(Command::CatchUp(reply))?;
        answer.recv().map_err(|_| Error::ShuttingDown)?
    }

    /// Keeps the index with the store if it changed since it was last
    /// kept; whether it wrote one.
    pub(super) fn save_index(&self) -> Result<bool> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.send(Command::SaveIndex(reply))?;
        answer.recv().map_err(|_| Error::ShuttingDown)?
    }

    fn send(&self, command: Command) -> Result<()> {
        self.queue.as_ref().ok_or(Error::ShuttingDown)?.send(command).map_err(|_| Error::ShuttingDown)
    }
}

impl Drop for Writer {
    /// Lets the queued requests finish, then stops the thread.
    fn drop(&mut self) {
        self.queue.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(shared: &Arc<Shared>, commands: &mpsc::Receiver<Command>) {
    // Units a failed commit touched whose stored state could not be read
    // back yet (the database was not open again): the index catches up
    // with them before the next commit.
    let mut unsettled: Vec<UnitId> = Vec::new();
    let idle = super::saving::idle();
    loop {
        let first = match commands.recv_timeout(idle) {
            Ok(first) => first,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // Writes paused: the index equals the store, unless a
                // failed write left units unsettled.
                // A merge started now is kept by the save of a later
                // pause, once no merge is left to start.
                if unsettled.is_empty() && !settle_when_idle(shared) {
                    super::saving::when_idle(shared);
                }
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        let mut group = Vec::new();
        let mut catch_ups = Vec::new();
        let mut saves = Vec::new();
        let mut next = Some(first);
        while let Some(command) = next.take() {
            match command {
                Command::CatchUp(reply) => catch_ups.push(reply),
                Command::SaveIndex(reply) => saves.push(reply),
                command => group.push(command),
            }
            if group.len() < MAX_GROUP {
                next = commands.try_recv().ok();
            }
        }
        if !group.is_empty() {
            unsettled = commit(shared, group, unsettled);
        }
        for reply in catch_ups {
            let _ = reply.send(super::follow::catch_up(shared));
        }
        for reply in saves {
            let saved = if !unsettled.is_empty() {
                Err(Error::storage("the index is not saved: a failed write left it behind the store"))
            } else {
                super::saving::take(shared).map_or(Ok(false), |pending| super::saving::save(shared, pending))
            };
            let _ = reply.send(saved);
        }
    }
}

/// The outcome of one command before the commit.
enum Planned {
    Add(Added),
    Delete(Result<usize>),
    Change(Result<Box<Unit>>),
    Memory(Result<()>),
}

/// Commits a group, once the index agrees with the store on the
/// `unsettled` units of earlier failures; returns the units whose state
/// could not be read back after a failure (see [`reconcile`]).
fn commit(shared: &Shared, mut group: Vec<Command>, mut unsettled: Vec<UnitId>) -> Vec<UnitId> {
    let started = std::time::Instant::now();
    let mut planner = Planner::new(shared.store.as_ref());
    let mut writes = Vec::new();
    let mut records = BTreeMap::new();
    // The space check first: it reopens a store that a failed write left
    // open for reads only, whose state the index can then catch up with.
    let ready = shared.store.check_space().map(|()| {
        if !unsettled.is_empty() {
            unsettled = reconcile(shared, std::mem::take(&mut unsettled).into_iter());
        }
    });
    let outcome = ready.and_then(|()| plan(shared, &mut planner, &mut group)).and_then(|planned| {
        if crate::store::unsafe_no_flush() {
            acknowledge_early(&group, &planned);
        }
        let planned_at = started.elapsed();
        writes = planner.take_writes();
        records = std::mem::take(&mut planner.records);
        // One transaction on PostgreSQL, with its entry in the change log.
        let seq = shared.store.commit(&writes, &records)?;
        shared.replication.committed(seq);
        let applied_at = started.elapsed();
        tracing::debug!(
            requests = group.len(),
            writes = writes.len(),
            plan_ms = planned_at.as_secs_f64() * 1e3,
            apply_ms = (applied_at - planned_at).as_secs_f64() * 1e3,
            flush_ms = (started.elapsed() - applied_at).as_secs_f64() * 1e3,
            "group committed"
        );
        Ok(planned)
    });
    // The store may have changed (a failed group may have written part):
    // the index kept with it no longer describes it.
    if !writes.is_empty() || !records.is_empty() {
        shared.saving.changed();
    }
    match outcome {
        Ok(planned) => {
            update_index(shared, &writes, planner.analyses);
            answer(group, planned);
            // After the answers: nobody waits on it but later writes.
            tidy_index(shared);
            unsettled
        }
        Err(err) => {
            let touched = !writes.is_empty() || !records.is_empty();
            failed(shared, group, &err, touched.then_some(&writes[..]), &mut unsettled);
            unsettled
        }
    }
}

/// Answers each command of a committed group with its planned outcome.
fn answer(group: Vec<Command>, planned: Vec<Planned>) {
    for (command, planned) in group.into_iter().zip(planned) {
        match (command, planned) {
            (Command::Add(_, _, reply), Planned::Add(added)) => {
                let _ = reply.send(Ok(added));
            }
            (Command::Delete(_, _, reply), Planned::Delete(result)) => {
                let _ = reply.send(result);
            }
            (Command::Change(_, _, reply), Planned::Change(result)) => {
                let _ = reply.send(result.map(|unit| *unit));
            }
            (Command::Memory(_, reply), Planned::Memory(result)) => {
                let _ = reply.send(result);
            }
            _ => unreachable!("plans are made in command order"),
        }
    }
}

/// A group that failed (`err`): logged, the store recovered and the index
/// reconciled when it had written anything (`writes`, `None` when it was
/// refused before any write), and every command answered with the error.
fn failed(shared: &Shared, group: Vec<Command>, err: &Error, writes: Option<&[Write]>, unsettled: &mut Vec<UnitId>) {
    match err {
        Error::DiskFull(_) => {
            tracing::warn!(error = %err, requests = group.len(), "write refused; nothing in this group is acknowledged")
        }
        _ => {
            tracing::error!(error = %err, requests = group.len(), "write failed; nothing in this group is acknowledged")
        }
    }
    // Back to what is durable (sled keeps failing after an I/O
    // error until it is reopened), then the index agrees with it.
    // (Nothing to do when the group was refused before any write.)
    // A store that could not be reopened yet: the units are
    // settled once it is (before the next commit).
    if let Some(writes) = writes {
        match shared.store.recover() {
            Ok(()) => unsettled.extend(reconcile(shared, writes.iter().map(Write::id))),
            Err(again) => {
                tracing::warn!(error = %again, "cannot reopen the database yet; the next write tries again");
                unsettled.extend(writes.iter().map(Write::id));
            }
        }
    }
    for command in group {
        let failed = Err(match err {
            Error::DiskFull(message) => Error::DiskFull(message.clone()),
            // The database is away (PostgreSQL): nothing was acknowledged,
            // and a retry may succeed once it is back.
            Error::Unavailable { message, .. } => Error::Unavailable { message: message.clone(), source: None },
            other => Error::storage(other.to_string()),
        });
        match command {
            Command::Add(_, _, reply) => {
                let _ = reply.send(failed);
            }
            Command::Delete(_, _, reply) => {
                let _ = reply.send(failed.map(|_: Added| 0));
            }
            Command::Change(_, _, reply) => {
                let _ = reply.send(failed.map(|_: Added| Unit::default()));
            }
            Command::Memory(_, reply) => {
                let _ = reply.send(failed.map(|_: Added| ()));
            }
            Command::CatchUp(_) | Command::SaveIndex(_) => unreachable!("catch-ups and saves are not part of a group"),
        }
    }
}

/// The crash test's control run only (`DHAKIRA_UNSAFE_NO_FLUSH=1`):
/// answers the adds of a group before any of it is stored, and lets 100 ms
/// pass, as a server that acknowledges before its writes are durable would.
/// (The answers sent after the commit then go nowhere.)
fn acknowledge_early(group: &[Command], planned: &[Planned]) {
    for (command, planned) in group.iter().zip(planned) {
        if let (Command::Add(_, _, reply), Planned::Add(added)) = (command, planned) {
            let _ = reply.try_send(Ok(added.clone()));
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(100));
}

/// Brings the index up to date with committed writes: the writer's copy
/// takes them, and its snapshot is published. The analysis of new texts
/// was done before; lookups never wait on any of it.
fn update_index(shared: &Shared, writes: &[Write], mut analyses: HashMap<UnitId, Analyzed>) {
    if !shared.indexed {
        return;
    }
    let text_changed =
        |old: &Unit, new: &Unit| old.memory != new.memory || old.arabic != new.arabic || old.english != new.english;
    let mut index = shared.working.lock();
    let mut realign = Vec::new();
    for write in writes {
        match write {
            Write::Put(unit) | Write::Replace { new: unit, .. } => shared.mirror(unit.id, Some(unit)),
            Write::Delete(unit) => shared.mirror(unit.id, None),
        }
        let mut analyzed = |unit: &Unit| analyses.remove(&unit.id).unwrap_or_else(|| Analyzed::of(unit));
        match write {
            Write::Put(unit) => {
                index.insert_analyzed(unit, analyzed(unit));
                realign.push(unit.id);
            }
            Write::Replace { old, new } if text_changed(old, new) => {
                index.remove(old.id);
                index.insert_analyzed(new, analyzed(new));
                realign.push(new.id);
            }
            Write::Replace { new, .. } => index.update_metadata(new),
            Write::Delete(unit) => {
                index.remove(unit.id);
            }
        }
    }
    shared.index.store(index.snapshot());
    drop(index);
    shared.aligner.added(realign);
}

/// Merges the index's small segments and drops deleted units (see
/// `Index::tidy`), then publishes the result. Lookups go on with the
/// snapshot they hold meanwhile; only later writes wait.
pub(super) fn tidy_index(shared: &Shared) {
    if !shared.indexed {
        return;
    }
    let started = std::time::Instant::now();
    let mut index = shared.working.lock();
    let (segments, deleted) = (index.segments(), index.deleted_slots());
    let tidied = index.tidy();
    if tidied.changed {
        shared.index.store(index.snapshot());
        tracing::debug!(
            segments_before = segments,
            segments = index.segments(),
            copied = tidied.copied,
            dropped = deleted - index.deleted_slots(),
            ms = started.elapsed().as_secs_f64() * 1e3,
            "index segments merged"
        );
    }
}

/// Once the writes pause: merges the index's small last segments into one
/// (see `Index::settling`) on a thread of its own, unless one such merge is
/// running. Lookups and writes go on meanwhile; the merge is put in place
/// if those segments are unchanged by then, and marks the index as worth
/// keeping again. Says whether a merge is running.
pub(super) fn settle_when_idle(shared: &Arc<Shared>) -> bool {
    if !shared.indexed {
        return false;
    }
    if shared.merging.is_locked() {
        return true;
    }
    let Some(settling) = shared.working.lock().settling() else { return false };
    let merging = Arc::clone(shared);
    let spawned = std::thread::Builder::new().name("dhakira-merge".into()).spawn(move || {
        let _merging = merging.merging.lock();
        settle(&merging, settling);
    });
    if let Err(error) = spawned {
        tracing::warn!(%error, "the index's small segments are not merged: no thread for it");
        return false;
    }
    true
}

/// Merges what `settling` chose and puts it in place (see
/// `Index::settle`: dropped if those segments changed meanwhile, as when
/// another merge took them); says whether it was. The caller holds
/// `Shared::merging`.
pub(super) fn settle(shared: &Shared, settling: crate::matching::Settling) -> bool {
    let started = std::time::Instant::now();
    let (segments, units) = (settling.segments(), settling.units());
    let settled = settling.merge();
    let merged_at = started.elapsed();
    let mut index = shared.working.lock();
    let done = index.settle(settled);
    if done {
        shared.index.store(index.snapshot());
        shared.saving.changed();
    }
    drop(index);
    tracing::info!(
        merged = done,
        segments_merged = segments,
        units,
        merge_ms = merged_at.as_secs_f64() * 1e3,
        ms = started.elapsed().as_secs_f64() * 1e3,
        "index segments merged once the writes paused"
    );
    done
}

/// The state of the store as a group of commands changes it, before any of
/// it is written.
struct Planner<'a> {
    store: &'a dyn Store,
    /// Seconds-precise, as TMX dates.
    now: i64,
    /// Units the group changes: (as stored before the group, as after it);
    /// `None` for a unit that did not exist or no longer does.
    touched: BTreeMap<UnitId, (Option<Unit>, Option<Unit>)>,
    /// Ids of units the group stores or changes, by side.
    sides: HashMap<(Lang, SideKey), Vec<UnitId>>,
    /// Analyses the callers computed, by the id of the unit that holds their
    /// text after the group.
    analyses: HashMap<UnitId, Analyzed>,
    /// Memory records the group writes (`None`: removed), by name.
    records: BTreeMap<String, Option<MemoryRecord>>,
    /// The store's ids by side, read before the group for the sides its
    /// new units bring (see [`Planner::prefetch`]).
    stored_sides: HashMap<(Lang, SideKey), Vec<UnitId>>,
}

impl<'a> Planner<'a> {
    fn new(store: &'a dyn Store) -> Planner<'a> {
        Planner {
            store,
            now: now_ms() / 1000 * 1000,
            touched: BTreeMap::new(),
            sides: HashMap::new(),
            analyses: HashMap::new(),
            records: BTreeMap::new(),
            stored_sides: HashMap::new(),
        }
    }

    /// Reads at once the stored units with the source sides of the group's
    /// new units, which [`Planner::add`] looks up one by one: one read for
    /// the group where the store is remote. Only the writer writes, so the
    /// store holds the same until the group is applied.
    fn prefetch(&mut self, group: &[Command]) -> Result<()> {
        let mut keys: Vec<(Lang, SideKey)> = group
            .iter()
            .filter_map(|command| match command {
                Command::Add(units, ..) => Some(units),
                _ => None,
            })
            .flatten()
            .map(|incoming| {
                let unit = &incoming.unit;
                (incoming.source, SideKey::of(&unit.memory, incoming.source, unit.side(incoming.source)))
            })
            .collect();
        keys.sort_unstable();
        keys.dedup();
        if keys.len() < 2 {
            return Ok(());
        }
        let found = self.store.ids_with_sides(&keys)?;
        self.stored_sides = keys.into_iter().zip(found).collect();
        Ok(())
    }

    /// The unit as the group has left it so far.
    fn current(&self, id: UnitId) -> Result<Option<Unit>> {
        match self.touched.get(&id) {
            Some((_, now)) => Ok(now.clone()),
            None => self.store.get(id),
        }
    }

    /// The units of `memory` whose side in `lang` is `text`, oldest first.
    fn with_side(&self, memory: &str, lang: Lang, text: &str) -> Result<Vec<Unit>> {
        let key = SideKey::of(memory, lang, text);
        let mut ids = match self.stored_sides.get(&(lang, key)) {
            Some(ids) => ids.clone(),
            None => self.store.ids_with_side(lang, key)?,
        };
        if let Some(more) = self.sides.get(&(lang, key)) {
            ids.extend(more);
            ids.sort_unstable();
            ids.dedup();
        }
        let mut units = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(unit) = self.current(id)? {
                if unit.memory == memory && unit.side(lang) == text {
                    units.push(unit);
                }
            }
        }
        Ok(units)
    }

    /// Records the new state of a unit whose current state is `current`
    /// (`None`: a new unit).
    fn set(&mut self, id: UnitId, current: Option<&Unit>, new: Option<Unit>) {
        if let Some(unit) = &new {
            for lang in [Lang::Arabic, Lang::English] {
                self.sides.entry((lang, unit.side_key(lang))).or_default().push(id);
            }
        }
        let before = current.cloned();
        self.touched.entry(id).or_insert((before, None)).1 = new;
    }

    fn create(&mut self, mut unit: Unit, analyzed: Option<Analyzed>) -> Result<UnitId> {
        let id = self.store.next_id()?;
        unit.id = id;
        if unit.created_at_ms == 0 {
            unit.created_at_ms = self.now;
        }
        if let Some(analyzed) = analyzed {
            self.analyses.insert(id, analyzed);
        }
        self.set(id, None, Some(unit));
        Ok(id)
    }

    /// `existing` becomes `incoming` (see [`merge`]); `Duplicate` when that
    /// changes nothing.
    fn update(&mut self, existing: &Unit, incoming: Unit, analyzed: Option<Analyzed>) -> Outcome {
        let merged = merge(existing, incoming, self.now);
        if merged == *existing {
            return Outcome::Duplicate(existing.id);
        }
        if let Some(analyzed) = analyzed {
            self.analyses.insert(existing.id, analyzed);
        }
        self.set(existing.id, Some(existing), Some(merged));
        Outcome::Updated(existing.id)
    }

    fn add(&mut self, incoming: Incoming, policy: DuplicatePolicy, added: &mut Added) -> Result<()> {
        let Incoming { mut unit, source, analyzed } = incoming;
        // Stored times have second precision, as TMX dates do, whichever
        // edge the unit came through: an export and an import then give the
        // same unit back.
        for time in [&mut unit.created_at_ms, &mut unit.changed_at_ms, &mut unit.last_used_at_ms] {
            *time -= *time % 1000;
        }
        let target = source.other();
        // The stored units that are this unit, maybe with another
        // translation: same source text, and the same identity beyond it
        // (see [`same_identity`]).
        let mut same_source = self.with_side(&unit.memory, source, unit.side(source))?;
        same_source.retain(|stored| same_identity(stored, &unit, source));
        let exact = same_source.iter().position(|stored| {
            stored.side(target) == unit.side(target) && stored.markup(target) == unit.markup(target)
        });
        let newest = same_source
            .iter()
            .enumerate()
            .max_by_key(|(_, stored)| (stored.changed_or_created_ms(), stored.id))
            .map(|(i, _)| i);
        let overwrite = match policy {
            DuplicatePolicy::Add => false,
            DuplicatePolicy::Overwrite => true,
            DuplicatePolicy::KeepNewest => {
                let incoming_time =
                    if unit.changed_or_created_ms() > 0 { unit.changed_or_created_ms() } else { self.now };
                newest.is_none_or(|i| incoming_time >= same_source[i].changed_or_created_ms())
            }
        };
        let outcome = match (overwrite, exact, newest) {
            (_, _, None) => Outcome::Added(self.create(unit, analyzed)?),
            (false, Some(i), _) => Outcome::Duplicate(same_source[i].id),
            (false, None, Some(i)) if policy == DuplicatePolicy::KeepNewest => Outcome::KeptNewer(same_source[i].id),
            (false, None, Some(_)) => Outcome::Added(self.create(unit, analyzed)?),
            (true, exact, Some(newest)) => {
                let keep = exact.unwrap_or(newest);
                let outcome = self.update(&same_source[keep], unit, analyzed);
                for (i, other) in same_source.iter().enumerate() {
                    if i != keep {
                        self.set(other.id, Some(other), None);
                        added.removed += 1;
                    }
                }
                outcome
            }
        };
        added.record(outcome);
        Ok(())
    }

    /// Applies a change to a stored unit. The outer error is the store's;
    /// the inner one the request's (nothing planned then).
    fn change(&mut self, current: Unit, change: &Change) -> Result<Result<Unit>> {
        let new = match change {
            Change::Use => Unit {
                usage_count: current.usage_count.saturating_add(1),
                last_used_at_ms: self.now,
                ..current.clone()
            },
            Change::Edit(edit) => match edit.apply(&current, self.now) {
                Ok(new) => new,
                Err(err) => return Ok(Err(err)),
            },
        };
        let moved = new.memory != current.memory || new.arabic != current.arabic || new.english != current.english;
        if moved {
            let same = self.with_side(&new.memory, Lang::Arabic, &new.arabic)?;
            let holds = |u: &Unit| {
                u.id != new.id
                    && u.english == new.english
                    && u.english_markup == new.english_markup
                    && same_identity(u, &new, Lang::Arabic)
            };
            if let Some(other) = same.iter().find(|u| holds(u)) {
                return Ok(Err(Error::exists(
                    "unit",
                    format!("unit {} holds this pair in memory {:?} already", other.id, new.memory),
                )));
            }
        }
        self.set(new.id, Some(&current), Some(new.clone()));
        Ok(Ok(new))
    }

    /// The writes that take the store from before the group to after it.
    fn take_writes(&mut self) -> Vec<Write> {
        std::mem::take(&mut self.touched)
            .into_values()
            .filter_map(|(before, after)| match (before, after) {
                (None, Some(new)) => Some(Write::Put(new)),
                (Some(old), Some(new)) if old != new => Some(Write::Replace { old, new }),
                (Some(old), None) => Some(Write::Delete(old)),
                _ => None,
            })
            .collect()
    }
}

/// Whether two units with the same source text in one memory are the same
/// unit (one may be another translation of the other): the same inline
/// markup on the source side (a CAT tool treats another tag layout as
/// another segment), and no different context or tuid. A context or tuid
/// that one of them lacks does not tell them apart, so a file that leaves
/// them out (a TSV) still finds the units it stored before.
fn same_identity(stored: &Unit, incoming: &Unit, source: Lang) -> bool {
    let agree = |a: &str, b: &str| a.is_empty() || b.is_empty() || a == b;
    stored.markup(source) == incoming.markup(source)
        && agree(&stored.context_before, &incoming.context_before)
        && agree(&stored.context_after, &incoming.context_after)
        && agree(&stored.tuid, &incoming.tuid)
}

/// `existing` updated by `incoming` (same source, same memory): the texts
/// and the fields `incoming` gives are taken; the fields it leaves empty or
/// zero keep their stored value (an import cannot clear them); markup is
/// kept only for a side whose text did not change. A new target with no
/// `changedate` is changed now.
fn merge(existing: &Unit, incoming: Unit, now: i64) -> Unit {
    let text = |new: String, old: &str| if new.is_empty() { old.to_owned() } else { new };
    let number = |new: i64, old: i64| if new == 0 { old } else { new };
    let texts_changed = incoming.arabic != existing.arabic || incoming.english != existing.english;
    let markup = |new: Vec<crate::unit::Tag>, new_text: &str, old: &[crate::unit::Tag], old_text: &str| {
        if new.is_empty() && new_text == old_text {
            old.to_vec()
        } else {
            new
        }
    };
    Unit {
        id: existing.id,
        created_by: text(incoming.created_by, &existing.created_by),
        domain: text(incoming.domain, &existing.domain),
        source_document: text(incoming.source_document, &existing.source_document),
        note: text(incoming.note, &existing.note),
        created_at_ms: number(incoming.created_at_ms, existing.created_at_ms),
        changed_at_ms: match incoming.changed_at_ms {
            0 if texts_changed => now,
            0 => existing.changed_at_ms,
            given => given,
        },
        changed_by: text(incoming.changed_by, &existing.changed_by),
        usage_count: if incoming.usage_count == 0 { existing.usage_count } else { incoming.usage_count },
        last_used_at_ms: number(incoming.last_used_at_ms, existing.last_used_at_ms),
        tuid: text(incoming.tuid, &existing.tuid),
        properties: if incoming.properties.is_empty() { existing.properties.clone() } else { incoming.properties },
        arabic_markup: markup(incoming.arabic_markup, &incoming.arabic, &existing.arabic_markup, &existing.arabic),
        english_markup: markup(incoming.english_markup, &incoming.english, &existing.english_markup, &existing.english),
        tmx: incoming.tmx.or_else(|| existing.tmx.clone()),
        client: text(incoming.client, &existing.client),
        project: text(incoming.project, &existing.project),
        context_before: text(incoming.context_before, &existing.context_before),
        context_after: text(incoming.context_after, &existing.context_after),
        source_lang: text(incoming.source_lang, &existing.source_lang),
        memory: incoming.memory,
        arabic: incoming.arabic,
        english: incoming.english,
    }
}

/// Turns the group's commands into the planner's state.
fn plan(shared: &Shared, planner: &mut Planner, group: &mut [Command]) -> Result<Vec<Planned>> {
    planner.prefetch(group)?;
    let mut planned = Vec::with_capacity(group.len());
    for command in group {
        match command {
            Command::Add(units, policy, _) => {
                let mut added = Added::default();
                for incoming in std::mem::take(units) {
                    planner.add(incoming, *policy, &mut added)?;
                }
                planned.push(Planned::Add(added));
            }
            Command::Delete(ids, strict, _) => {
                let mut deleted = 0;
                let mut missing = None;
                for &id in ids.iter() {
                    match planner.current(id)? {
                        Some(unit) => {
                            planner.set(id, Some(&unit), None);
                            deleted += 1;
                        }
                        None => missing = missing.or(Some(id)),
                    }
                }
                planned.push(Planned::Delete(match missing {
                    Some(id) if *strict => Err(Error::not_found("unit_id", format!("no unit has id {id}"))),
                    _ => Ok(deleted),
                }));
            }
            Command::Change(id, change, _) => {
                planned.push(Planned::Change(match planner.current(*id)? {
                    Some(unit) => planner.change(unit, change)?.map(Box::new),
                    None => Err(Error::not_found("unit_id", format!("no unit has id {id}"))),
                }));
            }
            Command::Memory(MemoryChange::Create(record), _) => {
                // Checked here, in the one writer, so two creations of a
                // name cannot both pass.
                let recorded = match planner.records.get(&record.name) {
                    Some(pending) => pending.is_some(),
                    None => planner.store.memories()?.iter().any(|r| r.name == record.name),
                };
                let holds_units = shared.index.load().memory_id(&record.name).is_some();
                planned.push(Planned::Memory(if recorded || holds_units {
                    Err(Error::exists("name", format!("a memory named {:?} exists already", record.name)))
                } else {
                    planner.records.insert(record.name.clone(), Some(record.clone()));
                    Ok(())
                }));
            }
            Command::Memory(MemoryChange::Remove(name), _) => {
                planner.records.insert(name.clone(), None);
                planned.push(Planned::Memory(Ok(())));
            }
            Command::CatchUp(_) | Command::SaveIndex(_) => unreachable!("catch-ups and saves are not part of a group"),
        }
    }
    Ok(planned)
}

/// After a failed commit some writes may have reached the store: make the
/// index agree with what the store now holds, so that a retry (which finds
/// those units as duplicates) sees them in lookups too.
///
/// Returns the ids it could not read (the store is not back yet), for the
/// next attempt.
fn reconcile(shared: &Shared, ids: impl Iterator<Item = UnitId>) -> Vec<UnitId> {
    let mut unread = Vec::new();
    for id in ids {
        if !unread.is_empty() {
            unread.push(id);
            continue;
        }
        match shared.store.get(id) {
            Ok(Some(unit)) => {
                shared.mirror(id, Some(&unit));
                let mut index = shared.working.lock();
                index.remove(id);
                index.insert(&unit);
                shared.index.store(index.snapshot());
            }
            Ok(None) => {
                shared.mirror(id, None);
                let mut index = shared.working.lock();
                index.remove(id);
                shared.index.store(index.snapshot());
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot read back the units of a failed write yet; will retry");
                unread.push(id);
            }
        }
    }
    unread
}
