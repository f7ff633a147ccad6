//! What the hub reads from a client certificate: the OIN in the subject
//! `serialNumber` (as PKIoverheid certificates carry it), the SHA-256 of
//! the DER encoding (the key of its directory binding) and its notAfter.

use jiff::Timestamp;
use schakel_domain::Oin;
use sha2::{Digest, Sha256};
use x509_parser::prelude::{FromDer, X509Certificate};

/// The X.520 `serialNumber` attribute (2.5.4.5).
const SERIAL_NUMBER_OID: &str = "2.5.4.5";

/// Facts of one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFacts {
    /// The OIN from the subject serialNumber.
    pub oin: Oin,
    /// Lower-case hex SHA-256 of the DER.
    pub sha256: String,
    /// Start of validity.
    pub not_before: Timestamp,
    /// End of validity.
    pub not_after: Timestamp,
}

/// Why a certificate's facts could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CertFactsError {
    /// Not a parseable X.509 certificate.
    #[error("certificate cannot be parsed")]
    Unparseable,
    /// The subject has no serialNumber holding a 20-digit OIN.
    #[error("certificate subject has no serialNumber with a 20-digit OIN")]
    NoOin,
}

/// Lower-case hex SHA-256 of a DER certificate.
pub fn sha256_hex(der: &[u8]) -> String {
    hex::encode(Sha256::digest(der))
}

/// Reads the facts of a DER certificate.
pub fn cert_facts(der: &[u8]) -> Result<CertFacts, CertFactsError> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|_| CertFactsError::Unparseable)?;
    // Exactly one serialNumber (counted before decoding, so a second one in
    // an unusual string type cannot hide), and it must be an OIN.
    let serials: Vec<_> = cert
        .subject()
        .iter_attributes()
        .filter(|a| a.attr_type().to_id_string() == SERIAL_NUMBER_OID)
        .collect();
    let oin = match serials.as_slice() {
        [one] => one
            .as_str()
            .map_err(|_| CertFactsError::NoOin)?
            .parse::<Oin>()
            .map_err(|_| CertFactsError::NoOin)?,
        _ => return Err(CertFactsError::NoOin),
    };
    let not_before = Timestamp::from_second(cert.validity().not_before.timestamp())
        .map_err(|_| CertFactsError::Unparseable)?;
    let not_after = Timestamp::from_second(cert.validity().not_after.timestamp())
        .map_err(|_| CertFactsError::Unparseable)?;
    Ok(CertFacts {
        oin,
        sha256: sha256_hex(der),
        not_before,
        not_after,
    })
}
