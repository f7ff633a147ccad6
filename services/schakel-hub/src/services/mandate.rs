//! Mandates (R9): the operator records that another organisation carries
//! out a gemeente's Participatiewet or Doorstroompunt task (AdminService
//! `RecordMandate`, `EndMandate`, `ListMandates`), and the exchange asks
//! here where data for a gemeente's function goes ([`delivery`]) and whether
//! a caller may act on what was delivered under a mandate ([`acting_for`]).
//! The rules themselves are `schakel_policy::mandate`'s.

use jiff::Timestamp;
use jiff::civil::Date;
use schakel_audit::{Action, Entry, Outcome};
use schakel_domain::{Oin, Party};
use schakel_policy::{Mandate, NewMandate, RuleId};
use schakel_proto::v1 as pb;
use schakel_store::{MandateFilter, MandateRow, PartyKey, TransferRow};
use uuid::Uuid;

use super::HubState;
use super::exchange::{party_of, today};
use crate::caller::{Caller, RequestContext};
use crate::error::{HubError, Violation, Violations};
use crate::wire::{date_from_pb, date_to_pb, function_from_pb, party_to_pb, ts_to_pb};

/// The policy's view of a stored mandate.
fn policy_view(m: &MandateRow) -> Mandate {
    Mandate {
        mandating: m.mandating.clone(),
        mandated: m.mandated.clone(),
        valid_from: m.valid_from,
        valid_until: m.valid_until,
        ended_on: m.ended_on,
    }
}

/// A mandate as the API shows it.
pub fn mandate_to_pb(m: &MandateRow, today: Date) -> pb::Mandate {
    pb::Mandate {
        mandate_id: m.mandate_id.to_string(),
        mandating: Some(party_to_pb(&m.mandating)),
        mandated: Some(party_to_pb(&m.mandated)),
        processing_agreement: m.agreement_ref.clone(),
        valid_from: Some(date_to_pb(m.valid_from)),
        valid_until: Some(date_to_pb(m.valid_until)),
        ended_on: m.ended_on.map(date_to_pb),
        recorded_at: Some(ts_to_pb(m.recorded_at)),
        in_force: policy_view(m).in_force_on(today),
    }
}

/// Where data addressed to `recipient` goes on `on`: the mandate in force
/// for that gemeente's function, if any (then to its mandated function).
pub async fn delivery(
    state: &HubState,
    recipient: &PartyKey,
    on: Date,
) -> Result<Option<MandateRow>, HubError> {
    let rows = state.store.mandates(MandateFilter::Of(recipient)).await?;
    let views: Vec<Mandate> = rows.iter().map(policy_view).collect();
    let found = schakel_policy::delivery(&views, recipient, on).cloned();
    Ok(found.and_then(|f| rows.into_iter().find(|r| policy_view(r) == f)))
}

/// Whom the caller acts for on transfer `t`: `None` when it was delivered
/// to the caller's function itself, the mandating gemeente's function when
/// it was delivered under a mandate. With `enforce`, a mandate that no
/// longer holds (or not yet) refuses the call (R9), with `field` as path;
/// without, the call is one the mandated organisation still owes for what
/// it holds (acknowledging a withdrawal notice: deleting its copies).
pub async fn acting_for(
    state: &HubState,
    caller: &Caller,
    t: &TransferRow,
    field: &str,
    enforce: bool,
) -> Result<Option<PartyKey>, HubError> {
    let Some(id) = t.mandate_id else {
        return Ok(None);
    };
    // The transfer row names its mandate and both are checked against the
    // log: a missing mandate is damage, not a refusal.
    let m = state
        .store
        .mandate(id)
        .await?
        .ok_or_else(|| HubError::DataLoss("a transfer names a mandate that is not stored".into()))?;
    if !enforce {
        return Ok(Some(m.mandating));
    }
    let on = today(Timestamp::now())?;
    schakel_policy::check_acting(&policy_view(&m), &party_of(caller), on, field).map_err(|v| {
        let violation = Violation::rule(field, v.rule, v.message);
        match v.ground {
            schakel_policy::Ground::Case => HubError::Precondition(vec![violation]),
            schakel_policy::Ground::Request => HubError::InvalidArgument(vec![violation]),
        }
    })?;
    Ok(Some(m.mandating))
}

/// The mandates under which the caller's function receives data today (for
/// its inbox listing).
pub async fn in_force_to(state: &HubState, caller: &Caller) -> Result<Vec<Uuid>, HubError> {
    let on = today(Timestamp::now())?;
    Ok(state
        .store
        .mandates(MandateFilter::To(&party_of(caller)))
        .await?
        .iter()
        .filter(|m| policy_view(m).in_force_on(on))
        .map(|m| m.mandate_id)
        .collect())
}

/// Marks `entry` as an action for the mandating gemeente (R9): the actor
/// acted for it, and its privacy officer sees the entry.
pub fn mark_acting_for(entry: &mut Entry, gemeente: &PartyKey) {
    let oin = gemeente.0.as_str().to_owned();
    entry.actor.acting_for = Some(oin.clone());
    if let Err(at) = entry.parties.binary_search(&oin) {
        entry.parties.insert(at, oin);
    }
}

/// A directory party for a mandate's side: the organisation must be active
/// and hold the function (`NOT_FOUND` on `field` otherwise).
async fn party(
    state: &HubState,
    v: &mut Violations,
    field: &str,
    oin: Option<Oin>,
    function: Option<schakel_domain::FunctionKind>,
) -> Result<Option<(Party, schakel_domain::OrgKind)>, HubError> {
    let (Some(oin), Some(function)) = (oin, function) else {
        return Ok(None);
    };
    match state.store.get_organisation(&oin).await? {
        Some(org) if org.active && org.functions.contains(&function) => {
            match Party::new(oin, org.kind, function) {
                Ok(p) => Ok(Some((p, org.kind))),
                Err(_) => {
                    v.rule(
                        field,
                        RuleId::R9,
                        "this kind of organisation cannot hold this function",
                    );
                    Ok(None)
                }
            }
        }
        _ => {
            v.push(Violation::state(
                field,
                "not found: no active organisation with this OIN holds this function in the directory",
            ));
            Ok(None)
        }
    }
}

/// `RecordMandate`.
pub async fn record(
    state: &HubState,
    caller: &Caller,
    ctx: &RequestContext,
    r: pb::RecordMandateRequest,
) -> Result<pb::RecordMandateResponse, HubError> {
    let now = Timestamp::now();
    let on = today(now)?;
    let mut v = Violations::default();
    let mandating_oin = v.parse::<Oin>("mandating_oin", &r.mandating_oin);
    let mandated_oin = v.parse::<Oin>("mandated_oin", &r.mandated_oin);
    let function = function_from_pb(r.function);
    if function.is_none() {
        v.format("function", "name the task: participatiewet or doorstroompunt");
    }
    let valid_from = date_from_pb(&mut v, "valid_from", r.valid_from.as_ref()).or(Some(on));
    let valid_until = date_from_pb(&mut v, "valid_until", r.valid_until.as_ref());
    if r.valid_until.is_none() {
        v.format("valid_until", "a mandate names its last day");
    }
    let mandating = party(state, &mut v, "mandating_oin", mandating_oin, function).await?;
    let mandated = party(state, &mut v, "mandated_oin", mandated_oin, function).await?;
    let (Some((mandating, mandating_kind)), Some((mandated, _)), Some(valid_from), Some(valid_until)) =
        (mandating, mandated, valid_from, valid_until)
    else {
        v.finish()?;
        return Err(HubError::Internal);
    };
    let existing = state.store.mandates(MandateFilter::Of(&mandating.key())).await?;
    let new = NewMandate {
        mandating_kind,
        mandating,
        mandated,
        agreement_ref: r.processing_agreement.clone(),
        valid_from,
        valid_until,
        today: on,
    };
    let views: Vec<Mandate> = existing.iter().map(policy_view).collect();
    for violation in schakel_policy::check_new_mandate(&new, &views) {
        v.rule(violation.field_path, violation.rule, violation.message);
    }
    v.finish()?;
    let row = MandateRow {
        mandate_id: Uuid::now_v7(),
        mandating: new.mandating.key(),
        mandated: new.mandated.key(),
        agreement_ref: new.agreement_ref.trim().to_owned(),
        valid_from,
        valid_until,
        ended_on: None,
        recorded_at: now,
        ended_at: None,
    };
    let entry = change_entry(ctx, Some(caller), None, Action::MandateRecorded, &row);
    state.store.insert_mandate(&row, entry).await?;
    Ok(pb::RecordMandateResponse {
        mandate: Some(mandate_to_pb(&row, on)),
    })
}

/// `EndMandate`.
pub async fn end(
    state: &HubState,
    caller: &Caller,
    ctx: &RequestContext,
    r: pb::EndMandateRequest,
) -> Result<pb::EndMandateResponse, HubError> {
    let now = Timestamp::now();
    let on = today(now)?;
    let mut v = Violations::default();
    let id = v.parse::<Uuid>("mandate_id", &r.mandate_id);
    let given = date_from_pb(&mut v, "last_day", r.last_day.as_ref());
    v.finish()?;
    let Some(id) = id else {
        return Err(HubError::Internal);
    };
    let mut v = Violations::default();
    let m = state
        .store
        .mandate(id)
        .await?
        .ok_or(HubError::NotFound("mandate"))?;
    if m.ended_on.is_some() {
        return Err(HubError::Precondition(vec![Violation::state(
            "mandate_id",
            "the mandate was ended before; record a new one to resume",
        )]));
    }
    // Without a last day the mandate ends now: yesterday was its last day,
    // so from this moment nothing more is delivered under it.
    let last_day = match given {
        None => on.yesterday().map_err(|_| HubError::Internal)?,
        Some(d) => {
            if d < on {
                v.rule(
                    "last_day",
                    RuleId::R9,
                    "a mandate cannot be ended in the past; leave out the last day to end it now",
                );
            } else if d < m.valid_from {
                v.rule(
                    "last_day",
                    RuleId::R9,
                    "the mandate has not started by then; leave out the last day to end it now",
                );
            } else if d > m.valid_until {
                v.rule("last_day", RuleId::R9, "the mandate ends earlier by itself");
            }
            d
        }
    };
    v.finish()?;
    let mut ended = m.clone();
    ended.ended_on = Some(last_day);
    ended.ended_at = Some(now);
    let entry = change_entry(ctx, Some(caller), None, Action::MandateEnded, &ended);
    match state.store.end_mandate(id, last_day, now, entry).await {
        Ok(()) => {}
        Err(schakel_store::StoreError::Conflict(_)) => {
            return Err(HubError::Precondition(vec![Violation::state(
                "mandate_id",
                "the mandate was ended before; record a new one to resume",
            )]));
        }
        Err(e) => return Err(e.into()),
    }
    let stored = state
        .store
        .mandate(id)
        .await?
        .ok_or(HubError::NotFound("mandate"))?;
    Ok(pb::EndMandateResponse {
        mandate: Some(mandate_to_pb(&stored, on)),
    })
}

/// `ListMandates`.
pub async fn list(
    state: &HubState,
    r: pb::ListMandatesRequest,
) -> Result<pb::ListMandatesResponse, HubError> {
    let on = today(Timestamp::now())?;
    let mut v = Violations::default();
    let oin = (!r.oin.is_empty())
        .then(|| v.parse::<Oin>("oin", &r.oin))
        .flatten();
    v.finish()?;
    let all = state.store.mandates(MandateFilter::All).await?;
    Ok(pb::ListMandatesResponse {
        mandates: all
            .iter()
            .filter(|m| {
                oin.as_ref()
                    .is_none_or(|o| m.mandating.0 == *o || m.mandated.0 == *o)
            })
            .map(|m| mandate_to_pb(m, on))
            .collect(),
    })
}

/// The audit entry of recording or ending `m` by the operator (`caller`,
/// or the operator organisation `operator_oin` for the development set-up,
/// which has no caller): both organisations are parties, so both privacy officers
/// see it. The agreement reference (text the operator chose) stays out of
/// the log; the row commitment covers it.
pub(crate) fn change_entry(
    ctx: &RequestContext,
    caller: Option<&Caller>,
    operator_oin: Option<&str>,
    action: Action,
    m: &MandateRow,
) -> Entry {
    let mut e = ctx.entry(
        caller,
        operator_oin,
        action,
        Outcome::Success,
        &[m.mandating.0.as_str(), m.mandated.0.as_str()],
    );
    e.legal_basis = Some(MANDATE_LEGAL_BASIS.to_owned());
    e
}

/// The legal basis a mandate rests on, as its audit entries name it.
const MANDATE_LEGAL_BASIS: &str = "Awb art. 10:1 (mandaat); AVG art. 28 (verwerkersovereenkomst)";
