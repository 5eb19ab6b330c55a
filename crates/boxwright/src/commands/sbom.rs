//! `sbom SUBJECT --format spdx-json|cyclonedx-json [-o FILE]`.

use std::path::Path;

use anyhow::{Context, anyhow};
use boxwright_sbom::{DocumentOptions, Format};

use super::ExitStatus;
use super::subject::{self, Gathered};
use crate::cli::{GlobalArgs, SbomArgs};
use crate::printer::Printer;

pub fn run(global: &GlobalArgs, printer: &Printer, args: &SbomArgs) -> anyhow::Result<ExitStatus> {
    let format: Format = args.format.parse().map_err(|e: String| anyhow!(e))?;
    let gathered = subject::gather(global, printer, &args.subject)?;
    let options = options(&gathered)?;
    let document = boxwright_sbom::sbom(&gathered.subject, format, &options);
    emit(
        printer,
        args.output.as_deref(),
        &document,
        &gathered,
        &args.format,
    )
}

/// The documents' creation time and creator.
pub(super) fn options(gathered: &Gathered) -> anyhow::Result<DocumentOptions> {
    Ok(DocumentOptions {
        created: gathered.source_date_epoch()?,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
    })
}

/// Writes `document` to `output` atomically (and says so), or to stdout.
pub(super) fn emit(
    printer: &Printer,
    output: Option<&Path>,
    document: &[u8],
    gathered: &Gathered,
    what: &str,
) -> anyhow::Result<ExitStatus> {
    let Some(path) = output else {
        printer.bytes(document);
        return Ok(ExitStatus::Success);
    };
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)
        .with_context(|| format!("cannot create {}", parent.display()))?;
    let mut file = boxwright_archive::AtomicFile::create(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    std::io::Write::write_all(file.file(), document)
        .and_then(|()| file.commit().map(drop))
        .with_context(|| format!("cannot write {}", path.display()))?;
    let subject = &gathered.subject;
    if printer.json {
        printer.json(&serde_json::json!({
            "path": path,
            "format": what,
            "subject": {
                "name": subject.name,
                "kind": subject.kind,
                "digest": subject.digest,
            },
            "files": subject.files.len(),
            "packages": subject.packages.len(),
        }));
    } else {
        printer.info(format!(
            "wrote {} ({what} of {} {} {}: {} files, {} packages)",
            path.display(),
            subject.kind.as_str(),
            subject.name,
            subject.digest,
            subject.files.len(),
            subject.packages.len()
        ));
    }
    Ok(ExitStatus::Success)
}
