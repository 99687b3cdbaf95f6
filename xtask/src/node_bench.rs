//! `cargo xtask bench node`: what a container costs on a node (`intravisor node`), against
//! the same cVM run by `intravisor run`.
//!
//! Start latency: from the request until the transcoder has opened its output file (and
//! until it has ended), for the example's 128x96 transcoder, by `intravisor run` of a deployment of that one cVM
//! (an intravisor process per run, which loads the objects), by a create and a start over
//! the node's socket, and by `ctr run -d` through containerd and the shim; the node's two
//! with the objects not loaded yet (the container loads them) and already loaded (by a
//! container that keeps running). Memory: the kernel's Pss of 8 transcoders while all
//! run, as the cVMs of one deployment file (the intravisor and its cVM processes), as 8
//! containers created over the node's socket (the node and its cVM processes) and as 8
//! containers through containerd (the same, plus the shim; containerd's own shown apart,
//! as a node runs it whatever its runtime). Figures on the console and in
//! `target/node-bench/node.json`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use intravisor::node::{Client, Request, Response};

use super::workload::{ffmpeg_arguments, write_deployment, Objects, Workload};
use super::{cargo, root, run};
use tests::containerd::{transcoder_mounts, unmount_under, Containerd, IMAGE, RUNTIME};

/// Runs of each start-latency row (the median is the figure).
const REPEATS: usize = 9;
/// Transcoders of the memory rows.
const COUNT: u32 = 8;
/// How many more times the memory rows' transcoders play their input: long enough to be
/// sampled while all run (8 on 2 cores take ~15 s).
const MEMORY_LOOPS: u32 = 150;
/// The loops of the container that holds the objects: longer than the benchmark, at
/// 30 frames a second (it is killed).
const HOLDER_LOOPS: u32 = 100_000;
/// When the memory samples are taken, after the last transcoder started.
const SAMPLED: std::ops::Range<Duration> = Duration::from_secs(3)..Duration::from_secs(6);
/// The longest a transcoder may take to write its first byte.
const FIRST_OUTPUT_WITHIN: Duration = Duration::from_secs(30);

pub fn run_node_bench() -> Result<(), String> {
    run(cargo().args(["build", "--quiet", "--release", "-p", "intravisor", "--bin", "intravisor"]))?;
    run(cargo().args(["build", "--quiet", "--release", "-p", "containerd-shim-intravisor"]))?;
    let directory = root().join("target/node-bench");
    unmount_under(&directory);
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(directory.join("out"))
        .map_err(|error| format!("cannot create {}: {error}", directory.display()))?;
    let archive = directory.join("orc-transcode.tar");
    super::oci::write_image(&root().join("examples/transcode/build"), &archive)?;

    let node = NodeProcess::start(&directory)?;
    let containerd = Containerd::start(
        &directory.join("containerd"),
        &root().join("target/release/containerd-shim-intravisor-v1"),
        &node.socket,
    )?;
    containerd.ctr(&["image", "import", &archive.display().to_string()])?;
    let bench = Bench { directory, node, containerd };

    println!("start latency of a 128x96 transcoder (60 frames), from the request ({REPEATS} runs)");
    println!("| how | to its output file opened: median (fastest-slowest), ms | to its end: median, ms |");
    println!("|---|---|---|");
    let mut latencies = Vec::new();
    let mut row = |name: &str, runs: Vec<Timed>| {
        let opened = Times::of(runs.iter().map(|run| run.opened).collect());
        let ended = Times::of(runs.iter().map(|run| run.ended).collect());
        println!(
            "| {name} | {:.1} ({:.1}-{:.1}) | {:.1} |",
            opened.median, opened.fastest, opened.slowest, ended.median
        );
        latencies
            .push(serde_json::json!({"how": name, "opened_ms": opened.json(), "ended_ms": ended.json()}));
    };
    row("intravisor run (a process per run; loads the objects)", bench.repeat(|_| bench.run_latency())?);
    row("node socket: create + start, objects not loaded", bench.repeat(|rep| bench.node_latency(rep))?);
    row("ctr run -d, objects not loaded", bench.repeat(|rep| bench.ctr_latency(rep))?);
    bench.hold_objects()?;
    row("node socket: create + start, objects loaded", bench.repeat(|rep| bench.node_latency(rep))?);
    row("ctr run -d, objects loaded", bench.repeat(|rep| bench.ctr_latency(rep))?);
    bench.release_objects()?;

    println!("\nmemory of {COUNT} transcoders while all run (kernel Pss, median of samples {:?} after the last started)", SAMPLED);
    println!("| how | total (MiB) | per transcoder (MiB) |");
    println!("|---|---|---|");
    let idle_node = tree_pss(bench.node.child.id()).ok_or("the node is gone")?;
    let deployment = bench.deployment_memory()?;
    let on_node = bench.node_memory()?;
    let through_containerd = bench.containerd_memory()?;
    let mebibytes = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
    let per = |bytes: u64| mebibytes(bytes) / f64::from(COUNT);
    println!(
        "| {COUNT} cVMs of a deployment file (intravisor run) | {:.1} | {:.2} |",
        mebibytes(deployment),
        per(deployment)
    );
    println!(
        "| {COUNT} containers over the node's socket | {:.1} | {:.2} |",
        mebibytes(on_node),
        per(on_node)
    );
    println!(
        "| {COUNT} containers through containerd: node {:.1} + shim {:.1} | {:.1} | {:.2} |",
        mebibytes(through_containerd.node),
        mebibytes(through_containerd.shim),
        mebibytes(through_containerd.node + through_containerd.shim),
        per(through_containerd.node + through_containerd.shim)
    );
    println!(
        "the idle node: {:.2} MiB; containerd itself: {:.1} MiB (once per host, whatever its runtime)",
        mebibytes(idle_node),
        mebibytes(through_containerd.containerd)
    );
    let results = serde_json::json!({
        "latency": latencies,
        "memory": {
            "transcoders": COUNT,
            "deployment_pss": deployment,
            "node_socket_pss": on_node,
            "containerd": {"node_pss": through_containerd.node, "shim_pss": through_containerd.shim,
                           "containerd_pss": through_containerd.containerd},
            "idle_node_pss": idle_node,
        },
    });
    let file = bench.directory.join("node.json");
    let text = serde_json::to_string_pretty(&results).map_err(|error| error.to_string())?;
    std::fs::write(&file, text + "\n")
        .map_err(|error| format!("cannot write {}: {error}", file.display()))?;
    println!("results: {}", file.display());
    Ok(())
}

/// One timed run, in seconds from the request: until the transcoder's output file was
/// there (ffmpeg opens it once it has read its options and probed its inputs, before the
/// first frame), and until it had ended.
#[derive(Debug, Clone, Copy)]
struct Timed {
    opened: f64,
    ended: f64,
}

/// Milliseconds, summarised.
#[derive(Debug)]
struct Times {
    median: f64,
    fastest: f64,
    slowest: f64,
    all: Vec<f64>,
}

impl Times {
    fn of(mut seconds: Vec<f64>) -> Self {
        seconds.sort_by(f64::total_cmp);
        let milliseconds: Vec<f64> = seconds.iter().map(|second| second * 1000.0).collect();
        Self {
            median: milliseconds[milliseconds.len() / 2],
            fastest: milliseconds[0],
            slowest: milliseconds[milliseconds.len() - 1],
            all: milliseconds,
        }
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({"median": self.median, "fastest": self.fastest, "slowest": self.slowest, "all": self.all})
    }
}

/// `intravisor node` of the benchmark, its output in a log file; shut down when dropped.
struct NodeProcess {
    child: Child,
    socket: PathBuf,
}

impl NodeProcess {
    fn start(directory: &Path) -> Result<Self, String> {
        let socket = directory.join("node.sock");
        let log = std::fs::File::create(directory.join("node.log"))
            .map_err(|error| format!("cannot create the node's log: {error}"))?;
        let child = Command::new(root().join("target/release/intravisor"))
            .arg("node")
            .arg("--socket")
            .arg(&socket)
            .arg("--allow-root")
            .arg(root())
            .stdout(log.try_clone().map_err(|error| error.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|error| format!("cannot start the node: {error}"))?;
        let node = Self { child, socket };
        let deadline = Instant::now() + Duration::from_secs(10);
        while node.client().ask(&Request::List).is_err() {
            if Instant::now() > deadline {
                return Err(format!("the node did not answer: see {}/node.log", directory.display()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(node)
    }

    fn client(&self) -> Client {
        Client::new(&self.socket)
    }

    /// Asks the node; its answer unless it is an error.
    fn ask(&self, request: Request) -> Result<Response, String> {
        match self.client().ask(&request) {
            Ok(Response::Error { message }) => Err(format!("the node refused {request:?}: {message}")),
            Ok(response) => Ok(response),
            Err(error) => Err(error.to_string()),
        }
    }

    /// Waits for container `id` to stop; its exit status must be 0.
    fn wait(&self, id: &str) -> Result<(), String> {
        match self.ask(Request::Wait { id: id.to_string() })? {
            Response::State(state) if state.exit_status == Some(0) => Ok(()),
            other => Err(format!("container `{id}` did not end well: {other:?}")),
        }
    }

    /// Waits for container `id` to stop well, then deletes it.
    fn finish(&self, id: &str) -> Result<(), String> {
        self.wait(id)?;
        self.ask(Request::Delete { id: id.to_string() }).map(drop)
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.client().ask(&Request::Shutdown);
        let deadline = Instant::now() + Duration::from_secs(10);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the containerd row's memory is made of.
struct ContainerdMemory {
    node: u64,
    shim: u64,
    containerd: u64,
}

struct Bench {
    directory: PathBuf,
    // Dropped in this order: containerd (and its shims) before the node they serve.
    containerd: Containerd,
    node: NodeProcess,
}

impl Bench {
    fn repeat(&self, once: impl FnMut(usize) -> Result<Timed, String>) -> Result<Vec<Timed>, String> {
        (0..REPEATS).map(once).collect()
    }

    /// The one-cVM deployment of the latency rows, and its output file (removed).
    fn single(&self) -> Result<(PathBuf, PathBuf), String> {
        let deployment = write_deployment(&self.directory, 1, Objects::Shared, Workload::small(0))?;
        let output = self.directory.join("out/orc-1-0-1");
        std::fs::create_dir_all(&output)
            .map_err(|error| format!("cannot create {}: {error}", output.display()))?;
        let file = output.join("out.avi");
        let _ = std::fs::remove_file(&file);
        Ok((deployment, file))
    }

    fn run_latency(&self) -> Result<Timed, String> {
        let (deployment, output) = self.single()?;
        let started = Instant::now();
        let mut child = intravisor_run(&deployment)?;
        let opened = first_output(&output, started)?;
        let status = child.wait().map_err(|error| error.to_string())?;
        let ended = started.elapsed().as_secs_f64();
        if !status.success() {
            return Err(format!("intravisor run {} ended with {status}", deployment.display()));
        }
        Ok(Timed { opened, ended })
    }

    fn node_latency(&self, rep: usize) -> Result<Timed, String> {
        let (deployment, output) = self.single()?;
        let id = format!("latency{rep}");
        let started = Instant::now();
        self.node.ask(Request::Create { id: id.clone(), deployment, stdout: None, stderr: None })?;
        self.node.ask(Request::Start { id: id.clone() })?;
        let opened = first_output(&output, started)?;
        self.node.wait(&id)?;
        let ended = started.elapsed().as_secs_f64();
        self.node.ask(Request::Delete { id })?;
        Ok(Timed { opened, ended })
    }

    fn ctr_latency(&self, rep: usize) -> Result<Timed, String> {
        let id = format!("ctr-latency{rep}");
        let output = self.directory.join("out").join(&id);
        std::fs::create_dir_all(&output)
            .map_err(|error| format!("cannot create {}: {error}", output.display()))?;
        let started = Instant::now();
        self.containerd.ctr(&ctr_run(&id, 1, &output, 0).iter().map(String::as_str).collect::<Vec<_>>())?;
        let opened = first_output(&output.join("out.avi"), started)?;
        self.node.wait(&id)?;
        let ended = started.elapsed().as_secs_f64();
        self.containerd.ctr(&["task", "delete", &id])?;
        self.containerd.ctr(&["container", "delete", &id])?;
        Ok(Timed { opened, ended })
    }

    /// Starts a container that transcodes until killed, at its input's frame rate (`-re`,
    /// a few percent of a core, so that it does not slow the containers timed beside it):
    /// it holds every object loaded, and the shim running.
    fn hold_objects(&self) -> Result<(), String> {
        let output = self.directory.join("out/holder");
        std::fs::create_dir_all(&output)
            .map_err(|error| format!("cannot create {}: {error}", output.display()))?;
        let mut arguments = ctr_run("holder", 1, &output, HOLDER_LOOPS);
        let first_input =
            arguments.iter().position(|argument| argument == "-stream_loop").unwrap_or(arguments.len());
        arguments.insert(first_input, "-re".to_string());
        self.containerd.ctr(&arguments.iter().map(String::as_str).collect::<Vec<_>>())?;
        first_output(&output.join("out.avi"), Instant::now()).map(drop)
    }

    fn release_objects(&self) -> Result<(), String> {
        self.containerd.ctr(&["task", "kill", "-s", "SIGKILL", "holder"])?;
        self.node.ask(Request::Wait { id: "holder".into() })?;
        self.containerd.ctr(&["task", "delete", "holder"])?;
        self.containerd.ctr(&["container", "delete", "holder"]).map(drop)
    }

    /// The Pss of 8 transcoders as the cVMs of one deployment file.
    fn deployment_memory(&self) -> Result<u64, String> {
        let deployment =
            write_deployment(&self.directory, COUNT, Objects::Shared, Workload::small(MEMORY_LOOPS))?;
        for index in 1..=COUNT {
            let output = self.directory.join(format!("out/orc-{COUNT}-{MEMORY_LOOPS}-{index}"));
            std::fs::create_dir_all(&output)
                .map_err(|error| format!("cannot create {}: {error}", output.display()))?;
        }
        let mut child = intravisor_run(&deployment)?;
        let pss = median_sample(Instant::now(), || tree_pss(child.id()));
        let status = child.wait().map_err(|error| error.to_string())?;
        if !status.success() {
            return Err(format!("intravisor run {} ended with {status}", deployment.display()));
        }
        pss
    }

    /// The node's Pss with 8 transcoders created over its socket.
    fn node_memory(&self) -> Result<u64, String> {
        let ids: Vec<String> = (1..=COUNT).map(|index| format!("memory{index}")).collect();
        for id in &ids {
            let directory = self.directory.join(id);
            std::fs::create_dir_all(&directory)
                .map_err(|error| format!("cannot create {}: {error}", directory.display()))?;
            let deployment = write_deployment(&directory, 1, Objects::Shared, Workload::small(MEMORY_LOOPS))?;
            let output = directory.join(format!("out/orc-1-{MEMORY_LOOPS}-1"));
            std::fs::create_dir_all(&output)
                .map_err(|error| format!("cannot create {}: {error}", output.display()))?;
            let create = Request::Create { id: id.clone(), deployment, stdout: None, stderr: None };
            self.node.ask(create)?;
            self.node.ask(Request::Start { id: id.clone() })?;
        }
        let pss = median_sample(Instant::now(), || tree_pss(self.node.child.id()));
        for id in &ids {
            self.node.finish(id)?;
        }
        pss
    }

    /// The node's, the shim's and containerd's Pss with 8 transcoders run by `ctr run`.
    fn containerd_memory(&self) -> Result<ContainerdMemory, String> {
        let ids: Vec<String> = (1..=COUNT).map(|index| format!("ctr-memory{index}")).collect();
        for (index, id) in ids.iter().enumerate() {
            let output = self.directory.join("out").join(id);
            std::fs::create_dir_all(&output)
                .map_err(|error| format!("cannot create {}: {error}", output.display()))?;
            let arguments = ctr_run(id, index as u32 + 1, &output, MEMORY_LOOPS);
            self.containerd.ctr(&arguments.iter().map(String::as_str).collect::<Vec<_>>())?;
        }
        let started = Instant::now();
        let node = median_sample(started, || tree_pss(self.node.child.id()))?;
        let shim = self.containerd.shims().into_iter().filter_map(tree_pss).sum();
        let containerd = tree_pss(self.containerd.pid()).unwrap_or(0);
        for id in &ids {
            self.node.wait(id)?;
            self.containerd.ctr(&["task", "delete", id])?;
            self.containerd.ctr(&["container", "delete", id])?;
        }
        Ok(ContainerdMemory { node, shim, containerd })
    }
}

/// `ctr run -d` arguments of transcoder `id` of input `input`, playing it `loops` more
/// times, writing into `output`.
fn ctr_run(id: &str, input: u32, output: &Path, loops: u32) -> Vec<String> {
    let mut arguments: Vec<String> = ["run", "-d", "--runtime", RUNTIME].map(String::from).to_vec();
    arguments.extend(transcoder_mounts(input, output));
    arguments.extend([IMAGE, id, "/orc/bin/ffmpeg"].map(String::from));
    arguments.extend(ffmpeg_arguments("in.yuv", "in.pcm", "out.avi", Workload::small(loops)));
    arguments
}

/// `intravisor run DEPLOYMENT`, its output dropped.
fn intravisor_run(deployment: &Path) -> Result<Child, String> {
    Command::new(root().join("target/release/intravisor"))
        .arg("run")
        .arg(deployment)
        .arg("--allow-root")
        .arg(root())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|error| format!("cannot run the intravisor: {error}"))
}

/// Seconds from `started` until `file` is there.
fn first_output(file: &Path, started: Instant) -> Result<f64, String> {
    loop {
        if std::fs::metadata(file).is_ok() {
            return Ok(started.elapsed().as_secs_f64());
        }
        if started.elapsed() > FIRST_OUTPUT_WITHIN {
            return Err(format!("{} was not opened within {FIRST_OUTPUT_WITHIN:?}", file.display()));
        }
        std::thread::sleep(Duration::from_micros(500));
    }
}

/// The Pss of process `id` and of every process it started.
fn tree_pss(id: u32) -> Option<u64> {
    intravisor::platform::process_tree_memory(&id.to_string()).map(|tree| tree.pss)
}

/// The median of `sample` taken every 250 ms within `SAMPLED` after `started`.
fn median_sample(started: Instant, mut sample: impl FnMut() -> Option<u64>) -> Result<u64, String> {
    let mut samples = Vec::new();
    while started.elapsed() < SAMPLED.end {
        if started.elapsed() >= SAMPLED.start {
            samples.extend(sample());
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    samples.sort_unstable();
    samples
        .get(samples.len() / 2)
        .copied()
        .ok_or_else(|| "no memory sample: the transcoders ended early".to_string())
}
