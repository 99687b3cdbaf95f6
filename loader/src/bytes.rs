//! Bounds-checked little-endian reads from an untrusted byte slice.
//!
//! Every read takes a `u64` offset (ELF offsets are 64-bit) and answers `None` when any
//! byte of the value lies outside the slice, or when the offset does not fit a `usize`.
//! Callers turn `None` into the [`crate::LoadError`] that names what was being read.

/// The `length` bytes at `offset`, or `None` if they are not all inside `bytes`.
pub(crate) fn slice_at(bytes: &[u8], offset: u64, length: u64) -> Option<&[u8]> {
    let start = usize::try_from(offset).ok()?;
    let length = usize::try_from(length).ok()?;
    let end = start.checked_add(length)?;
    bytes.get(start..end)
}

/// The `N` bytes at `offset` as an array.
fn array_at<const N: usize>(bytes: &[u8], offset: u64) -> Option<[u8; N]> {
    let slice = slice_at(bytes, offset, N as u64)?;
    <[u8; N]>::try_from(slice).ok()
}

/// The byte at `offset`.
pub(crate) fn u8_at(bytes: &[u8], offset: u64) -> Option<u8> {
    array_at::<1>(bytes, offset).map(|[byte]| byte)
}

/// The little-endian `u16` at `offset`.
pub(crate) fn u16_at(bytes: &[u8], offset: u64) -> Option<u16> {
    array_at(bytes, offset).map(u16::from_le_bytes)
}

/// The little-endian `u32` at `offset`.
pub(crate) fn u32_at(bytes: &[u8], offset: u64) -> Option<u32> {
    array_at(bytes, offset).map(u32::from_le_bytes)
}

/// The little-endian `u64` at `offset`.
pub(crate) fn u64_at(bytes: &[u8], offset: u64) -> Option<u64> {
    array_at(bytes, offset).map(u64::from_le_bytes)
}

/// The little-endian `i64` at `offset`.
pub(crate) fn i64_at(bytes: &[u8], offset: u64) -> Option<i64> {
    array_at(bytes, offset).map(i64::from_le_bytes)
}

/// `value` rounded down to a multiple of [`crate::PAGE_SIZE`].
pub(crate) fn page_floor(value: u64) -> u64 {
    value - value % crate::PAGE_SIZE
}

/// `value` rounded up to a multiple of [`crate::PAGE_SIZE`], or `None` on overflow.
pub(crate) fn page_ceil(value: u64) -> Option<u64> {
    match value % crate::PAGE_SIZE {
        0 => Some(value),
        remainder => value.checked_add(crate::PAGE_SIZE - remainder),
    }
}
