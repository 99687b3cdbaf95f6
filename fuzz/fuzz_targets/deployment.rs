//! libFuzzer's entry for the `deployment` target (see `fuzz-targets`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_targets::run("deployment", data));
