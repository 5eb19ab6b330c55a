//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong loading keys, signing and verifying.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The text holds no `-----BEGIN ...-----` block.
    #[error("{what} is not PEM (no `-----BEGIN` line)")]
    NotPem { what: &'static str },
    /// A PEM block that cannot be decoded.
    #[error("malformed PEM {what}: {reason}")]
    MalformedPem { what: &'static str, reason: String },
    /// A PEM block of a kind this crate does not load.
    #[error("unsupported {what} PEM type `{label}` (known: {known})")]
    UnsupportedPemType {
        what: &'static str,
        label: String,
        known: &'static str,
    },
    /// A key that is not a valid ECDSA P-256 key in the named encoding.
    #[error("invalid {what}: {reason}")]
    InvalidKey { what: &'static str, reason: String },
    /// An encrypted private key that the given password does not open.
    #[error("wrong password or corrupt key")]
    WrongPassword,
    /// An encrypted private key, no password given, and the empty one does not open it.
    #[error("the private key is encrypted with a password, and none was given")]
    PasswordRequired,
    /// The JSON of a cosign encrypted private key is not as cosign writes it.
    #[error("malformed encrypted private key: {reason}")]
    MalformedEncryptedKey { reason: String },
    /// The system's random number generator failed.
    #[error("cannot get random bytes from the system: {reason}")]
    Random { reason: String },
    /// A key variable (`env://NAME`) that is not set or not text.
    #[error("environment variable {name} (from env://{name}) is not set or not UTF-8")]
    EnvNotSet { name: String },
    /// A file that cannot be read or written.
    #[error("cannot {action} {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A password for a key format that is written unencrypted.
    #[error("{keys} are written unencrypted; --key-password-stdin is for cosign keys")]
    Unencrypted { keys: &'static str },
    /// A key file that exists and may not be replaced.
    #[error("{path} exists (pass --force to replace it)")]
    Exists { path: PathBuf },
    /// A signature that is not base64 of an ECDSA P-256 signature (DER or raw r||s).
    #[error("malformed signature: {reason}")]
    MalformedSignature { reason: String },
    /// A well-formed signature that the key does not verify.
    #[error("the signature of {subject} does not verify with key {key_id}")]
    SignatureMismatch { subject: String, key_id: String },
    /// A signature made by another key than the one given (minisign key ids differ).
    #[error("{subject} is signed by another key ({signed_by}), not by key {key_id}")]
    OtherKey {
        subject: String,
        signed_by: String,
        key_id: String,
    },
    /// A DSSE envelope none of whose signatures verifies with the key.
    #[error("none of the {count} signature(s) of the DSSE envelope verifies with key {key_id}")]
    NoValidSignature { count: usize, key_id: String },
    /// A DSSE envelope that is not valid JSON of the DSSE shape.
    #[error("malformed DSSE envelope: {reason}")]
    MalformedEnvelope { reason: String },
    /// A cosign simple-signing payload that is not valid.
    #[error("malformed simple-signing payload: {reason}")]
    MalformedPayload { reason: String },
    /// A simple-signing payload for another image.
    #[error("the signed payload is for {actual}, not {expected}")]
    DigestMismatch { expected: String, actual: String },
    /// An in-toto statement that is not valid.
    #[error("malformed in-toto statement: {reason}")]
    MalformedStatement { reason: String },
    /// A predicate type that is neither a known shortcut nor an https:// URI.
    #[error("unknown predicate type `{given}` (known: {known}, or an https:// URI)")]
    UnknownPredicateType { given: String, known: String },
}

impl Error {
    /// Whether this error means "a signature was checked and is not good" (exit status 1)
    /// rather than "the check could not be made" (exit status 2).
    pub fn is_verification_failure(&self) -> bool {
        matches!(
            self,
            Error::MalformedSignature { .. }
                | Error::SignatureMismatch { .. }
                | Error::OtherKey { .. }
                | Error::NoValidSignature { .. }
                | Error::DigestMismatch { .. }
                | Error::MalformedPayload { .. }
                | Error::MalformedEnvelope { .. }
        )
    }

    pub(crate) fn io(action: &'static str, path: &std::path::Path, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
