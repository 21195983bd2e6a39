//! Explaining a match from its texts: the alignment as edits with character
//! ranges, the score with every penalty named, and the stored target repaired
//! when query and source differ in placeables.
//!
//! This is the reference scorer: the index computes the same alignment cost
//! from word ids (see [`super::align`]), and the explanation's score is the
//! score a client sees.

use std::collections::BTreeMap;
use std::ops::Range;

use super::align::{align, Cost, Relation, Step};
use super::score::{
    counted_tenths, edited_word_score, symbol_score, symbols, unnormalized, Penalty, MAX_NORMALIZATION_PENALTY,
    PLACEABLE_POINTS,
};
use crate::text::{
    differences, fold_word, tokens, ArabicCount, DigitScript, Folds, Lang, NumberStyle, NumberValue, Placeable, Token,
};

/// What an edit does to a stored source word (or where a query word has
/// none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditKind {
    /// The same word, written the same way.
    Equal,
    /// The same word after normalization (diacritics, hamza, digits, case…).
    Normalized,
    /// The same stem: a clitic or suffix apart (والشركة / الشركات, model / models).
    Variant,
    /// Another placeable of the same kind (a number, a Latin name, a URL…).
    Placeable,
    /// A different word.
    Substitute,
    /// A query word the source lacks.
    Insert,
    /// A source word the query lacks.
    Delete,
}

impl EditKind {
    /// The stable machine name clients see.
    pub fn name(self) -> &'static str {
        match self {
            EditKind::Equal => "equal",
            EditKind::Normalized => "normalized",
            EditKind::Variant => "variant",
            EditKind::Placeable => "placeable",
            EditKind::Substitute => "substitute",
            EditKind::Insert => "insert",
            EditKind::Delete => "delete",
        }
    }
}

/// One word-level step from the stored source to the query. Ranges are in
/// characters (Unicode scalar values) of the query and of the stored source,
/// end exclusive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub kind: EditKind,
    pub query: Option<Range<usize>>,
    pub source: Option<Range<usize>>,
}

/// Something the translator should check in a match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub kind: &'static str,
    pub message: String,
}

/// A scored, explained match of a query with one stored unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    pub score: u8,
    /// The score of the words alone, before penalties: 100 without word
    /// edits, else `min(94, ⌊100 × (1 − c' / max(n, m))⌋)` (see
    /// [`super::score`]; for two segments without words, their symbols'
    /// score).
    pub word_score: u8,
    pub cost: Cost,
    /// Substituted, inserted and deleted words.
    pub word_edits: usize,
    /// Words replaced by a morphological variant.
    pub variants: usize,
    pub query_words: usize,
    pub source_words: usize,
    pub penalties: Vec<Penalty>,
    pub edits: Vec<Edit>,
    pub warnings: Vec<Warning>,
    /// The stored target with the query's placeables put in, when query and
    /// source differ in placeables and every one could be placed.
    pub repaired_target: Option<String>,
    /// An exact match whose stored context is the lookup's (score 101).
    pub in_context: bool,
}

impl Explanation {
    /// Points taken off by the penalties.
    pub fn penalty_points(&self) -> u32 {
        self.penalties.iter().map(|p| u32::from(p.points)).sum()
    }
}

/// How query word `i` relates to source word `j`.
fn relation(q: &Token, s: &Token) -> Relation {
    if q.surface == s.surface {
        Relation::Same
    } else if q.key != s.key {
        Relation::Different
    } else if q.placeable.is_some() {
        Relation::Placeable
    } else {
        Relation::Variant
    }
}

/// Explains the match of `query` (in `lang`) with a stored unit whose side in
/// `lang` is `source` and whose other side is `target`.
pub fn explain(query: &str, source: &str, target: &str, lang: Lang) -> Explanation {
    explain_tokens(query, &tokens(query, lang), source, &tokens(source, lang), target, lang)
}

/// [`explain`] with the words of query and source already found
/// ([`tokens`]`(query, lang)`, [`tokens`]`(source, lang)`).
pub fn explain_tokens(query: &str, q: &[Token], source: &str, s: &[Token], target: &str, lang: Lang) -> Explanation {
    let (cost, steps) = align(q.len(), s.len(), |i, j| relation(&q[i], &s[j]));

    let mut edits = Vec::with_capacity(steps.len());
    let mut substitutions = Vec::new();
    let (mut word_edits, mut variants) = (0, 0);
    for step in steps {
        let edit = match step {
            Step::Pair(i, j, relation) => {
                let kind = match relation {
                    Relation::Same if q[i].text(query) == s[j].text(source) => EditKind::Equal,
                    Relation::Same => EditKind::Normalized,
                    Relation::Variant => {
                        variants += 1;
                        EditKind::Variant
                    }
                    Relation::Placeable => {
                        substitutions.push((i, j));
                        EditKind::Placeable
                    }
                    Relation::Different => {
                        word_edits += 1;
                        EditKind::Substitute
                    }
                };
                Edit { kind, query: Some(q[i].chars.clone()), source: Some(s[j].chars.clone()) }
            }
            Step::Insert(i) => {
                word_edits += 1;
                Edit { kind: EditKind::Insert, query: Some(q[i].chars.clone()), source: None }
            }
            Step::Delete(j) => {
                word_edits += 1;
                Edit { kind: EditKind::Delete, query: None, source: Some(s[j].chars.clone()) }
            }
        };
        edits.push(edit);
    }

    let mut penalties = Vec::new();
    // Segments without words compare their symbols (see `score`).
    let symbol_score = if q.is_empty() && s.is_empty() {
        let (a, b) = (symbols(query), symbols(source));
        (a != b).then(|| symbol_score(&a, &b))
    } else {
        None
    };
    let word_score = symbol_score.unwrap_or_else(|| edited_word_score(cost, q.len(), s.len()));
    let score = if query == source {
        100
    } else if let Some(score) = symbol_score {
        score
    } else if counted_tenths(cost, q.len(), s.len()) == 0 {
        // Equal words up to placeables: name the spelling differences of the
        // rest (the source with the query's placeables put in).
        let mut masked = source.to_owned();
        for &(i, j) in substitutions.iter().rev() {
            masked.replace_range(s[j].bytes.clone(), q[i].text(query));
        }
        let mut spelling: Vec<Penalty> = differences(query, &masked)
            .into_iter()
            .map(|kind| Penalty { kind: kind.name().into(), points: 1, reason: kind.reason().into() })
            .collect();
        if spelling.is_empty() && substitutions.is_empty() {
            spelling.push(Penalty {
                kind: "other_characters".into(),
                points: 1,
                reason: "differs in characters that do not change the words".into(),
            });
        }
        let spelling_points = (spelling.len() as u8).min(MAX_NORMALIZATION_PENALTY);
        penalties.extend(spelling);
        unnormalized(cost, q.len(), s.len()).saturating_sub(spelling_points)
    } else {
        unnormalized(cost, q.len(), s.len())
    };
    for &(i, j) in &substitutions {
        let kind = q[i].placeable.expect("placeable pairs are placeables");
        penalties.push(Penalty {
            kind: format!("placeable_{}", kind.name()),
            points: PLACEABLE_POINTS,
            reason: format!(
                "{} {:?} in the stored source is {:?} in the query",
                kind.name(),
                s[j].text(source),
                q[i].text(query)
            ),
        });
    }

    let (repaired_target, warnings) = if substitutions.is_empty() {
        (None, Vec::new())
    } else {
        repair(&Sides { q, s, query, source }, &substitutions, target, lang.other())
    };

    Explanation {
        score,
        word_score,
        cost,
        word_edits,
        variants,
        query_words: q.len(),
        source_words: s.len(),
        penalties,
        edits,
        warnings,
        repaired_target,
        in_context: false,
    }
}

struct Sides<'a> {
    q: &'a [Token],
    s: &'a [Token],
    query: &'a str,
    source: &'a str,
}

/// Where a placeable's value sits in a text: a whole token, or (in the
/// target) a name before a possessive (`Momentum's`) or a number inside a
/// hyphenated token. The value is a number's canonical form (`#1000`), or
/// otherwise the normalized surface.
struct Piece {
    bytes: Range<usize>,
    value: String,
    number: Option<NumberValue>,
}

impl Piece {
    fn number(bytes: Range<usize>, number: NumberValue) -> Piece {
        Piece { bytes, value: format!("#{}", number.canonical), number: Some(number) }
    }

    /// The whole token. A number written in mixed digit scripts (`٢٠١5`)
    /// or in full-width digits is read from its surface.
    fn whole(token: &Token, text: &str) -> Piece {
        let folded = || match token.placeable {
            Some(Placeable::Number) => NumberValue::parse(&token.surface).map(|n| (0, n)),
            _ => None,
        };
        match number_in(token.text(text)).or_else(folded) {
            Some((offset, number)) => Piece::number(token.bytes.start + offset..token.bytes.end, number),
            None => Piece { bytes: token.bytes.clone(), value: token.surface.clone(), number: None },
        }
    }

    /// The whole token and the pieces inside it.
    fn all(token: &Token, text: &str) -> Vec<Piece> {
        let whole = Piece::whole(token, text);
        if whole.number.is_some() {
            return vec![whole];
        }
        let word = token.text(text);
        let mut found = vec![whole];
        if let Some(apostrophe) = word.find(['\'', '\u{2019}']) {
            let bytes = token.bytes.start..token.bytes.start + apostrophe;
            found.push(Piece { bytes, value: fold_word(&word[..apostrophe], Folds::ALL), number: None });
        }
        if word.contains('-') {
            let mut at = token.bytes.start;
            for part in word.split('-') {
                if let Some(number) = NumberValue::parse(part) {
                    found.push(Piece::number(at..at + part.len(), number));
                }
                at += part.len() + 1;
            }
        }
        found
    }
}

/// The number a token holds, with its byte offset in the token: a plain
/// number, or a dollar amount (`$5`, which reads like a placeholder).
fn number_in(word: &str) -> Option<(usize, NumberValue)> {
    match word.strip_prefix('$') {
        Some(amount) => NumberValue::parse(amount).map(|n| (1, n)),
        None => NumberValue::parse(word).map(|n| (0, n)),
    }
}

/// Puts the query's placeables into `target` in place of the source's.
fn repair(
    sides: &Sides<'_>,
    substitutions: &[(usize, usize)],
    target: &str,
    target_lang: Lang,
) -> (Option<String>, Vec<Warning>) {
    let Sides { q, s, query, source } = *sides;
    let t = tokens(target, target_lang);
    let source_values: Vec<String> = s.iter().map(|tok| Piece::whole(tok, source).value).collect();
    let query_value = |i: usize| Piece::whole(&q[i], query).value;
    let mut warnings = Vec::new();
    // Source value → the query tokens that replace it.
    let mut by_value: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for &(i, j) in substitutions {
        by_value.entry(&source_values[j]).or_default().push(i);
    }
    let mut replacements: Vec<(Range<usize>, String)> = Vec::new();
    let mut complete = true;
    for (&value, replaced_by) in &by_value {
        let new_text = q[replaced_by[0]].text(query);
        let new_value = query_value(replaced_by[0]);
        let in_source = source_values.iter().filter(|v| *v == value).count();
        let in_target: Vec<Piece> =
            t.iter().flat_map(|tok| Piece::all(tok, target)).filter(|piece| piece.value == value).collect();
        let shown = value.trim_start_matches('#');
        if replaced_by.iter().any(|&i| query_value(i) != new_value) || in_source != replaced_by.len() {
            warnings.push(Warning {
                kind: "placeable_ambiguous",
                message: format!("{shown:?} occurs more than once in the stored source and not every occurrence changed: the target was not repaired"),
            });
            complete = false;
            continue;
        }
        if in_target.len() != in_source {
            warnings.push(Warning {
                kind: "placeable_not_in_target",
                message: format!(
                    "{shown:?} occurs {in_source} time(s) in the stored source and {} time(s) in the stored target: the target was not repaired",
                    in_target.len()
                ),
            });
            complete = false;
            continue;
        }
        let new_number = Piece::whole(&q[replaced_by[0]], query).number;
        for old in in_target {
            match (old.number, &new_number) {
                (Some(old_number), Some(new_number)) => {
                    let style = target_style(old_number.style, new_number.style);
                    replacements.push((old.bytes, NumberValue::render(&new_number.canonical, style)));
                    warnings.extend(agreement(&old_number, new_number, target_lang));
                }
                _ => replacements.push((old.bytes, new_text.to_owned())),
            }
        }
    }
    if !complete {
        return (None, warnings);
    }
    replacements.sort_by_key(|(range, _)| range.start);
    let mut repaired = target.to_owned();
    for (range, text) in replacements.into_iter().rev() {
        repaired.replace_range(range, &text);
    }
    (Some(repaired), warnings)
}

/// The style a new number takes in the target: the digits and separators of
/// the number it replaces, grouped if either was.
fn target_style(old: NumberStyle, new: NumberStyle) -> NumberStyle {
    let grouping = old.grouping.or_else(|| {
        new.grouping.map(|_| match old.script {
            DigitScript::Western => ',',
            _ => '\u{066C}',
        })
    });
    NumberStyle { script: old.script, grouping, decimal: old.decimal }
}

/// A warning when a changed number changes the form of the noun it counts in
/// the target.
fn agreement(old: &NumberValue, new: &NumberValue, target_lang: Lang) -> Option<Warning> {
    let (Some(a), Some(b)) = (old.integer(), new.integer()) else { return None };
    match target_lang {
        Lang::Arabic => {
            let (before, after) = (ArabicCount::of(a), ArabicCount::of(b));
            (before != after).then(|| Warning {
                kind: "arabic_number_agreement",
                message: format!(
                    "{a} takes {} but {b} takes {}: check the counted noun after {b} in the repaired target",
                    before.describe(),
                    after.describe()
                ),
            })
        }
        Lang::English => ((a == 1) != (b == 1)).then(|| Warning {
            kind: "english_number_agreement",
            message: format!("{a} → {b}: check singular/plural of the noun after {b} in the repaired target"),
        }),
    }
}

#[cfg(test)]
mod tests;
