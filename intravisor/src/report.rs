//! The JSON report of a run: what became of every cVM, and which objects were used.
//!
//! `{"cvms": [...], "objects": [...], "kernel": {...}}`; later issues add fields, these
//! stay. The intravisor's own accounting (bytes it mapped, shared and private) sits
//! beside the kernel's view of the intravisor and its cVM processes (Rss and Pss from
//! their `smaps_rollup`) so the two can be compared.

use serde::Serialize;

/// What became of a cVM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// It ran and exited (with any status).
    Exited,
    /// It faulted and was ended.
    Faulted,
    /// It was never started: its objects, plan or region were refused.
    Refused,
    /// The kernel ended it at a limit it holds (`reason` names the limit).
    Killed,
}

/// A fault that ended a cVM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct FaultReport {
    /// What happened, in words.
    pub cause: String,
    /// The faulting address.
    pub address: u64,
    /// The address of the faulting instruction.
    pub pc: u64,
    /// The signal the host raised.
    pub signal: i32,
}

/// One cVM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct CvmReport {
    /// Its name.
    pub name: String,
    /// Its tenant.
    pub tenant: String,
    /// What became of it.
    pub status: Status,
    /// Its exit status, when it exited.
    pub exit_code: Option<i32>,
    /// The fault, when it faulted.
    pub fault: Option<FaultReport>,
    /// Why it was refused, when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Bytes of its region the intravisor filled for it alone: private object images,
    /// CLS instances and the CLS table (heap and stack pages come as it touches them).
    pub private_bytes: u64,
    /// Bytes of its CLS instances (its copies of shared objects' writable globals).
    pub cls_bytes: u64,
    /// How many threads it ran, the first included (0 when it never ran).
    pub threads: u64,
    /// The objects it used.
    pub objects: Vec<ObjectUse>,
    /// Bytes of its region merged with its group's at run time (its tenant's
    /// `run_time_sharing`), at the most: pages it held like every other cVM of its
    /// program and objects, one copy-on-write copy for all of them.
    pub run_time_shared_bytes: u64,
    /// Bytes of its region given back at run time (with `run_time_sharing`), at the
    /// most: pages of zeros it held where the others did not.
    pub run_time_given_back_bytes: u64,
    /// What the kernel counted of its process's memory (none in the in-process mode, or
    /// for a cVM that ended before its first sample, 2 ms after it started).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel: Option<CvmKernelMemory>,
}

/// The kernel's view of one cVM's process (`/proc/PID/smaps_rollup`), sampled 2 ms
/// after it started, then after waits that double up to a second while it runs: the
/// sample with the highest Pss.
/// The process maps its region and the shared objects it uses; Pss divides each shared
/// page among the processes that map it (the intravisor maps all of them too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct CvmKernelMemory {
    /// Its proportional set size, in bytes.
    pub peak_pss: u64,
    /// Its resident bytes then.
    pub rss: u64,
    /// Of those, the bytes no other process maps.
    pub private: u64,
    /// And the bytes it shares (objects, pages the intravisor also touched).
    pub shared: u64,
}

/// One object a cVM used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ObjectUse {
    /// Its file name.
    pub name: String,
    /// SHA-256 of its bytes.
    pub sha256: String,
    /// The shared copy it used (an identifier unique in the run), or `None` for a
    /// private copy in its own region.
    pub copy: Option<u64>,
    /// The tenant whose copy it is: the publisher's when shared across tenants.
    pub owner: String,
    /// Bytes of that copy's image.
    pub bytes: u64,
}

/// One object file the deployment used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ObjectReport {
    /// Its file name.
    pub name: String,
    /// SHA-256 of its bytes, in hexadecimal.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// How many copies of it were loaded: once when shared, once per cVM when private.
    pub loads: u64,
    /// How many cVMs used it.
    pub users: u64,
    /// Bytes of its shared copies (0 when it was only loaded privately).
    pub shared_bytes: u64,
}

/// The kernel's view of the intravisor process.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KernelMemory {
    /// Rss before any cVM was built, in bytes.
    pub baseline_rss: u64,
    /// Pss before any cVM was built, in bytes.
    pub baseline_pss: u64,
    /// The highest Rss seen while cVMs ran, in bytes.
    pub peak_rss: u64,
    /// The highest Pss seen while cVMs ran, in bytes.
    pub peak_pss: u64,
}

/// A whole run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Every cVM, in deployment order.
    pub cvms: Vec<CvmReport>,
    /// Every distinct object file, by name.
    pub objects: Vec<ObjectReport>,
    /// The kernel's view of the process (`/proc/self/smaps_rollup`).
    pub kernel: KernelMemory,
    /// What each tenant sees (`crate::tenants`).
    pub tenants: Vec<crate::tenants::TenantReport>,
}

impl Report {
    /// True when every cVM ran and exited.
    pub fn all_exited(&self) -> bool {
        self.cvms.iter().all(|cvm| cvm.status == Status::Exited)
    }
}
