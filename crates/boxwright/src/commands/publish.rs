//! `release manifest` and `release publish`: a signed `manifest.json` naming a release's
//! artifacts, published as versioned and stable objects (seed 001's layout); `release
//! verify` (in `release_verify`) checks them.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use boxwright_archive::hex;
use boxwright_metadata::{Project, ReleaseTag, SignatureFormat};
use boxwright_registry::Reference;
use boxwright_release::manifest::{self, Manifest, ManifestArtifact, ManifestImage};
use boxwright_sign::minisign::MinisignSecretKey;
use boxwright_sign::{KeySource, SigningKey};
use serde::Serialize;

use super::ExitStatus;
use crate::cli::{ManifestArgs, PublishArgs, RegistryArgs};
use crate::context;
use crate::printer::Printer;

const MANIFEST: &str = "manifest.json";
const SIGNATURE: &str = "manifest.json.sig";

/// A release ready to write: the manifest's bytes, its signature, and where each artifact is.
struct Prepared {
    manifest: Manifest,
    bytes: Vec<u8>,
    signature: Option<Vec<u8>>,
    /// Artifact name → the file it is copied from.
    sources: Vec<(String, PathBuf)>,
}

/// The key that signs the manifest: `--key`, else the target's `manifest_key_env` when set.
fn signing_key_text(
    explicit: Option<&str>,
    key_env: Option<&str>,
) -> anyhow::Result<Option<(String, String)>> {
    if let Some(key) = explicit {
        let source = KeySource::parse(key);
        let text = source
            .read()
            .with_context(|| format!("cannot read the signing key {source}"))?;
        return Ok(Some((source.to_string(), text.to_string())));
    }
    Ok(key_env.and_then(|name| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .map(|text| (format!("env://{name}"), text))
    }))
}

/// The flat rootfs tarball of `target`'s image (`image build TARGET --format rootfs`), made
/// under `.cache/<target>/release/NAME` (gzip when NAME ends in `.gz`): the `rootfs` artifact
/// kind, seed 001's `404-distro.tar.gz`.
fn rootfs_artifact(
    project: &Project,
    target: &str,
    name: &str,
    printer: &Printer,
) -> anyhow::Result<std::path::PathBuf> {
    let dir = project.root.join(".cache").join(target).join("release");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let output = dir.join(name);
    let args = crate::cli::ImageBuildArgs {
        target: target.to_string(),
        format: "rootfs".into(),
        output: output.clone(),
        tag: None,
        compression: "gzip".into(),
        level: None,
        platform: Vec::new(),
        offline: false,
        registry: crate::cli::RegistryArgs {
            insecure: false,
            username: None,
            password_stdin: false,
            ca_file: None,
        },
    };
    crate::context::build_image(project, printer, &args)
        .with_context(|| format!("cannot build the rootfs artifact {name} of `{target}`"))?;
    Ok(output)
}

/// The release's `images`, each resolved in its registry to the digest, media type and size of
/// the manifest or index it names now (a reference without a tag means the version).
fn resolve_images(
    images: &[String],
    version: &str,
    registry: &RegistryArgs,
    printer: &Printer,
) -> anyhow::Result<Vec<ManifestImage>> {
    if images.is_empty() {
        return Ok(Vec::new());
    }
    let client = crate::context::registry_client(registry)?;
    let mut references = Vec::new();
    for image in images {
        let mut reference: Reference = image
            .parse()
            .with_context(|| format!("release image {image:?}"))?;
        if reference.tag.is_none() && reference.digest.is_none() {
            reference.tag = Some(version.to_string());
        }
        references.push(reference);
    }
    // One runtime for every lookup.
    let mut resolved = crate::context::block_on(async {
        let mut resolved = Vec::new();
        for reference in references {
            printer.detail(format!("resolving {reference}"));
            let inspected = client
                .inspect(&reference)
                .await
                .with_context(|| format!("cannot resolve the release image {reference}"))?;
            resolved.push(ManifestImage {
                digest: inspected.digest,
                media_type: inspected.media_type,
                reference: reference.to_string(),
                size: inspected.bytes.len() as u64,
            });
        }
        anyhow::Ok(resolved)
    })??;
    resolved.sort_by(|a, b| a.reference.cmp(&b.reference));
    Ok(resolved)
}

fn prepare(
    project: &Project,
    tag: &str,
    key: Option<&str>,
    registry: &RegistryArgs,
    printer: &Printer,
) -> anyhow::Result<Prepared> {
    let parsed = ReleaseTag::parse(&project.metadata, tag)?;
    let target = project
        .metadata
        .target(&parsed.target)
        .expect("a parsed tag names a target");
    let Some(release) = &target.release else {
        bail!(
            "target `{}` has no `release` object in metadata.json (its artifacts and how the \
             manifest is signed)",
            parsed.target
        );
    };
    if release.artifacts.is_empty() && release.images.is_empty() {
        bail!(
            "target `{}` lists no release artifacts and no images",
            parsed.target
        );
    }
    let mut sources = Vec::new();
    let mut artifacts = Vec::new();
    for (template, source) in &release.artifacts {
        let name = template.replace("{TAG}", tag);
        let path = if source == "archive" {
            project.release_dir().join(format!("{tag}.tar.gz"))
        } else if source == "rootfs" {
            rootfs_artifact(project, &parsed.target, &name, printer)?
        } else {
            project
                .root
                .join(source.strip_prefix("file:").unwrap_or(source))
        };
        if !path.is_file() {
            let hint = if source == "archive" {
                format!(" (run `boxwright release package {tag}` first)")
            } else {
                String::new()
            };
            bail!("artifact {name}: {} does not exist{hint}", path.display());
        }
        let (size, sha256, sha512) = manifest::file_digests(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        artifacts.push(ManifestArtifact {
            media_type: manifest::media_type(&name).to_string(),
            path: format!("{tag}/{name}"),
            name: name.clone(),
            sha256,
            sha512,
            size,
        });
        sources.push((name, path));
    }
    artifacts.sort_by(|a, b| a.name.cmp(&b.name));
    sources.sort();
    // The tag's commit time when SOURCE_DATE_EPOCH is unset.
    let epoch = context::source_date_epoch_at(&project.root, &format!("refs/tags/{tag}"))?;
    let images = resolve_images(&release.images, &parsed.version, registry, printer)?;
    let manifest = Manifest {
        artifacts,
        created: boxwright_oci::image::rfc3339(epoch),
        images,
        revision: parsed.revision,
        schema_version: manifest::SCHEMA_VERSION,
        tag: tag.to_string(),
        target: parsed.target.clone(),
        version: parsed.version.clone(),
    };
    let bytes = manifest.to_bytes();
    let signature = match signing_key_text(key, release.manifest_key_env.as_deref())? {
        None => None,
        Some((name, text)) => Some(
            sign(&bytes, &text, release.signature, epoch)
                .with_context(|| format!("cannot sign the manifest with {name}"))?,
        ),
    };
    Ok(Prepared {
        manifest,
        bytes,
        signature,
        sources,
    })
}

fn sign(
    bytes: &[u8],
    key_text: &str,
    format: SignatureFormat,
    epoch: u64,
) -> anyhow::Result<Vec<u8>> {
    Ok(match format {
        SignatureFormat::Minisign => {
            let password = std::env::var_os(boxwright_sign::minisign::PASSWORD_ENV)
                .map(|p| boxwright_sign::Zeroizing::new(p.into_encoded_bytes()));
            let key = match MinisignSecretKey::from_text_with_password(
                key_text,
                password.as_deref().map(Vec::as_slice),
            ) {
                Ok(key) => key,
                // Said here, not by the cosign password hint.
                Err(boxwright_sign::Error::PasswordRequired) => bail!(
                    "the minisign secret key is encrypted with a password: set {}",
                    boxwright_sign::minisign::PASSWORD_ENV
                ),
                Err(boxwright_sign::Error::WrongPassword) => bail!(
                    "wrong password ({}) or corrupt minisign secret key",
                    boxwright_sign::minisign::PASSWORD_ENV
                ),
                Err(error) => return Err(error.into()),
            };
            key.sign(bytes, &format!("timestamp:{epoch}\tfile:{MANIFEST}"))
                .to_text()
                .into_bytes()
        }
        SignatureFormat::Cosign => {
            let password = boxwright_sign::source::password(None);
            let key = SigningKey::from_pem(key_text, password.as_deref().map(Vec::as_slice))?;
            key.sign(bytes).to_base64().into_bytes()
        }
    })
}

#[derive(Serialize)]
struct Written<'a> {
    manifest: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    signature: Option<PathBuf>,
    release: &'a Manifest,
}

pub fn manifest(
    global: &crate::cli::GlobalArgs,
    printer: &Printer,
    args: &ManifestArgs,
) -> anyhow::Result<ExitStatus> {
    let project = context::project(global)?;
    let prepared = prepare(
        &project,
        &args.tag,
        args.key.as_deref(),
        &args.registry,
        printer,
    )?;
    let dir = args
        .output
        .clone()
        .unwrap_or_else(|| project.release_dir().join(&args.tag));
    let objects = objects(&prepared, &args.tag, false);
    for object in &objects {
        put(&dir.join(&object.relative), &object.content)?;
    }
    let written = Written {
        manifest: dir.join(MANIFEST),
        signature: prepared.signature.as_ref().map(|_| dir.join(SIGNATURE)),
        release: &prepared.manifest,
    };
    if printer.json {
        printer.json(&written);
    } else {
        printer.line(written.manifest.display());
        if let Some(signature) = &written.signature {
            printer.line(signature.display());
        } else {
            printer
                .info("note: no signing key (--key or the release's manifest_key_env): unsigned");
        }
    }
    Ok(ExitStatus::Success)
}

/// What goes where, below a target's publication base.
enum Content<'a> {
    Bytes(&'a [u8]),
    File(&'a Path),
}

impl Content<'_> {
    /// All of the content, for APIs that take a whole body.
    async fn read(&self) -> anyhow::Result<Vec<u8>> {
        match self {
            Content::Bytes(bytes) => Ok(bytes.to_vec()),
            Content::File(path) => tokio::fs::read(path)
                .await
                .with_context(|| format!("cannot read {}", path.display())),
        }
    }
}

/// A request body sent in 64 KiB pieces, advancing `bar` as reqwest takes them. The caller
/// sets Content-Length, so the request is not chunked. A retry starts the bar over.
fn counted_body(body: &[u8], bar: &indicatif::ProgressBar) -> reqwest::Body {
    use futures_util::StreamExt as _;
    bar.set_position(0);
    let bar = bar.clone();
    let pieces: Vec<Vec<u8>> = body.chunks(64 * 1024).map(<[u8]>::to_vec).collect();
    reqwest::Body::wrap_stream(futures_util::stream::iter(pieces).map(move |piece| {
        bar.inc(piece.len() as u64);
        Ok::<_, std::io::Error>(piece)
    }))
}

/// A reader that advances a progress bar by what it reads.
struct Counted<R> {
    inner: R,
    bar: indicatif::ProgressBar,
}

impl<R: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for Counted<R> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = buf.filled().len() - before;
        self.bar.inc(read as u64);
        polled
    }
}

struct Object<'a> {
    relative: String,
    content: Content<'a>,
    /// Stable objects are replaced by each release; versioned ones are immutable.
    stable: bool,
}

/// The objects of a release in publication order: artifacts, the versioned manifest and its
/// signature, then (with `publish`) the stable manifest and signature. Without `publish`
/// (`release manifest`) the manifest is at the top and the artifacts under `<tag>/`.
fn objects<'a>(prepared: &'a Prepared, tag: &str, publish: bool) -> Vec<Object<'a>> {
    let mut out: Vec<Object<'a>> = prepared
        .sources
        .iter()
        .map(|(name, path)| Object {
            relative: format!("{tag}/{name}"),
            content: Content::File(path),
            stable: false,
        })
        .collect();
    let mut manifests = |dir: String, stable: bool| {
        out.push(Object {
            relative: format!("{dir}{MANIFEST}"),
            content: Content::Bytes(&prepared.bytes),
            stable,
        });
        if let Some(signature) = &prepared.signature {
            out.push(Object {
                relative: format!("{dir}{SIGNATURE}"),
                content: Content::Bytes(signature),
                stable,
            });
        }
    };
    if publish {
        manifests(format!("{tag}/"), false);
        manifests(String::new(), true);
    } else {
        manifests(String::new(), false);
    }
    out
}

impl Content<'_> {
    fn digests(&self) -> anyhow::Result<(u64, String)> {
        let (size, sha256, _) = match self {
            Content::Bytes(bytes) => manifest::digests(*bytes)?,
            Content::File(path) => manifest::file_digests(path)
                .with_context(|| format!("cannot read {}", path.display()))?,
        };
        Ok((size, sha256))
    }
}

/// Writes `content` to `path` under a temporary name and renames it into place.
fn put(path: &Path, content: &Content<'_>) -> anyhow::Result<()> {
    let dir = path.parent().expect("objects live in a directory");
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut temporary = tempfile::Builder::new()
        .prefix(".boxwright-")
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    match content {
        Content::Bytes(bytes) => temporary.write_all(bytes)?,
        Content::File(source) => {
            let mut from = std::fs::File::open(source)
                .with_context(|| format!("cannot read {}", source.display()))?;
            std::io::copy(&mut from, temporary.as_file_mut())?;
        }
    }
    temporary.as_file().sync_all()?;
    set_readable(temporary.path())?;
    temporary
        .persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

fn set_readable(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))
        .with_context(|| format!("cannot set the mode of {}", path.display()))
}

/// Where `release publish` writes a target's objects: below `DEST/<target>/` in a directory
/// or an S3 prefix. The order (versioned objects first, each read back, then the stable
/// manifest) lives once, in [`publish_to`].
trait Destination {
    /// What to call an object in messages and output: a path or a URL.
    fn name(&self, relative: &str) -> String;
    /// The object's size and SHA-256 as stored (read in full), `None` when there is none.
    async fn digests(&self, relative: &str) -> anyhow::Result<Option<(u64, String)>>;
    /// Writes the object whole: readers see the old contents or the new, never a part.
    /// Writes the object, advancing `bar` as its bytes are sent.
    async fn put(
        &self,
        relative: &str,
        content: &Content<'_>,
        bar: &indicatif::ProgressBar,
    ) -> anyhow::Result<()>;
}

/// A directory: objects are written under a temporary name and renamed into place.
struct DirDestination(PathBuf);

impl Destination for DirDestination {
    fn name(&self, relative: &str) -> String {
        self.0.join(relative).display().to_string()
    }

    async fn digests(&self, relative: &str) -> anyhow::Result<Option<(u64, String)>> {
        let path = self.0.join(relative);
        if !path.exists() {
            return Ok(None);
        }
        manifest::file_digests(&path)
            .map(|(size, sha256, _)| Some((size, sha256)))
            .with_context(|| format!("cannot read {}", path.display()))
    }

    async fn put(
        &self,
        relative: &str,
        content: &Content<'_>,
        bar: &indicatif::ProgressBar,
    ) -> anyhow::Result<()> {
        put(&self.0.join(relative), content)?;
        bar.set_position(bar.length().unwrap_or_default());
        Ok(())
    }
}

/// An S3 bucket (or an S3-compatible server) through `object_store`: `s3://BUCKET/PREFIX`,
/// with the endpoint, region and credentials from the usual `AWS_*` variables.
struct S3Destination {
    store: std::sync::Arc<dyn object_store::ObjectStore>,
    bucket: String,
    /// `PREFIX/<target>`, without slashes at either end.
    base: String,
}

impl S3Destination {
    fn new(location: &str, target: &str) -> anyhow::Result<S3Destination> {
        let (bucket, prefix) = location.split_once('/').unwrap_or((location, ""));
        if bucket.is_empty() {
            bail!("s3://{location} names no bucket: give s3://BUCKET[/PREFIX]");
        }
        let prefix = prefix.trim_matches('/');
        let base = if prefix.is_empty() {
            target.to_string()
        } else {
            format!("{prefix}/{target}")
        };
        let _ = rustls::crypto::ring::default_provider().install_default();
        let retry = object_store::RetryConfig {
            backoff: object_store::BackoffConfig::default(),
            max_retries: 5,
            retry_timeout: std::time::Duration::from_secs(120),
        };
        let store = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_retry(retry)
            .build()
            .context(
                "cannot set up the S3 client (AWS_REGION, AWS_ACCESS_KEY_ID, \
                 AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL, AWS_ALLOW_HTTP)",
            )?;
        Ok(S3Destination {
            store: std::sync::Arc::new(store),
            bucket: bucket.to_string(),
            base,
        })
    }

    fn path(&self, relative: &str) -> anyhow::Result<object_store::path::Path> {
        let key = format!("{}/{relative}", self.base);
        object_store::path::Path::parse(&key)
            .with_context(|| format!("{key:?} is not a valid object key"))
    }
}

impl Destination for S3Destination {
    fn name(&self, relative: &str) -> String {
        format!("s3://{}/{}/{relative}", self.bucket, self.base)
    }

    async fn digests(&self, relative: &str) -> anyhow::Result<Option<(u64, String)>> {
        use futures_util::StreamExt as _;
        use object_store::ObjectStoreExt as _;
        use sha2::Digest as _;
        let name = self.name(relative);
        let result = match self.store.get(&self.path(relative)?).await {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(error) => {
                return Err(anyhow::Error::new(error).context(format!("cannot read {name}")));
            }
        };
        let mut stream = result.into_stream();
        let mut hasher = sha2::Sha256::new();
        let mut size = 0_u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.with_context(|| format!("cannot read {name}"))?;
            size += chunk.len() as u64;
            hasher.update(&chunk);
        }
        Ok(Some((size, hex(&hasher.finalize()))))
    }

    async fn put(
        &self,
        relative: &str,
        content: &Content<'_>,
        bar: &indicatif::ProgressBar,
    ) -> anyhow::Result<()> {
        use object_store::ObjectStoreExt as _;
        use tokio::io::AsyncWriteExt as _;
        let path = self.path(relative)?;
        let name = self.name(relative);
        match content {
            Content::Bytes(bytes) => {
                self.store
                    .put(&path, bytes.to_vec().into())
                    .await
                    .with_context(|| format!("cannot write {name}"))?;
                bar.inc(bytes.len() as u64);
            }
            Content::File(source) => {
                let mut from = Counted {
                    inner: tokio::fs::File::open(source)
                        .await
                        .with_context(|| format!("cannot read {}", source.display()))?,
                    bar: bar.clone(),
                };
                // One PUT for small files, a multipart upload (completed only at the end) for
                // large ones.
                let mut writer = object_store::buffered::BufWriter::new(
                    std::sync::Arc::clone(&self.store),
                    path,
                );
                if let Err(error) = tokio::io::copy(&mut from, &mut writer).await {
                    // Cleans up a multipart upload that was started.
                    let _ = writer.abort().await;
                    return Err(anyhow::Error::new(error).context(format!("cannot write {name}")));
                }
                // Once shut down, the writer cannot be aborted (object_store panics): a failed
                // single PUT wrote nothing, and an unfinished multipart upload is never visible
                // as the object.
                writer
                    .shutdown()
                    .await
                    .with_context(|| format!("cannot write {name}"))?;
            }
        }
        Ok(())
    }
}

/// A GitHub release, `github://OWNER/REPO`: the tag's release (created when missing) holds
/// the versioned objects as assets named by their file names. There is no stable object:
/// GitHub's latest release (`releases/latest/download/manifest.json`) is the stable one.
struct GitHubDestination {
    client: reqwest::Client,
    api: String,
    repo: String,
    token: String,
    release_id: u64,
    /// The release's `upload_url` without its `{?name,label}` template.
    upload_url: String,
}

/// An asset of a release: its id and name.
struct Asset {
    id: u64,
    name: String,
}

/// Tries of a request to the GitHub or GitLab API.
const API_ATTEMPTS: u32 = 4;

/// Sends the request `make` builds, again after connection failures, timeouts and 5xx
/// answers, with backoff (0.2 s, doubling; at most [`API_ATTEMPTS`] tries).
async fn send_retrying(
    what: &str,
    make: impl Fn() -> reqwest::RequestBuilder,
) -> anyhow::Result<reqwest::Response> {
    let mut delay = std::time::Duration::from_millis(200);
    let mut attempt = 1;
    loop {
        match make().send().await {
            Ok(response) if response.status().is_server_error() && attempt < API_ATTEMPTS => {}
            Ok(response) => return Ok(response),
            Err(error) if attempt < API_ATTEMPTS && (error.is_connect() || error.is_timeout()) => {}
            Err(error) => return Err(anyhow::Error::new(error).context(format!("{what} failed"))),
        }
        tokio::time::sleep(delay).await;
        delay *= 2;
        attempt += 1;
    }
}

fn api_client() -> anyhow::Result<reqwest::Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Ok(reqwest::Client::builder()
        .user_agent(concat!("boxwright/", env!("CARGO_PKG_VERSION")))
        .timeout(std::time::Duration::from_secs(600))
        .build()?)
}

/// The value of the first of `names` that is set and not blank.
fn env_value(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
}

impl GitHubDestination {
    async fn new(repo: &str, tag: &str) -> anyhow::Result<GitHubDestination> {
        if repo.split('/').count() != 2 || repo.split('/').any(str::is_empty) {
            bail!("github://{repo} is not github://OWNER/REPO");
        }
        let token =
            env_value(&["GITHUB_TOKEN"]).context("publishing to github:// needs GITHUB_TOKEN")?;
        let api = env_value(&["GITHUB_API_URL"])
            .unwrap_or_else(|| "https://api.github.com".to_string())
            .trim_end_matches('/')
            .to_string();
        let client = api_client()?;
        let mut destination = GitHubDestination {
            client,
            api,
            repo: repo.to_string(),
            token,
            release_id: 0,
            upload_url: String::new(),
        };
        let url = format!("{}/repos/{repo}/releases/tags/{tag}", destination.api);
        let response = destination
            .send(reqwest::Method::GET, &url, None, None)
            .await?;
        let release = if response.status() == reqwest::StatusCode::NOT_FOUND {
            let body = serde_json::json!({ "tag_name": tag, "name": tag });
            let url = format!("{}/repos/{repo}/releases", destination.api);
            let response = destination
                .send(
                    reqwest::Method::POST,
                    &url,
                    Some((
                        body.to_string().into_bytes(),
                        &indicatif::ProgressBar::hidden(),
                    )),
                    Some("application/json"),
                )
                .await?;
            json_of(response, &url).await?
        } else {
            json_of(response, &url).await?
        };
        destination.release_id = release["id"]
            .as_u64()
            .with_context(|| format!("the release of {tag} in {repo} has no id"))?;
        let upload_url = release["upload_url"]
            .as_str()
            .with_context(|| format!("the release of {tag} in {repo} has no upload_url"))?;
        destination.upload_url = upload_url
            .split('{')
            .next()
            .unwrap_or(upload_url)
            .to_string();
        Ok(destination)
    }

    /// Sends a request with the token and GitHub's headers, retrying (see [`send_retrying`]).
    async fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<(Vec<u8>, &indicatif::ProgressBar)>,
        content_type: Option<&str>,
    ) -> anyhow::Result<reqwest::Response> {
        send_retrying(&format!("{method} {url}"), || {
            let request = self
                .client
                .request(method.clone(), url)
                .bearer_auth(&self.token)
                .header(reqwest::header::ACCEPT, "application/vnd.github+json")
                .header("X-GitHub-Api-Version", "2022-11-28");
            match &body {
                Some((body, bar)) => request
                    .header(
                        reqwest::header::CONTENT_TYPE,
                        content_type.unwrap_or("application/octet-stream"),
                    )
                    .header(reqwest::header::CONTENT_LENGTH, body.len())
                    .body(counted_body(body, bar)),
                None => request,
            }
        })
        .await
    }

    async fn assets(&self) -> anyhow::Result<Vec<Asset>> {
        let url = format!(
            "{}/repos/{}/releases/{}/assets?per_page=100",
            self.api, self.repo, self.release_id
        );
        let response = self.send(reqwest::Method::GET, &url, None, None).await?;
        let list = json_of(response, &url).await?;
        let Some(list) = list.as_array() else {
            bail!("{url} did not answer with a list of assets");
        };
        Ok(list
            .iter()
            .filter_map(|a| {
                Some(Asset {
                    id: a["id"].as_u64()?,
                    name: a["name"].as_str()?.to_string(),
                })
            })
            .collect())
    }

    async fn asset(&self, relative: &str) -> anyhow::Result<Option<Asset>> {
        let name = asset_name(relative);
        Ok(self.assets().await?.into_iter().find(|a| a.name == name))
    }
}

/// A GitLab generic package, `gitlab://PROJECT` (a numeric id or `group/project`): the
/// versioned objects are the files of package `<target>`, version `<version>` (or
/// `--package-version`). There is no stable object.
struct GitLabDestination {
    client: reqwest::Client,
    /// `.../projects/<id>/packages/generic/<target>/<version>`
    base: String,
    project: String,
    package: String,
    /// `PRIVATE-TOKEN` or `JOB-TOKEN`, and the token.
    auth: (&'static str, String),
}

impl GitLabDestination {
    fn new(project: &str, package: &str, version: &str) -> anyhow::Result<GitLabDestination> {
        if project.is_empty() || project.starts_with('/') || project.ends_with('/') {
            bail!("gitlab://{project} is not gitlab://PROJECT (an id or group/project)");
        }
        let auth = if let Some(token) = env_value(&["GITLAB_TOKEN"]) {
            ("PRIVATE-TOKEN", token)
        } else if let Some(token) = env_value(&["CI_JOB_TOKEN"]) {
            ("JOB-TOKEN", token)
        } else {
            bail!("publishing to gitlab:// needs GITLAB_TOKEN or CI_JOB_TOKEN");
        };
        let api = env_value(&["CI_API_V4_URL", "GITLAB_API_URL"])
            .unwrap_or_else(|| "https://gitlab.com/api/v4".to_string());
        let base = format!(
            "{}/projects/{}/packages/generic/{package}/{version}",
            api.trim_end_matches('/'),
            project.replace('/', "%2F")
        );
        Ok(GitLabDestination {
            client: api_client()?,
            base,
            project: project.to_string(),
            package: format!("{package}/{version}"),
            auth,
        })
    }

    fn url(&self, relative: &str) -> String {
        format!("{}/{}", self.base, asset_name(relative))
    }
}

impl Destination for GitLabDestination {
    fn name(&self, relative: &str) -> String {
        format!(
            "gitlab://{}/packages/generic/{}/{}",
            self.project,
            self.package,
            asset_name(relative)
        )
    }

    async fn digests(&self, relative: &str) -> anyhow::Result<Option<(u64, String)>> {
        use sha2::Digest as _;
        let url = self.url(relative);
        let response = send_retrying(&format!("GET {url}"), || {
            self.client.get(&url).header(self.auth.0, &self.auth.1)
        })
        .await?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let body = response
            .error_for_status()
            .with_context(|| format!("cannot download {}", self.name(relative)))?
            .bytes()
            .await
            .with_context(|| format!("cannot download {}", self.name(relative)))?;
        Ok(Some((body.len() as u64, hex(&sha2::Sha256::digest(&body)))))
    }

    async fn put(
        &self,
        relative: &str,
        content: &Content<'_>,
        bar: &indicatif::ProgressBar,
    ) -> anyhow::Result<()> {
        let body = content.read().await?;
        let url = self.url(relative);
        let response = send_retrying(&format!("PUT {url}"), || {
            self.client
                .put(&url)
                .header(self.auth.0, &self.auth.1)
                .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                .header(reqwest::header::CONTENT_LENGTH, body.len())
                .body(counted_body(&body, bar))
        })
        .await?;
        json_of(response, &url)
            .await
            .with_context(|| format!("cannot upload {}", self.name(relative)))?;
        Ok(())
    }
}

fn asset_name(relative: &str) -> &str {
    relative.rsplit('/').next().unwrap_or(relative)
}

/// The JSON body of a successful response; an error naming the status and URL otherwise.
async fn json_of(response: reqwest::Response, url: &str) -> anyhow::Result<serde_json::Value> {
    let status = response.status();
    let body = response
        .bytes()
        .await
        .with_context(|| format!("cannot read the answer of {url}"))?;
    if !status.is_success() {
        bail!(
            "{url} answered {status}: {}",
            String::from_utf8_lossy(&body)
                .chars()
                .take(300)
                .collect::<String>()
        );
    }
    serde_json::from_slice(&body).with_context(|| format!("{url} did not answer with JSON"))
}

impl Destination for GitHubDestination {
    fn name(&self, relative: &str) -> String {
        format!("github://{}/releases/{relative}", self.repo)
    }

    async fn digests(&self, relative: &str) -> anyhow::Result<Option<(u64, String)>> {
        use sha2::Digest as _;
        let Some(asset) = self.asset(relative).await? else {
            return Ok(None);
        };
        let url = format!(
            "{}/repos/{}/releases/assets/{}",
            self.api, self.repo, asset.id
        );
        let mut request = self
            .client
            .get(&url)
            .bearer_auth(&self.token)
            .header(reqwest::header::ACCEPT, "application/octet-stream");
        request = request.header("X-GitHub-Api-Version", "2022-11-28");
        let response = request
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .with_context(|| format!("cannot download {}", self.name(relative)))?;
        let body = response
            .bytes()
            .await
            .with_context(|| format!("cannot download {}", self.name(relative)))?;
        Ok(Some((body.len() as u64, hex(&sha2::Sha256::digest(&body)))))
    }

    async fn put(
        &self,
        relative: &str,
        content: &Content<'_>,
        bar: &indicatif::ProgressBar,
    ) -> anyhow::Result<()> {
        let name = asset_name(relative);
        // Reached for an existing asset only with --force (or for a differing one).
        if let Some(asset) = self.asset(relative).await? {
            let url = format!(
                "{}/repos/{}/releases/assets/{}",
                self.api, self.repo, asset.id
            );
            let response = self.send(reqwest::Method::DELETE, &url, None, None).await?;
            if !response.status().is_success() {
                bail!(
                    "cannot delete {}: {url} answered {}",
                    self.name(relative),
                    response.status()
                );
            }
        }
        let body = content.read().await?;
        let mut url = reqwest::Url::parse(&self.upload_url).with_context(|| {
            format!("the release's upload_url {} is not a URL", self.upload_url)
        })?;
        url.query_pairs_mut().append_pair("name", name);
        let url = url.to_string();
        let response = self
            .send(
                reqwest::Method::POST,
                &url,
                Some((body, bar)),
                Some(manifest::media_type(name)),
            )
            .await?;
        json_of(response, &url)
            .await
            .with_context(|| format!("cannot upload {}", self.name(relative)))?;
        Ok(())
    }
}

#[derive(Serialize)]
struct Published {
    base: String,
    written: Vec<String>,
    unchanged: Vec<String>,
    /// What the written objects are called (paths or URLs), for the text output.
    #[serde(skip)]
    written_names: Vec<String>,
}

/// Checks every object against what the destination holds, then writes those that differ in
/// order, reading each back (size and SHA-256) before the next: the stable manifest is only
/// replaced once every versioned object is in place and checked.
async fn publish_to(
    destination: &impl Destination,
    objects: &[Object<'_>],
    force: bool,
    printer: &Printer,
) -> anyhow::Result<Published> {
    // Check every versioned object before writing any.
    let mut plan = Vec::new();
    for object in objects {
        let expected = object.content.digests()?;
        let same = match destination.digests(&object.relative).await? {
            None => false,
            Some(existing) => {
                let same = existing == expected;
                if !same && !object.stable && !force {
                    bail!(
                        "{} exists with other contents: a published release is immutable (pass \
                         --force to replace it)",
                        destination.name(&object.relative)
                    );
                }
                same
            }
        };
        plan.push((object, expected, same));
    }
    let mut published = Published {
        base: destination.name("").trim_end_matches('/').to_string(),
        written: Vec::new(),
        unchanged: Vec::new(),
        written_names: Vec::new(),
    };
    for (object, expected, same) in plan {
        let name = destination.name(&object.relative);
        if same {
            printer.detail(format!("unchanged {name}"));
            published.unchanged.push(object.relative.clone());
            continue;
        }
        let bar = crate::progress::upload_bar(
            &object.relative,
            expected.0,
            printer.quiet() || printer.json,
        );
        let put = destination
            .put(&object.relative, &object.content, &bar)
            .await;
        bar.finish_and_clear();
        put?;
        let actual = destination
            .digests(&object.relative)
            .await
            .with_context(|| format!("cannot read back {name}"))?;
        match actual {
            Some(actual) if actual == expected => {}
            Some(actual) => bail!(
                "{name} reads back as {} bytes with sha256 {}, not {} bytes with sha256 {}",
                actual.0,
                actual.1,
                expected.0,
                expected.1
            ),
            None => bail!("{name} is missing when read back"),
        }
        // A line per object on stderr as it lands: uploads can take a while.
        printer.info(format!("wrote {name} ({} bytes, read back)", expected.0));
        published.written.push(object.relative.clone());
        published.written_names.push(name);
    }
    Ok(published)
}

pub fn publish(
    global: &crate::cli::GlobalArgs,
    printer: &Printer,
    args: &PublishArgs,
) -> anyhow::Result<ExitStatus> {
    let s3 = args.to.strip_prefix("s3://");
    let github = args.to.strip_prefix("github://");
    let gitlab = args.to.strip_prefix("gitlab://");
    if s3.is_none()
        && github.is_none()
        && gitlab.is_none()
        && let Some((scheme, _)) = args.to.split_once("://")
    {
        bail!(
            "publishing to {scheme}:// is not supported; give a directory, \
             s3://BUCKET[/PREFIX], github://OWNER/REPO or gitlab://PROJECT"
        );
    }
    if gitlab.is_none() && args.package_version.is_some() {
        bail!("--package-version is for gitlab:// destinations");
    }
    let project = context::project(global)?;
    let prepared = prepare(
        &project,
        &args.tag,
        args.key.as_deref(),
        &args.registry,
        printer,
    )?;
    let target = &prepared.manifest.target;
    let mut objects = objects(&prepared, &args.tag, true);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let published = if let Some(gitlab_project) = gitlab {
        // A generic package's files are flat, and it has no stable alias.
        objects.retain(|object| !object.stable);
        // The tag without `<target>-`: version and revision, one package version each.
        let version = args.package_version.as_deref().unwrap_or_else(|| {
            args.tag
                .strip_prefix(target.as_str())
                .and_then(|rest| rest.strip_prefix('-'))
                .unwrap_or(&args.tag)
        });
        let destination = GitLabDestination::new(gitlab_project, target, version)?;
        runtime.block_on(publish_to(&destination, &objects, args.force, printer))?
    } else if let Some(repo) = github {
        // A release's assets are flat; GitHub's latest release stands for the stable objects.
        objects.retain(|object| !object.stable);
        let destination = runtime.block_on(GitHubDestination::new(repo, &args.tag))?;
        runtime.block_on(publish_to(&destination, &objects, args.force, printer))?
    } else if let Some(location) = s3 {
        let destination = S3Destination::new(location, target)?;
        runtime.block_on(publish_to(&destination, &objects, args.force, printer))?
    } else {
        let destination = DirDestination(Path::new(&args.to).join(target));
        runtime.block_on(publish_to(&destination, &objects, args.force, printer))?
    };
    if printer.json {
        printer.json(&published);
    } else {
        for name in &published.written_names {
            printer.line(name);
        }
        printer.info(format!(
            "published {} to {} ({} written, {} unchanged)",
            args.tag,
            published.base,
            published.written.len(),
            published.unchanged.len()
        ));
    }
    Ok(ExitStatus::Success)
}
