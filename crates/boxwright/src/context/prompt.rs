//! Reading a new password from the terminal, echo off, as cosign and ssh-keygen do.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context, bail};
use boxwright_sign::Zeroizing;
use rustix::termios::{LocalModes, OptionalActions, Termios, tcgetattr, tcsetattr};

/// Whether standard input is a terminal a password can be asked on.
pub fn can_prompt() -> bool {
    std::io::stdin().is_terminal()
}

/// Asks twice on the terminal (prompts on stderr) for the password of a new private key;
/// refuses an empty one and two that differ.
pub fn new_password(what: &str) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let first = read_hidden(&format!("Enter password for {what}: "))?;
    if first.is_empty() {
        bail!(
            "an empty password is refused: type one, or give --no-password for a key without \
             a password"
        );
    }
    let again = read_hidden(&format!("Enter password for {what} again: "))?;
    if *first != *again {
        bail!("the passwords do not match");
    }
    Ok(first)
}

/// Restores the terminal's settings when dropped, also on errors.
struct EchoOff(Termios);

impl Drop for EchoOff {
    fn drop(&mut self) {
        let _ = tcsetattr(std::io::stdin(), OptionalActions::Now, &self.0);
    }
}

/// One line from the terminal with echo off, without its line break.
fn read_hidden(prompt: &str) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let stdin = std::io::stdin();
    let saved = tcgetattr(&stdin).context("cannot read the terminal's settings")?;
    let mut quiet = saved.clone();
    quiet.local_modes.remove(LocalModes::ECHO);
    quiet.local_modes.insert(LocalModes::ECHONL);
    tcsetattr(&stdin, OptionalActions::Now, &quiet).context("cannot turn the echo off")?;
    let _restore = EchoOff(saved);
    let mut stderr = std::io::stderr();
    let _ = write!(stderr, "{prompt}");
    let _ = stderr.flush();
    let mut line = Zeroizing::new(Vec::new());
    stdin
        .lock()
        .read_until(b'\n', &mut line)
        .context("cannot read the password from the terminal")?;
    super::strip_line_break(&mut line);
    Ok(line)
}
