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

    /// The pages `[start, end)` of a shared object are about to be written: where they
    /// live in a file on disk, their room is taken now, so that a full disk is an error
    /// rather than a fault as they are written; most arenas need nothing.
    fn take_room(&self, start: u64, end: u64) -> Result<(), Self::Error> {
        let _ = (start, end);
        Ok(())
    }

    /// The intravisor is done writing `[start, end)`, a loaded object: where its pages
    /// live on in a file that cVMs map, the intravisor's own view of them may go, so
    /// that it holds none that no cVM uses; most arenas need nothing.
    fn drop_view(&self, start: u64, end: u64) -> Result<(), Self::Error> {
        let _ = (start, end);
        Ok(())
    }

    /// Writes `bytes` at `address` of memory that is still zero (just handed out, or
    /// scrubbed), page by page of the destination, leaving out pages whose bytes are all
    /// zero: they stay untouched, not resident, until a cVM writes them (most of a
    /// `.cls.bss` template, say).
    fn write_nonzero(&self, address: u64, bytes: &[u8]) -> Result<(), Self::Error> {
        let mut done = 0usize;
        while done < bytes.len() {
            let at = address + done as u64;
            let room = (at.next_multiple_of(crate::region::PAGE_SIZE) - at) as usize;
            let room = if room == 0 { crate::region::PAGE_SIZE as usize } else { room };
            let chunk = &bytes[done..(done + room).min(bytes.len())];
            if !is_zero(chunk) {
                self.write(at, chunk)?;
            }
            done += chunk.len();
        }
        Ok(())
    }
}

/// Whether every byte of `bytes` is zero, eight at a time (a page of a template per
/// call: megabytes per cVM built).
fn is_zero(bytes: &[u8]) -> bool {
    let mut words = bytes.chunks_exact(8);
    let words_zero = words.by_ref().all(|word| {
        u64::from_ne_bytes([word[0], word[1], word[2], word[3], word[4], word[5], word[6], word[7]]) == 0
    });
    words_zero && words.remainder().iter().all(|&byte| byte == 0)
}

#[cfg(test)]
mod tests {
    use core::cell::RefCell;

    use super::RegionMemory;
    use crate::guest::Protection;

    /// Records the writes made to it.
    #[derive(Default)]
    struct Recorder(RefCell<Vec<(u64, Vec<u8>)>>);

    impl RegionMemory for Recorder {
        type Error = &'static str;
        fn protect(&self, _: u64, _: u64, _: Protection) -> Result<(), Self::Error> {
            Ok(())
        }
        fn write(&self, address: u64, bytes: &[u8]) -> Result<(), Self::Error> {
            self.0.borrow_mut().push((address, bytes.to_vec()));
            Ok(())
        }
        fn read(&self, _: u64, _: &mut [u8]) -> Result<(), Self::Error> {
            Err("not read here")
        }
        fn scrub(&self, _: u64, _: u64) -> Result<(), Self::Error> {
            Ok(())
        }
    }

    #[test]
    fn only_destination_pages_holding_a_nonzero_byte_are_written() {
        // 100 bytes before a page boundary, a zero page, then one byte set in the last page.
        let mut bytes = vec![0u8; 100 + 4096 + 50];
        bytes[3] = 7;
        bytes[100 + 4096 + 49] = 9;
        let recorder = Recorder::default();
        recorder.write_nonzero(0x10000 - 100, &bytes).unwrap();
        let writes = recorder.0.into_inner();
        let spans: Vec<(u64, usize)> =
            writes.iter().map(|(address, bytes)| (*address, bytes.len())).collect();
        assert_eq!(spans, [(0x10000 - 100, 100), (0x11000, 50)]);
        assert_eq!((writes[0].1[3], writes[1].1[49]), (7, 9));
    }

    #[test]
    fn a_single_nonzero_byte_anywhere_is_seen() {
        for length in [0, 1, 7, 8, 9, 15, 16, 17, 4096] {
            assert!(super::is_zero(&vec![0u8; length]));
            for at in 0..length {
                let mut bytes = vec![0u8; length];
                bytes[at] = 0x80;
                assert!(!super::is_zero(&bytes), "byte {at} of {length}");
            }
        }
    }
}
