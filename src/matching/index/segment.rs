//! A segment of the index: the units of one batch of groups, or of a merge,
//! with their own vocabularies, arena and inverted lists. A segment never
//! changes once readers can see it; deletions are kept beside it, in a
//! [`Part`] (see ARCHITECTURE.md, "The index").

use std::ops::Deref;
use std::sync::Arc;

use foldhash::HashMap;
use serde::{Deserialize, Serialize};

use super::postings::Postings;
use super::search::{enough_in_common, max_distance, Bag};
use super::Selection;
use crate::matching::align::{self, Cost, Relation};
use crate::matching::score::word_distance;
use crate::text::{Lang, Placeable, Token};
use crate::unit::UnitId;

pub use super::UNKNOWN_WORD;

/// Per open list, its entries' rooms (see [`Side::rooms`]).
type Rooms = Vec<Vec<u8>>;

/// Key ids below this are placeable kinds (in [`Placeable::ALL`] order).
pub(super) const PLACEABLE_KEYS: u32 = Placeable::ALL.len() as u32;

/// Words of a [`Bits`] set.
const BIT_WORDS: usize = 4;

/// A set of keys as 256 bits, each key on one bit chosen by a
/// multiplicative hash (key ids are handed out in order of first use, so
/// the commonest words would otherwise crowd the low bits). A unit's keys
/// are kept so ([`Side::key_bits`]): a bound on the keys it shares with a
/// query, read before its words. 256 bits rather than 64: a long query
/// holds 30–60 distinct keys, which would set most of 64 bits and let
/// almost every unit through (see ARCHITECTURE.md, "The index").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[repr(align(32))]
pub(super) struct Bits([u64; BIT_WORDS]);

impl Bits {
    /// The bit of `key`.
    #[inline]
    pub(super) fn position(key: u32) -> usize {
        (key.wrapping_mul(0x9E37_79B9) >> 24) as usize
    }

    pub(super) fn of(keys: &[u32]) -> Bits {
        let mut bits = Bits::default();
        for &key in keys {
            bits.insert(key);
        }
        bits
    }

    #[inline]
    pub(super) fn insert(&mut self, key: u32) {
        let at = Bits::position(key);
        self.0[at / 64] |= 1 << (at % 64);
    }

    /// Whether `key`'s bit is set: false when the set surely lacks it.
    #[inline]
    pub(super) fn may_hold(&self, key: u32) -> bool {
        let at = Bits::position(key);
        self.0[at / 64] >> (at % 64) & 1 != 0
    }
}

/// A query's keys by their bit ([`Bits::position`]): how many of the
/// query's words have a key on each bit. A unit whose [`Side::key_bits`]
/// share bits `b` with the query holds at most the sum of the counts of
/// `b` of the query's words: a bound on the count filter's overlap, known
/// without reading the unit's words.
pub(super) struct KeyBits {
    mask: Bits,
    counts: [u32; 64 * BIT_WORDS],
}

impl KeyBits {
    pub(super) fn of(keys: &[u32]) -> KeyBits {
        let mut bits = KeyBits { mask: Bits::of(keys), counts: [0; 64 * BIT_WORDS] };
        for &key in keys {
            bits.counts[Bits::position(key)] += 1;
        }
        bits
    }

    /// Takes one word with `key` out of the query's: the units it is
    /// checked against can no longer share that word (see
    /// [`super::search`], the prefix's lists).
    pub(super) fn remove(&mut self, key: u32) {
        let at = Bits::position(key);
        let count = &mut self.counts[at];
        debug_assert!(*count > 0, "a key removed more often than the query holds it");
        *count = count.saturating_sub(1);
        if *count == 0 {
            self.mask.0[at / 64] &= !(1 << (at % 64));
        }
    }

    /// Whether a unit of `m` words with key set `unit` can pass the count
    /// filter for an `n`-word query at score `s` ([`super::search::can_reach`]):
    /// its overlap with the query is at most the bound above, and it
    /// needs `longest − ⌊longest·(100−s)/100⌋` words in common.
    #[inline]
    pub(super) fn can_reach(&self, unit: &Bits, n: usize, m: usize, s: u8) -> bool {
        let longest = n.max(m);
        let max_distance = max_distance(n, m, s);
        let mut bound = 0;
        'words: for (word, (&unit, &mask)) in unit.0.iter().zip(&self.mask.0).enumerate() {
            let mut shared = unit & mask;
            while shared != 0 {
                if bound + max_distance >= longest {
                    break 'words;
                }
                bound += self.counts[word * 64 + shared.trailing_zeros() as usize] as usize;
                shared &= shared - 1;
            }
        }
        bound.min(m) + max_distance >= longest
    }
}

/// The most repeats of one key a unit is listed under (see
/// [`Side::repeats`]).
pub(super) const MAX_REPEAT: u32 = 16;

/// One of a side's inverted lists. A query word is one token of a
/// multiset: the `j`-th time a query holds a key, the units that can pair
/// with it are those holding the key at least `j` times. So each query word
/// has a list of its own ([`Side::list_of`]), the words a unit shares with
/// the query are exactly the lists it is in, and a query that repeats a
/// common word ("sami … sami", a sentence of twenty numbers) has short
/// lists for its repeats instead of the common word's long list each time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum List {
    /// No unit holds the key that often.
    Empty,
    /// The units holding a key (at least once).
    Key(u32),
    /// The units holding a key at least `j` times, `j ≥ 2`: an id in
    /// [`Side::repeat_postings`].
    Repeat(u32),
}

/// In [`Side::templates`]: the entry is a group id, not a slot.
const GROUP: u32 = 1 << 31;

/// In [`Side::group_of`]: the unit is in no group.
pub(super) const NO_GROUP: u32 = u32::MAX;

/// Units of one side that share a template: the same words, except that
/// their placeables may differ within their kind (sentences that differ
/// only in their numbers, names or URLs). Their keys are therefore equal,
/// and so is the word cost of their alignment with any query; only the
/// placeables they have in common with the query tell them apart, so
/// [`Index::candidates`] checks a group once and then reads, per member,
/// the word ids at the placeable positions (see ARCHITECTURE.md, "The
/// index").
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Group {
    /// Where the placeables are in the template's words.
    pub(super) places: Box<[u16]>,
    /// The members' slots, ascending (deleted ones included until
    /// compaction, as in the inverted lists).
    pub(super) members: Vec<u32>,
    /// Per member, the word ids at `places`, back to back.
    pub(super) values: Vec<u32>,
    /// Per place, the members holding each value there, so that a lookup
    /// reaches the members sharing a placeable with the query without
    /// reading the others.
    pub(super) by_value: Box<[ValueLists]>,
    /// The values at every place, as a [`Bits`] set: a lookup probes a
    /// place's lists only when its value's bit is set, so the groups that
    /// hold none of the query's values (most of them, for a number) cost
    /// no hash probe.
    pub(super) held: Bits,
}

impl Group {
    /// The members holding `value` at the place of `lists` (one of
    /// `by_value`): its last member and how many; `None` when none does.
    #[inline]
    pub(super) fn holding(&self, lists: &ValueLists, value: u32) -> Option<(u32, u32)> {
        if !self.held.may_hold(value) {
            return None;
        }
        lists.last.get(&value).copied()
    }

    /// On the diagonal (`values`: the query's words at the group's places),
    /// member `i` costs the placeables whose values differ from the query's
    /// words at the same places.
    #[inline]
    pub(super) fn differing(&self, i: usize, values: &[u32]) -> Cost {
        let width = self.places.len();
        let differ = self.values[i * width..(i + 1) * width].iter().zip(values).filter(|(a, b)| a != b);
        Cost { tenths: 0, placeables: differ.count() as u32 }
    }
}

/// The hash of a template (see [`Side::template`]), the key of
/// [`Side::templates`].
pub(super) fn template_hash(template: &[u64]) -> u64 {
    std::hash::BuildHasher::hash_one(&foldhash::fast::FixedState::default(), template)
}

/// What [`Side::template_entry`] found.
pub(super) enum TemplateEntry {
    Slot(u32),
    Group(u32),
}

/// The members (indices into [`Group::members`]) of one place's values,
/// as linked lists: `last` maps a value to its last member and how many
/// members hold it, `before` each member to the one before it with the
/// same value ([`NO_MEMBER`] ends a list). Four bytes per member and
/// place, no allocation per value.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct ValueLists {
    pub(super) last: HashMap<u32, (u32, u32)>,
    pub(super) before: Vec<u32>,
}

impl ValueLists {
    /// The members of one value's list, from its last member (an entry of
    /// `last`) back to its first.
    pub(super) fn members_from(&self, last: u32) -> impl Iterator<Item = u32> + '_ {
        let member = |member: u32| (member != NO_MEMBER).then_some(member);
        std::iter::successors(member(last), move |&at| member(self.before[at as usize]))
    }
}

/// Ends a list of [`ValueLists`].
pub(super) const NO_MEMBER: u32 = u32::MAX;

/// A query's words as ids in one segment's vocabularies for one side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Encoded {
    pub(super) lang: Lang,
    pub(super) surfaces: Vec<u32>,
    pub(super) keys: Vec<u32>,
}

impl Encoded {
    /// Number of words.
    pub(super) fn len(&self) -> usize {
        self.keys.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// arena, and the inverted lists.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Side {
    /// Normalized word → word id.
    pub(super) surfaces: HashMap<Box<str>, u32>,
    /// Key → key id; ids below [`PLACEABLE_KEYS`] are the placeable kinds.
    pub(super) keys: HashMap<Box<str>, u32>,
    /// Word id → key id.
    pub(super) key_of: Vec<u32>,
    /// Word id → characters in its normalized surface (see [`Side::chars`]).
    pub(super) chars_of: Vec<u32>,
    /// Key id → slots of the units holding it: ascending while the segment
    /// takes units, then (once it is closed) by word count and slot, packed,
    /// so that a lookup unpacks only the units of the lengths that can match
    /// ([`Postings`]). A template group is listed once, by its first member.
    /// May name deleted slots (skipped when read).
    pub(super) postings: Postings,
    /// (Key id, `j`) → the id in `repeat_postings` of the list of the units
    /// holding the key at least `j` times (2 ≤ `j` ≤ [`MAX_REPEAT`]; see
    /// [`List::Repeat`]).
    pub(super) repeats: HashMap<(u32, u32), u32>,
    /// The repeat lists, kept as `postings` are.
    pub(super) repeat_postings: Postings,
    /// Every unit's word ids, back to back.
    pub(super) arena: Vec<u32>,
    /// Slot → start of its words in `arena`.
    pub(super) start: Vec<u32>,
    /// Slot → number of words.
    pub(super) len: Vec<u16>,
    /// Slot → its keys as a [`Bits`] set: a bound on the keys it shares
    /// with a query, read before its words (see [`KeyBits::can_reach`]).
    pub(super) key_bits: Vec<Bits>,
    /// Template hash (see [`Side::template`]) → the slot of the one unit
    /// with that template, or a group id with [`GROUP`] set once several
    /// have it. A unit whose template hash collides with another template
    /// is simply left out of groups.
    pub(super) templates: HashMap<u64, u32>,
    /// Slot → its group, or [`NO_GROUP`].
    pub(super) group_of: Vec<u32>,
    pub(super) groups: Vec<Group>,
    /// Slots of the units without words on this side, ascending.
    pub(super) wordless: Vec<u32>,
    /// Slots of the units left out of `templates` (their template hash is
    /// another template's), ascending: sub-segment searches, which find
    /// units through `templates`, read these one by one.
    pub(super) collided: Vec<u32>,
}

impl Default for Side {
    fn default() -> Side {
        let keys = Placeable::ALL.iter().enumerate().map(|(i, p)| (p.key().into(), i as u32)).collect();
        Side {
            surfaces: HashMap::default(),
            keys,
            key_of: Vec::new(),
            chars_of: Vec::new(),
            postings: Postings::default(),
            repeats: HashMap::default(),
            repeat_postings: Postings::default(),
            arena: Vec::new(),
            start: Vec::new(),
            len: Vec::new(),
            key_bits: Vec::new(),
            templates: HashMap::default(),
            group_of: Vec::new(),
            groups: Vec::new(),
            wordless: Vec::new(),
            collided: Vec::new(),
        }
    }
}

impl Side {
    /// The list of the units holding `key` at least `j` times (`j ≥ 1`;
    /// past [`MAX_REPEAT`], those holding it `MAX_REPEAT` times):
    /// [`List::Empty`] when there are none.
    pub(super) fn list_of(&self, key: u32, j: u32) -> List {
        match j.min(MAX_REPEAT) {
            0 | 1 => List::Key(key),
            j => self.repeats.get(&(key, j)).map_or(List::Empty, |&id| List::Repeat(id)),
        }
    }

    /// Where a list is: its postings and its id there.
    pub(super) fn postings_of(&self, list: List) -> Option<(&Postings, u32)> {
        match list {
            List::Empty => None,
            List::Key(key) => Some((&self.postings, key)),
            List::Repeat(id) => Some((&self.repeat_postings, id)),
        }
    }

    /// How many entries a list has.
    pub(super) fn list_len(&self, list: List) -> usize {
        self.postings_of(list).map_or(0, |(postings, id)| postings.len(id))
    }

    /// Whether every list of this side is packed (the segment is closed).
    pub(super) fn packed(&self) -> bool {
        matches!((&self.postings, &self.repeat_postings), (Postings::Packed(_), Postings::Packed(_)))
    }

    /// The cost of the lone unit (not in a template group) at `slot` when
    /// the count and distance filters let it reach `s`, the score its
    /// alignment must reach; `None` when it cannot. Its keys are left in
    /// `keys`.
    #[inline]
    pub(super) fn lone_cost(
        &self,
        query: &Encoded,
        bag: &mut Bag,
        slot: u32,
        s: i32,
        keys: &mut Vec<u32>,
    ) -> Option<Cost> {
        if s > 100 {
            return None;
        }
        let words = self.words(slot);
        // The count filter first, on the words' keys as they are read: most
        // units that get this far fail it.
        let max_distance = max_distance(query.len(), words.len(), s.max(0) as u8);
        if !enough_in_common(bag, words.iter().map(|&w| self.key_of[w as usize]), words.len(), max_distance) {
            return None;
        }
        self.keys_of(words, keys);
        if word_distance(&query.keys, keys) > max_distance {
            return None;
        }
        Some(self.cost(query, words, keys))
    }

    fn shrink(&mut self) {
        if let Some((rooms, repeat_rooms)) = self.rooms() {
            self.postings.pack(&self.len, &rooms);
            self.repeat_postings.pack(&self.len, &repeat_rooms);
        }
        self.repeats.shrink_to_fit();
        self.surfaces.shrink_to_fit();
        self.keys.shrink_to_fit();
        self.key_of.shrink_to_fit();
        self.chars_of.shrink_to_fit();
        self.arena.shrink_to_fit();
        self.start.shrink_to_fit();
        self.len.shrink_to_fit();
        self.key_bits.shrink_to_fit();
        self.templates.shrink_to_fit();
        self.group_of.shrink_to_fit();
        for group in &mut self.groups {
            group.members.shrink_to_fit();
            group.values.shrink_to_fit();
            for lists in group.by_value.iter_mut() {
                lists.last.shrink_to_fit();
                lists.before.shrink_to_fit();
            }
        }
        self.groups.shrink_to_fit();
        self.wordless.shrink_to_fit();
        self.collided.shrink_to_fit();
    }

    /// Each entry's room in the open lists (`postings`, `repeat_postings`;
    /// `None` once they are packed): how many of the unit's words are in
    /// this list or in one a lookup reads after it. A lookup reads its
    /// words' lists by (length, [`List`]) ascending (`Part::gather`), so
    /// the lists are walked the other way, each adding its units' words to
    /// their count. The list of a key's [`MAX_REPEAT`]-th and later
    /// repeats holds several words of a unit: its entries count all the
    /// unit's words, which only lets more units through. A room is at most
    /// the unit's word count, and 255 stands for 255 or more.
    fn rooms(&self) -> Option<(Rooms, Rooms)> {
        let (Postings::Open(lists), Postings::Open(repeat_lists)) = (&self.postings, &self.repeat_postings) else {
            return None;
        };
        let mut capped = vec![false; repeat_lists.len()];
        for (&(_, j), &id) in &self.repeats {
            if let Some(capped) = capped.get_mut(id as usize) {
                *capped = j == MAX_REPEAT;
            }
        }
        let mut order: Vec<(usize, List)> =
            (lists.iter().enumerate().map(|(key, list)| (list.len(), List::Key(key as u32))))
                .chain(repeat_lists.iter().enumerate().map(|(id, list)| (list.len(), List::Repeat(id as u32))))
                .filter(|&(len, _)| len > 0)
                .collect();
        order.sort_unstable_by(|a, b| b.cmp(a));
        let mut rooms: Rooms = lists.iter().map(|list| vec![0; list.len()]).collect();
        let mut repeat_rooms: Rooms = repeat_lists.iter().map(|list| vec![0; list.len()]).collect();
        // Per slot, its words in the lists walked so far.
        let mut words = vec![0u16; self.len.len()];
        for (_, list) in order {
            let (slots, rooms, all) = match list {
                List::Key(key) => (&lists[key as usize], &mut rooms[key as usize], false),
                List::Repeat(id) => (&repeat_lists[id as usize], &mut repeat_rooms[id as usize], capped[id as usize]),
                List::Empty => continue,
            };
            for (&slot, room) in slots.iter().zip(rooms.iter_mut()) {
                let m = self.len[slot as usize];
                let count = &mut words[slot as usize];
                *count = if all { m } else { count.saturating_add(1).min(m) };
                *room = (*count).min(u16::from(u8::MAX)) as u8;
            }
        }
        Some((rooms, repeat_rooms))
    }

    /// Room for `slots` more units and `words` more words (and for a
    /// template each: most units have one of their own).
    fn reserve(&mut self, slots: usize, words: usize) {
        self.templates.reserve(slots);
        self.arena.reserve(words);
        self.start.reserve(slots);
        self.len.reserve(slots);
        self.key_bits.reserve(slots);
        self.group_of.reserve(slots);
    }

    pub(super) fn words(&self, slot: u32) -> &[u32] {
        let start = self.start[slot as usize] as usize;
        &self.arena[start..start + self.len[slot as usize] as usize]
    }

    /// The characters of the unit's normalized text on this side (its
    /// words' normalized surfaces, a space between two), as the ranking's
    /// tie-break reads it; `None` when the unit has more words than the
    /// index keeps.
    pub(super) fn chars(&self, slot: u32) -> Option<u32> {
        let words = self.words(slot);
        if words.len() >= MAX_WORDS {
            return None;
        }
        let letters: u32 = words.iter().map(|&word| self.chars_of[word as usize]).sum();
        Some(letters + words.len().saturating_sub(1) as u32)
    }

    /// Adds the words of the unit in `slot` (the next one): (normalized
    /// surface, key) pairs.
    fn push<'w>(&mut self, slot: u32, words: impl Iterator<Item = (&'w str, &'w str)>) {
        let start = self.arena.len();
        for (surface, key) in words.take(MAX_WORDS) {
            let word = self.word(surface, key);
            self.arena.push(word);
        }
        self.pushed(slot, start);
    }

    /// The id of a word (normalized surface, key), taken into the
    /// vocabularies when it is new.
    #[inline]
    fn word(&mut self, surface: &str, key_name: &str) -> u32 {
        // One key per surface (`text::classify`): a surface met before
        // brings its key, so only a new one looks its key up (half the
        // hash lookups when an index is built).
        let word = intern(&mut self.surfaces, surface);
        if word as usize == self.key_of.len() {
            let key = intern(&mut self.keys, key_name);
            self.key_of.push(key);
            self.chars_of.push(surface.chars().count() as u32);
        }
        debug_assert_eq!(
            self.keys.get(key_name),
            Some(&self.key_of[word as usize]),
            "surface {surface:?} came with another key {key_name:?}"
        );
        word
    }

    /// Adds the unit in `slot` (the next one), its words given by id
    /// ([`Side::word`]); at most [`MAX_WORDS`] are kept.
    fn push_words(&mut self, slot: u32, words: &[u32]) {
        let start = self.arena.len();
        self.arena.extend_from_slice(&words[..words.len().min(MAX_WORDS)]);
        self.pushed(slot, start);
    }

    /// Takes in the unit in `slot`, whose words were put in the arena from
    /// `start` on.
    fn pushed(&mut self, slot: u32, start: usize) {
        self.start.push(start as u32);
        let words = &self.arena[start..];
        let mut keys: Vec<u32> = words.iter().map(|&word| self.key_of[word as usize]).collect();
        self.len.push(words.len() as u16);
        if words.is_empty() {
            self.wordless.push(slot);
        }
        keys.sort_unstable();
        self.key_bits.push(Bits::of(&keys));
        self.group(slot);
        self.post(slot, &keys);
    }

    /// Adds `slot` to the lists of its keys (`keys`: sorted, repeats kept),
    /// and of their repeats, unless it joined a template group as a later
    /// member: a group is listed once, by its first member, and reached
    /// through it.
    fn post(&mut self, slot: u32, keys: &[u32]) {
        let group = self.group_of[slot as usize];
        if group != NO_GROUP && self.groups[group as usize].members[0] != slot {
            return;
        }
        let (Postings::Open(lists), Postings::Open(repeat_lists)) = (&mut self.postings, &mut self.repeat_postings)
        else {
            unreachable!("a unit pushed into a closed segment");
        };
        let add = |lists: &mut Vec<Vec<u32>>, id: u32| {
            let id = id as usize;
            if lists.len() <= id {
                lists.resize_with(id + 1, Vec::new);
            }
            lists[id].push(slot);
        };
        for same in keys.chunk_by(|a, b| a == b) {
            let key = same[0];
            add(lists, key);
            for j in 2..=(same.len() as u32).min(MAX_REPEAT) {
                let next = self.repeats.len() as u32;
                let id = *self.repeats.entry((key, j)).or_insert(next);
                add(repeat_lists, id);
            }
        }
    }

    /// The entry of `templates` for a template: a slot, or a group id with
    /// [`GROUP`] set.
    pub(super) fn template_entry(&self, template: &[u64]) -> Option<TemplateEntry> {
        let entry = *self.templates.get(&template_hash(template))?;
        Some(if entry & GROUP != 0 { TemplateEntry::Group(entry & !GROUP) } else { TemplateEntry::Slot(entry) })
    }

    /// A unit's template: per word, its id, or its placeable kind (with
    /// bit 32 set) for a placeable.
    pub(super) fn template(&self, slot: u32) -> Vec<u64> {
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
        let hash = template_hash(&template);
        let group = match self.templates.get(&hash).copied() {
            None => {
                self.templates.insert(hash, slot);
                return;
            }
            Some(entry) if entry & GROUP != 0 => {
                let group = entry & !GROUP;
                if self.template(self.groups[group as usize].members[0]) != template {
                    self.collided.push(slot);
                    return;
                }
                group
            }
            Some(first) => {
                if self.template(first) != template || self.groups.len() as u32 >= GROUP {
                    self.collided.push(slot);
                    return;
                }
                let places: Box<[u16]> =
                    (0..template.len()).filter(|&i| template[i] >> 32 != 0).map(|i| i as u16).collect();
                let group = self.groups.len() as u32;
                let by_value = places.iter().map(|_| ValueLists::default()).collect();
                self.groups.push(Group {
                    places,
                    members: Vec::new(),
                    values: Vec::new(),
                    by_value,
                    held: Bits::default(),
                });
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
            g.held.insert(value);
            let (last, count) = lists.last.entry(value).or_insert((NO_MEMBER, 0));
            lists.before.push(*last);
            (*last, *count) = (member, *count + 1);
        }
        self.group_of[slot as usize] = group;
    }

    /// How many list entries the key has (deleted units included, a
    /// template group once): rarer keys come first in the prefix.
    pub(super) fn frequency(&self, key: u32) -> usize {
        self.postings.len(key)
    }

    pub(super) fn encode(&self, tokens: &[Token], lang: Lang) -> Encoded {
        let mut surfaces = Vec::with_capacity(tokens.len());
        let mut keys = Vec::with_capacity(tokens.len());
        for token in tokens {
            // A word the segment holds has its key there already: a key is
            // a function of the surface alone (see `text::classify`), so
            // only an unseen word's key is looked up by name.
            let (surface, key) = match self.surfaces.get(token.surface.as_str()) {
                Some(&word) => (word, self.key_of[word as usize]),
                None => (UNKNOWN_WORD, self.keys.get(token.key.as_str()).copied().unwrap_or(UNKNOWN_WORD)),
            };
            surfaces.push(surface);
            keys.push(key);
        }
        Encoded { lang, surfaces, keys }
    }

    /// The alignment cost of a unit's words with the query's.
    pub(super) fn cost(&self, query: &Encoded, words: &[u32], keys: &[u32]) -> Cost {
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
    pub(super) fn keys_of(&self, words: &[u32], out: &mut Vec<u32>) {
        out.clear();
        out.extend(words.iter().map(|&w| self.key_of[w as usize]));
    }

    /// Word id → normalized surface, and key id → key: what a merge needs
    /// to push a unit's words into another segment.
    pub(super) fn names(&self) -> Names<'_> {
        let mut surface: Vec<&str> = vec![""; self.key_of.len()];
        for (name, &id) in &self.surfaces {
            surface[id as usize] = name;
        }
        let mut key: Vec<&str> = vec![""; self.keys.len()];
        for (name, &id) in &self.keys {
            key[id as usize] = name;
        }
        Names { side: self, surface, key }
    }
}

/// The words of another vocabulary (a chunk's, a segment being merged)
/// → their ids in one segment, per side: each word is looked up by name
/// the first time it is met, then by id.
pub(super) struct WordIds([Vec<u32>; 2]);

impl WordIds {
    const UNSEEN: u32 = u32::MAX;

    /// For vocabularies of `len` words per side (Arabic, English).
    pub(super) fn new(len: [usize; 2]) -> WordIds {
        WordIds(len.map(|len| vec![WordIds::UNSEEN; len]))
    }

    /// Forgets every id: the words go to another segment now.
    pub(super) fn clear(&mut self) {
        self.0.iter_mut().for_each(|ids| ids.fill(WordIds::UNSEEN));
    }

    /// `words` (of the other vocabulary, `lang`'s side) as ids in
    /// `segment`, into `out`; `name` gives a word's (normalized surface,
    /// key).
    pub(super) fn map<'n>(
        &mut self,
        segment: &mut Segment,
        lang: Lang,
        words: &[u32],
        name: impl Fn(u32) -> (&'n str, &'n str),
        out: &mut Vec<u32>,
    ) {
        let ids = &mut self.0[usize::from(lang == Lang::English)];
        out.clear();
        for &word in words {
            let id = &mut ids[word as usize];
            if *id == WordIds::UNSEEN {
                let (surface, key) = name(word);
                *id = segment.word(lang, surface, key);
            }
            out.push(*id);
        }
    }
}

/// The most words of a unit a side keeps (its word counts are `u16`).
const MAX_WORDS: usize = u16::MAX as usize;

/// The id of `name` in `vocabulary`, the next id when it is new (looked up
/// first, so that only a new name is copied).
#[inline]
fn intern(vocabulary: &mut HashMap<Box<str>, u32>, name: &str) -> u32 {
    if let Some(&id) = vocabulary.get(name) {
        return id;
    }
    let id = vocabulary.len() as u32;
    vocabulary.insert(name.into(), id);
    id
}

/// A side's words by name (see [`Side::names`]).
pub(super) struct Names<'a> {
    side: &'a Side,
    surface: Vec<&'a str>,
    key: Vec<&'a str>,
}

impl<'a> Names<'a> {
    /// The unit's words in `slot`: (normalized surface, key) pairs.
    pub(super) fn words(&self, slot: u32) -> impl Iterator<Item = (&'a str, &'a str)> + '_ {
        self.side.words(slot).iter().map(|&w| self.word(w))
    }

    /// A word by id: (normalized surface, key).
    pub(super) fn word(&self, w: u32) -> (&'a str, &'a str) {
        (self.surface[w as usize], self.key[self.side.key_of[w as usize] as usize])
    }
}

/// The units of a segment: slot → unit id, memory, metadata combination
/// and change time, and both sides' words. Slots are given in order as
/// units are pushed; a segment is built once (by the writer, from a group's
/// new units, or by a merge) and then only read.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct Segment {
    /// Slot → unit id: ascending, unless a unit moved here from an older
    /// segment (then `slot_of` is kept).
    pub(super) ids: Vec<UnitId>,
    /// Unit id → slot, only once `ids` stopped ascending; while they
    /// ascend (a segment built at start-up, most merges), empty, and a slot
    /// is found by binary search in `ids`.
    pub(super) slot_of: HashMap<UnitId, u32>,
    /// Slot → memory id (see `Index::memories`).
    pub(super) memory_of: Vec<u32>,
    /// Slot → metadata combination id (see `Index::facets`).
    pub(super) facet_of: Vec<u32>,
    /// Slot → when the unit last changed (else was created), in ms.
    pub(super) time_of: Vec<i64>,
    pub(super) arabic: Side,
    pub(super) english: Side,
}

/// What a segment keeps of a unit besides its words.
#[derive(Debug, Clone, Copy)]
pub(super) struct Entry {
    pub(super) id: UnitId,
    pub(super) memory: u32,
    pub(super) facet: u32,
    pub(super) time_ms: i64,
}

impl Segment {
    /// Adds a unit in the next slot, with its words on each side as
    /// (normalized surface, key) pairs.
    pub(super) fn push<'w>(
        &mut self,
        entry: Entry,
        arabic: impl Iterator<Item = (&'w str, &'w str)>,
        english: impl Iterator<Item = (&'w str, &'w str)>,
    ) {
        let slot = self.ids.len() as u32;
        self.arabic.push(slot, arabic);
        self.english.push(slot, english);
        self.push_entry(entry, slot);
    }

    /// The slot's unit id, memory, metadata and time, after its words.
    fn push_entry(&mut self, entry: Entry, slot: u32) {
        if !self.slot_of.is_empty() {
            self.slot_of.insert(entry.id, slot);
        } else if self.ids.last().is_some_and(|&last| entry.id <= last) {
            self.slot_of = self.ids.iter().zip(0..).map(|(&id, slot)| (id, slot)).collect();
            self.slot_of.insert(entry.id, slot);
        }
        self.ids.push(entry.id);
        self.memory_of.push(entry.memory);
        self.facet_of.push(entry.facet);
        self.time_of.push(entry.time_ms);
    }

    /// Adds a unit in the next slot, with its words on each side given by
    /// id ([`Segment::word`]).
    pub(super) fn push_words(&mut self, entry: Entry, arabic: &[u32], english: &[u32]) {
        let slot = self.ids.len() as u32;
        self.arabic.push_words(slot, arabic);
        self.english.push_words(slot, english);
        self.push_entry(entry, slot);
    }

    /// Room for `slots` more units holding at most `words` words per side
    /// (Arabic, English), taken at once rather than grown into.
    fn reserve(&mut self, slots: usize, words: [usize; 2]) {
        self.ids.reserve(slots);
        self.memory_of.reserve(slots);
        self.facet_of.reserve(slots);
        self.time_of.reserve(slots);
        self.arabic.reserve(slots, words[0]);
        self.english.reserve(slots, words[1]);
    }

    /// The id of a word (normalized surface, key) on `lang`'s side, taken
    /// into its vocabularies when it is new.
    pub(super) fn word(&mut self, lang: Lang, surface: &str, key: &str) -> u32 {
        match lang {
            Lang::Arabic => self.arabic.word(surface, key),
            Lang::English => self.english.word(surface, key),
        }
    }

    /// Gives its slots' memories and metadata combinations new ids: the
    /// one numbered `old` becomes `memories[old]`, `facets[old]`.
    pub(super) fn renumber(&mut self, memories: &[u32], facets: &[u32]) {
        for memory in &mut self.memory_of {
            *memory = memories[*memory as usize];
        }
        for facet in &mut self.facet_of {
            *facet = facets[*facet as usize];
        }
    }

    /// Gives back the room the segment's lists grew into but do not use:
    /// done once, when it is closed (no unit is added to it after).
    pub(super) fn shrink(&mut self) {
        self.ids.shrink_to_fit();
        self.slot_of.shrink_to_fit();
        self.memory_of.shrink_to_fit();
        self.facet_of.shrink_to_fit();
        self.time_of.shrink_to_fit();
        self.arabic.shrink();
        self.english.shrink();
    }

    pub(super) fn side(&self, lang: Lang) -> &Side {
        match lang {
            Lang::Arabic => &self.arabic,
            Lang::English => &self.english,
        }
    }

    /// Slots taken, deleted units included.
    pub(super) fn slots(&self) -> usize {
        self.ids.len()
    }
}

/// The deleted slots of a segment, one bit each.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct Deleted {
    bits: Vec<u64>,
    count: usize,
}

impl Deleted {
    #[inline]
    pub(super) fn contains(&self, slot: u32) -> bool {
        self.bits.get(slot as usize / 64).is_some_and(|word| word >> (slot % 64) & 1 != 0)
    }

    /// Marks `slot` deleted; false if it was already.
    pub(super) fn insert(&mut self, slot: u32) -> bool {
        let word = slot as usize / 64;
        if self.bits.len() <= word {
            self.bits.resize(word + 1, 0);
        }
        let bit = 1u64 << (slot % 64);
        if self.bits[word] & bit != 0 {
            return false;
        }
        self.bits[word] |= bit;
        self.count += 1;
        true
    }

    pub(super) fn count(&self) -> usize {
        self.count
    }
}

/// A segment as one snapshot of the index sees it: the segment, shared by
/// every snapshot that holds it, and its deletions as of that snapshot
/// (copied when the writer deletes after the snapshot was taken).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct Part {
    pub(super) segment: Arc<Segment>,
    pub(super) deleted: Arc<Deleted>,
}

impl Deref for Part {
    type Target = Segment;

    fn deref(&self) -> &Segment {
        &self.segment
    }
}

impl Part {
    /// Units not deleted.
    pub(super) fn live(&self) -> usize {
        self.slots() - self.deleted.count()
    }

    /// Whether the unit in `slot` is deleted.
    #[inline]
    pub(super) fn is_deleted(&self, slot: u32) -> bool {
        self.deleted.contains(slot)
    }

    /// The live slot holding unit `id`.
    pub(super) fn live_slot(&self, id: UnitId) -> Option<u32> {
        let slot = if self.slot_of.is_empty() {
            self.ids.binary_search(&id).ok().map(|slot| slot as u32)
        } else {
            self.slot_of.get(&id).copied()
        };
        slot.filter(|&slot| !self.is_deleted(slot))
    }

    /// The points `selection` takes off the unit in `slot`, or `None` when
    /// it leaves the unit out (or the unit is deleted).
    #[inline]
    pub(super) fn points(&self, slot: u32, selection: &Selection) -> Option<u8> {
        if self.is_deleted(slot) {
            return None;
        }
        let slot = slot as usize;
        let memory = (*selection.memory.get(self.memory_of[slot] as usize)?)?;
        let facet = (*selection.facet.get(self.facet_of[slot] as usize)?)?;
        let time = self.time_of[slot];
        if !selection.time.keeps_time(time) {
            return None;
        }
        let age = selection.freshness.map_or(0, |f| f.points(time, selection.now_ms));
        Some(memory.saturating_add(facet).saturating_add(age))
    }

    /// One segment holding the live units of `parts`, in their order: their
    /// words are pushed by name (no text is analyzed again), so template
    /// groups and inverted lists are built as for new units.
    pub(super) fn merged(parts: &[Part]) -> Part {
        let mut segment = Segment::default();
        let live = parts.iter().map(Part::live).sum();
        let arena = |lang| parts.iter().map(|part| part.side(lang).arena.len()).sum();
        segment.reserve(live, [arena(Lang::Arabic), arena(Lang::English)]);
        let mut words: [Vec<u32>; 2] = Default::default();
        for part in parts {
            let names = [part.arabic.names(), part.english.names()];
            let mut ids = WordIds::new([part.arabic.key_of.len(), part.english.key_of.len()]);
            for slot in 0..part.slots() as u32 {
                if part.is_deleted(slot) {
                    continue;
                }
                let at = slot as usize;
                let entry = Entry {
                    id: part.ids[at],
                    memory: part.memory_of[at],
                    facet: part.facet_of[at],
                    time_ms: part.time_of[at],
                };
                for (side, lang) in [Lang::Arabic, Lang::English].into_iter().enumerate() {
                    let names = &names[side];
                    ids.map(&mut segment, lang, part.side(lang).words(slot), |word| names.word(word), &mut words[side]);
                }
                segment.push_words(entry, &words[0], &words[1]);
            }
        }
        segment.shrink();
        Part { segment: Arc::new(segment), deleted: Arc::default() }
    }
}
