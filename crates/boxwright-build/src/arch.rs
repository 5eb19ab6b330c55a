//! Target architectures of static builds: the two of [`boxwright_platform::Arch`] boxwright
//! builds for, with the toolchain facts of each. Every spelling comes from
//! `boxwright-platform`.

use std::fmt;
use std::str::FromStr;

use boxwright_platform::Arch as Platform;
use serde::Serialize;

/// A CPU architecture boxwright builds for (a subset of [`Platform`], whose names it uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Arch {
    X86_64,
    Aarch64,
}

impl Arch {
    /// The architecture of this machine, when it is one boxwright builds for.
    pub fn host() -> Option<Arch> {
        Platform::host().and_then(Arch::buildable)
    }

    /// The architecture when boxwright builds for it.
    pub fn buildable(arch: Platform) -> Option<Arch> {
        match arch {
            Platform::X86_64 => Some(Arch::X86_64),
            Platform::Aarch64 => Some(Arch::Aarch64),
            _ => None,
        }
    }

    /// The architecture in `boxwright-platform`'s terms.
    pub fn platform(self) -> Platform {
        match self {
            Arch::X86_64 => Platform::X86_64,
            Arch::Aarch64 => Platform::Aarch64,
        }
    }

    /// The name used in `ARCH` and on the command line (Rust's).
    pub fn name(self) -> &'static str {
        self.platform().name()
    }

    /// The Rust target triple of static musl binaries.
    pub fn rust_target(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64-unknown-linux-musl",
            Arch::Aarch64 => "aarch64-unknown-linux-musl",
        }
    }

    /// The GNU triple, as in Debian's multiarch paths and cross compiler names.
    pub fn gnu_triple(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64-linux-gnu",
            Arch::Aarch64 => "aarch64-linux-gnu",
        }
    }

    /// The OCI platform architecture (`amd64`, `arm64`).
    pub fn oci_name(self) -> &'static str {
        self.platform().oci()
    }

    /// The user-mode emulator that runs this architecture's binaries elsewhere.
    pub fn qemu(self) -> &'static str {
        match self {
            Arch::X86_64 => "qemu-x86_64-static",
            Arch::Aarch64 => "qemu-aarch64-static",
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Arch {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Platform::from_name(s)
            .or_else(|| Platform::from_oci(s))
            .and_then(Arch::buildable)
            .ok_or_else(|| {
                let hint = boxwright_platform::did_you_mean(
                    s,
                    [Arch::X86_64, Arch::Aarch64]
                        .into_iter()
                        .flat_map(|a| [a.name(), a.oci_name()]),
                )
                .map(|close| format!("; did you mean `{close}`?"))
                .unwrap_or_default();
                format!("unknown architecture `{s}`{hint} (known: x86_64 = amd64, aarch64 = arm64)")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_spellings() {
        assert_eq!("arm64".parse::<Arch>().unwrap(), Arch::Aarch64);
        assert_eq!(
            "x86_64".parse::<Arch>().unwrap().rust_target(),
            "x86_64-unknown-linux-musl"
        );
        assert!("riscv64".parse::<Arch>().unwrap_err().contains("known"));
    }
}
