//! Download progress on stderr: bars on a terminal, plain lines otherwise.

use std::io::IsTerminal;
use std::time::Duration;

use boxwright_fetch::{Error, NoProgress, Progress, ProgressItem};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

/// The progress reporter fitting stderr and the verbosity.
pub fn reporter(quiet: bool) -> Box<dyn Progress> {
    if quiet {
        Box::new(NoProgress)
    } else if std::io::stderr().is_terminal() {
        Box::new(Bars(MultiProgress::new()))
    } else {
        Box::new(Lines)
    }
}

/// A byte bar for one upload of `total` bytes: drawn on a terminal, hidden otherwise (and
/// when `hidden`, for --quiet and --json). Cloned into the code that sends the bytes.
pub fn upload_bar(name: &str, total: u64, hidden: bool) -> ProgressBar {
    if hidden || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    ProgressBar::new(total)
        .with_style(
            ProgressStyle::with_template(
                "{msg:40!} {bar:30} {bytes:>10}/{total_bytes:10} {bytes_per_sec:>12} {eta:>4}",
            )
            .expect("valid template"),
        )
        .with_message(format!("uploading {name}"))
}

struct Bars(MultiProgress);

impl Progress for Bars {
    fn begin(&self, name: &str, total: Option<u64>) -> Box<dyn ProgressItem + '_> {
        let bar = match total {
            Some(total) => ProgressBar::new(total).with_style(
                ProgressStyle::with_template(
                    "{msg:30!} {bar:30} {bytes:>10}/{total_bytes:10} {bytes_per_sec:>12} {eta:>4}",
                )
                .expect("valid template"),
            ),
            None => ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{msg:30!} {spinner} {bytes:>10} {bytes_per_sec:>12}")
                    .expect("valid template"),
            ),
        };
        let bar = self.0.add(bar.with_message(name.to_string()));
        Box::new(BarItem(bar))
    }

    fn retry(&self, name: &str, attempt: u32, error: &Error, wait: Duration) {
        let _ = self.0.println(retry_line(name, attempt, error, wait));
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
    fn begin(&self, name: &str, total: Option<u64>) -> Box<dyn ProgressItem + '_> {
        match total {
            Some(total) => eprintln!("downloading {name} ({total} bytes)"),
            None => eprintln!("downloading {name}"),
        }
        Box::new(NoProgress)
    }

    fn retry(&self, name: &str, attempt: u32, error: &Error, wait: Duration) {
        eprintln!("{}", retry_line(name, attempt, error, wait));
    }
}

fn retry_line(name: &str, attempt: u32, error: &Error, wait: Duration) -> String {
    let mut reason = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        reason.push_str(": ");
        reason.push_str(&cause.to_string());
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
    (!quiet && std::io::stderr().is_terminal()).then(MultiProgress::new)
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
