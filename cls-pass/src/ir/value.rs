//! Values, types and basic blocks of the module being transformed.
//!
//! Every method checks the kind of value that the LLVM function it calls expects (the
//! C API casts with `cast<>`, which is undefined behaviour on the wrong kind), so the
//! methods are safe to call on any [`Value`]. Where a query makes no sense for a kind,
//! the method returns `None` or `false` instead of calling LLVM.

use super::sys::core as llvm;
use super::sys::prelude::{LLVMBasicBlockRef, LLVMMetadataRef, LLVMTypeRef, LLVMValueRef};
use super::sys::{LLVMIntPredicate, LLVMOpcode, LLVMRealPredicate, LLVMTypeKind};

/// An LLVM value (global, constant, instruction, argument, ...) of the module being
/// transformed.
///
/// Invariant: the pointer is non-null and was handed out by LLVM during the current run
/// of the pass; the pass deletes no IR, so the value is live until the run ends.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct Value {
    raw: LLVMValueRef,
}

/// An LLVM type (same invariant as [`Value`]; types are never deleted while their
/// context lives).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct Type {
    raw: LLVMTypeRef,
}

/// A basic block of a function of the module (same invariant as [`Value`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct Block {
    raw: LLVMBasicBlockRef,
}

impl Value {
    /// Wraps a pointer returned by LLVM, or `None` for a null pointer.
    ///
    /// # Safety
    /// `raw` must be null or a live value of the module being transformed (see the
    /// type invariant).
    pub(crate) unsafe fn from_raw(raw: LLVMValueRef) -> Option<Value> {
        (!raw.is_null()).then_some(Value { raw })
    }

    /// The raw pointer, for the other wrappers of this module.
    pub(crate) fn raw(self) -> LLVMValueRef {
        self.raw
    }

    /// Calls an `LLVMIsA...` kind test.
    fn is_a(self, test: unsafe extern "C" fn(LLVMValueRef) -> LLVMValueRef) -> bool {
        // SAFETY: `self.raw` is live (type invariant) and the `LLVMIsA...` functions
        // accept any value: they are `dyn_cast`s that return null on a mismatch.
        !unsafe { test(self.raw) }.is_null()
    }

    // ---- kinds --------------------------------------------------------------------

    pub(crate) fn is_global_variable(self) -> bool {
        self.is_a(llvm::LLVMIsAGlobalVariable)
    }

    pub(crate) fn is_global_alias(self) -> bool {
        self.is_a(llvm::LLVMIsAGlobalAlias)
    }

    pub(crate) fn is_global_value(self) -> bool {
        self.is_a(llvm::LLVMIsAGlobalValue)
    }

    pub(crate) fn is_function(self) -> bool {
        self.is_a(llvm::LLVMIsAFunction)
    }

    pub(crate) fn is_constant(self) -> bool {
        self.is_a(llvm::LLVMIsAConstant)
    }

    pub(crate) fn is_constant_expr(self) -> bool {
        self.is_a(llvm::LLVMIsAConstantExpr)
    }

    /// A constant struct, array or vector whose elements are operands (not the packed
    /// `ConstantData...` kinds, which cannot hold a global).
    pub(crate) fn is_constant_aggregate(self) -> bool {
        self.is_a(llvm::LLVMIsAConstantStruct)
            || self.is_a(llvm::LLVMIsAConstantArray)
            || self.is_a(llvm::LLVMIsAConstantVector)
    }

    pub(crate) fn is_vector_typed(self) -> bool {
        self.type_of().kind() == LLVMTypeKind::LLVMVectorTypeKind
            || self.type_of().kind() == LLVMTypeKind::LLVMScalableVectorTypeKind
    }

    pub(crate) fn is_block_address(self) -> bool {
        self.is_a(llvm::LLVMIsABlockAddress)
    }

    pub(crate) fn is_instruction(self) -> bool {
        self.is_a(llvm::LLVMIsAInstruction)
    }

    pub(crate) fn is_phi(self) -> bool {
        self.is_a(llvm::LLVMIsAPHINode)
    }

    pub(crate) fn is_alloca(self) -> bool {
        self.is_a(llvm::LLVMIsAAllocaInst)
    }

    /// `call`, `invoke` or `callbr`.
    pub(crate) fn is_call_like(self) -> bool {
        self.is_a(llvm::LLVMIsACallInst)
            || self.is_a(llvm::LLVMIsAInvokeInst)
            || self.is_a(llvm::LLVMIsACallBrInst)
    }

    /// `landingpad`, `catchpad` or `cleanuppad`: their operands must stay constants.
    pub(crate) fn is_exception_pad(self) -> bool {
        self.is_a(llvm::LLVMIsALandingPadInst) || self.is_a(llvm::LLVMIsAFuncletPadInst)
    }

    pub(crate) fn is_inline_asm(self) -> bool {
        self.is_a(llvm::LLVMIsAInlineAsm)
    }

    pub(crate) fn is_undef_or_poison(self) -> bool {
        self.is_a(llvm::LLVMIsAUndefValue)
    }

    /// Whether the value is a constant whose bits are all zero (`zeroinitializer`,
    /// `null`, `0`).
    pub(crate) fn is_null_constant(self) -> bool {
        // SAFETY: live value (invariant); `LLVMIsNull` `dyn_cast`s to `Constant` and
        // returns false for anything else.
        unsafe { llvm::LLVMIsNull(self.raw) != 0 }
    }

    // ---- names and printing -------------------------------------------------------

    /// The value's name (empty for unnamed values).
    pub(crate) fn name(self) -> String {
        let mut length = 0usize;
        // SAFETY: live value (invariant); `LLVMGetValueName2` works on any value and
        // returns a pointer to `length` bytes owned by the value (or null).
        let pointer = unsafe { llvm::LLVMGetValueName2(self.raw, &mut length) };
        if pointer.is_null() {
            return String::new();
        }
        // SAFETY: LLVM promised `length` readable bytes at `pointer` (checked non-null),
        // valid until the name changes, which cannot happen during this copy.
        let bytes = unsafe { std::slice::from_raw_parts(pointer.cast::<u8>(), length) };
        String::from_utf8_lossy(bytes).into_owned()
    }

    /// Sets the value's name (LLVM makes it unique within the function or module).
    pub(crate) fn set_name(self, name: &str) {
        // SAFETY: live value (invariant); the name is passed with its length, so it
        // needs no NUL terminator, and LLVM copies it.
        unsafe { llvm::LLVMSetValueName2(self.raw, name.as_ptr().cast(), name.len()) }
    }

    /// The value as LLVM prints it, whole (what is parsed, such as an inline-asm
    /// value's constraint string, must not be cut as messages are).
    pub(crate) fn printed(self) -> String {
        // SAFETY: live value (invariant); `LLVMPrintValueToString` accepts any value
        // and returns a fresh message that `take_message` frees.
        unsafe { super::take_message(llvm::LLVMPrintValueToString(self.raw)) }
    }

    /// The value as LLVM prints it in textual IR, shortened for error messages.
    pub(crate) fn describe(self) -> String {
        let text = self.printed().split_whitespace().collect::<Vec<_>>().join(" ");
        match text.char_indices().nth(160) {
            Some((cut, _)) => format!("{} ...", &text[..cut]),
            None => text.to_string(),
        }
    }

    /// The value's own name for messages: `@name`, or its printed form if unnamed.
    pub(crate) fn display_name(self) -> String {
        let name = self.name();
        if name.is_empty() {
            self.describe()
        } else {
            name
        }
    }

    // ---- types --------------------------------------------------------------------

    pub(crate) fn type_of(self) -> Type {
        // SAFETY: live value (invariant); every value has a type.
        Type { raw: unsafe { llvm::LLVMTypeOf(self.raw) } }
    }

    /// For a global value: the type of the object it names (`LLVMGlobalGetValueType`).
    pub(crate) fn global_value_type(self) -> Option<Type> {
        if !self.is_global_value() {
            return None;
        }
        // SAFETY: checked above that the value is a `GlobalValue`.
        Some(Type { raw: unsafe { llvm::LLVMGlobalGetValueType(self.raw) } })
    }

    // ---- uses and operands --------------------------------------------------------

    /// Every user of the value, once per use (a user that uses it twice appears twice).
    pub(crate) fn users(self) -> Vec<Value> {
        let mut users = Vec::new();
        // SAFETY: live value (invariant); `LLVMGetFirstUse` accepts any value.
        let mut next_use = unsafe { llvm::LLVMGetFirstUse(self.raw) };
        while !next_use.is_null() {
            // SAFETY: `next_use` is a non-null use of a live value, read before any IR
            // changes; a use always has a user.
            if let Some(user) = unsafe { Value::from_raw(llvm::LLVMGetUser(next_use)) } {
                users.push(user);
            }
            // SAFETY: as above; returns null after the last use.
            next_use = unsafe { llvm::LLVMGetNextUse(next_use) };
        }
        users
    }

    /// Whether the value is an LLVM `User` (instruction or constant), whose operands
    /// the operand functions may read.
    fn has_operands(self) -> bool {
        self.is_instruction() || self.is_constant()
    }

    /// The number of operands (0 for values that are not users).
    pub(crate) fn operand_count(self) -> u32 {
        if !self.has_operands() {
            return 0;
        }
        // SAFETY: checked above that the value is a `User`.
        let count = unsafe { llvm::LLVMGetNumOperands(self.raw) };
        u32::try_from(count).unwrap_or(0)
    }

    /// Operand `index`, if there is such an operand.
    pub(crate) fn operand(self, index: u32) -> Option<Value> {
        if index >= self.operand_count() {
            return None;
        }
        // SAFETY: the value is a `User` with more than `index` operands (checked by
        // `operand_count`).
        unsafe { Value::from_raw(llvm::LLVMGetOperand(self.raw, index)) }
    }

    /// All operands in order.
    pub(crate) fn operands(self) -> Vec<Value> {
        (0..self.operand_count()).filter_map(|index| self.operand(index)).collect()
    }

    /// Replaces operand `index` of an instruction. Returns false (and changes nothing)
    /// if the value is not an instruction or has no such operand.
    pub(crate) fn set_operand(self, index: u32, new_value: Value) -> bool {
        if !self.is_instruction() || index >= self.operand_count() {
            return false;
        }
        // SAFETY: the value is an instruction with more than `index` operands
        // (checked); the caller built `new_value` with the operand's type.
        unsafe { llvm::LLVMSetOperand(self.raw, index, new_value.raw) };
        true
    }

    // ---- instructions -------------------------------------------------------------

    /// For an instruction: the block that holds it.
    pub(crate) fn block(self) -> Option<Block> {
        if !self.is_instruction() {
            return None;
        }
        // SAFETY: checked above that the value is an instruction.
        let raw = unsafe { llvm::LLVMGetInstructionParent(self.raw) };
        (!raw.is_null()).then_some(Block { raw })
    }

    /// For an instruction: the function that holds it.
    pub(crate) fn function(self) -> Option<Value> {
        self.block().and_then(Block::function)
    }

    /// For an instruction: its debug location, if any.
    pub(crate) fn debug_location(self) -> Option<LLVMMetadataRef> {
        if !self.is_instruction() {
            return None;
        }
        // SAFETY: checked above that the value is an instruction.
        let location = unsafe { super::sys::debuginfo::LLVMInstructionGetDebugLoc(self.raw) };
        (!location.is_null()).then_some(location)
    }

    /// For a `phi`: the block that incoming value `index` comes from.
    pub(crate) fn incoming_block(self, index: u32) -> Option<Block> {
        if !self.is_phi() || index >= self.operand_count() {
            return None;
        }
        // SAFETY: the value is a PHI node with more than `index` incoming values (a
        // PHI has one operand per incoming value; both checked).
        let raw = unsafe { llvm::LLVMGetIncomingBlock(self.raw, index) };
        (!raw.is_null()).then_some(Block { raw })
    }

    /// For a `call`, `invoke` or `callbr`: the callee operand.
    pub(crate) fn called_value(self) -> Option<Value> {
        if !self.is_call_like() {
            return None;
        }
        // SAFETY: checked above that the value is a `CallBase`.
        unsafe { Value::from_raw(llvm::LLVMGetCalledValue(self.raw)) }
    }

    /// For a `call`, `invoke` or `callbr`: the number of arguments (the first operands).
    pub(crate) fn argument_count(self) -> u32 {
        if !self.is_call_like() {
            return 0;
        }
        // SAFETY: checked above that the value is a `CallBase`.
        unsafe { llvm::LLVMGetNumArgOperands(self.raw) }
    }

    // ---- constant expressions -----------------------------------------------------

    /// For a constant expression: its opcode.
    pub(crate) fn constant_opcode(self) -> Option<LLVMOpcode> {
        if !self.is_constant_expr() {
            return None;
        }
        // SAFETY: checked above that the value is a `ConstantExpr`; constant
        // expressions only use opcodes that the `LLVMOpcode` enum lists.
        Some(unsafe { llvm::LLVMGetConstOpcode(self.raw) })
    }

    /// For a `getelementptr` constant expression: the type it indexes into.
    pub(crate) fn gep_source_type(self) -> Option<Type> {
        if self.constant_opcode() != Some(LLVMOpcode::LLVMGetElementPtr) {
            return None;
        }
        // SAFETY: checked above that the value is a GEP constant expression, a
        // `GEPOperator` as `LLVMGetGEPSourceElementType` requires.
        Some(Type { raw: unsafe { llvm::LLVMGetGEPSourceElementType(self.raw) } })
    }

    /// For a `getelementptr` constant expression: whether it is `inbounds`.
    pub(crate) fn is_in_bounds(self) -> bool {
        // SAFETY: `LLVMIsInBounds` needs a `GEPOperator`: checked first that the value
        // is a GEP constant expression.
        self.constant_opcode() == Some(LLVMOpcode::LLVMGetElementPtr)
            && unsafe { llvm::LLVMIsInBounds(self.raw) != 0 }
    }

    /// For an `icmp` constant expression: its predicate.
    pub(crate) fn integer_predicate(self) -> Option<LLVMIntPredicate> {
        if self.constant_opcode() != Some(LLVMOpcode::LLVMICmp) {
            return None;
        }
        // SAFETY: `LLVMGetICmpPredicate` reads the predicate of an `icmp` constant
        // expression (checked above).
        Some(unsafe { llvm::LLVMGetICmpPredicate(self.raw) })
    }

    /// For an `fcmp` constant expression: its predicate.
    pub(crate) fn real_predicate(self) -> Option<LLVMRealPredicate> {
        if self.constant_opcode() != Some(LLVMOpcode::LLVMFCmp) {
            return None;
        }
        // SAFETY: `LLVMGetFCmpPredicate` reads the predicate of an `fcmp` constant
        // expression (checked above).
        Some(unsafe { llvm::LLVMGetFCmpPredicate(self.raw) })
    }

    // ---- functions ----------------------------------------------------------------

    /// For a function: its basic blocks in layout order (empty for a declaration).
    pub(crate) fn blocks(self) -> Vec<Block> {
        let mut blocks = Vec::new();
        if !self.is_function() {
            return blocks;
        }
        // SAFETY: checked above that the value is a function.
        let mut raw = unsafe { llvm::LLVMGetFirstBasicBlock(self.raw) };
        while !raw.is_null() {
            blocks.push(Block { raw });
            // SAFETY: `raw` is a live block of the function (non-null, checked).
            raw = unsafe { llvm::LLVMGetNextBasicBlock(raw) };
        }
        blocks
    }

    /// For a function: its instructions, block by block.
    pub(crate) fn instructions(self) -> Vec<Value> {
        self.blocks().into_iter().flat_map(Block::instructions).collect()
    }
}

impl Type {
    /// Wraps a type returned by LLVM.
    ///
    /// # Safety
    /// `raw` must be a live, non-null type of the module's context.
    pub(crate) unsafe fn from_raw(raw: LLVMTypeRef) -> Type {
        Type { raw }
    }

    pub(crate) fn raw(self) -> LLVMTypeRef {
        self.raw
    }

    pub(crate) fn kind(self) -> LLVMTypeKind {
        // SAFETY: live type (invariant); every type has a kind.
        unsafe { llvm::LLVMGetTypeKind(self.raw) }
    }

    /// For a pointer type: its address space.
    pub(crate) fn address_space(self) -> Option<u32> {
        if self.kind() != LLVMTypeKind::LLVMPointerTypeKind {
            return None;
        }
        // SAFETY: checked above that the type is a pointer type.
        Some(unsafe { llvm::LLVMGetPointerAddressSpace(self.raw) })
    }

    /// Whether a value of this type may hold an address: a pointer, or an array, vector
    /// or struct with one inside. An opaque struct (its body is not known here) may.
    pub(crate) fn may_hold_pointer(self) -> bool {
        match self.kind() {
            LLVMTypeKind::LLVMPointerTypeKind => true,
            LLVMTypeKind::LLVMArrayTypeKind
            | LLVMTypeKind::LLVMVectorTypeKind
            | LLVMTypeKind::LLVMScalableVectorTypeKind => {
                // SAFETY: checked above that the type is an array or vector type, whose
                // element type `LLVMGetElementType` returns (never null).
                Type { raw: unsafe { llvm::LLVMGetElementType(self.raw) } }.may_hold_pointer()
            }
            LLVMTypeKind::LLVMStructTypeKind => {
                // SAFETY: checked above that the type is a struct type.
                if unsafe { llvm::LLVMIsOpaqueStruct(self.raw) } != 0 {
                    return true;
                }
                // SAFETY: as above; the body of a non-opaque struct is known.
                let count = unsafe { llvm::LLVMCountStructElementTypes(self.raw) };
                (0..count).any(|index| {
                    // SAFETY: a struct type and an index below its element count.
                    Type { raw: unsafe { llvm::LLVMStructGetTypeAtIndex(self.raw, index) } }
                        .may_hold_pointer()
                })
            }
            _ => false,
        }
    }

    /// The type as textual IR.
    pub(crate) fn describe(self) -> String {
        // SAFETY: live type (invariant); the message is freed by `take_message`.
        unsafe { super::take_message(llvm::LLVMPrintTypeToString(self.raw)) }
    }
}

impl Block {
    /// The function that holds the block.
    pub(crate) fn function(self) -> Option<Value> {
        // SAFETY: live block (invariant); returns null for a block not in a function.
        unsafe { Value::from_raw(llvm::LLVMGetBasicBlockParent(self.raw)) }
    }

    /// The block's instructions in order.
    pub(crate) fn instructions(self) -> Vec<Value> {
        let mut instructions = Vec::new();
        // SAFETY: live block (invariant).
        let mut raw = unsafe { llvm::LLVMGetFirstInstruction(self.raw) };
        while !raw.is_null() {
            // SAFETY: non-null instruction of a live block.
            instructions.extend(unsafe { Value::from_raw(raw) });
            // SAFETY: as above; returns null after the last instruction.
            raw = unsafe { llvm::LLVMGetNextInstruction(raw) };
        }
        instructions
    }

    /// The block's terminator, if it has one yet.
    pub(crate) fn terminator(self) -> Option<Value> {
        // SAFETY: live block (invariant); null if the block is not terminated.
        unsafe { Value::from_raw(llvm::LLVMGetBasicBlockTerminator(self.raw)) }
    }
}
