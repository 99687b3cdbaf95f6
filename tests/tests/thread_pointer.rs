//! A cVM's C library thread pointer (`fs` on x86-64, TPIDR_EL0 on AArch64) survives its
//! hostcalls, and a cVM that faults with its own thread pointer set is reported like any
//! other: the intravisor takes its own back first.

use tests::{root, run_deployment};

#[test]
fn the_thread_pointer_is_kept_across_hostcalls_and_a_fault_with_it_is_reported() {
    tests::build_examples();
    let run = run_deployment(&root().join("examples/thread-pointer/deploy.yaml"));
    assert_eq!(run.code, Some(1), "stderr: {}", run.stderr);
    for name in ["first", "second"] {
        assert_eq!(run.cvm(name)["status"], "exited", "{}", run.stderr);
        assert_eq!(run.cvm(name)["exit_code"], 0);
        assert_eq!(run.lines_of(name), ["thread pointer kept across 100 of 100 hostcalls"]);
    }
    let fault = run.cvm("fault");
    assert_eq!(fault["status"], "faulted");
    assert_eq!(fault["fault"]["address"], 0xdead0000u64, "{fault}");
    assert_eq!(run.lines_of("fault"), ["thread pointer set; now writing through a wild pointer"]);
}
