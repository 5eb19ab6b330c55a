//! ARCHITECTURE.md's rules, checked against `cargo metadata` and the sources, so a change that
//! breaks one fails here rather than in review.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Each workspace crate's layer (ARCHITECTURE.md, "Dependency rule"): a crate uses only crates
/// of lower layers. A new crate must be placed here (and in ARCHITECTURE.md's crate map).
const LAYERS: &[(&str, u8)] = &[
    ("boxwright-platform", 0),
    ("boxwright-metadata", 1),
    ("boxwright-elf", 1),
    ("boxwright-archive", 1),
    ("boxwright-sign", 1),
    ("boxwright-http", 1),
    ("boxwright-fetch", 2),
    ("boxwright-release", 2),
    ("boxwright-oci", 2),
    ("boxwright-ci", 2),
    ("boxwright-upstream", 2),
    ("boxwright-package", 2),
    ("boxwright-build", 2),
    ("boxwright-registry", 3),
    ("boxwright-distro", 3),
    ("boxwright-serve", 3),
    ("boxwright-image", 4),
    ("boxwright-sbom", 4),
    ("boxwright-publish", 4),
    ("boxwright-mirror", 5),
    ("boxwright", 6),
];

/// Crates that do no network, no async runtime and no process work.
const PURE: &[&str] = &[
    "boxwright-platform",
    "boxwright-metadata",
    "boxwright-elf",
    "boxwright-ci",
    "boxwright-sign",
    "boxwright-distro",
];

/// What a pure crate must not use.
const IMPURE: &[&str] = &[
    "tokio",
    "reqwest",
    "hyper",
    "axum",
    "object_store",
    "boxwright-http",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Workspace crate → its normal (non-dev) dependencies' names.
fn workspace() -> BTreeMap<String, Vec<String>> {
    let out = std::process::Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|package| {
            let dependencies = package["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["kind"].is_null())
                .map(|d| d["name"].as_str().unwrap().to_string())
                .collect();
            (package["name"].as_str().unwrap().to_string(), dependencies)
        })
        .collect()
}

fn layer(name: &str) -> Option<u8> {
    LAYERS.iter().find(|(n, _)| *n == name).map(|(_, l)| *l)
}

#[test]
fn crates_use_only_lower_layers_and_pure_crates_stay_pure() {
    let crates = workspace();
    let mut broken = Vec::new();
    for (name, dependencies) in &crates {
        let Some(own) = layer(name) else {
            broken.push(format!("{name} has no layer in tests/it/architecture.rs"));
            continue;
        };
        for dependency in dependencies {
            if let Some(used) = layer(dependency)
                && used >= own
            {
                broken.push(format!(
                    "{name} (layer {own}) uses {dependency} (layer {used})"
                ));
            }
            if PURE.contains(&name.as_str()) && IMPURE.contains(&dependency.as_str()) {
                broken.push(format!("pure {name} uses {dependency}"));
            }
            if dependency == "anyhow" && name != "boxwright" {
                broken.push(format!("library {name} uses anyhow"));
            }
        }
    }
    assert!(broken.is_empty(), "broken rules:\n{}", broken.join("\n"));
    assert!(crates.len() >= 15, "read only {} crates", crates.len());
}

#[test]
fn every_crate_is_in_the_architecture_crate_map() {
    let text = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let missing: Vec<String> = workspace()
        .into_keys()
        .filter(|name| !text.contains(&format!("  {name}/")))
        .collect();
    assert!(
        missing.is_empty(),
        "not in ARCHITECTURE.md's crate map: {missing:?}"
    );
}

/// `(file, line)` of every line of the workspace's Rust sources (tests excluded) holding
/// `needle`.
fn occurrences(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in walkdir::WalkDir::new(root().join("crates")) {
        let entry = entry.unwrap();
        let path = entry.path();
        let relative = path.strip_prefix(root()).unwrap().display().to_string();
        if relative.contains("/tests/") || path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap();
        for (number, line) in text.lines().enumerate() {
            if line.contains(needle) && !line.trim_start().starts_with("//") {
                found.push(format!("{relative}:{}", number + 1));
            }
        }
    }
    found
}

#[test]
fn one_place_builds_http_clients_and_one_the_async_runtime() {
    let clients: Vec<String> = occurrences("Client::builder()")
        .into_iter()
        .filter(|at| !at.starts_with("crates/boxwright-http/"))
        .collect();
    assert!(
        clients.is_empty(),
        "HTTP clients built outside boxwright-http: {clients:?}"
    );
    let runtimes: Vec<String> = occurrences("runtime::Builder")
        .into_iter()
        .chain(occurrences("Runtime::new("))
        .filter(|at| !at.starts_with("crates/boxwright/src/context"))
        .collect();
    assert!(
        runtimes.is_empty(),
        "async runtimes built outside context.rs: {runtimes:?}"
    );
}

#[test]
fn no_command_module_imports_another() {
    let commands = root().join("crates/boxwright/src/commands");
    let modules: Vec<String> = std::fs::read_dir(&commands)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| Some(p.file_stem()?.to_str()?.to_string()))
        .filter(|m| m != "mod")
        .collect();
    let mut found = Vec::new();
    for entry in walkdir::WalkDir::new(&commands) {
        let entry = entry.unwrap();
        if entry.path().extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).unwrap();
        for module in &modules {
            for pattern in [
                format!("super::{module}::"),
                format!("commands::{module}::"),
            ] {
                if text.contains(&pattern) {
                    found.push(format!("{} uses {pattern}", entry.path().display()));
                }
            }
        }
    }
    assert!(found.is_empty(), "{found:?}");
}

/// Lines of code: not blank, not only a comment, and not in the unit tests (the
/// `#[cfg(test)]` module that ends a file).
fn code_lines(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::trim)
        .take_while(|l| *l != "#[cfg(test)]")
        .filter(|l| !l.is_empty() && !l.starts_with("//"))
        .count()
}

/// The command line stays a thin layer over the libraries (issue 20): at most 4,500 lines of
/// code besides the clap definitions (`cli.rs`, declarations and help text only, at most
/// 1,500) and the unit tests, no other file over 400. Features go into library crates; what
/// stays here is presentation (help and examples, completions, man pages, the error report,
/// progress bars, retired option names) and the glue between arguments and libraries. The
/// limit was 4,000 until issue 22 brought that presentation.
#[test]
fn the_command_line_crate_stays_thin() {
    let src = root().join("crates/boxwright/src");
    let mut total = 0;
    let mut large = Vec::new();
    for entry in walkdir::WalkDir::new(&src) {
        let entry = entry.unwrap();
        if entry.path().extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let lines = code_lines(entry.path());
        if entry.path().ends_with("cli.rs") {
            assert!(
                lines <= 1500,
                "cli.rs holds {lines} lines of code (at most 1,500)"
            );
            continue;
        }
        total += lines;
        if lines > 400 {
            large.push(format!("{} ({lines})", entry.path().display()));
        }
    }
    assert!(
        total <= 4500,
        "crates/boxwright/src holds {total} lines of code besides cli.rs (at most 4,500: move logic into a library crate)"
    );
    assert!(large.is_empty(), "files over 400 lines of code: {large:?}");
}
