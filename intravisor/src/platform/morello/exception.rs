//! Decoding of the exception syndrome (ESR_ELx, with ELR and FAR) into a value the
//! platform can act on and report (FACTS §4.3; the layout is the A64 one).
//!
//! ESR: EC (exception class) at 31:26, IL at 25, ISS at 24:0. For aborts the ISS holds
//! the fault status code (DFSC/IFSC, 5:0), WnR (6), S1PTW (7), CM (8), EA (9) and FnV
//! (10). Morello adds the capability fault codes 0x28..=0x2C, EC 0x29 (capability
//! instructions disabled) and EC 0x2A (CVBAR access without PCC System). Nothing here
//! reads a register: the caller passes the values it read. The fault status codes are in
//! `fault_status`.

use core::fmt;

use super::encoding::{CapabilityRegister, ControlRegister, SystemRegisterEncoding};

mod fault_status;

pub use fault_status::{CapabilityFault, FaultStatus};

/// Why an exception was taken (ESR.EC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExceptionClass {
    /// 0x00: unknown reason, e.g. an undefined instruction.
    Unknown,
    /// 0x01: a trapped WFI or WFE.
    Wfx,
    /// 0x07: SIMD or floating-point access trapped (CPACR_EL1.FPEN).
    FloatingPointAccess,
    /// 0x0E: illegal execution state.
    IllegalExecutionState,
    /// 0x15: `SVC` from AArch64.
    SupervisorCall,
    /// 0x16: `HVC` from AArch64.
    HypervisorCall,
    /// 0x17: `SMC` from AArch64.
    SecureMonitorCall,
    /// 0x18: trapped `MSR`/`MRS`/system instruction.
    SystemRegister,
    /// 0x20: instruction abort from a lower exception level.
    InstructionAbortLower,
    /// 0x21: instruction abort at the same exception level.
    InstructionAbortSame,
    /// 0x22: PC alignment fault.
    PcAlignment,
    /// 0x24: data abort from a lower exception level.
    DataAbortLower,
    /// 0x25: data abort at the same exception level.
    DataAbortSame,
    /// 0x26: SP alignment fault.
    SpAlignment,
    /// 0x29: a Morello instruction or capability register access while capabilities are
    /// disabled (CPACR_EL1.CEN, CPTR_EL2, CPTR_EL3.EC). ISS = 0.
    CapabilityAccess,
    /// 0x2A: `MRS`/`MSR` of CVBAR_ELx while PCC lacks System.
    CapabilitySystemRegister,
    /// 0x2C: trapped floating-point exception.
    FloatingPointException,
    /// 0x2F: SError interrupt.
    SError,
    /// 0x30: hardware breakpoint from a lower exception level.
    BreakpointLower,
    /// 0x31: hardware breakpoint at the same exception level.
    BreakpointSame,
    /// 0x32: software step from a lower exception level.
    SoftwareStepLower,
    /// 0x33: software step at the same exception level.
    SoftwareStepSame,
    /// 0x34: watchpoint from a lower exception level.
    WatchpointLower,
    /// 0x35: watchpoint at the same exception level.
    WatchpointSame,
    /// 0x3C: `BRK` instruction.
    BreakpointInstruction,
    /// Any other class, with its code.
    Other(u8),
}

impl ExceptionClass {
    /// The class of a 6-bit EC value.
    pub const fn from_code(code: u8) -> ExceptionClass {
        use ExceptionClass as E;
        match code {
            0x00 => E::Unknown,
            0x01 => E::Wfx,
            0x07 => E::FloatingPointAccess,
            0x0E => E::IllegalExecutionState,
            0x15 => E::SupervisorCall,
            0x16 => E::HypervisorCall,
            0x17 => E::SecureMonitorCall,
            0x18 => E::SystemRegister,
            0x20 => E::InstructionAbortLower,
            0x21 => E::InstructionAbortSame,
            0x22 => E::PcAlignment,
            0x24 => E::DataAbortLower,
            0x25 => E::DataAbortSame,
            0x26 => E::SpAlignment,
            0x29 => E::CapabilityAccess,
            0x2A => E::CapabilitySystemRegister,
            0x2C => E::FloatingPointException,
            0x2F => E::SError,
            0x30 => E::BreakpointLower,
            0x31 => E::BreakpointSame,
            0x32 => E::SoftwareStepLower,
            0x33 => E::SoftwareStepSame,
            0x34 => E::WatchpointLower,
            0x35 => E::WatchpointSame,
            0x3C => E::BreakpointInstruction,
            other => E::Other(other),
        }
    }

    /// The 6-bit EC value.
    pub const fn code(self) -> u8 {
        use ExceptionClass as E;
        match self {
            E::Unknown => 0x00,
            E::Wfx => 0x01,
            E::FloatingPointAccess => 0x07,
            E::IllegalExecutionState => 0x0E,
            E::SupervisorCall => 0x15,
            E::HypervisorCall => 0x16,
            E::SecureMonitorCall => 0x17,
            E::SystemRegister => 0x18,
            E::InstructionAbortLower => 0x20,
            E::InstructionAbortSame => 0x21,
            E::PcAlignment => 0x22,
            E::DataAbortLower => 0x24,
            E::DataAbortSame => 0x25,
            E::SpAlignment => 0x26,
            E::CapabilityAccess => 0x29,
            E::CapabilitySystemRegister => 0x2A,
            E::FloatingPointException => 0x2C,
            E::SError => 0x2F,
            E::BreakpointLower => 0x30,
            E::BreakpointSame => 0x31,
            E::SoftwareStepLower => 0x32,
            E::SoftwareStepSame => 0x33,
            E::WatchpointLower => 0x34,
            E::WatchpointSame => 0x35,
            E::BreakpointInstruction => 0x3C,
            E::Other(code) => code,
        }
    }
}

/// What the faulting access was doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// An instruction fetch (instruction abort).
    InstructionFetch,
    /// A data read (WnR = 0).
    Load,
    /// A data write (WnR = 1).
    Store,
    /// A cache maintenance or address translation instruction (CM = 1).
    CacheMaintenance,
}

/// A decoded instruction or data abort.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Abort {
    /// The access that faulted.
    pub access: Access,
    /// Why it faulted.
    pub status: FaultStatus,
    /// Taken from a lower exception level (EC 0x20/0x24) rather than the same (0x21/0x25).
    pub from_lower_level: bool,
    /// FAR holds the faulting address (FnV = 0).
    pub far_valid: bool,
    /// The fault was on a stage-2 walk for a stage-1 translation (S1PTW).
    pub stage1_walk: bool,
}

/// A trapped system-register access (EC 0x18, and EC 0x2A for capability registers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SystemRegisterAccess {
    /// The register's (op0, op1, CRn, CRm, op2).
    pub encoding: SystemRegisterEncoding,
    /// The transfer register Rt/Ct, 0..=31.
    pub register: u8,
    /// `MRS` (read) rather than `MSR` (write).
    pub read: bool,
}

impl SystemRegisterAccess {
    /// The capability system register accessed, if it is one.
    pub fn capability_register(&self) -> Option<CapabilityRegister> {
        CapabilityRegister::from_encoding(self.encoding)
    }

    /// The Morello control register accessed, if it is one.
    pub fn control_register(&self) -> Option<ControlRegister> {
        ControlRegister::from_encoding(self.encoding)
    }
}

/// A decoded exception syndrome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Syndrome {
    esr: u64,
    class: ExceptionClass,
    iss: u32,
}

impl Syndrome {
    /// Decodes a value read from ESR_ELx.
    pub const fn from_esr(esr: u64) -> Syndrome {
        let class = ExceptionClass::from_code(((esr >> 26) & 0x3F) as u8);
        Syndrome { esr, class, iss: (esr & 0x01FF_FFFF) as u32 }
    }

    /// The raw ESR value.
    pub const fn esr(&self) -> u64 {
        self.esr
    }

    /// The exception class.
    pub const fn class(&self) -> ExceptionClass {
        self.class
    }

    /// The instruction-specific syndrome, ESR[24:0].
    pub const fn iss(&self) -> u32 {
        self.iss
    }

    /// IL: the trapped instruction was 32 bits (always, for A64).
    pub const fn instruction_is_32_bit(&self) -> bool {
        (self.esr >> 25) & 1 == 1
    }

    /// ISS bit `index`.
    const fn iss_bit(&self, index: u32) -> bool {
        (self.iss >> index) & 1 == 1
    }

    /// The `width`-bit ISS field at `lsb`.
    const fn iss_field(&self, lsb: u32, width: u32) -> u8 {
        ((self.iss >> lsb) & ((1 << width) - 1)) as u8
    }

    /// The abort, for instruction and data aborts.
    pub const fn abort(&self) -> Option<Abort> {
        let (from_lower_level, data) = match self.class {
            ExceptionClass::InstructionAbortLower => (true, false),
            ExceptionClass::InstructionAbortSame => (false, false),
            ExceptionClass::DataAbortLower => (true, true),
            ExceptionClass::DataAbortSame => (false, true),
            _ => return None,
        };
        let access = if !data {
            Access::InstructionFetch
        } else if self.iss_bit(8) {
            Access::CacheMaintenance
        } else if self.iss_bit(6) {
            Access::Store
        } else {
            Access::Load
        };
        Some(Abort {
            access,
            status: FaultStatus::from_code((self.iss & 0x3F) as u8),
            from_lower_level,
            far_valid: !self.iss_bit(10),
            stage1_walk: self.iss_bit(7),
        })
    }

    /// The capability fault, if this is an abort with a capability fault status.
    pub const fn capability_fault(&self) -> Option<CapabilityFault> {
        match self.abort() {
            Some(Abort { status: FaultStatus::Capability(fault), .. }) => Some(fault),
            _ => None,
        }
    }

    /// The 16-bit immediate of `SVC`, `HVC`, `SMC` and `BRK`.
    pub const fn immediate(&self) -> Option<u16> {
        match self.class {
            ExceptionClass::SupervisorCall
            | ExceptionClass::HypervisorCall
            | ExceptionClass::SecureMonitorCall
            | ExceptionClass::BreakpointInstruction => Some((self.iss & 0xFFFF) as u16),
            _ => None,
        }
    }

    /// The trapped access, for EC 0x18 and 0x2A: op0 at ISS[21:20], op2 [19:17], op1
    /// [16:14], CRn [13:10], Rt/Ct [9:5], CRm [4:1], read [0].
    pub const fn system_register_access(&self) -> Option<SystemRegisterAccess> {
        match self.class {
            ExceptionClass::SystemRegister | ExceptionClass::CapabilitySystemRegister => {}
            _ => return None,
        }
        Some(SystemRegisterAccess {
            encoding: SystemRegisterEncoding {
                op0: self.iss_field(20, 2),
                op1: self.iss_field(14, 3),
                crn: self.iss_field(10, 4),
                crm: self.iss_field(1, 4),
                op2: self.iss_field(17, 3),
            },
            register: self.iss_field(5, 5),
            read: self.iss_bit(0),
        })
    }

    /// FAR holds an address for this exception: aborts without FnV, PC alignment faults
    /// (the misaligned PC) and watchpoints. Otherwise FAR is UNKNOWN.
    pub const fn far_valid(&self) -> bool {
        match self.abort() {
            Some(abort) => abort.far_valid,
            None => matches!(
                self.class,
                ExceptionClass::PcAlignment
                    | ExceptionClass::WatchpointLower
                    | ExceptionClass::WatchpointSame
            ),
        }
    }

    /// A one-line account of the exception, given the FAR and ELR read with the ESR.
    pub const fn describe(&self, far: u64, elr: u64) -> FaultDescription {
        FaultDescription { syndrome: *self, far, elr }
    }
}

/// An exception with its addresses; `Display` gives one line such as `capability bounds
/// fault on a store to 0x40001000 (instruction at 0x80000124, ESR 0x9600006a)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FaultDescription {
    /// The decoded syndrome.
    pub syndrome: Syndrome,
    /// FAR_ELx as read (meaningful only when [`Syndrome::far_valid`]).
    pub far: u64,
    /// ELR_ELx as read: the faulting instruction, or the one after `SVC`/`HVC`/`SMC`.
    pub elr: u64,
}

impl FaultDescription {
    /// The access phrase of an abort: "a store to 0x…", "an instruction fetch from 0x…".
    fn write_access(&self, abort: &Abort, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (phrase, preposition) = match abort.access {
            Access::InstructionFetch => ("an instruction fetch", "from"),
            Access::Load => ("a load", "from"),
            Access::Store => ("a store", "to"),
            Access::CacheMaintenance => ("a cache maintenance operation", "on"),
        };
        if abort.far_valid {
            write!(formatter, "{phrase} {preposition} {:#x}", self.far)
        } else {
            write!(formatter, "{phrase} (address unknown)")
        }
    }

    /// The cause, without the addresses in parentheses.
    fn write_cause(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let syndrome = &self.syndrome;
        if let Some(abort) = syndrome.abort() {
            write!(formatter, "{} on ", abort.status)?;
            return self.write_access(&abort, formatter);
        }
        if let Some(access) = syndrome.system_register_access() {
            return write_system_register_trap(syndrome.class, &access, formatter);
        }
        use ExceptionClass as E;
        let immediate = syndrome.immediate().unwrap_or(0);
        match syndrome.class {
            E::Unknown => formatter.write_str("undefined instruction (unknown reason)"),
            E::Wfx => formatter.write_str("trapped WFI/WFE"),
            E::FloatingPointAccess => formatter.write_str("trapped SIMD/floating-point access"),
            E::IllegalExecutionState => formatter.write_str("illegal execution state"),
            E::SupervisorCall => write!(formatter, "supervisor call #{immediate}"),
            E::HypervisorCall => write!(formatter, "hypervisor call #{immediate}"),
            E::SecureMonitorCall => write!(formatter, "secure monitor call #{immediate}"),
            E::BreakpointInstruction => write!(formatter, "breakpoint instruction #{immediate:#x}"),
            E::PcAlignment => write!(formatter, "PC alignment fault at {:#x}", self.far),
            E::SpAlignment => formatter.write_str("SP alignment fault"),
            E::CapabilityAccess => formatter.write_str(
                "capability instruction or register trapped: capabilities are disabled (CPACR_EL1.CEN, CPTR_ELx)",
            ),
            E::FloatingPointException => formatter.write_str("floating-point exception"),
            E::SError => formatter.write_str("SError interrupt"),
            E::BreakpointLower | E::BreakpointSame => formatter.write_str("hardware breakpoint"),
            E::SoftwareStepLower | E::SoftwareStepSame => formatter.write_str("software step"),
            E::WatchpointLower | E::WatchpointSame => write!(formatter, "watchpoint hit at {:#x}", self.far),
            other => write!(formatter, "exception class {:#04x}", other.code()),
        }
    }
}

/// "capability system register trap on msr CVBAR_EL1, c1 (PCC lacks System)", or the
/// same for a 64-bit register.
fn write_system_register_trap(
    class: ExceptionClass,
    access: &SystemRegisterAccess,
    formatter: &mut fmt::Formatter<'_>,
) -> fmt::Result {
    let capability = class == ExceptionClass::CapabilitySystemRegister;
    formatter.write_str(if capability {
        "capability system register trap on "
    } else {
        "system register trap on "
    })?;
    let (prefix, register) = (if capability { 'c' } else { 'x' }, access.register);
    let name = access
        .capability_register()
        .map(CapabilityRegister::name)
        .or_else(|| access.control_register().map(ControlRegister::name));
    let encoding = access.encoding;
    let write_name = |formatter: &mut fmt::Formatter<'_>| match name {
        Some(name) => formatter.write_str(name),
        None => write!(
            formatter,
            "S{}_{}_C{}_C{}_{}",
            encoding.op0, encoding.op1, encoding.crn, encoding.crm, encoding.op2
        ),
    };
    if access.read {
        write!(formatter, "mrs {prefix}{register}, ")?;
        write_name(formatter)?;
    } else {
        formatter.write_str("msr ")?;
        write_name(formatter)?;
        write!(formatter, ", {prefix}{register}")?;
    }
    if capability {
        formatter.write_str(" (PCC lacks System)")?;
    }
    Ok(())
}

impl fmt::Display for FaultDescription {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_cause(formatter)?;
        let syndrome = &self.syndrome;
        formatter.write_str(" (")?;
        if syndrome.abort().is_some_and(|abort| abort.from_lower_level) {
            formatter.write_str("from a lower EL, ")?;
        }
        let after_instruction = matches!(
            syndrome.class,
            ExceptionClass::SupervisorCall
                | ExceptionClass::HypervisorCall
                | ExceptionClass::SecureMonitorCall
        );
        let label = if after_instruction { "return address" } else { "instruction at" };
        write!(formatter, "{label} {:#x}, ESR {:#x})", self.elr, syndrome.esr)
    }
}

#[cfg(test)]
mod tests;
