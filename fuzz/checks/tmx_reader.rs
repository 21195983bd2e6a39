//! Fuzzes `dhakira::tmx::TmxReader` with arbitrary bytes.
//!
//! For every input:
//!
//! 1. Reading never panics, and the reader behaves as documented: after an
//!    `Err` (or the end, `Ok(None)`), `next_entry` keeps returning
//!    `Ok(None)`.
//! 2. Everything read respects the reader's promises: no forbidden control
//!    character (any control but tab, line feed and carriage return) in
//!    segment text, inline code, attribute values, props or notes; the size
//!    limits of `dhakira::tmx` (`MAX_*`) and `dhakira::unit`
//!    (`MAX_SEGMENT_CHARS`, `MAX_METADATA_CHARS`); markup offsets
//!    non-decreasing and within the text; `hi` start and end balanced; the
//!    variants' language codes name Arabic and English; entries in document
//!    order; a rejected unit's `tuid` clean and bounded like any attribute.
//!    For UTF-8 input (where positions are offsets in the input itself):
//!    each entry's position (byte, line, column) is that of its `<tu` tag,
//!    and a rejected unit's `position..end` is its whole element.
//! 3. Reading the same bytes in small, irregular chunks gives the same
//!    header, entries (positions included) and error.
//! 4. Writing the header and every unit read with `TmxWriter` and reading
//!    the result back gives the same header (plus the attributes TMX
//!    requires) and the same units, none rejected, no error. The writer may
//!    refuse a unit only for an attribute name that is not an XML name (the
//!    one thing the reader takes that TMX cannot hold).

use std::io::{self, Read};

use dhakira::text::Lang;
use dhakira::tmx::{
    Attribute, Entry, Header, InlineKind, Position, Prop, Segment, TmxReader, TmxUnit, TmxWriter, Variant,
    MAX_ATTRIBUTES, MAX_CODE_BYTES, MAX_INLINE_DEPTH, MAX_METADATA_ITEMS, MAX_TAGS_PER_SEGMENT, MAX_WARNINGS,
};
use dhakira::unit::{MAX_METADATA_CHARS, MAX_SEGMENT_CHARS};

/// Checks one input; panics on a finding.
pub fn check(data: &[u8]) {
    let whole = read_all(data);
    whole.check(data);
    let chunked = read_all(Chunked::new(data));
    assert_eq!(whole, chunked, "reading in chunks changed the result");
    round_trip(&whole);
}

/// Everything a reading gives: the header (if `TmxReader::new` succeeded),
/// the entries, and the error that ended it (as displayed: `TmxError` is not
/// `PartialEq`).
#[derive(Debug, PartialEq)]
struct Reading {
    /// The encoding the reader found (if `TmxReader::new` got that far).
    encoding: Option<&'static str>,
    header: Option<Header>,
    entries: Vec<Entry>,
    error: Option<String>,
}

fn read_all(input: impl Read) -> Reading {
    let mut reader = match TmxReader::new(input) {
        Ok(reader) => reader,
        Err(err) => return Reading { encoding: None, header: None, entries: Vec::new(), error: Some(err.to_string()) },
    };
    let encoding = Some(reader.encoding());
    let header = Some(reader.header().clone());
    let mut entries = Vec::new();
    let error = loop {
        match reader.next_entry() {
            Ok(Some(entry)) => entries.push(entry),
            Ok(None) => break None,
            Err(err) => break Some(err.to_string()),
        }
    };
    // Finished or stopped: always `Ok(None)` from now on.
    for _ in 0..2 {
        match reader.next_entry() {
            Ok(None) => {}
            other => panic!("next_entry after the end ({error:?}) gave {other:?}"),
        }
    }
    Reading { encoding, header, entries, error }
}

impl Reading {
    /// Checks what was read from `data`.
    fn check(&self, data: &[u8]) {
        // Positions are in the input as decoded to UTF-8: for UTF-8 input,
        // the input itself after its BOM.
        let decoded = match self.encoding {
            Some("UTF-8") => Some(data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data)),
            _ => None,
        };
        if let Some(header) = &self.header {
            check_attributes("header", &header.attributes);
            check_metadata("header", &header.props, &header.notes);
        }
        let mut previous: Option<Position> = None;
        for entry in &self.entries {
            let position = match entry {
                Entry::Unit(read) => {
                    check_unit(&read.unit);
                    assert!(read.warnings.len() <= MAX_WARNINGS, "{} warnings", read.warnings.len());
                    read.position
                }
                Entry::Rejected(rejected) => {
                    assert!(!rejected.reason.is_empty(), "a rejection without a reason: {rejected:?}");
                    if let Some(tuid) = &rejected.tuid {
                        check_value("tuid of a rejected unit", tuid);
                    }
                    if let Some(decoded) = decoded {
                        check_rejected_range(decoded, rejected.position, rejected.end);
                    }
                    rejected.position
                }
            };
            assert!(position.line >= 1 && position.column >= 1, "{position:?}");
            if let Some(decoded) = decoded {
                check_tag_position(decoded, position);
            }
            if let Some(previous) = previous {
                assert!(position.byte > previous.byte, "entry at {position:?} after one at {previous:?}");
            }
            previous = Some(position);
        }
    }
}

/// An entry's position is that of its `<tu` tag: byte offset, line and
/// column (in characters, lines ended by `\n`).
fn check_tag_position(decoded: &[u8], position: Position) {
    let Some(rest) = usize::try_from(position.byte).ok().and_then(|at| decoded.get(at..)) else {
        panic!("{position:?} is past the end of the input ({} bytes)", decoded.len());
    };
    assert!(rest.starts_with(b"<tu"), "{position:?} is not at a <tu tag: {:?}", String::from_utf8_lossy(rest));
    let before = &decoded[..position.byte as usize];
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count() as u64;
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |at| at + 1);
    let column = 1 + before[line_start..].iter().filter(|&&b| b & 0xC0 != 0x80).count() as u64;
    assert_eq!((position.line, position.column), (line, column), "line and column of {position:?}");
}

/// A rejected unit's `position..end` is its whole element, `<tu …>…</tu>`
/// or `<tu …/>` (what `copy_units` copies).
fn check_rejected_range(decoded: &[u8], position: Position, end: Position) {
    assert!(end.byte > position.byte, "a rejected unit ends at {end:?}, before its start {position:?}");
    let Some(range) = decoded.get(position.byte as usize..end.byte as usize) else {
        panic!("a rejected unit ends at {end:?}, past the end of the input ({} bytes)", decoded.len());
    };
    let text = || String::from_utf8_lossy(range).into_owned();
    // `<tu …/>`, or an end tag `</tu>` (`</tu >`) last.
    let end_tag = range.windows(2).rposition(|w| w == b"</").and_then(|at| range[at + 2..].strip_suffix(b">"));
    let closed = range.ends_with(b"/>") || end_tag.map(<[u8]>::trim_ascii) == Some(b"tu");
    assert!(closed && range.starts_with(b"<tu"), "a rejected unit's range is not its element: {:?}", text());
}

fn check_unit(unit: &TmxUnit) {
    check_attributes("<tu>", &unit.attributes);
    check_metadata("<tu>", &unit.props, &unit.notes);
    check_variant(&unit.arabic, Lang::Arabic);
    check_variant(&unit.english, Lang::English);
}

fn check_variant(variant: &Variant, lang: Lang) {
    assert_eq!(Lang::from_code(&variant.lang), Some(lang), "variant code {:?}", variant.lang);
    check_value("xml:lang", &variant.lang);
    assert!(
        !variant.attributes.iter().any(|a| a.name == "xml:lang"),
        "xml:lang left in the attributes: {:?}",
        variant.attributes
    );
    // The language attribute was taken out of at most MAX_ATTRIBUTES.
    assert!(variant.attributes.len() < MAX_ATTRIBUTES, "{} <tuv> attributes", variant.attributes.len());
    check_attributes("<tuv>", &variant.attributes);
    check_metadata("<tuv>", &variant.props, &variant.notes);
    check_segment(&variant.segment);
}

fn check_segment(segment: &Segment) {
    let text = &segment.text;
    assert!(!text.trim().is_empty(), "an empty segment was kept: {segment:?}");
    check_text(text);
    let chars = text.chars().count();
    assert!(chars <= MAX_SEGMENT_CHARS, "a segment of {chars} characters");
    assert!(segment.markup.len() <= MAX_TAGS_PER_SEGMENT, "{} inline tags", segment.markup.len());
    let (mut offset, mut open_hi) = (0, 0usize);
    for tag in &segment.markup {
        assert!(tag.offset >= offset, "inline tag offsets decrease: {} after {offset}", tag.offset);
        assert!(tag.offset <= chars, "inline tag at {} in a text of {chars} characters", tag.offset);
        offset = tag.offset;
        match &tag.kind {
            InlineKind::Code { element, attributes, content } => {
                check_attributes(element.name(), attributes);
                check_text(content);
                assert!(content.len() <= MAX_CODE_BYTES, "<{}> content of {} bytes", element.name(), content.len());
            }
            InlineKind::HiStart { attributes } => {
                check_attributes("hi", attributes);
                open_hi += 1;
                assert!(open_hi <= MAX_INLINE_DEPTH, "<hi> nested {open_hi} deep");
            }
            InlineKind::HiEnd => {
                open_hi = open_hi.checked_sub(1).expect("a hi end without its start");
            }
        }
    }
    assert_eq!(open_hi, 0, "a hi start without its end: {:?}", segment.markup);
}

fn check_attributes(element: &str, attributes: &[Attribute]) {
    assert!(attributes.len() <= MAX_ATTRIBUTES, "<{element}> has {} attributes", attributes.len());
    for (i, attribute) in attributes.iter().enumerate() {
        assert!(!attribute.name.is_empty(), "<{element}>: an attribute without a name");
        // Names are decoded lossily (`String::from_utf8_lossy`): two names
        // that differ only in invalid UTF-8 can come out the same, with
        // U+FFFD. Those are not XML names (the writer refuses them).
        assert!(
            attribute.name.contains('\u{FFFD}') || !attributes[..i].iter().any(|a| a.name == attribute.name),
            "<{element}>: attribute {} twice",
            attribute.name
        );
        check_value(&attribute.name, &attribute.value);
    }
}

fn check_metadata(element: &str, props: &[Prop], notes: &[String]) {
    let items = props.len() + notes.len();
    assert!(items <= MAX_METADATA_ITEMS, "{element}: {items} props and notes");
    for prop in props {
        check_value("prop type", &prop.kind);
        check_value("prop", &prop.value);
    }
    for note in notes {
        check_value("note", note);
    }
}

/// A metadata value (attribute, prop, note): no control character, at most
/// `MAX_METADATA_CHARS`.
fn check_value(what: &str, value: &str) {
    check_text(value);
    let chars = value.chars().count();
    assert!(chars <= MAX_METADATA_CHARS, "{what}: {chars} characters");
}

/// No control character but tab, line feed and carriage return
/// (`dhakira::unit::is_forbidden_control` is crate-private: same rule).
fn check_text(text: &str) {
    if let Some((at, c)) = text.chars().enumerate().find(|&(_, c)| is_forbidden_control(c)) {
        panic!("control character U+{:04X} at character {at} of {text:?}", c as u32);
    }
}

fn is_forbidden_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// Whether `name` is an XML name as the writer checks it (letters, digits,
/// `_ : . -`, not starting with a digit, `.` or `-`): the writer's own check
/// is private.
fn is_xml_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | ':' | '.' | '-'))
}

/// Whether some attribute of `unit` (its own, its variants', its inline
/// tags') has a name that is not an XML name.
fn has_non_xml_name(unit: &TmxUnit) -> bool {
    let bad = |attributes: &[Attribute]| attributes.iter().any(|a| !is_xml_name(&a.name));
    let bad_variant = |variant: &Variant| {
        bad(&variant.attributes)
            || variant.segment.markup.iter().any(|tag| match &tag.kind {
                InlineKind::Code { attributes, .. } | InlineKind::HiStart { attributes } => bad(attributes),
                InlineKind::HiEnd => false,
            })
    };
    bad(&unit.attributes) || bad_variant(&unit.arabic) || bad_variant(&unit.english)
}

/// Writes what `reading` read and checks that reading it back gives the same
/// header and units.
fn round_trip(reading: &Reading) {
    let Some(header) = &reading.header else { return };
    let units: Vec<&TmxUnit> = reading
        .entries
        .iter()
        .filter_map(|entry| match entry {
            Entry::Unit(read) => Some(&read.unit),
            Entry::Rejected(_) => None,
        })
        .collect();
    let (mut writer, written_header) = match TmxWriter::new(Vec::new(), header) {
        Ok(writer) => (writer, header.clone()),
        Err(err) => {
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
            assert!(
                header.attributes.iter().any(|a| !is_xml_name(&a.name)),
                "the writer refused the header read: {err}\n{header:?}"
            );
            (TmxWriter::new(Vec::new(), &Header::default()).expect("the default header"), Header::default())
        }
    };
    // The writer adds the attributes TMX requires and the header lacks; the
    // defaults are those of `Header::dhakira("*all*")`.
    let mut expected_header = written_header.clone();
    for required in Header::dhakira("*all*").attributes {
        if written_header.get(&required.name).is_none() {
            expected_header.attributes.push(required);
        }
    }
    let mut written = Vec::new();
    for &unit in &units {
        match writer.write_unit(unit) {
            Ok(()) => written.push(unit),
            Err(err) => {
                assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
                assert!(has_non_xml_name(unit), "the writer refused a unit read: {err}\n{unit:#?}");
            }
        }
    }
    let bytes = writer.finish().expect("writing to a Vec");
    let text = || String::from_utf8_lossy(&bytes).into_owned();
    let again = read_all(bytes.as_slice());
    assert_eq!(again.error, None, "reading what the writer wrote failed\n{}", text());
    assert_eq!(again.header.as_ref(), Some(&expected_header), "the header changed\n{}", text());
    assert_eq!(again.entries.len(), written.len(), "{:#?}\n{}", again.entries, text());
    for (entry, &unit) in again.entries.iter().zip(&written) {
        match entry {
            Entry::Unit(read) => {
                assert_eq!(&read.unit, unit, "the unit changed in the round trip\n{}", text());
                assert!(read.warnings.is_empty(), "warnings reading what the writer wrote: {:?}", read.warnings);
            }
            Entry::Rejected(rejected) => {
                panic!("the unit written was rejected: {rejected:?}\n{unit:#?}\n{}", text())
            }
        }
    }
}

/// A reader that gives `data` in short reads of irregular sizes (1 to 64
/// bytes), the sizes drawn from a generator seeded by the data.
struct Chunked<'a> {
    data: &'a [u8],
    state: u64,
}

impl<'a> Chunked<'a> {
    fn new(data: &'a [u8]) -> Chunked<'a> {
        // FNV-1a of the data: a different split for each input.
        let seed = data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3));
        Chunked { data, state: seed | 1 }
    }
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // xorshift64
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        let n = (1 + (self.state % 64) as usize).min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}
