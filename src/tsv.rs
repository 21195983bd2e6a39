//! Tab-separated pairs (`arabic<TAB>english`, one per line, no header), the
//! format of the corpus in `data/corpus`. Importing is [`crate::import`].

/// Reads one line into a pair. Blank lines are `Ok(None)`.
pub fn parse_line(line: &str) -> Result<Option<(String, String)>, String> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.trim().is_empty() {
        return Ok(None);
    }
    let mut columns = line.split('\t');
    match (columns.next(), columns.next(), columns.next()) {
        (Some(arabic), Some(english), None) => Ok(Some((arabic.to_owned(), english.to_owned()))),
        (_, None, _) => Err("expected two tab-separated columns (arabic, english), found one".into()),
        _ => Err(format!("expected two tab-separated columns (arabic, english), found {}", line.split('\t').count())),
    }
}
