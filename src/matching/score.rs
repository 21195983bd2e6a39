//! The score function: one place, whatever found the candidate.
//!
//! - 100: identical source text.
//! - 95–99: identical normalized words; one point per kind of
//!   [`Difference`](crate::text::Difference), at least one, at most five.
//! - below: `100 × (1 − d / max(n, m))` rounded down, where `d` is the
//!   word-level Levenshtein distance between the normalized words of query
//!   and source (n and m words). Rounding down means a non-identical pair
//!   never reaches 100.

use crate::text::differences;

/// Most points taken off for normalization-level differences.
const MAX_NORMALIZATION_PENALTY: u8 = 5;

/// The lowest score of a pair whose normalized words are equal.
pub const MIN_NORMALIZED_SCORE: u8 = 100 - MAX_NORMALIZATION_PENALTY;

/// A named reason a score is lower.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Penalty {
    pub kind: &'static str,
    pub points: u8,
    pub reason: &'static str,
}

/// A scored pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Score {
    pub value: u8,
    /// Word-level edit distance between the normalized texts.
    pub distance: usize,
    pub penalties: Vec<Penalty>,
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

/// `100 × (1 − d / max(n, m))`, rounded down, in exact integer arithmetic.
pub fn fuzzy_score(distance: usize, query_words: usize, source_words: usize) -> u8 {
    let longest = query_words.max(source_words);
    if longest == 0 {
        return 100;
    }
    let kept = longest.saturating_sub(distance);
    (100 * kept / longest) as u8
}

/// The highest score a pair at this word distance can get: the final score
/// never exceeds it, so a candidate below `min_score` here can be dropped
/// without looking at its text.
pub fn upper_bound(distance: usize, query_words: usize, source_words: usize) -> u8 {
    if distance == 0 {
        100
    } else {
        fuzzy_score(distance, query_words, source_words)
    }
}

/// Scores `source` against `query`, given the word distance between their
/// normalized words.
pub fn score_with_distance(
    query: &str,
    source: &str,
    distance: usize,
    query_words: usize,
    source_words: usize,
) -> Score {
    if distance > 0 {
        return Score { value: fuzzy_score(distance, query_words, source_words), distance, penalties: Vec::new() };
    }
    if query == source {
        return Score { value: 100, distance, penalties: Vec::new() };
    }
    let mut penalties: Vec<Penalty> = differences(query, source)
        .into_iter()
        .map(|kind| Penalty { kind: kind.name(), points: 1, reason: kind.reason() })
        .collect();
    if penalties.is_empty() {
        penalties.push(Penalty {
            kind: "other_characters",
            points: 1,
            reason: "differs in characters that do not change the words",
        });
    }
    let total: u8 = penalties.iter().map(|p| p.points).sum();
    Score { value: 100 - total.min(MAX_NORMALIZATION_PENALTY), distance, penalties }
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
    fn identical_text_is_100_and_normalized_equal_is_95_to_99() {
        assert_eq!(score_with_distance("مرحبا", "مرحبا", 0, 1, 1).value, 100);
        let s = score_with_distance("أعلنت الشركة", "اعلنت الشركه", 0, 2, 2);
        assert_eq!(s.value, 98);
        assert_eq!(s.penalties.iter().map(|p| p.kind).collect::<Vec<_>>(), ["alef_hamza", "ta_marbuta"]);
    }

    #[test]
    fn normalization_penalty_is_capped_at_five_points() {
        let q = "\u{200F}أعلنَت الشركة، اليوم ٢٠٢٣ MEta";
        let s = "اعلنت  الشركه اليوم 2023 meta";
        let score = score_with_distance(q, s, 0, 5, 5);
        assert!(score.penalties.len() > 5);
        assert_eq!(score.value, 95);
    }
}
