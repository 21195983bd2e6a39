//! Matching: the weighted word alignment, the score function, explanations
//! with repaired targets, and the in-memory index that finds candidates.

mod align;
mod explain;
mod index;
mod scope;
mod score;

pub use align::Cost;
pub use explain::{edited_score, explain, explain_tokens, Edit, EditKind, Explanation, Warning};
pub use index::{
    Analyzed, AnalyzedChunk, Candidate, ConcordancePage, ConflictGroup, Found, Index, Occurrences, Query, RunHit,
    Selection, Settled, Settling, SubsegmentHit, Tidied, MAX_SUBSEGMENT_WORDS, SEGMENT_SLOTS, UNKNOWN_WORD,
};
pub use scope::{Facet, Freshness, MetadataField, Preference, Scope, UnitFilter};
pub use score::{unnormalized, word_distance, Penalty, Similarity};
