//! Bulk import: TMX, TSV and CSV files into a [`TranslationMemory`],
//! streaming, one bad unit rejected alone with its line and reason.
//!
//! One thread reads and parses the input, checks each unit, and computes
//! what the index needs; the calling thread hands batches to the engine's
//! writer, which applies the duplicate policy and makes each batch durable
//! before the next is counted. Memory stays bounded: a few batches are in
//! flight, whatever the input's size.

use std::io::{self, BufRead, BufReader, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::matching::Analyzed;
use crate::memory::{Added, DuplicatePolicy, Incoming, TranslationMemory};
use crate::text::Lang;
use crate::tmx::{self, Entry, Position, TmxReader};
use crate::unit::{Property, Unit, UnitInput, DEFAULT_MEMORY};

/// Units per batch handed to the writer (one flush each).
const BATCH: usize = 4_000;

/// Batches parsed ahead of the writer.
const BATCHES_AHEAD: usize = 3;

/// Rejections and warnings listed in a summary (all are counted).
pub const MAX_LISTED: usize = 10_000;

/// The format of an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// TMX 1.4b.
    Tmx,
    /// `arabic<TAB>english` per line, no header.
    Tsv,
    /// Comma-separated, with a header naming the columns (see [`csv_columns`]).
    Csv,
}

impl Format {
    /// The format named `name` (`tmx`, `tsv`, `csv`, any case); `None` for
    /// an empty name.
    pub fn parse(name: &str, field: &str) -> Result<Option<Format>> {
        match name.to_ascii_lowercase().as_str() {
            "" => Ok(None),
            "tmx" | "xml" => Ok(Some(Format::Tmx)),
            "tsv" | "tab" | "txt" => Ok(Some(Format::Tsv)),
            "csv" => Ok(Some(Format::Csv)),
            other => Err(Error::invalid(field, format!("unknown format {other:?}: use tmx, tsv or csv"))),
        }
    }

    /// Its name, as [`Format::parse`] reads it.
    pub fn name(self) -> &'static str {
        match self {
            Format::Tmx => "tmx",
            Format::Tsv => "tsv",
            Format::Csv => "csv",
        }
    }

    /// The format of a file named `name`, from its extension.
    pub fn from_file_name(name: &str) -> Option<Format> {
        let (_, extension) = name.rsplit_once('.')?;
        Format::parse(extension, "").ok().flatten()
    }

    /// The format of an input starting with `prefix`: TMX when it starts
    /// with a byte order mark or `<`, else CSV when its first line has a
    /// comma and no tab, else TSV.
    pub fn sniff(prefix: &[u8]) -> Format {
        let start = prefix.iter().position(|b| !b.is_ascii_whitespace()).map_or(&[][..], |i| &prefix[i..]);
        if start.starts_with(b"<")
            || prefix.starts_with(&[0xEF, 0xBB, 0xBF])
            || prefix.starts_with(&[0xFF, 0xFE])
            || prefix.starts_with(&[0xFE, 0xFF])
            || (prefix.len() > 1 && (prefix[0] == 0 || prefix[1] == 0))
        {
            return Format::Tmx;
        }
        let line = prefix.split(|&b| b == b'\n').next().unwrap_or_default();
        if line.contains(&b',') && !line.contains(&b'\t') {
            Format::Csv
        } else {
            Format::Tsv
        }
    }
}

/// How to import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// `None`: guessed from the first bytes ([`Format::sniff`]).
    pub format: Option<Format>,
    /// The memory every unit goes to. `None`: a TMX unit's
    /// `x-dhakira-memory` property, or a CSV `memory` column, else
    /// [`DEFAULT_MEMORY`].
    pub memory: Option<String>,
    pub policy: DuplicatePolicy,
    /// The source side for the duplicate policy when a TMX unit (or its
    /// header) names neither Arabic nor English as `srclang`.
    pub source_lang: Lang,
    /// Recorded on units that have none.
    pub domain: String,
    /// Recorded on units that have none.
    pub source_document: String,
}

impl Default for ImportOptions {
    fn default() -> ImportOptions {
        ImportOptions {
            format: None,
            memory: None,
            policy: DuplicatePolicy::Add,
            source_lang: Lang::English,
            domain: String::new(),
            source_document: String::new(),
        }
    }
}

/// A unit that was not imported, or a warning about one that was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// 1-based line of the unit (of its `<tu>` tag in TMX).
    pub line: u64,
    /// Its TMX `tuid`, or empty.
    pub tuid: String,
    pub reason: String,
    /// Where the unit is in a TMX input (decoded to UTF-8), to copy it out
    /// with [`tmx::copy_units`].
    pub span: Option<(Position, Position)>,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImportSummary {
    /// Units read (stored, skipped or rejected).
    pub read: u64,
    pub added: u64,
    pub updated: u64,
    /// Already stored exactly so: skipped.
    pub duplicates: u64,
    /// Skipped: a newer translation is stored ([`DuplicatePolicy::KeepNewest`]).
    pub kept_newer: u64,
    /// Other translations removed by an overwrite.
    pub removed: u64,
    /// Units rejected; the first [`MAX_LISTED`] are in `rejections`.
    pub rejected: u64,
    pub rejections: Vec<Rejection>,
    /// Things left out of units that were imported; the first [`MAX_LISTED`].
    pub warnings: Vec<Rejection>,
    /// The input's encoding (TMX), e.g. `UTF-16LE`.
    pub encoding: String,
    /// Why the import stopped before the end of the input (broken XML, a
    /// read error), with the position; what was counted before it is stored.
    pub stopped: Option<String>,
}

impl ImportSummary {
    fn absorb_added(&mut self, added: &Added) {
        self.added += added.added as u64;
        self.updated += added.updated as u64;
        self.duplicates += added.duplicates as u64;
        self.kept_newer += added.kept_newer as u64;
        self.removed += added.removed as u64;
    }

    fn reject(&mut self, rejection: Rejection) {
        self.rejected += 1;
        if self.rejections.len() < MAX_LISTED {
            self.rejections.push(rejection);
        }
    }

    fn warn(&mut self, warning: Rejection) {
        if self.warnings.len() < MAX_LISTED {
            self.warnings.push(warning);
        }
    }

    /// Adds another import's counts and lists to this one.
    pub fn absorb(&mut self, other: ImportSummary) {
        self.read += other.read;
        self.added += other.added;
        self.updated += other.updated;
        self.duplicates += other.duplicates;
        self.kept_newer += other.kept_newer;
        self.removed += other.removed;
        self.rejected += other.rejected;
        for r in other.rejections {
            if self.rejections.len() < MAX_LISTED {
                self.rejections.push(r);
            }
        }
        for w in other.warnings {
            self.warn(w);
        }
        if self.stopped.is_none() {
            self.stopped = other.stopped;
        }
    }

    /// One line: the counts.
    pub fn counts(&self) -> String {
        let mut line = format!(
            "{} read: {} added, {} updated, {} duplicates skipped, {} rejected",
            self.read, self.added, self.updated, self.duplicates, self.rejected
        );
        if self.kept_newer > 0 {
            line.push_str(&format!(", {} skipped (a newer translation is stored)", self.kept_newer));
        }
        if self.removed > 0 {
            line.push_str(&format!(", {} older translations removed", self.removed));
        }
        line
    }
}

/// How far an import is, for progress bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    /// Bytes of the input read so far.
    pub bytes: u64,
    /// Units read so far.
    pub units: u64,
}

/// What the parsing thread sends: a batch, or the end.
struct Parsed {
    units: Vec<Incoming>,
    rejections: Vec<Rejection>,
    warnings: Vec<Rejection>,
    read: u64,
    /// Rejected units counted in `read` but not in `rejections`.
    unlisted_rejections: u64,
    /// The encoding, with the first batch of a TMX input.
    encoding: Option<&'static str>,
    /// Set on the last batch when the input could not be read to its end.
    stopped: Option<String>,
}

impl Parsed {
    fn new() -> Parsed {
        Parsed {
            units: Vec::with_capacity(BATCH),
            rejections: Vec::new(),
            warnings: Vec::new(),
            read: 0,
            unlisted_rejections: 0,
            encoding: None,
            stopped: None,
        }
    }
}

/// Imports `input` into `tm`. Returns once everything counted as stored is
/// durable. Bad units are rejected alone; an input that cannot be read to
/// its end (broken XML) ends the import with [`ImportSummary::stopped`] set,
/// what came before it stored. An `Err` is a failure of the store: the units
/// of the failed batch were not acknowledged (importing again skips the
/// ones that were stored). `progress` is called after each batch.
pub fn import(
    tm: &TranslationMemory,
    input: impl Read + Send,
    options: &ImportOptions,
    progress: &mut dyn FnMut(&ImportSummary, Progress),
) -> Result<ImportSummary> {
    let bytes = Arc::new(AtomicU64::new(0));
    let input = Counted { inner: input, bytes: Arc::clone(&bytes) };
    let format = options.format;
    run(tm, options, &bytes, progress, move |sink| {
        let mut input = BufReader::with_capacity(64 << 10, input);
        let format = match format {
            Some(format) => format,
            None => Format::sniff(input.fill_buf().map_err(|err| format!("cannot read the input: {err}"))?),
        };
        match format {
            Format::Tmx => read_tmx(input, sink),
            Format::Tsv => read_tsv(input, sink),
            Format::Csv => read_csv(input, sink),
        }
    })
}

/// Imports units that come in batches (the `units` messages of the Import
/// RPC), each checked alone: a rejection's `line` is the unit's 1-based
/// position in the stream. An `Err` item ends the import as a broken input
/// does ([`ImportSummary::stopped`]).
pub fn import_units(
    tm: &TranslationMemory,
    batches: impl Iterator<Item = Result<Vec<UnitInput>, String>> + Send,
    options: &ImportOptions,
    progress: &mut dyn FnMut(&ImportSummary, Progress),
) -> Result<ImportSummary> {
    let bytes = Arc::new(AtomicU64::new(0));
    run(tm, options, &bytes, progress, move |sink| {
        let mut line = 0;
        for batch in batches {
            for input in batch? {
                line += 1;
                let tuid = input.tuid.clone();
                match input.validate("") {
                    Ok(unit) => sink.unit(unit, None, line, &tuid, None),
                    Err(err) => sink.reject(line, &tuid, err.to_string(), None),
                }
                if !sink.open {
                    return Ok(());
                }
            }
        }
        Ok(())
    })
}

/// The pipeline: `parse` runs on its own thread and fills the sink; this
/// thread stores each batch.
fn run(
    tm: &TranslationMemory,
    options: &ImportOptions,
    bytes: &AtomicU64,
    progress: &mut dyn FnMut(&ImportSummary, Progress),
    parse: impl FnOnce(&mut Sink) -> Result<(), String> + Send,
) -> Result<ImportSummary> {
    let analyze = tm.is_indexed();
    let mut summary = ImportSummary::default();
    std::thread::scope(|scope| {
        let (batches, parsed) = std::sync::mpsc::sync_channel::<Parsed>(BATCHES_AHEAD);
        let parser = std::thread::Builder::new()
            .name("dhakira-import".into())
            .spawn_scoped(scope, move || {
                let mut sink = Sink { options, analyze, batches: &batches, batch: Parsed::new(), open: true };
                if let Err(stopped) = parse(&mut sink) {
                    sink.batch.stopped = Some(stopped);
                }
                sink.send();
            })
            .expect("spawning the import thread");
        let mut outcome = Ok(());
        while let Ok(batch) = parsed.recv() {
            if let Some(encoding) = batch.encoding {
                summary.encoding = encoding.to_owned();
            }
            summary.read += batch.read;
            summary.rejected += batch.unlisted_rejections;
            batch.rejections.into_iter().for_each(|r| summary.reject(r));
            batch.warnings.into_iter().for_each(|w| summary.warn(w));
            if summary.stopped.is_none() {
                summary.stopped = batch.stopped;
            }
            match tm.add_checked(batch.units, options.policy) {
                Ok(added) => summary.absorb_added(&added),
                Err(err) => {
                    outcome = Err(err);
                    break;
                }
            }
            progress(&summary, Progress { bytes: bytes.load(Ordering::Relaxed), units: summary.read });
        }
        // On a store failure, dropping the receiver stops the parser.
        drop(parsed);
        parser.join().expect("the import thread does not panic");
        outcome
    })?;
    Ok(summary)
}

/// A reader that counts the bytes read through it.
struct Counted<R> {
    inner: R,
    bytes: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Where parsed units go: checked, completed from the options, batched.
struct Sink<'a> {
    options: &'a ImportOptions,
    analyze: bool,
    batches: &'a std::sync::mpsc::SyncSender<Parsed>,
    batch: Parsed,
    /// False once the receiver is gone: reading stops.
    open: bool,
}

impl Sink<'_> {
    /// A unit as read; `source` its srclang, if it has one.
    fn unit(
        &mut self,
        mut unit: Unit,
        source: Option<Lang>,
        line: u64,
        tuid: &str,
        span: Option<(Position, Position)>,
    ) {
        self.batch.read += 1;
        let options = self.options;
        if let Some(memory) = &options.memory {
            unit.memory.clone_from(memory);
        } else if unit.memory.is_empty() {
            unit.memory = DEFAULT_MEMORY.to_owned();
        }
        if unit.domain.is_empty() {
            unit.domain.clone_from(&options.domain);
        }
        if unit.source_document.is_empty() {
            unit.source_document.clone_from(&options.source_document);
        }
        if let Err(err) = unit.check("") {
            self.batch.rejections.push(Rejection { line, tuid: tuid.to_owned(), reason: err.to_string(), span });
            return;
        }
        let analyzed = self.analyze.then(|| Analyzed::of(&unit));
        let source = source.unwrap_or(options.source_lang);
        unit.source_lang = source.code().to_owned();
        self.batch.units.push(Incoming { unit, source, analyzed });
        if self.batch.units.len() >= BATCH {
            self.send();
        }
    }

    fn reject(&mut self, line: u64, tuid: &str, reason: String, span: Option<(Position, Position)>) {
        self.batch.read += 1;
        self.batch.rejections.push(Rejection { line, tuid: tuid.to_owned(), reason, span });
        if self.batch.rejections.len() >= BATCH {
            self.send();
        }
    }

    /// Rejected units that are counted but not listed.
    fn count_unlisted_rejections(&mut self, count: u64) {
        self.batch.read += count;
        self.batch.unlisted_rejections += count;
    }

    fn warn(&mut self, line: u64, tuid: &str, reason: String) {
        self.batch.warnings.push(Rejection { line, tuid: tuid.to_owned(), reason, span: None });
        if self.batch.warnings.len() >= BATCH {
            self.send();
        }
    }

    fn send(&mut self) {
        let batch = std::mem::replace(&mut self.batch, Parsed::new());
        if self.open && self.batches.send(batch).is_err() {
            self.open = false;
        }
    }
}

fn read_tmx(input: impl Read, sink: &mut Sink) -> Result<(), String> {
    let mut reader = TmxReader::new(input).map_err(|err| err.to_string())?;
    sink.batch.encoding = Some(reader.encoding());
    let header_source = reader.header().get("srclang").and_then(Lang::from_code);
    // The header's segtype is the default of its units; an export's header
    // says `sentence`, so a unit of a `paragraph` (or `phrase`, `block`)
    // file carries its segtype itself.
    let header_segtype = reader.header().get("segtype").filter(|segtype| *segtype != "sentence").map(str::to_owned);
    for (line, warning) in reader.header_warnings() {
        sink.warn(*line, "", warning.clone());
    }
    // Units without an Arabic–English pair are held back until a paired
    // unit shows the file is one to import: a file with no pair at all (an
    // Arabic–French TMX) is one error at file level, not a rejection per
    // unit. At most MAX_LISTED are held; the rest are counted.
    let mut unpaired = Unpaired::default();
    while sink.open {
        let entry = match reader.next_entry() {
            Ok(Some(entry)) => entry,
            Ok(None) => break,
            Err(err) => {
                unpaired.release(sink);
                return Err(err.to_string());
            }
        };
        match entry {
            Entry::Rejected(rejected) if !rejected.languages.is_empty() && !unpaired.paired => {
                unpaired.hold(rejected);
            }
            Entry::Unit(read) => {
                if !unpaired.paired {
                    unpaired.release(sink);
                }
                let line = read.position.line;
                let mut converted = tmx::from_tmx(read.unit);
                if let Some(segtype) = &header_segtype {
                    let details = converted.unit.tmx.get_or_insert_with(Default::default);
                    if !details.attributes.iter().any(|a| a.name == "segtype") {
                        details.attributes.push(crate::unit::Property::new("segtype", segtype));
                    }
                }
                let tuid = converted.unit.tuid.clone();
                for warning in read.warnings.into_iter().chain(converted.warnings) {
                    sink.warn(line, &tuid, warning);
                }
                sink.unit(converted.unit, converted.source.or(header_source), line, &tuid, None);
            }
            Entry::Rejected(rejected) => {
                let span = Some((rejected.position, rejected.end));
                sink.reject(
                    rejected.position.line,
                    rejected.tuid.as_deref().unwrap_or_default(),
                    rejected.reason,
                    span,
                );
            }
        }
    }
    if !unpaired.paired && unpaired.count > 0 {
        sink.count_unlisted_rejections(unpaired.count);
        return Err(format!(
            "no unit holds both Arabic and English; the file has {} ({} unit{}): nothing was imported",
            unpaired.languages.into_iter().collect::<Vec<_>>().join(", "),
            unpaired.count,
            if unpaired.count == 1 { "" } else { "s" }
        ));
    }
    unpaired.release(sink);
    Ok(())
}

/// TMX units rejected for lacking an Arabic or English variant, held until
/// the first paired unit (see [`read_tmx`]).
#[derive(Default)]
struct Unpaired {
    /// A paired unit was seen: nothing is held any more.
    paired: bool,
    held: Vec<crate::tmx::Rejected>,
    /// Units held or counted.
    count: u64,
    /// Their languages, lower-cased.
    languages: std::collections::BTreeSet<String>,
}

impl Unpaired {
    fn hold(&mut self, rejected: crate::tmx::Rejected) {
        self.count += 1;
        self.languages.extend(rejected.languages.iter().map(|l| l.to_lowercase()));
        if self.held.len() < MAX_LISTED {
            self.held.push(rejected);
        }
    }

    /// Hands what is held to the sink as rejections, one by one.
    fn release(&mut self, sink: &mut Sink) {
        self.paired = true;
        let listed = self.held.len() as u64;
        for rejected in self.held.drain(..) {
            let span = Some((rejected.position, rejected.end));
            let tuid = rejected.tuid.as_deref().unwrap_or_default();
            sink.reject(rejected.position.line, tuid, rejected.reason, span);
        }
        sink.count_unlisted_rejections(self.count - listed);
        self.count = 0;
    }
}

fn read_tsv(input: impl BufRead, sink: &mut Sink) -> Result<(), String> {
    for (i, line) in input.split(b'\n').enumerate() {
        if !sink.open {
            break;
        }
        let line_no = i as u64 + 1;
        let line = line.map_err(|err| format!("line {line_no}: cannot read the input: {err}"))?;
        let Ok(line) = String::from_utf8(line) else {
            sink.reject(line_no, "", "not valid UTF-8".into(), None);
            continue;
        };
        match crate::tsv::parse_line(&line) {
            Ok(Some((arabic, english))) => {
                sink.unit(Unit { arabic, english, ..Unit::default() }, None, line_no, "", None);
            }
            Ok(None) => {}
            Err(reason) => sink.reject(line_no, "", reason, None),
        }
    }
    Ok(())
}

/// What a CSV column holds.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Column {
    Arabic,
    English,
    Memory,
    Domain,
    Note,
    CreatedBy,
    ChangedBy,
    SourceDocument,
    Tuid,
    Client,
    Project,
    ContextBefore,
    ContextAfter,
    /// Any other column: a property named by the header.
    Property(String),
}

/// The columns of a CSV header: `arabic` (or an Arabic language code such
/// as `ar`, `ar-EG`), `english` (or `en`, `en-US`…), and optionally
/// `memory`, `domain`, `note`, `created_by`, `changed_by`,
/// `source_document`, `tuid`, `client`, `project`, `context_before`,
/// `context_after` (case, spaces and `-` ignored); any other
/// column becomes a property named by its header.
fn csv_columns(header: &[String]) -> Result<Vec<Column>, String> {
    let columns: Vec<Column> = header
        .iter()
        .map(|name| {
            let key = name.trim().to_lowercase().replace([' ', '-'], "_");
            match key.as_str() {
                "arabic" => Column::Arabic,
                "english" => Column::English,
                "memory" => Column::Memory,
                "domain" => Column::Domain,
                "note" => Column::Note,
                "created_by" | "creationid" => Column::CreatedBy,
                "changed_by" | "changeid" => Column::ChangedBy,
                "source_document" => Column::SourceDocument,
                "tuid" => Column::Tuid,
                "client" => Column::Client,
                "project" => Column::Project,
                "context_before" => Column::ContextBefore,
                "context_after" => Column::ContextAfter,
                _ => match Lang::from_code(name.trim()) {
                    Some(Lang::Arabic) => Column::Arabic,
                    Some(Lang::English) => Column::English,
                    None => Column::Property(name.trim().to_owned()),
                },
            }
        })
        .collect();
    for (wanted, what) in [(Column::Arabic, "Arabic"), (Column::English, "English")] {
        match columns.iter().filter(|c| **c == wanted).count() {
            1 => {}
            0 => {
                return Err(format!(
                    "line 1: the CSV header names no {what} column (found: {}); name it {} or {}",
                    header.join(", "),
                    what.to_lowercase(),
                    if wanted == Column::Arabic { "ar" } else { "en" }
                ))
            }
            _ => return Err(format!("line 1: the CSV header names two {what} columns ({})", header.join(", "))),
        }
    }
    Ok(columns)
}

fn read_csv(input: impl Read, sink: &mut Sink) -> Result<(), String> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(input);
    let header = reader
        .byte_headers()
        .map_err(|err| format!("line 1: cannot read the CSV header: {err}"))?
        .iter()
        .map(|field| String::from_utf8_lossy(field).trim_start_matches('\u{feff}').to_owned())
        .collect::<Vec<_>>();
    let columns = csv_columns(&header)?;
    let mut record = csv::ByteRecord::new();
    while sink.open {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(err) => {
                let line = err.position().map_or(0, |p| p.line());
                match err.kind() {
                    csv::ErrorKind::Io(_) => return Err(format!("line {line}: cannot read the input: {err}")),
                    _ => {
                        sink.reject(line, "", err.to_string(), None);
                        continue;
                    }
                }
            }
        }
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(|field| field.iter().all(u8::is_ascii_whitespace)) {
            continue;
        }
        if record.len() != columns.len() {
            let reason = format!("expected {} fields as in the header, found {}", columns.len(), record.len());
            sink.reject(line, "", reason, None);
            continue;
        }
        let mut unit = Unit::default();
        let mut bad = None;
        for (i, (column, field)) in columns.iter().zip(record.iter()).enumerate() {
            let Ok(value) = std::str::from_utf8(field) else {
                bad = Some(format!("field {} ({}) is not valid UTF-8", i + 1, header[i]));
                break;
            };
            let value = value.to_owned();
            match column {
                Column::Arabic => unit.arabic = value,
                Column::English => unit.english = value,
                Column::Memory => unit.memory = value,
                Column::Domain => unit.domain = value,
                Column::Note => unit.note = value,
                Column::CreatedBy => unit.created_by = value,
                Column::ChangedBy => unit.changed_by = value,
                Column::SourceDocument => unit.source_document = value,
                Column::Tuid => unit.tuid = value,
                Column::Client => unit.client = value,
                Column::Project => unit.project = value,
                Column::ContextBefore => unit.context_before = value,
                Column::ContextAfter => unit.context_after = value,
                Column::Property(name) if !value.is_empty() => unit.properties.push(Property::new(name, value)),
                Column::Property(_) => {}
            }
        }
        match bad {
            Some(reason) => sink.reject(line, "", reason, None),
            None => {
                let tuid = unit.tuid.clone();
                sink.unit(unit, None, line, &tuid, None);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
