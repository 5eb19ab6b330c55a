//! One module per command; each takes parsed arguments and the printer.

mod attest;
mod build;
mod ci;
mod fetch;
mod image;
mod init;
mod login;
mod manual;
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

use crate::cli::{
    CiCommand, Cli, Command, ImageCommand, KeyCommand, MetadataCommand, MirrorCommand,
    ReleaseCommand, RepoCommand,
};
pub use crate::exit::ExitStatus;
use crate::printer::Printer;

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
        Command::Image(ImageCommand::Lock(args)) => image::lock(global, printer, &args),
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
        Command::Verify(args) => verify::run(global, printer, &args),
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
        Command::Completions(args) => Ok(manual::completions(printer, &args)),
        Command::Man(args) => manual::man(printer, &args),
        Command::Init(args) => init::run(printer, &args),
        Command::Login(args) => login::login(printer, &args),
        Command::Logout(args) => login::logout(printer, &args),
    }
}
