//! `image build`: a target's image (assembled by `boxwright-image`) in the asked format.

use anyhow::bail;

use super::ExitStatus;
use crate::cli::{GlobalArgs, ImageBuildArgs};
use crate::context;
use crate::printer::Printer;

pub fn build(
    global: &GlobalArgs,
    printer: &Printer,
    args: &ImageBuildArgs,
) -> anyhow::Result<ExitStatus> {
    let project = context::project(global)?;
    if project
        .metadata
        .target(&args.target)
        .is_some_and(|t| t.upstream.is_some())
    {
        bail!(
            "`{}` is a mirror target: its versions come from upstream; build it with \
             `boxwright mirror build {} --version V --arch A` or `mirror run`",
            args.target,
            args.target
        );
    }
    let written = context::build_image(&project, printer, args)?;
    print_written(printer, &written);
    Ok(ExitStatus::Success)
}

fn print_written(printer: &Printer, written: &boxwright_oci::Written) {
    if printer.json {
        printer.json(written);
    } else {
        printer.line(format!("{}  {}", written.digest, written.path.display()));
        for platform in &written.platforms {
            printer.info(format!(
                "{}: manifest {}, {} layers, {} bytes{}",
                platform.platform,
                platform.manifest,
                platform.layers,
                platform.size,
                match (&platform.base_name, &platform.base_digest) {
                    (Some(name), Some(digest)) => format!(", base {name} ({digest})"),
                    _ => String::new(),
                }
            ));
        }
    }
}
