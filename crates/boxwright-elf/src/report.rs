//! What `inspect` reports about a file. Every type serialises to the JSON of `boxwright verify
//! --json`.

use std::path::{Path, PathBuf};

use serde::{Serialize, Serializer};

/// The report on one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileReport {
    /// The file, as given or as found while walking a directory.
    #[serde(serialize_with = "lossy_path")]
    pub path: PathBuf,
    pub kind: FileKind,
    /// The ELF facts; present only when `kind` is `elf`.
    pub elf: Option<ElfReport>,
    /// Why an ELF file could not be parsed; present only when `kind` is `malformed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl FileReport {
    pub(crate) fn elf(path: &Path, elf: ElfReport) -> Self {
        FileReport {
            path: path.to_path_buf(),
            kind: FileKind::Elf,
            elf: Some(elf),
            error: None,
        }
    }

    pub(crate) fn not_elf(path: &Path) -> Self {
        FileReport {
            path: path.to_path_buf(),
            kind: FileKind::NotElf,
            elf: None,
            error: None,
        }
    }

    pub(crate) fn malformed(path: &Path, error: impl Into<String>) -> Self {
        FileReport {
            path: path.to_path_buf(),
            kind: FileKind::Malformed,
            elf: None,
            error: Some(error.into()),
        }
    }
}

/// What kind of file it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    /// An ELF file; the report has its facts.
    Elf,
    /// Not an ELF file (no `\x7fELF` magic).
    NotElf,
    /// It starts like an ELF file but its headers or tables do not hold together.
    Malformed,
}

/// The facts about one ELF file. `None` (JSON `null`) means "cannot be told from this file".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "each flag is one independent fact of the file"
)]
pub struct ElfReport {
    pub class: Class,
    pub endian: Endian,
    /// The architecture, named like Rust's targets: `x86_64`, `aarch64`, `arm`, `bpf`...
    pub machine: String,
    #[serde(rename = "type")]
    pub file_type: FileType,
    /// `e_entry`.
    pub entry: u64,
    /// `PT_INTERP`: the dynamic loader the kernel starts.
    pub interpreter: Option<String>,
    /// `DT_NEEDED` entries, in file order.
    pub needed: Vec<String>,
    /// `DT_SONAME`.
    pub soname: Option<String>,
    /// `DT_RPATH`.
    pub rpath: Option<String>,
    /// `DT_RUNPATH`.
    pub runpath: Option<String>,
    /// How the file is linked; `null` for relocatable objects and core files.
    pub linking: Option<Linking>,
    /// A position-independent executable (see the crate documentation for the rule).
    pub pie: bool,
    /// No `.symtab` section.
    pub stripped: bool,
    pub relro: Relro,
    /// `DT_BIND_NOW`, `DF_BIND_NOW` in `DT_FLAGS` or `DF_1_NOW` in `DT_FLAGS_1`.
    pub bind_now: bool,
    /// A `PT_GNU_STACK` program header exists.
    pub gnu_stack: bool,
    /// The stack is not executable: `PT_GNU_STACK` without `PF_X`. `false` without
    /// `PT_GNU_STACK` (most architectures then default to an executable stack); `null` for
    /// files without program headers, where the linker decides later.
    pub nx: Option<bool>,
    /// `DT_TEXTREL` or `DF_TEXTREL`: relocations that write into code.
    pub textrel: bool,
    /// A stack protector symbol (`__stack_chk_fail`, `__stack_chk_guard`,
    /// `__intel_security_cookie`) is defined or used.
    pub stack_protector: Option<bool>,
    /// One or more FORTIFY_SOURCE checked functions (`__memcpy_chk`...) are defined or used.
    pub fortify: Option<bool>,
    /// The checked functions found, sorted.
    pub fortified: Vec<String>,
    /// eBPF objects only (`e_machine` is `EM_BPF`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bpf: Option<BpfReport>,
}

/// `EI_CLASS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    Elf32,
    Elf64,
}

/// `EI_DATA`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Endian {
    Little,
    Big,
}

/// `e_type`, named after the `ET_*` constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileType {
    /// `ET_REL`: a relocatable object (`.o`, eBPF objects).
    Rel,
    /// `ET_EXEC`: an executable at a fixed address.
    Exec,
    /// `ET_DYN`: a shared object or a position-independent executable.
    Dyn,
    /// `ET_CORE`.
    Core,
    /// Anything else (`ET_NONE`, OS- or processor-specific types).
    Other,
}

/// How an executable or shared object gets its code at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Linking {
    /// No interpreter and no `DT_NEEDED`, loaded at a fixed address (or a self-contained
    /// shared object).
    #[serde(rename = "static")]
    Static,
    /// No interpreter and no `DT_NEEDED`, position independent: relocates itself.
    #[serde(rename = "static-pie")]
    StaticPie,
    /// Has an interpreter or `DT_NEEDED` libraries.
    #[serde(rename = "dynamic")]
    Dynamic,
}

/// How much of the relocated data is made read-only after start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Relro {
    /// No `PT_GNU_RELRO`.
    None,
    /// `PT_GNU_RELRO` without BIND_NOW: the PLT's GOT stays writable.
    Partial,
    /// `PT_GNU_RELRO` and BIND_NOW.
    Full,
}

/// The programs of an eBPF object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BpfReport {
    /// Executable sections with code, in section order (`xdp`, `tc`, `kprobe/...`).
    pub programs: Vec<BpfProgram>,
    /// The `license` section's text, up to its first NUL.
    pub license: Option<String>,
}

/// One eBPF program section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BpfProgram {
    pub section: String,
    /// Bytes of code (8 per instruction).
    pub size: u64,
}

impl std::fmt::Display for Linking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Linking::Static => "static",
            Linking::StaticPie => "static-pie",
            Linking::Dynamic => "dynamic",
        })
    }
}

impl std::fmt::Display for Relro {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Relro::None => "none",
            Relro::Partial => "partial",
            Relro::Full => "full",
        })
    }
}

impl std::fmt::Display for FileType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FileType::Rel => "rel",
            FileType::Exec => "exec",
            FileType::Dyn => "dyn",
            FileType::Core => "core",
            FileType::Other => "other",
        })
    }
}

/// Paths that are not UTF-8 are still reported (with replacement characters) rather than
/// failing the whole JSON document.
fn lossy_path<S: Serializer>(path: &Path, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&path.to_string_lossy())
}
