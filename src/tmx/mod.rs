//! TMX 1.4b (Translation Memory eXchange): a streaming reader and writer for
//! Arabic–English units, independent of the store and the engine.
//!
//! [`TmxReader`] takes any [`std::io::Read`] (UTF-8 with or without BOM,
//! UTF-16 LE/BE with or without BOM, or the encoding its XML declaration
//! names), reads the header when it is created and then yields one
//! [`Entry`] per `<tu>`: a [`ReadUnit`], or a [`Rejected`] unit with its
//! position and reason. Memory stays bounded whatever the file size. Broken
//! XML ends the reading with a [`TmxError`] naming the line and column;
//! everything yielded before it stays valid.
//!
//! [`TmxWriter`] writes units one by one, and reading what it wrote gives the
//! same units back (text, inline markup, metadata).
//!
//! # Inline markup
//!
//! A `<seg>` becomes a [`Segment`]: its plain `text` (what matching sees) and
//! its `markup`, a list of [`InlineTag`]s in document order, each at a
//! character offset in `text`:
//!
//! - `bpt`, `ept`, `ph`, `it`, `ut` and `sub` ([`InlineKind::Code`]): the
//!   element's attributes and its raw inner XML (escaped as in the file,
//!   nested `<sub>` included). Their content is native code, never text.
//! - `hi` ([`InlineKind::HiStart`] and [`InlineKind::HiEnd`]): its content is
//!   segment text, so the opening and the closing tags are two entries, at
//!   the offsets where the highlighted text starts and ends.
//!
//! For example `<seg>Press <bpt i="1">&lt;b&gt;</bpt>OK<ept i="1">&lt;/b&gt;</ept> <hi x="2">now</hi></seg>`
//! is the text `Press OK now` with `bpt` at 6, `ept` at 8, `hi` start at 9
//! and `hi` end at 12. The document order of the list settles entries at
//! the same offset, so the writer restores the `<seg>` content exactly, up to
//! attribute quoting, empty-element form and comments (which are dropped).
//!
//! # Hostile input
//!
//! No entity is ever expanded but the five predefined ones and character
//! references; a DOCTYPE with an internal subset (`<!DOCTYPE x [ … ]>`, the
//! way to billion laughs and XXE) is refused, and an external DTD is never
//! fetched. Limits (`MAX_*` here and in [`crate::unit`]) reject the unit that
//! exceeds them, or the file when the excess is outside any unit.

mod input;
mod reader;
mod units;
mod writer;

#[cfg(test)]
mod tests;

use std::fmt;

pub use reader::TmxReader;
pub use units::{
    copy_units, format_date, from_tmx, parse_date, srclang, to_tmx, Converted, DOMAIN_PROP, MEMORY_PROP,
    SOURCE_DOCUMENT_PROP,
};
pub use writer::TmxWriter;

/// Most attributes on one element.
pub const MAX_ATTRIBUTES: usize = 32;

/// Most `<prop>` and `<note>` elements (together) on one element.
pub const MAX_METADATA_ITEMS: usize = 64;

/// Most `<tuv>` elements in one `<tu>`, all languages together.
pub const MAX_VARIANTS: usize = 32;

/// Most inline tags in one `<seg>` (a `hi` counts twice: start and end).
pub const MAX_TAGS_PER_SEGMENT: usize = 256;

/// Longest raw content of one inline code element (`bpt`, `ph`…), in bytes.
pub const MAX_CODE_BYTES: usize = 10_000;

/// Deepest nesting of elements inside a `<seg>`: deeper rejects the unit.
pub const MAX_INLINE_DEPTH: usize = 16;

/// Deepest nesting of elements in the document: deeper ends the reading.
pub const MAX_DEPTH: usize = 64;

/// Longest XML event (a text run, a tag with its attributes, a CDATA section,
/// a comment, a processing instruction, a DOCTYPE), in bytes: longer ends the
/// reading (the parser buffers one XML event whole).
pub const MAX_TOKEN_BYTES: usize = 8 << 20;

/// Most warnings kept for one unit; further ones are dropped.
pub const MAX_WARNINGS: usize = 16;

/// An XML attribute: its name as written (`xml:lang`, `o-encoding`) and its
/// value with references resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub name: String,
    pub value: String,
}

impl Attribute {
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Attribute {
        Attribute { name: name.into(), value: value.into() }
    }
}

/// The value of the attribute `name` in `attributes`, if any.
pub fn attribute<'a>(attributes: &'a [Attribute], name: &str) -> Option<&'a str> {
    attributes.iter().find(|a| a.name == name).map(|a| a.value.as_str())
}

/// A `<prop type="…">value</prop>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prop {
    /// The `type` attribute.
    pub kind: String,
    pub value: String,
    /// Its other attributes (`xml:lang`, `o-encoding`) in document order.
    pub attributes: Vec<Attribute>,
}

impl Prop {
    pub fn new(kind: impl Into<String>, value: impl Into<String>) -> Prop {
        Prop { kind: kind.into(), value: value.into(), attributes: Vec::new() }
    }
}

/// Header attributes that TMX 1.4 requires, in the order Dhakira writes them,
/// with the value written when a header lacks one.
const REQUIRED_HEADER: [(&str, &str); 7] = [
    ("creationtool", "Dhakira"),
    ("creationtoolversion", env!("CARGO_PKG_VERSION")),
    ("segtype", "sentence"),
    ("o-tmf", "Dhakira"),
    ("adminlang", "en"),
    ("srclang", "*all*"),
    ("datatype", "plaintext"),
];

/// The `<header>`: its attributes in document order, props and notes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Header {
    pub attributes: Vec<Attribute>,
    pub props: Vec<Prop>,
    pub notes: Vec<String>,
}

impl Header {
    /// The header Dhakira writes: every attribute TMX 1.4 requires, with
    /// `srclang` (an `ar`/`en` code, or `*all*`).
    pub fn dhakira(srclang: &str) -> Header {
        let attributes = REQUIRED_HEADER
            .into_iter()
            .map(|(name, value)| Attribute::new(name, if name == "srclang" { srclang } else { value }))
            .collect();
        Header { attributes, ..Header::default() }
    }

    /// The value of the header attribute `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        attribute(&self.attributes, name)
    }
}

/// One translation unit (`<tu>`) with its Arabic and English variants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TmxUnit {
    /// The `<tu>` attributes in document order: `tuid`, `creationdate`,
    /// `creationid`, `changedate`, `changeid`, `usagecount`,
    /// `lastusagedate`, `srclang`…
    pub attributes: Vec<Attribute>,
    pub props: Vec<Prop>,
    pub notes: Vec<String>,
    pub arabic: Variant,
    pub english: Variant,
}

impl TmxUnit {
    /// A unit of two plain segments, coded `ar` and `en`, without metadata.
    pub fn new(arabic: impl Into<String>, english: impl Into<String>) -> TmxUnit {
        TmxUnit {
            attributes: Vec::new(),
            props: Vec::new(),
            notes: Vec::new(),
            arabic: Variant::new("ar", Segment::plain(arabic)),
            english: Variant::new("en", Segment::plain(english)),
        }
    }

    /// The value of the `<tu>` attribute `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        attribute(&self.attributes, name)
    }

    /// The `tuid` attribute.
    pub fn tuid(&self) -> Option<&str> {
        self.get("tuid")
    }
}

/// One language of a unit (`<tuv>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    /// The language code as written (`ar`, `AR-EG`, `en_GB`, `eng`…): it
    /// keeps the region.
    pub lang: String,
    /// The other `<tuv>` attributes in document order.
    pub attributes: Vec<Attribute>,
    pub props: Vec<Prop>,
    pub notes: Vec<String>,
    pub segment: Segment,
}

impl Variant {
    /// A variant without metadata.
    pub fn new(lang: impl Into<String>, segment: Segment) -> Variant {
        Variant { lang: lang.into(), attributes: Vec::new(), props: Vec::new(), notes: Vec::new(), segment }
    }
}

/// The content of a `<seg>`: plain text and the inline markup taken out of
/// it (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Segment {
    /// The text, without markup: what matching sees.
    pub text: String,
    /// The inline tags in document order, their offsets non-decreasing.
    pub markup: Vec<InlineTag>,
}

impl Segment {
    /// A segment without markup.
    pub fn plain(text: impl Into<String>) -> Segment {
        Segment { text: text.into(), markup: Vec::new() }
    }
}

/// An inline tag of a segment, at `offset` characters into its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineTag {
    pub offset: usize,
    pub kind: InlineKind,
}

/// What an [`InlineTag`] is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InlineKind {
    /// An element whose content is native code, not text: its attributes in
    /// document order and its raw inner XML, exactly as in the file.
    Code { element: CodeElement, attributes: Vec<Attribute>, content: String },
    /// `<hi …>`: the text up to the matching [`InlineKind::HiEnd`] is
    /// highlighted segment text.
    HiStart { attributes: Vec<Attribute> },
    /// `</hi>`.
    HiEnd,
}

/// The TMX inline elements whose content is not segment text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodeElement {
    /// Begin paired tag.
    Bpt,
    /// End paired tag.
    Ept,
    /// Placeholder.
    Ph,
    /// Isolated tag.
    It,
    /// Unknown tag (deprecated in TMX 1.4).
    Ut,
    /// Sub-flow: text of another flow (a footnote, an attribute value),
    /// kept as markup.
    Sub,
}

impl CodeElement {
    /// Every code element.
    pub const ALL: [CodeElement; 6] =
        [CodeElement::Bpt, CodeElement::Ept, CodeElement::Ph, CodeElement::It, CodeElement::Ut, CodeElement::Sub];

    /// The element name.
    pub fn name(self) -> &'static str {
        match self {
            CodeElement::Bpt => "bpt",
            CodeElement::Ept => "ept",
            CodeElement::Ph => "ph",
            CodeElement::It => "it",
            CodeElement::Ut => "ut",
            CodeElement::Sub => "sub",
        }
    }

    /// The code element named `name`.
    pub fn from_name(name: &[u8]) -> Option<CodeElement> {
        CodeElement::ALL.into_iter().find(|e| e.name().as_bytes() == name)
    }
}

/// Where something is in the input: 1-based line and column (in
/// characters; exact at the start of a tag), and the byte offset in the
/// input as decoded to UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    pub line: u64,
    pub column: u64,
    pub byte: u64,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// What the reader yields for each `<tu>`.
#[derive(Debug, Clone, PartialEq, Eq)]
// Units are the common case: boxing them would add an allocation to each.
#[allow(clippy::large_enum_variant)]
pub enum Entry {
    Unit(ReadUnit),
    Rejected(Rejected),
}

/// A unit as read, with where it starts and what was ignored in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadUnit {
    /// The position of its `<tu` tag.
    pub position: Position,
    pub unit: TmxUnit,
    /// What was left out: variants in other languages, a second variant in
    /// one language.
    pub warnings: Vec<String>,
}

/// A `<tu>` that could not become a unit. The reading goes on after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// The position of its `<tu` tag.
    pub position: Position,
    /// Its `tuid` attribute, if it had one.
    pub tuid: Option<String>,
    pub reason: String,
    /// Where its XML ends (just after `</tu>`): with [`Rejected::position`],
    /// the bytes of the unit in the input as decoded to UTF-8 (see
    /// [`copy_units`]).
    pub end: Position,
    /// When it was rejected for lacking an Arabic or an English variant:
    /// the languages it has, as written (`ar`, `fr-FR`); else empty.
    pub languages: Vec<String>,
}

/// Why a TMX file cannot be read further. Entries yielded before it are
/// valid.
#[derive(Debug, thiserror::Error)]
pub enum TmxError {
    /// The input could not be read.
    #[error("{position}: cannot read the input: {source}")]
    Io {
        position: Position,
        #[source]
        source: std::io::Error,
    },
    /// The input is not well-formed XML, or not TMX.
    #[error("{position}: {reason}")]
    Malformed { position: Position, reason: String },
    /// The input is refused on purpose: a DTD internal subset, an encoding
    /// that cannot be read, a document nested or sized beyond the limits.
    #[error("{position}: {reason}")]
    Refused { position: Position, reason: String },
}

impl TmxError {
    /// Where the reading stopped.
    pub fn position(&self) -> Position {
        match self {
            TmxError::Io { position, .. }
            | TmxError::Malformed { position, .. }
            | TmxError::Refused { position, .. } => *position,
        }
    }
}

impl From<TmxError> for crate::Error {
    fn from(err: TmxError) -> crate::Error {
        let position = err.position();
        let reason = match err {
            TmxError::Io { source, .. } => format!("cannot read the input: {source}"),
            TmxError::Malformed { reason, .. } | TmxError::Refused { reason, .. } => reason,
        };
        crate::Error::Input { path: position.to_string(), reason }
    }
}
