//! The bundled sample: real Arabic–English pairs loaded into an empty
//! database so that a first lookup returns real matches. The files and their
//! licences are in `data/sample/` (see its README).

use crate::error::Result;
use crate::import::{import, Format, ImportOptions, ImportSummary};
use crate::memory::TranslationMemory;

/// The memory the sample goes to.
pub const SAMPLE_MEMORY: &str = "sample";

/// (file name, domain, contents)
const FILES: [(&str, &str, &str); 3] = [
    ("tico19_cc0_sample150.tsv", "covid-news", include_str!("../data/sample/tico19_cc0_sample150.tsv")),
    ("flores200_wikinews_sample150.tsv", "news", include_str!("../data/sample/flores200_wikinews_sample150.tsv")),
    ("tatoeba_fuzzy_clusters.tsv", "everyday", include_str!("../data/sample/tatoeba_fuzzy_clusters.tsv")),
];

/// Loads the sample into `tm` when it holds no unit; `None` when it did.
pub fn load_if_empty(tm: &TranslationMemory) -> Result<Option<ImportSummary>> {
    if !tm.is_empty() {
        return Ok(None);
    }
    let mut total = ImportSummary::default();
    for (file, domain, contents) in FILES {
        let options = ImportOptions {
            format: Some(Format::Tsv),
            memory: Some(SAMPLE_MEMORY.into()),
            domain: domain.into(),
            source_document: file.into(),
            ..ImportOptions::default()
        };
        total.absorb(import(tm, contents.as_bytes(), &options, &mut |_, _| {})?);
    }
    Ok(Some(total))
}
