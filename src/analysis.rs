//! Working through an article: the document analysis translators quote
//! from (segments and words per match band) and pretranslation (each
//! segment's best match), with each segment's neighbours as its context.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::fragments::{assemble, covered_words, Fragment};
use crate::matching::UnitFilter;
use crate::memory::{LookupRequest, LookupResult, Match, TranslationMemory, MAX_FRAGMENTS_LIMIT, MAX_RESULTS_LIMIT};
use crate::text::{segments, words, Lang};
use crate::unit::{check_segment, MAX_SEGMENT_CHARS};

/// The bands, in report order.
pub const BANDS: [&str; 8] = ["101", "100", "95-99", "85-94", "75-84", "50-74", "no_match", "repetitions"];

/// The lowest score an analysis counts as a match.
pub const MIN_ANALYSIS_SCORE: u8 = 50;

/// Most segments in one document.
pub const MAX_SEGMENTS: usize = 10_000;

/// Longest document text, in characters.
pub const MAX_TEXT_CHARS: usize = 2_000_000;

/// A document to analyze, as a client sends it: segments, or text to split.
#[derive(Debug, Clone, Default)]
pub struct AnalyzeRequest {
    pub segments: Vec<String>,
    pub text: String,
    pub source_lang: String,
    pub memories: Vec<String>,
    pub filter: UnitFilter,
    pub memory_penalties: Vec<(String, u32)>,
    /// Also rank the stored documents that cover this one
    /// ([`Analysis::similar`]).
    pub similar_documents: bool,
    /// Most similar documents, 1–[`MAX_DOCUMENTS_LIMIT`]; unset:
    /// [`DEFAULT_MAX_DOCUMENTS`].
    pub max_documents: Option<u32>,
    /// Also use fragments inside units (see
    /// [`crate::LookupRequest::aligned_fragments`]) in the cover of each
    /// segment without a match: they count as fragment words and are
    /// pasted in by fragment assembly.
    pub aligned_fragments: bool,
    /// Raised when nobody will read the answer any more: the analysis
    /// stops.
    pub cancel: crate::Cancel,
}

/// Similar documents returned when the request does not say.
pub const DEFAULT_MAX_DOCUMENTS: usize = 10;
/// Most similar documents one analysis may ask for.
pub const MAX_DOCUMENTS_LIMIT: usize = 100;

/// The bands of a similar document, in report order ("100" counts 101).
pub const DOCUMENT_BANDS: [&str; 5] = ["100", "95-99", "85-94", "75-84", "50-74"];

/// A stored document (the `source_document` of its units) and how much of
/// the analyzed document it covers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SimilarDocument {
    pub source_document: String,
    /// One per [`DOCUMENT_BANDS`] band, in order: the analyzed segments
    /// whose best match among this document's units falls in it.
    pub bands: Vec<BandCount>,
    /// Segments without a match at [`MIN_ANALYSIS_SCORE`] from this
    /// document in which its units are sub-segment matches, and the words
    /// those cover (its own cover).
    pub fragment_segments: usize,
    pub fragment_words: usize,
    /// Words of the matched segments plus the fragment words: what
    /// documents are ranked by (then words at 100, then the name).
    pub covered_words: usize,
    /// Indices of the analyzed segments it matches (by match or
    /// fragment), ascending.
    pub segments: Vec<usize>,
}

/// One segment of the document and how the memory covers it.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalyzedSegment {
    pub text: String,
    /// Its words, as matching counts them.
    pub words: usize,
    /// The band it counts in ([`BANDS`]).
    pub band: &'static str,
    /// Its best match at [`MIN_ANALYSIS_SCORE`] or more (for a repetition:
    /// the first occurrence's).
    pub best: Option<Match>,
    /// Its sub-segment matches, when its best match scores below
    /// [`PRETRANSLATION_MIN_SCORE`]: the cover's fragments, in query
    /// order.
    pub fragments: Vec<Fragment>,
}

impl AnalyzedSegment {
    /// Words of the segment its fragments cover.
    pub fn fragment_words(&self) -> usize {
        covered_words(&self.fragments)
    }

    /// Fragment assembly: the segment with each fragment's words replaced
    /// by its translation, when it has fragments.
    pub fn draft(&self) -> Option<String> {
        assemble(&self.text, &self.fragments)
    }
}

/// Segments and words in one band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BandCount {
    pub name: &'static str,
    pub segments: usize,
    pub words: usize,
}

/// What an analysis found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Analysis {
    /// One per band, in [`BANDS`] order.
    pub bands: Vec<BandCount>,
    pub total_segments: usize,
    pub total_words: usize,
    pub segments: Vec<AnalyzedSegment>,
    /// Words of the segments without a match that sub-segment matches
    /// cover.
    pub fragment_words: usize,
    /// When asked for: the stored documents that cover this one, best
    /// first.
    pub similar: Vec<SimilarDocument>,
}

/// The band of a best score (`None`: no match).
pub fn band_of(score: Option<u8>) -> &'static str {
    match score {
        Some(101..) => "101",
        Some(100) => "100",
        Some(95..=99) => "95-99",
        Some(85..=94) => "85-94",
        Some(75..=84) => "75-84",
        Some(50..=74) => "50-74",
        _ => "no_match",
    }
}

/// The `fill` of a pretranslation line whose translation is a match's.
pub const FILL_MATCH: &str = "match";
/// The `fill` of a pretranslation line assembled from fragments.
pub const FILL_FRAGMENTS: &str = "fragments";

/// The lowest score whose translation a pretranslation fills in, unless
/// told otherwise (`dhakira pretranslate --min-score`, the web app).
pub const PRETRANSLATION_MIN_SCORE: u32 = 75;

impl AnalyzedSegment {
    /// The translation a pretranslation puts for this segment: its best
    /// match's target (repaired when it could be) if it scores `min_score`
    /// or more.
    pub fn translation(&self, min_score: u32) -> Option<&str> {
        let best = self.best.as_ref().filter(|m| u32::from(m.score) >= min_score)?;
        Some(best.explanation.repaired_target.as_deref().unwrap_or(best.target()))
    }
}

impl Analysis {
    /// The pretranslation as TSV: a header, then per segment its text,
    /// band, best score, unit id, translation and what the translation is
    /// (`fill`): `match` (the best match's target, see
    /// [`AnalyzedSegment::translation`]), `fragments` (fragment assembly:
    /// no match at `min_score`, the covered words replaced by their stored
    /// translations, see [`AnalyzedSegment::draft`]) or empty. Tabs and
    /// line breaks inside a text become spaces.
    pub fn pretranslation_tsv(&self, min_score: u32) -> String {
        let clean = |s: &str| s.replace(['\t', '\n', '\r'], " ");
        let mut out = String::from("segment\tband\tscore\tunit_id\ttranslation\tfill\n");
        for segment in &self.segments {
            let (score, id) = match &segment.best {
                Some(m) => (m.score.to_string(), m.unit.id.to_string()),
                None => (String::new(), String::new()),
            };
            let (translation, fill) = match segment.translation(min_score) {
                Some(t) => (t.to_owned(), FILL_MATCH),
                None => match segment.draft() {
                    Some(draft) => (draft, FILL_FRAGMENTS),
                    None => (String::new(), ""),
                },
            };
            out.push_str(&format!(
                "{}\t{}\t{score}\t{id}\t{}\t{fill}\n",
                clean(&segment.text),
                segment.band,
                clean(&translation)
            ));
        }
        out
    }
}

impl AnalyzeRequest {
    /// The document's segments, checked (errors name `segments[i]`, or
    /// `text` with the sentence's number).
    pub fn document(&self) -> Result<Vec<String>> {
        let document: Vec<String> = match (self.segments.is_empty(), self.text.trim().is_empty()) {
            (false, false) => {
                return Err(Error::invalid("text", "give the document as segments or as text, not both"));
            }
            (true, true) => return Err(Error::invalid("segments", "the document is empty: give segments or text")),
            (false, true) => {
                for (i, segment) in self.segments.iter().enumerate() {
                    check_segment(segment, &format!("segments[{i}]"))?;
                }
                self.segments.clone()
            }
            (true, false) => {
                let chars = self.text.chars().count();
                if chars > MAX_TEXT_CHARS {
                    return Err(Error::invalid(
                        "text",
                        format!("is {chars} characters long; the limit is {MAX_TEXT_CHARS}"),
                    ));
                }
                let document: Vec<String> = segments(&self.text).into_iter().map(|r| self.text[r].to_owned()).collect();
                for (i, segment) in document.iter().enumerate() {
                    check_segment(segment, &format!("text (sentence {})", i + 1)).map_err(|err| match err {
                        Error::InvalidArgument { reason, .. } if segment.chars().count() > MAX_SEGMENT_CHARS => {
                            Error::invalid("text", format!("sentence {} {reason}", i + 1))
                        }
                        other => other,
                    })?;
                }
                document
            }
        };
        if document.len() > MAX_SEGMENTS {
            return Err(Error::invalid(
                "segments",
                format!("{} segments; the limit is {MAX_SEGMENTS}", document.len()),
            ));
        }
        Ok(document)
    }
}

impl TranslationMemory {
    /// Analyzes a document: each segment is looked up (at
    /// [`MIN_ANALYSIS_SCORE`] or more, with its neighbours as context) and
    /// counted in the band of its best match; a segment equal after
    /// normalization to an earlier one is a repetition.
    pub fn analyze(&self, request: AnalyzeRequest) -> Result<Analysis> {
        let lang = Lang::parse(&request.source_lang, "source_lang")?;
        let document = request.document()?;
        let max_documents = crate::memory::in_range(
            request.max_documents,
            DEFAULT_MAX_DOCUMENTS as u32,
            1..=MAX_DOCUMENTS_LIMIT as u32,
            "max_documents",
        )? as usize;
        let mut analysis = Analysis {
            bands: BANDS.iter().map(|&name| BandCount { name, ..BandCount::default() }).collect(),
            ..Analysis::default()
        };
        // Each segment seen so far (normalized), with what its lookup found.
        let mut firsts: HashMap<Vec<String>, LookupResult> = HashMap::new();
        // Per segment, what its lookup found (for similar documents).
        let mut found: Vec<LookupResult> = Vec::new();
        for (i, text) in document.iter().enumerate() {
            request.cancel.check()?;
            let key = words(text);
            let word_count = key.len();
            let (band, result) = if let Some(result) = firsts.get(&key) {
                ("repetitions", result.clone())
            } else {
                let result = if key.is_empty() {
                    LookupResult::default()
                } else {
                    let lookup = LookupRequest {
                        text: text.clone(),
                        source_lang: lang.code().to_owned(),
                        min_score: Some(u32::from(MIN_ANALYSIS_SCORE)),
                        // Similar documents need every document's matches.
                        max_results: Some(if request.similar_documents { MAX_RESULTS_LIMIT as u32 } else { 1 }),
                        memories: request.memories.clone(),
                        memory_penalties: request.memory_penalties.clone(),
                        filter: request.filter.clone(),
                        context_before: i.checked_sub(1).map(|j| document[j].clone()).unwrap_or_default(),
                        context_after: document.get(i + 1).cloned().unwrap_or_default(),
                        subsegments: true,
                        max_subsegments: Some(MAX_FRAGMENTS_LIMIT as u32),
                        aligned_fragments: request.aligned_fragments,
                        cancel: request.cancel.clone(),
                        ..LookupRequest::default()
                    };
                    self.lookup_with_fragments(lookup)?
                };
                firsts.insert(key, result.clone());
                (band_of(result.matches.first().map(|m| m.score)), result)
            };
            let best = result.matches.first().cloned();
            let fragments = if best.as_ref().is_some_and(|m| u32::from(m.score) >= PRETRANSLATION_MIN_SCORE) {
                Vec::new()
            } else {
                let mut cover: Vec<Fragment> = result.fragments.iter().filter(|f| f.in_cover).cloned().collect();
                cover.sort_by_key(|f| f.query_words.start);
                cover
            };
            let count = analysis.bands.iter_mut().find(|b| b.name == band).expect("every band is listed");
            count.segments += 1;
            count.words += word_count;
            analysis.total_segments += 1;
            analysis.total_words += word_count;
            let segment = AnalyzedSegment { text: text.clone(), words: word_count, band, best, fragments };
            if band == "no_match" {
                analysis.fragment_words += segment.fragment_words();
            }
            analysis.segments.push(segment);
            if request.similar_documents {
                found.push(result);
            }
        }
        if request.similar_documents {
            analysis.similar = similar_documents(&analysis.segments, &found, max_documents);
        }
        Ok(analysis)
    }
}

/// The stored documents that cover the analyzed one, best first (see
/// [`SimilarDocument`]): per segment, each document's best match among
/// the segment's matches (the [`MAX_RESULTS_LIMIT`] best at
/// [`MIN_ANALYSIS_SCORE`]), else its own cover among the segment's
/// sub-segment matches (the [`MAX_FRAGMENTS_LIMIT`] first). Units without
/// a `source_document` count for no document.
fn similar_documents(segments: &[AnalyzedSegment], found: &[LookupResult], limit: usize) -> Vec<SimilarDocument> {
    // Per document, per segment: matched (best score) or fragment words.
    let mut per_document: HashMap<String, Vec<(usize, Option<u8>, usize)>> = HashMap::new();
    for (i, (segment, result)) in segments.iter().zip(found).enumerate() {
        let mut seen: HashMap<&str, ()> = HashMap::new();
        for m in &result.matches {
            let name = m.unit.source_document.as_str();
            if name.is_empty() || seen.insert(name, ()).is_some() {
                continue;
            }
            per_document.entry(name.to_owned()).or_default().push((i, Some(m.score), segment.words));
        }
        // Each other document's own cover of the segment.
        let mut covers: HashMap<&str, Vec<std::ops::Range<usize>>> = HashMap::new();
        for f in &result.fragments {
            let name = f.unit.source_document.as_str();
            if name.is_empty() || seen.contains_key(name) {
                continue;
            }
            let cover = covers.entry(name).or_default();
            if cover.iter().all(|r| r.end <= f.query_words.start || f.query_words.end <= r.start) {
                cover.push(f.query_words.clone());
            }
        }
        for (name, cover) in covers {
            let words = cover.iter().map(|r| r.len()).sum();
            per_document.entry(name.to_owned()).or_default().push((i, None, words));
        }
    }
    let mut similar: Vec<SimilarDocument> = per_document
        .into_iter()
        .map(|(name, hits)| {
            let mut document = SimilarDocument {
                source_document: name,
                bands: DOCUMENT_BANDS.iter().map(|&name| BandCount { name, ..BandCount::default() }).collect(),
                ..SimilarDocument::default()
            };
            for (i, score, words) in hits {
                document.segments.push(i);
                document.covered_words += words;
                match score {
                    Some(score) => {
                        let band = match band_of(Some(score)) {
                            "101" => "100",
                            band => band,
                        };
                        let count = document.bands.iter_mut().find(|b| b.name == band).expect("a band of 50 or more");
                        count.segments += 1;
                        count.words += words;
                    }
                    None => {
                        document.fragment_segments += 1;
                        document.fragment_words += words;
                    }
                }
            }
            document.segments.sort_unstable();
            document
        })
        .collect();
    similar.sort_by(|a, b| {
        b.covered_words
            .cmp(&a.covered_words)
            .then(b.bands[0].words.cmp(&a.bands[0].words))
            .then(a.source_document.cmp(&b.source_document))
    });
    similar.truncate(limit);
    similar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_cover_every_score() {
        assert_eq!(band_of(Some(101)), "101");
        assert_eq!(band_of(Some(100)), "100");
        assert_eq!(band_of(Some(95)), "95-99");
        assert_eq!(band_of(Some(94)), "85-94");
        assert_eq!(band_of(Some(84)), "75-84");
        assert_eq!(band_of(Some(74)), "50-74");
        assert_eq!(band_of(Some(50)), "50-74");
        assert_eq!(band_of(Some(49)), "no_match");
        assert_eq!(band_of(None), "no_match");
    }

    #[test]
    fn a_document_is_segments_or_text() {
        let both = AnalyzeRequest { segments: vec!["a".into()], text: "b".into(), ..Default::default() };
        assert_eq!(
            both.document().unwrap_err().to_string(),
            "text: give the document as segments or as text, not both"
        );
        let blank = AnalyzeRequest { segments: vec!["ok".into(), " ".into()], ..Default::default() };
        assert_eq!(blank.document().unwrap_err().to_string(), "segments[1]: must not be empty");
        let text = AnalyzeRequest {
            text: "أعلنت شركة تينسنت عن نموذج جديد. وقال د. أحمد إنه يدعم العربية؟ نعم!\nThe U.S. firm said so.".into(),
            ..Default::default()
        };
        assert_eq!(
            text.document().unwrap(),
            ["أعلنت شركة تينسنت عن نموذج جديد.", "وقال د. أحمد إنه يدعم العربية؟", "نعم!", "The U.S. firm said so."]
        );
    }
}
