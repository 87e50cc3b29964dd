//! The metadata server of Google Cloud compute (Compute Engine, GKE, Cloud Run, Cloud
//! Functions, Cloud Build): identity and access tokens of the service account attached to the
//! machine, with no key file.

use std::time::{Duration, Instant};

use ureq::Agent;

use super::oauth::AccessToken;
use super::response;
use crate::error::{Error, Result};
use crate::http::USER_AGENT;
use crate::id_token::IdToken;

/// The metadata server's host name on Google Cloud.
pub const DEFAULT_HOST: &str = "metadata.google.internal";

/// The variable that names the metadata server's `host[:port]`, as in Google's libraries.
pub const HOST_ENV: &str = "GCE_METADATA_HOST";

/// The maximum wait for the metadata server's TCP connection. The server is on the same
/// machine or one network hop away, so a longer wait means there is none.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

const IDENTITY_PATH: &str = "/computeMetadata/v1/instance/service-accounts/default/identity";
const TOKEN_PATH: &str = "/computeMetadata/v1/instance/service-accounts/default/token";

/// A metadata server, and why it was chosen, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataServer {
    /// `host` or `host:port`.
    pub host: String,
    /// The reason it was chosen, such as "GCE_METADATA_HOST is set".
    pub reason: String,
}

impl MetadataServer {
    /// Checks a `GCE_METADATA_HOST` value: a host name or address with an optional port.
    pub fn from_env_value(value: &str) -> Result<Self> {
        let valid = !value.is_empty()
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-.:[]_".contains(c));
        if !valid {
            return Err(Error::config(format!(
                "{HOST_ENV} is not a host or host:port: {}",
                if value.len() <= 100 {
                    value
                } else {
                    "(a long value)"
                }
            ))
            .hint(format!(
                "set {HOST_ENV} to a host such as {DEFAULT_HOST} or 127.0.0.1:8080, or unset it"
            )));
        }
        Ok(MetadataServer {
            host: value.to_string(),
            reason: format!("{HOST_ENV} is set"),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.host)
    }

    /// Requests an identity token for `audience`, with `format=full` so that it carries the
    /// `email` claim that IAP needs.
    pub fn identity_token(&self, audience: &str, deadline: Instant) -> Result<IdToken> {
        let url = self.url(IDENTITY_PATH);
        log::info!(
            "requesting an identity token from the metadata server at {url} ({})",
            self.reason
        );
        let answer = self.call(&url, deadline, |agent| {
            agent
                .get(&url)
                .header("Metadata-Flavor", "Google")
                .query("audience", audience)
                .query("format", "full")
        })?;
        let text = std::str::from_utf8(answer.body.expose())
            .map(|text| text.trim().to_string())
            .map_err(|_| Error::protocol(format!("{url} returned a body that is not text")))?;
        let token = IdToken::parse(crate::secret::Secret::new(text)).map_err(|reason| {
            Error::protocol(format!(
                "{url} returned something that is not a JWT: {reason}"
            ))
        })?;
        let token = crate::clock_skew::note_on_token(token, answer.date.as_deref(), &url, false);
        super::check_identity_token(super::require_email(token, &url)?, audience, &url)
    }

    /// Requests an access token of the attached service account, to impersonate another.
    pub fn access_token(&self, deadline: Instant) -> Result<AccessToken> {
        let url = self.url(TOKEN_PATH);
        log::info!(
            "requesting an access token from the metadata server at {url} ({})",
            self.reason
        );
        let answer = self.call(&url, deadline, |agent| {
            agent.get(&url).header("Metadata-Flavor", "Google")
        })?;
        answer.secret_field("access_token", &url).map(AccessToken)
    }

    /// Sends the request that `build` makes with a fresh agent, retrying a transient failure,
    /// and checks that a metadata server responded with HTTP 200.
    fn call(
        &self,
        url: &str,
        deadline: Instant,
        build: impl Fn(Agent) -> ureq::RequestBuilder<ureq::typestate::WithoutBody>,
    ) -> Result<response::Response> {
        let answer = response::with_retries(url, deadline, || {
            response::get(build(agent(deadline)), url)
        })
        .map_err(|err| {
            err.hint(format!(
                "the metadata server was chosen because {}; unset {HOST_ENV} or set NO_GCE_CHECK=true if this machine has none",
                self.reason
            ))
        })?;
        if answer.metadata_flavor.as_deref() != Some("Google") {
            return Err(Error::protocol(format!(
                "{url} responded without the header Metadata-Flavor: Google, so it is not a metadata server"
            ))
            .hint(format!("check {HOST_ENV}, because another server responded at {}", self.host)));
        }
        match answer.status {
            200 => Ok(answer),
            404 => Err(answer.error(url).hint(
                "this machine has no service account attached: attach one, or use a key file",
            )),
            403 => Err(answer.error(url).hint(
                "the metadata server refused: check the access scopes of the attached service account",
            )),
            _ => Err(answer.error(url)),
        }
    }
}

/// Builds an agent that never uses a proxy, because the metadata server is only reachable
/// directly, with a 1 s connect timeout.
fn agent(deadline: Instant) -> Agent {
    let remaining = deadline.saturating_duration_since(Instant::now());
    Agent::config_builder()
        .proxy(None)
        .http_status_as_error(false)
        .max_redirects(0)
        .max_redirects_will_error(false)
        .user_agent(USER_AGENT)
        .timeout_global(Some(remaining))
        .timeout_connect(Some(CONNECT_TIMEOUT.min(remaining)))
        .build()
        .new_agent()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_value_accepts_host_and_port() {
        for value in ["metadata.google.internal", "127.0.0.1:8080", "[::1]:80"] {
            assert!(MetadataServer::from_env_value(value).is_ok(), "{value}");
        }
    }

    #[test]
    fn host_value_rejects_urls_and_paths() {
        for value in ["", "http://127.0.0.1", "127.0.0.1/x", "a b", "user@host"] {
            assert!(MetadataServer::from_env_value(value).is_err(), "{value}");
        }
    }
}
