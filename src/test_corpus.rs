//! The corpus in `data/corpus`, read for the library's own tests (the
//! measuring tools read it through `bench`, which tests do not need).

use std::path::{Path, PathBuf};

/// `$DHAKIRA_CORPUS`, else the repository's `data/corpus`.
pub fn corpus_dir() -> PathBuf {
    std::env::var_os("DHAKIRA_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("data/corpus"))
}

/// The pairs of one `arabic<TAB>english` file, lines that are not a pair
/// skipped.
pub fn read_pairs(file: &Path) -> std::io::Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(file)?;
    Ok(text.lines().filter_map(|line| crate::tsv::parse_line(line).ok().flatten()).collect())
}
