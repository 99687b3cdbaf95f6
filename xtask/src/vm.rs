//! The virtual-machine peer of the density benchmark: each transcode in a Linux VM of
//! its own, the isolation clouds use when they do not trust a tenant's code.
//!
//! Each VM is a QEMU `microvm` booting Debian's own kernel (the `linux-image-amd64`
//! package, downloaded with `apt-get download` into `target/vm/`, never committed) with
//! an initramfs the xtask writes: a static busybox, the native build of the same ffmpeg
//! with the glibc it links against, the VM's one input, and an `/init` that runs the
//! same transcode as the native processes, prints its exit status, the guest's own
//! time for it and the output's digest on the serial console, and powers
//! off. The output is checked against the native build's on the host.
//!
//! What is measured is the kernel's Pss of the QEMU processes (sampled from outside as
//! for every other row), per VM, and the part of it that is guest memory (the mapping
//! of the guest's RAM), which a VM costs whatever runs it. KVM does not boot a Linux
//! guest on this machine, so QEMU emulates (TCG): its translation cache adds to the
//! QEMU process, and the guest's frames per second are an emulator's, printed for
//! completeness and not comparable with the other rows' speed. QEMU marks guest memory
//! mergeable, so with `ksmd` running, pages equal across VMs (the kernel's text, the
//! initramfs's files) are merged: the `+ KSM` row.
//!
//! Only on x86-64 hosts (Debian's amd64 kernel); elsewhere the rows say why they are
//! missing.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::density::{sampled_with, Sampled};
use super::steady::KsmSettings;
use super::transcode::INPUTS;
use super::workload::{ffmpeg_arguments, native_commands, native_library_path, Workload};
use super::{output, root, run};

/// The guest's memory: the least with which Debian's kernel unpacks the initramfs and
/// runs the transcode (80 MiB does not boot).
const GUEST_MEMORY_MIB: u64 = 96;
/// Virtual CPUs per VM: as many as this machine's cores, so ffmpeg picks the same number
/// of threads (and so writes the same bytes) as a native process here.
const GUEST_CPUS: &str = "2";
/// The numbers of VMs at once (each row without KSM, and the last with it too).
const VM_COUNTS: [u32; 3] = [1, 4, 8];
/// The rows of the VM table.
pub const VM_ROWS: usize = VM_COUNTS.len() + 1;
/// How often Pss is sampled.
const INTERVAL: Duration = Duration::from_millis(20);
/// The line `/init` prints when the transcode has ended.
const REPORT: &str = "transcode-vm:";

/// One row of the VM table.
#[derive(Debug, Clone)]
pub struct VmRow {
    pub count: u32,
    pub ksm: bool,
    pub run: Sampled,
    /// The peak Pss of the first VM's guest RAM mapping.
    pub guest_peak: u64,
    /// The median of the guests' own times for the transcode, in seconds.
    pub guest_seconds: f64,
}

/// Runs every VM row, printing each; `native` is the native build whose outputs the
/// VMs' must equal. Rows that cannot run here are printed with the reason and left out.
pub fn measure_vms(native: &Path, progress: &indicatif::ProgressBar) -> Result<Vec<VmRow>, String> {
    let mut rows = Vec::new();
    progress.suspend(|| {
        println!();
        println!(
            "VMs: one QEMU microvm per transcode ({GUEST_MEMORY_MIB} MiB, {GUEST_CPUS} vCPUs, Debian's kernel, the native ffmpeg in an initramfs), emulated (TCG: KVM does not boot Linux guests here)"
        );
        println!(
            "| VMs | KSM | peak Pss per VM (MiB) | median Pss per VM while all ran, second half (MiB) | guest RAM Pss, first VM (MiB) | guest transcode (s) | wall (s) |"
        );
        println!("|---|---|---|---|---|---|---|");
    });
    if std::env::consts::ARCH != "x86_64" {
        progress.suspend(|| println!("| - | - | VMs need an x86-64 host (Debian's amd64 kernel) | | | | |"));
        return Ok(rows);
    }
    install()?;
    let kernel = kernel()?;
    let references = native_digests(native)?;
    let initrds: Vec<PathBuf> =
        (1..=INPUTS).map(|input| initramfs(native, input)).collect::<Result<_, _>>()?;
    let found = KsmSettings::read();
    for (count, ksm) in VM_COUNTS.iter().map(|&count| (count, false)).chain([(VM_COUNTS[2], true)]) {
        progress.set_message(format!("{count} VMs{}", if ksm { " + KSM" } else { "" }));
        let row = if ksm {
            let found = match &found {
                Ok(found) => found,
                Err(reason) => {
                    progress.suspend(|| println!("| {count} | yes | KSM unavailable: {reason} | | | | |"));
                    continue;
                }
            };
            KsmSettings::aggressive().write()?;
            let row = measure(&kernel, &initrds, &references, count, ksm);
            found.write()?;
            row?
        } else {
            measure(&kernel, &initrds, &references, count, ksm)?
        };
        let mebibytes = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
        progress.suspend(|| {
            println!(
                "| {count} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
                if ksm { "yes" } else { "no" },
                mebibytes(row.run.peak) / f64::from(count),
                mebibytes(row.run.late_median) / f64::from(count),
                mebibytes(row.guest_peak),
                row.guest_seconds,
                row.run.seconds,
            )
        });
        progress.inc(1);
        rows.push(row);
    }
    Ok(rows)
}

/// The rows as JSON.
pub fn to_json(rows: &[VmRow]) -> Vec<serde_json::Value> {
    rows.iter()
        .map(|row| {
            serde_json::json!({
                "vms": row.count,
                "ksm": row.ksm,
                "guest_memory_mib": GUEST_MEMORY_MIB,
                "peak_pss_bytes": row.run.peak,
                "late_median_pss_bytes": row.run.late_median,
                "first_guest_ram_peak_pss_bytes": row.guest_peak,
                "guest_transcode_seconds": row.guest_seconds,
                "wall_seconds": row.run.seconds,
                "accelerator": "tcg",
            })
        })
        .collect()
}

/// Boots `count` VMs at once, each transcoding its input, and checks what each printed.
fn measure(
    kernel: &Path,
    initrds: &[PathBuf],
    references: &[String],
    count: u32,
    ksm: bool,
) -> Result<VmRow, String> {
    let directory = root().join("target/vm/serial");
    std::fs::create_dir_all(&directory)
        .map_err(|error| format!("cannot create {}: {error}", directory.display()))?;
    let tsc_kilohertz = tsc_kilohertz()?;
    let mut logs = Vec::new();
    let mut commands = Vec::new();
    for index in 1..=count {
        let input = ((index - 1) % INPUTS) as usize;
        let log = directory.join(format!("{count}-{index}{}.log", if ksm { "-ksm" } else { "" }));
        let _ = std::fs::remove_file(&log);
        commands.push(qemu(kernel, &initrds[input], &log, tsc_kilohertz));
        logs.push((log, input));
    }
    let mut guest_peak = 0;
    let run = sampled_with(commands, Some(INTERVAL), &mut |_, first| {
        guest_peak = guest_peak.max(guest_ram_pss(first).unwrap_or(0));
    })?;
    let mut guest_seconds = Vec::new();
    for (log, input) in &logs {
        let text = std::fs::read_to_string(log)
            .map_err(|error| format!("cannot read the serial console {}: {error}", log.display()))?;
        let report = Report::parse(&text).ok_or_else(|| {
            format!("{} has no `{REPORT}` line: the VM did not finish its transcode", log.display())
        })?;
        if report.status != 0 {
            return Err(format!("{}: ffmpeg exited {}", log.display(), report.status));
        }
        if report.digest != references[*input] {
            return Err(format!(
                "{}: the VM's output (md5 {}) differs from the native build's (md5 {})",
                log.display(),
                report.digest,
                references[*input]
            ));
        }
        guest_seconds.push(report.seconds);
    }
    guest_seconds.sort_by(f64::total_cmp);
    let guest_seconds = guest_seconds[guest_seconds.len() / 2];
    Ok(VmRow { count, ksm, run, guest_peak, guest_seconds })
}

/// What `/init` printed after the transcode.
#[derive(Debug, PartialEq)]
struct Report {
    status: i32,
    seconds: f64,
    digest: String,
}

impl Report {
    /// `transcode-vm: exit S start T0 end T1 md5 D`
    fn parse(console: &str) -> Option<Self> {
        let line = console.lines().find_map(|line| line.trim().strip_prefix(REPORT))?;
        let fields: Vec<&str> = line.split_whitespace().collect();
        let value =
            |name: &str| fields.iter().position(|field| *field == name).and_then(|at| fields.get(at + 1));
        let start: f64 = value("start")?.parse().ok()?;
        let end: f64 = value("end")?.parse().ok()?;
        Some(Self {
            status: value("exit")?.parse().ok()?,
            seconds: end - start,
            digest: value("md5")?.to_string(),
        })
    }
}

/// One VM: QEMU's microvm with the guest's console in `log`, no devices but the serial
/// port, ended (not restarted) when `/init` reboots it (by a triple fault: `reboot=t`;
/// the ACPI and keyboard-controller ways sometimes leave it running).
fn qemu(kernel: &Path, initrd: &Path, log: &Path, tsc_kilohertz: u64) -> Command {
    let mut command = Command::new("qemu-system-x86_64");
    command
        .args(["-M", "microvm,pit=on,pic=on,rtc=on", "-accel", "tcg,tb-size=16", "-cpu", "max"])
        .args(["-smp", GUEST_CPUS, "-m"])
        .arg(format!("{GUEST_MEMORY_MIB}M"))
        .args(["-nodefaults", "-no-user-config", "-display", "none", "-monitor", "none", "-no-reboot"])
        .arg("-serial")
        .arg(format!("file:{}", log.display()))
        .arg("-kernel")
        .arg(kernel)
        .arg("-initrd")
        .arg(initrd)
        .arg("-append")
        .arg(format!("console=ttyS0 quiet panic=-1 reboot=t tsc_early_khz={tsc_kilohertz} tsc=reliable"));
    command
}

/// This machine's TSC frequency, which the guest's is under QEMU's emulation: given to
/// the guest's kernel, which otherwise calibrates it against the emulated PIT and, with
/// several VMs on a busy host, fails and then hangs.
fn tsc_kilohertz() -> Result<u64, String> {
    let cpuinfo = read(Path::new("/proc/cpuinfo"))?;
    String::from_utf8_lossy(&cpuinfo)
        .lines()
        .find_map(|line| line.strip_prefix("cpu MHz")?.split(':').nth(1)?.trim().parse::<f64>().ok())
        .map(|megahertz| (megahertz * 1000.0) as u64)
        .ok_or_else(|| "/proc/cpuinfo gives no `cpu MHz`".to_string())
}

/// The Pss of process `id`'s mapping of the guest's RAM (the anonymous mapping of
/// exactly its size), in bytes.
fn guest_ram_pss(id: u32) -> Option<u64> {
    let smaps = std::fs::read_to_string(format!("/proc/{id}/smaps")).ok()?;
    let mut in_guest_ram = false;
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        match (fields.next(), fields.next()) {
            (Some("Size:"), Some(kilobytes)) => {
                in_guest_ram = kilobytes.parse::<u64>().ok() == Some(GUEST_MEMORY_MIB * 1024);
            }
            (Some("Pss:"), Some(kilobytes)) if in_guest_ram => {
                return Some(kilobytes.parse::<u64>().ok()? * 1024)
            }
            _ => {}
        }
    }
    None
}

/// Installs QEMU for x86-64 and a static busybox, if missing (the benchmark's own needs,
/// not the build's).
fn install() -> Result<(), String> {
    let installed = |package: &str| {
        Command::new("dpkg-query")
            .args(["-W", "-f", "${Status}", package])
            .output()
            .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).contains("install ok installed"))
    };
    let missing: Vec<&str> =
        ["qemu-system-x86", "busybox-static"].into_iter().filter(|package| !installed(package)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// Debian's current amd64 kernel image, downloaded once.
fn kernel() -> Result<PathBuf, String> {
    let directory = root().join("target/vm/kernel");
    if let Some(found) = find_kernel(&directory) {
        return Ok(found);
    }
    let depends = output(Command::new("apt-cache").args(["depends", "linux-image-amd64"]))?;
    let package = depends
        .lines()
        .find_map(|line| {
            line.trim().strip_prefix("Depends: ").filter(|name| name.starts_with("linux-image-"))
        })
        .ok_or("apt-cache names no kernel image that linux-image-amd64 depends on")?
        .to_string();
    std::fs::create_dir_all(&directory)
        .map_err(|error| format!("cannot create {}: {error}", directory.display()))?;
    // Only the image itself is unpacked (the package's modules are ten times its size).
    let script = format!(
        "cd '{directory}' && apt-get download -qq {package} && dpkg-deb --fsys-tarfile {package}_*.deb | tar -x ./boot && rm {package}_*.deb",
        directory = directory.display()
    );
    run(Command::new("sh").args(["-c", &script]))?;
    find_kernel(&directory).ok_or_else(|| format!("{package} holds no boot/vmlinuz-*"))
}

fn find_kernel(directory: &Path) -> Option<PathBuf> {
    std::fs::read_dir(directory.join("boot"))
        .ok()?
        .flatten()
        .map(|entry| entry.path())
        .find(|path| path.file_name().is_some_and(|name| name.to_string_lossy().starts_with("vmlinuz-")))
}

/// The md5 of the native build's output for each input.
fn native_digests(native: &Path) -> Result<Vec<String>, String> {
    let directory = root().join("target/vm");
    let commands = native_commands(native, &directory, INPUTS, Workload::small(0))?;
    let mut digests = Vec::new();
    for (index, mut command) in commands.into_iter().enumerate() {
        run(&mut command)?;
        let file = Workload::small(0).native_output(&directory, INPUTS, index as u32 + 1);
        let digest = output(Command::new("md5sum").arg(&file))?;
        digests.push(digest.split_whitespace().next().unwrap_or_default().to_string());
    }
    Ok(digests)
}

/// The initramfs of a VM transcoding input `input`: `target/vm/initrd-INPUT.cpio.gz`.
fn initramfs(native: &Path, input: u32) -> Result<PathBuf, String> {
    let inputs = root().join("examples/transcode/build");
    let archive = root().join(format!("target/vm/initrd-{input}.cpio"));
    let mut entries = Archive::default();
    for directory in ["bin", "dev", "proc", "lib", "lib64", "work"] {
        entries.directory(directory);
    }
    entries.device("dev/console", 5, 1);
    entries.file("bin/busybox", &read(Path::new("/bin/busybox"))?, 0o755);
    entries.symlink("bin/sh", "busybox");
    entries.file("bin/ffmpeg", &read(&native.join("ffmpeg"))?, 0o755);
    for (name, path) in shared_libraries(native)? {
        let destination =
            if name.starts_with("ld-linux") { format!("lib64/{name}") } else { format!("lib/{name}") };
        entries.file(&destination, &read(&path)?, 0o755);
    }
    entries.file("work/in.yuv", &read(&inputs.join(format!("in{input}.yuv")))?, 0o644);
    entries.file("work/in.pcm", &read(&inputs.join(format!("in{input}.pcm")))?, 0o644);
    entries.file("init", init_script().as_bytes(), 0o755);
    let bytes = entries.finish()?;
    std::fs::write(&archive, bytes)
        .map_err(|error| format!("cannot write {}: {error}", archive.display()))?;
    run(Command::new("gzip").args(["-1", "-f"]).arg(&archive))?;
    Ok(archive.with_extension("cpio.gz"))
}

/// `/init`: the transcode, timed by the guest, then its report and power-off.
fn init_script() -> String {
    let arguments = ffmpeg_arguments("in.yuv", "in.pcm", "out.avi", Workload::small(0)).join(" ");
    format!(
        "#!/bin/busybox sh\n\
         /bin/busybox --install -s /bin\n\
         mount -t proc proc /proc\n\
         cd /work\n\
         export LD_LIBRARY_PATH=/lib\n\
         start=$(cut -d ' ' -f 1 /proc/uptime)\n\
         /bin/ffmpeg {arguments}\n\
         status=$?\n\
         end=$(cut -d ' ' -f 1 /proc/uptime)\n\
         echo \"{REPORT} exit $status start $start end $end md5 $(md5sum out.avi | cut -d ' ' -f 1)\"\n\
         reboot -f\n"
    )
}

/// The shared libraries the native ffmpeg loads (as `ldd` resolves them with the
/// build's library path), by the name the loader looks for.
fn shared_libraries(native: &Path) -> Result<Vec<(String, PathBuf)>, String> {
    let listing = output(
        Command::new("ldd").arg(native.join("ffmpeg")).env("LD_LIBRARY_PATH", native_library_path(native)),
    )?;
    let mut libraries = Vec::new();
    for line in listing.lines() {
        let line = line.trim();
        let (name, path) = match line.split_once(" => ") {
            Some((name, rest)) => (name.to_string(), rest.split_whitespace().next().unwrap_or_default()),
            None => {
                let path = line.split_whitespace().next().unwrap_or_default();
                (Path::new(path).file_name().unwrap_or_default().to_string_lossy().into_owned(), path)
            }
        };
        if path.starts_with('/') {
            libraries.push((name, PathBuf::from(path)));
        } else if !name.starts_with("linux-vdso") {
            return Err(format!("ldd cannot resolve {name} for {}", native.join("ffmpeg").display()));
        }
    }
    Ok(libraries)
}

/// A newc archive being written in memory.
#[derive(Debug, Default)]
struct Archive {
    bytes: Vec<u8>,
    inode: u32,
    error: Option<std::io::Error>,
}

impl Archive {
    fn entry(&mut self, name: &str, mode: u32, data: &[u8], device: Option<(u32, u32)>) {
        self.inode += 1;
        let (major, minor) = device.unwrap_or((0, 0));
        let builder =
            cpio::newc::Builder::new(name).ino(self.inode).mode(mode).rdev_major(major).rdev_minor(minor);
        let written = (|| {
            let mut writer = builder.write(&mut self.bytes, u32::try_from(data.len()).unwrap_or(u32::MAX));
            writer.write_all(data)?;
            writer.finish().map(drop)
        })();
        if let Err(error) = written {
            self.error.get_or_insert(error);
        }
    }

    fn directory(&mut self, name: &str) {
        self.entry(name, 0o040_755, &[], None);
    }

    fn file(&mut self, name: &str, data: &[u8], permissions: u32) {
        self.entry(name, 0o100_000 | permissions, data, None);
    }

    fn symlink(&mut self, name: &str, target: &str) {
        self.entry(name, 0o120_777, target.as_bytes(), None);
    }

    fn device(&mut self, name: &str, major: u32, minor: u32) {
        self.entry(name, 0o020_600, &[], Some((major, minor)));
    }

    fn finish(mut self) -> Result<Vec<u8>, String> {
        if let Some(error) = self.error {
            return Err(format!("cannot write the initramfs: {error}"));
        }
        cpio::newc::trailer(&mut self.bytes)
            .map_err(|error| format!("cannot write the initramfs: {error}"))?;
        Ok(self.bytes)
    }
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|error| format!("cannot read {}: {error}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::Report;

    #[test]
    fn the_report_line_is_read_from_the_console() {
        let console = "[    0.1] boot\ntranscode-vm: exit 0 start 1.50 end 3.75 md5 abc\n";
        let report = Report::parse(console).unwrap();
        assert_eq!(report, Report { status: 0, seconds: 2.25, digest: "abc".to_string() });
        assert!(Report::parse("transcode-vm: exit 0 start x end 1 md5 abc").is_none());
        assert!(Report::parse("no report").is_none());
    }
}
