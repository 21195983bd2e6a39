//! Matching: the score function and the in-memory index that finds
//! candidates for it.

mod index;
mod score;

pub use index::{Analyzed, Candidate, Index, UNKNOWN_WORD};
pub use score::{
    fuzzy_score, score_with_distance, similarity, upper_bound, word_distance, Penalty, Score, MIN_NORMALIZED_SCORE,
};
