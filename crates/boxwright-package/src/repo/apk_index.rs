//! `APKINDEX.tar.gz`: `gzip(cut signature tar) + gzip(tar of DESCRIPTION and APKINDEX)`,
//! the signature over the compressed index member.

use std::fmt::Write as _;
use std::path::Path;

use base64::Engine as _;
use boxwright_sign::rsa::RsaSigningKey;

use super::{KeySource, RepoConfig, Repository, package_files, write_atomic};
use crate::apk;
use crate::error::RepoError;
use crate::info::{PackageFormat, PackageInfo};
use crate::tarball::TarWriter;

/// The file name clients trust for `key`: the configured name, else abuild's `NAME.rsa` →
/// `NAME.rsa.pub` from the key file's name.
pub(crate) fn apk_key_name(key: &KeySource, configured: Option<&str>) -> Result<String, RepoError> {
    if let Some(name) = configured {
        return Ok(name.to_string());
    }
    match key {
        KeySource::Path(path) => Ok(format!(
            "{}.pub",
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        )),
        KeySource::Env(_) => Err(RepoError::KeyName {
            key: key.to_string(),
        }),
    }
}

/// Reads the apk signing key from disk (at each call, so a rotated key is picked up).
pub(crate) fn load_key(
    config: &RepoConfig,
    index: &str,
) -> Result<(RsaSigningKey, String), RepoError> {
    let (key, source) = super::load_signing_key(
        config.apk_key.as_ref(),
        "apk (RSA)",
        index,
        RsaSigningKey::from_pem,
    )?;
    Ok((key, apk_key_name(source, config.apk_key_name.as_deref())?))
}

/// Indexes the `.apk` files of `dir` into `dir/APKINDEX.tar.gz`; returns how many. Every
/// signed field is checked as an upload's is; two files claiming one name and version are
/// an error naming both. Nothing is written on any error.
pub(crate) fn write(repository: &Repository, dir: &Path, scope: &str) -> Result<usize, RepoError> {
    let config = repository.config();
    let index_path = dir.join("APKINDEX.tar.gz");
    let (key, key_name) = load_key(config, &index_path.display().to_string())?;
    let mut packages = Vec::new();
    for path in package_files(dir, "apk")? {
        let read = repository
            .cache
            .read(&path, PackageFormat::Apk, &repository.limits)?;
        packages.push((read.info, path));
    }
    packages.sort_by(|(a, a_path), (b, b_path)| {
        (&a.name, &a.version, a_path).cmp(&(&b.name, &b.version, b_path))
    });
    if let Some(pair) = packages
        .windows(2)
        .find(|pair| (&pair[0].0.name, &pair[0].0.version) == (&pair[1].0.name, &pair[1].0.version))
    {
        return Err(RepoError::Duplicate {
            name: pair[0].0.name.clone(),
            version: pair[0].0.version.clone(),
            first: pair[0].1.clone(),
            second: pair[1].1.clone(),
        });
    }
    let packages: Vec<PackageInfo> = packages.into_iter().map(|(info, _)| info).collect();
    let newest = packages
        .iter()
        .filter_map(|p| p.build_date)
        .max()
        .unwrap_or(0);
    let bytes = index_bytes(&packages, scope, &key, &key_name, config.index_time(newest))
        .map_err(|e| RepoError::io("write", &index_path, e))?;
    write_atomic(&index_path, &bytes)?;
    Ok(packages.len())
}

/// The `APKINDEX` text: one block per package, fields in apk's order, a blank line after each.
pub(crate) fn index_text(packages: &[PackageInfo]) -> String {
    let mut out = String::new();
    for p in packages {
        let identity = p
            .control_sha1
            .map(|sha1| base64::engine::general_purpose::STANDARD.encode(sha1))
            .unwrap_or_default();
        let _ = writeln!(out, "C:Q1{identity}");
        let _ = writeln!(out, "P:{}", p.name);
        let _ = writeln!(out, "V:{}", p.version);
        let _ = writeln!(out, "A:{}", p.arch);
        let _ = writeln!(out, "S:{}", p.file_size);
        let _ = writeln!(out, "I:{}", p.installed_size);
        let _ = writeln!(out, "T:{}", p.description);
        if !p.url.is_empty() {
            let _ = writeln!(out, "U:{}", p.url);
        }
        if !p.license.is_empty() {
            let _ = writeln!(out, "L:{}", p.license);
        }
        if !p.origin.is_empty() {
            let _ = writeln!(out, "o:{}", p.origin);
        }
        if !p.maintainer.is_empty() {
            let _ = writeln!(out, "m:{}", p.maintainer);
        }
        if let Some(date) = p.build_date {
            let _ = writeln!(out, "t:{date}");
        }
        if !p.depends.is_empty() {
            let _ = writeln!(out, "D:{}", p.depends.join(" "));
        }
        if !p.provides.is_empty() {
            let _ = writeln!(out, "p:{}", p.provides.join(" "));
        }
        out.push('\n');
    }
    out
}

fn index_bytes(
    packages: &[PackageInfo],
    description: &str,
    key: &RsaSigningKey,
    key_name: &str,
    mtime: u64,
) -> std::io::Result<Vec<u8>> {
    let text = index_text(packages);
    let description = format!("{description}\n");
    let mut tar = TarWriter::new(Vec::new(), mtime);
    tar.file(
        "DESCRIPTION",
        0o644,
        description.len() as u64,
        description.as_bytes(),
        &[],
    )?;
    tar.file("APKINDEX", 0o644, text.len() as u64, text.as_bytes(), &[])?;
    let index = apk::gzip(&tar.finish()?)?;
    let signature =
        apk::signature_member(key, key_name, &index, mtime).map_err(std::io::Error::other)?;
    let mut out = signature;
    out.extend(index);
    Ok(out)
}
