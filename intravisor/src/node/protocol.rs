//! The node's control protocol: one JSON object a line over a Unix stream socket, a
//! request from the client, then the node's one response. `wait` answers only once the
//! container has stopped; a client waits for several containers over several
//! connections.
//!
//! ```text
//! → {"op":"create","id":"t1","deployment":"/bundles/t1/cvm.yaml","stdout":"/run/t1.out"}
//! ← {"answer":"state","id":"t1","tenant":"acme","phase":"created","pid":null,...}
//! → {"op":"wait","id":"t1"}
//! ← {"answer":"state","id":"t1",...,"phase":"stopped","exit_status":0,"report":{...}}
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::report::{CvmReport, ObjectReport};

/// The longest line either side may send (a report of a cVM with many objects fits).
pub(super) const LONGEST_LINE: u64 = 1 << 20;

/// What a client asks of the node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Create a container from a deployment file of one cVM.
    Create {
        /// The container's id.
        id: String,
        /// The deployment file.
        deployment: PathBuf,
        /// Where its standard output goes (a file or FIFO); the node's own if none.
        #[serde(default)]
        stdout: Option<PathBuf>,
        /// Where its standard error goes.
        #[serde(default)]
        stderr: Option<PathBuf>,
    },
    /// Start a created container.
    Start {
        /// The container.
        id: String,
    },
    /// Wait until a container has stopped.
    Wait {
        /// The container.
        id: String,
    },
    /// End a container's cVM.
    Kill {
        /// The container.
        id: String,
        /// The signal it is reported as ended by.
        signal: i32,
    },
    /// Delete a container that is not running.
    Delete {
        /// The container.
        id: String,
    },
    /// A container's state.
    State {
        /// The container.
        id: String,
    },
    /// Every container's state.
    List,
    /// A container's memory.
    Stats {
        /// The container.
        id: String,
    },
    /// The objects of the node's containers.
    Objects,
    /// End every container and stop the node.
    Shutdown,
}

/// Where a container is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Prepared, not started.
    Created,
    /// Its cVM runs.
    Running,
    /// Its cVM has stopped (or it was killed before it started).
    Stopped,
}

impl std::fmt::Display for Phase {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            Self::Created => "created",
            Self::Running => "running",
            Self::Stopped => "stopped",
        })
    }
}

/// A container as the node sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerState {
    /// Its id.
    pub id: String,
    /// Its tenant.
    pub tenant: String,
    /// Where it is in its life.
    pub phase: Phase,
    /// Its cVM's process, while it runs.
    pub pid: Option<u32>,
    /// Once stopped: its exit code, 128 plus the signal that ended it, 137 at a limit,
    /// 255 when it never ran.
    pub exit_status: Option<i32>,
    /// Once stopped: when, in nanoseconds since the Unix epoch.
    pub stopped_at: Option<u64>,
    /// Once stopped: what became of its cVM, as `intravisor run` reports it.
    pub report: Option<CvmReport>,
}

/// A container's memory: its process as the kernel counts it now (while it runs), and
/// the object bytes it uses shared with other containers, or alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerStats {
    /// Its id.
    pub id: String,
    /// Where it is in its life.
    pub phase: Phase,
    /// Its process's proportional set size, in bytes (shared pages divided among their
    /// users): its marginal cost.
    pub pss: Option<u64>,
    /// Its process's resident bytes.
    pub rss: Option<u64>,
    /// Its process's resident bytes no other process maps.
    pub private: Option<u64>,
    /// Its process's resident bytes other processes map too.
    pub shared: Option<u64>,
    /// Bytes of the shared copies of objects it uses (one copy on the node).
    pub shared_object_bytes: u64,
    /// Bytes of the private copies of objects it holds.
    pub private_object_bytes: u64,
}

/// The objects of a node's containers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeObjects {
    /// Each distinct object: how often it was loaded and used since the node started.
    pub objects: Vec<ObjectReport>,
    /// Shared copies of objects loaded now.
    pub shared_copies_loaded: usize,
}

/// The node's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum Response {
    /// A container's state.
    State(Box<ContainerState>),
    /// Every container's state.
    List {
        /// By id.
        containers: Vec<ContainerState>,
    },
    /// A container's memory.
    Stats(ContainerStats),
    /// The node's objects.
    Objects(NodeObjects),
    /// Done (shutdown).
    Done,
    /// The request was refused: why.
    Error {
        /// What is wrong, and what to do.
        message: String,
    },
}

/// Why a client got no answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The socket could not be reached.
    #[error("cannot reach the node at `{}`: {source}; is `intravisor node` running?", socket.display())]
    Connect {
        /// The socket.
        socket: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The exchange failed.
    #[error("the node at `{}` did not answer: {source}", socket.display())]
    Exchange {
        /// The socket.
        socket: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The node refused the request.
    #[error("{0}")]
    Refused(String),
}

/// A client of the node at one socket: each request on a connection of its own.
#[derive(Debug, Clone)]
pub struct Client {
    socket: PathBuf,
}

impl Client {
    /// A client of the node listening at `socket`.
    pub fn new(socket: &Path) -> Self {
        Self { socket: socket.to_path_buf() }
    }

    /// Sends `request`; the node's answer, or its refusal as an error.
    pub fn ask(&self, request: &Request) -> Result<Response, ClientError> {
        let exchange = |source| ClientError::Exchange { socket: self.socket.clone(), source };
        let mut stream = UnixStream::connect(&self.socket)
            .map_err(|source| ClientError::Connect { socket: self.socket.clone(), source })?;
        write_message(&mut stream, request).map_err(exchange)?;
        let response: Response = read_message(&mut BufReader::new(stream)).map_err(exchange)?;
        match response {
            Response::Error { message } => Err(ClientError::Refused(message)),
            answer => Ok(answer),
        }
    }
}

/// Writes `message` as one line of JSON.
pub(super) fn write_message(stream: &mut impl Write, message: &impl Serialize) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(message).map_err(std::io::Error::other)?;
    line.push(b'\n');
    stream.write_all(&line)?;
    stream.flush()
}

/// Reads one line of JSON, of at most [`LONGEST_LINE`] bytes.
pub(super) fn read_message<T: for<'de> Deserialize<'de>>(stream: &mut impl BufRead) -> std::io::Result<T> {
    let mut line = Vec::new();
    stream.take(LONGEST_LINE + 1).read_until(b'\n', &mut line)?;
    if line.len() as u64 > LONGEST_LINE {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("a message is longer than {LONGEST_LINE} bytes"),
        ));
    }
    if line.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the connection closed before a message",
        ));
    }
    serde_json::from_slice(&line).map_err(|error| std::io::Error::new(std::io::ErrorKind::InvalidData, error))
}

/// How long a container's FIFO may go without a reader before that is an error: `ctr
/// run -d` opens its end of the FIFOs on threads of its own while it asks for the task.
const FIFO_READER_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Opens where a container's stream goes: a FIFO (a container runtime's) for writing,
/// once its reader has opened it (an error if none does within [`FIFO_READER_WAIT`]),
/// else a file, created if needed and appended to.
pub(super) fn open_output(path: &Path) -> std::io::Result<std::fs::File> {
    let is_fifo = std::fs::metadata(path).is_ok_and(|metadata| metadata.file_type().is_fifo());
    if is_fifo {
        let started = std::time::Instant::now();
        let file = loop {
            match std::fs::OpenOptions::new().write(true).custom_flags(libc::O_NONBLOCK).open(path) {
                Err(error)
                    if error.raw_os_error() == Some(libc::ENXIO) && started.elapsed() < FIFO_READER_WAIT =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                opened => break opened?,
            }
        };
        // Writes then wait for the reader, as a process's would.
        let flags = rustix::fs::fcntl_getfl(&file)?;
        rustix::fs::fcntl_setfl(&file, flags - rustix::fs::OFlags::NONBLOCK)?;
        return Ok(file);
    }
    std::fs::OpenOptions::new().append(true).create(true).open(path)
}

#[cfg(test)]
mod tests {
    use super::{open_output, read_message, write_message, Request, LONGEST_LINE};
    use std::io::{Read, Write};

    /// `ctr run -d` opens the reading end of a container's FIFO after it asked for the
    /// task: the node waits for it rather than fail the container (it did, with ENXIO).
    #[test]
    fn a_fifo_whose_reader_comes_late_is_opened_once_it_does() {
        let directory = std::env::temp_dir().join(format!("orc-fifo-{}", std::process::id()));
        std::fs::create_dir_all(&directory).unwrap();
        let fifo = directory.join("stdout");
        let _ = std::fs::remove_file(&fifo);
        let path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo takes a NUL-terminated path and a mode.
        assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
        let reader_path = fifo.clone();
        let reader = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(100));
            let mut text = String::new();
            std::fs::File::open(reader_path).unwrap().read_to_string(&mut text).unwrap();
            text
        });
        let mut output = open_output(&fifo).unwrap();
        output.write_all(b"a cVM's line\n").unwrap();
        drop(output);
        assert_eq!(reader.join().unwrap(), "a cVM's line\n");
        std::fs::remove_dir_all(&directory).unwrap();
    }

    #[test]
    fn requests_round_trip_and_unknown_or_long_lines_are_refused() {
        let request = Request::Kill { id: "t1".to_string(), signal: 15 };
        let mut line = Vec::new();
        write_message(&mut line, &request).unwrap();
        assert_eq!(String::from_utf8_lossy(&line), "{\"op\":\"kill\",\"id\":\"t1\",\"signal\":15}\n");
        assert_eq!(read_message::<Request>(&mut line.as_slice()).unwrap(), request);
        let unknown = b"{\"op\":\"kill\",\"id\":\"t1\",\"signal\":15,\"force\":true}\n";
        let error = read_message::<Request>(&mut unknown.as_slice()).unwrap_err();
        assert!(error.to_string().contains("unknown field `force`"), "{error}");
        let long = vec![b' '; LONGEST_LINE as usize + 10];
        let error = read_message::<Request>(&mut long.as_slice()).unwrap_err();
        assert!(error.to_string().contains("longer than"), "{error}");
        let error = read_message::<Request>(&mut b"".as_slice()).unwrap_err();
        assert!(error.to_string().contains("closed before a message"), "{error}");
    }
}
