//! Identity tokens: the JWTs that Google signs. This tool reads their claims (audience,
//! expiry, email) without verifying the signature, because the caller only forwards the token
//! and IAP verifies it.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::secret::Secret;

/// An identity token and the claims read from it.
#[derive(Debug, Clone)]
pub struct IdToken {
    token: Secret<String>,
    claims: IdTokenClaims,
    /// The issuing endpoint's clock minus the local clock, in seconds, when it was measured
    /// as significant; 0 otherwise.
    clock_offset: i64,
}

/// The claims of an identity token that this tool uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdTokenClaims {
    /// Expiry, in seconds since the Unix epoch.
    pub exp: i64,
    /// Issue time, in seconds since the Unix epoch, when present.
    pub iat: Option<i64>,
    /// The audience; the first one when the claim is an array.
    pub aud: Option<String>,
    /// The service account's email, present when the token was minted with `format=full` or by
    /// the token endpoint.
    pub email: Option<String>,
    /// The issuer, such as `https://accounts.google.com`.
    pub iss: Option<String>,
}

/// The part of a JWT that failed to decode.
#[derive(Debug, PartialEq, Eq)]
pub enum JwtError {
    /// The token does not have three dot-separated segments.
    SegmentCount(usize),
    /// A segment is not base64url.
    Base64 { segment: &'static str },
    /// A segment is not a JSON object.
    Json { segment: &'static str },
    /// The claims lack a numeric `exp`.
    MissingExp,
}

impl fmt::Display for JwtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JwtError::SegmentCount(count) => write!(
                f,
                "a JWT has 3 dot-separated segments, but this has {count}"
            ),
            JwtError::Base64 { segment } => {
                write!(f, "the {segment} segment is not valid base64url")
            }
            JwtError::Json { segment } => write!(f, "the {segment} segment is not a JSON object"),
            JwtError::MissingExp => f.write_str("the claims have no numeric `exp` (expiry)"),
        }
    }
}

impl IdToken {
    /// Reads the claims of a token.
    pub fn parse(token: Secret<String>) -> Result<Self, JwtError> {
        let decoded = decode(token.expose())?;
        let claims = IdTokenClaims::from_json(&decoded.claims)?;
        Ok(IdToken {
            token,
            claims,
            clock_offset: 0,
        })
    }

    /// Records the issuing endpoint's clock minus the local clock, in seconds.
    pub fn with_clock_offset(mut self, offset: i64) -> Self {
        self.clock_offset = offset;
        self
    }

    /// Returns the issuing endpoint's clock minus the local clock, in seconds, or 0 when it
    /// was not measured as significant.
    pub fn clock_offset(&self) -> i64 {
        self.clock_offset
    }

    /// Returns the expiry as the local clock will read it: `exp` less the time by which the
    /// local clock is behind the issuer's. A local clock that is ahead is not credited, so the
    /// token is never taken for valid after it expires.
    pub fn local_expiry(&self) -> i64 {
        self.claims.exp.saturating_sub(self.clock_offset.max(0))
    }

    /// Returns the token text; callers print it or send it, nothing else.
    pub fn secret(&self) -> &Secret<String> {
        &self.token
    }

    /// Returns the claims read from the token.
    pub fn claims(&self) -> &IdTokenClaims {
        &self.claims
    }
}

impl IdTokenClaims {
    fn from_json(claims: &Map<String, Value>) -> Result<Self, JwtError> {
        let exp = claims
            .get("exp")
            .and_then(as_seconds)
            .ok_or(JwtError::MissingExp)?;
        let aud = match claims.get("aud") {
            Some(Value::String(aud)) => Some(aud.clone()),
            Some(Value::Array(list)) => list.first().and_then(Value::as_str).map(String::from),
            _ => None,
        };
        let text = |name: &str| claims.get(name).and_then(Value::as_str).map(String::from);
        Ok(IdTokenClaims {
            exp,
            iat: claims.get("iat").and_then(as_seconds),
            aud,
            email: text("email"),
            iss: text("iss"),
        })
    }
}

/// A JWT's decoded header and claims.
#[derive(Debug)]
pub struct DecodedJwt {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
}

/// Decodes the header and claims of a JWT without verifying its signature.
pub fn decode(token: &str) -> Result<DecodedJwt, JwtError> {
    let segments: Vec<&str> = token.trim().split('.').collect();
    if segments.len() != 3 {
        return Err(JwtError::SegmentCount(segments.len()));
    }
    Ok(DecodedJwt {
        header: decode_segment(segments[0], "header")?,
        claims: decode_segment(segments[1], "claims")?,
    })
}

fn decode_segment(segment: &str, name: &'static str) -> Result<Map<String, Value>, JwtError> {
    // Some issuers pad their segments; RFC 7515 forbids it, but it is harmless to accept.
    let bytes = URL_SAFE_NO_PAD
        .decode(segment.trim_end_matches('='))
        .map_err(|_| JwtError::Base64 { segment: name })?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(JwtError::Json { segment: name }),
    }
}

/// Reads a NumericDate, which RFC 7519 allows to be fractional.
fn as_seconds(value: &Value) -> Option<i64> {
    value
        .as_i64()
        .or_else(|| value.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &str) -> String {
        format!(
            "{}.{}.c2ln",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256"}"#),
            URL_SAFE_NO_PAD.encode(claims)
        )
    }

    #[test]
    fn parse_reads_claims() {
        let token = jwt(r#"{"exp": 2000, "iat": 1000, "aud": "a", "email": "e@x", "iss": "i"}"#);
        let token = IdToken::parse(Secret::new(token)).unwrap();
        let claims = token.claims();
        assert_eq!(claims.exp, 2000);
        assert_eq!(claims.iat, Some(1000));
        assert_eq!(claims.aud.as_deref(), Some("a"));
        assert_eq!(claims.email.as_deref(), Some("e@x"));
    }

    #[test]
    fn parse_takes_first_audience_of_array() {
        let token = IdToken::parse(Secret::new(jwt(r#"{"exp": 1, "aud": ["x", "y"]}"#))).unwrap();
        assert_eq!(token.claims().aud.as_deref(), Some("x"));
    }

    #[test]
    fn decode_names_failed_part() {
        assert_eq!(decode("a.b").unwrap_err(), JwtError::SegmentCount(2));
        assert_eq!(
            decode("!!.e30.x").unwrap_err(),
            JwtError::Base64 { segment: "header" }
        );
        let not_json = format!("e30.{}.x", URL_SAFE_NO_PAD.encode("nope"));
        assert_eq!(
            decode(&not_json).unwrap_err(),
            JwtError::Json { segment: "claims" }
        );
    }

    #[test]
    fn parse_requires_exp() {
        let err = IdToken::parse(Secret::new(jwt(r#"{"aud": "a"}"#))).unwrap_err();
        assert_eq!(err, JwtError::MissingExp);
    }

    #[test]
    fn debug_redacts_token() {
        let token = IdToken::parse(Secret::new(jwt(r#"{"exp": 1}"#))).unwrap();
        assert!(!format!("{token:?}").contains("c2ln"));
    }
}
