//! `--self-signed URL`: a JWT signed locally by the service-account key, verified here with
//! `ring`, an RS256 implementation independent of the `rsa` crate that signs.

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use serde_json::Value;

const RESOURCE: &str = "https://api.posos.example/v1/";

fn decode(segment: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
}

#[test]
fn self_signed_token_verifies_with_ring() {
    let endpoint = google_endpoint();
    let proxy = TestServer::start(|_| Reply::text(502, "text/plain", "proxy"));
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));

    let before = unix_now();
    let outcome = run(env
        .command()
        .arg("-c")
        .arg(&key)
        .args(["--self-signed", RESOURCE])
        .env("HTTPS_PROXY", proxy.url(""))
        .env("HTTP_PROXY", proxy.url("")));
    let after = unix_now();

    outcome.expect_code(0);
    assert_eq!(outcome.stderr, "");
    let token = outcome.stdout.trim();
    let segments: Vec<&str> = token.split('.').collect();
    assert_eq!(segments.len(), 3);

    let public_key = rsa_public_key_der("service-account.pub.pem");
    let verifier = ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        &public_key,
    );
    let signing_input = format!("{}.{}", segments[0], segments[1]);
    let signature = URL_SAFE_NO_PAD.decode(segments[2]).unwrap();
    verifier
        .verify(signing_input.as_bytes(), &signature)
        .expect("the signature does not verify with the key's public key");

    let header = decode(segments[0]);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "JWT");
    assert_eq!(header["kid"], KEY_ID);

    let claims = decode(segments[1]);
    assert_eq!(claims["iss"], CLIENT_EMAIL);
    assert_eq!(claims["sub"], CLIENT_EMAIL);
    assert_eq!(claims["aud"], RESOURCE);
    assert!(claims.get("target_audience").is_none());
    let iat = claims["iat"].as_i64().unwrap();
    let exp = claims["exp"].as_i64().unwrap();
    assert_eq!(exp - iat, 3600);
    assert!(iat <= after, "iat {iat} is after the run ended at {after}");
    assert!(
        iat >= before - 60,
        "iat {iat} is more than 60 s before the run at {before}"
    );

    assert_eq!(endpoint.hits(), 0);
    assert_eq!(proxy.hits(), 0);
}

#[test]
fn self_signed_json_names_resource_audience() {
    let env = TestEnv::new();
    let key = env.key_file(
        "service-account.json",
        "https://oauth2.googleapis.com/token",
    );

    let outcome = run(env.command().arg("-c").arg(&key).args([
        "--self-signed",
        RESOURCE,
        "--format",
        "json",
    ]));

    outcome.expect_code(0);
    let value: Value = serde_json::from_str(&outcome.stdout).unwrap();
    assert_eq!(value["audience"], RESOURCE);
}

#[test]
fn self_signed_needs_service_account_key() {
    let env = TestEnv::new();
    let file = env.write(
        "user.json",
        common::google_apis::authorized_user_json("https://oauth2.googleapis.com/token")
            .to_string(),
    );

    let outcome = run(env
        .command()
        .arg("-c")
        .arg(&file)
        .args(["--self-signed", RESOURCE]));

    outcome.expect_code(78).expect_clean_failure();
    outcome.expect_stderr(&[
        "--self-signed needs a service-account key",
        "authorized_user",
    ]);
}

#[test]
fn self_signed_rejects_non_url() {
    let env = TestEnv::new();
    let outcome = run(env.command().args(["--self-signed", "api.posos.example"]));
    outcome.expect_code(2);
}

#[test]
fn self_signed_conflicts_with_impersonation() {
    let env = TestEnv::new();
    let outcome = run(env.command().args([
        "--self-signed",
        RESOURCE,
        "--impersonate-service-account",
        "a@p.iam.gserviceaccount.com",
    ]));
    outcome.expect_code(2);
}

#[test]
fn self_signed_names_impersonation_variable() {
    let env = TestEnv::new();
    let key = env.key_file(
        "service-account.json",
        "https://oauth2.googleapis.com/token",
    );

    let outcome = run(env
        .command()
        .arg("-c")
        .arg(&key)
        .args(["--self-signed", RESOURCE])
        .env(
            "POSOS_IMPERSONATE_SERVICE_ACCOUNT",
            "a@p.iam.gserviceaccount.com",
        ));

    outcome.expect_code(2).expect_clean_failure();
    outcome.expect_stderr(&["POSOS_IMPERSONATE_SERVICE_ACCOUNT"]);
}
