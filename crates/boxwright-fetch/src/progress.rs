//! Download progress: the observer of `boxwright-archive`, which every crate with long work
//! shares (registry push and pull, image build, sbom, repository uploads).

pub use boxwright_archive::progress::{NoProgress, Progress, ProgressItem};
