//! Choosing the proxy for a request from the environment, the way curl does: `HTTPS_PROXY`
//! (or `https_proxy`) for https URLs, `http_proxy` for http URLs, `ALL_PROXY` (or
//! `all_proxy`) for both, and `NO_PROXY` (or `no_proxy`) for hosts that bypass the proxy.
//!
//! ureq reads these variables itself, but it prefers `ALL_PROXY` over `HTTPS_PROXY`, also
//! uses `HTTP_PROXY` for https URLs and can't say which variable it used. Choosing here keeps
//! curl's precedence and lets `-v` name the variable.

use std::net::IpAddr;

use crate::error::{Error, Result};

/// Variables read for an https URL, in order of precedence.
const HTTPS_VARIABLES: [&str; 4] = ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"];

/// Variables read for a plain http URL. Only the lower-case `http_proxy` is read, as curl
/// does, because CGI servers put a request's `Proxy:` header in `HTTP_PROXY`.
const HTTP_VARIABLES: [&str; 3] = ["http_proxy", "ALL_PROXY", "all_proxy"];

const NO_PROXY_VARIABLES: [&str; 2] = ["NO_PROXY", "no_proxy"];

/// The route of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// No proxy variable is set.
    Direct,
    /// A proxy is set, but an entry of `NO_PROXY` matches the host.
    Bypass {
        variable: &'static str,
        entry: String,
    },
    /// Through the proxy at `url`, read from `variable`.
    Proxy { variable: &'static str, url: String },
}

/// Chooses the route to `host` for a URL of `scheme`, reading variables through `lookup`
/// (`std::env::var` outside tests). An empty variable counts as unset.
pub fn choose(scheme: &str, host: &str, lookup: impl Fn(&str) -> Option<String>) -> Route {
    let value = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
    let variables: &[&'static str] = if scheme.eq_ignore_ascii_case("https") {
        &HTTPS_VARIABLES
    } else {
        &HTTP_VARIABLES
    };
    let Some((variable, url)) = variables
        .iter()
        .find_map(|name| value(name).map(|url| (*name, url)))
    else {
        return Route::Direct;
    };

    for no_proxy_variable in NO_PROXY_VARIABLES {
        if let Some(list) = value(no_proxy_variable) {
            if let Some(entry) = list
                .split([',', ' '])
                .map(str::trim)
                .find(|entry| !entry.is_empty() && no_proxy_matches(entry, host))
            {
                return Route::Bypass {
                    variable: no_proxy_variable,
                    entry: entry.to_string(),
                };
            }
            break;
        }
    }
    Route::Proxy {
        variable,
        url: url.trim().to_string(),
    }
}

/// Returns whether one `NO_PROXY` entry matches `host`. `*` matches every host. A domain
/// matches itself and its subdomains, with or without a leading `.` or `*.`. An IP address
/// matches itself, and a CIDR block such as `10.0.0.0/8` matches the addresses in it.
/// A `:port` suffix on the entry is ignored.
pub fn no_proxy_matches(entry: &str, host: &str) -> bool {
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let entry = entry.to_ascii_lowercase();
    if entry == "*" {
        return true;
    }
    if let Some((network, prefix)) = entry.split_once('/') {
        return cidr_contains(network, prefix, &host);
    }
    let entry = strip_port(&entry);
    if let (Ok(entry_ip), Ok(host_ip)) = (entry.parse::<IpAddr>(), host.parse::<IpAddr>()) {
        return entry_ip == host_ip;
    }
    let domain = entry
        .trim_start_matches("*.")
        .trim_start_matches('.')
        .trim_end_matches('.');
    !domain.is_empty()
        && (host == domain
            || host
                .strip_suffix(domain)
                .is_some_and(|rest| rest.ends_with('.')))
}

fn strip_port(entry: &str) -> &str {
    if let Some(rest) = entry.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match entry.rsplit_once(':') {
        // More than one colon is an IPv6 address without a port.
        Some((name, port)) if !name.contains(':') && port.parse::<u16>().is_ok() => name,
        _ => entry,
    }
}

fn cidr_contains(network: &str, prefix: &str, host: &str) -> bool {
    let (Ok(network), Ok(prefix), Ok(host)) = (
        network.parse::<IpAddr>(),
        prefix.parse::<u32>(),
        host.parse::<IpAddr>(),
    ) else {
        return false;
    };
    match (network, host) {
        (IpAddr::V4(network), IpAddr::V4(host)) if prefix <= 32 => {
            let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
            u32::from(network) & mask == u32::from(host) & mask
        }
        (IpAddr::V6(network), IpAddr::V6(host)) if prefix <= 128 => {
            let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
            u128::from(network) & mask == u128::from(host) & mask
        }
        _ => false,
    }
}

/// Returns the proxy URL without a user name or password, for logs and messages.
pub fn redact(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let host = match authority.rsplit_once('@') {
        Some((_, host)) => format!("***@{host}"),
        None => authority.to_string(),
    };
    if scheme.is_empty() {
        format!("{host}{path}")
    } else {
        format!("{scheme}://{host}{path}")
    }
}

/// Builds the ureq proxy for a route, or `None` for a direct connection.
pub fn to_ureq(route: &Route) -> Result<Option<ureq::Proxy>> {
    let Route::Proxy { variable, url } = route else {
        return Ok(None);
    };
    let invalid = || {
        Error::config(format!(
            "{variable} is not a valid proxy URL: {}",
            redact(url)
        ))
        .hint(format!(
            "set {variable} to the proxy's URL, as in http://proxy.example.com:3128, or unset it"
        ))
    };
    let proxy = ureq::Proxy::new(url).map_err(|_| invalid())?;
    if !matches!(
        proxy.protocol(),
        ureq::ProxyProtocol::Http | ureq::ProxyProtocol::Https
    ) {
        return Err(Error::config(format!(
            "{variable} names a SOCKS proxy ({}), which this tool does not support",
            redact(url)
        ))
        .hint("use an HTTP proxy that supports CONNECT, as in http://proxy.example.com:3128"));
    }
    Ok(Some(proxy))
}

/// Logs the route at `-v`.
pub fn log_route(route: &Route, host: &str) {
    match route {
        Route::Direct => log::info!("connecting to {host} directly: no proxy variable is set"),
        Route::Bypass { variable, entry } => {
            log::info!("connecting to {host} directly: {variable} entry {entry:?} matches the host")
        }
        Route::Proxy { variable, url } => log::info!(
            "connecting to {host} through the proxy {} from {variable}",
            redact(url)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn route(scheme: &str, host: &str, vars: &[(&str, &str)]) -> Route {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        choose(scheme, host, |name| vars.get(name).cloned())
    }

    fn proxy(variable: &'static str, url: &str) -> Route {
        Route::Proxy {
            variable,
            url: url.into(),
        }
    }

    #[test]
    fn no_variables_means_direct() {
        assert_eq!(route("https", "oauth2.googleapis.com", &[]), Route::Direct);
    }

    #[test]
    fn https_proxy_wins_over_all_proxy() {
        let vars = [
            ("ALL_PROXY", "http://all:1"),
            ("HTTPS_PROXY", "http://https:1"),
        ];
        assert_eq!(
            route("https", "h", &vars),
            proxy("HTTPS_PROXY", "http://https:1")
        );
    }

    #[test]
    fn each_variable_is_read() {
        for name in ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"] {
            let found = route("https", "h", &[(name, "http://p:3128")]);
            assert!(matches!(found, Route::Proxy { variable, .. } if variable == name));
        }
    }

    #[test]
    fn http_proxy_upper_case_is_ignored() {
        assert_eq!(
            route("https", "h", &[("HTTP_PROXY", "http://p:1")]),
            Route::Direct
        );
        assert_eq!(
            route("http", "h", &[("HTTP_PROXY", "http://p:1")]),
            Route::Direct
        );
        assert_eq!(
            route("http", "h", &[("http_proxy", "http://p:1")]),
            proxy("http_proxy", "http://p:1")
        );
    }

    #[test]
    fn empty_variable_counts_as_unset() {
        let vars = [("HTTPS_PROXY", ""), ("https_proxy", "http://p:1")];
        assert_eq!(
            route("https", "h", &vars),
            proxy("https_proxy", "http://p:1")
        );
    }

    #[test]
    fn no_proxy_bypasses_matching_host() {
        let vars = [
            ("HTTPS_PROXY", "http://p:1"),
            ("NO_PROXY", "example.com, .googleapis.com"),
        ];
        assert_eq!(
            route("https", "oauth2.googleapis.com", &vars),
            Route::Bypass {
                variable: "NO_PROXY",
                entry: ".googleapis.com".into()
            }
        );
        assert_eq!(
            route("https", "other.org", &vars),
            proxy("HTTPS_PROXY", "http://p:1")
        );
    }

    #[test]
    fn lower_case_no_proxy_is_read() {
        let vars = [("HTTPS_PROXY", "http://p:1"), ("no_proxy", "127.0.0.1")];
        assert!(matches!(
            route("https", "127.0.0.1", &vars),
            Route::Bypass { .. }
        ));
    }

    #[test]
    fn no_proxy_entries() {
        let cases = [
            ("*", "anything.example", true),
            ("googleapis.com", "googleapis.com", true),
            ("googleapis.com", "oauth2.googleapis.com", true),
            ("googleapis.com", "notgoogleapis.com", false),
            (".googleapis.com", "googleapis.com", true),
            ("*.googleapis.com", "oauth2.googleapis.com", true),
            ("GoogleApis.com", "OAUTH2.googleapis.com.", true),
            ("googleapis.com:443", "oauth2.googleapis.com", true),
            ("127.0.0.1", "127.0.0.1", true),
            ("127.0.0.1", "127.0.0.2", false),
            ("127.0.0.0/8", "127.1.2.3", true),
            ("10.0.0.0/8", "127.0.0.1", false),
            ("::1", "[::1]", true),
            ("[::1]:8080", "[::1]", true),
            ("::1/128", "[::1]", true),
            ("0.0.0.0/0", "192.0.2.1", true),
            ("10.0.0.0/99", "10.0.0.1", false),
            ("", "example.com", false),
            (".", "example.com", false),
        ];
        for (entry, host, expected) in cases {
            assert_eq!(no_proxy_matches(entry, host), expected, "{entry} vs {host}");
        }
    }

    #[test]
    fn redact_hides_credentials() {
        assert_eq!(redact("http://user:pw@proxy:3128"), "http://***@proxy:3128");
        assert_eq!(redact("http://proxy:3128/"), "http://proxy:3128/");
        assert_eq!(redact("user:pw@proxy:3128"), "***@proxy:3128");
    }

    #[test]
    fn socks_and_junk_are_config_errors() {
        let socks = proxy("ALL_PROXY", "socks5://127.0.0.1:1080");
        let err = to_ureq(&socks).unwrap_err();
        assert_eq!(err.class(), crate::exit_code::ExitCode::Config);
        assert!(err.message().contains("SOCKS"));
        let junk = proxy("HTTPS_PROXY", "http://[bad");
        assert!(to_ureq(&junk).is_err());
        assert!(
            to_ureq(&proxy("HTTPS_PROXY", "http://127.0.0.1:3128"))
                .unwrap()
                .is_some()
        );
    }
}
