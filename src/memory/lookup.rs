//! Lookups: validated queries, the matches they return, and ranking.

use std::cmp::Reverse;

use super::Shared;
use crate::error::{Error, Result};
use crate::matching::{explain_tokens, similarity, unnormalized, Explanation};
use crate::text::{tokens, Lang, Token};
use crate::unit::{check_segment, memory_name, Unit};

/// The CAT-tool convention: matches below 70 % are rarely worth editing.
pub const DEFAULT_MIN_SCORE: u8 = 70;
/// Matches returned when the request does not say.
pub const DEFAULT_MAX_RESULTS: usize = 5;
/// Most matches one lookup may ask for.
pub const MAX_RESULTS_LIMIT: usize = 100;
/// The highest score there is (an in-context exact match).
pub const MAX_SCORE: u8 = 101;

/// A lookup as a client sends it, before validation.
#[derive(Debug, Clone, Default)]
pub struct LookupRequest {
    pub text: String,
    pub source_lang: String,
    pub min_score: Option<u32>,
    pub max_results: Option<u32>,
    pub memories: Vec<String>,
    /// Compare with every unit instead of using the index (same answer,
    /// slower: for checking).
    pub exhaustive: bool,
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
}

impl LookupRequest {
    /// Checks every field; errors name the field.
    pub fn validate(self) -> Result<Lookup> {
        check_segment(&self.text, "text")?;
        let lang = Lang::parse(&self.source_lang, "source_lang")?;
        let min_score = match self.min_score {
            None => DEFAULT_MIN_SCORE,
            Some(s) if s <= MAX_SCORE as u32 => s as u8,
            Some(s) => {
                return Err(Error::invalid("min_score", format!("is {s}; it must be between 0 and {MAX_SCORE}")))
            }
        };
        let max_results = match self.max_results {
            None => DEFAULT_MAX_RESULTS,
            Some(n) if (1..=MAX_RESULTS_LIMIT as u32).contains(&n) => n as usize,
            Some(n) => {
                return Err(Error::invalid(
                    "max_results",
                    format!("is {n}; it must be between 1 and {MAX_RESULTS_LIMIT}"),
                ))
            }
        };
        let memories = self
            .memories
            .iter()
            .enumerate()
            .map(|(i, name)| {
                if name.is_empty() {
                    return Err(Error::invalid(format!("memories[{i}]"), "must not be empty"));
                }
                memory_name(name, &format!("memories[{i}]"))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Lookup { text: self.text, lang, min_score, max_results, memories, exhaustive: self.exhaustive })
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

    /// Explains the unit as a match for the lookup; also returns the
    /// character similarity of the normalized texts, the tie-break between
    /// equal scores.
    fn of(unit: Unit, lookup: &Lookup, query: &QueryWords) -> (Match, f64) {
        let source = unit.side(lookup.lang);
        let source_tokens = tokens(source, lookup.lang);
        let explanation = explain_tokens(
            &lookup.text,
            &query.tokens,
            source,
            &source_tokens,
            unit.side(lookup.lang.other()),
            lookup.lang,
        );
        let tie_break = similarity(&query.normalized, &normalized(&source_tokens));
        (Match { score: explanation.score, unit, lang: lookup.lang, explanation }, tie_break)
    }
}

/// The query's words, read once per lookup.
struct QueryWords {
    tokens: Vec<Token>,
    normalized: String,
}

/// The normalized words, space-separated.
fn normalized(tokens: &[Token]) -> String {
    tokens.iter().map(|t| t.surface.as_str()).collect::<Vec<_>>().join(" ")
}

/// Finds the best matches: candidates whose score can reach the minimum,
/// scored by the one alignment, ranked by score, then character similarity
/// of the normalized texts, then newest first.
pub(super) fn find(shared: &Shared, lookup: &Lookup) -> Result<Vec<Match>> {
    let query_tokens = tokens(&lookup.text, lookup.lang);
    let query_words = QueryWords { normalized: normalized(&query_tokens), tokens: query_tokens };
    let candidates = {
        let index = shared.index.read();
        let memories = lookup
            .memories
            .iter()
            .enumerate()
            .map(|(i, name)| {
                index
                    .memory_id(name)
                    .ok_or_else(|| Error::not_found(format!("memories[{i}]"), format!("no memory is named {name:?}")))
            })
            .collect::<Result<Vec<u32>>>()?;
        let query = index.encode(&query_words.tokens, lookup.lang);
        let memories = (!memories.is_empty()).then_some(memories.as_slice());
        if lookup.exhaustive {
            index.scan(&query, memories, lookup.min_score)
        } else {
            index.candidates(&query, memories, lookup.min_score, lookup.max_results)
        }
    };

    // Exact scores. A candidate with word edits is scored by its alignment
    // cost alone and loaded only if it makes the top; one without needs its
    // text for the spelling differences.
    let n = query_words.tokens.len();
    // (score, unit id, the match and its tie-break when already explained)
    type Scored = (u8, u64, Option<(Match, f64)>);
    let mut scored: Vec<Scored> = Vec::with_capacity(candidates.len());
    for c in candidates {
        if c.cost.tenths == 0 {
            let Some(unit) = shared.store.get(c.id)? else { continue };
            let (found, tie_break) = Match::of(unit, lookup, &query_words);
            debug_assert_eq!(found.explanation.cost, c.cost, "the index and the explanation align alike");
            if found.score >= lookup.min_score {
                scored.push((found.score, c.id, Some((found, tie_break))));
            }
        } else {
            scored.push((unnormalized(c.cost, n, c.source_words), c.id, None));
        }
    }
    scored.sort_by_key(|(score, id, _)| (Reverse(*score), Reverse(*id)));
    // Ties at the last place are broken by similarity, so every candidate
    // with the last place's score takes part.
    if let Some(last) = scored.get(lookup.max_results.saturating_sub(1)).map(|s| s.0) {
        scored.retain(|s| s.0 >= last);
    }

    let mut matches = Vec::with_capacity(scored.len());
    for (_, id, found) in scored {
        let found = match found {
            Some(found) => found,
            None => match shared.store.get(id)? {
                Some(unit) => Match::of(unit, lookup, &query_words),
                None => continue, // deleted since the scan
            },
        };
        matches.push((found.1, found.0));
    }
    matches.sort_by(|(sa, a), (sb, b)| b.score.cmp(&a.score).then(sb.total_cmp(sa)).then(b.unit.id.cmp(&a.unit.id)));
    matches.truncate(lookup.max_results);
    Ok(matches.into_iter().map(|(_, m)| m).collect())
}
