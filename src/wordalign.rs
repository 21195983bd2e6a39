//! Word alignment of stored units: which Arabic words of a unit translate
//! which English words (see ARCHITECTURE.md, "Fragments inside units").
//!
//! The model is trained on the memory itself, without supervision: a
//! lexical translation table in both directions learned by expectation
//! maximization with a diagonal prior (IBM Model 2 as reparameterized by
//! Dyer, Chahuneau and Smith, "A Simple, Fast, and Effective
//! Reparameterization of IBM Model 2", NAACL 2013, with its tension fixed).
//! Words are taken by their keys: Arabic light stems with the clitics
//! split off, English stems, and placeables by their normalized value, so
//! that `2023`, `Tencent` or `%s` align with themselves. A unit's alignment
//! is the links the Viterbi alignments of both directions agree on, plus
//! a link between every placeable and the same value on the other side.
//!
//! A [`Links`] turns a span of one side into the span of the other that
//! translates it ([`Links::phrase`]): the smallest span covering the
//! linked words, refused when a word in it is linked outside the span
//! (the consistency rule of phrase extraction) or when more than
//! [`MAX_UNLINKED_INSIDE`] of its words are linked to nothing in the span.

use std::ops::Range;

/// Hash maps with a fixed seed: training visits them in order, so the
/// same memory gives the same model (float sums depend on the order).
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;

use crate::text::Lang;

/// Expectation-maximization rounds.
pub const ITERATIONS: usize = 10;
/// Probability of aligning a word to nothing.
const NULL_PROBABILITY: f32 = 0.2;
/// How strongly alignments keep to the diagonal, kept fixed: much weaker
/// than fast_align's starting 4, since Arabic (verb first) and English
/// orders differ. Tension, null probability and rounds were chosen with
/// `dhakira fragment-recall` (README.md, "Fragments inside units").
const TENSION: f32 = 0.5;
/// Units with more words than this on a side are not trained on (their
/// alignments are still computed).
pub const MAX_TRAINING_WORDS: usize = 80;
/// Table entries whose probabilities both stay below this after training
/// are dropped.
const PRUNE_BELOW: f32 = 0.005;
/// A phrase may hold at most this many words of the other side that no
/// word of the span is linked to (between linked ones).
pub const MAX_UNLINKED_INSIDE: usize = 1;
/// Words beyond this position of a side get no link (a link keeps
/// positions in one byte).
pub const MAX_LINKED_WORDS: usize = 255;

/// One word of a side: its normalized surface and its key (a placeable's
/// key is its kind, starting with `\0`).
#[derive(Debug, Clone, Copy)]
pub struct Word<'a> {
    pub surface: &'a str,
    pub key: &'a str,
}

impl Word<'_> {
    fn is_placeable(&self) -> bool {
        self.key.starts_with('\0')
    }

    /// What the model knows the word by: placeables by value, other words
    /// by key.
    fn name(&self) -> &str {
        if self.is_placeable() {
            self.surface
        } else {
            self.key
        }
    }
}

/// The lexical translation table.
#[derive(Debug, Default)]
pub struct Model {
    arabic: HashMap<Box<str>, u32>,
    english: HashMap<Box<str>, u32>,
    /// (Arabic id << 32 | English id) → [p(English | Arabic), p(Arabic | English)].
    table: HashMap<u64, [f32; 2]>,
    /// p(English word | nothing), by English id; p(Arabic word | nothing).
    null_english: Vec<f32>,
    null_arabic: Vec<f32>,
    /// Units it was trained on.
    pub trained_units: usize,
}

/// The training data: each unit's words as vocabulary ids.
#[derive(Debug, Default)]
pub struct Corpus {
    arabic: HashMap<Box<str>, u32>,
    english: HashMap<Box<str>, u32>,
    /// Per unit: (start in `words`, Arabic words, English words).
    units: Vec<(u32, u8, u8)>,
    words: Vec<u32>,
}

impl Corpus {
    /// Adds a unit (left out when a side is empty or longer than
    /// [`MAX_TRAINING_WORDS`]).
    pub fn push<'a>(
        &mut self,
        arabic: impl IntoIterator<Item = Word<'a>>,
        english: impl IntoIterator<Item = Word<'a>>,
    ) {
        let start = self.words.len();
        for word in arabic {
            let id = intern(&mut self.arabic, word.name());
            self.words.push(id);
        }
        let ar = self.words.len() - start;
        for word in english {
            let id = intern(&mut self.english, word.name());
            self.words.push(id);
        }
        let en = self.words.len() - start - ar;
        if ar == 0 || en == 0 || ar > MAX_TRAINING_WORDS || en > MAX_TRAINING_WORDS {
            self.words.truncate(start);
            return;
        }
        self.units.push((start as u32, ar as u8, en as u8));
    }

    pub fn len(&self) -> usize {
        self.units.len()
    }

    pub fn is_empty(&self) -> bool {
        self.units.is_empty()
    }

    fn unit(&self, i: usize) -> (&[u32], &[u32]) {
        let (start, ar, en) = self.units[i];
        let start = start as usize;
        let middle = start + ar as usize;
        (&self.words[start..middle], &self.words[middle..middle + en as usize])
    }
}

/// The id of `name`, the next one when it is new.
fn intern(vocabulary: &mut HashMap<Box<str>, u32>, name: &str) -> u32 {
    if let Some(&id) = vocabulary.get(name) {
        return id;
    }
    let id = vocabulary.len() as u32;
    vocabulary.insert(name.into(), id);
    id
}

fn pair(ar: u32, en: u32) -> u64 {
    u64::from(ar) << 32 | u64::from(en)
}

/// The diagonal prior's weights of source positions `0..m` for target
/// position `j` of `n`, normalized, into `out`.
fn diagonal(j: usize, n: usize, m: usize, out: &mut Vec<f32>) {
    out.clear();
    let at = (j as f32 + 0.5) / n as f32;
    out.extend((0..m).map(|i| (-TENSION * ((i as f32 + 0.5) / m as f32 - at).abs()).exp()));
    let sum: f32 = out.iter().sum();
    out.iter_mut().for_each(|w| *w *= (1.0 - NULL_PROBABILITY) / sum);
}

/// One direction of an expectation round (see [`Model::train`]): the
/// words of one side generated from the other's.
struct Direction<'a> {
    /// Which probability of a table entry it uses: 0 for p(English |
    /// Arabic), 1 for p(Arabic | English).
    side: usize,
    /// p(word | nothing) of the generated side's words.
    null: &'a [f32],
    /// The expected counts of nothing generating each word.
    null_counts: Vec<f32>,
    prior: Vec<f32>,
    column: Vec<f32>,
}

impl<'a> Direction<'a> {
    fn new(side: usize, null: &'a [f32]) -> Direction<'a> {
        Direction { side, null, null_counts: vec![0.0; null.len()], prior: Vec::new(), column: Vec::new() }
    }

    /// Adds one unit's expected counts: for each generated word `to[j]`,
    /// the posterior of each of the other side's `m` words (table entry
    /// `cell(i, j)`) and of nothing.
    fn expect(
        &mut self,
        to: &[u32],
        m: usize,
        cell: impl Fn(usize, usize) -> usize,
        probabilities: &[[f32; 2]],
        counts: &mut [[f32; 2]],
    ) {
        for (j, &word) in to.iter().enumerate() {
            diagonal(j, to.len(), m, &mut self.prior);
            self.column.clear();
            self.column.extend((0..m).map(|i| self.prior[i] * probabilities[cell(i, j)][self.side]));
            let null = NULL_PROBABILITY * self.null[word as usize];
            let sum = null + self.column.iter().sum::<f32>();
            if sum <= 0.0 {
                continue;
            }
            self.null_counts[word as usize] += null / sum;
            for i in 0..m {
                counts[cell(i, j)][self.side] += self.column[i] / sum;
            }
        }
    }
}

/// The Viterbi links of one direction, as (source word, generated word):
/// for each of the `n` generated words, the one of the `m` source words
/// with the highest prior × `probability(i, j)`, unless nothing
/// (`null(j)`) is as likely.
fn viterbi(
    n: usize,
    m: usize,
    probability: impl Fn(usize, usize) -> f32,
    null: impl Fn(usize) -> f32,
) -> Vec<(usize, usize)> {
    let mut prior = Vec::new();
    let mut links = Vec::new();
    for j in 0..n {
        diagonal(j, n, m, &mut prior);
        let best = (0..m).map(|i| (i, prior[i] * probability(i, j))).max_by(|x, y| x.1.total_cmp(&y.1));
        if let Some((i, _)) = best.filter(|&(_, p)| p > NULL_PROBABILITY * null(j) && p > 0.0) {
            links.push((i, j));
        }
    }
    links
}

impl Model {
    /// Trains the table on `corpus`, [`ITERATIONS`] rounds in both
    /// directions at once. `stop` is asked between rounds and every few
    /// thousand units: when it says so, training ends with `None`.
    pub fn train(corpus: Corpus, stop: &dyn Fn() -> bool) -> Option<Model> {
        // Every pair of words that meet in a unit gets an entry.
        let mut entries: HashMap<u64, u32> = HashMap::default();
        for i in 0..corpus.len() {
            if i % 4096 == 0 && stop() {
                return None;
            }
            let (ar, en) = corpus.unit(i);
            for &a in ar {
                for &e in en {
                    let next = entries.len() as u32;
                    entries.entry(pair(a, e)).or_insert(next);
                }
            }
        }
        let (vocab_ar, vocab_en) = (corpus.arabic.len(), corpus.english.len());
        // [p(e|a), p(a|e)], uniform to begin with.
        let mut probabilities = vec![[1.0 / vocab_en.max(1) as f32, 1.0 / vocab_ar.max(1) as f32]; entries.len()];
        let mut null_english = vec![1.0 / vocab_en.max(1) as f32; vocab_en];
        let mut null_arabic = vec![1.0 / vocab_ar.max(1) as f32; vocab_ar];
        let mut counts = vec![[0f32; 2]; entries.len()];
        let mut cells: Vec<u32> = Vec::new();
        for _ in 0..ITERATIONS {
            if stop() {
                return None;
            }
            counts.iter_mut().for_each(|c| *c = [0.0; 2]);
            let mut english_from_arabic = Direction::new(0, &null_english);
            let mut arabic_from_english = Direction::new(1, &null_arabic);
            for u in 0..corpus.len() {
                if u % 4096 == 0 && stop() {
                    return None;
                }
                let (ar, en) = corpus.unit(u);
                let n = en.len();
                cells.clear();
                cells.extend(ar.iter().flat_map(|&a| en.iter().map(move |&e| pair(a, e))).map(|p| entries[&p]));
                let cells = &cells;
                english_from_arabic.expect(en, ar.len(), |i, j| cells[i * n + j] as usize, &probabilities, &mut counts);
                arabic_from_english.expect(ar, n, |j, i| cells[i * n + j] as usize, &probabilities, &mut counts);
            }
            let (null_counts_en, null_counts_ar) = (english_from_arabic.null_counts, arabic_from_english.null_counts);
            // Normalize: p(e|a) over e for each a, p(a|e) over a for each e.
            let mut total_ar = vec![0f32; vocab_ar];
            let mut total_en = vec![0f32; vocab_en];
            for (&key, &index) in &entries {
                let c = counts[index as usize];
                total_ar[(key >> 32) as usize] += c[0];
                total_en[(key & 0xffff_ffff) as usize] += c[1];
            }
            for (&key, &index) in &entries {
                let c = counts[index as usize];
                let (ta, te) = (total_ar[(key >> 32) as usize], total_en[(key & 0xffff_ffff) as usize]);
                probabilities[index as usize] =
                    [if ta > 0.0 { c[0] / ta } else { 0.0 }, if te > 0.0 { c[1] / te } else { 0.0 }];
            }
            let normalize = |counts: Vec<f32>| {
                let sum: f32 = counts.iter().sum();
                counts.into_iter().map(|c| if sum > 0.0 { c / sum } else { 0.0 }).collect::<Vec<f32>>()
            };
            null_english = normalize(null_counts_en);
            null_arabic = normalize(null_counts_ar);
        }
        let table = entries
            .into_iter()
            .map(|(key, index)| (key, probabilities[index as usize]))
            .filter(|(_, [p, q])| *p >= PRUNE_BELOW || *q >= PRUNE_BELOW)
            .collect();
        Some(Model {
            arabic: corpus.arabic,
            english: corpus.english,
            table,
            null_english,
            null_arabic,
            trained_units: corpus.units.len(),
        })
    }

    /// Entries of the table.
    pub fn entries(&self) -> usize {
        self.table.len()
    }

    /// [p(English | Arabic), p(Arabic | English)] of two words.
    pub fn probabilities(&self, arabic: &str, english: &str) -> [f32; 2] {
        match (self.arabic.get(arabic), self.english.get(english)) {
            (Some(&a), Some(&e)) => self.table.get(&pair(a, e)).copied().unwrap_or_default(),
            _ => [0.0; 2],
        }
    }

    /// The alignment of one unit's words.
    pub fn align(&self, arabic: &[Word<'_>], english: &[Word<'_>]) -> Links {
        let arabic = &arabic[..arabic.len().min(MAX_LINKED_WORDS)];
        let english = &english[..english.len().min(MAX_LINKED_WORDS)];
        let (m, n) = (arabic.len(), english.len());
        if m == 0 || n == 0 {
            return Links::default();
        }
        let ar: Vec<Option<u32>> = arabic.iter().map(|w| self.arabic.get(w.name()).copied()).collect();
        let en: Vec<Option<u32>> = english.iter().map(|w| self.english.get(w.name()).copied()).collect();
        let mut table = vec![[0f32; 2]; m * n];
        for i in 0..m {
            for j in 0..n {
                if let (Some(a), Some(e)) = (ar[i], en[j]) {
                    table[i * n + j] = self.table.get(&pair(a, e)).copied().unwrap_or_default();
                }
            }
        }
        // Viterbi links of each direction, as (Arabic, English) positions.
        let english_from_arabic =
            viterbi(n, m, |i, j| table[i * n + j][0], |j| en[j].map_or(0.0, |e| self.null_english[e as usize]));
        let arabic_from_english: Vec<(usize, usize)> =
            viterbi(m, n, |j, i| table[i * n + j][1], |i| ar[i].map_or(0.0, |a| self.null_arabic[a as usize]))
                .into_iter()
                .map(|(j, i)| (i, j))
                .collect();
        let mut links = symmetrize(&english_from_arabic, &arabic_from_english);
        // Placeables align by value.
        for (i, a) in arabic.iter().enumerate() {
            for (j, e) in english.iter().enumerate() {
                if (a.is_placeable() || e.is_placeable()) && a.surface == e.surface {
                    links.push((i, j));
                }
            }
        }
        links.sort_unstable();
        links.dedup();
        Links {
            links: links
                .into_iter()
                .map(|(i, j)| {
                    let value = arabic[i].surface == english[j].surface;
                    let p = if value { 1.0 } else { table[i * n + j][0].max(table[i * n + j][1]) };
                    Link { arabic: i as u8, english: j as u8, strength: (p.clamp(0.0, 1.0) * 255.0).round() as u8 }
                })
                .collect(),
        }
    }
}

/// The links both directions agree on (their intersection): fewer links
/// than a grown union, but measured on unseen news (`dhakira
/// fragment-recall`) they give fragments that are right more often
/// (grow-diag-final-and and grow-diag were tried; see README.md).
fn symmetrize(a: &[(usize, usize)], b: &[(usize, usize)]) -> Vec<(usize, usize)> {
    a.iter().filter(|l| b.contains(l)).copied().collect()
}

/// A link between word `arabic` and word `english` of a unit, with the
/// table's larger probability for the pair (1 for a placeable and its
/// value), in 255ths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    pub arabic: u8,
    pub english: u8,
    pub strength: u8,
}

/// A unit's word alignment, links sorted by Arabic then English position.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Links {
    pub links: Vec<Link>,
}

/// The part of the other side that translates a span (see [`Links::phrase`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Phrase {
    /// Words of the other side, end exclusive.
    pub target: Range<usize>,
    /// Share of the span's words linked into `target` (0–1).
    pub linked: f32,
    /// Mean strength of those links (0–1).
    pub strength: f32,
}

impl Links {
    /// The words of the side in `lang.other()` that translate words
    /// `span` of the side in `lang`: from the first to the last word linked
    /// to the span, or `None` when no word of the span is linked or a word
    /// in that range is linked to a word outside the span.
    pub fn phrase(&self, lang: Lang, span: Range<usize>) -> Option<Phrase> {
        let ends = |l: &Link| match lang {
            Lang::Arabic => (l.arabic as usize, l.english as usize),
            Lang::English => (l.english as usize, l.arabic as usize),
        };
        let inside: Vec<(usize, usize, u8)> = self
            .links
            .iter()
            .map(|l| {
                let (s, t) = ends(l);
                (s, t, l.strength)
            })
            .filter(|(s, _, _)| span.contains(s))
            .collect();
        let start = inside.iter().map(|l| l.1).min()?;
        let end = inside.iter().map(|l| l.1).max()? + 1;
        let consistent = self.links.iter().map(ends).all(|(s, t)| !(start..end).contains(&t) || span.contains(&s));
        if !consistent {
            return None;
        }
        let mut targets: Vec<usize> = inside.iter().map(|l| l.1).collect();
        targets.sort_unstable();
        targets.dedup();
        if (end - start) - targets.len() > MAX_UNLINKED_INSIDE {
            return None;
        }
        let mut linked: Vec<usize> = inside.iter().map(|l| l.0).collect();
        linked.sort_unstable();
        linked.dedup();
        let strength = inside.iter().map(|l| f32::from(l.2) / 255.0).sum::<f32>() / inside.len() as f32;
        Some(Phrase { target: start..end, linked: linked.len() as f32 / span.len() as f32, strength })
    }

    /// A compact form: three bytes per link.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.links.iter().flat_map(|l| [l.arabic, l.english, l.strength]).collect()
    }

    pub fn from_bytes(bytes: &[u8]) -> Links {
        Links { links: bytes.chunks_exact(3).map(|c| Link { arabic: c[0], english: c[1], strength: c[2] }).collect() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::tokens;

    fn words(tokens: &[crate::text::Token]) -> Vec<Word<'_>> {
        tokens.iter().map(|t| Word { surface: &t.surface, key: &t.key }).collect()
    }

    fn corpus(pairs: &[(String, String)]) -> Corpus {
        let mut corpus = Corpus::default();
        for (ar, en) in pairs {
            let (a, e) = (tokens(ar, Lang::Arabic), tokens(en, Lang::English));
            corpus.push(words(&a), words(&e));
        }
        corpus
    }

    #[test]
    fn a_small_parallel_text_teaches_its_dictionary() {
        // Each word meets its translation in every pair and other words in
        // some: expectation maximization must find the pairs.
        let lexicon = [("قط", "cat"), ("كلب", "dog"), ("بيت", "house"), ("كبير", "big"), ("أحمر", "red")];
        let mut pairs = Vec::new();
        for (i, (a1, e1)) in lexicon.iter().enumerate() {
            for (a2, e2) in lexicon.iter().skip(i + 1) {
                pairs.push((format!("{a1} {a2}"), format!("{e1} {e2}")));
                pairs.push((format!("{a2} {a1}"), format!("{e2} {e1}")));
            }
        }
        let model = Model::train(corpus(&pairs), &|| false).unwrap();
        assert_eq!(model.trained_units, pairs.len());
        for (ar, en) in lexicon {
            let key_ar = tokens(ar, Lang::Arabic).remove(0).key;
            let key_en = tokens(en, Lang::English).remove(0).key;
            let [p, q] = model.probabilities(&key_ar, &key_en);
            assert!(p > 0.5 && q > 0.5, "{ar}/{en}: {p} {q}");
            for (other, _) in lexicon.iter().filter(|(a, _)| *a != ar) {
                let key = tokens(other, Lang::Arabic).remove(0).key;
                assert!(model.probabilities(&key, &key_en)[0] < p, "{other} is not {en}");
            }
        }
        // Reversed order is followed: the links cross.
        let (a, e) = (tokens("كلب قط", Lang::Arabic), tokens("cat dog", Lang::English));
        let links = model.align(&words(&a), &words(&e));
        let pairs: Vec<(u8, u8)> = links.links.iter().map(|l| (l.arabic, l.english)).collect();
        assert_eq!(pairs, [(0, 1), (1, 0)]);
    }

    #[test]
    fn placeables_align_by_value_even_unseen() {
        let model = Model::default();
        let (a, e) = (tokens("ارتفعت 3.5% في 2023", Lang::Arabic), tokens("rose 3.5% in 2023", Lang::English));
        let links = model.align(&words(&a), &words(&e));
        let pairs: Vec<(u8, u8)> = links.links.iter().map(|l| (l.arabic, l.english)).collect();
        let three = a.iter().position(|t| t.surface.contains("3.5")).unwrap() as u8;
        let year = a.iter().position(|t| t.surface == "2023").unwrap() as u8;
        assert!(pairs.contains(&(three, 1)) && pairs.contains(&(year, e.len() as u8 - 1)), "{pairs:?} {a:?}");
    }

    #[test]
    fn phrases_follow_links_and_refuse_inconsistent_spans() {
        let link = |arabic, english| Link { arabic, english, strength: 255 };
        // ar 0-1-2-3, en 0-1-2-3 with 1 and 2 crossed, 3 unlinked in Arabic.
        let links = Links { links: vec![link(0, 0), link(1, 2), link(2, 1)] };
        let phrase = links.phrase(Lang::Arabic, 1..3).unwrap();
        assert_eq!((phrase.target, phrase.linked), (1..3, 1.0));
        // Word 1 alone translates to English word 2, but word 1 of English
        // in between belongs to Arabic word 2: not consistent.
        assert_eq!(links.phrase(Lang::Arabic, 0..2), None);
        assert_eq!(links.phrase(Lang::English, 0..1).unwrap().target, 0..1);
        assert_eq!(links.phrase(Lang::Arabic, 3..4), None, "nothing linked");
        let half = links.phrase(Lang::Arabic, 2..4).unwrap();
        assert_eq!((half.target, half.linked), (1..2, 0.5));
        assert_eq!(Links::from_bytes(&links.to_bytes()), links);
        // At most one word inside the translation linked to nothing.
        let gap = |english| Links { links: vec![link(0, 0), link(1, english)] };
        assert_eq!(gap(2).phrase(Lang::Arabic, 0..2).unwrap().target, 0..3);
        assert_eq!(gap(3).phrase(Lang::Arabic, 0..2), None);
    }

    #[test]
    fn the_corpus_aligns_names_and_common_words() {
        let pairs = crate::test_corpus::read_pairs(&crate::test_corpus::corpus_dir().join("ntrex128.tsv")).unwrap();
        let model = Model::train(corpus(&pairs), &|| false).unwrap();
        let ar = |w: &str| tokens(w, Lang::Arabic).remove(0).key;
        let en = |w: &str| tokens(w, Lang::English).remove(0).key;
        // The best Arabic word for "government" among a few candidates.
        let best = ["الحكومة", "الشركة", "قال", "العالم"]
            .into_iter()
            .max_by(|x, y| {
                model.probabilities(&ar(x), &en("government"))[1]
                    .total_cmp(&model.probabilities(&ar(y), &en("government"))[1])
            })
            .unwrap();
        assert_eq!(best, "الحكومة");
    }
}
