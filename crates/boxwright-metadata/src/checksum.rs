use std::fmt;

/// A digest algorithm accepted in `downloads[]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChecksumAlgorithm {
    Sha256,
    Sha512,
}

impl ChecksumAlgorithm {
    /// The key naming this algorithm in metadata.json (`sha256`, `sha512`).
    pub fn key(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Sha256 => "sha256",
            ChecksumAlgorithm::Sha512 => "sha512",
        }
    }

    /// Length of the hex encoding of a digest.
    pub fn hex_len(self) -> usize {
        match self {
            ChecksumAlgorithm::Sha256 => 64,
            ChecksumAlgorithm::Sha512 => 128,
        }
    }
}

/// An expected digest: algorithm and lower-case hex value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Checksum {
    pub algorithm: ChecksumAlgorithm,
    pub hex: String,
}

impl Checksum {
    /// Parses a hex digest, accepting upper case; `None` with a reason when malformed.
    pub fn parse(algorithm: ChecksumAlgorithm, hex: &str) -> Result<Self, String> {
        if hex.len() != algorithm.hex_len() {
            return Err(format!(
                "a {} digest has {} hex digits, this one has {}",
                algorithm.key(),
                algorithm.hex_len(),
                hex.len()
            ));
        }
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("{hex:?} is not a hex string"));
        }
        Ok(Checksum {
            algorithm,
            hex: hex.to_ascii_lowercase(),
        })
    }
}

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.key(), self.hex)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_upper_case_and_normalises() {
        let c = Checksum::parse(ChecksumAlgorithm::Sha256, &"AB".repeat(32)).unwrap();
        assert_eq!(c.hex, "ab".repeat(32));
        assert_eq!(c.to_string(), format!("sha256:{}", "ab".repeat(32)));
    }

    #[test]
    fn rejects_wrong_length_and_non_hex() {
        assert!(
            Checksum::parse(ChecksumAlgorithm::Sha512, &"a".repeat(64))
                .unwrap_err()
                .contains("128")
        );
        assert!(Checksum::parse(ChecksumAlgorithm::Sha256, &"g".repeat(64)).is_err());
    }
}
