//! The certificate authorities trusted for https: the operating system's store, plus extra PEM
//! bundles from `--ca-file` and `SSL_CERT_FILE`. They are loaded once, on the first https
//! request, so that a run that sends nothing reads no certificate.
//!
//! There is no way to turn verification off: an intercepting proxy's CA is added instead.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::error::{Error, Result};

/// The variable that names an extra PEM bundle, as OpenSSL and curl read it.
pub const CERT_FILE_ENV: &str = "SSL_CERT_FILE";

static CA_FILE: OnceLock<Option<PathBuf>> = OnceLock::new();
static ROOTS: Mutex<Option<Arc<RootCertStore>>> = Mutex::new(None);

/// Sets the `--ca-file` bundle. Only the first call in a process counts.
pub fn set_ca_file(path: Option<PathBuf>) {
    let _ = CA_FILE.set(path);
}

/// Returns the trusted roots, loading them on the first call.
pub fn roots() -> Result<Arc<RootCertStore>> {
    let mut cached = ROOTS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(roots) = cached.as_ref() {
        return Ok(roots.clone());
    }
    let ca_file = CA_FILE.get().cloned().flatten();
    let cert_file = std::env::var_os(CERT_FILE_ENV)
        .filter(|value| !value.is_empty())
        .map(PathBuf::from);
    let roots = Arc::new(load(ca_file.as_deref(), cert_file.as_deref())?);
    *cached = Some(roots.clone());
    Ok(roots)
}

/// Loads the system store, then the bundles of `SSL_CERT_FILE` and `--ca-file`.
fn load(ca_file: Option<&Path>, cert_file: Option<&Path>) -> Result<RootCertStore> {
    let started = Instant::now();
    let mut roots = Roots::default();

    let system = system_certificates(cert_file.is_some());
    let mut unusable = 0;
    for certificate in system {
        if roots.add(certificate).is_err() {
            unusable += 1;
        }
    }
    let added = roots.store.len();
    log::debug!("loaded {added} certificates from the system store ({unusable} unusable)");
    if added == 0 {
        // A minimal container image may have no CA bundle: Mozilla's roots keep Google
        // reachable, and a corporate CA can still be added with --ca-file.
        roots
            .store
            .extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        log::info!("the system certificate store is empty, so Mozilla's bundled roots are used");
    }

    if let Some(path) = cert_file {
        let count = add_bundle(&mut roots, path, CERT_FILE_ENV)?;
        log::info!(
            "trusting {} from {CERT_FILE_ENV} {}",
            certificates(count),
            path.display()
        );
    }
    if let Some(path) = ca_file {
        let count = add_bundle(&mut roots, path, "--ca-file")?;
        log::info!(
            "trusting {} from --ca-file {}",
            certificates(count),
            path.display()
        );
    }
    log::debug!(
        "loaded {} trusted roots in {} ms",
        roots.store.len(),
        started.elapsed().as_millis()
    );
    Ok(roots.store)
}

/// A root store that skips certificates it already contains, as when `SSL_CERT_FILE` names
/// the system bundle.
pub struct Roots {
    pub store: RootCertStore,
    seen: HashSet<Vec<u8>>,
}

impl Default for Roots {
    fn default() -> Self {
        Roots {
            store: RootCertStore::empty(),
            seen: HashSet::new(),
        }
    }
}

impl Roots {
    /// Adds a certificate and returns whether it was new.
    pub fn add(&mut self, certificate: CertificateDer<'static>) -> Result<bool, rustls::Error> {
        if self.seen.contains(certificate.as_ref()) {
            return Ok(false);
        }
        let der = certificate.as_ref().to_vec();
        self.store.add(certificate)?;
        self.seen.insert(der);
        Ok(true)
    }
}

fn certificates(count: usize) -> String {
    if count == 1 {
        "1 extra CA certificate".to_string()
    } else {
        format!("{count} extra CA certificates")
    }
}

/// Reads the operating system's CA certificates. Failures to read single files are logged
/// and skipped, because a store that is partly unreadable still contains the usual roots.
fn system_certificates(cert_file_set: bool) -> Vec<CertificateDer<'static>> {
    // rustls-native-certs 0.8 reads SSL_CERT_FILE and SSL_CERT_DIR *instead of* the system
    // store when either is set, and reads both the bundle file and the directory otherwise.
    // This tool treats both variables as extra roots, so on Linux and the BSDs it reads the
    // system store itself, whatever the variables contain.
    #[cfg(all(unix, not(target_os = "macos")))]
    {
        let _ = cert_file_set;
        let mut certs = Vec::new();
        // A distribution's bundle file contains the whole store in one read. Its directory contains
        // every certificate twice (file and hash link), so it is read only without a bundle.
        let bundle = system_bundle_file();
        let system_dirs = system_cert_dirs();
        let mut dirs = Vec::new();
        match &bundle {
            Some(file) => {
                let found = rustls_native_certs::load_certs_from_paths(Some(file), None);
                for err in &found.errors {
                    log::debug!("skipped part of the system store: {err}");
                }
                certs.extend(found.certs);
            }
            None => dirs = system_dirs.clone(),
        }
        if let Some(extra) = std::env::var_os("SSL_CERT_DIR") {
            // With the bundle read, a system directory in SSL_CERT_DIR (as /etc/ssl/certs is
            // on some images) would only repeat it.
            dirs.extend(
                std::env::split_paths(&extra)
                    .filter(|dir| dir.is_dir() && !(bundle.is_some() && system_dirs.contains(dir))),
            );
        }
        for dir in dirs {
            let found = rustls_native_certs::load_certs_from_paths(None, Some(&dir));
            for err in &found.errors {
                log::debug!("skipped part of the system store: {err}");
            }
            certs.extend(found.certs);
        }
        certs
    }
    // NOTE: on macOS and Windows, rustls-native-certs reads SSL_CERT_FILE and SSL_CERT_DIR in
    // place of the system store, so with either set the system store is not read.
    #[cfg(not(all(unix, not(target_os = "macos"))))]
    {
        let _ = cert_file_set;
        let result = rustls_native_certs::load_native_certs();
        for err in &result.errors {
            log::debug!("skipped part of the system store: {err}");
        }
        result.certs
    }
}

/// Returns the CA bundle file of this Linux or BSD distribution, if it has one of the usual
/// ones (the paths that OpenSSL builds of Debian, Fedora, openSUSE, Alpine and FreeBSD use).
#[cfg(all(unix, not(target_os = "macos")))]
fn system_bundle_file() -> Option<PathBuf> {
    [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
        "/etc/ssl/ca-bundle.pem",
        "/etc/ssl/cert.pem",
        "/usr/local/share/certs/ca-root-nss.crt",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|file| file.is_file())
}

/// Returns the existing directories where Linux and BSD distributions keep CA certificates.
#[cfg(all(unix, not(target_os = "macos")))]
fn system_cert_dirs() -> Vec<PathBuf> {
    [
        "/etc/ssl/certs",
        "/etc/pki/tls/certs",
        "/etc/pki/ca-trust/extracted/pem",
        "/var/lib/ca-certificates/pem",
        "/etc/certs",
        "/usr/local/share/certs",
        "/etc/openssl/certs",
    ]
    .iter()
    .map(PathBuf::from)
    .filter(|dir| dir.is_dir())
    .collect()
}

/// Adds every certificate of a PEM bundle to `roots` and returns how many the bundle has.
/// `origin` names where the path came from (`--ca-file` or `SSL_CERT_FILE`).
pub fn add_bundle(roots: &mut Roots, path: &Path, origin: &str) -> Result<usize> {
    let shown_path = path.display();
    let bytes = std::fs::read(path).map_err(|err| {
        let reason = match err.kind() {
            std::io::ErrorKind::NotFound => "not found".to_string(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            _ => err.to_string(),
        };
        Error::config(format!(
            "failed to read the CA bundle {shown_path} ({origin}): {reason}"
        ))
        .hint(format!(
            "{origin} must name a readable PEM file of CA certificates"
        ))
    })?;

    let certificates: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<std::result::Result<_, _>>()
        .map_err(|err| {
            Error::config(format!(
                "the CA bundle {shown_path} ({origin}) is not valid PEM: {err}"
            ))
            .hint("export the CA certificate in PEM form (-----BEGIN CERTIFICATE-----)")
        })?;
    if certificates.is_empty() {
        let problem = if bytes.windows(11).any(|w| w == b"-----BEGIN ") {
            "contains no certificate, only other PEM sections"
        } else {
            "is not a PEM file"
        };
        return Err(
            Error::config(format!("the CA bundle {shown_path} ({origin}) {problem}"))
                .hint("it should contain one or more -----BEGIN CERTIFICATE----- blocks"),
        );
    }

    let count = certificates.len();
    for (index, certificate) in certificates.into_iter().enumerate() {
        roots.add(certificate).map_err(|err| {
            Error::config(format!(
                "certificate {} of {count} in the CA bundle {shown_path} ({origin}) can't be used: {err}",
                index + 1
            ))
            .hint("check that the file holds CA certificates, not a key or a certificate request")
        })?;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &tempfile::TempDir, name: &str, contents: &[u8]) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    fn bundle_error(contents: Option<&[u8]>) -> Error {
        let dir = tempfile::tempdir().unwrap();
        let path = match contents {
            Some(contents) => write(&dir, "ca.pem", contents),
            None => dir.path().join("missing.pem"),
        };
        add_bundle(&mut Roots::default(), &path, "--ca-file").unwrap_err()
    }

    #[test]
    fn missing_bundle_is_config_error() {
        let err = bundle_error(None);
        assert_eq!(err.class(), crate::exit_code::ExitCode::Config);
        assert!(err.message().contains("missing.pem"), "{}", err.message());
        assert!(err.message().contains("not found"), "{}", err.message());
    }

    #[test]
    fn non_pem_bundle_is_config_error() {
        let err = bundle_error(Some(b"just some text\n"));
        assert!(
            err.message().contains("is not a PEM file"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn pem_without_certificate_is_config_error() {
        let key = b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        let err = bundle_error(Some(key));
        assert!(
            err.message().contains("contains no certificate"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn garbage_certificate_is_config_error() {
        let junk = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let err = bundle_error(Some(junk));
        assert_eq!(err.class(), crate::exit_code::ExitCode::Config);
        assert!(
            err.message().contains("certificate 1 of 1"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn repeated_certificate_is_added_once() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let pem = params.self_signed(&key).unwrap().pem();
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "twice.pem", format!("{pem}{pem}").as_bytes());

        let mut roots = Roots::default();
        let count = add_bundle(&mut roots, &path, "--ca-file").unwrap();

        assert_eq!(count, 2);
        assert_eq!(roots.store.len(), 1);
    }
}
