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

/// Why a hex digest is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChecksumError {
    /// The digest has the wrong number of hex digits for its algorithm.
    #[error("a {algorithm} digest has {expected} hex digits, this one has {actual}")]
    Length {
        algorithm: &'static str,
        expected: usize,
        actual: usize,
    },
    /// The digest holds a character that is not a hex digit.
    #[error("{value:?} is not a hex string")]
    NotHex { value: String },
}

/// An expected digest: algorithm and lower-case hex value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Checksum {
    pub algorithm: ChecksumAlgorithm,
    pub hex: String,
}

impl Checksum {
    /// Parses a hex digest, accepting upper case; the reason when malformed.
    pub fn parse(algorithm: ChecksumAlgorithm, hex: &str) -> Result<Self, ChecksumError> {
        if hex.len() != algorithm.hex_len() {
            return Err(ChecksumError::Length {
                algorithm: algorithm.key(),
                expected: algorithm.hex_len(),
                actual: hex.len(),
            });
        }
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ChecksumError::NotHex {
                value: hex.to_owned(),
            });
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
                .to_string()
                .contains("128")
        );
        assert!(Checksum::parse(ChecksumAlgorithm::Sha256, &"g".repeat(64)).is_err());
    }
}
