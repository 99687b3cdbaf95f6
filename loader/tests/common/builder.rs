//! Laying out and writing an [`ElfBuilder`], and the default program and library.

use std::collections::BTreeMap;

use super::*;

/// The name and soname of the default library.
pub const LIBRARY: &str = "libshared.so";
/// The name of the default program.
pub const PROGRAM: &str = "program";

/// A program that needs [`LIBRARY`], calls `shared_function` through the PLT, reads
/// `shared_variable` through the GOT, takes the address of a missing weak symbol, and
/// holds a pointer to its own `.text` in `.data`.
pub fn program() -> ElfBuilder {
    ElfBuilder {
        machine: EM_X86_64,
        soname: None,
        needed: vec![LIBRARY.into()],
        symbols: vec![
            SymbolSpec::new("main", Definition::At(Place::Text(0)), STB_GLOBAL, STT_FUNC, 16),
            SymbolSpec::new("shared_function", Definition::Undefined, STB_GLOBAL, STT_FUNC, 0),
            SymbolSpec::new("shared_variable", Definition::Undefined, STB_GLOBAL, STT_OBJECT, 0),
            SymbolSpec::new("weak_missing", Definition::Undefined, STB_WEAK, STT_NOTYPE, 0),
        ],
        got_slots: 3,
        relocations: vec![
            RelaSpec::new(Place::Data(0), Kind::Relative, None, Addend::At(Place::Text(8))),
            RelaSpec::new(Place::Got(0), Kind::GlobDat, Some("shared_variable"), Addend::Number(0)),
            RelaSpec::new(Place::Got(2), Kind::GlobDat, Some("weak_missing"), Addend::Number(0)),
        ],
        plt_relocations: vec![RelaSpec::new(
            Place::Got(1),
            Kind::JumpSlot,
            Some("shared_function"),
            Addend::Number(0),
        )],
        text_size: 32,
        data_size: 16,
        bss_size: 16,
        entry: Place::Text(0),
        hash_style: HashStyle::Sysv,
        relro: true,
        extra_dynamic: Vec::new(),
    }
}

/// [`LIBRARY`]: defines `shared_function`, `shared_variable`, a local `local_helper` and
/// an absolute `absolute_value`; its GOT refers to `shared_variable` and (plus 8) to
/// `absolute_value`, and `.data` holds a pointer to `shared_function`.
pub fn library() -> ElfBuilder {
    ElfBuilder {
        machine: EM_X86_64,
        soname: Some(LIBRARY.into()),
        needed: Vec::new(),
        symbols: vec![
            SymbolSpec::new("local_helper", Definition::At(Place::Text(0x20)), STB_LOCAL, STT_FUNC, 8),
            SymbolSpec::new("shared_function", Definition::At(Place::Text(0x10)), STB_GLOBAL, STT_FUNC, 16),
            SymbolSpec::new("shared_variable", Definition::At(Place::Data(8)), STB_GLOBAL, STT_OBJECT, 8),
            SymbolSpec::new("absolute_value", Definition::Absolute(0x1234), STB_GLOBAL, STT_NOTYPE, 0),
        ],
        got_slots: 2,
        relocations: vec![
            RelaSpec::new(Place::Data(0), Kind::Relative, None, Addend::At(Place::Text(0x10))),
            RelaSpec::new(Place::Got(0), Kind::GlobDat, Some("shared_variable"), Addend::Number(0)),
            RelaSpec::new(Place::Got(1), Kind::Absolute64, Some("absolute_value"), Addend::Number(8)),
        ],
        plt_relocations: Vec::new(),
        text_size: 48,
        data_size: 16,
        bss_size: 0,
        entry: Place::Address(0),
        hash_style: HashStyle::Sysv,
        relro: true,
        extra_dynamic: Vec::new(),
    }
}

impl ElfBuilder {
    /// Symbols in table order: locals, then undefined, then defined globals (the ones
    /// `DT_GNU_HASH` covers). Index 0 is the null symbol.
    fn ordered_symbols(&self) -> (Vec<SymbolSpec>, usize) {
        let null = SymbolSpec::new("", Definition::Undefined, STB_LOCAL, STT_NOTYPE, 0);
        let locals = self.symbols.iter().filter(|symbol| symbol.binding == STB_LOCAL);
        let undefined = self
            .symbols
            .iter()
            .filter(|symbol| symbol.binding != STB_LOCAL && symbol.definition == Definition::Undefined);
        let defined = self
            .symbols
            .iter()
            .filter(|symbol| symbol.binding != STB_LOCAL && symbol.definition != Definition::Undefined);
        let mut ordered = vec![null];
        ordered.extend(locals.cloned());
        ordered.extend(undefined.cloned());
        let first_hashed = ordered.len();
        ordered.extend(defined.cloned());
        (ordered, first_hashed)
    }

    /// The dynamic entries, with placeholder values for addresses, in order.
    fn dynamic_tags(&self) -> Vec<u64> {
        let mut tags = vec![DT_NEEDED; self.needed.len()];
        if self.soname.is_some() {
            tags.push(DT_SONAME);
        }
        if self.hash_style != HashStyle::Gnu {
            tags.push(DT_HASH);
        }
        if self.hash_style != HashStyle::Sysv {
            tags.push(DT_GNU_HASH);
        }
        tags.extend([DT_STRTAB, DT_STRSZ, DT_SYMTAB, DT_SYMENT]);
        if !self.relocations.is_empty() {
            tags.extend([DT_RELA, DT_RELASZ, DT_RELAENT]);
        }
        if !self.plt_relocations.is_empty() {
            tags.extend([DT_JMPREL, DT_PLTRELSZ, DT_PLTREL]);
        }
        tags.extend(self.extra_dynamic.iter().map(|(tag, _)| *tag));
        tags.push(DT_NULL);
        tags
    }

    /// Lays the object out and writes it.
    pub fn build(&self) -> Image {
        let (symbols, first_hashed) = self.ordered_symbols();
        let program_header_count = if self.relro { 6 } else { 5 };
        let mut layout = Layout { program_header_count, ..Layout::default() };

        // .dynstr: "", needed names, soname, symbol names.
        let mut dynstr = vec![0u8];
        let mut string_offsets = BTreeMap::new();
        let names =
            self.needed.iter().chain(&self.soname).chain(symbols.iter().skip(1).map(|symbol| &symbol.name));
        for name in names {
            string_offsets.entry(name.clone()).or_insert_with(|| {
                let offset = dynstr.len() as u64;
                dynstr.extend_from_slice(name.as_bytes());
                dynstr.push(0);
                offset
            });
        }

        // The read-only segment.
        let mut cursor = 64 + 56 * program_header_count as u64;
        let hashed = (symbols.len() - first_hashed) as u64;
        if self.hash_style != HashStyle::Gnu {
            cursor = align8(cursor);
            layout.hash = Some(cursor);
            cursor += 8 + 4 + 4 * symbols.len() as u64;
        }
        if self.hash_style != HashStyle::Sysv {
            cursor = align8(cursor);
            layout.gnu_hash = Some(cursor);
            cursor += 16 + 8 + 4 + 4 * hashed;
        }
        layout.dynsym = align8(cursor);
        cursor = layout.dynsym + 24 * symbols.len() as u64;
        layout.dynstr = cursor;
        layout.dynstr_size = dynstr.len() as u64;
        cursor += layout.dynstr_size;
        layout.rela = align8(cursor);
        cursor = layout.rela + 24 * self.relocations.len() as u64;
        layout.jmprel = cursor;
        cursor += 24 * self.plt_relocations.len() as u64;
        let read_only_end = cursor;

        // The text and data segments.
        layout.text = page_ceil(read_only_end);
        layout.data_segment = page_ceil(layout.text + self.text_size);
        let dynamic_tags = self.dynamic_tags();
        layout.dynamic = layout.data_segment;
        layout.got = layout.dynamic + 16 * dynamic_tags.len() as u64;
        layout.data = layout.got + 8 * self.got_slots as u64;
        layout.data_file_size = layout.data + self.data_size - layout.data_segment;
        let data_memory_size = layout.data_file_size + self.bss_size;
        layout.image_size = page_ceil(layout.data_segment + data_memory_size);
        layout.entry = layout.address(self.entry);
        layout.symbol_order = symbols.iter().map(|symbol| symbol.name.clone()).collect();
        layout.strings =
            string_offsets.iter().map(|(name, offset)| (name.clone(), layout.dynstr + offset)).collect();

        let file_length = layout.data_segment + layout.data_file_size;
        let mut bytes = vec![0u8; file_length as usize];
        self.write_header(&mut bytes, &layout);
        self.write_program_headers(
            &mut bytes,
            &layout,
            read_only_end,
            data_memory_size,
            dynamic_tags.len() as u64,
        );
        self.write_hashes(&mut bytes, &layout, &symbols, first_hashed);
        for (index, symbol) in symbols.iter().enumerate() {
            let entry = layout.dynsym + 24 * index as u64;
            let name = if index == 0 { 0 } else { string_offsets[&symbol.name] as u32 };
            put(&mut bytes, entry, &name.to_le_bytes());
            bytes[entry as usize + 4] = (symbol.binding << 4) | symbol.symbol_type;
            bytes[entry as usize + 5] = symbol.visibility;
            let (section, value): (u16, u64) = match symbol.definition {
                Definition::Undefined => (0, 0),
                Definition::Absolute(value) => (0xfff1, value),
                Definition::At(place @ Place::Text(_)) => (1, layout.address(place)),
                Definition::At(place) => (2, layout.address(place)),
            };
            put(&mut bytes, entry + 6, &section.to_le_bytes());
            put(&mut bytes, entry + 8, &value.to_le_bytes());
            put(&mut bytes, entry + 16, &symbol.size.to_le_bytes());
        }
        put(&mut bytes, layout.dynstr, &dynstr);
        let symbol_index = |name: &Option<String>| match name {
            Some(name) => {
                symbols.iter().position(|symbol| &symbol.name == name).expect("known symbol") as u64
            }
            None => 0,
        };
        for (table, relocations) in [(layout.rela, &self.relocations), (layout.jmprel, &self.plt_relocations)]
        {
            for (index, relocation) in relocations.iter().enumerate() {
                let entry = table + 24 * index as u64;
                let info = (symbol_index(&relocation.symbol) << 32)
                    | u64::from(relocation.kind.number(self.machine));
                let addend = match relocation.addend {
                    Addend::Number(number) => number,
                    Addend::At(place) => layout.address(place) as i64,
                };
                put(&mut bytes, entry, &layout.address(relocation.site).to_le_bytes());
                put(&mut bytes, entry + 8, &info.to_le_bytes());
                put(&mut bytes, entry + 16, &addend.to_le_bytes());
            }
        }
        // .text: `ret` instructions; .dynamic.
        let text_start = layout.text as usize;
        bytes[text_start..text_start + self.text_size as usize].fill(0xc3);
        layout.dynamic_entries = self.write_dynamic(&mut bytes, &layout, &dynamic_tags, &string_offsets);
        Image { bytes, layout }
    }

    fn write_header(&self, bytes: &mut [u8], layout: &Layout) {
        put(bytes, 0, b"\x7fELF");
        bytes[4] = 2; // ELFCLASS64
        bytes[5] = 1; // ELFDATA2LSB
        bytes[6] = 1; // EV_CURRENT
        put(bytes, 16, &3u16.to_le_bytes()); // ET_DYN
        put(bytes, 18, &self.machine.to_le_bytes());
        put(bytes, 20, &1u32.to_le_bytes());
        put(bytes, 24, &layout.entry.to_le_bytes());
        put(bytes, 32, &64u64.to_le_bytes()); // e_phoff
        put(bytes, 52, &64u16.to_le_bytes()); // e_ehsize
        put(bytes, 54, &56u16.to_le_bytes()); // e_phentsize
        put(bytes, 56, &(layout.program_header_count as u16).to_le_bytes());
        put(bytes, 58, &64u16.to_le_bytes()); // e_shentsize
    }

    fn write_program_headers(
        &self,
        bytes: &mut [u8],
        layout: &Layout,
        read_only_end: u64,
        data_memory_size: u64,
        dynamic_count: u64,
    ) {
        let dynamic_size = 16 * dynamic_count;
        let mut headers = vec![
            (PT_LOAD, PF_R, 0, read_only_end, read_only_end, PAGE),
            (PT_LOAD, PF_R | PF_X, layout.text, self.text_size, self.text_size, PAGE),
            (PT_LOAD, PF_R | PF_W, layout.data_segment, layout.data_file_size, data_memory_size, PAGE),
            (PT_DYNAMIC, PF_R | PF_W, layout.dynamic, dynamic_size, dynamic_size, 8),
        ];
        if self.relro {
            let size = layout.data - layout.data_segment;
            headers.push((PT_GNU_RELRO, PF_R, layout.data_segment, size, size, 1));
        }
        headers.push((PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 16));
        for (index, (kind, flags, address, file_size, memory_size, alignment)) in
            headers.into_iter().enumerate()
        {
            let entry = layout.program_header(index);
            put(bytes, entry, &kind.to_le_bytes());
            put(bytes, entry + P_FLAGS, &flags.to_le_bytes());
            for (field, value) in [
                (P_OFFSET, address),
                (P_VADDR, address),
                (24, address),
                (P_FILESZ, file_size),
                (P_MEMSZ, memory_size),
                (P_ALIGN, alignment),
            ] {
                put(bytes, entry + field, &value.to_le_bytes());
            }
        }
    }

    fn write_hashes(&self, bytes: &mut [u8], layout: &Layout, symbols: &[SymbolSpec], first_hashed: usize) {
        if let Some(hash) = layout.hash {
            // One bucket holding one chain through every symbol, highest index first.
            let count = symbols.len() as u32;
            put(bytes, hash, &1u32.to_le_bytes());
            put(bytes, hash + 4, &count.to_le_bytes());
            put(bytes, hash + 8, &count.saturating_sub(1).to_le_bytes());
            for index in 0..count {
                put(bytes, hash + 12 + 4 * u64::from(index), &index.saturating_sub(1).to_le_bytes());
            }
        }
        if let Some(gnu) = layout.gnu_hash {
            let hashed = &symbols[first_hashed..];
            let bucket = if hashed.is_empty() { 0 } else { first_hashed as u32 };
            put(bytes, gnu, &1u32.to_le_bytes()); // nbuckets
            put(bytes, gnu + 4, &(first_hashed as u32).to_le_bytes()); // symoffset
            put(bytes, gnu + 8, &1u32.to_le_bytes()); // bloom words
            put(bytes, gnu + 12, &6u32.to_le_bytes()); // bloom shift
            put(bytes, gnu + 16, &u64::MAX.to_le_bytes()); // bloom: everything may be present
            put(bytes, gnu + 24, &bucket.to_le_bytes());
            for (position, symbol) in hashed.iter().enumerate() {
                let last = position + 1 == hashed.len();
                let value = (gnu_hash(&symbol.name) & !1) | u32::from(last);
                put(bytes, gnu + 28 + 4 * position as u64, &value.to_le_bytes());
            }
        }
    }

    fn write_dynamic(
        &self,
        bytes: &mut [u8],
        layout: &Layout,
        tags: &[u64],
        strings: &BTreeMap<String, u64>,
    ) -> Vec<(u64, u64)> {
        let mut needed = self.needed.iter();
        let mut extra = self.extra_dynamic.iter();
        let extra_start = tags.len() - 1 - self.extra_dynamic.len();
        let mut entries = Vec::new();
        for (index, &tag) in tags.iter().enumerate() {
            let value = if index >= extra_start && tag != DT_NULL {
                extra.next().expect("extra entry").1
            } else {
                match tag {
                    DT_NEEDED => strings[needed.next().expect("needed name")],
                    DT_SONAME => strings[self.soname.as_ref().expect("soname")],
                    DT_HASH => layout.hash.expect("hash"),
                    DT_GNU_HASH => layout.gnu_hash.expect("gnu hash"),
                    DT_STRTAB => layout.dynstr,
                    DT_STRSZ => layout.dynstr_size,
                    DT_SYMTAB => layout.dynsym,
                    DT_SYMENT | DT_RELAENT => 24,
                    DT_RELA => layout.rela,
                    DT_RELASZ => 24 * self.relocations.len() as u64,
                    DT_JMPREL => layout.jmprel,
                    DT_PLTRELSZ => 24 * self.plt_relocations.len() as u64,
                    DT_PLTREL => DT_RELA,
                    _ => 0,
                }
            };
            let entry = layout.dynamic + 16 * index as u64;
            put(bytes, entry, &tag.to_le_bytes());
            put(bytes, entry + 8, &value.to_le_bytes());
            entries.push((tag, entry));
        }
        entries
    }
}
