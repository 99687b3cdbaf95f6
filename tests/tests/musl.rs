//! Programs on the C library: musl (`cvm-libc/`) as `libc.so`, an ORC object loaded once
//! for every cVM, its system calls served by cvm-libos.

use tests::{root, run_deployment};

#[test]
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
        let entry = run.object(object);
        assert_eq!((entry["loads"].as_u64(), entry["users"].as_u64()), (Some(1), Some(3)), "{object}");
    }
}

#[test]
fn stdio_reads_grants_and_writes_seeks_only_in_the_output_directory() {
    tests::build_examples();
    let output = root().join("examples/musl-hello/out");
    let _ = std::fs::remove_dir_all(&output);
    let run = run_deployment(&root().join("examples/musl-hello/files.yaml"));
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert_eq!(
        run.lines_of("musl-files"),
        [
            "input.txt: 44 bytes by fstat, 44 by ftell, 44 read, 2 lines",
            "out.txt read-only: 4 bytes back (HEAD), write: Bad file descriptor",
            "/etc/passwd: No such file or directory; ../escape.txt: Permission denied",
            "/dev/null: wrote 5, read EOF; /dev/urandom: 16 and 16 bytes, getrandom 16, all different",
        ]
    );
    let written = std::fs::read_to_string(output.join("musl-files/out.txt")).unwrap();
    assert_eq!(written, "HEADthe quick brown fox\njumps over the lazy dog\n", "patched after a seek");
    assert!(!root().join("examples/musl-hello/escape.txt").exists());
    let entries: Vec<_> = std::fs::read_dir(output.join("musl-files")).unwrap().collect();
    assert_eq!(entries.len(), 1, "nothing but out.txt was written");
}

#[test]
fn threads_share_their_cvm_and_one_thread_can_end_it() {
    tests::build_examples();
    let run = run_deployment(&root().join("examples/musl-hello/threads.yaml"));
    assert_eq!(run.code, Some(1), "one cVM faults\nstdout: {}\nstderr: {}", run.stdout, run.stderr);
    for name in ["work1", "work2"] {
        // Each cVM's counter is its own: 4 x 100000 in both, though they ran at once.
        assert_eq!(
            run.lines_of(name),
            [
                "4 threads: counter 400000, joined 4, the global seen by 4, ids distinct: yes",
                "a timed wait: Operation timed out after at least 40 ms: yes",
                "100 short threads, one after another: 100 joined, counter +100",
            ]
        );
        assert_eq!(run.cvm(name)["exit_code"], 0);
        assert_eq!(run.cvm(name)["threads"], 105);
    }
    // A second thread's exit ends the cVM while the first waits to join it.
    assert_eq!(run.lines_of("exit"), ["second thread: exit(3)"]);
    assert_eq!(
        (run.cvm("exit")["status"].as_str(), run.cvm("exit")["exit_code"].as_i64()),
        (Some("exited"), Some(3))
    );
    // A second thread's fault ends the cVM while the first computes without hostcalls.
    let fault = run.cvm("fault");
    assert_eq!(fault["status"], "faulted");
    assert_eq!(fault["fault"]["address"], 0);
    assert_eq!(run.lines_of("fault"), ["second thread: writing through a null pointer"]);
    // The cVM outlives its first thread, and ends with its last.
    assert_eq!(
        run.lines_of("last"),
        ["first thread: pthread_exit", "second thread: the first has ended, this one returns"]
    );
    assert_eq!(run.cvm("last")["exit_code"], 0);
    for name in ["exit", "fault", "last"] {
        assert_eq!(run.cvm(name)["threads"], 2, "{name}");
    }
    for object in ["libc.so", "libcvm.so", "threads"] {
        let entry = run.object(object);
        assert_eq!((entry["loads"].as_u64(), entry["users"].as_u64()), (Some(1), Some(5)), "{object}");
    }
    assert!(!run.stdout.contains("not supported"), "{}", run.stdout);
}

/// The x86-64 `memcpy` the patch gives musl (16-byte moves up to 256 bytes), assembled
/// from the patched tree into a native harness: every size to 1,100 bytes at every
/// alignment, and memmove's forward overlapping copies.
#[test]
#[cfg(target_arch = "x86_64")]
fn the_patched_memcpy_copies_every_size_alignment_and_forward_overlap() {
    tests::build_examples();
    let patched =
        root().join("target/cvm-libc/x86_64-unknown-none/build/musl-1.2.3/src/string/x86_64/memcpy.s");
    let text = std::fs::read_to_string(&patched).expect("the patched musl tree is built");
    let directory = tests::scratch("memcpy");
    let renamed = directory.join("memcpy.s");
    std::fs::write(&renamed, text.replace("memcpy", "test_memcpy")).unwrap();
    let harness = directory.join("memcpy-test");
    let built = std::process::Command::new("/usr/bin/clang-14")
        .args(["-O1", "-Wl,-z,noexecstack"])
        .arg(root().join("cvm-libc/tests/memcpy.c"))
        .arg(&renamed)
        .arg("-o")
        .arg(&harness)
        .status()
        .unwrap();
    assert!(built.success());
    let output = std::process::Command::new(&harness).output().unwrap();
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success() && printed.starts_with("ok "), "{printed}");
}
