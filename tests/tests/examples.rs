//! The examples, end to end: the real intravisor binary on the real cVM programs.

use tests::{root, run_deployment, run_deployment_with};

#[test]
fn hello_runs_three_cvms_with_their_own_arguments() {
    let run = run_deployment(&root().join("examples/hello/deploy.yaml"));
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert_eq!(run.lines_of("hello1"), ["hello from hello1 with 1 argument", "  argument 1: alpha"]);
    assert_eq!(
        run.lines_of("hello2"),
        ["hello from hello2 with 2 arguments", "  argument 1: beta", "  argument 2: gamma"]
    );
    assert_eq!(run.lines_of("hello3")[0], "hello from hello3 with 3 arguments");
    assert_eq!(run.lines_of("hello3").len(), 4);
    for name in ["hello1", "hello2", "hello3"] {
        let cvm = run.cvm(name);
        assert_eq!(cvm["status"], "exited");
        assert_eq!(cvm["exit_code"], 0);
        assert_eq!(cvm["tenant"], "default");
        assert!(cvm["fault"].is_null());
    }
    let objects = run.report.as_ref().unwrap()["objects"].as_array().unwrap().clone();
    let names: Vec<&str> = objects.iter().map(|object| object["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["hello", "libcvm.so"], "the program and the libOS, each named three times");
    for object in &objects {
        assert_eq!(object["sha256"].as_str().unwrap().len(), 64);
        assert_eq!(object["loads"], 1, "loaded once and shared: {object}");
        assert_eq!(object["users"], 3, "{object}");
        assert!(object["shared_bytes"].as_u64().unwrap() > 0, "{object}");
    }
    let size = std::fs::metadata(root().join("examples/hello/build/hello")).unwrap().len();
    assert_eq!(objects[0]["size"], size);
    for name in ["hello1", "hello2", "hello3"] {
        assert!(run.cvm(name)["cls_bytes"].as_u64().unwrap() > 0, "its own copy of the libOS's globals");
    }
    let kernel = &run.report.as_ref().unwrap()["kernel"];
    assert!(kernel["peak_rss"].as_u64().unwrap() >= kernel["peak_pss"].as_u64().unwrap());
}

#[test]
fn hello_runs_the_same_with_its_memory_mergeable_by_ksm() {
    // `--ksm` marks the arena MADV_MERGEABLE (the kernel refuses it where KSM is not
    // built in: then the run ends with 2 and says why).
    let run = run_deployment_with(&root().join("examples/hello/deploy.yaml"), &["--in-process", "--ksm"]);
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    let plain = run_deployment(&root().join("examples/hello/deploy.yaml"));
    for name in ["hello1", "hello2", "hello3"] {
        assert_eq!(run.lines_of(name), plain.lines_of(name));
    }
}

#[test]
fn faults_end_only_the_faulting_cvm() {
    let run = run_deployment(&root().join("examples/faults/deploy.yaml"));
    assert_eq!(run.code, Some(1), "a faulted cVM makes the run fail; stderr: {}", run.stderr);
    assert!(
        run.stderr.contains("cVM `wild` faulted: segmentation fault") && run.stderr.contains("0xdead0000"),
        "the intravisor says which cVM faulted and where: {}",
        run.stderr
    );

    let wild = run.cvm("wild");
    assert_eq!(wild["status"], "faulted");
    assert_eq!(wild["fault"]["address"], 0xdead_0000u64);
    assert_eq!(wild["fault"]["signal"], 11);
    assert!(wild["exit_code"].is_null());
    assert_eq!(run.lines_of("wild"), ["writing through the wild pointer 0xdead0000"]);

    let outside = run.cvm("outside");
    assert_eq!(outside["status"], "exited", "a refused hostcall is an error code, not a fault");
    assert_eq!(outside["exit_code"], 14, "EFAULT came back to the cVM");
    let line = run.lines_of("outside");
    assert_eq!(line.len(), 1, "none of the refused buffers reached the console: {line:?}");
    assert!(
        line[0].starts_with("write(0x1000) = -14, write(far below the stack) = -14, write(too long) = -14")
    );

    let normal = run.cvm("normal");
    assert_eq!(normal["status"], "exited");
    assert_eq!(normal["exit_code"], 0);
    assert_eq!(run.lines_of("normal"), ["normal: the sum of 1..1000 is 500500 (clock ok)"]);
}

/// Code that calls memset and memcpy without naming them (a zeroed local array, a large
/// structure copied), at -O0, links against libcvm.so and runs as at -O2.
#[test]
fn code_calling_the_memory_functions_runs_at_every_optimisation_level() {
    tests::build_examples();
    let run = run_deployment(&root().join("examples/memory/deploy.yaml"));
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    for name in ["memory-O2", "memory-O0"] {
        assert_eq!(run.lines_of(name), ["memory: zeros sum to 0, 43 of 300 bytes filled"], "{name}");
    }
    let program = std::fs::read(root().join("examples/memory/build-O0/memory")).unwrap();
    for function in [&b"memset\0"[..], b"memcpy\0"] {
        assert!(program.windows(function.len()).any(|window| window == function), "the -O0 build calls it");
    }
}
