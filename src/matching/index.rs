//! The in-memory index: every unit's normalized words as word ids, per side,
//! and the memories they belong to. Built from the store at start-up and
//! updated by the writer after every flush.
//!
//! Candidates are found by a scan that computes the word distance to every
//! unit of the requested memories and keeps those whose score can reach
//! `min_score`.

use std::collections::HashMap;

use super::score::{upper_bound, word_distance};
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

#[derive(Debug)]
struct Entry {
    memory: u32,
    arabic: Box<[u32]>,
    english: Box<[u32]>,
}

impl Entry {
    fn side(&self, lang: Lang) -> &[u32] {
        match lang {
            Lang::Arabic => &self.arabic,
            Lang::English => &self.english,
        }
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
    entries: HashMap<UnitId, Entry>,
}

impl Index {
    /// Adds a unit, or replaces the one with the same id.
    pub fn insert(&mut self, unit: &Unit) {
        self.remove(unit.id);
        let memory = match self.memory_ids.get(&unit.memory) {
            Some(&id) => id,
            None => {
                let id = self.memories.len() as u32;
                self.memory_ids.insert(unit.memory.clone(), id);
                self.memories.push(MemoryInfo {
                    name: unit.memory.clone(),
                    units: 0,
                });
                id
            }
        };
        self.memories[memory as usize].units += 1;
        let entry = Entry {
            memory,
            arabic: self.intern(&words(&unit.arabic)),
            english: self.intern(&words(&unit.english)),
        };
        self.entries.insert(unit.id, entry);
    }

    /// Removes a unit; false if it was not there.
    pub fn remove(&mut self, id: UnitId) -> bool {
        match self.entries.remove(&id) {
            Some(entry) => {
                self.memories[entry.memory as usize].units -= 1;
                true
            }
            None => false,
        }
    }

    /// Whether the unit is indexed.
    pub fn contains(&self, id: UnitId) -> bool {
        self.entries.contains_key(&id)
    }

    /// Number of indexed units.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no unit is indexed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Units per memory, for memories that hold any, sorted by name.
    pub fn memory_counts(&self) -> Vec<(String, u64)> {
        let mut counts: Vec<(String, u64)> = self
            .memories
            .iter()
            .filter(|m| m.units > 0)
            .map(|m| (m.name.clone(), m.units))
            .collect();
        counts.sort();
        counts
    }

    /// The internal id of a memory that holds units.
    pub fn memory_id(&self, name: &str) -> Option<u32> {
        self.memory_ids
            .get(name)
            .copied()
            .filter(|&id| self.memories[id as usize].units > 0)
    }

    /// Word ids for a query's normalized words; unseen words get
    /// [`UNKNOWN_WORD`].
    pub fn encode(&self, words: &[String]) -> Vec<u32> {
        words
            .iter()
            .map(|w| self.vocabulary.get(w.as_str()).copied().unwrap_or(UNKNOWN_WORD))
            .collect()
    }

    /// Every unit in `memories` (all when `None`) whose `lang` side can
    /// score at least `min_score` against `query`.
    pub fn scan(&self, query: &[u32], lang: Lang, memories: Option<&[u32]>, min_score: u8) -> Vec<Candidate> {
        self.entries
            .iter()
            .filter(|(_, e)| memories.is_none_or(|m| m.contains(&e.memory)))
            .filter_map(|(&id, e)| {
                let source = e.side(lang);
                let distance = word_distance(query, source);
                (upper_bound(distance, query.len(), source.len()) >= min_score).then_some(Candidate {
                    id,
                    distance,
                    source_words: source.len(),
                })
            })
            .collect()
    }

    fn intern(&mut self, words: &[String]) -> Box<[u32]> {
        words
            .iter()
            .map(|w| {
                let next = self.vocabulary.len() as u32;
                *self.vocabulary.entry(w.as_str().into()).or_insert(next)
            })
            .collect()
    }
}
