//! HTTP details for `-vv`: the request line and the response headers, with the headers that
//! carry credentials left out, so that debug output never shows a secret.

use ureq::http::HeaderMap;

/// Headers whose values are credentials or session state; `-vv` names them but hides the value.
pub const HIDDEN_HEADERS: [&str; 4] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
];

/// The maximum number of characters of a header value in `-vv` output; longer values are cut
/// so that one odd header can't flood the log.
const MAX_VALUE_CHARS: usize = 200;

/// Logs a request about to be sent. `body` describes the body without its secret parts.
pub fn request(method: &str, url: &str, body: &str) {
    log::debug!("> {method} {url} ({body})");
}

/// Logs each response header, hiding the values of `HIDDEN_HEADERS`.
pub fn response_headers(headers: &HeaderMap) {
    for (name, value) in headers {
        log::debug!(
            "< {name}: {}",
            shown_value(name.as_str(), value.to_str().ok())
        );
    }
}

/// Returns the text `-vv` shows for a header value.
pub fn shown_value(name: &str, value: Option<&str>) -> String {
    if HIDDEN_HEADERS
        .iter()
        .any(|hidden| name.eq_ignore_ascii_case(hidden))
    {
        return "(hidden)".to_string();
    }
    let Some(value) = value else {
        return "(not text)".to_string();
    };
    let mut shown: String = value
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_VALUE_CHARS)
        .collect();
    if value.chars().count() > MAX_VALUE_CHARS {
        shown.push_str("...");
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_headers_are_hidden() {
        assert_eq!(shown_value("Set-Cookie", Some("sid=abc")), "(hidden)");
        assert_eq!(shown_value("authorization", Some("Bearer x")), "(hidden)");
        assert_eq!(
            shown_value("content-type", Some("application/json")),
            "application/json"
        );
    }

    #[test]
    fn long_values_are_cut() {
        let long = "a".repeat(500);
        assert_eq!(
            shown_value("x-long", Some(&long)).len(),
            MAX_VALUE_CHARS + 3
        );
        assert_eq!(shown_value("x-bin", None), "(not text)");
    }
}
