//! Builds `cvm-process`, the static program every cVM's process starts from on the Linux
//! host (`src/platform/host/process/shim.c`), for the target's architecture; the
//! intravisor embeds it and execs it from a sealed memory file.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let source = "src/platform/host/process/shim.c";
    println!("cargo:rerun-if-changed={source}");
    println!("cargo:rerun-if-env-changed=CVM_SHIM_CC");
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if target_os != "linux" || std::env::var_os("CARGO_FEATURE_STD").is_none() {
        return;
    }
    let architecture = std::env::var("CARGO_CFG_TARGET_ARCH").expect("cargo sets the target architecture");
    let output = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("cvm-process");
    // clang-14 and lld (installed by `cargo xtask setup`) build for either architecture;
    // before setup has run (the xtask itself is built first), the system's C compiler
    // builds for this machine's.
    let native = std::env::var("HOST").unwrap_or_default().starts_with(&architecture);
    let (compiler, clang) = match std::env::var("CVM_SHIM_CC") {
        Ok(compiler) => (compiler.clone(), compiler.contains("clang")),
        Err(_) if Path::new("/usr/bin/clang-14").exists() || !native => ("clang-14".to_string(), true),
        Err(_) => ("cc".to_string(), false),
    };
    let mut command = Command::new(&compiler);
    if clang {
        command.arg(format!("--target={architecture}-linux-gnu")).arg("-fuse-ld=lld");
    } else {
        command.arg("-no-pie");
    }
    command
        .args(["-static", "-nostdlib", "-ffreestanding", "-fno-stack-protector", "-fno-pie", "-O2"])
        .args(["-Wall", "-Wextra", "-Werror", "-mgeneral-regs-only", "-fno-asynchronous-unwind-tables"])
        .args(["-Wl,--build-id=none", "-o"])
        .arg(&output)
        .arg(source);
    if architecture == "aarch64" {
        command.arg("-mno-outline-atomics");
    }
    let status = command.status().unwrap_or_else(|error| {
        panic!(
            "cannot run {compiler} to build {source} (cargo xtask setup installs clang-14 and lld): {error}"
        )
    });
    assert!(status.success(), "{compiler} failed to build {source}: {status}");
}
