//! The node's control socket: a Unix stream socket only its owner may use (mode 0600),
//! each connection served on a thread of its own (at most [`MOST_CONNECTIONS`] at once),
//! one request and one answer per connection.

use std::io::BufReader;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use super::protocol::{read_message, write_message, Request, Response};
use super::{Node, NodeError};

/// Connections served at once; more are answered with an error and closed. A container
/// runtime keeps one open for each container it waits for.
const MOST_CONNECTIONS: usize = 2 * super::MOST_CONTAINERS;
/// Stack of a connection's thread (it parses one line and calls the node).
const CONNECTION_STACK: usize = 256 * 1024;

/// Why the node could not serve.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Another node answers at the socket.
    #[error("a node is already listening at `{}`; stop it, or give another --socket", .0.display())]
    InUse(PathBuf),
    /// The socket could not be made.
    #[error("cannot listen at `{}`: {source}", socket.display())]
    Listen {
        /// The socket.
        socket: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
}

/// Serves `node` at `socket` until a client asks it to shut down; then every container
/// has been ended and deleted, and the socket is removed.
pub fn serve(node: Arc<Node>, socket: &Path) -> Result<(), ServeError> {
    let listen = |source| ServeError::Listen { socket: socket.to_path_buf(), source };
    if socket.exists() {
        if UnixStream::connect(socket).is_ok() {
            return Err(ServeError::InUse(socket.to_path_buf()));
        }
        // A socket left by a node that ended.
        std::fs::remove_file(socket).map_err(listen)?;
    }
    let listener = UnixListener::bind(socket).map_err(listen)?;
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600)).map_err(listen)?;
    log::info!("node listening at {}", socket.display());
    let shutting_down = Arc::new(AtomicBool::new(false));
    let connections = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        if shutting_down.load(Ordering::Acquire) {
            break;
        }
        let Ok(mut stream) = stream else { continue };
        if connections.fetch_add(1, Ordering::AcqRel) >= MOST_CONNECTIONS {
            connections.fetch_sub(1, Ordering::AcqRel);
            let message = format!("the node serves {MOST_CONNECTIONS} connections at once; try again");
            let _ = write_message(&mut stream, &Response::Error { message });
            continue;
        }
        let (node, shutting_down, connections) =
            (Arc::clone(&node), Arc::clone(&shutting_down), Arc::clone(&connections));
        let socket = socket.to_path_buf();
        let spawned = std::thread::Builder::new()
            .name("node-client".to_string())
            .stack_size(CONNECTION_STACK)
            .spawn(move || {
                let shutdown = answer(&node, stream);
                connections.fetch_sub(1, Ordering::AcqRel);
                if shutdown && !shutting_down.swap(true, Ordering::AcqRel) {
                    // Wakes the listener, which then stops.
                    let _ = UnixStream::connect(&socket);
                }
            });
        if spawned.is_err() {
            log::error!("cannot start a thread for a client of the node");
        }
    }
    let _ = std::fs::remove_file(socket);
    Ok(())
}

/// Reads one request from `stream`, answers it; whether it asked the node to shut down.
fn answer(node: &Arc<Node>, stream: UnixStream) -> bool {
    let mut writer = match stream.try_clone() {
        Ok(writer) => writer,
        Err(_) => return false,
    };
    let request: Request = match read_message(&mut BufReader::new(stream)) {
        Ok(request) => request,
        Err(error) => {
            let message = format!("not a request: {error}");
            let _ = write_message(&mut writer, &Response::Error { message });
            return false;
        }
    };
    let shutdown = request == Request::Shutdown;
    let response =
        dispatch(node, request).unwrap_or_else(|error| Response::Error { message: error.to_string() });
    if let Response::Error { message } = &response {
        log::info!("request refused: {message}");
    }
    let _ = write_message(&mut writer, &response);
    shutdown
}

fn dispatch(node: &Arc<Node>, request: Request) -> Result<Response, NodeError> {
    Ok(match request {
        Request::Create { id, deployment, stdout, stderr } => {
            Response::State(Box::new(node.create(&id, &deployment, stdout.as_deref(), stderr.as_deref())?))
        }
        Request::Start { id } => Response::State(Box::new(node.start(&id)?)),
        Request::Wait { id } => Response::State(Box::new(node.wait(&id)?)),
        Request::Kill { id, signal } => Response::State(Box::new(node.kill(&id, signal)?)),
        Request::Delete { id } => Response::State(Box::new(node.delete(&id)?)),
        Request::State { id } => Response::State(Box::new(node.state(&id)?)),
        Request::List => Response::List { containers: node.list() },
        Request::Stats { id } => Response::Stats(node.stats(&id)?),
        Request::Objects => Response::Objects(node.objects()),
        Request::Shutdown => {
            node.shut_down();
            Response::Done
        }
    })
}
