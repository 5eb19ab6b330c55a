//! `image push`, `image exists`, `image tags`, `image inspect`, `image merge`, `image pull`:
//! the registry commands.

use std::io::Write;

use anyhow::{Context, bail};
use boxwright_registry::{
    AuthFile, Client, ClientOptions, Credentials, PullFormat, PushSource, Reference, Summary,
};

use super::ExitStatus;
use crate::cli::{
    ImageExistsArgs, ImageInspectArgs, ImageMergeArgs, ImagePullArgs, ImagePushArgs, ImageTagsArgs,
    RegistryArgs,
};
use crate::printer::Printer;

pub(crate) fn client(args: &RegistryArgs) -> anyhow::Result<Client> {
    client_with(args, &ClientOptions::default())
}

/// A client for the command's registry arguments, on top of `options`.
fn client_with(args: &RegistryArgs, options: &ClientOptions) -> anyhow::Result<Client> {
    let password = if args.password_stdin {
        if args.username.is_none() {
            bail!("--password-stdin needs --username (or BOXWRIGHT_REGISTRY_USERNAME)");
        }
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        let password = line.trim_end_matches(['\n', '\r']).to_string();
        if password.is_empty() {
            bail!("--password-stdin: standard input holds no password");
        }
        Some(password)
    } else {
        std::env::var(boxwright_registry::PASSWORD_ENV).ok()
    };
    let credentials = match (&args.username, password) {
        (Some(username), Some(password)) => Some(Credentials {
            username: username.clone(),
            password,
        }),
        (Some(username), None) => bail!(
            "--username {username} needs a password: pass --password-stdin or set {}",
            boxwright_registry::PASSWORD_ENV
        ),
        (None, _) => None,
    };
    let auth_file = if credentials.is_none() {
        AuthFile::discover()?
    } else {
        None
    };
    let ca_pem = match &args.ca_file {
        Some(path) => Some(
            std::fs::read(path)
                .with_context(|| format!("cannot read --ca-file {}", path.display()))?,
        ),
        None => None,
    };
    Client::new(ClientOptions {
        insecure: args.insecure,
        credentials,
        auth_file,
        ca_pem,
        ..options.clone()
    })
    .with_context(|| match &args.ca_file {
        Some(path) => format!("cannot use --ca-file {}", path.display()),
        None => "cannot set up the registry client".into(),
    })
}

pub(crate) fn block_on<T>(future: impl Future<Output = T>) -> anyhow::Result<T> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    Ok(runtime.block_on(future))
}

pub fn push(printer: &Printer, args: &ImagePushArgs) -> anyhow::Result<ExitStatus> {
    let reference: Reference = args.reference.parse()?;
    let mut source = PushSource::parse(&args.source);
    if let Some(from) = &args.mount_from {
        source.mount_from = Some(mount_source(from, &reference)?);
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
    )?;
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

/// `--mount-from`: `HOST[:PORT]/REPOSITORY` of the target's registry, or a repository of it.
fn mount_source(text: &str, target: &Reference) -> anyhow::Result<String> {
    let reference = match Reference::repository(text) {
        Ok(reference) => reference,
        Err(_) => Reference::repository(&format!("{}/{text}", target.registry))
            .with_context(|| format!("--mount-from `{text}` is not a repository"))?,
    };
    if reference.registry != target.registry {
        bail!(
            "--mount-from {text}: blobs mount only within one registry, and the push goes to {}",
            target.registry
        );
    }
    Ok(reference.name())
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
    let local = PushSource::parse(&args.reference);
    let summary = if local.path.exists() {
        let (summary, raw) = boxwright_registry::local_summary(&local)?;
        if args.raw {
            return write_raw(&raw);
        }
        summary
    } else {
        let reference: Reference = args.reference.parse().with_context(|| {
            format!(
                "`{}` is neither an OCI layout or oci-archive nor an image reference",
                args.reference
            )
        })?;
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
