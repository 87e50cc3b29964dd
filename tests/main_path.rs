//! The main path end to end: the built binary, a key file, and a loopback token endpoint that
//! verifies the assertion as Google's does.

mod common;

use common::*;
use serde_json::Value;

#[test]
fn prints_token_from_pkcs8_key() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));

    let outcome = run(env.command().arg("--credentials").arg(&key));

    outcome.expect_code(0);
    assert_eq!(
        outcome.stdout.matches('\n').count(),
        1,
        "one line: {}",
        outcome.stdout
    );
    assert!(outcome.stdout.ends_with('\n'));
    let claims = jwt_claims(&outcome.stdout);
    assert_eq!(claims["aud"], CLIENT_ID);
    assert_eq!(claims["email"], CLIENT_EMAIL);
    assert_eq!(outcome.stderr, "");
    assert_eq!(endpoint.hits(), 1);
}

#[test]
fn prints_token_from_pkcs1_key() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account-pkcs1.json", &endpoint.url("/token"));

    let outcome = run(env.command().arg("-c").arg(&key));

    outcome.expect_code(0);
    assert_eq!(jwt_claims(&outcome.stdout)["aud"], CLIENT_ID);
}

#[test]
fn reads_key_path_from_environment() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));

    let outcome = run(env.command().env("GOOGLE_APPLICATION_CREDENTIALS", &key));

    outcome.expect_code(0);
}

#[test]
fn reads_key_from_stdin() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));
    let json = std::fs::read(&key).unwrap();

    let outcome = run(env.command().args(["--credentials", "-"]).write_stdin(json));

    outcome.expect_code(0);
}

#[test]
fn assertion_has_google_claims() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));

    run(env.command().arg("-c").arg(&key)).expect_code(0);

    let request = &endpoint.requests()[0];
    assert_eq!(request.method, "POST");
    assert!(
        request
            .header("content-type")
            .unwrap()
            .starts_with("application/x-www-form-urlencoded")
    );
    assert!(
        request
            .header("user-agent")
            .unwrap()
            .starts_with("posos-token/")
    );
    let form = request.form();
    assert_eq!(
        form["grant_type"],
        "urn:ietf:params:oauth:grant-type:jwt-bearer"
    );

    let assertion = &form["assertion"];
    let header = jwt_header(assertion);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "JWT");
    assert_eq!(header["kid"], KEY_ID);

    let claims = jwt_claims(assertion);
    assert_eq!(claims["iss"], CLIENT_EMAIL);
    assert_eq!(claims["sub"], CLIENT_EMAIL);
    assert_eq!(claims["aud"], endpoint.url("/token"));
    assert_eq!(claims["target_audience"], CLIENT_ID);
    assert!(claims.get("scope").is_none());
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert_eq!(exp - iat, 3600);
    assert!(iat <= unix_now(), "iat {iat} is in the future");
    assert!(iat >= unix_now() - 70, "iat {iat} is too old");
}

fn jwt_header(token: &str) -> Value {
    use base64::Engine;
    let segment = token.split('.').next().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segment)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn client_id_sets_audience() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));

    let by_flag = run(env
        .command()
        .arg("-c")
        .arg(&key)
        .args(["--client-id", "flag.apps.googleusercontent.com"]));
    let by_alias = run(env
        .command()
        .arg("-c")
        .arg(&key)
        .args(["--audience", "alias.apps.googleusercontent.com"]));
    let by_env = run(env
        .command()
        .arg("-c")
        .arg(&key)
        .env("POSOS_CLIENT_ID", "env.apps.googleusercontent.com"));

    assert_eq!(
        jwt_claims(&by_flag.stdout)["aud"],
        "flag.apps.googleusercontent.com"
    );
    assert_eq!(
        jwt_claims(&by_alias.stdout)["aud"],
        "alias.apps.googleusercontent.com"
    );
    assert_eq!(
        jwt_claims(&by_env.stdout)["aud"],
        "env.apps.googleusercontent.com"
    );
}

#[test]
fn header_format_prints_authorization_line() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));

    let short = run(env.command().arg("-c").arg(&key).arg("-H"));
    let long = run(env
        .command()
        .arg("-c")
        .arg(&key)
        .args(["--format", "header"]));

    for outcome in [short, long] {
        outcome.expect_code(0);
        let token = outcome
            .stdout
            .strip_prefix("Authorization: Bearer ")
            .expect("header prefix");
        assert_eq!(jwt_claims(token)["aud"], CLIENT_ID);
        assert!(outcome.stdout.ends_with('\n'));
        assert_eq!(outcome.stdout.matches('\n').count(), 1);
    }
}

#[test]
fn json_format_prints_token_and_expiry() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));

    let outcome = run(env.command().arg("-c").arg(&key).args(["--format", "json"]));

    outcome.expect_code(0);
    assert!(outcome.stdout.ends_with("}\n"));
    let object: Value = serde_json::from_str(&outcome.stdout).unwrap();
    let claims = jwt_claims(object["token"].as_str().unwrap());
    assert_eq!(object["audience"], CLIENT_ID);
    assert_eq!(object["email"], CLIENT_EMAIL);
    let expires_at = object["expires_at"].as_str().unwrap();
    let expected = httpdate_free_rfc3339(claims["exp"].as_i64().unwrap());
    assert_eq!(expires_at, expected);
}

/// Formats seconds as RFC 3339 UTC with an independent civil-date computation.
fn httpdate_free_rfc3339(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let rem = seconds.rem_euclid(86_400);
    // Howard Hinnant's days-from-civil inverse.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[test]
fn verbose_logs_steps_without_secrets() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));

    let outcome = run(env.command().arg("-c").arg(&key).arg("-vv"));

    outcome.expect_code(0);
    outcome.expect_stderr(&[CLIENT_EMAIL, &endpoint.url("/token"), "HTTP 200", CLIENT_ID]);
    let token = outcome.stdout.trim();
    assert!(!outcome.stderr.contains(token));
    let assertion = &endpoint.requests()[0].form()["assertion"];
    assert!(!outcome.stderr.contains(assertion.as_str()));
    assert!(!outcome.stderr.contains("PRIVATE KEY"));
}

#[test]
fn closed_stdout_ends_quietly() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));

    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("posos-token"))
        .arg("-c")
        .arg(&key)
        .env("NO_GCE_CHECK", "true")
        .env("POSOS_TOKEN_CACHE_DIR", env.path("cache"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Close the read end at once, as `| head -c 0` would.
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
    assert_eq!(output.status.code(), Some(0), "{stderr}");
}

#[test]
fn help_lists_exit_codes_and_environment() {
    let env = TestEnv::new();
    let outcome = run(env.command().arg("--help"));
    outcome.expect_code(0);
    for phrase in [
        "Exit codes:",
        "75",
        "76",
        "77",
        "78",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "POSOS_CLIENT_ID",
    ] {
        assert!(outcome.stdout.contains(phrase), "help lacks {phrase}");
    }
}

#[test]
fn usage_error_exits_2() {
    let env = TestEnv::new();
    let outcome = run(env.command().args(["--format", "yaml"]));
    outcome.expect_code(2);
    assert!(outcome.stdout.is_empty());
    run(env.command().args(["--timeout", "0"])).expect_code(2);
    run(env.command().args(["--client-id", "has space"])).expect_code(2);
}

#[test]
fn unusual_client_id_warns_unless_quiet() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));

    let loud = run(env
        .command()
        .arg("-c")
        .arg(&key)
        .args(["--client-id", "12345"]));
    let quiet = run(env
        .command()
        .arg("-c")
        .arg(&key)
        .args(["--client-id", "12345", "-q"]));

    loud.expect_code(0)
        .expect_stderr(&["warning:", "12345", ".apps.googleusercontent.com"]);
    assert_eq!(jwt_claims(&loud.stdout)["aud"], "12345");
    quiet.expect_code(0);
    assert_eq!(quiet.stderr, "");
}
