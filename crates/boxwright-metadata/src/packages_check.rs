//! Load-time checks of `image.packages`, `image.accounts` and `image.services`; every error
//! names the JSON pointer of the value. Key files are not opened here (loading reads only
//! metadata.json, as for every other path in it): whoever reads them reports a missing one.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::packages::{Accounts, ImagePackages, InstallRequest, PackageRepository, Services};
use crate::pointer::push;
use crate::{Error, Image, Result};

/// Checks the package, account and service parts of `image` (at pointer `at`).
pub(crate) fn check_image(path: &Path, at: &str, image: &Image) -> Result<()> {
    check_platforms(path, at, image)?;
    if let Some(packages) = &image.packages {
        check_packages(path, &push(at, "packages"), packages)?;
    }
    if let Some(accounts) = &image.accounts {
        check_accounts(path, &push(at, "accounts"), accounts)?;
        if accounts.run_as.is_some() && image.user.is_some() {
            return Err(Error::invalid(
                path,
                push(at, "user"),
                "set either `user` or `accounts.run_as`, not both",
            ));
        }
    }
    if !image.services.is_empty() {
        check_services(path, &push(at, "services"), &image.services)?;
        if !image.entrypoint.is_empty() {
            return Err(Error::invalid(
                path,
                push(at, "entrypoint"),
                "an image with `services` runs `s6-svscan /etc/services.d` as its entrypoint; \
                 remove `entrypoint`",
            ));
        }
    }
    Ok(())
}

fn check_packages(path: &Path, at: &str, packages: &ImagePackages) -> Result<()> {
    let repositories = push(at, "repositories");
    if packages.repositories.is_empty() {
        return Err(Error::invalid(
            path,
            repositories,
            "at least one repository is needed",
        ));
    }
    for (i, repository) in packages.repositories.iter().enumerate() {
        check_repository(path, &push(&repositories, &i.to_string()), repository)?;
    }
    let install = push(at, "install");
    if packages.install.is_empty() {
        return Err(Error::invalid(path, install, "name at least one package"));
    }
    let mut names = BTreeSet::new();
    for (i, text) in packages.install.iter().enumerate() {
        let here = push(&install, &i.to_string());
        let request = InstallRequest::parse(text)
            .map_err(|why| Error::invalid(path, &here, format!("install entry {text:?} {why}")))?;
        if !names.insert(request.name.clone()) {
            return Err(Error::invalid(
                path,
                here,
                format!("package `{}` is listed twice", request.name),
            ));
        }
    }
    for (i, arch) in packages.architectures.iter().enumerate() {
        if let Err(unknown) = arch.parse::<boxwright_platform::Arch>() {
            return Err(Error::invalid(
                path,
                push(&push(at, "architectures"), &i.to_string()),
                unknown.to_string(),
            ));
        }
    }
    Ok(())
}

/// Exactly one of `apt` and `apk`, with the keys that kind needs and none of the other's.
fn check_repository(path: &Path, at: &str, repository: &PackageRepository) -> Result<()> {
    let present = |key: &str| match key {
        "suite" => repository.suite.is_some(),
        "components" => !repository.components.is_empty(),
        "key" => repository.key.is_some(),
        "keys" => !repository.keys.is_empty(),
        _ => false,
    };
    let (kind, url, foreign): (&str, &str, &[&str]) = match (&repository.apt, &repository.apk) {
        (Some(url), None) => ("apt", url, &["keys"]),
        (None, Some(url)) => ("apk", url, &["suite", "components", "key"]),
        _ => {
            return Err(Error::invalid(
                path,
                at,
                "a repository needs exactly one of `apt` (a Debian archive URL) and `apk` \
                 (`<base>/<version>/<repo>`)",
            ));
        }
    };
    check_url(path, &push(at, kind), url)?;
    if let Some(key) = foreign.iter().find(|key| present(key)) {
        return Err(Error::invalid(
            path,
            push(at, key),
            format!("`{key}` does not belong to an {kind} repository"),
        ));
    }
    if kind == "apt" {
        check_apt(path, at, repository)
    } else {
        check_apk_keys(path, at, &repository.keys)
    }
}

fn check_apt(path: &Path, at: &str, repository: &PackageRepository) -> Result<()> {
    let suite = repository.suite.as_deref().unwrap_or("");
    if !plain_word(suite) {
        return Err(Error::invalid(
            path,
            push(at, "suite"),
            format!(
                "an apt repository needs `suite` (such as \"bookworm\"), a plain word, not {suite:?}"
            ),
        ));
    }
    for (i, component) in repository.components.iter().enumerate() {
        if !plain_word(component) {
            return Err(Error::invalid(
                path,
                push(&push(at, "components"), &i.to_string()),
                format!("component {component:?} must be a plain word such as \"main\""),
            ));
        }
    }
    match repository.key.as_deref() {
        None => Err(Error::invalid(
            path,
            push(at, "key"),
            "an apt repository needs `key`: the OpenPGP keyring its Release file is signed with",
        )),
        Some(key) => check_key_path(path, &push(at, "key"), key),
    }
}

fn check_apk_keys(path: &Path, at: &str, keys: &[String]) -> Result<()> {
    let at = push(at, "keys");
    if keys.is_empty() {
        return Err(Error::invalid(
            path,
            at,
            "an apk repository needs `keys`: the RSA public keys (*.rsa.pub) its index is signed with",
        ));
    }
    for (i, key) in keys.iter().enumerate() {
        check_key_path(path, &push(&at, &i.to_string()), key)?;
    }
    Ok(())
}

fn check_key_path(path: &Path, at: &str, key: &str) -> Result<()> {
    if key.is_empty() || key.ends_with('/') || key.chars().any(char::is_control) {
        return Err(Error::invalid(
            path,
            at,
            format!("key {key:?} must be a file path (relative to metadata.json or absolute)"),
        ));
    }
    Ok(())
}

/// `http://` or `https://`, a host, no credentials, no spaces, no query or fragment.
fn check_url(path: &Path, at: &str, url: &str) -> Result<()> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let why = match rest {
        None => Some("must be an http:// or https:// URL"),
        Some(rest) => {
            let authority = rest.split('/').next().unwrap_or("");
            if authority.is_empty() {
                Some("has no host")
            } else if authority.contains('@') {
                Some("must not carry credentials (it is recorded in the lock file)")
            } else if url.contains(['?', '#'])
                || url.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                Some("must not hold spaces, a query or a fragment")
            } else {
                None
            }
        }
    };
    match why {
        Some(why) => Err(Error::invalid(
            path,
            at,
            format!("repository URL {url:?} {why}"),
        )),
        None => Ok(()),
    }
}

fn plain_word(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-+~".contains(c))
}

/// Names as shadow's useradd accepts them by default: `[a-z_][a-z0-9_-]*[$]?`, at most 32.
fn account_name(name: &str) -> bool {
    let body = name.strip_suffix('$').unwrap_or(name);
    !body.is_empty()
        && name.len() <= 32
        && body.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && body
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_-".contains(c))
}

/// An absolute path fit for a passwd field: no `:`, no control characters, no `..`.
fn passwd_path(value: &str) -> bool {
    value.starts_with('/')
        && !value.contains(':')
        && !value.chars().any(char::is_control)
        && !value.split('/').any(|part| part == "..")
}

fn check_accounts(path: &Path, at: &str, accounts: &Accounts) -> Result<()> {
    let users = push(at, "users");
    let mut names = BTreeMap::new();
    let mut uids = BTreeMap::new();
    for (i, user) in accounts.users.iter().enumerate() {
        let here = push(&users, &i.to_string());
        if !account_name(&user.name) {
            return Err(Error::invalid(
                path,
                push(&here, "name"),
                format!(
                    "user name {:?} must match [a-z_][a-z0-9_-]*, at most 32 characters",
                    user.name
                ),
            ));
        }
        if let Some(first) = names.insert(user.name.clone(), i) {
            return Err(Error::invalid(
                path,
                push(&here, "name"),
                format!(
                    "user `{}` is declared twice (also users[{first}])",
                    user.name
                ),
            ));
        }
        if let Some(first) = uids.insert(user.uid, i) {
            return Err(Error::invalid(
                path,
                push(&here, "uid"),
                format!("uid {} is used twice (also users[{first}])", user.uid),
            ));
        }
        for (key, value) in [("home", &user.home), ("shell", &user.shell)] {
            if let Some(value) = value
                && !passwd_path(value)
            {
                return Err(Error::invalid(
                    path,
                    push(&here, key),
                    format!("{key} {value:?} must be an absolute path without `:` or `..`"),
                ));
            }
        }
    }
    check_groups(path, at, accounts)?;
    if let Some(run_as) = &accounts.run_as
        && !names.contains_key(run_as)
    {
        return Err(Error::invalid(
            path,
            push(at, "run_as"),
            format!("run_as `{run_as}` is not a user of `users`"),
        ));
    }
    Ok(())
}

fn check_groups(path: &Path, at: &str, accounts: &Accounts) -> Result<()> {
    let groups = push(at, "groups");
    let mut names = BTreeMap::new();
    let mut gids = BTreeMap::new();
    for (i, group) in accounts.groups.iter().enumerate() {
        let here = push(&groups, &i.to_string());
        if !account_name(&group.name) {
            return Err(Error::invalid(
                path,
                push(&here, "name"),
                format!(
                    "group name {:?} must match [a-z_][a-z0-9_-]*, at most 32 characters",
                    group.name
                ),
            ));
        }
        if let Some(first) = names.insert(group.name.clone(), i) {
            return Err(Error::invalid(
                path,
                push(&here, "name"),
                format!(
                    "group `{}` is declared twice (also groups[{first}])",
                    group.name
                ),
            ));
        }
        if let Some(first) = gids.insert(group.gid, i) {
            return Err(Error::invalid(
                path,
                push(&here, "gid"),
                format!("gid {} is used twice (also groups[{first}])", group.gid),
            ));
        }
        for (j, member) in group.members.iter().enumerate() {
            if !account_name(member) {
                return Err(Error::invalid(
                    path,
                    push(&push(&here, "members"), &j.to_string()),
                    format!("member {member:?} is not a valid user name"),
                ));
            }
        }
    }
    Ok(())
}

fn check_services(path: &Path, at: &str, services: &Services) -> Result<()> {
    for (name, command) in services {
        let here = push(at, name);
        let safe = name.len() <= 64
            && name.starts_with(|c: char| c.is_ascii_alphanumeric())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if !safe {
            return Err(Error::invalid(
                path,
                here,
                format!(
                    "service name {name:?} must match [A-Za-z0-9][A-Za-z0-9._-]* (it names a directory)"
                ),
            ));
        }
        let Some(program) = command.first() else {
            return Err(Error::invalid(
                path,
                here,
                format!("service `{name}` needs a command: [\"/absolute/program\", \"args\"...]"),
            ));
        };
        if !passwd_path(program) || program.ends_with('/') {
            return Err(Error::invalid(
                path,
                push(&here, "0"),
                format!(
                    "the program of service `{name}` must be an absolute path, not {program:?}"
                ),
            ));
        }
        for (i, argument) in command.iter().enumerate() {
            if argument.contains('\0') {
                return Err(Error::invalid(
                    path,
                    push(&here, &i.to_string()),
                    "arguments cannot hold NUL bytes",
                ));
            }
        }
    }
    Ok(())
}

/// `platforms` are known platforms, `runners` are keyed by known architectures, and a
/// bare `base` close to `scratch` is taken for a typo of it, not for an image name.
fn check_platforms(path: &Path, at: &str, image: &Image) -> Result<()> {
    if let Some(base) = image.base.as_deref()
        && base != "scratch"
        && !base.contains(['/', ':', '@', '.'])
        && boxwright_platform::did_you_mean(base, ["scratch"]).is_some()
    {
        return Err(Error::invalid(
            path,
            push(at, "base"),
            format!(
                "base `{base}` is not `scratch`; did you mean `scratch`? (an image name \
                 needs its registry, e.g. docker.io/library/{base})"
            ),
        ));
    }
    for (i, platform) in image.platforms.iter().enumerate() {
        if let Err(unknown) = platform.parse::<boxwright_platform::Platform>() {
            return Err(Error::invalid(
                path,
                push(&push(at, "platforms"), &i.to_string()),
                unknown.to_string(),
            ));
        }
    }
    for arch in image.runners.keys() {
        if let Err(unknown) = arch.parse::<boxwright_platform::Arch>() {
            return Err(Error::invalid(
                path,
                push(&push(at, "runners"), arch),
                unknown.to_string(),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::Metadata;

    const WEB: &str = r#"{
      "web": { "image": {
        "packages": {
          "repositories": [
            { "apt": "http://deb.debian.org/debian", "suite": "bookworm", "components": ["main"],
              "key": "/usr/share/keyrings/debian-archive-keyring.gpg" },
            { "apk": "http://127.0.0.1:8080/3.20/main", "keys": ["keys/repo.rsa.pub"] } ],
          "install": ["busybox-static", "ca-certificates", "s6", "execline", "hello=1.0-r0"],
          "architectures": ["amd64"], "layering": "single" },
        "accounts": { "users": [ { "name": "web", "uid": 1000, "gid": 1000, "home": "/srv",
                                   "shell": "/sbin/nologin" } ],
                      "groups": [ { "name": "web", "gid": 1000 } ], "run_as": "web" },
        "services": { "httpd": ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/srv"] } } }
    }"#;

    fn parse(text: &str) -> crate::Result<Metadata> {
        Metadata::parse(std::path::Path::new("metadata.json"), text, &|_| None)
    }

    #[test]
    fn the_design_example_loads_without_a_version() {
        let m = parse(WEB).unwrap();
        let image = m.target("web").unwrap().image.as_ref().unwrap();
        let packages = image.packages.as_ref().unwrap();
        assert_eq!(packages.requests()[4].version.as_deref(), Some("1.0-r0"));
        assert_eq!(packages.layering, crate::Layering::Single);
        let crate::RepositoryKind::Apt {
            components, key, ..
        } = packages.repositories[0].kind().unwrap()
        else {
            panic!("apt")
        };
        assert_eq!(components, ["main"]);
        assert_eq!(key, "/usr/share/keyrings/debian-archive-keyring.gpg");
        assert_eq!(
            packages.repositories[1].key_paths(std::path::Path::new("/p")),
            [std::path::PathBuf::from("/p/keys/repo.rsa.pub")]
        );
        let accounts = image.accounts.as_ref().unwrap();
        assert_eq!(accounts.run_as_user().unwrap().uid, 1000);
        assert_eq!(image.services["httpd"][0], "/bin/busybox");
        assert_eq!(m.target("web").unwrap().version(), "");
        let per = WEB.replace("\"single\"", "\"per-package\"");
        let m = parse(&per).unwrap();
        let layering = m.target("web").unwrap().image.as_ref().unwrap();
        assert_eq!(
            layering.packages.as_ref().unwrap().layering,
            crate::Layering::PerPackage
        );
    }

    /// (text of WEB, replacement, pointer the error names).
    const BAD: &[(&str, &str, &str)] = &[
        (
            "\"keys\": [\"keys/repo.rsa.pub\"]",
            "\"keys\": []",
            "/web/image/packages/repositories/1/keys",
        ),
        (
            "\"keys\": [\"keys/repo.rsa.pub\"]",
            "\"keys\": [\"\"]",
            "/web/image/packages/repositories/1/keys/0",
        ),
        (
            "\"key\": \"/usr/share/keyrings/debian-archive-keyring.gpg\"",
            "\"components\": [\"main\"]",
            "/web/image/packages/repositories/0/key",
        ),
        (
            "http://deb.debian.org",
            "ftp://deb.debian.org",
            "/web/image/packages/repositories/0/apt",
        ),
        (
            "http://127.0.0.1:8080",
            "http://u:p@127.0.0.1:8080",
            "/web/image/packages/repositories/1/apk",
        ),
        (
            "\"apk\": \"http",
            "\"apt\": \"http",
            "/web/image/packages/repositories/1/keys",
        ),
        (
            "\"suite\": \"bookworm\"",
            "\"suite\": \"book worm\"",
            "/web/image/packages/repositories/0/suite",
        ),
        (
            "\"hello=1.0-r0\"",
            "\"hello=\"",
            "/web/image/packages/install/4",
        ),
        (
            "\"hello=1.0-r0\"",
            "\"-x\"",
            "/web/image/packages/install/4",
        ),
        (
            "\"hello=1.0-r0\"",
            "\"s6=2\"",
            "/web/image/packages/install/4",
        ),
        (
            "[\"amd64\"]",
            "[\"sparc\"]",
            "/web/image/packages/architectures/0",
        ),
        ("\"single\"", "\"per-file\"", "/web/image/packages/layering"),
        (
            "\"run_as\": \"web\"",
            "\"run_as\": \"www\"",
            "/web/image/accounts/run_as",
        ),
        (
            "\"home\": \"/srv\"",
            "\"home\": \"srv\"",
            "/web/image/accounts/users/0/home",
        ),
        (
            "\"name\": \"web\", \"uid\"",
            "\"name\": \"Web\", \"uid\"",
            "/web/image/accounts/users/0/name",
        ),
        (
            "{ \"name\": \"web\", \"gid\": 1000 }",
            "{ \"name\": \"web\", \"gid\": 1 }, { \"name\": \"w2\", \"gid\": 1 }",
            "/web/image/accounts/groups/1/gid",
        ),
        ("\"httpd\": [", "\"../x\": [", "/web/image/services/..~1x"),
        (
            "[\"/bin/busybox\", \"httpd\"",
            "[\"busybox\", \"httpd\"",
            "/web/image/services/httpd/0",
        ),
        ("\"layering\"", "\"layerin\"", "/web/image/packages/layerin"),
        (
            "\"services\"",
            "\"entrypoint\": [\"/x\"], \"services\"",
            "/web/image/entrypoint",
        ),
        (
            "\"run_as\": \"web\"",
            "\"run_as\": \"web\" }, \"user\": \"0\", \"x-\": {",
            "/web/image/user",
        ),
    ];

    #[test]
    fn bad_values_name_their_key() {
        for (from, to, pointer) in BAD {
            assert!(WEB.contains(from), "{from}");
            let err = parse(&WEB.replacen(from, to, 1)).unwrap_err().to_string();
            assert!(err.contains(&format!("at {pointer}")), "{to}: {err}");
        }
        let users = WEB.replace(
            "\"shell\": \"/sbin/nologin\" }",
            "\"shell\": \"/sbin/nologin\" }, { \"name\": \"two\", \"uid\": 1000, \"gid\": 1 }",
        );
        let err = parse(&users).unwrap_err().to_string();
        assert!(err.contains("/web/image/accounts/users/1/uid"), "{err}");
        let empty = WEB.replace(
            "[\"/bin/busybox\", \"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/srv\"]",
            "[]",
        );
        let err = parse(&empty).unwrap_err().to_string();
        assert!(
            err.contains("/web/image/services/httpd") && err.contains("needs a command"),
            "{err}"
        );
    }

    #[test]
    fn a_target_without_packages_still_needs_a_version() {
        let err = parse(r#"{"a": {"image": {"entrypoint": ["/x"]}}}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("/a/version_env_var"), "{err}");
    }

    #[test]
    fn install_requests_parse() {
        use crate::InstallRequest;
        assert_eq!(
            InstallRequest::parse("libc6=2.36-9+deb12u4").unwrap(),
            InstallRequest {
                name: "libc6".into(),
                version: Some("2.36-9+deb12u4".into())
            }
        );
        assert_eq!(InstallRequest::parse("g++").unwrap().version, None);
        for bad in ["", "=1", "a b", "a=1=2", "a=1 2", "a,b"] {
            assert!(InstallRequest::parse(bad).is_err(), "{bad}");
        }
    }
}
