//! Image platforms as users write them (`os/arch[/variant]`), checked against the ones
//! boxwright supports.

use std::fmt;
use std::str::FromStr;

use crate::Arch;
use crate::suggest::did_you_mean;

/// Every platform boxwright builds images for: Linux on each [`Arch`], Arm with its
/// variants `v6` and `v7`, and `linux/arm64/v8` (the variant written out).
pub const KNOWN_PLATFORMS: [&str; 10] = [
    "linux/amd64",
    "linux/arm64",
    "linux/arm64/v8",
    "linux/arm/v7",
    "linux/arm/v6",
    "linux/arm",
    "linux/386",
    "linux/riscv64",
    "linux/ppc64le",
    "linux/s390x",
];

/// A supported image platform: Linux on an [`Arch`], with an optional variant.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Platform {
    /// The CPU architecture.
    pub arch: Arch,
    /// The OCI `variant` (`v7`, `v8`...), as written.
    pub variant: Option<String>,
}

/// A platform that is not one of [`KNOWN_PLATFORMS`]; its message lists them and names the
/// closest when one is close.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown platform `{value}`{} (known: {})", suggestion(.value, KNOWN_PLATFORMS), KNOWN_PLATFORMS.join(", "))]
pub struct UnknownPlatform {
    /// The value as written.
    pub value: String,
}

/// `; did you mean `X`?` when a candidate is close to `value`, else nothing.
pub(crate) fn suggestion<'a>(value: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    did_you_mean(value, candidates)
        .map(|close| format!("; did you mean `{close}`?"))
        .unwrap_or_default()
}

impl Platform {
    /// `linux/<arch>` without a variant.
    pub fn linux(arch: Arch) -> Platform {
        Platform {
            arch,
            variant: None,
        }
    }
}

impl FromStr for Platform {
    type Err = UnknownPlatform;

    /// One of [`KNOWN_PLATFORMS`], exactly as listed (lower case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let unknown = || UnknownPlatform {
            value: s.to_string(),
        };
        if !KNOWN_PLATFORMS.contains(&s) {
            return Err(unknown());
        }
        let mut parts = s.split('/').skip(1);
        let arch = parts.next().and_then(Arch::from_oci).ok_or_else(unknown)?;
        Ok(Platform {
            arch,
            variant: parts.next().map(str::to_string),
        })
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "linux/{}", self.arch.oci())?;
        if let Some(variant) = &self.variant {
            write!(f, "/{variant}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[test]
    fn every_known_platform_parses_and_prints_as_written() {
        for known in KNOWN_PLATFORMS {
            let platform: Platform = known.parse().unwrap();
            assert_eq!(platform.to_string(), known);
        }
        assert_eq!("linux/arm/v7".parse::<Platform>().unwrap().arch, Arch::Arm);
    }

    #[rstest]
    #[case("linux/amd46", "; did you mean `linux/amd64`?")]
    #[case("linux/x86_64", "")]
    #[case("windows/amd64", "")]
    #[case("Linux/amd64", "; did you mean `linux/amd64`?")]
    fn unknown_platforms_list_the_known_ones(#[case] value: &str, #[case] hint: &str) {
        let error = value.parse::<Platform>().unwrap_err().to_string();
        assert_eq!(
            error,
            format!(
                "unknown platform `{value}`{hint} (known: linux/amd64, linux/arm64, \
                 linux/arm64/v8, linux/arm/v7, linux/arm/v6, linux/arm, linux/386, \
                 linux/riscv64, linux/ppc64le, linux/s390x)"
            )
        );
    }
}
