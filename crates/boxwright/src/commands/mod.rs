//! One module per command; each takes parsed arguments and the printer.

mod attest;
mod build;
mod ci;
mod fetch;
mod image;
mod metadata;
mod mirror;
mod package;
mod registry;
mod release;
mod repo;
mod sbom;
mod schema;
mod serve;
mod sign;
mod targets;
mod verify;

use std::process::ExitCode;

use boxwright_metadata::TagError;

use crate::cli::{
    CiCommand, Cli, Command, ImageCommand, KeyCommand, MetadataCommand, MirrorCommand,
    ReleaseCommand, RepoCommand,
};
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
        Command::Image(ImageCommand::Sign(args)) => attest::sign(printer, &args),
        Command::Image(ImageCommand::Attest(args)) => attest::attest(printer, &args),
        Command::Image(ImageCommand::Verify(args)) => attest::verify(printer, &args),
        Command::Release(ReleaseCommand::Check { tag }) => release::check(global, printer, &tag),
        Command::Release(ReleaseCommand::Package(args)) => release::package(global, printer, &args),
        Command::Release(ReleaseCommand::Manifest(args)) => {
            release::manifest(global, printer, &args)
        }
        Command::Release(ReleaseCommand::Publish(args)) => release::publish(global, printer, &args),
        Command::Release(ReleaseCommand::Verify(args)) => release::verify(printer, &args),
        Command::Verify(args) => verify::run(printer, &args),
        Command::Plan(args) => mirror::plan(global, printer, &args),
        Command::Mirror(MirrorCommand::Run(args)) => mirror::run(global, printer, &args),
        Command::Mirror(MirrorCommand::Build(args)) => mirror::build(global, printer, &args),
        Command::Mirror(MirrorCommand::Merge(args)) => mirror::merge(global, printer, &args),
        Command::Ci(CiCommand::Generate(args)) => ci::generate(global, printer, &args),
        Command::Ci(CiCommand::Check(args)) => ci::check(global, printer, &args),
        Command::Key(KeyCommand::Generate(args)) => sign::generate(printer, &args),
        Command::SignBlob(args) => sign::sign_blob(printer, &args),
        Command::VerifyBlob(args) => sign::verify_blob(printer, &args),
        Command::Sbom(args) => sbom::sbom(global, printer, &args),
        Command::Package(args) => package::run(global, printer, &args),
        Command::Repo(RepoCommand::Index(args)) => repo::index(printer, &args),
        Command::Provenance(args) => sbom::provenance(global, printer, &args),
        Command::Serve(args) => serve::run(printer, &args),
        Command::Repo(RepoCommand::Upload(args)) => repo::upload(printer, &args),
    }
}

/// `cause` as a `T`, also when a library boxed it (a boxed source is a `Box<T>` in the chain).
fn find<'a, T: std::error::Error + 'static>(
    cause: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    cause
        .downcast_ref::<T>()
        .or_else(|| cause.downcast_ref::<Box<T>>().map(AsRef::as_ref))
}

/// A failed check (an invalid release tag, a build's verification or smoke run) exits 1;
/// every other error exits 2.
pub fn classify(error: &anyhow::Error) -> ExitStatus {
    let tag_error = |cause: &(dyn std::error::Error + 'static)| {
        find::<TagError>(cause).is_some()
            || matches!(find(cause), Some(boxwright_release::Error::Tag(_)))
            || matches!(
                find(cause),
                Some(
                    boxwright_build::Error::Verification { .. }
                        | boxwright_build::Error::SmokeFailed { .. }
                )
            )
            || matches!(
                find(cause),
                Some(
                    boxwright_ci::Error::Drift { .. }
                        | boxwright_ci::Error::NothingGenerated { .. }
                )
            )
            || find::<boxwright_sign::Error>(cause)
                .is_some_and(boxwright_sign::Error::is_verification_failure)
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
        if let Some(boxwright_metadata::Error::NotFound { .. }) = find(cause) {
            return Some("run inside a project, or pass --project DIR".into());
        }
        if let Some(boxwright_ci::Error::Drift { providers, .. }) = find(cause) {
            let commands: Vec<String> = providers
                .iter()
                .map(|p| format!("`boxwright ci generate {p}`"))
                .collect();
            return Some(format!(
                "run {} and commit the result",
                commands.join(" and ")
            ));
        }
        if let Some(boxwright_ci::Error::NothingGenerated { .. }) = find(cause) {
            return Some(
                "run `boxwright ci generate github` or `boxwright ci generate gitlab`".into(),
            );
        }
        if let Some(boxwright_fetch::Error::NotCached { .. }) = find(cause) {
            return Some("run `boxwright fetch` once with network access".into());
        }
        if let Some(
            boxwright_sign::Error::WrongPassword | boxwright_sign::Error::PasswordRequired,
        ) = find(cause)
        {
            return Some(format!(
                "give the key's password with --password-stdin or {}",
                boxwright_metadata::env_vars::COSIGN_PASSWORD
            ));
        }
        let image_error = find::<boxwright_sbom::Error>(cause)
            .and_then(boxwright_sbom::Error::image_error)
            .or_else(|| find::<boxwright_oci::Error>(cause));
        if let Some(hint) = image_error.and_then(image_hint) {
            return Some(hint);
        }
        if let Some(boxwright_fetch::Error::ChecksumMismatch { .. }) = find(cause) {
            return Some(
                "if the new file is the one you want, update the digest in metadata.json".into(),
            );
        }
    }
    None
}

/// How to choose an image when a layout holds several.
fn image_hint(error: &boxwright_oci::Error) -> Option<String> {
    match error {
        boxwright_oci::Error::SeveralPlatforms { .. } => {
            Some("choose one with --platform OS/ARCH[/VARIANT]".into())
        }
        boxwright_oci::Error::SeveralImages { path, names } => Some(format!(
            "name one as DIR:TAG: {}",
            names
                .iter()
                .map(|name| format!("{}:{name}", path.display()))
                .collect::<Vec<_>>()
                .join(" or ")
        )),
        _ => None,
    }
}
