//! Hostile inputs: sizes, shapes and bytes that no real key file has. Each ends in a clear
//! error or a token, never a panic or a hang.

mod common;

use common::*;
use serde_json::{Value, json};

/// The fixture key as JSON with `token_uri` pointing at `token_uri`.
fn key_json(token_uri: &str) -> Value {
    let mut key: Value = serde_json::from_str(&fixture("service-account.json")).unwrap();
    key["token_uri"] = json!(token_uri);
    key
}

fn assert_no_panic(outcome: &Outcome, case: &str) {
    assert!(
        !outcome.stderr.contains("panicked"),
        "{case}: {}",
        outcome.stderr
    );
    assert!(
        !outcome.stderr.contains("RUST_BACKTRACE"),
        "{case}: {}",
        outcome.stderr
    );
}

#[test]
fn json_nested_ten_thousand_deep_is_rejected() {
    let env = TestEnv::new();
    let text = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let path = env.write("deep.json", text);

    let outcome = run(env.command().arg("-c").arg(&path));

    assert_no_panic(&outcome, "deep");
    outcome.expect_code(78).expect_clean_failure();
    outcome.expect_stderr(&["deep.json", "not valid JSON", "more than 128 levels deep"]);
}

#[test]
fn nested_objects_in_fields_are_rejected() {
    let env = TestEnv::new();
    let mut key = key_json("http://127.0.0.1:9/token");
    let mut deep = json!("x");
    for _ in 0..100 {
        deep = json!({ "a": deep });
    }
    key["client_email"] = deep;
    let path = env.write("key.json", key.to_string());

    let outcome = run(env.command().arg("-c").arg(&path));

    outcome.expect_code(78).expect_clean_failure();
    outcome.expect_stderr(&["client_email", "not a string"]);
}

#[test]
fn nul_bytes_in_every_string_field_are_handled() {
    let endpoint = google_endpoint();
    let base = key_json(&endpoint.url("/token"));
    let fields: Vec<String> = base.as_object().unwrap().keys().cloned().collect();
    for field in fields {
        let env = TestEnv::new();
        let mut key = base.clone();
        let value = key[&field].as_str().unwrap().to_string();
        let middle = value.len() / 2;
        let middle = (0..=middle)
            .rev()
            .find(|&i| value.is_char_boundary(i))
            .unwrap();
        key[&field] = json!(format!("{}\u{0}{}", &value[..middle], &value[middle..]));
        let path = env.write("key.json", key.to_string());

        let outcome = run(env.command().arg("-c").arg(&path));

        assert_no_panic(&outcome, &field);
        assert!(
            [0, 77, 78].contains(&outcome.code),
            "{field}: exit {}: {}",
            outcome.code,
            outcome.stderr
        );
        if outcome.code != 0 {
            outcome.expect_clean_failure();
            assert!(
                !outcome.stderr.contains('\u{0}'),
                "{field}: a NUL reached stderr"
            );
        }
    }
}

#[test]
fn invalid_utf8_in_every_string_field_is_rejected() {
    let base = key_json("http://127.0.0.1:9/token");
    let fields: Vec<String> = base.as_object().unwrap().keys().cloned().collect();
    for field in fields {
        let env = TestEnv::new();
        let mut key = base.clone();
        key[&field] = json!("MARKER");
        let text = serde_json::to_string_pretty(&key).unwrap();
        let bytes = text.replacen("MARKER", "MA\u{FFFD}RKER", 1).into_bytes();
        // Replace the three bytes of U+FFFD with two bytes that are not UTF-8.
        let position = bytes
            .windows(3)
            .position(|w| w == [0xef, 0xbf, 0xbd])
            .unwrap();
        let mut bytes = bytes;
        bytes.splice(position..position + 3, [0xff, 0xfe]);
        let path = env.write("key.json", bytes);

        let outcome = run(env.command().arg("-c").arg(&path));

        assert_no_panic(&outcome, &field);
        outcome.expect_code(78).expect_clean_failure();
        outcome.expect_stderr(&["not valid JSON", "not UTF-8", "line"]);
    }
}

fn key_with_pem(token_uri: &str, pem_fixture: &str) -> Value {
    let mut key = key_json(token_uri);
    key["private_key"] = json!(fixture(pem_fixture));
    key
}

#[test]
fn rsa_16384_bit_key_is_refused() {
    let env = TestEnv::new();
    let key = key_with_pem("http://127.0.0.1:9/token", "keys/rsa-16384.pem");
    let path = env.write("key.json", key.to_string());

    let outcome = run(env.command().arg("-c").arg(&path));

    outcome.expect_code(78).expect_clean_failure();
    outcome.expect_stderr(&["16384-bit RSA key", "2048 to 8192 bits"]);
}

#[test]
fn rsa_512_bit_key_is_refused() {
    let env = TestEnv::new();
    let key = key_with_pem("http://127.0.0.1:9/token", "keys/rsa-512.pem");
    let path = env.write("key.json", key.to_string());

    let outcome = run(env.command().arg("-c").arg(&path));

    outcome.expect_code(78).expect_clean_failure();
    outcome.expect_stderr(&["512-bit RSA key", "2048 to 8192 bits"]);
}

#[test]
fn rsa_8192_bit_key_is_accepted() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = key_with_pem(&endpoint.url("/token"), "keys/rsa-8192.pem");
    let path = env.write("key.json", key.to_string());

    let outcome = run(env.command().arg("-c").arg(&path));

    // The endpoint does not know this key, so the key was decoded, signed and sent, and
    // then refused for its signature: it passed every local check.
    outcome
        .expect_code(77)
        .expect_stderr(&["Invalid JWT Signature."]);
    assert_eq!(endpoint.hits(), 1);
}

#[cfg(unix)]
#[test]
fn fifo_without_writer_is_bounded_by_timeout() {
    let env = TestEnv::new();
    let fifo = env.path("key.fifo");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    let started = std::time::Instant::now();

    let outcome = run(env.command().arg("-c").arg(&fifo).args(["--timeout", "1"]));

    outcome.expect_code(78).expect_clean_failure();
    outcome.expect_stderr(&["timed out reading", "key.fifo", "FIFO"]);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "the run hung"
    );
}

#[cfg(unix)]
#[test]
fn fifo_with_writer_is_read() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let fifo = env.path("key.fifo");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    let text = key_json(&endpoint.url("/token")).to_string();
    let writer_path = fifo.clone();
    let writer = std::thread::spawn(move || std::fs::write(writer_path, text).unwrap());

    let outcome = run(env.command().arg("-c").arg(&fifo));

    writer.join().unwrap();
    outcome.expect_code(0);
}

#[test]
fn oversize_file_through_environment_is_rejected() {
    let env = TestEnv::new();
    let path = env.path("huge.json");
    std::fs::File::create(&path)
        .unwrap()
        .set_len(100 * 1024 * 1024)
        .unwrap();

    let outcome = run(env.command().env("GOOGLE_APPLICATION_CREDENTIALS", &path));

    outcome.expect_code(78).expect_clean_failure();
    outcome.expect_stderr(&["huge.json", "larger than 64 KiB"]);
}

#[test]
fn binary_garbage_file_is_rejected() {
    let env = TestEnv::new();
    let bytes: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let path = env.write("garbage.json", bytes);

    let outcome = run(env.command().arg("-c").arg(&path));

    assert_no_panic(&outcome, "garbage");
    outcome.expect_code(78).expect_clean_failure();
}
