//! Rendering the identity token in the requested format. Every format ends with one newline.

use std::io::{self, Write};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::ValueEnum;
use serde_json::json;

use crate::id_token::IdToken;
use crate::secret::Secret;

/// The output formats of `--format`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The token alone.
    #[default]
    Token,
    /// `Authorization: Bearer <token>`, ready for `curl -H`.
    Header,
    /// A JSON object with the token, its expiry (RFC 3339, UTC), audience and email.
    Json,
}

/// Renders `token` in `format`. `audience` is the requested one, used when the token has no
/// `aud` claim.
pub fn render(token: &IdToken, format: Format, audience: &str) -> Secret<String> {
    let text = token.secret().expose();
    let rendered = match format {
        Format::Token => format!("{text}\n"),
        Format::Header => format!("Authorization: Bearer {text}\n"),
        Format::Json => {
            let claims = token.claims();
            let mut object = json!({
                "token": text,
                "expires_at": rfc3339(claims.exp),
                "audience": claims.aud.as_deref().unwrap_or(audience),
            });
            if let Some(email) = &claims.email {
                object["email"] = json!(email);
            }
            format!("{object}\n")
        }
    };
    Secret::new(rendered)
}

/// Writes the rendered output in one call, so that a reader never sees half a token.
pub fn write(output: &Secret<String>, mut out: impl Write) -> io::Result<()> {
    out.write_all(output.expose().as_bytes())?;
    out.flush()
}

/// Formats seconds since the Unix epoch as RFC 3339 in UTC, such as `2026-12-04T21:05:00Z`.
pub fn rfc3339(seconds: i64) -> String {
    let time = if seconds >= 0 {
        UNIX_EPOCH + Duration::from_secs(seconds as u64)
    } else {
        UNIX_EPOCH
    };
    humantime::format_rfc3339_seconds(clamp_to_year_9999(time)).to_string()
}

/// humantime panics past the year 9999, and a token's `exp` is whatever the server sent.
fn clamp_to_year_9999(time: SystemTime) -> SystemTime {
    let max = UNIX_EPOCH + Duration::from_secs(253_402_300_799);
    time.min(max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn token(claims: &str) -> IdToken {
        let jwt = format!("e30.{}.sig", URL_SAFE_NO_PAD.encode(claims));
        IdToken::parse(Secret::new(jwt)).unwrap()
    }

    #[test]
    fn token_format_is_token_and_newline() {
        let token = token(r#"{"exp": 0}"#);
        let out = render(&token, Format::Token, "aud");
        assert!(out.expose().ends_with(".sig\n"));
        assert_eq!(out.expose().matches('\n').count(), 1);
    }

    #[test]
    fn header_format_has_bearer_prefix() {
        let out = render(&token(r#"{"exp": 0}"#), Format::Header, "aud");
        assert!(out.expose().starts_with("Authorization: Bearer e30."));
    }

    #[test]
    fn json_format_has_expiry_and_audience() {
        let out = render(
            &token(r#"{"exp": 1764838800, "aud": "x", "email": "e@x"}"#),
            Format::Json,
            "fallback",
        );
        let value: serde_json::Value = serde_json::from_str(out.expose()).unwrap();
        assert_eq!(value["expires_at"], "2025-12-04T09:00:00Z");
        assert_eq!(value["audience"], "x");
        assert_eq!(value["email"], "e@x");
        assert!(out.expose().ends_with("}\n"));
    }

    #[test]
    fn rfc3339_clamps_out_of_range_times() {
        assert_eq!(rfc3339(-5), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(i64::MAX), "9999-12-31T23:59:59Z");
    }
}
