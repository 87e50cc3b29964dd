//! Obtaining an identity token from loaded credentials.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::assertion::{AssertionSigner, Claims};
use crate::credentials::ServiceAccountKey;
use crate::error::Result;
use crate::id_token::IdToken;
use crate::token_endpoint::KeyIdentity;

/// Exchanges a signed assertion for an identity token whose audience is `audience`.
pub fn from_service_account(
    key: ServiceAccountKey,
    audience: &str,
    deadline: Instant,
) -> Result<IdToken> {
    let identity = KeyIdentity {
        client_email: key.client_email.clone(),
        private_key_id: key.private_key_id.clone(),
    };
    let claims = Claims::for_token_endpoint(&key, audience, unix_now());
    let token_uri = key.token_uri;
    let signer = AssertionSigner::new(key.private_key, key.private_key_id);

    log::info!(
        "signing an assertion for {} (key {})",
        identity.client_email,
        identity.private_key_id.as_deref().unwrap_or("without id")
    );
    let token = crate::exchange::exchange(&signer, &claims, &token_uri, &identity, deadline)?;
    crate::sources::check_identity_token(token, audience, &token_uri)
}

/// Returns the current time in seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
