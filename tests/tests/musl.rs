//! Programs on the C library: musl (`cvm-libc/`) as `libc.so`, an ORC object loaded once
//! for every cVM, its system calls served by cvm-libos.

use tests::{root, run_deployment};

#[test]
#[cfg_attr(
    not(target_arch = "x86_64"),
    ignore = "musl's thread pointer is switched only on x86-64 hosts so far"
)]
fn three_cvms_share_one_musl_and_each_gets_its_own_state() {
    tests::build_examples();
    let run = run_deployment(&root().join("examples/musl-hello/deploy.yaml"));
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    let expected = |name: &str, arguments: &[&str]| {
        let plural = if arguments.len() == 1 { "" } else { "s" };
        let mut lines = vec![format!("hello from {name} on musl, {} argument{plural}", arguments.len())];
        for (index, argument) in arguments.iter().enumerate() {
            lines.push(format!("  argument {}: {argument} ({} bytes)", index + 1, argument.len()));
        }
        // `calls` is a writable global of the program: 1 in every cVM.
        lines.push(
            "sum 7340032, 1 call, fopen of an ungranted file: refused (No such file or directory)".into(),
        );
        lines.push("syscall(999) twice: -1, -1 (Function not implemented)".into());
        lines.push("the clock went forward".into());
        lines
    };
    assert_eq!(run.lines_of("musl1"), expected("musl1", &["alpha"]));
    assert_eq!(run.lines_of("musl2"), expected("musl2", &["beta", "gamma"]));
    assert_eq!(run.lines_of("musl3"), expected("musl3", &[]));
    for name in ["musl1", "musl2", "musl3"] {
        let reports = run
            .stdout
            .lines()
            .chain(run.stderr.lines())
            .filter(|line| *line == format!("[{name}:err] cvm-libos: system call 999 is not supported"))
            .count();
        assert_eq!(reports, 1, "an unsupported call is reported once per cVM\n{}{}", run.stdout, run.stderr);
    }
    for object in ["libc.so", "libcvm.so", "hello"] {
        let entry = run.report.as_ref().expect("a report")["objects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|entry| entry["name"] == object)
            .unwrap_or_else(|| panic!("{object} in the report"));
        assert_eq!((entry["loads"].as_u64(), entry["users"].as_u64()), (Some(1), Some(3)), "{object}");
    }
}
