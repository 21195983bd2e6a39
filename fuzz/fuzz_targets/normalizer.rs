//! The `normalizer` fuzz target: what it checks is in `fuzz/checks/normalizer.rs`,
//! which the integration tests also run on the saved corpus
//! (`fuzz/saved/normalizer/`).

#![no_main]

#[path = "../checks/normalizer.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check(data));
