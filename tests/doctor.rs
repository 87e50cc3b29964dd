//! `posos-token doctor`: one line per step, exit 0 without a failed step and 1 with one, a
//! hint after each failure, and no secret in either stream.

mod common;

use common::*;
use serde_json::{Value, json};

/// Returns the line of step `name`, or fails listing the whole output.
fn step_line<'a>(outcome: &'a Outcome, name: &str) -> &'a str {
    outcome
        .stdout
        .lines()
        .find(|line| line.get(9..).is_some_and(|rest| rest.starts_with(name)))
        .unwrap_or_else(|| panic!("no {name} line:\n{}", outcome.stdout))
}

fn assert_step(outcome: &Outcome, name: &str, status: &str, phrases: &[&str]) {
    let line = step_line(outcome, name);
    assert!(
        line.starts_with(status),
        "{name} should be {status}:\n{}",
        outcome.stdout
    );
    for phrase in phrases {
        assert!(
            line.contains(phrase),
            "{name} line lacks {phrase:?}: {line}"
        );
    }
}

/// Asserts that neither stream contains the key, the assertion sent or the token received.
fn assert_no_secrets(outcome: &Outcome, endpoint: Option<&TestServer>) {
    let both = format!("{}{}", outcome.stdout, outcome.stderr);
    assert!(!both.contains("PRIVATE KEY-----"), "{both}");
    assert!(!both.contains("MIIE"), "{both}");
    for request in endpoint.map(TestServer::requests).unwrap_or_default() {
        if let Some(assertion) = request.form().get("assertion") {
            assert!(!both.contains(assertion.as_str()));
            assert!(!both.contains(assertion.rsplit('.').next().unwrap()));
        }
    }
    assert!(!both.contains("eyJ"), "a JWT segment is shown: {both}");
}

fn doctor(env: &TestEnv, key: &std::path::Path) -> Outcome {
    run(env.command().arg("doctor").arg("-c").arg(key))
}

#[test]
fn healthy_setup_passes_every_step() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));

    let outcome = doctor(&env, &key);

    outcome.expect_code(0);
    let path = key.display().to_string();
    assert_step(&outcome, "credentials", "ok", &[&path, "--credentials"]);
    assert_step(&outcome, "permissions", "ok", &["0600"]);
    assert_step(&outcome, "key file", "ok", &["service_account"]);
    assert_step(&outcome, "service account", "ok", &[CLIENT_EMAIL, KEY_ID]);
    assert_step(&outcome, "private key", "ok", &["2048 bits", "signed"]);
    assert_step(&outcome, "client ID", "ok", &[CLIENT_ID]);
    // A loopback token_uri is not Google's, which is worth a warning but not a failure.
    assert_step(
        &outcome,
        "token_uri",
        "warning",
        &[&endpoint.url("/token"), "not Google's"],
    );
    assert_step(&outcome, "proxy", "ok", &["no proxy variable"]);
    assert_step(&outcome, "exchange", "ok", &["HTTP 200", " ms"]);
    assert_step(&outcome, "clock", "ok", &["endpoint's Date header"]);
    assert_step(
        &outcome,
        "identity token",
        "ok",
        &[CLIENT_ID, CLIENT_EMAIL, "expires in"],
    );
    assert!(outcome.stdout.contains("0 failed"), "{}", outcome.stdout);
    assert_eq!(outcome.stderr, "");
    assert_eq!(endpoint.hits(), 1, "one real exchange");
    assert_no_secrets(&outcome, Some(&endpoint));
}

#[test]
fn missing_credentials_fail_with_hint() {
    let env = TestEnv::new();
    let outcome = run(env.command().arg("doctor"));

    outcome.expect_code(1);
    assert_step(
        &outcome,
        "credentials",
        "failed",
        &["GOOGLE_APPLICATION_CREDENTIALS is not set"],
    );
    assert!(
        outcome
            .stdout
            .contains("hint: set GOOGLE_APPLICATION_CREDENTIALS")
    );
    assert_step(&outcome, "exchange", "skipped", &[]);
    outcome.expect_stderr(&[
        "posos-token: doctor found 1 failed step: credentials",
        "hint:",
    ]);
}

#[test]
fn key_from_variable_and_stdin_is_named() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));

    let from_variable = run(env
        .command()
        .arg("doctor")
        .env("GOOGLE_APPLICATION_CREDENTIALS", &key));
    let from_stdin = run(env
        .command()
        .args(["doctor", "--credentials", "-"])
        .write_stdin(std::fs::read(&key).unwrap()));

    from_variable.expect_code(0);
    assert_step(
        &from_variable,
        "credentials",
        "ok",
        &["GOOGLE_APPLICATION_CREDENTIALS"],
    );
    from_stdin.expect_code(0);
    assert_step(&from_stdin, "credentials", "ok", &["standard input"]);
    assert_step(&from_stdin, "permissions", "skipped", &["standard input"]);
}

#[cfg(unix)]
#[test]
fn group_readable_key_is_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();

    let outcome = doctor(&env, &key);

    outcome.expect_code(0);
    assert_step(&outcome, "permissions", "warning", &["0640", "the group"]);
    assert!(
        outcome
            .stdout
            .contains(&format!("chmod 600 {}", key.display()))
    );
}

#[test]
fn invalid_json_fails_key_file_step() {
    let env = TestEnv::new();
    let key = env.write("key.json", "{\"type\": \"service_account\",");

    let outcome = doctor(&env, &key);

    outcome.expect_code(1);
    assert_step(&outcome, "key file", "failed", &["line 1", "JSON"]);
    assert_step(&outcome, "private key", "skipped", &[]);
    assert_step(&outcome, "exchange", "skipped", &[]);
}

#[test]
fn user_credentials_fail_with_explanation() {
    let env = TestEnv::new();
    let key = env.write(
        "key.json",
        json!({
            "type": "authorized_user",
            "client_id": "764086051850-example.apps.googleusercontent.com",
            "client_secret": "secret-client",
            "refresh_token": "1//secret-refresh"
        })
        .to_string(),
    );

    let outcome = doctor(&env, &key);

    outcome.expect_code(1);
    assert_step(&outcome, "key file", "failed", &["authorized_user"]);
    assert!(outcome.stdout.contains("--impersonate-service-account"));
    assert!(!outcome.stdout.contains("secret-refresh"));
    assert!(!outcome.stdout.contains("secret-client"));
}

#[test]
fn damaged_private_key_fails_its_step() {
    let env = TestEnv::new();
    let mut key: Value = serde_json::from_str(&fixture("service-account.json")).unwrap();
    let pem = key["private_key"]
        .as_str()
        .unwrap()
        .replacen("MIIE", "MIIF", 1);
    key["private_key"] = json!(pem);
    key["token_uri"] = json!("http://127.0.0.1:9/token");
    let path = env.write("key.json", key.to_string());

    let outcome = doctor(&env, &path);

    outcome.expect_code(1);
    assert_step(&outcome, "service account", "ok", &[CLIENT_EMAIL]);
    assert_step(&outcome, "private key", "failed", &["damaged"]);
    assert!(outcome.stdout.contains("hint:"));
    assert_step(&outcome, "exchange", "skipped", &["private key"]);
    assert_no_secrets(&outcome, None);
}

#[test]
fn unusual_client_id_is_a_warning() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));

    let outcome = run(env
        .command()
        .arg("doctor")
        .arg("-c")
        .arg(&key)
        .env("POSOS_CLIENT_ID", "https://api.posos.example"));

    outcome.expect_code(0);
    assert_step(
        &outcome,
        "client ID",
        "warning",
        &["POSOS_CLIENT_ID", "does not look like an OAuth client ID"],
    );
}

#[test]
fn google_token_uri_is_ok_offline() {
    let env = TestEnv::new();
    let key = env.write("key.json", fixture("service-account.json"));

    let outcome = run(env.command().args(["doctor", "--offline", "-c"]).arg(&key));

    outcome.expect_code(0);
    assert_step(&outcome, "token_uri", "ok", &["Google's token endpoint"]);
    assert_step(&outcome, "exchange", "skipped", &["--offline"]);
    assert_step(&outcome, "clock", "skipped", &[]);
}

#[test]
fn revoked_key_fails_exchange_with_fix() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let mut key: Value = serde_json::from_str(&fixture("service-account-rotated.json")).unwrap();
    key["token_uri"] = json!(endpoint.url("/token"));
    key["private_key_id"] = json!(KEY_ID);
    let path = env.write("key.json", key.to_string());

    let outcome = doctor(&env, &path);

    outcome.expect_code(1);
    assert_step(
        &outcome,
        "exchange",
        "failed",
        &["HTTP 400", "Invalid JWT Signature."],
    );
    assert!(outcome.stdout.contains("ask Posos for a new key file"));
    assert_step(&outcome, "clock", "ok", &[]);
    assert_step(&outcome, "identity token", "skipped", &[]);
    assert_no_secrets(&outcome, Some(&endpoint));
}

#[test]
fn clock_skew_fails_clock_step() {
    // The endpoint's clock runs two hours ahead, so the assertion has expired on arrival.
    let endpoint = token_endpoint(EndpointConfig {
        clock_offset: 7200,
        ..EndpointConfig::default()
    });
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));

    let outcome = doctor(&env, &key);

    outcome.expect_code(1);
    assert_step(&outcome, "exchange", "failed", &["invalid_grant"]);
    assert_step(&outcome, "clock", "failed", &["2h", "behind"]);
    assert!(outcome.stdout.contains("timedatectl set-ntp true"));
    assert!(outcome.stdout.contains("see the clock line"));
    outcome.expect_stderr(&["exchange, clock", "fix the clock first"]);
}

#[test]
fn small_clock_skew_is_a_warning() {
    let endpoint = token_endpoint(EndpointConfig {
        clock_offset: -40,
        ..EndpointConfig::default()
    });
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));

    let outcome = doctor(&env, &key);

    outcome.expect_code(0);
    assert_step(&outcome, "clock", "warning", &["ahead of"]);
}

#[test]
fn unreachable_endpoint_fails_exchange() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/token",
        listener.local_addr().unwrap().port()
    );
    drop(listener);
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &url);

    let outcome = doctor(&env, &key);

    outcome.expect_code(1);
    assert_step(
        &outcome,
        "exchange",
        "failed",
        &[&url, "connection refused"],
    );
    assert_step(&outcome, "clock", "skipped", &[]);
}

#[test]
fn wrong_audience_fails_token_step() {
    let endpoint = TestServer::start(|_| {
        let token = make_id_token("another-audience", CLIENT_EMAIL, unix_now());
        Reply::json(200, json!({ "id_token": token }))
    });
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));

    let outcome = doctor(&env, &key);

    outcome.expect_code(1);
    assert_step(
        &outcome,
        "identity token",
        "failed",
        &["another-audience", CLIENT_ID],
    );
    assert_step(&outcome, "clock", "ok", &[]);
    assert_no_secrets(&outcome, Some(&endpoint));
}

#[test]
fn proxy_is_shown_without_password() {
    let env = TestEnv::new();
    // HTTPS_PROXY applies to https URLs only, so the key names Google's endpoint; --offline
    // keeps the run from sending anything.
    let key = env.key_file(
        "service-account.json",
        "https://oauth2.googleapis.com/token",
    );

    let proxied = run(env
        .command()
        .args(["doctor", "--offline", "-c"])
        .arg(&key)
        .env("HTTPS_PROXY", "http://proxyuser:hunter2@127.0.0.1:9"));
    let bypassed = run(env
        .command()
        .args(["doctor", "--offline", "-c"])
        .arg(&key)
        .env("HTTPS_PROXY", "http://proxyuser:hunter2@127.0.0.1:9")
        .env("NO_PROXY", "googleapis.com"));

    proxied.expect_code(0);
    assert_step(
        &proxied,
        "proxy",
        "ok",
        &["HTTPS_PROXY", "127.0.0.1:9", "password (not shown)"],
    );
    bypassed.expect_code(0);
    assert_step(
        &bypassed,
        "proxy",
        "ok",
        &["HTTPS_PROXY", "NO_PROXY matches", "reached directly"],
    );
    for outcome in [&proxied, &bypassed] {
        assert!(!outcome.stdout.contains("hunter2"));
        assert!(!outcome.stderr.contains("hunter2"));
    }
}

#[test]
fn invalid_proxy_variable_fails() {
    let env = TestEnv::new();
    let key = env.write("key.json", fixture("service-account.json"));

    let outcome = run(env
        .command()
        .args(["doctor", "--offline", "-c"])
        .arg(&key)
        .env("HTTPS_PROXY", "ftp://[not-a-host"));

    // A normal run stops on this variable, so doctor marks the step failed.
    outcome.expect_code(1);
    assert_step(
        &outcome,
        "proxy",
        "failed",
        &["HTTPS_PROXY", "not a valid proxy URL"],
    );
}

#[test]
fn options_work_after_subcommand_name() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));

    let before = run(env.command().arg("-c").arg(&key).arg("doctor"));
    let after = run(env
        .command()
        .args(["doctor", "--timeout", "10", "-c"])
        .arg(&key));

    before.expect_code(0);
    after.expect_code(0);
}

#[test]
fn closed_stdout_keeps_exit_status() {
    let env = TestEnv::new();
    let key = env.write("key.json", fixture("service-account.json"));
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("posos-token"))
        .args(["doctor", "--offline", "-c"])
        .arg(&key)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Close the read end at once, as `| head -c 0` would.
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
    assert_eq!(output.status.code(), Some(0), "{stderr}");
}

#[test]
fn cache_step_reports_directory_and_entry() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));

    let before = doctor(&env, &key);
    run(env.command().arg("-c").arg(&key)).expect_code(0);
    let after = doctor(&env, &key);
    let disabled = run(env.command().args(["--no-cache", "doctor", "-c"]).arg(&key));

    assert_step(&before, "cache", "ok", &["does not exist yet"]);
    assert_step(
        &after,
        "cache",
        "ok",
        &["holds a token for this key", "valid for"],
    );
    assert_step(&disabled, "cache", "ok", &["--no-cache"]);
}

#[cfg(unix)]
#[test]
fn symlinked_cache_directory_is_a_warning() {
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", "http://127.0.0.1:9/token");
    std::fs::create_dir(env.path("real-cache")).unwrap();
    std::os::unix::fs::symlink(env.path("real-cache"), env.path("cache")).unwrap();

    let outcome = run(env.command().args(["doctor", "--offline", "-c"]).arg(&key));

    outcome.expect_code(0);
    assert_step(&outcome, "cache", "warning", &["symbolic link"]);
}

mod other_sources {
    use super::*;
    use common::google_apis::*;

    const ATTACHED_ACCOUNT: &str = "vm-account@example-project.iam.gserviceaccount.com";
    /// The access token that the common token endpoint gives for an assertion with `scope`.
    const KEY_ACCESS_TOKEN: &str = "ya29.test-access-token";

    #[test]
    fn metadata_server_exchange_is_checked() {
        let server = metadata_server(ATTACHED_ACCOUNT, true);
        let env = TestEnv::new();

        let outcome = run(env
            .command()
            .arg("doctor")
            .env("GCE_METADATA_HOST", format!("127.0.0.1:{}", server.port())));

        outcome.expect_code(0);
        assert_step(
            &outcome,
            "exchange",
            "ok",
            &["the metadata server at 127.0.0.1"],
        );
        assert_step(&outcome, "clock", "skipped", &["key file's exchange"]);
        assert_step(
            &outcome,
            "identity token",
            "ok",
            &[ATTACHED_ACCOUNT, CLIENT_ID],
        );
        assert_eq!(server.hits(), 1);
    }

    #[test]
    fn silent_metadata_server_fails_exchange() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let env = TestEnv::new();

        let outcome = run(env
            .command()
            .args(["doctor", "--timeout", "2"])
            .env("GCE_METADATA_HOST", format!("127.0.0.1:{port}")));

        outcome.expect_code(1);
        assert_step(
            &outcome,
            "exchange",
            "failed",
            &[&format!("127.0.0.1:{port}")],
        );
        assert_step(&outcome, "identity token", "skipped", &[]);
    }

    #[test]
    fn impersonation_is_what_doctor_checks() {
        let endpoint = google_endpoint();
        let iam = iam_credentials(&[KEY_ACCESS_TOKEN]);
        let env = TestEnv::new();
        let key = env.key_file("service-account.json", &endpoint.url("/token"));

        let outcome = run(env
            .command()
            .args([
                "--impersonate-service-account",
                TARGET_ACCOUNT,
                "doctor",
                "-c",
            ])
            .arg(&key)
            .env("POSOS_IAM_CREDENTIALS_URL", iam.url("")));

        outcome.expect_code(0);
        assert_step(
            &outcome,
            "exchange",
            "ok",
            &["impersonation of", TARGET_ACCOUNT],
        );
        assert_step(&outcome, "identity token", "ok", &[TARGET_ACCOUNT]);
        assert_eq!(iam.hits(), 1);
    }

    #[test]
    fn impersonation_refusal_fails_doctor() {
        let endpoint = google_endpoint();
        let iam = iam_credentials(&[KEY_ACCESS_TOKEN]);
        let env = TestEnv::new();
        let key = env.key_file("service-account.json", &endpoint.url("/token"));

        let outcome = run(env
            .command()
            .args([
                "--impersonate-service-account",
                DENIED_ACCOUNT,
                "doctor",
                "-c",
            ])
            .arg(&key)
            .env("POSOS_IAM_CREDENTIALS_URL", iam.url("")));

        outcome.expect_code(1);
        assert_step(&outcome, "exchange", "failed", &["HTTP 403"]);
        assert!(
            outcome
                .stdout
                .contains("iam.serviceAccounts.getOpenIdToken"),
            "{}",
            outcome.stdout
        );
        assert_no_secrets(&outcome, Some(&endpoint));
    }

    #[test]
    fn stdin_credentials_are_read_once() {
        let endpoint = google_endpoint();
        let iam = iam_credentials(&[KEY_ACCESS_TOKEN]);
        let env = TestEnv::new();
        let key = env.key_file("service-account.json", &endpoint.url("/token"));

        let outcome = run(env
            .command()
            .args([
                "doctor",
                "--impersonate-service-account",
                TARGET_ACCOUNT,
                "-c",
                "-",
            ])
            .env("POSOS_IAM_CREDENTIALS_URL", iam.url(""))
            .pipe_stdin(&key)
            .unwrap());

        outcome.expect_code(0);
        assert_step(&outcome, "exchange", "ok", &[TARGET_ACCOUNT]);
    }
}
