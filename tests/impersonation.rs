//! Impersonation through the IAM Credentials API: `--impersonate-service-account` with a key
//! file or user credentials, `impersonated_service_account` files, and the refusals, all
//! against loopback stand-ins.

mod common;

use common::google_apis::*;
use common::*;
use serde_json::{Value, json};

/// The access token that the common token endpoint gives for an assertion with `scope`.
const KEY_ACCESS_TOKEN: &str = "ya29.test-access-token";

fn body_json(request: &Request) -> Value {
    serde_json::from_slice(&request.body).unwrap()
}

#[test]
fn key_file_impersonates_service_account() {
    let endpoint = google_endpoint();
    let iam = iam_credentials(&[KEY_ACCESS_TOKEN]);
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));

    let outcome = run(env
        .command()
        .arg("-c")
        .arg(&key)
        .env("POSOS_IAM_CREDENTIALS_URL", iam.url(""))
        .args(["--impersonate-service-account", TARGET_ACCOUNT]));

    outcome.expect_code(0);
    let claims = jwt_claims(&outcome.stdout);
    assert_eq!(claims["email"], TARGET_ACCOUNT);
    assert_eq!(claims["aud"], CLIENT_ID);

    // The source key asked for an access token: `scope`, no `target_audience`.
    let assertion = endpoint.requests()[0].form()["assertion"].clone();
    let source_claims = jwt_claims(&assertion);
    assert_eq!(
        source_claims["scope"],
        "https://www.googleapis.com/auth/cloud-platform"
    );
    assert!(source_claims.get("target_audience").is_none());

    let request = &iam.requests()[0];
    assert_eq!(
        request.target,
        format!("/v1/projects/-/serviceAccounts/{TARGET_ACCOUNT}:generateIdToken")
    );
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {KEY_ACCESS_TOKEN}").as_str())
    );
    let body = body_json(request);
    assert_eq!(body["audience"], CLIENT_ID);
    assert_eq!(body["includeEmail"], true);
    assert_eq!(body["delegates"], json!([]));
}

#[test]
fn impersonation_reads_environment_variable() {
    let endpoint = google_endpoint();
    let iam = iam_credentials(&[KEY_ACCESS_TOKEN]);
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));

    let outcome = run(env
        .command()
        .arg("-c")
        .arg(&key)
        .env("POSOS_IAM_CREDENTIALS_URL", iam.url(""))
        .env("POSOS_IMPERSONATE_SERVICE_ACCOUNT", TARGET_ACCOUNT));

    outcome.expect_code(0);
    assert_eq!(jwt_claims(&outcome.stdout)["email"], TARGET_ACCOUNT);
}

#[test]
fn delegates_are_sent_as_resource_names() {
    let endpoint = google_endpoint();
    let iam = iam_credentials(&[KEY_ACCESS_TOKEN]);
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));

    let outcome = run(env
        .command()
        .arg("-c")
        .arg(&key)
        .env("POSOS_IAM_CREDENTIALS_URL", iam.url(""))
        .args(["--impersonate-service-account", TARGET_ACCOUNT])
        .args([
            "--delegates",
            "hop1@p.iam.gserviceaccount.com,hop2@p.iam.gserviceaccount.com",
        ]));

    outcome.expect_code(0);
    let body = body_json(&iam.requests()[0]);
    assert_eq!(
        body["delegates"],
        json!([
            "projects/-/serviceAccounts/hop1@p.iam.gserviceaccount.com",
            "projects/-/serviceAccounts/hop2@p.iam.gserviceaccount.com"
        ])
    );
}

#[test]
fn permission_denied_names_permission_and_account() {
    let endpoint = google_endpoint();
    let iam = iam_credentials(&[KEY_ACCESS_TOKEN]);
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));

    let outcome = run(env
        .command()
        .arg("-c")
        .arg(&key)
        .env("POSOS_IAM_CREDENTIALS_URL", iam.url(""))
        .args(["--impersonate-service-account", DENIED_ACCOUNT]));

    outcome.expect_code(77).expect_clean_failure();
    outcome.expect_stderr(&[
        "HTTP 403",
        "iam.serviceAccounts.getOpenIdToken",
        "Service Account OpenID Connect Identity Token Creator",
        DENIED_ACCOUNT,
    ]);
    assert!(!outcome.stderr.contains(KEY_ACCESS_TOKEN));
}

#[test]
fn delegates_require_impersonation() {
    let env = TestEnv::new();
    let outcome = run(env
        .command()
        .args(["--delegates", "a@p.iam.gserviceaccount.com"]));
    outcome.expect_code(2);
}

#[test]
fn impersonation_url_variable_must_be_https_or_loopback() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));

    let outcome = run(env
        .command()
        .arg("-c")
        .arg(&key)
        .env("POSOS_IAM_CREDENTIALS_URL", "http://iam.example.com")
        .args(["--impersonate-service-account", TARGET_ACCOUNT]));

    outcome.expect_code(78).expect_clean_failure();
    outcome.expect_stderr(&["POSOS_IAM_CREDENTIALS_URL uses plain http"]);
    assert_eq!(endpoint.hits(), 0);
}

#[test]
fn user_credentials_alone_are_explained() {
    let endpoint = refresh_endpoint();
    let env = TestEnv::new();
    let file = env.write(
        "user.json",
        authorized_user_json(&endpoint.url("/token")).to_string(),
    );

    let outcome = run(env.command().arg("-c").arg(&file));

    outcome.expect_code(78).expect_clean_failure();
    outcome.expect_stderr(&["authorized_user", "--impersonate-service-account"]);
    assert!(!outcome.stderr.contains(REFRESH_TOKEN));
    assert!(!outcome.stderr.contains(CLIENT_SECRET));
    assert_eq!(endpoint.hits(), 0);
}

#[test]
fn user_credentials_impersonate_service_account() {
    let endpoint = refresh_endpoint();
    let iam = iam_credentials(&[USER_ACCESS_TOKEN]);
    let env = TestEnv::new();
    let file = env.write(
        "user.json",
        authorized_user_json(&endpoint.url("/token")).to_string(),
    );

    let outcome = run(env
        .command()
        .arg("-c")
        .arg(&file)
        .arg("-vv")
        .env("POSOS_IAM_CREDENTIALS_URL", iam.url(""))
        .args(["--impersonate-service-account", TARGET_ACCOUNT]));

    outcome.expect_code(0);
    assert_eq!(jwt_claims(&outcome.stdout)["email"], TARGET_ACCOUNT);
    let form = endpoint.requests()[0].form();
    assert_eq!(form["grant_type"], "refresh_token");
    assert_eq!(form["refresh_token"], REFRESH_TOKEN);
    for secret in [REFRESH_TOKEN, CLIENT_SECRET, USER_ACCESS_TOKEN] {
        assert!(!outcome.stderr.contains(secret), "stderr shows {secret}");
    }
}

#[test]
fn revoked_user_login_is_refused() {
    let endpoint = refresh_endpoint();
    let iam = iam_credentials(&[USER_ACCESS_TOKEN]);
    let env = TestEnv::new();
    let mut user = authorized_user_json(&endpoint.url("/token"));
    user["refresh_token"] = json!("1//revoked");
    let file = env.write("user.json", user.to_string());

    let outcome = run(env
        .command()
        .arg("-c")
        .arg(&file)
        .env("POSOS_IAM_CREDENTIALS_URL", iam.url(""))
        .args(["--impersonate-service-account", TARGET_ACCOUNT]));

    outcome.expect_code(77).expect_clean_failure();
    outcome.expect_stderr(&["invalid_grant", "gcloud auth application-default login"]);
    assert_eq!(iam.hits(), 0);
}

#[test]
fn impersonated_file_with_key_source() {
    let endpoint = google_endpoint();
    let iam = iam_credentials(&[KEY_ACCESS_TOKEN]);
    let decoy = iam_credentials(&[KEY_ACCESS_TOKEN]);
    let env = TestEnv::new();
    let mut key: Value = serde_json::from_str(&fixture("service-account.json")).unwrap();
    key["token_uri"] = json!(endpoint.url("/token"));
    let file = env.write(
        "impersonated.json",
        json!({
            "type": "impersonated_service_account",
            "service_account_impersonation_url": impersonation_url(&iam, TARGET_ACCOUNT),
            "delegates": ["hop@p.iam.gserviceaccount.com"],
            "source_credentials": key,
        })
        .to_string(),
    );

    // The file's URL wins over POSOS_IAM_CREDENTIALS_URL.
    let outcome = run(env
        .command()
        .env("GOOGLE_APPLICATION_CREDENTIALS", &file)
        .env("POSOS_IAM_CREDENTIALS_URL", decoy.url("")));

    outcome.expect_code(0);
    assert_eq!(jwt_claims(&outcome.stdout)["email"], TARGET_ACCOUNT);
    assert_eq!(decoy.hits(), 0);
    let request = &iam.requests()[0];
    assert!(
        request
            .target
            .ends_with(&format!("{TARGET_ACCOUNT}:generateIdToken"))
    );
    assert_eq!(
        body_json(request)["delegates"],
        json!(["projects/-/serviceAccounts/hop@p.iam.gserviceaccount.com"])
    );
}

#[test]
fn impersonated_file_with_user_source() {
    let endpoint = refresh_endpoint();
    let iam = iam_credentials(&[USER_ACCESS_TOKEN]);
    let env = TestEnv::new();
    let file = env.write(
        "impersonated.json",
        json!({
            "type": "impersonated_service_account",
            "service_account_impersonation_url": impersonation_url(&iam, TARGET_ACCOUNT),
            "delegates": [],
            "source_credentials": authorized_user_json(&endpoint.url("/token")),
        })
        .to_string(),
    );

    let outcome = run(env.command().arg("-c").arg(&file));

    outcome.expect_code(0);
    assert_eq!(jwt_claims(&outcome.stdout)["email"], TARGET_ACCOUNT);
    assert_eq!(
        iam.requests()[0].header("authorization"),
        Some(format!("Bearer {USER_ACCESS_TOKEN}").as_str())
    );
}

#[test]
fn impersonated_file_refusal_names_account() {
    let endpoint = refresh_endpoint();
    let iam = iam_credentials(&[USER_ACCESS_TOKEN]);
    let env = TestEnv::new();
    let file = env.write(
        "impersonated.json",
        json!({
            "type": "impersonated_service_account",
            "service_account_impersonation_url": impersonation_url(&iam, DENIED_ACCOUNT),
            "source_credentials": authorized_user_json(&endpoint.url("/token")),
        })
        .to_string(),
    );

    let outcome = run(env.command().arg("-c").arg(&file));

    outcome.expect_code(77).expect_clean_failure();
    outcome.expect_stderr(&["iam.serviceAccounts.getOpenIdToken", DENIED_ACCOUNT]);
}

#[test]
fn impersonated_file_chains_to_flag_account() {
    // The file's account is the first link; the flag's account is the target.
    let endpoint = refresh_endpoint();
    let iam = iam_credentials(&[USER_ACCESS_TOKEN]);
    let env = TestEnv::new();
    let first = "first@example-project.iam.gserviceaccount.com";
    let file = env.write(
        "impersonated.json",
        json!({
            "type": "impersonated_service_account",
            "service_account_impersonation_url": impersonation_url(&iam, first),
            "source_credentials": authorized_user_json(&endpoint.url("/token")),
        })
        .to_string(),
    );

    let outcome = run(env
        .command()
        .arg("-c")
        .arg(&file)
        .args(["--impersonate-service-account", TARGET_ACCOUNT]));

    outcome.expect_code(0);
    assert_eq!(jwt_claims(&outcome.stdout)["email"], TARGET_ACCOUNT);
    let requests = iam.requests();
    assert!(
        requests[0]
            .target
            .ends_with(&format!("{first}:generateAccessToken"))
    );
    assert!(
        requests[1]
            .target
            .ends_with(&format!("{TARGET_ACCOUNT}:generateIdToken"))
    );
    assert_eq!(
        requests[1].header("authorization"),
        Some(format!("Bearer ya29.as-{first}").as_str())
    );
}

#[test]
fn impersonated_file_url_must_be_https_or_loopback() {
    let env = TestEnv::new();
    let file = env.write(
        "impersonated.json",
        json!({
            "type": "impersonated_service_account",
            "service_account_impersonation_url": format!("http://iam.example.com/v1/projects/-/serviceAccounts/{TARGET_ACCOUNT}:generateAccessToken"),
            "source_credentials": authorized_user_json("https://oauth2.googleapis.com/token"),
        })
        .to_string(),
    );

    let outcome = run(env.command().arg("-c").arg(&file));

    outcome.expect_code(78).expect_clean_failure();
    outcome.expect_stderr(&["service_account_impersonation_url", "plain http"]);
}

#[test]
fn iam_credentials_retries_transient_failures() {
    let endpoint = google_endpoint();
    let iam = iam_credentials(&[KEY_ACCESS_TOKEN]);
    iam.queue([
        api_error(503, "UNAVAILABLE", "The service is currently unavailable."),
        api_error(500, "INTERNAL", "Internal error encountered.").with_header("Retry-After", "0"),
    ]);
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));

    let outcome = run(env
        .command()
        .arg("-c")
        .arg(&key)
        .env("POSOS_IAM_CREDENTIALS_URL", iam.url(""))
        .args(["--impersonate-service-account", TARGET_ACCOUNT]));

    outcome.expect_code(0);
    assert_eq!(jwt_claims(&outcome.stdout)["email"], TARGET_ACCOUNT);
    assert_eq!(iam.hits(), 3);
    assert_eq!(endpoint.hits(), 1);
}

#[test]
fn iam_credentials_unavailable_exits_75() {
    let endpoint = google_endpoint();
    let iam = TestServer::start(|_| {
        api_error(503, "UNAVAILABLE", "The service is currently unavailable.")
    });
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));

    let outcome = run(env
        .command()
        .arg("-c")
        .arg(&key)
        .env("POSOS_IAM_CREDENTIALS_URL", iam.url(""))
        .args(["--impersonate-service-account", TARGET_ACCOUNT]));

    outcome.expect_code(75).expect_clean_failure();
    outcome.expect_stderr(&["HTTP 503", "UNAVAILABLE", "4 attempts made"]);
    assert_eq!(iam.hits(), 4);
}

#[test]
fn iam_credentials_refusal_is_not_retried() {
    let endpoint = google_endpoint();
    let iam = TestServer::start(|_| {
        api_error(
            403,
            "PERMISSION_DENIED",
            "Permission 'iam.serviceAccounts.getOpenIdToken' denied",
        )
    });
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));

    let outcome = run(env
        .command()
        .arg("-c")
        .arg(&key)
        .env("POSOS_IAM_CREDENTIALS_URL", iam.url(""))
        .args(["--impersonate-service-account", TARGET_ACCOUNT]));

    outcome.expect_code(77);
    assert_eq!(iam.hits(), 1);
}
