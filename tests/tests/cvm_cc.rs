//! The `cvm-cc` driver, as a user meets it: an unmodified Makefile project (a shared
//! library of two source files with globals of every kind, a constructor, C11 and GNU
//! atomics, a 1 MiB zero array, thread-locals of every TLS model, and a program with
//! threads and thread-locals of its own on it) built by
//! `make CC=cvm-cc AR=cvm-ar`, run as concurrent cVMs sharing every object, and
//! compared line by line with a native build of the same sources. The AArch64 build
//! runs bare metal in `baremetal.rs`.

use std::process::Command;

use tests::two_file_library::{deployment, for_cvms, native_output, sdk};
use tests::{build_examples, run_deployment};

const RUNS: [[&str; 2]; 4] = [["1", "1000"], ["7", "2000"], ["8", "3000"], ["123456789", "500"]];

#[test]
fn a_makefile_project_built_by_cvm_cc_runs_in_concurrent_cvms_as_it_runs_natively() {
    let directory = for_cvms(&host_target());
    let run = run_deployment(&deployment(&directory, &RUNS));
    assert_eq!(run.code, Some(0), "stdout: {}\nstderr: {}", run.stdout, run.stderr);
    for (index, arguments) in RUNS.iter().enumerate() {
        let expected = native_output(arguments);
        assert!(expected.contains("atomic total 100000"), "{expected}");
        assert_eq!(run.lines_of(&format!("c{index}")).join("\n") + "\n", expected, "cVM c{index}");
    }
    for object in ["steps", "libtwo.so", "libc.so", "libcvm.so"] {
        let entry = run.object(object);
        assert_eq!((entry["loads"].as_u64(), entry["users"].as_u64()), (Some(1), Some(4)), "{entry}");
    }
    // The zero array costs nothing in the file, as natively.
    let size = std::fs::metadata(directory.join("libtwo.so")).unwrap().len();
    assert!(size < 64 * 1024, "libtwo.so is {size} bytes");
}

/// The cVM target of this host.
fn host_target() -> String {
    format!("{}-unknown-none", std::env::consts::ARCH)
}

fn driver(rust_target: &str, arguments: &[&str]) -> std::process::Output {
    build_examples();
    Command::new(sdk(rust_target).join("bin/cvm-cc")).args(arguments).output().expect("cvm-cc runs")
}

#[test]
fn the_driver_says_its_target_and_refuses_what_cannot_make_an_orc_object() {
    let machine = driver("aarch64-unknown-none", &["-dumpmachine"]);
    assert!(machine.status.success());
    assert_eq!(String::from_utf8_lossy(&machine.stdout).trim(), "aarch64-unknown-linux-gnu");
    for (arguments, expected) in [
        (&["-static", "x.c"][..], "`-static` is not supported for cVM objects"),
        (&["-fno-pic", "-c", "x.c"][..], "position-independent"),
        (&["--target=x86_64-linux-gnu", "-c", "x.c"][..], "this SDK builds for aarch64-linux-gnu"),
        (&["-c", "x.c", "-o"][..], "`-o` needs a value"),
        (&["--sysroot=/", "-c", "x.c"][..], "the cVM's whole system"),
    ] {
        let output = driver("aarch64-unknown-none", arguments);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success() && stderr.contains(expected), "{arguments:?}: {stderr}");
    }
}

#[test]
fn a_compile_error_is_clangs_and_fails_the_driver() {
    let scratch = tests::scratch("cvm-cc-error");
    let source = scratch.join("broken.c");
    std::fs::write(&source, "int main(void) { return undeclared; }\n").unwrap();
    let output = driver(&host_target(), &["-c", source.to_str().unwrap(), "-o", "/dev/null"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success() && stderr.contains("undeclared identifier 'undeclared'"), "{stderr}");
}

/// Compiles `source` (a program) with the host SDK's `cvm-cc` and `flags` into a scratch
/// directory `name`, with `libc.so` and `libcvm.so` beside it; returns the directory.
fn program_from(name: &str, source: &str, flags: &[&str]) -> std::path::PathBuf {
    build_examples();
    let directory = tests::scratch(name);
    std::fs::write(directory.join("program.c"), source).unwrap();
    let output = Command::new(sdk(&host_target()).join("bin/cvm-cc"))
        .args(flags)
        .args(["-O2", "program.c", "-o", "program"])
        .current_dir(&directory)
        .output()
        .expect("cvm-cc runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    for library in ["libc.so", "libcvm.so"] {
        std::fs::copy(sdk(&host_target()).join("lib").join(library), directory.join(library)).unwrap();
    }
    directory
}

/// A deployment in `directory`: cVM `bad` running its `program`, and beside it cVM
/// `good`, the two-file library's `steps` built for this host.
fn beside_a_good_cvm(directory: &std::path::Path, objects: &str) -> std::path::PathBuf {
    let good = for_cvms(&host_target());
    let text = format!(
        "cVMs:\n  - name: bad\n    runtime: program\n    objects: [{objects}]\n    isolation: {{size: 16M}}\n  \
         - name: good\n    runtime: {good}/steps\n    objects: [{good}/libtwo.so, {good}/libc.so, {good}/libcvm.so]\n    \
         args: [\"7\", \"2000\"]\n    isolation: {{size: 16M}}\n",
        good = good.display()
    );
    let path = directory.join("deploy.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_program_without_the_c_library_whose_objects_have_tls_is_refused_at_its_start_alone() {
    let source = "#include <cvm.h>\nstatic _Thread_local int counter = 1;\n\
                  int main(void) { counter++; cvm_exit(counter); }\n";
    let directory = program_from("tls-without-libc", source, &["-nolibc", "-ffreestanding"]);
    let run = run_deployment(&beside_a_good_cvm(&directory, "libcvm.so"));
    assert!(
        run.stdout.contains(
            "[bad:err] cvm-libos: the program's objects have thread-local storage, which the C \
             library sets up"
        ),
        "{}",
        run.stdout
    );
    assert_eq!(run.cvm("bad")["exit_code"], 127, "{}", run.cvm("bad"));
    assert_eq!(run.lines_of("good").join("\n") + "\n", native_output(&["7", "2000"]));
}

#[test]
fn a_program_with_more_static_tls_than_a_thread_may_have_is_refused_by_name() {
    let source = "static _Thread_local char huge[2 << 20];\n\
                  int main(int argc, char **argv) { (void)argv; huge[argc] = 1; return huge[1]; }\n";
    let directory = program_from("tls-too-large", source, &[]);
    let run = run_deployment(&beside_a_good_cvm(&directory, "libc.so, libcvm.so"));
    let said = format!("{}{}", run.stdout, run.stderr);
    assert!(said.contains("program: its thread-local storage block (2097152 bytes)"), "{said}");
    assert!(said.contains("1048576 bytes of static TLS"), "{said}");
    assert_ne!(run.code, Some(0));
    // Refused alone: its neighbour ran to the end.
    assert_eq!(run.lines_of("good").join("\n") + "\n", native_output(&["7", "2000"]));
}

#[test]
fn no_library_of_the_host_is_ever_linked() {
    // zlib is installed on the host (`/lib/<triple>/libz.so`), as in many build
    // environments; a configure script probing `-lz` must not find it.
    let scratch = tests::scratch("cvm-cc-host-library");
    std::fs::write(scratch.join("probe.c"), "char deflate(void);\nint main(void) { return deflate(); }\n")
        .unwrap();
    let native = Command::new("clang-14")
        .args(["probe.c", "-lz", "-o", "native-probe"])
        .current_dir(&scratch)
        .status()
        .expect("clang-14 runs");
    assert!(native.success(), "the host's zlib links natively, so the probe means something");
    build_examples();
    let output = Command::new(sdk(&host_target()).join("bin/cvm-cc"))
        .args(["probe.c", "-lz", "-o", "probe"])
        .current_dir(&scratch)
        .output()
        .expect("cvm-cc runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success() && stderr.contains("unable to find library -lz"), "{stderr}");
}

#[test]
fn a_cmake_project_built_with_the_sdks_toolchain_file_runs_as_it_runs_natively() {
    build_examples();
    let source = tests::root().join("tests/c/two-file-library");
    let build = tests::scratch("two-file-library-cmake");
    let toolchain = sdk(&host_target()).join("share/cmake/cvm.cmake");
    let cmake = |arguments: &[&std::ffi::OsStr]| {
        let output = Command::new("cmake").args(arguments).output().expect("cmake runs (cargo xtask setup)");
        assert!(
            output.status.success(),
            "cmake {arguments:?}:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let toolchain_option = format!("-DCMAKE_TOOLCHAIN_FILE={}", toolchain.display());
    cmake(&["-S".as_ref(), source.as_os_str(), "-B".as_ref(), build.as_os_str(), toolchain_option.as_ref()]);
    cmake(&["--build".as_ref(), build.as_os_str()]);
    for library in ["libc.so", "libcvm.so"] {
        std::fs::copy(sdk(&host_target()).join("lib").join(library), build.join(library)).unwrap();
    }
    let runs = [["3", "1500"], ["11", "700"]];
    let run = run_deployment(&tests::two_file_library::deployment(&build, &runs));
    assert_eq!(run.code, Some(0), "stdout: {}\nstderr: {}", run.stdout, run.stderr);
    for (index, arguments) in runs.iter().enumerate() {
        assert_eq!(
            run.lines_of(&format!("c{index}")).join("\n") + "\n",
            native_output(arguments),
            "c{index}"
        );
    }
}
