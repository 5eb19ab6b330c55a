//! Reading the facts out of ELF bytes, through `object`'s lazy, bounds-checked reader.
//!
//! Only what the report needs is read: the file header, the program headers, the dynamic
//! segment and its strings, the section headers, and the symbol tables with their strings.
//! Every offset and size comes from the file, so every read is checked against its length;
//! a read that does not fit makes the file `malformed`, never a panic.

use std::collections::BTreeSet;

use object::elf::{self, FileHeader32, FileHeader64};
use object::read::elf::{Dyn, FileHeader, ProgramHeader, SectionHeader, Sym};
use object::{Endianness, ReadRef};

use crate::facts::{Dynamic, Facts};
use crate::report::{BpfProgram, BpfReport, Class, ElfReport, Endian, FileType};
use crate::{machine, symbols};

/// Why an ELF file could not be read; shown in the report of a malformed file.
pub(crate) type Malformed = String;

/// The ELF magic, `\x7fELF`.
pub(crate) const MAGIC: &[u8; 4] = b"\x7fELF";

/// Parses an ELF file of either class and byte order.
pub(crate) fn elf_report<'data, R: ReadRef<'data>>(data: R) -> Result<ElfReport, Malformed> {
    let ident = data
        .read_bytes_at(0, 16)
        .map_err(|()| "truncated ELF identification".to_owned())?;
    let facts = match ident[4] {
        c if c == elf::ELFCLASS32.0 => facts::<FileHeader32<Endianness>, R>(data)?,
        c if c == elf::ELFCLASS64.0 => facts::<FileHeader64<Endianness>, R>(data)?,
        other => return Err(format!("unknown ELF class {other}")),
    };
    Ok(facts.into_report())
}

fn facts<'data, Elf, R>(data: R) -> Result<Facts, Malformed>
where
    Elf: FileHeader<Endian = Endianness>,
    R: ReadRef<'data>,
{
    let header = Elf::parse(data).map_err(describe)?;
    let endian = header.endian().map_err(describe)?;
    let segments = header.program_headers(endian, data).map_err(describe)?;
    let sections = header.section_headers(endian, data).map_err(describe)?;
    let machine = header.e_machine(endian);

    let mut facts = Facts {
        class: if header.is_class_64() {
            Class::Elf64
        } else {
            Class::Elf32
        },
        endian: if endian == Endianness::Big {
            Endian::Big
        } else {
            Endian::Little
        },
        machine: machine::name(machine, header.is_class_64()),
        file_type: match header.e_type(endian) {
            elf::ET_REL => FileType::Rel,
            elf::ET_EXEC => FileType::Exec,
            elf::ET_DYN => FileType::Dyn,
            elf::ET_CORE => FileType::Core,
            _ => FileType::Other,
        },
        entry: header.e_entry(endian).into(),
        program_headers: !segments.is_empty(),
        interpreter: None,
        dynamic: None,
        gnu_relro: false,
        gnu_stack_executable: None,
        symtab: false,
        dynsym: false,
        stack_protector_symbol: false,
        fortified: BTreeSet::new(),
        bpf: None,
    };

    for segment in segments {
        match segment.p_type(endian) {
            elf::PT_INTERP => {
                let bytes = segment
                    .data(endian, data)
                    .map_err(|()| "PT_INTERP lies outside the file".to_owned())?;
                facts.interpreter = Some(lossy(c_string(bytes, 0)));
            }
            elf::PT_DYNAMIC => {
                facts.dynamic = Some(dynamic::<Elf, R>(
                    endian, data, segments, sections, segment,
                )?);
            }
            elf::PT_GNU_RELRO => facts.gnu_relro = true,
            elf::PT_GNU_STACK => {
                facts.gnu_stack_executable = Some(segment.p_flags(endian).0 & elf::PF_X.0 != 0);
            }
            _ => {}
        }
    }

    for section in sections {
        let kind = section.sh_type(endian);
        if kind != elf::SHT_SYMTAB && kind != elf::SHT_DYNSYM {
            continue;
        }
        if kind == elf::SHT_SYMTAB {
            facts.symtab = true;
        } else {
            facts.dynsym = true;
        }
        scan_symbols::<Elf, R>(endian, data, sections, section, &mut facts)?;
    }

    if machine == elf::EM_BPF {
        facts.bpf = Some(bpf::<Elf, R>(header, endian, data, sections)?);
    }
    Ok(facts)
}

/// The dynamic segment's entries, with strings from `DT_STRTAB` (found through the `PT_LOAD`
/// that maps it) or, failing that, from the string table linked to the `.dynamic` section.
fn dynamic<'data, Elf, R>(
    endian: Endianness,
    data: R,
    segments: &'data [Elf::ProgramHeader],
    sections: &'data [Elf::SectionHeader],
    segment: &'data Elf::ProgramHeader,
) -> Result<Dynamic, Malformed>
where
    Elf: FileHeader<Endian = Endianness>,
    R: ReadRef<'data>,
{
    let bytes = segment
        .data(endian, data)
        .map_err(|()| "PT_DYNAMIC lies outside the file".to_owned())?;
    let entries = array::<Elf::Dyn>(bytes);

    let mut result = Dynamic::default();
    let (mut strtab, mut strsz) = (None, None);
    // Offsets into the string table, resolved once it is found.
    let (mut needed, mut soname, mut rpath, mut runpath) = (Vec::new(), None, None, None);
    for entry in entries {
        let tag = entry.d_tag(endian);
        let value: u64 = entry.d_val(endian).into();
        match tag {
            elf::DT_NULL => break,
            elf::DT_NEEDED => needed.push(value),
            elf::DT_SONAME => soname = Some(value),
            elf::DT_RPATH => rpath = Some(value),
            elf::DT_RUNPATH => runpath = Some(value),
            elf::DT_STRTAB => strtab = Some(value),
            elf::DT_STRSZ => strsz = Some(value),
            elf::DT_FLAGS => result.flags = value,
            elf::DT_FLAGS_1 => result.flags_1 = value,
            elf::DT_BIND_NOW => result.bind_now_tag = true,
            elf::DT_DEBUG => result.debug_tag = true,
            elf::DT_TEXTREL => result.textrel_tag = true,
            _ => {}
        }
    }
    let wants_strings =
        !needed.is_empty() || soname.is_some() || rpath.is_some() || runpath.is_some();
    if !wants_strings {
        return Ok(result);
    }
    let strings = strtab
        .and_then(|address| mapped::<Elf, R>(endian, data, segments, address, strsz))
        .or_else(|| dynamic_section_strings::<Elf, R>(endian, data, sections))
        .ok_or_else(|| "the dynamic string table lies outside the file".to_owned())?;
    let string = |offset: u64| {
        usize::try_from(offset)
            .ok()
            .filter(|&offset| offset < strings.len())
            .map(|offset| lossy(c_string(strings, offset)))
            .ok_or_else(|| format!("dynamic string offset {offset} lies outside DT_STRTAB"))
    };
    result.needed = needed.into_iter().map(string).collect::<Result<_, _>>()?;
    result.soname = soname.map(string).transpose()?;
    result.rpath = rpath.map(string).transpose()?;
    result.runpath = runpath.map(string).transpose()?;
    Ok(result)
}

/// The file bytes at virtual `address`, through the `PT_LOAD` segment that maps it: `size`
/// bytes, or up to the end of the segment's file image.
fn mapped<'data, Elf, R>(
    endian: Endianness,
    data: R,
    segments: &'data [Elf::ProgramHeader],
    address: u64,
    size: Option<u64>,
) -> Option<&'data [u8]>
where
    Elf: FileHeader<Endian = Endianness>,
    R: ReadRef<'data>,
{
    segments.iter().find_map(|segment| {
        if segment.p_type(endian) != elf::PT_LOAD {
            return None;
        }
        let start: u64 = segment.p_vaddr(endian).into();
        let file_size: u64 = segment.p_filesz(endian).into();
        let within = address.checked_sub(start).filter(|&d| d < file_size)?;
        let available = file_size - within;
        let segment_offset: u64 = segment.p_offset(endian).into();
        let offset = segment_offset.checked_add(within)?;
        data.read_bytes_at(offset, size.unwrap_or(available).min(available))
            .ok()
    })
}

/// The string table linked to the `SHT_DYNAMIC` section.
fn dynamic_section_strings<'data, Elf, R>(
    endian: Endianness,
    data: R,
    sections: &'data [Elf::SectionHeader],
) -> Option<&'data [u8]>
where
    Elf: FileHeader<Endian = Endianness>,
    R: ReadRef<'data>,
{
    let section = sections
        .iter()
        .find(|s| s.sh_type(endian) == elf::SHT_DYNAMIC)?;
    let strings = sections.get(usize::try_from(section.sh_link(endian)).ok()?)?;
    strings.data(endian, data).ok()
}

/// Looks for stack protector and FORTIFY_SOURCE symbols in one symbol table.
fn scan_symbols<'data, Elf, R>(
    endian: Endianness,
    data: R,
    sections: &'data [Elf::SectionHeader],
    table: &'data Elf::SectionHeader,
    facts: &mut Facts,
) -> Result<(), Malformed>
where
    Elf: FileHeader<Endian = Endianness>,
    R: ReadRef<'data>,
{
    let outside = |what: &str| format!("{what} lies outside the file");
    let bytes = table
        .data(endian, data)
        .map_err(|_| outside("a symbol table"))?;
    let strings = usize::try_from(table.sh_link(endian))
        .ok()
        .and_then(|index| sections.get(index))
        .ok_or_else(|| "a symbol table links to a missing string table".to_owned())?
        .data(endian, data)
        .map_err(|_| outside("a symbol string table"))?;
    for symbol in array::<Elf::Sym>(bytes) {
        let Ok(offset) = usize::try_from(symbol.st_name(endian)) else {
            continue;
        };
        if offset == 0 || offset >= strings.len() {
            continue;
        }
        let name = c_string(strings, offset);
        // Every name of interest starts with two underscores: skip the rest cheaply.
        if !name.starts_with(b"__") {
            continue;
        }
        if symbols::is_stack_protector(name) {
            facts.stack_protector_symbol = true;
        } else if let Some(function) = symbols::fortify_function(name) {
            facts.fortified.insert(function.to_owned());
        }
    }
    Ok(())
}

/// The program sections and license of an eBPF object.
fn bpf<'data, Elf, R>(
    header: &Elf,
    endian: Endianness,
    data: R,
    sections: &'data [Elf::SectionHeader],
) -> Result<BpfReport, Malformed>
where
    Elf: FileHeader<Endian = Endianness>,
    R: ReadRef<'data>,
{
    let mut report = BpfReport {
        programs: Vec::new(),
        license: None,
    };
    if sections.is_empty() {
        return Ok(report);
    }
    let names = header
        .shstrndx(endian, data)
        .ok()
        .and_then(|index| sections.get(usize::try_from(index).ok()?))
        .and_then(|strings| strings.data(endian, data).ok())
        .ok_or_else(|| "the section name table lies outside the file".to_owned())?;
    let name = |section: &Elf::SectionHeader| {
        usize::try_from(section.sh_name(endian))
            .ok()
            .filter(|&offset| offset < names.len())
            .map(|offset| c_string(names, offset))
            .unwrap_or_default()
    };
    for section in sections {
        let size: u64 = section.sh_size(endian).into();
        let executable = section.sh_flags(endian).0 & elf::SHF_EXECINSTR.0 != 0;
        if executable && size > 0 {
            report.programs.push(BpfProgram {
                section: lossy(name(section)),
                size,
            });
        } else if name(section) == b"license" {
            let text = section
                .data(endian, data)
                .map_err(|_| "the license section lies outside the file".to_owned())?;
            report.license = Some(lossy(c_string(text, 0)));
        }
    }
    Ok(report)
}

/// As many whole `T` as `bytes` holds (a ragged end is ignored, as the loader would).
fn array<T: object::Pod>(bytes: &[u8]) -> &[T] {
    let count = bytes.len() / std::mem::size_of::<T>();
    object::pod::slice_from_bytes(bytes, count).map_or(&[], |(items, _)| items)
}

/// The bytes from `offset` up to the next NUL (or the end). `offset` must be in bounds.
fn c_string(bytes: &[u8], offset: usize) -> &[u8] {
    let tail = bytes.get(offset..).unwrap_or_default();
    let end = tail.iter().position(|&b| b == 0).unwrap_or(tail.len());
    &tail[..end]
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn describe(error: object::Error) -> Malformed {
    let message = error.to_string();
    // object's messages start with a capital ("Invalid ELF ..."); ours are lower case.
    let mut chars = message.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_lowercase().chain(chars).collect()
    })
}
