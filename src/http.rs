//! The HTTP client: one `ureq` agent configured for a token endpoint, and the translation of
//! transport failures into messages that name the URL and the phase that failed.

use std::io;
use std::time::{Duration, Instant};

use ureq::Agent;

use crate::error::Error;

/// The `User-Agent` sent with every request.
pub const USER_AGENT: &str = concat!("posos-token/", env!("CARGO_PKG_VERSION"));

/// The largest response body read. Google's token responses are under 2 KiB.
pub const MAX_BODY_BYTES: u64 = 64 * 1024;

/// The longest wait for a TCP and TLS connection, kept well under the default 30 s budget so
/// that a retry still has time when a connection attempt hangs.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Builds an agent whose requests end by `deadline`, that follows no redirect and that
/// returns 4xx and 5xx responses instead of errors.
pub fn agent(deadline: Instant) -> Agent {
    build_agent(deadline, crate::trust::tls_config())
}

/// Builds an agent like [`agent`] for requests to `url`, reading the trust roots only when
/// `url` uses https. Parsing a 300 KB system bundle named by `SSL_CERT_FILE` cost about 0.8 ms
/// of CPU per run (`perf stat`, 2 vCPUs), which a plain http loopback endpoint does not need.
pub fn agent_for(url: &str, deadline: Instant) -> Agent {
    let tls = if url
        .get(..6)
        .is_some_and(|s| s.eq_ignore_ascii_case("https:"))
    {
        crate::trust::tls_config()
    } else {
        ureq::tls::TlsConfig::default()
    };
    build_agent(deadline, tls)
}

fn build_agent(deadline: Instant, tls: ureq::tls::TlsConfig) -> Agent {
    let remaining = deadline.saturating_duration_since(Instant::now());
    Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .max_redirects_will_error(false)
        .user_agent(USER_AGENT)
        .accept("application/json")
        .timeout_global(Some(remaining))
        .timeout_connect(Some(CONNECT_TIMEOUT.min(remaining)))
        .tls_config(tls)
        .build()
        .new_agent()
}

/// Turns a transport error into a message naming `url` and what failed.
pub fn transport_error(err: ureq::Error, url: &str) -> Error {
    match err {
        ureq::Error::Timeout(phase) => Error::temporary(format!(
            "timed out talking to {url} ({}) before the --timeout budget ran out",
            describe_timeout(phase)
        ))
        .hint("check the network, or raise --timeout"),
        ureq::Error::HostNotFound => {
            Error::temporary(format!("failed to resolve the host of {url}"))
                .hint("check DNS and the network connection")
        }
        ureq::Error::ConnectionFailed => Error::temporary(format!("failed to connect to {url}"))
            .hint("check the network connection and any proxy settings"),
        ureq::Error::Io(io_err) => io_error(&io_err, url),
        ureq::Error::BodyExceedsLimit(_) => Error::protocol(format!(
            "the response from {url} is larger than {} KiB, so it is not a token response",
            MAX_BODY_BYTES / 1024
        )),
        ureq::Error::Tls(reason) => Error::temporary(format!("TLS with {url} failed: {reason}")),
        ureq::Error::Protocol(_) => Error::protocol(format!(
            "{url} answered with something that is not valid HTTP"
        )),
        other => request_failed(&other, url),
    }
}

fn io_error(err: &io::Error, url: &str) -> Error {
    let reason = match err.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused",
        io::ErrorKind::ConnectionReset => "connection reset",
        io::ErrorKind::ConnectionAborted => "connection aborted",
        io::ErrorKind::UnexpectedEof => "connection closed before the response was complete",
        io::ErrorKind::TimedOut => "timed out",
        _ => return request_failed(err, url),
    };
    Error::temporary(format!("failed to reach {url}: {reason}"))
        .hint("check that the token endpoint is reachable from this machine")
}

/// Reports a failure without a more specific message, with a hint when the server's
/// certificate was rejected (rustls reports that inside an I/O error).
fn request_failed(err: &dyn std::fmt::Display, url: &str) -> Error {
    let detail = err.to_string();
    let error = Error::temporary(format!("the request to {url} failed: {detail}"));
    if detail.contains("certificate") {
        error.hint(format!(
            "if a proxy on this network re-signs TLS, set {} to a PEM file of its CA certificate",
            crate::trust::CERT_FILE_ENV
        ))
    } else {
        error
    }
}

fn describe_timeout(phase: ureq::Timeout) -> &'static str {
    match phase {
        ureq::Timeout::Resolve => "resolving the host",
        ureq::Timeout::Connect => "connecting",
        ureq::Timeout::SendRequest | ureq::Timeout::SendBody | ureq::Timeout::PerWrite => {
            "sending the request"
        }
        ureq::Timeout::RecvResponse => "waiting for the response",
        ureq::Timeout::RecvBody | ureq::Timeout::PerRead => "receiving the response body",
        _ => "the request as a whole",
    }
}
