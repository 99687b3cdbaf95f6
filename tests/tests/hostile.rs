//! A hostile tenant's cVMs against the host intravisor: each attack runs beside a
//! healthy neighbour that keeps a secret, and must end only the attacker (or be refused)
//! while the neighbour finishes with its exact output and the intravisor writes its
//! report.

use std::path::{Path, PathBuf};

use tests::{root, run_deployment, scratch, Run};

/// What the neighbour prints when nothing reached it.
const NEIGHBOUR_LINE: &str = "neighbour: NEIGHBOUR-SECRET-5b1d0c, the sum of 1..1000 is 500500";

fn program() -> PathBuf {
    root().join("examples/hostile/build/hostile")
}

fn libos() -> PathBuf {
    root().join("examples/hostile/build/libcvm.so")
}

/// A deployment of the neighbour and the cVMs `attacks` (name, runtime, argument).
fn deployment(name: &str, attacks: &[(&str, &Path, &str)]) -> PathBuf {
    let mut text = String::from("cVMs:\n");
    let neighbour = program();
    for (cvm, runtime, argument) in [("neighbour", neighbour.as_path(), "neighbour")].iter().chain(attacks) {
        text.push_str(&format!(
            "  - name: {cvm}\n    runtime: {}\n    objects: [{}]\n    args: {argument}\n    isolation: {{ size: 8M }}\n",
            runtime.display(),
            libos().display()
        ));
    }
    let file = scratch(name).join("deploy.yaml");
    std::fs::write(&file, text).expect("the deployment is written");
    file
}

/// The neighbour finished with its exact output, and the intravisor reported on it.
fn assert_neighbour_intact(run: &Run) {
    assert_eq!(run.cvm("neighbour")["status"], "exited", "stderr: {}", run.stderr);
    assert_eq!(run.cvm("neighbour")["exit_code"], 0);
    assert_eq!(run.lines_of("neighbour"), [NEIGHBOUR_LINE], "stdout: {}", run.stdout);
}

#[test]
fn thread_pointers_that_are_not_cvm_memory_are_refused() {
    let run =
        run_deployment(&deployment("hostile-thread-pointer", &[("attacker", &program(), "thread-pointer")]));
    assert_neighbour_intact(&run);
    assert_eq!(run.cvm("attacker")["status"], "exited", "stderr: {}", run.stderr);
    assert_eq!(
        run.lines_of("attacker"),
        ["thread pointer non-canonical -14, far -14; thread with a non-canonical one -14"]
    );
}

#[test]
fn flags_set_by_a_cvm_do_not_reach_the_intravisor() {
    let run = run_deployment(&deployment(
        "hostile-flags",
        &[("alignment", &program(), "alignment-flag"), ("stepping", &program(), "trap-flag")],
    ));
    assert_neighbour_intact(&run);
    // With alignment checking on, the attacker's own misaligned accesses (in its C
    // library or formatter) may fault it; the hostcalls themselves must not.
    let alignment = run.cvm("alignment");
    match alignment["status"].as_str() {
        Some("exited") => assert_eq!(run.lines_of("alignment").len(), 3, "{}", run.stdout),
        Some("faulted") => assert_eq!(alignment["fault"]["cause"], "bus error", "{alignment}"),
        other => panic!("the attacker was {other:?}: {alignment}"),
    }
    // Single stepping starts in the hostcall entry: the attacker is ended by the trap,
    // or goes on once the entry cleared the flag.
    let stepping = run.cvm("stepping");
    match stepping["status"].as_str() {
        Some("exited") => assert_eq!(run.lines_of("stepping"), ["single stepped through a hostcall"]),
        Some("faulted") => assert_eq!(stepping["fault"]["cause"], "breakpoint trap", "{stepping}"),
        other => panic!("the attacker was {other:?}: {stepping}"),
    }
}

/// Sets `p_memsz` of the last `PT_LOAD` of an ELF64 little-endian file.
fn with_last_load_size(bytes: &mut [u8], memory_size: u64) {
    let word = |bytes: &[u8], at: usize, width: usize| {
        bytes[at..at + width].iter().rev().fold(0u64, |value, &byte| value << 8 | u64::from(byte))
    };
    let header_offset = word(bytes, 0x20, 8) as usize;
    let header_size = word(bytes, 0x36, 2) as usize;
    let headers = word(bytes, 0x38, 2) as usize;
    let last_load = (0..headers)
        .rev()
        .map(|index| header_offset + index * header_size)
        .find(|&at| word(bytes, at, 4) == 1)
        .expect("the program has a PT_LOAD");
    bytes[last_load + 0x28..last_load + 0x30].copy_from_slice(&memory_size.to_le_bytes());
}

#[test]
fn an_object_claiming_a_huge_image_is_refused_at_once() {
    tests::build_examples();
    let directory = scratch("hostile-huge-image");
    let mut attackers = Vec::new();
    for (name, size) in [("huge", 0x4000_0000_0000u64), ("large", 0x400_0000_0000)] {
        let mut bytes = std::fs::read(program()).expect("the program was built");
        with_last_load_size(&mut bytes, size);
        let file = directory.join(name);
        std::fs::write(&file, bytes).expect("the corrupt program is written");
        attackers.push((name, file));
    }
    let attacks: Vec<(&str, &Path, &str)> =
        attackers.iter().map(|(name, file)| (*name, file.as_path(), "neighbour")).collect();
    let run = run_deployment(&deployment("hostile-huge-image-run", &attacks));
    assert_neighbour_intact(&run);
    for (name, _) in &attackers {
        let cvm = run.cvm(name);
        assert_eq!(cvm["status"], "refused", "{cvm}");
        let reason = cvm["reason"].as_str().unwrap();
        assert!(reason.contains("is too small"), "{reason}");
    }
}
