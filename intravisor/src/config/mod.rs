//! The deployment file: which cVMs to run, with what, and with how much memory.
//!
//! A deployment is read in two steps, as Hubris reads its configuration: the YAML is
//! deserialised into raw types that refuse unknown fields (`raw`), then checked field by
//! field and across cVMs into a [`Deployment`] (`validate`): names unique, files
//! present, sizes representable and large enough, every path a cVM reads or writes
//! through under the deployment's directory or a root the operator allows (`confine`),
//! outputs neither shared, nested, nor over anything the deployment reads. Every error names the file, the cVM
//! and the field, and says what was expected, before anything runs.
//!
//! ```yaml
//! cVMs:
//!   - name: hello1
//!     runtime: build/hello        # the program object, relative to this file
//!     args: "one two"             # or a list
//!     isolation: { size: 16M }    # the region; a representable capability length;
//!                                 # cpu_seconds, wall_seconds: time limits (optional);
//!                                 # console_bytes, output_bytes: write limits
//!     wait: 0                     # seconds to wait before starting the next cVM; -1: until it ends
//!     tenant: acme                # optional
//!     objects: [build/libx.so]    # shared objects the program links against, by path,
//!                                 # or {sha256: ...}: an object another tenant publishes
//!     files: [input.txt]          # files it may read, or {path: ..., as: name}
//!     output: out/hello1          # the directory its files are written to
//!     stack: 1M                   # optional, default 1M
//! tenants:                        # optional: each tenant's sharing policy
//!   acme: policies/acme.yaml
//! control: control/               # optional: where `intravisor revoke` writes
//! ```

mod confine;
mod raw;
mod size;
mod validate;

use std::path::PathBuf;

pub use size::parse_size;
pub use validate::{is_plain_file_name, load, load_allowing, parse, parse_allowing};

/// The stack size of a cVM that names none.
pub const DEFAULT_STACK: u64 = 1024 * 1024;

/// The largest region a cVM may ask for.
pub const MAXIMUM_REGION: u64 = 64 << 30;

/// Why a deployment file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{file}: cannot read the deployment file: {source}")]
    Read {
        /// The file.
        file: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The YAML does not parse, or has a field that does not belong (with line and column).
    #[error("{file}: {message}")]
    Syntax {
        /// The file.
        file: PathBuf,
        /// The parser's message, with its location.
        message: String,
    },
    /// The file has no cVMs.
    #[error("{file}: `cVMs` lists no cVM; add at least one")]
    NoCvms {
        /// The file.
        file: PathBuf,
    },
    /// A tenant entry is wrong.
    #[error("{file}: tenant `{tenant}` {message}")]
    Tenant {
        /// The file.
        file: PathBuf,
        /// The tenant.
        tenant: String,
        /// What is wrong.
        message: String,
    },
    /// A field of the deployment itself is wrong.
    #[error("{file}: `{field}`: {message}")]
    Deployment {
        /// The file.
        file: PathBuf,
        /// The field.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A field of a cVM is wrong.
    #[error("{file}: cVM `{cvm}`, field `{field}`: {message}")]
    Field {
        /// The file.
        file: PathBuf,
        /// The cVM's name (or its position when the name itself is wrong).
        cvm: String,
        /// The field, as a path (`isolation.size`).
        field: String,
        /// What is wrong and what was expected.
        message: String,
    },
}

/// A validated deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    /// The deployment file.
    pub file: PathBuf,
    /// The cVMs, in the order they are started.
    pub cvms: Vec<CvmConfig>,
    /// The tenants that have a sharing policy, and its file.
    pub tenants: Vec<(String, PathBuf)>,
    /// Where revocations are read from, if anywhere.
    pub control: Option<PathBuf>,
}

/// An object a cVM names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectRef {
    /// A file.
    Path(PathBuf),
    /// An object another tenant publishes, by its SHA-256.
    Digest([u8; 32]),
}

/// When to start the cVM after this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// At once.
    No,
    /// When this one has ended (`wait: -1`).
    UntilEnd,
    /// After this many seconds, or when this one ends if that is sooner.
    Seconds(u64),
}

/// A file a cVM may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileGrant {
    /// The name the cVM opens it by.
    pub name: String,
    /// The file on the host.
    pub path: PathBuf,
}

/// One validated cVM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CvmConfig {
    /// Unique name.
    pub name: String,
    /// The tenant it belongs to (`default` when none is named).
    pub tenant: String,
    /// The program object.
    pub runtime: PathBuf,
    /// Arguments after the program name.
    pub arguments: Vec<String>,
    /// Size of its region.
    pub region_size: u64,
    /// Size of its stack.
    pub stack_size: u64,
    /// The processor time it may use, in seconds (`isolation.cpu_seconds`; none: no
    /// limit). Held by the kernel for a cVM process.
    pub cpu_seconds: Option<u64>,
    /// The time it may run, in seconds, from its start (`isolation.wall_seconds`; none:
    /// no limit). Held on the host with cVM processes.
    pub wall_seconds: Option<u64>,
    /// The bytes it may write to its console (`isolation.console_bytes`, 64 MiB unless
    /// named); a write past them ends it.
    pub console_bytes: u64,
    /// The bytes it may write into its output directory (`isolation.output_bytes`,
    /// 1 GiB unless named); a write past them ends it.
    pub output_bytes: u64,
    /// The files it may have open at once (`isolation.open_files`, 1 to 1024, 64
    /// unless named).
    pub open_files: usize,
    /// The threads it may have at once, its first included (`isolation.threads`, 1 to
    /// 64, 64 unless named); on the host.
    pub threads: usize,
    /// When to start the next cVM.
    pub wait: Wait,
    /// Shared objects its program may link against.
    pub objects: Vec<ObjectRef>,
    /// Files it may read.
    pub files: Vec<FileGrant>,
    /// The directory it writes files into, if any.
    pub output: Option<PathBuf>,
}

impl CvmConfig {
    /// What it is granted of each resource it consumes as it runs, for its tenant's
    /// per-cVM limits.
    pub fn grants(&self) -> policy::Grants {
        let mut grants = policy::Grants::UNLIMITED;
        for consumption in policy::Consumption::ALL {
            grants.0[consumption as usize] = match consumption {
                policy::Consumption::CpuSeconds => self.cpu_seconds,
                policy::Consumption::WallSeconds => self.wall_seconds,
                policy::Consumption::ConsoleBytes => Some(self.console_bytes),
                policy::Consumption::OutputBytes => Some(self.output_bytes),
                policy::Consumption::OpenFiles => Some(self.open_files as u64),
                policy::Consumption::Threads => Some(self.threads as u64),
            };
        }
        grants
    }
}
