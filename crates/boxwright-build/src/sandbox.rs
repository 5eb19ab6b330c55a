//! Where a recipe runs: inside bubblewrap (no network, host read-only, only the work
//! directory writable, a clean environment) or directly on the host.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;

use crate::Error;
use crate::toolchain::which;

/// The sandbox choice of the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SandboxChoice {
    /// bubblewrap when installed, else the host.
    #[default]
    Auto,
    Bwrap,
    None,
}

impl std::str::FromStr for SandboxChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(SandboxChoice::Auto),
            "bwrap" => Ok(SandboxChoice::Bwrap),
            "none" => Ok(SandboxChoice::None),
            other => Err(format!(
                "unknown sandbox `{other}` (known: auto, bwrap, none)"
            )),
        }
    }
}

/// A resolved sandbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "program")]
pub enum Sandbox {
    Bwrap(PathBuf),
    Host,
}

/// Where the work directory appears inside the bubblewrap sandbox, whatever its real place.
pub const SANDBOX_WORK: &str = "/tmp/build";
/// Where the project appears inside the bubblewrap sandbox.
pub const SANDBOX_PROJECT: &str = "/tmp/project";

impl Sandbox {
    /// The paths a recipe sees for the work directory and the project. Inside bubblewrap they
    /// are fixed (`/tmp/build`, `/tmp/project`), so nothing a build records (debug paths,
    /// configure lines such as `nginx -V`'s, Rust panic locations) depends on where the
    /// project is; on the host they are the real ones.
    pub fn visible(&self, work: &Path, project: &Path) -> (PathBuf, PathBuf) {
        match self {
            Sandbox::Bwrap(_) => (PathBuf::from(SANDBOX_WORK), PathBuf::from(SANDBOX_PROJECT)),
            Sandbox::Host => (work.to_path_buf(), project.to_path_buf()),
        }
    }

    /// `path` (under `work` or `project` on the host) as the recipe sees it.
    pub fn translate(&self, path: &Path, work: &Path, project: &Path) -> PathBuf {
        let (visible_work, visible_project) = self.visible(work, project);
        if let Ok(rest) = path.strip_prefix(work) {
            visible_work.join(rest)
        } else if let Ok(rest) = path.strip_prefix(project) {
            visible_project.join(rest)
        } else {
            path.to_path_buf()
        }
    }

    /// Resolves the choice against what is installed.
    pub fn resolve(choice: SandboxChoice) -> Result<Sandbox, Error> {
        match (choice, which("bwrap")) {
            (SandboxChoice::None, _) | (SandboxChoice::Auto, None) => Ok(Sandbox::Host),
            (_, Some(bwrap)) => Ok(Sandbox::Bwrap(bwrap)),
            (SandboxChoice::Bwrap, None) => Err(Error::MissingTool {
                tool: "bwrap".into(),
                install: "apt-get install bubblewrap".into(),
            }),
        }
    }

    /// A command running `argv` with exactly `env`, writable `work`, cwd `work`. In the
    /// sandbox `/tmp` is private and empty, `work` appears at [`SANDBOX_WORK`] and `project`
    /// read-only at [`SANDBOX_PROJECT`] (see [`Sandbox::visible`]); the `read_only` paths
    /// inside `work` are not writable. `argv` and `env` use the visible paths.
    pub fn command(
        &self,
        project: &Path,
        work: &Path,
        read_only: &[PathBuf],
        env: &BTreeMap<String, String>,
        argv: &[String],
    ) -> Command {
        let mut command = match self {
            Sandbox::Bwrap(bwrap) => {
                let mut c = Command::new(bwrap);
                c.args([
                    "--ro-bind",
                    "/",
                    "/",
                    "--dev",
                    "/dev",
                    "--proc",
                    "/proc",
                    "--tmpfs",
                    "/tmp",
                ])
                .arg("--ro-bind")
                .arg(project)
                .arg(SANDBOX_PROJECT)
                .arg("--bind")
                .arg(work)
                .arg(SANDBOX_WORK);
                for path in read_only {
                    c.arg("--ro-bind")
                        .arg(path)
                        .arg(self.translate(path, work, project));
                }
                c.args([
                    "--unshare-all",
                    "--die-with-parent",
                    "--new-session",
                    "--chdir",
                    SANDBOX_WORK,
                ])
                .arg("--")
                .args(argv);
                c
            }
            Sandbox::Host => {
                let mut c = Command::new(&argv[0]);
                c.args(&argv[1..]).current_dir(work);
                c
            }
        };
        command.env_clear().envs(env);
        command
    }

    /// A command running `file` (inside the root as `/<inside>`) with `args` in an empty
    /// root: a fresh tmpfs holding only that file (and `emulator` when given), no network.
    pub fn empty_root_command(
        &self,
        file: &Path,
        inside: &str,
        args: &[String],
        emulator: Option<&Path>,
    ) -> Command {
        let inside = format!("/{}", inside.trim_start_matches('/'));
        match self {
            Sandbox::Bwrap(bwrap) => {
                let mut c = Command::new(bwrap);
                c.args([
                    "--unshare-all",
                    "--die-with-parent",
                    "--new-session",
                    "--tmpfs",
                    "/",
                ])
                .args(["--dev", "/dev", "--proc", "/proc", "--ro-bind"])
                .arg(file)
                .arg(&inside);
                match emulator {
                    Some(qemu) => {
                        c.arg("--ro-bind")
                            .arg(qemu)
                            .arg("/qemu")
                            .args(["--", "/qemu", &inside]);
                    }
                    None => {
                        c.args(["--", &inside]);
                    }
                }
                c.args(args).env_clear();
                c
            }
            Sandbox::Host => {
                let mut c = match emulator {
                    Some(qemu) => {
                        let mut c = Command::new(qemu);
                        c.arg(file);
                        c
                    }
                    None => Command::new(file),
                };
                c.args(args).env_clear();
                c
            }
        }
    }
}
