//! apt indexes of one suite: `Packages` and `Packages.gz` per component and architecture,
//! then `Release` with their hashes, `Release.gpg` (detached) and `InRelease` (cleartext).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;

use boxwright_sign::openpgp::OpenPgpSigningKey;
use md5::Digest as _;

use super::{RepoConfig, Repository, date, package_files, safe_component, subdirs, write_atomic};
use crate::error::RepoError;
use crate::info::{PackageFormat, PackageInfo};

/// Architectures listed when a suite holds only `Architecture: all` packages.
const DEFAULT_ARCHITECTURES: [&str; 2] = ["amd64", "arm64"];

struct Indexed {
    info: PackageInfo,
    component: String,
    file_name: String,
    md5: String,
    mtime: u64,
}

fn load_key(config: &RepoConfig, index: &str) -> Result<OpenPgpSigningKey, RepoError> {
    super::load_signing_key(
        config.apt_key.as_ref(),
        "apt (OpenPGP)",
        index,
        OpenPgpSigningKey::from_armored,
    )
    .map(|(key, _)| key)
}

/// Rewrites the indexes of `suite`; returns how many packages it holds.
pub(crate) fn write_suite(repository: &Repository, suite: &str) -> Result<usize, RepoError> {
    let config = repository.config();
    safe_component("suite", suite)?;
    let apt = config.root.join("apt");
    let dists = apt.join("dists").join(suite);
    let key = load_key(config, &dists.join("InRelease").display().to_string())?;
    let pool = apt.join("pool").join(suite);
    let mut packages = Vec::new();
    for component in subdirs(&pool)? {
        for path in package_files(&pool.join(&component), "deb")? {
            let read = repository
                .cache
                .read(&path, PackageFormat::Deb, &repository.limits)?;
            let mtime = std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_secs());
            packages.push(Indexed {
                md5: read.md5,
                file_name: path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                component: component.clone(),
                info: read.info,
                mtime,
            });
        }
    }
    packages.sort_by(|a, b| {
        (&a.component, &a.info.name, &a.info.version, &a.file_name).cmp(&(
            &b.component,
            &b.info.name,
            &b.info.version,
            &b.file_name,
        ))
    });
    let mut architectures: BTreeSet<String> = packages
        .iter()
        .map(|p| p.info.arch.clone())
        .filter(|a| a != "all")
        .collect();
    if architectures.is_empty() {
        architectures = DEFAULT_ARCHITECTURES
            .iter()
            .map(|a| (*a).to_string())
            .collect();
    }
    let mut components: BTreeSet<String> = packages.iter().map(|p| p.component.clone()).collect();
    if components.is_empty() {
        components.insert("main".into());
    }

    // Everything is made and signed in memory first; nothing is renamed before signing worked.
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for component in &components {
        for arch in &architectures {
            let mut text = String::new();
            for p in packages.iter().filter(|p| {
                &p.component == component && (&p.info.arch == arch || p.info.arch == "all")
            }) {
                text.push_str(&stanza(p, suite));
            }
            let dir = format!("{component}/binary-{arch}");
            let gz = crate::apk::gzip(text.as_bytes())
                .map_err(|e| RepoError::io("compress", &dists.join(&dir), e))?;
            files.insert(format!("{dir}/Packages"), text.into_bytes());
            files.insert(format!("{dir}/Packages.gz"), gz);
        }
    }
    let newest = packages.iter().map(|p| p.mtime).max().unwrap_or(0);
    let time = config.index_time(newest);
    let release = release_text(config, suite, time, &architectures, &components, &files);
    let sign_error = |source| RepoError::Key {
        kind: "apt (OpenPGP)",
        key: config
            .apt_key
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        source,
    };
    let detached = key
        .detached_sign(release.as_bytes(), time)
        .map_err(sign_error)?;
    let inline = key.cleartext_sign(&release, time).map_err(sign_error)?;

    for (name, bytes) in &files {
        write_atomic(&dists.join(name), bytes)?;
    }
    write_atomic(&dists.join("Release"), release.as_bytes())?;
    write_atomic(&dists.join("Release.gpg"), detached.as_bytes())?;
    write_atomic(&dists.join("InRelease"), inline.as_bytes())?;
    Ok(packages.len())
}

fn stanza(p: &Indexed, suite: &str) -> String {
    let mut out = String::new();
    for (key, value) in &p.info.control_fields {
        if ["Filename", "Size", "MD5sum", "SHA1", "SHA256"]
            .iter()
            .any(|k| k.eq_ignore_ascii_case(key))
        {
            continue;
        }
        let _ = writeln!(out, "{key}: {value}");
    }
    let filename: PathBuf = ["pool", suite, &p.component, &p.file_name].iter().collect();
    let _ = writeln!(out, "Filename: {}", filename.display());
    let _ = writeln!(out, "Size: {}", p.info.file_size);
    let _ = writeln!(out, "MD5sum: {}", p.md5);
    let _ = writeln!(out, "SHA256: {}", p.info.sha256);
    out.push('\n');
    out
}

fn release_text(
    config: &RepoConfig,
    suite: &str,
    time: u64,
    architectures: &BTreeSet<String>,
    components: &BTreeSet<String>,
    files: &BTreeMap<String, Vec<u8>>,
) -> String {
    let one_line = |s: &str| s.replace(['\n', '\r'], " ");
    let mut out = String::new();
    if !config.apt_origin.is_empty() {
        let _ = writeln!(out, "Origin: {}", one_line(&config.apt_origin));
    }
    if !config.apt_label.is_empty() {
        let _ = writeln!(out, "Label: {}", one_line(&config.apt_label));
    }
    let _ = writeln!(out, "Suite: {suite}");
    let _ = writeln!(out, "Codename: {suite}");
    let _ = writeln!(out, "Date: {}", date::rfc2822(time));
    let _ = writeln!(
        out,
        "Architectures: {}",
        architectures.iter().cloned().collect::<Vec<_>>().join(" ")
    );
    let _ = writeln!(
        out,
        "Components: {}",
        components.iter().cloned().collect::<Vec<_>>().join(" ")
    );
    out.push_str("MD5Sum:\n");
    for (name, bytes) in files {
        let _ = writeln!(
            out,
            " {} {:>16} {name}",
            hex::encode(md5::Md5::digest(bytes)),
            bytes.len()
        );
    }
    out.push_str("SHA256:\n");
    for (name, bytes) in files {
        let _ = writeln!(
            out,
            " {} {:>16} {name}",
            hex::encode(sha2::Digest::finalize(sha2::Digest::chain_update(
                sha2::Sha256::default(),
                bytes
            ))),
            bytes.len()
        );
    }
    out
}
