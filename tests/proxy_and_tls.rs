//! https to the token endpoint: trust roots (the system store, --ca-file, SSL_CERT_FILE),
//! certificate failures, and proxies chosen from the environment, against a loopback https
//! endpoint whose CA and certificate are made at test time and a loopback CONNECT proxy.

mod common;

use common::connect_proxy::ConnectProxy;
use common::tls_endpoint::{TEST_CA_NAME, TestCa, TlsFront, https_token_endpoint};
use common::*;

struct Setup {
    env: TestEnv,
    ca: TestCa,
    endpoint: TlsFront,
    key: std::path::PathBuf,
}

fn setup() -> Setup {
    let env = TestEnv::new();
    let ca = TestCa::new();
    let endpoint = https_token_endpoint(&ca, EndpointConfig::default());
    let key = env.key_file("service-account.json", &endpoint.url("/token"));
    Setup {
        env,
        ca,
        endpoint,
        key,
    }
}

impl Setup {
    fn ca_file(&self) -> std::path::PathBuf {
        self.env.write("test-ca.pem", &self.ca.ca_pem)
    }

    fn command(&self) -> assert_cmd::Command {
        let mut command = self.env.command();
        command.arg("-c").arg(&self.key);
        command
    }
}

// ---------------------------------------------------------------------------------------------
// Trust roots.

#[test]
fn untrusted_certificate_names_issuer() {
    let setup = setup();

    let outcome = run(&mut setup.command());

    outcome.expect_code(75).expect_clean_failure();
    outcome.expect_stderr(&[
        "127.0.0.1",
        "not a trusted certificate authority",
        TEST_CA_NAME,
        "a proxy may be intercepting TLS",
        "--ca-file",
    ]);
    assert_eq!(setup.endpoint.hits(), 0, "nothing may be sent");
    assert_eq!(setup.endpoint.connections(), 1, "not retried");
}

#[test]
fn ca_file_adds_trusted_root() {
    let setup = setup();
    let ca_file = setup.ca_file();

    let outcome = run(setup.command().arg("--ca-file").arg(&ca_file).arg("-v"));

    outcome.expect_code(0);
    assert_eq!(jwt_claims(&outcome.stdout)["aud"], CLIENT_ID);
    assert_eq!(setup.endpoint.hits(), 1);
    outcome.expect_stderr(&["trusting 1 extra CA certificate from --ca-file"]);
}

#[test]
fn ssl_cert_file_adds_trusted_root() {
    let setup = setup();
    let ca_file = setup.ca_file();

    let outcome = run(setup.command().env("SSL_CERT_FILE", &ca_file));

    outcome.expect_code(0);
    assert_eq!(setup.endpoint.hits(), 1);
}

#[test]
fn ssl_cert_dir_adds_trusted_roots() {
    let setup = setup();
    let dir = setup.env.path("extra-cas");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("test-ca.pem"), &setup.ca.ca_pem).unwrap();

    let outcome = run(setup.command().env("SSL_CERT_DIR", &dir));

    outcome.expect_code(0);
    assert_eq!(setup.endpoint.hits(), 1);
}

#[test]
fn bundle_with_several_certificates() {
    let setup = setup();
    let other = TestCa::new();
    let bundle = format!("{}\n{}", other.ca_pem, setup.ca.ca_pem);
    let ca_file = setup.env.write("bundle.pem", bundle);

    run(setup.command().arg("--ca-file").arg(&ca_file)).expect_code(0);
}

#[test]
fn bad_ca_file_fails_before_connecting() {
    let cases: [(&str, Option<&str>, &str); 4] = [
        ("missing", None, "not found"),
        (
            "not PEM",
            Some("this is not a certificate\n"),
            "is not a PEM file",
        ),
        (
            "no certificate",
            Some("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
            "contains no certificate",
        ),
        (
            "broken certificate",
            Some("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
            "can't be used",
        ),
    ];
    for (name, contents, phrase) in cases {
        let setup = setup();
        let path = match contents {
            Some(contents) => setup.env.write("ca.pem", contents),
            None => setup.env.path("missing-ca.pem"),
        };

        let outcome = run(setup.command().arg("--ca-file").arg(&path));

        assert_eq!(outcome.code, 78, "{name}: {}", outcome.stderr);
        outcome.expect_clean_failure().expect_stderr(&[
            phrase,
            "--ca-file",
            &path.display().to_string(),
        ]);
        assert_eq!(setup.endpoint.connections(), 0, "{name}: connected");
    }
}

#[test]
fn bad_ssl_cert_file_fails_before_connecting() {
    let setup = setup();
    let path = setup.env.write("junk.pem", "junk");

    let outcome = run(setup.command().env("SSL_CERT_FILE", &path));

    outcome
        .expect_code(78)
        .expect_stderr(&["SSL_CERT_FILE", "is not a PEM file"]);
    assert_eq!(setup.endpoint.connections(), 0);
}

// ---------------------------------------------------------------------------------------------
// Proxies.

#[test]
fn each_proxy_variable_is_honoured() {
    for variable in ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"] {
        let setup = setup();
        let proxy = ConnectProxy::start();
        let ca_file = setup.ca_file();

        let outcome = run(setup
            .command()
            .arg("--ca-file")
            .arg(&ca_file)
            .arg("-v")
            .env(variable, proxy.url()));

        outcome.expect_code(0);
        assert_eq!(
            proxy.targets(),
            vec![format!("127.0.0.1:{}", setup.endpoint.port())],
            "{variable}"
        );
        assert_eq!(setup.endpoint.hits(), 1, "{variable}");
        outcome.expect_stderr(&[&format!(
            "through the proxy {} from {variable}",
            proxy.url()
        )]);
    }
}

#[test]
fn https_proxy_wins_over_all_proxy() {
    let setup = setup();
    let chosen = ConnectProxy::start();
    let ignored = ConnectProxy::start();
    let ca_file = setup.ca_file();

    let outcome = run(setup
        .command()
        .arg("--ca-file")
        .arg(&ca_file)
        .env("ALL_PROXY", ignored.url())
        .env("HTTPS_PROXY", chosen.url()));

    outcome.expect_code(0);
    assert_eq!(chosen.connects(), 1);
    assert_eq!(ignored.connects(), 0);
}

#[test]
fn no_proxy_bypasses_proxy() {
    for variable in ["NO_PROXY", "no_proxy"] {
        let setup = setup();
        let proxy = ConnectProxy::start();
        let ca_file = setup.ca_file();

        let outcome = run(setup
            .command()
            .arg("--ca-file")
            .arg(&ca_file)
            .arg("-v")
            .env("HTTPS_PROXY", proxy.url())
            .env(variable, "example.com,127.0.0.1"));

        outcome.expect_code(0);
        assert_eq!(proxy.connects(), 0, "{variable}");
        assert_eq!(setup.endpoint.hits(), 1);
        outcome.expect_stderr(&[&format!("{variable} entry \"127.0.0.1\" matches the host")]);
    }
}

#[test]
fn proxy_credentials_sent_not_logged() {
    let setup = setup();
    let proxy = ConnectProxy::start();
    let ca_file = setup.ca_file();
    let url = proxy
        .url()
        .replace("http://", "http://builder:proxy-password@");

    let outcome = run(setup
        .command()
        .arg("--ca-file")
        .arg(&ca_file)
        .arg("-vv")
        .env("HTTPS_PROXY", &url));

    outcome.expect_code(0);
    assert_eq!(proxy.connects(), 1);
    assert!(
        !outcome.stderr.contains("proxy-password"),
        "{}",
        outcome.stderr
    );
    outcome.expect_stderr(&["http://***@127.0.0.1:"]);
}

#[test]
fn intercepted_tls_through_proxy_names_issuer() {
    let setup = setup();
    let proxy = ConnectProxy::start();

    let outcome = run(setup.command().env("HTTPS_PROXY", proxy.url()));

    outcome
        .expect_code(75)
        .expect_stderr(&[TEST_CA_NAME, "--ca-file"]);
    assert_eq!(proxy.connects(), 1);
    assert_eq!(setup.endpoint.hits(), 0);
}

#[test]
fn unreachable_proxy_is_temporary() {
    let setup = setup();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    drop(listener);

    let outcome = run(setup
        .command()
        .args(["--timeout", "3"])
        .env("HTTPS_PROXY", &dead));

    outcome.expect_code(75).expect_clean_failure();
    assert_eq!(setup.endpoint.connections(), 0);
}

#[test]
fn socks_proxy_is_rejected() {
    let setup = setup();

    let outcome = run(setup.command().env("ALL_PROXY", "socks5://127.0.0.1:1080"));

    outcome
        .expect_code(78)
        .expect_clean_failure()
        .expect_stderr(&["ALL_PROXY", "SOCKS"]);
    assert_eq!(setup.endpoint.connections(), 0);
}

#[test]
fn proxy_requiring_authentication_is_not_retried() {
    let setup = setup();
    let proxy = TestServer::start(|_| {
        Reply::text(407, "text/plain", "").with_header("Proxy-Authenticate", "Basic realm=\"corp\"")
    });

    let outcome = run(setup.command().env("HTTPS_PROXY", proxy.url("")));

    // Missing proxy credentials are a setting to fix, not a passing fault.
    outcome
        .expect_code(78)
        .expect_clean_failure()
        .expect_stderr(&["proxy", "HTTPS_PROXY", "407", "user name and password"]);
    assert_eq!(proxy.hits(), 1);
    assert_eq!(proxy.requests()[0].method, "CONNECT");
    assert_eq!(setup.endpoint.connections(), 0);
}

#[test]
fn proxy_rejecting_credentials_names_variable() {
    let setup = setup();
    let proxy = TestServer::start(|_| Reply::text(407, "text/plain", ""));
    let url = proxy.url("").replace("http://", "http://bob:hunter2@");

    let outcome = run(setup.command().env("HTTPS_PROXY", &url));

    outcome
        .expect_code(78)
        .expect_clean_failure()
        .expect_stderr(&["rejected the user name and password in HTTPS_PROXY"]);
    assert!(!outcome.stderr.contains("hunter2"));
    assert!(!outcome.stderr.contains("407/407"));
    assert_eq!(proxy.hits(), 1);
}

#[test]
fn refused_proxy_is_named() {
    let setup = setup();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);

    let outcome = run(setup
        .command()
        .args(["--timeout", "3"])
        .env("HTTPS_PROXY", format!("http://127.0.0.1:{port}")));

    outcome
        .expect_code(75)
        .expect_clean_failure()
        .expect_stderr(&[
            "failed to connect to the proxy",
            "from HTTPS_PROXY",
            "connection refused",
        ]);
    assert_eq!(setup.endpoint.connections(), 0);
}

#[test]
fn proxy_gateway_error_is_retried() {
    let setup = setup();
    let proxy = TestServer::start(|_| Reply::text(502, "text/plain", ""));

    let outcome = run(setup
        .command()
        .args(["--timeout", "10"])
        .env("HTTPS_PROXY", proxy.url("")));

    outcome
        .expect_code(75)
        .expect_stderr(&["502", "4 attempts made"]);
    assert_eq!(proxy.hits(), 4);
}

#[test]
fn silent_tls_server_ends_at_budget() {
    // A plain TCP listener that accepts the connection and never responds to the ClientHello.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "https://127.0.0.1:{}/token",
        listener.local_addr().unwrap().port()
    );
    let silent_server = std::thread::spawn(move || {
        let connection = listener.accept();
        std::thread::sleep(std::time::Duration::from_secs(5));
        drop(connection);
    });
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &url);
    let started = std::time::Instant::now();

    let outcome = run(env.command().arg("-c").arg(&key).args(["--timeout", "2"]));

    let elapsed = started.elapsed();
    outcome
        .expect_code(75)
        .expect_clean_failure()
        .expect_stderr(&["timed out while doing the TLS handshake", &url]);
    assert!(
        elapsed < std::time::Duration::from_secs(3),
        "took {elapsed:?}"
    );
    drop(silent_server);
}
