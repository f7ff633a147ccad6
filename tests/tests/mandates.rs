//! R9, end to end on both backends: a gemeente's Participatiewet task carried
//! out by a regional werkbedrijf under a mandate the operator recorded (the
//! demo's Westerkwartier → Werkbedrijf Demo Groningen). The school addresses
//! the gemeente; the werkbedrijf receives, opens and decides, audited as
//! acting for the gemeente, whose privacy officer sees who did what; once
//! the mandate ends the werkbedrijf receives nothing more and its calls for
//! the gemeente are refused.

use schakel_audit::Action;
use schakel_e2e::flow::*;
use schakel_e2e::{TestHub, on_both_backends, verify_audit_log};
use schakel_hub::dev::DEMO_MANDATE;
use schakel_proto::v1 as pb;
use schakel_proto::v1::audit_service_client::AuditServiceClient;
use tonic::Code;

const WESTERKWARTIER: &str = DEMO_MANDATE.0;
const WERKBEDRIJF: &str = DEMO_MANDATE.1;

fn westerkwartier() -> Option<pb::PartyRef> {
    party(WESTERKWARTIER, pb::FunctionKind::Participatiewet)
}

/// The youth's consent for a handover to Westerkwartier, and the handover.
async fn hand_over(school: &mut Clients, bsn: &str, key: &str) -> Result<pb::SubmitResponse, tonic::Status> {
    let consent_id = give_consent_to(school, bsn, &format!("{key}-consent"), westerkwartier()).await;
    let mut r = handover(bsn, &consent_id, key);
    r.recipient = westerkwartier();
    school
        .transfer
        .submit(req(r))
        .await
        .map(tonic::Response::into_inner)
}

fn admin_req<T>(msg: T) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    r.metadata_mut()
        .insert("x-schakel-user-id", "beheerder-1".parse().expect("ascii"));
    r
}

async fn a_mandated_werkbedrijf_acts_for_the_gemeente(t: TestHub) {
    let before = t.audit_size().await;
    let mut school = clients(&t, "mbo-school").await;
    let mut bedrijf = clients(&t, "werkbedrijf-participatiewet").await;
    let mut gemeente = clients(&t, "westerkwartier-participatiewet").await;
    let admin = t.connect("admin").await;

    // The operator's view: the demo mandate holds.
    let listed = admin
        .admin()
        .list_mandates(admin_req(pb::ListMandatesRequest {
            oin: WESTERKWARTIER.into(),
        }))
        .await
        .expect("list")
        .into_inner()
        .mandates;
    assert_eq!(listed.len(), 1);
    let mandate = listed[0].clone();
    assert!(mandate.in_force);
    assert_eq!(
        mandate.mandated.as_ref().map(|p| p.oin.as_str()),
        Some(WERKBEDRIJF)
    );

    // The school addresses the gemeente; the werkbedrijf receives it.
    let sent = hand_over(&mut school, BSN, "mandate-1").await.expect("submitted");
    let inbox = bedrijf
        .inbox
        .list_inbox(req(pb::ListInboxRequest::default()))
        .await
        .expect("inbox")
        .into_inner()
        .transfers;
    assert_eq!(inbox.len(), 1);
    let listed = &inbox[0];
    assert_eq!(listed.transfer_id, sent.transfer_id);
    assert_eq!(
        listed.recipient.as_ref().map(|p| p.oin.as_str()),
        Some(WERKBEDRIJF)
    );
    assert_eq!(listed.acting_for, westerkwartier());
    assert_eq!(listed.mandate_id, mandate.mandate_id);
    // The gemeente's own function holds a key, yet is not sealed to: the
    // task is the werkbedrijf's while the mandate holds.
    let own = gemeente
        .inbox
        .list_inbox(req(pb::ListInboxRequest::default()))
        .await
        .expect("inbox")
        .into_inner()
        .transfers;
    assert!(own.is_empty(), "{own:?}");
    let fetch = |id: &str| {
        req(pb::FetchRequest {
            transfer_id: id.to_owned(),
            purpose: "handover.school_to_gemeente".into(),
        })
    };
    let e = gemeente.inbox.fetch(fetch(&sent.transfer_id)).await.unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    let got = bedrijf
        .inbox
        .fetch(fetch(&sent.transfer_id))
        .await
        .expect("fetch")
        .into_inner();
    let opened = opened(&got.groups, &identity(&t, "werkbedrijf-participatiewet"));
    assert!(
        opened.iter().any(|g| g.group == "identity"),
        "the werkbedrijf opens it"
    );
    bedrijf
        .inbox
        .decide(req(pb::DecideRequest {
            transfer_id: sent.transfer_id.clone(),
            decision: pb::DecisionKind::Accept as i32,
            ..Default::default()
        }))
        .await
        .expect("decided");

    // The gemeente's privacy officer sees every action, the werkbedrijf as
    // actor acting for the gemeente, with its end user (the gemeente answers
    // for it).
    let mut officer = AuditServiceClient::new(t.connect("westerkwartier-privacy-officer").await.channel());
    let seen = officer
        .query_audit(req(pb::QueryAuditRequest {
            filter: Some(pb::AuditFilter {
                bsn: BSN.into(),
                ..Default::default()
            }),
            page_size: 100,
            page_token: String::new(),
        }))
        .await
        .expect("query")
        .into_inner()
        .entries;
    let acted: Vec<_> = seen
        .iter()
        .filter(|e| e.actor.as_ref().is_some_and(|a| a.acting_for == WESTERKWARTIER))
        .collect();
    let actions: Vec<i32> = acted.iter().map(|e| e.action).collect();
    assert!(
        actions.contains(&(pb::AuditAction::TransferFetch as i32)),
        "{seen:?}"
    );
    assert!(
        actions.contains(&(pb::AuditAction::TransferDecide as i32)),
        "{seen:?}"
    );
    for e in &acted {
        let actor = e.actor.as_ref().expect("actor");
        assert_eq!(actor.party.as_ref().map(|p| p.oin.as_str()), Some(WERKBEDRIJF));
        assert_eq!(actor.user_id, "medewerker-42");
    }
    assert!(
        seen.iter()
            .any(|e| e.action == pb::AuditAction::TransferSubmit as i32),
        "the submission names the gemeente too"
    );

    // The rules of recording one: one organisation per task at a time; only
    // a gemeente mandates; the agreement is named.
    let record = |mandating: &str, agreement: &str| pb::RecordMandateRequest {
        mandating_oin: mandating.into(),
        function: pb::FunctionKind::Participatiewet as i32,
        mandated_oin: WERKBEDRIJF.into(),
        processing_agreement: agreement.into(),
        valid_from: None,
        valid_until: ago(-1, 0),
    };
    for (r, field) in [
        (record(WESTERKWARTIER, "VWO-2"), "valid_from"),
        (record(GEMEENTE_OIN, "  "), "processing_agreement"),
    ] {
        let e = admin.admin().record_mandate(admin_req(r)).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
        assert!(has(&e, field, "R9"), "{field}: {:?}", violations(&e));
    }
    let e = admin
        .admin()
        .record_mandate(admin_req(pb::RecordMandateRequest {
            function: pb::FunctionKind::School as i32,
            ..record(MBO_OIN, "VWO-3")
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");

    // The operator ends it now: nothing more arrives, the werkbedrijf's calls
    // for the gemeente are refused, and the gemeente receives itself.
    let ended = admin
        .admin()
        .end_mandate(admin_req(pb::EndMandateRequest {
            mandate_id: mandate.mandate_id.clone(),
            last_day: None,
        }))
        .await
        .expect("ended")
        .into_inner()
        .mandate
        .expect("mandate");
    assert!(!ended.in_force);
    let e = admin
        .admin()
        .end_mandate(admin_req(pb::EndMandateRequest {
            mandate_id: mandate.mandate_id.clone(),
            last_day: None,
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    let e = bedrijf.inbox.fetch(fetch(&sent.transfer_id)).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    assert!(has(&e, "transfer_id", "R9"), "{:?}", violations(&e));
    let e = bedrijf
        .inbox
        .get_inbox_transfer(req(pb::GetInboxTransferRequest {
            transfer_id: sent.transfer_id.clone(),
        }))
        .await
        .unwrap_err();
    assert!(has(&e, "transfer_id", "R9"), "{:?}", violations(&e));
    let inbox = bedrijf
        .inbox
        .list_inbox(req(pb::ListInboxRequest::default()))
        .await
        .expect("inbox")
        .into_inner()
        .transfers;
    assert!(inbox.is_empty(), "{inbox:?}");
    let later = hand_over(&mut school, BSN2, "mandate-2")
        .await
        .expect("submitted");
    let own = gemeente
        .inbox
        .list_inbox(req(pb::ListInboxRequest::default()))
        .await
        .expect("inbox")
        .into_inner()
        .transfers;
    assert_eq!(own.len(), 1);
    assert_eq!(own[0].transfer_id, later.transfer_id);
    assert_eq!(own[0].acting_for, None);

    // The log holds it all, each entry verified.
    let all = verify_audit_log(&t).await;
    let new = &all[usize::try_from(before).expect("size")..];
    let acting: Vec<_> = new.iter().filter(|e| e.actor.acting_for.is_some()).collect();
    assert!(
        acting
            .iter()
            .all(|e| e.actor.acting_for.as_deref() == Some(WESTERKWARTIER)
                && e.parties.iter().any(|p| p == WESTERKWARTIER))
    );
    assert_eq!(
        acting
            .iter()
            .filter(|e| e.action == Action::TransferFetched)
            .count(),
        1
    );
    assert_eq!(new.iter().filter(|e| e.action == Action::MandateEnded).count(), 1);
}

on_both_backends!(a_mandated_werkbedrijf_acts_for_the_gemeente);
