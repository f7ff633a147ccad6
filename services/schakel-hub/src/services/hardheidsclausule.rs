//! The gemeente's hardheidsclausule decision (Participatiewet art. 7a lid 7,
//! R2), `InboxService.DecideHardheidsclausule`: the Participatiewet function
//! decides, for a youth it already supports, that transfers for that youth
//! may still reach it past the 27th birthday, for a period. The Submit
//! handler (`transfer.rs`) finds the decision in force; both entries carry
//! the flag and the legal basis ([`mark_hardheidsclausule`]).

use schakel_audit::Action;
use schakel_domain::{CaseDecision, PurposeId};
use schakel_policy::{Ground, HardheidsclausuleDecision, SupportBasis, decide_hardheidsclausule};
use schakel_proto::v1 as pb;
use schakel_store::{HardheidsclausuleRow, Idempotency};
use uuid::Uuid;

use super::HubState;
use super::exchange::{CaseFacts, ToSeal, mark_hardheidsclausule, meta_group, seal_all};
use super::pipeline::CaseWrite;
use super::refuse::Attempt;
use crate::caller::{Caller, RequestContext};
use crate::error::{HubError, Violation, Violations};
use crate::wire::{DecideHardheidsclausule, Support, date_to_pb};

/// What the sealed justification is bound to: not a purpose of the policy,
/// but the decision itself, so the unit cannot pass for a transfer's.
const SEAL_LABEL: &str = "hardheidsclausule.decision";

fn answer(d: &HardheidsclausuleRow, replayed: bool) -> pb::DecideHardheidsclausuleResponse {
    pb::DecideHardheidsclausuleResponse {
        decision_id: d.decision_id.to_string(),
        valid_from: Some(date_to_pb(d.valid_from)),
        valid_until: Some(date_to_pb(d.valid_until)),
        replayed,
    }
}

/// The decision first recorded under `key`, if any: the same request
/// answers as before; another request is a conflict.
async fn replay(
    state: &HubState,
    w: &CaseWrite<'_>,
    key: &str,
) -> Result<Option<pb::DecideHardheidsclausuleResponse>, HubError> {
    match state.store.hardheidsclausule_by_key(&w.party(), key).await? {
        Some((d, idem)) if idem.fingerprint == w.fingerprint => Ok(Some(answer(&d, true))),
        Some(_) => Err(HubError::AlreadyExists(
            "idempotency key (used for a different request)",
        )),
        None => Ok(None),
    }
}

/// Records the decision, or refuses it with every problem at once.
pub(super) async fn decide(
    state: &HubState,
    caller: &Caller,
    ctx: &RequestContext,
    r: pb::DecideHardheidsclausuleRequest,
    attempt: &mut Attempt,
) -> Result<pb::DecideHardheidsclausuleResponse, HubError> {
    let w = CaseWrite::begin(state, caller, ctx, "hardheidsclausule", &r)?;
    if CaseWrite::retry(&r.idempotency_key)
        && let Some(answer) = replay(state, &w, &r.idempotency_key).await?
    {
        return Ok(answer);
    }
    let mut v = Violations::default();
    let DecideHardheidsclausule {
        idempotency_key,
        bsn,
        date_of_birth,
        support,
        justification,
        valid_from,
        valid_until,
    } = DecideHardheidsclausule::read(r, &mut v, w.on);
    let subject = bsn.as_ref().map(|b| state.pseudonymiser.pseudonym(b));
    attempt.subject.clone_from(&subject);
    // The support it continues: a transfer for this youth that this
    // function received (another's, or another youth's, is no transfer of
    // its own and answers like an unknown one).
    let (basis, basis_transfer, case_reference) = match support {
        None => (SupportBasis::Missing, None, None),
        Some(Support::CaseReference(r)) => (SupportBasis::CaseReference, None, Some(r)),
        Some(Support::AcceptedTransfer(None)) => (SupportBasis::UnknownTransfer, None, None),
        Some(Support::AcceptedTransfer(Some(id))) => match state.store.transfer(id.into()).await? {
            Some(t) if t.recipient == w.party() && Some(&t.subject) == subject.as_ref() => (
                SupportBasis::Transfer {
                    accepted: t.decision == Some(CaseDecision::Accept),
                },
                Some(t.transfer_id),
                None,
            ),
            _ => (SupportBasis::UnknownTransfer, None, None),
        },
    };
    attempt.transfer_id = basis_transfer.map(|t| t.uuid());
    let (Some(date_of_birth), Some(valid_until)) = (date_of_birth, valid_until) else {
        v.finish()?;
        return Err(HubError::Internal);
    };
    let facts = HardheidsclausuleDecision {
        decider: caller.party.clone(),
        date_of_birth,
        basis,
        justification: justification.clone(),
        valid_from,
        valid_until,
        today: w.on,
    };
    let found = decide_hardheidsclausule(&facts, &state.policy);
    let case = v.is_empty() && found.iter().all(|f| f.ground == Ground::Case);
    for f in &found {
        v.rule(f.field_path.clone(), f.rule, f.message.clone());
    }
    if case && !found.is_empty() {
        return Err(HubError::Precondition(v.into_vec()));
    }
    v.finish()?;
    let Some(subject) = subject else {
        return Err(HubError::Internal);
    };
    let keys = w.keys(None).await?;
    if keys.own.is_empty() {
        return Err(HubError::Precondition(vec![Violation::rule(
            "caller",
            schakel_policy::RuleId::R12,
            "your function has no valid age key registered to seal the justification to",
        )]));
    }
    let decision_id = Uuid::now_v7();
    let mut text = vec![("justification".to_owned(), justification)];
    text.extend(case_reference.map(|r| ("case_reference".to_owned(), r)));
    let label: PurposeId = SEAL_LABEL.parse().map_err(|_| HubError::Internal)?;
    let sealed = seal_all(
        vec![ToSeal {
            plain: meta_group("meta.hardheidsclausule", text),
            purpose: label,
        }],
        keys.own,
        decision_id,
        &w.party(),
    )
    .await?;
    let [unit] = <[_; 1]>::try_from(sealed).map_err(|_| HubError::Internal)?;
    let row = HardheidsclausuleRow {
        decision_id,
        gemeente: w.party(),
        subject,
        basis_transfer_id: basis_transfer,
        valid_from,
        valid_until,
        decided_at: w.now,
        decided_by_user: ctx.user_id.clone().unwrap_or_default(),
        policy_version: state.policy.version().to_owned(),
        sealed_key_ids: unit.key_ids,
        sealed: unit.ciphertext,
    };
    let mut entry = w.entry(
        Action::HardheidsclausuleDecided,
        CaseFacts {
            subject: Some(&row.subject),
            transfer_id: row.basis_transfer_id.map(|t| t.uuid()),
            ..CaseFacts::default()
        },
    );
    mark_hardheidsclausule(&mut entry);
    let idem = Idempotency {
        key: idempotency_key,
        fingerprint: w.fingerprint,
    };
    w.commit(
        state.store.insert_hardheidsclausule(&row, &idem, entry),
        async || Ok(answer(&row, false)),
        // Another call with the same key stored first.
        async || {
            replay(state, &w, &idem.key)
                .await?
                .ok_or(HubError::AlreadyExists("idempotency key"))
        },
    )
    .await
}
