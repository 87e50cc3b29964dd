//! The JWT assertion of the JWT-bearer grant (RFC 7523): its header and claims, and its RS256
//! signature (RSASSA-PKCS1-v1_5 with SHA-256, RFC 7518 section 3.3).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding, Signer};
use serde::Serialize;
use sha2::Sha256;

use crate::credentials::ServiceAccountKey;
use crate::secret::Secret;

/// How long an assertion is valid. Google's token endpoint rejects a span above one hour.
pub const ASSERTION_LIFETIME_SECS: i64 = 3600;

/// How far `iat` is set in the past, so that a local clock running a little fast does not
/// produce an assertion that the token endpoint takes as issued in the future.
pub const IAT_BACKDATE_SECS: i64 = 10;

/// The JOSE header of the assertion.
#[derive(Serialize)]
struct JwsHeader<'a> {
    alg: &'static str,
    typ: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<&'a str>,
}

/// The claims of an assertion. `target_audience` requests an identity token for that audience.
/// Without it, and with `scope`, Google returns an access token instead.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_audience: Option<String>,
}

impl Claims {
    /// Builds the claims for the JWT-bearer grant at `now` (seconds since the Unix epoch).
    pub fn for_token_endpoint(key: &ServiceAccountKey, audience: &str, now: i64) -> Self {
        let iat = now - IAT_BACKDATE_SECS;
        Claims {
            iss: key.client_email.clone(),
            sub: key.client_email.clone(),
            aud: key.token_uri.clone(),
            iat,
            exp: iat + ASSERTION_LIFETIME_SECS,
            target_audience: Some(audience.to_string()),
        }
    }
}

/// An RS256 signer for one service-account key.
pub struct AssertionSigner {
    key: SigningKey<Sha256>,
    kid: Option<String>,
}

impl std::fmt::Debug for AssertionSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssertionSigner")
            .field("key", &"[redacted]")
            .field("kid", &self.kid)
            .finish()
    }
}

impl AssertionSigner {
    /// Creates a signer; `kid` becomes the JWT header's key id.
    pub fn new(private_key: rsa::PrivateKey, kid: Option<String>) -> Self {
        AssertionSigner {
            key: SigningKey::<Sha256>::new(private_key),
            kid,
        }
    }

    /// Returns the signed JWT `header.claims.signature`. `claims` is usually [`Claims`]; other
    /// grants serialize their own claim sets.
    pub fn sign<C: Serialize>(&self, claims: &C) -> Secret<String> {
        let header = JwsHeader {
            alg: "RS256",
            typ: "JWT",
            kid: self.kid.as_deref(),
        };
        let mut jwt = String::with_capacity(1024);
        jwt.push_str(&encode_json(&header));
        jwt.push('.');
        jwt.push_str(&encode_json(claims));

        let signature = self.sign_input(jwt.as_bytes());
        jwt.push('.');
        jwt.push_str(&URL_SAFE_NO_PAD.encode(signature));
        Secret::new(jwt)
    }

    /// Signs a JWS signing input (`base64url(header).base64url(claims)`) and returns the raw
    /// signature bytes.
    pub fn sign_input(&self, signing_input: &[u8]) -> Vec<u8> {
        self.key.sign(signing_input).to_vec()
    }
}

fn encode_json<T: Serialize>(value: &T) -> String {
    // Serializing these plain structs of strings and integers can't fail.
    let json = serde_json::to_vec(value).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::{Credentials, Origin, parse};
    use serde_json::Value;

    const KEY_FILE: &str = include_str!("../tests/fixtures/service-account.json");
    const VECTOR: &str = include_str!("../tests/fixtures/rs256-vector.json");

    fn load_key() -> ServiceAccountKey {
        let origin = Origin::Flag("service-account.json".into());
        match parse(&Secret::new(KEY_FILE.as_bytes().to_vec()), &origin).unwrap() {
            Credentials::ServiceAccount(key) => key,
            other => panic!("the fixture parsed as {other:?}"),
        }
    }

    fn vector() -> Value {
        serde_json::from_str(VECTOR).unwrap()
    }

    #[test]
    fn signature_matches_openssl_vector() {
        let key = load_key();
        let signer = AssertionSigner::new(key.private_key, key.private_key_id);
        let vector = vector();

        let input = vector["signing_input"].as_str().unwrap();
        let signature = URL_SAFE_NO_PAD.encode(signer.sign_input(input.as_bytes()));
        assert_eq!(signature, vector["signature_b64url"].as_str().unwrap());
    }

    #[test]
    fn signed_jwt_matches_vector_byte_for_byte() {
        let key = load_key();
        let vector = vector();
        let claims = &vector["claims"];
        let claims = Claims {
            iss: claims["iss"].as_str().unwrap().into(),
            sub: claims["sub"].as_str().unwrap().into(),
            aud: claims["aud"].as_str().unwrap().into(),
            iat: claims["iat"].as_i64().unwrap(),
            exp: claims["exp"].as_i64().unwrap(),
            target_audience: Some(claims["target_audience"].as_str().unwrap().into()),
        };
        let signer = AssertionSigner::new(key.private_key, key.private_key_id);

        let jwt = signer.sign(&claims);
        let expected = format!(
            "{}.{}",
            vector["signing_input"].as_str().unwrap(),
            vector["signature_b64url"].as_str().unwrap()
        );
        assert_eq!(jwt.expose(), &expected);
    }

    #[test]
    fn claims_span_one_hour_from_backdated_iat() {
        let key = load_key();
        let claims = Claims::for_token_endpoint(&key, "aud.apps.googleusercontent.com", 1_000_000);
        assert_eq!(claims.iat, 1_000_000 - IAT_BACKDATE_SECS);
        assert_eq!(claims.exp - claims.iat, 3600);
        assert_eq!(claims.aud, key.token_uri);
        assert_eq!(claims.iss, claims.sub);
    }

    #[test]
    fn signer_debug_redacts_key() {
        let key = load_key();
        let signer = AssertionSigner::new(key.private_key, key.private_key_id);
        let printed = format!("{signer:?}");
        assert!(printed.contains("[redacted]"));
        assert!(!printed.contains("BoxedUint"));
    }
}
