//! The cache entry format: a small JSON object with a format version, the identity token,
//! its expiry and the time it was fetched.
//!
//! ```json
//! {"version":1,"kind":"service_account","identity":{"client_email":"…"},
//!  "fetched_at":1764838800,"expires_at":1764842400,"id_token":"eyJ…"}
//! ```
//!
//! An entry may also contain `clock_offset`: the issuer's clock minus the local clock, in seconds,
//! when the two differed by more than the tolerance at the fetch.
//!
//! `identity` contains the parts of the cache key that may be shown. It is for a person reading
//! the directory, so it is not trusted when the entry is read.

use serde_json::{Map, Value, json};

use super::key::CacheKey;
use crate::id_token::IdToken;
use crate::secret::Secret;

/// The format version this build writes and reads.
pub const VERSION: u64 = 1;

/// The largest clock offset an entry may record: ten years, far beyond any real clock error,
/// so that adding it to a time can't overflow.
const MAX_CLOCK_OFFSET_SECS: u64 = 10 * 366 * 86_400;

/// A cached identity token.
#[derive(Debug)]
pub struct Entry {
    pub token: IdToken,
    /// When the token was fetched, in seconds since the Unix epoch.
    pub fetched_at: i64,
}

/// The reason an entry's bytes can't be used, worded to follow the entry's path.
#[derive(Debug, PartialEq, Eq)]
pub enum EntryError {
    /// The JSON ends early: a write cut short, or a full disk.
    Truncated,
    /// Not the JSON object of an entry.
    Damaged(&'static str),
    /// Written by a later version of the tool, with a format this one can't read.
    FutureVersion(u64),
}

impl std::fmt::Display for EntryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EntryError::Truncated => f.write_str("is truncated"),
            EntryError::Damaged(reason) => write!(f, "is damaged: {reason}"),
            EntryError::FutureVersion(version) => write!(
                f,
                "has format version {version}, written by a later posos-token (this one reads version {VERSION})"
            ),
        }
    }
}

/// Serializes an entry for `token`, fetched at `fetched_at`.
pub fn encode(key: &CacheKey, token: &IdToken, fetched_at: i64) -> Secret<Vec<u8>> {
    let identity: Map<String, Value> = key
        .labels()
        .iter()
        .map(|(label, value)| (label.to_string(), Value::String(value.clone())))
        .collect();
    let mut object = json!({
        "version": VERSION,
        "kind": key.kind(),
        "identity": identity,
        "fetched_at": fetched_at,
        "expires_at": token.claims().exp,
        "id_token": token.secret().expose(),
    });
    if token.clock_offset() != 0 {
        object["clock_offset"] = json!(token.clock_offset());
    }
    let mut bytes = object.to_string().into_bytes();
    bytes.push(b'\n');
    Secret::new(bytes)
}

/// Parses an entry's bytes.
pub fn decode(bytes: &[u8]) -> Result<Entry, EntryError> {
    let mut object = match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(object)) => object,
        Ok(_) => return Err(EntryError::Damaged("not a JSON object")),
        Err(err) if err.classify() == serde_json::error::Category::Eof => {
            return Err(EntryError::Truncated);
        }
        Err(_) => return Err(EntryError::Damaged("not valid JSON")),
    };

    match object.get("version").and_then(Value::as_u64) {
        Some(VERSION) => {}
        Some(version) if version > VERSION => return Err(EntryError::FutureVersion(version)),
        _ => return Err(EntryError::Damaged("no known format version")),
    }
    let fetched_at = object
        .get("fetched_at")
        .and_then(Value::as_i64)
        .ok_or(EntryError::Damaged("no fetched_at time"))?;
    let expires_at = object
        .get("expires_at")
        .and_then(Value::as_i64)
        .ok_or(EntryError::Damaged("no expires_at time"))?;
    let clock_offset = match object.get("clock_offset") {
        None => 0,
        Some(value) => value
            .as_i64()
            .filter(|offset| offset.unsigned_abs() <= MAX_CLOCK_OFFSET_SECS)
            .ok_or(EntryError::Damaged(
                "clock_offset is not a plausible number of seconds",
            ))?,
    };
    let Some(Value::String(text)) = object.remove("id_token") else {
        return Err(EntryError::Damaged("no id_token"));
    };
    let token = IdToken::parse(Secret::new(text))
        .map_err(|_| EntryError::Damaged("the id_token is not a readable JWT"))?;
    if token.claims().exp != expires_at {
        return Err(EntryError::Damaged(
            "expires_at differs from the id_token's exp claim",
        ));
    }
    Ok(Entry {
        token: token.with_clock_offset(clock_offset),
        fetched_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn token(exp: i64) -> IdToken {
        let claims = URL_SAFE_NO_PAD.encode(format!(r#"{{"exp":{exp},"aud":"a"}}"#));
        IdToken::parse(Secret::new(format!("e30.{claims}.c2ln"))).unwrap()
    }

    fn key() -> CacheKey {
        CacheKey::new("test").part("audience", "a")
    }

    #[test]
    fn encode_then_decode_round_trips() {
        let bytes = encode(&key(), &token(2000), 1000);
        let entry = decode(bytes.expose()).unwrap();
        assert_eq!(entry.token.claims().exp, 2000);
        assert_eq!(entry.fetched_at, 1000);
        assert_eq!(entry.token.secret().expose(), token(2000).secret().expose());
    }

    #[test]
    fn clock_offset_round_trip() {
        let bytes = encode(&key(), &token(5000).with_clock_offset(1200), 1000);
        let entry = decode(bytes.expose()).unwrap();
        assert_eq!(entry.token.clock_offset(), 1200);
        assert_eq!(entry.token.local_expiry(), 3800);

        // A local clock that is ahead is not credited with extra life.
        let bytes = encode(&key(), &token(5000).with_clock_offset(-1200), 1000);
        assert_eq!(decode(bytes.expose()).unwrap().token.local_expiry(), 5000);

        let plain = encode(&key(), &token(5000), 1000);
        let value: Value = serde_json::from_slice(plain.expose()).unwrap();
        assert!(value.get("clock_offset").is_none());
    }

    #[test]
    fn implausible_clock_offset_is_damage() {
        let bytes = encode(&key(), &token(2000), 1000);
        let mut value: Value = serde_json::from_slice(bytes.expose()).unwrap();
        for offset in [json!(i64::MAX), json!("1200"), json!(1.5)] {
            value["clock_offset"] = offset;
            let text = value.to_string();
            assert!(
                matches!(decode(text.as_bytes()), Err(EntryError::Damaged(_))),
                "{text}"
            );
        }
    }

    #[test]
    fn encode_stores_shown_parts() {
        let bytes = encode(&key().secret_part("hidden", b"zzz"), &token(1), 0);
        let value: Value = serde_json::from_slice(bytes.expose()).unwrap();
        assert_eq!(value["identity"], json!({"audience": "a"}));
        assert_eq!(value["kind"], "test");
    }

    #[test]
    fn decode_reports_truncation() {
        let bytes = encode(&key(), &token(2000), 1000);
        let cut = &bytes.expose()[..bytes.expose().len() / 2];
        assert_eq!(decode(cut).unwrap_err(), EntryError::Truncated);
        assert_eq!(decode(b"").unwrap_err(), EntryError::Truncated);
    }

    #[test]
    fn decode_reports_future_version() {
        let text = r#"{"version": 7, "whatever": true}"#;
        assert_eq!(
            decode(text.as_bytes()).unwrap_err(),
            EntryError::FutureVersion(7)
        );
    }

    #[test]
    fn decode_rejects_damage() {
        for text in [
            "[]",
            "not json",
            r#"{"fetched_at": 1, "expires_at": 2, "id_token": "x"}"#,
            r#"{"version": 1, "fetched_at": 1, "expires_at": 2, "id_token": "x"}"#,
            r#"{"version": 1, "fetched_at": 1, "expires_at": 2}"#,
            r#"{"version": 0, "fetched_at": 1, "expires_at": 2, "id_token": "x"}"#,
        ] {
            assert!(
                matches!(decode(text.as_bytes()), Err(EntryError::Damaged(_))),
                "{text}"
            );
        }
    }

    #[test]
    fn decode_rejects_mismatched_expiry() {
        let bytes = encode(&key(), &token(2000), 1000);
        let text = String::from_utf8(bytes.expose().clone())
            .unwrap()
            .replace("\"expires_at\":2000", "\"expires_at\":9999");
        assert!(matches!(
            decode(text.as_bytes()),
            Err(EntryError::Damaged(_))
        ));
    }
}
