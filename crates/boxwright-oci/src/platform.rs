use std::fmt;
use std::str::FromStr;

use boxwright_platform::Arch as BoxwrightArch;
use oci_spec::image::{Arch, Os, Platform, PlatformBuilder};

/// `os/architecture[/variant]`, e.g. `linux/amd64`, `linux/arm64`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformSpec {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl PlatformSpec {
    /// The platform of ELF files of `machine` (as boxwright-elf names machines).
    pub fn for_machine(machine: &str) -> Option<PlatformSpec> {
        Some(PlatformSpec::linux(BoxwrightArch::from_name(machine)?))
    }

    /// `linux/<arch>` without a variant.
    pub fn linux(arch: BoxwrightArch) -> PlatformSpec {
        PlatformSpec {
            os: "linux".into(),
            architecture: arch.oci().into(),
            variant: None,
        }
    }

    /// The architecture, when it is one boxwright knows.
    pub fn arch(&self) -> Option<BoxwrightArch> {
        BoxwrightArch::from_oci(&self.architecture)
    }

    /// The ELF machine name of this platform's binaries (the architecture as written when
    /// it is not one boxwright knows).
    pub fn machine(&self) -> &str {
        match self.arch() {
            Some(arch) => arch.name(),
            None => &self.architecture,
        }
    }

    /// Whether an image index entry's platform is this one (a missing variant matches any).
    pub fn matches(&self, platform: &Platform) -> bool {
        platform.os().to_string() == self.os
            && platform.architecture().to_string() == self.architecture
            && (self.variant.is_none() || platform.variant() == &self.variant)
    }

    /// The oci-spec form.
    pub fn to_oci(&self) -> Platform {
        let builder = PlatformBuilder::default()
            .os(Os::from(self.os.as_str()))
            .architecture(Arch::from(self.architecture.as_str()));
        match &self.variant {
            Some(variant) => builder.variant(variant.clone()),
            None => builder,
        }
        .build()
        .expect("os and architecture are set")
    }
}

impl fmt::Display for PlatformSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(variant) = &self.variant {
            write!(f, "/{variant}")?;
        }
        Ok(())
    }
}

impl FromStr for PlatformSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split('/').collect();
        match parts.as_slice() {
            [os, arch] | [os, arch, _] if !os.is_empty() && !arch.is_empty() => Ok(PlatformSpec {
                os: (*os).to_string(),
                architecture: (*arch).to_string(),
                variant: parts.get(2).map(|v| (*v).to_string()),
            }),
            _ => Err(format!(
                "platform `{s}` is not os/architecture[/variant], e.g. linux/amd64"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_maps_machines() {
        let p: PlatformSpec = "linux/arm64".parse().unwrap();
        assert_eq!(p.machine(), "aarch64");
        assert_eq!(
            PlatformSpec::for_machine("x86_64").unwrap().to_string(),
            "linux/amd64"
        );
        assert!("linux".parse::<PlatformSpec>().is_err());
        assert!(p.matches(&p.to_oci()));
    }
}
