//! Fuzzes lookups through the index against the reference
//! (`dhakira::reference`): the same memory, the same query, the same
//! answer. See `fuzz/lookup_reference_check.rs` for the input format.

#![no_main]

use libfuzzer_sys::fuzz_target;

include!("../lookup_reference_check.rs");

fuzz_target!(|data: &[u8]| {
    check(data);
});
