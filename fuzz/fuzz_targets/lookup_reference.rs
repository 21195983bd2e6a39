//! The `lookup_reference` fuzz target: index lookups against the reference
//! implementation (`dhakira::reference`) on a memory built from the input;
//! what it checks, and the input format, are in
//! `fuzz/checks/lookup_reference.rs`, which the integration tests also run
//! on the saved corpus (`fuzz/saved/lookup_reference/`).

#![no_main]

#[path = "../checks/lookup_reference.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    checks::check(data);
});
