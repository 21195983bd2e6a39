//! The in-memory index: every unit's normalized words as word ids, per side,
//! each word mapped to its key (stem or placeable kind), with an inverted list
//! per key. Built from the store at start-up and updated by the writer after
//! every flush (no rebuild per write).
//!
//! The index is a list of segments ([`segment`]) that never change once
//! readers can see them, each with its deletions beside it: readers work on
//! a snapshot (a cheap copy of the list) and hold no lock while they search;
//! the writer adds each group's units as a new segment, publishes a new
//! snapshot, and merges small segments in tiers, never more than
//! [`SEGMENT_SLOTS`] units at once (see ARCHITECTURE.md, "The index").
//!
//! [`Index::candidates`] finds every unit whose score can reach the
//! threshold without comparing the query with every unit; [`Index::scan`]
//! compares with every unit. Both return candidates scored by the one
//! alignment ([`super::align`]); the filters work on keys and only drop units
//! whose distance over keys already rules the threshold out, so the two agree
//! (see ARCHITECTURE.md, "The index").

mod postings;
mod runs;
mod search;
mod segment;

use std::cmp::Reverse;
use std::sync::Arc;

use foldhash::HashMap;
use serde::{Deserialize, Serialize};

pub use self::runs::RunHit;
use self::search::Threshold;
use self::segment::{Encoded, Entry, Part, Segment, WordIds};
use super::align::Cost;
use super::scope::{Facet, Scope};
use crate::text::{tokens, Lang, Token};
use crate::unit::{Unit, UnitId};

/// The form of a saved index ([`Index::save`]): a hash of the sources that
/// decide what the index holds (text analysis, matching, the units' form)
/// and of the locked dependencies, computed by `build.rs`. A build whose
/// analysis or index differs in any way reads no index another build saved;
/// it builds its own from the units.
pub const SAVED_FORMAT: &str = env!("DHAKIRA_INDEX_FORMAT");

/// What follows a saved index's format, if it is [`SAVED_FORMAT`].
fn saved_body(bytes: &[u8]) -> Result<&[u8], String> {
    let (format, rest) = postcard::take_from_bytes::<&str>(bytes).map_err(|err| format!("no format: {err}"))?;
    if format != SAVED_FORMAT {
        return Err(format!("saved by another build (format {format}; this build reads {SAVED_FORMAT})"));
    }
    Ok(rest)
}

fn saved_corrupt(reason: String) -> crate::Error {
    crate::Error::Corrupt { key: "saved index".into(), reason }
}

/// The id of a query word or key that no stored unit has: it equals nothing.
pub const UNKNOWN_WORD: u32 = u32::MAX;

/// An anchor of [`Index::runs`] is held by at most this many units of a
/// segment (list entries; a template group counts once).
pub const RUN_ANCHOR_MAX: usize = 1_000;

/// Most slots (units, deleted ones included) in one segment. Merges stop
/// there, so a merge never copies more units than this at once; a memory of
/// a million units is a few segments.
pub const SEGMENT_SLOTS: usize = 1 << 18;

/// Segments of one size tier (sizes within a factor of this) are merged
/// into one when this many follow each other at the end of the list. Each
/// unit is merged about log_F(`SEGMENT_SLOTS` / group size) times on its
/// way into a full segment: from an import's groups of 4,000, twice with 8
/// (4,000 → 32,000 → 256,000) against three times with 4, for at most 7
/// segments per tier instead of 3 (Lucene merges 10 at once, tantivy 8).
pub(super) const MERGE_FACTOR: usize = 8;

/// A segment is rewritten without its deleted units once they are a
/// quarter of it and at least this many.
const COMPACT_AT: usize = 1_000;

/// Longest stored unit, in words, that a sub-segment search returns (see
/// [`Index::subsegments`]): longer units are paragraphs, not fragments,
/// and the bound keeps a search to `n × MAX_SUBSEGMENT_WORDS` probes per
/// segment for a query of `n` words.
pub const MAX_SUBSEGMENT_WORDS: usize = 64;

/// A stored unit whose words (on the query's side, normalized surfaces)
/// are a run of the query's words: see [`Index::subsegments`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubsegmentHit {
    pub id: UnitId,
    /// The run: query words `start..start + len`.
    pub start: usize,
    pub len: usize,
    /// Points the scope takes off it (memory, metadata, age).
    pub points: u8,
    /// When the unit last changed (else was created), in ms.
    pub time_ms: i64,
}

/// A unit whose score may reach the requested minimum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    pub id: UnitId,
    /// The alignment cost of its source side with the query.
    pub cost: Cost,
    pub source_words: usize,
    /// Characters of its normalized source text (its words' normalized
    /// surfaces, a space between two): a bound on the tie-break's
    /// similarity ([`crate::matching::score::Similarity::most`]); `None`
    /// for a unit of more words than the index keeps.
    pub chars: Option<u32>,
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

/// Units analyzed together away from the index (the start-up build's
/// chunks): per side, each distinct word once, and every unit's words as
/// places in that list, so that the index looks each distinct word up once
/// per chunk ([`Index::insert_chunk`]) rather than once per occurrence.
#[derive(Debug, Default)]
pub struct AnalyzedChunk {
    sides: [ChunkSide; 2],
}

#[derive(Debug, Default)]
struct ChunkSide {
    /// Distinct words: (normalized surface, key).
    words: Vec<(String, String)>,
    /// Every unit's words, back to back, as places in `words`.
    places: Vec<u32>,
    /// Where each unit's words end in `places`.
    ends: Vec<u32>,
}

impl ChunkSide {
    fn unit(&self, n: usize) -> &[u32] {
        let start = if n == 0 { 0 } else { self.ends[n - 1] as usize };
        &self.places[start..self.ends[n] as usize]
    }
}

impl AnalyzedChunk {
    pub fn of(units: &[Unit]) -> AnalyzedChunk {
        let mut chunk = AnalyzedChunk::default();
        for (side, lang) in [Lang::Arabic, Lang::English].into_iter().enumerate() {
            let chunk = &mut chunk.sides[side];
            // A surface has one key (`text::classify`): surfaces name words.
            let mut seen: HashMap<String, u32> = HashMap::default();
            for unit in units {
                for token in tokens(unit.side(lang), lang) {
                    let place = match seen.get(token.surface.as_str()) {
                        Some(&place) => place,
                        None => {
                            let place = chunk.words.len() as u32;
                            seen.insert(token.surface.clone(), place);
                            chunk.words.push((token.surface, token.key));
                            place
                        }
                    };
                    chunk.places.push(place);
                }
                chunk.ends.push(chunk.places.len() as u32);
            }
        }
        chunk
    }
}

/// A query's words as ids, for each segment of the index it was encoded
/// with (see [`Index::encode`]); to be used with that index only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    lang: Lang,
    len: usize,
    parts: Vec<Encoded>,
}

impl Query {
    /// Number of words.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct MemoryInfo {
    name: String,
    units: u64,
}

/// The memories the index has met, by id, with their unit counts.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Memories {
    ids: HashMap<String, u32>,
    list: Vec<MemoryInfo>,
}

/// Distinct metadata combinations, by id.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Facets {
    ids: HashMap<Facet, u32>,
    list: Vec<Facet>,
}

/// A unit's normalized words on one side.
type Words<'a> = Vec<&'a str>;

/// What [`Index::tidy`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tidied {
    /// Segments were merged or dropped: the index is to be published again.
    pub changed: bool,
    /// Units copied into new segments by the merges.
    pub copied: usize,
}

/// The segments [`Index::settling`] chose, to merge without the index.
pub struct Settling {
    parts: Vec<Part>,
    units: usize,
}

impl Settling {
    /// Segments to merge.
    pub fn segments(&self) -> usize {
        self.parts.len()
    }

    /// Units they hold (deleted ones left out).
    pub fn units(&self) -> usize {
        self.units
    }

    /// The merged segment, built beside the index (at most one segment's
    /// worth of memory), to hand to [`Index::settle`].
    pub fn merge(self) -> Settled {
        Settled { merged: Part::merged(&self.parts), was: self.parts }
    }
}

/// A merge [`Settling::merge`] built.
pub struct Settled {
    was: Vec<Part>,
    merged: Part,
}

/// See the module documentation. Cloning is cheap: segments are shared.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Index {
    memories: Arc<Memories>,
    facets: Arc<Facets>,
    /// Oldest first.
    parts: Vec<Part>,
    /// Whether the last segment still takes units: this copy made it and
    /// has not handed it to readers yet (see [`Index::snapshot`]).
    #[serde(skip)]
    open: bool,
    segment_slots: usize,
}

impl Default for Index {
    fn default() -> Index {
        Index::with_segment_slots(SEGMENT_SLOTS)
    }
}

impl Index {
    /// An empty index whose segments hold at most `slots` units (tests
    /// take small ones to make many segments and merges).
    pub fn with_segment_slots(slots: usize) -> Index {
        Index {
            memories: Arc::default(),
            facets: Arc::default(),
            parts: Vec::new(),
            open: false,
            segment_slots: slots.max(1),
        }
    }

    /// Writes the index in its saved form: the build's
    /// [`SAVED_FORMAT`], then every field, postcard-encoded (see
    /// ARCHITECTURE.md, "The index kept between runs"). The open segment,
    /// if any, is saved as it is and loaded closed.
    pub fn save(&self, out: &mut dyn std::io::Write) -> crate::Result<()> {
        let failed = |err: postcard::Error| crate::Error::storage_caused("cannot save the index", err);
        postcard::to_io(SAVED_FORMAT, &mut *out).map_err(failed)?;
        postcard::to_io(self, out).map_err(failed)?;
        Ok(())
    }

    /// An index [`Index::save`] wrote, by a build of the same
    /// [`SAVED_FORMAT`]; an error when the bytes are another build's, or
    /// not a whole index.
    pub fn load(bytes: &[u8]) -> crate::Result<Index> {
        let (mut index, rest) = postcard::take_from_bytes::<Index>(saved_body(bytes).map_err(saved_corrupt)?)
            .map_err(|err| saved_corrupt(format!("cannot decode it: {err}")))?;
        if !rest.is_empty() {
            return Err(saved_corrupt(format!("{} bytes after the index", rest.len())));
        }
        index.open = false;
        Ok(index)
    }

    /// Whether [`Index::load`] may read `bytes`: the reason it may not
    /// when they were saved by another build (or hold no format), found
    /// without decoding them. Another build's index is not damage: it is
    /// simply not read.
    pub fn readable(bytes: &[u8]) -> Result<(), String> {
        saved_body(bytes).map(|_| ())
    }

    /// Adds a unit, or replaces the one with the same id.
    pub fn insert(&mut self, unit: &Unit) {
        self.insert_analyzed(unit, Analyzed::of(unit));
    }

    /// [`Index::insert`] with the words already computed.
    pub fn insert_analyzed(&mut self, unit: &Unit, analyzed: Analyzed) {
        let entry = self.entry(unit);
        let arabic = analyzed.arabic.iter().map(|(surface, key)| (surface.as_str(), key.as_str()));
        let english = analyzed.english.iter().map(|(surface, key)| (surface.as_str(), key.as_str()));
        self.open_segment().push(entry, arabic, english);
    }

    /// Adds `units`, analyzed together as `chunk` ([`AnalyzedChunk::of`]),
    /// as [`Index::insert_analyzed`] would one by one: each distinct word
    /// is looked up in the open segment's vocabularies once.
    pub fn insert_chunk(&mut self, units: &[Unit], chunk: &AnalyzedChunk) {
        let mut ids = WordIds::new(chunk.sides.each_ref().map(|side| side.words.len()));
        let mut words: [Vec<u32>; 2] = Default::default();
        for (n, unit) in units.iter().enumerate() {
            let entry = self.entry(unit);
            let segment = self.open_segment();
            if segment.slots() == 0 {
                ids.clear();
            }
            for (side, lang) in [Lang::Arabic, Lang::English].into_iter().enumerate() {
                let chunk = &chunk.sides[side];
                let name = |word: u32| {
                    let (surface, key) = &chunk.words[word as usize];
                    (surface.as_str(), key.as_str())
                };
                ids.map(segment, lang, chunk.unit(n), name, &mut words[side]);
            }
            segment.push_words(entry, &words[0], &words[1]);
        }
    }

    /// What the open segment keeps of `unit` beside its words; the unit is
    /// first taken out of the segment holding it, if any.
    fn entry(&mut self, unit: &Unit) -> Entry {
        self.remove(unit.id);
        let memories = Arc::make_mut(&mut self.memories);
        let memory = match memories.ids.get(&unit.memory) {
            Some(&id) => id,
            None => {
                let id = memories.list.len() as u32;
                memories.ids.insert(unit.memory.clone(), id);
                memories.list.push(MemoryInfo { name: unit.memory.clone(), units: 0 });
                id
            }
        };
        memories.list[memory as usize].units += 1;
        Entry { id: unit.id, memory, facet: self.facet_id(unit), time_ms: unit.changed_or_created_ms() }
    }

    /// Takes the segments of `later`, an index of units whose ids all
    /// follow this one's (the start-up build fills one index per range of
    /// ids, each on a thread of its own), after this index's: `later`'s
    /// memories and metadata combinations are numbered as this index's.
    pub fn append(&mut self, mut later: Index) {
        self.close();
        later.close();
        let memories = Arc::make_mut(&mut self.memories);
        let memory_ids: Vec<u32> = later
            .memories
            .list
            .iter()
            .map(|info| match memories.ids.get(&info.name) {
                Some(&id) => {
                    memories.list[id as usize].units += info.units;
                    id
                }
                None => {
                    let id = memories.list.len() as u32;
                    memories.ids.insert(info.name.clone(), id);
                    memories.list.push(info.clone());
                    id
                }
            })
            .collect();
        let facets = Arc::make_mut(&mut self.facets);
        let facet_ids: Vec<u32> = later
            .facets
            .list
            .iter()
            .map(|facet| match facets.ids.get(facet) {
                Some(&id) => id,
                None => {
                    let id = facets.list.len() as u32;
                    facets.ids.insert(facet.clone(), id);
                    facets.list.push(facet.clone());
                    id
                }
            })
            .collect();
        for mut part in later.parts {
            // A segment a snapshot of `later` still shares is copied first.
            if Arc::get_mut(&mut part.segment).is_none() {
                part = Part::merged(std::slice::from_ref(&part));
            }
            Arc::get_mut(&mut part.segment).expect("a segment this copy alone holds").renumber(&memory_ids, &facet_ids);
            self.parts.push(part);
        }
    }

    /// The segment new units go to: the last one while it is open and has
    /// room, else a new one.
    fn open_segment(&mut self) -> &mut Segment {
        let slots = self.segment_slots;
        let open = self.open
            && self
                .parts
                .last_mut()
                .is_some_and(|part| part.slots() < slots && Arc::get_mut(&mut part.segment).is_some());
        if !open {
            self.close();
            self.parts.push(Part::default());
            self.open = true;
        }
        let part = self.parts.last_mut().expect("a segment is open");
        Arc::get_mut(&mut part.segment).expect("an open segment is this copy's only")
    }

    fn facet_id(&mut self, unit: &Unit) -> u32 {
        let facet = Facet::of(unit);
        if let Some(&id) = self.facets.ids.get(&facet) {
            return id;
        }
        let facets = Arc::make_mut(&mut self.facets);
        let id = facets.list.len() as u32;
        facets.list.push(facet.clone());
        facets.ids.insert(facet, id);
        id
    }

    /// Takes a unit's new metadata (its text and memory unchanged): the
    /// unit moves to the open segment when its metadata or change time
    /// differ.
    pub fn update_metadata(&mut self, unit: &Unit) {
        let Some((part, slot)) = self.find(unit.id) else { return };
        let (part, slot) = (&self.parts[part], slot as usize);
        let same = part.time_of[slot] == unit.changed_or_created_ms()
            && self.facets.ids.get(&Facet::of(unit)) == Some(&part.facet_of[slot]);
        if !same {
            self.insert(unit);
        }
    }

    /// The segment and slot of a unit that is not deleted.
    fn find(&self, id: UnitId) -> Option<(usize, u32)> {
        self.parts.iter().enumerate().rev().find_map(|(i, part)| part.live_slot(id).map(|slot| (i, slot)))
    }

    /// Removes a unit; false if it was not there. Its segment keeps it,
    /// marked deleted (skipped when read), until a merge drops it.
    pub fn remove(&mut self, id: UnitId) -> bool {
        let Some((part, slot)) = self.find(id) else { return false };
        let part = &mut self.parts[part];
        let memory = part.memory_of[slot as usize];
        Arc::make_mut(&mut part.deleted).insert(slot);
        Arc::make_mut(&mut self.memories).list[memory as usize].units -= 1;
        true
    }

    /// Number of indexed units.
    pub fn len(&self) -> usize {
        self.parts.iter().map(Part::live).sum()
    }

    /// True when no unit is indexed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Slots of deleted units, still taking room until a merge.
    pub fn deleted_slots(&self) -> usize {
        self.parts.iter().map(|part| part.deleted.count()).sum()
    }

    /// Number of segments.
    pub fn segments(&self) -> usize {
        self.parts.len()
    }

    /// The index as readers are to see it from now on: the open segment is
    /// closed (later units go to a new one) and a copy sharing every
    /// segment is returned. Deletions made later copy the deletion set of
    /// the segment they touch, not the segment.
    pub fn snapshot(&mut self) -> Index {
        self.close();
        self.clone()
    }

    /// Closes the open segment, if there is one: no unit goes to it after
    /// this, so the room its lists grew into is given back.
    fn close(&mut self) {
        if std::mem::take(&mut self.open) {
            if let Some(segment) = self.parts.last_mut().and_then(|part| Arc::get_mut(&mut part.segment)) {
                segment.shrink();
            }
        }
    }

    /// The merges due, done: segments left without units are dropped, a
    /// segment a quarter deleted is rewritten without them, and the last
    /// segments are merged while [`MERGE_FACTOR`] of one size tier follow
    /// each other (never into more than the segment size). Says whether
    /// anything changed (then [`Index::snapshot`] again).
    pub fn tidy(&mut self) -> Tidied {
        self.close();
        let before = self.parts.len();
        self.parts.retain(|part| part.live() > 0);
        let mut tidied = Tidied { changed: self.parts.len() != before, copied: 0 };
        for part in &mut self.parts {
            let dead = part.deleted.count();
            if dead >= COMPACT_AT && dead * 4 >= part.slots() {
                *part = Part::merged(std::slice::from_ref(part));
                tidied.changed = true;
                tidied.copied += part.slots();
            }
        }
        let tier = |part: &Part| part.live().max(1).ilog(MERGE_FACTOR);
        while let Some(last) = self.parts.last() {
            let run = self.parts.iter().rev().take_while(|part| tier(part) == tier(last)).count();
            if run < MERGE_FACTOR {
                break;
            }
            // The longest end of the run that fits in one segment.
            let mut total = 0;
            let take = self.parts[self.parts.len() - run..]
                .iter()
                .rev()
                .take_while(|part| {
                    total += part.live();
                    total <= self.segment_slots
                })
                .count();
            if take < 2 {
                break;
            }
            let from = self.parts.len() - take;
            let merged = Part::merged(&self.parts[from..]);
            self.parts.truncate(from);
            tidied.changed = true;
            tidied.copied += merged.slots();
            self.parts.push(merged);
        }
        tidied
    }

    /// Segments next to each other worth merging into one once the writes
    /// pause, if any: the last such run, taken from its end while each
    /// segment holds at most [`MERGE_FACTOR`] times the units of those after
    /// it in the run and all fit in one segment. The tiered merges of
    /// [`Index::tidy`] leave up to `MERGE_FACTOR − 1` segments per size
    /// tier, and segments of one tier that together overflow a segment
    /// (after a bulk import at a million units: a dozen segments, 10,000 to
    /// 240,000 units each), while a lookup pays for every segment (its words
    /// looked up in each vocabulary, each list's directory read). Each pause
    /// merges one run, at most one segment's worth of units; the next pause
    /// takes the next. The size rule keeps a large segment from being copied
    /// again for a few units added after it: it is copied again only once
    /// the units after it reach an eighth of its own.
    ///
    /// The merge ([`Settling::merge`]) needs no lock: it reads segments that
    /// never change; [`Index::settle`] then puts it in place.
    pub fn settling(&mut self) -> Option<Settling> {
        self.close();
        (1..=self.parts.len()).rev().find_map(|end| {
            let (mut units, mut take) = (0, 0);
            for part in self.parts[..end].iter().rev() {
                let live = part.live();
                if (take > 0 && live > MERGE_FACTOR * units) || units + live > self.segment_slots {
                    break;
                }
                units += live;
                take += 1;
            }
            (take >= 2).then(|| Settling { parts: self.parts[end - take..end].to_vec(), units })
        })
    }

    /// Puts a merge prepared by [`Settling::merge`] in place of the
    /// segments it read, if the index still holds them as they were (the
    /// same segments, next to each other, with the same deletions; later
    /// segments may follow them). Says whether it did: a deletion or a merge
    /// of those segments since leaves the index as it is, and the merge is
    /// dropped (the next pause prepares another).
    pub fn settle(&mut self, settled: Settled) -> bool {
        let Settled { was, merged } = settled;
        let same = |a: &Part, b: &Part| Arc::ptr_eq(&a.segment, &b.segment) && Arc::ptr_eq(&a.deleted, &b.deleted);
        let Some(from) = self.parts.windows(was.len()).position(|run| run.iter().zip(&was).all(|(a, b)| same(a, b)))
        else {
            return false;
        };
        // None of them is open: `settling` closed the last, and while
        // `was` shares them no unit can be added to one.
        self.parts.splice(from..from + was.len(), [merged]);
        true
    }

    /// The same units in as few segments as fit, without deleted units:
    /// what building the index again from the store would give, up to the
    /// numbering of slots, without reading any text.
    pub fn compacted(&self) -> Index {
        let mut index = Index { parts: Vec::new(), open: false, ..self.clone() };
        let mut from = 0;
        while from < self.parts.len() {
            let mut total = 0;
            let take = self.parts[from..]
                .iter()
                .take_while(|part| {
                    total += part.live();
                    total <= self.segment_slots
                })
                .count()
                .max(1);
            index.parts.push(Part::merged(&self.parts[from..from + take]));
            from += take;
        }
        index.parts.retain(|part| part.live() > 0);
        index
    }

    /// Units per memory, for memories that hold any, sorted by name.
    pub fn memory_counts(&self) -> Vec<(String, u64)> {
        let mut counts: Vec<(String, u64)> =
            self.memories.list.iter().filter(|m| m.units > 0).map(|m| (m.name.clone(), m.units)).collect();
        counts.sort();
        counts
    }

    /// The internal id of a memory that holds units.
    pub fn memory_id(&self, name: &str) -> Option<u32> {
        self.memories.ids.get(name).copied().filter(|&id| self.memories.list[id as usize].units > 0)
    }

    /// A query's words as ids of the `lang` side of each segment; unseen
    /// words and keys get [`UNKNOWN_WORD`].
    pub fn encode(&self, tokens: &[Token], lang: Lang) -> Query {
        let parts = self.parts.iter().map(|part| part.side(lang).encode(tokens, lang)).collect();
        Query { lang, len: tokens.len(), parts }
    }

    /// [`Index::encode`] for a text.
    pub fn encode_text(&self, text: &str, lang: Lang) -> Query {
        self.encode(&tokens(text, lang), lang)
    }

    /// Each segment with the query's words in its vocabularies.
    fn with_query<'a>(&'a self, query: &'a Query) -> impl Iterator<Item = (&'a Part, &'a Encoded)> {
        debug_assert_eq!(query.parts.len(), self.parts.len(), "a query is used with the index that encoded it");
        self.parts.iter().zip(&query.parts)
    }

    /// Compiles a scope into a verdict per memory and metadata
    /// combination.
    pub fn selection(&self, scope: &Scope) -> Selection {
        let mut memory = vec![scope.memories.is_none().then_some(0u8); self.memories.list.len()];
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
            .list
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

    /// Every unit the selection keeps whose source side (the query's
    /// language) can score at least `min_score` (its alignment score, plus
    /// the bonus it may get, minus its points), found by aligning the query
    /// with every unit. The reference for [`Index::candidates`].
    pub fn scan(&self, query: &Query, selection: &Selection, min_score: u8) -> Vec<Candidate> {
        self.with_query(query).flat_map(|(part, words)| part.scan(words, selection, min_score)).collect()
    }

    /// Whether [`Index::candidates`] can prune for this query and
    /// threshold. When it cannot (min_score 0, or a query with no words
    /// matching units with none: every unit can qualify) it reads every
    /// unit, as [`Index::scan`] does.
    pub fn prunes(&self, query: &Query, selection: &Selection, min_score: u8) -> bool {
        search::required_overlap(query.len(), min_score.saturating_sub(selection.bonus).min(100)) > 0
    }

    /// Whether a lookup reads every unit (see [`Index::prunes`]), and so
    /// takes one of the places for full scans: not when the query has no
    /// words and `min_score` is above 0, since only units without words
    /// can then qualify, and they are listed.
    pub fn reads_every_unit(&self, query: &Query, selection: &Selection, min_score: u8) -> bool {
        !(self.prunes(query, selection, min_score) || query.is_empty() && min_score > 0)
    }

    /// Ids of every unit the selection keeps.
    pub fn select(&self, selection: &Selection) -> Vec<UnitId> {
        let mut ids = Vec::new();
        for part in &self.parts {
            part.select(selection, &mut ids);
        }
        ids
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
        if i32::from(min_score) > 100 + i32::from(selection.bonus) {
            return Found::default();
        }
        if query.is_empty() && min_score > 0 {
            // Every word of a unit is an edit away from a query without
            // words: only units without words score above 0.
            let candidates = self
                .with_query(query)
                .flat_map(|(part, words)| part.scan_wordless(words, selection, min_score))
                .collect();
            return Found { candidates, withheld: None };
        }
        if !self.prunes(query, selection, min_score) {
            return Found { candidates: self.scan(query, selection, min_score), withheld: None };
        }
        // One threshold for the whole lookup: what one segment finds
        // raises it for the next.
        let mut threshold = Threshold::new(min_score, max_results);
        let mut found = Found::default();
        for (part, words) in self.with_query(query) {
            if selection.cancel.is_cancelled() {
                break;
            }
            part.gather(words, selection, best, &mut threshold, &mut found);
        }
        found
    }

    /// Every unit the selection keeps whose words on the query's side are
    /// a run of the query's words (equal normalized surfaces), shorter than
    /// the query and at most [`MAX_SUBSEGMENT_WORDS`] long, of two words or
    /// more or of one word at a position `singles` allows; a unit found at
    /// several places of the query is a hit at each. Exact: found through
    /// the template hashes, which every unit with words has (see
    /// `Part::subsegments`). In no particular order.
    pub fn subsegments(&self, query: &Query, singles: &[bool], selection: &Selection) -> Vec<SubsegmentHit> {
        debug_assert_eq!(singles.len(), query.len());
        let mut hits = Vec::new();
        for (part, words) in self.with_query(query) {
            part.subsegments(words, singles, selection, &mut hits);
        }
        hits
    }

    /// The maximal runs of the query's words inside the units the
    /// selection keeps (words equal by key, placeables by value; see
    /// [`RunHit`]), each holding at least one anchor: a word that is not a
    /// placeable and that at most [`RUN_ANCHOR_MAX`] units of a segment
    /// hold. Runs made only of more common words or placeables are not
    /// found, and an anchor's template groups are read up to four times
    /// that many units. In no particular order.
    pub fn runs(&self, query: &Query, selection: &Selection) -> Vec<RunHit> {
        let mut hits = Vec::new();
        for (part, words) in self.with_query(query) {
            part.runs(words, selection, RUN_ANCHOR_MAX, RUN_ANCHOR_MAX * 4, &mut hits);
        }
        hits
    }

    /// Calls `f` with every live unit's id and words (Arabic, English, as
    /// normalized surfaces and keys), one in `every`, in index order, until
    /// it returns false. For training the word alignment model.
    pub fn for_each_pair(&self, every: usize, f: &mut runs::PairVisitor<'_>) {
        let mut seen = 0;
        for part in &self.parts {
            if !part.each_pair(every.max(1), &mut seen, f) {
                return;
            }
        }
    }

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
        let mut hits: Vec<Occurrences> =
            self.parts.iter().flat_map(|part| part.concordance(phrase, lang, selection, after, limit)).collect();
        hits.sort_unstable_by_key(|hit| Reverse((hit.time_ms, hit.id)));
        let mut page = ConcordancePage::default();
        if hits.len() > limit {
            hits.truncate(limit);
            page.next = hits.last().map(|hit| (hit.time_ms, hit.id));
        }
        page.hits = hits;
        page
    }

    /// Every group of units of one memory, among those the selection
    /// keeps, whose side in one language is the same after normalization
    /// while their other sides differ; newest group first.
    pub fn conflicts(&self, selection: &Selection) -> Vec<ConflictGroup> {
        let mut groups = Vec::new();
        for lang in [Lang::Arabic, Lang::English] {
            let names: Vec<_> =
                self.parts.iter().map(|part| (part.side(lang).names(), part.side(lang.other()).names())).collect();
            // (memory, source words) → (id, target words) of each unit.
            let mut by_source: HashMap<(u32, Words<'_>), Vec<(UnitId, Words<'_>)>> = HashMap::default();
            for (part, (source, target)) in self.parts.iter().zip(&names) {
                for slot in 0..part.slots() as u32 {
                    if part.points(slot, selection).is_some() {
                        let source: Vec<&str> = source.words(slot).map(|(surface, _)| surface).collect();
                        let target: Vec<&str> = target.words(slot).map(|(surface, _)| surface).collect();
                        by_source
                            .entry((part.memory_of[slot as usize], source))
                            .or_default()
                            .push((part.ids[slot as usize], target));
                    }
                }
            }
            for ((memory, _), units) in by_source {
                if units.len() < 2 || units.iter().all(|(_, target)| *target == units[0].1) {
                    continue;
                }
                let mut ids: Vec<UnitId> = units.iter().map(|&(id, _)| id).collect();
                ids.sort_unstable_by(|a, b| b.cmp(a));
                groups.push(ConflictGroup { memory: self.memories.list[memory as usize].name.clone(), lang, ids });
            }
        }
        groups.sort_by(|a, b| b.ids[0].cmp(&a.ids[0]).then(a.lang.code().cmp(b.lang.code())));
        groups
    }
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

/// What [`Index::best_candidates`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    pub candidates: Vec<Candidate>,
    /// The highest bound (the most a unit can score) of the template
    /// members held back, if any were.
    pub withheld: Option<u8>,
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

#[cfg(test)]
mod tests;
