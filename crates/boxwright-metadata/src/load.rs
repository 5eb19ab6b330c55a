//! Loading `metadata.json`: JSON → shape check (with unknown keys) → templates → checks.

use std::collections::BTreeMap;
use std::path::{Component, Path};

use serde_json::Value;

use crate::model::{Metadata, Target};
use crate::pointer;
use crate::template::{self, TemplateError};
use crate::{Checksum, ChecksumAlgorithm, Error, Result};

/// Top-level keys that are not targets.
const SCHEMA_KEY: &str = "$schema";

/// Variables an `upstream` target's strings may use, known only per version and
/// architecture: such strings are kept as written and filled in by `Target::resolved`.
pub const LATE_VARIABLES: &[&str] = &["VERSION", "ARCH", "UNAME_ARCH"];

impl Metadata {
    /// Loads `path`, expanding templates from `env` and then `process_env` (the caller's
    /// environment).
    pub fn load(path: &Path, process_env: &dyn Fn(&str) -> Option<String>) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &text, process_env)
    }

    /// Parses `text` as the content of `path`; `process_env` stands in for the environment.
    pub fn parse(
        path: &Path,
        text: &str,
        process_env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self> {
        let root: Value = serde_json::from_str(text).map_err(|e| Error::Syntax {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            message: strip_position(&e.to_string()),
        })?;
        let Value::Object(entries) = root else {
            return Err(Error::invalid(
                path,
                "",
                "the top level must be an object of targets by name",
            ));
        };
        let mut targets = BTreeMap::new();
        for (name, value) in entries {
            if name == SCHEMA_KEY || name.starts_with("x-") {
                continue;
            }
            let base = pointer::push("", &name);
            check_target_name(path, &base, &name)?;
            let target = load_target(path, &base, value, process_env)?;
            targets.insert(name, target);
        }
        check_unique_prefixes(path, &targets)?;
        check_build_depends(path, &targets)?;
        Ok(Metadata {
            path: path.to_path_buf(),
            targets,
        })
    }
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

fn check_target_name(path: &Path, base: &str, name: &str) -> Result<()> {
    let valid = !name.is_empty()
        && name.len() <= 128
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if valid {
        Ok(())
    } else {
        Err(Error::invalid(
            path,
            base,
            format!(
                "target name {name:?} must match [A-Za-z0-9][A-Za-z0-9._-]* (it names directories)"
            ),
        ))
    }
}

/// Deserialises a target, reporting the first unknown key or type error with its pointer.
fn typed(path: &Path, base: &str, value: &Value) -> Result<Target> {
    let mut unknown: Option<(String, String, Vec<String>)> = None;
    let mut on_ignored = |ignored: serde_ignored::Path<'_>| {
        let (pointer, key) = pointer::from_ignored(base, &ignored);
        if !key.starts_with("x-") && unknown.is_none() {
            let mut parent = pointer::ignored_tokens(&ignored);
            parent.pop();
            unknown = Some((pointer, key, parent));
        }
    };
    let deserializer = serde_ignored::Deserializer::new(value, &mut on_ignored);
    let target: Result<Target, _> = serde_path_to_error::deserialize(deserializer);
    if let Some((pointer, key, parent)) = unknown {
        let known = crate::keys::known_at(&parent);
        let suggestion = boxwright_platform::did_you_mean(&key, known.iter().map(String::as_str))
            .map(str::to_string);
        return Err(Error::UnknownKey {
            path: path.to_path_buf(),
            pointer,
            key,
            suggestion,
        });
    }
    target.map_err(|e| {
        Error::invalid(
            path,
            pointer::from_path(base, e.path()),
            e.inner().to_string(),
        )
    })
}

fn load_target(
    path: &Path,
    base: &str,
    mut value: Value,
    process_env: &dyn Fn(&str) -> Option<String>,
) -> Result<Target> {
    let raw = typed(path, base, &value)?;
    let mirror = raw.upstream.is_some();
    // An image made from packages has no version of its own unless it names one.
    let from_packages = raw.version_env_var.is_empty()
        && raw
            .image
            .as_ref()
            .is_some_and(|image| image.packages.is_some());
    if !mirror && !from_packages && !raw.env.contains_key(&raw.version_env_var) {
        let message = if raw.version_env_var.is_empty() {
            "version_env_var is required (it names the env entry holding the target's version), \
             unless the target has `upstream`"
                .to_string()
        } else {
            format!(
                "version_env_var is `{}` but env has no such entry (it holds the target's version)",
                raw.version_env_var
            )
        };
        let key = if raw.version_env_var.is_empty() {
            "version_env_var"
        } else {
            "env"
        };
        return Err(Error::invalid(path, pointer::push(base, key), message));
    }
    let env = template::resolve_env(&raw.env, process_env).map_err(|(key, err)| {
        template_error(
            path,
            pointer::push(&pointer::push(base, "env"), &key),
            &raw.env[&key],
            err,
        )
    })?;
    // `{VERSION}` is the official version in an ordinary target; in a mirror target it and the
    // architecture variables wait for `Target::resolved`.
    let version = env.get(&raw.version_env_var).cloned();
    let lookup = |name: &str| {
        env.get(name)
            .cloned()
            .or_else(|| {
                (name == "VERSION" && !mirror)
                    .then(|| version.clone())
                    .flatten()
            })
            .or_else(|| process_env(name))
    };
    let mut late = BTreeMap::new();
    if let Value::Object(map) = &mut value {
        for (key, child) in map.iter_mut().filter(|(key, _)| !key.starts_with("x-")) {
            if key == "env" {
                *child = serde_json::to_value(&env).expect("a string map serialises");
            } else {
                let mut strings = Strings {
                    path,
                    base,
                    lookup: &lookup,
                    late: mirror.then_some(&mut late),
                };
                strings.expand(&pointer::push(base, key), child)?;
            }
        }
    }
    let mut target = typed(path, base, &value)?;
    target.late = late;
    check_target(path, base, &target)?;
    Ok(target)
}

fn template_error(path: &Path, pointer: String, value: &str, err: TemplateError) -> Error {
    match err {
        TemplateError::UnknownVariable(variable) => Error::UnknownVariable {
            path: path.to_path_buf(),
            pointer,
            variable,
            value: value.to_string(),
        },
        TemplateError::Cycle { variable, chain } => Error::TemplateCycle {
            path: path.to_path_buf(),
            pointer,
            variable,
            chain,
        },
        limit @ (TemplateError::TooDeep { .. } | TemplateError::TooLarge { .. }) => {
            Error::TemplateLimit {
                path: path.to_path_buf(),
                pointer,
                message: limit.to_string(),
            }
        }
    }
}

/// Expands the templates of every string below a target's key.
struct Strings<'a> {
    path: &'a Path,
    /// The target's pointer, stripped from the pointers recorded in `late`.
    base: &'a str,
    lookup: &'a dyn Fn(&str) -> Option<String>,
    /// For mirror targets: strings using a late variable, kept as written.
    late: Option<&'a mut BTreeMap<String, String>>,
}

impl Strings<'_> {
    fn expand(&mut self, at: &str, value: &mut Value) -> Result<()> {
        match value {
            Value::String(s) => {
                if let Some(late) = self.late.as_deref_mut()
                    && template::variables(s)
                        .iter()
                        .any(|name| LATE_VARIABLES.contains(name))
                {
                    // Every other variable must still be known now.
                    let lookup = self.lookup;
                    template::expand(s, &|name| {
                        if LATE_VARIABLES.contains(&name) {
                            Some(String::new())
                        } else {
                            lookup(name)
                        }
                    })
                    .map_err(|e| template_error(self.path, at.to_string(), s, e))?;
                    let relative = at.strip_prefix(self.base).unwrap_or(at).to_string();
                    late.insert(relative, s.clone());
                    return Ok(());
                }
                *s = template::expand(s, self.lookup)
                    .map_err(|e| template_error(self.path, at.to_string(), s, e))?;
            }
            Value::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    self.expand(&pointer::push(at, &i.to_string()), item)?;
                }
            }
            Value::Object(map) => {
                // Extension values are the user's own: they are not templates.
                for (key, item) in map.iter_mut().filter(|(key, _)| !key.starts_with("x-")) {
                    self.expand(&pointer::push(at, key), item)?;
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
        Ok(())
    }
}

fn check_upstream(path: &Path, base: &str, target: &Target) -> Result<()> {
    let Some(upstream) = &target.upstream else {
        return Ok(());
    };
    let at = pointer::push(base, "upstream");
    match (&upstream.github, &upstream.gitlab) {
        (Some(repo), None) => {
            let parts: Vec<&str> = repo.split('/').collect();
            if parts.len() != 2 || parts.iter().any(|p| p.is_empty()) {
                return Err(Error::invalid(
                    path,
                    pointer::push(&at, "github"),
                    format!("github {repo:?} must be `owner/repo`"),
                ));
            }
        }
        (None, Some(project)) => {
            if project.is_empty() || project.starts_with('/') || project.ends_with('/') {
                return Err(Error::invalid(
                    path,
                    pointer::push(&at, "gitlab"),
                    format!("gitlab {project:?} must be a project path (`group/project`) or id"),
                ));
            }
        }
        _ => {
            return Err(Error::invalid(
                path,
                at,
                "upstream needs exactly one of `github` (owner/repo) and `gitlab` (project path or id)",
            ));
        }
    }
    if let Some(pattern) = &upstream.tag_regex {
        let regex = regex::Regex::new(pattern).map_err(|e| {
            Error::invalid(
                path,
                pointer::push(&at, "tag_regex"),
                format!("tag_regex does not compile: {e}"),
            )
        })?;
        let named: Vec<&str> = regex.capture_names().flatten().collect();
        if !named.is_empty() && !named.contains(&"version") {
            return Err(Error::invalid(
                path,
                pointer::push(&at, "tag_regex"),
                format!("tag_regex names groups {named:?} but no `version` group"),
            ));
        }
    }
    if upstream.max_versions == 0 {
        return Err(Error::invalid(
            path,
            pointer::push(&at, "max_versions"),
            "max_versions must be at least 1",
        ));
    }
    Ok(())
}

fn check_layers(path: &Path, base: &str, target: &Target) -> Result<()> {
    let Some(image) = &target.image else {
        return Ok(());
    };
    let names: Vec<&str> = target
        .downloads
        .iter()
        .map(crate::Download::file_name)
        .collect();
    for (i, layer) in image.layers.iter().enumerate() {
        let at = pointer::push(
            &pointer::push(&pointer::push(base, "image"), "layers"),
            &i.to_string(),
        );
        let ((Some(source), None) | (None, Some(source))) = (&layer.archive, &layer.file) else {
            return Err(Error::invalid(
                path,
                at,
                "a layer needs exactly one of `archive` and `file`",
            ));
        };
        if !names.contains(&source.as_str()) {
            return Err(Error::invalid(
                path,
                at,
                format!(
                    "`{source}` is not the name of one of the target's downloads (names: {})",
                    names.join(", ")
                ),
            ));
        }
        if !layer.to.starts_with('/') {
            return Err(Error::invalid(
                path,
                pointer::push(&at, "to"),
                format!(
                    "`to` must be an absolute path in the image, not {:?}",
                    layer.to
                ),
            ));
        }
        if let Some(mode) = &layer.mode
            && (layer.archive.is_some()
                || u32::from_str_radix(mode, 8).map_or(true, |m| m > 0o7777))
        {
            return Err(Error::invalid(
                path,
                pointer::push(&at, "mode"),
                format!("mode {mode:?} must be an octal mode such as \"0755\", on a `file` layer"),
            ));
        }
    }
    Ok(())
}

fn check_target(path: &Path, base: &str, target: &Target) -> Result<()> {
    check_upstream(path, base, target)?;
    check_layers(path, base, target)?;
    if let Some(image) = &target.image {
        crate::packages_check::check_image(path, &pointer::push(base, "image"), image)?;
    }
    if let Some(prefix) = &target.tag_prefix
        && (prefix.is_empty() || prefix.chars().any(|c| c.is_whitespace() || c.is_control()))
    {
        return Err(Error::invalid(
            path,
            pointer::push(base, "tag_prefix"),
            format!("tag_prefix {prefix:?} must be non-empty and contain no whitespace"),
        ));
    }
    if let Some(url) = target.source_url.as_deref().filter(|u| !u.is_empty()) {
        check_source_url(path, &pointer::push(base, "source_url"), url)?;
    }
    for (i, download) in target.downloads.iter().enumerate() {
        let at = pointer::push(&pointer::push(base, "downloads"), &i.to_string());
        check_download(path, &at, download)?;
    }
    if let Some(release) = &target.release {
        check_release(path, &pointer::push(base, "release"), release)?;
    }
    if let Some(package) = &target.package {
        check_package(path, &pointer::push(base, "package"), package)?;
    }
    for (i, file) in target.release_files.iter().enumerate() {
        let at = pointer::push(&pointer::push(base, "release_files"), &i.to_string());
        if let Err(why) = check_relative(file) {
            return Err(Error::invalid(
                path,
                at,
                format!("release file {file:?} {why}"),
            ));
        }
    }
    Ok(())
}

/// Artifact names are plain file names; sources are `archive` or `file:` a relative path.
fn check_release(path: &Path, base: &str, release: &crate::Release) -> Result<()> {
    let artifacts = pointer::push(base, "artifacts");
    for (name, source) in &release.artifacts {
        let at = pointer::push(&artifacts, name);
        if name.is_empty()
            || name.contains('/')
            || name.starts_with('.')
            || name == "manifest.json"
            || name.chars().any(char::is_control)
        {
            return Err(Error::invalid(
                path,
                at,
                format!(
                    "artifact name {name:?} must be a file name (no `/`, not hidden, not \
                     manifest.json)"
                ),
            ));
        }
        if source == "archive" || source == "rootfs" {
            continue;
        }
        match source.strip_prefix("file:") {
            Some(file) => {
                if let Err(why) = check_relative(file) {
                    return Err(Error::invalid(
                        path,
                        at,
                        format!("artifact file {file:?} {why}"),
                    ));
                }
            }
            None => {
                return Err(Error::invalid(
                    path,
                    at,
                    format!(
                        "artifact source {source:?} must be `archive`, `rootfs` or `file:PATH`"
                    ),
                ));
            }
        }
    }
    for (i, image) in release.images.iter().enumerate() {
        if let Err(why) = check_release_image(image) {
            return Err(Error::invalid(
                path,
                pointer::push(&pointer::push(base, "images"), &i.to_string()),
                format!("release image {image:?} {why}"),
            ));
        }
    }
    if let Some(name) = release.manifest_key_env.as_deref()
        && (name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
    {
        return Err(Error::invalid(
            path,
            pointer::push(base, "manifest_key_env"),
            format!("manifest_key_env {name:?} must be an environment variable name"),
        ));
    }
    Ok(())
}

/// A release image (templates already expanded): `HOST/PATH[:TAG]` of letters, digits and
/// `._-/:`; never a digest (that is what the manifest records).
fn check_release_image(plain: &str) -> std::result::Result<(), &'static str> {
    if plain.contains('@') {
        return Err("must not hold a digest: the manifest records the digest it resolves to");
    }
    let Some((host, _)) = plain.split_once('/') else {
        return Err("must name a registry host and a repository: HOST/PATH[:TAG]");
    };
    let valid = !host.is_empty()
        && plain.starts_with(|c: char| c.is_ascii_alphanumeric())
        && !plain.ends_with(['/', ':'])
        && plain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/:".contains(c));
    if valid {
        Ok(())
    } else {
        Err("must be HOST/PATH[:TAG] of letters, digits and . _ - / :")
    }
}

/// Package names, scripts, prefix, conffiles and subpackage globs.
fn check_package(path: &Path, base: &str, package: &crate::Package) -> Result<()> {
    let package_name = |name: &str| {
        name.len() >= 2
            && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+.-".contains(c))
    };
    if let Some(name) = &package.name
        && !package_name(name)
    {
        return Err(Error::invalid(
            path,
            pointer::push(base, "name"),
            format!(
                "package name {name:?} must be lower-case letters, digits and `+.-`, at least \
                 two characters"
            ),
        ));
    }
    for key in package.scripts.keys() {
        if !crate::PACKAGE_SCRIPTS.contains(&key.as_str()) {
            return Err(Error::invalid(
                path,
                pointer::push(&pointer::push(base, "scripts"), key),
                format!(
                    "unknown install script `{key}` (known: {})",
                    crate::PACKAGE_SCRIPTS.join(", ")
                ),
            ));
        }
    }
    if let Some(prefix) = &package.prefix
        && (!prefix.starts_with('/')
            || Path::new(prefix)
                .components()
                .any(|c| !matches!(c, Component::Normal(_) | Component::RootDir)))
    {
        return Err(Error::invalid(
            path,
            pointer::push(base, "prefix"),
            format!("prefix {prefix:?} must be an absolute path without `..`"),
        ));
    }
    for (i, file) in package.conffiles.iter().enumerate() {
        if !file.starts_with('/') || file.contains("/../") || file.ends_with('/') {
            return Err(Error::invalid(
                path,
                pointer::push(&pointer::push(base, "conffiles"), &i.to_string()),
                format!("conffile {file:?} must be an absolute file path"),
            ));
        }
    }
    let lists = [
        ("depends", &package.depends),
        ("provides", &package.provides),
    ];
    for (key, list) in lists {
        for (i, item) in list.iter().enumerate() {
            if item.trim().is_empty() || item.contains([',', '\n']) {
                return Err(Error::invalid(
                    path,
                    pointer::push(&pointer::push(base, key), &i.to_string()),
                    format!("{key} entry {item:?} must be one non-empty name (no `,`)"),
                ));
            }
        }
    }
    let subpackages = pointer::push(base, "subpackages");
    for (suffix, globs) in &package.subpackages {
        let at = pointer::push(&subpackages, suffix);
        if !package_name(&format!("x-{suffix}")) || suffix.is_empty() {
            return Err(Error::invalid(
                path,
                at,
                format!(
                    "subpackage suffix {suffix:?} must be lower-case letters, digits and `+.-`"
                ),
            ));
        }
        for (i, glob) in globs.iter().enumerate() {
            if let Err(why) = check_relative(glob) {
                return Err(Error::invalid(
                    path,
                    pointer::push(&at, &i.to_string()),
                    format!("glob {glob:?} {why}"),
                ));
            }
        }
    }
    Ok(())
}

/// `source_url` is published as written: it must already be what cleaning would make of it.
fn check_source_url(path: &Path, at: &str, url: &str) -> Result<()> {
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(Error::invalid(
            path,
            at,
            format!(
                "source_url {url:?} must be an https:// or http:// URL (or \"\" to record none)"
            ),
        ));
    }
    match crate::publishable_source_url(url) {
        Some(clean) if clean == url => Ok(()),
        Some(clean) => Err(Error::invalid(
            path,
            at,
            format!("source_url must not carry credentials, a query or `.git`: write {clean:?}"),
        )),
        None => Err(Error::invalid(
            path,
            at,
            "source_url has no valid host name",
        )),
    }
}

fn check_download(path: &Path, at: &str, download: &crate::Download) -> Result<()> {
    let url = &download.url;
    if !(url.starts_with("https://") || url.starts_with("http://") || url.starts_with("file:")) {
        return Err(Error::invalid(
            path,
            pointer::push(at, "url"),
            format!("url {url:?} must start with https://, http:// or file:"),
        ));
    }
    let name = download.file_name();
    let safe = !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\', '\0'])
        && !name.starts_with('.');
    if !safe {
        let key = if download.name.is_some() {
            "name"
        } else {
            "url"
        };
        return Err(Error::invalid(
            path,
            pointer::push(at, key),
            format!(
                "download file name {name:?} must be a plain file name (no `/`, not starting with `.`)"
            ),
        ));
    }
    for (algorithm, hex) in [
        (ChecksumAlgorithm::Sha256, &download.sha256),
        (ChecksumAlgorithm::Sha512, &download.sha512),
    ] {
        if let Some(hex) = hex {
            Checksum::parse(algorithm, hex).map_err(|why| {
                Error::invalid(path, pointer::push(at, algorithm.key()), why.to_string())
            })?;
        }
    }
    Ok(())
}

/// A path that stays below the directory it is joined to.
fn check_relative(file: &str) -> std::result::Result<(), &'static str> {
    let p = Path::new(file);
    if file.is_empty() {
        return Err("is empty");
    }
    if p.is_absolute() {
        return Err("must be relative to the output directory");
    }
    if p.components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err("must not contain `..`");
    }
    Ok(())
}

/// Every `build_depends` entry names another target of the file, once, and no chain of them
/// comes back to where it started.
fn check_build_depends(path: &Path, targets: &BTreeMap<String, Target>) -> Result<()> {
    for (name, target) in targets {
        let mut seen = std::collections::BTreeSet::new();
        for (i, dependency) in target.build_depends.iter().enumerate() {
            let at = pointer::push(
                &pointer::push(&pointer::push("", name), "build_depends"),
                &i.to_string(),
            );
            if dependency == name {
                return Err(Error::invalid(
                    path,
                    at,
                    format!("`{name}` cannot depend on itself"),
                ));
            }
            if !targets.contains_key(dependency) {
                let known: Vec<&str> = targets.keys().map(String::as_str).collect();
                return Err(Error::invalid(
                    path,
                    at,
                    format!(
                        "build dependency `{dependency}` is not a target of this file (targets: {})",
                        known.join(", ")
                    ),
                ));
            }
            if !seen.insert(dependency) {
                return Err(Error::invalid(
                    path,
                    at,
                    format!("`{dependency}` is listed twice"),
                ));
            }
        }
    }
    // Depth-first search with three colours; the grey stack is the chain shown.
    let mut done = std::collections::BTreeSet::new();
    for start in targets.keys() {
        let mut stack: Vec<String> = Vec::new();
        if let Some(cycle) = find_cycle(targets, start, &mut stack, &mut done) {
            let first = &cycle[0];
            return Err(Error::invalid(
                path,
                pointer::push(&pointer::push("", first), "build_depends"),
                format!("build dependencies form a cycle: {}", cycle.join(" -> ")),
            ));
        }
    }
    Ok(())
}

/// The cycle through `name`'s dependencies, as the chain of names that closes it.
fn find_cycle(
    targets: &BTreeMap<String, Target>,
    name: &str,
    stack: &mut Vec<String>,
    done: &mut std::collections::BTreeSet<String>,
) -> Option<Vec<String>> {
    if done.contains(name) {
        return None;
    }
    if let Some(position) = stack.iter().position(|n| n == name) {
        let mut cycle = stack[position..].to_vec();
        cycle.push(name.to_string());
        return Some(cycle);
    }
    stack.push(name.to_string());
    for dependency in &targets[name].build_depends {
        if let Some(cycle) = find_cycle(targets, dependency, stack, done) {
            return Some(cycle);
        }
    }
    stack.pop();
    done.insert(name.to_string());
    None
}

fn check_unique_prefixes(path: &Path, targets: &BTreeMap<String, Target>) -> Result<()> {
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for (name, target) in targets {
        let prefix = target.tag_prefix(name);
        if let Some(other) = seen.insert(prefix, name) {
            return Err(Error::invalid(
                path,
                pointer::push(&pointer::push("", name), "tag_prefix"),
                format!("tag prefix {prefix:?} is used by both `{other}` and `{name}`"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Metadata> {
        Metadata::parse(Path::new("metadata.json"), text, &|name| {
            (name == "DISTRO_VERSION").then(|| "v0.1.0".to_string())
        })
    }

    const SEED: &str = r#"{
      "your-target": {
        "tag_prefix": "your-target",
        "version_env_var": "YOUR_TARGET_VERSION",
        "release_files": ["bin/your-target"],
        "env": { "ALPINE_VERSION": "3.23", "YOUR_TARGET_VERSION": "1.0.0", "UBI9_MICRO_VERSION": "9.5" },
        "downloads": [
          { "url": "https://example.com/your-target-{YOUR_TARGET_VERSION}.tar.gz",
            "name": "your-target-{YOUR_TARGET_VERSION}.tar.gz" }
        ]
      }
    }"#;

    #[test]
    fn require_target_names_the_known_targets() {
        let metadata = parse(SEED).unwrap();
        assert!(metadata.require_target("your-target").is_ok());
        let error = metadata.require_target("other").unwrap_err();
        assert!(matches!(&error, Error::UnknownTarget { name, .. } if name == "other"));
        assert_eq!(
            error.to_string(),
            "unknown target `other` (known: your-target)"
        );
    }

    #[test]
    fn seed_entry_loads_and_expands_templates() {
        let m = parse(SEED).unwrap();
        let t = m.target("your-target").unwrap();
        assert_eq!(t.version(), "1.0.0");
        assert_eq!(
            t.downloads[0].url,
            "https://example.com/your-target-1.0.0.tar.gz"
        );
        assert_eq!(t.downloads[0].file_name(), "your-target-1.0.0.tar.gz");
    }

    #[test]
    fn unknown_key_names_its_pointer() {
        let text = SEED.replace("\"release_files\"", "\"release_file\"");
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.contains("/your-target/release_file"), "{err}");
        assert!(
            err.ends_with(
                "unknown key `release_file`; did you mean `release_files`? \
                 (extension keys must start with `x-`)"
            ),
            "{err}"
        );
    }

    #[test]
    fn nested_unknown_key_and_extension_keys() {
        let text = SEED.replace("\"name\":", "\"x-note\": \"ok\", \"nmae\": 1, \"name\":");
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.contains("/your-target/downloads/0/nmae"), "{err}");
        assert!(err.contains("did you mean `name`?"), "{err}");
        let err = parse(&SEED.replace("\"env\"", "\"image\": {\"platfroms\": []}, \"env\""))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/your-target/image/platfroms")
                && err.contains("did you mean `platforms`?"),
            "{err}"
        );
        let err = parse(&SEED.replace("\"env\"", "\"zzzz\": 1, \"env\""))
            .unwrap_err()
            .to_string();
        assert!(!err.contains("did you mean"), "{err}");
        let ok = SEED.replace("\"name\":", "\"x-note\": {\"any\": 1}, \"name\":");
        parse(&ok).unwrap();
    }

    #[test]
    fn release_objects_load_and_are_checked() {
        let release = r#""release": { "artifacts": { "{TAG}.tar.gz": "archive",
            "404-distro.tar.gz": "file:.out/distro-{YOUR_TARGET_VERSION}.tar.gz" },
            "manifest_key_env": "DISTRO_MANIFEST_SIGNING_KEY", "signature": "minisign" },
            "tag_prefix""#;
        let m = parse(&SEED.replacen("\"tag_prefix\"", release, 1)).unwrap();
        let r = m.target("your-target").unwrap().release.as_ref().unwrap();
        assert_eq!(r.artifacts["{TAG}.tar.gz"], "archive");
        assert_eq!(
            r.artifacts["404-distro.tar.gz"],
            "file:.out/distro-1.0.0.tar.gz"
        );
        assert_eq!(r.signature, crate::SignatureFormat::Minisign);
        let with_image = release.replace(
            "\"signature\"",
            "\"images\": [\"127.0.0.1:5000/ns/distro:{YOUR_TARGET_VERSION}\"], \"signature\"",
        );
        let m = parse(&SEED.replacen("\"tag_prefix\"", &with_image, 1)).unwrap();
        let r = m.target("your-target").unwrap().release.as_ref().unwrap();
        assert_eq!(r.images, ["127.0.0.1:5000/ns/distro:1.0.0"]);
        for (bad, expected) in [
            ("\"signature\": \"minisign\"", "\"signatur\": \"minisign\""),
            ("\"signature\": \"minisign\"", "\"signature\": \"gpg\""),
            ("\"archive\"", "\"tarball\""),
            ("file:.out/", "file:/abs/"),
            ("{TAG}.tar.gz", "a/{TAG}.tar.gz"),
            (
                "\"signature\"",
                "\"images\": [\"ghcr.io/ns/d@sha256:00\"], \"signature\"",
            ),
            ("\"signature\"", "\"images\": [\"distro:1\"], \"signature\""),
        ] {
            let text = SEED.replacen("\"tag_prefix\"", &release.replace(bad, expected), 1);
            let err = parse(&text).unwrap_err().to_string();
            assert!(err.contains("/your-target/release"), "{expected}: {err}");
        }
    }

    #[test]
    fn package_objects_load_and_are_checked() {
        let package = r#""package": { "description": "Hello", "depends": ["musl"],
            "scripts": { "post-install": "echo hi" }, "revision": 2, "prefix": "/opt/hello",
            "subpackages": { "doc": ["share/doc/**"] } },
            "tag_prefix""#;
        let m = parse(&SEED.replacen("\"tag_prefix\"", package, 1)).unwrap();
        let p = m.target("your-target").unwrap().package.as_ref().unwrap();
        assert_eq!(p.revision, 2);
        assert_eq!(p.depends, ["musl"]);
        assert_eq!(p.subpackages["doc"], ["share/doc/**"]);
        for (bad, expected) in [
            (r#""depends": "musl""#, "/your-target/package/depends"),
            (r#""depends": ["a, b"]"#, "/your-target/package/depends/0"),
            (r#""name": "Hello""#, "/your-target/package/name"),
            (
                r#""scripts": { "install": "x" }"#,
                "/your-target/package/scripts/install",
            ),
            (r#""prefix": "usr""#, "/your-target/package/prefix"),
            (
                r#""conffiles": ["etc/x"]"#,
                "/your-target/package/conffiles/0",
            ),
            (
                r#""subpackages": { "doc": ["../x"] }"#,
                "/your-target/package/subpackages/doc/0",
            ),
            (
                r#""subpackages": { "Doc": ["x"] }"#,
                "/your-target/package/subpackages/Doc",
            ),
            (r#""revison": 1"#, "/your-target/package/revison"),
        ] {
            let text = SEED.replacen(
                "\"tag_prefix\"",
                &format!("\"package\": {{ {bad} }}, \"tag_prefix\""),
                1,
            );
            let err = parse(&text).unwrap_err().to_string();
            assert!(err.contains(expected), "{bad}: {err}");
        }
    }

    #[test]
    fn extension_values_are_not_templates() {
        let text = SEED.replace(
            "\"tag_prefix\"",
            "\"x-doc\": \"{NOT_A_VAR}\", \"tag_prefix\"",
        );
        parse(&text).unwrap();
    }

    #[test]
    fn wrong_type_names_its_pointer() {
        let text = SEED.replace("[\"bin/your-target\"]", "\"bin/your-target\"");
        let err = parse(&text).unwrap_err().to_string();
        assert!(
            err.contains("at /your-target/release_files: invalid type: string"),
            "{err}"
        );
    }

    #[test]
    fn missing_version_variable_is_an_error() {
        let text = SEED.replace("\"YOUR_TARGET_VERSION\": \"1.0.0\",", "");
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.contains("/your-target/env"), "{err}");
        assert!(err.contains("YOUR_TARGET_VERSION"), "{err}");
    }

    #[test]
    fn unknown_variable_falls_back_to_process_then_fails() {
        let text = SEED.replace("bin/your-target\"]", "bin/{DISTRO_VERSION}\", \"{NOPE}\"]");
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.contains("/your-target/release_files/1"), "{err}");
        assert!(err.contains("unknown variable `NOPE`"), "{err}");
        let ok = SEED.replace("bin/your-target\"]", "bin/{DISTRO_VERSION}\"]");
        assert_eq!(
            parse(&ok).unwrap().targets["your-target"].release_files,
            ["bin/v0.1.0"]
        );
    }

    #[test]
    fn hostile_names_and_paths_are_refused() {
        let err = parse(&SEED.replace("\"name\": \"your", "\"name\": \"../your")).unwrap_err();
        assert!(err.to_string().contains("/downloads/0/name"), "{err}");
        let err = parse(&SEED.replace("bin/your-target", "../etc/passwd")).unwrap_err();
        assert!(err.to_string().contains("/release_files/0"), "{err}");
        let err = parse(&SEED.replace("\"your-target\": {", "\"../x\": {")).unwrap_err();
        assert!(err.to_string().contains("target name"), "{err}");
    }

    #[test]
    fn syntax_errors_carry_line_and_column() {
        let err = parse("{\n  \"a\": ,\n}").unwrap_err().to_string();
        assert!(err.starts_with("metadata.json:2:"), "{err}");
    }

    #[test]
    fn duplicate_prefixes_are_refused() {
        let text = r#"{"a": {"tag_prefix": "p", "version_env_var": "V", "env": {"V": "1"}},
                       "b": {"tag_prefix": "p", "version_env_var": "V", "env": {"V": "1"}}}"#;
        assert!(
            parse(text)
                .unwrap_err()
                .to_string()
                .contains("used by both")
        );
    }

    #[test]
    fn bad_checksums_are_refused() {
        let text = SEED.replace("\"name\":", "\"sha256\": \"abc\", \"name\":");
        let err = parse(&text).unwrap_err().to_string();
        assert!(
            err.contains("/downloads/0/sha256") && err.contains("64 hex digits"),
            "{err}"
        );
    }

    #[test]
    fn source_url_must_be_clean() {
        let with = |url: &str| {
            SEED.replace(
                "\"tag_prefix\"",
                &format!("\"source_url\": {url:?}, \"tag_prefix\""),
            )
        };
        let ok = parse(&with("https://example.invalid/acme/bw")).unwrap();
        assert_eq!(
            ok.target("your-target").unwrap().source_url.as_deref(),
            Some("https://example.invalid/acme/bw")
        );
        assert!(parse(&with("")).is_ok());
        let err = parse(&with("https://u:tok@example.invalid/acme/bw.git"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/your-target/source_url")
                && err.contains("credentials")
                && err.contains("\"https://example.invalid/acme/bw\"")
                && !err.contains("write \"https://u:"),
            "{err}"
        );
        let err = parse(&with("git@example.invalid:acme/bw"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("must be an https:// or http:// URL"), "{err}");
    }

    fn with_depends(depends: &[(&str, &[&str])]) -> String {
        let targets: Vec<String> = depends
            .iter()
            .map(|(name, deps)| {
                format!(
                    r#""{name}": {{"version_env_var": "V", "env": {{"V": "1"}}, "build_depends": {}}}"#,
                    serde_json::to_string(deps).unwrap()
                )
            })
            .collect();
        format!("{{{}}}", targets.join(","))
    }

    #[test]
    fn build_order_puts_dependencies_first() {
        let m = parse(&with_depends(&[
            ("nginx", &["zlib", "openssl", "pcre2"]),
            ("openssl", &["zlib"]),
            ("pcre2", &[]),
            ("zlib", &[]),
            ("other", &[]),
        ]))
        .unwrap();
        assert_eq!(
            m.build_order(&["nginx".to_string()]),
            ["zlib", "openssl", "pcre2", "nginx"]
        );
        assert_eq!(m.build_order(&["pcre2".to_string()]), ["pcre2"]);
    }

    #[test]
    fn dependency_cycles_and_unknown_targets_are_refused() {
        let err = parse(&with_depends(&[
            ("a", &["b"]),
            ("b", &["c"]),
            ("c", &["a"]),
        ]))
        .unwrap_err()
        .to_string();
        assert!(err.contains("cycle: a -> b -> c -> a"), "{err}");
        let err = parse(&with_depends(&[("a", &["a"])]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/a/build_depends/0") && err.contains("itself"),
            "{err}"
        );
        let err = parse(&with_depends(&[("a", &["zlib"])]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/a/build_depends/0") && err.contains("`zlib` is not a target"),
            "{err}"
        );
        let err = parse(&with_depends(&[("a", &["b", "b"]), ("b", &[])]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("listed twice"), "{err}");
    }

    const MIRROR: &str = r#"{
      "mattermost": {
        "upstream": {"github": "mattermost/mattermost", "tag_regex": "^v(?P<version>[0-9.]+)$"},
        "env": {"EDITION": "team"},
        "downloads": [
          {"url": "https://releases.example.invalid/{VERSION}/mattermost-{EDITION}-{VERSION}-linux-{ARCH}.tar.gz",
           "name": "mattermost-{VERSION}-linux-{ARCH}.tar.gz"},
          {"url": "https://bin.example.invalid/mostlymatter-{UNAME_ARCH}-v{VERSION}", "name": "mostlymatter-{ARCH}-v{VERSION}"}
        ],
        "image": {
          "repository": "registry.example.invalid/ns/mattermost",
          "platforms": ["linux/amd64", "linux/arm64"],
          "runners": {"arm64": "ubuntu-24.04-arm"},
          "layers": [
            {"archive": "mattermost-{VERSION}-linux-{ARCH}.tar.gz", "to": "/opt", "strip_components": 0},
            {"file": "mostlymatter-{ARCH}-v{VERSION}", "to": "/opt/mattermost/bin/mattermost", "mode": "0755"}
          ],
          "labels": {"edition": "{EDITION}"}
        }
      }
    }"#;

    #[test]
    fn platforms_architectures_and_bases_are_checked_at_load() {
        let err = parse(&MIRROR.replace("\"linux/arm64\"", "\"linux/amd46\""))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "at /mattermost/image/platforms/1: unknown platform `linux/amd46`; \
                 did you mean `linux/amd64`? (known: linux/amd64, linux/arm64,"
            ),
            "{err}"
        );
        let err = parse(&MIRROR.replace("{\"arm64\":", "{\"arm46\":"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "at /mattermost/image/runners/arm46: unknown architecture `arm46`; \
                 did you mean `arm64`?"
            ),
            "{err}"
        );
        let with_base = |base: &str| {
            MIRROR.replace(
                "\"platforms\"",
                &format!("\"base\": \"{base}\", \"platforms\""),
            )
        };
        let err = parse(&with_base("scrach")).unwrap_err().to_string();
        assert!(
            err.contains(
                "at /mattermost/image/base: base `scrach` is not `scratch`; did you mean `scratch`?"
            ),
            "{err}"
        );
        for fine in [
            "scratch",
            "registry.example:5000/scrach",
            "alpine:3.20",
            "base.tar",
        ] {
            parse(&with_base(fine)).unwrap();
        }
    }

    #[test]
    fn mirror_targets_keep_late_templates_until_resolved() {
        let m = parse(MIRROR).unwrap();
        let t = m.target("mattermost").unwrap();
        assert_eq!(t.version(), "");
        assert_eq!(
            t.downloads[0].url,
            "https://releases.example.invalid/{VERSION}/mattermost-{EDITION}-{VERSION}-linux-{ARCH}.tar.gz"
        );
        assert_eq!(t.image.as_ref().unwrap().labels["edition"], "team");
        let r = t.resolved("10.3.1", "arm64", &|_| None).unwrap();
        assert_eq!(r.version(), "10.3.1");
        assert_eq!(
            r.downloads[0].url,
            "https://releases.example.invalid/10.3.1/mattermost-team-10.3.1-linux-arm64.tar.gz"
        );
        assert_eq!(
            r.downloads[1].url,
            "https://bin.example.invalid/mostlymatter-aarch64-v10.3.1"
        );
        let image = r.image.unwrap();
        assert_eq!(
            image.layers[1].file.as_deref(),
            Some("mostlymatter-arm64-v10.3.1")
        );
        assert_eq!(
            image.layers[0].archive.as_deref(),
            Some("mattermost-10.3.1-linux-arm64.tar.gz")
        );
    }

    #[test]
    fn mirror_targets_are_checked() {
        let err = parse(&MIRROR.replace("{EDITION}-", "{NOPE}-"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/mattermost/downloads/0/url") && err.contains("`NOPE`"),
            "{err}"
        );
        let err = parse(&MIRROR.replace(r#""github": "mattermost/mattermost", "#, ""))
            .unwrap_err()
            .to_string();
        assert!(err.contains("exactly one of `github`"), "{err}");
        let err = parse(&MIRROR.replace("(?P<version>", "(?P<v>"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("no `version` group"), "{err}");
        let err = parse(&MIRROR.replace(
            r#""file": "mostlymatter-{ARCH}-v{VERSION}""#,
            r#""file": "other""#,
        ))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("/mattermost/image/layers/1") && err.contains("`other` is not the name"),
            "{err}"
        );
        let err = parse(&MIRROR.replace(r#""mode": "0755""#, r#""mode": "rwx""#))
            .unwrap_err()
            .to_string();
        assert!(err.contains("octal mode"), "{err}");
        // An ordinary target has {VERSION} at load time, and no {ARCH}.
        let ok = parse(r#"{"a": {"version_env_var": "V", "env": {"V": "1.2"}, "downloads": [{"url": "https://x.invalid/a-{VERSION}.tgz"}]}}"#).unwrap();
        assert_eq!(
            ok.target("a").unwrap().downloads[0].url,
            "https://x.invalid/a-1.2.tgz"
        );
        let err = parse(r#"{"a": {"version_env_var": "V", "env": {"V": "1.2"}, "downloads": [{"url": "https://x.invalid/a-{ARCH}.tgz"}]}}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown variable `ARCH`"), "{err}");
        let err = parse(r#"{"a": {"env": {}}}"#).unwrap_err().to_string();
        assert!(
            err.contains("/a/version_env_var") && err.contains("required"),
            "{err}"
        );
    }
}
