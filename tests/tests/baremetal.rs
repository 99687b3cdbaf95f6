//! The bare-metal intravisor (platform aarch64-virt) on Debian's QEMU: images of the
//! examples boot, print what the host run prints, share objects the same way, and end
//! with the right exit code.

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Mutex;

use tests::{root, run_deployment, transcode};

/// Image builds and host runs rebuild the same example directories: one test at a time.
static BUILDING: Mutex<()> = Mutex::new(());

/// Builds the image of an example's `deploy.yaml` and boots it; returns its exit code
/// and console.
fn boot(example: &str) -> (Option<i32>, String) {
    boot_deployment(example, "deploy")
}

/// Builds the image of `examples/EXAMPLE/DEPLOYMENT.yaml` and boots it.
fn boot_deployment(example: &str, deployment: &str) -> (Option<i32>, String) {
    boot_file(
        &root().join(format!("examples/{example}/{deployment}.yaml")),
        &format!("{example}-{deployment}"),
    )
}

/// Builds the image of the deployment in `file` as `target/images/NAME.elf` and boots it.
fn boot_file(file: &std::path::Path, name: &str) -> (Option<i32>, String) {
    let image = root().join(format!("target/images/{name}.elf"));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let built = Command::new(cargo)
        .args(["run", "--quiet", "-p", "xtask", "--", "image"])
        .arg(file)
        .args(["--platform", "aarch64-virt", "-o"])
        .arg(&image)
        .current_dir(root())
        .status()
        .expect("the xtask runs");
    assert!(built.success(), "the image of {} builds", file.display());
    boot_image(&image, "el1")
}

/// Boots `image` on QEMU with the core started at exception level `entry` (`el1`, `el2`
/// or `el3`).
fn boot_image(image: &std::path::Path, entry: &str) -> (Option<i32>, String) {
    let output = Command::new("bash")
        .arg(root().join("morello-ci/run-qemu.sh"))
        .arg(image)
        .arg("120")
        .env("ENTRY", entry)
        .output()
        .expect("QEMU runs");
    (output.status.code(), String::from_utf8_lossy(&output.stdout).replace('\r', ""))
}

/// A deployment in a scratch directory: each cVM named as its argument, running
/// `examples/PROGRAM` with the objects beside it, in a region of `size`.
fn scratch_deployment(name: &str, cvms: &[(&str, &str, &[&str], &str)]) -> std::path::PathBuf {
    let mut text = String::from("cVMs:\n");
    for (cvm, program, objects, size) in cvms {
        let program = root().join("examples").join(program);
        let objects: Vec<String> =
            objects.iter().map(|object| program.with_file_name(object).display().to_string()).collect();
        text.push_str(&format!(
            "  - name: {cvm}\n    runtime: {}\n    objects: [{}]\n    args: {cvm}\n    isolation: {{ size: {size} }}\n",
            program.display(),
            objects.join(", ")
        ));
    }
    let file = tests::scratch(name).join("deploy.yaml");
    std::fs::write(&file, text).expect("the scratch deployment is written");
    file
}

/// The console lines of each cVM, by cVM.
fn lines_by_cvm(console: &str) -> BTreeMap<String, Vec<String>> {
    let mut lines: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in console.lines() {
        if let Some((name, text)) = line.strip_prefix('[').and_then(|line| line.split_once("] ")) {
            lines.entry(name.to_string()).or_default().push(text.to_string());
        }
    }
    lines
}

fn same_as_host(example: &str) -> (Option<i32>, String) {
    let _one_at_a_time = BUILDING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let (code, console) = boot(example);
    let host = run_deployment(&root().join(format!("examples/{example}/deploy.yaml")));
    assert_eq!(
        lines_by_cvm(&console),
        lines_by_cvm(&host.stdout),
        "{example}: the same outputs as on the host:\n{console}"
    );
    (code, console)
}

#[test]
fn hello_and_orc_counter_boot_and_print_what_the_host_prints() {
    let (code, console) = same_as_host("hello");
    assert_eq!(code, Some(0), "{console}");
    assert!(console.contains("intravisor: object libcvm.so: loads 1, users 3"), "{console}");
    let (code, console) = same_as_host("orc-counter");
    assert_eq!(code, Some(0), "{console}");
    for object in ["counter", "libcounter.so", "libother.so", "libcvm.so"] {
        assert!(console.contains(&format!("intravisor: object {object}: loads 1, users 4")), "{console}");
    }
}

#[test]
fn faults_exits_non_zero_with_the_faulting_cvm_reported() {
    let (code, console) = same_as_host("faults");
    assert_eq!(code, Some(1), "{console}");
    assert!(console.contains("intravisor: cVM `wild` faulted: translation fault"), "{console}");
    assert!(console.contains("on a store to 0xdead0000"), "{console}");
    assert!(console.contains("intravisor: cVM `outside` exited with status 14"), "{console}");
    assert!(console.contains("intravisor: cVM `normal` exited with status 0"), "{console}");
}

#[test]
fn tenants_policies_are_enforced_bare_metal_too() {
    let (code, console) = same_as_host("tenants");
    assert_eq!(code, Some(0), "{console}");
    for object in ["counter", "libcounter.so", "libother.so", "libcvm.so"] {
        // alpha and beta share one copy; gamma, without a policy, has its own.
        assert!(console.contains(&format!("intravisor: object {object}: loads 2, users 4")), "{console}");
    }
}

#[test]
fn purecap_objects_are_refused_without_hardware_capabilities() {
    let _building = BUILDING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let (code, console) = boot("morello-counter");
    assert_eq!(code, Some(1), "{console}");
    for cvm in ["first", "second", "store", "direct"] {
        let refusal = format!(
            "intravisor: cVM `{cvm}` refused: `libcounter64.so` is a Morello purecap object: only the \
             `morello` platform runs purecap code"
        );
        assert!(console.contains(&refusal), "{console}");
    }
    // The host refuses them the same way.
    let run = run_deployment(&root().join("examples/morello-counter/deploy.yaml"));
    assert_eq!(run.code, Some(1), "stderr: {}", run.stderr);
    let cause = run.cvm("first")["reason"].as_str().unwrap_or_default().to_string();
    assert!(cause.contains("only the `morello` platform runs purecap code"), "{}", run.stderr);
}

#[test]
fn musl_programs_run_bare_metal_and_print_what_the_host_prints() {
    // Standard error included: bare metal tags its lines `[name:err]` as the host does.
    let (code, console) = same_as_host("musl-hello");
    assert_eq!(code, Some(0), "{console}");
    let report = "cvm-libos: system call 999 is not supported";
    let lines = lines_by_cvm(&console);
    for name in ["musl1", "musl2", "musl3"] {
        let errors = lines
            .get(&format!("{name}:err"))
            .map_or(0, |lines| lines.iter().filter(|line| *line == report).count());
        assert_eq!(errors, 1, "{name}: {console}");
    }
    for object in ["hello", "libc.so", "libcvm.so"] {
        assert!(console.contains(&format!("intravisor: object {object}: loads 1, users 3")), "{console}");
    }
}

#[test]
fn threads_take_turns_bare_metal_and_print_what_the_host_prints() {
    let _building = BUILDING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let (code, console) = boot_deployment("musl-hello", "threads-aarch64");
    assert_eq!(code, Some(0), "{console}");
    let host = run_deployment(&root().join("examples/musl-hello/threads-aarch64.yaml"));
    assert_eq!(lines_by_cvm(&console), lines_by_cvm(&host.stdout), "{console}");
    for (name, threads) in [("work1", 105), ("work2", 105), ("exit", 2), ("last", 2)] {
        assert!(console.contains(&format!("intravisor: cVM `{name}` ran {threads} threads")), "{console}");
    }
    assert!(console.contains("intravisor: cVM `exit` exited with status 3"), "{console}");
    assert!(console.contains("intravisor: cVM `last` exited with status 0"), "{console}");
}

#[test]
fn a_cvm_whose_threads_all_wait_forever_is_ended_bare_metal() {
    let _building = BUILDING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let musl = ["libc.so", "libcvm.so"];
    let file = scratch_deployment(
        "threads-deadlock",
        &[
            ("deadlock", "musl-hello/build/threads", &musl, "16M"),
            ("work", "musl-hello/build/threads", &musl, "16M"),
        ],
    );
    let (code, console) = boot_file(&file, "threads-deadlock");
    assert_eq!(code, Some(1), "{console}");
    assert!(
        console
            .contains("intravisor: cVM `deadlock` faulted: deadlocked: every thread waits on a futex word"),
        "{console}"
    );
    assert_eq!(
        lines_by_cvm(&console).get("deadlock").map(Vec::as_slice),
        Some(&["first thread: joining a thread that waits for a mutex this one holds".to_string()][..])
    );
    // The next cVM runs as if nothing happened.
    assert!(console.contains("intravisor: cVM `work` exited with status 0"), "{console}");
}

#[test]
fn hostile_thread_and_futex_hostcalls_are_refused_bare_metal_too() {
    let _building = BUILDING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let file =
        scratch_deployment("threads-hostile", &[("threads", "faults/build/faults", &["libcvm.so"], "8M")]);
    let (code, console) = boot_file(&file, "threads-hostile");
    assert_eq!(code, Some(0), "{console}");
    // The same answers as on the host (`tests/tests/fault_kinds.rs`).
    let host = run_deployment(&file);
    assert_eq!(lines_by_cvm(&console), lines_by_cvm(&host.stdout), "{console}");
    assert_eq!(lines_by_cvm(&console).get("threads").map(Vec::len), Some(2), "{console}");
}

#[test]
fn two_transcoders_share_ffmpeg_bare_metal_and_their_frames_match_the_native_build() {
    let _building = BUILDING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let outputs = root().join("examples/transcode/out/aarch64");
    let _ = std::fs::remove_dir_all(&outputs);
    let (code, console) = boot_deployment("transcode", "aarch64");
    assert_eq!(code, Some(0), "{console}");
    // ffmpeg's input threads take turns with its first thread.
    for input in 1..=2 {
        assert!(console.contains(&format!("intravisor: cVM `transcode{input}` ran 3 threads")), "{console}");
    }
    for object in ["ffmpeg", "libc.so", "libavcodec.so.59", "libavformat.so.59", "libavutil.so.57"] {
        assert!(console.contains(&format!("intravisor: object {object}: loads 1, users 2")), "{console}");
    }
    let scratch = tests::scratch("transcode-aarch64");
    for input in 1..=2 {
        let written = outputs.join(format!("transcode{input}/out.avi"));
        let reference = scratch.join(format!("native{input}.avi"));
        // Bare metal a cVM has one processor, so its ffmpeg encodes on one thread.
        transcode::native(input, &reference, Some(1));
        // The AArch64 floating point of the audio encoder differs in its last bits from
        // the x86-64 reference's, so the bytes may differ; the streams and frames may not.
        assert_eq!(transcode::probe(&written), transcode::probe(&reference), "{console}");
        assert_eq!(transcode::frame_digests(&written), transcode::frame_digests(&reference));
    }
}

/// The console and exit code of `examples/hostile-baremetal/deploy.yaml`, booted once for
/// the tests of its attacks.
fn hostile_run() -> &'static (Option<i32>, String) {
    static RUN: std::sync::OnceLock<(Option<i32>, String)> = std::sync::OnceLock::new();
    RUN.get_or_init(|| {
        let _building = BUILDING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        boot_deployment("hostile-baremetal", "deploy")
    })
}

/// Asserts that the healthy cVM `name`, run after an attack, printed its line and exited 0.
fn neighbour_ran(console: &str, name: &str) {
    assert_eq!(
        lines_by_cvm(console).get(name).map(Vec::as_slice),
        Some(&[format!("healthy: {name} ran to the end")][..]),
        "{console}"
    );
    assert!(console.contains(&format!("intravisor: cVM `{name}` exited with status 0")), "{console}");
}

#[test]
fn hostile_registers_hold_nothing_of_the_intravisor_or_the_cvm_before() {
    let (_, console) = hostile_run();
    let lines = lines_by_cvm(console);
    // The first cVM after boot finds nothing of the intravisor; the one after `plant`
    // finds none of its secret (x1..x28, v0..v31), FPCR or FPSR.
    for cvm in ["plant", "inspect"] {
        let clean =
            format!("{cvm}: on entry 0 v registers non-zero, 0 secret words; FPCR 0, FPSR 0, TPIDRRO_EL0 0");
        assert_eq!(lines.get(cvm).and_then(|lines| lines.first()), Some(&clean), "{console}");
    }
    assert!(console.contains("intravisor: cVM `plant` exited with status 0"), "{console}");
    let inspect = lines.get("inspect").cloned().unwrap_or_default();
    // A hostcall gives back every register as the cVM left it, but its answer in x0.
    assert!(
        inspect.contains(&"inspect: after a hostcall 0 registers differ from what the cVM put there".into()),
        "{console}"
    );
    // `plant`'s rounding toward zero did not follow it: 1/3 rounds to nearest.
    assert!(inspect.contains(&"inspect: 1/3 rounds to 3eaaaaab".into()), "{console}");
    assert!(console.contains("intravisor: cVM `inspect` exited with status 0"), "{console}");
    // Each thread of a cVM gets its own SIMD/FP registers and FPCR back after a switch.
    assert_eq!(
        lines.get("threads").map(Vec::as_slice),
        Some(
            &["threads: after switches the first thread found 0 of its SIMD/FP registers and FPCR changed, \
               the second 0"
                .to_string()][..]
        ),
        "{console}"
    );
}

#[test]
fn hostile_console_flood_without_a_newline_is_cut_into_lines_and_the_next_cvm_runs() {
    let (_, console) = hostile_run();
    // 1 MiB without a newline comes out in lines of 4096 bytes, as on the host.
    let flood = lines_by_cvm(console).remove("flood").unwrap_or_default();
    assert_eq!(flood.len(), 256, "{}", &console[..console.len().min(2000)]);
    assert!(flood.iter().all(|line| line.len() == 4096 && line.bytes().all(|byte| byte == b'A')));
    assert!(console.contains("intravisor: cVM `flood` exited with status 0"));
    neighbour_ran(console, "after-flood");
}

#[test]
fn hostile_wfi_and_wfe_at_el0_do_not_stop_the_core() {
    let (code, console) = hostile_run();
    // The run ends (not 124, a timeout): 1, because `wfi` faulted.
    assert_eq!(*code, Some(1), "{console}");
    assert!(
        console.contains("intravisor: cVM `wfi` faulted: WFI at EL0: a cVM may not wait for interrupts"),
        "{console}"
    );
    assert!(!console.contains("wfi: still running after WFI"), "{console}");
    neighbour_ran(console, "after-wfi");
    // QEMU never traps WFE (it only yields to its own loop): the cVM goes on there; a
    // core that traps it ends the cVM as for WFI.
    let trapped = console.contains("intravisor: cVM `wfe` faulted: WFE at EL0: a cVM may not wait");
    let went_on = console.contains("[wfe] wfe: still running after WFE")
        && console.contains("intravisor: cVM `wfe` exited with status 0");
    assert!(trapped || went_on, "{console}");
    neighbour_ran(console, "after-wfe");
}

#[test]
fn an_image_entered_at_el2_or_el3_drops_to_el1_and_its_cvms_fare_as_when_entered_at_el1() {
    // Firmware hands a payload over at EL2 (TF-A on the Morello board); a model started
    // at reset enters it at EL3. The image drops to EL1 itself; every attack of the
    // hostile deployment (registers, FP state, threads, WFI, console flood) must end as
    // when QEMU starts the core at EL1.
    let (code, console) = hostile_run();
    let image = root().join("target/images/hostile-baremetal-deploy.elf");
    let (first, rest) = console.split_once('\n').expect("the console has lines");
    assert!(first.contains("entered at EL1, running at EL1"), "{first}");
    for level in [2, 3] {
        let (entered_code, entered) = boot_image(&image, &format!("el{level}"));
        let (entered_first, entered_rest) = entered.split_once('\n').expect("the console has lines");
        assert!(entered_first.contains(&format!("entered at EL{level}, running at EL1")), "{entered_first}");
        assert_eq!(entered_code, *code, "{}", &entered[..entered.len().min(3000)]);
        assert!(
            entered_rest == rest,
            "at EL{level} the console differs from EL1's:\n{}",
            &entered[..entered.len().min(3000)]
        );
    }
}

#[test]
fn cvms_run_at_once_and_one_that_spins_forever_is_preempted_and_ended_by_its_processor_time_limit() {
    let (code, console) = {
        let _building = BUILDING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        boot_deployment("hostile-baremetal", "preemption")
    };
    // The run ends (not 124, QEMU's timeout): 1, because three cVMs were ended.
    assert_eq!(code, Some(1), "{console}");
    assert!(console.contains("intravisor: time slices of 10 ms"), "{console}");
    // The spinner, beside two cVMs that finish, is ended by its limit; they finish.
    assert!(
        console.contains(
            "intravisor: cVM `spin` killed at its processor time limit (1 s, isolation.cpu_seconds)"
        ),
        "{console}"
    );
    for healthy in ["first", "second", "last"] {
        neighbour_ran(&console, healthy);
    }
    // They run at once: the last cVM finishes while the spinner, before it, still runs.
    let finished = |cvm: &str| console.find(&format!("[{cvm}] healthy: {cvm} ran to the end"));
    assert!(
        finished("last").is_some()
            && console.find("spin-threads: the first thread ran again") > finished("last"),
        "{console}"
    );
    // A thread that spins gives the core back at the end of its slice: the cVM's other
    // thread, waiting 50 ms, runs again and ends the cVM.
    assert_eq!(
        lines_by_cvm(&console).get("spin-threads").map(Vec::as_slice),
        Some(
            &["spin-threads: the first thread ran again while the second spun (it had counted)".to_string()]
                [..]
        ),
        "{console}"
    );
    assert!(console.contains("intravisor: cVM `spin-threads` exited with status 0"), "{console}");
    // All cVMs are live at once, taking turns: the one on the core reaches no other's
    // region (the spinner's, after it, is hidden while it waits).
    assert!(
        console.contains("intravisor: cVM `neighbour` faulted: permission fault at level 3 on a load from"),
        "{console}"
    );
    assert!(!console.contains("neighbour: read"), "{console}");
    // Masking interrupts or stopping the timer traps at EL0, before the cVM can spin.
    for (cvm, register) in [("mask-interrupts", "msr S0_6_C4_C15_3"), ("stop-timer", "msr S3_3_C14_C3_1")] {
        assert!(
            console.contains(&format!("intravisor: cVM `{cvm}` faulted: system register trap on {register}")),
            "{console}"
        );
        assert!(!console.contains(&format!("{cvm}: still running")), "{console}");
    }
}

#[test]
fn constructors_and_destructors_run_per_cvm_as_on_the_host() {
    let (code, console) = same_as_host("constructors");
    assert_eq!(code, Some(0), "{console}");
    assert!(console.contains("[two] libinit: finalized with 242 after 2 constructors"), "{console}");
    assert!(console.contains("intravisor: object libinit.so: loads 1, users 3"), "{console}");
}

#[test]
fn a_makefile_project_built_by_cvm_cc_for_aarch64_boots_and_prints_what_it_prints_natively() {
    use tests::two_file_library::{deployment, for_cvms, native_output};
    let _building = BUILDING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let runs = [["1", "1000"], ["7", "2000"], ["8", "3000"]];
    let directory = for_cvms("aarch64-unknown-none");
    let (code, console) = boot_file(&deployment(&directory, &runs), "two-file-library");
    assert_eq!(code, Some(0), "{console}");
    let lines = lines_by_cvm(&console);
    for (index, arguments) in runs.iter().enumerate() {
        let printed = lines.get(&format!("c{index}")).map(|lines| lines.join("\n") + "\n");
        assert_eq!(printed.as_deref(), Some(native_output(arguments).as_str()), "c{index}:\n{console}");
    }
    for object in ["steps", "libtwo.so", "libc.so", "libcvm.so"] {
        assert!(console.contains(&format!("intravisor: object {object}: loads 1, users 3")), "{console}");
    }
}

/// What Debian's sqlite3 prints for `examples/sqlite/TENANT.sql` on an in-memory
/// database, and the dump it writes (in a scratch directory).
fn native_sqlite(tenant: &str) -> (Vec<String>, Vec<u8>) {
    let directory = tests::scratch(&format!("sqlite-native-memory-{tenant}"));
    let output = Command::new("sqlite3")
        .args(["-batch", "-init"])
        .arg(root().join(format!("examples/sqlite/{tenant}.sql")))
        .args([":memory:", ".quit"])
        .current_dir(&directory)
        .output()
        .expect("Debian's sqlite3 runs (cargo xtask setup installs it)");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let printed = String::from_utf8(output.stdout).expect("text");
    // The console shows a carriage return (CSV's line ends) as `\x0d`.
    let lines = printed.split_terminator('\n').map(|line| line.replace('\r', "\\x0d")).collect();
    (lines, std::fs::read(directory.join("dump.sql")).expect("the native run dumps its database"))
}

#[test]
fn sqlite_runs_bare_metal_for_two_tenants_sharing_it_as_debians_sqlite3_runs() {
    let _building = BUILDING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let outputs = root().join("examples/sqlite/out");
    for tenant in ["alpha", "beta"] {
        let _ = std::fs::remove_dir_all(outputs.join(format!("bare-{tenant}")));
    }
    let (code, console) = boot_deployment("sqlite", "aarch64");
    assert_eq!(code, Some(0), "{console}");
    let lines = lines_by_cvm(&console);
    for tenant in ["alpha", "beta"] {
        let (expected, _) = native_sqlite(tenant);
        assert_eq!(lines.get(&format!("{tenant}-sql")), Some(&expected), "{tenant}:\n{console}");
    }
    // Written through semihosting. beta's dump has no floating point and is the same
    // bytes; alpha's prints REAL values through `long double`, which is 128-bit on
    // AArch64 and 80-bit on the x86-64 reference (`11.75` there `11.749999999999999999`):
    // the same statements, the same number of them.
    let dump = |tenant: &str| std::fs::read(outputs.join(format!("bare-{tenant}/dump.sql"))).expect("a dump");
    assert!(dump("beta") == native_sqlite("beta").1, "beta's dump differs from the native one");
    let line_count = |bytes: &[u8]| bytes.iter().filter(|&&byte| byte == b'\n').count();
    assert_eq!(line_count(&dump("alpha")), line_count(&native_sqlite("alpha").1));
    for object in ["sqlite3", "libsqlite3.so.0", "libc.so", "libcvm.so"] {
        assert!(console.contains(&format!("intravisor: object {object}: loads 1, users 2")), "{console}");
    }
}
