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
        // The longest symbol with its extra bits, 15 + 5 + 15 + 13 bits, fits in 48.
        if bits.count < 48 {
            bits.refill()?;
        }
        // Entries carry the code length plus any extra bits: one shift skips both.
        let entry = tables.literal.entry(bits.buffer);
        bits.consume(entry & 0xff)?;
        let symbol = entry >> 8;
        if symbol < 256 {
            continue;
        }
        if symbol == 256 {
            return Some(());
        }
        if symbol > 285 {
            return None;
        }
        let distance = tables.distance.entry(bits.buffer);
        if distance >> 8 >= 30 {
            return None;
        }
        bits.consume(distance & 0xff)?;
    }
}

/// Bits a [`Huffman`] table resolves in one look-up; longer codes go through a subtable.
const PRIMARY_BITS: u32 = 10;
const PRIMARY_SIZE: usize = 1 << PRIMARY_BITS;
/// Marks a primary entry that points to a subtable.
const LINK: u32 = 1 << 31;

/// A canonical Huffman code as look-up tables indexed by the next stream bits: a primary
/// table of [`PRIMARY_BITS`] bits, then subtables for longer codes. A symbol's entry is
/// `symbol << 8 | bits`, where `bits` is the code length plus the symbol's extra bits (0
/// marks bit patterns that start no code); a link is `LINK | offset << 4 | subtable bits`.
struct Huffman {
    primary: Box<[u32; PRIMARY_SIZE]>,
    sub: Vec<u32>,
    sub_bits: Box<[u32; PRIMARY_SIZE]>,
}

impl Default for Huffman {
    fn default() -> Self {
        Huffman {
            primary: Box::new([0; PRIMARY_SIZE]),
            sub: Vec::new(),
            sub_bits: Box::new([0; PRIMARY_SIZE]),
        }
    }
}

impl Huffman {
    /// Builds the code of `lengths` (one per symbol, 0 = unused), symbol `s` followed by
    /// `extra(s)` extra bits; `None` if over-subscribed.
    fn build(&mut self, lengths: &[u8], extra: impl Fn(usize) -> u8) -> Option<()> {
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
        let mask = PRIMARY_SIZE - 1;
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
        self.sub_bits.fill(0);
        for (&len, &code) in lengths.iter().zip(&codes) {
            let len = u32::from(len);
            if len > PRIMARY_BITS {
                let bits = &mut self.sub_bits[code & mask];
                *bits = (*bits).max(len - PRIMARY_BITS);
            }
        }
        self.primary.fill(0);
        self.sub.clear();
        for prefix in 0..PRIMARY_SIZE {
            let bits = self.sub_bits[prefix];
            if bits > 0 {
                let offset = u32::try_from(self.sub.len()).ok()?;
                self.primary[prefix] = LINK | offset << 4 | bits;
                self.sub.resize(self.sub.len() + (1 << bits), 0);
            }
        }
        for (symbol, (&len, &code)) in lengths.iter().zip(&codes).enumerate() {
            let len = u32::from(len);
            if len == 0 {
                continue;
            }
            let entry = (u32::try_from(symbol).ok()? << 8) | (len + u32::from(extra(symbol)));
            if len <= PRIMARY_BITS {
                let mut index = code;
                while index < PRIMARY_SIZE {
                    self.primary[index] = entry;
                    index += 1 << len;
                }
            } else {
                let link = self.primary[code & mask];
                let offset = (link & !LINK) as usize >> 4;
                let size = 1usize << (link & 0xf);
                let mut index = code >> PRIMARY_BITS;
                while index < size {
                    self.sub[offset + index] = entry;
                    index += 1 << (len - PRIMARY_BITS);
                }
            }
        }
        Some(())
    }

    /// The entry of the code at the start of `buffer` (which holds at least 15 bits).
    #[inline]
    fn entry(&self, buffer: u64) -> u32 {
        // Truncation keeps the low bits, the ones indexed by.
        let low = (buffer & 0xffff_ffff) as usize;
        let entry = self.primary[low & (PRIMARY_SIZE - 1)];
        if entry & LINK == 0 {
            return entry;
        }
        let offset = (entry & !LINK) as usize >> 4;
        let index = (low >> PRIMARY_BITS) & ((1 << (entry & 0xf)) - 1);
        self.sub.get(offset + index).copied().unwrap_or(0)
    }

    /// Decodes and consumes one symbol without extra bits (code length codes).
    fn decode(&self, bits: &mut Bits) -> Option<u32> {
        let entry = self.entry(bits.buffer);
        bits.consume(entry & 0xff)?;
        Some(entry >> 8)
    }
}

/// Extra bits after a literal/length symbol.
fn length_extra(symbol: usize) -> u8 {
    symbol
        .checked_sub(257)
        .and_then(|i| LENGTH_EXTRA.get(i))
        .copied()
        .unwrap_or(0)
}

/// Extra bits after a distance symbol.
fn distance_extra(symbol: usize) -> u8 {
    DISTANCE_EXTRA.get(symbol).copied().unwrap_or(0)
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
            .build(&lengths, length_extra)
            .expect("the fixed code is complete");
        self.distance
            .build(&[5; 30], distance_extra)
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
        self.code_lengths.build(&code_length_lengths, |_| 0)?;
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
        self.literal
            .build(&self.lengths[..literals], length_extra)?;
        self.distance
            .build(&self.lengths[literals..], distance_extra)
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

    /// Consumes the next `n` bits; `None` if `n` is 0 (no code starts there) or more than
    /// are buffered.
    #[inline]
    fn consume(&mut self, n: u32) -> Option<()> {
        if n == 0 || n > self.count {
            return None;
        }
        self.buffer >>= n;
        self.count -= n;
        Some(())
    }

    /// Consumes and returns the next `n` bits (at most 16; buffered by [`Bits::refill`]).
    #[inline]
    fn take(&mut self, n: u32) -> u32 {
        let value = u32::try_from(self.buffer & ((1 << n) - 1)).expect("at most 16 bits");
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
