//! The word alignment of every stored unit, kept beside the index (see
//! ARCHITECTURE.md, "Fragments inside units").
//!
//! A thread of its own trains the model ([`crate::wordalign::Model`]) on the
//! index's words [`CHECK`] after the engine starts (at once when units
//! arrive), and again whenever the memory has
//! grown by a quarter since (at least [`RETRAIN_GROWTH`] units), then aligns
//! every unit with it. While units stream in (some came within [`QUIET`]),
//! as during a bulk import, it waits for the writes to pause or the memory
//! to double, and leaves the units that arrive to that training: a 1M-unit
//! import into an empty memory would otherwise train about 30 times, each
//! time aligning every unit, on the cores the import needs. Units the writer adds or changes meanwhile are
//! handed to the same thread, which aligns them with the current model as
//! soon as their group is committed. Lookups read the stored alignment of
//! a unit; when there is none yet, or the unit's words changed since, they
//! align it themselves with the current model (a few microseconds). Nothing
//! here blocks a lookup or a write: training works on an index snapshot,
//! and the stored alignments are swapped in whole.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use foldhash::HashMap;
use parking_lot::{Mutex, RwLock};

use super::Shared;
use crate::matching::Index;
use crate::text::{tokens, Lang, Token};
use crate::unit::{Unit, UnitId};
use crate::wordalign::{Corpus, Links, Model, Word};

/// The model is trained on at most this many units (one in every k of the
/// memory, evenly spread); every unit is aligned.
pub const MAX_TRAINING_UNITS: usize = 200_000;
/// Retrain once the memory has grown by a quarter since the last training,
/// and by at least this many units.
pub const RETRAIN_GROWTH: usize = 1_000;
/// How often the thread looks at the memory's size when nothing wakes it.
pub const CHECK: Duration = Duration::from_secs(5);
/// Units that came within this long mean units are streaming in.
pub const QUIET: Duration = Duration::from_secs(2);

/// What a training run did (see [`crate::TranslationMemory::alignment`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlignmentStatus {
    /// Units in the memory when the model was trained (0: no model yet).
    pub memory_units: usize,
    /// Units it was trained on.
    pub trained_units: usize,
    /// Entries of its translation table.
    pub model_entries: usize,
    /// Units with a stored alignment.
    pub aligned_units: usize,
    /// Wall time of the last training and of aligning every unit after it.
    pub training: Duration,
    pub aligning: Duration,
    /// Trainings done since the engine started.
    pub trainings: u64,
}

/// Stored alignments: three bytes per link, back to back.
#[derive(Default)]
struct Stored {
    bytes: Vec<u8>,
    /// Unit → (start in `bytes`, links, fingerprint of its words).
    at: HashMap<UnitId, (u32, u16, u64)>,
}

impl Stored {
    fn put(&mut self, id: UnitId, fingerprint: u64, links: &Links) {
        let start = self.bytes.len() as u32;
        let count = links.links.len().min(u16::MAX as usize);
        self.bytes.extend(links.to_bytes().into_iter().take(count * 3));
        self.at.insert(id, (start, count as u16, fingerprint));
    }

    fn get(&self, id: UnitId, fingerprint: u64) -> Option<Links> {
        let &(start, count, stored) = self.at.get(&id)?;
        (stored == fingerprint).then(|| {
            let start = start as usize;
            Links::from_bytes(&self.bytes[start..start + count as usize * 3])
        })
    }
}

/// The model, the stored alignments and the work queue.
///
/// The aligner thread runs under `SCHED_IDLE`: once preempted it may wait
/// long for a core on a busy machine, so nothing the writer or a lookup
/// needs is ever behind a lock it holds for more than a swap. The writer
/// hands units over through a channel and a clock reading; a lookup that
/// finds the stored alignments being written aligns the unit itself.
pub(crate) struct Aligner {
    model: RwLock<Option<Arc<Model>>>,
    stored: RwLock<Stored>,
    /// Ids of units the writer committed, in batches.
    added: Sender<Vec<UnitId>>,
    /// The other end, read by the aligner thread alone.
    queue: Mutex<Receiver<Vec<UnitId>>>,
    /// When the writer last handed units over, in ms after `epoch` plus
    /// one (0: never).
    last_added: AtomicU64,
    epoch: Instant,
    status: Mutex<AlignmentStatus>,
    /// Serializes trainings (the thread's and [`train_now`]'s).
    training: Mutex<()>,
}

impl Default for Aligner {
    fn default() -> Aligner {
        let (added, queue) = channel();
        Aligner {
            model: RwLock::default(),
            stored: RwLock::default(),
            added,
            queue: Mutex::new(queue),
            last_added: AtomicU64::new(0),
            epoch: Instant::now(),
            status: Mutex::default(),
            training: Mutex::default(),
        }
    }
}

/// A fingerprint of a unit's words: an alignment is used only for the
/// words it was made for.
pub(crate) fn fingerprint(arabic: &[Word<'_>], english: &[Word<'_>]) -> u64 {
    let mut hasher = xxhash_rust::xxh3::Xxh3Default::new();
    for word in arabic {
        hasher.update(word.surface.as_bytes());
        hasher.update(&[1]);
    }
    hasher.update(&[2]);
    for word in english {
        hasher.update(word.surface.as_bytes());
        hasher.update(&[1]);
    }
    hasher.digest()
}

pub(crate) fn words(tokens: &[Token]) -> Vec<Word<'_>> {
    tokens.iter().map(|t| Word { surface: &t.surface, key: &t.key }).collect()
}

impl Aligner {
    /// The current model, if one was trained.
    pub(crate) fn model(&self) -> Option<Arc<Model>> {
        self.model.read().clone()
    }

    pub(crate) fn status(&self) -> AlignmentStatus {
        let mut status = self.status.lock().clone();
        status.aligned_units = self.stored.read().at.len();
        status
    }

    /// The alignment of a unit whose words are `arabic` and `english`: the
    /// stored one, else one made now with the current model; `None`
    /// without a model.
    ///
    /// While the aligner thread writes the stored alignments, the unit is
    /// aligned here rather than waiting for it: the same links, since they
    /// are stored with the current model.
    pub(crate) fn links(&self, id: UnitId, arabic: &[Word<'_>], english: &[Word<'_>]) -> Option<Links> {
        let print = fingerprint(arabic, english);
        if let Some(links) = self.stored.try_read().and_then(|stored| stored.get(id, print)) {
            return Some(links);
        }
        Some(self.model()?.align(arabic, english))
    }

    /// Units the writer just committed (added, or with changed words).
    /// Never waits.
    pub(crate) fn added(&self, ids: impl IntoIterator<Item = UnitId>) {
        let ids: Vec<UnitId> = ids.into_iter().collect();
        if ids.is_empty() {
            return;
        }
        let at = self.epoch.elapsed().as_millis() as u64 + 1;
        self.last_added.store(at, Ordering::Relaxed);
        // The receiver lives as long as the sender, in this struct.
        let _ = self.added.send(ids);
    }

    /// Whether units came within [`QUIET`].
    fn streaming(&self) -> bool {
        let at = self.last_added.load(Ordering::Relaxed);
        at != 0 && (self.epoch.elapsed().as_millis() as u64 + 1).saturating_sub(at) < QUIET.as_millis() as u64
    }

    /// Waits up to `wait` for units when none are queued, then takes every
    /// queued one into `ids`.
    fn take_added(&self, wait: Duration, ids: &mut Vec<UnitId>) {
        let queue = self.queue.lock();
        if ids.is_empty() {
            match queue.recv_timeout(wait) {
                Ok(batch) => ids.extend(batch),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return,
            }
        }
        ids.extend(queue.try_iter().flatten());
    }

    /// Aligns units with the current model and stores their alignments.
    fn align_units(&self, units: &[Unit]) {
        let Some(model) = self.model() else { return };
        let mut aligned = Vec::with_capacity(units.len());
        for unit in units {
            let (ar, en) = (tokens(&unit.arabic, Lang::Arabic), tokens(&unit.english, Lang::English));
            let (ar, en) = (words(&ar), words(&en));
            aligned.push((unit.id, fingerprint(&ar, &en), model.align(&ar, &en)));
        }
        let mut stored = self.stored.write();
        for (id, print, links) in &aligned {
            stored.put(*id, *print, links);
        }
    }
}

/// Whether a memory of `live` units needs a (new) model: it has none, or
/// it grew by a quarter since.
fn due(status: &AlignmentStatus, live: usize) -> bool {
    if live == 0 {
        return false;
    }
    status.trainings == 0 || live >= status.memory_units + RETRAIN_GROWTH.max(status.memory_units / 4)
}

/// Whether to train now: when [`due`], unless units are `streaming` in and
/// the memory has not yet doubled since the last training.
fn train_now_due(status: &AlignmentStatus, live: usize, streaming: bool) -> bool {
    due(status, live)
        && (status.trainings == 0
            || !streaming
            || live >= status.memory_units + RETRAIN_GROWTH.max(status.memory_units))
}

/// Trains a model on `index` and aligns every unit with it, then puts both
/// in place. `stop` ends it early (nothing changes then).
fn train(aligner: &Aligner, index: &Index, stop: &dyn Fn() -> bool, unless_current: bool) -> bool {
    let _one = aligner.training.lock();
    let live = index.len();
    let current = {
        let status = aligner.status.lock();
        status.trainings > 0 && status.memory_units >= live
    };
    if unless_current && current {
        return false; // another training covered this index meanwhile
    }
    let started = Instant::now();
    let every = live.div_ceil(MAX_TRAINING_UNITS).max(1);
    let mut corpus = Corpus::default();
    index.for_each_pair(every, &mut |_, ar, en| {
        corpus.push(ar.iter().copied(), en.iter().copied());
        true
    });
    let Some(model) = Model::train(corpus, stop) else { return false };
    let training = started.elapsed();
    let started = Instant::now();
    let mut stored = Stored::default();
    let mut stopped = false;
    index.for_each_pair(1, &mut |id, ar, en| {
        stored.put(id, fingerprint(ar, en), &model.align(ar, en));
        stopped = stored.at.len() % 16_384 == 0 && stop();
        !stopped
    });
    if stopped {
        return false;
    }
    let aligning = started.elapsed();
    let entries = model.entries();
    let trained_units = model.trained_units;
    // Swapped under the locks, freed after them.
    let old_model = aligner.model.write().replace(Arc::new(model));
    let old = std::mem::replace(&mut *aligner.stored.write(), stored);
    drop((old_model, old));
    let mut status = aligner.status.lock();
    status.memory_units = live;
    status.trained_units = trained_units;
    status.model_entries = entries;
    status.training = training;
    status.aligning = aligning;
    status.trainings += 1;
    tracing::info!(
        units = live,
        trained_on = trained_units,
        entries,
        training_ms = training.as_millis() as u64,
        aligning_ms = aligning.as_millis() as u64,
        "word alignment model trained"
    );
    true
}

/// Trains now, in the caller's thread, on the current index (see
/// [`crate::TranslationMemory::train_alignment`]); with `unless_current`,
/// not when a training (the thread's, which may be running) already
/// covered the whole index.
pub(super) fn train_now(shared: &Shared, unless_current: bool) -> AlignmentStatus {
    let index = shared.index.load();
    train(&shared.aligner, &index, &|| false, unless_current);
    shared.aligner.status()
}

/// Starts the aligner thread; it stops when the engine is dropped.
pub(super) fn start(shared: &Arc<Shared>) {
    let aligner = Arc::clone(&shared.aligner);
    let shared = Arc::downgrade(shared);
    std::thread::Builder::new()
        .name("dhakira-aligner".into())
        .spawn(move || {
            background_priority();
            run(&aligner, &shared)
        })
        .expect("spawning the aligner thread");
}

/// The niceness of the aligner thread (and of the threads it starts): a
/// training is background work, so it takes the cores only when imports
/// and lookups leave them idle.
pub const NICENESS: i32 = 19;

/// Lowers the calling thread's priority (on Linux a priority belongs to a
/// thread, and threads it starts inherit it): [`NICENESS`], and then the
/// kernel's `SCHED_IDLE` policy, under which the thread runs only on a
/// core nothing else wants. Niceness 19 alone still left a training 7–14 %
/// of a busy server's CPU (README, "Online import"): its weight is small,
/// but the import's threads wait on each other many times a second, and
/// every such moment went to the training.
fn background_priority() {
    #[cfg(target_os = "linux")]
    {
        if let Err(error) = rustix::process::setpriority_process(Some(rustix::thread::gettid()), NICENESS) {
            tracing::debug!(%error, "the aligner thread keeps its priority");
        }
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: pid 0 is the calling thread, and `param` is a valid
        // `sched_param` that outlives the call, which only reads it.
        if unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) } != 0 {
            let error = std::io::Error::last_os_error();
            tracing::debug!(%error, "the aligner thread keeps its scheduling policy");
        }
    }
}

fn run(aligner: &Aligner, shared: &Weak<Shared>) {
    let gone = || shared.strong_count() == 0;
    // Units that came during the last wait, for the next round.
    let mut next = Vec::new();
    loop {
        // At start too: a one-shot command is done before it trains.
        aligner.take_added(CHECK, &mut next);
        let ids = std::mem::take(&mut next);
        let index = match shared.upgrade() {
            Some(shared) => shared.index.load(),
            None => return,
        };
        let streaming = aligner.streaming();
        let (due_now, due_later) = {
            let status = aligner.status.lock();
            (train_now_due(&status, index.len(), streaming), due(&status, index.len()))
        };
        if due_now {
            // Units queued before this snapshot are aligned by the training;
            // none when a training in another thread (`train_now`) covered
            // this snapshot while this one waited for it.
            train(aligner, &index, &gone, true);
            continue;
        }
        drop(index);
        if due_later {
            // Units are streaming in and a training is due once they pause:
            // it aligns these too (lookups align them meanwhile). Wake
            // after the pause to train.
            aligner.take_added(QUIET, &mut next);
            continue;
        }
        if ids.is_empty() {
            continue;
        }
        for chunk in ids.chunks(1_024) {
            let Some(shared) = shared.upgrade() else { return };
            let units: Vec<Unit> = chunk.iter().filter_map(|&id| shared.store.get(id).ok().flatten()).collect();
            drop(shared);
            aligner.align_units(&units);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn training_is_due_at_first_then_after_a_quarter_more() {
        let mut status = AlignmentStatus::default();
        assert!(!due(&status, 0));
        assert!(due(&status, 1));
        status.trainings = 1;
        status.memory_units = 100_000;
        assert!(!due(&status, 124_999));
        assert!(due(&status, 125_000));
        status.memory_units = 10;
        assert!(!due(&status, 1_009));
        assert!(due(&status, 1_010));
    }

    /// Read back from the kernel (`/proc`, fields 19 and 41 of the thread's
    /// `stat`: its niceness and its scheduling policy, `SCHED_IDLE` being 5
    /// in the kernel's headers).
    #[cfg(target_os = "linux")]
    #[test]
    fn the_aligner_thread_runs_at_a_lower_priority() {
        let tm = crate::TranslationMemory::in_memory();
        let priority = || {
            for task in std::fs::read_dir("/proc/self/task").unwrap() {
                let path = task.unwrap().path();
                if std::fs::read_to_string(path.join("comm")).unwrap_or_default().trim() == "dhakira-aligner" {
                    let stat = std::fs::read_to_string(path.join("stat")).unwrap();
                    // After the command in parentheses: state is field 3.
                    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
                    let field = |n: usize| fields[n - 3].parse::<i32>().unwrap();
                    return Some((field(19), field(41)));
                }
            }
            None
        };
        let started = Instant::now();
        while priority() != Some((NICENESS, 5)) {
            assert!(started.elapsed() < Duration::from_secs(10), "aligner (niceness, policy) {:?}", priority());
            std::thread::sleep(Duration::from_millis(10));
        }
        drop(tm);
    }

    #[test]
    fn while_units_stream_in_training_waits_for_a_pause_or_twice_the_units() {
        let mut status = AlignmentStatus::default();
        assert!(train_now_due(&status, 1, true), "the first model at once");
        status.trainings = 1;
        status.memory_units = 100_000;
        assert!(train_now_due(&status, 125_000, false));
        assert!(!train_now_due(&status, 125_000, true));
        assert!(!train_now_due(&status, 199_999, true));
        assert!(train_now_due(&status, 200_000, true));
        status.memory_units = 10;
        assert!(!train_now_due(&status, 1_009, true));
        assert!(train_now_due(&status, 1_010, true), "at least RETRAIN_GROWTH more, either way");
    }
}
