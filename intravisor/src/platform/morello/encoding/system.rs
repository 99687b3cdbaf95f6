//! `MRS`/`MSR` of the capability system registers (FACTS §2.2) and of the 64-bit Morello
//! control registers (CCTLR_ELx, CHCR_EL2, CSCR_EL3).
//!
//! A capability system register is named by (op0, op1, CRn, CRm, op2), the same tuple as
//! the 64-bit register it widens (CELR_EL1 is ELR_EL1, CVBAR_EL1 is VBAR_EL1, …). The
//! capability forms put `o0` = op0 − 2 at bit 19; the 64-bit forms are the base A64
//! `MRS`/`MSR (register)` words.

use super::operand::{C, X};

/// The (op0, op1, CRn, CRm, op2) that name a system register.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SystemRegisterEncoding {
    /// 2 or 3.
    pub op0: u8,
    /// 0..=7.
    pub op1: u8,
    /// 0..=15.
    pub crn: u8,
    /// 0..=15.
    pub crm: u8,
    /// 0..=7.
    pub op2: u8,
}

impl SystemRegisterEncoding {
    /// The tuple, range-checked.
    pub const fn new(op0: u8, op1: u8, crn: u8, crm: u8, op2: u8) -> SystemRegisterEncoding {
        assert!(op0 == 2 || op0 == 3, "system-register moves have op0 2 or 3");
        assert!(op1 <= 7 && op2 <= 7, "op1 and op2 are 3-bit fields");
        assert!(crn <= 15 && crm <= 15, "CRn and CRm are 4-bit fields");
        SystemRegisterEncoding { op0, op1, crn, crm, op2 }
    }

    /// The fields in their places in an `MRS`/`MSR` word: o0 at 19, op1 at 18:16, CRn at
    /// 15:12, CRm at 11:8, op2 at 7:5.
    pub const fn fields(self) -> u32 {
        (((self.op0 & 1) as u32) << 19)
            | ((self.op1 as u32) << 16)
            | ((self.crn as u32) << 12)
            | ((self.crm as u32) << 8)
            | ((self.op2 as u32) << 5)
    }
}

/// A capability system register (FACTS §2.2, from Sail `AArch64_CapSysRegRead`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CapabilityRegister {
    /// The DDC of the current state (RDDC_EL0 when Restricted, DDC_EL0 with SPSel = 0,
    /// otherwise DDC_ELx of the current EL).
    Ddc,
    /// The default data capability of EL0.
    DdcEl0,
    /// The default data capability of EL1.
    DdcEl1,
    /// The default data capability of EL2.
    DdcEl2,
    /// The Restricted default data capability.
    RddcEl0,
    /// The capability view of SP_EL0.
    CspEl0,
    /// The capability view of SP_EL1.
    CspEl1,
    /// The capability view of SP_EL2.
    CspEl2,
    /// The Restricted stack pointer (64-bit name RSP_EL0).
    RcspEl0,
    /// The capability view of ELR_EL1: where `ERET` at EL1 returns to.
    CelrEl1,
    /// The capability view of ELR_EL2.
    CelrEl2,
    /// The capability view of ELR_EL3.
    CelrEl3,
    /// CELR_EL1 accessed from EL2 with E2H.
    CelrEl12,
    /// The capability view of VBAR_EL1: PCC on exception entry to EL1. Needs PCC System.
    CvbarEl1,
    /// The capability view of VBAR_EL2.
    CvbarEl2,
    /// The capability view of VBAR_EL3.
    CvbarEl3,
    /// CVBAR_EL1 accessed from EL2 with E2H.
    CvbarEl12,
    /// The capability view of TPIDR_EL0.
    CtpidrEl0,
    /// The capability view of TPIDRRO_EL0.
    CtpidrroEl0,
    /// The Restricted thread pointer (64-bit name RTPIDR_EL0).
    RctpidrEl0,
    /// The capability view of TPIDR_EL1.
    CtpidrEl1,
    /// The capability view of TPIDR_EL2.
    CtpidrEl2,
    /// The capability view of TPIDR_EL3.
    CtpidrEl3,
    /// The compartment ID.
    CidEl0,
    /// The debug link register.
    CdlrEl0,
    /// The debug data transfer register (op0 = 2).
    CdbgdtrEl0,
}

impl CapabilityRegister {
    /// Every capability system register, in the order of FACTS §2.2.
    pub const ALL: [CapabilityRegister; 26] = [
        CapabilityRegister::Ddc,
        CapabilityRegister::DdcEl0,
        CapabilityRegister::DdcEl1,
        CapabilityRegister::DdcEl2,
        CapabilityRegister::RddcEl0,
        CapabilityRegister::CspEl0,
        CapabilityRegister::CspEl1,
        CapabilityRegister::CspEl2,
        CapabilityRegister::RcspEl0,
        CapabilityRegister::CelrEl1,
        CapabilityRegister::CelrEl2,
        CapabilityRegister::CelrEl3,
        CapabilityRegister::CelrEl12,
        CapabilityRegister::CvbarEl1,
        CapabilityRegister::CvbarEl2,
        CapabilityRegister::CvbarEl3,
        CapabilityRegister::CvbarEl12,
        CapabilityRegister::CtpidrEl0,
        CapabilityRegister::CtpidrroEl0,
        CapabilityRegister::RctpidrEl0,
        CapabilityRegister::CtpidrEl1,
        CapabilityRegister::CtpidrEl2,
        CapabilityRegister::CtpidrEl3,
        CapabilityRegister::CidEl0,
        CapabilityRegister::CdlrEl0,
        CapabilityRegister::CdbgdtrEl0,
    ];

    /// The register's (op0, op1, CRn, CRm, op2).
    pub const fn encoding(self) -> SystemRegisterEncoding {
        use CapabilityRegister as R;
        let (op0, op1, crn, crm, op2) = match self {
            R::Ddc => (3, 3, 4, 1, 1),
            R::DdcEl0 => (3, 0, 4, 1, 1),
            R::DdcEl1 => (3, 4, 4, 1, 1),
            R::DdcEl2 => (3, 6, 4, 1, 1),
            R::RddcEl0 => (3, 3, 4, 3, 1),
            R::CspEl0 => (3, 0, 4, 1, 0),
            R::CspEl1 => (3, 4, 4, 1, 0),
            R::CspEl2 => (3, 6, 4, 1, 0),
            R::RcspEl0 => (3, 7, 4, 1, 3),
            R::CelrEl1 => (3, 0, 4, 0, 1),
            R::CelrEl2 => (3, 4, 4, 0, 1),
            R::CelrEl3 => (3, 6, 4, 0, 1),
            R::CelrEl12 => (3, 5, 4, 0, 1),
            R::CvbarEl1 => (3, 0, 12, 0, 0),
            R::CvbarEl2 => (3, 4, 12, 0, 0),
            R::CvbarEl3 => (3, 6, 12, 0, 0),
            R::CvbarEl12 => (3, 5, 12, 0, 0),
            R::CtpidrEl0 => (3, 3, 13, 0, 2),
            R::CtpidrroEl0 => (3, 3, 13, 0, 3),
            R::RctpidrEl0 => (3, 3, 13, 0, 4),
            R::CtpidrEl1 => (3, 0, 13, 0, 4),
            R::CtpidrEl2 => (3, 4, 13, 0, 2),
            R::CtpidrEl3 => (3, 6, 13, 0, 2),
            R::CidEl0 => (3, 3, 13, 0, 7),
            R::CdlrEl0 => (3, 3, 4, 5, 1),
            R::CdbgdtrEl0 => (2, 3, 0, 4, 0),
        };
        SystemRegisterEncoding::new(op0, op1, crn, crm, op2)
    }

    /// The assembler name, e.g. `"CVBAR_EL1"`.
    pub const fn name(self) -> &'static str {
        use CapabilityRegister as R;
        match self {
            R::Ddc => "DDC",
            R::DdcEl0 => "DDC_EL0",
            R::DdcEl1 => "DDC_EL1",
            R::DdcEl2 => "DDC_EL2",
            R::RddcEl0 => "RDDC_EL0",
            R::CspEl0 => "CSP_EL0",
            R::CspEl1 => "CSP_EL1",
            R::CspEl2 => "CSP_EL2",
            R::RcspEl0 => "RCSP_EL0",
            R::CelrEl1 => "CELR_EL1",
            R::CelrEl2 => "CELR_EL2",
            R::CelrEl3 => "CELR_EL3",
            R::CelrEl12 => "CELR_EL12",
            R::CvbarEl1 => "CVBAR_EL1",
            R::CvbarEl2 => "CVBAR_EL2",
            R::CvbarEl3 => "CVBAR_EL3",
            R::CvbarEl12 => "CVBAR_EL12",
            R::CtpidrEl0 => "CTPIDR_EL0",
            R::CtpidrroEl0 => "CTPIDRRO_EL0",
            R::RctpidrEl0 => "RCTPIDR_EL0",
            R::CtpidrEl1 => "CTPIDR_EL1",
            R::CtpidrEl2 => "CTPIDR_EL2",
            R::CtpidrEl3 => "CTPIDR_EL3",
            R::CidEl0 => "CID_EL0",
            R::CdlrEl0 => "CDLR_EL0",
            R::CdbgdtrEl0 => "CDBGDTR_EL0",
        }
    }

    /// The capability system register `encoding` names, if any (used to name the register
    /// of a trapped access, EC 0x2A).
    pub fn from_encoding(encoding: SystemRegisterEncoding) -> Option<CapabilityRegister> {
        CapabilityRegister::ALL.into_iter().find(|register| register.encoding() == encoding)
    }
}

/// A 64-bit Morello control register, moved with the base A64 `MRS Xt`/`MSR …, Xt`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ControlRegister {
    /// Capability control of EL0 (DDCBO, PCCBO, ADRDPB, PERMVCT, SBL).
    CctlrEl0,
    /// Capability control of EL1 (adds TGEN0/1 and C64E, the state on exception entry).
    CctlrEl1,
    /// Capability control of EL2.
    CctlrEl2,
    /// Capability control of EL3.
    CctlrEl3,
    /// CCTLR_EL1 accessed from EL2 with E2H.
    CctlrEl12,
    /// Bit 0 disables SCTAG tag setting below EL2.
    ChcrEl2,
    /// Bit 0 disables SCTAG tag setting below EL3.
    CscrEl3,
}

impl ControlRegister {
    /// Every control register, in the order of FACTS §2.2.
    pub const ALL: [ControlRegister; 7] = [
        ControlRegister::CctlrEl0,
        ControlRegister::CctlrEl1,
        ControlRegister::CctlrEl2,
        ControlRegister::CctlrEl3,
        ControlRegister::CctlrEl12,
        ControlRegister::ChcrEl2,
        ControlRegister::CscrEl3,
    ];

    /// The register's (op0, op1, CRn, CRm, op2).
    pub const fn encoding(self) -> SystemRegisterEncoding {
        let (op1, op2) = match self {
            ControlRegister::CctlrEl0 => (3, 2),
            ControlRegister::CctlrEl1 => (0, 2),
            ControlRegister::CctlrEl2 => (4, 2),
            ControlRegister::CctlrEl3 => (6, 2),
            ControlRegister::CctlrEl12 => (5, 2),
            ControlRegister::ChcrEl2 => (4, 3),
            ControlRegister::CscrEl3 => (6, 3),
        };
        SystemRegisterEncoding::new(3, op1, 1, 2, op2)
    }

    /// The assembler name, e.g. `"CCTLR_EL1"`.
    pub const fn name(self) -> &'static str {
        match self {
            ControlRegister::CctlrEl0 => "CCTLR_EL0",
            ControlRegister::CctlrEl1 => "CCTLR_EL1",
            ControlRegister::CctlrEl2 => "CCTLR_EL2",
            ControlRegister::CctlrEl3 => "CCTLR_EL3",
            ControlRegister::CctlrEl12 => "CCTLR_EL12",
            ControlRegister::ChcrEl2 => "CHCR_EL2",
            ControlRegister::CscrEl3 => "CSCR_EL3",
        }
    }

    /// The control register `encoding` names, if any.
    pub fn from_encoding(encoding: SystemRegisterEncoding) -> Option<ControlRegister> {
        ControlRegister::ALL.into_iter().find(|register| register.encoding() == encoding)
    }
}

/// `mrs Ct, <register>`: Ct := the whole capability system register, tag included.
pub const fn mrs(ct: C, register: CapabilityRegister) -> u32 {
    0xC2900000 | register.encoding().fields() | ct.at(0)
}

/// `msr <register>, Ct`: the whole capability system register := Ct, tag included.
pub const fn msr(register: CapabilityRegister, ct: C) -> u32 {
    0xC2800000 | register.encoding().fields() | ct.at(0)
}

/// `mrs Xt, <register>` of a 64-bit control register.
pub const fn mrs_control(xt: X, register: ControlRegister) -> u32 {
    0xD5300000 | register.encoding().fields() | xt.at(0)
}

/// `msr <register>, Xt` of a 64-bit control register.
pub const fn msr_control(register: ControlRegister, xt: X) -> u32 {
    0xD5100000 | register.encoding().fields() | xt.at(0)
}
