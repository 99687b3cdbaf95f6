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

#[test]
fn cvms_whose_objects_the_loader_refuses_cost_no_process() {
    use intravisor::cvm::OutputSink;
    use intravisor::platform::ProcessStart;
    use intravisor::report::Status;
    use intravisor::runner::Intravisor;

    tests::build_examples();
    let directory = scratch("refused-objects");
    // A hostile tenant's "library": bytes that are no ELF object, named by many cVMs.
    std::fs::write(directory.join("libhostile.so"), [0xbe_u8; 5000]).unwrap();
    let hello = root().join("examples/hello/build/hello");
    let libcvm = root().join("examples/hello/build/libcvm.so");
    let mut text = String::from("cVMs:\n");
    for index in 0..30 {
        text.push_str(&format!(
            "  - name: refused{index}\n    runtime: {}\n    objects: [libhostile.so, {}]\n    isolation: {{ size: 8M }}\n",
            hello.display(),
            libcvm.display()
        ));
    }
    let file = directory.join("deploy.yaml");
    std::fs::write(&file, text).unwrap();
    let deployment = intravisor::config::load(&file).expect("the deployment itself is valid");
    let intravisor =
        Intravisor::for_deployment(&deployment, OutputSink::new(Box::new(std::io::sink()))).unwrap();
    let before = ProcessStart::processes_started();
    let report = intravisor.run(&deployment, intravisor::policies::load(&deployment).unwrap());
    assert!(report.cvms.iter().all(|cvm| cvm.status == Status::Refused), "{report:?}");
    let reason = report.cvms[0].reason.as_deref().unwrap_or_default();
    assert!(reason.contains("libhostile.so") && reason.contains("not an ELF file"), "{reason}");
    // The pool keeps two processes ready; none is started per refused cVM.
    let started = ProcessStart::processes_started() - before;
    assert!(started <= 3, "{started} cVM processes started for 30 cVMs the loader refused");
}
