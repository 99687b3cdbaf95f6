//! What became of a cVM, as its report says it: refused before it started, or ended
//! (exited, returned, faulted, killed at a limit the kernel or the intravisor holds).

use crate::config::CvmConfig;
use crate::hostcall::OverLimit;
use crate::platform::{CvmStop, ProcessMemory};
use crate::report::{CvmKernelMemory, CvmReport, FaultReport, Status};

/// The report of a cVM that never started, and why.
pub(crate) fn refused(cvm: &CvmConfig, reason: String) -> CvmReport {
    log::warn!("cVM `{}` refused: {reason}", cvm.name);
    CvmReport {
        name: cvm.name.clone(),
        tenant: cvm.tenant.clone(),
        status: Status::Refused,
        exit_code: None,
        fault: None,
        reason: Some(reason),
        private_bytes: 0,
        cls_bytes: 0,
        threads: 0,
        objects: Vec::new(),
        run_time_shared_bytes: 0,
        run_time_given_back_bytes: 0,
        kernel: None,
    }
}

/// The report of a cVM that ran `threads` threads and stopped with `stop`; `memory`:
/// its process's peak, as the kernel counts it; `over_limit`: the write limit that
/// ended it, if one did (its platform saw that as an exit).
pub(crate) fn ended(
    cvm: &CvmConfig,
    stop: CvmStop,
    threads: u64,
    memory: Option<ProcessMemory>,
    over_limit: Option<OverLimit>,
) -> CvmReport {
    let mut report = CvmReport {
        name: cvm.name.clone(),
        tenant: cvm.tenant.clone(),
        status: Status::Exited,
        exit_code: None,
        fault: None,
        reason: None,
        private_bytes: 0,
        cls_bytes: 0,
        threads,
        objects: Vec::new(),
        run_time_shared_bytes: 0,
        run_time_given_back_bytes: 0,
        kernel: memory.map(|memory| CvmKernelMemory {
            peak_pss: memory.pss,
            rss: memory.rss,
            private: memory.private,
            shared: memory.rss.saturating_sub(memory.private),
        }),
    };
    match stop {
        CvmStop::Exited(status) => report.exit_code = Some(status),
        CvmStop::Returned(value) => report.exit_code = Some(value as i32),
        CvmStop::Faulted(fault) => {
            log::warn!(
                "cVM `{}` faulted: {} at {:#x} (instruction at {:#x})",
                cvm.name,
                fault.cause(),
                fault.address,
                fault.program_counter
            );
            report.status = Status::Faulted;
            report.fault = Some(FaultReport {
                cause: fault.cause().to_string(),
                address: fault.address,
                pc: fault.program_counter,
                signal: fault.signal,
            });
        }
        CvmStop::HandlerPanicked => {
            report.status = Status::Faulted;
            report.reason = Some("the intravisor failed while serving one of its hostcalls".to_string());
        }
        CvmStop::Killed(limit) => {
            log::warn!("cVM `{}` killed at {limit}", cvm.name);
            report.status = Status::Killed;
            report.reason = Some(format!("killed at {limit}"));
        }
    }
    // A write past one of its limits ended it (as an exit would end it).
    if let Some(over) = over_limit {
        log::warn!("cVM `{}` killed at {over}", cvm.name);
        report.status = Status::Killed;
        report.exit_code = None;
        report.reason = Some(format!("killed at {over}"));
    }
    report
}
