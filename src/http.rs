//! The HTTP client: one `ureq` agent configured for a token endpoint, and the translation of
//! transport failures into messages that name the URL and the phase that failed.

use std::io;
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

use ureq::Agent;
use ureq::http::Uri;
use ureq::unversioned::resolver::DefaultResolver;
use ureq::unversioned::transport::{ConnectProxyConnector, Connector, TcpConnector};

use crate::error::{Error, Result};
use crate::tls::{CertificateFailure, Phase, Progress, TlsConnector};
use crate::{proxy, trust};

/// The `User-Agent` sent with every request.
pub const USER_AGENT: &str = concat!("posos-token/", env!("CARGO_PKG_VERSION"));

/// The largest response body read. Google's token responses are under 2 KiB.
pub const MAX_BODY_BYTES: u64 = 64 * 1024;

/// The maximum wait for a TCP and TLS connection, kept well under the default 30 s budget so
/// that a retry still has time when a connection attempt hangs.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// An agent for requests to one URL, and the phase its current request has reached.
pub struct Client {
    pub agent: Agent,
    pub progress: Arc<Progress>,
    /// The proxy that requests go through, when there is one.
    pub proxy: Option<ProxyInUse>,
}

/// The proxy of a client: the variable it came from, its URL without credentials, and
/// whether that URL carries a user name.
#[derive(Clone, Debug)]
pub struct ProxyInUse {
    pub variable: &'static str,
    pub url: String,
    pub has_credentials: bool,
}

impl Client {
    /// Turns a transport error into a message naming `url` and the failed phase, or the proxy
    /// when the failure was reaching the proxy itself.
    pub fn error(&self, err: ureq::Error, url: &str) -> Error {
        let phase = self.progress.get();
        let Some(proxy) = &self.proxy else {
            return transport_error_in(err, url, Some(phase));
        };
        match err {
            ureq::Error::ConnectProxyFailed(reason) => proxy_error(&reason, url, Some(proxy)),
            ureq::Error::Io(io_err) if phase == Phase::Connect => {
                let reason = match io_err.kind() {
                    io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
                    io::ErrorKind::ConnectionReset => "connection reset".to_string(),
                    _ => io_err.to_string(),
                };
                proxy_connect_error(proxy, &format!(": {reason}"))
            }
            ureq::Error::ConnectionFailed | ureq::Error::HostNotFound
                if phase == Phase::Connect =>
            {
                proxy_connect_error(proxy, "")
            }
            other => transport_error_in(other, url, Some(phase)),
        }
    }
}

/// Builds a client for `url` whose requests end by `deadline`: the proxy comes from the
/// environment (see [`crate::proxy`]), https trusts the roots of [`crate::trust`], redirects
/// are not followed, and 4xx and 5xx responses are returned instead of errors.
///
/// The trusted roots are loaded here, on the first https request, and a bad `--ca-file` or
/// `SSL_CERT_FILE` fails here, before any connection.
pub fn client(url: &str, deadline: Instant) -> Result<Client> {
    let uri: Uri = url
        .parse()
        .map_err(|_| Error::config(format!("{url} is not a valid URL")))?;
    let scheme = uri.scheme_str().unwrap_or("https");
    let host = uri.host().unwrap_or_default();

    let route = proxy::choose(scheme, host, |name| std::env::var(name).ok());
    static LOG_ROUTE: Once = Once::new();
    LOG_ROUTE.call_once(|| proxy::log_route(&route, host));
    let ureq_proxy = proxy::to_ureq(&route)?;
    let proxy_in_use = match (&route, &ureq_proxy) {
        (proxy::Route::Proxy { variable, url }, Some(parsed)) => Some(ProxyInUse {
            variable,
            url: proxy::redact(url),
            has_credentials: parsed.username().is_some(),
        }),
        _ => None,
    };

    let proxy_is_https = ureq_proxy
        .as_ref()
        .is_some_and(|p| p.protocol() == ureq::ProxyProtocol::Https);
    let roots = if scheme.eq_ignore_ascii_case("https") || proxy_is_https {
        Some(trust::roots()?)
    } else {
        None
    };

    let remaining = deadline.saturating_duration_since(Instant::now());
    let config = Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .max_redirects_will_error(false)
        .user_agent(USER_AGENT)
        .accept("application/json")
        .proxy(ureq_proxy)
        .timeout_global(Some(remaining))
        // Not capped at `remaining`: when less than CONNECT_TIMEOUT is left, the global
        // timeout fires first and is reported as the end of the budget.
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .build();

    let progress = Arc::new(Progress::default());
    let connector =
        ().chain(ConnectProxyConnector::default())
            .chain(TcpConnector::default())
            .chain(TlsConnector::new(roots, progress.clone()));
    let agent = Agent::with_parts(config, connector, DefaultResolver::default());
    Ok(Client {
        agent,
        progress,
        proxy: proxy_in_use,
    })
}

/// Turns a transport error into a message naming `url` and what failed.
pub fn transport_error(err: ureq::Error, url: &str) -> Error {
    transport_error_in(err, url, None)
}

/// Turns a transport error into a message naming `url` and the phase that failed. `phase`
/// is where the request was when the error came, when the caller tracked it.
pub fn transport_error_in(err: ureq::Error, url: &str, phase: Option<Phase>) -> Error {
    let during = |fallback: &'static str| phase.map_or(fallback, Phase::describe);
    match err {
        ureq::Error::Timeout(ureq::Timeout::Connect) => Error::temporary(format!(
            "timed out connecting to {url} after {} s",
            CONNECT_TIMEOUT.as_secs()
        ))
        .hint("check the network connection and any proxy settings"),
        ureq::Error::Timeout(kind @ (ureq::Timeout::Global | ureq::Timeout::PerCall)) => {
            Error::temporary(format!(
                "timed out while {} at {url}: the --timeout budget ran out",
                during(describe_timeout(kind))
            ))
            .hint("check the network, or raise --timeout")
            .not_retryable()
        }
        ureq::Error::Timeout(kind) => Error::temporary(format!(
            "timed out talking to {url} ({})",
            describe_timeout(kind)
        ))
        .hint("check the network, or raise --timeout"),
        ureq::Error::Other(inner) => match inner.downcast::<CertificateFailure>() {
            Ok(failure) => certificate_error(&failure, url),
            Err(other) => {
                Error::temporary(format!("the request to {url} failed: {other}")).hint(NETWORK_HINT)
            }
        },
        ureq::Error::Rustls(reason) if is_not_tls(&reason.to_string()) => not_tls_error(url),
        ureq::Error::Rustls(reason) => {
            Error::temporary(format!("the TLS handshake with {url} failed: {reason}"))
                .hint("a proxy or firewall may be interfering with TLS")
        }
        ureq::Error::ConnectProxyFailed(reason) => proxy_error(&reason, url, None),
        ureq::Error::HostNotFound => {
            Error::temporary(format!("failed to resolve the host of {url}"))
                .hint("check DNS and the network connection")
        }
        ureq::Error::ConnectionFailed => Error::temporary(format!("failed to connect to {url}"))
            .hint("check the network connection and any proxy settings"),
        ureq::Error::Io(io_err) => io_error(&io_err, url, phase),
        ureq::Error::BodyExceedsLimit(_) => Error::protocol(format!(
            "the response from {url} is larger than {} KiB, so it is not a token response",
            MAX_BODY_BYTES / 1024
        ))
        .hint("check the URL; a proxy or portal may have answered in place of Google"),
        ureq::Error::Tls(reason) => Error::temporary(format!("TLS with {url} failed: {reason}"))
            .hint("a proxy or firewall may be interfering with TLS"),
        ureq::Error::Protocol(_) => Error::protocol(format!(
            "{url} returned something that is not valid HTTP"
        ))
        .hint("check the URL's scheme and port: an https URL must not name a plain-http port"),
        other => {
            Error::temporary(format!("the request to {url} failed: {other}")).hint(NETWORK_HINT)
        }
    }
}

/// Explains an untrusted certificate. Another attempt would get the same certificate, so it
/// is not retried.
fn certificate_error(failure: &CertificateFailure, url: &str) -> Error {
    let host = &failure.host;
    let presented = match (&failure.subject, &failure.issuer) {
        (Some(subject), Some(issuer)) => {
            format!("{host} presented a certificate for \"{subject}\" issued by \"{issuer}\"")
        }
        _ => format!("{host} presented a certificate that can't be read"),
    };
    Error::temporary(format!(
        "TLS with {url} failed: {presented}, and {}",
        failure.reason
    ))
    .hint(format!(
        "a proxy may be intercepting TLS to {host}: if it is your organization's, add its CA certificate with --ca-file FILE (PEM) or to the system certificate store"
    ))
    .not_retryable()
}

/// Explains a failure to reach the proxy itself; `reason` follows the message as written.
fn proxy_connect_error(proxy: &ProxyInUse, reason: &str) -> Error {
    Error::temporary(format!(
        "failed to connect to the proxy {} (from {}){reason}",
        proxy.url, proxy.variable
    ))
    .hint(format!(
        "check that the proxy is running and that {} names it, or unset {} to connect directly",
        proxy.variable, proxy.variable
    ))
}

/// Explains a proxy's refusal to open a tunnel. ureq 3 reports a refusal as "proxy server
/// responded STATUS/…". A 4xx refusal (407 for missing or wrong credentials, 403 for a blocked
/// host) would come back the same on a retry; 407 is a proxy setting to fix, so it is exit 78.
fn proxy_error(reason: &str, url: &str, proxy: Option<&ProxyInUse>) -> Error {
    let reason: String = reason
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    let status = reason
        .strip_prefix("proxy server responded ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse::<u16>().ok());
    let named = proxy.map_or_else(
        || "the proxy".to_string(),
        |p| format!("the proxy {} (from {})", p.url, p.variable),
    );
    let variable = proxy.map_or("HTTPS_PROXY", |p| p.variable);
    match status {
        Some(407) if proxy.is_some_and(|p| p.has_credentials) => Error::config(format!(
            "{named} rejected the user name and password in {variable} (HTTP 407)"
        ))
        .hint(format!("check the user name and password in {variable}")),
        Some(407) => Error::config(format!(
            "{named} requires authentication (HTTP 407)"
        ))
        .hint(format!(
            "put the user name and password in {variable}, as in http://user:password@proxy.example.com:3128"
        )),
        Some(status @ 400..=499) => Error::temporary(format!(
            "{named} refused to open a tunnel to {url} (HTTP {status})"
        ))
        .hint("ask the proxy's administrator to allow the token endpoint's host, or add the host to NO_PROXY")
        .not_retryable(),
        Some(status) => Error::temporary(format!(
            "{named} failed to open a tunnel to {url} (HTTP {status})"
        ))
        .hint(format!("check {variable}, or add the host to NO_PROXY")),
        None => Error::temporary(format!(
            "{named} failed to open a tunnel to {url}: {reason}"
        ))
        .hint(format!("check {variable}, or add the host to NO_PROXY")),
    }
}

fn io_error(err: &io::Error, url: &str, phase: Option<Phase>) -> Error {
    let reason = match err.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused",
        io::ErrorKind::ConnectionReset => "connection reset",
        io::ErrorKind::ConnectionAborted => "connection aborted",
        io::ErrorKind::UnexpectedEof => "connection closed before the response was complete",
        io::ErrorKind::TimedOut => "timed out",
        _ if is_not_tls(&err.to_string()) => return not_tls_error(url),
        // The system resolver's failure comes as an uncategorized I/O error.
        _ if err.to_string().contains("lookup address") => {
            return Error::temporary(format!("failed to resolve the host of {url}: {err}"))
                .hint("check the host name in the URL and this machine's DNS; behind a proxy, set HTTPS_PROXY");
        }
        _ => {
            return Error::temporary(format!("the request to {url} failed: {err}"))
                .hint(NETWORK_HINT);
        }
    };
    let during = phase
        .map(|p| format!(" while {}", p.describe()))
        .unwrap_or_default();
    Error::temporary(format!("failed to reach {url}: {reason}{during}"))
        .hint("check that the token endpoint is reachable from this machine")
}

/// Returns whether a TLS failure's text shows that the server sent something other than TLS:
/// rustls reports a plain-HTTP response to its handshake as a corrupt message of type
/// InvalidContentType.
fn is_not_tls(reason: &str) -> bool {
    reason.contains("InvalidContentType")
}

/// Explains an https URL whose server does not speak TLS. Another attempt would meet the same
/// server, so it is not retried.
fn not_tls_error(url: &str) -> Error {
    Error::protocol(format!(
        "{url} did not respond with TLS: the server on that port probably speaks plain HTTP"
    ))
    .hint("check the URL's scheme and port")
    .not_retryable()
}

/// The hint for a network failure without a more precise one.
const NETWORK_HINT: &str = "check the network connection and any proxy settings";

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit_code::ExitCode;

    const URL: &str = "https://oauth2.googleapis.com/token";

    #[test]
    fn resolver_failure_is_named_with_a_hint() {
        let err =
            io::Error::other("failed to lookup address information: Name or service not known");
        let err = io_error(&err, URL, None);
        assert_eq!(err.class(), ExitCode::Temporary);
        assert!(
            err.message().starts_with("failed to resolve the host of"),
            "{}",
            err.message()
        );
        assert!(err.hints()[0].contains("DNS"));
    }

    #[test]
    fn plain_http_server_on_https_url_is_named() {
        let err = io::Error::other("received corrupt message of type InvalidContentType");
        let err = io_error(&err, URL, None);
        assert_eq!(err.class(), ExitCode::Protocol);
        assert!(!err.is_retryable());
        assert!(
            err.message().contains("did not respond with TLS"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn unknown_io_failure_has_a_hint() {
        let err = io_error(&io::Error::other("strange"), URL, None);
        assert!(err.message().contains("strange"));
        assert_eq!(err.hints(), [NETWORK_HINT]);
    }

    #[test]
    fn network_failures_are_retryable() {
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        for err in [
            ureq::Error::HostNotFound,
            ureq::Error::ConnectionFailed,
            ureq::Error::Io(refused),
            ureq::Error::Timeout(ureq::Timeout::Connect),
        ] {
            let mapped = transport_error_in(err, URL, Some(Phase::Connect));
            assert_eq!(mapped.class(), ExitCode::Temporary);
            assert!(mapped.is_retryable(), "{}", mapped.message());
            assert!(mapped.message().contains(URL));
        }
    }

    #[test]
    fn budget_timeout_names_phase_and_stops() {
        let err = ureq::Error::Timeout(ureq::Timeout::Global);
        let mapped = transport_error_in(err, URL, Some(Phase::Tls));
        assert_eq!(mapped.class(), ExitCode::Temporary);
        assert!(!mapped.is_retryable());
        assert!(mapped.message().contains("doing the TLS handshake"));
    }

    #[test]
    fn reset_names_phase() {
        let err = ureq::Error::Io(io::Error::from(io::ErrorKind::ConnectionReset));
        let mapped = transport_error_in(err, URL, Some(Phase::Body));
        assert!(
            mapped
                .message()
                .contains("connection reset while receiving the response body")
        );
    }

    #[test]
    fn untrusted_certificate_names_issuer_and_stops() {
        let failure = CertificateFailure {
            host: "oauth2.googleapis.com".into(),
            reason: "its issuer is not a trusted certificate authority".into(),
            issuer: Some("CN=Corp Proxy CA".into()),
            subject: Some("CN=oauth2.googleapis.com".into()),
        };
        let mapped = transport_error_in(ureq::Error::Other(Box::new(failure)), URL, None);
        assert_eq!(mapped.class(), ExitCode::Temporary);
        assert!(!mapped.is_retryable());
        assert!(mapped.message().contains("\"CN=Corp Proxy CA\""));
        assert!(mapped.hints()[0].contains("--ca-file"));
    }
}
