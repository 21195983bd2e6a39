//! Lookups: validated queries, the matches they return, and ranking.

use std::cell::OnceCell;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{now_ms, Shared};
use crate::cancel::Cancel;
use crate::error::{Error, Result};
use crate::matching::{
    edited_score, explain_tokens, unnormalized, Candidate, Explanation, Found, Freshness, MetadataField, Penalty,
    Preference, Scope, Selection, Similarity, UnitFilter,
};
use crate::reference::Reference;
use crate::text::{tokens, words, Lang, Token};
use crate::unit::{check_context, check_metadata, check_segment, memory_name, SideKey, Unit, UnitId, MAX_TIME_MS};

/// Sub-segment matches returned when the request does not say.
pub const DEFAULT_MAX_FRAGMENTS: usize = 20;
/// Most sub-segment matches one lookup may ask for.
pub const MAX_FRAGMENTS_LIMIT: usize = 100;
/// A one-word stored unit is a sub-segment match only when the word is not
/// a placeable and has at least this many characters (normalized): single
/// words shorter than that are function words and abbreviations, which a
/// translator does not want pasted in.
pub const MIN_SINGLE_WORD_CHARS: usize = 5;

/// The CAT-tool convention: matches below 70 % are rarely worth editing.
pub const DEFAULT_MIN_SCORE: u8 = 70;
/// Matches returned when the request does not say.
pub const DEFAULT_MAX_RESULTS: usize = 5;
/// Most matches one lookup may ask for.
pub const MAX_RESULTS_LIMIT: usize = 100;
/// The highest score there is (an in-context exact match).
pub const MAX_SCORE: u8 = 101;

/// Points off a match whose memory holds other translations of the same
/// source.
pub const SEVERAL_TRANSLATIONS_POINTS: u8 = 1;

/// Most memories one request may name (`memories`, `memory_penalties`):
/// far more than any real setup has, and validation stays linear.
pub const MAX_NAMED_MEMORIES: usize = 1_000;

/// Most values one filter field (domains, clients…) may hold.
pub const MAX_FILTER_VALUES: usize = 100;

/// Most metadata preferences one lookup may give.
pub const MAX_PREFERENCES: usize = 100;

/// Most points one penalty of a request may take off.
pub const MAX_PENALTY_POINTS: u32 = 100;

/// A metadata preference as a client sends it (`field` `None`: unset or
/// unknown).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PreferenceRequest {
    pub field: Option<MetadataField>,
    pub value: String,
    pub points: u32,
}

/// A lookup as a client sends it, before validation.
#[derive(Debug, Clone, Default)]
pub struct LookupRequest {
    pub text: String,
    pub source_lang: String,
    pub min_score: Option<u32>,
    pub max_results: Option<u32>,
    pub memories: Vec<String>,
    /// Compare with every stored unit through [`crate::reference`] instead
    /// of using the index (same answer, much slower: for checking).
    pub exhaustive: bool,
    /// (memory, points off its matches).
    pub memory_penalties: Vec<(String, u32)>,
    pub filter: UnitFilter,
    pub preferences: Vec<PreferenceRequest>,
    /// The source segments around `text` in its document.
    pub context_before: String,
    pub context_after: String,
    /// (half-life in days, most points; 0: 5).
    pub freshness: Option<(u32, u32)>,
    /// Also return sub-segment matches (see [`Fragment`]); they are
    /// returned anyway when no match reaches `min_score`.
    pub subsegments: bool,
    /// Most sub-segment matches to return, 1–[`MAX_FRAGMENTS_LIMIT`];
    /// unset means [`DEFAULT_MAX_FRAGMENTS`].
    pub max_subsegments: Option<u32>,
    /// Also return fragments inside units (see
    /// [`super::fragments::find_aligned`]), after the sub-segment matches.
    pub aligned_fragments: bool,
    /// Least confidence of a fragment inside a unit, 0–100; unset means
    /// [`super::fragments::DEFAULT_MIN_CONFIDENCE`]. Only with
    /// `aligned_fragments`.
    pub min_fragment_confidence: Option<u32>,
    /// Raised when nobody will read the answer any more: the lookup stops.
    pub cancel: Cancel,
    /// A change sequence a write answered with: the lookup waits until its
    /// node has applied it (0: it does not wait).
    pub min_sequence: u64,
}

/// A validated lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    pub text: String,
    pub lang: Lang,
    pub min_score: u8,
    pub max_results: usize,
    /// Empty means every memory.
    pub memories: Vec<String>,
    pub exhaustive: bool,
    pub memory_penalties: Vec<(String, u8)>,
    pub filter: UnitFilter,
    pub preferences: Vec<Preference>,
    pub context_before: String,
    pub context_after: String,
    pub freshness: Option<Freshness>,
    pub subsegments: bool,
    pub max_subsegments: usize,
    pub aligned_fragments: bool,
    pub min_fragment_confidence: u8,
}

/// Checks a list of memory names (`field[i]`).
pub(crate) fn memory_names(names: &[String], field: &str) -> Result<Vec<String>> {
    check_count(names.len(), MAX_NAMED_MEMORIES, field)?;
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            if name.is_empty() {
                return Err(Error::invalid(format!("{field}[{i}]"), "must not be empty"));
            }
            memory_name(name, &format!("{field}[{i}]"))
        })
        .collect()
}

/// [`Error::InvalidArgument`] naming `field` when a repeated field holds
/// more than `max` values.
pub(crate) fn check_count(len: usize, max: usize, field: &str) -> Result<()> {
    if len > max {
        return Err(Error::invalid(field, format!("{len} values; the limit is {max}")));
    }
    Ok(())
}

/// Checks a filter's values (`field.…`).
pub(crate) fn check_filter(filter: &UnitFilter, field: &str) -> Result<()> {
    for (name, values) in [
        ("domains", &filter.domains),
        ("clients", &filter.clients),
        ("projects", &filter.projects),
        ("created_by", &filter.created_by),
    ] {
        check_count(values.len(), MAX_FILTER_VALUES, &format!("{field}.{name}"))?;
        for (i, value) in values.iter().enumerate() {
            check_metadata(value, &format!("{field}.{name}[{i}]"))?;
        }
    }
    for (name, value) in
        [("changed_after_ms", filter.changed_after_ms), ("changed_before_ms", filter.changed_before_ms)]
    {
        if !(0..=MAX_TIME_MS).contains(&value) {
            return Err(Error::invalid(
                format!("{field}.{name}"),
                format!("{value} is not a time between 1970 and 9999 in milliseconds since the Unix epoch"),
            ));
        }
    }
    Ok(())
}

fn points(value: u32, field: &str) -> Result<u8> {
    if (1..=MAX_PENALTY_POINTS).contains(&value) {
        Ok(value as u8)
    } else {
        Err(Error::invalid(field, format!("is {value}; it must be between 1 and {MAX_PENALTY_POINTS}")))
    }
}

/// Checks memory penalties (`memory_penalties[i]`).
pub(crate) fn check_memory_penalties(penalties: &[(String, u32)]) -> Result<Vec<(String, u8)>> {
    check_count(penalties.len(), MAX_NAMED_MEMORIES, "memory_penalties")?;
    penalties
        .iter()
        .enumerate()
        .map(|(i, (name, value))| {
            let field = format!("memory_penalties[{i}]");
            if name.is_empty() {
                return Err(Error::invalid(format!("{field}.memory"), "must not be empty"));
            }
            Ok((memory_name(name, &format!("{field}.memory"))?, points(*value, &format!("{field}.points"))?))
        })
        .collect()
}

/// `min_score`: 0 to [`MAX_SCORE`], [`DEFAULT_MIN_SCORE`] when unset.
fn min_score(value: Option<u32>) -> Result<u8> {
    in_range(value, DEFAULT_MIN_SCORE.into(), 0..=MAX_SCORE.into(), "min_score").map(|s| s as u8)
}

/// An optional number: `default` when unset, else one in `range`
/// ([`Error::InvalidArgument`] naming `field` otherwise).
pub(crate) fn in_range(
    value: Option<u32>,
    default: u32,
    range: std::ops::RangeInclusive<u32>,
    field: &str,
) -> Result<u32> {
    match value {
        None => Ok(default),
        Some(n) if range.contains(&n) => Ok(n),
        Some(n) => {
            Err(Error::invalid(field, format!("is {n}; it must be between {} and {}", range.start(), range.end())))
        }
    }
}

/// `max_results`: 1 to [`MAX_RESULTS_LIMIT`], [`DEFAULT_MAX_RESULTS`] when
/// unset.
fn max_results(value: Option<u32>) -> Result<usize> {
    in_range(value, DEFAULT_MAX_RESULTS as u32, 1..=MAX_RESULTS_LIMIT as u32, "max_results").map(|n| n as usize)
}

/// When the lookup names its memories, every penalized memory must be
/// among them (`memory_penalties[i].memory`).
fn check_penalties_searched(memories: &[String], memory_penalties: &[(String, u8)]) -> Result<()> {
    if !memories.is_empty() {
        let searched: HashSet<&String> = memories.iter().collect();
        if let Some(i) = memory_penalties.iter().position(|(name, _)| !searched.contains(name)) {
            return Err(Error::invalid(
                format!("memory_penalties[{i}].memory"),
                format!("{:?} is not among the memories searched", memory_penalties[i].0),
            ));
        }
    }
    Ok(())
}

/// Checks metadata preferences (`preferences[i]`).
fn preferences(requests: Vec<PreferenceRequest>) -> Result<Vec<Preference>> {
    check_count(requests.len(), MAX_PREFERENCES, "preferences")?;
    requests
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let field = p.field.ok_or_else(|| {
                Error::invalid(format!("preferences[{i}].field"), "must be domain, client, project or created_by")
            })?;
            check_metadata(&p.value, &format!("preferences[{i}].value"))?;
            Ok(Preference { field, value: p.value, points: points(p.points, &format!("preferences[{i}].points"))? })
        })
        .collect()
}

/// Checks `freshness`: (half-life in days, most points; 0: 5).
fn freshness((half_life_days, max_points): (u32, u32)) -> Result<Freshness> {
    if !(1..=36_500).contains(&half_life_days) {
        return Err(Error::invalid(
            "freshness.half_life_days",
            format!("is {half_life_days}; it must be between 1 and 36500"),
        ));
    }
    let max_points = match max_points {
        0 => 5,
        p if p <= 30 => p as u8,
        p => {
            return Err(Error::invalid(
                "freshness.max_points",
                format!("is {p}; it must be between 1 and 30 (0 means 5)"),
            ))
        }
    };
    Ok(Freshness { half_life_days, max_points })
}

impl LookupRequest {
    /// Checks every field; errors name the field.
    pub fn validate(self) -> Result<Lookup> {
        check_segment(&self.text, "text")?;
        let lang = Lang::parse(&self.source_lang, "source_lang")?;
        let min_score = min_score(self.min_score)?;
        let max_results = max_results(self.max_results)?;
        let memories = memory_names(&self.memories, "memories")?;
        let memory_penalties = check_memory_penalties(&self.memory_penalties)?;
        check_penalties_searched(&memories, &memory_penalties)?;
        check_filter(&self.filter, "filter")?;
        let preferences = preferences(self.preferences)?;
        check_context(&self.context_before, "context_before")?;
        check_context(&self.context_after, "context_after")?;
        let freshness = self.freshness.map(freshness).transpose()?;
        let max_subsegments = in_range(
            self.max_subsegments,
            DEFAULT_MAX_FRAGMENTS as u32,
            1..=MAX_FRAGMENTS_LIMIT as u32,
            "max_subsegments",
        )? as usize;
        if self.min_fragment_confidence.is_some() && !self.aligned_fragments {
            return Err(Error::invalid(
                "min_fragment_confidence",
                "is set but aligned_fragments is not: it only applies to fragments inside units",
            ));
        }
        let min_fragment_confidence = in_range(
            self.min_fragment_confidence,
            super::fragments::DEFAULT_MIN_CONFIDENCE.into(),
            0..=100,
            "min_fragment_confidence",
        )? as u8;
        Ok(Lookup {
            text: self.text,
            lang,
            min_score,
            max_results,
            memories,
            exhaustive: self.exhaustive,
            memory_penalties,
            filter: self.filter,
            preferences,
            context_before: self.context_before,
            context_after: self.context_after,
            freshness,
            subsegments: self.subsegments,
            max_subsegments,
            aligned_fragments: self.aligned_fragments,
            min_fragment_confidence,
        })
    }
}

/// Full scans (`exhaustive`, or a lookup no filter can prune, such as
/// `min_score` 0) read every unit: they get a small budget of their own,
/// so that a few of them cannot take every core from indexed lookups.
pub(crate) struct ScanBudget {
    running: AtomicUsize,
    max: AtomicUsize,
}

/// The default of [`ScanBudget`]'s limit (`--max-scans`).
pub const DEFAULT_MAX_SCANS: usize = 2;

impl Default for ScanBudget {
    fn default() -> ScanBudget {
        ScanBudget { running: AtomicUsize::new(0), max: AtomicUsize::new(DEFAULT_MAX_SCANS) }
    }
}

impl ScanBudget {
    pub(crate) fn set_max(&self, max: usize) {
        self.max.store(max.max(1), Ordering::Relaxed);
    }

    /// A place among the running scans, or [`Error::Busy`] when there is
    /// none.
    fn enter(&self) -> Result<ScanPermit<'_>> {
        let max = self.max.load(Ordering::Relaxed);
        self.running.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < max).then_some(n + 1)).map_err(
            |_| {
                Error::Busy(format!(
                    "exhaustive: {max} full scans (exhaustive, or min_score 0) are running, the most the server \
                     runs at once (--max-scans); retry after a short backoff, or give a min_score"
                ))
            },
        )?;
        Ok(ScanPermit(self))
    }
}

struct ScanPermit<'a>(&'a ScanBudget);

impl Drop for ScanPermit<'_> {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A stored unit that resembles the query.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    pub unit: Unit,
    /// The language of the query (the unit's source side).
    pub lang: Lang,
    pub score: u8,
    /// How the score came about, what differs and where, and the repaired
    /// target.
    pub explanation: Explanation,
}

impl Match {
    /// The stored side in the query's language.
    pub fn source(&self) -> &str {
        self.unit.side(self.lang)
    }

    /// The stored side in the other language.
    pub fn target(&self) -> &str {
        self.unit.side(self.lang.other())
    }
}

/// A judged unit in the running top: its score with every penalty taken
/// off, what the tie-breaks read, and its explanation. The explanation is
/// made at once when the score needs it (no word edited: spelling points, a
/// context, symbols) and else only for the final top ([`Ranked::into_match`]):
/// most units judged, ties at the last score of a full top, are never
/// returned.
struct Ranked {
    unit: Unit,
    score: u8,
    /// The source is the query's very text.
    identical: bool,
    source_tokens: Vec<Token>,
    explanation: Option<Explanation>,
    /// The scope's penalties and the several-translations one, in that
    /// order, after the explanation's own.
    penalties: Vec<Penalty>,
    /// The normalized words, for the character similarity tie-break,
    /// computed only when two matches tie before it.
    normalized: String,
    similarity: OnceCell<f64>,
}

impl Ranked {
    fn similarity(&self, query: &QueryWords) -> f64 {
        *self.similarity.get_or_init(|| query.similarity().to(&self.normalized))
    }

    /// The match, explained.
    fn into_match(self, lookup: &Lookup, query: &QueryWords) -> Match {
        let Ranked { unit, score, source_tokens, explanation, penalties, .. } = self;
        let lang = lookup.lang;
        let mut explanation = explanation.unwrap_or_else(|| {
            let source = unit.side(lang);
            let e = explain_tokens(&lookup.text, &query.tokens, source, &source_tokens, unit.side(lang.other()), lang);
            debug_assert_eq!(
                Some(e.score),
                edited_score(&lookup.text, &query.tokens, source, &source_tokens),
                "the explanation scores as the alignment's cost said"
            );
            e
        });
        explanation.penalties.extend(penalties);
        explanation.score = score;
        Match { score, unit, lang, explanation }
    }
}

/// The query's words, read once per lookup.
struct QueryWords {
    tokens: Vec<Token>,
    normalized: String,
    similarity: OnceCell<Similarity>,
}

impl QueryWords {
    fn of(text: &str, lang: Lang) -> QueryWords {
        let tokens = tokens(text, lang);
        QueryWords { normalized: normalized(&tokens), tokens, similarity: OnceCell::new() }
    }

    /// The query's side of the tie-break, built the first time a tie needs it.
    fn similarity(&self) -> &Similarity {
        self.similarity.get_or_init(|| Similarity::of(&self.normalized))
    }
}

/// The normalized words, space-separated.
fn normalized(tokens: &[Token]) -> String {
    tokens.iter().map(|t| t.surface.as_str()).collect::<Vec<_>>().join(" ")
}

/// Finds the best matches: candidates whose score can reach the minimum,
/// scored by the one alignment, in context, minus the scope's penalties,
/// ranked by score, then the source identical to the query's text, then
/// character similarity of the normalized texts, then the most recently
/// changed, the most used, the newest.
pub(super) fn find(shared: &Shared, lookup: &Lookup, cancel: &Cancel) -> Result<Vec<Match>> {
    if lookup.exhaustive {
        return exhaustive(shared, lookup, cancel);
    }
    let query_words = QueryWords::of(&lookup.text, lookup.lang);
    let context = Context::of(lookup);
    let mut scope = Scope {
        preferences: lookup.preferences.clone(),
        freshness: lookup.freshness,
        filter: lookup.filter.clone(),
        now_ms: now_ms(),
        bonus: u8::from(context.is_some()),
        unknown: SEVERAL_TRANSLATIONS_POINTS,
        cancel: cancel.clone(),
        ..Scope::default()
    };
    let gather = |all: bool, scope: &mut Scope| gather_candidates(shared, lookup, &query_words, all, scope, cancel);
    let rank = |scope: &Scope, candidates| {
        Judge { shared, lookup, query: &query_words, scope, context: context.as_ref(), sides: Default::default() }
            .rank(candidates)
    };
    let Found { candidates, withheld } = gather(false, &mut scope)?;
    let matches = rank(&scope, candidates)?;
    let k = lookup.max_results;
    // Template members held back could still enter the top (a bound equal
    // to the last score may win its tie-breaks): ask for all of them.
    let matches = match withheld {
        Some(held) if matches.len() < k || matches[k - 1].score <= held => {
            let all = gather(true, &mut scope)?;
            rank(&scope, all.candidates)?
        }
        _ => matches,
    };
    Ok(matches.into_iter().map(|m| m.into_match(lookup, &query_words)).collect())
}

/// An independent answer: every stored unit, read from the store, compared
/// by the reference (which shares nothing with the index). A full scan
/// takes one of the --max-scans places.
fn exhaustive(shared: &Shared, lookup: &Lookup, cancel: &Cancel) -> Result<Vec<Match>> {
    let _scan = shared.scans.enter()?;
    let mut units = Vec::new();
    shared.store.for_each_unit(&mut |unit| {
        cancel.check()?;
        units.push(unit);
        Ok(())
    })?;
    Reference::new_until(units, cancel)?.lookup_until(lookup, now_ms(), cancel)
}

/// The candidates: with `all`, every member of a template group that can
/// qualify; else only its best (see `Index::best_candidates`). Resolves the
/// lookup's memory names into `scope` first.
fn gather_candidates(
    shared: &Shared,
    lookup: &Lookup,
    query_words: &QueryWords,
    all: bool,
    scope: &mut Scope,
    cancel: &Cancel,
) -> Result<Found> {
    let index = shared.index.load();
    let selection = selection(&index, lookup, scope)?;
    let query = index.encode(&query_words.tokens, lookup.lang);
    let reads_all = index.reads_every_unit(&query, &selection, lookup.min_score);
    let _scan = if reads_all { Some(shared.scans.enter()?) } else { None };
    let found = if all {
        Found { candidates: index.candidates(&query, &selection, lookup.min_score, lookup.max_results), withheld: None }
    } else {
        index.best_candidates(&query, &selection, lookup.min_score, lookup.max_results)
    };
    // The index stops early when cancelled: what it found is not the
    // answer.
    cancel.check()?;
    Ok(found)
}

/// Resolves the lookup's memory names into `scope` and compiles it
/// against `index`.
pub(super) fn selection(index: &crate::matching::Index, lookup: &Lookup, scope: &mut Scope) -> Result<Selection> {
    let id = |name: &str, field: String| {
        index.memory_id(name).ok_or_else(|| Error::not_found(field, format!("no memory is named {name:?}")))
    };
    let memories = lookup
        .memories
        .iter()
        .enumerate()
        .map(|(i, name)| id(name, format!("memories[{i}]")))
        .collect::<Result<Vec<u32>>>()?;
    scope.memories = (!memories.is_empty()).then_some(memories);
    scope.memory_points = lookup
        .memory_penalties
        .iter()
        .enumerate()
        .map(|(i, (name, points))| Ok((id(name, format!("memory_penalties[{i}].memory"))?, *points)))
        .collect::<Result<Vec<_>>>()?;
    Ok(index.selection(scope))
}

impl Judge<'_> {
    /// The top `max_results` of the candidates, ranked (see [`find`]).
    fn rank(&self, candidates: Vec<Candidate>) -> Result<Vec<Ranked>> {
        let (lookup, scope, cancel) = (self.lookup, self.scope, &self.scope.cancel);

        // Scores. The most a candidate can score is known without its text:
        // its alignment score (plus the context's point on a 100) minus its
        // points; spelling differences and the several-translations penalty
        // only take more off. Candidates are judged from the highest such bound
        // down, and judging stops once the next bound is below the k-th best
        // score found: what is left cannot enter the top (a bound equal to it
        // still can, by the tie-breaks). A template of many units that differ
        // in their numbers is thus judged only as far as its best members.
        let n = self.query.tokens.len();
        let min = i32::from(lookup.min_score);
        let mut by_bound: Vec<Vec<Candidate>> = vec![Vec::new(); usize::from(MAX_SCORE) + 1];
        for c in candidates {
            let score = unnormalized(c.cost, n, c.source_words);
            let bonus = if score == 100 { scope.bonus } else { 0 };
            // Scores stop at 0: a unit losing more points than it has still
            // matches at 0.
            let bound = (i32::from(score) + i32::from(bonus) - i32::from(c.points)).clamp(0, i32::from(MAX_SCORE));
            if bound >= min {
                by_bound[bound as usize].push(c);
            }
        }
        let k = lookup.max_results;
        let mut matches: Vec<Ranked> = Vec::with_capacity(k + 1);
        // The most a candidate's similarity to the query can be, from its
        // length (unknown: 1).
        let most = |c: &Candidate| c.chars.map_or(1.0, |chars| self.query.similarity().most(chars as usize));
        for (bound, candidates) in by_bound.iter_mut().enumerate().rev() {
            if matches.len() == k && (bound as u8) < matches[k - 1].score {
                break;
            }
            // Within a bound, the likeliest to win the tie-break first: once
            // the top is full at this score, a candidate whose similarity
            // cannot reach the last one's cannot enter it (an identical
            // source has the query's length, so its bound is 1), and
            // neither can any after it. A common-word lookup's candidates
            // are mostly ties at the last score, and are no longer all read.
            if candidates.len() > 1 {
                candidates.sort_by(|a, b| most(b).total_cmp(&most(a)));
            }
            for c in candidates.iter() {
                if matches.len() == k
                    && bound as u8 == matches[k - 1].score
                    && most(c) < matches[k - 1].similarity(self.query)
                {
                    break;
                }
                cancel.check()?;
                // None: deleted since the scan.
                let Some(unit) = self.shared.unit(c.id)? else { continue };
                // The lowest score that can still enter the top.
                let least = if matches.len() == k { matches[k - 1].score } else { lookup.min_score };
                let Some(mut judged) = self.judge(unit, least)? else { continue };
                debug_assert!(
                    c.chars.is_none_or(|chars| chars as usize == judged.normalized.chars().count()),
                    "the index counts a unit's normalized characters as the ranking does"
                );
                debug_assert!(
                    c.cost.tenths != 0 || judged.explanation.as_ref().is_none_or(|e| e.cost == c.cost),
                    "the index and the explanation align alike"
                );
                debug_assert!(i32::from(judged.score) <= bound as i32, "a score above its bound");
                // One that does not rank before the last of a full top
                // cannot enter it: the several-translations penalty only
                // takes more off. Its source's other units are then not
                // read (ties at the last score are most of a common-word
                // lookup's candidates).
                if matches.len() == k && ranking(&matches[k - 1], &judged, self.query).is_lt() {
                    continue;
                }
                self.count_other_translations(&mut judged)?;
                if judged.score < lookup.min_score {
                    continue;
                }
                let at = matches.partition_point(|m| ranking(m, &judged, self.query).is_lt());
                if at < k {
                    matches.insert(at, judged);
                    matches.truncate(k);
                }
            }
        }
        Ok(matches)
    }
}

/// The order of matches: score, then the unit whose source is the query's
/// very text (an exact match that lost a point for several translations
/// ties with a spelling variant), then character similarity of the
/// normalized texts, then the most recently changed, the most used, the
/// newest.
fn ranking(a: &Ranked, b: &Ranked, query: &QueryWords) -> std::cmp::Ordering {
    b.score
        .cmp(&a.score)
        .then(b.identical.cmp(&a.identical))
        .then_with(|| b.similarity(query).total_cmp(&a.similarity(query)))
        .then(b.unit.changed_or_created_ms().cmp(&a.unit.changed_or_created_ms()))
        .then(b.unit.usage_count.cmp(&a.unit.usage_count))
        .then(b.unit.id.cmp(&a.unit.id))
}

/// The lookup's context, normalized.
struct Context {
    before: Option<Vec<String>>,
    after: Option<Vec<String>>,
}

impl Context {
    fn of(lookup: &Lookup) -> Option<Context> {
        let side = |text: &str| (!text.is_empty()).then(|| words(text));
        let context = Context { before: side(&lookup.context_before), after: side(&lookup.context_after) };
        (context.before.is_some() || context.after.is_some()).then_some(context)
    }

    /// Whether a unit was stored with this context: every side the lookup
    /// gives is the unit's, after normalization.
    fn matches(&self, unit: &Unit) -> bool {
        let same = |given: &Option<Vec<String>>, stored: &str| {
            given.as_ref().is_none_or(|given| !stored.is_empty() && *given == words(stored))
        };
        same(&self.before, &unit.context_before) && same(&self.after, &unit.context_after)
    }
}

/// The units sharing a source side key: (id, memory, source text).
type Sharing = std::rc::Rc<[(UnitId, String, String)]>;

/// Scores units for one lookup.
struct Judge<'a> {
    shared: &'a Shared,
    lookup: &'a Lookup,
    query: &'a QueryWords,
    scope: &'a Scope,
    context: Option<&'a Context>,
    /// The units with each source side key met so far, as (id, memory,
    /// source text): candidates that share their source (a sentence stored
    /// with many translations) read the others once, not once each.
    sides: std::cell::RefCell<HashMap<SideKey, Sharing>>,
}

impl Judge<'_> {
    /// The unit as a match: scored, 101 in context, the scope's penalties
    /// taken off (each named); the several-translations penalty is not yet
    /// counted ([`Judge::count_other_translations`]). Explained now only
    /// when no word was edited (see [`Ranked`]). `None` when it scores below
    /// `least`, which that penalty could only take it further under.
    fn judge(&self, unit: Unit, least: u8) -> Result<Option<Ranked>> {
        let (lookup, query) = (self.lookup, self.query);
        let lang = lookup.lang;
        let source = unit.side(lang);
        let source_tokens = tokens(source, lang);
        let (score, explanation) = match edited_score(&lookup.text, &query.tokens, source, &source_tokens) {
            Some(score) => (score, None),
            None => {
                let target = unit.side(lang.other());
                let mut e = explain_tokens(&lookup.text, &query.tokens, source, &source_tokens, target, lang);
                if e.score == 100 && self.context.is_some_and(|c| c.matches(&unit)) {
                    e.score = MAX_SCORE;
                    e.in_context = true;
                }
                (e.score, Some(e))
            }
        };
        let memory_points =
            lookup.memory_penalties.iter().find(|(name, _)| *name == unit.memory).map_or(0, |&(_, points)| points);
        let penalties = self.scope.penalties(&unit, memory_points);
        let taken: u32 = penalties.iter().map(|p| u32::from(p.points)).sum();
        let score = u32::from(score).saturating_sub(taken);
        if score < u32::from(least) {
            return Ok(None);
        }
        Ok(Some(Ranked {
            identical: source == lookup.text,
            normalized: normalized(&source_tokens),
            score: score as u8,
            unit,
            source_tokens,
            explanation,
            penalties,
            similarity: OnceCell::new(),
        }))
    }

    /// Takes the several-translations penalty off a judged unit whose
    /// memory holds other units with its source.
    fn count_other_translations(&self, judged: &mut Ranked) -> Result<()> {
        let others = self.other_translations(&judged.unit)?;
        if others > 0 {
            judged.penalties.push(Penalty {
                kind: "several_translations".into(),
                points: SEVERAL_TRANSLATIONS_POINTS,
                reason: format!("its memory holds {others} other translation(s) of this source"),
            });
            judged.score = judged.score.saturating_sub(SEVERAL_TRANSLATIONS_POINTS);
        }
        Ok(())
    }

    /// How many other units of the unit's memory have its source text.
    fn other_translations(&self, unit: &Unit) -> Result<usize> {
        let lang = self.lookup.lang;
        let key = unit.side_key(lang);
        let cached = self.sides.borrow().get(&key).cloned();
        let sharing = match cached {
            Some(sharing) => sharing,
            None => {
                let mut sharing = Vec::new();
                for id in self.shared.ids_with_side(lang, key)? {
                    // The unit in hand is not read again (most sources are
                    // stored once).
                    if id == unit.id {
                        sharing.push((id, unit.memory.clone(), unit.side(lang).to_owned()));
                    } else if let Some(other) = self.shared.unit(id)? {
                        sharing.push((id, other.memory.clone(), other.side(lang).to_owned()));
                    }
                }
                let sharing: Sharing = sharing.into();
                self.sides.borrow_mut().insert(key, std::rc::Rc::clone(&sharing));
                sharing
            }
        };
        Ok(sharing
            .iter()
            .filter(|(id, memory, side)| *id != unit.id && *memory == unit.memory && side == unit.side(lang))
            .count())
    }
}
