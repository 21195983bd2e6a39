// The check of the `lookup_reference` fuzz target, shared with the test that
// replays its saved corpus in `cargo test` (tests/fuzz_replay.rs), so CI runs
// it without a nightly toolchain. Included with `include!`/`#[path]`: it
// uses only the public library.
//
// Input: byte 0 is min_score (mod 102), byte 1 max_results (1–8), byte 2
// the query's language (even: Arabic) and whether stored units get context
// and penalties; the rest, read as UTF-8 (lossy), is lines: the first is
// the query, each other `arabic<TAB>english` a unit (invalid units are
// skipped, as a client would see them refused). The index's answer must be
// the reference's, match for match.

/// Runs one input; panics on a disagreement. Returns how many matches both
/// found.
pub fn check(data: &[u8]) -> usize {
    use dhakira::reference::Reference;
    use dhakira::{LookupRequest, TranslationMemory, UnitInput};

    let [min_score, max_results, flags, rest @ ..] = data else { return 0 };
    let text = String::from_utf8_lossy(rest);
    let mut lines = text.lines();
    let Some(query) = lines.next() else { return 0 };
    let tm = TranslationMemory::in_memory();
    for (i, line) in lines.take(64).enumerate() {
        let (arabic, english) = line.split_once('\t').unwrap_or((line, line));
        let unit = UnitInput {
            arabic: arabic.into(),
            english: english.into(),
            memory: format!("m{}", i % 2),
            domain: ["news", "sport"][i % 3 % 2].into(),
            context_before: if flags & 2 != 0 { query.into() } else { String::new() },
            ..Default::default()
        };
        // A unit the engine refuses is simply not stored.
        let _ = tm.add_units(vec![unit]);
    }
    let request = LookupRequest {
        text: query.into(),
        source_lang: if flags % 2 == 0 { "ar" } else { "en" }.into(),
        min_score: Some(u32::from(*min_score) % 102),
        max_results: Some(u32::from(*max_results) % 8 + 1),
        memory_penalties: if flags & 4 != 0 && tm.stats().memories.iter().any(|(m, _)| m == "m1") {
            vec![("m1".into(), 3)]
        } else {
            vec![]
        },
        context_before: if flags & 8 != 0 { query.into() } else { String::new() },
        ..Default::default()
    };
    let Ok(lookup) = request.clone().validate() else { return 0 };
    let mut units = Vec::new();
    tm.for_each_unit(&mut |unit| {
        units.push(unit);
        Ok(())
    })
    .expect("an in-memory store reads");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
    let expected = Reference::new(units).lookup(&lookup, now);
    let found = tm.lookup(request);
    match (found, expected) {
        (Ok(found), Ok(expected)) => {
            assert_eq!(found, expected, "index and reference disagree on {query:?}");
            found.len()
        }
        (Err(a), Err(b)) => {
            assert_eq!(a.to_string(), b.to_string());
            0
        }
        (found, expected) => panic!("index {found:?}, reference {expected:?}"),
    }
}
