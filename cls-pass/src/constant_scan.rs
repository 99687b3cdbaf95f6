//! Finds the CLS symbols inside constants (constant expressions, arrays, structs,
//! vectors), with a memo so that shared sub-expressions are scanned once.

use std::collections::HashMap;

use crate::classify::Classification;
use crate::ir::Value;

/// Answers "which CLS symbols does this constant refer to?" for one module.
#[derive(Debug)]
pub(crate) struct ConstantScanner<'a> {
    classification: &'a Classification,
    contains: HashMap<Value, bool>,
}

impl<'a> ConstantScanner<'a> {
    pub(crate) fn new(classification: &'a Classification) -> ConstantScanner<'a> {
        ConstantScanner { classification, contains: HashMap::new() }
    }

    /// Whether `value` is a CLS symbol or a constant built from one. Other globals are
    /// leaves: what their initializers hold does not matter here.
    pub(crate) fn contains_symbol(&mut self, value: Value) -> bool {
        if self.classification.is_symbol(value) {
            return true;
        }
        if !value.is_constant() || value.is_global_value() || value.is_block_address() {
            return false;
        }
        if let Some(&known) = self.contains.get(&value) {
            return known;
        }
        let found = value.operands().into_iter().any(|operand| self.contains_symbol(operand));
        self.contains.insert(value, found);
        found
    }

    /// The CLS symbols in `value`, each once, in the order they appear; appended to
    /// `symbols` unless already there.
    pub(crate) fn symbols_in(&mut self, value: Value, symbols: &mut Vec<Value>) {
        if self.classification.is_symbol(value) {
            if !symbols.contains(&value) {
                symbols.push(value);
            }
            return;
        }
        if self.contains_symbol(value) {
            for operand in value.operands() {
                self.symbols_in(operand, symbols);
            }
        }
    }
}
