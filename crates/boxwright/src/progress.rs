//! Progress on stderr: bars on a terminal, plain lines (downloads) or nothing otherwise.
//!
//! The libraries report to `boxwright_archive::progress::Progress`; this module is its only
//! implementation that draws. Bars appear only when stderr is a terminal, without `-q` or
//! `--json` (`hidden`), and outside CI (`CI` unset, empty, `false` or `0`).

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use boxwright_fetch::{NoProgress, Progress, ProgressItem};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

/// Transfers and passes below this many bytes get no bar: they end before one would help.
pub const BAR_THRESHOLD: u64 = 8 << 20;

/// Whether bars may be drawn: stderr is a terminal, nothing hides them (`-q`, `--json`) and
/// `CI` does not say this is a CI job.
pub fn bars_allowed(hidden: bool) -> bool {
    !hidden && std::io::stderr().is_terminal() && !in_ci()
}

/// `CI` set to anything but "", "false" or "0" (as CI services set it).
fn in_ci() -> bool {
    crate::context::var("CI").is_some_and(|value| !matches!(value.as_str(), "" | "false" | "0"))
}

/// The download reporter fitting stderr and the verbosity: bars, else a line per download.
pub fn reporter(quiet: bool) -> Box<dyn Progress> {
    if quiet {
        Box::new(NoProgress)
    } else if bars_allowed(false) {
        Box::new(Bars::new(0))
    } else {
        Box::new(Lines)
    }
}

/// The reporter of pushes, pulls, uploads, compression and archive reads: bars for work of
/// at least [`BAR_THRESHOLD`] bytes when [`bars_allowed`], else nothing (off a terminal the
/// commands print the lines they always printed, no per-chunk lines).
pub fn transfers(hidden: bool) -> Arc<dyn Progress> {
    if bars_allowed(hidden) {
        Arc::new(Bars::new(BAR_THRESHOLD))
    } else {
        Arc::new(NoProgress)
    }
}

/// A byte bar for one upload of `total` bytes: drawn on a terminal, hidden otherwise (and
/// when `hidden`, for --quiet and --json). Cloned into the code that sends the bytes.
pub fn upload_bar(name: &str, total: u64, hidden: bool) -> ProgressBar {
    if !bars_allowed(hidden) {
        return ProgressBar::hidden();
    }
    byte_bar(total).with_message(format!("uploading {name}"))
}

/// A bar over `total` bytes: name, bar, bytes so far, percentage, rate and time left.
fn byte_bar(total: u64) -> ProgressBar {
    ProgressBar::new(total).with_style(
        ProgressStyle::with_template(
            "{msg:30!} {bar:30} {bytes:>10}/{total_bytes:10} {percent:>3}% {bytes_per_sec:>12} {eta:>4}",
        )
        .expect("valid template"),
    )
}

/// Bars under one `MultiProgress`, for work of at least `threshold` bytes; work of unknown
/// size gets a spinner with the bytes so far.
struct Bars {
    multi: MultiProgress,
    threshold: u64,
}

impl Bars {
    fn new(threshold: u64) -> Bars {
        Bars {
            multi: MultiProgress::new(),
            threshold,
        }
    }
}

impl Progress for Bars {
    fn begin(&self, name: &str, total: Option<u64>) -> Box<dyn ProgressItem> {
        // Small known work gets no bar; work of unknown size (the files of an image being
        // hashed) a spinner with the bytes so far.
        if total.is_some_and(|total| total < self.threshold) {
            return Box::new(NoProgress);
        }
        let bar = match total {
            Some(total) => byte_bar(total),
            None => ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{msg:30!} {spinner} {bytes:>10} {bytes_per_sec:>12}")
                    .expect("valid template"),
            ),
        };
        let bar = self.multi.add(bar.with_message(name.to_string()));
        Box::new(BarItem(bar))
    }

    fn retry(
        &self,
        name: &str,
        attempt: u32,
        error: &(dyn std::error::Error + 'static),
        wait: Duration,
    ) {
        let _ = self.multi.println(retry_line(name, attempt, error, wait));
    }
}

struct BarItem(ProgressBar);

impl ProgressItem for BarItem {
    fn advance(&self, bytes: u64) {
        self.0.inc(bytes);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

struct Lines;

impl Progress for Lines {
    fn begin(&self, name: &str, total: Option<u64>) -> Box<dyn ProgressItem> {
        match total {
            Some(total) => eprintln!("downloading {name} ({total} bytes)"),
            None => eprintln!("downloading {name}"),
        }
        Box::new(NoProgress)
    }

    fn retry(
        &self,
        name: &str,
        attempt: u32,
        error: &(dyn std::error::Error + 'static),
        wait: Duration,
    ) {
        eprintln!("{}", retry_line(name, attempt, error, wait));
    }
}

fn retry_line(
    name: &str,
    attempt: u32,
    error: &(dyn std::error::Error + 'static),
    wait: Duration,
) -> String {
    let mut reason = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        // HTTP client chains repeat their causes' text: each once.
        let text = cause.to_string();
        if !reason.contains(&text) {
            reason.push_str(": ");
            reason.push_str(&text);
        }
        source = cause.source();
    }
    format!(
        "attempt {attempt} for {name} failed ({reason}); retrying in {:.1}s",
        wait.as_secs_f64()
    )
}

/// Build progress for one target: which step and for how long; a spinner per running target
/// on a terminal, a line per step otherwise. Recipe output is shown with `--verbose`.
pub struct BuildProgress<'a> {
    target: String,
    started: std::time::Instant,
    bar: Option<ProgressBar>,
    multi: Option<&'a MultiProgress>,
    printer: &'a crate::printer::Printer,
}

/// The spinners of one `build` command (none when stderr is not a terminal or with `-q`).
pub fn build_spinners(quiet: bool) -> Option<MultiProgress> {
    bars_allowed(quiet).then(MultiProgress::new)
}

impl<'a> BuildProgress<'a> {
    pub fn new(
        target: &str,
        multi: Option<&'a MultiProgress>,
        printer: &'a crate::printer::Printer,
    ) -> Self {
        let bar = multi.map(|multi| {
            let bar = multi.add(
                ProgressBar::new_spinner().with_style(
                    ProgressStyle::with_template("{spinner} {prefix:16!} {msg:24!} {elapsed:>5}")
                        .expect("valid template"),
                ),
            );
            bar.set_prefix(target.to_string());
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        BuildProgress {
            target: target.to_string(),
            started: std::time::Instant::now(),
            bar,
            multi,
            printer,
        }
    }

    /// Ends the spinner and prints `message` in its place.
    pub fn finish(&self, message: &str) {
        match (&self.bar, self.multi) {
            (Some(bar), Some(multi)) => {
                bar.finish_and_clear();
                multi.remove(bar);
                self.printer.info(message);
            }
            _ => self.printer.info(message),
        }
    }
}

impl boxwright_build::Observer for BuildProgress<'_> {
    fn step(&self, step: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(step.to_string()),
            None => self.printer.info(format!(
                "{}: {step} ({:.0} s)",
                self.target,
                self.started.elapsed().as_secs_f64()
            )),
        }
    }

    fn line(&self, line: &str) {
        let text = format!("{}| {line}", self.target);
        match self.multi {
            Some(multi) if self.printer.verbose() => {
                let _ = multi.println(text);
            }
            _ => self.printer.detail(text),
        }
    }
}
