//! Fuzzes the text analysis of `dhakira::text` (normalization, word
//! splitting, tokens, sentence segmentation, language guessing, numbers)
//! with arbitrary text.
//!
//! The input bytes are read as UTF-8, invalid sequences replaced with
//! U+FFFD (`String::from_utf8_lossy`). For that text `t`:
//!
//! 1. Nothing panics: `words`, `tokens` (Arabic and English), `split`,
//!    `segments`, `Lang::guess`, `differences` (texts up to 1 KiB),
//!    `NumberValue::parse` and `render`.
//! 2. `split(t)` cuts `t` into gaps and words: `gaps.len() == words.len() + 1`,
//!    every word non-empty, and gaps and words interleaved give `t` back.
//! 3. Normalization is idempotent on each word: `fold_word(w, Folds::ALL) == w`
//!    for every `w` of `words(t)`, and no word is empty. The stronger
//!    `words(w) == [w]` does NOT hold by design (see `check_words`).
//! 4. Tokens: `tokens(t, lang)`'s surfaces are `words(t)` (its documented
//!    contract), for both languages, with the same ranges; each token's
//!    `bytes` range is non-empty, in bounds, on char boundaries, after the
//!    previous token's, and starts and ends at a visible character; `chars`
//!    counts the same characters; the surface is the token's text, invisible
//!    controls removed, folded; the placeable kind and key are
//!    `classify(surface)`, a function of the surface alone.
//! 5. Segments: byte ranges in order, non-overlapping, non-empty, on char
//!    boundaries, trimmed, without a line break inside, only whitespace
//!    between them, and no non-whitespace character lost.
//! 6. A number token's value survives being written in its own style:
//!    `parse(render(canonical, style)).canonical == canonical`.

use std::borrow::Cow;

use dhakira::text::{
    classify, differences, fold_word, is_invisible, segments, split, tokens, words, Folds, Lang, NumberValue, Token,
};

/// Checks one input; panics on a finding.
pub fn check(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let t: &str = &text;

    let _ = Lang::guess(t);
    check_split(t);
    let words = words(t);
    check_words(t, &words);
    let arabic = tokens(t, Lang::Arabic);
    let english = tokens(t, Lang::English);
    check_tokens(t, &arabic, &words, Lang::Arabic);
    check_tokens(t, &english, &words, Lang::English);
    let ranges = |tokens: &[Token]| tokens.iter().map(|t| (t.bytes.clone(), t.chars.clone())).collect::<Vec<_>>();
    assert_eq!(ranges(&arabic), ranges(&english), "token ranges depend on the language for {t:?}");
    check_segments(t);

    // Spelling differences: none between a text and itself; and no panic
    // between the text and its matching key written out (18 passes of
    // splitting and folding: only for short texts, which keeps the target
    // fast).
    assert!(differences(t, t).is_empty(), "differences between {t:?} and itself");
    if t.len() <= 1024 {
        let _ = differences(t, &words.join(" "));
    }
}

fn check_split(t: &str) {
    let parts = split(t);
    assert_eq!(parts.gaps.len(), parts.words.len() + 1, "split of {t:?}: {parts:?}");
    let mut rebuilt = String::with_capacity(t.len());
    for (gap, word) in parts.gaps.iter().zip(&parts.words) {
        assert!(!word.is_empty(), "an empty word in the split of {t:?}: {parts:?}");
        rebuilt.push_str(gap);
        rebuilt.push_str(word);
    }
    rebuilt.push_str(parts.gaps.last().expect("at least one gap"));
    assert_eq!(rebuilt, t, "gaps and words do not rebuild the text: {parts:?}");
    for word in &parts.words {
        check_number(word);
    }
}

/// Normalization is idempotent on each word: folding a folded word changes
/// nothing.
///
/// The stronger property `words(w) == vec![w]` (a normalized word is its
/// own matching key) does NOT hold by design: `words` splits the original
/// text first and folds each word afterwards, and folding can change where
/// words split:
/// - NFKC expands some single word characters into text with gaps:
///   U+FDFA ﷺ becomes four words with spaces, ½ becomes `1⁄2` (two words),
///   ⑴ becomes `(1)`, the presentation form U+FE70 (fathatan, isolated)
///   becomes a space and a diacritic, so a word can fold to `" "`;
/// - dropping a diacritic or a tatweel changes the joining rules: `a-1◌́`
///   is one word (the part after the hyphen is not all digits) but its fold
///   `a-1` is two (`a`, `1`); a URL ending in `.◌́` keeps its final dot,
///   which the fold exposes and a second split trims; `◌̒-◌̒` (combining
///   marks are word characters) folds to `-`, which is no word at all;
/// - NFKC turns compatibility punctuation inside a URL or a tag into the
///   ASCII that ends one (`﹤`, `＞`).
///
/// (Each of these was confirmed on the built target.) So what is checked is
/// that folding is idempotent and that no word is empty (words that fold to
/// nothing are dropped, as documented); a word may still be only a space or
/// punctuation (`ﹰ` → `" "`, `◌̒-◌̒` → `-`).
fn check_words(t: &str, words: &[String]) {
    for w in words {
        assert!(!w.is_empty(), "an empty word in words({t:?}): {words:?}");
        assert_eq!(&fold_word(w, Folds::ALL), w, "folding the folded word {w:?} of {t:?} changes it");
    }
}

fn check_tokens(t: &str, tokens: &[Token], words: &[String], lang: Lang) {
    let surfaces: Vec<&str> = tokens.iter().map(|t| t.surface.as_str()).collect();
    assert_eq!(surfaces, words, "tokens({t:?}, {lang:?}) do not have words(text) as surfaces");
    let mut previous_end = 0;
    // Characters in t[..previous_end]: counted as we go (not from the start
    // for each token, which made long inputs quadratic).
    let mut previous_chars_end = 0;
    for token in tokens {
        let (bytes, chars) = (token.bytes.clone(), token.chars.clone());
        assert!(bytes.start < bytes.end && bytes.end <= t.len(), "token bytes {bytes:?} in {} bytes: {t:?}", t.len());
        assert!(
            t.is_char_boundary(bytes.start) && t.is_char_boundary(bytes.end),
            "token bytes {bytes:?} not on char boundaries of {t:?}"
        );
        assert!(bytes.start >= previous_end, "token {bytes:?} overlaps or precedes the previous one in {t:?}");
        let start = previous_chars_end + t[previous_end..bytes.start].chars().count();
        let expected_chars = start..start + t[bytes.clone()].chars().count();
        assert_eq!(chars, expected_chars, "char range of token {bytes:?} in {t:?}");
        let written = token.text(t);
        let (first, last) = (written.chars().next().unwrap(), written.chars().next_back().unwrap());
        assert!(
            !is_invisible(first) && !is_invisible(last),
            "token {written:?} of {t:?} starts or ends with an invisible control"
        );
        let visible: Cow<str> = if written.chars().any(is_invisible) {
            written.chars().filter(|&c| !is_invisible(c)).collect::<String>().into()
        } else {
            written.into()
        };
        assert_eq!(fold_word(&visible, Folds::ALL), token.surface, "surface of token {written:?} in {t:?}");
        // The key is a function of the surface alone (one surface, one key).
        assert_eq!(
            (token.placeable, token.key.clone()),
            classify(&token.surface, lang),
            "placeable kind and key of {written:?} ({lang:?})"
        );
        if let Some(kind) = token.placeable {
            assert_eq!(token.key, kind.key(), "key of the placeable {written:?}");
        }
        previous_end = bytes.end;
        previous_chars_end = chars.end;
    }
}

fn is_line_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}')
}

fn check_segments(t: &str) {
    let ranges = segments(t);
    let mut previous_end = 0;
    let mut kept = String::new();
    for r in &ranges {
        assert!(r.start < r.end && r.end <= t.len(), "segment {r:?} of {t:?} is empty or out of bounds");
        assert!(previous_end <= r.start, "segment {r:?} overlaps or precedes the previous one in {t:?}");
        assert!(t.is_char_boundary(r.start) && t.is_char_boundary(r.end), "segment {r:?} of {t:?}");
        let gap = &t[previous_end..r.start];
        assert!(gap.chars().all(char::is_whitespace), "{gap:?} lost between segments of {t:?}");
        let s = &t[r.clone()];
        assert_eq!(s, s.trim(), "untrimmed segment {s:?} of {t:?}");
        assert!(!s.chars().any(is_line_break), "a line break inside the segment {s:?} of {t:?}");
        kept.push_str(s);
        previous_end = r.end;
    }
    assert!(t[previous_end..].chars().all(char::is_whitespace), "the end of {t:?} lost: {ranges:?}");
    let strip = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    assert_eq!(strip(&kept), strip(t), "segments of {t:?} lose or add text: {ranges:?}");
}

/// A number keeps its value when written in its own style.
fn check_number(word: &str) {
    let Some(value) = NumberValue::parse(word) else { return };
    let _ = value.integer();
    let rendered = NumberValue::render(&value.canonical, value.style);
    let again = NumberValue::parse(&rendered)
        .unwrap_or_else(|| panic!("{word:?} ({value:?}) rendered as {rendered:?}, which is not a number"));
    assert_eq!(again.canonical, value.canonical, "{word:?} rendered as {rendered:?}");
}
