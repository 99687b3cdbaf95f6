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
//! A second table compares with Linux's KSM, which needs time to scan and merge: 8
//! transcodes of inputs looped 30 times (1800 frames each), the cVMs' memory marked
//! mergeable (`intravisor run --in-process --ksm`: KSM merges only private anonymous
//! memory, and cVM processes share theirs with the intravisor through memory files)
//! with `ksmd` scanning 20000 pages every 20 ms (its settings are put back afterwards),
//! beside the same without KSM, as processes and in-process. Memory is sampled from
//! outside every 50 ms, the intravisor and its cVM processes together: the peak, and
//! the median over the second half of the run (the steady state KSM reaches).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::ffmpeg::LIBRARIES;
use super::transcode::INPUTS;
use super::{cargo, root, run};

/// The transcode's frames.
const FRAMES: f64 = 60.0;
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
    let progress = indicatif::ProgressBar::new((COUNTS.len() * 3 * (RUNS + 1)) as u64 + STEADY_ROWS as u64);
    progress.set_style(
        indicatif::ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
            .map_err(|error| error.to_string())?,
    );
    let rows = measure_all(&directory, &native, &progress)?;
    let steady = steady_state(&directory, &native, &progress)?;
    progress.finish_and_clear();
    write_results(&directory, &rows, &steady)
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
                    Kind::Orc | Kind::Private => {
                        measure(&write_deployment(directory, count, kind == Kind::Orc, 0)?, sampling)?
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
fn write_results(directory: &Path, rows: &[Row], steady: &[serde_json::Value]) -> Result<(), String> {
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
    });
    let file = directory.join("density.json");
    let text = serde_json::to_string_pretty(&json).map_err(|error| error.to_string())?;
    std::fs::write(&file, text + "\n")
        .map_err(|error| format!("cannot write {}: {error}", file.display()))?;
    let series = |value: fn(&Row) -> f64| -> Vec<super::plots::Series<'static>> {
        [Kind::Orc, Kind::Private, Kind::Native]
            .into_iter()
            .map(|kind| {
                let points =
                    rows.iter().filter(|row| row.kind == kind).map(|row| (row.count, value(row))).collect();
                (kind.name(), points)
            })
            .collect()
    };
    let memory = directory.join("memory.svg");
    let fps = directory.join("fps.svg");
    super::plots::line_chart(&memory, "Pss per transcoder (kernel)", "MiB", &series(Row::mebibytes_per_cvm))?;
    super::plots::line_chart(&fps, "frames per second per transcoder", "frames/s", &series(Row::fps))?;
    println!();
    println!("results: {}; plots: {}, {}", file.display(), memory.display(), fps.display());
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
fn native_commands(build: &Path, directory: &Path, count: u32, loops: u32) -> Result<Vec<Command>, String> {
    let inputs = root().join("examples/transcode/build");
    let library_path: Vec<String> = LIBRARIES
        .iter()
        .map(|library| build.join(library.split(".so").next().unwrap_or(library)).display().to_string())
        .collect();
    let outputs = directory.join("out");
    std::fs::create_dir_all(&outputs)
        .map_err(|error| format!("cannot create {}: {error}", outputs.display()))?;
    let looped: Vec<String> =
        if loops == 0 { Vec::new() } else { vec!["-stream_loop".to_string(), loops.to_string()] };
    Ok((1..=count)
        .map(|index| {
            let input = (index - 1) % INPUTS + 1;
            let mut command = Command::new(build.join("ffmpeg"));
            command
                .env("LD_LIBRARY_PATH", library_path.join(":"))
                .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
                .args(&looped)
                .args(["-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", "128x96", "-r", "30", "-i"])
                .arg(inputs.join(format!("in{input}.yuv")))
                .args(&looped)
                .args(["-f", "s16le", "-ar", "48000", "-ac", "2", "-i"])
                .arg(inputs.join(format!("in{input}.pcm")))
                .args(["-vf", "hue=s=0", "-c:v", "mpeg4", "-c:a", "ac3"])
                .arg(outputs.join(format!("native-{count}-{index}.avi")));
            command
        })
        .collect())
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
#[derive(Debug, Clone, Copy)]
struct Sampled {
    seconds: f64,
    /// The peak of the sum of the processes' Pss.
    peak: u64,
    /// The median of that sum over the second half of the run.
    late_median: u64,
}

/// Runs `commands` at once until all have ended, sampling the sum of their Pss every
/// `interval`; without one, only timed (the peak is then 0).
fn sampled(commands: Vec<Command>, interval: Option<Duration>) -> Result<Sampled, String> {
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
        return Ok(Sampled { seconds: started.elapsed().as_secs_f64(), peak: 0, late_median: 0 });
    };
    let mut samples: Vec<(f64, u64)> = Vec::new();
    let mut running = children.len();
    while running > 0 {
        let total: u64 = children.iter().filter_map(|child| process_pss(child.id())).sum();
        samples.push((started.elapsed().as_secs_f64(), total));
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
    Ok(Sampled { seconds, peak, late_median })
}

/// KSM's settings, as found and as the comparison sets them.
#[derive(Debug, Clone)]
struct KsmSettings {
    run: String,
    pages_to_scan: String,
    sleep_milliseconds: String,
}

const KSM: &str = "/sys/kernel/mm/ksm";

impl KsmSettings {
    fn read() -> Result<Self, String> {
        let field = |name: &str| {
            std::fs::read_to_string(format!("{KSM}/{name}"))
                .map(|text| text.trim().to_string())
                .map_err(|error| format!("cannot read {KSM}/{name}: {error}"))
        };
        Ok(Self {
            run: field("run")?,
            pages_to_scan: field("pages_to_scan")?,
            sleep_milliseconds: field("sleep_millisecs")?,
        })
    }

    fn write(&self) -> Result<(), String> {
        for (name, value) in [
            ("pages_to_scan", &self.pages_to_scan),
            ("sleep_millisecs", &self.sleep_milliseconds),
            ("run", &self.run),
        ] {
            std::fs::write(format!("{KSM}/{name}"), value)
                .map_err(|error| format!("cannot write {KSM}/{name}: {error}"))?;
        }
        Ok(())
    }
}

/// Loops of each input in the steady-state table (30 plays: 1800 frames).
const STEADY_LOOPS: u32 = 29;
/// cVMs (and processes) in the steady-state table.
const STEADY_COUNT: u32 = 8;

/// Rows of the second table.
const STEADY_ROWS: usize = 6;

/// The second table: 8 long transcodes, with and without KSM.
fn steady_state(
    directory: &Path,
    native: &Path,
    progress: &indicatif::ProgressBar,
) -> Result<Vec<serde_json::Value>, String> {
    let mut results = Vec::new();
    progress.suspend(|| println!());
    progress.suspend(|| {
        println!(
            "steady state: {STEADY_COUNT} transcodes of 1800 frames each at once; Pss sampled every 50 ms; KSM scanning 20000 pages every 20 ms"
        );
        println!("| objects | peak Pss per cVM (MiB) | median Pss per cVM, second half (MiB) | fps per cVM | wall (s) |");
        println!("|---|---|---|---|---|");
    });
    let found = KsmSettings::read();
    // (name, shared or private copies (None: native processes), KSM, in-process). KSM
    // merges only private anonymous memory: its rows run in-process.
    let rows: [(&str, Option<bool>, bool, bool); STEADY_ROWS] = [
        ("ORC (shared)", Some(true), false, false),
        ("ORC (shared), in-process (not isolated)", Some(true), false, true),
        ("ORC (shared) + KSM, in-process", Some(true), true, true),
        ("private copies", Some(false), false, false),
        ("private copies + KSM, in-process", Some(false), true, true),
        ("native processes", None, false, false),
    ];
    for (name, shared, ksm, in_process) in rows {
        progress.set_message(format!("steady state, {name}"));
        progress.inc(1);
        let commands = match shared {
            Some(shared) => {
                let deployment = write_deployment(directory, STEADY_COUNT, shared, STEADY_LOOPS)?;
                let mut command = Command::new(root().join("target/release/intravisor"));
                command.arg("run").arg(deployment);
                if in_process {
                    command.arg("--in-process");
                }
                if ksm {
                    command.arg("--ksm");
                }
                vec![command]
            }
            None => native_commands(native, directory, STEADY_COUNT, STEADY_LOOPS)?,
        };
        if ksm {
            let Ok(found) = &found else {
                progress.suspend(|| {
                    println!(
                        "| {name} | KSM unavailable: {} | | | |",
                        found.as_ref().err().map_or("", String::as_str)
                    )
                });
                continue;
            };
            let aggressive = KsmSettings {
                run: "1".to_string(),
                pages_to_scan: "20000".to_string(),
                sleep_milliseconds: "20".to_string(),
            };
            if let Err(error) = aggressive.write() {
                progress.suspend(|| println!("| {name} | KSM unavailable: {error} | | | |"));
                continue;
            }
            let run = sampled(commands, Some(Duration::from_millis(50)));
            found.write()?;
            results.push(steady_row(name, &run?, progress));
        } else {
            results.push(steady_row(name, &sampled(commands, Some(Duration::from_millis(50)))?, progress));
        }
    }
    Ok(results)
}

/// Prints one row of the second table; returns it as JSON.
fn steady_row(name: &str, run: &Sampled, progress: &indicatif::ProgressBar) -> serde_json::Value {
    let per_cvm = |bytes: u64| bytes as f64 / (1024.0 * 1024.0) / f64::from(STEADY_COUNT);
    let fps = FRAMES * f64::from(STEADY_LOOPS + 1) / run.seconds;
    progress.suspend(|| {
        println!(
            "| {name} | {:.2} | {:.2} | {fps:.0} | {:.2} |",
            per_cvm(run.peak),
            per_cvm(run.late_median),
            run.seconds
        )
    });
    serde_json::json!({
        "objects": name,
        "cvms": STEADY_COUNT,
        "peak_pss_per_cvm_mib": per_cvm(run.peak),
        "late_median_pss_per_cvm_mib": per_cvm(run.late_median),
        "fps_per_cvm": fps,
        "wall_seconds": run.seconds,
    })
}

/// The Pss of process `id` and of every process it started (an intravisor's cVM
/// processes), in bytes, or `None` once it is gone.
fn process_pss(id: u32) -> Option<u64> {
    intravisor::platform::process_tree_memory(&id.to_string()).map(|(_, pss)| pss)
}

/// A deployment of `count` transcoders over the example's build, all in one tenant
/// (ORC sharing) or each in a tenant of its own (private copies), each input played
/// `loops` more times.
pub fn write_deployment(directory: &Path, count: u32, shared: bool, loops: u32) -> Result<PathBuf, String> {
    let build = root().join("examples/transcode/build");
    let kind = if shared { "orc" } else { "private" };
    let looped = if loops == 0 { String::new() } else { format!("-stream_loop, \"{loops}\", ") };
    let objects: Vec<String> = ["libc.so", "libcvm.so"]
        .iter()
        .chain(&LIBRARIES)
        .map(|object| build.join(object).display().to_string())
        .collect();
    let mut text = String::from("cVMs:\n");
    for index in 1..=count {
        let input = (index - 1) % INPUTS + 1;
        let tenant = if shared { "fleet".to_string() } else { format!("tenant{index}") };
        text.push_str(&format!(
            "  - name: transcode{index}\n    tenant: {tenant}\n    runtime: {}\n    objects: [{}]\n    \
             args: [-hide_banner, -loglevel, warning, -nostdin, -y, {looped}-f, rawvideo, -pix_fmt, yuv420p, -s, 128x96, -r, \"30\", -i, in.yuv, {looped}-f, \
             s16le, -ar, \"48000\", -ac, \"2\", -i, in.pcm, -vf, hue=s=0, -c:v, mpeg4, -c:a, ac3, out.avi]\n    \
             files:\n      - {{path: {}, as: in.yuv}}\n      - {{path: {}, as: in.pcm}}\n    output: {}\n    \
             isolation: {{size: 64M}}\n",
            build.join("ffmpeg").display(),
            objects.join(", "),
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
