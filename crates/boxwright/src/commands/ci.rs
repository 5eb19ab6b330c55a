//! `ci generate` and `ci check`: the CI files of `boxwright-ci`, written to and compared with
//! the project.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use boxwright_archive::AtomicFile;
use boxwright_ci::{FileCheck, GeneratedFile, Options, Provider};
use serde::Serialize;

use super::ExitStatus;
use crate::cli::{CiCheckArgs, CiGenerateArgs, CiProvider, GlobalArgs};
use crate::context;
use crate::printer::Printer;

/// What `ci generate` did with one file.
#[derive(Serialize)]
struct Written {
    path: PathBuf,
    /// `written`, `unchanged` (already current, left alone) or `removed` (stale).
    status: &'static str,
}

/// One file of `ci check --json`.
#[derive(Serialize)]
struct Checked {
    provider: Provider,
    #[serde(flatten)]
    check: FileCheck,
}

pub fn generate(
    global: &GlobalArgs,
    printer: &Printer,
    args: &CiGenerateArgs,
) -> anyhow::Result<ExitStatus> {
    let project = context::project(global)?;
    let provider = provider(args.provider);
    if args.child {
        if provider != Provider::Gitlab {
            bail!(
                "--child is for `ci generate gitlab` only: GitHub workflows have no child pipelines"
            );
        }
        let text = boxwright_ci::gitlab_child_pipeline(&project.metadata, &options())?;
        if printer.json {
            printer.json(&serde_json::json!({
                "file": boxwright_ci::GITLAB_CHILD_FILE,
                "contents": text,
            }));
        } else {
            printer.raw(&text);
        }
        return Ok(ExitStatus::Success);
    }
    let files = boxwright_ci::generate(&project.metadata, provider, &options())?;
    let root = args.out.clone().unwrap_or_else(|| project.root.clone());
    let mut results = Vec::new();
    for file in &files {
        let path = root.join(&file.path);
        let unchanged = read_optional(&path)?.is_some_and(|text| text == file.contents);
        if !unchanged {
            write_atomically(&path, &file.contents)?;
        }
        let status = if unchanged { "unchanged" } else { "written" };
        results.push(Written { path, status });
    }
    for (relative, _) in stale_files(&root, provider, &files)? {
        let path = root.join(&relative);
        std::fs::remove_file(&path)
            .with_context(|| format!("cannot remove the stale {}", path.display()))?;
        results.push(Written {
            path,
            status: "removed",
        });
    }
    if printer.json {
        printer.json(&results);
    } else {
        for result in &results {
            match result.status {
                "removed" => printer.info(format!(
                    "removed {} (no longer generated)",
                    result.path.display()
                )),
                _ => printer.line(result.path.display()),
            }
        }
        if files.is_empty() {
            printer.info(format!(
                "no {provider} files: no target has release_files or upstream"
            ));
        }
    }
    if provider == Provider::Gitlab && !included_from_gitlab_ci(&root) {
        printer.info(
            "note: include it from .gitlab-ci.yml:\n  include:\n    - local: .gitlab/boxwright.yml",
        );
    }
    Ok(ExitStatus::Success)
}

pub fn check(
    global: &GlobalArgs,
    printer: &Printer,
    args: &CiCheckArgs,
) -> anyhow::Result<ExitStatus> {
    let project = context::project(global)?;
    let root = &project.root;
    let providers: Vec<Provider> = if let Some(chosen) = args.provider {
        vec![provider(chosen)]
    } else {
        let mut found = Vec::new();
        for candidate in Provider::ALL {
            if !generated_on_disk(root, candidate)?.is_empty() {
                found.push(candidate);
            }
        }
        found
    };
    if providers.is_empty() {
        return Err(boxwright_ci::Error::NothingGenerated {
            looked_for: ".github/workflows/boxwright-*.yml, .gitlab/boxwright.yml".into(),
        }
        .into());
    }
    let mut checks = Vec::new();
    for &provider in &providers {
        let files = boxwright_ci::generate(&project.metadata, provider, &options())?;
        for file in &files {
            let actual = read_optional(&root.join(&file.path))?;
            let check = boxwright_ci::compare(&file.path, Some(&file.contents), actual.as_deref());
            checks.push(Checked { provider, check });
        }
        for (relative, contents) in stale_files(root, provider, &files)? {
            let check = boxwright_ci::compare(&relative, None, Some(&contents));
            checks.push(Checked { provider, check });
        }
    }
    let drifted: Vec<&Checked> = checks.iter().filter(|c| !c.check.is_current()).collect();
    if printer.json {
        printer.json(&checks);
    } else {
        for checked in &drifted {
            printer.raw(checked.check.diff.as_deref().unwrap_or_default());
        }
    }
    if drifted.is_empty() {
        printer.info(format!(
            "{} generated CI file{} current ({})",
            checks.len(),
            if checks.len() == 1 { " is" } else { "s are" },
            providers
                .iter()
                .map(|p| p.name())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        return Ok(ExitStatus::Success);
    }
    let mut drifted_providers: Vec<Provider> = drifted.iter().map(|c| c.provider).collect();
    drifted_providers.dedup();
    Err(boxwright_ci::Error::Drift {
        providers: drifted_providers,
        paths: drifted
            .iter()
            .map(|c| format!("{} ({})", c.check.path, status_word(&c.check)))
            .collect(),
    }
    .into())
}

fn status_word(check: &FileCheck) -> &'static str {
    match check.status {
        boxwright_ci::FileStatus::Current => "current",
        boxwright_ci::FileStatus::Changed => "changed",
        boxwright_ci::FileStatus::Missing => "missing",
        boxwright_ci::FileStatus::Stale => "stale",
    }
}

fn provider(chosen: CiProvider) -> Provider {
    match chosen {
        CiProvider::Github => Provider::Github,
        CiProvider::Gitlab => Provider::Gitlab,
    }
}

/// CI installs the boxwright that generated the files.
fn options() -> Options {
    Options {
        boxwright_version: env!("CARGO_PKG_VERSION").to_string(),
    }
}

/// The provider's generated files under `root` (relative path and contents): the files it
/// owns that start with the generated-by-boxwright header.
fn generated_on_disk(root: &Path, provider: Provider) -> anyhow::Result<Vec<(String, String)>> {
    let mut found = Vec::new();
    for dir in provider.directories() {
        let entries = match std::fs::read_dir(root.join(dir)) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(e).with_context(|| format!("cannot list {}", root.join(dir).display()));
            }
        };
        for entry in entries {
            let entry =
                entry.with_context(|| format!("cannot list {}", root.join(dir).display()))?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let relative = format!("{dir}/{name}");
            if !provider.owns(&relative) || !entry.path().is_file() {
                continue;
            }
            if let Some(contents) = read_optional(&entry.path())?
                && boxwright_ci::is_generated(&contents)
            {
                found.push((relative, contents));
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Generated files on disk that are no longer generated (a mirror target removed...).
fn stale_files(
    root: &Path,
    provider: Provider,
    files: &[GeneratedFile],
) -> anyhow::Result<Vec<(String, String)>> {
    Ok(generated_on_disk(root, provider)?
        .into_iter()
        .filter(|(relative, _)| !files.iter().any(|f| &f.path == relative))
        .collect())
}

/// The file's text, or `None` when it does not exist.
fn read_optional(path: &Path) -> anyhow::Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Writes under a temporary name in the same directory, then renames into place.
fn write_atomically(path: &Path, contents: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut file =
        AtomicFile::create(path).with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(contents.as_bytes())
        .and_then(|()| file.commit().map(drop))
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Whether `<root>/.gitlab-ci.yml` names `.gitlab/boxwright.yml`.
fn included_from_gitlab_ci(root: &Path) -> bool {
    std::fs::read_to_string(root.join(".gitlab-ci.yml"))
        .is_ok_and(|text| text.contains(".gitlab/boxwright.yml"))
}
