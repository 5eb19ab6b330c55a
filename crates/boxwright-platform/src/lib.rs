//! CPU architectures and their spellings: one [`Arch`] type, the names each ecosystem writes
//! for it, and parsing from any of them.
//!
//! | [`Arch`] | [`Arch::name`] (Rust, GNU, ELF) | [`Arch::oci`] (OCI, Go) | [`Arch::debian`] | [`Arch::apk`] |
//! |---|---|---|---|---|
//! | `X86_64` | `x86_64` | `amd64` | `amd64` | `x86_64` |
//! | `Aarch64` | `aarch64` | `arm64` | `arm64` | `aarch64` |
//! | `X86` | `x86` | `386` | `i386` | `x86` |
//! | `Arm` | `arm` | `arm` | `armhf` | `armhf` |
//! | `Riscv64` | `riscv64` | `riscv64` | `riscv64` | `riscv64` |
//! | `Ppc64le` | `powerpc64` | `ppc64le` | `ppc64el` | `ppc64le` |
//! | `S390x` | `s390x` | `s390x` | `s390x` | `s390x` |
//!
//! Image platforms (`linux/amd64`...) are [`Platform`]s; [`did_you_mean`] finds the known
//! word closest to a mistyped one.
//!
//! Pure: no I/O, no environment.

use std::fmt;
use std::str::FromStr;

mod platform;
pub mod suggest;

pub use platform::{KNOWN_PLATFORMS, Platform, UnknownPlatform};
pub use suggest::did_you_mean;

/// A CPU architecture of Linux binaries and images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Arch {
    X86_64,
    Aarch64,
    X86,
    Arm,
    Riscv64,
    Ppc64le,
    S390x,
}

/// A name no spelling of a known architecture has; the message lists the OCI and Rust
/// names and the closest spelling when one is close.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown architecture `{0}`{hint} (known: {known})", hint = platform::suggestion(.0, Arch::spellings()), known = Arch::known_names())]
pub struct UnknownArch(pub String);

impl Arch {
    /// Every architecture, in a fixed order.
    pub const ALL: [Arch; 7] = [
        Arch::X86_64,
        Arch::Aarch64,
        Arch::X86,
        Arch::Arm,
        Arch::Riscv64,
        Arch::Ppc64le,
        Arch::S390x,
    ];

    /// Every spelling of every architecture (Rust, OCI, Debian, apk), duplicates included.
    pub fn spellings() -> impl Iterator<Item = &'static str> {
        Arch::ALL
            .into_iter()
            .flat_map(|a| [a.name(), a.oci(), a.debian(), a.apk()])
    }

    /// `amd64/x86_64, arm64/aarch64, ...`: the OCI and the Rust name of each architecture.
    pub fn known_names() -> String {
        Arch::ALL
            .into_iter()
            .map(|a| format!("{}/{}", a.oci(), a.name()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The architecture boxwright itself was compiled for, when it is a known one.
    pub fn host() -> Option<Arch> {
        Arch::from_name(std::env::consts::ARCH)
    }

    /// Rust's, GNU's and the ELF reader's name (`uname -m` style): `x86_64`, `aarch64`.
    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
            Arch::X86 => "x86",
            Arch::Arm => "arm",
            Arch::Riscv64 => "riscv64",
            Arch::Ppc64le => "powerpc64",
            Arch::S390x => "s390x",
        }
    }

    /// The OCI platform's `architecture` (Go's `GOARCH`): `amd64`, `arm64`.
    pub fn oci(self) -> &'static str {
        match self {
            Arch::X86_64 => "amd64",
            Arch::Aarch64 => "arm64",
            Arch::X86 => "386",
            Arch::Arm => "arm",
            Arch::Riscv64 => "riscv64",
            Arch::Ppc64le => "ppc64le",
            Arch::S390x => "s390x",
        }
    }

    /// Debian's architecture name (`dpkg --print-architecture`): `amd64`, `arm64`.
    pub fn debian(self) -> &'static str {
        match self {
            Arch::X86_64 => "amd64",
            Arch::Aarch64 => "arm64",
            Arch::X86 => "i386",
            Arch::Arm => "armhf",
            Arch::Riscv64 => "riscv64",
            Arch::Ppc64le => "ppc64el",
            Arch::S390x => "s390x",
        }
    }

    /// Alpine's architecture name (`apk --print-arch`): `x86_64`, `aarch64`.
    pub fn apk(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
            Arch::X86 => "x86",
            Arch::Arm => "armhf",
            Arch::Riscv64 => "riscv64",
            Arch::Ppc64le => "ppc64le",
            Arch::S390x => "s390x",
        }
    }

    /// The architecture [`Arch::name`] calls `name`.
    pub fn from_name(name: &str) -> Option<Arch> {
        Arch::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The architecture [`Arch::oci`] calls `name`.
    pub fn from_oci(name: &str) -> Option<Arch> {
        Arch::ALL.into_iter().find(|a| a.oci() == name)
    }

    /// The architecture [`Arch::debian`] calls `name`.
    pub fn from_debian(name: &str) -> Option<Arch> {
        Arch::ALL.into_iter().find(|a| a.debian() == name)
    }

    /// The architecture [`Arch::apk`] calls `name`.
    pub fn from_apk(name: &str) -> Option<Arch> {
        Arch::ALL.into_iter().find(|a| a.apk() == name)
    }

    /// The architecture of any of its spellings, ignoring case, and the common aliases
    /// (`x86-64`, `x64`, `i686`, `powerpc64le`...).
    pub fn from_any(name: &str) -> Option<Arch> {
        let lower = name.to_ascii_lowercase();
        let alias = match lower.as_str() {
            "x86-64" | "x64" => Some(Arch::X86_64),
            "i486" | "i586" | "i686" | "x86_32" => Some(Arch::X86),
            "powerpc64le" => Some(Arch::Ppc64le),
            _ => None,
        };
        alias.or_else(|| {
            Arch::ALL
                .into_iter()
                .find(|a| [a.name(), a.oci(), a.debian(), a.apk()].contains(&lower.as_str()))
        })
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Arch {
    type Err = UnknownArch;

    /// Any spelling ([`Arch::from_any`]).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Arch::from_any(s).ok_or_else(|| UnknownArch(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case(Arch::X86_64, "x86_64", "amd64", "amd64", "x86_64")]
    #[case(Arch::Aarch64, "aarch64", "arm64", "arm64", "aarch64")]
    #[case(Arch::X86, "x86", "386", "i386", "x86")]
    #[case(Arch::Arm, "arm", "arm", "armhf", "armhf")]
    #[case(Arch::Riscv64, "riscv64", "riscv64", "riscv64", "riscv64")]
    #[case(Arch::Ppc64le, "powerpc64", "ppc64le", "ppc64el", "ppc64le")]
    #[case(Arch::S390x, "s390x", "s390x", "s390x", "s390x")]
    fn spellings_round_trip(
        #[case] arch: Arch,
        #[case] name: &str,
        #[case] oci: &str,
        #[case] debian: &str,
        #[case] apk: &str,
    ) {
        assert_eq!(
            (arch.name(), arch.oci(), arch.debian(), arch.apk()),
            (name, oci, debian, apk)
        );
        assert_eq!(Arch::from_name(name), Some(arch));
        assert_eq!(Arch::from_oci(oci), Some(arch));
        assert_eq!(Arch::from_debian(debian), Some(arch));
        assert_eq!(Arch::from_apk(apk), Some(arch));
        for spelling in [name, oci, debian, apk] {
            assert_eq!(spelling.parse(), Ok(arch));
            assert_eq!(spelling.to_ascii_uppercase().parse(), Ok(arch));
        }
        assert_eq!(arch.to_string(), name);
    }

    #[rstest]
    #[case("x86-64", Some(Arch::X86_64))]
    #[case("X64", Some(Arch::X86_64))]
    #[case("i686", Some(Arch::X86))]
    #[case("powerpc64le", Some(Arch::Ppc64le))]
    #[case("mips", None)]
    #[case("", None)]
    fn aliases(#[case] spelling: &str, #[case] arch: Option<Arch>) {
        assert_eq!(Arch::from_any(spelling), arch);
    }

    #[test]
    fn unknown_names_are_errors_naming_them() {
        let error = "m68k".parse::<Arch>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown architecture `m68k` (known: amd64/x86_64, arm64/aarch64, 386/x86, arm/arm, \
             riscv64/riscv64, ppc64le/powerpc64, s390x/s390x)"
        );
        assert!(
            "amd46"
                .parse::<Arch>()
                .unwrap_err()
                .to_string()
                .starts_with("unknown architecture `amd46`; did you mean `amd64`?")
        );
        assert_eq!(Arch::from_oci("x86_64"), None);
        assert_eq!(Arch::from_name("amd64"), None);
    }
}
