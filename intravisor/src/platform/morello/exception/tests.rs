//! Syndromes seen on a Morello QEMU (FACTS Appendix B) and syndromes built from the A64
//! bit layout: EC at 31:26, IL at 25, ISS at 24:0.

use super::*;
use crate::platform::morello::encoding::{msr, C};

/// An ESR with class `class`, IL = 1 and syndrome `iss`.
const fn esr(class: u8, iss: u32) -> u64 {
    ((class as u64) << 26) | (1 << 25) | iss as u64
}

/// `describe(far, elr)` as a string.
fn line(esr: u64, far: u64, elr: u64) -> String {
    Syndrome::from_esr(esr).describe(far, elr).to_string()
}

#[test]
fn bounds_fault_seen_on_qemu() {
    let syndrome = Syndrome::from_esr(0x9600002A);
    assert_eq!(syndrome.class(), ExceptionClass::DataAbortSame);
    assert_eq!(syndrome.iss(), 0x2A);
    assert!(syndrome.instruction_is_32_bit());
    assert_eq!(syndrome.capability_fault(), Some(CapabilityFault::Bounds));
    assert_eq!(
        syndrome.abort(),
        Some(Abort {
            access: Access::Load,
            status: FaultStatus::Capability(CapabilityFault::Bounds),
            from_lower_level: false,
            far_valid: true,
            stage1_walk: false,
        })
    );
    assert_eq!(
        line(0x9600002A, 0x40001000, 0x80000124),
        "capability bounds fault on a load from 0x40001000 (instruction at 0x80000124, ESR 0x9600002a)"
    );
}

#[test]
fn tag_fault_seen_on_qemu() {
    let syndrome = Syndrome::from_esr(0x96000028);
    assert_eq!(syndrome.class(), ExceptionClass::DataAbortSame);
    assert_eq!(syndrome.capability_fault(), Some(CapabilityFault::Tag));
    assert_eq!(syndrome.abort().map(|abort| abort.access), Some(Access::Load));
}

#[test]
fn store_bounds_fault_reads_as_one_line() {
    // WnR (bit 6) set on the QEMU bounds fault: the example line of the brief.
    assert_eq!(
        line(0x9600006A, 0x40001000, 0x80000124),
        "capability bounds fault on a store to 0x40001000 (instruction at 0x80000124, ESR 0x9600006a)"
    );
}

#[test]
fn every_capability_fault_code_round_trips() {
    let faults = [
        (0x28, CapabilityFault::Tag, "capability tag fault"),
        (0x29, CapabilityFault::Sealed, "capability sealed fault"),
        (0x2A, CapabilityFault::Bounds, "capability bounds fault"),
        (0x2B, CapabilityFault::Permission, "capability permission fault"),
        (0x2C, CapabilityFault::PagePermission, "capability page permission fault"),
    ];
    for (code, fault, text) in faults {
        assert_eq!(CapabilityFault::from_status_code(code), Some(fault));
        assert_eq!(fault.status_code(), code);
        assert_eq!(fault.to_string(), text);
        assert_eq!(FaultStatus::from_code(code), FaultStatus::Capability(fault));
        // The same code on an instruction fetch from a lower EL (EC 0x20).
        let syndrome = Syndrome::from_esr(esr(0x20, u32::from(code)));
        assert_eq!(syndrome.capability_fault(), Some(fault));
        assert_eq!(syndrome.abort().map(|abort| abort.access), Some(Access::InstructionFetch));
    }
    assert_eq!(
        line(esr(0x20, 0x28), 0x40000000, 0x40000000),
        "capability tag fault on an instruction fetch from 0x40000000 (from a lower EL, instruction at 0x40000000, ESR 0x82000028)"
    );
}

#[test]
fn capability_access_trap() {
    // EC 0x29 with ISS 0: the first capability instruction before CPACR_EL1.CEN is set.
    let value = esr(0x29, 0);
    assert_eq!(value, 0xA6000000);
    let syndrome = Syndrome::from_esr(value);
    assert_eq!(syndrome.class(), ExceptionClass::CapabilityAccess);
    assert_eq!(syndrome.abort(), None);
    assert!(!syndrome.far_valid());
    assert!(line(value, 0, 0x80000010).starts_with("capability instruction or register trapped"));
    assert!(line(value, 0, 0x80000010).ends_with("(instruction at 0x80000010, ESR 0xa6000000)"));
}

#[test]
fn capability_system_register_trap_names_the_register() {
    // EC 0x2A for `msr CVBAR_EL1, c1` without PCC System: the ISS is built from the
    // instruction word as Sail's AArch64_SystemAccessTrapSyndrome does.
    let word = msr(CapabilityRegister::CvbarEl1, C::new(1));
    let bits = |lsb: u32, width: u32| (word >> lsb) & ((1 << width) - 1);
    let iss = (0b10 | bits(19, 1)) << 20
        | bits(5, 3) << 17
        | bits(16, 3) << 14
        | bits(12, 4) << 10
        | bits(0, 5) << 5
        | bits(8, 4) << 1
        | bits(20, 1);
    let syndrome = Syndrome::from_esr(esr(0x2A, iss));
    assert_eq!(syndrome.class(), ExceptionClass::CapabilitySystemRegister);
    let access = syndrome.system_register_access().expect("EC 0x2A carries the access");
    assert_eq!(access.encoding, CapabilityRegister::CvbarEl1.encoding());
    assert_eq!(access.capability_register(), Some(CapabilityRegister::CvbarEl1));
    assert_eq!((access.register, access.read), (1, false));
    assert_eq!(
        line(esr(0x2A, iss), 0, 0x80000200),
        format!(
            "capability system register trap on msr CVBAR_EL1, c1 (PCC lacks System) \
             (instruction at 0x80000200, ESR {:#x})",
            esr(0x2A, iss)
        )
    );
}

#[test]
fn system_register_trap_on_a_control_register() {
    // EC 0x18, `mrs x3, CCTLR_EL0`: op0 3, op2 2, op1 3, CRn 1, Rt 3, CRm 2, read.
    let iss = (3 << 20) | (2 << 17) | (3 << 14) | (1 << 10) | (3 << 5) | (2 << 1) | 1;
    let syndrome = Syndrome::from_esr(esr(0x18, iss));
    let access = syndrome.system_register_access().expect("EC 0x18 carries the access");
    assert_eq!(access.control_register(), Some(ControlRegister::CctlrEl0));
    assert!(line(esr(0x18, iss), 0, 0x1000).starts_with("system register trap on mrs x3, CCTLR_EL0 ("));
    // An unnamed register is printed by its encoding.
    let unnamed = (3 << 20) | (1 << 10) | (2 << 5) | (4 << 1);
    assert!(line(esr(0x18, unnamed), 0, 0).starts_with("system register trap on msr S3_0_C1_C4_0, x2 ("));
}

#[test]
fn supervisor_call_with_immediate_zero() {
    let value = esr(0x15, 0);
    assert_eq!(value, 0x56000000);
    let syndrome = Syndrome::from_esr(value);
    assert_eq!(syndrome.class(), ExceptionClass::SupervisorCall);
    assert_eq!(syndrome.immediate(), Some(0));
    assert_eq!(syndrome.abort(), None);
    assert!(!syndrome.far_valid());
    assert_eq!(line(value, 0, 0x40001004), "supervisor call #0 (return address 0x40001004, ESR 0x56000000)");
    assert_eq!(Syndrome::from_esr(esr(0x15, 0x1234)).immediate(), Some(0x1234));
    assert_eq!(Syndrome::from_esr(esr(0x3C, 0xF000)).immediate(), Some(0xF000));
}

#[test]
fn translation_fault_at_level_3_on_a_write_from_el0() {
    // Data abort from a lower EL (EC 0x24), WnR = 1 (bit 6), DFSC 0b000111.
    let value = esr(0x24, (1 << 6) | 0b000111);
    assert_eq!(value, 0x92000047);
    let syndrome = Syndrome::from_esr(value);
    assert_eq!(syndrome.class(), ExceptionClass::DataAbortLower);
    assert_eq!(
        syndrome.abort(),
        Some(Abort {
            access: Access::Store,
            status: FaultStatus::Translation { level: 3 },
            from_lower_level: true,
            far_valid: true,
            stage1_walk: false,
        })
    );
    assert_eq!(syndrome.capability_fault(), None);
    assert!(syndrome.far_valid());
    assert_eq!(
        line(value, 0x2000_1008, 0x40_0000),
        "translation fault at level 3 on a store to 0x20001008 (from a lower EL, instruction at 0x400000, ESR 0x92000047)"
    );
}

#[test]
fn abort_flags_far_not_valid_and_cache_maintenance() {
    // Synchronous external abort with FnV (bit 10): FAR is not valid.
    let syndrome = Syndrome::from_esr(esr(0x25, (1 << 10) | 0x10));
    let abort = syndrome.abort().expect("a data abort");
    assert_eq!(abort.status, FaultStatus::SynchronousExternal);
    assert!(!abort.far_valid && !syndrome.far_valid());
    assert!(line(syndrome.esr(), 0xDEAD, 0)
        .starts_with("synchronous external abort on a load (address unknown) ("));
    // CM (bit 8) with WnR: a cache maintenance operation, not a store.
    let syndrome = Syndrome::from_esr(esr(0x25, (1 << 8) | (1 << 6) | 0x0D));
    let abort = syndrome.abort().expect("a data abort");
    assert_eq!(
        (abort.access, abort.status),
        (Access::CacheMaintenance, FaultStatus::Permission { level: 1 })
    );
}

#[test]
fn fault_status_codes_decode() {
    let codes = [
        (0x00, FaultStatus::AddressSize { level: 0 }),
        (0x05, FaultStatus::Translation { level: 1 }),
        (0x0B, FaultStatus::AccessFlag { level: 3 }),
        (0x0E, FaultStatus::Permission { level: 2 }),
        (0x10, FaultStatus::SynchronousExternal),
        (0x16, FaultStatus::SynchronousExternalOnWalk { level: 2 }),
        (0x18, FaultStatus::SynchronousParity),
        (0x1F, FaultStatus::SynchronousParityOnWalk { level: 3 }),
        (0x21, FaultStatus::Alignment),
        (0x22, FaultStatus::Debug),
        (0x30, FaultStatus::TlbConflict),
        (0x31, FaultStatus::UnsupportedAtomicUpdate),
        (0x34, FaultStatus::Lockdown),
        (0x35, FaultStatus::UnsupportedExclusive),
        (0x2D, FaultStatus::Other(0x2D)),
        (0x3F, FaultStatus::Other(0x3F)),
    ];
    for (code, status) in codes {
        assert_eq!(FaultStatus::from_code(code), status, "code {code:#04x}");
    }
    assert_eq!(FaultStatus::Other(0x3F).to_string(), "fault status 0x3f");
}

#[test]
fn pc_alignment_fault() {
    let value = esr(0x22, 0);
    assert_eq!(value, 0x8A000000);
    let syndrome = Syndrome::from_esr(value);
    assert_eq!(syndrome.class(), ExceptionClass::PcAlignment);
    assert!(syndrome.far_valid());
    assert_eq!(syndrome.abort(), None);
    assert_eq!(
        line(value, 0x40000002, 0x40000002),
        "PC alignment fault at 0x40000002 (instruction at 0x40000002, ESR 0x8a000000)"
    );
}

#[test]
fn unknown_and_other_classes() {
    let syndrome = Syndrome::from_esr(0x0200_0000);
    assert_eq!(syndrome.class(), ExceptionClass::Unknown);
    assert_eq!(
        (syndrome.abort(), syndrome.immediate(), syndrome.system_register_access()),
        (None, None, None)
    );
    assert_eq!(
        line(0x0200_0000, 0, 0x80000000),
        "undefined instruction (unknown reason) (instruction at 0x80000000, ESR 0x2000000)"
    );
    let other = Syndrome::from_esr(esr(0x3F, 0));
    assert_eq!(other.class(), ExceptionClass::Other(0x3F));
    assert!(line(other.esr(), 0, 0).starts_with("exception class 0x3f ("));
}

#[test]
fn every_class_code_round_trips() {
    for code in 0..64u8 {
        assert_eq!(ExceptionClass::from_code(code).code(), code);
    }
    let named =
        (0..64u8).filter(|&code| !matches!(ExceptionClass::from_code(code), ExceptionClass::Other(_)));
    assert_eq!(named.count(), 25);
    // The upper half of a 64-bit ESR does not change the class or the ISS.
    let syndrome = Syndrome::from_esr((0xFF << 32) | 0x9600002A);
    assert_eq!((syndrome.class(), syndrome.iss()), (ExceptionClass::DataAbortSame, 0x2A));
}
