//! The runtime proof: the built binary runs in an empty root (only itself mounted: no
//! /lib, no /usr, no network). Exit 0 there shows it needs no file at run time.

use std::io::{Read, Seek};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::toolchain::which;
use crate::{Arch, Error, Sandbox};

const TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `smoke` (`[path under dest, args...]`); returns the command as shown to users.
pub fn run(sandbox: &Sandbox, dest: &Path, smoke: &[String], arch: Arch) -> Result<String, Error> {
    let (relative, args) = smoke
        .split_first()
        .expect("caller checked smoke is not empty");
    let file = dest.join(relative);
    if !file.is_file() {
        return Err(Error::SmokeMissing { path: file });
    }
    let emulator = if Arch::host() == Some(arch) {
        None
    } else {
        Some(which(arch.qemu()).ok_or_else(|| Error::MissingTool {
            tool: arch.qemu().into(),
            install: "apt-get install qemu-user-static".into(),
        })?)
    };
    let shown = smoke.join(" ");
    let mut output = tempfile::tempfile().map_err(|source| Error::Io {
        path: std::env::temp_dir(),
        source,
    })?;
    let clone = |f: &std::fs::File| {
        f.try_clone().map_err(|source| Error::Io {
            path: std::env::temp_dir(),
            source,
        })
    };
    let mut child = sandbox
        .empty_root_command(&file, relative, args, emulator.as_deref())
        .stdin(std::process::Stdio::null())
        .stdout(clone(&output)?)
        .stderr(clone(&output)?)
        .spawn()
        .map_err(|source| Error::Spawn {
            program: shown.clone(),
            source,
        })?;
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|source| Error::Spawn {
            program: shown.clone(),
            source,
        })? {
            break Ok(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break Err(format!("no exit within {} s", TIMEOUT.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut text = String::new();
    let _ = output.rewind();
    let _ = output.take(64 * 1024).read_to_string(&mut text);
    match status {
        Ok(status) if status.success() => Ok(shown),
        Ok(status) => Err(Error::SmokeFailed {
            command: shown,
            status: status.to_string(),
            output: text,
        }),
        Err(status) => Err(Error::SmokeFailed {
            command: shown,
            status,
            output: text,
        }),
    }
}
