use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use boxwright_elf::{FileKind, FileType};
use boxwright_metadata::{Image, Project, Target};
use boxwright_oci::base::BaseImage;
use boxwright_oci::{
    Compression, ContainerSettings, Format, ImageInput, LayerEntry, LayerSpec, PlatformInput,
    PlatformSpec,
};

use boxwright_registry::{BaseCache, Reference};

use super::ExitStatus;
use crate::cli::{GlobalArgs, ImageBuildArgs};
use crate::context;
use crate::printer::Printer;

pub fn build(
    global: &GlobalArgs,
    printer: &Printer,
    args: &ImageBuildArgs,
) -> anyhow::Result<ExitStatus> {
    let project = context::project(global)?;
    if project
        .metadata
        .target(&args.target)
        .is_some_and(|t| t.upstream.is_some())
    {
        bail!(
            "`{}` is a mirror target: its versions come from upstream; build it with \
             `boxwright mirror build {} --version V --arch A` or `mirror run`",
            args.target,
            args.target
        );
    }
    let written = build_in(&project, printer, args)?;
    print_written(printer, &written);
    Ok(ExitStatus::Success)
}

/// `image build` in `project` (which may hold a target resolved for one version).
pub(crate) fn build_in(
    project: &Project,
    printer: &Printer,
    args: &ImageBuildArgs,
) -> anyhow::Result<boxwright_oci::Written> {
    let project = project.clone();
    let target = context::target(&project, &args.target)?;
    let image = target.image.clone().ok_or_else(|| {
        anyhow!(
            "target `{}` has no `image` in {}",
            args.target,
            project.metadata.path.display()
        )
    })?;
    let format: Format = args.format.parse().map_err(|e: String| anyhow!(e))?;
    let compression = match (
        args.compression.parse().map_err(|e: String| anyhow!(e))?,
        args.level,
    ) {
        (Compression::Gzip { .. }, Some(level @ 1..=9)) => Compression::Gzip { level },
        (Compression::Zstd { .. }, Some(level @ 1..=19)) => Compression::Zstd {
            level: i32::try_from(level).expect("small"),
        },
        (Compression::None, Some(_)) => bail!("--level does not apply to --compression none"),
        (_, Some(level)) => bail!("--level {level} is out of range (gzip 1-9, zstd 1-19)"),
        (compression, None) => compression,
    };
    // A docker-archive carries plain tar layers, as `docker save` writes them.
    let compression = if format == Format::DockerArchive {
        Compression::None
    } else {
        compression
    };
    let created = context::source_date_epoch(&project.root)?;
    let tag = args
        .tag
        .clone()
        .unwrap_or_else(|| target.version().to_string());

    let requested: Vec<String> = if args.platform.is_empty() {
        image.platforms.clone()
    } else {
        args.platform.clone()
    };
    let mut bases = Bases {
        project: &project,
        args,
        printer,
        client: None,
    };
    let mut platforms = Vec::new();
    if requested.is_empty() {
        let host_dir = project.output_dir(&args.target);
        let layer = layer_spec(&project, &args.target, &image, &host_dir)?;
        let platform = detect_platform(&layer)?;
        platforms.push(platform_input(&mut bases, &image, platform, layer)?);
    } else {
        for name in requested {
            let platform: PlatformSpec = name.parse().map_err(|e: String| anyhow!(e))?;
            let dir = output_dir_for(&project, &args.target, &platform);
            let layer = layer_spec(&project, &args.target, &image, &dir)?;
            check_machines(&layer, &platform)?;
            platforms.push(platform_input(&mut bases, &image, platform, layer)?);
        }
    }

    let annotations = annotations(&project, target, created, &image);

    let input = ImageInput {
        platforms,
        settings: settings(&project, target, &image),
        annotations,
        created,
        ref_name: tag.clone(),
        compression,
        threads: std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
    };
    let written = boxwright_oci::write(
        &input,
        format,
        &args.output,
        &format!("{}:{tag}", args.target),
    )
    .with_context(|| format!("cannot write {}", args.output.display()))?;
    Ok(written)
}

fn print_written(printer: &Printer, written: &boxwright_oci::Written) {
    if printer.json {
        printer.json(written);
    } else {
        printer.line(format!("{}  {}", written.digest, written.path.display()));
        for platform in &written.platforms {
            printer.info(format!(
                "{}: manifest {}, {} layers, {} bytes{}",
                platform.platform,
                platform.manifest,
                platform.layers,
                platform.size,
                match (&platform.base_name, &platform.base_digest) {
                    (Some(name), Some(digest)) => format!(", base {name} ({digest})"),
                    _ => String::new(),
                }
            ));
        }
    }
}

/// The manifest annotations: version, created, source and revision, then the target's own.
/// The source and revision are cleaned (`context::source_url`, `context::revision`): no
/// credentials or builder paths reach a published image.
fn annotations(
    project: &Project,
    target: &Target,
    created: u64,
    image: &Image,
) -> BTreeMap<String, String> {
    let mut annotations = standard_annotations(project, target);
    annotations.insert(
        "org.opencontainers.image.created".into(),
        boxwright_oci::image::rfc3339(created),
    );
    annotations.extend(image.annotations.clone());
    annotations
}

/// `org.opencontainers.image.{version,source,revision}`: manifest annotations, and config labels
/// unless the target sets its own (registries link a package to its repository by the label).
fn standard_annotations(project: &Project, target: &Target) -> BTreeMap<String, String> {
    let mut fields = BTreeMap::new();
    fields.insert(
        "org.opencontainers.image.version".to_string(),
        target.version().to_string(),
    );
    if let Some(source) = context::source_url(project, target) {
        fields.insert("org.opencontainers.image.source".into(), source.url);
    }
    if let Some(revision) = context::revision(project) {
        fields.insert("org.opencontainers.image.revision".into(), revision);
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
) -> anyhow::Result<LayerSpec> {
    let mut spec = LayerSpec::default();
    if !image.layers.is_empty() {
        let staged = super::layers::stage(project, name, image, output_dir)?;
        spec.insert_tree(&staged)?;
    }
    let target_dir = project.root.join(name);
    let overlay = match &image.rootfs {
        Some(dir) => Some(target_dir.join(dir)),
        None => Some(target_dir.join("rootfs")).filter(|d| d.is_dir()),
    };
    if let Some(overlay) = overlay {
        if !overlay.is_dir() {
            bail!(
                "image.rootfs of `{name}` is not a directory: {}",
                overlay.display()
            );
        }
        spec.insert_tree(&overlay)?;
    }
    for (image_path, relative) in &image.files {
        let source = output_dir.join(relative);
        let meta = std::fs::symlink_metadata(&source).map_err(|_| {
            anyhow!(
                "image.files of `{name}`: `{relative}` (for {image_path}) is not in {}; build the target first",
                output_dir.display()
            )
        })?;
        let entry = if meta.file_type().is_symlink() {
            LayerEntry::Symlink(std::fs::read_link(&source)?)
        } else if meta.is_dir() {
            // A directory (`lualib/resty/core/`) goes in with everything below it.
            spec.insert(image_path, LayerEntry::Directory)?;
            for item in walkdir::WalkDir::new(&source)
                .min_depth(1)
                .sort_by_file_name()
            {
                let item = item?;
                let below = item.path().strip_prefix(&source).expect("below the root");
                let path = format!("{}/{}", image_path.trim_end_matches('/'), below.display());
                let kind = item.file_type();
                let entry = if kind.is_symlink() {
                    LayerEntry::Symlink(std::fs::read_link(item.path())?)
                } else if kind.is_dir() {
                    LayerEntry::Directory
                } else {
                    LayerEntry::File(item.path().to_path_buf())
                };
                spec.insert(&path, entry)?;
            }
            continue;
        } else {
            LayerEntry::File(source)
        };
        spec.insert(image_path, entry)?;
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

/// The ELF machines of the layer's executables and libraries (relocatable objects such as
/// eBPF programs do not run on the CPU and are left out).
fn machines(layer: &LayerSpec) -> anyhow::Result<Vec<(String, String)>> {
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

fn detect_platform(layer: &LayerSpec) -> anyhow::Result<PlatformSpec> {
    let found = machines(layer)?;
    let Some((path, machine)) = found.first() else {
        let host = boxwright_build::Arch::host().context("unknown host architecture")?;
        return Ok(PlatformSpec::for_machine(host.name()).expect("boxwright's architectures map"));
    };
    let platform = PlatformSpec::for_machine(machine)
        .ok_or_else(|| anyhow!("/{path} is built for {machine}, which has no OCI platform name"))?;
    check_machines(layer, &platform)?;
    Ok(platform)
}

/// Every executable must be built for the platform's CPU.
fn check_machines(layer: &LayerSpec, platform: &PlatformSpec) -> anyhow::Result<()> {
    for (path, machine) in machines(layer)? {
        if machine != platform.machine() {
            bail!(
                "platform {platform} needs {} binaries, but /{path} is built for {machine} \
                 (build it with --arch {})",
                platform.machine(),
                platform.machine()
            );
        }
    }
    Ok(())
}

/// Opens `image.base` for each platform: a path (OCI layout or oci-archive) in the project,
/// or a registry reference, pulled once into `.cache/bases/` and reused from there.
struct Bases<'a> {
    project: &'a Project,
    args: &'a ImageBuildArgs,
    printer: &'a Printer,
    client: Option<boxwright_registry::Client>,
}

impl Bases<'_> {
    fn open(&mut self, written: &str, platform: &PlatformSpec) -> anyhow::Result<BaseImage> {
        let path = self.project.root.join(written);
        if path.exists() {
            let mut base = boxwright_oci::base::open(&path, platform)?;
            // Recorded as written in metadata: the image must not depend on where the project
            // is.
            base.name = written.to_string();
            return Ok(base);
        }
        let reference: Reference = written.parse().map_err(|e| {
            anyhow!(
                "image.base `{written}` is neither a path to an OCI layout or oci-archive ({} \
                 does not exist) nor a registry reference: {e}",
                path.display()
            )
        })?;
        let cache = BaseCache::new(self.project.root.join(".cache").join("bases"));
        let platform_name = platform.to_string();
        let cached = if self.args.offline {
            cache.offline(&reference, &platform_name)?
        } else {
            if self.client.is_none() {
                self.client = Some(super::registry::client(&self.args.registry)?);
            }
            let client = self.client.as_ref().expect("just set");
            super::registry::block_on(cache.get(client, &reference, &platform_name))??
        };
        if cached.pulled {
            self.printer.info(format!(
                "pulled base {written} ({}) for {platform_name}",
                cached.resolved
            ));
        }
        let mut base = boxwright_oci::base::open(&cached.layout, platform)
            .with_context(|| format!("base image {written}"))?;
        base.name = written.to_string();
        Ok(base)
    }
}

fn platform_input(
    bases: &mut Bases<'_>,
    image: &Image,
    platform: PlatformSpec,
    layer: LayerSpec,
) -> anyhow::Result<PlatformInput> {
    let base = match image.base.as_deref() {
        None | Some("scratch") => None,
        Some(written) => Some(bases.open(written, &platform)?),
    };
    Ok(PlatformInput {
        platform,
        base,
        layer,
    })
}

fn settings(project: &Project, target: &Target, image: &Image) -> ContainerSettings {
    let mut labels = standard_annotations(project, target);
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
