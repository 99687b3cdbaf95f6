//! The second table of `cargo xtask bench density`: memory in the steady state of long
//! transcodes, where page merging has had time to work. 8, then 64 transcodes of inputs
//! looped 30 times (1800 frames each), side by side:
//!
//! - ORC as processes, in-process, and with **run-time sharing** (the tenant's policy
//!   opts in with `run_time_sharing: {after_ms: 500}`: the intravisor merges the pages
//!   its cVMs fill alike, no kernel scanning);
//! - ORC and private copies with Linux's KSM: the cVMs' memory marked mergeable
//!   (`intravisor run --in-process --ksm`; KSM merges only private anonymous memory, and
//!   cVM processes share theirs with the intravisor through memory files), `ksmd`
//!   scanning 20000 pages every 20 ms (its settings are put back afterwards), its CPU
//!   seconds shown;
//! - private copies and native processes.
//!
//! Memory is sampled from outside every 50 ms, the intravisor and its cVM processes
//! together: the peak, the median over the second half of the time every transcode ran
//! (the steady state; once the first ends, the sum is shared by fewer), and the time from which it stays at or below that steady state (+5 %): how soon
//! merging pays. The samples are plotted against time (`steady-8.svg`, `steady-64.svg`).
//! For one transcode alone, the cVM and the native process are also timed without
//! sampling, five times each in turn, over every processor and on one, and their
//! medians compared.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::census::Census;
use super::density::{sampled, sampled_with, Sampled, FRAMES};
use super::root;
use super::workload::{native_commands, write_deployment, Objects, Workload};

/// Loops of each input at 128x96 (30 plays: 1800 frames); at larger frames, as many as
/// make as many pixels, but at least 2 (3 plays: 180 frames).
const STEADY_LOOPS: u32 = 29;
/// Pixels of a 128x96 frame.
const SMALL_PIXELS: u32 = 128 * 96;
/// The table's workload unless told otherwise: 1800 frames at 128x96, reduced build.
pub const STEADY_WORKLOAD: Workload = Workload::small(STEADY_LOOPS);
/// cVMs (and processes) at once: a table for each.
pub const STEADY_COUNTS: [u32; 2] = [8, 64];
/// How long after the last cVM started run-time sharing merges.
const AFTER_MILLISECONDS: u32 = 500;
/// The sampling interval.
const INTERVAL: Duration = Duration::from_millis(50);
/// Page size.
const PAGE: u64 = 4096;
/// When the oracle looks at the cVMs' pages (the runs take 2.5 s or more).
const CENSUS_AT_SECONDS: f64 = 1.0;

/// What one row runs.
#[derive(Debug, Clone, Copy)]
struct Configuration {
    name: &'static str,
    /// The cVMs' objects (None: native processes).
    objects: Option<Objects>,
    ksm: bool,
    in_process: bool,
    /// Whether the content-sharing oracle is taken, in a run of this configuration of its own.
    census: bool,
}

/// The rows, in order. KSM merges only private anonymous memory: its rows run in-process.
const CONFIGURATIONS: [Configuration; STEADY_ROWS] = [
    Configuration {
        name: "ORC (shared)",
        objects: Some(Objects::Shared),
        ksm: false,
        in_process: false,
        census: true,
    },
    Configuration {
        name: "ORC (shared) + run-time sharing",
        objects: Some(Objects::SharedAtRunTime { after_milliseconds: AFTER_MILLISECONDS }),
        ksm: false,
        in_process: false,
        census: false,
    },
    Configuration {
        name: "ORC (shared), in-process (not isolated)",
        objects: Some(Objects::Shared),
        ksm: false,
        in_process: true,
        census: false,
    },
    Configuration {
        name: "ORC (shared) + KSM, in-process",
        objects: Some(Objects::Shared),
        ksm: true,
        in_process: true,
        census: false,
    },
    Configuration {
        name: "private copies",
        objects: Some(Objects::Private),
        ksm: false,
        in_process: false,
        census: false,
    },
    Configuration {
        name: "private copies + KSM, in-process",
        objects: Some(Objects::Private),
        ksm: true,
        in_process: true,
        census: false,
    },
    Configuration { name: "native processes", objects: None, ksm: false, in_process: false, census: false },
];

/// Rows of each table.
const STEADY_ROWS: usize = 7;
/// Rows of all the tables.
pub const STEADY_RUNS: usize = STEADY_ROWS * STEADY_COUNTS.len();

/// `cargo xtask bench steady [N] [WIDTHxHEIGHT] [--full]`: this table alone (after
/// `cargo xtask build`), for `N` transcodes at once or for each of [`STEADY_COUNTS`], at
/// 128x96 or the frame size given, by the reduced build of ffmpeg or the full one (built
/// first, for cVMs and natively: about an hour the first time), written as
/// `target/density/steady.json` with its plot beside it.
pub fn run_steady(arguments: &[String]) -> Result<(), String> {
    let (counts, workload) = steady_arguments(arguments)?;
    super::run(super::cargo().args(["build", "--quiet", "--release", "--bin", "intravisor"]))?;
    let directory = root().join("target/density");
    std::fs::create_dir_all(&directory)
        .map_err(|error| format!("cannot create {}: {error}", directory.display()))?;
    if workload.full {
        let target = super::examples::CvmTarget::host();
        super::ffmpeg::build_ffmpeg(target, true, &super::sdk::build(target)?)?;
    }
    let native = super::ffmpeg::build_native(workload.full)?;
    let progress = indicatif::ProgressBar::new((STEADY_ROWS * counts.len()) as u64);
    progress.set_style(
        indicatif::ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
            .map_err(|error| error.to_string())?,
    );
    let rows = steady_state(&directory, &native, &counts, workload, &progress)?;
    progress.finish_and_clear();
    let file = directory.join("steady.json");
    let text = serde_json::to_string_pretty(&rows).map_err(|error| error.to_string())?;
    std::fs::write(&file, text + "\n")
        .map_err(|error| format!("cannot write {}: {error}", file.display()))?;
    println!();
    println!("results: {}; plots: {}", file.display(), directory.join("steady-*.svg").display());
    Ok(())
}

/// Runs the tables for `counts` transcodes at once, printing each row as it comes;
/// returns the rows as JSON and plots the samples of each against time.
pub fn steady_state(
    directory: &Path,
    native: &Path,
    counts: &[u32],
    workload: Workload,
    progress: &indicatif::ProgressBar,
) -> Result<Vec<serde_json::Value>, String> {
    let mut rows = Vec::new();
    for &count in counts {
        rows.extend(steady_table(directory, native, count, workload, progress)?);
    }
    Ok(rows)
}

/// Whether `bench steady`'s arguments make sense, before anything is built.
pub fn check_arguments(arguments: &[String]) -> Result<(), String> {
    steady_arguments(arguments).map(|_| ())
}

/// The counts of transcodes and the workload `bench steady`'s arguments name.
fn steady_arguments(arguments: &[String]) -> Result<(Vec<u32>, Workload), String> {
    let usage = "usage: cargo xtask bench steady [N] [WIDTHxHEIGHT] [--full]";
    let mut counts = STEADY_COUNTS.to_vec();
    let mut workload = STEADY_WORKLOAD;
    for argument in arguments {
        if argument == "--full" {
            workload = workload.by_full_build();
        } else if let Some((width, height)) = argument.split_once('x') {
            let (Ok(width), Ok(height)) = (width.parse::<u32>(), height.parse::<u32>()) else {
                return Err(format!("`{argument}`: a frame size is two numbers, as 1280x720; {usage}"));
            };
            if width < 16 || height < 16 || width > 3840 || height > 2160 || width % 2 != 0 || height % 2 != 0
            {
                return Err(format!("`{argument}`: frame sizes are even, from 16x16 to 3840x2160; {usage}"));
            }
            let loops = (STEADY_LOOPS * SMALL_PIXELS / (width * height)).max(2);
            workload = Workload { width, height, loops, full: workload.full };
        } else {
            match argument.parse::<u32>() {
                Ok(count) if count >= 1 => counts = vec![count],
                _ => return Err(format!("`{argument}`: the count of transcodes must be 1 or more; {usage}")),
            }
        }
    }
    Ok((counts, workload))
}

/// The table for `count` transcodes at once.
fn steady_table(
    directory: &Path,
    native: &Path,
    count: u32,
    workload: Workload,
    progress: &indicatif::ProgressBar,
) -> Result<Vec<serde_json::Value>, String> {
    // One transcode alone is over in well under a second: eight times as many plays,
    // so that its start does not weigh on its frames per second.
    let workload =
        if count == 1 { Workload { loops: (workload.loops + 1) * 8 - 1, ..workload } } else { workload };
    let frames = FRAMES as u32 * (workload.loops + 1);
    let (size, build) = (workload.size(), workload.build());
    progress.suspend(|| {
        println!();
        println!(
            "steady state: {count} transcodes of {frames} frames each at once ({size}, the {build} build of ffmpeg); Pss sampled every 50 ms (or as fast as it can be read); while all ran: until the first process ended (the whole run for an in-process intravisor); KSM scanning 20000 pages every 20 ms; run-time sharing {AFTER_MILLISECONDS} ms after the last cVM started"
        );
        println!(
            "| objects | peak Pss per cVM (MiB) | median Pss per cVM while all ran, second half (MiB) | at or below it from (s) | ksmd CPU (s) | fps per cVM | wall (s) |"
        );
        println!("|---|---|---|---|---|---|---|");
    });
    let found = KsmSettings::read();
    let mut results = Vec::new();
    let mut timelines = Vec::new();
    for configuration in CONFIGURATIONS {
        let name = configuration.name;
        progress.set_message(format!("steady state, {count} transcodes, {name}"));
        progress.inc(1);
        // The oracle's census reads every cVM's pages at a raised priority: it is taken in
        // a run of its own, which would otherwise be slowed (at 8 transcodes of 1280x720
        // frames, 6.3 s against 5.0 s without it).
        let oracle = if configuration.census && count > 1 {
            progress.inc_length(1);
            oracle_run(directory, native, count, workload, configuration, progress)?
        } else {
            None
        };
        let commands = configuration_commands(directory, native, count, workload, configuration)?;
        let (run, ksmd_seconds) = if configuration.ksm {
            let Ok(found) = &found else {
                let reason = found.as_ref().err().map_or("", String::as_str);
                progress.suspend(|| println!("| {name} | KSM unavailable: {reason} | | | | | |"));
                continue;
            };
            if let Err(error) = KsmSettings::aggressive().write() {
                progress.suspend(|| println!("| {name} | KSM unavailable: {error} | | | | | |"));
                continue;
            }
            let before = ksmd_cpu_seconds();
            let run = sampled(commands, Some(INTERVAL));
            let after = ksmd_cpu_seconds();
            found.write()?;
            (run?, before.zip(after).map(|(before, after)| after - before))
        } else {
            (sampled(commands, Some(INTERVAL))?, None)
        };
        results.push(steady_row(name, count, workload, &run, ksmd_seconds, progress));
        results.extend(oracle);
        let per_cvm = |bytes: u64| bytes as f64 / (1024.0 * 1024.0) / f64::from(count);
        timelines.push((name, run.samples.iter().map(|&(at, total)| (at, per_cvm(total))).collect()));
    }
    if count == 1 {
        let orc = || configuration_commands(directory, native, 1, workload, CONFIGURATIONS[0]);
        let processes = || native_commands(native, directory, 1, workload);
        results.push(super::alone::speed(CONFIGURATIONS[0].name, &orc, &processes, workload, progress)?);
    }
    let plot = directory.join(format!("steady-{count}.svg"));
    super::plots::line_chart(
        &plot,
        &format!("Pss per transcoder over {count} long transcodes (kernel)"),
        "seconds since start",
        "MiB",
        &timelines,
        super::plots::Points::Joined,
    )?;
    Ok(results)
}

/// What runs `configuration`'s `count` transcodes of `workload`.
fn configuration_commands(
    directory: &Path,
    native: &Path,
    count: u32,
    workload: Workload,
    configuration: Configuration,
) -> Result<Vec<Command>, String> {
    let Some(objects) = configuration.objects else {
        return native_commands(native, directory, count, workload);
    };
    let deployment = write_deployment(directory, count, objects, workload)?;
    let mut command = Command::new(root().join("target/release/intravisor"));
    // The inputs lie in the workspace, outside the bench's deployment directory.
    command.arg("run").arg(deployment).arg("--allow-root").arg(root());
    if configuration.in_process {
        command.arg("--in-process");
    }
    if configuration.ksm {
        command.arg("--ksm");
    }
    Ok(vec![command])
}

/// Runs `configuration` once more to take the content-sharing oracle's census during the
/// run, on a thread of its own (at 64 cVMs it reads and hashes 110,000 pages, and the
/// samples must go on meanwhile); prints the oracle's row and returns it as JSON (none,
/// with a line saying why, if the census failed).
fn oracle_run(
    directory: &Path,
    native: &Path,
    count: u32,
    workload: Workload,
    configuration: Configuration,
    progress: &indicatif::ProgressBar,
) -> Result<Option<serde_json::Value>, String> {
    progress.set_message(format!("steady state, {count} transcodes, the oracle's census"));
    progress.inc(1);
    let mut census: Option<std::thread::JoinHandle<Result<Census, String>>> = None;
    let mut take_census = |at: f64, intravisor: u32| {
        if census.is_none() && at >= CENSUS_AT_SECONDS {
            census = Some(std::thread::spawn(move || super::census::take(intravisor, count)));
        }
    };
    let commands = configuration_commands(directory, native, count, workload, configuration)?;
    let run = sampled_with(commands, Some(INTERVAL), &mut take_census)?;
    let census = match census {
        Some(census) => census.join().map_err(|_| "the census panicked".to_string())?,
        None => Err(format!("the run was over before {CENSUS_AT_SECONDS} s")),
    };
    match census {
        Ok(census) => Ok(Some(oracle_row(&census, count, &run, progress))),
        Err(error) => {
            progress.suspend(|| println!("| oracle: not taken: {error} | | | | | | |"));
            Ok(None)
        }
    }
}

/// Prints one row; returns it as JSON.
fn steady_row(
    name: &str,
    count: u32,
    workload: Workload,
    run: &Sampled,
    ksmd_seconds: Option<f64>,
    progress: &indicatif::ProgressBar,
) -> serde_json::Value {
    let per_cvm = |bytes: u64| bytes as f64 / (1024.0 * 1024.0) / f64::from(count);
    let fps = FRAMES * f64::from(workload.loops + 1) / run.seconds;
    let settled = settled_at(run);
    let ksmd = ksmd_seconds.map_or("-".to_string(), |seconds| format!("{seconds:.2}"));
    // 64 transcodes of 1280x720 frames make 3-4 frames a second each: tenths show the rows apart.
    let precision = if fps < 100.0 { 1 } else { 0 };
    progress.suspend(|| {
        println!(
            "| {name} | {:.2} | {:.2} | {settled:.2} | {ksmd} | {fps:.precision$} | {:.2} |",
            per_cvm(run.peak),
            per_cvm(run.late_median),
            run.seconds
        )
    });
    serde_json::json!({
        "objects": name,
        "cvms": count,
        "frame_size": workload.size(),
        "build": workload.build(),
        "peak_pss_per_cvm_mib": per_cvm(run.peak),
        "late_median_pss_per_cvm_mib": per_cvm(run.late_median),
        "steady_from_seconds": settled,
        "ksmd_cpu_seconds": ksmd_seconds,
        "fps_per_cvm": fps,
        "wall_seconds": run.seconds,
    })
}

/// Prints the content-sharing oracle, taken during `run`: its steady state with every
/// cVM region page that is resident replaced by one copy of each distinct non-zero
/// content. Returns it as JSON.
fn oracle_row(
    census: &Census,
    count: u32,
    run: &Sampled,
    progress: &indicatif::ProgressBar,
) -> serde_json::Value {
    let per_cvm = |bytes: u64| bytes as f64 / (1024.0 * 1024.0) / f64::from(count);
    let with_floor = |pages: u64| run.late_median.saturating_sub(census.resident_bytes()) + pages * PAGE;
    let floor = with_floor(census.distinct_contents);
    let at_offset_floor = with_floor(census.distinct_at_each_offset);
    let in_all_floor = with_floor(census.alike_in_all_floor);
    let held_by_all_floor = with_floor(census.held_by_all_floor);
    let name = "oracle: ORC (shared) with every identical page one copy, zero pages free";
    progress.suspend(|| {
        println!("| {name} | | {:.2} | | | | |", per_cvm(floor));
        println!(
            "|   (at {:.1} s, {} cVMs' regions: {} resident pages, {} zero, {} held by another cVM too, {} unique; {} distinct non-zero) | | | | | | |",
            CENSUS_AT_SECONDS + census.waited_seconds,
            census.cvms,
            census.resident_pages,
            census.zero_pages,
            census.shared_content_pages,
            census.unique_pages,
            census.distinct_contents
        );
        println!(
            "|   (merging only contents every cVM holds: {:.2}; merging a page only at its offset: {:.2} if among some cVMs, several contents at one offset, {:.2} if only pages every cVM holds alike there) | | | | | | |",
            per_cvm(held_by_all_floor),
            per_cvm(at_offset_floor),
            per_cvm(in_all_floor)
        )
    });
    serde_json::json!({
        "objects": name,
        "cvms": count,
        "late_median_pss_per_cvm_mib": per_cvm(floor),
        "census": {
            "at_seconds": CENSUS_AT_SECONDS + census.waited_seconds,
            "cvms": census.cvms,
            "resident_pages": census.resident_pages,
            "zero_pages": census.zero_pages,
            "shared_content_pages": census.shared_content_pages,
            "unique_pages": census.unique_pages,
            "distinct_contents": census.distinct_contents,
            "distinct_at_each_offset": census.distinct_at_each_offset,
            "alike_in_all_floor_pages": census.alike_in_all_floor,
            "held_by_all_floor_pages": census.held_by_all_floor,
        },
        "held_by_all_pss_per_cvm_mib": per_cvm(held_by_all_floor),
        "at_one_offset_pss_per_cvm_mib": per_cvm(at_offset_floor),
        "alike_in_all_pss_per_cvm_mib": per_cvm(in_all_floor),
    })
}

/// The time from which the run's memory stays at or below its steady state (+5 %)
/// while every transcode runs.
fn settled_at(run: &Sampled) -> f64 {
    let ceiling = run.late_median as f64 * 1.05;
    run.samples
        .iter()
        .filter(|&&(at, total)| at < run.all_ran && total as f64 > ceiling)
        .map(|&(at, _)| at)
        .fold(0.0, f64::max)
}

/// The CPU time `ksmd` has used, in seconds (user and system, in the kernel's 100 Hz
/// ticks), or `None` without one.
fn ksmd_cpu_seconds() -> Option<f64> {
    let processes = std::fs::read_dir("/proc").ok()?;
    for process in processes.flatten() {
        let path = process.path();
        if std::fs::read_to_string(path.join("comm")).is_ok_and(|name| name.trim() == "ksmd") {
            let stat = std::fs::read_to_string(path.join("stat")).ok()?;
            // Fields after the command's closing parenthesis: state is the 3rd field of
            // the line, utime the 14th and stime the 15th.
            let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
            let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
            return Some(ticks as f64 / 100.0);
        }
    }
    None
}

/// KSM's settings, as found and as the comparison sets them.
#[derive(Debug, Clone)]
pub struct KsmSettings {
    run: String,
    pages_to_scan: String,
    sleep_milliseconds: String,
}

const KSM: &str = "/sys/kernel/mm/ksm";

impl KsmSettings {
    /// Scanning 20,000 pages every 20 ms: ksmd's cost is measured, not its patience.
    pub fn aggressive() -> Self {
        Self {
            run: "1".to_string(),
            pages_to_scan: "20000".to_string(),
            sleep_milliseconds: "20".to_string(),
        }
    }

    pub fn read() -> Result<Self, String> {
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

    pub fn write(&self) -> Result<(), String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn arguments(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn the_arguments_name_the_count_the_frame_size_and_the_build() {
        let (counts, workload) = steady_arguments(&[]).unwrap();
        assert_eq!(counts, STEADY_COUNTS);
        assert_eq!(workload, STEADY_WORKLOAD);
        let (counts, workload) = steady_arguments(&arguments("8 1280x720 --full")).unwrap();
        assert_eq!(counts, [8]);
        assert_eq!((workload.width, workload.height, workload.loops, workload.full), (1280, 720, 2, true));
        let (_, workload) = steady_arguments(&arguments("--full 320x240")).unwrap();
        assert_eq!((workload.loops, workload.full), (4, true));
    }

    #[test]
    fn wrong_arguments_are_named() {
        for (wrong, named) in [("0", "`0`"), ("eight", "`eight`"), ("13x10", "`13x10`"), ("1280x", "`1280x`")]
        {
            let error = steady_arguments(&arguments(wrong)).unwrap_err();
            assert!(error.starts_with(named), "{wrong}: {error}");
        }
    }
}
