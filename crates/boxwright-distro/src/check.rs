//! A downloaded package file against what its signed index says: a `.deb` by its size and
//! SHA256 (apt's check), an `.apk` by the SHA-1 of its control member (`C:`) and its own
//! `datahash` (apk-tools' chain: index signature → `C:` → `datahash` → per-file SHA-1).

use std::fs::File;
use std::io::Read as _;
use std::path::Path;

use base64::Engine as _;
use sha2::Digest as _;

use crate::error::{Error, Result};
use crate::model::Candidate;

fn label(candidate: &Candidate) -> String {
    format!(
        "{} {} ({})",
        candidate.name, candidate.version, candidate.arch
    )
}

/// Checks a `.deb` file's size and SHA256 against its `Packages` entry.
pub fn check_deb(path: &Path, candidate: &Candidate) -> Result<()> {
    let expected = candidate
        .sha256
        .as_deref()
        .ok_or_else(|| Error::MissingDigest {
            package: label(candidate),
            what: "SHA256",
        })?;
    let io = |source| Error::Io {
        action: "read",
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let mut hasher = sha2::Sha256::new();
    let mut size = 0_u64;
    let mut buffer = vec![0_u8; 256 * 1024];
    loop {
        let n = file.read(&mut buffer).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        size += n as u64;
    }
    if size != candidate.size {
        return Err(mismatch(
            candidate,
            "size",
            candidate.size.to_string(),
            size.to_string(),
        ));
    }
    let actual = hex::encode(hasher.finalize());
    if !actual.eq_ignore_ascii_case(expected) {
        return Err(mismatch(candidate, "SHA256", expected.to_string(), actual));
    }
    Ok(())
}

/// Checks an `.apk` file: it reads and checks as a package (structure, `datahash` against
/// the data member, per-file checksums: [`boxwright_package::inspect`]), its control
/// member's SHA-1 is the index's `C:`, and its name, version and size are the index's.
pub fn check_apk(path: &Path, candidate: &Candidate) -> Result<()> {
    let expected = candidate
        .apk_checksum
        .as_deref()
        .ok_or_else(|| Error::MissingDigest {
            package: label(candidate),
            what: "control checksum (C:)",
        })?;
    let info = boxwright_package::inspect(path).map_err(|source| Error::Package {
        package: label(candidate),
        path: path.to_path_buf(),
        source: Box::new(source),
    })?;
    let actual = info.control_sha1.map_or_else(String::new, |sha1| {
        format!(
            "Q1{}",
            base64::engine::general_purpose::STANDARD.encode(sha1)
        )
    });
    if actual != expected {
        return Err(mismatch(
            candidate,
            "control checksum (C:)",
            expected.to_string(),
            actual,
        ));
    }
    for (what, want, have) in [
        ("name", &candidate.name, &info.name),
        ("version", &candidate.version, &info.version),
    ] {
        if want != have {
            return Err(mismatch(candidate, what, want.clone(), have.clone()));
        }
    }
    if candidate.size != 0 && candidate.size != info.file_size {
        return Err(mismatch(
            candidate,
            "size",
            candidate.size.to_string(),
            info.file_size.to_string(),
        ));
    }
    Ok(())
}

fn mismatch(candidate: &Candidate, what: &'static str, expected: String, actual: String) -> Error {
    Error::PackageMismatch {
        package: label(candidate),
        what,
        expected,
        actual,
    }
}
