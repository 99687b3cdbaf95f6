//! cVMs that cannot be started are refused with the reason, and the others run.

use tests::{root, run_deployment, scratch};

#[test]
fn a_refused_cvm_does_not_stop_the_others() {
    let directory = scratch("refusals");
    std::fs::write(directory.join("not-an-elf"), "this is text, not an ELF object\n").unwrap();
    let hello = root().join("examples/hello/build/hello");
    let deployment = format!(
        "cVMs:
  - name: good
    runtime: {hello}
    objects: [{libcvm}]
    args: fine
    isolation: {{ size: 8M }}
  - name: broken
    runtime: not-an-elf
    isolation: {{ size: 8M }}
  - name: cramped
    runtime: {hello}
    objects: [{libcvm}]
    stack: 16K
    isolation: {{ size: 92K }}
  - name: also-good
    runtime: {hello}
    objects: [{libcvm}]
    isolation: {{ size: 8M }}
",
        hello = hello.display(),
        libcvm = root().join("examples/hello/build/libcvm.so").display()
    );
    let file = directory.join("deploy.yaml");
    std::fs::write(&file, deployment).unwrap();
    tests::build_examples();
    let run = run_deployment(&file);
    assert_eq!(run.code, Some(1), "stderr: {}", run.stderr);

    let broken = run.cvm("broken");
    assert_eq!(broken["status"], "refused");
    let reason = broken["reason"].as_str().unwrap();
    assert!(reason.contains("not-an-elf"), "the reason names the object: {reason}");
    assert!(reason.contains("not an ELF file"), "the reason says what is wrong: {reason}");

    let cramped = run.cvm("cramped");
    assert_eq!(cramped["status"], "refused");
    let reason = cramped["reason"].as_str().unwrap();
    assert!(reason.contains("too small") && reason.contains("isolation.size"), "{reason}");

    for name in ["good", "also-good"] {
        assert_eq!(run.cvm(name)["status"], "exited");
        assert_eq!(run.cvm(name)["exit_code"], 0);
    }
    assert_eq!(run.lines_of("good")[0], "hello from good with 1 argument");
    assert!(run.stderr.contains("cVM `broken` refused"), "{}", run.stderr);
}

#[test]
fn an_invalid_deployment_runs_nothing_and_says_where() {
    let directory = scratch("invalid");
    let file = directory.join("deploy.yaml");
    std::fs::write(
        &file,
        "cVMs:\n  - name: one\n    runtime: nowhere\n    isolation: { size: 8M }\n    colour: blue\n",
    )
    .unwrap();
    let run = run_deployment(&file);
    assert_eq!(run.code, Some(2));
    assert!(run.report.is_none(), "nothing ran, so no report");
    assert!(run.stderr.contains("deploy.yaml"), "{}", run.stderr);
    assert!(run.stderr.contains("unknown field `colour`"), "{}", run.stderr);
    assert!(run.stderr.contains("line 5"), "the error has a line number: {}", run.stderr);
}
