//! A test-only writer of small Arm Morello ELF objects, built with the `object` crate's
//! low-level ELF writer ([`object::write::elf::Writer`]).
//!
//! A [`MorelloElf`] describes an `ET_DYN` object: its `e_flags` (purecap or not), soname,
//! needed names, dynamic symbols, RELA relocations and the bytes of its `.rodata`,
//! `.text` and `.data`, where a test writes capability fragments (FACTS §3.3) with
//! [`MorelloElf::fragment`]. Sections sit at fixed addresses, so a test can name them
//! before the object is built; file offset = address throughout:
//!
//! ```text
//! LOAD R   0x0000  ELF header, program headers, .hash, .dynsym, .dynstr, .rela.dyn,
//!                  .rela.plt; .rodata at RODATA (0x800)
//! LOAD RX  0x1000  .text
//! LOAD RW  0x2000  .dynamic; .data at DATA (0x2100), then .bss (memory only)
//! DYNAMIC  0x2000
//! ```

use object::elf;
use object::write::elf::{FileHeader, ProgramHeader, Rel, Sym, Writer};
use object::write::StringId;
use object::Endianness;

pub const EF_AARCH64_CHERI_PURECAP: u32 = 0x0001_0000;

pub const R_AARCH64_RELATIVE: u32 = 1027;
pub const R_MORELLO_CAPINIT: u32 = 0xe800;
pub const R_MORELLO_GLOB_DAT: u32 = 0xe801;
pub const R_MORELLO_JUMP_SLOT: u32 = 0xe802;
pub const R_MORELLO_RELATIVE: u32 = 0xe803;

/// Fragment permission kinds (FACTS §3.3).
pub const EXECUTABLE: u8 = 4;
pub const READ_WRITE: u8 = 2;
pub const READ_ONLY: u8 = 1;

pub const RODATA: u64 = 0x800;
pub const TEXT: u64 = 0x1000;
pub const DYNAMIC: u64 = 0x2000;
pub const DATA: u64 = 0x2100;
const PAGE: u64 = 0x1000;

/// Where a symbol is defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Undefined,
    Absolute(u64),
    /// An address in the image.
    At(u64),
}

#[derive(Debug, Clone)]
pub struct SymbolSpec {
    pub name: String,
    pub place: Place,
    pub binding: u8,
    pub symbol_type: u8,
    pub size: u64,
}

/// A symbol: `(name, place, STB_*, STT_*, st_size)`.
pub fn symbol(name: &str, place: Place, binding: u8, symbol_type: u8, size: u64) -> SymbolSpec {
    SymbolSpec { name: name.into(), place, binding, symbol_type, size }
}

#[derive(Debug, Clone)]
pub struct RelaSpec {
    /// `r_offset`: the site's address.
    pub site: u64,
    pub relocation_type: u32,
    pub symbol: Option<String>,
    pub addend: i64,
}

/// A relocation: `(site, type, symbol, addend)`.
pub fn rela(site: u64, relocation_type: u32, symbol: Option<&str>, addend: i64) -> RelaSpec {
    RelaSpec { site, relocation_type, symbol: symbol.map(String::from), addend }
}

/// Everything the writer writes.
#[derive(Debug, Clone)]
pub struct MorelloElf {
    pub machine: u16,
    pub flags: u32,
    pub entry: u64,
    pub soname: Option<String>,
    pub needed: Vec<String>,
    /// In dynamic symbol table order, after the null symbol.
    pub symbols: Vec<SymbolSpec>,
    pub relocations: Vec<RelaSpec>,
    pub plt_relocations: Vec<RelaSpec>,
    pub rodata: Vec<u8>,
    pub text_size: u64,
    pub data: Vec<u8>,
    pub bss_size: u64,
}

/// Where the tables landed in a built object.
#[derive(Debug, Clone)]
pub struct Layout {
    pub rela: u64,
    pub jmprel: u64,
    pub image_size: u64,
}

impl Layout {
    /// File offset of `.rela.dyn` entry `index`.
    pub fn rela_entry(&self, index: usize) -> u64 {
        self.rela + 24 * index as u64
    }

    /// File offset of `.rela.plt` entry `index`.
    pub fn jmprel_entry(&self, index: usize) -> u64 {
        self.jmprel + 24 * index as u64
    }
}

/// A built object.
#[derive(Debug, Clone)]
pub struct Built {
    pub bytes: Vec<u8>,
    pub layout: Layout,
}

impl Built {
    pub fn set_u8(&mut self, offset: u64, value: u8) {
        self.bytes[offset as usize] = value;
    }

    pub fn set_u32(&mut self, offset: u64, value: u32) {
        self.put(offset, &value.to_le_bytes());
    }

    pub fn set_u64(&mut self, offset: u64, value: u64) {
        self.put(offset, &value.to_le_bytes());
    }

    fn put(&mut self, offset: u64, value: &[u8]) {
        let start = offset as usize;
        self.bytes[start..start + value.len()].copy_from_slice(value);
    }
}

impl MorelloElf {
    /// An empty purecap AArch64 object.
    pub fn purecap() -> Self {
        Self {
            machine: elf::EM_AARCH64,
            flags: EF_AARCH64_CHERI_PURECAP,
            entry: 0,
            soname: None,
            needed: Vec::new(),
            symbols: Vec::new(),
            relocations: Vec::new(),
            plt_relocations: Vec::new(),
            rodata: Vec::new(),
            text_size: 0x80,
            data: Vec::new(),
            bss_size: 0,
        }
    }

    /// Writes a capability fragment at `site` (an address in `.data`): `address`, then
    /// `length` in bits 55:0 and `kind` in bits 63:56 of the second word.
    pub fn fragment(&mut self, site: u64, address: u64, length: u64, kind: u8) {
        let start = (site - DATA) as usize;
        if self.data.len() < start + 16 {
            self.data.resize(start + 16, 0);
        }
        let metadata = (u64::from(kind) << 56) | (length & 0x00ff_ffff_ffff_ffff);
        self.data[start..start + 8].copy_from_slice(&address.to_le_bytes());
        self.data[start + 8..start + 16].copy_from_slice(&metadata.to_le_bytes());
    }

    /// The index of symbol `name` in the dynamic symbol table.
    pub fn symbol_index(&self, name: &str) -> usize {
        1 + self.symbols.iter().position(|symbol| symbol.name == name).expect("symbol written")
    }

    /// Lays the object out and writes it.
    pub fn build(&self) -> Built {
        let mut bytes = Vec::new();
        let mut writer = Writer::new(Endianness::Little, true, &mut bytes);
        writer.reserve_file_header();
        writer.reserve_program_headers(4);
        let soname = self.soname.as_ref().map(|name| writer.add_dynamic_string(name.as_bytes()));
        let needed: Vec<StringId> =
            self.needed.iter().map(|name| writer.add_dynamic_string(name.as_bytes())).collect();
        let names: Vec<StringId> =
            self.symbols.iter().map(|symbol| writer.add_dynamic_string(symbol.name.as_bytes())).collect();
        for _ in &self.symbols {
            writer.reserve_dynamic_symbol_index();
        }
        let symbol_count = self.symbols.len() as u32 + 1;
        let hash = writer.reserve_hash(1, symbol_count) as u64;
        let dynsym = writer.reserve_dynsym() as u64;
        let dynstr = writer.reserve_dynstr() as u64;
        let dynstr_size = writer.dynstr_len() as u64;
        let rela = writer.reserve_relocations(self.relocations.len(), true) as u64;
        let jmprel = writer.reserve_relocations(self.plt_relocations.len(), true) as u64;
        writer.reserve_until(RODATA as usize);
        writer.reserve(self.rodata.len(), 1);
        writer.reserve_until(TEXT as usize);
        writer.reserve(self.text_size as usize, 1);

        let mut dynamic: Vec<(u32, u64)> =
            needed.iter().map(|_| (elf::DT_NEEDED, 0)).chain(soname.map(|_| (elf::DT_SONAME, 0))).collect();
        dynamic.extend([
            (elf::DT_HASH, hash),
            (elf::DT_STRTAB, dynstr),
            (elf::DT_STRSZ, dynstr_size),
            (elf::DT_SYMTAB, dynsym),
            (elf::DT_SYMENT, 24),
        ]);
        if !self.relocations.is_empty() {
            let size = 24 * self.relocations.len() as u64;
            dynamic.extend([(elf::DT_RELA, rela), (elf::DT_RELASZ, size), (elf::DT_RELAENT, 24)]);
        }
        if !self.plt_relocations.is_empty() {
            let size = 24 * self.plt_relocations.len() as u64;
            dynamic.extend([
                (elf::DT_JMPREL, jmprel),
                (elf::DT_PLTRELSZ, size),
                (elf::DT_PLTREL, u64::from(elf::DT_RELA)),
            ]);
        }
        dynamic.push((elf::DT_NULL, 0));
        writer.reserve_until(DYNAMIC as usize);
        writer.reserve_dynamic(dynamic.len());
        writer.reserve_until(DATA as usize);
        writer.reserve(self.data.len(), 1);

        let data_end = DATA + self.data.len() as u64;
        let image_size = (data_end + self.bss_size).div_ceil(PAGE) * PAGE;
        writer
            .write_file_header(&FileHeader {
                os_abi: elf::ELFOSABI_NONE,
                abi_version: 0,
                e_type: elf::ET_DYN,
                e_machine: self.machine,
                e_entry: self.entry,
                e_flags: self.flags,
            })
            .expect("the file header is written");
        writer.write_align_program_headers();
        let read_only_end = RODATA + self.rodata.len() as u64;
        let dynamic_size = 16 * dynamic.len() as u64;
        let segments = [
            (elf::PT_LOAD, elf::PF_R, 0, read_only_end, read_only_end, PAGE),
            (elf::PT_LOAD, elf::PF_R | elf::PF_X, TEXT, self.text_size, self.text_size, PAGE),
            (
                elf::PT_LOAD,
                elf::PF_R | elf::PF_W,
                DYNAMIC,
                data_end - DYNAMIC,
                data_end - DYNAMIC + self.bss_size,
                PAGE,
            ),
            (elf::PT_DYNAMIC, elf::PF_R | elf::PF_W, DYNAMIC, dynamic_size, dynamic_size, 8),
        ];
        for (p_type, p_flags, address, p_filesz, p_memsz, p_align) in segments {
            writer.write_program_header(&ProgramHeader {
                p_type,
                p_flags,
                p_offset: address,
                p_vaddr: address,
                p_paddr: address,
                p_filesz,
                p_memsz,
                p_align,
            });
        }
        writer.write_hash(1, symbol_count, |index| {
            let symbol = self.symbols.get(index.checked_sub(1)? as usize)?;
            Some(elf::hash(symbol.name.as_bytes()))
        });
        writer.write_null_dynamic_symbol();
        for (symbol, name) in self.symbols.iter().zip(&names) {
            let (st_shndx, st_value) = match symbol.place {
                Place::Undefined => (elf::SHN_UNDEF, 0),
                Place::Absolute(value) => (elf::SHN_ABS, value),
                // Any ordinary section index: the loader only tells UNDEF and ABS apart.
                Place::At(address) => (1, address),
            };
            writer.write_dynamic_symbol(&Sym {
                name: Some(*name),
                section: None,
                st_info: (symbol.binding << 4) | symbol.symbol_type,
                st_other: elf::STV_DEFAULT,
                st_shndx,
                st_value,
                st_size: symbol.size,
            });
        }
        writer.write_dynstr();
        for relocations in [&self.relocations, &self.plt_relocations] {
            writer.write_align_relocation();
            for relocation in relocations {
                let r_sym = relocation.symbol.as_deref().map_or(0, |name| self.symbol_index(name) as u32);
                writer.write_relocation(
                    true,
                    &Rel {
                        r_offset: relocation.site,
                        r_sym,
                        r_type: relocation.relocation_type,
                        r_addend: relocation.addend,
                    },
                );
            }
        }
        writer.pad_until(RODATA as usize);
        writer.write(&self.rodata);
        writer.pad_until(TEXT as usize);
        // `ret` (A64 0xd65f03c0) throughout .text.
        let text: Vec<u8> =
            [0xc0, 0x03, 0x5f, 0xd6].into_iter().cycle().take(self.text_size as usize).collect();
        writer.write(&text);
        writer.pad_until(DYNAMIC as usize);
        writer.write_align_dynamic();
        let mut needed_names = needed.iter();
        for (tag, value) in dynamic {
            match tag {
                elf::DT_NEEDED => {
                    writer.write_dynamic_string(tag, *needed_names.next().expect("a needed name"))
                }
                elf::DT_SONAME => writer.write_dynamic_string(tag, soname.expect("a soname")),
                _ => writer.write_dynamic(tag, value),
            }
        }
        writer.pad_until(DATA as usize);
        writer.write(&self.data);
        assert_eq!(writer.reserved_len(), writer.len(), "everything reserved was written");
        Built { bytes, layout: Layout { rela, jmprel, image_size } }
    }
}
