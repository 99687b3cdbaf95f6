//! A test-only ELF writer: small, valid `ET_DYN` images built from scratch.
//!
//! An [`ElfBuilder`] describes an object (machine, soname, needed names, symbols, GOT
//! slots, relocations); [`ElfBuilder::build`] lays it out and returns the bytes with a
//! [`Layout`] that says where every interesting field landed, so a test can corrupt
//! exactly one of them. The layout, in file order (file offset = address throughout):
//!
//! ```text
//! LOAD R   0x0000  ELF header, program headers, .hash, .gnu.hash, .dynsym, .dynstr,
//!                  .rela.dyn, .rela.plt
//! LOAD RX  page    .text
//! LOAD RW  page    .dynamic, .got, .data, then .bss (memory only)
//! DYNAMIC          .dynamic
//! GNU_RELRO        .dynamic + .got            (optional)
//! GNU_STACK
//! ```
// reason: each test binary uses a different part of this shared module.
#![allow(dead_code)]

use std::collections::BTreeMap;

mod builder;

pub use builder::{library, program, LIBRARY, PROGRAM};

pub const EM_X86_64: u16 = 62;
pub const EM_AARCH64: u16 = 183;

pub const PT_LOAD: u32 = 1;
pub const PT_DYNAMIC: u32 = 2;
pub const PT_NOTE: u32 = 4;
pub const PT_TLS: u32 = 7;
pub const PT_GNU_STACK: u32 = 0x6474_e551;
pub const PT_GNU_RELRO: u32 = 0x6474_e552;
pub const PF_X: u32 = 1;
pub const PF_W: u32 = 2;
pub const PF_R: u32 = 4;

pub const DT_NULL: u64 = 0;
pub const DT_NEEDED: u64 = 1;
pub const DT_PLTRELSZ: u64 = 2;
pub const DT_HASH: u64 = 4;
pub const DT_STRTAB: u64 = 5;
pub const DT_SYMTAB: u64 = 6;
pub const DT_RELA: u64 = 7;
pub const DT_RELASZ: u64 = 8;
pub const DT_RELAENT: u64 = 9;
pub const DT_STRSZ: u64 = 10;
pub const DT_SYMENT: u64 = 11;
pub const DT_SONAME: u64 = 14;
pub const DT_REL: u64 = 17;
pub const DT_PLTREL: u64 = 20;
pub const DT_DEBUG: u64 = 21;
pub const DT_JMPREL: u64 = 23;
pub const DT_RELR: u64 = 36;
pub const DT_GNU_HASH: u64 = 0x6fff_fef5;

pub const STB_LOCAL: u8 = 0;
pub const STB_GLOBAL: u8 = 1;
pub const STB_WEAK: u8 = 2;
pub const STT_NOTYPE: u8 = 0;
pub const STT_OBJECT: u8 = 1;
pub const STT_FUNC: u8 = 2;
pub const STT_GNU_IFUNC: u8 = 10;
pub const STV_PROTECTED: u8 = 3;

/// Offsets of the fields of a program header.
pub const P_TYPE: u64 = 0;
pub const P_FLAGS: u64 = 4;
pub const P_OFFSET: u64 = 8;
pub const P_VADDR: u64 = 16;
pub const P_FILESZ: u64 = 32;
pub const P_MEMSZ: u64 = 40;
pub const P_ALIGN: u64 = 48;

/// Indices of the program headers the builder writes.
pub const LOAD_READ: usize = 0;
pub const LOAD_TEXT: usize = 1;
pub const LOAD_DATA: usize = 2;
pub const DYNAMIC: usize = 3;
pub const RELRO: usize = 4;

const PAGE: u64 = 0x1000;

/// A place in the image, resolved to an address at layout time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Offset inside `.text`.
    Text(u64),
    /// Offset inside `.data`.
    Data(u64),
    /// A GOT slot.
    Got(usize),
    /// A raw address.
    Address(u64),
}

/// Where a symbol is defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Definition {
    Undefined,
    At(Place),
    Absolute(u64),
}

#[derive(Debug, Clone)]
pub struct SymbolSpec {
    pub name: String,
    pub definition: Definition,
    pub binding: u8,
    pub symbol_type: u8,
    pub visibility: u8,
    pub size: u64,
}

impl SymbolSpec {
    pub fn new(name: &str, definition: Definition, binding: u8, symbol_type: u8, size: u64) -> Self {
        Self { name: name.into(), definition, binding, symbol_type, visibility: 0, size }
    }
}

/// A relocation type, mapped to the machine's number at build time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Relative,
    Absolute64,
    GlobDat,
    JumpSlot,
    Raw(u32),
}

impl Kind {
    pub fn number(self, machine: u16) -> u32 {
        let aarch64 = machine == EM_AARCH64;
        match (self, aarch64) {
            (Kind::Relative, false) => 8,
            (Kind::Absolute64, false) => 1,
            (Kind::GlobDat, false) => 6,
            (Kind::JumpSlot, false) => 7,
            (Kind::Relative, true) => 1027,
            (Kind::Absolute64, true) => 257,
            (Kind::GlobDat, true) => 1025,
            (Kind::JumpSlot, true) => 1026,
            (Kind::Raw(number), _) => number,
        }
    }
}

/// A relocation's addend: a number, or the address of a place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Addend {
    Number(i64),
    At(Place),
}

#[derive(Debug, Clone)]
pub struct RelaSpec {
    pub site: Place,
    pub kind: Kind,
    pub symbol: Option<String>,
    pub addend: Addend,
}

impl RelaSpec {
    pub fn new(site: Place, kind: Kind, symbol: Option<&str>, addend: Addend) -> Self {
        Self { site, kind, symbol: symbol.map(String::from), addend }
    }
}

/// Which symbol-count tables to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashStyle {
    Sysv,
    Gnu,
    Both,
}

/// Everything the builder writes, with a knob per field.
#[derive(Debug, Clone)]
pub struct ElfBuilder {
    pub machine: u16,
    pub soname: Option<String>,
    pub needed: Vec<String>,
    pub symbols: Vec<SymbolSpec>,
    pub got_slots: usize,
    pub relocations: Vec<RelaSpec>,
    pub plt_relocations: Vec<RelaSpec>,
    pub text_size: u64,
    pub data_size: u64,
    pub bss_size: u64,
    pub entry: Place,
    pub hash_style: HashStyle,
    pub relro: bool,
    /// Extra dynamic entries, written just before `DT_NULL`.
    pub extra_dynamic: Vec<(u64, u64)>,
}

/// Where things landed in a built image.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    pub program_header_count: usize,
    pub hash: Option<u64>,
    pub gnu_hash: Option<u64>,
    pub dynsym: u64,
    pub dynstr: u64,
    pub dynstr_size: u64,
    pub rela: u64,
    pub jmprel: u64,
    pub text: u64,
    pub data_segment: u64,
    pub dynamic: u64,
    pub got: u64,
    pub data: u64,
    pub data_file_size: u64,
    pub image_size: u64,
    pub entry: u64,
    /// (tag, file offset of the entry), in order.
    pub dynamic_entries: Vec<(u64, u64)>,
    /// Symbol names in symbol table order (index 0 is "").
    pub symbol_order: Vec<String>,
    /// File offset of each name in `.dynstr`.
    pub strings: BTreeMap<String, u64>,
}

impl Layout {
    /// File offset of program header `index`.
    pub fn program_header(&self, index: usize) -> u64 {
        64 + 56 * index as u64
    }

    /// File offset of the first dynamic entry with `tag`.
    pub fn dynamic_entry(&self, tag: u64) -> u64 {
        self.dynamic_entries.iter().find(|(entry_tag, _)| *entry_tag == tag).expect("tag written").1
    }

    /// Index of symbol `name` in the symbol table.
    pub fn symbol_index(&self, name: &str) -> usize {
        self.symbol_order.iter().position(|symbol| symbol == name).expect("symbol written")
    }

    /// File offset of symbol `name`'s `Elf64_Sym`.
    pub fn symbol_entry(&self, name: &str) -> u64 {
        self.dynsym + 24 * self.symbol_index(name) as u64
    }

    /// File offset of the string `name` in `.dynstr`.
    pub fn string(&self, name: &str) -> u64 {
        self.strings[name]
    }

    /// File offset of `.rela.dyn` entry `index`.
    pub fn rela_entry(&self, index: usize) -> u64 {
        self.rela + 24 * index as u64
    }

    /// File offset of `.rela.plt` entry `index`.
    pub fn jmprel_entry(&self, index: usize) -> u64 {
        self.jmprel + 24 * index as u64
    }

    /// Address of a place.
    pub fn address(&self, place: Place) -> u64 {
        match place {
            Place::Text(offset) => self.text + offset,
            Place::Data(offset) => self.data + offset,
            Place::Got(slot) => self.got + 8 * slot as u64,
            Place::Address(address) => address,
        }
    }
}

/// A built image and its layout.
#[derive(Debug, Clone)]
pub struct Image {
    pub bytes: Vec<u8>,
    pub layout: Layout,
}

impl Image {
    pub fn set_u8(&mut self, offset: u64, value: u8) {
        self.bytes[offset as usize] = value;
    }
    pub fn set_u16(&mut self, offset: u64, value: u16) {
        put(&mut self.bytes, offset, &value.to_le_bytes());
    }
    pub fn set_u32(&mut self, offset: u64, value: u32) {
        put(&mut self.bytes, offset, &value.to_le_bytes());
    }
    pub fn set_u64(&mut self, offset: u64, value: u64) {
        put(&mut self.bytes, offset, &value.to_le_bytes());
    }
    pub fn u64_at(&self, offset: u64) -> u64 {
        let start = offset as usize;
        u64::from_le_bytes(self.bytes[start..start + 8].try_into().unwrap())
    }
    /// Sets field `field` (a `P_*` offset) of program header `index`.
    pub fn set_program_header_u64(&mut self, index: usize, field: u64, value: u64) {
        let offset = self.layout.program_header(index) + field;
        self.set_u64(offset, value);
    }
    pub fn set_program_header_u32(&mut self, index: usize, field: u64, value: u32) {
        let offset = self.layout.program_header(index) + field;
        self.set_u32(offset, value);
    }
    /// Sets the value of the first dynamic entry with `tag`.
    pub fn set_dynamic_value(&mut self, tag: u64, value: u64) {
        let offset = self.layout.dynamic_entry(tag) + 8;
        self.set_u64(offset, value);
    }
    /// Changes the tag of the first dynamic entry with `tag`.
    pub fn set_dynamic_tag(&mut self, tag: u64, new_tag: u64) {
        let offset = self.layout.dynamic_entry(tag);
        self.set_u64(offset, new_tag);
    }
}

fn put(bytes: &mut [u8], offset: u64, value: &[u8]) {
    let start = offset as usize;
    bytes[start..start + value.len()].copy_from_slice(value);
}

fn align8(value: u64) -> u64 {
    value.div_ceil(8) * 8
}

fn page_ceil(value: u64) -> u64 {
    value.div_ceil(PAGE) * PAGE
}

pub fn gnu_hash(name: &str) -> u32 {
    name.bytes().fold(5381u32, |hash, byte| hash.wrapping_mul(33).wrapping_add(u32::from(byte)))
}

/// `value` as the loader's messages print offsets and addresses.
pub fn hex(value: u64) -> String {
    format!("{value:#x}")
}

/// Plans `program` (named [`PROGRAM`]) with the default library.
pub fn link_program(program: &Image) -> Result<loader::LoadPlan, loader::LoadError> {
    let library = library().build();
    let available = [loader::ObjectInput { name: LIBRARY, bytes: &library.bytes }];
    loader::plan(loader::ObjectInput { name: PROGRAM, bytes: &program.bytes }, &available)
}

/// Plans the default program with `library` (named [`LIBRARY`]).
pub fn link_library(library: &Image) -> Result<loader::LoadPlan, loader::LoadError> {
    let program = program().build();
    let available = [loader::ObjectInput { name: LIBRARY, bytes: &library.bytes }];
    loader::plan(loader::ObjectInput { name: PROGRAM, bytes: &program.bytes }, &available)
}

/// Asserts that `result` failed with an error matching `pattern` whose message mentions
/// every one of the following values; evaluates to the error.
// reason: not every test binary asserts errors.
#[allow(unused_macros)]
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
#[allow(unused_imports)]
pub(crate) use assert_load_error;
