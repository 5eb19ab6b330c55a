//! Signing keys and signatures for every boxwright stage that signs or verifies: image
//! signatures and attestations (`attest`), signed release manifests (`publish`) and the
//! package repository server.
//!
//! Today: ECDSA P-256 keys in cosign's files ([`keys`]), cosign's simple-signing payload for
//! images ([`cosign`]), DSSE envelopes ([`dsse`]) around in-toto statements ([`intoto`]),
//! and cosign's `sign-blob` signatures ([`blob`]). New key pairs of every format: [`generate`]. Keys come from files or CI secret
//! variables ([`source`]). minisign keys and signatures
//! ([`minisign`]). RSA keys for apk packages and indexes ([`rsa`]) and OpenPGP keys for apt
//! repositories ([`openpgp`]).
//!
//! The crate is pure: no network, no processes, no async runtime. It reads and writes the
//! files it is pointed at and the environment variables it is told to.

pub mod blob;
pub mod cosign;
pub mod dsse;
mod error;
pub mod files;
pub mod generate;
pub mod intoto;
pub mod keys;
pub mod minisign;
pub mod openpgp;
mod pem;
pub mod rsa;
mod signature;
pub mod source;

pub use error::{Error, Result};
pub use keys::{KeyId, SigningKey, VerifyingKey};
pub use signature::Signature;
pub use source::KeySource;
pub use zeroize::Zeroizing;
