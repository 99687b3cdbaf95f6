//! Building cvm-libos and the cVM programs of `examples/`.
//!
//! cvm-libos becomes `libcvm.so`: the Rust static library (built for the bare-metal
//! target of the host's architecture) and the C formatter, linked into one shared
//! object that exports only the libOS interface. It is an ORC object like any other.
//!
//! In every `examples/NAME/` directory, each `lib*.c` becomes a shared object
//! `build/lib*.so` and every other `*.c` a program `build/STEM`, each built by the SDK's
//! `cvm-cc` (`crate::sdk`): a position-independent executable with no interpreter,
//! freestanding (started by `cvm-libos/c/start.c`, `-nolibc`) unless it says
//! `cvm-build: libc`, and linked against `libcvm.so` and the directory's shared objects.
//! `libcvm.so` and `libc.so` are copied next to them, so deployments name them as
//! `build/libcvm.so` and `build/libc.so`. The `build/` directories are not part of the
//! repository.
//!
//! Every example file is compiled with the cls-pass (so that its writable globals are
//! compartment-local and the object can be shared), except a file that says
//! `cvm-build: without-cls-pass` in its first lines. `examples/morello-counter/` is
//! built by [`crate::c64`], for AArch64 only.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::Digest;

use super::setup::CLANG;
use super::{cargo, root, run};

/// What cVM code is built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CvmTarget {
    /// The Rust target cvm-libos is built for.
    pub rust: &'static str,
    /// The clang target of the C code.
    pub clang: &'static str,
}

impl CvmTarget {
    /// cVMs on this host.
    pub fn host() -> Self {
        if cfg!(target_arch = "aarch64") {
            Self::aarch64()
        } else {
            Self { rust: "x86_64-unknown-none", clang: "x86_64-linux-gnu" }
        }
    }

    /// cVMs on AArch64 (the host platform there, and the bare-metal images).
    pub fn aarch64() -> Self {
        Self { rust: "aarch64-unknown-none", clang: "aarch64-linux-gnu" }
    }
}

/// Where the shared libOS and its parts are built.
fn libos_directory(target: CvmTarget) -> PathBuf {
    root().join("target/cvm").join(target.rust)
}

/// The optimisation levels every example is built at, and the directory each goes to:
/// `-O2` into `build/`, and `-O0` into `build-O0/` so tests can check both.
const LEVELS: [(&str, &str); 2] = [("-O2", "build"), ("-O0", "build-O0")];

/// Flags for C code that runs in a cVM.
fn c_flags(target: CvmTarget) -> Vec<&'static str> {
    let mut flags = vec!["-target", target.clang, "-g0", "-fPIC", "-ffreestanding"];
    flags.extend(["-fno-stack-protector", "-Wall", "-Werror"]);
    flags.extend(target_flags(target));
    flags
}

/// Flags for the target: on AArch64, atomics inline rather than calls to libgcc's
/// outline helpers (`__aarch64_ldadd4_acq_rel`), which no cVM object provides.
pub fn target_flags(target: CvmTarget) -> Option<&'static str> {
    (target == CvmTarget::aarch64()).then_some("-mno-outline-atomics")
}

/// Builds the cls-pass plugin and returns its path.
pub fn build_pass() -> Result<PathBuf, String> {
    run(cargo().args(["build", "--quiet", "-p", "cls-pass"]))?;
    Ok(root().join("target/debug/libcls_pass.so"))
}

/// True when the source asks to be compiled without the cls-pass.
fn opts_out_of_pass(source: &Path) -> bool {
    std::fs::read_to_string(source)
        .map(|text| text.lines().take(5).any(|line| line.contains("cvm-build: without-cls-pass")))
        .unwrap_or(false)
}

/// Compiles a C file of the libOS or of a C64 caller (built before the SDK exists).
pub fn compile(
    target: CvmTarget,
    source: &Path,
    object: &Path,
    pass: Option<&Path>,
    level: &str,
) -> Result<(), String> {
    let plugin = pass.map(|pass| format!("-fpass-plugin={}", pass.display()));
    run(Command::new(CLANG)
        .args(c_flags(target))
        .arg(level)
        .args(plugin)
        .arg("-I")
        .arg(root().join("cvm-libos/include"))
        .arg("-c")
        .arg(source)
        .arg("-o")
        .arg(object))
}

/// The static library of cvm-libos for `target`.
pub fn libos_archive(target: CvmTarget) -> PathBuf {
    root().join("target/cvm-libos").join(target.rust).join("release/libcvm_libos.a")
}

/// The memory functions `libcvm.so` exports (`cvm-libos/c/memory.c`).
const MEMORY_FUNCTIONS: [&str; 4] = ["memset", "memcpy", "memmove", "memcmp"];

/// Debian's llvm-objcopy (package llvm-14, a dependency of llvm-14-dev).
const OBJCOPY: &str = "/usr/bin/llvm-objcopy-14";

/// The libOS built for one target.
#[derive(Debug, Clone)]
pub struct LibosBuild {
    /// `libcvm.so`.
    pub library: PathBuf,
    /// `start.o`, the entry point linked into every program.
    pub start: PathBuf,
    /// `start_libc.o`, the entry point of programs on the C library.
    pub start_libc: PathBuf,
}

/// Builds `libcvm.so` and `start.o` for `target`.
pub fn build_libos(target: CvmTarget) -> Result<LibosBuild, String> {
    let rust_flags = "-C relocation-model=pic -C code-model=small";
    // Its own target directory: these flags differ from every other build of the target.
    run(cargo()
        .args(["rustc", "--quiet", "-p", "cvm-libos", "--release", "--target", target.rust])
        .args(["--crate-type", "staticlib", "--target-dir", "target/cvm-libos"])
        .args(super::NOT_LINKED_WHOLE)
        .env(
            format!("CARGO_TARGET_{}_RUSTFLAGS", target.rust.to_uppercase().replace('-', "_")),
            rust_flags,
        ))?;
    let directory = libos_directory(target);
    std::fs::create_dir_all(&directory)
        .map_err(|error| format!("cannot create {}: {error}", directory.display()))?;
    // Rust's runtime defines the memory functions hidden, which would hide the
    // exported ones of `memory.c` too (a symbol takes its most hidden definition's
    // visibility): its own become local to the archive's members that define them.
    let archive = directory.join("libcvm_libos.a");
    let mut localize = Command::new(OBJCOPY);
    for function in MEMORY_FUNCTIONS {
        localize.arg(format!("--localize-symbol={function}"));
    }
    run(localize.arg(libos_archive(target)).arg(&archive))?;
    let format = directory.join("format.o");
    compile(target, &root().join("cvm-libos/c/format.c"), &format, None, "-O2")?;
    let memory = directory.join("memory.o");
    compile(target, &root().join("cvm-libos/c/memory.c"), &memory, None, "-O2")?;
    let start = directory.join("start.o");
    compile(target, &root().join("cvm-libos/c/start.c"), &start, None, "-O2")?;
    let start_libc = directory.join("start_libc.o");
    compile(target, &root().join("cvm-libos/c/start_libc.c"), &start_libc, None, "-O2")?;
    let library = directory.join("libcvm.so");
    run(Command::new(CLANG)
        .args(["-target", target.clang, "-fuse-ld=lld", "-nostdlib", "-shared"])
        .args(["-Wl,-soname,libcvm.so", "-Wl,-z,now", "-Wl,--gc-sections", "-Wl,--strip-debug"])
        // Its own calls (to memset, say) bind to its own functions even where a program's
        // C library interposes them, so its copy is the same in every plan.
        .arg("-Wl,-Bsymbolic")
        .arg(format!("-Wl,--version-script={}", root().join("cvm-libos/c/exports.map").display()))
        .arg(&format)
        .arg(&memory)
        .arg("-Wl,--whole-archive")
        .arg(&archive)
        .arg("-Wl,--no-whole-archive")
        .arg("-o")
        .arg(&library))?;
    Ok(LibosBuild { library, start, start_libc })
}

/// Builds the libOS and every example for this host (at every level), and for the
/// bare-metal AArch64 images (`build-aarch64/`, at -O2), each after musl's `libc.so`
/// for that target (`crate::libc`) and with ffmpeg for the transcode example
/// (`crate::transcode`); then the native reference ffmpeg.
pub fn build_all() -> Result<(), String> {
    // Each target is built even when the other's examples failed; the errors come last.
    let host = build_for(CvmTarget::host(), &LEVELS);
    let aarch64 = build_for(CvmTarget::aarch64(), &[("-O2", "build-aarch64")]);
    let native = crate::ffmpeg::build_native(false).map(|_| ());
    let errors: Vec<String> = [host, aarch64, native].into_iter().filter_map(Result::err).collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

/// Builds musl, the libOS, every example for `target` at the given levels, and the
/// transcode example's ffmpeg and inputs (in the first level's directory).
fn build_for(target: CvmTarget, levels: &[(&str, &str)]) -> Result<(), String> {
    let sdk = crate::sdk::build(target)?;
    let mut examples: Vec<PathBuf> = std::fs::read_dir(root().join("examples"))
        .map_err(|error| format!("cannot list examples/: {error}"))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.is_dir() && *path != crate::c64::directory())
        .collect();
    examples.sort();
    // One example that does not build does not stop the others: each failure is said
    // as it happens, and the build fails at the end naming them all.
    let mut failed = Vec::new();
    for example in &examples {
        for (level, build) in levels {
            if let Err(error) = build_example(example, &example.join(build), level, &sdk) {
                eprintln!("xtask: {} ({level}, {}) did not build: {error}", example.display(), target.clang);
                failed
                    .push(format!("{} ({level})", example.file_name().unwrap_or_default().to_string_lossy()));
            }
        }
    }
    if target == CvmTarget::aarch64() {
        crate::c64::build(&sdk)?;
    }
    if let Some((_, directory)) = levels.first() {
        crate::transcode::build_for(target, directory, &sdk)?;
    }
    let directories: Vec<&str> = levels.iter().map(|(_, directory)| *directory).collect();
    crate::sqlite::build_for(target, &sdk, &directories)?;
    // Templates may name the digests of any example's objects, so they come last.
    for example in &examples {
        for (_, build) in levels {
            if let Err(error) = render_templates(example, build) {
                eprintln!("xtask: {error}");
                failed.push(format!(
                    "{} (templates)",
                    example.file_name().unwrap_or_default().to_string_lossy()
                ));
            }
        }
    }
    if !failed.is_empty() {
        return Err(format!("examples that did not build for {}: {}", target.clang, failed.join(", ")));
    }
    Ok(())
}

/// Renders every `NAME.yaml.in` of an example into `BUILD/NAME.yaml`, replacing each
/// `@sha256:PATH@` (PATH relative to the example, its `build` directory read as `BUILD`)
/// with the SHA-256 of that file.
fn render_templates(directory: &Path, build: &str) -> Result<(), String> {
    let entries = std::fs::read_dir(directory)
        .map_err(|error| format!("cannot list {}: {error}", directory.display()))?;
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        let Some(name) =
            path.file_name().and_then(|name| name.to_str()).and_then(|name| name.strip_suffix(".in"))
        else {
            continue;
        };
        let template = std::fs::read_to_string(&path)
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        let mut rendered = String::with_capacity(template.len());
        let mut rest = template.as_str();
        while let Some(start) = rest.find("@sha256:") {
            rendered.push_str(&rest[..start]);
            let after = &rest[start + "@sha256:".len()..];
            let end = after.find('@').ok_or_else(|| format!("{}: unterminated @sha256:", path.display()))?;
            let file: PathBuf = Path::new(&after[..end])
                .components()
                .map(|component| match component {
                    std::path::Component::Normal(name) if name == "build" => {
                        std::path::Component::Normal(build.as_ref())
                    }
                    other => other,
                })
                .collect();
            let file = directory.join(file);
            let bytes = std::fs::read(&file)
                .map_err(|error| format!("{}: cannot read {}: {error}", path.display(), file.display()))?;
            let digest = sha2::Sha256::digest(&bytes);
            rendered.extend(digest.iter().map(|byte| format!("{byte:02x}")));
            rest = &after[end + 1..];
        }
        rendered.push_str(rest);
        let build = directory.join(build);
        std::fs::create_dir_all(&build)
            .map_err(|error| format!("cannot create {}: {error}", build.display()))?;
        std::fs::write(build.join(name), rendered)
            .map_err(|error| format!("cannot write {name}: {error}"))?;
    }
    Ok(())
}

fn c_sources(directory: &Path) -> Result<Vec<PathBuf>, String> {
    let mut sources: Vec<PathBuf> = std::fs::read_dir(directory)
        .map_err(|error| format!("cannot list {}: {error}", directory.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|extension| extension == "c"))
        .collect();
    sources.sort();
    Ok(sources)
}

fn stem(source: &Path) -> String {
    source.file_stem().expect("a .c file has a stem").to_string_lossy().into_owned()
}

/// True when the source is a program on the C library (`cvm-build: libc`).
fn uses_libc(source: &Path) -> bool {
    std::fs::read_to_string(source)
        .map(|text| text.lines().take(5).any(|line| line.contains("cvm-build: libc")))
        .unwrap_or(false)
}

fn build_example(directory: &Path, build: &Path, level: &str, sdk: &crate::sdk::Sdk) -> Result<(), String> {
    let sources = c_sources(directory)?;
    if sources.is_empty() {
        return Ok(());
    }
    std::fs::create_dir_all(build).map_err(|error| format!("cannot create {}: {error}", build.display()))?;
    // Deployments name the libOS and the C library as `build/libcvm.so` and `build/libc.so`.
    for library in ["libcvm.so", "libc.so"] {
        crate::ffmpeg::copy(&sdk.root.join("lib").join(library), &build.join(library))?;
    }
    let (libraries, programs): (Vec<&PathBuf>, Vec<&PathBuf>) =
        sources.iter().partition(|source| stem(source).starts_with("lib"));
    let mut shared_objects = Vec::new();
    for source in libraries {
        let output = build.join(format!("{}.so", stem(source)));
        run(example_command(source, level, sdk)
            .args(["-nolibc", "-shared"])
            .arg(format!("-Wl,-soname,{}.so", stem(source)))
            .args(&shared_objects)
            .arg("-o")
            .arg(&output))?;
        shared_objects.push(output);
    }
    for source in programs {
        let mut command = example_command(source, level, sdk);
        if !uses_libc(source) {
            command.arg("-nolibc");
        }
        run(command.args(&shared_objects).arg("-o").arg(build.join(stem(source))))?;
    }
    Ok(())
}

/// `cvm-cc` compiling and linking one example file: a freestanding one unless it is on
/// the C library, with the cls-pass unless it opts out.
fn example_command(source: &Path, level: &str, sdk: &crate::sdk::Sdk) -> Command {
    let mut command = sdk.command();
    command.args(["-g0", "-Wall", "-Werror", "-Wl,--strip-debug", level]);
    if !uses_libc(source) {
        command.arg("-ffreestanding");
    }
    if opts_out_of_pass(source) {
        command.arg(cvm_cc::arguments::NO_CLS_PASS);
    }
    command.arg(source);
    command
}
