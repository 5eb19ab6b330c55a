//! `image push`, `image exists`, `image tags`, `image inspect`, `image merge`, `image pull`:
//! the registry commands.

use std::io::Write;

use anyhow::{Context, bail};
use boxwright_registry::{ClientOptions, PullFormat, Reference, Subject, Summary};

use super::ExitStatus;
use crate::cli::{
    ImageExistsArgs, ImageInspectArgs, ImageMergeArgs, ImagePullArgs, ImagePushArgs, ImageTagsArgs,
};
use crate::context::{block_on, registry_client as client, registry_client_with as client_with};
use crate::printer::Printer;

pub fn push(printer: &Printer, args: &ImagePushArgs) -> anyhow::Result<ExitStatus> {
    let reference: Reference = args.reference.parse()?;
    let subject: Subject = args.source.parse()?;
    let Some(mut source) = subject.local_image("image push")? else {
        bail!(
            "`{}` is an image reference: image push takes an OCI layout (DIR[:TAG]) or an \
             oci-archive (oci-archive:FILE[:TAG]); copy between registries with image pull, then push",
            args.source
        );
    };
    if let Some(from) = &args.mount_from {
        let mount = reference.mount_source(from);
        source.mount_from = Some(mount.with_context(|| format!("--mount-from `{from}`"))?);
    }
    if args.jobs == 0 {
        bail!("--jobs must be at least 1");
    }
    let client = client_with(
        &args.registry,
        &ClientOptions {
            jobs: args.jobs,
            ..ClientOptions::default()
        },
    )?
    .with_progress(crate::progress::transfers(printer.quiet() || printer.json));
    let report = block_on(client.push(&source, &reference))??;
    if let Some(path) = &args.digest_file {
        std::fs::write(path, format!("{}\n", report.digest))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    printer.info(format!(
        "pushed {}: {} blobs uploaded ({} bytes), {} mounted, {} already present, {} manifests",
        report.reference,
        report.uploaded,
        report.uploaded_bytes,
        report.mounted,
        report.skipped,
        report.manifests
    ));
    if printer.json {
        printer.json(&report);
    } else {
        printer.line(&report.digest);
    }
    Ok(ExitStatus::Success)
}

pub fn exists(printer: &Printer, args: &ImageExistsArgs) -> anyhow::Result<ExitStatus> {
    let reference: Reference = args.reference.parse()?;
    let client = client(&args.registry)?;
    let present = block_on(client.exists(&reference))??;
    if printer.json {
        printer.json(&serde_json::json!({ "reference": reference.to_string(), "exists": present }));
    } else {
        printer.info(format!(
            "{reference} {}",
            if present { "exists" } else { "does not exist" }
        ));
    }
    Ok(if present {
        ExitStatus::Success
    } else {
        ExitStatus::CheckFailed
    })
}

pub fn tags(printer: &Printer, args: &ImageTagsArgs) -> anyhow::Result<ExitStatus> {
    let repository = Reference::repository(&args.repository)?;
    let client = client_with(
        &args.registry,
        &ClientOptions {
            page_size: args.page_size,
            ..ClientOptions::default()
        },
    )?;
    let tags = block_on(client.tags(&repository))??;
    if printer.json {
        printer.json(&tags);
    } else {
        for tag in &tags {
            printer.line(tag);
        }
    }
    Ok(ExitStatus::Success)
}

pub fn inspect(printer: &Printer, args: &ImageInspectArgs) -> anyhow::Result<ExitStatus> {
    let subject: Subject = args.reference.parse()?;
    let summary = if let Some(local) = subject.local_image("image inspect")? {
        let (summary, raw) = boxwright_registry::local_summary(&local)?;
        if args.raw {
            return write_raw(&raw);
        }
        summary
    } else {
        let reference = subject.into_reference("image inspect")?;
        let client = client(&args.registry)?;
        if args.raw {
            return write_raw(&block_on(client.inspect(&reference))??.bytes);
        }
        block_on(client.summary(&reference))??
    };
    if printer.json {
        printer.json(&summary);
    } else {
        print_summary(printer, &summary);
    }
    Ok(ExitStatus::Success)
}

/// The manifest's bytes exactly as stored or served.
fn write_raw(bytes: &[u8]) -> anyhow::Result<ExitStatus> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .context("cannot write to stdout")?;
    Ok(ExitStatus::Success)
}

fn print_summary(printer: &Printer, summary: &Summary) {
    let field = |name: &str, value: &str| printer.line(format!("{name:<11} {value}"));
    let json = |value: &serde_json::Value| serde_json::to_string(value).expect("serialises");
    field("reference", &summary.reference);
    field("digest", &summary.digest);
    field("media type", &summary.media_type);
    if let Some(config) = &summary.config {
        field("platform", &config.platform);
        field("config", &config.digest);
        if let Some(created) = &config.created {
            field("created", created);
        }
        for (name, value) in [
            ("entrypoint", &config.entrypoint),
            ("cmd", &config.cmd),
            ("env", &config.env),
            ("labels", &config.labels),
        ] {
            if !value.is_null() {
                field(name, &json(value));
            }
        }
        if let Some(user) = &config.user {
            field("user", user);
        }
        if let Some(workdir) = &config.workdir {
            field("workdir", workdir);
        }
    }
    for (name, value) in &summary.annotations {
        field(
            "annotation",
            &format!("{name}={}", value.as_str().unwrap_or_default()),
        );
    }
    if !summary.manifests.is_empty() {
        field(
            "manifests",
            &format!("{} ({} bytes)", summary.manifests.len(), summary.size),
        );
        for entry in &summary.manifests {
            printer.line(format!(
                "  {:<16} {}  {} bytes",
                entry.platform.as_deref().unwrap_or("-"),
                entry.digest,
                entry.size
            ));
        }
    }
    if !summary.layers.is_empty() {
        field(
            "layers",
            &format!("{} ({} bytes)", summary.layers.len(), summary.size),
        );
        for entry in &summary.layers {
            printer.line(format!(
                "  {}  {:>10} bytes  {}",
                entry.digest, entry.size, entry.media_type
            ));
        }
    }
}

pub fn merge(printer: &Printer, args: &ImageMergeArgs) -> anyhow::Result<ExitStatus> {
    let mut reference: Reference = args.reference.parse()?;
    let tags = reference.take_merge_tags(&args.tag)?;
    let docker = match args.format.as_str() {
        "oci" => false,
        "docker" => true,
        other => bail!("unknown format `{other}` (known: oci, docker)"),
    };
    for digest in &args.digests {
        format!("{}@{digest}", reference.name()).parse::<Reference>()?;
    }
    let client = client(&args.registry)?;
    let report = block_on(client.merge(&reference, &args.digests, &tags, docker))??;
    printer.info(format!(
        "merged {} platforms ({}) into {}@{}{}",
        report.platforms.len(),
        report.platforms.join(", "),
        report.reference,
        report.digest,
        if report.tags.is_empty() {
            String::new()
        } else {
            format!(", tagged {}", report.tags.join(", "))
        }
    ));
    if printer.json {
        printer.json(&report);
    } else {
        printer.line(&report.digest);
    }
    Ok(ExitStatus::Success)
}

pub fn pull(printer: &Printer, args: &ImagePullArgs) -> anyhow::Result<ExitStatus> {
    let reference: Reference = args.reference.parse()?;
    let format = match args.format.as_str() {
        "oci" => PullFormat::Oci,
        "oci-archive" => PullFormat::OciArchive,
        other => bail!("unknown format `{other}` (known: oci, oci-archive)"),
    };
    if let Some(platform) = &args.platform {
        let parts = platform.split('/').count();
        if !(2..=3).contains(&parts) || platform.split('/').any(str::is_empty) {
            bail!("platform `{platform}`: expected OS/ARCH[/VARIANT], e.g. linux/amd64");
        }
    }
    let mtime = crate::context::env_source_date_epoch_lenient().unwrap_or(0);
    let client = client(&args.registry)?
        .with_progress(crate::progress::transfers(printer.quiet() || printer.json));
    let report = block_on(client.pull(
        &reference,
        &args.output,
        format,
        args.platform.as_deref(),
        mtime,
    ))??;
    printer.info(format!(
        "pulled {} into {}: {} blobs ({} bytes)",
        report.reference,
        report.path.display(),
        report.blobs,
        report.bytes
    ));
    if printer.json {
        printer.json(&report);
    } else {
        printer.line(&report.digest);
    }
    Ok(ExitStatus::Success)
}
