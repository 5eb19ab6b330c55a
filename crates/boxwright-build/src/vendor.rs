//! Language dependencies fetched before the offline sandbox: the crates of every `Cargo.lock`
//! (with `cargo vendor`, which checks each crate against the lock file's checksum) and the
//! modules of every `go.sum` (with `go mod download`). This runs on the host, with the
//! network, like `fetch`; the recipe then builds offline against the result.
//!
//! Both tools run from an empty directory, so configuration in the (untrusted) sources, such
//! as a `.cargo/config.toml` or a `rust-toolchain.toml`, is not read on the host.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::Error;
use crate::toolchain::{cargo_bin_dir, which};

/// What the offline build needs to find the fetched dependencies.
#[derive(Debug, Default)]
pub struct Vendored {
    /// Cargo configuration to write into the build's private `CARGO_HOME/config.toml`.
    pub cargo_config: Option<String>,
    /// Variables for the recipe (`GOMODCACHE`, `GOFLAGS`, ...).
    pub env: BTreeMap<String, String>,
}

/// Where lock files are looked for: the target's directory (a few levels deep, leaving out
/// build outputs) and the top of the unpacked sources.
pub fn find(name: &str, target_dir: &Path, sources_top: Option<&Path>) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let walk = walkdir::WalkDir::new(target_dir)
        .max_depth(4)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            !(e.file_type().is_dir()
                && matches!(
                    e.file_name().to_str(),
                    Some("target" | ".git" | "rootfs" | "vendor")
                ))
        });
    for entry in walk.flatten() {
        if entry.file_type().is_file() && entry.file_name() == name {
            found.push(entry.path().to_path_buf());
        }
    }
    if let Some(top) = sources_top {
        let candidate = top.join(name);
        if candidate.is_file() {
            found.push(candidate);
        }
    }
    found
}

/// Fetches what the lock files name into `cache` (`<project>/.cache/<target>/`), once per
/// set of lock files, and says how the build finds it.
pub fn prepare(
    target: &str,
    target_dir: &Path,
    sources_top: Option<&Path>,
    cache: &Path,
    offline: bool,
    on_line: &dyn Fn(&str),
) -> Result<Vendored, Error> {
    let mut vendored = Vendored::default();
    let cargo_locks = find("Cargo.lock", target_dir, sources_top);
    if !cargo_locks.is_empty() {
        vendored.cargo_config = Some(cargo(target, &cargo_locks, cache, offline, on_line)?);
    }
    let go_sums = find("go.sum", target_dir, sources_top);
    if !go_sums.is_empty() {
        vendored.env = go(target, &go_sums, cache, offline, on_line)?;
    }
    Ok(vendored)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + use<> {
    let path = path.to_path_buf();
    move |source| Error::Io { path, source }
}

/// A name for a set of lock files: the digest of their contents.
fn lock_digest(locks: &[PathBuf]) -> Result<String, Error> {
    let mut hasher = Sha256::new();
    for lock in locks {
        hasher.update(std::fs::read(lock).map_err(io(lock))?);
        hasher.update(b"\0");
    }
    Ok(hex::encode(&hasher.finalize()[..12]))
}

fn cargo(
    target: &str,
    locks: &[PathBuf],
    cache: &Path,
    offline: bool,
    on_line: &dyn Fn(&str),
) -> Result<String, Error> {
    let digest = lock_digest(locks)?;
    let root = cache.join("vendor");
    let dir = root.join(format!("cargo-{digest}"));
    let config_file = root.join(format!("cargo-{digest}.toml"));
    if dir.is_dir() && config_file.is_file() {
        on_line(&format!("vendored crates: {} (cached)", dir.display()));
        return std::fs::read_to_string(&config_file).map_err(io(&config_file));
    }
    let Some(bin) = cargo_bin_dir() else {
        return Err(Error::MissingTool {
            tool: "cargo".into(),
            install: "install Rust with rustup".into(),
        });
    };
    std::fs::create_dir_all(&root).map_err(io(&root))?;
    let partial = root.join(format!(".cargo-{digest}.partial"));
    if partial.exists() {
        std::fs::remove_dir_all(&partial).map_err(io(&partial))?;
    }
    let empty = tempfile::tempdir_in(&root).map_err(io(&root))?;
    let mut command = Command::new(bin.join("cargo"));
    command
        .current_dir(empty.path())
        .args(["vendor", "--locked", "--versioned-dirs", "--manifest-path"])
        .arg(locks[0].with_file_name("Cargo.toml"));
    for lock in &locks[1..] {
        command.arg("--sync").arg(lock.with_file_name("Cargo.toml"));
    }
    if offline {
        command.arg("--offline");
    }
    command.arg(&partial);
    on_line(&format!(
        "vendoring crates of {} lock file(s) with cargo vendor",
        locks.len()
    ));
    let output = command.output().map_err(|source| Error::Spawn {
        program: "cargo vendor".into(),
        source,
    })?;
    if !output.status.success() {
        let _ = std::fs::remove_dir_all(&partial);
        return Err(Error::Vendor {
            target: target.to_string(),
            tool: "cargo vendor".into(),
            locks: locks.to_vec(),
            message: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    // cargo prints the source replacement to use; it names the directory it wrote. A lock
    // file without registry or git dependencies gives neither.
    let printed = String::from_utf8_lossy(&output.stdout).into_owned();
    std::fs::create_dir_all(&partial).map_err(io(&partial))?;
    let config = printed.replace(&*partial.to_string_lossy(), &dir.to_string_lossy());
    std::fs::rename(&partial, &dir).map_err(io(&dir))?;
    std::fs::write(&config_file, &config).map_err(io(&config_file))?;
    Ok(config)
}

fn go(
    target: &str,
    sums: &[PathBuf],
    cache: &Path,
    offline: bool,
    on_line: &dyn Fn(&str),
) -> Result<BTreeMap<String, String>, Error> {
    let Some(go) = which("go") else {
        return Err(Error::MissingTool {
            tool: format!("go (target `{target}` has {})", sums[0].display()),
            install: "apt-get install golang-go".into(),
        });
    };
    let modcache = cache.join("vendor").join("gomodcache");
    std::fs::create_dir_all(&modcache).map_err(io(&modcache))?;
    for sum in sums {
        let module = sum.parent().expect("a file has a parent");
        let mut command = Command::new(&go);
        command
            .current_dir(module)
            .args(["mod", "download", "-x"])
            .env("GOMODCACHE", &modcache)
            .env("GOTOOLCHAIN", "local")
            .env("GOFLAGS", "-mod=mod");
        if offline {
            command.env("GOPROXY", "off");
        }
        on_line(&format!("downloading Go modules of {}", sum.display()));
        let output = command.output().map_err(|source| Error::Spawn {
            program: "go mod download".into(),
            source,
        })?;
        if !output.status.success() {
            return Err(Error::Vendor {
                target: target.to_string(),
                tool: "go mod download".into(),
                locks: vec![sum.clone()],
                message: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            });
        }
    }
    let mut env = BTreeMap::new();
    env.insert("GOMODCACHE".into(), modcache.display().to_string());
    env.insert("GOFLAGS".into(), "-mod=mod".into());
    env.insert("GOPROXY".into(), "off".into());
    env.insert("GOTOOLCHAIN".into(), "local".into());
    env.insert("CGO_ENABLED".into(), "0".into());
    Ok(env)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_files_are_found_in_the_target_and_the_sources() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("t");
        for path in [
            "crate/Cargo.lock",
            "crate/target/debug/Cargo.lock",
            "rootfs/Cargo.lock",
        ] {
            let path = target.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "").unwrap();
        }
        let top = dir.path().join("src/app-1.0");
        std::fs::create_dir_all(&top).unwrap();
        std::fs::write(top.join("Cargo.lock"), "").unwrap();
        let found = find("Cargo.lock", &target, Some(&top));
        assert_eq!(
            found,
            [target.join("crate/Cargo.lock"), top.join("Cargo.lock")]
        );
        assert!(find("go.sum", &target, Some(&top)).is_empty());
    }
}
