//! Descriptors and platform names, as the OCI image and distribution specs have them: what
//! the client, pull, push and summary sides share (each imports this, none imports another
//! for it).

use serde::Serialize;
use serde_json::Value;

/// Media types a manifest GET or HEAD accepts.
pub(crate) const MANIFEST_TYPES: [&str; 4] = [
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];

/// Media types of an image index (OCI and Docker).
pub(crate) const INDEX_TYPES: [&str; 2] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];

/// The annotation `pull` puts on the `index.json` entry of what it saved: `host/repository`
/// it came from. A push of that layout to the same registry mounts the blobs from there.
pub const PULLED_FROM_ANNOTATION: &str = "io.boxwright.pulled-from";

/// A content descriptor (OCI image spec, "Descriptors"): an index's manifest or a
/// manifest's layer, with the platform of an index entry.
#[derive(Debug, Clone, Serialize)]
pub struct Descriptor {
    pub digest: String,
    pub media_type: String,
    pub size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
}

impl Descriptor {
    /// The descriptor of a JSON descriptor object (missing fields empty).
    pub fn of(descriptor: &Value) -> Descriptor {
        let platform = descriptor.get("platform").map(platform_name);
        Descriptor {
            digest: descriptor["digest"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            media_type: descriptor["mediaType"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            size: descriptor["size"].as_u64().unwrap_or_default(),
            platform,
        }
    }
}

/// `os/architecture[/variant]` of a platform object (index entry or config).
pub(crate) fn platform_name(platform: &Value) -> String {
    let mut name = format!(
        "{}/{}",
        platform["os"].as_str().unwrap_or_default(),
        platform["architecture"].as_str().unwrap_or_default()
    );
    if let Some(variant) = platform["variant"].as_str().filter(|v| !v.is_empty()) {
        name = format!("{name}/{variant}");
    }
    name
}

/// Whether the entry's platform is the `os/arch[/variant]` asked for (no variant asked: any).
pub(crate) fn platform_matches(platform: &serde_json::Value, wanted: &str) -> bool {
    let name = platform_name(platform);
    name == wanted || (wanted.matches('/').count() == 1 && name.starts_with(&format!("{wanted}/")))
}
