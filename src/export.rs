//! Export: the units of one or more memories as a TMX 1.4b document,
//! streamed unit by unit. Importing it gives the same units back (text,
//! inline markup, metadata; new ids).

use std::io::Write;

use crate::error::{Error, Result};
use crate::memory::TranslationMemory;
use crate::tmx::{to_tmx, Header, TmxWriter};
use crate::unit::memory_name;

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

/// Writes the units `filter` selects to `out` as TMX, in id order; returns
/// how many. A memory named in the filter that holds no unit is
/// [`Error::NotFound`], and nothing is written. The header's `srclang` is `*all*`: each unit's source is in
/// its own `srclang` when it came with one.
pub fn export(tm: &TranslationMemory, out: impl Write, filter: &ExportFilter) -> Result<u64> {
    filter.check_memories(tm)?;
    let output = |err: std::io::Error| Error::Output(err.to_string());
    let mut writer =
        TmxWriter::new(std::io::BufWriter::with_capacity(64 << 10, out), &Header::dhakira("*all*")).map_err(output)?;
    let mut count = 0;
    let selected: std::collections::HashSet<&str> = filter.memories.iter().map(String::as_str).collect();
    tm.for_each_unit(&mut |unit| {
        if !selected.is_empty() && !selected.contains(unit.memory.as_str()) {
            return Ok(());
        }
        if filter.domain.as_ref().is_some_and(|domain| *domain != unit.domain) {
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
