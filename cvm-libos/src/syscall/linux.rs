//! What Linux's C-library interface looks like on the target architecture: its system
//! call numbers and the layout of `struct stat` (x86-64's own table; AArch64's, the
//! generic one).

/// Linux system call numbers of the target architecture.
#[cfg(target_arch = "x86_64")]
pub(super) mod number {
    pub const READ: i64 = 0;
    pub const WRITE: i64 = 1;
    pub const OPEN: i64 = 2;
    pub const CLOSE: i64 = 3;
    pub const STAT: i64 = 4;
    pub const LSTAT: i64 = 6;
    pub const PREAD64: i64 = 17;
    pub const PWRITE64: i64 = 18;
    pub const FSYNC: i64 = 74;
    pub const FDATASYNC: i64 = 75;
    pub const FTRUNCATE: i64 = 77;
    pub const GETCWD: i64 = 79;
    pub const UNLINK: i64 = 87;
    pub const UNLINKAT: i64 = 263;
    pub const FSTAT: i64 = 5;
    pub const ACCESS: i64 = 21;
    pub const LSEEK: i64 = 8;
    pub const MMAP: i64 = 9;
    pub const MPROTECT: i64 = 10;
    pub const MUNMAP: i64 = 11;
    pub const BRK: i64 = 12;
    pub const RT_SIGACTION: i64 = 13;
    pub const RT_SIGPROCMASK: i64 = 14;
    pub const IOCTL: i64 = 16;
    pub const READV: i64 = 19;
    pub const WRITEV: i64 = 20;
    pub const MREMAP: i64 = 25;
    pub const MADVISE: i64 = 28;
    pub const GETPID: i64 = 39;
    pub const GETUID: i64 = 102;
    pub const GETGID: i64 = 104;
    pub const GETEUID: i64 = 107;
    pub const GETEGID: i64 = 108;
    pub const EXIT: i64 = 60;
    pub const FCNTL: i64 = 72;
    pub const GETRUSAGE: i64 = 98;
    pub const GETTID: i64 = 186;
    pub const TKILL: i64 = 200;
    pub const SET_TID_ADDRESS: i64 = 218;
    pub const CLOCK_GETTIME: i64 = 228;
    pub const EXIT_GROUP: i64 = 231;
    pub const OPENAT: i64 = 257;
    pub const NEWFSTATAT: i64 = 262;
    pub const FACCESSAT: i64 = 269;
    pub const GETRANDOM: i64 = 318;
    pub const CLONE: i64 = 56;
    pub const FUTEX: i64 = 202;
    pub const SCHED_YIELD: i64 = 24;
    pub const SCHED_GETAFFINITY: i64 = 204;
    pub const NANOSLEEP: i64 = 35;
    pub const CLOCK_NANOSLEEP: i64 = 230;
    pub const MEMBARRIER: i64 = 324;
}

/// `struct stat` on x86-64: where `st_nlink`, `st_mode`, `st_size` and `st_blksize`
/// are, and its size.
#[cfg(target_arch = "x86_64")]
pub(super) mod stat {
    pub const LINKS: usize = 16;
    pub const MODE: usize = 24;
    pub const SIZE: usize = 48;
    pub const BLOCK_SIZE: usize = 56;
    pub const BYTES: usize = 144;
}

/// Linux system call numbers of the target architecture (the generic table).
#[cfg(target_arch = "aarch64")]
pub(super) mod number {
    pub const READ: i64 = 63;
    pub const WRITE: i64 = 64;
    pub const CLOSE: i64 = 57;
    pub const FSTAT: i64 = 80;
    pub const PREAD64: i64 = 67;
    pub const PWRITE64: i64 = 68;
    pub const FSYNC: i64 = 82;
    pub const FDATASYNC: i64 = 83;
    pub const FTRUNCATE: i64 = 46;
    pub const GETCWD: i64 = 17;
    pub const UNLINKAT: i64 = 35;
    pub const FACCESSAT: i64 = 48;
    pub const LSEEK: i64 = 62;
    pub const MMAP: i64 = 222;
    pub const MPROTECT: i64 = 226;
    pub const MUNMAP: i64 = 215;
    pub const BRK: i64 = 214;
    pub const RT_SIGACTION: i64 = 134;
    pub const RT_SIGPROCMASK: i64 = 135;
    pub const IOCTL: i64 = 29;
    pub const READV: i64 = 65;
    pub const WRITEV: i64 = 66;
    pub const MREMAP: i64 = 216;
    pub const MADVISE: i64 = 233;
    pub const GETPID: i64 = 172;
    pub const GETUID: i64 = 174;
    pub const GETEUID: i64 = 175;
    pub const GETGID: i64 = 176;
    pub const GETEGID: i64 = 177;
    pub const EXIT: i64 = 93;
    pub const FCNTL: i64 = 25;
    pub const GETRUSAGE: i64 = 165;
    pub const GETTID: i64 = 178;
    pub const TKILL: i64 = 130;
    pub const SET_TID_ADDRESS: i64 = 96;
    pub const CLOCK_GETTIME: i64 = 113;
    pub const EXIT_GROUP: i64 = 94;
    pub const OPENAT: i64 = 56;
    pub const NEWFSTATAT: i64 = 79;
    pub const GETRANDOM: i64 = 278;
    pub const CLONE: i64 = 220;
    pub const FUTEX: i64 = 98;
    pub const SCHED_YIELD: i64 = 124;
    pub const SCHED_GETAFFINITY: i64 = 123;
    pub const NANOSLEEP: i64 = 101;
    pub const CLOCK_NANOSLEEP: i64 = 115;
    pub const MEMBARRIER: i64 = 283;
}

/// `struct stat` of the generic table (AArch64).
#[cfg(target_arch = "aarch64")]
pub(super) mod stat {
    pub const LINKS: usize = 20;
    pub const MODE: usize = 16;
    pub const SIZE: usize = 48;
    pub const BLOCK_SIZE: usize = 56;
    pub const BYTES: usize = 128;
}
