//! Issue 5, end to end over real mutual TLS on SQLite and PostgreSQL: the
//! AuditService as a privacy officer (FG) uses it — query by BSN, scoping
//! to the officer's own organisation, pagination, signed checkpoints,
//! inclusion and consistency proofs, exports, the subject access report and
//! the anomaly report.

use base64::Engine as _;
use schakel_audit::{Checkpoint, Entry, leaf_hash, verify_consistency, verify_inclusion};
use schakel_e2e::flow::*;
use schakel_e2e::{TestHub, on_both_backends, verify_audit_log};
use schakel_proto::v1 as pb;
use schakel_proto::v1::audit_service_client::AuditServiceClient;
use tonic::transport::Channel;
use tonic::{Code, Request};

const PRO_OIN: &str = "00000003999990002000";

/// A request from a named end user.
fn as_user<T>(user: &str, role: &str, msg: T) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut()
        .insert("x-schakel-user-id", user.parse().unwrap());
    r.metadata_mut()
        .insert("x-schakel-user-role", role.parse().unwrap());
    r
}

fn fg<T>(msg: T) -> Request<T> {
    as_user("fg-7", "functionaris_gegevensbescherming", msg)
}

async fn officer(t: &TestHub, party: &str) -> AuditServiceClient<Channel> {
    AuditServiceClient::new(t.connect(party).await.channel())
}

fn by_bsn(bsn: &str) -> Option<pb::AuditFilter> {
    Some(pb::AuditFilter {
        bsn: bsn.into(),
        ..Default::default()
    })
}

async fn query_all(
    a: &mut AuditServiceClient<Channel>,
    filter: Option<pb::AuditFilter>,
    page: i32,
) -> Vec<pb::AuditEntry> {
    let mut out = Vec::new();
    let mut token = String::new();
    loop {
        let r = a
            .query_audit(fg(pb::QueryAuditRequest {
                filter: filter.clone(),
                page_size: page,
                page_token: token,
            }))
            .await
            .unwrap()
            .into_inner();
        out.extend(r.entries);
        if r.next_page_token.is_empty() {
            return out;
        }
        token = r.next_page_token;
    }
}

/// A school hands a youth over; the werkcoach fetches it. Returns the
/// transfer id.
async fn handover_and_fetch(t: &TestHub, bsn: &str, key: &str) -> String {
    let mut school = clients(t, "mbo-school").await;
    let mut werk = clients(t, "gemeente-participatiewet").await;
    let consent_id = give_consent(&mut school, bsn, &format!("{key}-consent")).await;
    let sent = submit_ok(&mut school, handover(bsn, &consent_id, key)).await;
    werk.inbox
        .fetch(as_user(
            "werkcoach-3",
            "werkcoach",
            pb::FetchRequest {
                transfer_id: sent.transfer_id.clone(),
                purpose: "handover.school_to_gemeente".into(),
            },
        ))
        .await
        .unwrap();
    sent.transfer_id
}

fn action(e: &pb::AuditEntry) -> pb::AuditAction {
    pb::AuditAction::try_from(e.action).unwrap()
}

async fn fresh_checkpoint(t: &TestHub, a: &mut AuditServiceClient<Channel>) -> Checkpoint {
    let r = a
        .get_checkpoint(fg(pb::GetCheckpointRequest { fresh: true }))
        .await
        .unwrap()
        .into_inner();
    let verifier = t.env.audit_verifier().unwrap();
    assert_eq!(
        r.verifier_key,
        verifier.vkey(),
        "the hub shows the key auditors pin"
    );
    let pb_cp = r.checkpoint.unwrap();
    let cp = Checkpoint::open(&pb_cp.note, &verifier).expect("signed by the hub's key");
    assert_eq!((cp.size, cp.root.to_vec()), (pb_cp.tree_size, pb_cp.root_hash));
    cp
}

async fn officer_queries_by_bsn_and_proves_what_they_see(t: TestHub) {
    let transfer_id = handover_and_fetch(&t, BSN, "h-1").await;
    // Another youth, same parties: must not show up in a query by BSN.
    handover_and_fetch(&t, BSN2, "h-2").await;
    let mut a = officer(&t, "gemeente-privacy-officer").await;
    let before = t.audit_size().await;

    let seen = query_all(&mut a, by_bsn(BSN), 0).await;
    let actions: Vec<_> = seen.iter().map(action).collect();
    assert_eq!(
        actions,
        [
            pb::AuditAction::ConsentGiven,
            pb::AuditAction::TransferSubmit,
            pb::AuditAction::TransferFetch,
            pb::AuditAction::AuditQuery,
        ],
        "the youth's processing in order, then the officer's own query"
    );
    let pseudonym = &seen[0].subject_pseudonym;
    assert_eq!(pseudonym.len(), 64);
    assert!(seen.iter().all(|e| &e.subject_pseudonym == pseudonym));
    let submit = &seen[1];
    assert_eq!(
        submit.actor.as_ref().unwrap().party.as_ref().unwrap().oin,
        MBO_OIN
    );
    assert_eq!(submit.transfer_id, transfer_id);
    assert_eq!(submit.purpose, "handover.school_to_gemeente");
    assert!(!submit.legal_basis.is_empty() && !submit.policy_version.is_empty());
    assert_eq!(submit.counterparty.as_ref().unwrap().oin, GEMEENTE_OIN);
    // The school's end user is the school's detail; the werkcoach is ours.
    assert_eq!(submit.actor.as_ref().unwrap().user_id, "");
    assert_eq!(submit.actor.as_ref().unwrap().user_role, "loopbaanbegeleider");
    assert_eq!(seen[2].actor.as_ref().unwrap().user_id, "werkcoach-3");
    assert_eq!(seen[3].actor.as_ref().unwrap().user_id, "fg-7");
    assert_eq!(t.audit_size().await, before + 1, "the query itself was logged");

    // Pagination gives the same entries; a token is bound to its filter.
    let paged = query_all(&mut a, by_bsn(BSN), 1).await;
    assert_eq!(paged.len(), seen.len() + 1, "one more query entry of our own");
    assert_eq!(paged[..seen.len()], seen[..]);
    let first = a
        .query_audit(fg(pb::QueryAuditRequest {
            filter: by_bsn(BSN),
            page_size: 1,
            page_token: String::new(),
        }))
        .await
        .unwrap()
        .into_inner();
    let e = a
        .query_audit(fg(pb::QueryAuditRequest {
            filter: by_bsn(BSN2),
            page_size: 1,
            page_token: first.next_page_token,
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(violations(&e).iter().any(|(f, _)| f == "page_token"));
    // Filters by action and transfer.
    let fetches = query_all(
        &mut a,
        Some(pb::AuditFilter {
            transfer_id: transfer_id.clone(),
            actions: vec![pb::AuditAction::TransferFetch as i32],
            ..Default::default()
        }),
        0,
    )
    .await;
    assert_eq!(fetches.len(), 1);
    assert_eq!(fetches[0].sequence, seen[2].sequence);
    // A malformed BSN is refused with its field; the BSN is not echoed.
    let e = a
        .query_audit(fg(pb::QueryAuditRequest {
            filter: by_bsn("999990018"),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(violations(&e).iter().any(|(f, _)| f == "filter.bsn"));
    assert!(!format!("{e:?}").contains("999990018"));

    // Every entry seen is in the signed tree.
    let cp = fresh_checkpoint(&t, &mut a).await;
    for entry in &seen {
        let p = a
            .get_inclusion_proof(fg(pb::GetInclusionProofRequest {
                sequence: entry.sequence,
                tree_size: 0,
            }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(p.tree_size, cp.size);
        assert_eq!(p.checkpoint.as_ref().unwrap().tree_size, cp.size);
        assert_eq!(&p.entry.unwrap(), entry);
        let hashes: Vec<[u8; 32]> = p
            .hashes
            .iter()
            .map(|h| h.as_slice().try_into().unwrap())
            .collect();
        let leaf: [u8; 32] = entry.leaf_hash.as_slice().try_into().unwrap();
        verify_inclusion(&leaf, entry.sequence, cp.size, &hashes, &cp.root).expect("included");
        // A wrong leaf does not verify.
        let mut wrong = leaf;
        wrong[0] ^= 1;
        assert!(verify_inclusion(&wrong, entry.sequence, cp.size, &hashes, &cp.root).is_err());
    }
    // Later checkpoints extend earlier ones.
    handover_and_fetch(&t, BSN3, "h-3").await;
    let later = fresh_checkpoint(&t, &mut a).await;
    let p = a
        .get_consistency_proof(fg(pb::GetConsistencyProofRequest {
            first_size: cp.size,
            second_size: later.size,
        }))
        .await
        .unwrap()
        .into_inner();
    let hashes: Vec<[u8; 32]> = p
        .hashes
        .iter()
        .map(|h| h.as_slice().try_into().unwrap())
        .collect();
    verify_consistency(cp.size, later.size, &cp.root, &later.root, &hashes).expect("consistent");
    let e = a
        .get_consistency_proof(fg(pb::GetConsistencyProofRequest {
            first_size: later.size + 1,
            second_size: later.size,
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    verify_audit_log(&t).await;
}

async fn an_officer_never_sees_other_organisations_exchanges(t: TestHub) {
    handover_and_fetch(&t, BSN, "h-1").await;
    let gemeente_entries = query_all(&mut officer(&t, "gemeente-privacy-officer").await, None, 0).await;
    let hidden = gemeente_entries
        .iter()
        .find(|e| action(e) == pb::AuditAction::TransferFetch)
        .unwrap()
        .sequence;

    // The PrO school took no part: it sees its own registration by the
    // admin and its own queries, nothing of the exchange.
    let mut pro = officer(&t, "pro-privacy-officer").await;
    let seen = query_all(&mut pro, None, 0).await;
    assert!(!seen.is_empty());
    for e in &seen {
        let actor = &e.actor.as_ref().unwrap().party.as_ref().unwrap().oin;
        match action(e) {
            pb::AuditAction::AuditQuery => assert_eq!(actor, PRO_OIN),
            pb::AuditAction::AdminChange => assert_eq!(e.counterparty.as_ref().unwrap().oin, PRO_OIN),
            other => panic!("{other:?} is not the PrO school's"),
        }
        assert!(e.subject_pseudonym.is_empty());
    }
    assert!(
        query_all(&mut pro, by_bsn(BSN), 0)
            .await
            .iter()
            .all(|e| action(e) == pb::AuditAction::AuditQuery)
    );
    // A proof of another exchange's entry answers like a missing one.
    for seq in [hidden, 1_000_000] {
        let e = pro
            .get_inclusion_proof(fg(pb::GetInclusionProofRequest {
                sequence: seq,
                tree_size: 0,
            }))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::NotFound, "{seq}");
        assert_eq!(e.message(), "audit entry not found");
    }
    // Its report about the youth holds no exchange: only the officer's own
    // query by BSN above and this report.
    let report = pro
        .subject_access_report(fg(pb::SubjectAccessReportRequest {
            bsn: BSN.into(),
            format: pb::ReportFormat::Text as i32,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(report.entry_count, 2);
    assert!(!report.report.contains("ROC Demo Groningen"), "{}", report.report);
    // Only privacy officers call the audit service.
    let e = officer(&t, "mbo-school")
        .await
        .query_audit(fg(pb::QueryAuditRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    verify_audit_log(&t).await;
}

async fn export(
    a: &mut AuditServiceClient<Channel>,
    format: pb::ExportFormat,
) -> (Vec<serde_json::Value>, pb::ExportTrailer) {
    let mut stream = a
        .export_audit(fg(pb::ExportAuditRequest {
            filter: by_bsn(BSN),
            format: format as i32,
        }))
        .await
        .unwrap()
        .into_inner();
    let (mut bytes, mut trailer) = (Vec::new(), None);
    while let Some(msg) = stream.message().await.unwrap() {
        assert!(trailer.is_none(), "the trailer comes last");
        match msg.part.unwrap() {
            pb::export_audit_response::Part::Lines(b) => bytes.extend(b),
            pb::export_audit_response::Part::Trailer(t) => trailer = Some(t),
        }
    }
    let text = String::from_utf8(bytes).unwrap();
    assert!(!text.contains(BSN) && !text.contains(SURNAME) && !text.contains(GIVEN));
    let lines = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    (lines, trailer.expect("a trailer"))
}

async fn exports_and_reports_cover_what_the_officer_may_see(t: TestHub) {
    handover_and_fetch(&t, BSN, "h-1").await;
    let mut a = officer(&t, "gemeente-privacy-officer").await;
    let verifier = t.env.audit_verifier().unwrap();

    let (lines, trailer) = export(&mut a, pb::ExportFormat::Jsonl).await;
    // consent, submit, fetch, and the export's own entry.
    assert_eq!(lines.len(), 4);
    assert_eq!(trailer.entry_count, 4);
    let cp = Checkpoint::open(&trailer.checkpoint.unwrap().note, &verifier).unwrap();
    assert!(lines.iter().all(|l| l["sequence"].as_u64().unwrap() < cp.size));
    assert_eq!(lines[3]["entry_action"], "audit_export");
    // Our own entries carry their canonical bytes: the leaf hash recomputes.
    let own = &lines[2];
    assert_eq!(own["entry_action"], "transfer_fetched");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(own["entry"].as_str().unwrap())
        .unwrap();
    assert_eq!(hex::encode(leaf_hash(&bytes)), own["leaf_hash"].as_str().unwrap());
    assert_eq!(
        Entry::decode(&bytes).unwrap().actor.user_id.as_deref(),
        Some("werkcoach-3")
    );
    // The school's entry does not: its bytes name the school's end user.
    assert!(lines[1]["entry"].is_null() && lines[1]["actor"]["user_id"].is_null());

    let (lines, _) = export(&mut a, pb::ExportFormat::LogboekDataverwerkingen).await;
    assert_eq!(lines.len(), 5);
    let fetch = &lines[2];
    assert_eq!(fetch["name"], "transfer_fetched");
    assert_eq!(fetch["status_code"], "STATUS_CODE_OK");
    assert_eq!(fetch["trace_id"].as_str().unwrap().len(), 32);
    assert!(
        fetch["attributes"]["dpl.core.processing_activity_id"]
            .as_str()
            .unwrap()
            .starts_with("handover.school_to_gemeente@")
    );
    assert_eq!(fetch["attributes"]["dpl.core.user_id"], "werkcoach-3");
    let e = a
        .export_audit(fg(pb::ExportAuditRequest {
            filter: None,
            format: 0,
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);

    for (format, marker) in [(pb::ReportFormat::Text, "AVG"), (pb::ReportFormat::Html, "<html")] {
        let r = a
            .subject_access_report(fg(pb::SubjectAccessReportRequest {
                bsn: BSN.into(),
                format: format as i32,
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        // consent, submit, fetch, two exports, this report's own entry (and
        // the text report's, for the HTML one).
        assert!(r.entry_count >= 6, "{}", r.entry_count);
        assert!(r.report.contains(marker), "{}", r.report);
        assert!(r.report.contains("ROC Demo Groningen"));
        assert!(r.report.contains("werkcoach-3"));
        assert!(
            !r.report.contains("medewerker-42"),
            "another organisation's end user"
        );
        assert!(!r.report.contains(BSN) && !r.report.contains(SURNAME));
        let cp = Checkpoint::open(&r.checkpoint.unwrap().note, &verifier).unwrap();
        assert!(cp.size >= r.entry_count);
    }
    verify_audit_log(&t).await;
}

async fn refusal_bursts_show_in_the_anomaly_report(t: TestHub) {
    let mut school = clients(&t, "mbo-school").await;
    // Three handovers without consent: each refused (R4).
    for i in 0..3 {
        let e = school
            .transfer
            .submit(req(handover(BSN, "", &format!("no-consent-{i}"))))
            .await
            .unwrap_err();
        assert!(matches!(
            e.code(),
            Code::FailedPrecondition | Code::InvalidArgument
        ));
    }
    let mut a = officer(&t, "mbo-privacy-officer").await;
    let report = a
        .anomaly_report(fg(pb::AnomalyReportRequest {
            kinds: vec![pb::AnomalyKind::RefusalBurst as i32],
            thresholds: Some(pb::AnomalyThresholds {
                refusal_burst_count: 3,
                refusal_burst_minutes: 10,
                ..Default::default()
            }),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(report.anomalies.len(), 1, "{report:?}");
    let burst = &report.anomalies[0];
    assert_eq!(burst.kind, pb::AnomalyKind::RefusalBurst as i32);
    assert_eq!(burst.count, 3);
    assert_eq!(burst.party.as_ref().unwrap().oin, MBO_OIN);
    assert_eq!(burst.sequences.len(), 3);
    let applied = report.thresholds.unwrap();
    assert_eq!((applied.refusal_burst_count, applied.office_hours_end), (3, 19));
    // Three refusals are no burst at a threshold of four.
    let quiet = a
        .anomaly_report(fg(pb::AnomalyReportRequest {
            kinds: vec![pb::AnomalyKind::RefusalBurst as i32],
            thresholds: Some(pb::AnomalyThresholds {
                refusal_burst_count: 4,
                ..Default::default()
            }),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(quiet.anomalies.is_empty());
    let e = a
        .anomaly_report(fg(pb::AnomalyReportRequest {
            thresholds: Some(pb::AnomalyThresholds {
                office_hours_start: 20,
                office_hours_end: 8,
                ..Default::default()
            }),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    verify_audit_log(&t).await;
}

/// R8: a necessity justification is written for one youth. The Doorstroompunt
/// that sends the same text (up to case and spacing) for two youths shows in
/// its privacy officer's anomaly report; the log holds a keyed mark of the
/// text, never the text.
async fn a_justification_reused_for_two_youths_shows_in_the_anomaly_report(t: TestHub) {
    const GENERIC: &str = "Eerdere begeleiding bepaalt welk traject nu passend is.";
    let before = t.audit_size().await;
    let mut dp = clients(&t, "gemeente-doorstroompunt").await;
    dp.transfer
        .submit(req(dp_handover(BSN2, "reuse-1", GENERIC)))
        .await
        .unwrap();
    // The same words, other case and spacing: the same text.
    dp.transfer
        .submit(req(dp_handover(
            BSN3,
            "reuse-2",
            "  eerdere BEGELEIDING bepaalt welk traject nu passend is ",
        )))
        .await
        .unwrap();
    let mut a = officer(&t, "gemeente-privacy-officer").await;
    let report = a
        .anomaly_report(fg(pb::AnomalyReportRequest {
            kinds: vec![pb::AnomalyKind::ReusedJustification as i32],
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(report.anomalies.len(), 1, "{report:?}");
    let found = &report.anomalies[0];
    assert_eq!(found.count, 2);
    assert_eq!(found.party.as_ref().unwrap().oin, GEMEENTE_OIN);
    assert!(
        !found.description.contains("begeleiding"),
        "{}",
        found.description
    );
    // A text written for the youth is no finding.
    dp.transfer
        .submit(req(dp_handover(
            BSN,
            "reuse-3",
            "Stopte na drie maanden met de entreeopleiding; wil nu in de zorg werken.",
        )))
        .await
        .unwrap();
    let again = a
        .anomaly_report(fg(pb::AnomalyReportRequest {
            kinds: vec![pb::AnomalyKind::ReusedJustification as i32],
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.anomalies.len(), 1, "{again:?}");
    assert_eq!(again.anomalies[0].count, 2);
    let entries = verify_audit_log(&t).await;
    let sent: Vec<&Entry> = entries[before as usize..]
        .iter()
        .filter(|e| e.action == schakel_audit::Action::TransferSubmitted)
        .collect();
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[0].justification_marks.len(), 1);
    assert_eq!(sent[0].justification_marks, sent[1].justification_marks);
    assert_ne!(sent[0].justification_marks, sent[2].justification_marks);
}

/// A Doorstroompunt handover of `bsn`'s identity with `text` as its
/// necessity justification (R8).
fn dp_handover(bsn: &str, key: &str, text: &str) -> pb::SubmitRequest {
    pb::SubmitRequest {
        idempotency_key: key.into(),
        purpose: "handover.doorstroompunt_to_gemeente".into(),
        recipient: werk_party(),
        subject: Some(pb::SubjectFacts {
            bsn: bsn.into(),
            date_of_birth: ago(20, 0),
            startkwalificatie: pb::Startkwalificatie::NotAchieved as i32,
            ..Default::default()
        }),
        return_to_education: pb::ReturnToEducation::NotPossible as i32,
        groups: vec![group(
            "identity",
            &[
                ("bsn", bsn),
                ("date_of_birth", &iso(ago(20, 0))),
                ("surname", SURNAME),
            ],
        )],
        justifications: vec![pb::GroupJustification {
            group: "identity".into(),
            justification: text.into(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// R8: the necessity justifications are the proof that the sender assessed
/// the youth's case, so the privacy officers can read them: the hub seals
/// them to the officers' keys as well, and the reading is audited. Another
/// organisation's officer learns nothing, not even that the transfer exists.
async fn the_privacy_officer_reads_the_justifications(t: TestHub) {
    const TEXT: &str = "Stopte na drie maanden met de entreeopleiding; de begeleiding loopt door.";
    let mut dp = clients(&t, "gemeente-doorstroompunt").await;
    let sent = dp
        .transfer
        .submit(req(dp_handover(BSN2, "po-read-1", TEXT)))
        .await
        .unwrap()
        .into_inner();
    let mut fg_gemeente = officer(&t, "gemeente-privacy-officer").await;
    let got = fg_gemeente
        .get_justifications(fg(pb::GetJustificationsRequest {
            transfer_id: sent.transfer_id.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.purpose, "handover.doorstroompunt_to_gemeente");
    assert_eq!(got.groups.len(), 1, "only the justifications' unit");
    let plain = opened(&got.groups, &identity(&t, "gemeente-privacy-officer"));
    assert_eq!(plain.len(), 1);
    assert_eq!(plain[0].group, "meta.justifications");
    assert_eq!(plain[0].fields[0].key, "necessity.identity");
    assert_eq!(plain[0].fields[0].value, TEXT);
    // The officer's key opens the justifications, not the document.
    let mut werk = clients(&t, "gemeente-participatiewet").await;
    let fetched = werk
        .inbox
        .fetch(req(pb::FetchRequest {
            transfer_id: sent.transfer_id.clone(),
            purpose: "handover.doorstroompunt_to_gemeente".into(),
        }))
        .await
        .unwrap()
        .into_inner();
    let werkcoach = opened(&fetched.groups, &identity(&t, "gemeente-participatiewet"));
    assert!(werkcoach.iter().any(|g| g.group == "identity"));
    assert!(werkcoach.iter().any(|g| g.group == "meta.justifications"));
    let document = fetched
        .groups
        .iter()
        .find(|u| u.group == "identity" || u.groups.iter().any(|g| g == "identity"))
        .unwrap();
    assert!(
        schakel_crypto::open(&document.ciphertext, &[identity(&t, "gemeente-privacy-officer")]).is_err(),
        "the privacy officer cannot open the document itself"
    );
    // Another organisation's officer: as if the transfer did not exist.
    let mut fg_mbo = officer(&t, "mbo-privacy-officer").await;
    let e = fg_mbo
        .get_justifications(fg(pb::GetJustificationsRequest {
            transfer_id: sent.transfer_id.clone(),
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    // A school handover carries no justification.
    let mut school = clients(&t, "mbo-school").await;
    let consent = give_consent(&mut school, BSN, "po-read-consent").await;
    let plain_handover = submit_ok(&mut school, handover(BSN, &consent, "po-read-2")).await;
    let e = fg_gemeente
        .get_justifications(fg(pb::GetJustificationsRequest {
            transfer_id: plain_handover.transfer_id,
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    let entries = verify_audit_log(&t).await;
    let read: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.action == schakel_audit::Action::JustificationsRead)
        .collect();
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].transfer_id.map(|u| u.to_string()), Some(sent.transfer_id));
    assert_eq!(read[0].actor.function.as_deref(), Some("privacy_officer"));
}

on_both_backends!(
    the_privacy_officer_reads_the_justifications,
    a_justification_reused_for_two_youths_shows_in_the_anomaly_report,
    officer_queries_by_bsn_and_proves_what_they_see,
    an_officer_never_sees_other_organisations_exchanges,
    exports_and_reports_cover_what_the_officer_may_see,
    refusal_bursts_show_in_the_anomaly_report,
);
