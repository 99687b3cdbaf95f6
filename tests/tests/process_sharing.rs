//! What the kernel sees of cVM processes while they run: each maps nothing but its gate,
//! its region and the shared objects it uses (and the program it starts from), never an
//! object writable, and the pages of a shared object are one physical copy in every cVM
//! process (`/proc/PID/pagemap` and `/proc/kpagecount`).

use std::collections::BTreeSet;
use std::io::{Read, Seek, SeekFrom};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tests::{build_examples, intravisor, root, scratch};

/// The cVMs of the deployment: they compute until their processor time limit.
const CVMS: usize = 3;

/// The processes the intravisor started, from every one of its threads.
fn children(intravisor: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{intravisor}/task")) else { return Vec::new() };
    // Only processes that run `cvm-process`: one the pool is starting may still be
    // between vfork and exec, sharing the intravisor's own memory.
    let runs_the_shim = |pid: &u32| {
        std::fs::read_link(format!("/proc/{pid}/exe"))
            .is_ok_and(|program| program.to_string_lossy().starts_with("/memfd:cvm-process"))
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|list| list.split_whitespace().filter_map(|pid| pid.parse().ok()).collect::<Vec<u32>>())
        .filter(runs_the_shim)
        .collect()
}

/// A mapping of `/proc/PID/maps`: start, end, permissions, name.
fn mappings(pid: u32) -> Vec<(u64, u64, String, String)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (start, end) = fields.first()?.split_once('-')?;
            Some((
                u64::from_str_radix(start, 16).ok()?,
                u64::from_str_radix(end, 16).ok()?,
                fields.get(1)?.to_string(),
                fields.get(5..).map(|name| name.join(" ")).unwrap_or_default(),
            ))
        })
        .collect()
}

/// The physical frame of the page at `address` in process `pid`, if it is present.
fn frame(pid: u32, address: u64) -> Option<u64> {
    let mut pagemap = std::fs::File::open(format!("/proc/{pid}/pagemap")).ok()?;
    pagemap.seek(SeekFrom::Start(address / 4096 * 8)).ok()?;
    let mut entry = [0u8; 8];
    pagemap.read_exact(&mut entry).ok()?;
    let entry = u64::from_le_bytes(entry);
    (entry >> 63 == 1).then_some(entry & ((1 << 55) - 1)).filter(|&frame| frame != 0)
}

/// How many page tables map physical frame `frame`.
fn map_count(frame: u64) -> u64 {
    let mut counts = std::fs::File::open("/proc/kpagecount").expect("/proc/kpagecount (root)");
    counts.seek(SeekFrom::Start(frame * 8)).expect("a frame's count");
    let mut count = [0u8; 8];
    counts.read_exact(&mut count).expect("a frame's count");
    u64::from_le_bytes(count)
}

#[test]
fn cvm_processes_map_only_their_own_memory_and_share_object_pages_physically() {
    build_examples();
    let program = root().join("examples/hostile/build/hostile");
    let libos = root().join("examples/hostile/build/libcvm.so");
    let mut text = String::from("cVMs:\n");
    for index in 0..CVMS {
        text.push_str(&format!(
            "  - name: spin{index}\n    runtime: {}\n    objects: [{}]\n    args: spin\n    isolation: {{ size: 8M, cpu_seconds: 3 }}\n",
            program.display(),
            libos.display()
        ));
    }
    let file = scratch("process-sharing").join("deploy.yaml");
    std::fs::write(&file, text).unwrap();
    // The shared objects live in a file without a name in this directory (on disk).
    let objects_directory = scratch("process-sharing-objects");
    let shared_file = format!("{}/#", objects_directory.display());
    let is_shared = |name: &str| name.starts_with(&shared_file);
    let mut run = Command::new(intravisor())
        .env("ORC_OBJECTS_DIRECTORY", &objects_directory)
        .arg("run")
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the intravisor runs");
    // Wait until every cVM process has entered its cVM (its region and objects mapped).
    let deadline = Instant::now() + Duration::from_secs(30);
    let processes = loop {
        let entered: Vec<u32> = children(run.id())
            .into_iter()
            .filter(|&pid| mappings(pid).iter().any(|(_, _, _, name)| is_shared(name)))
            .collect();
        if entered.len() == CVMS {
            break entered;
        }
        assert!(Instant::now() < deadline, "the cVM processes did not start: {entered:?}");
        std::thread::sleep(Duration::from_millis(20));
    };
    let allowed = ["/memfd:cvm-process", "/memfd:cvm-gate", "/memfd:cvm-region"];
    let mut object_pages: Option<BTreeSet<u64>> = None;
    for &pid in &processes {
        let maps = mappings(pid);
        for (index, (start, end, permissions, name)) in maps.iter().enumerate() {
            // The program's zero-filled data (its signal stacks) follows its file.
            let program_data = name.is_empty()
                && index > 0
                && maps[index - 1].3.starts_with("/memfd:cvm-process")
                && maps[index - 1].1 == *start;
            let known = allowed.iter().any(|allowed| name.starts_with(allowed))
                || is_shared(name)
                || program_data
                || ["[stack]", "[vdso]", "[vvar]", "[vvar_vclock]", "[vsyscall]"].contains(&name.as_str());
            assert!(known, "cVM process {pid} maps {start:#x}-{end:#x} {permissions} {name}");
            if is_shared(name) {
                assert!(
                    !permissions.contains('w'),
                    "a shared object is writable in {pid}: {permissions} {name}"
                );
            }
        }
        // The libOS's code: the shared area's executable mapping.
        let code: BTreeSet<u64> = maps
            .iter()
            .filter(|(_, _, permissions, name)| is_shared(name) && permissions.contains('x'))
            .flat_map(|(start, end, _, _)| (*start..*end).step_by(4096))
            .collect();
        assert!(!code.is_empty(), "cVM process {pid} maps no shared code");
        object_pages = Some(match object_pages {
            None => code,
            Some(pages) => pages.intersection(&code).copied().collect(),
        });
    }
    // Pages of shared code every process has run (once all have entered their cVMs):
    // one frame each, mapped in every process.
    let object_pages = object_pages.unwrap_or_default();
    let mut checked = 0;
    while checked == 0 && Instant::now() < deadline {
        for &page in &object_pages {
            let frames: Vec<Option<u64>> = processes.iter().map(|&pid| frame(pid, page)).collect();
            let Some(Some(first)) = frames.first().copied() else { continue };
            if frames.iter().all(|frame| frame.is_some()) {
                assert!(
                    frames.iter().all(|&frame| frame == Some(first)),
                    "page {page:#x}: frames {frames:?}"
                );
                assert!(
                    map_count(first) >= CVMS as u64,
                    "page {page:#x} is mapped {} times",
                    map_count(first)
                );
                checked += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // The cVMs end at their processor time limit; the intravisor cleans up after them.
    let status = run.wait().expect("the intravisor ends");
    assert_eq!(status.code(), Some(1), "the cVMs were killed at their limit");
    assert!(checked > 0, "no page of shared code was present in every cVM process");
}

/// A small ext4 file system mounted (through a loop device) at `mount`; unmounted when
/// dropped.
struct SmallFileSystem {
    mount: std::path::PathBuf,
}

impl SmallFileSystem {
    fn new(directory: &std::path::Path, megabytes: u32) -> Self {
        let image = directory.join("disk.img");
        let mount = directory.join("objects");
        std::fs::create_dir_all(&mount).unwrap();
        let file = std::fs::File::create(&image).unwrap();
        file.set_len(u64::from(megabytes) << 20).unwrap();
        let made = Command::new("mkfs.ext4").arg("-q").arg(&image).status().expect("mkfs.ext4 (e2fsprogs)");
        assert!(made.success(), "mkfs.ext4 failed");
        let mounted = Command::new("mount").args(["-o", "loop"]).arg(&image).arg(&mount).status().unwrap();
        assert!(mounted.success(), "cannot mount a loop device (root is needed)");
        Self { mount }
    }

    /// Fills the file system with one file until no room is left.
    fn fill(&self) {
        use std::io::Write;
        let mut filler = std::fs::File::create(self.mount.join("filler")).unwrap();
        let block = vec![0x5au8; 4096];
        while filler.write_all(&block).is_ok() {}
        let _ = filler.sync_all();
    }
}

impl Drop for SmallFileSystem {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.mount).status();
    }
}

#[test]
fn a_full_disk_under_the_shared_objects_is_an_error_naming_the_object_not_a_crash() {
    build_examples();
    let directory = scratch("full-disk");
    let disk = SmallFileSystem::new(&directory, 4);
    disk.fill();
    let program = root().join("examples/hostile/build/hostile");
    let libos = root().join("examples/hostile/build/libcvm.so");
    let file = directory.join("deploy.yaml");
    std::fs::write(
        &file,
        format!(
            "cVMs:\n  - name: one\n    runtime: {}\n    objects: [{}]\n    args: spin\n    isolation: {{ size: 8M, cpu_seconds: 1 }}\n",
            program.display(),
            libos.display()
        ),
    )
    .unwrap();
    let output = Command::new(intravisor())
        .env("ORC_OBJECTS_DIRECTORY", &disk.mount)
        .arg("run")
        .arg(&file)
        .output()
        .expect("the intravisor runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.code().is_some(), "the intravisor was killed: {:?}\n{stderr}", output.status);
    assert!(!output.status.success(), "nothing could be loaded, yet the run succeeded:\n{stderr}");
    assert!(
        stderr.contains("cannot map `") && stderr.contains("No space left on device"),
        "the error names the object and the reason: {stderr}"
    );

    // With room, the same deployment runs from a file on that disk.
    std::fs::remove_file(disk.mount.join("filler")).unwrap();
    let status = Command::new(intravisor())
        .env("ORC_OBJECTS_DIRECTORY", &disk.mount)
        .arg("run")
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1), "the spinning cVM ran until its processor time limit");
}
