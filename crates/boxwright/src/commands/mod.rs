//! One module per command; each takes parsed arguments and the printer.

mod build;
mod fetch;
mod image;
mod layers;
mod metadata;
mod mirror;
mod provenance;
mod registry;
mod release;
mod sbom;
mod schema;
mod subject;
mod targets;
mod verify;

use std::process::ExitCode;

use boxwright_metadata::TagError;

use crate::cli::{Cli, Command, ImageCommand, MetadataCommand, MirrorCommand, ReleaseCommand};
use crate::printer::Printer;

/// How a command ended (DESIGN: 0 ok, 1 a check failed, 2 usage or input error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Success,
    CheckFailed,
    Error,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        ExitCode::from(match status {
            ExitStatus::Success => 0,
            ExitStatus::CheckFailed => 1,
            ExitStatus::Error => 2,
        })
    }
}

/// Runs the parsed command.
pub fn run(cli: Cli, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let global = &cli.global;
    match cli.command {
        Command::Targets => targets::run(global, printer),
        Command::Metadata(MetadataCommand::Get { target, key }) => {
            metadata::get(global, printer, &target, &key)
        }
        Command::Schema => Ok(schema::run(printer)),
        Command::Fetch(args) => fetch::run(global, printer, &args),
        Command::Build(args) => build::run(global, printer, &args),
        Command::Image(ImageCommand::Build(args)) => image::build(global, printer, &args),
        Command::Image(ImageCommand::Push(args)) => registry::push(printer, &args),
        Command::Image(ImageCommand::Exists(args)) => registry::exists(printer, &args),
        Command::Image(ImageCommand::Tags(args)) => registry::tags(printer, &args),
        Command::Image(ImageCommand::Inspect(args)) => registry::inspect(printer, &args),
        Command::Image(ImageCommand::Merge(args)) => registry::merge(printer, &args),
        Command::Image(ImageCommand::Pull(args)) => registry::pull(printer, &args),
        Command::Release(ReleaseCommand::Check { tag }) => release::check(global, printer, &tag),
        Command::Release(ReleaseCommand::Package(args)) => release::package(global, printer, &args),
        Command::Verify(args) => verify::run(printer, &args),
        Command::Plan(args) => mirror::plan(global, printer, &args),
        Command::Mirror(MirrorCommand::Run(args)) => mirror::run(global, printer, &args),
        Command::Mirror(MirrorCommand::Build(args)) => mirror::build(global, printer, &args),
        Command::Mirror(MirrorCommand::Merge(args)) => mirror::merge(global, printer, &args),
        Command::Sbom(args) => sbom::run(global, printer, &args),
        Command::Provenance(args) => provenance::run(global, printer, &args),
    }
}

/// A failed check (an invalid release tag, a build's verification or smoke run) exits 1;
/// every other error exits 2.
pub fn classify(error: &anyhow::Error) -> ExitStatus {
    let tag_error = |cause: &(dyn std::error::Error + 'static)| {
        cause.is::<TagError>()
            || matches!(cause.downcast_ref(), Some(boxwright_release::Error::Tag(_)))
            || matches!(
                cause.downcast_ref(),
                Some(
                    boxwright_build::Error::Verification { .. }
                        | boxwright_build::Error::SmokeFailed { .. }
                )
            )
    };
    if error.chain().any(tag_error) {
        ExitStatus::CheckFailed
    } else {
        ExitStatus::Error
    }
}

/// A known fix for an error, shown after it.
pub fn hint(error: &anyhow::Error) -> Option<String> {
    for cause in error.chain() {
        if let Some(boxwright_metadata::Error::NotFound { .. }) = cause.downcast_ref() {
            return Some("run inside a project, or pass --project DIR".into());
        }
        if let Some(boxwright_fetch::Error::NotCached { .. }) = cause.downcast_ref() {
            return Some("run `boxwright fetch` once with network access".into());
        }
        if let Some(boxwright_sbom::Error::Image(boxwright_oci::Error::Invalid {
            what: "image",
            message,
            ..
        })) = cause.downcast_ref()
            && message.contains("several platforms")
        {
            return Some("choose one with --platform OS/ARCH[/VARIANT]".into());
        }
        if let Some(boxwright_fetch::Error::ChecksumMismatch { .. }) = cause.downcast_ref() {
            return Some(
                "if the new file is the one you want, update the digest in metadata.json".into(),
            );
        }
    }
    None
}
