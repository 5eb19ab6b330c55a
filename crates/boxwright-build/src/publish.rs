//! Replacing a target's output directory as a whole.

use std::path::Path;

use crate::Error;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + use<> {
    let path = path.to_path_buf();
    move |source| Error::Io { path, source }
}

/// Moves `staged` to `output`, replacing what was there. The old output stays in place
/// until the new one is complete next to it; the swap is two renames.
pub fn publish(staged: &Path, output: &Path) -> Result<(), Error> {
    let parent = output.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io(parent))?;
    let name = output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Stage next to the output so the final rename stays on one filesystem.
    let incoming = tempfile::Builder::new()
        .prefix(&format!(".{name}.new-"))
        .tempdir_in(parent)
        .map_err(io(parent))?;
    let incoming_path = incoming.path().join("out");
    if std::fs::rename(staged, &incoming_path).is_err() {
        // A rename cannot cross filesystems: copy instead.
        crate::sysroot::copy_into(staged, &incoming_path)?;
    }
    let old = parent.join(format!(".{name}.old-{}", std::process::id()));
    let had_old = match std::fs::rename(output, &old) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(io(output)(e)),
    };
    if let Err(e) = std::fs::rename(&incoming_path, output) {
        if had_old {
            let _ = std::fs::rename(&old, output);
        }
        return Err(io(output)(e));
    }
    if had_old {
        std::fs::remove_dir_all(&old).map_err(io(&old))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_whole_directory() {
        let dir = tempfile::tempdir().unwrap();
        let output = dir.path().join(".out/t");
        std::fs::create_dir_all(output.join("old")).unwrap();
        let staged = dir.path().join("staged");
        std::fs::create_dir_all(staged.join("bin")).unwrap();
        std::fs::write(staged.join("bin/x"), b"new").unwrap();
        publish(&staged, &output).unwrap();
        assert!(!output.join("old").exists());
        assert_eq!(std::fs::read(output.join("bin/x")).unwrap(), b"new");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join(".out"))
            .unwrap()
            .collect();
        assert_eq!(leftovers.len(), 1, "{leftovers:?}");
    }
}
