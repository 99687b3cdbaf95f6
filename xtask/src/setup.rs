//! Installing what the build needs, on a fresh Debian machine.
//!
//! The cVM programs are built with Debian's clang-14 and lld-14; cvm-libos is built for
//! the bare-metal Rust target of the host's architecture. Each is installed only when
//! missing, so `setup` is quick when everything is there.

use std::path::Path;
use std::process::Command;

use super::run;

/// The Debian packages the build uses: the C compiler and linker for cVM programs,
/// LLVM 14's development files for the cls-pass plugin, FileCheck for its IR tests,
/// LLVM 16 for the plugin's second leg and its version-guard tests, valgrind for the
/// benchmarks' instruction counts, QEMU for the bare-metal images, Debian's ffmpeg
/// (ffprobe), the peer that checks what the transcoding cVMs write, Debian's sqlite3,
/// the reference the SQLite cVMs are compared with, CMake, to build a project with
/// the SDK's toolchain file, containerd (with `ctr`), which the shim's tests run, and
/// e2fsprogs, whose `mkfs.ext4` makes the small file system a full-disk test fills.
const PACKAGES: [&str; 13] = [
    "clang-14",
    "lld-14",
    "llvm-14-dev",
    "llvm-14-tools",
    "clang-16",
    "llvm-16-dev",
    "valgrind",
    "qemu-system-arm",
    "ffmpeg",
    "sqlite3",
    "cmake",
    "containerd",
    "e2fsprogs",
];

/// The C compiler the examples are built with.
pub const CLANG: &str = "/usr/bin/clang-14";

/// Installs whatever of the packages and the Rust target is missing.
pub fn install() -> Result<(), String> {
    let missing: Vec<&str> = PACKAGES.iter().copied().filter(|package| !installed(package)).collect();
    if !missing.is_empty() {
        println!("xtask: installing {}", missing.join(" "));
        run(Command::new("apt-get").args(["update", "-qq"]))?;
        run(Command::new("apt-get")
            .args(["install", "-y", "-qq", "--no-install-recommends"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive"))?;
    }
    let targets = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map_err(|error| format!("cannot run rustup: {error}"))?;
    let installed_targets = String::from_utf8_lossy(&targets.stdout);
    // The cVM target, and AArch64 Linux, which the host platform must keep compiling for.
    for target in ["x86_64-unknown-none", "aarch64-unknown-none", "aarch64-unknown-linux-gnu"] {
        if !installed_targets.lines().any(|line| line == target) {
            run(Command::new("rustup").args(["target", "add", target]))?;
        }
    }
    Ok(())
}

fn installed(package: &str) -> bool {
    match package {
        "clang-14" => Path::new(CLANG).exists(),
        "lld-14" => Path::new("/usr/bin/ld.lld-14").exists(),
        "llvm-14-tools" => Path::new("/usr/lib/llvm-14/bin/FileCheck").exists(),
        "llvm-14-dev" => Path::new("/usr/lib/llvm-14/bin/llvm-config").exists(),
        "valgrind" => Path::new("/usr/bin/valgrind").exists(),
        "qemu-system-arm" => Path::new("/usr/bin/qemu-system-aarch64").exists(),
        "clang-16" => Path::new("/usr/bin/clang-16").exists(),
        "llvm-16-dev" => Path::new("/usr/lib/llvm-16/bin/llvm-config").exists(),
        "ffmpeg" => Path::new("/usr/bin/ffprobe").exists(),
        "sqlite3" => Path::new("/usr/bin/sqlite3").exists(),
        "cmake" => Path::new("/usr/bin/cmake").exists(),
        "containerd" => Path::new("/usr/bin/containerd").exists() && Path::new("/usr/bin/ctr").exists(),
        "e2fsprogs" => Path::new("/usr/sbin/mkfs.ext4").exists(),
        _ => false,
    }
}
