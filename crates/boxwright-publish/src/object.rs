//! The objects of a release: what is written where, and how it is compared.

use std::io::Write as _;
use std::path::Path;

use boxwright_release::manifest;

use crate::Error;

/// The size and SHA-256 (hex) of an object: what publication compares and reads back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digests {
    pub size: u64,
    pub sha256: String,
}

impl Digests {
    /// The size and SHA-256 of the chunks of `stream`, hashed as they come; a chunk's error
    /// goes through `error`.
    pub async fn of_stream<C: AsRef<[u8]>, E>(
        mut stream: impl futures_util::Stream<Item = Result<C, E>> + Unpin,
        error: impl Fn(E) -> Error,
    ) -> Result<Digests, Error> {
        use futures_util::StreamExt as _;
        use sha2::Digest as _;
        let mut hasher = sha2::Sha256::new();
        let mut size = 0_u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(&error)?;
            let chunk = chunk.as_ref();
            size += chunk.len() as u64;
            hasher.update(chunk);
        }
        Ok(Digests {
            size,
            sha256: hex::encode(hasher.finalize()),
        })
    }
}

/// An object's bytes: in memory (manifest, signature) or a file (artifacts).
#[derive(Debug, Clone, Copy)]
pub enum Content<'a> {
    Bytes(&'a [u8]),
    File(&'a Path),
}

impl Content<'_> {
    /// All of the content, for APIs that take a whole body.
    pub async fn read(&self) -> Result<Vec<u8>, Error> {
        match self {
            Content::Bytes(bytes) => Ok(bytes.to_vec()),
            Content::File(path) => tokio::fs::read(path).await.map_err(|source| Error::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// The size and SHA-256 of the content.
    pub fn digests(&self) -> Result<Digests, Error> {
        let (size, sha256, _) = match self {
            Content::Bytes(bytes) => manifest::digests(*bytes).expect("reading memory cannot fail"),
            Content::File(path) => manifest::file_digests(path).map_err(|source| Error::Read {
                path: path.to_path_buf(),
                source,
            })?,
        };
        Ok(Digests { size, sha256 })
    }
}

/// One object of a release, below the target's publication base.
#[derive(Debug, Clone)]
pub struct Object<'a> {
    /// `<tag>/<name>`, `<tag>/manifest.json`, `manifest.json`...
    pub relative: String,
    pub content: Content<'a>,
    /// Stable objects are replaced by each release; versioned ones are immutable.
    pub stable: bool,
}

/// Writes `content` to `path` under a temporary name (mode 0644, synced) and renames it into
/// place, so readers see the old contents or the new, never a part.
pub fn write_file(path: &Path, content: &Content<'_>) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = path.parent().expect("objects live in a directory");
    std::fs::create_dir_all(dir).map_err(|source| Error::CreateDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let cannot_write = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut temporary = tempfile::Builder::new()
        .prefix(".boxwright-")
        .tempfile_in(dir)
        .map_err(|source| Error::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
    match content {
        Content::Bytes(bytes) => temporary.write_all(bytes).map_err(cannot_write)?,
        Content::File(source) => {
            let mut from = std::fs::File::open(source).map_err(|error| Error::Read {
                path: source.to_path_buf(),
                source: error,
            })?;
            std::io::copy(&mut from, temporary.as_file_mut()).map_err(cannot_write)?;
        }
    }
    temporary.as_file().sync_all().map_err(cannot_write)?;
    std::fs::set_permissions(temporary.path(), std::fs::Permissions::from_mode(0o644))
        .map_err(cannot_write)?;
    temporary
        .persist(path)
        .map_err(|error| cannot_write(error.error))?;
    Ok(())
}

/// The last part of `relative`: the name of a flat asset or package file.
pub(crate) fn asset_name(relative: &str) -> &str {
    relative.rsplit('/').next().unwrap_or(relative)
}
