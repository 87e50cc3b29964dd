//! A TLS token endpoint on 127.0.0.1: a rustls front with the test CA's server certificate
//! (`tests/fixtures/tls`, valid until 2126, for 127.0.0.1, ::1 and localhost) that passes each
//! request to a plain `TestServer` behind it and returns that server's response.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::thread;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::{EndpointConfig, TestServer, answer_token_request, fixture_path};

/// Returns the path of the test CA's certificate, for `SSL_CERT_FILE`.
pub fn test_ca_path() -> PathBuf {
    fixture_path("tls/ca.pem")
}

/// A token endpoint behind TLS, and the plain server that checks its requests.
pub struct TlsEndpoint {
    port: u16,
    pub backend: TestServer,
}

impl TlsEndpoint {
    /// Starts a token endpoint like `google_endpoint` that is reached over TLS.
    pub fn start() -> TlsEndpoint {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let token_uri = format!("https://127.0.0.1:{port}/token");
        let config = EndpointConfig::default();
        let backend =
            TestServer::start(move |request| answer_token_request(&config, &token_uri, request));

        let tls = Arc::new(server_config());
        let backend_port = backend.port();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let tls = tls.clone();
                thread::spawn(move || {
                    let _ = relay(stream, tls, backend_port);
                });
            }
        });
        TlsEndpoint { port, backend }
    }

    /// Returns `https://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.port)
    }

    /// Returns the number of requests that reached the endpoint through TLS.
    pub fn hits(&self) -> usize {
        self.backend.hits()
    }
}

fn server_config() -> rustls::ServerConfig {
    let certificates: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(fixture_path("tls/server.pem"))
            .unwrap()
            .map(Result::unwrap)
            .collect();
    let key = PrivateKeyDer::from_pem_file(fixture_path("tls/server.key")).unwrap();
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certificates, key)
        .unwrap()
}

/// Reads one HTTP request over TLS, sends it to the backend, and returns the backend's whole
/// response (it closes the connection after each response).
fn relay(
    stream: TcpStream,
    config: Arc<rustls::ServerConfig>,
    backend_port: u16,
) -> std::io::Result<()> {
    let connection = rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(connection, stream);

    let request = read_http_request(&mut tls)?;
    let mut backend = TcpStream::connect(("127.0.0.1", backend_port))?;
    backend.write_all(&request)?;
    let mut response = Vec::new();
    backend.read_to_end(&mut response)?;

    tls.write_all(&response)?;
    tls.conn.send_close_notify();
    tls.flush()
}

/// Reads the head and the `Content-Length` bytes of body of one request.
fn read_http_request(stream: &mut impl Read) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let read = stream.read(&mut chunk)?;
        if read == 0 {
            return Ok(bytes);
        }
        bytes.extend_from_slice(&chunk[..read]);
        let Some(head_end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&bytes[..head_end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(0);
        if bytes.len() >= head_end + 4 + length {
            return Ok(bytes);
        }
    }
}
