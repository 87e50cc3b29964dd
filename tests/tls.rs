//! The token endpoint over TLS: trust comes from the built-in roots, or from the PEM file that
//! `SSL_CERT_FILE` names.

mod common;

use common::tls::{TlsEndpoint, test_ca_path};
use common::*;

#[test]
fn prints_token_over_tls_with_test_ca() {
    let endpoint = TlsEndpoint::start();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));

    let outcome = run(env
        .command()
        .env("SSL_CERT_FILE", test_ca_path())
        .arg("--credentials")
        .arg(&key));

    outcome.expect_code(0);
    assert_eq!(jwt_claims(&outcome.stdout)["aud"], CLIENT_ID);
    assert_eq!(outcome.stderr, "");
    assert_eq!(endpoint.hits(), 1);
}

#[test]
fn test_ca_is_not_trusted_by_default() {
    let endpoint = TlsEndpoint::start();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));

    let outcome = run(env.command().arg("--credentials").arg(&key));

    outcome
        .expect_code(75)
        .expect_clean_failure()
        .expect_stderr(&[
            "https://127.0.0.1",
            "invalid peer certificate",
            "hint: ",
            "SSL_CERT_FILE",
        ]);
    assert_eq!(endpoint.hits(), 0);
}

#[test]
fn unreadable_cert_file_warns() {
    let endpoint = TlsEndpoint::start();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));

    let outcome = run(env
        .command()
        .env("SSL_CERT_FILE", env.path("missing.pem"))
        .arg("--credentials")
        .arg(&key));

    outcome
        .expect_code(75)
        .expect_stderr(&["warning: ignoring SSL_CERT_FILE=", "missing.pem"]);
}

#[test]
fn cert_file_without_certificates_warns() {
    let endpoint = TlsEndpoint::start();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));
    let empty = env.write("empty.pem", "no certificates here\n");

    let outcome = run(env
        .command()
        .env("SSL_CERT_FILE", &empty)
        .arg("--credentials")
        .arg(&key));

    outcome
        .expect_code(75)
        .expect_stderr(&["contains no PEM certificate"]);
}

#[test]
fn plain_http_endpoint_reads_no_cert_file() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));

    let outcome = run(env
        .command()
        .env("SSL_CERT_FILE", env.path("missing.pem"))
        .arg("--credentials")
        .arg(&key));

    outcome.expect_code(0);
    assert_eq!(outcome.stderr, "", "SSL_CERT_FILE was read for plain http");
}
