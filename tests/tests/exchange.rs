//! Issue 4, end to end over real mutual TLS on SQLite and PostgreSQL:
//! consent, handovers, the inbox with purpose-bound age sealing, withdrawal
//! propagation and expertise requests. Every test ends with a verified audit
//! log and the number of entries it expects.

use age::x25519::Identity;
use schakel_audit::{Action, Entry, Outcome};
use schakel_crypto::{CryptoError, open};
use schakel_e2e::flow::*;
use schakel_e2e::{TestHub, on_both_backends, verify_audit_log};
use schakel_hub::pki::Validity;
use schakel_proto::v1 as pb;
use schakel_proto::v1::admin_service_client::AdminServiceClient;
use schakel_proto::v1::consent_service_client::ConsentServiceClient;
use schakel_proto::v1::expertise_service_client::ExpertiseServiceClient;
use schakel_proto::v1::inbox_service_client::InboxServiceClient;
use schakel_proto::v1::transfer_service_client::TransferServiceClient;
use tonic::Code;

fn audit_entries(all: &[Entry], action: Action) -> Vec<&Entry> {
    all.iter().filter(|e| e.action == action).collect()
}

async fn handover_from_school_to_gemeente(t: TestHub) {
    let before = t.audit_size().await;
    let mut school = clients(&t, "mbo-school").await;
    let mut werk = clients(&t, "gemeente-participatiewet").await;
    let consent_id = give_consent(&mut school, BSN, "consent-1").await;

    let sent = submit_ok(&mut school, handover(BSN, &consent_id, "submit-1")).await;
    assert!(!sent.replayed);
    assert_eq!(sent.state, pb::TransferState::Available as i32);
    assert_eq!(sent.accepted_groups, GROUPS);
    // A retry with the same key returns the first answer and creates nothing.
    let again = submit_ok(&mut school, handover(BSN, &consent_id, "submit-1")).await;
    assert!(again.replayed);
    assert_eq!(again.transfer_id, sent.transfer_id);
    // The same key for another request is a conflict.
    let mut other = handover(BSN, &consent_id, "submit-1");
    other.client_reference = "dossier-B2".into();
    let e = school.transfer.submit(req(other)).await.unwrap_err();
    assert_eq!(e.code(), Code::AlreadyExists);

    // The gemeente sees it in its inbox: clear metadata only.
    let inbox = werk
        .inbox
        .list_inbox(req(pb::ListInboxRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(inbox.transfers.len(), 1);
    let listed = &inbox.transfers[0];
    assert_eq!(listed.transfer_id, sent.transfer_id);
    assert_eq!(listed.sender_name, "ROC Demo Groningen");
    assert_eq!(
        listed.return_to_education,
        pb::ReturnToEducation::NotPossible as i32
    );

    // R9: fetched for another purpose, nothing is delivered.
    let e = werk
        .inbox
        .fetch(req(pb::FetchRequest {
            transfer_id: sent.transfer_id.clone(),
            purpose: "support.during_school".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(has(&e, "purpose", "R9"), "{:?}", violations(&e));

    let fetched = werk
        .inbox
        .fetch(req(pb::FetchRequest {
            transfer_id: sent.transfer_id.clone(),
            purpose: "handover.school_to_gemeente".into(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        fetched.transfer.as_ref().unwrap().state,
        pb::TransferState::Fetched as i32
    );
    assert_eq!(group_names(&fetched.groups), GROUPS);
    // Issue 7: one age file per (document, purpose), not one per group.
    assert_eq!(fetched.groups.len(), 1, "one sealed unit for the one purpose");
    assert_eq!(
        fetched.groups[0].group, "",
        "a unit of several groups names them in `groups`"
    );
    // Opened locally with the werkcoach's identity: exactly what was sent.
    let plain = opened(&fetched.groups, &identity(&t, "gemeente-participatiewet"));
    assert_eq!(plain[0].group, "identity");
    assert_eq!(plain[0].fields[0].value, BSN);
    assert_eq!(plain[0].fields[3].value, SURNAME);
    // R9: the Doorstroompunt of the same gemeente holds another key.
    let dp = identity(&t, "gemeente-doorstroompunt");
    assert_eq!(
        open(&fetched.groups[0].ciphertext, std::slice::from_ref(&dp)).unwrap_err(),
        CryptoError::NoMatchingIdentity
    );
    // R12: the school can show the youth exactly what was sent.
    let copy = school
        .transfer
        .fetch_sent_copy(req(pb::FetchSentCopyRequest {
            transfer_id: sent.transfer_id.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(opened(&copy.groups, &identity(&t, "mbo-school")), plain);

    // Deciding before acknowledging acknowledges on the way; the reason
    // text is sealed to both sides.
    let ack = werk
        .inbox
        .acknowledge(req(pb::AcknowledgeRequest {
            transfer_id: sent.transfer_id.clone(),
            case_reference: "zaak-2026-001".into(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        ack.transfer.unwrap().state,
        pb::TransferState::Acknowledged as i32
    );
    let decided = werk
        .inbox
        .decide(req(pb::DecideRequest {
            transfer_id: sent.transfer_id.clone(),
            decision: pb::DecisionKind::Decline as i32,
            reason: pb::DeclineReason::NotResident as i32,
            reason_text: "Woont sinds kort in een andere gemeente.".into(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        decided.transfer.unwrap().state,
        pb::TransferState::Declined as i32
    );
    // Final: another decision is refused, the same one is idempotent.
    let e = werk
        .inbox
        .decide(req(pb::DecideRequest {
            transfer_id: sent.transfer_id.clone(),
            decision: pb::DecisionKind::Accept as i32,
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);

    // The sender sees the decision and can read the reason.
    let seen = school
        .transfer
        .get_sent(req(pb::GetSentRequest {
            transfer_id: sent.transfer_id.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    let decision = seen.transfer.unwrap().decision.unwrap();
    assert_eq!(decision.reason, pb::DeclineReason::NotResident as i32);
    assert_eq!(decision.decided_by_role, "loopbaanbegeleider");
    let text = open(
        &decision.reason_text.unwrap().ciphertext,
        &[identity(&t, "mbo-school")],
    )
    .unwrap();
    assert_eq!(text.fields[0].value, "Woont sinds kort in een andere gemeente.");
    assert_eq!(seen.client_reference, "dossier-A17");

    // consent, submit, refused fetch (R9), fetch, sent copy, acknowledge,
    // decide, refused second decision: every refused write is audited.
    let entries = verify_audit_log(&t).await;
    assert_eq!(entries.len() as u64, before + 8);
    let new = &entries[before as usize..];
    let submitted = audit_entries(new, Action::TransferSubmitted)[0];
    assert_eq!(submitted.actor.oin.as_deref(), Some(MBO_OIN));
    assert_eq!(submitted.parties, [GEMEENTE_OIN]);
    assert_eq!(
        submitted.groups,
        ["contact.youth", "identity", "school_career", "wishes"]
    );
    let activity = submitted.activity.as_ref().unwrap();
    assert_eq!(activity.purpose, "handover.school_to_gemeente");
    assert!(
        submitted
            .legal_basis
            .as_deref()
            .unwrap()
            .contains("Participatiewet art. 7a")
    );
    assert_eq!(submitted.subject.as_ref().unwrap().len(), 64);
    let fetch = audit_entries(new, Action::TransferFetched)[0];
    assert_eq!(fetch.actor.function.as_deref(), Some("participatiewet"));
    assert_eq!(fetch.subject, submitted.subject);
}

/// What a case changes in a valid handover, the status it then gets, and
/// the field and rule it must name.
type RefusalCase = (
    &'static str,
    Box<dyn Fn(&mut pb::SubmitRequest)>,
    Code,
    &'static str,
    &'static str,
);

/// One refused submission per rule that can fire at submit time.
async fn refusals_name_every_rule_and_store_nothing(t: TestHub) {
    let before = t.audit_size().await;
    let mut school = clients(&t, "mbo-school").await;
    let consent_id = give_consent(&mut school, BSN, "consent-r").await;
    let cases: Vec<RefusalCase> = vec![
        (
            "no consent",
            Box::new(|r| r.consent_id.clear()),
            Code::FailedPrecondition,
            "consent_id",
            "R4",
        ),
        (
            "window passed",
            Box::new(|r| {
                let s = r.subject.as_mut().unwrap();
                s.diploma_date = ago(1, 10);
                s.leaving_date = ago(1, 10);
            }),
            Code::FailedPrecondition,
            "subject.diploma_date",
            "R4",
        ),
        (
            "27 or older",
            Box::new(|r| set_birth(r, ago(27, 1))),
            Code::FailedPrecondition,
            "subject.date_of_birth",
            "R2",
        ),
        (
            "forbidden category",
            Box::new(|r| {
                r.groups[1].fields.push(pb::Field {
                    key: "uwv_benefit".into(),
                    value: "WW".into(),
                })
            }),
            Code::InvalidArgument,
            "groups[1].fields[2].key",
            "R14",
        ),
        (
            "group not consented",
            Box::new(|r| r.groups.push(group("support_needs", &[("job_coach", "ja")]))),
            Code::InvalidArgument,
            "groups[4].name",
            "R4",
        ),
        (
            "hbo is no sender",
            Box::new(|r| r.subject.as_mut().unwrap().school_type = pb::SchoolType::Hbo as i32),
            Code::FailedPrecondition,
            "subject.school_type",
            "R18",
        ),
        (
            "wrong recipient function",
            Box::new(|r| r.recipient = party(GEMEENTE_OIN, pb::FunctionKind::Doorstroompunt)),
            Code::InvalidArgument,
            "recipient",
            "R9",
        ),
        (
            "doorstroompunt purpose from a school",
            Box::new(|r| r.purpose = "handover.doorstroompunt_to_gemeente".into()),
            Code::InvalidArgument,
            "purpose",
            "R9",
        ),
        (
            "vso exit profile for an mbo student",
            Box::new(|r| {
                r.subject.as_mut().unwrap().vso_exit_profile = pb::VsoExitProfile::Arbeidsmarkt as i32
            }),
            Code::FailedPrecondition,
            "subject.vso_exit_profile",
            "R19",
        ),
        (
            "no judgement on return to education",
            Box::new(|r| r.return_to_education = pb::ReturnToEducation::Unspecified as i32),
            Code::InvalidArgument,
            "return_to_education",
            "R6",
        ),
        (
            "return to education judged possible",
            Box::new(|r| r.return_to_education = pb::ReturnToEducation::Possible as i32),
            Code::InvalidArgument,
            "return_to_education",
            "R6",
        ),
        (
            "mbo without a diploma: the Doorstroompunt's, not a handover",
            Box::new(|r| {
                let s = r.subject.as_mut().unwrap();
                s.diploma_date = None;
                s.startkwalificatie = pb::Startkwalificatie::NotAchieved as i32;
                r.groups[2].fields.retain(|f| f.key != "diploma_level");
            }),
            Code::FailedPrecondition,
            "subject.diploma_date",
            "R4",
        ),
        (
            "enrolled, yet left two months ago",
            Box::new(|r| r.subject.as_mut().unwrap().enrolled = true),
            Code::InvalidArgument,
            "subject.enrolled",
            "format",
        ),
        (
            "a school invoking the hardheidsclausule (the gemeente's decision)",
            Box::new(|r| {
                set_birth(r, ago(27, 1));
                r.hardheidsclausule = true;
                r.hardheidsclausule_justification = "Rondt de bbl-opleiding af in juni van dit jaar.".into();
            }),
            Code::InvalidArgument,
            "hardheidsclausule",
            "R2",
        ),
    ];
    for (i, (what, change, code, field, rule)) in cases.iter().enumerate() {
        let mut r = handover(BSN, &consent_id, &format!("refused-{i}"));
        change(&mut r);
        let e = school.transfer.submit(req(r)).await.unwrap_err();
        assert_eq!(e.code(), *code, "{what}: {:?}", violations(&e));
        assert!(has(&e, field, rule), "{what}: {:?}", violations(&e));
        for (_, d) in violations(&e) {
            assert!(!d.contains(BSN) && !d.contains(SURNAME), "{what}: {d}");
        }
    }
    // Several problems at once: every one is reported.
    let mut r = handover(BSN, "", "refused-many");
    set_birth(&mut r, ago(28, 0));
    r.groups[0].fields.push(pb::Field {
        key: "religion".into(),
        value: "x".into(),
    });
    let e = school.transfer.submit(req(r)).await.unwrap_err();
    assert!(
        has(&e, "consent_id", "R4") && has(&e, "subject.date_of_birth", "R2"),
        "{:?}",
        violations(&e)
    );
    assert!(
        has(&e, "groups[0].fields[4].key", "R16") || has(&e, "groups[0].fields[4].key", "R14"),
        "{:?}",
        violations(&e)
    );

    // Nothing was stored: no transfer, only audit entries.
    let sent = school
        .transfer
        .list_sent(req(pb::ListSentRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert!(sent.transfers.is_empty());
    let entries = verify_audit_log(&t).await;
    let new = &entries[before as usize..];
    let refused = audit_entries(new, Action::TransferRefused);
    assert_eq!(refused.len(), cases.len() + 1);
    assert_eq!(
        refused[0].outcome,
        Outcome::Refused {
            rules: vec!["R4".into()]
        }
    );
    assert_eq!(new.len(), cases.len() + 2, "consent + one entry per refusal");
}

async fn consent_refused_withdrawn_and_propagated(t: TestHub) {
    let before = t.audit_size().await;
    let mut school = clients(&t, "mbo-school").await;
    let mut werk = clients(&t, "gemeente-participatiewet").await;
    // R13: a refusal is recorded without a BSN or content.
    let refused = school
        .consent
        .record_consent(req(pb::RecordConsentRequest {
            idempotency_key: "refusal-1".into(),
            status: pb::ConsentStatus::Refused as i32,
            giver: pb::ConsentGiver::Youth as i32,
            method: pb::ConsentMethod::VerbalRecorded as i32,
            scope: Some(pb::ConsentScope {
                purpose: "handover.school_to_gemeente".into(),
                recipient: werk_party(),
                groups: vec![],
            }),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .consent
        .unwrap();
    assert_eq!(refused.status, pb::ConsentStatus::Refused as i32);
    // R4: a youth under 18 needs a parent or guardian.
    let minor = pb::RecordConsentRequest {
        idempotency_key: "minor-1".into(),
        status: pb::ConsentStatus::Given as i32,
        subject: Some(pb::ConsentSubject {
            bsn: BSN3.into(),
            date_of_birth: ago(17, 0),
        }),
        giver: pb::ConsentGiver::Youth as i32,
        method: pb::ConsentMethod::Written as i32,
        scope: Some(pb::ConsentScope {
            purpose: "handover.school_to_gemeente".into(),
            recipient: werk_party(),
            groups: vec!["identity".into()],
        }),
        ..Default::default()
    };
    let e = school
        .consent
        .record_consent(req(minor.clone()))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(has(&e, "giver", "R4"), "{:?}", violations(&e));
    let parent = school
        .consent
        .record_consent(req(pb::RecordConsentRequest {
            giver: pb::ConsentGiver::Parent as i32,
            ..minor
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(parent.consent.unwrap().giver, pb::ConsentGiver::Parent as i32);

    // Two transfers on one consent: one fetched, one not.
    let consent_id = give_consent(&mut school, BSN, "consent-w").await;
    let unfetched = submit_ok(&mut school, handover(BSN, &consent_id, "w-1"))
        .await
        .transfer_id;
    let fetched = submit_ok(&mut school, handover(BSN, &consent_id, "w-2"))
        .await
        .transfer_id;
    werk.inbox
        .fetch(req(pb::FetchRequest {
            transfer_id: fetched.clone(),
            purpose: "handover.school_to_gemeente".into(),
        }))
        .await
        .unwrap();
    let w = school
        .consent
        .withdraw_consent(req(pb::WithdrawConsentRequest {
            consent_id: consent_id.clone(),
            withdrawn_by: pb::ConsentGiver::Youth as i32,
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(w.consent.unwrap().status, pb::ConsentStatus::Withdrawn as i32);
    let effect = |id: &str| w.transfers.iter().find(|x| x.transfer_id == id).unwrap().effect;
    assert_eq!(effect(&unfetched), pb::WithdrawalEffect::DeliveryStopped as i32);
    assert_eq!(effect(&fetched), pb::WithdrawalEffect::NoticeSent as i32);
    // Withdrawing again is idempotent and writes nothing.
    school
        .consent
        .withdraw_consent(req(pb::WithdrawConsentRequest {
            consent_id: consent_id.clone(),
            withdrawn_by: 1,
        }))
        .await
        .unwrap();
    // The unfetched transfer is never delivered (R4).
    let e = werk
        .inbox
        .fetch(req(pb::FetchRequest {
            transfer_id: unfetched.clone(),
            purpose: "handover.school_to_gemeente".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(has(&e, "transfer_id", "R4"));
    // A new submission on the withdrawn consent is refused.
    let e = school
        .transfer
        .submit(req(handover(BSN, &consent_id, "w-3")))
        .await
        .unwrap_err();
    assert!(has(&e, "consent_id", "R4"), "{:?}", violations(&e));
    // The recipient gets a notice for what it had fetched, and acknowledges it.
    let notices = werk
        .inbox
        .list_withdrawal_notices(req(pb::ListWithdrawalNoticesRequest {
            open_only: true,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .notices;
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].transfer_id, fetched);
    werk.inbox
        .acknowledge_withdrawal(req(pb::AcknowledgeWithdrawalRequest {
            notice_id: notices[0].notice_id.clone(),
            confirmed_deletion: true,
        }))
        .await
        .unwrap();
    // The sender sees the acknowledgement.
    let seen = school
        .transfer
        .get_sent(req(pb::GetSentRequest {
            transfer_id: fetched.clone(),
        }))
        .await
        .unwrap()
        .into_inner()
        .transfer
        .unwrap();
    assert_eq!(seen.state, pb::TransferState::Withdrawn as i32);
    let wd = seen.withdrawal.unwrap();
    assert!(wd.fetched_before_withdrawal && wd.recipient_confirmed_deletion);
    assert!(wd.notice_acknowledged_at.is_some());
    let open_left = werk
        .inbox
        .list_withdrawal_notices(req(pb::ListWithdrawalNoticesRequest {
            open_only: true,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .notices;
    assert!(open_left.is_empty());

    // refused consent of the minor alone (R4), refusal, parent consent,
    // consent, 2 submits, fetch, withdrawal (one entry per transfer and the
    // consent's), refused fetch (R4), refused submit, notice acknowledgement.
    let entries = verify_audit_log(&t).await;
    assert_eq!(entries.len() as u64, before + 13);
    // Each withdrawn transfer's own record shows the withdrawal.
    let withdrawn = audit_entries(&entries, Action::TransferWithdrawn);
    assert_eq!(withdrawn.len(), 2);
    assert!(
        withdrawn
            .iter()
            .all(|e| e.transfer_id.is_some() && e.consent_id.is_some())
    );
    let refusal = audit_entries(&entries, Action::ConsentRefused)[0];
    assert_eq!(refusal.subject, None);
    let withdrawal = audit_entries(&entries, Action::ConsentWithdrawn)[0];
    assert_eq!(withdrawal.parties, [GEMEENTE_OIN]);
}

async fn inbox_pages_in_order(t: TestHub) {
    let mut school = clients(&t, "mbo-school").await;
    let mut werk = clients(&t, "gemeente-participatiewet").await;
    let mut ids = Vec::new();
    for (i, bsn) in [BSN, BSN2, BSN3, "999993653", "999994669"].iter().enumerate() {
        let c = give_consent(&mut school, bsn, &format!("c-{i}")).await;
        ids.push(
            submit_ok(&mut school, handover(bsn, &c, &format!("p-{i}")))
                .await
                .transfer_id,
        );
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = werk
            .inbox
            .list_inbox(req(pb::ListInboxRequest {
                page_size: 2,
                page_token: token.clone(),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        assert!(page.transfers.len() <= 2);
        seen.extend(page.transfers.into_iter().map(|t| t.transfer_id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen, ids, "oldest first, each once");
    // Sent: newest first.
    let sent = school
        .transfer
        .list_sent(req(pb::ListSentRequest::default()))
        .await
        .unwrap()
        .into_inner();
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(
        sent.transfers
            .iter()
            .map(|t| t.transfer_id.clone())
            .collect::<Vec<_>>(),
        newest_first
    );
    // A token only works with the filters it was made for.
    let first = werk
        .inbox
        .list_inbox(req(pb::ListInboxRequest {
            page_size: 2,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    let e = werk
        .inbox
        .list_inbox(req(pb::ListInboxRequest {
            page_size: 2,
            page_token: first.next_page_token,
            purpose: "support.during_school".into(),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    // State filter.
    let fetched = werk
        .inbox
        .list_inbox(req(pb::ListInboxRequest {
            states: vec![pb::TransferState::Fetched as i32],
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(fetched.transfers.is_empty());
    verify_audit_log(&t).await;
}

/// Registers a second gemeente with a Participatiewet function, key and
/// bound certificate; returns its channel and identity.
async fn second_gemeente(t: &TestHub) -> (Clients, Identity) {
    let admin = t.connect("admin").await;
    let oin = "00000001999990034000";
    let mut a = admin.admin();
    a.register_organisation(req(pb::RegisterOrganisationRequest {
        oin: oin.into(),
        kind: pb::OrgKind::Gemeente as i32,
        name: "Gemeente Elders (test)".into(),
        gemeentecode: "GM0034".into(),
        ..Default::default()
    }))
    .await
    .unwrap();
    a.add_function(req(pb::AddFunctionRequest {
        oin: oin.into(),
        function: pb::FunctionKind::Participatiewet as i32,
    }))
    .await
    .unwrap();
    let id = Identity::generate();
    a.register_recipient(req(pb::RegisterRecipientRequest {
        oin: oin.into(),
        function: pb::FunctionKind::Participatiewet as i32,
        age_recipient: id.to_public().to_string(),
        ..Default::default()
    }))
    .await
    .unwrap();
    let cert = t.issue(oin, Validity::days_from_now(30));
    a.bind_certificate(req(pb::BindCertificateRequest {
        oin: oin.into(),
        function: pb::FunctionKind::Participatiewet as i32,
        certificate_pem: cert.cert_pem.clone(),
    }))
    .await
    .unwrap();
    let ch = t.connect_with(Some(&cert)).await.channel();
    (
        Clients {
            consent: ConsentServiceClient::new(ch.clone()),
            transfer: TransferServiceClient::new(ch.clone()),
            inbox: InboxServiceClient::new(ch.clone()),
            expertise: ExpertiseServiceClient::new(ch),
        },
        id,
    )
}

async fn another_organisation_sees_nothing(t: TestHub) {
    let mut school = clients(&t, "mbo-school").await;
    let c = give_consent(&mut school, BSN, "c-x").await;
    let sent = submit_ok(&mut school, handover(BSN, &c, "x-1")).await;
    let (mut elders, _) = second_gemeente(&t).await;
    let unknown = uuid::Uuid::now_v7().to_string();
    for id in [&sent.transfer_id, &unknown] {
        let e = elders
            .inbox
            .fetch(req(pb::FetchRequest {
                transfer_id: id.clone(),
                purpose: "handover.school_to_gemeente".into(),
            }))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::NotFound);
        assert_eq!(
            e.message(),
            "transfer not found",
            "identical to a missing transfer"
        );
        let e = elders
            .inbox
            .get_inbox_transfer(req(pb::GetInboxTransferRequest {
                transfer_id: id.clone(),
            }))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::NotFound);
    }
    let list = elders
        .inbox
        .list_inbox(req(pb::ListInboxRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert!(list.transfers.is_empty());
    // Another school cannot read the first school's consent or transfer either.
    let mut pro = clients(&t, "pro-school").await;
    let e = pro
        .consent
        .get_consent(req(pb::GetConsentRequest { consent_id: c }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    let e = pro
        .transfer
        .get_sent(req(pb::GetSentRequest {
            transfer_id: sent.transfer_id,
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    // Case-data calls must name the end user.
    let e = pro
        .transfer
        .list_sent(pb::ListSentRequest::default())
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    verify_audit_log(&t).await;
}

async fn doorstroompunt_handover_needs_a_justification_per_group(t: TestHub) {
    let mut dp = clients(&t, "gemeente-doorstroompunt").await;
    let mut werk = clients(&t, "gemeente-participatiewet").await;
    let subject = pb::SubjectFacts {
        bsn: BSN2.into(),
        date_of_birth: ago(20, 0),
        startkwalificatie: pb::Startkwalificatie::NotAchieved as i32,
        ..Default::default()
    };
    let mut r = pb::SubmitRequest {
        idempotency_key: "dp-1".into(),
        purpose: "handover.doorstroompunt_to_gemeente".into(),
        recipient: werk_party(),
        subject: Some(subject),
        // R6: the Doorstroompunt has weighed that return is not possible.
        return_to_education: pb::ReturnToEducation::NotPossible as i32,
        groups: vec![
            group(
                "identity",
                &[
                    ("bsn", BSN2),
                    ("date_of_birth", &iso(ago(20, 0))),
                    ("surname", SURNAME),
                ],
            ),
            group(
                "doorstroompunt.history",
                &[("guidance_history", "Traject gestart, na drie maanden gestopt.")],
            ),
        ],
        ..Default::default()
    };
    let e = dp.transfer.submit(req(r.clone())).await.unwrap_err();
    assert!(
        has(&e, "justifications[doorstroompunt.history]", "R8"),
        "{:?}",
        violations(&e)
    );
    assert!(has(&e, "justifications[identity]", "R8"), "{:?}", violations(&e));
    r.justifications = vec![
        pb::GroupJustification {
            group: "identity".into(),
            justification: "Nodig om de jongere in het klantvolgsysteem te vinden.".into(),
            ..Default::default()
        },
        pb::GroupJustification {
            group: "doorstroompunt.history".into(),
            justification: "Eerdere begeleiding bepaalt welk traject nu passend is.".into(),
            ..Default::default()
        },
    ];
    // R8: Doorstroompunt data leaves field by field: a justification of the
    // group as a whole does not send its fields.
    let e = dp.transfer.submit(req(r.clone())).await.unwrap_err();
    assert!(has(&e, "groups[1].fields[0].key", "R8"), "{:?}", violations(&e));
    r.justifications[1].fields = vec!["guidance_history".into()];
    let mut vso = r.clone();
    let sent = dp.transfer.submit(req(r)).await.unwrap().into_inner();
    assert!(sent.accepted_groups.contains(&"meta.justifications".to_owned()));
    // R19 is a division of work, not a ban: a former vso pupil with
    // uitstroomprofiel arbeidsmarkt, left half a year ago (the school's first
    // year), may still be handed over by the Doorstroompunt.
    vso.idempotency_key = "dp-vso".into();
    let facts = vso.subject.as_mut().unwrap();
    facts.school_type = pb::SchoolType::Vso as i32;
    facts.vso_exit_profile = pb::VsoExitProfile::Arbeidsmarkt as i32;
    facts.leaving_date = ago(0, 180);
    let accepted = dp.transfer.submit(req(vso)).await.unwrap().into_inner();
    assert_eq!(accepted.state, pb::TransferState::Available as i32);
    let got = werk
        .inbox
        .fetch(req(pb::FetchRequest {
            transfer_id: sent.transfer_id,
            purpose: "handover.doorstroompunt_to_gemeente".into(),
        }))
        .await
        .unwrap()
        .into_inner();
    let plain = opened(&got.groups, &identity(&t, "gemeente-participatiewet"));
    let meta = plain.iter().find(|g| g.group == "meta.justifications").unwrap();
    let keys: Vec<&str> = meta.fields.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "necessity.identity",
            "necessity.doorstroompunt.history",
            "necessity.doorstroompunt.history.fields"
        ]
    );
    verify_audit_log(&t).await;
}

async fn expertise_request_and_advice(t: TestHub) {
    let before = t.audit_size().await;
    let mut werk = clients(&t, "gemeente-participatiewet").await;
    let mut dp = clients(&t, "gemeente-doorstroompunt").await;
    let dp_party = party(GEMEENTE_OIN, pb::FunctionKind::Doorstroompunt);
    let ask = |key: &str, sk: pb::Startkwalificatie| pb::RequestExpertiseRequest {
        idempotency_key: key.into(),
        doorstroompunt: dp_party.clone(),
        subject: Some(pb::SubjectFacts {
            bsn: BSN3.into(),
            date_of_birth: ago(19, 0),
            startkwalificatie: sk as i32,
            ..Default::default()
        }),
        groups: vec![group(
            "identity",
            &[
                ("bsn", BSN3),
                ("date_of_birth", &iso(ago(19, 0))),
                ("surname", SURNAME),
            ],
        )],
        question: "Is terugkeer naar het mbo haalbaar?".into(),
        ..Default::default()
    };
    // R7: only youths without startkwalificatie.
    let e = werk
        .expertise
        .request_expertise(req(ask("e-0", pb::Startkwalificatie::Achieved)))
        .await
        .unwrap_err();
    assert!(has(&e, "subject.startkwalificatie", "R7"), "{:?}", violations(&e));
    let asked = werk
        .expertise
        .request_expertise(req(ask("e-1", pb::Startkwalificatie::NotAchieved)))
        .await
        .unwrap()
        .into_inner()
        .request
        .unwrap();
    // The school cannot ask (authorisation) and the Doorstroompunt sees it.
    let received = dp
        .expertise
        .list_expertise_requests(req(pb::ListExpertiseRequestsRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .requests;
    assert_eq!(received.len(), 1);
    let got = dp
        .expertise
        .fetch_expertise_request(req(pb::FetchExpertiseRequestRequest {
            request_id: asked.request_id.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    let plain = opened(&got.groups, &identity(&t, "gemeente-doorstroompunt"));
    assert_eq!(plain.last().unwrap().group, "meta.question");
    // R9: the request is Doorstroompunt-bound; the werkcoach's key cannot open it.
    assert_eq!(
        open(
            &got.groups[0].ciphertext,
            &[identity(&t, "gemeente-participatiewet")]
        )
        .unwrap_err(),
        CryptoError::NoMatchingIdentity
    );
    // Not answered yet.
    let e = werk
        .expertise
        .get_advice(req(pb::GetAdviceRequest {
            request_id: asked.request_id.clone(),
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    // R8: attached Doorstroompunt data needs a justification.
    let mut advice = pb::GiveAdviceRequest {
        idempotency_key: "a-1".into(),
        request_id: asked.request_id.clone(),
        outcome: pb::AdviceOutcome::ReturnNotPossible as i32,
        advice_text: "Terugkeer is niet haalbaar; begeleiding naar werk past beter.".into(),
        groups: vec![group(
            "doorstroompunt.history",
            &[("guidance_history", "Twee trajecten afgebroken.")],
        )],
        ..Default::default()
    };
    let e = dp.expertise.give_advice(req(advice.clone())).await.unwrap_err();
    assert!(
        has(&e, "justifications[doorstroompunt.history]", "R8"),
        "{:?}",
        violations(&e)
    );
    advice.justifications = vec![pb::GroupJustification {
        group: "doorstroompunt.history".into(),
        fields: vec!["guidance_history".into()],
        justification: "De eerdere trajecten onderbouwen het advies.".into(),
    }];
    let given = dp
        .expertise
        .give_advice(req(advice.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(given.request.unwrap().state, pb::ExpertiseState::Answered as i32);
    // A retry replays; a second advice has no open request (R7).
    assert!(
        dp.expertise
            .give_advice(req(advice))
            .await
            .unwrap()
            .into_inner()
            .replayed
    );
    let e = dp
        .expertise
        .give_advice(req(pb::GiveAdviceRequest {
            idempotency_key: "a-2".into(),
            request_id: asked.request_id.clone(),
            outcome: pb::AdviceOutcome::ReturnPossible as i32,
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(has(&e, "request_id", "R7"), "{:?}", violations(&e));
    let read = werk
        .expertise
        .get_advice(req(pb::GetAdviceRequest {
            request_id: asked.request_id,
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        read.advice.unwrap().outcome,
        pb::AdviceOutcome::ReturnNotPossible as i32
    );
    let plain = opened(&read.groups, &identity(&t, "gemeente-participatiewet"));
    let names: Vec<&str> = plain.iter().map(|g| g.group.as_str()).collect();
    assert_eq!(
        names,
        ["doorstroompunt.history", "meta.advice", "meta.justifications"]
    );
    // refused request, request, fetch, refused advice, advice, refused advice, read.
    let entries = verify_audit_log(&t).await;
    assert_eq!(entries.len() as u64, before + 7);
}

/// Issue 19: whatever refuses a write — the form of the request, a rule,
/// the state of the transfer, a missing key — the attempt is in the audit
/// log, as the action it would have been with outcome `refused` and the
/// rules it broke. A missing recipient key used to be audited for Submit
/// only.
async fn a_refusal_of_every_write_rpc_is_audited(t: TestHub) {
    let before = t.audit_size().await as usize;
    let mut school = clients(&t, "mbo-school").await;
    let mut werk = clients(&t, "gemeente-participatiewet").await;
    let mut dp = clients(&t, "gemeente-doorstroompunt").await;
    let consent_id = give_consent(&mut school, BSN, "audited-consent").await;
    let sent = submit_ok(&mut school, handover(BSN, &consent_id, "audited-submit")).await;
    let transfer_id = sent.transfer_id.clone();
    let mut expected: Vec<(Action, Vec<&str>)> = Vec::new();

    // RecordConsent: a youth of 16 does not consent alone (R4).
    let e = school
        .consent
        .record_consent(req(pb::RecordConsentRequest {
            idempotency_key: "audited-minor".into(),
            status: pb::ConsentStatus::Given as i32,
            subject: Some(pb::ConsentSubject {
                bsn: BSN2.into(),
                date_of_birth: ago(16, 0),
            }),
            giver: pb::ConsentGiver::Youth as i32,
            scope: Some(pb::ConsentScope {
                purpose: "handover.school_to_gemeente".into(),
                recipient: werk_party(),
                groups: vec!["identity".into()],
            }),
            method: pb::ConsentMethod::Digital as i32,
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert!(has(&e, "giver", "R4"), "{:?}", violations(&e));
    expected.push((Action::ConsentRecorded, vec!["R4"]));

    // WithdrawConsent without saying who withdraws it.
    let e = school
        .consent
        .withdraw_consent(req(pb::WithdrawConsentRequest {
            consent_id: consent_id.clone(),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert!(has(&e, "withdrawn_by", "format"), "{:?}", violations(&e));
    expected.push((Action::ConsentWithdrawn, vec!["format"]));

    // Submit without a consent (R4).
    let e = school
        .transfer
        .submit(req(handover(BSN, "", "audited-no-consent")))
        .await
        .unwrap_err();
    assert!(has(&e, "consent_id", "R4"), "{:?}", violations(&e));
    expected.push((Action::TransferRefused, vec!["R4"]));

    // Fetch for another purpose than the transfer's (R9).
    let e = werk
        .inbox
        .fetch(req(pb::FetchRequest {
            transfer_id: transfer_id.clone(),
            purpose: "support.during_school".into(),
        }))
        .await
        .unwrap_err();
    assert!(has(&e, "purpose", "R9"), "{:?}", violations(&e));
    expected.push((Action::TransferFetched, vec!["R9"]));

    // Acknowledge before fetching: the transfer's state refuses it.
    let e = werk
        .inbox
        .acknowledge(req(pb::AcknowledgeRequest {
            transfer_id: transfer_id.clone(),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    expected.push((Action::TransferAcknowledged, vec!["state"]));

    // Decide without a decision.
    let e = werk
        .inbox
        .decide(req(pb::DecideRequest {
            transfer_id: transfer_id.clone(),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert!(has(&e, "decision", "format"), "{:?}", violations(&e));
    expected.push((Action::TransferDecided, vec!["format"]));

    // AcknowledgeWithdrawal without naming the end user.
    let e = werk
        .inbox
        .acknowledge_withdrawal(tonic::Request::new(pb::AcknowledgeWithdrawalRequest {
            notice_id: uuid::Uuid::now_v7().to_string(),
            confirmed_deletion: true,
        }))
        .await
        .unwrap_err();
    assert!(
        has(&e, "metadata.x-schakel-user-id", "format"),
        "{:?}",
        violations(&e)
    );
    expected.push((Action::WithdrawalNoticeAcknowledged, vec!["format"]));

    // An open expertise request; then both functions lose their keys.
    let ask = |key: &str| pb::RequestExpertiseRequest {
        idempotency_key: key.into(),
        doorstroompunt: party(GEMEENTE_OIN, pb::FunctionKind::Doorstroompunt),
        subject: Some(pb::SubjectFacts {
            bsn: BSN3.into(),
            date_of_birth: ago(19, 0),
            startkwalificatie: pb::Startkwalificatie::NotAchieved as i32,
            ..Default::default()
        }),
        groups: vec![group(
            "identity",
            &[
                ("bsn", BSN3),
                ("date_of_birth", &iso(ago(19, 0))),
                ("surname", SURNAME),
            ],
        )],
        question: "Is terugkeer naar het mbo haalbaar?".into(),
        ..Default::default()
    };
    let asked = werk
        .expertise
        .request_expertise(req(ask("audited-ask")))
        .await
        .unwrap()
        .into_inner()
        .request
        .unwrap();
    let store = t.hub.as_ref().unwrap().store();
    let mut admin = AdminServiceClient::new(t.connect("admin").await.channel());
    let keys = store.recipients_of(&GEMEENTE_OIN.parse().unwrap()).await.unwrap();
    assert_eq!(
        keys.len(),
        3,
        "one key per function: Participatiewet, Doorstroompunt, privacy officer"
    );
    for k in keys {
        admin
            .revoke_recipient(pb::RevokeRecipientRequest {
                key_id: k.key_id.to_string(),
            })
            .await
            .unwrap();
    }

    // GiveAdvice to a requester without a key (R9), by a Doorstroompunt that
    // has lost its own key too, so it could not keep its sealed copy (R12):
    // both at once.
    let e = dp
        .expertise
        .give_advice(req(pb::GiveAdviceRequest {
            idempotency_key: "audited-advice".into(),
            request_id: asked.request_id.clone(),
            outcome: pb::AdviceOutcome::ReturnPossible as i32,
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    assert!(has(&e, "request_id", "R9"), "{:?}", violations(&e));
    assert!(has(&e, "advice_text", "R12"), "{:?}", violations(&e));
    expected.push((Action::ExpertiseAdvised, vec!["R12", "R9"]));

    // RequestExpertise of a Doorstroompunt without a key (R9).
    let e = werk
        .expertise
        .request_expertise(req(ask("audited-ask-2")))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    assert!(has(&e, "doorstroompunt", "R9"), "{:?}", violations(&e));
    expected.push((Action::ExpertiseRequested, vec!["R9"]));

    // A hardheidsclausule decision that names no support it continues (R2).
    let e = werk
        .inbox
        .decide_hardheidsclausule(req(pb::DecideHardheidsclausuleRequest {
            idempotency_key: "audited-hk".into(),
            bsn: BSN3.into(),
            date_of_birth: ago(27, 30),
            support: None,
            justification: "Rondt de bbl-opleiding af die voor de 27e verjaardag begon.".into(),
            valid_from: None,
            valid_until: ago(-1, 0),
        }))
        .await
        .unwrap_err();
    assert!(has(&e, "accepted_transfer_id", "R2"), "{:?}", violations(&e));
    expected.push((Action::HardheidsclausuleDecided, vec!["R2"]));

    let entries = verify_audit_log(&t).await;
    let refused: Vec<&Entry> = entries[before..]
        .iter()
        .filter(|e| matches!(e.outcome, Outcome::Refused { .. }))
        .collect();
    let seen: Vec<(Action, Vec<String>)> = refused
        .iter()
        .map(|e| match &e.outcome {
            Outcome::Refused { rules } => (e.action.clone(), rules.clone()),
            _ => unreachable!(),
        })
        .collect();
    let wanted: Vec<(Action, Vec<String>)> = expected
        .iter()
        .map(|(a, r)| (a.clone(), r.iter().map(|r| (*r).to_owned()).collect()))
        .collect();
    assert_eq!(seen, wanted);
    // Each names what it concerned, as far as the hub got.
    for e in &refused[3..6] {
        assert_eq!(e.transfer_id.map(|u| u.to_string()), Some(transfer_id.clone()));
        assert!(e.subject.is_some());
    }
    assert!(refused[0].subject.is_some(), "the minor's pseudonym");
    assert_eq!(refused[1].consent_id.map(|u| u.to_string()), Some(consent_id));
    assert_eq!(
        refused[7].transfer_id.map(|u| u.to_string()),
        Some(asked.request_id)
    );
}

/// Issue 16 item 11: a consent for a recipient that can never receive under
/// its purpose is refused when it is recorded (R9), and the refusal audited.
async fn a_consent_for_a_recipient_that_cannot_receive_is_refused(t: TestHub) {
    let before = t.audit_size().await as usize;
    let mut school = clients(&t, "mbo-school").await;
    let e = school
        .consent
        .record_consent(req(pb::RecordConsentRequest {
            idempotency_key: "consent-to-dp".into(),
            status: pb::ConsentStatus::Given as i32,
            subject: Some(pb::ConsentSubject {
                bsn: BSN.into(),
                date_of_birth: ago(19, 30),
            }),
            giver: pb::ConsentGiver::Youth as i32,
            scope: Some(pb::ConsentScope {
                purpose: "handover.school_to_gemeente".into(),
                recipient: party(GEMEENTE_OIN, pb::FunctionKind::Doorstroompunt),
                groups: GROUPS.iter().map(|g| (*g).to_owned()).collect(),
            }),
            method: pb::ConsentMethod::Digital as i32,
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(has(&e, "scope.recipient", "R9"), "{:?}", violations(&e));
    let entries = verify_audit_log(&t).await;
    assert_eq!(entries.len(), before + 1);
    assert_eq!(entries[before].action, Action::ConsentRecorded);
    assert_eq!(
        entries[before].outcome,
        Outcome::Refused {
            rules: vec!["R9".into()]
        }
    );
}

/// The rules the hub used to apply itself (issue 19, item 4) now come out of
/// the policy with the same field paths and codes: a wrong consent id, a
/// purpose of another service and regular secondary education are the
/// request's (`INVALID_ARGUMENT`); a sender without a key is the case's
/// (`FAILED_PRECONDITION`).
async fn rules_the_hub_checked_itself_come_from_the_policy(t: TestHub) {
    let before = t.audit_size().await;
    let mut school = clients(&t, "mbo-school").await;
    let consent_id = give_consent(&mut school, BSN, "moved-consent").await;
    let expect = |e: tonic::Status, code: Code, field: &str, rule: &str| {
        assert_eq!(e.code(), code, "{field}: {e:?}");
        assert!(has(&e, field, rule), "{field} {rule}: {:?}", violations(&e));
    };

    let unknown = uuid::Uuid::now_v7().to_string();
    let e = school
        .transfer
        .submit(req(handover(BSN, &unknown, "moved-1")))
        .await
        .unwrap_err();
    expect(e, Code::InvalidArgument, "consent_id", "R4");

    let e = school
        .transfer
        .submit(req(handover(BSN2, &consent_id, "moved-2")))
        .await
        .unwrap_err();
    expect(e, Code::InvalidArgument, "consent_id", "R4");

    let mut r = handover(BSN, &consent_id, "moved-3");
    r.purpose = "expertise.request".into();
    let e = school.transfer.submit(req(r)).await.unwrap_err();
    expect(e, Code::InvalidArgument, "purpose", "R9");

    let mut r = handover(BSN, &consent_id, "moved-4");
    if let Some(s) = r.subject.as_mut() {
        s.school_type = pb::SchoolType::Vo as i32;
    }
    let e = school.transfer.submit(req(r)).await.unwrap_err();
    expect(e, Code::InvalidArgument, "subject.school_type", "R4");

    // The school's own key revoked: it could not show the youth what it sent.
    let store = t.hub.as_ref().unwrap().store();
    let mut admin = AdminServiceClient::new(t.connect("admin").await.channel());
    for k in store.recipients_of(&MBO_OIN.parse().unwrap()).await.unwrap() {
        admin
            .revoke_recipient(pb::RevokeRecipientRequest {
                key_id: k.key_id.to_string(),
            })
            .await
            .unwrap();
    }
    let e = school
        .transfer
        .submit(req(handover(BSN, &consent_id, "moved-5")))
        .await
        .unwrap_err();
    expect(e, Code::FailedPrecondition, "purpose", "R12");

    // Nothing was stored; each refusal is in the log with its rule.
    let entries = verify_audit_log(&t).await;
    let rules: Vec<Vec<String>> = entries[before as usize..]
        .iter()
        .filter_map(|e| match &e.outcome {
            Outcome::Refused { rules } if e.action == Action::TransferRefused => Some(rules.clone()),
            _ => None,
        })
        .collect();
    // (The expertise purpose sent as a transfer breaks more rules than R9:
    // every one is named.)
    let want = ["R4", "R4", "R9", "R4", "R12"];
    assert_eq!(rules.len(), want.len(), "{rules:?}");
    for (got, want) in rules.iter().zip(want) {
        assert!(got.iter().any(|r| r == want), "{want} in {got:?}");
    }
}

/// R4, R13 (domain.md §0): a minor's own refusal is recorded and outweighs
/// the parent's earlier consent; a new consent after it counts again.
async fn a_minors_own_refusal_is_recorded_and_respected(t: TestHub) {
    let mut school = clients(&t, "mbo-school").await;
    let consent = |key: &str, status: pb::ConsentStatus, giver: pb::ConsentGiver| pb::RecordConsentRequest {
        idempotency_key: key.into(),
        status: status as i32,
        subject: Some(pb::ConsentSubject {
            bsn: BSN2.into(),
            date_of_birth: ago(17, 0),
        }),
        giver: giver as i32,
        method: pb::ConsentMethod::Written as i32,
        scope: Some(pb::ConsentScope {
            purpose: "handover.school_to_gemeente".into(),
            recipient: werk_party(),
            groups: GROUPS.iter().map(|g| (*g).to_owned()).collect(),
        }),
        ..Default::default()
    };
    let mut record = async |r: pb::RecordConsentRequest| {
        school
            .consent
            .record_consent(req(r))
            .await
            .map(|a| a.into_inner().consent.unwrap().consent_id)
    };
    use pb::ConsentGiver::{Parent, Youth};
    use pb::ConsentStatus::{Given, Refused};
    let parents = record(consent("minor-parent-1", Given, Parent)).await.unwrap();
    // The youth cannot consent alone, but can say no.
    let e = record(consent("minor-youth-yes", Given, Youth))
        .await
        .unwrap_err();
    assert!(has(&e, "giver", "R4"), "{:?}", violations(&e));
    record(consent("minor-youth-no", Refused, Youth)).await.unwrap();

    let mut minor = handover(BSN2, &parents, "minor-submit-1");
    set_birth(&mut minor, ago(17, 0));
    let e = school.transfer.submit(req(minor.clone())).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    assert!(has(&e, "consent_id", "R4"), "{:?}", violations(&e));

    // The youth changed their mind; the parent consents again, after the refusal.
    let again = record(consent("minor-parent-2", Given, Parent)).await.unwrap();
    minor.consent_id = again;
    minor.idempotency_key = "minor-submit-2".into();
    school.transfer.submit(req(minor)).await.unwrap();
    verify_audit_log(&t).await;
}

/// R16 in free text (issue 16, item 12): a diagnosis typed into a text
/// field is refused at the value's path, without repeating the text; a
/// functional description passes.
async fn a_diagnosis_in_free_text_is_refused(t: TestHub) {
    let mut school = clients(&t, "mbo-school").await;
    let consent_id = give_consent(&mut school, BSN, "text-consent").await;
    let mut r = handover(BSN, &consent_id, "text-1");
    let (i, wishes) = r
        .groups
        .iter_mut()
        .enumerate()
        .find(|(_, g)| g.name == "wishes")
        .unwrap();
    wishes.fields[0].value = "Monteur; diagnose ADHD, gebruikt Ritalin".into();
    let e = school.transfer.submit(req(r.clone())).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    let path = format!("groups[{i}].fields[0].value");
    assert!(has(&e, &path, "R16"), "{:?}", violations(&e));
    let text = format!("{e:?}");
    for secret in ["ADHD", "Ritalin", "Monteur"] {
        assert!(!text.contains(secret), "{secret} echoed: {text}");
    }
    // Described functionally, it goes.
    r.groups[i].fields[0].value = "Monteur; werkt het best met korte, schriftelijke instructies".into();
    r.idempotency_key = "text-2".into();
    school.transfer.submit(req(r)).await.unwrap();
    verify_audit_log(&t).await;
}

/// R7: the Doorstroompunt takes over guidance back to school; the gemeente's
/// Participatiewet function hands it the youth with what that guidance needs
/// — every group justified for this youth — sealed to the Doorstroompunt
/// only: the werkcoach keeps no copy, not even ciphertext.
async fn the_doorstroompunt_takes_over_guidance_back_to_school(t: TestHub) {
    let mut werk = clients(&t, "gemeente-participatiewet").await;
    let mut dp = clients(&t, "gemeente-doorstroompunt").await;
    let purpose = "handover.gemeente_to_doorstroompunt";
    let mut r = pb::SubmitRequest {
        idempotency_key: "takeover-1".into(),
        purpose: purpose.into(),
        recipient: party(GEMEENTE_OIN, pb::FunctionKind::Doorstroompunt),
        subject: Some(pb::SubjectFacts {
            bsn: BSN3.into(),
            date_of_birth: ago(19, 0),
            startkwalificatie: pb::Startkwalificatie::NotAchieved as i32,
            ..Default::default()
        }),
        groups: vec![
            group(
                "identity",
                &[
                    ("bsn", BSN3),
                    ("date_of_birth", &iso(ago(19, 0))),
                    ("surname", SURNAME),
                ],
            ),
            group("contact.youth", &[("phone", "0612345678")]),
            group(
                "wishes",
                &[("desired_work", "Terug naar school: mbo-opleiding zorg")],
            ),
        ],
        ..Default::default()
    };
    // The mirror of R8: every group is justified for this youth.
    let e = werk.transfer.submit(req(r.clone())).await.unwrap_err();
    for g in ["identity", "contact.youth", "wishes"] {
        assert!(
            has(&e, &format!("justifications[{g}]"), "R8"),
            "{g}: {:?}",
            violations(&e)
        );
    }
    r.justifications = ["identity", "contact.youth", "wishes"]
        .into_iter()
        .map(|g| pb::GroupJustification {
            group: g.into(),
            justification: "Het Doorstroompunt begeleidt deze jongere terug naar het mbo.".into(),
            ..Default::default()
        })
        .collect();
    // What guidance back to school does not need stays with the gemeente.
    let mut too_much = r.clone();
    too_much.idempotency_key = "takeover-0".into();
    too_much.groups.push(group(
        "support_needs",
        &[("functional_needs", "Vaste contactpersoon")],
    ));
    let e = werk.transfer.submit(req(too_much)).await.unwrap_err();
    assert!(
        violations(&e)
            .iter()
            .any(|(f, d)| f.starts_with("groups[3]") && d.starts_with("R12:")),
        "{:?}",
        violations(&e)
    );
    let sent = werk.transfer.submit(req(r)).await.unwrap().into_inner();
    assert!(sent.accepted_groups.contains(&"meta.justifications".to_owned()));

    // The Doorstroompunt finds it in its inbox and opens it.
    let inbox = dp
        .inbox
        .list_inbox(req(pb::ListInboxRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert!(inbox.transfers.iter().any(|x| x.transfer_id == sent.transfer_id));
    let got = dp
        .inbox
        .fetch(req(pb::FetchRequest {
            transfer_id: sent.transfer_id.clone(),
            purpose: purpose.into(),
        }))
        .await
        .unwrap()
        .into_inner();
    let plain = opened(&got.groups, &identity(&t, "gemeente-doorstroompunt"));
    let names: Vec<&str> = plain.iter().map(|g| g.group.as_str()).collect();
    assert_eq!(
        names,
        ["identity", "contact.youth", "wishes", "meta.justifications"]
    );
    // Sealed to the Doorstroompunt only.
    assert_eq!(
        open(
            &got.groups[0].ciphertext,
            &[identity(&t, "gemeente-participatiewet")]
        )
        .unwrap_err(),
        CryptoError::NoMatchingIdentity
    );
    let copy = werk
        .transfer
        .fetch_sent_copy(req(pb::FetchSentCopyRequest {
            transfer_id: sent.transfer_id,
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(copy.groups.is_empty(), "{:?}", group_names(&copy.groups));

    // A school cannot send under this purpose (R9).
    let mut school = clients(&t, "mbo-school").await;
    let mut r = handover(BSN3, "", "takeover-school");
    r.purpose = purpose.into();
    r.recipient = party(GEMEENTE_OIN, pb::FunctionKind::Doorstroompunt);
    let e = school.transfer.submit(req(r)).await.unwrap_err();
    assert!(
        violations(&e).iter().any(|(_, d)| d.starts_with("R9:")),
        "{:?}",
        violations(&e)
    );
    verify_audit_log(&t).await;
}

/// R2: the hardheidsclausule is the gemeente's decision. A school cannot
/// invoke it; past 27 a transfer passes only while the receiving function's
/// own decision for that youth holds, and the entries of the decision and of
/// the transfer it let through carry the flag and art. 7a lid 7.
async fn the_gemeente_decides_the_hardheidsclausule(t: TestHub) {
    use pb::decide_hardheidsclausule_request::Support;
    let before = t.audit_size().await;
    let mut school = clients(&t, "mbo-school").await;
    let mut werk = clients(&t, "gemeente-participatiewet").await;
    let consent_id = give_consent(&mut school, BSN, "hk-consent").await;
    let past_27 = |bsn: &str, consent_id: &str, key: &str| {
        let mut r = handover(bsn, consent_id, key);
        set_birth(&mut r, ago(27, 30));
        r
    };
    // Without the gemeente's decision the age limit stands.
    let e = school
        .transfer
        .submit(req(past_27(BSN, &consent_id, "hk-1")))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{:?}", violations(&e));
    assert!(has(&e, "subject.date_of_birth", "R2"), "{:?}", violations(&e));
    // The school cannot invoke it itself.
    let mut r = past_27(BSN, &consent_id, "hk-2");
    r.hardheidsclausule = true;
    r.hardheidsclausule_justification = "Rondt de bbl-opleiding af die voor de 27e verjaardag begon.".into();
    let e = school.transfer.submit(req(r)).await.unwrap_err();
    assert!(has(&e, "hardheidsclausule", "R2"), "{:?}", violations(&e));

    let decision = |key: &str| pb::DecideHardheidsclausuleRequest {
        idempotency_key: key.into(),
        bsn: BSN.into(),
        date_of_birth: ago(27, 30),
        support: Some(Support::CaseReference("zaak-2025-0917".into())),
        justification:
            "Rondt de bbl-opleiding af die voor de 27e verjaardag begon; de leerbaan hangt ervan af.".into(),
        valid_from: None,
        valid_until: ago(-1, 0),
    };
    // Only the gemeente's Participatiewet function decides.
    let e = school
        .inbox
        .decide_hardheidsclausule(req(decision("hk-d0")))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let refused: Vec<(&str, pb::DecideHardheidsclausuleRequest, &str, &str)> = vec![
        (
            "no support named",
            pb::DecideHardheidsclausuleRequest {
                support: None,
                ..decision("hk-d1")
            },
            "accepted_transfer_id",
            "R2",
        ),
        (
            "a transfer the gemeente never received",
            pb::DecideHardheidsclausuleRequest {
                support: Some(Support::AcceptedTransferId(uuid::Uuid::now_v7().to_string())),
                ..decision("hk-d2")
            },
            "accepted_transfer_id",
            "R2",
        ),
        (
            "a diagnosis in the justification",
            pb::DecideHardheidsclausuleRequest {
                justification: "Diagnose: ADHD, gebruikt medicatie; rondt de opleiding af.".into(),
                ..decision("hk-d3")
            },
            "justification",
            "R16",
        ),
        (
            "longer than two years",
            pb::DecideHardheidsclausuleRequest {
                valid_until: ago(-3, 0),
                ..decision("hk-d4")
            },
            "valid_until",
            "R2",
        ),
    ];
    for (what, r, field, rule) in refused {
        let e = werk.inbox.decide_hardheidsclausule(req(r)).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{what}: {:?}", violations(&e));
        assert!(has(&e, field, rule), "{what}: {:?}", violations(&e));
        for (_, d) in violations(&e) {
            assert!(!d.contains("ADHD") && !d.contains(BSN), "{what}: {d}");
        }
    }
    let decided = werk
        .inbox
        .decide_hardheidsclausule(req(decision("hk-d5")))
        .await
        .unwrap()
        .into_inner();
    assert!(!decided.replayed);
    assert_eq!(decided.valid_until, ago(-1, 0));
    let again = werk
        .inbox
        .decide_hardheidsclausule(req(decision("hk-d5")))
        .await
        .unwrap()
        .into_inner();
    assert!(again.replayed);
    assert_eq!(again.decision_id, decided.decision_id);

    // Now the school's transfer for this youth passes, and says so.
    let sent = submit_ok(&mut school, past_27(BSN, &consent_id, "hk-3")).await;
    let seen = werk
        .inbox
        .get_inbox_transfer(req(pb::GetInboxTransferRequest {
            transfer_id: sent.transfer_id.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(seen.transfer.unwrap().hardheidsclausule);
    // The decision is for that youth only.
    let other_consent = give_consent(&mut school, BSN2, "hk-consent-2").await;
    let e = school
        .transfer
        .submit(req(past_27(BSN2, &other_consent, "hk-4")))
        .await
        .unwrap_err();
    assert!(has(&e, "subject.date_of_birth", "R2"), "{:?}", violations(&e));

    let entries = verify_audit_log(&t).await;
    let new = &entries[before as usize..];
    let lid_7 = |e: &Entry| {
        e.flags == ["hardheidsclausule"]
            && e.legal_basis
                .as_deref()
                .is_some_and(|b| b.contains("Participatiewet art. 7a lid 7"))
    };
    let decisions: Vec<&Entry> = audit_entries(new, Action::HardheidsclausuleDecided)
        .into_iter()
        .filter(|e| e.outcome == Outcome::Success)
        .collect();
    assert_eq!(decisions.len(), 1);
    assert!(lid_7(decisions[0]), "{:?}", decisions[0]);
    assert_eq!(decisions[0].actor.function.as_deref(), Some("participatiewet"));
    assert_eq!(decisions[0].rows.len(), 1);
    assert_eq!(decisions[0].rows[0].table.name(), "hardheidsclausule");
    let submitted = audit_entries(new, Action::TransferSubmitted);
    assert_eq!(submitted.len(), 1);
    assert!(lid_7(submitted[0]), "{:?}", submitted[0]);
    assert_eq!(submitted[0].subject, decisions[0].subject);
    // Refusals rest on nothing and carry no flag.
    assert!(
        new.iter()
            .filter(|e| matches!(e.outcome, Outcome::Refused { .. }))
            .all(|e| e.flags.is_empty())
    );
}

on_both_backends!(
    the_gemeente_decides_the_hardheidsclausule,
    handover_from_school_to_gemeente,
    the_doorstroompunt_takes_over_guidance_back_to_school,
    refusals_name_every_rule_and_store_nothing,
    consent_refused_withdrawn_and_propagated,
    inbox_pages_in_order,
    another_organisation_sees_nothing,
    doorstroompunt_handover_needs_a_justification_per_group,
    expertise_request_and_advice,
    a_refusal_of_every_write_rpc_is_audited,
    a_consent_for_a_recipient_that_cannot_receive_is_refused,
    rules_the_hub_checked_itself_come_from_the_policy,
    a_minors_own_refusal_is_recorded_and_respected,
    a_diagnosis_in_free_text_is_refused,
);
