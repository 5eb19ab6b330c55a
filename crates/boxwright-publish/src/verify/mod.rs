//! The consumer's side: a release's signed `manifest.json` and every artifact it names, read
//! from a directory or an http(s) base as streams with limits ([`source`]), artifacts hashed
//! on the way and, with an output directory, staged and moved into it only once everything
//! verified.

pub mod source;

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use boxwright_release::manifest::{self, Manifest, ManifestArtifact};
use boxwright_sign::minisign::{MinisignPublicKey, MinisignSignature};
use boxwright_sign::{Signature, VerifyingKey};
use sha2::{Digest as _, Sha256, Sha512};

use self::source::{Base, ReadError};
use crate::Error;
use crate::manifest::{MANIFEST, SIGNATURE};

/// How long verification waits before reading a stable pair that did not verify again.
const STABLE_REREAD_PAUSE: Duration = Duration::from_secs(1);
/// The longest artifact name (a file name on every common filesystem).
pub const MAX_NAME_BYTES: usize = 255;

/// A check's result: passed, or refused with the reason (a failed check, not an error).
#[derive(Debug)]
pub enum Outcome<T> {
    Passed(T),
    Refused(Error),
}

/// The key a release's manifest is signed with.
pub enum PublicKey {
    Minisign(MinisignPublicKey),
    Cosign(VerifyingKey),
}

impl PublicKey {
    /// A minisign public key or a cosign PEM public key, told apart by their text.
    pub fn from_text(text: &str) -> Result<PublicKey, Error> {
        Ok(if MinisignPublicKey::is_minisign(text) {
            PublicKey::Minisign(MinisignPublicKey::from_text(text)?)
        } else {
            PublicKey::Cosign(VerifyingKey::from_pem(text)?)
        })
    }
}

/// What to verify: the stable manifest, or `tag`'s versioned one; and where verified
/// artifacts go.
#[derive(Debug, Clone, Copy, Default)]
pub struct Request<'a> {
    pub tag: Option<&'a str>,
    pub output: Option<&'a Path>,
}

/// A release whose signature and artifacts verified, its artifacts staged beside the output
/// directory when one was asked for; [`Checked::finish`] moves them in.
pub struct Checked {
    pub manifest: Manifest,
    staging: Option<(tempfile::TempDir, PathBuf)>,
}

impl Checked {
    /// Moves each staged artifact into the output directory (made now); returns the paths
    /// written (none without an output directory).
    pub fn finish(self) -> Result<Vec<PathBuf>, Error> {
        let Some((staging, dir)) = self.staging else {
            return Ok(Vec::new());
        };
        std::fs::create_dir_all(&dir).map_err(|source| Error::CreateDir {
            path: dir.clone(),
            source,
        })?;
        let mut written = Vec::new();
        for artifact in &self.manifest.artifacts {
            let to = dir.join(&artifact.name);
            std::fs::rename(staging.path().join(&artifact.name), &to).map_err(|source| {
                Error::Write {
                    path: to.clone(),
                    source,
                }
            })?;
            written.push(to);
        }
        Ok(written)
    }
}

/// Checks the release at `base`: the manifest's signature by `key`, its schema and tag, every
/// artifact's name, then each artifact's size, SHA-256 and SHA-512 (staged when
/// `request.output` is set).
pub async fn check(
    base: &Base,
    key: &PublicKey,
    request: &Request<'_>,
) -> Result<Outcome<Checked>, Error> {
    let prefix = request
        .tag
        .map_or_else(String::new, |tag| format!("{tag}/"));
    let subject = base.name(&format!("{prefix}{MANIFEST}"));
    let bytes = match read_signed(base, key, &prefix, request.tag.is_none()).await? {
        Outcome::Passed(bytes) => bytes,
        Outcome::Refused(reason) => return Ok(Outcome::Refused(reason)),
    };
    let manifest = match parse(&bytes, &subject, request.tag) {
        Ok(manifest) => manifest,
        Err(reason) => return Ok(Outcome::Refused(reason)),
    };
    // Every name is checked before anything is read or written.
    if let Err(reason) = check_names(&manifest.artifacts, &subject) {
        return Ok(Outcome::Refused(reason));
    }
    let staging = request.output.map(staging_beside).transpose()?;
    for artifact in &manifest.artifacts {
        let staged = staging.as_ref().map(|dir| dir.path().join(&artifact.name));
        if let Outcome::Refused(reason) = check_artifact(base, artifact, staged.as_deref()).await? {
            return Ok(Outcome::Refused(reason));
        }
    }
    let staging = staging.zip(request.output.map(Path::to_path_buf));
    Ok(Outcome::Passed(Checked { manifest, staging }))
}

/// The manifest in `bytes`, of the supported schema and, when given, of `tag`.
fn parse(bytes: &[u8], subject: &str, tag: Option<&str>) -> Result<Manifest, Error> {
    let manifest: Manifest =
        serde_json::from_slice(bytes).map_err(|source| Error::NotAManifest {
            subject: subject.to_string(),
            source,
        })?;
    if manifest.schema_version != manifest::SCHEMA_VERSION {
        return Err(Error::SchemaVersion {
            subject: subject.to_string(),
            found: manifest.schema_version,
            expected: manifest::SCHEMA_VERSION,
        });
    }
    if let Some(tag) = tag
        && manifest.tag != tag
    {
        return Err(Error::WrongTag {
            subject: subject.to_string(),
            found: manifest.tag,
            tag: tag.to_string(),
        });
    }
    Ok(manifest)
}

/// The manifest under `prefix`, once its signature verifies. The stable pair is replaced by
/// two writes, manifest then signature, so a reader can meet a new manifest with the old
/// signature: when the `stable` one does not verify, the pair is read once more after a pause
/// before the check counts as failed.
async fn read_signed(
    base: &Base,
    key: &PublicKey,
    prefix: &str,
    stable: bool,
) -> Result<Outcome<Vec<u8>>, Error> {
    let manifest_name = format!("{prefix}{MANIFEST}");
    let subject = base.name(&manifest_name);
    let attempts = if stable { 2 } else { 1 };
    let mut attempt = 0;
    loop {
        attempt += 1;
        // A missing manifest is a wrong base or tag (an error); a missing signature is a
        // failed check.
        let bytes = match base.read_signed_part(&manifest_name).await {
            Ok(bytes) => bytes,
            Err(ReadError::Check(reason)) => return Ok(Outcome::Refused(reason)),
            Err(ReadError::Missing(error) | ReadError::Other(error)) => return Err(error),
        };
        let signature = match base.read_signed_part(&format!("{prefix}{SIGNATURE}")).await {
            Ok(bytes) => bytes,
            Err(ReadError::Check(reason) | ReadError::Missing(reason)) => {
                return Ok(Outcome::Refused(reason));
            }
            Err(ReadError::Other(error)) => return Err(error),
        };
        match check_signature(key, &bytes, &signature, &subject)? {
            Outcome::Passed(()) => return Ok(Outcome::Passed(bytes)),
            Outcome::Refused(_) if attempt < attempts => {
                tokio::time::sleep(STABLE_REREAD_PAUSE).await;
            }
            Outcome::Refused(reason) => return Ok(Outcome::Refused(reason)),
        }
    }
}

/// Ok when every artifact has a safe, distinct name and a safe relative path; else the
/// first problem, naming the name or path.
pub fn check_names(artifacts: &[ManifestArtifact], subject: &str) -> Result<(), Error> {
    let mut seen = BTreeSet::new();
    for artifact in artifacts {
        let name = &artifact.name;
        if !is_safe_name(name) {
            return Err(Error::UnsafeName {
                subject: subject.to_string(),
                name: name.clone(),
            });
        }
        if !manifest::is_safe_relative(&artifact.path)
            || artifact.path.chars().any(char::is_control)
        {
            return Err(Error::UnsafePath {
                subject: subject.to_string(),
                path: artifact.path.clone(),
            });
        }
        if !seen.insert(name.as_str()) {
            return Err(Error::DuplicateName {
                subject: subject.to_string(),
                name: name.clone(),
            });
        }
    }
    Ok(())
}

/// A plain file name: not empty, at most 255 bytes, no `/`, `\\` or control character (NUL
/// included), not starting with `.`.
fn is_safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_BYTES
        && !name.starts_with('.')
        && !name
            .chars()
            .any(|c| c == '/' || c == '\\' || c.is_control())
}

/// A temporary directory beside `dir` (same filesystem, so renames), made before `dir`
/// itself, which is only made once everything verified.
fn staging_beside(dir: &Path) -> Result<tempfile::TempDir, Error> {
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let cannot = |source| Error::CreateDir {
        path: parent.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(parent).map_err(cannot)?;
    tempfile::Builder::new()
        .prefix(".boxwright-verify-")
        .tempdir_in(parent)
        .map_err(cannot)
}

/// Reads one artifact, at most one byte more than its recorded size, hashing on the way
/// and writing to `staged` when given: refused for the first of size, SHA-256 and SHA-512
/// that differs from the manifest's.
async fn check_artifact(
    base: &Base,
    artifact: &ManifestArtifact,
    staged: Option<&Path>,
) -> Result<Outcome<()>, Error> {
    let what = base.name(&artifact.path);
    let mut file = match staged {
        Some(path) => Some(std::fs::File::create(path).map_err(|source| Error::Write {
            path: path.to_path_buf(),
            source,
        })?),
        None => None,
    };
    let (mut sha256, mut sha512) = (Sha256::new(), Sha512::new());
    let read = base
        .stream(&artifact.path, artifact.size, |piece| {
            sha256.update(piece);
            sha512.update(piece);
            match (&mut file, staged) {
                (Some(file), Some(path)) => file.write_all(piece).map_err(|source| {
                    ReadError::Other(Error::Write {
                        path: path.to_path_buf(),
                        source,
                    })
                }),
                _ => Ok(()),
            }
        })
        .await;
    let size = match read {
        Ok(Some(size)) => size,
        Ok(None) => {
            return Ok(Outcome::Refused(Error::TooLong {
                what,
                size: artifact.size,
            }));
        }
        Err(ReadError::Check(reason) | ReadError::Missing(reason)) => {
            return Ok(Outcome::Refused(reason));
        }
        Err(ReadError::Other(error)) => return Err(error),
    };
    let differs = |algorithm, actual: String, expected: &str| {
        Outcome::Refused(Error::DigestDiffers {
            what: what.clone(),
            algorithm,
            actual,
            expected: expected.to_string(),
        })
    };
    if size != artifact.size {
        return Ok(Outcome::Refused(Error::SizeDiffers {
            what,
            size,
            expected: artifact.size,
        }));
    }
    let sha256 = hex::encode(sha256.finalize());
    if sha256 != artifact.sha256 {
        return Ok(differs("sha256", sha256, &artifact.sha256));
    }
    let sha512 = hex::encode(sha512.finalize());
    if sha512 != artifact.sha512 {
        return Ok(differs("sha512", sha512, &artifact.sha512));
    }
    Ok(Outcome::Passed(()))
}

/// Passed when the signature verifies, refused when it does not, an error when it could
/// not be checked.
fn check_signature(
    key: &PublicKey,
    bytes: &[u8],
    signature: &[u8],
    subject: &str,
) -> Result<Outcome<()>, Error> {
    let signature = String::from_utf8_lossy(signature);
    let checked = match key {
        PublicKey::Minisign(key) => {
            if !MinisignSignature::is_minisign(&signature) {
                return Ok(Outcome::Refused(Error::NotMinisignSignature {
                    subject: subject.to_string(),
                }));
            }
            MinisignSignature::parse(&signature).and_then(|s| key.verify(bytes, &s, subject))
        }
        PublicKey::Cosign(key) => {
            if MinisignSignature::is_minisign(&signature) {
                return Ok(Outcome::Refused(Error::MinisignSignatureForCosignKey {
                    subject: subject.to_string(),
                }));
            }
            Signature::from_base64(&signature).and_then(|s| key.verify(bytes, &s, subject))
        }
    };
    match checked {
        Ok(()) => Ok(Outcome::Passed(())),
        Err(error) if error.is_verification_failure() => {
            Ok(Outcome::Refused(Error::Signing(error)))
        }
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests;
