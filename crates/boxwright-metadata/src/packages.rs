//! The parts of `image` that make an image from distribution packages: `image.packages`
//! (repositories, the install list, architectures, layering), `image.accounts` (users,
//! groups, the user the container runs as) and `image.services` (s6 services).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Packages installed into the image from apt or apk repositories (no package manager runs).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields, extend("patternProperties" = { "^x-": true }))]
pub struct ImagePackages {
    /// The repositories the packages come from; every one has its signing key.
    pub repositories: Vec<PackageRepository>,
    /// Package names, each optionally pinned: `name` or `name=version`.
    pub install: Vec<String>,
    /// Debian or apk architecture names (`amd64`, `arm64`, `x86_64`, `aarch64`); default: the
    /// architectures of `image.platforms`, else the host's.
    #[serde(default)]
    pub architectures: Vec<String>,
    /// `single` (the package set as one layer) or `per-package` (one layer per package,
    /// sorted by name).
    #[serde(default)]
    pub layering: Layering,
}

/// One package repository: apt (`apt`, `suite`, `components`, `key`) or apk (`apk`, `keys`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[schemars(
    deny_unknown_fields,
    extend("patternProperties" = { "^x-": true }),
    extend("oneOf" = [
        { "required": ["apt", "suite", "key"], "not": { "anyOf": [{ "required": ["apk"] }, { "required": ["keys"] }] } },
        { "required": ["apk", "keys"], "not": { "anyOf": [{ "required": ["apt"] }, { "required": ["suite"] }, { "required": ["components"] }, { "required": ["key"] }] } }
    ])
)]
pub struct PackageRepository {
    /// An apt repository's base URL (`http://deb.debian.org/debian`): `dists/` and `pool/`
    /// are below it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apt: Option<String>,
    /// The apt suite (`bookworm`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suite: Option<String>,
    /// The apt components (default `["main"]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<String>,
    /// The apt signing key: an OpenPGP keyring, armored or binary; relative to metadata.json
    /// unless absolute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// An apk repository's URL, `<base>/<version>/<repo>` (the architecture is added).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apk: Option<String>,
    /// The apk repository's trusted RSA public keys (`*.rsa.pub`), relative to
    /// metadata.json unless absolute.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
}

/// What kind of repository a [`PackageRepository`] is, with its checked values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepositoryKind<'a> {
    /// An apt repository.
    Apt {
        url: &'a str,
        suite: &'a str,
        /// `components`, or `["main"]`.
        components: Vec<&'a str>,
        key: &'a str,
    },
    /// An apk repository.
    Apk { url: &'a str, keys: &'a [String] },
}

/// How installed packages become layers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Layering {
    /// The whole package set in one layer.
    #[default]
    Single,
    /// One layer per package, sorted by package name.
    PerPackage,
}

/// The image's users and groups, and the user its processes run as.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields, extend("patternProperties" = { "^x-": true }))]
pub struct Accounts {
    /// Users written to `/etc/passwd` and `/etc/shadow` (password locked).
    #[serde(default)]
    pub users: Vec<User>,
    /// Groups written to `/etc/group`.
    #[serde(default)]
    pub groups: Vec<Group>,
    /// A user of `users`: the image config's `User` (as `uid:gid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as: Option<String>,
}

/// One user account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields, extend("patternProperties" = { "^x-": true }))]
pub struct User {
    /// Login name.
    pub name: String,
    /// Numeric user id.
    pub uid: u32,
    /// Numeric id of the primary group (a group of that name is made when none has it).
    pub gid: u32,
    /// Home directory (absolute; made, owned by the user, when the image lacks it). Default
    /// `/home/<name>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home: Option<String>,
    /// Login shell (absolute). Default `/sbin/nologin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<String>,
}

/// One group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields, extend("patternProperties" = { "^x-": true }))]
pub struct Group {
    /// Group name.
    pub name: String,
    /// Numeric group id.
    pub gid: u32,
    /// Users that are members besides those whose primary group it is.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
}

/// s6 services by name: the command (absolute program path, then its arguments) that
/// `/etc/services.d/<name>/run` starts.
pub type Services = BTreeMap<String, Vec<String>>;

impl PackageRepository {
    /// The repository's kind and values (checked at load time, so this is always `Some` for
    /// a loaded file).
    pub fn kind(&self) -> Option<RepositoryKind<'_>> {
        match (&self.apt, &self.apk) {
            (Some(url), None) => Some(RepositoryKind::Apt {
                url,
                suite: self.suite.as_deref()?,
                components: if self.components.is_empty() {
                    vec!["main"]
                } else {
                    self.components.iter().map(String::as_str).collect()
                },
                key: self.key.as_deref()?,
            }),
            (None, Some(url)) => Some(RepositoryKind::Apk {
                url,
                keys: &self.keys,
            }),
            _ => None,
        }
    }

    /// The repository's URL.
    pub fn url(&self) -> &str {
        self.apt.as_deref().or(self.apk.as_deref()).unwrap_or("")
    }

    /// The key files, resolved against `metadata_dir` (the directory of metadata.json) when
    /// relative. Whether they exist is checked by whoever reads them.
    pub fn key_paths(&self, metadata_dir: &Path) -> Vec<PathBuf> {
        self.key
            .iter()
            .chain(&self.keys)
            .map(|key| metadata_dir.join(key))
            .collect()
    }
}

impl User {
    /// The home directory: `home`, else `/home/<name>`.
    pub fn home(&self) -> String {
        self.home
            .clone()
            .unwrap_or_else(|| format!("/home/{}", self.name))
    }

    /// The login shell: `shell`, else `/sbin/nologin`.
    pub fn shell(&self) -> &str {
        self.shell.as_deref().unwrap_or("/sbin/nologin")
    }
}

impl Accounts {
    /// The user `run_as` names (checked at load time).
    pub fn run_as_user(&self) -> Option<&User> {
        let name = self.run_as.as_deref()?;
        self.users.iter().find(|user| user.name == name)
    }
}

/// A parsed `install` entry: `name` or `name=version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallRequest {
    /// The package name.
    pub name: String,
    /// The pinned version, when given.
    pub version: Option<String>,
}

impl InstallRequest {
    /// Parses `name` or `name=version`: a name of letters, digits and `+-._` starting with a
    /// letter or digit, a version of printable characters without spaces, `=` or `,`.
    pub fn parse(text: &str) -> Result<InstallRequest, &'static str> {
        let (name, version) = match text.split_once('=') {
            Some((name, version)) => (name, Some(version)),
            None => (text, None),
        };
        let name_ok = name.starts_with(|c: char| c.is_ascii_alphanumeric())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-._".contains(c));
        if !name_ok {
            return Err("must be `name` or `name=version`, the name of letters, digits and `+-._`");
        }
        if let Some(version) = version
            && (version.is_empty()
                || !version
                    .chars()
                    .all(|c| c.is_ascii_graphic() && !"=,".contains(c)))
        {
            return Err("has an empty or malformed version after `=`");
        }
        Ok(InstallRequest {
            name: name.to_string(),
            version: version.map(str::to_string),
        })
    }
}

impl ImagePackages {
    /// The `install` list parsed (checked at load time, so nothing is dropped).
    pub fn requests(&self) -> Vec<InstallRequest> {
        self.install
            .iter()
            .filter_map(|text| InstallRequest::parse(text).ok())
            .collect()
    }
}
