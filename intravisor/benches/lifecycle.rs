//! How long one trivial cVM takes from nothing to nothing: program and libOS planned,
//! loaded into the shared area and relocated (they have no other user, so this is the
//! cold case), region carved, CLS instances and boot block written, cVM entered and run
//! to its exit, region scrubbed and returned, shared objects unmapped. Median, 10th and
//! 90th percentile over 1000.
//!
//! Run with `cargo xtask bench` (which builds the example programs first). The program
//! is `examples/faults/build/faults normal`: it reads the clock twice, computes a sum,
//! prints one line (into a sink here) and exits.

use std::path::Path;
use std::time::Instant;

use intravisor::config;
use intravisor::cvm::OutputSink;
use intravisor::objects::ObjectFiles;
use intravisor::report::Status;
use intravisor::runner::Intravisor;

const RUNS: usize = 1000;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let program = root.join("examples/faults/build/faults");
    assert!(program.is_file(), "build the examples first: cargo xtask build");
    let text = format!(
        "cVMs:\n  - name: trivial\n    runtime: {}\n    objects: [{}]\n    args: normal\n    stack: 64K\n    isolation: {{ size: 4M }}\n",
        program.display(),
        program.with_file_name("libcvm.so").display()
    );
    let deployment =
        config::parse(&text, &root.join("bench.yaml")).expect("the benchmark deployment is valid");
    let intravisor = Intravisor::new(64 << 20, OutputSink::new(Box::new(std::io::sink()))).expect("an arena");
    let objects = ObjectFiles::load(&deployment);
    let cvm = &deployment.cvms[0];
    let mut samples = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        let report = intravisor.run_cvm(cvm, &objects);
        samples.push(start.elapsed());
        assert_eq!(report.status, Status::Exited, "{report:?}");
    }
    samples.sort();
    let percentile = |fraction: f64| samples[((RUNS as f64 - 1.0) * fraction) as usize];
    println!(
        "cVM lifecycle (create, run, tear down, with program and libOS loaded and unloaded), {RUNS} runs \
         of a {} KiB program in a 4 MiB region: median {:?}, p10 {:?}, p90 {:?}",
        std::fs::metadata(&program).unwrap().len() / 1024,
        percentile(0.5),
        percentile(0.1),
        percentile(0.9)
    );
}
