//! Linking: which objects a program needs, in what order, and what each relocation writes.
//!
//! [`plan()`] parses every input, then walks `DT_NEEDED` breadth-first from the program,
//! resolving each needed name among the given objects only (by `DT_SONAME`, else by the
//! given name, else by the last component of the given name). The global scope is the
//! plan's objects in load order; the first global or weak definition of a name wins.
//! A reference binds to its own object's definition when that definition is local or
//! protected, else to the global scope, else (if weak) to zero.
//!
//! Morello capabilities (FACTS §3.3, and CheriBSD's rtld, which this follows) are
//! described, not made: `R_MORELLO_RELATIVE` takes base, length and kind from the
//! fragment at its site. `R_MORELLO_CAPINIT` and `R_MORELLO_GLOB_DAT` bound to a data
//! symbol cover `[st_value, st_value + st_size)` (the fragment's length when `st_size`
//! is 0), read-write when a writable segment holds that range and read-only otherwise.
//! Bound to a function (`STT_FUNC`), and `R_MORELLO_JUMP_SLOT` always, they give a code
//! capability over the defining object's whole image with the function's `st_value`
//! (C64 bit 0 included) plus the addend as its entry: C64 code reaches its GOT and data
//! through PCC-relative `ADRP`, so a code capability bounded to the function alone would
//! fault (CheriBSD's `make_code_cap` does not narrow code bounds either; LLD's own code
//! fragments span the whole PCC range, FACTS §3.3).

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use crate::object::{parse_object, ObjectInput, ParsedObject};
use crate::relocations::{Operation, Relocation};
use crate::symbols::{Binding, Definition, DynamicSymbol, TYPE_INDIRECT_FUNCTION};
use crate::{
    CapabilityKind, CapabilityRelocation, CapabilityTarget, LoadError, LoadPlan, PlannedObject,
    RelocationValue, RelocationWrite, Segment, SymbolKind,
};

/// Plans the load of `program` and the objects it needs, found only among `available`.
///
/// Every input is parsed and checked, needed or not; only needed objects are planned.
pub fn plan(program: ObjectInput<'_>, available: &[ObjectInput<'_>]) -> Result<LoadPlan, LoadError> {
    check_unique_names(program, available)?;
    let program = parse_object(program)?;
    check_entry(&program)?;
    let (machine, entry, program_name) = (program.machine, program.entry, program.name.clone());
    let purecap = program.purecap;
    let mut inputs = Vec::with_capacity(available.len().saturating_add(1));
    inputs.push(program);
    for input in available {
        inputs.push(parse_object(*input)?);
    }
    let (mut order, mut needed) = breadth_first(&inputs)?;
    check_cycles(&inputs, &order, &needed)?;
    let linked = order.len();
    append_entered(&inputs, purecap, &mut order, &mut needed)?;
    let objects: Vec<&ParsedObject> = order.iter().filter_map(|&input| inputs.get(input)).collect();
    if let Some(library) = objects.iter().skip(1).find(|object| object.initializers.preinit_array.is_some()) {
        return Err(LoadError::PreinitArrayInLibrary { object: library.name.clone() });
    }
    for object in &objects[..linked] {
        if object.machine != machine {
            return Err(LoadError::MachineMismatch {
                object: object.name.clone(),
                machine: object.machine,
                program: program_name,
                expected: machine,
            });
        }
        if object.purecap != purecap {
            return Err(LoadError::PurecapMismatch {
                object: object.name.clone(),
                purecap: object.purecap,
                program: program_name,
            });
        }
    }
    let scope = global_scope(&objects[..linked]);
    let tls = crate::tls::lay_out(machine, &objects[..linked])?;
    let mut relocations = Vec::new();
    for (index, object) in objects.iter().enumerate() {
        // An entered object binds only to itself.
        let own_scope;
        let scope = if index < linked {
            &scope
        } else {
            own_scope = object_scope(object, index);
            &own_scope
        };
        for relocation in &object.relocations {
            if relocation.operation.is_thread_local() {
                let writes = crate::tls::bind(machine, &tls, &objects, scope, (index, object), relocation)?;
                relocations.extend(writes);
                continue;
            }
            let value = bind(&objects, scope, index, object, relocation)?;
            relocations.push(RelocationWrite { object: index, site: relocation.site, value });
        }
    }
    let planned = objects
        .iter()
        .zip(needed)
        .map(|(object, needed)| PlannedObject {
            name: object.name.clone(),
            purecap: object.purecap,
            soname: object.soname.clone(),
            image_size: object.image_size,
            segments: object.segments.clone(),
            relro: object.relro,
            cls_templates: object.cls_templates.clone(),
            symbols: object.symbols(),
            needed,
            initializers: object.initializers.clone(),
        })
        .collect();
    Ok(LoadPlan { machine, objects: planned, entry, relocations, tls })
}

/// Appends the *entered* objects to a plan whose program is not purecap: the Morello
/// purecap objects among the inputs that nothing needs. They are not linked with the
/// program (hybrid code cannot call purecap code by address); the platform hands the
/// cVM sealed entry capabilities for their functions instead. An entered object may
/// need nothing itself.
fn append_entered(
    inputs: &[ParsedObject],
    program_purecap: bool,
    order: &mut Vec<usize>,
    needed: &mut Vec<Vec<usize>>,
) -> Result<(), LoadError> {
    if program_purecap {
        return Ok(());
    }
    for (input, object) in inputs.iter().enumerate() {
        if !object.purecap || order.contains(&input) {
            continue;
        }
        if let Some(name) = object.needed.first() {
            return Err(LoadError::EnteredObjectNeeds { object: object.name.clone(), needed: name.clone() });
        }
        if object.initializers.any() {
            return Err(LoadError::EnteredObjectInitializers { object: object.name.clone() });
        }
        order.push(input);
        needed.push(Vec::new());
    }
    Ok(())
}

/// The definitions of one object, at plan index `index`.
fn object_scope(object: &ParsedObject, index: usize) -> BTreeMap<&str, (usize, usize)> {
    let mut scope = BTreeMap::new();
    for (symbol_index, symbol) in object.dynamic_symbols.iter().enumerate() {
        if symbol.is_global_definition() && !symbol.name.is_empty() {
            scope.entry(symbol.name.as_str()).or_insert((index, symbol_index));
        }
    }
    scope
}

/// Refuses two inputs with the same name.
fn check_unique_names(program: ObjectInput<'_>, available: &[ObjectInput<'_>]) -> Result<(), LoadError> {
    let mut seen = BTreeSet::new();
    for input in core::iter::once(&program).chain(available) {
        if !seen.insert(input.name) {
            return Err(LoadError::DuplicateObjectName { object: String::from(input.name) });
        }
    }
    Ok(())
}

/// Checks that the program's entry point is inside one of its executable segments.
fn check_entry(program: &ParsedObject) -> Result<(), LoadError> {
    let inside = program.segments.iter().any(|segment| {
        segment.permissions.execute
            && program.entry >= segment.image_offset
            && program.entry - segment.image_offset < segment.memory_size
    });
    if inside {
        Ok(())
    } else {
        Err(LoadError::EntryNotExecutable { object: program.name.clone(), entry: program.entry })
    }
}

/// The input (never the program, index 0) that the name `needed` of `needer` resolves to.
fn resolve(inputs: &[ParsedObject], needer: &ParsedObject, needed: &str) -> Result<usize, LoadError> {
    let tiers: [&dyn Fn(&ParsedObject) -> bool; 3] =
        [&|object| object.soname.as_deref() == Some(needed), &|object| object.name == needed, &|object| {
            object.name.rsplit('/').next() == Some(needed)
        }];
    for matches_tier in tiers {
        let mut matching = inputs.iter().enumerate().skip(1).filter(|(_, object)| matches_tier(object));
        let Some((index, first)) = matching.next() else {
            continue;
        };
        if let Some((_, second)) = matching.next() {
            return Err(LoadError::AmbiguousNeeded {
                object: needer.name.clone(),
                needed: String::from(needed),
                first: first.name.clone(),
                second: second.name.clone(),
            });
        }
        return Ok(index);
    }
    Err(LoadError::MissingNeeded { object: needer.name.clone(), needed: String::from(needed) })
}

/// The load order (input indices, program first) and, per planned object, the plan
/// indices of the objects it needs.
fn breadth_first(inputs: &[ParsedObject]) -> Result<(Vec<usize>, Vec<Vec<usize>>), LoadError> {
    let mut plan_index: Vec<Option<usize>> = vec![None; inputs.len()];
    let mut order = vec![0];
    if let Some(slot) = plan_index.first_mut() {
        *slot = Some(0);
    }
    let mut needed_lists = Vec::new();
    let mut next = 0;
    while let Some(&input) = order.get(next) {
        next += 1;
        let Some(object) = inputs.get(input) else {
            break;
        };
        let mut needed = Vec::new();
        for name in &object.needed {
            let target = resolve(inputs, object, name)?;
            let index = match plan_index.get(target).copied().flatten() {
                Some(index) => index,
                None => {
                    let index = order.len();
                    order.push(target);
                    if let Some(slot) = plan_index.get_mut(target) {
                        *slot = Some(index);
                    }
                    index
                }
            };
            if !needed.contains(&index) {
                needed.push(index);
            }
        }
        needed_lists.push(needed);
    }
    Ok((order, needed_lists))
}

/// Refuses objects that need each other in a loop, naming the loop.
fn check_cycles(inputs: &[ParsedObject], order: &[usize], needed: &[Vec<usize>]) -> Result<(), LoadError> {
    const UNSEEN: u8 = 0;
    const ON_PATH: u8 = 1;
    const DONE: u8 = 2;
    let name = |plan_index: usize| {
        order.get(plan_index).and_then(|&input| inputs.get(input)).map_or("?", |object| object.name.as_str())
    };
    let mut state = vec![UNSEEN; order.len()];
    // Depth-first from the program, with an explicit path of (object, next edge).
    let mut path: Vec<(usize, usize)> = vec![(0, 0)];
    if let Some(first) = state.first_mut() {
        *first = ON_PATH;
    }
    while let Some((node, edge)) = path.last_mut() {
        let Some(&target) = needed.get(*node).and_then(|edges| edges.get(*edge)) else {
            if let Some(finished) = state.get_mut(*node) {
                *finished = DONE;
            }
            path.pop();
            continue;
        };
        *edge += 1;
        match state.get(target).copied() {
            Some(UNSEEN) => {
                if let Some(seen) = state.get_mut(target) {
                    *seen = ON_PATH;
                }
                path.push((target, 0));
            }
            Some(ON_PATH) => {
                let start = path.iter().position(|&(node, _)| node == target).unwrap_or(0);
                let mut chain = String::new();
                for &(node, _) in path.iter().skip(start) {
                    chain.push_str(name(node));
                    chain.push_str(" -> ");
                }
                chain.push_str(name(target));
                return Err(LoadError::NeededCycle { object: String::from(name(target)), chain });
            }
            _ => {}
        }
    }
    Ok(())
}

/// Where each global name is first defined: (plan index, symbol index).
fn global_scope<'a>(objects: &[&'a ParsedObject]) -> BTreeMap<&'a str, (usize, usize)> {
    let mut scope = BTreeMap::new();
    for (object_index, object) in objects.iter().enumerate() {
        for (name, definition) in object_scope(object, object_index) {
            scope.entry(name).or_insert(definition);
        }
    }
    scope
}

/// A symbol a relocation bound to: (plan index, object, definition).
type Bound<'a> = (usize, &'a ParsedObject, &'a DynamicSymbol);

/// What `relocation` of `object` (plan index `index`) writes.
fn bind(
    objects: &[&ParsedObject],
    scope: &BTreeMap<&str, (usize, usize)>,
    index: usize,
    object: &ParsedObject,
    relocation: &Relocation,
) -> Result<RelocationValue, LoadError> {
    let addend = match relocation.operation {
        Operation::Symbol => 0,
        _ => relocation.addend,
    };
    match relocation.operation {
        Operation::Relative => return image_relative(object, index, object, 0, addend, relocation, None),
        Operation::CapabilityRelative => return relative_capability(object, index, relocation),
        Operation::CapabilitySymbol | Operation::CapabilityFunction => {
            return symbol_capability(objects, scope, index, object, relocation)
        }
        Operation::Symbol | Operation::SymbolPlusAddend => {}
        // Bound by `tls::bind`, never here.
        Operation::TlsModule
        | Operation::TlsBlockOffset
        | Operation::TlsThreadOffset
        | Operation::TlsDescriptor => return Ok(RelocationValue::Absolute(0)),
    }
    let Some((defining, defining_object, symbol)) = lookup(objects, scope, index, object, relocation)? else {
        return Ok(RelocationValue::Absolute(addend as u64));
    };
    if symbol.definition == Definition::Absolute {
        return match symbol.value.checked_add_signed(addend) {
            Some(value) => Ok(RelocationValue::Absolute(value)),
            None => Err(LoadError::RelocationOverflow {
                object: object.name.clone(),
                file_offset: relocation.file_offset,
                site: relocation.site,
                symbol: symbol.name.clone(),
                value: symbol.value,
                addend,
            }),
        };
    }
    image_relative(object, defining, defining_object, symbol.value, addend, relocation, Some(symbol))
}

/// The definition `relocation` binds to, or `None` for the null symbol and for an
/// undefined weak symbol.
pub(crate) fn lookup<'a>(
    objects: &[&'a ParsedObject],
    scope: &BTreeMap<&str, (usize, usize)>,
    index: usize,
    object: &'a ParsedObject,
    relocation: &Relocation,
) -> Result<Option<Bound<'a>>, LoadError> {
    if relocation.symbol == 0 {
        return Ok(None);
    }
    let symbol_index = relocation.symbol as usize;
    let Some(reference) = object.dynamic_symbols.get(symbol_index) else {
        return Err(LoadError::SymbolIndexOutOfRange {
            object: object.name.clone(),
            file_offset: relocation.file_offset,
            site: relocation.site,
            index: relocation.symbol,
            count: object.dynamic_symbols.len() as u64,
        });
    };
    let binds_locally = reference.definition != Definition::Undefined
        && (reference.binding == Binding::Local || reference.protected);
    let definition = if binds_locally {
        Some((index, object, reference))
    } else {
        scope.get(reference.name.as_str()).and_then(|&(defining, symbol)| {
            let defining_object = *objects.get(defining)?;
            Some((defining, defining_object, defining_object.dynamic_symbols.get(symbol)?))
        })
    };
    let Some((defining, defining_object, symbol)) = definition else {
        if reference.binding == Binding::Weak {
            return Ok(None);
        }
        return Err(LoadError::UndefinedSymbol {
            object: object.name.clone(),
            symbol: reference.name.clone(),
            file_offset: relocation.file_offset,
            site: relocation.site,
        });
    };
    if symbol.symbol_type == TYPE_INDIRECT_FUNCTION {
        return Err(LoadError::IndirectFunction {
            object: object.name.clone(),
            symbol: symbol.name.clone(),
            file_offset: relocation.file_offset,
            site: relocation.site,
            defined_in: defining_object.name.clone(),
        });
    }
    Ok(Some((defining, defining_object, symbol)))
}

/// The capability an `R_MORELLO_RELATIVE` relocation of `object` (plan index `index`)
/// describes: the fragment's bounds and kind, inside the object's own image.
fn relative_capability(
    object: &ParsedObject,
    index: usize,
    relocation: &Relocation,
) -> Result<RelocationValue, LoadError> {
    let fragment = relocation.fragment;
    let Some(permissions) = fragment.capability_kind() else {
        return Err(LoadError::BadCapabilityFragment {
            object: object.name.clone(),
            file_offset: relocation.file_offset,
            site: relocation.site,
            kind: fragment.kind,
        });
    };
    check_bounds(object, object, fragment.address, fragment.length, relocation, None)?;
    let entry_inside = relocation.addend >= 0 && relocation.addend.unsigned_abs() <= fragment.length;
    if permissions == CapabilityKind::Executable && !entry_inside {
        return Err(LoadError::EntryOutsideCapability {
            object: object.name.clone(),
            file_offset: relocation.file_offset,
            site: relocation.site,
            base: fragment.address,
            length: fragment.length,
            addend: relocation.addend,
        });
    }
    Ok(RelocationValue::Capability(CapabilityRelocation {
        target: CapabilityTarget::ImageRelative { object: index, offset: fragment.address },
        length: fragment.length,
        permissions,
        addend: relocation.addend,
    }))
}

/// The capability an `R_MORELLO_CAPINIT`, `R_MORELLO_GLOB_DAT` or `R_MORELLO_JUMP_SLOT`
/// relocation of `object` (plan index `index`) describes.
fn symbol_capability(
    objects: &[&ParsedObject],
    scope: &BTreeMap<&str, (usize, usize)>,
    index: usize,
    object: &ParsedObject,
    relocation: &Relocation,
) -> Result<RelocationValue, LoadError> {
    let function = relocation.operation == Operation::CapabilityFunction;
    let Some((defining, defining_object, symbol)) = lookup(objects, scope, index, object, relocation)? else {
        let reference = object.dynamic_symbols.get(relocation.symbol as usize);
        let code = function || reference.is_some_and(|symbol| symbol.kind() == SymbolKind::Function);
        let permissions = if code { CapabilityKind::Executable } else { CapabilityKind::ReadWriteData };
        return Ok(RelocationValue::Capability(CapabilityRelocation {
            target: CapabilityTarget::Null,
            length: 0,
            permissions,
            addend: relocation.addend,
        }));
    };
    if symbol.definition == Definition::Absolute {
        return Err(LoadError::AbsoluteCapability {
            object: object.name.clone(),
            symbol: symbol.name.clone(),
            file_offset: relocation.file_offset,
            site: relocation.site,
        });
    }
    if function || symbol.kind() == SymbolKind::Function {
        // The whole image, entered at the function (FACTS §3.3; CheriBSD `make_code_cap`).
        let length = defining_object.image_size;
        let entry = symbol.value.checked_add_signed(relocation.addend).filter(|&entry| entry <= length);
        let Some(addend) = entry.and_then(|entry| i64::try_from(entry).ok()) else {
            return Err(LoadError::FunctionEntryOutOfImage {
                object: object.name.clone(),
                file_offset: relocation.file_offset,
                site: relocation.site,
                symbol: symbol.name.clone(),
                target_object: defining_object.name.clone(),
                value: symbol.value,
                addend: relocation.addend,
                image_size: length,
            });
        };
        return Ok(RelocationValue::Capability(CapabilityRelocation {
            target: CapabilityTarget::ImageRelative { object: defining, offset: 0 },
            length,
            permissions: CapabilityKind::Executable,
            addend,
        }));
    }
    let length = if symbol.size != 0 { symbol.size } else { relocation.fragment.length };
    check_bounds(object, defining_object, symbol.value, length, relocation, Some(symbol))?;
    let permissions = if is_writable_range(&defining_object.segments, symbol.value, length) {
        CapabilityKind::ReadWriteData
    } else {
        CapabilityKind::ReadOnlyData
    };
    Ok(RelocationValue::Capability(CapabilityRelocation {
        target: CapabilityTarget::ImageRelative { object: defining, offset: symbol.value },
        length,
        permissions,
        addend: relocation.addend,
    }))
}

/// Checks that `[base, base + length)` lies inside the image of `target`.
fn check_bounds(
    object: &ParsedObject,
    target: &ParsedObject,
    base: u64,
    length: u64,
    relocation: &Relocation,
    symbol: Option<&DynamicSymbol>,
) -> Result<(), LoadError> {
    if base.checked_add(length).is_some_and(|end| end <= target.image_size) {
        return Ok(());
    }
    Err(LoadError::CapabilityOutOfImage {
        object: object.name.clone(),
        file_offset: relocation.file_offset,
        site: relocation.site,
        symbol: symbol.map(|symbol| symbol.name.clone()),
        target_object: target.name.clone(),
        base,
        length,
        image_size: target.image_size,
    })
}

/// Whether `[start, start + length)` (one byte when `length` is 0) lies inside one
/// writable segment's memory.
fn is_writable_range(segments: &[Segment], start: u64, length: u64) -> bool {
    let Some(end) = start.checked_add(length.max(1)) else {
        return false;
    };
    segments.iter().any(|segment| {
        segment.permissions.write
            && segment.image_offset <= start
            && segment.image_offset.checked_add(segment.memory_size).is_some_and(|limit| end <= limit)
    })
}

/// `base + addend` inside the image of `target` (plan index `target_index`), checked.
pub(crate) fn image_relative(
    object: &ParsedObject,
    target_index: usize,
    target: &ParsedObject,
    base: u64,
    addend: i64,
    relocation: &Relocation,
    symbol: Option<&DynamicSymbol>,
) -> Result<RelocationValue, LoadError> {
    match base.checked_add_signed(addend) {
        Some(offset) if offset <= target.image_size => {
            Ok(RelocationValue::ImageRelative { object: target_index, offset })
        }
        _ => Err(LoadError::RelocationTargetOutOfImage {
            object: object.name.clone(),
            file_offset: relocation.file_offset,
            site: relocation.site,
            symbol: symbol.map(|symbol| symbol.name.clone()),
            target_object: target.name.clone(),
            base,
            addend,
            image_size: target.image_size,
        }),
    }
}
