//! The two languages of a unit and how clients name them.

use std::fmt;

use crate::error::{Error, Result};

/// A side of a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    Arabic,
    English,
}

impl Lang {
    /// Reads a language code as clients send it: `ar`, `en`, any case, any
    /// BCP-47 or POSIX variant (`ar-EG`, `en_US`, `AR`), or ISO 639-2 (`ara`,
    /// `eng`). `field` names the request field in the error.
    pub fn parse(code: &str, field: &str) -> Result<Lang> {
        let primary = code.trim().split(['-', '_', '.', '@']).next().unwrap_or_default().to_ascii_lowercase();
        match primary.as_str() {
            "ar" | "ara" => Ok(Lang::Arabic),
            "en" | "eng" => Ok(Lang::English),
            "" => Err(Error::invalid(field, "is required: \"ar\" or \"en\"")),
            _ => Err(Error::invalid(
                field,
                format!(
                    "unknown language {code:?}: expected \"ar\" or \"en\" (or a variant such as \"ar-EG\", \"en_US\")"
                ),
            )),
        }
    }

    /// The two-letter code.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Arabic => "ar",
            Lang::English => "en",
        }
    }

    /// The other side of the unit.
    pub fn other(self) -> Lang {
        match self {
            Lang::Arabic => Lang::English,
            Lang::English => Lang::Arabic,
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_bcp47_posix_and_iso639_2_variants() {
        for code in ["ar", "AR", "ar-EG", "ar_SA", "ara", " ar ", "ar-Arab-EG"] {
            assert_eq!(Lang::parse(code, "f").unwrap(), Lang::Arabic, "{code}");
        }
        for code in ["en", "EN", "en-US", "en_GB", "eng", "en_US.UTF-8"] {
            assert_eq!(Lang::parse(code, "f").unwrap(), Lang::English, "{code}");
        }
    }

    #[test]
    fn rejects_other_languages_naming_the_field() {
        for code in ["fr", "", "arabic", "e", "zz-ar"] {
            let err = Lang::parse(code, "source_lang").unwrap_err();
            assert!(err.to_string().starts_with("source_lang: "), "{err}");
        }
    }
}
