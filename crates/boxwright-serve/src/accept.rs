//! What the accept loop does when `accept` fails.
//!
//! The usual cause is running out of file descriptors (`EMFILE`, `ENFILE`): the pending
//! connection stays in the listen queue, so retrying at once fails again and spins. The loop
//! waits instead, 10 ms doubling up to 1 s, logs the first failure only, and logs how many
//! there were once a connection is accepted again.

use std::time::Duration;

use crate::Log;

/// The first wait after a failed `accept`.
const FIRST_DELAY: Duration = Duration::from_millis(10);
/// The longest wait between two tries.
const MAX_DELAY: Duration = Duration::from_secs(1);

/// Consecutive `accept` failures and the wait they call for.
#[derive(Debug, Default)]
pub(crate) struct AcceptBackoff {
    failures: u32,
}

impl AcceptBackoff {
    /// Records a failure; logs it when it is the first of a run. Returns how long to wait.
    pub(crate) fn failed(&mut self, error: &std::io::Error, log: &Log) -> Duration {
        self.failures = self.failures.saturating_add(1);
        if self.failures == 1 {
            log(&format!(
                "accept failed: {error}; retrying every {} s at most until it works again",
                MAX_DELAY.as_secs()
            ));
        }
        let doublings = (self.failures - 1).min(16);
        FIRST_DELAY.saturating_mul(1 << doublings).min(MAX_DELAY)
    }

    /// Records a success; logs the end of a run of several failures.
    pub(crate) fn succeeded(&mut self, log: &Log) {
        if self.failures > 1 {
            log(&format!(
                "accept works again after {} failures",
                self.failures
            ));
        }
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    fn recording() -> (Log, Arc<Mutex<Vec<String>>>) {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        let log: Log = Arc::new(move |line: &str| sink.lock().unwrap().push(line.to_string()));
        (log, lines)
    }

    #[test]
    fn failures_back_off_to_a_second_and_log_once() {
        let (log, lines) = recording();
        let mut backoff = AcceptBackoff::default();
        let error = std::io::Error::from_raw_os_error(24);
        let delays: Vec<Duration> = (0..12).map(|_| backoff.failed(&error, &log)).collect();
        assert_eq!(delays[0], Duration::from_millis(10));
        assert_eq!(delays[1], Duration::from_millis(20));
        assert!(delays.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(delays[11], MAX_DELAY);
        backoff.succeeded(&log);
        let lines = lines.lock().unwrap().clone();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0].starts_with("accept failed: "), "{lines:?}");
        assert_eq!(lines[1], "accept works again after 12 failures");
    }

    #[test]
    fn a_success_starts_over() {
        let (log, lines) = recording();
        let mut backoff = AcceptBackoff::default();
        let error = std::io::Error::from_raw_os_error(103);
        backoff.failed(&error, &log);
        backoff.failed(&error, &log);
        backoff.succeeded(&log);
        // A single failure is logged once, with no summary.
        assert_eq!(backoff.failed(&error, &log), FIRST_DELAY);
        backoff.succeeded(&log);
        assert_eq!(lines.lock().unwrap().len(), 3);
        // Very long runs do not overflow.
        for _ in 0..100 {
            assert!(backoff.failed(&error, &log) <= MAX_DELAY);
        }
    }
}
