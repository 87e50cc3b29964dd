//! OAuth 2.0 access tokens for source credentials, which impersonation presents to the IAM
//! Credentials API: the JWT-bearer grant with a `scope` for a service-account key (RFC 7523),
//! and the refresh-token grant for a person's gcloud login (RFC 6749 section 6).

use std::time::Instant;

use serde::Serialize;

use super::response::{self, form_body};
use crate::assertion::{ASSERTION_LIFETIME_SECS, AssertionSigner, IAT_BACKDATE_SECS};
use crate::credentials::{AuthorizedUser, ServiceAccountKey};
use crate::error::Result;
use crate::fetch::unix_now;
use crate::http;
use crate::secret::Secret;
use crate::token_endpoint::JWT_BEARER_GRANT_TYPE;

/// The scope of the access tokens that call the IAM Credentials API.
pub const CLOUD_PLATFORM_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

/// An OAuth 2.0 access token, sent only as `Authorization: Bearer` to Google's APIs.
#[derive(Debug)]
pub struct AccessToken(pub Secret<String>);

impl AccessToken {
    /// Returns the `Authorization` header value.
    pub fn bearer(&self) -> Secret<String> {
        Secret::new(format!("Bearer {}", self.0.expose()))
    }
}

/// The claims of a JWT-bearer assertion that requests an access token: `scope` in place of
/// `target_audience`.
#[derive(Serialize)]
struct ScopedClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
    scope: &'a str,
}

/// Gets an access token for a service-account key with the JWT-bearer grant.
pub fn from_service_account(key: ServiceAccountKey, deadline: Instant) -> Result<AccessToken> {
    let ServiceAccountKey {
        client_email,
        private_key_id,
        private_key,
        token_uri,
    } = key;
    let iat = unix_now() - IAT_BACKDATE_SECS;
    let claims = ScopedClaims {
        iss: &client_email,
        sub: &client_email,
        aud: &token_uri,
        iat,
        exp: iat + ASSERTION_LIFETIME_SECS,
        scope: CLOUD_PLATFORM_SCOPE,
    };
    log::info!("signing an assertion for an access token of {client_email}");
    let assertion = AssertionSigner::new(private_key, private_key_id).sign(&claims);
    let body = form_body(&[
        ("grant_type", JWT_BEARER_GRANT_TYPE),
        ("assertion", assertion.expose()),
    ]);
    request_access_token(&token_uri, body, deadline).map_err(|err| {
        err.hint(format!(
            "the token endpoint did not give the key of {client_email} an access token; check that the key is still valid"
        ))
    })
}

/// Gets an access token for a person's gcloud login with the refresh-token grant.
pub fn from_authorized_user(user: &AuthorizedUser, deadline: Instant) -> Result<AccessToken> {
    log::info!("refreshing the user credentials at {}", user.token_uri);
    let body = form_body(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", user.refresh_token.expose()),
        ("client_id", &user.client_id),
        ("client_secret", user.client_secret.expose()),
    ]);
    request_access_token(&user.token_uri, body, deadline).map_err(|err| {
        if err.class() == crate::exit_code::ExitCode::Refused {
            err.hint(
                "the login has expired or was revoked: run gcloud auth application-default login",
            )
        } else {
            err
        }
    })
}

/// POSTs a form to a token endpoint and reads `access_token` from the response.
pub fn request_access_token(
    token_uri: &str,
    body: Secret<Vec<u8>>,
    deadline: Instant,
) -> Result<AccessToken> {
    let answer = response::with_retries(token_uri, deadline, || {
        let request = http::client(token_uri, deadline)?
            .agent
            .post(token_uri)
            .content_type("application/x-www-form-urlencoded");
        response::send(request, body.expose(), token_uri)
    })?;
    if answer.status != 200 {
        return Err(answer.error(token_uri));
    }
    answer
        .secret_field("access_token", token_uri)
        .map(AccessToken)
}
