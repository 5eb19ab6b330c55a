//! Tests of the whole path from bytes to report: hand-made ELF files, the test binary itself,
//! and truncated, mutated and random input, which must never panic.

use std::path::Path;

use object::elf;

use crate::{FileKind, FileReport, Linking, Relro, inspect_bytes};

/// Writes a minimal ELF file: program headers only (as after `sstrip`), one `PT_LOAD` mapping
/// the whole file at address 0, so addresses equal offsets.
struct Builder {
    is_64: bool,
    big_endian: bool,
    file_type: u16,
    machine: u16,
    interpreter: Option<&'static str>,
    /// `(tag, value)`; string values are written into the string table.
    dynamic: Vec<(i64, DynValue)>,
    relro: bool,
    stack_flags: Option<u32>,
}

enum DynValue {
    Number(u64),
    Text(&'static str),
}

impl Builder {
    fn new(is_64: bool, big_endian: bool) -> Self {
        Builder {
            is_64,
            big_endian,
            file_type: elf::ET_DYN.0,
            machine: elf::EM_X86_64.0,
            interpreter: None,
            dynamic: Vec::new(),
            relro: false,
            stack_flags: None,
        }
    }

    fn word(&self) -> usize {
        if self.is_64 { 8 } else { 4 }
    }

    fn put(&self, out: &mut Vec<u8>, value: u64, size: usize) {
        let bytes = value.to_le_bytes();
        let mut field = bytes[..size].to_vec();
        if self.big_endian {
            field.reverse();
        }
        out.extend_from_slice(&field);
    }

    fn build(&self) -> Vec<u8> {
        let word = self.word();
        let (ehsize, phentsize) = if self.is_64 { (64, 56) } else { (52, 32) };
        // Segments: LOAD, then the optional ones.
        let mut segments = vec![elf::PT_LOAD.0];
        if self.interpreter.is_some() {
            segments.push(elf::PT_INTERP.0);
        }
        if !self.dynamic.is_empty() {
            segments.push(elf::PT_DYNAMIC.0);
        }
        if self.relro {
            segments.push(elf::PT_GNU_RELRO.0);
        }
        if self.stack_flags.is_some() {
            segments.push(elf::PT_GNU_STACK.0);
        }
        let phoff = ehsize;
        let mut tail = Vec::new();
        let tail_start = phoff + segments.len() * phentsize;
        // Interpreter, then the string table, then the dynamic entries.
        let interp_offset = tail_start + tail.len();
        if let Some(interpreter) = self.interpreter {
            tail.extend_from_slice(interpreter.as_bytes());
            tail.push(0);
        }
        let strtab_offset = tail_start + tail.len();
        let mut strtab = vec![0u8];
        let mut entries = Vec::new();
        for (tag, value) in &self.dynamic {
            let value = match value {
                DynValue::Number(n) => *n,
                DynValue::Text(text) => {
                    let offset = strtab.len() as u64;
                    strtab.extend_from_slice(text.as_bytes());
                    strtab.push(0);
                    offset
                }
            };
            entries.push((*tag, value));
        }
        tail.extend_from_slice(&strtab);
        while (tail_start + tail.len()) % word != 0 {
            tail.push(0);
        }
        let dynamic_offset = tail_start + tail.len();
        entries.push((elf::DT_STRTAB.0, strtab_offset as u64));
        entries.push((elf::DT_STRSZ.0, strtab.len() as u64));
        entries.push((elf::DT_NULL.0, 0));
        for (tag, value) in &entries {
            self.put(&mut tail, u64::from_ne_bytes(tag.to_ne_bytes()), word);
            self.put(&mut tail, *value, word);
        }
        let dynamic_size = entries.len() * 2 * word;
        let total = (tail_start + tail.len()) as u64;

        let mut out = Vec::new();
        out.extend_from_slice(b"\x7fELF");
        out.push(if self.is_64 { 2 } else { 1 });
        out.push(if self.big_endian { 2 } else { 1 });
        out.push(1);
        out.resize(16, 0);
        self.put(&mut out, u64::from(self.file_type), 2);
        self.put(&mut out, u64::from(self.machine), 2);
        self.put(&mut out, 1, 4);
        self.put(&mut out, 0x100, word); // entry
        self.put(&mut out, phoff as u64, word);
        self.put(&mut out, 0, word); // no section headers
        self.put(&mut out, 0, 4);
        self.put(&mut out, ehsize as u64, 2);
        self.put(&mut out, phentsize as u64, 2);
        self.put(&mut out, segments.len() as u64, 2);
        self.put(&mut out, 0, 2);
        self.put(&mut out, 0, 2);
        self.put(&mut out, 0, 2);
        assert_eq!(out.len(), ehsize);
        for kind in segments {
            let (offset, size, flags) = match elf::ProgramType(kind) {
                elf::PT_LOAD => (0, total, 5),
                elf::PT_INTERP => (
                    interp_offset as u64,
                    self.interpreter.map_or(0, |i| i.len() as u64 + 1),
                    4,
                ),
                elf::PT_DYNAMIC => (dynamic_offset as u64, dynamic_size as u64, 6),
                elf::PT_GNU_RELRO => (dynamic_offset as u64, dynamic_size as u64, 4),
                _ => (0, 0, self.stack_flags.unwrap_or(6)),
            };
            self.put(&mut out, u64::from(kind), 4);
            if self.is_64 {
                self.put(&mut out, u64::from(flags), 4);
            }
            for field in [offset, offset, offset, size, size] {
                self.put(&mut out, field, word);
            }
            if !self.is_64 {
                self.put(&mut out, u64::from(flags), 4);
            }
            self.put(&mut out, 1, word);
        }
        out.extend_from_slice(&tail);
        out
    }
}

fn report(bytes: &[u8]) -> FileReport {
    inspect_bytes(Path::new("test"), bytes)
}

#[test]
fn hand_made_dynamic_pie_without_sections() {
    for (is_64, big_endian) in [(true, false), (false, false), (true, true), (false, true)] {
        let mut builder = Builder::new(is_64, big_endian);
        builder.interpreter = Some("/lib/ld-musl-x86_64.so.1");
        builder.dynamic = vec![
            (elf::DT_NEEDED.0, DynValue::Text("libc.so")),
            (elf::DT_RUNPATH.0, DynValue::Text("$ORIGIN/../lib")),
            (
                elf::DT_FLAGS_1.0,
                DynValue::Number(elf::DF_1_PIE.0 | elf::DF_1_NOW.0),
            ),
        ];
        builder.relro = true;
        builder.stack_flags = Some(6);
        let report = report(&builder.build());
        assert_eq!(report.kind, FileKind::Elf, "{report:?}");
        let elf = report.elf.unwrap();
        assert_eq!(elf.interpreter.as_deref(), Some("/lib/ld-musl-x86_64.so.1"));
        assert_eq!(elf.needed, ["libc.so"]);
        assert_eq!(elf.runpath.as_deref(), Some("$ORIGIN/../lib"));
        assert_eq!(elf.linking, Some(Linking::Dynamic));
        assert!(elf.pie);
        assert_eq!(elf.relro, Relro::Full);
        assert_eq!(elf.nx, Some(true));
        assert!(elf.stripped);
        assert_eq!(elf.machine, "x86_64");
        // No section headers: no symbol table to answer from.
        assert_eq!(elf.stack_protector, None);
        assert_eq!(elf.fortify, None);
    }
}

#[test]
fn hand_made_static_exec_with_executable_stack() {
    let mut builder = Builder::new(false, true);
    builder.file_type = elf::ET_EXEC.0;
    builder.machine = elf::EM_PPC.0;
    builder.stack_flags = Some(7);
    let elf = report(&builder.build()).elf.unwrap();
    assert_eq!(elf.linking, Some(Linking::Static));
    assert!(!elf.pie);
    assert_eq!(elf.relro, Relro::None);
    assert_eq!(elf.nx, Some(false));
    assert!(elf.gnu_stack);
    assert_eq!(elf.machine, "powerpc");
    assert_eq!(elf.entry, 0x100);
}

#[test]
fn not_elf_and_malformed() {
    assert_eq!(report(b"#!/bin/sh\necho hi\n").kind, FileKind::NotElf);
    assert_eq!(report(b"").kind, FileKind::NotElf);
    assert_eq!(report(b"\x7fEL").kind, FileKind::NotElf);
    let truncated = report(b"\x7fELF\x02\x01\x01");
    assert_eq!(truncated.kind, FileKind::Malformed);
    assert_eq!(
        truncated.error.as_deref(),
        Some("truncated ELF identification")
    );
    let mut bad_class = Builder::new(true, false).build();
    bad_class[4] = 9;
    assert_eq!(
        report(&bad_class).error.as_deref(),
        Some("unknown ELF class 9")
    );
}

#[test]
fn dynamic_string_outside_the_table_is_malformed() {
    let mut builder = Builder::new(true, false);
    builder.dynamic = vec![(elf::DT_NEEDED.0, DynValue::Number(10_000))];
    let report = report(&builder.build());
    assert_eq!(report.kind, FileKind::Malformed);
    assert_eq!(
        report.error.as_deref(),
        Some("dynamic string offset 10000 lies outside DT_STRTAB")
    );
}

/// The test binary itself: a real, unstripped, dynamically linked executable.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn this_test_binary() {
    let path = std::env::current_exe().unwrap();
    let report = crate::inspect(&path).unwrap();
    let elf = report.elf.expect("the test binary is ELF");
    assert_eq!(elf.linking, Some(Linking::Dynamic));
    assert!(elf.interpreter.is_some());
    assert!(elf.needed.iter().any(|n| n.starts_with("libc.so")));
    assert!(!elf.stripped);
    assert_eq!(elf.machine, std::env::consts::ARCH);
    // Read lazily (the file is large) and whole, the answer is the same.
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(inspect_bytes(&path, &bytes).elf, Some(elf));
}

/// A small xorshift generator: deterministic, no dependency.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[test]
fn truncated_input_never_panics() {
    let real = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    let hand_made = {
        let mut builder = Builder::new(true, false);
        builder.interpreter = Some("/lib64/ld-linux-x86-64.so.2");
        builder.dynamic = vec![(elf::DT_NEEDED.0, DynValue::Text("libc.so.6"))];
        builder.build()
    };
    for bytes in [&real, &hand_made] {
        let step = (bytes.len() / 500).max(1);
        for len in (0..bytes.len())
            .step_by(step)
            .chain(0..512.min(bytes.len()))
        {
            let _ = report(&bytes[..len]);
        }
    }
}

#[test]
fn mutated_headers_never_panic() {
    let mut bytes = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    // Mutate where the tables are: the first pages (file header, program headers, dynamic
    // strings) and the end (section headers, usually last).
    let len = bytes.len();
    for _ in 0..1000 {
        let changes: Vec<(usize, u8)> = (0..=random.below(4))
            .map(|_| {
                let at = if random.below(2) == 0 {
                    random.below(4096.min(len))
                } else {
                    len - 1 - random.below(8192.min(len))
                };
                (at, bytes[at])
            })
            .collect();
        for &(at, _) in &changes {
            bytes[at] = random.next() as u8;
        }
        let _ = report(&bytes);
        for &(at, old) in changes.iter().rev() {
            bytes[at] = old;
        }
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut random = Random(42);
    for _ in 0..3000 {
        let len = random.below(2048);
        let mut bytes: Vec<u8> = (0..len).map(|_| random.next() as u8).collect();
        // Most of the time, a valid identification, so the parser gets past it.
        if len >= 16 && random.below(4) != 0 {
            bytes[..4].copy_from_slice(b"\x7fELF");
            bytes[4] = 1 + random.below(2) as u8;
            bytes[5] = 1 + random.below(2) as u8;
            bytes[6] = 1;
        }
        let _ = report(&bytes);
    }
}

#[test]
fn inspect_paths_keeps_walk_order_on_many_threads() {
    let dir = tempfile::tempdir().unwrap();
    let mut builder = Builder::new(true, false);
    builder.interpreter = Some("/lib64/ld-linux-x86-64.so.2");
    let elf = builder.build();
    let mut expected = Vec::new();
    for index in 0..200 {
        let name = format!("{index:03}");
        if index % 3 == 0 {
            std::fs::write(dir.path().join(&name), &elf).unwrap();
            expected.push((name, FileKind::Elf));
        } else {
            std::fs::write(dir.path().join(&name), "text").unwrap();
            expected.push((name, FileKind::NotElf));
        }
    }
    let results = crate::inspect_paths(&[dir.path().to_path_buf()], 4).unwrap();
    let actual: Vec<(String, FileKind)> = results
        .into_iter()
        .map(|result| {
            let report = result.unwrap();
            let name = report
                .path
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned();
            (name, report.kind)
        })
        .collect();
    assert_eq!(actual, expected);

    let missing = crate::inspect_paths(&[dir.path().join("missing")], 2).unwrap_err();
    assert!(missing.to_string().starts_with("cannot read "), "{missing}");
}
