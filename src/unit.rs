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
    /// Milliseconds since the Unix epoch (UTC).
    #[prost(int64, tag = "9")]
    pub created_at_ms: i64,
}

impl Unit {
    /// The side in `lang`.
    pub fn side(&self, lang: Lang) -> &str {
        match lang {
            Lang::Arabic => &self.arabic,
            Lang::English => &self.english,
        }
    }

    /// The identity used to avoid storing a pair twice in one memory.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(&self.memory, &self.arabic, &self.english)
    }
}

/// A 128-bit hash of (memory, arabic, english). Stable across versions: it is
/// part of the key layout. Equal fingerprints are checked against the stored
/// text, so a collision can never merge two different pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(pub u128);

impl Fingerprint {
    pub fn of(memory: &str, arabic: &str, english: &str) -> Fingerprint {
        // The hash of `memory NUL arabic NUL english`, streamed: no copy.
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        hasher.update(memory.as_bytes());
        hasher.update(&[0]);
        hasher.update(arabic.as_bytes());
        hasher.update(&[0]);
        hasher.update(english.as_bytes());
        Fingerprint(hasher.digest128())
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
}

impl UnitInput {
    /// Checks every field and returns the unit to store (without id and
    /// time). `field` is the request path of this unit, e.g. `units[3]`, or
    /// empty when the unit stands alone (errors then name the bare field).
    pub fn validate(self, field: &str) -> Result<Unit> {
        let path = |name: &str| if field.is_empty() { name.to_owned() } else { format!("{field}.{name}") };
        check_segment(&self.arabic, &path("arabic"))?;
        check_segment(&self.english, &path("english"))?;
        let memory = memory_name(&self.memory, &path("memory"))?;
        for (name, value) in [
            ("created_by", &self.created_by),
            ("domain", &self.domain),
            ("source_document", &self.source_document),
            ("note", &self.note),
        ] {
            check_metadata(value, &path(name))?;
        }
        Ok(Unit {
            id: 0,
            memory,
            arabic: self.arabic,
            english: self.english,
            created_by: self.created_by,
            domain: self.domain,
            source_document: self.source_document,
            note: self.note,
            created_at_ms: 0,
        })
    }
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

fn check_metadata(value: &str, field: &str) -> Result<()> {
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
    fn the_fingerprint_is_the_hash_of_the_nul_joined_fields() {
        // Part of the key layout: it must never change.
        let (memory, arabic, english) = ("news", "كشفت شركة Tencent", "Tencent unveiled");
        let joined = format!("{memory}\0{arabic}\0{english}");
        assert_eq!(Fingerprint::of(memory, arabic, english).0, xxhash_rust::xxh3::xxh3_128(joined.as_bytes()));
        assert_ne!(Fingerprint::of("a", "b", "c"), Fingerprint::of("a", "bc", ""));
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
    fn fingerprint_separates_fields() {
        assert_ne!(Fingerprint::of("m", "ab", "c"), Fingerprint::of("m", "a", "bc"));
        assert_eq!(Fingerprint::of("m", "a", "b"), Fingerprint::of("m", "a", "b"));
    }
}
