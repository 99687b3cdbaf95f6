//! A hostile tenant's cVMs against the host intravisor: each attack runs beside a
//! healthy neighbour that keeps a secret, and must end only the attacker (or be refused)
//! while the neighbour finishes with its exact output, the intravisor writes its
//! report, and no secret reaches the attacker. cVMs run as processes (the default).

use std::path::{Path, PathBuf};

use tests::{root, run_deployment, run_deployment_with, scratch, Run};

/// What the neighbour prints when nothing reached it.
const NEIGHBOUR_LINE: &str = "neighbour: NEIGHBOUR-SECRET-5b1d0c, the sum of 1..1000 is 500500";

fn program() -> PathBuf {
    root().join("examples/hostile/build/hostile")
}

fn libos() -> PathBuf {
    root().join("examples/hostile/build/libcvm.so")
}

/// A deployment of the neighbour and the cVMs `attacks` (name, runtime, arguments).
fn deployment(name: &str, attacks: &[(&str, &Path, &str)]) -> PathBuf {
    deployment_with(name, attacks, "")
}

/// The same, with `isolation` fields added to the attackers'.
fn deployment_with(name: &str, attacks: &[(&str, &Path, &str)], isolation: &str) -> PathBuf {
    let mut text = String::from("cVMs:\n");
    let neighbour = program();
    for (index, (cvm, runtime, arguments)) in
        [("neighbour", neighbour.as_path(), "neighbour")].iter().chain(attacks).enumerate()
    {
        let extra = if index == 0 { "" } else { isolation };
        text.push_str(&format!(
            "  - name: {cvm}\n    runtime: {}\n    objects: [{}]\n    args: {arguments}\n    isolation: {{ size: 8M{extra} }}\n",
            runtime.display(),
            libos().display()
        ));
    }
    let file = scratch(name).join("deploy.yaml");
    std::fs::write(&file, text).expect("the deployment is written");
    file
}

/// The neighbour finished with its exact output, the intravisor reported on it, and
/// nobody else printed its secret.
fn assert_neighbour_intact(run: &Run) {
    assert_eq!(run.cvm("neighbour")["status"], "exited", "stderr: {}", run.stderr);
    assert_eq!(run.cvm("neighbour")["exit_code"], 0);
    assert_eq!(run.lines_of("neighbour"), [NEIGHBOUR_LINE], "stdout: {}", run.stdout);
    let leaks = run.stdout.lines().filter(|line| line.contains("NEIGHBOUR-SECRET")).count();
    assert_eq!(leaks, 1, "the secret was printed by another cVM: {}", run.stdout);
}

/// System calls a cVM's code makes itself, each with arguments that would harm the host.
const SYSTEM_CALLS: [&str; 22] = [
    "open",
    "openat",
    "create",
    "proc-mem",
    "execve",
    "socket",
    "ptrace",
    "kill",
    "getpid",
    "process-vm-readv",
    "mprotect",
    "mremap",
    "mmap",
    "fork",
    "unshare",
    "setns",
    "write",
    "clock-cputime",
    "futex-requeue",
    "pread",
    "pread-below",
    "pread-above",
];

#[test]
fn system_calls_from_cvm_code_end_only_the_attacker() {
    let marker = Path::new("/tmp/orc-hostile-was-here");
    let _ = std::fs::remove_file(marker);
    let program = program();
    let arguments: Vec<String> = SYSTEM_CALLS.iter().map(|call| format!("[syscall, {call}]")).collect();
    let attacks: Vec<(&str, &Path, &str)> = SYSTEM_CALLS
        .iter()
        .zip(&arguments)
        .map(|(call, arguments)| (*call, program.as_path(), arguments.as_str()))
        .collect();
    let run = run_deployment(&deployment("hostile-system-calls", &attacks));
    assert_eq!(run.code, Some(1), "the attackers faulted; stderr: {}", run.stderr);
    assert_neighbour_intact(&run);
    for call in SYSTEM_CALLS {
        let cvm = run.cvm(call);
        assert_eq!(cvm["status"], "faulted", "{call}: {cvm}");
        assert_eq!(cvm["fault"]["cause"], "forbidden system call", "{call}: {cvm}");
        assert_eq!(cvm["fault"]["signal"], 31, "{call}: SIGSYS");
        assert!(run.lines_of(call).is_empty(), "{call} came back: {:?}", run.lines_of(call));
    }
    assert!(!marker.exists(), "a cVM created a host file");
}

#[test]
fn memory_outside_the_cvm_is_not_even_mapped_and_shared_code_stays_read_only() {
    let run = run_deployment(&deployment(
        "hostile-memory",
        &[("reader", &program(), "neighbour-read"), ("writer", &program(), "shared-write")],
    ));
    assert_neighbour_intact(&run);
    let reader = run.cvm("reader");
    assert_eq!(reader["status"], "faulted", "{reader}");
    assert_eq!(reader["fault"]["cause"], "segmentation fault: address not mapped", "{reader}");
    assert!(run.lines_of("reader").is_empty());
    let writer = run.cvm("writer");
    assert_eq!(writer["status"], "faulted", "{writer}");
    assert_eq!(writer["fault"]["cause"], "segmentation fault: access not permitted", "{writer}");
    // The neighbour ran the same libOS code after the attempt: it is intact.
    assert_eq!(run.object("libcvm.so")["users"], 3, "{:?}", run.report);
}

#[test]
fn bombs_are_held_by_their_limits() {
    let run = run_deployment(&deployment_with(
        "hostile-bombs",
        &[
            ("clone", &program(), "clone-bomb"),
            ("threads", &program(), "thread-bomb"),
            ("memory", &program(), "memory-bomb"),
            ("spin", &program(), "spin"),
        ],
        ", cpu_seconds: 2",
    ));
    assert_neighbour_intact(&run);
    // A cVM process has at most 64 tasks (its pids cgroup), the first thread included.
    assert_eq!(run.lines_of("clone"), ["made 63 threads with raw clone, then -11"], "stderr: {}", run.stderr);
    assert_eq!(run.lines_of("threads"), ["started 63 threads, then -11"]);
    assert_eq!(run.cvm("threads")["threads"], 64);
    let memory = run.lines_of("memory");
    assert_eq!(memory.len(), 1);
    assert!(
        memory[0].starts_with("took ") && memory[0].ends_with(" MiB before the heap ran out"),
        "{memory:?}"
    );
    let spin = run.cvm("spin");
    assert_eq!(spin["status"], "killed", "{spin}");
    assert_eq!(spin["reason"], "killed at its processor time limit (2 s, isolation.cpu_seconds)");
}

#[test]
fn the_monotonic_clock_a_cvm_reads_itself_does_not_tell_the_host_uptime() {
    let run = run_deployment(&deployment("hostile-uptime", &[("attacker", &program(), "uptime")]));
    assert_neighbour_intact(&run);
    let lines = run.lines_of("attacker");
    let seconds: u64 = lines
        .first()
        .and_then(|line| line.strip_prefix("monotonic clock: 0 ("))
        .and_then(|rest| rest.strip_suffix(" s)"))
        .and_then(|seconds| seconds.parse().ok())
        .unwrap_or_else(|| panic!("{lines:?}; stderr: {}", run.stderr));
    // Its process started within this run (its pool keeps few waiting), and the host has
    // been up longer than that: CI builds for minutes before the tests.
    let host: f64 =
        std::fs::read_to_string("/proc/uptime").unwrap().split_whitespace().next().unwrap().parse().unwrap();
    assert!(host > 120.0, "the host has been up {host} s: too short to tell");
    assert!(seconds < 60, "the cVM read {seconds} s: the host's uptime ({host} s), not its process's age");
}

/// A cVM's process reads its granted regular files itself (descriptors 64 on, pread64):
/// cVM code that makes that system call itself gets the granted bytes, which its
/// hostcalls give it anyway, -EFAULT for a buffer it may not write, and -EBADF where
/// nothing was handed; descriptors around those are forbidden (`SYSTEM_CALLS`).
#[test]
fn a_cvm_reads_nothing_but_its_grants_through_the_descriptors_its_process_keeps() {
    let directory = scratch("hostile-granted-pread");
    std::fs::write(directory.join("granted.txt"), "granted bytes only\n").unwrap();
    let deployment = directory.join("deploy.yaml");
    std::fs::write(
        &deployment,
        format!(
            "cVMs:\n  - name: reader\n    runtime: {}\n    objects: [{}]\n    args: [granted-pread]\n    \
             isolation: {{size: 8M}}\n    files: [granted.txt]\n",
            program().display(),
            libos().display()
        ),
    )
    .unwrap();
    let run = run_deployment(&deployment);
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert_eq!(
        run.lines_of("reader"),
        ["descriptor 64: 19: granted bytes only", "descriptor 64 into its code: -14", "descriptor 65: -9"]
    );
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
fn pages_are_given_back_only_where_the_cvm_may_write() {
    let options: [&[&str]; 2] = [&[], &["--in-process"]];
    for isolation in options {
        let attacks = [("attacker", program(), "discard")];
        let attacks: Vec<(&str, &Path, &str)> =
            attacks.iter().map(|(name, path, mode)| (*name, path.as_path(), *mode)).collect();
        let run = run_deployment_with(&deployment("hostile-discard", &attacks), isolation);
        assert_neighbour_intact(&run);
        assert_eq!(run.cvm("attacker")["status"], "exited", "stderr: {}", run.stderr);
        assert_eq!(
            run.lines_of("attacker"),
            ["discard shared code -14, outside -14, unaligned -22, own pages 0: 0 bytes non-zero after"],
            "{isolation:?}"
        );
    }
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

#[test]
fn a_cvm_cannot_forge_another_cvms_console_line() {
    let file = deployment("hostile-forge", &[("forge", &program(), "forge")]);
    let run = run_deployment(&file);
    assert_neighbour_intact(&run);
    // Its carriage return and escape sequences are shown, not obeyed: every byte it
    // printed stays on its own prefixed line.
    assert_eq!(
        run.lines_of("forge"),
        ["harmless\\x0d\\x1b[2K[neighbour] neighbour: NEIGHBOUR-FORGED", "\\x1b]0;title\\x07\\xc2\\x9b2J",],
        "stdout: {}",
        run.stdout
    );
    assert!(!run.stdout.bytes().any(|byte| byte == b'\r' || byte == 0x1b), "{}", run.stdout);
}

#[test]
fn a_cvm_past_its_wall_time_is_killed_by_name() {
    // It computes forever; the neighbour finishes.
    let run = run_deployment(&deployment_with(
        "hostile-wall",
        &[("spin", &program(), "spin")],
        ", wall_seconds: 1",
    ));
    assert_neighbour_intact(&run);
    let spin = run.cvm("spin");
    assert_eq!(spin["status"], "killed", "{spin}");
    assert_eq!(spin["reason"], "killed at its wall time limit (1 s, isolation.wall_seconds)");
    assert!(
        run.stderr
            .contains("intravisor: cVM `spin` killed at its wall time limit (1 s, isolation.wall_seconds)"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_cvm_gets_no_more_threads_than_its_deployment_gives_it() {
    let file =
        deployment_with("hostile-thread-limit", &[("threads", &program(), "thread-bomb")], ", threads: 8");
    for options in [&[][..], &["--in-process"][..]] {
        let run = run_deployment_with(&file, options);
        assert_neighbour_intact(&run);
        // Its first thread and 7 more; the 8th start is refused with EAGAIN.
        assert_eq!(run.lines_of("threads"), ["started 7 threads, then -11"], "{options:?}: {}", run.stderr);
        assert_eq!(run.cvm("threads")["threads"], 8, "{options:?}");
    }
}

/// A cVM finds the gate its process shares with the intravisor and writes requests into
/// it by hand (`gate-forge`). The one intravisor thread serving all of its threads must
/// answer at once a futex wait the cVM's process never sends (a blocking one would hold
/// every other thread's hostcalls: the cVM was then ended at its time limit, with none of
/// its lines), pass over free slots, and take a live thread's slot said to be ended as
/// given back, without counting a thread twice.
#[test]
fn requests_forged_in_the_gate_hold_neither_the_serving_thread_nor_the_intravisor() {
    let run = run_deployment(&deployment_with(
        "hostile-gate",
        &[("forger", &program(), "gate-forge")],
        ", wall_seconds: 20",
    ));
    assert_neighbour_intact(&run);
    assert_eq!(
        run.lines_of("forger"),
        [
            "forged futex wait through the gate: answered, 0",
            "forged 63000 requests in other slots; still served",
            "a thread after a forged end: 3",
        ],
        "stderr: {}",
        run.stderr
    );
    let forger = run.cvm("forger");
    assert_eq!(forger["status"], "exited", "{forger}");
    assert_eq!(forger["threads"], 3, "{forger}");
    // What the forger made the intravisor log is cut short, not written 63,000 times.
    assert!(run.stderr.lines().count() < 100, "stderr: {}", run.stderr);
}
