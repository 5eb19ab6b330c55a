//! SHA-256 and SHA-1 of a content in one read (SPDX 2.3 requires a SHA-1 of every file).

use std::io::{self, Read};

use sha1::Sha1;
use sha2::{Digest as _, Sha256};

/// The digests and size of one content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hashes {
    /// Hex.
    pub sha256: String,
    /// Hex.
    pub sha1: String,
    pub size: u64,
}

/// Reads `reader` to its end, hashing as it goes.
pub fn hash_reader(reader: &mut dyn Read) -> io::Result<Hashes> {
    let mut sha256 = Sha256::new();
    let mut sha1 = Sha1::new();
    let mut size = 0_u64;
    let mut buffer = vec![0_u8; 256 * 1024];
    loop {
        let n = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        sha256.update(&buffer[..n]);
        sha1.update(&buffer[..n]);
        size += n as u64;
    }
    Ok(Hashes {
        sha256: hex::encode(sha256.finalize()),
        sha1: hex::encode(sha1.finalize()),
        size,
    })
}

/// SHA-256 of `reader`'s content, hex.
pub fn sha256_reader(reader: &mut dyn Read) -> io::Result<String> {
    let mut sha256 = Sha256::new();
    let mut buffer = vec![0_u8; 256 * 1024];
    loop {
        let n = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        sha256.update(&buffer[..n]);
    }
    Ok(hex::encode(sha256.finalize()))
}

/// SHA-256 of bytes, hex.
pub fn sha256_bytes(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// SHA-256 of bytes.
pub(crate) fn sha256_raw(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// SHA-1 of bytes, hex.
pub fn sha1_bytes(bytes: &[u8]) -> String {
    hex::encode(Sha1::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        let hashes = hash_reader(&mut &b"abc"[..]).unwrap();
        assert_eq!(
            hashes.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(hashes.sha1, "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(hashes.size, 3);
        assert_eq!(sha1_bytes(b"abc"), hashes.sha1);
        assert_eq!(sha256_reader(&mut &b"abc"[..]).unwrap(), hashes.sha256);
    }
}
