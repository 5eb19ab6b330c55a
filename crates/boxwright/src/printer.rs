//! The only place that writes to stdout. Progress and logs go to stderr.

use std::io::{self, Write};

use serde::Serialize;

/// Writes results to stdout (text or JSON) and messages to stderr.
pub struct Printer {
    pub json: bool,
    quiet: bool,
    verbose: bool,
}

#[allow(
    clippy::unused_self,
    reason = "all output goes through the printer, even where it keeps no state"
)]
impl Printer {
    pub fn new(json: bool, quiet: bool, verbose: bool) -> Self {
        Printer {
            json,
            quiet,
            verbose,
        }
    }

    /// A line of text output on stdout. A closed pipe is not an error.
    pub fn line(&self, text: impl std::fmt::Display) {
        ignore_broken_pipe(writeln!(io::stdout().lock(), "{text}"));
    }

    /// Text on stdout exactly as given (no newline added). A closed pipe is not an error.
    pub fn raw(&self, text: &str) {
        ignore_broken_pipe(io::stdout().lock().write_all(text.as_bytes()));
    }

    /// A JSON document on stdout.
    pub fn json(&self, value: &impl Serialize) {
        let text = serde_json::to_string_pretty(value).expect("output types serialise");
        self.line(text);
    }

    /// A JSON document on one line of stdout (a stream of JSON lines, as `serve --json` prints).
    pub fn json_line(&self, value: &impl Serialize) {
        let text = serde_json::to_string(value).expect("output types serialise");
        let mut out = io::stdout().lock();
        ignore_broken_pipe(writeln!(out, "{text}").and_then(|()| out.flush()));
    }

    /// A document on stdout, byte for byte.
    pub fn bytes(&self, bytes: &[u8]) {
        let mut out = io::stdout().lock();
        ignore_broken_pipe(out.write_all(bytes).and_then(|()| out.flush()));
    }

    /// A progress or status message on stderr (hidden by --quiet).
    pub fn info(&self, text: impl std::fmt::Display) {
        if !self.quiet {
            ignore_broken_pipe(writeln!(io::stderr().lock(), "{text}"));
        }
    }

    /// A detail on stderr shown with --verbose.
    pub fn detail(&self, text: impl std::fmt::Display) {
        if self.verbose {
            ignore_broken_pipe(writeln!(io::stderr().lock(), "{text}"));
        }
    }

    /// Why a check failed, on stderr (shown even with --quiet).
    pub fn failure(&self, text: impl std::fmt::Display) {
        ignore_broken_pipe(writeln!(io::stderr().lock(), "{text}"));
    }

    pub fn quiet(&self) -> bool {
        self.quiet
    }

    /// Whether `--verbose` was given.
    pub fn verbose(&self) -> bool {
        self.verbose
    }

    /// An error: the first line names what failed (with a buried network or I/O root cause
    /// brought forward), then the context, the retry count, and a hint where one is known.
    /// Under `--json` the same report is also the one `{"error": ...}` document on stdout.
    pub fn error(&self, error: &anyhow::Error) {
        self.report(&crate::report::ErrorReport::new(error));
    }

    /// One of several failures of a command that goes on (a download, a build, a file): on
    /// stderr only, so that stdout keeps one document; the command ends with [`Printer::error`].
    pub fn failed(&self, error: &anyhow::Error) {
        Self::text(&crate::report::ErrorReport::new(error));
    }

    fn report(&self, report: &crate::report::ErrorReport) {
        if self.json {
            self.json(&crate::report::Envelope { error: report });
        }
        Self::text(report);
    }

    fn text(report: &crate::report::ErrorReport) {
        let mut err = io::stderr().lock();
        let _ = writeln!(err, "error: {}", report.message);
        for cause in &report.causes {
            let _ = writeln!(err, "  caused by: {cause}");
        }
        if let Some(hint) = &report.hint {
            let _ = writeln!(err, "hint: {hint}");
        }
    }
}

fn ignore_broken_pipe(result: io::Result<()>) {
    if let Err(e) = result
        && e.kind() == io::ErrorKind::BrokenPipe
    {
        std::process::exit(0);
    }
}
