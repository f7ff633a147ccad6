//! JSON and text forms of the exchange's clear metadata: transfers,
//! consents, expertise requests, advice and withdrawal notices. None of
//! these carry a BSN, a name of a youth or document content.

use schakel_proto::v1 as pb;
use serde_json::{Value, json};

use crate::names::{self, name};

/// A timestamp as RFC 3339 in UTC, to the millisecond (what the hub
/// stores).
pub fn ts_string(t: &prost_types::Timestamp) -> String {
    jiff::Timestamp::new(t.seconds, t.nanos)
        .ok()
        .and_then(|x| x.round(jiff::Unit::Millisecond).ok())
        .map_or_else(|| t.to_string(), |x| x.to_string())
}

/// A timestamp as RFC 3339, or null.
pub fn ts(t: &Option<prost_types::Timestamp>) -> Value {
    match t {
        Some(t) => Value::String(ts_string(t)),
        None => Value::Null,
    }
}

fn ts_text(t: &Option<prost_types::Timestamp>) -> String {
    t.as_ref().map_or_else(|| "-".into(), ts_string)
}

/// A calendar date as `YYYY-MM-DD`, or null.
pub fn date(d: &Option<pb::Date>) -> Value {
    match d {
        Some(d) => Value::String(date_text(d)),
        None => Value::Null,
    }
}

/// A calendar date as `YYYY-MM-DD`.
pub fn date_text(d: &pb::Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)
}

/// A party as `OIN/function`.
pub fn party_text(p: &Option<pb::PartyRef>) -> String {
    match p {
        Some(p) => format!("{}/{}", p.oin, name(names::FUNCTIONS, p.function)),
        None => "-".into(),
    }
}

fn party_json(p: &Option<pb::PartyRef>) -> Value {
    match p {
        Some(p) => json!({ "oin": p.oin, "function": name(names::FUNCTIONS, p.function) }),
        None => Value::Null,
    }
}

fn opt(s: &str) -> Value {
    if s.is_empty() {
        Value::Null
    } else {
        Value::String(s.to_owned())
    }
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() { "-" } else { s }
}

/// Prints `label  value` lines aligned.
pub fn print_rows(rows: &[(&str, String)]) {
    let width = rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    for (label, value) in rows {
        outln!("{label:<width$}  {value}");
    }
}

fn sealed_json(g: &pb::SealedGroup) -> Value {
    json!({ "group": g.group, "purpose": g.purpose, "key_ids": g.key_ids })
}

// --- transfers -------------------------------------------------------------

/// A transfer's clear metadata as JSON.
pub fn transfer_json(t: &pb::Transfer) -> Value {
    json!({
        "transfer_id": t.transfer_id,
        "purpose": t.purpose,
        "sender": party_json(&t.sender),
        "sender_name": t.sender_name,
        "recipient": party_json(&t.recipient),
        "recipient_name": t.recipient_name,
        "state": name(names::TRANSFER_STATES, t.state),
        "groups": t.groups,
        "consent_id": opt(&t.consent_id),
        "policy_version": t.policy_version,
        "hardheidsclausule": t.hardheidsclausule,
        "return_to_education": name(names::RETURN_TO_EDUCATION, t.return_to_education),
        "submitted_at": ts(&t.submitted_at),
        "first_fetched_at": ts(&t.first_fetched_at),
        "acknowledged_at": ts(&t.acknowledged_at),
        "decision": t.decision.as_ref().map(|d| json!({
            "kind": name(names::DECISIONS, d.kind),
            "reason": name(names::DECLINE_REASONS, d.reason),
            "decided_at": ts(&d.decided_at),
            "decided_by_role": d.decided_by_role,
            "reason_text": d.reason_text.as_ref().map(sealed_json),
        })),
        "withdrawal": t.withdrawal.as_ref().map(|w| json!({
            "consent_id": w.consent_id,
            "withdrawn_at": ts(&w.withdrawn_at),
            "fetched_before_withdrawal": w.fetched_before_withdrawal,
            "notice_id": opt(&w.notice_id),
            "notice_acknowledged_at": ts(&w.notice_acknowledged_at),
            "recipient_confirmed_deletion": w.recipient_confirmed_deletion,
        })),
        "retention_until": ts(&t.retention_until),
        "purged_at": ts(&t.purged_at),
    })
}

/// A transfer's clear metadata as text.
pub fn transfer_text(t: &pb::Transfer, client_reference: Option<&str>) {
    let mut rows = vec![
        ("transfer_id", t.transfer_id.clone()),
        ("purpose", t.purpose.clone()),
        ("state", name(names::TRANSFER_STATES, t.state).to_owned()),
        (
            "sender",
            format!("{} ({})", or_dash(&t.sender_name), party_text(&t.sender)),
        ),
        (
            "recipient",
            format!("{} ({})", or_dash(&t.recipient_name), party_text(&t.recipient)),
        ),
        ("groups", t.groups.join(", ")),
        ("consent_id", or_dash(&t.consent_id).to_owned()),
    ];
    if t.hardheidsclausule {
        rows.push(("hardheidsclausule", "invoked (R2)".into()));
    }
    if t.return_to_education != 0 {
        rows.push((
            "return_to_education",
            name(names::RETURN_TO_EDUCATION, t.return_to_education).into(),
        ));
    }
    rows.push(("submitted_at", ts_text(&t.submitted_at)));
    rows.push(("first_fetched_at", ts_text(&t.first_fetched_at)));
    rows.push(("acknowledged_at", ts_text(&t.acknowledged_at)));
    if let Some(d) = &t.decision {
        let mut s = name(names::DECISIONS, d.kind).to_owned();
        if d.reason != 0 {
            s.push_str(&format!(" ({})", name(names::DECLINE_REASONS, d.reason)));
        }
        s.push_str(&format!(" at {}", ts_text(&d.decided_at)));
        if !d.decided_by_role.is_empty() {
            s.push_str(&format!(" by {}", d.decided_by_role));
        }
        if d.reason_text.is_some() {
            s.push_str("; sealed reason text");
        }
        rows.push(("decision", s));
    }
    if let Some(w) = &t.withdrawal {
        let mut s = format!(
            "consent {} withdrawn at {}",
            w.consent_id,
            ts_text(&w.withdrawn_at)
        );
        if w.fetched_before_withdrawal {
            match &w.notice_acknowledged_at {
                Some(at) => s.push_str(&format!(
                    "; notice {} acknowledged at {at}{}",
                    w.notice_id,
                    if w.recipient_confirmed_deletion {
                        ", copies deleted"
                    } else {
                        ""
                    }
                )),
                None => s.push_str(&format!("; notice {} open", w.notice_id)),
            }
        } else {
            s.push_str("; never delivered");
        }
        rows.push(("withdrawal", s));
    }
    rows.push(("retention_until", ts_text(&t.retention_until)));
    if t.purged_at.is_some() {
        rows.push(("purged_at", ts_text(&t.purged_at)));
    }
    rows.push(("policy_version", t.policy_version.clone()));
    if let Some(r) = client_reference.filter(|r| !r.is_empty()) {
        rows.push(("client_reference", r.to_owned()));
    }
    print_rows(&rows);
}

/// Which party a transfer list shows next to each transfer.
#[derive(Debug, Clone, Copy)]
pub enum Counterpart {
    /// The recipient (sent transfers).
    Recipient,
    /// The sender (inbox).
    Sender,
}

/// One line per transfer.
pub fn transfers_text(all: &[pb::Transfer], who: Counterpart) {
    for t in all {
        let (arrow, other_name, other) = match who {
            Counterpart::Recipient => ("to", &t.recipient_name, &t.recipient),
            Counterpart::Sender => ("from", &t.sender_name, &t.sender),
        };
        let other_name = if other_name.is_empty() {
            party_text(other)
        } else {
            other_name.clone()
        };
        outln!(
            "{}  {:<12}  {}  {arrow} {}  {}",
            t.transfer_id,
            name(names::TRANSFER_STATES, t.state),
            t.purpose,
            other_name,
            ts_text(&t.submitted_at)
        );
    }
}

// --- consents --------------------------------------------------------------

/// A consent as JSON.
pub fn consent_json(c: &pb::Consent) -> Value {
    let scope = c.scope.clone().unwrap_or_default();
    json!({
        "consent_id": c.consent_id,
        "status": name(names::CONSENT_STATUSES, c.status),
        "giver": name(names::CONSENT_GIVERS, c.giver),
        "scope": {
            "purpose": scope.purpose,
            "recipient": party_json(&scope.recipient),
            "groups": scope.groups,
        },
        "method": name(names::CONSENT_METHODS, c.method),
        "valid_from": date(&c.valid_from),
        "valid_until": date(&c.valid_until),
        "recorded_by": party_json(&c.recorded_by),
        "recorded_by_user_id": c.recorded_by_user_id,
        "recorded_at": ts(&c.recorded_at),
        "withdrawn_at": ts(&c.withdrawn_at),
        "withdrawn_by": (c.withdrawn_by != 0).then(|| name(names::CONSENT_GIVERS, c.withdrawn_by)),
        "client_reference": opt(&c.client_reference),
        "policy_version": c.policy_version,
    })
}

/// A consent as text.
pub fn consent_text(c: &pb::Consent) {
    print_rows(&consent_rows(c));
}

/// A consent as labelled rows.
pub fn consent_rows(c: &pb::Consent) -> Vec<(&'static str, String)> {
    let scope = c.scope.clone().unwrap_or_default();
    let mut rows = vec![
        ("consent_id", c.consent_id.clone()),
        ("status", name(names::CONSENT_STATUSES, c.status).to_owned()),
        ("giver", name(names::CONSENT_GIVERS, c.giver).to_owned()),
        ("purpose", scope.purpose.clone()),
        ("recipient", party_text(&scope.recipient)),
        ("groups", scope.groups.join(", ")),
        ("method", name(names::CONSENT_METHODS, c.method).to_owned()),
        (
            "valid_from",
            c.valid_from.as_ref().map(date_text).unwrap_or_else(|| "-".into()),
        ),
        (
            "valid_until",
            c.valid_until
                .as_ref()
                .map(date_text)
                .unwrap_or_else(|| "- (until withdrawn or the window ends)".into()),
        ),
        (
            "recorded_by",
            format!(
                "{} (user {})",
                party_text(&c.recorded_by),
                or_dash(&c.recorded_by_user_id)
            ),
        ),
        ("recorded_at", ts_text(&c.recorded_at)),
    ];
    if c.withdrawn_at.is_some() {
        rows.push((
            "withdrawn",
            format!(
                "{} by {}",
                ts_text(&c.withdrawn_at),
                name(names::CONSENT_GIVERS, c.withdrawn_by)
            ),
        ));
    }
    if !c.client_reference.is_empty() {
        rows.push(("client_reference", c.client_reference.clone()));
    }
    rows.push(("policy_version", c.policy_version.clone()));
    rows
}

/// One line per consent.
pub fn consents_text(all: &[pb::Consent]) {
    for c in all {
        let scope = c.scope.clone().unwrap_or_default();
        outln!(
            "{}  {:<9}  {}  to {}  {}",
            c.consent_id,
            name(names::CONSENT_STATUSES, c.status),
            scope.purpose,
            party_text(&scope.recipient),
            ts_text(&c.recorded_at)
        );
    }
}

// --- expertise -------------------------------------------------------------

/// An expertise request's clear metadata as JSON.
pub fn expertise_json(r: &pb::ExpertiseRequest) -> Value {
    json!({
        "request_id": r.request_id,
        "requester": party_json(&r.requester),
        "requester_name": r.requester_name,
        "doorstroompunt": party_json(&r.doorstroompunt),
        "doorstroompunt_name": r.doorstroompunt_name,
        "state": name(names::EXPERTISE_STATES, r.state),
        "groups": r.groups,
        "requested_at": ts(&r.requested_at),
        "answered_at": ts(&r.answered_at),
        "outcome": (r.outcome != 0).then(|| name(names::ADVICE_OUTCOMES, r.outcome)),
        "policy_version": r.policy_version,
        "retention_until": ts(&r.retention_until),
    })
}

/// An expertise request as labelled rows.
pub fn expertise_rows(r: &pb::ExpertiseRequest) -> Vec<(&'static str, String)> {
    let mut rows = vec![
        ("request_id", r.request_id.clone()),
        ("state", name(names::EXPERTISE_STATES, r.state).to_owned()),
        (
            "requester",
            format!("{} ({})", or_dash(&r.requester_name), party_text(&r.requester)),
        ),
        (
            "doorstroompunt",
            format!(
                "{} ({})",
                or_dash(&r.doorstroompunt_name),
                party_text(&r.doorstroompunt)
            ),
        ),
        ("groups", r.groups.join(", ")),
        ("requested_at", ts_text(&r.requested_at)),
    ];
    if r.answered_at.is_some() {
        rows.push(("answered_at", ts_text(&r.answered_at)));
        rows.push(("outcome", name(names::ADVICE_OUTCOMES, r.outcome).to_owned()));
    }
    rows.push(("retention_until", ts_text(&r.retention_until)));
    rows.push(("policy_version", r.policy_version.clone()));
    rows
}

/// One line per expertise request.
pub fn expertise_list_text(all: &[pb::ExpertiseRequest]) {
    for r in all {
        let outcome = if r.outcome != 0 {
            name(names::ADVICE_OUTCOMES, r.outcome)
        } else {
            ""
        };
        let line = format!(
            "{}  {:<8}  {} -> {}  {}  {outcome}",
            r.request_id,
            name(names::EXPERTISE_STATES, r.state),
            if r.requester_name.is_empty() {
                party_text(&r.requester)
            } else {
                r.requester_name.clone()
            },
            if r.doorstroompunt_name.is_empty() {
                party_text(&r.doorstroompunt)
            } else {
                r.doorstroompunt_name.clone()
            },
            ts_text(&r.requested_at),
        );
        outln!("{}", line.trim_end());
    }
}

/// Advice metadata as JSON.
pub fn advice_json(a: &pb::Advice) -> Value {
    json!({
        "request_id": a.request_id,
        "outcome": name(names::ADVICE_OUTCOMES, a.outcome),
        "given_at": ts(&a.given_at),
        "groups": a.groups,
        "policy_version": a.policy_version,
    })
}

/// Advice metadata as labelled rows.
pub fn advice_rows(a: &pb::Advice) -> Vec<(&'static str, String)> {
    vec![
        ("request_id", a.request_id.clone()),
        ("outcome", name(names::ADVICE_OUTCOMES, a.outcome).to_owned()),
        ("given_at", ts_text(&a.given_at)),
        ("groups", a.groups.join(", ")),
        ("policy_version", a.policy_version.clone()),
    ]
}

// --- withdrawal notices ----------------------------------------------------

/// A withdrawal notice as JSON.
pub fn notice_json(n: &pb::WithdrawalNotice) -> Value {
    json!({
        "notice_id": n.notice_id,
        "transfer_id": n.transfer_id,
        "consent_id": n.consent_id,
        "purpose": n.purpose,
        "sender": party_json(&n.sender),
        "withdrawn_at": ts(&n.withdrawn_at),
        "acknowledged_at": ts(&n.acknowledged_at),
        "confirmed_deletion": n.confirmed_deletion,
    })
}

/// One line per notice.
pub fn notices_text(all: &[pb::WithdrawalNotice]) {
    for n in all {
        let state = match &n.acknowledged_at {
            Some(_) if n.confirmed_deletion => "acknowledged, deleted",
            Some(_) => "acknowledged",
            None => "OPEN",
        };
        outln!(
            "{}  transfer {}  {}  withdrawn {}  {state}",
            n.notice_id,
            n.transfer_id,
            n.purpose,
            ts_text(&n.withdrawn_at)
        );
    }
}

/// A notice as text.
pub fn notice_text(n: &pb::WithdrawalNotice) {
    print_rows(&[
        ("notice_id", n.notice_id.clone()),
        ("transfer_id", n.transfer_id.clone()),
        ("consent_id", n.consent_id.clone()),
        ("purpose", n.purpose.clone()),
        ("sender", party_text(&n.sender)),
        ("withdrawn_at", ts_text(&n.withdrawn_at)),
        ("acknowledged_at", ts_text(&n.acknowledged_at)),
        (
            "confirmed_deletion",
            if n.confirmed_deletion { "yes" } else { "no" }.into(),
        ),
    ]);
}
