//! The saved corpus of the `lookup_reference` fuzz target
//! (`fuzz/seeds/lookup_reference/`), replayed with the target's own check.

#[path = "../fuzz/lookup_reference_check.rs"]
mod check;

#[test]
fn the_saved_fuzz_corpus_of_lookup_reference_agrees_with_the_reference() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/lookup_reference");
    let (mut replayed, mut with_matches) = (0, 0);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        with_matches += usize::from(check::check(&std::fs::read(&path).unwrap()) > 0);
        replayed += 1;
    }
    assert!(replayed >= 10, "only {replayed} inputs in {}", dir.display());
    // Agreeing on nothing would prove nothing.
    assert!(with_matches * 2 >= replayed, "only {with_matches} of {replayed} inputs found matches");
}
