//! IR tests: each `tests/ir/*.ll` (or `tests/ir16/*.ll` for the `llvm16` build) runs
//! through `opt -load-pass-plugin=libcls_pass.so -passes=cls -S`, and the output is
//! checked against the file's own `; CHECK` lines by LLVM's `FileCheck`.
//!
//! Directives in a test file:
//! - `; EXPECT-FAILURE`: `opt` must exit non-zero (like lit's `not opt ...`), and
//!   FileCheck reads its standard error instead of the IR;
//! - `; PASSES: <pipeline>`: run this pipeline instead of `cls`.
//!
//! One `#[test]` per file, and a test that every file has one.

mod support;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The directory of IR tests for the LLVM version under test.
fn ir_dir() -> PathBuf {
    support::crate_dir().join("tests").join(if support::LLVM_MAJOR == 16 { "ir16" } else { "ir" })
}

/// Runs one IR test file.
fn check(file_name: &str) {
    let path = ir_dir().join(file_name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let expect_failure = text.lines().any(|line| line.trim() == "; EXPECT-FAILURE");
    let passes = text
        .lines()
        .find_map(|line| line.trim().strip_prefix("; PASSES:"))
        .map(str::trim)
        .unwrap_or("cls")
        .to_string();

    let output = Command::new(support::llvm_tool("opt"))
        .arg(format!("-load-pass-plugin={}", support::plugin().display()))
        .arg(format!("-passes={passes}"))
        .arg("-S")
        .arg(&path)
        .output()
        .expect("run opt");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if expect_failure {
        assert!(!output.status.success(), "{file_name}: opt should have failed, but printed\n{stdout}");
        assert!(
            !stderr.contains("Stack dump") && !stderr.contains("PLEASE submit"),
            "{file_name}: crashed\n{stderr}"
        );
    } else {
        assert!(output.status.success(), "{file_name}: opt failed ({}):\n{stderr}", output.status);
    }
    let checked = if expect_failure { &output.stderr } else { &output.stdout };

    let mut filecheck = Command::new(support::llvm_tool("FileCheck"))
        .arg(&path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run FileCheck");
    filecheck.stdin.take().expect("FileCheck stdin").write_all(checked).expect("feed FileCheck");
    let verdict = filecheck.wait_with_output().expect("FileCheck result");
    assert!(
        verdict.status.success(),
        "{file_name}: FileCheck failed:\n{}\n--- opt output ---\n{}\n--- opt stderr ---\n{stderr}",
        String::from_utf8_lossy(&verdict.stderr),
        String::from_utf8_lossy(checked),
    );
}

/// Declares one test per IR file of the LLVM version they are written for.
macro_rules! ir_tests {
    ($directory:literal: $($name:ident),* $(,)?) => {
        /// The files this build has tests for.
        const FILES: &[&str] = &[$(concat!(stringify!($name), ".ll")),*];
        $(
            #[test]
            fn $name() {
                check(concat!(stringify!($name), ".ll"));
            }
        )*
    };
}

#[cfg(not(feature = "llvm16"))]
ir_tests!("ir":
    zero_init_int,
    initialized_array,
    struct_with_pointers,
    function_local_static,
    extern_global,
    extern_pointer_constant,
    weak_pointer_constant,
    common_global,
    constant_table_to_cls,
    constant_table_plain,
    thread_local,
    nested_constexpr,
    phi_incoming,
    select_icmp_ptrtoint,
    calls_and_stores,
    loop_body,
    several_globals_and_untouched_function,
    alias,
    inline_asm_register,
    inline_asm_long_constraints,
    aggregate_operand,
    intrinsic_arrays,
    run_twice,
    own_templates_one_call,
    error_foreign_section,
    error_inline_asm_immediate,
    error_thread_local_initializer,
    error_alias_shape,
    error_exception_clause,
    error_runtime_declaration,
    error_unexpandable,
    error_outside_body,
    error_address_space,
    error_several_at_once,
);

#[cfg(feature = "llvm16")]
ir_tests!("ir16":
    opaque_pointers,
    opaque_errors,
    opaque_extern_constant,
    opaque_own_templates,
);

#[test]
fn every_ir_file_has_a_test() {
    let mut on_disk: Vec<String> = std::fs::read_dir(ir_dir())
        .expect("read the IR test directory")
        .map(|entry| entry.expect("directory entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".ll"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = FILES.iter().map(|name| name.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "add every tests/ir file to the ir_tests! list (and only those)");
}
