//! The fuzz targets' checks (`fuzz/checks/`, the same code the libFuzzer
//! targets run) on their saved corpora (`fuzz/saved/TARGET/`): every saved
//! input must pass, so a change that breaks what fuzzing once established
//! fails `cargo test`, and the checks keep compiling against the library.

use std::cell::Cell;
use std::panic::AssertUnwindSafe;
use std::path::Path;

#[path = "../fuzz/checks/lookup_reference.rs"]
mod lookup_reference;
#[path = "../fuzz/checks/normalizer.rs"]
mod normalizer;
#[path = "../fuzz/checks/request_validation.rs"]
mod request_validation;
#[path = "../fuzz/checks/tmx_reader.rs"]
mod tmx_reader;

/// Runs `check` on every file of `fuzz/saved/TARGET`, in name order; a
/// panic fails the test naming the input.
fn replay(target: &str, check: impl Fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/saved").join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    for file in &files {
        let data = std::fs::read(file).unwrap();
        if let Err(panic) = std::panic::catch_unwind(AssertUnwindSafe(|| check(&data))) {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("fuzz/saved/{target}/{}: {message}", file.file_name().unwrap().to_string_lossy());
        }
    }
    files.len()
}

#[test]
fn the_tmx_reader_passes_its_saved_fuzz_corpus() {
    assert!(replay("tmx_reader", tmx_reader::check) >= 15);
}

#[test]
fn the_normalizer_passes_its_saved_fuzz_corpus() {
    assert!(replay("normalizer", normalizer::check) >= 100);
}

#[test]
fn request_validation_passes_its_saved_fuzz_corpus() {
    assert!(replay("request_validation", request_validation::check) >= 10);
}

#[test]
fn index_lookups_agree_with_the_reference_on_the_saved_fuzz_corpus() {
    let with_matches = Cell::new(0);
    let replayed = replay("lookup_reference", |data| {
        with_matches.set(with_matches.get() + usize::from(lookup_reference::check(data) > 0));
    });
    assert!(replayed >= 10, "only {replayed} inputs");
    // Agreeing on nothing would prove nothing.
    assert!(with_matches.get() * 2 >= replayed, "only {} of {replayed} inputs found matches", with_matches.get());
}
