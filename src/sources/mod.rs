//! Identity tokens from every kind of credentials: a service-account key (the main path in
//! `fetch`), the metadata server, impersonation through the IAM Credentials API, workload
//! identity federation, and self-signed tokens.
//!
//! [`identity_token`] is the one dispatch from discovered credentials to a token, and
//! [`cache_identity`] names what a cached token of that source would be keyed by.

pub mod discovery;
pub mod iam_credentials;
pub mod metadata;
pub mod oauth;
pub mod response;
pub mod self_signed;
pub mod sts;
pub mod subject_token;

use crate::cache::{CacheKey, private_key_digest};
use std::time::Instant;

use sha2::{Digest, Sha256};

use crate::credentials::source::{self, Origin};
use crate::credentials::{self, Credentials, ExternalAccount};
use crate::error::{Error, Result};
use crate::fetch;
use crate::id_token::IdToken;
use discovery::Found;
use metadata::MetadataServer;
use oauth::AccessToken;

/// Loaded credentials.
// One value exists per run, so the size difference between variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Source {
    /// A parsed credentials file, and where it was read.
    File {
        origin: Origin,
        credentials: Credentials,
    },
    /// The metadata server.
    MetadataServer(MetadataServer),
}

/// `--impersonate-service-account` and `--delegates`: the service account whose identity
/// token is requested, and the delegation chain to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Impersonation {
    pub account: String,
    pub delegates: Vec<String>,
}

/// Reads and parses what discovery found. The metadata server needs no reading.
pub fn load(found: Found, deadline: Instant) -> Result<Source> {
    match found {
        Found::File(origin) => {
            log::info!("reading {origin}");
            let bytes = source::read(&origin, deadline)?;
            let credentials = credentials::parse(&bytes, &origin)?;
            Ok(Source::File {
                origin,
                credentials,
            })
        }
        Found::MetadataServer(server) => Ok(Source::MetadataServer(server)),
    }
}

/// Gets an identity token for `audience` from `source`, impersonating a service account when
/// `impersonation` is given.
pub fn identity_token(
    source: Source,
    impersonation: Option<&Impersonation>,
    audience: &str,
    deadline: Instant,
) -> Result<IdToken> {
    if let Some(impersonation) = impersonation {
        return impersonate(source, impersonation, audience, deadline);
    }
    let (origin, credentials) = match source {
        Source::MetadataServer(server) => return server.identity_token(audience, deadline),
        Source::File {
            origin,
            credentials,
        } => (origin, credentials),
    };
    match credentials {
        Credentials::ServiceAccount(key) => fetch::from_service_account(key, audience, deadline),
        Credentials::AuthorizedUser(_) => Err(user_credentials_error(&origin)),
        Credentials::ImpersonatedServiceAccount(file) => {
            let url = &file.impersonation_url;
            let token = access_token(*file.source, deadline)?;
            iam_credentials::generate_id_token(
                &url.id_token_url(),
                &url.account,
                &file.delegates,
                audience,
                &token,
                deadline,
            )
        }
        Credentials::ExternalAccount(account) => {
            let Some(url) = account.impersonation_url.clone() else {
                return Err(Error::config(format!(
                    "{origin} is an external_account without service_account_impersonation_url, and a federated identity gets identity tokens only by impersonating a service account"
                ))
                .hint("create the file again with: gcloud iam workload-identity-pools create-cred-config … --service-account EMAIL")
                .hint("or name the service account to impersonate: --impersonate-service-account EMAIL"));
            };
            let token = federated_access_token(&account, deadline)?;
            iam_credentials::generate_id_token(
                &url.id_token_url(),
                &url.account,
                &[],
                audience,
                &token,
                deadline,
            )
        }
    }
}

/// The error for user credentials used without impersonation.
pub fn user_credentials_error(origin: &Origin) -> Error {
    Error::config(format!(
        "{origin} contains user credentials (type authorized_user), which can't mint an identity token for the Posos audience"
    ))
    .hint("an identity token for another audience needs a service account: use the service-account key file that Posos gave you")
    .hint("or act as a service account that your user may impersonate: --impersonate-service-account EMAIL")
}

/// Gets an access token for `source`, then the identity token of the impersonated account.
fn impersonate(
    source: Source,
    impersonation: &Impersonation,
    audience: &str,
    deadline: Instant,
) -> Result<IdToken> {
    let base_url = iam_credentials::base_url(file_base_url(&source))?;
    let token = match source {
        Source::File { credentials, .. } => access_token(credentials, deadline)?,
        Source::MetadataServer(server) => server.access_token(deadline)?,
    };
    let url = iam_credentials::method_url(&base_url, &impersonation.account, "generateIdToken");
    iam_credentials::generate_id_token(
        &url,
        &impersonation.account,
        &impersonation.delegates,
        audience,
        &token,
        deadline,
    )
}

/// Returns the scheme and host of the IAM Credentials URL in a credentials file, which
/// `--impersonate-service-account` uses in preference to `POSOS_IAM_CREDENTIALS_URL`.
fn file_base_url(source: &Source) -> Option<String> {
    match source {
        Source::File {
            credentials: Credentials::ImpersonatedServiceAccount(file),
            ..
        } => Some(file.impersonation_url.base_url()),
        Source::File {
            credentials: Credentials::ExternalAccount(account),
            ..
        } => account.impersonation_url.as_ref().map(|url| url.base_url()),
        _ => None,
    }
}

/// Gets an access token for credentials from a file, for the IAM Credentials API.
fn access_token(credentials: Credentials, deadline: Instant) -> Result<AccessToken> {
    match credentials {
        Credentials::ServiceAccount(key) => oauth::from_service_account(key, deadline),
        Credentials::AuthorizedUser(user) => oauth::from_authorized_user(&user, deadline),
        Credentials::ExternalAccount(account) => {
            let token = federated_access_token(&account, deadline)?;
            match &account.impersonation_url {
                Some(url) => iam_credentials::generate_access_token(
                    &url.access_token_url(),
                    &url.account,
                    &[],
                    &token,
                    deadline,
                ),
                None => Ok(token),
            }
        }
        Credentials::ImpersonatedServiceAccount(file) => {
            let token = access_token(*file.source, deadline)?;
            let url = &file.impersonation_url;
            iam_credentials::generate_access_token(
                &url.access_token_url(),
                &url.account,
                &file.delegates,
                &token,
                deadline,
            )
        }
    }
}

/// Reads the subject token and exchanges it at STS.
fn federated_access_token(account: &ExternalAccount, deadline: Instant) -> Result<AccessToken> {
    let subject_token = subject_token::read(account, deadline)?;
    sts::exchange(account, &subject_token, deadline)
}

/// Checks that an identity token has the `email` claim, which IAP needs to identify the caller.
pub(crate) fn require_email(token: IdToken, url: &str) -> Result<IdToken> {
    if token.claims().email.is_none() {
        return Err(Error::protocol(format!(
            "{url} returned an identity token without an email claim, which IAP needs"
        ))
        .hint("the server ignored format=full or includeEmail; check that it is Google's"));
    }
    Ok(token)
}

/// Checks what Google guarantees of an identity token it returns: the audience that was
/// requested, and an expiry still ahead by the issuer's clock. A token that fails either would
/// only be refused by IAP, so it is neither printed nor cached.
pub(crate) fn check_identity_token(token: IdToken, audience: &str, url: &str) -> Result<IdToken> {
    let claims = token.claims();
    if claims.aud.as_deref() != Some(audience) {
        return Err(Error::protocol(format!(
            "{url} returned an identity token for audience {}, not the requested {audience}",
            claims.aud.as_deref().map_or("(none)".to_string(), crate::token_endpoint::sanitize)
        ))
        .hint(format!(
            "Google's tokens carry the audience that was asked for, so {url} does not behave like Google's: check that it is the right endpoint"
        )));
    }
    let issuer_now = crate::fetch::unix_now().saturating_add(token.clock_offset());
    if claims.exp <= issuer_now {
        return Err(Error::protocol(format!(
            "{url} returned an identity token that had already expired, at {}",
            crate::output::rfc3339(claims.exp)
        ))
        .hint(format!(
            "check this machine's clock, and that {url} is the right endpoint: Google's tokens are valid for an hour"
        )));
    }
    log::info!(
        "received an identity token for audience {audience} that expires at {}",
        crate::output::rfc3339(claims.exp)
    );
    Ok(token)
}

/// Returns the `type` of credentials, for messages.
pub(crate) fn type_name(credentials: &Credentials) -> &'static str {
    match credentials {
        Credentials::ServiceAccount(_) => "service_account",
        Credentials::AuthorizedUser(_) => "authorized_user",
        Credentials::ImpersonatedServiceAccount(_) => "impersonated_service_account",
        Credentials::ExternalAccount(_) => "external_account",
    }
}

/// Returns the cache key of an identity token from `source` for `audience`.
///
/// A service-account key used directly is keyed as the token cache documents: `client_email`,
/// `private_key_id`, a digest of the key material, the audience and `token_uri`. Every other
/// source is keyed on its [`cache_identity`], plus the key-material digest when a
/// service-account key signs somewhere in the chain, so that a rotated key never gets the old
/// key's token.
pub fn cache_key(
    source: &Source,
    impersonation: Option<&Impersonation>,
    audience: &str,
) -> CacheKey {
    let signing_key = match source {
        Source::File {
            credentials: Credentials::ServiceAccount(key),
            ..
        } => Some(key),
        Source::File {
            credentials: Credentials::ImpersonatedServiceAccount(file),
            ..
        } => match file.source.as_ref() {
            Credentials::ServiceAccount(key) => Some(key),
            _ => None,
        },
        _ => None,
    };
    if let (
        Some(key),
        None,
        Source::File {
            credentials: Credentials::ServiceAccount(_),
            ..
        },
    ) = (signing_key, impersonation, source)
    {
        return CacheKey::for_service_account(key, audience);
    }

    let identity = cache_identity(source, impersonation, audience, None);
    let mut cache_key = CacheKey::new("source").part("identity", &identity.to_key_text());
    if let Some(key) = signing_key {
        cache_key =
            cache_key.secret_part("private_key_sha256", &private_key_digest(&key.private_key));
    }
    cache_key
}

/// The parts that identify where an identity token comes from: two runs with equal parts get
/// interchangeable tokens, so a token cache keys on them. No part is a secret; a user login is
/// identified by a SHA-256 fingerprint of its refresh token.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheIdentity(pub Vec<(String, String)>);

impl CacheIdentity {
    /// Returns the parts as one line per part, `name=value`, for hashing into a cache key.
    pub fn to_key_text(&self) -> String {
        let mut text = String::new();
        for (name, value) in &self.0 {
            text.push_str(name);
            text.push('=');
            text.push_str(&value.replace('\\', "\\\\").replace('\n', "\\n"));
            text.push('\n');
        }
        text
    }
}

/// Returns what a token from `source` for `audience` is cached under. The parts are the account
/// email and key id, the user login, the impersonated account and its delegates, the metadata
/// host or the federation audience, and the endpoints. `self_signed` is the `--self-signed` URL.
pub fn cache_identity(
    source: &Source,
    impersonation: Option<&Impersonation>,
    audience: &str,
    self_signed: Option<&str>,
) -> CacheIdentity {
    let mut parts = Vec::new();
    match self_signed {
        Some(url) => parts.push(("self_signed_audience".to_string(), url.to_string())),
        None => parts.push(("audience".to_string(), audience.to_string())),
    }
    match source {
        Source::File { credentials, .. } => credential_parts(credentials, "", &mut parts),
        Source::MetadataServer(server) => {
            parts.push(("source".into(), "metadata_server".into()));
            parts.push(("metadata_host".into(), server.host.clone()));
        }
    }
    if let Some(impersonation) = impersonation {
        parts.push(("impersonated_account".into(), impersonation.account.clone()));
        parts.push(("delegates".into(), impersonation.delegates.join(",")));
        if let Ok(base) = iam_credentials::base_url(file_base_url(source)) {
            parts.push(("iam_credentials_url".into(), base));
        }
    }
    CacheIdentity(parts)
}

fn credential_parts(credentials: &Credentials, prefix: &str, parts: &mut Vec<(String, String)>) {
    let mut push = |name: &str, value: String| parts.push((format!("{prefix}{name}"), value));
    push("source", type_name(credentials).to_string());
    match credentials {
        Credentials::ServiceAccount(key) => {
            push("account", key.client_email.clone());
            push("key_id", key.private_key_id.clone().unwrap_or_default());
            push("token_uri", key.token_uri.clone());
        }
        Credentials::AuthorizedUser(user) => {
            let digest = Sha256::digest(user.refresh_token.expose().as_bytes());
            let fingerprint: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
            push("client_id", user.client_id.clone());
            push("refresh_token_sha256", fingerprint);
            push("token_uri", user.token_uri.clone());
        }
        Credentials::ExternalAccount(account) => {
            push("federation_audience", account.audience.clone());
            push("subject_token_type", account.subject_token_type.clone());
            push("token_url", account.token_url.clone());
            if let Some(url) = &account.impersonation_url {
                push("account", url.account.clone());
                push("impersonation_url", url.id_token_url());
            }
        }
        Credentials::ImpersonatedServiceAccount(file) => {
            push("account", file.impersonation_url.account.clone());
            push("delegates", file.delegates.join(","));
            push("impersonation_url", file.impersonation_url.id_token_url());
            credential_parts(&file.source, &format!("{prefix}source."), parts);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn file_source(text: &str) -> Source {
        let origin = Origin::Flag("c.json".into());
        let credentials =
            credentials::parse(&Secret::new(text.as_bytes().to_vec()), &origin).unwrap();
        Source::File {
            origin,
            credentials,
        }
    }

    fn key_source() -> Source {
        file_source(include_str!("../../tests/fixtures/service-account.json"))
    }

    fn value<'a>(identity: &'a CacheIdentity, name: &str) -> Option<&'a str> {
        identity
            .0
            .iter()
            .find(|(part, _)| part == name)
            .map(|(_, value)| value.as_str())
    }

    #[test]
    fn key_identity_names_account_key_and_audience() {
        let identity = cache_identity(&key_source(), None, "aud-1", None);
        assert_eq!(value(&identity, "audience"), Some("aud-1"));
        assert_eq!(value(&identity, "source"), Some("service_account"));
        assert_eq!(
            value(&identity, "account"),
            Some("posos-client@example-project.iam.gserviceaccount.com")
        );
        assert_eq!(
            value(&identity, "key_id"),
            Some("2d68215a2e546f616e05cbd2177a9c7f7a89ed34")
        );
        assert!(!identity.to_key_text().contains("PRIVATE KEY"));
    }

    #[test]
    fn impersonation_and_delegates_change_identity() {
        let plain = cache_identity(&key_source(), None, "aud", None);
        let first = Impersonation {
            account: "t@p".into(),
            delegates: vec![],
        };
        let chained = Impersonation {
            account: "t@p".into(),
            delegates: vec!["d@p".into()],
        };
        let first = cache_identity(&key_source(), Some(&first), "aud", None);
        let chained = cache_identity(&key_source(), Some(&chained), "aud", None);
        assert_ne!(plain, first);
        assert_ne!(first, chained);
        assert_eq!(value(&chained, "impersonated_account"), Some("t@p"));
        assert_eq!(value(&chained, "delegates"), Some("d@p"));
    }

    #[test]
    fn metadata_identity_names_host() {
        let source = Source::MetadataServer(MetadataServer {
            host: "127.0.0.1:9".into(),
            reason: "test".into(),
        });
        let identity = cache_identity(&source, None, "aud", None);
        assert_eq!(value(&identity, "metadata_host"), Some("127.0.0.1:9"));
    }

    #[test]
    fn user_identity_fingerprints_refresh_token() {
        let source = file_source(
            r#"{"type": "authorized_user", "client_id": "c", "client_secret": "s3cr3t", "refresh_token": "1//r3fr3sh"}"#,
        );
        let text = cache_identity(&source, None, "aud", None).to_key_text();
        assert!(text.contains("refresh_token_sha256="));
        assert!(!text.contains("r3fr3sh"));
        assert!(!text.contains("s3cr3t"));
    }

    #[test]
    fn federation_identity_names_pool_audience_and_nested_source() {
        let source = file_source(
            r#"{"type": "external_account", "audience": "//iam.googleapis.com/pool", "subject_token_type": "urn:ietf:params:oauth:token-type:jwt", "credential_source": {"file": "/t"},
                "service_account_impersonation_url": "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/t@p:generateAccessToken"}"#,
        );
        let identity = cache_identity(&source, None, "aud", None);
        assert_eq!(
            value(&identity, "federation_audience"),
            Some("//iam.googleapis.com/pool")
        );
        assert_eq!(value(&identity, "account"), Some("t@p"));
    }

    #[test]
    fn self_signed_identity_differs_from_exchange() {
        let exchanged = cache_identity(&key_source(), None, "https://r/", None);
        let signed = cache_identity(&key_source(), None, "https://r/", Some("https://r/"));
        assert_ne!(exchanged, signed);
    }
}
