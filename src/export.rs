//! Export: the units of one or more memories as a TMX 1.4b document,
//! streamed unit by unit. Importing it gives the same units back (text,
//! inline markup, metadata; new ids).

use std::io::Write;

use crate::error::{Error, Result};
use crate::memory::TranslationMemory;
use crate::tmx::{srclang, to_tmx, Header, TmxWriter};
use crate::unit::{memory_name, Unit};

/// Which units to export.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportFilter {
    /// Empty: every memory.
    pub memories: Vec<String>,
    /// Only units of this domain.
    pub domain: Option<String>,
}

impl ExportFilter {
    /// As a lookup does: a memory that does not exist is
    /// [`Error::NotFound`], not an empty file (a mistyped name must not look
    /// like an empty memory).
    pub fn check_memories(&self, tm: &TranslationMemory) -> Result<()> {
        let stored = tm.stats().memories;
        let stored: std::collections::HashSet<&str> = stored.iter().map(|(memory, _)| memory.as_str()).collect();
        for (i, name) in self.memories.iter().enumerate() {
            if !stored.contains(name.as_str()) {
                return Err(Error::not_found(format!("memories[{i}]"), format!("no memory is named {name:?}")));
            }
        }
        Ok(())
    }

    /// Checks the memory names; `field` names the list in errors.
    pub fn validate(mut self, field: &str) -> Result<ExportFilter> {
        crate::memory::check_count(self.memories.len(), crate::memory::MAX_NAMED_MEMORIES, field)?;
        for (i, name) in self.memories.iter_mut().enumerate() {
            if name.is_empty() {
                return Err(Error::invalid(format!("{field}[{i}]"), "must not be empty"));
            }
            *name = memory_name(name, &format!("{field}[{i}]"))?;
        }
        Ok(self)
    }
}

impl ExportFilter {
    fn selects(&self, selected: &std::collections::HashSet<&str>, unit: &Unit) -> bool {
        (selected.is_empty() || selected.contains(unit.memory.as_str()))
            && self.domain.as_ref().is_none_or(|domain| *domain == unit.domain)
    }
}

/// Writes the units `filter` selects to `out` as TMX, in id order; returns
/// how many. A memory named in the filter that holds no unit is
/// [`Error::NotFound`], and nothing is written.
///
/// Each unit that knows its source side ([`Unit::source_lang`]) says it in
/// its `srclang`, and its source `<tuv>` comes first. The header's `srclang`
/// is the source of every unit when they all have the same one, written
/// the same way (a first pass over the store finds out), else `*all*`.
pub fn export(tm: &TranslationMemory, out: impl Write, filter: &ExportFilter) -> Result<u64> {
    filter.check_memories(tm)?;
    let output = |err: std::io::Error| Error::Output(err.to_string());
    let selected: std::collections::HashSet<&str> = filter.memories.iter().map(String::as_str).collect();
    // The header's srclang: one code shared by all, None when they differ
    // (or a unit has none).
    let mut common: Option<Option<String>> = None;
    tm.for_each_unit(&mut |unit| {
        if filter.selects(&selected, &unit) && common != Some(None) {
            let code = srclang(&unit).map(str::to_owned);
            if common.is_none() {
                common = Some(code);
            } else if common.as_ref() != Some(&code) {
                common = Some(None);
            }
        }
        Ok(())
    })?;
    let srclang = common.flatten().unwrap_or_else(|| "*all*".to_owned());
    let header = Header::dhakira(&srclang);
    let mut writer = TmxWriter::new(std::io::BufWriter::with_capacity(64 << 10, out), &header).map_err(output)?;
    let mut count = 0;
    tm.for_each_unit(&mut |unit| {
        if !filter.selects(&selected, &unit) {
            return Ok(());
        }
        writer.write_unit(&to_tmx(&unit)).map_err(|err| match err.kind() {
            std::io::ErrorKind::InvalidInput => {
                Error::Output(format!("unit {} cannot be written as TMX: {err}", unit.id))
            }
            _ => output(err),
        })?;
        count += 1;
        Ok(())
    })?;
    writer.finish().map_err(output)?.flush().map_err(output)?;
    Ok(count)
}
