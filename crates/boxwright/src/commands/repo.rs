//! `repo index`: signed apk and apt indexes of a repository tree.

use anyhow::Context;
use boxwright_package::repo::{RepoConfig, Repository};

use super::ExitStatus;
use crate::cli::RepoIndexArgs;
use crate::printer::Printer;

pub fn index(printer: &Printer, args: &RepoIndexArgs) -> anyhow::Result<ExitStatus> {
    if !args.dir.is_dir() {
        anyhow::bail!("{} is not a directory", args.dir.display());
    }
    let repository = Repository::new(RepoConfig {
        root: args.dir.clone(),
        apk_key: args.apk_key.clone(),
        apt_key: args.apt_key.clone(),
        apt_origin: args.origin.clone(),
        apt_label: args.label.clone(),
    });
    let summary = repository
        .reindex_all()
        .with_context(|| format!("cannot index {}", args.dir.display()))?;
    if printer.json {
        printer.json(&summary.indexes);
    } else if summary.indexes.is_empty() {
        printer.info(format!(
            "no packages under {} (apk: <version>/<repo>/<arch>/*.apk; apt: apt/pool/<suite>/<component>/*.deb)",
            args.dir.display()
        ));
    } else {
        for index in &summary.indexes {
            printer.line(format!(
                "{} {} ({} packages)",
                index.format, index.scope, index.packages
            ));
        }
    }
    Ok(ExitStatus::Success)
}
