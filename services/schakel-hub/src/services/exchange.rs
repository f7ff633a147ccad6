//! What the exchange services (consent, transfer, inbox, expertise) share:
//! proto ↔ domain conversions at the edge, policy facts from a request,
//! mapping policy violations to request field paths, sealing, paging tokens
//! and the audit entries of case actions.

use std::collections::BTreeMap;

use base64::Engine;
use jiff::Timestamp;
use jiff::civil::Date;
use schakel_audit::{Action, Entry, Outcome, ProcessingActivity};
use schakel_crypto::{GroupPlaintext, PlainField, Recipient};
use schakel_domain::{
    ConsentGiver, ConsentMethod, Oin, Party, PurposeId, SchoolType, TransferState, VsoExitProfile,
};
use schakel_policy::{Ground, Policy, Violation as PolicyViolation};
use schakel_proto::v1 as pb;
use schakel_store::{PartyKey, SealedRow, TransferRow};
use uuid::Uuid;

use super::HubState;
use crate::caller::Caller;
use crate::caller::RequestContext;
use crate::convert::{function_from_pb, function_to_pb, ts_to_pb};
use crate::error::{HubError, Violation, Violations};

pub use crate::limits::{
    DEFAULT_PAGE, MAX_FIELD_KEY, MAX_FIELD_VALUE, MAX_FIELDS, MAX_GROUPS, MAX_IDEMPOTENCY_KEY, MAX_PAGE,
    MAX_REFERENCE, MAX_TEXT,
};

/// The caller as a party key.
pub fn party_of(caller: &Caller) -> PartyKey {
    (caller.organisation.oin.clone(), caller.function)
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

/// Checks a caller-chosen key (idempotency key) of 1–128 printable
/// characters, holding no number that could be a BSN.
pub fn check_key(v: &mut Violations, field: &str, key: &str) {
    if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY || !key.bytes().all(|b| b.is_ascii_graphic()) {
        v.format(
            field,
            format!("must be 1 to {MAX_IDEMPOTENCY_KEY} printable characters without spaces"),
        );
    } else if schakel_domain::holds_possible_bsn(key) {
        // Keys are stored in clear beside the record, to answer retries:
        // personal data must not be one.
        v.format(
            field,
            "must not contain a number that could be a BSN (9 digits passing the elfproef)",
        );
    }
}

/// Checks an opaque reference (no personal data; bounded, single line).
pub fn check_reference(v: &mut Violations, field: &str, r: &str) {
    if r.chars().count() > MAX_REFERENCE || r.chars().any(char::is_control) {
        v.format(
            field,
            format!("must be at most {MAX_REFERENCE} characters on one line"),
        );
    } else if digits_run(r) >= 9 {
        // A run of 9 digits looks like a BSN: references must not hold
        // personal data, and a BSN in clear metadata would leak.
        v.format(
            field,
            "must not contain personal data such as a BSN (a run of 9 or more digits)",
        );
    }
}

fn digits_run(s: &str) -> usize {
    let (mut best, mut run) = (0, 0);
    for c in s.chars() {
        run = if c.is_ascii_digit() { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

/// Checks a free text (sealed before storage) for length.
pub fn check_text(v: &mut Violations, field: &str, text: &str, max: usize) {
    if text.chars().count() > max {
        v.format(field, format!("must be at most {max} characters"));
    }
}

/// Parses an id field holding a UUID.
pub fn parse_id(v: &mut Violations, field: &str, s: &str) -> Option<Uuid> {
    match Uuid::parse_str(s) {
        Ok(u) => Some(u),
        Err(_) => {
            v.format(field, "must be a UUID");
            None
        }
    }
}

/// Parses an id that names an object: a malformed id cannot name anything
/// the caller may see, so it answers `NOT_FOUND` like an unknown one.
pub fn id_or_not_found(s: &str, what: &'static str) -> Result<Uuid, HubError> {
    Uuid::parse_str(s).map_err(|_| HubError::NotFound(what))
}

/// Proto → civil date; `None` when unset, a violation when invalid.
pub fn date_from_pb(v: &mut Violations, field: &str, d: Option<&pb::Date>) -> Option<Date> {
    let d = d?;
    let ok = i16::try_from(d.year)
        .ok()
        .zip(i8::try_from(d.month).ok())
        .zip(i8::try_from(d.day).ok())
        .and_then(|((y, m), day)| Date::new(y, m, day).ok())
        .filter(|d| (1900..=2200).contains(&d.year()));
    if ok.is_none() {
        v.format(field, "not a valid calendar date");
    }
    ok
}

/// Civil date → proto.
pub fn date_to_pb(d: Date) -> pb::Date {
    pb::Date {
        year: i32::from(d.year()),
        month: i32::from(d.month()),
        day: i32::from(d.day()),
    }
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

/// Resolves a `PartyRef` to a registered, active organisation function.
/// Problems are violations on `field`.
pub async fn resolve_party(
    state: &HubState,
    v: &mut Violations,
    field: &str,
    r: Option<&pb::PartyRef>,
) -> Result<Option<ResolvedParty>, HubError> {
    let Some(r) = r else {
        v.format(field, "the party must be given");
        return Ok(None);
    };
    let oin = v.parse::<Oin>(&format!("{field}.oin"), &r.oin);
    let function = function_from_pb(r.function);
    if function.is_none() {
        v.format(format!("{field}.function"), "the function must be set");
    }
    let (Some(oin), Some(function)) = (oin, function) else {
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

/// The caller as a policy party.
pub fn caller_party(caller: &Caller) -> Result<Party, HubError> {
    Party::new(
        caller.organisation.oin.clone(),
        caller.organisation.kind,
        caller.function,
    )
    .map_err(|_| HubError::Internal)
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

/// A stored sealed unit as the API shows it: `group` for one group,
/// `groups` for several (common.proto `SealedGroup`).
pub fn sealed_to_pb(s: &SealedRow) -> pb::SealedGroup {
    let (group, groups) = match s.groups.as_slice() {
        [one] => (one.clone(), Vec::new()),
        several => (String::new(), several.to_vec()),
    };
    pb::SealedGroup {
        group,
        groups,
        purpose: s.purpose.as_str().to_owned(),
        key_ids: s.key_ids.iter().map(Uuid::to_string).collect(),
        ciphertext: s.ciphertext.clone(),
    }
}

/// A party key as the API shows it.
pub fn party_to_pb(p: &PartyKey) -> pb::PartyRef {
    pb::PartyRef {
        oin: p.0.to_string(),
        function: function_to_pb(p.1) as i32,
    }
}

// ---- policy violations → request field paths ----

/// Where the groups and fields of a request are, so a policy path
/// (`contact.youth.postcode`, `fields[3]`) can be shown as the request's path
/// (`groups[1].fields[0].key`).
#[derive(Default)]
pub struct FieldIndex {
    /// Policy path of each field, in `Facts::fields` order, with its position.
    positions: Vec<(String, usize, usize)>,
    groups: BTreeMap<String, usize>,
}

impl FieldIndex {
    /// Indexes the groups of a request and returns the policy field paths.
    pub fn new(groups: &[pb::FieldGroup]) -> (Self, Vec<String>) {
        let mut idx = Self::default();
        let mut paths = Vec::new();
        for (i, g) in groups.iter().enumerate() {
            idx.groups.entry(g.name.clone()).or_insert(i);
            for (j, f) in g.fields.iter().enumerate() {
                let path = format!("{}.{}", g.name, f.key);
                idx.positions.push((path.clone(), i, j));
                paths.push(path);
            }
        }
        (idx, paths)
    }

    fn group_path(&self, group: &str) -> Option<String> {
        self.groups.get(group).map(|i| format!("groups[{i}].name"))
    }

    fn field_path(&self, path: &str) -> Option<String> {
        if let Some(n) = path.strip_prefix("fields[").and_then(|r| r.strip_suffix(']')) {
            let k: usize = n.parse().ok()?;
            let (_, i, j) = self.positions.get(k)?;
            return Some(format!("groups[{i}].fields[{j}].key"));
        }
        self.positions
            .iter()
            .find(|(p, _, _)| p == path)
            .map(|(_, i, j)| format!("groups[{i}].fields[{j}].key"))
    }

    /// The request path of a policy violation (see transfer.proto `Submit`).
    pub fn request_path(&self, v: &PolicyViolation, names: &RequestNames) -> String {
        let p = v.field_path.as_str();
        // R16 in free text: the value's own path.
        if let Some(key) = p.strip_suffix(".value").and_then(|f| self.field_path(f)) {
            return format!("{}.value", key.trim_end_matches(".key"));
        }
        let subject = |f: &str| format!("{}.{f}", names.subject);
        match p {
            "identity.date_of_birth" => subject("date_of_birth"),
            "school_career.school_type" => subject("school_type"),
            "school_career.leave_date" => subject("leaving_date"),
            "school_career.diploma_date" => subject("diploma_date"),
            "school_career.startkwalificatie" => subject("startkwalificatie"),
            "school_career.vso_exit_profile" => subject("vso_exit_profile"),
            "hardheidsclausule" => "hardheidsclausule_justification".into(),
            "purpose" | "sender.kind" | "sender.function" | "retention" => "purpose".into(),
            "keys.sender" => names.sender_copy.into(),
            "recipient.kind" | "recipient.function" | "keys.recipient" => names.recipient.into(),
            "expertise_request" => "request_id".into(),
            "return_to_education" => "return_to_education".into(),
            "fields" => "groups".into(),
            _ if p == "consent" || p.starts_with("consent.") => "consent_id".into(),
            _ => {
                if let Some(g) = self.group_path(p) {
                    // R8: the missing justification is the problem, not the group.
                    if v.rule == schakel_policy::RuleId::R8 {
                        return format!("justifications[{p}]");
                    }
                    return g;
                }
                self.field_path(p).unwrap_or_else(|| "groups".into())
            }
        }
    }
}

/// What one request calls the parts the policy names: the facts about the
/// youth, the recipient and what the sender keeps a sealed copy of
/// (`Submit`: `subject`, `recipient`, `purpose`; `RequestExpertise`:
/// `doorstroompunt`; `GiveAdvice`: `request_id`, `advice_text`).
#[derive(Debug, Clone, Copy)]
pub struct RequestNames {
    /// The field holding the subject facts.
    pub subject: &'static str,
    /// The field naming the recipient.
    pub recipient: &'static str,
    /// The field a missing key of the sender's own function is shown at.
    pub sender_copy: &'static str,
}

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

// ---- proto enums ↔ domain ----

/// Proto school type → domain; `None` when unset or unknown.
pub fn school_type_from_pb(v: i32) -> Option<SchoolType> {
    match pb::SchoolType::try_from(v).ok()? {
        pb::SchoolType::Unspecified => None,
        pb::SchoolType::Pro => Some(SchoolType::Pro),
        pb::SchoolType::Vso => Some(SchoolType::Vso),
        pb::SchoolType::Mbo => Some(SchoolType::Mbo),
        pb::SchoolType::Hbo => Some(SchoolType::Hbo),
        pb::SchoolType::Wo => Some(SchoolType::Wo),
        pb::SchoolType::Vo => Some(SchoolType::Vo),
    }
}

/// Proto vso exit profile → domain.
pub fn vso_exit_from_pb(v: i32) -> Option<VsoExitProfile> {
    match pb::VsoExitProfile::try_from(v).ok()? {
        pb::VsoExitProfile::Unspecified => None,
        pb::VsoExitProfile::Vervolgonderwijs => Some(VsoExitProfile::Vervolgonderwijs),
        pb::VsoExitProfile::Arbeidsmarkt => Some(VsoExitProfile::Arbeidsmarkt),
        pb::VsoExitProfile::Dagbesteding => Some(VsoExitProfile::Dagbesteding),
    }
}

/// Proto consent giver → domain.
pub fn giver_from_pb(v: i32) -> Option<ConsentGiver> {
    match pb::ConsentGiver::try_from(v).ok()? {
        pb::ConsentGiver::Unspecified => None,
        pb::ConsentGiver::Youth => Some(ConsentGiver::Youth),
        pb::ConsentGiver::Parent => Some(ConsentGiver::Parent),
        pb::ConsentGiver::Guardian => Some(ConsentGiver::Guardian),
        pb::ConsentGiver::Representative => Some(ConsentGiver::Representative),
    }
}

/// Domain consent giver → proto.
pub fn giver_to_pb(g: ConsentGiver) -> pb::ConsentGiver {
    match g {
        ConsentGiver::Youth => pb::ConsentGiver::Youth,
        ConsentGiver::Parent => pb::ConsentGiver::Parent,
        ConsentGiver::Guardian => pb::ConsentGiver::Guardian,
        ConsentGiver::Representative => pb::ConsentGiver::Representative,
    }
}

/// Proto consent method → domain.
pub fn method_from_pb(v: i32) -> Option<ConsentMethod> {
    match pb::ConsentMethod::try_from(v).ok()? {
        pb::ConsentMethod::Unspecified => None,
        pb::ConsentMethod::Written => Some(ConsentMethod::Written),
        pb::ConsentMethod::Digital => Some(ConsentMethod::Digital),
        pb::ConsentMethod::VerbalRecorded => Some(ConsentMethod::Verbal),
    }
}

/// Domain consent method → proto.
pub fn method_to_pb(m: ConsentMethod) -> pb::ConsentMethod {
    match m {
        ConsentMethod::Written => pb::ConsentMethod::Written,
        ConsentMethod::Digital => pb::ConsentMethod::Digital,
        ConsentMethod::Verbal => pb::ConsentMethod::VerbalRecorded,
    }
}

/// Domain transfer state → the state the API shows (the withdrawal details
/// travel in `Transfer.withdrawal`).
pub fn state_to_pb(s: TransferState) -> pb::TransferState {
    match s {
        TransferState::Submitted => pb::TransferState::Available,
        TransferState::Delivered => pb::TransferState::Fetched,
        TransferState::Acknowledged => pb::TransferState::Acknowledged,
        TransferState::Accepted => pb::TransferState::Accepted,
        TransferState::Declined => pb::TransferState::Declined,
        TransferState::Withdrawn
        | TransferState::WithdrawalNotified
        | TransferState::WithdrawalAcknowledged => pb::TransferState::Withdrawn,
        TransferState::Purged => pb::TransferState::Purged,
    }
}

/// API state filter → the domain states it covers; violation when unknown.
pub fn states_from_pb(v: &mut Violations, field: &str, states: &[i32]) -> Vec<TransferState> {
    let mut out = Vec::new();
    for (i, s) in states.iter().enumerate() {
        match pb::TransferState::try_from(*s) {
            Ok(pb::TransferState::Unspecified) => {}
            Ok(pb::TransferState::Available) => out.push(TransferState::Submitted),
            Ok(pb::TransferState::Fetched) => out.push(TransferState::Delivered),
            Ok(pb::TransferState::Acknowledged) => out.push(TransferState::Acknowledged),
            Ok(pb::TransferState::Accepted) => out.push(TransferState::Accepted),
            Ok(pb::TransferState::Declined) => out.push(TransferState::Declined),
            Ok(pb::TransferState::Withdrawn) => out.extend([
                TransferState::Withdrawn,
                TransferState::WithdrawalNotified,
                TransferState::WithdrawalAcknowledged,
            ]),
            Ok(pb::TransferState::Purged) => out.push(TransferState::Purged),
            Err(_) => v.format(format!("{field}[{i}]"), "unknown transfer state"),
        }
    }
    out
}

/// Decline reason code ↔ proto.
pub fn decline_reason_code(r: pb::DeclineReason) -> Option<&'static str> {
    Some(match r {
        pb::DeclineReason::Unspecified => return None,
        pb::DeclineReason::NotResident => "not_resident",
        pb::DeclineReason::OutsideTargetGroup => "outside_target_group",
        pb::DeclineReason::YouthDeclinedSupport => "youth_declined_support",
        pb::DeclineReason::AlreadySupported => "already_supported",
        pb::DeclineReason::InsufficientInformation => "insufficient_information",
        pb::DeclineReason::OtherRoute => "other_route",
        pb::DeclineReason::Other => "other",
    })
}

fn decline_reason_from_code(code: &str) -> pb::DeclineReason {
    [
        pb::DeclineReason::NotResident,
        pb::DeclineReason::OutsideTargetGroup,
        pb::DeclineReason::YouthDeclinedSupport,
        pb::DeclineReason::AlreadySupported,
        pb::DeclineReason::InsufficientInformation,
        pb::DeclineReason::OtherRoute,
        pb::DeclineReason::Other,
    ]
    .into_iter()
    .find(|r| decline_reason_code(*r) == Some(code))
    .unwrap_or(pb::DeclineReason::Unspecified)
}

/// The sender's judgement on return to education (R6) as a policy fact.
pub fn return_to_education_fact(v: i32) -> Option<schakel_policy::ReturnToEducation> {
    match pb::ReturnToEducation::try_from(v).ok()? {
        pb::ReturnToEducation::Unspecified => None,
        pb::ReturnToEducation::NotPossible => Some(schakel_policy::ReturnToEducation::NotPossible),
        pb::ReturnToEducation::Possible => Some(schakel_policy::ReturnToEducation::Possible),
    }
}

/// The stored code of the sender's judgement on return to education (R6).
pub fn return_to_education_code(v: i32) -> Option<&'static str> {
    match pb::ReturnToEducation::try_from(v).ok()? {
        pb::ReturnToEducation::Unspecified => None,
        pb::ReturnToEducation::NotPossible => Some("not_possible"),
        pb::ReturnToEducation::Possible => Some("possible"),
    }
}

fn return_to_education_pb(code: Option<&str>) -> pb::ReturnToEducation {
    match code {
        Some("not_possible") => pb::ReturnToEducation::NotPossible,
        Some("possible") => pb::ReturnToEducation::Possible,
        _ => pb::ReturnToEducation::Unspecified,
    }
}

/// A transfer's clear metadata as both sides see it. `reason_text` is the
/// sealed decision text, when loaded.
pub fn transfer_to_pb(
    t: &TransferRow,
    sender_name: String,
    recipient_name: String,
    reason_text: Option<pb::SealedGroup>,
) -> pb::Transfer {
    let decision = t.decision.as_deref().map(|d| pb::TransferDecision {
        kind: match d {
            "accept" => pb::DecisionKind::Accept,
            "decline" => pb::DecisionKind::Decline,
            _ => pb::DecisionKind::Unspecified,
        } as i32,
        reason: t
            .decline_reason
            .as_deref()
            .map(decline_reason_from_code)
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
    }
}

/// Organisation names for display, looked up once per listing.
#[derive(Default)]
pub struct Names(BTreeMap<Oin, String>);

impl Names {
    /// The name of `oin` (empty when unknown).
    pub async fn of(&mut self, state: &HubState, oin: &Oin) -> Result<String, HubError> {
        if let Some(n) = self.0.get(oin) {
            return Ok(n.clone());
        }
        let name = state
            .store
            .get_organisation(oin)
            .await?
            .map(|o| o.name)
            .unwrap_or_default();
        self.0.insert(oin.clone(), name.clone());
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
        Ok(transfer_to_pb(t, s, r, reason_text))
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
    let (rows, next) = paginate(state, rows, size, |t| t.transfer_id, filters);
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
    pub subject: Option<&'a str>,
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
        .filter(|o| *o != caller.organisation.oin.as_str())
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
    e.subject = facts.subject.map(str::to_owned);
    e.transfer_id = facts.transfer_id;
    e.consent_id = facts.consent_id;
    let mut groups = facts.groups;
    groups.retain(|g| !g.is_empty() && g.len() <= 128 && g.bytes().all(|b| b.is_ascii_graphic()));
    groups.sort();
    groups.dedup();
    e.groups = groups;
    e
}

/// Retries a read-decide-write action when another request changed the
/// record in between (conditional updates answer `Conflict`).
pub const TRANSITION_ATTEMPTS: usize = 3;

/// Whether a store error means "changed under us, read again".
pub fn is_race(e: &schakel_store::StoreError) -> bool {
    matches!(e, schakel_store::StoreError::Conflict(_))
}
