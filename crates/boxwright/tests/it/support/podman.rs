//! A podman with private storage for tests.

use std::process::{Command, Stdio};

use super::require_tool;

/// A podman with its own storage, run directory and configuration, so tests share nothing.
/// runc, cgroupfs and ulimits below the hard limits: what this kind of machine needs for
/// `podman run` (crun refuses containers here).
pub struct Podman {
    dir: tempfile::TempDir,
}

impl Podman {
    pub fn new() -> Self {
        require_tool("podman", "apt-get install podman");
        require_tool("runc", "apt-get install runc");
        let dir = tempfile::tempdir().unwrap();
        let tmp = dir.path().join("tmp");
        std::fs::create_dir(&tmp).unwrap();
        std::fs::write(
            dir.path().join("containers.conf"),
            format!(
                "[containers]\n\
                 default_ulimits = [\"nofile=4096:4096\", \"nproc=4096:4096\"]\n\
                 [engine]\n\
                 runtime = \"runc\"\n\
                 cgroup_manager = \"cgroupfs\"\n\
                 events_logger = \"none\"\n\
                 image_copy_tmp_dir = \"{}\"\n",
                tmp.display()
            ),
        )
        .unwrap();
        Podman { dir }
    }

    pub fn cmd(&self) -> Command {
        let mut command = Command::new("podman");
        let dir = self.dir.path();
        command
            .env("CONTAINERS_CONF", dir.join("containers.conf"))
            .env("TMPDIR", dir.join("tmp"))
            .arg("--root")
            .arg(dir.join("storage"))
            .arg("--runroot")
            .arg(dir.join("run"))
            .arg("--tmpdir")
            .arg(dir.join("libpod"))
            .args(["--storage-driver", "vfs"]);
        command
    }

    /// `podman image ls`: `(repository:tag, full image id)` pairs.
    pub fn images(&self) -> Vec<(String, String)> {
        run(self.cmd().args([
            "image",
            "ls",
            "--no-trunc",
            "--format",
            "{{.Repository}}:{{.Tag}} {{.ID}}",
        ]))
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(name, id)| (name.to_string(), id.to_string()))
        .collect()
    }
}

/// Runs `command` (stdin closed), asserts success and returns its stdout.
pub fn run(command: &mut Command) -> String {
    let out = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        out.status.success(),
        "{command:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
