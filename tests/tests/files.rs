//! File hostcalls end to end: granted files are readable, outputs land in the cVM's own
//! directory, and every other name is refused.

use tests::{root, run_deployment, run_deployment_with, scratch};

#[test]
fn a_cvm_reads_its_grants_and_writes_only_into_its_output_directory() {
    let output = root().join("examples/files/out");
    let _ = std::fs::remove_dir_all(&output);
    let run = run_deployment(&root().join("examples/files/deploy.yaml"));
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert_eq!(
        run.lines_of("shouter"),
        [
            "open input.txt -> 3",
            "read input.txt -> 37",
            "create shout.txt -> 3",
            "write shout.txt -> 37",
            "open /etc/passwd -> -2",
            "open deploy.yaml -> -2",
            "create ../escape.txt -> -13",
            "read into a buffer outside the region -> -14",
        ]
    );
    let written = std::fs::read_to_string(output.join("shouter/shout.txt")).unwrap();
    assert_eq!(written, "COMPARTMENTS SHARE CODE, NOT SECRETS\n");
    let everything: Vec<_> =
        std::fs::read_dir(&output).unwrap().map(|entry| entry.unwrap().file_name()).collect();
    assert_eq!(everything, ["shouter"], "nothing but the cVM's own directory was created");
    assert!(!root().join("examples/files/escape.txt").exists());
}

/// A read hostcall fills what it is asked for up to 16 MiB (one round trip for a large
/// frame, not one per 64 KiB), and a longer one is short, as POSIX lets a read be.
#[test]
fn a_large_read_is_one_hostcall_of_at_most_16_mib() {
    let directory = scratch("large-read");
    let bytes: Vec<u8> =
        (0..(17u32 << 20) + 5).map(|index| (index.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    std::fs::write(directory.join("large.bin"), &bytes).unwrap();
    let checksum = bytes.iter().fold(0u32, |sum, &byte| sum.wrapping_mul(31).wrapping_add(u32::from(byte)));
    let deployment = directory.join("deploy.yaml");
    std::fs::write(
        &deployment,
        format!(
            "cVMs:\n  - name: reader\n    runtime: {build}/files\n    objects: [{build}/libcvm.so]\n    \
             args: [large]\n    isolation: {{size: 64M}}\n    files: [large.bin]\n",
            build = root().join("examples/files/build").display()
        ),
    )
    .unwrap();
    let run = run_deployment(&deployment);
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert_eq!(
        run.lines_of("reader"),
        [
            "large: read -> 16777216".to_string(),
            format!("large: read -> {}", (1 << 20) + 5),
            "large: read -> 0".to_string(),
            format!("large: {} bytes, checksum {checksum}", bytes.len()),
        ]
    );
}

/// A cVM's process reads and seeks its granted regular files itself (`shim.c`), the
/// in-process mode through the intravisor: both give the same answers, positions are
/// per handle, and a closed handle reused for an output is no longer read directly.
#[test]
fn reads_and_seeks_answer_alike_in_a_process_and_in_the_intravisor() {
    let directory = scratch("file-positions");
    std::fs::write(directory.join("input.txt"), "COMPARTMENTS SHARE CODE, NOT SECRETS\n").unwrap();
    let deployment = directory.join("deploy.yaml");
    std::fs::write(
        &deployment,
        format!(
            "cVMs:\n  - name: positions\n    runtime: {build}/files\n    objects: [{build}/libcvm.so]\n    \
             args: [positions]\n    isolation: {{size: 8M}}\n    files: [input.txt]\n    output: out\n",
            build = root().join("examples/files/build").display()
        ),
    )
    .unwrap();
    let expected = [
        "first: read 5 -> 5",
        "second: read 5 -> 5",
        "read: COMPA, COMPA",
        "first: seek 5 before the end -> 32",
        "first: read 7 -> 5",
        "read: RETS",
        "first: seek back 3 -> 34",
        "first: seek before the start -> -22",
        "first: seek to a negative offset -> -22",
        "first: seek from nowhere -> -22",
        "first: seek past the end -> 100",
        "first: read past the end -> 0",
        "first: size -> 37",
        "second: read outside the region -> -14",
        "second: read into its code -> -14",
        "first: close -> 0",
        "first: read once closed -> -9",
        "first: seek once closed -> -9",
        "output: takes the closed handle -> 1",
        "output: read -> -9",
        "output: write -> 3",
        "output: seek to its start -> 0",
        "second: read 5 -> 5",
        "read: RTMEN",
    ];
    for options in [&[][..], &["--in-process"][..]] {
        let run = run_deployment_with(&deployment, options);
        assert_eq!(run.code, Some(0), "{options:?}: stderr: {}", run.stderr);
        assert_eq!(run.lines_of("positions"), expected, "{options:?}");
        assert_eq!(std::fs::read_to_string(directory.join("out/reused.txt")).unwrap(), "abc");
    }
}
