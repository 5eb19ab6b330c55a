//! TLS from PEM files, rustls with the ring provider.

use std::sync::Arc;

use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::Error;
use crate::config::TlsConfig;

/// An acceptor for the certificate chain and key of `config` (HTTP/1.1 by ALPN).
pub fn acceptor(config: &TlsConfig) -> Result<tokio_rustls::TlsAcceptor, Error> {
    let tls_error = |path: &std::path::Path, message: String| Error::Tls {
        path: path.to_path_buf(),
        message,
    };
    let certificates = CertificateDer::pem_file_iter(&config.crt)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|e| tls_error(&config.crt, e.to_string()))?;
    if certificates.is_empty() {
        return Err(tls_error(&config.crt, "no certificate in the file".into()));
    }
    let key = PrivateKeyDer::from_pem_file(&config.key)
        .map_err(|e| tls_error(&config.key, e.to_string()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error(&config.crt, e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certificates, key)
        .map_err(|e| tls_error(&config.key, e.to_string()))?;
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(server)))
}
