//! Test harness: a loopback HTTP server with fault injection, and a token endpoint on top of it
//! that checks assertions the way Google's does. It verifies with `ring`, independent of the
//! `rsa` crate the tool signs with. Also key-file fixtures, and a command builder that isolates
//! the tool from this machine's environment.
#![allow(dead_code)]

pub mod cache;
pub mod connect_proxy;
pub mod google_apis;
pub mod tls;
pub mod tls_endpoint;

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use assert_cmd::Command;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

/// The client ID that tests request tokens for, unless a test sets another.
pub const CLIENT_ID: &str =
    "20286154155-852pf0ti456nd81ongbiecmjqgag84q3.apps.googleusercontent.com";

/// The service account of the fixture keys.
pub const CLIENT_EMAIL: &str = "posos-client@example-project.iam.gserviceaccount.com";

/// The `private_key_id` of `service-account.json` and its PKCS#1 twin.
pub const KEY_ID: &str = "2d68215a2e546f616e05cbd2177a9c7f7a89ed34";

/// The `private_key_id` of `service-account-rotated.json`, a second key of the same account.
pub const ROTATED_KEY_ID: &str = "9f1c0b7e5a3d2c4b6e8f0a1b2c3d4e5f6a7b8c9d";

pub fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(fixture_path(name)).unwrap()
}

pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

// ---------------------------------------------------------------------------------------------
// A loopback HTTP/1.1 server.

/// One request as the server read it.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub target: String,
    /// Header names in lower case.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// Decodes an `application/x-www-form-urlencoded` body.
    pub fn form(&self) -> HashMap<String, String> {
        let body = String::from_utf8_lossy(&self.body);
        body.split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                (percent_decode(name), percent_decode(value))
            })
            .collect()
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 2;
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// What the server does with a request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A complete response; `Content-Length` and `Connection: close` are added.
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Send the head and then the body one byte at a time with `delay` between bytes.
    Trickle {
        status: u16,
        body: Vec<u8>,
        delay: Duration,
    },
    /// Keep the connection open without responding for this long.
    Hang(Duration),
    /// Close the connection without responding.
    Close,
    /// Send the head with a `Content-Length` larger than the body, then close.
    Truncated {
        status: u16,
        body: Vec<u8>,
        claimed: usize,
    },
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Reply {
        Reply::Respond {
            status,
            headers: vec![(
                "Content-Type".into(),
                "application/json; charset=utf-8".into(),
            )],
            body: body.to_string().into_bytes(),
        }
    }

    pub fn text(status: u16, content_type: &str, body: &str) -> Reply {
        Reply::Respond {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.as_bytes().to_vec(),
        }
    }

    /// Google's error JSON.
    pub fn google_error(status: u16, error: &str, description: &str) -> Reply {
        Reply::json(
            status,
            json!({"error": error, "error_description": description}),
        )
    }

    /// Adds a header to a `Respond` reply.
    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        if let Reply::Respond { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }
}

type Handler = dyn Fn(&Request) -> Reply + Send + Sync;

/// A server on 127.0.0.1 with an ephemeral port that records every request.
pub struct TestServer {
    port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
    queued: Arc<Mutex<VecDeque<Reply>>>,
}

impl TestServer {
    pub fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let queued: Arc<Mutex<VecDeque<Reply>>> = Arc::new(Mutex::new(VecDeque::new()));
        let handler: Arc<Handler> = Arc::new(handler);

        let (requests_in, queued_in) = (requests.clone(), queued.clone());
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (requests, queued, handler) =
                    (requests_in.clone(), queued_in.clone(), handler.clone());
                thread::spawn(move || serve(stream, &requests, &queued, &*handler));
            }
        });
        TestServer {
            port,
            requests,
            queued,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Returns `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Queues replies that are served, in order, before the handler is asked again.
    pub fn queue(&self, replies: impl IntoIterator<Item = Reply>) {
        self.queued.lock().unwrap().extend(replies);
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    pub fn hits(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

fn serve(
    stream: TcpStream,
    requests: &Mutex<Vec<Request>>,
    queued: &Mutex<VecDeque<Reply>>,
    handler: &Handler,
) {
    let Some(request) = read_request(&stream) else {
        return;
    };
    requests.lock().unwrap().push(request.clone());
    let reply = queued
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or_else(|| handler(&request));
    let _ = write_reply(stream, reply);
}

pub fn read_request(stream: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();

    let mut headers = HashMap::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        target,
        headers,
        body,
    })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn write_reply(mut stream: TcpStream, reply: Reply) -> std::io::Result<()> {
    match reply {
        Reply::Respond {
            status,
            headers,
            body,
        } => {
            let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
            for (name, value) in &headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            if !headers
                .iter()
                .any(|(name, _)| name.eq_ignore_ascii_case("date"))
            {
                head.push_str(&format!(
                    "Date: {}\r\n",
                    httpdate::fmt_http_date(SystemTime::now())
                ));
            }
            head.push_str(&format!(
                "Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            ));
            stream.write_all(head.as_bytes())?;
            stream.write_all(&body)?;
        }
        Reply::Trickle {
            status,
            body,
            delay,
        } => {
            let head = format!(
                "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                reason(status),
                body.len()
            );
            stream.write_all(head.as_bytes())?;
            for byte in body {
                thread::sleep(delay);
                stream.write_all(&[byte])?;
            }
        }
        Reply::Hang(duration) => thread::sleep(duration),
        Reply::Close => {}
        Reply::Truncated {
            status,
            body,
            claimed,
        } => {
            let head = format!(
                "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {claimed}\r\nConnection: close\r\n\r\n",
                reason(status)
            );
            stream.write_all(head.as_bytes())?;
            stream.write_all(&body)?;
        }
    }
    stream.flush()?;
    let _ = stream.shutdown(Shutdown::Both);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// A token endpoint that behaves like Google's.

/// The keys, clock and deleted accounts of the fake token endpoint.
#[derive(Clone)]
pub struct EndpointConfig {
    /// Public keys by `kid`: the service account email and the PKCS#1 `RSAPublicKey` DER.
    pub keys: HashMap<String, (String, Vec<u8>)>,
    /// Seconds added to this machine's clock to give the endpoint's clock.
    pub clock_offset: i64,
    /// Accounts rejected with "account not found".
    pub deleted_accounts: Vec<String>,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        let mut keys = HashMap::new();
        keys.insert(
            KEY_ID.to_string(),
            (
                CLIENT_EMAIL.to_string(),
                rsa_public_key_der("service-account.pub.pem"),
            ),
        );
        keys.insert(
            ROTATED_KEY_ID.to_string(),
            (
                CLIENT_EMAIL.to_string(),
                rsa_public_key_der("service-account-rotated.pub.pem"),
            ),
        );
        EndpointConfig {
            keys,
            clock_offset: 0,
            deleted_accounts: Vec::new(),
        }
    }
}

/// Reads an SPKI PEM fixture and returns the PKCS#1 `RSAPublicKey` inside it, which is what
/// `ring` verifies with.
pub fn rsa_public_key_der(name: &str) -> Vec<u8> {
    let pem = fixture(name);
    let body: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let spki = STANDARD.decode(body).unwrap();
    // A 2048-bit RSA SubjectPublicKeyInfo is a fixed 24-byte prefix (SEQUENCE, the
    // rsaEncryption AlgorithmIdentifier, the BIT STRING head) before the RSAPublicKey.
    let prefix = [
        0x30, 0x82, 0x01, 0x22, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
        0x01, 0x01, 0x05, 0x00, 0x03, 0x82, 0x01, 0x0f, 0x00,
    ];
    assert_eq!(
        &spki[..24],
        &prefix,
        "{name} is not a 2048-bit RSA public key"
    );
    spki[24..].to_vec()
}

/// Starts a token endpoint that checks each assertion as Google's does and responds with an
/// identity token or Google's error JSON.
pub fn token_endpoint(config: EndpointConfig) -> TestServer {
    let config = Arc::new(config);
    let port = Arc::new(Mutex::new(0u16));
    let port_in = port.clone();
    let server = TestServer::start(move |request| {
        let token_uri = format!("http://127.0.0.1:{}/token", port_in.lock().unwrap());
        answer_token_request(&config, &token_uri, request)
    });
    *port.lock().unwrap() = server.port();
    server
}

/// Starts a token endpoint with the fixture keys and an accurate clock.
pub fn google_endpoint() -> TestServer {
    token_endpoint(EndpointConfig::default())
}

fn invalid_grant(description: &str) -> Reply {
    Reply::google_error(400, "invalid_grant", description)
}

pub fn answer_token_request(config: &EndpointConfig, token_uri: &str, request: &Request) -> Reply {
    let endpoint_now = unix_now() + config.clock_offset;
    let date = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(endpoint_now as u64));
    answer_checked(config, token_uri, request, endpoint_now).with_header("Date", &date)
}

fn answer_checked(config: &EndpointConfig, token_uri: &str, request: &Request, now: i64) -> Reply {
    if request.method != "POST" || request.target != "/token" {
        return Reply::text(404, "text/html", "<html><body>Not Found</body></html>");
    }
    let content_type = request.header("content-type").unwrap_or("");
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Reply::google_error(400, "invalid_request", "Bad Request");
    }
    let form = request.form();
    if form.get("grant_type").map(String::as_str)
        != Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
    {
        return Reply::google_error(400, "unsupported_grant_type", "Invalid grant_type");
    }
    let Some(assertion) = form.get("assertion") else {
        return Reply::google_error(
            400,
            "invalid_request",
            "Missing required parameter: assertion",
        );
    };

    let parts: Vec<&str> = assertion.split('.').collect();
    if parts.len() != 3 {
        return invalid_grant("Invalid JWT: Malformed");
    }
    let decode = |segment: &str| -> Option<Value> {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).ok()?).ok()
    };
    let (Some(header), Some(claims)) = (decode(parts[0]), decode(parts[1])) else {
        return invalid_grant("Invalid JWT: Malformed");
    };
    if header["alg"] != "RS256" {
        return invalid_grant("Invalid JWT: Unsupported algorithm");
    }
    let email = claims["iss"].as_str().unwrap_or("").to_string();
    if config.deleted_accounts.contains(&email) {
        return invalid_grant("Invalid grant: account not found");
    }
    let Some((key_email, public_key)) = header["kid"].as_str().and_then(|kid| config.keys.get(kid))
    else {
        return invalid_grant("Invalid JWT Signature.");
    };
    let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap_or_default();
    let signing_input = format!("{}.{}", parts[0], parts[1]);
    let key = ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        public_key,
    );
    if key.verify(signing_input.as_bytes(), &signature).is_err() || *key_email != email {
        return invalid_grant("Invalid JWT Signature.");
    }
    // Google's libraries leave `sub` out unless they act for a user; the endpoint then
    // takes `iss`.
    if claims.get("sub").is_some() && claims["sub"] != claims["iss"] {
        return invalid_grant("Invalid JWT: sub and iss differ");
    }
    if claims["aud"] != token_uri {
        return invalid_grant("Invalid JWT: Failed audience check.");
    }
    let (Some(iat), Some(exp)) = (claims["iat"].as_i64(), claims["exp"].as_i64()) else {
        return invalid_grant(
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.",
        );
    };
    if exp - iat > 3600 || exp <= iat || iat > now + 60 || exp < now {
        return invalid_grant(
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.",
        );
    }
    if claims.get("scope").is_some() {
        return Reply::json(
            200,
            json!({"access_token": "ya29.test-access-token", "expires_in": 3599, "token_type": "Bearer"}),
        );
    }
    let Some(audience) = claims["target_audience"].as_str() else {
        return Reply::google_error(
            400,
            "invalid_scope",
            "Invalid OAuth scope or ID token audience provided.",
        );
    };
    Reply::json(
        200,
        json!({"id_token": make_id_token(audience, &email, now)}),
    )
}

/// Makes an identity token like Google's: its claims are real, its signature is a placeholder.
pub fn make_id_token(audience: &str, email: &str, now: i64) -> String {
    let header = json!({"alg": "RS256", "kid": "test-signing-key", "typ": "JWT"});
    let claims = json!({
        "aud": audience,
        "azp": email,
        "email": email,
        "email_verified": true,
        "exp": now + 3600,
        "iat": now,
        "iss": "https://accounts.google.com",
        "sub": "100000000000000000001",
    });
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode(format!("signature-{now}-{}", rand_suffix()))
    )
}

fn rand_suffix() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// Decodes the claims of a JWT printed by the tool.
pub fn jwt_claims(token: &str) -> Value {
    let payload = token.trim().split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Key files and the command.

/// A temporary home for one test: key files, and the directories the tool may read or write.
pub struct TestEnv {
    pub dir: tempfile::TempDir,
}

impl TestEnv {
    pub fn new() -> TestEnv {
        TestEnv {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a file with mode 0600 and returns its path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, contents).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        path
    }

    /// Writes a fixture key file with `token_uri` replaced, and returns its path.
    pub fn key_file(&self, fixture_name: &str, token_uri: &str) -> PathBuf {
        let mut key: Value = serde_json::from_str(&fixture(fixture_name)).unwrap();
        key["token_uri"] = json!(token_uri);
        self.write(fixture_name, serde_json::to_string_pretty(&key).unwrap())
    }

    /// Builds the tool's command, with an environment that can reach nothing of this machine's: no inherited
    /// credentials, proxies or metadata server, and a home, config and cache inside this test.
    pub fn command(&self) -> Command {
        let mut command = Command::cargo_bin("posos-token").unwrap();
        for name in [
            "GOOGLE_APPLICATION_CREDENTIALS",
            "POSOS_CLIENT_ID",
            "GCE_METADATA_HOST",
            "GCE_METADATA_IP",
            "HTTPS_PROXY",
            "https_proxy",
            "HTTP_PROXY",
            "http_proxy",
            "ALL_PROXY",
            "all_proxy",
            "NO_PROXY",
            "no_proxy",
            "SSL_CERT_FILE",
            "SSL_CERT_DIR",
            "POSOS_IMPERSONATE_SERVICE_ACCOUNT",
            "POSOS_IAM_CREDENTIALS_URL",
            "GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES",
        ] {
            command.env_remove(name);
        }
        let home = self.path("home");
        std::fs::create_dir_all(&home).unwrap();
        command
            .env("NO_GCE_CHECK", "true")
            .env("HOME", &home)
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("CLOUDSDK_CONFIG", home.join(".config/gcloud"))
            .env("APPDATA", home.join("AppData"))
            .env("POSOS_TOKEN_CACHE_DIR", self.path("cache"))
            .timeout(Duration::from_secs(60));
        command
    }
}

/// The outcome of one run, with stdout and stderr as text.
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(command: &mut Command) -> Outcome {
    let output = command.output().unwrap();
    Outcome {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

impl Outcome {
    /// Asserts the exit code, printing both streams when it differs.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts that stderr contains each phrase.
    pub fn expect_stderr(&self, phrases: &[&str]) -> &Self {
        for phrase in phrases {
            assert!(
                self.stderr.contains(phrase),
                "stderr lacks {phrase:?}:\n{}",
                self.stderr
            );
        }
        self
    }

    /// Asserts that a failure printed nothing on stdout and one `posos-token:` line first.
    pub fn expect_clean_failure(&self) -> &Self {
        assert!(
            self.stdout.is_empty(),
            "stdout should be empty: {}",
            self.stdout
        );
        assert!(
            self.stderr.starts_with("posos-token: "),
            "stderr: {}",
            self.stderr
        );
        self
    }
}
