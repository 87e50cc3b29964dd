//! The token exchange at Google's Security Token Service (RFC 8693): a subject token from
//! another identity provider in, a federated access token out.

use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::oauth::{AccessToken, CLOUD_PLATFORM_SCOPE};
use super::response::{self, form_body};
use crate::credentials::ExternalAccount;
use crate::error::Result;
use crate::http;
use crate::secret::Secret;

/// The grant type of RFC 8693.
pub const TOKEN_EXCHANGE_GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// The token type requested from STS.
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// Exchanges `subject_token` at the account's `token_url` for a federated access token.
pub fn exchange(
    account: &ExternalAccount,
    subject_token: &Secret<String>,
    deadline: Instant,
) -> Result<AccessToken> {
    let client_auth = match (&account.client_id, &account.client_secret) {
        (Some(id), Some(secret)) => Some(Secret::new(format!(
            "Basic {}",
            STANDARD.encode(format!("{id}:{}", secret.expose()))
        ))),
        _ => None,
    };
    // Workforce pools bill a project; Google takes it in `options` only when no client
    // authenticates the request.
    let options = match (&account.workforce_pool_user_project, &client_auth) {
        (Some(project), None) => Some(serde_json::json!({ "userProject": project }).to_string()),
        _ => None,
    };
    let mut pairs = vec![
        ("grant_type", TOKEN_EXCHANGE_GRANT_TYPE),
        ("audience", account.audience.as_str()),
        ("scope", CLOUD_PLATFORM_SCOPE),
        ("requested_token_type", ACCESS_TOKEN_TYPE),
        ("subject_token", subject_token.expose().as_str()),
        ("subject_token_type", account.subject_token_type.as_str()),
    ];
    if let Some(options) = &options {
        pairs.push(("options", options));
    }
    let body = form_body(&pairs);

    let url = &account.token_url;
    log::info!(
        "exchanging the subject token at {url} for audience {}",
        account.audience
    );
    let answer = response::with_retries(url, deadline, || {
        let mut request = http::client(url, deadline)?
            .agent
            .post(url)
            .content_type("application/x-www-form-urlencoded");
        if let Some(auth) = &client_auth {
            request = request.header("Authorization", auth.expose().as_str());
        }
        response::send(request, body.expose(), url)
    })?;
    if answer.status != 200 {
        let error = answer.error(url);
        return Err(if error.class() == crate::exit_code::ExitCode::Refused {
            error.hint(format!(
                    "STS did not accept the subject token for {}: check the provider's attribute conditions and that the token is fresh",
                    account.audience
                ))
        } else {
            error
        });
    }
    answer.secret_field("access_token", url).map(AccessToken)
}
