//! The cVM SDK: `target/cvm-sdk/<rust target>/`, with the `cvm-cc` driver (and
//! `cvm-ar`, `cvm-ranlib`) in `bin/`, musl's headers and the libOS's `cvm.h` in
//! `include/`, and in `lib/` everything a link needs: `libc.so`, `libcvm.so`, the start
//! files, the compiler's runtime library, the cls-pass and the CLS linker script. The
//! layout is the driver's (`cvm_cc::sdk`). Every cVM object the xtask builds, but musl
//! and the libOS that the SDK is made of, is built with it; so can a user's:
//! `CC=target/cvm-sdk/x86_64-unknown-none/bin/cvm-cc ./configure && make`.

use std::path::{Path, PathBuf};
use std::process::Command;

use cvm_cc::sdk::{self, Description};

use super::examples::{CvmTarget, LibosBuild};
use super::libc::LibcBuild;
use super::setup::CLANG;
use super::sources::captured;
use super::{cargo, root, run};

/// An assembled SDK.
#[derive(Debug, Clone)]
pub struct Sdk {
    /// Its root directory.
    pub root: PathBuf,
}

impl Sdk {
    /// The driver.
    pub fn cc(&self) -> PathBuf {
        self.root.join("bin/cvm-cc")
    }

    /// The driver, as a command.
    pub fn command(&self) -> Command {
        Command::new(self.cc())
    }
}

/// Where the SDK of `target` goes.
pub fn directory(target: CvmTarget) -> PathBuf {
    root().join("target/cvm-sdk").join(target.rust)
}

/// Assembles the SDK of `target` from musl, the libOS and the cls-pass plugin. Files
/// that are already there with the same bytes are left alone, so that builds that use
/// the SDK see nothing new.
pub fn assemble(target: CvmTarget, libc: &LibcBuild, libos: &LibosBuild, pass: &Path) -> Result<Sdk, String> {
    run(cargo().args(["build", "--quiet", "-p", "cvm-cc"]))?;
    let sdk = Sdk { root: directory(target) };
    let (bin, lib, include) = (sdk.root.join("bin"), sdk.root.join("lib"), sdk.root.join("include"));
    for directory in [&bin, &lib, &include] {
        std::fs::create_dir_all(directory)
            .map_err(|error| format!("cannot create {}: {error}", directory.display()))?;
    }
    install(&root().join("target/debug/cvm-cc"), &sdk.cc())?;
    for name in ["cvm-ar", "cvm-ranlib"] {
        let link = bin.join(name);
        if std::fs::read_link(&link).is_err() {
            std::os::unix::fs::symlink("cvm-cc", &link)
                .map_err(|error| format!("cannot link {} to cvm-cc: {error}", link.display()))?;
        }
    }

    install_tree(&libc.include, &include)?;
    install(&root().join("cvm-libos/include/cvm.h"), &include.join("cvm.h"))?;

    install(&libc.library, &lib.join("libc.so"))?;
    install(&libos.library, &lib.join("libcvm.so"))?;
    install(&libos.start_libc, &lib.join(sdk::START_LIBC))?;
    install(&libos.start, &lib.join(sdk::START_NOLIBC))?;
    install(&crate::libc::builtins_archive(target)?, &lib.join(sdk::RUNTIME_LIBRARY))?;
    install(&root().join("cvm-libos/c/cls-bss.ld"), &lib.join(sdk::CLS_BSS_SCRIPT))?;
    install(pass, &lib.join(sdk::CLS_PASS))?;
    for empty in sdk::EMPTY_LIBRARIES {
        write_if_changed(&lib.join(empty), b"!<arch>\n")?;
    }

    let description = Description {
        target: target.clang.to_string(),
        clang: PathBuf::from(CLANG),
        clang_include: PathBuf::from(captured(Command::new(CLANG).arg("-print-resource-dir"))?.trim())
            .join("include"),
        archiver: PathBuf::from("/usr/bin/llvm-ar-14"),
        ranlib: PathBuf::from("/usr/bin/llvm-ranlib-14"),
        target_flags: crate::examples::target_flags(target).into_iter().map(str::to_string).collect(),
    };
    let text = serde_json::to_string_pretty(&description).map_err(|error| error.to_string())?;
    write_if_changed(&sdk.root.join(sdk::DESCRIPTION_FILE), text.as_bytes())?;
    Ok(sdk)
}

/// Copies `from` to `to` unless `to` already holds the same bytes.
fn install(from: &Path, to: &Path) -> Result<(), String> {
    let bytes = std::fs::read(from).map_err(|error| format!("cannot read {}: {error}", from.display()))?;
    let mode = std::fs::metadata(from).map_err(|error| error.to_string())?.permissions();
    write_if_changed(to, &bytes)?;
    std::fs::set_permissions(to, mode)
        .map_err(|error| format!("cannot set the mode of {}: {error}", to.display()))
}

fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    // Written beside and renamed, so a driver running meanwhile sees the old or the new.
    let partial = path.with_extension("partial");
    std::fs::write(&partial, bytes)
        .map_err(|error| format!("cannot write {}: {error}", partial.display()))?;
    std::fs::rename(&partial, path).map_err(|error| format!("cannot write {}: {error}", path.display()))
}

/// Copies every file under `from` to the same place under `to`.
fn install_tree(from: &Path, to: &Path) -> Result<(), String> {
    let entries =
        std::fs::read_dir(from).map_err(|error| format!("cannot list {}: {error}", from.display()))?;
    for entry in entries {
        let path = entry.map_err(|error| error.to_string())?.path();
        let destination = to.join(path.file_name().unwrap_or_default());
        if path.is_dir() {
            std::fs::create_dir_all(&destination)
                .map_err(|error| format!("cannot create {}: {error}", destination.display()))?;
            install_tree(&path, &destination)?;
        } else {
            install(&path, &destination)?;
        }
    }
    Ok(())
}
