//! What the exchange services (consent, transfer, inbox, expertise) share:
//! proto ↔ domain conversions at the edge, policy facts from a request,
//! mapping policy violations to request field paths, sealing, paging tokens
//! and the audit entries of case actions.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;

use jiff::Timestamp;
use jiff::civil::Date;
use schakel_audit::{Action, Entry, Outcome, ProcessingActivity};
use schakel_crypto::{GroupPlaintext, PlainField, Recipient};
use schakel_domain::{Oin, Party, Pseudonym, PurposeId};
use schakel_policy::{Ground, Policy, Violation as PolicyViolation};
use schakel_proto::v1 as pb;
use schakel_store::{PartyKey, SealedRow, TransferRow};
use uuid::Uuid;

use super::HubState;
use crate::caller::Caller;
use crate::caller::RequestContext;
use crate::error::{HubError, Violation, Violations};
use crate::wire::{
    FieldIndex, RequestNames, decision_to_pb, decline_reason_to_pb, party_to_pb, return_to_education_pb,
    state_to_pb, ts_to_pb,
};

pub use crate::limits::{DEFAULT_PAGE, MAX_PAGE};

/// The caller as a party key.
pub fn party_of(caller: &Caller) -> PartyKey {
    (caller.party.oin().clone(), caller.party.function())
}

/// The end user must be named on case-data RPCs (common.proto): the audit
/// log records who acted, not only which system.
pub fn require_user(ctx: &RequestContext) -> Result<(), HubError> {
    let mut v = Violations::default();
    if ctx.user_id.is_none() {
        v.format(
            "metadata.x-schakel-user-id",
            "the end user acting must be named (an opaque id, never a BSN or a name)",
        );
    }
    if ctx.user_role.is_none() {
        v.format(
            "metadata.x-schakel-user-role",
            "the end user's role must be given",
        );
    }
    v.finish()
}

/// The calendar date in Europe/Amsterdam of `now` (the policy's "today").
pub fn today(now: Timestamp) -> Result<Date, HubError> {
    schakel_domain::dates::amsterdam_date(now).map_err(|_| HubError::Internal)
}

/// The end of a civil date in Europe/Amsterdam (the last instant content
/// may be kept under a retention date, inclusive).
pub fn end_of_day(d: Date) -> Timestamp {
    d.tomorrow()
        .ok()
        .and_then(|t| t.to_zoned(jiff::tz::TimeZone::get("Europe/Amsterdam").ok()?).ok())
        .map(|z| z.timestamp())
        .unwrap_or(Timestamp::MAX)
}

/// A recipient party named in a request, checked against the directory.
pub struct ResolvedParty {
    /// The party as policy facts see it.
    pub party: Party,
    /// Its Doorstroompuntregio, from the directory (whose overgangsdocument
    /// format applies, R12): read with the party, not again.
    pub doorstroompunt_regio: Option<String>,
}

/// Resolves a party key read from a request (`wire::party_key`) to a
/// registered, active organisation function; `None` (with a violation on
/// `field` when the directory does not hold it) otherwise.
pub async fn resolve(
    state: &HubState,
    v: &mut Violations,
    field: &str,
    key: Option<PartyKey>,
) -> Result<Option<ResolvedParty>, HubError> {
    let Some((oin, function)) = key else {
        return Ok(None);
    };
    let org = state.store.get_organisation(&oin).await?;
    match org {
        Some(org) if org.active && org.functions.contains(&function) => {
            // The directory registers only functions an organisation can
            // hold: a row that says otherwise was not written by this hub.
            let party = Party::new(oin, org.kind, function).map_err(|_| {
                tracing::error!("a stored organisation holds a function its kind cannot hold");
                HubError::DataLoss("a stored organisation holds a function its kind cannot hold".into())
            })?;
            Ok(Some(ResolvedParty {
                party,
                doorstroompunt_regio: org.doorstroompunt_regio,
            }))
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

/// Every key the caller's function ever registered, revoked or expired ones
/// included (old ciphertext stays readable with old identities): what it
/// can open, and so what it is given.
pub async fn own_key_ids(state: &HubState, caller: &Caller) -> Result<BTreeSet<Uuid>, HubError> {
    Ok(state
        .store
        .recipients_of(caller.party.oin())
        .await?
        .into_iter()
        .filter(|k| k.function == caller.party.function())
        .map(|k| k.key_id)
        .collect())
}

/// The keys new content for a function is sealed to: valid now and not
/// revoked (DESIGN.md §3; key rotation keeps old ciphertext readable with
/// old identities).
pub async fn current_keys(
    state: &HubState,
    party: &PartyKey,
    now: Timestamp,
) -> Result<Vec<(Uuid, Recipient)>, HubError> {
    let keys = state.store.recipients_of(&party.0).await?;
    let mut out = Vec::new();
    for k in keys {
        let current = k.function == party.1
            && k.revoked_at.is_none()
            && k.valid_from <= now
            && k.valid_until.is_none_or(|u| now < u);
        if !current {
            continue;
        }
        match schakel_crypto::parse_recipient(&k.age_recipient) {
            Ok(r) => out.push((k.key_id, r)),
            Err(_) => tracing::error!(key_id = %k.key_id, "registered age recipient does not parse; skipped"),
        }
    }
    Ok(out)
}

/// One group to seal with the purpose it is bound to.
pub struct ToSeal {
    /// The plaintext (zeroized on drop).
    pub plain: GroupPlaintext,
    /// The purpose.
    pub purpose: PurposeId,
}

/// The policy decision (R1–R19) for `facts`, in a `policy.decide` span.
pub fn decide(
    facts: &schakel_policy::Facts,
    policy: &schakel_policy::Policy,
    on: jiff::civil::Date,
) -> schakel_policy::Decision {
    tracing::info_span!("policy.decide").in_scope(|| schakel_policy::decide(facts, policy, on))
}

/// Seals the groups to every key in `keys`, off the async runtime: one age
/// file per purpose holding all the groups bound to it, in order (issue 7:
/// one X25519 per key per document, not per group; R8/R9 binding is per
/// purpose and key, so nothing is shared across purposes). The plaintext is
/// dropped — and zeroized — as soon as it is sealed.
///
/// Each unit carries, sealed inside it, its binding to `record` (the
/// transfer or expertise request), `to` (the addressee), its purpose and
/// group names, so a unit moved to another record in the database is
/// refused by the receiver (`schakel_client::open_record_groups`).
#[tracing::instrument(name = "seal", skip_all, fields(groups = groups.len(), recipients = keys.len()))]
pub async fn seal_all(
    groups: Vec<ToSeal>,
    keys: Vec<(Uuid, Recipient)>,
    record: Uuid,
    to: &PartyKey,
) -> Result<Vec<SealedRow>, HubError> {
    if keys.is_empty() || groups.is_empty() {
        return Err(HubError::Internal);
    }
    let record = record.to_string();
    let recipient = binding_party(to);
    tokio::task::spawn_blocking(move || {
        let recipients: Vec<&Recipient> = keys.iter().map(|(_, r)| r).collect();
        let key_ids: Vec<Uuid> = keys.iter().map(|(id, _)| *id).collect();
        let mut units: Vec<(PurposeId, Vec<GroupPlaintext>)> = Vec::new();
        for g in groups {
            match units.iter_mut().find(|(p, _)| *p == g.purpose) {
                Some((_, plain)) => plain.push(g.plain),
                None => units.push((g.purpose, vec![g.plain])),
            }
        }
        units
            .into_iter()
            .map(|(purpose, plain)| {
                let binding = schakel_crypto::SealBinding {
                    record: record.clone(),
                    purpose: purpose.as_str().to_owned(),
                    recipient: recipient.clone(),
                    groups: plain.iter().map(|g| g.group.clone()).collect(),
                };
                let ciphertext = schakel_crypto::seal_bound(&plain, &binding, &recipients).map_err(|e| {
                    tracing::error!(error = %e, "sealing failed");
                    HubError::Internal
                })?;
                Ok(SealedRow {
                    groups: plain.iter().map(|g| g.group.clone()).collect(),
                    purpose,
                    key_ids: key_ids.clone(),
                    ciphertext,
                })
            })
            .collect::<Result<Vec<_>, HubError>>()
    })
    .await
    .map_err(|_| HubError::Internal)?
}

/// A party as a sealed binding names it: `<OIN>/<function>`.
pub fn binding_party(p: &PartyKey) -> String {
    format!("{}/{}", p.0.as_str(), p.1.as_str())
}

/// A `meta.*` group of free texts (`key` → text), e.g. justifications.
pub fn meta_group(name: &str, fields: impl IntoIterator<Item = (String, String)>) -> GroupPlaintext {
    GroupPlaintext {
        group: name.to_owned(),
        fields: fields
            .into_iter()
            .map(|(key, value)| PlainField { key, value })
            .collect(),
    }
}

// ---- policy violations → request field paths ----

/// The refusal of a request: the hub's own findings (form problems, what
/// the directory does not hold) first, then the policy's at the request's
/// field paths. The code follows from the types, here only:
/// `FAILED_PRECONDITION` when the hub found nothing and every policy
/// violation is on the ground of the case ([`schakel_policy::Ground`]: the
/// youth's facts, the consent, the date, an open request, a key),
/// `INVALID_ARGUMENT` otherwise.
pub fn refusal(
    own: Violations,
    policy: &[PolicyViolation],
    idx: &FieldIndex,
    names: &RequestNames,
) -> HubError {
    let case = own.is_empty() && policy.iter().all(|v| v.ground == Ground::Case);
    let mut all = own.into_vec();
    all.extend(
        policy
            .iter()
            .map(|v| Violation::rule(idx.request_path(v, names), v.rule, v.message.clone())),
    );
    if case {
        HubError::Precondition(all)
    } else {
        HubError::InvalidArgument(all)
    }
}

/// A transfer's clear metadata as both sides see it. `reason_text` is the
/// sealed decision text, when loaded; `acting_for` the mandating gemeente's
/// function when it was delivered under a mandate (R9).
pub fn transfer_to_pb(
    t: &TransferRow,
    sender_name: String,
    recipient_name: String,
    reason_text: Option<pb::SealedGroup>,
    acting_for: Option<&PartyKey>,
) -> pb::Transfer {
    let decision = t.decision.map(|d| pb::TransferDecision {
        kind: decision_to_pb(d) as i32,
        reason: t
            .decline_reason
            .map(decline_reason_to_pb)
            .unwrap_or(pb::DeclineReason::Unspecified) as i32,
        decided_at: t.decided_at.map(ts_to_pb),
        decided_by_role: t.decided_by_role.clone().unwrap_or_default(),
        reason_text,
    });
    let withdrawal = t.withdrawn_at.map(|at| pb::TransferWithdrawal {
        consent_id: t.consent_id.map(|c| c.to_string()).unwrap_or_default(),
        withdrawn_at: Some(ts_to_pb(at)),
        fetched_before_withdrawal: t.notice_id.is_some(),
        notice_id: t.notice_id.map(|n| n.to_string()).unwrap_or_default(),
        notice_acknowledged_at: t.notice_acknowledged_at.map(ts_to_pb),
        recipient_confirmed_deletion: t.notice_confirmed_deletion,
    });
    pb::Transfer {
        transfer_id: t.transfer_id.to_string(),
        purpose: t.purpose.as_str().to_owned(),
        sender: Some(party_to_pb(&t.sender)),
        recipient: Some(party_to_pb(&t.recipient)),
        state: state_to_pb(t.state) as i32,
        groups: t.groups.clone(),
        consent_id: t.consent_id.map(|c| c.to_string()).unwrap_or_default(),
        policy_version: t.policy_version.clone(),
        hardheidsclausule: t.hardheidsclausule,
        return_to_education: return_to_education_pb(t.return_to_education.as_deref()) as i32,
        submitted_at: Some(ts_to_pb(t.submitted_at)),
        first_fetched_at: t.first_fetched_at.map(ts_to_pb),
        acknowledged_at: t.acknowledged_at.map(ts_to_pb),
        decision,
        withdrawal,
        retention_until: Some(ts_to_pb(t.retention_until)),
        purged_at: t.purged_at.map(ts_to_pb),
        sender_name,
        recipient_name,
        acting_for: acting_for.map(party_to_pb),
        mandate_id: t.mandate_id.map(|m| m.to_string()).unwrap_or_default(),
    }
}

/// Organisation names for display, and the gemeenten mandated transfers
/// were delivered for, looked up once per listing.
#[derive(Default)]
pub struct Names {
    names: BTreeMap<Oin, String>,
    mandating: BTreeMap<Uuid, PartyKey>,
}

impl Names {
    /// The name of `oin` (empty when unknown).
    pub async fn of(&mut self, state: &HubState, oin: &Oin) -> Result<String, HubError> {
        if let Some(n) = self.names.get(oin) {
            return Ok(n.clone());
        }
        let name = state
            .store
            .get_organisation(oin)
            .await?
            .map(|o| o.name)
            .unwrap_or_default();
        self.names.insert(oin.clone(), name.clone());
        Ok(name)
    }

    /// A transfer with both names filled in.
    pub async fn transfer(
        &mut self,
        state: &HubState,
        t: &TransferRow,
        reason_text: Option<pb::SealedGroup>,
    ) -> Result<pb::Transfer, HubError> {
        let s = self.of(state, &t.sender.0).await?;
        let r = self.of(state, &t.recipient.0).await?;
        let acting_for = match t.mandate_id {
            None => None,
            Some(id) => {
                if let std::collections::btree_map::Entry::Vacant(slot) = self.mandating.entry(id) {
                    let m = state.store.mandate(id).await?.ok_or_else(|| {
                        HubError::DataLoss("a transfer names a mandate that is not stored".into())
                    })?;
                    slot.insert(m.mandating);
                }
                self.mandating.get(&id)
            }
        };
        Ok(transfer_to_pb(t, s, r, reason_text, acting_for))
    }
}

// ---- paging ----

/// Page size from a request: 0 → default, clamped to the maximum.
pub fn page_size(n: i32) -> u32 {
    match u32::try_from(n) {
        Ok(0) | Err(_) => DEFAULT_PAGE,
        Ok(n) => n.min(MAX_PAGE),
    }
}

/// An opaque page token: the last id of the page and a fingerprint of the
/// filters, so a token used with other filters is refused.
pub fn page_token(state: &HubState, last: Uuid, filters: &[u8]) -> String {
    let fp = state.pseudonymiser.fingerprint("page", filters);
    let mut bytes = last.as_bytes().to_vec();
    bytes.extend_from_slice(&fp[..8]);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Reads a page token; `None` for the first page.
pub fn read_page_token(state: &HubState, v: &mut Violations, token: &str, filters: &[u8]) -> Option<Uuid> {
    if token.is_empty() {
        return None;
    }
    let fp = state.pseudonymiser.fingerprint("page", filters);
    let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok();
    match decoded {
        Some(b) if b.len() == 24 && b[16..] == fp[..8] => Uuid::from_slice(&b[..16]).ok(),
        _ => {
            v.format(
                "page_token",
                "not a page token of this listing with these filters",
            );
            None
        }
    }
}

/// Cuts a listing fetched with one extra row into a page and the next token.
pub fn paginate<T>(
    state: &HubState,
    mut rows: Vec<T>,
    size: u32,
    id: impl Fn(&T) -> Uuid,
    filters: &[u8],
) -> (Vec<T>, String) {
    let more = rows.len() > size as usize;
    rows.truncate(size as usize);
    let next = match (more, rows.last()) {
        (true, Some(last)) => page_token(state, id(last), filters),
        _ => String::new(),
    };
    (rows, next)
}

/// One page of a party's transfers (sent or received) as the API shows
/// them. `v` holds the filter problems found so far; `filters` is the
/// encoded request without paging, which the page token is bound to.
pub async fn transfer_page(
    state: &HubState,
    party: &PartyKey,
    side: schakel_store::Side,
    filter: &schakel_store::TransferFilter,
    mut v: Violations,
    (token, size): (&str, u32),
    filters: &[u8],
) -> Result<(Vec<pb::Transfer>, String), HubError> {
    let after = read_page_token(state, &mut v, token, filters);
    v.finish()?;
    let rows = state
        .store
        .list_transfers(party, side, filter, after, size + 1)
        .await?;
    let (rows, next) = paginate(state, rows, size, |t| t.transfer_id.uuid(), filters);
    let mut names = Names::default();
    let mut transfers = Vec::with_capacity(rows.len());
    for t in &rows {
        transfers.push(names.transfer(state, t, None).await?);
    }
    Ok((transfers, next))
}

// ---- audit ----

/// What a case action's audit entry names besides actor and outcome.
#[derive(Default)]
pub struct CaseFacts<'a> {
    /// The purpose served.
    pub purpose: Option<&'a PurposeId>,
    /// The subject pseudonym.
    pub subject: Option<&'a Pseudonym>,
    /// The transfer (or expertise request) concerned.
    pub transfer_id: Option<Uuid>,
    /// The consent concerned.
    pub consent_id: Option<Uuid>,
    /// Groups touched.
    pub groups: Vec<String>,
    /// Other organisations party to the action.
    pub parties: Vec<&'a Oin>,
}

/// The audit entry of a case action: processing activity (purpose + policy
/// version) and legal basis from the policy (Logboek Dataverwerkingen).
pub fn case_entry(
    ctx: &RequestContext,
    caller: &Caller,
    policy: &Policy,
    action: Action,
    outcome: Outcome,
    facts: CaseFacts<'_>,
) -> Entry {
    let parties: Vec<&str> = facts
        .parties
        .iter()
        .map(|o| o.as_str())
        .filter(|o| *o != caller.party.oin().as_str())
        .collect();
    let mut e = ctx.entry(Some(caller), None, action, outcome, &parties);
    if let Some(p) = facts.purpose {
        e.activity = Some(ProcessingActivity {
            purpose: p.as_str().to_owned(),
            policy_version: policy.version().to_owned(),
        });
        e.legal_basis = policy
            .purpose_versions(p)
            .next()
            .map(|p| p.legal_refs.join("; "))
            .filter(|s| !s.is_empty())
            .map(|s| s.chars().take(500).collect());
    }
    e.subject = facts.subject.map(|p| p.as_str().to_owned());
    e.transfer_id = facts.transfer_id;
    e.consent_id = facts.consent_id;
    let mut groups = facts.groups;
    groups.retain(|g| !g.is_empty() && g.len() <= 128 && g.bytes().all(|b| b.is_ascii_graphic()));
    groups.sort();
    groups.dedup();
    e.groups = groups;
    e
}

/// Marks the audit entry of an action that rests on the gemeente's
/// hardheidsclausule decision (R2): the flag in the canonical entry, and
/// art. 7a lid 7 in its legal basis, so query, export and the subject access
/// report show it.
pub fn mark_hardheidsclausule(e: &mut Entry) {
    e.flags = vec![schakel_audit::FLAG_HARDHEIDSCLAUSULE.to_owned()];
    let basis = schakel_policy::HARDHEIDSCLAUSULE_LEGAL_BASIS;
    e.legal_basis = Some(match e.legal_basis.take() {
        Some(b) => format!("{b}; {basis}"),
        None => basis.to_owned(),
    });
}

/// Retries a read-decide-write action when another request changed the
/// record in between (conditional updates answer `Conflict`).
pub const TRANSITION_ATTEMPTS: usize = 3;

/// Whether a store error means "changed under us, read again".
pub fn is_race(e: &schakel_store::StoreError) -> bool {
    matches!(e, schakel_store::StoreError::Conflict(_))
}
