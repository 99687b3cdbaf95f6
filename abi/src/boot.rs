//! The boot information block.
//!
//! The intravisor writes one [`BootInfo`] near the top of a cVM's stack and enters the
//! program's entry point with its address as the first argument. Every address in it
//! lies inside the cVM's region.

/// `BootInfo::magic`: "ORCBOOT1" in little-endian byte order.
pub const BOOT_MAGIC: u64 = u64::from_le_bytes(*b"ORCBOOT1");
/// `BootInfo::version` of this ABI.
pub const VERSION: u64 = 5;

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
    /// Address of an array of `initializer_count` [`Initializer`]s: what the libOS runs
    /// before `main`, in order (the program's `DT_PREINIT_ARRAY`, then each object's
    /// `DT_INIT` and `DT_INIT_ARRAY`, every object after those it needs).
    pub initializers: u64,
    /// Number of initializers.
    pub initializer_count: u64,
    /// Address of an array of `finalizer_count` [`Initializer`]s: what the libOS runs
    /// when `main` returns, in order (each object's `DT_FINI_ARRAY`, last entry first,
    /// then its `DT_FINI`, every object before those it needs).
    pub finalizers: u64,
    /// Number of finalizers.
    pub finalizer_count: u64,
    /// Address of an array of `tls_module_count` [`TlsModule`]s: the static
    /// thread-local storage every thread of the cVM gets, in module-id order (zero and 0
    /// when no object has any). The C library sets each thread's blocks up by it.
    pub tls_modules: u64,
    /// Number of TLS modules.
    pub tls_module_count: u64,
}

/// One object's thread-local storage block (`PT_TLS`), placed relative to the thread
/// pointer as the loader laid it out (`loader::TlsModule`). musl's `cvm-libc` patch
/// reads this layout as its `struct cvm_tls_module`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlsModule {
    /// Address of the initialisation image (in the object's image).
    pub image: u64,
    /// Bytes of the image each thread's block starts with.
    pub file_size: u64,
    /// Size of the block; past `file_size` it starts zero.
    pub memory_size: u64,
    /// Alignment of the block.
    pub alignment: u64,
    /// Distance from the thread pointer: the block starts at `tp - offset` on x86-64,
    /// `tp + offset` on AArch64.
    pub offset: u64,
}

/// An initializer or finalizer of an object: one function (`count` 0: `DT_INIT`,
/// `DT_FINI`), or an array of `count` function addresses (`DT_INIT_ARRAY`, ...; its
/// entries hold relocated addresses; 0 and all-ones entries are skipped, as glibc does).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Initializer {
    /// The function's address, or the array's.
    pub address: u64,
    /// 0 for one function; else the number of entries of the array.
    pub count: u64,
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
