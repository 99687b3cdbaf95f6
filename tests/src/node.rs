//! A node (`intravisor node`) started for one test: its control socket in the test's
//! scratch directory, its log beside it, shut down when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use intravisor::node::{Client, ContainerState, NodeObjects, Request, Response};

use crate::{build_examples, intravisor, root, scratch};

/// A node started for one test, shut down when dropped.
#[derive(Debug)]
pub struct Node {
    child: Child,
    /// A client of its socket.
    pub client: Client,
    /// The test's scratch directory.
    pub directory: PathBuf,
}

impl Node {
    /// Starts a node in the scratch directory `name`, with `options` for `intravisor node`
    /// (the examples are an allowed root).
    pub fn start(name: &str, options: &[&str]) -> Self {
        build_examples();
        let directory = scratch(name);
        let socket = directory.join("node.sock");
        let child = Command::new(intravisor())
            .arg("node")
            .arg("--socket")
            .arg(&socket)
            .args(["--regions", "4G", "--allow-root"])
            .arg(root().join("examples"))
            .args(options)
            .stdout(std::fs::File::create(directory.join("node.out")).unwrap())
            .stderr(std::fs::File::create(directory.join("node.err")).unwrap())
            .current_dir(root())
            .spawn()
            .expect("the node starts");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !socket.exists() {
            assert!(Instant::now() < deadline, "the node did not listen: {}", Self::log(&directory));
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { child, client: Client::new(&socket), directory }
    }

    /// What the node logged.
    pub fn log(directory: &Path) -> String {
        std::fs::read_to_string(directory.join("node.err")).unwrap_or_default()
    }

    /// Asks the node.
    pub fn ask(&self, request: Request) -> Result<Response, String> {
        self.client.ask(&request).map_err(|error| error.to_string())
    }

    /// Asks the node for a container's state, failing the test on anything else.
    pub fn state(&self, request: Request) -> ContainerState {
        match self.ask(request.clone()) {
            Ok(Response::State(state)) => *state,
            other => panic!("{request:?}: {other:?}\nnode log: {}", Self::log(&self.directory)),
        }
    }

    /// Writes a deployment of one cVM and creates a container from it.
    pub fn create(&self, id: &str, cvm: &str) -> Result<ContainerState, String> {
        let file = self.directory.join(format!("{id}.yaml"));
        // The node names the cVM after the container; the file's name is any.
        let cvm = cvm.replacen('{', "{name: x, ", 1);
        std::fs::write(&file, format!("cVMs:\n  - {cvm}\n")).unwrap();
        let stdout = Some(self.directory.join(format!("{id}.out")));
        match self.ask(Request::Create { id: id.to_string(), deployment: file, stdout, stderr: None })? {
            Response::State(state) => Ok(*state),
            other => panic!("create answered {other:?}"),
        }
    }

    /// What container `id` wrote to its standard output.
    pub fn output(&self, id: &str) -> String {
        std::fs::read_to_string(self.directory.join(format!("{id}.out"))).unwrap_or_default()
    }

    /// The node process's own memory: its resident anonymous and shared-memory bytes
    /// (heap, stacks, the memory files of regions and shared objects), not the pages
    /// of its program's file, which grow as more of its code is first run. Its cVMs'
    /// processes are children of their own.
    pub fn resident(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let kilobytes = |field: &str| -> u64 {
            let line = status.lines().find(|line| line.starts_with(field)).unwrap();
            line.split_whitespace().nth(1).unwrap().parse().unwrap()
        };
        (kilobytes("RssAnon:") + kilobytes("RssShmem:")) * 1024
    }

    /// The node's environment, as the kernel holds it (after it ran itself again).
    pub fn environment(&self) -> Vec<String> {
        let environ = std::fs::read(format!("/proc/{}/environ", self.child.id())).unwrap();
        environ.split(|byte| *byte == 0).map(|entry| String::from_utf8_lossy(entry).into_owned()).collect()
    }

    /// The node's objects.
    pub fn objects(&self) -> NodeObjects {
        match self.ask(Request::Objects) {
            Ok(Response::Objects(objects)) => objects,
            other => panic!("objects answered {other:?}"),
        }
    }

    /// Every container's state.
    pub fn containers(&self) -> Vec<ContainerState> {
        match self.ask(Request::List) {
            Ok(Response::List { containers }) => containers,
            other => panic!("list answered {other:?}"),
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.client.ask(&Request::Shutdown);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
