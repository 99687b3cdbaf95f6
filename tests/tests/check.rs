//! `intravisor check` is as strict as `run`: what `run` refuses before starting a cVM
//! (objects that do not load or plan, a tenant's policy or limits) `check` refuses too,
//! with the same message and exit status 2, and without running anything.

use std::path::PathBuf;
use std::process::Command;

use tests::{build_examples, intravisor, root, run_deployment, scratch};

/// A deployment in a scratch directory of one cVM `hello` running `examples/hello`'s
/// program with `objects` (paths), plus `extra` (YAML appended as is).
fn deployment(name: &str, objects: &[PathBuf], extra: &str) -> PathBuf {
    build_examples();
    let directory = scratch(name);
    let objects: Vec<String> = objects.iter().map(|object| object.display().to_string()).collect();
    let text = format!(
        "cVMs:\n  - name: hello\n    runtime: {}\n    objects: [{}]\n    isolation: {{size: 8M}}\n    tenant: acme\n{extra}",
        root().join("examples/hello/build/hello").display(),
        objects.join(", ")
    );
    let file = directory.join("deploy.yaml");
    std::fs::write(&file, text).unwrap();
    file
}

fn libcvm() -> PathBuf {
    root().join("examples/hello/build/libcvm.so")
}

/// `check` refuses the deployment (exit 2) and `run` the cVM (exit 1), each with the
/// line `intravisor: cVM `hello` refused: ...` containing `expected`; the lines are equal.
fn refused_by_both(file: &std::path::Path, expected: &str) {
    let check = Command::new(intravisor()).arg("check").arg(file).output().unwrap();
    let check_message = String::from_utf8_lossy(&check.stderr).into_owned();
    assert_eq!(check.status.code(), Some(2), "check: {check_message}");
    let line = check_message
        .lines()
        .find(|line| line.starts_with("intravisor: cVM `hello` refused: "))
        .unwrap_or_else(|| panic!("check printed no refusal: {check_message}"));
    assert!(line.contains(expected), "`{expected}` missing from: {line}");
    let run = run_deployment(file);
    assert_eq!(run.code, Some(1), "run: {}", run.stderr);
    assert!(run.stderr.lines().any(|run_line| run_line == line), "run said: {}", run.stderr);
    assert!(run.stdout.is_empty(), "the cVM never ran: {}", run.stdout);
}

#[test]
fn objects_the_loader_refuses_are_refused_by_check() {
    let directory = scratch("check-not-elf-object");
    let not_elf = directory.join("libnot.so");
    std::fs::write(&not_elf, "not an ELF object\n").unwrap();
    let file = deployment("check-not-elf", &[libcvm(), not_elf], "");
    refused_by_both(&file, "libnot.so: not an ELF file");
    // The program needs libcvm.so, which it is not given.
    refused_by_both(&deployment("check-missing-needed", &[], ""), "needs `libcvm.so` (DT_NEEDED)");
    // The program listed again among its objects.
    let program = root().join("examples/hello/build/hello");
    refused_by_both(
        &deployment("check-program-twice", &[libcvm(), program], ""),
        "two objects are given this name",
    );
}

#[test]
fn a_tenant_limit_that_admits_no_cvm_is_refused_by_check() {
    let file = deployment("check-limits", &[libcvm()], "tenants:\n  acme: acme.yaml\n");
    std::fs::write(file.with_file_name("acme.yaml"), "tenant: acme\nlimits:\n  cvms: 0\n").unwrap();
    refused_by_both(&file, "the cVM limit of tenant `acme` (limits.cvms: 0) is reached");
}

#[test]
fn a_valid_deployment_passes_check_and_nothing_runs() {
    let file = deployment("check-valid", &[libcvm()], "");
    let check = Command::new(intravisor()).arg("check").arg(&file).output().unwrap();
    assert_eq!(check.status.code(), Some(0), "{}", String::from_utf8_lossy(&check.stderr));
    let said = String::from_utf8_lossy(&check.stdout);
    assert!(said.contains("1 cVMs, 0 tenant policies, valid"), "{said}");
    assert!(!said.contains("hello from"), "no cVM ran: {said}");
}
