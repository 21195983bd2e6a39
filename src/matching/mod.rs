//! Matching: the weighted word alignment, the score function, explanations
//! with repaired targets, and the in-memory index that finds candidates.

pub mod align;
mod explain;
mod index;
mod score;

pub use align::Cost;
pub use explain::{edit_cost_words, explain, explain_tokens, Edit, EditKind, Explanation, Warning};
pub use index::{Analyzed, Candidate, Index, Query, UNKNOWN_WORD};
pub use score::{
    fuzzy_score, guaranteed, similarity, unnormalized, upper_bound, word_distance, word_score, Penalty,
    MIN_NORMALIZED_SCORE, PLACEABLE_POINTS,
};
