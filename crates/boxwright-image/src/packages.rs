//! Images from packages (`image.packages`): the repositories' signed indexes fetched and
//! checked, the `install` list resolved into a lock ([`lock`]), and a lock installed into an
//! image tree without a package manager ([`install`]).
//!
//! Files live in the project's `.tmp/`: index files by SHA-256 in `.tmp/indexes/`, package
//! files by SHA-256 in `.tmp/packages/`, unpacked contents in `.tmp/packages/staging/`. A
//! lock names every package by URL and SHA-256, so installing it needs no index, and with
//! every package cached no network.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use boxwright_distro::install::{self, ApkSetup, Installed, OsRelease};
use boxwright_distro::{Candidate, Kind, Op, Relation};
use boxwright_fetch::{
    ArchitectureLock, FetchOptions, FetchRequest, ImageLock, LockedIndex, LockedPackage, Progress,
    Source,
};
use boxwright_metadata::{
    Checksum, ChecksumAlgorithm, ImagePackages, InstallRequest, Project, RepositoryKind,
};
use boxwright_platform::Arch;
use sha2::Digest as _;

use crate::Error;

/// How downloads are made.
pub struct FetchSettings<'a> {
    /// Only the cache: no index or package is downloaded.
    pub offline: bool,
    /// The runtime downloads run on (the caller's).
    pub runtime: &'a tokio::runtime::Handle,
    pub progress: &'a dyn Progress,
    /// Seconds since the epoch, for `Valid-Until`.
    pub now: u64,
}

impl<'a> FetchSettings<'a> {
    /// Settings with `now` read from the clock.
    pub fn new(
        offline: bool,
        runtime: &'a tokio::runtime::Handle,
        progress: &'a dyn Progress,
    ) -> FetchSettings<'a> {
        FetchSettings {
            offline,
            runtime,
            progress,
            now: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        }
    }
}

/// Records `lock` as `target`'s in the project's metadata.lock.json (written atomically);
/// the file's path and whether anything changed.
pub fn record(project: &Project, target: &str, lock: ImageLock) -> Result<(PathBuf, bool), Error> {
    let path = project.root.join(boxwright_fetch::LOCK_FILE);
    let lock_error = |source| Error::Lock {
        path: path.clone(),
        source: Box::new(source),
    };
    let mut file = boxwright_fetch::LockFile::load(&path).map_err(lock_error)?;
    file.set_image(target, lock);
    let written = file.save().map_err(lock_error)?;
    Ok((path, written))
}

/// One repository of `image.packages`, its keys read.
enum Repository {
    Apt {
        base: String,
        suite: String,
        components: Vec<String>,
        keyring: boxwright_distro::apt::Keyring,
    },
    Apk {
        base: String,
        /// `(key file name, PEM)`.
        keys: Vec<(String, String)>,
    },
}

impl Repository {
    fn kind(&self) -> Kind {
        match self {
            Repository::Apt { .. } => Kind::Deb,
            Repository::Apk { .. } => Kind::Apk,
        }
    }
}

/// The repositories of `packages`, with their key files read (relative to metadata.json).
fn repositories(
    project: &Project,
    target: &str,
    packages: &ImagePackages,
) -> Result<Vec<Repository>, Error> {
    let dir = project.root.clone();
    let mut out = Vec::new();
    for (index, repository) in packages.repositories.iter().enumerate() {
        let paths = repository.key_paths(&dir);
        let read = |path: &Path| {
            std::fs::read(path).map_err(|source| Error::RepositoryKey {
                target: target.to_string(),
                repository: repository.url().to_string(),
                path: path.to_path_buf(),
                source,
            })
        };
        match repository.kind() {
            Some(RepositoryKind::Apt {
                url,
                suite,
                components,
                ..
            }) => {
                let path = &paths[0];
                let keyring = boxwright_distro::apt::Keyring::from_bytes(
                    &read(path)?,
                    &path.display().to_string(),
                )
                .map_err(|source| distro(target, repository.url(), source))?;
                out.push(Repository::Apt {
                    base: url.trim_end_matches('/').to_string(),
                    suite: suite.to_string(),
                    components: components.iter().map(|c| (*c).to_string()).collect(),
                    keyring,
                });
            }
            Some(RepositoryKind::Apk { url, .. }) => {
                let mut keys = Vec::new();
                for path in &paths {
                    let name = path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    let pem = String::from_utf8_lossy(&read(path)?).into_owned();
                    keys.push((name, pem));
                }
                out.push(Repository::Apk {
                    base: url.trim_end_matches('/').to_string(),
                    keys,
                });
            }
            None => {
                return Err(Error::PackagesConfig {
                    target: target.to_string(),
                    reason: format!("repository {index} is neither apt nor apk"),
                });
            }
        }
    }
    let kinds: Vec<Kind> = out.iter().map(Repository::kind).collect();
    if kinds.windows(2).any(|pair| pair[0] != pair[1]) {
        return Err(Error::PackagesConfig {
            target: target.to_string(),
            reason: "apt and apk repositories cannot be mixed in one image".into(),
        });
    }
    Ok(out)
}

fn distro(target: &str, repository: &str, source: boxwright_distro::Error) -> Error {
    Error::Distro {
        target: target.to_string(),
        context: repository.to_string(),
        source: Box::new(source),
    }
}

/// The architectures an image from packages is made for: `architectures`, else the host's.
pub fn architectures(packages: &ImagePackages) -> Result<Vec<Arch>, Error> {
    if packages.architectures.is_empty() {
        return Arch::host().map(|a| vec![a]).ok_or_else(|| Error::Platform {
            message: "this machine's architecture has no image platform; set image.packages.architectures".into(),
        });
    }
    packages
        .architectures
        .iter()
        .map(|name| {
            Arch::from_any(name).ok_or_else(|| Error::Platform {
                message: format!("unknown architecture `{name}` in image.packages.architectures"),
            })
        })
        .collect()
}

/// The architecture's name as a repository of `kind` spells it (the lock's key).
pub fn arch_name(kind: Kind, arch: Arch) -> &'static str {
    match kind {
        Kind::Deb => arch.debian(),
        Kind::Apk => arch.apk(),
    }
}

/// The kind of the target's repositories.
pub fn kind_of(packages: &ImagePackages) -> Kind {
    match packages
        .repositories
        .first()
        .and_then(boxwright_metadata::PackageRepository::kind)
    {
        Some(RepositoryKind::Apk { .. }) => Kind::Apk,
        _ => Kind::Deb,
    }
}

/// Fetches and checks every repository's index, resolves `install` for each architecture,
/// downloads and checks every chosen package, and returns the lock.
pub fn lock(
    project: &Project,
    target: &str,
    packages: &ImagePackages,
    settings: &FetchSettings<'_>,
) -> Result<ImageLock, Error> {
    let repositories = repositories(project, target, packages)?;
    let kind = kind_of(packages);
    let mut lock = ImageLock {
        install: packages.install.clone(),
        ..ImageLock::default()
    };
    let install: Vec<Relation> = packages.requests().into_iter().map(relation).collect();
    for arch in architectures(packages)? {
        let arch_name = arch_name(kind, arch);
        let mut indexes = Vec::new();
        let mut candidates: Vec<Candidate> = Vec::new();
        for (number, repository) in repositories.iter().enumerate() {
            let (found, read, os) =
                read_repository(project, target, repository, number, arch_name, settings)?;
            candidates.extend(found);
            indexes.extend(read);
            if lock.os_release.is_none() {
                lock.os_release = os;
            }
        }
        let options = boxwright_distro::Options {
            kind,
            arch: arch_name.to_string(),
        };
        let resolution =
            boxwright_distro::resolve(&candidates, &install, &options).map_err(|source| {
                distro(
                    target,
                    &format!("image.packages.install ({arch_name})"),
                    source,
                )
            })?;
        let mut locked = Vec::new();
        for &chosen in &resolution.chosen {
            let candidate = &candidates[chosen];
            let url = package_url(&repositories[candidate.repository], candidate, arch_name);
            let path = download_package(project, target, candidate, &url, settings)?;
            let sha256 = file_sha256(&path)?;
            locked.push(LockedPackage {
                name: candidate.name.clone(),
                version: candidate.version.clone(),
                arch: candidate.arch.clone(),
                url,
                sha256,
            });
        }
        lock.architectures.insert(
            arch_name.to_string(),
            ArchitectureLock {
                indexes,
                packages: locked,
            },
        );
    }
    lock.normalise();
    Ok(lock)
}

fn relation(request: InstallRequest) -> Relation {
    Relation {
        name: request.name,
        constraint: request.version.map(|v| (Op::Eq, v)),
        arch_qualifier: String::new(),
    }
}

type RepositoryRead = (
    Vec<Candidate>,
    Vec<LockedIndex>,
    Option<BTreeMap<String, String>>,
);

/// One repository's candidates for `arch`, the index files read, and the distribution's
/// identity for `/etc/os-release`.
fn read_repository(
    project: &Project,
    target: &str,
    repository: &Repository,
    number: usize,
    arch: &str,
    settings: &FetchSettings<'_>,
) -> Result<RepositoryRead, Error> {
    match repository {
        Repository::Apt {
            base,
            suite,
            components,
            keyring,
        } => {
            let dists = format!("{base}/dists/{suite}");
            let inrelease_url = format!("{dists}/InRelease");
            let (release, signed_url, signed_bytes) =
                match fetch_fresh(project, target, &inrelease_url, settings) {
                    Ok(bytes) => {
                        let release =
                            boxwright_distro::apt::verify_inrelease(&bytes, keyring, settings.now)
                                .map_err(|source| distro(target, &inrelease_url, source))?;
                        (release, inrelease_url, bytes)
                    }
                    Err(first) => {
                        let release_url = format!("{dists}/Release");
                        let Ok(text) = fetch_fresh(project, target, &release_url, settings) else {
                            return Err(first);
                        };
                        let signature =
                            fetch_fresh(project, target, &format!("{release_url}.gpg"), settings)?;
                        let release = boxwright_distro::apt::verify_release(
                            &text,
                            &signature,
                            keyring,
                            settings.now,
                        )
                        .map_err(|source| distro(target, &release_url, source))?;
                        (release, release_url, text)
                    }
                };
            let mut indexes = vec![LockedIndex {
                url: signed_url,
                sha256: hex::encode(sha2::Sha256::digest(&signed_bytes)),
            }];
            let mut candidates = Vec::new();
            for component in components {
                let files = release
                    .require_index(component, arch)
                    .map_err(|source| distro(target, &dists, source))?;
                let file = &files[0];
                let url = format!("{dists}/{}", file.path);
                let path = project.root.join(".tmp/indexes").join(&file.sha256);
                fetch_to(target, &url, &path, Some(&file.sha256), settings)?;
                let bytes = std::fs::read(&path).map_err(Error::io(&path))?;
                let text = boxwright_distro::apt::open_index(file, &bytes)
                    .map_err(|source| distro(target, &url, source))?;
                candidates.extend(
                    boxwright_distro::apt::parse_packages(&text, number, arch)
                        .map_err(|source| distro(target, &url, source))?,
                );
                indexes.push(LockedIndex {
                    url,
                    sha256: file.sha256.clone(),
                });
            }
            Ok((candidates, indexes, Some(debian_os_release(&release))))
        }
        Repository::Apk { base, keys } => {
            let url = format!("{base}/{arch}/APKINDEX.tar.gz");
            let bytes = fetch_fresh(project, target, &url, settings)?;
            let index = boxwright_distro::apk::verify_apkindex(&bytes, keys)
                .map_err(|source| distro(target, &url, source))?;
            let candidates = index
                .candidates(number)
                .map_err(|source| distro(target, &url, source))?;
            let indexes = vec![LockedIndex {
                url,
                sha256: hex::encode(sha2::Sha256::digest(&bytes)),
            }];
            Ok((candidates, indexes, Some(apk_os_release(base))))
        }
    }
}

/// os-release fields from a Debian-style Release (`Origin`, `Version`, `Codename`).
fn debian_os_release(release: &boxwright_distro::apt::Release) -> BTreeMap<String, String> {
    let field = |name: &str| {
        release
            .fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let origin = field("Origin");
    let version = field("Version");
    let major = version.split('.').next().unwrap_or_default().to_string();
    let codename = release.codename.clone().unwrap_or_default();
    let id = origin.to_ascii_lowercase().replace(' ', "-");
    let pretty = if id == "debian" {
        format!("Debian GNU/Linux {major} ({codename})")
    } else {
        format!("{origin} {version}").trim().to_string()
    };
    BTreeMap::from([
        ("ID".to_string(), id),
        ("VERSION_ID".to_string(), major),
        ("VERSION_CODENAME".to_string(), codename),
        ("PRETTY_NAME".to_string(), pretty),
    ])
}

/// os-release fields for an apk repository `<base>/<version>/<repo>`: Alpine's family, the
/// version from the URL (`v3.20` or `3.20`).
fn apk_os_release(base: &str) -> BTreeMap<String, String> {
    let mut parts = base.rsplit('/');
    let _repo = parts.next();
    let version = parts
        .next()
        .unwrap_or_default()
        .trim_start_matches('v')
        .to_string();
    BTreeMap::from([
        ("ID".to_string(), "alpine".to_string()),
        ("VERSION_ID".to_string(), version.clone()),
        ("VERSION_CODENAME".to_string(), String::new()),
        (
            "PRETTY_NAME".to_string(),
            format!("Alpine Linux v{version}"),
        ),
    ])
}

fn package_url(repository: &Repository, candidate: &Candidate, arch: &str) -> String {
    match repository {
        Repository::Apt { base, .. } => format!("{base}/{}", candidate.filename),
        Repository::Apk { base, .. } => format!("{base}/{arch}/{}", candidate.filename),
    }
}

/// Downloads a chosen package into the cache and checks it against its index; the path.
fn download_package(
    project: &Project,
    target: &str,
    candidate: &Candidate,
    url: &str,
    settings: &FetchSettings<'_>,
) -> Result<PathBuf, Error> {
    let dir = project.root.join(".tmp/packages");
    let extension = match candidate.kind {
        Kind::Deb => "deb",
        Kind::Apk => "apk",
    };
    let path = if let Some(sha256) = &candidate.sha256 {
        let path = dir.join(format!("{sha256}.{extension}"));
        fetch_to(target, url, &path, Some(sha256), settings)?;
        path
    } else {
        {
            // apk indexes give no file digest: download, check against `C:`, then keep it
            // under its SHA-256 like every other package.
            let fresh = fetch_fresh_path(project, target, url, settings)?;
            let sha256 = file_sha256(&fresh)?;
            let path = dir.join(format!("{sha256}.{extension}"));
            std::fs::create_dir_all(&dir).map_err(Error::io(&dir))?;
            std::fs::rename(&fresh, &path).map_err(Error::io(&path))?;
            path
        }
    };
    let checked = match candidate.kind {
        Kind::Deb => boxwright_distro::check::check_deb(&path, candidate),
        Kind::Apk => boxwright_distro::check::check_apk(&path, candidate),
    };
    checked.map_err(|source| distro(target, url, source))?;
    Ok(path)
}

/// Installs the lock of one architecture into an install tree (packages from the cache,
/// downloaded by URL and SHA-256 when missing).
pub fn install(
    project: &Project,
    target: &str,
    packages: &ImagePackages,
    lock: &ImageLock,
    arch: &str,
    settings: &FetchSettings<'_>,
) -> Result<Installed, Error> {
    let kind = kind_of(packages);
    let locked = lock
        .architectures
        .get(arch)
        .ok_or_else(|| Error::PackagesConfig {
            target: target.to_string(),
            reason: format!(
                "the lock has no architecture {arch}; run `boxwright image lock {target}`"
            ),
        })?;
    let dir = project.root.join(".tmp/packages");
    let mut files = Vec::new();
    for package in &locked.packages {
        let extension = if kind == Kind::Deb { "deb" } else { "apk" };
        let path = dir.join(format!("{}.{extension}", package.sha256));
        fetch_to(target, &package.url, &path, Some(&package.sha256), settings).map_err(
            |error| Error::LockedPackage {
                target: target.to_string(),
                package: format!("{} {} ({})", package.name, package.version, package.arch),
                source: Box::new(error),
            },
        )?;
        files.push((candidate_of(kind, &path, package)?, path));
    }
    let input: Vec<install::Package<'_>> = files
        .iter()
        .map(|(candidate, file)| install::Package { candidate, file })
        .collect();
    let os = lock.os_release.clone().unwrap_or_default();
    let get = |key: &str| os.get(key).cloned().unwrap_or_default();
    let repositories = repositories(project, target, packages)?;
    let apk = ApkSetup {
        arch: arch.to_string(),
        world: packages.install.clone(),
        repositories: packages
            .repositories
            .iter()
            .map(|r| r.url().to_string())
            .collect(),
        keys: repositories
            .iter()
            .flat_map(|r| match r {
                Repository::Apk { keys, .. } => keys
                    .iter()
                    .map(|(name, pem)| (name.clone(), pem.clone().into_bytes()))
                    .collect(),
                Repository::Apt { .. } => Vec::new(),
            })
            .collect(),
    };
    let options = install::Options {
        staging: &dir.join("staging"),
        os_release: OsRelease {
            id: get("ID"),
            version_id: get("VERSION_ID"),
            version_codename: get("VERSION_CODENAME"),
            pretty_name: get("PRETTY_NAME"),
        },
        apk,
        limits: boxwright_package::ReadLimits::default(),
    };
    install::install(&input, &options)
        .map_err(|source| distro(target, "installing the lock", source))
}

/// What the installer needs to know of a locked package, read from the file itself (the
/// index is not needed to install a lock).
fn candidate_of(kind: Kind, path: &Path, package: &LockedPackage) -> Result<Candidate, Error> {
    let info = boxwright_package::inspect(path).map_err(|source| Error::Package {
        package: package.name.clone(),
        source: Box::new(source),
    })?;
    let fields = match kind {
        Kind::Deb => info.control_fields,
        // The apk installer reads `Replaces` as the index letter `r`.
        Kind::Apk => info
            .control_fields
            .into_iter()
            .map(|(key, value)| {
                if key == "replaces" {
                    ("r".to_string(), value)
                } else {
                    (key, value)
                }
            })
            .collect(),
    };
    Ok(Candidate {
        kind,
        name: info.name,
        version: info.version,
        arch: info.arch,
        depends: Vec::new(),
        conflicts: Vec::new(),
        provides: Vec::new(),
        essential: false,
        filename: package
            .url
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string(),
        size: info.file_size,
        sha256: Some(info.sha256),
        apk_checksum: None,
        repository: 0,
        fields,
    })
}

/// Downloads `url` to `path` (kept when it already matches `sha256`).
fn fetch_to(
    target: &str,
    url: &str,
    path: &Path,
    sha256: Option<&str>,
    settings: &FetchSettings<'_>,
) -> Result<(), Error> {
    let checksums = match sha256 {
        Some(hex) => vec![
            Checksum::parse(ChecksumAlgorithm::Sha256, hex).map_err(|e| Error::PackagesConfig {
                target: target.to_string(),
                reason: format!("{url}: {e}"),
            })?,
        ],
        None => Vec::new(),
    };
    let request = FetchRequest {
        target: target.to_string(),
        name: url.rsplit('/').next().unwrap_or(url).to_string(),
        url: url.to_string(),
        source: Source::Http(url.to_string()),
        checksums,
        dest: path.to_path_buf(),
    };
    let options = FetchOptions {
        offline: settings.offline,
        ..FetchOptions::default()
    };
    let results = settings
        .runtime
        .block_on(boxwright_fetch::fetch_all(
            std::slice::from_ref(&request),
            &options,
            settings.progress,
        ))
        .map_err(|source| Error::Fetch {
            url: url.to_string(),
            source: Box::new(source),
        })?;
    match results.into_iter().next() {
        Some(Ok(_)) | None => Ok(()),
        Some(Err(source)) => Err(Error::Fetch {
            url: url.to_string(),
            source: Box::new(source),
        }),
    }
}

/// Downloads `url` afresh (never from the cache) into a new file of `.tmp/indexes/`.
fn fetch_fresh_path(
    project: &Project,
    target: &str,
    url: &str,
    settings: &FetchSettings<'_>,
) -> Result<PathBuf, Error> {
    let dir = project.root.join(".tmp/indexes");
    std::fs::create_dir_all(&dir).map_err(Error::io(&dir))?;
    let path = dir.join(format!(
        "fresh-{}-{}",
        std::process::id(),
        hex::encode(sha2::Sha256::digest(url.as_bytes()))
    ));
    let _ = std::fs::remove_file(&path);
    if settings.offline {
        return Err(Error::Offline {
            url: url.to_string(),
        });
    }
    fetch_to(target, url, &path, None, settings)?;
    Ok(path)
}

/// [`fetch_fresh_path`]'s bytes (the file removed).
fn fetch_fresh(
    project: &Project,
    target: &str,
    url: &str,
    settings: &FetchSettings<'_>,
) -> Result<Vec<u8>, Error> {
    let path = fetch_fresh_path(project, target, url, settings)?;
    let bytes = std::fs::read(&path).map_err(Error::io(&path));
    let _ = std::fs::remove_file(&path);
    bytes
}

fn file_sha256(path: &Path) -> Result<String, Error> {
    let mut file = std::fs::File::open(path).map_err(Error::io(path))?;
    let mut hasher = sha2::Sha256::new();
    let mut buffer = vec![0_u8; 256 * 1024];
    loop {
        let n = std::io::Read::read(&mut file, &mut buffer).map_err(Error::io(path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}
