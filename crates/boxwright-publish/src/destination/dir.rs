//! A directory: objects written under a temporary name and renamed into place.

use std::path::PathBuf;

use boxwright_release::manifest;

use super::Destination;
use crate::object::{Content, Digests, write_file};
use crate::{Error, Progress};

/// A directory holding a target's objects (`DIR/<target>/`).
pub struct DirDestination(pub PathBuf);

impl Destination for DirDestination {
    fn name(&self, relative: &str) -> String {
        self.0.join(relative).display().to_string()
    }

    async fn digests(&self, relative: &str) -> Result<Option<Digests>, Error> {
        let path = self.0.join(relative);
        if !path.exists() {
            return Ok(None);
        }
        let (size, sha256, _) =
            manifest::file_digests(&path).map_err(|source| Error::Read { path, source })?;
        Ok(Some(Digests { size, sha256 }))
    }

    async fn put(
        &self,
        relative: &str,
        content: &Content<'_>,
        _progress: &Progress,
    ) -> Result<(), Error> {
        // One local write: nothing to report on the way.
        write_file(&self.0.join(relative), content)
    }
}
