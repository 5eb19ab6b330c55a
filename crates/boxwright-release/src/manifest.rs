//! The release manifest (`manifest.json`): what a release tag publishes, with sizes and
//! digests, in deterministic bytes (keys in name order, 2-space indentation, final newline).
//! Its JSON Schema is `docs/release-manifest.schema.json`.

use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256, Sha512};

/// The manifest's format version.
pub const SCHEMA_VERSION: u32 = 1;

/// A release manifest. Fields are declared in name order, so the JSON's keys are sorted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The artifacts, in name order.
    pub artifacts: Vec<ManifestArtifact>,
    /// RFC 3339 UTC time of the release.
    pub created: String,
    pub revision: u64,
    pub schema_version: u32,
    pub tag: String,
    pub target: String,
    pub version: String,
}

/// One published file. `path` is relative to the target's publication base
/// (`DEST/<target>/`): `<tag>/<name>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestArtifact {
    pub media_type: String,
    pub name: String,
    pub path: String,
    pub sha256: String,
    pub sha512: String,
    pub size: u64,
}

impl Manifest {
    /// The manifest's bytes: pretty JSON with 2-space indentation and a final newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("a manifest serialises");
        bytes.push(b'\n');
        bytes
    }
}

/// Size, SHA-256 and SHA-512 (lower-case hex) of everything `reader` yields.
pub fn digests(mut reader: impl Read) -> std::io::Result<(u64, String, String)> {
    let mut sha256 = Sha256::new();
    let mut sha512 = Sha512::new();
    let mut size = 0_u64;
    let mut buffer = vec![0_u8; 1 << 20];
    loop {
        match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => {
                sha256.update(&buffer[..n]);
                sha512.update(&buffer[..n]);
                size += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok((size, hex(&sha256.finalize()), hex(&sha512.finalize())))
}

/// [`digests`] of the file at `path`.
pub fn file_digests(path: &Path) -> std::io::Result<(u64, String, String)> {
    digests(std::fs::File::open(path)?)
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// The media type recorded for an artifact, from its name.
pub fn media_type(name: &str) -> &'static str {
    let extension = std::path::Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    match extension.as_str() {
        "gz" | "tgz" => "application/gzip",
        "zst" => "application/zstd",
        "tar" => "application/x-tar",
        "json" => "application/json",
        _ => "application/octet-stream",
    }
}

/// Whether `path` (from a manifest) is a safe relative path: `/`-separated names, none
/// empty, `.` or `..`.
pub fn is_safe_relative(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && path
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != ".." && !part.contains('\\'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_have_sorted_keys_and_a_final_newline() {
        let manifest = Manifest {
            artifacts: vec![ManifestArtifact {
                media_type: media_type("a.tar.gz").into(),
                name: "a.tar.gz".into(),
                path: "t-1.0.0.0/a.tar.gz".into(),
                sha256: "00".into(),
                sha512: "11".into(),
                size: 3,
            }],
            created: "1970-01-01T00:00:00Z".into(),
            revision: 0,
            schema_version: SCHEMA_VERSION,
            tag: "t-1.0.0.0".into(),
            target: "t".into(),
            version: "1.0.0".into(),
        };
        let text = String::from_utf8(manifest.to_bytes()).unwrap();
        assert!(text.ends_with("}\n"));
        assert!(text.starts_with("{\n  \"artifacts\": [\n    {\n      \"media_type\""));
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let keys: Vec<&String> = value.as_object().unwrap().keys().collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert_eq!(serde_json::from_str::<Manifest>(&text).unwrap(), manifest);
    }

    #[test]
    fn digests_of_known_input() {
        let (size, sha256, sha512) = digests(&b"abc"[..]).unwrap();
        assert_eq!(size, 3);
        assert_eq!(
            sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(sha512.starts_with("ddaf35a193617aba"));
    }

    #[test]
    fn relative_paths() {
        assert!(is_safe_relative("t-1.0.0.0/a.tar.gz"));
        for bad in ["", "/etc/passwd", "../x", "a/../b", "a//b", "a/./b"] {
            assert!(!is_safe_relative(bad), "{bad}");
        }
    }
}
