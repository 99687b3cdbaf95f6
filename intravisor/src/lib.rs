//! The ORC intravisor: the trusted host of many capability-bounded cVMs in one address
//! space.
//!
//! It owns memory, capabilities, cVM lifecycle and hostcall dispatch (ARCHITECTURE §2).
//! It is the only place that mints capabilities, and its platform modules are the only
//! places with raw memory, signal or context-switch operations. Everything a cVM hands
//! over is an allegation, checked against that cVM's capabilities before use; a fault in
//! a cVM is a value, never a panic here. The loader it calls is untrusted: every plan it
//! proposes is verified against the cVM's region before it is applied.
//!
//! The core (capability model, region carving, plan verification) is `no_std` +
//! `alloc`; the `std` feature adds the host platform, the YAML deployment, the JSON
//! report and the command line.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod capability;
#[cfg(feature = "std")]
pub mod config;
#[cfg(feature = "std")]
pub mod cvm;
pub mod guest;
pub mod handles;
pub mod hostcall;
pub mod instance;
pub mod layout;
pub mod lifecycle;
pub mod manifest;
pub mod memory;
#[cfg(feature = "std")]
pub mod node;
#[cfg(feature = "std")]
pub mod objects;
#[cfg(feature = "std")]
mod outcome;
pub mod platform;
#[cfg(feature = "std")]
pub mod policies;
pub mod region;
#[cfg(feature = "std")]
pub mod report;
#[cfg(feature = "std")]
pub mod run_time_sharing;
#[cfg(feature = "std")]
pub mod runner;
pub mod sharing;
#[cfg(feature = "std")]
pub mod stop;
pub mod store;
#[cfg(feature = "std")]
pub mod tenants;
