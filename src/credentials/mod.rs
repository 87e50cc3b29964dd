//! Credentials: where they come from, how they are read, and what a key file holds.

pub mod authorized_user;
pub mod external_account;
pub mod impersonated;
pub mod service_account;
pub mod source;
pub mod url;

pub use authorized_user::AuthorizedUser;
pub use external_account::ExternalAccount;
pub use impersonated::ImpersonatedServiceAccount;
pub use service_account::ServiceAccountKey;
pub use source::{CREDENTIALS_ENV, Origin};

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::secret::Secret;

/// The credential types a credentials file can hold that this tool can use.
#[derive(Debug)]
pub enum Credentials {
    /// A service-account key (`"type": "service_account"`).
    ServiceAccount(ServiceAccountKey),
    /// A person's gcloud login (`"type": "authorized_user"`), usable only to impersonate a
    /// service account.
    AuthorizedUser(AuthorizedUser),
    /// Source credentials and the service account they impersonate
    /// (`"type": "impersonated_service_account"`).
    ImpersonatedServiceAccount(ImpersonatedServiceAccount),
    /// Workload identity federation (`"type": "external_account"`).
    ExternalAccount(ExternalAccount),
}

/// The `type` values that [`parse`] accepts, for messages.
pub const SUPPORTED_TYPES: &str =
    "service_account, authorized_user, impersonated_service_account, external_account";

/// Parses a credentials file's bytes, naming `origin` in every error.
pub fn parse(bytes: &Secret<Vec<u8>>, origin: &Origin) -> Result<Credentials> {
    let mut object = parse_object(bytes.expose(), origin)?;
    parse_typed(&mut object, origin, true)
}

/// Parses one credentials object by its `type`. `origin` names it in messages; the source
/// credentials inside an `impersonated_service_account` file are parsed with `nested` false,
/// because they can't themselves impersonate.
fn parse_typed(
    object: &mut Map<String, Value>,
    origin: &dyn std::fmt::Display,
    nested: bool,
) -> Result<Credentials> {
    let kind = match object.get("type") {
        None => None,
        Some(Value::String(kind)) => Some(kind.clone()),
        Some(_) => {
            return Err(Error::config(format!(
                "{origin} has a `type` that is not a string"
            )));
        }
    };

    match kind.as_deref() {
        Some("service_account") => {
            ServiceAccountKey::from_json(object, origin).map(Credentials::ServiceAccount)
        }
        // Keys written by hand sometimes drop `type`; the two required fields identify them.
        None if object.contains_key("private_key") && object.contains_key("client_email") => {
            ServiceAccountKey::from_json(object, origin).map(Credentials::ServiceAccount)
        }
        None => Err(Error::config(format!("{origin} has no `type` field"))
            .hint("a service-account key file has \"type\": \"service_account\"; ask Posos for a new key file")),
        Some("authorized_user") => {
            AuthorizedUser::from_json(object, origin).map(Credentials::AuthorizedUser)
        }
        Some("external_account") => {
            ExternalAccount::from_json(object, origin).map(Credentials::ExternalAccount)
        }
        Some("impersonated_service_account") if nested => {
            let inner_origin = format!("source_credentials in {origin}");
            let source = match object.get_mut("source_credentials") {
                Some(Value::Object(inner)) => parse_typed(inner, &inner_origin, false)?,
                Some(_) => {
                    return Err(Error::config(format!(
                        "{origin} has `source_credentials` that are not an object"
                    )));
                }
                None => {
                    return Err(Error::config(format!(
                        "{origin} lacks `source_credentials`, so nothing can act as the impersonated account"
                    ))
                    .hint("create the file again with: gcloud auth application-default login --impersonate-service-account EMAIL"));
                }
            };
            ImpersonatedServiceAccount::from_json(object, origin, source)
                .map(Credentials::ImpersonatedServiceAccount)
        }
        Some("impersonated_service_account") => Err(Error::config(format!(
            "{origin} is itself impersonated_service_account credentials, which can't be nested"
        ))
        .hint("use a service account key, user credentials or an external_account as the source")),
        Some(other) => Err(Error::config(format!(
            "{origin} has type {}, which is not supported",
            printable_type(other)
        ))
        .hint(format!("supported types: {SUPPORTED_TYPES}"))),
    }
}

/// Returns whether `bytes` look like JSON encoded in base64, as CI secrets sometimes are: only
/// base64 characters and line breaks, starting as the encoding of `{"` or `{` and a newline
/// does.
fn looks_like_base64_json(bytes: &[u8]) -> bool {
    let text = bytes.trim_ascii();
    text.len() > 100
        && (text.starts_with(b"eyJ") || text.starts_with(b"ewo") || text.starts_with(b"ew0K"))
        && text
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b.is_ascii_whitespace() || b"+/=-_".contains(b))
}

/// Parses JSON text that must be an object, with errors that give a position but no content.
pub fn parse_object(bytes: &[u8], origin: &Origin) -> Result<Map<String, Value>> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let value: Value = serde_json::from_slice(bytes).map_err(|err| {
        // serde_json reports these two only in its message text; neither quotes the input.
        let message = err.to_string();
        let what = match err.classify() {
            serde_json::error::Category::Eof => "ends before the JSON is complete",
            _ if message.starts_with("recursion limit exceeded") => {
                "is not valid JSON: it nests arrays or objects more than 128 levels deep"
            }
            _ if message.starts_with("invalid unicode code point") => {
                "is not valid JSON: it contains bytes that are not UTF-8 text"
            }
            _ => "is not valid JSON",
        };
        let error = Error::config(format!(
            "{origin} {what} (line {}, column {})",
            err.line(),
            err.column()
        ));
        if looks_like_base64_json(bytes) {
            return error.hint(
                "it looks like base64 of JSON: decode it first, for example: printf '%s' \"$SECRET\" | base64 -d | posos-token --credentials -",
            );
        }
        error.hint("it should be the service-account key JSON exactly as Posos gave it")
    })?;

    match value {
        Value::Object(object) => Ok(object),
        other => Err(Error::config(format!(
            "{origin} contains a JSON {}, not an object",
            json_kind(&other)
        ))
        .hint("it should be the service-account key JSON exactly as Posos gave it")),
    }
}

/// Names the kind of a JSON value, for messages that must not show the value itself.
pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Quotes a credential `type` for a message when it looks like a type name, and hides it when
/// it looks like anything else, so that a message never carries arbitrary file content.
pub(crate) fn printable_type(kind: &str) -> String {
    let plain = kind.len() <= 40
        && kind
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain {
        format!("\"{kind}\"")
    } else {
        "of an unknown form".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// JSON text long enough that its base64 passes the length check.
    const KEY_FOR_HINT: &str = r#"{"type": "service_account", "client_email": "a@b.iam.gserviceaccount.com", "private_key_id": "0123"}"#;

    fn origin() -> Origin {
        Origin::Flag(PathBuf::from("key.json"))
    }

    fn parse_text(text: &str) -> Result<Credentials> {
        parse(&Secret::new(text.as_bytes().to_vec()), &origin())
    }

    #[test]
    fn base64_of_json_gets_a_decoding_hint() {
        use base64::Engine;
        let encoded = base64::engine::general_purpose::STANDARD.encode(KEY_FOR_HINT);
        for text in [
            encoded.clone(),
            format!("{}\n{}\n", &encoded[..76], &encoded[76..]),
        ] {
            let err = parse_object(text.as_bytes(), &Origin::Stdin).unwrap_err();
            assert!(err.hints()[0].contains("base64 -d"), "{:?}", err.hints());
        }
        let err = parse_object(b"not json at all", &Origin::Stdin).unwrap_err();
        assert!(!err.hints()[0].contains("base64"));
    }

    #[test]
    fn parse_reports_position_of_syntax_error() {
        let err = parse_text("{\n  \"type\": ,\n}").unwrap_err();
        assert!(err.message().contains("line 2"), "{}", err.message());
        assert!(err.message().contains("not valid JSON"));
    }

    #[test]
    fn parse_rejects_non_object() {
        let err = parse_text("[1, 2]").unwrap_err();
        assert!(err.message().contains("JSON array, not an object"));
    }

    #[test]
    fn parse_rejects_deep_nesting() {
        let text = "[".repeat(10_000);
        let err = parse_text(&text).unwrap_err();
        assert!(err.message().contains("not valid JSON"));
    }

    #[test]
    fn parse_reads_user_credentials() {
        let parsed = parse_text(
            r#"{"type": "authorized_user", "client_id": "c", "client_secret": "s", "refresh_token": "x"}"#,
        )
        .unwrap();
        assert!(matches!(parsed, Credentials::AuthorizedUser(_)));
    }

    #[test]
    fn parse_reads_impersonated_file_with_user_source() {
        let text = r#"{
            "type": "impersonated_service_account",
            "service_account_impersonation_url": "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/t@p.iam.gserviceaccount.com:generateAccessToken",
            "delegates": ["d@p.iam.gserviceaccount.com"],
            "source_credentials": {"type": "authorized_user", "client_id": "c", "client_secret": "s", "refresh_token": "r"}
        }"#;
        let Credentials::ImpersonatedServiceAccount(file) = parse_text(text).unwrap() else {
            panic!("not impersonated credentials");
        };
        assert_eq!(
            file.impersonation_url.account,
            "t@p.iam.gserviceaccount.com"
        );
        assert_eq!(file.delegates, ["d@p.iam.gserviceaccount.com"]);
        assert!(matches!(*file.source, Credentials::AuthorizedUser(_)));
    }

    #[test]
    fn parse_rejects_nested_impersonation() {
        let text = r#"{
            "type": "impersonated_service_account",
            "service_account_impersonation_url": "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/t@p:generateAccessToken",
            "source_credentials": {"type": "impersonated_service_account"}
        }"#;
        let err = parse_text(text).unwrap_err();
        assert!(
            err.message().contains("source_credentials in"),
            "{}",
            err.message()
        );
        assert!(err.message().contains("can't be nested"));
    }

    #[test]
    fn parse_names_unknown_type_and_supported_ones() {
        let err = parse_text(r#"{"type": "gdch_service_account"}"#).unwrap_err();
        assert!(err.message().contains("\"gdch_service_account\""));
        assert!(err.hints()[0].contains("external_account"));
    }

    #[test]
    fn parse_hides_odd_type_values() {
        let err = parse_text(r#"{"type": "-----BEGIN PRIVATE KEY----- abc"}"#).unwrap_err();
        assert!(!err.message().contains("BEGIN"));
    }

    #[test]
    fn parse_accepts_byte_order_mark() {
        let text = format!(
            "\u{feff}{}",
            include_str!("../../tests/fixtures/service-account.json")
        );
        assert!(parse_text(&text).is_ok());
    }
}
