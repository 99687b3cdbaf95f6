//! Registration with LLVM: the `llvmGetPassPluginInfo` entry point that `opt
//! -load-pass-plugin` and `clang -fpass-plugin` look up.
//!
//! The plugin registers the module pass `cls` twice:
//!
//! - under its name, for `opt -passes=cls`;
//! - at the OptimizerLast extension point, which clang runs at every optimisation
//!   level, `-O0` included, after all other IR optimisations (so globals are
//!   optimised normally first, and the entry-block calls are never re-duplicated).
//!
//! Before registering anything it checks the host's LLVM version
//! ([`crate::version_guard`]); on a mismatch it prints why and hands LLVM an invalid
//! plugin API version, which `opt` and `clang` report as a failed plugin load (exit
//! status 1) instead of crashing.
//!
//! A panic inside the pass is caught here and reported as an internal error through
//! LLVM's fatal-error path: it never unwinds into C++.

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};

use llvm_plugin::inkwell::module::Module as InkwellModule;
use llvm_plugin::{
    LlvmModulePass, ModuleAnalysisManager, PassBuilder, PassPluginLibraryInfo, PipelineParsing,
    PreservedAnalyses,
};

use crate::diagnostics::{self, ClsError};
use crate::ir::Module;
use crate::{pass, version_guard};

/// The pass name for `opt -passes=...`.
pub(crate) const PASS_NAME: &str = "cls";

/// The `cls` module pass.
#[derive(Debug, Clone, Copy)]
struct ClsPass;

impl LlvmModulePass for ClsPass {
    fn run_pass(
        &self,
        module: &mut InkwellModule<'_>,
        _manager: &ModuleAnalysisManager,
    ) -> PreservedAnalyses {
        let outcome = catch_unwind(AssertUnwindSafe(|| pass::transform(&Module::new(module))));
        match outcome {
            Ok(Ok(false)) => PreservedAnalyses::All,
            Ok(Ok(true)) => PreservedAnalyses::None,
            Ok(Err(errors)) => diagnostics::fail(&errors),
            Err(payload) => {
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|text| text.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic without a message".to_string());
                diagnostics::fail(&[ClsError::Internal { message: format!("panic: {message}") }])
            }
        }
    }
}

/// Adds the pass to the tool's pipelines.
fn register(builder: &mut PassBuilder) {
    builder.add_module_pipeline_parsing_callback(|name, manager| {
        if name == PASS_NAME {
            manager.add_pass(ClsPass);
            PipelineParsing::Parsed
        } else {
            PipelineParsing::NotParsed
        }
    });
    builder.add_optimizer_last_ep_callback(|manager, _level| manager.add_pass(ClsPass));
}

/// Called by LLVM with its `PassBuilder` once the plugin is accepted.
extern "C" fn registrar(builder: *mut c_void) {
    if builder.is_null() {
        return;
    }
    // SAFETY: LLVM calls the registrar with its live `PassBuilder` (checked non-null),
    // of the LLVM version the plugin was built for (checked by `version_guard` before
    // this registrar was handed out).
    let mut builder = unsafe { PassBuilder::from_raw(builder) };
    register(&mut builder);
}

/// Registrar handed out on a version mismatch; LLVM rejects the plugin before calling
/// it, and it would do nothing anyway.
extern "C" fn refuse(_builder: *mut c_void) {}

/// The plugin entry point that LLVM's `PassPlugin::Load` looks up by name.
#[no_mangle]
#[allow(non_snake_case)] // reason: LLVM looks the symbol up by exactly this name
pub extern "C" fn llvmGetPassPluginInfo() -> PassPluginLibraryInfo {
    let name = c"cls-pass";
    let version = c"0.1.0";
    match version_guard::check_host() {
        Ok(()) => PassPluginLibraryInfo {
            api_version: llvm_plugin::get_llvm_plugin_api_version__(),
            plugin_name: name.as_ptr().cast(),
            plugin_version: version.as_ptr().cast(),
            plugin_registrar: registrar,
        },
        Err(message) => {
            eprintln!("{message}");
            PassPluginLibraryInfo {
                api_version: 0,
                plugin_name: name.as_ptr().cast(),
                plugin_version: version.as_ptr().cast(),
                plugin_registrar: refuse,
            }
        }
    }
}
