//! Self-signed identity tokens: a JWT that the service account signs itself, with the URL of
//! the IAP-protected resource as `aud`. IAP accepts it when that service account is authorised
//! on the resource; no request is sent to make it.

use crate::assertion::{ASSERTION_LIFETIME_SECS, AssertionSigner, Claims, IAT_BACKDATE_SECS};
use crate::credentials::{Credentials, ServiceAccountKey};
use crate::error::{Error, Result};
use crate::exit_code::ExitCode;
use crate::id_token::IdToken;

use super::Source;

/// Signs a JWT for `url` with the service-account key of `source`, at `now` (seconds since the
/// Unix epoch). The token's `iss` and `sub` are the account, `exp` is `iat` + 3600 and the
/// header's `kid` is the key's id, which IAP looks the public key up by.
pub fn sign(source: Source, url: &str, now: i64) -> Result<IdToken> {
    let key = service_account_key(source)?;
    let Some(kid) = key.private_key_id.clone() else {
        return Err(Error::config(
            "--self-signed needs the key's private_key_id, which the credentials lack",
        )
        .hint("IAP finds the public key by the JWT's kid: use the key file exactly as Google issued it"));
    };
    let iat = now - IAT_BACKDATE_SECS;
    let claims = Claims {
        iss: key.client_email.clone(),
        sub: key.client_email.clone(),
        aud: url.to_string(),
        iat,
        exp: iat + ASSERTION_LIFETIME_SECS,
        target_audience: None,
    };
    log::info!(
        "signing a self-signed token of {} (key {kid}) for {url}; nothing is sent",
        key.client_email
    );
    let jwt = AssertionSigner::new(key.private_key, Some(kid)).sign(&claims);
    IdToken::parse(jwt).map_err(|reason| {
        Error::protocol(format!(
            "the self-signed token can't be read back: {reason}"
        ))
    })
}

/// Rejects `--self-signed` together with impersonation, which may come from
/// `POSOS_IMPERSONATE_SERVICE_ACCOUNT` rather than the command line, so clap can't name it.
pub fn reject_impersonation(account: Option<&str>) -> Result<()> {
    match account {
        None => Ok(()),
        Some(account) => Err(Error::new(
            ExitCode::Usage,
            format!(
                "--self-signed signs with the key's own account, so it can't impersonate {account}"
            ),
        )
        .hint("drop --impersonate-service-account, and unset POSOS_IMPERSONATE_SERVICE_ACCOUNT if it is set")),
    }
}

fn service_account_key(source: Source) -> Result<ServiceAccountKey> {
    let hint = "--self-signed signs with a service-account key file: pass one with --credentials, or drop --self-signed to use the token exchange";
    match source {
        Source::File {
            credentials: Credentials::ServiceAccount(key),
            ..
        } => Ok(key),
        Source::File {
            origin,
            credentials,
        } => Err(Error::config(format!(
            "--self-signed needs a service-account key, but {origin} contains {}",
            super::type_name(&credentials)
        ))
        .hint(hint)),
        Source::MetadataServer(server) => Err(Error::config(format!(
            "--self-signed needs a service-account key, but the credentials found are the metadata server at {}",
            server.host
        ))
        .hint(hint)),
    }
}
