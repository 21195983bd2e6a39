//! The score function: one place, whatever found the candidate.
//!
//! With `c` the weighted word-edit cost of the alignment (see
//! [`super::align`]: 1 per substituted, inserted or deleted word, ½ per
//! morphological variant), `p` the placeables substituted, and `n`, `m` the
//! words of query and source:
//!
//! - 100: identical source text.
//! - 95–99: identical normalized words (`c = 0`, `p = 0`); one point per kind
//!   of [`Difference`](crate::text::Difference), at least one, at most five.
//! - otherwise `⌊100 × (1 − c / max(n, m))⌋ − 2p`, and when `c = 0` also the
//!   normalization points of the words that are not placeables. Rounding down
//!   means a non-identical pair never reaches 100.
//!
//! The index filters with the word distance over keys (stems and placeable
//! kinds), `d`: since `c ≥ d`, [`upper_bound`]`(d)` is never below the score.

use super::align::{Cost, WORD_EDIT};

/// Most points taken off for normalization-level differences.
pub const MAX_NORMALIZATION_PENALTY: u8 = 5;

/// Points per placeable substituted by another of its kind.
pub const PLACEABLE_POINTS: u8 = 2;

/// A named reason a score is lower.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Penalty {
    pub kind: String,
    pub points: u8,
    pub reason: String,
}

/// Word-level Levenshtein distance over word ids (strsim, the reference).
pub fn word_distance(a: &[u32], b: &[u32]) -> usize {
    strsim::generic_levenshtein(&Words(a), &Words(b))
}

/// A word-id slice that strsim can iterate (it wants `&T: IntoIterator` for a
/// sized `T`).
struct Words<'a>(&'a [u32]);

impl<'a> IntoIterator for &Words<'a> {
    type Item = &'a u32;
    type IntoIter = std::slice::Iter<'a, u32>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// `100 × (1 − d / max(n, m))`, rounded down, in exact integer arithmetic:
/// the definition the index's filters are checked against.
#[cfg(test)]
pub fn fuzzy_score(distance: usize, query_words: usize, source_words: usize) -> u8 {
    word_score(distance as u32 * WORD_EDIT, query_words, source_words)
}

/// `100 × (1 − c / max(n, m))` for a cost `c` in tenths of a word, rounded
/// down.
pub fn word_score(tenths: u32, query_words: usize, source_words: usize) -> u8 {
    let longest = query_words.max(source_words) as u64 * u64::from(WORD_EDIT);
    if longest == 0 {
        return 100;
    }
    let kept = longest.saturating_sub(u64::from(tenths));
    (100 * kept / longest) as u8
}

/// The highest score a pair at this distance over keys can get: the final
/// score never exceeds it, so a candidate below `min_score` here can be
/// dropped without aligning it. (The index applies it in its inverse form,
/// `d ≤ ⌊max(n,m)·(100−s)/100⌋`.)
#[cfg(test)]
pub fn upper_bound(key_distance: usize, query_words: usize, source_words: usize) -> u8 {
    if key_distance == 0 {
        100
    } else {
        fuzzy_score(key_distance, query_words, source_words)
    }
}

/// The score before normalization points: exact when `c > 0`, and at most
/// [`MAX_NORMALIZATION_PENALTY`] above the score when `c = 0`.
pub fn unnormalized(cost: Cost, query_words: usize, source_words: usize) -> u8 {
    let placeables = cost.placeables.min(100) as u8;
    word_score(cost.tenths, query_words, source_words).saturating_sub(PLACEABLE_POINTS.saturating_mul(placeables))
}

/// A score the pair is sure to reach, whatever its normalization points.
pub fn guaranteed(cost: Cost, query_words: usize, source_words: usize) -> u8 {
    let score = unnormalized(cost, query_words, source_words);
    if cost.tenths == 0 {
        score.saturating_sub(MAX_NORMALIZATION_PENALTY)
    } else {
        score
    }
}

/// Character-level similarity (0–1) of two normalized texts: the tie-break
/// between equal scores.
pub fn similarity(query_key: &str, source_key: &str) -> f64 {
    strsim::normalized_levenshtein(query_key, source_key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuzzy_score_rounds_down_and_never_reaches_100() {
        assert_eq!(fuzzy_score(0, 4, 4), 100);
        assert_eq!(fuzzy_score(1, 4, 4), 75);
        assert_eq!(fuzzy_score(1, 3, 3), 66);
        assert_eq!(fuzzy_score(1, 200, 200), 99);
        assert_eq!(fuzzy_score(5, 2, 5), 0);
        for n in 1..300 {
            assert!(fuzzy_score(1, n, n) < 100);
        }
    }

    #[test]
    fn a_variant_costs_half_a_word_and_a_placeable_two_points() {
        assert_eq!(word_score(5, 4, 4), 87);
        assert_eq!(word_score(10, 4, 4), 75);
        assert_eq!(unnormalized(Cost { tenths: 0, placeables: 1 }, 4, 4), 98);
        assert_eq!(unnormalized(Cost { tenths: 10, placeables: 1 }, 4, 4), 73);
        assert_eq!(guaranteed(Cost { tenths: 0, placeables: 1 }, 4, 4), 93);
        assert_eq!(guaranteed(Cost { tenths: 10, placeables: 0 }, 4, 4), 75);
    }

    #[test]
    fn the_upper_bound_is_never_below_the_score() {
        for n in 1..30 {
            for m in 1..30 {
                for d in 0..30u32 {
                    // A cost at least d words.
                    for extra in [0, 5, 10, 15] {
                        let cost = Cost { tenths: d * WORD_EDIT + extra, placeables: extra % 2 };
                        assert!(unnormalized(cost, n, m) <= upper_bound(d as usize, n, m));
                    }
                }
            }
        }
    }
}
