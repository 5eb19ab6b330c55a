//! Retries with exponential backoff, and what is worth retrying.

use std::future::Future;
use std::time::Duration;

use reqwest::StatusCode;

/// How often and how patiently a failing operation is tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all (1 = no retry).
    pub attempts: u32,
    /// Wait before the second attempt; doubled for each further one.
    pub backoff: Duration,
}

impl Default for RetryPolicy {
    /// Four attempts, 0.5 s, 1 s and 2 s apart.
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            backoff: Duration::from_millis(500),
        }
    }
}

impl RetryPolicy {
    /// The wait after failed attempt number `attempt` (1-based).
    pub fn delay(&self, attempt: u32) -> Duration {
        self.backoff
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
    }

    /// Runs `operation` until it succeeds, fails with an error `retryable` refuses, or has
    /// been tried `attempts` times, sleeping [`RetryPolicy::delay`] in between and telling
    /// `on_retry` (attempt number, error, wait) before each wait. The error comes back with the
    /// number of attempts made.
    pub async fn run<T, E, F, Fut>(
        &self,
        mut operation: F,
        retryable: impl Fn(&E) -> bool,
        mut on_retry: impl FnMut(u32, &E, Duration),
    ) -> Result<T, (E, u32)>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut attempt = 1;
        loop {
            match operation().await {
                Ok(value) => return Ok(value),
                Err(error) if attempt < self.attempts && retryable(&error) => {
                    let wait = self.delay(attempt);
                    on_retry(attempt, &error, wait);
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Err(error) => return Err((error, attempt)),
            }
        }
    }
}

/// Answers worth another attempt: server errors, 408 Request Timeout, 429 Too Many Requests.
pub fn retryable_status(status: StatusCode) -> bool {
    status.is_server_error()
        || status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
}

/// Transport failures worth another attempt: no connection, a timeout, a body cut short.
pub fn retryable_error(error: &reqwest::Error) -> bool {
    error.is_connect() || error.is_timeout() || error.is_body() || error.is_request()
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    #[test]
    fn delays_double() {
        let policy = RetryPolicy {
            attempts: 5,
            backoff: Duration::from_millis(10),
        };
        let delays: Vec<u128> = (1..=4).map(|a| policy.delay(a).as_millis()).collect();
        assert_eq!(delays, [10, 20, 40, 80]);
        assert_eq!(policy.delay(200), Duration::MAX.min(policy.delay(200)));
    }

    #[test]
    fn statuses() {
        assert!(retryable_status(StatusCode::BAD_GATEWAY));
        assert!(retryable_status(StatusCode::TOO_MANY_REQUESTS));
        assert!(retryable_status(StatusCode::REQUEST_TIMEOUT));
        assert!(!retryable_status(StatusCode::NOT_FOUND));
        assert!(!retryable_status(StatusCode::UNAUTHORIZED));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn run_stops_at_success_at_a_final_error_and_after_the_attempts() {
        let policy = RetryPolicy {
            attempts: 3,
            backoff: Duration::from_millis(1),
        };
        let calls = Cell::new(0);
        let retries = Cell::new(0);
        let ok: Result<u32, (&str, u32)> = policy
            .run(
                || {
                    calls.set(calls.get() + 1);
                    let n = calls.get();
                    async move { if n < 2 { Err("flaky") } else { Ok(n) } }
                },
                |_| true,
                |_, _, _| retries.set(retries.get() + 1),
            )
            .await;
        assert_eq!(ok, Ok(2));
        assert_eq!(retries.get(), 1);

        calls.set(0);
        let exhausted: Result<(), _> = policy
            .run(
                || {
                    calls.set(calls.get() + 1);
                    async { Err("down") }
                },
                |_| true,
                |_, _, _| {},
            )
            .await;
        assert_eq!(exhausted, Err(("down", 3)));
        assert_eq!(calls.get(), 3);

        calls.set(0);
        let fatal: Result<(), _> = policy
            .run(
                || {
                    calls.set(calls.get() + 1);
                    async { Err("denied") }
                },
                |e| *e != "denied",
                |_, _, _| {},
            )
            .await;
        assert_eq!(fatal, Err(("denied", 1)));
        assert_eq!(calls.get(), 1);
    }
}
