//! Rewrites the uses of CLS symbols inside one function body.
//!
//! For a function that uses CLS symbols `g1`, `g2`, ..., the entry block gets, after
//! its leading `alloca`s, one call per symbol:
//!
//! ```llvm
//! %g1.cls.raw = call i8* @__cls_get_addr(i8* bitcast (i32* @g1 to i8*))
//! %g1.cls = bitcast i8* %g1.cls.raw to i32*
//! ```
//!
//! (`%g1.cls = call ptr @__cls_get_addr(ptr @g1)` with opaque pointers). The entry
//! block dominates every block, so every use can take `%g1.cls` instead of `@g1`:
//! direct operands, operands of `phi`, `select`, `icmp`, call arguments, stored
//! addresses, and constant expressions, which [`crate::expand`] turns into
//! instructions first (before the user, or at the end of the incoming block for a
//! `phi`). A loop therefore never calls `__cls_get_addr`.
//!
//! Uses that cannot take a run-time address are errors: inline-asm operands whose
//! constraint only accepts constants, and exception-handling clauses.

use std::collections::HashMap;
use std::ffi::CString;

use crate::constant_scan::ConstantScanner;
use crate::diagnostics::ClsError;
use crate::expand::{Expander, Unexpandable};
use crate::inline_asm;
use crate::ir::sys::LLVMOpcode;
use crate::ir::{Block, Builder, Module, Value};
use crate::placement;
use crate::runtime_function::{self, RuntimeFunction};

/// One operand to rewrite: operand `index` of `user` is the constant `constant`.
#[derive(Debug, Clone, Copy)]
struct Site {
    user: Value,
    index: u32,
    constant: Value,
}

/// Rewrites the functions of one module.
#[derive(Debug)]
pub(crate) struct Rewriter<'a> {
    module: &'a Module,
    scanner: ConstantScanner<'a>,
    /// `None` until first needed, then the declaration (or `None` if refused).
    runtime: Option<Option<RuntimeFunction>>,
    errors: Vec<ClsError>,
}

impl<'a> Rewriter<'a> {
    pub(crate) fn new(module: &'a Module, scanner: ConstantScanner<'a>) -> Rewriter<'a> {
        Rewriter { module, scanner, runtime: None, errors: Vec::new() }
    }

    /// The errors found.
    pub(crate) fn finish(self) -> Vec<ClsError> {
        self.errors
    }

    /// Rewrites one function; returns whether it changed.
    pub(crate) fn rewrite_function(&mut self, function: Value) -> bool {
        if function.name() == runtime_function::NAME {
            return false;
        }
        let blocks = function.blocks();
        let Some(&entry) = blocks.first() else { return false };
        let sites = self.collect_sites(function);
        if sites.is_empty() {
            return false;
        }
        let Some(runtime) = self.runtime() else { return false };
        let mut symbols = Vec::new();
        for site in &sites {
            self.scanner.symbols_in(site.constant, &mut symbols);
        }
        let mut builder = Builder::new(self.module);
        let addresses = self.entry_calls(&mut builder, entry, runtime, &symbols);
        let mut phi_values: HashMap<(Value, Block, Value), Value> = HashMap::new();
        for site in sites {
            self.rewrite_site(function, site, &mut builder, &addresses, &mut phi_values);
        }
        true
    }

    /// The run-time function, declared on first need (a refused declaration is
    /// reported once).
    fn runtime(&mut self) -> Option<RuntimeFunction> {
        if self.runtime.is_none() {
            let declared = runtime_function::declare(self.module);
            if let Err(error) = &declared {
                self.errors.push(error.clone());
            }
            self.runtime = Some(declared.ok());
        }
        self.runtime.flatten()
    }

    /// The operands of `function`'s instructions that hold CLS symbols; operands that
    /// can never take a run-time value are reported instead.
    fn collect_sites(&mut self, function: Value) -> Vec<Site> {
        let mut sites = Vec::new();
        for user in function.instructions() {
            let callee = user.called_value();
            if callee.is_some_and(|callee| callee.name() == runtime_function::NAME) {
                continue; // already a template address handed to the run-time function
            }
            let inline_asm = callee.filter(|callee| callee.is_inline_asm());
            for (index, constant) in (0..).zip(user.operands()) {
                if !self.scanner.contains_symbol(constant) {
                    continue;
                }
                if user.is_exception_pad() {
                    let global = self.first_symbol(constant);
                    self.errors.push(ClsError::ExceptionPad {
                        function: function.display_name(),
                        global,
                        instruction: user.describe(),
                    });
                    continue;
                }
                if let Some(asm) = inline_asm.filter(|_| index < user.argument_count()) {
                    let constraint = inline_asm::constraint_string(&asm.printed())
                        .and_then(|constraints| inline_asm::constraint_of_argument(&constraints, index))
                        .unwrap_or_else(|| "?".to_string());
                    if !inline_asm::accepts_run_time_value(&constraint) {
                        let global = self.first_symbol(constant);
                        self.errors.push(ClsError::InlineAsmOperand {
                            function: function.display_name(),
                            global,
                            constraint,
                        });
                        continue;
                    }
                }
                sites.push(Site { user, index, constant });
            }
        }
        sites
    }

    /// The name of the first CLS symbol in `constant`, for messages.
    fn first_symbol(&mut self, constant: Value) -> String {
        let mut symbols = Vec::new();
        self.scanner.symbols_in(constant, &mut symbols);
        symbols.first().map(|symbol| symbol.display_name()).unwrap_or_default()
    }

    /// Creates one `__cls_get_addr` call per symbol at the top of the entry block,
    /// after its leading `alloca`s; returns symbol -> per-cVM address.
    ///
    /// This module's own templates (defined here, not interposable) share one call: an
    /// object's templates are one range with one offset to the cVM's instance of it, so
    /// each lies as far from the first one's per-cVM address as its template lies from
    /// the first one's template:
    ///
    /// ```llvm
    /// %a.cls = call ptr @__cls_get_addr(ptr @a)
    /// %b.cls = getelementptr i8, ptr %a.cls, i64 sub (i64 ptrtoint (ptr @b to i64), i64 ptrtoint (ptr @a to i64))
    /// ```
    fn entry_calls(
        &mut self,
        builder: &mut Builder,
        entry: Block,
        runtime: RuntimeFunction,
        symbols: &[Value],
    ) -> HashMap<Value, Value> {
        let mut addresses = HashMap::new();
        let instructions = entry.instructions();
        let anchor = instructions.iter().copied().find(|instruction| {
            !instruction.is_alloca()
                || instruction.operands().into_iter().any(|operand| self.scanner.contains_symbol(operand))
        });
        let Some(anchor) = anchor else { return addresses };
        builder.position_before(anchor, None);
        let own = symbols.iter().filter(|symbol| is_own_template(**symbol)).count();
        let mut first_own: Option<(Value, Value)> = None;
        for &symbol in symbols {
            let typed = symbol.type_of() != runtime.pointer_type;
            let base_name =
                if symbol.name().is_empty() { "cls".to_string() } else { format!("{}.cls", symbol.name()) };
            let raw_name = if typed { format!("{base_name}.raw") } else { base_name.clone() };
            let own_symbol = is_own_template(symbol);
            let raw = match first_own.filter(|_| own_symbol) {
                Some((first, first_address)) => self.same_offset(builder, first, first_address, symbol),
                None => {
                    let argument = self.module.constant_pointer_cast(symbol, runtime.pointer_type);
                    let call_name = CString::new(raw_name.clone()).unwrap_or_default();
                    let call = builder.call(runtime.function_type, runtime.function, &[argument], &call_name);
                    if own >= 2 && own_symbol {
                        first_own = call.map(|call| (symbol, call));
                    }
                    call
                }
            };
            let Some(raw) = raw else { continue };
            raw.set_name(&raw_name);
            let address = if typed {
                let cast = builder.cast(LLVMOpcode::LLVMBitCast, raw, symbol.type_of());
                if let Some(cast) = cast {
                    cast.set_name(&base_name);
                }
                cast
            } else {
                Some(raw)
            };
            if let Some(address) = address {
                addresses.insert(symbol, address);
            }
        }
        addresses
    }

    /// `symbol`'s per-cVM address (as `i8*`), from `first`'s (`first_address`, the
    /// result of its call): the same distance apart as their templates.
    fn same_offset(
        &self,
        builder: &mut Builder,
        first: Value,
        first_address: Value,
        symbol: Value,
    ) -> Option<Value> {
        let (byte, word) = self.module.byte_and_word_types();
        let to_word =
            |builder: &mut Builder, template: Value| builder.cast(LLVMOpcode::LLVMPtrToInt, template, word);
        let distance = match (to_word(builder, symbol), to_word(builder, first)) {
            (Some(symbol), Some(first)) => builder.binary(LLVMOpcode::LLVMSub, symbol, first)?,
            _ => return None,
        };
        builder.gep(byte, first_address, &[distance], false)
    }

    /// Replaces one operand by its per-cVM equivalent.
    fn rewrite_site(
        &mut self,
        function: Value,
        site: Site,
        builder: &mut Builder,
        addresses: &HashMap<Value, Value>,
        phi_values: &mut HashMap<(Value, Block, Value), Value>,
    ) {
        let incoming = site.user.incoming_block(site.index);
        let key = incoming.map(|block| (site.user, block, site.constant));
        if let Some(&known) = key.and_then(|key| phi_values.get(&key)) {
            site.user.set_operand(site.index, known);
            return;
        }
        let point = match incoming {
            Some(block) => block.terminator(),
            None => Some(site.user),
        };
        let Some(point) = point else {
            self.errors.push(self.unrewritten(function, site));
            return;
        };
        builder.position_before(point, None);
        let mut expander = Expander::new(self.module, builder, addresses);
        match expander.materialise(site.constant, &mut self.scanner) {
            Ok(value) if site.user.set_operand(site.index, value) => {
                if let Some(key) = key {
                    phi_values.insert(key, value);
                }
            }
            Ok(_) => self.errors.push(self.unrewritten(function, site)),
            Err(Unexpandable(constant)) => {
                let symbol = self.first_symbol(site.constant);
                self.errors.push(ClsError::Unexpandable {
                    function: function.display_name(),
                    global: symbol,
                    constant: constant.describe(),
                });
            }
        }
    }

    fn unrewritten(&self, function: Value, site: Site) -> ClsError {
        ClsError::Unrewritten {
            function: function.display_name(),
            global: site.constant.display_name(),
            user: site.user.describe(),
        }
    }
}

/// Whether `symbol` is a template of this module that no other object can interpose:
/// its per-cVM address is the first such template's plus their distance.
pub(crate) fn is_own_template(symbol: Value) -> bool {
    symbol.is_global_variable()
        && symbol.is_local_definition()
        && symbol.section().is_some_and(|section| {
            [placement::DATA_SECTION, placement::BSS_SECTION]
                .iter()
                .any(|known| known.to_bytes() == section.as_bytes())
        })
}
