//! Building musl 1.2.3 as `libc.so`, a shared ORC object for cVMs.
//!
//! The source is Debian's `musl` source package, fetched with `apt-get source` into
//! `target/sources/` (never committed); a `deb-src` entry is added to the apt sources
//! first if there is none. Every build starts from a fresh copy of the unpacked tree,
//! patched with `cvm-libc/musl-cvm.patch` (system calls through the libOS's
//! `__cvm_syscall`, the thread pointer through `__cvm_set_thread_pointer`; every hunk
//! is explained in `cvm-libc/README.md`), in `target/cvm-libc/<rust-target>/build/`.
//!
//! musl's own `configure` and `Makefile` compile the objects with clang-14, `-O2` and
//! the cls-pass; the link is done here, because musl's `libc.so` is also its dynamic
//! linker and ours must not be: everything but `ldso/` and `crt/` goes in, so the
//! static-program versions of `__init_tls`, `dlopen`, ... are used. The compiler's
//! runtime library is clang's `libgcc.a` for the target (Debian's `libgcc-12-dev`, or
//! `libgcc-12-dev-arm64-cross` for AArch64 on an x86-64 host), for the complex and
//! 128-bit `long double` routines. The result is checked: no instruction that enters
//! a kernel or sets the thread pointer, and no undefined symbol but the libOS's.
//!
//! Outputs: `target/cvm-libc/<rust-target>/libc.so` and `.../include/` (musl's
//! installed headers).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use sha2::Digest;

use super::examples::CvmTarget;
use super::sdk::Sdk;
use super::setup::CLANG;
use super::sources::{captured, logged, read, remove_directory, remove_file, unpacked_source};
use super::{root, run};

/// The upstream version the patch is written for.
const MUSL_VERSION: &str = "1.2.3";

/// The symbols `libc.so` may leave undefined: the libOS's interface (libcvm.so).
const LIBOS_SYMBOLS: [&str; 4] =
    ["__cvm_syscall", "__cvm_set_thread_pointer", "__cvm_tls_modules", "__cls_get_addr"];

/// Added to musl's Makefile: build every object of `libc.so` without linking it, and
/// print their names.
const EXTRA_MAKEFILE: &str = "include Makefile\ncvm-objects: $(LOBJS)\ncvm-print-objects: ; @echo $(LOBJS)\n";

/// What `build_libc` produced.
#[derive(Debug, Clone)]
pub struct LibcBuild {
    /// The shared object.
    pub library: PathBuf,
    /// The headers to compile cVM programs against (`-nostdinc -isystem`).
    pub include: PathBuf,
}

/// `cargo xtask libc [--aarch64]`: builds libc.so for this host's cVMs, or for AArch64.
pub fn run_command(arguments: &[String]) -> Result<(), String> {
    let target = match arguments {
        [] => CvmTarget::host(),
        [flag] if flag == "--aarch64" => CvmTarget::aarch64(),
        _ => return Err("usage: cargo xtask libc [--aarch64]".to_string()),
    };
    super::setup::install()?;
    let started = Instant::now();
    let sdk = crate::sdk::build(target)?;
    println!(
        "xtask: built {} and {} in {:.1} s",
        sdk.lib("libc.so").display(),
        sdk.include().display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Builds musl's `libc.so` and installs its headers for `target`, compiled and linked
/// by the compiler's part of its SDK (`crate::sdk`).
pub fn build_libc(target: CvmTarget, sdk: &Sdk) -> Result<LibcBuild, String> {
    check_supported(target)?;
    let source = unpacked_source("musl", MUSL_VERSION, "VERSION")?;

    let output = root().join("target/cvm-libc").join(target.rust);
    let tree = prepare_tree(target, &source, &output, sdk)?;
    let log = output.join("make.log");
    remove_file(&log)?;
    println!("xtask: compiling musl {MUSL_VERSION} for {} (log: {})", target.clang, log.display());
    make(&tree, &["-j2", "-f", "cvm.mk", "cvm-objects"], &log)?;
    let objects =
        captured(Command::new("make").args(["-s", "-f", "cvm.mk", "cvm-print-objects"]).current_dir(&tree))?;
    let objects: Vec<&str> = objects.split_whitespace().collect();
    if objects.is_empty() {
        return Err(format!(
            "musl's Makefile in {} lists no objects (see {})",
            tree.display(),
            log.display()
        ));
    }
    let include = output.join("include");
    let library = output.join("libc.so");
    // Nothing recompiled (nor the linker script changed) since libc.so was linked,
    // checked and its headers installed: done (and the headers stay in place for builds
    // that use them meanwhile).
    let script = root().join("cvm-libos/c/cls-bss.ld");
    let newest_object = objects
        .iter()
        .map(|object| tree.join(object))
        .chain([script])
        .filter_map(|path| modified(&path))
        .max();
    if include.is_dir()
        && newest_object.is_some_and(|newest| modified(&library).is_some_and(|linked| linked >= newest))
    {
        return Ok(LibcBuild { library, include });
    }
    remove_directory(&include)?;
    let destination = format!("DESTDIR={}", output.display());
    make(&tree, &["-f", "cvm.mk", "install-headers", "includedir=/include", &destination], &log)?;

    // Linked beside the tree and moved into place only once it passed the checks.
    let linked = tree.with_file_name("libc.so");
    // The driver adds lld, `-z now` and the CLS linker script; `-nostdlib` keeps its
    // start files and libraries out, this being the C library.
    run(sdk
        .command()
        .args(["-nostdlib", "-shared", "-Wl,-soname,libc.so", "-Wl,--hash-style=both"])
        .args(["-Wl,--sort-section,alignment", "-Wl,--sort-common", "-Wl,--gc-sections"])
        // The runtime library's symbols stay inside libc.so.
        .arg("-Wl,--exclude-libs=ALL")
        // Only what musl's list names (data such as `environ` and `stdout`, and the
        // malloc family) stays interposable; everything else binds inside libc.so.
        .arg(format!("-Wl,--dynamic-list={}", tree.join("dynamic.list").display()))
        .arg("-o")
        .arg(&linked)
        .args(objects.iter().map(|object| tree.join(object)))
        .arg(sdk.lib(cvm_cc::sdk::RUNTIME_LIBRARY)))?;
    check_instructions(&linked)?;
    check_undefined(&linked)?;
    std::fs::rename(&linked, &library)
        .map_err(|error| format!("cannot move {} to {}: {error}", linked.display(), library.display()))?;
    Ok(LibcBuild { library, include })
}

/// When a file was last modified, if it exists.
fn modified(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|metadata| metadata.modified()).ok()
}

/// Whether musl is built for `target`: x86-64 and AArch64 only.
fn check_supported(target: CvmTarget) -> Result<(), String> {
    match target.clang.split('-').next() {
        Some("x86_64" | "aarch64") => Ok(()),
        _ => Err(format!("no musl build for the cVM target {}: only x86-64 and AArch64", target.clang)),
    }
}

/// Whether `target` is the architecture this xtask runs on.
fn is_native(target: CvmTarget) -> bool {
    target.clang.starts_with(std::env::consts::ARCH)
}

/// The Debian package with the target's `libgcc.a` that clang-14 finds by itself.
fn libgcc_package(target: CvmTarget) -> &'static str {
    match (is_native(target), target.clang.starts_with("aarch64")) {
        (true, _) => "libgcc-12-dev",
        (false, true) => "libgcc-12-dev-arm64-cross",
        (false, false) => "libgcc-12-dev-amd64-cross",
    }
}

/// Installs what fetching and building musl needs beyond `cargo xtask setup`.
pub(crate) fn install_tools(target: CvmTarget) -> Result<(), String> {
    let mut missing = Vec::new();
    for (package, file) in
        [("dpkg-dev", "/usr/bin/dpkg-source"), ("patch", "/usr/bin/patch"), ("make", "/usr/bin/make")]
    {
        if !Path::new(file).exists() {
            missing.push(package);
        }
    }
    if !Path::new(&libgcc_path(target)?).is_file() {
        missing.push(libgcc_package(target));
    }
    if missing.is_empty() {
        return Ok(());
    }
    println!("xtask: installing {}", missing.join(" "));
    let install = |missing: &[&str]| {
        run(Command::new("apt-get")
            .args(["install", "-y", "-qq", "--no-install-recommends"])
            .args(missing)
            .env("DEBIAN_FRONTEND", "noninteractive"))
    };
    if install(&missing).is_err() {
        // The package lists may be missing or stale: refresh them once and retry.
        run(Command::new("apt-get").args(["update", "-qq"]))?;
        install(&missing).map_err(|error| format!("{error} (run as root on Debian 12)"))?;
    }
    Ok(())
}

/// What clang-14 names as the target's runtime library (may not exist yet).
fn libgcc_path(target: CvmTarget) -> Result<String, String> {
    Ok(captured(Command::new(CLANG).args(["-target", target.clang, "-print-libgcc-file-name"]))?
        .trim()
        .to_string())
}

/// The target's `libgcc.a`: complex multiplication (`__muldc3`, ...) and, on AArch64,
/// the 128-bit `long double` routines (`__addtf3`, ...) musl needs.
pub(crate) fn builtins_archive(target: CvmTarget) -> Result<PathBuf, String> {
    let path = PathBuf::from(libgcc_path(target)?);
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "clang-14 finds no libgcc.a for {} (it names {}): install the Debian package {}",
            target.clang,
            path.display(),
            libgcc_package(target)
        ))
    }
}

/// Makes `output/build/` a patched, configured copy of `source`, unless the copy there
/// was made from the same patch, configuration and plugin; returns the tree.
fn prepare_tree(target: CvmTarget, source: &Path, output: &Path, sdk: &Sdk) -> Result<PathBuf, String> {
    if root().to_string_lossy().contains(char::is_whitespace) {
        return Err(format!(
            "the repository path {} has white space, which musl's Makefile cannot take",
            root().display()
        ));
    }
    let patch = root().join("cvm-libc/musl-cvm.patch");
    // The driver adds the target, the cls-pass and the target's flags (no calls to
    // libgcc's __aarch64_* atomics); musl's own flags keep its headers and no others.
    let configure = [
        format!("--target={}", target.clang),
        "--prefix=/".to_string(),
        "--disable-static".to_string(),
        "--disable-wrapper".to_string(),
        format!("CC={}", sdk.cc().display()),
        "CFLAGS=-O2".to_string(),
    ];

    let mut digest = sha2::Sha256::new();
    for part in [
        read(&patch)?,
        configure.join("\n").into_bytes(),
        read(&sdk.cc())?,
        read(&sdk.root.join(cvm_cc::sdk::DESCRIPTION_FILE))?,
        read(&sdk.lib(cvm_cc::sdk::CLS_PASS))?,
        source.display().to_string().into_bytes(),
    ] {
        digest.update((part.len() as u64).to_le_bytes());
        digest.update(part);
    }
    let stamp: String = digest.finalize().iter().map(|byte| format!("{byte:02x}")).collect();
    let build = output.join("build");
    let tree = build.join(format!("musl-{MUSL_VERSION}"));
    let stamp_file = build.join("stamp");
    if std::fs::read_to_string(&stamp_file).is_ok_and(|old| old == stamp) {
        return Ok(tree);
    }

    remove_directory(&build)?;
    std::fs::create_dir_all(&build).map_err(|error| format!("cannot create {}: {error}", build.display()))?;
    run(Command::new("cp").arg("-a").arg(source).arg(&tree))?;
    let log = output.join("configure.log");
    remove_file(&log)?;
    let applied = Command::new("patch")
        .args(["-p1", "--batch", "--forward", "--quiet", "-i"])
        .arg(&patch)
        .current_dir(&tree)
        .status()
        .map_err(|error| format!("cannot run patch: {error}"))?;
    if !applied.success() {
        return Err(format!(
            "{} does not apply to {}: it is written for Debian's musl {MUSL_VERSION}; regenerate it as \
             cvm-libc/README.md says",
            patch.display(),
            source.display()
        ));
    }
    logged(Command::new("./configure").args(&configure).current_dir(&tree), &log)?;
    std::fs::write(tree.join("cvm.mk"), EXTRA_MAKEFILE)
        .map_err(|error| format!("cannot write cvm.mk in {}: {error}", tree.display()))?;
    std::fs::write(&stamp_file, stamp)
        .map_err(|error| format!("cannot write {}: {error}", stamp_file.display()))?;
    Ok(tree)
}

/// Runs `make` in `tree` with its output appended to `log`.
fn make(tree: &Path, arguments: &[&str], log: &Path) -> Result<(), String> {
    logged(Command::new("make").args(arguments).current_dir(tree), log)
}

/// Fails if the library holds an instruction that enters the kernel (`syscall`,
/// `sysenter`, `int $0x80`; `svc`, `hvc`, `smc`) or sets the AArch64 thread pointer
/// (`msr tpidr_el0`): cVMs reach both only through the libOS.
fn check_instructions(library: &Path) -> Result<(), String> {
    let listing = captured(
        Command::new("/usr/lib/llvm-14/bin/llvm-objdump").args(["-d", "--no-show-raw-insn"]).arg(library),
    )?;
    let found = forbidden_instructions(&listing);
    if found.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{} still enters the kernel or sets the thread pointer by itself, in:\n  {}\n\
         every such place must call __cvm_syscall or __cvm_set_thread_pointer instead: \
         extend cvm-libc/musl-cvm.patch",
        library.display(),
        found.join("\n  ")
    ))
}

/// The forbidden instructions of an `llvm-objdump -d --no-show-raw-insn` listing, each
/// as `function: instruction`.
fn forbidden_instructions(listing: &str) -> Vec<String> {
    let mut function = "";
    let mut found = Vec::new();
    for line in listing.lines() {
        if let Some(label) = line.strip_suffix(">:") {
            function = label.split_once('<').map_or(label, |(_, name)| name);
            continue;
        }
        let Some((address, instruction)) = line.split_once(':') else { continue };
        if address.trim().is_empty() || !address.trim().chars().all(|c| c.is_ascii_hexdigit()) {
            continue;
        }
        let instruction = instruction.to_ascii_lowercase();
        let words: Vec<&str> = instruction.split_whitespace().collect();
        let Some((mnemonic, operands)) = words.split_first() else { continue };
        let operands = operands.join(" ");
        let forbidden = match *mnemonic {
            "syscall" | "sysenter" | "svc" | "hvc" | "smc" => true,
            "int" => operands == "$0x80" || operands == "$128",
            "msr" => operands.starts_with("tpidr_el0"),
            _ => false,
        };
        if forbidden {
            found.push(format!("{function}: {}", words.join(" ")));
        }
    }
    found
}

/// Fails if the library leaves a symbol undefined that the libOS does not export (a
/// missing runtime routine would otherwise only fail when the cVM is loaded).
fn check_undefined(library: &Path) -> Result<(), String> {
    let listing = captured(
        Command::new("/usr/lib/llvm-14/bin/llvm-nm")
            .args(["-D", "--undefined-only", "--format=just-symbols"])
            .arg(library),
    )?;
    let unexpected: Vec<&str> =
        listing.split_whitespace().filter(|symbol| !LIBOS_SYMBOLS.contains(symbol)).collect();
    if unexpected.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} leaves undefined {}, which libcvm.so does not export: link the runtime library that defines \
             them (see cvm-libc/README.md)",
            library.display(),
            unexpected.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::forbidden_instructions;
    use crate::sources::source_entry;

    #[test]
    fn source_entry_copies_the_binary_entries() {
        let binary = "Types: deb\n# a comment\nURIs: http://deb.debian.org/debian\nSuites: bookworm \
                      bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/k.gpg\n\n\
                      Types: deb\nURIs: http://deb.debian.org/debian-security\n";
        assert_eq!(
            source_entry(binary),
            "Types: deb-src\n# a comment\nURIs: http://deb.debian.org/debian\nSuites: bookworm \
             bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/k.gpg\n\n\
             Types: deb-src\nURIs: http://deb.debian.org/debian-security\n"
        );
    }

    #[test]
    fn finds_kernel_entries_and_thread_pointer_writes() {
        let listing = "\
0000000000001000 <syscall>:
    1000:      \tmovq\t%rdi, %rax
    1003:      \tsyscall
0000000000001010 <old>:
    1010:      \tint\t$0x80
    1012:      \tmsr\tTPIDR_EL0, x0
    1016:      \tmrs\tx0, TPIDR_EL0
    101a:      \tsvc\t#0
";
        assert_eq!(
            forbidden_instructions(listing),
            ["syscall: syscall", "old: int $0x80", "old: msr tpidr_el0, x0", "old: svc #0"]
        );
    }

    #[test]
    fn a_function_named_syscall_is_not_an_instruction() {
        let listing = "0000000000001000 <syscall>:\n    1000:      \tjmp\t0x2000 <syscall>\n";
        assert!(forbidden_instructions(listing).is_empty());
    }
}
