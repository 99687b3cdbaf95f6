//! The SDK directory a driver belongs to, and what it holds:
//!
//! ```text
//! SDK/cvm-sdk.json       the description: target, tools, flags (Description)
//! SDK/bin/cvm-cc         this driver; cvm-ar and cvm-ranlib are links to it
//! SDK/include/           musl's headers and the libOS's cvm.h
//! SDK/lib/               libc.so, libcvm.so, the start files, libgcc.a, the cls-pass,
//!                        the CLS linker script, and musl's empty libm.a, libpthread.a, ...
//! SDK/share/cmake/cvm.cmake  a CMake toolchain file
//! ```
//!
//! The SDK is found from `CVM_SDK`, else as the parent of the directory the running
//! binary is in. `cargo xtask build` assembles one per cVM target in
//! `target/cvm-sdk/<rust target>/`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::DriverError;

/// The file, in the SDK's root, that describes it.
pub const DESCRIPTION_FILE: &str = "cvm-sdk.json";

/// The start file of programs on the C library (`_start` → libOS set-up, initialisers,
/// `main`, `exit`).
pub const START_LIBC: &str = "crt1.o";
/// The start file of programs without the C library (`-nolibc`).
pub const START_NOLIBC: &str = "start-nolibc.o";
/// The compiler's runtime library (128-bit `long double`, complex arithmetic).
pub const RUNTIME_LIBRARY: &str = "libgcc.a";
/// The linker script that makes zero-initialised CLS templates NOBITS.
pub const CLS_BSS_SCRIPT: &str = "cls-bss.ld";
/// The cls-pass plugin.
pub const CLS_PASS: &str = "cls-pass.so";
/// The libraries musl folds into `libc.so`, installed as empty archives so that `-lm`,
/// `-lpthread`, ... link as they do on any Linux system.
pub const EMPTY_LIBRARIES: [&str; 7] =
    ["libm.a", "libpthread.a", "libdl.a", "librt.a", "libutil.a", "libxnet.a", "libcrypt.a"];

/// What `cvm-sdk.json` says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Description {
    /// clang's name of the target (`x86_64-linux-gnu`, `aarch64-linux-gnu`).
    pub target: String,
    /// The clang that compiles and links (clang-14 with lld).
    pub clang: PathBuf,
    /// clang's own headers (intrinsics), searched after musl's.
    pub clang_include: PathBuf,
    /// LLVM's archiver, run as `cvm-ar`.
    pub archiver: PathBuf,
    /// LLVM's ranlib, run as `cvm-ranlib`.
    pub ranlib: PathBuf,
    /// Flags every compilation for this target gets (on AArch64, `-mno-outline-atomics`).
    pub target_flags: Vec<String>,
}

/// An SDK found on disk.
#[derive(Debug, Clone)]
pub struct Sdk {
    pub root: PathBuf,
    pub description: Description,
}

impl Sdk {
    /// The SDK named by `CVM_SDK`, else the one the running binary is installed in.
    pub fn locate() -> Result<Self, DriverError> {
        let root = match std::env::var_os("CVM_SDK") {
            Some(root) => PathBuf::from(root),
            None => {
                let binary = std::env::current_exe()
                    .and_then(|path| path.canonicalize())
                    .map_err(|error| DriverError::NoSdk { reason: error.to_string() })?;
                binary.parent().and_then(Path::parent).map(Path::to_path_buf).ok_or_else(|| {
                    DriverError::NoSdk { reason: format!("{} is not in SDK/bin/", binary.display()) }
                })?
            }
        };
        Self::open(root)
    }

    /// The SDK in `root`.
    pub fn open(root: PathBuf) -> Result<Self, DriverError> {
        let path = root.join(DESCRIPTION_FILE);
        let text = std::fs::read_to_string(&path)
            .map_err(|error| DriverError::Description { path: path.clone(), reason: error.to_string() })?;
        let description = serde_json::from_str(&text)
            .map_err(|error| DriverError::Description { path, reason: error.to_string() })?;
        Ok(Self { root, description })
    }

    /// The headers of cVM code.
    pub fn include(&self) -> PathBuf {
        self.root.join("include")
    }

    /// The libraries, start files and the pass.
    pub fn lib(&self) -> PathBuf {
        self.root.join("lib")
    }
}
