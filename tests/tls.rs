//! The token endpoint over TLS with a test CA that `SSL_CERT_FILE` adds, and a plain-http
//! endpoint that needs no trust roots at all.

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
