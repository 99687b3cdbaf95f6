//! The task API containerd asks of a runtime, answered by the node (`intravisor node`).
//!
//! containerd starts this shim once for every container, but every start hands back the
//! address of one shim process per namespace (`GROUPING`): that process serves all the
//! namespace's containers, so a container costs a cVM of the node and nothing more. It
//! holds no cVM itself: it mounts each container's root filesystem, turns its bundle
//! into a deployment of one cVM (`bundle`), and forwards create, start, wait, kill,
//! delete, state, pids and stats to the node over its control socket. It ends when
//! containerd shuts it down with no container left.

use std::collections::HashMap;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use containerd_shim as shim;
use intravisor::node::{Client, ContainerState, Phase, Request, Response};
use shim::api;
use shim::protos::events::task::{TaskCreate, TaskDelete, TaskExit, TaskStart};
use shim::protos::protobuf::well_known_types::timestamp::Timestamp;
use shim::protos::protobuf::MessageField;
use shim::protos::topics;
use shim::protos::ttrpc::error::get_rpc_status;
use shim::protos::ttrpc::Code;
use shim::publisher::RemotePublisher;
use shim::{Config, DeleteResponse, ExitSignal, Flags, TtrpcContext, TtrpcResult};

/// Every container of a namespace is served by one shim process.
const GROUPING: &str = "intravisor";
/// Where the node listens unless `INTRAVISOR_NODE_SOCKET` says otherwise.
const DEFAULT_NODE_SOCKET: &str = "/run/intravisor/node.sock";
/// The deployment file the shim writes into each bundle.
const DEPLOYMENT_FILE: &str = "intravisor-cvm.yaml";
/// How long `start` waits for the cVM's process to be known, for the pid it answers.
const PID_WAIT: Duration = Duration::from_secs(2);

/// The shim process.
#[derive(Clone)]
pub struct Service {
    state: Arc<Shared>,
    /// The address the shim serves on (`unix://PATH`).
    socket: String,
}

/// What the shim's task service and its lifecycle share.
struct Shared {
    exit: ExitSignal,
    namespace: String,
    /// The container the shim was started for (`delete` cleans it up).
    id: String,
    node: Client,
    /// The containers it serves: their bundles.
    bundles: Mutex<HashMap<String, PathBuf>>,
}

/// The node's control socket.
fn node_socket() -> PathBuf {
    std::env::var_os("INTRAVISOR_NODE_SOCKET")
        .map_or_else(|| PathBuf::from(DEFAULT_NODE_SOCKET), PathBuf::from)
}

impl shim::Shim for Service {
    type T = TaskService;

    fn new(_runtime_id: &str, flags: &Flags, _config: &mut Config) -> Self {
        let state = Shared {
            exit: ExitSignal::default(),
            namespace: flags.namespace.clone(),
            id: flags.id.clone(),
            node: Client::new(&node_socket()),
            bundles: Mutex::new(HashMap::new()),
        };
        Self { state: Arc::new(state), socket: flags.socket.clone() }
    }

    fn start_shim(&mut self, options: shim::StartOpts) -> Result<String, shim::Error> {
        let socket = node_socket();
        let socket = socket.to_string_lossy();
        let (_pid, address) = shim::spawn(options, GROUPING, vec![("INTRAVISOR_NODE_SOCKET", &socket)])?;
        Ok(address)
    }

    /// containerd's cleanup of a container whose shim is gone: its cVM is ended and
    /// deleted on the node, its root filesystem unmounted.
    fn delete_shim(&mut self) -> Result<DeleteResponse, shim::Error> {
        let id = self.state.id.clone();
        let _ = self.state.node.ask(&Request::Kill { id: id.clone(), signal: libc::SIGKILL });
        let _ = self.state.node.ask(&Request::Wait { id: id.clone() });
        let _ = self.state.node.ask(&Request::Delete { id });
        if let Ok(bundle) = std::env::current_dir() {
            unmount_rootfs(&bundle);
        }
        Ok(DeleteResponse { exit_status: 128 + libc::SIGKILL as u32, exited_at: now(), ..Default::default() })
    }

    /// Returns when the shim is to exit, its socket removed. The crate removes it only
    /// if the bundle of the container the shim was started for is still there, and
    /// containerd deletes it first: the next shim then found the path taken and waited a
    /// second for it to answer before taking it (`ctr run` took 1.1 s instead of 80 ms).
    fn wait(&mut self) {
        self.state.exit.wait();
        let path = Path::new(self.socket.strip_prefix("unix://").unwrap_or(&self.socket));
        if std::fs::symlink_metadata(path).is_ok_and(|metadata| metadata.file_type().is_socket()) {
            if let Err(error) = std::fs::remove_file(path) {
                log::warn!("cannot remove the shim's socket {}: {error}", path.display());
            }
        }
    }

    fn create_task_service(&self, publisher: RemotePublisher) -> TaskService {
        TaskService { state: Arc::clone(&self.state), publisher: Arc::new(publisher) }
    }
}

/// The task service containerd talks to.
#[derive(Clone)]
pub struct TaskService {
    state: Arc<Shared>,
    publisher: Arc<RemotePublisher>,
}

impl TaskService {
    fn ask(&self, request: Request) -> TtrpcResult<Response> {
        self.state.node.ask(&request).map_err(|error| {
            let code = if error.to_string().contains("no container") {
                Code::NOT_FOUND
            } else {
                Code::FAILED_PRECONDITION
            };
            get_rpc_status(code, error.to_string())
        })
    }

    fn state_of(&self, request: Request) -> TtrpcResult<ContainerState> {
        match self.ask(request)? {
            Response::State(state) => Ok(*state),
            other => Err(get_rpc_status(Code::INTERNAL, format!("the node answered {other:?}"))),
        }
    }

    fn publish(&self, topic: &str, event: Box<dyn shim::protos::protobuf::MessageDyn>) {
        let context = shim::Context::default();
        if let Err(error) = self.publisher.publish(context, topic, &self.state.namespace, event) {
            log::warn!("cannot publish {topic}: {error}");
        }
    }

    fn bundle(&self, id: &str) -> Option<PathBuf> {
        self.state.bundles.lock().unwrap_or_else(PoisonError::into_inner).get(id).cloned()
    }

    /// Mounts the root filesystem, writes the cVM's deployment, creates it on the node.
    fn create_container(&self, request: &api::CreateTaskRequest) -> Result<ContainerState, String> {
        let bundle = PathBuf::from(&request.bundle);
        if request.terminal {
            return Err("a cVM has no terminal: run the container without a TTY (no -t)".to_string());
        }
        let rootfs = bundle.join("rootfs");
        let spec = oci_spec::runtime::Spec::load(bundle.join("config.json"))
            .map_err(|error| format!("cannot read the bundle's config.json: {error}"))?;
        // Without mounts (`ctr run --rootfs`), the root filesystem is the spec's root.
        let root = match spec.root().as_ref().map(|root| root.path()) {
            Some(path) if request.rootfs.is_empty() => bundle.join(path),
            _ => rootfs.clone(),
        };
        log::debug!(
            "container `{}`: root filesystem mounts {:?}, root {}",
            request.id,
            request.rootfs,
            root.display()
        );
        for mount in &request.rootfs {
            let options: Vec<String> = mount.options.clone();
            shim::mount::mount_rootfs(
                Some(mount.type_.as_str()),
                Some(mount.source.as_str()),
                &options,
                &rootfs,
            )
            .map_err(|error| format!("cannot mount the root filesystem at {}: {error}", rootfs.display()))?;
        }
        let created = (|| {
            let spec = oci_spec::runtime::Spec::load(bundle.join("config.json"))
                .map_err(|error| format!("cannot read the bundle's config.json: {error}"))?;
            let deployment = crate::bundle::deployment_of(&spec, &root).map_err(|error| error.to_string())?;
            let file = bundle.join(DEPLOYMENT_FILE);
            let text = serde_json::to_string_pretty(&deployment).map_err(|error| error.to_string())?;
            std::fs::write(&file, text)
                .map_err(|error| format!("cannot write {}: {error}", file.display()))?;
            let stream = |path: &str| (!path.is_empty()).then(|| PathBuf::from(path));
            let create = Request::Create {
                id: request.id.clone(),
                deployment: file,
                stdout: stream(&request.stdout),
                stderr: stream(&request.stderr),
            };
            self.state.node.ask(&create).map_err(|error| error.to_string())
        })();
        match created {
            Ok(Response::State(state)) => Ok(*state),
            Ok(other) => {
                unmount_rootfs(&bundle);
                Err(format!("the node answered {other:?}"))
            }
            Err(error) => {
                unmount_rootfs(&bundle);
                Err(error)
            }
        }
    }

    /// Publishes the container's exit once its cVM stops.
    fn watch_exit(&self, id: String, pid: u32) {
        let service = self.clone();
        let spawned = std::thread::Builder::new().name(format!("exit-{id}")).spawn(move || {
            if let Ok(state) = service.state_of(Request::Wait { id: id.clone() }) {
                let event = TaskExit {
                    container_id: id.clone(),
                    id,
                    pid,
                    exit_status: exit_status(&state),
                    exited_at: exited_at(&state),
                    ..Default::default()
                };
                service.publish(topics::TASK_EXIT_EVENT_TOPIC, Box::new(event));
            }
        });
        if let Err(error) = spawned {
            log::error!("cannot watch a container's exit: {error}");
        }
    }
}

impl shim::Task for TaskService {
    fn create(
        &self,
        _context: &TtrpcContext,
        request: api::CreateTaskRequest,
    ) -> TtrpcResult<api::CreateTaskResponse> {
        let state = self
            .create_container(&request)
            .map_err(|error| get_rpc_status(Code::FAILED_PRECONDITION, error))?;
        self.state
            .bundles
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(request.id.clone(), request.bundle.clone().into());
        let event = TaskCreate {
            container_id: request.id.clone(),
            bundle: request.bundle.clone(),
            rootfs: request.rootfs.clone(),
            io: MessageField::some(shim::protos::events::task::TaskIO {
                stdin: request.stdin.clone(),
                stdout: request.stdout.clone(),
                stderr: request.stderr.clone(),
                terminal: request.terminal,
                ..Default::default()
            }),
            pid: state.pid.unwrap_or(0),
            ..Default::default()
        };
        self.publish(topics::TASK_CREATE_EVENT_TOPIC, Box::new(event));
        Ok(api::CreateTaskResponse { pid: 0, ..Default::default() })
    }

    fn start(&self, _context: &TtrpcContext, request: api::StartRequest) -> TtrpcResult<api::StartResponse> {
        refuse_exec(&request.exec_id)?;
        let mut state = self.state_of(Request::Start { id: request.id.clone() })?;
        let deadline = std::time::Instant::now() + PID_WAIT;
        while state.pid.is_none() && state.phase == Phase::Running && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
            state = self.state_of(Request::State { id: request.id.clone() })?;
        }
        let pid = state.pid.unwrap_or(0);
        self.publish(
            topics::TASK_START_EVENT_TOPIC,
            Box::new(TaskStart { container_id: request.id.clone(), pid, ..Default::default() }),
        );
        self.watch_exit(request.id, pid);
        Ok(api::StartResponse { pid, ..Default::default() })
    }

    fn wait(&self, _context: &TtrpcContext, request: api::WaitRequest) -> TtrpcResult<api::WaitResponse> {
        refuse_exec(&request.exec_id)?;
        let state = self.state_of(Request::Wait { id: request.id })?;
        Ok(api::WaitResponse {
            exit_status: exit_status(&state),
            exited_at: exited_at(&state),
            ..Default::default()
        })
    }

    fn kill(&self, _context: &TtrpcContext, request: api::KillRequest) -> TtrpcResult<api::Empty> {
        refuse_exec(&request.exec_id)?;
        self.state_of(Request::Kill { id: request.id, signal: request.signal as i32 })?;
        Ok(api::Empty::default())
    }

    fn delete(
        &self,
        _context: &TtrpcContext,
        request: api::DeleteRequest,
    ) -> TtrpcResult<api::DeleteResponse> {
        refuse_exec(&request.exec_id)?;
        let state = self.state_of(Request::Delete { id: request.id.clone() })?;
        let bundle = self.state.bundles.lock().unwrap_or_else(PoisonError::into_inner).remove(&request.id);
        if let Some(bundle) = bundle {
            unmount_rootfs(&bundle);
        }
        let (exit_status, exited_at) = (exit_status(&state), exited_at(&state));
        self.publish(
            topics::TASK_DELETE_EVENT_TOPIC,
            Box::new(TaskDelete {
                container_id: request.id.clone(),
                id: request.id,
                exit_status,
                exited_at: exited_at.clone(),
                ..Default::default()
            }),
        );
        Ok(api::DeleteResponse { exit_status, exited_at, ..Default::default() })
    }

    fn state(&self, _context: &TtrpcContext, request: api::StateRequest) -> TtrpcResult<api::StateResponse> {
        refuse_exec(&request.exec_id)?;
        let state = self.state_of(Request::State { id: request.id.clone() })?;
        let status = match state.phase {
            Phase::Created => api::Status::CREATED,
            Phase::Running => api::Status::RUNNING,
            Phase::Stopped => api::Status::STOPPED,
        };
        Ok(api::StateResponse {
            id: request.id.clone(),
            bundle: self.bundle(&request.id).map(|bundle| bundle.display().to_string()).unwrap_or_default(),
            pid: state.pid.unwrap_or(0),
            status: status.into(),
            exit_status: exit_status(&state),
            exited_at: exited_at(&state),
            ..Default::default()
        })
    }

    fn pids(&self, _context: &TtrpcContext, request: api::PidsRequest) -> TtrpcResult<api::PidsResponse> {
        let state = self.state_of(Request::State { id: request.id })?;
        let processes = state
            .pid
            .map(|pid| shim::protos::types::task::ProcessInfo { pid, ..Default::default() })
            .into_iter()
            .collect();
        Ok(api::PidsResponse { processes, ..Default::default() })
    }

    fn stats(&self, _context: &TtrpcContext, request: api::StatsRequest) -> TtrpcResult<api::StatsResponse> {
        let stats = match self.ask(Request::Stats { id: request.id })? {
            Response::Stats(stats) => stats,
            other => return Err(get_rpc_status(Code::INTERNAL, format!("the node answered {other:?}"))),
        };
        let metrics = crate::metrics::metrics_of(&stats);
        let any = shim::util::convert_to_any(Box::new(metrics))
            .map_err(|error| get_rpc_status(Code::INTERNAL, error.to_string()))?;
        Ok(api::StatsResponse { stats: MessageField::some(any), ..Default::default() })
    }

    fn connect(
        &self,
        _context: &TtrpcContext,
        request: api::ConnectRequest,
    ) -> TtrpcResult<api::ConnectResponse> {
        let task_pid =
            self.state_of(Request::State { id: request.id }).ok().and_then(|state| state.pid).unwrap_or(0);
        Ok(api::ConnectResponse {
            shim_pid: std::process::id(),
            task_pid,
            version: env!("CARGO_PKG_VERSION").to_string(),
            ..Default::default()
        })
    }

    fn close_io(&self, _context: &TtrpcContext, _request: api::CloseIORequest) -> TtrpcResult<api::Empty> {
        // A cVM has no standard input to close.
        Ok(api::Empty::default())
    }

    fn shutdown(&self, _context: &TtrpcContext, _request: api::ShutdownRequest) -> TtrpcResult<api::Empty> {
        if self.state.bundles.lock().unwrap_or_else(PoisonError::into_inner).is_empty() {
            self.state.exit.signal();
        }
        Ok(api::Empty::default())
    }
}

/// A cVM has one process: exec'ing another in it is refused.
fn refuse_exec(exec_id: &str) -> TtrpcResult<()> {
    if exec_id.is_empty() {
        return Ok(());
    }
    Err(get_rpc_status(Code::UNIMPLEMENTED, "a cVM runs one program: exec into it is not supported"))
}

fn exit_status(state: &ContainerState) -> u32 {
    state.exit_status.map_or(0, |status| status as u32)
}

fn exited_at(state: &ContainerState) -> MessageField<Timestamp> {
    match state.stopped_at {
        Some(nanoseconds) => MessageField::some(Timestamp {
            seconds: (nanoseconds / 1_000_000_000) as i64,
            nanos: (nanoseconds % 1_000_000_000) as i32,
            ..Default::default()
        }),
        None => MessageField::none(),
    }
}

fn now() -> MessageField<Timestamp> {
    shim::util::timestamp().map_or_else(|_| MessageField::none(), MessageField::some)
}

/// Unmounts a bundle's root filesystem, if it is mounted.
fn unmount_rootfs(bundle: &Path) {
    let rootfs = bundle.join("rootfs");
    if let Some(rootfs) = rootfs.to_str() {
        if let Err(error) = shim::mount::umount_recursive(Some(rootfs), 0) {
            log::warn!("cannot unmount {rootfs}: {error}");
        }
    }
}
