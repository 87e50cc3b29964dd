//! TLS for the token exchange: a ureq connector that wraps the connection in rustls with the
//! roots of [`crate::trust`]. When a server's certificate fails verification, the connector
//! keeps a copy, so that the error can name its issuer (most often an intercepting proxy's CA).

use std::fmt;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, StreamOwned};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout, Transport,
    TransportAdapter,
};

/// The phase an exchange has reached, shared between the connector and the caller so that
/// a timeout of the whole budget can name what was going on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    /// Resolving the host and opening the TCP connection, through the proxy if there is one.
    Connect = 0,
    /// The TLS handshake.
    Tls = 1,
    /// Sending the request and waiting for the response head.
    Exchange = 2,
    /// Reading the response body.
    Body = 3,
}

impl Phase {
    /// Describes the phase for messages that read "timed out while …".
    pub fn describe(self) -> &'static str {
        match self {
            Phase::Connect => "connecting",
            Phase::Tls => "doing the TLS handshake",
            Phase::Exchange => "sending the request or waiting for the response",
            Phase::Body => "receiving the response body",
        }
    }
}

/// The phase marker of one agent.
#[derive(Debug, Default)]
pub struct Progress(AtomicU8);

impl Progress {
    pub fn set(&self, phase: Phase) {
        self.0.store(phase as u8, Ordering::Relaxed);
    }

    pub fn get(&self) -> Phase {
        match self.0.load(Ordering::Relaxed) {
            0 => Phase::Connect,
            1 => Phase::Tls,
            2 => Phase::Exchange,
            _ => Phase::Body,
        }
    }
}

/// A failed certificate verification: the host, rustls's reason, and the issuer of the
/// end-entity certificate the server presented.
#[derive(Debug)]
pub struct CertificateFailure {
    pub host: String,
    pub reason: String,
    pub issuer: Option<String>,
    pub subject: Option<String>,
}

impl fmt::Display for CertificateFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the certificate of {} is not trusted: {}",
            self.host, self.reason
        )
    }
}

impl std::error::Error for CertificateFailure {}

/// A connector that adds TLS to the connection before it when the URL is https.
pub struct TlsConnector {
    roots: Option<Arc<RootCertStore>>,
    progress: Arc<Progress>,
}

impl fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConnector").finish_non_exhaustive()
    }
}

impl TlsConnector {
    /// Creates a connector. Without `roots`, an https connection fails: the caller loads
    /// them only when a URL it will request is https.
    pub fn new(roots: Option<Arc<RootCertStore>>, progress: Arc<Progress>) -> Self {
        TlsConnector { roots, progress }
    }
}

impl<In: Transport> Connector<In> for TlsConnector {
    type Out = Either<In, TlsTransport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let Some(transport) = chained else {
            return Ok(None);
        };
        if !details.needs_tls() || transport.is_tls() {
            self.progress.set(Phase::Exchange);
            return Ok(Some(Either::A(transport)));
        }
        self.progress.set(Phase::Tls);

        let roots = self
            .roots
            .clone()
            .ok_or(ureq::Error::Tls("no trusted roots were loaded"))?;
        let host = details
            .uri
            .host()
            .unwrap_or_default()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let server_name = ServerName::try_from(host.clone())
            .map_err(|_| ureq::Error::Tls("the host is not a valid TLS server name"))?;

        let verifier = RecordingVerifier::new(roots)?;
        let presented = verifier.presented.clone();
        let config =
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(ureq::Error::Rustls)?
                .dangerous()
                // Not a bypass: RecordingVerifier delegates every decision to rustls's WebPKI
                // verifier and only keeps a copy of a rejected certificate.
                .with_custom_certificate_verifier(Arc::new(verifier))
                .with_no_client_auth();

        let mut connection =
            ClientConnection::new(Arc::new(config), server_name).map_err(ureq::Error::Rustls)?;
        let mut socket = TransportAdapter::new(transport.boxed(), details.current_time.clone());
        socket.set_timeout(details.timeout);
        if let Err(err) = connection.complete_io(&mut socket) {
            return Err(handshake_error(err, &host, &presented));
        }
        self.progress.set(Phase::Exchange);

        let buffers = LazyBuffers::new(
            details.config.input_buffer_size(),
            details.config.output_buffer_size(),
        );
        Ok(Some(Either::B(TlsTransport {
            buffers,
            stream: StreamOwned::new(connection, socket),
        })))
    }
}

fn handshake_error(
    err: std::io::Error,
    host: &str,
    presented: &Mutex<Option<CertificateDer<'static>>>,
) -> ureq::Error {
    let is_certificate_error = err
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .is_some_and(|inner| {
            matches!(
                inner,
                rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented
            )
        });
    if !is_certificate_error {
        return ureq::Error::from(err);
    }
    let reason = err
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .map(describe_rustls_error)
        .unwrap_or_else(|| err.to_string());
    let certificate = presented
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .take();
    let names = certificate.as_ref().and_then(|der| certificate_names(der));
    ureq::Error::Other(Box::new(CertificateFailure {
        host: host.to_string(),
        reason,
        issuer: names.as_ref().map(|(issuer, _)| issuer.clone()),
        subject: names.map(|(_, subject)| subject),
    }))
}

fn describe_rustls_error(err: &rustls::Error) -> String {
    use rustls::CertificateError as E;
    match err {
        rustls::Error::InvalidCertificate(E::UnknownIssuer) => {
            "its issuer is not a trusted certificate authority".into()
        }
        rustls::Error::InvalidCertificate(E::Expired | E::ExpiredContext { .. }) => {
            "it has expired".into()
        }
        rustls::Error::InvalidCertificate(E::NotValidYet | E::NotValidYetContext { .. }) => {
            "it is not valid yet (check the local clock)".into()
        }
        rustls::Error::InvalidCertificate(
            E::NotValidForName | E::NotValidForNameContext { .. },
        ) => "it is not valid for this host name".into(),
        rustls::Error::InvalidCertificate(E::Revoked) => "it has been revoked".into(),
        rustls::Error::NoCertificatesPresented => "it presented no certificate".into(),
        other => other.to_string(),
    }
}

/// Returns the issuer and subject of a DER certificate as RFC 4514 strings.
pub fn certificate_names(der: &[u8]) -> Option<(String, String)> {
    let (_, certificate) = x509_parser::parse_x509_certificate(der).ok()?;
    let clean =
        |text: String| -> String { text.chars().filter(|c| !c.is_control()).take(300).collect() };
    Some((
        clean(certificate.issuer().to_string()),
        clean(certificate.subject().to_string()),
    ))
}

/// A server certificate verifier that delegates to rustls's WebPKI verifier and keeps the
/// end-entity certificate it rejected.
#[derive(Debug)]
struct RecordingVerifier {
    inner: Arc<WebPkiServerVerifier>,
    presented: Arc<Mutex<Option<CertificateDer<'static>>>>,
}

impl RecordingVerifier {
    fn new(roots: Arc<RootCertStore>) -> Result<Self, ureq::Error> {
        let inner = WebPkiServerVerifier::builder_with_provider(
            roots,
            Arc::new(rustls::crypto::ring::default_provider()),
        )
        .build()
        .map_err(|_| ureq::Error::Tls("no usable trusted roots"))?;
        Ok(RecordingVerifier {
            inner,
            presented: Arc::new(Mutex::new(None)),
        })
    }
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        if verdict.is_err() {
            *self
                .presented
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()) =
                Some(end_entity.clone().into_owned());
        }
        verdict
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// A TLS connection as a ureq transport.
pub struct TlsTransport {
    buffers: LazyBuffers,
    stream: StreamOwned<ClientConnection, TransportAdapter>,
}

impl fmt::Debug for TlsTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsTransport").finish_non_exhaustive()
    }
}

impl Transport for TlsTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let output = &self.buffers.output()[..amount];
        self.stream.write_all(output)?;
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let input = self.buffers.input_append_buf();
        let read = self.stream.read(input)?;
        self.buffers.input_appended(read);
        Ok(read > 0)
    }

    fn is_open(&mut self) -> bool {
        self.stream.get_mut().get_mut().is_open()
    }

    fn is_tls(&self) -> bool {
        true
    }
}
