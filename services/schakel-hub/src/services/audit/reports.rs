//! The privacy officer's reports: the subject access report (AVG art. 15)
//! and the anomaly report, both over the entries the officer may see. The
//! rendering and the detection rules live in the pure
//! `schakel-audit-report` crate; this module reads, scopes and logs.

use std::collections::{BTreeSet, HashMap};

use jiff::Timestamp;
use schakel_audit::{Action, Entry, Hash};
use schakel_audit_report::anomaly::{self, AnomalyKind, Closure, Thresholds};
use schakel_audit_report::subject::{CheckpointRef, SubjectReport};
use schakel_domain::Oin;
use schakel_proto::v1 as pb;
use schakel_store::{AuditQuery, TransferClosure};

use super::{AuditApi, Filter, checkpoint_to_pb, subject_of, week_before, window};
use crate::caller::Caller;
use crate::caller::RequestContext;
use crate::error::{HubError, Violations};
use crate::wire::ts_to_pb;

fn ms(t: Timestamp) -> u64 {
    u64::try_from(t.as_millisecond()).unwrap_or(0)
}

fn ts(ms: u64) -> Option<prost_types::Timestamp> {
    Timestamp::from_millisecond(i64::try_from(ms).ok()?)
        .ok()
        .map(ts_to_pb)
}

/// The entries with other organisations' end-user ids left out: those are
/// their internal detail, and a privacy officer answers for their own users.
fn own_users_only(entries: Vec<(Entry, Hash)>, viewer: &str) -> Vec<Entry> {
    entries
        .into_iter()
        .map(|(mut e, _)| {
            if e.actor.oin.as_deref() != Some(viewer) {
                e.actor.user_id = None;
            }
            e
        })
        .collect()
}

/// Organisation names for every OIN in `oins`, read once.
async fn names(api: &AuditApi, oins: BTreeSet<String>) -> Result<HashMap<String, String>, HubError> {
    let mut out = HashMap::new();
    for oin in oins {
        let Ok(parsed) = oin.parse::<Oin>() else { continue };
        if let Some(org) = api.0.store.get_organisation(&parsed).await? {
            out.insert(oin, org.name);
        }
    }
    Ok(out)
}

/// `SubjectAccessReport`.
pub(super) async fn subject_access(
    api: &AuditApi,
    caller: &Caller,
    ctx: &RequestContext,
    r: pb::SubjectAccessReportRequest,
) -> Result<pb::SubjectAccessReportResponse, HubError> {
    let mut v = Violations::default();
    let subject = subject_of(&api.0, &mut v, "bsn", &r.bsn);
    let html = match pb::ReportFormat::try_from(r.format) {
        Ok(pb::ReportFormat::Text) => false,
        Ok(pb::ReportFormat::Html) => true,
        _ => {
            v.format("format", "must be REPORT_FORMAT_TEXT or REPORT_FORMAT_HTML");
            false
        }
    };
    let (from, until) = window(&mut v, r.from.as_ref(), r.until.as_ref());
    v.finish()?;
    let Some(subject) = subject else {
        return Err(HubError::Internal);
    };
    let viewer = AuditApi::viewer(caller);
    let filter = Filter {
        query: AuditQuery {
            visible_to: viewer.clone(),
            subject: Some(subject.clone()),
            from,
            until,
            ..AuditQuery::default()
        },
        outcome: pb::AuditOutcome::Unspecified,
    };
    api.log_query(ctx, caller, Action::AuditReport, &filter.query)
        .await?;
    let entries = own_users_only(api.read_all(&filter).await?, &viewer);
    let oins: BTreeSet<String> = entries
        .iter()
        .flat_map(|e| e.actor.oin.iter().chain(e.parties.iter()).cloned())
        .chain(std::iter::once(viewer.clone()))
        .collect();
    let names = names(api, oins).await?;
    let lookup = |oin: &str| names.get(oin).cloned();
    let cp = api.0.checkpointer.checkpoint_now().await?;
    let root_hex = hex::encode(cp.root);
    let generated_at = Timestamp::now();
    let report = SubjectReport {
        entries: &entries,
        requester_oin: &viewer,
        names: &lookup,
        subject_pseudonym: &subject,
        from_ms: from.map(ms),
        until_ms: until.map(ms),
        generated_at_ms: ms(generated_at),
        checkpoint: Some(CheckpointRef {
            size: cp.size,
            root_hex: &root_hex,
            note: &cp.note,
        }),
    };
    let (text, content_type) = if html {
        (report.render_html(), "text/html; charset=utf-8")
    } else {
        (report.render_text(), "text/plain; charset=utf-8")
    };
    Ok(pb::SubjectAccessReportResponse {
        report: text,
        content_type: content_type.to_owned(),
        entry_count: entries.len() as u64,
        generated_at: Some(ts_to_pb(generated_at)),
        checkpoint: Some(checkpoint_to_pb(&cp, api.0.checkpointer.origin())),
    })
}

fn kind_from_pb(k: pb::AnomalyKind) -> Option<AnomalyKind> {
    Some(match k {
        pb::AnomalyKind::Unspecified => return None,
        pb::AnomalyKind::OutsideOfficeHours => AnomalyKind::OutsideOfficeHours,
        pb::AnomalyKind::UserVolume => AnomalyKind::UserVolume,
        pb::AnomalyKind::ManyUsersOneSubject => AnomalyKind::ManyUsersOneSubject,
        pb::AnomalyKind::FetchOfClosedTransfer => AnomalyKind::FetchOfClosedTransfer,
        pb::AnomalyKind::RefusalBurst => AnomalyKind::RefusalBurst,
        pb::AnomalyKind::ReusedJustification => AnomalyKind::ReusedJustification,
    })
}

fn kind_to_pb(k: AnomalyKind) -> pb::AnomalyKind {
    match k {
        AnomalyKind::OutsideOfficeHours => pb::AnomalyKind::OutsideOfficeHours,
        AnomalyKind::UserVolume => pb::AnomalyKind::UserVolume,
        AnomalyKind::ManyUsersOneSubject => pb::AnomalyKind::ManyUsersOneSubject,
        AnomalyKind::FetchOfClosedTransfer => pb::AnomalyKind::FetchOfClosedTransfer,
        AnomalyKind::RefusalBurst => pb::AnomalyKind::RefusalBurst,
        AnomalyKind::ReusedJustification => pb::AnomalyKind::ReusedJustification,
    }
}

/// The configured defaults with the request's non-zero overrides.
fn thresholds(api: &AuditApi, v: &mut Violations, o: Option<&pb::AnomalyThresholds>) -> Thresholds {
    let d = api.0.anomaly_defaults;
    let o = o.cloned().unwrap_or_default();
    let mut hour = |field: &str, value: i32, default: u8| match value {
        0 => default,
        h => u8::try_from(h).ok().filter(|h| *h <= 23).unwrap_or_else(|| {
            v.format(format!("thresholds.{field}"), "must be an hour from 0 to 23");
            default
        }),
    };
    let start = hour("office_hours_start", o.office_hours_start, d.office_hours_start);
    let end = hour("office_hours_end", o.office_hours_end, d.office_hours_end);
    let mut count = |field: &str, value: i32, default: u32| match value {
        0 => default,
        n => u32::try_from(n).unwrap_or_else(|_| {
            v.format(format!("thresholds.{field}"), "must be positive");
            default
        }),
    };
    let t = Thresholds {
        office_hours_start: start,
        office_hours_end: end,
        max_subjects_per_user_per_day: count(
            "max_subjects_per_user_per_day",
            o.max_subjects_per_user_per_day,
            d.max_subjects_per_user_per_day,
        ),
        max_users_per_subject: count(
            "max_users_per_subject",
            o.max_users_per_subject,
            d.max_users_per_subject,
        ),
        refusal_burst_count: count(
            "refusal_burst_count",
            o.refusal_burst_count,
            d.refusal_burst_count,
        ),
        refusal_burst_minutes: count(
            "refusal_burst_minutes",
            o.refusal_burst_minutes,
            d.refusal_burst_minutes,
        ),
    };
    if let Err(problems) = t.validate() {
        for (field, problem) in problems {
            v.format(format!("thresholds.{field}"), problem);
        }
    }
    t
}

fn thresholds_to_pb(t: &Thresholds) -> pb::AnomalyThresholds {
    let i = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
    pb::AnomalyThresholds {
        office_hours_start: i32::from(t.office_hours_start),
        office_hours_end: i32::from(t.office_hours_end),
        max_subjects_per_user_per_day: i(t.max_subjects_per_user_per_day),
        max_users_per_subject: i(t.max_users_per_subject),
        refusal_burst_count: i(t.refusal_burst_count),
        refusal_burst_minutes: i(t.refusal_burst_minutes),
    }
}

/// `AnomalyReport`.
pub(super) async fn anomalies(
    api: &AuditApi,
    caller: &Caller,
    ctx: &RequestContext,
    r: pb::AnomalyReportRequest,
) -> Result<pb::AnomalyReportResponse, HubError> {
    let mut v = Violations::default();
    let (from, until) = window(&mut v, r.from.as_ref(), r.until.as_ref());
    let until = until.unwrap_or_else(Timestamp::now);
    let from = from.unwrap_or_else(|| week_before(until));
    let mut kinds = Vec::new();
    for (i, k) in r.kinds.iter().enumerate() {
        match pb::AnomalyKind::try_from(*k).ok().and_then(kind_from_pb) {
            Some(k) => kinds.push(k),
            None => v.format(format!("kinds[{i}]"), "must be a known anomaly kind"),
        }
    }
    let t = thresholds(api, &mut v, r.thresholds.as_ref());
    v.finish()?;
    let viewer = AuditApi::viewer(caller);
    let filter = Filter {
        query: AuditQuery {
            visible_to: viewer.clone(),
            from: Some(from),
            until: Some(until),
            ..AuditQuery::default()
        },
        outcome: pb::AuditOutcome::Unspecified,
    };
    api.log_query(ctx, caller, Action::AuditReport, &filter.query)
        .await?;
    let entries = own_users_only(api.read_all(&filter).await?, &viewer);
    let closed = api
        .0
        .store
        .transfer_closures(&viewer)
        .await?
        .into_iter()
        .map(|(id, (how, at))| {
            let how = match how {
                TransferClosure::Declined => Closure::Declined,
                TransferClosure::Withdrawn => Closure::Withdrawn,
                TransferClosure::Purged => Closure::Purged,
            };
            (id, (how, ms(at)))
        })
        .collect();
    let found = anomaly::detect(&entries, &closed, &t, &kinds);
    Ok(pb::AnomalyReportResponse {
        anomalies: found
            .into_iter()
            .map(|a| pb::Anomaly {
                kind: kind_to_pb(a.kind) as i32,
                description: a.description,
                party: a.party_oin.map(|oin| pb::PartyRef {
                    oin,
                    function: a
                        .party_function
                        .as_deref()
                        .and_then(|f| f.parse().ok())
                        .map_or(pb::FunctionKind::Unspecified, crate::wire::function_to_pb)
                        as i32,
                }),
                user_id: a.user_id.unwrap_or_default(),
                subject_pseudonym: a.subject.unwrap_or_default(),
                count: a.count,
                first_seen: ts(a.first_seen_ms),
                last_seen: ts(a.last_seen_ms),
                sequences: a.sequences,
            })
            .collect(),
        thresholds: Some(thresholds_to_pb(&t)),
        entries_examined: entries.len() as u64,
    })
}
