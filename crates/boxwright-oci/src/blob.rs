use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use boxwright_archive::HashingWriter;
use oci_spec::image::{Descriptor, DescriptorBuilder, Digest, MediaType};
use sha2::{Digest as _, Sha256};

use crate::Error;

/// The `blobs/sha256/` directory of an OCI layout: content-addressed files.
#[derive(Debug, Clone)]
pub struct BlobStore {
    dir: PathBuf,
}

impl BlobStore {
    /// Creates `<root>/blobs/sha256/`.
    pub fn create(root: &Path) -> Result<Self, Error> {
        let dir = root.join("blobs").join("sha256");
        std::fs::create_dir_all(&dir).map_err(Error::io(&dir))?;
        Ok(BlobStore { dir })
    }

    /// The file of a blob by its hex digest.
    pub fn path(&self, hex_digest: &str) -> PathBuf {
        self.dir.join(hex_digest)
    }

    /// Starts writing a blob whose digest is known only at the end.
    pub fn writer(&self) -> Result<BlobWriter, Error> {
        let temp = tempfile::Builder::new()
            .prefix(".blob.")
            .tempfile_in(&self.dir)
            .map_err(Error::io(&self.dir))?;
        let file = temp.reopen().map_err(Error::io(temp.path()))?;
        Ok(BlobWriter {
            temp,
            hashing: HashingWriter::new(BufWriter::with_capacity(1 << 20, file)),
            store: self.clone(),
        })
    }

    /// Stores `bytes` and returns their descriptor.
    pub fn put(&self, media_type: MediaType, bytes: &[u8]) -> Result<Descriptor, Error> {
        let mut writer = self.writer()?;
        writer.write_all(bytes).map_err(Error::io(&self.dir))?;
        writer.finish(media_type)
    }

    /// Copies a blob from another store's file, checking its digest on the way.
    pub fn copy_from(&self, source: &Path, descriptor: &Descriptor) -> Result<(), Error> {
        let expected = descriptor.digest().digest().to_string();
        let target = self.path(&expected);
        if target.exists() {
            return Ok(());
        }
        let mut input = File::open(source).map_err(Error::io(source))?;
        let mut writer = self.writer()?;
        io::copy(&mut input, &mut writer).map_err(Error::io(source))?;
        let written = writer.finish(descriptor.media_type().clone())?;
        let actual = written.digest().digest().to_string();
        if actual != expected {
            let _ = std::fs::remove_file(self.path(&actual));
            return Err(Error::DigestMismatch {
                path: source.to_path_buf(),
                digest: descriptor.digest().to_string(),
                actual,
            });
        }
        Ok(())
    }
}

/// A blob being written: hashed as it goes, renamed to its digest by [`BlobWriter::finish`].
pub struct BlobWriter {
    temp: tempfile::NamedTempFile,
    hashing: HashingWriter<BufWriter<File>>,
    store: BlobStore,
}

impl BlobWriter {
    /// Completes the blob and returns its descriptor.
    pub fn finish(self, media_type: MediaType) -> Result<Descriptor, Error> {
        let (mut buffered, hex_digest, size) = self.hashing.finish();
        buffered.flush().map_err(Error::io(self.temp.path()))?;
        let target = self.store.path(&hex_digest);
        self.temp.persist(&target).map_err(|e| Error::Io {
            path: target.clone(),
            source: e.error,
        })?;
        Ok(descriptor(media_type, &hex_digest, size))
    }
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.hashing.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.hashing.flush()
    }
}

/// A descriptor for a sha256 digest.
pub(crate) fn descriptor(media_type: MediaType, hex_digest: &str, size: u64) -> Descriptor {
    let digest: Digest = format!("sha256:{hex_digest}")
        .parse()
        .expect("a sha256 hex digest parses");
    DescriptorBuilder::default()
        .media_type(media_type)
        .digest(digest)
        .size(size)
        .build()
        .expect("all required fields are set")
}

/// SHA-256 hex of a whole file.
pub(crate) fn sha256_file(path: &Path) -> Result<String, Error> {
    let mut file = File::open(path).map_err(Error::io(path))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 1 << 20];
    loop {
        let n = file.read(&mut buffer).map_err(Error::io(path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}
