//! Debian source packages and the commands that build them.
//!
//! [`unpacked_source`] fetches a source package with `apt-get source` into
//! `target/sources/` (never committed) and unpacks it with `dpkg-source`, adding a
//! `deb-src` entry to the apt sources first if there is none. The rest runs the builds:
//! commands logged to a file ([`logged`]) or captured ([`captured`]), and file helpers
//! whose errors name the path.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{root, run};

/// Written when no `deb-src` entry exists: Debian's binary entries, as `deb-src`.
const SOURCE_ENTRY: &str = "/etc/apt/sources.list.d/debian-src.sources";
/// Debian's binary entries on this machine.
const BINARY_ENTRY: &str = "/etc/apt/sources.list.d/debian.sources";

/// Fetches and unpacks Debian's source package `package` of upstream `version` into
/// `target/sources/PACKAGE-VERSION/` unless it is there already (`marker`, a file of the
/// tree, says it is); returns the unpacked tree.
pub(crate) fn unpacked_source(package: &str, version: &str, marker: &str) -> Result<PathBuf, String> {
    let sources = root().join("target/sources");
    let tree = sources.join(format!("{package}-{version}"));
    if tree.join(marker).is_file() {
        return Ok(tree);
    }
    std::fs::create_dir_all(&sources)
        .map_err(|error| format!("cannot create {}: {error}", sources.display()))?;
    let updated = add_source_entry()?;
    let download = || {
        let status = Command::new("apt-get")
            .args(["source", "--download-only", "-qq", package])
            .current_dir(&sources)
            .status()
            .map_err(|error| format!("cannot run apt-get: {error}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!(
                "`apt-get source --download-only {package}` in {} failed with {status}",
                sources.display()
            ))
        }
    };
    if let Err(error) = download() {
        if updated {
            return Err(error);
        }
        // A deb-src entry was there, but perhaps not its package lists: refresh once.
        run(Command::new("apt-get").args(["update", "-qq"]))?;
        download()?;
    }
    let dsc = find_dsc(&sources, package, version)?;
    // Unpack beside the final name, so an interrupted run is never taken as done.
    let partial = sources.join(format!("{package}-{version}.partial"));
    remove_directory(&partial)?;
    run(Command::new("dpkg-source").arg("-x").arg(&dsc).arg(&partial))?;
    std::fs::rename(&partial, &tree)
        .map_err(|error| format!("cannot rename {} to {}: {error}", partial.display(), tree.display()))?;
    Ok(tree)
}

/// Adds `SOURCE_ENTRY` (a copy of Debian's binary entries as `deb-src`) and refreshes
/// the package lists, unless some `deb-src` entry exists; true if it did.
fn add_source_entry() -> Result<bool, String> {
    if has_source_entry() {
        return Ok(false);
    }
    let binary = std::fs::read_to_string(BINARY_ENTRY).map_err(|error| {
        format!("no deb-src entry in the apt sources, and cannot read {BINARY_ENTRY} to make one ({error}): add one by hand")
    })?;
    let entry = source_entry(&binary);
    println!("xtask: adding {SOURCE_ENTRY} for Debian's source packages");
    std::fs::write(SOURCE_ENTRY, entry)
        .map_err(|error| format!("cannot write {SOURCE_ENTRY}: {error} (run as root)"))?;
    run(Command::new("apt-get").args(["update", "-qq"]))?;
    Ok(true)
}

/// The `deb-src` twin of deb822 binary entries: the same URIs, suites, components and
/// keys, with `Types: deb-src`.
pub(crate) fn source_entry(binary: &str) -> String {
    binary
        .lines()
        .map(|line| match line.strip_prefix("Types:") {
            Some(types) if types.split_whitespace().any(|kind| kind == "deb") => "Types: deb-src",
            _ => line,
        })
        .flat_map(|line| [line, "\n"])
        .collect()
}

/// Whether any apt sources file has a `deb-src` entry.
fn has_source_entry() -> bool {
    let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(entries) = std::fs::read_dir("/etc/apt/sources.list.d") {
        files.extend(entries.filter_map(|entry| entry.ok().map(|entry| entry.path())));
    }
    files.iter().any(|file| {
        let deb822 = file.extension().is_some_and(|extension| extension == "sources");
        let list = file.extension().is_some_and(|extension| extension == "list");
        std::fs::read_to_string(file).is_ok_and(|text| {
            text.lines().map(str::trim).any(|line| {
                if deb822 {
                    line.strip_prefix("Types:")
                        .is_some_and(|types| types.split_whitespace().any(|kind| kind == "deb-src"))
                } else {
                    list && line.starts_with("deb-src ")
                }
            })
        })
    })
}

/// The downloaded `.dsc` of the wanted upstream version.
fn find_dsc(sources: &Path, package: &str, version: &str) -> Result<PathBuf, String> {
    let prefix = format!("{package}_{version}-");
    let mut found: Vec<PathBuf> = std::fs::read_dir(sources)
        .map_err(|error| format!("cannot list {}: {error}", sources.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with(&prefix) && name.ends_with(".dsc"))
        })
        .collect();
    found.sort();
    found.pop().ok_or_else(|| {
        format!(
            "apt-get fetched no {package} {version} source package into {}: the build is written for \
             {version}; check `apt-cache showsrc {package}`",
            sources.display()
        )
    })
}

/// Runs a command with its output appended to `log`; on failure, shows the log's end.
pub(crate) fn logged(command: &mut Command, log: &Path) -> Result<(), String> {
    let description = format!("{command:?}");
    let file = File::options()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|error| format!("cannot open {}: {error}", log.display()))?;
    let duplicate = file.try_clone().map_err(|error| format!("cannot reopen {}: {error}", log.display()))?;
    let status = command
        .stdout(Stdio::from(file))
        .stderr(Stdio::from(duplicate))
        .status()
        .map_err(|error| format!("cannot run {description}: {error}"))?;
    if status.success() {
        return Ok(());
    }
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(30)..].join("\n");
    Err(format!("{description} failed with {status}; the end of {}:\n{tail}", log.display()))
}

/// Runs a command and returns its standard output.
pub(crate) fn captured(command: &mut Command) -> Result<String, String> {
    let description = format!("{command:?}");
    let output = command.output().map_err(|error| format!("cannot run {description}: {error}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!(
            "{description} failed with {}:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

pub(crate) fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|error| format!("cannot read {}: {error}", path.display()))
}

pub(crate) fn remove_file(path: &Path) -> Result<(), String> {
    match std::fs::remove_file(path) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            Err(format!("cannot remove {}: {error}", path.display()))
        }
        _ => Ok(()),
    }
}

pub(crate) fn remove_directory(path: &Path) -> Result<(), String> {
    match std::fs::remove_dir_all(path) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            Err(format!("cannot remove {}: {error}", path.display()))
        }
        _ => Ok(()),
    }
}

/// Configures the autoconf-style tree `source` out of tree in `output/build/` (again only
/// when `stamp`, which says what the configuration depends on, changed), then runs
/// `make -j2 MAKE_ARGUMENTS...` there; the logs go to `output/`.
pub(crate) fn configure_and_make(
    source: &Path,
    output: &Path,
    configure: &[String],
    stamp: &str,
    what: &str,
    make_arguments: &[&str],
) -> Result<(), String> {
    let build = output.join("build");
    let stamp_file = build.join("cvm-stamp");
    if !std::fs::read_to_string(&stamp_file).is_ok_and(|old| old == stamp) {
        remove_directory(&build)?;
        std::fs::create_dir_all(&build)
            .map_err(|error| format!("cannot create {}: {error}", build.display()))?;
        println!("xtask: configuring {what}");
        logged(
            Command::new(source.join("configure")).args(configure).current_dir(&build),
            &output.join("configure.log"),
        )?;
        std::fs::write(&stamp_file, stamp)
            .map_err(|error| format!("cannot write {}: {error}", stamp_file.display()))?;
    }
    let log = output.join("make.log");
    println!("xtask: compiling {what} (log: {})", log.display());
    logged(Command::new("make").args(["-j2"]).args(make_arguments).current_dir(&build), &log)
}
