//! Splitting text into words and the gaps between them.
//!
//! A word is a run of letters, digits and combining marks (Arabic diacritics
//! and tatweel stay inside the word they decorate). A few connectors stay
//! inside a word when both neighbours allow it: `-` and `_` between word
//! characters (`Qwen-7B`, `state-of-the-art`), `.` `,` `٫` `٬` between digits
//! (`17.2`, `1,000`), apostrophes between letters (`don't`). Software
//! placeholders and tags are single words: `%s`, `%1$d`, `{0}`, `$1`, `<b>`.
//! Everything else (spaces, punctuation, symbols) is gap.

/// A text cut into words and gaps: `gaps[0] words[0] gaps[1] … words[n-1] gaps[n]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split<'a> {
    pub words: Vec<&'a str>,
    pub gaps: Vec<&'a str>,
}

/// Cuts `text` into words and gaps.
pub fn split(text: &str) -> Split<'_> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let byte_at = |i: usize| chars.get(i).map_or(text.len(), |&(b, _)| b);
    let mut words = Vec::new();
    let mut gaps = Vec::new();
    let mut gap_start = 0;
    let mut i = 0;
    while i < chars.len() {
        let end = placeholder_end(&chars, i).or_else(|| word_end(&chars, i));
        match end {
            Some(end) => {
                gaps.push(&text[gap_start..byte_at(i)]);
                words.push(&text[byte_at(i)..byte_at(end)]);
                gap_start = byte_at(end);
                i = end;
            }
            None => i += 1,
        }
    }
    gaps.push(&text[gap_start..]);
    Split { words, gaps }
}

/// True for characters that make up words.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || unicode_normalization::char::is_combining_mark(c) || c == '\u{0640}'
    // tatweel
}

fn is_digit(c: char) -> bool {
    c.is_numeric()
}

/// The end (exclusive char index) of the word starting at `start`, if one does.
fn word_end(chars: &[(usize, char)], start: usize) -> Option<usize> {
    if !is_word_char(chars[start].1) {
        return None;
    }
    let at = |i: usize| chars.get(i).map(|&(_, c)| c);
    let mut i = start + 1;
    loop {
        match at(i) {
            Some(c) if is_word_char(c) => i += 1,
            Some(c) => {
                let (prev, next) = (chars[i - 1].1, at(i + 1));
                let joins = match (c, next) {
                    ('-' | '_', Some(n)) => is_word_char(n),
                    ('.' | ',' | '\u{060C}' | '\u{066B}' | '\u{066C}', Some(n)) => is_digit(prev) && is_digit(n),
                    ('\'' | '\u{2019}', Some(n)) => prev.is_alphabetic() && n.is_alphabetic(),
                    _ => false,
                };
                if !joins {
                    return Some(i);
                }
                i += 2;
            }
            None => return Some(i),
        }
    }
}

/// The end of a software placeholder or tag starting at `start`, if one does:
/// printf (`%s`, `%1$d`, `%.2f`, `%@`), braces (`{0}`, `{name}`), `$1`, and
/// markup tags (`<b>`, `</a>`, `<br/>`).
fn placeholder_end(chars: &[(usize, char)], start: usize) -> Option<usize> {
    let at = |i: usize| chars.get(i).map(|&(_, c)| c);
    match chars[start].1 {
        '%' => {
            let mut i = start + 1;
            while i < start + 6 && at(i).is_some_and(|c| c.is_ascii_digit() || "$.-+#".contains(c)) {
                i += 1;
            }
            at(i).is_some_and(|c| c.is_ascii_alphabetic() || c == '@').then_some(i + 1)
        }
        '{' => {
            let mut i = start + 1;
            while let Some(c) = at(i) {
                if c == '}' {
                    return (i - start <= 40).then_some(i + 1);
                }
                if !(c.is_alphanumeric() || matches!(c, '_' | '.' | ':' | '{')) || i - start > 40 {
                    return None;
                }
                i += 1;
            }
            None
        }
        '$' => {
            let mut i = start + 1;
            while at(i).is_some_and(|c| c.is_ascii_digit()) {
                i += 1;
            }
            (i > start + 1).then_some(i)
        }
        '<' => {
            let mut i = start + 1;
            if at(i) == Some('/') {
                i += 1;
            }
            if !at(i).is_some_and(|c| c.is_ascii_alphabetic()) {
                return None;
            }
            while let Some(c) = at(i) {
                if c == '>' {
                    return Some(i + 1);
                }
                if c == '<' || c == '\n' || i - start > 80 {
                    return None;
                }
                i += 1;
            }
            None
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<&str> {
        split(text).words
    }

    #[test]
    fn splits_english_on_spaces_and_punctuation() {
        assert_eq!(words("Meta's Llama 2, released in 2023."), ["Meta's", "Llama", "2", "released", "in", "2023"]);
    }

    #[test]
    fn keeps_model_names_versions_and_numbers_whole() {
        assert_eq!(
            words("Qwen-7B-Chat runs on iOS 17.2 with 1,000 users"),
            ["Qwen-7B-Chat", "runs", "on", "iOS", "17.2", "with", "1,000", "users"]
        );
    }

    #[test]
    fn keeps_arabic_diacritics_and_tatweel_inside_words() {
        assert_eq!(words("كَشَفَتْ شركةُ Tencent، عن نمـــوذج"), ["كَشَفَتْ", "شركةُ", "Tencent", "عن", "نمـــوذج"]);
        assert_eq!(words("بلغت ٣٫٥ مليار؟"), ["بلغت", "٣٫٥", "مليار"]);
    }

    #[test]
    fn placeholders_and_tags_are_single_words() {
        assert_eq!(
            words("Failed to open %s (%1$d of {0}) in $1 <b>now</b>"),
            ["Failed", "to", "open", "%s", "%1$d", "of", "{0}", "in", "$1", "<b>", "now", "</b>"]
        );
        assert_eq!(words("50% off, 100 %"), ["50", "off", "100"]);
    }

    #[test]
    fn gaps_surround_words_and_rebuild_the_text() {
        let text = " «مرحبا»، يا  عالم! ";
        let s = split(text);
        assert_eq!(s.gaps.len(), s.words.len() + 1);
        let mut rebuilt = String::new();
        for (gap, word) in s.gaps.iter().zip(&s.words) {
            rebuilt.push_str(gap);
            rebuilt.push_str(word);
        }
        rebuilt.push_str(s.gaps.last().unwrap());
        assert_eq!(rebuilt, text);
    }
}
