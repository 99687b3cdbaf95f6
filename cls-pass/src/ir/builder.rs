//! An instruction builder: creates the `__cls_get_addr` calls and the instructions
//! that replace constant expressions.
//!
//! The builder is always positioned before an existing instruction, so every
//! instruction it creates lands inside a function body. The callers pass operands of
//! the types LLVM expects (they copy them from the constant expression being expanded,
//! which LLVM already type-checked); the `LLVMBuild...` functions assert on mismatches
//! in debug builds of LLVM only, so [`Builder`] checks the opcode class itself.

use std::ffi::CStr;

use super::sys::core as llvm;
use super::sys::prelude::{LLVMBuilderRef, LLVMMetadataRef};
use super::sys::{LLVMIntPredicate, LLVMOpcode, LLVMRealPredicate};
use super::{Module, Type, Value};

/// An IR builder (disposed on drop).
///
/// Invariant: `raw` is a builder created in the module's context and not yet disposed.
#[derive(Debug)]
pub(crate) struct Builder {
    raw: LLVMBuilderRef,
    positioned: bool,
}

/// An empty value name: LLVM numbers the value.
const UNNAMED: &CStr = c"";

impl Builder {
    pub(crate) fn new(module: &Module) -> Builder {
        // SAFETY: the module's live context.
        let raw = unsafe { llvm::LLVMCreateBuilderInContext(module.context()) };
        Builder { raw, positioned: false }
    }

    /// Places new instructions right before `instruction`, with its debug location
    /// (or `location` if given).
    pub(crate) fn position_before(&mut self, instruction: Value, location: Option<LLVMMetadataRef>) {
        if !instruction.is_instruction() {
            return;
        }
        // SAFETY: live builder (invariant) and an instruction inside a function
        // (checked above).
        unsafe { llvm::LLVMPositionBuilderBefore(self.raw, instruction.raw()) };
        let location = location.or_else(|| instruction.debug_location()).unwrap_or(std::ptr::null_mut());
        // SAFETY: live builder; the location is null (none) or a `DILocation` read from
        // an instruction of the same function.
        unsafe { llvm::LLVMSetCurrentDebugLocation2(self.raw, location) };
        self.positioned = true;
    }

    /// Wraps the result of an `LLVMBuild...` call.
    fn built(&self, raw: super::sys::prelude::LLVMValueRef) -> Option<Value> {
        // SAFETY: the builder returns null or the live instruction (or folded constant)
        // it just created.
        unsafe { Value::from_raw(raw) }
    }

    /// `call function_type callee(arguments...)`, named `name`.
    pub(crate) fn call(
        &mut self,
        function_type: Type,
        callee: Value,
        arguments: &[Value],
        name: &CStr,
    ) -> Option<Value> {
        if !self.positioned {
            return None;
        }
        let mut raw_arguments: Vec<_> = arguments.iter().map(|argument| argument.raw()).collect();
        let count = u32::try_from(raw_arguments.len()).ok()?;
        // SAFETY: positioned live builder; `count` matches the array; the caller passes
        // a function of type `function_type` and arguments of its parameter types.
        let raw = unsafe {
            llvm::LLVMBuildCall2(
                self.raw,
                function_type.raw(),
                callee.raw(),
                raw_arguments.as_mut_ptr(),
                count,
                name.as_ptr(),
            )
        };
        self.built(raw)
    }

    /// A cast instruction (`bitcast`, `ptrtoint`, `addrspacecast`, `trunc`, ...).
    pub(crate) fn cast(&mut self, opcode: LLVMOpcode, value: Value, target: Type) -> Option<Value> {
        if !self.positioned || !is_cast(opcode) {
            return None;
        }
        // SAFETY: positioned live builder and a cast opcode (checked); the operand and
        // target type come from a constant cast LLVM already validated.
        let raw =
            unsafe { llvm::LLVMBuildCast(self.raw, opcode, value.raw(), target.raw(), UNNAMED.as_ptr()) };
        self.built(raw)
    }

    /// `getelementptr [inbounds] source_type, pointer, indices...`.
    pub(crate) fn gep(
        &mut self,
        source_type: Type,
        pointer: Value,
        indices: &[Value],
        in_bounds: bool,
    ) -> Option<Value> {
        if !self.positioned {
            return None;
        }
        let mut raw_indices: Vec<_> = indices.iter().map(|index| index.raw()).collect();
        let count = u32::try_from(raw_indices.len()).ok()?;
        let build = if in_bounds { llvm::LLVMBuildInBoundsGEP2 } else { llvm::LLVMBuildGEP2 };
        // SAFETY: positioned live builder; `count` matches the array; operands and the
        // source type come from a GEP constant expression LLVM already validated.
        let raw = unsafe {
            build(
                self.raw,
                source_type.raw(),
                pointer.raw(),
                raw_indices.as_mut_ptr(),
                count,
                UNNAMED.as_ptr(),
            )
        };
        self.built(raw)
    }

    /// A binary operator (`add`, `sub`, `and`, ...).
    pub(crate) fn binary(&mut self, opcode: LLVMOpcode, left: Value, right: Value) -> Option<Value> {
        if !self.positioned || !is_binary(opcode) {
            return None;
        }
        // SAFETY: positioned live builder and a binary opcode (checked); operands of
        // equal type copied from a validated constant expression.
        let raw =
            unsafe { llvm::LLVMBuildBinOp(self.raw, opcode, left.raw(), right.raw(), UNNAMED.as_ptr()) };
        self.built(raw)
    }

    /// `icmp predicate left, right`.
    pub(crate) fn integer_compare(
        &mut self,
        predicate: LLVMIntPredicate,
        left: Value,
        right: Value,
    ) -> Option<Value> {
        if !self.positioned {
            return None;
        }
        // SAFETY: positioned live builder; operands of equal integer or pointer type
        // copied from a validated `icmp` constant expression.
        let raw =
            unsafe { llvm::LLVMBuildICmp(self.raw, predicate, left.raw(), right.raw(), UNNAMED.as_ptr()) };
        self.built(raw)
    }

    /// `fcmp predicate left, right`.
    pub(crate) fn real_compare(
        &mut self,
        predicate: LLVMRealPredicate,
        left: Value,
        right: Value,
    ) -> Option<Value> {
        if !self.positioned {
            return None;
        }
        // SAFETY: positioned live builder; operands copied from a validated `fcmp`
        // constant expression.
        let raw =
            unsafe { llvm::LLVMBuildFCmp(self.raw, predicate, left.raw(), right.raw(), UNNAMED.as_ptr()) };
        self.built(raw)
    }

    /// `select condition, if_true, if_false`.
    pub(crate) fn select(&mut self, condition: Value, if_true: Value, if_false: Value) -> Option<Value> {
        if !self.positioned {
            return None;
        }
        // SAFETY: positioned live builder; operands copied from a validated `select`
        // constant expression.
        let raw = unsafe {
            llvm::LLVMBuildSelect(self.raw, condition.raw(), if_true.raw(), if_false.raw(), UNNAMED.as_ptr())
        };
        self.built(raw)
    }

    /// `insertvalue aggregate, element, index`.
    pub(crate) fn insert_value(&mut self, aggregate: Value, element: Value, index: u32) -> Option<Value> {
        if !self.positioned {
            return None;
        }
        // SAFETY: positioned live builder; the caller passes element `index` of a
        // struct or array constant with that element's type.
        let raw = unsafe {
            llvm::LLVMBuildInsertValue(self.raw, aggregate.raw(), element.raw(), index, UNNAMED.as_ptr())
        };
        self.built(raw)
    }

    /// `insertelement vector, element, index`.
    pub(crate) fn insert_element(&mut self, vector: Value, element: Value, index: Value) -> Option<Value> {
        if !self.positioned {
            return None;
        }
        // SAFETY: positioned live builder; the caller passes a vector, an element of
        // its element type and an integer index.
        let raw = unsafe {
            llvm::LLVMBuildInsertElement(self.raw, vector.raw(), element.raw(), index.raw(), UNNAMED.as_ptr())
        };
        self.built(raw)
    }

    /// `extractelement vector, index`.
    pub(crate) fn extract_element(&mut self, vector: Value, index: Value) -> Option<Value> {
        if !self.positioned {
            return None;
        }
        // SAFETY: positioned live builder; operands copied from a validated
        // `extractelement` constant expression.
        let raw =
            unsafe { llvm::LLVMBuildExtractElement(self.raw, vector.raw(), index.raw(), UNNAMED.as_ptr()) };
        self.built(raw)
    }

    /// The constant `i32 index`.
    pub(crate) fn index_constant(&self, module: &Module, index: u32) -> Option<Value> {
        // SAFETY: the module's live context; `LLVMConstInt` accepts any integer type.
        let raw = unsafe {
            llvm::LLVMConstInt(llvm::LLVMInt32TypeInContext(module.context()), u64::from(index), 0)
        };
        self.built(raw)
    }
}

impl Drop for Builder {
    fn drop(&mut self) {
        // SAFETY: the builder was created in `new` and is disposed exactly once, here.
        unsafe { llvm::LLVMDisposeBuilder(self.raw) }
    }
}

/// Whether `opcode` is a cast.
pub(crate) fn is_cast(opcode: LLVMOpcode) -> bool {
    use LLVMOpcode::*;
    matches!(
        opcode,
        LLVMTrunc
            | LLVMZExt
            | LLVMSExt
            | LLVMFPToUI
            | LLVMFPToSI
            | LLVMUIToFP
            | LLVMSIToFP
            | LLVMFPTrunc
            | LLVMFPExt
            | LLVMPtrToInt
            | LLVMIntToPtr
            | LLVMBitCast
            | LLVMAddrSpaceCast
    )
}

/// Whether `opcode` is a binary operator.
pub(crate) fn is_binary(opcode: LLVMOpcode) -> bool {
    use LLVMOpcode::*;
    matches!(
        opcode,
        LLVMAdd
            | LLVMFAdd
            | LLVMSub
            | LLVMFSub
            | LLVMMul
            | LLVMFMul
            | LLVMUDiv
            | LLVMSDiv
            | LLVMFDiv
            | LLVMURem
            | LLVMSRem
            | LLVMFRem
            | LLVMShl
            | LLVMLShr
            | LLVMAShr
            | LLVMAnd
            | LLVMOr
            | LLVMXor
    )
}
