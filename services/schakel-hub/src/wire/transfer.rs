//! TransferService requests as the hub reads them.

use jiff::civil::Date;
use schakel_domain::PurposeId;
use schakel_policy::ReturnToEducation;
use schakel_proto::v1 as pb;
use schakel_store::PartyKey;
use uuid::Uuid;

use super::check::{check_key, check_reference, parse_id};
use super::convert::{party_key, return_to_education_code, return_to_education_fact};
use super::document::{Document, SubjectIn, subject_facts, take_document};
use crate::error::Violations;

/// A Submit request, read: every field of `pb::SubmitRequest` by name
/// (a field added to the proto does not compile until it is read here),
/// each checked, every problem collected in the caller's [`Violations`] so
/// the sender learns them all at once with the policy's. A part that could
/// not be read is `None`.
pub struct SubmitTransfer {
    /// The sender's idempotency key (checked: printable, no BSN).
    pub idempotency_key: String,
    /// The purpose stated.
    pub purpose: Option<PurposeId>,
    /// The recipient named (whether it exists is the directory's to say).
    pub recipient: Option<PartyKey>,
    /// The document, taken out of the request into zeroizing plaintext.
    pub document: Document,
    /// The facts about the youth, checked against the document.
    pub subject: SubjectIn,
    /// Whether the request invokes the hardheidsclausule itself (the flag
    /// or a justification for it): a sender never may (R2).
    pub hardheidsclausule_invoked: bool,
    /// The consent named: `None` when none is (or the id is not a UUID,
    /// which is a violation already).
    pub consent_id: Option<Uuid>,
    /// The sender's judgement on return to initial education (R6).
    pub return_to_education: Option<ReturnToEducation>,
    /// That judgement as stored with the transfer.
    pub return_to_education_code: Option<&'static str>,
    /// The sender's own reference (checked: no personal data).
    pub client_reference: String,
}

impl SubmitTransfer {
    /// Reads `r`, judging dates against `on` (the decision date).
    pub fn read(r: pb::SubmitRequest, v: &mut Violations, on: Date) -> Self {
        let pb::SubmitRequest {
            idempotency_key,
            purpose,
            recipient,
            mut subject,
            mut groups,
            mut justifications,
            hardheidsclausule,
            hardheidsclausule_justification,
            consent_id,
            return_to_education,
            client_reference,
        } = r;
        check_key(v, "idempotency_key", &idempotency_key);
        let purpose = v.parse::<PurposeId>("purpose", &purpose);
        let recipient = party_key(v, "recipient", recipient.as_ref());
        let document = take_document(v, &mut groups, &mut justifications, &["identity"]);
        let subject = subject_facts(v, "subject", subject.as_mut(), &document, on);
        check_reference(v, "client_reference", &client_reference);
        let consent_id = match consent_id.as_str() {
            "" => None,
            text => parse_id(v, "consent_id", text),
        };
        v.known_enum::<pb::ReturnToEducation>("return_to_education", return_to_education);
        Self {
            idempotency_key,
            purpose,
            recipient,
            document,
            subject,
            // The justification's text is never read: the policy refuses the
            // request (R2), and nothing of it is kept.
            hardheidsclausule_invoked: hardheidsclausule || !hardheidsclausule_justification.is_empty(),
            consent_id,
            return_to_education: return_to_education_fact(return_to_education),
            return_to_education_code: return_to_education_code(return_to_education),
            client_reference,
        }
    }
}
