//! Tab-separated pairs (`arabic<TAB>english`, one per line, no header), the
//! format of the shared corpus: reading and importing.

use std::io::BufRead;

use crate::error::{Error, Result};
use crate::memory::TranslationMemory;
use crate::unit::{Unit, UnitInput};

/// Units sent to the engine per add request (one flush each).
const IMPORT_BATCH: usize = 5_000;

/// A line that could not become a unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// 1-based line number.
    pub line: usize,
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImportSummary {
    pub added: usize,
    pub duplicates: usize,
    pub rejected: Vec<Rejected>,
}

impl ImportSummary {
    /// Adds another import's counts and rejections to this one.
    pub fn absorb(&mut self, other: ImportSummary) {
        self.added += other.added;
        self.duplicates += other.duplicates;
        self.rejected.extend(other.rejected);
    }
}

/// Reads one line into a pair. Blank lines are `Ok(None)`.
pub fn parse_line(line: &str) -> Result<Option<(String, String)>, String> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.trim().is_empty() {
        return Ok(None);
    }
    let mut columns = line.split('\t');
    match (columns.next(), columns.next(), columns.next()) {
        (Some(arabic), Some(english), None) => Ok(Some((arabic.to_owned(), english.to_owned()))),
        (_, None, _) => Err("expected two tab-separated columns (arabic, english), found one".into()),
        _ => Err(format!("expected two tab-separated columns (arabic, english), found {}", line.split('\t').count())),
    }
}

/// Imports pairs from `reader` into `memory`, `template` giving the other
/// metadata. Bad lines are rejected with their line number and reason; they
/// never stop the import.
pub fn import(tm: &TranslationMemory, reader: impl BufRead, template: &UnitInput) -> Result<ImportSummary> {
    let mut summary = ImportSummary::default();
    let mut batch = Vec::with_capacity(IMPORT_BATCH);
    let flush = |batch: &mut Vec<Unit>, summary: &mut ImportSummary| -> Result<()> {
        if !batch.is_empty() {
            let added = tm.add_validated(std::mem::take(batch))?;
            summary.added += added.added;
            summary.duplicates += added.duplicates;
        }
        Ok(())
    };
    for (i, line) in reader.split(b'\n').enumerate() {
        let line_no = i + 1;
        let line = line.map_err(|err| Error::Input { path: format!("line {line_no}"), reason: err.to_string() })?;
        let Ok(line) = String::from_utf8(line) else {
            summary.rejected.push(Rejected { line: line_no, reason: "not valid UTF-8".into() });
            continue;
        };
        let (arabic, english) = match parse_line(&line) {
            Ok(Some(pair)) => pair,
            Ok(None) => continue,
            Err(reason) => {
                summary.rejected.push(Rejected { line: line_no, reason });
                continue;
            }
        };
        let unit = UnitInput { arabic, english, ..template.clone() };
        // Validated here, so one bad line is rejected alone, not its whole batch.
        match unit.validate("") {
            Ok(unit) => batch.push(unit),
            Err(err) => summary.rejected.push(Rejected { line: line_no, reason: err.to_string() }),
        }
        if batch.len() == IMPORT_BATCH {
            flush(&mut batch, &mut summary)?;
        }
    }
    flush(&mut batch, &mut summary)?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_lines_alone_with_their_numbers() {
        let tm = TranslationMemory::in_memory();
        let text = "مرحبا\tHello\n\nبلا ترجمة\nواحد\tone\ttwo\n\tempty arabic\nشكرا\tThanks\r\nمرحبا\tHello\n";
        let summary = import(&tm, text.as_bytes(), &UnitInput::default()).unwrap();
        assert_eq!(summary.added, 2);
        assert_eq!(summary.duplicates, 1);
        let lines: Vec<usize> = summary.rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, [3, 4, 5]);
        assert_eq!(summary.rejected[2].reason, "arabic: must not be empty");
        assert_eq!(tm.stats().total_units, 2);
    }

    #[test]
    fn a_line_that_is_not_utf8_is_rejected_alone() {
        let tm = TranslationMemory::in_memory();
        let mut bytes = "مرحبا\tHello\n".as_bytes().to_vec();
        bytes.extend_from_slice(b"caf\xe9\tcafe\n");
        bytes.extend_from_slice("شكرا\tThanks\n".as_bytes());
        let summary = import(&tm, bytes.as_slice(), &UnitInput::default()).unwrap();
        assert_eq!(summary.added, 2);
        assert_eq!(summary.rejected, [Rejected { line: 2, reason: "not valid UTF-8".into() }]);
    }
}
