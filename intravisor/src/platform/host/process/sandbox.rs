//! What the kernel enforces for a cVM's process, decided here once: the program it
//! starts from, the file descriptors and namespaces it gets, and its seccomp filter.
//!
//! - The program is `cvm-process` (`shim.c`), embedded in the intravisor and exec'd
//!   from a sealed memory file: the new process holds nothing of the intravisor.
//! - It is started ahead of need ([`start_idle`], kept by `pool`) with one end of a
//!   socket as its only descriptor; no descriptor of the intravisor survives the exec.
//!   The process asks to be killed if the intravisor's thread that started it ends
//!   (`PR_SET_PDEATHSIG`), gives up core dumps and takes new user, mount, IPC, network,
//!   UTS and cgroup namespaces ([`NAMESPACES`]) where the kernel allows them (the errno
//!   is noted in the gate otherwise, and logged), and a time namespace whose monotonic
//!   and boot clocks start near zero (the host's uptime stays hidden from cVM code that
//!   reads the clock itself; `clock`). The network namespace is one for all
//!   cVM processes where the intravisor may make one (`pool`): an empty one, with its
//!   loopback down, which no cVM process has the capabilities to change. When a cVM is to run, [`Idle::hand`]
//!   sends it the gate, the region and the read-only view of the shared objects; it
//!   takes the processor time limit the deployment sets (`RLIMIT_CPU`).
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

use super::super::merge::MergeFiles;
use super::gate::{Gate, MOST_FILTER};

/// The static program every cVM process starts from.
static PROGRAM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/cvm-process"));

/// Clone flags of a cVM thread: VM, FS, FILES, SIGHAND, THREAD, SYSVSEM, CHILD_CLEARTID
/// and CHILD_SETTID (`THREAD_FLAGS` in `shim.c`).
const THREAD_FLAGS: u64 = 0x0125_0f00;
/// `arch_prctl` code that sets the `fs` base.
#[cfg(target_arch = "x86_64")]
const ARCH_SET_FS: u64 = 0x1002;
/// The first argument of a process started in the shared network namespace (`shim.c`).
const SHARED_NETWORK_ARGUMENT: &str = "shared-network";
/// Namespaces a cVM process gets when the kernel allows (written into the gate).
pub(super) const NAMESPACES: libc::c_int = libc::CLONE_NEWUSER
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

/// The descriptors a process with run-time sharing keeps: its region's file and its
/// group's merged file (`shim.c` agrees).
const MAPPED_REGION_FILE: u64 = 1;
const MAPPED_MERGED_FILE: u64 = 2;
/// The granted files a process reads itself (`shim.c`'s direct reads) are its
/// descriptors from this one on, at most [`MOST_DIRECT_FILES`] of them.
const FIRST_DIRECT_FILE: u64 = 64;
pub(super) const MOST_DIRECT_FILES: usize = 16;

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
            equal(1, SeccompCmpArgLen::Dword, (libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG) as u64)
                .map_err(failed)?,
            equal(1, SeccompCmpArgLen::Dword, (libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG) as u64)
                .map_err(failed)?,
        ],
    );
    rules.insert(libc::SYS_clone, vec![equal(0, SeccompCmpArgLen::Qword, THREAD_FLAGS).map_err(failed)?]);
    // Run-time sharing (`merge`): the process maps a page of its region's file (its
    // descriptor 1) read-write, or of its group's merged file (descriptor 2, opened
    // read-only) readable, shared and at a fixed address; never executable. Both are
    // closed in a process without run-time sharing.
    let condition = |argument: u8, value: u64| {
        SeccompCondition::new(argument, SeccompCmpArgLen::Qword, SeccompCmpOp::Eq, value).map_err(failed)
    };
    let shared_fixed = (libc::MAP_SHARED | libc::MAP_FIXED) as u64;
    let mut mappings = Vec::new();
    for (file, protection) in [
        (MAPPED_REGION_FILE, libc::PROT_READ | libc::PROT_WRITE),
        (MAPPED_REGION_FILE, libc::PROT_READ),
        (MAPPED_MERGED_FILE, libc::PROT_READ),
    ] {
        let conditions =
            vec![condition(2, protection as u64)?, condition(3, shared_fixed)?, condition(4, file)?];
        mappings.push(SeccompRule::new(conditions).map_err(failed)?);
    }
    rules.insert(libc::SYS_mmap, mappings);
    // The clocks a cVM reads (`clock`): monotonic and wall, nothing else.
    rules.insert(
        libc::SYS_clock_gettime,
        vec![
            equal(0, SeccompCmpArgLen::Dword, libc::CLOCK_REALTIME as u64).map_err(failed)?,
            equal(0, SeccompCmpArgLen::Dword, libc::CLOCK_MONOTONIC as u64).map_err(failed)?,
        ],
    );
    // ... and reads a page of the merged file to compare it with its own before mapping
    // it. The process reads the granted regular files it was handed (read-only
    // descriptors, at most MOST_DIRECT_FILES from FIRST_DIRECT_FILE), at any offset: what
    // the Open, Seek and Read hostcalls give it anyway, without the round trip.
    let direct = (FIRST_DIRECT_FILE, FIRST_DIRECT_FILE + MOST_DIRECT_FILES as u64);
    let in_range = vec![
        SeccompCondition::new(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Ge, direct.0).map_err(failed)?,
        SeccompCondition::new(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Lt, direct.1).map_err(failed)?,
    ];
    rules.insert(
        libc::SYS_pread64,
        vec![
            equal(0, SeccompCmpArgLen::Dword, MAPPED_MERGED_FILE).map_err(failed)?,
            SeccompRule::new(in_range).map_err(failed)?,
        ],
    );
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

/// A started `cvm-process` waiting for a cVM: it has its namespaces, and reads the
/// cVM's descriptors from `socket`.
#[derive(Debug)]
pub(super) struct Idle {
    pub(super) child: Child,
    socket: OwnedFd,
}

/// cVM processes started so far ([`start_idle`] calls), by this intravisor.
pub(super) static STARTED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Starts `cvm-process`, with one end of a socket as its descriptor 0 and nothing else
/// (standard output and error are `/dev/null`). With nothing to do between fork and exec,
/// the standard library starts it with `posix_spawn`, without copying the intravisor's
/// page tables; the process sets up the rest itself (`shim.c`).
///
/// `shared_network`: the calling thread is in the empty network namespace all cVM
/// processes share (`pool`), so the process needs no network namespace of its own.
pub(super) fn start_idle(shared_network: bool) -> Result<Idle, String> {
    STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let program = program_file()?;
    let mut ends = [0; 2];
    // SAFETY: socketpair writes two new descriptors into `ends`.
    if unsafe {
        libc::socketpair(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0, ends.as_mut_ptr())
    } != 0
    {
        return Err(format!("cannot make a socket for a cVM process: {}", io::Error::last_os_error()));
    }
    // SAFETY: both descriptors are new and owned by nothing else.
    let (socket, theirs) = unsafe { (OwnedFd::from_raw_fd(ends[0]), OwnedFd::from_raw_fd(ends[1])) };
    let mut command = Command::new(format!("/proc/self/fd/{}", program.as_raw_fd()));
    command.arg0("cvm-process");
    if shared_network {
        command.arg(SHARED_NETWORK_ARGUMENT);
    }
    let child = command
        .env_clear()
        .stdin(Stdio::from(theirs))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|error| format!("cannot start a cVM process: {error}"))?;
    Ok(Idle { child, socket })
}

impl Idle {
    /// The process, not handed a cVM (to be killed).
    pub(super) fn into_child(self) -> Child {
        self.child
    }

    /// Hands the process its cVM: the gate, the region and the read-only view of the
    /// shared objects; with run-time sharing, the group's merged file (read-only) and
    /// the merge map; then the granted files it reads itself (read-only, at most
    /// [`MOST_DIRECT_FILES`], as many as the gate says).
    pub(super) fn hand(
        self,
        gate: &Gate,
        region: BorrowedFd<'_>,
        shared: BorrowedFd<'_>,
        merge: Option<MergeFiles<'_>>,
        direct: &[OwnedFd],
    ) -> Result<Child, String> {
        assert!(direct.len() <= MOST_DIRECT_FILES, "the caller keeps to MOST_DIRECT_FILES");
        let mut files = vec![gate.file().as_raw_fd(), region.as_raw_fd(), shared.as_raw_fd()];
        if let Some(merge) = merge {
            files.extend([merge.merged.as_raw_fd(), merge.map.as_raw_fd()]);
        }
        files.extend(direct.iter().map(AsRawFd::as_raw_fd));
        let files_size = (files.len() * core::mem::size_of::<libc::c_int>()) as u32;
        let byte = [0u8; 1];
        let mut vector = libc::iovec { iov_base: byte.as_ptr() as *mut libc::c_void, iov_len: 1 };
        // SAFETY: CMSG_SPACE is a size computation.
        let space = unsafe { libc::CMSG_SPACE(files_size) } as usize;
        let mut control = vec![0u64; space.div_ceil(8)];
        // SAFETY: msghdr is plain data; all-zero is a valid empty header.
        let mut header: libc::msghdr = unsafe { core::mem::zeroed() };
        header.msg_iov = &mut vector;
        header.msg_iovlen = 1;
        header.msg_control = control.as_mut_ptr().cast();
        header.msg_controllen = space as _;
        // SAFETY: the header names `control`, which has room for one control message with
        // the descriptors (CMSG_SPACE); CMSG_FIRSTHDR points into it and CMSG_DATA past
        // its header, where the descriptors are copied.
        unsafe {
            let message = libc::CMSG_FIRSTHDR(&header);
            (*message).cmsg_level = libc::SOL_SOCKET;
            (*message).cmsg_type = libc::SCM_RIGHTS;
            (*message).cmsg_len = libc::CMSG_LEN(files_size) as _;
            core::ptr::copy_nonoverlapping(
                files.as_ptr(),
                libc::CMSG_DATA(message).cast::<libc::c_int>(),
                files.len(),
            );
        }
        // SAFETY: sendmsg reads the header, the byte and the control message set up above.
        let sent = unsafe { libc::sendmsg(self.socket.as_raw_fd(), &header, libc::MSG_NOSIGNAL) };
        let mut child = self.child;
        if sent != 1 {
            let error = io::Error::last_os_error();
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("cannot hand a cVM to its process: {error}"));
        }
        Ok(child)
    }
}
