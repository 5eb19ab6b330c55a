//! Installation without a package manager: verified package files → an image tree with
//! the distribution's own package database, as dpkg or apk would leave it.
//!
//! [`install`] unpacks each package (modes, owners, hard and symbolic links kept; contents
//! staged on disk by SHA-256), merges them (a path shipped twice with different content is
//! refused unless the later package `Replaces` the earlier), and adds what a package manager
//! would have written: the database (`var/lib/dpkg/...` or `lib/apk/db/...`), `/etc/os-release`
//! when no package ships it, and the effects of maintainer scripts that are done
//! declaratively (the CA bundle, `update-alternatives` links, `ln -s`). Scripts are never run;
//! a script line that does anything else is returned as a [`Warning`].
//! [`Installed::layers`] makes `boxwright-oci` layers of the result, [`Installed::write_to`]
//! writes it out as a directory. The same inputs give the same tree and the same bytes.

mod alternatives;
mod apkdb;
mod certs;
mod dpkg;
mod merge;
mod os_release;
mod output;
mod scripts;
mod tree;
mod unpack;

use std::path::Path;

use boxwright_package::ReadLimits;

pub use os_release::OsRelease;
pub use output::Layering;
pub use scripts::Warning;
pub use tree::{Node, Staged, TreeEntry};

use crate::{Candidate, Error, Kind};

/// One resolved package: what the index says and its verified file (`.deb` or `.apk`).
#[derive(Debug, Clone, Copy)]
pub struct Package<'a> {
    pub candidate: &'a Candidate,
    pub file: &'a Path,
}

/// What apk's configuration in the image says (ignored for Debian packages).
#[derive(Debug, Clone, Default)]
pub struct ApkSetup {
    /// `etc/apk/arch` (`x86_64`).
    pub arch: String,
    /// `etc/apk/world`: what was asked for (`name` or `name=version`), written sorted.
    pub world: Vec<String>,
    /// `etc/apk/repositories`, one URL each (`https://host/v3.20/main`).
    pub repositories: Vec<String>,
    /// `etc/apk/keys/<name>`: the trusted public keys (PEM) by file name.
    pub keys: Vec<(String, Vec<u8>)>,
}

/// The caller's side of an installation.
#[derive(Debug, Clone)]
pub struct Options<'a> {
    /// Where file contents are kept (created when missing; may be shared between runs).
    pub staging: &'a Path,
    /// `/etc/os-release` when no package ships one.
    pub os_release: OsRelease,
    pub apk: ApkSetup,
    /// Bounds of each package read.
    pub limits: ReadLimits,
}

/// What one package contributes to the tree.
#[derive(Debug, Clone)]
pub struct Part {
    /// The package name (`<name>:<arch>` not used: names are unique in one set).
    pub name: String,
    pub version: String,
    pub arch: String,
    /// Its entries, in the package's archive order.
    pub entries: Vec<TreeEntry>,
}

/// An install tree.
#[derive(Debug, Clone)]
pub struct Installed {
    pub kind: Kind,
    /// One part per package, sorted by name.
    pub packages: Vec<Part>,
    /// The database, os-release and script effects, applied over the packages.
    pub generated: Vec<TreeEntry>,
    /// Script lines not done here, per package.
    pub warnings: Vec<Warning>,
}

/// Installs `packages` (one kind; any order: the tree is made in name order).
pub fn install(packages: &[Package<'_>], options: &Options<'_>) -> Result<Installed, Error> {
    let kind = one_kind(packages)?;
    let store = tree::Store::open(options.staging)?;
    let mut sorted = packages.to_vec();
    sorted.sort_by(|a, b| {
        (&a.candidate.name, &a.candidate.arch).cmp(&(&b.candidate.name, &b.candidate.arch))
    });
    let mut unpacked = Vec::new();
    for package in &sorted {
        let label = format!("{} {}", package.candidate.name, package.candidate.version);
        unpacked.push(unpack::unpack(
            &label,
            package.file,
            &store,
            &options.limits,
        )?);
    }
    let units: Vec<merge::Unit<'_>> = sorted
        .iter()
        .zip(&unpacked)
        .map(|(package, unpacked)| merge::Unit {
            candidate: package.candidate,
            unpacked,
        })
        .collect();
    let merged = merge::merge(&units)?;
    let mut generated = Generated::default();
    let warnings = scripts::apply(kind, &units, &merged, &mut generated);
    certs::apply(&merged, &store, &mut generated)?;
    alternatives::apply(
        kind,
        &generated.alternatives.clone(),
        &merged,
        &store,
        &mut generated,
    )?;
    os_release::apply(&options.os_release, &merged, &store, &mut generated)?;
    match kind {
        Kind::Deb => dpkg::database(&units, &store, &mut generated)?,
        Kind::Apk => apkdb::database(&units, &options.apk, &store, &mut generated)?,
    }
    let packages = units
        .iter()
        .map(|unit| Part {
            name: unit.candidate.name.clone(),
            version: unit.candidate.version.clone(),
            arch: unit.candidate.arch.clone(),
            entries: unit.unpacked.entries.clone(),
        })
        .collect();
    Ok(Installed {
        kind,
        packages,
        generated: generated.entries,
        warnings,
    })
}

fn one_kind(packages: &[Package<'_>]) -> Result<Kind, Error> {
    let deb = packages.iter().find(|p| p.candidate.kind == Kind::Deb);
    let apk = packages.iter().find(|p| p.candidate.kind == Kind::Apk);
    match (deb, apk) {
        (Some(deb), Some(apk)) => Err(Error::MixedKinds {
            deb: deb.candidate.name.clone(),
            apk: apk.candidate.name.clone(),
        }),
        (None, Some(_)) => Ok(Kind::Apk),
        _ => Ok(Kind::Deb),
    }
}

/// What installation adds over the packages' own files.
#[derive(Debug, Clone, Default)]
pub(crate) struct Generated {
    pub entries: Vec<TreeEntry>,
    /// `update-alternatives --install` calls found in scripts, in package order.
    pub alternatives: Vec<alternatives::Alternative>,
}

impl Generated {
    /// Adds (or replaces) the entry at its path.
    pub fn set(&mut self, entry: TreeEntry) {
        self.entries.retain(|e| e.path != entry.path);
        self.entries.push(entry);
    }

    /// A root-owned regular file with `bytes`.
    pub fn file(
        &mut self,
        store: &tree::Store,
        path: &str,
        mode: u32,
        bytes: &[u8],
    ) -> Result<(), Error> {
        let staged = store.put_bytes(bytes)?;
        self.set(TreeEntry::root(path, Node::File(staged), mode));
        Ok(())
    }

    /// A root-owned directory (0755).
    pub fn dir(&mut self, path: &str) {
        self.set(TreeEntry::root(path, Node::Directory, 0o755));
    }

    /// A root-owned symbolic link.
    pub fn symlink(&mut self, path: &str, target: &str) {
        self.set(TreeEntry::root(
            path,
            Node::Symlink(target.to_string()),
            0o777,
        ));
    }

    /// Whether a generated entry is at `path`.
    pub fn has(&self, path: &str) -> bool {
        self.entries.iter().any(|e| e.path == path)
    }
}

#[cfg(test)]
mod tests;
