//! `cargo xtask bench density`: the flagship figure. Memory per cVM and frames per
//! second per cVM for 1, 4 and 8 transcoding cVMs (`examples/transcode`), with ORC
//! (ffmpeg, its libraries and musl loaded once and shared) against the same cVMs with
//! private copies of every object (each cVM its own tenant without a sharing policy).
//!
//! Each configuration runs the release intravisor three times; the figures are the
//! median run's. Memory is the kernel's proportional set size of the whole intravisor
//! process at its peak (`/proc/self/smaps_rollup`, sampled every 5 ms by the
//! intravisor, from its report), divided by the number of cVMs, and the same above the
//! Pss of the intravisor before any cVM ran; frames per second per
//! cVM is 60 frames over the wall time of the run, all cVMs running at once on this
//! machine's cores.
//!
//! Beside them, the same transcodes as native processes: the native build of the same
//! ffmpeg (glibc, its libraries shared through the page cache as any dynamically linked
//! program's), one process per transcode, all at once; memory is the peak of the sum of
//! their Pss, sampled every 5 ms.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::ffmpeg::LIBRARIES;
use super::transcode::INPUTS;
use super::{cargo, root, run};

/// The transcode's frames.
const FRAMES: f64 = 60.0;
/// Runs per configuration.
const RUNS: usize = 3;

/// One configuration's median run.
#[derive(Debug, Clone, Copy)]
struct Measurement {
    seconds: f64,
    peak_pss: u64,
    baseline_pss: u64,
}

/// Runs every configuration and prints the table (after `cargo xtask build`).
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
    for count in [1u32, 4, 8] {
        for kind in [Kind::Orc, Kind::Private, Kind::Native] {
            let mut runs = Vec::with_capacity(RUNS);
            for _ in 0..RUNS {
                runs.push(match kind {
                    Kind::Orc | Kind::Private => {
                        measure(&write_deployment(&directory, count, kind == Kind::Orc)?)?
                    }
                    Kind::Native => measure_native(&native, &directory, count)?,
                });
            }
            runs.sort_by(|left, right| left.seconds.total_cmp(&right.seconds));
            let median = runs[RUNS / 2];
            let mebibytes = median.peak_pss as f64 / (1024.0 * 1024.0);
            let above = match kind {
                Kind::Native => "-".to_string(),
                _ => format!(
                    "{:.2}",
                    median.peak_pss.saturating_sub(median.baseline_pss) as f64
                        / (1024.0 * 1024.0)
                        / f64::from(count)
                ),
            };
            println!(
                "| {count} | {} | {:.2} | {above} | {:.1} | {:.0} | {:.3} |",
                match kind {
                    Kind::Orc => "ORC (shared)",
                    Kind::Private => "private copies",
                    Kind::Native => "native processes",
                },
                mebibytes / f64::from(count),
                mebibytes,
                FRAMES / median.seconds,
                median.seconds
            );
        }
    }
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

/// Runs `count` transcodes as native processes at once: the wall time until the last
/// ends, and the peak of the sum of their Pss.
fn measure_native(build: &Path, directory: &Path, count: u32) -> Result<Measurement, String> {
    let inputs = root().join("examples/transcode/build");
    let library_path: Vec<String> = LIBRARIES
        .iter()
        .map(|library| build.join(library.split(".so").next().unwrap_or(library)).display().to_string())
        .collect();
    let outputs = directory.join("out");
    std::fs::create_dir_all(&outputs)
        .map_err(|error| format!("cannot create {}: {error}", outputs.display()))?;
    let started = Instant::now();
    let mut children: Vec<Child> = Vec::new();
    for index in 1..=count {
        let input = (index - 1) % INPUTS + 1;
        let child = Command::new(build.join("ffmpeg"))
            .env("LD_LIBRARY_PATH", library_path.join(":"))
            .args([
                "-hide_banner",
                "-loglevel",
                "error",
                "-nostdin",
                "-y",
                "-f",
                "rawvideo",
                "-pix_fmt",
                "yuv420p",
            ])
            .args(["-s", "128x96", "-r", "30", "-i"])
            .arg(inputs.join(format!("in{input}.yuv")))
            .args(["-f", "s16le", "-ar", "48000", "-ac", "2", "-i"])
            .arg(inputs.join(format!("in{input}.pcm")))
            .args(["-vf", "hue=s=0", "-c:v", "mpeg4", "-c:a", "ac3"])
            .arg(outputs.join(format!("native-{count}-{index}.avi")))
            .stdout(Stdio::null())
            .spawn()
            .map_err(|error| format!("cannot run the native ffmpeg: {error}"))?;
        children.push(child);
    }
    let mut peak = 0;
    let mut running = children.len();
    while running > 0 {
        let total: u64 = children.iter().filter_map(|child| process_pss(child.id())).sum();
        peak = peak.max(total);
        running = 0;
        for child in &mut children {
            match child.try_wait() {
                Ok(Some(status)) if !status.success() => {
                    return Err(format!("a native ffmpeg failed: {status}"))
                }
                Ok(Some(_)) => {}
                _ => running += 1,
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(Measurement { seconds: started.elapsed().as_secs_f64(), peak_pss: peak, baseline_pss: 0 })
}

/// The Pss of process `id` in bytes, or `None` once it is gone.
fn process_pss(id: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{id}/smaps_rollup")).ok()?;
    let kilobytes =
        text.lines().find_map(|line| line.strip_prefix("Pss:"))?.trim().trim_end_matches("kB").trim();
    kilobytes.parse::<u64>().ok().map(|kilobytes| kilobytes * 1024)
}

/// A deployment of `count` transcoders over the example's build, all in one tenant
/// (ORC sharing) or each in a tenant of its own (private copies).
fn write_deployment(directory: &Path, count: u32, shared: bool) -> Result<PathBuf, String> {
    let build = root().join("examples/transcode/build");
    let kind = if shared { "orc" } else { "private" };
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
             args: [-hide_banner, -loglevel, warning, -nostdin, -y, -f, rawvideo, -pix_fmt, yuv420p, -s, 128x96, -r, \"30\", -i, in.yuv, -f, \
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
    let file = directory.join(format!("{kind}-{count}.yaml"));
    std::fs::write(&file, text).map_err(|error| format!("cannot write {}: {error}", file.display()))?;
    Ok(file)
}

/// Runs a deployment once: its wall time and the kernel's peak Pss from its report.
fn measure(deployment: &Path) -> Result<Measurement, String> {
    let report = deployment.with_extension("json");
    let started = Instant::now();
    let output = Command::new(root().join("target/release/intravisor"))
        .arg("run")
        .arg(deployment)
        .arg("--report")
        .arg(&report)
        .output()
        .map_err(|error| format!("cannot run the intravisor: {error}"))?;
    let seconds = started.elapsed().as_secs_f64();
    if !output.status.success() {
        return Err(format!(
            "{} failed with {}: {}",
            deployment.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let text = std::fs::read_to_string(&report)
        .map_err(|error| format!("cannot read {}: {error}", report.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|error| format!("{}: {error}", report.display()))?;
    let kernel = |field: &str| {
        value["kernel"][field].as_u64().ok_or_else(|| format!("{} has no kernel.{field}", report.display()))
    };
    Ok(Measurement { seconds, peak_pss: kernel("peak_pss")?, baseline_pss: kernel("baseline_pss")? })
}
