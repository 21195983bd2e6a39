//! The streaming reader: XML events (quick-xml) to [`Entry`]s, one `<tu>` at
//! a time.
//!
//! Each element is read by its own function, which consumes events up to
//! its end tag. A problem inside a `<tu>` sets the unit's [`Verdict`] and
//! the reading goes on to `</tu>`, storing nothing more; a problem of the
//! XML itself is a [`TmxError`].

use std::borrow::Cow;
use std::io::Read;

use encoding_rs::Encoding;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::XmlVersion;

use super::input::{self, Source};
use super::writer::is_xml_name;
use super::{
    attribute, Attribute, CodeElement, Entry, Header, InlineKind, InlineTag, Position, Prop, ReadUnit, Rejected,
    Segment, TmxError, TmxUnit, Variant, MAX_ATTRIBUTES, MAX_CODE_BYTES, MAX_DEPTH, MAX_INLINE_DEPTH,
    MAX_METADATA_ITEMS, MAX_TAGS_PER_SEGMENT, MAX_TOKEN_BYTES, MAX_VARIANTS, MAX_WARNINGS,
};
use crate::text::Lang;
use crate::unit::{first_control, MAX_METADATA_CHARS, MAX_SEGMENT_CHARS};

/// Parser buffers larger than this are dropped after use, not kept.
const KEPT_BUFFER_BYTES: usize = 1 << 20;

/// Where the reader is in the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Before the root element.
    Prolog,
    /// In `<tmx>`, outside `<body>`.
    Tmx,
    /// In `<body>`: units come.
    Body,
    /// After `</tmx>`.
    After,
    /// Finished, or stopped by an error.
    Done,
}

/// Reads a TMX document from any [`Read`], one [`Entry`] per `<tu>`.
///
/// [`TmxReader::new`] reads up to `<body>`, so the [`Header`] is known before
/// the first unit. Iterating yields `Ok(entry)` for each unit (kept or
/// rejected) and ends after the first `Err`.
pub struct TmxReader<R: Read> {
    xml: quick_xml::Reader<Source<R>>,
    encoding: &'static Encoding,
    header: Header,
    /// See [`TmxReader::header_warnings`].
    header_warnings: Vec<(u64, String)>,
    stage: Stage,
    depth: usize,
    /// Where the last event read starts.
    event_start: Position,
    buffers: Vec<Vec<u8>>,
}

impl<R: Read> TmxReader<R> {
    /// Finds the encoding of `input` and reads the document up to `<body>`.
    pub fn new(input: R) -> Result<TmxReader<R>, TmxError> {
        let start = Position { line: 1, column: 1, byte: 0 };
        let (source, encoding) = input::open(input).map_err(|err| match err {
            Ok(reason) => TmxError::Refused { position: start, reason },
            Err(source) => TmxError::Io { position: start, source },
        })?;
        let mut xml = quick_xml::Reader::from_reader(source);
        let config = xml.config_mut();
        config.check_end_names = true;
        config.expand_empty_elements = false;
        config.trim_text(false);
        let mut reader = TmxReader {
            xml,
            encoding,
            header: Header::default(),
            header_warnings: Vec::new(),
            stage: Stage::Prolog,
            depth: 0,
            event_start: start,
            buffers: Vec::new(),
        };
        reader.read_to_body().inspect_err(|_| reader.stage = Stage::Done)?;
        Ok(reader)
    }

    /// The document's header (empty if it has none).
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// What was left out of the header, and why, with the line of each.
    pub fn header_warnings(&self) -> &[(u64, String)] {
        &self.header_warnings
    }

    /// The name of the input's encoding (`UTF-8`, `UTF-16LE`, `windows-1256`…).
    pub fn encoding(&self) -> &'static str {
        self.encoding.name()
    }

    /// The next unit, `None` at the end of the document. After an error,
    /// always `None`.
    pub fn next_entry(&mut self) -> Result<Option<Entry>, TmxError> {
        if self.stage == Stage::Done {
            return Ok(None);
        }
        let next = self.read_entry();
        if !matches!(next, Ok(Some(_))) {
            self.stage = Stage::Done;
        }
        next
    }

    fn read_to_body(&mut self) -> Result<(), TmxError> {
        let mut buf = self.take_buffer();
        while matches!(self.stage, Stage::Prolog | Stage::Tmx) {
            buf.clear();
            let event = self.read(&mut buf)?;
            if self.stage == Stage::Prolog {
                self.prolog_event(event)?;
            } else {
                self.tmx_event(event)?;
            }
        }
        self.give_buffer(buf);
        Ok(())
    }

    fn read_entry(&mut self) -> Result<Option<Entry>, TmxError> {
        let mut buf = self.take_buffer();
        loop {
            buf.clear();
            let event = self.read(&mut buf)?;
            let entry = match self.stage {
                Stage::Body => self.body_event(event)?,
                Stage::Tmx => {
                    self.tmx_event(event)?;
                    None
                }
                Stage::After => {
                    if self.after_event(event)? {
                        return Ok(None);
                    }
                    None
                }
                Stage::Prolog | Stage::Done => return Ok(None),
            };
            if entry.is_some() {
                self.give_buffer(buf);
                return Ok(entry);
            }
        }
    }

    /// An event before the root element.
    fn prolog_event(&mut self, event: Event) -> Result<(), TmxError> {
        match event {
            Event::DocType(doctype) if doctype.contains(&b'[') => Err(TmxError::Refused {
                position: self.last_tag(),
                reason: "a DOCTYPE with an internal subset ([…]) is refused: TMX needs none, and its entities \
                         are never expanded"
                    .into(),
            }),
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() != b"tmx" => Err(TmxError::Malformed {
                position: self.last_tag(),
                reason: format!(
                    "not a TMX file: the root element is <{}>, not <tmx>",
                    String::from_utf8_lossy(e.name().as_ref())
                ),
            }),
            Event::Start(_) => {
                self.stage = Stage::Tmx;
                Ok(())
            }
            Event::Empty(_) => {
                self.stage = Stage::After;
                Ok(())
            }
            Event::Text(text) if !text.iter().all(u8::is_ascii_whitespace) => {
                Err(self.malformed("not a TMX file: text before the root element (is the encoding right?)".into()))
            }
            Event::GeneralRef(_) => {
                Err(self.malformed("not a TMX file: text before the root element (is the encoding right?)".into()))
            }
            Event::Eof => Err(self.malformed("not a TMX file: no <tmx> element (is the encoding right?)".into())),
            _ => Ok(()),
        }
    }

    /// An event in `<tmx>`, outside `<body>`.
    fn tmx_event(&mut self, event: Event) -> Result<(), TmxError> {
        match event {
            Event::Start(e) => match e.name().as_ref() {
                b"header" => self.read_header(&e, false),
                b"body" => {
                    self.stage = Stage::Body;
                    Ok(())
                }
                _ => self.skip("element"),
            },
            Event::Empty(e) if e.name().as_ref() == b"header" => self.read_header(&e, true),
            Event::End(_) => {
                self.stage = Stage::After;
                Ok(())
            }
            Event::Eof => Err(self.eof("tmx")),
            _ => Ok(()),
        }
    }

    /// An event in `<body>`: a unit, or nothing.
    fn body_event(&mut self, event: Event) -> Result<Option<Entry>, TmxError> {
        match event {
            Event::Start(e) if e.name().as_ref() == b"tu" => self.read_unit(&e).map(Some),
            Event::Empty(e) if e.name().as_ref() == b"tu" => {
                let mut verdict = Verdict::default();
                let attributes = attributes(&e, &mut verdict);
                let tuid = attribute(&attributes, "tuid").map(str::to_owned);
                let reason = "empty <tu/>: no Arabic or English variant".to_owned();
                let (position, end) = (self.last_tag(), self.xml.get_ref().here());
                Ok(Some(Entry::Rejected(Rejected { position, tuid, reason, end, languages: Vec::new() })))
            }
            Event::Start(_) => self.skip("element").map(|()| None),
            Event::End(_) => {
                self.stage = Stage::Tmx;
                Ok(None)
            }
            Event::Eof => Err(self.eof("body")),
            _ => Ok(None),
        }
    }

    /// An event after `</tmx>`: whether the document ended.
    fn after_event(&mut self, event: Event) -> Result<bool, TmxError> {
        match event {
            Event::Eof => Ok(true),
            Event::Start(_) | Event::Empty(_) => Err(self.malformed("an element after the root element".into())),
            Event::Text(text) if !text.iter().all(u8::is_ascii_whitespace) => {
                Err(self.malformed("text after the root element".into()))
            }
            Event::GeneralRef(_) => Err(self.malformed("text after the root element".into())),
            _ => Ok(false),
        }
    }

    /// The header's metadata never stops a document: an attribute, prop or
    /// note that breaks a limit (TRADOS keeps whole RTF font tables in header
    /// props) is left out with a warning ([`TmxReader::header_warnings`]),
    /// and memory stays bounded by the same limits as a unit's.
    fn read_header(&mut self, start: &BytesStart, empty: bool) -> Result<(), TmxError> {
        let mut verdict = Verdict::default();
        let mut header = Header { attributes: attributes(start, &mut verdict), ..Header::default() };
        if let Some(reason) = verdict.0.take() {
            let line = self.last_tag().line;
            self.warn_header(line, format!("<header>: {reason}; the attributes after it are left out"));
        }
        let mut metadata = Metadata::default();
        if !empty {
            self.read_children("header", &mut verdict, |reader, e, empty, _| match e.name().as_ref() {
                b"prop" | b"note" => {
                    let (line, mut item) = (reader.last_tag().line, Verdict::default());
                    reader.read_metadata(e, empty, &mut metadata, &mut item)?;
                    if let Some(reason) = item.0 {
                        reader.warn_header(line, format!("<header>: {reason}; it is left out"));
                    }
                    Ok(())
                }
                _ => reader.skip_unless(empty),
            })?;
        }
        (header.props, header.notes) = (metadata.props, metadata.notes);
        self.header = header;
        Ok(())
    }

    fn warn_header(&mut self, line: u64, warning: String) {
        if self.header_warnings.len() < MAX_WARNINGS {
            self.header_warnings.push((line, warning));
        }
    }

    /// Reads the children of the element just opened, `name`, up to its end
    /// tag: `child` gets each child element (and whether it is empty); text
    /// between them is ignored.
    fn read_children<F>(&mut self, name: &str, verdict: &mut Verdict, mut child: F) -> Result<(), TmxError>
    where
        F: FnMut(&mut Self, &BytesStart, bool, &mut Verdict) -> Result<(), TmxError>,
    {
        let mut buf = self.take_buffer();
        loop {
            buf.clear();
            match self.read(&mut buf)? {
                Event::Start(e) => child(self, &e, false, verdict)?,
                Event::Empty(e) => child(self, &e, true, verdict)?,
                Event::End(_) => break,
                Event::Eof => return Err(self.eof(name)),
                _ => {}
            }
        }
        self.give_buffer(buf);
        Ok(())
    }

    /// A `<prop>` or `<note>` (just opened) into `metadata`.
    fn read_metadata(
        &mut self,
        start: &BytesStart,
        empty: bool,
        metadata: &mut Metadata,
        verdict: &mut Verdict,
    ) -> Result<(), TmxError> {
        let is_prop = start.name().as_ref() == b"prop";
        let (what, label) = if is_prop { ("prop", "a <prop>") } else { ("note", "a <note>") };
        let attributes = attributes(start, verdict);
        let value = if empty { String::new() } else { self.read_text(what, label, verdict)? };
        if metadata.props.len() + metadata.notes.len() == MAX_METADATA_ITEMS {
            verdict.fail(format!("more than {MAX_METADATA_ITEMS} <prop> and <note> elements in one element"));
        }
        if verdict.failed() {
            return Ok(());
        }
        if is_prop {
            let kind = attribute(&attributes, "type").unwrap_or_default().to_owned();
            let attributes = attributes.into_iter().filter(|a| a.name != "type").collect();
            metadata.props.push(Prop { kind, value, attributes });
        } else {
            metadata.notes.push(value);
        }
        Ok(())
    }

    fn read_unit(&mut self, start: &BytesStart) -> Result<Entry, TmxError> {
        let position = self.last_tag();
        let mut unit = UnitBuilder::default();
        let mut verdict = Verdict::default();
        unit.attributes = attributes(start, &mut verdict);
        self.read_children("tu", &mut verdict, |reader, e, empty, verdict| {
            if verdict.failed() {
                return reader.skip_unless(empty);
            }
            match e.name().as_ref() {
                b"tuv" => reader.read_variant(e, empty, &mut unit, verdict),
                b"prop" | b"note" => reader.read_metadata(e, empty, &mut unit.metadata, verdict),
                name => {
                    verdict.fail(format!("unexpected <{}> in <tu>", String::from_utf8_lossy(name)));
                    reader.skip_unless(empty)
                }
            }
        })?;
        let mut entry = unit.finish(position, verdict);
        if let Entry::Rejected(rejected) = &mut entry {
            rejected.end = self.xml.get_ref().here();
        }
        Ok(entry)
    }

    /// A `<tuv>` (just opened) into `unit`, if it is the first in Arabic or
    /// English.
    fn read_variant(
        &mut self,
        start: &BytesStart,
        empty: bool,
        unit: &mut UnitBuilder,
        verdict: &mut Verdict,
    ) -> Result<(), TmxError> {
        let mut attributes = attributes(start, verdict);
        // Every <tuv> before this one had a language: a <tuv> without one
        // fails the unit, and no <tuv> is read after that.
        if unit.languages.len() >= MAX_VARIANTS {
            verdict.fail(format!("more than {MAX_VARIANTS} <tuv> elements"));
        }
        let Some(code) = take_lang(&mut attributes) else {
            verdict.fail("a <tuv> has no xml:lang attribute");
            return self.skip_unless(empty);
        };
        unit.languages.push(code.clone());
        let Some(lang) = Lang::from_code(&code) else {
            unit.warn(format!("ignored a variant in another language ({code})"));
            return self.skip_unless(empty);
        };
        if verdict.failed() {
            return self.skip_unless(empty);
        }
        if let Some(first) = unit.variant(lang) {
            let first = first.lang.clone();
            unit.warn(format!("ignored a second {} variant ({code}); kept the first ({first})", side(lang)));
            return self.skip_unless(empty);
        }
        let mut metadata = Metadata::default();
        let mut segment = None;
        if !empty {
            self.read_children("tuv", verdict, |reader, e, empty, verdict| match e.name().as_ref() {
                b"seg" if segment.is_some() => {
                    verdict.fail(format!("the {} variant has two <seg> elements", side(lang)));
                    reader.skip_unless(empty)
                }
                b"seg" if empty => {
                    segment = Some(Segment::default());
                    Ok(())
                }
                b"seg" => {
                    segment = Some(reader.read_segment(lang, verdict)?);
                    Ok(())
                }
                b"prop" | b"note" => reader.read_metadata(e, empty, &mut metadata, verdict),
                name => {
                    verdict.fail(format!("unexpected <{}> in <tuv>", String::from_utf8_lossy(name)));
                    reader.skip_unless(empty)
                }
            })?;
        }
        match segment {
            None => verdict.fail(format!("the {} variant ({code}) has no <seg>", side(lang))),
            Some(segment) if segment.text.trim().is_empty() && !segment.markup.is_empty() => verdict.fail(format!(
                "the {} segment holds only markup ({} inline tags) and no text to match",
                side(lang),
                segment.markup.len()
            )),
            Some(segment) if segment.text.trim().is_empty() => {
                verdict.fail(format!("the {} segment is empty", side(lang)))
            }
            Some(segment) => {
                let variant = Variant { lang: code, attributes, props: metadata.props, notes: metadata.notes, segment };
                unit.set_variant(lang, variant);
            }
        }
        Ok(())
    }

    /// The content of a `<seg>` (just opened): text and inline markup.
    fn read_segment(&mut self, lang: Lang, verdict: &mut Verdict) -> Result<Segment, TmxError> {
        let side = side(lang);
        let label = match lang {
            Lang::Arabic => "the Arabic segment",
            Lang::English => "the English segment",
        };
        let mut segment = SegmentBuilder { text: TextBuilder::new(label, MAX_SEGMENT_CHARS), markup: Vec::new() };
        let mut hi_depth = 0;
        let mut buf = self.take_buffer();
        loop {
            buf.clear();
            let (e, empty) = match self.read(&mut buf)? {
                Event::Start(e) => (e, false),
                Event::Empty(e) => (e, true),
                Event::Text(text) => {
                    segment.text.push_decoded(text.xml10_content(), verdict);
                    continue;
                }
                Event::CData(text) => {
                    segment.text.push_decoded(text.xml10_content(), verdict);
                    continue;
                }
                Event::GeneralRef(reference) => {
                    if !verdict.failed() {
                        match resolve(&reference) {
                            Ok(text) => segment.text.push(&text, verdict),
                            Err(reason) => verdict.fail(format!("{label} {reason}")),
                        }
                    }
                    continue;
                }
                Event::End(_) if hi_depth > 0 => {
                    hi_depth -= 1;
                    segment.tag(InlineKind::HiEnd, verdict);
                    continue;
                }
                Event::End(_) => break,
                Event::Eof => return Err(self.eof("seg")),
                _ => continue,
            };
            let attributes = attributes(&e, verdict);
            if e.name().as_ref() == b"hi" {
                segment.tag(InlineKind::HiStart { attributes }, verdict);
                if empty {
                    segment.tag(InlineKind::HiEnd, verdict);
                } else {
                    hi_depth += 1;
                    if hi_depth > MAX_INLINE_DEPTH {
                        verdict.fail(format!("<hi> nested deeper than {MAX_INLINE_DEPTH}"));
                    }
                }
            } else if let Some(element) = CodeElement::from_name(e.name().as_ref()) {
                let content = if empty { String::new() } else { self.read_code(element, verdict)? };
                segment.tag(InlineKind::Code { element, attributes, content }, verdict);
            } else {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                verdict.fail(format!("unexpected <{name}> in the {side} <seg>"));
                self.skip_unless(empty)?;
            }
        }
        self.give_buffer(buf);
        Ok(Segment { text: segment.text.text, markup: segment.markup })
    }

    /// The raw inner XML of an inline code element (just opened), as in the
    /// file. References in it are checked, not resolved.
    fn read_code(&mut self, element: CodeElement, verdict: &mut Verdict) -> Result<String, TmxError> {
        let mut raw = String::new();
        // Characters in `raw`: where control characters are reported.
        let mut chars = 0;
        let mut depth = 0;
        let mut buf = self.take_buffer();
        loop {
            buf.clear();
            let event = self.read(&mut buf)?;
            let (open, bytes, close): (&str, &[u8], &str) = match &event {
                Event::Start(e) => {
                    depth += 1;
                    if depth > MAX_INLINE_DEPTH {
                        verdict.fail(format!("elements nested deeper than {MAX_INLINE_DEPTH} in <{}>", element.name()));
                    }
                    ("<", e, ">")
                }
                Event::Empty(e) => ("<", e, "/>"),
                Event::End(_) if depth == 0 => break,
                Event::End(e) => {
                    depth -= 1;
                    ("</", e, ">")
                }
                Event::Text(text) => ("", text, ""),
                Event::GeneralRef(reference) if !verdict.failed() => {
                    match resolve(reference) {
                        Err(reason) => verdict.fail(format!("<{}>: {reason}", element.name())),
                        Ok(text) => {
                            if let Some(reason) = control_character(&text, chars) {
                                verdict.fail(format!("the content of <{}> {reason}", element.name()));
                            }
                        }
                    }
                    ("&", reference, ";")
                }
                Event::GeneralRef(_) => continue,
                Event::CData(text) => ("<![CDATA[", text, "]]>"),
                Event::Comment(text) => ("<!--", text, "-->"),
                Event::PI(pi) => ("<?", pi, "?>"),
                Event::Eof => return Err(self.eof(element.name())),
                Event::Decl(_) | Event::DocType(_) => ("", b"", ""),
            };
            if verdict.failed() {
                continue;
            }
            let Ok(text) = std::str::from_utf8(bytes) else {
                verdict.fail(format!("the content of <{}> is not valid UTF-8", element.name()));
                continue;
            };
            // `open` and `close` are ASCII: one character per byte.
            if let Some(reason) = control_character(text, chars + open.len()) {
                verdict.fail(format!("the content of <{}> {reason}", element.name()));
            } else if raw.len() + open.len() + text.len() + close.len() > MAX_CODE_BYTES {
                verdict.fail(format!("the content of <{}> is longer than {MAX_CODE_BYTES} bytes", element.name()));
            } else {
                raw.extend([open, text, close]);
                chars += open.len() + text.chars().count() + close.len();
            }
        }
        self.give_buffer(buf);
        Ok(raw)
    }

    /// The text content of a `<prop>` or `<note>` (just opened), `what`,
    /// limited to [`MAX_METADATA_CHARS`]. `label` names it in reasons.
    fn read_text(&mut self, what: &str, label: &'static str, verdict: &mut Verdict) -> Result<String, TmxError> {
        let mut value = TextBuilder::new(label, MAX_METADATA_CHARS);
        let mut buf = self.take_buffer();
        loop {
            buf.clear();
            match self.read(&mut buf)? {
                Event::Text(text) => value.push_decoded(text.xml10_content(), verdict),
                Event::CData(text) => value.push_decoded(text.xml10_content(), verdict),
                Event::GeneralRef(reference) if !verdict.failed() => match resolve(&reference) {
                    Ok(text) => value.push(&text, verdict),
                    Err(reason) => verdict.fail(format!("{label} {reason}")),
                },
                Event::Start(e) => {
                    let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                    self.skip(&name)?;
                    verdict.fail(format!("{label} holds an element <{name}>"));
                }
                Event::Empty(e) => {
                    verdict.fail(format!("{label} holds an element <{}>", String::from_utf8_lossy(e.name().as_ref())))
                }
                Event::End(_) => break,
                Event::Eof => return Err(self.eof(what)),
                _ => {}
            }
        }
        self.give_buffer(buf);
        Ok(value.text)
    }

    /// Skips the rest of the element just opened, `name`.
    fn skip(&mut self, name: &str) -> Result<(), TmxError> {
        let mut depth = 0usize;
        let mut buf = self.take_buffer();
        loop {
            buf.clear();
            match self.read(&mut buf)? {
                Event::Start(_) => depth += 1,
                Event::End(_) if depth == 0 => break,
                Event::End(_) => depth -= 1,
                Event::Eof => return Err(self.eof(name)),
                _ => {}
            }
        }
        self.give_buffer(buf);
        Ok(())
    }

    /// Skips the element just opened, unless it was an empty one (`<x/>`).
    fn skip_unless(&mut self, empty: bool) -> Result<(), TmxError> {
        if empty {
            Ok(())
        } else {
            self.skip("element")
        }
    }

    /// The next XML event, counting the nesting depth.
    fn read<'b>(&mut self, buf: &'b mut Vec<u8>) -> Result<Event<'b>, TmxError> {
        // quick-xml consumes text up to the `<` of the next tag, not beyond.
        self.event_start = self.xml.get_mut().start_event();
        let event = match self.xml.read_event_into(buf) {
            Ok(event) => event,
            Err(err) => return Err(self.xml_error(err)),
        };
        match event {
            Event::Start(_) => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err(TmxError::Refused {
                        position: self.last_tag(),
                        reason: format!("elements nested deeper than {MAX_DEPTH}"),
                    });
                }
            }
            Event::End(_) => self.depth = self.depth.saturating_sub(1),
            _ => {}
        }
        Ok(event)
    }

    fn xml_error(&self, err: quick_xml::Error) -> TmxError {
        let source = self.xml.get_ref();
        let position = source.position_at(self.xml.error_position());
        match err {
            quick_xml::Error::Io(_) if source.overlong() => TmxError::Refused {
                position,
                reason: format!(
                    "more than {MAX_TOKEN_BYTES} bytes in one XML event (text, tag, CDATA section, comment…): \
                     not a TMX file this reader accepts"
                ),
            },
            quick_xml::Error::Io(err) => {
                TmxError::Io { position, source: std::io::Error::new(err.kind(), err.to_string()) }
            }
            err => TmxError::Malformed { position, reason: format!("broken XML: {err}") },
        }
    }

    fn eof(&self, inside: &str) -> TmxError {
        self.malformed(format!("broken XML: the file ends inside <{inside}>"))
    }

    fn malformed(&self, reason: String) -> TmxError {
        TmxError::Malformed { position: self.xml.get_ref().here(), reason }
    }

    /// The position of the tag just read.
    fn last_tag(&self) -> Position {
        self.event_start
    }

    fn take_buffer(&mut self) -> Vec<u8> {
        self.buffers.pop().unwrap_or_default()
    }

    fn give_buffer(&mut self, buf: Vec<u8>) {
        if buf.capacity() <= KEPT_BUFFER_BYTES {
            self.buffers.push(buf);
        }
    }
}

impl<R: Read> Iterator for TmxReader<R> {
    type Item = Result<Entry, TmxError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_entry().transpose()
    }
}

/// The first reason why a unit (or the header) cannot be kept. Once it is
/// set, the reading goes on to the end of the unit and stores nothing more.
#[derive(Debug, Default)]
struct Verdict(Option<String>);

impl Verdict {
    fn fail(&mut self, reason: impl Into<String>) {
        if self.0.is_none() {
            self.0 = Some(reason.into());
        }
    }

    fn failed(&self) -> bool {
        self.0.is_some()
    }
}

/// The `<prop>` and `<note>` elements of one element.
#[derive(Debug, Default)]
struct Metadata {
    props: Vec<Prop>,
    notes: Vec<String>,
}

/// A `<tu>` being read.
#[derive(Debug, Default)]
struct UnitBuilder {
    attributes: Vec<Attribute>,
    metadata: Metadata,
    arabic: Option<Variant>,
    english: Option<Variant>,
    /// Every `xml:lang` seen, in order.
    languages: Vec<String>,
    warnings: Vec<String>,
}

impl UnitBuilder {
    fn variant(&self, lang: Lang) -> Option<&Variant> {
        match lang {
            Lang::Arabic => self.arabic.as_ref(),
            Lang::English => self.english.as_ref(),
        }
    }

    fn set_variant(&mut self, lang: Lang, variant: Variant) {
        match lang {
            Lang::Arabic => self.arabic = Some(variant),
            Lang::English => self.english = Some(variant),
        }
    }

    fn warn(&mut self, warning: String) {
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(warning);
        }
    }

    fn finish(self, position: Position, verdict: Verdict) -> Entry {
        let tuid = attribute(&self.attributes, "tuid").map(str::to_owned);
        let mut languages = Vec::new();
        let reason = match (verdict.0, self.arabic, self.english) {
            (Some(reason), _, _) => reason,
            (None, Some(arabic), Some(english)) => {
                let Metadata { props, notes } = self.metadata;
                let unit = TmxUnit { attributes: self.attributes, props, notes, arabic, english };
                return Entry::Unit(ReadUnit { position, unit, warnings: self.warnings });
            }
            (None, arabic, english) => {
                let missing = match (arabic, english) {
                    (None, None) => "no Arabic or English variant",
                    (None, Some(_)) => "no Arabic variant",
                    _ => "no English variant",
                };
                let reason = match self.languages.is_empty() {
                    true => format!("{missing}: the unit has no <tuv>"),
                    false => format!("{missing} (languages found: {})", self.languages.join(", ")),
                };
                languages = self.languages;
                reason
            }
        };
        Entry::Rejected(Rejected { position, tuid, reason, end: position, languages })
    }
}

/// Text being read, checked piece by piece: no control character, at most
/// `limit` characters. `label` names it in reasons ("the Arabic segment").
#[derive(Debug)]
struct TextBuilder {
    label: &'static str,
    limit: usize,
    text: String,
    chars: usize,
}

impl TextBuilder {
    fn new(label: &'static str, limit: usize) -> TextBuilder {
        TextBuilder { label, limit, text: String::new(), chars: 0 }
    }

    fn push(&mut self, text: &str, verdict: &mut Verdict) {
        if verdict.failed() {
            return;
        }
        if let Some(reason) = control_character(text, self.chars) {
            return verdict.fail(format!("{} {reason}", self.label));
        }
        self.chars += text.chars().count();
        if self.chars > self.limit {
            return verdict.fail(format!("{} is longer than {} characters", self.label, self.limit));
        }
        self.text.push_str(text);
    }

    fn push_decoded<E>(&mut self, text: Result<Cow<str>, E>, verdict: &mut Verdict) {
        match text {
            Ok(text) => self.push(&text, verdict),
            Err(_) => verdict.fail(format!("{} is not valid UTF-8", self.label)),
        }
    }
}

/// The text and markup of a `<seg>` being read.
#[derive(Debug)]
struct SegmentBuilder {
    text: TextBuilder,
    markup: Vec<InlineTag>,
}

impl SegmentBuilder {
    fn tag(&mut self, kind: InlineKind, verdict: &mut Verdict) {
        if verdict.failed() {
            return;
        }
        if self.markup.len() == MAX_TAGS_PER_SEGMENT {
            let label = self.text.label;
            return verdict.fail(format!("{label} has more than {MAX_TAGS_PER_SEGMENT} inline tags"));
        }
        self.markup.push(InlineTag { offset: self.text.chars, kind });
    }
}

/// The attributes of `start`, values resolved and checked.
fn attributes(start: &BytesStart, verdict: &mut Verdict) -> Vec<Attribute> {
    let element = || String::from_utf8_lossy(start.name().as_ref()).into_owned();
    let mut attributes = Vec::new();
    for attr in start.attributes() {
        if attributes.len() == MAX_ATTRIBUTES {
            verdict.fail(format!("<{}> has more than {MAX_ATTRIBUTES} attributes", element()));
            break;
        }
        let attr = match attr {
            Ok(attr) => attr,
            Err(err) => {
                verdict.fail(format!("<{}>: bad attribute: {err}", element()));
                break;
            }
        };
        // The writer writes only XML names: a unit read must be writable.
        let name = match std::str::from_utf8(attr.key.as_ref()) {
            Ok(name) if is_xml_name(name) => name.to_owned(),
            _ => {
                let name = String::from_utf8_lossy(attr.key.as_ref());
                verdict.fail(format!("<{}> has an attribute named {name:?}, which is not an XML name", element()));
                break;
            }
        };
        let value = match attr.normalized_value(XmlVersion::Implicit1_0) {
            Ok(value) => value,
            Err(err) => {
                verdict.fail(format!("<{}> attribute {name}: {err} (only &lt; &gt; &amp; &apos; &quot; and character references are resolved)", element()));
                break;
            }
        };
        let chars = value.chars().count();
        if chars > MAX_METADATA_CHARS {
            verdict.fail(format!("<{}> attribute {name} is longer than {MAX_METADATA_CHARS} characters", element()));
            break;
        }
        if let Some(reason) = control_character(&value, 0) {
            verdict.fail(format!("<{}> attribute {name} {reason}", element()));
            break;
        }
        attributes.push(Attribute { name, value: value.into_owned() });
    }
    attributes
}

/// Removes the language attribute (`xml:lang`, else `lang`) and returns its
/// value.
fn take_lang(attributes: &mut Vec<Attribute>) -> Option<String> {
    let at = attributes
        .iter()
        .position(|a| a.name == "xml:lang")
        .or_else(|| attributes.iter().position(|a| a.name == "lang"))?;
    Some(attributes.remove(at).value)
}

/// The text of a reference: a character reference or one of the five
/// predefined entities. Any other entity is an error: none is ever expanded.
fn resolve(reference: &BytesRef) -> Result<Cow<'static, str>, String> {
    let name = String::from_utf8_lossy(reference);
    if reference.is_char_ref() {
        return match reference.resolve_char_ref() {
            Ok(Some(c)) => Ok(Cow::Owned(c.to_string())),
            _ => Err(format!("has an invalid character reference &{name};")),
        };
    }
    match resolve_predefined_entity(&name) {
        Some(text) => Ok(Cow::Borrowed(text)),
        None => Err(format!("uses the undefined entity &{name}; (entities are never expanded)")),
    }
}

/// Why `text` cannot be kept, if it holds a control character (see
/// [`crate::unit::is_forbidden_control`]). `base` is the number of
/// characters before `text`.
fn control_character(text: &str, base: usize) -> Option<String> {
    let (at, c) = first_control(text)?;
    Some(format!("contains the control character U+{:04X} at character {}", c as u32, base + at))
}

/// How a language is named in reasons.
fn side(lang: Lang) -> &'static str {
    match lang {
        Lang::Arabic => "Arabic",
        Lang::English => "English",
    }
}
