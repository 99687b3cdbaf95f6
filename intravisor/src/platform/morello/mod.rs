//! The Morello platform: what it takes to run the intravisor on an Arm Morello (CHERI)
//! core with capabilities enforced by hardware.
//!
//! Today this module owns the two host-testable foundations: the instruction words for
//! every capability instruction the platform issues (`encoding`), and the decoding of the
//! exception syndrome into a fault the platform can report (`exception`). Both are pure,
//! `core`-only and compile for every target. The platform itself (boot, exception
//! vectors, entering and leaving a cVM through sealed capability pairs) comes later and
//! builds on them. Facts: `/work/shared/morello/FACTS.md` §2 and §4.

pub mod encoding;
pub mod exception;
