//! Issue 6, items 5 and 6, end to end on SQLite and PostgreSQL: the
//! retention purge (R15) removes sealed content when its period has passed
//! and keeps a content-free audit entry; key rotation seals new transfers to
//! the new key while old ones stay readable with the old identity, and a
//! revoked key is never used again.

use age::x25519::Identity;
use schakel_audit::{Action, Entry};
use schakel_crypto::CryptoError;
use schakel_domain::FunctionKind;
use schakel_e2e::flow::*;
use schakel_e2e::{Db, TestHub, on_both_backends, verify_audit_log};
use schakel_hub::retention::RetentionClock;
use schakel_proto::v1 as pb;
use schakel_proto::v1::admin_service_client::AdminServiceClient;
use tonic::Code;
use tonic::transport::Channel;

async fn admin(t: &TestHub) -> AdminServiceClient<Channel> {
    AdminServiceClient::new(t.connect("admin").await.channel())
}

async fn purge(a: &mut AdminServiceClient<Channel>, dry_run: bool) -> pb::PurgeResponse {
    a.purge(pb::PurgeRequest {
        dry_run,
        ..Default::default()
    })
    .await
    .unwrap()
    .into_inner()
}

async fn fetch(werk: &mut Clients, id: &str) -> Result<pb::FetchResponse, tonic::Status> {
    werk.inbox
        .fetch(req(pb::FetchRequest {
            transfer_id: id.into(),
            purpose: "handover.school_to_gemeente".into(),
        }))
        .await
        .map(tonic::Response::into_inner)
}

fn purged(all: &[Entry]) -> Vec<&Entry> {
    all.iter().filter(|e| e.action == Action::Purge).collect()
}

/// The purge on `db`, with time let pass by the hub's retention clock (the
/// stored rows are never edited: the hub would refuse them as tampered).
async fn expired_and_declined_content_is_purged_with_a_trace(db: Db) {
    let clock = RetentionClock::default();
    let Some(t) = TestHub::start_with(db, |c| c.retention.clock = clock.clone()).await else {
        assert_eq!(db, Db::Postgres, "SQLite always runs");
        return;
    };
    let mut school = clients(&t, "mbo-school").await;
    let mut werk = clients(&t, "gemeente-participatiewet").await;
    let mut ids = Vec::new();
    for (i, bsn) in [BSN, BSN2, BSN3].iter().enumerate() {
        let consent = give_consent(&mut school, bsn, &format!("consent-{i}")).await;
        let sent = submit_ok(&mut school, handover(bsn, &consent, &format!("submit-{i}"))).await;
        fetch(&mut werk, &sent.transfer_id).await.unwrap();
        ids.push(sent.transfer_id);
    }
    // The second one is declined.
    werk.inbox
        .decide(req(pb::DecideRequest {
            transfer_id: ids[1].clone(),
            decision: pb::DecisionKind::Decline as i32,
            reason: pb::DeclineReason::NotResident as i32,
            reason_text: "Woont elders.".into(),
        }))
        .await
        .unwrap();
    let mut a = admin(&t).await;
    let nothing = purge(&mut a, true).await;
    assert!(nothing.items.is_empty(), "nothing is due yet: {nothing:?}");

    // A month passes: the declined one has been closed longer than the 30
    // days kept after closing; the others are within their twelve months.
    clock.advance(jiff::SignedDuration::from_hours(31 * 24));
    let before = t.audit_size().await;
    let dry = purge(&mut a, true).await;
    assert!(dry.dry_run);
    let listed: Vec<(&str, i32)> = dry.items.iter().map(|i| (i.id.as_str(), i.reason)).collect();
    assert_eq!(listed, [(ids[1].as_str(), pb::PurgeReason::Declined as i32)]);
    assert_eq!(dry.items[0].groups, GROUPS);
    assert_eq!(t.audit_size().await, before, "a dry run changes nothing");
    let declined = purge(&mut a, false).await;
    assert_eq!((declined.items.len(), declined.more_remaining), (1, false));
    for id in [&ids[0], &ids[2]] {
        assert_eq!(
            group_names(&fetch(&mut werk, id).await.unwrap().groups),
            GROUPS,
            "the others are untouched"
        );
    }

    // A year passes: the other two are past their retention period.
    clock.advance(jiff::SignedDuration::from_hours(366 * 24));
    let dry = purge(&mut a, true).await;
    let listed: Vec<(&str, i32)> = dry.items.iter().map(|i| (i.id.as_str(), i.reason)).collect();
    let expired = pb::PurgeReason::RetentionExpired as i32;
    assert_eq!(listed, [(ids[0].as_str(), expired), (ids[2].as_str(), expired)]);
    fetch(&mut werk, &ids[0])
        .await
        .expect("still there after a dry run");

    // In batches: one now, the rest next time.
    let first = a
        .purge(pb::PurgeRequest {
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((first.items.len(), first.more_remaining), (1, true));
    let rest = purge(&mut a, false).await;
    assert_eq!((rest.items.len(), rest.more_remaining), (1, false));
    assert!(purge(&mut a, false).await.items.is_empty(), "nothing twice");

    let store = t.hub.as_ref().unwrap().store();
    for id in &ids {
        let uuid = id.parse().unwrap();
        assert!(
            store.transfer_groups(uuid).await.unwrap().is_empty(),
            "sealed content removed"
        );
        let row = store.transfer(uuid).await.unwrap().unwrap();
        assert_eq!(row.state.as_str(), "purged");
        assert!(row.purged_at.is_some());
        let e = fetch(&mut werk, id).await.unwrap_err();
        assert_eq!(e.code(), Code::FailedPrecondition);
        assert!(has(&e, "transfer_id", "R15"), "{:?}", violations(&e));
        let e = school
            .transfer
            .fetch_sent_copy(req(pb::FetchSentCopyRequest {
                transfer_id: id.clone(),
            }))
            .await;
        assert!(
            e.map(|r| r.into_inner().groups.is_empty()).unwrap_or(true),
            "no copy left"
        );
    }

    // Three content-free entries, in the order purged, and the log (with
    // the rows it commits to) still verifies.
    let entries = verify_audit_log(&t).await;
    let trace = purged(&entries);
    assert_eq!(trace.len(), 3);
    for (e, id) in trace.iter().zip([&ids[1], &ids[0], &ids[2]]) {
        assert_eq!(e.transfer_id.unwrap().to_string(), *id);
        let mut names: Vec<String> = GROUPS.iter().map(|g| (*g).to_owned()).collect();
        names.sort();
        assert_eq!(e.groups, names, "group names only, no content");
        assert_eq!(
            e.subject.as_ref().map(String::len),
            Some(64),
            "a pseudonym, never the BSN"
        );
        assert_eq!(
            e.actor.oin.as_deref(),
            Some("00000009999999990000"),
            "the operator purged"
        );
        assert!(e.parties.contains(&MBO_OIN.to_owned()) && e.parties.contains(&GEMEENTE_OIN.to_owned()));
        assert_eq!(
            e.activity.as_ref().unwrap().purpose,
            "handover.school_to_gemeente"
        );
    }
    // A purge "as of" the future is refused.
    let e = a
        .purge(pb::PurgeRequest {
            as_of: Some(prost_types::Timestamp {
                seconds: clock.now().as_second() + 3600,
                nanos: 0,
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(violations(&e).iter().any(|(f, _)| f == "as_of"));
}

#[tokio::test]
async fn expired_and_declined_content_is_purged_with_a_trace_on_sqlite() {
    expired_and_declined_content_is_purged_with_a_trace(Db::Sqlite).await;
}

#[tokio::test]
async fn expired_and_declined_content_is_purged_with_a_trace_on_postgres() {
    expired_and_declined_content_is_purged_with_a_trace(Db::Postgres).await;
}

fn opens(groups: &[pb::SealedGroup], id: &Identity) -> Result<(), CryptoError> {
    for g in groups {
        let count = schakel_client::unit_groups(g).len();
        schakel_crypto::open_groups(&g.ciphertext, std::slice::from_ref(id), count)?;
    }
    Ok(())
}

async fn rotated_keys_seal_new_transfers_and_old_ones_stay_readable(t: TestHub) {
    let mut school = clients(&t, "mbo-school").await;
    let mut werk = clients(&t, "gemeente-participatiewet").await;
    let old_identity = identity(&t, "gemeente-participatiewet");
    let consent = give_consent(&mut school, BSN, "consent-0").await;
    let before = submit_ok(&mut school, handover(BSN, &consent, "submit-0")).await;

    // The gemeente makes a new key pair; the operator registers its public
    // half and revokes the old one.
    let store = t.hub.as_ref().unwrap().store();
    let old_keys: Vec<_> = store
        .recipients_of(&GEMEENTE_OIN.parse().unwrap())
        .await
        .unwrap()
        .into_iter()
        .filter(|k| k.function == FunctionKind::Participatiewet)
        .collect();
    assert_eq!(old_keys.len(), 1);
    let new_identity = Identity::generate();
    let mut a = admin(&t).await;
    let registered = a
        .register_recipient(pb::RegisterRecipientRequest {
            oin: GEMEENTE_OIN.into(),
            function: pb::FunctionKind::Participatiewet as i32,
            age_recipient: new_identity.to_public().to_string(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .recipient
        .unwrap();
    let revoked = a
        .revoke_recipient(pb::RevokeRecipientRequest {
            key_id: old_keys[0].key_id.to_string(),
        })
        .await
        .unwrap()
        .into_inner()
        .recipient
        .unwrap();
    assert!(revoked.revoked);

    let consent = give_consent(&mut school, BSN2, "consent-1").await;
    let after = submit_ok(&mut school, handover(BSN2, &consent, "submit-1")).await;
    let new_groups = fetch(&mut werk, &after.transfer_id).await.unwrap().groups;
    assert_eq!(group_names(&new_groups), GROUPS);
    for g in &new_groups {
        assert!(g.key_ids.contains(&registered.key_id), "sealed to the new key");
        assert!(
            !g.key_ids.contains(&revoked.key_id),
            "a revoked key is never used again"
        );
    }
    opens(&new_groups, &new_identity).expect("the new identity opens new transfers");
    assert_eq!(
        opens(&new_groups, &old_identity).unwrap_err(),
        CryptoError::NoMatchingIdentity,
        "the old identity cannot open what was sealed after the rotation"
    );
    // What was sealed before stays readable with the old identity.
    let old_groups = fetch(&mut werk, &before.transfer_id).await.unwrap().groups;
    assert_eq!(group_names(&old_groups), GROUPS);
    opens(&old_groups, &old_identity).expect("old transfers stay readable with the old identity");
    assert!(opens(&old_groups, &new_identity).is_err());
    verify_audit_log(&t).await;
}

on_both_backends!(rotated_keys_seal_new_transfers_and_old_ones_stay_readable);
