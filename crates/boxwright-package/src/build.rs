//! A target's packages: the main package and its subpackages from one output tree, in
//! either format.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use boxwright_sign::rsa::RsaSigningKey;
use serde::Serialize;

use crate::error::PackageError;
use crate::info::{PackageFormat, format_arch};
use crate::spec::{Entry, PackageSpec, split_tree};

/// One package file written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Built {
    pub path: PathBuf,
    pub format: PackageFormat,
    pub name: String,
    /// Full version (`1.2.3-r0`, `1.2.3-0`).
    pub version: String,
    /// As written in the package.
    pub arch: String,
    /// SHA-256 of the file, hex.
    pub sha256: String,
}

/// How apk packages are signed: the RSA key and the public key file name clients trust.
pub struct ApkSigner<'a> {
    pub key: &'a RsaSigningKey,
    pub key_name: &'a str,
}

/// Writes the main package described by `main` (its `entries` are ignored) and one
/// `<name>-<suffix>` package per subpackage that matches any file, from the output `tree`
/// installed under `prefix`, into `out_dir`. Conffiles and scripts stay with the package
/// holding the files; subpackages get the main package's fields but no dependencies.
pub fn build_all(
    main: &PackageSpec,
    tree: &Path,
    prefix: &str,
    subpackages: &BTreeMap<String, Vec<String>>,
    format: PackageFormat,
    signer: Option<&ApkSigner<'_>>,
    out_dir: &Path,
) -> Result<Vec<Built>, PackageError> {
    let (main_entries, split) = split_tree(tree, prefix, subpackages)?;
    let mut specs = Vec::new();
    let mut main_spec = main.clone();
    main_spec.entries = main_entries;
    main_spec.origin.clone_from(&main.name);
    let mut conffiles = main.conffiles.clone();
    main_spec.conffiles = take_conffiles(&mut conffiles, &main_spec.entries);
    let summary = main.description.lines().next().unwrap_or(&main.name);
    let mut subs = Vec::new();
    for (suffix, entries) in split {
        if entries.is_empty() {
            continue;
        }
        let mut spec = main.clone();
        spec.name = format!("{}-{suffix}", main.name);
        spec.description = format!(
            "{summary} ({suffix})\nThe {suffix} files of the {} package.",
            main.name
        );
        spec.depends = Vec::new();
        spec.provides = Vec::new();
        spec.scripts = BTreeMap::new();
        spec.conffiles = take_conffiles(&mut conffiles, &entries);
        spec.origin.clone_from(&main.name);
        spec.entries = entries;
        subs.push(spec);
    }
    if let Some(missing) = conffiles.first() {
        return Err(PackageError::InvalidField {
            field: "conffile",
            value: missing.clone(),
            reason: "no such regular file in the package (conffiles name installed paths)".into(),
        });
    }
    specs.push(main_spec);
    specs.extend(subs);
    let mut built = Vec::new();
    for spec in &specs {
        let path = match format {
            PackageFormat::Apk => {
                let signer = signer.ok_or_else(|| PackageError::InvalidField {
                    field: "signing key",
                    value: String::new(),
                    reason: "apk packages must be signed: give an RSA key".into(),
                })?;
                crate::apk::write(spec, signer.key, signer.key_name, out_dir)?
            }
            PackageFormat::Deb => crate::deb::write(spec, out_dir)?,
        };
        let version = match format {
            PackageFormat::Apk => format!("{}-r{}", spec.version, spec.revision),
            PackageFormat::Deb => format!("{}-{}", spec.version, spec.revision),
        };
        built.push(Built {
            sha256: sha256_file(&path)?,
            path,
            format,
            name: spec.name.clone(),
            version,
            arch: format_arch(format, &spec.arch),
        });
    }
    Ok(built)
}

/// The conffiles (absolute paths) that are regular files among `entries`, removed from `all`.
fn take_conffiles(all: &mut Vec<String>, entries: &[Entry]) -> Vec<String> {
    let (mine, rest): (Vec<String>, Vec<String>) = all.drain(..).partition(|c| {
        entries.iter().any(|e| {
            e.path == c.trim_start_matches('/')
                && matches!(
                    e.kind,
                    crate::EntryKind::File { .. } | crate::EntryKind::Content { .. }
                )
        })
    });
    *all = rest;
    mine
}

fn sha256_file(path: &Path) -> Result<String, PackageError> {
    use sha2::Digest as _;
    let mut file = std::fs::File::open(path).map_err(|e| PackageError::io("read", path, e))?;
    let mut hasher = sha2::Sha256::new();
    crate::stream::digest_reader(&mut file, |chunk| hasher.update(chunk))
        .map_err(|e| PackageError::io("read", path, e))?;
    Ok(hex::encode(hasher.finalize()))
}
