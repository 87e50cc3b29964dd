//! A loopback token endpoint for `bench/run.sh`: the test suite's Google-like endpoint, which
//! verifies each assertion's RS256 signature and claims, served over plain HTTP and over TLS
//! with the test CA (`tests/fixtures/tls/ca.pem`).
//!
//! Prints three token URLs, one per line, and serves until it is killed: plain HTTP, TLS, and
//! plain HTTP for google-auth. google-auth's `IDTokenCredentials` signs every assertion with
//! `aud` set to `https://oauth2.googleapis.com/token`, whatever the key's `token_uri`, and
//! Google's endpoint accepts that, so the third endpoint expects that audience.

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::Write;

/// The `aud` of google-auth's assertions: Google's token endpoint.
const GOOGLE_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

fn main() {
    let http = common::google_endpoint();
    let https = common::tls::TlsEndpoint::start();
    let config = common::EndpointConfig::default();
    let google_auth = common::TestServer::start(move |request| {
        common::answer_token_request(&config, GOOGLE_TOKEN_URI, request)
    });

    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", http.url("/token")).expect("stdout is writable");
    writeln!(stdout, "{}", https.url("/token")).expect("stdout is writable");
    writeln!(stdout, "{}", google_auth.url("/token")).expect("stdout is writable");
    stdout.flush().expect("stdout is writable");
    drop(stdout);

    loop {
        std::thread::park();
    }
}
