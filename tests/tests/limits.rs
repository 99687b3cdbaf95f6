//! What a cVM may write: its console and its output directory each have a limit
//! (`isolation.console_bytes`, `isolation.output_bytes`, with defaults); a write past
//! one ends the cVM, reported `killed` with the limit's name, and its neighbour goes on.

use std::path::Path;

use tests::{build_examples, root, run_deployment, scratch};

/// A deployment of `cvms` (name, program under `examples/`, arguments, isolation
/// fields) with the libOS, and `input.txt` beside it; outputs under `out/NAME`.
fn deployment(name: &str, cvms: &[(&str, &str, &str, &str)]) -> std::path::PathBuf {
    build_examples();
    let directory = scratch(name);
    std::fs::write(directory.join("input.txt"), "compartments share code, not secrets\n").unwrap();
    let mut text = String::from("cVMs:\n");
    for (cvm, program, arguments, isolation) in cvms {
        let program = root().join("examples").join(program);
        text.push_str(&format!(
            "  - name: {cvm}\n    runtime: {}\n    objects: [{}]\n    args: {arguments}\n    \
             isolation: {{size: 8M{isolation}}}\n    files: [input.txt]\n    output: out/{cvm}\n",
            program.display(),
            program.with_file_name("libcvm.so").display()
        ));
    }
    let file = directory.join("deploy.yaml");
    std::fs::write(&file, text).unwrap();
    file
}

fn output_of(file: &Path, cvm: &str, name: &str) -> Option<String> {
    std::fs::read_to_string(file.with_file_name("out").join(cvm).join(name)).ok()
}

#[test]
fn a_cvm_that_writes_past_its_console_or_output_limit_is_killed_by_name() {
    let file = deployment(
        "limits-writes",
        &[
            ("flood", "hostile-baremetal/build/hostile", "flood 200000", ", console_bytes: 64K"),
            ("shouter", "files/build/files", "", ", output_bytes: 16"),
            ("neighbour", "files/build/files", "", ""),
        ],
    );
    let run = run_deployment(&file);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let flood = run.cvm("flood");
    assert_eq!(flood["status"], "killed", "{flood}");
    assert_eq!(flood["reason"], "killed at its console limit (65536 bytes, isolation.console_bytes)");
    // What it wrote before the limit was printed, nothing past it.
    let printed: usize = run.lines_of("flood").iter().map(|line| line.len()).sum();
    assert!(printed <= 65536, "{printed} bytes printed");
    let shouter = run.cvm("shouter");
    assert_eq!(shouter["status"], "killed", "{shouter}");
    assert_eq!(shouter["reason"], "killed at its output limit (16 bytes, isolation.output_bytes)");
    assert_eq!(
        output_of(&file, "shouter", "shout.txt").as_deref(),
        Some(""),
        "nothing past the limit was written"
    );
    // The neighbour, with the defaults, wrote its 37 bytes and exited.
    assert_eq!(run.cvm("neighbour")["status"], "exited", "{}", run.stderr);
    assert_eq!(
        output_of(&file, "neighbour", "shout.txt").as_deref(),
        Some("COMPARTMENTS SHARE CODE, NOT SECRETS\n")
    );
    assert!(
        run.stderr.contains(
            "intravisor: cVM `shouter` killed at its output limit (16 bytes, isolation.output_bytes)"
        ),
        "{}",
        run.stderr
    );
}
