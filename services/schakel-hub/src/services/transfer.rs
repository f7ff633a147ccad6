//! TransferService: the sender side. Submit runs the proportionality check
//! (schakel-policy, R1–R19), seals every allowed group to the recipient
//! function's keys and the sender function's keys (R12) and stores only
//! ciphertext and clear metadata (DESIGN.md §3).

use jiff::Timestamp;
use prost::Message;
use schakel_audit::{Action, Outcome};
use std::collections::BTreeSet;

use schakel_domain::{
    Consent, ConsentGiver, ConsentScope, ConsentStatus, FieldGroup, Pseudonym, PurposeId, TransferId,
    TransferState,
};
use schakel_policy::{Channel, ConsentRef, Facts};
use schakel_proto::v1 as pb;
use schakel_proto::v1::transfer_service_server::TransferService;
use schakel_store::{ConsentFilter, ConsentRow, Idempotency, NewTransfer, Side, TransferFilter, TransferRow};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::HubState;
use super::exchange::{
    CaseFacts, MAX_PAGE, Names, ToSeal, case_entry, end_of_day, mark_hardheidsclausule, meta_group,
    own_key_ids, page_size, party_of, require_user, resolve, transfer_page,
};
use super::mandate;
use super::pipeline::{Allowed, CaseWrite};
use super::refuse::Attempt;
use crate::caller::Caller;
use crate::caller::RequestContext;
use crate::error::{HubError, Violation, Violations};
use crate::wire::{
    Document, RequestNames, SubmitTransfer, function_from_pb, id_or_not_found, parse_id, sealed_to_pb,
    states_from_pb, ts_from_pb,
};
use schakel_policy::RuleId;

/// What Submit calls the subject and the recipient.
const NAMES: RequestNames = RequestNames {
    subject: "subject",
    recipient: "recipient",
    sender_copy: "purpose",
};

/// The TransferService handlers.
#[derive(Debug, Clone)]
pub struct TransferApi(pub HubState);

/// The consent record as the policy sees it (R4, R13).
pub fn domain_consent(c: &ConsentRow) -> Result<Consent, HubError> {
    // A stored row that does not form a consent was written by something
    // other than this hub: the answer is DATA_LOSS, never a refusal that
    // would blame the sender (R4).
    let corrupt = |_| {
        tracing::error!(consent_id = %c.consent_id, "a stored consent does not form a valid consent");
        HubError::DataLoss(format!(
            "stored consent {} does not form a valid consent",
            c.consent_id
        ))
    };
    let scope = ConsentScope {
        purpose: c.purpose.clone(),
        recipient_oin: c.recipient.0.clone(),
        recipient_function: c.recipient.1,
        groups: c.groups.clone(),
        explicit_special_fields: Default::default(),
    };
    let by = c.recorded_by_user.clone();
    match c.status {
        ConsentStatus::Refused => {
            Consent::refused(c.giver, scope, c.method, by, c.valid_from).map_err(corrupt)
        }
        ConsentStatus::Given => {
            Consent::given(c.giver, scope, c.method, by, c.valid_from, c.valid_until).map_err(corrupt)
        }
        ConsentStatus::Withdrawn => {
            let mut consent =
                Consent::given(c.giver, scope, c.method, by, c.valid_from, c.valid_until).map_err(corrupt)?;
            let on = c
                .withdrawn_at
                .and_then(|t| schakel_domain::dates::amsterdam_date(t).ok())
                .unwrap_or(c.valid_from);
            consent.withdraw(on.max(c.valid_from)).map_err(corrupt)?;
            Ok(consent)
        }
    }
}

/// The consent a Submit names, as the decision needs it (R4, R13).
struct NamedConsent {
    /// The stored consent, when the sender recorded one with that id.
    row: Option<ConsentRow>,
    /// What the policy is told.
    consent: ConsentRef,
    /// Whether the youth's own refusal was recorded after it.
    refused_by_youth_since: bool,
}

/// Reads the consent `id` (only the sender's own: another's answers like
/// an unknown id) and the youth's later refusal, if any: one read each.
async fn named_consent(
    state: &HubState,
    caller: &Caller,
    id: Option<Uuid>,
    pseudonym: Option<&Pseudonym>,
) -> Result<NamedConsent, HubError> {
    let row = match id {
        Some(id) => state
            .store
            .consent(id)
            .await?
            .filter(|c| c.recorder == party_of(caller)),
        None => None,
    };
    let consent = match (id, &row) {
        // None named, or not a UUID (a form problem already found).
        (None, _) => ConsentRef::Absent,
        (Some(_), None) => ConsentRef::Unknown,
        (Some(_), Some(c)) if pseudonym.is_some() && c.subject.as_ref() != pseudonym => {
            ConsentRef::OtherYouth
        }
        (Some(_), Some(c)) => ConsentRef::Recorded(domain_consent(c)?),
    };
    // The youth's own refusal, recorded by the sender after that consent for
    // the same purpose and recipient.
    let refused_by_youth_since = match (&consent, &row) {
        (ConsentRef::Recorded(_), Some(c)) if c.subject.is_some() => {
            let filter = ConsentFilter {
                subject: c.subject.clone(),
                purpose: Some(c.purpose.clone()),
                status: Some(ConsentStatus::Refused),
                recipient_oin: Some(c.recipient.0.clone()),
                recipient_function: Some(c.recipient.1),
                recorded_after: Some(c.recorded_at),
                recorded_before: None,
            };
            state
                .store
                .list_consents(&party_of(caller), &filter, None, MAX_PAGE)
                .await?
                .iter()
                // Later in recording order: the time (stored to the
                // millisecond), then the id (UUID v7, ordered by creation
                // within a hub).
                .any(|r| {
                    r.giver == ConsentGiver::Youth
                        && (r.recorded_at, r.consent_id) > (c.recorded_at, c.consent_id)
                })
        }
        _ => false,
    };
    Ok(NamedConsent {
        row,
        consent,
        refused_by_youth_since,
    })
}

fn submit_answer(t: &TransferRow, replayed: bool) -> pb::SubmitResponse {
    pb::SubmitResponse {
        transfer_id: t.transfer_id.to_string(),
        state: crate::wire::state_to_pb(t.state) as i32,
        policy_version: t.policy_version.clone(),
        accepted_groups: t.groups.clone(),
        submitted_at: Some(crate::wire::ts_to_pb(t.submitted_at)),
        replayed,
        retention_until: Some(crate::wire::ts_to_pb(t.retention_until)),
    }
}

impl TransferApi {
    /// The transfer `id` if the caller sent it; otherwise NOT_FOUND, the same
    /// answer as for an id that does not exist (DESIGN.md §7 property 5).
    async fn own_transfer(&self, caller: &Caller, id: &str) -> Result<TransferRow, HubError> {
        let id = id_or_not_found(id, "transfer")?;
        match self.0.store.transfer(id.into()).await? {
            Some(t) if t.sender == party_of(caller) => Ok(t),
            _ => Err(HubError::NotFound("transfer")),
        }
    }

    async fn replay(
        &self,
        caller: &Caller,
        key: &str,
        fp: &[u8; 32],
    ) -> Result<Option<pb::SubmitResponse>, HubError> {
        match self.0.store.transfer_by_key(&party_of(caller), key).await? {
            Some((t, idem)) if idem.fingerprint == *fp => Ok(Some(submit_answer(&t, true))),
            Some(_) => Err(HubError::AlreadyExists(
                "idempotency key (used for a different request)",
            )),
            None => Ok(None),
        }
    }

    async fn submit(
        &self,
        caller: &Caller,
        ctx: &RequestContext,
        r: pb::SubmitRequest,
        attempt: &mut Attempt,
    ) -> Result<pb::SubmitResponse, HubError> {
        let state = &self.0;
        let w = CaseWrite::begin(state, caller, ctx, "submit", &r)?;
        if CaseWrite::retry(&r.idempotency_key)
            && let Some(answer) = self.replay(caller, &r.idempotency_key, &w.fingerprint).await?
        {
            return Ok(answer);
        }
        let mut v = Violations::default();
        let read = SubmitTransfer::read(r, &mut v, w.on);
        // What the decision needs, read once each: the recipient, the
        // consent the request names (only the sender's own, R4) and the keys
        // of both functions (R9, R12).
        let recipient = resolve(state, &mut v, "recipient", read.recipient.clone()).await?;
        let addressed = recipient.as_ref().map(|r| r.party.key());
        // R9: while a mandate holds, the addressed gemeente's task is carried
        // out by the mandated organisation's function: sealed to its keys and
        // delivered into its inbox, acting for the gemeente.
        let mandate = match &addressed {
            Some(to) => mandate::delivery(state, to, w.on).await?,
            None => None,
        };
        let recipient_key = mandate.as_ref().map(|m| m.mandated.clone()).or(addressed.clone());
        let pseudonym = read
            .subject
            .bsn
            .as_ref()
            .map(|b| state.pseudonymiser.pseudonym(b));
        let named = named_consent(state, caller, read.consent_id, pseudonym.as_ref()).await?;
        let keys = w.keys(recipient_key.as_ref()).await?;
        // R2: past 27 only while the receiving function's own
        // hardheidsclausule decision holds for this youth.
        let hardheidsclausule = match (&recipient_key, &pseudonym) {
            (Some(to), Some(youth)) => state.store.hardheidsclausule_in_force(to, youth, w.on).await?,
            _ => None,
        };
        attempt.purpose.clone_from(&read.purpose);
        attempt.subject.clone_from(&pseudonym);
        attempt.consent_id = named.row.as_ref().map(|c| c.consent_id);
        attempt.parties = recipient_key
            .iter()
            .chain(&addressed)
            .map(|k| k.0.clone())
            .collect();
        // Decide when the facts allow, so the sender learns every problem at once.
        let facts = match (&read.purpose, &recipient, &read.subject.subject) {
            (Some(purpose), Some(recipient), Some(subject)) => Some(Facts {
                purpose: purpose.clone(),
                channel: Channel::Transfer,
                sender: caller.party.clone(),
                recipient: recipient.party.clone(),
                region: recipient.doorstroompunt_regio.clone(),
                subject: subject.clone(),
                consent: named.consent,
                refused_by_youth_since: named.refused_by_youth_since,
                keys: keys.facts(),
                fields: read.document.fields.clone(),
                special_text: read.document.special_text(&state.policy, w.on),
                justifications: read.document.justifications.clone(),
                justified_fields: read.document.justified_fields.clone(),
                hardheidsclausule_invoked: read.hardheidsclausule_invoked,
                hardheidsclausule_decision: hardheidsclausule.is_some(),
                open_expertise_request: false,
                return_to_education: read.return_to_education,
            }),
            _ => None,
        };
        let allowed = w.decide(facts, v, &read.document.index, &NAMES)?;
        let SubmitTransfer {
            idempotency_key,
            purpose: Some(purpose),
            document,
            return_to_education_code,
            client_reference,
            ..
        } = read
        else {
            return Err(HubError::Internal);
        };
        let (Some(recipient_key), Some(pseudonym)) = (recipient_key, pseudonym) else {
            return Err(HubError::Internal);
        };
        let transfer_id = TransferId::generate();
        let marks = justification_marks(state, &document);
        let justifications = justification_unit(&document, &purpose);
        let content = submission_content(document, &allowed, &purpose);
        let (groups, sealed) = w
            .seal(
                content,
                justifications,
                keys,
                &allowed,
                transfer_id.uuid(),
                &recipient_key,
                mandate.as_ref().map(|m| &m.mandating.0),
            )
            .await?;
        let row = TransferRow {
            transfer_id,
            sender: w.party(),
            recipient: recipient_key,
            purpose,
            subject: pseudonym,
            consent_id: named.row.as_ref().map(|c| c.consent_id),
            policy_version: state.policy.version().to_owned(),
            hardheidsclausule: allowed.hardheidsclausule_applied,
            return_to_education: return_to_education_code.map(str::to_owned),
            client_reference,
            groups,
            state: TransferState::Submitted,
            submitted_at: w.now,
            retention_until: end_of_day(allowed.retention.until),
            first_fetched_at: None,
            acknowledged_at: None,
            case_reference: None,
            decision: None,
            decline_reason: None,
            decided_at: None,
            decided_by_role: None,
            withdrawn_at: None,
            notice_id: None,
            notice_acknowledged_at: None,
            notice_confirmed_deletion: false,
            purged_at: None,
            mandate_id: mandate.as_ref().map(|m| m.mandate_id),
        };
        let mut entry = w.entry(
            Action::TransferSubmitted,
            CaseFacts {
                purpose: Some(&row.purpose),
                subject: Some(&row.subject),
                transfer_id: Some(row.transfer_id.uuid()),
                consent_id: row.consent_id,
                groups: row.groups.clone(),
                parties: addressed.iter().map(|a| &a.0).chain([&row.recipient.0]).collect(),
            },
        );
        if allowed.hardheidsclausule_applied {
            mark_hardheidsclausule(&mut entry);
        }
        entry.justification_marks = marks;
        let new = NewTransfer {
            row,
            idempotency: Idempotency {
                key: idempotency_key,
                fingerprint: w.fingerprint,
            },
            sealed,
        };
        w.commit(
            state.store.insert_transfer(&new, w.now, entry),
            async || Ok(submit_answer(&new.row, false)),
            // Another call with the same key stored first.
            async || {
                self.replay(caller, &new.idempotency.key, &w.fingerprint)
                    .await?
                    .ok_or(HubError::AlreadyExists("idempotency key"))
            },
        )
        .await
    }
}

/// Keyed marks of the necessity justifications (R8) a submission seals:
/// the first 128 bits of a MAC under the hub's secret of each text with its
/// case, punctuation and spacing normalised, so a privacy officer can see one
/// text reused for several youths (the law asks an assessment per case)
/// without the log holding, or allowing a guess at, the text.
fn justification_marks(state: &HubState, document: &Document) -> Vec<String> {
    let marks: BTreeSet<String> = document
        .justifications
        .values()
        .map(|text| {
            let words = schakel_policy::normalise_words(text);
            hex::encode(&state.pseudonymiser.fingerprint("justification", words.as_bytes())[..16])
        })
        .collect();
    marks.into_iter().collect()
}

/// The sender's necessity justifications (R8) as `meta.justifications`,
/// bound to the purpose; sealed apart from the document
/// ([`CaseWrite::seal`]).
pub(super) fn justification_unit(document: &Document, purpose: &PurposeId) -> Option<ToSeal> {
    let meta = document.justification_fields();
    (!meta.is_empty()).then(|| ToSeal {
        plain: meta_group("meta.justifications", meta),
        purpose: purpose.clone(),
    })
}

/// What a submission seals besides the justifications: every group the
/// decision allowed (a group it did not allow refused the request), bound to
/// the transfer's purpose.
fn submission_content(document: Document, allowed: &Allowed, purpose: &PurposeId) -> Vec<ToSeal> {
    let allowed_groups: BTreeSet<FieldGroup> = allowed.groups.iter().map(|g| g.group).collect();
    let bound = |plain| ToSeal {
        plain,
        purpose: purpose.clone(),
    };
    document
        .groups
        .into_iter()
        .filter(|g| {
            g.group
                .parse::<FieldGroup>()
                .is_ok_and(|fg| allowed_groups.contains(&fg))
        })
        .map(bound)
        .collect()
}

/// The sealed decision text of a transfer, if any.
pub fn decision_text(groups: &[schakel_store::SealedRow]) -> Option<pb::SealedGroup> {
    groups.iter().find(|g| g.holds("meta.decision")).map(sealed_to_pb)
}

#[tonic::async_trait]
impl TransferService for TransferApi {
    async fn submit(&self, req: Request<pb::SubmitRequest>) -> Result<Response<pb::SubmitResponse>, Status> {
        let (caller, ctx) = Caller::with_context(&req)?;
        let mut attempt = Attempt::new(Action::TransferRefused);
        let answer = self.submit(&caller, &ctx, req.into_inner(), &mut attempt).await;
        Ok(Response::new(
            attempt.settle(&self.0, &caller, &ctx, answer).await?,
        ))
    }

    async fn get_sent(
        &self,
        req: Request<pb::GetSentRequest>,
    ) -> Result<Response<pb::GetSentResponse>, Status> {
        let (caller, ctx) = Caller::with_context(&req)?;
        require_user(&ctx)?;
        let t = self.own_transfer(&caller, &req.get_ref().transfer_id).await?;
        let text = decision_text(
            &self
                .0
                .store
                .transfer_groups(t.transfer_id)
                .await
                .map_err(HubError::from)?,
        );
        let transfer = Names::default().transfer(&self.0, &t, text).await?;
        Ok(Response::new(pb::GetSentResponse {
            transfer: Some(transfer),
            client_reference: t.client_reference,
        }))
    }

    async fn list_sent(
        &self,
        req: Request<pb::ListSentRequest>,
    ) -> Result<Response<pb::ListSentResponse>, Status> {
        let (caller, ctx) = Caller::with_context(&req)?;
        require_user(&ctx)?;
        let mut r = req.into_inner();
        let state = &self.0;
        let mut v = Violations::default();
        let filter = TransferFilter {
            states: states_from_pb(&mut v, "states", &r.states),
            purpose: (!r.purpose.is_empty())
                .then(|| v.parse("purpose", &r.purpose))
                .flatten(),
            counterpart_oin: r
                .recipient
                .as_ref()
                .and_then(|p| v.parse("recipient.oin", &p.oin)),
            counterpart_function: r.recipient.as_ref().and_then(|p| function_from_pb(p.function)),
            submitted_after: r.submitted_after.as_ref().and_then(ts_from_pb),
            submitted_before: r.submitted_before.as_ref().and_then(ts_from_pb),
            consent_id: (!r.consent_id.is_empty())
                .then(|| parse_id(&mut v, "consent_id", &r.consent_id))
                .flatten(),
            open_notices_only: r.open_withdrawal_notices_only,
            mandates: None,
        };
        let token = std::mem::take(&mut r.page_token);
        let size = page_size(r.page_size);
        r.page_size = 0;
        let filters = r.encode_to_vec();
        let (transfers, next) = transfer_page(
            state,
            &party_of(&caller),
            Side::Sender,
            &filter,
            v,
            (&token, size),
            &filters,
        )
        .await?;
        Ok(Response::new(pb::ListSentResponse {
            transfers,
            next_page_token: next,
        }))
    }

    async fn fetch_sent_copy(
        &self,
        req: Request<pb::FetchSentCopyRequest>,
    ) -> Result<Response<pb::FetchSentCopyResponse>, Status> {
        let (caller, ctx) = Caller::with_context(&req)?;
        require_user(&ctx)?;
        let t = self.own_transfer(&caller, &req.get_ref().transfer_id).await?;
        if t.state == TransferState::Purged {
            return Err(HubError::Precondition(vec![Violation::rule(
                "transfer_id",
                RuleId::R15,
                "the content was removed at the end of its retention period",
            )])
            .into());
        }
        // Only what was sealed to the sender's own keys: a purpose that seals
        // to the recipient only (the take-over to the Doorstroompunt, R7)
        // leaves the sender no copy, not even ciphertext.
        let own_keys = own_key_ids(&self.0, &caller).await?;
        let groups: Vec<_> = self
            .0
            .store
            .transfer_groups(t.transfer_id)
            .await
            .map_err(HubError::from)?
            .into_iter()
            .filter(|g| g.key_ids.iter().any(|k| own_keys.contains(k)))
            .collect();
        let now = Timestamp::now();
        let entry = case_entry(
            &ctx,
            &caller,
            &self.0.policy,
            Action::SentCopyFetched,
            Outcome::Success,
            CaseFacts {
                purpose: Some(&t.purpose),
                subject: Some(&t.subject),
                transfer_id: Some(t.transfer_id.uuid()),
                consent_id: t.consent_id,
                groups: groups.iter().flat_map(|g| g.groups.iter().cloned()).collect(),
                parties: vec![&t.recipient.0],
            },
        );
        self.0
            .store
            .append_audit(entry, now)
            .await
            .map_err(HubError::from)?;
        let text = decision_text(&groups);
        Ok(Response::new(pb::FetchSentCopyResponse {
            transfer: Some(Names::default().transfer(&self.0, &t, text).await?),
            groups: groups.iter().map(sealed_to_pb).collect(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;
    use schakel_domain::{ConsentMethod, FunctionKind, PurposeId};

    use super::*;

    fn row(status: ConsentStatus, valid_until: Option<jiff::civil::Date>) -> ConsentRow {
        let oin: schakel_domain::Oin = "00000001999990014000".parse().unwrap();
        ConsentRow {
            consent_id: Uuid::now_v7(),
            recorder: (oin.clone(), FunctionKind::School),
            subject: Some(Pseudonym::from_mac([1; 32])),
            status,
            giver: ConsentGiver::Youth,
            method: ConsentMethod::Digital,
            purpose: PurposeId::HANDOVER_SCHOOL_TO_GEMEENTE.parse().unwrap(),
            recipient: (oin, FunctionKind::Participatiewet),
            groups: [FieldGroup::Identity].into(),
            valid_from: date(2026, 3, 1),
            valid_until,
            recorded_at: Timestamp::UNIX_EPOCH,
            recorded_by_user: "u".into(),
            withdrawn_at: None,
            withdrawn_by: None,
            client_reference: String::new(),
            policy_version: "v".into(),
        }
    }

    #[test]
    fn a_stored_consent_that_is_no_consent_is_data_loss_not_a_refusal() {
        assert!(domain_consent(&row(ConsentStatus::Given, Some(date(2026, 9, 1)))).is_ok());
        // Valid until before it was valid from: no consent the hub would record.
        let broken = row(ConsentStatus::Given, Some(date(2026, 1, 1)));
        match domain_consent(&broken) {
            Err(HubError::DataLoss(why)) => {
                assert!(why.contains(&broken.consent_id.to_string()), "{why}");
            }
            other => panic!("{other:?}"),
        }
    }
}
