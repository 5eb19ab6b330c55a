//! `sbom` and `provenance`: what SUBJECT names, and the facts about it. Files and layers are
//! read by `boxwright-sbom`'s `gather`; this module adds what the project knows (targets,
//! versions, downloads and their digests, the source and revision) and what an image's
//! annotations say.
//!
//! SUBJECT is tried as, in order: a target of the project (`.out/<target>/`), an existing
//! path (an OCI layout directory; an oci-archive; a release archive `<tag>.tar.gz` whose tag
//! parses against metadata.json; any other tarball as a rootfs), then a registry reference
//! (pulled into a temporary layout).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use boxwright_metadata::{
    Project, ReleaseTag, Target, publishable_download_url, publishable_revision,
    publishable_source_url,
};
use boxwright_oci::PlatformSpec;
use boxwright_registry::{PullFormat, Reference};
use boxwright_sbom::gather::{self, ImageFacts};
use boxwright_sbom::{BaseInfo, DownloadInfo, PackageInfo, SourceInfo, Subject, SubjectKind, purl};

use crate::cli::{GlobalArgs, SubjectArgs};
use crate::context;
use crate::printer::Printer;

const VERSION: &str = "org.opencontainers.image.version";
const SOURCE: &str = "org.opencontainers.image.source";
const REVISION: &str = "org.opencontainers.image.revision";
const BASE_NAME: &str = "org.opencontainers.image.base.name";
const BASE_DIGEST: &str = "org.opencontainers.image.base.digest";
const TITLE: &str = "org.opencontainers.image.title";

/// A subject and the project it belongs to, when it belongs to one.
pub struct Gathered {
    pub subject: Subject,
    pub project: Option<Project>,
}

impl Gathered {
    /// `SOURCE_DATE_EPOCH`, else the project's last commit time, else 0.
    pub fn source_date_epoch(&self) -> anyhow::Result<u64> {
        match &self.project {
            Some(project) => context::source_date_epoch(&project.root),
            None => match std::env::var(boxwright_metadata::env_vars::SOURCE_DATE_EPOCH) {
                Ok(value) => value.trim().parse().with_context(|| {
                    format!("SOURCE_DATE_EPOCH must be a whole number of seconds, not {value:?}")
                }),
                Err(_) => Ok(0),
            },
        }
    }

    /// SHA-256 of metadata.json, when the subject was built from one of its targets.
    pub fn metadata_sha256(&self) -> anyhow::Result<Option<String>> {
        match (&self.project, &self.subject.target) {
            (Some(project), Some(_)) => Ok(Some(gather::file_sha256(&project.metadata.path)?)),
            _ => Ok(None),
        }
    }
}

/// Resolves SUBJECT and gathers its facts.
pub fn gather(
    global: &GlobalArgs,
    printer: &Printer,
    args: &SubjectArgs,
) -> anyhow::Result<Gathered> {
    // A project is optional (an image pulled from anywhere has none), unless named; one that
    // is there but does not load is an error.
    let project = match context::project(global) {
        Ok(project) => Some(project),
        Err(error)
            if global.project.is_none()
                && matches!(
                    error.downcast_ref(),
                    Some(boxwright_metadata::Error::NotFound { .. })
                ) =>
        {
            None
        }
        Err(error) => return Err(error),
    };
    if let Some(target) = &args.target {
        let Some(project) = &project else {
            bail!("--target {target} needs a project (run inside one, or pass --project DIR)");
        };
        context::target(project, target)?;
    }
    let mut subject = if let Some(project) = project
        .as_ref()
        .filter(|p| p.metadata.target(&args.subject).is_some())
    {
        target_output(project, &args.subject)?
    } else {
        let path = PathBuf::from(&args.subject);
        if path.exists() {
            from_path(project.as_ref(), args, &path)?
        } else {
            from_registry(project.as_ref(), printer, args)?
        }
    };
    subject.normalise();
    printer.detail(format!(
        "{} {} ({}): {} files, {} packages",
        subject.kind.as_str(),
        subject.name,
        subject.digest,
        subject.files.len(),
        subject.packages.len()
    ));
    Ok(Gathered { subject, project })
}

/// A target's output directory.
fn target_output(project: &Project, name: &str) -> anyhow::Result<Subject> {
    let target = context::target(project, name)?;
    let dir = project.output_dir(name);
    if !dir.is_dir() {
        bail!(
            "target `{name}` has no output in {}: build it first (`boxwright build {name}`)",
            dir.display()
        );
    }
    let files = gather::directory(&dir)?;
    let digest = boxwright_build::key::tree_digest(&dir)?;
    Ok(Subject {
        name: name.to_string(),
        kind: SubjectKind::TargetOutput,
        digest: format!("sha256:{digest}"),
        target: Some(name.to_string()),
        version: non_empty(target.version()),
        platform: tree_platform(&dir, &files),
        purl: None,
        files,
        packages: packages(project, name, None)?,
        base: None,
        source: project_source(project, target),
    })
}

fn from_path(
    project: Option<&Project>,
    args: &SubjectArgs,
    path: &Path,
) -> anyhow::Result<Subject> {
    let is_layout = path.is_dir() && path.join("oci-layout").is_file();
    if is_layout || (path.is_file() && gather::is_oci_archive(path)?) {
        let facts = gather::image(path, args.platform.as_deref())
            .with_context(|| format!("cannot read the image {}", path.display()))?;
        let fallback = file_stem(path);
        return image_subject(project, args, facts, &fallback, None);
    }
    if path.is_dir() {
        bail!(
            "{} is a directory but no OCI layout (no `oci-layout` file); for a target's output, \
             name the target",
            path.display()
        );
    }
    let digest = format!("sha256:{}", gather::file_sha256(path)?);
    let files = gather::tarball(path).with_context(|| format!("cannot read {}", path.display()))?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // `<tag>.tar.gz` of `release package`.
    let release = project.and_then(|p| {
        let tag = file_name.strip_suffix(".tar.gz")?;
        ReleaseTag::parse(&p.metadata, tag).ok()
    });
    if let (Some(project), Some(tag)) = (project, &release) {
        let target = context::target(project, &tag.target)?;
        return Ok(Subject {
            name: tag.tag.clone(),
            kind: SubjectKind::Archive,
            digest,
            target: Some(tag.target.clone()),
            version: Some(tag.version.clone()),
            platform: output_platform(project, &tag.target),
            purl: None,
            files,
            packages: packages(project, &tag.target, None)?,
            base: None,
            source: project_source(project, target),
        });
    }
    let (target, packages, source, version, platform) = match (project, &args.target) {
        (Some(project), Some(name)) => {
            let target = context::target(project, name)?;
            (
                Some(name.clone()),
                packages(project, name, None)?,
                project_source(project, target),
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
        base: None,
        source,
    })
}

fn from_registry(
    project: Option<&Project>,
    printer: &Printer,
    args: &SubjectArgs,
) -> anyhow::Result<Subject> {
    let reference: Reference = args.subject.parse().map_err(|e| {
        anyhow!(
            "`{}` is not a target of the project, a file or directory, or an image reference: {e}",
            args.subject
        )
    })?;
    let client = super::registry::client(&args.registry)?;
    let temp = tempfile::Builder::new()
        .prefix(".boxwright-sbom.")
        .tempdir()
        .context("cannot create a temporary directory")?;
    let layout = temp.path().join("layout");
    let report = super::registry::block_on(client.pull(
        &reference,
        &layout,
        PullFormat::Oci,
        args.platform.as_deref(),
        0,
    ))??;
    printer.info(format!(
        "pulled {} ({}): {} blobs, {} bytes",
        report.reference, report.digest, report.blobs, report.bytes
    ));
    let facts = gather::image(&layout, args.platform.as_deref())
        .with_context(|| format!("cannot read the image pulled from {reference}"))?;
    let fallback = reference
        .repository
        .rsplit('/')
        .next()
        .unwrap_or(&reference.repository)
        .to_string();
    image_subject(project, args, facts, &fallback, Some(&reference))
}

/// An image's facts with what its annotations and the project say about them.
fn image_subject(
    project: Option<&Project>,
    args: &SubjectArgs,
    facts: ImageFacts,
    fallback_name: &str,
    reference: Option<&Reference>,
) -> anyhow::Result<Subject> {
    let annotation = |key: &str| {
        facts
            .annotations
            .get(key)
            .filter(|v| !v.is_empty())
            .cloned()
    };
    let version = annotation(VERSION);
    let target_name = match (&args.target, project) {
        (Some(name), _) => Some(name.clone()),
        (None, Some(project)) => image_target(project, &facts, version.as_deref()),
        (None, None) => None,
    };
    let packages = match (&target_name, project) {
        (Some(name), Some(project)) => {
            let arch = facts.platform.parse::<PlatformSpec>().ok();
            let resolved = version
                .as_deref()
                .zip(arch.as_ref().map(|a| a.architecture.as_str()));
            packages(project, name, resolved)?
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
) -> anyhow::Result<Vec<PackageInfo>> {
    let lock_path = project
        .metadata
        .path
        .with_file_name(boxwright_fetch::LOCK_FILE);
    let lock = boxwright_fetch::LockFile::load(&lock_path)?;
    let mut packages = Vec::new();
    for member in project.metadata.build_order(&[name.to_string()]) {
        let mut target = context::target(project, &member)?.clone();
        if let (Some(_), Some((version, arch))) = (&target.upstream, resolved) {
            target = target
                .resolved(version, arch, &|n| std::env::var(n).ok())
                .with_context(|| format!("cannot resolve `{member}` for version {version}"))?;
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

/// The project's source URL and revision, cleaned (`context`).
fn project_source(project: &Project, target: &Target) -> Option<SourceInfo> {
    let source = SourceInfo {
        url: context::source_url(project, target).map(|s| s.url),
        revision: context::revision(project),
    };
    (source.url.is_some() || source.revision.is_some()).then_some(source)
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

fn tree_platform(dir: &Path, files: &[boxwright_sbom::FileEntry]) -> Option<String> {
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

/// The process environment as a map, for CI detection.
pub fn environment() -> BTreeMap<String, String> {
    std::env::vars().collect()
}
