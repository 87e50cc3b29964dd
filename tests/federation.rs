//! Workload identity federation (`external_account` files): the subject token from a file, a
//! URL or an executable, the exchange at a loopback STS that checks the form, then
//! `generateIdToken` at a loopback IAM Credentials API.

mod common;

use common::google_apis::*;
use common::*;
use serde_json::{Value, json};

struct Federation {
    sts: TestServer,
    iam: TestServer,
    env: TestEnv,
}

impl Federation {
    fn new() -> Federation {
        Federation {
            sts: sts(),
            iam: iam_credentials(&[FEDERATED_ACCESS_TOKEN]),
            env: TestEnv::new(),
        }
    }

    /// Writes an external_account file that impersonates `TARGET_ACCOUNT`.
    fn config(&self, credential_source: Value) -> std::path::PathBuf {
        let impersonation = impersonation_url(&self.iam, TARGET_ACCOUNT);
        let value = external_account_json(
            &self.sts.url("/v1/token"),
            Some(&impersonation),
            credential_source,
        );
        self.env.write("wif.json", value.to_string())
    }
}

fn expect_target_token(outcome: &Outcome) {
    outcome.expect_code(0);
    let claims = jwt_claims(&outcome.stdout);
    assert_eq!(claims["email"], TARGET_ACCOUNT);
    assert_eq!(claims["aud"], CLIENT_ID);
    for secret in [SUBJECT_TOKEN, FEDERATED_ACCESS_TOKEN] {
        assert!(!outcome.stderr.contains(secret), "stderr shows {secret}");
    }
}

#[test]
fn file_sourced_text_token() {
    let fed = Federation::new();
    let token_file = fed.env.write("subject-token", format!("{SUBJECT_TOKEN}\n"));
    let config = fed.config(json!({"file": token_file}));

    let outcome = run(fed.env.command().arg("-c").arg(&config).arg("-vv"));

    expect_target_token(&outcome);
    let form = fed.sts.requests()[0].form();
    assert_eq!(
        form["grant_type"],
        "urn:ietf:params:oauth:grant-type:token-exchange"
    );
    assert_eq!(
        form["requested_token_type"],
        "urn:ietf:params:oauth:token-type:access_token"
    );
    assert_eq!(form["audience"], FEDERATION_AUDIENCE);
    assert_eq!(
        form["subject_token_type"],
        "urn:ietf:params:oauth:token-type:jwt"
    );
    assert_eq!(form["subject_token"], SUBJECT_TOKEN);
    assert_eq!(
        form["scope"],
        "https://www.googleapis.com/auth/cloud-platform"
    );

    let request = &fed.iam.requests()[0];
    assert!(
        request
            .target
            .ends_with(&format!("{TARGET_ACCOUNT}:generateIdToken"))
    );
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {FEDERATED_ACCESS_TOKEN}").as_str())
    );
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["audience"], CLIENT_ID);
    assert_eq!(body["includeEmail"], true);
}

#[test]
fn file_sourced_json_token() {
    let fed = Federation::new();
    let token_file = fed.env.write(
        "subject-token.json",
        json!({"value": SUBJECT_TOKEN, "count": 1}).to_string(),
    );
    let config = fed.config(json!({
        "file": token_file,
        "format": {"type": "json", "subject_token_field_name": "value"},
    }));

    let outcome = run(fed.env.command().arg("-c").arg(&config));

    expect_target_token(&outcome);
}

#[test]
fn url_sourced_json_token_with_headers() {
    let fed = Federation::new();
    let idp = TestServer::start(|request| {
        if request.header("authorization") != Some("bearer request-token-of-the-ci-runner") {
            return Reply::json(401, json!({"message": "no"}));
        }
        Reply::json(200, json!({"count": 1, "value": SUBJECT_TOKEN}))
    });
    let config = fed.config(json!({
        "url": idp.url("/id-token?audience=wif"),
        "headers": {"Authorization": "bearer request-token-of-the-ci-runner"},
        "format": {"type": "json", "subject_token_field_name": "value"},
    }));

    let outcome = run(fed.env.command().arg("-c").arg(&config).arg("-vv"));

    expect_target_token(&outcome);
    let request = &idp.requests()[0];
    assert_eq!(request.method, "GET");
    assert_eq!(request.target, "/id-token?audience=wif");
    assert!(!outcome.stderr.contains("request-token-of-the-ci-runner"));
}

#[test]
fn url_source_refusal_is_reported() {
    let fed = Federation::new();
    let idp = TestServer::start(|_| Reply::json(401, json!({"message": "no"})));
    let config = fed.config(json!({"url": idp.url("/id-token")}));

    let outcome = run(fed.env.command().arg("-c").arg(&config));

    outcome.expect_code(77).expect_clean_failure();
    outcome.expect_stderr(&["failed to get the subject token", "HTTP 401"]);
    assert_eq!(fed.sts.hits(), 0);
}

#[test]
fn sts_refusal_is_refused() {
    let fed = Federation::new();
    let token_file = fed
        .env
        .write("subject-token", "eyJ.not-the-right-token.sig");
    let config = fed.config(json!({"file": token_file}));

    let outcome = run(fed.env.command().arg("-c").arg(&config));

    outcome.expect_code(77).expect_clean_failure();
    outcome.expect_stderr(&["invalid_grant", "STS did not accept the subject token"]);
    assert!(!outcome.stderr.contains("not-the-right-token"));
    assert_eq!(fed.iam.hits(), 0);
}

#[test]
fn sts_temporarily_unavailable_is_retried() {
    let fed = Federation::new();
    fed.sts.queue([Reply::google_error(
        400,
        "temporarily_unavailable",
        "The service is temporarily unavailable.",
    )]);
    let token_file = fed.env.write("subject-token", SUBJECT_TOKEN);
    let config = fed.config(json!({"file": token_file}));

    let outcome = run(fed.env.command().arg("-c").arg(&config));

    outcome.expect_code(0);
    assert_eq!(fed.sts.hits(), 2);
    assert_eq!(fed.iam.hits(), 1);
}

#[test]
fn missing_subject_token_file_is_named() {
    let fed = Federation::new();
    let config = fed.config(json!({"file": fed.env.path("absent-token")}));

    let outcome = run(fed.env.command().arg("-c").arg(&config));

    outcome.expect_code(78).expect_clean_failure();
    outcome.expect_stderr(&["subject token file", "absent-token"]);
    assert_eq!(fed.sts.hits(), 0);
}

#[test]
fn without_impersonation_url_is_explained() {
    let fed = Federation::new();
    let token_file = fed.env.write("subject-token", SUBJECT_TOKEN);
    let config = fed.env.write(
        "wif.json",
        external_account_json(&fed.sts.url("/v1/token"), None, json!({"file": token_file}))
            .to_string(),
    );

    let outcome = run(fed.env.command().arg("-c").arg(&config));

    outcome.expect_code(78).expect_clean_failure();
    outcome.expect_stderr(&[
        "service_account_impersonation_url",
        "impersonating a service account",
        "--impersonate-service-account",
    ]);
    assert_eq!(fed.sts.hits(), 0);
}

#[test]
fn without_impersonation_url_flag_names_account() {
    let fed = Federation::new();
    let token_file = fed.env.write("subject-token", SUBJECT_TOKEN);
    let config = fed.env.write(
        "wif.json",
        external_account_json(&fed.sts.url("/v1/token"), None, json!({"file": token_file}))
            .to_string(),
    );

    let outcome = run(fed
        .env
        .command()
        .arg("-c")
        .arg(&config)
        .env("POSOS_IAM_CREDENTIALS_URL", fed.iam.url(""))
        .args(["--impersonate-service-account", TARGET_ACCOUNT]));

    expect_target_token(&outcome);
    assert_eq!(fed.iam.hits(), 1);
}

#[test]
fn sts_url_must_be_https_or_loopback() {
    let env = TestEnv::new();
    let config = env.write(
        "wif.json",
        external_account_json(
            "http://sts.example.com/v1/token",
            None,
            json!({"file": "/x"}),
        )
        .to_string(),
    );

    let outcome = run(env.command().arg("-c").arg(&config));

    outcome.expect_code(78).expect_clean_failure();
    outcome.expect_stderr(&["token_url", "plain http"]);
}

#[test]
fn executable_needs_permission_variable() {
    let fed = Federation::new();
    let config = fed.config(json!({"executable": {"command": "/bin/echo never-run"}}));

    let outcome = run(fed.env.command().arg("-c").arg(&config));

    outcome.expect_code(78).expect_clean_failure();
    outcome.expect_stderr(&["GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES"]);
    assert_eq!(fed.sts.hits(), 0);
}

#[cfg(unix)]
fn write_script(env: &TestEnv, name: &str, body: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = env.write(name, format!("#!/bin/sh\n{body}\n"));
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700)).unwrap();
    path
}

#[cfg(unix)]
#[test]
fn executable_sourced_token() {
    let fed = Federation::new();
    let expiry = unix_now() + 600;
    // The script checks the variables of Google's executable contract before printing.
    let script = write_script(
        &fed.env,
        "idp.sh",
        &format!(
            r#"[ "$GOOGLE_EXTERNAL_ACCOUNT_AUDIENCE" = "{FEDERATION_AUDIENCE}" ] || exit 3
[ "$GOOGLE_EXTERNAL_ACCOUNT_TOKEN_TYPE" = "urn:ietf:params:oauth:token-type:jwt" ] || exit 4
[ "$GOOGLE_EXTERNAL_ACCOUNT_INTERACTIVE" = "0" ] || exit 5
[ "$GOOGLE_EXTERNAL_ACCOUNT_IMPERSONATED_EMAIL" = "{TARGET_ACCOUNT}" ] || exit 6
[ "$1" = "--flag" ] || exit 7
printf '{{"version": 1, "success": true, "token_type": "urn:ietf:params:oauth:token-type:jwt", "id_token": "{SUBJECT_TOKEN}", "expiration_time": {expiry}}}'"#
        ),
    );
    let config = fed.config(json!({"executable": {
        "command": format!("{} --flag", script.display()),
        "timeout_millis": 5000,
    }}));

    let outcome = run(fed
        .env
        .command()
        .arg("-c")
        .arg(&config)
        .env("GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES", "1"));

    expect_target_token(&outcome);
}

#[cfg(unix)]
#[test]
fn executable_failure_response_is_refused() {
    let fed = Federation::new();
    let script = write_script(
        &fed.env,
        "idp.sh",
        r#"printf '{"version": 1, "success": false, "code": "401", "message": "not logged in"}'
exit 1"#,
    );
    let config = fed.config(json!({"executable": {"command": script}}));

    let outcome = run(fed
        .env
        .command()
        .arg("-c")
        .arg(&config)
        .env("GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES", "1"));

    outcome.expect_code(77).expect_clean_failure();
    outcome.expect_stderr(&["not logged in", "code 401"]);
    assert_eq!(fed.sts.hits(), 0);
}

#[cfg(unix)]
#[test]
fn executable_output_file_is_reused_until_expiry() {
    let fed = Federation::new();
    let marker = fed.env.path("ran");
    let script = write_script(
        &fed.env,
        "idp.sh",
        &format!("touch {}\nexit 9", marker.display()),
    );
    let output_file = fed.env.write(
        "cached-response.json",
        json!({
            "version": 1,
            "success": true,
            "token_type": "urn:ietf:params:oauth:token-type:id_token",
            "id_token": SUBJECT_TOKEN,
            "expiration_time": unix_now() + 600,
        })
        .to_string(),
    );
    let config = fed.config(json!({"executable": {"command": script, "output_file": output_file}}));

    let outcome = run(fed
        .env
        .command()
        .arg("-c")
        .arg(&config)
        .env("GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES", "1"));

    expect_target_token(&outcome);
    assert!(
        !marker.exists(),
        "the executable ran despite a fresh output file"
    );
}

#[cfg(unix)]
#[test]
fn executable_is_bounded_by_timeout() {
    let fed = Federation::new();
    let script = write_script(&fed.env, "idp.sh", "exec sleep 30");
    let config = fed.config(json!({"executable": {"command": script}}));

    let started = std::time::Instant::now();
    let outcome = run(fed
        .env
        .command()
        .arg("-c")
        .arg(&config)
        .args(["--timeout", "1"])
        .env("GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES", "1"));

    outcome.expect_code(75).expect_clean_failure();
    outcome.expect_stderr(&["did not finish"]);
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[test]
fn workforce_pool_project_is_sent_in_options() {
    let fed = Federation::new();
    let token_file = fed.env.write("subject-token", SUBJECT_TOKEN);
    let mut value = external_account_json(
        &fed.sts.url("/v1/token"),
        Some(&impersonation_url(&fed.iam, TARGET_ACCOUNT)),
        json!({"file": token_file}),
    );
    value["workforce_pool_user_project"] = json!("billing-project");
    let config = fed.env.write("wif.json", value.to_string());

    let outcome = run(fed.env.command().arg("-c").arg(&config));

    expect_target_token(&outcome);
    let request = &fed.sts.requests()[0];
    let options: Value = serde_json::from_str(&request.form()["options"]).unwrap();
    assert_eq!(options, json!({"userProject": "billing-project"}));
    assert_eq!(request.header("authorization"), None);
}

#[test]
fn sts_client_authenticates_with_basic() {
    use base64::Engine;
    let fed = Federation::new();
    let token_file = fed.env.write("subject-token", SUBJECT_TOKEN);
    let mut value = external_account_json(
        &fed.sts.url("/v1/token"),
        Some(&impersonation_url(&fed.iam, TARGET_ACCOUNT)),
        json!({"file": token_file}),
    );
    value["client_id"] = json!("sts-client");
    value["client_secret"] = json!("sts-client-secret");
    value["workforce_pool_user_project"] = json!("billing-project");
    let config = fed.env.write("wif.json", value.to_string());

    let outcome = run(fed.env.command().arg("-c").arg(&config).arg("-vv"));

    expect_target_token(&outcome);
    let request = &fed.sts.requests()[0];
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("sts-client:sts-client-secret")
    );
    assert_eq!(request.header("authorization"), Some(expected.as_str()));
    assert!(!request.form().contains_key("options"));
    assert!(!outcome.stderr.contains("sts-client-secret"));
}

#[test]
fn federated_account_chains_to_flag_account() {
    // The file's service account gets an access token, which then requests the identity
    // token of the account named by the flag.
    let fed = Federation::new();
    let first = "federated-first@example-project.iam.gserviceaccount.com";
    let token_file = fed.env.write("subject-token", SUBJECT_TOKEN);
    let config = fed.env.write(
        "wif.json",
        external_account_json(
            &fed.sts.url("/v1/token"),
            Some(&impersonation_url(&fed.iam, first)),
            json!({"file": token_file}),
        )
        .to_string(),
    );

    let outcome = run(fed
        .env
        .command()
        .arg("-c")
        .arg(&config)
        .args(["--impersonate-service-account", TARGET_ACCOUNT]));

    expect_target_token(&outcome);
    let requests = fed.iam.requests();
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
