//! OCI images without a daemon: layers written in one pass (tar → compression → SHA-256),
//! assembled with a base image's layers reused as they are, and saved as an OCI layout, an
//! oci-archive, a docker-archive, or flattened into a root-filesystem tarball.
//!
//! Every output is reproducible: entries sorted, times from `SOURCE_DATE_EPOCH`, owners 0,
//! normalised modes, JSON with sorted keys, and compression whose bytes depend only on the
//! input.

pub mod base;
mod blob;
mod compression;
mod error;
pub mod image;
mod json;
mod layer;
pub mod output;
mod platform;
pub mod rootfs;
pub mod staging;

pub use blob::{BlobStore, BlobWriter};
pub use boxwright_archive::Owner;
pub use compression::{Compression, DEFAULT_GZIP_LEVEL};
pub use error::Error;
pub use image::{
    ContainerSettings, ImageInput, Layout, PlatformInput, PlatformOutput, write_layout,
};
pub use layer::{LayerEntry, LayerSpec, WrittenLayer, write_layer};
pub use oci_spec::image::MediaType;
pub use output::{Format, Written, write};
pub use platform::PlatformSpec;
