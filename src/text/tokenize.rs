//! Splitting text into words and the gaps between them.
//!
//! A word is a run of letters, digits and combining marks (Arabic diacritics
//! and tatweel stay inside the word they decorate). A few connectors stay
//! inside a word when both neighbours allow it: `-` and `_` between word
//! characters (`Qwen-7B`, `state-of-the-art`; but a number stays apart from
//! the words it is hyphenated with: `13`-`year-old`, `COVID`-`19`), `.` `,` `٫` `٬` between digits
//! (`17.2`, `1,000`), apostrophes between letters (`don't`). Software
//! placeholders and tags are single words (`%s`, `%1$d`, `{0}`, `$1`, `<b>`),
//! and so are URLs (`https://…`, `www.…`), e-mail addresses and `@handles`.
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
        let end = clitic_before_number(&chars, i)
            .or_else(|| placeholder_end(&chars, i))
            .or_else(|| url_end(&chars, i))
            .or_else(|| handle_end(&chars, i))
            .or_else(|| email_end(&chars, i))
            .or_else(|| word_end(&chars, i));
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

/// True for characters that make up words: letters, digits, combining marks
/// and the tatweel. ASCII and the Arabic block are answered from their
/// ranges (equal to the Unicode tables, which a test checks for every
/// character), since the tables' slow path is the costliest step of
/// tokenizing Arabic.
#[inline]
fn is_word_char(c: char) -> bool {
    match c {
        'a'..='z' | 'A'..='Z' | '0'..='9' => true,
        '\0'..='\x7f' => false,
        // Arabic letters, tatweel, harakat and Arabic-Indic digits.
        '\u{0620}'..='\u{0669}' => true,
        _ => is_word_char_slow(c),
    }
}

fn is_word_char_slow(c: char) -> bool {
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
    // A run of word characters from `from`, and whether it is all digits.
    let run_is_number = |from: usize| {
        let mut k = from;
        while at(k).is_some_and(is_word_char) {
            k += 1;
        }
        k > from && chars[from..k].iter().all(|&(_, c)| is_digit(c))
    };
    let mut i = start + 1;
    let mut part_start = start;
    loop {
        match at(i) {
            Some(c) if is_word_char(c) => i += 1,
            Some(c) => {
                let (prev, next) = (chars[i - 1].1, at(i + 1));
                let joins = match (c, next) {
                    // A number stays apart from the words it is hyphenated
                    // with (13-year-old, COVID-19), so it is a placeable.
                    ('-', Some(n)) => {
                        is_word_char(n)
                            && !chars[part_start..i].iter().all(|&(_, c)| is_digit(c))
                            && !run_is_number(i + 1)
                    }
                    ('_', Some(n)) => is_word_char(n),
                    ('.' | ',' | '\u{060C}' | '\u{066B}' | '\u{066C}', Some(n)) => is_digit(prev) && is_digit(n),
                    ('\'' | '\u{2019}', Some(n)) => prev.is_alphabetic() && n.is_alphabetic(),
                    _ => false,
                };
                if !joins {
                    return Some(i);
                }
                if c == '-' {
                    part_start = i + 1;
                }
                i += 2;
            }
            None => return Some(i),
        }
    }
}

/// An Arabic proclitic written against a number (و15، ب2020، لـ5): the
/// clitic is a word of its own, so the number is one too.
fn clitic_before_number(chars: &[(usize, char)], start: usize) -> Option<usize> {
    if start > 0 && is_word_char(chars[start - 1].1) {
        return None;
    }
    let at = |i: usize| chars.get(i).map(|&(_, c)| c);
    // Diacritics and tatweel stay with the clitic: وَ7، لـ5.
    let marks = |mut i: usize| {
        while at(i).is_some_and(|c| c == '\u{0640}' || unicode_normalization::char::is_combining_mark(c)) {
            i += 1;
        }
        i
    };
    let mut i = start;
    if at(i).is_some_and(|c| matches!(c, 'و' | 'ف')) {
        i = marks(i + 1);
    }
    if at(i).is_some_and(|c| matches!(c, 'ب' | 'ل' | 'ك')) {
        i = marks(i + 1);
    }
    (i > start && at(i).is_some_and(is_digit)).then_some(i)
}

/// How a URL starts (compared without case).
pub(super) const URL_PREFIXES: [&str; 4] = ["https://", "http://", "ftp://", "www."];

/// The end of a URL starting at `start` (`http://`, `https://`, `ftp://` or
/// `www.`): it runs to the next space or closing bracket/quote, without
/// trailing punctuation.
fn url_end(chars: &[(usize, char)], start: usize) -> Option<usize> {
    if start > 0 && is_word_char(chars[start - 1].1) {
        return None;
    }
    let rest = |prefix: &str| {
        prefix.chars().enumerate().all(|(k, p)| chars.get(start + k).is_some_and(|&(_, c)| c.eq_ignore_ascii_case(&p)))
    };
    let prefix = URL_PREFIXES.into_iter().find(|p| rest(p))?;
    let mut end = start + prefix.len();
    while let Some(&(_, c)) = chars.get(end) {
        if c.is_whitespace() || matches!(c, '"' | '<' | '>' | '«' | '»' | '“' | '”' | '،' | '؛') || end - start > 2000
        {
            break;
        }
        end += 1;
    }
    while end > start + prefix.len() && matches!(chars[end - 1].1, '.' | ',' | ';' | ':' | '!' | '?' | ')' | '\'' | '؟')
    {
        end -= 1;
    }
    (end > start + prefix.len()).then_some(end)
}

fn is_handle_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The end of an `@handle` (`@Tencent`, `@meta_ai`) starting at `start`.
fn handle_end(chars: &[(usize, char)], start: usize) -> Option<usize> {
    if chars[start].1 != '@' || (start > 0 && is_word_char(chars[start - 1].1)) {
        return None;
    }
    let mut end = start + 1;
    while chars.get(end).is_some_and(|&(_, c)| is_handle_char(c)) && end - start <= 40 {
        end += 1;
    }
    (end > start + 1).then_some(end)
}

/// The end of an e-mail address starting at `start`: a local part of
/// letters, digits and `._%+-`, `@`, and a dotted domain.
fn email_end(chars: &[(usize, char)], start: usize) -> Option<usize> {
    let local = |c: char| c.is_ascii_alphanumeric() || "._%+-".contains(c);
    if !chars[start].1.is_ascii_alphanumeric() || (start > 0 && local(chars[start - 1].1)) {
        return None;
    }
    let mut at = start;
    while chars.get(at).is_some_and(|&(_, c)| local(c)) && at - start <= 64 {
        at += 1;
    }
    if chars.get(at).map(|&(_, c)| c) != Some('@') {
        return None;
    }
    let mut end = at + 1;
    let mut dots = 0;
    while let Some(&(_, c)) = chars.get(end) {
        if c.is_ascii_alphanumeric() || c == '-' {
            end += 1;
        } else if c == '.' && chars.get(end + 1).is_some_and(|&(_, n)| n.is_ascii_alphanumeric()) {
            dots += 1;
            end += 1;
        } else {
            break;
        }
    }
    (dots > 0 && end > at + 1).then_some(end)
}

/// The end of a software placeholder or tag starting at `start`, if one does:
/// printf (`%s`, `%1$d`, `%.2f`, `%@`, `%(name)s`), braces (`{0}`, `{name}`), `$1`, and
/// markup tags (`<b>`, `</a>`, `<br/>`).
fn placeholder_end(chars: &[(usize, char)], start: usize) -> Option<usize> {
    let at = |i: usize| chars.get(i).map(|&(_, c)| c);
    match chars[start].1 {
        '%' if at(start + 1) == Some('(') => {
            // Python's named form: %(name)s
            let mut i = start + 2;
            while at(i).is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') && i - start <= 40 {
                i += 1;
            }
            (i > start + 2 && at(i) == Some(')') && at(i + 1).is_some_and(|c| c.is_ascii_alphabetic())).then_some(i + 2)
        }
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
    #[test]
    fn the_fast_word_characters_equal_the_unicode_tables() {
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            assert_eq!(super::is_word_char(c), super::is_word_char_slow(c), "{c:?} (U+{:04X})", c as u32);
        }
    }

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
    fn numbers_hyphenated_with_words_stand_alone() {
        assert_eq!(
            words("a 13-year-old boy, COVID-19, 2020-2021, 1-0"),
            ["a", "13", "year-old", "boy", "COVID", "19", "2020", "2021", "1", "0"]
        );
        assert_eq!(words("GPT-4 and Qwen-7B-Chat"), ["GPT", "4", "and", "Qwen-7B-Chat"]);
    }

    #[test]
    fn keeps_arabic_diacritics_and_tatweel_inside_words() {
        assert_eq!(words("كَشَفَتْ شركةُ Tencent، عن نمـــوذج"), ["كَشَفَتْ", "شركةُ", "Tencent", "عن", "نمـــوذج"]);
        assert_eq!(words("بلغت ٣٫٥ مليار؟"), ["بلغت", "٣٫٥", "مليار"]);
        assert_eq!(
            words("بين 31 يناير و15 مارس، بـ5 ولـ٢٠٢٠"),
            ["بين", "31", "يناير", "و", "15", "مارس", "بـ", "5", "ولـ", "٢٠٢٠"]
        );
        assert_eq!(words("وَ7 أيام"), ["وَ", "7", "أيام"]);
    }

    #[test]
    fn placeholders_and_tags_are_single_words() {
        assert_eq!(
            words("Failed to open %s (%1$d of {0}) in $1 <b>now</b>"),
            ["Failed", "to", "open", "%s", "%1$d", "of", "{0}", "in", "$1", "<b>", "now", "</b>"]
        );
        assert_eq!(words("50% off, 100 %"), ["50", "off", "100"]);
        assert_eq!(words("<b>%(col)s</b> (%(x)"), ["<b>", "%(col)s", "</b>", "x"]);
    }

    #[test]
    fn urls_emails_and_handles_are_single_words() {
        assert_eq!(
            words("See https://qwenlm.github.io/blog/qwen2/, write to press@tencent.com or @AIatMeta."),
            ["See", "https://qwenlm.github.io/blog/qwen2/", "write", "to", "press@tencent.com", "or", "@AIatMeta"]
        );
        assert_eq!(
            words("موقع www.example.com، والبريد info@example.org"),
            ["موقع", "www.example.com", "والبريد", "info@example.org"]
        );
        assert_eq!(words("a @ b, x@y"), ["a", "b", "x", "y"]);
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
