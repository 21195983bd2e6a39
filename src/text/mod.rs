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
pub use placeables::{ArabicCount, DigitScript, NumberStyle, NumberValue, Placeable};
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
        let placeable = Placeable::of(word, lang);
        let key = match placeable {
            Some(kind) => kind.key().to_owned(),
            None => stem(&surface).into_owned(),
        };
        tokens.push(Token { bytes: start..end, chars: chars_before..chars_before + char_len, surface, key, placeable });
        chars_before += char_len;
    }
    tokens
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
    fn an_invisible_mark_inside_a_word_stays_inside_its_range() {
        let text = "كش\u{200C}فت الشركة";
        let tokens = tokens(text, Lang::Arabic);
        assert_eq!(tokens[0].text(text), "كش\u{200C}فت");
        assert_eq!(tokens[0].surface, "كشفت");
        assert_eq!(tokens[1].key, "شرك");
    }
}
