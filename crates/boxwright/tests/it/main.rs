//! Integration tests: they drive the real `boxwright` binary.

mod build;
mod depends;
mod fetch;
mod image;
mod metadata;
mod registry;
mod release;
mod sbom;
mod seed000;
mod source;
mod support;
mod vendor;
mod verify;
