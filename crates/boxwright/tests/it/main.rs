//! Integration tests: they drive the real `boxwright` binary.

mod architecture;
mod build;
mod ci;
mod depends;
mod distro_release;
mod fetch;
mod hostile;
mod image;
mod image_packages;
mod metadata;
mod package;
mod publish;
mod publish_github;
mod publish_gitlab;
mod publish_s3;
mod registry;
mod release;
mod sbom;
mod seed000;
mod serve;
mod sign;
mod source;
mod subject;
mod support;
mod vendor;
mod verify;
