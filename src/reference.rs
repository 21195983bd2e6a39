//! The reference: every match of a lookup computed straight from the texts,
//! as README's score table ("Arabic-aware matching, explained") says, and nothing shared
//! with the index but the public tokenizer and normalizer (`text`).
//!
//! It is slow and meant to be obviously right. It has its own alignment (a
//! plain table over word strings), its own scope rules (memories, filter,
//! preferences, freshness), its own several-translations count, context and
//! order. `exhaustive: true` lookups are answered by it, and the tests and
//! `dhakira bench --check-recall` compare the index with it. The explanation
//! attached to each match (edits, named penalties, repaired target) comes
//! from [`crate::matching::explain`]; the score and the order never do.
//!
//! The score of a query (n words) against a stored source (m words):
//!
//! | case | score |
//! |---|---|
//! | identical text | 100 |
//! | no word edit (the same words after normalization, placeables aside) | 100 − 2 per placeable that differs − one point per kind of spelling difference (at least 1 when no placeable differs, at most 5) |
//! | a word edit | min(94, ⌊100 × (1 − c / max(n, m))⌋) − 2 per placeable that differs |
//! | two texts without words (`-`, `...`, `(!)`) whose symbols differ | min(94, ⌊100 × (1 − e / max(a, b))⌋) |
//!
//! where `c` is the cheapest alignment's word cost: 0 for the same word, ½
//! for a morphological variant (same stem), 0 for another placeable of the
//! same kind (counted instead: 2 points each), 1 for another word, 1 per
//! inserted or deleted word; the alignment minimizes `c`, then the
//! placeables. When the placeables that differ are more than half of the
//! longer side's words, they are what changed: each also counts 1 in `c`
//! (so the match has word edits). The symbols of a text without words are
//! its characters but spaces and invisible controls, folded as words are;
//! `e` is their edit distance, `a` and `b` their counts. Then: 101 for a
//! 100 whose stored context is the lookup's; minus the memory's penalty,
//! the preferences' points, the age points and 1 point when the unit's
//! memory holds another unit with the same source text.
//!
//! Order: score, then the source identical to the query's text, then the
//! character similarity of the normalized words, the most recently changed,
//! the most used, the highest id.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use crate::error::{Error, Result};
use crate::matching::{explain_tokens, MetadataField, Penalty, Scope};
use crate::memory::{Lookup, Match, SEVERAL_TRANSLATIONS_POINTS};
use crate::text::{differences, fold_word, is_invisible, stem, tokens, words, Folds, Lang, Placeable, Token};
use crate::unit::Unit;
use crate::Cancel;

/// Units between two looks at a lookup's [`Cancel`]: a few milliseconds of
/// comparisons at most.
pub const CANCEL_EVERY: usize = 64;

/// Stored units, ready to be compared with any query.
pub struct Reference {
    units: Vec<Stored>,
    /// (language, memory, source text) → units with it.
    same_source: HashMap<(Lang, String, String), usize>,
}

/// A unit and, per side, the word classes its words fall in (see
/// [`Reference::lookup`]: they only rule out units that cannot qualify).
struct Stored {
    unit: Unit,
    classes: [Classes; 2],
}

/// The hashed class of each word of a side, and all of them as a bit set.
struct Classes {
    each: Vec<u64>,
    bits: [u64; 4],
}

fn side_index(lang: Lang) -> usize {
    match lang {
        Lang::Arabic => 0,
        Lang::English => 1,
    }
}

/// A word as the score sees it.
struct Word {
    surface: String,
    placeable: Option<Placeable>,
    stem: String,
}

impl Word {
    fn of(token: &Token, lang: Lang) -> Word {
        let placeable = Placeable::of(&token.surface, lang);
        Word { stem: stem(&token.surface).into_owned(), surface: token.surface.clone(), placeable }
    }

    /// Words that can pair for less than a whole word are in one class:
    /// the same word or a variant (same stem), or placeables of one kind.
    fn class(&self) -> u64 {
        let mut hasher = DefaultHasher::new();
        match self.placeable {
            Some(kind) => (0u8, kind.name()).hash(&mut hasher),
            None => (1u8, &self.stem).hash(&mut hasher),
        }
        hasher.finish()
    }
}

impl Classes {
    fn of(text: &str, lang: Lang) -> Classes {
        let each: Vec<u64> = tokens(text, lang).iter().map(|t| Word::of(t, lang).class()).collect();
        let mut bits = [0u64; 4];
        for &class in &each {
            bits[(class % 256 / 64) as usize] |= 1 << (class % 64);
        }
        Classes { each, bits }
    }

    /// How many of these words have a class that `other` surely lacks.
    fn absent_from(&self, other: &Classes) -> usize {
        self.each.iter().filter(|&&class| other.bits[(class % 256 / 64) as usize] & (1 << (class % 64)) == 0).count()
    }
}

/// How a query word pairs with a stored word, and what it costs: word cost
/// in tenths, placeables.
fn pair(q: &Word, s: &Word) -> (u32, u32) {
    if q.surface == s.surface {
        (0, 0)
    } else if q.placeable.is_some() && q.placeable == s.placeable {
        (0, 1)
    } else if q.placeable.is_none() && s.placeable.is_none() && q.stem == s.stem {
        (5, 0)
    } else {
        (10, 0)
    }
}

/// The cheapest alignment of the query's words with the source's: (word
/// cost in tenths, placeables), the least word cost first.
fn alignment(q: &[Word], s: &[Word]) -> (u32, u32) {
    let add = |(c, p): (u32, u32), (dc, dp): (u32, u32)| (c + dc, p + dp);
    // table[i][j]: the first i query words aligned with the first j source
    // words; an empty side costs a whole word per word of the other.
    let mut table: Vec<Vec<(u32, u32)>> =
        (0..=q.len()).map(|i| (0..=s.len()).map(|j| (10 * (i + j) as u32, 0)).collect()).collect();
    for i in 1..=q.len() {
        for j in 1..=s.len() {
            table[i][j] = add(table[i - 1][j - 1], pair(&q[i - 1], &s[j - 1]))
                .min(add(table[i - 1][j], (10, 0)))
                .min(add(table[i][j - 1], (10, 0)));
        }
    }
    table[q.len()][s.len()]
}

/// `⌊100 × (1 − c / max(n, m))⌋` with `c` in tenths of a word, and 0 when
/// `c` is more than every word (placeables counted as words can make it so).
fn word_score(tenths: u32, n: usize, m: usize) -> u32 {
    let longest = 10 * n.max(m) as u32;
    if longest == 0 {
        return 100;
    }
    100 * longest.saturating_sub(tenths) / longest
}

/// The most a match with a word edit scores: README's table keeps 95–99 for
/// spelling and named differences.
const MOST_WITH_A_WORD_EDIT: u32 = 94;

/// The characters of a text without words, but spaces and invisible
/// controls, folded like words.
fn symbols_of(text: &str) -> Vec<char> {
    let kept: String = text.chars().filter(|c| !c.is_whitespace() && !is_invisible(*c)).collect();
    fold_word(&kept, Folds::ALL).chars().collect()
}

/// Character edit distance: a plain table.
fn char_distance(a: &[char], b: &[char]) -> usize {
    let mut table: Vec<Vec<usize>> = (0..=a.len()).map(|i| (0..=b.len()).map(|j| i + j).collect()).collect();
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let pair = table[i - 1][j - 1] + usize::from(a[i - 1] != b[j - 1]);
            table[i][j] = pair.min(table[i - 1][j] + 1).min(table[i][j - 1] + 1);
        }
    }
    table[a.len()][b.len()]
}

/// The score of `query` against a stored `source`, before the scope: see
/// the module documentation.
fn score(query: &str, q_tokens: &[Token], source: &str, s_tokens: &[Token], lang: Lang) -> u32 {
    if query == source {
        return 100;
    }
    if q_tokens.is_empty() && s_tokens.is_empty() {
        let (a, b) = (symbols_of(query), symbols_of(source));
        if a != b {
            let longest = a.len().max(b.len());
            let e = char_distance(&a, &b);
            return ((100 * (longest - e) / longest) as u32).min(MOST_WITH_A_WORD_EDIT);
        }
    }
    let q: Vec<Word> = q_tokens.iter().map(|t| Word::of(t, lang)).collect();
    let s: Vec<Word> = s_tokens.iter().map(|t| Word::of(t, lang)).collect();
    let (mut c, placeables) = alignment(&q, &s);
    if 2 * placeables as usize > q.len().max(s.len()) {
        c += 10 * placeables;
    }
    if c > 0 {
        return word_score(c, q.len(), s.len()).min(MOST_WITH_A_WORD_EDIT).saturating_sub(2 * placeables);
    }
    let words_score = 100u32.saturating_sub(2 * placeables);
    // No word differs, so the words pair up in order: the spelling
    // differences are those of the source with the query's placeables put in.
    let mut masked = source.to_owned();
    for i in (0..q.len()).rev() {
        if q[i].surface != s[i].surface {
            masked.replace_range(s_tokens[i].bytes.clone(), q_tokens[i].text(query));
        }
    }
    let mut kinds = differences(query, &masked).len() as u32;
    if placeables == 0 {
        // Not identical, so something differs, if only characters no
        // rule names.
        kinds = kinds.max(1);
    }
    words_score.saturating_sub(kinds.min(5))
}

/// Points the lookup's scope takes off a unit (memory, preferences, age),
/// or `None` when it leaves the unit out.
fn scope_points(lookup: &Lookup, unit: &Unit, now_ms: i64) -> Option<u32> {
    if !lookup.memories.is_empty() && !lookup.memories.contains(&unit.memory) {
        return None;
    }
    let f = &lookup.filter;
    let passes = |values: &[String], value: &str| values.is_empty() || values.iter().any(|v| v == value);
    let time = unit.changed_or_created_ms();
    if !(passes(&f.domains, &unit.domain)
        && passes(&f.clients, &unit.client)
        && passes(&f.projects, &unit.project)
        && passes(&f.created_by, &unit.created_by)
        && (f.changed_after_ms == 0 || time >= f.changed_after_ms)
        && (f.changed_before_ms == 0 || time < f.changed_before_ms))
    {
        return None;
    }
    let mut points = 0;
    for (memory, p) in &lookup.memory_penalties {
        if *memory == unit.memory {
            points += u32::from(*p);
        }
    }
    for preference in &lookup.preferences {
        let value = match preference.field {
            MetadataField::Domain => &unit.domain,
            MetadataField::Client => &unit.client,
            MetadataField::Project => &unit.project,
            MetadataField::CreatedBy => &unit.created_by,
        };
        if *value != preference.value {
            points += u32::from(preference.points);
        }
    }
    if let Some(freshness) = lookup.freshness {
        let days = ((now_ms - time).max(0) / 86_400_000) as f64;
        let kept = (-days / f64::from(freshness.half_life_days)).exp2();
        points += (f64::from(freshness.max_points) * (1.0 - kept)).round() as u32;
    }
    Some(points)
}

/// Whether the unit was stored with the lookup's context: every side the
/// lookup gives equals the stored one after normalization.
fn in_context(lookup: &Lookup, unit: &Unit) -> bool {
    let given = [(&lookup.context_before, &unit.context_before), (&lookup.context_after, &unit.context_after)];
    given.iter().any(|(g, _)| !g.is_empty())
        && given.iter().all(|(g, stored)| g.is_empty() || (!stored.is_empty() && words(g) == words(stored)))
}

impl Reference {
    /// Prepares `units` for lookups in both languages.
    pub fn new(units: Vec<Unit>) -> Reference {
        Reference::new_until(units, &Cancel::default()).expect("never cancelled")
    }

    /// [`Reference::new`], stopped with [`Error::Cancelled`] once `cancel`
    /// is raised (checked every [`CANCEL_EVERY`] units).
    pub fn new_until(units: Vec<Unit>, cancel: &Cancel) -> Result<Reference> {
        let mut same_source = HashMap::new();
        for unit in &units {
            for lang in [Lang::Arabic, Lang::English] {
                *same_source.entry((lang, unit.memory.clone(), unit.side(lang).to_owned())).or_insert(0) += 1;
            }
        }
        let units = units
            .into_iter()
            .enumerate()
            .map(|(i, unit)| {
                if i % CANCEL_EVERY == 0 {
                    cancel.check_in("reference-prepare")?;
                }
                let classes = [Classes::of(&unit.arabic, Lang::Arabic), Classes::of(&unit.english, Lang::English)];
                Ok(Stored { unit, classes })
            })
            .collect::<Result<_>>()?;
        Ok(Reference { units, same_source })
    }

    /// Number of units.
    pub fn len(&self) -> usize {
        self.units.len()
    }

    pub fn is_empty(&self) -> bool {
        self.units.is_empty()
    }

    /// Every match of `lookup` at `now_ms`, best first, at most
    /// `max_results`: each unit is compared with the query, except those
    /// that cannot reach `min_score` by two bounds no reader needs to take
    /// on trust: `|n − m|` words must be inserted or deleted, and a word
    /// whose class (stem, or placeable kind) no word of the other side has
    /// pairs with nothing for less than a whole word.
    pub fn lookup(&self, lookup: &Lookup, now_ms: i64) -> Result<Vec<Match>> {
        self.lookup_until(lookup, now_ms, &Cancel::default())
    }

    /// [`Reference::lookup`], stopped with [`Error::Cancelled`] once
    /// `cancel` is raised (checked every [`CANCEL_EVERY`] units).
    pub fn lookup_until(&self, lookup: &Lookup, now_ms: i64, cancel: &Cancel) -> Result<Vec<Match>> {
        let has_units = |name: &str| self.units.iter().any(|s| s.unit.memory == name);
        for (i, name) in lookup.memories.iter().enumerate() {
            if !has_units(name) {
                return Err(Error::not_found(format!("memories[{i}]"), format!("no memory is named {name:?}")));
            }
        }
        for (i, (name, _)) in lookup.memory_penalties.iter().enumerate() {
            if !has_units(name) {
                return Err(Error::not_found(
                    format!("memory_penalties[{i}].memory"),
                    format!("no memory is named {name:?}"),
                ));
            }
        }
        let lang = lookup.lang;
        let side = side_index(lang);
        let query_tokens = tokens(&lookup.text, lang);
        let query_classes = Classes::of(&lookup.text, lang);
        let query_normalized = joined(&query_tokens);
        let min_score = u32::from(lookup.min_score);
        let n = query_tokens.len();

        let mut found: Vec<(Match, f64)> = Vec::new();
        for (i, stored) in self.units.iter().enumerate() {
            if i % CANCEL_EVERY == 0 {
                cancel.check_in("reference-scan")?;
            }
            let unit = &stored.unit;
            let Some(points) = scope_points(lookup, unit, now_ms) else { continue };
            let classes = &stored.classes[side];
            let m = classes.each.len();
            let unrelated =
                n.abs_diff(m).max(query_classes.absent_from(classes)).max(classes.absent_from(&query_classes));
            let best = word_score(10 * unrelated as u32, n, m);
            if best + u32::from(best == 100) < min_score {
                continue;
            }
            let source = unit.side(lang);
            let source_tokens = tokens(source, lang);
            let mut score = score(&lookup.text, &query_tokens, source, &source_tokens, lang);
            let context = score == 100 && in_context(lookup, unit);
            if context {
                score = 101;
            }
            let others = self.same_source[&(lang, unit.memory.clone(), source.to_owned())] - 1;
            let several = if others > 0 { u32::from(SEVERAL_TRANSLATIONS_POINTS) } else { 0 };
            let score = score.saturating_sub(points + several);
            if score < min_score {
                continue;
            }
            let similarity = strsim::normalized_levenshtein(&query_normalized, &joined(&source_tokens));
            let matched =
                self.explained(lookup, unit, &query_tokens, &source_tokens, score as u8, context, others, now_ms);
            found.push((matched, similarity));
        }
        let identical = |m: &Match| m.unit.side(lang) == lookup.text;
        found.sort_by(|(a, sa), (b, sb)| {
            b.score
                .cmp(&a.score)
                .then(identical(b).cmp(&identical(a)))
                .then(sb.total_cmp(sa))
                .then(b.unit.changed_or_created_ms().cmp(&a.unit.changed_or_created_ms()))
                .then(b.unit.usage_count.cmp(&a.unit.usage_count))
                .then(b.unit.id.cmp(&a.unit.id))
        });
        found.truncate(lookup.max_results);
        Ok(found.into_iter().map(|(m, _)| m).collect())
    }

    /// The match as a client sees it: the reference's score, with the
    /// explanation's edits, named penalties and repaired target.
    #[allow(clippy::too_many_arguments)]
    fn explained(
        &self,
        lookup: &Lookup,
        unit: &Unit,
        query_tokens: &[Token],
        source_tokens: &[Token],
        score: u8,
        context: bool,
        others: usize,
        now_ms: i64,
    ) -> Match {
        let lang = lookup.lang;
        let mut explanation =
            explain_tokens(&lookup.text, query_tokens, unit.side(lang), source_tokens, unit.side(lang.other()), lang);
        let naming =
            Scope { preferences: lookup.preferences.clone(), freshness: lookup.freshness, now_ms, ..Scope::default() };
        let memory_points =
            lookup.memory_penalties.iter().find(|(name, _)| *name == unit.memory).map_or(0, |&(_, points)| points);
        explanation.penalties.extend(naming.penalties(unit, memory_points));
        if others > 0 {
            explanation.penalties.push(Penalty {
                kind: "several_translations".into(),
                points: SEVERAL_TRANSLATIONS_POINTS,
                reason: format!("its memory holds {others} other translation(s) of this source"),
            });
        }
        explanation.score = score;
        explanation.in_context = context;
        Match { unit: unit.clone(), lang, score, explanation }
    }
}

/// The normalized words, space-separated: what the tie-break compares.
fn joined(tokens: &[Token]) -> String {
    tokens.iter().map(|t| t.surface.as_str()).collect::<Vec<_>>().join(" ")
}

/// Sub-segment matches by brute force, for the tests: every unit (in one of
/// `memories`, or any when empty) whose normalized words on the `lang` side
/// ([`words`]) equal the query's words `start..start + len`, with
/// `len < n`, `len ≤` [`crate::matching::MAX_SUBSEGMENT_WORDS`], and two
/// words or more, or one word of at least
/// [`crate::memory::MIN_SINGLE_WORD_CHARS`] characters that is no
/// placeable. As (unit id, start, len), in the documented order: more words,
/// earlier start, then the most recently changed, then the highest id (no
/// points: no scope). Shares nothing with the index but the normalizer.
pub fn subsegments(units: &[Unit], text: &str, lang: Lang, memories: &[String]) -> Vec<(crate::UnitId, usize, usize)> {
    let query = words(text);
    let n = query.len();
    let mut hits: Vec<(usize, usize, i64, crate::UnitId)> = Vec::new();
    for unit in units {
        if !memories.is_empty() && !memories.contains(&unit.memory) {
            continue;
        }
        let source = words(unit.side(lang));
        let len = source.len();
        if len == 0 || len >= n || len > crate::matching::MAX_SUBSEGMENT_WORDS {
            continue;
        }
        if len == 1
            && (Placeable::of(&source[0], lang).is_some()
                || source[0].chars().count() < crate::memory::MIN_SINGLE_WORD_CHARS)
        {
            continue;
        }
        for start in 0..=n - len {
            if query[start..start + len] == source[..] {
                hits.push((len, start, unit.changed_or_created_ms(), unit.id));
            }
        }
    }
    hits.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(b.2.cmp(&a.2)).then(b.3.cmp(&a.3)));
    hits.into_iter().map(|(len, start, _, id)| (id, start, len)).collect()
}
