//! Every way the credentials can be wrong: each gets exit 78, one clear message naming the file
//! or variable, nothing on stdout, no file content in the message, and no request sent.

mod common;

use common::*;
use serde_json::{Value, json};

/// Runs the tool on a key file with `contents` and returns the outcome.
fn run_with_key(contents: &str) -> Outcome {
    let env = TestEnv::new();
    let key = env.write("key.json", contents);
    let outcome = run(env.command().arg("--credentials").arg(&key));
    outcome.expect_code(78).expect_clean_failure();
    assert!(
        outcome.stderr.contains("key.json"),
        "message names the file: {}",
        outcome.stderr
    );
    outcome
}

/// The fixture key as JSON, with the token endpoint on a closed loopback port.
fn key_json() -> Value {
    let mut key: Value = serde_json::from_str(&fixture("service-account.json")).unwrap();
    key["token_uri"] = json!("http://127.0.0.1:9/token");
    key
}

fn assert_no_key_material(outcome: &Outcome) {
    assert!(
        !outcome.stderr.contains("MIIE"),
        "stderr shows key material: {}",
        outcome.stderr
    );
    assert!(
        !outcome.stderr.contains("PRIVATE KEY-----"),
        "stderr shows the PEM: {}",
        outcome.stderr
    );
}

#[test]
fn missing_credentials_are_explained() {
    let env = TestEnv::new();
    let outcome = run(&mut env.command());
    outcome.expect_code(78).expect_clean_failure();
    outcome.expect_stderr(&["GOOGLE_APPLICATION_CREDENTIALS is not set", "--credentials"]);
}

#[test]
fn empty_variable_is_named() {
    let env = TestEnv::new();
    let outcome = run(env.command().env("GOOGLE_APPLICATION_CREDENTIALS", ""));
    outcome.expect_code(78).expect_clean_failure();
    outcome.expect_stderr(&["GOOGLE_APPLICATION_CREDENTIALS is set but empty"]);
}

#[test]
fn nonexistent_path_is_named() {
    let env = TestEnv::new();
    let missing = env.path("nope.json");
    let outcome = run(env
        .command()
        .env("GOOGLE_APPLICATION_CREDENTIALS", &missing));
    outcome.expect_code(78).expect_clean_failure();
    outcome.expect_stderr(&["nope.json", "not found", "GOOGLE_APPLICATION_CREDENTIALS"]);
}

#[test]
fn directory_is_rejected() {
    let env = TestEnv::new();
    let outcome = run(env.command().arg("-c").arg(env.dir.path()));
    outcome.expect_code(78).expect_clean_failure();
    outcome.expect_stderr(&["is a directory"]);
}

#[cfg(unix)]
#[test]
fn unreadable_file_is_explained() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    let key = env.write("key.json", fixture("service-account.json"));
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o000)).unwrap();

    let mut command = env.command();
    if std::fs::read(&key).is_ok() {
        // Root reads any file, so run the tool as the unprivileged user `nobody` instead; the
        // test directory must then be searchable by that user.
        std::fs::set_permissions(env.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let binary = assert_cmd::cargo::cargo_bin("posos-token");
        command = std::process::Command::new("setpriv").into();
        command
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(binary)
            .env("NO_GCE_CHECK", "true")
            .env("POSOS_TOKEN_CACHE_DIR", env.path("cache"))
            .env_remove("GOOGLE_APPLICATION_CREDENTIALS");
    }
    let outcome = run(command.arg("-c").arg(&key));

    outcome.expect_code(78).expect_clean_failure();
    outcome.expect_stderr(&["key.json", "permission denied", "chmod 600"]);
}

#[test]
fn quoted_path_is_explained() {
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", "http://127.0.0.1:9/token");
    let quoted = format!("\"{}\"", key.display());
    let outcome = run(env.command().env("GOOGLE_APPLICATION_CREDENTIALS", &quoted));
    outcome.expect_code(78).expect_clean_failure();
    outcome.expect_stderr(&["literal quotes", "remove the quotes"]);
}

#[test]
fn key_material_in_arguments_is_not_echoed() {
    let env = TestEnv::new();
    let json = fixture("service-account.json");
    let pem = serde_json::from_str::<serde_json::Value>(&json).unwrap()["private_key"]
        .as_str()
        .unwrap()
        .to_string();
    let user_json = r#"{"type": "authorized_user", "client_secret": "user-secret", "refresh_token": "1//user-refresh"}"#;
    let arguments: [(&[&str], &str); 8] = [
        (&["--credentials", &json], "private key material"),
        (&["-c", &pem], "private key material"),
        (&["doctor", "--credentials", &json], "private key material"),
        (&[&json], "private key material"),
        (&["inspect", &pem], "private key material"),
        (&["--credentials", user_json], "user credentials"),
        (&[user_json], "user credentials"),
        (&["1//user-refresh"], "refresh token"),
    ];
    for (args, what) in arguments {
        let outcome = run(env.command().args(args));
        // clap would quote the argument whole in a usage error; this message does not.
        outcome.expect_code(2).expect_clean_failure();
        outcome.expect_stderr(&[what, "--credentials -"]);
        assert_no_key_material(&outcome);
        assert!(!outcome.stderr.contains(CLIENT_EMAIL), "{}", outcome.stderr);
        assert!(
            !outcome.stderr.contains("user-secret"),
            "{}",
            outcome.stderr
        );
        assert!(
            !outcome.stderr.contains("user-refresh"),
            "{}",
            outcome.stderr
        );
    }
}

#[test]
fn other_text_in_credentials_flag_is_not_echoed() {
    let env = TestEnv::new();
    let federation_json =
        r#"{"type": "external_account", "audience": "//iam.googleapis.com/secret-pool"}"#;
    for (value, phrase) in [
        (federation_json, "holds JSON text"),
        ("first line\nsecond line", "holds text of several lines"),
    ] {
        for command in [&[][..], &["doctor"][..]] {
            let outcome = run(env.command().args(command).arg("--credentials").arg(value));
            outcome.expect_code(if command.is_empty() { 78 } else { 1 });
            // The main path reports on stderr; doctor's steps are on stdout.
            let output = format!("{}{}", outcome.stdout, outcome.stderr);
            assert!(output.contains(phrase), "{command:?} {phrase}: {output}");
            assert!(output.contains("--credentials -"), "{command:?}: {output}");
            assert!(!output.contains("secret-pool"), "{command:?}: {output}");
            assert!(!output.contains("second line"), "{command:?}: {output}");
        }
    }
}

#[test]
fn json_in_variable_suggests_stdin() {
    let env = TestEnv::new();
    let json = fixture("service-account.json");
    let outcome = run(env.command().env("GOOGLE_APPLICATION_CREDENTIALS", &json));
    outcome.expect_code(78).expect_clean_failure();
    outcome.expect_stderr(&["holds JSON text", "--credentials -"]);
    assert_no_key_material(&outcome);
    assert!(!outcome.stderr.contains(CLIENT_EMAIL));
}

#[test]
fn invalid_json_names_position_not_content() {
    let outcome =
        run_with_key("{\n  \"type\": \"service_account\",\n  \"client_email\": secret-value\n}");
    outcome.expect_stderr(&["not valid JSON", "line 3"]);
    assert!(!outcome.stderr.contains("secret-value"));
}

#[test]
fn empty_file_is_named() {
    let outcome = run_with_key("");
    outcome.expect_stderr(&["is empty"]);
}

#[test]
fn json_array_is_rejected() {
    let outcome = run_with_key("[\"service_account\"]");
    outcome.expect_stderr(&["JSON array, not an object"]);
}

#[test]
fn missing_fields_are_named() {
    for field in ["client_email", "private_key"] {
        let mut key = key_json();
        key.as_object_mut().unwrap().remove(field);
        let outcome = run_with_key(&key.to_string());
        outcome.expect_stderr(&[&format!("lacks `{field}`")]);
        assert_no_key_material(&outcome);
    }
}

#[test]
fn user_credentials_are_explained() {
    let outcome = run_with_key(
        r#"{"type": "authorized_user", "client_id": "x", "client_secret": "s3cr3t", "refresh_token": "1//r3fr3sh"}"#,
    );
    outcome.expect_stderr(&["authorized_user", "service account"]);
    assert!(!outcome.stderr.contains("s3cr3t"));
    assert!(!outcome.stderr.contains("r3fr3sh"));
}

#[test]
fn unknown_type_is_named() {
    let mut key = key_json();
    key["type"] = json!("gdch_service_account");
    let outcome = run_with_key(&key.to_string());
    outcome.expect_stderr(&["gdch_service_account", "not supported", "service_account"]);
}

#[test]
fn private_key_not_pem_is_named() {
    let mut key = key_json();
    key["private_key"] = json!("just some text");
    let outcome = run_with_key(&key.to_string());
    outcome.expect_stderr(&["private_key", "not a PEM private key"]);
}

#[test]
fn truncated_pem_is_named() {
    let mut key = key_json();
    let pem = key["private_key"].as_str().unwrap().to_string();
    key["private_key"] = json!(&pem[..pem.len() / 2]);
    let outcome = run_with_key(&key.to_string());
    outcome.expect_stderr(&["cut short", "-----END PRIVATE KEY-----"]);
    assert!(!outcome.stderr.contains("MIIE"));
}

#[test]
fn altered_pem_is_named() {
    let mut key = key_json();
    let pem = key["private_key"].as_str().unwrap().to_string();
    // Change one character deep inside the body: still base64, no longer a valid key.
    let position = pem.len() / 2;
    let replacement = if &pem[position..position + 1] == "A" {
        "B"
    } else {
        "A"
    };
    let altered = format!(
        "{}{}{}",
        &pem[..position],
        replacement,
        &pem[position + 1..]
    );
    key["private_key"] = json!(altered);
    let outcome = run_with_key(&key.to_string());
    outcome.expect_stderr(&["damaged"]);
    assert_no_key_material(&outcome);
}

#[test]
fn other_key_forms_are_named() {
    let cases = [
        ("ENCRYPTED PRIVATE KEY", "encrypted"),
        ("OPENSSH PRIVATE KEY", "OpenSSH"),
        ("EC PRIVATE KEY", "EC private key"),
    ];
    for (label, phrase) in cases {
        let mut key = key_json();
        key["private_key"] = json!(format!(
            "-----BEGIN {label}-----\nMIIBAAAA\n-----END {label}-----\n"
        ));
        let outcome = run_with_key(&key.to_string());
        outcome.expect_stderr(&[phrase]);
    }
}

#[test]
fn pkcs8_ec_key_is_named() {
    // A P-256 key in PKCS#8, made with `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`.
    let pem = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgjvfFdkxIa8Dwu3nd
Ljtm7+foiZe0ZhlD4IJWbvo+NF6hRANCAASByirLacZx3h8sQUpFQM6CtNz0S7dg
o0BF7eu9wc/vryKkk4BtlqKLpl52a49YjiJMGK4juEf30i4tXkwEGcST
-----END PRIVATE KEY-----
";
    let mut key = key_json();
    key["private_key"] = json!(pem);
    let outcome = run_with_key(&key.to_string());
    outcome.expect_stderr(&["EC private key"]);
}

#[test]
fn crlf_and_byte_order_mark_are_tolerated() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let mut key: Value = serde_json::from_str(&fixture("service-account.json")).unwrap();
    key["token_uri"] = json!(endpoint.url("/token"));
    let pem = key["private_key"].as_str().unwrap().replace('\n', "\r\n");
    key["private_key"] = json!(pem);
    let text = format!(
        "\u{feff}{}",
        serde_json::to_string_pretty(&key)
            .unwrap()
            .replace('\n', "\r\n")
    );
    let path = env.write("key.json", text);

    let outcome = run(env.command().arg("-c").arg(&path));

    outcome.expect_code(0);
}

#[test]
fn plain_http_token_uri_is_refused_before_connecting() {
    let mut key = key_json();
    key["token_uri"] = json!("http://oauth2.googleapis.com/token");
    let outcome = run_with_key(&key.to_string());
    outcome.expect_stderr(&["token_uri", "plain http", "https"]);
}

#[test]
fn oversize_file_is_rejected_early() {
    let env = TestEnv::new();
    let path = env.path("huge.json");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(100 * 1024 * 1024).unwrap();
    let outcome = run(env.command().arg("-c").arg(&path));
    outcome.expect_code(78).expect_clean_failure();
    outcome.expect_stderr(&["larger than 64 KiB"]);
}

#[cfg(unix)]
#[test]
fn endless_device_is_bounded() {
    let env = TestEnv::new();
    let outcome = run(env.command().args(["-c", "/dev/zero"]));
    outcome.expect_code(78).expect_clean_failure();
    outcome.expect_stderr(&["larger than 64 KiB"]);
}

#[test]
fn stdin_that_never_closes_is_bounded_by_timeout() {
    let env = TestEnv::new();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("posos-token"))
        .args(["--credentials", "-", "--timeout", "1"])
        .env("NO_GCE_CHECK", "true")
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
    assert_eq!(output.status.code(), Some(78), "{stderr}");
    assert!(
        stderr.contains("timed out reading credentials on standard input"),
        "{stderr}"
    );
}

#[cfg(unix)]
#[test]
fn group_readable_key_warns_unless_quiet() {
    use std::os::unix::fs::PermissionsExt;
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();

    let loud = run(env.command().arg("-c").arg(&key));
    let quiet = run(env.command().arg("-c").arg(&key).arg("-q"));

    loud.expect_code(0)
        .expect_stderr(&["warning:", "0644", "chmod 600"]);
    quiet.expect_code(0);
    assert_eq!(quiet.stderr, "");
}

#[test]
fn doubly_escaped_pem_is_explained() {
    let mut key = key_json();
    let pem = key["private_key"].as_str().unwrap().replace('\n', "\\n");
    key["private_key"] = json!(pem);
    let outcome = run_with_key(&key.to_string());
    outcome.expect_stderr(&["escaped twice"]);
    assert_no_key_material(&outcome);
}

#[test]
fn unexpanded_tilde_is_explained() {
    let env = TestEnv::new();
    let outcome = run(env
        .command()
        .env("GOOGLE_APPLICATION_CREDENTIALS", "~/posos-key.json"));
    outcome.expect_code(78).expect_clean_failure();
    outcome.expect_stderr(&["~/posos-key.json", "not found", "$HOME"]);
}
