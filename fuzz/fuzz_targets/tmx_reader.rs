//! The `tmx_reader` fuzz target: what it checks is in `fuzz/checks/tmx_reader.rs`,
//! which the integration tests also run on the saved corpus
//! (`fuzz/saved/tmx_reader/`).

#![no_main]

#[path = "../checks/tmx_reader.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check(data));
