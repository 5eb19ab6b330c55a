//! Names of ELF machines (`e_machine`), spelled like Rust's target architectures.

use boxwright_platform::Arch;
use object::elf;

/// The architecture name of an `e_machine` value: `x86_64`, `aarch64`, `bpf`... For machines
/// that come in 32 and 64 bits under one code, `is_64` picks the name. Unknown machines are
/// named `em_<number>`.
pub fn name(machine: elf::Machine, is_64: bool) -> String {
    let known = match machine {
        elf::EM_X86_64 => "x86_64",
        elf::EM_386 => "x86",
        elf::EM_AARCH64 => "aarch64",
        elf::EM_ARM => "arm",
        elf::EM_RISCV if is_64 => "riscv64",
        elf::EM_RISCV => "riscv32",
        elf::EM_PPC64 => "powerpc64",
        elf::EM_PPC => "powerpc",
        elf::EM_S390 if is_64 => "s390x",
        elf::EM_S390 => "s390",
        elf::EM_MIPS if is_64 => "mips64",
        elf::EM_MIPS => "mips",
        elf::EM_LOONGARCH if is_64 => "loongarch64",
        elf::EM_LOONGARCH => "loongarch32",
        elf::EM_SPARCV9 => "sparc64",
        elf::EM_SPARC => "sparc",
        elf::EM_IA_64 => "ia64",
        elf::EM_BPF => "bpf",
        elf::EM_NONE => "none",
        _ => return format!("em_{}", machine.0),
    };
    known.to_owned()
}

/// The canonical name for an architecture name a user may type: every spelling of an
/// [`Arch`] (`amd64`, `arm64`, `i686`, `ppc64el`...) and other common ones (`armel`,
/// `ppc64`, `mipsel`...) map to the names [`name`] returns.
pub fn canonical(user: &str) -> String {
    if let Some(arch) = Arch::from_any(user) {
        return arch.name().to_owned();
    }
    let lower = user.to_ascii_lowercase();
    let canonical = match lower.as_str() {
        "armel" | "armv7" => "arm",
        "ppc64" => "powerpc64",
        "ppc" => "powerpc",
        "riscv" => "riscv64",
        "mips64el" => "mips64",
        "mipsel" => "mips",
        "loong64" => "loongarch64",
        "ebpf" | "bpfel" | "bpfeb" => "bpf",
        other => other,
    };
    canonical.to_owned()
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case(elf::EM_X86_64, true, "x86_64")]
    #[case(elf::EM_AARCH64, true, "aarch64")]
    #[case(elf::EM_BPF, true, "bpf")]
    #[case(elf::EM_RISCV, false, "riscv32")]
    #[case(elf::EM_S390, true, "s390x")]
    #[case(elf::Machine(9999), true, "em_9999")]
    fn names(#[case] machine: elf::Machine, #[case] is_64: bool, #[case] expected: &str) {
        assert_eq!(name(machine, is_64), expected);
    }

    #[rstest]
    #[case("amd64", "x86_64")]
    #[case("X86_64", "x86_64")]
    #[case("arm64", "aarch64")]
    #[case("i686", "x86")]
    #[case("bpf", "bpf")]
    #[case("m68k", "m68k")]
    fn canonical_names(#[case] user: &str, #[case] expected: &str) {
        assert_eq!(canonical(user), expected);
    }
}
