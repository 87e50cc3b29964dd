//! Debug output of every type that contains a secret prints a redaction, so that a `{:?}` in a
//! log line or a panic message can't leak the private key, a token or a client secret.

use base64::Engine;
use posos_token::assertion::{AssertionSigner, Claims};
use posos_token::credentials::{self, Credentials, Origin};
use posos_token::id_token::IdToken;
use posos_token::secret::Secret;
use serde_json::json;

const KEY_FILE: &str = include_str!("fixtures/service-account.json");

fn parse(text: &str) -> Credentials {
    let origin = Origin::Flag("credentials.json".into());
    credentials::parse(&Secret::new(text.as_bytes().to_vec()), &origin).unwrap()
}

/// Returns the base64 body of the fixture's PEM in 32-character runs.
fn pem_runs() -> Vec<String> {
    let value: serde_json::Value = serde_json::from_str(KEY_FILE).unwrap();
    let body: String = value["private_key"]
        .as_str()
        .unwrap()
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    body.as_bytes()
        .chunks(32)
        .filter(|chunk| chunk.len() == 32)
        .map(|chunk| String::from_utf8(chunk.to_vec()).unwrap())
        .collect()
}

fn assert_hides(printed: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(
            !printed.contains(secret),
            "debug output shows {secret:?}: {printed}"
        );
    }
}

#[test]
fn service_account_credentials_hide_key() {
    let printed = format!("{:?}", parse(KEY_FILE));
    assert!(printed.contains("posos-client@example-project.iam.gserviceaccount.com"));
    for run in pem_runs() {
        assert_hides(&printed, &[&run]);
    }
    assert_hides(&printed, &["PRIVATE KEY"]);
}

#[test]
fn user_credentials_hide_secret_and_refresh_token() {
    let text = json!({
        "type": "authorized_user",
        "client_id": "764086051850-6qr4p6gpi6hn506pt8ejuq83di341hur.apps.googleusercontent.com",
        "client_secret": "d-FL95Q19q7MQmFpd7hHD0Ty",
        "refresh_token": "1//0gsecret-refresh-token"
    });
    let printed = format!("{:?}", parse(&text.to_string()));
    assert_hides(
        &printed,
        &["d-FL95Q19q7MQmFpd7hHD0Ty", "1//0gsecret-refresh-token"],
    );
}

#[test]
fn impersonated_credentials_hide_source_secrets() {
    let text = json!({
        "type": "impersonated_service_account",
        "service_account_impersonation_url": "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/target@p.iam.gserviceaccount.com:generateAccessToken",
        "delegates": [],
        "source_credentials": {
            "type": "authorized_user",
            "client_id": "c.apps.googleusercontent.com",
            "client_secret": "source-client-secret",
            "refresh_token": "1//source-refresh-token"
        }
    });
    let printed = format!("{:?}", parse(&text.to_string()));
    assert_hides(
        &printed,
        &["source-client-secret", "1//source-refresh-token"],
    );
}

#[test]
fn external_account_hides_header_values_and_client_secret() {
    let text = json!({
        "type": "external_account",
        "audience": "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/q",
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "token_url": "https://sts.googleapis.com/v1/token",
        "client_id": "sts-client",
        "client_secret": "sts-client-secret",
        "service_account_impersonation_url": "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/sa@p.iam.gserviceaccount.com:generateAccessToken",
        "credential_source": {
            "url": "https://127.0.0.1:1/token",
            "headers": {"Authorization": "Bearer header-secret-value"}
        }
    });
    let printed = format!("{:?}", parse(&text.to_string()));
    assert_hides(&printed, &["sts-client-secret", "header-secret-value"]);
}

#[test]
fn signer_and_assertion_hide_key_and_signature() {
    let Credentials::ServiceAccount(key) = parse(KEY_FILE) else {
        panic!("not a service-account key");
    };
    let claims = Claims::for_token_endpoint(&key, "aud.apps.googleusercontent.com", 1_800_000_000);
    let signer = AssertionSigner::new(key.private_key, key.private_key_id);
    let assertion = signer.sign(&claims);

    let printed = format!("{signer:?} {assertion:?}");
    let signature = assertion.expose().rsplit('.').next().unwrap().to_string();
    assert_hides(&printed, &[&signature, assertion.expose()]);
    for run in pem_runs() {
        assert_hides(&printed, &[&run]);
    }
}

#[test]
fn id_token_hides_token_text() {
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let text = format!(
        "{}.{}.{}",
        engine.encode(r#"{"alg":"RS256"}"#),
        engine.encode(r#"{"exp":1800000000,"aud":"a","email":"e@x"}"#),
        engine.encode("signature-bytes")
    );
    let token = IdToken::parse(Secret::new(text.clone())).unwrap();

    let printed = format!("{token:?}");

    assert_hides(&printed, &[&text, &engine.encode("signature-bytes")]);
}
