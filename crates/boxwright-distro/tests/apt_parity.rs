//! The resolver against apt's own: the real bookworm `Packages` indexes of this machine
//! (`apt-get update` fills /var/lib/apt/lists), resolved for an install list, must give the
//! same name=version set as `apt-get install --simulate --no-install-recommends` from an
//! empty package database.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use boxwright_distro::{Candidate, Kind, Options, Relation, resolve};

const LISTS: &str = "/var/lib/apt/lists";
const HINT: &str = "run `apt-get update` (setup.sh does) so that /var/lib/apt/lists holds \
                    Debian's bookworm Packages indexes";

/// The `Packages` files apt reads, decompressed by apt's own helper (lz4, gz, xz).
fn packages_files() -> Vec<PathBuf> {
    let entries =
        std::fs::read_dir(LISTS).unwrap_or_else(|error| panic!("{LISTS}: {error}; {HINT}"));
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("list entry").path())
        .filter(|path| {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            name.contains("_binary-") && name.contains("_Packages")
        })
        .collect();
    files.sort();
    assert!(
        files
            .iter()
            .any(|path| path.to_string_lossy().contains("_bookworm_main_")),
        "no bookworm main Packages index in {LISTS}: {HINT}"
    );
    files
}

fn read_index(path: &Path) -> String {
    let output = Command::new("/usr/lib/apt/apt-helper")
        .arg("cat-file")
        .arg(path)
        .output()
        .unwrap_or_else(|error| panic!("apt-helper: {error}; install apt"));
    assert!(
        output.status.success(),
        "apt-helper cat-file {}",
        path.display()
    );
    String::from_utf8(output.stdout).expect("Packages is UTF-8")
}

/// An install list entry: a bare name.
fn relation(name: &str) -> Relation {
    Relation {
        name: name.to_string(),
        constraint: None,
        arch_qualifier: String::new(),
    }
}

fn universe() -> Vec<Candidate> {
    let mut candidates = Vec::new();
    for (repository, path) in packages_files().iter().enumerate() {
        let text = read_index(path);
        candidates.extend(
            boxwright_distro::apt::parse_packages(&text, repository, &native_arch())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        );
    }
    candidates
}

/// apt's answer: `Inst NAME (VERSION ...)` lines of a simulation with a private, empty
/// package database (and private caches, so nothing of the machine's state is touched).
fn apt_choice(install: &[&str]) -> BTreeSet<String> {
    let state = tempfile::tempdir().expect("temp dir");
    let status = state.path().join("status");
    std::fs::write(&status, "").expect("empty status");
    let option = |key: &str, value: &Path| format!("{key}={}", value.display());
    let output = Command::new("apt-get")
        .args([
            "install",
            "--simulate",
            "--no-install-recommends",
            "--quiet",
        ])
        .args(["-o", &option("Dir::State::status", &status)])
        .args([
            "-o",
            &option(
                "Dir::State::extended_states",
                &state.path().join("extended_states"),
            ),
        ])
        .args(["-o", &option("Dir::Cache", &state.path().join("cache"))])
        .args(["-o", "Debug::NoLocking=1", "-o", "APT::Get::Assume-Yes=1"])
        .args(install)
        .output()
        .unwrap_or_else(|error| panic!("apt-get: {error}; this test needs Debian's apt"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "apt-get failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .filter_map(|line| line.strip_prefix("Inst "))
        .map(|rest| {
            let (name, rest) = rest.split_once(" (").expect("Inst NAME (VERSION ...)");
            let version = rest.split_whitespace().next().expect("a version");
            format!("{name}={version}")
        })
        .collect()
}

fn native_arch() -> String {
    let output = Command::new("dpkg")
        .arg("--print-architecture")
        .output()
        .expect("dpkg --print-architecture");
    String::from_utf8(output.stdout)
        .expect("UTF-8")
        .trim()
        .to_owned()
}

fn assert_parity(candidates: &[Candidate], install: &[&str]) {
    let options = Options {
        kind: Kind::Deb,
        arch: native_arch(),
    };
    let relations: Vec<Relation> = install.iter().map(|name| relation(name)).collect();
    let started = Instant::now();
    let resolution = resolve(candidates, &relations, &options)
        .unwrap_or_else(|error| panic!("resolve {install:?}: {error}"));
    let took = started.elapsed();
    eprintln!(
        "resolved {install:?} against {} candidates in {took:?}",
        candidates.len()
    );
    assert!(took < Duration::from_secs(30), "no hang: {took:?}");
    let ours: BTreeSet<String> = resolution
        .chosen
        .iter()
        .map(|&index| format!("{}={}", candidates[index].name, candidates[index].version))
        .collect();
    let apt = apt_choice(install);
    assert_eq!(
        ours, apt,
        "ours (left) and apt's (right) differ for {install:?}"
    );
    let position = |index: usize| resolution.install_order.iter().position(|&i| i == index);
    let libc = resolution
        .chosen
        .iter()
        .find(|&&index| candidates[index].name == "libc6");
    if let Some(&libc) = libc {
        for &index in &resolution.chosen {
            let needs_libc = candidates[index]
                .depends
                .iter()
                .flatten()
                .any(|r| r.name == "libc6");
            if needs_libc && candidates[index].name != "libgcc-s1" {
                assert!(
                    position(libc) < position(index),
                    "libc6 before {}",
                    candidates[index].name
                );
            }
        }
    }
}

#[test]
fn the_image_list_resolves_as_apt_resolves_it() {
    let candidates = universe();
    assert!(
        candidates.len() > 60_000,
        "{} candidates: {HINT}",
        candidates.len()
    );
    assert_parity(
        &candidates,
        &["busybox-static", "ca-certificates", "s6", "execline"],
    );
}

#[test]
fn alternatives_and_virtual_packages_resolve_as_apt_resolves_them() {
    // curl's libraries; bsd-mailx needs `default-mta | mail-transport-agent` (exim4's
    // packages provide both), `debconf | debconf-2.0`, `cron | cron-daemon`-like choices.
    let candidates = universe();
    assert_parity(&candidates, &["curl", "bsd-mailx"]);
}
