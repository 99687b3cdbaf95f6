//! One cVM on the host: built from a verified layout, served while it runs, torn down.
//!
//! - `instantiate`: apply a verified [`Layout`](crate::layout::Layout) to a region and
//!   write the boot block;
//! - `services`: the hostcall handler, every pointer checked against the cVM's
//!   capabilities;
//! - `console` and `files`: what the hostcalls reach on the host side.

mod console;
mod files;
mod instantiate;
mod services;

pub use console::OutputSink;
pub use instantiate::{instantiate, BuildError, Instance};
pub use services::CvmServices;
