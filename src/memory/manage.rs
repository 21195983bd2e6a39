//! Named memories, maintenance (updates, uses, deletion by filter,
//! conflicts) and concordance search.

use std::ops::Range;

use super::writer::{Change, MemoryChange};
use super::{lookup, now_ms, TranslationMemory};
use crate::error::{Error, Result};
use crate::matching::{ConcordancePage, Index, Occurrences, Scope, Selection, UnitFilter};
use crate::store::MemoryRecord;
use crate::text::{tokens, Lang};
use crate::unit::{check_id, check_metadata, check_segment, memory_name, Unit, UnitEdit, UnitId};

/// Units deleted per write group when deleting by filter.
const DELETE_CHUNK: usize = 10_000;

/// Most conflict groups one request returns.
pub const MAX_CONFLICT_GROUPS: usize = 1_000;

/// Most concordance hits per page.
pub const MAX_PAGE_SIZE: usize = 100;

/// A named memory and how many units it holds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemoryInfo {
    pub name: String,
    pub description: String,
    /// 0 for a memory that came into being with its first unit.
    pub created_at_ms: i64,
    pub units: u64,
}

/// Units of one memory whose `lang` side is the same after normalization
/// while their other sides differ.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    pub memory: String,
    pub lang: Lang,
    /// Newest first.
    pub units: Vec<Unit>,
}

/// A concordance search as a client sends it.
#[derive(Debug, Clone, Default)]
pub struct ConcordanceRequest {
    pub text: String,
    /// "ar", "en", or empty for either side.
    pub lang: String,
    pub memories: Vec<String>,
    pub filter: UnitFilter,
    /// 0: 20.
    pub page_size: u32,
    pub page_token: String,
    /// Raised when nobody will read the answer any more: the search stops.
    pub cancel: crate::Cancel,
}

/// A unit that holds the phrase.
#[derive(Debug, Clone, PartialEq)]
pub struct ConcordanceHit {
    pub unit: Unit,
    /// The side it was found in.
    pub lang: Lang,
    /// Every occurrence, in characters of that side.
    pub spans: Vec<Range<usize>>,
}

/// One page of hits.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Concordance {
    pub hits: Vec<ConcordanceHit>,
    /// Empty on the last page.
    pub next_page_token: String,
}

impl TranslationMemory {
    /// Creates a named memory.
    pub fn create_memory(&self, name: &str, description: &str) -> Result<MemoryInfo> {
        if name.is_empty() {
            return Err(Error::invalid("name", "is required"));
        }
        let name = memory_name(name, "name")?;
        check_metadata(description, "description")?;
        let record = MemoryRecord { name, description: description.to_owned(), created_at_ms: now_ms() / 1000 * 1000 };
        self.writer.memory(MemoryChange::Create(record.clone()))?;
        Ok(MemoryInfo {
            name: record.name,
            description: record.description,
            created_at_ms: record.created_at_ms,
            units: 0,
        })
    }

    /// Every memory (created, or holding units), by name.
    pub fn list_memories(&self) -> Result<Vec<MemoryInfo>> {
        let mut memories: Vec<MemoryInfo> = self
            .shared
            .store
            .memories()?
            .into_iter()
            .map(|r| MemoryInfo { name: r.name, description: r.description, created_at_ms: r.created_at_ms, units: 0 })
            .collect();
        for (name, units) in self.shared.index.load().memory_counts() {
            match memories.iter_mut().find(|m| m.name == name) {
                Some(m) => m.units = units,
                None => memories.push(MemoryInfo { name, units, ..MemoryInfo::default() }),
            }
        }
        memories.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(memories)
    }

    /// Deletes a memory and its units; returns how many units went.
    pub fn delete_memory(&self, name: &str) -> Result<u64> {
        if name.is_empty() {
            return Err(Error::invalid("name", "is required"));
        }
        let name = memory_name(name, "name")?;
        if !self.list_memories()?.iter().any(|m| m.name == name) {
            return Err(Error::not_found("name", format!("no memory is named {name:?}")));
        }
        let deleted = self.delete_ids(self.selected(std::slice::from_ref(&name), UnitFilter::default()))?;
        self.writer.memory(MemoryChange::Remove(name))?;
        Ok(deleted)
    }

    /// Deletes every unit of `memories` (all when empty) that passes the
    /// filter; returns how many (with `dry_run`, only counts them). Every
    /// memory is checked before anything is deleted.
    pub fn delete_units(&self, memories: &[String], filter: UnitFilter, dry_run: bool) -> Result<u64> {
        let memories = lookup::memory_names(memories, "memories")?;
        lookup::check_filter(&filter, "filter")?;
        self.check_memories(&memories)?;
        let ids = self.selected(&memories, filter);
        if dry_run {
            return Ok(ids.len() as u64);
        }
        self.delete_ids(ids)
    }

    /// The ids of the units of `memories` (all when empty) that pass the
    /// filter.
    fn selected(&self, memories: &[String], filter: UnitFilter) -> Vec<UnitId> {
        let index = self.shared.index.load();
        index.select(&scope_of(&index, memories, filter))
    }

    /// Deletes units in write groups of [`DELETE_CHUNK`]; returns how many
    /// were still there.
    fn delete_ids(&self, ids: Vec<UnitId>) -> Result<u64> {
        let mut deleted = 0;
        for chunk in ids.chunks(DELETE_CHUNK) {
            deleted += self.writer.delete(chunk.to_vec(), false)? as u64;
        }
        Ok(deleted)
    }

    /// NOT_FOUND for a memory that holds no unit and was not created.
    fn check_memories(&self, names: &[String]) -> Result<()> {
        let known = self.list_memories()?;
        let known: std::collections::HashSet<&str> = known.iter().map(|m| m.name.as_str()).collect();
        for (i, name) in names.iter().enumerate() {
            if !known.contains(name.as_str()) {
                return Err(Error::not_found(format!("memories[{i}]"), format!("no memory is named {name:?}")));
            }
        }
        Ok(())
    }

    /// Changes some fields of a unit; returns it as stored once durable.
    pub fn update_unit(&self, id: UnitId, edit: UnitEdit) -> Result<Unit> {
        let id = check_id(id)?;
        edit.check()?;
        self.writer.change(id, Change::Edit(Box::new(edit)))
    }

    /// Records a use of a unit (usage count + 1, last used now); returns it
    /// as stored once durable.
    pub fn confirm_use(&self, id: UnitId) -> Result<Unit> {
        self.writer.change(check_id(id)?, Change::Use)
    }

    /// Groups of units with the same normalized source and different
    /// targets (both directions), newest first: at most `max_groups` (0:
    /// 100), and how many there are in all.
    pub fn conflicts(&self, memories: &[String], max_groups: u32) -> Result<(Vec<Conflict>, u64)> {
        let memories = lookup::memory_names(memories, "memories")?;
        let max_groups = count(max_groups, 100, MAX_CONFLICT_GROUPS, "max_groups")?;
        self.check_memories(&memories)?;
        let groups = {
            let index = self.shared.index.load();
            let selection = scope_of(&index, &memories, UnitFilter::default());
            index.conflicts(&selection)
        };
        let total = groups.len() as u64;
        let mut conflicts = Vec::with_capacity(groups.len().min(max_groups));
        for group in groups.into_iter().take(max_groups) {
            let mut units = Vec::with_capacity(group.ids.len());
            for id in group.ids {
                units.extend(self.shared.store.get(id)?);
            }
            if units.len() > 1 {
                conflicts.push(Conflict { memory: group.memory, lang: group.lang, units });
            }
        }
        Ok((conflicts, total))
    }

    /// Units holding a word or phrase (see [`Index::concordance`]), newest
    /// first, a page at a time.
    pub fn concordance(&self, request: ConcordanceRequest) -> Result<Concordance> {
        check_segment(&request.text, "text")?;
        let langs = match request.lang.as_str() {
            "" => vec![Lang::Arabic, Lang::English],
            code => vec![Lang::parse(code, "lang")?],
        };
        let memories = lookup::memory_names(&request.memories, "memories")?;
        lookup::check_filter(&request.filter, "filter")?;
        let limit = count(request.page_size, 20, MAX_PAGE_SIZE, "page_size")?;
        let after =
            match request.page_token.as_str() {
                "" => None,
                token => Some(parse_page_token(token).ok_or_else(|| {
                    Error::invalid("page_token", format!("{token:?} is not a token this server gave"))
                })?),
            };
        self.check_memories(&memories)?;
        let (hits, next) = {
            let index = self.shared.index.load();
            let mut selection = scope_of(&index, &memories, request.filter.clone());
            selection.cancel = request.cancel.clone();
            let pages: Vec<ConcordancePage> = langs
                .iter()
                .map(|&lang| index.concordance(&tokens(&request.text, lang), lang, &selection, after, limit))
                .collect();
            merge_pages(pages, limit)
        };
        request.cancel.check()?;
        let mut found = Vec::with_capacity(hits.len());
        for hit in hits {
            let Some(unit) = self.shared.store.get(hit.id)? else { continue };
            let words = tokens(unit.side(hit.lang), hit.lang);
            let phrase = tokens(&request.text, hit.lang).len();
            let spans = hit
                .at
                .iter()
                .filter_map(|&at| Some(words.get(at)?.chars.start..words.get(at + phrase - 1)?.chars.end))
                .collect();
            found.push(ConcordanceHit { unit, lang: hit.lang, spans });
        }
        Ok(Concordance { hits: found, next_page_token: next.map(page_token).unwrap_or_default() })
    }
}

/// A requested count: 0 means `default`, else 1 to `max` (errors name
/// `field`).
fn count(value: u32, default: usize, max: usize, field: &str) -> Result<usize> {
    match value {
        0 => Ok(default),
        n if n as usize <= max => Ok(n as usize),
        n => Err(Error::invalid(field, format!("is {n}; it must be between 1 and {max} (0 means {default})"))),
    }
}

/// A selection of `memories` (all when empty) and a filter.
fn scope_of(index: &Index, memories: &[String], filter: UnitFilter) -> Selection {
    let ids: Vec<u32> = memories.iter().filter_map(|m| index.memory_id(m)).collect();
    let memories = (!memories.is_empty()).then_some(ids);
    index.selection(&Scope { memories, filter, ..Scope::default() })
}

/// The page token of a cursor: the (change time, id) of the last hit
/// returned. It names a place in the newest-first order, not a slot of the
/// index, so it stays right when the index is compacted or rebuilt.
fn page_token((time_ms, id): (i64, UnitId)) -> String {
    format!("c{time_ms}.{id}")
}

/// The cursor of a page token, `None` when it is not one.
fn parse_page_token(token: &str) -> Option<(i64, UnitId)> {
    let (time, id) = token.strip_prefix('c')?.split_once('.')?;
    Some((time.parse().ok()?, id.parse().ok()?))
}

/// The hits of one or two sides' pages, newest first, as one page: only
/// hits at or above where every side stopped are complete, and a unit's
/// hits on both sides stay on one page.
fn merge_pages(pages: Vec<ConcordancePage>, limit: usize) -> (Vec<Occurrences>, Option<(i64, UnitId)>) {
    let boundary = pages.iter().filter_map(|p| p.next).max();
    let mut hits: Vec<Occurrences> = pages.into_iter().flat_map(|p| p.hits).collect();
    let place = |h: &Occurrences| (h.time_ms, h.id);
    hits.sort_by(|a, b| place(b).cmp(&place(a)).then(a.lang.code().cmp(b.lang.code())));
    if let Some(boundary) = boundary {
        hits.retain(|h| place(h) >= boundary);
    }
    let mut taken = 0;
    while taken < hits.len() && (taken < limit || place(&hits[taken]) == place(&hits[taken - 1])) {
        taken += 1;
    }
    let next = if taken < hits.len() { Some(place(&hits[taken - 1])) } else { boundary };
    hits.truncate(taken);
    (hits, next)
}

impl TranslationMemory {
    /// One page of a memory's units, newest first: up to `limit` units with
    /// an id below `before` (none: from the newest), and whether more
    /// follow. A scan of the store (the web app's browsing; searching by
    /// text is [`TranslationMemory::concordance`]'s), stopped by `cancel`.
    pub fn browse_units(
        &self,
        memory: &str,
        before: Option<UnitId>,
        limit: usize,
        cancel: &crate::Cancel,
    ) -> Result<(Vec<Unit>, bool)> {
        // The store is scanned in id order: the last `limit + 1` units of
        // the memory below `before` are the newest.
        let mut newest: std::collections::VecDeque<Unit> = std::collections::VecDeque::with_capacity(limit + 1);
        let mut seen = 0u64;
        self.for_each_unit(&mut |unit| {
            seen += 1;
            if seen % 4096 == 0 {
                cancel.check()?;
            }
            if unit.memory == memory && before.is_none_or(|b| unit.id < b) {
                if newest.len() > limit {
                    newest.pop_front();
                }
                newest.push_back(unit);
            }
            Ok(())
        })?;
        let mut units: Vec<Unit> = newest.into_iter().rev().collect();
        let more = units.len() > limit;
        units.truncate(limit);
        Ok((units, more))
    }
}
