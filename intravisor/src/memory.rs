//! What the platform-independent code needs of cVM memory: page protections, copies in
//! and out, and scrubbing. The host's arena (`mmap`/`mprotect`) and the bare-metal
//! arena (page tables) both provide it; everything above them (instantiating a cVM,
//! loading shared objects) is written once against this trait.

use core::fmt::Display;

use crate::guest::Protection;

/// The arena of cVM memory.
pub trait RegionMemory {
    /// Why an operation failed.
    type Error: Display;

    /// Gives the pages `[start, end)` a protection.
    fn protect(&self, start: u64, end: u64, protection: Protection) -> Result<(), Self::Error>;
    /// Copies `bytes` to `address` (the pages are writable).
    fn write(&self, address: u64, bytes: &[u8]) -> Result<(), Self::Error>;
    /// Copies from `address` into `buffer` (the pages are readable).
    fn read(&self, address: u64, buffer: &mut [u8]) -> Result<(), Self::Error>;
    /// Zeroes `[start, end)` and makes it inaccessible.
    fn scrub(&self, start: u64, end: u64) -> Result<(), Self::Error>;
    /// Gives a region just handed out (`[start, end)`, inaccessible, unused) whatever
    /// backing a cVM's own process needs to map it; most arenas need nothing.
    fn back_region(&self, start: u64, end: u64) -> Result<(), Self::Error> {
        let _ = (start, end);
        Ok(())
    }
}
