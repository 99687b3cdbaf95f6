//! A cVM's memory as the intravisor sees it: its data capability and the protection of
//! every page of its region.
//!
//! A hostcall's pointer argument is an allegation. [`GuestMemory::check`] accepts a
//! range only if the cVM's data capability authorises the access (tag, seal, bounds,
//! permission: the same checks, in the same order, as the hardware on Morello) and
//! every page of the range is mapped with a protection that allows it, so that the
//! intravisor never faults on a cVM's behalf.

use alloc::vec::Vec;
use core::fmt;

use crate::capability::{Cap, CapFault, Permissions};

/// What a cVM may do with a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protection {
    /// No access: guard pages and unused space.
    None,
    /// Read-only data.
    Read,
    /// Data.
    ReadWrite,
    /// Code.
    ReadExecute,
}

impl Protection {
    fn allows(self, access: Access) -> bool {
        match access {
            Access::Read => matches!(self, Self::Read | Self::ReadWrite | Self::ReadExecute),
            Access::Write => self == Self::ReadWrite,
            Access::Execute => self == Self::ReadExecute,
        }
    }
}

/// A page-aligned range of a region with one protection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mapping {
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
    /// What the cVM may do there.
    pub protection: Protection,
}

/// The direction of a hostcall's access to cVM memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The intravisor reads what the cVM handed over.
    Read,
    /// The intravisor writes into the cVM's buffer.
    Write,
    /// The cVM names code of its own to run (a thread's entry): reachable through its
    /// capabilities and on an executable page.
    Execute,
}

/// Why a range a cVM handed over was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestFault {
    /// The cVM's data capability does not authorise the access.
    Capability {
        /// Which check failed.
        fault: CapFault,
        /// Start of the range.
        address: u64,
        /// Its length.
        length: u64,
    },
    /// A page of the range is not mapped with the needed protection.
    Page {
        /// The first byte of the range on a page that refused.
        address: u64,
        /// The access that was refused.
        access: Access,
    },
}

impl fmt::Display for GuestFault {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Capability { fault, address, length } => write!(
                formatter,
                "{length} bytes at {address:#x} are refused by the cVM's data capability: {fault}"
            ),
            Self::Page { address, access } => {
                let verb = match access {
                    Access::Read => "readable",
                    Access::Write => "writable",
                    Access::Execute => "executable",
                };
                write!(formatter, "the page holding {address:#x} is not {verb} by the cVM")
            }
        }
    }
}

/// A cVM's capabilities and the protections of the pages they reach.
#[derive(Debug, Clone)]
pub struct GuestMemory {
    data: Cap,
    /// Capabilities for the shared objects the cVM uses (read and execute only).
    shared: Vec<Cap>,
    /// Sorted by `start`, disjoint.
    mappings: Vec<Mapping>,
}

impl GuestMemory {
    /// Memory reached through `data` (the cVM's region) and `shared` (the shared objects
    /// it uses), with the given page protections (disjoint; pages not listed are
    /// inaccessible).
    pub fn new(data: Cap, shared: Vec<Cap>, mut mappings: Vec<Mapping>) -> Self {
        mappings.sort_by_key(|mapping| mapping.start);
        Self { data, shared, mappings }
    }

    /// The cVM's data capability.
    pub fn data_capability(&self) -> Cap {
        self.data
    }

    /// The page protections.
    pub fn mappings(&self) -> &[Mapping] {
        &self.mappings
    }

    /// Checks that the cVM may have the intravisor `access` `length` bytes at `address`.
    /// A zero-length range is accepted without looking at the address.
    pub fn check(&self, address: u64, length: u64, access: Access) -> Result<(), GuestFault> {
        if length == 0 {
            return Ok(());
        }
        let needed = match access {
            Access::Read | Access::Execute => Permissions::LOAD,
            Access::Write => Permissions::STORE,
        };
        // The region's capability decides, unless a shared object's authorises the access.
        if let Err(fault) = self.data.check_access(address, length, needed) {
            if !self.shared.iter().any(|capability| capability.check_access(address, length, needed).is_ok())
            {
                return Err(GuestFault::Capability { fault, address, length });
            }
        }
        // The capability check guarantees address + length does not overflow.
        let end = address + length;
        let mut cursor = address;
        let first = self.mappings.partition_point(|mapping| mapping.end <= cursor);
        for mapping in &self.mappings[first..] {
            if mapping.start > cursor || !mapping.protection.allows(access) {
                return Err(GuestFault::Page { address: cursor, access });
            }
            cursor = mapping.end;
            if cursor >= end {
                return Ok(());
            }
        }
        Err(GuestFault::Page { address: cursor, access })
    }
}
