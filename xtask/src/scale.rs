//! `cargo xtask bench scale`: small cVMs at scale. One intravisor starts 100, then 1,000
//! idle `hello`-sized cVMs (`examples/idle`: one line printed, then futex waits with a
//! timeout) at once, each a process of its own with its groups, and the benchmark
//! reports when the last of them was up (its line printed), the kernel's Pss of the
//! intravisor and its cVM processes once all are up, and the memory each added cVM
//! costs: the difference between the two runs over the cVMs added.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::root;

/// The runs: cVMs at once.
const COUNTS: [u32; 2] = [100, 1000];
/// How long each cVM stays up: long enough for the last to start and be measured.
const IDLE_SECONDS: u32 = 30;
/// Pss samples taken once all are up (their median is the figure).
const SAMPLES: usize = 5;

/// One run's figures.
#[derive(Debug, Clone, Copy)]
struct Scaled {
    count: u32,
    /// Seconds from the intravisor's start until the last cVM printed its line.
    last_up: f64,
    /// Pss of the intravisor and its cVM processes once all were up.
    pss: u64,
}

pub fn run_scale() -> Result<(), String> {
    let directory = root().join("target/scale");
    std::fs::create_dir_all(&directory)
        .map_err(|error| format!("cannot create {}: {error}", directory.display()))?;
    println!("idle cVMs at scale ({} s each, 1 MiB regions), each a process of its own", IDLE_SECONDS);
    println!("| cVMs | last cVM up after (s) | Pss total (MiB) | Pss per cVM (MiB) |");
    println!("|---|---|---|---|");
    let mut runs = Vec::new();
    for count in COUNTS {
        let run = measure(&write_deployment(&directory, count)?, count)?;
        println!(
            "| {count} | {:.2} | {:.1} | {:.3} |",
            run.last_up,
            run.pss as f64 / (1024.0 * 1024.0),
            run.pss as f64 / (1024.0 * 1024.0) / f64::from(count)
        );
        runs.push(run);
    }
    if let [small, large] = runs[..] {
        let added = f64::from(large.count - small.count);
        println!(
            "memory per added cVM: {:.1} KiB ({} to {} cVMs)",
            large.pss.saturating_sub(small.pss) as f64 / 1024.0 / added,
            small.count,
            large.count
        );
    }
    Ok(())
}

fn write_deployment(directory: &Path, count: u32) -> Result<PathBuf, String> {
    let build = root().join("examples/idle/build");
    let mut text = String::from("cVMs:\n");
    for index in 1..=count {
        text.push_str(&format!(
            "  - {{name: idle{index}, runtime: {}, objects: [{}], args: [\"{IDLE_SECONDS}\"], stack: 64K, isolation: {{size: 1M}}}}\n",
            build.join("idle").display(),
            build.join("libcvm.so").display()
        ));
    }
    let file = directory.join(format!("idle-{count}.yaml"));
    std::fs::write(&file, text).map_err(|error| format!("cannot write {}: {error}", file.display()))?;
    Ok(file)
}

/// Runs the deployment, waits until every cVM has printed its line, samples the Pss of
/// the intravisor and its processes, and waits for the run to end.
fn measure(deployment: &Path, count: u32) -> Result<Scaled, String> {
    let started = Instant::now();
    let mut child = Command::new(root().join("target/release/intravisor"))
        .arg("run")
        .arg(deployment)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|error| format!("cannot run the intravisor: {error}"))?;
    let output = child.stdout.take().ok_or("no output of the intravisor")?;
    let mut up = 0u32;
    let mut lines = BufReader::new(output).lines();
    while up < count {
        match lines.next() {
            Some(Ok(line)) if line.contains("up, idle for") => up += 1,
            Some(Ok(_)) => {}
            _ => break,
        }
    }
    let last_up = started.elapsed().as_secs_f64();
    if up < count {
        let _ = child.wait();
        return Err(format!("only {up} of {count} cVMs came up ({})", deployment.display()));
    }
    let mut samples: Vec<u64> = (0..SAMPLES)
        .filter_map(|_| {
            std::thread::sleep(Duration::from_millis(100));
            intravisor::platform::process_tree_memory(&child.id().to_string()).map(|tree| tree.pss)
        })
        .collect();
    samples.sort_unstable();
    let pss = samples.get(samples.len() / 2).copied().ok_or("no Pss sample of the intravisor")?;
    // Let the rest of the output go, then the run end by itself (its cVMs exit).
    for _ in lines.by_ref() {}
    let status = child.wait().map_err(|error| format!("the intravisor: {error}"))?;
    if !status.success() {
        return Err(format!("{} ended with {status}", deployment.display()));
    }
    Ok(Scaled { count, last_up, pss })
}
