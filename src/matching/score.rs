//! The score function: one place, whatever found the candidate.
//!
//! With `c` the weighted word-edit cost of the alignment (see
//! [`super::align`]: 1 per substituted, inserted or deleted word, ½ per
//! morphological variant), `p` the placeables substituted, and `n`, `m` the
//! words of query and source:
//!
//! - 100: identical source text.
//! - The placeables that differ are the segment's content when they are
//!   more than half of its words (`2p > max(n, m)`): each then also counts
//!   as a word edit, `c' = c + p`; otherwise `c' = c`.
//! - 95–99: no word edit (`c' = 0`): `100 − 2p`, minus one point per kind
//!   of [`Difference`](crate::text::Difference) (at least one when `p = 0`,
//!   at most five).
//! - otherwise `min(94, ⌊100 × (1 − c' / max(n, m))⌋) − 2p`: a match with
//!   any word edit (a variant included) scores at most 94, so 95–99 means
//!   normalization and named differences only. Rounding down means a
//!   non-identical pair never reaches 100.
//! - Two segments without words (`-`, `...`, `(!)`) compare their
//!   characters instead (see [`symbols`]): the same symbols after
//!   normalization score as above (`c' = 0`), other symbols
//!   `min(94, ⌊100 × (1 − e / max(a, b))⌋)`, `e` the character edit
//!   distance and `a`, `b` the symbol counts.
//!
//! The index filters with the word distance over keys (stems and placeable
//! kinds), `d`: since `c' ≥ c ≥ d` and the cap only lowers a score,
//! [`upper_bound`]`(d)` is never below the score.

use super::align::{Cost, WORD_EDIT};
use crate::text::{fold_word, is_invisible, Folds};

/// Most points taken off for normalization-level differences.
pub const MAX_NORMALIZATION_PENALTY: u8 = 5;

/// Points per placeable substituted by another of its kind.
pub const PLACEABLE_POINTS: u8 = 2;

/// The most a match with any word edit (a variant, or placeables counted as
/// words) can score: 95–99 is left to normalization and named differences.
pub const MAX_EDITED_SCORE: u8 = 94;

/// A named reason a score is lower.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Penalty {
    pub kind: String,
    pub points: u8,
    pub reason: String,
}

/// Word-level Levenshtein distance over word ids (strsim, the reference).
pub fn word_distance(a: &[u32], b: &[u32]) -> usize {
    strsim::generic_levenshtein(&Slice(a), &Slice(b))
}

/// A slice (word ids, chars) that strsim can iterate (it wants
/// `&T: IntoIterator` for a sized `T`).
struct Slice<'a, T>(&'a [T]);

impl<'a, T> IntoIterator for &Slice<'a, T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

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

/// The word cost the score counts, in tenths of a word: the alignment's,
/// plus a whole word per substituted placeable when those are more than
/// half of the longer side's words (then they are the content that
/// changed, not a figure inside it).
pub fn counted_tenths(cost: Cost, query_words: usize, source_words: usize) -> u32 {
    let placeables = u64::from(cost.placeables);
    if 2 * placeables > query_words.max(source_words) as u64 {
        cost.tenths.saturating_add(cost.placeables.saturating_mul(WORD_EDIT))
    } else {
        cost.tenths
    }
}

/// The word score: 100 without word edits, else
/// `min(94, ⌊100 × (1 − c' / max(n, m))⌋)` with `c'` the
/// [`counted_tenths`].
pub fn edited_word_score(cost: Cost, query_words: usize, source_words: usize) -> u8 {
    let tenths = counted_tenths(cost, query_words, source_words);
    let score = word_score(tenths, query_words, source_words);
    if tenths > 0 {
        score.min(MAX_EDITED_SCORE)
    } else {
        score
    }
}

/// The score before normalization points: exact when `c' > 0`, and at most
/// [`MAX_NORMALIZATION_PENALTY`] above the score when `c' = 0`.
pub fn unnormalized(cost: Cost, query_words: usize, source_words: usize) -> u8 {
    let placeables = cost.placeables.min(100) as u8;
    edited_word_score(cost, query_words, source_words).saturating_sub(PLACEABLE_POINTS.saturating_mul(placeables))
}

/// A score the pair is sure to reach, whatever its normalization points.
pub fn guaranteed(cost: Cost, query_words: usize, source_words: usize) -> u8 {
    let score = unnormalized(cost, query_words, source_words);
    if counted_tenths(cost, query_words, source_words) == 0 {
        score.saturating_sub(MAX_NORMALIZATION_PENALTY)
    } else {
        score
    }
}

/// What a segment without words is made of: its visible characters but
/// spaces, folded as words are (presentation forms, tatweel, digits…).
pub fn symbols(text: &str) -> Vec<char> {
    let visible: String = text.chars().filter(|&c| !is_invisible(c) && !c.is_whitespace()).collect();
    fold_word(&visible, Folds::ALL).chars().collect()
}

/// The score of two segments without words whose [`symbols`] differ:
/// `min(94, ⌊100 × (1 − e / max(a, b))⌋)`, `e` the character edit distance.
pub fn symbol_score(query: &[char], source: &[char]) -> u8 {
    let longest = query.len().max(source.len());
    if longest == 0 {
        return 100;
    }
    let distance = strsim::generic_levenshtein(&Slice(query), &Slice(source)).min(longest);
    let score = (100 * (longest - distance) / longest) as u8;
    if distance > 0 {
        score.min(MAX_EDITED_SCORE)
    } else {
        score
    }
}

/// Character-level similarity (0–1) of a normalized query text to
/// normalized source texts, the tie-break between equal scores:
/// `1 − e / max(a, b)`, `e` the character edit distance, `a` and `b` the
/// texts' lengths in characters (1 when both are empty). The query's
/// character table is built once (bit-parallel Levenshtein, rapidfuzz), so
/// each source text costs about `a·b/64` steps instead of `a·b`.
pub struct Similarity {
    query: rapidfuzz::distance::levenshtein::BatchComparator<char>,
    chars: usize,
}

impl Similarity {
    pub fn of(query_key: &str) -> Similarity {
        let query = rapidfuzz::distance::levenshtein::BatchComparator::new(query_key.chars());
        Similarity { query, chars: query_key.chars().count() }
    }

    pub fn to(&self, source_key: &str) -> f64 {
        self.with_distance(source_key.chars().count(), self.query.distance(source_key.chars()))
    }

    /// The most [`Similarity::to`] gives a text of `chars` characters: the
    /// distance is at least the difference in length, and the same
    /// arithmetic on a smaller distance never gives less.
    pub fn most(&self, chars: usize) -> f64 {
        self.with_distance(chars, self.chars.abs_diff(chars))
    }

    /// `1 − distance / max(a, b)` for a text of `chars` characters (1 when
    /// both texts are empty).
    fn with_distance(&self, chars: usize, distance: usize) -> f64 {
        let longest = self.chars.max(chars);
        if longest == 0 {
            return 1.0;
        }
        1.0 - distance as f64 / longest as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The tie-break against strsim's plain Levenshtein, written
        /// independently: the same value to the bit, on Arabic and Latin
        /// texts of any length (the bit-parallel one works in blocks of 64).
        #[test]
        fn similarity_equals_strsim(
            query in "[ a-c\u{0627}-\u{0629}é0-1]{0,150}",
            source in "[ a-c\u{0627}-\u{0629}é0-1]{0,150}",
        ) {
            prop_assert_eq!(Similarity::of(&query).to(&source), strsim::normalized_levenshtein(&query, &source));
        }

        /// The bound from the length alone is never below the similarity,
        /// and equals it when one text is the other with characters added.
        #[test]
        fn similarity_is_at_most_its_bound_from_the_length(
            query in "[ a-c\u{0627}-\u{0629}é0-1]{0,150}",
            source in "[ a-c\u{0627}-\u{0629}é0-1]{0,150}",
        ) {
            let similarity = Similarity::of(&query);
            prop_assert!(similarity.to(&source) <= similarity.most(source.chars().count()));
            let longer = format!("{query}{source}");
            prop_assert_eq!(similarity.to(&longer), similarity.most(longer.chars().count()));
        }
    }

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
                        for placeables in [0, 1, 3, 20] {
                            let cost = Cost { tenths: d * WORD_EDIT + extra, placeables };
                            assert!(unnormalized(cost, n, m) <= upper_bound(d as usize, n, m));
                            assert!(guaranteed(cost, n, m) <= unnormalized(cost, n, m));
                        }
                    }
                }
            }
        }
    }

    /// Issue 14, item 8: 95–99 is never a match with a word edit.
    #[test]
    fn any_word_edit_scores_at_most_94() {
        // One word of 22 replaced: ⌊100 × 21/22⌋ = 95 before the cap.
        assert_eq!(word_score(10, 22, 22), 95);
        assert_eq!(unnormalized(Cost { tenths: 10, placeables: 0 }, 22, 22), 94);
        // A variant in a long sentence is a word edit too.
        assert_eq!(unnormalized(Cost { tenths: 5, placeables: 0 }, 40, 40), 94);
        // The cap comes before the placeable points.
        assert_eq!(unnormalized(Cost { tenths: 10, placeables: 1 }, 100, 100), 92);
        // Shorter sentences keep their word score.
        assert_eq!(unnormalized(Cost { tenths: 5, placeables: 0 }, 9, 9), 94);
        assert_eq!(unnormalized(Cost { tenths: 10, placeables: 0 }, 10, 10), 90);
        for n in 1..500 {
            for tenths in [5, 10, 15] {
                assert!(unnormalized(Cost { tenths, placeables: 0 }, n, n) <= MAX_EDITED_SCORE);
            }
        }
    }

    #[test]
    fn placeables_that_are_most_of_the_segment_count_as_words() {
        // `42` for `22`: the whole segment changed.
        let one = Cost { tenths: 0, placeables: 1 };
        assert_eq!(counted_tenths(one, 1, 1), 10);
        assert_eq!(unnormalized(one, 1, 1), 0);
        // Half of it (`Version 4.0` / `Version 5.0`) or less is a figure
        // in a sentence: 2 points.
        assert_eq!(unnormalized(one, 2, 2), 98);
        assert_eq!(unnormalized(one, 5, 5), 98);
        // Two of three words: ⌊100 × 1/3⌋ − 4.
        assert_eq!(unnormalized(Cost { tenths: 0, placeables: 2 }, 3, 3), 29);
        assert_eq!(guaranteed(one, 1, 1), 0);
        assert_eq!(guaranteed(one, 5, 5), 93);
    }

    #[test]
    fn segments_without_words_compare_their_symbols() {
        assert_eq!(symbols(" - "), ['-']);
        assert_eq!(symbols("…"), ['.', '.', '.']);
        assert_eq!(symbols("\u{200F}ـ!"), ['!']);
        assert_eq!(symbol_score(&symbols("-"), &symbols("&&")), 0);
        assert_eq!(symbol_score(&symbols("-"), &symbols("(!)")), 0);
        assert_eq!(symbol_score(&symbols("!"), &symbols("!!")), 50);
        assert_eq!(symbol_score(&symbols("...."), &symbols("...")), 75);
        assert_eq!(symbol_score(&symbols("..........................."), &symbols("..........................")), 94);
    }
}
