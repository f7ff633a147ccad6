//! ConsentService: the youth's (or a parent's/guardian's) consent for a
//! transfer, its refusal (R13) and its withdrawal with propagation to the
//! transfers resting on it (R4, issue 4 item 5).

use jiff::Timestamp;
use prost::Message;
use schakel_audit::{Action, Outcome};
use schakel_domain::{Bsn, ConsentStatus, PurposeId, TransferEvent, TransferState};
use schakel_proto::v1 as pb;
use schakel_proto::v1::consent_service_server::ConsentService;
use schakel_store::{ConsentFilter, ConsentRow, Idempotency, TransferChange, Transition};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::HubState;
use super::exchange::{
    CaseFacts, TRANSITION_ATTEMPTS, case_entry, is_race, page_size, paginate, party_of, read_page_token,
    require_user, resolve, today,
};
use super::pipeline::CaseWrite;
use super::refuse::Attempt;
use crate::caller::Caller;
use crate::caller::RequestContext;
use crate::error::{HubError, Violation, Violations};
use crate::wire::{
    RecordConsent, WithdrawConsent, date_to_pb, function_from_pb, giver_to_pb, id_or_not_found, method_to_pb,
    party_to_pb, ts_from_pb, ts_to_pb,
};
use schakel_policy::{ConsentToRecord, RuleId, decide_consent_record};

/// The ConsentService handlers.
#[derive(Debug, Clone)]
pub struct ConsentApi(pub HubState);

/// A stored consent as the API shows it; a given consent past its last
/// valid day shows as EXPIRED.
fn consent_to_pb(c: &ConsentRow, on: jiff::civil::Date) -> pb::Consent {
    let status = match c.status {
        ConsentStatus::Given if c.valid_until.is_some_and(|u| u < on) => pb::ConsentStatus::Expired,
        ConsentStatus::Given => pb::ConsentStatus::Given,
        ConsentStatus::Refused => pb::ConsentStatus::Refused,
        ConsentStatus::Withdrawn => pb::ConsentStatus::Withdrawn,
    };
    pb::Consent {
        consent_id: c.consent_id.to_string(),
        status: status as i32,
        giver: giver_to_pb(c.giver) as i32,
        scope: Some(pb::ConsentScope {
            purpose: c.purpose.as_str().to_owned(),
            recipient: Some(party_to_pb(&c.recipient)),
            groups: c.groups.iter().map(|g| g.as_str().to_owned()).collect(),
        }),
        method: method_to_pb(c.method) as i32,
        valid_from: Some(date_to_pb(c.valid_from)),
        valid_until: c.valid_until.map(date_to_pb),
        recorded_by: Some(party_to_pb(&c.recorder)),
        recorded_by_user_id: c.recorded_by_user.clone(),
        recorded_at: Some(ts_to_pb(c.recorded_at)),
        withdrawn_at: c.withdrawn_at.map(ts_to_pb),
        withdrawn_by: c
            .withdrawn_by
            .map(giver_to_pb)
            .unwrap_or(pb::ConsentGiver::Unspecified) as i32,
        client_reference: c.client_reference.clone(),
        policy_version: c.policy_version.clone(),
    }
}

impl ConsentApi {
    /// The consent `id` if the caller recorded it; otherwise NOT_FOUND, the
    /// same answer as for an id that does not exist.
    async fn own_consent(&self, caller: &Caller, id: &str) -> Result<ConsentRow, HubError> {
        let id = id_or_not_found(id, "consent")?;
        match self.0.store.consent(id).await? {
            Some(c) if c.recorder == party_of(caller) => Ok(c),
            _ => Err(HubError::NotFound("consent")),
        }
    }

    /// Replays the consent first recorded under `key`, if any: the same
    /// request answers as before; another request is a conflict.
    async fn replay(
        &self,
        caller: &Caller,
        key: &str,
        fingerprint: &[u8; 32],
        on: jiff::civil::Date,
    ) -> Result<Option<pb::RecordConsentResponse>, HubError> {
        match self.0.store.consent_by_key(&party_of(caller), key).await? {
            Some((c, idem)) if idem.fingerprint == *fingerprint => Ok(Some(pb::RecordConsentResponse {
                consent: Some(consent_to_pb(&c, on)),
                replayed: true,
            })),
            Some(_) => Err(HubError::AlreadyExists(
                "idempotency key (used for a different request)",
            )),
            None => Ok(None),
        }
    }

    async fn record(
        &self,
        caller: &Caller,
        ctx: &RequestContext,
        r: pb::RecordConsentRequest,
        attempt: &mut Attempt,
    ) -> Result<pb::RecordConsentResponse, HubError> {
        let state = &self.0;
        let w = CaseWrite::begin(state, caller, ctx, "consent", &r)?;
        let on = w.on;
        if CaseWrite::retry(&r.idempotency_key)
            && let Some(answer) = self
                .replay(caller, &r.idempotency_key, &w.fingerprint, on)
                .await?
        {
            return Ok(answer);
        }
        let mut v = Violations::default();
        let read = RecordConsent::read(r, &mut v, on);
        let given = read.status == Some(ConsentStatus::Given);
        let recipient = resolve(state, &mut v, "scope.recipient", read.recipient.clone()).await?;
        // R1, R4, R9, R12, R13: whether this giver may say this, for this
        // purpose, recipient and groups, is the policy's to decide (a
        // decision of its own: a consent is not a case write's `Facts`).
        if let (Some(purpose), Some(status)) = (&read.purpose, read.status) {
            let record = ConsentToRecord {
                purpose: purpose.clone(),
                status,
                giver: read.giver,
                recipient: recipient.as_ref().map(|r| r.party.clone()),
                groups: read.groups.iter().map(|(_, g)| *g).collect(),
                date_of_birth: read.date_of_birth,
                on: read.valid_from,
            };
            for violation in decide_consent_record(&record, &state.policy) {
                v.rule(
                    read.request_path(&violation.field_path),
                    violation.rule,
                    violation.message,
                );
            }
        }
        let RecordConsent {
            idempotency_key,
            status,
            bsn,
            giver,
            method,
            purpose: purpose_id,
            groups,
            valid_from,
            valid_until,
            client_reference,
            ..
        } = read;
        attempt.purpose.clone_from(&purpose_id);
        attempt.subject = bsn.as_ref().map(|b| state.pseudonymiser.pseudonym(b));
        attempt.parties = recipient.iter().map(|p| p.party.oin().clone()).collect();
        v.finish()?;
        let (Some(status), Some(giver), Some(method), Some(purpose_id), Some(recipient)) =
            (status, giver, method, purpose_id, recipient)
        else {
            return Err(HubError::Internal);
        };
        let subject = bsn.as_ref().map(|b| state.pseudonymiser.pseudonym(b));
        let row = ConsentRow {
            consent_id: Uuid::now_v7(),
            recorder: w.party(),
            subject,
            status,
            giver,
            method,
            purpose: purpose_id,
            recipient: (recipient.party.oin().clone(), recipient.party.function()),
            groups: groups.iter().map(|(_, g)| *g).collect(),
            valid_from,
            valid_until,
            recorded_at: w.now,
            recorded_by_user: ctx.user_id.clone().unwrap_or_default(),
            withdrawn_at: None,
            withdrawn_by: None,
            client_reference,
            policy_version: state.policy.version().to_owned(),
        };
        let action = if given {
            Action::ConsentRecorded
        } else {
            Action::ConsentRefused
        };
        let entry = w.entry(
            action,
            CaseFacts {
                purpose: Some(&row.purpose),
                subject: row.subject.as_ref(),
                consent_id: Some(row.consent_id),
                groups: row.groups.iter().map(|g| g.as_str().to_owned()).collect(),
                parties: vec![&row.recipient.0],
                ..CaseFacts::default()
            },
        );
        let idem = Idempotency {
            key: idempotency_key,
            fingerprint: w.fingerprint,
        };
        w.commit(
            state.store.insert_consent(&row, &idem, w.now, entry),
            async || {
                Ok(pb::RecordConsentResponse {
                    consent: Some(consent_to_pb(&row, on)),
                    replayed: false,
                })
            },
            // Another call with the same key stored first.
            async || {
                self.replay(caller, &idem.key, &w.fingerprint, on)
                    .await?
                    .ok_or(HubError::AlreadyExists("idempotency key"))
            },
        )
        .await
    }

    async fn withdraw(
        &self,
        caller: &Caller,
        ctx: &RequestContext,
        r: pb::WithdrawConsentRequest,
        attempt: &mut Attempt,
    ) -> Result<pb::WithdrawConsentResponse, HubError> {
        require_user(ctx)?;
        let WithdrawConsent {
            consent_id,
            withdrawn_by: by,
        } = WithdrawConsent::read(r);
        let state = &self.0;
        for _ in 0..TRANSITION_ATTEMPTS {
            let now = Timestamp::now();
            let on = today(now)?;
            let consent = self.own_consent(caller, &consent_id).await?;
            attempt.purpose = Some(consent.purpose.clone());
            attempt.subject.clone_from(&consent.subject);
            attempt.consent_id = Some(consent.consent_id);
            attempt.parties = vec![consent.recipient.0.clone()];
            let transfers = state.store.transfers_of_consent(consent.consent_id).await?;
            match consent.status {
                // Idempotent: report what the withdrawal did.
                ConsentStatus::Withdrawn => {
                    return Ok(withdrawal_answer(&consent, &transfers, on));
                }
                ConsentStatus::Refused => {
                    return Err(HubError::Precondition(vec![Violation::rule(
                        "consent_id",
                        RuleId::R4,
                        "the consent was refused; there is nothing to withdraw",
                    )]));
                }
                ConsentStatus::Given if consent.valid_until.is_some_and(|u| u < on) => {
                    return Err(HubError::Precondition(vec![Violation::rule(
                        "consent_id",
                        RuleId::R4,
                        "the consent has expired; there is nothing to withdraw",
                    )]));
                }
                ConsentStatus::Given => {}
            }
            let Some(by) = by else {
                let mut v = Violations::default();
                v.format("withdrawn_by", "say who withdraws the consent");
                return Err(v.finish().unwrap_err());
            };
            // R4: what was not fetched is never delivered; what was fetched
            // gets a withdrawal notice the recipient must acknowledge.
            let transitions: Vec<Transition> = transfers
                .iter()
                .filter_map(|t| {
                    let to = t.state.apply(TransferEvent::Withdraw).ok()?;
                    Some(Transition {
                        transfer_id: t.transfer_id,
                        from: t.state,
                        to,
                        change: TransferChange {
                            withdrawn_at: Some(now),
                            notice_id: (to == TransferState::WithdrawalNotified).then(Uuid::now_v7),
                            ..TransferChange::default()
                        },
                    })
                })
                .collect();
            let entry = case_entry(
                ctx,
                caller,
                &state.policy,
                Action::ConsentWithdrawn,
                Outcome::Success,
                CaseFacts {
                    purpose: Some(&consent.purpose),
                    subject: consent.subject.as_ref(),
                    consent_id: Some(consent.consent_id),
                    parties: std::iter::once(&consent.recipient.0)
                        .chain(transfers.iter().map(|t| &t.recipient.0))
                        .collect(),
                    ..CaseFacts::default()
                },
            );
            // Each transfer's own entry, so its record shows the withdrawal.
            let transfer_entries = transfers
                .iter()
                .filter(|t| transitions.iter().any(|x| x.transfer_id == t.transfer_id))
                .map(|t| {
                    case_entry(
                        ctx,
                        caller,
                        &state.policy,
                        Action::TransferWithdrawn,
                        Outcome::Success,
                        CaseFacts {
                            purpose: Some(&t.purpose),
                            subject: Some(&t.subject),
                            transfer_id: Some(t.transfer_id.uuid()),
                            consent_id: Some(consent.consent_id),
                            parties: vec![&t.recipient.0],
                            ..CaseFacts::default()
                        },
                    )
                })
                .collect();
            match state
                .store
                .withdraw_consent(consent.consent_id, now, by, &transitions, transfer_entries, entry)
                .await
            {
                Ok(()) => {
                    let consent = self.own_consent(caller, &consent_id).await?;
                    let transfers = state.store.transfers_of_consent(consent.consent_id).await?;
                    return Ok(withdrawal_answer(&consent, &transfers, on));
                }
                Err(e) if is_race(&e) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(HubError::Unavailable)
    }
}

/// The answer of a withdrawal: the consent and what happened to each transfer.
fn withdrawal_answer(
    consent: &ConsentRow,
    transfers: &[schakel_store::TransferRow],
    on: jiff::civil::Date,
) -> pb::WithdrawConsentResponse {
    pb::WithdrawConsentResponse {
        consent: Some(consent_to_pb(consent, on)),
        transfers: transfers
            .iter()
            .filter(|t| t.withdrawn_at.is_some())
            .map(|t| pb::WithdrawnTransfer {
                transfer_id: t.transfer_id.to_string(),
                effect: if t.notice_id.is_some() {
                    pb::WithdrawalEffect::NoticeSent
                } else {
                    pb::WithdrawalEffect::DeliveryStopped
                } as i32,
            })
            .collect(),
    }
}

#[tonic::async_trait]
impl ConsentService for ConsentApi {
    async fn record_consent(
        &self,
        req: Request<pb::RecordConsentRequest>,
    ) -> Result<Response<pb::RecordConsentResponse>, Status> {
        let (caller, ctx) = Caller::with_context(&req)?;
        let mut attempt = Attempt::new(Action::ConsentRecorded);
        let answer = self.record(&caller, &ctx, req.into_inner(), &mut attempt).await;
        Ok(Response::new(
            attempt.settle(&self.0, &caller, &ctx, answer).await?,
        ))
    }

    async fn withdraw_consent(
        &self,
        req: Request<pb::WithdrawConsentRequest>,
    ) -> Result<Response<pb::WithdrawConsentResponse>, Status> {
        let (caller, ctx) = Caller::with_context(&req)?;
        let mut attempt = Attempt::new(Action::ConsentWithdrawn);
        let answer = self.withdraw(&caller, &ctx, req.into_inner(), &mut attempt).await;
        Ok(Response::new(
            attempt.settle(&self.0, &caller, &ctx, answer).await?,
        ))
    }

    async fn get_consent(
        &self,
        req: Request<pb::GetConsentRequest>,
    ) -> Result<Response<pb::GetConsentResponse>, Status> {
        let (caller, ctx) = Caller::with_context(&req)?;
        require_user(&ctx)?;
        let c = self.own_consent(&caller, &req.get_ref().consent_id).await?;
        let now = Timestamp::now();
        let entry = case_entry(
            &ctx,
            &caller,
            &self.0.policy,
            Action::ConsentViewed,
            Outcome::Success,
            CaseFacts {
                purpose: Some(&c.purpose),
                subject: c.subject.as_ref(),
                consent_id: Some(c.consent_id),
                ..CaseFacts::default()
            },
        );
        self.0
            .store
            .append_audit(entry, now)
            .await
            .map_err(HubError::from)?;
        Ok(Response::new(pb::GetConsentResponse {
            consent: Some(consent_to_pb(&c, today(now)?)),
        }))
    }

    async fn list_consents(
        &self,
        req: Request<pb::ListConsentsRequest>,
    ) -> Result<Response<pb::ListConsentsResponse>, Status> {
        let (caller, ctx) = Caller::with_context(&req)?;
        require_user(&ctx)?;
        let mut r = req.into_inner();
        let state = &self.0;
        let now = Timestamp::now();
        let mut v = Violations::default();
        let subject = if r.bsn.is_empty() {
            None
        } else {
            v.parse::<Bsn>("bsn", &r.bsn)
                .map(|b| state.pseudonymiser.pseudonym(&b))
        };
        let purpose = if r.purpose.is_empty() {
            None
        } else {
            v.parse::<PurposeId>("purpose", &r.purpose)
        };
        let status = match pb::ConsentStatus::try_from(r.status) {
            Ok(pb::ConsentStatus::Unspecified) => None,
            Ok(pb::ConsentStatus::Given | pb::ConsentStatus::Expired) => Some(ConsentStatus::Given),
            Ok(pb::ConsentStatus::Refused) => Some(ConsentStatus::Refused),
            Ok(pb::ConsentStatus::Withdrawn) => Some(ConsentStatus::Withdrawn),
            Err(_) => {
                v.format("status", "unknown consent status");
                None
            }
        };
        let (recipient_oin, recipient_function) = match &r.recipient {
            Some(p) => (v.parse("recipient.oin", &p.oin), function_from_pb(p.function)),
            None => (None, None),
        };
        let filter = ConsentFilter {
            subject,
            purpose,
            status,
            recipient_oin,
            recipient_function,
            recorded_after: r.recorded_after.as_ref().and_then(ts_from_pb),
            recorded_before: r.recorded_before.as_ref().and_then(ts_from_pb),
        };
        // The token binds the filters (the BSN only through its pseudonym).
        let token = std::mem::take(&mut r.page_token);
        let size = page_size(r.page_size);
        r.bsn = filter
            .subject
            .as_ref()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default();
        r.page_size = 0;
        let filters = r.encode_to_vec();
        let before = read_page_token(state, &mut v, &token, &filters);
        v.finish()?;
        let rows = state
            .store
            .list_consents(&party_of(&caller), &filter, before, size + 1)
            .await
            .map_err(HubError::from)?;
        if filter.subject.is_some() {
            // Looking a youth up is a processing action of its own.
            let entry = case_entry(
                &ctx,
                &caller,
                &state.policy,
                Action::ConsentViewed,
                Outcome::Success,
                CaseFacts {
                    purpose: filter.purpose.as_ref(),
                    subject: filter.subject.as_ref(),
                    ..CaseFacts::default()
                },
            );
            state
                .store
                .append_audit(entry, now)
                .await
                .map_err(HubError::from)?;
        }
        let on = today(now)?;
        let (rows, next) = paginate(state, rows, size, |c| c.consent_id, &filters);
        Ok(Response::new(pb::ListConsentsResponse {
            consents: rows.iter().map(|c| consent_to_pb(c, on)).collect(),
            next_page_token: next,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use schakel_domain::ConsentGiver;

    #[test]
    fn a_given_consent_past_its_last_day_shows_as_expired() {
        let c = ConsentRow {
            consent_id: Uuid::now_v7(),
            recorder: (
                "00000003999990001000".parse().unwrap(),
                schakel_domain::FunctionKind::School,
            ),
            subject: None,
            status: ConsentStatus::Given,
            giver: ConsentGiver::Youth,
            method: schakel_domain::ConsentMethod::Written,
            purpose: PurposeId::HANDOVER_SCHOOL_TO_GEMEENTE.parse().unwrap(),
            recipient: (
                "00000001999990014000".parse().unwrap(),
                schakel_domain::FunctionKind::Participatiewet,
            ),
            groups: std::collections::BTreeSet::new(),
            valid_from: jiff::civil::date(2026, 2, 1),
            valid_until: Some(jiff::civil::date(2026, 3, 1)),
            recorded_at: Timestamp::UNIX_EPOCH,
            recorded_by_user: "u".into(),
            withdrawn_at: None,
            withdrawn_by: None,
            client_reference: String::new(),
            policy_version: "v".into(),
        };
        assert_eq!(
            consent_to_pb(&c, jiff::civil::date(2026, 3, 1)).status,
            pb::ConsentStatus::Given as i32
        );
        assert_eq!(
            consent_to_pb(&c, jiff::civil::date(2026, 3, 2)).status,
            pb::ConsentStatus::Expired as i32
        );
    }
}
