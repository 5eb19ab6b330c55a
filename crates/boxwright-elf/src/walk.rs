//! Turning the paths a user gives into the files to inspect.

use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use crate::Error;

/// The regular files named by `roots`, in order: a file as itself (a symbolic link given by
/// name is followed), a directory as every regular file below it, sorted by name. Symbolic
/// links met while walking are not followed and not reported, nor are devices, FIFOs and
/// sockets.
pub fn files(roots: &[PathBuf]) -> Result<Vec<PathBuf>, Error> {
    let mut files = Vec::new();
    visit(roots, |path| files.push(path))?;
    Ok(files)
}

/// Calls `found` with each of [`files`], as soon as the walk finds it.
pub fn visit(roots: &[PathBuf], mut found: impl FnMut(PathBuf)) -> Result<(), Error> {
    for root in roots {
        let metadata = std::fs::metadata(root).map_err(|source| Error::Read {
            path: root.clone(),
            source,
        })?;
        if metadata.is_file() {
            found(root.clone());
        } else if metadata.is_dir() {
            walk(root, &mut found)?;
        } else {
            return Err(Error::NotAFile { path: root.clone() });
        }
    }
    Ok(())
}

fn walk(root: &Path, found: &mut impl FnMut(PathBuf)) -> Result<(), Error> {
    for entry in WalkDir::new(root).follow_links(false).sort_by_file_name() {
        let entry = entry.map_err(|error| Error::Read {
            path: error.path().unwrap_or(root).to_path_buf(),
            source: error.into(),
        })?;
        if entry.file_type().is_file() {
            found(entry.into_path());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_sorted_regular_files_without_following_links() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("b/inner")).unwrap();
        for name in ["z", "a", "b/inner/c", "b/0"] {
            std::fs::write(root.join(name), name).unwrap();
        }
        std::os::unix::fs::symlink(root.join("a"), root.join("link-to-a")).unwrap();
        std::os::unix::fs::symlink(root.join("b"), root.join("link-to-b")).unwrap();

        let found = files(&[root.to_path_buf(), root.join("link-to-a")]).unwrap();
        let relative: Vec<_> = found
            .iter()
            .map(|p| p.strip_prefix(root).unwrap().to_str().unwrap())
            .collect();
        assert_eq!(relative, ["a", "b/0", "b/inner/c", "z", "link-to-a"]);
    }

    #[test]
    fn missing_path_is_an_error_naming_it() {
        let error = files(&[PathBuf::from("/nonexistent/boxwright")]).unwrap_err();
        assert_eq!(error.to_string(), "cannot read /nonexistent/boxwright");
    }
}
