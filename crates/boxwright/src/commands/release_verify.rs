//! `release verify`: a release's signed `manifest.json` and every artifact it names, read
//! from a directory or an http(s) base as streams with limits (`source`), artifacts hashed on
//! the way and, with `-o DIR`, staged and moved into DIR only once everything verified.

mod source;

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use boxwright_archive::hex;
use boxwright_registry::Reference;
use boxwright_release::manifest::{self, Manifest, ManifestArtifact};
use boxwright_sign::minisign::{MinisignPublicKey, MinisignSignature};
use boxwright_sign::{KeySource, Signature, VerifyingKey};
use serde::Serialize;
use sha2::{Digest as _, Sha256, Sha512};

use self::source::{Base, ReadError};
use super::ExitStatus;
use crate::cli::{RegistryArgs, ReleaseVerifyArgs};
use crate::printer::Printer;

const MANIFEST: &str = "manifest.json";
const SIGNATURE: &str = "manifest.json.sig";
/// How long `release verify` waits before reading a stable pair that did not verify again.
const STABLE_REREAD_PAUSE: std::time::Duration = std::time::Duration::from_secs(1);
/// The longest artifact name (a file name on every common filesystem).
const MAX_NAME_BYTES: usize = 255;

#[derive(Serialize)]
struct Verdict {
    verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    manifest: Option<Manifest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    written: Vec<PathBuf>,
}

/// `release verify BASE`: exit 0 verified, 1 a check failed, 2 could not check.
pub fn verify(printer: &Printer, args: &ReleaseVerifyArgs) -> anyhow::Result<ExitStatus> {
    let base = Base::new(&args.base)?;
    let source = KeySource::parse(&args.key);
    let key_text = source
        .read()
        .with_context(|| format!("cannot read the public key {source}"))?;
    let key = if MinisignPublicKey::is_minisign(&key_text) {
        PublicKey::Minisign(MinisignPublicKey::from_text(&key_text)?)
    } else {
        PublicKey::Cosign(VerifyingKey::from_pem(&key_text)?)
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let outcome = runtime.block_on(check(&base, &key, args));
    let (verdict, status) = match outcome {
        Ok(Ok((manifest, written))) => (
            Verdict {
                verified: true,
                manifest: Some(manifest),
                reason: None,
                written,
            },
            ExitStatus::Success,
        ),
        Ok(Err(reason)) => (
            Verdict {
                verified: false,
                manifest: None,
                reason: Some(reason),
                written: Vec::new(),
            },
            ExitStatus::CheckFailed,
        ),
        Err(error) => return Err(error),
    };
    if printer.json {
        printer.json(&verdict);
    }
    match &verdict.reason {
        None => {
            if !printer.json {
                let manifest = verdict.manifest.as_ref().expect("verified");
                for artifact in &manifest.artifacts {
                    printer.line(format!("{}  {}", artifact.sha256, artifact.path));
                }
                for image in &manifest.images {
                    printer.line(image.pinned());
                }
                printer.info(format!(
                    "Verified OK: {} ({} artifacts)",
                    manifest.tag,
                    manifest.artifacts.len()
                ));
            }
        }
        Some(reason) => printer.failure(format!("not verified: {reason}")),
    }
    Ok(status)
}

enum PublicKey {
    Minisign(MinisignPublicKey),
    Cosign(VerifyingKey),
}

/// The manifest under `prefix`, once its signature verifies: Ok(Err(reason)) when it does
/// not. The stable pair is replaced by two writes, manifest then signature, so a reader can
/// meet a new manifest with the old signature: when the `stable` one does not verify, the
/// pair is read once more after a pause before the check counts as failed.
async fn read_signed(
    base: &Base,
    key: &PublicKey,
    prefix: &str,
    stable: bool,
) -> anyhow::Result<Result<Vec<u8>, String>> {
    let manifest_name = format!("{prefix}{MANIFEST}");
    let subject = base.name(&manifest_name);
    let attempts = if stable { 2 } else { 1 };
    let mut attempt = 0;
    loop {
        attempt += 1;
        // A missing manifest is a wrong BASE or tag (exit 2); a missing signature is a
        // failed check.
        let bytes = match base.read_signed_part(&manifest_name).await {
            Ok(bytes) => bytes,
            Err(ReadError::Check(reason)) => return Ok(Err(reason)),
            Err(ReadError::Missing(reason)) => bail!("{reason}"),
            Err(ReadError::Other(error)) => return Err(error),
        };
        let signature = match base.read_signed_part(&format!("{prefix}{SIGNATURE}")).await {
            Ok(bytes) => bytes,
            Err(ReadError::Check(reason) | ReadError::Missing(reason)) => {
                return Ok(Err(reason));
            }
            Err(ReadError::Other(error)) => return Err(error),
        };
        match check_signature(key, &bytes, &signature, &subject)? {
            Ok(()) => return Ok(Ok(bytes)),
            Err(_) if attempt < attempts => tokio::time::sleep(STABLE_REREAD_PAUSE).await,
            Err(reason) => return Ok(Err(reason)),
        }
    }
}

/// Ok(Ok) verified, Ok(Err(reason)) a check failed, Err could not check.
async fn check(
    base: &Base,
    key: &PublicKey,
    args: &ReleaseVerifyArgs,
) -> anyhow::Result<Result<(Manifest, Vec<PathBuf>), String>> {
    let prefix = args
        .tag
        .as_deref()
        .map_or_else(String::new, |tag| format!("{tag}/"));
    let subject = base.name(&format!("{prefix}{MANIFEST}"));
    let bytes = match read_signed(base, key, &prefix, args.tag.is_none()).await? {
        Ok(bytes) => bytes,
        Err(reason) => return Ok(Err(reason)),
    };
    let manifest: Manifest = match serde_json::from_slice(&bytes) {
        Ok(manifest) => manifest,
        Err(e) => return Ok(Err(format!("{subject} is not a release manifest: {e}"))),
    };
    if manifest.schema_version != manifest::SCHEMA_VERSION {
        return Ok(Err(format!(
            "{subject} has schema_version {}, not {}",
            manifest.schema_version,
            manifest::SCHEMA_VERSION
        )));
    }
    if let Some(tag) = &args.tag
        && &manifest.tag != tag
    {
        return Ok(Err(format!("{subject} is for {}, not {tag}", manifest.tag)));
    }
    // Every name is checked before anything is read or written.
    if let Err(reason) = check_names(&manifest.artifacts, &subject) {
        return Ok(Err(reason));
    }
    let staging = args.output.as_deref().map(staging_beside).transpose()?;
    for artifact in &manifest.artifacts {
        let staged = staging.as_ref().map(|dir| dir.path().join(&artifact.name));
        if let Err(reason) = check_artifact(base, artifact, staged.as_deref()).await? {
            return Ok(Err(reason));
        }
    }
    if args.images
        && let Err(reason) = check_images(&manifest, &args.registry).await?
    {
        return Ok(Err(reason));
    }
    let written = match (&args.output, &staging) {
        (Some(dir), Some(staging)) => move_into(staging.path(), dir, &manifest.artifacts)?,
        _ => Vec::new(),
    };
    Ok(Ok((manifest, written)))
}

/// Ok when every artifact has a safe, distinct name and a safe relative path; else the
/// first problem, naming the name or path.
fn check_names(artifacts: &[ManifestArtifact], subject: &str) -> Result<(), String> {
    let mut seen = BTreeSet::new();
    for artifact in artifacts {
        let name = &artifact.name;
        if !is_safe_name(name) {
            return Err(format!("{subject} names an unsafe artifact name {name:?}"));
        }
        if !manifest::is_safe_relative(&artifact.path)
            || artifact.path.chars().any(char::is_control)
        {
            return Err(format!(
                "{subject} names an unsafe artifact path {:?}",
                artifact.path
            ));
        }
        if !seen.insert(name.as_str()) {
            return Err(format!("{subject} names the artifact {name:?} twice"));
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
fn staging_beside(dir: &Path) -> anyhow::Result<tempfile::TempDir> {
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)
        .with_context(|| format!("cannot create {}", parent.display()))?;
    Ok(tempfile::Builder::new()
        .prefix(".boxwright-verify-")
        .tempdir_in(parent)?)
}

/// Moves each artifact from `staging` into `dir` (made now); returns the paths written.
fn move_into(
    staging: &Path,
    dir: &Path,
    artifacts: &[ManifestArtifact],
) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = Vec::new();
    for artifact in artifacts {
        let to = dir.join(&artifact.name);
        std::fs::rename(staging.join(&artifact.name), &to)
            .with_context(|| format!("cannot write {}", to.display()))?;
        written.push(to);
    }
    Ok(written)
}

/// Reads one artifact, at most one byte more than its recorded size, hashing on the way
/// and writing to `staged` when given: Ok(Err(reason)) for the first of size, SHA-256 and
/// SHA-512 that differs from the manifest's.
async fn check_artifact(
    base: &Base,
    artifact: &ManifestArtifact,
    staged: Option<&Path>,
) -> anyhow::Result<Result<(), String>> {
    let what = base.name(&artifact.path);
    let mut file = match staged {
        Some(path) => Some(
            std::fs::File::create(path)
                .with_context(|| format!("cannot write {}", path.display()))?,
        ),
        None => None,
    };
    let (mut sha256, mut sha512) = (Sha256::new(), Sha512::new());
    let read = base
        .stream(&artifact.path, artifact.size, |piece| {
            sha256.update(piece);
            sha512.update(piece);
            match (&mut file, staged) {
                (Some(file), Some(path)) => file.write_all(piece).map_err(|e| {
                    ReadError::Other(
                        anyhow::Error::new(e).context(format!("cannot write {}", path.display())),
                    )
                }),
                _ => Ok(()),
            }
        })
        .await;
    let size = match read {
        Ok(Some(size)) => size,
        Ok(None) => {
            return Ok(Err(format!(
                "{what}: more than {0} bytes, the manifest says {0}",
                artifact.size
            )));
        }
        Err(ReadError::Check(reason) | ReadError::Missing(reason)) => return Ok(Err(reason)),
        Err(ReadError::Other(error)) => return Err(error),
    };
    if size != artifact.size {
        return Ok(Err(format!(
            "{what}: size {size}, the manifest says {}",
            artifact.size
        )));
    }
    let sha256 = hex(&sha256.finalize());
    if sha256 != artifact.sha256 {
        return Ok(Err(format!(
            "{what}: sha256 {sha256}, the manifest says {}",
            artifact.sha256
        )));
    }
    let sha512 = hex(&sha512.finalize());
    if sha512 != artifact.sha512 {
        return Ok(Err(format!(
            "{what}: sha512 {sha512}, the manifest says {}",
            artifact.sha512
        )));
    }
    Ok(Ok(()))
}

/// `--images`: each image the manifest names is in its registry, pinned by the recorded
/// digest (which the client checks against the bytes it receives), with the recorded size.
async fn check_images(
    manifest: &Manifest,
    registry: &RegistryArgs,
) -> anyhow::Result<Result<(), String>> {
    if manifest.images.is_empty() {
        return Ok(Ok(()));
    }
    let client = crate::context::registry_client(registry)?;
    for image in &manifest.images {
        let pinned = image.pinned();
        let reference: Reference = match pinned.parse() {
            Ok(reference) => reference,
            Err(e) => return Ok(Err(format!("image {pinned:?} is not a reference: {e}"))),
        };
        match client.inspect(&reference).await {
            Ok(inspected) if inspected.bytes.len() as u64 != image.size => {
                return Ok(Err(format!(
                    "image {pinned}: {} bytes, the manifest says {}",
                    inspected.bytes.len(),
                    image.size
                )));
            }
            Ok(_) => {}
            Err(
                error @ (boxwright_registry::Error::NotFound { .. }
                | boxwright_registry::Error::DigestMismatch { .. }),
            ) => return Ok(Err(format!("image {pinned}: {error}"))),
            Err(error) => {
                return Err(anyhow::Error::new(error).context(format!("cannot check {pinned}")));
            }
        }
    }
    Ok(Ok(()))
}

/// Ok(Ok) the signature verifies, Ok(Err(reason)) it does not, Err it could not be checked.
fn check_signature(
    key: &PublicKey,
    bytes: &[u8],
    signature: &[u8],
    subject: &str,
) -> anyhow::Result<Result<(), String>> {
    let signature = String::from_utf8_lossy(signature);
    let checked = match key {
        PublicKey::Minisign(key) => {
            if !MinisignSignature::is_minisign(&signature) {
                return Ok(Err(format!(
                    "the signature of {subject} is not a minisign signature, and the key is a \
                     minisign key"
                )));
            }
            MinisignSignature::parse(&signature).and_then(|s| key.verify(bytes, &s, subject))
        }
        PublicKey::Cosign(key) => {
            if MinisignSignature::is_minisign(&signature) {
                return Ok(Err(format!(
                    "the signature of {subject} is a minisign signature, and the key is a \
                     cosign (PEM) key"
                )));
            }
            Signature::from_base64(&signature).and_then(|s| key.verify(bytes, &s, subject))
        }
    };
    match checked {
        Ok(()) => {}
        Err(error) if error.is_verification_failure() => return Ok(Err(error.to_string())),
        Err(error) => return Err(error.into()),
    }
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artifact(name: &str, path: &str) -> ManifestArtifact {
        ManifestArtifact {
            media_type: "application/octet-stream".into(),
            name: name.into(),
            path: path.into(),
            sha256: String::new(),
            sha512: String::new(),
            size: 0,
        }
    }

    #[test]
    fn unsafe_names_are_refused_by_name() {
        for (name, shown) in [
            ("", "\"\""),
            ("a\0b", "\"a\\0b\""),
            ("../x", "\"../x\""),
            ("a/b", "\"a/b\""),
            (".hidden", "\".hidden\""),
            ("a\\b", "\"a\\\\b\""),
            ("line\nbreak", "\"line\\nbreak\""),
        ] {
            let reason = check_names(&[artifact(name, "t/a")], "m").unwrap_err();
            assert_eq!(reason, format!("m names an unsafe artifact name {shown}"));
        }
        let long = "a".repeat(MAX_NAME_BYTES + 1);
        assert!(check_names(&[artifact(&long, "t/a")], "m").is_err());
        assert!(check_names(&[artifact(&long[1..], "t/a")], "m").is_ok());
    }

    #[test]
    fn unsafe_paths_and_duplicate_names_are_refused() {
        let reason = check_names(&[artifact("a", "t/a\0")], "m").unwrap_err();
        assert!(reason.contains("unsafe artifact path"), "{reason}");
        let reason = check_names(&[artifact("a", "../a")], "m").unwrap_err();
        assert!(reason.contains("unsafe artifact path"), "{reason}");
        let reason =
            check_names(&[artifact("same", "t/a"), artifact("same", "t/b")], "m").unwrap_err();
        assert_eq!(reason, "m names the artifact \"same\" twice");
        // The same path under two names is fine.
        assert!(check_names(&[artifact("a", "t/a"), artifact("b", "t/a")], "m").is_ok());
    }
}
