//! The host sides of SUBJECT resolution and image assembly: git and CI for the source, the
//! environment, pulls through the command's registry client, notes on stderr.

use std::path::Path;

use anyhow::{Result, anyhow, bail};
use boxwright_metadata::{Project, Target};
use boxwright_oci::{Compression, Format};
use boxwright_registry::{Client, PullFormat, Reference};
use boxwright_sbom::SourceInfo;
use boxwright_sbom::resolve::{Host, HostError};

use super::{
    block_on, registry_client, revision, runtime_handle, source_date_epoch, source_url, target, var,
};
use crate::cli::{ImageBuildArgs, RegistryArgs};
use crate::printer::Printer;

/// The host side of SUBJECT resolution: git and CI for the source, the process environment,
/// and pulls through the registry client of the command's arguments (made on first use).
pub struct SubjectHost<'a> {
    pub printer: &'a Printer,
    pub registry: &'a RegistryArgs,
    /// Where reading large images and tarballs is shown.
    pub progress: std::sync::Arc<dyn boxwright_fetch::Progress>,
}

impl Host for SubjectHost<'_> {
    fn source(&self, project: &Project, target: &Target) -> Option<SourceInfo> {
        let source = SourceInfo {
            url: source_url(project, target).map(|s| s.url),
            revision: revision(project),
        };
        (source.url.is_some() || source.revision.is_some()).then_some(source)
    }

    fn var(&self, name: &str) -> Option<String> {
        var(name)
    }

    fn read_progress(&self) -> &dyn boxwright_fetch::Progress {
        &*self.progress
    }

    fn pull(
        &self,
        reference: &Reference,
        layout: &Path,
        platform: Option<&str>,
    ) -> std::result::Result<(), HostError> {
        let client = registry_client(self.registry)?;
        let report = block_on(client.pull(reference, layout, PullFormat::Oci, platform, 0))??;
        self.printer.info(format!(
            "pulled {} ({}): {} blobs, {} bytes",
            report.reference, report.digest, report.blobs, report.bytes
        ));
        Ok(())
    }
}

/// `image build`'s arguments resolved: format, compression and level.
fn image_format(args: &ImageBuildArgs) -> Result<(Format, Compression)> {
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
    Ok((format, compression))
}

/// The image of `args.target` in `project` (which may hold a target resolved for one
/// version), assembled by `boxwright-image` with this project's source, revision and time.
pub fn build_image(
    project: &Project,
    printer: &Printer,
    args: &ImageBuildArgs,
) -> Result<boxwright_oci::Written> {
    let target = target(project, &args.target)?;
    let (format, compression) = image_format(args)?;
    let request = boxwright_image::Request {
        target: &args.target,
        format,
        output: &args.output,
        tag: args.tag.as_deref(),
        compression,
        platforms: &args.platform,
        offline: args.offline,
        locked: args.locked,
        created: source_date_epoch(&project.root)?,
        source_url: source_url(project, target).map(|s| s.url),
        revision: revision(project),
        runtime: runtime_handle()?,
    };
    let host = ImageHost {
        printer,
        registry: &args.registry,
        progress: crate::progress::reporter(printer.quiet() || printer.json),
    };
    Ok(boxwright_image::build(project, &request, &host)?)
}

/// The host side of image assembly: the registry client of the command's arguments, and
/// notes on stderr.
pub struct ImageHost<'a> {
    pub printer: &'a Printer,
    pub registry: &'a RegistryArgs,
    /// Download progress (packages of an image made from packages).
    pub progress: Box<dyn boxwright_fetch::Progress>,
}

impl boxwright_image::Host for ImageHost<'_> {
    fn client(&self) -> std::result::Result<Client, boxwright_image::HostError> {
        Ok(registry_client(self.registry)?
            .with_progress(boxwright_image::Host::layer_progress(self)))
    }

    fn pulled_base(&self, written: &str, resolved: &str, platform: &str) {
        self.printer
            .info(format!("pulled base {written} ({resolved}) for {platform}"));
    }

    fn layer_progress(&self) -> std::sync::Arc<dyn boxwright_fetch::Progress> {
        crate::progress::transfers(self.printer.quiet() || self.printer.json)
    }

    fn note(&self, message: &str) {
        self.printer.failure(format_args!("warning: {message}"));
    }

    fn download_progress(&self) -> &dyn boxwright_fetch::Progress {
        self.progress.as_ref()
    }
}
