//! Parallel gzip, in the manner of pigz, with libdeflate doing the deflating.
//!
//! The input is cut into fixed 1 MiB blocks. Each block is deflated on its own by a worker
//! thread with libdeflate, which compresses faster and smaller than zlib at equal levels but
//! always ends its output with a final block. To join the pieces into one deflate stream
//! (one gzip member, readable by every gzip reader), [`deflate_walk`] finds where the last
//! block of each piece starts and ends: its BFINAL bit is cleared and an empty stored block
//! (a sync flush marker) brings the piece to a byte boundary. Only the last piece keeps its
//! final block. The CRC-32 of each block is combined in order.
//!
//! Because block boundaries depend only on the byte offset and each block is compressed
//! without a dictionary, the output depends only on the input and the level: not on how
//! callers split their writes and not on the number of threads or their scheduling.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;

use libdeflater::{CompressionLvl, Compressor};

use crate::deflate_walk::last_block;

/// Uncompressed bytes per independently deflated block.
const BLOCK_SIZE: usize = 1024 * 1024;
/// The level of release archives and rootfs tarballs unless told otherwise: smaller than
/// `pigz -6` (zlib's level 6) and about 1.7 times as fast. Image layers default to a lower level.
pub const DEFAULT_LEVEL: u32 = 6;
/// The highest level libdeflate knows.
pub const MAX_LEVEL: u32 = 12;
/// gzip header: magic, deflate, no flags, mtime 0, no extra flags, OS unix.
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
/// An empty, non-final stored block after its 3 header bits and padding: LEN 0, NLEN !0.
const SYNC_MARKER: [u8; 4] = [0, 0, 0xff, 0xff];

struct Job {
    data: Vec<u8>,
    last: bool,
    reply: mpsc::SyncSender<io::Result<Deflated>>,
}

struct Deflated {
    bytes: Vec<u8>,
    crc: crc32fast::Hasher,
}

/// A gzip writer that compresses on several threads with bounded memory
/// (at most `4 × threads` blocks of 1 MiB in flight: a queue deep enough that the workers
/// keep going while the writer waits for input). Call [`ParallelGzip::finish`] to
/// complete it; dropped unfinished, it stops its threads and leaves an incomplete stream.
pub struct ParallelGzip<W: Write> {
    inner: Option<W>,
    buffer: Vec<u8>,
    jobs: Option<mpsc::SyncSender<Job>>,
    workers: Vec<JoinHandle<()>>,
    pending: VecDeque<mpsc::Receiver<io::Result<Deflated>>>,
    max_pending: usize,
    crc: crc32fast::Hasher,
    length: u64,
}

impl<W: Write> ParallelGzip<W> {
    /// Starts a gzip stream on `inner` at `level` (0 stores, 1 fastest … 12 smallest; 1–9
    /// are comparable to zlib's levels) with `threads` compressing threads.
    pub fn new(mut inner: W, level: u32, threads: usize) -> io::Result<Self> {
        let threads = threads.max(1);
        let level = CompressionLvl::new(i32::try_from(level.min(MAX_LEVEL)).unwrap_or(6))
            .map_err(|e| io::Error::other(format!("gzip level {level}: {e:?}")))?;
        inner.write_all(&HEADER)?;
        let (jobs, queue) = mpsc::sync_channel::<Job>(threads * 2);
        let queue = Arc::new(Mutex::new(queue));
        let workers = (0..threads)
            .map(|i| {
                let queue = Arc::clone(&queue);
                std::thread::Builder::new()
                    .name(format!("gzip-{i}"))
                    .spawn(move || worker(&queue, level))
            })
            .collect::<io::Result<Vec<_>>>()?;
        Ok(ParallelGzip {
            inner: Some(inner),
            buffer: Vec::with_capacity(BLOCK_SIZE),
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
        let capacity = if last { 0 } else { BLOCK_SIZE };
        let data = std::mem::replace(&mut self.buffer, Vec::with_capacity(capacity));
        let (reply, receive) = mpsc::sync_channel(1);
        let job = Job { data, last, reply };
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

fn worker(queue: &Mutex<mpsc::Receiver<Job>>, level: CompressionLvl) {
    let mut compressor = Compressor::new(level);
    let mut scratch = Vec::new();
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
        let result = deflate_block(&mut compressor, &mut scratch, &job.data, job.last)
            .map(|bytes| Deflated { bytes, crc });
        // The writer may be gone (dropped unfinished): nothing to report to then.
        let _ = job.reply.send(result);
    }
}

/// Raw deflate of one block: a piece of one deflate stream, starting at a byte boundary and
/// ending in an empty stored block (or, when `last`, the final block).
fn deflate_block(
    compressor: &mut Compressor,
    scratch: &mut Vec<u8>,
    data: &[u8],
    last: bool,
) -> io::Result<Vec<u8>> {
    scratch.resize(compressor.deflate_compress_bound(data.len()), 0);
    let n = compressor
        .deflate_compress(data, scratch)
        .map_err(|e| io::Error::other(format!("libdeflate: {e:?}")))?;
    let mut out = scratch[..n].to_vec();
    match last_block(&out) {
        Some(block) if block.end.div_ceil(8) == out.len() => {
            if !last {
                out[block.start / 8] &= !(1 << (block.start % 8));
                // The stored block's 3 header bits (all zero) follow the final block's end;
                // the rest of their byte is padding.
                out.truncate(block.end.div_ceil(8));
                if let Some(byte) = out.get_mut(block.end / 8) {
                    *byte &= (1u8 << (block.end % 8)).wrapping_sub(1);
                }
                out.resize((block.end + 3).div_ceil(8), 0);
                out.extend_from_slice(&SYNC_MARKER);
            }
            Ok(out)
        }
        // libdeflate's output always walks; should it not, stored blocks are still exact.
        _ => Ok(stored(data, last)),
    }
}

/// `data` as stored (uncompressed) deflate blocks, the last one final when `last`.
fn stored(data: &[u8], last: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 65535 * 5 + 5);
    let mut pieces = data.chunks(usize::from(u16::MAX)).peekable();
    if pieces.peek().is_none() {
        out.push(u8::from(last));
        out.extend_from_slice(&SYNC_MARKER);
    }
    while let Some(piece) = pieces.next() {
        let len = u16::try_from(piece.len()).expect("pieces fit in 16 bits");
        out.push(u8::from(last && pieces.peek().is_none()));
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(piece);
    }
    out
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
    fn every_level_round_trips_as_one_gzip_member() {
        let data = sample(2 * BLOCK_SIZE + 77);
        for level in 0..=MAX_LEVEL {
            let mut gz = ParallelGzip::new(Vec::new(), level, 2).unwrap();
            gz.write_all(&data).unwrap();
            let out = gz.finish().unwrap();
            // GzDecoder reads one member only: the whole stream must be that member.
            assert_eq!(gunzip(&out), data, "level {level}");
        }
    }

    #[test]
    fn output_does_not_depend_on_threads_or_write_sizes() {
        let data = sample(5 * BLOCK_SIZE + 999);
        let reference = gzip(&data, 1, data.len());
        for threads in [1, 2, 8] {
            for chunk in [1, 4096, 1 << 20] {
                assert_eq!(
                    gzip(&data, threads, chunk),
                    reference,
                    "{threads} threads, writes of {chunk}"
                );
            }
        }
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
    fn stored_fallback_is_a_valid_stream() {
        for len in [0, 1, 65535, 65536, 200_000] {
            let data = sample(len);
            let mut out = HEADER.to_vec();
            out.extend(stored(&data[..len / 2], false));
            out.extend(stored(&data[len / 2..], true));
            out.extend(crc32fast::hash(&data).to_le_bytes());
            out.extend(u32::try_from(len).unwrap().to_le_bytes());
            assert_eq!(gunzip(&out), data, "length {len}");
        }
    }

    #[test]
    fn independent_blocks_stay_close_to_a_single_zlib_stream() {
        let data = sample(8 * BLOCK_SIZE);
        let ours = gzip(&data, 2, 65536).len();
        let mut single = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        single.write_all(&data).unwrap();
        let theirs = single.finish().unwrap().len();
        assert!(
            ours <= theirs + theirs / 50 + 64,
            "parallel {ours} vs single {theirs}"
        );
    }
}
