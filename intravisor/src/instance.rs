//! Applying a verified layout to a cVM's region, on any platform.
//!
//! The private images are made writable, filled from the object files and relocated;
//! the CLS instances are filled from the shared objects' templates and their pointers
//! rebased; the CLS table is written; then every page gets its final protection, and the
//! boot block (name, arguments, and the [`abi::BootInfo`]) is written at the top of the
//! stack. Nothing here decides an address: all of them come from the layout, which was
//! verified against the region.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::ops::Range;

use abi::{BootInfo, EntryPoint, Initializer, TlsModule};

use crate::capability::{Cap, Permissions};
use crate::guest::{GuestMemory, Mapping, Protection};
use crate::layout::Layout;
use crate::memory::RegionMemory;

/// Why a cVM could not be built in its region.
#[derive(Debug)]
pub enum BuildError<E> {
    /// A page operation failed.
    Memory(E),
    /// The region's capability could not be derived with exact bounds.
    Capability {
        /// Start of the region.
        start: u64,
        /// End of the region.
        end: u64,
    },
    /// The name and arguments do not fit the stack.
    ArgumentsTooLarge {
        /// Bytes they need.
        bytes: u64,
    },
}

impl<E> From<E> for BuildError<E> {
    fn from(error: E) -> Self {
        Self::Memory(error)
    }
}

impl<E: fmt::Display> fmt::Display for BuildError<E> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Memory(error) => write!(formatter, "cannot prepare the cVM's memory: {error}"),
            Self::Capability { start, end } => {
                write!(formatter, "the region {start:#x}..{end:#x} is not representable as a capability")
            }
            Self::ArgumentsTooLarge { bytes } => write!(
                formatter,
                "the cVM's name and arguments ({bytes} bytes) do not fit its stack; raise `stack`"
            ),
        }
    }
}

/// What a cVM gets of a shared object it uses: a read capability and page protections,
/// for the hostcall checks.
#[derive(Debug, Clone, Copy)]
pub struct SharedView<'a> {
    /// The object's pages.
    pub mappings: &'a [Mapping],
    /// A read (and execute) capability for its image.
    pub capability: Cap,
}

/// A cVM ready to enter.
#[derive(Debug)]
pub struct Instance {
    /// Its region.
    pub region: Range<u64>,
    /// The program's entry point.
    pub entry: u64,
    /// The span of its region that holds its executable pages.
    pub code: Range<u64>,
    /// The initial stack pointer.
    pub stack_top: u64,
    /// The address of its boot block.
    pub boot_block: u64,
    /// Its memory as the hostcalls check it.
    pub memory: GuestMemory,
    /// The address of its CLS table, for the thread register.
    pub cls_table: u64,
    /// The boot block's entry capability slots, for the platform to fill.
    pub entries: Vec<EntrySlot>,
}

/// The permissions of a cVM's data capability.
fn data_permissions() -> Permissions {
    Permissions::LOAD
        .union(Permissions::STORE)
        .union(Permissions::LOAD_CAP)
        .union(Permissions::STORE_CAP)
        .union(Permissions::STORE_LOCAL_CAP)
        .union(Permissions::MUTABLE_LOAD)
        .union(Permissions::GLOBAL)
}

/// What a cVM is built from.
#[derive(Debug, Clone, Copy)]
pub struct Build<'a> {
    /// A capability for the whole arena, the region's is derived from.
    pub arena_capability: Cap,
    /// The verified layout.
    pub layout: &'a Layout,
    /// The object files, by plan index.
    pub files: &'a [&'a [u8]],
    /// The shared objects the cVM uses.
    pub shared: &'a [SharedView<'a>],
    /// Its name.
    pub name: &'a str,
    /// Its arguments.
    pub arguments: &'a [String],
    /// The hostcall entry for the boot block (zero: a supervisor call).
    pub hostcall_entry: u64,
    /// The functions of the purecap objects the cVM enters ([`entered_functions`]).
    pub entered: &'a [EnteredFunction],
}

/// A function of a purecap object that a hybrid cVM enters through a sealed entry
/// capability (`loader` plans such objects after the linked ones).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnteredFunction {
    /// Its symbol name.
    pub name: String,
    /// Its address (C64 bit 0 clear).
    pub address: u64,
    /// The pages of its object's image: the bounds of the entry capability.
    pub object: Range<u64>,
}

/// Where the boot block holds the entry capability of an [`EnteredFunction`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntrySlot {
    /// Address of the 16-byte, 16-byte-aligned capability slot.
    pub slot: u64,
    /// The function.
    pub function: EnteredFunction,
}

/// Refuses a plan with Morello purecap objects, on a platform without hardware
/// capabilities to run them.
pub fn refuse_purecap(plan: &loader::LoadPlan) -> Result<(), String> {
    match plan.objects.iter().find(|object| object.purecap) {
        Some(object) => Err(alloc::format!(
            "`{}` is a Morello purecap object: only the `morello` platform runs purecap code",
            object.name
        )),
        None => Ok(()),
    }
}

/// The functions of every purecap object a hybrid program's plan enters, in plan and
/// symbol order.
pub fn entered_functions(plan: &loader::LoadPlan, layout: &Layout) -> Vec<EnteredFunction> {
    let program_purecap = plan.objects.first().is_some_and(|program| program.purecap);
    let mut functions = Vec::new();
    if program_purecap {
        return functions;
    }
    for (object, &base) in plan.objects.iter().zip(&layout.object_bases) {
        if !object.purecap {
            continue;
        }
        let image = base..base + object.image_size.next_multiple_of(crate::region::PAGE_SIZE);
        for symbol in &object.symbols {
            if symbol.kind == loader::SymbolKind::Function && symbol.image_offset != 0 {
                functions.push(EnteredFunction {
                    name: symbol.name.clone(),
                    address: base + (symbol.image_offset & !1),
                    object: image.clone(),
                });
            }
        }
    }
    functions
}

/// Applies a layout (verified for its region) and writes the boot block.
pub fn instantiate<M: RegionMemory>(arena: &M, build: Build<'_>) -> Result<Instance, BuildError<M::Error>> {
    let Build { arena_capability, layout, files, shared, name, arguments, hostcall_entry, entered } = build;
    let region = layout.region.clone();
    let region_capability =
        arena_capability.set_value(region.start).set_bounds_exact(region.end - region.start);
    if !region_capability.tag() {
        return Err(BuildError::Capability { start: region.start, end: region.end });
    }
    let data = region_capability.clear_permissions(Permissions::ALL.difference(data_permissions()));

    let table_end = layout.cls_table + table_bytes(layout).len() as u64;
    let table_pages = layout.cls_table..table_end.next_multiple_of(crate::region::PAGE_SIZE);
    let writable: Vec<_> = layout
        .images
        .iter()
        .cloned()
        .chain(layout.instances.iter().map(crate::sharing::Instance::pages))
        .chain([table_pages])
        .collect();
    for range in &writable {
        arena.protect(range.start, range.end, Protection::ReadWrite)?;
    }
    for copy in &layout.copies {
        // The layout checked file_offset + length against this file's size.
        let start = copy.file_offset as usize;
        let bytes = &files[copy.object][start..start + copy.length as usize];
        arena.write_nonzero(copy.address, bytes)?;
    }
    for &(address, value) in &layout.relocations {
        arena.write(address, &value.to_le_bytes())?;
    }
    let mut template = Vec::new();
    for instance in &layout.instances {
        // The shared copy's templates are readable; they were relocated once, to
        // template addresses. What the file does not hold is zero, as the copy is.
        template.resize(instance.stored as usize, 0);
        arena.read(instance.template.start, &mut template)?;
        arena.write_nonzero(instance.address, &template)?;
    }
    for &(address, value) in &layout.instance_writes {
        arena.write(address, &value.to_le_bytes())?;
    }
    arena.write(layout.cls_table, &table_bytes(layout))?;
    for range in &writable {
        arena.protect(range.start, range.end, Protection::None)?;
    }
    for mapping in &layout.mappings {
        arena.protect(mapping.start, mapping.end, mapping.protection)?;
    }
    let boot = write_boot_block(arena, layout, name, arguments, hostcall_entry, entered)?;
    let mut mappings = layout.mappings.clone();
    mappings.extend(shared.iter().flat_map(|object| object.mappings.iter().copied()));
    let capabilities = shared.iter().map(|object| object.capability).collect();
    Ok(Instance {
        region,
        entry: layout.entry,
        code: layout.code_span(),
        stack_top: boot.stack_top,
        boot_block: boot.address,
        memory: GuestMemory::new(data, capabilities, mappings),
        cls_table: layout.cls_table,
        entries: boot.entries,
    })
}

/// The CLS table's bytes: the head, then the slots, every field a little-endian `u64`.
fn table_bytes(layout: &Layout) -> Vec<u8> {
    let (head, slots) = &layout.cls_table_contents;
    [head.self_address, head.slot_base, head.slot_shift, head.slot_count]
        .into_iter()
        .chain(slots.iter().flat_map(|slot| [slot.template_start, slot.template_size, slot.instance_delta]))
        .flat_map(u64::to_le_bytes)
        .collect()
}

/// Where [`write_boot_block`] put the boot block.
struct BootBlock {
    /// The [`BootInfo`]'s address.
    address: u64,
    /// The stack pointer to start with: just below the block.
    stack_top: u64,
    /// The entry capability slots.
    entries: Vec<EntrySlot>,
}

/// Writes, at the top of the stack, from the top down: the strings (name, arguments,
/// entered functions' names), the entry points (their capability slots zero), argv
/// and the boot information.
fn write_boot_block<M: RegionMemory>(
    arena: &M,
    layout: &Layout,
    name: &str,
    arguments: &[String],
    hostcall_entry: u64,
    entered: &[EnteredFunction],
) -> Result<BootBlock, BuildError<M::Error>> {
    let strings: Vec<&str> = core::iter::once(name)
        .chain(arguments.iter().map(String::as_str))
        .chain(entered.iter().map(|function| function.name.as_str()))
        .collect();
    let string_bytes: u64 = strings.iter().map(|text| text.len() as u64 + 1).sum();
    let argument_count = 1 + arguments.len();
    let argv_bytes = (argument_count as u64 + 1) * 8;
    let entry_bytes = (entered.len() * core::mem::size_of::<EntryPoint>()) as u64;
    let routine_size = core::mem::size_of::<Initializer>() as u64;
    let initializer_bytes = layout.initializers.len() as u64 * routine_size;
    let finalizer_bytes = layout.finalizers.len() as u64 * routine_size;
    let tls_bytes = (layout.tls_modules.len() * core::mem::size_of::<TlsModule>()) as u64;
    let boot_bytes = core::mem::size_of::<BootInfo>() as u64;
    let total = (string_bytes.next_multiple_of(16)
        + entry_bytes
        + initializer_bytes
        + finalizer_bytes
        + tls_bytes
        + argv_bytes
        + boot_bytes)
        .next_multiple_of(16);
    let stack_size = layout.stack.end - layout.stack.start;
    if total + 4096 > stack_size {
        return Err(BuildError::ArgumentsTooLarge { bytes: total });
    }
    let block_start = layout.stack.end - total;
    let entries_address = block_start;
    let initializers_address = entries_address + entry_bytes;
    let finalizers_address = initializers_address + initializer_bytes;
    let tls_address = finalizers_address + finalizer_bytes;
    let argv_address = tls_address + tls_bytes;
    let boot_address = argv_address + argv_bytes;
    let strings_address = layout.stack.end - string_bytes.next_multiple_of(16);

    let mut string_addresses = Vec::with_capacity(strings.len());
    let mut cursor = strings_address;
    let mut string_block = Vec::with_capacity(string_bytes as usize);
    for text in &strings {
        string_addresses.push(cursor);
        string_block.extend_from_slice(text.as_bytes());
        string_block.push(0);
        cursor += text.len() as u64 + 1;
    }
    let mut argv: Vec<u64> = string_addresses[..argument_count].to_vec();
    argv.push(0);
    let mut entry_block = Vec::with_capacity(entry_bytes as usize);
    let mut slots = Vec::with_capacity(entered.len());
    for (index, function) in entered.iter().enumerate() {
        let point = entries_address + (index * core::mem::size_of::<EntryPoint>()) as u64;
        let fields = [string_addresses[argument_count + index], function.name.len() as u64, 0, 0];
        entry_block.extend(fields.iter().flat_map(|field| field.to_le_bytes()));
        slots.push(EntrySlot { slot: point + 16, function: function.clone() });
    }
    let boot = BootInfo {
        magic: abi::BOOT_MAGIC,
        version: abi::VERSION,
        hostcall_entry,
        region_base: layout.region.start,
        region_size: layout.region.end - layout.region.start,
        heap_base: layout.heap.start,
        heap_size: layout.heap.end - layout.heap.start,
        argc: argument_count as u64,
        argv: argv_address,
        name: strings_address,
        cls_table: layout.cls_table,
        entries: if entered.is_empty() { 0 } else { entries_address },
        entry_count: entered.len() as u64,
        initializers: if layout.initializers.is_empty() { 0 } else { initializers_address },
        initializer_count: layout.initializers.len() as u64,
        finalizers: if layout.finalizers.is_empty() { 0 } else { finalizers_address },
        finalizer_count: layout.finalizers.len() as u64,
        tls_modules: if layout.tls_modules.is_empty() { 0 } else { tls_address },
        tls_module_count: layout.tls_modules.len() as u64,
    };
    arena.write(strings_address, &string_block)?;
    arena.write(entries_address, &entry_block)?;
    let routine_bytes = |routines: &[Initializer]| -> Vec<u8> {
        routines
            .iter()
            .flat_map(|routine| [routine.address, routine.count])
            .flat_map(u64::to_le_bytes)
            .collect()
    };
    arena.write(initializers_address, &routine_bytes(&layout.initializers))?;
    arena.write(finalizers_address, &routine_bytes(&layout.finalizers))?;
    let tls_block: Vec<u8> = layout
        .tls_modules
        .iter()
        .flat_map(|module| {
            [module.image, module.file_size, module.memory_size, module.alignment, module.offset]
        })
        .flat_map(u64::to_le_bytes)
        .collect();
    arena.write(tls_address, &tls_block)?;
    let argv_bytes: Vec<u8> = argv.iter().flat_map(|address| address.to_le_bytes()).collect();
    arena.write(argv_address, &argv_bytes)?;
    arena.write(boot_address, &boot_info_bytes(&boot))?;
    Ok(BootBlock { address: boot_address, stack_top: block_start, entries: slots })
}

/// The boot block's bytes, field by field in declaration order (all `u64`, so the
/// `repr(C)` layout has no padding).
fn boot_info_bytes(boot: &BootInfo) -> Vec<u8> {
    [
        boot.magic,
        boot.version,
        boot.hostcall_entry,
        boot.region_base,
        boot.region_size,
        boot.heap_base,
        boot.heap_size,
        boot.argc,
        boot.argv,
        boot.name,
        boot.cls_table,
        boot.entries,
        boot.entry_count,
        boot.initializers,
        boot.initializer_count,
        boot.finalizers,
        boot.finalizer_count,
        boot.tls_modules,
        boot.tls_module_count,
    ]
    .iter()
    .flat_map(|field| field.to_le_bytes())
    .collect()
}
