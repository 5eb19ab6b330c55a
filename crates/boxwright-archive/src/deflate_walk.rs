//! Finds the block structure of a raw deflate stream (RFC 1951) without inflating it: the
//! Huffman codes are decoded only far enough to skip each block's symbols. [`ParallelGzip`]
//! uses it to turn libdeflate's self-contained pieces into one stream.
//!
//! [`ParallelGzip`]: crate::ParallelGzip

/// Where the final block of a deflate stream lies, in bits from the stream's start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LastBlock {
    /// The position of its BFINAL bit (the first bit of its header).
    pub start: usize,
    /// The position just past its end-of-block code.
    pub end: usize,
}

/// Extra bits of the length symbols 257–285.
const LENGTH_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
/// Extra bits of the distance symbols 0–29.
const DISTANCE_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];
/// The order in which a dynamic block lists its code length code lengths.
const CODE_LENGTH_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

/// Walks `stream` block by block up to its final block; `None` when it is not a complete,
/// well-formed deflate stream.
pub(crate) fn last_block(stream: &[u8]) -> Option<LastBlock> {
    let mut bits = Bits::new(stream);
    let mut tables = Tables::default();
    loop {
        let start = bits.position();
        bits.refill()?;
        let last = bits.take(1) == 1;
        match bits.take(2) {
            0 => {
                bits.align();
                bits.refill()?;
                let len = bits.take(16);
                let nlen = bits.take(16);
                if len != !nlen & 0xffff {
                    return None;
                }
                bits.skip_bytes(len as usize)?;
            }
            1 => {
                tables.fixed();
                skip_symbols(&mut bits, &tables)?;
            }
            2 => {
                tables.dynamic(&mut bits)?;
                skip_symbols(&mut bits, &tables)?;
            }
            _ => return None,
        }
        let end = bits.position();
        if end > stream.len() * 8 {
            return None;
        }
        if last {
            return Some(LastBlock { start, end });
        }
    }
}

/// Skips a compressed block's symbols up to and including its end-of-block code.
fn skip_symbols(bits: &mut Bits, tables: &Tables) -> Option<()> {
    loop {
        // One refill covers the longest symbol: 15 + 5 + 15 + 13 bits.
        bits.refill()?;
        let symbol = tables.literal.decode(bits)?;
        if symbol < 256 {
            continue;
        }
        match symbol {
            256 => return Some(()),
            257..=285 => {
                bits.take(u32::from(LENGTH_EXTRA[usize::from(symbol - 257)]));
                let distance = tables.distance.decode(bits)?;
                bits.take(u32::from(*DISTANCE_EXTRA.get(usize::from(distance))?));
            }
            _ => return None,
        }
    }
}

/// Bits a [`Huffman`] table resolves in one look-up; longer codes go through a subtable.
const PRIMARY_BITS: u32 = 10;
/// Marks a primary entry that points to a subtable.
const LINK: u32 = 1 << 31;

/// A canonical Huffman code as look-up tables indexed by the next stream bits: a primary
/// table of [`PRIMARY_BITS`] bits, then subtables for longer codes. A symbol's entry is
/// `symbol << 4 | length`; a link is `LINK | offset << 4 | subtable bits`; 0 marks bit
/// patterns that start no code.
#[derive(Default)]
struct Huffman {
    entries: Vec<u32>,
    sub_bits: Vec<u32>,
}

impl Huffman {
    /// Builds the code of `lengths` (one per symbol, 0 = unused); `None` if over-subscribed.
    fn build(&mut self, lengths: &[u8]) -> Option<()> {
        let mut count = [0u32; 16];
        for &len in lengths {
            count[usize::from(len)] += 1;
        }
        count[0] = 0;
        let mut next = [0u32; 16];
        let mut code = 0u32;
        for len in 1..16 {
            code = (code + count[len - 1]) << 1;
            next[len] = code;
        }
        let primary = 1usize << PRIMARY_BITS;
        let mask = primary - 1;
        // Canonical codes, reversed: stream bits come least significant first.
        let codes = lengths.iter().map(move |&len| {
            let len32 = u32::from(len);
            if len == 0 {
                return Some(0);
            }
            let code = next[usize::from(len)];
            next[usize::from(len)] += 1;
            (code < 1 << len32).then(|| (code.reverse_bits() >> (32 - len32)) as usize)
        });
        let codes: Vec<usize> = codes.collect::<Option<_>>()?;
        // Subtable sizes: the longest code below each primary prefix decides.
        self.sub_bits.clear();
        self.sub_bits.resize(primary, 0);
        for (&len, &code) in lengths.iter().zip(&codes) {
            let len = u32::from(len);
            if len > PRIMARY_BITS {
                let bits = &mut self.sub_bits[code & mask];
                *bits = (*bits).max(len - PRIMARY_BITS);
            }
        }
        self.entries.clear();
        self.entries.resize(primary, 0);
        for prefix in 0..primary {
            let bits = self.sub_bits[prefix];
            if bits > 0 {
                let offset = u32::try_from(self.entries.len()).ok()?;
                self.entries[prefix] = LINK | offset << 4 | bits;
                self.entries.resize(self.entries.len() + (1 << bits), 0);
            }
        }
        for (symbol, (&len, &code)) in lengths.iter().zip(&codes).enumerate() {
            let len = u32::from(len);
            if len == 0 {
                continue;
            }
            let entry = (u32::try_from(symbol).ok()? << 4) | len;
            if len <= PRIMARY_BITS {
                let mut index = code;
                while index < primary {
                    self.entries[index] = entry;
                    index += 1 << len;
                }
            } else {
                let link = self.entries[code & mask];
                let offset = (link & !LINK) as usize >> 4;
                let size = 1usize << (link & 0xf);
                let mut index = code >> PRIMARY_BITS;
                while index < size {
                    self.entries[offset + index] = entry;
                    index += 1 << (len - PRIMARY_BITS);
                }
            }
        }
        Some(())
    }

    /// Decodes and consumes one symbol; needs at least 15 bits in `bits`.
    #[inline]
    fn decode(&self, bits: &mut Bits) -> Option<u16> {
        let primary = bits.peek() as usize & ((1 << PRIMARY_BITS) - 1);
        let mut entry = self.entries[primary];
        if entry & LINK != 0 {
            let offset = (entry & !LINK) as usize >> 4;
            let index = (bits.peek() >> PRIMARY_BITS) as usize & ((1 << (entry & 0xf)) - 1);
            entry = self.entries[offset + index];
        }
        let len = entry & 0xf;
        if len == 0 {
            return None;
        }
        bits.take(len);
        u16::try_from(entry >> 4).ok()
    }
}

#[derive(Default)]
struct Tables {
    literal: Huffman,
    distance: Huffman,
    lengths: Vec<u8>,
    code_lengths: Huffman,
    fixed: bool,
}

impl Tables {
    /// The fixed codes of block type 1.
    fn fixed(&mut self) {
        if self.fixed {
            return;
        }
        let mut lengths = [8u8; 288];
        lengths[144..256].fill(9);
        lengths[256..280].fill(7);
        self.literal
            .build(&lengths)
            .expect("the fixed code is complete");
        self.distance
            .build(&[5; 30])
            .expect("the fixed code is complete");
        self.fixed = true;
    }

    /// Reads the code description of a dynamic block (type 2).
    fn dynamic(&mut self, bits: &mut Bits) -> Option<()> {
        self.fixed = false;
        bits.refill()?;
        let literals = bits.take(5) as usize + 257;
        let distances = bits.take(5) as usize + 1;
        let code_length_count = bits.take(4) as usize + 4;
        let mut code_length_lengths = [0u8; 19];
        for &symbol in &CODE_LENGTH_ORDER[..code_length_count] {
            bits.refill()?;
            code_length_lengths[symbol] = u8::try_from(bits.take(3)).ok()?;
        }
        self.code_lengths.build(&code_length_lengths)?;
        self.lengths.clear();
        while self.lengths.len() < literals + distances {
            bits.refill()?;
            let (value, repeat) = match self.code_lengths.decode(bits)? {
                symbol @ 0..=15 => (u8::try_from(symbol).ok()?, 1),
                16 => (*self.lengths.last()?, 3 + bits.take(2)),
                17 => (0, 3 + bits.take(3)),
                18 => (0, 11 + bits.take(7)),
                _ => return None,
            };
            for _ in 0..repeat {
                self.lengths.push(value);
            }
        }
        if self.lengths.len() != literals + distances || self.lengths[256] == 0 {
            return None;
        }
        self.literal.build(&self.lengths[..literals])?;
        self.distance.build(&self.lengths[literals..])
    }
}

/// A reader of bits, least significant first, through a 64-bit buffer.
struct Bits<'a> {
    data: &'a [u8],
    /// Bytes moved into `buffer` so far (past the end: zeros, counted but not read).
    loaded: usize,
    buffer: u64,
    /// Valid bits in `buffer`.
    count: u32,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8]) -> Self {
        Bits {
            data,
            loaded: 0,
            buffer: 0,
            count: 0,
        }
    }

    /// The stream position in bits.
    fn position(&self) -> usize {
        self.loaded * 8 - self.count as usize
    }

    /// Fills the buffer to at least 56 bits; `None` once reading has gone 8 bytes past the
    /// end (a truncated or malformed stream).
    #[inline]
    fn refill(&mut self) -> Option<()> {
        if let Some(eight) = self.data.get(self.loaded..self.loaded + 8) {
            let word = u64::from_le_bytes(eight.try_into().expect("8 bytes"));
            self.buffer |= word << self.count;
            self.loaded += (63 - self.count as usize) / 8;
            self.count |= 0b11_1000; // 56 or more: 7 whole bytes at least
            return Some(());
        }
        while self.count <= 56 {
            let byte = self.data.get(self.loaded).copied().unwrap_or(0);
            if self.loaded >= self.data.len() + 8 {
                return None;
            }
            self.buffer |= u64::from(byte) << self.count;
            self.loaded += 1;
            self.count += 8;
        }
        Some(())
    }

    /// The buffered bits, without consuming them.
    #[inline]
    fn peek(&self) -> u32 {
        u32::try_from(self.buffer & u64::from(u32::MAX)).expect("masked to 32 bits")
    }

    /// Consumes and returns the next `n` bits (at most 16; buffered by [`Bits::refill`]).
    #[inline]
    fn take(&mut self, n: u32) -> u32 {
        let value = self.peek() & ((1 << n) - 1);
        self.buffer >>= n;
        self.count -= n;
        value
    }

    /// Skips to the next byte boundary.
    fn align(&mut self) {
        let n = self.count % 8;
        self.take(n);
    }

    /// Skips `n` whole bytes from a byte boundary.
    fn skip_bytes(&mut self, n: usize) -> Option<()> {
        let position = self.position() + n * 8;
        if position > self.data.len() * 8 {
            return None;
        }
        self.loaded = position / 8;
        self.buffer = 0;
        self.count = 0;
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deflate(data: &[u8], level: i32) -> Vec<u8> {
        let mut compressor =
            libdeflater::Compressor::new(libdeflater::CompressionLvl::new(level).unwrap());
        let mut out = vec![0; compressor.deflate_compress_bound(data.len())];
        let n = compressor.deflate_compress(data, &mut out).unwrap();
        out.truncate(n);
        out
    }

    fn varied(len: usize) -> Vec<u8> {
        let mut state = 0x2545_f491_u32;
        (0..len)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                // Runs of text, repeats and noise, so that every block type shows up.
                match (i / 5000) % 3 {
                    0 => b"the quick brown fox jumps over the lazy dog "[i % 44],
                    1 => (state % 7) as u8 + b'a',
                    _ => state.to_le_bytes()[0],
                }
            })
            .collect()
    }

    #[test]
    fn finds_the_end_of_every_level_s_stream() {
        for len in [0, 1, 100, 70_000, 1 << 20] {
            let data = varied(len);
            for level in 0..=12 {
                let stream = deflate(&data, level);
                let block = last_block(&stream).unwrap_or_else(|| panic!("{len} at {level}"));
                assert_eq!(block.end.div_ceil(8), stream.len(), "{len} at {level}");
                assert_eq!(stream[block.start / 8] >> (block.start % 8) & 1, 1);
            }
        }
    }

    #[test]
    fn walks_zlib_s_streams_too() {
        use std::io::Write;
        // zlib's block structure differs (stored blocks at level 0, fixed codes for short
        // inputs): a check that the walker follows the format, not one encoder's habits.
        for len in [0, 10, 70_000, 300_000] {
            let data = varied(len);
            for level in 0..=9 {
                let mut encoder =
                    flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(level));
                encoder.write_all(&data).unwrap();
                let stream = encoder.finish().unwrap();
                let block = last_block(&stream).unwrap_or_else(|| panic!("{len} at {level}"));
                assert_eq!(block.end.div_ceil(8), stream.len(), "{len} at {level}");
            }
        }
    }

    #[test]
    fn refuses_what_is_not_a_complete_stream() {
        let stream = deflate(&varied(50_000), 6);
        assert_eq!(last_block(&stream[..stream.len() / 2]), None);
        assert_eq!(last_block(&[0b111]), None);
        // A stored block whose NLEN does not match.
        assert_eq!(last_block(&[1, 5, 0, 0, 0]), None);
    }
}
