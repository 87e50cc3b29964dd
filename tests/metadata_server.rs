//! The metadata server as a credential source: always against a server that the test starts
//! on 127.0.0.1, named by GCE_METADATA_HOST.

mod common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::google_apis::*;
use common::*;

const ATTACHED_ACCOUNT: &str = "vm-account@example-project.iam.gserviceaccount.com";

fn metadata_host(server: &TestServer) -> String {
    format!("127.0.0.1:{}", server.port())
}

#[test]
fn metadata_token_has_email_and_audience() {
    let server = metadata_server(ATTACHED_ACCOUNT, true);
    let env = TestEnv::new();

    let outcome = run(env
        .command()
        .env("GCE_METADATA_HOST", metadata_host(&server)));

    outcome.expect_code(0);
    let claims = jwt_claims(&outcome.stdout);
    assert_eq!(claims["email"], ATTACHED_ACCOUNT);
    assert_eq!(claims["aud"], CLIENT_ID);
    assert_eq!(server.hits(), 1);
}

#[test]
fn metadata_request_sends_header_and_format_full() {
    let server = metadata_server(ATTACHED_ACCOUNT, true);
    let env = TestEnv::new();

    run(env
        .command()
        .env("GCE_METADATA_HOST", metadata_host(&server)))
    .expect_code(0);

    let request = &server.requests()[0];
    assert_eq!(request.method, "GET");
    assert_eq!(request.header("metadata-flavor"), Some("Google"));
    assert!(
        request
            .target
            .starts_with("/computeMetadata/v1/instance/service-accounts/default/identity?"),
        "{}",
        request.target
    );
    assert_eq!(
        query_param(&request.target, "format").as_deref(),
        Some("full")
    );
    assert_eq!(
        query_param(&request.target, "audience").as_deref(),
        Some(CLIENT_ID)
    );
}

#[test]
fn metadata_token_without_email_is_rejected() {
    let server = metadata_server(ATTACHED_ACCOUNT, false);
    let env = TestEnv::new();

    let outcome = run(env
        .command()
        .env("GCE_METADATA_HOST", metadata_host(&server)));

    outcome.expect_code(76).expect_clean_failure();
    outcome.expect_stderr(&["without an email claim"]);
}

#[test]
fn answer_without_metadata_flavor_is_rejected() {
    let server = TestServer::start(|_| {
        Reply::text(
            200,
            "text/plain",
            &make_id_token(CLIENT_ID, ATTACHED_ACCOUNT, unix_now()),
        )
    });
    let env = TestEnv::new();

    let outcome = run(env
        .command()
        .env("GCE_METADATA_HOST", metadata_host(&server)));

    outcome.expect_code(76).expect_clean_failure();
    outcome.expect_stderr(&["Metadata-Flavor: Google", "GCE_METADATA_HOST"]);
}

#[test]
fn silent_metadata_server_is_temporary() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let env = TestEnv::new();

    let started = Instant::now();
    let outcome = run(env
        .command()
        .env("GCE_METADATA_HOST", format!("127.0.0.1:{port}")));

    outcome.expect_code(75).expect_clean_failure();
    outcome.expect_stderr(&["GCE_METADATA_HOST is set"]);
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn metadata_server_bypasses_proxy() {
    let server = metadata_server(ATTACHED_ACCOUNT, true);
    let proxy = TestServer::start(|_| Reply::text(502, "text/plain", "proxy"));
    let env = TestEnv::new();

    let outcome = run(env
        .command()
        .env("GCE_METADATA_HOST", metadata_host(&server))
        .env("HTTP_PROXY", proxy.url(""))
        .env("http_proxy", proxy.url(""))
        .env("ALL_PROXY", proxy.url("")));

    outcome.expect_code(0);
    assert_eq!(proxy.hits(), 0);
    assert_eq!(server.hits(), 1);
}

#[test]
fn metadata_server_error_statuses_map_to_classes() {
    for (status, code) in [(404, 76), (403, 77), (503, 75), (500, 75)] {
        let server = TestServer::start(move |_| {
            Reply::text(status, "text/plain", "no").with_header("Metadata-Flavor", "Google")
        });
        let env = TestEnv::new();
        let outcome = run(env
            .command()
            .env("GCE_METADATA_HOST", metadata_host(&server)));
        outcome.expect_code(code).expect_clean_failure();
    }
}

#[test]
fn explicit_host_works_with_detection_markers() {
    // Detection is on (no NO_GCE_CHECK) and a Cloud Run marker is set, but the explicit
    // loopback host decides where the request goes.
    let server = metadata_server(ATTACHED_ACCOUNT, true);
    let env = TestEnv::new();

    let outcome = run(env
        .command()
        .env_remove("NO_GCE_CHECK")
        .env("K_SERVICE", "api")
        .env("GCE_METADATA_HOST", metadata_host(&server)));

    outcome.expect_code(0);
    assert_eq!(server.hits(), 1);
}

#[test]
fn metadata_source_can_impersonate() {
    let server = metadata_server(ATTACHED_ACCOUNT, true);
    let iam = iam_credentials(&[METADATA_ACCESS_TOKEN]);
    let env = TestEnv::new();

    let outcome = run(env
        .command()
        .env("GCE_METADATA_HOST", metadata_host(&server))
        .env("POSOS_IAM_CREDENTIALS_URL", iam.url(""))
        .args(["--impersonate-service-account", TARGET_ACCOUNT]));

    outcome.expect_code(0);
    assert_eq!(jwt_claims(&outcome.stdout)["email"], TARGET_ACCOUNT);
    assert!(server.requests()[0].target.ends_with("/default/token"));
    assert!(!outcome.stderr.contains(METADATA_ACCESS_TOKEN));
}

#[test]
fn invalid_metadata_host_is_named() {
    let env = TestEnv::new();
    let outcome = run(env
        .command()
        .env("GCE_METADATA_HOST", "http://127.0.0.1:1/"));
    outcome.expect_code(78).expect_clean_failure();
    outcome.expect_stderr(&["GCE_METADATA_HOST is not a host or host:port"]);
}

#[test]
fn metadata_server_transient_failure_is_retried() {
    let server = metadata_server(ATTACHED_ACCOUNT, true);
    server.queue([Reply::text(503, "text/plain", "busy").with_header("Metadata-Flavor", "Google")]);
    let env = TestEnv::new();

    let outcome = run(env
        .command()
        .env("GCE_METADATA_HOST", metadata_host(&server)));

    outcome.expect_code(0);
    assert_eq!(jwt_claims(&outcome.stdout)["email"], ATTACHED_ACCOUNT);
    assert_eq!(server.hits(), 2);
}
