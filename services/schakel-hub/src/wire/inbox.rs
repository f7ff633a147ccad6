//! InboxService and WithdrawConsent requests as the hub reads them: every
//! field by name (a field added to the proto does not compile until it is
//! read here), format problems collected in the caller's [`Violations`].
//! Ids stay text: an id that is not a UUID cannot name anything the caller
//! may see, so the handler answers `NOT_FOUND` for it as for an unknown one.

use jiff::civil::Date;
use schakel_domain::{Bsn, CaseDecision, ConsentGiver, DeclineReason, PurposeId};
use schakel_proto::v1 as pb;

use super::check::{check_key, check_reference, check_text, parse_id};
use super::convert::{date_from_pb, decline_reason_from_pb, giver_from_pb};
use crate::error::Violations;

/// Longest decision reason text.
pub const MAX_REASON: usize = 2000;

/// A Fetch request, read.
pub struct FetchTransfer {
    /// The transfer asked for.
    pub transfer_id: String,
    /// The purpose the recipient declares it fetches for (R9).
    pub purpose: Option<PurposeId>,
}

impl FetchTransfer {
    /// Reads `r`.
    pub fn read(r: pb::FetchRequest, v: &mut Violations) -> Self {
        let pb::FetchRequest { transfer_id, purpose } = r;
        Self {
            transfer_id,
            purpose: v.parse::<PurposeId>("purpose", &purpose),
        }
    }
}

/// An Acknowledge request, read.
pub struct AcknowledgeReceipt {
    /// The transfer whose receipt is acknowledged.
    pub transfer_id: String,
    /// The recipient's own case reference (checked: no personal data).
    pub case_reference: Option<String>,
}

impl AcknowledgeReceipt {
    /// Reads `r`.
    pub fn read(r: pb::AcknowledgeRequest, v: &mut Violations) -> Self {
        let pb::AcknowledgeRequest {
            transfer_id,
            case_reference,
        } = r;
        check_reference(v, "case_reference", &case_reference);
        Self {
            transfer_id,
            case_reference: (!case_reference.is_empty()).then_some(case_reference),
        }
    }
}

/// An AcknowledgeWithdrawal request, read.
pub struct AcknowledgeNotice {
    /// The withdrawal notice.
    pub notice_id: String,
    /// Whether the recipient deleted its local copies.
    pub confirmed_deletion: bool,
}

impl AcknowledgeNotice {
    /// Reads `r`.
    pub fn read(r: pb::AcknowledgeWithdrawalRequest) -> Self {
        let pb::AcknowledgeWithdrawalRequest {
            notice_id,
            confirmed_deletion,
        } = r;
        Self {
            notice_id,
            confirmed_deletion,
        }
    }
}

/// A Decide request, read.
pub struct DecideTransfer {
    /// The transfer decided on.
    pub transfer_id: String,
    /// Accept or decline (`None`: a violation already).
    pub decision: Option<CaseDecision>,
    /// Why it declines; `None` for an acceptance.
    pub reason: Option<DeclineReason>,
    /// The recipient's own words, sealed to both sides (`meta.decision`).
    pub reason_text: String,
}

impl DecideTransfer {
    /// Reads `r`.
    pub fn read(r: pb::DecideRequest, v: &mut Violations) -> Self {
        let pb::DecideRequest {
            transfer_id,
            decision,
            reason,
            reason_text,
        } = r;
        let decision = match pb::DecisionKind::try_from(decision) {
            Ok(pb::DecisionKind::Accept) => Some(CaseDecision::Accept),
            Ok(pb::DecisionKind::Decline) => Some(CaseDecision::Decline),
            _ => {
                v.format("decision", "must be ACCEPT or DECLINE");
                None
            }
        };
        let reason = pb::DeclineReason::try_from(reason)
            .ok()
            .and_then(decline_reason_from_pb);
        let declining = decision == Some(CaseDecision::Decline);
        if declining && reason.is_none() {
            v.format("reason", "a decline needs a reason code");
        }
        check_text(v, "reason_text", &reason_text, MAX_REASON);
        Self {
            transfer_id,
            decision,
            reason: if declining { reason } else { None },
            reason_text,
        }
    }
}

/// A WithdrawConsent request, read.
pub struct WithdrawConsent {
    /// The consent withdrawn.
    pub consent_id: String,
    /// Who withdraws it (`None` when not said: refused once the consent is
    /// found to be one that can be withdrawn).
    pub withdrawn_by: Option<ConsentGiver>,
}

impl WithdrawConsent {
    /// Reads `r`.
    pub fn read(r: pb::WithdrawConsentRequest) -> Self {
        let pb::WithdrawConsentRequest {
            consent_id,
            withdrawn_by,
        } = r;
        Self {
            consent_id,
            withdrawn_by: giver_from_pb(withdrawn_by),
        }
    }
}

/// What a hardheidsclausule decision says the gemeente already does for the
/// youth.
pub enum Support {
    /// A transfer it accepted (an id that is not a UUID names none).
    AcceptedTransfer(Option<uuid::Uuid>),
    /// Its own case reference (checked: bounded, no BSN).
    CaseReference(String),
}

/// A DecideHardheidsclausule request, read. Whether the gemeente may decide
/// this, for this youth and period, is the policy's
/// (`schakel_policy::decide_hardheidsclausule`).
pub struct DecideHardheidsclausule {
    /// The gemeente's idempotency key.
    pub idempotency_key: String,
    /// The youth's BSN (for the pseudonym only).
    pub bsn: Option<Bsn>,
    /// The youth's date of birth.
    pub date_of_birth: Option<Date>,
    /// What the gemeente already does for the youth.
    pub support: Option<Support>,
    /// The written justification (sealed).
    pub justification: String,
    /// First day (today when not given).
    pub valid_from: Date,
    /// Last day.
    pub valid_until: Option<Date>,
}

impl DecideHardheidsclausule {
    /// Reads `r`, with `on` as the default first day.
    pub fn read(r: pb::DecideHardheidsclausuleRequest, v: &mut Violations, on: Date) -> Self {
        let pb::DecideHardheidsclausuleRequest {
            idempotency_key,
            bsn,
            date_of_birth,
            support,
            justification,
            valid_from,
            valid_until,
        } = r;
        check_key(v, "idempotency_key", &idempotency_key);
        let bsn = if bsn.is_empty() {
            v.format("bsn", "the BSN of the youth is required");
            None
        } else {
            v.parse::<Bsn>("bsn", &bsn)
        };
        if date_of_birth.is_none() {
            v.format("date_of_birth", "the date of birth is required");
        }
        let date_of_birth = date_from_pb(v, "date_of_birth", date_of_birth.as_ref());
        let support = match support {
            Some(pb::decide_hardheidsclausule_request::Support::AcceptedTransferId(id)) => {
                let id = parse_id(v, "accepted_transfer_id", &id);
                Some(Support::AcceptedTransfer(id))
            }
            Some(pb::decide_hardheidsclausule_request::Support::CaseReference(r)) => {
                check_reference(v, "case_reference", &r);
                if r.trim().is_empty() {
                    v.format("case_reference", "must not be empty");
                }
                Some(Support::CaseReference(r))
            }
            None => None,
        };
        check_text(v, "justification", &justification, MAX_REASON);
        let valid_from = date_from_pb(v, "valid_from", valid_from.as_ref()).unwrap_or(on);
        if valid_until.is_none() {
            v.format(
                "valid_until",
                "the decision holds for a period: give its last day",
            );
        }
        let valid_until = date_from_pb(v, "valid_until", valid_until.as_ref());
        Self {
            idempotency_key,
            bsn,
            date_of_birth,
            support,
            justification,
            valid_from,
            valid_until,
        }
    }
}
