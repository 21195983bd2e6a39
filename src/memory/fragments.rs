//! Sub-segment matches: stored units whose whole source is a run of the
//! query's words (see ARCHITECTURE.md, "Sub-segment matches").
//!
//! A [`Fragment`] says which words of the query it covers and which part of
//! the unit's source and target: for a sub-segment match, the whole of
//! both. Fragments inside units (aligned spans, issue 19 part 2) are meant
//! to be a second [`FragmentKind`] with the same fields.

use std::ops::Range;

use super::lookup::{Lookup, MIN_SINGLE_WORD_CHARS, SEVERAL_TRANSLATIONS_POINTS};
use super::{now_ms, Shared};
use crate::cancel::Cancel;
use crate::error::Result;
use crate::matching::{Scope, SubsegmentHit};
use crate::text::{tokens, Lang, Token};
use crate::unit::Unit;

/// What a fragment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FragmentKind {
    /// A whole stored unit found inside the query (a sub-segment match).
    WholeUnit,
}

/// A piece of the query the memory has a translation for.
#[derive(Debug, Clone, PartialEq)]
pub struct Fragment {
    pub kind: FragmentKind,
    pub unit: Unit,
    /// The query's language (the unit's source side).
    pub lang: Lang,
    /// The query's words it covers (indices into the query's words, as
    /// matching counts them).
    pub query_words: Range<usize>,
    /// The same words in characters (Unicode code points) of the query,
    /// end exclusive.
    pub query_chars: Range<usize>,
    /// The part of the unit's source the fragment is, in characters: the
    /// whole source for [`FragmentKind::WholeUnit`].
    pub source_chars: Range<usize>,
    /// The part of the unit's target that translates it: the whole target
    /// for [`FragmentKind::WholeUnit`].
    pub target_chars: Range<usize>,
    /// Points the lookup's scope takes off the unit (memory penalty,
    /// preferences, age): they rank fragments of one span.
    pub points: u8,
    /// Whether it is in the cover: taken, in rank order, when it overlaps
    /// no fragment taken before it. The cover is what fragment assembly
    /// pastes in.
    pub in_cover: bool,
}

impl Fragment {
    /// The unit's side in the query's language.
    pub fn source(&self) -> &str {
        self.unit.side(self.lang)
    }

    /// The unit's side in the other language.
    pub fn target(&self) -> &str {
        self.unit.side(self.lang.other())
    }

    /// The translation of the covered words: the target's characters
    /// [`Fragment::target_chars`].
    pub fn translation(&self) -> String {
        let r = &self.target_chars;
        self.target().chars().skip(r.start).take(r.end - r.start).collect()
    }
}

/// The order of sub-segment matches: more words first, then earlier in
/// the query, then fewer points off (memory penalty, preferences, age),
/// then the most recently changed, then the highest id. The same for any
/// search that finds the same hits (the brute force of the tests included).
pub fn rank_key(hit: &SubsegmentHit) -> impl Ord {
    (std::cmp::Reverse(hit.len), hit.start, hit.points, std::cmp::Reverse(hit.time_ms), std::cmp::Reverse(hit.id))
}

/// Whether a one-word unit made of `token` can be a sub-segment match.
pub fn single_word_allowed(token: &Token) -> bool {
    token.placeable.is_none() && token.surface.chars().count() >= MIN_SINGLE_WORD_CHARS
}

/// The lookup's sub-segment matches, the `limit` first in [`rank_key`]
/// order, the cover marked.
pub(super) fn find(shared: &Shared, lookup: &Lookup, limit: usize, cancel: &Cancel) -> Result<Vec<Fragment>> {
    let query_tokens = tokens(&lookup.text, lookup.lang);
    if query_tokens.len() < 2 {
        return Ok(Vec::new());
    }
    let mut scope = Scope {
        preferences: lookup.preferences.clone(),
        freshness: lookup.freshness,
        filter: lookup.filter.clone(),
        now_ms: now_ms(),
        unknown: SEVERAL_TRANSLATIONS_POINTS,
        cancel: cancel.clone(),
        ..Scope::default()
    };
    let index = shared.index.load();
    let selection = super::lookup::selection(&index, lookup, &mut scope)?;
    let query = index.encode(&query_tokens, lookup.lang);
    let singles: Vec<bool> = query_tokens.iter().map(single_word_allowed).collect();
    let mut hits = index.subsegments(&query, &singles, &selection);
    cancel.check()?;
    hits.sort_unstable_by_key(rank_key);
    let mut fragments: Vec<Fragment> = Vec::with_capacity(limit.min(hits.len()));
    for hit in hits {
        if fragments.len() == limit {
            break;
        }
        cancel.check()?;
        let Some(unit) = shared.store.get(hit.id)? else { continue }; // deleted since the snapshot
        let span = &query_tokens[hit.start..hit.start + hit.len];
        let source_tokens = tokens(unit.side(lookup.lang), lookup.lang);
        // Changed since the snapshot: no longer these words.
        if source_tokens.len() != span.len() || source_tokens.iter().zip(span).any(|(a, b)| a.surface != b.surface) {
            continue;
        }
        let in_cover = fragments
            .iter()
            .filter(|f| f.in_cover)
            .all(|f| f.query_words.end <= hit.start || hit.start + hit.len <= f.query_words.start);
        let source_chars = 0..unit.side(lookup.lang).chars().count();
        let target_chars = 0..unit.side(lookup.lang.other()).chars().count();
        fragments.push(Fragment {
            kind: FragmentKind::WholeUnit,
            lang: lookup.lang,
            query_words: hit.start..hit.start + hit.len,
            query_chars: span[0].chars.start..span[span.len() - 1].chars.end,
            source_chars,
            target_chars,
            points: hit.points,
            in_cover,
            unit,
        });
    }
    Ok(fragments)
}

/// How many of the query's words the cover's fragments cover.
pub fn covered_words(fragments: &[Fragment]) -> usize {
    fragments.iter().filter(|f| f.in_cover).map(|f| f.query_words.len()).sum()
}

/// Fragment assembly: `text` with the characters of each fragment of the
/// cover replaced by its translation (the rest as written). `None` when
/// the cover is empty.
pub fn assemble(text: &str, fragments: &[Fragment]) -> Option<String> {
    let mut cover: Vec<(Range<usize>, String)> =
        fragments.iter().filter(|f| f.in_cover).map(|f| (f.query_chars.clone(), f.translation())).collect();
    assemble_spans(text, &mut cover)
}

/// [`assemble`] from (character range, translation) pairs that do not
/// overlap.
pub fn assemble_spans(text: &str, cover: &mut [(Range<usize>, String)]) -> Option<String> {
    if cover.is_empty() {
        return None;
    }
    cover.sort_by_key(|(r, _)| r.start);
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (range, translation) in cover.iter() {
        if range.start < at || range.end > chars.len() {
            continue; // overlapping or out of the text: not a cover
        }
        out.extend(&chars[at..range.start]);
        out.push_str(translation);
        at = range.end;
    }
    out.extend(&chars[at..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::{LookupRequest, TranslationMemory};
    use crate::unit::UnitInput;

    #[test]
    fn assembly_replaces_the_cover_and_keeps_the_rest_as_written() {
        let mut cover = vec![(9..13, "X".to_owned()), (0..3, "ثلاث".to_owned())];
        assert_eq!(assemble_spans("abc def, ghij kl", &mut cover).as_deref(), Some("ثلاث def, X kl"));
        // Overlapping or out-of-text spans are not pasted.
        let mut bad = vec![(0..5, "A".to_owned()), (3..8, "B".to_owned()), (10..99, "C".to_owned())];
        assert_eq!(assemble_spans("0123456789ab", &mut bad).as_deref(), Some("A56789ab"));
        assert_eq!(assemble_spans("text", &mut []), None);
    }

    /// Arabic with diacritics, a hamza spelled differently and a clitic:
    /// the run must be the unit's words after normalization, not its stems.
    #[test]
    fn runs_match_normalized_surfaces_not_stems() {
        let tm = TranslationMemory::in_memory();
        tm.add_units(vec![
            UnitInput {
                arabic: "الشركة الصينية".into(), english: "the Chinese company".into(), ..Default::default()
            },
            UnitInput {
                arabic: "أعلنت اليوم".into(), english: "announced today".into(), ..Default::default()
            },
            UnitInput { arabic: "ب".into(), english: "b".into(), ..Default::default() },
            UnitInput { arabic: "تينسنت".into(), english: "Tencent".into(), ..Default::default() },
        ])
        .unwrap();
        let find = |text: &str| {
            let request =
                LookupRequest { text: text.into(), source_lang: "ar".into(), subsegments: true, ..Default::default() };
            tm.lookup_with_fragments(request)
                .unwrap()
                .fragments
                .into_iter()
                .map(|f| (f.query_words.clone(), f.target().to_owned(), f.in_cover))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            find("اعلنت اليوم الشرِكة الصينية تينسنت عن نموذج"),
            [
                (0..2, "announced today".to_owned(), true),
                (2..4, "the Chinese company".to_owned(), true),
                (4..5, "Tencent".to_owned(), true),
            ]
        );
        // A clitic more (والشركة) is another surface: no run.
        assert_eq!(find("أعلنت اليوم والشركة الصينية ب"), [(0..2, "announced today".to_owned(), true)]);
    }
}
