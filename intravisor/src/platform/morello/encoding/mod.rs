//! An encoder of the A64 Morello instruction words the intravisor issues.
//!
//! Stock Rust has no Morello target, so capability instructions are written as
//! `.inst 0x…` words inside `asm!` (TOOLCHAIN.md). Every encoder here is a `const fn`
//! returning the word, so it can be an `asm!` `const` operand; registers are typed
//! ([`C`], [`X`]) and every register number and immediate is range-checked in the
//! `const fn`, so a bad operand fails the build:
//!
//! ```ignore
//! core::arch::asm!(".inst {word}", word = const msr(CapabilityRegister::Ddc, C::new(2)));
//! ```
//!
//! ```
//! use intravisor::platform::morello::encoding::{msr, CapabilityRegister, C};
//! const INSTALL_DDC: u32 = msr(CapabilityRegister::Ddc, C::new(2));
//! assert_eq!(INSTALL_DDC, 0xC28B4122); // msr DDC, c2
//! ```
//!
//! Templates and field positions are those of FACTS §2 (from the Sail decode clauses);
//! the tests check every example there and every word of FACTS Appendix B, and decode
//! each encoder's output against the Appendix A mask/value table. Files, in reading
//! order:
//! - `operand`: registers, conditions, extensions, immediate checks;
//! - `system`: `MRS`/`MSR` of capability system registers and of CCTLR_ELx;
//! - `capability`: bounds, value, permissions, queries, sealing, checks, conversions;
//! - `branch`: capability branches, sealed-pair branches, `BX`, `LDPBR`;
//! - `memory`: capability loads and stores, alternate-base forms, `LDCT`/`STCT`.

mod branch;
mod capability;
mod memory;
mod operand;
mod system;

#[cfg(test)]
mod decode_tests;
#[cfg(test)]
mod tests;

pub use branch::*;
pub use capability::*;
pub use memory::*;
pub use operand::{Condition, Extend, RwxPermissions, SealForm, C, X};
pub use system::*;
