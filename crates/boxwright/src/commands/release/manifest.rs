//! `release manifest`: a release's signed `manifest.json` (and its artifacts under `<tag>/`)
//! written to a directory.

use std::path::PathBuf;

use boxwright_publish::manifest::{MANIFEST, SIGNATURE};
use boxwright_release::manifest::Manifest;
use serde::Serialize;

use crate::cli::{GlobalArgs, ManifestArgs};
use crate::commands::ExitStatus;
use crate::printer::Printer;

#[derive(Serialize)]
struct Written<'a> {
    manifest: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    signature: Option<PathBuf>,
    release: &'a Manifest,
}

pub fn manifest(
    global: &GlobalArgs,
    printer: &Printer,
    args: &ManifestArgs,
) -> anyhow::Result<ExitStatus> {
    let key = (
        args.key.as_deref(),
        args.allow_unsigned,
        args.key_password_stdin,
    );
    let (project, prepared) = super::prepare(global, printer, &args.tag, key, &args.registry)?;
    let dir = args
        .output
        .clone()
        .unwrap_or_else(|| project.release_dir().join(&args.tag));
    prepared.write_to(&dir)?;
    let written = Written {
        manifest: dir.join(MANIFEST),
        signature: prepared.signature.as_ref().map(|_| dir.join(SIGNATURE)),
        release: &prepared.manifest,
    };
    if printer.json {
        printer.json(&written);
    } else {
        printer.line(written.manifest.display());
        if let Some(signature) = &written.signature {
            printer.line(signature.display());
        }
    }
    Ok(ExitStatus::Success)
}
