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
        let start = bits.pos;
        let last = bits.take(1)? == 1;
        match bits.take(2)? {
            0 => {
                bits.pos = bits.pos.next_multiple_of(8);
                let len = bits.take(16)?;
                let nlen = bits.take(16)?;
                if len != !nlen & 0xffff {
                    return None;
                }
                bits.skip(len as usize * 8)?;
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
        if last {
            return Some(LastBlock {
                start,
                end: bits.pos,
            });
        }
    }
}

/// Skips a compressed block's symbols up to and including its end-of-block code.
fn skip_symbols(bits: &mut Bits, tables: &Tables) -> Option<()> {
    loop {
        let symbol = bits.decode(&tables.literal)?;
        match symbol {
            0..=255 => {}
            256 => return Some(()),
            257..=285 => {
                bits.skip(usize::from(LENGTH_EXTRA[usize::from(symbol - 257)]))?;
                let distance = bits.decode(&tables.distance)?;
                bits.skip(usize::from(*DISTANCE_EXTRA.get(usize::from(distance))?))?;
            }
            _ => return None,
        }
    }
}

/// A canonical Huffman code as a lookup table indexed by the next `width` stream bits;
/// entries are `symbol << 4 | length`, 0 for bit patterns no code starts.
#[derive(Default)]
struct Huffman {
    width: u32,
    entries: Vec<u32>,
}

impl Huffman {
    /// Builds the code of `lengths` (one per symbol, 0 = unused); `None` if over-subscribed.
    fn build(&mut self, lengths: &[u8]) -> Option<()> {
        let width = u32::from(lengths.iter().copied().max().unwrap_or(0).max(1));
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
        self.width = width;
        self.entries.clear();
        self.entries.resize(1 << width, 0);
        for (symbol, &len) in lengths.iter().enumerate() {
            if len == 0 {
                continue;
            }
            let len32 = u32::from(len);
            let code = next[usize::from(len)];
            next[usize::from(len)] += 1;
            if code >= 1 << len32 {
                return None;
            }
            // Stream bits come least significant first: index by the reversed code.
            let reversed = code.reverse_bits() >> (32 - len32);
            let entry = (u32::try_from(symbol).ok()? << 4) | len32;
            let mut index = reversed as usize;
            while index < self.entries.len() {
                self.entries[index] = entry;
                index += 1 << len32;
            }
        }
        Some(())
    }
}

#[derive(Default)]
struct Tables {
    literal: Huffman,
    distance: Huffman,
    lengths: Vec<u8>,
    code_lengths: Huffman,
}

impl Tables {
    /// The fixed codes of block type 1.
    fn fixed(&mut self) {
        let mut lengths = [8u8; 288];
        lengths[144..256].fill(9);
        lengths[256..280].fill(7);
        self.literal
            .build(&lengths)
            .expect("the fixed code is complete");
        self.distance
            .build(&[5; 30])
            .expect("the fixed code is complete");
    }

    /// Reads the code description of a dynamic block (type 2).
    fn dynamic(&mut self, bits: &mut Bits) -> Option<()> {
        let literals = bits.take(5)? as usize + 257;
        let distances = bits.take(5)? as usize + 1;
        let code_length_count = bits.take(4)? as usize + 4;
        let mut code_length_lengths = [0u8; 19];
        for &symbol in &CODE_LENGTH_ORDER[..code_length_count] {
            code_length_lengths[symbol] = u8::try_from(bits.take(3)?).ok()?;
        }
        self.code_lengths.build(&code_length_lengths)?;
        self.lengths.clear();
        while self.lengths.len() < literals + distances {
            let (value, repeat) = match bits.decode(&self.code_lengths)? {
                symbol @ 0..=15 => (u8::try_from(symbol).ok()?, 1),
                16 => (*self.lengths.last()?, 3 + bits.take(2)?),
                17 => (0, 3 + bits.take(3)?),
                18 => (0, 11 + bits.take(7)?),
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

/// A reader of bits, least significant first.
struct Bits<'a> {
    data: &'a [u8],
    /// Position in bits.
    pos: usize,
    end: usize,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8]) -> Self {
        Bits {
            data,
            pos: 0,
            end: data.len() * 8,
        }
    }

    /// The next 32 bits (zeros past the end), without consuming them.
    fn peek(&self) -> u32 {
        let byte = self.pos / 8;
        let window = if let Some(eight) = self.data.get(byte..byte + 8) {
            u64::from_le_bytes(eight.try_into().expect("8 bytes"))
        } else {
            let mut eight = [0u8; 8];
            let tail = self.data.get(byte..).unwrap_or_default();
            eight[..tail.len()].copy_from_slice(tail);
            u64::from_le_bytes(eight)
        };
        u32::try_from((window >> (self.pos % 8)) & u64::from(u32::MAX)).expect("masked to 32 bits")
    }

    fn skip(&mut self, n: usize) -> Option<()> {
        self.pos += n;
        (self.pos <= self.end).then_some(())
    }

    /// The next `n` (at most 16) bits as a number.
    fn take(&mut self, n: u32) -> Option<u32> {
        let value = self.peek() & ((1 << n) - 1);
        self.skip(n as usize)?;
        Some(value)
    }

    fn decode(&mut self, code: &Huffman) -> Option<u16> {
        let entry = code.entries[(self.peek() & ((1 << code.width) - 1)) as usize];
        let len = entry & 0xf;
        if len == 0 {
            return None;
        }
        self.skip(len as usize)?;
        u16::try_from(entry >> 4).ok()
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
    fn refuses_what_is_not_a_complete_stream() {
        let stream = deflate(&varied(50_000), 6);
        assert_eq!(last_block(&stream[..stream.len() / 2]), None);
        assert_eq!(last_block(&[0b111]), None);
        // A stored block whose NLEN does not match.
        assert_eq!(last_block(&[1, 5, 0, 0, 0]), None);
    }
}
