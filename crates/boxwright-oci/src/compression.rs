use std::io::{self, Write};
use std::str::FromStr;

use boxwright_archive::ParallelGzip;

/// How layer blobs are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Gzip { level: u32 },
    Zstd { level: i32 },
    None,
}

/// The default gzip level of layers: libdeflate's level 2, smaller than umoci's layers (Go's
/// pgzip at its default level) and at least 1.5 times as fast on two cores (bench/image.sh).
/// Release archives and rootfs tarballs use [`boxwright_archive::DEFAULT_LEVEL`] instead.
pub const DEFAULT_GZIP_LEVEL: u32 = 2;

impl Default for Compression {
    fn default() -> Self {
        Compression::Gzip {
            level: DEFAULT_GZIP_LEVEL,
        }
    }
}

impl FromStr for Compression {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "gzip" => Ok(Compression::default()),
            "zstd" => Ok(Compression::Zstd { level: 3 }),
            "none" => Ok(Compression::None),
            other => Err(format!(
                "unknown compression `{other}` (known: gzip, zstd, none)"
            )),
        }
    }
}

impl Compression {
    /// The OCI media type of a layer compressed this way.
    pub fn layer_media_type(self) -> &'static str {
        match self {
            Compression::Gzip { .. } => "application/vnd.oci.image.layer.v1.tar+gzip",
            Compression::Zstd { .. } => "application/vnd.oci.image.layer.v1.tar+zstd",
            Compression::None => "application/vnd.oci.image.layer.v1.tar",
        }
    }

    /// The compression a layer media type names (OCI and Docker spellings).
    pub fn from_media_type(media_type: &str) -> Option<Compression> {
        match media_type {
            "application/vnd.oci.image.layer.v1.tar+gzip"
            | "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
            | "application/vnd.docker.image.rootfs.diff.tar.gzip"
            | "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" => {
                Some(Compression::default())
            }
            "application/vnd.oci.image.layer.v1.tar+zstd" => Some(Compression::Zstd { level: 3 }),
            "application/vnd.oci.image.layer.v1.tar"
            | "application/vnd.docker.image.rootfs.diff.tar" => Some(Compression::None),
            _ => None,
        }
    }

    /// A writer compressing into `inner` on `threads` threads. zstd always runs in its
    /// multithreaded mode: its bytes are the same for any worker count, but differ from the
    /// single-threaded mode's.
    pub fn writer<W: Write>(self, inner: W, threads: usize) -> io::Result<Compressor<W>> {
        Ok(match self {
            Compression::Gzip { level } => {
                Compressor::Gzip(ParallelGzip::new(inner, level, threads)?)
            }
            Compression::Zstd { level } => {
                let mut encoder = zstd::stream::Encoder::new(inner, level)?;
                encoder.multithread(u32::try_from(threads.max(1)).unwrap_or(1))?;
                encoder.include_checksum(true)?;
                Compressor::Zstd(encoder)
            }
            Compression::None => Compressor::None(inner),
        })
    }
}

/// A compressing writer; [`Compressor::finish`] completes the stream.
pub enum Compressor<W: Write> {
    Gzip(ParallelGzip<W>),
    Zstd(zstd::stream::Encoder<'static, W>),
    None(W),
}

impl<W: Write> Compressor<W> {
    /// Ends the compressed stream and returns the inner writer.
    pub fn finish(self) -> io::Result<W> {
        match self {
            Compressor::Gzip(gz) => gz.finish(),
            Compressor::Zstd(encoder) => encoder.finish(),
            Compressor::None(inner) => Ok(inner),
        }
    }
}

impl<W: Write> Write for Compressor<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Compressor::Gzip(w) => w.write(buf),
            Compressor::Zstd(w) => w.write(buf),
            Compressor::None(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Compressor::Gzip(w) => w.flush(),
            Compressor::Zstd(w) => w.flush(),
            Compressor::None(w) => w.flush(),
        }
    }
}
