//! The benchmark's query mix: queries of several categories (edited stored
//! sentences, unseen real sentences, random corpus words, word-less
//! queries, one number alone, stop words only), in fixed shares, drawn
//! deterministically from the seed, so that `dhakira bench` reports each
//! category's latency apart.

use std::collections::{HashMap, HashSet};

use rand::seq::{IndexedRandom, SliceRandom};
use rand::Rng;
use serde::Serialize;

use super::Workload;
use crate::text::Lang;
use crate::unit::UnitInput;

/// What kind of query a benchmark query is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// A stored sentence with one to three word edits.
    Edited,
    /// A real sentence of a held-out news document, never stored.
    Unseen,
    /// Corpus words thrown together, as many as a stored sentence has.
    Words,
    /// Punctuation or symbols only (`-`, `...`, `(!)`).
    Wordless,
    /// One number alone (`2023`, `3.5%`, `444`).
    Number,
    /// Stop words only (`of the`, `في من`).
    Stopwords,
    /// `--templates`: the news template with new numbers.
    Template,
    /// `--concordance`: one to three consecutive words of a stored unit.
    Phrase,
}

impl Category {
    pub fn name(self) -> &'static str {
        match self {
            Category::Edited => "edited",
            Category::Unseen => "unseen",
            Category::Words => "words",
            Category::Wordless => "wordless",
            Category::Number => "number",
            Category::Stopwords => "stopwords",
            Category::Template => "template",
            Category::Phrase => "phrase",
        }
    }
}

/// One benchmark query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub category: Category,
    pub text: String,
}

impl Query {
    pub fn new(category: Category, text: String) -> Query {
        Query { category, text }
    }
}

/// The mix's shares, in percent (they add up to 100). Without unseen
/// sentences, their share goes to `Edited`.
pub const MIX: [(Category, usize); 6] = [
    (Category::Edited, 50),
    (Category::Unseen, 20),
    (Category::Words, 12),
    (Category::Wordless, 6),
    (Category::Number, 6),
    (Category::Stopwords, 6),
];

/// Word-less queries: punctuation and symbols as a translator's segments
/// hold them alone, Arabic ones included. Half the word-less queries are
/// taken from here, the other half are one to four of [`SYMBOLS`] drawn
/// at random.
const WORDLESS: [&str; 20] =
    ["-", "...", "!", "&&", "(!)", "—", "***", "?", "؟", "…", "--", "//", "#", "*", "!!", ":", "«»", "،", "•", "+"];

const SYMBOLS: [char; 22] =
    ['-', '.', '!', '&', '(', ')', '—', '*', '?', '؟', '…', '/', '#', ':', '«', '»', '،', '•', '+', '=', '%', '$'];

/// How many of the corpus side's most frequent words are its stop words:
/// the code has no stop-word list, and the most frequent words of a
/// language are its function words (`the`, `of`, `and`; `في`, `من`, `على`).
pub const STOPWORDS: usize = 20;

impl Workload {
    /// `n` queries in `lang`, in the shares of [`MIX`], their order shuffled:
    /// edits of `units` (the memory), `unseen` sentences (never stored: see
    /// [`unseen_queries`]; used in turn, in an order drawn from the seed),
    /// random corpus words, word-less queries, one number alone, and one to
    /// four of the corpus side's [`STOPWORDS`] most frequent words.
    /// Deterministic for the workload's seed.
    pub fn mix(&mut self, units: &[UnitInput], unseen: &[String], n: usize, lang: Lang) -> Vec<Query> {
        let mut categories = Vec::with_capacity(n);
        for (category, share) in MIX {
            let count = if category == Category::Unseen && unseen.is_empty() { 0 } else { n * share / 100 };
            categories.extend(std::iter::repeat_n(category, count));
        }
        categories.resize(n, Category::Edited);
        categories.shuffle(&mut self.rng);
        let mut order: Vec<usize> = (0..unseen.len()).collect();
        order.shuffle(&mut self.rng);
        let mut next_unseen = order.iter().cycle();
        let stopwords = self.stopwords(lang);
        categories
            .into_iter()
            .map(|category| {
                let text = match category {
                    Category::Unseen => unseen[*next_unseen.next().expect("unseen sentences")].clone(),
                    Category::Wordless => self.wordless(),
                    Category::Number => self.number(lang),
                    Category::Stopwords => {
                        let len = self.rng.random_range(1..=4);
                        (0..len)
                            .map(|_| stopwords.choose(&mut self.rng).expect("stop words").as_str())
                            .collect::<Vec<_>>()
                            .join(" ")
                    }
                    _ => self.edited_or_words(units, lang, category == Category::Edited),
                };
                Query::new(category, text)
            })
            .collect()
    }

    /// A random stored sentence with one to three word edits, or
    /// (`edited` false) as many corpus words as it has, thrown together.
    fn edited_or_words(&mut self, units: &[UnitInput], lang: Lang, edited: bool) -> String {
        let source = units.choose(&mut self.rng).expect("units to query");
        let text = if lang == Lang::Arabic { &source.arabic } else { &source.english };
        self.edit_or_scatter(text, lang, edited)
    }

    /// The [`STOPWORDS`] most frequent words (letters only, English
    /// lower-cased) of the corpus side `lang`, the most frequent first
    /// (ties by the word).
    pub fn stopwords(&self, lang: Lang) -> Vec<String> {
        let mut counts: HashMap<String, usize> = HashMap::new();
        for (ar, en) in &self.pairs {
            let text = if lang == Lang::Arabic { ar } else { en };
            for word in text.split_whitespace() {
                if word.chars().all(char::is_alphabetic) {
                    *counts.entry(word.to_lowercase()).or_default() += 1;
                }
            }
        }
        let mut counts: Vec<(String, usize)> = counts.into_iter().collect();
        counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        counts.into_iter().take(STOPWORDS).map(|(word, _)| word).collect()
    }

    fn wordless(&mut self) -> String {
        if self.rng.random_bool(0.5) {
            return (*WORDLESS.choose(&mut self.rng).expect("word-less queries")).to_owned();
        }
        let len = self.rng.random_range(1..=4);
        (0..len).map(|_| *SYMBOLS.choose(&mut self.rng).expect("symbols")).collect()
    }

    /// One number: a year, a count, a decimal, a percentage or a figure
    /// with a thousands separator; in Arabic, a quarter of them in
    /// Arabic-Indic digits.
    fn number(&mut self, lang: Lang) -> String {
        let rng = &mut self.rng;
        let text = match rng.random_range(0..5) {
            0 => rng.random_range(1950..=2030).to_string(),
            1 => rng.random_range(1..1_000).to_string(),
            2 => format!("{}.{}", rng.random_range(0..100), rng.random_range(1..10)),
            3 if rng.random_bool(0.5) => format!("{}%", rng.random_range(1..100)),
            3 => format!("{}.{}%", rng.random_range(0..10), rng.random_range(1..10)),
            _ => format!("{},{:03}", rng.random_range(1..1_000), rng.random_range(0..1_000)),
        };
        if lang == Lang::Arabic && rng.random_bool(0.25) {
            text.chars()
                .map(|c| c.to_digit(10).map_or(c, |d| char::from_u32(0x0660 + d).expect("an Arabic-Indic digit")))
                .collect()
        } else {
            text
        }
    }
}

/// The side `lang` of `pairs` (held-out sentences, see
/// [`super::document_split`]) that no unit of `units` stores on that side,
/// each once, in order: the `Unseen` queries. A sentence can occur in
/// both halves of the split (a short one repeated in two documents), or a
/// grown unit can happen to equal it; those are left out.
pub fn unseen_queries(pairs: &[(String, String)], units: &[UnitInput], lang: Lang) -> Vec<String> {
    let side = |pair: &(String, String)| if lang == Lang::Arabic { pair.0.clone() } else { pair.1.clone() };
    let mut left: HashSet<String> = pairs.iter().map(side).collect();
    for unit in units {
        left.remove(if lang == Lang::Arabic { &unit.arabic } else { &unit.english });
    }
    let mut seen = HashSet::new();
    pairs.iter().map(side).filter(|text| left.contains(text) && seen.insert(text.clone())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::{corpus_dir, document_split};

    /// The bench's memory and mix as `dhakira bench` makes them: the memory
    /// grown from the split's memory pairs only, the unseen sentences
    /// filtered against it.
    fn mix(seed: u64, lang: Lang) -> (Vec<UnitInput>, Vec<Query>) {
        let split = document_split(&corpus_dir()).unwrap();
        let mut workload = Workload::new(split.memory, seed);
        let units = workload.units(50_000);
        let unseen = unseen_queries(&split.unseen, &units, lang);
        let queries = workload.mix(&units, &unseen, 1_000, lang);
        (units, queries)
    }

    #[test]
    fn the_query_mix_is_deterministic_per_seed_and_holds_every_category() {
        for lang in [Lang::Arabic, Lang::English] {
            let (units, a) = mix(5, lang);
            let (_, b) = mix(5, lang);
            let (_, c) = mix(6, lang);
            assert_eq!(a, b, "the same seed gives the same mix");
            assert_ne!(a, c, "another seed gives another mix");
            assert_eq!(a.len(), 1_000);
            for (category, share) in MIX {
                let count = a.iter().filter(|q| q.category == category).count();
                assert_eq!(count, 1_000 * share / 100, "{category:?}");
            }
            // Unseen sentences are never stored, on the query's side.
            let stored: HashSet<&str> = units
                .iter()
                .map(|u| if lang == Lang::Arabic { u.arabic.as_str() } else { u.english.as_str() })
                .collect();
            for query in a.iter().filter(|q| q.category == Category::Unseen) {
                assert!(!stored.contains(query.text.as_str()), "stored: {}", query.text);
            }
            let distinct: HashSet<&str> =
                a.iter().filter(|q| q.category == Category::Unseen).map(|q| q.text.as_str()).collect();
            assert_eq!(distinct.len(), 200, "2,000 unseen sentences: none repeated in 200 queries");
            // The short categories look as they should.
            for query in &a {
                let letters = query.text.chars().filter(|c| c.is_alphabetic()).count();
                let digits = query.text.chars().filter(|c| c.is_numeric()).count();
                match query.category {
                    Category::Wordless => assert_eq!(letters + digits, 0, "{}", query.text),
                    Category::Number => {
                        assert!(letters == 0 && digits > 0 && !query.text.contains(' '), "{}", query.text)
                    }
                    Category::Stopwords => {
                        assert!(digits == 0 && (1..=4).contains(&query.text.split(' ').count()), "{}", query.text)
                    }
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn stop_words_are_the_most_frequent_function_words() {
        let split = document_split(&corpus_dir()).unwrap();
        let workload = Workload::new(split.memory, 1);
        let en = workload.stopwords(Lang::English);
        assert_eq!(en.len(), STOPWORDS);
        for word in ["the", "of", "and", "to", "in"] {
            assert!(en.iter().any(|w| w == word), "{word} not in {en:?}");
        }
        let ar = workload.stopwords(Lang::Arabic);
        for word in ["في", "من", "على", "إلى"] {
            assert!(ar.iter().any(|w| w == word), "{word} not in {ar:?}");
        }
    }
}
