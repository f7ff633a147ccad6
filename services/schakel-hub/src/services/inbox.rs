//! InboxService: the receiver side. A gemeente function lists what is
//! addressed to it, fetches for a declared purpose (only groups bound to that
//! purpose and sealed to its own keys, R8/R9), acknowledges, decides, and
//! handles withdrawal notices (R4).

use jiff::Timestamp;
use prost::Message;
use schakel_audit::{Action, Outcome};
use schakel_domain::{TransferEvent, TransferState};
use schakel_proto::v1 as pb;
use schakel_proto::v1::inbox_service_server::InboxService;
use schakel_store::{PartyKey, SealedRow, Side, TransferChange, TransferFilter, TransferRow, Transition};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::HubState;
use super::exchange::{
    CaseFacts, Names, TRANSITION_ATTEMPTS, ToSeal, case_entry, current_keys, is_race, meta_group,
    own_key_ids, page_size, paginate, party_of, read_page_token, require_user, seal_all, transfer_page,
};
use super::mandate;
use super::refuse::Attempt;
use super::transfer::decision_text;
use crate::caller::Caller;
use crate::caller::RequestContext;
use crate::error::{HubError, Violation, Violations};
use crate::wire::{
    AcknowledgeNotice, AcknowledgeReceipt, DecideTransfer, FetchTransfer, function_from_pb, id_or_not_found,
    party_to_pb, sealed_to_pb, states_from_pb, ts_from_pb, ts_to_pb,
};
use schakel_policy::RuleId;

/// The InboxService handlers.
#[derive(Debug, Clone)]
pub struct InboxApi(pub HubState);

fn precondition(violation: Violation) -> HubError {
    HubError::Precondition(vec![violation])
}

/// Why content can no longer be delivered, if it cannot.
fn undeliverable(t: &TransferRow) -> Option<HubError> {
    match t.state {
        s if s.may_fetch() => None,
        TransferState::Withdrawn => Some(precondition(Violation::rule(
            "transfer_id",
            RuleId::R4,
            "the consent was withdrawn before delivery; the transfer will not be delivered",
        ))),
        TransferState::WithdrawalNotified | TransferState::WithdrawalAcknowledged => {
            Some(precondition(Violation::rule(
                "transfer_id",
                RuleId::R4,
                "the consent was withdrawn; see the withdrawal notice",
            )))
        }
        TransferState::Purged => Some(precondition(Violation::rule(
            "transfer_id",
            RuleId::R15,
            "the content was removed at the end of its retention period",
        ))),
        _ => Some(precondition(Violation::state(
            "transfer_id",
            "the transfer was declined; it is no longer delivered",
        ))),
    }
}

fn notice_to_pb(t: &TransferRow) -> pb::WithdrawalNotice {
    pb::WithdrawalNotice {
        notice_id: t.notice_id.map(|n| n.to_string()).unwrap_or_default(),
        transfer_id: t.transfer_id.to_string(),
        consent_id: t.consent_id.map(|c| c.to_string()).unwrap_or_default(),
        purpose: t.purpose.as_str().to_owned(),
        sender: Some(party_to_pb(&t.sender)),
        withdrawn_at: t.withdrawn_at.map(ts_to_pb),
        acknowledged_at: t.notice_acknowledged_at.map(ts_to_pb),
        confirmed_deletion: t.notice_confirmed_deletion,
    }
}

/// Whether a call on a transfer delivered under a mandate needs the mandate
/// to hold (R9).
#[derive(Debug, Clone, Copy)]
enum MandateCheck {
    /// Acting for the gemeente: only while the mandate holds.
    InForce,
    /// Owed for what the organisation holds, mandate or not (acknowledging a
    /// withdrawal notice; re-reading after a change already allowed).
    Owed,
}

/// What a state change does, given the transfer as read.
enum Step {
    /// Nothing to change: answer with the transfer as it is (idempotent).
    Done,
    /// Apply this transition with these sealed extras and this audit entry.
    Apply(Box<(Transition, Vec<SealedRow>, schakel_audit::Entry)>),
}

impl InboxApi {
    /// The transfer `id` if it is addressed to the caller's function;
    /// otherwise NOT_FOUND, exactly as for an id that does not exist
    /// (DESIGN.md §7 property 5).
    ///
    /// A transfer delivered under a mandate is acted on for the mandating
    /// gemeente (its function is returned with the row), and only while the
    /// mandate holds (R9) unless `mandate` says the call is owed regardless.
    async fn own_transfer(
        &self,
        caller: &Caller,
        id: Uuid,
        mandate: MandateCheck,
    ) -> Result<(TransferRow, Option<PartyKey>), HubError> {
        match self.0.store.transfer(id.into()).await? {
            Some(t) if t.recipient == party_of(caller) => {
                let enforce = matches!(mandate, MandateCheck::InForce);
                let acting = mandate::acting_for(&self.0, caller, &t, "transfer_id", enforce).await?;
                Ok((t, acting))
            }
            _ => Err(HubError::NotFound("transfer")),
        }
    }

    /// Reads the transfer, lets `step` decide, applies the transition with
    /// its audit entry; re-reads and retries when another request changed
    /// the transfer in between. Answers with the transfer after the change.
    async fn transition<F, Fut>(
        &self,
        caller: &Caller,
        id: &str,
        attempt: &mut Attempt,
        mandate_check: MandateCheck,
        step: F,
    ) -> Result<TransferRow, HubError>
    where
        F: Fn(TransferRow) -> Fut,
        Fut: std::future::Future<Output = Result<Step, HubError>>,
    {
        let id = id_or_not_found(id, "transfer")?;
        for _ in 0..TRANSITION_ATTEMPTS {
            let (t, acting) = self.own_transfer(caller, id, mandate_check).await?;
            attempt.transfer(&t);
            match step(t.clone()).await? {
                Step::Done => return Ok(t),
                Step::Apply(apply) => {
                    let (transition, extra, mut entry) = *apply;
                    if let Some(gemeente) = &acting {
                        mandate::mark_acting_for(&mut entry, gemeente);
                    }
                    match self
                        .0
                        .store
                        .transition_transfer(&transition, &extra, Timestamp::now(), entry)
                        .await
                    {
                        Ok(()) => return Ok(self.own_transfer(caller, id, MandateCheck::Owed).await?.0),
                        Err(e) if is_race(&e) => continue,
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
        Err(HubError::Unavailable)
    }

    fn entry(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        action: Action,
        t: &TransferRow,
        groups: Vec<String>,
    ) -> schakel_audit::Entry {
        case_entry(
            ctx,
            caller,
            &self.0.policy,
            action,
            Outcome::Success,
            CaseFacts {
                purpose: Some(&t.purpose),
                subject: Some(&t.subject),
                transfer_id: Some(t.transfer_id.uuid()),
                consent_id: t.consent_id,
                groups,
                parties: vec![&t.sender.0],
            },
        )
    }

    async fn fetch(
        &self,
        caller: &Caller,
        ctx: &RequestContext,
        r: pb::FetchRequest,
        attempt: &mut Attempt,
    ) -> Result<pb::FetchResponse, HubError> {
        require_user(ctx)?;
        let state = &self.0;
        let mut v = Violations::default();
        let FetchTransfer {
            transfer_id,
            purpose: declared,
        } = FetchTransfer::read(r, &mut v);
        let id = id_or_not_found(&transfer_id, "transfer")?;
        let (found, _) = self.own_transfer(caller, id, MandateCheck::InForce).await?;
        attempt.transfer(&found);
        v.finish()?;
        let Some(declared) = declared else {
            return Err(HubError::Internal);
        };
        // R9: data bound to one purpose is processed for that purpose only.
        if declared != found.purpose {
            return Err(precondition(Violation::rule(
                "purpose",
                RuleId::R9,
                "the transfer was sent under another purpose; fetch it for the purpose it is bound to",
            )));
        }
        if let Some(e) = undeliverable(&found) {
            return Err(e);
        }
        // Only groups sealed to this function's keys (R8, R9): key binding,
        // not only the purpose label, decides who can open what.
        let own_keys = own_key_ids(state, caller).await?;
        let all = state.store.transfer_groups(id.into()).await?;
        let delivered: Vec<SealedRow> = all
            .iter()
            .filter(|g| {
                g.purpose == declared
                    && !g.holds("meta.decision")
                    && g.key_ids.iter().any(|k| own_keys.contains(k))
            })
            .cloned()
            .collect();
        let names: Vec<String> = delivered.iter().flat_map(|g| g.groups.iter().cloned()).collect();
        let t = self
            .transition(caller, &transfer_id, attempt, MandateCheck::InForce, |t| {
                let names = names.clone();
                async move {
                    if let Some(e) = undeliverable(&t) {
                        return Err(e);
                    }
                    let to = t
                        .state
                        .apply(TransferEvent::Fetch)
                        .map_err(|_| HubError::Internal)?;
                    let entry = self.entry(ctx, caller, Action::TransferFetched, &t, names);
                    Ok(Step::Apply(Box::new((
                        Transition {
                            transfer_id: t.transfer_id,
                            from: t.state,
                            to,
                            change: TransferChange {
                                fetched_at: Some(Timestamp::now()),
                                ..TransferChange::default()
                            },
                        },
                        Vec::new(),
                        entry,
                    ))))
                }
            })
            .await?;
        Ok(pb::FetchResponse {
            transfer: Some(Names::default().transfer(state, &t, decision_text(&all)).await?),
            groups: delivered.iter().map(sealed_to_pb).collect(),
        })
    }

    async fn acknowledge(
        &self,
        caller: &Caller,
        ctx: &RequestContext,
        r: pb::AcknowledgeRequest,
        attempt: &mut Attempt,
    ) -> Result<pb::AcknowledgeResponse, HubError> {
        require_user(ctx)?;
        let mut v = Violations::default();
        let AcknowledgeReceipt {
            transfer_id,
            case_reference,
        } = AcknowledgeReceipt::read(r, &mut v);
        v.finish()?;
        let t = self
            .transition(caller, &transfer_id, attempt, MandateCheck::InForce, |t| {
                let case_reference = case_reference.clone();
                async move {
                    match t.state {
                        TransferState::Delivered => {}
                        // Idempotent: receipt was acknowledged before.
                        TransferState::Acknowledged | TransferState::Accepted | TransferState::Declined => {
                            return Ok(Step::Done);
                        }
                        TransferState::Submitted => {
                            return Err(precondition(Violation::state(
                                "transfer_id",
                                "fetch the transfer before acknowledging receipt",
                            )));
                        }
                        _ => return Err(undeliverable(&t).unwrap_or(HubError::Internal)),
                    }
                    let entry = self.entry(ctx, caller, Action::TransferAcknowledged, &t, Vec::new());
                    Ok(Step::Apply(Box::new((
                        Transition {
                            transfer_id: t.transfer_id,
                            from: t.state,
                            to: TransferState::Acknowledged,
                            change: TransferChange {
                                acknowledged_at: Some(Timestamp::now()),
                                case_reference,
                                ..TransferChange::default()
                            },
                        },
                        Vec::new(),
                        entry,
                    ))))
                }
            })
            .await?;
        let text = decision_text(&self.0.store.transfer_groups(t.transfer_id).await?);
        Ok(pb::AcknowledgeResponse {
            transfer: Some(Names::default().transfer(&self.0, &t, text).await?),
        })
    }

    async fn acknowledge_withdrawal(
        &self,
        caller: &Caller,
        ctx: &RequestContext,
        r: pb::AcknowledgeWithdrawalRequest,
        attempt: &mut Attempt,
    ) -> Result<pb::AcknowledgeWithdrawalResponse, HubError> {
        require_user(ctx)?;
        let AcknowledgeNotice {
            notice_id,
            confirmed_deletion: confirmed,
        } = AcknowledgeNotice::read(r);
        let notice = id_or_not_found(&notice_id, "withdrawal notice")?;
        let found = match self.0.store.transfer_by_notice(notice).await? {
            Some(t) if t.recipient == party_of(caller) => t,
            _ => return Err(HubError::NotFound("withdrawal notice")),
        };
        let t = self
            .transition(
                caller,
                &found.transfer_id.to_string(),
                attempt,
                MandateCheck::Owed,
                |t| {
                    async move {
                        if t.state != TransferState::WithdrawalNotified {
                            // Acknowledged before: idempotent.
                            return Ok(Step::Done);
                        }
                        let to = t
                            .state
                            .apply(TransferEvent::AcknowledgeWithdrawal)
                            .map_err(|_| HubError::Internal)?;
                        let entry =
                            self.entry(ctx, caller, Action::WithdrawalNoticeAcknowledged, &t, Vec::new());
                        Ok(Step::Apply(Box::new((
                            Transition {
                                transfer_id: t.transfer_id,
                                from: t.state,
                                to,
                                change: TransferChange {
                                    notice_acknowledged_at: Some(Timestamp::now()),
                                    notice_confirmed_deletion: Some(confirmed),
                                    ..TransferChange::default()
                                },
                            },
                            Vec::new(),
                            entry,
                        ))))
                    }
                },
            )
            .await?;
        Ok(pb::AcknowledgeWithdrawalResponse {
            notice: Some(notice_to_pb(&t)),
        })
    }

    async fn decide(
        &self,
        caller: &Caller,
        ctx: &RequestContext,
        r: pb::DecideRequest,
        attempt: &mut Attempt,
    ) -> Result<pb::DecideResponse, HubError> {
        require_user(ctx)?;
        let state = &self.0;
        let mut v = Violations::default();
        let DecideTransfer {
            transfer_id,
            decision,
            reason,
            reason_text,
        } = DecideTransfer::read(r, &mut v);
        let id = id_or_not_found(&transfer_id, "transfer")?;
        let (found, _) = self.own_transfer(caller, id, MandateCheck::InForce).await?;
        attempt.transfer(&found);
        v.finish()?;
        let Some(decision) = decision else {
            return Err(HubError::Internal);
        };
        let event = decision.event();
        // The reason text is sealed to sender and recipient (meta.decision).
        let extra = if reason_text.trim().is_empty() || found.decision.is_some() {
            Vec::new()
        } else {
            let mut keys = current_keys(state, &found.sender, Timestamp::now()).await?;
            keys.extend(current_keys(state, &found.recipient, Timestamp::now()).await?);
            seal_all(
                vec![ToSeal {
                    plain: meta_group("meta.decision", [("reason".to_owned(), reason_text.clone())]),
                    purpose: found.purpose.clone(),
                }],
                keys,
                found.transfer_id.uuid(),
                &found.recipient,
            )
            .await?
        };
        let role = ctx.user_role.clone();
        let t = self
            .transition(caller, &transfer_id, attempt, MandateCheck::InForce, |t| {
                let extra = extra.clone();
                let role = role.clone();
                async move {
                    if let Some(d) = t.decision {
                        // A decision is final; the same decision again is idempotent.
                        return if d == decision && t.decline_reason == reason {
                            Ok(Step::Done)
                        } else {
                            Err(precondition(Violation::state(
                                "decision",
                                "the transfer was already decided otherwise; a decision is final",
                            )))
                        };
                    }
                    if let Some(e) = undeliverable(&t) {
                        return Err(e);
                    }
                    // Deciding implies receipt: a fetched transfer is acknowledged on the way.
                    let now = Timestamp::now();
                    let (acknowledged, to) = match t.state {
                        TransferState::Delivered => (
                            Some(now),
                            t.state
                                .apply(TransferEvent::Acknowledge)
                                .and_then(|s| s.apply(event))
                                .map_err(|_| HubError::Internal)?,
                        ),
                        TransferState::Acknowledged => {
                            (None, t.state.apply(event).map_err(|_| HubError::Internal)?)
                        }
                        _ => {
                            return Err(precondition(Violation::state(
                                "transfer_id",
                                "fetch the transfer before deciding on it",
                            )));
                        }
                    };
                    let groups = extra.iter().flat_map(|g| g.groups.iter().cloned()).collect();
                    let entry = self.entry(ctx, caller, Action::TransferDecided, &t, groups);
                    Ok(Step::Apply(Box::new((
                        Transition {
                            transfer_id: t.transfer_id,
                            from: t.state,
                            to,
                            change: TransferChange {
                                acknowledged_at: acknowledged,
                                decision: Some(decision),
                                decline_reason: reason,
                                decided_at: Some(now),
                                decided_by_role: role,
                                ..TransferChange::default()
                            },
                        },
                        extra,
                        entry,
                    ))))
                }
            })
            .await?;
        let text = decision_text(&state.store.transfer_groups(t.transfer_id).await?);
        Ok(pb::DecideResponse {
            transfer: Some(Names::default().transfer(state, &t, text).await?),
        })
    }
}

#[tonic::async_trait]
impl InboxService for InboxApi {
    async fn list_inbox(
        &self,
        req: Request<pb::ListInboxRequest>,
    ) -> Result<Response<pb::ListInboxResponse>, Status> {
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
            counterpart_oin: r.sender.as_ref().and_then(|p| v.parse("sender.oin", &p.oin)),
            counterpart_function: r.sender.as_ref().and_then(|p| function_from_pb(p.function)),
            submitted_after: r.submitted_after.as_ref().and_then(ts_from_pb),
            submitted_before: r.submitted_before.as_ref().and_then(ts_from_pb),
            // R9: what came under a mandate is listed only while it holds.
            mandates: Some(mandate::in_force_to(state, &caller).await?),
            ..TransferFilter::default()
        };
        let token = std::mem::take(&mut r.page_token);
        let size = page_size(r.page_size);
        r.page_size = 0;
        let filters = r.encode_to_vec();
        let (transfers, next) = transfer_page(
            state,
            &party_of(&caller),
            Side::Recipient,
            &filter,
            v,
            (&token, size),
            &filters,
        )
        .await?;
        Ok(Response::new(pb::ListInboxResponse {
            transfers,
            next_page_token: next,
        }))
    }

    async fn get_inbox_transfer(
        &self,
        req: Request<pb::GetInboxTransferRequest>,
    ) -> Result<Response<pb::GetInboxTransferResponse>, Status> {
        let (caller, ctx) = Caller::with_context(&req)?;
        require_user(&ctx)?;
        let id = id_or_not_found(&req.get_ref().transfer_id, "transfer")?;
        let (t, _) = self.own_transfer(&caller, id, MandateCheck::InForce).await?;
        let text = decision_text(
            &self
                .0
                .store
                .transfer_groups(id.into())
                .await
                .map_err(HubError::from)?,
        );
        Ok(Response::new(pb::GetInboxTransferResponse {
            transfer: Some(Names::default().transfer(&self.0, &t, text).await?),
        }))
    }

    async fn fetch(&self, req: Request<pb::FetchRequest>) -> Result<Response<pb::FetchResponse>, Status> {
        let (caller, ctx) = Caller::with_context(&req)?;
        let mut attempt = Attempt::new(Action::TransferFetched);
        let answer = self.fetch(&caller, &ctx, req.into_inner(), &mut attempt).await;
        Ok(Response::new(
            attempt.settle(&self.0, &caller, &ctx, answer).await?,
        ))
    }

    async fn acknowledge(
        &self,
        req: Request<pb::AcknowledgeRequest>,
    ) -> Result<Response<pb::AcknowledgeResponse>, Status> {
        let (caller, ctx) = Caller::with_context(&req)?;
        let mut attempt = Attempt::new(Action::TransferAcknowledged);
        let answer = self
            .acknowledge(&caller, &ctx, req.into_inner(), &mut attempt)
            .await;
        Ok(Response::new(
            attempt.settle(&self.0, &caller, &ctx, answer).await?,
        ))
    }

    async fn decide(&self, req: Request<pb::DecideRequest>) -> Result<Response<pb::DecideResponse>, Status> {
        let (caller, ctx) = Caller::with_context(&req)?;
        let mut attempt = Attempt::new(Action::TransferDecided);
        let answer = self.decide(&caller, &ctx, req.into_inner(), &mut attempt).await;
        Ok(Response::new(
            attempt.settle(&self.0, &caller, &ctx, answer).await?,
        ))
    }

    async fn decide_hardheidsclausule(
        &self,
        req: Request<pb::DecideHardheidsclausuleRequest>,
    ) -> Result<Response<pb::DecideHardheidsclausuleResponse>, Status> {
        let (caller, ctx) = Caller::with_context(&req)?;
        let mut attempt = Attempt::new(Action::HardheidsclausuleDecided);
        let answer =
            super::hardheidsclausule::decide(&self.0, &caller, &ctx, req.into_inner(), &mut attempt).await;
        Ok(Response::new(
            attempt.settle(&self.0, &caller, &ctx, answer).await?,
        ))
    }

    async fn list_withdrawal_notices(
        &self,
        req: Request<pb::ListWithdrawalNoticesRequest>,
    ) -> Result<Response<pb::ListWithdrawalNoticesResponse>, Status> {
        let (caller, ctx) = Caller::with_context(&req)?;
        require_user(&ctx)?;
        let mut r = req.into_inner();
        let state = &self.0;
        let mut v = Violations::default();
        let token = std::mem::take(&mut r.page_token);
        let size = page_size(r.page_size);
        r.page_size = 0;
        let filters = r.encode_to_vec();
        let after = read_page_token(state, &mut v, &token, &filters);
        v.finish()?;
        let rows = state
            .store
            .list_notices(&party_of(&caller), r.open_only, after, size + 1)
            .await
            .map_err(HubError::from)?;
        let (rows, next) = paginate(
            state,
            rows,
            size,
            |t| t.notice_id.unwrap_or(t.transfer_id.uuid()),
            &filters,
        );
        Ok(Response::new(pb::ListWithdrawalNoticesResponse {
            notices: rows.iter().map(notice_to_pb).collect(),
            next_page_token: next,
        }))
    }

    async fn acknowledge_withdrawal(
        &self,
        req: Request<pb::AcknowledgeWithdrawalRequest>,
    ) -> Result<Response<pb::AcknowledgeWithdrawalResponse>, Status> {
        let (caller, ctx) = Caller::with_context(&req)?;
        let mut attempt = Attempt::new(Action::WithdrawalNoticeAcknowledged);
        let answer = self
            .acknowledge_withdrawal(&caller, &ctx, req.into_inner(), &mut attempt)
            .await;
        Ok(Response::new(
            attempt.settle(&self.0, &caller, &ctx, answer).await?,
        ))
    }
}
