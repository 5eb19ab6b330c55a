//! `release verify`: a published release checked by `boxwright-publish`'s reader, with
//! `--images` against the registries; exit 0 verified, 1 a check failed, 2 could not check.

use std::path::PathBuf;

use anyhow::Context as _;
use boxwright_publish::verify::{self, Outcome, PublicKey, Request, source::Base};
use boxwright_release::manifest::Manifest;
use boxwright_sign::KeySource;
use serde::Serialize;

use crate::cli::ReleaseVerifyArgs;
use crate::commands::ExitStatus;
use crate::context;
use crate::printer::Printer;

#[derive(Serialize)]
struct Verdict {
    verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    manifest: Option<Manifest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    written: Vec<PathBuf>,
}

/// `release verify BASE`: exit 0 verified, 1 a check failed, 2 could not check.
pub fn verify(printer: &Printer, args: &ReleaseVerifyArgs) -> anyhow::Result<ExitStatus> {
    let base = Base::new(&args.base)?;
    let source = KeySource::parse(&args.key);
    let key_text = source
        .read()
        .with_context(|| format!("cannot read the public key {source}"))?;
    let key = PublicKey::from_text(&key_text)?;
    let (verdict, status) = match context::block_on(check(&base, &key, args))?? {
        Outcome::Passed((manifest, written)) => (
            Verdict {
                verified: true,
                manifest: Some(manifest),
                reason: None,
                written,
            },
            ExitStatus::Success,
        ),
        Outcome::Refused(reason) => (
            Verdict {
                verified: false,
                manifest: None,
                reason: Some(reason.to_string()),
                written: Vec::new(),
            },
            ExitStatus::CheckFailed,
        ),
    };
    if printer.json {
        printer.json(&verdict);
    }
    match (&verdict.reason, &verdict.manifest) {
        (Some(reason), _) => printer.failure(format!("not verified: {reason}")),
        (None, Some(manifest)) if !printer.json => {
            for artifact in &manifest.artifacts {
                printer.line(format!("{}  {}", artifact.sha256, artifact.path));
            }
            for image in &manifest.images {
                printer.line(image.pinned());
            }
            printer.info(format!(
                "Verified OK: {} ({} artifacts)",
                manifest.tag,
                manifest.artifacts.len()
            ));
        }
        _ => {}
    }
    Ok(status)
}

/// The release's signature and artifacts, then with `--images` its images (a registry
/// client made only when the manifest names some), then the artifacts moved into `-o DIR`.
async fn check(
    base: &Base,
    key: &PublicKey,
    args: &ReleaseVerifyArgs,
) -> anyhow::Result<Outcome<(Manifest, Vec<PathBuf>)>> {
    let request = Request {
        tag: args.release.as_deref(),
        output: args.output.as_deref(),
    };
    let checked = match verify::check(base, key, &request).await? {
        Outcome::Passed(checked) => checked,
        Outcome::Refused(reason) => return Ok(Outcome::Refused(reason)),
    };
    if args.images && !checked.manifest.images.is_empty() {
        let client = context::registry_client(&args.registry)?;
        let images = boxwright_publish::images::check(&client, &checked.manifest).await?;
        if let Outcome::Refused(reason) = images {
            return Ok(Outcome::Refused(reason));
        }
    }
    let manifest = checked.manifest.clone();
    Ok(Outcome::Passed((manifest, checked.finish()?)))
}
