//! The compartment-local storage pass.
//!
//! This crate will hold the LLVM pass plugin that rewrites every use of a writable,
//! non-thread-local global into a call to `__cls_get_addr` (ARCHITECTURE §4). It is
//! empty until the ORC issue lands; it exists now so that the workspace has its final
//! shape.
