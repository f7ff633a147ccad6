//! ExpertiseService requests as the hub reads them (R7).

use jiff::civil::Date;
use schakel_proto::v1 as pb;
use schakel_store::PartyKey;

use super::check::{check_key, check_reference, check_text};
use super::convert::party_key;
use super::document::{Document, SubjectIn, subject_facts, take_document};
use crate::error::Violations;
use crate::limits::MAX_TEXT;

/// A RequestExpertise request, read: every field by name (a field added to
/// the proto does not compile until it is read here), every problem in the
/// caller's [`Violations`].
pub struct AskExpertise {
    /// The gemeente's idempotency key.
    pub idempotency_key: String,
    /// The Doorstroompunt asked (whether it exists is the directory's to say).
    pub doorstroompunt: Option<PartyKey>,
    /// The document, taken out of the request into zeroizing plaintext.
    pub document: Document,
    /// The facts about the youth, checked against the document.
    pub subject: SubjectIn,
    /// The question (sealed to the Doorstroompunt).
    pub question: String,
    /// The gemeente's own reference.
    pub client_reference: String,
}

impl AskExpertise {
    /// Reads `r`, judging dates against `on`.
    pub fn read(r: pb::RequestExpertiseRequest, v: &mut Violations, on: Date) -> Self {
        let pb::RequestExpertiseRequest {
            idempotency_key,
            doorstroompunt,
            mut subject,
            mut groups,
            question,
            client_reference,
        } = r;
        check_key(v, "idempotency_key", &idempotency_key);
        let doorstroompunt = party_key(v, "doorstroompunt", doorstroompunt.as_ref());
        let document = take_document(v, &mut groups, &mut [], &["identity"]);
        let subject = subject_facts(v, "subject", subject.as_mut(), &document, on);
        if question.trim().is_empty() {
            v.format("question", "ask a question");
        }
        check_text(v, "question", &question, MAX_TEXT);
        check_reference(v, "client_reference", &client_reference);
        Self {
            idempotency_key,
            doorstroompunt,
            document,
            subject,
            question,
            client_reference,
        }
    }
}

/// A GiveAdvice request, read: every field by name, every problem in the
/// caller's [`Violations`].
pub struct Advise {
    /// The Doorstroompunt's idempotency key.
    pub idempotency_key: String,
    /// The request answered, as sent (an unknown or malformed id is answered
    /// `NOT_FOUND` by the use case).
    pub request_id: String,
    /// The outcome's stored code.
    pub outcome: Option<&'static str>,
    /// The advice text (sealed).
    pub advice_text: String,
    /// Any Doorstroompunt data attached (R8: each group justified).
    pub document: Document,
}

impl Advise {
    /// Reads `r`.
    pub fn read(r: pb::GiveAdviceRequest, v: &mut Violations) -> Self {
        let pb::GiveAdviceRequest {
            idempotency_key,
            request_id,
            outcome,
            advice_text,
            mut groups,
            mut justifications,
        } = r;
        check_key(v, "idempotency_key", &idempotency_key);
        let outcome = outcome_code(outcome);
        if outcome.is_none() {
            v.format("outcome", "say whether return to education is possible (R7)");
        }
        check_text(v, "advice_text", &advice_text, MAX_TEXT);
        let document = take_document(v, &mut groups, &mut justifications, &[]);
        Self {
            idempotency_key,
            request_id,
            outcome,
            advice_text,
            document,
        }
    }
}

/// Proto advice outcome → the code stored with the advice (R7).
pub fn outcome_code(v: i32) -> Option<&'static str> {
    match pb::AdviceOutcome::try_from(v).ok()? {
        pb::AdviceOutcome::Unspecified => None,
        pb::AdviceOutcome::ReturnPossible => Some("return_possible"),
        pb::AdviceOutcome::ReturnNotPossible => Some("return_not_possible"),
        pb::AdviceOutcome::DoorstroompuntTakesOver => Some("doorstroompunt_takes_over"),
    }
}

/// A stored advice outcome code → proto.
pub fn outcome_pb(code: Option<&str>) -> pb::AdviceOutcome {
    match code {
        Some("return_possible") => pb::AdviceOutcome::ReturnPossible,
        Some("return_not_possible") => pb::AdviceOutcome::ReturnNotPossible,
        Some("doorstroompunt_takes_over") => pb::AdviceOutcome::DoorstroompuntTakesOver,
        _ => pb::AdviceOutcome::Unspecified,
    }
}
