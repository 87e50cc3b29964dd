//! Sending a request and reading its response for the sources beyond a key file. Requests are
//! retried under the token exchange's policy, bodies are bounded and kept as secrets, and one
//! function maps HTTP statuses and Google's error JSON to exit-code classes.

use std::time::{Duration, Instant, SystemTime};

use serde_json::{Map, Value};
use ureq::http::{self as http_types, header};

use crate::error::{Error, Result};
use crate::exit_code::ExitCode;
use crate::http::{self, MAX_BODY_BYTES};
use crate::retry;
use crate::secret::Secret;
use crate::token_endpoint::{is_transient_error, is_transient_status, sanitize};

/// A response reduced to what the sources read. The body may hold a token, so it is a secret.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub content_type: Option<String>,
    /// The `Metadata-Flavor` header, which a metadata server sets to `Google`.
    pub metadata_flavor: Option<String>,
    pub retry_after: Option<String>,
    /// The `Date` header: the server's clock, to compare with the local one.
    pub date: Option<String>,
    pub body: Secret<Vec<u8>>,
}

/// The hint for a 200 response that Google's services never send.
const NOT_GOOGLE_HINT: &str = "Google's services do not respond this way: check the URL (from the credentials file, POSOS_IAM_CREDENTIALS_URL or GCE_METADATA_HOST), and that no proxy or portal responds in its place";

/// Calls `attempt`, which builds and sends the request, again after each transient failure.
/// Transient failures are transport failures other than certificate errors, HTTP 408, 429,
/// 500, 502, 503 and 504, and Google's error codes for trouble on its side. Waits follow
/// [`crate::retry`] and `Retry-After`, within `deadline`. Returns the first other response.
pub fn with_retries(
    url: &str,
    deadline: Instant,
    mut attempt: impl FnMut() -> Result<Response>,
) -> Result<Response> {
    let mut attempts = 0;
    let mut retries = 0;
    loop {
        attempts += 1;
        let (err, retry_after) = match attempt() {
            Ok(answer) if !answer.is_transient() => return Ok(answer),
            Ok(answer) => (answer.error(url), answer.retry_after()),
            Err(err) => (err, None),
        };
        retry::wait_or_give_up(err, attempts, &mut retries, retry_after, deadline)?;
    }
}

/// Sends `request` with `body` and reads the whole response, at most `MAX_BODY_BYTES` of it.
pub fn send(
    request: ureq::RequestBuilder<ureq::typestate::WithBody>,
    body: &[u8],
    url: &str,
) -> Result<Response> {
    crate::http_log::request(
        "POST",
        url,
        &format!("body of {} bytes not shown", body.len()),
    );
    let started = Instant::now();
    let response = request
        .send(body)
        .map_err(|err| http::transport_error(err, url))?;
    read(response, url, "POST", started)
}

/// Sends a GET `request` and reads the whole response, at most `MAX_BODY_BYTES` of it.
pub fn get(
    request: ureq::RequestBuilder<ureq::typestate::WithoutBody>,
    url: &str,
) -> Result<Response> {
    crate::http_log::request("GET", url, "no body");
    let started = Instant::now();
    let response = request
        .call()
        .map_err(|err| http::transport_error(err, url))?;
    read(response, url, "GET", started)
}

fn read(
    mut response: http_types::Response<ureq::Body>,
    url: &str,
    method: &str,
    started: Instant,
) -> Result<Response> {
    let header_text = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(String::from)
    };
    let status = response.status().as_u16();
    log::info!(
        "{url} returned HTTP {status} in {} ms",
        started.elapsed().as_millis()
    );
    crate::http_log::response_headers(response.headers());
    let content_type = header_text(header::CONTENT_TYPE.as_str());
    let metadata_flavor = header_text("metadata-flavor");
    let retry_after = header_text(header::RETRY_AFTER.as_str());
    let date = header_text(header::DATE.as_str());
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_BODY_BYTES)
        .read_to_vec()
        .map_err(|err| http::transport_error(err, url))?;
    log::debug!(
        "< body of {method} {url}: {} bytes of {}, complete after {} ms",
        body.len(),
        content_type.as_deref().unwrap_or("no content type"),
        started.elapsed().as_millis()
    );
    Ok(Response {
        status,
        content_type,
        metadata_flavor,
        retry_after,
        date,
        body: Secret::new(body),
    })
}

impl Response {
    /// Returns whether the response reports a failure that may pass: HTTP 408, 429, 500, 502,
    /// 503 or 504, or one of Google's error codes for trouble on its side.
    pub fn is_transient(&self) -> bool {
        if self.status == 200 {
            return false;
        }
        let object = serde_json::from_slice::<Value>(self.body.expose()).ok();
        let (code, _) = google_error(object.as_ref());
        is_transient_status(self.status) || code.as_deref().is_some_and(is_transient_error)
    }

    fn retry_after(&self) -> Option<Duration> {
        retry::parse_retry_after(self.retry_after.as_deref()?, SystemTime::now())
    }

    /// Parses a 200 response's body as a JSON object, or explains why it is not one.
    pub fn json_object(&self, url: &str) -> Result<Map<String, Value>> {
        let body = self.body.expose();
        let what = match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(object)) => return Ok(object),
            _ if body.iter().all(u8::is_ascii_whitespace) => "an empty body",
            _ => "something other than a JSON object",
        };
        Err(Error::protocol(format!(
            "{url} returned HTTP {} with {what} ({}, {} bytes)",
            self.status,
            self.content_type.as_deref().unwrap_or("no content type"),
            body.len()
        ))
        .hint(NOT_GOOGLE_HINT))
    }

    /// Takes a string field out of a 200 response's JSON as a secret.
    pub fn secret_field(&self, field: &str, url: &str) -> Result<Secret<String>> {
        let mut object = self.json_object(url)?;
        match object.remove(field) {
            Some(Value::String(text)) if !text.is_empty() => Ok(Secret::new(text)),
            _ => Err(Error::protocol(format!(
                "{url} returned HTTP {} with no `{field}` string",
                self.status
            ))
            .hint(NOT_GOOGLE_HINT)),
        }
    }

    /// Explains a non-200 response: its class from the status, and Google's error message when
    /// the body is one of Google's two error forms (OAuth's `error` and `error_description`,
    /// or the API form `{"error": {"code", "message", "status"}}`).
    pub fn error(&self, url: &str) -> Error {
        let status = self.status;
        let object = serde_json::from_slice::<Value>(self.body.expose()).ok();
        let (code, description) = google_error(object.as_ref());
        let quoted = match (&code, &description) {
            (Some(code), Some(description)) => format!(": {code}: \"{description}\""),
            (Some(code), None) => format!(": {code}"),
            (None, Some(description)) => format!(": \"{description}\""),
            (None, None) => String::new(),
        };
        let message = format!("{url} returned HTTP {status}{quoted}");
        let transient =
            is_transient_status(status) || code.as_deref().is_some_and(is_transient_error);
        let html = self
            .content_type
            .as_deref()
            .is_some_and(|t| t.to_ascii_lowercase().contains("html"));

        if transient {
            Error::temporary(message).hint("the service is having trouble: try again later")
        } else if status >= 500 {
            // Another 5xx, such as 501 or 505, would come back the same on a retry.
            Error::temporary(message)
                .hint("the service is having trouble: try again later")
                .not_retryable()
        } else if html && code.is_none() {
            Error::protocol(format!("{message} with an HTML page instead of JSON")).hint(
                "a proxy or captive portal probably responded instead: check the network and proxy settings",
            )
        } else if status == 401 || status == 403 || (400..500).contains(&status) && code.is_some() {
            Error::refused(message)
        } else {
            Error::new(
                ExitCode::Protocol,
                format!("{message}, which was not expected"),
            )
        }
    }
}

/// Reads Google's error code and message from either error form, without control characters.
fn google_error(object: Option<&Value>) -> (Option<String>, Option<String>) {
    let Some(object) = object else {
        return (None, None);
    };
    let text = |value: &Value| value.as_str().map(sanitize);
    match object.get("error") {
        Some(Value::String(code)) => (
            Some(sanitize(code)),
            object.get("error_description").and_then(text),
        ),
        Some(Value::Object(error)) => (
            error.get("status").and_then(text),
            error.get("message").and_then(text),
        ),
        _ => (None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str) -> Response {
        Response {
            status,
            content_type: Some("application/json".into()),
            metadata_flavor: None,
            retry_after: None,
            date: None,
            body: Secret::new(body.as_bytes().to_vec()),
        }
    }

    #[test]
    fn api_error_form_is_quoted() {
        let body = r#"{"error": {"code": 403, "message": "Permission denied", "status": "PERMISSION_DENIED"}}"#;
        let err = response(403, body).error("https://iam/x");
        assert_eq!(err.class(), ExitCode::Refused);
        assert!(
            err.message()
                .contains("PERMISSION_DENIED: \"Permission denied\"")
        );
    }

    #[test]
    fn oauth_error_form_is_quoted() {
        let body = r#"{"error": "invalid_grant", "error_description": "Bad\nRequest"}"#;
        let err = response(400, body).error("https://sts/x");
        assert_eq!(err.class(), ExitCode::Refused);
        assert!(err.message().contains("invalid_grant: \"BadRequest\""));
    }

    #[test]
    fn statuses_map_to_classes() {
        assert_eq!(response(503, "").error("u").class(), ExitCode::Temporary);
        assert_eq!(response(429, "").error("u").class(), ExitCode::Temporary);
        assert_eq!(response(404, "nope").error("u").class(), ExitCode::Protocol);
        assert_eq!(response(401, "").error("u").class(), ExitCode::Refused);
    }

    #[test]
    fn secret_field_names_missing_field_only() {
        let err = response(200, r#"{"other": "ya29.secret"}"#)
            .secret_field("access_token", "u")
            .unwrap_err();
        assert!(err.message().contains("access_token"));
        assert!(!err.message().contains("ya29"));
        assert_eq!(err.hints(), [NOT_GOOGLE_HINT]);
    }

    #[test]
    fn empty_body_is_named() {
        let err = response(200, "").json_object("u").unwrap_err();
        assert!(
            err.message().contains("with an empty body"),
            "{}",
            err.message()
        );
        assert_eq!(err.hints(), [NOT_GOOGLE_HINT]);
    }
}

/// Encodes `application/x-www-form-urlencoded` pairs. The result may carry a secret (an
/// assertion, a refresh token, a subject token), so it is one.
pub fn form_body(pairs: &[(&str, &str)]) -> Secret<Vec<u8>> {
    let mut body = Vec::with_capacity(1024);
    for (index, (name, value)) in pairs.iter().enumerate() {
        if index > 0 {
            body.push(b'&');
        }
        percent_encode(name, &mut body);
        body.push(b'=');
        percent_encode(value, &mut body);
    }
    Secret::new(body)
}

fn percent_encode(text: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &byte in text.as_bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte);
        } else {
            out.extend_from_slice(&[
                b'%',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 15)],
            ]);
        }
    }
}

#[cfg(test)]
mod form_tests {
    use super::*;

    #[test]
    fn form_body_encodes_reserved_characters() {
        let body = form_body(&[("a b", "x=y&z/é"), ("c", "")]);
        assert_eq!(body.expose().as_slice(), b"a%20b=x%3Dy%26z%2F%C3%A9&c=");
    }
}
