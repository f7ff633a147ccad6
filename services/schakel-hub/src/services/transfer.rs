//! TransferService: the sender side. Submit runs the proportionality check
//! (schakel-policy, R1–R19), seals every allowed group to the recipient
//! function's keys and the sender function's keys (R12) and stores only
//! ciphertext and clear metadata (DESIGN.md §3).

use jiff::Timestamp;
use prost::Message;
use schakel_audit::{Action, Outcome};
use schakel_domain::{Consent, ConsentGiver, ConsentScope, ConsentStatus, FieldGroup, TransferState};
use schakel_policy::{Channel, ConsentRef, Decision, Facts, SealingKeys};
use schakel_proto::v1 as pb;
use schakel_proto::v1::transfer_service_server::TransferService;
use schakel_store::{ConsentFilter, ConsentRow, Idempotency, NewTransfer, Side, TransferFilter, TransferRow};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::HubState;
use super::exchange::{
    CaseFacts, MAX_PAGE, Names, ToSeal, caller_party, case_entry, current_keys, end_of_day, is_race,
    meta_group, page_size, party_of, refusal, require_user, resolve, seal_all, today, transfer_page,
};
use super::refuse::Attempt;
use crate::caller::Caller;
use crate::caller::RequestContext;
use crate::error::{HubError, Violation, Violations};
use crate::wire::{
    RequestNames, SubmitTransfer, function_from_pb, id_or_not_found, key_problem, parse_id, sealed_to_pb,
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
    pseudonym: Option<&str>,
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
        (Some(_), Some(c)) if pseudonym.is_some() && c.subject.as_deref() != pseudonym => {
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
        match self.0.store.transfer(id).await? {
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
        require_user(ctx)?;
        let state = &self.0;
        let now = Timestamp::now();
        let on = today(now)?;
        let fingerprint = state.pseudonymiser.fingerprint("submit", &r.encode_to_vec());
        // A retry returns the first answer, even if the world changed since.
        if key_problem(&r.idempotency_key).is_none()
            && let Some(answer) = self.replay(caller, &r.idempotency_key, &fingerprint).await?
        {
            return Ok(answer);
        }
        let mut v = Violations::default();
        let SubmitTransfer {
            idempotency_key,
            purpose: purpose_id,
            recipient,
            document: doc,
            subject,
            hardheidsclausule,
            consent_id,
            return_to_education,
            return_to_education_code,
            client_reference,
        } = SubmitTransfer::read(r, &mut v, on);
        let recipient = resolve(state, &mut v, "recipient", recipient).await?;
        let pseudonym = subject.bsn.as_ref().map(|b| state.pseudonymiser.pseudonym(b));
        // What the decision needs from the database, read once each: the
        // consent the request names (only the sender's own, R4) and the keys
        // of both functions (R9, R12).
        let NamedConsent {
            row: consent_row,
            consent,
            refused_by_youth_since,
        } = named_consent(state, caller, consent_id, pseudonym.as_deref()).await?;
        let recipient_keys = match &recipient {
            Some(r) => current_keys(state, &(r.party.oin().clone(), r.party.function()), now).await?,
            None => Vec::new(),
        };
        let own_keys = current_keys(state, &party_of(caller), now).await?;

        attempt.purpose.clone_from(&purpose_id);
        attempt.subject.clone_from(&pseudonym);
        attempt.consent_id = consent_row.as_ref().map(|c| c.consent_id);
        attempt.parties = recipient.iter().map(|p| p.party.oin().clone()).collect();
        // Decide when the facts allow, so the sender learns every problem at once.
        let decision = match (&purpose_id, &recipient, &subject.subject) {
            (Some(purpose_id), Some(recipient), Some(subject_facts)) => Some(super::exchange::decide(
                &Facts {
                    purpose: purpose_id.clone(),
                    channel: Channel::Transfer,
                    sender: caller_party(caller)?,
                    recipient: recipient.party.clone(),
                    region: recipient.doorstroompunt_regio.clone(),
                    subject: subject_facts.clone(),
                    consent,
                    refused_by_youth_since,
                    keys: SealingKeys {
                        recipient: !recipient_keys.is_empty(),
                        sender: !own_keys.is_empty(),
                    },
                    fields: doc.fields.clone(),
                    special_text: doc.special_text(&state.policy, on),
                    justifications: doc.justifications.clone(),
                    hardheidsclausule: hardheidsclausule.clone(),
                    open_expertise_request: false,
                    return_to_education,
                },
                &state.policy,
                on,
            )),
            _ => None,
        };
        let (
            Some(Decision::Allowed {
                groups,
                retention,
                hardheidsclausule_applied,
                seal_to_sender,
                ..
            }),
            Some(purpose_id),
            Some(recipient),
            Some(pseudonym),
            true,
        ) = (decision.clone(), purpose_id, recipient, pseudonym, v.is_empty())
        else {
            let refused = decision.as_ref().map_or(&[][..], Decision::violations);
            return Err(refusal(v, refused, &doc.index, &NAMES));
        };
        let recipient_key = (recipient.party.oin().clone(), recipient.party.function());
        let mut keys = recipient_keys;
        if seal_to_sender {
            keys.extend(own_keys);
        }

        // Every group present was allowed (else the decision refused); bind
        // each to the purpose the decision names.
        let allowed: std::collections::BTreeSet<FieldGroup> = groups.iter().map(|g| g.group).collect();
        let mut to_seal: Vec<ToSeal> = doc
            .groups
            .into_iter()
            .filter(|g| {
                g.group
                    .parse::<FieldGroup>()
                    .is_ok_and(|fg| allowed.contains(&fg))
            })
            .map(|plain| ToSeal {
                plain,
                purpose: purpose_id.clone(),
            })
            .collect();
        let mut meta: Vec<(String, String)> = doc
            .justifications
            .iter()
            .map(|(g, t)| (format!("necessity.{g}"), t.clone()))
            .collect();
        if hardheidsclausule_applied && let Some(text) = hardheidsclausule {
            meta.push(("hardheidsclausule".into(), text));
        }
        if !meta.is_empty() {
            to_seal.push(ToSeal {
                plain: meta_group("meta.justifications", meta),
                purpose: purpose_id.clone(),
            });
        }
        let group_names: Vec<String> = to_seal.iter().map(|g| g.plain.group.clone()).collect();
        let transfer_id = Uuid::now_v7();
        let sealed = seal_all(to_seal, keys, transfer_id, &recipient_key).await?;

        let row = TransferRow {
            transfer_id,
            sender: party_of(caller),
            recipient: recipient_key,
            purpose: purpose_id,
            subject: pseudonym,
            consent_id: consent_row.as_ref().map(|c| c.consent_id),
            policy_version: state.policy.version().to_owned(),
            hardheidsclausule: hardheidsclausule_applied,
            return_to_education: return_to_education_code.map(str::to_owned),
            client_reference,
            groups: group_names,
            state: TransferState::Submitted,
            submitted_at: now,
            retention_until: end_of_day(retention.until),
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
        };
        let entry = case_entry(
            ctx,
            caller,
            &state.policy,
            Action::TransferSubmitted,
            Outcome::Success,
            CaseFacts {
                purpose: Some(&row.purpose),
                subject: Some(&row.subject),
                transfer_id: Some(row.transfer_id),
                consent_id: row.consent_id,
                groups: row.groups.clone(),
                parties: vec![&row.recipient.0],
            },
        );
        let new = NewTransfer {
            row,
            idempotency: Idempotency {
                key: idempotency_key,
                fingerprint,
            },
            sealed,
        };
        match state.store.insert_transfer(&new, now, entry).await {
            Ok(()) => Ok(submit_answer(&new.row, false)),
            Err(e) if is_race(&e) => self
                .replay(caller, &new.idempotency.key, &fingerprint)
                .await?
                .ok_or(HubError::AlreadyExists("idempotency key")),
            Err(e) => Err(e.into()),
        }
    }
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
        let groups = self
            .0
            .store
            .transfer_groups(t.transfer_id)
            .await
            .map_err(HubError::from)?;
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
                transfer_id: Some(t.transfer_id),
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
            subject: Some("p".into()),
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
