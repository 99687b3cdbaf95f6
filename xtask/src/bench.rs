//! `cargo xtask bench`: the benchmarks, with what they measure printed as figures.
//!
//! - the cVM lifecycle (create, run, tear down a trivial cVM; `intravisor/benches`);
//! - policy validation, 1,000 to 100,000 publications (`policy/benches`);
//! - compartment-local storage: the cost of one `__cls_get_addr` fast-path lookup, and
//!   a small function that uses a global, called in a loop, built with the cls-pass
//!   against the same function built without it. Time per call from the clock, and
//!   instructions per call from `valgrind --tool=callgrind` (repeatable, whatever else
//!   the machine does);
//! - the transcode density figure (`crate::density`).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::examples::{build_libos, build_pass, libos_archive, CvmTarget};
use super::setup::CLANG;
use super::{cargo, output, root, run};

/// Calls timed per measurement.
const TIMED_CALLS: &str = "100000000";

pub fn run_all() -> Result<(), String> {
    run(cargo().args(["bench", "-p", "intravisor", "--bench", "lifecycle"]))?;
    run(cargo().args(["bench", "-p", "policy", "--bench", "validation"]))?;
    compartment_local_storage()?;
    super::density::run_density()
}

fn compartment_local_storage() -> Result<(), String> {
    build_libos(CvmTarget::host())?;
    let pass = build_pass()?;
    let libos = libos_archive(CvmTarget::host());
    let sources = root().join("intravisor/benches/cls");
    let directory = root().join("target/cls-bench");
    std::fs::create_dir_all(&directory)
        .map_err(|error| format!("cannot create {}: {error}", directory.display()))?;
    let mut results = Vec::new();
    for (name, plugin) in [("with the cls-pass", Some(&pass)), ("without it", None)] {
        let binary = directory.join(if plugin.is_some() { "instrumented" } else { "plain" });
        let workload = binary.with_extension("o");
        run(Command::new(CLANG)
            .args(["-O2", "-fPIC", "-c"])
            .args(plugin.map(|pass| format!("-fpass-plugin={}", pass.display())))
            .arg(sources.join("workload.c"))
            .arg("-o")
            .arg(&workload))?;
        run(Command::new(CLANG)
            .args(["-O2", "-fuse-ld=lld", "-Wl,--gc-sections"])
            .arg(sources.join("harness.c"))
            .arg(&workload)
            .arg(&libos)
            .arg("-o")
            .arg(&binary))?;
        for (shape, extra) in [("out of line", None), ("inlined", Some("inlined"))] {
            let timed = output(Command::new(&binary).args([TIMED_CALLS, TIMED_CALLS]).args(extra))?;
            let mut fields = timed.split_whitespace().map(|field| field.parse::<f64>().unwrap_or(f64::NAN));
            let (bump, lookup) = (fields.next().unwrap_or(f64::NAN), fields.next().unwrap_or(f64::NAN));
            // Instructions per call: the difference between two runs, so start-up cancels.
            let instructions = (callgrind(&binary, "2000000", extra, &directory)?
                - callgrind(&binary, "1000000", extra, &directory)?) as f64
                / 1e6;
            results.push((name, shape, bump, lookup, instructions));
        }
    }
    println!("compartment-local storage, {TIMED_CALLS} calls each:");
    for (name, shape, bump, _, instructions) in &results {
        println!("  small function using two globals, {shape}, {name}: {bump:.2} ns/call, {instructions:.1} instructions/call");
    }
    let lookup = results.iter().map(|result| result.3).fold(f64::INFINITY, f64::min);
    println!("  __cls_get_addr fast path: {lookup:.2} ns/lookup (best of the runs)");
    for shape in ["out of line", "inlined"] {
        let with = results.iter().find(|result| result.1 == shape && result.0.starts_with("with "));
        let without = results.iter().find(|result| result.1 == shape && result.0.starts_with("without"));
        if let (Some(with), Some(without)) = (with, without) {
            println!(
                "  overhead of the pass, {shape}: {:+.1} % time, {:+.1} % instructions",
                (with.2 / without.2 - 1.0) * 100.0,
                (with.4 / without.4 - 1.0) * 100.0
            );
        }
    }
    Ok(())
}

/// Total instructions callgrind counts for `binary ITERATIONS 0 [EXTRA]`.
fn callgrind(binary: &Path, iterations: &str, extra: Option<&str>, directory: &Path) -> Result<u64, String> {
    let out: PathBuf = directory.join("callgrind.out");
    let result = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(binary)
        .args([iterations, "0"])
        .args(extra)
        .output()
        .map_err(|error| format!("cannot run valgrind (apt-get install valgrind): {error}"))?;
    let stderr = String::from_utf8_lossy(&result.stderr);
    stderr
        .lines()
        .find_map(|line| line.split("Collected :").nth(1))
        .and_then(|count| count.trim().parse::<u64>().ok())
        .ok_or_else(|| format!("callgrind gave no instruction count: {stderr}"))
}
