//! Text analysis: language codes, normalization and word splitting.
//!
//! The normalized words of a text are its matching key; the original text is
//! always what is stored and returned.

mod lang;
mod normalize;
mod tokenize;

pub use lang::Lang;
pub use normalize::{differences, fold_word, is_invisible, Difference, Folds};
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

/// `text` without bidi and zero-width controls.
pub(crate) fn strip_invisible(text: &str) -> std::borrow::Cow<'_, str> {
    if text.chars().any(is_invisible) {
        text.chars().filter(|&c| !is_invisible(c)).collect::<String>().into()
    } else {
        text.into()
    }
}
