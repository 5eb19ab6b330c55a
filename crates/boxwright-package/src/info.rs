//! What a package says about itself.

use boxwright_platform::Arch;
use serde::Serialize;

use crate::error::PackageError;

/// A package file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageFormat {
    /// Alpine's apk v2 package (three concatenated gzip members).
    Apk,
    /// Debian's binary package (an ar archive).
    Deb,
}

impl PackageFormat {
    /// The file extension without the dot: `apk` or `deb`.
    pub fn extension(self) -> &'static str {
        match self {
            PackageFormat::Apk => "apk",
            PackageFormat::Deb => "deb",
        }
    }
}

impl std::fmt::Display for PackageFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.extension())
    }
}

impl std::str::FromStr for PackageFormat {
    type Err = PackageError;
    fn from_str(s: &str) -> Result<Self, PackageError> {
        match s {
            "apk" => Ok(PackageFormat::Apk),
            "deb" => Ok(PackageFormat::Deb),
            other => Err(PackageError::FormatName {
                name: other.to_string(),
            }),
        }
    }
}

/// The facts of one package file, read and checked by [`crate::inspect`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PackageInfo {
    pub format: PackageFormat,
    pub name: String,
    /// The full version: `1.2.3-r0` (apk), `1.2.3-1` (deb, epoch included when present).
    pub version: String,
    /// As written in the package: `x86_64`, `aarch64`, `noarch` (apk); `amd64`, `arm64`,
    /// `all` (deb).
    pub arch: String,
    /// The size of the package file in bytes.
    pub file_size: u64,
    /// Installed size in bytes (deb: `Installed-Size` KiB × 1024).
    pub installed_size: u64,
    pub description: String,
    pub url: String,
    pub license: String,
    pub maintainer: String,
    pub depends: Vec<String>,
    pub provides: Vec<String>,
    /// apk: `origin` (the main package of a split); deb: `Source`, else the name.
    pub origin: String,
    /// apk: `builddate` (seconds since the epoch).
    pub build_date: Option<u64>,
    /// SHA-256 of the package file, hex.
    pub sha256: String,
    /// apk: SHA-1 of the compressed control member (the index's `C:` identity).
    #[serde(skip)]
    pub control_sha1: Option<[u8; 20]>,
    /// apk: the key file name the package is signed for (`.SIGN.RSA256.<keyname>`).
    pub signer: Option<String>,
    /// deb: the control paragraph's fields in file order (written into `Packages`); apk: the
    /// `.PKGINFO` pairs in file order.
    #[serde(skip)]
    pub control_fields: Vec<(String, String)>,
}

/// The apk spelling of a Debian architecture (`amd64` → `x86_64`, `all` → `noarch`); apk
/// and unknown names unchanged.
pub(crate) fn canonical_arch(arch: &str) -> &str {
    match arch {
        "all" => "noarch",
        other => match Arch::from_debian(other) {
            Some(arch) => arch.apk(),
            None => other,
        },
    }
}

/// Whether a package built for `info.arch` may go where `field_arch` is asked (an upload's
/// `arch` field): x86_64 and amd64, aarch64 and arm64 are the same; `noarch`/`all`
/// packages match any architecture.
pub fn arch_matches(info: &PackageInfo, field_arch: &str) -> bool {
    let package = canonical_arch(&info.arch);
    package == "noarch" || package == canonical_arch(field_arch)
}

/// The architecture name `format` writes for `arch` (either spelling accepted).
pub fn format_arch(format: PackageFormat, arch: &str) -> String {
    let canonical = canonical_arch(arch);
    match format {
        PackageFormat::Apk => canonical.to_string(),
        PackageFormat::Deb => match canonical {
            "noarch" => "all".into(),
            other => {
                Arch::from_apk(other).map_or_else(|| other.to_owned(), |a| a.debian().to_owned())
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(arch: &str) -> PackageInfo {
        PackageInfo {
            format: PackageFormat::Apk,
            name: "x".into(),
            version: "1-r0".into(),
            arch: arch.into(),
            file_size: 1,
            installed_size: 1,
            description: String::new(),
            url: String::new(),
            license: String::new(),
            maintainer: String::new(),
            depends: vec![],
            provides: vec![],
            origin: String::new(),
            build_date: None,
            sha256: String::new(),
            control_sha1: None,
            signer: None,
            control_fields: vec![],
        }
    }

    #[test]
    fn architectures_match_across_spellings() {
        assert!(arch_matches(&info("x86_64"), "amd64"));
        assert!(arch_matches(&info("amd64"), "x86_64"));
        assert!(arch_matches(&info("arm64"), "aarch64"));
        assert!(arch_matches(&info("aarch64"), "aarch64"));
        assert!(arch_matches(&info("noarch"), "aarch64"));
        assert!(arch_matches(&info("all"), "x86_64"));
        assert!(!arch_matches(&info("x86_64"), "arm64"));
        assert!(!arch_matches(&info("aarch64"), "noarch"));
    }

    #[test]
    fn format_names_parse() {
        assert_eq!("apk".parse::<PackageFormat>().unwrap(), PackageFormat::Apk);
        assert_eq!("deb".parse::<PackageFormat>().unwrap(), PackageFormat::Deb);
        let error = "rpm".parse::<PackageFormat>().unwrap_err();
        assert!(matches!(&error, PackageError::FormatName { name } if name == "rpm"));
        assert_eq!(
            error.to_string(),
            "unknown package format `rpm` (known: apk, deb)"
        );
    }

    #[test]
    fn format_arch_maps_names() {
        assert_eq!(format_arch(PackageFormat::Deb, "x86_64"), "amd64");
        assert_eq!(format_arch(PackageFormat::Deb, "noarch"), "all");
        assert_eq!(format_arch(PackageFormat::Apk, "arm64"), "aarch64");
        assert_eq!(format_arch(PackageFormat::Apk, "riscv64"), "riscv64");
    }
}
