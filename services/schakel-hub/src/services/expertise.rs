//! ExpertiseService (R7): the gemeente's Participatiewet function asks the
//! Doorstroompunt whether a youth without startkwalificatie can return to
//! full-time education; the Doorstroompunt answers with advice and may attach
//! groups it holds, each with a necessity justification (R8).
//!
//! The request's content is sealed to the Doorstroompunt's keys only: it is
//! Doorstroompunt-bound (R9), and the asking werkcoach keeps its own case
//! file. The advice is sealed to the requester's keys and the
//! Doorstroompunt's own (its copy of what it sent, as R12 asks of transfers).

use jiff::Timestamp;
use prost::Message;
use schakel_audit::{Action, Outcome};
use schakel_domain::{ExpertiseState, FunctionKind, PurposeId};
use schakel_policy::{Channel, ConsentRef, Decision, Facts, SealingKeys, Subject};
use schakel_proto::v1 as pb;
use schakel_proto::v1::expertise_service_server::ExpertiseService;
use schakel_store::{ExpertiseFilter, ExpertisePart, ExpertiseRow, Idempotency, NewAdvice};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::HubState;
use super::exchange::{
    CaseFacts, Names, ToSeal, caller_party, case_entry, current_keys, end_of_day, is_race, meta_group,
    page_size, paginate, party_of, read_page_token, refusal, require_user, resolve, seal_all, today,
};
use super::refuse::Attempt;
use crate::caller::Caller;
use crate::caller::RequestContext;
use crate::error::{HubError, Violation, Violations};
use crate::wire::{
    Advise, AskExpertise, RequestNames, id_or_not_found, key_problem, outcome_pb, party_to_pb, sealed_to_pb,
    ts_from_pb, ts_to_pb,
};
use schakel_policy::RuleId;

/// What RequestExpertise calls the subject and the recipient.
const REQUEST_NAMES: RequestNames = RequestNames {
    subject: "subject",
    recipient: "doorstroompunt",
    sender_copy: "question",
};

/// What GiveAdvice calls them: the youth and the requester are the open
/// request's.
const ADVICE_NAMES: RequestNames = RequestNames {
    subject: "request_id",
    recipient: "request_id",
    sender_copy: "advice_text",
};

/// The ExpertiseService handlers.
#[derive(Debug, Clone)]
pub struct ExpertiseApi(pub HubState);

fn state_pb(s: ExpertiseState) -> pb::ExpertiseState {
    match s {
        ExpertiseState::Open => pb::ExpertiseState::Open,
        ExpertiseState::Answered => pb::ExpertiseState::Answered,
        ExpertiseState::Purged => pb::ExpertiseState::Purged,
    }
}

fn advice_pb(e: &ExpertiseRow) -> pb::Advice {
    pb::Advice {
        request_id: e.request_id.to_string(),
        outcome: outcome_pb(e.outcome.as_deref()) as i32,
        given_at: e.answered_at.map(ts_to_pb),
        groups: e.advice_groups.clone(),
        policy_version: e.advice_policy_version.clone().unwrap_or_default(),
    }
}

fn precondition(violation: Violation) -> HubError {
    HubError::Precondition(vec![violation])
}

impl ExpertiseApi {
    async fn request_pb(
        &self,
        names: &mut Names,
        e: &ExpertiseRow,
    ) -> Result<pb::ExpertiseRequest, HubError> {
        Ok(pb::ExpertiseRequest {
            request_id: e.request_id.to_string(),
            requester: Some(party_to_pb(&e.requester)),
            doorstroompunt: Some(party_to_pb(&e.doorstroompunt)),
            state: state_pb(e.state) as i32,
            groups: e.groups.clone(),
            requested_at: Some(ts_to_pb(e.requested_at)),
            answered_at: e.answered_at.map(ts_to_pb),
            outcome: outcome_pb(e.outcome.as_deref()) as i32,
            policy_version: e.policy_version.clone(),
            retention_until: Some(ts_to_pb(e.retention_until)),
            requester_name: names.of(&self.0, &e.requester.0).await?,
            doorstroompunt_name: names.of(&self.0, &e.doorstroompunt.0).await?,
        })
    }

    /// The request `id` if the caller is its requester (`asked`) or its
    /// Doorstroompunt; otherwise NOT_FOUND.
    async fn own_request(&self, caller: &Caller, id: &str, asked: bool) -> Result<ExpertiseRow, HubError> {
        let id = id_or_not_found(id, "expertise request")?;
        match self.0.store.expertise(id).await? {
            Some(e) if (if asked { &e.requester } else { &e.doorstroompunt }) == &party_of(caller) => Ok(e),
            _ => Err(HubError::NotFound("expertise request")),
        }
    }

    fn entry(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        (action, outcome): (Action, Outcome),
        purpose: &PurposeId,
        e: &ExpertiseRow,
        groups: Vec<String>,
    ) -> schakel_audit::Entry {
        let other = if e.requester.0 == caller.organisation.oin {
            &e.doorstroompunt.0
        } else {
            &e.requester.0
        };
        case_entry(
            ctx,
            caller,
            &self.0.policy,
            action,
            outcome,
            CaseFacts {
                purpose: Some(purpose),
                subject: Some(&e.subject),
                transfer_id: Some(e.request_id),
                groups,
                parties: vec![other],
                ..CaseFacts::default()
            },
        )
    }

    async fn replay_request(
        &self,
        caller: &Caller,
        key: &str,
        fp: &[u8; 32],
    ) -> Result<Option<pb::RequestExpertiseResponse>, HubError> {
        match self.0.store.expertise_by_key(&party_of(caller), key).await? {
            Some((e, idem)) if idem.fingerprint == *fp => Ok(Some(pb::RequestExpertiseResponse {
                request: Some(self.request_pb(&mut Names::default(), &e).await?),
                replayed: true,
            })),
            Some(_) => Err(HubError::AlreadyExists(
                "idempotency key (used for a different request)",
            )),
            None => Ok(None),
        }
    }

    async fn request(
        &self,
        caller: &Caller,
        ctx: &RequestContext,
        r: pb::RequestExpertiseRequest,
        attempt: &mut Attempt,
    ) -> Result<pb::RequestExpertiseResponse, HubError> {
        require_user(ctx)?;
        let state = &self.0;
        // R7: only the Participatiewet function gets here (authz::may_call_method).
        let now = Timestamp::now();
        let on = today(now)?;
        let fp = state
            .pseudonymiser
            .fingerprint("expertise.request", &r.encode_to_vec());
        if key_problem(&r.idempotency_key).is_none()
            && let Some(answer) = self.replay_request(caller, &r.idempotency_key, &fp).await?
        {
            return Ok(answer);
        }
        let mut v = Violations::default();
        let AskExpertise {
            idempotency_key,
            doorstroompunt,
            document: doc,
            subject,
            question,
            client_reference,
        } = AskExpertise::read(r, &mut v, on);
        let purpose_id: PurposeId = PurposeId::EXPERTISE_REQUEST
            .parse()
            .map_err(|_| HubError::Internal)?;
        let dp = resolve(state, &mut v, "doorstroompunt", doorstroompunt).await?;
        let pseudonym = subject.bsn.as_ref().map(|b| state.pseudonymiser.pseudonym(b));
        // The keys of both functions (R9, R12): without one the Doorstroompunt
        // cannot receive, and that refusal is the policy's, audited like any
        // other.
        let dp_keys = match &dp {
            Some(dp) => current_keys(state, &(dp.party.oin().clone(), dp.party.function()), now).await?,
            None => Vec::new(),
        };
        let own_keys = current_keys(state, &party_of(caller), now).await?;
        attempt.purpose = Some(purpose_id.clone());
        attempt.subject.clone_from(&pseudonym);
        attempt.parties = dp.iter().map(|p| p.party.oin().clone()).collect();
        let decision = match (&dp, &subject.subject) {
            (Some(dp), Some(s)) => Some(super::exchange::decide(
                &Facts {
                    purpose: purpose_id.clone(),
                    channel: Channel::Expertise,
                    sender: caller_party(caller)?,
                    recipient: dp.party.clone(),
                    region: None,
                    subject: s.clone(),
                    consent: ConsentRef::Absent,
                    refused_by_youth_since: false,
                    keys: SealingKeys {
                        recipient: !dp_keys.is_empty(),
                        sender: !own_keys.is_empty(),
                    },
                    fields: doc.fields.clone(),
                    special_text: doc.special_text(&state.policy, on),
                    justifications: doc.justifications.clone(),
                    hardheidsclausule: None,
                    open_expertise_request: false,
                    return_to_education: None,
                },
                &state.policy,
                on,
            )),
            _ => None,
        };
        let (
            Some(Decision::Allowed {
                retention,
                seal_to_sender,
                ..
            }),
            Some(dp),
            Some(pseudonym),
            true,
        ) = (decision.clone(), dp, pseudonym, v.is_empty())
        else {
            let refused = decision.as_ref().map_or(&[][..], Decision::violations);
            return Err(refusal(v, refused, &doc.index, &REQUEST_NAMES));
        };
        let mut keys = dp_keys;
        if seal_to_sender {
            keys.extend(own_keys);
        }
        let dp_key = (dp.party.oin().clone(), dp.party.function());
        let mut to_seal: Vec<ToSeal> = doc
            .groups
            .into_iter()
            .map(|plain| ToSeal {
                plain,
                purpose: purpose_id.clone(),
            })
            .collect();
        to_seal.push(ToSeal {
            plain: meta_group("meta.question", [("question".to_owned(), question)]),
            purpose: purpose_id.clone(),
        });
        let names: Vec<String> = to_seal.iter().map(|g| g.plain.group.clone()).collect();
        let request_id = Uuid::now_v7();
        let sealed = seal_all(to_seal, keys, request_id, &dp_key).await?;
        let row = ExpertiseRow {
            request_id,
            requester: party_of(caller),
            doorstroompunt: dp_key,
            subject: pseudonym,
            state: ExpertiseState::Open,
            groups: names.clone(),
            requested_at: now,
            policy_version: state.policy.version().to_owned(),
            retention_until: end_of_day(retention.until),
            client_reference,
            answered_at: None,
            outcome: None,
            advice_groups: Vec::new(),
            advice_policy_version: None,
            advice_idempotency: None,
        };
        let entry = self.entry(
            ctx,
            caller,
            (Action::ExpertiseRequested, Outcome::Success),
            &purpose_id,
            &row,
            names,
        );
        let idem = Idempotency {
            key: idempotency_key,
            fingerprint: fp,
        };
        match state
            .store
            .insert_expertise(&row, &idem, &sealed, now, entry)
            .await
        {
            Ok(()) => Ok(pb::RequestExpertiseResponse {
                request: Some(self.request_pb(&mut Names::default(), &row).await?),
                replayed: false,
            }),
            Err(e) if is_race(&e) => self
                .replay_request(caller, &idem.key, &fp)
                .await?
                .ok_or(HubError::AlreadyExists("idempotency key")),
            Err(e) => Err(e.into()),
        }
    }

    async fn advise(
        &self,
        caller: &Caller,
        ctx: &RequestContext,
        r: pb::GiveAdviceRequest,
        attempt: &mut Attempt,
    ) -> Result<pb::GiveAdviceResponse, HubError> {
        require_user(ctx)?;
        let state = &self.0;
        // R7: only the Doorstroompunt gets here (authz::may_call_method).
        let now = Timestamp::now();
        let on = today(now)?;
        let fp = state
            .pseudonymiser
            .fingerprint("expertise.advice", &r.encode_to_vec());
        if key_problem(&r.idempotency_key).is_none()
            && let Some(e) = state
                .store
                .expertise_by_advice_key(&party_of(caller), &r.idempotency_key)
                .await?
        {
            return match &e.advice_idempotency {
                Some(i) if i.fingerprint == fp => Ok(pb::GiveAdviceResponse {
                    advice: Some(advice_pb(&e)),
                    request: Some(self.request_pb(&mut Names::default(), &e).await?),
                    replayed: true,
                }),
                _ => Err(HubError::AlreadyExists(
                    "idempotency key (used for a different request)",
                )),
            };
        }
        let mut v = Violations::default();
        let Advise {
            idempotency_key,
            request_id,
            outcome,
            advice_text,
            document: doc,
        } = Advise::read(r, &mut v);
        let request = self.own_request(caller, &request_id, false).await?;
        let purpose_id: PurposeId = PurposeId::EXPERTISE_ADVICE
            .parse()
            .map_err(|_| HubError::Internal)?;
        attempt.purpose = Some(purpose_id.clone());
        attempt.subject = Some(request.subject.clone());
        attempt.transfer_id = Some(request.request_id);
        attempt.parties = vec![request.requester.0.clone()];
        // The youth's conditions (R2, R3) were decided on the request; the
        // advice is checked for parties, groups, fields, justifications (R8),
        // keys (R9) and the open request (R7). The subject facts are not kept
        // by the hub, so the decision runs on neutral facts that fire none of
        // the subject rules.
        let neutral = Subject {
            date_of_birth: schakel_domain::dates::add_years(on, -18).map_err(|_| HubError::Internal)?,
            school_type: None,
            vso_exit_profile: None,
            leave_date: None,
            diploma_level: None,
            diploma_date: None,
            startkwalificatie: Some(false),
        };
        let requester = schakel_domain::Party::new(
            request.requester.0.clone(),
            schakel_domain::OrgKind::Gemeente,
            request.requester.1,
        )
        .map_err(|_| HubError::Internal)?;
        let requester_keys = current_keys(state, &request.requester, now).await?;
        let own_keys = current_keys(state, &party_of(caller), now).await?;
        let decision = super::exchange::decide(
            &Facts {
                purpose: purpose_id.clone(),
                channel: Channel::Expertise,
                sender: caller_party(caller)?,
                recipient: requester,
                region: None,
                subject: neutral,
                consent: ConsentRef::Absent,
                refused_by_youth_since: false,
                keys: SealingKeys {
                    recipient: !requester_keys.is_empty(),
                    sender: !own_keys.is_empty(),
                },
                fields: doc.fields.clone(),
                special_text: doc.special_text(&state.policy, on),
                justifications: doc.justifications.clone(),
                hardheidsclausule: None,
                open_expertise_request: request.state == ExpertiseState::Open,
                return_to_education: None,
            },
            &state.policy,
            on,
        );
        let (Decision::Allowed { seal_to_sender, .. }, Some(outcome), true) =
            (&decision, outcome, v.is_empty())
        else {
            return Err(refusal(v, decision.violations(), &doc.index, &ADVICE_NAMES));
        };
        let mut keys = requester_keys;
        if *seal_to_sender {
            keys.extend(own_keys);
        }
        let justification_fields = doc.justification_fields();
        let mut to_seal: Vec<ToSeal> = doc
            .groups
            .into_iter()
            .map(|plain| ToSeal {
                plain,
                purpose: purpose_id.clone(),
            })
            .collect();
        if !advice_text.trim().is_empty() {
            to_seal.push(ToSeal {
                plain: meta_group("meta.advice", [("advice".to_owned(), advice_text)]),
                purpose: purpose_id.clone(),
            });
        }
        if !justification_fields.is_empty() {
            to_seal.push(ToSeal {
                plain: meta_group("meta.justifications", justification_fields),
                purpose: purpose_id.clone(),
            });
        }
        let names: Vec<String> = to_seal.iter().map(|g| g.plain.group.clone()).collect();
        let sealed = if to_seal.is_empty() {
            Vec::new()
        } else {
            seal_all(to_seal, keys, request.request_id, &request.requester).await?
        };
        let advice = NewAdvice {
            answered_at: now,
            outcome: outcome.to_owned(),
            policy_version: state.policy.version().to_owned(),
            idempotency: Idempotency {
                key: idempotency_key,
                fingerprint: fp,
            },
            sealed,
        };
        let entry = self.entry(
            ctx,
            caller,
            (Action::ExpertiseAdvised, Outcome::Success),
            &purpose_id,
            &request,
            names,
        );
        match state
            .store
            .answer_expertise(request.request_id, &advice, entry)
            .await
        {
            Ok(()) => {}
            Err(e) if is_race(&e) => {
                // Answered meanwhile: by this very advice (a retry) or another.
                if let Some(e) = state
                    .store
                    .expertise_by_advice_key(&party_of(caller), &advice.idempotency.key)
                    .await?
                    && e.advice_idempotency.as_ref().is_some_and(|i| i.fingerprint == fp)
                {
                    return Ok(pb::GiveAdviceResponse {
                        advice: Some(advice_pb(&e)),
                        request: Some(self.request_pb(&mut Names::default(), &e).await?),
                        replayed: true,
                    });
                }
                return Err(precondition(Violation::rule(
                    "request_id",
                    RuleId::R7,
                    "advice without an open request: it was answered already",
                )));
            }
            Err(e) => return Err(e.into()),
        }
        let e = self.own_request(caller, &request_id, false).await?;
        Ok(pb::GiveAdviceResponse {
            advice: Some(advice_pb(&e)),
            request: Some(self.request_pb(&mut Names::default(), &e).await?),
            replayed: false,
        })
    }
}

#[tonic::async_trait]
impl ExpertiseService for ExpertiseApi {
    async fn request_expertise(
        &self,
        req: Request<pb::RequestExpertiseRequest>,
    ) -> Result<Response<pb::RequestExpertiseResponse>, Status> {
        let (caller, ctx) = Caller::with_context(&req)?;
        let mut attempt = Attempt::new(Action::ExpertiseRequested);
        let answer = self.request(&caller, &ctx, req.into_inner(), &mut attempt).await;
        Ok(Response::new(
            attempt.settle(&self.0, &caller, &ctx, answer).await?,
        ))
    }

    async fn list_expertise_requests(
        &self,
        req: Request<pb::ListExpertiseRequestsRequest>,
    ) -> Result<Response<pb::ListExpertiseRequestsResponse>, Status> {
        let (caller, ctx) = Caller::with_context(&req)?;
        require_user(&ctx)?;
        let mut r = req.into_inner();
        let state = &self.0;
        let mut v = Violations::default();
        let asked = match pb::ExpertiseRole::try_from(r.role) {
            Ok(pb::ExpertiseRole::Asked) => true,
            Ok(pb::ExpertiseRole::Received) => false,
            _ => caller.function == FunctionKind::Participatiewet,
        };
        let st = match pb::ExpertiseState::try_from(r.state) {
            Ok(pb::ExpertiseState::Open) => Some(ExpertiseState::Open),
            Ok(pb::ExpertiseState::Answered) => Some(ExpertiseState::Answered),
            Ok(pb::ExpertiseState::Purged) => Some(ExpertiseState::Purged),
            _ => None,
        };
        let token = std::mem::take(&mut r.page_token);
        let size = page_size(r.page_size);
        r.page_size = 0;
        r.role = if asked {
            pb::ExpertiseRole::Asked
        } else {
            pb::ExpertiseRole::Received
        } as i32;
        let filters = r.encode_to_vec();
        let before = read_page_token(state, &mut v, &token, &filters);
        v.finish()?;
        let rows = state
            .store
            .list_expertise(
                &party_of(&caller),
                &ExpertiseFilter {
                    asked,
                    state: st,
                    requested_after: r.requested_after.as_ref().and_then(ts_from_pb),
                    requested_before: r.requested_before.as_ref().and_then(ts_from_pb),
                },
                before,
                size + 1,
            )
            .await
            .map_err(HubError::from)?;
        let (rows, next) = paginate(state, rows, size, |e| e.request_id, &filters);
        let mut names = Names::default();
        let mut requests = Vec::with_capacity(rows.len());
        for e in &rows {
            requests.push(self.request_pb(&mut names, e).await?);
        }
        Ok(Response::new(pb::ListExpertiseRequestsResponse {
            requests,
            next_page_token: next,
        }))
    }

    async fn fetch_expertise_request(
        &self,
        req: Request<pb::FetchExpertiseRequestRequest>,
    ) -> Result<Response<pb::FetchExpertiseRequestResponse>, Status> {
        let (caller, ctx) = Caller::with_context(&req)?;
        require_user(&ctx)?;
        let e = self
            .own_request(&caller, &req.get_ref().request_id, false)
            .await?;
        if e.state == ExpertiseState::Purged {
            return Err(precondition(Violation::rule(
                "request_id",
                RuleId::R15,
                "the content was removed at the end of its retention period",
            ))
            .into());
        }
        let groups = self
            .0
            .store
            .expertise_groups(e.request_id, ExpertisePart::Request)
            .await
            .map_err(HubError::from)?;
        let purpose: PurposeId = PurposeId::EXPERTISE_REQUEST
            .parse()
            .map_err(|_| HubError::Internal)?;
        let entry = self.entry(
            &ctx,
            &caller,
            (Action::ExpertiseFetched, Outcome::Success),
            &purpose,
            &e,
            groups.iter().flat_map(|g| g.groups.iter().cloned()).collect(),
        );
        self.0
            .store
            .append_audit(entry, Timestamp::now())
            .await
            .map_err(HubError::from)?;
        Ok(Response::new(pb::FetchExpertiseRequestResponse {
            request: Some(self.request_pb(&mut Names::default(), &e).await?),
            groups: groups.iter().map(sealed_to_pb).collect(),
        }))
    }

    async fn give_advice(
        &self,
        req: Request<pb::GiveAdviceRequest>,
    ) -> Result<Response<pb::GiveAdviceResponse>, Status> {
        let (caller, ctx) = Caller::with_context(&req)?;
        let mut attempt = Attempt::new(Action::ExpertiseAdvised);
        let answer = self.advise(&caller, &ctx, req.into_inner(), &mut attempt).await;
        Ok(Response::new(
            attempt.settle(&self.0, &caller, &ctx, answer).await?,
        ))
    }

    async fn get_advice(
        &self,
        req: Request<pb::GetAdviceRequest>,
    ) -> Result<Response<pb::GetAdviceResponse>, Status> {
        let (caller, ctx) = Caller::with_context(&req)?;
        require_user(&ctx)?;
        let e = self.own_request(&caller, &req.get_ref().request_id, true).await?;
        match e.state {
            ExpertiseState::Answered => {}
            ExpertiseState::Purged => {
                return Err(precondition(Violation::rule(
                    "request_id",
                    RuleId::R15,
                    "the content was removed at the end of its retention period",
                ))
                .into());
            }
            _ => {
                return Err(precondition(Violation::state(
                    "request_id",
                    "the Doorstroompunt has not answered yet",
                ))
                .into());
            }
        }
        let groups = self
            .0
            .store
            .expertise_groups(e.request_id, ExpertisePart::Advice)
            .await
            .map_err(HubError::from)?;
        let purpose: PurposeId = PurposeId::EXPERTISE_ADVICE
            .parse()
            .map_err(|_| HubError::Internal)?;
        let entry = self.entry(
            &ctx,
            &caller,
            (Action::AdviceFetched, Outcome::Success),
            &purpose,
            &e,
            groups.iter().flat_map(|g| g.groups.iter().cloned()).collect(),
        );
        self.0
            .store
            .append_audit(entry, Timestamp::now())
            .await
            .map_err(HubError::from)?;
        Ok(Response::new(pb::GetAdviceResponse {
            advice: Some(advice_pb(&e)),
            groups: groups.iter().map(sealed_to_pb).collect(),
        }))
    }
}
