//! `cargo xtask bench density`: the flagship figure. Memory per cVM and frames per
//! second per cVM for 1, 4, 8, 32 and 64 transcoding cVMs (`examples/transcode`, 128x96
//! frames; 1, 8, 32 and 64 at 640x360 and 1280x720; 1, 8 and 64 by the full build of
//! ffmpeg at 128x96 and 1280x720: `crate::workload`), with ORC (ffmpeg,
//! its libraries and musl loaded once and shared) against the same cVMs with private
//! copies of every object (each cVM its own tenant without a sharing policy).
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

use intravisor::platform::TreeMemory;

use super::workload::{native_commands, write_deployment, Objects, Workload};
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
/// second per cVM against the number of cVMs (`memory.svg`, `fps.svg` beside it for
/// 128x96, `memory-640x360.svg` ... for the larger frames).
pub fn run_density() -> Result<(), String> {
    let (directory, native) = start_table()?;
    let short_runs: usize = SIZES.iter().map(|(_, counts)| counts.len() * 3 * (RUNS + 1)).sum();
    let progress =
        progress_bar(short_runs as u64 + super::steady::STEADY_RUNS as u64 + super::vm::VM_ROWS as u64)?;
    let rows = measure_all(&directory, &native, &progress)?;
    let steady = super::steady::steady_state(
        &directory,
        &native.reduced,
        &super::steady::STEADY_COUNTS,
        super::steady::STEADY_WORKLOAD,
        &progress,
    )?;
    let vms = super::vm::measure_vms(&native.reduced, &progress)?;
    progress.finish_and_clear();
    write_results(&directory.join("density.json"), &rows, &steady, &super::vm::to_json(&vms))
}

/// `cargo xtask bench short`: the first table alone (every frame size), written as
/// `target/density/short.json` with its plots.
pub fn run_short() -> Result<(), String> {
    let (directory, native) = start_table()?;
    let short_runs: usize = SIZES.iter().map(|(_, counts)| counts.len() * 3 * (RUNS + 1)).sum();
    let progress = progress_bar(short_runs as u64)?;
    let rows = measure_all(&directory, &native, &progress)?;
    progress.finish_and_clear();
    write_results(&directory.join("short.json"), &rows, &[], &[])
}

/// The native builds of ffmpeg (their build directories).
struct NativeBuilds {
    reduced: PathBuf,
    full: PathBuf,
}

impl NativeBuilds {
    fn of(&self, workload: Workload) -> &Path {
        if workload.full {
            &self.full
        } else {
            &self.reduced
        }
    }
}

/// Builds what the first table runs (the full build of ffmpeg too, for cVMs and
/// natively: minutes the first time) and prints its head; returns where results go
/// and the native builds.
fn start_table() -> Result<(PathBuf, NativeBuilds), String> {
    run(cargo().args(["build", "--quiet", "--release", "--bin", "intravisor"]))?;
    let directory = root().join("target/density");
    std::fs::create_dir_all(&directory)
        .map_err(|error| format!("cannot create {}: {error}", directory.display()))?;
    let target = super::examples::CvmTarget::host();
    super::ffmpeg::build_ffmpeg(target, true, &super::sdk::build(target)?)?;
    let native = NativeBuilds {
        reduced: super::ffmpeg::build_native(false)?,
        full: super::ffmpeg::build_native(true)?,
    };
    println!(
        "transcode density: 60 frames + 2 s stereo audio per cVM, mpeg4 + ac3, at three frame sizes, by the reduced and the full ffmpeg, {RUNS} runs each"
    );
    println!(
        "| ffmpeg | frames | cVMs | objects | Pss per cVM (MiB) | above the idle intravisor, per cVM (MiB) | Pss total (MiB) | fps per cVM | wall (s) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    Ok((directory, native))
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

/// The numbers of cVMs (and native processes) of the first table at 128x96.
const COUNTS: [u32; 5] = [1, 4, 8, 32, 64];
/// At larger frames, where a run takes seconds.
const LARGER_COUNTS: [u32; 4] = [1, 8, 32, 64];
/// With the full build of ffmpeg.
const FULL_COUNTS: [u32; 3] = [1, 8, 64];
/// The frame sizes and builds of the first table.
const SIZES: [(Workload, &[u32]); 5] = [
    (Workload::small(0), &COUNTS),
    (Workload::sized(640, 360), &LARGER_COUNTS),
    (Workload::sized(1280, 720), &LARGER_COUNTS),
    (Workload::small(0).by_full_build(), &FULL_COUNTS),
    (Workload::sized(1280, 720).by_full_build(), &FULL_COUNTS),
];

/// One row of the first table.
#[derive(Debug, Clone, Copy)]
struct Row {
    workload: Workload,
    count: u32,
    kind: Kind,
    median: Measurement,
}

impl Row {
    /// Its line of the console table.
    fn line(&self) -> String {
        let above = match self.kind {
            Kind::Native => "-".to_string(),
            _ => format!(
                "{:.2}",
                self.median.peak_pss.saturating_sub(self.median.baseline_pss) as f64
                    / (1024.0 * 1024.0)
                    / f64::from(self.count)
            ),
        };
        format!(
            "| {} | {} | {} | {} | {:.2} | {above} | {:.1} | {:.1} | {:.3} |",
            self.workload.build(),
            self.workload.size(),
            self.count,
            self.kind.name(),
            self.mebibytes_per_cvm(),
            self.median.peak_pss as f64 / (1024.0 * 1024.0),
            self.fps(),
            self.median.seconds
        )
    }

    fn mebibytes_per_cvm(&self) -> f64 {
        self.median.peak_pss as f64 / (1024.0 * 1024.0) / f64::from(self.count)
    }

    fn fps(&self) -> f64 {
        FRAMES / self.median.seconds
    }
}

/// The first table: 1 to 64 short transcodes at each frame size.
fn measure_all(
    directory: &Path,
    native: &NativeBuilds,
    progress: &indicatif::ProgressBar,
) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    for (workload, counts) in SIZES {
        for &count in counts {
            for kind in [Kind::Orc, Kind::Private, Kind::Native] {
                progress.set_message(format!(
                    "{count} transcodes of {} ({} ffmpeg), {}",
                    workload.size(),
                    workload.build(),
                    kind.name()
                ));
                let row = measure_row(directory, native.of(workload), workload, count, kind, progress)?;
                progress.suspend(|| println!("{}", row.line()));
                rows.push(row);
            }
        }
    }
    Ok(rows)
}

/// One row: the median of the timed runs, the memory of one more.
fn measure_row(
    directory: &Path,
    native: &Path,
    workload: Workload,
    count: u32,
    kind: Kind,
    progress: &indicatif::ProgressBar,
) -> Result<Row, String> {
    // Timed runs read nothing of the processes (reading a thousand page tables every few
    // milliseconds would slow what is timed); one more run samples their Pss every 5 ms
    // for the memory.
    let mut runs = Vec::with_capacity(RUNS + 1);
    for sampling in [UNSAMPLED; RUNS].into_iter().chain([SAMPLED]) {
        runs.push(match kind {
            Kind::Orc => measure(&write_deployment(directory, count, Objects::Shared, workload)?, sampling)?,
            Kind::Private => {
                measure(&write_deployment(directory, count, Objects::Private, workload)?, sampling)?
            }
            Kind::Native => measure_native(native, directory, count, workload, sampling)?,
        });
        progress.inc(1);
    }
    let memory = runs.pop().ok_or("no memory run")?;
    runs.sort_by(|left, right| left.seconds.total_cmp(&right.seconds));
    let median =
        Measurement { peak_pss: memory.peak_pss, baseline_pss: memory.baseline_pss, ..runs[RUNS / 2] };
    Ok(Row { workload, count, kind, median })
}

/// Writes the tables as JSON to `file` and the plots of the first beside it.
fn write_results(
    file: &Path,
    rows: &[Row],
    steady: &[serde_json::Value],
    vms: &[serde_json::Value],
) -> Result<(), String> {
    let table: Vec<serde_json::Value> = rows
        .iter()
        .map(|row| {
            serde_json::json!({
                "ffmpeg": row.workload.build(),
                "frame_size": row.workload.size(),
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
        "workload": "60 frames (128x96, 640x360 or 1280x720) + 2 s stereo audio per cVM, mpeg4 + ac3, by the reduced or the full build of ffmpeg",
        "runs_per_configuration": RUNS,
        "short": table,
        "steady_state": steady,
        "vms": vms,
    });
    let directory = file.parent().unwrap_or(Path::new("."));
    let text = serde_json::to_string_pretty(&json).map_err(|error| error.to_string())?;
    std::fs::write(file, text + "\n").map_err(|error| format!("cannot write {}: {error}", file.display()))?;
    let mut plots = Vec::new();
    for (workload, _) in SIZES {
        let series = |value: fn(&Row) -> f64| -> Vec<super::plots::Series<'static>> {
            [Kind::Orc, Kind::Private, Kind::Native]
                .into_iter()
                .map(|kind| {
                    let points = rows
                        .iter()
                        .filter(|row| row.kind == kind && row.workload == workload)
                        .map(|row| (f64::from(row.count), value(row)))
                        .collect();
                    (kind.name(), points)
                })
                .collect()
        };
        let suffix = if workload == Workload::small(0) {
            String::new()
        } else {
            format!("-{}-{}", workload.build(), workload.size())
        };
        let memory = directory.join(format!("memory{suffix}.svg"));
        let fps = directory.join(format!("fps{suffix}.svg"));
        let across = "cVMs (or native processes) at once";
        let marked = super::plots::Points::Marked;
        let title = format!("Pss per transcoder (kernel), {}, {} ffmpeg", workload.size(), workload.build());
        super::plots::line_chart(&memory, &title, across, "MiB", &series(Row::mebibytes_per_cvm), marked)?;
        let title =
            format!("frames per second per transcoder, {}, {} ffmpeg", workload.size(), workload.build());
        super::plots::line_chart(&fps, &title, across, "frames/s", &series(Row::fps), marked)?;
        plots.extend([memory, fps]);
    }
    println!();
    println!(
        "results: {}; plots: {}{}",
        file.display(),
        plots.iter().map(|plot| plot.display().to_string()).collect::<Vec<_>>().join(", "),
        if steady.is_empty() {
            String::new()
        } else {
            format!(", {}", directory.join("steady-*.svg").display())
        }
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

/// Runs `count` transcodes as native processes at once: the wall time until the last
/// ends, and the peak of the sum of their Pss.
pub fn measure_native(
    build: &Path,
    directory: &Path,
    count: u32,
    workload: Workload,
    sampling: Option<Duration>,
) -> Result<Measurement, String> {
    let run = sampled(native_commands(build, directory, count, workload)?, sampling)?;
    Ok(Measurement { seconds: run.seconds, peak_pss: run.peak, baseline_pss: 0 })
}

/// A run sampled from outside.
#[derive(Debug, Clone)]
pub struct Sampled {
    pub seconds: f64,
    /// The peak of the sum of the processes' Pss.
    pub peak: u64,
    /// The median of that sum over the second half of the time every transcode ran:
    /// until the first ended (a native process, or an intravisor's cVM process, left),
    /// or the whole run for one process.
    pub late_median: u64,
    /// Seconds from the start until the first transcode ended (the whole run for one
    /// process).
    pub all_ran: f64,
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
        return Ok(Sampled { seconds, peak: 0, late_median: 0, all_ran: seconds, samples: Vec::new() });
    };
    let mut samples: Vec<(f64, u64)> = Vec::new();
    let mut running = children.len();
    // How many processes ran at each sample, the most so far, and when fewer first ran.
    let mut most_processes = 0;
    let mut first_ended: Option<f64> = None;
    while running > 0 {
        let trees: Vec<TreeMemory> = children.iter().filter_map(|child| process_tree(child.id())).collect();
        let total: u64 = trees.iter().map(|tree| tree.pss).sum();
        let processes: usize = trees.iter().map(|tree| tree.processes).sum();
        let at = started.elapsed().as_secs_f64();
        samples.push((at, total));
        if processes < most_processes && first_ended.is_none() {
            first_ended = Some(at);
        }
        most_processes = most_processes.max(processes);
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
    let all_ran = first_ended.unwrap_or(seconds);
    let mut late: Vec<u64> = samples
        .iter()
        .filter(|&&(at, total)| at > all_ran / 2.0 && at < all_ran && total > 0)
        .map(|&(_, total)| total)
        .collect();
    late.sort_unstable();
    let late_median = late.get(late.len() / 2).copied().unwrap_or(peak);
    Ok(Sampled { seconds, peak, late_median, all_ran, samples })
}

/// The memory of process `id` and of every process it started (an intravisor's cVM
/// processes), or `None` once it is gone.
fn process_tree(id: u32) -> Option<TreeMemory> {
    intravisor::platform::process_tree_memory(&id.to_string())
}

/// Runs a deployment once: its wall time, and the kernel's peak Pss of the intravisor
/// and its cVM processes, sampled from outside every `sampling` (if at all) as for native processes
/// (the intravisor's own sampler spaces its samples out when there are many cVMs); the
/// Pss of the intravisor before any cVM ran is from its report.
pub fn measure(deployment: &Path, sampling: Option<Duration>) -> Result<Measurement, String> {
    let report = deployment.with_extension("json");
    let mut command = Command::new(root().join("target/release/intravisor"));
    // The inputs lie in the workspace, outside the bench's deployment directory.
    command.arg("run").arg(deployment).arg("--report").arg(&report).arg("--allow-root").arg(root());
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
