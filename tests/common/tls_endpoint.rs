//! An https token endpoint on loopback: a test CA made at test time and a server certificate
//! for 127.0.0.1 signed by it. A TLS front hands each decrypted request to a plain `TestServer`
//! behind it and returns that server's response.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::{EndpointConfig, TestServer, answer_token_request};

/// The common name of the test CA, which a certificate failure must name as the issuer.
pub const TEST_CA_NAME: &str = "Posos Test Intercepting CA";

/// A test certificate authority and a server certificate for 127.0.0.1 that it issued.
pub struct TestCa {
    pub ca_pem: String,
    server_chain: Vec<CertificateDer<'static>>,
    server_key: Vec<u8>,
}

impl TestCa {
    pub fn new() -> TestCa {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, TEST_CA_NAME);
        ca_params
            .distinguished_name
            .push(DnType::OrganizationName, "Posos Tests");
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();

        let server_key = KeyPair::generate().unwrap();
        let mut server_params =
            CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
        server_params
            .distinguished_name
            .push(DnType::CommonName, "127.0.0.1");
        let issuer = Issuer::new(ca_params, &ca_key);
        let server_cert = server_params.signed_by(&server_key, &issuer).unwrap();

        TestCa {
            ca_pem: ca_cert.pem(),
            server_chain: vec![server_cert.der().clone()],
            server_key: server_key.serialize_der(),
        }
    }

    fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.server_key.clone()));
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(self.server_chain.clone(), key)
        .unwrap();
        Arc::new(config)
    }
}

/// An https server on 127.0.0.1 in front of a plain `TestServer`.
pub struct TlsFront {
    port: u16,
    connections: Arc<AtomicUsize>,
    pub backend: TestServer,
}

impl TlsFront {
    /// Returns `https://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The number of TCP connections accepted, whether or not TLS succeeded.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// The number of requests that completed the TLS handshake and reached the backend.
    pub fn hits(&self) -> usize {
        self.backend.hits()
    }
}

/// Starts an https token endpoint with certificates of `ca`, that checks assertions as
/// Google's does (see `answer_token_request`) with `https://127.0.0.1:PORT/token` as its URL.
pub fn https_token_endpoint(ca: &TestCa, config: EndpointConfig) -> TlsFront {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let token_uri = format!("https://127.0.0.1:{port}/token");
    let backend =
        TestServer::start(move |request| answer_token_request(&config, &token_uri, request));
    let backend_port = backend.port();
    let server_config = ca.server_config();
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();

    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            counted.fetch_add(1, Ordering::SeqCst);
            let server_config = server_config.clone();
            thread::spawn(move || {
                let _ = relay(stream, server_config, backend_port);
            });
        }
    });
    TlsFront {
        port,
        connections,
        backend,
    }
}

/// Terminates TLS on `stream`, forwards one request to the backend and relays its response.
fn relay(
    stream: TcpStream,
    config: Arc<rustls::ServerConfig>,
    backend_port: u16,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    let connection = rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(connection, stream);

    let request = read_http_message(&mut tls)?;
    let mut backend = TcpStream::connect(("127.0.0.1", backend_port))?;
    backend.write_all(&request)?;
    let mut response = Vec::new();
    backend.read_to_end(&mut response)?;
    tls.write_all(&response)?;
    tls.flush()?;
    tls.conn.send_close_notify();
    let _ = tls.flush();
    Ok(())
}

/// Reads one HTTP request (head and `Content-Length` body) and returns its bytes.
fn read_http_message(reader: &mut impl Read) -> std::io::Result<Vec<u8>> {
    let mut message = Vec::new();
    let mut byte = [0u8; 1];
    while !message.ends_with(b"\r\n\r\n") {
        if reader.read(&mut byte)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        message.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&message).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    message.extend(body);
    Ok(message)
}
