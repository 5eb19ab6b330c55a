//! Files and directories the image code makes (accounts, services), with their exact modes
//! and owners; the caller turns them into layer entries.

/// What a generated path is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GeneratedKind {
    Directory,
    File(Vec<u8>),
}

/// One generated path of the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedEntry {
    /// Absolute path in the image.
    pub path: String,
    pub kind: GeneratedKind,
    /// Permission bits.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

impl GeneratedEntry {
    pub(crate) fn file(path: &str, contents: Vec<u8>, mode: u32, (uid, gid): (u32, u32)) -> Self {
        GeneratedEntry {
            path: path.to_string(),
            kind: GeneratedKind::File(contents),
            mode,
            uid,
            gid,
        }
    }

    pub(crate) fn directory(path: &str, mode: u32, (uid, gid): (u32, u32)) -> Self {
        GeneratedEntry {
            path: path.to_string(),
            kind: GeneratedKind::Directory,
            mode,
            uid,
            gid,
        }
    }

    /// The file's contents, for a file.
    pub fn contents(&self) -> Option<&[u8]> {
        match &self.kind {
            GeneratedKind::File(bytes) => Some(bytes),
            GeneratedKind::Directory => None,
        }
    }
}
