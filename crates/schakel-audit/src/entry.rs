//! The audit entry: one processing action on one data subject.
//!
//! The shape follows the Dutch *Logboek Dataverwerkingen* standard so entries can
//! be linked across organisations: a processing activity (purpose and policy
//! version), the W3C trace context (`trace_id`/`span_id`) of the request, the actor
//! and the data subject as a pseudonym. Mapping to that standard's attributes:
//!
//! | here | Logboek Dataverwerkingen |
//! |---|---|
//! | `trace.trace_id`, `trace.span_id` | `trace_id`, `span_id` |
//! | `time_ms` | `start_time` (and `end_time`: an entry is instantaneous) |
//! | `outcome` | `status_code` (`OK` for success, `ERROR` otherwise) |
//! | `activity.purpose` | `dpl.core.processing_activity_id` |
//! | `subject` | `dpl.core.data_subject_id` (type: pseudonym) |
//! | `actor.user_id` | `dpl.core.user_id` |
//! | `action` | `name` of the operation |

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{AuditError, Result};
use crate::row::RowCommitment;

/// One audit log entry.
///
/// **What an entry never holds**: a BSN (only the [`subject`](Entry::subject)
/// pseudonym, an HMAC of it under a hub secret), a person's name, or any document
/// content. Every free-text field is bounded and single-line; identifiers are
/// checked for their format when the entry is encoded, so a value that does not
/// fit (a BSN pasted where an OIN belongs fails the 20-digit rule) is refused
/// before it reaches the log.
///
/// The store persists [`Entry::encode`]'s bytes, not this struct, and hashes
/// those bytes into the Merkle tree ([`crate::leaf_hash`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Sequence number: the entry's 0-based leaf index in the log.
    pub seq: u64,
    /// When the action happened, in milliseconds since the Unix epoch (UTC).
    pub time_ms: u64,
    /// Who acted.
    pub actor: Actor,
    /// What was done.
    pub action: Action,
    /// How it ended.
    pub outcome: Outcome,
    /// The processing activity (purpose and policy version), when the action
    /// serves one; an authentication failure has none.
    pub activity: Option<ProcessingActivity>,
    /// The legal basis as text, e.g. `Participatiewet art. 7a`.
    pub legal_basis: Option<String>,
    /// Pseudonym of the data subject (hex of HMAC-SHA256 of the BSN under a hub
    /// secret). Opaque here; never the BSN itself.
    pub subject: Option<String>,
    /// The transfer the action concerns.
    pub transfer_id: Option<Uuid>,
    /// The consent record the action relied on or changed.
    pub consent_id: Option<Uuid>,
    /// Data groups touched, sorted and without duplicates.
    pub groups: Vec<String>,
    /// OINs of the other organisations party to the action, sorted and without
    /// duplicates. A privacy officer sees an entry when their organisation is the
    /// actor or one of these.
    pub parties: Vec<String>,
    /// W3C trace context of the request that caused the action.
    pub trace: TraceContext,
    /// The rows the action wrote, as it left them, sorted by table and id
    /// without duplicates; empty for an action that writes none. See
    /// [`RowCommitment`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rows: Vec<RowCommitment>,
    /// How many attempts this entry stands for, when it summarises refused
    /// calls of one peer or organisation for one reason (at least 2; absent:
    /// one). Repeated refusals are counted, not each written, so a flood
    /// cannot fill the permanent log (issue 15).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u64>,
    /// The legal exceptions the action relied on, sorted and without
    /// duplicates: [`FLAG_HARDHEIDSCLAUSULE`] when data flowed for a youth of
    /// 27 or older under the gemeente's own decision (Participatiewet art. 7a
    /// lid 7, R2). Empty for an ordinary action.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    /// Keyed fingerprints of the necessity justifications the action sealed
    /// (R8), sorted and without duplicates: 32 lowercase hex digits each, a
    /// MAC under a hub secret of the text with its case and spacing
    /// normalised — never the text. One sender's same mark on entries about
    /// several youths is the same justification reused, which the law's
    /// per-case assessment rules out (the anomaly report shows it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub justification_marks: Vec<String>,
}

/// The flag of an action that relied on the gemeente's hardheidsclausule
/// decision (Participatiewet art. 7a lid 7, R2): the decision itself, and
/// every transfer for a youth of 27 or older it let through.
pub const FLAG_HARDHEIDSCLAUSULE: &str = "hardheidsclausule";

/// Who performed an action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// OIN (20 digits) of the acting organisation; absent only when it could not
    /// be established (an authentication failure without a client certificate).
    pub oin: Option<String>,
    /// The organisation's function acting, e.g. `doorstroompunt` or
    /// `participatiewet` (one organisation has several, R9).
    pub function: Option<String>,
    /// The end-user id the calling system passed in request metadata. An
    /// identifier, not a name.
    pub user_id: Option<String>,
    /// The end-user's role as the calling system passed it.
    pub user_role: Option<String>,
    /// The OIN of the gemeente the organisation acted for, when it carried
    /// out that gemeente's task under a mandate the operator recorded (R9):
    /// the action is the gemeente's, and its privacy officer sees it (the
    /// OIN is among the entry's parties too). Absent for an organisation
    /// acting for itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acting_for: Option<String>,
}

/// The purpose an action served: a processing activity of the register of
/// processing activities, at the policy version that was applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessingActivity {
    /// Processing-activity (purpose) id.
    pub purpose: String,
    /// Version of the policy the hub applied.
    pub policy_version: String,
}

/// How an action ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// The action was carried out.
    Success,
    /// The action was refused by policy; the ids of the violated rules (`R4`, …),
    /// sorted and without duplicates.
    Refused {
        /// Violated rule ids.
        rules: Vec<String>,
    },
    /// The action failed for a technical reason.
    Error {
        /// A short machine code (`storage_unavailable`), never free text.
        code: String,
    },
}

/// W3C trace context of a request: a 16-byte trace id and an 8-byte span id,
/// shown as 32 and 16 lowercase hex digits. Neither may be all zeros.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TraceContext {
    /// Trace id.
    pub trace_id: TraceId,
    /// Span id.
    pub span_id: SpanId,
}

macro_rules! hex_id {
    ($(#[$doc:meta])* $name:ident, $len:literal, $field:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name([u8; $len]);

        impl $name {
            /// Wraps raw bytes; fails when they are all zero (invalid in W3C trace context).
            pub fn from_bytes(bytes: [u8; $len]) -> Result<Self> {
                if bytes == [0; $len] {
                    return Err(AuditError::InvalidField { field: $field, reason: "all zeros" });
                }
                Ok(Self(bytes))
            }

            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = AuditError;

            /// Parses exactly the lowercase hex form.
            fn from_str(s: &str) -> Result<Self> {
                let bad = AuditError::InvalidField { field: $field, reason: "not lowercase hex of the right length" };
                if s.len() != 2 * $len || s.bytes().any(|b| b.is_ascii_uppercase()) {
                    return Err(bad);
                }
                let mut bytes = [0u8; $len];
                hex::decode_to_slice(s, &mut bytes).map_err(|_| bad)?;
                Self::from_bytes(bytes)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&hex::encode(self.0))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self)
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

hex_id!(
    /// OpenTelemetry / W3C trace id: 16 bytes, 32 lowercase hex digits.
    TraceId, 16, "trace.trace_id"
);
hex_id!(
    /// OpenTelemetry / W3C span id: 8 bytes, 16 lowercase hex digits.
    SpanId, 8, "trace.span_id"
);

macro_rules! actions {
    ($($(#[$doc:meta])* $variant:ident = $text:literal,)*) => {
        /// What was done. Each action has a stable text form (`consent_recorded`),
        /// which is what the canonical encoding stores, so variants can be added
        /// without changing the encoding. A name this version does not know
        /// decodes as [`Action::Other`], so an older verifier still reads a newer log.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Action {
            $($(#[$doc])* $variant,)*
            /// An action this version does not know by name.
            Other(OtherAction),
        }

        impl Action {
            /// Every action this version knows, in declaration order.
            pub const KNOWN: &'static [Action] = &[$(Action::$variant,)*];

            /// The stable text form.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Action::$variant => $text,)*
                    Action::Other(other) => &other.0,
                }
            }

            fn known(text: &str) -> Option<Self> {
                match text {
                    $($text => Some(Action::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

actions! {
    /// The youth (or a parent) gave consent (R4).
    ConsentRecorded = "consent_recorded",
    /// The youth refused consent; recorded without content (R13).
    ConsentRefused = "consent_refused",
    /// Consent was withdrawn.
    ConsentWithdrawn = "consent_withdrawn",
    /// A transfer resting on a withdrawn consent: not delivered, or its
    /// recipient told to delete it (R4); one entry per transfer, with its id.
    TransferWithdrawn = "transfer_withdrawn",
    /// A sender submitted a transfer.
    TransferSubmitted = "transfer_submitted",
    /// A submitted transfer was refused by policy.
    TransferRefused = "transfer_refused",
    /// A receiver fetched a transfer.
    TransferFetched = "transfer_fetched",
    /// A sender fetched its own sealed copy of a transfer (R12).
    SentCopyFetched = "sent_copy_fetched",
    /// A sender looked up a consent record.
    ConsentViewed = "consent_viewed",
    /// A receiver acknowledged receipt.
    TransferAcknowledged = "transfer_acknowledged",
    /// A receiver decided on a transfer (accepted or declined).
    TransferDecided = "transfer_decided",
    /// A receiver acknowledged a consent-withdrawal notice.
    WithdrawalNoticeAcknowledged = "withdrawal_notice_acknowledged",
    /// A gemeente asked the Doorstroompunt for expertise (R7).
    ExpertiseRequested = "expertise_requested",
    /// The Doorstroompunt fetched an expertise request's sealed content (R7).
    ExpertiseFetched = "expertise_fetched",
    /// The requester fetched the Doorstroompunt's advice (R7).
    AdviceFetched = "advice_fetched",
    /// The Doorstroompunt gave its advice (R7).
    ExpertiseAdvised = "expertise_advised",
    /// The gemeente's Participatiewet function decided to apply the
    /// hardheidsclausule to a youth it supports (art. 7a lid 7, R2).
    HardheidsclausuleDecided = "hardheidsclausule_decided",
    /// The operator recorded a gemeente's mandate of a task to another
    /// organisation (R9).
    MandateRecorded = "mandate_recorded",
    /// The operator ended a mandate before its last day (R9).
    MandateEnded = "mandate_ended",
    /// Content was removed at the end of its retention period (R15).
    Purge = "purge",
    /// An administrator changed configuration or policy.
    AdminChange = "admin_change",
    /// A privacy officer queried the audit log.
    AuditQuery = "audit_query",
    /// A privacy officer exported audit entries.
    AuditExport = "audit_export",
    /// A privacy officer produced a subject access or anomaly report.
    AuditReport = "audit_report",
    /// A privacy officer read the necessity justifications of a transfer
    /// (R8), sealed to its keys.
    JustificationsRead = "justifications_read",
    /// A regional partner read its region's numbers for a period (R17);
    /// the region and period are the entry's groups (`region:03`,
    /// `period:2026/27`).
    RegionalNumbersRead = "regional_numbers_read",
    /// A caller could not be authenticated.
    AuthenticationFailed = "authentication_failed",
    /// An authenticated caller was not allowed the action.
    AuthorisationFailed = "authorisation_failed",
    /// An identified caller asked for a record that does not exist or is not
    /// its own (`NOT_FOUND`); repeated ones are counted (`attempts`).
    LookupNotFound = "lookup_not_found",
}

/// The name of an action this version of the crate does not know. Only
/// [`Action::from_str`] makes one, so a known name is never wrapped here and the
/// text form stays unambiguous.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OtherAction(String);

impl FromStr for Action {
    type Err = AuditError;

    /// Parses the text form: a known name, or any other `snake_case` name
    /// (ASCII lowercase letters, digits and `_`, starting with a letter, at most 64).
    fn from_str(s: &str) -> Result<Self> {
        if let Some(known) = Action::known(s) {
            return Ok(known);
        }
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.as_bytes()[0].is_ascii_lowercase()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !ok {
            return Err(AuditError::InvalidField {
                field: "action",
                reason: "not a snake_case action name",
            });
        }
        Ok(Action::Other(OtherAction(s.to_owned())))
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Action {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Action {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

// ---- field rules, shared by encoding and decoding ----

/// Longest token (function, role, rule id, group, purpose, …), in bytes.
pub(crate) const MAX_TOKEN: usize = 128;
/// Longest free text (legal basis, end-user id), in bytes.
pub(crate) const MAX_TEXT: usize = 512;
/// Most items in a list (groups, parties, rule ids).
pub(crate) const MAX_ITEMS: usize = 256;

/// An OIN: exactly 20 ASCII digits.
pub(crate) fn check_oin(field: &'static str, s: &str) -> Result<()> {
    if s.len() == 20 && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(AuditError::InvalidField {
            field,
            reason: "not an OIN of 20 digits",
        })
    }
}

/// A token: 1..=128 printable ASCII characters without spaces.
pub(crate) fn check_token(field: &'static str, s: &str) -> Result<()> {
    if !s.is_empty() && s.len() <= MAX_TOKEN && s.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(AuditError::InvalidField {
            field,
            reason: "not a token of 1 to 128 printable ASCII characters",
        })
    }
}

/// Single-line text: 1..=512 bytes of UTF-8 without control characters.
pub(crate) fn check_text(field: &'static str, s: &str) -> Result<()> {
    // The ASCII test first: it is the common case and much faster than decoding chars.
    let no_control = if s.is_ascii() {
        s.bytes().all(|b| b >= 0x20 && b != 0x7f)
    } else {
        !s.chars().any(char::is_control)
    };
    if !s.is_empty() && s.len() <= MAX_TEXT && no_control {
        Ok(())
    } else {
        Err(AuditError::InvalidField {
            field,
            reason: "not single-line text of 1 to 512 bytes",
        })
    }
}

/// Strictly increasing, which makes a list a canonical set.
pub(crate) fn check_sorted_unique(field: &'static str, prev: Option<&str>, next: &str) -> Result<()> {
    match prev {
        Some(p) if p >= next => Err(AuditError::InvalidField {
            field,
            reason: "not sorted without duplicates",
        }),
        _ => Ok(()),
    }
}
