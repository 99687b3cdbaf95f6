//! `cargo xtask bench density`: the flagship figure. Memory per cVM and frames per
//! second per cVM for 1, 4, 8, 32 and 64 transcoding cVMs (`examples/transcode`), with ORC
//! (ffmpeg, its libraries and musl loaded once and shared) against the same cVMs with
//! private copies of every object (each cVM its own tenant without a sharing policy).
//!
//! Each configuration runs the release intravisor three times for the time (the
//! median run's), and once more for the memory: the kernel's proportional set size of
//! the intravisor and its cVM processes at its peak (their `smaps_rollup`, sampled every
//! 5 ms from outside, as for the native processes; reading them that often slows what
//! runs, so the timed runs are not sampled), divided by the number of cVMs, and the same
//! above the Pss of the intravisor before any cVM ran (from its report); frames per
//! second per cVM is 60 frames over the wall time of the run, all cVMs running at once
//! on this machine's cores. The tables are written as JSON with SVG plots of memory and
//! frames per second against the number of cVMs (`target/density/`).
//!
//! Beside them, the same transcodes as native processes: the native build of the same
//! ffmpeg (glibc, its libraries shared through the page cache as any dynamically linked
//! program's), one process per transcode, all at once; memory is the peak of the sum of
//! their Pss, sampled every 5 ms.
//!
//! The second table, long transcodes where page merging (run-time sharing, KSM) has
//! time to work, is `steady.rs`'s; the third, the same transcode in a Linux VM each,
//! `vm.rs`'s.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::ffmpeg::LIBRARIES;
use super::transcode::INPUTS;
use super::{cargo, root, run};

/// The transcode's frames.
pub const FRAMES: f64 = 60.0;
/// Timed runs per configuration (and one more for memory).
const RUNS: usize = 3;
/// How often the memory run samples Pss (the timed runs do not).
const SAMPLED: Option<Duration> = Some(Duration::from_millis(5));
const UNSAMPLED: Option<Duration> = None;

/// One configuration's median run.
#[derive(Debug, Clone, Copy)]
pub struct Measurement {
    pub seconds: f64,
    pub peak_pss: u64,
    pub baseline_pss: u64,
}

/// Runs every configuration and prints the tables (after `cargo xtask build`), then
/// writes them as JSON (`target/density/density.json`) and plots memory and frames per
/// second per cVM against the number of cVMs (`memory.svg`, `fps.svg` beside it).
pub fn run_density() -> Result<(), String> {
    run(cargo().args(["build", "--quiet", "--release", "--bin", "intravisor"]))?;
    let directory = root().join("target/density");
    std::fs::create_dir_all(&directory)
        .map_err(|error| format!("cannot create {}: {error}", directory.display()))?;
    println!(
        "transcode density: 128x96, 60 frames + 2 s stereo audio per cVM, mpeg4 + ac3, {RUNS} runs each"
    );
    println!(
        "| cVMs | objects | Pss per cVM (MiB) | above the idle intravisor, per cVM (MiB) | Pss total (MiB) | fps per cVM | wall (s) |"
    );
    println!("|---|---|---|---|---|---|---|");
    let native = super::ffmpeg::build_native(false)?;
    let progress = progress_bar(
        (COUNTS.len() * 3 * (RUNS + 1)) as u64
            + super::steady::STEADY_RUNS as u64
            + super::vm::VM_ROWS as u64,
    )?;
    let rows = measure_all(&directory, &native, &progress)?;
    let steady = super::steady::steady_state(&directory, &native, &progress)?;
    let vms = super::vm::measure_vms(&native, &progress)?;
    progress.finish_and_clear();
    write_results(&directory, &rows, &steady, &super::vm::to_json(&vms))
}

/// `cargo xtask bench vm`: the virtual-machine table alone, written as
/// `target/density/vm.json`.
pub fn run_vms() -> Result<(), String> {
    let native = super::ffmpeg::build_native(false)?;
    let progress = progress_bar(super::vm::VM_ROWS as u64)?;
    let vms = super::vm::measure_vms(&native, &progress)?;
    progress.finish_and_clear();
    let directory = root().join("target/density");
    std::fs::create_dir_all(&directory)
        .map_err(|error| format!("cannot create {}: {error}", directory.display()))?;
    let file = directory.join("vm.json");
    let text = serde_json::to_string_pretty(&super::vm::to_json(&vms)).map_err(|error| error.to_string())?;
    std::fs::write(&file, text + "\n").map_err(|error| format!("cannot write {}: {error}", file.display()))
}

fn progress_bar(length: u64) -> Result<indicatif::ProgressBar, String> {
    let progress = indicatif::ProgressBar::new(length);
    progress.set_style(
        indicatif::ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
            .map_err(|error| error.to_string())?,
    );
    Ok(progress)
}

/// The numbers of cVMs (and native processes) of the first table.
const COUNTS: [u32; 5] = [1, 4, 8, 32, 64];

/// One row of the first table.
#[derive(Debug, Clone, Copy)]
struct Row {
    count: u32,
    kind: Kind,
    median: Measurement,
}

impl Row {
    fn mebibytes_per_cvm(&self) -> f64 {
        self.median.peak_pss as f64 / (1024.0 * 1024.0) / f64::from(self.count)
    }

    fn fps(&self) -> f64 {
        FRAMES / self.median.seconds
    }
}

/// The first table: 1 to 64 short transcodes.
fn measure_all(
    directory: &Path,
    native: &Path,
    progress: &indicatif::ProgressBar,
) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    for count in COUNTS {
        for kind in [Kind::Orc, Kind::Private, Kind::Native] {
            progress.set_message(format!("{count} transcodes, {}", kind.name()));
            // Timed runs read nothing of the processes (reading a thousand page tables
            // every few milliseconds would slow what is timed); one more run samples
            // their Pss every 5 ms for the memory.
            let mut runs = Vec::with_capacity(RUNS + 1);
            for sampling in [UNSAMPLED; RUNS].into_iter().chain([SAMPLED]) {
                runs.push(match kind {
                    Kind::Orc => measure(&write_deployment(directory, count, Objects::Shared, 0)?, sampling)?,
                    Kind::Private => {
                        measure(&write_deployment(directory, count, Objects::Private, 0)?, sampling)?
                    }
                    Kind::Native => measure_native(native, directory, count, 0, sampling)?,
                });
                progress.inc(1);
            }
            let memory = runs.pop().ok_or("no memory run")?;
            runs.sort_by(|left, right| left.seconds.total_cmp(&right.seconds));
            let median = Measurement {
                peak_pss: memory.peak_pss,
                baseline_pss: memory.baseline_pss,
                ..runs[RUNS / 2]
            };
            let row = Row { count, kind, median };
            let above = match kind {
                Kind::Native => "-".to_string(),
                _ => format!(
                    "{:.2}",
                    row.median.peak_pss.saturating_sub(row.median.baseline_pss) as f64
                        / (1024.0 * 1024.0)
                        / f64::from(count)
                ),
            };
            progress.suspend(|| {
                println!(
                    "| {count} | {} | {:.2} | {above} | {:.1} | {:.0} | {:.3} |",
                    kind.name(),
                    row.mebibytes_per_cvm(),
                    row.median.peak_pss as f64 / (1024.0 * 1024.0),
                    row.fps(),
                    row.median.seconds
                )
            });
            rows.push(row);
        }
    }
    Ok(rows)
}

/// Writes both tables as JSON and the plots of the first.
fn write_results(
    directory: &Path,
    rows: &[Row],
    steady: &[serde_json::Value],
    vms: &[serde_json::Value],
) -> Result<(), String> {
    let table: Vec<serde_json::Value> = rows
        .iter()
        .map(|row| {
            serde_json::json!({
                "cvms": row.count,
                "objects": row.kind.name(),
                "peak_pss_bytes": row.median.peak_pss,
                "baseline_pss_bytes": row.median.baseline_pss,
                "pss_per_cvm_mib": row.mebibytes_per_cvm(),
                "fps_per_cvm": row.fps(),
                "wall_seconds": row.median.seconds,
            })
        })
        .collect();
    let json = serde_json::json!({
        "workload": "128x96, 60 frames + 2 s stereo audio per cVM, mpeg4 + ac3",
        "runs_per_configuration": RUNS,
        "short": table,
        "steady_state": steady,
        "vms": vms,
    });
    let file = directory.join("density.json");
    let text = serde_json::to_string_pretty(&json).map_err(|error| error.to_string())?;
    std::fs::write(&file, text + "\n")
        .map_err(|error| format!("cannot write {}: {error}", file.display()))?;
    let series = |value: fn(&Row) -> f64| -> Vec<super::plots::Series<'static>> {
        [Kind::Orc, Kind::Private, Kind::Native]
            .into_iter()
            .map(|kind| {
                let points = rows
                    .iter()
                    .filter(|row| row.kind == kind)
                    .map(|row| (f64::from(row.count), value(row)))
                    .collect();
                (kind.name(), points)
            })
            .collect()
    };
    let memory = directory.join("memory.svg");
    let fps = directory.join("fps.svg");
    let across = "cVMs (or native processes) at once";
    let marked = super::plots::Points::Marked;
    let title = "Pss per transcoder (kernel)";
    super::plots::line_chart(&memory, title, across, "MiB", &series(Row::mebibytes_per_cvm), marked)?;
    let title = "frames per second per transcoder";
    super::plots::line_chart(&fps, title, across, "frames/s", &series(Row::fps), marked)?;
    println!();
    println!(
        "results: {}; plots: {}, {}, {}",
        file.display(),
        memory.display(),
        fps.display(),
        directory.join("steady-*.svg").display()
    );
    Ok(())
}

/// What runs the transcodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// cVMs sharing every object.
    Orc,
    /// cVMs with private copies of every object.
    Private,
    /// Native processes of the native build.
    Native,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Orc => "ORC (shared)",
            Kind::Private => "private copies",
            Kind::Native => "native processes",
        }
    }
}

/// The native transcodes: `count` processes of the native build, each input played
/// `loops` more times.
pub fn native_commands(
    build: &Path,
    directory: &Path,
    count: u32,
    loops: u32,
) -> Result<Vec<Command>, String> {
    let inputs = root().join("examples/transcode/build");
    let outputs = directory.join("out");
    std::fs::create_dir_all(&outputs)
        .map_err(|error| format!("cannot create {}: {error}", outputs.display()))?;
    Ok((1..=count)
        .map(|index| {
            let input = (index - 1) % INPUTS + 1;
            let mut command = Command::new(build.join("ffmpeg"));
            command.env("LD_LIBRARY_PATH", native_library_path(build)).args(ffmpeg_arguments(
                &inputs.join(format!("in{input}.yuv")).display().to_string(),
                &inputs.join(format!("in{input}.pcm")).display().to_string(),
                &outputs.join(format!("native-{count}-{index}.avi")).display().to_string(),
                loops,
            ));
            command
        })
        .collect())
}

/// Where the native build's libraries are, as `LD_LIBRARY_PATH`.
pub fn native_library_path(build: &Path) -> String {
    let directories: Vec<String> = LIBRARIES
        .iter()
        .map(|library| build.join(library.split(".so").next().unwrap_or(library)).display().to_string())
        .collect();
    directories.join(":")
}

/// The native ffmpeg's arguments for one transcode, each input played `loops` more times.
pub fn ffmpeg_arguments(yuv: &str, pcm: &str, output: &str, loops: u32) -> Vec<String> {
    let count = loops.to_string();
    let looped: Vec<&str> = if loops == 0 { Vec::new() } else { vec!["-stream_loop", &count] };
    let mut arguments: Vec<&str> = vec!["-hide_banner", "-loglevel", "error", "-nostdin", "-y"];
    arguments.extend(&looped);
    arguments.extend(["-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", "128x96", "-r", "30", "-i", yuv]);
    arguments.extend(&looped);
    arguments.extend(["-f", "s16le", "-ar", "48000", "-ac", "2", "-i", pcm]);
    arguments.extend(["-vf", "hue=s=0", "-c:v", "mpeg4", "-c:a", "ac3", output]);
    arguments.into_iter().map(str::to_string).collect()
}

/// Runs `count` short transcodes as native processes at once: the wall time until the
/// last ends, and the peak of the sum of their Pss.
pub fn measure_native(
    build: &Path,
    directory: &Path,
    count: u32,
    loops: u32,
    sampling: Option<Duration>,
) -> Result<Measurement, String> {
    let run = sampled(native_commands(build, directory, count, loops)?, sampling)?;
    Ok(Measurement { seconds: run.seconds, peak_pss: run.peak, baseline_pss: 0 })
}

/// A run sampled from outside.
#[derive(Debug, Clone)]
pub struct Sampled {
    pub seconds: f64,
    /// The peak of the sum of the processes' Pss.
    pub peak: u64,
    /// The median of that sum over the second half of the run.
    pub late_median: u64,
    /// Every sample: (seconds since the start, the sum).
    pub samples: Vec<(f64, u64)>,
}

/// Runs `commands` at once until all have ended, sampling the sum of their Pss every
/// `interval`; without one, only timed (the peak is then 0).
pub fn sampled(commands: Vec<Command>, interval: Option<Duration>) -> Result<Sampled, String> {
    sampled_with(commands, interval, &mut |_, _| {})
}

/// As `sampled`, calling `each` after every sample with the seconds since the start and
/// the first command's process.
pub fn sampled_with(
    commands: Vec<Command>,
    interval: Option<Duration>,
    each: &mut dyn FnMut(f64, u32),
) -> Result<Sampled, String> {
    let started = Instant::now();
    let mut children: Vec<Child> = Vec::new();
    for mut command in commands {
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|error| format!("cannot run {command:?}: {error}"))?;
        children.push(child);
    }
    let Some(interval) = interval else {
        for child in &mut children {
            let status = child.wait().map_err(|error| format!("cannot wait for a transcode: {error}"))?;
            if !status.success() {
                return Err(format!("a transcode failed: {status}"));
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        return Ok(Sampled { seconds, peak: 0, late_median: 0, samples: Vec::new() });
    };
    let mut samples: Vec<(f64, u64)> = Vec::new();
    let mut running = children.len();
    while running > 0 {
        let total: u64 = children.iter().filter_map(|child| process_pss(child.id())).sum();
        samples.push((started.elapsed().as_secs_f64(), total));
        if let Some(first) = children.first() {
            each(started.elapsed().as_secs_f64(), first.id());
        }
        running = 0;
        for child in &mut children {
            match child.try_wait() {
                Ok(Some(status)) if !status.success() => return Err(format!("a transcode failed: {status}")),
                Ok(Some(_)) => {}
                _ => running += 1,
            }
        }
        std::thread::sleep(interval);
    }
    let seconds = started.elapsed().as_secs_f64();
    let peak = samples.iter().map(|&(_, total)| total).max().unwrap_or(0);
    let mut late: Vec<u64> = samples
        .iter()
        .filter(|&&(at, total)| at > seconds / 2.0 && total > 0)
        .map(|&(_, total)| total)
        .collect();
    late.sort_unstable();
    let late_median = late.get(late.len() / 2).copied().unwrap_or(peak);
    Ok(Sampled { seconds, peak, late_median, samples })
}

/// The Pss of process `id` and of every process it started (an intravisor's cVM
/// processes), in bytes, or `None` once it is gone.
fn process_pss(id: u32) -> Option<u64> {
    intravisor::platform::process_tree_memory(&id.to_string()).map(|(_, pss)| pss)
}

/// What the transcoding cVMs of a deployment share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Objects {
    /// Each cVM in a tenant of its own: private copies of every object.
    Private,
    /// All in one tenant: every object loaded once.
    Shared,
    /// All in one tenant whose policy also opts into run-time sharing.
    SharedAtRunTime { after_milliseconds: u32 },
}

/// A deployment of `count` transcoders over the example's build, each input played
/// `loops` more times.
pub fn write_deployment(
    directory: &Path,
    count: u32,
    objects: Objects,
    loops: u32,
) -> Result<PathBuf, String> {
    let build = root().join("examples/transcode/build");
    let kind = match objects {
        Objects::Private => "private",
        Objects::Shared => "orc",
        Objects::SharedAtRunTime { .. } => "orc-run-time",
    };
    let looped = if loops == 0 { String::new() } else { format!("-stream_loop, \"{loops}\", ") };
    let object_files: Vec<String> = ["libc.so", "libcvm.so"]
        .iter()
        .chain(&LIBRARIES)
        .map(|object| build.join(object).display().to_string())
        .collect();
    let mut text = String::new();
    if let Objects::SharedAtRunTime { after_milliseconds } = objects {
        let policy = directory.join("fleet-run-time-sharing.yaml");
        let policy_text = format!("tenant: fleet\nrun_time_sharing:\n  after_ms: {after_milliseconds}\n");
        std::fs::write(&policy, policy_text)
            .map_err(|error| format!("cannot write {}: {error}", policy.display()))?;
        text.push_str(&format!("tenants:\n  fleet: {}\n", policy.display()));
    }
    text.push_str("cVMs:\n");
    for index in 1..=count {
        let input = (index - 1) % INPUTS + 1;
        let tenant = if objects == Objects::Private { format!("tenant{index}") } else { "fleet".to_string() };
        text.push_str(&format!(
            "  - name: transcode{index}\n    tenant: {tenant}\n    runtime: {}\n    objects: [{}]\n    \
             args: [-hide_banner, -loglevel, warning, -nostdin, -y, {looped}-f, rawvideo, -pix_fmt, yuv420p, -s, 128x96, -r, \"30\", -i, in.yuv, {looped}-f, \
             s16le, -ar, \"48000\", -ac, \"2\", -i, in.pcm, -vf, hue=s=0, -c:v, mpeg4, -c:a, ac3, out.avi]\n    \
             files:\n      - {{path: {}, as: in.yuv}}\n      - {{path: {}, as: in.pcm}}\n    output: {}\n    \
             isolation: {{size: 64M}}\n",
            build.join("ffmpeg").display(),
            object_files.join(", "),
            build.join(format!("in{input}.yuv")).display(),
            build.join(format!("in{input}.pcm")).display(),
            directory.join("out").join(format!("{kind}-{count}-{index}")).display(),
        ));
    }
    let file = directory.join(format!("{kind}-{count}-{loops}.yaml"));
    std::fs::write(&file, text).map_err(|error| format!("cannot write {}: {error}", file.display()))?;
    Ok(file)
}

/// Runs a deployment once: its wall time, and the kernel's peak Pss of the intravisor
/// and its cVM processes, sampled from outside every `sampling` (if at all) as for native processes
/// (the intravisor's own sampler spaces its samples out when there are many cVMs); the
/// Pss of the intravisor before any cVM ran is from its report.
pub fn measure(deployment: &Path, sampling: Option<Duration>) -> Result<Measurement, String> {
    let report = deployment.with_extension("json");
    let mut command = Command::new(root().join("target/release/intravisor"));
    command.arg("run").arg(deployment).arg("--report").arg(&report);
    let run =
        sampled(vec![command], sampling).map_err(|error| format!("{}: {error}", deployment.display()))?;
    let text = std::fs::read_to_string(&report)
        .map_err(|error| format!("cannot read {}: {error}", report.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|error| format!("{}: {error}", report.display()))?;
    let baseline_pss = value["kernel"]["baseline_pss"]
        .as_u64()
        .ok_or_else(|| format!("{} has no kernel.baseline_pss", report.display()))?;
    Ok(Measurement { seconds: run.seconds, peak_pss: run.peak, baseline_pss })
}
