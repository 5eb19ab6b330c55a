//! The typed form of `metadata.json`, after templates are expanded.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::checksum::{Checksum, ChecksumAlgorithm};

/// A loaded `metadata.json`: the targets by name, in name order.
#[derive(Debug, Clone, Serialize)]
pub struct Metadata {
    /// The file it was loaded from.
    pub path: std::path::PathBuf,
    /// Targets by name.
    pub targets: BTreeMap<String, Target>,
}

/// One build target (seed schema plus boxwright's extensions).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[schemars(
    deny_unknown_fields,
    extend("patternProperties" = { "^x-": true }),
    extend("anyOf" = [
        { "required": ["version_env_var"] },
        { "required": ["upstream"] },
        { "required": ["image"], "properties": { "image": { "required": ["packages"] } } }
    ])
)]
pub struct Target {
    /// Prefix of the target's release tags (`{tag_prefix}-{version}[-{prerelease}].{revision}`);
    /// defaults to the target's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag_prefix: Option<String>,
    /// Name of the `env` entry holding the target's official version; required unless the
    /// target has `upstream` (its versions are then discovered) or is an image made from
    /// packages (`image.packages`).
    #[serde(default)]
    pub version_env_var: String,
    /// Paths under the target's output directory packed by `release package`; a trailing `/`
    /// names a directory, taken recursively.
    #[serde(default)]
    pub release_files: Vec<String>,
    /// Variables for `{VAR}` templates and the build recipe.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Upstream sources fetched into `.tmp/`.
    #[serde(default)]
    pub downloads: Vec<Download>,
    /// Checks run on the built artifacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<Verify>,
    /// How the target's image is assembled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
    /// Where a mirror target's versions come from (`plan`, `mirror run`). Its strings may use
    /// `{VERSION}`, `{ARCH}` (amd64, arm64) and `{UNAME_ARCH}` (x86_64, aarch64), filled in per
    /// version and architecture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<Upstream>,
    /// Other targets of this file built first, whose outputs the recipe sees as a read-only
    /// sysroot (`SYSROOT`, with `include/`, `lib/` and `lib/pkgconfig/`).
    #[serde(default)]
    pub build_depends: Vec<String>,
    /// The source URL recorded in outputs (`org.opencontainers.image.source`), instead of the
    /// one detected from CI variables or the git remote; `""` records none. An `https://` or
    /// `http://` URL without credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_url: Option<String>,
    /// What `release manifest` and `release publish` ship, and how the manifest is signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<Release>,
    /// The fields of the `.apk` and `.deb` packages `boxwright package` makes from the output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<Package>,
    /// Strings holding `{VERSION}`, `{ARCH}` or `{UNAME_ARCH}` in an `upstream` target, as
    /// written, by JSON pointer below the target; [`Target::resolved`] fills them in.
    #[serde(skip)]
    #[schemars(skip)]
    pub late: BTreeMap<String, String>,
}

/// An upstream project whose releases or tags give a mirror target's versions.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields, extend("patternProperties" = { "^x-": true }))]
pub struct Upstream {
    /// GitHub repository `owner/repo`: its releases (drafts skipped, prereleases unless asked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github: Option<String>,
    /// GitLab project path (`group/sub/project`) or numeric id: its tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gitlab: Option<String>,
    /// API base URL: GitHub Enterprise (`https://host/api/v3`), a GitLab host
    /// (`https://host`, `/api/v4` is added), or a test server. Default: github.com's or
    /// gitlab.com's API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// Tags must match this regex; its named group `version` is the version (else the whole
    /// tag without a leading `v`). What it matches outside the group is a flavour, not a
    /// pre-release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag_regex: Option<String>,
    /// Take GitHub prereleases too.
    #[serde(default)]
    pub prereleases: bool,
    /// How many of the newest versions to keep (default 10).
    #[serde(default = "default_max_versions")]
    pub max_versions: usize,
}

fn default_max_versions() -> usize {
    10
}

/// One layer source of an image assembled from downloads (`image.layers`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields, extend("patternProperties" = { "^x-": true }))]
pub struct ImageLayer {
    /// A download (by `name`) that is an archive, unpacked at `to`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive: Option<String>,
    /// A download (by `name`) placed as the file `to`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Where in the image: a directory for `archive`, the file's path for `file`.
    pub to: String,
    /// Leading path components dropped from every archive entry.
    #[serde(default)]
    pub strip_components: usize,
    /// Octal mode of a `file` (default `0644`, `0755` when it is an ELF executable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
}

/// One upstream resource.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields, extend("patternProperties" = { "^x-": true }))]
pub struct Download {
    /// `https://`, `http://` or `file:` (relative to the metadata file) URL.
    pub url: String,
    /// File name under `.tmp/`; defaults to the last segment of the URL's path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Expected SHA-256 (hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Expected SHA-512 (hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha512: Option<String>,
    /// An upstream checksum file (`sha256sum` format) naming this file; its digest is used
    /// when none is pinned here. Without either, the lock file records the digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksums_url: Option<String>,
}

/// Checks run on a target's built files.
#[allow(
    clippy::struct_excessive_bools,
    reason = "each flag is one independent policy in metadata.json"
)]
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields, extend("patternProperties" = { "^x-": true }))]
pub struct Verify {
    /// Every ELF file must be statically linked.
    #[serde(default, rename = "static")]
    pub static_: bool,
    /// Every ELF executable must be position independent.
    #[serde(default)]
    pub pie: bool,
    /// Every ELF file must be stripped.
    #[serde(default)]
    pub stripped: bool,
    /// Every ELF file must have full RELRO.
    #[serde(default)]
    pub relro: bool,
    /// Every ELF file must have a non-executable stack.
    #[serde(default)]
    pub nx: bool,
    /// A command run in an empty root: the path (under the output directory) and its arguments.
    #[serde(default)]
    pub smoke: Vec<String>,
}

/// How a target's OCI image and root filesystem are assembled.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields, extend("patternProperties" = { "^x-": true }))]
pub struct Image {
    /// `scratch`, a path to an OCI layout or archive, or a registry reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// Files from the output directory: path in the image → path under `.out/<target>/`.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// An overlay directory copied into the image (default `<target>/rootfs/` when present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rootfs: Option<String>,
    /// Inline files: path in the image → content.
    #[serde(default)]
    pub contents: BTreeMap<String, String>,
    #[serde(default)]
    pub entrypoint: Vec<String>,
    #[serde(default)]
    pub cmd: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workdir: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub exposed_ports: Vec<String>,
    #[serde(default)]
    pub volumes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    /// Platforms such as `linux/amd64`, `linux/arm64`.
    #[serde(default)]
    pub platforms: Vec<String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// The registry repository `plan` and `mirror run` use (`host/path`); default
    /// `<--registry>/<target>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// CI runner labels by architecture (`amd64`, `arm64`) for generated workflows and plans.
    #[serde(default)]
    pub runners: BTreeMap<String, String>,
    /// Layers made from downloads instead of a build output (mirror targets), in order.
    #[serde(default)]
    pub layers: Vec<ImageLayer>,
    /// Distribution packages installed into the image (apt or apk repositories), below the
    /// target's own files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packages: Option<crate::ImagePackages>,
    /// Users and groups (`/etc/passwd`, `/etc/group`, `/etc/shadow`) and the user the image
    /// runs as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accounts: Option<crate::Accounts>,
    /// s6 services by name: `/etc/services.d/<name>/run` starts the command; the entrypoint
    /// is `s6-svscan /etc/services.d`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub services: crate::Services,
}

/// A target's published release: its artifacts and the signed manifest naming them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields, extend("patternProperties" = { "^x-": true }))]
pub struct Release {
    /// Artifact file name (`{TAG}` is the release tag) → where it comes from: `archive` (the
    /// `release package` tarball `<tag>.tar.gz`), `rootfs` (the flat rootfs tarball of the
    /// target's image, built by `release manifest`/`publish` themselves, gzip when the name
    /// ends in `.gz`) or `file:PATH` (a file already made, relative to the project).
    #[serde(default)]
    pub artifacts: BTreeMap<String, String>,
    /// Images the release publishes, recorded in the manifest by digest: references
    /// `REGISTRY/REPOSITORY[:TAG]` (templates such as `{VERSION}` are filled in; without a tag,
    /// the target's version), resolved in the registry when the manifest is made.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    /// The environment variable holding the manifest's signing key text (a CI secret); no
    /// signature when it is unset or empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_key_env: Option<String>,
    /// Signature format of `manifest.json.sig`.
    #[serde(default)]
    pub signature: SignatureFormat,
}

/// Package fields and subpackages of a target (`boxwright package`). All optional.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields, extend("patternProperties" = { "^x-": true }))]
pub struct Package {
    /// Package name (default: the target's name): lower-case letters, digits and `+.-`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// One-line summary, then optional longer text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// License (SPDX expression); apk `license`, deb `/usr/share/doc/<name>/copyright`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    /// Project home page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `Name <email>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintainer: Option<String>,
    /// Package dependencies, as the target format writes them (`musl`, `libc6 (>= 2.36)`).
    #[serde(default)]
    pub depends: Vec<String>,
    /// Virtual packages this one provides.
    #[serde(default)]
    pub provides: Vec<String>,
    /// Absolute installed paths of configuration files (deb `conffiles`).
    #[serde(default)]
    pub conffiles: Vec<String>,
    /// Install scripts by name: `pre-install`, `post-install`, `pre-upgrade`, `post-upgrade`,
    /// `pre-deinstall`, `post-deinstall` (shell).
    #[serde(default)]
    pub scripts: BTreeMap<String, String>,
    /// Package revision: `-r<N>` (apk), `-<N>` (deb).
    #[serde(default)]
    pub revision: u32,
    /// Install prefix of the output tree (default `/usr`: `.out/<target>/bin/x` installs as
    /// `/usr/bin/x`); `/` installs the tree at the root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Subpackages `<name>-<suffix>` holding the files matched by the globs (relative to the
    /// output tree: `*`, `?`, `**`), removed from the main package.
    #[serde(default)]
    pub subpackages: BTreeMap<String, Vec<String>>,
}

/// The install script names `package.scripts` accepts.
pub const PACKAGE_SCRIPTS: [&str; 6] = [
    "pre-install",
    "post-install",
    "pre-upgrade",
    "post-upgrade",
    "pre-deinstall",
    "post-deinstall",
];

/// How a release manifest is signed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SignatureFormat {
    /// minisign `ED` signature (Ed25519 over BLAKE2b-512, trusted comment signed).
    #[default]
    Minisign,
    /// cosign `sign-blob` signature (ECDSA P-256 over SHA-256, base64 DER).
    Cosign,
}

impl Metadata {
    /// The target called `name`.
    pub fn target(&self, name: &str) -> Option<&Target> {
        self.targets.get(name)
    }

    /// The target called `name`; [`Error::UnknownTarget`](crate::Error::UnknownTarget)
    /// listing the known ones when there is none.
    pub fn require_target(&self, name: &str) -> Result<&Target, crate::Error> {
        self.target(name)
            .ok_or_else(|| crate::Error::UnknownTarget {
                name: name.to_string(),
                known: self.targets.keys().cloned().collect(),
            })
    }

    /// `names` and everything they depend on (`build_depends`, transitively), dependencies
    /// before their dependents; ties in name order. The loader refused unknown names and
    /// cycles, so this always succeeds for a loaded file's target names.
    pub fn build_order(&self, names: &[String]) -> Vec<String> {
        fn visit(
            metadata: &Metadata,
            name: &str,
            seen: &mut std::collections::BTreeSet<String>,
            order: &mut Vec<String>,
        ) {
            if !seen.insert(name.to_string()) {
                return;
            }
            if let Some(target) = metadata.target(name) {
                let mut depends = target.build_depends.clone();
                depends.sort();
                for dependency in &depends {
                    visit(metadata, dependency, seen, order);
                }
            }
            order.push(name.to_string());
        }
        let mut sorted = names.to_vec();
        sorted.sort();
        let mut seen = std::collections::BTreeSet::new();
        let mut order = Vec::new();
        for name in &sorted {
            visit(self, name, &mut seen, &mut order);
        }
        order
    }
}

impl Target {
    /// The official version: `env[version_env_var]` (checked present at load time).
    pub fn version(&self) -> &str {
        self.env
            .get(&self.version_env_var)
            .map_or("", String::as_str)
    }

    /// This target for one `version` and architecture (`oci_arch`: `amd64`, `arm64`): its
    /// `{VERSION}`, `{ARCH}` and `{UNAME_ARCH}` strings filled in, other variables from `env`
    /// and then `process_env` as at load time, and its version set (`env[version_env_var]`,
    /// or `VERSION` when it names none).
    pub fn resolved(
        &self,
        version: &str,
        oci_arch: &str,
        process_env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Target, crate::Error> {
        let uname = match boxwright_platform::Arch::from_oci(oci_arch) {
            Some(arch) => arch.name(),
            None => oci_arch,
        };
        let lookup = |name: &str| match name {
            "VERSION" => Some(version.to_string()),
            "ARCH" => Some(oci_arch.to_string()),
            "UNAME_ARCH" => Some(uname.to_string()),
            _ => self.env.get(name).cloned().or_else(|| process_env(name)),
        };
        let mut value = serde_json::to_value(self).expect("a target serialises");
        for (pointer, raw) in &self.late {
            let expanded =
                crate::template::expand(raw, &lookup).map_err(|e| crate::Error::Resolve {
                    pointer: pointer.clone(),
                    message: e.to_string(),
                })?;
            if let Some(slot) = value.pointer_mut(pointer) {
                *slot = serde_json::Value::String(expanded);
            }
        }
        let mut target: Target =
            serde_json::from_value(value).map_err(|e| crate::Error::Resolve {
                pointer: String::new(),
                message: e.to_string(),
            })?;
        if target.version_env_var.is_empty() {
            target.version_env_var = "VERSION".into();
        }
        target
            .env
            .insert(target.version_env_var.clone(), version.to_string());
        Ok(target)
    }

    /// The tag prefix, defaulting to the target's name.
    pub fn tag_prefix<'a>(&'a self, name: &'a str) -> &'a str {
        self.tag_prefix.as_deref().unwrap_or(name)
    }
}

impl Download {
    /// The file name under `.tmp/` (checked safe at load time).
    pub fn file_name(&self) -> &str {
        match &self.name {
            Some(name) => name,
            None => url_file_name(&self.url),
        }
    }

    /// The expected digests (checked well-formed at load time).
    pub fn checksums(&self) -> Vec<Checksum> {
        [
            (ChecksumAlgorithm::Sha256, &self.sha256),
            (ChecksumAlgorithm::Sha512, &self.sha512),
        ]
        .into_iter()
        .filter_map(|(algorithm, hex)| {
            hex.as_deref()
                .and_then(|h| Checksum::parse(algorithm, h).ok())
        })
        .collect()
    }
}

/// The last segment of a URL's path, without query or fragment.
pub(crate) fn url_file_name(url: &str) -> &str {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    path.rsplit('/').next().unwrap_or(path)
}
