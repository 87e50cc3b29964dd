//! A loopback token endpoint to try the tool by hand, as a new user would. It is ignored in
//! normal test runs; start it with:
//!
//! ```sh
//! POSOS_TEST_ENDPOINT_FILE=/tmp/endpoint-url cargo test --test serve_endpoint -- --ignored
//! ```
//!
//! It writes its token URL to the file, then serves for `POSOS_TEST_ENDPOINT_SECONDS` (default
//! 300) with the fixture keys. `POSOS_TEST_ENDPOINT_CLOCK_OFFSET` sets its clock this many
//! seconds off this machine's, to show what clock skew looks like.

mod common;

use std::time::Duration;

use common::*;

#[test]
#[ignore = "serves a token endpoint for manual tries; run it with --ignored"]
fn serve_token_endpoint() {
    let seconds: u64 = std::env::var("POSOS_TEST_ENDPOINT_SECONDS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(300);
    let clock_offset: i64 = std::env::var("POSOS_TEST_ENDPOINT_CLOCK_OFFSET")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(0);
    let endpoint = token_endpoint(EndpointConfig {
        clock_offset,
        ..EndpointConfig::default()
    });

    let url = endpoint.url("/token");
    match std::env::var_os("POSOS_TEST_ENDPOINT_FILE") {
        Some(path) => std::fs::write(path, format!("{url}\n")).unwrap(),
        None => eprintln!("token endpoint: {url}"),
    }
    std::thread::sleep(Duration::from_secs(seconds));
    eprintln!("served {} requests", endpoint.hits());
}
