//! Units: aligned Arabic–English pairs, as stored and as submitted.

use crate::error::{Error, Result};
use crate::text::Lang;

/// A unit's id: unique in a database, never reused, ordered by age.
pub type UnitId = u64;

/// The memory that units go to when the request names none.
pub const DEFAULT_MEMORY: &str = "default";

/// Longest accepted side of a unit or lookup text, in characters.
pub const MAX_SEGMENT_CHARS: usize = 10_000;

/// Longest accepted metadata value, in characters.
pub const MAX_METADATA_CHARS: usize = 2_000;

/// Longest accepted memory name, in characters.
pub const MAX_MEMORY_NAME_CHARS: usize = 64;

/// A stored unit. This is also the stored record (prost-encoded), so tags
/// are never renumbered.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Unit {
    #[prost(uint64, tag = "1")]
    pub id: UnitId,
    #[prost(string, tag = "2")]
    pub memory: String,
    #[prost(string, tag = "3")]
    pub arabic: String,
    #[prost(string, tag = "4")]
    pub english: String,
    #[prost(string, tag = "5")]
    pub created_by: String,
    #[prost(string, tag = "6")]
    pub domain: String,
    #[prost(string, tag = "7")]
    pub source_document: String,
    #[prost(string, tag = "8")]
    pub note: String,
    /// Milliseconds since the Unix epoch (UTC), at second precision (TMX
    /// dates have seconds). 0 on a unit about to be stored means "now".
    #[prost(int64, tag = "9")]
    pub created_at_ms: i64,
    /// When the translation last changed (TMX `changedate`); 0 if never.
    #[prost(int64, tag = "10")]
    pub changed_at_ms: i64,
    /// Who last changed it (TMX `changeid`).
    #[prost(string, tag = "11")]
    pub changed_by: String,
    /// How often translators used it (TMX `usagecount`).
    #[prost(uint64, tag = "12")]
    pub usage_count: u64,
    /// When it was last used (TMX `lastusagedate`); 0 if never.
    #[prost(int64, tag = "13")]
    pub last_used_at_ms: i64,
    /// The id the unit had in the tool it came from (TMX `tuid`).
    #[prost(string, tag = "14")]
    pub tuid: String,
    /// Free key/value properties (TMX `<prop type="…">` of the unit), in
    /// order; a key may repeat.
    #[prost(message, repeated, tag = "15")]
    pub properties: Vec<Property>,
    /// Inline markup taken out of the Arabic text, by character offset.
    #[prost(message, repeated, tag = "16")]
    pub arabic_markup: Vec<Tag>,
    /// Inline markup taken out of the English text.
    #[prost(message, repeated, tag = "17")]
    pub english_markup: Vec<Tag>,
    /// What a TMX file said that has no field of its own, kept so that an
    /// export gives it back. `None` when there is nothing.
    #[prost(message, optional, tag = "18")]
    pub tmx: Option<TmxDetails>,
    /// The client the translation was made for.
    #[prost(string, tag = "19")]
    pub client: String,
    /// The project it was made in.
    #[prost(string, tag = "20")]
    pub project: String,
    /// The source segment before this one in its document (see
    /// [`crate::memory::LookupRequest::context_before`]).
    #[prost(string, tag = "21")]
    pub context_before: String,
    /// The source segment after it.
    #[prost(string, tag = "22")]
    pub context_after: String,
    /// Which side is the source: `ar` or `en` when the unit came with one
    /// (TMX `srclang` of the unit or the header, or the import's source
    /// side); empty when nobody said (units added by `AddUnits`, units
    /// stored before this field existed). Exports write it as `srclang`.
    #[prost(string, tag = "23")]
    pub source_lang: String,
}

/// A key/value property of a unit.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Property {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub value: String,
    /// For a TMX `<prop>`: its attributes other than `type` (`xml:lang`,
    /// `o-encoding`), as written and in order.
    #[prost(message, repeated, tag = "3")]
    pub attributes: Vec<Property>,
}

impl Property {
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Property {
        Property { name: name.into(), value: value.into(), attributes: Vec::new() }
    }
}

/// An inline tag at a character offset of a side's text: TMX `bpt`, `ept`,
/// `ph`, `it`, `ut`, `sub` (with their raw content) or the start and end of
/// `hi`. See [`crate::tmx`] for the model.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Tag {
    /// Characters into the text.
    #[prost(uint32, tag = "1")]
    pub offset: u32,
    #[prost(enumeration = "TagKind", tag = "2")]
    pub kind: i32,
    /// The element's attributes as written, in order.
    #[prost(message, repeated, tag = "3")]
    pub attributes: Vec<Property>,
    /// The element's raw inner XML (code elements only).
    #[prost(string, tag = "4")]
    pub content: String,
}

/// What a [`Tag`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum TagKind {
    Unspecified = 0,
    Bpt = 1,
    Ept = 2,
    Ph = 3,
    It = 4,
    Ut = 5,
    Sub = 6,
    HiStart = 7,
    HiEnd = 8,
}

/// TMX details with no field of their own.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct TmxDetails {
    /// `<tu>` attributes other than the ones with a field (`srclang`,
    /// `datatype`, `segtype`, `o-tmf`, extensions…), in order.
    #[prost(message, repeated, tag = "1")]
    pub attributes: Vec<Property>,
    /// Notes after the first (which is [`Unit::note`]).
    #[prost(string, repeated, tag = "2")]
    pub more_notes: Vec<String>,
    #[prost(message, optional, tag = "3")]
    pub arabic: Option<SideDetails>,
    #[prost(message, optional, tag = "4")]
    pub english: Option<SideDetails>,
    /// The `<tu>` had no `creationdate`: the unit's `created_at_ms` is when
    /// Dhakira stored it, and an export writes no `creationdate` (it never
    /// says a unit is newer than it is).
    #[prost(bool, tag = "5")]
    pub no_creation_date: bool,
}

/// TMX details of one language of a unit (`<tuv>`).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct SideDetails {
    /// The language code as written when it is not plain `ar`/`en`
    /// (`ar-EG`, `AR_sa`, `en-GB`, `eng`): it keeps the region.
    #[prost(string, tag = "1")]
    pub lang: String,
    /// Its other attributes, in order.
    #[prost(message, repeated, tag = "2")]
    pub attributes: Vec<Property>,
    #[prost(message, repeated, tag = "3")]
    pub props: Vec<Property>,
    #[prost(string, repeated, tag = "4")]
    pub notes: Vec<String>,
}

impl Unit {
    /// The side in `lang`.
    pub fn side(&self, lang: Lang) -> &str {
        match lang {
            Lang::Arabic => &self.arabic,
            Lang::English => &self.english,
        }
    }

    /// The source side, when the unit came with one ([`Unit::source_lang`]).
    pub fn source(&self) -> Option<Lang> {
        Lang::from_code(&self.source_lang)
    }

    /// The inline markup of the side in `lang`.
    pub fn markup(&self, lang: Lang) -> &[Tag] {
        match lang {
            Lang::Arabic => &self.arabic_markup,
            Lang::English => &self.english_markup,
        }
    }

    /// The key under which the store finds units by the text of one side.
    pub fn side_key(&self, lang: Lang) -> SideKey {
        SideKey::of(&self.memory, lang, self.side(lang))
    }

    /// The timestamp that decides which of two translations is newer: when
    /// it last changed, else when it was created.
    pub fn changed_or_created_ms(&self) -> i64 {
        if self.changed_at_ms > 0 {
            self.changed_at_ms
        } else {
            self.created_at_ms
        }
    }
}

/// A 64-bit hash of (memory, language, text of that side): how the store
/// finds the units of a memory with a given Arabic or English side, to skip
/// duplicates and apply duplicate policies. Stable across versions: it is
/// part of the key layout. Units found by it are checked against their
/// text, so a collision can never merge two different units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SideKey(pub u64);

impl SideKey {
    pub fn of(memory: &str, lang: Lang, text: &str) -> SideKey {
        // The hash of `memory NUL code NUL text`, streamed rather than
        // joined (the default secret is static: nothing to set up).
        let mut hasher = xxhash_rust::xxh3::Xxh3Default::new();
        for field in [memory.as_bytes(), &[0], lang.code().as_bytes(), &[0], text.as_bytes()] {
            hasher.update(field);
        }
        SideKey(hasher.digest())
    }
}

/// A unit as a client submits it, before validation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitInput {
    pub arabic: String,
    pub english: String,
    pub memory: String,
    pub created_by: String,
    pub domain: String,
    pub source_document: String,
    pub note: String,
    /// 0: now.
    pub created_at_ms: i64,
    pub changed_at_ms: i64,
    pub changed_by: String,
    pub usage_count: u64,
    pub last_used_at_ms: i64,
    pub tuid: String,
    pub properties: Vec<Property>,
    pub client: String,
    pub project: String,
    pub context_before: String,
    pub context_after: String,
}

impl UnitInput {
    /// Checks every field and returns the unit to store (without id). `field`
    /// is the request path of this unit, e.g. `units[3]`, or empty when the
    /// unit stands alone (errors then name the bare field).
    pub fn validate(self, field: &str) -> Result<Unit> {
        let memory = memory_name(&self.memory, &field_path(field, "memory"))?;
        let unit = Unit {
            id: 0,
            memory,
            arabic: self.arabic,
            english: self.english,
            created_by: self.created_by,
            domain: self.domain,
            source_document: self.source_document,
            note: self.note,
            created_at_ms: self.created_at_ms,
            changed_at_ms: self.changed_at_ms,
            changed_by: self.changed_by,
            usage_count: self.usage_count,
            last_used_at_ms: self.last_used_at_ms,
            tuid: self.tuid,
            properties: self.properties,
            client: self.client,
            project: self.project,
            context_before: self.context_before,
            context_after: self.context_after,
            ..Unit::default()
        };
        unit.check(field)?;
        Ok(unit)
    }
}

/// The fields of a unit that [`UnitEdit`] can change, by their `UnitInput`
/// names.
pub const EDITABLE_FIELDS: [&str; 17] = [
    "arabic",
    "english",
    "memory",
    "created_by",
    "domain",
    "source_document",
    "note",
    "created_at_ms",
    "changed_by",
    "usage_count",
    "last_used_at_ms",
    "tuid",
    "properties",
    "client",
    "project",
    "context_before",
    "context_after",
];

/// New values for some fields of a stored unit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitEdit {
    /// The names of the fields to change ([`EDITABLE_FIELDS`]).
    pub fields: Vec<String>,
    /// Their new values (other fields are not read).
    pub values: UnitInput,
    /// Who changes it (recorded as `changed_by` unless `fields` sets that).
    pub changed_by: String,
}

impl UnitEdit {
    /// Checks the field names; errors name `update_mask[i]`.
    pub fn check(&self) -> Result<()> {
        if self.fields.is_empty() {
            return Err(Error::invalid(
                "update_mask",
                format!("is empty; name the fields to change: {}", EDITABLE_FIELDS.join(", ")),
            ));
        }
        for (i, name) in self.fields.iter().enumerate() {
            if !EDITABLE_FIELDS.contains(&name.as_str()) {
                return Err(Error::invalid(
                    format!("update_mask[{i}]"),
                    format!("{name:?} is not a field that can be changed ({})", EDITABLE_FIELDS.join(", ")),
                ));
            }
        }
        check_metadata(&self.changed_by, "changed_by")
    }

    /// `unit` with the new values, changed at `now_ms` (a text that
    /// changes loses its inline markup, whose offsets no longer hold);
    /// checked, errors naming `unit.<field>`.
    pub fn apply(&self, unit: &Unit, now_ms: i64) -> Result<Unit> {
        self.check()?;
        let mut new = unit.clone();
        let v = &self.values;
        let second = |ms: i64| ms - ms % 1000;
        for name in &self.fields {
            match name.as_str() {
                "arabic" => new.arabic.clone_from(&v.arabic),
                "english" => new.english.clone_from(&v.english),
                "memory" => new.memory = memory_name(&v.memory, "unit.memory")?,
                "created_by" => new.created_by.clone_from(&v.created_by),
                "domain" => new.domain.clone_from(&v.domain),
                "source_document" => new.source_document.clone_from(&v.source_document),
                "note" => new.note.clone_from(&v.note),
                "created_at_ms" => new.created_at_ms = second(v.created_at_ms),
                "changed_by" => new.changed_by.clone_from(&v.changed_by),
                "usage_count" => new.usage_count = v.usage_count,
                "last_used_at_ms" => new.last_used_at_ms = second(v.last_used_at_ms),
                "tuid" => new.tuid.clone_from(&v.tuid),
                "properties" => new.properties.clone_from(&v.properties),
                "client" => new.client.clone_from(&v.client),
                "project" => new.project.clone_from(&v.project),
                "context_before" => new.context_before.clone_from(&v.context_before),
                "context_after" => new.context_after.clone_from(&v.context_after),
                _ => unreachable!("checked above"),
            }
        }
        if new.arabic != unit.arabic {
            new.arabic_markup.clear();
        }
        if new.english != unit.english {
            new.english_markup.clear();
        }
        new.changed_at_ms = now_ms - now_ms % 1000;
        if !self.fields.iter().any(|f| f == "changed_by") && !self.changed_by.is_empty() {
            new.changed_by.clone_from(&self.changed_by);
        }
        new.check("unit")?;
        Ok(new)
    }
}

fn field_path(field: &str, name: &str) -> String {
    if field.is_empty() {
        name.to_owned()
    } else {
        format!("{field}.{name}")
    }
}

/// Latest accepted time: the end of year 9999, the last a TMX date can say.
pub const MAX_TIME_MS: i64 = 253_402_300_799_000;

/// Most properties on a unit.
pub const MAX_PROPERTIES: usize = 64;

impl Unit {
    /// Checks every field of a unit about to be stored (its id aside); errors
    /// name the field under `field` (see [`UnitInput::validate`]).
    pub fn check(&self, field: &str) -> Result<()> {
        let path = |name: &str| field_path(field, name);
        check_segment(&self.arabic, &path("arabic"))?;
        check_segment(&self.english, &path("english"))?;
        memory_name(&self.memory, &path("memory"))?;
        for (name, value) in [
            ("created_by", &self.created_by),
            ("domain", &self.domain),
            ("source_document", &self.source_document),
            ("note", &self.note),
            ("changed_by", &self.changed_by),
            ("tuid", &self.tuid),
            ("client", &self.client),
            ("project", &self.project),
        ] {
            check_metadata(value, &path(name))?;
        }
        for (name, value) in [("context_before", &self.context_before), ("context_after", &self.context_after)] {
            check_context(value, &path(name))?;
        }
        for (name, value) in [
            ("created_at_ms", self.created_at_ms),
            ("changed_at_ms", self.changed_at_ms),
            ("last_used_at_ms", self.last_used_at_ms),
        ] {
            if !(0..=MAX_TIME_MS).contains(&value) {
                return Err(Error::invalid(
                    path(name),
                    format!("{value} is not a time between 1970 and 9999 in milliseconds since the Unix epoch"),
                ));
            }
        }
        check_properties(&self.properties, &path("properties"))?;
        for (name, text, markup) in [
            ("arabic_markup", &self.arabic, &self.arabic_markup),
            ("english_markup", &self.english, &self.english_markup),
        ] {
            check_markup(text, markup, &path(name))?;
        }
        if let Some(tmx) = &self.tmx {
            check_properties(&tmx.attributes, &path("tmx.attributes"))?;
            for (i, note) in tmx.more_notes.iter().enumerate() {
                check_metadata(note, &path(&format!("tmx.more_notes[{i}]")))?;
            }
            for (name, side) in [("tmx.arabic", &tmx.arabic), ("tmx.english", &tmx.english)] {
                let Some(side) = side else { continue };
                check_metadata(&side.lang, &path(&format!("{name}.lang")))?;
                check_properties(&side.attributes, &path(&format!("{name}.attributes")))?;
                check_properties(&side.props, &path(&format!("{name}.props")))?;
                for (i, note) in side.notes.iter().enumerate() {
                    check_metadata(note, &path(&format!("{name}.notes[{i}]")))?;
                }
            }
        }
        Ok(())
    }
}

fn check_properties(properties: &[Property], field: &str) -> Result<()> {
    if properties.len() > MAX_PROPERTIES {
        return Err(Error::invalid(field, format!("{} entries; the limit is {MAX_PROPERTIES}", properties.len())));
    }
    for (i, p) in properties.iter().enumerate() {
        check_metadata(&p.name, &format!("{field}[{i}].name"))?;
        check_metadata(&p.value, &format!("{field}[{i}].value"))?;
    }
    Ok(())
}

/// Most inline tags on one side (as [`crate::tmx::MAX_TAGS_PER_SEGMENT`]).
pub const MAX_TAGS: usize = 256;

/// Longest raw content of one tag, in bytes (as [`crate::tmx::MAX_CODE_BYTES`]).
pub const MAX_TAG_CONTENT_BYTES: usize = 10_000;

fn check_markup(text: &str, markup: &[Tag], field: &str) -> Result<()> {
    if markup.is_empty() {
        return Ok(());
    }
    if markup.len() > MAX_TAGS {
        return Err(Error::invalid(field, format!("{} tags; the limit is {MAX_TAGS}", markup.len())));
    }
    let chars = text.chars().count();
    let mut last = 0;
    for (i, tag) in markup.iter().enumerate() {
        let at = format!("{field}[{i}]");
        let offset = tag.offset as usize;
        if offset < last || offset > chars {
            return Err(Error::invalid(
                format!("{at}.offset"),
                format!("{offset} is out of order or past the end of the text ({chars} characters)"),
            ));
        }
        last = offset;
        if matches!(TagKind::try_from(tag.kind), Err(_) | Ok(TagKind::Unspecified)) {
            return Err(Error::invalid(format!("{at}.kind"), format!("{} is not a tag kind", tag.kind)));
        }
        check_controls(&tag.content, &format!("{at}.content"))?;
        if tag.content.len() > MAX_TAG_CONTENT_BYTES {
            return Err(Error::invalid(
                format!("{at}.content"),
                format!("is {} bytes long; the limit is {MAX_TAG_CONTENT_BYTES}", tag.content.len()),
            ));
        }
        check_properties(&tag.attributes, &format!("{at}.attributes"))?;
    }
    Ok(())
}

/// Checks a sentence: not blank, not too long, no control characters.
pub fn check_segment(text: &str, field: &str) -> Result<()> {
    if text.trim().is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    let chars = text.chars().count();
    if chars > MAX_SEGMENT_CHARS {
        return Err(Error::invalid(field, format!("is {chars} characters long; the limit is {MAX_SEGMENT_CHARS}")));
    }
    check_controls(text, field)
}

/// Checks a context segment: like a segment, but may be empty (the start
/// or the end of a document).
pub(crate) fn check_context(text: &str, field: &str) -> Result<()> {
    if text.is_empty() {
        return Ok(());
    }
    check_segment(text, field)
}

/// Checks a metadata value: not too long, no control characters.
pub fn check_metadata(value: &str, field: &str) -> Result<()> {
    let chars = value.chars().count();
    if chars > MAX_METADATA_CHARS {
        return Err(Error::invalid(field, format!("is {chars} characters long; the limit is {MAX_METADATA_CHARS}")));
    }
    check_controls(value, field)
}

/// Whether `c` is a control character that no text may hold: any but tab,
/// line feed and carriage return.
pub(crate) fn is_forbidden_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// The first forbidden control character of `text` (see
/// [`is_forbidden_control`]), with its index in characters.
pub(crate) fn first_control(text: &str) -> Option<(usize, char)> {
    text.chars().enumerate().find(|&(_, c)| is_forbidden_control(c))
}

fn check_controls(text: &str, field: &str) -> Result<()> {
    match first_control(text) {
        Some((at, c)) => {
            Err(Error::invalid(field, format!("contains the control character U+{:04X} at character {at}", c as u32)))
        }
        None => Ok(()),
    }
}

/// Checks a unit id from a request: 0 is "unset".
pub fn check_id(id: UnitId) -> Result<UnitId> {
    if id == 0 {
        return Err(Error::invalid("unit_id", "is required (ids start at 1)"));
    }
    Ok(id)
}

/// Validates a memory name; empty means [`DEFAULT_MEMORY`].
pub fn memory_name(name: &str, field: &str) -> Result<String> {
    if name.is_empty() {
        return Ok(DEFAULT_MEMORY.to_owned());
    }
    let chars = name.chars().count();
    if chars > MAX_MEMORY_NAME_CHARS {
        return Err(Error::invalid(
            field,
            format!("memory name is {chars} characters long; the limit is {MAX_MEMORY_NAME_CHARS}"),
        ));
    }
    if let Some(c) = name.chars().find(|&c| !(c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))) {
        return Err(Error::invalid(
            field,
            format!("memory name {name:?} contains {c:?}: use letters, digits, '-', '_' or '.'"),
        ));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_side_key_is_the_hash_of_the_nul_joined_fields() {
        // Part of the key layout: it must never change.
        let (memory, arabic) = ("news", "كشفت شركة Tencent");
        let joined = format!("{memory}\0ar\0{arabic}");
        assert_eq!(SideKey::of(memory, Lang::Arabic, arabic).0, xxhash_rust::xxh3::xxh3_64(joined.as_bytes()));
        // Long sides too, across the hasher's internal buffer sizes.
        for words in [100, 101, 102, 200] {
            let long = vec!["word"; words].join(" ");
            let joined = format!("{memory}\0en\0{long}");
            assert_eq!(joined.len(), 5 * words + 7);
            assert_eq!(SideKey::of(memory, Lang::English, &long).0, xxhash_rust::xxh3::xxh3_64(joined.as_bytes()));
        }
        assert_ne!(SideKey::of("a", Lang::Arabic, "bc"), SideKey::of("a", Lang::English, "bc"));
        assert_ne!(SideKey::of("ab", Lang::Arabic, "c"), SideKey::of("a", Lang::Arabic, "bc"));
    }

    fn input(arabic: &str, english: &str) -> UnitInput {
        UnitInput { arabic: arabic.into(), english: english.into(), ..Default::default() }
    }

    #[test]
    fn empty_memory_means_default() {
        let unit = input("مرحبا", "Hello").validate("units[0]").unwrap();
        assert_eq!(unit.memory, DEFAULT_MEMORY);
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (input("  ", "Hello"), "units[2].arabic: must not be empty"),
            (input("مرحبا", ""), "units[2].english: must not be empty"),
            (input("مرحبا", "a\0b"), "units[2].english: contains the control character U+0000 at character 1"),
            (
                UnitInput { memory: "my memory".into(), ..input("مرحبا", "Hello") },
                "units[2].memory: memory name \"my memory\" contains ' ': use letters, digits, '-', '_' or '.'",
            ),
        ];
        for (unit, message) in cases {
            assert_eq!(unit.validate("units[2]").unwrap_err().to_string(), message);
        }
        let long = "ا".repeat(MAX_SEGMENT_CHARS + 1);
        let err = input(&long, "x").validate("units[0]").unwrap_err().to_string();
        assert!(err.starts_with("units[0].arabic: is 10001 characters long"), "{err}");
    }

    #[test]
    fn checks_markup_times_and_properties_naming_the_field() {
        let unit = input("مرحبا", "Hello").validate("").unwrap();
        let tag = |offset, kind: TagKind| Tag { offset, kind: kind as i32, ..Tag::default() };
        let cases = [
            (
                Unit { english_markup: vec![tag(3, TagKind::Bpt), tag(1, TagKind::Ept)], ..unit.clone() },
                "english_markup[1].offset: 1 is out of order or past the end of the text (5 characters)",
            ),
            (
                Unit { arabic_markup: vec![tag(6, TagKind::Ph)], ..unit.clone() },
                "arabic_markup[0].offset: 6 is out of order or past the end of the text (5 characters)",
            ),
            (
                Unit { arabic_markup: vec![Tag { kind: 42, ..Tag::default() }], ..unit.clone() },
                "arabic_markup[0].kind: 42 is not a tag kind",
            ),
            (
                Unit { changed_at_ms: -5, ..unit.clone() },
                "changed_at_ms: -5 is not a time between 1970 and 9999 in milliseconds since the Unix epoch",
            ),
            (
                Unit { properties: vec![Property::new("client", "a\u{7}b")], ..unit.clone() },
                "properties[0].value: contains the control character U+0007 at character 1",
            ),
        ];
        for (unit, message) in cases {
            assert_eq!(unit.check("").unwrap_err().to_string(), message);
        }
        let fine = Unit { english_markup: vec![tag(0, TagKind::HiStart), tag(5, TagKind::HiEnd)], ..unit };
        assert!(fine.check("").is_ok());
    }
}

/// A unit kept in RAM as its protobuf encoding: less than half the memory
/// of a [`Unit`] with its dozen strings, for stores of units that are read
/// a few at a time (the in-memory store, the mirror of a node on
/// PostgreSQL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Packed(Box<[u8]>);

impl Packed {
    pub(crate) fn of(unit: &Unit) -> Packed {
        Packed(prost::Message::encode_to_vec(unit).into_boxed_slice())
    }

    /// The unit back; `Corrupt` naming it if the bytes do not decode (they
    /// were encoded here, so that is a bug).
    pub(crate) fn unpack(&self, id: UnitId) -> Result<Unit> {
        <Unit as prost::Message>::decode(&*self.0)
            .map_err(|err| Error::Corrupt { key: format!("unit {id} (in memory)"), reason: err.to_string() })
    }
}
