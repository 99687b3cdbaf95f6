//! A node: one long-running intravisor whose cVMs come and go as containers, created,
//! started, waited for, killed and deleted one at a time through a control socket
//! (`server`, `protocol`), as a container runtime asks.
//!
//! Every container is one cVM, described by a deployment file of exactly one cVM (the
//! containerd shim writes one from the container's bundle). Its objects are read and
//! hashed when it is created, and the intravisor's object store shares each copy with
//! every container whose tenant may use it, as between the cVMs of one deployment: a
//! node loads ffmpeg's libraries once for all its transcoding containers, and unloads a
//! copy when its last container is deleted. The tenants' sharing policies are the
//! node's, given when it starts; a container's file may not bring its own.
//!
//! A container is prepared when it is created (its objects planned and acquired, its
//! region laid out, its process readied), so a container that cannot run fails at
//! create, with the reason, and leaves nothing behind; `start` only enters it.

mod protocol;
mod server;

pub use protocol::{
    Client, ClientError, ContainerState, ContainerStats, NodeObjects, Phase, Request, Response,
};
pub use server::{serve, ServeError};

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use policy::{Policy, PolicySet};

use crate::config::{self, CvmConfig};
use crate::cvm::OutputSink;
use crate::objects::{ObjectFiles, ObjectUsage};
use crate::platform::{
    give_back_free_memory, limit_allocator_arenas, ArenaError, ProcessControl, ProcessStart,
};
use crate::report::{CvmReport, ObjectUse, Status};
use crate::runner::{Attached, Intravisor, Prepared};

/// Containers a node holds at once, in any phase.
pub const MOST_CONTAINERS: usize = 4096;
/// The longest container id.
const LONGEST_ID: usize = 128;

/// Why a node refused a request.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The id is not one a container may have.
    #[error("container id `{0}` is not valid: use 1 to 128 letters, digits, `-`, `_` or `.`, not starting with `.`")]
    BadId(String),
    /// No container has this id.
    #[error("no container `{0}` on this node")]
    Unknown(String),
    /// A container already has this id.
    #[error("container `{0}` exists already")]
    Exists(String),
    /// The node holds as many containers as it may.
    #[error("the node holds {MOST_CONTAINERS} containers already; delete some first")]
    Full,
    /// The container's deployment file is refused.
    #[error("container `{id}`: {source}")]
    Deployment {
        /// The container.
        id: String,
        /// Why.
        source: config::ConfigError,
    },
    /// The container's deployment file is valid, but not as a container.
    #[error("container `{id}`: {}: {message}", file.display())]
    NotAContainer {
        /// The container.
        id: String,
        /// The deployment file.
        file: PathBuf,
        /// What is wrong.
        message: &'static str,
    },
    /// The policies refuse it, or its objects, plan or region are refused.
    #[error("container `{id}` refused: {reason}")]
    Refused {
        /// The container.
        id: String,
        /// Why.
        reason: String,
    },
    /// Where its output goes cannot be opened.
    #[error("container `{id}`: cannot open its {stream} `{}`: {source}", path.display())]
    Output {
        /// The container.
        id: String,
        /// `stdout` or `stderr`.
        stream: &'static str,
        /// The path.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The request does not fit the container's phase.
    #[error("container `{id}` is {phase}: {message}")]
    Phase {
        /// The container.
        id: String,
        /// Its phase.
        phase: Phase,
        /// What cannot be done.
        message: &'static str,
    },
    /// The system refused what the node needed.
    #[error("container `{id}`: {message}: {source}")]
    System {
        /// The container.
        id: String,
        /// What the node was doing.
        message: &'static str,
        /// What the system said.
        source: std::io::Error,
    },
}

/// What a node is given when it starts.
#[derive(Debug, Default)]
pub struct NodeSettings {
    /// Address space for every container's region at once, in bytes.
    pub regions_size: u64,
    /// Directories, besides each deployment file's own, that containers' granted files
    /// and outputs may lie under.
    pub allow_roots: Vec<PathBuf>,
    /// Each tenant's sharing policy: the tenant, the parsed policy, its file.
    pub policies: Vec<(String, Policy, String)>,
    /// Where revocations are read from before each container is created.
    pub control: Option<PathBuf>,
}

/// The node: the intravisor, its containers and the tenants' policies.
#[derive(Debug)]
pub struct Node {
    intravisor: Intravisor,
    allow_roots: Vec<PathBuf>,
    control: Option<PathBuf>,
    policies: Vec<(String, Policy, String)>,
    usage: ObjectUsage,
    containers: Mutex<BTreeMap<String, Container>>,
    /// Notified whenever a container stops.
    stopped: Condvar,
}

/// One container: its cVM, and where it is in its life.
#[derive(Debug)]
struct Container {
    cvm: Arc<CvmConfig>,
    objects: Arc<ObjectFiles>,
    sink: Arc<OutputSink>,
    control: Arc<ProcessControl>,
    /// The objects it uses, as prepared.
    uses: Vec<ObjectUse>,
    stage: Stage,
}

#[derive(Debug)]
enum Stage {
    Created(Box<Prepared>),
    Running,
    /// What became of it, and when it stopped.
    Stopped(Box<CvmReport>, SystemTime),
}

impl Stage {
    fn phase(&self) -> Phase {
        match self {
            Self::Created(_) => Phase::Created,
            Self::Running => Phase::Running,
            Self::Stopped(..) => Phase::Stopped,
        }
    }
}

impl Node {
    /// A node with room for `settings.regions_size` bytes of regions.
    pub fn new(settings: NodeSettings) -> Result<Self, ArenaError> {
        let intravisor = Intravisor::new(settings.regions_size, OutputSink::stdout())?;
        // One arena, so that what containers leave freed goes back to the kernel.
        limit_allocator_arenas(1);
        ProcessStart::prepare_pool();
        Ok(Self {
            intravisor,
            allow_roots: settings.allow_roots,
            control: settings.control,
            policies: settings.policies,
            usage: ObjectUsage::default(),
            containers: Mutex::new(BTreeMap::new()),
            stopped: Condvar::new(),
        })
    }

    fn containers(&self) -> MutexGuard<'_, BTreeMap<String, Container>> {
        self.containers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Creates container `id` from the one cVM of `deployment`, its standard output and
    /// error written to the files (or FIFOs) named, else to the node's standard output.
    /// On any refusal nothing of it is left.
    pub fn create(
        &self,
        id: &str,
        deployment: &Path,
        stdout: Option<&Path>,
        stderr: Option<&Path>,
    ) -> Result<ContainerState, NodeError> {
        check_id(id)?;
        {
            let containers = self.containers();
            if containers.contains_key(id) {
                return Err(NodeError::Exists(id.to_string()));
            }
            if containers.len() >= MOST_CONTAINERS {
                return Err(NodeError::Full);
            }
        }
        let deployment = config::load_allowing(deployment, &self.allow_roots)
            .map_err(|source| NodeError::Deployment { id: id.to_string(), source })?;
        let not_a_container =
            |message| NodeError::NotAContainer { id: id.to_string(), file: deployment.file.clone(), message };
        if deployment.cvms.len() != 1 {
            return Err(not_a_container("a container's deployment has exactly one cVM"));
        }
        if !deployment.tenants.is_empty() || deployment.control.is_some() {
            return Err(not_a_container(
                "a container's deployment may not name tenant policies or a control directory: the node's hold",
            ));
        }
        let mut cvm = deployment.cvms[0].clone();
        cvm.name = id.to_string();
        let sink = Arc::new(output_sink(id, stdout, stderr)?);
        let control = Arc::new(ProcessControl::new().map_err(|source| NodeError::System {
            id: id.to_string(),
            message: "cannot make the handle that ends it",
            source,
        })?);
        let refused = |reason| NodeError::Refused { id: id.to_string(), reason };
        let policies = self.policies_for(&cvm.tenant).map_err(refused)?;
        let objects = ObjectFiles::load(&deployment);
        let ready = match self.intravisor.prepare(&cvm, &objects, &self.usage, &policies) {
            Ok(ready) => ready,
            Err(reason) => {
                objects.built(&cvm);
                self.forget_plan_if_empty();
                return Err(refused(reason));
            }
        };
        let uses = ready.uses().to_vec();
        let container = Container {
            cvm: Arc::new(cvm),
            objects: Arc::new(objects),
            sink,
            control,
            uses,
            stage: Stage::Created(Box::new(ready)),
        };
        let mut containers = self.containers();
        if containers.contains_key(id) {
            // Created meanwhile by another request.
            drop(containers);
            self.release(container);
            return Err(NodeError::Exists(id.to_string()));
        }
        let state = state_of(id, &container);
        containers.insert(id.to_string(), container);
        Ok(state)
    }

    /// The node's policies, with `tenant` among the tenants they know, and the
    /// revocations written so far.
    fn policies_for(&self, tenant: &str) -> Result<PolicySet, String> {
        let mut tenants: BTreeSet<String> = self.policies.iter().map(|(tenant, ..)| tenant.clone()).collect();
        tenants.insert(tenant.to_string());
        let tenants: Vec<String> = tenants.into_iter().collect();
        let mut set = PolicySet::new(self.policies.clone(), &tenants).map_err(|error| error.to_string())?;
        crate::policies::apply_revocations(&mut set, self.control.as_deref())
            .map_err(|error| error.to_string())?;
        Ok(set)
    }

    /// Starts container `id`'s cVM on a thread of its own.
    pub fn start(self: &Arc<Self>, id: &str) -> Result<ContainerState, NodeError> {
        let mut containers = self.containers();
        let container = containers.get_mut(id).ok_or_else(|| NodeError::Unknown(id.to_string()))?;
        let ready = match std::mem::replace(&mut container.stage, Stage::Running) {
            Stage::Created(ready) => ready,
            other => {
                let phase = other.phase();
                container.stage = other;
                return Err(NodeError::Phase {
                    id: id.to_string(),
                    phase,
                    message: "only a created container starts",
                });
            }
        };
        let node = Arc::clone(self);
        let (cvm, objects, sink, control) = (
            Arc::clone(&container.cvm),
            Arc::clone(&container.objects),
            Arc::clone(&container.sink),
            Arc::clone(&container.control),
        );
        let name = id.to_string();
        let spawned = std::thread::Builder::new().name(format!("container-{id}")).spawn(move || {
            let attached = Attached { sink: &sink, control: Some(&control) };
            let report = node.intravisor.execute(&cvm, *ready, None, attached, || objects.built(&cvm));
            give_back_free_memory();
            node.stop(&name, report);
        });
        if let Err(source) = spawned {
            let report =
                crate::outcome::refused(&container.cvm, format!("cannot start its thread: {source}"));
            container.stage = Stage::Stopped(Box::new(report), SystemTime::now());
            return Err(NodeError::System { id: id.to_string(), message: "cannot start its thread", source });
        }
        Ok(state_of(id, container))
    }

    /// Records what became of container `id`'s cVM.
    fn stop(&self, id: &str, report: CvmReport) {
        if let Some(container) = self.containers().get_mut(id) {
            container.stage = Stage::Stopped(Box::new(report), SystemTime::now());
        }
        self.stopped.notify_all();
    }

    /// Waits until container `id` has stopped; its state then.
    pub fn wait(&self, id: &str) -> Result<ContainerState, NodeError> {
        let mut containers = self.containers();
        loop {
            let container = containers.get(id).ok_or_else(|| NodeError::Unknown(id.to_string()))?;
            if let Stage::Stopped(..) = container.stage {
                return Ok(state_of(id, container));
            }
            containers = self.stopped.wait(containers).unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Ends container `id`'s cVM, as if by `signal`. A created container that never ran
    /// is stopped without running.
    pub fn kill(&self, id: &str, signal: i32) -> Result<ContainerState, NodeError> {
        let mut containers = self.containers();
        let container = containers.get_mut(id).ok_or_else(|| NodeError::Unknown(id.to_string()))?;
        match container.stage.phase() {
            Phase::Running => container.control.kill(signal),
            Phase::Created => {
                container.control.kill(signal);
                let reason = format!("killed before it started (signal {signal})");
                let mut report = crate::outcome::refused(&container.cvm, reason.clone());
                report.status = Status::Killed;
                report.reason = Some(reason);
                let stopped = Stage::Stopped(Box::new(report), SystemTime::now());
                let created = std::mem::replace(&mut container.stage, stopped);
                if let Stage::Created(ready) = created {
                    container.objects.built(&container.cvm);
                    self.intravisor.release(*ready);
                }
                self.stopped.notify_all();
            }
            Phase::Stopped => {
                return Err(NodeError::Phase {
                    id: id.to_string(),
                    phase: Phase::Stopped,
                    message: "it has no cVM to kill",
                })
            }
        }
        Ok(state_of(id, container))
    }

    /// Deletes container `id`, which must not be running; its state before.
    pub fn delete(&self, id: &str) -> Result<ContainerState, NodeError> {
        let mut containers = self.containers();
        let container = containers.get(id).ok_or_else(|| NodeError::Unknown(id.to_string()))?;
        if let Stage::Running = container.stage {
            return Err(NodeError::Phase {
                id: id.to_string(),
                phase: Phase::Running,
                message: "kill it first",
            });
        }
        let state = state_of(id, container);
        let container = containers.remove(id).ok_or_else(|| NodeError::Unknown(id.to_string()))?;
        drop(containers);
        self.release(container);
        self.stopped.notify_all();
        Ok(state)
    }

    /// Frees what a container not running holds.
    fn release(&self, container: Container) {
        if let Stage::Created(ready) = container.stage {
            container.objects.built(&container.cvm);
            self.intravisor.release(*ready);
        }
        self.forget_plan_if_empty();
    }

    /// Once no container is left, the plan kept for the next is dropped and freed memory
    /// given back: the node is back at its baseline.
    fn forget_plan_if_empty(&self) {
        if self.containers().is_empty() {
            self.intravisor.forget_plan();
            give_back_free_memory();
        }
    }

    /// Container `id`'s state.
    pub fn state(&self, id: &str) -> Result<ContainerState, NodeError> {
        let containers = self.containers();
        let container = containers.get(id).ok_or_else(|| NodeError::Unknown(id.to_string()))?;
        Ok(state_of(id, container))
    }

    /// Every container's state, by id.
    pub fn list(&self) -> Vec<ContainerState> {
        self.containers().iter().map(|(id, container)| state_of(id, container)).collect()
    }

    /// Container `id`'s memory: the kernel's count of its process now (while it runs),
    /// and the bytes of shared object copies it uses, which every container using them
    /// shares.
    pub fn stats(&self, id: &str) -> Result<ContainerStats, NodeError> {
        let containers = self.containers();
        let container = containers.get(id).ok_or_else(|| NodeError::Unknown(id.to_string()))?;
        let memory = container.control.memory();
        let shared_objects = container.uses.iter().filter(|object| object.copy.is_some());
        Ok(ContainerStats {
            id: id.to_string(),
            phase: container.stage.phase(),
            pss: memory.map(|memory| memory.pss),
            rss: memory.map(|memory| memory.rss),
            private: memory.map(|memory| memory.private),
            shared: memory.map(|memory| memory.rss.saturating_sub(memory.private)),
            shared_object_bytes: shared_objects.map(|object| object.bytes).sum(),
            private_object_bytes: container
                .uses
                .iter()
                .filter(|object| object.copy.is_none())
                .map(|object| object.bytes)
                .sum(),
        })
    }

    /// The objects of the node's containers: how often each was loaded and used, and the
    /// shared copies loaded now.
    pub fn objects(&self) -> NodeObjects {
        let containers = self.containers();
        let mut objects = BTreeMap::new();
        for container in containers.values() {
            for object in container.objects.report(&self.usage) {
                objects.entry((object.name.clone(), object.sha256.clone())).or_insert(object);
            }
        }
        NodeObjects {
            objects: objects.into_values().collect(),
            shared_copies_loaded: self.intravisor.shared_objects_loaded(),
        }
    }

    /// Ends every running container and deletes every container: the node is empty.
    pub fn shut_down(&self) {
        let ids: Vec<String> = self.containers().keys().cloned().collect();
        for id in &ids {
            let _ = self.kill(id, libc::SIGKILL);
        }
        for id in &ids {
            let _ = self.wait(id);
            let _ = self.delete(id);
        }
    }
}

/// Refuses an id a container may not have (it names threads, logs and control files).
fn check_id(id: &str) -> Result<(), NodeError> {
    let allowed = |character: char| character.is_ascii_alphanumeric() || "-_.".contains(character);
    if id.is_empty() || id.len() > LONGEST_ID || id.starts_with('.') || !id.chars().all(allowed) {
        return Err(NodeError::BadId(id.chars().take(LONGEST_ID).collect()));
    }
    Ok(())
}

/// Where a container's console goes: the two files (or FIFOs) named, else the node's
/// standard output with each line prefixed by the container's id.
fn output_sink(id: &str, stdout: Option<&Path>, stderr: Option<&Path>) -> Result<OutputSink, NodeError> {
    let open = |stream: &'static str, path: &Path| {
        protocol::open_output(path).map_err(|source| NodeError::Output {
            id: id.to_string(),
            stream,
            path: path.to_path_buf(),
            source,
        })
    };
    match (stdout, stderr) {
        (None, None) => Ok(OutputSink::stdout()),
        (Some(output), None) => {
            Ok(OutputSink::streams(Box::new(open("stdout", output)?), Box::new(std::io::sink())))
        }
        (None, Some(errors)) => {
            Ok(OutputSink::streams(Box::new(std::io::sink()), Box::new(open("stderr", errors)?)))
        }
        (Some(output), Some(errors)) => {
            Ok(OutputSink::streams(Box::new(open("stdout", output)?), Box::new(open("stderr", errors)?)))
        }
    }
}

/// A container's state as a client sees it.
fn state_of(id: &str, container: &Container) -> ContainerState {
    let (report, stopped_at) = match &container.stage {
        Stage::Stopped(report, at) => {
            let since_epoch = at.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
            (Some(report.as_ref().clone()), Some(since_epoch.as_nanos() as u64))
        }
        _ => (None, None),
    };
    let exit_status = report.as_ref().map(|report| exit_status(report, container.control.killed_by()));
    ContainerState {
        id: id.to_string(),
        tenant: container.cvm.tenant.clone(),
        phase: container.stage.phase(),
        pid: container.control.pid(),
        exit_status,
        stopped_at,
        report,
    }
}

/// The exit status a container runtime reports for a stopped cVM: its own exit code;
/// 128 plus the signal that ended it (the operator's, or the fault's); 137 for a limit;
/// 255 for a cVM refused before it ran.
fn exit_status(report: &CvmReport, killed_by: Option<i32>) -> i32 {
    match report.status {
        Status::Exited => report.exit_code.unwrap_or(0),
        Status::Faulted => 128 + report.fault.as_ref().map_or(libc::SIGSEGV, |fault| fault.signal),
        Status::Killed => 128 + killed_by.unwrap_or(libc::SIGKILL),
        Status::Refused => 255,
    }
}
