//! Refuses to run inside an LLVM whose major version differs from the one the plugin
//! was built for.
//!
//! A pass plugin is C++ compiled against one LLVM's headers: loaded into another
//! major version, the first call into the tool's `PassBuilder` reads the wrong object
//! layout and crashes. So before registering anything, the plugin finds out which LLVM
//! the host process (`opt`, `clang`) runs:
//!
//! 1. the shared objects loaded in the process, in load order (`dl_iterate_phdr`): the
//!    first `libLLVM-NN.so…` or `libLLVM.so.NN…` loaded *before* the plugin is the
//!    tool's (the plugin's own `libLLVM` dependency is loaded after the plugin);
//! 2. if the tool links LLVM statically, `dlsym(RTLD_DEFAULT, "LLVMGetVersion")`, which
//!    exists from LLVM 16 on, unless it resolves into an object loaded after the
//!    plugin (that one is the plugin's own dependency).
//!
//! If neither tells, the plugin assumes a match (it cannot do better).

use std::ffi::{c_int, c_uint, c_void, CStr};

/// The LLVM major version the plugin was built for.
pub(crate) const BUILT_FOR: u32 = if cfg!(feature = "llvm16") { 16 } else { 14 };

#[cfg(all(feature = "llvm14", feature = "llvm16"))]
compile_error!(
    "cls-pass: the features `llvm14` (default) and `llvm16` exclude each other: build with \
     `--no-default-features --features llvm16`"
);

/// One shared object loaded in the process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LoadedObject {
    /// Its path as the dynamic loader recorded it (empty for the main program).
    pub(crate) name: String,
    /// Whether this object is the plugin itself.
    pub(crate) is_plugin: bool,
}

/// The LLVM major version in a library file name: `libLLVM-14.so.1` and
/// `libLLVM-14.0.6.so` give 14, `libLLVM.so.18.1` gives 18, anything else `None`.
pub(crate) fn llvm_major_of_library(path: &str) -> Option<u32> {
    let file = path.rsplit('/').next().unwrap_or(path);
    let digits =
        if let Some(rest) = file.strip_prefix("libLLVM-") { rest } else { file.strip_prefix("libLLVM.so.")? };
    let end = digits.find(|character: char| !character.is_ascii_digit()).unwrap_or(digits.len());
    // `libLLVM-14.so` needs `.so` after the version; `libLLVM.so.18` needs nothing more.
    if file.starts_with("libLLVM-") && !digits[end..].contains(".so") {
        return None;
    }
    digits[..end].parse().ok()
}

/// The host tool's LLVM major version from the objects loaded in the process, in
/// load order: the first LLVM library loaded before the plugin.
pub(crate) fn host_major_from_objects(objects: &[LoadedObject]) -> Option<u32> {
    objects
        .iter()
        .take_while(|object| !object.is_plugin)
        .find_map(|object| llvm_major_of_library(&object.name))
}

/// The refusal message when the host's LLVM is `host` but the plugin was built for
/// [`BUILT_FOR`], or `None` when they match.
pub(crate) fn mismatch_message(host: u32) -> Option<String> {
    if host == BUILT_FOR {
        return None;
    }
    let rebuild = match host {
        14 => "rebuild cls-pass with its default features (`cargo build -p cls-pass`)".to_string(),
        16 => "rebuild cls-pass with `--no-default-features --features llvm16`".to_string(),
        _ => format!("note that cls-pass supports LLVM 14 and 16 only, not {host}"),
    };
    Some(format!(
        "cls-pass: built for LLVM {BUILT_FOR} but loaded into LLVM {host}: use /usr/lib/llvm-{BUILT_FOR}/bin/clang \
         (or /usr/lib/llvm-{BUILT_FOR}/bin/opt), or {rebuild}"
    ))
}

/// Checks the running process; `Err` carries the message to print.
pub(crate) fn check_host() -> Result<(), String> {
    let objects = loaded_objects();
    let host = host_major_from_objects(&objects).or_else(|| version_symbol_major(&objects));
    match host.and_then(mismatch_message) {
        Some(message) => Err(message),
        None => Ok(()),
    }
}

/// What the `dl_iterate_phdr` callback collects.
struct Collector {
    /// An address inside the plugin, to recognise its object.
    plugin_address: usize,
    objects: Vec<LoadedObject>,
}

/// The objects loaded in the process, in load order.
fn loaded_objects() -> Vec<LoadedObject> {
    let mut collector = Collector { plugin_address: check_host as *const () as usize, objects: Vec::new() };
    // SAFETY: `collect_object` matches the callback type `dl_iterate_phdr` expects and
    // only reads the `dl_phdr_info` it is given during the call; `collector` outlives
    // the call and is only accessed through the pointer passed here.
    unsafe { libc::dl_iterate_phdr(Some(collect_object), (&raw mut collector).cast()) };
    collector.objects
}

/// `dl_iterate_phdr` callback: records one object's name and whether it holds the
/// plugin's code.
unsafe extern "C" fn collect_object(info: *mut libc::dl_phdr_info, _size: usize, data: *mut c_void) -> c_int {
    if info.is_null() || data.is_null() {
        return 0;
    }
    // SAFETY: `dl_iterate_phdr` passes a valid `dl_phdr_info` (checked non-null) for
    // the duration of the callback, and `data` is the `Collector` that
    // `loaded_objects` passed (checked non-null), not aliased elsewhere meanwhile.
    let (info, collector) = unsafe { (&*info, &mut *data.cast::<Collector>()) };
    let name = if info.dlpi_name.is_null() {
        String::new()
    } else {
        // SAFETY: a non-null `dlpi_name` is a NUL-terminated string owned by the loader.
        unsafe { CStr::from_ptr(info.dlpi_name) }.to_string_lossy().into_owned()
    };
    let headers: &[libc::Elf64_Phdr] = if info.dlpi_phdr.is_null() {
        &[]
    } else {
        // SAFETY: the loader gives `dlpi_phnum` program headers at `dlpi_phdr`
        // (checked non-null), alive during the callback.
        unsafe { std::slice::from_raw_parts(info.dlpi_phdr, usize::from(info.dlpi_phnum)) }
    };
    let base = info.dlpi_addr as usize;
    let is_plugin = headers.iter().any(|header| {
        let start = base.wrapping_add(header.p_vaddr as usize);
        header.p_type == libc::PT_LOAD
            && (start..start.saturating_add(header.p_memsz as usize)).contains(&collector.plugin_address)
    });
    collector.objects.push(LoadedObject { name, is_plugin });
    0
}

/// The version reported by `LLVMGetVersion` (LLVM 16 and later) of the host, when the
/// symbol resolves into an object loaded before the plugin or into the main program.
fn version_symbol_major(objects: &[LoadedObject]) -> Option<u32> {
    // SAFETY: `dlsym` with `RTLD_DEFAULT` and a NUL-terminated name only looks up a
    // symbol.
    let symbol = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"LLVMGetVersion".as_ptr()) };
    if symbol.is_null() {
        return None;
    }
    let mut info = libc::Dl_info {
        dli_fname: std::ptr::null(),
        dli_fbase: std::ptr::null_mut(),
        dli_sname: std::ptr::null(),
        dli_saddr: std::ptr::null_mut(),
    };
    // SAFETY: `dladdr` fills `info` for an address (the symbol found above).
    if unsafe { libc::dladdr(symbol, &mut info) } == 0 || info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: `dli_fname` is a non-null (checked) NUL-terminated string of the loader.
    let owner = unsafe { CStr::from_ptr(info.dli_fname) }.to_string_lossy().into_owned();
    let plugin_position = objects.iter().position(|object| object.is_plugin).unwrap_or(objects.len());
    let owner_position = objects.iter().position(|object| object.name == owner);
    if owner_position.is_some_and(|position| position > plugin_position) {
        return None;
    }
    // SAFETY: the symbol is `void LLVMGetVersion(unsigned *major, unsigned *minor,
    // unsigned *patch)` in every LLVM that exports it (16 and later).
    let get_version: unsafe extern "C" fn(*mut c_uint, *mut c_uint, *mut c_uint) =
        unsafe { std::mem::transmute::<*mut c_void, _>(symbol) };
    let (mut major, mut minor, mut patch) = (0, 0, 0);
    // SAFETY: three valid out-pointers, as the signature above requires.
    unsafe { get_version(&mut major, &mut minor, &mut patch) };
    (major != 0).then_some(major)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(name: &str, is_plugin: bool) -> LoadedObject {
        LoadedObject { name: name.to_string(), is_plugin }
    }

    #[test]
    fn library_names_give_their_major_version() {
        assert_eq!(llvm_major_of_library("/lib/x86_64-linux-gnu/libLLVM-14.so.1"), Some(14));
        assert_eq!(llvm_major_of_library("/usr/lib/llvm-16/lib/libLLVM-16.0.6.so"), Some(16));
        assert_eq!(llvm_major_of_library("libLLVM-17.so"), Some(17));
        assert_eq!(llvm_major_of_library("/usr/lib/libLLVM.so.18.1"), Some(18));
        assert_eq!(llvm_major_of_library("/usr/lib/libLLVM.so"), None);
        assert_eq!(llvm_major_of_library("/usr/lib/libLLVM-C.so"), None);
        assert_eq!(llvm_major_of_library("/usr/lib/libLLVMSupport.so.14"), None);
        assert_eq!(llvm_major_of_library("/usr/lib/libclang-cpp.so.16"), None);
    }

    #[test]
    fn the_tool_llvm_is_the_first_one_loaded_before_the_plugin() {
        // clang-16 with a plugin built for 14: the plugin drags libLLVM-14 in after it.
        let objects = [
            object("", false),
            object("/lib/x86_64-linux-gnu/libclang-cpp.so.16", false),
            object("/lib/x86_64-linux-gnu/libLLVM-16.so.1", false),
            object("/lib/x86_64-linux-gnu/libc.so.6", false),
            object("target/debug/libcls_pass.so", true),
            object("/lib/x86_64-linux-gnu/libLLVM-14.so.1", false),
        ];
        assert_eq!(host_major_from_objects(&objects), Some(16));
    }

    #[test]
    fn a_statically_linked_tool_shows_no_llvm_before_the_plugin() {
        let objects = [
            object("", false),
            object("/lib/x86_64-linux-gnu/libc.so.6", false),
            object("libcls_pass.so", true),
            object("/lib/x86_64-linux-gnu/libLLVM-14.so.1", false),
        ];
        assert_eq!(host_major_from_objects(&objects), None);
    }

    #[test]
    fn a_mismatch_names_both_versions_and_the_fix() {
        assert_eq!(mismatch_message(BUILT_FOR), None);
        let other = if BUILT_FOR == 14 { 16 } else { 14 };
        let message = mismatch_message(other).expect("versions differ");
        assert!(message
            .starts_with(&format!("cls-pass: built for LLVM {BUILT_FOR} but loaded into LLVM {other}")));
        assert!(message.contains(&format!("/usr/lib/llvm-{BUILT_FOR}/bin/clang")));
        assert!(message.contains("rebuild cls-pass"));
    }

    #[test]
    fn the_test_process_itself_is_accepted() {
        // The unit-test binary links the LLVM it was built for and nothing else.
        assert_eq!(check_host(), Ok(()));
    }
}
