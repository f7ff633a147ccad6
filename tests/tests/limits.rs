//! Issue 6: limits. A per-organisation rate limit answers
//! `RESOURCE_EXHAUSTED` with how long to wait, only for the organisation
//! over it, and lets calls through again once the rate drops.

use std::time::Duration;

use schakel_e2e::flow::*;
use schakel_e2e::{Db, TestHub};
use schakel_hub::ratelimit::RateLimit;
use schakel_proto::v1 as pb;
use tonic::Code;

async fn list(c: &mut Clients) -> Result<(), tonic::Status> {
    c.consent
        .list_consents(req(pb::ListConsentsRequest::default()))
        .await
        .map(|_| ())
}

#[tokio::test]
async fn an_organisation_over_its_rate_is_told_to_wait_and_others_are_not() {
    let t = TestHub::start_with(Db::Sqlite, |cfg| {
        cfg.rate_limit = Some(RateLimit {
            per_second: 2.0,
            burst: 3.0,
        });
    })
    .await
    .expect("hub");
    let mut school = clients(&t, "mbo-school").await;
    let mut werk = clients(&t, "gemeente-participatiewet").await;
    let before = t.audit_size().await;
    for i in 0..3 {
        list(&mut school)
            .await
            .unwrap_or_else(|e| panic!("call {i} within the burst: {e:?}"));
    }
    let e = list(&mut school).await.unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
    assert!(e.message().contains("retry in"), "{}", e.message());
    // The wait also comes as google.rpc.RetryInfo, for clients to back off.
    use tonic_types::StatusExt as _;
    let wait = e
        .get_details_retry_info()
        .and_then(|r| r.retry_delay)
        .expect("RetryInfo");
    assert!(
        wait > Duration::ZERO && wait <= Duration::from_millis(500),
        "{wait:?}"
    );
    // The gemeente has its own budget.
    werk.inbox
        .list_inbox(req(pb::ListInboxRequest::default()))
        .await
        .expect("another organisation is not limited");
    // Refusals by the limit do not fill the audit log.
    assert_eq!(t.audit_size().await, before);
    // At 2 per second, a token is back within half a second.
    tokio::time::sleep(Duration::from_millis(600)).await;
    list(&mut school).await.expect("the rate dropped");
}
