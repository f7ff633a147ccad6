//! `ExportAudit`: the visible entries as JSON lines, in the API's own shape
//! or shaped like Logboek Dataverwerkingen records, then a trailer naming a
//! checkpoint that covers every exported entry.

use base64::Engine as _;
use jiff::Timestamp;
use schakel_audit::{Entry, Hash};
use schakel_proto::v1 as pb;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tonic::Status;

use super::{AuditApi, Filter, READ_BATCH, checkpoint_to_pb, entry_to_pb, own_actor};
use crate::error::HubError;

/// Lines are sent in messages of about this many bytes.
const CHUNK: usize = 64 * 1024;

type Sink = mpsc::Sender<Result<pb::ExportAuditResponse, Status>>;

/// An enum value's proto name without its prefix, lowercase
/// (`AUDIT_ACTION_TRANSFER_FETCH` → `transfer_fetch`).
fn short(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix).unwrap_or(name).to_ascii_lowercase()
}

fn time_text(ms: u64) -> String {
    Timestamp::from_millisecond(i64::try_from(ms).unwrap_or(i64::MAX))
        .map(|t| t.to_string())
        .unwrap_or_default()
}

fn none_if_empty(s: &str) -> Value {
    if s.is_empty() {
        Value::Null
    } else {
        Value::String(s.to_owned())
    }
}

/// One line in the API's shape. The canonical entry bytes are included when
/// nothing was left out for this viewer, so an auditor can recompute the
/// leaf hash with schakel-audit alone.
fn jsonl(e: &Entry, leaf: &Hash, viewer: &str) -> Value {
    let p = entry_to_pb(e, leaf, viewer);
    let actor = p.actor.clone().unwrap_or_default();
    let party = actor.party.unwrap_or_default();
    let canonical = (own_actor(e, viewer) || e.actor.user_id.is_none())
        .then(|| e.encode().ok())
        .flatten()
        .map(|b| base64::engine::general_purpose::STANDARD.encode(b));
    json!({
        "sequence": p.sequence,
        "time": time_text(e.time_ms),
        "actor": {
            "oin": none_if_empty(&party.oin),
            "function": e.actor.function,
            "user_id": none_if_empty(&actor.user_id),
            "user_role": none_if_empty(&actor.user_role),
        },
        "action": short(p.action().as_str_name(), "AUDIT_ACTION_"),
        "entry_action": e.action.as_str(),
        "outcome": short(p.outcome().as_str_name(), "AUDIT_OUTCOME_"),
        "refusal_rules": p.refusal_rules,
        "counterparty_oin": p.counterparty.map(|c| c.oin),
        "purpose": none_if_empty(&p.purpose),
        "policy_version": none_if_empty(&p.policy_version),
        "legal_basis": none_if_empty(&p.legal_basis),
        "subject_pseudonym": none_if_empty(&p.subject_pseudonym),
        "transfer_id": none_if_empty(&p.transfer_id),
        "consent_id": none_if_empty(&p.consent_id),
        "expertise_request_id": none_if_empty(&p.expertise_request_id),
        "groups": p.groups,
        "trace_id": p.trace_id,
        "span_id": p.span_id,
        "leaf_hash": hex::encode(leaf),
        "entry": canonical,
    })
}

/// One line shaped like a Logboek Dataverwerkingen record: the W3C trace
/// context, the operation name, status, and the `dpl.core.*` attributes;
/// what the standard has no name for goes under `schakel.*`.
fn logboek(e: &Entry, leaf: &Hash, viewer: &str) -> Value {
    let p = entry_to_pb(e, leaf, viewer);
    let actor = p.actor.clone().unwrap_or_default();
    let activity = e
        .activity
        .as_ref()
        .map(|a| format!("{}@{}", a.purpose, a.policy_version));
    let status = if p.outcome() == pb::AuditOutcome::Success {
        "STATUS_CODE_OK"
    } else {
        "STATUS_CODE_ERROR"
    };
    json!({
        "trace_id": p.trace_id,
        "span_id": p.span_id,
        "name": e.action.as_str(),
        "start_time": time_text(e.time_ms),
        "end_time": time_text(e.time_ms),
        "status_code": status,
        "resource": { "name": "schakel-hub", "version": env!("CARGO_PKG_VERSION") },
        "attributes": {
            "dpl.core.processing_activity_id": activity,
            "dpl.core.data_subject_id": none_if_empty(&p.subject_pseudonym),
            "dpl.core.data_subject_id_type": if p.subject_pseudonym.is_empty() { Value::Null } else { json!("schakel_pseudonym") },
            "dpl.core.user_id": none_if_empty(&actor.user_id),
            "schakel.sequence": p.sequence,
            "schakel.actor_oin": actor.party.as_ref().map(|a| a.oin.clone()),
            "schakel.actor_function": e.actor.function,
            "schakel.user_role": none_if_empty(&actor.user_role),
            "schakel.outcome": short(p.outcome().as_str_name(), "AUDIT_OUTCOME_"),
            "schakel.refusal_rules": p.refusal_rules,
            "schakel.legal_basis": none_if_empty(&p.legal_basis),
            "schakel.counterparty_oin": p.counterparty.map(|c| c.oin),
            "schakel.transfer_id": none_if_empty(&p.transfer_id),
            "schakel.consent_id": none_if_empty(&p.consent_id),
            "schakel.expertise_request_id": none_if_empty(&p.expertise_request_id),
            "schakel.groups": p.groups,
            "schakel.leaf_hash": hex::encode(leaf),
        },
    })
}

async fn send(tx: &Sink, part: pb::export_audit_response::Part) -> bool {
    tx.send(Ok(pb::ExportAuditResponse { part: Some(part) }))
        .await
        .is_ok()
}

/// Streams the export into `tx`; stops quietly when the client went away.
pub(super) async fn run(
    api: &AuditApi,
    f: &Filter,
    format: pb::ExportFormat,
    viewer: &str,
    tx: &Sink,
) -> Result<(), HubError> {
    let line = match format {
        pb::ExportFormat::LogboekDataverwerkingen => logboek,
        _ => jsonl,
    };
    let (mut from, mut count, mut buf) = (0u64, 0u64, Vec::with_capacity(CHUNK + 4096));
    loop {
        let (entries, next) = api.read(f, from, READ_BATCH as usize).await?;
        for (e, leaf) in &entries {
            serde_json::to_writer(&mut buf, &line(e, leaf, viewer)).map_err(|_| HubError::Internal)?;
            buf.push(b'\n');
            count += 1;
            if buf.len() >= CHUNK
                && !send(
                    tx,
                    pb::export_audit_response::Part::Lines(std::mem::take(&mut buf)),
                )
                .await
            {
                return Ok(());
            }
        }
        match next {
            Some(n) => from = n,
            None => break,
        }
    }
    if !buf.is_empty() && !send(tx, pb::export_audit_response::Part::Lines(buf)).await {
        return Ok(());
    }
    // Every exported entry was committed before this checkpoint is made.
    let cp = api.0.checkpointer.checkpoint_now().await?;
    send(
        tx,
        pb::export_audit_response::Part::Trailer(pb::ExportTrailer {
            entry_count: count,
            checkpoint: Some(checkpoint_to_pb(&cp, api.0.checkpointer.origin())),
        }),
    )
    .await;
    Ok(())
}
