//! DESIGN.md §7 properties 1 and 2, checked where they could break: after
//! every exchange flow has run with fictitious youths, neither the SQLite
//! files, nor the PostgreSQL data directory (heap and WAL, after a
//! checkpoint), nor the hub's own log output (at debug level) contain a
//! test BSN, a name or a piece of document content in clear text.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use schakel_e2e::flow::*;
use schakel_e2e::{Db, TestHub, verify_audit_log};
use schakel_proto::v1 as pb;

const POSTCODE: &str = "9711 AB";
const WISH: &str = "Monteur in de installatietechniek";
const REASON: &str = "Geweigerd wegens verhuizing naar Zwaluwstaartdorp";
const QUESTION: &str = "Kan Quirijntje terug naar de opleiding Zwaluwkunde?";

/// Everything the hub logs, at debug level, for the whole test binary.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::ErrorKind::Other)?
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn captured_logs() -> &'static Capture {
    static LOGS: OnceLock<Capture> = OnceLock::new();
    LOGS.get_or_init(|| {
        let capture = Capture::default();
        let writer = capture.clone();
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .init();
        capture
    })
}

fn needles() -> Vec<&'static str> {
    vec![BSN, BSN2, BSN3, SURNAME, GIVEN, POSTCODE, WISH, REASON, QUESTION]
}

/// Clear metadata the hub does store (the sender's case reference): the
/// scan must find it, or it is not reading what the database holds.
const CONTROL: &str = "dossier-A17";

/// Runs every flow that carries personal data through the hub.
async fn exercise(t: &TestHub) {
    let mut school = clients(t, "mbo-school").await;
    let mut werk = clients(t, "gemeente-participatiewet").await;
    let mut dp = clients(t, "gemeente-doorstroompunt").await;
    let consent = give_consent(&mut school, BSN, "c-1").await;
    let mut r = handover(BSN, &consent, "s-1");
    r.groups[1].fields[0].value = POSTCODE.into();
    r.groups[3].fields[0].value = WISH.into();
    let sent = submit_ok(&mut school, r).await;
    // Refusals whose input is full of personal data: a BSN as a field key, a
    // name in a forbidden field, a BSN that fails the elfproef.
    let mut bad = handover(BSN, &consent, "s-bad");
    bad.groups[0].fields.push(pb::Field {
        key: BSN.into(),
        value: SURNAME.into(),
    });
    bad.groups[1].fields.push(pb::Field {
        key: "religion".into(),
        value: GIVEN.into(),
    });
    bad.subject.as_mut().unwrap().bsn = "999990018".into();
    let e = school.transfer.submit(req(bad)).await.unwrap_err();
    let text = format!("{e:?}");
    for n in needles() {
        assert!(!text.contains(n), "a refusal echoed personal data: {n}");
    }
    werk.inbox
        .fetch(req(pb::FetchRequest {
            transfer_id: sent.transfer_id.clone(),
            purpose: "handover.school_to_gemeente".into(),
        }))
        .await
        .unwrap();
    werk.inbox
        .decide(req(pb::DecideRequest {
            transfer_id: sent.transfer_id.clone(),
            decision: pb::DecisionKind::Decline as i32,
            reason: pb::DeclineReason::NotResident as i32,
            reason_text: REASON.into(),
        }))
        .await
        .unwrap();
    school
        .consent
        .list_consents(req(pb::ListConsentsRequest {
            bsn: BSN.into(),
            ..Default::default()
        }))
        .await
        .unwrap();
    school
        .consent
        .withdraw_consent(req(pb::WithdrawConsentRequest {
            consent_id: consent,
            withdrawn_by: pb::ConsentGiver::Youth as i32,
        }))
        .await
        .unwrap();
    werk.expertise
        .request_expertise(req(pb::RequestExpertiseRequest {
            idempotency_key: "e-1".into(),
            doorstroompunt: party(GEMEENTE_OIN, pb::FunctionKind::Doorstroompunt),
            subject: Some(pb::SubjectFacts {
                bsn: BSN3.into(),
                date_of_birth: ago(20, 3),
                startkwalificatie: pb::Startkwalificatie::NotAchieved as i32,
                ..Default::default()
            }),
            groups: vec![group(
                "identity",
                &[
                    ("bsn", BSN3),
                    ("date_of_birth", &iso(ago(20, 3))),
                    ("given_names", GIVEN),
                    ("surname", SURNAME),
                ],
            )],
            question: QUESTION.into(),
            ..Default::default()
        }))
        .await
        .unwrap();
    let asked = dp
        .expertise
        .list_expertise_requests(req(pb::ListExpertiseRequestsRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .requests;
    dp.expertise
        .fetch_expertise_request(req(pb::FetchExpertiseRequestRequest {
            request_id: asked[0].request_id.clone(),
        }))
        .await
        .unwrap();
    // A second youth, consent only (BSN2 must not leak through consent rows).
    give_consent(&mut school, BSN2, "c-2").await;
    // A hostile client puts a BSN and a name where it chooses the text.
    send_hostile_text(t).await;
    verify_audit_log(t).await;
}

/// Every needle found in the files below `dir` (recursively), with the file.
fn scan(dir: &Path, keep: &dyn Fn(&Path) -> bool) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    let mut files = 0;
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if keep(&p)
                && let Ok(bytes) = std::fs::read(&p)
            {
                files += 1;
                for n in needles().into_iter().chain([CONTROL]) {
                    if bytes.windows(n.len()).any(|w| w == n.as_bytes()) {
                        found.push(format!("{n} in {}", p.display()));
                    }
                }
            }
        }
    }
    assert!(files > 0, "nothing was scanned under {}", dir.display());
    let control = found.iter().any(|f| f.starts_with(CONTROL));
    assert!(control, "the scan did not see stored metadata; it proves nothing");
    found.retain(|f| !f.starts_with(CONTROL));
    found
}

fn assert_clean_logs() {
    let logs = captured_logs().0.lock().unwrap().clone();
    assert!(
        !logs.is_empty(),
        "the hub logged nothing at debug level; the check would be empty"
    );
    let text = String::from_utf8_lossy(&logs);
    for n in needles() {
        assert!(!text.contains(n), "the hub's log contains personal data ({n})");
    }
}

#[tokio::test]
async fn sqlite_file_and_logs_hold_no_bsn_name_or_content() {
    captured_logs();
    let mut t = TestHub::start(Db::Sqlite).await.expect("sqlite hub");
    exercise(&t).await;
    t.stop().await;
    let found = scan(t.env.dir(), &|p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("schakel.db"))
    });
    assert!(found.is_empty(), "personal data at rest: {found:?}");
    assert_clean_logs();
}

#[tokio::test]
async fn postgres_data_directory_and_logs_hold_no_bsn_name_or_content() {
    captured_logs();
    let Some(mut t) = TestHub::start(Db::Postgres).await else {
        return;
    };
    exercise(&t).await;
    t.stop().await;
    // Write every dirty buffer to the heap files before looking at them.
    let pool = sqlx::PgPool::connect(&t.db_url).await.expect("connect");
    sqlx::query("CHECKPOINT")
        .execute(&pool)
        .await
        .expect("checkpoint");
    pool.close().await;
    let cluster = schakel_testkit::shared_cluster().expect("cluster");
    let found = scan(cluster.data_dir(), &|_| true);
    assert!(found.is_empty(), "personal data at rest: {found:?}");
    assert_clean_logs();
}
