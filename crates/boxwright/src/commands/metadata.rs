use anyhow::bail;
use serde_json::{Value, json};

use super::ExitStatus;
use crate::cli::GlobalArgs;
use crate::context;
use crate::printer::Printer;

const KEYS: &str =
    "tag_prefix, version_env_var, version, release_files, build_depends, env.NAME, downloads";

pub fn get(
    global: &GlobalArgs,
    printer: &Printer,
    name: &str,
    key: &str,
) -> anyhow::Result<ExitStatus> {
    let project = context::project(global)?;
    let target = context::target(&project, name)?;
    let (lines, value): (Vec<String>, Value) = match key {
        "tag_prefix" => one(target.tag_prefix(name)),
        "version_env_var" => one(&target.version_env_var),
        "version" => one(target.version()),
        "release_files" => (target.release_files.clone(), json!(target.release_files)),
        "build_depends" => (target.build_depends.clone(), json!(target.build_depends)),
        "downloads" => (
            target
                .downloads
                .iter()
                .map(|d| format!("{}\t{}", d.file_name(), d.url))
                .collect(),
            json!(target
                .downloads
                .iter()
                .map(|d| json!({"name": d.file_name(), "url": d.url, "sha256": d.sha256, "sha512": d.sha512}))
                .collect::<Vec<_>>()),
        ),
        _ => match key.strip_prefix("env.") {
            Some(var) => match target.env.get(var) {
                Some(v) => one(v),
                None => bail!("target `{name}` has no env entry `{var}`"),
            },
            None => bail!("unknown key `{key}` (known: {KEYS})"),
        },
    };
    if printer.json {
        printer.json(&value);
    } else {
        for line in lines {
            printer.line(line);
        }
    }
    Ok(ExitStatus::Success)
}

fn one(value: &str) -> (Vec<String>, Value) {
    (vec![value.to_string()], json!(value))
}
