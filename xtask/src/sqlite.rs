//! SQLite 3.40 for cVMs, the second real workload: Debian's `sqlite3` source package
//! (`crate::sources`) configured and built by its own `configure` and `Makefile`, out of
//! tree in `target/cvm-sqlite/<rust-target>/`, with the SDK's `cvm-cc`, `cvm-ar` and
//! `cvm-ranlib` as its tools (`crate::sdk`) and no change to its sources. The results,
//! `libsqlite3.so.0` (a shared ORC object) and the `sqlite3` shell on it, are copied with
//! the SDK's `libc.so` and `libcvm.so` into the build directories of `examples/sqlite/`.
//!
//! The compiler flags are Debian's own (`debian/rules`), so the shell behaves as
//! Debian's `sqlite3` of the same version, the native reference. `CROSS_BUILDING=yes`
//! makes Debian's cross-building patch build the parser generator `lemon` (which runs
//! on the build machine) with the host's compiler.

use std::path::PathBuf;

use super::examples::CvmTarget;
use super::ffmpeg::copy;
use super::root;
use super::sdk::Sdk;
use super::sources::{configure_and_make, unpacked_source};

/// The upstream version (Debian 12's `sqlite3` source and binary packages).
pub const VERSION: &str = "3.40.1";

/// Debian's `CFLAGS` for the package (`debian/rules`), `-O2` included.
const DEBIAN_FLAGS: [&str; 23] = [
    "-O2",
    "-fno-strict-aliasing",
    "-DSQLITE_SECURE_DELETE",
    "-DSQLITE_ENABLE_COLUMN_METADATA",
    "-DSQLITE_ENABLE_FTS3",
    "-DSQLITE_ENABLE_FTS3_PARENTHESIS",
    "-DSQLITE_ENABLE_RTREE=1",
    "-DSQLITE_SOUNDEX=1",
    "-DSQLITE_ENABLE_UNLOCK_NOTIFY",
    "-DSQLITE_OMIT_LOOKASIDE=1",
    "-DSQLITE_ENABLE_DBSTAT_VTAB",
    "-DSQLITE_ALLOW_ROWID_IN_VIEW",
    "-DSQLITE_ENABLE_UPDATE_DELETE_LIMIT=1",
    "-DSQLITE_ENABLE_LOAD_EXTENSION",
    "-DSQLITE_ENABLE_JSON1",
    "-DSQLITE_LIKE_DOESNT_MATCH_BLOBS",
    "-DSQLITE_THREADSAFE=1",
    "-DSQLITE_ENABLE_FTS3_TOKENIZER=1",
    "-DSQLITE_USE_URI=1",
    "-DSQLITE_MAX_SCHEMA_RETRY=25",
    "-DSQLITE_ENABLE_PREUPDATE_HOOK",
    "-DSQLITE_ENABLE_SESSION",
    "-DSQLITE_ENABLE_STMTVTAB",
];

/// Builds SQLite for `target` with `sdk` and copies it, with the SDK's `libc.so` and
/// `libcvm.so`, into each of `examples/sqlite/DIRECTORY`.
pub fn build_for(target: CvmTarget, sdk: &Sdk, directories: &[&str]) -> Result<(), String> {
    let source = unpacked_source("sqlite3", VERSION, "VERSION")?;
    let output = root().join("target/cvm-sqlite").join(target.rust);
    let mut flags: Vec<&str> = DEBIAN_FLAGS.to_vec();
    flags.push("-DSQLITE_MAX_VARIABLE_NUMBER=250000");
    let configure = vec![
        format!("CC={}", sdk.cc().display()),
        format!("AR={}", sdk.tool("cvm-ar").display()),
        format!("RANLIB={}", sdk.tool("cvm-ranlib").display()),
        format!("CFLAGS={}", flags.join(" ")),
        format!("--host={}", target.clang),
        "--disable-readline".to_string(),
        "--disable-tcl".to_string(),
        "--enable-shared".to_string(),
        "--disable-static".to_string(),
        "--enable-threadsafe".to_string(),
        "--enable-load-extension".to_string(),
        "--enable-json".to_string(),
        "--enable-fts4".to_string(),
        "--enable-fts5".to_string(),
        "--disable-amalgamation".to_string(),
    ];
    let stamp = sdk.stamp(&configure)?;
    let what = format!("SQLite {VERSION} for {}", target.clang);
    configure_and_make(
        &source,
        &output,
        &configure,
        &stamp,
        &what,
        // One job: the Makefile does not make every object wait for the generated
        // `sqlite3.h`.
        &["-j1", "CROSS_BUILDING=yes", "libsqlite3.la", "sqlite3"],
    )?;
    let built = output.join("build/.libs");
    let library = std::fs::read_dir(&built)
        .map_err(|error| format!("cannot list {}: {error}", built.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .find(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("libsqlite3.so.0.") && !path.is_symlink())
        })
        .ok_or_else(|| format!("SQLite's build left no libsqlite3.so.0.* in {}", built.display()))?;
    for directory in directories {
        let destination: PathBuf = root().join("examples/sqlite").join(directory);
        std::fs::create_dir_all(&destination)
            .map_err(|error| format!("cannot create {}: {error}", destination.display()))?;
        copy(&library, &destination.join("libsqlite3.so.0"))?;
        copy(&built.join("sqlite3"), &destination.join("sqlite3"))?;
        copy(&sdk.lib("libc.so"), &destination.join("libc.so"))?;
        copy(&sdk.lib("libcvm.so"), &destination.join("libcvm.so"))?;
    }
    Ok(())
}
