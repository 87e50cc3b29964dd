//! The token exchange with retries. Each attempt signs a fresh assertion and POSTs it. A
//! transient failure is retried under the policy of [`crate::retry`] within the `--timeout`
//! budget. A rejection caused by the local clock is retried once, with `iat` shifted to the
//! token endpoint's clock.

use std::time::{Duration, Instant, SystemTime};

use crate::assertion::{ASSERTION_LIFETIME_SECS, AssertionSigner, Claims, IAT_BACKDATE_SECS};
use crate::clock_skew;
use crate::error::{Error, Result};
use crate::fetch::unix_now;
use crate::id_token::IdToken;
use crate::retry;
use crate::token_endpoint::{self, Answer, KeyIdentity};

/// Exchanges assertions made from `claims` (re-stamped at each attempt) for an identity token.
pub fn exchange(
    signer: &AssertionSigner,
    claims: &Claims,
    token_uri: &str,
    key: &KeyIdentity,
    deadline: Instant,
) -> Result<IdToken> {
    let mut clock_offset: Option<i64> = None;
    let mut attempts = 0u32;
    let mut retries = 0u32;

    loop {
        attempts += 1;
        let claims = stamped(claims, unix_now() + clock_offset.unwrap_or(0));
        let assertion = signer.sign(&claims);
        log::info!("attempt {attempts}: exchanging the assertion at {token_uri}");
        let started = Instant::now();

        let (err, retry_after) =
            match token_endpoint::post_assertion(token_uri, &assertion, deadline) {
                Ok(answer) => {
                    log::info!(
                        "attempt {attempts}: {token_uri} returned HTTP {} in {} ms",
                        answer.status,
                        started.elapsed().as_millis()
                    );
                    let err = match token_endpoint::interpret(&answer, token_uri, key) {
                        Ok(token) => {
                            let warned = clock_offset.is_some();
                            let date = answer.date.as_deref();
                            return Ok(clock_skew::note_on_token(token, date, token_uri, warned));
                        }
                        Err(err) => err,
                    };
                    if clock_skew::is_time_window_rejection(&answer) {
                        match clock_offset {
                            None => match significant_offset(&answer) {
                                Some(offset) => {
                                    warn_skew(offset, token_uri);
                                    clock_offset = Some(offset);
                                    continue;
                                }
                                None => return Err(time_window_hint(err)),
                            },
                            Some(offset) => return Err(clock_still_rejected(err, offset)),
                        }
                    }
                    (err, retry_after(&answer))
                }
                Err(err) => (err, None),
            };

        retry::wait_or_give_up(err, attempts, &mut retries, retry_after, deadline)?;
    }
}

/// Returns the claims with `iat` and `exp` set for an assertion signed at `now`.
fn stamped(claims: &Claims, now: i64) -> Claims {
    let iat = now - IAT_BACKDATE_SECS;
    Claims {
        iat,
        exp: iat + ASSERTION_LIFETIME_SECS,
        ..claims.clone()
    }
}

fn retry_after(answer: &Answer) -> Option<Duration> {
    let value = answer.retry_after.as_deref()?;
    retry::parse_retry_after(value, SystemTime::now())
}

fn significant_offset(answer: &Answer) -> Option<i64> {
    let offset = clock_skew::endpoint_offset(answer.date.as_deref(), SystemTime::now())?;
    clock_skew::is_significant(offset).then_some(offset)
}

fn warn_skew(offset: i64, token_uri: &str) {
    log::warn!(
        "local clock is {} the token endpoint (Date header of {token_uri}); retrying with the assertion's iat shifted by {offset:+} s",
        clock_skew::describe(offset)
    );
}

/// Adds the clock hint to a time-window rejection whose `Date` header shows no skew.
fn time_window_hint(err: Error) -> Error {
    err.hint(format!(
        "the endpoint's Date header does not show the local clock off by more than {} s, so check the clock's time zone setting and the key's token_uri as well",
        clock_skew::TOLERANCE_SECS
    ))
}

/// Explains a time-window rejection that remains after shifting `iat`.
fn clock_still_rejected(err: Error, offset: i64) -> Error {
    Error::refused(format!(
        "{} (also with iat shifted by {offset:+} s to the endpoint's clock)",
        err.message()
    ))
    .hint(format!(
        "the local clock is the likely cause: it is {} the token endpoint; synchronize it, for example with NTP",
        clock_skew::describe(offset)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamped_claims_span_one_hour_from_backdated_now() {
        let base = Claims {
            iss: "a".into(),
            sub: "a".into(),
            aud: "https://t/token".into(),
            iat: 0,
            exp: 0,
            target_audience: Some("aud".into()),
        };
        let claims = stamped(&base, 1_000_000);
        assert_eq!(claims.iat, 1_000_000 - IAT_BACKDATE_SECS);
        assert_eq!(claims.exp - claims.iat, ASSERTION_LIFETIME_SECS);
        assert_eq!(claims.target_audience, base.target_audience);
    }

    #[test]
    fn still_rejected_is_refused_and_blames_clock() {
        let err = clock_still_rejected(Error::refused("invalid_grant"), -1200);
        assert_eq!(err.class(), crate::exit_code::ExitCode::Refused);
        assert!(err.hints()[0].contains("20m0s ahead of"));
    }
}
