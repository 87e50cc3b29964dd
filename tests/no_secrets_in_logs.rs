//! Every error path the other tests cover, run again with `-vv`. Whatever the outcome, stderr
//! must contain no PEM line and no 32-character run of any fixture key's base64 body. It must
//! also contain no assertion the endpoint received, no token it sent and no cookie it set.

mod common;

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use common::*;
use serde_json::{Value, json};

/// The length of the runs of key material looked for in stderr.
const RUN: usize = 32;

/// A cookie value the endpoint sets; `-vv` names the header but hides its value.
const COOKIE: &str = "session-cookie-value-4f1e";

/// Every 32-character run of the base64 bodies of the fixture keys.
fn key_runs() -> HashSet<String> {
    let mut runs = HashSet::new();
    for name in [
        "service-account.json",
        "service-account-pkcs1.json",
        "service-account-rotated.json",
    ] {
        let key: Value = serde_json::from_str(&fixture(name)).unwrap();
        let body: String = key["private_key"]
            .as_str()
            .unwrap()
            .lines()
            .filter(|line| !line.starts_with("-----"))
            .collect();
        let chars: Vec<char> = body.chars().collect();
        for window in chars.windows(RUN) {
            runs.insert(window.iter().collect());
        }
    }
    runs
}

/// Fails when `stderr` contains key material or any of `secrets`.
fn check_stderr(scenario: &str, stderr: &str, runs: &HashSet<String>, secrets: &[String]) {
    assert!(
        !has_pem_begin_line(stderr),
        "{scenario}: stderr shows a PEM line:\n{stderr}"
    );
    // Join lines and drop escaped newlines, so that a key printed across lines is found too.
    let flat: Vec<char> = stderr
        .replace("\\n", "")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    for window in flat.windows(RUN) {
        let text: String = window.iter().collect();
        assert!(
            !runs.contains(&text),
            "{scenario}: stderr shows key material {text}:\n{stderr}"
        );
    }
    for secret in secrets.iter().filter(|secret| !secret.is_empty()) {
        assert!(
            !stderr.contains(secret.as_str()),
            "{scenario}: stderr shows a secret:\n{stderr}"
        );
    }
}

/// Returns whether `text` has a PEM opening line such as `-----BEGIN PRIVATE KEY-----`. A
/// message may say "no -----BEGIN line"; an opening line has a label and five dashes after it.
fn has_pem_begin_line(text: &str) -> bool {
    text.match_indices("-----BEGIN ").any(|(start, marker)| {
        let rest = &text[start + marker.len()..];
        let label_end = rest.find("-----");
        label_end.is_some_and(|end| {
            end > 0
                && rest[..end]
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c == ' ')
        })
    })
}

/// The secrets an endpoint saw or sent: each assertion and its signature, and every token
/// and cookie in the replies the scenario queued.
fn endpoint_secrets(endpoint: &TestServer) -> Vec<String> {
    let mut secrets = Vec::new();
    for request in endpoint.requests() {
        if let Some(assertion) = request.form().get("assertion") {
            secrets.push(assertion.clone());
            secrets.push(assertion.rsplit('.').next().unwrap().to_string());
        }
    }
    secrets
}

/// A key file whose `private_key` or other fields have been changed by `edit`.
fn edited_key(env: &TestEnv, edit: impl FnOnce(&mut Value)) -> PathBuf {
    let mut key: Value = serde_json::from_str(&fixture("service-account.json")).unwrap();
    key["token_uri"] = json!("http://127.0.0.1:9/token");
    edit(&mut key);
    env.write("key.json", key.to_string())
}

fn pem() -> String {
    let key: Value = serde_json::from_str(&fixture("service-account.json")).unwrap();
    key["private_key"].as_str().unwrap().to_string()
}

#[test]
fn credential_errors_log_no_key_material() {
    let runs = key_runs();
    type Edit = Box<dyn FnOnce(&mut Value)>;
    let cases: Vec<(&str, Edit)> = vec![
        (
            "missing client_email",
            Box::new(|k| drop(k.as_object_mut().unwrap().remove("client_email"))),
        ),
        (
            "missing private_key",
            Box::new(|k| drop(k.as_object_mut().unwrap().remove("private_key"))),
        ),
        (
            "private_key not a string",
            Box::new(|k| k["private_key"] = json!(42)),
        ),
        (
            "private_key not PEM",
            Box::new(|k| k["private_key"] = json!("not a key")),
        ),
        (
            "truncated PEM",
            Box::new(|k| {
                let pem = pem();
                k["private_key"] = json!(pem[..pem.len() / 2].to_string());
            }),
        ),
        (
            "altered PEM",
            Box::new(|k| k["private_key"] = json!(pem().replacen("MIIE", "MIIF", 1))),
        ),
        (
            "bad base64 PEM",
            Box::new(|k| k["private_key"] = json!(pem().replacen("MIIE", "M*IE", 1))),
        ),
        (
            "encrypted label",
            Box::new(|k| {
                k["private_key"] = json!(pem().replace("PRIVATE KEY", "ENCRYPTED PRIVATE KEY"));
            }),
        ),
        (
            "EC label",
            Box::new(|k| {
                k["private_key"] = json!(pem().replace("PRIVATE KEY", "EC PRIVATE KEY"));
            }),
        ),
        (
            "public key label",
            Box::new(|k| {
                k["private_key"] = json!(pem().replace("PRIVATE KEY", "PUBLIC KEY"));
            }),
        ),
        (
            "plain http token_uri",
            Box::new(|k| k["token_uri"] = json!("http://oauth2.googleapis.com/token")),
        ),
        (
            "invalid token_uri",
            Box::new(|k| k["token_uri"] = json!("not a url")),
        ),
        (
            "user credentials",
            Box::new(|k| k["type"] = json!("authorized_user")),
        ),
        (
            "unknown type with PEM",
            Box::new(|k| k["type"] = json!(pem())),
        ),
        (
            "empty client_email",
            Box::new(|k| k["client_email"] = json!(" ")),
        ),
    ];
    for (scenario, edit) in cases {
        let env = TestEnv::new();
        let path = edited_key(&env, edit);
        for subcommand in [None, Some("doctor")] {
            let mut command = env.command();
            command.args(subcommand).arg("-vv").arg("-c").arg(&path);
            let outcome = run(&mut command);
            assert_ne!(outcome.code, 0, "{scenario} should fail");
            check_stderr(scenario, &outcome.stderr, &runs, &[]);
            if subcommand.is_some() {
                check_stderr(scenario, &outcome.stdout, &runs, &[]);
            }
        }
    }

    let files: Vec<(&str, String)> = vec![
        (
            "invalid JSON around a PEM",
            format!("{{\"private_key\": \"{}\"", pem().replace('\n', "\\n")),
        ),
        ("PEM alone", pem()),
        (
            "JSON array",
            format!("[\"{}\"]", pem().replace('\n', "\\n")),
        ),
        ("empty file", String::new()),
    ];
    for (scenario, contents) in files {
        let env = TestEnv::new();
        let path = env.write("key.json", contents);
        let outcome = run(env.command().arg("-vv").arg("-c").arg(&path));
        outcome.expect_code(78);
        check_stderr(scenario, &outcome.stderr, &runs, &[]);
    }

    let env = TestEnv::new();
    let json_in_variable = format!("{{\"private_key\": \"{}\"}}", pem().replace('\n', "\\n"));
    let outcome = run(env
        .command()
        .arg("-vv")
        .env("GOOGLE_APPLICATION_CREDENTIALS", json_in_variable));
    outcome.expect_code(78);
    check_stderr("JSON in the variable", &outcome.stderr, &runs, &[]);

    for (scenario, args) in [
        ("no credentials", vec!["-vv"]),
        (
            "nonexistent path",
            vec!["-vv", "-c", "/nonexistent/key.json"],
        ),
        ("directory", vec!["-vv", "-c", "/"]),
    ] {
        let outcome = run(env.command().args(args));
        outcome.expect_code(78);
        check_stderr(scenario, &outcome.stderr, &runs, &[]);
    }
}

#[test]
fn endpoint_errors_log_no_secrets() {
    let runs = key_runs();
    let html = "<html><body>portal</body></html>";
    let not_a_jwt = "not-a-jwt-secret-token";
    let cases: Vec<(&str, Vec<Reply>, i32)> = vec![
        (
            "invalid_grant",
            vec![Reply::google_error(
                400,
                "invalid_grant",
                "Invalid JWT Signature.",
            )],
            77,
        ),
        (
            "account not found",
            vec![Reply::google_error(
                400,
                "invalid_grant",
                "Invalid grant: account not found",
            )],
            77,
        ),
        (
            "unauthorized_client",
            vec![Reply::google_error(
                401,
                "unauthorized_client",
                "Client is unauthorized",
            )],
            77,
        ),
        (
            "forbidden",
            vec![Reply::text(403, "text/plain", "Forbidden")],
            77,
        ),
        (
            "access token",
            vec![Reply::json(
                200,
                json!({"access_token": "ya29.secret-access-token", "expires_in": 3599}),
            )],
            76,
        ),
        ("HTML page", vec![Reply::text(200, "text/html", html)], 76),
        (
            "not JSON",
            vec![Reply::text(200, "text/plain", "id_token=abc")],
            76,
        ),
        (
            "no id_token",
            vec![Reply::json(200, json!({"token_type": "Bearer"}))],
            76,
        ),
        (
            "id_token not a JWT",
            vec![Reply::json(200, json!({"id_token": not_a_jwt}))],
            76,
        ),
        (
            "server error",
            vec![Reply::google_error(
                503,
                "temporarily_unavailable",
                "Try again",
            )],
            75,
        ),
        (
            "rate limited",
            vec![Reply::text(429, "text/plain", "slow down")],
            75,
        ),
        (
            "redirect",
            vec![
                Reply::text(302, "text/plain", "")
                    .with_header("Location", "https://login.example.com/"),
            ],
            76,
        ),
        ("not found", vec![Reply::text(404, "text/plain", "no")], 76),
        ("closed", vec![Reply::Close], 75),
        (
            "truncated",
            vec![Reply::Truncated {
                status: 200,
                body: b"{\"id_token\": \"eyJ".to_vec(),
                claimed: 500,
            }],
            76,
        ),
    ];
    for (scenario, replies, code) in cases {
        let endpoint = TestServer::start(|_| Reply::text(500, "text/plain", "unexpected"));
        let replies: Vec<Reply> = replies
            .into_iter()
            .map(|reply| reply.with_header("Set-Cookie", &format!("sid={COOKIE}; HttpOnly")))
            .collect();
        endpoint.queue(replies);
        let env = TestEnv::new();
        let key = env.key_file("service-account.json", &endpoint.url("/token"));

        let outcome = run(env.command().arg("-vv").arg("-c").arg(&key));

        assert_eq!(outcome.code, code, "{scenario}: {}", outcome.stderr);
        assert!(
            outcome.stderr.contains("> POST"),
            "{scenario}: {}",
            outcome.stderr
        );
        let mut secrets = endpoint_secrets(&endpoint);
        secrets.extend([
            COOKIE.to_string(),
            "ya29.secret-access-token".into(),
            not_a_jwt.into(),
        ]);
        check_stderr(scenario, &outcome.stderr, &runs, &secrets);
    }

    let endpoint = TestServer::start(|_| Reply::Hang(Duration::from_secs(5)));
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));
    let outcome = run(env
        .command()
        .args(["-vv", "--timeout", "1", "-c"])
        .arg(&key));
    outcome.expect_code(75);
    check_stderr(
        "timeout",
        &outcome.stderr,
        &runs,
        &endpoint_secrets(&endpoint),
    );

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/token",
        listener.local_addr().unwrap().port()
    );
    drop(listener);
    let key = env.key_file("service-account.json", &url);
    let outcome = run(env.command().arg("-vv").arg("-c").arg(&key));
    outcome.expect_code(75);
    check_stderr("connection refused", &outcome.stderr, &runs, &[]);
}

#[test]
fn successful_runs_log_no_secrets() {
    let runs = key_runs();
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));

    for format in ["token", "header", "json"] {
        let outcome = run(env
            .command()
            .args(["-vv", "--no-cache", "--format", format, "-c"])
            .arg(&key));
        outcome.expect_code(0);
        outcome.expect_stderr(&["> POST", "< HTTP 200", "< content-type:"]);
        let token = jwt_in(&outcome.stdout);
        let mut secrets = endpoint_secrets(&endpoint);
        secrets.push(token);
        check_stderr(format, &outcome.stderr, &runs, &secrets);
    }

    // A run that writes the cache, then one that reads it.
    for scenario in ["cache write", "cache hit"] {
        let outcome = run(env.command().args(["-vv", "-c"]).arg(&key));
        outcome.expect_code(0);
        let mut secrets = endpoint_secrets(&endpoint);
        secrets.push(jwt_in(&outcome.stdout));
        check_stderr(scenario, &outcome.stderr, &runs, &secrets);
    }

    let outcome = run(env.command().args(["-vv", "doctor", "-c"]).arg(&key));
    outcome.expect_code(0);
    outcome.expect_stderr(&["doctor: checking exchange", "< HTTP 200"]);
    let secrets = endpoint_secrets(&endpoint);
    check_stderr("doctor", &outcome.stderr, &runs, &secrets);
    check_stderr("doctor stdout", &outcome.stdout, &runs, &secrets);
    assert!(!outcome.stdout.contains("eyJ"), "a JWT in the report");

    // A revoked key: doctor's failed exchange logs no assertion either.
    let mut rotated: Value =
        serde_json::from_str(&fixture("service-account-rotated.json")).unwrap();
    rotated["token_uri"] = json!(endpoint.url("/token"));
    rotated["private_key_id"] = json!(KEY_ID);
    let path = env.write("rotated.json", rotated.to_string());
    let outcome = run(env.command().args(["-vv", "doctor", "-c"]).arg(&path));
    outcome.expect_code(1);
    let secrets = endpoint_secrets(&endpoint);
    check_stderr("doctor, revoked key", &outcome.stderr, &runs, &secrets);
    check_stderr(
        "doctor stdout, revoked key",
        &outcome.stdout,
        &runs,
        &secrets,
    );
}

#[test]
fn inspect_errors_do_not_echo_input() {
    let runs = key_runs();
    let env = TestEnv::new();
    let token = make_id_token(CLIENT_ID, CLIENT_EMAIL, unix_now());
    let (head, _) = token.rsplit_once('.').unwrap();
    let inputs = [
        format!("{head}.***"),
        format!("{token}.extra"),
        format!("{token}\n{token}\n"),
        token.replacen('.', "!", 1),
    ];
    for input in inputs {
        let outcome = run(env
            .command()
            .args(["-vv", "inspect"])
            .write_stdin(input.clone()));
        outcome.expect_code(65);
        check_stderr(
            "inspect",
            &outcome.stderr,
            &runs,
            &[input, head.to_string()],
        );
    }
}

/// Returns the JWT in a line of output in any of the formats.
fn jwt_in(output: &str) -> String {
    let output = output.trim();
    if let Ok(value) = serde_json::from_str::<Value>(output) {
        return value["token"].as_str().unwrap().to_string();
    }
    output
        .strip_prefix("Authorization: Bearer ")
        .unwrap_or(output)
        .to_string()
}
