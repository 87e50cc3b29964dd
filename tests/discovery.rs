//! The discovery order (--credentials, GOOGLE_APPLICATION_CREDENTIALS, gcloud's
//! application-default credentials file, the metadata server) and the rule that a configured
//! but broken source is an error, never skipped for the next one.

mod common;

use common::google_apis::*;
use common::*;

/// Writes a key file at gcloud's application-default credentials path inside the test's
/// CLOUDSDK_CONFIG, with `token_uri` pointing at `endpoint`.
fn write_adc_key(env: &TestEnv, endpoint: &TestServer) -> std::path::PathBuf {
    let key = env.key_file("service-account.json", &endpoint.url("/token"));
    let dir = env.path("home/.config/gcloud");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("application_default_credentials.json");
    std::fs::copy(&key, &path).unwrap();
    path
}

fn metadata_host(server: &TestServer) -> String {
    format!("127.0.0.1:{}", server.port())
}

#[test]
fn adc_file_is_used_without_flag_or_variable() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    write_adc_key(&env, &endpoint);

    let outcome = run(env.command().arg("-v"));

    outcome.expect_code(0);
    outcome.expect_stderr(&["gcloud application-default credentials file"]);
    assert_eq!(endpoint.hits(), 1);
}

#[test]
fn adc_file_under_home_without_cloudsdk_config() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    write_adc_key(&env, &endpoint);

    let outcome = run(env.command().env_remove("CLOUDSDK_CONFIG"));

    outcome.expect_code(0);
    assert_eq!(endpoint.hits(), 1);
}

#[test]
fn variable_comes_before_adc_file() {
    let chosen = google_endpoint();
    let skipped = google_endpoint();
    let env = TestEnv::new();
    write_adc_key(&env, &skipped);
    let key = env.key_file("service-account-rotated.json", &chosen.url("/token"));

    let outcome = run(env.command().env("GOOGLE_APPLICATION_CREDENTIALS", &key));

    outcome.expect_code(0);
    assert_eq!(chosen.hits(), 1);
    assert_eq!(skipped.hits(), 0);
}

#[test]
fn flag_comes_before_variable() {
    let chosen = google_endpoint();
    let skipped = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &chosen.url("/token"));
    let other = env.key_file("service-account-rotated.json", &skipped.url("/token"));

    let outcome = run(env
        .command()
        .arg("-c")
        .arg(&key)
        .env("GOOGLE_APPLICATION_CREDENTIALS", &other));

    outcome.expect_code(0);
    assert_eq!(chosen.hits(), 1);
    assert_eq!(skipped.hits(), 0);
}

#[test]
fn adc_file_comes_before_metadata_server() {
    let endpoint = google_endpoint();
    let metadata = metadata_server("vm@p.iam.gserviceaccount.com", true);
    let env = TestEnv::new();
    write_adc_key(&env, &endpoint);

    let outcome = run(env
        .command()
        .env("GCE_METADATA_HOST", metadata_host(&metadata)));

    outcome.expect_code(0);
    assert_eq!(endpoint.hits(), 1);
    assert_eq!(metadata.hits(), 0);
}

#[test]
fn missing_variable_file_does_not_fall_through() {
    let endpoint = google_endpoint();
    let metadata = metadata_server("vm@p.iam.gserviceaccount.com", true);
    let env = TestEnv::new();
    write_adc_key(&env, &endpoint);

    let outcome = run(env
        .command()
        .env("GOOGLE_APPLICATION_CREDENTIALS", env.path("absent.json"))
        .env("GCE_METADATA_HOST", metadata_host(&metadata)));

    outcome.expect_code(78).expect_clean_failure();
    outcome.expect_stderr(&["absent.json", "not found"]);
    assert_eq!(endpoint.hits(), 0);
    assert_eq!(metadata.hits(), 0);
}

#[test]
fn broken_adc_file_does_not_fall_through() {
    let metadata = metadata_server("vm@p.iam.gserviceaccount.com", true);
    let env = TestEnv::new();
    let dir = env.path("home/.config/gcloud");
    std::fs::create_dir_all(&dir).unwrap();
    env.write(
        "home/.config/gcloud/application_default_credentials.json",
        "{\"type\": ,}",
    );

    let outcome = run(env
        .command()
        .env("GCE_METADATA_HOST", metadata_host(&metadata)));

    outcome.expect_code(78).expect_clean_failure();
    outcome.expect_stderr(&[
        "gcloud application-default credentials file",
        "not valid JSON",
    ]);
    assert_eq!(metadata.hits(), 0);
}

#[test]
fn nothing_found_lists_what_was_tried_in_order() {
    let env = TestEnv::new();

    let outcome = run(&mut env.command());

    outcome.expect_code(78).expect_clean_failure();
    let first_line = outcome.stderr.lines().next().unwrap();
    let tried = [
        "--credentials was not given",
        "GOOGLE_APPLICATION_CREDENTIALS is not set",
        "no gcloud application-default credentials at",
        "no metadata server",
        "NO_GCE_CHECK=true",
    ];
    let positions: Vec<usize> = tried
        .iter()
        .map(|phrase| {
            first_line
                .find(phrase)
                .unwrap_or_else(|| panic!("{phrase:?} missing from {first_line}"))
        })
        .collect();
    assert!(
        positions.windows(2).all(|pair| pair[0] < pair[1]),
        "{first_line}"
    );
}

#[test]
fn help_documents_discovery_order() {
    let env = TestEnv::new();
    let outcome = run(env.command().arg("--help"));
    outcome.expect_code(0);
    for phrase in [
        "Credential discovery",
        "application_default_credentials.json",
        "GCE_METADATA_HOST",
        "NO_GCE_CHECK",
        "--impersonate-service-account",
        "--self-signed",
    ] {
        assert!(outcome.stdout.contains(phrase), "--help lacks {phrase}");
    }
}
