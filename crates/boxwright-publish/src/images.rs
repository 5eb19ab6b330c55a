//! The release's images in their registries: resolved to digests when a manifest is made,
//! checked against the recorded digests when one is verified.

use boxwright_registry::{Client, Reference};
use boxwright_release::manifest::{Manifest, ManifestImage};

use crate::verify::Outcome;
use crate::{Error, PublishObserver};

/// The release's `images`, each resolved in its registry to the digest, media type and size
/// of the manifest or index it names now (a reference without tag or digest means
/// `version`), in reference order.
pub async fn resolve(
    client: &Client,
    images: &[String],
    version: &str,
    observer: &dyn PublishObserver,
) -> Result<Vec<ManifestImage>, Error> {
    let mut references = Vec::new();
    for image in images {
        let mut reference: Reference = image.parse().map_err(|source| Error::ImageReference {
            image: image.clone(),
            source,
        })?;
        if reference.tag.is_none() && reference.digest.is_none() {
            reference.tag = Some(version.to_string());
        }
        references.push(reference);
    }
    let mut resolved = Vec::new();
    for reference in references {
        observer.resolving(&reference.to_string());
        let inspected = client
            .inspect(&reference)
            .await
            .map_err(|source| Error::ResolveImage {
                reference: reference.to_string(),
                source: Box::new(source),
            })?;
        resolved.push(ManifestImage {
            digest: inspected.digest,
            media_type: inspected.media_type,
            reference: reference.to_string(),
            size: inspected.bytes.len() as u64,
        });
    }
    resolved.sort_by(|a, b| a.reference.cmp(&b.reference));
    Ok(resolved)
}

/// Each image `manifest` names is in its registry, pinned by the recorded digest (which the
/// client checks against the bytes it receives), with the recorded size.
pub async fn check(client: &Client, manifest: &Manifest) -> Result<Outcome<()>, Error> {
    for image in &manifest.images {
        let pinned = image.pinned();
        let reference: Reference = match pinned.parse() {
            Ok(reference) => reference,
            Err(source) => {
                return Ok(Outcome::Refused(Error::PinnedReference {
                    image: pinned,
                    source,
                }));
            }
        };
        match client.inspect(&reference).await {
            Ok(inspected) if inspected.bytes.len() as u64 != image.size => {
                return Ok(Outcome::Refused(Error::ImageSize {
                    image: pinned,
                    size: inspected.bytes.len() as u64,
                    expected: image.size,
                }));
            }
            Ok(_) => {}
            Err(
                source @ (boxwright_registry::Error::NotFound { .. }
                | boxwright_registry::Error::DigestMismatch { .. }),
            ) => {
                return Ok(Outcome::Refused(Error::Image {
                    image: pinned,
                    source: Box::new(source),
                }));
            }
            Err(source) => {
                return Err(Error::ImageCheck {
                    image: pinned,
                    source: Box::new(source),
                });
            }
        }
    }
    Ok(Outcome::Passed(()))
}
