//! Fuzz target (issue 6, item 3) for proto → domain conversion in the hub, as
//! a bounded randomized test that runs on stable. The hub's request
//! conversion and validation (`services::document`, `services::exchange`) is
//! not public, so hostile `SubmitRequest`s and `RecordConsentRequest`s go to
//! a real in-process hub (SQLite) over mutual TLS: arbitrary bytes decoded
//! as the message, valid requests mutated as protobuf bytes, and valid
//! requests with hostile field values.
//!
//! Any answer is fine; a panic anywhere in the process (counted by a panic
//! hook, since handler panics do not reach the client as such) or an answer
//! slower than the timeout is not. Afterwards the audit log must verify and
//! the hub must still accept a valid request.
//!
//! Cases: `SCHAKEL_FUZZ_CASES` (default 256; each case is two RPCs).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use prost::Message;
use schakel_e2e::flow::{BSN, Clients, clients, give_consent, handover, req, werk_party};
use schakel_e2e::{Db, TestHub, verify_audit_log};
use schakel_proto::v1 as pb;

fn cases() -> u32 {
    std::env::var("SCHAKEL_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(256)
}

const TIMEOUT: Duration = Duration::from_secs(10);

static PANICS: AtomicUsize = AtomicUsize::new(0);

/// Answers per RPC and status code, for the report.
static CODES: std::sync::Mutex<std::collections::BTreeMap<String, usize>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

fn tally<T>(rpc: &str, answer: &Result<tonic::Response<T>, tonic::Status>) {
    let code = match answer {
        Ok(_) => "OK".to_owned(),
        Err(e) => format!("{:?}", e.code()),
    };
    *CODES
        .lock()
        .expect("tally")
        .entry(format!("{rpc} {code}"))
        .or_default() += 1;
}

fn count_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        default(info);
    }));
}

#[derive(Debug, Clone)]
enum ByteOp {
    Flip(Index, u8),
    Set(Index, u8),
    Insert(Index, u8),
    Remove(Index),
    Truncate(Index),
}

fn byte_op() -> impl Strategy<Value = ByteOp> {
    prop_oneof![
        (any::<Index>(), 0u8..8).prop_map(|(i, b)| ByteOp::Flip(i, b)),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| ByteOp::Set(i, b)),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| ByteOp::Insert(i, b)),
        any::<Index>().prop_map(ByteOp::Remove),
        any::<Index>().prop_map(ByteOp::Truncate),
    ]
}

fn mutate(bytes: &mut Vec<u8>, ops: &[ByteOp]) {
    for op in ops {
        let n = bytes.len();
        match op {
            ByteOp::Flip(i, bit) if n > 0 => bytes[i.index(n)] ^= 1 << bit,
            ByteOp::Set(i, b) if n > 0 => bytes[i.index(n)] = *b,
            ByteOp::Insert(i, b) => bytes.insert(i.index(n + 1), *b),
            ByteOp::Remove(i) if n > 0 => {
                bytes.remove(i.index(n));
            }
            ByteOp::Truncate(i) => bytes.truncate(i.index(n + 1)),
            _ => {}
        }
    }
}

fn hostile_string() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,24}",
        Just(String::new()),
        Just("x".repeat(5_000)),
        Just("é".repeat(3_000)),
        "[0-9]{9}",
        "[0-9]{20}",
        Just("meta.justifications".to_owned()),
        Just("identity".to_owned()),
    ]
}

fn hostile_date() -> impl Strategy<Value = Option<pb::Date>> {
    prop::option::of(
        (
            prop_oneof![
                any::<i32>(),
                1990i32..2030,
                Just(i32::MIN),
                Just(9999),
                Just(10_000)
            ],
            prop_oneof![any::<i32>(), 0i32..14],
            prop_oneof![any::<i32>(), 0i32..32],
        )
            .prop_map(|(year, month, day)| pb::Date { year, month, day }),
    )
}

/// Ways to damage a valid request structurally.
#[derive(Debug, Clone)]
enum FieldOp {
    Key(String),
    Purpose(String),
    RecipientOin(String),
    RecipientFunction(i32),
    NoSubject,
    Bsn(String),
    Birth(Option<pb::Date>),
    Leaving(Option<pb::Date>),
    Enums(i32, i32, i32),
    GroupName(Index, String),
    FieldKV(Index, String, String),
    ManyGroups(usize),
    ManyFields(usize),
    Justification(String, String),
    Hardheid(bool, String),
    Consent(String),
}

fn field_op() -> impl Strategy<Value = FieldOp> {
    prop_oneof![
        hostile_string().prop_map(FieldOp::Key),
        hostile_string().prop_map(FieldOp::Purpose),
        hostile_string().prop_map(FieldOp::RecipientOin),
        any::<i32>().prop_map(FieldOp::RecipientFunction),
        Just(FieldOp::NoSubject),
        hostile_string().prop_map(FieldOp::Bsn),
        hostile_date().prop_map(FieldOp::Birth),
        hostile_date().prop_map(FieldOp::Leaving),
        (any::<i32>(), -2i32..8, -2i32..8).prop_map(|(a, b, c)| FieldOp::Enums(a, b, c)),
        (any::<Index>(), hostile_string()).prop_map(|(i, s)| FieldOp::GroupName(i, s)),
        (any::<Index>(), hostile_string(), hostile_string()).prop_map(|(i, k, v)| FieldOp::FieldKV(i, k, v)),
        (0usize..300).prop_map(FieldOp::ManyGroups),
        (0usize..2_000).prop_map(FieldOp::ManyFields),
        (hostile_string(), hostile_string()).prop_map(|(g, j)| FieldOp::Justification(g, j)),
        (any::<bool>(), hostile_string()).prop_map(|(b, s)| FieldOp::Hardheid(b, s)),
        hostile_string().prop_map(FieldOp::Consent),
    ]
}

fn apply(r: &mut pb::SubmitRequest, op: &FieldOp) {
    match op {
        FieldOp::Key(s) => r.idempotency_key = s.clone(),
        FieldOp::Purpose(s) => r.purpose = s.clone(),
        FieldOp::RecipientOin(s) => r.recipient.get_or_insert_default().oin = s.clone(),
        FieldOp::RecipientFunction(f) => r.recipient.get_or_insert_default().function = *f,
        FieldOp::NoSubject => r.subject = None,
        FieldOp::Bsn(s) => r.subject.get_or_insert_default().bsn = s.clone(),
        FieldOp::Birth(d) => r.subject.get_or_insert_default().date_of_birth = *d,
        FieldOp::Leaving(d) => r.subject.get_or_insert_default().leaving_date = *d,
        FieldOp::Enums(a, b, c) => {
            let s = r.subject.get_or_insert_default();
            s.school_type = *a;
            s.startkwalificatie = *b;
            r.return_to_education = *c;
        }
        FieldOp::GroupName(i, s) if !r.groups.is_empty() => {
            let n = r.groups.len();
            r.groups[i.index(n)].name = s.clone();
        }
        FieldOp::FieldKV(i, k, v) if !r.groups.is_empty() => {
            let n = r.groups.len();
            r.groups[i.index(n)].fields.push(pb::Field {
                key: k.clone(),
                value: v.clone(),
            });
        }
        FieldOp::ManyGroups(n) => r.groups.extend((0..*n).map(|i| pb::FieldGroup {
            name: format!("g{i}"),
            fields: vec![],
        })),
        FieldOp::ManyFields(n) if !r.groups.is_empty() => {
            r.groups[0].fields.extend((0..*n).map(|i| pb::Field {
                key: format!("k{i}"),
                value: "v".into(),
            }))
        }
        FieldOp::Justification(g, j) => r.justifications.push(pb::GroupJustification {
            group: g.clone(),
            justification: j.clone(),
            fields: vec![j.clone(), "bsn".into()],
        }),
        FieldOp::Hardheid(b, s) => {
            r.hardheidsclausule = *b;
            r.hardheidsclausule_justification = s.clone();
        }
        FieldOp::Consent(s) => r.consent_id = s.clone(),
        _ => {}
    }
}

fn consent_request(key: &str) -> pb::RecordConsentRequest {
    pb::RecordConsentRequest {
        idempotency_key: key.into(),
        status: pb::ConsentStatus::Given as i32,
        subject: Some(pb::ConsentSubject {
            bsn: BSN.into(),
            date_of_birth: schakel_e2e::flow::ago(19, 30),
        }),
        giver: pb::ConsentGiver::Youth as i32,
        scope: Some(pb::ConsentScope {
            purpose: "handover.school_to_gemeente".into(),
            recipient: werk_party(),
            groups: schakel_e2e::flow::GROUPS
                .iter()
                .map(|g| (*g).to_owned())
                .collect(),
        }),
        method: pb::ConsentMethod::Digital as i32,
        ..Default::default()
    }
}

#[derive(Debug, Clone)]
enum Input {
    /// Arbitrary bytes, decoded as each message (skipped where they do not decode).
    Bytes(Vec<u8>),
    /// Valid encodings with bytes changed.
    Mutated(Vec<ByteOp>),
    /// Valid requests with hostile values.
    Fields(Vec<FieldOp>, Option<pb::Date>, i32),
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..300).prop_map(Input::Bytes),
        2 => prop::collection::vec(byte_op(), 1..6).prop_map(Input::Mutated),
        3 => (prop::collection::vec(field_op(), 1..4), hostile_date(), any::<i32>())
            .prop_map(|(ops, d, g)| Input::Fields(ops, d, g)),
    ]
}

async fn one_case(c: &Clients, consent_id: &str, case: u64, input: &Input) -> Result<(), TestCaseError> {
    let valid_submit = handover(BSN, consent_id, &format!("fuzz-{case}"));
    let valid_consent = consent_request(&format!("fuzz-consent-{case}"));
    let (submit, consent) = match input {
        Input::Bytes(b) => (
            pb::SubmitRequest::decode(b.as_slice()).ok(),
            pb::RecordConsentRequest::decode(b.as_slice()).ok(),
        ),
        Input::Mutated(ops) => {
            let mut s = valid_submit.encode_to_vec();
            mutate(&mut s, ops);
            let mut k = valid_consent.encode_to_vec();
            mutate(&mut k, ops);
            (
                pb::SubmitRequest::decode(s.as_slice()).ok(),
                pb::RecordConsentRequest::decode(k.as_slice()).ok(),
            )
        }
        Input::Fields(ops, date, giver) => {
            let mut s = valid_submit;
            for op in ops {
                apply(&mut s, op);
            }
            let mut k = valid_consent;
            k.valid_until = *date;
            k.giver = *giver;
            if let Some(FieldOp::Purpose(p)) = ops.first() {
                k.scope.get_or_insert_default().purpose = p.clone();
            }
            (Some(s), Some(k))
        }
    };
    if let Some(s) = submit {
        let mut t = c.transfer.clone();
        let answer = tokio::time::timeout(TIMEOUT, t.submit(req(s))).await;
        prop_assert!(answer.is_ok(), "Submit did not answer within {TIMEOUT:?}");
        if let Ok(a) = &answer {
            tally("Submit", a);
            // Hostile input is the caller's problem: never an internal
            // error (a too-long list of violations once came back as one).
            if let Err(e) = a {
                prop_assert_ne!(
                    e.code(),
                    tonic::Code::Internal,
                    "Submit INTERNAL: {} for {:?}",
                    e.message(),
                    input
                );
            }
        }
    }
    if let Some(k) = consent {
        let mut t = c.consent.clone();
        let answer = tokio::time::timeout(TIMEOUT, t.record_consent(req(k))).await;
        prop_assert!(answer.is_ok(), "RecordConsent did not answer within {TIMEOUT:?}");
        if let Ok(a) = &answer {
            tally("RecordConsent", a);
            if let Err(e) = a {
                prop_assert_ne!(
                    e.code(),
                    tonic::Code::Internal,
                    "RecordConsent INTERNAL: {} for {:?}",
                    e.message(),
                    input
                );
            }
        }
    }
    prop_assert_eq!(
        PANICS.load(Ordering::SeqCst),
        0,
        "a panic in the process (see stderr)"
    );
    Ok(())
}

#[test]
fn hostile_requests_to_a_real_hub() {
    count_panics();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let t = rt.block_on(TestHub::start(Db::Sqlite)).expect("sqlite hub");
    let (c, consent_id) = rt.block_on(async {
        let mut c = clients(&t, "mbo-school").await;
        let id = give_consent(&mut c, BSN, "fuzz-consent-base").await;
        (c, id)
    });
    let started = Instant::now();
    let case = AtomicUsize::new(0);
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&input(), |input| {
        let n = case.fetch_add(1, Ordering::SeqCst) as u64;
        rt.block_on(one_case(&c, &consent_id, n, &input))
    });
    let runs = case.load(Ordering::SeqCst);
    eprintln!(
        "fuzz_requests: {runs} cases (incl. shrinking) in {:.1?}",
        started.elapsed()
    );
    eprintln!("fuzz_requests: answers {:?}", CODES.lock().expect("tally"));
    if let Err(e) = result {
        panic!("{e}");
    }
    rt.block_on(async {
        // Still healthy, and nothing half-written in the audit log.
        // (A per-organisation rate limit may hold it back for a moment.)
        let c = clients(&t, "mbo-school").await;
        let mut last = None;
        for _ in 0..60 {
            let mut k = c.consent.clone();
            let answer = k.record_consent(req(consent_request("fuzz-consent-after"))).await;
            let answer = match answer {
                Ok(r) => {
                    let id = r.into_inner().consent.expect("consent").consent_id;
                    c.transfer
                        .clone()
                        .submit(req(handover(BSN, &id, "fuzz-after")))
                        .await
                        .map(|_| ())
                }
                Err(e) => Err(e),
            };
            match answer {
                Err(e) if e.code() == tonic::Code::ResourceExhausted => {
                    last = Some(e);
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                other => {
                    last = None;
                    other.expect("a valid request after the fuzzing is accepted");
                    break;
                }
            }
        }
        assert!(last.is_none(), "still rate limited: {last:?}");
        let entries = verify_audit_log(&t).await;
        assert!(!entries.is_empty());
    });
    assert_eq!(PANICS.load(Ordering::SeqCst), 0);
    let mut t = t;
    rt.block_on(t.stop());
}

proptest! {
    #![proptest_config(Config { cases: cases(), failure_persistence: None, ..Config::default() })]

    /// The public conversions of `schakel_hub::wire`.
    #[test]
    fn public_conversions(v in any::<i32>(), seconds in any::<i64>(), nanos in any::<i32>()) {
        let _ = schakel_hub::wire::org_kind_from_pb(v);
        let _ = schakel_hub::wire::function_from_pb(v);
        let ts = prost_types::Timestamp { seconds, nanos };
        if let Some(t) = schakel_hub::wire::ts_from_pb(&ts) {
            prop_assert_eq!(schakel_hub::wire::ts_to_pb(t), ts);
        }
    }
}
