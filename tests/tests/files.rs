//! File hostcalls end to end: granted files are readable, outputs land in the cVM's own
//! directory, and every other name is refused.

use tests::{root, run_deployment, scratch};

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
