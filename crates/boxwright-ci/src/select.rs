//! Which targets get which CI files, and the values taken from them, checked safe to write
//! into YAML and shell without quoting.

use boxwright_metadata::{Metadata, Target};

use crate::{Error, Result};

/// The runner of jobs that are not per architecture, when `image.runners.amd64` names none.
pub const DEFAULT_RUNNER: &str = "ubuntu-24.04";

/// The targets of a metadata file, by role, each list in name order.
pub struct Targets {
    /// Targets released from tags: no `upstream`, and `release_files` to pack (library
    /// targets with empty `release_files` are built only as dependencies).
    pub release: Vec<ReleaseTarget>,
    /// Targets with `upstream`: mirrored on a schedule.
    pub mirror: Vec<MirrorTarget>,
}

pub struct ReleaseTarget {
    pub name: String,
    pub tag_prefix: String,
    /// Its `release` object, when it has one: the signed manifest is published too.
    pub publish: Option<Publish>,
}

/// What the release job needs to publish a target's signed release.
pub struct Publish {
    /// `release.manifest_key_env`: the secret holding the manifest's signing key.
    pub key_env: Option<String>,
    /// Whether an artifact is the `release package` archive (made before publishing).
    pub archive: bool,
}

pub struct MirrorTarget {
    pub name: String,
    /// `upstream.max_versions`: the default of the MAX_VERSIONS input.
    pub max_versions: usize,
    /// `image.repository`, when it names one (else `<registry>/<target>`).
    pub repository: Option<String>,
    /// Runner of the plan, merge and attest jobs: `image.runners.amd64`, else the default.
    pub runner: String,
}

impl Targets {
    pub fn of(metadata: &Metadata) -> Result<Self> {
        let mut release = Vec::new();
        let mut mirror = Vec::new();
        for (name, target) in &metadata.targets {
            check_word(name, "name", name)?;
            if let Some(upstream) = &target.upstream {
                mirror.push(MirrorTarget {
                    name: name.clone(),
                    max_versions: upstream.max_versions,
                    repository: repository(name, target)?,
                    runner: runner(name, target)?,
                });
            } else if !target.release_files.is_empty() {
                let tag_prefix = target.tag_prefix(name).to_string();
                check_word(name, "tag_prefix", &tag_prefix)?;
                let publish = target.release.as_ref().map(|release| Publish {
                    key_env: release.manifest_key_env.clone(),
                    archive: release.artifacts.values().any(|source| source == "archive"),
                });
                if let Some(key_env) = publish.as_ref().and_then(|p| p.key_env.as_deref()) {
                    check_word(name, "release.manifest_key_env", key_env)?;
                }
                release.push(ReleaseTarget {
                    name: name.clone(),
                    tag_prefix,
                    publish,
                });
            }
        }
        Ok(Targets { release, mirror })
    }
}

impl ReleaseTarget {
    /// The other release targets' prefixes that start with this one's followed by `-`: their
    /// tags start with `<this prefix>-` too, and belong to them (the longest prefix wins).
    pub fn longer_prefixes<'a>(&self, all: &'a [ReleaseTarget]) -> Vec<&'a str> {
        let start = format!("{}-", self.tag_prefix);
        all.iter()
            .map(|other| other.tag_prefix.as_str())
            .filter(|prefix| prefix.starts_with(&start))
            .collect()
    }
}

fn repository(name: &str, target: &Target) -> Result<Option<String>> {
    let Some(repository) = target.image.as_ref().and_then(|i| i.repository.clone()) else {
        return Ok(None);
    };
    let valid = repository.contains('/')
        && repository.starts_with(|c: char| c.is_ascii_alphanumeric())
        && repository
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/:".contains(c));
    if valid {
        Ok(Some(repository))
    } else {
        Err(Error::UnsafeValue {
            target: name.to_string(),
            field: "image.repository",
            value: repository,
            expected: "HOST[:PORT]/PATH of letters, digits and . _ - / :",
        })
    }
}

fn runner(name: &str, target: &Target) -> Result<String> {
    match target.image.as_ref().and_then(|i| i.runners.get("amd64")) {
        Some(label) => {
            check_word(name, "image.runners.amd64", label)?;
            Ok(label.clone())
        }
        None => Ok(DEFAULT_RUNNER.to_string()),
    }
}

/// `[A-Za-z0-9][A-Za-z0-9._-]*`: safe as a YAML plain scalar, a shell word, a file name and
/// a tag pattern.
fn check_word(target: &str, field: &'static str, value: &str) -> Result<()> {
    let valid = value.starts_with(|c: char| c.is_ascii_alphanumeric())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if valid {
        Ok(())
    } else {
        Err(Error::UnsafeValue {
            target: target.to_string(),
            field,
            value: value.to_string(),
            expected: "letters, digits, `.`, `_` and `-`, starting with a letter or digit",
        })
    }
}
