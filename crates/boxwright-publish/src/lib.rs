//! Releases, signed and published: `release manifest`, `release publish` and
//! `release verify` without the command line.
//!
//! - [`manifest`]: a tag's [`Plan`] from metadata.json, its artifacts located (rootfs tarballs
//!   built by the caller), digested and signed into a [`Prepared`] release.
//! - [`images`]: the release's images resolved to digests in their registries, and checked.
//! - [`destination`]: where objects go, behind one [`Destination`] interface: a directory,
//!   S3 (object_store), a GitHub release, a GitLab generic package.
//! - [`publish()`]: the one publication order (versioned objects written and read back before
//!   the stable pair), with retries of transient failures.
//! - [`verify`]: the consumer's reader, streaming with byte limits.
//!
//! Progress goes to a [`PublishObserver`]; nothing is printed. Configuration (tokens, API
//! URLs, `AWS_*` settings, key passwords) comes in from the caller: the crate reads no
//! environment variables and starts no async runtime.

pub mod destination;
mod error;
pub mod images;
pub mod manifest;
mod object;
mod observer;
mod publish;
pub mod verify;

pub use destination::{Destination, Location};
pub use error::{Error, HostError};
pub use manifest::{ManifestKey, Plan, Prepared};
pub use object::{Content, Digests, Object, write_file};
pub use observer::{Progress, PublishObserver, Silent};
pub use publish::{Options, Published, publish};

#[cfg(test)]
mod tests;
