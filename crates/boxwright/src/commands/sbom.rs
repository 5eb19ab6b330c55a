//! `sbom SUBJECT --format spdx-json|cyclonedx-json [-o FILE]` and `provenance SUBJECT [-o
//! FILE]` (the SLSA v1 predicate, for `image attest --type slsaprovenance --predicate FILE`).
//! SUBJECT is resolved and gathered by `boxwright-sbom`'s `resolve`.

use std::path::Path;

use anyhow::{Context, anyhow};
use boxwright_metadata::Project;
use boxwright_registry::subject::FileSystem;
use boxwright_sbom::resolve::{Request, gather_subject, metadata_sha256};
use boxwright_sbom::{DocumentOptions, Format, Subject};

use super::ExitStatus;
use crate::cli::{GlobalArgs, ProvenanceArgs, SbomArgs, SubjectArgs};
use crate::context::{self, SubjectHost};
use crate::printer::Printer;

/// A subject and the project it belongs to, when it belongs to one.
struct Gathered {
    subject: Subject,
    project: Option<Project>,
}

pub fn sbom(global: &GlobalArgs, printer: &Printer, args: &SbomArgs) -> anyhow::Result<ExitStatus> {
    let format: Format = args.format.parse().map_err(|e: String| anyhow!(e))?;
    let gathered = gather(global, printer, &args.subject)?;
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

pub fn provenance(
    global: &GlobalArgs,
    printer: &Printer,
    args: &ProvenanceArgs,
) -> anyhow::Result<ExitStatus> {
    let gathered = gather(global, printer, &args.subject)?;
    let options = options(&gathered)?;
    let metadata = metadata_sha256(gathered.project.as_ref(), &gathered.subject)?;
    let environment = context::environment();
    let document = boxwright_sbom::provenance::write(
        &gathered.subject,
        &options,
        metadata.as_deref(),
        &environment,
    );
    emit(
        printer,
        args.output.as_deref(),
        &document,
        &gathered,
        "slsa-provenance-v1",
    )
}

/// Parses SUBJECT against the project's targets and gathers its facts.
fn gather(global: &GlobalArgs, printer: &Printer, args: &SubjectArgs) -> anyhow::Result<Gathered> {
    let project = context::optional_project(global)?;
    let targets: Vec<String> = project
        .iter()
        .flat_map(|p| p.metadata.targets.keys().cloned())
        .collect();
    let subject =
        boxwright_registry::Subject::parse(&args.subject, &FileSystem { targets: &targets })?;
    let host = SubjectHost {
        printer,
        registry: &args.registry,
        progress: crate::progress::transfers(printer.quiet() || printer.json),
    };
    let request = Request {
        subject: &subject,
        project: project.as_ref(),
        target: args.target.as_deref(),
        platform: args.platform.as_deref(),
    };
    let subject = gather_subject(&request, &host)?;
    printer.detail(format!(
        "{} {} ({}): {} files, {} packages",
        subject.kind.as_str(),
        subject.name,
        subject.digest,
        subject.files.len(),
        subject.packages.len() + subject.installed.len()
    ));
    Ok(Gathered { subject, project })
}

/// The documents' creation time (`SOURCE_DATE_EPOCH`, else the project's last commit time,
/// else 0) and creator.
fn options(gathered: &Gathered) -> anyhow::Result<DocumentOptions> {
    let created = match &gathered.project {
        Some(project) => context::source_date_epoch(&project.root)?,
        None => context::env_source_date_epoch()?.unwrap_or(0),
    };
    Ok(DocumentOptions {
        created,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
    })
}

/// Writes `document` to `output` atomically (and says so), or to stdout.
fn emit(
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
            "packages": subject.packages.len() + subject.installed.len(),
        }));
    } else {
        printer.info(format!(
            "wrote {} ({what} of {} {} {}: {} files, {} packages)",
            path.display(),
            subject.kind.as_str(),
            subject.name,
            subject.digest,
            subject.files.len(),
            subject.packages.len() + subject.installed.len()
        ));
    }
    Ok(ExitStatus::Success)
}
