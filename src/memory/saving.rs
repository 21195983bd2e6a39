//! The index kept between runs: opening a database reads the index its
//! store kept ([`crate::store::SavedIndex`]) instead of analyzing every
//! unit again, and the writer keeps the index when it has changed —
//! once the writes pause ([`IDLE`], at most once per [`EVERY`]; a pause
//! that starts a merge of small segments leaves the save to a later one, so
//! that the merged index is kept), and when the server stops
//! (`TranslationMemory::save_index`).
//!
//! Only the writer thread takes what a save needs, between two groups,
//! where the published index is exactly the store's: the store's stamp and
//! the index snapshot together. The save itself (encoding, writing,
//! syncing) may run on another thread: the store refuses it if a write came
//! meanwhile, and the next pause tries again. Lookups never wait on any of
//! it; they search the snapshot they hold.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::Shared;
use crate::error::Result;
use crate::matching::Index;
use crate::store::{SavedIndex, Store};

/// How long the writes must pause before the writer keeps a changed index
/// (`DHAKIRA_INDEX_IDLE_MS` overrides it).
const IDLE: Duration = Duration::from_secs(10);

/// [`IDLE`], or `DHAKIRA_INDEX_IDLE_MS`.
pub(super) fn idle() -> Duration {
    std::env::var("DHAKIRA_INDEX_IDLE_MS").ok().and_then(|ms| ms.parse().ok()).map_or(IDLE, Duration::from_millis)
}

/// The least time between two saves the writer starts by itself: a save of
/// a large index writes hundreds of megabytes, not to be done after every
/// pause of a trickle of writes.
pub(super) const EVERY: Duration = Duration::from_secs(300);

/// Whether the index changed since it was last kept, and whether a save
/// is running.
pub(crate) struct Saving {
    /// Groups committed that changed the store (one more for an index
    /// built at opening, which no file holds yet).
    changed: AtomicU64,
    /// `changed` as of the index last kept (or read at opening).
    kept: AtomicU64,
    running: AtomicBool,
    /// When the writer last started a save by itself.
    last: Mutex<Option<Instant>>,
    /// The index was read from the store's saved one at opening.
    pub(super) loaded: bool,
}

impl Saving {
    /// `loaded`: the index was read from the saved one (nothing to keep
    /// until a write); else it was built and is worth keeping.
    pub(super) fn new(loaded: bool) -> Saving {
        Saving {
            changed: AtomicU64::new(u64::from(!loaded)),
            kept: AtomicU64::new(0),
            running: AtomicBool::new(false),
            last: Mutex::new(None),
            loaded,
        }
    }

    /// A group changed the store (and so the index).
    pub(super) fn changed(&self) {
        self.changed.fetch_add(1, Ordering::SeqCst);
    }

    fn unsaved(&self) -> bool {
        self.changed.load(Ordering::SeqCst) != self.kept.load(Ordering::SeqCst)
    }
}

/// What a save needs, taken together by the writer between two groups.
pub(super) struct Pending {
    stamp: u64,
    generation: u64,
    index: Arc<Index>,
}

/// What to save now, if the store keeps an index and this one changed
/// since it was last kept. Only the writer thread calls it, between groups
/// that left the index equal to the store.
pub(super) fn take(shared: &Shared) -> Option<Pending> {
    if !shared.indexed || !shared.saving.unsaved() {
        return None;
    }
    let stamp = shared.store.index_stamp()?;
    Some(Pending { stamp, generation: shared.saving.changed.load(Ordering::SeqCst), index: shared.index.load() })
}

/// Saves `pending`: true when kept, false when a write came since it was
/// taken (the next pause tries again).
pub(super) fn save(shared: &Shared, pending: Pending) -> Result<bool> {
    let started = Instant::now();
    let kept = shared.store.save_index(pending.stamp, &mut |out| pending.index.save(out))?;
    if kept {
        shared.saving.kept.fetch_max(pending.generation, Ordering::SeqCst);
        tracing::info!(units = pending.index.len(), seconds = started.elapsed().as_secs_f64(), "index saved");
    }
    Ok(kept)
}

/// The writer has been idle for [`IDLE`]: saves a changed index on a
/// thread of its own, unless one is running or the last started less than
/// [`EVERY`] ago.
pub(super) fn when_idle(shared: &Arc<Shared>) {
    let saving = &shared.saving;
    if saving.running.load(Ordering::SeqCst) || saving.last.lock().is_some_and(|last| last.elapsed() < EVERY) {
        return;
    }
    let Some(pending) = take(shared) else { return };
    saving.running.store(true, Ordering::SeqCst);
    *saving.last.lock() = Some(Instant::now());
    let shared = Arc::clone(shared);
    let spawned = std::thread::Builder::new().name("dhakira-save".into()).spawn(move || {
        if let Err(err) = save(&shared, pending) {
            tracing::warn!(error = %err, "cannot save the index; it is built from the units when the database opens");
        }
        shared.saving.running.store(false, Ordering::SeqCst);
    });
    if let Err(err) = spawned {
        tracing::warn!(error = %err, "cannot start a thread to save the index");
        saving.running.store(false, Ordering::SeqCst);
    }
}

/// The index the store kept, if there is one this build reads (else the
/// reason is logged, and the caller builds the index). Beside the read, on
/// another thread, every unit is still read and its checksum checked
/// before anything is served (a damaged store is refused at start-up, as
/// when the index is built), without the analysis; the ids by side the
/// first write's duplicate check needs are built on the way.
pub(super) fn open(store: &dyn Store) -> Result<Option<Index>> {
    let Some(saved) = store.saved_index() else { return Ok(None) };
    // Another build's index is refused before any unit is read: the
    // units are read again by the build that follows.
    if let Err(reason) = Index::readable(saved.bytes()) {
        tracing::info!(%reason, "the saved index is not this build's; building the index");
        return Ok(None);
    }
    std::thread::scope(|scope| {
        let reading = scope.spawn(|| read(&saved));
        let checking = Instant::now();
        store.check_every_unit()?;
        tracing::info!(seconds = checking.elapsed().as_secs_f64(), "every unit read and checked");
        Ok(reading.join().expect("reading the saved index does not panic"))
    })
}

/// The index in `saved`, if it decodes (else the reason is logged).
fn read(saved: &SavedIndex) -> Option<Index> {
    let started = Instant::now();
    match Index::load(saved.bytes()) {
        Ok(index) => {
            tracing::info!(
                units = index.len(),
                segments = index.segments(),
                seconds = started.elapsed().as_secs_f64(),
                "index read from the saved one"
            );
            Some(index)
        }
        Err(err) => {
            tracing::warn!(error = %err, "the saved index is not used; building it");
            None
        }
    }
}
