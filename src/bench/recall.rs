//! How good fragments inside units are: precision and coverage on unseen
//! news sentences (`dhakira fragment-recall`, see README.md, "Fragments
//! inside units").
//!
//! The memory is the corpus without the held-out news documents of
//! [`super::document_split`]; each held-out sentence is looked up (in one
//! language, then the other) with `aligned_fragments` at each confidence
//! threshold. A returned target fragment is right when every one of its
//! words occurs in the sentence's reference translation: by key (Arabic
//! light stem with its clitics split off, English stem, placeables by
//! value), the way matching compares words, and by normalized surface
//! (stricter: والشركة is not الشركة). Coverage is the share of the
//! sentences' words the fragments cover.

use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::{document_split_fold, quantile_ms, DocumentSplit, Workload};
use crate::error::Result;
use crate::memory::{FragmentKind, LookupRequest, TranslationMemory};
use crate::text::{tokens, Lang, Token};
use crate::unit::UnitInput;

/// What to measure.
#[derive(Debug, Clone)]
pub struct RecallSettings {
    /// Grow the memory to this many units (edits of the memory's pairs, as
    /// `dhakira bench` grows it) to time training at scale; `None`: the
    /// split's memory as it is.
    pub units: Option<usize>,
    /// At most this many held-out sentences per language (`None`: all).
    pub queries: Option<usize>,
    pub thresholds: Vec<u8>,
    pub langs: Vec<Lang>,
    pub seed: u64,
    /// Which block of five documents is held out (see
    /// [`super::document_split_fold`]); 4 is [`super::document_split`].
    pub fold: usize,
}

/// One threshold's figures for one query language.
#[derive(Debug, Clone, Serialize)]
pub struct RecallRow {
    pub lang: &'static str,
    pub min_confidence: u8,
    /// Aligned fragments returned, and those whose words all occur in the
    /// reference (by key; by normalized surface).
    pub fragments: usize,
    pub right_by_key: usize,
    pub right_by_surface: usize,
    pub precision_by_key: f64,
    pub precision_by_surface: f64,
    /// Share of the queries' words covered by aligned fragments, and by
    /// aligned fragments and sub-segment matches together.
    pub coverage: f64,
    pub coverage_with_subsegments: f64,
    /// Precision (by key) of every fragment of the cover, sub-segment
    /// matches included.
    pub precision_with_subsegments: f64,
    pub lookup_p50_ms: f64,
    pub lookup_p99_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RecallReport {
    pub memory_units: usize,
    pub queries_per_lang: usize,
    pub query_words: Vec<(&'static str, usize)>,
    pub trained_units: usize,
    pub model_entries: usize,
    pub training_s: f64,
    pub aligning_s: f64,
    /// Peak RSS of the process before training and after it.
    pub peak_rss_before_training_mb: f64,
    pub peak_rss_after_training_mb: f64,
    pub rows: Vec<RecallRow>,
}

/// Whether every word of `fragment` occurs among `reference`'s words, by
/// key (placeables by surface) or by surface.
fn occurs(fragment: &[Token], reference: &[Token], by_key: bool) -> bool {
    fragment.iter().all(|w| {
        reference.iter().any(|r| {
            if by_key && w.placeable.is_none() && r.placeable.is_none() {
                r.key == w.key
            } else {
                r.surface == w.surface
            }
        })
    })
}

/// Builds the memory, trains the alignment, and measures.
pub fn run(corpus: &Path, settings: &RecallSettings, progress: &dyn Fn(&str)) -> Result<RecallReport> {
    let DocumentSplit { memory, unseen } = document_split_fold(corpus, settings.fold)?;
    let units: Vec<UnitInput> = match settings.units {
        Some(n) => Workload::new(memory, settings.seed).units(n),
        None => {
            memory.into_iter().map(|(arabic, english)| UnitInput { arabic, english, ..Default::default() }).collect()
        }
    };
    progress(&format!("adding {} units", units.len()));
    let tm = TranslationMemory::in_memory();
    let mut rest = units;
    while !rest.is_empty() {
        let batch: Vec<UnitInput> = rest.drain(..rest.len().min(10_000)).collect();
        tm.add_units(batch)?;
    }
    let memory_units = tm.stats().total_units as usize;
    let peak_rss_before_training_mb = super::peak_rss_mb();
    progress("training the word alignment model");
    let status = tm.train_alignment();
    let peak_rss_after_training_mb = super::peak_rss_mb();
    let queries: Vec<&(String, String)> = unseen.iter().take(settings.queries.unwrap_or(usize::MAX)).collect();
    let mut rows = Vec::new();
    let mut query_words = Vec::new();
    for &lang in &settings.langs {
        let side = |pair: &(String, String), lang: Lang| -> String {
            match lang {
                Lang::Arabic => pair.0.clone(),
                Lang::English => pair.1.clone(),
            }
        };
        let words: usize = queries.iter().map(|p| tokens(&side(p, lang), lang).len()).sum();
        // Each reference translation's words, once for every threshold.
        let references: Vec<Vec<Token>> =
            queries.iter().map(|p| tokens(&side(p, lang.other()), lang.other())).collect();
        query_words.push((lang.code(), words));
        for &min_confidence in &settings.thresholds {
            progress(&format!("{} queries at confidence {min_confidence}", lang.code()));
            let (mut fragments, mut right_key, mut right_surface, mut covered, mut covered_all) = (0, 0, 0, 0, 0);
            let (mut all, mut right_all) = (0, 0);
            let mut times: Vec<Duration> = Vec::with_capacity(queries.len());
            for (pair, reference) in queries.iter().zip(&references) {
                let request = LookupRequest {
                    text: side(pair, lang),
                    source_lang: lang.code().into(),
                    max_results: Some(1),
                    aligned_fragments: true,
                    min_fragment_confidence: Some(min_confidence.into()),
                    max_subsegments: Some(crate::memory::MAX_FRAGMENTS_LIMIT as u32),
                    ..Default::default()
                };
                let started = Instant::now();
                let result = tm.lookup_with_fragments(request)?;
                times.push(started.elapsed());
                for f in result.fragments.iter().filter(|f| f.in_cover) {
                    covered_all += f.query_words.len();
                    let target = tokens(f.target(), lang.other());
                    let words = &target[f.target_words.clone()];
                    all += 1;
                    right_all += usize::from(occurs(words, reference, true));
                    if f.kind != FragmentKind::Aligned {
                        continue;
                    }
                    fragments += 1;
                    covered += f.query_words.len();
                    right_key += usize::from(occurs(words, reference, true));
                    right_surface += usize::from(occurs(words, reference, false));
                }
            }
            times.sort_unstable();
            let share = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
            rows.push(RecallRow {
                lang: lang.code(),
                min_confidence,
                fragments,
                right_by_key: right_key,
                right_by_surface: right_surface,
                precision_by_key: share(right_key, fragments),
                precision_by_surface: share(right_surface, fragments),
                coverage: share(covered, words),
                coverage_with_subsegments: share(covered_all, words),
                precision_with_subsegments: share(right_all, all),
                lookup_p50_ms: quantile_ms(&times, 0.5),
                lookup_p99_ms: quantile_ms(&times, 0.99),
            });
        }
    }
    Ok(RecallReport {
        memory_units,
        queries_per_lang: queries.len(),
        query_words,
        trained_units: status.trained_units,
        model_entries: status.model_entries,
        training_s: status.training.as_secs_f64(),
        aligning_s: status.aligning.as_secs_f64(),
        peak_rss_before_training_mb,
        peak_rss_after_training_mb,
        rows,
    })
}
