//! libFuzzer's entry for the `hostcall` target (see `fuzz-targets`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_targets::run("hostcall", data));
