//! A release's signed `manifest.json`: planned from metadata.json and the tag, its artifacts
//! located (rootfs tarballs built by the caller), digested, and signed.

use std::path::{Path, PathBuf};

use boxwright_metadata::{Project, ReleaseTag, SignatureFormat};
use boxwright_release::manifest::{self, Manifest, ManifestArtifact, ManifestImage};
use boxwright_sign::minisign::MinisignSecretKey;
use boxwright_sign::{SigningKey, Zeroizing};

use crate::object::{Content, Object, write_file};
use crate::{Error, HostError};

/// The manifest's file name.
pub const MANIFEST: &str = "manifest.json";
/// Its signature's file name.
pub const SIGNATURE: &str = "manifest.json.sig";

/// Where an artifact comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArtifactSource {
    /// The release archive of `release package` (`.out/release/<tag>.tar.gz`).
    Archive(PathBuf),
    /// The target image's flat rootfs tarball, built by the caller at this path.
    Rootfs(PathBuf),
    /// A file of the project.
    File(PathBuf),
}

/// One artifact to publish: its name (the release's template with `{TAG}` filled in) and
/// where its bytes are.
#[derive(Debug, Clone)]
pub struct PlannedArtifact {
    pub name: String,
    pub source: ArtifactSource,
}

/// What a release tag publishes, from the target's `release` object.
#[derive(Debug, Clone)]
pub struct Plan {
    pub tag: String,
    pub release: ReleaseTag,
    /// In name order.
    pub artifacts: Vec<PlannedArtifact>,
    /// Image references as written (a reference without tag or digest means the version).
    pub images: Vec<String>,
    pub signature: SignatureFormat,
    /// The environment variable holding the signing key, when the release names one.
    pub manifest_key_env: Option<String>,
}

/// A signing key's text, its name for messages, and the password of an encrypted key.
pub struct ManifestKey {
    pub name: String,
    pub text: Zeroizing<String>,
    pub password: Option<Zeroizing<Vec<u8>>>,
}

/// The located artifacts of a plan: name → file.
#[derive(Debug, Clone)]
pub struct ArtifactFiles(Vec<(ManifestArtifact, PathBuf)>);

/// A release ready to write: the manifest, its bytes and signature, and each artifact's file.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub manifest: Manifest,
    pub bytes: Vec<u8>,
    pub signature: Option<Vec<u8>>,
    /// Artifact name → the file it is copied from, in name order.
    pub sources: Vec<(String, PathBuf)>,
}

impl Plan {
    /// The plan of `release` (parsed from `tag`) in `project`.
    pub fn new(project: &Project, tag: &str, release: ReleaseTag) -> Result<Plan, Error> {
        let target = project
            .metadata
            .target(&release.target)
            .expect("a parsed tag names a target");
        let Some(config) = &target.release else {
            return Err(Error::NoRelease {
                target: release.target.clone(),
            });
        };
        if config.artifacts.is_empty() && config.images.is_empty() {
            return Err(Error::NothingToRelease {
                target: release.target.clone(),
            });
        }
        let artifacts = config
            .artifacts
            .iter()
            .map(|(template, source)| {
                let name = template.replace("{TAG}", tag);
                let source = match source.as_str() {
                    "archive" => {
                        ArtifactSource::Archive(project.release_dir().join(format!("{tag}.tar.gz")))
                    }
                    "rootfs" => ArtifactSource::Rootfs(
                        project
                            .root
                            .join(".cache")
                            .join(&release.target)
                            .join("release")
                            .join(&name),
                    ),
                    file => ArtifactSource::File(
                        project
                            .root
                            .join(file.strip_prefix("file:").unwrap_or(file)),
                    ),
                };
                PlannedArtifact { name, source }
            })
            .collect();
        Ok(Plan {
            tag: tag.to_string(),
            artifacts,
            images: config.images.clone(),
            signature: config.signature,
            manifest_key_env: config.manifest_key_env.clone(),
            release,
        })
    }

    /// Each artifact's file, in the plan's order: rootfs tarballs built by `rootfs` (target,
    /// artifact name, output path) as they come, every file checked and digested.
    pub fn files(
        &self,
        rootfs: &mut dyn FnMut(&str, &str, &Path) -> Result<(), HostError>,
    ) -> Result<ArtifactFiles, Error> {
        let mut files = Vec::new();
        for artifact in &self.artifacts {
            let name = &artifact.name;
            let (path, hint) = match &artifact.source {
                ArtifactSource::Archive(path) => (
                    path,
                    format!(" (run `boxwright release package {}` first)", self.tag),
                ),
                ArtifactSource::Rootfs(path) => {
                    self.build_rootfs(name, path, rootfs)?;
                    (path, String::new())
                }
                ArtifactSource::File(path) => (path, String::new()),
            };
            if !path.is_file() {
                return Err(Error::ArtifactMissing {
                    name: name.clone(),
                    path: path.clone(),
                    hint,
                });
            }
            let (size, sha256, sha512) =
                manifest::file_digests(path).map_err(|source| Error::Read {
                    path: path.clone(),
                    source,
                })?;
            let entry = ManifestArtifact {
                media_type: manifest::media_type(name).to_string(),
                path: format!("{}/{name}", self.tag),
                name: name.clone(),
                sha256,
                sha512,
                size,
            };
            files.push((entry, path.clone()));
        }
        Ok(ArtifactFiles(files))
    }

    fn build_rootfs(
        &self,
        name: &str,
        path: &Path,
        rootfs: &mut dyn FnMut(&str, &str, &Path) -> Result<(), HostError>,
    ) -> Result<(), Error> {
        let dir = path.parent().expect("below .cache/<target>/release");
        std::fs::create_dir_all(dir).map_err(|source| Error::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
        rootfs(&self.release.target, name, path).map_err(|source| Error::Rootfs {
            name: name.to_string(),
            target: self.release.target.clone(),
            source,
        })
    }

    /// The manifest of the located `files` and resolved `images`, created at `epoch`, signed
    /// with `key` when given.
    pub fn assemble(
        &self,
        files: ArtifactFiles,
        images: Vec<ManifestImage>,
        epoch: u64,
        key: Option<&ManifestKey>,
    ) -> Result<Prepared, Error> {
        let mut files = files.0;
        files.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        let mut sources: Vec<(String, PathBuf)> = files
            .iter()
            .map(|(artifact, path)| (artifact.name.clone(), path.clone()))
            .collect();
        sources.sort();
        let manifest = Manifest {
            artifacts: files.into_iter().map(|(artifact, _)| artifact).collect(),
            created: boxwright_oci::image::rfc3339(epoch),
            images,
            revision: self.release.revision,
            schema_version: manifest::SCHEMA_VERSION,
            tag: self.tag.clone(),
            target: self.release.target.clone(),
            version: self.release.version.clone(),
        };
        let bytes = manifest.to_bytes();
        let signature = key
            .map(|key| sign(&bytes, key, self.signature, epoch))
            .transpose()?;
        Ok(Prepared {
            manifest,
            bytes,
            signature,
            sources,
        })
    }
}

/// The signature of `bytes` by `key` in `format`: minisign's text (trusted comment with the
/// time and file name) or cosign's base64.
pub fn sign(
    bytes: &[u8],
    key: &ManifestKey,
    format: SignatureFormat,
    epoch: u64,
) -> Result<Vec<u8>, Error> {
    let password = key.password.as_deref().map(Vec::as_slice);
    let failed = |source| Error::Sign {
        key: key.name.clone(),
        source,
    };
    Ok(match format {
        SignatureFormat::Minisign => {
            let secret = match MinisignSecretKey::from_text_with_password(&key.text, password) {
                Ok(secret) => secret,
                Err(boxwright_sign::Error::PasswordRequired) => {
                    return Err(Error::MinisignPasswordRequired {
                        key: key.name.clone(),
                    });
                }
                Err(boxwright_sign::Error::WrongPassword) => {
                    return Err(Error::MinisignWrongPassword {
                        key: key.name.clone(),
                    });
                }
                Err(error) => return Err(failed(error)),
            };
            secret
                .sign(bytes, &format!("timestamp:{epoch}\tfile:{MANIFEST}"))
                .to_text()
                .into_bytes()
        }
        SignatureFormat::Cosign => SigningKey::from_pem(&key.text, password)
            .map_err(failed)?
            .sign(bytes)
            .to_base64()
            .into_bytes(),
    })
}

impl Prepared {
    /// The objects of `release manifest`: the artifacts under `<tag>/`, the manifest and its
    /// signature at the top.
    pub fn manifest_objects(&self) -> Vec<Object<'_>> {
        let mut objects = self.artifact_objects();
        self.push_manifest("", false, &mut objects);
        objects
    }

    /// The objects of `release publish` in publication order: artifacts, the versioned
    /// manifest and signature, then (with `stable`) the stable manifest and signature.
    pub fn publish_objects(&self, stable: bool) -> Vec<Object<'_>> {
        let mut objects = self.artifact_objects();
        self.push_manifest(&format!("{}/", self.manifest.tag), false, &mut objects);
        if stable {
            self.push_manifest("", true, &mut objects);
        }
        objects
    }

    /// Writes the objects of `release manifest` below `dir`.
    pub fn write_to(&self, dir: &Path) -> Result<(), Error> {
        for object in self.manifest_objects() {
            write_file(&dir.join(&object.relative), &object.content)?;
        }
        Ok(())
    }

    fn artifact_objects(&self) -> Vec<Object<'_>> {
        self.sources
            .iter()
            .map(|(name, path)| Object {
                relative: format!("{}/{name}", self.manifest.tag),
                content: Content::File(path),
                stable: false,
            })
            .collect()
    }

    fn push_manifest<'a>(&'a self, dir: &str, stable: bool, objects: &mut Vec<Object<'a>>) {
        objects.push(Object {
            relative: format!("{dir}{MANIFEST}"),
            content: Content::Bytes(&self.bytes),
            stable,
        });
        if let Some(signature) = &self.signature {
            objects.push(Object {
                relative: format!("{dir}{SIGNATURE}"),
                content: Content::Bytes(signature),
                stable,
            });
        }
    }
}
