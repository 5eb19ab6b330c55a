//! Parallel gzip, in the manner of pigz.
//!
//! The input is cut into fixed 128 KiB blocks. Each block is deflated on a worker thread
//! with the previous 32 KiB of input as preset dictionary and ends with a sync flush (the
//! last one with a final block), so the concatenated pieces form one deflate stream. The
//! CRC-32 of each block is combined in order. Because block boundaries depend only on the
//! byte offset, the output depends only on the input and the level: not on how callers
//! split their writes (the zlib-rs determinism trap) and not on the number of threads.
//!
//! Written here rather than taken from the parallel gzip crate because that crate needs a
//! C zlib for preset dictionaries; without them every block compresses worse.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;

use flate2::{Compress, Compression, FlushCompress, Status};

const BLOCK_SIZE: usize = 128 * 1024;
const WINDOW_SIZE: usize = 32 * 1024;
/// gzip header: magic, deflate, no flags, mtime 0, no extra flags, OS unix.
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];

struct Job {
    data: Vec<u8>,
    dictionary: Vec<u8>,
    last: bool,
    reply: mpsc::SyncSender<io::Result<Deflated>>,
}

struct Deflated {
    bytes: Vec<u8>,
    crc: crc32fast::Hasher,
}

/// A gzip writer that compresses on several threads with bounded memory
/// (about `4 × threads` blocks in flight). Call [`ParallelGzip::finish`] to complete it;
/// dropped unfinished, it stops its threads and leaves an incomplete stream.
pub struct ParallelGzip<W: Write> {
    inner: Option<W>,
    buffer: Vec<u8>,
    dictionary: Vec<u8>,
    jobs: Option<mpsc::SyncSender<Job>>,
    workers: Vec<JoinHandle<()>>,
    pending: VecDeque<mpsc::Receiver<io::Result<Deflated>>>,
    max_pending: usize,
    crc: crc32fast::Hasher,
    length: u64,
}

impl<W: Write> ParallelGzip<W> {
    /// Starts a gzip stream on `inner` at `level` (0–9) with `threads` compressing threads.
    pub fn new(mut inner: W, level: u32, threads: usize) -> io::Result<Self> {
        let threads = threads.max(1);
        inner.write_all(&HEADER)?;
        let (jobs, queue) = mpsc::sync_channel::<Job>(threads * 2);
        let queue = Arc::new(Mutex::new(queue));
        let compression = Compression::new(level.min(9));
        let workers = (0..threads)
            .map(|i| {
                let queue = Arc::clone(&queue);
                std::thread::Builder::new()
                    .name(format!("gzip-{i}"))
                    .spawn(move || worker(&queue, compression))
            })
            .collect::<io::Result<Vec<_>>>()?;
        Ok(ParallelGzip {
            inner: Some(inner),
            buffer: Vec::with_capacity(BLOCK_SIZE),
            dictionary: Vec::new(),
            jobs: Some(jobs),
            workers,
            pending: VecDeque::new(),
            max_pending: threads * 4,
            crc: crc32fast::Hasher::new(),
            length: 0,
        })
    }

    /// Compresses what is buffered, writes the trailer and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.dispatch(true)?;
        while !self.pending.is_empty() {
            self.drain_one()?;
        }
        self.stop_workers();
        let crc = std::mem::take(&mut self.crc);
        let mut inner = self.inner.take().expect("present until finish");
        inner.write_all(&crc.finalize().to_le_bytes())?;
        // ISIZE is the input length modulo 2^32 (RFC 1952).
        inner.write_all(&((self.length & 0xffff_ffff) as u32).to_le_bytes())?;
        inner.flush()?;
        Ok(inner)
    }

    fn dispatch(&mut self, last: bool) -> io::Result<()> {
        let data = std::mem::replace(&mut self.buffer, Vec::with_capacity(BLOCK_SIZE));
        let dictionary = std::mem::take(&mut self.dictionary);
        if !last {
            self.dictionary = data[data.len().saturating_sub(WINDOW_SIZE)..].to_vec();
        }
        let (reply, receive) = mpsc::sync_channel(1);
        let job = Job {
            data,
            dictionary,
            last,
            reply,
        };
        self.jobs
            .as_ref()
            .ok_or_else(worker_gone)?
            .send(job)
            .map_err(|_| worker_gone())?;
        self.pending.push_back(receive);
        while self.pending.len() > self.max_pending {
            self.drain_one()?;
        }
        Ok(())
    }

    fn drain_one(&mut self) -> io::Result<()> {
        let receive = self.pending.pop_front().ok_or_else(worker_gone)?;
        let deflated = receive.recv().map_err(|_| worker_gone())??;
        self.inner
            .as_mut()
            .ok_or_else(worker_gone)?
            .write_all(&deflated.bytes)?;
        self.crc.combine(&deflated.crc);
        Ok(())
    }

    fn stop_workers(&mut self) {
        self.jobs = None;
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

impl<W: Write> Write for ParallelGzip<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = BLOCK_SIZE - self.buffer.len();
        let n = room.min(buf.len());
        self.buffer.extend_from_slice(&buf[..n]);
        self.length += n as u64;
        if self.buffer.len() == BLOCK_SIZE {
            self.dispatch(false)?;
        }
        Ok(n)
    }

    /// Only flushes the inner writer: a gzip stream cannot be flushed mid-block without
    /// changing its bytes.
    fn flush(&mut self) -> io::Result<()> {
        self.inner.as_mut().map_or(Ok(()), Write::flush)
    }
}

impl<W: Write> Drop for ParallelGzip<W> {
    fn drop(&mut self) {
        self.pending.clear();
        self.stop_workers();
    }
}

fn worker_gone() -> io::Error {
    io::Error::other("a gzip worker thread stopped")
}

fn worker(queue: &Mutex<mpsc::Receiver<Job>>, level: Compression) {
    loop {
        let job = {
            let Ok(queue) = queue.lock() else { return };
            match queue.recv() {
                Ok(job) => job,
                Err(_) => return,
            }
        };
        let mut crc = crc32fast::Hasher::new();
        crc.update(&job.data);
        let result = deflate_block(level, &job.dictionary, &job.data, job.last)
            .map(|bytes| Deflated { bytes, crc });
        // The writer may be gone (dropped unfinished): nothing to report to then.
        let _ = job.reply.send(result);
    }
}

/// Raw deflate of one block, primed with `dictionary`, ending in a sync flush or the final block.
fn deflate_block(
    level: Compression,
    dictionary: &[u8],
    data: &[u8],
    last: bool,
) -> io::Result<Vec<u8>> {
    let mut compress = Compress::new(level, false);
    if !dictionary.is_empty() {
        compress
            .set_dictionary(dictionary)
            .map_err(io::Error::other)?;
    }
    let flush = if last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    let mut out = Vec::with_capacity(data.len() + data.len() / 8 + 64);
    loop {
        let consumed = usize::try_from(compress.total_in()).expect("block fits in memory");
        let status = compress
            .compress_vec(&data[consumed..], &mut out, flush)
            .map_err(io::Error::other)?;
        let all_in =
            usize::try_from(compress.total_in()).expect("block fits in memory") == data.len();
        let done = match status {
            Status::StreamEnd => true,
            Status::Ok | Status::BufError => all_in && !last && out.len() < out.capacity(),
        };
        if done {
            return Ok(out);
        }
        out.reserve(64 * 1024);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn sample(len: usize) -> Vec<u8> {
        // Compressible but not trivial: a counter mixed with text.
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31) ^ b"boxwright"[i % 9])
            .map(|b| b % 17 + b'a')
            .collect()
    }

    fn gzip(data: &[u8], threads: usize, chunk: usize) -> Vec<u8> {
        let mut gz = ParallelGzip::new(Vec::new(), 6, threads).unwrap();
        for piece in data.chunks(chunk.max(1)) {
            gz.write_all(piece).unwrap();
        }
        gz.finish().unwrap()
    }

    fn gunzip(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn round_trips_across_block_boundaries() {
        for len in [
            0,
            1,
            BLOCK_SIZE - 1,
            BLOCK_SIZE,
            BLOCK_SIZE + 1,
            3 * BLOCK_SIZE + 12345,
        ] {
            let data = sample(len);
            assert_eq!(gunzip(&gzip(&data, 2, 7000)), data, "length {len}");
        }
    }

    #[test]
    fn output_does_not_depend_on_threads_or_write_sizes() {
        let data = sample(5 * BLOCK_SIZE + 999);
        let reference = gzip(&data, 1, data.len());
        assert_eq!(gzip(&data, 2, 1), reference);
        assert_eq!(gzip(&data, 3, 4096), reference);
        assert_eq!(gzip(&data, 8, 100_003), reference);
    }

    #[test]
    fn header_has_no_name_and_no_time_and_trailer_is_right() {
        let data = sample(1000);
        let out = gzip(&data, 2, 10);
        assert_eq!(&out[..10], &HEADER);
        let n = out.len();
        assert_eq!(u32::from_le_bytes(out[n - 4..].try_into().unwrap()), 1000);
        assert_eq!(
            u32::from_le_bytes(out[n - 8..n - 4].try_into().unwrap()),
            crc32fast::hash(&data)
        );
    }

    #[test]
    fn dictionaries_keep_the_ratio_close_to_single_stream() {
        let data = sample(8 * BLOCK_SIZE);
        let ours = gzip(&data, 2, 65536).len();
        let mut single = flate2::write::GzEncoder::new(Vec::new(), Compression::new(6));
        single.write_all(&data).unwrap();
        let theirs = single.finish().unwrap().len();
        assert!(
            ours <= theirs + theirs / 50 + 64,
            "parallel {ours} vs single {theirs}"
        );
    }
}
