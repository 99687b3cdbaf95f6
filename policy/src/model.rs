//! What a policy says, once parsed and checked: the types the intravisor decides with.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::digest::Digest;

/// One tenant's sharing policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The tenant the policy is for (`tenant:`).
    pub tenant: String,
    /// The objects it publishes, in the order written (`publishes:`).
    pub publishes: Vec<Publication>,
    /// What it accepts from other tenants (`accepts:`).
    pub accepts: Acceptance,
    /// Its limits (`limits:`).
    pub limits: Limits,
    /// Whether its cVMs that run the same program on the same objects share the pages
    /// they fill identically at run time (`run_time_sharing:`); none: they do not.
    pub run_time_sharing: Option<RunTimeSharing>,
}

/// A tenant's opt-in to run-time sharing (`run_time_sharing:`): pages its cVMs of one
/// program and objects hold identically become one copy-on-write copy. Shared writable
/// pages are a timing side channel between those cVMs, which is why it is opt-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunTimeSharing {
    /// How long after the last of them started their pages are first compared (then
    /// in rounds further apart while two run; `run_time_sharing.after_ms`, default
    /// 1000).
    pub after_milliseconds: u64,
}

impl Default for RunTimeSharing {
    fn default() -> Self {
        Self { after_milliseconds: 1000 }
    }
}

/// One object a tenant publishes (`publishes[i]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publication {
    /// The object's file name.
    pub object: String,
    /// The SHA-256 of its file.
    pub sha256: Digest,
    /// Who may share the publisher's loaded copy of it.
    pub to: Audience,
}

/// Who a publication is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// Nobody else (`to: private`, `to: [private]` or `to: []`).
    Private,
    /// Every tenant (`to: public`, `to: [public]`).
    Public,
    /// The named tenants (`to: [beta, gamma]`), in the order written, none twice.
    Tenants(Vec<String>),
}

impl Audience {
    /// True when `tenant` is in the audience.
    pub fn includes(&self, tenant: &str) -> bool {
        match self {
            Self::Private => false,
            Self::Public => true,
            Self::Tenants(tenants) => tenants.iter().any(|name| name == tenant),
        }
    }

    /// True when the two audiences are the same tenants, whatever the order written.
    pub fn same_as(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Tenants(first), Self::Tenants(second)) => {
                first.len() == second.len() && first.iter().all(|name| second.contains(name))
            }
            _ => self == other,
        }
    }
}

impl fmt::Display for Audience {
    /// `private`, `public`, or the tenants as a flow list: `[beta, gamma]`.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Private => formatter.write_str("private"),
            Self::Public => formatter.write_str("public"),
            Self::Tenants(tenants) => {
                formatter.write_str("[")?;
                for (index, tenant) in tenants.iter().enumerate() {
                    if index > 0 {
                        formatter.write_str(", ")?;
                    }
                    formatter.write_str(tenant)?;
                }
                formatter.write_str("]")
            }
        }
    }
}

/// What a tenant accepts from others (`accepts:`): a publication is accepted when its
/// publisher is listed or its digest is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acceptance {
    /// Tenants whose publications it accepts (`accepts.publishers`).
    pub publishers: Vec<String>,
    /// Digests it accepts from any publisher that shares them with it (`accepts.digests`).
    pub digests: Vec<Digest>,
}

impl Acceptance {
    /// True when a publication of `digest` by `publisher` is accepted.
    pub fn accepts(&self, publisher: &str, digest: &Digest) -> bool {
        self.publishers.iter().any(|name| name == publisher) || self.digests.contains(digest)
    }
}

/// A tenant's limits (`limits:`); `None` is no limit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    /// The most cVMs it may run at once (`limits.cvms`).
    pub cvms: Option<u64>,
    /// The largest region (`isolation.size`) one of its cVMs may have, in bytes.
    pub memory_per_cvm: Option<u64>,
    /// The most bytes of region all its cVMs may have together.
    pub memory_total: Option<u64>,
    /// The most compartment-local storage bytes one of its cVMs may have.
    pub cls_bytes_per_cvm: Option<u64>,
    /// The most of each resource one of its cVMs may be granted by a deployment
    /// (`limits.cpu_seconds_per_cvm`, …), in [`Consumption::ALL`]'s order.
    pub per_cvm: [Option<u64>; Consumption::COUNT],
}

impl Limits {
    /// The most of `consumption` one of the tenant's cVMs may be granted, if capped.
    pub fn per_cvm(&self, consumption: Consumption) -> Option<u64> {
        self.per_cvm[consumption as usize]
    }
}

/// A resource a cVM consumes as it runs, which its deployment grants it a share of
/// (`isolation.cpu_seconds`, …) and its tenant's policy may cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Consumption {
    /// Processor time, in seconds.
    CpuSeconds,
    /// Time from its start, in seconds.
    WallSeconds,
    /// Bytes written to its console.
    ConsoleBytes,
    /// Bytes written into its output directory.
    OutputBytes,
    /// Files open at once.
    OpenFiles,
    /// Threads at once.
    Threads,
}

impl Consumption {
    /// How many resources there are.
    pub const COUNT: usize = 6;
    /// Every resource, in the order limits are checked.
    pub const ALL: [Self; Self::COUNT] = [
        Self::CpuSeconds,
        Self::WallSeconds,
        Self::ConsoleBytes,
        Self::OutputBytes,
        Self::OpenFiles,
        Self::Threads,
    ];

    /// The field of a policy's `limits:` that caps it.
    pub fn limit_field(self) -> &'static str {
        match self {
            Self::CpuSeconds => "limits.cpu_seconds_per_cvm",
            Self::WallSeconds => "limits.wall_seconds_per_cvm",
            Self::ConsoleBytes => "limits.console_bytes_per_cvm",
            Self::OutputBytes => "limits.output_bytes_per_cvm",
            Self::OpenFiles => "limits.open_files_per_cvm",
            Self::Threads => "limits.threads_per_cvm",
        }
    }

    /// The field of a deployment's cVM that grants it.
    pub fn deployment_field(self) -> &'static str {
        match self {
            Self::CpuSeconds => "isolation.cpu_seconds",
            Self::WallSeconds => "isolation.wall_seconds",
            Self::ConsoleBytes => "isolation.console_bytes",
            Self::OutputBytes => "isolation.output_bytes",
            Self::OpenFiles => "isolation.open_files",
            Self::Threads => "isolation.threads",
        }
    }

    /// Whether it is counted in bytes (written as a size such as 64M), else in seconds
    /// or a number of things.
    pub fn is_bytes(self) -> bool {
        matches!(self, Self::ConsoleBytes | Self::OutputBytes)
    }
}

/// What a deployment grants one cVM of each [`Consumption`], in [`Consumption::ALL`]'s
/// order; `None` is no limit (time limits are optional).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grants(pub [Option<u64>; Consumption::COUNT]);

impl Grants {
    /// No limit on anything.
    pub const UNLIMITED: Self = Self([None; Consumption::COUNT]);

    /// What it grants of `consumption`.
    pub fn of(&self, consumption: Consumption) -> Option<u64> {
        self.0[consumption as usize]
    }
}

/// With whom the loaded copy of an object a cVM needs is shared.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Domain {
    /// The cVM's tenant's own copy, shared only among that tenant's cVMs (and, when
    /// the tenant publishes the object, with those it publishes to).
    Own,
    /// The copy of the named publisher, shared with every tenant that it publishes the
    /// object to and that accepts it.
    Publisher(String),
}

/// What a tenant would use if a cVM started; every field includes that cVM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// The tenant's cVMs running at once, this one included.
    pub cvms: u64,
    /// This cVM's region, in bytes.
    pub memory_per_cvm: u64,
    /// The regions of all the tenant's cVMs together, this one included.
    pub memory_total: u64,
    /// This cVM's compartment-local storage, in bytes.
    pub cls_bytes: u64,
    /// What its deployment grants this cVM of what it consumes as it runs.
    pub grants: Grants,
}
