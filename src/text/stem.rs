//! Light morphology: the part of a normalized word that its inflected and
//! cliticized forms share. Two words with the same stem and different
//! spellings are morphological variants; a match pays half a word edit for
//! each instead of a whole one.
//!
//! Arabic: one proclitic group (و ف, then ب ك ل, then the article ال; ل+ال
//! is written لل) and up to two suffixes (a pronoun: ه ها هم هن هما كم كن كما
//! نا ي ك; then a number or gender ending: ة ات ون ين ان تان تين, with ة
//! already folded to ه) come off, as long as three letters remain. English:
//! the possessive (`'s`) and the plural (`-s`, `-es`, `-ies`).
//!
//! The stem is a matching key only; it is never shown.

use std::borrow::Cow;

/// Proclitic groups, longest first.
const ARABIC_PREFIXES: [&str; 16] =
    ["وبال", "وكال", "فبال", "وال", "فال", "بال", "كال", "ولل", "فلل", "ال", "لل", "و", "ف", "ب", "ك", "ل"];

/// Pronoun suffixes, longest first.
const ARABIC_PRONOUNS: [&str; 11] = ["هما", "كما", "هم", "هن", "كم", "كن", "نا", "ها", "ه", "ك", "ي"];

/// Number and gender endings (ة is folded to ه), longest first.
const ARABIC_ENDINGS: [&str; 7] = ["تان", "تين", "ات", "ون", "ين", "ان", "ه"];

/// Fewest letters a stem keeps.
const MIN_STEM: usize = 3;

/// The stem of a normalized word (see the module documentation).
pub fn stem(word: &str) -> Cow<'_, str> {
    if word.chars().any(|c| ('\u{0621}'..='\u{064A}').contains(&c)) {
        arabic_stem(word).into()
    } else if word.chars().all(|c| c.is_ascii_lowercase() || c == '\'' || c == '\u{2019}') {
        english_stem(word)
    } else {
        word.into()
    }
}

fn letters(s: &str) -> usize {
    s.chars().count()
}

/// `word` without the first of `suffixes` it ends with, if enough letters remain.
fn strip<'a>(word: &'a str, suffixes: &[&str]) -> Option<&'a str> {
    suffixes.iter().find_map(|s| word.strip_suffix(s).filter(|r| letters(r) >= MIN_STEM))
}

fn arabic_stem(word: &str) -> &str {
    let mut rest = word;
    if let Some(stripped) = ARABIC_PREFIXES.iter().find_map(|p| rest.strip_prefix(p).filter(|r| letters(r) >= MIN_STEM))
    {
        rest = stripped;
    }
    if let Some(stripped) = strip(rest, &ARABIC_PRONOUNS) {
        rest = stripped;
        // Before a pronoun, ta marbuta is written ت (شركته).
        if let Some(stripped) = strip(rest, &ARABIC_ENDINGS).or_else(|| strip(rest, &["ت"])) {
            return stripped;
        }
    }
    strip(rest, &ARABIC_ENDINGS).unwrap_or(rest)
}

/// Words ending in `s` that are not plurals (or whose plural reading would
/// merge them with an unrelated word).
const ENGLISH_NOT_PLURAL: [&str; 40] = [
    "always",
    "analysis",
    "basis",
    "bias",
    "bus",
    "chaos",
    "crisis",
    "does",
    "economics",
    "ethics",
    "focus",
    "gas",
    "goes",
    "has",
    "hers",
    "its",
    "lens",
    "less",
    "means",
    "news",
    "ours",
    "perhaps",
    "physics",
    "politics",
    "series",
    "species",
    "status",
    "thanks",
    "theirs",
    "this",
    "thus",
    "towards",
    "was",
    "whereas",
    "yes",
    "yours",
    "plus",
    "versus",
    "various",
    "previous",
];

fn english_stem(word: &str) -> Cow<'_, str> {
    let word = word.strip_suffix("'s").or_else(|| word.strip_suffix("\u{2019}s")).unwrap_or(word);
    if word.len() < 4 || ENGLISH_NOT_PLURAL.contains(&word) || word.ends_with("ss") || word.ends_with("us") {
        return word.into();
    }
    if let Some(base) = word.strip_suffix("ies") {
        return format!("{base}y").into();
    }
    for ending in ["ches", "shes", "sses", "xes", "zes"] {
        if word.ends_with(ending) {
            return word[..word.len() - 2].into();
        }
    }
    match word.strip_suffix('s') {
        Some(base) if !base.ends_with('i') => base.into(),
        _ => word.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::{fold_word, Folds};

    fn key(word: &str) -> String {
        stem(&fold_word(word, Folds::ALL)).into_owned()
    }

    #[test]
    fn arabic_clitics_and_suffixes_share_a_stem() {
        // From NTREX/TICO news: الشركة، والشركة، بالشركة، للشركة، شركات، شركاتها.
        let family = ["شركة", "الشركة", "والشركة", "بالشركة", "للشركة", "شركات", "والشركات", "شركاتها", "وشركته"];
        for w in family {
            assert_eq!(key(w), "شرك", "{w}");
        }
        assert_eq!(key("المستخدمين"), key("مستخدمون"));
        assert_eq!(key("ونماذجها"), key("النماذج"));
        assert_eq!(key("الحكومة"), key("حكومتين"));
    }

    #[test]
    fn short_words_keep_their_letters() {
        // Stripping would leave fewer than three letters.
        assert_eq!(key("في"), "في");
        assert_eq!(key("ولد"), "ولد");
        assert_eq!(key("على"), "علي");
        assert_eq!(key("لها"), "لها");
    }

    #[test]
    fn english_plurals_and_possessives_share_a_stem() {
        for (a, b) in [
            ("model", "models"),
            ("company", "companies"),
            ("Meta", "Meta's"),
            ("chip", "chips"),
            ("search", "searches"),
            ("box", "boxes"),
            ("process", "processes"),
        ] {
            assert_eq!(key(a), key(b), "{a} / {b}");
        }
        for w in ["news", "this", "is", "its", "analysis", "status", "less"] {
            assert_eq!(key(w), w, "{w}");
        }
    }
}
