//! Checks of names and versions that become file names and index lines.

use std::path::Path;

use crate::error::PackageError;

fn invalid(field: &'static str, value: &str, reason: &str) -> PackageError {
    PackageError::InvalidField {
        field,
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

fn chars_ok(value: &str, extra: &str) -> bool {
    value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
}

/// apk package names: `[a-zA-Z0-9][a-zA-Z0-9+._-]*`.
pub fn apk_name(name: &str) -> Result<(), PackageError> {
    if name.is_empty()
        || !name.starts_with(|c: char| c.is_ascii_alphanumeric())
        || !chars_ok(name, "+._-")
    {
        return Err(invalid(
            "name",
            name,
            "an apk name is letters, digits and `+._-`, starting with a letter or digit",
        ));
    }
    Ok(())
}

/// deb package names: `[a-z0-9][a-z0-9+.-]+` (lower case, at least two characters).
pub fn deb_name(name: &str) -> Result<(), PackageError> {
    if name.len() < 2
        || !name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+.-".contains(c))
    {
        return Err(invalid(
            "name",
            name,
            "a deb name is lower-case letters, digits and `+.-`, at least two characters, starting with a letter or digit",
        ));
    }
    Ok(())
}

/// An apk upstream version as apk-tools parses it: `1.2.3`, optional letter, `_suffix[N]`
/// parts (`_alpha`, `_beta`, `_pre`, `_rc`, `_cvs`, `_svn`, `_git`, `_hg`, `_p`).
pub fn apk_version(version: &str) -> Result<(), PackageError> {
    let bad = || {
        invalid(
            "version",
            version,
            "apk versions are digits and dots, an optional letter and `_alpha|_beta|_pre|_rc|_cvs|_svn|_git|_hg|_p` suffixes with optional digits",
        )
    };
    let (main, suffixes) = version.split_once('_').unwrap_or((version, ""));
    let main = main
        .strip_suffix(|c: char| c.is_ascii_lowercase())
        .unwrap_or(main);
    if main.is_empty()
        || main
            .split('.')
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(bad());
    }
    if !suffixes.is_empty() {
        for suffix in suffixes.split('_') {
            let word = suffix.trim_end_matches(|c: char| c.is_ascii_digit());
            if !["alpha", "beta", "pre", "rc", "cvs", "svn", "git", "hg", "p"].contains(&word) {
                return Err(bad());
            }
        }
    }
    Ok(())
}

/// A full apk version `<version>-r<N>`.
pub fn apk_full_version(version: &str) -> Result<(), PackageError> {
    let (upstream, revision) = version
        .rsplit_once("-r")
        .ok_or_else(|| invalid("version", version, "no `-r<N>` revision"))?;
    if revision.is_empty() || !revision.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(
            "version",
            version,
            "the revision after `-r` is not a number",
        ));
    }
    apk_version(upstream)
}

/// A Debian upstream version (without revision): starts with a digit, `[A-Za-z0-9.+~]`.
pub fn deb_version(version: &str) -> Result<(), PackageError> {
    if !version.starts_with(|c: char| c.is_ascii_digit()) || !chars_ok(version, ".+~") {
        return Err(invalid(
            "version",
            version,
            "a Debian upstream version starts with a digit and holds letters, digits and `.+~`",
        ));
    }
    Ok(())
}

/// A full Debian version as read from a package: `[epoch:]upstream[-revision]`.
pub fn deb_full_version(version: &str) -> Result<(), PackageError> {
    let rest = match version.split_once(':') {
        Some((epoch, rest)) if !epoch.is_empty() && epoch.bytes().all(|b| b.is_ascii_digit()) => {
            rest
        }
        Some(_) => return Err(invalid("version", version, "the epoch is not a number")),
        None => version,
    };
    if !rest.starts_with(|c: char| c.is_ascii_digit()) || !chars_ok(rest, ".+~-") {
        return Err(invalid(
            "version",
            version,
            "a Debian version starts with a digit and holds letters, digits and `.+~-`",
        ));
    }
    Ok(())
}

/// An architecture name: lower-case letters, digits and `_`.
pub fn arch(arch: &str) -> Result<(), PackageError> {
    if arch.is_empty()
        || !arch
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(invalid(
            "architecture",
            arch,
            "lower-case letters, digits and `_`",
        ));
    }
    Ok(())
}

/// A key file name used in `.SIGN.RSA256.<name>` (a plain file name).
pub fn key_name(name: &str) -> Result<(), PackageError> {
    if name.is_empty() || name.starts_with('.') || !chars_ok(name, "+._-@") {
        return Err(invalid(
            "key name",
            name,
            "a plain file name of letters, digits and `+._-@`",
        ));
    }
    Ok(())
}

/// A tar entry path of the package `package` made relative and checked safe: no `..`, no
/// empty components. Returns it without a leading `./` or `/` and without a trailing `/`.
pub fn entry_path(package: &Path, path: &str) -> Result<String, PackageError> {
    let trimmed = path.trim_start_matches("./").trim_start_matches('/');
    let trimmed = trimmed.trim_end_matches('/');
    if trimmed.is_empty() || trimmed == "." {
        return Ok(String::new());
    }
    if trimmed
        .split('/')
        .any(|c| c.is_empty() || c == ".." || c == ".")
    {
        return Err(PackageError::malformed(
            package,
            format!("unsafe entry path `{path}`"),
        ));
    }
    Ok(trimmed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        for ok in ["1", "1.2.3", "1.2.3a", "1.0_rc1", "2.0_p1_git20240101"] {
            apk_version(ok).unwrap();
        }
        for bad in ["", "v1", "1..2", "1.0-1", "1.0_foo", "1.0 "] {
            assert!(apk_version(bad).is_err(), "{bad}");
        }
        apk_full_version("1.2.3-r0").unwrap();
        assert!(apk_full_version("1.2.3").is_err());
        deb_version("1.2.3~rc1").unwrap();
        assert!(deb_version("v1").is_err());
        deb_full_version("1:1.2-3").unwrap();
        assert!(deb_full_version("a:1").is_err());
    }

    #[test]
    fn names() {
        apk_name("hello-doc").unwrap();
        assert!(apk_name("../x").is_err());
        deb_name("hello-doc").unwrap();
        assert!(deb_name("Hello").is_err());
        assert!(deb_name("a").is_err());
        assert!(key_name("repo.rsa.pub").is_ok());
        assert!(key_name("../k").is_err());
        let package = Path::new("p.apk");
        assert_eq!(entry_path(package, "./usr/bin/").unwrap(), "usr/bin");
        assert_eq!(entry_path(package, "./").unwrap(), "");
        assert_eq!(
            entry_path(package, "../etc").unwrap_err().to_string(),
            "p.apk: unsafe entry path `../etc`"
        );
        assert!(entry_path(package, "a/../b").is_err());
    }
}
