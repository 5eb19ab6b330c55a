//! What the fuzz targets share: a scratch directory for the files the readers open.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A directory private to this fuzzing process, under `TMPDIR` (scripts/fuzz.sh points it
/// at a tmpfs and removes it afterwards). libFuzzer ends the process without running
/// destructors, so the directory is named by process id rather than held by a guard.
pub fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("boxwright-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("the scratch directory can be made");
        dir
    })
}
