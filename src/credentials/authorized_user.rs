//! User credentials (`"type": "authorized_user"`): the OAuth client and refresh token that
//! `gcloud auth application-default login` writes for a person's Google account.

use std::fmt;

use serde_json::{Map, Value};

use super::service_account::{DEFAULT_TOKEN_URI, optional_string};
use super::url::check_endpoint_url;
use crate::error::{Error, Result};
use crate::secret::Secret;

/// The parts of an `authorized_user` file that the refresh-token grant uses.
#[derive(Debug)]
pub struct AuthorizedUser {
    /// The OAuth client that the refresh token was issued to.
    pub client_id: String,
    /// The OAuth client's secret.
    pub client_secret: Secret<String>,
    /// The refresh token of the person's login.
    pub refresh_token: Secret<String>,
    /// The token endpoint: the file's `token_uri`, else Google's.
    pub token_uri: String,
}

impl AuthorizedUser {
    /// Takes the fields out of a parsed `authorized_user` object. `origin` names it in messages.
    pub fn from_json(object: &mut Map<String, Value>, origin: &dyn fmt::Display) -> Result<Self> {
        let client_id = optional_string(object, "client_id", origin)?
            .ok_or_else(|| missing(origin, "client_id"))?;
        let token_uri = optional_string(object, "token_uri", origin)?
            .unwrap_or_else(|| DEFAULT_TOKEN_URI.to_string());
        check_endpoint_url(&token_uri, &format!("token_uri in {origin}"))?;
        let client_secret = take_secret(object, "client_secret", origin)?;
        let refresh_token = take_secret(object, "refresh_token", origin)?;
        Ok(AuthorizedUser {
            client_id,
            client_secret,
            refresh_token,
            token_uri,
        })
    }
}

/// Removes a secret string field from `object`, so that no copy stays in the parsed JSON.
pub(crate) fn take_secret(
    object: &mut Map<String, Value>,
    field: &str,
    origin: &dyn fmt::Display,
) -> Result<Secret<String>> {
    match object.remove(field) {
        Some(Value::String(text)) if !text.trim().is_empty() => Ok(Secret::new(text)),
        Some(Value::String(_)) => Err(Error::config(format!("{origin} has an empty `{field}`"))
            .hint("log in again with: gcloud auth application-default login")),
        Some(other) => Err(Error::config(format!(
            "{origin} has a `{field}` that is a {}, not a string",
            super::json_kind(&other)
        ))),
        None => Err(missing(origin, field)),
    }
}

fn missing(origin: &dyn fmt::Display, field: &str) -> Error {
    Error::config(format!(
        "{origin} lacks `{field}`, so it is not complete user credentials"
    ))
    .hint("log in again with: gcloud auth application-default login")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(text: &str) -> Map<String, Value> {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn defaults_token_uri_to_google() {
        let mut json = object(
            r#"{"client_id": "c", "client_secret": "s3cr3t", "refresh_token": "1//r3fr3sh"}"#,
        );
        let user = AuthorizedUser::from_json(&mut json, &"file u.json").unwrap();
        assert_eq!(user.token_uri, DEFAULT_TOKEN_URI);
        assert_eq!(user.refresh_token.expose(), "1//r3fr3sh");
        assert!(!json.contains_key("refresh_token"));
    }

    #[test]
    fn missing_refresh_token_is_named() {
        let mut json = object(r#"{"client_id": "c", "client_secret": "s"}"#);
        let err = AuthorizedUser::from_json(&mut json, &"file u.json").unwrap_err();
        assert!(
            err.message().contains("lacks `refresh_token`"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn plain_http_token_uri_is_rejected() {
        let mut json = object(
            r#"{"client_id": "c", "client_secret": "s", "refresh_token": "r", "token_uri": "http://example.com/token"}"#,
        );
        let err = AuthorizedUser::from_json(&mut json, &"file u.json").unwrap_err();
        assert!(err.message().contains("plain http"));
    }
}
