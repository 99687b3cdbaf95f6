//! Turns a constant that contains CLS symbols into instructions that compute the same
//! value from the per-cVM addresses.
//!
//! `getelementptr inbounds ([4 x i32], [4 x i32]* @g, i64 0, i64 2)` used by an
//! instruction becomes `getelementptr inbounds [4 x i32], [4 x i32]* %g.cls, i64 0,
//! i64 2`, placed right before that instruction (before the end of the incoming block
//! for a `phi`). Casts, `getelementptr`, binary operators, `icmp`, `fcmp`, `select`,
//! `extractelement`, `insertelement` and struct, array and vector constants are
//! expanded, recursively; sub-constants without CLS symbols stay constants. Anything
//! else is reported as `ClsError::Unexpandable`, never left behind.
//!
//! Flags that the C API cannot read from a constant expression (`nuw`, `nsw`,
//! `exact`, `inrange`) are dropped, which only removes optimisation hints.

use std::collections::HashMap;

use crate::constant_scan::ConstantScanner;
use crate::ir::sys::LLVMOpcode;
use crate::ir::{is_binary, is_cast, Builder, Module, Value};

/// Materialises constants before one instruction.
#[derive(Debug)]
pub(crate) struct Expander<'m, 'b> {
    module: &'m Module,
    builder: &'b mut Builder,
    /// CLS symbol -> its per-cVM address in this function.
    addresses: &'b HashMap<Value, Value>,
}

/// Why a constant could not be expanded: the constant that stopped it.
#[derive(Debug)]
pub(crate) struct Unexpandable(pub(crate) Value);

impl<'m, 'b> Expander<'m, 'b> {
    /// An expander whose builder is already positioned where the instructions go.
    pub(crate) fn new(
        module: &'m Module,
        builder: &'b mut Builder,
        addresses: &'b HashMap<Value, Value>,
    ) -> Expander<'m, 'b> {
        Expander { module, builder, addresses }
    }

    /// The value that replaces `constant`: its per-cVM address for a CLS symbol, new
    /// instructions for a constant built from CLS symbols, `constant` itself otherwise.
    pub(crate) fn materialise(
        &mut self,
        constant: Value,
        scanner: &mut ConstantScanner<'_>,
    ) -> Result<Value, Unexpandable> {
        if let Some(&address) = self.addresses.get(&constant) {
            return Ok(address);
        }
        if !scanner.contains_symbol(constant) {
            return Ok(constant);
        }
        if constant.is_constant_aggregate() {
            return self.aggregate(constant, scanner);
        }
        let Some(opcode) = constant.constant_opcode() else { return Err(Unexpandable(constant)) };
        let mut operands = Vec::new();
        for operand in constant.operands() {
            operands.push(self.materialise(operand, scanner)?);
        }
        self.instruction(constant, opcode, &operands).ok_or(Unexpandable(constant))
    }

    /// The instruction equivalent to constant expression `constant` with `operands`.
    fn instruction(&mut self, constant: Value, opcode: LLVMOpcode, operands: &[Value]) -> Option<Value> {
        use LLVMOpcode::*;
        match (opcode, operands) {
            (LLVMGetElementPtr, [pointer, indices @ ..]) => {
                let source_type = constant.gep_source_type()?;
                self.builder.gep(source_type, *pointer, indices, constant.is_in_bounds())
            }
            (_, [value]) if is_cast(opcode) => self.builder.cast(opcode, *value, constant.type_of()),
            (_, [left, right]) if is_binary(opcode) => self.builder.binary(opcode, *left, *right),
            (LLVMICmp, [left, right]) => {
                self.builder.integer_compare(constant.integer_predicate()?, *left, *right)
            }
            (LLVMFCmp, [left, right]) => self.builder.real_compare(constant.real_predicate()?, *left, *right),
            (LLVMSelect, [condition, if_true, if_false]) => {
                self.builder.select(*condition, *if_true, *if_false)
            }
            (LLVMExtractElement, [vector, index]) => self.builder.extract_element(*vector, *index),
            (LLVMInsertElement, [vector, element, index]) => {
                self.builder.insert_element(*vector, *element, *index)
            }
            _ => None,
        }
    }

    /// A struct, array or vector constant: `undef`, then one `insertvalue` or
    /// `insertelement` per element.
    fn aggregate(
        &mut self,
        constant: Value,
        scanner: &mut ConstantScanner<'_>,
    ) -> Result<Value, Unexpandable> {
        let mut aggregate = self.module.undef(constant.type_of()).ok_or(Unexpandable(constant))?;
        let vector = constant.is_vector_typed();
        for (index, element) in constant.operands().into_iter().enumerate() {
            let element = self.materialise(element, scanner)?;
            let index = u32::try_from(index).map_err(|_| Unexpandable(constant))?;
            let inserted = if vector {
                let position =
                    self.builder.index_constant(self.module, index).ok_or(Unexpandable(constant))?;
                self.builder.insert_element(aggregate, element, position)
            } else {
                self.builder.insert_value(aggregate, element, index)
            };
            aggregate = inserted.ok_or(Unexpandable(constant))?;
        }
        Ok(aggregate)
    }
}
