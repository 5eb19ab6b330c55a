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
    /// Images the release publishes, by digest, in reference order (absent when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<ManifestImage>,
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

/// One published image: the manifest or index a reference resolved to when the release
/// manifest was made. Consumers pull `<reference's repository>@<digest>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestImage {
    /// `sha256:<hex>` of the image manifest or index.
    pub digest: String,
    /// Its media type (an OCI or Docker manifest or index).
    pub media_type: String,
    /// `HOST/PATH:TAG` as resolved.
    pub reference: String,
    /// Size in bytes of the manifest or index.
    pub size: u64,
}

impl ManifestImage {
    /// `HOST/PATH@sha256:...`: the reference pinned to the recorded digest.
    pub fn pinned(&self) -> String {
        let repository = match self.reference.rsplit_once(':') {
            Some((repository, tag)) if !tag.contains('/') => repository,
            _ => &self.reference,
        };
        format!("{repository}@{}", self.digest)
    }
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
    Ok((
        size,
        hex::encode(sha256.finalize()),
        hex::encode(sha512.finalize()),
    ))
}

/// [`digests`] of the file at `path`.
pub fn file_digests(path: &Path) -> std::io::Result<(u64, String, String)> {
    digests(std::fs::File::open(path)?)
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
            images: Vec::new(),
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
    fn images_are_left_out_when_none_and_pinned_by_digest() {
        let image = ManifestImage {
            digest: "sha256:ab".into(),
            media_type: "application/vnd.oci.image.index.v1+json".into(),
            reference: "127.0.0.1:5000/ns/distro:1.0".into(),
            size: 10,
        };
        assert_eq!(image.pinned(), "127.0.0.1:5000/ns/distro@sha256:ab");
        let untagged = ManifestImage {
            reference: "127.0.0.1:5000/ns/distro".into(),
            ..image.clone()
        };
        assert_eq!(untagged.pinned(), "127.0.0.1:5000/ns/distro@sha256:ab");
        let mut manifest: Manifest = serde_json::from_str(
            r#"{"artifacts": [], "created": "1970-01-01T00:00:00Z", "revision": 0,
                "schema_version": 1, "tag": "t-1.0", "target": "t", "version": "1.0"}"#,
        )
        .unwrap();
        assert!(
            !String::from_utf8(manifest.to_bytes())
                .unwrap()
                .contains("images")
        );
        manifest.images.push(image);
        let text = String::from_utf8(manifest.to_bytes()).unwrap();
        assert!(text.find("\"created\"").unwrap() < text.find("\"images\"").unwrap());
        assert!(text.find("\"images\"").unwrap() < text.find("\"revision\"").unwrap());
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
