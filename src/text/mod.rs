//! Text analysis: language codes, normalization, word splitting, light
//! morphology and placeables.
//!
//! The normalized words of a text are its matching key; the original text is
//! always what is stored and returned.

mod lang;
mod normalize;
mod placeables;
mod segment;
mod stem;
mod tokenize;

use std::borrow::Cow;
use std::ops::Range;

pub use lang::Lang;
pub use normalize::{differences, fold_word, is_invisible, Difference, Folds};
pub use placeables::{
    digit_value, number_readings, number_spans, ArabicCount, DigitScript, NumberSpan, NumberStyle, NumberValue,
    Placeable,
};
pub use segment::segments;
pub use stem::stem;
pub use tokenize::{split, Split};

/// The normalized words of `text`: its matching key.
///
/// Invisible controls are removed, each word is folded with every
/// [`Folds`] rule, and words that fold to nothing (a lone tatweel or
/// diacritic) are dropped.
pub fn words(text: &str) -> Vec<String> {
    let visible = strip_invisible(text);
    split(&visible).words.iter().map(|w| fold_word(w, Folds::ALL)).filter(|w| !w.is_empty()).collect()
}

/// One word of a text: where it is, and the keys it matches with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Byte range in the original text. Invisible controls inside the word
    /// are inside the range.
    pub bytes: Range<usize>,
    /// The same range in characters (Unicode scalar values).
    pub chars: Range<usize>,
    /// The word folded with every normalization rule: words with equal
    /// surfaces are the same word.
    pub surface: String,
    /// The surface's stem, or the placeable kind's key: words with equal
    /// keys and different surfaces are variants (see [`Token::placeable`]).
    pub key: String,
    pub placeable: Option<Placeable>,
}

impl Token {
    /// The word as written (invisible controls included).
    pub fn text<'a>(&self, original: &'a str) -> &'a str {
        &original[self.bytes.clone()]
    }
}

/// The words of `text` (a text in `lang`) with their positions and keys.
/// Their surfaces are [`words`]`(text)`.
pub fn tokens(text: &str, lang: Lang) -> Vec<Token> {
    // Split the visible text, then map positions back to the original.
    let visible = strip_invisible(text);
    // Byte offset in `text` of each byte of `visible`, when they differ.
    let origin: Option<Vec<usize>> = matches!(visible, Cow::Owned(_)).then(|| {
        text.char_indices()
            .filter(|&(_, c)| !is_invisible(c))
            .flat_map(|(at, c)| at..at + c.len_utf8())
            .chain(std::iter::once(text.len()))
            .collect()
    });
    let in_text = |at: usize| origin.as_ref().map_or(at, |origin| origin[at]);
    let parts = split(&visible);
    let mut tokens = Vec::with_capacity(parts.words.len());
    let mut chars_before = 0;
    let mut counted_to = 0;
    for word in parts.words {
        let surface = fold_word(word, Folds::ALL);
        if surface.is_empty() {
            continue;
        }
        let start_in_visible = word.as_ptr() as usize - visible.as_ptr() as usize;
        let start = in_text(start_in_visible);
        // The word ends after its last visible character: invisible characters
        // that follow it are not part of it.
        let last = word.chars().next_back().map_or(0, char::len_utf8);
        let end = in_text(start_in_visible + word.len() - last) + last;
        chars_before += text[counted_to..start].chars().count();
        let char_len = text[start..end].chars().count();
        counted_to = end;
        let (placeable, key) = classify(&surface, lang);
        tokens.push(Token { bytes: start..end, chars: chars_before..chars_before + char_len, surface, key, placeable });
        chars_before += char_len;
    }
    tokens
}

/// A word's placeable kind and key, read from its surface alone (the word
/// folded with every rule), never from how it was written: `٢٠١5`, `2015`
/// and `２０١５` are one surface, so they are one number. The index keeps one
/// key per surface and relies on this: a key computed from the spelling
/// would depend on which spelling the index met first.
pub fn classify(surface: &str, lang: Lang) -> (Option<Placeable>, String) {
    let placeable = Placeable::of(surface, lang);
    let key = match placeable {
        Some(kind) => kind.key().to_owned(),
        None => stem(surface).into_owned(),
    };
    (placeable, key)
}

/// `text` without bidi and zero-width controls.
pub(crate) fn strip_invisible(text: &str) -> Cow<'_, str> {
    if text.chars().any(is_invisible) {
        text.chars().filter(|&c| !is_invisible(c)).collect::<String>().into()
    } else {
        text.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_ranges_in_the_original_text() {
        let text = "\u{200F}كشفت Tencent\u{200E} عن ٣ نماذج";
        let tokens = tokens(text, Lang::Arabic);
        let shown: Vec<(&str, Option<Placeable>)> = tokens.iter().map(|t| (t.text(text), t.placeable)).collect();
        assert_eq!(
            shown,
            [
                ("كشفت", None),
                ("Tencent", Some(Placeable::Latin)),
                ("عن", None),
                ("٣", Some(Placeable::Number)),
                ("نماذج", None)
            ]
        );
        let chars: Vec<char> = text.chars().collect();
        for t in &tokens {
            assert_eq!(chars[t.chars.clone()].iter().collect::<String>(), t.text(text));
        }
        assert_eq!(tokens.iter().map(|t| t.surface.clone()).collect::<Vec<_>>(), words(text));
    }

    #[test]
    fn a_surface_has_one_key_whatever_its_spelling() {
        // Issue 14: the key was read from the spelling, so `٢٠١5` (mixed
        // scripts) was no number and `Tencentـ` (a tatweel) no Latin name,
        // while their surfaces are those of `2015` and `Tencent`.
        for (a, b, kind) in [
            ("٢٠١5", "2015", Placeable::Number),
            ("\u{FF12}\u{FF10}\u{FF11}\u{FF15}", "2015", Placeable::Number),
            ("Tencentـ", "Tencent", Placeable::Latin),
            ("\u{FF34}encent", "tencent", Placeable::Latin),
            ("Tence\u{200F}nt", "Tencent", Placeable::Latin),
        ] {
            let (ta, tb) = (&tokens(a, Lang::Arabic)[0], &tokens(b, Lang::Arabic)[0]);
            assert_eq!(ta.surface, tb.surface, "{a} / {b}");
            assert_eq!((ta.placeable, &ta.key), (Some(kind), &tb.key), "{a} / {b}");
        }
    }

    #[test]
    fn an_invisible_mark_inside_a_word_stays_inside_its_range() {
        let text = "كش\u{200C}فت الشركة";
        let tokens = tokens(text, Lang::Arabic);
        assert_eq!(tokens[0].text(text), "كش\u{200C}فت");
        assert_eq!(tokens[0].surface, "كشفت");
        assert_eq!(tokens[1].key, "شرك");
    }
}

#[cfg(test)]
mod properties {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;

    /// Words the hostile spellings below are made from: numbers, Latin
    /// names, Arabic words with clitics, English words.
    const BASES: [&str; 12] =
        ["2015", "17.5", "1,000", "Tencent", "Qwen-7B", "الشركة", "والشركة", "نموذج", "لا", "models", "Meta's", "iOS"];

    /// `word` spelled in a hostile way: each character may change digit
    /// script (Arabic-Indic, Persian, full-width), Latin letters may go
    /// full-width or upper case or take a combining accent, Arabic letters
    /// take their presentation form, a diacritic or a tatweel; a bidi mark
    /// may sit inside, a tatweel after.
    fn hostile(word: &'static str) -> impl Strategy<Value = String> {
        let n = word.chars().count();
        (prop::collection::vec(0u8..8, n), any::<bool>(), any::<bool>()).prop_map(move |(how, mark, tatweel)| {
            let mut out = String::new();
            for (k, (c, how)) in word.chars().zip(how).enumerate() {
                match (c, how) {
                    ('0'..='9', 1) => out.push(char::from_u32(0x0660 + c as u32 - 0x30).unwrap()),
                    ('0'..='9', 2) => out.push(char::from_u32(0x06F0 + c as u32 - 0x30).unwrap()),
                    ('0'..='9', 3) => out.push(char::from_u32(0xFF10 + c as u32 - 0x30).unwrap()),
                    ('a'..='z' | 'A'..='Z', 1) => {
                        out.push(char::from_u32(0xFF21 + c.to_ascii_uppercase() as u32 - 0x41).unwrap())
                    }
                    ('a'..='z' | 'A'..='Z', 2) => out.push(c.to_ascii_uppercase()),
                    ('a'..='z' | 'A'..='Z', 3) => out.extend([c, '\u{0301}']),
                    ('ا', 1) => out.push('\u{FE8D}'),
                    ('ل', 1) => out.push('\u{FEDD}'),
                    ('ة', 1) => out.push('ه'),
                    ('\u{0621}'..='\u{064A}', 2) => out.extend([c, '\u{064E}']),
                    ('\u{0621}'..='\u{064A}', 3) => out.extend([c, '\u{0640}']),
                    _ => out.push(c),
                }
                if mark && k == n / 2 {
                    out.push('\u{200F}');
                }
            }
            if tatweel {
                out.push('\u{0640}');
            }
            out
        })
    }

    fn text() -> impl Strategy<Value = String> {
        let word = prop_oneof![
            (0..BASES.len()).prop_flat_map(|i| hostile(BASES[i])),
            // Words that fold to nothing, and numbers glued to clitics.
            Just("\u{064E}\u{0650}".to_owned()),
            Just("ـــ".to_owned()),
            Just("و15".to_owned()),
            Just("بـ5".to_owned()),
            Just("و١٥".to_owned()),
        ];
        prop::collection::vec(word, 1..12).prop_map(|words| words.join(" "))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        /// However a word is spelled, in whatever text, tokens with one
        /// surface have one key and one placeable kind, in each language.
        #[test]
        fn tokens_with_one_surface_have_one_key(texts in prop::collection::vec(text(), 1..6)) {
            for lang in [Lang::Arabic, Lang::English] {
                let mut seen: HashMap<String, (String, Option<Placeable>, String)> = HashMap::new();
                for text in &texts {
                    for token in tokens(text, lang) {
                        let written = token.text(text).to_owned();
                        let entry = seen
                            .entry(token.surface.clone())
                            .or_insert_with(|| (token.key.clone(), token.placeable, written.clone()));
                        prop_assert_eq!(
                            (&entry.0, entry.1),
                            (&token.key, token.placeable),
                            "{:?} and {:?} ({})", &entry.2, written, lang
                        );
                    }
                }
            }
        }
    }
}
