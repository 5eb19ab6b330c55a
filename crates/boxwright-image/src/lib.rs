//! A target's image from metadata.json: the new layer (downloads from `image.layers`, the
//! rootfs overlay, files of the output directory, inline contents), one per platform over its
//! base (a path in the project or a registry reference cached under `.cache/bases/`), the
//! container settings and annotations; written by `boxwright-oci` in the asked format.
//!
//! What only the caller knows (the source URL and revision, the creation time) comes in the
//! [`Request`]; the registry client and notes go through [`Host`]. Nothing is printed.

pub mod accounts;
pub mod check;
mod error;
mod from_packages;
pub mod generated;
pub mod image_tree;
mod layers;
pub mod packages;
pub mod services;
pub mod tree;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use boxwright_elf::{FileKind, FileType};
use boxwright_metadata::{Image, Project, Target};
use boxwright_oci::base::BaseImage;
use boxwright_oci::{
    Compression, ContainerSettings, Format, ImageInput, LayerEntry, LayerSpec, PlatformInput,
    PlatformSpec, Written,
};
use boxwright_registry::{BaseCache, Client, Reference};

pub use accounts::{AccountFiles, accounts};
pub use check::{ServiceProblem, ServiceReport, check_services};
pub use error::{Error, HostError};
pub use generated::{GeneratedEntry, GeneratedKind};
pub use image_tree::{ImageTree, image_tree};
pub use services::{ServiceFiles, services};
pub use tree::{Node, NodeKind, ResolveError, TreeIndex};

/// One image to write.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub target: &'a str,
    pub format: Format,
    pub output: &'a Path,
    /// The ref name (and docker-archive tag); the target's version when `None`.
    pub tag: Option<&'a str>,
    pub compression: Compression,
    /// `os/arch[/variant]`; the target's `image.platforms` when empty, else the host's.
    pub platforms: &'a [String],
    /// Registry bases and packages only from the cache.
    pub offline: bool,
    /// An image from packages installs its recorded lock, and fails when the lock is missing
    /// or no longer matches `image.packages` (else a new resolution is recorded).
    pub locked: bool,
    /// Seconds since the epoch: the image's creation time.
    pub created: u64,
    /// The publishable source URL and revision (cleaned by the caller).
    pub source_url: Option<String>,
    pub revision: Option<String>,
    /// The runtime registry pulls run on (the caller's; this crate builds none).
    pub runtime: tokio::runtime::Handle,
}

/// What assembly needs from its caller.
pub trait Host {
    /// A registry client, asked for only when a base comes from a registry.
    fn client(&self) -> Result<Client, HostError>;
    /// A registry base was pulled into the cache (`resolved` is its digest).
    fn pulled_base(&self, written: &str, resolved: &str, platform: &str);
    /// Something the user should know (a package script line that was not carried out).
    fn note(&self, _message: &str) {}
    /// Where download progress goes.
    fn download_progress(&self) -> &dyn boxwright_fetch::Progress {
        &boxwright_fetch::NoProgress
    }
    /// Where the compression of new layers reports its bytes.
    fn layer_progress(&self) -> std::sync::Arc<dyn boxwright_fetch::Progress> {
        std::sync::Arc::new(boxwright_fetch::NoProgress)
    }
}

/// Assembles and writes the image of `request.target` in `project` (which may hold a target
/// resolved for one version).
pub fn build(project: &Project, request: &Request<'_>, host: &dyn Host) -> Result<Written, Error> {
    let name = request.target;
    let target = project
        .metadata
        .require_target(name)
        .map_err(Error::UnknownTarget)?;
    let image = target.image.clone().ok_or_else(|| Error::NoImage {
        target: name.to_string(),
        metadata: project.metadata.path.clone(),
    })?;
    // A docker-archive carries plain tar layers, as `docker save` writes them.
    let compression = if request.format == Format::DockerArchive {
        Compression::None
    } else {
        request.compression
    };
    // A target without a version (an image made from packages) is tagged `latest`.
    let tag = match (request.tag, target.version()) {
        (Some(tag), _) => tag.to_string(),
        (None, "") => "latest".to_string(),
        (None, version) => version.to_string(),
    };
    let lock = match &image.packages {
        Some(packages) => Some(from_packages::current_lock(
            project, name, packages, request, host,
        )?),
        None => None,
    };
    let requested = requested_platforms(request, &image)?;
    let mut entrypoint = None;
    let mut user = None;
    let mut bases = Bases {
        project,
        offline: request.offline,
        locked: request.locked,
        host,
        client: None,
        runtime: &request.runtime,
    };
    let mut platforms = Vec::new();
    if requested.is_empty() {
        let host_dir = project.output_dir(name);
        let layer = layer_spec(project, name, &image, &host_dir, LayerSpec::default())?;
        let platform = detect_platform(&layer)?;
        platforms.push(platform_input(&mut bases, &image, platform, layer)?);
    } else {
        for wanted in requested {
            let platform: PlatformSpec = wanted
                .parse()
                .map_err(|message| Error::Platform { message })?;
            let dir = output_dir_for(project, name, &platform);
            let (Some(packages), Some(lock)) = (&image.packages, &lock) else {
                let layer = layer_spec(project, name, &image, &dir, LayerSpec::default())?;
                check_machines(&layer, &platform)?;
                platforms.push(platform_input(&mut bases, &image, platform, layer)?);
                continue;
            };
            let assembly = from_packages::Assembly {
                project,
                name,
                image: &image,
                packages,
                lock,
                request,
                host,
            };
            let (input, made) = package_platform(&assembly, &mut bases, platform, &dir)?;
            platforms.push(input);
            entrypoint = entrypoint.or(made.entrypoint);
            user = user.or(made.user);
        }
    }
    let mut container = settings(request, target, &image);
    // Services give the entrypoint and accounts the user, unless the target sets its own.
    if container.entrypoint.is_empty() {
        container.entrypoint = entrypoint.unwrap_or_default();
    }
    container.user = container.user.or(user);
    let input = ImageInput {
        platforms,
        settings: container,
        annotations: annotations(request, target, &image),
        created: request.created,
        ref_name: tag.clone(),
        compression,
        threads: std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
        progress: host.layer_progress(),
    };
    boxwright_oci::write(
        &input,
        request.format,
        request.output,
        &format!("{name}:{tag}"),
    )
    .map_err(|source| Error::Write {
        path: request.output.to_path_buf(),
        source,
    })
}

/// The manifest annotations: version, created, source and revision, then the target's own.
fn annotations(request: &Request<'_>, target: &Target, image: &Image) -> BTreeMap<String, String> {
    let mut annotations = standard_annotations(request, target);
    annotations.insert(
        "org.opencontainers.image.created".into(),
        boxwright_oci::image::rfc3339(request.created),
    );
    annotations.extend(image.annotations.clone());
    annotations
}

/// `org.opencontainers.image.{version,source,revision}`: manifest annotations, and config labels
/// unless the target sets its own (registries link a package to its repository by the label).
fn standard_annotations(request: &Request<'_>, target: &Target) -> BTreeMap<String, String> {
    let mut fields = BTreeMap::new();
    fields.insert(
        "org.opencontainers.image.version".to_string(),
        target.version().to_string(),
    );
    if let Some(source) = &request.source_url {
        fields.insert("org.opencontainers.image.source".into(), source.clone());
    }
    if let Some(revision) = &request.revision {
        fields.insert("org.opencontainers.image.revision".into(), revision.clone());
    }
    fields
}

/// `.out/<target>/` holds this machine's build; other architectures' builds are in
/// `.out/<target>@<arch>/` (where `build --arch` publishes them).
fn output_dir_for(project: &Project, target: &str, platform: &PlatformSpec) -> PathBuf {
    let host = boxwright_build::Arch::host().map(boxwright_build::Arch::name);
    if host == Some(platform.machine()) {
        project.output_dir(target)
    } else {
        project.output_dir(&format!("{target}@{}", platform.machine()))
    }
}

/// The new layer: downloads (`image.layers`), the rootfs overlay, files from the output
/// directory, then contents; later ones replace earlier ones at the same path.
fn layer_spec(
    project: &Project,
    name: &str,
    image: &Image,
    output_dir: &Path,
    mut spec: LayerSpec,
) -> Result<LayerSpec, Error> {
    if !image.layers.is_empty() {
        let staged = layers::stage(project, name, image, output_dir)?;
        spec.insert_tree(&staged)?;
    }
    let target_dir = project.root.join(name);
    let overlay = match &image.rootfs {
        Some(dir) => Some(target_dir.join(dir)),
        None => Some(target_dir.join("rootfs")).filter(|d| d.is_dir()),
    };
    if let Some(overlay) = overlay {
        if !overlay.is_dir() {
            return Err(Error::RootfsNotDirectory {
                target: name.to_string(),
                path: overlay,
            });
        }
        spec.insert_tree(&overlay)?;
    }
    for (image_path, relative) in &image.files {
        add_file(&mut spec, name, image_path, relative, output_dir)?;
    }
    for (image_path, content) in &image.contents {
        let mode = if content.starts_with("#!") {
            0o755
        } else {
            0o644
        };
        spec.insert(
            image_path,
            LayerEntry::Bytes(content.clone().into_bytes(), mode),
        )?;
    }
    Ok(spec)
}

/// One `image.files` entry: a file, a symbolic link, or a directory with everything below it.
fn add_file(
    spec: &mut LayerSpec,
    name: &str,
    image_path: &str,
    relative: &str,
    output_dir: &Path,
) -> Result<(), Error> {
    let source = output_dir.join(relative);
    let meta = std::fs::symlink_metadata(&source).map_err(|_| Error::MissingFile {
        target: name.to_string(),
        relative: relative.to_string(),
        image_path: image_path.to_string(),
        dir: output_dir.to_path_buf(),
    })?;
    if meta.file_type().is_symlink() {
        let link = std::fs::read_link(&source).map_err(Error::io(&source))?;
        spec.insert(image_path, LayerEntry::Symlink(link))?;
        return Ok(());
    }
    if !meta.is_dir() {
        spec.insert(image_path, LayerEntry::File(source))?;
        return Ok(());
    }
    // A directory (`lualib/resty/core/`) goes in with everything below it.
    spec.insert(image_path, LayerEntry::Directory)?;
    for item in walkdir::WalkDir::new(&source)
        .min_depth(1)
        .sort_by_file_name()
    {
        let item = item.map_err(|e| Error::Io {
            path: source.clone(),
            source: std::io::Error::from(e),
        })?;
        let below = item.path().strip_prefix(&source).expect("below the root");
        let path = format!("{}/{}", image_path.trim_end_matches('/'), below.display());
        let kind = item.file_type();
        let entry = if kind.is_symlink() {
            LayerEntry::Symlink(std::fs::read_link(item.path()).map_err(Error::io(item.path()))?)
        } else if kind.is_dir() {
            LayerEntry::Directory
        } else {
            LayerEntry::File(item.path().to_path_buf())
        };
        spec.insert(&path, entry)?;
    }
    Ok(())
}

/// The ELF machines of the layer's executables and libraries (relocatable objects such as
/// eBPF programs do not run on the CPU and are left out).
fn machines(layer: &LayerSpec) -> Result<Vec<(String, String)>, Error> {
    let mut found = Vec::new();
    for (image_path, source) in layer.files() {
        let report = boxwright_elf::inspect(source)?;
        if let (FileKind::Elf, Some(elf)) = (report.kind, &report.elf)
            && elf.file_type != FileType::Rel
        {
            found.push((image_path.to_string(), elf.machine.clone()));
        }
    }
    Ok(found)
}

fn detect_platform(layer: &LayerSpec) -> Result<PlatformSpec, Error> {
    let found = machines(layer)?;
    let Some((path, machine)) = found.first() else {
        let host = boxwright_build::Arch::host().ok_or(Error::UnknownHost)?;
        return Ok(PlatformSpec::for_machine(host.name()).expect("boxwright's architectures map"));
    };
    let platform = PlatformSpec::for_machine(machine).ok_or_else(|| Error::NoPlatformName {
        path: path.clone(),
        machine: machine.clone(),
    })?;
    check_machines(layer, &platform)?;
    Ok(platform)
}

/// Every executable must be built for the platform's CPU.
fn check_machines(layer: &LayerSpec, platform: &PlatformSpec) -> Result<(), Error> {
    for (path, machine) in machines(layer)? {
        if machine != platform.machine() {
            return Err(Error::WrongMachine {
                platform: platform.to_string(),
                needed: platform.machine().to_string(),
                path,
                machine,
            });
        }
    }
    Ok(())
}

/// Opens `image.base` for each platform: a path (OCI layout or oci-archive) in the project,
/// or a registry reference, pulled once into `.cache/bases/` and reused from there.
struct Bases<'a> {
    project: &'a Project,
    offline: bool,
    host: &'a dyn Host,
    client: Option<Client>,
    runtime: &'a tokio::runtime::Handle,
    /// `--locked`: a registry base must be given by digest.
    locked: bool,
}

impl Bases<'_> {
    fn open(&mut self, written: &str, platform: &PlatformSpec) -> Result<BaseImage, Error> {
        let path = self.project.root.join(written);
        if path.exists() {
            let mut base = boxwright_oci::base::open(&path, platform)?;
            // Recorded as written in metadata: the image must not depend on where the project
            // is.
            base.name = written.to_string();
            return Ok(base);
        }
        let reference: Reference = written.parse().map_err(|reason| Error::BaseReference {
            written: written.to_string(),
            path: path.clone(),
            reason,
        })?;
        if self.locked && reference.digest.is_none() {
            return Err(Error::UnpinnedBase {
                written: written.to_string(),
            });
        }
        let cache = BaseCache::new(self.project.root.join(".cache").join("bases"));
        let platform_name = platform.to_string();
        let cached = if self.offline {
            cache.offline(&reference, &platform_name)?
        } else {
            if self.client.is_none() {
                self.client = Some(self.host.client().map_err(Error::Client)?);
            }
            let client = self.client.as_ref().expect("just set");
            self.runtime
                .block_on(cache.get(client, &reference, &platform_name))?
        };
        if cached.pulled {
            self.host
                .pulled_base(written, &cached.resolved, &platform_name);
        }
        let mut base =
            boxwright_oci::base::open(&cached.layout, platform).map_err(|source| Error::Base {
                written: written.to_string(),
                source,
            })?;
        base.name = written.to_string();
        Ok(base)
    }
}

/// The platforms asked for: `--platform`, else `image.platforms`, else (an image from
/// packages) its architectures; empty means the platform of the built binaries.
fn requested_platforms(request: &Request<'_>, image: &Image) -> Result<Vec<String>, Error> {
    if !request.platforms.is_empty() {
        for platform in request.platforms {
            platform
                .parse::<boxwright_platform::Platform>()
                .map_err(|unknown| Error::Platform {
                    message: format!("--platform: {unknown}"),
                })?;
        }
        return Ok(request.platforms.to_vec());
    }
    match &image.packages {
        Some(packages) if image.platforms.is_empty() => Ok(packages::architectures(packages)?
            .into_iter()
            .map(|arch| format!("linux/{}", arch.oci()))
            .collect()),
        _ => Ok(image.platforms.clone()),
    }
}

/// One platform of an image from packages: the installed packages' layers, then one layer
/// with accounts and services under the target's own files.
fn package_platform(
    assembly: &from_packages::Assembly<'_>,
    bases: &mut Bases<'_>,
    platform: PlatformSpec,
    dir: &Path,
) -> Result<(PlatformInput, from_packages::PackageImage), Error> {
    let arch = platform.arch().ok_or_else(|| Error::Platform {
        message: format!("{platform}: no package architecture for this platform"),
    })?;
    let mut made = assembly.platform(arch)?;
    let mut top = LayerSpec::default();
    from_packages::add_generated(&mut top, &made.generated)?;
    let top = layer_spec(assembly.project, assembly.name, assembly.image, dir, top)?;
    let mut input = platform_input(bases, assembly.image, platform, top)?;
    let mut layers = std::mem::take(&mut made.layers);
    layers.append(&mut input.layers);
    input.layers = layers;
    Ok((input, made))
}

fn platform_input(
    bases: &mut Bases<'_>,
    image: &Image,
    platform: PlatformSpec,
    layer: LayerSpec,
) -> Result<PlatformInput, Error> {
    let base = match image.base.as_deref() {
        None | Some("scratch") => None,
        Some(written) => Some(bases.open(written, &platform)?),
    };
    Ok(PlatformInput {
        platform,
        base,
        layers: vec![layer],
    })
}

fn settings(request: &Request<'_>, target: &Target, image: &Image) -> ContainerSettings {
    let mut labels = standard_annotations(request, target);
    labels.extend(image.labels.clone());
    ContainerSettings {
        entrypoint: image.entrypoint.clone(),
        cmd: image.cmd.clone(),
        env: image.env.clone(),
        user: image.user.clone(),
        workdir: image.workdir.clone(),
        labels,
        exposed_ports: image.exposed_ports.clone(),
        volumes: image.volumes.clone(),
        stop_signal: image.stop_signal.clone(),
    }
}
