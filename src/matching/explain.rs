//! Explaining a match from its texts: the alignment as edits with character
//! ranges, the score with every penalty named, and the stored target repaired
//! when query and source differ in placeables.
//!
//! This is the reference scorer: the index computes the same alignment cost
//! from word ids (see [`super::align`]), and the explanation's score is the
//! score a client sees.

use std::collections::BTreeMap;
use std::ops::Range;

use super::align::{self, align, Cost, Relation, Step};
use super::score::{
    counted_tenths, edited_word_score, symbol_score, symbols, unnormalized, Penalty, MAX_NORMALIZATION_PENALTY,
    PLACEABLE_POINTS,
};
use crate::text::{
    differences, fold_word, number_spans, tokens, ArabicCount, DigitScript, Folds, Lang, NumberSpan, NumberStyle,
    NumberValue, Token,
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
    let sides = Sides { q, s, query, source };
    let Edits { edits, substitutions, word_edits, variants } = edits(&sides, steps);

    let mut penalties = Vec::new();
    // Segments without words compare their symbols (see `score`).
    let symbol_score = if q.is_empty() && s.is_empty() {
        let (a, b) = (symbols(query), symbols(source));
        (a != b).then(|| symbol_score(&a, &b))
    } else {
        None
    };
    let word_score = symbol_score.unwrap_or_else(|| edited_word_score(cost, q.len(), s.len()));
    let score = if let Some(score) = score_of_edits(query, q, source, s, cost) {
        score
    } else if query == source {
        100
    } else if let Some(score) = symbol_score {
        score
    } else {
        // No word edited: spelling differences take points off.
        let spelling = spelling_penalties(&sides, &substitutions);
        let spelling_points = (spelling.len() as u8).min(MAX_NORMALIZATION_PENALTY);
        penalties.extend(spelling);
        unnormalized(cost, q.len(), s.len()).saturating_sub(spelling_points)
    };
    penalties.extend(substitutions.iter().map(|&(i, j)| placeable_penalty(&sides, i, j)));

    let (repaired_target, warnings) = if substitutions.is_empty() {
        (None, Vec::new())
    } else {
        repair(&sides, &substitutions, target, lang.other())
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

/// The score [`explain_tokens`] gives the same words, when the alignment's
/// cost alone decides it: words were edited (the counted cost is above
/// zero), so neither spelling points nor an identical text nor symbols play
/// a part. `None` otherwise. Costs one alignment without its steps: a
/// lookup ranks the candidates that tie on it without explaining them.
pub fn edited_score(query: &str, q: &[Token], source: &str, s: &[Token]) -> Option<u8> {
    if query == source || (q.is_empty() && s.is_empty()) {
        return None;
    }
    score_of_edits(query, q, source, s, align::cost(q.len(), s.len(), |i, j| relation(&q[i], &s[j])))
}

/// The score of an alignment of `cost` when its word edits decide it (see
/// [`edited_score`]): the one rule [`explain_tokens`] and lookups share.
fn score_of_edits(query: &str, q: &[Token], source: &str, s: &[Token], cost: Cost) -> Option<u8> {
    let decides = query != source && !(q.is_empty() && s.is_empty()) && counted_tenths(cost, q.len(), s.len()) > 0;
    decides.then(|| unnormalized(cost, q.len(), s.len()))
}

/// The alignment's steps as edits, with what the score counts of them.
struct Edits {
    edits: Vec<Edit>,
    /// Placeable substitutions: (query token, source token).
    substitutions: Vec<(usize, usize)>,
    word_edits: usize,
    variants: usize,
}

fn edits(sides: &Sides<'_>, steps: Vec<Step>) -> Edits {
    let Sides { q, s, query, source } = *sides;
    let mut out =
        Edits { edits: Vec::with_capacity(steps.len()), substitutions: Vec::new(), word_edits: 0, variants: 0 };
    for step in steps {
        let edit = match step {
            Step::Pair(i, j, relation) => {
                let kind = match relation {
                    Relation::Same if q[i].text(query) == s[j].text(source) => EditKind::Equal,
                    Relation::Same => EditKind::Normalized,
                    Relation::Variant => {
                        out.variants += 1;
                        EditKind::Variant
                    }
                    Relation::Placeable => {
                        out.substitutions.push((i, j));
                        EditKind::Placeable
                    }
                    Relation::Different => {
                        out.word_edits += 1;
                        EditKind::Substitute
                    }
                };
                Edit { kind, query: Some(q[i].chars.clone()), source: Some(s[j].chars.clone()) }
            }
            Step::Insert(i) => {
                out.word_edits += 1;
                Edit { kind: EditKind::Insert, query: Some(q[i].chars.clone()), source: None }
            }
            Step::Delete(j) => {
                out.word_edits += 1;
                Edit { kind: EditKind::Delete, query: None, source: Some(s[j].chars.clone()) }
            }
        };
        out.edits.push(edit);
    }
    out
}

/// Equal words up to placeables: the spelling differences of the rest,
/// named (the source with the query's placeables put in, compared with the
/// query); `other_characters` when texts differ in nothing else that has a
/// name.
fn spelling_penalties(sides: &Sides<'_>, substitutions: &[(usize, usize)]) -> Vec<Penalty> {
    let Sides { q, s, query, source } = *sides;
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
    spelling
}

/// The named penalty of one placeable substitution.
fn placeable_penalty(sides: &Sides<'_>, i: usize, j: usize) -> Penalty {
    let Sides { q, s, query, source } = *sides;
    let kind = q[i].placeable.expect("placeable pairs are placeables");
    Penalty {
        kind: format!("placeable_{}", kind.name()),
        points: PLACEABLE_POINTS,
        reason: format!(
            "{} {:?} in the stored source is {:?} in the query",
            kind.name(),
            s[j].text(source),
            q[i].text(query)
        ),
    }
}

struct Sides<'a> {
    q: &'a [Token],
    s: &'a [Token],
    query: &'a str,
    source: &'a str,
}

/// Where a name-like placeable (a Latin name, a URL, a placeholder…) sits in
/// the target: a whole token, or a name before a possessive (`Momentum's`).
/// Its value is the normalized surface.
struct Piece {
    bytes: Range<usize>,
    value: String,
}

impl Piece {
    /// The whole token and the name before its possessive, if it has one.
    fn all(token: &Token, text: &str) -> Vec<Piece> {
        let word = token.text(text);
        let mut found = vec![Piece { bytes: token.bytes.clone(), value: token.surface.clone() }];
        if let Some(apostrophe) = word.find(['\'', '\u{2019}']) {
            let bytes = token.bytes.start..token.bytes.start + apostrophe;
            found.push(Piece { bytes, value: fold_word(&word[..apostrophe], Folds::ALL) });
        }
        found
    }
}

/// The numbers of one text and, for each, the amount it is taken to mean:
/// its first reading that the other side of the unit also holds (so that
/// Arabic `77.000` means 77000 next to English `77,000`), else its first.
struct Numbers {
    spans: Vec<NumberSpan>,
    /// Index into each span's readings.
    chosen: Vec<usize>,
}

impl Numbers {
    fn new(text: &str, lang: Lang, other: &[NumberSpan]) -> Numbers {
        let spans = number_spans(text, lang);
        let amounts: Vec<String> = other.iter().flat_map(|o| o.readings.iter().map(NumberValue::amount)).collect();
        let chosen = spans
            .iter()
            .map(|span| span.readings.iter().position(|r| amounts.contains(&r.amount())).unwrap_or(0))
            .collect();
        Numbers { spans, chosen }
    }

    fn value(&self, k: usize) -> &NumberValue {
        &self.spans[k].readings[self.chosen[k]]
    }

    fn amount(&self, k: usize) -> String {
        self.value(k).amount()
    }

    /// The spans that overlap `bytes`.
    fn overlapping(&self, bytes: &Range<usize>) -> Vec<usize> {
        (0..self.spans.len())
            .filter(|&k| self.spans[k].bytes.start < bytes.end && bytes.start < self.spans[k].bytes.end)
            .collect()
    }

    /// Whether the amount is among the readings of `other`'s numbers.
    fn shared(&self, k: usize, other: &Numbers) -> bool {
        let amount = self.amount(k);
        (0..other.spans.len()).any(|o| other.amount(o) == amount)
    }
}

/// What is left of a token once a number inside it is taken out: the
/// currency sign or unit glued to it (`$`, `GB`), compared without case.
fn glued(token: &Token, text: &str, span: &Range<usize>) -> String {
    let bytes = &token.bytes;
    let before = &text[bytes.start..span.start.max(bytes.start)];
    let after = &text[span.end.min(bytes.end)..bytes.end];
    format!("{before}\u{0}{after}").to_lowercase()
}

/// The query's reading of its number that uses separators as the source's
/// reading does (`85.500` groups thousands where `77.000` did), else its
/// first.
fn reading_like<'a>(readings: &'a [NumberValue], like: &NumberValue) -> &'a NumberValue {
    let roles =
        |n: &NumberValue| (n.style.grouping.is_some(), n.style.decimal.is_some(), n.canonical.matches('.').count());
    readings.iter().find(|r| roles(r) == roles(like)).unwrap_or(&readings[0])
}

/// Puts the query's placeables into `target` in place of the source's.
/// Numbers are found by their value in the target, however the target
/// writes them (separators, digits, a currency sign or unit glued on), and
/// the new value is written as the target writes the old one. A value the
/// source holds several times is repaired occurrence by occurrence, in order,
/// when the target holds it as often and keeps the source's order of
/// numbers.
fn repair(
    sides: &Sides<'_>,
    substitutions: &[(usize, usize)],
    target: &str,
    target_lang: Lang,
) -> (Option<String>, Vec<Warning>) {
    let Sides { query, source, .. } = *sides;
    let source_lang = target_lang.other();
    let t = tokens(target, target_lang);
    let target_spans = number_spans(target, target_lang);
    let src = Numbers::new(source, source_lang, &target_spans);
    let tgt = Numbers::new(target, target_lang, &src.spans);
    let qry = Numbers { spans: number_spans(query, source_lang), chosen: Vec::new() };
    let mut out = Repair { replacements: Vec::new(), warnings: Vec::new(), complete: true };
    let (changed, names) = changed_placeables(sides, substitutions, &qry, &src, &mut out);

    let numbers = NumberRepair { src: &src, tgt: &tgt, qry: &qry, source, target, target_lang, changed: &changed };
    let mut done_amounts = Vec::new();
    for &b in changed.keys() {
        let amount = src.amount(b);
        if done_amounts.contains(&amount) {
            continue;
        }
        done_amounts.push(amount.clone());
        numbers.repair(b, &amount, &mut out);
    }

    for (&value, replaced_by) in &names {
        repair_name(sides, &t, target, value, replaced_by, &mut out);
    }
    if !out.complete {
        return (None, out.warnings);
    }
    out.replacements.sort_by_key(|(range, _)| range.start);
    let mut repaired = target.to_owned();
    for (range, text) in out.replacements.into_iter().rev() {
        repaired.replace_range(range, &text);
    }
    (Some(repaired), out.warnings)
}

/// What a repair gathers: the target's replacements, the warnings, and
/// whether every change could be carried to the target.
struct Repair {
    replacements: Vec<(Range<usize>, String)>,
    warnings: Vec<Warning>,
    complete: bool,
}

impl Repair {
    /// A change the target cannot take: warned about, the target is not
    /// repaired.
    fn give_up(&mut self, kind: &'static str, message: String) {
        self.warnings.push(Warning { kind, message });
        self.complete = false;
    }
}

/// The substituted placeables: source number → the query number that
/// replaces it; other placeables by their surface (→ the query tokens that
/// replace them).
fn changed_placeables<'a>(
    sides: &Sides<'a>,
    substitutions: &[(usize, usize)],
    qry: &Numbers,
    src: &Numbers,
    out: &mut Repair,
) -> (BTreeMap<usize, usize>, BTreeMap<&'a str, Vec<usize>>) {
    let Sides { q, s, query, source } = *sides;
    let mut changed_numbers: BTreeMap<usize, usize> = BTreeMap::new();
    let mut names: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for &(i, j) in substitutions {
        match (qry.overlapping(&q[i].bytes).as_slice(), src.overlapping(&s[j].bytes).as_slice()) {
            ([a], [b]) => {
                let (qa, sb) = (&qry.spans[*a].bytes, &src.spans[*b].bytes);
                if glued(&q[i], query, qa) != glued(&s[j], source, sb) {
                    out.give_up(
                        "placeable_unit_changed",
                        format!(
                            "{:?} in the stored source is {:?} in the query: the sign or unit around the number changed, the target was not repaired",
                            s[j].text(source),
                            q[i].text(query)
                        ),
                    );
                } else if *changed_numbers.entry(*b).or_insert(*a) != *a {
                    out.complete = false;
                }
            }
            _ => names.entry(s[j].surface.as_str()).or_default().push(i),
        }
    }
    (changed_numbers, names)
}

/// The numbers of a repair: the stored source's, the stored target's and
/// the query's, and `changed`: source number → the query number that
/// replaces it.
struct NumberRepair<'a> {
    src: &'a Numbers,
    tgt: &'a Numbers,
    qry: &'a Numbers,
    source: &'a str,
    target: &'a str,
    target_lang: Lang,
    changed: &'a BTreeMap<usize, usize>,
}

impl<'a> NumberRepair<'a> {
    /// Carries the change of source number `b` to every occurrence of its
    /// amount in the target.
    fn repair(&self, b: usize, amount: &str, out: &mut Repair) {
        let Some(pairs) = self.pairs(b, amount, out) else { return };
        for (k, fate) in pairs {
            let Some(new) = fate else { continue };
            let old = self.tgt.value(k);
            let mut bytes = self.tgt.spans[k].bytes.clone();
            let mut text = render_like(new, old, &self.tgt.spans);
            if let (Lang::English, Some(n)) = (self.target_lang, new.integer()) {
                // 21st → 22nd.
                let after = &self.target[bytes.end..];
                let letters = after.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(after.len());
                if ["st", "nd", "rd", "th"].iter().any(|o| after[..letters].eq_ignore_ascii_case(o)) {
                    bytes.end += letters;
                    text.push_str(&match_case(ordinal_suffix(n), &after[..letters]));
                }
            }
            out.replacements.push((bytes, text));
            out.warnings.extend(agreement(old, new, self.target_lang));
        }
    }

    /// Each occurrence of the amount in the target with its new value
    /// (None: unchanged), or `None` (warned about) when which to change is
    /// unclear.
    fn pairs(&self, b: usize, amount: &str, out: &mut Repair) -> Option<Vec<(usize, Option<&'a NumberValue>)>> {
        let (src, tgt, qry) = (self.src, self.tgt, self.qry);
        let shown = &self.source[src.spans[b].bytes.clone()];
        let in_source: Vec<usize> = (0..src.spans.len()).filter(|&k| src.amount(k) == amount).collect();
        let in_target: Vec<usize> = (0..tgt.spans.len()).filter(|&k| tgt.amount(k) == amount).collect();
        // The new value of each occurrence in the source (None: unchanged).
        let fates: Vec<Option<&NumberValue>> = in_source
            .iter()
            .map(|k| self.changed.get(k).map(|&a| reading_like(&qry.spans[a].readings, src.value(*k))))
            .collect();
        let same_fate = fates.windows(2).all(|w| match (w[0], w[1]) {
            (Some(x), Some(y)) => x.amount() == y.amount(),
            (None, None) => true,
            _ => false,
        });
        if in_target.is_empty() {
            out.give_up(
                "placeable_not_in_target",
                format!(
                    "{shown:?} occurs {} time(s) in the stored source and not in the stored target: the target was not repaired",
                    in_source.len()
                ),
            );
            return None;
        }
        if in_target.len() != in_source.len() {
            out.give_up(
                "placeable_ambiguous",
                format!(
                    "{shown:?} occurs {} time(s) in the stored source and {} time(s) in the stored target: which to change is unclear, the target was not repaired",
                    in_source.len(),
                    in_target.len()
                ),
            );
            return None;
        }
        if same_fate {
            // Every occurrence changes alike: every one in the target does.
            return Some(in_target.iter().map(|&k| (k, fates[0])).collect());
        }
        self.pairs_by_order(shown, &in_target, fates, out)
    }

    /// When not every occurrence changes alike: occurrence by occurrence,
    /// provided the target keeps the source's order of numbers.
    fn pairs_by_order(
        &self,
        shown: &str,
        in_target: &[usize],
        fates: Vec<Option<&'a NumberValue>>,
        out: &mut Repair,
    ) -> Option<Vec<(usize, Option<&'a NumberValue>)>> {
        let (src, tgt) = (self.src, self.tgt);
        // As many occurrences in the source (`fates`) as in the target.
        let in_source = fates.len();
        let order = |this: &Numbers, other: &Numbers| -> Vec<String> {
            (0..this.spans.len()).filter(|&k| this.shared(k, other)).map(|k| this.amount(k)).collect()
        };
        if order(src, tgt) != order(tgt, src) {
            out.give_up(
                "placeable_ambiguous",
                format!(
                    "{shown:?} occurs {in_source} times in the stored source and in the stored target, not every occurrence changed, and the target does not keep the source's order of numbers: the target was not repaired"
                ),
            );
            return None;
        }
        let changes: Vec<String> = fates
            .iter()
            .enumerate()
            .map(|(n, fate)| match fate {
                Some(new) => format!("occurrence {} → {}", n + 1, new.canonical),
                None => format!("occurrence {} unchanged", n + 1),
            })
            .collect();
        out.warnings.push(Warning {
            kind: "placeable_repaired_by_order",
            message: format!(
                "{shown:?} occurs {in_source} times in the stored source and in the stored target, in the same order of numbers: repaired occurrence by occurrence ({})",
                changes.join(", ")
            ),
        });
        Some(in_target.iter().copied().zip(fates).collect())
    }
}

/// Carries the change of a placeable other than a number (`value`, its
/// surface, replaced by the query tokens `replaced_by`) to the target.
fn repair_name(sides: &Sides<'_>, t: &[Token], target: &str, value: &str, replaced_by: &[usize], out: &mut Repair) {
    let Sides { q, s, query, .. } = *sides;
    let new_text = q[replaced_by[0]].text(query);
    let in_source = s.iter().filter(|tok| tok.surface == value).count();
    let in_target: Vec<Piece> =
        t.iter().flat_map(|tok| Piece::all(tok, target)).filter(|piece| piece.value == value).collect();
    if replaced_by.iter().any(|&i| q[i].surface != q[replaced_by[0]].surface) || in_source != replaced_by.len() {
        out.give_up(
            "placeable_ambiguous",
            format!("{value:?} occurs more than once in the stored source and not every occurrence changed: the target was not repaired"),
        );
        return;
    }
    if in_target.len() != in_source {
        out.give_up(
            "placeable_not_in_target",
            format!(
                "{value:?} occurs {in_source} time(s) in the stored source and {} time(s) in the stored target: the target was not repaired",
                in_target.len()
            ),
        );
        return;
    }
    out.replacements.extend(in_target.into_iter().map(|piece| (piece.bytes, new_text.to_owned())));
}

/// The English ordinal ending of `n`: 1st, 2nd, 3rd, 4th, 11th, 21st.
fn ordinal_suffix(n: u64) -> &'static str {
    match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    }
}

/// `suffix` in upper case when `like` was.
fn match_case(suffix: &str, like: &str) -> String {
    if like.chars().all(|c| c.is_ascii_uppercase()) {
        suffix.to_ascii_uppercase()
    } else {
        suffix.to_owned()
    }
}

/// `new` written as the target writes `old`: its digits, its thousands and
/// decimal separators. A target that wrote a long number without grouping
/// keeps long numbers ungrouped; a separator the old number did not show is
/// taken from the target's other numbers, else the usual one for its digits
/// (`.` and `,` in Western digits, `٫` and `٬` in Arabic-Indic ones, `,` for
/// decimals where `.` groups thousands).
fn render_like(new: &NumberValue, old: &NumberValue, target_numbers: &[NumberSpan]) -> String {
    let old_whole = old.canonical.split('.').next().map_or(0, str::len);
    let others = || target_numbers.iter().map(|span| span.readings[0].style);
    let arabic_indic = old.style.script != DigitScript::Western;
    let grouping = old.style.grouping.or_else(|| {
        (old_whole < 4 && new.style.grouping.is_some())
            .then(|| others().find_map(|style| style.grouping).unwrap_or(if arabic_indic { '\u{066C}' } else { ',' }))
    });
    let decimal = old.style.decimal.or_else(|| others().find_map(|style| style.decimal)).unwrap_or(
        match (arabic_indic, grouping) {
            (true, _) => '\u{066B}',
            (false, Some('.')) => ',',
            (false, _) => '.',
        },
    );
    NumberValue::render(&new.canonical, NumberStyle { script: old.style.script, grouping, decimal: Some(decimal) })
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
