//! Mutual TLS for the hub.
//!
//! The handshake requires nothing of the client but proof of possession of
//! whatever certificate it presents. Whether that certificate chains to the
//! configured CA bundle, and is valid today, is decided by [`ClientAuthority`]
//! in the authentication layer *before any RPC runs*. Deferring the chain check
//! out of the handshake lets a refused caller receive a gRPC `UNAUTHENTICATED`
//! with a reason (and lets the refusal be audited) instead of an opaque
//! transport error; no handler ever runs for an unverified certificate.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::ring as ring_provider;
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tonic::transport::server::Connected;

/// Why TLS material could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file holds no usable certificate or key.
    #[error("{0}: no usable {1} in PEM")]
    Pem(String, &'static str),
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// The CA bundle could not be turned into a verifier.
    #[error("CA bundle: {0}")]
    Verifier(String),
}

/// Parses every certificate in a PEM text.
pub fn certs_from_pem(label: &str, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs: Vec<_> = CertificateDer::pem_slice_iter(pem)
        .filter_map(Result::ok)
        .collect();
    if certs.is_empty() {
        return Err(TlsError::Pem(label.to_owned(), "certificate"));
    }
    Ok(certs)
}

/// A PEM private key held in memory: wiped when dropped, and never shown
/// by `Debug`, so a configuration printed for a diagnosis cannot leak it.
#[derive(Clone, Default)]
pub struct SecretPem(zeroize::Zeroizing<Vec<u8>>);

impl SecretPem {
    /// Takes the key's PEM text.
    pub fn new(pem: Vec<u8>) -> Self {
        Self(zeroize::Zeroizing::new(pem))
    }

    /// The PEM text, for the TLS configuration.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for SecretPem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretPem(redacted)")
    }
}

/// Parses the private key in a PEM text.
pub fn key_from_pem(label: &str, pem: &[u8]) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|_| TlsError::Pem(label.to_owned(), "private key"))
}

/// Why a client certificate is not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertRejection {
    /// No certificate was presented.
    Missing,
    /// Not issued (directly or through the presented chain) by a trusted CA.
    UnknownIssuer,
    /// Its validity period has ended.
    Expired,
    /// Its validity period has not started.
    NotYetValid,
    /// Revoked, wrong key usage, malformed, or otherwise invalid.
    Invalid,
}

impl CertRejection {
    /// A short reason for the caller; it never repeats certificate contents.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Missing => "a client certificate is required",
            Self::UnknownIssuer => "client certificate is not issued by a trusted CA",
            Self::Expired => "client certificate has expired",
            Self::NotYetValid => "client certificate is not yet valid",
            Self::Invalid => "client certificate is not valid for client authentication",
        }
    }
}

/// The configured CA bundle as a chain verifier for client certificates.
#[derive(Debug, Clone)]
pub struct ClientAuthority {
    verifier: Arc<dyn ClientCertVerifier>,
}

impl ClientAuthority {
    /// Builds the verifier from the PEM CA bundle (PKIoverheid roots and
    /// intermediates in production, the development CA with `--dev`).
    pub fn from_pem(ca_bundle: &[u8]) -> Result<Self, TlsError> {
        let mut roots = RootCertStore::empty();
        for c in certs_from_pem("CA bundle", ca_bundle)? {
            roots.add(c)?;
        }
        let verifier = WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            Arc::new(ring_provider::default_provider()),
        )
        .build()
        .map_err(|e| TlsError::Verifier(e.to_string()))?;
        Ok(Self { verifier })
    }

    /// Checks the presented chain (end entity first) at `now`.
    pub fn verify(&self, chain: &[CertificateDer<'static>], now: UnixTime) -> Result<(), CertRejection> {
        let Some((end_entity, intermediates)) = chain.split_first() else {
            return Err(CertRejection::Missing);
        };
        match self.verifier.verify_client_cert(end_entity, intermediates, now) {
            Ok(_) => Ok(()),
            Err(rustls::Error::InvalidCertificate(e)) => Err(match e {
                CertificateError::UnknownIssuer => CertRejection::UnknownIssuer,
                CertificateError::BadSignature => CertRejection::UnknownIssuer,
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => CertRejection::Expired,
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                    CertRejection::NotYetValid
                }
                _ => CertRejection::Invalid,
            }),
            Err(_) => Err(CertRejection::Invalid),
        }
    }
}

/// Handshake-time verifier: requests a client certificate and checks the
/// handshake signature (proof of possession of its key); the chain is checked
/// by [`ClientAuthority::verify`] before any RPC runs (see module docs).
#[derive(Debug)]
struct DeferredChainVerifier(Arc<dyn ClientCertVerifier>);

impl ClientCertVerifier for DeferredChainVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        // A client without a certificate gets an UNAUTHENTICATED answer from
        // the authentication layer rather than a failed handshake.
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.0.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// The rustls server configuration: the hub's certificate, client
/// certificates requested, ALPN `h2` (gRPC).
pub fn server_config(
    authority: &ClientAuthority,
    cert_chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<rustls::ServerConfig, TlsError> {
    let mut cfg = rustls::ServerConfig::builder_with_provider(Arc::new(ring_provider::default_provider()))
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(Arc::new(DeferredChainVerifier(authority.verifier.clone())))
        .with_single_cert(cert_chain, key)?;
    cfg.alpn_protocols = vec![b"h2".to_vec()];
    Ok(cfg)
}

/// What `schakel-hub --check-config` can tell about the hub's own
/// certificate and key before the hub starts (issue 22): the key belongs to
/// the certificate, the certificate may serve TLS (extended key usage
/// serverAuth, or none), it names the host clients connect to (a DNS name
/// or IP address), it is valid now, and the CA bundle parses. Every problem,
/// in plain words; none when the hub can use them.
pub fn server_identity_problems(cert_chain_pem: &[u8], key_pem: &[u8], ca_bundle_pem: &[u8]) -> Vec<String> {
    let mut problems = Vec::new();
    let authority = match ClientAuthority::from_pem(ca_bundle_pem) {
        Ok(a) => Some(a),
        Err(e) => {
            problems.push(format!("ca_bundle: {e}"));
            None
        }
    };
    let chain = match certs_from_pem("server_cert", cert_chain_pem) {
        Ok(c) => c,
        Err(e) => {
            problems.push(e.to_string());
            return problems;
        }
    };
    let key = match key_from_pem("server_key", key_pem) {
        Ok(k) => Some(k),
        Err(e) => {
            problems.push(e.to_string());
            None
        }
    };
    if let (Some(authority), Some(key)) = (&authority, key)
        && let Err(e) = server_config(authority, chain.clone(), key)
    {
        problems.push(format!(
            "server_key: does not fit server_cert, or is of a kind the hub cannot use ({e})"
        ));
    }
    match x509_parser::parse_x509_certificate(&chain[0]) {
        Err(_) => problems.push("server_cert: the first certificate does not parse".into()),
        Ok((_, cert)) => {
            match cert.extended_key_usage() {
                Ok(Some(eku)) if !eku.value.server_auth && !eku.value.any => problems.push(
                    "server_cert: its extended key usage does not include serverAuth (is it a client certificate?); clients will refuse it".into(),
                ),
                Err(_) => problems.push("server_cert: its extended key usage does not parse".into()),
                _ => {}
            }
            let names = match cert.subject_alternative_name() {
                Ok(Some(san)) => san
                    .value
                    .general_names
                    .iter()
                    .filter(|n| {
                        matches!(
                            n,
                            x509_parser::extensions::GeneralName::DNSName(_)
                                | x509_parser::extensions::GeneralName::IPAddress(_)
                        )
                    })
                    .count(),
                _ => 0,
            };
            if names == 0 {
                problems.push(
                    "server_cert: names no DNS name or IP address (subjectAltName); clients check the host name against it".into(),
                );
            }
            if !cert.validity().is_valid() {
                problems.push("server_cert: not valid now (expired, or not yet valid)".into());
            }
        }
    }
    problems
}

/// Longest client chain (end entity plus intermediates) the hub considers;
/// longer chains are refused without building a path.
pub const MAX_CLIENT_CHAIN: usize = 4;

/// Who the peer of a connection is, decided once right after the handshake:
/// chain building and signature checks do not run again per request.
#[derive(Debug, Clone)]
pub enum PeerIdentity {
    /// The chain verified against the CA bundle; the facts of its end entity.
    Verified(crate::certinfo::CertFacts),
    /// Refused, with a reason safe to send to the caller.
    Rejected(&'static str),
}

impl ClientAuthority {
    /// Checks a presented chain once: length, path to the CA bundle, validity
    /// at `now`, and an OIN in the subject serialNumber.
    pub fn identify(&self, chain: &[CertificateDer<'static>], now: UnixTime) -> PeerIdentity {
        if chain.len() > MAX_CLIENT_CHAIN {
            return PeerIdentity::Rejected("client certificate chain is too long");
        }
        if let Err(r) = self.verify(chain, now) {
            return PeerIdentity::Rejected(r.reason());
        }
        match chain.first().map(|c| crate::certinfo::cert_facts(c)) {
            Some(Ok(facts)) => PeerIdentity::Verified(facts),
            _ => PeerIdentity::Rejected("client certificate subject has no serialNumber with a 20-digit OIN"),
        }
    }
}

/// What the connection tells each request about its peer.
#[derive(Debug, Clone)]
pub struct PeerInfo {
    /// The client's address.
    pub remote_addr: Option<SocketAddr>,
    /// The outcome of the connection's certificate check.
    pub identity: PeerIdentity,
}

/// A TLS connection that hands [`PeerInfo`] to tonic.
#[derive(Debug)]
pub struct PeerStream {
    tls: tokio_rustls::server::TlsStream<TcpStream>,
    identity: PeerIdentity,
}

impl PeerStream {
    /// Wraps a finished handshake and checks the client's certificate.
    pub fn new(tls: tokio_rustls::server::TlsStream<TcpStream>, authority: &ClientAuthority) -> Self {
        let chain = tls
            .get_ref()
            .1
            .peer_certificates()
            .map(|c| c.to_vec())
            .unwrap_or_default();
        let identity = authority.identify(&chain, UnixTime::now());
        Self { tls, identity }
    }
}

impl Connected for PeerStream {
    type ConnectInfo = PeerInfo;

    fn connect_info(&self) -> PeerInfo {
        PeerInfo {
            remote_addr: self.tls.get_ref().0.peer_addr().ok(),
            identity: self.identity.clone(),
        }
    }
}

impl AsyncRead for PeerStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tls).poll_read(cx, buf)
    }
}

impl AsyncWrite for PeerStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tls).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tls).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tls).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tls).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tls.is_write_vectored()
    }
}

#[cfg(test)]
mod check_tests {
    use super::server_identity_problems;
    use crate::pki::{DevCa, Validity};

    #[test]
    fn a_proper_server_certificate_passes_and_each_mistake_is_named() {
        let ca = DevCa::generate("test CA").unwrap();
        let server = ca.issue_server(&["hub.example.nl"]).unwrap();
        let bundle = ca.cert_pem().as_bytes();
        assert_eq!(
            server_identity_problems(server.cert_pem.as_bytes(), server.key_pem.as_bytes(), bundle),
            Vec::<String>::new()
        );
        // Another certificate's key.
        let other = ca.issue_server(&["hub.example.nl"]).unwrap();
        let p = server_identity_problems(server.cert_pem.as_bytes(), other.key_pem.as_bytes(), bundle);
        assert!(
            p.iter().any(|p| p.starts_with("server_key: does not fit")),
            "{p:?}"
        );
        // A client certificate used as the server's: clientAuth only, no name.
        let oin = "00000001003214345000".parse().unwrap();
        let client = ca
            .issue_client(&oin, "Gemeente", "werkcoach", Validity::days_from_now(30))
            .unwrap();
        let p = server_identity_problems(client.cert_pem.as_bytes(), client.key_pem.as_bytes(), bundle);
        assert!(p.iter().any(|p| p.contains("serverAuth")), "{p:?}");
        assert!(p.iter().any(|p| p.contains("no DNS name")), "{p:?}");
        // A CA bundle that is not one.
        let p = server_identity_problems(server.cert_pem.as_bytes(), server.key_pem.as_bytes(), b"nonsense");
        assert!(p.iter().any(|p| p.starts_with("ca_bundle")), "{p:?}");
    }
}
