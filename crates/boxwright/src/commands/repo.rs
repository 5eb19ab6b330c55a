//! `repo index`: signed apk and apt indexes of a repository tree; `repo upload`: packages to
//! `boxwright serve`.

use anyhow::Context;
use boxwright_package::repo::{KeySource, RepoConfig, Repository};
use boxwright_serve::client;

use super::ExitStatus;
use crate::cli::{RepoIndexArgs, RepoUploadArgs};
use crate::printer::Printer;

pub fn index(printer: &Printer, args: &RepoIndexArgs) -> anyhow::Result<ExitStatus> {
    if !args.dir.is_dir() {
        anyhow::bail!("{} is not a directory", args.dir.display());
    }
    let repository = Repository::new(RepoConfig {
        root: args.dir.clone(),
        apk_key: args.apk_key.as_deref().map(KeySource::parse),
        apk_key_name: args.apk_key_name.clone(),
        apt_key: args.apt_key.as_deref().map(KeySource::parse),
        apt_origin: args.origin.clone(),
        apt_label: args.label.clone(),
        index_time: crate::context::env_source_date_epoch_lenient(),
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

pub fn upload(printer: &Printer, args: &RepoUploadArgs) -> anyhow::Result<ExitStatus> {
    let token = match &args.token_env {
        None => None,
        Some(name) => Some(
            crate::context::var(name)
                .filter(|t| !t.trim().is_empty())
                .with_context(|| format!("the token variable {name} is not set or empty"))?,
        ),
    };
    // `--version` is the Alpine version of .apk files and the suite of .deb files, `--repo`
    // the apk repository and the apt component.
    let options = client::GroupOptions {
        // The retired `--version` was the Alpine version for .apk files, the suite for .deb.
        alpine: args.alpine.clone().or_else(|| args.version.clone()),
        repo: args.repo.clone(),
        suite: args.suite.clone().or_else(|| args.version.clone()),
        // An old command line (`--version stable --repo main` for .deb files) meant the
        // component by --repo; a new one says --component.
        component: args
            .component
            .clone()
            .or_else(|| args.version.as_ref().and(args.repo.clone())),
        os_release: std::fs::read_to_string("/etc/os-release").ok(),
    };
    let progress = crate::progress::transfers(printer.quiet() || printer.json);
    let requests = client::plan(&args.files, &options)?;
    let mut all = Vec::new();
    for request in &requests {
        printer.info(format!(
            "uploading {} file(s) to {} (version {}, repo {}, arch {})",
            request.files.len(),
            args.url,
            request.version,
            request.repo,
            request.arch
        ));
        let published = crate::context::block_on(client::upload(
            &args.url,
            request,
            token.as_deref(),
            progress.as_ref(),
        ))?
        .with_context(|| {
            format!(
                "upload of {} to {} failed",
                request
                    .files
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                args.url
            )
        })?;
        for package in &published {
            if !printer.json {
                printer.line(format!(
                    "{} {} {} {} ({})",
                    if package.added { "added" } else { "present" },
                    package.name,
                    package.version,
                    package.arch,
                    package.path
                ));
            }
        }
        all.extend(published);
    }
    if printer.json {
        let packages: Vec<serde_json::Value> = all
            .iter()
            .map(|p| {
                serde_json::json!({
                    "name": p.name, "version": p.version, "arch": p.arch,
                    "format": p.format, "path": p.path, "added": p.added,
                })
            })
            .collect();
        printer.json(&serde_json::json!({ "packages": packages }));
    }
    Ok(ExitStatus::Success)
}
