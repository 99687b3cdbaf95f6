//! The boot information block.
//!
//! The intravisor writes one [`BootInfo`] near the top of a cVM's stack and enters the
//! program's entry point with its address as the first argument. Every address in it
//! lies inside the cVM's region.

/// `BootInfo::magic`: "ORCBOOT1" in little-endian byte order.
pub const BOOT_MAGIC: u64 = u64::from_le_bytes(*b"ORCBOOT1");
/// `BootInfo::version` of this ABI.
pub const VERSION: u64 = 3;

/// What a cVM learns about itself when it starts.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BootInfo {
    /// [`BOOT_MAGIC`].
    pub magic: u64,
    /// [`VERSION`].
    pub version: u64,
    /// Address of the hostcall entry:
    /// `extern "C" fn(number, a0, a1, a2, a3, a4) -> i64`. Zero on platforms where a
    /// hostcall is a supervisor call (`svc #0` with the number in x8).
    pub hostcall_entry: u64,
    /// First byte of the cVM's region.
    pub region_base: u64,
    /// Size of the region in bytes.
    pub region_size: u64,
    /// First byte of the heap the cVM may allocate from.
    pub heap_base: u64,
    /// Size of the heap in bytes.
    pub heap_size: u64,
    /// Number of arguments, the program name (the cVM's name) included.
    pub argc: u64,
    /// Address of an array of `argc` pointers to NUL-terminated strings, then a null.
    pub argv: u64,
    /// Address of the cVM's name, NUL-terminated.
    pub name: u64,
    /// Address of the cVM's compartment-local storage table ([`crate::ClsTable`]).
    pub cls_table: u64,
    /// Address of an array of `entry_count` [`EntryPoint`]s: the functions of the
    /// purecap objects the cVM enters (zero and 0 when it enters none).
    pub entries: u64,
    /// Number of entries.
    pub entry_count: u64,
}

/// A function of a purecap object the cVM may enter, and the sealed entry capability
/// that enters it (on Morello; the slot is all zero, untagged, elsewhere).
#[repr(C, align(16))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryPoint {
    /// Address of the function's name, NUL-terminated.
    pub name: u64,
    /// Length of the name in bytes, the NUL excluded.
    pub name_length: u64,
    /// The entry capability's 16 bytes (its tag is in the tag memory).
    pub capability: [u64; 2],
}
