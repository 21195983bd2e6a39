//! Sentence segmentation for Arabic and English news text.
//!
//! [`segments`] splits a text into sentences and returns them as byte ranges of the input, in order.
//! Every range is trimmed of surrounding whitespace, and empty segments are never returned. Only
//! whitespace is ever dropped: every other character of the input is in exactly one segment. The scan
//! is a single linear pass with no regular expressions and no dependencies.
//!
//! The rules are:
//!
//! - Every line break ends a segment. A line break is `\n`, `\r\n`, a lone `\r`, U+2028 or U+2029.
//!   News articles come one paragraph per line, so a line never continues a sentence of the line above.
//!   Blank lines and leading or trailing whitespace produce no segments.
//! - The terminators are `.` `!` `?` `؟` (U+061F), `۔` (U+06D4) and `…` (U+2026). A run of them, such as
//!   `?!`, `...` or `!!`, counts as one terminator.
//! - After a terminator run, any closing quotes and brackets (`"` `'` `”` `’` `»` `)` `]` `›`) and any
//!   bidirectional marks (U+200E, U+200F, U+061C, U+202A to U+202E, U+2066 to U+2069) still belong to the
//!   sentence that ends there.
//! - A segment ends there only if whitespace follows, and after that whitespace (and any bidirectional
//!   marks) comes a character that can start a sentence. Those are: a letter that is not lowercase (an
//!   uppercase Latin letter, any Arabic-script letter since Arabic has no case, or a letter of another
//!   caseless script); a digit (ASCII `0-9`, Arabic-Indic `٠-٩` or Persian `۰-۹`); or an opening quote or
//!   bracket (`"` `“` `‘` `«` `(` `[` `‹` `'`). So whitespace followed by a lowercase letter does not split
//!   (`e.g. the`, `... and then`).
//! - A terminator followed directly by anything other than whitespace never splits. This keeps numbers
//!   (`3.5`, `1.000.000`, `٣.٥`), URLs (`https://example.com/a.b`), e-mail addresses, version strings
//!   (`v2.5`, `Qwen-7B`), `Yahoo!Inc` and `U.S.-China` in one piece.
//! - The Arabic comma `،`, the Arabic semicolon `؛`, and `,` `;` `:` never end a segment.
//! - A single `.` after a known abbreviation does not end a segment, even before a capitalised word. The
//!   word before the dot is compared after removing any opening quotes or brackets in front of it.
//!   - `e.g.`, `i.e.` and `vs.` are abbreviations in any letter case.
//!   - These are abbreviations when they start with a capital letter (the rest in any case): Mr, Mrs, Ms,
//!     Dr, Prof, Sr, Jr, St, Mt, Gen, Gov, Sen, Rep, Col, Lt, Capt, Sgt, Inc, Ltd, Co, Corp, and the
//!     months Jan, Feb, Mar, Apr, Jun, Jul, Aug, Sep, Sept, Oct, Nov, Dec.
//!   - `No.` (any case) is an abbreviation only when a digit comes next (`No. 5`).
//!   - A single capital Latin letter is an initial (`J. K. Rowling`, `George W. Bush`).
//!   - The Arabic titles `د.` (Dr.), `أ.` (Prof., Mr.) and `أ.د.` (Prof. Dr.) are abbreviations.
//!   - `etc.` is not an abbreviation: it usually ends the sentence when a capitalised word follows.
//!   - Dotted initialisms such as `U.S.`, `U.K.`, `a.m.` and `p.m.` are not abbreviations either. They do
//!     not split before a lowercase word (the general rule), but they do split before a capitalised word
//!     or an Arabic word, so `the U.S. President` is split after `U.S.`.
//!   - A run of more than one terminator (`...`, `?.`) is never treated as an abbreviation.

use std::ops::Range;

/// Longest word (in chars) that is checked against the abbreviation lists. Longer words are not
/// abbreviations; the cap also keeps the backward scan for the word bounded.
const MAX_ABBREVIATION_SCAN: usize = 16;

/// Abbreviations recognised in any letter case (compared in lowercase, without the final dot).
const ANY_CASE_ABBREVIATIONS: &[&str] = &["e.g", "i.e", "vs"];

/// Abbreviations recognised when the word starts with a capital letter (compared in lowercase).
const CAPITALISED_ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "gen", "gov", "sen", "rep", "col", "lt", "capt", "sgt",
    "inc", "ltd", "co", "corp", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
];

/// Arabic title abbreviations (without the final dot).
const ARABIC_ABBREVIATIONS: &[&str] = &["د", "أ", "أ.د"];

/// Splits a text into segments (sentences), in order. Each segment is a byte range of `text`,
/// trimmed of surrounding whitespace; empty segments are never returned.
pub fn segments(text: &str) -> Vec<Range<usize>> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let n = chars.len();
    let byte_at = |i: usize| if i < n { chars[i].0 } else { text.len() };
    let mut out = Vec::new();
    let mut seg_start = 0;
    let mut i = 0;
    while i < n {
        let (pos, c) = chars[i];
        if is_line_break(c) {
            push_trimmed(text, seg_start..pos, &mut out);
            seg_start = pos + c.len_utf8();
            i += 1;
            continue;
        }
        if !is_terminator(c) {
            i += 1;
            continue;
        }
        let run_start = i;
        let mut j = i;
        while j < n && is_terminator(chars[j].1) {
            j += 1;
        }
        let run_end = j;
        while j < n && (is_closing(chars[j].1) || is_bidi_mark(chars[j].1)) {
            j += 1;
        }
        // `j` is the first char after the terminator run and what belongs to it.
        if j < n && is_inline_space(chars[j].1) {
            let mut k = j;
            while k < n && (is_inline_space(chars[k].1) || is_bidi_mark(chars[k].1)) {
                k += 1;
            }
            if k < n {
                let next = chars[k].1;
                if can_start_sentence(next) && !is_abbreviation(&chars, run_start, run_end, next) {
                    let end = byte_at(j);
                    push_trimmed(text, seg_start..end, &mut out);
                    seg_start = end;
                }
            }
        }
        i = j;
    }
    push_trimmed(text, seg_start..text.len(), &mut out);
    out
}

/// Pushes `range` trimmed of whitespace, unless nothing is left.
fn push_trimmed(text: &str, range: Range<usize>, out: &mut Vec<Range<usize>>) {
    let slice = &text[range.clone()];
    let trimmed = slice.trim();
    if trimmed.is_empty() {
        return;
    }
    let start = range.start + (slice.len() - slice.trim_start().len());
    out.push(start..start + trimmed.len());
}

/// Whether the terminator run `chars[run_start..run_end]` is the dot of an abbreviation that must not
/// end the sentence. `next` is the first character of the following word.
fn is_abbreviation(chars: &[(usize, char)], run_start: usize, run_end: usize, next: char) -> bool {
    if run_end - run_start != 1 || chars[run_start].1 != '.' {
        return false;
    }
    let mut word_start = run_start;
    while word_start > 0 && !chars[word_start - 1].1.is_whitespace() {
        word_start -= 1;
        if run_start - word_start > MAX_ABBREVIATION_SCAN {
            return false;
        }
    }
    let word: String = chars[word_start..run_start]
        .iter()
        .map(|&(_, c)| c)
        .skip_while(|&c| is_opening(c) || is_bidi_mark(c))
        .collect();
    let Some(first) = word.chars().next() else {
        return false;
    };
    let lower = word.to_lowercase();
    if ANY_CASE_ABBREVIATIONS.contains(&lower.as_str()) || ARABIC_ABBREVIATIONS.contains(&word.as_str()) {
        return true;
    }
    if first.is_uppercase() && CAPITALISED_ABBREVIATIONS.contains(&lower.as_str()) {
        return true;
    }
    if lower == "no" && is_digit(next) {
        return true;
    }
    // A single capital Latin letter: an initial.
    word.len() == 1 && first.is_ascii_uppercase()
}

fn is_terminator(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '\u{061F}' | '\u{06D4}' | '\u{2026}')
}

fn is_closing(c: char) -> bool {
    matches!(c, '"' | '\'' | '\u{201D}' | '\u{2019}' | '\u{00BB}' | ')' | ']' | '\u{203A}')
}

fn is_opening(c: char) -> bool {
    matches!(c, '"' | '\'' | '\u{201C}' | '\u{2018}' | '\u{00AB}' | '(' | '[' | '\u{2039}')
}

fn is_line_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}')
}

/// Whitespace that is not a line break.
fn is_inline_space(c: char) -> bool {
    c.is_whitespace() && !is_line_break(c)
}

/// Invisible bidirectional formatting characters (LRM, RLM, ALM, embeddings, isolates).
fn is_bidi_mark(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// ASCII, Arabic-Indic and Persian (Extended Arabic-Indic) digits.
fn is_digit(c: char) -> bool {
    matches!(c, '0'..='9' | '\u{0660}'..='\u{0669}' | '\u{06F0}'..='\u{06F9}')
}

/// A character that can start a sentence: a letter that is not lowercase (uppercase, or from a caseless
/// script such as Arabic), a digit, or an opening quote or bracket.
fn can_start_sentence(c: char) -> bool {
    (c.is_alphabetic() && !c.is_lowercase()) || is_digit(c) || is_opening(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg_strs(text: &str) -> Vec<&str> {
        segments(text).into_iter().map(|r| &text[r]).collect()
    }

    /// Checks every structural guarantee of `segments` on `text`.
    fn check_invariants(text: &str) {
        let ranges = segments(text);
        let mut prev_end = 0;
        let mut kept = String::new();
        for r in &ranges {
            assert!(r.start < r.end, "empty range {r:?} in {text:?}");
            assert!(prev_end <= r.start, "overlap or disorder at {r:?} in {text:?}");
            assert!(text.is_char_boundary(r.start) && text.is_char_boundary(r.end), "{r:?} in {text:?}");
            let gap = &text[prev_end..r.start];
            assert!(gap.chars().all(char::is_whitespace), "lost {gap:?} in {text:?}");
            let s = &text[r.clone()];
            assert_eq!(s, s.trim(), "untrimmed segment in {text:?}");
            assert!(!s.chars().any(is_line_break), "line break inside {s:?} of {text:?}");
            kept.push_str(s);
            prev_end = r.end;
        }
        assert!(text[prev_end..].chars().all(char::is_whitespace), "lost tail of {text:?}");
        let strip = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
        assert_eq!(strip(&kept), strip(text), "content changed for {text:?}");
    }

    #[test]
    fn english_news_titles_initialisms_money_and_quotes() {
        let text = "Mr. Smith, a senior adviser to the U.S. government, said the deal was worth $3.5 billion. \
                    Dr. Jane Doe of Harvard disagreed. \"We are not convinced.\" The company declined to comment.";
        assert_eq!(
            seg_strs(text),
            [
                "Mr. Smith, a senior adviser to the U.S. government, said the deal was worth $3.5 billion.",
                "Dr. Jane Doe of Harvard disagreed.",
                "\"We are not convinced.\"",
                "The company declined to comment.",
            ]
        );
        let text = "The talks between Mr. Smith and Dr. Brown lasted an hour. Both sides said the U.S. economy \
                    would grow by 2.5 percent.";
        assert_eq!(
            seg_strs(text),
            [
                "The talks between Mr. Smith and Dr. Brown lasted an hour.",
                "Both sides said the U.S. economy would grow by 2.5 percent.",
            ]
        );
        let text = "Shares of Apple rose 3.5% on Tuesday, Mrs. Lee said. \"It was a good day,\" she added.";
        assert_eq!(
            seg_strs(text),
            ["Shares of Apple rose 3.5% on Tuesday, Mrs. Lee said.", "\"It was a good day,\" she added."]
        );
    }

    #[test]
    fn arabic_paragraph_commas_and_semicolons_do_not_split() {
        let text = "أعلنت شركة تينسنت عن نموذج Hunyuan الجديد. وقال المتحدث إن النموذج يدعم اللغة العربية، \
                    والإنجليزية؛ والصينية. هل سيصل إلى الأسواق قريبًا؟ نعم!";
        assert_eq!(
            seg_strs(text),
            [
                "أعلنت شركة تينسنت عن نموذج Hunyuan الجديد.",
                "وقال المتحدث إن النموذج يدعم اللغة العربية، والإنجليزية؛ والصينية.",
                "هل سيصل إلى الأسواق قريبًا؟",
                "نعم!",
            ]
        );
    }

    #[test]
    fn arabic_titles_and_arabic_indic_digits() {
        let text = "قال د. أحمد محمد إن النمو بلغ ٣.٥ في المئة. وأضاف أن الاقتصاد يتحسن.";
        assert_eq!(seg_strs(text), ["قال د. أحمد محمد إن النمو بلغ ٣.٥ في المئة.", "وأضاف أن الاقتصاد يتحسن."]);
        let text = "حاضر أ.د. محمد علي ثم تحدثت أ. سارة عن النتائج۔ وانتهى اللقاء بعد ۱۲ دقيقة.";
        assert_eq!(seg_strs(text), ["حاضر أ.د. محمد علي ثم تحدثت أ. سارة عن النتائج۔", "وانتهى اللقاء بعد ۱۲ دقيقة."]);
    }

    #[test]
    fn mixed_arabic_with_model_names() {
        let text = "أطلقت علي بابا نموذج Qwen-7B-Chat الذي ينافس Llama 2. وقال الباحثون إن النتائج مشجعة.";
        assert_eq!(
            seg_strs(text),
            ["أطلقت علي بابا نموذج Qwen-7B-Chat الذي ينافس Llama 2.", "وقال الباحثون إن النتائج مشجعة."]
        );
    }

    #[test]
    fn ellipses() {
        assert_eq!(seg_strs("He paused… Then he left."), ["He paused…", "Then he left."]);
        assert_eq!(seg_strs("Wait... What happened?"), ["Wait...", "What happened?"]);
        assert_eq!(seg_strs("انتظر... ثم غادر المكان."), ["انتظر...", "ثم غادر المكان."]);
        assert_eq!(seg_strs("انتظر… ثم غادر."), ["انتظر…", "ثم غادر."]);
        assert_eq!(seg_strs("He paused... and then left."), ["He paused... and then left."]);
        assert_eq!(seg_strs("He paused… and left."), ["He paused… and left."]);
    }

    #[test]
    fn terminator_runs_and_closing_quotes() {
        assert_eq!(seg_strs("Really?! No way!! He said so."), ["Really?!", "No way!!", "He said so."]);
        assert_eq!(seg_strs("هل هذا صحيح؟! نعم."), ["هل هذا صحيح؟!", "نعم."]);
        let text = "قال المتحدث: «هذا إنجاز كبير!» وأضاف أن العمل مستمر.";
        assert_eq!(seg_strs(text), ["قال المتحدث: «هذا إنجاز كبير!»", "وأضاف أن العمل مستمر."]);
        let text = "He asked: “Is it over?” Nobody answered. (It was.) Then silence.";
        assert_eq!(seg_strs(text), ["He asked: “Is it over?”", "Nobody answered.", "(It was.)", "Then silence."]);
    }

    #[test]
    fn line_breaks_are_hard_breaks() {
        let text = "  First line without period\nSecond line.\r\n\r\n  Third line. Fourth sentence.  \n\n\n";
        assert_eq!(seg_strs(text), ["First line without period", "Second line.", "Third line.", "Fourth sentence."]);
        assert_eq!(seg_strs("the U.S.\neconomy grew"), ["the U.S.", "economy grew"]);
        assert_eq!(seg_strs("سطر أول\r\nسطر ثان\rسطر ثالث"), ["سطر أول", "سطر ثان", "سطر ثالث"]);
        assert_eq!(seg_strs("one\u{2029}two\u{2028}three"), ["one", "two", "three"]);
    }

    #[test]
    fn empty_and_whitespace_only() {
        assert!(segments("").is_empty());
        assert!(segments("   ").is_empty());
        assert!(segments(" \n\r\n\t \u{a0}\n  ").is_empty());
    }

    #[test]
    fn english_abbreviations() {
        assert_eq!(
            seg_strs("Gen. Milley met Sen. Warren and Gov. Newsom."),
            ["Gen. Milley met Sen. Warren and Gov. Newsom."]
        );
        assert_eq!(seg_strs("It is listed as No. 5 in the ranking."), ["It is listed as No. 5 in the ranking."]);
        assert_eq!(seg_strs("He said No. Then he left."), ["He said No.", "Then he left."]);
        assert_eq!(seg_strs("J. K. Rowling met George W. Bush."), ["J. K. Rowling met George W. Bush."]);
        assert_eq!(
            seg_strs("Big firms, e.g. Apple and Google, agreed."),
            ["Big firms, e.g. Apple and Google, agreed."]
        );
        assert_eq!(seg_strs("It was Apple vs. Google in court."), ["It was Apple vs. Google in court."]);
        assert_eq!(seg_strs("The vote is on Oct. 3 or Nov. 7."), ["The vote is on Oct. 3 or Nov. 7."]);
        assert_eq!(
            seg_strs("He bought apples, pears, etc. The rest was sold."),
            ["He bought apples, pears, etc.", "The rest was sold."]
        );
        assert_eq!(seg_strs("Trading opened at 9 a.m. Prices rose."), ["Trading opened at 9 a.m.", "Prices rose."]);
        assert_eq!(
            seg_strs("Trading opened at 9 a.m. and prices rose."),
            ["Trading opened at 9 a.m. and prices rose."]
        );
        assert_eq!(seg_strs("He moved to the U.S. Then he studied."), ["He moved to the U.S.", "Then he studied."]);
        assert_eq!(seg_strs("They met (Dr. Brown too) yesterday."), ["They met (Dr. Brown too) yesterday."]);
        // Lowercase "co." / "gen." are ordinary words.
        assert_eq!(seg_strs("It is the next gen. New models follow."), ["It is the next gen.", "New models follow."]);
    }

    #[test]
    fn no_split_inside_numbers_urls_emails_versions() {
        let text = "Revenue hit 1.000.000 euros. See https://example.com/a.b?x=1 and mail john.doe@example.co.uk \
                    today. Qwen-7B v2.5 beats v2.0! Yahoo!Inc and U.S.-China talks resumed.";
        assert_eq!(
            seg_strs(text),
            [
                "Revenue hit 1.000.000 euros.",
                "See https://example.com/a.b?x=1 and mail john.doe@example.co.uk today.",
                "Qwen-7B v2.5 beats v2.0!",
                "Yahoo!Inc and U.S.-China talks resumed.",
            ]
        );
    }

    #[test]
    fn digits_and_bidi_marks_after_terminator() {
        assert_eq!(seg_strs("Profit fell. 2024 was hard."), ["Profit fell.", "2024 was hard."]);
        assert_eq!(seg_strs("انتهى الاجتماع. ٢٠٢٤ كان عامًا صعبًا."), ["انتهى الاجتماع.", "٢٠٢٤ كان عامًا صعبًا."]);
        assert_eq!(seg_strs("انتهى الاجتماع.\u{200F} وقال"), ["انتهى الاجتماع.\u{200F}", "وقال"]);
        assert_eq!(seg_strs("انتهى الاجتماع. \u{200F}وقال"), ["انتهى الاجتماع.", "\u{200F}وقال"]);
    }

    /// Deterministic linear congruential generator (Knuth's MMIX constants).
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            self.0 >> 33
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn generated_texts_keep_all_content() {
        const PIECES: &[&str] = &[
            "the",
            "Mr",
            "Dr",
            "U.S",
            "e.g",
            "No",
            "etc",
            "J",
            "Smith",
            "model",
            "3",
            "5",
            "٣",
            "٥",
            "۱",
            "وقال",
            "أحمد",
            "د",
            "أ",
            "ب",
            "قريبًا",
            ".",
            ".",
            ".",
            "!",
            "?",
            "؟",
            "۔",
            "…",
            "...",
            "?!",
            "»",
            "«",
            "\"",
            "”",
            "(",
            ")",
            "'",
            "،",
            "؛",
            ",",
            ":",
            "-",
            " ",
            " ",
            " ",
            " ",
            "  ",
            "\t",
            "\u{a0}",
            "\n",
            "\r\n",
            "\n\n",
            "\u{200F}",
            "\u{200E}",
            "\u{0301}",
            "\u{064E}",
        ];
        let mut rng = Lcg(0x5EED);
        for _ in 0..500 {
            let len = rng.below(40);
            let text: String = (0..len).map(|_| PIECES[rng.below(PIECES.len())]).collect();
            check_invariants(&text);
        }
    }

    #[test]
    fn exhaustive_short_strings() {
        const ALPHABET: &[char] = &['.', '?', 'A', 'a', ' ', '\n', '»', 'د', '\u{0301}'];
        let mut text = String::new();
        for len in 0..=4u32 {
            for mut code in 0..ALPHABET.len().pow(len) {
                text.clear();
                for _ in 0..len {
                    text.push(ALPHABET[code % ALPHABET.len()]);
                    code /= ALPHABET.len();
                }
                check_invariants(&text);
            }
        }
    }

    #[test]
    fn never_panics_on_odd_input() {
        let inputs = [
            "\u{0301}",
            "\u{0301}. \u{0301}",
            ". \u{064B}ب",
            "\u{200F}\u{200E}",
            "\u{200F}. \u{200E}. \u{200F}",
            "Hello.\u{200E}\u{200F}",
            "...!!!???؟؟؟۔۔……",
            ". . . ! ? ؟",
            "\"",
            "» « ( ) [ ]",
            ".\n.\r\n.\r",
            "\r",
            "a.",
            ". A",
            ". د",
            "د.",
            " أ.د. ",
            "(\"Mr. ",
            "\u{feff}Text. More.",
            "🙂. 🙂! Ünïcödé. Ω. ω.",
            "x.\u{2028}.\u{2029}",
        ];
        for text in inputs {
            check_invariants(text);
        }
        let long = "a. B ".repeat(1000) + &"x".repeat(1000) + ".";
        check_invariants(&long);
        assert_eq!(segments(&long).len(), 1001);
    }
}
