//! The exchange at the token endpoint: POST the signed assertion with the JWT-bearer grant
//! (RFC 7523) and read the identity token, or Google's error JSON, from the response.

use std::time::Instant;

use serde_json::{Map, Value};
use ureq::http::header;

use crate::credentials::service_account::DEFAULT_TOKEN_URI;
use crate::error::{Error, Result};
use crate::http::{self, MAX_BODY_BYTES};
use crate::id_token::IdToken;
use crate::secret::Secret;

/// The grant type of RFC 7523 section 2.1.
pub const JWT_BEARER_GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// The key that signed an assertion, named in messages when Google refuses it.
#[derive(Debug, Clone)]
pub struct KeyIdentity {
    pub client_email: String,
    pub private_key_id: Option<String>,
}

impl KeyIdentity {
    fn describe(&self) -> String {
        match &self.private_key_id {
            Some(id) => format!("{} (private_key_id {id})", self.client_email),
            None => self.client_email.clone(),
        }
    }
}

/// A token endpoint's response, reduced to the parts that decide the outcome.
///
/// The body may contain an identity token, so `Debug` shows only its length and the body is
/// zeroed on drop.
pub struct Answer {
    pub status: u16,
    pub content_type: Option<String>,
    pub location: Option<String>,
    pub date: Option<String>,
    pub retry_after: Option<String>,
    pub body: Vec<u8>,
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answer")
            .field("status", &self.status)
            .field("content_type", &self.content_type)
            .field("location", &self.location)
            .field("date", &self.date)
            .field("retry_after", &self.retry_after)
            .field(
                "body",
                &format_args!("[{} bytes redacted]", self.body.len()),
            )
            .finish()
    }
}

impl Drop for Answer {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.body);
    }
}

/// POSTs `assertion` to `token_uri` and returns the response, whatever its status.
pub fn post_assertion(
    token_uri: &str,
    assertion: &Secret<String>,
    deadline: Instant,
) -> Result<Answer> {
    let client = http::client(token_uri, deadline)?;
    let phase = || Some(client.progress.get());
    let form = [
        ("grant_type", JWT_BEARER_GRANT_TYPE),
        ("assertion", assertion.expose().as_str()),
    ];
    crate::http_log::request(
        "POST",
        token_uri,
        &format!(
            "grant_type={JWT_BEARER_GRANT_TYPE}, assertion of {} bytes not shown",
            assertion.expose().len()
        ),
    );
    let started = Instant::now();
    let mut response = client
        .agent
        .post(token_uri)
        .send_form(form)
        .map_err(|err| client.error(err, token_uri))?;

    let header_text = |name: header::HeaderName| {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(String::from)
    };
    let status = response.status().as_u16();
    log::debug!("< HTTP {status} after {} ms", started.elapsed().as_millis());
    crate::http_log::response_headers(response.headers());
    let content_type = header_text(header::CONTENT_TYPE);
    let location = header_text(header::LOCATION);
    let date = header_text(header::DATE);
    let retry_after = header_text(header::RETRY_AFTER);
    client.progress.set(crate::tls::Phase::Body);
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_BODY_BYTES)
        .read_to_vec()
        .map_err(|err| body_error(err, token_uri, status, content_type.as_deref(), phase()))?;
    log::debug!(
        "< body: {} bytes of {}, complete after {} ms",
        body.len(),
        content_type.as_deref().unwrap_or("no content type"),
        started.elapsed().as_millis()
    );

    Ok(Answer {
        status,
        content_type,
        location,
        date,
        retry_after,
        body,
    })
}

/// Explains a failure to read the body. A body cut short or over the size limit is an
/// unexpected response (exit 76) that names the status and content type, never the body.
fn body_error(
    err: ureq::Error,
    token_uri: &str,
    status: u16,
    content_type: Option<&str>,
    phase: Option<crate::tls::Phase>,
) -> Error {
    let content_type = content_type.unwrap_or("(none)");
    match err {
        ureq::Error::Io(io_err) if io_err.kind() == std::io::ErrorKind::UnexpectedEof => {
            Error::protocol(format!(
                "{token_uri} returned a body that was cut short (HTTP {status}, content type {content_type}): the connection closed before the end of the body"
            ))
            .hint("a proxy or the network may have cut the connection: try again")
        }
        ureq::Error::BodyExceedsLimit(_) => Error::protocol(format!(
            "{token_uri} returned a body larger than {} KiB (HTTP {status}, content type {content_type}), so it is not a token response",
            MAX_BODY_BYTES / 1024
        ))
        .hint("check token_uri in the key file; a proxy or portal may have responded instead of Google"),
        other => http::transport_error_in(other, token_uri, phase),
    }
}

/// Reads the identity token from a token endpoint's response, or explains why there is none.
pub fn interpret(answer: &Answer, token_uri: &str, key: &KeyIdentity) -> Result<IdToken> {
    let status = answer.status;
    if (300..400).contains(&status) {
        let target = answer.location.as_deref().unwrap_or("no Location header");
        return Err(Error::protocol(format!(
            "{token_uri} returned HTTP {status}, a redirect to {target}, which is not followed"
        ))
        .hint("check token_uri in the key file; a proxy may be redirecting the request"));
    }
    if looks_like_html(answer) {
        let message =
            format!("{token_uri} returned HTTP {status} with an HTML page instead of JSON");
        // A gateway's error page for a transient status is retried like the status itself.
        let err = if is_transient_status(status) {
            Error::temporary(message)
        } else {
            Error::protocol(message)
        };
        return Err(err.hint("a proxy or captive portal probably responded instead of Google: check the network and proxy settings"));
    }

    match (status, parse_json_object(answer, token_uri)?) {
        (200, Some(object)) => read_id_token(object, token_uri),
        (_, object) => Err(error_answer(status, object.as_ref(), token_uri, key)),
    }
}

fn looks_like_html(answer: &Answer) -> bool {
    let by_type = answer
        .content_type
        .as_deref()
        .is_some_and(|t| t.to_ascii_lowercase().contains("html"));
    let start = answer.body.iter().position(|b| !b.is_ascii_whitespace());
    let by_body = start.is_some_and(|i| answer.body[i] == b'<');
    by_type || by_body
}

/// Parses the body as a JSON object. A non-200 body that is not JSON yields `Ok(None)`, so
/// that the status alone decides; a 200 body must be a JSON object.
fn parse_json_object(answer: &Answer, token_uri: &str) -> Result<Option<Map<String, Value>>> {
    let describe = || {
        format!(
            "HTTP {}, content type {}, {} bytes",
            answer.status,
            answer.content_type.as_deref().unwrap_or("(none)"),
            answer.body.len()
        )
    };
    let what = match serde_json::from_slice::<Value>(&answer.body) {
        Ok(Value::Object(object)) => return Ok(Some(object)),
        _ if answer.status != 200 => return Ok(None),
        _ if answer.body.iter().all(u8::is_ascii_whitespace) => "an empty body",
        Ok(_) => "JSON that is not an object",
        Err(err) if err.classify() == serde_json::error::Category::Eof => {
            "a body that was cut short"
        }
        Err(_) => "something that is not JSON",
    };
    Err(
        Error::protocol(format!("{token_uri} returned {what} ({})", describe()))
            .hint(not_google_hint(token_uri)),
    )
}

/// Returns the hint for a response that Google's endpoint never sends.
fn not_google_hint(token_uri: &str) -> String {
    if token_uri == DEFAULT_TOKEN_URI {
        "Google's endpoint does not answer this way: a proxy or portal may have answered in its place"
            .to_string()
    } else {
        format!(
            "Google's endpoint does not answer this way: check that the key file's token_uri is {DEFAULT_TOKEN_URI}, as Posos gave it"
        )
    }
}

fn read_id_token(mut object: Map<String, Value>, token_uri: &str) -> Result<IdToken> {
    match object.remove("id_token") {
        Some(Value::String(token)) => IdToken::parse(Secret::new(token)).map_err(|reason| {
            Error::protocol(format!(
                "{token_uri} returned an id_token that can't be read: {reason}"
            ))
            .hint(not_google_hint(token_uri))
        }),
        Some(_) => Err(Error::protocol(format!(
            "{token_uri} returned an id_token that is not a string"
        ))
        .hint(not_google_hint(token_uri))),
        None if object.contains_key("access_token") => Err(Error::protocol(format!(
            "{token_uri} returned an access token instead of an identity token"
        ))
        .hint(
            "the endpoint ignored target_audience; check that token_uri is Google's token endpoint",
        )),
        None => Err(
            Error::protocol(format!("{token_uri} returned HTTP 200 without an id_token"))
                .hint(not_google_hint(token_uri)),
        ),
    }
}

/// Explains a non-200 response, quoting Google's `error` and `error_description`.
fn error_answer(
    status: u16,
    object: Option<&Map<String, Value>>,
    token_uri: &str,
    key: &KeyIdentity,
) -> Error {
    let field = |name: &str| {
        object
            .and_then(|o| o.get(name))
            .and_then(Value::as_str)
            .map(sanitize)
    };
    let code = field("error");
    let description = field("error_description");
    let quoted = match (&code, &description) {
        (Some(code), Some(description)) => format!(": {code}: \"{description}\""),
        (Some(code), None) => format!(": {code}"),
        _ => String::new(),
    };
    let message = format!("{token_uri} returned HTTP {status}{quoted}");

    let transient = is_transient_status(status) || code.as_deref().is_some_and(is_transient_error);
    if transient {
        return Error::temporary(message)
            .hint("the token endpoint is having trouble: try again later");
    }
    if status >= 500 {
        // Another 5xx, such as 501 or 505, would come back the same on a retry.
        return Error::temporary(message)
            .hint("the token endpoint is having trouble: try again later")
            .not_retryable();
    }

    let description = description.unwrap_or_default();
    let error = match code.as_deref() {
        Some("invalid_grant") if description.contains("Invalid JWT Signature") => {
            Error::refused(message).hint(format!(
                "Google does not accept the key of {}: it was probably deleted or rotated; ask Posos for a new key file",
                key.describe()
            ))
        }
        Some("invalid_grant") if description.contains("reasonable timeframe") => {
            Error::refused(message).hint(
                "Google rejected the assertion's iat or exp as outside the time it accepts: check the local clock",
            )
        }
        Some("invalid_grant") if description.contains("account not found") => {
            Error::refused(message).hint(format!(
                "the service account {} is disabled or deleted; ask Posos to check it",
                key.client_email
            ))
        }
        Some("invalid_grant") | Some("unauthorized_client") => Error::refused(message).hint(format!(
            "Google rejected the key of {}; ask Posos whether it is still valid",
            key.describe()
        )),
        Some(_) if (400..500).contains(&status) => Error::refused(message),
        None if status == 401 || status == 403 => Error::refused(message),
        _ => Error::protocol(format!("{message} without Google's error JSON"))
            .hint("check token_uri in the key file; something other than Google's token endpoint responded"),
    };
    match code {
        Some(code) => error.with_oauth_error(code),
        None => error,
    }
}

/// Returns whether a status is worth retrying: 408, 429, 500, 502, 503 or 504.
pub fn is_transient_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// Returns whether an OAuth `error` code names a failure on Google's side that may pass.
pub fn is_transient_error(code: &str) -> bool {
    matches!(
        code,
        "internal_failure" | "server_error" | "temporarily_unavailable"
    )
}

/// Keeps a quoted server string short and free of control characters.
pub fn sanitize(text: &str) -> String {
    let clean: String = text.chars().filter(|c| !c.is_control()).take(300).collect();
    clean
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> KeyIdentity {
        KeyIdentity {
            client_email: "sa@example.iam.gserviceaccount.com".into(),
            private_key_id: Some("abc123".into()),
        }
    }

    fn answer(status: u16, content_type: &str, body: &str) -> Answer {
        Answer {
            status,
            content_type: Some(content_type.into()),
            location: None,
            date: None,
            retry_after: None,
            body: body.as_bytes().to_vec(),
        }
    }

    fn class_of(answer: &Answer) -> crate::exit_code::ExitCode {
        interpret(answer, "https://t/token", &key())
            .unwrap_err()
            .class()
    }

    #[test]
    fn invalid_signature_is_refused_and_names_key() {
        let body = r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#;
        let err = interpret(
            &answer(400, "application/json", body),
            "https://t/token",
            &key(),
        )
        .unwrap_err();
        assert_eq!(err.class(), crate::exit_code::ExitCode::Refused);
        assert!(err.message().contains("Invalid JWT Signature."));
        assert!(err.hints()[0].contains("abc123"));
        assert_eq!(err.oauth_error(), Some("invalid_grant"));
    }

    #[test]
    fn statuses_map_to_classes() {
        use crate::exit_code::ExitCode::*;
        assert_eq!(class_of(&answer(503, "application/json", "{}")), Temporary);
        assert_eq!(class_of(&answer(429, "text/plain", "slow down")), Temporary);
        assert_eq!(class_of(&answer(403, "text/plain", "no")), Refused);
        assert_eq!(class_of(&answer(404, "text/plain", "no")), Protocol);
        assert_eq!(class_of(&answer(200, "text/html", "<html>")), Protocol);
        assert_eq!(
            class_of(&answer(200, "application/json", "{\"id_tok")),
            Protocol
        );
        assert_eq!(class_of(&answer(200, "application/json", "[]")), Protocol);
    }

    #[test]
    fn access_token_alone_is_explained() {
        let err = interpret(
            &answer(200, "application/json", r#"{"access_token":"ya29.x"}"#),
            "https://t/token",
            &key(),
        )
        .unwrap_err();
        assert!(
            err.message()
                .contains("access token instead of an identity token")
        );
        assert!(!err.message().contains("ya29"));
    }
}
