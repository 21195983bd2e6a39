//! The `request_validation` fuzz target: what it checks is in `fuzz/checks/request_validation.rs`,
//! which the integration tests also run on the saved corpus
//! (`fuzz/saved/request_validation/`).

#![no_main]

#[path = "../checks/request_validation.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check(data));
