//! The in-memory index: every unit's normalized words as word ids, per side,
//! each word mapped to its key (stem or placeable kind), with an inverted list
//! per key. Built from the store at start-up and updated by the writer after
//! every flush (no rebuild per write).
//!
//! [`Index::candidates`] finds every unit whose score can reach the
//! threshold without comparing the query with every unit; [`Index::scan`]
//! compares with every unit. Both return candidates scored by the one
//! alignment ([`super::align`]); the filters work on keys and only drop units
//! whose distance over keys already rules the threshold out, so the two agree
//! (see ARCHITECTURE.md, "The index").

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

use foldhash::HashMap;

use super::align::{self, Cost, Relation};
use super::score::{guaranteed, unnormalized, word_distance};
use crate::text::{tokens, Lang, Placeable, Token};
use crate::unit::{Unit, UnitId};

/// The id of a query word or key that no stored unit has: it equals nothing.
pub const UNKNOWN_WORD: u32 = u32::MAX;

/// Key ids below this are placeable kinds (in [`Placeable::ALL`] order).
const PLACEABLE_KEYS: u32 = Placeable::ALL.len() as u32;

/// A unit whose score may reach the requested minimum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    pub id: UnitId,
    /// The alignment cost of its source side with the query.
    pub cost: Cost,
    pub source_words: usize,
}

/// A text's words as the index sees them: (normalized surface, key) pairs.
type Keyed = Vec<(String, String)>;

fn keyed(tokens: Vec<Token>) -> Keyed {
    tokens.into_iter().map(|t| (t.surface, t.key)).collect()
}

/// A unit's analyzed words, both sides: the costly part of indexing, which
/// can be done away from the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analyzed {
    arabic: Keyed,
    english: Keyed,
}

impl Analyzed {
    pub fn of(unit: &Unit) -> Analyzed {
        Analyzed {
            arabic: keyed(tokens(&unit.arabic, Lang::Arabic)),
            english: keyed(tokens(&unit.english, Lang::English)),
        }
    }
}

/// A query's words as ids in one side's vocabularies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    lang: Lang,
    surfaces: Vec<u32>,
    keys: Vec<u32>,
}

impl Query {
    /// Number of words.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// One language side: its vocabularies, the words of every unit in one
/// arena, and the inverted lists.
#[derive(Debug)]
struct Side {
    /// Normalized word → word id.
    surfaces: HashMap<Box<str>, u32>,
    /// Key → key id; ids below [`PLACEABLE_KEYS`] are the placeable kinds.
    keys: HashMap<Box<str>, u32>,
    /// Word id → key id.
    key_of: Vec<u32>,
    /// Key id → slots of the units holding it, ascending. May name deleted
    /// slots (skipped when read).
    postings: Vec<Vec<u32>>,
    /// Every unit's word ids, back to back.
    arena: Vec<u32>,
    /// Slot → start of its words in `arena`.
    start: Vec<u32>,
    /// Slot → number of words.
    len: Vec<u16>,
}

impl Default for Side {
    fn default() -> Side {
        let keys = Placeable::ALL.iter().enumerate().map(|(i, p)| (p.key().into(), i as u32)).collect();
        Side {
            surfaces: HashMap::default(),
            keys,
            key_of: Vec::new(),
            postings: Vec::new(),
            arena: Vec::new(),
            start: Vec::new(),
            len: Vec::new(),
        }
    }
}

impl Side {
    fn words(&self, slot: u32) -> &[u32] {
        let start = self.start[slot as usize] as usize;
        &self.arena[start..start + self.len[slot as usize] as usize]
    }

    fn push(&mut self, slot: u32, words: &Keyed) {
        let words = &words[..words.len().min(u16::MAX as usize)];
        let mut keys = Vec::with_capacity(words.len());
        self.start.push(self.arena.len() as u32);
        self.len.push(words.len() as u16);
        for (surface, key) in words {
            let next = self.keys.len() as u32;
            let key = *self.keys.entry(key.as_str().into()).or_insert(next);
            let next = self.surfaces.len() as u32;
            let word = *self.surfaces.entry(surface.as_str().into()).or_insert(next);
            if word as usize == self.key_of.len() {
                self.key_of.push(key);
            }
            self.arena.push(word);
            keys.push(key);
        }
        keys.sort_unstable();
        keys.dedup();
        for key in keys {
            let key = key as usize;
            if self.postings.len() <= key {
                self.postings.resize_with(key + 1, Vec::new);
            }
            self.postings[key].push(slot);
        }
    }

    /// How many units hold the key (deleted ones included): rarer keys come
    /// first in the prefix.
    fn frequency(&self, key: u32) -> usize {
        self.postings.get(key as usize).map_or(0, Vec::len)
    }

    fn encode(&self, tokens: &[Token], lang: Lang) -> Query {
        let id = |map: &HashMap<Box<str>, u32>, s: &str| map.get(s).copied().unwrap_or(UNKNOWN_WORD);
        Query {
            lang,
            surfaces: tokens.iter().map(|t| id(&self.surfaces, &t.surface)).collect(),
            keys: tokens.iter().map(|t| id(&self.keys, &t.key)).collect(),
        }
    }

    /// The alignment cost of a unit's words with the query's.
    fn cost(&self, query: &Query, words: &[u32], keys: &[u32]) -> Cost {
        align::cost(query.len(), words.len(), |i, j| {
            if query.surfaces[i] == words[j] {
                Relation::Same
            } else if query.keys[i] != keys[j] {
                Relation::Different
            } else if keys[j] < PLACEABLE_KEYS {
                Relation::Placeable
            } else {
                Relation::Variant
            }
        })
    }

    /// A unit's key ids, into `out`.
    fn keys_of(&self, words: &[u32], out: &mut Vec<u32>) {
        out.clear();
        out.extend(words.iter().map(|&w| self.key_of[w as usize]));
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
        self.arabic.push(slot, &analyzed.arabic);
        self.english.push(slot, &analyzed.english);
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

    /// A query's words as ids of the `lang` side; unseen words and keys get
    /// [`UNKNOWN_WORD`].
    pub fn encode(&self, tokens: &[Token], lang: Lang) -> Query {
        self.side(lang).encode(tokens, lang)
    }

    /// [`Index::encode`] for a text.
    pub fn encode_text(&self, text: &str, lang: Lang) -> Query {
        self.encode(&tokens(text, lang), lang)
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

    /// Every unit in `memories` (all when `None`) whose source side (the
    /// query's language) scores at least `min_score` before normalization
    /// points, found by aligning the query with every unit. The reference
    /// for [`Index::candidates`].
    pub fn scan(&self, query: &Query, memories: Option<&[u32]>, min_score: u8) -> Vec<Candidate> {
        let side = self.side(query.lang);
        let mut keys = Vec::new();
        (0..self.ids.len() as u32)
            .filter(|&slot| self.ids[slot as usize] != 0 && self.in_memories(slot, memories))
            .filter_map(|slot| {
                let words = side.words(slot);
                side.keys_of(words, &mut keys);
                let cost = side.cost(query, words, &keys);
                (unnormalized(cost, query.len(), words.len()) >= min_score).then_some(Candidate {
                    id: self.ids[slot as usize],
                    cost,
                    source_words: words.len(),
                })
            })
            .collect()
    }

    /// The units that [`Index::scan`] would return and that can still make
    /// the top `max_results`, found through the inverted lists of keys.
    ///
    /// Filters, each dropping only units that cannot reach the current
    /// threshold `s` (which starts at `min_score` and rises to the
    /// `max_results`-th best guaranteed score found so far). With `n` query
    /// words, `m` unit words and `d` the word distance over keys, which is
    /// at most the alignment cost (so the score is at most
    /// `⌊100·(1 − d/max(n,m))⌋`):
    /// - prefix: a unit must share a key with the `n − ⌈n·s/100⌉ + 1`
    ///   rarest query keys, so only their lists are read;
    /// - length: `⌈n·s/100⌉ ≤ m ≤ ⌊100·n/s⌋`;
    /// - count: the keys in common (as multisets) must be at least
    ///   `max(n,m) − ⌊max(n,m)·(100−s)/100⌋`;
    /// - distance: `d ≤ ⌊max(n,m)·(100−s)/100⌋` (strsim over key ids);
    /// - then the alignment itself gives the score.
    pub fn candidates(
        &self,
        query: &Query,
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
            return self.scan(query, memories, min_score);
        }
        let side = self.side(query.lang);
        let mut order: Vec<u32> = query.keys.clone();
        order.sort_by_key(|&k| (side.frequency(k), k));
        let mut bag = Bag::of(&query.keys);

        let mut threshold = Threshold::new(min_score, max_results);
        let mut found = Vec::new();
        SCRATCH.with_borrow_mut(|Scratch { seen, keys }| {
            seen.start(self.ids.len());
            for (position, &key) in order.iter().enumerate() {
                let s = threshold.value();
                if position >= prefix_len(n, s) {
                    break;
                }
                if position > 0 && order[position - 1] == key {
                    continue;
                }
                let Some(list) = side.postings.get(key as usize) else { continue };
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
                    let words = side.words(slot);
                    side.keys_of(words, keys);
                    if bag.overlap(keys) + max_distance < longest {
                        continue;
                    }
                    if word_distance(&query.keys, keys) > max_distance {
                        continue;
                    }
                    let cost = side.cost(query, words, keys);
                    if unnormalized(cost, n, m) < s {
                        continue;
                    }
                    threshold.offer(guaranteed(cost, n, m));
                    found.push(Candidate { id: self.ids[slot as usize], cost, source_words: m });
                }
            }
        });
        found
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

/// Per-thread working memory of a lookup.
struct Scratch {
    seen: Seen,
    /// The key ids of the unit being checked.
    keys: Vec<u32>,
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
    static SCRATCH: RefCell<Scratch> =
        const { RefCell::new(Scratch { seen: Seen { stamps: Vec::new(), epoch: 0 }, keys: Vec::new() }) };
}

#[cfg(test)]
mod tests;
