//! Dhakira (ذاكرة): an Arabic–English translation memory.
//!
//! A [`TranslationMemory`] stores aligned sentence pairs ([`Unit`]s) in named
//! memories and, for a new sentence in either language, returns the stored
//! pairs whose source side is most similar ([`Match`]es), scored by one
//! function whatever found them. See `ARCHITECTURE.md` for the design.

pub mod analysis;
pub mod auth;
/// The benchmark workload and runners (feature `tools`).
#[cfg(feature = "tools")]
pub mod bench;
pub mod cancel;
pub mod error;
pub mod export;
pub mod import;
pub mod matching;
mod memory;
pub mod proto;
pub mod reference;
pub mod sample;
pub mod server;
/// The soak runner (feature `tools`).
#[cfg(feature = "tools")]
pub mod soak;
pub mod store;
pub mod text;
pub mod tmx;
pub mod tsv;
pub mod unit;
pub mod wordalign;

#[cfg(test)]
mod test_corpus;

pub use cancel::Cancel;
pub use error::{Error, Result};
pub use memory::fragments;
pub use memory::{
    Added, AlignmentStatus, Concordance, ConcordanceHit, ConcordanceRequest, Conflict, DuplicatePolicy, Fragment,
    FragmentKind, Incoming, Lookup, LookupRequest, LookupResult, Match, MemoryInfo, Outcome, PreferenceRequest,
    ReplicationStatus, Stats, TranslationMemory, CHANGE_LOG_KEEP, DEFAULT_MAX_FRAGMENTS, DEFAULT_MAX_RESULTS,
    DEFAULT_MAX_SCANS, DEFAULT_MAX_WAIT, DEFAULT_MIN_CONFIDENCE, DEFAULT_MIN_SCORE, FOLLOW_POLL, MAX_FILTER_VALUES,
    MAX_FRAGMENTS_LIMIT, MAX_NAMED_MEMORIES, MAX_PREFERENCES, MAX_RESULTS_LIMIT, MAX_SCORE, MAX_TRAINING_UNITS,
    MAX_UNITS_PER_REQUEST, MIN_SINGLE_WORD_CHARS, RETRAIN_GROWTH, SEVERAL_TRANSLATIONS_POINTS,
};
pub use text::Lang;
pub use unit::{Unit, UnitEdit, UnitId, UnitInput, DEFAULT_MEMORY};
