//! The fuzz targets: each feeds arbitrary bytes to one parser of what the intravisor takes
//! from outside (object files, deployment files, policies, image manifests, hostcall
//! arguments) and follows an accepted input as far as a run would, checking what must
//! hold whatever the input. A target that panics, aborts or overflows has found a bug.
//!
//! The libFuzzer binaries in `fuzz/` (run by `cargo xtask fuzz`, or `cargo fuzz run`) call
//! these functions, and the regression tests replay through them every input under
//! `fuzz-targets/regressions/<target>/` and every seed.

mod deployment;
mod hostcall;
mod manifest;
mod object;
mod policy_set;
mod target;

pub use target::{run, Target, TARGETS};
