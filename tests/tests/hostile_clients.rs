//! Issue 15: what a hostile client sends is answered as bad input, with the
//! code the gRPC status table gives for it and a plain message, never
//! `INTERNAL` and never the decoder's own text; and nothing is stored.
//! Bounded and on loopback. (Client-chosen text that could hold a BSN is in
//! `no_personal_data.rs` and `telemetry.rs`, through `send_hostile_text`.)

use bytes::{Buf, BufMut};
use schakel_audit::{Action, Entry};
use schakel_e2e::flow::*;
use schakel_e2e::{Db, TestHub};
use schakel_hub::pki::Validity;
use schakel_proto::v1 as pb;
use schakel_proto::v1::audit_service_client::AuditServiceClient;
use schakel_proto::v1::consent_service_client::ConsentServiceClient;
use schakel_store::{Store, StoreOptions};
use tonic::Code;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

/// Sends and receives raw bytes: a request body no protobuf library would
/// make.
#[derive(Default)]
struct RawCodec;

struct Raw;

impl Encoder for Raw {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for Raw {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
        let mut out = vec![0; src.remaining()];
        src.copy_to_slice(&mut out);
        Ok(Some(out))
    }
}

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = Raw;
    type Decoder = Raw;
    fn encoder(&mut self) -> Raw {
        Raw
    }
    fn decoder(&mut self) -> Raw {
        Raw
    }
}

async fn send_raw(t: &TestHub, method: &'static str, body: Vec<u8>) -> tonic::Status {
    let hub = t.connect("mbo-school").await;
    let mut grpc = tonic::client::Grpc::new(hub.channel());
    grpc.ready().await.unwrap();
    grpc.unary(req(body), http::uri::PathAndQuery::from_static(method), RawCodec)
        .await
        .expect_err("refused")
}

const SUBMIT: &str = "/schakel.v1.TransferService/Submit";

/// A message whose field 1 (a string in the requests used here) holds `len`
/// bytes.
fn long_string_field(len: usize) -> Vec<u8> {
    let mut body = vec![0x0a];
    let mut n = len;
    while n >= 0x80 {
        body.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    body.push(n as u8);
    body.resize(body.len() + len, b'a');
    body
}

#[tokio::test]
async fn malformed_protobuf_is_invalid_argument_with_a_plain_message() {
    let t = TestHub::start(Db::Sqlite).await.expect("hub");
    let before = t.audit_size().await;
    let cases: [(&str, Vec<u8>); 3] = [
        // Field 1 (idempotency_key, a string) holding bytes that are not UTF-8.
        ("invalid UTF-8", vec![0x0a, 0x02, 0xff, 0xfe]),
        // A length of 5 with one byte after it.
        ("truncated", vec![0x0a, 0x05, b'a']),
        // A varint of eleven bytes.
        ("bad varint", [vec![0x08], vec![0xff; 10], vec![0x01]].concat()),
    ];
    for (what, body) in cases {
        let status = send_raw(&t, SUBMIT, body).await;
        assert_eq!(status.code(), Code::InvalidArgument, "{what}: {status:?}");
        assert_eq!(
            status.message(),
            "the request is not a valid protobuf message of this method",
            "{what}"
        );
    }
    assert_eq!(t.audit_size().await, before, "nothing stored");
}

#[tokio::test]
async fn a_request_over_the_size_limit_is_resource_exhausted() {
    let t = TestHub::start(Db::Sqlite).await.expect("hub");
    // Field 1 with 5 MiB of text: over the 4 MiB the hub accepts.
    let body = long_string_field(5 * 1024 * 1024);
    let status = send_raw(&t, SUBMIT, body).await;
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(
        status.message().contains("larger than the hub accepts"),
        "{status:?}"
    );
}

#[tokio::test]
async fn an_unknown_enum_value_is_refused_not_stored_as_unset() {
    let t = TestHub::start(Db::Sqlite).await.expect("hub");
    let mut school = clients(&t, "mbo-school").await;
    let consent = give_consent(&mut school, BSN, "c-1").await;
    let before = t.audit_size().await;
    let mut r = handover(BSN, &consent, "s-1");
    r.return_to_education = -5;
    r.subject.as_mut().unwrap().vso_exit_profile = 42;
    let e = school.transfer.submit(req(r)).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(has(&e, "return_to_education", "format"), "{:?}", violations(&e));
    assert!(
        has(&e, "subject.vso_exit_profile", "format"),
        "{:?}",
        violations(&e)
    );
    // The refusal is audited (rule ids only); no transfer is stored.
    assert_eq!(t.audit_size().await, before + 1);
}

#[tokio::test]
async fn an_inclusion_proof_far_beyond_the_log_is_not_found() {
    let t = TestHub::start(Db::Sqlite).await.expect("hub");
    let mut officer = AuditServiceClient::new(t.connect("gemeente-privacy-officer").await.channel());
    for (sequence, tree_size) in [(u64::MAX, u64::MAX), (1 << 63, 0), (i64::MAX as u64, 5)] {
        let e = officer
            .get_inclusion_proof(req(pb::GetInclusionProofRequest { sequence, tree_size }))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::NotFound, "{sequence} {tree_size}: {e:?}");
    }
}

/// Every entry appended from position `from` on, once the hub has stopped
/// (and so written the counts it held).
async fn entries_after_stop(t: &mut TestHub, from: u64) -> Vec<Entry> {
    t.stop().await;
    let store = Store::connect(&StoreOptions::new(&t.db_url))
        .await
        .expect("store");
    let size = store.audit_size().await.expect("size");
    let stored = store.audit_range(from, size).await.expect("range");
    store.close().await;
    stored
        .iter()
        .map(|e| Entry::decode(&e.bytes).expect("decodes"))
        .collect()
}

fn attempts_of(entries: &[Entry], action: &Action) -> (usize, u64) {
    let of: Vec<&Entry> = entries.iter().filter(|e| &e.action == action).collect();
    (of.len(), of.iter().map(|e| e.attempts.unwrap_or(1)).sum())
}

/// A flood of refused calls grows the permanent log by one entry and one
/// count per source, method and reason, not one entry per call; the counts
/// add up to the attempts, so a privacy officer still learns how many
/// there were and from whom (issue 15, items 2 and 8).
#[tokio::test]
async fn a_flood_of_refused_and_probing_calls_is_counted_not_written_one_by_one() {
    const CALLS: usize = 60;
    // An interval no test run reaches: what is written does not depend on
    // how fast this machine is.
    let mut t = TestHub::start_with(Db::Sqlite, |c| {
        c.refused_calls_interval = std::time::Duration::from_secs(86_400);
    })
    .await
    .expect("hub");
    let before = t.audit_size().await;
    let list = || req(pb::ListConsentsRequest::default());
    // No certificate, a new connection each time.
    for _ in 0..CALLS {
        let mut c = ConsentServiceClient::new(t.connect_with(None).await.channel());
        let e = c.list_consents(list()).await.unwrap_err();
        assert_eq!(e.code(), Code::Unauthenticated);
    }
    // A valid certificate of a registered organisation, bound to no function.
    let unbound = t.issue(MBO_OIN, Validity::days_from_now(30));
    let mut c = ConsentServiceClient::new(t.connect_with(Some(&unbound)).await.channel());
    for _ in 0..CALLS {
        let e = c.list_consents(list()).await.unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied);
    }
    // An organisation probing transfer ids that are not its own.
    let mut werk = clients(&t, "gemeente-participatiewet").await;
    for _ in 0..CALLS {
        let e = werk
            .inbox
            .fetch(req(pb::FetchRequest {
                transfer_id: uuid::Uuid::now_v7().to_string(),
                purpose: "handover.school_to_gemeente".into(),
            }))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::NotFound);
    }
    let during = t.audit_size().await - before;
    assert_eq!(during, 3, "one entry per source and reason while it lasts");
    let entries = entries_after_stop(&mut t, before).await;
    for (action, from) in [
        (Action::AuthenticationFailed, None),
        (Action::AuthorisationFailed, Some(MBO_OIN)),
        (Action::LookupNotFound, Some(GEMEENTE_OIN)),
    ] {
        assert_eq!(
            attempts_of(&entries, &action),
            (2, CALLS as u64),
            "{action}: the first at once, then a count of the rest"
        );
        for e in entries.iter().filter(|e| e.action == action) {
            assert_eq!(e.actor.oin.as_deref(), from, "{action}: from whom");
        }
    }
}

/// 2,000 sockets that connect from one address and send nothing do not keep
/// a connection from another address out (issue 15, item 1). Handshakes may
/// take an hour here, so what decides is the hub's bound per address, not
/// its timeout: before it, the stalled sockets held every handshake slot
/// for that hour and the honest call never got through. The deadline below
/// only stops a hang; the call takes milliseconds.
#[tokio::test]
async fn stalled_connections_from_one_address_do_not_keep_others_out() {
    let t = TestHub::start_with(Db::Sqlite, |c| {
        c.handshake_timeout = std::time::Duration::from_secs(3600);
    })
    .await
    .expect("hub");
    let addr = t.hub.as_ref().expect("running").addr();
    let mut stalled = Vec::new();
    for _ in 0..2000 {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .bind("127.0.0.2:0".parse().expect("addr"))
            .expect("bind 127.0.0.2");
        stalled.push(socket.connect(addr).await.expect("connect"));
    }
    let started = std::time::Instant::now();
    let honest = async {
        let mut school = clients(&t, "mbo-school").await;
        school
            .consent
            .list_consents(req(pb::ListConsentsRequest::default()))
            .await
    };
    tokio::time::timeout(std::time::Duration::from_secs(120), honest)
        .await
        .expect("another address is not kept out")
        .expect("and is served");
    // A figure for docs/reliability.md, not a condition of the test.
    eprintln!(
        "honest connection and call beside 2,000 stalled sockets: {:?}",
        started.elapsed()
    );
    drop(stalled);
}

/// Oversized request metadata is answered with a gRPC status the client
/// can read (RESOURCE_EXHAUSTED), not an HTTP 431 that clients show as
/// UNKNOWN (issue 15, item 6).
#[tokio::test]
async fn oversized_metadata_is_resource_exhausted() {
    let t = TestHub::start(Db::Sqlite).await.expect("hub");
    let mut school = clients(&t, "mbo-school").await;
    let mut r = req(pb::ListConsentsRequest::default());
    r.metadata_mut()
        .insert("x-padding", "a".repeat(16 * 1024).parse().expect("header"));
    let e = school.consent.list_consents(r).await.unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
    assert!(e.message().contains("metadata"), "{e:?}");
    // The connection is still good.
    school
        .consent
        .list_consents(req(pb::ListConsentsRequest::default()))
        .await
        .expect("served");
}

/// A service without documents takes requests of at most 64 KiB: a 1 MiB
/// consent listing is refused before it is decoded (issue 15, item 3).
#[tokio::test]
async fn a_service_without_documents_takes_small_requests_only() {
    let t = TestHub::start(Db::Sqlite).await.expect("hub");
    // Field 1 of ListConsentsRequest (a string) holding 1 MiB.
    let body = long_string_field(1024 * 1024);
    let status = send_raw(&t, "/schakel.v1.ConsentService/ListConsents", body).await;
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("64 KiB"), "{status:?}");
}

/// A hub process's resident set now and at its peak, in MiB, from `/proc`.
fn rss_mib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|kib| kib.parse::<u64>().ok())
            .expect("a field of /proc/<pid>/status")
            / 1024
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// `count` copies of one protobuf record: field `field` (length-delimited)
/// holding `inner`.
fn repeated_record(field: u8, inner: &[u8], count: usize) -> Vec<u8> {
    let mut record = vec![(field << 3) | 2];
    let mut n = inner.len();
    while n >= 0x80 {
        record.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    record.push(n as u8);
    record.extend_from_slice(inner);
    record.repeat(count)
}

/// Requests that are small on the wire and huge once decoded — two million
/// empty groups in 4 MB, or one group of a million empty fields — are
/// refused by their counts before prost decodes them: 8 at once leave the
/// hub's peak memory far below what one of them used to take (230 MB each,
/// 2.3 GB for 8; issue 15, item 3), and an honest submit is served next.
/// The hub runs as its own process, so the resident set measured is its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn amplifying_requests_are_refused_before_they_are_decoded() {
    use schakel_e2e::binary_hub::{HubProcess, channel, connect, free_port, hub_binary, write_config};
    use schakel_hub::dev::DevEnvironment;
    use tonic_types::StatusExt as _;

    let dir = tempfile::tempdir().expect("temp dir");
    let env = DevEnvironment::ensure(dir.path().join("dev")).expect("dev environment");
    let addr: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    let url = format!("https://{addr}");
    env.seed(&env.sqlite_url()).await.expect("seed demo directory");
    env.write_profiles(&url).expect("profiles");
    let config = write_config(&env, dir.path(), addr, &env.sqlite_url());
    let mut hub = HubProcess::new(config, dir.path().join("hub.log"), addr);
    tokio::task::spawn_blocking(hub_binary).await.expect("build");
    tokio::task::block_in_place(|| hub.start());
    let ch = channel(&env, "mbo-school", &url).await;
    let (rss_before, _) = rss_mib(hub.pid());

    // SubmitRequest.groups is field 5; FieldGroup.fields is field 2.
    let empty_groups = repeated_record(5, &[], 2_000_000);
    let one_group = repeated_record(5, &repeated_record(2, &[], 1_000_000), 1);
    let cases = [(empty_groups, "groups"), (one_group, "groups[0].fields")];
    let mut calls = Vec::new();
    for i in 0..8 {
        let (body, path) = cases[i % 2].clone();
        let ch = ch.clone();
        calls.push(tokio::spawn(async move {
            let mut grpc = tonic::client::Grpc::new(ch).max_encoding_message_size(8 * 1024 * 1024);
            grpc.ready().await.expect("ready");
            let status = grpc
                .unary(req(body), http::uri::PathAndQuery::from_static(SUBMIT), RawCodec)
                .await
                .expect_err("refused");
            (status, path)
        }));
    }
    for call in calls {
        let (status, path) = call.await.expect("call");
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        let paths: Vec<String> = status
            .get_details_bad_request()
            .expect("field violations")
            .field_violations
            .into_iter()
            .map(|v| v.field)
            .collect();
        assert_eq!(paths, [path], "{status:?}");
    }
    let (rss_after, peak) = rss_mib(hub.pid());
    // 8 requests of 4 MB held at once are 32 MB; decoded, one alone was
    // 230 MB.
    assert!(
        peak < rss_before + 150,
        "peak {peak} MiB, from {rss_before} MiB at start (now {rss_after} MiB)"
    );

    // Someone else is served, and the hub is still up.
    let mut school = connect(&env, "mbo-school", &url).await;
    let consent = give_consent(&mut school, BSN, "after-flood").await;
    school
        .transfer
        .submit(req(handover(BSN, &consent, "after-flood-submit")))
        .await
        .expect("an honest submit after the flood");
    hub.assert_alive("after the flood");
    eprintln!("hub RSS: {rss_before} MiB at start, peak {peak} MiB, {rss_after} MiB after the flood");
    hub.stop();
}
