//! The two languages of a unit and how clients name them.

use std::fmt;

use crate::error::{Error, Result};

/// A side of a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Lang {
    Arabic,
    English,
}

impl Lang {
    /// Reads a language code as clients send it: `ar`, `en`, any case, any
    /// BCP-47 or POSIX variant (`ar-EG`, `en_US`, `AR`), or ISO 639-2/3
    /// (`ara`, `arb`, `eng`). `field` names the request field in the error.
    pub fn parse(code: &str, field: &str) -> Result<Lang> {
        Lang::from_code(code).ok_or_else(|| match primary_subtag(code) {
            "" => Error::invalid(field, "is required: \"ar\" or \"en\""),
            _ => Error::invalid(
                field,
                format!(
                    "unknown language {code:?}: expected \"ar\" or \"en\" (or a variant such as \"ar-EG\", \"en_US\")"
                ),
            ),
        })
    }

    /// The language a text is mostly written in, by its letters: Arabic
    /// script or Latin; `None` when it has neither.
    pub fn guess(text: &str) -> Option<Lang> {
        let (mut arabic, mut latin) = (0usize, 0usize);
        for c in text.chars().filter(|c| c.is_alphabetic()) {
            match c {
                '\u{0600}'..='\u{06FF}'
                | '\u{0750}'..='\u{077F}'
                | '\u{08A0}'..='\u{08FF}'
                | '\u{FB50}'..='\u{FDFF}'
                | '\u{FE70}'..='\u{FEFF}' => arabic += 1,
                c if c.is_ascii_alphabetic() || ('\u{00C0}'..='\u{024F}').contains(&c) => latin += 1,
                _ => {}
            }
        }
        match (arabic, latin) {
            (0, 0) => None,
            (a, l) if a >= l => Some(Lang::Arabic),
            _ => Some(Lang::English),
        }
    }

    /// The language of a code (as [`Lang::parse`] reads it; `arb`, ISO
    /// 639-3 Standard Arabic, is used by some TMX tools), or `None`.
    pub fn from_code(code: &str) -> Option<Lang> {
        let primary = primary_subtag(code);
        let is = |codes: &[&str]| codes.iter().any(|c| primary.eq_ignore_ascii_case(c));
        if is(&["ar", "ara", "arb"]) {
            Some(Lang::Arabic)
        } else if is(&["en", "eng"]) {
            Some(Lang::English)
        } else {
            None
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

/// The language subtag of a code: what comes before the first `-`, `_`,
/// `.` or `@`, spaces around the code ignored.
fn primary_subtag(code: &str) -> &str {
    code.trim().split(['-', '_', '.', '@']).next().unwrap_or_default()
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
    fn guesses_the_language_of_a_text_by_its_letters() {
        assert_eq!(Lang::guess("أعلنت شركة Tencent عن نموذج Hunyuan الجديد"), Some(Lang::Arabic));
        assert_eq!(Lang::guess("Alibaba released Qwen-7B-Chat, قالت الشركة"), Some(Lang::English));
        assert_eq!(Lang::guess("2023 — 42%"), None);
    }

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
    fn from_code_reads_the_primary_subtag() {
        let cases = [
            ("ar", Some(Lang::Arabic)),
            ("AR-eg", Some(Lang::Arabic)),
            ("arb", Some(Lang::Arabic)),
            ("ARB_EG", Some(Lang::Arabic)),
            ("eng", Some(Lang::English)),
            ("en_US.UTF-8", Some(Lang::English)),
            ("fr", None),
            ("", None),
            ("-EG", None),
            ("arabic", None),
        ];
        for (code, lang) in cases {
            assert_eq!(Lang::from_code(code), lang, "{code}");
        }
        assert_eq!(Lang::parse("-EG", "f").unwrap_err().to_string(), "f: is required: \"ar\" or \"en\"");
        assert!(Lang::parse("fr", "f").unwrap_err().to_string().starts_with("f: unknown language \"fr\": "));
    }

    #[test]
    fn rejects_other_languages_naming_the_field() {
        for code in ["fr", "", "arabic", "e", "zz-ar"] {
            let err = Lang::parse(code, "source_lang").unwrap_err();
            assert!(err.to_string().starts_with("source_lang: "), "{err}");
        }
    }
}
