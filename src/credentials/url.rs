//! Checks on URLs read from credentials files, made before any connection.

use ureq::http::Uri;

use crate::error::{Error, Result};

/// Checks that `url` is `https`, or plain `http` to a loopback host (as tests use).
///
/// `field` names where the URL came from, as in "token_uri in credentials file key.json".
pub fn check_endpoint_url(url: &str, field: &str) -> Result<Uri> {
    let invalid = || {
        Error::config(format!("{field} is not a valid URL: {}", printable(url)))
            .hint("it should look like https://oauth2.googleapis.com/token")
    };
    let uri: Uri = url.parse().map_err(|_| invalid())?;
    let host = uri.host().ok_or_else(invalid)?;

    match uri.scheme_str() {
        Some("https") => Ok(uri),
        Some("http") if is_loopback(host) => Ok(uri),
        Some("http") => Err(Error::config(format!(
            "{field} uses plain http to {host}; only https is accepted, except to a loopback address"
        ))
        .hint("change the URL to https://")),
        Some(scheme) if scheme.len() <= 20 => Err(Error::config(format!(
            "{field} uses the scheme {scheme}, which is not supported: {}",
            printable(url)
        ))
        .hint("use an https:// URL, such as https://oauth2.googleapis.com/token")),
        _ => Err(invalid()),
    }
}

/// Returns whether a URL host names this machine: `localhost`, 127.0.0.0/8 or `[::1]`.
pub fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<std::net::IpAddr>()
        .map(|ip| ip.is_loopback())
        .unwrap_or(false)
}

/// Returns the URL for a message, shortened when it is long or has control characters.
fn printable(url: &str) -> String {
    if url.len() <= 200 && !url.chars().any(char::is_control) {
        url.to_string()
    } else {
        "(a value of an unexpected form)".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_https() {
        assert!(check_endpoint_url("https://oauth2.googleapis.com/token", "token_uri").is_ok());
    }

    #[test]
    fn other_scheme_is_named() {
        let err = check_endpoint_url("ftp://127.0.0.1/x", "token_uri").unwrap_err();
        assert!(
            err.message().contains("the scheme ftp"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn accepts_http_to_loopback_only() {
        assert!(check_endpoint_url("http://127.0.0.1:8080/token", "token_uri").is_ok());
        assert!(check_endpoint_url("http://[::1]:8080/token", "token_uri").is_ok());
        assert!(check_endpoint_url("http://localhost/token", "token_uri").is_ok());
        let err = check_endpoint_url("http://example.com/token", "token_uri").unwrap_err();
        assert!(err.message().contains("plain http"));
    }

    #[test]
    fn rejects_other_schemes_and_junk() {
        for url in ["ftp://example.com/x", "not a url", "", "file:///etc/passwd"] {
            assert!(check_endpoint_url(url, "token_uri").is_err(), "{url}");
        }
    }
}
