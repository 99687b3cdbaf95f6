//! libFuzzer's entry for the `policy` target (see `fuzz-targets`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_targets::run("policy", data));
