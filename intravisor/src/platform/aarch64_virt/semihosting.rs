//! Files on the host running QEMU, through Arm semihosting (QEMU's `-semihosting`): how
//! a bare-metal image writes its cVMs' outputs where the host can check them.
//!
//! Each call is `hlt #0xf000` with the operation in x0 and the address of its parameter
//! block in x1; the answer comes back in x0. Only the operations the output files need
//! are here: open for writing, write, seek, length, close.

/// A host file opened through semihosting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostFile(u64);

/// A semihosting call failed (the host refused it, or QEMU runs without semihosting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SemihostingError;

const SYS_OPEN: u64 = 0x01;
const SYS_CLOSE: u64 = 0x02;
const SYS_WRITE: u64 = 0x05;
const SYS_SEEK: u64 = 0x0a;
const SYS_FLEN: u64 = 0x0c;
/// `SYS_OPEN` mode "wb": create or truncate, binary.
const MODE_WRITE_BINARY: u64 = 5;

fn call(operation: u64, block: &[u64]) -> u64 {
    let answer: u64;
    // SAFETY: the semihosting call reads the parameter block (and the memory it names,
    // which the caller keeps alive) and writes only x0.
    unsafe {
        core::arch::asm!("hlt #0xf000", inlateout("x0") operation => answer, in("x1") block.as_ptr(), options(nostack));
    }
    answer
}

impl HostFile {
    /// Creates (or truncates) the host file at `path`.
    pub fn create(path: &str) -> Result<Self, SemihostingError> {
        let mut text = alloc::vec::Vec::with_capacity(path.len() + 1);
        text.extend_from_slice(path.as_bytes());
        text.push(0);
        let handle = call(SYS_OPEN, &[text.as_ptr() as u64, MODE_WRITE_BINARY, path.len() as u64]);
        if handle as i64 == -1 {
            Err(SemihostingError)
        } else {
            Ok(Self(handle))
        }
    }

    /// Writes all of `bytes` at the file's position.
    pub fn write(self, bytes: &[u8]) -> Result<(), SemihostingError> {
        // The answer is the number of bytes *not* written.
        match call(SYS_WRITE, &[self.0, bytes.as_ptr() as u64, bytes.len() as u64]) {
            0 => Ok(()),
            _ => Err(SemihostingError),
        }
    }

    /// Moves the position to `offset` from the start.
    pub fn seek(self, offset: u64) -> Result<(), SemihostingError> {
        match call(SYS_SEEK, &[self.0, offset]) {
            0 => Ok(()),
            _ => Err(SemihostingError),
        }
    }

    /// The file's length.
    pub fn length(self) -> Result<u64, SemihostingError> {
        match call(SYS_FLEN, &[self.0]) as i64 {
            -1 => Err(SemihostingError),
            length => Ok(length as u64),
        }
    }

    /// Closes the file.
    pub fn close(self) {
        call(SYS_CLOSE, &[self.0]);
    }
}
