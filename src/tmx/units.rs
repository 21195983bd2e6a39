//! TMX units to stored [`Unit`]s and back, and the copy of rejected units.
//!
//! What a `<tu>` says maps to [`Unit`] fields where there is one:
//!
//! | TMX                                              | [`Unit`]                          |
//! |--------------------------------------------------|-----------------------------------|
//! | `tuid`                                           | `tuid`                            |
//! | `creationdate`, `creationid`                     | `created_at_ms`, `created_by`     |
//! | `changedate`, `changeid`                         | `changed_at_ms`, `changed_by`     |
//! | `usagecount`, `lastusagedate`                    | `usage_count`, `last_used_at_ms`  |
//! | `<prop type="x-dhakira-memory">` (and `-domain`, `-source-document`, `-client`, `-project`, `-context-before`, `-context-after`) | the field of that name |
//! | `srclang` when it names Arabic or English        | `source_lang` (the attribute, as written, also stays in the details) |
//! | other `<prop>`s of the `<tu>` (with their `xml:lang`, `o-encoding`) | `properties`           |
//! | first `<note>` of the `<tu>`                     | `note`                            |
//! | `<seg>` text and inline markup                   | `arabic`/`english`, `*_markup`    |
//!
//! Everything else (other `<tu>` attributes such as `srclang` or
//! `datatype`, further notes, language codes other than plain `ar`/`en`,
//! `<tuv>` attributes, props and notes) goes to [`TmxDetails`], so that
//! [`to_tmx`] gives back what [`from_tmx`] read.

use std::io::{self, Read, Write};

use super::{input, Attribute, CodeElement, InlineKind, InlineTag, Position, Prop, Segment, TmxUnit, Variant};
use crate::text::Lang;
use crate::unit::{Property, SideDetails, Tag, TagKind, TmxDetails, Unit};

/// The property that names a unit's memory in exports.
pub const MEMORY_PROP: &str = "x-dhakira-memory";
/// The property that holds a unit's domain in exports.
pub const DOMAIN_PROP: &str = "x-dhakira-domain";
/// The property that holds a unit's source document in exports.
pub const SOURCE_DOCUMENT_PROP: &str = "x-dhakira-source-document";

/// The property that holds a unit's client in exports.
pub const CLIENT_PROP: &str = "x-dhakira-client";
/// The property that holds a unit's project in exports.
pub const PROJECT_PROP: &str = "x-dhakira-project";
/// The properties that hold a unit's context in exports.
pub const CONTEXT_BEFORE_PROP: &str = "x-dhakira-context-before";
pub const CONTEXT_AFTER_PROP: &str = "x-dhakira-context-after";

/// `<tu>` attributes with a [`Unit`] field, in the order they are written.
const MAPPED_ATTRIBUTES: [&str; 7] =
    ["tuid", "creationdate", "creationid", "changedate", "changeid", "usagecount", "lastusagedate"];

/// A unit read from TMX, as it will be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Converted {
    /// Not yet checked ([`Unit::check`]), without id; `memory` is the
    /// `x-dhakira-memory` property or empty.
    pub unit: Unit,
    /// The unit's `srclang` when it is Arabic or English.
    pub source: Option<Lang>,
    /// What could not be kept (a date that is not a TMX date…).
    pub warnings: Vec<String>,
}

/// A TMX unit as a stored unit (see the module documentation).
pub fn from_tmx(tmx: TmxUnit) -> Converted {
    let TmxUnit { attributes, props, notes, arabic, english } = tmx;
    let mut unit = Unit::default();
    let mut warnings = Vec::new();
    let mut details = TmxDetails::default();
    let mut source = None;
    details.no_creation_date = !attributes.iter().any(|a| a.name == "creationdate");
    for Attribute { name, value } in attributes {
        let date = |warnings: &mut Vec<String>| match parse_date(&value) {
            Some(ms) => ms,
            None => {
                warnings.push(format!("ignored {name}={value:?}: not a TMX date (YYYYMMDDThhmmssZ)"));
                0
            }
        };
        match name.as_str() {
            "tuid" => unit.tuid = value,
            "creationdate" => unit.created_at_ms = date(&mut warnings),
            "creationid" => unit.created_by = value,
            "changedate" => unit.changed_at_ms = date(&mut warnings),
            "changeid" => unit.changed_by = value,
            "lastusagedate" => unit.last_used_at_ms = date(&mut warnings),
            "usagecount" => match value.trim().parse() {
                Ok(count) => unit.usage_count = count,
                Err(_) => warnings.push(format!("ignored usagecount={value:?}: not a count")),
            },
            _ => {
                if name == "srclang" {
                    source = Lang::from_code(&value);
                }
                details.attributes.push(Property::new(name, value));
            }
        }
    }
    for Prop { kind, value, attributes } in props {
        match kind.as_str() {
            MEMORY_PROP => unit.memory = value,
            DOMAIN_PROP => unit.domain = value,
            SOURCE_DOCUMENT_PROP => unit.source_document = value,
            CLIENT_PROP => unit.client = value,
            PROJECT_PROP => unit.project = value,
            CONTEXT_BEFORE_PROP => unit.context_before = value,
            CONTEXT_AFTER_PROP => unit.context_after = value,
            _ => unit.properties.push(Property {
                name: kind,
                value,
                attributes: attributes.into_iter().map(property).collect(),
            }),
        }
    }
    if let Some(source) = source {
        unit.source_lang = source.code().to_owned();
    }
    let mut notes = notes.into_iter();
    unit.note = notes.next().unwrap_or_default();
    details.more_notes = notes.collect();
    // A srclang that names the source variant's language code as written
    // is what `to_tmx` writes from `source_lang`: not kept twice.
    if let Some(source) = source {
        let code = match source {
            Lang::Arabic => &arabic.lang,
            Lang::English => &english.lang,
        };
        details.attributes.retain(|a| a.name != "srclang" || a.value != *code);
    }
    let (text, markup, side) = from_variant(arabic, Lang::Arabic);
    (unit.arabic, unit.arabic_markup, details.arabic) = (text, markup, side);
    let (text, markup, side) = from_variant(english, Lang::English);
    (unit.english, unit.english_markup, details.english) = (text, markup, side);
    if details != TmxDetails::default() {
        unit.tmx = Some(details);
    }
    Converted { unit, source, warnings }
}

fn from_variant(variant: Variant, lang: Lang) -> (String, Vec<Tag>, Option<SideDetails>) {
    let Variant { lang: code, attributes, props, notes, segment } = variant;
    let details = SideDetails {
        lang: if code == lang.code() { String::new() } else { code },
        attributes: attributes.into_iter().map(property).collect(),
        props: props.into_iter().map(prop_property).collect(),
        notes,
    };
    let markup = segment.markup.into_iter().map(tag).collect();
    (segment.text, markup, (details != SideDetails::default()).then_some(details))
}

fn property(a: Attribute) -> Property {
    Property::new(a.name, a.value)
}

fn prop_property(p: Prop) -> Property {
    Property { name: p.kind, value: p.value, attributes: p.attributes.into_iter().map(property).collect() }
}

fn property_prop(p: &Property) -> Prop {
    Prop { kind: p.name.clone(), value: p.value.clone(), attributes: p.attributes.iter().map(attribute).collect() }
}

fn attribute(p: &Property) -> Attribute {
    Attribute::new(&p.name, &p.value)
}

fn tag(tag: InlineTag) -> Tag {
    let offset = u32::try_from(tag.offset).unwrap_or(u32::MAX);
    let (kind, attributes, content) = match tag.kind {
        InlineKind::Code { element, attributes, content } => {
            let kind = match element {
                CodeElement::Bpt => TagKind::Bpt,
                CodeElement::Ept => TagKind::Ept,
                CodeElement::Ph => TagKind::Ph,
                CodeElement::It => TagKind::It,
                CodeElement::Ut => TagKind::Ut,
                CodeElement::Sub => TagKind::Sub,
            };
            (kind, attributes, content)
        }
        InlineKind::HiStart { attributes } => (TagKind::HiStart, attributes, String::new()),
        InlineKind::HiEnd => (TagKind::HiEnd, Vec::new(), String::new()),
    };
    Tag { offset, kind: kind as i32, attributes: attributes.into_iter().map(property).collect(), content }
}

fn inline_tag(tag: &Tag) -> InlineTag {
    let attributes = tag.attributes.iter().map(attribute).collect();
    let code = |element| InlineKind::Code {
        element,
        attributes: tag.attributes.iter().map(attribute).collect(),
        content: tag.content.clone(),
    };
    let kind = match TagKind::try_from(tag.kind).unwrap_or(TagKind::Unspecified) {
        TagKind::Bpt => code(CodeElement::Bpt),
        TagKind::Ept => code(CodeElement::Ept),
        TagKind::Ph | TagKind::Unspecified => code(CodeElement::Ph),
        TagKind::It => code(CodeElement::It),
        TagKind::Ut => code(CodeElement::Ut),
        TagKind::Sub => code(CodeElement::Sub),
        TagKind::HiStart => InlineKind::HiStart { attributes },
        TagKind::HiEnd => InlineKind::HiEnd,
    };
    InlineTag { offset: tag.offset as usize, kind }
}

/// A stored unit as TMX: the inverse of [`from_tmx`] (with the memory, the
/// domain and the source document as `x-dhakira-*` properties).
pub fn to_tmx(unit: &Unit) -> TmxUnit {
    let details = unit.tmx.clone().unwrap_or_default();
    let mut attributes = Vec::new();
    for name in MAPPED_ATTRIBUTES {
        let value = match name {
            "tuid" => unit.tuid.clone(),
            "creationdate" if details.no_creation_date => String::new(),
            "creationdate" => format_date(unit.created_at_ms),
            "creationid" => unit.created_by.clone(),
            "changedate" => format_date(unit.changed_at_ms),
            "changeid" => unit.changed_by.clone(),
            "usagecount" if unit.usage_count > 0 => unit.usage_count.to_string(),
            "lastusagedate" => format_date(unit.last_used_at_ms),
            _ => String::new(),
        };
        if !value.is_empty() {
            attributes.push(Attribute::new(name, value));
        }
    }
    attributes
        .extend(details.attributes.iter().filter(|p| !MAPPED_ATTRIBUTES.contains(&p.name.as_str())).map(attribute));
    if let Some(code) = srclang(unit) {
        match attributes.iter_mut().find(|a| a.name == "srclang") {
            Some(written) => written.value = code.to_owned(),
            None => attributes.push(Attribute::new("srclang", code)),
        }
    }
    let mut props = vec![Prop::new(MEMORY_PROP, &unit.memory)];
    for (kind, value) in [
        (DOMAIN_PROP, &unit.domain),
        (SOURCE_DOCUMENT_PROP, &unit.source_document),
        (CLIENT_PROP, &unit.client),
        (PROJECT_PROP, &unit.project),
        (CONTEXT_BEFORE_PROP, &unit.context_before),
        (CONTEXT_AFTER_PROP, &unit.context_after),
    ] {
        if !value.is_empty() {
            props.push(Prop::new(kind, value));
        }
    }
    props.extend(unit.properties.iter().map(property_prop));
    let mut notes = Vec::new();
    if !unit.note.is_empty() || !details.more_notes.is_empty() {
        notes.push(unit.note.clone());
        notes.extend(details.more_notes.iter().cloned());
    }
    TmxUnit {
        attributes,
        props,
        notes,
        arabic: to_variant(&unit.arabic, &unit.arabic_markup, details.arabic.as_ref(), Lang::Arabic),
        english: to_variant(&unit.english, &unit.english_markup, details.english.as_ref(), Lang::English),
    }
}

/// The `srclang` that [`to_tmx`] writes: for a unit that knows its source
/// side, its `srclang` as it was written when it names that side, else the
/// language code of the source variant; for one that does not, the
/// `srclang` it came with, if any.
pub fn srclang(unit: &Unit) -> Option<&str> {
    let details = unit.tmx.as_ref();
    let written = details.and_then(|d| d.attributes.iter().find(|a| a.name == "srclang")).map(|a| a.value.as_str());
    let Some(source) = unit.source() else { return written };
    if written.is_some_and(|code| Lang::from_code(code) == Some(source)) {
        return written;
    }
    let side = details.and_then(|d| match source {
        Lang::Arabic => d.arabic.as_ref(),
        Lang::English => d.english.as_ref(),
    });
    Some(side.map(|s| s.lang.as_str()).filter(|code| !code.is_empty()).unwrap_or(source.code()))
}

fn to_variant(text: &str, markup: &[Tag], details: Option<&SideDetails>, lang: Lang) -> Variant {
    let segment = Segment { text: text.to_owned(), markup: markup.iter().map(inline_tag).collect() };
    let Some(details) = details else { return Variant::new(lang.code(), segment) };
    Variant {
        lang: if details.lang.is_empty() { lang.code().to_owned() } else { details.lang.clone() },
        attributes: details.attributes.iter().map(attribute).collect(),
        props: details.props.iter().map(property_prop).collect(),
        notes: details.notes.clone(),
        segment,
    }
}

/// A TMX date (`YYYYMMDDThhmmssZ`, UTC) in milliseconds since the Unix
/// epoch; `None` when it is not one or is before 1970.
pub fn parse_date(text: &str) -> Option<i64> {
    let text = text.trim();
    if text.len() != 16 || !text.is_ascii() {
        return None;
    }
    let time = jiff::civil::DateTime::strptime("%Y%m%dT%H%M%SZ", text).ok()?;
    let ms = time.to_zoned(jiff::tz::TimeZone::UTC).ok()?.timestamp().as_millisecond();
    (ms >= 0).then_some(ms)
}

/// Milliseconds since the Unix epoch as a TMX date (seconds kept); empty
/// for 0 (no date).
pub fn format_date(ms: i64) -> String {
    if ms <= 0 {
        return String::new();
    }
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(time) => time.strftime("%Y%m%dT%H%M%SZ").to_string(),
        Err(_) => String::new(),
    }
}

/// Copies units out of a TMX input into a new TMX document: for each
/// `(start, end, reason)`, an XML comment with the line and the reason, then
/// the input's bytes from `start` to `end` (a `<tu>` as
/// [`super::Rejected`] locates it), as they are after decoding to UTF-8.
/// This is how an import writes its rejected units for a translator to fix
/// and import again. Ranges must be in input order.
pub fn copy_units(input: impl Read, ranges: &[(Position, Position, String)], out: impl Write) -> io::Result<()> {
    let (mut source, _) = input::open(input).map_err(|err| match err {
        Ok(reason) => io::Error::new(io::ErrorKind::InvalidData, reason),
        Err(err) => err,
    })?;
    let mut out = io::BufWriter::new(out);
    out.write_all(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<tmx version=\"1.4\">\n  <header")?;
    for (name, value) in super::REQUIRED_HEADER {
        write!(out, " {name}=\"{value}\"")?;
    }
    out.write_all(b"/>\n  <body>\n")?;
    let mut at = 0u64;
    for (start, end, reason) in ranges {
        if start.byte < at || end.byte < start.byte {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "unit ranges out of order"));
        }
        io::copy(&mut (&mut source).take(start.byte - at), &mut io::sink())?;
        // "--" may not appear in a comment.
        let reason = reason.replace("--", "- -");
        writeln!(out, "    <!-- line {}: {} -->", start.line, reason.trim_end_matches('-'))?;
        out.write_all(b"    ")?;
        let copied = io::copy(&mut (&mut source).take(end.byte - start.byte), &mut out)?;
        if copied != end.byte - start.byte {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the input is shorter than when it was read"));
        }
        out.write_all(b"\n")?;
        at = end.byte;
    }
    out.write_all(b"  </body>\n</tmx>\n")?;
    out.flush()
}
