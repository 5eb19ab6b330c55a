//! The raw facts read from an ELF file, and the rules that turn them into a report.
//!
//! Keeping the rules apart from the parsing lets them be tested with plain values.

use std::collections::BTreeSet;

use object::elf;

use crate::report::{BpfReport, Class, ElfReport, Endian, FileType, Linking, Relro};

/// What the headers, the dynamic section and the symbol tables say, before interpretation.
#[derive(Debug, Clone)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "each flag is one independent fact of the file"
)]
pub(crate) struct Facts {
    pub class: Class,
    pub endian: Endian,
    pub machine: String,
    pub file_type: FileType,
    pub entry: u64,
    /// The file has at least one program header.
    pub program_headers: bool,
    pub interpreter: Option<String>,
    /// `PT_DYNAMIC`'s entries, when the file has one.
    pub dynamic: Option<Dynamic>,
    pub gnu_relro: bool,
    /// `PT_GNU_STACK`'s `PF_X` bit, when the file has one.
    pub gnu_stack_executable: Option<bool>,
    /// A `SHT_SYMTAB` section exists.
    pub symtab: bool,
    /// A `SHT_DYNSYM` section exists.
    pub dynsym: bool,
    /// A stack protector symbol was seen in `.symtab` or `.dynsym`.
    pub stack_protector_symbol: bool,
    /// FORTIFY_SOURCE checked functions seen in `.symtab` or `.dynsym`.
    pub fortified: BTreeSet<String>,
    pub bpf: Option<BpfReport>,
}

/// The entries of the dynamic section that matter here.
#[derive(Debug, Clone, Default)]
pub(crate) struct Dynamic {
    pub needed: Vec<String>,
    pub soname: Option<String>,
    pub rpath: Option<String>,
    pub runpath: Option<String>,
    /// `DT_FLAGS`.
    pub flags: u64,
    /// `DT_FLAGS_1`.
    pub flags_1: u64,
    /// A `DT_BIND_NOW` entry.
    pub bind_now_tag: bool,
    /// A `DT_DEBUG` entry (the linker adds one to executables, never to shared libraries).
    pub debug_tag: bool,
    /// A `DT_TEXTREL` entry.
    pub textrel_tag: bool,
}

impl Facts {
    /// Applies the rules of the crate documentation.
    pub fn into_report(self) -> ElfReport {
        let bind_now = self.bind_now();
        let pie = self.pie();
        let linking = self.linking(pie);
        let relro = match (self.gnu_relro, bind_now) {
            (false, _) => Relro::None,
            (true, false) => Relro::Partial,
            (true, true) => Relro::Full,
        };
        let nx = if self.program_headers {
            Some(self.gnu_stack_executable == Some(false))
        } else {
            None
        };
        // Symbols answer "is it there?" only when they are present to be looked at: a
        // `.symtab`, or the `.dynsym` of a dynamically linked file (which lists its imports).
        // A stripped static file has neither, so its absence proves nothing.
        let answerable = self.symtab || (self.dynsym && linking == Some(Linking::Dynamic));
        let answer = |found: bool| (found || answerable).then_some(found);
        let textrel = self
            .dynamic
            .as_ref()
            .is_some_and(|d| d.textrel_tag || d.flags & elf::DF_TEXTREL.0 != 0);
        let dynamic = self.dynamic.unwrap_or_default();
        ElfReport {
            class: self.class,
            endian: self.endian,
            machine: self.machine,
            file_type: self.file_type,
            entry: self.entry,
            interpreter: self.interpreter,
            needed: dynamic.needed,
            soname: dynamic.soname,
            rpath: dynamic.rpath,
            runpath: dynamic.runpath,
            linking,
            pie,
            stripped: !self.symtab,
            relro,
            bind_now,
            gnu_stack: self.gnu_stack_executable.is_some(),
            nx,
            textrel,
            stack_protector: answer(self.stack_protector_symbol),
            fortify: answer(!self.fortified.is_empty()),
            fortified: self.fortified.into_iter().collect(),
            bpf: self.bpf,
        }
    }

    /// `DT_BIND_NOW`, or `DF_BIND_NOW` in `DT_FLAGS`, or `DF_1_NOW` in `DT_FLAGS_1`.
    fn bind_now(&self) -> bool {
        self.dynamic.as_ref().is_some_and(|d| {
            d.bind_now_tag || d.flags & elf::DF_BIND_NOW.0 != 0 || d.flags_1 & elf::DF_1_NOW.0 != 0
        })
    }

    /// `ET_DYN` and one of: `DF_1_PIE`; `DT_DEBUG`; `PT_INTERP` without `DT_SONAME`; no
    /// `PT_DYNAMIC` at all but an entry point.
    fn pie(&self) -> bool {
        if self.file_type != FileType::Dyn {
            return false;
        }
        match &self.dynamic {
            Some(d) => {
                d.flags_1 & elf::DF_1_PIE.0 != 0
                    || d.debug_tag
                    || (self.interpreter.is_some() && d.soname.is_none())
            }
            None => self.interpreter.is_some() || self.entry != 0,
        }
    }

    /// Dynamic with an interpreter or `DT_NEEDED`; otherwise static, or static-pie when
    /// position independent. Relocatable objects and core files are not linked.
    fn linking(&self, pie: bool) -> Option<Linking> {
        if !matches!(self.file_type, FileType::Exec | FileType::Dyn) {
            return None;
        }
        let needs = self.dynamic.as_ref().is_some_and(|d| !d.needed.is_empty());
        Some(if self.interpreter.is_some() || needs {
            Linking::Dynamic
        } else if pie {
            Linking::StaticPie
        } else {
            Linking::Static
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use rstest::rstest;

    use super::*;

    /// A dynamically linked PIE like the ones gcc makes by default on Debian.
    pub fn dynamic_pie() -> Facts {
        Facts {
            class: Class::Elf64,
            endian: Endian::Little,
            machine: "x86_64".into(),
            file_type: FileType::Dyn,
            entry: 0x1040,
            program_headers: true,
            interpreter: Some("/lib64/ld-linux-x86-64.so.2".into()),
            dynamic: Some(Dynamic {
                needed: vec!["libc.so.6".into()],
                flags_1: elf::DF_1_PIE.0,
                debug_tag: true,
                ..Dynamic::default()
            }),
            gnu_relro: true,
            gnu_stack_executable: Some(false),
            symtab: true,
            dynsym: true,
            stack_protector_symbol: false,
            fortified: BTreeSet::new(),
            bpf: None,
        }
    }

    /// `gcc -static`: ET_EXEC, no PT_DYNAMIC.
    pub fn static_exec() -> Facts {
        Facts {
            file_type: FileType::Exec,
            entry: 0x0040_1000,
            interpreter: None,
            dynamic: None,
            dynsym: false,
            ..dynamic_pie()
        }
    }

    /// `gcc -static-pie`: ET_DYN with DF_1_PIE and DT_DEBUG, no interpreter, nothing needed.
    pub fn static_pie() -> Facts {
        Facts {
            interpreter: None,
            dynamic: Some(Dynamic {
                flags_1: elf::DF_1_PIE.0,
                debug_tag: true,
                ..Dynamic::default()
            }),
            ..dynamic_pie()
        }
    }

    fn with_dynamic(mut facts: Facts, edit: impl FnOnce(&mut Dynamic)) -> Facts {
        edit(facts.dynamic.get_or_insert_with(Dynamic::default));
        facts
    }

    #[test]
    fn dynamic_pie_defaults() {
        let report = dynamic_pie().into_report();
        assert_eq!(report.linking, Some(Linking::Dynamic));
        assert!(report.pie);
        assert_eq!(report.relro, Relro::Partial);
        assert_eq!(report.nx, Some(true));
        assert_eq!(report.needed, ["libc.so.6"]);
        assert_eq!(report.stack_protector, Some(false));
        assert_eq!(report.fortify, Some(false));
        assert!(!report.stripped);
    }

    #[rstest]
    #[case::static_exec(static_exec(), Some(Linking::Static), false)]
    #[case::static_pie(static_pie(), Some(Linking::StaticPie), true)]
    #[case::dynamic_pie(dynamic_pie(), Some(Linking::Dynamic), true)]
    #[case::no_pie(Facts { file_type: FileType::Exec, ..dynamic_pie() }, Some(Linking::Dynamic), false)]
    // The musl-gcc -static-pie trap: an interpreter and nothing else is still dynamic.
    #[case::interpreter_only(with_dynamic(static_pie(), |d| { d.flags_1 = 0; d.debug_tag = false; }).with_interpreter("/lib/ld-musl-x86_64.so.1"), Some(Linking::Dynamic), true)]
    #[case::needed_without_interpreter(with_dynamic(static_pie(), |d| d.needed.push("libc.so".into())), Some(Linking::Dynamic), true)]
    #[case::shared_library(with_dynamic(Facts { interpreter: None, ..dynamic_pie() }, |d| { d.flags_1 = 0; d.debug_tag = false; d.soname = Some("libz.so.1".into()); }), Some(Linking::Dynamic), false)]
    // glibc's ld.so: runnable, but a shared object with a soname and no DT_DEBUG.
    #[case::self_contained_shared_object(with_dynamic(static_pie(), |d| { d.flags_1 = 0; d.debug_tag = false; d.soname = Some("ld-linux-x86-64.so.2".into()); }), Some(Linking::Static), false)]
    #[case::pie_by_debug_only(with_dynamic(static_pie(), |d| d.flags_1 = 0), Some(Linking::StaticPie), true)]
    #[case::dyn_without_dynamic_section(Facts { dynamic: None, interpreter: None, ..dynamic_pie() }, Some(Linking::StaticPie), true)]
    #[case::relocatable(Facts { file_type: FileType::Rel, program_headers: false, interpreter: None, dynamic: None, ..dynamic_pie() }, None, false)]
    fn linking_and_pie(#[case] facts: Facts, #[case] linking: Option<Linking>, #[case] pie: bool) {
        let report = facts.into_report();
        assert_eq!((report.linking, report.pie), (linking, pie));
    }

    impl Facts {
        fn with_interpreter(mut self, interpreter: &str) -> Self {
            self.interpreter = Some(interpreter.into());
            self
        }
    }

    #[rstest]
    #[case::no_relro(Facts { gnu_relro: false, ..dynamic_pie() }, Relro::None, false)]
    #[case::partial(dynamic_pie(), Relro::Partial, false)]
    #[case::dt_bind_now(with_dynamic(dynamic_pie(), |d| d.bind_now_tag = true), Relro::Full, true)]
    #[case::df_bind_now(with_dynamic(dynamic_pie(), |d| d.flags = elf::DF_BIND_NOW.0), Relro::Full, true)]
    #[case::df_1_now(with_dynamic(dynamic_pie(), |d| d.flags_1 |= elf::DF_1_NOW.0), Relro::Full, true)]
    #[case::bind_now_without_relro(with_dynamic(Facts { gnu_relro: false, ..dynamic_pie() }, |d| d.bind_now_tag = true), Relro::None, true)]
    // A static ET_EXEC has no dynamic section to record BIND_NOW in (checksec agrees).
    #[case::static_exec(static_exec(), Relro::Partial, false)]
    fn relro_and_bind_now(#[case] facts: Facts, #[case] relro: Relro, #[case] bind_now: bool) {
        let report = facts.into_report();
        assert_eq!((report.relro, report.bind_now), (relro, bind_now));
    }

    #[rstest]
    #[case::non_executable(Some(false), true, Some(true))]
    #[case::executable(Some(true), true, Some(false))]
    #[case::no_gnu_stack(None, true, Some(false))]
    #[case::no_program_headers(None, false, None)]
    fn stack_executability(
        #[case] gnu_stack_executable: Option<bool>,
        #[case] program_headers: bool,
        #[case] nx: Option<bool>,
    ) {
        let facts = Facts {
            program_headers,
            gnu_stack_executable,
            ..dynamic_pie()
        };
        assert_eq!(facts.into_report().nx, nx);
    }

    #[rstest]
    #[case::found_in_symtab(dynamic_pie(), true, Some(true))]
    #[case::absent_with_symtab(dynamic_pie(), false, Some(false))]
    #[case::stripped_dynamic(Facts { symtab: false, ..dynamic_pie() }, false, Some(false))]
    #[case::stripped_static(Facts { symtab: false, ..static_exec() }, false, None)]
    #[case::stripped_static_pie_with_dynsym(Facts { symtab: false, dynsym: true, ..static_pie() }, false, None)]
    #[case::stripped_static_found_anyway(Facts { symtab: false, dynsym: true, ..static_pie() }, true, Some(true))]
    fn unknown_when_nothing_to_look_at(
        #[case] facts: Facts,
        #[case] found: bool,
        #[case] expected: Option<bool>,
    ) {
        let mut fortified = facts.clone();
        if found {
            fortified.fortified.insert("__memcpy_chk".into());
        }
        let protected = Facts {
            stack_protector_symbol: found,
            ..facts
        };
        assert_eq!(protected.into_report().stack_protector, expected);
        assert_eq!(fortified.into_report().fortify, expected);
    }

    #[test]
    fn textrel() {
        let tagged = with_dynamic(dynamic_pie(), |d| d.textrel_tag = true);
        let flagged = with_dynamic(dynamic_pie(), |d| d.flags = elf::DF_TEXTREL.0);
        assert!(tagged.into_report().textrel);
        assert!(flagged.into_report().textrel);
        assert!(!dynamic_pie().into_report().textrel);
    }
}
