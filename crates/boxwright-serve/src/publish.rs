//! From a staged upload to packages in the tree and a re-signed index.
//!
//! 1. [`check`] (blocking, before any lock): every file is inspected (full structural
//!    validation within the read limits: 413 past them), its architecture must fit the `arch` field, the field values must be safe
//!    path components, and all files must belong to one index. Any failure refuses the whole
//!    upload (400/422) and nothing changes.
//! 2. The server takes the index's lock (uploads to one index run one at a time).
//! 3. [`commit`] (blocking): a package already present with the same bytes is left as it is;
//!    one with the same name and other bytes refuses the upload (409) before anything moves.
//!    Files are renamed into place, then the index is rewritten and signed. If that fails,
//!    the files this upload added are removed again (the previous index was never replaced)
//!    and the answer is 500.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use axum::http::StatusCode;
use boxwright_package::repo::Repository;
use boxwright_package::{PackageInfo, ReadLimits, RepoError, arch_matches, inspect_with};
use serde::Serialize;

use crate::Error;
use crate::upload::{Refusal, Staged};

/// One package of an upload, checked.
#[derive(Debug)]
pub struct Checked {
    pub client_name: String,
    pub staged: PathBuf,
    pub info: PackageInfo,
    pub destination: PathBuf,
}

/// The checked upload and the index it touches.
#[derive(Debug)]
pub struct Plan {
    pub scope: String,
    pub packages: Vec<Checked>,
}

/// One package in the answer.
#[derive(Debug, Clone, Serialize)]
pub struct Published {
    pub name: String,
    pub version: String,
    pub arch: String,
    pub format: String,
    /// Path under the repository root, `/`-separated.
    pub path: String,
    /// False when the same file was already there.
    pub added: bool,
}

/// Step 1: validate every file; nothing is written.
/// Packages are read within `read_limits`.
pub fn check(
    repository: &Repository,
    staged: &Staged,
    read_limits: &ReadLimits,
) -> Result<Plan, Refusal> {
    let mut packages: Vec<Checked> = Vec::new();
    let mut scope: Option<String> = None;
    for file in &staged.files {
        let describe = |message: String| message.replace(&file.staged_display(), &file.name);
        let info = inspect_with(&file.path, read_limits).map_err(|e| {
            // A limit that refused the package is 413, an invalid package 422.
            let status = if e.is_limit() {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            Refusal::new(
                status,
                format!("{}: {}", file.name, describe(error_chain(&e))),
            )
        })?;
        if !arch_matches(&info, &staged.arch) {
            return Err(Refusal::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!(
                    "{}: package {} is for {}, the upload's arch is {}",
                    file.name, info.name, info.arch, staged.arch
                ),
            ));
        }
        let destination = repository
            .destination_for_arch(&info, &staged.version, &staged.repo, &staged.arch)
            .map_err(|e| {
                // Names of the apt tree are valid words, wrong for this package: 422.
                let status = if matches!(e, RepoError::ReservedName { .. }) {
                    StatusCode::UNPROCESSABLE_ENTITY
                } else {
                    StatusCode::BAD_REQUEST
                };
                Refusal::new(status, format!("{}: {}", file.name, error_chain(&e)))
            })?;
        let this_scope =
            repository.index_scope_for_arch(&info, &staged.version, &staged.repo, &staged.arch);
        match &scope {
            None => scope = Some(this_scope),
            Some(first) if *first != this_scope => {
                return Err(Refusal::new(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "the files of one upload must go to one index: {} goes to {this_scope}, others to {first}",
                        file.name
                    ),
                ));
            }
            Some(_) => {}
        }
        if let Some(twin) = packages.iter().find(|p| p.destination == destination)
            && twin.info.sha256 != info.sha256
        {
            return Err(Refusal::new(
                StatusCode::CONFLICT,
                format!(
                    "{} and {} are different files for the same package {} {}",
                    twin.client_name, file.name, info.name, info.version
                ),
            ));
        }
        packages.push(Checked {
            client_name: file.name.clone(),
            staged: file.path.clone(),
            info,
            destination,
        });
    }
    let scope = scope.ok_or_else(|| Refusal::new(StatusCode::BAD_REQUEST, "no files"))?;
    Ok(Plan { scope, packages })
}

/// Step 3, with the scope's lock held: move into place, reindex, undo on failure.
pub fn commit(
    repository: &Repository,
    root: &Path,
    staged: &Staged,
    plan: &Plan,
) -> Result<Vec<Published>, Refusal> {
    // Conflicts first, so a refusal leaves everything as it was.
    let mut present = Vec::with_capacity(plan.packages.len());
    for package in &plan.packages {
        let exists = match std::fs::symlink_metadata(&package.destination) {
            Ok(_) => {
                if !same_contents(&package.destination, &package.info.sha256) {
                    return Err(Refusal::new(
                        StatusCode::CONFLICT,
                        format!(
                            "{}: {} is already in the repository with other contents",
                            package.client_name,
                            relative(root, &package.destination)
                        ),
                    ));
                }
                true
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => return Err(internal(&Error::io("look up", &package.destination, e))),
        };
        present.push(exists);
    }
    let mut added: Vec<&Path> = Vec::new();
    let mut published = Vec::new();
    let undo = |added: &[&Path]| {
        for path in added {
            let _ = std::fs::remove_file(path);
        }
    };
    for (package, exists) in plan.packages.iter().zip(&present) {
        if !exists && !added.contains(&package.destination.as_path()) {
            if let Err(e) = place(&package.staged, &package.destination) {
                undo(&added);
                return Err(internal(&e));
            }
            added.push(&package.destination);
        }
        published.push(Published {
            name: package.info.name.clone(),
            version: package.info.version.clone(),
            arch: package.info.arch.clone(),
            format: package.info.format.to_string(),
            path: relative(root, &package.destination),
            added: !exists,
        });
    }
    // The index write finds these by digest instead of reading them again.
    for package in &plan.packages {
        repository.remember(&package.info);
    }
    let first = &plan.packages[0].info;
    if let Err(e) = repository.reindex_for_arch(first, &staged.version, &staged.repo, &staged.arch)
    {
        undo(&added);
        return Err(Refusal::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!(
                "indexing {} failed, the upload was rolled back: {}",
                plan.scope,
                error_chain(&e)
            ),
        ));
    }
    Ok(published)
}

/// Renames `staged` to `destination` (parents created), never replacing a file.
fn place(staged: &Path, destination: &Path) -> Result<(), Error> {
    if let Some(parent) = destination.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| Error::io("create the directory", parent, e))?;
    }
    // A hard link fails when the destination exists; the staged name is removed with the
    // staging directory.
    std::fs::hard_link(staged, destination)
        .map_err(|e| Error::io("link the staged package to", destination, e))?;
    if let Some(parent) = destination.parent()
        && let Ok(dir) = std::fs::File::open(parent)
    {
        let _ = dir.sync_all();
    }
    Ok(())
}

fn same_contents(path: &Path, sha256_hex: &str) -> bool {
    use sha2::Digest as _;
    let Ok(mut file) = std::fs::File::open(path) else {
        return false;
    };
    let mut hasher = sha2::Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buffer[..n]),
            Err(_) => return false,
        }
    }
    let digest = hasher.finalize();
    let mut hex = String::with_capacity(64);
    for byte in digest {
        use std::fmt::Write as _;
        let _ = write!(hex, "{byte:02x}");
    }
    hex == sha256_hex
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

fn internal(error: &Error) -> Refusal {
    Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, error_chain(error))
}

/// An error and its causes on one line.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
