//! The in-memory index: every unit's normalized words as word ids, per side,
//! with an inverted list per word. Built from the store at start-up and
//! updated by the writer after every flush (no rebuild per write).
//!
//! [`Index::candidates`] finds every unit whose score can reach the
//! threshold without comparing the query with every unit; [`Index::scan`]
//! compares with every unit. Both return candidates verified with the one
//! word distance, and the filters only drop units that provably cannot reach
//! the threshold, so the two agree (see ARCHITECTURE.md, "The index").

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

use foldhash::HashMap;

use super::score::{fuzzy_score, upper_bound, word_distance, MIN_NORMALIZED_SCORE};
use crate::text::{words, Lang};
use crate::unit::{Unit, UnitId};

/// The word id of a query word that no stored unit has: it equals nothing.
pub const UNKNOWN_WORD: u32 = u32::MAX;

/// A unit whose score may reach the requested minimum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    pub id: UnitId,
    pub distance: usize,
    pub source_words: usize,
}

/// A unit's normalized words, both sides: the costly part of indexing,
/// which can be done away from the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analyzed {
    arabic: Vec<String>,
    english: Vec<String>,
}

impl Analyzed {
    pub fn of(unit: &Unit) -> Analyzed {
        Analyzed { arabic: words(&unit.arabic), english: words(&unit.english) }
    }
}

/// One language side: the words of every unit in one arena, and the
/// inverted lists.
#[derive(Debug, Default)]
struct Side {
    /// Word id → slots of the units holding it, ascending. May name deleted
    /// slots (skipped when read).
    postings: Vec<Vec<u32>>,
    /// Every unit's word ids, back to back.
    arena: Vec<u32>,
    /// Slot → start of its words in `arena`.
    start: Vec<u32>,
    /// Slot → number of words.
    len: Vec<u16>,
}

impl Side {
    fn words(&self, slot: u32) -> &[u32] {
        let start = self.start[slot as usize] as usize;
        &self.arena[start..start + self.len[slot as usize] as usize]
    }

    fn push(&mut self, slot: u32, ids: &[u32]) {
        self.start.push(self.arena.len() as u32);
        self.len.push(ids.len().min(u16::MAX as usize) as u16);
        self.arena.extend_from_slice(&ids[..ids.len().min(u16::MAX as usize)]);
        let mut distinct = ids.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        for id in distinct {
            let id = id as usize;
            if self.postings.len() <= id {
                self.postings.resize_with(id + 1, Vec::new);
            }
            self.postings[id].push(slot);
        }
    }

    /// How many units hold the word (deleted ones included): rarer words
    /// come first in the prefix.
    fn frequency(&self, word: u32) -> usize {
        self.postings.get(word as usize).map_or(0, Vec::len)
    }
}

#[derive(Debug, Default)]
struct MemoryInfo {
    name: String,
    units: u64,
}

/// See the module documentation.
#[derive(Debug, Default)]
pub struct Index {
    vocabulary: HashMap<Box<str>, u32>,
    memory_ids: HashMap<String, u32>,
    memories: Vec<MemoryInfo>,
    /// Slot → unit id; 0 for a deleted unit. Slots are never reused.
    ids: Vec<UnitId>,
    slot_of: HashMap<UnitId, u32>,
    /// Slot → memory.
    memory_of: Vec<u32>,
    arabic: Side,
    english: Side,
}

impl Index {
    /// Adds a unit, or replaces the one with the same id.
    pub fn insert(&mut self, unit: &Unit) {
        self.insert_analyzed(unit, Analyzed::of(unit));
    }

    /// [`Index::insert`] with the words already computed.
    pub fn insert_analyzed(&mut self, unit: &Unit, analyzed: Analyzed) {
        self.remove(unit.id);
        let memory = match self.memory_ids.get(&unit.memory) {
            Some(&id) => id,
            None => {
                let id = self.memories.len() as u32;
                self.memory_ids.insert(unit.memory.clone(), id);
                self.memories.push(MemoryInfo { name: unit.memory.clone(), units: 0 });
                id
            }
        };
        self.memories[memory as usize].units += 1;
        let slot = self.ids.len() as u32;
        let arabic = self.intern(&analyzed.arabic);
        let english = self.intern(&analyzed.english);
        self.arabic.push(slot, &arabic);
        self.english.push(slot, &english);
        self.ids.push(unit.id);
        self.memory_of.push(memory);
        self.slot_of.insert(unit.id, slot);
    }

    /// Removes a unit; false if it was not there. Its posting entries stay
    /// (they are skipped), so a removal costs no list rewrite.
    pub fn remove(&mut self, id: UnitId) -> bool {
        match self.slot_of.remove(&id) {
            Some(slot) => {
                self.ids[slot as usize] = 0;
                self.memories[self.memory_of[slot as usize] as usize].units -= 1;
                true
            }
            None => false,
        }
    }

    /// Number of indexed units.
    pub fn len(&self) -> usize {
        self.slot_of.len()
    }

    /// True when no unit is indexed.
    pub fn is_empty(&self) -> bool {
        self.slot_of.is_empty()
    }

    /// Units per memory, for memories that hold any, sorted by name.
    pub fn memory_counts(&self) -> Vec<(String, u64)> {
        let mut counts: Vec<(String, u64)> =
            self.memories.iter().filter(|m| m.units > 0).map(|m| (m.name.clone(), m.units)).collect();
        counts.sort();
        counts
    }

    /// The internal id of a memory that holds units.
    pub fn memory_id(&self, name: &str) -> Option<u32> {
        self.memory_ids.get(name).copied().filter(|&id| self.memories[id as usize].units > 0)
    }

    /// Word ids for a query's normalized words; unseen words get
    /// [`UNKNOWN_WORD`].
    pub fn encode(&self, words: &[String]) -> Vec<u32> {
        words.iter().map(|w| self.vocabulary.get(w.as_str()).copied().unwrap_or(UNKNOWN_WORD)).collect()
    }

    fn side(&self, lang: Lang) -> &Side {
        match lang {
            Lang::Arabic => &self.arabic,
            Lang::English => &self.english,
        }
    }

    fn in_memories(&self, slot: u32, memories: Option<&[u32]>) -> bool {
        memories.is_none_or(|m| m.contains(&self.memory_of[slot as usize]))
    }

    /// Every unit in `memories` (all when `None`) whose `lang` side can
    /// score at least `min_score` against `query`, found by comparing the
    /// query with every unit. The reference for [`Index::candidates`].
    pub fn scan(&self, query: &[u32], lang: Lang, memories: Option<&[u32]>, min_score: u8) -> Vec<Candidate> {
        let side = self.side(lang);
        (0..self.ids.len() as u32)
            .filter(|&slot| self.ids[slot as usize] != 0 && self.in_memories(slot, memories))
            .filter_map(|slot| {
                let source = side.words(slot);
                let distance = word_distance(query, source);
                (upper_bound(distance, query.len(), source.len()) >= min_score).then_some(Candidate {
                    id: self.ids[slot as usize],
                    distance,
                    source_words: source.len(),
                })
            })
            .collect()
    }

    /// The units that [`Index::scan`] would return and that can still make
    /// the top `max_results`, found through the inverted lists.
    ///
    /// Filters, each dropping only units that cannot reach the current
    /// threshold `s` (which starts at `min_score` and rises to the
    /// `max_results`-th best guaranteed score found so far):
    /// - prefix: a unit must share a word with the `n − ⌈n·s/100⌉ + 1`
    ///   rarest query words, so only their lists are read;
    /// - length: `⌈n·s/100⌉ ≤ m ≤ ⌊100·n/s⌋`;
    /// - count: the words in common (as multisets) must be at least
    ///   `max(n,m) − ⌊max(n,m)·(100−s)/100⌋`;
    /// - distance: `d ≤ ⌊max(n,m)·(100−s)/100⌋`, computed last.
    pub fn candidates(
        &self,
        query: &[u32],
        lang: Lang,
        memories: Option<&[u32]>,
        min_score: u8,
        max_results: usize,
    ) -> Vec<Candidate> {
        let n = query.len();
        if min_score > 100 {
            return Vec::new();
        }
        if required_overlap(n, min_score) == 0 {
            // Every unit can qualify (min_score 0, or a query with no words
            // matching units with none): nothing to prune with.
            return self.scan(query, lang, memories, min_score);
        }
        let side = self.side(lang);
        let mut order: Vec<u32> = query.to_vec();
        order.sort_by_key(|&w| (side.frequency(w), w));
        let mut bag = Bag::of(query);

        let mut threshold = Threshold::new(min_score, max_results);
        let mut found = Vec::new();
        SEEN.with_borrow_mut(|seen| {
            seen.start(self.ids.len());
            for (position, &word) in order.iter().enumerate() {
                let s = threshold.value();
                if position >= prefix_len(n, s) {
                    break;
                }
                if position > 0 && order[position - 1] == word {
                    continue;
                }
                let Some(list) = side.postings.get(word as usize) else { continue };
                let (min_len, max_len) = length_bounds(n, s);
                for &slot in list {
                    let m = side.len[slot as usize] as usize;
                    if m < min_len || m > max_len || !seen.insert(slot) {
                        continue;
                    }
                    if self.ids[slot as usize] == 0 || !self.in_memories(slot, memories) {
                        continue;
                    }
                    let s = threshold.value();
                    let longest = n.max(m);
                    let max_distance = longest * (100 - s as usize) / 100;
                    let source = side.words(slot);
                    if bag.overlap(source) + max_distance < longest {
                        continue;
                    }
                    let distance = word_distance(query, source);
                    if distance > max_distance {
                        continue;
                    }
                    threshold.offer(if distance == 0 { MIN_NORMALIZED_SCORE } else { fuzzy_score(distance, n, m) });
                    found.push(Candidate { id: self.ids[slot as usize], distance, source_words: m });
                }
            }
        });
        found
    }

    fn intern(&mut self, words: &[String]) -> Vec<u32> {
        words
            .iter()
            .map(|w| {
                let next = self.vocabulary.len() as u32;
                *self.vocabulary.entry(w.as_str().into()).or_insert(next)
            })
            .collect()
    }
}

/// Least words in common a unit needs with an `n`-word query to score `s`:
/// `⌈n·s/100⌉` (the bound for the shortest `max(n, m)`, which is `n`).
fn required_overlap(n: usize, s: u8) -> usize {
    (n * s as usize).div_ceil(100)
}

/// How many of the rarest query words a qualifying unit must share one of.
fn prefix_len(n: usize, s: u8) -> usize {
    n + 1 - required_overlap(n, s).max(1)
}

/// The word counts `m` a unit can have and still score `s` (`s ≥ 1`).
fn length_bounds(n: usize, s: u8) -> (usize, usize) {
    let s = s.max(1) as usize;
    ((n * s).div_ceil(100), n * 100 / s)
}

/// The query's words as a multiset, for counting words in common.
struct Bag {
    /// Distinct words, sorted.
    words: Vec<u32>,
    counts: Vec<u32>,
    /// Per word, how many the unit being counted has used up.
    used: Vec<u32>,
}

impl Bag {
    fn of(query: &[u32]) -> Bag {
        let mut sorted = query.to_vec();
        sorted.sort_unstable();
        let mut words: Vec<u32> = Vec::with_capacity(sorted.len());
        let mut counts: Vec<u32> = Vec::with_capacity(sorted.len());
        for w in sorted {
            match words.last() {
                Some(&last) if last == w => *counts.last_mut().expect("pushed with its word") += 1,
                _ => {
                    words.push(w);
                    counts.push(1);
                }
            }
        }
        let used = vec![0; words.len()];
        Bag { words, counts, used }
    }

    /// Words in common, as multisets, between the query and `source`.
    fn overlap(&mut self, source: &[u32]) -> usize {
        self.used.fill(0);
        let mut common = 0;
        for w in source {
            if let Ok(i) = self.words.binary_search(w) {
                if self.used[i] < self.counts[i] {
                    self.used[i] += 1;
                    common += 1;
                }
            }
        }
        common
    }
}

/// The rising threshold: `min_score`, or the `k`-th best score guaranteed
/// so far when higher (a candidate tied with it may still enter the top).
struct Threshold {
    floor: u8,
    k: usize,
    best: BinaryHeap<Reverse<u8>>,
}

impl Threshold {
    fn new(floor: u8, k: usize) -> Threshold {
        Threshold { floor, k, best: BinaryHeap::with_capacity(k.min(128) + 1) }
    }

    fn value(&self) -> u8 {
        match self.best.peek() {
            Some(&Reverse(kth)) if self.best.len() == self.k => kth.max(self.floor),
            _ => self.floor,
        }
    }

    fn offer(&mut self, guaranteed: u8) {
        self.best.push(Reverse(guaranteed));
        if self.best.len() > self.k {
            self.best.pop();
        }
    }
}

/// Which slots one lookup has seen: a stamp per slot, reset by bumping the
/// epoch, so a lookup never clears a million-entry array.
struct Seen {
    stamps: Vec<u32>,
    epoch: u32,
}

impl Seen {
    fn start(&mut self, slots: usize) {
        if self.stamps.len() < slots {
            self.stamps.resize(slots, 0);
        }
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.stamps.fill(0);
            self.epoch = 1;
        }
    }

    /// True the first time a slot is seen in this lookup.
    fn insert(&mut self, slot: u32) -> bool {
        let stamp = &mut self.stamps[slot as usize];
        if *stamp == self.epoch {
            return false;
        }
        *stamp = self.epoch;
        true
    }
}

thread_local! {
    static SEEN: RefCell<Seen> = const { RefCell::new(Seen { stamps: Vec::new(), epoch: 0 }) };
}

#[cfg(test)]
mod tests;
