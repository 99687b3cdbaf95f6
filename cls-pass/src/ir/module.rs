//! The module being transformed: its globals, aliases and functions, and the few
//! module-level constructors the pass needs (types, declarations, attributes).

use std::ffi::CString;

use super::sys::core as llvm;
use super::sys::prelude::{LLVMContextRef, LLVMModuleRef, LLVMValueRef};
use super::{Type, Value};

/// The module a run of the pass transforms.
///
/// Invariant: `raw` is the live module that LLVM passed to the pass; the wrapper lives
/// no longer than that run.
#[derive(Debug)]
pub(crate) struct Module {
    raw: LLVMModuleRef,
    context: LLVMContextRef,
}

impl Module {
    /// Wraps the module given to the pass by inkwell.
    pub(crate) fn new(module: &llvm_plugin::inkwell::module::Module<'_>) -> Module {
        let raw = module.as_mut_ptr();
        // SAFETY: inkwell's `Module` holds a live module pointer; every module belongs
        // to a context.
        let context = unsafe { llvm::LLVMGetModuleContext(raw) };
        Module { raw, context }
    }

    pub(crate) fn context(&self) -> LLVMContextRef {
        self.context
    }

    /// Collects a module list (`LLVMGetFirst...`/`LLVMGetNext...`).
    fn collect(
        &self,
        first: unsafe extern "C" fn(LLVMModuleRef) -> LLVMValueRef,
        next: unsafe extern "C" fn(LLVMValueRef) -> LLVMValueRef,
    ) -> Vec<Value> {
        let mut values = Vec::new();
        // SAFETY: `self.raw` is the live module (invariant); the `LLVMGetFirst...`
        // functions accept any module.
        let mut raw = unsafe { first(self.raw) };
        // SAFETY: a non-null value from the module list is live.
        while let Some(value) = unsafe { Value::from_raw(raw) } {
            values.push(value);
            // SAFETY: `raw` is a live element of the list that `next` walks (the
            // caller pairs each `first` with its own `next`).
            raw = unsafe { next(raw) };
        }
        values
    }

    /// Every global variable, in module order.
    pub(crate) fn global_variables(&self) -> Vec<Value> {
        self.collect(llvm::LLVMGetFirstGlobal, llvm::LLVMGetNextGlobal)
    }

    /// Every global alias, in module order.
    pub(crate) fn global_aliases(&self) -> Vec<Value> {
        self.collect(llvm::LLVMGetFirstGlobalAlias, llvm::LLVMGetNextGlobalAlias)
    }

    /// Every function (definitions and declarations), in module order.
    pub(crate) fn functions(&self) -> Vec<Value> {
        self.collect(llvm::LLVMGetFirstFunction, llvm::LLVMGetNextFunction)
    }

    /// The function called `name`, if the module declares or defines one.
    pub(crate) fn named_function(&self, name: &str) -> Option<Value> {
        let name = CString::new(name).ok()?;
        // SAFETY: live module (invariant) and a NUL-terminated name.
        unsafe { Value::from_raw(llvm::LLVMGetNamedFunction(self.raw, name.as_ptr())) }
    }

    /// Declares a function called `name` of type `function_type`.
    pub(crate) fn add_function(&self, name: &str, function_type: Type) -> Option<Value> {
        let name = CString::new(name).ok()?;
        // SAFETY: live module (invariant), a NUL-terminated name and a function type of
        // the module's context (built by `function_type`).
        unsafe { Value::from_raw(llvm::LLVMAddFunction(self.raw, name.as_ptr(), function_type.raw())) }
    }

    /// `i8*` in address space 0 (`ptr` when pointers are opaque).
    pub(crate) fn byte_pointer_type(&self) -> Type {
        // SAFETY: the module's live context; `i8` is a valid pointee type.
        unsafe { Type::from_raw(llvm::LLVMPointerType(llvm::LLVMInt8TypeInContext(self.context), 0)) }
    }

    /// `i8` and `i64`.
    pub(crate) fn byte_and_word_types(&self) -> (Type, Type) {
        // SAFETY: the module's live context.
        unsafe {
            (
                Type::from_raw(llvm::LLVMInt8TypeInContext(self.context)),
                Type::from_raw(llvm::LLVMInt64TypeInContext(self.context)),
            )
        }
    }

    /// The non-variadic function type `result (parameters...)`.
    pub(crate) fn function_type(&self, result: Type, parameters: &[Type]) -> Type {
        let mut raw_parameters: Vec<_> = parameters.iter().map(|parameter| parameter.raw()).collect();
        let count = u32::try_from(raw_parameters.len()).unwrap_or(u32::MAX);
        // SAFETY: the types are live types of the module's context; LLVM reads `count`
        // entries of the array, which has exactly that many.
        unsafe { Type::from_raw(llvm::LLVMFunctionType(result.raw(), raw_parameters.as_mut_ptr(), count, 0)) }
    }

    /// The type of the function `function` (its value type), with its result and
    /// parameter types.
    pub(crate) fn signature(&self, function: Value) -> Option<(Type, Type, Vec<Type>)> {
        if !function.is_function() {
            return None;
        }
        let function_type = function.global_value_type()?;
        // SAFETY: the value type of a function is a function type (checked that the
        // value is a function).
        let result = unsafe { Type::from_raw(llvm::LLVMGetReturnType(function_type.raw())) };
        // SAFETY: as above.
        let count = unsafe { llvm::LLVMCountParamTypes(function_type.raw()) };
        let mut raw_parameters = vec![std::ptr::null_mut(); count as usize];
        // SAFETY: as above; the buffer has room for the `count` parameter types.
        unsafe { llvm::LLVMGetParamTypes(function_type.raw(), raw_parameters.as_mut_ptr()) };
        // SAFETY: LLVM filled every slot with a live type.
        let parameters = raw_parameters.into_iter().map(|raw| unsafe { Type::from_raw(raw) }).collect();
        Some((function_type, result, parameters))
    }

    /// Adds the enum attribute `name` (with integer payload `payload`, 0 for plain
    /// flags) to a function. Returns false if this LLVM does not know the attribute.
    pub(crate) fn add_function_attribute(&self, function: Value, name: &str, payload: u64) -> bool {
        if !function.is_function() {
            return false;
        }
        // SAFETY: the name is passed with its length and needs no terminator.
        let kind = unsafe { llvm::LLVMGetEnumAttributeKindForName(name.as_ptr().cast(), name.len()) };
        if kind == 0 {
            return false;
        }
        // SAFETY: live context (invariant) and a kind LLVM just reported as valid.
        let attribute = unsafe { llvm::LLVMCreateEnumAttribute(self.context, kind, payload) };
        // SAFETY: the value is a function (checked above) and the attribute belongs to
        // its context.
        unsafe {
            llvm::LLVMAddAttributeAtIndex(function.raw(), super::sys::LLVMAttributeFunctionIndex, attribute)
        };
        true
    }

    /// The constant `bitcast (value to target)`, or `value` itself if it already has
    /// that type. Both must be pointers in the same address space.
    pub(crate) fn constant_pointer_cast(&self, value: Value, target: Type) -> Value {
        if value.type_of() == target {
            return value;
        }
        // SAFETY: the caller passes a constant pointer and a pointer type of the same
        // address space (checked by the caller), for which a bitcast is valid.
        unsafe { Value::from_raw(llvm::LLVMConstBitCast(value.raw(), target.raw())) }.unwrap_or(value)
    }

    /// `undef` of `value_type`.
    pub(crate) fn undef(&self, value_type: Type) -> Option<Value> {
        // SAFETY: a live type of the module's context.
        unsafe { Value::from_raw(llvm::LLVMGetUndef(value_type.raw())) }
    }
}
