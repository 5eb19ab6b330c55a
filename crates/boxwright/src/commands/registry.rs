//! `image push`, `image exists`, `image tags`, `image inspect`, `image merge`, `image pull`:
//! the registry commands.

use std::io::Write;

use anyhow::{Context, bail};
use boxwright_registry::{Client, ClientOptions, Credentials, PullFormat, PushSource, Reference};

use super::ExitStatus;
use crate::cli::{
    ImageExistsArgs, ImageInspectArgs, ImageMergeArgs, ImagePullArgs, ImagePushArgs, ImageTagsArgs,
    RegistryArgs,
};
use crate::printer::Printer;

fn client(args: &RegistryArgs) -> anyhow::Result<Client> {
    client_with(args, None)
}

fn client_with(args: &RegistryArgs, page_size: Option<u32>) -> anyhow::Result<Client> {
    let password = std::env::var(boxwright_registry::PASSWORD_ENV).ok();
    let credentials = match (&args.username, password) {
        (Some(username), Some(password)) => Some(Credentials {
            username: username.clone(),
            password,
        }),
        (Some(username), None) => bail!(
            "--username {username} needs the password in {}",
            boxwright_registry::PASSWORD_ENV
        ),
        (None, _) => None,
    };
    Ok(Client::new(ClientOptions {
        insecure: args.insecure,
        credentials,
        page_size,
        ..ClientOptions::default()
    })?)
}

fn block_on<T>(future: impl Future<Output = T>) -> anyhow::Result<T> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    Ok(runtime.block_on(future))
}

pub fn push(printer: &Printer, args: &ImagePushArgs) -> anyhow::Result<ExitStatus> {
    let reference: Reference = args.reference.parse()?;
    let source = PushSource::parse(&args.source);
    let client = client(&args.registry)?;
    let report = block_on(client.push(&source, &reference))??;
    if let Some(path) = &args.digest_file {
        std::fs::write(path, format!("{}\n", report.digest))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    printer.info(format!(
        "pushed {}: {} blobs uploaded ({} bytes), {} already present, {} manifests",
        report.reference, report.uploaded, report.uploaded_bytes, report.skipped, report.manifests
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
    let client = client_with(&args.registry, args.page_size)?;
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
    let reference: Reference = args.reference.parse()?;
    let client = client(&args.registry)?;
    let inspected = block_on(client.inspect(&reference))??;
    if args.raw {
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(&inspected.bytes)
            .and_then(|()| stdout.flush())
            .context("cannot write to stdout")?;
        return Ok(ExitStatus::Success);
    }
    let document: serde_json::Value =
        serde_json::from_slice(&inspected.bytes).context("the manifest is not JSON")?;
    let summary = serde_json::json!({
        "reference": inspected.reference,
        "digest": inspected.digest,
        "media_type": inspected.media_type,
        "manifest": document,
    });
    if printer.json {
        printer.json(&summary);
    } else {
        printer.line(serde_json::to_string_pretty(&summary).expect("serialises"));
    }
    Ok(ExitStatus::Success)
}

pub fn merge(printer: &Printer, args: &ImageMergeArgs) -> anyhow::Result<ExitStatus> {
    let mut reference: Reference = args.reference.parse()?;
    if reference.digest.is_some() {
        bail!(
            "`{}`: merge takes HOST[:PORT]/REPOSITORY[:TAG], without a digest",
            args.reference
        );
    }
    let docker = match args.format.as_str() {
        "oci" => false,
        "docker" => true,
        other => bail!("unknown format `{other}` (known: oci, docker)"),
    };
    let mut tags = args.tag.clone();
    if let Some(tag) = reference.tag.take() {
        tags.insert(0, tag);
    }
    for tag in &tags {
        format!("{}:{tag}", reference.name())
            .parse::<Reference>()
            .with_context(|| format!("invalid tag `{tag}`"))?;
    }
    let mut seen = std::collections::HashSet::new();
    tags.retain(|tag| seen.insert(tag.clone()));
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
    let mtime = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let client = client(&args.registry)?;
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
