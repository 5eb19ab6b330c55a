//! A client for OCI distribution registries: push an OCI layout or oci-archive, check that a
//! manifest exists, list tags, fetch a manifest or index, merge per-platform manifests into an
//! index, and pull an image into an OCI layout or oci-archive (every blob's digest checked).
//!
//! Blobs already in the repository are skipped (HEAD first); the others are uploaded a few at
//! a time, in one request below [`CHUNKED_THRESHOLD`] and in chunks above it. Manifests are
//! put by digest, the index last, and the tag only at the very end, so a tag never names an
//! incomplete image.

pub mod attest;
mod base_cache;
mod client;
mod credentials;
mod descriptor;
mod error;
mod local;
mod login;
mod pull;
mod push;
mod reference;
mod signatures;
pub mod subject;
mod summary;

pub use attest::{Attached, Predicates, SigningTarget};
pub use base_cache::{BaseCache, CachedBase};
pub use client::{Client, ClientOptions, Credentials, Inspected};
pub use credentials::{AuthFile, AuthLocations, forget_credentials, store_credentials};
pub use descriptor::{Descriptor, PULLED_FROM_ANNOTATION};
pub use error::Error;
pub use local::PushSource;
pub use pull::{PullFormat, PullReport};
pub use push::{CHUNK_SIZE, CHUNKED_THRESHOLD, MergeReport, PushReport};
pub use reference::{Reference, ReferenceError};
pub use signatures::{AttachReport, Attachment, FoundLayer, SignatureLayer, TagScheme};
pub use subject::{Subject, SubjectError};
pub use summary::{ConfigSummary, Summary, local_summary};

/// Environment variable holding the registry user name.
pub const USERNAME_ENV: &str = "BOXWRIGHT_REGISTRY_USERNAME";
/// Environment variable holding the registry password.
pub const PASSWORD_ENV: &str = "BOXWRIGHT_REGISTRY_PASSWORD";
