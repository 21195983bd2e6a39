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

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use foldhash::HashMap;

use super::align::{self, Cost, Relation};
use super::scope::{Facet, Scope};
use super::score::{guaranteed, unnormalized, word_distance};
use crate::text::{tokens, Lang, Placeable, Token};
use crate::unit::{Unit, UnitId};

/// The id of a query word or key that no stored unit has: it equals nothing.
pub const UNKNOWN_WORD: u32 = u32::MAX;

/// Key ids below this are placeable kinds (in [`Placeable::ALL`] order).
const PLACEABLE_KEYS: u32 = Placeable::ALL.len() as u32;

/// In [`Side::templates`]: the entry is a group id, not a slot.
const GROUP: u32 = 1 << 31;

/// In [`Side::group_of`]: the unit is in no group.
const NO_GROUP: u32 = u32::MAX;

/// Units of one side that share a template: the same words, except that
/// their placeables may differ within their kind (sentences that differ
/// only in their numbers, names or URLs). Their keys are therefore equal,
/// and so is the word cost of their alignment with any query; only the
/// placeables they have in common with the query tell them apart, so
/// [`Index::candidates`] checks a group once and then reads, per member,
/// the word ids at the placeable positions (see ARCHITECTURE.md, "The
/// index").
#[derive(Debug)]
struct Group {
    /// Where the placeables are in the template's words.
    places: Box<[u16]>,
    /// The members' slots, ascending (deleted ones included until
    /// compaction, as in the inverted lists).
    members: Vec<u32>,
    /// Per member, the word ids at `places`, back to back.
    values: Vec<u32>,
    /// Per place, the members holding each value there, so that a lookup
    /// reaches the members sharing a placeable with the query without
    /// reading the others.
    by_value: Box<[ValueLists]>,
}

impl Group {
    /// On the diagonal (`values`: the query's words at the group's places),
    /// member `i` costs the placeables whose values differ from the query's
    /// words at the same places.
    #[inline]
    fn differing(&self, i: usize, values: &[u32]) -> Cost {
        let width = self.places.len();
        let differ = self.values[i * width..(i + 1) * width].iter().zip(values).filter(|(a, b)| a != b);
        Cost { tenths: 0, placeables: differ.count() as u32 }
    }
}

/// The members (indices into [`Group::members`]) of one place's values,
/// as linked lists: `last` maps a value to its last member and how many
/// members hold it, `before` each member to the one before it with the
/// same value ([`NO_MEMBER`] ends a list). Four bytes per member and
/// place, no allocation per value.
#[derive(Debug, Default)]
struct ValueLists {
    last: HashMap<u32, (u32, u32)>,
    before: Vec<u32>,
}

/// Ends a list of [`ValueLists`].
const NO_MEMBER: u32 = u32::MAX;

/// A unit whose score may reach the requested minimum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    pub id: UnitId,
    /// The alignment cost of its source side with the query.
    pub cost: Cost,
    pub source_words: usize,
    /// Points the scope takes off it (memory, metadata, age).
    pub points: u8,
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
    /// Key id → slots of the units holding it, ascending; a template group
    /// is listed once, by its first member. May name deleted slots
    /// (skipped when read).
    postings: Vec<Vec<u32>>,
    /// Every unit's word ids, back to back.
    arena: Vec<u32>,
    /// Slot → start of its words in `arena`.
    start: Vec<u32>,
    /// Slot → number of words.
    len: Vec<u16>,
    /// Template hash (see [`Side::template`]) → the slot of the one unit
    /// with that template, or a group id with [`GROUP`] set once several
    /// have it. A unit whose template hash collides with another template
    /// is simply left out of groups.
    templates: HashMap<u64, u32>,
    /// Slot → its group, or [`NO_GROUP`].
    group_of: Vec<u32>,
    groups: Vec<Group>,
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
            templates: HashMap::default(),
            group_of: Vec::new(),
            groups: Vec::new(),
        }
    }
}

impl Side {
    /// The query's keys, rarest first (ties by key id), duplicates kept
    /// next to each other.
    fn rarest_first(&self, keys: &[u32]) -> Vec<u32> {
        let mut order: Vec<u32> = keys.to_vec();
        order.sort_by_key(|&k| (self.frequency(k), k));
        order
    }

    /// The cost of the lone unit (not in a template group) at `slot` when
    /// the count and distance filters let it reach `s`, the score its
    /// alignment must reach; `None` when it cannot. Its keys are left in
    /// `keys`.
    #[inline]
    fn lone_cost(&self, query: &Query, bag: &mut Bag, slot: u32, s: i32, keys: &mut Vec<u32>) -> Option<Cost> {
        if s > 100 {
            return None;
        }
        let words = self.words(slot);
        self.keys_of(words, keys);
        if !can_reach(query, bag, keys, s.max(0) as u8) {
            return None;
        }
        Some(self.cost(query, words, keys))
    }

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
            // One key per surface (`text::classify`): the index keeps the
            // first one it meets, so another would be lost.
            debug_assert_eq!(self.key_of[word as usize], key, "surface {surface:?} came with another key {key:?}");
            self.arena.push(word);
            keys.push(key);
        }
        keys.sort_unstable();
        keys.dedup();
        self.group(slot);
        self.post(slot, &keys);
    }

    /// Adds `slot` to the lists of its (distinct) keys, unless it joined a
    /// template group as a later member: a group is listed once, by its
    /// first member, and reached through it.
    fn post(&mut self, slot: u32, keys: &[u32]) {
        let group = self.group_of[slot as usize];
        if group != NO_GROUP && self.groups[group as usize].members[0] != slot {
            return;
        }
        for &key in keys {
            let key = key as usize;
            if self.postings.len() <= key {
                self.postings.resize_with(key + 1, Vec::new);
            }
            self.postings[key].push(slot);
        }
    }

    /// A unit's template: per word, its id, or its placeable kind (with
    /// bit 32 set) for a placeable.
    fn template(&self, slot: u32) -> Vec<u64> {
        self.words(slot)
            .iter()
            .map(|&w| {
                let key = self.key_of[w as usize];
                if key < PLACEABLE_KEYS {
                    1 << 32 | u64::from(key)
                } else {
                    u64::from(w)
                }
            })
            .collect()
    }

    /// Puts the unit just pushed in `slot` in the group of the units with
    /// its template, making the group when it is the second.
    fn group(&mut self, slot: u32) {
        debug_assert_eq!(self.group_of.len(), slot as usize);
        self.group_of.push(NO_GROUP);
        if self.len[slot as usize] == 0 {
            return;
        }
        let template = self.template(slot);
        let hash = std::hash::BuildHasher::hash_one(&foldhash::fast::FixedState::default(), &template);
        let group = match self.templates.get(&hash).copied() {
            None => {
                self.templates.insert(hash, slot);
                return;
            }
            Some(entry) if entry & GROUP != 0 => {
                let group = entry & !GROUP;
                if self.template(self.groups[group as usize].members[0]) != template {
                    return;
                }
                group
            }
            Some(first) => {
                if self.template(first) != template || self.groups.len() as u32 >= GROUP {
                    return;
                }
                let places: Box<[u16]> =
                    (0..template.len()).filter(|&i| template[i] >> 32 != 0).map(|i| i as u16).collect();
                let group = self.groups.len() as u32;
                let by_value = places.iter().map(|_| ValueLists::default()).collect();
                self.groups.push(Group { places, members: Vec::new(), values: Vec::new(), by_value });
                self.templates.insert(hash, group | GROUP);
                self.join(group, first);
                group
            }
        };
        self.join(group, slot);
    }

    fn join(&mut self, group: u32, slot: u32) {
        let start = self.start[slot as usize] as usize;
        let g = &mut self.groups[group as usize];
        let member = g.members.len() as u32;
        g.members.push(slot);
        for (&place, lists) in g.places.iter().zip(g.by_value.iter_mut()) {
            let value = self.arena[start + place as usize];
            g.values.push(value);
            let (last, count) = lists.last.entry(value).or_insert((NO_MEMBER, 0));
            lists.before.push(*last);
            (*last, *count) = (member, *count + 1);
        }
        self.group_of[slot as usize] = group;
    }

    /// How many list entries the key has (deleted units included, a
    /// template group once): rarer keys come first in the prefix.
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

    /// This side with only the units of `live` (old slots, in order; the
    /// new slot of each is its position), and only the words and keys they
    /// use. No text is read again: word ids are renumbered.
    fn compacted(&self, live: &[u32]) -> Side {
        // Old id → string, for the words and keys kept.
        let mut surface_of: Vec<Option<&str>> = vec![None; self.key_of.len()];
        for (surface, &id) in &self.surfaces {
            surface_of[id as usize] = Some(surface);
        }
        let mut key_name: Vec<Option<&str>> = vec![None; self.keys.len()];
        for (key, &id) in &self.keys {
            key_name[id as usize] = Some(key);
        }
        let mut side = Side::default();
        let mut word_map: Vec<u32> = vec![u32::MAX; self.key_of.len()];
        let mut key_map: Vec<u32> =
            (0..self.keys.len() as u32).map(|k| if k < PLACEABLE_KEYS { k } else { u32::MAX }).collect();
        let mut keys = Vec::new();
        for (new_slot, &slot) in live.iter().enumerate() {
            let words = self.words(slot);
            side.start.push(side.arena.len() as u32);
            side.len.push(words.len() as u16);
            keys.clear();
            for &word in words {
                if word_map[word as usize] == u32::MAX {
                    let old_key = self.key_of[word as usize];
                    if key_map[old_key as usize] == u32::MAX {
                        let id = side.keys.len() as u32;
                        side.keys.insert(key_name[old_key as usize].unwrap_or_default().into(), id);
                        key_map[old_key as usize] = id;
                    }
                    let id = side.key_of.len() as u32;
                    side.surfaces.insert(surface_of[word as usize].unwrap_or_default().into(), id);
                    side.key_of.push(key_map[old_key as usize]);
                    word_map[word as usize] = id;
                }
                let word = word_map[word as usize];
                side.arena.push(word);
                keys.push(side.key_of[word as usize]);
            }
            keys.sort_unstable();
            keys.dedup();
            side.group(new_slot as u32);
            side.post(new_slot as u32, &keys);
        }
        side
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
    /// Slot → unit id; 0 for a deleted unit. Slots are never reused, until
    /// [`Index::compacted`] drops the deleted ones.
    ids: Vec<UnitId>,
    slot_of: HashMap<UnitId, u32>,
    /// Slot → memory.
    memory_of: Vec<u32>,
    /// Distinct metadata combinations, and slot → its combination.
    facets: Vec<Facet>,
    facet_ids: HashMap<Facet, u32>,
    facet_of: Vec<u32>,
    /// Slot → when the unit last changed (else was created), in ms.
    time_of: Vec<i64>,
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
        let facet = self.facet_id(unit);
        self.facet_of.push(facet);
        self.time_of.push(unit.changed_or_created_ms());
        self.slot_of.insert(unit.id, slot);
    }

    fn facet_id(&mut self, unit: &Unit) -> u32 {
        let facet = Facet::of(unit);
        if let Some(&id) = self.facet_ids.get(&facet) {
            return id;
        }
        let id = self.facets.len() as u32;
        self.facets.push(facet.clone());
        self.facet_ids.insert(facet, id);
        id
    }

    /// Takes a unit's new metadata (its text and memory unchanged).
    pub fn update_metadata(&mut self, unit: &Unit) {
        if let Some(&slot) = self.slot_of.get(&unit.id) {
            let facet = self.facet_id(unit);
            self.facet_of[slot as usize] = facet;
            self.time_of[slot as usize] = unit.changed_or_created_ms();
        }
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

    /// Slots of deleted units, still taking room until compaction.
    pub fn deleted_slots(&self) -> usize {
        self.ids.len() - self.slot_of.len()
    }

    /// Whether enough slots are dead (a quarter of them, and at least
    /// 10,000) that [`Index::compacted`] is worth its time.
    pub fn needs_compaction(&self) -> bool {
        let dead = self.deleted_slots();
        dead >= 10_000 && dead * 4 >= self.ids.len()
    }

    /// The same index without deleted units, and without the words and keys
    /// only they used: what building it again from the store would give, up
    /// to the numbering of slots and ids, without reading any text.
    pub fn compacted(&self) -> Index {
        let live: Vec<u32> = (0..self.ids.len() as u32).filter(|&slot| self.ids[slot as usize] != 0).collect();
        let mut index = Index {
            memory_ids: self.memory_ids.clone(),
            memories: self.memories.iter().map(|m| MemoryInfo { name: m.name.clone(), units: m.units }).collect(),
            facets: self.facets.clone(),
            facet_ids: self.facet_ids.clone(),
            arabic: self.arabic.compacted(&live),
            english: self.english.compacted(&live),
            ..Index::default()
        };
        for (new_slot, &slot) in live.iter().enumerate() {
            let slot = slot as usize;
            index.ids.push(self.ids[slot]);
            index.slot_of.insert(self.ids[slot], new_slot as u32);
            index.memory_of.push(self.memory_of[slot]);
            index.facet_of.push(self.facet_of[slot]);
            index.time_of.push(self.time_of[slot]);
        }
        index
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

    /// Compiles a scope into a verdict per memory and metadata
    /// combination.
    pub fn selection(&self, scope: &Scope) -> Selection {
        let mut memory = vec![scope.memories.is_none().then_some(0u8); self.memories.len()];
        for &m in scope.memories.iter().flatten() {
            if let Some(slot) = memory.get_mut(m as usize) {
                *slot = Some(0);
            }
        }
        for &(m, points) in &scope.memory_points {
            if let Some(Some(p)) = memory.get_mut(m as usize) {
                *p = points;
            }
        }
        let facet = self
            .facets
            .iter()
            .map(|facet| scope.filter.keeps_facet(facet).then(|| scope.preference_points(facet).min(255) as u8))
            .collect();
        Selection {
            memory,
            facet,
            time: scope.filter.time_bounds(),
            freshness: scope.freshness,
            now_ms: scope.now_ms,
            bonus: scope.bonus,
            unknown: scope.unknown,
            cancel: scope.cancel.clone(),
        }
    }

    /// The points `selection` takes off the unit in `slot`, or `None` when
    /// it leaves the unit out (or the unit is deleted).
    fn points(&self, slot: u32, selection: &Selection) -> Option<u8> {
        let slot = slot as usize;
        if self.ids[slot] == 0 {
            return None;
        }
        let memory = (*selection.memory.get(self.memory_of[slot] as usize)?)?;
        let facet = (*selection.facet.get(self.facet_of[slot] as usize)?)?;
        let time = self.time_of[slot];
        if !selection.time.keeps_time(time) {
            return None;
        }
        let age = selection.freshness.map_or(0, |f| f.points(time, selection.now_ms));
        Some(memory.saturating_add(facet).saturating_add(age))
    }

    /// Every unit the selection keeps whose source side (the query's
    /// language) can score at least `min_score` (its alignment score, plus
    /// the bonus it may get, minus its points), found by aligning the query
    /// with every unit. The reference for [`Index::candidates`].
    pub fn scan(&self, query: &Query, selection: &Selection, min_score: u8) -> Vec<Candidate> {
        let side = self.side(query.lang);
        let mut keys = Vec::new();
        (0..self.ids.len() as u32)
            .take_while(|_| !selection.cancel.is_cancelled())
            .filter_map(|slot| {
                let points = self.points(slot, selection)?;
                let words = side.words(slot);
                side.keys_of(words, &mut keys);
                let cost = side.cost(query, words, &keys);
                let best = upper(unnormalized(cost, query.len(), words.len()), selection.bonus, points);
                (best >= i32::from(min_score)).then_some(Candidate {
                    id: self.ids[slot as usize],
                    cost,
                    source_words: words.len(),
                    points,
                })
            })
            .collect()
    }

    /// Whether [`Index::candidates`] can prune for this query and
    /// threshold. When it cannot (min_score 0, or a query with no words
    /// matching units with none: every unit can qualify) it reads every
    /// unit, as [`Index::scan`] does.
    pub fn prunes(&self, query: &Query, selection: &Selection, min_score: u8) -> bool {
        required_overlap(query.len(), min_score.saturating_sub(selection.bonus).min(100)) > 0
    }

    /// Ids of every unit the selection keeps.
    pub fn select(&self, selection: &Selection) -> Vec<UnitId> {
        (0..self.ids.len() as u32)
            .take_while(|_| !selection.cancel.is_cancelled())
            .filter(|&slot| self.points(slot, selection).is_some())
            .map(|slot| self.ids[slot as usize])
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
    ///
    /// With a selection, each unit must reach `s` plus its points minus
    /// the bonus it may get, and offers its guaranteed score minus its
    /// points and the points it may lose later to the rising threshold.
    pub fn candidates(
        &self,
        query: &Query,
        selection: &Selection,
        min_score: u8,
        max_results: usize,
    ) -> Vec<Candidate> {
        self.gather(query, selection, min_score, max_results, false).candidates
    }

    /// [`Index::candidates`], except that a template group hands over only
    /// its best members: those of the highest bounds that hold at least
    /// `max_results` of them. [`Found::withheld`] is the highest bound of
    /// the members held back; when the final top has fewer than
    /// `max_results` matches, or its last score is not above that bound,
    /// the lookup must ask again with [`Index::candidates`]. A template of
    /// 100,000 units that differ in their numbers thus hands over the few
    /// that share most numbers with the query rather than all of them.
    pub fn best_candidates(&self, query: &Query, selection: &Selection, min_score: u8, max_results: usize) -> Found {
        self.gather(query, selection, min_score, max_results, true)
    }

    fn gather(&self, query: &Query, selection: &Selection, min_score: u8, max_results: usize, best: bool) -> Found {
        let n = query.len();
        if i32::from(min_score) > 100 + i32::from(selection.bonus) {
            return Found::default();
        }
        if !self.prunes(query, selection, min_score) {
            return Found { candidates: self.scan(query, selection, min_score), withheld: None };
        }
        // What the prefix and length filters need: the lowest score a unit
        // must reach before its bonus (its points only raise it).
        let before_bonus = |s: u8| s.saturating_sub(selection.bonus).min(100);
        let side = self.side(query.lang);
        let order = side.rarest_first(&query.keys);
        let mut bag = Bag::of(&query.keys);

        let mut threshold = Threshold::new(min_score, max_results);
        let mut found = Vec::new();
        // A unit that can make it: offered to the threshold, kept.
        let mut take = |threshold: &mut Threshold, slot: u32, cost: Cost, m: usize, points: u8| {
            let best = upper(unnormalized(cost, n, m), selection.bonus, points);
            if best < i32::from(threshold.value()) {
                return;
            }
            let lowest = i32::from(guaranteed(cost, n, m)) - i32::from(points) - i32::from(selection.unknown);
            threshold.offer(lowest.max(0) as u8);
            found.push(Candidate { id: self.ids[slot as usize], cost, source_words: m, points });
        };
        let mut withheld = None;
        with_scratch(|Scratch { seen, groups, keys, values, touched }| {
            seen.start(self.ids.len());
            groups.start(side.groups.len());
            for (position, &key) in order.iter().enumerate() {
                let s = before_bonus(threshold.value());
                if position >= prefix_len(n, s) {
                    break;
                }
                if position > 0 && order[position - 1] == key {
                    continue;
                }
                let Some(list) = side.postings.get(key as usize) else { continue };
                let (min_len, max_len) = length_bounds(n, s);
                for &slot in list {
                    if selection.cancel.is_cancelled() {
                        return;
                    }
                    let m = side.len[slot as usize] as usize;
                    if m < min_len || m > max_len {
                        continue;
                    }
                    let group = side.group_of[slot as usize];
                    if group != NO_GROUP {
                        if groups.insert(group) {
                            let scratch =
                                GroupScratch { keys, values, touched, withheld: best.then_some(&mut withheld) };
                            self.template_candidates(query, selection, group, &mut threshold, scratch, &mut take);
                        }
                        continue;
                    }
                    if !seen.insert(slot) {
                        continue;
                    }
                    let Some(points) = self.points(slot, selection) else { continue };
                    // The score this unit's alignment must reach.
                    let s = i32::from(threshold.value()) + i32::from(points) - i32::from(selection.bonus);
                    let Some(cost) = side.lone_cost(query, &mut bag, slot, s, keys) else { continue };
                    take(&mut threshold, slot, cost, m, points);
                }
            }
        });
        Found { candidates: found, withheld }
    }

    /// [`Index::candidates`] for the members of a template group, which
    /// have the same keys and the same word cost against the query: the
    /// key filters and the word cost are computed once, for the lowest
    /// threshold any member can have (no points); then each member's
    /// placeables are counted. When the query pairs with the template word
    /// for word (no word cost), the alignment is the diagonal and a member's
    /// placeables are those of its values that differ from the query's
    /// words at the same places; otherwise, unless the cheapest alignment
    /// pairs no placeables, each member is aligned as a lone unit would be.
    ///
    /// With `scratch.withheld` (see [`Index::best_candidates`]) and the
    /// diagonal, only the best members are handed over (see
    /// [`Index::best_members`]).
    fn template_candidates(
        &self,
        query: &Query,
        selection: &Selection,
        group: u32,
        threshold: &mut Threshold,
        scratch: GroupScratch<'_>,
        take: &mut impl FnMut(&mut Threshold, u32, Cost, usize, u8),
    ) {
        let GroupScratch { keys, values, touched, withheld } = scratch;
        let n = query.len();
        let side = self.side(query.lang);
        let group = &side.groups[group as usize];
        let words = side.words(group.members[0]);
        let m = words.len();
        side.keys_of(words, keys);
        let s = i32::from(threshold.value()) - i32::from(selection.bonus);
        if s > 100 {
            return;
        }
        if !can_reach(query, &mut Bag::of(&query.keys), keys, s.max(0) as u8) {
            return;
        }
        let relate = |same_placeables: bool| {
            let keys = &*keys;
            move |i: usize, j: usize| template_relation(query, keys, words, same_placeables, i, j)
        };
        // The least any member can cost: every placeable the same as the
        // query's.
        let least = align::cost(n, m, relate(true));
        if upper(unnormalized(least, n, m), selection.bonus, 0) < i32::from(threshold.value()) {
            return;
        }
        let diagonal = least.tenths == 0;
        let shared = !diagonal && align::cost(n, m, relate(false)).placeables == 0;
        values.clear();
        values.extend(group.places.iter().map(|&p| if diagonal { query.surfaces[p as usize] } else { UNKNOWN_WORD }));
        let differing = |i: usize| group.differing(i, values);
        if let (true, Some(withheld)) = (diagonal, withheld) {
            let floor = i32::from(threshold.value());
            let k = threshold.k;
            let reading = Reading { group, values: &values[..], selection, floor, k, n, m };
            if let Some(held) = self.best_members(&reading, touched) {
                if let Some(held) = held {
                    *withheld = Some(withheld.map_or(held, |w: u8| w.max(held)));
                }
                for &i in touched.iter() {
                    let slot = group.members[i as usize];
                    let Some(points) = self.points(slot, selection) else { continue };
                    take(threshold, slot, differing(i as usize), m, points);
                }
                return;
            }
        }
        for (i, &slot) in group.members.iter().enumerate() {
            if selection.cancel.is_cancelled() {
                return;
            }
            let Some(points) = self.points(slot, selection) else { continue };
            let cost = if diagonal {
                differing(i)
            } else if shared {
                least
            } else {
                side.cost(query, side.words(slot), keys)
            };
            take(threshold, slot, cost, m, points);
        }
    }

    /// The members of a template group worth handing over when the query
    /// pairs with the template word for word (`values`: its words at the
    /// group's places), in `chosen`: those sharing a placeable with the
    /// query, found through [`Group::by_value`], at the highest bounds that
    /// hold `k` of them. Returns the highest bound held back (`Some(None)`:
    /// none), or `None` when every member must be read.
    ///
    /// A member not in the lists read differs from the query at each of
    /// their places, so its bound is known without reading it: when the
    /// members read already fill the top above that bound, the others are
    /// held back unread. Places where most members share the query's value
    /// (a name every unit of the template has) are never read; the rarest
    /// values are read first, and the commonest last, only when needed.
    fn best_members(&self, reading: &Reading<'_>, chosen: &mut Vec<u32>) -> Option<Option<u8>> {
        let Reading { group, values, selection, floor, n, m, .. } = *reading;
        // Places where no member has the query's value differ for all.
        let mut differ_for_all = 0;
        // (count, last member, lists) per place read.
        let mut lists: Vec<(u32, u32, &ValueLists)> = Vec::with_capacity(values.len());
        for (value_lists, value) in group.by_value.iter().zip(values) {
            match value_lists.last.get(value) {
                None => differ_for_all += 1,
                Some(&(last, count)) if count as usize <= group.members.len() / 2 => {
                    lists.push((count, last, value_lists))
                }
                Some(_) => {}
            }
        }
        lists.sort_unstable_by_key(|&(count, last, _)| (count, last));
        let but_the_commonest = (lists.len() >= 2).then(|| lists.len() - 1);
        for read in but_the_commonest.into_iter().chain([lists.len()]) {
            chosen.clear();
            for &(_, mut member, value_lists) in &lists[..read] {
                while member != NO_MEMBER {
                    chosen.push(member);
                    member = value_lists.before[member as usize];
                }
            }
            chosen.sort_unstable();
            chosen.dedup();
            let unread = Cost { tenths: 0, placeables: differ_for_all + read as u32 };
            let unread = upper(unnormalized(unread, n, m), selection.bonus, 0);
            let unread = (unread >= floor && group.members.len() > chosen.len()).then_some(unread);
            if let Some(held) = self.cut_members(reading, unread, chosen) {
                return Some(held);
            }
        }
        None
    }

    /// Keeps in `chosen` the members at the highest bounds that hold `k`
    /// of them, when those are above `unread` (the most the members not
    /// chosen can score); returns the highest bound left out, or `None`
    /// when the members not chosen could make the top.
    fn cut_members(&self, reading: &Reading<'_>, unread: Option<i32>, chosen: &mut Vec<u32>) -> Option<Option<u8>> {
        let Reading { group, values, selection, floor, k, n, m } = *reading;
        let mut count = [0usize; 256];
        let mut bounds = Vec::with_capacity(chosen.len());
        for &i in chosen.iter() {
            let bound = self
                .points(group.members[i as usize], selection)
                .map(|points| upper(unnormalized(group.differing(i as usize, values), n, m), selection.bonus, points));
            let bound = bound.filter(|&b| b >= floor).map(|b| b.min(255) as u8);
            if let Some(b) = bound {
                count[usize::from(b)] += 1;
            }
            bounds.push(bound);
        }
        // The lowest bound handed over: the highest at which the members
        // at or above it are `k`.
        let mut above = 0;
        let mut lowest = None;
        for bound in (0..=255u8).rev() {
            above += count[usize::from(bound)];
            if above >= k {
                lowest = Some(bound);
                break;
            }
        }
        let lowest = match (lowest, unread) {
            (Some(lowest), Some(unread)) if i32::from(lowest) > unread => lowest,
            (Some(lowest), None) => lowest,
            (None, None) => 0,
            _ => return None,
        };
        let held = (0..lowest).rev().find(|&b| count[usize::from(b)] > 0);
        let held = held.max(unread.map(|b| b as u8));
        let mut at = 0;
        chosen.retain(|_| {
            at += 1;
            bounds[at - 1].is_some_and(|b| b >= lowest)
        });
        Some(held)
    }
}

/// Units holding a phrase, found by [`Index::concordance`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrences {
    pub id: UnitId,
    /// When the unit last changed (else was created), in ms: with the id,
    /// its place in the newest-first order.
    pub time_ms: i64,
    pub lang: Lang,
    /// Where the phrase starts, in words of that side (see
    /// [`crate::text::tokens`]), every occurrence.
    pub at: Vec<usize>,
}

/// A page of [`Index::concordance`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConcordancePage {
    /// Newest first: the most recently changed (else created), then the
    /// highest id.
    pub hits: Vec<Occurrences>,
    /// The (change time, id) of the last hit, when more may follow: the
    /// next page starts strictly after it. Ids and times do not change when
    /// slots are renumbered, so a cursor survives compaction.
    pub next: Option<(i64, UnitId)>,
}

/// Units of one memory whose side in `lang` is the same after
/// normalization while their other sides differ (see [`Index::conflicts`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictGroup {
    pub memory: String,
    pub lang: Lang,
    /// Newest first.
    pub ids: Vec<UnitId>,
}

impl Index {
    /// The units the selection keeps whose side in `lang` holds the words
    /// of `phrase` in a row, matched by key as in lookups (a clitic or a
    /// suffix apart: شركة finds والشركة) and placeables by their normalized
    /// surface; newest first (change time, then id, both descending), at
    /// most `limit`, strictly after the cursor `after` in that order.
    pub fn concordance(
        &self,
        phrase: &[Token],
        lang: Lang,
        selection: &Selection,
        after: Option<(i64, UnitId)>,
        limit: usize,
    ) -> ConcordancePage {
        let side = self.side(lang);
        let query = side.encode(phrase, lang);
        let mut page = ConcordancePage::default();
        if limit == 0
            || query.is_empty()
            || query
                .keys
                .iter()
                .zip(&query.surfaces)
                .any(|(&k, &w)| k == UNKNOWN_WORD || (k < PLACEABLE_KEYS && w == UNKNOWN_WORD))
        {
            return page;
        }
        let slots = self.phrase_slots(side, &query);
        let matches = |word: u32, i: usize| {
            let key = query.keys[i];
            if key < PLACEABLE_KEYS {
                word == query.surfaces[i]
            } else {
                side.key_of[word as usize] == key
            }
        };
        let at = |slot: u32| -> Vec<usize> {
            let words = side.words(slot);
            (0..=words.len().saturating_sub(query.len()))
                .filter(|&start| words.len() >= query.len() && (0..query.len()).all(|i| matches(words[start + i], i)))
                .collect()
        };
        // The newest `limit + 1` hits after the cursor (one more tells
        // whether a next page exists), smallest on top.
        let mut newest: BinaryHeap<Reverse<((i64, UnitId), u32)>> = BinaryHeap::with_capacity(limit + 2);
        for slot in slots {
            if selection.cancel.is_cancelled() {
                break;
            }
            let place = (self.time_of[slot as usize], self.ids[slot as usize]);
            if after.is_some_and(|cursor| place >= cursor)
                || (newest.len() > limit && newest.peek().is_some_and(|Reverse((least, _))| place <= *least))
                || self.points(slot, selection).is_none()
                || at(slot).is_empty()
            {
                continue;
            }
            newest.push(Reverse((place, slot)));
            if newest.len() > limit + 1 {
                newest.pop();
            }
        }
        let mut found: Vec<((i64, UnitId), u32)> = newest.into_iter().map(|Reverse(hit)| hit).collect();
        found.sort_unstable_by(|a, b| b.cmp(a));
        if found.len() > limit {
            found.truncate(limit);
            page.next = found.last().map(|&(place, _)| place);
        }
        page.hits =
            found.into_iter().map(|((time_ms, id), slot)| Occurrences { id, time_ms, lang, at: at(slot) }).collect();
        page
    }

    /// The slots that may hold the phrase: the list of its rarest key that
    /// is not a placeable kind holds every unit with the phrase (a template
    /// group by its first member, here read as its members). With none,
    /// every slot is read.
    fn phrase_slots<'a>(&'a self, side: &'a Side, query: &Query) -> Box<dyn Iterator<Item = u32> + 'a> {
        let rarest = query.keys.iter().copied().filter(|&k| k >= PLACEABLE_KEYS).min_by_key(|&k| side.frequency(k));
        match rarest {
            Some(key) => {
                Box::new(side.postings.get(key as usize).map_or(&[][..], Vec::as_slice).iter().flat_map(|&slot| {
                    let members: &[u32] = match side.group_of[slot as usize] {
                        NO_GROUP => &[],
                        group => &side.groups[group as usize].members,
                    };
                    members.is_empty().then_some(slot).into_iter().chain(members.iter().copied())
                }))
            }
            None => Box::new(0..self.ids.len() as u32),
        }
    }

    /// The slot a unit is in (for paging).
    pub fn slot(&self, id: UnitId) -> Option<u32> {
        self.slot_of.get(&id).copied()
    }

    /// Every group of units of one memory, among those the selection
    /// keeps, whose side in one language is the same after normalization
    /// while their other sides differ; newest group first.
    pub fn conflicts(&self, selection: &Selection) -> Vec<ConflictGroup> {
        let mut groups = Vec::new();
        for (lang, side, other) in
            [(Lang::Arabic, &self.arabic, &self.english), (Lang::English, &self.english, &self.arabic)]
        {
            let mut by_source: HashMap<(u32, &[u32]), Vec<u32>> = HashMap::default();
            for slot in 0..self.ids.len() as u32 {
                if self.points(slot, selection).is_some() {
                    by_source.entry((self.memory_of[slot as usize], side.words(slot))).or_default().push(slot);
                }
            }
            for ((memory, _), slots) in by_source {
                if slots.len() < 2 || slots.iter().all(|&s| other.words(s) == other.words(slots[0])) {
                    continue;
                }
                let mut ids: Vec<UnitId> = slots.iter().map(|&s| self.ids[s as usize]).collect();
                ids.sort_unstable_by(|a, b| b.cmp(a));
                groups.push(ConflictGroup { memory: self.memories[memory as usize].name.clone(), lang, ids });
            }
        }
        groups.sort_by(|a, b| b.ids[0].cmp(&a.ids[0]).then(a.lang.code().cmp(b.lang.code())));
        groups
    }
}

/// How query word `i` relates to word `j` of a template (`keys`, `words`):
/// a placeable equal to the query's word is the same; with
/// `same_placeables`, every placeable of the right kind counts as the same
/// (the least any member can cost).
#[inline]
fn template_relation(
    query: &Query,
    keys: &[u32],
    words: &[u32],
    same_placeables: bool,
    i: usize,
    j: usize,
) -> Relation {
    if keys[j] >= PLACEABLE_KEYS && query.surfaces[i] == words[j] {
        Relation::Same
    } else if query.keys[i] != keys[j] {
        Relation::Different
    } else if keys[j] >= PLACEABLE_KEYS {
        Relation::Variant
    } else if same_placeables {
        Relation::Same
    } else {
        Relation::Placeable
    }
}

/// The count and distance filters: whether a unit with these keys can
/// reach `s` (the score its alignment must reach): with `longest` the
/// longer of the query and the unit, the keys in common must be at least
/// `longest − max_distance`, and the word distance over keys at most
/// `max_distance = ⌊longest·(100−s)/100⌋`.
#[inline]
fn can_reach(query: &Query, bag: &mut Bag, keys: &[u32], s: u8) -> bool {
    let longest = query.len().max(keys.len());
    let max_distance = longest * (100 - s as usize) / 100;
    bag.overlap(keys) + max_distance >= longest && word_distance(&query.keys, keys) <= max_distance
}

/// The most a unit can score: its alignment score, plus the bonus when
/// that is 100, minus its points; never below 0, where scores stop (a unit
/// that loses more points than it has still matches at 0).
fn upper(score: u8, bonus: u8, points: u8) -> i32 {
    let bonus = if score == 100 { bonus } else { 0 };
    (i32::from(score) + i32::from(bonus) - i32::from(points)).max(0)
}

/// A [`Scope`] compiled against one index: see [`Index::selection`].
#[derive(Debug, Clone)]
pub struct Selection {
    /// Memory id → points, `None` when left out.
    memory: Vec<Option<u8>>,
    /// Metadata combination id → points, `None` when filtered out.
    facet: Vec<Option<u8>>,
    /// The filter's change-time bounds.
    time: super::scope::UnitFilter,
    freshness: Option<super::scope::Freshness>,
    now_ms: i64,
    bonus: u8,
    unknown: u8,
    /// Raised: loops over units stop early, with what they found so far
    /// (the caller asks the token and discards it).
    pub(crate) cancel: crate::Cancel,
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

/// A template group being read on the diagonal (see
/// [`Index::best_members`]): the query's words at its places, the lowest
/// bound a member needs (`floor`), the top's size `k`, and the query's and
/// the template's word counts.
#[derive(Clone, Copy)]
struct Reading<'a> {
    group: &'a Group,
    values: &'a [u32],
    selection: &'a Selection,
    floor: i32,
    k: usize,
    n: usize,
    m: usize,
}

/// What [`Index::best_candidates`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    pub candidates: Vec<Candidate>,
    /// The highest bound (the most a unit can score) of the template
    /// members held back, if any were.
    pub withheld: Option<u8>,
}

/// The working memory of one lookup (see [`with_scratch`]).
#[derive(Default)]
struct Scratch {
    seen: Seen,
    /// Which template groups the lookup has checked.
    groups: Seen,
    /// The key ids of the unit being checked.
    keys: Vec<u32>,
    /// The query's words at a group's placeable positions.
    values: Vec<u32>,
    /// Members of a template group (see [`Index::best_members`]).
    touched: Vec<u32>,
}

/// The parts of [`Scratch`] a template group is checked with, and where
/// it reports the members it held back (`None`: hand over all of them).
struct GroupScratch<'a> {
    keys: &'a mut Vec<u32>,
    values: &'a mut Vec<u32>,
    touched: &'a mut Vec<u32>,
    withheld: Option<&'a mut Option<u8>>,
}

/// Which slots one lookup has seen: a stamp per slot, reset by bumping the
/// epoch, so a lookup never clears a million-entry array.
#[derive(Default)]
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

/// Working memory kept between lookups: each holds 4 bytes per unit (1M
/// units: 4 MB), so it is taken per lookup rather than kept per thread
/// (the blocking pool may run hundreds), and at most one per core is kept
/// idle.
static SCRATCH: std::sync::Mutex<Vec<Scratch>> = std::sync::Mutex::new(Vec::new());

/// Runs `f` with a lookup's working memory from the pool, and returns it.
fn with_scratch<T>(f: impl FnOnce(&mut Scratch) -> T) -> T {
    static KEPT: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    let pool = || SCRATCH.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut scratch = pool().pop().unwrap_or_default();
    let out = f(&mut scratch);
    let kept = *KEPT.get_or_init(|| std::thread::available_parallelism().map_or(2, usize::from));
    let mut pool = pool();
    if pool.len() < kept {
        pool.push(scratch);
    }
    out
}

#[cfg(test)]
mod tests;
