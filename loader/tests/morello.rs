//! Arm Morello purecap objects: a purecap program and library, written with the `object`
//! crate's ELF writer, plan into the exact capabilities FACTS §3.3 describes; every check
//! of capability relocations has a corruption test naming the object and the offset of
//! the offending relocation entry; purecap and hybrid objects do not mix; and a real
//! hybrid AArch64 library from clang is not purecap.

mod morello_elf;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::process::Command;

use loader::{
    parse_object, plan, CapabilityKind, CapabilityRelocation, CapabilityTarget, LoadError, LoadPlan,
    ObjectInput, RelocationValue, RelocationWrite,
};
use morello_elf::*;
use object::elf::{STB_GLOBAL, STB_LOCAL, STB_WEAK, STT_FUNC, STT_NOTYPE, STT_OBJECT};

const LIBRARY: &str = "libmorello.so";
const PROGRAM: &str = "program";

/// Library symbols: a C64 function (odd value), read-write data, read-only data, and a
/// buffer without a size (the program's fragment gives it).
const LIB_FUNCTION: u64 = TEXT + 0x11;
const LIB_COUNTER: u64 = DATA + 0x40;
const LIB_TABLE: u64 = RODATA;
const LIB_BUFFER: u64 = DATA + 0x80;

/// Program addresses: its own data object, C64 `main`, the start of its PCC range as LLD
/// would put it (just past the headers), a string in `.rodata`, and a PLT stub.
const LOCAL_VARIABLE: u64 = DATA + 0x100;
const MAIN: u64 = TEXT + 0x41;
const PCC_START: u64 = 0x240;
const STRING: u64 = RODATA + 0x10;
const PLT_STUB: u64 = TEXT + 0x20;
/// The program's data end, and so its PCC range's.
const PROGRAM_DATA_END: u64 = DATA + 0x108;

/// The capability slots of the program's `.data`, 16 bytes each.
const fn slot(index: u64) -> u64 {
    DATA + 16 * index
}

fn library() -> MorelloElf {
    let mut library = MorelloElf::purecap();
    library.soname = Some(LIBRARY.into());
    library.symbols = vec![
        symbol("lib_function", Place::At(LIB_FUNCTION), STB_GLOBAL, STT_FUNC, 0x20),
        symbol("lib_counter", Place::At(LIB_COUNTER), STB_GLOBAL, STT_OBJECT, 8),
        symbol("lib_table", Place::At(LIB_TABLE), STB_GLOBAL, STT_OBJECT, 16),
        symbol("lib_buffer", Place::At(LIB_BUFFER), STB_GLOBAL, STT_OBJECT, 0),
    ];
    // Its own GOT entry for lib_counter.
    library.relocations = vec![rela(DATA, R_MORELLO_GLOB_DAT, Some("lib_counter"), 0)];
    library.rodata = vec![0x5a; 16];
    library.data = vec![0; 0x40];
    library.bss_size = 0x80;
    library
}

/// A purecap program using every supported capability relocation: `.rela.dyn` entry `i`
/// writes slot `i`; the one `.rela.plt` entry writes slot 9.
fn program() -> MorelloElf {
    let mut program = MorelloElf::purecap();
    program.entry = MAIN;
    program.needed = vec![LIBRARY.into()];
    program.symbols = vec![
        symbol("lib_function", Place::Undefined, STB_GLOBAL, STT_FUNC, 0),
        symbol("lib_counter", Place::Undefined, STB_GLOBAL, STT_OBJECT, 0),
        symbol("lib_table", Place::Undefined, STB_GLOBAL, STT_OBJECT, 0),
        symbol("lib_buffer", Place::Undefined, STB_GLOBAL, STT_OBJECT, 0),
        symbol("weak_missing", Place::Undefined, STB_WEAK, STT_NOTYPE, 0),
        symbol("main", Place::At(MAIN), STB_GLOBAL, STT_FUNC, 0x10),
    ];
    program.rodata = b"................hello, world".to_vec();
    program.data = vec![0; (PROGRAM_DATA_END - DATA) as usize];
    // Fragments as LLD writes them (FACTS §3.3): a data object, the whole PCC range with
    // the entry in the addend (like LLD's `0x10281`), a read-only string.
    program.fragment(slot(0), LOCAL_VARIABLE, 8, READ_WRITE);
    program.fragment(slot(1), PCC_START, PROGRAM_DATA_END - PCC_START, EXECUTABLE);
    program.fragment(slot(2), STRING, 12, READ_ONLY);
    // A size hint for a symbol whose st_size is 0.
    program.fragment(slot(6), 0, 0x40, READ_WRITE);
    // LLD's lazy-binding fragment (the PLT stub); an eager loader binds the symbol.
    program.fragment(slot(9), PLT_STUB, 0x10, EXECUTABLE);
    program.relocations = vec![
        rela(slot(0), R_MORELLO_RELATIVE, None, 0),
        rela(slot(1), R_MORELLO_RELATIVE, None, (MAIN - PCC_START) as i64),
        rela(slot(2), R_MORELLO_RELATIVE, None, 2),
        rela(slot(3), R_MORELLO_CAPINIT, Some("lib_counter"), 4),
        rela(slot(4), R_MORELLO_GLOB_DAT, Some("lib_counter"), 0),
        rela(slot(5), R_MORELLO_GLOB_DAT, Some("lib_table"), 0),
        rela(slot(6), R_MORELLO_CAPINIT, Some("lib_buffer"), 0),
        rela(slot(7), R_MORELLO_GLOB_DAT, Some("weak_missing"), 0),
        rela(slot(8), R_MORELLO_CAPINIT, Some("lib_function"), 0),
    ];
    program.plt_relocations = vec![rela(slot(9), R_MORELLO_JUMP_SLOT, Some("lib_function"), 0)];
    program
}

fn link(program: &Built, library: &Built) -> Result<LoadPlan, LoadError> {
    plan(
        ObjectInput { name: PROGRAM, bytes: &program.bytes },
        &[ObjectInput { name: LIBRARY, bytes: &library.bytes }],
    )
}

fn link_program(program: &Built) -> Result<LoadPlan, LoadError> {
    link(program, &library().build())
}

fn hex(value: u64) -> String {
    format!("{value:#x}")
}

/// Asserts that `result` failed with an error matching `pattern` whose message mentions
/// every one of the following values.
macro_rules! assert_load_error {
    ($result:expr, $pattern:pat $(if $guard:expr)?, $($mention:expr),+ $(,)?) => {{
        let error = $result.expect_err("the corruption is caught");
        assert!(matches!(error, $pattern $(if $guard)?), "wrong error: {error:?}");
        let message = error.to_string();
        for mention in [$($mention.to_string()),+] {
            assert!(message.contains(&mention), "`{message}` does not mention `{mention}`");
        }
        error
    }};
}

fn capability(
    object: usize,
    offset: u64,
    length: u64,
    permissions: CapabilityKind,
    addend: i64,
) -> RelocationValue {
    RelocationValue::Capability(CapabilityRelocation {
        target: CapabilityTarget::ImageRelative { object, offset },
        length,
        permissions,
        addend,
    })
}

#[test]
fn purecap_program_and_library_plan_capabilities() {
    let (program, library) = (program().build(), library().build());
    let plan = link(&program, &library).expect("the purecap objects link");
    assert!(plan.objects.iter().all(|object| object.purecap));
    assert_eq!(plan.objects[0].needed, vec![1]);
    assert_eq!(plan.entry, MAIN, "the C64 entry point keeps bit 0");
    let library_size = library.layout.image_size;
    use CapabilityKind::{Executable, ReadOnlyData, ReadWriteData};
    let lib_function = capability(1, 0, library_size, Executable, LIB_FUNCTION as i64);
    let expected = [
        (0, slot(0), capability(0, LOCAL_VARIABLE, 8, ReadWriteData, 0)),
        (0, slot(1), capability(0, PCC_START, PROGRAM_DATA_END - PCC_START, Executable, 0xe01)),
        (0, slot(2), capability(0, STRING, 12, ReadOnlyData, 2)),
        (0, slot(3), capability(1, LIB_COUNTER, 8, ReadWriteData, 4)),
        (0, slot(4), capability(1, LIB_COUNTER, 8, ReadWriteData, 0)),
        (0, slot(5), capability(1, LIB_TABLE, 16, ReadOnlyData, 0)),
        (0, slot(6), capability(1, LIB_BUFFER, 0x40, ReadWriteData, 0)),
        (
            0,
            slot(7),
            RelocationValue::Capability(CapabilityRelocation {
                target: CapabilityTarget::Null,
                length: 0,
                permissions: ReadWriteData,
                addend: 0,
            }),
        ),
        (0, slot(8), lib_function),
        (0, slot(9), lib_function),
        (1, DATA, capability(1, LIB_COUNTER, 8, ReadWriteData, 0)),
    ];
    let expected: Vec<RelocationWrite> =
        expected.into_iter().map(|(object, site, value)| RelocationWrite { object, site, value }).collect();
    assert_eq!(plan.relocations, expected);
    assert_eq!(plan.relocations[1].value.target_object(), Some(0));
    assert_eq!(plan.relocations[7].value.target_object(), None);
}

#[test]
fn parsed_objects_say_whether_they_are_purecap() {
    let purecap = library().build();
    let parsed = parse_object(ObjectInput { name: LIBRARY, bytes: &purecap.bytes }).unwrap();
    assert!(parsed.purecap());
    let mut hybrid = library();
    hybrid.flags = 0;
    let hybrid = hybrid.build();
    assert!(!parse_object(ObjectInput { name: LIBRARY, bytes: &hybrid.bytes }).unwrap().purecap());
    // The flag means nothing on x86-64.
    let mut x86 = library();
    x86.machine = object::elf::EM_X86_64;
    x86.relocations.clear();
    let x86 = x86.build();
    assert!(!parse_object(ObjectInput { name: LIBRARY, bytes: &x86.bytes }).unwrap().purecap());
}

#[test]
fn hybrid_objects_carry_capability_relocations_too() {
    // Hybrid code may hold `__capability` pointers; a hybrid plan describes them alike.
    let (mut program, mut library) = (program(), library());
    program.flags = 0;
    library.flags = 0;
    let plan = link(&program.build(), &library.build()).expect("the hybrid objects link");
    assert!(plan.objects.iter().all(|object| !object.purecap));
    assert_eq!(plan.relocations[0].value, capability(0, LOCAL_VARIABLE, 8, CapabilityKind::ReadWriteData, 0));
}

#[test]
fn purecap_and_hybrid_objects_do_not_mix() {
    let program = program().build();
    let mut hybrid_library = library();
    hybrid_library.flags = 0;
    assert_load_error!(
        link(&program, &hybrid_library.build()),
        LoadError::PurecapMismatch { ref object, purecap: false, ref program }
            if object == LIBRARY && program == PROGRAM,
        LIBRARY,
        PROGRAM,
        "not purecap",
        "EF_AARCH64_CHERI_PURECAP",
        "0x30"
    );
    let mut hybrid_program = self::program();
    hybrid_program.flags = 0;
    assert_load_error!(
        link(&hybrid_program.build(), &library().build()),
        LoadError::PurecapMismatch { ref object, purecap: true, .. } if object == LIBRARY,
        LIBRARY,
        PROGRAM
    );
}

#[test]
fn misaligned_capability_site() {
    let mut image = program().build();
    let entry = image.layout.rela_entry(0);
    image.set_u64(entry, slot(0) + 8);
    assert_load_error!(
        link_program(&image),
        LoadError::MisalignedCapabilitySite { site, .. } if site == slot(0) + 8,
        PROGRAM,
        hex(entry),
        hex(slot(0) + 8),
        "16-byte aligned"
    );
}

#[test]
fn short_capability_site() {
    // The last 16-byte slot of the writable segment holds only 8 bytes of it.
    let mut image = program().build();
    let (entry, site) = (image.layout.rela_entry(0), PROGRAM_DATA_END - 8);
    image.set_u64(entry, site);
    assert_load_error!(
        link_program(&image),
        LoadError::RelocationSiteNotWritable { site: found, size: 16, .. } if found == site,
        PROGRAM,
        hex(entry),
        hex(site),
        "16 bytes"
    );
    // A capability site in code.
    let mut image = program().build();
    let entry = image.layout.jmprel_entry(0);
    image.set_u64(entry, TEXT);
    assert_load_error!(
        link_program(&image),
        LoadError::RelocationSiteNotWritable { site: TEXT, size: 16, .. },
        PROGRAM,
        hex(entry),
        hex(TEXT)
    );
}

#[test]
fn relative_capability_with_a_symbol() {
    let mut image = program().build();
    let entry = image.layout.rela_entry(0);
    image.set_u64(entry + 8, (1 << 32) | u64::from(R_MORELLO_RELATIVE));
    assert_load_error!(
        link_program(&image),
        LoadError::RelativeCapabilityWithSymbol { index: 1, .. },
        PROGRAM,
        hex(entry),
        hex(slot(0)),
        "symbol 1",
        "R_MORELLO_RELATIVE"
    );
}

#[test]
fn bad_capability_fragment() {
    // Byte 15 of the fragment is its permission kind; 3 is none of 4, 2, 1.
    let mut image = program().build();
    let entry = image.layout.rela_entry(0);
    image.set_u8(slot(0) + 15, 3);
    assert_load_error!(
        link_program(&image),
        LoadError::BadCapabilityFragment { kind: 3, .. },
        PROGRAM,
        hex(entry),
        hex(slot(0)),
        "kind (byte 15) is 3"
    );
    // A site in .bss reads as zeros: kind 0.
    let mut builder = program();
    builder.bss_size = 0x100;
    let mut image = builder.build();
    let (entry, site) = (image.layout.rela_entry(0), DATA + 0x110);
    image.set_u64(entry, site);
    assert_load_error!(link_program(&image), LoadError::BadCapabilityFragment { kind: 0, .. }, hex(site));
}

#[test]
fn capability_out_of_image() {
    // The fragment's length runs past the program's image.
    let mut image = program().build();
    let entry = image.layout.rela_entry(0);
    image.set_u64(slot(0) + 8, (u64::from(READ_WRITE) << 56) | 0x10_0000);
    assert_load_error!(
        link_program(&image),
        LoadError::CapabilityOutOfImage { base: LOCAL_VARIABLE, length: 0x10_0000, .. },
        PROGRAM,
        hex(entry),
        hex(slot(0)),
        hex(LOCAL_VARIABLE),
        "0x100000 bytes"
    );
    // The fragment's address plus its length overflows.
    let mut image = program().build();
    image.set_u64(slot(0), u64::MAX - 4);
    assert_load_error!(link_program(&image), LoadError::CapabilityOutOfImage { .. }, hex(entry));
    // A size hint past the library's image, for a symbol without a size.
    let mut image = program().build();
    let entry = image.layout.rela_entry(6);
    image.set_u64(slot(6) + 8, (u64::from(READ_WRITE) << 56) | 0x10_0000);
    assert_load_error!(
        link_program(&image),
        LoadError::CapabilityOutOfImage { ref target_object, .. } if target_object == LIBRARY,
        PROGRAM,
        hex(entry),
        "`lib_buffer`",
        LIBRARY
    );
}

#[test]
fn entry_outside_capability() {
    // The executable fragment's entry one byte past its bounds, then before them.
    let length = PROGRAM_DATA_END - PCC_START;
    for addend in [length as i64 + 1, -1] {
        let mut image = program().build();
        let entry = image.layout.rela_entry(1);
        image.set_u64(entry + 16, addend as u64);
        assert_load_error!(
            link_program(&image),
            LoadError::EntryOutsideCapability { addend: found, .. } if found == addend,
            PROGRAM,
            hex(entry),
            hex(slot(1)),
            hex(PCC_START),
            hex(length),
            format!("offset {addend}")
        );
    }
}

#[test]
fn function_entry_out_of_image() {
    // A function pointer whose addend leaves the defining object's image, or goes below it.
    for addend in [0x10_0000, -0x2000] {
        let mut image = program().build();
        let entry = image.layout.rela_entry(8);
        image.set_u64(entry + 16, addend as u64);
        assert_load_error!(
            link_program(&image),
            LoadError::FunctionEntryOutOfImage { addend: found, value: LIB_FUNCTION, .. } if found == addend,
            PROGRAM,
            hex(entry),
            hex(slot(8)),
            "`lib_function`",
            hex(LIB_FUNCTION),
            LIBRARY,
            format!("({addend})")
        );
    }
}

#[test]
fn capability_to_an_absolute_symbol() {
    let mut library = library();
    library.symbols[1].place = Place::Absolute(0x1234);
    let program = program().build();
    assert_load_error!(
        link(&program, &library.build()),
        LoadError::AbsoluteCapability { ref symbol, .. } if symbol == "lib_counter",
        PROGRAM,
        hex(program.layout.rela_entry(3)),
        hex(slot(3)),
        "SHN_ABS"
    );
}

#[test]
fn unsupported_morello_relocations() {
    let cases = [
        (0xe804, "R_MORELLO_IRELATIVE", "ifunc"),
        (0xe805, "R_MORELLO_TLSDESC", "thread-local storage"),
        (0xe806, "R_MORELLO_TLS_TPREL128", "thread-local storage"),
        (0xe807, "R_MORELLO_CODE_CAPINIT", "c18n"),
        (0xe808, "R_MORELLO_FUNC_RELATIVE", "c18n"),
        (0xe809, "R_AARCH64_FUNC_RELATIVE", "c18n"),
        (0xe80a, "R_MORELLO_TLS_TGOT_SLOT", "thread-local storage"),
        (0xe80b, "R_MORELLO_TLS_TGOTREL64", "thread-local storage"),
        (0xe80c, "R_MORELLO_TGOT_TLSDESC", "thread-local storage"),
        (0xe80d, "unknown (59405)", "RELATIVE"),
    ];
    for (relocation_type, name, advice) in cases {
        let mut image = program().build();
        let entry = image.layout.rela_entry(3);
        image.set_u32(entry + 8, relocation_type);
        assert_load_error!(
            link_program(&image),
            LoadError::UnsupportedRelocation { relocation_type: found, .. } if found == relocation_type,
            PROGRAM,
            name,
            advice,
            hex(entry),
            hex(slot(3))
        );
    }
}

#[test]
fn capability_relocations_bind_like_others() {
    // An undefined strong symbol, and an indirect function, are refused as for any
    // symbolic relocation.
    let mut library = library();
    library.symbols.retain(|symbol| symbol.name != "lib_table");
    let program = program().build();
    assert_load_error!(
        link(&program, &library.build()),
        LoadError::UndefinedSymbol { ref symbol, .. } if symbol == "lib_table",
        PROGRAM,
        hex(program.layout.rela_entry(5))
    );
    let mut library = self::library();
    library.symbols[0].symbol_type = object::elf::STT_GNU_IFUNC;
    assert_load_error!(
        link(&program, &library.build()),
        LoadError::IndirectFunction { ref symbol, .. } if symbol == "lib_function",
        PROGRAM,
        hex(program.layout.rela_entry(8))
    );
    // Ordinary AArch64 relocations still work in a purecap object.
    let mut builder = self::program();
    builder.relocations.push(rela(slot(10), R_AARCH64_RELATIVE, None, MAIN as i64));
    builder.data.resize(builder.data.len().max((slot(11) - DATA) as usize), 0);
    let plan = link(&builder.build(), &self::library().build()).expect("links");
    let write = plan.relocations.iter().find(|write| write.site == slot(10)).expect("the RELATIVE write");
    assert_eq!(write.value, RelocationValue::ImageRelative { object: 0, offset: MAIN });
}

#[test]
fn a_local_function_gives_a_code_capability_to_its_own_object() {
    // A local C64 function of the program: CAPINIT against it covers the program's image.
    let mut builder = program();
    builder.symbols.push(symbol("helper", Place::At(TEXT + 0x31), STB_LOCAL, STT_FUNC, 4));
    builder.relocations.push(rela(slot(10), R_MORELLO_CAPINIT, Some("helper"), 0));
    builder.data.resize(builder.data.len().max((slot(11) - DATA) as usize), 0);
    let program = builder.build();
    let plan = link(&program, &library().build()).expect("links");
    let write = plan.relocations.iter().find(|write| write.site == slot(10)).expect("the CAPINIT write");
    let image_size = program.layout.image_size;
    assert_eq!(write.value, capability(0, 0, image_size, CapabilityKind::Executable, (TEXT + 0x31) as i64));
}

/// Values on the edges of the capability checks.
const INTERESTING: [u64; 12] = [
    0,
    1,
    8,
    15,
    16,
    PCC_START,
    DATA,
    PROGRAM_DATA_END,
    0x00ff_ffff_ffff_ffff,
    0x04ff_ffff_ffff_ffff,
    i64::MAX as u64,
    u64::MAX,
];

#[test]
fn mutated_capability_relocations_never_panic() {
    // Fixed-seed xorshift over the relocation tables and fragments of the program.
    let original = program().build();
    let (tables, end) = (original.layout.rela, original.layout.jmprel + 24);
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let library = library().build();
    for iteration in 0..3000 {
        let mut image = original.clone();
        for _ in 0..1 + next() % 3 {
            let value = INTERESTING[(next() % INTERESTING.len() as u64) as usize];
            let offset = if next() % 2 == 0 {
                tables + 8 * (next() % ((end - tables) / 8))
            } else {
                slot(next() % 10) + 8 * (next() % 2)
            };
            match next() % 3 {
                0 => image.set_u64(offset, value),
                1 => image.set_u32(offset, (0xe800 + value % 16) as u32),
                _ => image.set_u64(offset, value ^ (next() & 0xffff)),
            }
        }
        let outcome = catch_unwind(AssertUnwindSafe(|| match link(&image, &library) {
            Ok(plan) => format!("{plan:?}"),
            Err(error) => error.to_string(),
        }));
        assert!(outcome.is_ok(), "iteration {iteration} panicked");
    }
}

#[test]
fn compiled_hybrid_aarch64_library_is_not_purecap() {
    let directory = Path::new(env!("CARGO_TARGET_TMPDIR")).join("loader-morello");
    std::fs::create_dir_all(&directory).expect("create the work directory");
    std::fs::write(directory.join("hybrid.c"), "int counter = 1;\nint get(void) { return counter; }\n")
        .expect("write the source");
    let arguments = [
        "--target=aarch64-linux-gnu",
        "-fuse-ld=lld",
        "-fPIC",
        "-shared",
        "-nostdlib",
        "-o",
        "libhybrid.so",
        "hybrid.c",
    ];
    let built = ["clang", "clang-14"].into_iter().any(|compiler| {
        Command::new(compiler)
            .args(arguments)
            .current_dir(&directory)
            .output()
            .is_ok_and(|output| output.status.success())
    });
    if !built {
        println!("skipped: no clang that builds for aarch64-linux-gnu with lld");
        return;
    }
    let bytes = std::fs::read(directory.join("libhybrid.so")).expect("read the library");
    let parsed = parse_object(ObjectInput { name: "libhybrid.so", bytes: &bytes }).expect("it parses");
    assert_eq!(parsed.machine(), loader::Machine::Aarch64);
    assert!(!parsed.purecap());
}

/// A hybrid program that does not need the purecap library: the library is entered,
/// planned after the program with nothing to bind, and the program's own reference to a
/// name the library defines does not bind across.
fn hybrid_program_entering_the_library() -> MorelloElf {
    let mut program = MorelloElf::purecap();
    program.flags = 0;
    program.entry = MAIN;
    program.symbols = vec![
        symbol("lib_function", Place::Undefined, STB_WEAK, STT_FUNC, 0),
        symbol("main", Place::At(MAIN), STB_GLOBAL, STT_FUNC, 0x10),
    ];
    program.data = vec![0; 0x20];
    program.relocations = vec![rela(slot(0), R_MORELLO_GLOB_DAT, Some("lib_function"), 0)];
    program
}

#[test]
fn a_hybrid_program_enters_a_purecap_object_it_does_not_need() {
    let program = hybrid_program_entering_the_library().build();
    let plan = link(&program, &library().build()).expect("an entered object is planned");
    let names: Vec<&str> = plan.objects.iter().map(|object| object.name.as_str()).collect();
    assert_eq!(names, [PROGRAM, LIBRARY]);
    assert!(!plan.objects[0].purecap && plan.objects[1].purecap);
    assert!(plan.objects[0].needed.is_empty() && plan.objects[1].needed.is_empty());
    let crosses = |write: &RelocationWrite| match &write.value {
        RelocationValue::ImageRelative { object, .. } => *object != write.object,
        RelocationValue::Capability(capability) => matches!(
            capability.target,
            CapabilityTarget::ImageRelative { object, .. } if object != write.object
        ),
        RelocationValue::Absolute(_) => false,
    };
    assert!(!plan.relocations.iter().any(crosses), "nothing binds across: {:?}", plan.relocations);
    assert_eq!(plan.relocations.iter().filter(|write| write.object == 1).count(), 1, "the library's own GOT");
}

#[test]
fn an_entered_object_may_not_need_anything() {
    let program = hybrid_program_entering_the_library().build();
    let mut library = library();
    library.needed = vec!["libc.so".into()];
    assert_load_error!(
        link(&program, &library.build()),
        LoadError::EnteredObjectNeeds { ref object, ref needed } if object == LIBRARY && needed == "libc.so",
        LIBRARY,
        "libc.so",
        "entered"
    );
}
