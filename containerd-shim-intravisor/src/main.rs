//! `containerd-shim-intravisor-v1`: the intravisor as a containerd runtime
//! (`--runtime io.containerd.intravisor.v1`). Containers become cVMs of the node's one
//! intravisor (`intravisor node`), which loads each object once for all of them.
//!
//! - `bundle`: an OCI bundle as the deployment of one cVM;
//! - `service`: the task API, forwarded to the node;
//! - `metrics`: a container's memory as containerd's metrics carry it.

mod bundle;
mod metrics;
mod service;

fn main() {
    containerd_shim::run::<service::Service>("io.containerd.intravisor.v1", None);
}
