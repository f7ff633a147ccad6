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
use schakel_crypto::GroupPlaintext;
use schakel_domain::{ExpertiseState, FunctionKind, PurposeId};
use schakel_policy::{Channel, ConsentRef, Facts, SealingKeys, Subject};
use schakel_proto::v1 as pb;
use schakel_proto::v1::expertise_service_server::ExpertiseService;
use schakel_store::{ExpertiseFilter, ExpertisePart, ExpertiseRow, Idempotency, NewAdvice};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::HubState;
use super::exchange::{
    CaseFacts, Names, ToSeal, case_entry, end_of_day, meta_group, page_size, paginate, party_of,
    read_page_token, require_user, resolve,
};
use super::pipeline::CaseWrite;
use super::refuse::Attempt;
use crate::caller::Caller;
use crate::caller::RequestContext;
use crate::error::{HubError, Violation, Violations};
use crate::wire::{
    Advise, AskExpertise, Document, RequestNames, id_or_not_found, outcome_pb, party_to_pb, sealed_to_pb,
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
        case_entry(
            ctx,
            caller,
            &self.0.policy,
            action,
            outcome,
            case_facts(caller, purpose, e, groups),
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
        // R7: only the Participatiewet function gets here (authz::may_call_method).
        let state = &self.0;
        let w = CaseWrite::begin(state, caller, ctx, "expertise.request", &r)?;
        if CaseWrite::retry(&r.idempotency_key)
            && let Some(answer) = self
                .replay_request(caller, &r.idempotency_key, &w.fingerprint)
                .await?
        {
            return Ok(answer);
        }
        let mut v = Violations::default();
        let read = AskExpertise::read(r, &mut v, w.on);
        let purpose = expertise_purpose(PurposeId::EXPERTISE_REQUEST)?;
        let dp = resolve(state, &mut v, "doorstroompunt", read.doorstroompunt.clone()).await?;
        let dp_key = dp.as_ref().map(|d| d.party.key());
        let pseudonym = read
            .subject
            .bsn
            .as_ref()
            .map(|b| state.pseudonymiser.pseudonym(b));
        // Without a key the Doorstroompunt cannot receive (R9, R12): that
        // refusal is the policy's, audited like any other.
        let keys = w.keys(dp_key.as_ref()).await?;
        attempt.purpose = Some(purpose.clone());
        attempt.subject.clone_from(&pseudonym);
        attempt.parties = dp_key.iter().map(|k| k.0.clone()).collect();
        let facts = match (&dp, &read.subject.subject) {
            (Some(dp), Some(subject)) => Some(expertise_facts(
                &purpose,
                caller.party.clone(),
                dp.party.clone(),
                subject.clone(),
                keys.facts(),
                &read.document,
                &w,
                false,
            )),
            _ => None,
        };
        let allowed = w.decide(facts, v, &read.document.index, &REQUEST_NAMES)?;
        let AskExpertise {
            idempotency_key,
            document,
            question,
            client_reference,
            ..
        } = read;
        let (Some(dp_key), Some(pseudonym)) = (dp_key, pseudonym) else {
            return Err(HubError::Internal);
        };
        let mut content = bound_to(&purpose, document.groups);
        content.extend(bound_to(
            &purpose,
            [meta_group("meta.question", [("question".to_owned(), question)])],
        ));
        let request_id = Uuid::now_v7();
        let (groups, sealed) = w
            .seal(content, None, keys, &allowed, request_id, &dp_key, None)
            .await?;
        let row = ExpertiseRow {
            request_id,
            requester: w.party(),
            doorstroompunt: dp_key,
            subject: pseudonym,
            state: ExpertiseState::Open,
            groups: groups.clone(),
            requested_at: w.now,
            policy_version: state.policy.version().to_owned(),
            retention_until: end_of_day(allowed.retention.until),
            client_reference,
            answered_at: None,
            outcome: None,
            advice_groups: Vec::new(),
            advice_policy_version: None,
            advice_idempotency: None,
        };
        let entry = w.entry(
            Action::ExpertiseRequested,
            case_facts(caller, &purpose, &row, groups),
        );
        let idem = Idempotency {
            key: idempotency_key,
            fingerprint: w.fingerprint,
        };
        w.commit(
            state.store.insert_expertise(&row, &idem, &sealed, w.now, entry),
            async || {
                Ok(pb::RequestExpertiseResponse {
                    request: Some(self.request_pb(&mut Names::default(), &row).await?),
                    replayed: false,
                })
            },
            // Another call with the same key stored first.
            async || {
                self.replay_request(caller, &idem.key, &w.fingerprint)
                    .await?
                    .ok_or(HubError::AlreadyExists("idempotency key"))
            },
        )
        .await
    }

    /// The advice stored under the caller's advice key `key`, when this is a
    /// retry of the same request; `AlreadyExists` when another request
    /// used the key.
    async fn replay_advice(
        &self,
        caller: &Caller,
        key: &str,
        fp: &[u8; 32],
    ) -> Result<Option<pb::GiveAdviceResponse>, HubError> {
        let Some(e) = self
            .0
            .store
            .expertise_by_advice_key(&party_of(caller), key)
            .await?
        else {
            return Ok(None);
        };
        match &e.advice_idempotency {
            Some(i) if i.fingerprint == *fp => Ok(Some(self.advice_answer(&e, true).await?)),
            _ => Err(HubError::AlreadyExists(
                "idempotency key (used for a different request)",
            )),
        }
    }

    async fn advice_answer(
        &self,
        e: &ExpertiseRow,
        replayed: bool,
    ) -> Result<pb::GiveAdviceResponse, HubError> {
        Ok(pb::GiveAdviceResponse {
            advice: Some(advice_pb(e)),
            request: Some(self.request_pb(&mut Names::default(), e).await?),
            replayed,
        })
    }

    async fn advise(
        &self,
        caller: &Caller,
        ctx: &RequestContext,
        r: pb::GiveAdviceRequest,
        attempt: &mut Attempt,
    ) -> Result<pb::GiveAdviceResponse, HubError> {
        // R7: only the Doorstroompunt gets here (authz::may_call_method).
        let state = &self.0;
        let w = CaseWrite::begin(state, caller, ctx, "expertise.advice", &r)?;
        if CaseWrite::retry(&r.idempotency_key)
            && let Some(answer) = self
                .replay_advice(caller, &r.idempotency_key, &w.fingerprint)
                .await?
        {
            return Ok(answer);
        }
        let mut v = Violations::default();
        let Advise {
            idempotency_key,
            request_id,
            outcome,
            advice_text,
            document,
        } = Advise::read(r, &mut v);
        let request = self.own_request(caller, &request_id, false).await?;
        let purpose = expertise_purpose(PurposeId::EXPERTISE_ADVICE)?;
        attempt.purpose = Some(purpose.clone());
        attempt.subject = Some(request.subject.clone());
        attempt.transfer_id = Some(request.request_id);
        attempt.parties = vec![request.requester.0.clone()];
        // The youth's conditions (R2, R3) were decided on the request; the
        // advice is checked for parties, groups, fields, justifications (R8),
        // keys (R9) and the open request (R7). The subject facts are not kept
        // by the hub, so the decision runs on neutral facts that fire none of
        // the subject rules.
        let neutral = Subject {
            date_of_birth: schakel_domain::dates::add_years(w.on, -18).map_err(|_| HubError::Internal)?,
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
        let keys = w.keys(Some(&request.requester)).await?;
        let facts = expertise_facts(
            &purpose,
            caller.party.clone(),
            requester,
            neutral,
            keys.facts(),
            &document,
            &w,
            request.state == ExpertiseState::Open,
        );
        let allowed = w.decide(Some(facts), v, &document.index, &ADVICE_NAMES)?;
        let Some(outcome) = outcome else {
            return Err(HubError::Internal);
        };
        let justifications = super::transfer::justification_unit(&document, &purpose);
        let mut content = bound_to(&purpose, document.groups);
        if !advice_text.trim().is_empty() {
            content.extend(bound_to(
                &purpose,
                [meta_group("meta.advice", [("advice".to_owned(), advice_text)])],
            ));
        }
        let (groups, sealed) = w
            .seal(
                content,
                justifications,
                keys,
                &allowed,
                request.request_id,
                &request.requester,
                None,
            )
            .await?;
        let advice = NewAdvice {
            answered_at: w.now,
            outcome: outcome.to_owned(),
            policy_version: state.policy.version().to_owned(),
            idempotency: Idempotency {
                key: idempotency_key,
                fingerprint: w.fingerprint,
            },
            sealed,
        };
        let entry = w.entry(
            Action::ExpertiseAdvised,
            case_facts(caller, &purpose, &request, groups),
        );
        w.commit(
            state.store.answer_expertise(request.request_id, &advice, entry),
            async || {
                let e = self.own_request(caller, &request_id, false).await?;
                self.advice_answer(&e, false).await
            },
            // Answered meanwhile: by this very advice (a retry) or another.
            async || match self
                .replay_advice(caller, &advice.idempotency.key, &w.fingerprint)
                .await
            {
                Ok(Some(answer)) => Ok(answer),
                Ok(None) | Err(HubError::AlreadyExists(_)) => Err(precondition(Violation::rule(
                    "request_id",
                    RuleId::R7,
                    "advice without an open request: it was answered already",
                ))),
                Err(e) => Err(e),
            },
        )
        .await
    }
}

/// An expertise purpose by its id in `policy/purposes.toml`.
fn expertise_purpose(id: &str) -> Result<PurposeId, HubError> {
    id.parse().map_err(|_| HubError::Internal)
}

/// Content bound to `purpose`.
fn bound_to(purpose: &PurposeId, groups: impl IntoIterator<Item = GroupPlaintext>) -> Vec<ToSeal> {
    groups
        .into_iter()
        .map(|plain| ToSeal {
            plain,
            purpose: purpose.clone(),
        })
        .collect()
}

/// What the policy is told of an expertise request or its advice: no
/// consent (the exchange rests on art. 7a, R7), no region, no
/// hardheidsclausule; whether the request is still open matters to the
/// advice only.
#[allow(clippy::too_many_arguments)]
fn expertise_facts(
    purpose: &PurposeId,
    sender: schakel_domain::Party,
    recipient: schakel_domain::Party,
    subject: Subject,
    keys: SealingKeys,
    document: &Document,
    w: &CaseWrite<'_>,
    open_expertise_request: bool,
) -> Facts {
    Facts {
        purpose: purpose.clone(),
        channel: Channel::Expertise,
        sender,
        recipient,
        region: None,
        subject,
        consent: ConsentRef::Absent,
        refused_by_youth_since: false,
        keys,
        fields: document.fields.clone(),
        special_text: document.special_text(&w.state.policy, w.on),
        justifications: document.justifications.clone(),
        justified_fields: document.justified_fields.clone(),
        hardheidsclausule_invoked: false,
        hardheidsclausule_decision: false,
        open_expertise_request,
        return_to_education: None,
    }
}

/// The case an expertise entry names: the request, its youth, and the
/// other party.
fn case_facts<'e>(
    caller: &Caller,
    purpose: &'e PurposeId,
    e: &'e ExpertiseRow,
    groups: Vec<String>,
) -> CaseFacts<'e> {
    let other = if &e.requester.0 == caller.party.oin() {
        &e.doorstroompunt.0
    } else {
        &e.requester.0
    };
    CaseFacts {
        purpose: Some(purpose),
        subject: Some(&e.subject),
        transfer_id: Some(e.request_id),
        groups,
        parties: vec![other],
        ..CaseFacts::default()
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
            _ => caller.party.function() == FunctionKind::Participatiewet,
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
        let purpose = expertise_purpose(PurposeId::EXPERTISE_REQUEST)?;
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
        let purpose = expertise_purpose(PurposeId::EXPERTISE_ADVICE)?;
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
