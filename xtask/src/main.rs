//! `cargo xtask`: the one entry point for building, running and testing the project.
//!
//! ```text
//! cargo xtask setup   install what the build needs (Debian packages, Rust targets)
//! cargo xtask build   build cvm-libos for cVMs and every example's programs
//! cargo xtask demo    build, then run examples/transcode (8 transcoding cVMs) and sum it up
//! cargo xtask test    build, then every test, clippy and rustfmt, and every fuzz target
//!                     for a minute
//! cargo xtask bench   build, then the benchmarks (`bench density`: the transcode one;
//!                     `bench short`: its first table alone, every frame size;
//!                     `bench steady [N] [WIDTHxHEIGHT] [--full]`: its long-transcode
//!                     table alone (N at once, at that frame size, by the full build);
//!                     `bench vm`: its virtual-machine table alone;
//!                     `bench scale`: 1,000 idle cVMs;
//!                     `bench node`: a container's start and memory on a node)
//! cargo xtask image DEPLOY.yaml --platform aarch64-virt -o FILE
//!                     a bootable bare-metal image of a deployment
//! cargo xtask qemu IMAGE
//!                     boot an image on QEMU -M virt (exit code from semihosting)
//! cargo xtask oci [-o FILE]
//!                     the transcoder as an OCI image archive, for containerd
//! cargo xtask libc [--aarch64]
//!                     build musl as libc.so for cVMs (this host's, or AArch64)
//! cargo xtask ffmpeg [--full]
//!                     build ffmpeg's libraries and program for this host's cVMs
//! cargo xtask fuzz [--seconds N | --runs N] [TARGET...]
//!                     the libFuzzer targets (object, deployment, policy, manifest,
//!                     hostcall), 60 s each by default
//! ```
//!
//! CI runs `cargo xtask test`, the same command a person types.

mod alone;
mod bench;
mod c64;
mod census;
mod demo;
mod density;
mod examples;
mod ffmpeg;
mod fuzz;
mod image;
mod libc;
mod node_bench;
mod oci;
mod plots;
mod scale;
mod sdk;
mod setup;
mod sources;
mod sqlite;
mod steady;
mod transcode;
mod vm;
mod workload;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let result = match arguments.first().map(String::as_str) {
        Some("setup") => setup::install(),
        Some("build") => build(),
        Some("demo") => demo(),
        Some("test") => test(),
        Some("bench") if arguments.get(1).is_some_and(|name| name == "density") => {
            build().and_then(|()| density::run_density())
        }
        Some("bench") if arguments.get(1).is_some_and(|name| name == "short") => {
            build().and_then(|()| density::run_short())
        }
        Some("bench") if arguments.get(1).is_some_and(|name| name == "steady") => {
            steady::check_arguments(&arguments[2..])
                .and_then(|()| build())
                .and_then(|()| steady::run_steady(&arguments[2..]))
        }
        Some("bench") if arguments.get(1).is_some_and(|name| name == "vm") => {
            build().and_then(|()| density::run_vms())
        }
        Some("bench") if arguments.get(1).is_some_and(|name| name == "scale") => build()
            .and_then(|()| run(cargo().args(["build", "--quiet", "--release", "--bin", "intravisor"])))
            .and_then(|()| scale::run_scale()),
        Some("bench") if arguments.get(1).is_some_and(|name| name == "node") => {
            build().and_then(|()| node_bench::run_node_bench())
        }
        Some("bench") => bench(),
        Some("image") => build().and_then(|()| image::run_image(&arguments[1..])),
        Some("qemu") => image::run_qemu(&arguments[1..]),
        Some("libc") => libc::run_command(&arguments[1..]),
        Some("oci") => build().and_then(|()| oci::run_command(&arguments[1..])),
        Some("ffmpeg") => ffmpeg::run_command(&arguments[1..]),
        Some("fuzz") => fuzz::run_command(&arguments[1..]),
        _ => {
            Err("usage: cargo xtask setup|build|demo|test|bench|image|qemu|oci|libc|ffmpeg|fuzz".to_string())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_path_buf()
}

/// Runs a command in the workspace root, failing with its description.
fn run(command: &mut Command) -> Result<(), String> {
    let description = format!("{command:?}");
    let status =
        command.current_dir(root()).status().map_err(|error| format!("cannot run {description}: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{description} failed with {status}"))
    }
}

/// Runs a command and returns what it printed, failing with what it printed to stderr.
fn output(command: &mut Command) -> Result<String, String> {
    let description = format!("{command:?}");
    let output = command.output().map_err(|error| format!("cannot run {description}: {error}"))?;
    if !output.status.success() {
        return Err(format!("{description} failed: {}", String::from_utf8_lossy(&output.stderr)));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Cargo options for the builds for targets without an operating system: the release
/// profile links the intravisor whole (`lto`), but those targets' prebuilt `core` holds
/// no bitcode to link that way, so these build as before, in 16 units, not linked whole.
const NOT_LINKED_WHOLE: [&str; 4] =
    ["--config", "profile.release.lto=false", "--config", "profile.release.codegen-units=16"];

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string()))
}

fn build() -> Result<(), String> {
    // Two builds at once (tests run `cargo xtask build` or `oci` from parallel threads)
    // would write the same build directories: one waits for the other, then finds
    // everything up to date.
    let lock_path = root().join("target/xtask-build.lock");
    std::fs::create_dir_all(root().join("target"))
        .map_err(|error| format!("cannot create target/: {error}"))?;
    let lock = std::fs::File::create(&lock_path)
        .map_err(|error| format!("cannot create {}: {error}", lock_path.display()))?;
    lock.lock().map_err(|error| format!("cannot lock {}: {error}", lock_path.display()))?;
    setup::install()?;
    examples::build_all()
}

/// The flagship workload: 8 cVMs transcoding with one shared copy of ffmpeg and musl.
fn demo() -> Result<(), String> {
    build()?;
    run(cargo().args(["build", "--quiet", "--release", "--bin", "intravisor"]))?;
    demo::run_demo()
}

fn test() -> Result<(), String> {
    build()?;
    run(cargo().args(["fmt", "--all", "--check"]))?;
    run(cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))?;
    image::lint_bare_metal()?;
    // The host platform must keep compiling for AArch64 Linux.
    run(cargo().args([
        "check",
        "--quiet",
        "-p",
        "intravisor",
        "--all-targets",
        "--target",
        "aarch64-unknown-linux-gnu",
    ]))?;
    run(cargo().args(["test", "--workspace"]))?;
    // The cls-pass's second leg: built for LLVM 16, with its own IR tests.
    run(cargo()
        .args(["test", "-p", "cls-pass", "--no-default-features", "--features", "llvm16"])
        .args(["--target-dir", "target/llvm16"]))?;
    // Every fuzz target for a minute, so a change that breaks a parser shows up here.
    fuzz::fuzz(&fuzz_targets::TARGETS, fuzz::Budget::Seconds(60))
}

fn bench() -> Result<(), String> {
    build()?;
    bench::run_all()
}
