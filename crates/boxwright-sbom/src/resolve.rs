//! SUBJECT (the grammar of `boxwright-registry`'s [`Subject`](RegistrySubject)) resolved and
//! gathered: files and layers are read by [`gather`](crate::gather); this module adds what
//! the project knows (targets, versions, downloads and their digests, the source and
//! revision) and what an image's annotations say.
//!
//! Side effects that are not reading files (git and CI variables for the source, the process
//! environment, pulling from a registry) go through [`Host`], which the caller implements.

use std::path::Path;

use boxwright_metadata::{
    Project, ReleaseTag, Target, publishable_download_url, publishable_revision,
    publishable_source_url,
};
use boxwright_oci::PlatformSpec;
use boxwright_registry::{Reference, Subject as RegistrySubject};

use crate::gather::{self, ImageFacts};
use crate::{
    BaseInfo, DownloadInfo, Error, FileEntry, PackageInfo, SourceInfo, Subject, SubjectKind, purl,
};

const VERSION: &str = "org.opencontainers.image.version";
const SOURCE: &str = "org.opencontainers.image.source";
const REVISION: &str = "org.opencontainers.image.revision";
const BASE_NAME: &str = "org.opencontainers.image.base.name";
const BASE_DIGEST: &str = "org.opencontainers.image.base.digest";
const TITLE: &str = "org.opencontainers.image.title";

/// A boxed error from the caller's side of [`Host`].
pub type HostError = Box<dyn std::error::Error + Send + Sync>;

/// What gathering needs from its caller.
pub trait Host {
    /// The publishable source URL and revision of `target` (git, CI variables), cleaned.
    fn source(&self, project: &Project, target: &Target) -> Option<SourceInfo>;
    /// An environment variable, for the templates of mirror targets.
    fn var(&self, name: &str) -> Option<String>;
    /// Pulls `reference` into the OCI layout `layout` (only `platform`, when given).
    fn pull(
        &self,
        reference: &Reference,
        layout: &Path,
        platform: Option<&str>,
    ) -> Result<(), HostError>;
    /// Where the reading of large images and tarballs is reported.
    fn read_progress(&self) -> &dyn boxwright_archive::progress::Progress {
        &boxwright_archive::progress::NoProgress
    }
}

/// What to gather.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub subject: &'a RegistrySubject,
    /// The project, when there is one.
    pub project: Option<&'a Project>,
    /// The target the subject was built from, when the subject does not say.
    pub target: Option<&'a str>,
    /// The platform of a multi-platform image.
    pub platform: Option<&'a str>,
}

/// Resolves the request's subject and gathers its facts (normalised).
pub fn gather_subject(request: &Request<'_>, host: &dyn Host) -> Result<Subject, Error> {
    if let Some(target) = request.target {
        let Some(project) = request.project else {
            return Err(Error::NoProject {
                target: target.to_string(),
            });
        };
        target_of(project, target)?;
    }
    let mut subject = match request.subject {
        RegistrySubject::Target(name) => {
            let project = request.project.ok_or_else(|| Error::NoProject {
                target: name.clone(),
            })?;
            target_output(project, name, host)?
        }
        RegistrySubject::Path(path) => from_path(request, host, path)?,
        RegistrySubject::Layout { dir, tag } => from_image(request, host, dir, Some(tag))?,
        RegistrySubject::OciArchive { file, tag } => {
            from_image(request, host, file, tag.as_deref())?
        }
        RegistrySubject::DockerArchive(_) => {
            return Err(Error::Unsupported {
                subject: request.subject.to_string(),
                kind: request.subject.kind(),
            });
        }
        RegistrySubject::Reference(reference) => from_registry(request, host, reference)?,
    };
    subject.normalise();
    Ok(subject)
}

/// SHA-256 of metadata.json, when `subject` was built from one of the project's targets.
pub fn metadata_sha256(
    project: Option<&Project>,
    subject: &Subject,
) -> Result<Option<String>, Error> {
    match (project, &subject.target) {
        (Some(project), Some(_)) => Ok(Some(gather::file_sha256(&project.metadata.path)?)),
        _ => Ok(None),
    }
}

/// The target called `name`; an error listing the known ones when there is none.
fn target_of<'a>(project: &'a Project, name: &str) -> Result<&'a Target, Error> {
    project
        .metadata
        .require_target(name)
        .map_err(Error::UnknownTarget)
}

/// A target's output directory.
fn target_output(project: &Project, name: &str, host: &dyn Host) -> Result<Subject, Error> {
    let target = target_of(project, name)?;
    let dir = project.output_dir(name);
    if !dir.is_dir() {
        return Err(Error::NoOutput {
            target: name.to_string(),
            dir,
        });
    }
    let files = gather::directory(&dir)?;
    let installed = gather::directory_installed(&dir, &files)?;
    let digest = boxwright_build::key::tree_digest(&dir).map_err(|source| Error::Tree {
        dir: dir.clone(),
        source: Box::new(source),
    })?;
    Ok(Subject {
        name: name.to_string(),
        kind: SubjectKind::TargetOutput,
        digest: format!("sha256:{digest}"),
        target: Some(name.to_string()),
        version: non_empty(target.version()),
        platform: tree_platform(&dir, &files),
        purl: None,
        files,
        packages: packages(project, name, None, host)?,
        installed,
        base: None,
        source: host.source(project, target),
    })
}

/// An existing path: an OCI layout or oci-archive, a release archive, a rootfs tarball.
fn from_path(request: &Request<'_>, host: &dyn Host, path: &Path) -> Result<Subject, Error> {
    let is_layout = path.is_dir() && path.join("oci-layout").is_file();
    if is_layout || (path.is_file() && gather::is_oci_archive(path)?) {
        return from_image(request, host, path, None);
    }
    if path.is_dir() {
        return Err(Error::NotALayout {
            path: path.to_path_buf(),
        });
    }
    let digest = format!("sha256:{}", gather::file_sha256(path)?);
    let files = gather::tarball(path, host.read_progress())?;
    let installed = gather::tarball_installed(path, &files)?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let project = request.project;
    // `<tag>.tar.gz` of `release package`.
    let release = project.and_then(|p| {
        let tag = file_name.strip_suffix(".tar.gz")?;
        ReleaseTag::parse(&p.metadata, tag).ok()
    });
    if let (Some(project), Some(tag)) = (project, &release) {
        let target = target_of(project, &tag.target)?;
        return Ok(Subject {
            name: tag.tag.clone(),
            kind: SubjectKind::Archive,
            digest,
            target: Some(tag.target.clone()),
            version: Some(tag.version.clone()),
            platform: output_platform(project, &tag.target),
            purl: None,
            files,
            packages: packages(project, &tag.target, None, host)?,
            installed,
            base: None,
            source: host.source(project, target),
        });
    }
    let (target, packages, source, version, platform) = match (project, request.target) {
        (Some(project), Some(name)) => {
            let target = target_of(project, name)?;
            (
                Some(name.to_string()),
                packages(project, name, None, host)?,
                host.source(project, target),
                non_empty(target.version()),
                output_platform(project, name),
            )
        }
        _ => (None, Vec::new(), None, None, None),
    };
    Ok(Subject {
        name: file_stem(path),
        kind: SubjectKind::Rootfs,
        digest,
        target,
        version,
        platform,
        purl: None,
        files,
        packages,
        installed,
        base: None,
        source,
    })
}

/// The image named `tag` (or the only one) of a layout or oci-archive.
fn from_image(
    request: &Request<'_>,
    host: &dyn Host,
    path: &Path,
    tag: Option<&str>,
) -> Result<Subject, Error> {
    let facts = gather::image_named(path, tag, request.platform, host.read_progress()).map_err(
        |source| Error::ReadImage {
            what: path.display().to_string(),
            source: Box::new(source),
        },
    )?;
    image_subject(request, host, facts, &file_stem(path), None)
}

/// An image pulled from a registry into a temporary layout.
fn from_registry(
    request: &Request<'_>,
    host: &dyn Host,
    reference: &Reference,
) -> Result<Subject, Error> {
    let temp = tempfile::Builder::new()
        .prefix(".boxwright-sbom.")
        .tempdir()
        .map_err(Error::io(&std::env::temp_dir()))?;
    let layout = temp.path().join("layout");
    host.pull(reference, &layout, request.platform)
        .map_err(|source| Error::Pull {
            reference: reference.to_string(),
            source,
        })?;
    let facts =
        gather::image(&layout, request.platform, host.read_progress()).map_err(|source| {
            Error::ReadImage {
                what: format!("the image pulled from {reference}"),
                source: Box::new(source),
            }
        })?;
    let fallback = reference
        .repository
        .rsplit('/')
        .next()
        .unwrap_or(&reference.repository)
        .to_string();
    image_subject(request, host, facts, &fallback, Some(reference))
}

/// An image's facts with what its annotations and the project say about them.
fn image_subject(
    request: &Request<'_>,
    host: &dyn Host,
    facts: ImageFacts,
    fallback_name: &str,
    reference: Option<&Reference>,
) -> Result<Subject, Error> {
    let project = request.project;
    let annotation = |key: &str| {
        facts
            .annotations
            .get(key)
            .filter(|v| !v.is_empty())
            .cloned()
    };
    let version = annotation(VERSION);
    let target_name = match (request.target, project) {
        (Some(name), _) => Some(name.to_string()),
        (None, Some(project)) => image_target(project, &facts, version.as_deref()),
        (None, None) => None,
    };
    let packages = match (&target_name, project) {
        (Some(name), Some(project)) => {
            let arch = facts.platform.parse::<PlatformSpec>().ok();
            let resolved = version
                .as_deref()
                .zip(arch.as_ref().map(|a| a.architecture.as_str()));
            packages(project, name, resolved, host)?
        }
        // An image from elsewhere: one package from what its annotations say.
        _ => version
            .as_ref()
            .map(|v| {
                let name = facts
                    .labels
                    .get(TITLE)
                    .cloned()
                    .unwrap_or_else(|| fallback_name.to_string());
                vec![PackageInfo {
                    purl: Some(purl::generic(&name, Some(v), None, None)),
                    name,
                    version: Some(v.clone()),
                    library: false,
                    downloads: Vec::new(),
                    depends: Vec::new(),
                }]
            })
            .unwrap_or_default(),
    };
    let name = target_name
        .clone()
        .unwrap_or_else(|| fallback_name.to_string());
    let base = match (annotation(BASE_NAME), annotation(BASE_DIGEST)) {
        (Some(name), Some(digest)) => Some(BaseInfo {
            purl: Some(base_purl(&name, &digest)),
            name,
            digest,
        }),
        _ => None,
    };
    // Annotations of foreign images are cleaned like ours.
    let source = SourceInfo {
        url: annotation(SOURCE).and_then(|u| publishable_source_url(&u)),
        revision: annotation(REVISION).and_then(|r| publishable_revision(&r)),
    };
    let repository_url = reference.map(Reference::name);
    Ok(Subject {
        purl: Some(purl::oci(
            &name,
            &facts.manifest_digest,
            repository_url.as_deref(),
        )),
        name,
        kind: SubjectKind::OciImage,
        digest: facts.manifest_digest,
        target: target_name,
        version,
        platform: Some(facts.platform),
        files: facts.files,
        packages,
        installed: facts.installed,
        base,
        source: (source.url.is_some() || source.revision.is_some()).then_some(source),
    })
}

/// The project's target an image was built from: its `ref.name` (`T` or `T:tag`), its title
/// label, else the only target with an `image` whose version is the image's.
fn image_target(project: &Project, facts: &ImageFacts, version: Option<&str>) -> Option<String> {
    let known = |name: &str| project.metadata.target(name).is_some();
    if let Some(name) = facts
        .ref_name
        .as_deref()
        .map(|r| r.split(':').next().unwrap_or(r))
        .filter(|n| known(n))
    {
        return Some(name.to_string());
    }
    if let Some(title) = facts.labels.get(TITLE).filter(|t| known(t)) {
        return Some(title.clone());
    }
    let version = version?;
    let mut matching = project
        .metadata
        .targets
        .iter()
        .filter(|(_, t)| t.image.is_some() && t.upstream.is_none() && t.version() == version);
    match (matching.next(), matching.next()) {
        (Some((name, _)), None) => Some(name.clone()),
        _ => None,
    }
}

/// The target `name` and everything it is built against, with their downloads. `resolved`
/// is the version and OCI architecture of a mirror target's image.
fn packages(
    project: &Project,
    name: &str,
    resolved: Option<(&str, &str)>,
    host: &dyn Host,
) -> Result<Vec<PackageInfo>, Error> {
    let lock_path = project
        .metadata
        .path
        .with_file_name(boxwright_fetch::LOCK_FILE);
    let lock = boxwright_fetch::LockFile::load(&lock_path).map_err(Box::new)?;
    let mut packages = Vec::new();
    for member in project.metadata.build_order(&[name.to_string()]) {
        let mut target = target_of(project, &member)?.clone();
        if let (Some(_), Some((version, arch))) = (&target.upstream, resolved) {
            target = target
                .resolved(version, arch, &|n| host.var(n))
                .map_err(|source| Error::Resolve {
                    target: member.clone(),
                    version: version.to_string(),
                    source: Box::new(source),
                })?;
        }
        let mut downloads = Vec::new();
        for download in &target.downloads {
            let cached = project.download_dir().join(download.file_name());
            let sha256 = match (&download.sha256, lock.get(&member, &download.url)) {
                (Some(sha256), _) => Some(sha256.clone()),
                (None, Some(locked)) => Some(locked.to_string()),
                (None, None) if cached.is_file() => Some(gather::file_sha256(&cached)?),
                (None, None) => None,
            };
            downloads.push(DownloadInfo {
                name: download.file_name().to_string(),
                url: publishable_download_url(&download.url),
                sha256,
                sha512: download.sha512.clone(),
            });
        }
        let version = non_empty(target.version());
        let purl = target
            .upstream
            .as_ref()
            .and_then(|u| u.github.as_deref())
            .and_then(|repository| purl::github(repository, version.as_deref()))
            .unwrap_or_else(|| {
                let first = downloads.first();
                purl::generic(
                    &member,
                    version.as_deref(),
                    first.and_then(|d| d.sha256.as_deref()),
                    first.and_then(|d| d.url.as_deref()),
                )
            });
        packages.push(PackageInfo {
            library: target.release_files.is_empty()
                && target.image.is_none()
                && target.upstream.is_none(),
            name: member,
            version,
            purl: Some(purl),
            downloads,
            depends: target.build_depends.clone(),
        });
    }
    Ok(packages)
}

/// `pkg:oci/…` of a base: with its repository when it is a registry reference.
fn base_purl(name: &str, digest: &str) -> String {
    match name.parse::<Reference>() {
        Ok(reference) if !Path::new(name).exists() => {
            let image = reference
                .repository
                .rsplit('/')
                .next()
                .unwrap_or(&reference.repository)
                .to_string();
            purl::oci(&image, digest, Some(&reference.name()))
        }
        _ => purl::oci(&file_stem(Path::new(name)), digest, None),
    }
}

/// The platform of the first executable or shared object in the project's output of `name`.
fn output_platform(project: &Project, name: &str) -> Option<String> {
    let dir = project.output_dir(name);
    let files = gather::directory(&dir).ok()?;
    tree_platform(&dir, &files)
}

fn tree_platform(dir: &Path, files: &[FileEntry]) -> Option<String> {
    files.iter().find_map(|file| {
        let report = boxwright_elf::inspect(&dir.join(&file.path)).ok()?;
        let elf = report
            .elf
            .filter(|e| e.file_type != boxwright_elf::FileType::Rel)?;
        PlatformSpec::for_machine(&elf.machine).map(|p| p.to_string())
    })
}

/// A file's name without `.tar`, `.tar.gz`, `.tgz`, `.tar.zst` (a layout directory's name).
fn file_stem(path: &Path) -> String {
    let name = path
        .file_name()
        .map_or_else(|| "subject".into(), |n| n.to_string_lossy().into_owned());
    for suffix in [".tar.gz", ".tar.zst", ".tgz", ".tar", ".oci"] {
        if let Some(stem) = name.strip_suffix(suffix)
            && !stem.is_empty()
        {
            return stem.to_string();
        }
    }
    name
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_string())
}
