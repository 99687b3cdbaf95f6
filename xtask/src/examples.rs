//! Building the cVM programs of `examples/`.
//!
//! In every `examples/NAME/` directory, each `lib*.c` becomes a shared object
//! `build/lib*.so` and every other `*.c` a program `build/STEM`: a position-independent
//! executable with no interpreter, linked with cvm-libos (its static library and its
//! C formatter) and the directory's shared objects. The `build/` directories are not
//! part of the repository.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::setup::{cvm_clang_target, cvm_rust_target, CLANG};
use super::{cargo, root, run};

/// Builds cvm-libos for cVMs and returns the path of its static library.
pub fn build_libos() -> Result<PathBuf, String> {
    let target = cvm_rust_target();
    run(cargo()
        .args([
            "rustc",
            "--quiet",
            "-p",
            "cvm-libos",
            "--release",
            "--target",
            target,
            "--crate-type",
            "staticlib",
        ])
        .env(
            format!("CARGO_TARGET_{}_RUSTFLAGS", target.to_uppercase().replace('-', "_")),
            "-C relocation-model=pic -C code-model=small",
        ))?;
    Ok(root().join("target").join(target).join("release/libcvm_libos.a"))
}

/// Builds every example.
pub fn build_all() -> Result<(), String> {
    let libos = build_libos()?;
    let mut examples: Vec<PathBuf> = std::fs::read_dir(root().join("examples"))
        .map_err(|error| format!("cannot list examples/: {error}"))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.is_dir())
        .collect();
    examples.sort();
    for example in examples {
        build_example(&example, &libos)?;
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

fn compile(source: &Path, object: &Path) -> Result<(), String> {
    let include = root().join("cvm-libos/include");
    run(Command::new(CLANG)
        .args([
            "-target",
            cvm_clang_target(),
            "-O2",
            "-g0",
            "-fPIC",
            "-ffreestanding",
            "-fno-stack-protector",
        ])
        .args(["-fvisibility=default", "-Wall", "-Werror", "-c"])
        .arg("-I")
        .arg(include)
        .arg(source)
        .arg("-o")
        .arg(object))
}

fn build_example(directory: &Path, libos: &Path) -> Result<(), String> {
    let sources = c_sources(directory)?;
    if sources.is_empty() {
        return Ok(());
    }
    let build = directory.join("build");
    std::fs::create_dir_all(&build).map_err(|error| format!("cannot create {}: {error}", build.display()))?;
    let format_object = build.join("format.o");
    compile(&root().join("cvm-libos/c/format.c"), &format_object)?;
    let (libraries, programs): (Vec<&PathBuf>, Vec<&PathBuf>) = sources
        .iter()
        .partition(|source| source.file_name().is_some_and(|name| name.to_string_lossy().starts_with("lib")));
    let mut shared_objects = Vec::new();
    for source in libraries {
        let stem = source.file_stem().expect("a .c file has a stem").to_string_lossy().into_owned();
        let object = build.join(format!("{stem}.o"));
        compile(source, &object)?;
        let output = build.join(format!("{stem}.so"));
        run(Command::new(CLANG)
            .args(["-target", cvm_clang_target(), "-fuse-ld=lld", "-nostdlib", "-shared"])
            .arg(format!("-Wl,-soname,{stem}.so"))
            .args(["-Wl,-z,now", "-Wl,--strip-debug"])
            .arg(&object)
            .arg("-o")
            .arg(&output))?;
        shared_objects.push(output);
    }
    for source in programs {
        let stem = source.file_stem().expect("a .c file has a stem").to_string_lossy().into_owned();
        let object = build.join(format!("{stem}.o"));
        compile(source, &object)?;
        run(Command::new(CLANG)
            .args(["-target", cvm_clang_target(), "-fuse-ld=lld", "-nostdlib", "-pie"])
            .args(["-Wl,--no-dynamic-linker", "-Wl,-e,_start", "-Wl,-z,now", "-Wl,--strip-debug"])
            .args(["-Wl,--export-dynamic-symbol=cvm_*", "-Wl,--gc-sections"])
            .arg(&object)
            .arg(&format_object)
            .args(&shared_objects)
            .arg(libos)
            .arg("-o")
            .arg(build.join(&stem)))?;
    }
    Ok(())
}
