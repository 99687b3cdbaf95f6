//! Every kind of fault a cVM can take ends that cVM alone, with its cause; a flood of
//! refused hostcalls gets error codes back and only a bounded number of log lines.

use tests::{root, run_deployment, scratch};

#[test]
fn each_kind_of_fault_ends_only_its_cvm() {
    let program = root().join("examples/faults/build/faults");
    let modes = ["trap", "divide", "overflow", "code", "data", "flood", "threads", "normal"];
    let mut deployment = String::from("cVMs:\n");
    for mode in modes {
        deployment.push_str(&format!(
            "  - name: {mode}\n    runtime: {}\n    objects: [{}]\n    args: {mode}\n    isolation: {{ size: 8M }}\n",
            program.display(),
            root().join("examples/faults/build/libcvm.so").display()
        ));
    }
    let file = scratch("fault-kinds").join("deploy.yaml");
    std::fs::write(&file, deployment).unwrap();
    let run = run_deployment(&file);
    assert_eq!(run.code, Some(1), "stderr: {}", run.stderr);

    let trap = run.cvm("trap");
    assert_eq!(trap["status"], "faulted");
    let cause = trap["fault"]["cause"].as_str().unwrap();
    assert!(cause == "illegal instruction" || cause == "breakpoint trap", "{cause}");
    assert_eq!(
        trap["fault"]["pc"], trap["fault"]["address"],
        "the trapping instruction is the fault address"
    );

    let divide = run.cvm("divide");
    if cfg!(target_arch = "x86_64") {
        assert_eq!(divide["status"], "faulted");
        assert_eq!(divide["fault"]["cause"], "arithmetic exception");
        assert_eq!(divide["fault"]["signal"], 8);
    } else {
        // AArch64 integer division by zero gives zero and does not trap.
        assert_eq!(run.lines_of("divide"), ["7 / 0 = 0"]);
    }

    let overflow = run.cvm("overflow");
    assert_eq!(overflow["status"], "faulted", "the stack ran into its guard page");
    assert_eq!(overflow["fault"]["cause"], "segmentation fault: access not permitted");

    let code = run.cvm("code");
    assert_eq!(code["status"], "faulted", "code pages are read-only");
    assert_eq!(code["fault"]["cause"], "segmentation fault: access not permitted");

    let data = run.cvm("data");
    assert_eq!(data["status"], "faulted", "the heap is not executable");
    assert_eq!(data["fault"]["cause"], "segmentation fault: access not permitted");
    assert_eq!(data["fault"]["pc"], data["fault"]["address"], "the fetch from the heap faulted");
    assert_eq!(run.lines_of("data").len(), 1, "{:?}", run.lines_of("data"));

    let threads = run.cvm("threads");
    assert_eq!(threads["status"], "exited", "hostile thread and futex hostcalls are refused");
    assert_eq!(
        run.lines_of("threads"),
        [
            "thread at data -14, odd stack -22, far stack -14, far clear word -14",
            "wait on odd word -22, far word -14, changed word -11, timed -110; wake 0",
        ]
    );

    let flood = run.cvm("flood");
    assert_eq!(flood["status"], "exited");
    assert_eq!(run.lines_of("flood"), ["refused 2000 hostcalls"]);
    let flood_log_lines = run.stderr.lines().filter(|line| line.contains("cVM `flood`")).count();
    assert!(flood_log_lines <= 16, "2000 refusals logged in {flood_log_lines} lines, at most 16");
    assert!(run.stderr.contains("further hostcall messages of this cVM are suppressed"));

    assert_eq!(run.cvm("normal")["status"], "exited");
    assert_eq!(run.lines_of("normal"), ["normal: the sum of 1..1000 is 500500 (clock ok)"]);
}

#[test]
fn waiting_cvms_run_one_after_the_other() {
    let program = root().join("examples/hello/build/hello");
    let mut deployment = String::from("cVMs:\n");
    for index in 0..4 {
        deployment.push_str(&format!(
            "  - name: turn{index}\n    runtime: {}\n    objects: [{}]\n    args: [a, b, c, d, e, f]\n    wait: -1\n    isolation: {{ size: 8M }}\n",
            program.display(),
            root().join("examples/hello/build/libcvm.so").display()
        ));
    }
    let file = scratch("wait").join("deploy.yaml");
    std::fs::write(&file, deployment).unwrap();
    let run = run_deployment(&file);
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    let order: Vec<&str> = run.stdout.lines().map(|line| &line[1..6]).collect();
    let mut expected = Vec::new();
    for index in 0..4 {
        expected.extend(std::iter::repeat_n(["turn0", "turn1", "turn2", "turn3"][index], 7));
    }
    assert_eq!(order, expected, "each cVM printed all of its lines before the next one started");
}
