//! `cargo xtask fuzz`: the libFuzzer targets of `fuzz/`, built with coverage
//! instrumentation on the stable toolchain and run one after another.
//!
//! ```text
//! cargo xtask fuzz [--seconds N | --runs N] [TARGET...]
//! ```
//!
//! Each target starts from its seeds (written by `fuzz-targets`), its regression inputs
//! and the corpus earlier runs grew (`fuzz/corpus/TARGET`, kept between runs, never
//! committed). A crash, an abort, an overflow, a leak of more than 2 GiB or an input
//! that takes more than 10 s stops the target and saves the input under
//! `fuzz/artifacts/TARGET/`: copy it into `fuzz-targets/regressions/TARGET/` under a
//! name that says what broke, and the normal tests replay it from then on. `cargo xtask
//! test` runs every target for 60 s.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use fuzz_targets::{Target, TARGETS};

use super::{cargo, output, root, run};

/// Coverage instrumentation as cargo-fuzz sets it, without the nightly-only sanitizers:
/// the code under fuzz has no `unsafe` (the loader and the policy code forbid it; the
/// intravisor's layout, config, manifest and hostcall modules use none), so what a
/// fuzzer finds there is a panic, an overflow (`-Coverflow-checks`) or a hang, never a
/// memory error.
const INSTRUMENTATION: &str = "--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
     -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
     -Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks";

/// How long each target runs.
#[derive(Debug, Clone, Copy)]
pub enum Budget {
    Seconds(u64),
    Runs(u64),
}

/// `cargo xtask fuzz` with its arguments.
pub fn run_command(arguments: &[String]) -> Result<(), String> {
    let mut budget = Budget::Seconds(60);
    let mut names = Vec::new();
    let mut arguments = arguments.iter();
    while let Some(argument) = arguments.next() {
        let mut number = |flag: &str| {
            arguments
                .next()
                .and_then(|value| value.parse::<u64>().ok())
                .ok_or(format!("{flag} needs a number"))
        };
        match argument.as_str() {
            "--seconds" => budget = Budget::Seconds(number("--seconds")?),
            "--runs" => budget = Budget::Runs(number("--runs")?),
            name => names.push(name.to_string()),
        }
    }
    let targets = if names.is_empty() {
        TARGETS.to_vec()
    } else {
        names
            .iter()
            .map(|name| {
                Target::named(name).ok_or_else(|| {
                    let known: Vec<&str> = TARGETS.iter().map(|target| target.name).collect();
                    format!("there is no fuzz target `{name}`; the targets are {}", known.join(", "))
                })
            })
            .collect::<Result<_, _>>()?
    };
    fuzz(&targets, budget)
}

/// Builds the fuzz binaries and runs `targets`, each for `budget`; fails on the first
/// target that finds something.
pub fn fuzz(targets: &[Target], budget: Budget) -> Result<(), String> {
    let host = host_triple()?;
    let build_directory = root().join("target/fuzz");
    run(cargo()
        .args(["build", "--quiet", "--release", "--bins", "--manifest-path", "fuzz/Cargo.toml"])
        .arg("--target-dir")
        .arg(&build_directory)
        .args(["--target", &host])
        .env("RUSTFLAGS", INSTRUMENTATION))?;
    let mut rows = Vec::new();
    for target in targets {
        let binary = build_directory.join(&host).join("release").join(target.name);
        rows.push(run_target(target, &binary, budget)?);
    }
    println!("\n{:<12} {:>12} {:>9} {:>10} {:>8}", "target", "inputs", "seconds", "inputs/s", "corpus");
    for row in &rows {
        println!(
            "{:<12} {:>12} {:>9.0} {:>10.0} {:>8}",
            row.name,
            row.inputs,
            row.seconds,
            row.inputs as f64 / row.seconds.max(0.001),
            row.corpus
        );
    }
    Ok(())
}

/// What one target's run did.
struct Figures {
    name: &'static str,
    inputs: u64,
    seconds: f64,
    corpus: usize,
}

fn run_target(target: &Target, binary: &Path, budget: Budget) -> Result<Figures, String> {
    let seeds = root().join("target/fuzz/seeds").join(target.name);
    let corpus = root().join("fuzz/corpus").join(target.name);
    let artifacts = root().join("fuzz/artifacts").join(target.name);
    let regressions = root().join("fuzz-targets/regressions").join(target.name);
    for directory in [&seeds, &corpus, &artifacts, &regressions] {
        std::fs::create_dir_all(directory)
            .map_err(|error| format!("cannot create {}: {error}", directory.display()))?;
    }
    for (index, seed) in (target.seeds)().iter().enumerate() {
        let file = seeds.join(format!("seed-{index}"));
        std::fs::write(&file, seed).map_err(|error| format!("cannot write {}: {error}", file.display()))?;
    }
    let limit = match budget {
        Budget::Seconds(seconds) => format!("-max_total_time={seconds}"),
        Budget::Runs(runs) => format!("-runs={runs}"),
    };
    println!("xtask: fuzzing `{}` ({limit})", target.name);
    let started = Instant::now();
    let result = Command::new(binary)
        .arg(limit)
        .args(["-timeout=10", "-rss_limit_mb=2048", "-print_final_stats=1", "-print_pcs=0"])
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .args([&corpus, &seeds, &regressions])
        .current_dir(root())
        .output()
        .map_err(|error| format!("cannot run {}: {error}", binary.display()))?;
    let seconds = started.elapsed().as_secs_f64();
    let log = String::from_utf8_lossy(&result.stderr);
    if !result.status.success() {
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(format!(
            "fuzz target `{}` found an input that breaks it ({}):\n{}\nThe input is under {}; once \
             fixed, copy it into {} under a name that says what broke.",
            target.name,
            result.status,
            tail.join("\n"),
            artifacts.display(),
            regressions.display()
        ));
    }
    let stat = |name: &str| {
        log.lines()
            .find_map(|line| line.strip_prefix(name).map(|value| value.trim().parse::<u64>().unwrap_or(0)))
            .unwrap_or(0)
    };
    let corpus_size = std::fs::read_dir(&corpus).map(|entries| entries.count()).unwrap_or(0);
    Ok(Figures {
        name: target.name,
        inputs: stat("stat::number_of_executed_units:"),
        seconds,
        corpus: corpus_size,
    })
}

/// The host's target triple, so the instrumentation applies to the fuzz binaries and
/// not to build scripts and procedural macros.
fn host_triple() -> Result<String, String> {
    let version = output(Command::new("rustc").arg("-vV"))?;
    version
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .map(str::to_string)
        .ok_or_else(|| "rustc -vV names no host".to_string())
}
