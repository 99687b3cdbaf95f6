//! The `cvm-cc` driver, as a user meets it: an unmodified Makefile project (a shared
//! library of two source files with globals of every kind, a constructor, C11 and GNU
//! atomics, a 1 MiB zero array, and a program with threads on it) built by
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
