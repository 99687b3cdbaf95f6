//! File hostcalls end to end: granted files are readable, outputs land in the cVM's own
//! directory, and every other name is refused.

use tests::{root, run_deployment};

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
