//! The cVM SDK: `target/cvm-sdk/<rust target>/`, with the `cvm-cc` driver (and
//! `cvm-ar`, `cvm-ranlib`) in `bin/`, musl's headers and the libOS's `cvm.h` in
//! `include/`, and in `lib/` everything a link needs: `libc.so`, `libcvm.so`, the start
//! files, the compiler's runtime library, the cls-pass and the CLS linker script. The
//! layout is the driver's (`cvm_cc::sdk`); `share/cmake/cvm.cmake` is a CMake toolchain
//! file for it.
//!
//! [`build`] makes it in two steps: first the compiler's part (the driver, the pass, the
//! linker script, the runtime library), with which musl is compiled and linked
//! (`crate::libc`); then musl's `libc.so` and headers and the libOS. Every other cVM
//! object the xtask builds (the examples, ffmpeg) is built with the finished SDK, and so
//! can a user's: `CC=target/cvm-sdk/x86_64-unknown-none/bin/cvm-cc ./configure && make`.

use std::path::{Path, PathBuf};
use std::process::Command;

use cvm_cc::sdk::{self, Description};
use sha2::Digest;

use super::examples::{build_libos, build_pass, CvmTarget};
use super::setup::CLANG;
use super::sources::{captured, read};
use super::{cargo, root, run};

/// An SDK on disk.
#[derive(Debug, Clone)]
pub struct Sdk {
    /// Its root directory.
    pub root: PathBuf,
}

impl Sdk {
    /// A program of its `bin/`: `cvm-cc`, `cvm-ar` or `cvm-ranlib`.
    pub fn tool(&self, name: &str) -> PathBuf {
        self.root.join("bin").join(name)
    }

    /// The driver.
    pub fn cc(&self) -> PathBuf {
        self.tool("cvm-cc")
    }

    /// The driver, as a command.
    pub fn command(&self) -> Command {
        Command::new(self.cc())
    }

    /// A file of its `lib/`: `libc.so`, `libcvm.so`, `crt1.o`, ...
    pub fn lib(&self, name: &str) -> PathBuf {
        self.root.join("lib").join(name)
    }

    /// Its headers.
    pub fn include(&self) -> PathBuf {
        self.root.join("include")
    }

    /// What a build with this SDK of a C library's users depends on, as a digest: the
    /// configuration, the driver, its description, the cls-pass and `libc.so`.
    pub fn stamp(&self, configuration: &[String]) -> Result<String, String> {
        let mut digest = sha2::Sha256::new();
        for part in [
            configuration.join("\n").into_bytes(),
            read(&self.cc())?,
            read(&self.root.join(sdk::DESCRIPTION_FILE))?,
            read(&self.lib(sdk::CLS_PASS))?,
            read(&self.lib("libc.so"))?,
        ] {
            digest.update((part.len() as u64).to_le_bytes());
            digest.update(part);
        }
        Ok(digest.finalize().iter().map(|byte| format!("{byte:02x}")).collect())
    }
}

/// Builds the SDK of `target`: the compiler's part, musl with it, the libOS, and their
/// installation. Files already there with the same bytes are left alone, so that builds
/// that use the SDK see nothing new.
pub fn build(target: CvmTarget) -> Result<Sdk, String> {
    let sdk = compiler(target)?;
    let libc = crate::libc::build_libc(target, &sdk)?;
    let libos = build_libos(target)?;
    install_tree(&libc.include, &sdk.include())?;
    install(&libc.library, &sdk.lib("libc.so"))?;
    install(&libos.library, &sdk.lib("libcvm.so"))?;
    install(&libos.start_libc, &sdk.lib(sdk::START_LIBC))?;
    install(&libos.start, &sdk.lib(sdk::START_NOLIBC))?;
    Ok(sdk)
}

/// The compiler's part of the SDK of `target`: the driver, its description, the
/// cls-pass, the CLS linker script, the compiler's runtime library, the libOS's header
/// and musl's empty archives.
fn compiler(target: CvmTarget) -> Result<Sdk, String> {
    crate::libc::install_tools(target)?;
    let pass = build_pass()?;
    run(cargo().args(["build", "--quiet", "-p", "cvm-cc"]))?;
    let sdk = Sdk { root: root().join("target/cvm-sdk").join(target.rust) };
    for directory in ["bin", "lib", "include"].map(|name| sdk.root.join(name)) {
        std::fs::create_dir_all(&directory)
            .map_err(|error| format!("cannot create {}: {error}", directory.display()))?;
    }
    install(&root().join("target/debug/cvm-cc"), &sdk.cc())?;
    for name in ["cvm-ar", "cvm-ranlib"] {
        let link = sdk.tool(name);
        if std::fs::read_link(&link).is_err() {
            std::os::unix::fs::symlink("cvm-cc", &link)
                .map_err(|error| format!("cannot link {} to cvm-cc: {error}", link.display()))?;
        }
    }
    install(&root().join("cvm-libos/include/cvm.h"), &sdk.include().join("cvm.h"))?;
    install(&crate::libc::builtins_archive(target)?, &sdk.lib(sdk::RUNTIME_LIBRARY))?;
    install(&root().join("cvm-libos/c/cls-bss.ld"), &sdk.lib(sdk::CLS_BSS_SCRIPT))?;
    install(&pass, &sdk.lib(sdk::CLS_PASS))?;
    for empty in sdk::EMPTY_LIBRARIES {
        write_if_changed(&sdk.lib(empty), b"!<arch>\n")?;
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
    let cmake = sdk.root.join("share/cmake");
    std::fs::create_dir_all(&cmake).map_err(|error| format!("cannot create {}: {error}", cmake.display()))?;
    write_if_changed(&cmake.join("cvm.cmake"), cmake_toolchain(target).as_bytes())?;
    Ok(sdk)
}

/// The CMake toolchain file of the SDK (`share/cmake/cvm.cmake`): the driver and the
/// archiver as CMake's tools, and the SDK as the only place packages and libraries are
/// found. It finds the SDK from its own place, so the SDK may be moved.
fn cmake_toolchain(target: CvmTarget) -> String {
    let processor = target.clang.split('-').next().unwrap_or_default();
    format!(
        "# CMake toolchain file for ORC objects: cmake -DCMAKE_TOOLCHAIN_FILE=<this file> ...\n\
         get_filename_component(CVM_SDK \"${{CMAKE_CURRENT_LIST_DIR}}/../..\" ABSOLUTE)\n\
         set(CMAKE_SYSTEM_NAME Linux)\n\
         set(CMAKE_SYSTEM_PROCESSOR {processor})\n\
         set(CMAKE_C_COMPILER \"${{CVM_SDK}}/bin/cvm-cc\")\n\
         set(CMAKE_AR \"${{CVM_SDK}}/bin/cvm-ar\")\n\
         set(CMAKE_RANLIB \"${{CVM_SDK}}/bin/cvm-ranlib\")\n\
         set(CMAKE_FIND_ROOT_PATH \"${{CVM_SDK}}\")\n\
         set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)\n\
         set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)\n\
         set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)\n\
         set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)\n"
    )
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
