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

/// A tenant's policy caps what a deployment may grant each of its cVMs; a cVM granted
/// more (or no time limit where the tenant caps time) is refused by `check` and `run`
/// alike, naming both fields, and one granted less runs.
#[test]
fn a_tenants_per_cvm_limits_cap_what_the_deployment_grants() {
    build_examples();
    let directory = scratch("limits-tenant-caps");
    std::fs::write(directory.join("input.txt"), "compartments share code, not secrets\n").unwrap();
    std::fs::write(
        directory.join("capped.yaml"),
        "tenant: capped\nlimits:\n  cpu_seconds_per_cvm: 5\n  wall_seconds_per_cvm: 10\n  \
         console_bytes_per_cvm: 4K\n  output_bytes_per_cvm: 64K\n  open_files_per_cvm: 4\n  \
         threads_per_cvm: 2\n",
    )
    .unwrap();
    let program = root().join("examples/files/build/files");
    let within =
        "cpu_seconds: 5, wall_seconds: 10, console_bytes: 4K, output_bytes: 1K, open_files: 4, threads: 1";
    let cvms = [
        ("within", within.to_string()),
        ("untimed", "console_bytes: 1K, output_bytes: 1K, open_files: 2, threads: 1".to_string()),
        ("threaded", within.replace("threads: 1", "threads: 3")),
        ("noisy", within.replace("console_bytes: 4K", "console_bytes: 4097")),
    ];
    let mut text = "tenants:\n  capped: capped.yaml\ncVMs:\n".to_string();
    for (cvm, isolation) in &cvms {
        text.push_str(&format!(
            "  - name: {cvm}\n    tenant: capped\n    runtime: {}\n    objects: [{}]\n    \
             isolation: {{size: 8M, {isolation}}}\n    files: [input.txt]\n    output: out/{cvm}\n",
            program.display(),
            program.with_file_name("libcvm.so").display()
        ));
    }
    let file = directory.join("deploy.yaml");
    std::fs::write(&file, text).unwrap();
    let expected = [
        (
            "untimed",
            "the deployment sets no isolation.cpu_seconds for this cVM (no limit), but tenant `capped` \
             allows one cVM at most 5 (limits.cpu_seconds_per_cvm, capped's policy); set \
             isolation.cpu_seconds to at most 5",
        ),
        (
            "threaded",
            "the deployment grants this cVM isolation.threads: 3, more than tenant `capped` allows one cVM \
             (limits.threads_per_cvm: 2, capped's policy); set isolation.threads to at most 2",
        ),
        (
            "noisy",
            "the deployment grants this cVM isolation.console_bytes: 4097 bytes, more than tenant `capped` \
             allows one cVM (limits.console_bytes_per_cvm: 4K (4096 bytes), capped's policy); set \
             isolation.console_bytes to at most 4096",
        ),
    ];
    let check = std::process::Command::new(tests::intravisor()).arg("check").arg(&file).output().unwrap();
    let check_message = String::from_utf8_lossy(&check.stderr);
    assert_eq!(check.status.code(), Some(2), "{check_message}");
    let run = run_deployment(&file);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    for (cvm, reason) in expected {
        let line = format!(
            "intravisor: cVM `{cvm}` refused: refused by a sharing policy: tenant `capped` may not start this \
             cVM: {reason}"
        );
        assert!(check_message.lines().any(|printed| printed == line), "{line}\nnot in: {check_message}");
        assert!(run.stderr.lines().any(|printed| printed == line), "{line}\nnot in: {}", run.stderr);
        assert_eq!(run.cvm(cvm)["status"], "refused", "{}", run.cvm(cvm));
    }
    assert!(!check_message.contains("`within`"), "{check_message}");
    assert_eq!(run.cvm("within")["status"], "exited", "{}", run.stderr);
    assert_eq!(
        output_of(&file, "within", "shout.txt").as_deref(),
        Some("COMPARTMENTS SHARE CODE, NOT SECRETS\n")
    );
}

/// A cVM holds at most `isolation.open_files` files open at once (64 unless named):
/// the next open is answered EMFILE, and closing one lets it open again.
#[test]
fn a_cvm_opens_at_most_its_open_files_limit() {
    let file = deployment(
        "limits-open-files",
        &[
            ("hoarder", "files/build/files", "hoard", ", open_files: 3"),
            ("defaulted", "files/build/files", "hoard", ""),
        ],
    );
    let run = run_deployment(&file);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        run.lines_of("hoarder"),
        ["hoard: 3 open, the next -> -24", "hoard: close one -> 0", "hoard: open again -> 5"]
    );
    assert_eq!(run.lines_of("defaulted")[0], "hoard: 64 open, the next -> -24");
}
