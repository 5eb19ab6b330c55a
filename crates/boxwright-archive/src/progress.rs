//! The one progress observer of long work (downloads, uploads, pushes, pulls, compression,
//! reading archives): library crates report to it, the binary draws bars, lines or nothing.

use std::time::Duration;

/// Where progress is reported (a terminal bar, log lines, or nothing).
pub trait Progress: Send + Sync {
    /// Work on `name` begins; `total` is its size in bytes when known.
    fn begin(&self, name: &str, total: Option<u64>) -> Box<dyn ProgressItem>;
    /// Attempt `attempt` of `name` failed with `error`; the next one starts after `wait`.
    fn retry(
        &self,
        name: &str,
        attempt: u32,
        error: &(dyn std::error::Error + 'static),
        wait: Duration,
    );
}

/// The progress of one piece of work, shareable with the code that moves the bytes.
pub trait ProgressItem: Send + Sync {
    /// `bytes` more were moved.
    fn advance(&self, bytes: u64);
    /// The work ended (successfully or not).
    fn finish(&self);
}

/// Reports nothing.
pub struct NoProgress;

impl Progress for NoProgress {
    fn begin(&self, _: &str, _: Option<u64>) -> Box<dyn ProgressItem> {
        Box::new(NoProgress)
    }
    fn retry(&self, _: &str, _: u32, _: &(dyn std::error::Error + 'static), _: Duration) {}
}

impl ProgressItem for NoProgress {
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}

/// A reader that reports every byte read to `item`.
pub struct CountingReader<'a, R> {
    inner: R,
    item: &'a dyn ProgressItem,
}

impl<'a, R> CountingReader<'a, R> {
    /// Reports the reads of `inner` to `item`.
    pub fn new(inner: R, item: &'a dyn ProgressItem) -> Self {
        CountingReader { inner, item }
    }
}

impl<R: std::io::Read> std::io::Read for CountingReader<'_, R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buffer)?;
        self.item.advance(read as u64);
        Ok(read)
    }
}

/// A writer that reports every byte written to `item`.
pub struct CountingWriter<'a, W> {
    inner: W,
    item: &'a dyn ProgressItem,
}

impl<'a, W> CountingWriter<'a, W> {
    /// Reports the writes into `inner` to `item`.
    pub fn new(inner: W, item: &'a dyn ProgressItem) -> Self {
        CountingWriter { inner, item }
    }

    /// The writer written into.
    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: std::io::Write> std::io::Write for CountingWriter<'_, W> {
    fn write(&mut self, buffer: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(buffer)?;
        self.item.advance(written as u64);
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;

    struct Count(AtomicU64);

    impl ProgressItem for Count {
        fn advance(&self, bytes: u64) {
            self.0.fetch_add(bytes, Ordering::Relaxed);
        }
        fn finish(&self) {}
    }

    #[test]
    fn a_counting_reader_reports_every_byte() {
        let count = Count(AtomicU64::new(0));
        let mut text = String::new();
        CountingReader::new(&b"twelve bytes"[..], &count)
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(
            (text.as_str(), count.0.load(Ordering::Relaxed)),
            ("twelve bytes", 12)
        );
    }
}
