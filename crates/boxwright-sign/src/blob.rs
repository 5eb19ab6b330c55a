//! cosign's `sign-blob` signatures: ECDSA P-256 over the SHA-256 of a file, base64 of the
//! DER signature. Files are hashed as a stream, so their size does not matter.

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::keys::{SigningKey, VerifyingKey};
use crate::signature::Signature;

const BUFFER: usize = 1 << 20;

/// SHA-256 of everything `reader` yields.
pub fn sha256_reader(mut reader: impl Read) -> std::io::Result<[u8; 32]> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0_u8; BUFFER];
    loop {
        match reader.read(&mut buffer) {
            Ok(0) => return Ok(hasher.finalize().into()),
            Ok(n) => hasher.update(&buffer[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

fn sha256_file(path: &Path) -> Result<[u8; 32]> {
    std::fs::File::open(path)
        .and_then(sha256_reader)
        .map_err(|e| Error::io("read", path, e))
}

/// The signature of the file at `path`, as `cosign sign-blob --key` makes it.
pub fn sign_file(key: &SigningKey, path: &Path) -> Result<Signature> {
    Ok(key.sign_sha256_digest(&sha256_file(path)?))
}

/// Checks a `cosign sign-blob` signature of the file at `path`.
pub fn verify_file(key: &VerifyingKey, path: &Path, signature: &Signature) -> Result<()> {
    let digest = sha256_file(path)?;
    key.verify_sha256_digest(&digest, signature, &path.display().to_string())
}

/// The text of the signature file `argument` or, when there is no such file, the argument
/// itself if it is a base64 signature.
pub fn read_signature(argument: &str) -> Result<String> {
    match std::fs::read_to_string(argument) {
        Ok(text) => Ok(text),
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound
                && Signature::from_base64(argument).is_ok() =>
        {
            Ok(argument.to_string())
        }
        Err(e) => Err(Error::io("read the signature file", Path::new(argument), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_is_read_from_its_file_or_taken_as_written() {
        let key = SigningKey::generate().unwrap();
        let signature = key.sign(b"data").to_base64();
        assert_eq!(read_signature(&signature).unwrap(), signature);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("blob.sig");
        std::fs::write(&file, &signature).unwrap();
        assert_eq!(read_signature(file.to_str().unwrap()).unwrap(), signature);
        let missing = dir.path().join("missing.sig");
        assert!(matches!(
            read_signature(missing.to_str().unwrap()),
            Err(Error::Io { .. })
        ));
    }

    #[test]
    fn file_signature_equals_the_message_signature() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blob");
        // Larger than the buffer, so the stream is read in several pieces.
        let contents: Vec<u8> = (0..(BUFFER * 2 + 17)).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &contents).unwrap();
        let key = SigningKey::generate().unwrap();
        let signature = sign_file(&key, &path).unwrap();
        assert_eq!(signature, key.sign(&contents));
        verify_file(&key.verifying_key(), &path, &signature).unwrap();

        std::fs::write(&path, b"changed").unwrap();
        let error = verify_file(&key.verifying_key(), &path, &signature).unwrap_err();
        assert!(matches!(error, Error::SignatureMismatch { .. }), "{error}");
        assert!(error.to_string().contains("blob"), "{error}");
    }

    #[test]
    fn missing_file_is_an_io_error() {
        let key = SigningKey::generate().unwrap();
        let error = sign_file(&key, Path::new("/nonexistent/file")).unwrap_err();
        assert!(matches!(error, Error::Io { .. }));
        assert!(!error.is_verification_failure());
    }
}
