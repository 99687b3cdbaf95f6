//! Shared by the integration tests: finds the LLVM tools and builds the plugin.
//!
//! `cargo test` does not build a `cdylib`, so the first test that needs the plugin
//! runs `cargo build -p cls-pass` for the profile and features of the test binary
//! itself, once per test process, and uses `target/<profile>/libcls_pass.so`.

#![allow(dead_code)] // reason: each test binary uses a different part of this module

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The LLVM major version the tests and the plugin are built for.
pub const LLVM_MAJOR: u32 = if cfg!(feature = "llvm16") { 16 } else { 14 };

/// `/usr/lib/llvm-NN/bin/<tool>`.
pub fn llvm_tool(tool: &str) -> PathBuf {
    PathBuf::from(format!("/usr/lib/llvm-{LLVM_MAJOR}/bin/{tool}"))
}

/// The crate's directory.
pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `target/<profile>`, the directory that holds the test binary's `deps/`.
fn profile_dir() -> PathBuf {
    let executable = std::env::current_exe().expect("test executable path");
    let deps = executable.parent().expect("deps directory");
    deps.parent().expect("profile directory").to_path_buf()
}

/// The built plugin, building it first if this process has not yet.
pub fn plugin() -> &'static Path {
    static PLUGIN: OnceLock<PathBuf> = OnceLock::new();
    PLUGIN.get_or_init(build_plugin)
}

fn build_plugin() -> PathBuf {
    let profile_dir = profile_dir();
    let target_dir = profile_dir.parent().expect("target directory");
    let profile = profile_dir.file_name().and_then(|name| name.to_str()).unwrap_or("debug");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut command = Command::new(cargo);
    command.args(["build", "--quiet", "-p", "cls-pass", "--lib"]).env("CARGO_TARGET_DIR", target_dir);
    match profile {
        "debug" => {}
        "release" => {
            command.arg("--release");
        }
        other => {
            command.args(["--profile", other]);
        }
    }
    if cfg!(feature = "llvm16") {
        command.args(["--no-default-features", "--features", "llvm16"]);
    }
    let status = command.status().expect("run cargo build for the plugin");
    assert!(status.success(), "building the plugin failed: {status}");
    let plugin = profile_dir.join("libcls_pass.so");
    assert!(plugin.is_file(), "{} missing after the build", plugin.display());
    plugin
}

/// A fresh scratch directory under the target directory, named after `test`.
pub fn scratch_dir(test: &str) -> PathBuf {
    let directory = profile_dir().join("cls-pass-tests").join(test);
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).expect("create scratch directory");
    directory
}
