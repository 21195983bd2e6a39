//! Sub-segment matches: stored units whose whole source is a run of the
//! query's words (see ARCHITECTURE.md, "Sub-segment matches").
//!
//! A [`Fragment`] says which words of the query it covers and which part of
//! the unit's source and target: for a sub-segment match, the whole of
//! both; for a fragment inside a unit ([`FragmentKind::Aligned`], see
//! ARCHITECTURE.md, "Fragments inside units"), a run of the unit's source
//! words and the target words the word alignment links them to.

use std::collections::HashMap;
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
    /// A run of words inside a stored unit, translated by the part of its
    /// target the unit's word alignment links them to.
    Aligned,
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
    /// The unit's source words and target words it is (indices into the
    /// words of each side, as matching counts them).
    pub source_words: Range<usize>,
    pub target_words: Range<usize>,
    /// How much the translation can be trusted, 0–100: 100 for a whole
    /// unit; for an aligned fragment, see [`find_aligned`].
    pub confidence: u8,
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

/// The index snapshot a fragment search reads, the lookup's selection of
/// it (memories, filter, preferences, age) and the query encoded for it.
fn searched(
    shared: &Shared,
    lookup: &Lookup,
    query_tokens: &[Token],
    cancel: &Cancel,
) -> Result<(std::sync::Arc<crate::matching::Index>, crate::matching::Selection, crate::matching::Query)> {
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
    let query = index.encode(query_tokens, lookup.lang);
    Ok((index, selection, query))
}

/// The lookup's sub-segment matches, the `limit` first in [`rank_key`]
/// order, the cover marked.
pub(super) fn find(shared: &Shared, lookup: &Lookup, limit: usize, cancel: &Cancel) -> Result<Vec<Fragment>> {
    let query_tokens = tokens(&lookup.text, lookup.lang);
    if query_tokens.len() < 2 {
        return Ok(Vec::new());
    }
    let (index, selection, query) = searched(shared, lookup, &query_tokens, cancel)?;
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
        let target_words = 0..tokens(unit.side(lookup.lang.other()), lookup.lang.other()).len();
        fragments.push(Fragment {
            source_words: 0..source_tokens.len(),
            target_words,
            confidence: 100,
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

/// Least confidence of a fragment inside a unit, unless the lookup says
/// otherwise.
pub const DEFAULT_MIN_CONFIDENCE: u8 = 40;
/// Occurrences of a run read to choose and weigh its translation.
pub const MAX_RUN_OCCURRENCES: usize = 32;
/// Spans of the query judged per lookup, at most.
const MAX_SPANS_JUDGED: usize = 96;

/// A stored unit as fragments inside units read it.
struct Read {
    unit: Unit,
    source: Vec<Token>,
    target: Vec<Token>,
    links: Option<crate::wordalign::Links>,
}

/// One translation of a span, from the units that agree on it.
struct Vote {
    /// Its words (normalized surfaces).
    translation: String,
    /// Sum over those units of (share of the span linked) × (1 + link
    /// strength) / 2: what the translation is chosen by.
    weight: f32,
    units: usize,
    /// Sum of the mean link strengths.
    strength: f32,
    /// The first (preferred) unit giving it, and where.
    id: crate::unit::UnitId,
    points: u8,
    source_words: Range<usize>,
    target_words: Range<usize>,
}

impl Vote {
    /// `100 × √(units agreeing / units read) × mean link strength ×
    /// √(min(span words, 4) / 4) × units / (units + ½)`: agreement, the
    /// model's belief in the words' translations, longer spans and more
    /// evidence each count. The form was chosen on the held-out news
    /// sentences of `dhakira fragment-recall` (README.md).
    fn confidence(&self, read: usize, span: usize) -> u8 {
        let units = self.units as f32;
        let agreement = (units / read.max(1) as f32).sqrt();
        let strength = self.strength / units;
        let length = (span.min(4) as f32 / 4.0).sqrt();
        let evidence = units / (units + 0.5);
        (100.0 * agreement * strength * length * evidence).round().clamp(0.0, 100.0) as u8
    }
}

/// Fragments inside units: the query's words that [`Index::runs`] finds in
/// a row inside stored units, outside `taken`'s cover (the sub-segment
/// matches'), translated through the units' word alignments.
///
/// Spans are judged longest first, then from the start of the query.
/// For a span, up to [`MAX_RUN_OCCURRENCES`] units holding it are read
/// (fewest points first, then the most recently changed): each gives the
/// target words its alignment links the span to (see
/// [`crate::wordalign::Links::phrase`]). The translation with the most
/// weight (share of the span's words linked, and the links' strength)
/// wins; its confidence is [`Vote::confidence`]. A span whose best
/// translation reaches `min_confidence` is taken and its words covered; a
/// span that does not is judged again without its last word and without
/// its first. A span that overlaps a taken one is judged again as its
/// longest uncovered part. Single words qualify as in
/// [`single_word_allowed`].
///
/// [`Index::runs`]: crate::matching::Index::runs
pub(super) fn find_aligned(
    shared: &Shared,
    lookup: &Lookup,
    taken: &[Fragment],
    min_confidence: u8,
    cancel: &Cancel,
) -> Result<Vec<Fragment>> {
    let query_tokens = tokens(&lookup.text, lookup.lang);
    let n = query_tokens.len();
    if n == 0 || shared.aligner.model().is_none() {
        return Ok(Vec::new());
    }
    let mut covered = vec![false; n];
    for f in taken.iter().filter(|f| f.in_cover) {
        covered[f.query_words.clone()].iter_mut().for_each(|c| *c = true);
    }
    let (index, selection, query) = searched(shared, lookup, &query_tokens, cancel)?;
    let mut hits = index.runs(&query, &selection);
    drop(index);
    cancel.check()?;
    // The preferred occurrences first.
    hits.sort_unstable_by_key(|h| (h.points, std::cmp::Reverse(h.time_ms), std::cmp::Reverse(h.id)));
    let allowed =
        |span: &Range<usize>| span.len() >= 2 || (span.len() == 1 && single_word_allowed(&query_tokens[span.start]));
    // Spans to judge: longest first, then earliest.
    let mut queue: std::collections::BTreeSet<(std::cmp::Reverse<usize>, usize)> = std::collections::BTreeSet::new();
    let mut seen: std::collections::HashSet<(usize, usize)> = std::collections::HashSet::new();
    let mut push = |queue: &mut std::collections::BTreeSet<_>, span: Range<usize>| {
        if allowed(&span) && seen.insert((span.start, span.end)) {
            queue.insert((std::cmp::Reverse(span.len()), span.start));
        }
    };
    for hit in &hits {
        push(&mut queue, hit.query.clone());
    }
    let mut reads: HashMap<crate::unit::UnitId, Option<Read>> = HashMap::new();
    let mut found = Vec::new();
    let mut judged = 0;
    while let Some((std::cmp::Reverse(len), start)) = queue.pop_first() {
        let span = start..start + len;
        if covered[span.clone()].iter().any(|&c| c) {
            // Its longest uncovered part, if any.
            let mut best: Option<Range<usize>> = None;
            let mut at = span.start;
            while at < span.end {
                if covered[at] {
                    at += 1;
                    continue;
                }
                let from = at;
                while at < span.end && !covered[at] {
                    at += 1;
                }
                if best.as_ref().is_none_or(|b| at - from > b.len()) {
                    best = Some(from..at);
                }
            }
            if let Some(part) = best {
                push(&mut queue, part);
            }
            continue;
        }
        if judged == MAX_SPANS_JUDGED {
            break;
        }
        judged += 1;
        cancel.check()?;
        let occurrences: Vec<_> = hits
            .iter()
            .filter(|h| h.query.start <= span.start && span.end <= h.query.end)
            .take(MAX_RUN_OCCURRENCES)
            .collect();
        let mut votes: Vec<Vote> = Vec::new();
        let mut read = 0;
        for hit in &occurrences {
            let entry = reads.entry(hit.id).or_insert_with(|| {
                let unit = shared.store.get(hit.id).ok().flatten()?;
                let source = tokens(unit.side(lookup.lang), lookup.lang);
                let target = tokens(unit.side(lookup.lang.other()), lookup.lang.other());
                let links = {
                    let (ar, en) = match lookup.lang {
                        Lang::Arabic => (&source, &target),
                        Lang::English => (&target, &source),
                    };
                    shared.aligner.links(unit.id, &super::aligner::words(ar), &super::aligner::words(en))
                };
                Some(Read { unit, source, target, links })
            });
            let Some(read_unit) = entry.as_ref() else { continue }; // deleted since the snapshot
            let from = hit.unit_start + (span.start - hit.query.start);
            let source_span = from..from + span.len();
            // Changed since the snapshot: no longer these words.
            if source_span.end > read_unit.source.len()
                || read_unit.source[source_span.clone()].iter().zip(&query_tokens[span.clone()]).any(|(a, b)| {
                    if a.placeable.is_some() || b.placeable.is_some() {
                        a.surface != b.surface
                    } else {
                        a.key != b.key
                    }
                })
            {
                continue;
            }
            read += 1;
            let Some(links) = read_unit.links.as_ref() else { continue };
            let Some(phrase) = links.phrase(lookup.lang, source_span.clone()) else { continue };
            let translation: Vec<&str> =
                read_unit.target[phrase.target.clone()].iter().map(|t| t.surface.as_str()).collect();
            let translation = translation.join(" ");
            let weight = phrase.linked * (0.5 + 0.5 * phrase.strength);
            match votes.iter_mut().find(|v| v.translation == translation) {
                Some(vote) => {
                    vote.weight += weight;
                    vote.units += 1;
                    vote.strength += phrase.strength;
                }
                None => votes.push(Vote {
                    translation,
                    weight,
                    units: 1,
                    strength: phrase.strength,
                    id: hit.id,
                    points: hit.points,
                    source_words: source_span,
                    target_words: phrase.target,
                }),
            }
        }
        let best = votes.into_iter().fold(None::<Vote>, |best, v| match best {
            Some(b) if b.weight >= v.weight => Some(b),
            _ => Some(v),
        });
        let confidence = best.as_ref().map_or(0, |b| b.confidence(read, span.len()));
        let Some(Vote { id, points, source_words, target_words, .. }) = best.filter(|_| confidence >= min_confidence)
        else {
            if span.len() > 1 {
                push(&mut queue, span.start..span.end - 1);
                push(&mut queue, span.start + 1..span.end);
            }
            continue;
        };
        let Some(Some(read_unit)) = reads.get(&id) else { continue };
        covered[span.clone()].iter_mut().for_each(|c| *c = true);
        let chars = |t: &[Token], r: &Range<usize>| t[r.start].chars.start..t[r.end - 1].chars.end;
        found.push(Fragment {
            kind: FragmentKind::Aligned,
            unit: read_unit.unit.clone(),
            lang: lookup.lang,
            query_words: span.clone(),
            query_chars: chars(&query_tokens, &span),
            source_chars: chars(&read_unit.source, &source_words),
            target_chars: chars(&read_unit.target, &target_words),
            points,
            in_cover: true,
            source_words,
            target_words,
            confidence,
        });
    }
    found.sort_by_key(|f| f.query_words.start);
    Ok(found)
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
    use crate::memory::{AlignmentStatus, LookupRequest, TranslationMemory};
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

    fn ntrex(range: std::ops::Range<usize>) -> Vec<UnitInput> {
        let pairs = crate::test_corpus::read_pairs(&crate::test_corpus::corpus_dir().join("ntrex128.tsv")).unwrap();
        pairs[range]
            .iter()
            .map(|(arabic, english)| UnitInput {
                arabic: arabic.clone(),
                english: english.clone(),
                ..Default::default()
            })
            .collect()
    }

    /// Whether two words are the same for runs: by key, placeables by value.
    fn same(a: &Token, b: &Token) -> bool {
        if a.placeable.is_some() || b.placeable.is_some() {
            a.surface == b.surface
        } else {
            a.key == b.key
        }
    }

    /// `Index::runs` against a brute force over every unit and every pair
    /// of positions: the maximal runs holding a word that is not a
    /// placeable (with 600 units every such word is an anchor).
    #[test]
    fn runs_equal_a_brute_force_over_every_unit() {
        let tm = TranslationMemory::in_memory();
        tm.add_units(ntrex(0..600)).unwrap();
        let units: Vec<Unit> = (1..=600).map(|id| tm.get_unit(id).unwrap()).collect();
        assert_eq!(units.len(), 600);
        let index = tm.shared.index.load();
        let selection = index.selection(&Scope::default());
        let queries: Vec<UnitInput> = ntrex(600..760);
        let mut total = 0;
        for (q, lang) in queries.iter().flat_map(|u| [(&u.english, Lang::English), (&u.arabic, Lang::Arabic)]) {
            let query = tokens(q, lang);
            let mut found: Vec<(u64, usize, usize, usize)> = index
                .runs(&index.encode(&query, lang), &selection)
                .into_iter()
                .map(|h| (h.id, h.query.start, h.query.end, h.unit_start))
                .collect();
            found.sort_unstable();
            let mut expected = Vec::new();
            for unit in &units {
                let words = tokens(unit.side(lang), lang);
                for i in 0..query.len() {
                    for p in 0..words.len() {
                        if !same(&query[i], &words[p]) || (i > 0 && p > 0 && same(&query[i - 1], &words[p - 1])) {
                            continue;
                        }
                        let mut len = 1;
                        while i + len < query.len() && p + len < words.len() && same(&query[i + len], &words[p + len]) {
                            len += 1;
                        }
                        if query[i..i + len].iter().any(|t| t.placeable.is_none()) {
                            expected.push((unit.id, i, i + len, p));
                        }
                    }
                }
            }
            expected.sort_unstable();
            assert_eq!(found, expected, "{q}");
            total += found.len();
        }
        assert!(total > 10_000, "{total} runs only");
    }

    /// Fragments inside units say which words they are, on both sides, and
    /// the unit's words are the query's; confidences respect the threshold;
    /// validation names the fields.
    #[test]
    fn aligned_fragments_name_their_words_and_respect_the_threshold() {
        let tm = TranslationMemory::in_memory();
        tm.add_units(ntrex(0..1200)).unwrap();
        let status = tm.train_alignment();
        assert_eq!(status.memory_units, 1200);
        assert!(status.trained_units > 1100 && status.model_entries > 10_000, "{status:?}");
        assert_eq!(status.aligned_units, 1200);
        let mut counts = [0usize; 2];
        for (n, threshold) in [0u32, 40, 70].into_iter().enumerate() {
            for unit in ntrex(1200..1377) {
                for (text, lang) in [(&unit.english, Lang::English), (&unit.arabic, Lang::Arabic)] {
                    let request = LookupRequest {
                        text: text.clone(),
                        source_lang: lang.code().into(),
                        aligned_fragments: true,
                        min_fragment_confidence: Some(threshold),
                        ..Default::default()
                    };
                    let result = tm.lookup_with_fragments(request).unwrap();
                    let query = tokens(text, lang);
                    let mut covered = vec![false; query.len()];
                    for f in result.fragments.iter().filter(|f| f.in_cover) {
                        for c in &mut covered[f.query_words.clone()] {
                            assert!(!*c, "the cover overlaps: {text}");
                            *c = true;
                        }
                    }
                    for f in result.fragments.iter().filter(|f| f.kind == FragmentKind::Aligned) {
                        if n < 2 {
                            counts[n] += 1;
                        }
                        assert!(f.in_cover && u32::from(f.confidence) >= threshold && f.confidence <= 100);
                        let source = tokens(f.source(), lang);
                        let target = tokens(f.target(), lang.other());
                        assert_eq!(f.source_words.len(), f.query_words.len());
                        for (a, b) in source[f.source_words.clone()].iter().zip(&query[f.query_words.clone()]) {
                            assert!(same(a, b), "{a:?} / {b:?}");
                        }
                        let chars = |t: &[Token], r: &Range<usize>| t[r.start].chars.start..t[r.end - 1].chars.end;
                        assert_eq!(f.query_chars, chars(&query, &f.query_words));
                        assert_eq!(f.source_chars, chars(&source, &f.source_words));
                        assert!(f.target_words.end <= target.len() && !f.target_words.is_empty());
                        assert_eq!(f.target_chars, chars(&target, &f.target_words));
                        assert!(f.query_words.len() >= 2 || single_word_allowed(&query[f.query_words.start]));
                    }
                }
            }
        }
        // Fewer at a higher threshold, and some at each.
        assert!(counts[0] > counts[1] && counts[1] > 50, "{counts:?}");
        let base = || LookupRequest { text: "the company".into(), source_lang: "en".into(), ..Default::default() };
        for (request, message) in [
            (LookupRequest { min_fragment_confidence: Some(50), ..base() }, "min_fragment_confidence: is set but"),
            (
                LookupRequest { aligned_fragments: true, min_fragment_confidence: Some(101), ..base() },
                "min_fragment_confidence: is 101",
            ),
        ] {
            let err = tm.lookup_with_fragments(request).unwrap_err().to_string();
            assert!(err.contains(message), "{err}");
        }
    }

    /// The engine's thread trains when units arrive, aligns the units added
    /// later without training again, and a changed unit is aligned anew.
    #[test]
    fn the_aligner_thread_trains_then_aligns_new_units() {
        let tm = TranslationMemory::in_memory();
        tm.add_units(ntrex(0..300)).unwrap();
        let wait = |done: &dyn Fn(&AlignmentStatus) -> bool| {
            let started = std::time::Instant::now();
            loop {
                let status = tm.alignment();
                if done(&status) {
                    return status;
                }
                assert!(started.elapsed() < std::time::Duration::from_secs(60), "{status:?}");
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        };
        let first = wait(&|s| s.trainings == 1 && s.aligned_units == 300);
        assert_eq!(first.memory_units, 300);
        tm.add_units(ntrex(300..320)).unwrap();
        let later = wait(&|s| s.aligned_units == 320);
        assert_eq!(later.trainings, 1, "20 more units do not train again");
        // The stored alignment of unit 1 is used only for its words.
        let unit = tm.get_unit(1).unwrap();
        let (ar, en) = (tokens(&unit.arabic, Lang::Arabic), tokens(&unit.english, Lang::English));
        let stored = tm.shared.aligner.links(1, &super::super::aligner::words(&ar), &super::super::aligner::words(&en));
        assert!(stored.is_some_and(|l| !l.links.is_empty()));
        let other = tokens("كلمة واحدة", Lang::Arabic);
        let fresh =
            tm.shared.aligner.links(1, &super::super::aligner::words(&other), &super::super::aligner::words(&en));
        assert!(fresh.is_some_and(|l| l.links.iter().all(|l| l.arabic < 2)));
    }
}
