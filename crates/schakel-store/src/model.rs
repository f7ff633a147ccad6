//! Records as the store returns them. They hold validated domain types.

use jiff::Timestamp;
use schakel_domain::{BrinCode, FunctionKind, GemeenteCode, Oin, OrgKind};
use uuid::Uuid;

/// An organisation in the directory with its functions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation {
    /// Its OIN: the identity in its certificates.
    pub oin: Oin,
    /// What kind of organisation it is.
    pub kind: OrgKind,
    /// Its name, as registered by the operator.
    pub name: String,
    /// BRIN code (schools).
    pub brin: Option<BrinCode>,
    /// CBS gemeentecode (gemeenten).
    pub gemeentecode: Option<GemeenteCode>,
    /// Doorstroompuntregio (RMC region) code as DUO numbers them.
    pub doorstroompunt_regio: Option<String>,
    /// Arbeidsmarktregio code, e.g. `AM01`.
    pub arbeidsmarktregio: Option<String>,
    /// Whether it may still call the hub. A deactivated organisation is
    /// kept for the audit trail but every call is refused.
    pub active: bool,
    /// Its functions, sorted.
    pub functions: Vec<FunctionKind>,
}

/// What the operator gives to register an organisation.
#[derive(Debug, Clone)]
pub struct NewOrganisation {
    /// Its OIN.
    pub oin: Oin,
    /// Its kind.
    pub kind: OrgKind,
    /// Its name.
    pub name: String,
    /// BRIN code (schools).
    pub brin: Option<BrinCode>,
    /// CBS gemeentecode (gemeenten).
    pub gemeentecode: Option<GemeenteCode>,
    /// Doorstroompuntregio code.
    pub doorstroompunt_regio: Option<String>,
    /// Arbeidsmarktregio code.
    pub arbeidsmarktregio: Option<String>,
}

/// A change to an organisation; `None` leaves a value as it is.
#[derive(Debug, Clone, Default)]
pub struct OrganisationUpdate {
    /// New name.
    pub name: Option<String>,
    /// New BRIN code.
    pub brin: Option<BrinCode>,
    /// New gemeentecode.
    pub gemeentecode: Option<GemeenteCode>,
    /// New Doorstroompuntregio code.
    pub doorstroompunt_regio: Option<String>,
    /// New arbeidsmarktregio code.
    pub arbeidsmarktregio: Option<String>,
    /// Activate or deactivate.
    pub active: Option<bool>,
}

/// Filter for listing organisations; `None` means any.
#[derive(Debug, Clone, Default)]
pub struct OrgFilter {
    /// Only this kind.
    pub kind: Option<OrgKind>,
    /// Only this arbeidsmarktregio.
    pub arbeidsmarktregio: Option<String>,
    /// Only this Doorstroompuntregio.
    pub doorstroompunt_regio: Option<String>,
    /// Also deactivated organisations.
    pub include_inactive: bool,
}

/// An age X25519 recipient of one function, with its validity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientKey {
    /// Its id.
    pub key_id: Uuid,
    /// The organisation.
    pub oin: Oin,
    /// The function whose key this is.
    pub function: FunctionKind,
    /// The `age1…` recipient string.
    pub age_recipient: String,
    /// From when it may be used for sealing.
    pub valid_from: Timestamp,
    /// Until when it may be used; `None` is open-ended.
    pub valid_until: Option<Timestamp>,
    /// When it was revoked; a revoked key is never used again.
    pub revoked_at: Option<Timestamp>,
}

impl RecipientKey {
    /// Whether new transfers may be sealed to this key at `now`.
    pub fn usable_at(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.valid_from <= now && self.valid_until.is_none_or(|u| now < u)
    }
}

/// A client certificate bound to an organisation × function. The binding is
/// what turns a certificate's OIN into a caller with a function (DESIGN.md §1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateBinding {
    /// Lower-case hex SHA-256 of the certificate's DER encoding.
    pub sha256: String,
    /// The organisation (equals the certificate's subject serialNumber).
    pub oin: Oin,
    /// The function a caller with this certificate acts as.
    pub function: FunctionKind,
    /// The certificate's notAfter.
    pub not_after: Timestamp,
}
