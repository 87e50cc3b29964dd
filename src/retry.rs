//! The retry policy of every request to Google: how many times to try again, how long to wait
//! between attempts, and how a `Retry-After` header bends that wait. The policy is pure
//! functions, so that it is tested without a clock or a network; [`wait_or_give_up`] applies it.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, Instant, SystemTime};

use crate::error::Error;

/// Retries after the first attempt, so at most `MAX_RETRIES + 1` requests are sent.
pub const MAX_RETRIES: u32 = 3;

/// The wait before the first retry, doubled before each further one, before jitter.
pub const INITIAL_BACKOFF: Duration = Duration::from_millis(500);

/// The minimum time left of the budget after a wait for another attempt to be worth sending.
/// This is an estimate: one round trip to Google's token endpoint takes about 100 to 300 ms.
pub const MIN_ATTEMPT_TIME: Duration = Duration::from_millis(200);

/// Returns the exponential backoff before retry number `retry` (1 for the first retry),
/// scaled by a jitter factor between 0.5 and 1.5 taken from `jitter` in `[0, 1]`.
pub fn backoff(retry: u32, jitter: f64) -> Duration {
    let doublings = retry.saturating_sub(1).min(16);
    let base = INITIAL_BACKOFF * 2u32.pow(doublings);
    base.mul_f64(0.5 + jitter.clamp(0.0, 1.0))
}

/// Parses a `Retry-After` header value: a number of seconds, or an HTTP date measured from
/// `now`. A date in the past means no wait. Returns `None` for a value of neither form.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The verdict of the retry policy after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Wait this long, then send the next attempt.
    RetryAfter(Duration),
    /// Every retry was used.
    RetriesExhausted,
    /// The wait (the backoff, or the server's `Retry-After`) would not leave time for another
    /// attempt before the deadline.
    NoTimeLeft { requested: Duration },
}

/// Decides whether to retry after `retries_done` retries, given the server's `Retry-After`
/// (if any), the jitter factor in `[0, 1]` and the time left of the budget.
///
/// The wait is the longer of the backoff and `Retry-After`, and never ends later than
/// `MIN_ATTEMPT_TIME` before the deadline.
pub fn decide(
    retries_done: u32,
    retry_after: Option<Duration>,
    jitter: f64,
    remaining: Duration,
) -> Decision {
    if retries_done >= MAX_RETRIES {
        return Decision::RetriesExhausted;
    }
    let backoff = backoff(retries_done + 1, jitter);
    let wait = retry_after.map_or(backoff, |after| after.max(backoff));
    if wait + MIN_ATTEMPT_TIME > remaining {
        return Decision::NoTimeLeft { requested: wait };
    }
    Decision::RetryAfter(wait)
}

/// Applies the policy after failed attempt number `attempts`. When another attempt is allowed,
/// sleeps and adds one to `retries`. Otherwise returns the failure to report, with the number
/// of attempts and, when time ran out, the reason.
pub fn wait_or_give_up(
    err: Error,
    attempts: u32,
    retries: &mut u32,
    retry_after: Option<Duration>,
    deadline: Instant,
) -> Result<(), Error> {
    log::info!("attempt {attempts} failed: {}", err.message());
    if !err.is_retryable() {
        return Err(with_attempts(err, attempts));
    }
    let remaining = deadline.saturating_duration_since(Instant::now());
    match decide(*retries, retry_after, random_jitter(), remaining) {
        Decision::RetryAfter(wait) => {
            log::info!(
                "retrying in {} ms ({} s of the --timeout budget left)",
                wait.as_millis(),
                remaining.as_secs()
            );
            std::thread::sleep(wait);
            *retries += 1;
            Ok(())
        }
        Decision::RetriesExhausted => Err(with_attempts(err, attempts)),
        Decision::NoTimeLeft { requested } => {
            let reason = match retry_after {
                Some(after) if after >= requested => format!(
                    "the server asked to wait {} s (Retry-After), longer than the --timeout budget leaves",
                    after.as_secs()
                ),
                _ => "the --timeout budget leaves no time for another attempt".to_string(),
            };
            Err(err
                .append(format!(" ({} made; {reason})", plural_attempts(attempts)))
                .hint("raise --timeout to allow more retries"))
        }
    }
}

fn with_attempts(err: Error, attempts: u32) -> Error {
    if attempts == 1 {
        err
    } else {
        err.append(format!(" ({} made)", plural_attempts(attempts)))
    }
}

fn plural_attempts(attempts: u32) -> String {
    if attempts == 1 {
        "1 attempt".to_string()
    } else {
        format!("{attempts} attempts")
    }
}

/// Returns a jitter factor in `[0, 1]` from the standard library's per-process random hash
/// keys, which is random enough to spread retries of many CI jobs apart.
pub fn random_jitter() -> f64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0),
    );
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOTS: Duration = Duration::from_secs(30);

    #[test]
    fn backoff_doubles_from_half_second() {
        assert_eq!(backoff(1, 0.5), Duration::from_millis(500));
        assert_eq!(backoff(2, 0.5), Duration::from_millis(1000));
        assert_eq!(backoff(3, 0.5), Duration::from_millis(2000));
    }

    #[test]
    fn backoff_jitter_range() {
        assert_eq!(backoff(1, 0.0), Duration::from_millis(250));
        assert_eq!(backoff(1, 1.0), Duration::from_millis(750));
        assert_eq!(backoff(1, 7.0), Duration::from_millis(750));
        assert_eq!(backoff(1, -1.0), Duration::from_millis(250));
    }

    #[test]
    fn backoff_does_not_overflow() {
        assert!(backoff(u32::MAX, 1.0) > Duration::from_secs(3600));
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(parse_retry_after("1", now), Some(Duration::from_secs(1)));
        assert_eq!(
            parse_retry_after(" 120 ", now),
            Some(Duration::from_secs(120))
        );
        let later = httpdate::fmt_http_date(now + Duration::from_secs(7));
        assert_eq!(parse_retry_after(&later, now), Some(Duration::from_secs(7)));
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(7));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }

    #[test]
    fn decide_retries_three_times() {
        for done in 0..MAX_RETRIES {
            assert!(matches!(
                decide(done, None, 0.5, LOTS),
                Decision::RetryAfter(_)
            ));
        }
        assert_eq!(decide(3, None, 0.5, LOTS), Decision::RetriesExhausted);
    }

    #[test]
    fn decide_honours_longer_retry_after() {
        let wait = decide(0, Some(Duration::from_secs(2)), 0.5, LOTS);
        assert_eq!(wait, Decision::RetryAfter(Duration::from_secs(2)));
    }

    #[test]
    fn decide_keeps_backoff_over_shorter_retry_after() {
        let wait = decide(1, Some(Duration::ZERO), 0.5, LOTS);
        assert_eq!(wait, Decision::RetryAfter(Duration::from_secs(1)));
    }

    #[test]
    fn decide_never_sleeps_past_deadline() {
        let decision = decide(0, Some(Duration::from_secs(60)), 0.5, LOTS);
        assert_eq!(
            decision,
            Decision::NoTimeLeft {
                requested: Duration::from_secs(60)
            }
        );
        let decision = decide(0, None, 0.5, Duration::from_millis(600));
        assert!(matches!(decision, Decision::NoTimeLeft { .. }));
    }

    #[test]
    fn attempts_are_counted_in_message() {
        let err = with_attempts(Error::temporary("HTTP 503"), 4);
        assert_eq!(err.message(), "HTTP 503 (4 attempts made)");
        let err = with_attempts(Error::temporary("HTTP 503"), 1);
        assert_eq!(err.message(), "HTTP 503");
    }

    #[test]
    fn wait_or_give_up_permanent_failure() {
        let mut retries = 0;
        let deadline = Instant::now() + LOTS;
        let err = wait_or_give_up(
            Error::refused("invalid_grant"),
            1,
            &mut retries,
            None,
            deadline,
        )
        .unwrap_err();
        assert_eq!(err.message(), "invalid_grant");
        assert_eq!(retries, 0);
    }

    #[test]
    fn wait_or_give_up_no_time_left() {
        let mut retries = 0;
        let deadline = Instant::now() + Duration::from_secs(5);
        let err = wait_or_give_up(
            Error::temporary("HTTP 429"),
            1,
            &mut retries,
            Some(Duration::from_secs(60)),
            deadline,
        )
        .unwrap_err();
        assert!(
            err.message().contains("asked to wait 60 s"),
            "{}",
            err.message()
        );
        assert_eq!(retries, 0);
    }

    #[test]
    fn jitter_is_in_unit_range() {
        for _ in 0..100 {
            let jitter = random_jitter();
            assert!((0.0..=1.0).contains(&jitter), "{jitter}");
        }
    }
}
