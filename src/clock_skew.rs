//! Detection of a local clock that is too far off for Google's token endpoint, from its
//! `invalid_grant` response and its `Date` header.

use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::id_token::IdToken;
use crate::token_endpoint::Answer;

/// The offset below which the clocks are taken to agree. Google accepts an `iat` a little in
/// the future, and a `Date` header has a resolution of one second.
pub const TOLERANCE_SECS: i64 = 30;

/// Returns whether the response is Google's rejection of the assertion's time window:
/// `invalid_grant` with "Invalid JWT: Token must be a short-lived token (60 minutes) and in a
/// reasonable timeframe".
pub fn is_time_window_rejection(answer: &Answer) -> bool {
    if answer.status != 400 {
        return false;
    }
    let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(&answer.body) else {
        return false;
    };
    let field = |name: &str| object.get(name).and_then(Value::as_str).unwrap_or("");
    field("error") == "invalid_grant"
        && (field("error_description").contains("reasonable timeframe")
            || field("error_description").contains("short-lived token"))
}

/// Returns the endpoint's clock minus the local clock, in seconds, read from a `Date` header
/// received at local time `local_now`. Returns `None` without a valid date.
pub fn endpoint_offset(date: Option<&str>, local_now: SystemTime) -> Option<i64> {
    let endpoint_now = httpdate::parse_http_date(date?.trim()).ok()?;
    let offset = match endpoint_now.duration_since(local_now) {
        Ok(ahead) => ahead.as_secs() as i64,
        Err(behind) => -(behind.duration().as_secs() as i64),
    };
    Some(offset)
}

/// Records on `token` how far the local clock is from the clock of `url`, read from the
/// response's `Date` header, when the gap is significant, and warns about it unless the
/// caller already has. The token cache then counts the token's life by the issuer's clock.
pub fn note_on_token(token: IdToken, date: Option<&str>, url: &str, warned: bool) -> IdToken {
    let Some(offset) = endpoint_offset(date, SystemTime::now()).filter(|o| is_significant(*o))
    else {
        return token;
    };
    if !warned {
        log::warn!(
            "local clock is {} {url} (its Date header); synchronize it, for example with NTP",
            describe(offset)
        );
    }
    token.with_clock_offset(offset)
}

/// Returns whether an offset is large enough to explain the rejection.
pub fn is_significant(offset: i64) -> bool {
    offset.abs() > TOLERANCE_SECS
}

/// Describes the local clock relative to the endpoint's, as in "19m12s ahead of".
pub fn describe(offset: i64) -> String {
    let direction = if offset < 0 { "ahead of" } else { "behind" };
    format!(
        "{} {direction}",
        format_span(Duration::from_secs(offset.unsigned_abs()))
    )
}

/// Formats a span compactly: "45s", "19m12s", "2h0m5s", "3d4h0m0s".
pub fn format_span(span: Duration) -> String {
    let total = span.as_secs();
    let (days, hours, minutes, seconds) = (
        total / 86_400,
        total / 3600 % 24,
        total / 60 % 60,
        total % 60,
    );
    if days > 0 {
        format!("{days}d{hours}h{minutes}m{seconds}s")
    } else if hours > 0 {
        format!("{hours}h{minutes}m{seconds}s")
    } else if minutes > 0 {
        format!("{minutes}m{seconds}s")
    } else {
        format!("{seconds}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status,
            content_type: Some("application/json".into()),
            location: None,
            date: None,
            retry_after: None,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn recognises_time_window_rejection() {
        let body = r#"{"error":"invalid_grant","error_description":"Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim."}"#;
        assert!(is_time_window_rejection(&answer(400, body)));
    }

    #[test]
    fn ignores_other_rejections() {
        let signature = r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#;
        assert!(!is_time_window_rejection(&answer(400, signature)));
        assert!(!is_time_window_rejection(&answer(400, "not json")));
        let other_code =
            r#"{"error":"invalid_request","error_description":"reasonable timeframe"}"#;
        assert!(!is_time_window_rejection(&answer(400, other_code)));
    }

    #[test]
    fn offset_has_sign_of_endpoint_minus_local() {
        let local = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let behind = httpdate::fmt_http_date(local - Duration::from_secs(1200));
        assert_eq!(endpoint_offset(Some(&behind), local), Some(-1200));
        let ahead = httpdate::fmt_http_date(local + Duration::from_secs(1152));
        assert_eq!(endpoint_offset(Some(&ahead), local), Some(1152));
        assert_eq!(endpoint_offset(Some("yesterday"), local), None);
        assert_eq!(endpoint_offset(None, local), None);
    }

    #[test]
    fn significance_threshold_is_thirty_seconds() {
        assert!(!is_significant(30));
        assert!(!is_significant(-30));
        assert!(is_significant(31));
        assert!(is_significant(-31));
    }

    #[test]
    fn describes_direction_and_span() {
        assert_eq!(describe(-1152), "19m12s ahead of");
        assert_eq!(describe(1200), "20m0s behind");
        assert_eq!(format_span(Duration::from_secs(45)), "45s");
        assert_eq!(format_span(Duration::from_secs(7205)), "2h0m5s");
        assert_eq!(format_span(Duration::from_secs(273_600)), "3d4h0m0s");
    }
}
