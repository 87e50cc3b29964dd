//! `posos-token inspect`: decoding tokens from stdin, an argument, an Authorization line or
//! `--format json` output, and exit 65 naming the part that failed for input that is not a JWT.

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use serde_json::{Value, json};

/// A token the loopback endpoint would mint, for `aud` and `exp = now + life`.
fn token_with_life(life: i64) -> String {
    let now = unix_now();
    make_id_token(CLIENT_ID, CLIENT_EMAIL, now + life - 3600)
}

fn inspect(env: &TestEnv, stdin: &str, args: &[&str]) -> Outcome {
    run(env
        .command()
        .arg("inspect")
        .args(args)
        .write_stdin(stdin.to_string()))
}

#[test]
fn token_from_real_run_is_decoded() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));
    let token = run(env.command().arg("-c").arg(&key)).stdout;

    let outcome = inspect(&env, &token, &[]);

    outcome.expect_code(0);
    let out = &outcome.stdout;
    assert!(out.starts_with("Signature NOT verified"), "{out}");
    assert!(out.contains(CLIENT_ID));
    assert!(out.contains(CLIENT_EMAIL));
    assert!(out.contains("https://accounts.google.com"));
    assert!(out.contains("Status: expires in 59m") || out.contains("Status: expires in 1h"));
    assert!(out.contains("Z (in "), "exp as UTC time: {out}");
    assert!(out.contains("s ago)"), "iat as UTC time: {out}");
    assert!(
        !out.contains(token.trim()),
        "the token itself is not printed"
    );
    assert_eq!(outcome.stderr, "");
}

#[test]
fn expired_token_says_how_long_ago() {
    let env = TestEnv::new();
    let outcome = inspect(&env, &token_with_life(-185), &[]);
    outcome.expect_code(0);
    assert!(
        outcome.stdout.contains("Status: expired 3m5s ago"),
        "{}",
        outcome.stdout
    );
}

#[test]
fn argument_and_dash_are_accepted() {
    let env = TestEnv::new();
    let token = token_with_life(600);

    let from_argument = run(env.command().args(["inspect", &token]));
    let from_dash = inspect(&env, &token, &["-"]);

    from_argument.expect_code(0);
    from_dash.expect_code(0);
    assert!(from_argument.stdout.contains(CLIENT_EMAIL));
    assert!(from_dash.stdout.contains(CLIENT_EMAIL));
}

#[test]
fn authorization_header_line_is_accepted() {
    let env = TestEnv::new();
    let token = token_with_life(600);
    let headers = format!("Accept: */*\nAuthorization: Bearer {token}\nHost: api\n");

    let outcome = inspect(&env, &headers, &[]);

    outcome.expect_code(0);
    assert!(outcome.stdout.contains(CLIENT_ID));
}

#[test]
fn header_and_json_formats_pipe_into_inspect() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));

    for format in ["header", "json"] {
        let printed = run(env.command().arg("-c").arg(&key).args(["--format", format])).stdout;
        let outcome = inspect(&env, &printed, &[]);
        outcome.expect_code(0);
        assert!(outcome.stdout.contains(CLIENT_EMAIL), "{format}");
    }
}

#[test]
fn json_output_has_claims_and_verification_flag() {
    let env = TestEnv::new();
    let outcome = inspect(&env, &token_with_life(600), &["--json"]);

    outcome.expect_code(0);
    let value: Value = serde_json::from_str(&outcome.stdout).unwrap();
    assert_eq!(value["signature_verified"], false);
    assert_eq!(value["claims"]["aud"], CLIENT_ID);
    assert_eq!(value["claims"]["email"], CLIENT_EMAIL);
    assert_eq!(value["header"]["alg"], "RS256");
    assert_eq!(value["expired"], false);
    let left = value["expires_in_seconds"].as_i64().unwrap();
    assert!((590..=600).contains(&left), "{left}");
    assert!(value["expires_at"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn non_jwt_input_exits_65_naming_part() {
    let env = TestEnv::new();
    let claims_not_json = format!(
        "eyJhbGciOiJSUzI1NiJ9.{}.c2ln",
        URL_SAFE_NO_PAD.encode("nope")
    );
    let cases = [
        (
            "only-one-segment-secret",
            "3 dot-separated segments, but this has 1",
        ),
        ("a.b.c.d", "3 dot-separated segments, but this has 4"),
        ("!!!.e30.c2ln", "header segment is not valid base64url"),
        ("e30.%%%.c2ln", "claims segment is not valid base64url"),
        (
            claims_not_json.as_str(),
            "claims segment is not a JSON object",
        ),
        ("e30.e30.***", "signature segment is not valid base64url"),
        ("", "the input is empty"),
        (
            "{\"access_token\": \"ya29.secret\"}",
            "without a `token` or `id_token`",
        ),
        ("line-one\nline-two\n", "has 2 lines"),
    ];
    for (input, expected) in cases {
        let outcome = inspect(&env, input, &[]);
        outcome.expect_code(65).expect_clean_failure();
        outcome.expect_stderr(&[expected]);
        assert!(
            !outcome.stderr.contains("secret"),
            "input echoed: {}",
            outcome.stderr
        );
    }
}

#[test]
fn oversize_input_is_rejected() {
    let env = TestEnv::new();
    let outcome = inspect(&env, &"a".repeat(100 * 1024), &[]);
    outcome.expect_code(65).expect_clean_failure();
    outcome.expect_stderr(&["larger than 64 KiB"]);
}

#[test]
fn binary_input_is_rejected() {
    let env = TestEnv::new();
    let outcome = run(env
        .command()
        .arg("inspect")
        .write_stdin(vec![0xff, 0xfe, 0x00, 0x2e]));
    outcome.expect_code(65).expect_clean_failure();
    outcome.expect_stderr(&["not UTF-8"]);
}

#[test]
fn stdin_that_never_closes_is_bounded_by_timeout() {
    let env = TestEnv::new();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("posos-token"))
        .args(["inspect", "--timeout", "1"])
        .env("POSOS_TOKEN_CACHE_DIR", env.path("cache"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take();
    let output = child.wait_with_output().unwrap();
    drop(stdin);

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(65), "{stderr}");
    assert!(stderr.contains("timed out reading the token"), "{stderr}");
}

#[test]
fn crafted_claims_cannot_send_escape_sequences() {
    let env = TestEnv::new();
    let claims = json!({"exp": unix_now() + 60, "name": "\u{1b}]0;pwned\u{7}"});
    let token = format!(
        "{}.{}.c2ln",
        URL_SAFE_NO_PAD.encode("{\"alg\":\"RS256\"}"),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let outcome = inspect(&env, &token, &[]);
    outcome.expect_code(0);
    assert!(!outcome.stdout.contains('\u{1b}'));
    assert!(!outcome.stdout.contains('\u{7}'));
}

#[test]
fn help_prefers_stdin() {
    let env = TestEnv::new();
    let outcome = run(env.command().args(["inspect", "--help"]));
    outcome.expect_code(0);
    assert!(outcome.stdout.contains("posos-token | posos-token inspect"));
    assert!(outcome.stdout.contains("visible to other local users"));
}
