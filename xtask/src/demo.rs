//! `cargo xtask demo`: what a newcomer runs first. Eight transcoding cVMs
//! (`examples/transcode`) share one copy of ffmpeg's libraries and musl; their console
//! goes to a log file, and the run ends with a short summary: memory per transcoder as
//! the kernel counts it, against the same cVMs with private copies and against native
//! processes of the same ffmpeg, frames per second, and where everything is.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use super::density::{measure, measure_native, Measurement};
use super::workload::{write_deployment, Objects, Workload};
use super::{root, run};

/// Transcoders in the example.
const TRANSCODERS: u32 = 8;
/// Frames each transcodes.
const FRAMES: f64 = 60.0;

pub fn run_demo() -> Result<(), String> {
    let directory = root().join("target/demo");
    std::fs::create_dir_all(&directory)
        .map_err(|error| format!("cannot create {}: {error}", directory.display()))?;
    let report = root().join("target/transcode-report.json");
    let console = directory.join("transcode.log");
    let shown = |path: &Path| path.strip_prefix(root()).unwrap_or(path).display().to_string();
    eprintln!("demo: running {TRANSCODERS} transcoding cVMs (examples/transcode/deploy.yaml)...");
    let orc = run_example(&report, &console)?;
    let summary = read_report(&report)?;
    eprintln!("demo: the same transcodes with private copies of every object, then as native processes...");
    let private_deployment = write_deployment(&directory, TRANSCODERS, Objects::Private, Workload::small(0))?;
    let private = timed_and_sampled(|sampling| measure(&private_deployment, sampling))?;
    let native_build = super::ffmpeg::build_native(false)?;
    let native = timed_and_sampled(|sampling| {
        measure_native(&native_build, &directory, TRANSCODERS, Workload::small(0), sampling)
    })?;
    let lines = std::fs::read_to_string(&console).map(|text| text.lines().count()).unwrap_or(0);
    println!();
    println!(
        "ORC intravisor: {TRANSCODERS} cVMs transcoding 128x96 video ({FRAMES} frames) and audio to mpeg4 + ac3, each in a process of its own"
    );
    println!();
    println!("  {:<26} {:>22} {:>10} {:>22}", "", "memory per transcoder", "wall", "frames/s per transcoder");
    for (name, measurement) in
        [("ORC, objects shared", orc), ("ORC, private copies", private), ("native processes", native)]
    {
        println!(
            "  {name:<26} {:>18.1} MiB {:>8.2} s {:>22.0}",
            measurement.peak_pss as f64 / f64::from(TRANSCODERS) / (1024.0 * 1024.0),
            measurement.seconds,
            FRAMES / measurement.seconds
        );
    }
    println!("  (memory: the kernel's peak Pss of the intravisor and its cVM processes, or of the native processes, over {TRANSCODERS})");
    println!();
    println!("  {}", summary.sharing);
    println!("  outputs: examples/transcode/out/transcode{{1..{TRANSCODERS}}}/out.avi ({})", summary.outputs);
    println!("  report:  {} (per tenant: target/release/intravisor report {0})", shown(&report));
    println!("  console: {} ({lines} lines of cVM output)", shown(&console));
    println!("  more:    cargo xtask bench density (1 to 64 cVMs, KSM, steady state)");
    Ok(())
}

/// A run's time (unsampled) and another's peak Pss (sampled every 5 ms).
fn timed_and_sampled(
    mut run: impl FnMut(Option<std::time::Duration>) -> Result<Measurement, String>,
) -> Result<Measurement, String> {
    let timed = run(None)?;
    let sampled = run(Some(std::time::Duration::from_millis(5)))?;
    Ok(Measurement { seconds: timed.seconds, ..sampled })
}

/// Runs the example with its console in `console`; its wall time and peak Pss.
fn run_example(report: &Path, console: &Path) -> Result<Measurement, String> {
    let log = std::fs::File::create(console)
        .map_err(|error| format!("cannot create {}: {error}", console.display()))?;
    let errors = log.try_clone().map_err(|error| format!("{}: {error}", console.display()))?;
    let started = Instant::now();
    run(Command::new(root().join("target/release/intravisor"))
        .arg("run")
        .arg("examples/transcode/deploy.yaml")
        .arg("--report")
        .arg(report)
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(errors)))
    .map_err(|error| format!("{error} (its console: {})", console.display()))?;
    let seconds = started.elapsed().as_secs_f64();
    let value = report_value(report)?;
    let peak_pss = value["kernel"]["peak_pss"].as_u64().unwrap_or(0);
    Ok(Measurement { seconds, peak_pss, baseline_pss: 0 })
}

/// What the report says of sharing and outputs, in words.
struct Summary {
    sharing: String,
    outputs: String,
}

fn read_report(report: &Path) -> Result<Summary, String> {
    let value = report_value(report)?;
    let objects = value["objects"].as_array().cloned().unwrap_or_default();
    let once = objects
        .iter()
        .filter(|object| object["loads"] == 1 && object["users"] == u64::from(TRANSCODERS))
        .count();
    let sharing = format!(
        "{once} of {} objects (ffmpeg, its 6 libraries, musl's libc.so, the libOS) loaded once, with {TRANSCODERS} users",
        objects.len()
    );
    let exited = value["cvms"]
        .as_array()
        .map(|cvms| cvms.iter().filter(|cvm| cvm["exit_code"] == 0).count())
        .unwrap_or(0);
    let written = (1..=TRANSCODERS)
        .filter(|index| {
            root()
                .join(format!("examples/transcode/out/transcode{index}/out.avi"))
                .metadata()
                .is_ok_and(|metadata| metadata.len() > 0)
        })
        .count();
    Ok(Summary { sharing, outputs: format!("{exited} cVMs exited with 0, {written} outputs written") })
}

fn report_value(report: &Path) -> Result<serde_json::Value, String> {
    let text = std::fs::read_to_string(report)
        .map_err(|error| format!("cannot read {}: {error}", report.display()))?;
    serde_json::from_str(&text).map_err(|error| format!("{}: {error}", report.display()))
}
