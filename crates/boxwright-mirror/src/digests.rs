//! The per-platform image digests a merge takes: given ones, and the digest files the build
//! jobs wrote (`mirror build --digest-file`), collected into one directory.

use std::path::{Path, PathBuf};

use crate::Error;

/// `given` and then the digests in the files of `dir` (by file name; whitespace-separated),
/// each checked to be a `sha256:` digest; an error when there are none.
pub fn merge_digests(given: &[String], dir: Option<&Path>) -> Result<Vec<String>, Error> {
    let mut digests = given.to_vec();
    if let Some(dir) = dir {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io("read the digest directory", dir))?
            .map(|entry| entry.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .map_err(io("read the digest directory", dir))?;
        files.sort();
        for file in files.iter().filter(|f| f.is_file()) {
            let text = std::fs::read_to_string(file).map_err(io("read", file))?;
            digests.extend(text.split_whitespace().map(String::from));
        }
    }
    if digests.is_empty() {
        return Err(Error::NoDigests);
    }
    if let Some(digest) = digests.iter().find(|d| !is_sha256_digest(d)) {
        return Err(Error::InvalidDigest {
            digest: digest.clone(),
        });
    }
    Ok(digests)
}

/// The error maker for `action` on `path`.
fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_path_buf();
    move |source| Error::Io {
        action,
        path,
        source,
    }
}

fn is_sha256_digest(text: &str) -> bool {
    text.strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(c: char) -> String {
        format!("sha256:{}", c.to_string().repeat(64))
    }

    #[test]
    fn given_digests_come_first_then_the_files_by_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b"), format!("{}\n", digest('b'))).unwrap();
        std::fs::write(dir.path().join("a"), format!("{} ", digest('a'))).unwrap();
        let digests = merge_digests(&[digest('c')], Some(dir.path())).unwrap();
        assert_eq!(digests, [digest('c'), digest('a'), digest('b')]);
    }

    #[test]
    fn none_or_a_malformed_digest_is_an_error() {
        assert!(matches!(merge_digests(&[], None), Err(Error::NoDigests)));
        let error = merge_digests(&["sha256:abc".into()], None).unwrap_err();
        assert!(matches!(error, Error::InvalidDigest { digest } if digest == "sha256:abc"));
    }
}
