//! How long one trivial cVM takes from nothing to nothing, in each isolation mode:
//! program and libOS planned, loaded into the shared area and relocated (they have no
//! other user, so this is the cold case), region carved, CLS instances and boot block
//! written, cVM entered (in its own process, or on a thread of the intravisor) and run to
//! its exit, region scrubbed and returned, shared objects unmapped. Median, 10th and 90th
//! percentile over 500, one after another. In its own process, the cVM gets a process
//! from the pool of started ones (put into its groups while the cVM is built), and the
//! pool starts the next while it runs: a process's start is off the critical path, not
//! out of the machine's work. Then the hostcall round trip: a cVM making 100000
//! hostcalls against one making none. Then what starting a process costs this process
//! at all (`/bin/true`), the part of a cVM process's start the pool takes off.
//!
//! Run with `cargo xtask bench` (which builds the example programs first). The trivial
//! program is `examples/faults/build/faults normal`: it reads the clock twice, computes a
//! sum, prints one line (into a sink here) and exits.

use std::path::Path;
use std::time::{Duration, Instant};

use intravisor::config::{self, CvmConfig};
use intravisor::cvm::OutputSink;
use intravisor::objects::ObjectFiles;
use intravisor::report::Status;
use intravisor::runner::{Intravisor, Isolation};

const RUNS: usize = 500;
const HOSTCALLS: u32 = 100_000;

/// Median, 10th and 90th percentile of `samples`.
fn percentiles(mut samples: Vec<Duration>) -> (Duration, Duration, Duration) {
    samples.sort();
    let at = |fraction: f64| samples[((samples.len() as f64 - 1.0) * fraction) as usize];
    (at(0.5), at(0.1), at(0.9))
}

/// Runs `cvm` `runs` times; the time of each run.
fn time_runs(intravisor: &Intravisor, cvm: &CvmConfig, objects: &ObjectFiles, runs: usize) -> Vec<Duration> {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            let report = intravisor.run_cvm(cvm, objects);
            let elapsed = start.elapsed();
            assert_eq!(report.status, Status::Exited, "{report:?}");
            elapsed
        })
        .collect()
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let program = root.join("examples/faults/build/faults");
    let hostcalls = root.join("examples/hostcall-bench/build/hostcalls");
    assert!(program.is_file() && hostcalls.is_file(), "build the examples first: cargo xtask build");
    let cvm = |name: &str, program: &Path, arguments: &str| {
        format!(
            "  - name: {name}\n    runtime: {}\n    objects: [{}]\n    args: \"{arguments}\"\n    stack: 64K\n    isolation: {{ size: 4M }}\n",
            program.display(),
            program.with_file_name("libcvm.so").display()
        )
    };
    let text = format!(
        "cVMs:\n{}{}{}",
        cvm("trivial", &program, "normal"),
        cvm("idle", &hostcalls, "0"),
        cvm("calls", &hostcalls, &HOSTCALLS.to_string())
    );
    let deployment =
        config::parse(&text, &root.join("bench.yaml")).expect("the benchmark deployment is valid");
    let objects = ObjectFiles::load(&deployment);
    for (mode, isolation) in
        [("own process", Isolation::Process), ("in-process, not isolated", Isolation::InProcess)]
    {
        let sink = OutputSink::new(Box::new(std::io::sink()));
        let intravisor = Intravisor::with_isolation(64 << 20, sink, isolation).expect("an arena");
        let (median, low, high) = percentiles(time_runs(&intravisor, &deployment.cvms[0], &objects, RUNS));
        println!(
            "cVM lifecycle ({mode}: create, run, tear down, with program and libOS loaded and unloaded), {RUNS} runs \
             of a {} KiB program in a 4 MiB region: median {median:?}, p10 {low:?}, p90 {high:?}",
            std::fs::metadata(&program).unwrap().len() / 1024,
        );
        let (idle, _, _) = percentiles(time_runs(&intravisor, &deployment.cvms[1], &objects, 20));
        let (busy, _, _) = percentiles(time_runs(&intravisor, &deployment.cvms[2], &objects, 20));
        let round_trip = busy.saturating_sub(idle) / HOSTCALLS;
        println!("hostcall round trip ({mode}): {round_trip:?} (median of 20 cVMs making {HOSTCALLS} against none)");
    }
    let spawns: Vec<Duration> = (0..200)
        .map(|_| {
            let start = Instant::now();
            let status = std::process::Command::new("/bin/true").status().expect("/bin/true runs");
            assert!(status.success());
            start.elapsed()
        })
        .collect();
    let (median, _, _) = percentiles(spawns);
    println!(
        "starting and reaping a process (/bin/true) from this process: median {median:?}, what the pool of \
         started cVM processes takes off a cVM's start"
    );
}
