//! The streaming writer: a UTF-8 TMX 1.4 document, unit by unit.

use std::io::{self, Write};

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;

use super::{Attribute, Header, InlineKind, Prop, Segment, TmxUnit, Variant, REQUIRED_HEADER};
use crate::text::Lang;
use crate::unit::{first_control, is_forbidden_control};

/// Writes a TMX 1.4 document to `W`: [`TmxWriter::new`] writes the XML
/// declaration, `<tmx>`, the header and `<body>`; [`TmxWriter::write_unit`]
/// one `<tu>`; [`TmxWriter::finish`] closes the document.
///
/// Each unit is checked and formatted in memory before anything is written,
/// so a unit refused with `InvalidInput` leaves the output well-formed. Wrap
/// a file in a `BufWriter`; call [`TmxWriter::flush`] when the output should
/// reach it.
pub struct TmxWriter<W: Write> {
    out: W,
    buffer: String,
}

impl<W: Write> TmxWriter<W> {
    /// Starts the document with `header`; the attributes TMX requires and
    /// `header` lacks are added (see [`Header::dhakira`]).
    pub fn new(mut out: W, header: &Header) -> io::Result<TmxWriter<W>> {
        let mut text = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<tmx version=\"1.4\">\n  <header");
        let mut attributes = header.attributes.clone();
        for (name, value) in REQUIRED_HEADER {
            if header.get(name).is_none() {
                attributes.push(Attribute::new(name, value));
            }
        }
        write_attributes(&attributes, &mut text).map_err(invalid)?;
        if header.props.is_empty() && header.notes.is_empty() {
            text.push_str("/>\n");
        } else {
            text.push_str(">\n");
            write_metadata(&header.props, &header.notes, "    ", &mut text).map_err(invalid)?;
            text.push_str("  </header>\n");
        }
        text.push_str("  <body>\n");
        out.write_all(text.as_bytes())?;
        Ok(TmxWriter { out, buffer: String::new() })
    }

    /// Writes one `<tu>`. A unit that TMX cannot hold or that the reader
    /// would not give back (a control character, markup out of the text, an
    /// attribute name that is not an XML name, an empty segment, a language
    /// code of the other side…) is refused with
    /// [`io::ErrorKind::InvalidInput`] and nothing written. The reader's
    /// size limits are not checked here.
    pub fn write_unit(&mut self, unit: &TmxUnit) -> io::Result<()> {
        self.buffer.clear();
        format_unit(unit, &mut self.buffer).map_err(|reason| match unit.tuid() {
            Some(tuid) => invalid(format!("unit {tuid:?}: {reason}")),
            None => invalid(reason),
        })?;
        self.out.write_all(self.buffer.as_bytes())
    }

    /// Flushes the output.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Closes `<body>` and `<tmx>`, flushes, and returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.write_all(b"  </body>\n</tmx>\n")?;
        self.out.flush()?;
        Ok(self.out)
    }
}

fn invalid(reason: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, reason)
}

fn format_unit(unit: &TmxUnit, out: &mut String) -> Result<(), String> {
    out.push_str("    <tu");
    write_attributes(&unit.attributes, out)?;
    out.push_str(">\n");
    write_metadata(&unit.props, &unit.notes, "      ", out)?;
    // The source variant first: readers such as translate-toolkit take the
    // first <tuv> as the source, whatever srclang says.
    let arabic = |out: &mut String| {
        write_variant(&unit.arabic, Lang::Arabic, out).map_err(|reason| format!("Arabic variant: {reason}"))
    };
    let english = |out: &mut String| {
        write_variant(&unit.english, Lang::English, out).map_err(|reason| format!("English variant: {reason}"))
    };
    if unit.get("srclang").and_then(Lang::from_code) == Some(Lang::English) {
        english(out)?;
        arabic(out)?;
    } else {
        arabic(out)?;
        english(out)?;
    }
    out.push_str("    </tu>\n");
    Ok(())
}

fn write_variant(variant: &Variant, lang: Lang, out: &mut String) -> Result<(), String> {
    if Lang::from_code(&variant.lang) != Some(lang) {
        return Err(format!("the language code {:?} does not name this language", variant.lang));
    }
    if variant.segment.text.trim().is_empty() {
        return Err("the segment is empty".into());
    }
    if variant.attributes.iter().any(|a| a.name == "xml:lang") {
        return Err("xml:lang is the variant's lang, not one of its attributes".into());
    }
    out.push_str("      <tuv");
    write_attribute("xml:lang", &variant.lang, out)?;
    write_attributes(&variant.attributes, out)?;
    out.push_str(">\n");
    write_metadata(&variant.props, &variant.notes, "        ", out)?;
    out.push_str("        <seg>");
    write_segment(&variant.segment, out)?;
    out.push_str("</seg>\n      </tuv>\n");
    Ok(())
}

/// Notes, then props, one per line after `indent`.
fn write_metadata(props: &[Prop], notes: &[String], indent: &str, out: &mut String) -> Result<(), String> {
    for note in notes {
        out.extend([indent, "<note>"]);
        escape_text(note, out)?;
        out.push_str("</note>\n");
    }
    for prop in props {
        out.extend([indent, "<prop"]);
        write_attribute("type", &prop.kind, out)?;
        if prop.attributes.iter().any(|a| a.name == "type") {
            return Err("type is the prop's kind, not one of its attributes".into());
        }
        write_attributes(&prop.attributes, out)?;
        out.push('>');
        escape_text(&prop.value, out)?;
        out.push_str("</prop>\n");
    }
    Ok(())
}

/// The text of `segment` with its markup put back.
fn write_segment(segment: &Segment, out: &mut String) -> Result<(), String> {
    let text = &segment.text;
    let (mut byte, mut offset, mut open_hi) = (0, 0, 0usize);
    for tag in &segment.markup {
        if tag.offset < offset {
            return Err(format!("inline tags out of order: offset {} after {offset}", tag.offset));
        }
        let Some(end) = byte_after(&text[byte..], tag.offset - offset) else {
            return Err(format!("an inline tag at offset {} is past the end of the text", tag.offset));
        };
        escape_text(&text[byte..byte + end], out)?;
        (byte, offset) = (byte + end, tag.offset);
        match &tag.kind {
            InlineKind::Code { element, attributes, content } => {
                check_fragment(content).map_err(|reason| format!("<{}> content: {reason}", element.name()))?;
                out.extend(["<", element.name()]);
                write_attributes(attributes, out)?;
                match content.is_empty() {
                    true => out.push_str("/>"),
                    false => out.extend([">", content.as_str(), "</", element.name(), ">"]),
                }
            }
            InlineKind::HiStart { attributes } => {
                out.push_str("<hi");
                write_attributes(attributes, out)?;
                out.push('>');
                open_hi += 1;
            }
            InlineKind::HiEnd => {
                open_hi = open_hi.checked_sub(1).ok_or("a hi end without its start")?;
                out.push_str("</hi>");
            }
        }
    }
    if open_hi > 0 {
        return Err("a hi start without its end".into());
    }
    escape_text(&text[byte..], out)
}

/// The byte length of the first `chars` characters of `text`, if it has
/// that many.
fn byte_after(text: &str, chars: usize) -> Option<usize> {
    match text.char_indices().nth(chars) {
        Some((at, _)) => Some(at),
        None => (text.chars().count() == chars).then_some(text.len()),
    }
}

/// ` name="value"` for each attribute.
fn write_attributes(attributes: &[Attribute], out: &mut String) -> Result<(), String> {
    for (i, attribute) in attributes.iter().enumerate() {
        if !is_xml_name(&attribute.name) {
            return Err(format!("{:?} is not an XML attribute name", attribute.name));
        }
        if attributes[..i].iter().any(|a| a.name == attribute.name) {
            return Err(format!("the attribute {} is given twice", attribute.name));
        }
        write_attribute(&attribute.name, &attribute.value, out)?;
    }
    Ok(())
}

/// ` name="value"`; `name` is an XML name.
fn write_attribute(name: &str, value: &str, out: &mut String) -> Result<(), String> {
    out.extend([" ", name, "=\""]);
    escape(value, true, out).map_err(|reason| format!("attribute {name}: {reason}"))?;
    out.push('"');
    Ok(())
}

fn escape_text(text: &str, out: &mut String) -> Result<(), String> {
    escape(text, false, out)
}

/// Appends `text` escaped for element content or, with `attribute`, for a
/// double-quoted attribute value, where tab and line breaks are written as
/// references so that they survive attribute normalization. A carriage
/// return is always a reference: a literal one would be read as a line feed.
fn escape(text: &str, attribute: bool, out: &mut String) -> Result<(), String> {
    // The start of the run of characters written as they are.
    let mut run = 0;
    for (at, c) in text.char_indices() {
        let reference = match c {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            '\r' => "&#13;",
            '"' if attribute => "&quot;",
            '\t' if attribute => "&#9;",
            '\n' if attribute => "&#10;",
            c if is_forbidden_control(c) => {
                return Err(format!("contains the control character U+{:04X}, which TMX cannot hold", c as u32))
            }
            _ => continue,
        };
        out.extend([&text[run..at], reference]);
        run = at + c.len_utf8();
    }
    out.push_str(&text[run..]);
    Ok(())
}

/// Whether `name` is an XML name (letters, digits, `_ : . -`, not starting
/// with a digit, `.` or `-`).
pub(super) fn is_xml_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | ':' | '.' | '-'))
}

/// Checks that raw inline content is well-formed XML that the reader takes
/// back unchanged: balanced elements, only predefined entities, no control
/// characters.
fn check_fragment(content: &str) -> Result<(), String> {
    if content.is_empty() {
        return Ok(());
    }
    if let Some((_, c)) = first_control(content) {
        return Err(format!("contains the control character U+{:04X}", c as u32));
    }
    let mut xml = quick_xml::Reader::from_str(content);
    let mut depth = 0usize;
    loop {
        match xml.read_event().map_err(|err| format!("not well-formed XML: {err}"))? {
            Event::Start(_) => depth += 1,
            Event::End(_) => depth = depth.checked_sub(1).ok_or("an end tag without its start")?,
            Event::GeneralRef(reference) => {
                let name = String::from_utf8_lossy(&reference).into_owned();
                let known = match reference.resolve_char_ref() {
                    Ok(Some(c)) => !is_forbidden_control(c),
                    Ok(None) => resolve_predefined_entity(&name).is_some(),
                    Err(_) => false,
                };
                if !known {
                    return Err(format!("the reference &{name}; would not be read back"));
                }
            }
            Event::Decl(_) | Event::DocType(_) => return Err("an XML declaration or DOCTYPE".into()),
            Event::Eof if depth == 0 => return Ok(()),
            Event::Eof => return Err("an element without its end tag".into()),
            _ => {}
        }
    }
}
