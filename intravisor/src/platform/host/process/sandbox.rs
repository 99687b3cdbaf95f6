//! What the kernel enforces for a cVM's process, decided here once: the program it
//! starts from, the file descriptors and namespaces it gets, and its seccomp filter.
//!
//! - The program is `cvm-process` (`shim.c`), embedded in the intravisor and exec'd
//!   from a sealed memory file: the new process holds nothing of the intravisor.
//! - Before the exec (in the forked child, with async-signal-safe calls only): the gate,
//!   the region and the read-only view of the shared objects become descriptors 3, 4
//!   and 5, and no other descriptor survives the exec; the process is killed if the
//!   intravisor's thread that started it ends (`PR_SET_PDEATHSIG`); it may not dump
//!   core; its processor time is limited where the deployment says so
//!   (`RLIMIT_CPU`); it gets new user, mount, IPC, network, UTS and cgroup namespaces where the
//!   kernel allows them (the errno is noted in the gate otherwise, and logged).
//! - The seccomp filter (compiled once with `seccompiler`, installed by the process
//!   itself before it enters the cVM): futex waits and wakes, the thread's own id,
//!   `clone` with exactly the flags of a cVM thread, the thread pointer (`arch_prctl
//!   ARCH_SET_FS` on x86-64), a signal stack, `rt_sigreturn`, `sched_yield`, and the
//!   exits. Any other call traps, and the trap ends the cVM as a fault naming the call.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use seccompiler::{
    SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule, TargetArch,
};

use super::gate::{header, Gate, MOST_FILTER};

/// The static program every cVM process starts from.
static PROGRAM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/cvm-process"));

/// Clone flags of a cVM thread: VM, FS, FILES, SIGHAND, THREAD, SYSVSEM, CHILD_CLEARTID
/// and CHILD_SETTID (`THREAD_FLAGS` in `shim.c`).
const THREAD_FLAGS: u64 = 0x0125_0f00;
/// `arch_prctl` code that sets the `fs` base.
#[cfg(target_arch = "x86_64")]
const ARCH_SET_FS: u64 = 0x1002;
/// Namespaces a cVM process gets when the kernel allows.
const NAMESPACES: libc::c_int = libc::CLONE_NEWUSER
    | libc::CLONE_NEWNS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWNET
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWCGROUP;

/// The seccomp filter of every cVM process, as the gate carries it: one word per BPF
/// instruction.
pub(super) fn filter() -> Result<&'static [u64], String> {
    static FILTER: OnceLock<Result<Vec<u64>, String>> = OnceLock::new();
    FILTER.get_or_init(compile_filter).as_ref().map(Vec::as_slice).map_err(Clone::clone)
}

fn compile_filter() -> Result<Vec<u64>, String> {
    let failed =
        |error: seccompiler::BackendError| format!("the cVM seccomp filter does not compile: {error}");
    let equal = |argument: u8, length: SeccompCmpArgLen, value: u64| {
        SeccompCondition::new(argument, length, SeccompCmpOp::Eq, value)
            .and_then(|condition| SeccompRule::new(vec![condition]))
    };
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for call in [
        libc::SYS_gettid,
        libc::SYS_exit,
        libc::SYS_exit_group,
        libc::SYS_rt_sigreturn,
        libc::SYS_sigaltstack,
        libc::SYS_sched_yield,
        libc::SYS_restart_syscall,
    ] {
        rules.insert(call, Vec::new());
    }
    rules.insert(
        libc::SYS_futex,
        vec![
            equal(1, SeccompCmpArgLen::Dword, libc::FUTEX_WAIT as u64).map_err(failed)?,
            equal(1, SeccompCmpArgLen::Dword, libc::FUTEX_WAKE as u64).map_err(failed)?,
        ],
    );
    rules.insert(libc::SYS_clone, vec![equal(0, SeccompCmpArgLen::Qword, THREAD_FLAGS).map_err(failed)?]);
    #[cfg(target_arch = "x86_64")]
    rules.insert(libc::SYS_arch_prctl, vec![equal(0, SeccompCmpArgLen::Dword, ARCH_SET_FS).map_err(failed)?]);
    let architecture = if cfg!(target_arch = "x86_64") { TargetArch::x86_64 } else { TargetArch::aarch64 };
    let filter =
        SeccompFilter::new(rules, SeccompAction::Trap, SeccompAction::Allow, architecture).map_err(failed)?;
    let program: seccompiler::BpfProgram = filter.try_into().map_err(failed)?;
    if program.len() > MOST_FILTER {
        return Err(format!(
            "the cVM seccomp filter has {} instructions, more than {MOST_FILTER}",
            program.len()
        ));
    }
    Ok(program
        .iter()
        .map(|instruction| {
            u64::from(instruction.code)
                | u64::from(instruction.jt) << 16
                | u64::from(instruction.jf) << 24
                | u64::from(instruction.k) << 32
        })
        .collect())
}

/// The sealed, read-only memory file holding `cvm-process`, made once.
fn program_file() -> Result<&'static OwnedFd, String> {
    static FILE: OnceLock<Result<OwnedFd, String>> = OnceLock::new();
    FILE.get_or_init(|| {
        seal_program().map_err(|error| format!("cannot prepare the cVM process program: {error}"))
    })
    .as_ref()
    .map_err(Clone::clone)
}

fn seal_program() -> io::Result<OwnedFd> {
    const MFD_EXEC: libc::c_uint = 0x10;
    let flags = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    // SAFETY: memfd_create takes a NUL-terminated name and flags; it returns a new fd.
    let mut raw = unsafe { libc::memfd_create(c"cvm-process".as_ptr(), flags | MFD_EXEC) };
    if raw < 0 {
        // Kernels before 6.3 do not know MFD_EXEC; their memory files are executable.
        // SAFETY: as above.
        raw = unsafe { libc::memfd_create(c"cvm-process".as_ptr(), flags) };
    }
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` is a new descriptor that nothing else owns.
    let writable = unsafe { OwnedFd::from_raw_fd(raw) };
    std::fs::File::from(writable.try_clone()?).write_all(PROGRAM)?;
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    // SAFETY: fcntl(F_ADD_SEALS) on our own memory file.
    if unsafe { libc::fcntl(writable.as_raw_fd(), libc::F_ADD_SEALS, seals) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // A file open for writing cannot be exec'd: keep a read-only descriptor only.
    let read_only = std::fs::File::open(format!("/proc/self/fd/{}", writable.as_raw_fd()))?;
    Ok(OwnedFd::from(read_only))
}

/// A descriptor of `file` numbered 10 or more (close-on-exec), so that moving the three
/// descriptors to 3, 4 and 5 in the child never overwrites one of them.
fn high_copy(file: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC makes a new descriptor of an open file.
    let raw = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 10) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` is a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// Starts `cvm-process` for the cVM whose gate is `gate`, with its region and the
/// read-only view of the shared objects.
pub(super) fn spawn(
    gate: &Gate,
    region: BorrowedFd<'_>,
    shared: BorrowedFd<'_>,
    cpu_seconds: Option<u64>,
) -> Result<Child, String> {
    let program = program_file()?;
    let copy =
        |file| high_copy(file).map_err(|error| format!("cannot pass a file to the cVM process: {error}"));
    let files = [copy(gate.file())?, copy(region)?, copy(shared)?];
    let raw: [libc::c_int; 3] = [files[0].as_raw_fd(), files[1].as_raw_fd(), files[2].as_raw_fd()];
    let namespaces_word = gate.word_address(header::NAMESPACES);
    let mut command = Command::new(format!("/proc/self/fd/{}", program.as_raw_fd()));
    command.arg0("cvm-process").env_clear().stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    // SAFETY: the closure runs in the forked child before exec and makes only
    // async-signal-safe system calls (dup2, prctl, setrlimit, unshare) and one store into
    // the gate, a shared mapping that stays valid in the child.
    unsafe {
        command.pre_exec(move || {
            for (target, source) in raw.iter().enumerate() {
                if libc::dup2(*source, 3 + target as libc::c_int) < 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
            let no_core = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
            libc::setrlimit(libc::RLIMIT_CORE, &no_core);
            if let Some(seconds) = cpu_seconds {
                // SIGXCPU at the limit ends the process (it has no handler for it); the
                // hard limit one second later kills it whatever it does.
                let cpu = libc::rlimit { rlim_cur: seconds, rlim_max: seconds + 1 };
                if libc::setrlimit(libc::RLIMIT_CPU, &cpu) != 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            let refused = if libc::unshare(NAMESPACES) == 0 {
                0
            } else {
                io::Error::last_os_error().raw_os_error().unwrap_or(libc::EINVAL) as u64
            };
            (*(namespaces_word as *const std::sync::atomic::AtomicU64))
                .store(refused, std::sync::atomic::Ordering::Release);
            Ok(())
        })
    };
    let child = command.spawn().map_err(|error| format!("cannot start the cVM process: {error}"))?;
    drop(files);
    Ok(child)
}
