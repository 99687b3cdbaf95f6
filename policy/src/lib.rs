//! Tenant sharing policies: which objects a tenant publishes and to whom, what it
//! accepts from others, and its limits.
//!
//! Tenants write one policy file each, in a strict subset of YAML; this crate parses
//! and checks it without `std` or `unsafe`, so the bare-metal intravisor enforces the
//! same rules as the host. Nothing here trusts the text: any input gives a
//! [`Policy`] or a [`PolicyError`] naming the file, the line and column and the rule,
//! never a panic. A policy that parses has no contradictions within itself (one digest
//! per object name, one audience per object, no tenant publishing to or accepting
//! itself, `memory_per_cvm` at most `memory_total`); a [`PolicySet`] then checks the
//! policies against the deployment's tenants and each other, and makes every sharing
//! decision, returning a [`Refusal`] that names the rule and the clause that refused.
//!
//! ```yaml
//! tenant: alpha                  # required; the name the deployment gives this policy
//! publishes:                     # optional
//!   - object: libcounter.so      # a file name
//!     sha256: 3f5a...            # 64 hexadecimal digits
//!     to: [beta, gamma]          # tenant names, or `public`, or `private`
//! accepts:                       # optional
//!   publishers: [beta]           # tenants whose publications it accepts
//!   digests: [3f5a...]           # digests it accepts from any publisher sharing them with it
//! limits:                        # optional; each field optional
//!   cvms: 4                      # most cVMs at once
//!   memory_per_cvm: 16M          # largest region of one cVM
//!   memory_total: 64M            # its cVMs' regions together
//!   cls_bytes_per_cvm: 64K       # most compartment-local storage of one cVM
//!   cpu_seconds_per_cvm: 60      # most a deployment may grant one cVM of each resource
//!   wall_seconds_per_cvm: 600    #   it consumes as it runs (isolation.cpu_seconds, …);
//!   console_bytes_per_cvm: 1M    #   a cVM granted more, or no time limit where the
//!   output_bytes_per_cvm: 64M    #   tenant caps time, is refused
//!   open_files_per_cvm: 16
//!   threads_per_cvm: 8
//! ```
//!
//! Reading order: [`parse()`] (`parse.rs`) reads the YAML subset (`yaml.rs` for lines
//! and blocks, `scalar.rs` within a line) into a tree and the tree into the model
//! (`model.rs`), with names (`names.rs`), digests (`digest.rs`) and sizes (`size.rs`);
//! [`PolicySet`] (`set.rs`) decides. Errors are in `error.rs` with their messages in
//! `message.rs`; refusals in `refusal.rs`; notes on valid policies in `note.rs`.
#![no_std]
#![forbid(unsafe_code)]
#![allow(
    clippy::result_large_err,
    reason = "errors and refusals carry what their messages name (names, digests, clauses); they are \
              made once per refused policy or request, never on a hot path"
)]

extern crate alloc;

mod digest;
mod error;
mod message;
mod model;
mod names;
mod note;
mod parse;
mod refusal;
mod scalar;
mod set;
mod size;
mod yaml;

pub use digest::{digest_hex, parse_digest, Digest};
pub use error::{NameProblem, PolicyError, SyntaxProblem};
pub use message::explain_tenant_name_problem;
pub use model::{
    Acceptance, Audience, Consumption, Domain, Grants, Limits, Policy, Publication, RunTimeSharing, Usage,
};
pub use names::{object_name_problem, tenant_name_problem, MAXIMUM_OBJECT_NAME};
pub use note::Note;
pub use parse::{parse, parse_with_notes};
pub use refusal::{Refusal, Rule};
pub use set::PolicySet;
pub use size::{format_size, parse_count, parse_size, SizeProblem};
