//! The IAM Credentials API methods that impersonation uses. `generateIdToken` returns an
//! identity token of a service account to a caller allowed to act as it. `generateAccessToken`
//! serves a chain whose first link is the service account named in a credentials file.

use std::time::Instant;

use serde_json::json;

use super::oauth::{AccessToken, CLOUD_PLATFORM_SCOPE};
use super::response;
use crate::credentials::url::check_endpoint_url;
use crate::error::{Error, Result};
use crate::http;
use crate::id_token::IdToken;

/// The IAM Credentials API's base URL.
pub const DEFAULT_BASE_URL: &str = "https://iamcredentials.googleapis.com";

/// The environment variable that overrides [`DEFAULT_BASE_URL`], so that tests can point it at
/// a loopback server. A URL from a credentials file takes precedence over it.
pub const BASE_URL_ENV: &str = "POSOS_IAM_CREDENTIALS_URL";

/// Returns the base URL that `--impersonate-service-account` uses: `from_file` (the host of a
/// credentials file's impersonation URL) when given, else `POSOS_IAM_CREDENTIALS_URL`, else
/// Google's. The variable's value is checked like a URL from a credentials file.
pub fn base_url(from_file: Option<String>) -> Result<String> {
    if let Some(url) = from_file {
        return Ok(url);
    }
    match std::env::var(BASE_URL_ENV) {
        Ok(url) if !url.is_empty() => {
            check_endpoint_url(&url, BASE_URL_ENV)?;
            Ok(url.trim_end_matches('/').to_string())
        }
        _ => Ok(DEFAULT_BASE_URL.to_string()),
    }
}

/// Returns the URL of `method` (`generateIdToken` or `generateAccessToken`) for `account`.
pub fn method_url(base_url: &str, account: &str, method: &str) -> String {
    format!("{base_url}/v1/projects/-/serviceAccounts/{account}:{method}")
}

/// Returns the resource names that the API expects in `delegates`.
fn delegate_names(delegates: &[String]) -> Vec<String> {
    delegates
        .iter()
        .map(|delegate| {
            if delegate.starts_with("projects/") {
                delegate.clone()
            } else {
                format!("projects/-/serviceAccounts/{delegate}")
            }
        })
        .collect()
}

/// Requests an identity token of `account` for `audience` at `url`, a `generateIdToken` URL,
/// as the caller that `access_token` belongs to.
pub fn generate_id_token(
    url: &str,
    account: &str,
    delegates: &[String],
    audience: &str,
    access_token: &AccessToken,
    deadline: Instant,
) -> Result<IdToken> {
    let body = json!({
        "audience": audience,
        "includeEmail": true,
        "delegates": delegate_names(delegates),
    });
    log::info!("requesting an identity token of {account} at {url}");
    let answer = post_json(url, &body, access_token, deadline)?;
    if answer.status != 200 {
        return Err(explain_refusal(
            answer.error(url),
            answer.status,
            account,
            delegates,
            "iam.serviceAccounts.getOpenIdToken",
            "Service Account OpenID Connect Identity Token Creator (roles/iam.serviceAccountOpenIdTokenCreator)",
        ));
    }
    let token = answer.secret_field("token", url)?;
    let token = IdToken::parse(token).map_err(|reason| {
        Error::protocol(format!(
            "{url} returned a token that can't be read: {reason}"
        ))
    })?;
    let token = crate::clock_skew::note_on_token(token, answer.date.as_deref(), url, false);
    super::check_identity_token(super::require_email(token, url)?, audience, url)
}

/// Requests an access token of `account` at `url`, a `generateAccessToken` URL, as the caller
/// that `access_token` belongs to.
pub fn generate_access_token(
    url: &str,
    account: &str,
    delegates: &[String],
    access_token: &AccessToken,
    deadline: Instant,
) -> Result<AccessToken> {
    let body = json!({
        "scope": [CLOUD_PLATFORM_SCOPE],
        "delegates": delegate_names(delegates),
    });
    log::info!("requesting an access token of {account} at {url}");
    let answer = post_json(url, &body, access_token, deadline)?;
    if answer.status != 200 {
        return Err(explain_refusal(
            answer.error(url),
            answer.status,
            account,
            delegates,
            "iam.serviceAccounts.getAccessToken",
            "Service Account Token Creator (roles/iam.serviceAccountTokenCreator)",
        ));
    }
    answer.secret_field("accessToken", url).map(AccessToken)
}

fn post_json(
    url: &str,
    body: &serde_json::Value,
    access_token: &AccessToken,
    deadline: Instant,
) -> Result<response::Response> {
    let bearer = access_token.bearer();
    let body = body.to_string();
    response::with_retries(url, deadline, || {
        let request = http::client(url, deadline)?
            .agent
            .post(url)
            .header("Authorization", bearer.expose().as_str())
            .content_type("application/json");
        response::send(request, body.as_bytes(), url)
    })
}

/// Adds to a refusal the permission and role that the caller lacks, and on which account.
fn explain_refusal(
    error: Error,
    status: u16,
    account: &str,
    delegates: &[String],
    permission: &str,
    role: &str,
) -> Error {
    match status {
        403 => {
            let on = match delegates.first() {
                Some(first) => format!(
                    "the first delegate {first} (each delegate needs it on the next, the last one on {account})"
                ),
                None => account.to_string(),
            };
            error
                .hint(format!(
                    "the caller lacks the permission {permission} on {on}"
                ))
                .hint(format!(
                    "grant it the role {role} on the service account {account}"
                ))
        }
        404 => error.hint(format!(
            "the service account {account} does not exist: check the email"
        )),
        401 => error.hint("Google did not accept the source credentials' access token"),
        _ => error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delegates_become_resource_names() {
        let names = delegate_names(&[
            "a@p.iam.gserviceaccount.com".into(),
            "projects/-/serviceAccounts/b@p".into(),
        ]);
        assert_eq!(
            names,
            [
                "projects/-/serviceAccounts/a@p.iam.gserviceaccount.com",
                "projects/-/serviceAccounts/b@p"
            ]
        );
    }

    #[test]
    fn method_url_appends_account_and_method() {
        assert_eq!(
            method_url(DEFAULT_BASE_URL, "t@p", "generateIdToken"),
            "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/t@p:generateIdToken"
        );
    }

    #[test]
    fn refusal_names_permission_role_and_account() {
        let err = explain_refusal(
            Error::refused("denied"),
            403,
            "t@p",
            &[],
            "iam.serviceAccounts.getOpenIdToken",
            "Service Account OpenID Connect Identity Token Creator",
        );
        assert!(err.hints()[0].contains("iam.serviceAccounts.getOpenIdToken on t@p"));
        assert!(err.hints()[1].contains("Service Account OpenID Connect Identity Token Creator"));
    }
}
