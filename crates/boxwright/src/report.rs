//! An error as it is shown: the headline (what failed, with a buried network or I/O root
//! cause brought forward), the context lines, the retry count, and a hint. The same report is
//! printed as text on stderr and, under `--json`, as the `{"error": ...}` object on stdout.

use std::error::Error as StdError;

use serde::Serialize;

use crate::exit::{self, ErrorKind};

/// The `{"error": ...}` document (docs/schemas/error.schema.json).
#[derive(Debug, Serialize)]
pub struct Envelope<'a> {
    pub error: &'a ErrorReport,
}

/// One failure, ready to print.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct ErrorReport {
    pub kind: ErrorKind,
    /// The first line: what failed and, for a network or I/O failure, the root cause.
    pub message: String,
    /// What was being done, outermost first; the retry count comes last.
    pub causes: Vec<String>,
    pub hint: Option<String>,
}

impl ErrorReport {
    /// The report of an error a command returned.
    pub fn new(error: &anyhow::Error) -> Self {
        let chain: Vec<&(dyn StdError + 'static)> = error.chain().collect();
        let (message, causes) = match root_cause(&chain) {
            Some(root) => with_root_first(&chain, &root),
            None => plain(&chain),
        };
        ErrorReport {
            kind: exit::kind(error),
            message,
            causes,
            hint: exit::hint(error),
        }
    }

    /// The report of a command line clap refused (exit 2).
    pub fn usage(error: &clap::Error) -> Self {
        if error.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
            return ErrorReport {
                kind: ErrorKind::Usage,
                message: "a subcommand is required".into(),
                causes: Vec::new(),
                hint: Some("see the subcommands with --help".into()),
            };
        }
        let rendered = error.render().to_string();
        let mut lines = rendered
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty());
        let message = lines
            .next()
            .unwrap_or("invalid command line")
            .trim_start_matches("error: ")
            .to_owned();
        let mut causes = Vec::new();
        let mut hints = Vec::new();
        for line in lines.filter(|line| !line.starts_with("For more information")) {
            match line.strip_prefix("tip: ") {
                Some(tip) => hints.push(tip),
                None => causes.push(line.to_owned()),
            }
        }
        ErrorReport {
            kind: ErrorKind::Usage,
            message,
            causes,
            hint: Some(if hints.is_empty() {
                "see --help".to_owned()
            } else {
                hints.join("; ")
            }),
        }
    }
}

/// A network or I/O error at the bottom of a chain: its text and, when the chain names it,
/// the address that could not be reached.
struct Root {
    text: String,
    /// Index in the chain of the typed library error that names the address.
    endpoint: Option<(usize, String)>,
}

fn root_cause(chain: &[&(dyn StdError + 'static)]) -> Option<Root> {
    let io = chain
        .iter()
        .rev()
        .find_map(|cause| exit::find::<std::io::Error>(*cause))?;
    let endpoint = exit::is_network(io)
        .then(|| {
            chain
                .iter()
                .enumerate()
                .rev()
                .find_map(|(index, cause)| exit::endpoint(*cause).map(|host| (index, host)))
        })
        .flatten();
    Some(Root {
        text: io_text(io),
        endpoint,
    })
}

/// `Connection refused (os error 111)` as `connection refused`.
fn io_text(error: &std::io::Error) -> String {
    let text = error.to_string();
    let text = match text.find(" (os error ") {
        Some(at) => &text[..at],
        None => &text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) if chars.clone().next().is_some_and(char::is_lowercase) => {
            first.to_lowercase().chain(chars).collect()
        }
        _ => text.to_owned(),
    }
}

/// Root cause first: `cannot reach HOST: connection refused` (or the outermost message with
/// the I/O error appended), then the context above the failed request, then the retries.
fn with_root_first(chain: &[&(dyn StdError + 'static)], root: &Root) -> (String, Vec<String>) {
    let texts = texts(chain);
    let (message, context_end, skip_first) = match &root.endpoint {
        Some((index, host)) => (format!("cannot reach {host}: {}", root.text), *index, false),
        None => (
            format!("{}: {}", texts[0], root.text),
            texts.len() - 1,
            true,
        ),
    };
    let mut context = Vec::new();
    let mut retries = Vec::new();
    for (index, text) in texts.iter().enumerate().take(context_end + 1) {
        if exit::is_retry_summary(chain[index]) {
            retries.push(text.clone());
        } else if index < context_end && !(skip_first && index == 0) {
            context.push(text.clone());
        }
    }
    context.extend(retries);
    (message, collapse(context, &root.text))
}

/// No network or I/O cause: the outermost message, then each distinct cause.
fn plain(chain: &[&(dyn StdError + 'static)]) -> (String, Vec<String>) {
    let mut texts = texts(chain).into_iter();
    let message = texts.next().unwrap_or_default();
    (message.clone(), collapse(texts.collect(), &message))
}

fn texts(chain: &[&(dyn StdError + 'static)]) -> Vec<String> {
    chain.iter().map(ToString::to_string).collect()
}

/// Drops causes that repeat what an earlier line (or `shown`) already says: HTTP client
/// chains nest the same text several times.
fn collapse(causes: Vec<String>, shown: &str) -> Vec<String> {
    let mut kept: Vec<String> = Vec::new();
    for cause in causes {
        let repeated = cause.is_empty()
            || shown.contains(&cause)
            || kept.iter().any(|earlier| earlier.contains(&cause));
        if !repeated {
            kept.push(cause);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;

    fn refused() -> io::Error {
        io::Error::new(
            io::ErrorKind::ConnectionRefused,
            "Connection refused (os error 111)",
        )
    }

    #[test]
    fn a_buried_io_error_joins_the_first_line() {
        let error = anyhow::Error::new(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "Permission denied (os error 13)",
        ))
        .context("cannot write out/x")
        .context("cannot package nginx-1.0");
        let report = ErrorReport::new(&error);
        assert_eq!(
            report.message,
            "cannot package nginx-1.0: permission denied"
        );
        assert_eq!(report.causes, ["cannot write out/x"]);
        assert_eq!(report.kind, ErrorKind::Io);
    }

    #[test]
    fn a_refused_fetch_names_the_host_first_and_the_retries_last() {
        let http = boxwright_fetch::Error::GaveUp {
            url: "http://127.0.0.1:9/x.tar.gz".into(),
            attempts: 3,
            last: Box::new(boxwright_fetch::Error::Read {
                path: "x".into(),
                source: refused(),
            }),
        };
        let error = anyhow::Error::new(http).context("cannot fetch nginx");
        let report = ErrorReport::new(&error);
        assert!(
            report.message.ends_with(": connection refused"),
            "{report:?}"
        );
        assert_eq!(report.kind, ErrorKind::Network);
        assert_eq!(
            report.causes.first().map(String::as_str),
            Some("cannot fetch nginx")
        );
    }

    #[test]
    fn repeated_causes_collapse() {
        let causes = vec![
            "error sending request: tcp connect error: connection refused".to_owned(),
            "tcp connect error: connection refused".to_owned(),
            "connection refused".to_owned(),
        ];
        assert_eq!(collapse(causes, "x").len(), 1);
    }

    #[test]
    fn plain_errors_keep_their_chain() {
        let error = anyhow::anyhow!("inner").context("outer");
        let report = ErrorReport::new(&error);
        assert_eq!(report.message, "outer");
        assert_eq!(report.causes, ["inner"]);
        assert_eq!(report.hint, None);
    }
}
