//! Retries of transient failures, the --timeout budget, bodies that are not token
//! responses, and the correction of a local clock that is off, against loopback endpoints
//! with fault injection.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

fn key_for(env: &TestEnv, endpoint: &TestServer) -> std::path::PathBuf {
    env.key_file("service-account.json", &endpoint.url("/token"))
}

fn run_against(endpoint: &TestServer, extra: &[&str]) -> Outcome {
    let env = TestEnv::new();
    let key = key_for(&env, endpoint);
    run(env.command().arg("-c").arg(&key).args(extra))
}

fn unavailable() -> Reply {
    Reply::google_error(
        503,
        "temporarily_unavailable",
        "The service is unavailable.",
    )
}

#[test]
fn service_unavailable_twice_then_success() {
    let endpoint = google_endpoint();
    endpoint.queue([unavailable(), unavailable()]);

    let outcome = run_against(&endpoint, &["-v"]);

    outcome.expect_code(0);
    assert_eq!(endpoint.hits(), 3);
    assert_eq!(jwt_claims(&outcome.stdout)["aud"], CLIENT_ID);
    outcome.expect_stderr(&["attempt 1 failed", "attempt 2 failed", "attempt 3:"]);
}

#[test]
fn each_attempt_signs_fresh_assertion() {
    let endpoint = google_endpoint();
    endpoint.queue([unavailable()]);

    run_against(&endpoint, &[]).expect_code(0);

    let assertions: Vec<String> = endpoint
        .requests()
        .iter()
        .map(|request| request.form()["assertion"].clone())
        .collect();
    assert_eq!(assertions.len(), 2);
    let claims: Vec<_> = assertions.iter().map(|a| jwt_claims(a)).collect();
    assert!(claims[1]["iat"].as_i64() >= claims[0]["iat"].as_i64());
    assert_eq!(claims[0]["target_audience"], CLIENT_ID);
}

#[test]
fn too_many_requests_honours_retry_after() {
    let endpoint = google_endpoint();
    endpoint.queue([
        Reply::google_error(429, "rate_limit_exceeded", "Too many requests.")
            .with_header("Retry-After", "1"),
    ]);

    let outcome = run_against(&endpoint, &["-v"]);

    outcome.expect_code(0);
    assert_eq!(endpoint.hits(), 2);
    outcome.expect_stderr(&["HTTP 429", "retrying in 1000 ms"]);
}

#[test]
fn retry_after_longer_than_budget_gives_up() {
    let endpoint = TestServer::start(|_| {
        Reply::google_error(429, "rate_limit_exceeded", "Too many requests.")
            .with_header("Retry-After", "120")
    });

    let outcome = run_against(&endpoint, &["--timeout", "5"]);

    outcome.expect_code(75).expect_clean_failure();
    outcome.expect_stderr(&["HTTP 429", "Retry-After", "1 attempt made"]);
    assert_eq!(endpoint.hits(), 1);
}

#[test]
fn bad_gateway_html_twice_then_success() {
    let endpoint = google_endpoint();
    let page = Reply::text(
        502,
        "text/html",
        "<html><body><h1>502 Bad Gateway</h1></body></html>",
    );
    endpoint.queue([page.clone(), page]);

    let outcome = run_against(&endpoint, &["-v"]);

    outcome.expect_code(0);
    assert_eq!(endpoint.hits(), 3);
    outcome.expect_stderr(&["HTTP 502 with an HTML page"]);
}

#[test]
fn closed_connection_is_retried() {
    let endpoint = google_endpoint();
    endpoint.queue([Reply::Close]);

    run_against(&endpoint, &[]).expect_code(0);

    assert_eq!(endpoint.hits(), 2);
}

#[test]
fn transient_error_codes_are_retried() {
    for code in [
        "internal_failure",
        "server_error",
        "temporarily_unavailable",
    ] {
        let endpoint = google_endpoint();
        endpoint.queue([Reply::google_error(400, code, "Try again.")]);

        run_against(&endpoint, &[]).expect_code(0);

        assert_eq!(endpoint.hits(), 2, "{code}");
    }
}

#[test]
fn transient_statuses_are_retried() {
    for status in [408, 500, 504] {
        let endpoint = google_endpoint();
        endpoint.queue([Reply::text(status, "text/plain", "try again")]);

        run_against(&endpoint, &[]).expect_code(0);

        assert_eq!(endpoint.hits(), 2, "HTTP {status}");
    }
}

#[test]
fn always_unavailable_exits_within_budget() {
    let endpoint = TestServer::start(|_| unavailable());
    let started = Instant::now();

    let outcome = run_against(&endpoint, &["--timeout", "10"]);

    let elapsed = started.elapsed();
    outcome.expect_code(75).expect_clean_failure();
    outcome.expect_stderr(&[
        &endpoint.url("/token"),
        "HTTP 503",
        "temporarily_unavailable",
        "4 attempts made",
    ]);
    assert_eq!(endpoint.hits(), 4);
    assert!(elapsed < Duration::from_secs(11), "took {elapsed:?}");
}

#[test]
fn short_budget_stops_retrying_early() {
    let endpoint = TestServer::start(|_| unavailable());

    let outcome = run_against(&endpoint, &["--timeout", "1"]);

    outcome.expect_code(75).expect_clean_failure();
    outcome.expect_stderr(&["HTTP 503", "no time for another attempt"]);
    assert!(endpoint.hits() < 4);
}

#[test]
fn hanging_server_ends_at_budget() {
    let endpoint = TestServer::start(|_| Reply::Hang(Duration::from_secs(20)));
    let started = Instant::now();

    let outcome = run_against(&endpoint, &["--timeout", "2"]);

    let elapsed = started.elapsed();
    outcome.expect_code(75).expect_clean_failure();
    outcome.expect_stderr(&[
        "timed out while sending the request or waiting for the response",
        &endpoint.url("/token"),
        "--timeout",
    ]);
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
    assert_eq!(endpoint.hits(), 1);
}

#[test]
fn trickling_server_ends_at_budget() {
    let body = json!({"id_token": make_id_token(CLIENT_ID, CLIENT_EMAIL, unix_now())});
    let endpoint = TestServer::start(move |_| Reply::Trickle {
        status: 200,
        body: body.to_string().into_bytes(),
        delay: Duration::from_millis(100),
    });
    let started = Instant::now();

    let outcome = run_against(&endpoint, &["--timeout", "2"]);

    let elapsed = started.elapsed();
    outcome.expect_code(75).expect_clean_failure();
    outcome.expect_stderr(&["timed out while receiving the response body"]);
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
}

#[test]
fn oversize_body_is_unexpected() {
    let endpoint =
        TestServer::start(|_| Reply::json(200, json!({"id_token": "x".repeat(70 * 1024)})));

    let outcome = run_against(&endpoint, &[]);

    outcome.expect_code(76).expect_clean_failure();
    outcome.expect_stderr(&["larger than 64 KiB", "HTTP 200", "application/json"]);
    assert_eq!(endpoint.hits(), 1);
}

#[test]
fn truncated_body_is_unexpected() {
    let endpoint = TestServer::start(|_| Reply::Truncated {
        status: 200,
        body: br#"{"id_token":"eyJhbGciOi"#.to_vec(),
        claimed: 600,
    });

    let outcome = run_against(&endpoint, &[]);

    outcome.expect_code(76).expect_clean_failure();
    outcome.expect_stderr(&["cut short", "HTTP 200", "application/json"]);
    assert!(!outcome.stderr.contains("eyJhbGciOi"));
    assert_eq!(endpoint.hits(), 1);
}

#[test]
fn unexpected_bodies_are_not_retried() {
    let cases = [
        (
            "HTML page",
            Reply::text(
                200,
                "text/html",
                "<html><body>Sign in to the Wi-Fi</body></html>",
            ),
            vec!["HTML page", "HTTP 200", "proxy or captive portal"],
        ),
        (
            "invalid JSON",
            Reply::text(200, "application/json", "{\"id_token\": nope}"),
            vec!["not JSON", "HTTP 200", "application/json"],
        ),
        (
            "JSON array",
            Reply::text(200, "application/json", "[1, 2]"),
            vec!["not an object", "HTTP 200"],
        ),
        (
            "redirect",
            Reply::text(307, "text/plain", "")
                .with_header("Location", "http://portal.example/login"),
            vec!["redirect", "http://portal.example/login", "not followed"],
        ),
    ];
    for (name, reply, phrases) in cases {
        let endpoint = TestServer::start(move |_| reply.clone());

        let outcome = run_against(&endpoint, &[]);

        assert_eq!(outcome.code, 76, "{name}: {}", outcome.stderr);
        outcome.expect_clean_failure().expect_stderr(&phrases);
        assert_eq!(endpoint.hits(), 1, "{name}");
    }
}

#[test]
fn invalid_grant_is_not_retried() {
    let endpoint =
        TestServer::start(|_| Reply::google_error(400, "invalid_grant", "Invalid JWT Signature."));

    let outcome = run_against(&endpoint, &[]);

    outcome.expect_code(77).expect_clean_failure();
    outcome.expect_stderr(&["invalid_grant", "Invalid JWT Signature."]);
    assert_eq!(endpoint.hits(), 1);
}

#[test]
fn other_client_errors_are_not_retried() {
    let endpoint =
        TestServer::start(|_| Reply::google_error(400, "invalid_request", "Bad Request"));

    run_against(&endpoint, &[]).expect_code(77);

    assert_eq!(endpoint.hits(), 1);
}

// ---------------------------------------------------------------------------------------------
// Clock skew.

const TIME_WINDOW: &str = "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.";

/// Starts a token endpoint whose clock is `offset` seconds from this machine's. It also rejects
/// an `iat` more than five minutes older than its clock, so that a local clock running behind
/// is caught as well as one running ahead.
fn skewed_endpoint(offset: i64) -> TestServer {
    let config = EndpointConfig {
        clock_offset: offset,
        ..Default::default()
    };
    let port = std::sync::Arc::new(std::sync::Mutex::new(0u16));
    let port_in = port.clone();
    let server = TestServer::start(move |request| {
        let token_uri = format!("http://127.0.0.1:{}/token", port_in.lock().unwrap());
        let endpoint_now = unix_now() + offset;
        let iat = request
            .form()
            .get("assertion")
            .map(|assertion| jwt_claims(assertion)["iat"].as_i64().unwrap_or(0))
            .unwrap_or(0);
        if iat < endpoint_now - 300 {
            let date = httpdate::fmt_http_date(
                std::time::UNIX_EPOCH + Duration::from_secs(endpoint_now as u64),
            );
            return Reply::google_error(400, "invalid_grant", TIME_WINDOW)
                .with_header("Date", &date);
        }
        answer_token_request(&config, &token_uri, request)
    });
    *port.lock().unwrap() = server.port();
    server
}

fn expect_skew_warning(outcome: &Outcome, direction: &str) {
    let warning = outcome
        .stderr
        .lines()
        .find(|line| line.starts_with("posos-token: warning: local clock is "))
        .unwrap_or_else(|| panic!("no clock warning:\n{}", outcome.stderr));
    let span = ["19m59s", "20m0s", "20m1s"];
    assert!(
        span.iter().any(|s| warning.contains(&format!(
            "local clock is {s} {direction} the token endpoint"
        ))),
        "{warning}"
    );
}

#[test]
fn endpoint_twenty_minutes_behind() {
    let endpoint = skewed_endpoint(-20 * 60);

    let outcome = run_against(&endpoint, &[]);

    outcome.expect_code(0);
    assert_eq!(endpoint.hits(), 2);
    expect_skew_warning(&outcome, "ahead of");
    let second = jwt_claims(&endpoint.requests()[1].form()["assertion"]);
    let shift = unix_now() - second["iat"].as_i64().unwrap();
    assert!((1150..1260).contains(&shift), "iat shifted by {shift} s");
}

#[test]
fn endpoint_twenty_minutes_ahead() {
    let endpoint = skewed_endpoint(20 * 60);

    let outcome = run_against(&endpoint, &[]);

    outcome.expect_code(0);
    assert_eq!(endpoint.hits(), 2);
    expect_skew_warning(&outcome, "behind");
}

#[test]
fn quiet_hides_skew_warning() {
    let endpoint = skewed_endpoint(-20 * 60);

    let outcome = run_against(&endpoint, &["--quiet"]);

    outcome.expect_code(0);
    assert_eq!(outcome.stderr, "");
}

#[test]
fn skew_that_persists_blames_clock() {
    let endpoint = TestServer::start(|_| {
        let behind = std::time::SystemTime::now() - Duration::from_secs(20 * 60);
        Reply::google_error(400, "invalid_grant", TIME_WINDOW)
            .with_header("Date", &httpdate::fmt_http_date(behind))
    });

    let outcome = run_against(&endpoint, &[]);

    outcome.expect_code(77).expect_stderr(&[
        "reasonable timeframe",
        "the local clock is the likely cause",
        "ahead of the token endpoint",
    ]);
    assert_eq!(endpoint.hits(), 2);
}

#[test]
fn time_window_rejection_without_skew() {
    let endpoint = TestServer::start(|_| Reply::google_error(400, "invalid_grant", TIME_WINDOW));

    let outcome = run_against(&endpoint, &[]);

    outcome.expect_code(77).expect_stderr(&[
        "reasonable timeframe",
        "check the local clock",
        "Date header",
    ]);
    assert_eq!(endpoint.hits(), 1);
}

#[test]
fn not_implemented_is_not_retried() {
    let endpoint =
        TestServer::start(|_| Reply::google_error(501, "not_implemented", "Not implemented."));

    let outcome = run_against(&endpoint, &[]);

    outcome.expect_code(75).expect_stderr(&["HTTP 501"]);
    assert_eq!(endpoint.hits(), 1);
}
