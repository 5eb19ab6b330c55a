//! Software bills of materials and build provenance for what boxwright makes.
//!
//! A [`Subject`] (a target's output, an OCI image, a rootfs tarball or a release archive) is
//! gathered once ([`gather`] reads files and layers, hashing every regular file with SHA-256
//! and SHA-1 as it is read; [`resolve`] turns SUBJECT into one and adds what metadata.json
//! and the image annotations say)
//! and then written as:
//!
//! - SPDX 2.3 JSON ([`spdx::write`]),
//! - CycloneDX 1.6 JSON ([`cyclonedx::write`]),
//! - a SLSA v1 provenance predicate ([`provenance::write`], CI facts from [`ci::detect`]).
//!
//! Same subject, same options: same bytes. Nothing in a document comes from the clock, the
//! host name or the paths of the machine: identifiers are derived from the subject's digest,
//! times from `SOURCE_DATE_EPOCH`, and URLs go through `boxwright-metadata`'s cleaning.

pub mod ci;
pub mod cyclonedx;
mod error;
pub mod gather;
pub mod hash;
pub mod installed;
pub mod provenance;
pub mod purl;
pub mod resolve;
pub mod spdx;
mod subject;

pub use error::Error;
pub use installed::{InstalledPackage, PackageChecksum};
pub use subject::{
    BaseInfo, DownloadInfo, FileEntry, PackageInfo, SourceInfo, Subject, SubjectKind,
};

/// What every document takes besides the subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentOptions {
    /// Seconds since the epoch (`SOURCE_DATE_EPOCH`): the documents' creation time.
    pub created: u64,
    /// boxwright's version, named as the creating tool and the builder's version.
    pub tool_version: String,
}

/// The SBOM formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    SpdxJson,
    CycloneDxJson,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "spdx-json" => Ok(Format::SpdxJson),
            "cyclonedx-json" => Ok(Format::CycloneDxJson),
            other => Err(format!(
                "unknown SBOM format `{other}` (known: spdx-json, cyclonedx-json)"
            )),
        }
    }
}

/// The SBOM of `subject` in `format`.
pub fn sbom(subject: &Subject, format: Format, options: &DocumentOptions) -> Vec<u8> {
    match format {
        Format::SpdxJson => spdx::write(subject, options),
        Format::CycloneDxJson => cyclonedx::write(subject, options),
    }
}

fn rfc3339(epoch: u64) -> String {
    boxwright_oci::image::rfc3339(epoch)
}

fn to_json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("documents serialise");
    bytes.push(b'\n');
    bytes
}

#[cfg(test)]
mod tests;
