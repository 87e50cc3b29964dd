//! How the tool reads the token endpoint's responses: Google's error JSON, HTML pages, access
//! tokens, and an endpoint that is not there.

mod common;

use common::*;
use serde_json::json;

fn run_against(endpoint: &TestServer) -> Outcome {
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));
    run(env.command().arg("-c").arg(&key))
}

#[test]
fn invalid_signature_names_key_and_fix() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    // The rotated key's file with the first key's id: the signature can't verify.
    let mut key: serde_json::Value =
        serde_json::from_str(&fixture("service-account-rotated.json")).unwrap();
    key["token_uri"] = json!(endpoint.url("/token"));
    key["private_key_id"] = json!(KEY_ID);
    let path = env.write("key.json", key.to_string());

    let outcome = run(env.command().arg("-c").arg(&path));

    outcome.expect_code(77).expect_clean_failure();
    outcome.expect_stderr(&[
        "invalid_grant",
        "Invalid JWT Signature.",
        CLIENT_EMAIL,
        KEY_ID,
        "new key",
    ]);
    assert_eq!(endpoint.hits(), 1);
}

#[test]
fn deleted_account_is_explained() {
    let endpoint = token_endpoint(EndpointConfig {
        deleted_accounts: vec![CLIENT_EMAIL.into()],
        ..Default::default()
    });
    let outcome = run_against(&endpoint);
    outcome.expect_code(77).expect_clean_failure();
    outcome.expect_stderr(&["account not found", "disabled or deleted", CLIENT_EMAIL]);
}

#[test]
fn unauthorized_client_is_refused() {
    let endpoint = TestServer::start(|_| {
        Reply::google_error(
            401,
            "unauthorized_client",
            "Client is unauthorized to retrieve access tokens using this method.",
        )
    });
    let outcome = run_against(&endpoint);
    outcome.expect_code(77).expect_clean_failure();
    outcome.expect_stderr(&["unauthorized_client", "Client is unauthorized"]);
}

#[test]
fn forbidden_is_refused() {
    let endpoint = TestServer::start(|_| Reply::text(403, "text/plain", "Forbidden"));
    run_against(&endpoint)
        .expect_code(77)
        .expect_clean_failure();
}

#[test]
fn access_token_instead_of_identity_token_is_explained() {
    let endpoint = TestServer::start(|_| {
        Reply::json(
            200,
            json!({"access_token": "ya29.secret-access", "expires_in": 3599, "token_type": "Bearer"}),
        )
    });
    let outcome = run_against(&endpoint);
    outcome.expect_code(76).expect_clean_failure();
    outcome.expect_stderr(&["access token instead of an identity token"]);
    assert!(!outcome.stderr.contains("ya29"));
}

#[test]
fn html_page_is_reported_without_content() {
    let endpoint = TestServer::start(|_| {
        Reply::text(
            200,
            "text/html; charset=utf-8",
            "<html><body>Welcome to Airport Wi-Fi, secret-portal-text</body></html>",
        )
    });
    let outcome = run_against(&endpoint);
    outcome.expect_code(76).expect_clean_failure();
    outcome.expect_stderr(&["HTML page", "HTTP 200", "proxy"]);
    assert!(!outcome.stderr.contains("secret-portal-text"));
}

#[test]
fn connection_refused_names_url() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/token",
        listener.local_addr().unwrap().port()
    );
    drop(listener);
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &url);

    let outcome = run(env.command().arg("-c").arg(&key));

    outcome.expect_code(75).expect_clean_failure();
    outcome.expect_stderr(&[&url, "connection refused"]);
}

#[test]
fn non_json_success_is_unexpected() {
    let endpoint = TestServer::start(|_| Reply::text(200, "text/plain", "id_token=abc"));
    let outcome = run_against(&endpoint);
    outcome.expect_code(76).expect_clean_failure();
    outcome.expect_stderr(&["not JSON", "HTTP 200", "text/plain"]);
    assert!(!outcome.stderr.contains("id_token=abc"));
}

#[test]
fn success_without_id_token_is_unexpected() {
    let endpoint = TestServer::start(|_| Reply::json(200, json!({"token_type": "Bearer"})));
    let outcome = run_against(&endpoint);
    outcome
        .expect_code(76)
        .expect_stderr(&["without an id_token"]);
}

#[test]
fn non_jwt_id_token_is_unexpected() {
    let endpoint = TestServer::start(|_| Reply::json(200, json!({"id_token": "not-a-jwt-secret"})));
    let outcome = run_against(&endpoint);
    outcome
        .expect_code(76)
        .expect_stderr(&["id_token", "3 dot-separated segments"]);
    assert!(!outcome.stderr.contains("not-a-jwt-secret"));
}

#[test]
fn server_error_is_temporary() {
    let endpoint =
        TestServer::start(|_| Reply::google_error(503, "temporarily_unavailable", "Try again"));
    let outcome = run_against(&endpoint);
    outcome.expect_code(75).expect_clean_failure();
    outcome.expect_stderr(&["HTTP 503", "temporarily_unavailable"]);
}

#[test]
fn redirect_is_not_followed() {
    let endpoint = TestServer::start(|_| {
        Reply::text(302, "text/plain", "")
            .with_header("Location", "https://login.example.com/portal")
    });
    let outcome = run_against(&endpoint);
    outcome.expect_code(76).expect_clean_failure();
    outcome.expect_stderr(&[
        "redirect",
        "https://login.example.com/portal",
        "not followed",
    ]);
    assert_eq!(endpoint.hits(), 1);
}

#[test]
fn token_for_other_audience_rejected() {
    let endpoint = TestServer::start(|_| {
        Reply::json(
            200,
            json!({"id_token": make_id_token("some-other-audience", CLIENT_EMAIL, unix_now())}),
        )
    });
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));

    for _ in 0..2 {
        let outcome = run(env.command().arg("-c").arg(&key));
        outcome.expect_code(76).expect_clean_failure();
        outcome.expect_stderr(&[
            "audience some-other-audience",
            "not the requested",
            CLIENT_ID,
            "right endpoint",
        ]);
        assert!(outcome.stdout.is_empty());
    }
    assert_eq!(endpoint.hits(), 2, "the refused token was not cached");
}

#[test]
fn expired_token_rejected() {
    let endpoint = TestServer::start(|_| {
        Reply::json(
            200,
            json!({"id_token": make_id_token(CLIENT_ID, CLIENT_EMAIL, unix_now() - 7200)}),
        )
    });

    let outcome = run_against(&endpoint);

    outcome.expect_code(76).expect_clean_failure();
    outcome.expect_stderr(&["already expired", "check this machine's clock"]);
    assert!(outcome.stdout.is_empty());
}

#[test]
fn empty_body_named() {
    let endpoint = TestServer::start(|_| Reply::text(200, "application/json", ""));

    let outcome = run_against(&endpoint);

    outcome.expect_code(76).expect_clean_failure();
    outcome.expect_stderr(&["returned an empty body", "HTTP 200", "0 bytes", "hint:"]);
}

#[test]
fn non_json_body_hint() {
    let endpoint = TestServer::start(|_| Reply::text(200, "application/json", "not json!"));

    let outcome = run_against(&endpoint);

    outcome.expect_code(76).expect_clean_failure();
    outcome.expect_stderr(&[
        "something that is not JSON",
        "token_uri",
        "as Posos gave it",
    ]);
}

#[cfg(target_os = "linux")]
#[test]
fn full_stdout_exits_74() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));
    let full = std::fs::File::options()
        .write(true)
        .open("/dev/full")
        .unwrap();

    // assert_cmd captures stdout, so this run uses the standard library's Command.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_posos-token"))
        .env_remove("GCE_METADATA_HOST")
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .env("NO_GCE_CHECK", "true")
        .env("POSOS_TOKEN_CACHE_DIR", env.path("cache"))
        .arg("-c")
        .arg(&key)
        .stdout(full)
        .output()
        .unwrap();

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(74), "{stderr}");
    assert!(
        stderr.contains("failed to write to standard output"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: check where standard output goes"),
        "{stderr}"
    );
}
