//! Runs of the query's words inside stored units, for fragments inside
//! units (see [`super::Index::runs`]), and the units' words for the word
//! alignment model.

use super::segment::{Part, NO_GROUP, PLACEABLE_KEYS, UNKNOWN_WORD};
use super::Selection;
use crate::text::Lang;
use crate::unit::UnitId;
use crate::wordalign::Word;

/// What [`super::Index::for_each_pair`] calls with each unit: its id and
/// its Arabic and English words; it returns false to stop.
pub type PairVisitor<'f> = dyn FnMut(UnitId, &[Word<'_>], &[Word<'_>]) -> bool + 'f;

/// A maximal run of the query's words inside a stored unit: query words
/// `query` equal, word for word, the unit's words from `unit_start` on (by
/// key, placeables by value), and neither end can be extended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunHit {
    pub id: UnitId,
    pub query: std::ops::Range<usize>,
    pub unit_start: usize,
    /// Points the scope takes off it (memory, metadata, age).
    pub points: u8,
    /// When the unit last changed (else was created), in ms.
    pub time_ms: i64,
}

impl Part {
    /// The maximal runs (see [`RunHit`]) that hold at least one anchor: a
    /// query word that is not a placeable and whose key at most
    /// `max_anchor` list entries of this segment hold. Each run is found
    /// once, from its first anchor; units of a template group are read
    /// through its first member's list entry, at most `max_reads` units per
    /// anchor.
    pub(super) fn runs(
        &self,
        query: &super::segment::Encoded,
        selection: &Selection,
        max_anchor: usize,
        max_reads: usize,
        out: &mut Vec<RunHit>,
    ) {
        let side = self.side(query.lang);
        let n = query.len();
        let matches = |word: u32, i: usize| {
            let key = query.keys[i];
            if key == UNKNOWN_WORD {
                false
            } else if key < PLACEABLE_KEYS {
                query.surfaces[i] != UNKNOWN_WORD && word == query.surfaces[i]
            } else {
                side.key_of[word as usize] == key
            }
        };
        let anchor: Vec<bool> = (0..n)
            .map(|i| {
                let key = query.keys[i];
                key != UNKNOWN_WORD && key >= PLACEABLE_KEYS && side.frequency(key) <= max_anchor
            })
            .collect();
        let mut list = Vec::new();
        for i in 0..n {
            if !anchor[i] {
                continue;
            }
            if selection.cancel.is_cancelled() {
                return;
            }
            side.postings.list(query.keys[i], &mut list);
            let mut reads = 0;
            for &first in &list {
                let members: &[u32] = match side.group_of[first as usize] {
                    NO_GROUP => std::slice::from_ref(&first),
                    group => &side.groups[group as usize].members,
                };
                for &slot in members {
                    reads += 1;
                    if reads > max_reads {
                        break;
                    }
                    let Some(points) = self.points(slot, selection) else { continue };
                    let words = side.words(slot);
                    for p in 0..words.len() {
                        if !matches(words[p], i) {
                            continue;
                        }
                        let mut left = 0;
                        while left < i && left < p && matches(words[p - left - 1], i - left - 1) {
                            left += 1;
                        }
                        // Found from an earlier anchor already.
                        if anchor[i - left..i].iter().any(|&a| a) {
                            continue;
                        }
                        let mut right = 1;
                        while i + right < n && p + right < words.len() && matches(words[p + right], i + right) {
                            right += 1;
                        }
                        let at = slot as usize;
                        out.push(RunHit {
                            id: self.ids[at],
                            query: i - left..i + right,
                            unit_start: p - left,
                            points,
                            time_ms: self.time_of[at],
                        });
                    }
                }
            }
        }
    }

    /// Calls `f` with every live unit's id and words (Arabic, English), one
    /// in `every`, until it returns false.
    pub(super) fn each_pair(&self, every: usize, seen: &mut usize, f: &mut PairVisitor<'_>) -> bool {
        let (arabic, english) = (self.side(Lang::Arabic).names(), self.side(Lang::English).names());
        let (mut ar, mut en) = (Vec::new(), Vec::new());
        for slot in 0..self.slots() as u32 {
            if self.is_deleted(slot) {
                continue;
            }
            *seen += 1;
            if (*seen - 1) % every != 0 {
                continue;
            }
            ar.clear();
            ar.extend(arabic.words(slot).map(|(surface, key)| Word { surface, key }));
            en.clear();
            en.extend(english.words(slot).map(|(surface, key)| Word { surface, key }));
            if !f(self.ids[slot as usize], &ar, &en) {
                return false;
            }
        }
        true
    }
}
