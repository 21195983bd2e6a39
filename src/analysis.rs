//! Working through an article: the document analysis translators quote
//! from (segments and words per match band) and pretranslation (each
//! segment's best match), with each segment's neighbours as its context.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::matching::UnitFilter;
use crate::memory::{LookupRequest, Match, TranslationMemory};
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
    /// Raised when nobody will read the answer any more: the analysis
    /// stops.
    pub cancel: crate::Cancel,
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
    /// band, best score, unit id and translation (see
    /// [`AnalyzedSegment::translation`]); tabs and line breaks inside a
    /// text become spaces.
    pub fn pretranslation_tsv(&self, min_score: u32) -> String {
        let clean = |s: &str| s.replace(['\t', '\n', '\r'], " ");
        let mut out = String::from("segment\tband\tscore\tunit_id\ttranslation\n");
        for segment in &self.segments {
            let (score, id) = match &segment.best {
                Some(m) => (m.score.to_string(), m.unit.id.to_string()),
                None => (String::new(), String::new()),
            };
            let translation = segment.translation(min_score).unwrap_or_default();
            out.push_str(&format!(
                "{}\t{}\t{score}\t{id}\t{}\n",
                clean(&segment.text),
                segment.band,
                clean(translation)
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
        let mut analysis = Analysis {
            bands: BANDS.iter().map(|&name| BandCount { name, ..BandCount::default() }).collect(),
            ..Analysis::default()
        };
        // Each segment seen so far (normalized), with its best match.
        let mut firsts: HashMap<Vec<String>, Option<Match>> = HashMap::new();
        for (i, text) in document.iter().enumerate() {
            request.cancel.check()?;
            let key = words(text);
            let word_count = key.len();
            let (band, best) = if let Some(best) = firsts.get(&key) {
                ("repetitions", best.clone())
            } else {
                let best = if key.is_empty() {
                    None
                } else {
                    let lookup = LookupRequest {
                        text: text.clone(),
                        source_lang: lang.code().to_owned(),
                        min_score: Some(u32::from(MIN_ANALYSIS_SCORE)),
                        max_results: Some(1),
                        memories: request.memories.clone(),
                        memory_penalties: request.memory_penalties.clone(),
                        filter: request.filter.clone(),
                        context_before: i.checked_sub(1).map(|j| document[j].clone()).unwrap_or_default(),
                        context_after: document.get(i + 1).cloned().unwrap_or_default(),
                        cancel: request.cancel.clone(),
                        ..LookupRequest::default()
                    };
                    self.lookup(lookup)?.into_iter().next()
                };
                firsts.insert(key, best.clone());
                (band_of(best.as_ref().map(|m| m.score)), best)
            };
            let count = analysis.bands.iter_mut().find(|b| b.name == band).expect("every band is listed");
            count.segments += 1;
            count.words += word_count;
            analysis.total_segments += 1;
            analysis.total_words += word_count;
            analysis.segments.push(AnalyzedSegment { text: text.clone(), words: word_count, band, best });
        }
        Ok(analysis)
    }
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
