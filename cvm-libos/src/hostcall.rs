//! The raw hostcall: how a cVM reaches the intravisor.
//!
//! On the host platform the boot block carries the address of the intravisor's hostcall
//! entry, called as an ordinary C function. Where that address is zero (bare metal), a
//! hostcall is `svc #0` with the number in x8 and the arguments in x0..x4.

use core::sync::atomic::{AtomicU64, Ordering};

use abi::{Errno, Hostcall};

use crate::cls::local;

/// The hostcall entry the boot block named; zero means "use a supervisor call".
#[link_section = ".cls.data"]
static ENTRY: AtomicU64 = AtomicU64::new(0);

/// A hostcall that failed, with the error the intravisor returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostcallError(pub i64);

impl HostcallError {
    /// The error as an [`Errno`], when it is one the ABI knows.
    pub fn errno(self) -> Option<Errno> {
        Errno::from_return(self.0)
    }
}

/// Records the hostcall entry from the boot block. Called once by `_start`.
#[cfg_attr(
    not(target_os = "none"),
    expect(dead_code, reason = "called by `_start`, which only cVM builds have")
)]
pub(crate) fn set_entry(entry: u64) {
    local(&ENTRY).store(entry, Ordering::Relaxed);
}

/// Makes hostcall `number` with five arguments and returns the intravisor's answer
/// unchanged: non-negative on success, a negated errno on failure.
pub fn raw(number: Hostcall, arguments: [u64; 5]) -> i64 {
    let entry = local(&ENTRY).load(Ordering::Relaxed);
    if entry != 0 {
        // SAFETY: `entry` is the hostcall entry the intravisor wrote into the boot
        // block, an `extern "C"` function with exactly this signature; `_start`
        // checked the block's magic and version before storing it.
        let function: extern "C" fn(u64, u64, u64, u64, u64, u64) -> i64 =
            unsafe { core::mem::transmute(entry as usize) };
        return function(number as u64, arguments[0], arguments[1], arguments[2], arguments[3], arguments[4]);
    }
    supervisor_call(number as u64, arguments)
}

/// Makes a hostcall and turns a negative answer into an error.
pub fn call(number: Hostcall, arguments: [u64; 5]) -> Result<u64, HostcallError> {
    let answer = raw(number, arguments);
    if answer < 0 {
        Err(HostcallError(answer))
    } else {
        Ok(answer as u64)
    }
}

#[cfg(target_arch = "aarch64")]
fn supervisor_call(number: u64, arguments: [u64; 5]) -> i64 {
    let answer: i64;
    // SAFETY: `svc #0` traps to the intravisor, which reads x8 and x0..x4 and writes
    // x0; it changes no other register and no memory it has not checked against this
    // cVM's capabilities.
    unsafe {
        core::arch::asm!(
            "svc #0",
            in("x8") number,
            inlateout("x0") arguments[0] => answer,
            in("x1") arguments[1],
            in("x2") arguments[2],
            in("x3") arguments[3],
            in("x4") arguments[4],
            options(nostack),
        );
    }
    answer
}

#[cfg(not(target_arch = "aarch64"))]
fn supervisor_call(_number: u64, _arguments: [u64; 5]) -> i64 {
    // No supervisor-call path on this architecture: a boot block without a hostcall
    // entry cannot come from an intravisor for it.
    Errno::NoSys.as_return()
}
