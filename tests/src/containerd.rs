//! containerd for the tests (`tests/tests/containerd.rs`) and `cargo xtask bench node`:
//! Debian's containerd started with its root, state and sockets under a directory of its
//! own (its CRI plugin off), the intravisor's shim on its PATH and pointed at a node;
//! `ctr` against it. Dropping it ends the shims it started and containerd, and unmounts
//! what they left mounted.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The runtime name `ctr run --runtime` takes.
pub const RUNTIME: &str = "io.containerd.intravisor.v1";
/// The transcoder's image, as `cargo xtask oci` names it (its annotation).
pub const IMAGE: &str = "docker.io/orc/transcode:latest";

/// A running containerd.
#[derive(Debug)]
pub struct Containerd {
    child: Child,
    directory: PathBuf,
}

impl Containerd {
    /// Starts containerd in `directory` with `shim` as `containerd-shim-intravisor-v1`,
    /// its shims serving the node at `node_socket`; returns once it answers.
    pub fn start(directory: &Path, shim: &Path, node_socket: &Path) -> Result<Self, String> {
        let io = |what: &str, error: std::io::Error| format!("containerd: cannot {what}: {error}");
        let bin = directory.join("bin");
        std::fs::create_dir_all(&bin).map_err(|error| io("create its bin directory", error))?;
        let link = bin.join("containerd-shim-intravisor-v1");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(shim, &link).map_err(|error| io("link the shim", error))?;
        let config = directory.join("config.toml");
        let text = format!(
            "version = 2\nroot = \"{0}/root\"\nstate = \"{0}/state\"\n\
             disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n[grpc]\n  address = \"{0}/containerd.sock\"\n\
             [ttrpc]\n  address = \"{0}/containerd.sock.ttrpc\"\n",
            directory.display()
        );
        std::fs::write(&config, text).map_err(|error| io("write its configuration", error))?;
        let log = std::fs::File::create(directory.join("containerd.log"))
            .map_err(|error| io("create its log", error))?;
        let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
        let child = Command::new("containerd")
            .arg("--config")
            .arg(&config)
            .env("PATH", path)
            .env("INTRAVISOR_NODE_SOCKET", node_socket)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|error| io("start (is it installed? cargo xtask setup)", error))?;
        let containerd = Self { child, directory: directory.to_path_buf() };
        let deadline = Instant::now() + Duration::from_secs(30);
        while containerd.ctr(&["version"]).is_err() {
            if Instant::now() > deadline {
                return Err(format!(
                    "containerd did not answer within 30 s: see {}/containerd.log",
                    directory.display()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(containerd)
    }

    /// `ctr ARGUMENTS`: its standard output, or what it said when it failed.
    pub fn ctr(&self, arguments: &[&str]) -> Result<String, String> {
        let output = Command::new("ctr")
            .arg("--address")
            .arg(self.directory.join("containerd.sock"))
            .args(arguments)
            .output()
            .map_err(|error| format!("cannot run ctr: {error}"))?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(format!("ctr {}: {}", arguments.join(" "), String::from_utf8_lossy(&output.stderr).trim()))
        }
    }

    /// What containerd logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.directory.join("containerd.log")).unwrap_or_default()
    }

    /// Each task's status, as `ctr task ls` shows it.
    pub fn tasks(&self) -> Result<Vec<(String, String)>, String> {
        let listing = self.ctr(&["task", "ls"])?;
        Ok(listing
            .lines()
            .skip(1)
            .filter_map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                Some((fields.first()?.to_string(), fields.last()?.to_string()))
            })
            .collect())
    }

    /// containerd's process.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The processes of the intravisor shims this containerd started.
    pub fn shims(&self) -> Vec<u32> {
        let address = self.directory.join("containerd.sock").display().to_string();
        let mut shims = Vec::new();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let command = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let command = String::from_utf8_lossy(&command);
            if command.contains("containerd-shim-intravisor-v1") && command.contains(&address) {
                shims.extend(entry.file_name().to_string_lossy().parse::<u32>());
            }
        }
        shims
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        // A shim outlives containerd (it is a daemon of its own).
        for shim in self.shims() {
            let socket = shim_socket(shim);
            let _ = Command::new("kill").args(["-9", &shim.to_string()]).status();
            // Killed, it leaves its socket (under /run/containerd/s), which would make the
            // next shim of that name wait a second.
            if let Some(socket) = socket {
                let _ = std::fs::remove_file(socket);
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        unmount_under(&self.directory);
    }
}

/// `ctr run` mounts for transcoder input `input` of the example's inputs (`/in/in.yuv`,
/// `/in/in.pcm`, read-only) and its output directory `output` (`/out`).
pub fn transcoder_mounts(input: u32, output: &Path) -> Vec<String> {
    let inputs = crate::root().join("examples/transcode/build");
    let mut arguments = Vec::new();
    for (file, destination) in
        [(format!("in{input}.yuv"), "/in/in.yuv"), (format!("in{input}.pcm"), "/in/in.pcm")]
    {
        arguments.push("--mount".to_string());
        arguments.push(format!(
            "type=bind,src={},dst={destination},options=rbind:ro",
            inputs.join(file).display()
        ));
    }
    arguments.push("--mount".to_string());
    arguments.push(format!("type=bind,src={},dst=/out,options=rbind:rw", output.display()));
    arguments
}

/// The path of the socket shim process `shim` serves on (its `-socket unix://PATH`).
fn shim_socket(shim: u32) -> Option<PathBuf> {
    let command = std::fs::read(format!("/proc/{shim}/cmdline")).ok()?;
    let arguments: Vec<String> = command
        .split(|byte| *byte == 0)
        .map(|argument| String::from_utf8_lossy(argument).into_owned())
        .collect();
    let at = arguments.iter().position(|argument| argument == "-socket")?;
    let address = arguments.get(at + 1)?;
    Some(PathBuf::from(address.strip_prefix("unix://").unwrap_or(address)))
}

/// Unmounts (lazily) whatever is mounted under `directory`: root filesystems a shim did
/// not unmount, so that the directory can be removed.
pub fn unmount_under(directory: &Path) {
    let prefix = directory.display().to_string();
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    for target in mounts.lines().filter_map(|line| line.split_whitespace().nth(1)) {
        if target.starts_with(&prefix) {
            let _ = Command::new("umount").args(["-l", target]).status();
        }
    }
}
