//! The TLS trust roots: Mozilla's root certificates built into the binary (the `webpki-roots`
//! crate), or the PEM certificates in the file that `SSL_CERT_FILE` names, as OpenSSL and curl
//! read it, for networks whose proxy re-signs TLS and for tests with their own CA.
//!
//! The roots are loaded when an agent is built, so a run that prints a cached token never
//! reads them.

use std::ffi::OsString;
use std::path::Path;

use ureq::tls::{PemItem, RootCerts, TlsConfig};

/// The environment variable that names a PEM file of trusted root certificates.
pub const CERT_FILE_ENV: &str = "SSL_CERT_FILE";

/// The largest certificate file read. Mozilla's whole bundle is about 220 KiB.
const MAX_CERT_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Returns the TLS configuration of the token endpoint's agent.
///
/// An `SSL_CERT_FILE` that can't be read or contains no certificate gives a warning and the
/// built-in roots, so the failure shows as a TLS error that names the endpoint.
pub fn tls_config() -> TlsConfig {
    let Some(path) = std::env::var_os(CERT_FILE_ENV).filter(|value| !value.is_empty()) else {
        return TlsConfig::default();
    };
    match load_roots(&path) {
        Ok(roots) => TlsConfig::builder().root_certs(roots).build(),
        Err(problem) => {
            log::warn!(
                "ignoring {CERT_FILE_ENV}={}: {problem}; using the built-in root certificates",
                Path::new(&path).display()
            );
            TlsConfig::default()
        }
    }
}

fn load_roots(path: &OsString) -> Result<RootCerts, String> {
    use std::io::Read;

    let file = std::fs::File::open(path).map_err(|err| format!("can't open it: {err}"))?;
    let mut pem = Vec::new();
    file.take(MAX_CERT_FILE_BYTES + 1)
        .read_to_end(&mut pem)
        .map_err(|err| format!("can't read it: {err}"))?;
    if pem.len() as u64 > MAX_CERT_FILE_BYTES {
        return Err(format!(
            "it is larger than {} MiB",
            MAX_CERT_FILE_BYTES / 1024 / 1024
        ));
    }

    let certificates: Vec<_> = ureq::tls::parse_pem(&pem)
        .filter_map(|item| match item {
            Ok(PemItem::Certificate(certificate)) => Some(certificate),
            _ => None,
        })
        .collect();
    if certificates.is_empty() {
        return Err("it contains no PEM certificate".into());
    }
    log::debug!(
        "trusting {} certificates from {CERT_FILE_ENV}",
        certificates.len()
    );
    Ok(RootCerts::new_with_certs(&certificates))
}
