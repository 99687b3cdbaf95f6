//! One cVM on the host: built from a verified layout, served while it runs, torn down.
//!
//! - `services`: the hostcall handler, every pointer checked against the cVM's
//!   capabilities;
//! - `console` and `files`: what the hostcalls reach on the host side.

mod console;
mod files;
mod services;

pub use console::OutputSink;
pub use services::{CvmServices, DEFAULT_THREADS};
