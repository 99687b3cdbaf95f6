//! The static thread-local storage of a cVM's threads (`LoadPlan::tls`) at this cVM's
//! addresses, for the boot block, from which the cVM's C library sets up every thread's
//! blocks. The loader is not trusted: each block is checked against its object's image
//! and the loader's own limits first. A wrong block could only hurt the cVM itself (its
//! C library copies from the image into its own memory), but it is refused by name.

use alloc::vec::Vec;

use abi::TlsModule;
use loader::{LoadPlan, MAX_TLS_ALIGNMENT, MAX_TLS_MODULES, MAX_TLS_SIZE};

use super::LayoutError;

/// The TLS blocks of `plan`'s objects (loaded at `bases`), in module-id order.
pub(super) fn modules(plan: &LoadPlan, bases: &[u64]) -> Result<Vec<TlsModule>, LayoutError> {
    if plan.tls.len() > MAX_TLS_MODULES {
        let module = MAX_TLS_MODULES;
        return Err(LayoutError::ThreadLocalStorage {
            module,
            reason: "more modules than the C library's table",
        });
    }
    plan.tls
        .iter()
        .enumerate()
        .map(|(module, block)| {
            let refuse = |reason| LayoutError::ThreadLocalStorage { module, reason };
            let (Some(object), Some(&base)) = (plan.objects.get(block.object), bases.get(block.object))
            else {
                return Err(refuse("its object is not in the plan"));
            };
            let image_end = block.image_offset.checked_add(block.file_size);
            if image_end.is_none_or(|end| end > object.image_size) {
                return Err(refuse("its initialisation image reaches past its object's image"));
            }
            if block.file_size > block.memory_size {
                return Err(refuse("its image is larger than its block"));
            }
            if !block.alignment.is_power_of_two() || block.alignment > MAX_TLS_ALIGNMENT {
                return Err(refuse("its alignment is not a power of two the loader accepts"));
            }
            if block.offset > MAX_TLS_SIZE || block.memory_size > MAX_TLS_SIZE {
                return Err(refuse("it lies past the static TLS a thread may have"));
            }
            Ok(TlsModule {
                image: base + block.image_offset,
                file_size: block.file_size,
                memory_size: block.memory_size,
                alignment: block.alignment,
                offset: block.offset,
            })
        })
        .collect()
}
