//! Assembly of an image from packages: the lock (made when missing, unless `--locked`),
//! its installation per architecture, then accounts and s6 services over the installed
//! tree, as layers under the target's own files.

use boxwright_distro::install::{Installed, Layering as InstallLayering, Node as InstallNode};
use boxwright_fetch::{ImageLock, ImageLockStatus, LOCK_FILE, LockFile};
use boxwright_metadata::{Image, ImagePackages, Layering, Project};
use boxwright_oci::{LayerEntry, LayerSpec, Owner};
use boxwright_platform::Arch;

use crate::generated::{GeneratedEntry, GeneratedKind};
use crate::packages::{self, FetchSettings};
use crate::tree::{Node, NodeKind, TreeIndex, wanted_contents};
use crate::{Error, Host, Request};

/// What the packages add to one platform: layers below the target's own, and settings.
pub(crate) struct PackageImage {
    pub layers: Vec<LayerSpec>,
    /// Accounts and service files, for the top layer (under the target's own files).
    pub generated: Vec<GeneratedEntry>,
    pub entrypoint: Option<Vec<String>>,
    pub user: Option<String>,
}

/// The target's image lock: the recorded one when it matches `install` and the
/// architectures, else (unless `locked`) a new resolution, recorded in metadata.lock.json.
pub(crate) fn current_lock(
    project: &Project,
    name: &str,
    packages: &ImagePackages,
    request: &Request<'_>,
    host: &dyn Host,
) -> Result<ImageLock, Error> {
    let path = project.root.join(LOCK_FILE);
    let file = LockFile::load(&path).map_err(|source| Error::Lock {
        path,
        source: Box::new(source),
    })?;
    let kind = packages::kind_of(packages);
    let arches: Vec<String> = packages::architectures(packages)?
        .into_iter()
        .map(|arch| packages::arch_name(kind, arch).to_string())
        .collect();
    let stale = match file.image_status(name, &packages.install, &arches) {
        ImageLockStatus::Current(lock) => return Ok(lock.clone()),
        ImageLockStatus::Missing => "metadata.lock.json has no lock of its packages".to_string(),
        ImageLockStatus::InstallChanged { locked, wanted } => {
            format!("its lock was made for install {locked:?}, metadata.json now says {wanted:?}")
        }
        ImageLockStatus::ArchitectureMissing { arch } => {
            format!("its lock has no architecture {arch}")
        }
    };
    if request.locked {
        return Err(Error::StaleLock {
            target: name.to_string(),
            reason: stale,
        });
    }
    let lock = packages::lock(project, name, packages, &settings(request, host))?;
    packages::record(project, name, lock.clone())?;
    Ok(lock)
}

fn settings<'a>(request: &'a Request<'_>, host: &'a dyn Host) -> FetchSettings<'a> {
    FetchSettings::new(request.offline, &request.runtime, host.download_progress())
}

/// What installing a target's packages for one platform works from.
pub(crate) struct Assembly<'a> {
    pub project: &'a Project,
    pub name: &'a str,
    pub image: &'a Image,
    pub packages: &'a ImagePackages,
    pub lock: &'a ImageLock,
    pub request: &'a Request<'a>,
    pub host: &'a dyn Host,
}

impl Assembly<'_> {
    /// Installs the lock for `arch` and adds accounts and services.
    pub(crate) fn platform(&self, arch: Arch) -> Result<PackageImage, Error> {
        platform(self, arch)
    }
}

fn platform(assembly: &Assembly<'_>, arch: Arch) -> Result<PackageImage, Error> {
    let Assembly {
        project,
        name,
        image,
        packages,
        lock,
        request,
        host,
    } = *assembly;
    let kind = packages::kind_of(packages);
    let installed = packages::install(
        project,
        name,
        packages,
        lock,
        packages::arch_name(kind, arch),
        &settings(request, host),
    )?;
    for warning in &installed.warnings {
        host.note(&format!("{name}: {warning}"));
    }
    let tree = tree_of(&installed)?;
    let mut generated = Vec::new();
    let mut user = None;
    if let Some(accounts) = &image.accounts {
        let files = crate::accounts(accounts, &tree)?;
        generated.extend(files.entries);
        user = files.user;
    }
    let mut entrypoint = None;
    if !image.services.is_empty() {
        let run_as = image.accounts.as_ref().and_then(|a| a.run_as_user());
        let files = crate::services(&image.services, run_as, &tree)?;
        generated.extend(files.entries);
        entrypoint = Some(files.entrypoint);
    }
    let layering = match packages.layering {
        Layering::Single => InstallLayering::Single,
        Layering::PerPackage => InstallLayering::PerPackage,
    };
    let layers = installed.layers(layering).map_err(|source| Error::Distro {
        target: name.to_string(),
        context: "making layers of the installed packages".into(),
        source: Box::new(source),
    })?;
    Ok(PackageImage {
        layers,
        generated,
        entrypoint,
        user,
    })
}

/// The installed tree as the account and service code reads it.
fn tree_of(installed: &Installed) -> Result<TreeIndex, Error> {
    let mut tree = TreeIndex::new();
    for (_, entry) in installed.flattened() {
        let kind = match &entry.node {
            InstallNode::Directory => NodeKind::Directory,
            InstallNode::File(staged) => {
                if wanted_contents(&entry.path) {
                    let bytes = std::fs::read(&staged.blob).map_err(Error::io(&staged.blob))?;
                    tree.set_contents(&entry.path, bytes);
                }
                NodeKind::File
            }
            InstallNode::Symlink(target) => NodeKind::Symlink(target.clone()),
            InstallNode::HardLink(target) => NodeKind::HardLink(target.clone()),
        };
        tree.insert(
            &entry.path,
            Node {
                kind,
                mode: entry.owner.mode,
                uid: entry.owner.uid,
                gid: entry.owner.gid,
            },
        );
    }
    Ok(tree)
}

/// Adds generated entries (exact modes and owners) to `spec`.
pub(crate) fn add_generated(spec: &mut LayerSpec, entries: &[GeneratedEntry]) -> Result<(), Error> {
    for entry in entries {
        let owner = Owner {
            mode: entry.mode,
            uid: entry.uid,
            gid: entry.gid,
        };
        let layer_entry = match &entry.kind {
            GeneratedKind::Directory => LayerEntry::DirectoryAs(owner),
            GeneratedKind::File(bytes) => LayerEntry::BytesAs(bytes.clone(), owner),
        };
        spec.insert(&entry.path, layer_entry)?;
    }
    Ok(())
}
