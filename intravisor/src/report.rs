//! The JSON report of a run: what became of every cVM, and which objects were used.
//!
//! `{"cvms": [...], "objects": [...]}`; later issues add fields, these stay.

use serde::Serialize;

/// What became of a cVM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// It ran and exited (with any status).
    Exited,
    /// It faulted and was ended.
    Faulted,
    /// It was never started: its objects, plan or region were refused.
    Refused,
}

/// A fault that ended a cVM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
}

/// One object file the deployment used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectReport {
    /// Its file name.
    pub name: String,
    /// SHA-256 of its bytes, in hexadecimal.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
}

/// A whole run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Every cVM, in deployment order.
    pub cvms: Vec<CvmReport>,
    /// Every distinct object file, by name.
    pub objects: Vec<ObjectReport>,
}

impl Report {
    /// True when every cVM ran and exited.
    pub fn all_exited(&self) -> bool {
        self.cvms.iter().all(|cvm| cvm.status == Status::Exited)
    }
}
