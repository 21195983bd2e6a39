//! The engine: a [`TranslationMemory`] ties the store, the index and the
//! score function together. Every edge (gRPC, CLI, tests) goes through it.
//!
//! All methods block: call them from a blocking context (the gRPC layer uses
//! `spawn_blocking`).

mod aligner;
mod follow;
pub mod fragments;
mod lookup;
mod manage;
mod saving;
mod writer;

use std::path::Path;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

pub use aligner::{AlignmentStatus, MAX_TRAINING_UNITS, RETRAIN_GROWTH};
pub use follow::{ReplicationStatus, DEFAULT_MAX_WAIT, KEEP as CHANGE_LOG_KEEP, POLL as FOLLOW_POLL};
pub use fragments::{Fragment, FragmentKind, DEFAULT_MIN_CONFIDENCE};
pub(crate) use lookup::{check_count, in_range};
pub use lookup::{
    Lookup, LookupRequest, Match, PreferenceRequest, DEFAULT_MAX_RESULTS, DEFAULT_MAX_SCANS, DEFAULT_MIN_SCORE,
    MAX_FILTER_VALUES, MAX_NAMED_MEMORIES, MAX_PREFERENCES, MAX_RESULTS_LIMIT, MAX_SCORE, SEVERAL_TRANSLATIONS_POINTS,
};
pub use lookup::{DEFAULT_MAX_FRAGMENTS, MAX_FRAGMENTS_LIMIT, MIN_SINGLE_WORD_CHARS};
pub use manage::{Concordance, ConcordanceHit, ConcordanceRequest, Conflict, MemoryInfo};
pub use writer::{Added, DuplicatePolicy, Incoming, Outcome};

/// What [`TranslationMemory::lookup_with_fragments`] found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LookupResult {
    pub matches: Vec<Match>,
    /// Sub-segment matches, best first (see [`rank_key`]).
    pub fragments: Vec<Fragment>,
}

use crate::error::{Error, Result};
use crate::matching::{AnalyzedChunk, Index};
use crate::store::{InMemoryStore, OpenOptions, Store};
use crate::text::Lang;
use crate::unit::{check_id, Packed, Unit, UnitId, UnitInput};

/// Most units in one add request.
pub const MAX_UNITS_PER_REQUEST: usize = 10_000;

/// State shared by readers and the writer thread.
pub(crate) struct Shared {
    store: Arc<dyn Store>,
    /// The index as lookups see it (see [`Published`]).
    index: Published,
    /// The writer's copy of the index, which it changes and then publishes;
    /// readers never lock it: the writer thread does, and the merge thread
    /// of [`writer::settle_when_idle`] to put its merge in place.
    working: Mutex<Index>,
    /// Held while a merge of [`writer::settle`] runs: one at a time.
    merging: Mutex<()>,
    /// False for a memory opened for a bulk import only: no index is kept.
    indexed: bool,
    /// Full scans running at once (see [`lookup::ScanBudget`]).
    scans: lookup::ScanBudget,
    /// Where this node stands in the change log (PostgreSQL).
    replication: follow::Replication,
    /// On PostgreSQL, every unit in RAM beside the index, so that lookups
    /// read no database (and go on while it is away); `None` on sled, whose
    /// reads are local already.
    mirror: Option<RwLock<Mirror>>,
    /// The word alignment model and every unit's alignment.
    aligner: Arc<aligner::Aligner>,
    /// Whether the index changed since the store last kept it.
    saving: saving::Saving,
}

/// Every stored unit, and the ids by side key: what lookups read of the
/// store, kept by the writer thread with the index. Units are kept
/// [`Packed`]; a lookup unpacks the few it returns.
#[derive(Default)]
pub(crate) struct Mirror {
    units: std::collections::HashMap<UnitId, Packed>,
    sides: std::collections::HashMap<(Lang, crate::unit::SideKey), Vec<UnitId>>,
}

impl Mirror {
    /// Adds a unit, or replaces the one with its id.
    pub(crate) fn put(&mut self, unit: Unit) {
        self.remove(unit.id);
        for lang in [Lang::Arabic, Lang::English] {
            self.sides.entry((lang, unit.side_key(lang))).or_default().push(unit.id);
        }
        self.units.insert(unit.id, Packed::of(&unit));
    }

    /// Takes the units of `later`, whose ids all follow this mirror's (a
    /// later range of the start-up build).
    fn append(&mut self, later: Mirror) {
        self.units.extend(later.units);
        for (key, ids) in later.sides {
            self.sides.entry(key).or_default().extend(ids);
        }
    }

    fn get(&self, id: UnitId) -> Result<Option<Unit>> {
        self.units.get(&id).map(|packed| packed.unpack(id)).transpose()
    }

    pub(crate) fn remove(&mut self, id: UnitId) {
        // A unit put here was encoded here: it decodes.
        let Ok(Some(old)) = self.get(id) else { return };
        self.units.remove(&id);
        for lang in [Lang::Arabic, Lang::English] {
            let key = (lang, old.side_key(lang));
            if let Some(ids) = self.sides.get_mut(&key) {
                ids.retain(|&other| other != id);
                if ids.is_empty() {
                    self.sides.remove(&key);
                }
            }
        }
    }
}

impl Shared {
    /// A unit as lookups read it: from the mirror when there is one.
    pub(crate) fn unit(&self, id: UnitId) -> Result<Option<Unit>> {
        match &self.mirror {
            Some(mirror) => mirror.read().get(id),
            None => self.store.get(id),
        }
    }

    /// [`Store::ids_with_side`] as lookups read it (any order).
    pub(crate) fn ids_with_side(&self, lang: Lang, key: crate::unit::SideKey) -> Result<Vec<UnitId>> {
        match &self.mirror {
            Some(mirror) => Ok(mirror.read().sides.get(&(lang, key)).cloned().unwrap_or_default()),
            None => self.store.ids_with_side(lang, key),
        }
    }

    /// Applies a unit's stored state (`None`: gone) to the mirror.
    pub(crate) fn mirror(&self, id: UnitId, unit: Option<&Unit>) {
        if let Some(mirror) = &self.mirror {
            let mut mirror = mirror.write();
            match unit {
                Some(unit) => mirror.put(unit.clone()),
                None => mirror.remove(id),
            }
        }
    }
}

/// The latest snapshot of the index. A reader takes a copy of the `Arc`
/// (the lock is held for that copy only) and searches with no lock held;
/// the writer swaps in a new snapshot after each group. A long search thus
/// never holds up a writer, and a writer never holds up a search.
pub(crate) struct Published(RwLock<Arc<Index>>);

impl Published {
    fn new(index: Index) -> Published {
        Published(RwLock::new(Arc::new(index)))
    }

    /// The index as of the last group.
    pub(crate) fn load(&self) -> Arc<Index> {
        Arc::clone(&self.0.read())
    }

    pub(crate) fn store(&self, index: Index) {
        let old = std::mem::replace(&mut *self.0.write(), Arc::new(index));
        // Dropped after the lock: the last reader of a merged-away
        // segment frees it, not the writer under the lock.
        drop(old);
    }
}

/// Units per memory.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stats {
    /// (memory name, units), sorted by name; only memories holding units.
    pub memories: Vec<(String, u64)>,
    pub total_units: u64,
    /// The word alignment model.
    pub alignment: AlignmentStatus,
    /// Segments of the index (see ARCHITECTURE.md, "The index").
    pub segments: usize,
}

/// A translation memory database: every named memory in one store.
#[derive(Clone)]
pub struct TranslationMemory {
    shared: Arc<Shared>,
    writer: Arc<writer::Writer>,
}

impl TranslationMemory {
    /// Opens (or creates) the sled database in `path` and builds the index.
    pub fn open(path: &Path) -> Result<TranslationMemory> {
        TranslationMemory::open_with(path, OpenOptions::default())
    }

    /// [`TranslationMemory::open`] with options.
    pub fn open_with(path: &Path, options: OpenOptions) -> Result<TranslationMemory> {
        TranslationMemory::with_store(crate::store::open(path, options)?)
    }

    /// Opens (or creates) the sled database in `path` for a bulk import
    /// only: no index is built or kept (lookups find nothing), which saves
    /// the time and the memory it takes. The index is built from the store
    /// when the database is next opened with [`TranslationMemory::open`].
    pub fn open_for_import(path: &Path) -> Result<TranslationMemory> {
        TranslationMemory::open_for_import_with(path, OpenOptions::default())
    }

    /// [`TranslationMemory::open_for_import`] with options.
    pub fn open_for_import_with(path: &Path, options: OpenOptions) -> Result<TranslationMemory> {
        Ok(TranslationMemory::start(crate::store::open(path, options)?, Index::default(), false, 0, None, false))
    }

    /// Whether this memory keeps an index (see
    /// [`TranslationMemory::open_for_import`]).
    pub fn is_indexed(&self) -> bool {
        self.shared.indexed
    }

    /// A memory that lives only in RAM (tests, benchmarks).
    pub fn in_memory() -> TranslationMemory {
        TranslationMemory::with_store(Arc::new(InMemoryStore::default()))
            .expect("an empty in-memory store always opens")
    }

    /// Wraps a store, building the index from every unit in it.
    pub fn with_store(store: Arc<dyn Store>) -> Result<TranslationMemory> {
        let started = std::time::Instant::now();
        // The head first: the units read after it hold every change up to
        // it (and maybe later ones, which the follower applies again).
        let head = match store.change_log() {
            Some(log) => log.changes_after(u64::MAX, 1)?.head,
            None => 0,
        };
        // Sled reads the index it kept; a store with a change log keeps
        // none ([`Store::saved_index`]) and follows the log from `head`.
        let kept = saving::open(store.as_ref())?;
        let (index, mirror, loaded) = match kept {
            Some(index) => (index, None, true),
            None => {
                let (index, mirror) = build_index(store.as_ref(), mirrored(store.as_ref()))?;
                tracing::info!(
                    units = index.len(),
                    segments = index.segments(),
                    seconds = started.elapsed().as_secs_f64(),
                    "index built"
                );
                (index, mirror, false)
            }
        };
        let tm = TranslationMemory::start(store, index, true, head, mirror, loaded);
        if tm.shared.replication.enabled {
            follow::start(&tm.shared, &tm.writer);
        }
        Ok(tm)
    }

    /// The engine over `store` and `index`, its writer thread started.
    fn start(
        store: Arc<dyn Store>,
        mut index: Index,
        indexed: bool,
        head: u64,
        mirror: Option<Mirror>,
        loaded: bool,
    ) -> TranslationMemory {
        let replication = follow::Replication::new(indexed && store.change_log().is_some(), head);
        let shared = Arc::new(Shared {
            mirror: mirror.map(RwLock::new),
            replication,
            store,
            index: Published::new(index.snapshot()),
            working: Mutex::new(index),
            indexed,
            scans: Default::default(),
            aligner: Default::default(),
            saving: saving::Saving::new(loaded),
            merging: Mutex::new(()),
        });
        if indexed {
            aligner::start(&shared);
        }
        let writer = Arc::new(writer::Writer::start(Arc::clone(&shared)));
        TranslationMemory { shared, writer }
    }

    /// How many full scans (`exhaustive`, or `min_score` 0) may run at
    /// once; one more is refused with [`Error::Busy`]. The default is
    /// [`DEFAULT_MAX_SCANS`].
    pub fn set_max_scans(&self, max: usize) {
        self.shared.scans.set_max(max);
    }

    /// Validates and stores units; returns once they are durable. One invalid
    /// unit rejects the whole request (nothing is stored).
    pub fn add_units(&self, units: Vec<UnitInput>) -> Result<Added> {
        if units.is_empty() {
            return Err(Error::invalid("units", "must not be empty"));
        }
        if units.len() > MAX_UNITS_PER_REQUEST {
            return Err(Error::invalid(
                "units",
                format!("{} units in one request; the limit is {MAX_UNITS_PER_REQUEST}", units.len()),
            ));
        }
        let units = units
            .into_iter()
            .enumerate()
            .map(|(i, unit)| Ok(Incoming::new(unit.validate(&format!("units[{i}]"))?, Lang::Arabic)))
            .collect::<Result<Vec<Incoming>>>()?;
        self.writer.add(units, DuplicatePolicy::Add)
    }

    /// Stores units that [`Unit::check`] already accepted (importers check
    /// them one by one to reject bad ones alone), under a duplicate policy;
    /// returns once they are durable.
    pub fn add_checked(&self, units: Vec<Incoming>, policy: DuplicatePolicy) -> Result<Added> {
        if units.is_empty() {
            return Ok(Added::default());
        }
        self.writer.add(units, policy)
    }

    /// Calls `f` with every stored unit, in id order, from a consistent
    /// snapshot of the store's keys as it goes (units added meanwhile may
    /// or may not be seen).
    pub fn for_each_unit(&self, f: &mut dyn FnMut(Unit) -> Result<()>) -> Result<()> {
        self.shared.store.for_each_unit(f)
    }

    /// The best matches for a lookup (once its `min_sequence` is applied).
    pub fn lookup(&self, request: LookupRequest) -> Result<Vec<Match>> {
        let (lookup, cancel) = self.ready(request)?;
        lookup::find(&self.shared, &lookup, &cancel)
    }

    /// A lookup request checked, once this node has applied its
    /// `min_sequence`.
    fn ready(&self, request: LookupRequest) -> Result<(Lookup, crate::Cancel)> {
        let cancel = request.cancel.clone();
        let min_sequence = request.min_sequence;
        let lookup = request.validate()?;
        self.wait_for(min_sequence)?;
        Ok((lookup, cancel))
    }

    /// Waits until this node has applied the change log up to `seq` (0:
    /// at once), at most the longest wait set
    /// ([`TranslationMemory::set_max_wait`]): `Unavailable` after it. On a
    /// store without change log, a `seq` above 0 is `InvalidArgument`.
    pub fn wait_for(&self, seq: u64) -> Result<()> {
        self.shared.replication.wait_for(seq)
    }

    /// The longest a lookup waits for its `min_sequence`
    /// ([`DEFAULT_MAX_WAIT`] by default).
    pub fn set_max_wait(&self, wait: std::time::Duration) {
        self.shared.replication.set_max_wait(wait);
    }

    /// The change sequence to hand a client whose write just returned: the
    /// sequence of the group commit that made it durable, or a later one
    /// of this node (0 on a store without change log). A lookup with it as
    /// `min_sequence` sees the write, on any node.
    pub fn sequence(&self) -> u64 {
        self.shared.replication.last_committed()
    }

    /// Where this node stands in the change log.
    pub fn replication(&self) -> ReplicationStatus {
        self.shared.replication.status()
    }

    /// Replication lags measured since the last call (ms from an entry's
    /// commit to its application on this node; entries of other nodes).
    pub fn take_replication_lags(&self) -> Vec<u32> {
        self.shared.replication.take_lags()
    }

    /// The best matches for a lookup, and its sub-segment matches when it
    /// asks for them (`subsegments`) or when no match reaches its
    /// `min_score`.
    pub fn lookup_with_fragments(&self, request: LookupRequest) -> Result<LookupResult> {
        let (lookup, cancel) = self.ready(request)?;
        let matches = lookup::find(&self.shared, &lookup, &cancel)?;
        let mut fragments = if lookup.subsegments || lookup.aligned_fragments || matches.is_empty() {
            fragments::find(&self.shared, &lookup, lookup.max_subsegments, &cancel)?
        } else {
            Vec::new()
        };
        if lookup.aligned_fragments {
            let aligned =
                fragments::find_aligned(&self.shared, &lookup, &fragments, lookup.min_fragment_confidence, &cancel)?;
            fragments.extend(aligned);
        }
        Ok(LookupResult { matches, fragments })
    }

    /// Where the word alignment model stands (see [`AlignmentStatus`]).
    pub fn alignment(&self) -> AlignmentStatus {
        self.shared.aligner.status()
    }

    /// Trains the word alignment model on the memory now, in this thread,
    /// and aligns every unit with it (the engine's own thread does so by
    /// itself when the memory opens and when it has grown by a quarter).
    pub fn train_alignment(&self) -> AlignmentStatus {
        aligner::train_now(&self.shared, false)
    }

    /// Waits for a model that covers the whole memory, training one in this
    /// thread unless the engine's own thread is doing so (for one-shot
    /// commands that need fragments inside units at once).
    pub fn ensure_alignment(&self) -> AlignmentStatus {
        aligner::train_now(&self.shared, true)
    }

    /// One unit by id.
    pub fn get_unit(&self, id: UnitId) -> Result<Unit> {
        let id = check_id(id)?;
        self.shared.store.get(id)?.ok_or_else(|| Error::not_found("unit_id", format!("no unit has id {id}")))
    }

    /// Deletes one unit; returns once the deletion is durable.
    pub fn delete_unit(&self, id: UnitId) -> Result<()> {
        self.writer.delete(vec![check_id(id)?], true).map(|_| ())
    }

    /// Keeps the index with the store, if it changed since it was last
    /// kept, so that the database opens without building it (only sled
    /// keeps one; see ARCHITECTURE.md, "The index kept between runs"). The
    /// writer also does so by itself once writes pause; a server calls this
    /// when it stops. Returns whether an index was written.
    pub fn save_index(&self) -> Result<bool> {
        self.writer.save_index()
    }

    /// Whether the index was read from the one the store kept when the
    /// memory opened (rather than built from the units).
    pub fn index_was_saved(&self) -> bool {
        self.shared.saving.loaded
    }

    /// Units per memory.
    pub fn stats(&self) -> Stats {
        let index = self.shared.index.load();
        Stats {
            memories: index.memory_counts(),
            total_units: index.len() as u64,
            alignment: self.shared.aligner.status(),
            segments: index.segments(),
        }
    }

    /// Merges one run of the index's small segments now, as the writer does
    /// by itself each time the writes pause (`Index::settling`); waits for
    /// such a merge the writer started. For `dhakira bench`, which times
    /// lookups on a memory at rest. Says whether segments were merged.
    pub fn settle_index(&self) -> bool {
        let _merging = self.shared.merging.lock();
        let chosen = if self.shared.indexed { self.shared.working.lock().settling() } else { None };
        chosen.is_some_and(|chosen| writer::settle(&self.shared, chosen))
    }

    /// True when no unit is stored.
    pub fn is_empty(&self) -> bool {
        self.shared.index.load().is_empty()
    }
}

/// Milliseconds since the Unix epoch, now.
fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Whether the engine over `store` keeps a [`Mirror`]: on a store with a
/// change log (PostgreSQL).
fn mirrored(store: &dyn Store) -> bool {
    store.change_log().is_some()
}

/// Builds the index from every stored unit, and with `mirrored` the
/// [`Mirror`] too, on every core: the store's ranges of ids read at once,
/// their chunks normalized and split by one analyst per core, each range
/// filled in order by a thread of its own (see [`build_index_with`]).
fn build_index(store: &dyn Store, mirrored: bool) -> Result<(Index, Option<Mirror>)> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    build_index_with(store, mirrored, cores, MIN_SPLIT_IDS)
}

/// [`build_index`] from at most `parts` ranges of at least `min_ids` ids.
fn build_index_with(store: &dyn Store, mirrored: bool, parts: usize, min_ids: u64) -> Result<(Index, Option<Mirror>)> {
    const CHUNK: usize = 4_096;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let parts = parts.max(1);
    // Stages, each on threads of its own: the store reads its units in up
    // to `cores` ranges of ids at once (sled; others in one stream) and
    // this build numbers each range's chunks; `cores` analysts normalize
    // and split them (the costly part, taken chunk by chunk as each is
    // free); one filler per range puts that range's chunks into an index of
    // its own in their order; the ranges' indexes are then joined in order.
    // Each channel holds a few chunks: the units in flight stay a few
    // chunks' worth.
    let (raw, raw_chunks) = std::sync::mpsc::sync_channel::<(usize, usize, Vec<Unit>)>(cores);
    let raw_chunks = Mutex::new(raw_chunks);
    let built = std::thread::scope(|scope| {
        let mut to_fillers = Vec::with_capacity(parts);
        let mut fillers = Vec::with_capacity(parts);
        for _ in 0..parts {
            let (analyzed, analyzed_chunks) =
                std::sync::mpsc::sync_channel::<(usize, (Vec<Unit>, AnalyzedChunk))>(cores);
            to_fillers.push(analyzed);
            fillers.push(scope.spawn(move || {
                let mut index = Index::default();
                let mut mirror = mirrored.then(Mirror::default);
                let mut in_order = InOrder::default();
                for (number, chunk) in analyzed_chunks {
                    in_order.put(number, chunk);
                    while let Some((units, words)) = in_order.next() {
                        index.insert_chunk(&units, &words);
                        if let Some(mirror) = mirror.as_mut() {
                            units.into_iter().for_each(|unit| mirror.put(unit));
                        }
                    }
                }
                // Only an analyst's panic leaves a chunk behind, and the
                // scope reports that panic.
                (index, mirror)
            }));
        }
        for _ in 0..cores {
            let (raw_chunks, to_fillers) = (&raw_chunks, to_fillers.clone());
            scope.spawn(move || loop {
                // One analyst at a time waits on the channel; the others
                // wait for the lock, then for the next chunk.
                let next = raw_chunks.lock().recv();
                let Ok((part, number, units)) = next else { break };
                let words = AnalyzedChunk::of(&units);
                if to_fillers[part].send((number, (units, words))).is_err() {
                    break;
                }
            });
        }
        drop(to_fillers);
        // Per range: its next chunk's number and the chunk being filled.
        let pending: Vec<Mutex<(usize, Vec<Unit>)>> =
            (0..parts).map(|_| Mutex::new((0, Vec::with_capacity(CHUNK)))).collect();
        let read = store.for_each_unit_split(parts, min_ids, &|part, unit| {
            let mut pending = pending[part].lock();
            pending.1.push(unit);
            if pending.1.len() == CHUNK {
                let chunk = std::mem::replace(&mut pending.1, Vec::with_capacity(CHUNK));
                let number = pending.0;
                pending.0 += 1;
                drop(pending);
                // The analysts only stop early by panicking, which the
                // scope reports.
                let _ = raw.send((part, number, chunk));
            }
            Ok(())
        });
        for (part, pending) in pending.into_iter().enumerate() {
            let (number, chunk) = pending.into_inner();
            let _ = raw.send((part, number, chunk));
        }
        drop(raw);
        let built: Vec<(Index, Option<Mirror>)> =
            fillers.into_iter().map(|filler| filler.join().expect("the index filler does not panic")).collect();
        read.map(|()| built)
    })?;
    let mut built = built.into_iter();
    let (mut index, mut mirror) = built.next().expect("one range at least");
    for (next, next_mirror) in built {
        index.append(next);
        if let (Some(mirror), Some(next)) = (mirror.as_mut(), next_mirror) {
            mirror.append(next);
        }
    }
    Ok((index, mirror))
}

/// The start-up build reads ranges of fewer ids in one stream: a memory
/// too small to fill two segments stays in one.
const MIN_SPLIT_IDS: u64 = crate::matching::SEGMENT_SLOTS as u64 / 2;

/// Numbered items put in any order, taken in their numbers' order (0, 1,
/// 2…): what the start-up filler does with the analysts' chunks.
struct InOrder<T> {
    /// Items that came before their turn, by number.
    waiting: std::collections::BTreeMap<usize, T>,
    turn: usize,
}

impl<T> Default for InOrder<T> {
    fn default() -> InOrder<T> {
        InOrder { waiting: std::collections::BTreeMap::new(), turn: 0 }
    }
}

impl<T> InOrder<T> {
    fn put(&mut self, number: usize, item: T) {
        self.waiting.insert(number, item);
    }

    /// The item whose turn it is, once it has come.
    fn next(&mut self) -> Option<T> {
        let item = self.waiting.remove(&self.turn)?;
        self.turn += 1;
        Some(item)
    }
}

#[cfg(test)]
mod tests;
