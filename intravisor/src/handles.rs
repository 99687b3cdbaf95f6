//! A cVM's open-file handles, shared by the host's and the bare-metal file tables:
//! handles from 3 on (0..=2 are the console), the lowest free one first, at most the
//! cVM's limit open at once ([`DEFAULT_OPEN`] unless its deployment names one, at most
//! [`MOST_OPEN`]).

use alloc::vec::Vec;

use abi::Errno;

/// Files a cVM may have open at once when its deployment names no limit.
pub const DEFAULT_OPEN: usize = 64;
/// The largest limit a deployment may give (`isolation.open_files`).
pub const MOST_OPEN: usize = 1024;
/// The first handle.
const FIRST_HANDLE: u64 = 3;

/// Open things by handle.
#[derive(Debug)]
pub struct Handles<T> {
    open: Vec<Option<T>>,
    limit: usize,
}

impl<T> Default for Handles<T> {
    fn default() -> Self {
        Self::with_limit(DEFAULT_OPEN)
    }
}

impl<T> Handles<T> {
    /// No handle open; at most `limit` at once (capped at [`MOST_OPEN`]).
    pub fn with_limit(limit: usize) -> Self {
        Self { open: Vec::new(), limit: limit.min(MOST_OPEN) }
    }

    /// Gives `item` the lowest free handle; `EMFILE` when the limit are open.
    pub fn insert(&mut self, item: T) -> Result<u64, Errno> {
        let slot = match self.open.iter().position(Option::is_none) {
            Some(slot) => slot,
            None if self.open.len() < self.limit => {
                self.open.push(None);
                self.open.len() - 1
            }
            None => return Err(Errno::TooManyFiles),
        };
        self.open[slot] = Some(item);
        Ok(FIRST_HANDLE + slot as u64)
    }

    /// What `handle` holds; `EBADF` when it is not open.
    pub fn get_mut(&mut self, handle: u64) -> Result<&mut T, Errno> {
        let index = handle.checked_sub(FIRST_HANDLE).ok_or(Errno::BadHandle)?;
        self.open.get_mut(index as usize).and_then(Option::as_mut).ok_or(Errno::BadHandle)
    }

    /// Closes `handle` and hands back what it held; `EBADF` when it is not open.
    pub fn remove(&mut self, handle: u64) -> Result<T, Errno> {
        let index = handle.checked_sub(FIRST_HANDLE).ok_or(Errno::BadHandle)?;
        self.open.get_mut(index as usize).and_then(Option::take).ok_or(Errno::BadHandle)
    }

    /// Closes every handle, handing back what they held.
    pub fn drain(&mut self) -> impl Iterator<Item = T> + '_ {
        self.open.drain(..).flatten()
    }
}

#[cfg(test)]
mod tests {
    use abi::Errno;

    use super::{Handles, DEFAULT_OPEN, MOST_OPEN};

    #[test]
    fn handles_start_at_3_reuse_the_lowest_and_stop_at_the_limit() {
        let mut handles = Handles::default();
        assert_eq!((handles.insert('a'), handles.insert('b')), (Ok(3), Ok(4)));
        assert_eq!(handles.remove(3), Ok('a'));
        assert_eq!(handles.remove(3), Err(Errno::BadHandle), "closed twice");
        assert_eq!(handles.get_mut(2), Err(Errno::BadHandle), "the console is not a file");
        assert_eq!(handles.insert('c'), Ok(3), "the lowest free handle again");
        for _ in 2..DEFAULT_OPEN {
            handles.insert('x').unwrap();
        }
        assert_eq!(handles.insert('y'), Err(Errno::TooManyFiles));
        assert_eq!(handles.get_mut(4).copied(), Ok('b'));
        assert_eq!(handles.drain().count(), DEFAULT_OPEN);
    }

    #[test]
    fn a_limit_of_its_own_holds_and_is_capped() {
        let mut one = Handles::with_limit(1);
        assert_eq!(one.insert('a'), Ok(3));
        assert_eq!(one.insert('b'), Err(Errno::TooManyFiles));
        let mut huge = Handles::with_limit(usize::MAX);
        for _ in 0..MOST_OPEN {
            huge.insert('x').unwrap();
        }
        assert_eq!(huge.insert('y'), Err(Errno::TooManyFiles));
    }
}
