//! Placeables: tokens a translation carries over unchanged (numbers, Latin
//! names inside Arabic, URLs, e-mail addresses, handles, software placeholders
//! and tags). Two sentences that differ only in placeables have the same
//! translation up to those tokens, so the stored target can be repaired.

use super::tokenize::URL_PREFIXES;
use super::Lang;

/// A kind of placeable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Placeable {
    /// A number in any digit script, with separators and decimals: `2023`,
    /// `1,000`, `17.2`, `٣٫٥`, `۲۰۲۳`.
    Number,
    /// A Latin-script word inside Arabic text: `Tencent`, `Qwen-7B`, `iOS`.
    Latin,
    Url,
    Email,
    /// `@Tencent`, `@AIatMeta`.
    Handle,
    /// `%s`, `%1$d`, `{0}`, `{name}`, `$1`.
    Placeholder,
    /// `<b>`, `</b>`, `<br/>`.
    Tag,
}

impl Placeable {
    /// Every kind; their index is their key id in the index.
    pub const ALL: [Placeable; 7] = [
        Placeable::Number,
        Placeable::Latin,
        Placeable::Url,
        Placeable::Email,
        Placeable::Handle,
        Placeable::Placeholder,
        Placeable::Tag,
    ];

    /// The stable machine name clients see.
    pub fn name(self) -> &'static str {
        match self {
            Placeable::Number => "number",
            Placeable::Latin => "latin_name",
            Placeable::Url => "url",
            Placeable::Email => "email",
            Placeable::Handle => "handle",
            Placeable::Placeholder => "placeholder",
            Placeable::Tag => "tag",
        }
    }

    /// The matching key shared by every placeable of this kind: it cannot
    /// collide with a word (words never hold NUL).
    pub fn key(self) -> &'static str {
        match self {
            Placeable::Number => "\0number",
            Placeable::Latin => "\0latin",
            Placeable::Url => "\0url",
            Placeable::Email => "\0email",
            Placeable::Handle => "\0handle",
            Placeable::Placeholder => "\0placeholder",
            Placeable::Tag => "\0tag",
        }
    }

    /// The kind of placeable `word` (one token's surface: see
    /// [`super::classify`]) is in a text of language `lang`, if it is one.
    pub fn of(word: &str, lang: Lang) -> Option<Placeable> {
        let first = word.chars().next()?;
        match first {
            '%' | '{' | '$' => return Some(Placeable::Placeholder),
            '<' => return Some(Placeable::Tag),
            '@' => return Some(Placeable::Handle),
            _ => {}
        }
        let starts_with = |prefix: &str| word.get(..prefix.len()).is_some_and(|p| p.eq_ignore_ascii_case(prefix));
        if URL_PREFIXES.iter().any(|prefix| starts_with(prefix)) {
            return Some(Placeable::Url);
        }
        if word.contains('@') {
            return Some(Placeable::Email);
        }
        if NumberValue::parse(word).is_some() || with_unit(word).is_some() {
            return Some(Placeable::Number);
        }
        let latin = word.chars().any(|c| is_latin(c) && c.is_alphabetic());
        let arabic = word.chars().any(is_arabic_letter);
        (lang == Lang::Arabic && latin && !arabic).then_some(Placeable::Latin)
    }
}

fn is_latin(c: char) -> bool {
    c.is_ascii_alphabetic() || ('\u{00C0}'..='\u{024F}').contains(&c)
}

fn is_arabic_letter(c: char) -> bool {
    ('\u{0620}'..='\u{064A}').contains(&c) || ('\u{0671}'..='\u{06D3}').contains(&c)
}

/// The digits a number is written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigitScript {
    Western,
    /// ٠١٢٣٤٥٦٧٨٩
    ArabicIndic,
    /// ۰۱۲۳۴۵۶۷۸۹
    Persian,
}

impl DigitScript {
    fn zero(self) -> u32 {
        match self {
            DigitScript::Western => '0' as u32,
            DigitScript::ArabicIndic => 0x0660,
            DigitScript::Persian => 0x06F0,
        }
    }
}

/// How a number is written: digits, grouping and decimal separators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NumberStyle {
    pub script: DigitScript,
    /// The thousands separator, when the number used one.
    pub grouping: Option<char>,
    /// The decimal separator, when the number had a fraction.
    pub decimal: Option<char>,
}

/// A number's value as canonical ASCII (`1000`, `3.5`, `17.2.1` for a
/// version), and how it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberValue {
    pub canonical: String,
    pub style: NumberStyle,
}

impl NumberValue {
    /// Reads a number token (`2023`, `1,000`, `٣٫٥`, `1.000.000` is read as
    /// a version-like dotted number). `None` when `word` is not only digits
    /// and separators.
    pub fn parse(word: &str) -> Option<NumberValue> {
        if !word.starts_with(|c: char| c.is_numeric()) {
            return None;
        }
        let mut script = None;
        let mut digits_groups: Vec<String> = vec![String::new()];
        let mut separators: Vec<char> = Vec::new();
        for c in word.chars() {
            let (s, d) = match c {
                '0'..='9' => (DigitScript::Western, c as u32 - '0' as u32),
                '\u{0660}'..='\u{0669}' => (DigitScript::ArabicIndic, c as u32 - 0x0660),
                '\u{06F0}'..='\u{06F9}' => (DigitScript::Persian, c as u32 - 0x06F0),
                ',' | '.' | '\u{066B}' | '\u{066C}' | '\u{060C}' => {
                    separators.push(c);
                    digits_groups.push(String::new());
                    continue;
                }
                _ => return None,
            };
            if script.is_some_and(|known| known != s) {
                return None;
            }
            script = Some(s);
            digits_groups.last_mut().expect("starts with one group").push(char::from(b'0' + d as u8));
        }
        let script = script?;
        if digits_groups.iter().any(String::is_empty) {
            return None;
        }
        let is_decimal_mark = |c: char| matches!(c, '.' | '\u{066B}');
        let groups_of_three = |groups: &[String]| groups.iter().all(|g| g.len() == 3);
        let (grouping, decimal) = match separators.as_slice() {
            [] => (None, None),
            [only] if !is_decimal_mark(*only) && digits_groups[1].len() == 3 => (Some(*only), None),
            [only] => (None, Some(*only)),
            [first, ..] if separators.iter().all(|c| c == first) && groups_of_three(&digits_groups[1..]) => {
                (Some(*first), None)
            }
            [first, middle @ .., last]
                if last != first
                    && middle.iter().all(|c| c == first)
                    && groups_of_three(&digits_groups[1..digits_groups.len() - 1]) =>
            {
                (Some(*first), Some(*last))
            }
            [first, ..] => {
                // A version number (17.2.1): keep its dots.
                let style = NumberStyle { script, grouping: None, decimal: Some(*first) };
                return Some(NumberValue { canonical: digits_groups.join("."), style });
            }
        };
        let canonical = match decimal {
            Some(_) => {
                let (fraction, whole) = digits_groups.split_last().expect("a decimal has two groups");
                format!("{}.{fraction}", whole.concat())
            }
            None => digits_groups.concat(),
        };
        Some(NumberValue { canonical, style: NumberStyle { script, grouping, decimal } })
    }

    /// The value as a whole number, if it is one.
    pub fn integer(&self) -> Option<u64> {
        self.canonical.parse().ok()
    }

    /// Writes `canonical` (a value from [`NumberValue::parse`]) in `style`:
    /// its digits, its separators.
    pub fn render(canonical: &str, style: NumberStyle) -> String {
        let digit = |c: char| match c.to_digit(10) {
            Some(d) => char::from_u32(style.script.zero() + d).unwrap_or(c),
            None => c,
        };
        let (whole, fraction) = match canonical.split_once('.') {
            Some((w, f)) if !f.contains('.') => (w, Some(f)),
            Some(_) => return canonical.chars().map(digit).collect(), // a version
            None => (canonical, None),
        };
        let mut out = String::new();
        let len = whole.chars().count();
        for (i, c) in whole.chars().enumerate() {
            if i > 0 && (len - i) % 3 == 0 {
                if let Some(g) = style.grouping {
                    out.push(g);
                }
            }
            out.push(digit(c));
        }
        if let Some(fraction) = fraction {
            out.push(style.decimal.unwrap_or(match style.script {
                DigitScript::Western => '.',
                _ => '\u{066B}',
            }));
            out.extend(fraction.chars().map(digit));
        }
        out
    }
}

/// The value of a digit in the scripts numbers are written with (Western,
/// Arabic-Indic, Persian, full-width).
pub fn digit_value(c: char) -> Option<u32> {
    match c {
        '0'..='9' => Some(c as u32 - '0' as u32),
        '\u{0660}'..='\u{0669}' => Some(c as u32 - 0x0660),
        '\u{06F0}'..='\u{06F9}' => Some(c as u32 - 0x06F0),
        '\u{FF10}'..='\u{FF19}' => Some(c as u32 - 0xFF10),
        _ => None,
    }
}

/// The separators that may stand between the digits of one number.
fn is_number_separator(c: char) -> bool {
    matches!(c, ',' | '.' | '\u{066B}' | '\u{066C}' | '\u{060C}')
}

/// A number with a unit of up to four letters glued after it (`5GB`,
/// `2.8km`, `6bn`, `700Mbit`): the number and the unit. Ordinal and plural endings (`21st`, `1990s`) are no unit.
fn with_unit(word: &str) -> Option<(NumberValue, &str)> {
    let at = word.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = word.split_at(at);
    let ordinal = ["st", "nd", "rd", "th", "s"].iter().any(|e| unit.eq_ignore_ascii_case(e));
    (unit.len() <= 4 && unit.chars().all(|c| c.is_ascii_alphabetic()) && !ordinal)
        .then(|| NumberValue::parse(number).map(|n| (n, unit)))
        .flatten()
}

/// A number written in a text: where it is (bytes) and every way to read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberSpan {
    pub bytes: std::ops::Range<usize>,
    /// The readings, most likely first (see [`number_readings`]).
    pub readings: Vec<NumberValue>,
}

/// The numbers of `text` (a text in `lang`): maximal runs of digits with
/// single separators between digits, whatever is glued around them (`$348.4`,
/// `348.4$`, `%3.2`, `5GB`, `و15`), except digits glued after letters other
/// than an Arabic proclitic, which belong to a word or name (`G20`, `إي2`).
pub fn number_spans(text: &str, lang: Lang) -> Vec<NumberSpan> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if digit_value(chars[i].1).is_none() {
            i += 1;
            continue;
        }
        let start = i;
        let mut end = i + 1;
        loop {
            match chars.get(end) {
                Some(&(_, c)) if digit_value(c).is_some() => end += 1,
                Some(&(_, c))
                    if is_number_separator(c) && chars.get(end + 1).is_some_and(|&(_, n)| digit_value(n).is_some()) =>
                {
                    end += 2
                }
                _ => break,
            }
        }
        let glued_to_name = !word_before_is_clitic(&chars[..start]);
        let bytes = chars[start].0..chars.get(end).map_or(text.len(), |&(b, _)| b);
        let readings = number_readings(&text[bytes.clone()], lang);
        if !glued_to_name && !readings.is_empty() {
            spans.push(NumberSpan { bytes, readings });
        }
        i = end;
    }
    spans
}

/// Whether the letters glued before a number (`chars` ends where it
/// starts) leave it a number of its own: none, or an Arabic proclitic
/// (و15، بـ5، ولـ٢٠٢٠), as the tokenizer reads them; not a name (`G20`,
/// `إي2`).
fn word_before_is_clitic(chars: &[(usize, char)]) -> bool {
    let is_mark = |c: char| c == '\u{0640}' || unicode_normalization::char::is_combining_mark(c);
    let letters: String = chars
        .iter()
        .rev()
        .map(|&(_, c)| c)
        .take_while(|&c| c.is_alphabetic() || is_mark(c))
        .filter(|&c| !is_mark(c))
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let rest = letters.strip_prefix(['و', 'ف']).unwrap_or(&letters);
    let rest = rest.strip_prefix(['ب', 'ل', 'ك']).unwrap_or(rest);
    rest.is_empty()
}

/// The ways to read a number as written in a text of `lang`, most likely
/// first. A lone `.` or `,` before three digits is ambiguous: `77.000` is
/// 77,000 in Arabic news and 77 in English; `1,500` is 1,500 in English and
/// may be 1.5 where the comma is the decimal mark. `٫` is always a decimal
/// mark and `٬` always groups thousands. Several separators read as
/// [`NumberValue::parse`] reads them. Digits of several scripts are read as
/// one number, in the script of the first.
pub fn number_readings(word: &str, lang: Lang) -> Vec<NumberValue> {
    let mut script = None;
    let mut groups: Vec<String> = vec![String::new()];
    let mut separators = Vec::new();
    for c in word.chars() {
        if let Some(d) = digit_value(c) {
            let s = match c {
                '\u{0660}'..='\u{0669}' => DigitScript::ArabicIndic,
                '\u{06F0}'..='\u{06F9}' => DigitScript::Persian,
                _ => DigitScript::Western,
            };
            script.get_or_insert(s);
            groups.last_mut().expect("one group at least").push(char::from(b'0' + d as u8));
        } else if is_number_separator(c) {
            separators.push(c);
            groups.push(String::new());
        } else {
            return Vec::new();
        }
    }
    let Some(script) = script else { return Vec::new() };
    if groups.iter().any(String::is_empty) {
        return Vec::new();
    }
    let reading = |grouping: Option<char>, decimal: Option<char>| {
        let canonical = match decimal {
            Some(_) => format!("{}.{}", groups[..groups.len() - 1].concat(), groups[groups.len() - 1]),
            None => groups.concat(),
        };
        NumberValue { canonical, style: NumberStyle { script, grouping, decimal } }
    };
    match separators.as_slice() {
        [] => vec![reading(None, None)],
        [only] => {
            let grouped = (1..=3).contains(&groups[0].len()) && groups[1].len() == 3;
            let as_grouping = grouped.then(|| reading(Some(*only), None));
            // Three zeros after the only separator group thousands
            // (`76.000`), and so do three digits after an English comma.
            let surely_grouped =
                grouped && *only != '\u{066B}' && (groups[1] == "000" || (*only == ',' && lang == Lang::English));
            let as_decimal = (!surely_grouped).then(|| reading(None, Some(*only)));
            let (first, second) = match (*only, lang) {
                ('\u{066B}', _) => (as_decimal, None),
                ('\u{066C}', _) => (as_grouping, None),
                ('.', Lang::English) => (as_decimal, as_grouping),
                _ => (as_grouping, as_decimal),
            };
            first.into_iter().chain(second).collect()
        }
        _ => {
            // Several separators: one reading, as a plain parse gives it.
            let folded: String =
                word.chars().map(|c| digit_value(c).map_or(c, |d| char::from(b'0' + d as u8))).collect();
            NumberValue::parse(&folded)
                .map(|mut n| {
                    n.style.script = script;
                    n
                })
                .into_iter()
                .collect()
        }
    }
}

impl NumberValue {
    /// The value with insignificant zeros dropped (`07` is 7, `17.50` is
    /// 17.5): two readings with equal amounts are the same number.
    pub fn amount(&self) -> String {
        let (whole, fraction) = match self.canonical.split_once('.') {
            Some((w, f)) if !f.contains('.') => (w, f.trim_end_matches('0')),
            Some(_) => return self.canonical.clone(), // a version
            None => (self.canonical.as_str(), ""),
        };
        let whole = whole.trim_start_matches('0');
        let whole = if whole.is_empty() { "0" } else { whole };
        if fraction.is_empty() {
            whole.to_owned()
        } else {
            format!("{whole}.{fraction}")
        }
    }
}

/// What an Arabic counted noun looks like after a whole number (تمييز العدد).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArabicCount {
    /// 1 and 2 (and numbers ending in 01/02 above 100 take the noun's own
    /// singular or dual form): no counted-noun rule.
    SingularOrDual,
    /// 3–10 (and numbers ending in 03–10): a genitive plural (خمسة مليارات).
    Plural,
    /// 11–99 (and numbers ending in 11–99): an accusative singular (عشرون مليارًا).
    AccusativeSingular,
    /// 100, 1,000, … (numbers ending in 00): a genitive singular (مئة مليار).
    GenitiveSingular,
}

impl ArabicCount {
    /// The rule for `n`; it follows the last two digits.
    pub fn of(n: u64) -> ArabicCount {
        match n % 100 {
            0 if n == 0 => ArabicCount::Plural,
            0 => ArabicCount::GenitiveSingular,
            1 | 2 => ArabicCount::SingularOrDual,
            3..=10 => ArabicCount::Plural,
            _ => ArabicCount::AccusativeSingular,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            ArabicCount::SingularOrDual => "a singular or dual noun",
            ArabicCount::Plural => "a plural noun (3–10)",
            ArabicCount::AccusativeSingular => "an accusative singular noun (11–99)",
            ArabicCount::GenitiveSingular => "a genitive singular noun (100 and up)",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognizes_each_kind_in_arabic_and_english() {
        let ar = Lang::Arabic;
        let en = Lang::English;
        assert_eq!(Placeable::of("2023", ar), Some(Placeable::Number));
        assert_eq!(Placeable::of("٢٠٢٣", ar), Some(Placeable::Number));
        assert_eq!(Placeable::of("۱٬۰۰۰", ar), Some(Placeable::Number));
        assert_eq!(Placeable::of("1٢3", ar), None, "mixed digit scripts are no number");
        assert_eq!(Placeable::of("1,000", en), Some(Placeable::Number));
        assert_eq!(Placeable::of("Tencent", ar), Some(Placeable::Latin));
        assert_eq!(Placeable::of("Qwen-7B", ar), Some(Placeable::Latin));
        assert_eq!(Placeable::of("Tencent", en), None, "a Latin word is a plain word in English");
        assert_eq!(Placeable::of("نموذج", ar), None);
        assert_eq!(Placeable::of("https://example.com/a", en), Some(Placeable::Url));
        assert_eq!(Placeable::of("press@tencent.com", ar), Some(Placeable::Email));
        assert_eq!(Placeable::of("@AIatMeta", ar), Some(Placeable::Handle));
        assert_eq!(Placeable::of("%s", en), Some(Placeable::Placeholder));
        assert_eq!(Placeable::of("{0}", ar), Some(Placeable::Placeholder));
        assert_eq!(Placeable::of("$1", en), Some(Placeable::Placeholder));
        assert_eq!(Placeable::of("<b>", en), Some(Placeable::Tag));
    }

    #[test]
    fn reads_numbers_in_every_script_and_style() {
        let value = |w: &str| NumberValue::parse(w).map(|v| v.canonical);
        assert_eq!(value("2023").as_deref(), Some("2023"));
        assert_eq!(value("٢٠٢٣").as_deref(), Some("2023"));
        assert_eq!(value("۲۰۲۳").as_deref(), Some("2023"));
        assert_eq!(value("1,000").as_deref(), Some("1000"));
        assert_eq!(value("1,000,000").as_deref(), Some("1000000"));
        assert_eq!(value("١٬٠٠٠").as_deref(), Some("1000"));
        assert_eq!(value("3.5").as_deref(), Some("3.5"));
        assert_eq!(value("٣٫٥").as_deref(), Some("3.5"));
        assert_eq!(value("1,234.5").as_deref(), Some("1234.5"));
        assert_eq!(value("17.2.1").as_deref(), Some("17.2.1"));
        assert_eq!(value("7B"), None);
    }

    #[test]
    fn renders_a_value_in_the_style_of_another_number() {
        let style = |w: &str| NumberValue::parse(w).unwrap().style;
        assert_eq!(NumberValue::render("1500000", style("1,000")), "1,500,000");
        assert_eq!(NumberValue::render("1500000", style("١٬٠٠٠")), "١٬٥٠٠٬٠٠٠");
        assert_eq!(NumberValue::render("7", style("٥")), "٧");
        assert_eq!(NumberValue::render("4.5", style("٣٫٥")), "٤٫٥");
        assert_eq!(NumberValue::render("4.5", style("3")), "4.5");
        assert_eq!(NumberValue::render("2024", style("2023")), "2024");
    }

    #[test]
    fn arabic_counted_noun_rules_follow_the_last_two_digits() {
        assert_eq!(ArabicCount::of(2), ArabicCount::SingularOrDual);
        assert_eq!(ArabicCount::of(5), ArabicCount::Plural);
        assert_eq!(ArabicCount::of(10), ArabicCount::Plural);
        assert_eq!(ArabicCount::of(11), ArabicCount::AccusativeSingular);
        assert_eq!(ArabicCount::of(99), ArabicCount::AccusativeSingular);
        assert_eq!(ArabicCount::of(100), ArabicCount::GenitiveSingular);
        assert_eq!(ArabicCount::of(1000), ArabicCount::GenitiveSingular);
        assert_eq!(ArabicCount::of(105), ArabicCount::Plural);
        assert_eq!(ArabicCount::of(120), ArabicCount::AccusativeSingular);
    }
}
