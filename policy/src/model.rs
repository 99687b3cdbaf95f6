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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// The tenant's cVMs running at once, this one included.
    pub cvms: u64,
    /// This cVM's region, in bytes.
    pub memory_per_cvm: u64,
    /// The regions of all the tenant's cVMs together, this one included.
    pub memory_total: u64,
    /// This cVM's compartment-local storage, in bytes.
    pub cls_bytes: u64,
}
