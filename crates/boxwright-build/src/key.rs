//! What decides whether a target must be rebuilt: a key over every input of its build, kept
//! with a digest of the published output in `.cache/<target>/build-<arch>.json`.
//!
//! The inputs are the contents of the target's directory (recipe, patches, crate sources),
//! every download, the recipe's environment (without the variables that only name paths of
//! this machine, so a moved project stays built), the architecture, the verify policy, the
//! compilers' versions and the keys of the build dependencies, so a rebuilt dependency
//! rebuilds what depends on it. File contents are hashed, not their times: a checkout that
//! only touched files rebuilds nothing.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{BuildPlan, Error};

/// Recipe variables that say how, not what, to build (the core count): left out of the key.
const LOCAL_VARIABLES: &[&str] = &["JOBS"];

/// The key of a build and the parts it was made of (shown when a rebuild is explained).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputKey {
    pub key: String,
    pub parts: BTreeMap<String, String>,
}

/// What `.cache/<target>/build-<arch>.json` holds after a successful build.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BuildRecord {
    pub key: String,
    pub parts: BTreeMap<String, String>,
    pub output_dir: PathBuf,
    /// [`tree_digest`] of the output as published.
    pub output_digest: String,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + use<> {
    let path = path.to_path_buf();
    move |source| Error::Io { path, source }
}

/// Computes the key of `plan` given the keys of its dependencies (by target name).
pub fn input_key(
    plan: &BuildPlan,
    dependencies: &BTreeMap<String, String>,
) -> Result<InputKey, Error> {
    let mut parts = BTreeMap::new();
    parts.insert("boxwright".into(), env!("CARGO_PKG_VERSION").to_string());
    parts.insert("arch".into(), plan.arch.name().to_string());
    parts.insert("target-dir".into(), tree_digest(&plan.target_dir)?);
    for source in &plan.sources {
        let name = source
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        parts.insert(format!("download:{name}"), file_digest(source)?);
    }
    // Paths inside the project are keyed relative to it, so a moved project stays built.
    let project = plan
        .target_dir
        .parent()
        .unwrap_or(&plan.target_dir)
        .display()
        .to_string();
    let env: BTreeMap<&String, String> = plan
        .env
        .iter()
        .filter(|(k, _)| !LOCAL_VARIABLES.contains(&k.as_str()))
        .map(|(k, v)| (k, v.replace(&project, "<project>")))
        .collect();
    parts.insert(
        "env".into(),
        hex::encode(Sha256::digest(
            serde_json::to_vec(&env).expect("strings serialise"),
        )),
    );
    parts.insert(
        "verify".into(),
        format!("{:?} {:?}", plan.policy, plan.smoke),
    );
    parts.insert("toolchain".into(), crate::toolchain::identity(plan.arch));
    for (name, key) in dependencies {
        parts.insert(format!("depends:{name}"), key.clone());
    }
    let key = hex::encode(Sha256::digest(
        serde_json::to_vec(&parts).expect("strings serialise"),
    ));
    Ok(InputKey { key, parts })
}

/// The record of the last successful build, if it is readable.
pub fn read_record(path: &Path) -> Option<BuildRecord> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// Writes the record through a temporary file and a rename.
pub fn write_record(path: &Path, record: &BuildRecord) -> Result<(), Error> {
    let temporary = path.with_extension("json.tmp");
    std::fs::write(
        &temporary,
        serde_json::to_vec_pretty(record).expect("serialisable"),
    )
    .map_err(io(&temporary))?;
    std::fs::rename(&temporary, path).map_err(io(path))
}

/// Whether the output recorded for `key` is still there as it was published. Only contents
/// count: a project moved with its outputs stays built.
pub fn up_to_date(
    record: Option<&BuildRecord>,
    key: &InputKey,
    output_dir: &Path,
) -> Result<bool, Error> {
    let Some(record) = record else {
        return Ok(false);
    };
    if record.key != key.key || !output_dir.is_dir() {
        return Ok(false);
    }
    Ok(tree_digest(output_dir)? == record.output_digest)
}

/// Names the parts that differ between the recorded build and this one.
pub fn changes(record: Option<&BuildRecord>, key: &InputKey) -> Vec<String> {
    let Some(record) = record else {
        return vec!["never built".into()];
    };
    let mut changed: Vec<String> = key
        .parts
        .iter()
        .filter(|(name, value)| record.parts.get(*name) != Some(value))
        .map(|(name, _)| name.clone())
        .collect();
    changed.extend(
        record
            .parts
            .keys()
            .filter(|name| !key.parts.contains_key(*name))
            .cloned(),
    );
    if changed.is_empty() {
        changed.push("output changed or moved".into());
    }
    changed
}

/// SHA-256 of a file's contents, hex.
pub fn file_digest(path: &Path) -> Result<String, Error> {
    let mut file = std::fs::File::open(path).map_err(io(path))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let count = file.read(&mut buffer).map_err(io(path))?;
        if count == 0 {
            break;
        }
        hasher.update(&buffer[..count]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// A digest of a directory tree: every entry's relative path, kind, permission bits and
/// contents (or link target), in name order. Missing directories digest as empty.
pub fn tree_digest(root: &Path) -> Result<String, Error> {
    use std::os::unix::fs::PermissionsExt;
    let mut hasher = Sha256::new();
    if !root.exists() {
        return Ok(hex::encode(hasher.finalize()));
    }
    for entry in walkdir::WalkDir::new(root).sort_by_file_name() {
        let entry = entry.map_err(|e| Error::Io {
            path: root.to_path_buf(),
            source: std::io::Error::from(e),
        })?;
        let relative = entry.path().strip_prefix(root).expect("below root");
        let kind = entry.file_type();
        let line = if kind.is_symlink() {
            let link = std::fs::read_link(entry.path()).map_err(io(entry.path()))?;
            format!("l {} {}", relative.display(), link.display())
        } else if kind.is_dir() {
            format!("d {}", relative.display())
        } else {
            let mode = entry
                .metadata()
                .map_err(|e| Error::Io {
                    path: entry.path().to_path_buf(),
                    source: std::io::Error::from(e),
                })?
                .permissions()
                .mode()
                & 0o7777;
            format!(
                "f {} {mode:o} {}",
                relative.display(),
                file_digest(entry.path())?
            )
        };
        hasher.update(line.as_bytes());
        hasher.update(b"\0");
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_digest_sees_contents_modes_and_links_not_times() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("bin")).unwrap();
        std::fs::write(dir.path().join("bin/x"), b"one").unwrap();
        let first = tree_digest(dir.path()).unwrap();
        let file = std::fs::File::options()
            .write(true)
            .open(dir.path().join("bin/x"))
            .unwrap();
        file.set_modified(std::time::SystemTime::UNIX_EPOCH)
            .unwrap();
        assert_eq!(
            tree_digest(dir.path()).unwrap(),
            first,
            "a new mtime is no change"
        );
        std::fs::write(dir.path().join("bin/x"), b"two").unwrap();
        let second = tree_digest(dir.path()).unwrap();
        assert_ne!(second, first);
        std::fs::set_permissions(
            dir.path().join("bin/x"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        assert_ne!(tree_digest(dir.path()).unwrap(), second);
        std::os::unix::fs::symlink("x", dir.path().join("bin/y")).unwrap();
        let third = tree_digest(dir.path()).unwrap();
        std::fs::remove_file(dir.path().join("bin/y")).unwrap();
        std::os::unix::fs::symlink("z", dir.path().join("bin/y")).unwrap();
        assert_ne!(tree_digest(dir.path()).unwrap(), third);
    }

    #[test]
    fn changes_name_the_parts() {
        let mut parts = BTreeMap::new();
        parts.insert("env".to_string(), "a".to_string());
        parts.insert("depends:zlib".to_string(), "k1".to_string());
        let record = BuildRecord {
            key: "old".into(),
            parts: parts.clone(),
            output_dir: PathBuf::from("/o"),
            output_digest: String::new(),
        };
        parts.insert("depends:zlib".to_string(), "k2".to_string());
        let key = InputKey {
            key: "new".into(),
            parts,
        };
        assert_eq!(changes(Some(&record), &key), ["depends:zlib"]);
        assert_eq!(changes(None, &key), ["never built"]);
    }
}
