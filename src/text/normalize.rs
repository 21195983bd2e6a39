//! Folding the many spellings of one Arabic or English word into one key.
//!
//! Each rule is one [`Difference`] kind: when two texts have the same words
//! only after folding, the kinds that were needed are the named penalties of
//! their match.

use unicode_normalization::{IsNormalized, UnicodeNormalization};

use super::{split, strip_invisible};

/// A kind of spelling difference that normalization folds away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Difference {
    /// Bidi and zero-width controls (U+200B–U+200F, U+202A–U+202E,
    /// U+2066–U+2069, U+061C, U+FEFF, soft hyphen).
    Invisible,
    /// Presentation forms, ligatures, full-width letters (NFKC).
    Compatibility,
    /// Tashkeel (U+064B–U+065F and Quranic marks), superscript alef, tatweel,
    /// and combining accents.
    Diacritics,
    /// أ إ آ ٱ → ا, ى → ي, ؤ → و, ئ → ي.
    AlefHamza,
    /// ة → ه.
    TaMarbuta,
    /// Arabic-Indic (٠–٩) and Persian (۰–۹) digits → 0–9; ٫ ٬ inside numbers.
    DigitScript,
    /// Upper and lower case.
    Case,
    /// Punctuation and symbols between words (، ؛ ؟ included).
    Punctuation,
    /// Spaces between words.
    Whitespace,
}

impl Difference {
    /// Every kind, in the order they are reported.
    pub const ALL: [Difference; 9] = [
        Difference::Invisible,
        Difference::Compatibility,
        Difference::Diacritics,
        Difference::AlefHamza,
        Difference::TaMarbuta,
        Difference::DigitScript,
        Difference::Case,
        Difference::Punctuation,
        Difference::Whitespace,
    ];

    /// The stable machine name clients see.
    pub fn name(self) -> &'static str {
        match self {
            Difference::Invisible => "invisible_controls",
            Difference::Compatibility => "compatibility_forms",
            Difference::Diacritics => "diacritics",
            Difference::AlefHamza => "alef_hamza",
            Difference::TaMarbuta => "ta_marbuta",
            Difference::DigitScript => "digit_script",
            Difference::Case => "case",
            Difference::Punctuation => "punctuation",
            Difference::Whitespace => "whitespace",
        }
    }

    /// A sentence for the translator.
    pub fn reason(self) -> &'static str {
        match self {
            Difference::Invisible => "differs in invisible bidi or zero-width characters",
            Difference::Compatibility => "differs in presentation forms or ligatures",
            Difference::Diacritics => "differs in diacritics (tashkeel) or tatweel",
            Difference::AlefHamza => "differs in alef, hamza or alef maqsura forms",
            Difference::TaMarbuta => "differs in ta marbuta (ة/ه)",
            Difference::DigitScript => "differs in digit script (Arabic-Indic or Western)",
            Difference::Case => "differs in upper/lower case",
            Difference::Punctuation => "differs in punctuation",
            Difference::Whitespace => "differs in spacing",
        }
    }
}

/// Which folding rules to apply to a word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Folds {
    pub compatibility: bool,
    pub diacritics: bool,
    pub alef_hamza: bool,
    pub ta_marbuta: bool,
    pub digit_script: bool,
    pub case: bool,
}

impl Folds {
    /// Every rule: the matching key.
    pub const ALL: Folds = Folds {
        compatibility: true,
        diacritics: true,
        alef_hamza: true,
        ta_marbuta: true,
        digit_script: true,
        case: true,
    };

    /// Every rule but the one for `kind` (rules that are not word rules are
    /// ignored).
    fn all_but(kind: Difference) -> Folds {
        let mut folds = Folds::ALL;
        match kind {
            Difference::Compatibility => folds.compatibility = false,
            Difference::Diacritics => folds.diacritics = false,
            Difference::AlefHamza => folds.alef_hamza = false,
            Difference::TaMarbuta => folds.ta_marbuta = false,
            Difference::DigitScript => folds.digit_script = false,
            Difference::Case => folds.case = false,
            Difference::Invisible | Difference::Punctuation | Difference::Whitespace => {}
        }
        folds
    }
}

/// True for bidi and zero-width controls, which never change what a reader sees
/// in the words.
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2069}'
        | '\u{061C}'
        | '\u{FEFF}'
        | '\u{00AD}')
}

fn is_diacritic(c: char) -> bool {
    matches!(c,
        '\u{0610}'..='\u{061A}'
        | '\u{064B}'..='\u{065F}'
        | '\u{0670}'
        | '\u{06D6}'..='\u{06DC}'
        | '\u{06DF}'..='\u{06E8}'
        | '\u{06EA}'..='\u{06ED}'
        | '\u{0640}')
        || ('\u{0300}'..='\u{036F}').contains(&c)
}

/// Folds one word with the given rules.
pub fn fold_word(word: &str, folds: Folds) -> String {
    fold_word_with(word, folds, true)
}

/// [`fold_word`]; with `quick`, a word that is already in NFKC (every ASCII
/// word, and most others by Unicode's quick check, a table lookup per
/// character) skips the NFKC iterator, which decomposes and recomposes each
/// character and was a tenth of the CPU of building an index.
fn fold_word_with(word: &str, folds: Folds, quick: bool) -> String {
    let mut out = String::with_capacity(word.len());
    let mut push = |c: char| {
        if folds.case {
            match c {
                // The Arabic block has no case: skip the tables' search.
                '\0'..='\x7f' => out.push(c.to_ascii_lowercase()),
                '\u{0600}'..='\u{06FF}' => out.push(c),
                _ => out.extend(c.to_lowercase()),
            }
        } else {
            out.push(c);
        }
    };
    let mut fold = |c: char| {
        let c = match c {
            'أ' | 'إ' | 'آ' | 'ٱ' if folds.alef_hamza => 'ا',
            'ى' | 'ئ' if folds.alef_hamza => 'ي',
            'ؤ' if folds.alef_hamza => 'و',
            'ة' if folds.ta_marbuta => 'ه',
            '\u{0660}'..='\u{0669}' if folds.digit_script => char::from(b'0' + (c as u32 - 0x0660) as u8),
            '\u{06F0}'..='\u{06F9}' if folds.digit_script => char::from(b'0' + (c as u32 - 0x06F0) as u8),
            '\u{066B}' if folds.digit_script => '.',
            '\u{066C}' | '\u{060C}' if folds.digit_script => ',',
            c => c,
        };
        if !folds.diacritics {
            push(c);
        } else if is_diacritic(c) {
        } else if ('\u{0600}'..='\u{06FF}').contains(&c) || c.is_ascii() {
            // Arabic letters keep their hamza here: that is the alef_hamza rule's job.
            push(c);
        } else {
            // Latin and other accents: decompose and drop the marks.
            unicode_normalization::char::decompose_canonical(c, |d| {
                if !is_diacritic(d) {
                    push(d);
                }
            });
        }
    };
    let in_nfkc = || word.is_ascii() || unicode_normalization::is_nfkc_quick(word.chars()) == IsNormalized::Yes;
    if folds.compatibility && !(quick && in_nfkc()) {
        word.nfkc().for_each(&mut fold);
    } else {
        word.chars().for_each(&mut fold);
    }
    out
}

/// The kinds of difference between two texts whose normalized words are
/// equal. Empty when the texts are identical; a difference that no kind
/// explains (an invisible control moved elsewhere) yields no kind either, and
/// the caller decides what that costs.
pub fn differences(a: &str, b: &str) -> Vec<Difference> {
    if a == b {
        return Vec::new();
    }
    Difference::ALL.into_iter().filter(|&kind| canonical(a, kind) != canonical(b, kind)).collect()
}

/// The text reduced to what `kind` can see: every folding rule except
/// `kind`'s is applied, so two texts with equal words differ here only if they
/// differ in `kind`.
fn canonical(text: &str, kind: Difference) -> String {
    if kind == Difference::Invisible {
        return text.chars().filter(|&c| is_invisible(c)).collect();
    }
    let visible = strip_invisible(text);
    let parts = split(&visible);
    let folds = Folds::all_but(kind);
    let mut out = String::new();
    for (i, word) in parts.words.iter().enumerate() {
        push_gap(&mut out, parts.gaps[i], kind);
        out.push_str(&fold_word(word, folds));
        out.push('\u{1}');
    }
    push_gap(&mut out, parts.gaps[parts.words.len()], kind);
    out
}

fn push_gap(out: &mut String, gap: &str, kind: Difference) {
    match kind {
        Difference::Punctuation => out.extend(gap.chars().filter(|c| !c.is_whitespace())),
        Difference::Whitespace => out.extend(gap.chars().filter(|c| c.is_whitespace())),
        _ => {}
    }
    out.push('\u{1}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::words;

    #[test]
    fn the_ranges_lowercased_without_the_tables_lowercase_as_the_tables_do() {
        for c in ('\0'..='\x7f').chain('\u{0600}'..='\u{06FF}') {
            let tables: String = c.to_lowercase().collect();
            let fast = if c.is_ascii() { c.to_ascii_lowercase() } else { c };
            assert_eq!(tables, fast.to_string(), "U+{:04X}", c as u32);
        }
    }

    /// The quick check's shortcut changes nothing: every word of the corpus
    /// (both languages), and words built to need NFKC (presentation forms,
    /// ligatures, full-width letters, decomposed accents, marks in
    /// non-canonical order), fold as through the NFKC iterator, under every
    /// set of rules.
    #[test]
    fn the_nfkc_quick_check_folds_every_corpus_word_as_the_full_normalization_does() {
        let dir = crate::test_corpus::corpus_dir();
        let mut words: Vec<String> = [
            "\u{FEFB}",
            "\u{FB01}le",
            "\u{FF21}I",
            "e\u{0301}te\u{0301}",
            "\u{0628}\u{0651}\u{064E}",
            "\u{0628}\u{064E}\u{0651}",
            "\u{FDF2}",
            "\u{0627}\u{0653}",
            "\u{2460}",
            "x\u{00B2}",
        ]
        .map(String::from)
        .to_vec();
        for file in ["ntrex128.tsv", "flores200_devtest.tsv", "un_v1_testsets.tsv", "l10n_django.tsv"] {
            for (arabic, english) in crate::test_corpus::read_pairs(&dir.join(file)).unwrap() {
                for text in [arabic, english] {
                    words.extend(split(&strip_invisible(&text)).words.iter().map(|w| w.to_string()));
                }
            }
        }
        assert!(words.len() > 200_000, "{} words", words.len());
        let mut checked_slow = 0;
        for word in &words {
            for folds in [Folds::ALL, Folds::all_but(Difference::Diacritics), Folds::all_but(Difference::Case)] {
                assert_eq!(fold_word_with(word, folds, true), fold_word_with(word, folds, false), "{word:?}");
            }
            checked_slow += usize::from(!word.is_ascii() && !unicode_normalization::is_nfkc(word));
        }
        assert!(checked_slow >= 5, "words that need NFKC: {checked_slow}");
    }

    #[test]
    fn folds_alef_forms_ya_ta_marbuta_and_hamza_seats() {
        assert_eq!(fold_word("أإآٱ", Folds::ALL), "اااا");
        assert_eq!(fold_word("على", Folds::ALL), "علي");
        assert_eq!(fold_word("الشركة", Folds::ALL), "الشركه");
        assert_eq!(fold_word("مسؤول", Folds::ALL), "مسوول");
        assert_eq!(fold_word("رئيس", Folds::ALL), "رييس");
    }

    #[test]
    fn strips_tashkeel_superscript_alef_and_tatweel() {
        assert_eq!(fold_word("كَشَفَتْ", Folds::ALL), "كشفت");
        assert_eq!(fold_word("هٰذا", Folds::ALL), "هذا");
        assert_eq!(fold_word("نمـــوذج", Folds::ALL), "نموذج");
    }

    #[test]
    fn folds_arabic_indic_and_persian_digits() {
        assert_eq!(fold_word("٢٠٢٣", Folds::ALL), "2023");
        assert_eq!(fold_word("۲۰۲۳", Folds::ALL), "2023");
        assert_eq!(fold_word("٣٫٥", Folds::ALL), "3.5");
    }

    #[test]
    fn folds_presentation_forms_case_and_latin_accents() {
        // ﻻ (U+FEFB) is the lam-alef ligature.
        assert_eq!(fold_word("\u{FEFB}", Folds::ALL), "لا");
        assert_eq!(fold_word("Qwen-7B", Folds::ALL), "qwen-7b");
        assert_eq!(fold_word("Café", Folds::ALL), "cafe");
    }

    #[test]
    fn invisible_controls_never_reach_the_key() {
        assert_eq!(words("\u{200F}كشفت\u{200E} Tencent\u{2069}"), ["كشفت", "tencent"]);
    }

    #[test]
    fn names_each_kind_of_difference() {
        let cases: &[(&str, &str, &[Difference])] = &[
            ("كَتَبَ الولد", "كتب الولد", &[Difference::Diacritics]),
            ("أعلنت الشركة", "اعلنت الشركة", &[Difference::AlefHamza]),
            ("الشركة", "الشركه", &[Difference::TaMarbuta]),
            ("عام ٢٠٢٣", "عام 2023", &[Difference::DigitScript]),
            ("Meta released Llama", "meta released llama", &[Difference::Case]),
            ("هل أنت هنا؟", "هل أنت هنا", &[Difference::Punctuation]),
            ("hello  world", "hello world", &[Difference::Whitespace]),
            ("\u{200F}مرحبا", "مرحبا", &[Difference::Invisible]),
            ("\u{FEFB}", "لا", &[Difference::Compatibility]),
            (
                "أعلنَت الشركة، اليوم",
                "اعلنت الشركه اليوم",
                &[Difference::Diacritics, Difference::AlefHamza, Difference::TaMarbuta, Difference::Punctuation],
            ),
        ];
        for (a, b, expected) in cases {
            assert_eq!(words(a), words(b), "{a} / {b}");
            assert_eq!(&differences(a, b), expected, "{a} / {b}");
        }
        assert!(differences("same", "same").is_empty());
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;
    use crate::text::{tokens, words, Lang};

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Folding is idempotent: a folded word folds to itself.
        #[test]
        fn folding_twice_changes_nothing(word in "[\\PC]{0,12}", arabic in "[ء-ي\u{064B}-\u{0652}\u{0640}\u{0670}ٱأإآىةؤئ٠-٩۰-۹]{0,12}") {
            for w in [word, arabic] {
                let once = fold_word(&w, Folds::ALL);
                prop_assert_eq!(fold_word(&once, Folds::ALL), once.clone(), "{:?}", w);
            }
        }

        /// The words of a text are the surfaces of its tokens, in both
        /// languages.
        #[test]
        fn words_are_the_token_surfaces(text in "[\\PC]{0,40}") {
            let surfaces = |lang| tokens(&text, lang).into_iter().map(|t| t.surface).collect::<Vec<_>>();
            prop_assert_eq!(surfaces(Lang::Arabic), words(&text));
            prop_assert_eq!(surfaces(Lang::English), words(&text));
        }
    }
}
