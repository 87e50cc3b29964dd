//! Service-account key files: the JSON that the Google Cloud console downloads.

use std::fmt;

use serde_json::{Map, Value};

use super::url::check_endpoint_url;
use crate::error::{Error, Result};
use crate::private_key;
use crate::secret::Secret;

/// Google's OAuth 2.0 token endpoint, used when a key file has no `token_uri`.
pub const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

/// The parts of a service-account key file that the exchange uses.
#[derive(Debug)]
pub struct ServiceAccountKey {
    /// The service account's email, the assertion's `iss` and `sub`.
    pub client_email: String,
    /// The key's id, sent as the JWT header's `kid`.
    pub private_key_id: Option<String>,
    /// The decoded private key.
    pub private_key: rsa::PrivateKey,
    /// The token endpoint, the assertion's `aud`.
    pub token_uri: String,
}

impl ServiceAccountKey {
    /// Takes the fields out of a parsed key file and decodes the private key.
    /// `origin` names the file, or the part of a file, in messages.
    pub fn from_json(object: &mut Map<String, Value>, origin: &dyn fmt::Display) -> Result<Self> {
        let client_email = required_string(object, "client_email", origin)?;
        let private_key_id = optional_string(object, "private_key_id", origin)?;
        let token_uri = optional_string(object, "token_uri", origin)?
            .unwrap_or_else(|| DEFAULT_TOKEN_URI.to_string());
        check_endpoint_url(&token_uri, &format!("token_uri in {origin}"))?;

        let pem = match object.remove("private_key") {
            Some(Value::String(pem)) => Secret::new(pem),
            Some(_) => {
                return Err(Error::config(format!(
                    "{origin} has a `private_key` that is not a string"
                )));
            }
            None => return Err(missing_field("private_key", origin)),
        };
        let private_key = private_key::decode(pem.expose()).map_err(|reason| {
            let error = Error::config(format!("the private_key in {origin} {reason}"));
            match reason {
                private_key::KeyError::Encrypted | private_key::KeyError::OpenSsh => error
                    .hint("use the unencrypted PKCS#8 key in the JSON key file exactly as Google issued it"),
                private_key::KeyError::EscapedNewlines => error.hint(
                    "in the JSON file each line break of the key is written \\n; the file has \\\\n, so it was escaped twice: use the key file exactly as Posos gave it",
                ),
                _ => error.hint("use the key file exactly as Posos gave it, or ask Posos for a new key"),
            }
        })?;

        Ok(ServiceAccountKey {
            client_email,
            private_key_id,
            private_key,
            token_uri,
        })
    }
}

pub(crate) fn required_string(
    object: &Map<String, Value>,
    field: &str,
    origin: &dyn fmt::Display,
) -> Result<String> {
    optional_string(object, field, origin)?.ok_or_else(|| missing_field(field, origin))
}

pub(crate) fn optional_string(
    object: &Map<String, Value>,
    field: &str,
    origin: &dyn fmt::Display,
) -> Result<Option<String>> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if text.trim().is_empty() => {
            Err(Error::config(format!("{origin} has an empty `{field}`"))
                .hint("use the key file exactly as Posos gave it"))
        }
        // No field but the PEM has a reason for control characters, and printing one in a
        // message or log could rewrite the terminal.
        Some(Value::String(text)) if text.chars().any(char::is_control) => Err(Error::config(
            format!("{origin} has a `{field}` that contains control characters"),
        )
        .hint("use the key file exactly as Posos gave it")),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(other) => Err(Error::config(format!(
            "{origin} has a `{field}` that is a {}, not a string",
            super::json_kind(other)
        ))),
    }
}

fn missing_field(field: &str, origin: &dyn fmt::Display) -> Error {
    Error::config(format!(
        "{origin} lacks `{field}`, so it is not a complete service-account key"
    ))
    .hint("use the key file exactly as Posos gave it, or ask Posos for a new key")
}
