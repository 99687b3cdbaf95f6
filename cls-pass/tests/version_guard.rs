//! The plugin refuses to run inside another LLVM major version with a clear message
//! and exit status 1, never a crash, and runs silently inside its own.
//!
//! The other-version half needs that version's tools (`apt-get install clang-16
//! llvm-16` for a plugin built for LLVM 14, `clang-14 llvm-14` for one built for 16);
//! without them it says so and checks nothing else.

mod support;

use std::path::PathBuf;
use std::process::Command;

/// The other LLVM version the machine may have.
const OTHER_MAJOR: u32 = if support::LLVM_MAJOR == 14 { 16 } else { 14 };

fn other_tool(tool: &str) -> Option<PathBuf> {
    let path = PathBuf::from(format!("/usr/lib/llvm-{OTHER_MAJOR}/bin/{tool}"));
    path.is_file().then_some(path)
}

fn source() -> PathBuf {
    support::crate_dir().join("tests").join("native").join("libshared.c")
}

/// Asserts a refusal: status 1, the message, no crash report.
fn assert_refused(tool: &str, output: &std::process::Output) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let expected = format!(
        "cls-pass: built for LLVM {} but loaded into LLVM {OTHER_MAJOR}: use /usr/lib/llvm-{}/bin/clang",
        support::LLVM_MAJOR,
        support::LLVM_MAJOR
    );
    assert_eq!(output.status.code(), Some(1), "{tool}: {stderr}");
    assert!(stderr.contains(&expected), "{tool}: message missing:\n{stderr}");
    assert!(!stderr.contains("Stack dump") && !stderr.contains("PLEASE submit"), "{tool} crashed:\n{stderr}");
}

#[test]
fn clang_of_another_version_refuses_the_plugin() {
    let Some(clang) = other_tool("clang") else {
        eprintln!("skipped: /usr/lib/llvm-{OTHER_MAJOR}/bin/clang is not installed");
        return;
    };
    let directory = support::scratch_dir("other_clang");
    let object = directory.join("out.o");
    let output = Command::new(clang)
        .arg("-O0")
        .arg(format!("-fpass-plugin={}", support::plugin().display()))
        .arg("-c")
        .arg(source())
        .arg("-o")
        .arg(&object)
        .output()
        .expect("run clang");
    assert_refused("clang", &output);
    assert!(!object.exists(), "no object file may come out of a refused build");
}

#[test]
fn opt_of_another_version_refuses_the_plugin() {
    let Some(opt) = other_tool("opt") else {
        eprintln!("skipped: /usr/lib/llvm-{OTHER_MAJOR}/bin/opt is not installed");
        return;
    };
    // IR that LLVM 14 and 16 both parse (no pointer types).
    let input = support::scratch_dir("other_opt").join("plain.ll");
    std::fs::write(&input, "define i32 @f() {\n  ret i32 0\n}\n").expect("write IR");
    let output = Command::new(opt)
        .arg(format!("-load-pass-plugin={}", support::plugin().display()))
        .args(["-passes=cls", "-disable-output"])
        .arg(&input)
        .output()
        .expect("run opt");
    assert_refused("opt", &output);
}

#[test]
fn tools_of_the_same_version_accept_the_plugin_silently() {
    let output = Command::new(support::llvm_tool("clang"))
        .arg("-O0")
        .arg(format!("-fpass-plugin={}", support::plugin().display()))
        .args(["-S", "-emit-llvm", "-o", "-"])
        .arg(source())
        .output()
        .expect("run clang");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains("cls-pass"), "unexpected message:\n{stderr}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("@__cls_get_addr("));
}
