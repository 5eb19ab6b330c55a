//! Reading helpers for hostile input: a buffered reader that reports how many bytes were
//! consumed and hands them to a sink (to hash or keep one compressed member exactly), and a
//! reader that refuses to yield more than a limit.

use std::io::{self, BufRead, Read};

use sha2::Digest as _;

/// Where consumed bytes go.
#[derive(Default)]
pub(crate) enum Sink {
    #[default]
    None,
    Keep(Vec<u8>),
    Sha256(sha2::Sha256),
}

/// A `BufRead` over `R` that counts consumed bytes and feeds them to a sink.
pub(crate) struct Tee<R> {
    inner: io::BufReader<R>,
    pub consumed: u64,
    pub sink: Sink,
}

impl<R: Read> Tee<R> {
    pub fn new(inner: R) -> Self {
        Tee {
            inner: io::BufReader::with_capacity(64 * 1024, inner),
            consumed: 0,
            sink: Sink::None,
        }
    }

    /// Replaces the sink, returning the old one.
    pub fn take_sink(&mut self, next: Sink) -> Sink {
        std::mem::replace(&mut self.sink, next)
    }

    /// The buffered reader (what it buffered is still to be read from it).
    pub fn into_reader(self) -> io::BufReader<R> {
        self.inner
    }

    /// Whether nothing is left to read.
    pub fn at_end(&mut self) -> io::Result<bool> {
        Ok(self.inner.fill_buf()?.is_empty())
    }
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for Tee<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        if let Ok(buffer) = self.inner.fill_buf() {
            let taken = &buffer[..amount.min(buffer.len())];
            match &mut self.sink {
                Sink::None => {}
                Sink::Keep(bytes) => bytes.extend_from_slice(taken),
                Sink::Sha256(hasher) => hasher.update(taken),
            }
        }
        self.consumed += amount as u64;
        self.inner.consume(amount);
    }
}

/// A reader that fails once more than `limit` bytes were read from it.
pub(crate) struct Limited<R> {
    inner: R,
    remaining: u64,
    what: &'static str,
}

impl<R: Read> Limited<R> {
    pub fn new(inner: R, limit: u64, what: &'static str) -> Self {
        Limited {
            inner,
            remaining: limit,
            what,
        }
    }
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.remaining = self.remaining.checked_sub(n as u64).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} exceeds the size limit", self.what),
            )
        })?;
        Ok(n)
    }
}

/// Feeds everything `reader` yields to `hasher`; returns the byte count.
pub(crate) fn digest_reader(
    reader: &mut (impl Read + ?Sized),
    mut update: impl FnMut(&[u8]),
) -> io::Result<u64> {
    let mut buffer = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buffer) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        update(&buffer[..n]);
        total += n as u64;
    }
}
