//! Carving cVM regions out of the arena.
//!
//! Every region's bounds must be exactly representable as a capability, so its size is
//! a representable length and its base a multiple of the alignment that length needs
//! (FACTS §1.7). The allocator hands out such regions first-fit from a sorted list of
//! free ranges and takes them back on teardown, merging neighbours.

use alloc::vec::Vec;
use core::fmt;
use core::ops::Range;

use crate::capability::{representable_length, required_alignment};

/// Page size regions are made of.
pub const PAGE_SIZE: u64 = 4096;

/// Why a region could not be had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionError {
    /// The size is zero or not a multiple of the page size.
    NotPageMultiple {
        /// The size asked for.
        size: u64,
    },
    /// A capability cannot have exactly this length.
    NotRepresentable {
        /// The size asked for.
        size: u64,
        /// The next size up that is representable.
        next: u64,
    },
    /// No free range of the arena is large enough.
    NoSpace {
        /// The size asked for.
        size: u64,
        /// The largest free range.
        largest_free: u64,
    },
}

impl fmt::Display for RegionError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotPageMultiple { size } => {
                write!(formatter, "region size {size:#x} is not a non-zero multiple of the page size ({PAGE_SIZE:#x})")
            }
            Self::NotRepresentable { size, next } => write!(
                formatter,
                "region size {size:#x} cannot be the exact length of a capability; the next size that can is {next:#x}"
            ),
            Self::NoSpace { size, largest_free } => write!(
                formatter,
                "no room for a region of {size:#x} bytes in the arena (largest free range: {largest_free:#x} bytes)"
            ),
        }
    }
}

/// Checks that a region of `size` bytes can be carved with exact capability bounds.
pub fn check_region_size(size: u64) -> Result<(), RegionError> {
    if size == 0 || !size.is_multiple_of(PAGE_SIZE) {
        return Err(RegionError::NotPageMultiple { size });
    }
    let next = representable_length(size);
    if next != size {
        return Err(RegionError::NotRepresentable { size, next });
    }
    Ok(())
}

/// The alignment of a region of `size` bytes: what exact bounds need, at least a page.
pub fn region_alignment(size: u64) -> u64 {
    required_alignment(size).max(PAGE_SIZE)
}

/// First-fit allocator of representable regions inside one range.
#[derive(Debug, Clone)]
pub struct RegionAllocator {
    /// Sorted, disjoint, non-empty, non-adjacent free ranges.
    free: Vec<Range<u64>>,
}

impl RegionAllocator {
    /// An allocator whose whole `range` is free.
    pub fn new(range: Range<u64>) -> Self {
        let free = if range.is_empty() { Vec::new() } else { alloc::vec![range] };
        Self { free }
    }

    /// Carves a region of exactly `size` bytes with representable bounds.
    pub fn allocate(&mut self, size: u64) -> Result<Range<u64>, RegionError> {
        check_region_size(size)?;
        self.allocate_aligned(size, region_alignment(size))
    }

    /// Carves `size` bytes at a multiple of `alignment` (a power of two).
    pub fn allocate_aligned(&mut self, size: u64, alignment: u64) -> Result<Range<u64>, RegionError> {
        for index in 0..self.free.len() {
            let range = self.free[index].clone();
            let Some(start) = range.start.checked_next_multiple_of(alignment) else { continue };
            let Some(end) = start.checked_add(size) else { continue };
            if end > range.end {
                continue;
            }
            let mut pieces = Vec::with_capacity(2);
            if range.start < start {
                pieces.push(range.start..start);
            }
            if end < range.end {
                pieces.push(end..range.end);
            }
            self.free.splice(index..=index, pieces);
            return Ok(start..end);
        }
        let largest_free = self.free.iter().map(|range| range.end - range.start).max().unwrap_or(0);
        Err(RegionError::NoSpace { size, largest_free })
    }

    /// Returns a region to the free list, merging it with its neighbours.
    pub fn release(&mut self, region: Range<u64>) {
        if region.is_empty() {
            return;
        }
        let index = self.free.partition_point(|range| range.start < region.start);
        self.free.insert(index, region);
        // Merge with the following range, then with the preceding one.
        if index + 1 < self.free.len() && self.free[index].end == self.free[index + 1].start {
            self.free[index].end = self.free[index + 1].end;
            self.free.remove(index + 1);
        }
        if index > 0 && self.free[index - 1].end == self.free[index].start {
            self.free[index - 1].end = self.free[index].end;
            self.free.remove(index);
        }
    }

    /// Total free bytes.
    pub fn free_bytes(&self) -> u64 {
        self.free.iter().map(|range| range.end - range.start).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_are_aligned_disjoint_and_returned() {
        let mut allocator = RegionAllocator::new(0x1000_0000..0x5000_0000);
        let first = allocator.allocate(0x100_0000).unwrap();
        let second = allocator.allocate(0x40_0000).unwrap();
        assert_eq!(first.start % region_alignment(0x100_0000), 0);
        assert!(first.end <= second.start || second.end <= first.start);
        allocator.release(first);
        allocator.release(second);
        assert_eq!(allocator.free_bytes(), 0x4000_0000);
        assert_eq!(allocator.free.len(), 1);
    }

    #[test]
    fn unrepresentable_and_unaligned_sizes_are_refused() {
        assert_eq!(check_region_size(0x1234), Err(RegionError::NotPageMultiple { size: 0x1234 }));
        let size = 0x100_1000;
        assert!(matches!(check_region_size(size), Err(RegionError::NotRepresentable { .. })));
    }

    #[test]
    fn a_full_arena_says_how_much_is_left() {
        let mut allocator = RegionAllocator::new(0..0x20_0000);
        allocator.allocate(0x10_0000).unwrap();
        assert_eq!(
            allocator.allocate(0x20_0000),
            Err(RegionError::NoSpace { size: 0x20_0000, largest_free: 0x10_0000 })
        );
    }
}
