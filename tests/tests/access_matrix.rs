//! Issue 6 item 4: the access-control matrix, end to end over real mutual
//! TLS. Every RPC of every service is called by every function kind; the
//! expected answer comes from a table written here from DESIGN.md and the
//! service comments in `proto/schakel/v1`, not from the hub's `authz`
//! module, so a wrong change there fails this test. Every refusal must be
//! audited. Then the certificate cases: metadata claiming another
//! organisation, expired and not-yet-valid certificates, a deactivated
//! organisation, privacy officers calling sender RPCs, and admin RPCs called
//! without the admin identity.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use jiff::SignedDuration;
use schakel_audit::{Action, Entry, Outcome};
use schakel_domain::FunctionKind;
use schakel_e2e::flow::{self, BSN, GEMEENTE_OIN, MBO_OIN};
use schakel_e2e::{TestHub, on_both_backends};
use schakel_hub::pki::{IssuedCert, Validity};
use schakel_proto::v1 as pb;
use schakel_proto::v1::admin_service_client::AdminServiceClient;
use schakel_proto::v1::audit_service_client::AuditServiceClient;
use schakel_proto::v1::consent_service_client::ConsentServiceClient;
use schakel_proto::v1::directory_service_client::DirectoryServiceClient;
use schakel_proto::v1::expertise_service_client::ExpertiseServiceClient;
use schakel_proto::v1::inbox_service_client::InboxServiceClient;
use schakel_proto::v1::region_service_client::RegionServiceClient;
use schakel_proto::v1::transfer_service_client::TransferServiceClient;
use tonic::transport::Channel;
use tonic::{Code, GrpcMethod, Request, Status};

const PRO_OIN: &str = "00000003999990002000";
const ADMIN_OIN: &str = "00000009999999990000";
const USER_ID: &str = "medewerker-42";
const USER_ROLE: &str = "loopbaanbegeleider";

// ---------------------------------------------------------------------------
// The expectation, written from DESIGN.md §1/§4 and the proto service docs.
// ---------------------------------------------------------------------------

/// Which function kinds may call each service. Written by hand: directory
/// for every registered party; admin for the operator only; consent for the
/// senders that need it (schools, Doorstroompunt); transfers for every
/// sender (and the gemeente's take-over to the Doorstroompunt); inbox and expertise
/// for the gemeente's receiving functions; the audit trail for privacy
/// officers only; the region's numbers for regional partners only, who call
/// nothing else but the directory (R17).
const ALLOWED: [(&str, &[FunctionKind]); 8] = {
    use FunctionKind::*;
    [
        (
            "schakel.v1.DirectoryService",
            &[
                School,
                Doorstroompunt,
                Participatiewet,
                PrivacyOfficer,
                Admin,
                RegionalPartner,
            ],
        ),
        ("schakel.v1.AdminService", &[Admin]),
        ("schakel.v1.ConsentService", &[School, Doorstroompunt]),
        (
            "schakel.v1.TransferService",
            &[School, Doorstroompunt, Participatiewet],
        ),
        ("schakel.v1.InboxService", &[Participatiewet, Doorstroompunt]),
        ("schakel.v1.ExpertiseService", &[Participatiewet, Doorstroompunt]),
        ("schakel.v1.AuditService", &[PrivacyOfficer]),
        ("schakel.v1.RegionService", &[RegionalPartner]),
    ]
};

/// RPCs that admit fewer functions than their service (the hub's
/// authentication layer refuses the others with `PERMISSION_DENIED`, and
/// audits it): R7, the gemeente's Participatiewet function asks for
/// expertise and the Doorstroompunt
/// answers (expertise.proto). The other expertise RPCs answer `NOT_FOUND`
/// for requests of other parties, so they are not narrowed here.
const NARROWED: [(&str, &str, &[FunctionKind]); 2] = [
    (
        "schakel.v1.ExpertiseService",
        "RequestExpertise",
        &[FunctionKind::Participatiewet],
    ),
    (
        "schakel.v1.ExpertiseService",
        "GiveAdvice",
        &[FunctionKind::Doorstroompunt],
    ),
];

/// Whether the service admits `f` (the authentication layer's decision).
fn service_admits(service: &str, f: FunctionKind) -> bool {
    ALLOWED
        .iter()
        .find(|(s, _)| *s == service)
        .unwrap_or_else(|| panic!("{service} has no row in ALLOWED"))
        .1
        .contains(&f)
}

/// Whether `f` may call `service`/`method` at all.
fn expected_allowed(service: &str, method: &str, f: FunctionKind) -> bool {
    service_admits(service, f)
        && NARROWED
            .iter()
            .find(|(s, m, _)| *s == service && *m == method)
            .is_none_or(|(.., only)| only.contains(&f))
}

/// The demo parties that call the matrix: at least one of every function
/// kind (two privacy officers: a school's and a gemeente's).
struct Party {
    profile: &'static str,
    oin: &'static str,
    kind: FunctionKind,
}

const PARTIES: [Party; 7] = [
    Party {
        profile: "mbo-school",
        oin: MBO_OIN,
        kind: FunctionKind::School,
    },
    Party {
        profile: "gemeente-doorstroompunt",
        oin: GEMEENTE_OIN,
        kind: FunctionKind::Doorstroompunt,
    },
    Party {
        profile: "gemeente-participatiewet",
        oin: GEMEENTE_OIN,
        kind: FunctionKind::Participatiewet,
    },
    Party {
        profile: "gemeente-privacy-officer",
        oin: GEMEENTE_OIN,
        kind: FunctionKind::PrivacyOfficer,
    },
    Party {
        profile: "mbo-privacy-officer",
        oin: MBO_OIN,
        kind: FunctionKind::PrivacyOfficer,
    },
    Party {
        profile: "admin",
        oin: ADMIN_OIN,
        kind: FunctionKind::Admin,
    },
    Party {
        profile: "gemeente-regional-partner",
        oin: GEMEENTE_OIN,
        kind: FunctionKind::RegionalPartner,
    },
];

fn pb_function(f: FunctionKind) -> i32 {
    (match f {
        FunctionKind::School => pb::FunctionKind::School,
        FunctionKind::Doorstroompunt => pb::FunctionKind::Doorstroompunt,
        FunctionKind::Participatiewet => pb::FunctionKind::Participatiewet,
        FunctionKind::PrivacyOfficer => pb::FunctionKind::PrivacyOfficer,
        FunctionKind::Admin => pb::FunctionKind::Admin,
        FunctionKind::RegionalPartner => pb::FunctionKind::RegionalPartner,
    }) as i32
}

// ---------------------------------------------------------------------------
// Calling: an interceptor that adds metadata and records which RPC the
// generated client really called (the `GrpcMethod` extension it sets).
// ---------------------------------------------------------------------------

#[derive(Clone, Default)]
struct Recorder {
    headers: Vec<(&'static str, String)>,
    called: Arc<Mutex<Vec<(String, String)>>>,
}

impl Recorder {
    /// With the end-user metadata every case-data RPC needs, plus `extra`.
    fn with_user(extra: &[(&'static str, &str)]) -> Self {
        let mut headers = vec![
            ("x-schakel-user-id", USER_ID.to_owned()),
            ("x-schakel-user-role", USER_ROLE.to_owned()),
        ];
        headers.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        Self {
            headers,
            called: Arc::default(),
        }
    }

    fn take_called(&self) -> Vec<(String, String)> {
        std::mem::take(&mut *self.called.lock().unwrap())
    }
}

impl tonic::service::Interceptor for Recorder {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        if let Some(m) = req.extensions().get::<GrpcMethod>() {
            self.called
                .lock()
                .unwrap()
                .push((m.service().to_owned(), m.method().to_owned()));
        }
        for (k, v) in &self.headers {
            req.metadata_mut().insert(*k, v.parse().unwrap());
        }
        Ok(req)
    }
}

type CallFuture = Pin<Box<dyn Future<Output = Result<(), Status>> + Send>>;

/// One RPC of the API: its gRPC service and method name, whether it streams
/// its answer, and a call of it through the generated client with a default
/// (empty) request.
struct Rpc {
    service: &'static str,
    method: &'static str,
    server_streaming: bool,
    call: fn(Channel, Recorder) -> CallFuture,
}

macro_rules! rpc {
    ($service:literal, $method:literal, $client:ident :: $f:ident($req:ident)) => {
        Rpc {
            service: $service,
            method: $method,
            server_streaming: false,
            call: |ch, rec| {
                Box::pin(async move {
                    $client::with_interceptor(ch, rec)
                        .$f(pb::$req::default())
                        .await
                        .map(|_| ())
                })
            },
        }
    };
    ($service:literal, $method:literal, stream $client:ident :: $f:ident($req:ident)) => {
        Rpc {
            service: $service,
            method: $method,
            server_streaming: true,
            call: |ch, rec| {
                Box::pin(async move {
                    // A refusal comes in the headers; a handler's error may
                    // come with the first message instead.
                    let mut stream = $client::with_interceptor(ch, rec)
                        .$f(pb::$req::default())
                        .await?
                        .into_inner();
                    stream.message().await.map(|_| ())
                })
            },
        }
    };
}

/// Every RPC of the v1 API. [`the_table_lists_every_rpc_of_the_proto`]
/// fails when the proto gains (or loses) one that is not listed here.
fn rpcs() -> Vec<Rpc> {
    vec![
        // DirectoryService
        rpc!(
            "schakel.v1.DirectoryService",
            "WhoAmI",
            DirectoryServiceClient::who_am_i(WhoAmIRequest)
        ),
        rpc!(
            "schakel.v1.DirectoryService",
            "GetOrganisation",
            DirectoryServiceClient::get_organisation(GetOrganisationRequest)
        ),
        rpc!(
            "schakel.v1.DirectoryService",
            "ListOrganisations",
            DirectoryServiceClient::list_organisations(ListOrganisationsRequest)
        ),
        rpc!(
            "schakel.v1.DirectoryService",
            "GetRegion",
            DirectoryServiceClient::get_region(GetRegionRequest)
        ),
        // AdminService
        rpc!(
            "schakel.v1.AdminService",
            "RegisterOrganisation",
            AdminServiceClient::register_organisation(RegisterOrganisationRequest)
        ),
        rpc!(
            "schakel.v1.AdminService",
            "UpdateOrganisation",
            AdminServiceClient::update_organisation(UpdateOrganisationRequest)
        ),
        rpc!(
            "schakel.v1.AdminService",
            "AddFunction",
            AdminServiceClient::add_function(AddFunctionRequest)
        ),
        rpc!(
            "schakel.v1.AdminService",
            "RegisterRecipient",
            AdminServiceClient::register_recipient(RegisterRecipientRequest)
        ),
        rpc!(
            "schakel.v1.AdminService",
            "RevokeRecipient",
            AdminServiceClient::revoke_recipient(RevokeRecipientRequest)
        ),
        rpc!(
            "schakel.v1.AdminService",
            "BindCertificate",
            AdminServiceClient::bind_certificate(BindCertificateRequest)
        ),
        rpc!(
            "schakel.v1.AdminService",
            "UnbindCertificate",
            AdminServiceClient::unbind_certificate(UnbindCertificateRequest)
        ),
        rpc!(
            "schakel.v1.AdminService",
            "Purge",
            AdminServiceClient::purge(PurgeRequest)
        ),
        rpc!(
            "schakel.v1.AdminService",
            "RecordMandate",
            AdminServiceClient::record_mandate(RecordMandateRequest)
        ),
        rpc!(
            "schakel.v1.AdminService",
            "EndMandate",
            AdminServiceClient::end_mandate(EndMandateRequest)
        ),
        rpc!(
            "schakel.v1.AdminService",
            "ListMandates",
            AdminServiceClient::list_mandates(ListMandatesRequest)
        ),
        // ConsentService
        rpc!(
            "schakel.v1.ConsentService",
            "RecordConsent",
            ConsentServiceClient::record_consent(RecordConsentRequest)
        ),
        rpc!(
            "schakel.v1.ConsentService",
            "WithdrawConsent",
            ConsentServiceClient::withdraw_consent(WithdrawConsentRequest)
        ),
        rpc!(
            "schakel.v1.ConsentService",
            "GetConsent",
            ConsentServiceClient::get_consent(GetConsentRequest)
        ),
        rpc!(
            "schakel.v1.ConsentService",
            "ListConsents",
            ConsentServiceClient::list_consents(ListConsentsRequest)
        ),
        // TransferService
        rpc!(
            "schakel.v1.TransferService",
            "Submit",
            TransferServiceClient::submit(SubmitRequest)
        ),
        rpc!(
            "schakel.v1.TransferService",
            "GetSent",
            TransferServiceClient::get_sent(GetSentRequest)
        ),
        rpc!(
            "schakel.v1.TransferService",
            "ListSent",
            TransferServiceClient::list_sent(ListSentRequest)
        ),
        rpc!(
            "schakel.v1.TransferService",
            "FetchSentCopy",
            TransferServiceClient::fetch_sent_copy(FetchSentCopyRequest)
        ),
        // InboxService
        rpc!(
            "schakel.v1.InboxService",
            "ListInbox",
            InboxServiceClient::list_inbox(ListInboxRequest)
        ),
        rpc!(
            "schakel.v1.InboxService",
            "GetInboxTransfer",
            InboxServiceClient::get_inbox_transfer(GetInboxTransferRequest)
        ),
        rpc!(
            "schakel.v1.InboxService",
            "Fetch",
            InboxServiceClient::fetch(FetchRequest)
        ),
        rpc!(
            "schakel.v1.InboxService",
            "Acknowledge",
            InboxServiceClient::acknowledge(AcknowledgeRequest)
        ),
        rpc!(
            "schakel.v1.InboxService",
            "Decide",
            InboxServiceClient::decide(DecideRequest)
        ),
        rpc!(
            "schakel.v1.InboxService",
            "ListWithdrawalNotices",
            InboxServiceClient::list_withdrawal_notices(ListWithdrawalNoticesRequest)
        ),
        rpc!(
            "schakel.v1.InboxService",
            "AcknowledgeWithdrawal",
            InboxServiceClient::acknowledge_withdrawal(AcknowledgeWithdrawalRequest)
        ),
        rpc!(
            "schakel.v1.InboxService",
            "DecideHardheidsclausule",
            InboxServiceClient::decide_hardheidsclausule(DecideHardheidsclausuleRequest)
        ),
        // ExpertiseService
        rpc!(
            "schakel.v1.ExpertiseService",
            "RequestExpertise",
            ExpertiseServiceClient::request_expertise(RequestExpertiseRequest)
        ),
        rpc!(
            "schakel.v1.ExpertiseService",
            "ListExpertiseRequests",
            ExpertiseServiceClient::list_expertise_requests(ListExpertiseRequestsRequest)
        ),
        rpc!(
            "schakel.v1.ExpertiseService",
            "FetchExpertiseRequest",
            ExpertiseServiceClient::fetch_expertise_request(FetchExpertiseRequestRequest)
        ),
        rpc!(
            "schakel.v1.ExpertiseService",
            "GiveAdvice",
            ExpertiseServiceClient::give_advice(GiveAdviceRequest)
        ),
        rpc!(
            "schakel.v1.ExpertiseService",
            "GetAdvice",
            ExpertiseServiceClient::get_advice(GetAdviceRequest)
        ),
        // AuditService
        rpc!(
            "schakel.v1.AuditService",
            "QueryAudit",
            AuditServiceClient::query_audit(QueryAuditRequest)
        ),
        rpc!(
            "schakel.v1.AuditService",
            "ExportAudit",
            stream AuditServiceClient::export_audit(ExportAuditRequest)
        ),
        rpc!(
            "schakel.v1.AuditService",
            "GetCheckpoint",
            AuditServiceClient::get_checkpoint(GetCheckpointRequest)
        ),
        rpc!(
            "schakel.v1.AuditService",
            "GetInclusionProof",
            AuditServiceClient::get_inclusion_proof(GetInclusionProofRequest)
        ),
        rpc!(
            "schakel.v1.AuditService",
            "GetInclusionProofs",
            AuditServiceClient::get_inclusion_proofs(GetInclusionProofsRequest)
        ),
        rpc!(
            "schakel.v1.AuditService",
            "GetConsistencyProof",
            AuditServiceClient::get_consistency_proof(GetConsistencyProofRequest)
        ),
        rpc!(
            "schakel.v1.AuditService",
            "SubjectAccessReport",
            AuditServiceClient::subject_access_report(SubjectAccessReportRequest)
        ),
        rpc!(
            "schakel.v1.AuditService",
            "AnomalyReport",
            AuditServiceClient::anomaly_report(AnomalyReportRequest)
        ),
        rpc!(
            "schakel.v1.AuditService",
            "GetJustifications",
            AuditServiceClient::get_justifications(GetJustificationsRequest)
        ),
        rpc!(
            "schakel.v1.RegionService",
            "GetRegionalNumbers",
            RegionServiceClient::get_regional_numbers(GetRegionalNumbersRequest)
        ),
    ]
}

// ---------------------------------------------------------------------------
// The proto's own list of RPCs, read from the encoded FileDescriptorSet.
//
// schakel-e2e does not depend on `prost` (so `FileDescriptorSet::decode` is
// out of reach without changing tests/Cargo.toml); the few descriptor fields
// needed are read with a minimal protobuf wire reader instead:
//   FileDescriptorSet.file = 1; FileDescriptorProto.package = 2,
//   .service = 6; ServiceDescriptorProto.name = 1, .method = 2;
//   MethodDescriptorProto.name = 1, .client_streaming = 5,
//   .server_streaming = 6.
// ---------------------------------------------------------------------------

enum Wire<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

fn read_varint(buf: &mut &[u8]) -> u64 {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = buf.split_first().expect("truncated varint in the descriptor");
        *buf = rest;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return v;
        }
    }
    panic!("overlong varint in the descriptor")
}

/// The fields of one encoded message, in order.
fn wire_fields(mut buf: &[u8]) -> Vec<(u64, Wire<'_>)> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let key = read_varint(&mut buf);
        let value = match key & 7 {
            0 => Wire::Varint(read_varint(&mut buf)),
            1 => {
                buf = &buf[8..];
                Wire::Fixed
            }
            2 => {
                let len = usize::try_from(read_varint(&mut buf)).unwrap();
                let (bytes, rest) = buf.split_at(len);
                buf = rest;
                Wire::Bytes(bytes)
            }
            5 => {
                buf = &buf[4..];
                Wire::Fixed
            }
            t => panic!("unexpected wire type {t} in the descriptor"),
        };
        out.push((key >> 3, value));
    }
    out
}

fn bytes_of<'a, 'f>(fields: &'f [(u64, Wire<'a>)], tag: u64) -> impl Iterator<Item = &'a [u8]> + 'f {
    fields.iter().filter_map(move |(t, w)| match w {
        Wire::Bytes(b) if *t == tag => Some(*b),
        _ => None,
    })
}

fn string_of(fields: &[(u64, Wire<'_>)], tag: u64) -> String {
    bytes_of(fields, tag)
        .last()
        .map(|b| String::from_utf8(b.to_vec()).expect("utf-8 name"))
        .unwrap_or_default()
}

fn flag_of(fields: &[(u64, Wire<'_>)], tag: u64) -> bool {
    fields
        .iter()
        .any(|(t, w)| *t == tag && matches!(w, Wire::Varint(v) if *v != 0))
}

/// (service, method, client streaming, server streaming) of every RPC the
/// compiled proto declares.
fn declared_rpcs() -> BTreeSet<(String, String, bool, bool)> {
    let mut out = BTreeSet::new();
    for file in bytes_of(&wire_fields(schakel_proto::FILE_DESCRIPTOR_SET), 1) {
        let file = wire_fields(file);
        let package = string_of(&file, 2);
        for service in bytes_of(&file, 6) {
            let service = wire_fields(service);
            let name = format!("{package}.{}", string_of(&service, 1));
            for method in bytes_of(&service, 2) {
                let method = wire_fields(method);
                out.insert((
                    name.clone(),
                    string_of(&method, 1),
                    flag_of(&method, 5),
                    flag_of(&method, 6),
                ));
            }
        }
    }
    out
}

#[test]
fn the_table_lists_every_rpc_of_the_proto() {
    let declared = declared_rpcs();
    // The reader itself must work: the proto has dozens of RPCs in 7 services.
    assert!(declared.len() > 30, "{declared:?}");
    let listed: Vec<(String, String, bool, bool)> = rpcs()
        .iter()
        .map(|r| {
            (
                r.service.to_owned(),
                r.method.to_owned(),
                false,
                r.server_streaming,
            )
        })
        .collect();
    let listed_set: BTreeSet<_> = listed.iter().cloned().collect();
    assert_eq!(listed.len(), listed_set.len(), "an RPC is listed twice");
    let missing: Vec<_> = declared.difference(&listed_set).collect();
    let extra: Vec<_> = listed_set.difference(&declared).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "the access matrix is out of date with proto/schakel/v1: \
         not in the table {missing:?}; not in the proto {extra:?}"
    );
    // Every service has an expectation row and every row a service.
    let services: BTreeSet<&str> = declared.iter().map(|(s, ..)| s.as_str()).collect();
    let rows: BTreeSet<&str> = ALLOWED.iter().map(|(s, _)| *s).collect();
    assert_eq!(services, rows);
    assert_eq!(services, schakel_proto::SERVICE_NAMES.into_iter().collect());
    for (service, method, _) in NARROWED {
        assert!(
            listed_set.iter().any(|(s, m, ..)| s == service && m == method),
            "NARROWED names {service}/{method}, which is not an RPC"
        );
    }
    // Every function kind calls the matrix.
    let kinds: BTreeSet<&str> = PARTIES.iter().map(|p| p.kind.as_str()).collect();
    let all: BTreeSet<&str> = FunctionKind::ALL.iter().map(|f| f.as_str()).collect();
    assert_eq!(kinds, all, "a function kind is missing from PARTIES");
}

// ---------------------------------------------------------------------------
// Audit helpers.
// ---------------------------------------------------------------------------

async fn audit_since(t: &TestHub, from: u64) -> Vec<Entry> {
    let store = t.hub.as_ref().unwrap().store();
    let size = store.audit_size().await.unwrap();
    store
        .audit_range(from, size)
        .await
        .unwrap()
        .iter()
        .map(|e| Entry::decode(&e.bytes).unwrap())
        .collect()
}

fn is_refusal(e: &Entry) -> bool {
    matches!(
        e.action,
        Action::AuthorisationFailed | Action::AuthenticationFailed
    )
}

/// Checks that exactly one entry was appended since `from`: an
/// `authorisation_failed` by `oin`, with the end user's metadata.
async fn assert_one_authorisation_failure(t: &TestHub, from: u64, oin: &str, what: &str) {
    let new = audit_since(t, from).await;
    assert_eq!(new.len(), 1, "{what}: expected one audit entry, got {new:#?}");
    let e = &new[0];
    assert_eq!(e.action, Action::AuthorisationFailed, "{what}: {e:#?}");
    assert_eq!(e.action.as_str(), "authorisation_failed");
    assert_eq!(e.actor.oin.as_deref(), Some(oin), "{what}: {e:#?}");
    assert_eq!(
        e.outcome,
        Outcome::Error {
            code: "permission_denied".into()
        },
        "{what}"
    );
    assert_eq!(e.actor.user_id.as_deref(), Some(USER_ID), "{what}");
    assert_eq!(e.actor.user_role.as_deref(), Some(USER_ROLE), "{what}");
    assert!(e.subject.is_none() && e.transfer_id.is_none() && e.groups.is_empty());
}

async fn audit_size(t: &TestHub) -> u64 {
    t.audit_size().await
}

/// Calls `rpc` on `ch` and checks that the generated client called exactly
/// the RPC the table names.
async fn call(rpc: &Rpc, ch: Channel, rec: &Recorder) -> Result<(), Status> {
    rec.take_called();
    let out = (rpc.call)(ch, rec.clone()).await;
    assert_eq!(
        rec.take_called(),
        vec![(rpc.service.to_owned(), rpc.method.to_owned())],
        "the table's call for {}/{} calls another RPC",
        rpc.service,
        rpc.method
    );
    out
}

// ---------------------------------------------------------------------------
// 1 + 2: every RPC × every function kind, every refusal audited.
// ---------------------------------------------------------------------------

async fn every_rpc_by_every_function_kind(t: TestHub) {
    let rpcs = rpcs();
    let rec = Recorder::with_user(&[]);
    let mut failures = Vec::new();
    let (mut denied, mut admitted) = (0, 0);
    for party in &PARTIES {
        let ch = t.connect(party.profile).await.channel();
        // The profile acts as the function the matrix assumes.
        let me = DirectoryServiceClient::new(ch.clone())
            .who_am_i(pb::WhoAmIRequest {})
            .await
            .unwrap()
            .into_inner();
        assert_eq!(me.function, pb_function(party.kind), "{}", party.profile);
        assert_eq!(me.organisation.unwrap().oin, party.oin, "{}", party.profile);

        for rpc in &rpcs {
            let what = format!(
                "{} ({}) → {}/{}",
                party.profile,
                party.kind.as_str(),
                rpc.service,
                rpc.method
            );
            let before = audit_size(&t).await;
            let out = call(rpc, ch.clone(), &rec).await;
            let code = out.as_ref().err().map_or(Code::Ok, Status::code);
            if expected_allowed(rpc.service, rpc.method, party.kind) {
                admitted += 1;
                if matches!(
                    code,
                    Code::PermissionDenied
                        | Code::Unauthenticated
                        | Code::Unimplemented
                        | Code::Internal
                        | Code::Unknown
                ) {
                    failures.push(format!("{what}: allowed, but answered {:?}", out.unwrap_err()));
                    continue;
                }
                let refusals: Vec<Entry> = audit_since(&t, before)
                    .await
                    .into_iter()
                    .filter(is_refusal)
                    .collect();
                if !refusals.is_empty() {
                    failures.push(format!("{what}: allowed, but audited as refused: {refusals:?}"));
                }
            } else {
                denied += 1;
                match &out {
                    Err(s) if s.code() == Code::PermissionDenied => {
                        let expected = if service_admits(rpc.service, party.kind) {
                            format!(
                                "R7: function {} may not call {}/",
                                party.kind.as_str(),
                                rpc.service
                            )
                        } else {
                            format!("{} may not call {}", party.kind.as_str(), rpc.service)
                        };
                        if !s.message().contains(&expected) {
                            failures.push(format!("{what}: refusal does not say {expected:?}: {s:?}"));
                        }
                        let new = audit_since(&t, before).await;
                        let ok = new.len() == 1
                            && new[0].action == Action::AuthorisationFailed
                            && new[0].actor.oin.as_deref() == Some(party.oin)
                            && new[0].actor.user_id.as_deref() == Some(USER_ID)
                            && new[0].actor.user_role.as_deref() == Some(USER_ROLE)
                            && new[0].outcome
                                == Outcome::Error {
                                    code: "permission_denied".into(),
                                };
                        if !ok {
                            failures.push(format!(
                                "{what}: expected one authorisation_failed entry by {}, got {new:?}",
                                party.oin
                            ));
                        }
                    }
                    other => failures.push(format!("{what}: must be PERMISSION_DENIED, got {other:?}")),
                }
            }
        }
    }
    let total = PARTIES.len() * rpcs.len();
    assert_eq!(denied + admitted, total);
    assert!(
        failures.is_empty(),
        "{} of {total} matrix cells wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
    println!(
        "access matrix: {} RPCs × {} parties ({} function kinds) = {total} calls, {denied} refused and audited, \
         {admitted} admitted",
        rpcs.len(),
        PARTIES.len(),
        FunctionKind::ALL.len()
    );
    schakel_e2e::verify_audit_log(&t).await;
}

// ---------------------------------------------------------------------------
// 3: certificates and identities.
// ---------------------------------------------------------------------------

fn ago(days: i64) -> jiff::Timestamp {
    jiff::Timestamp::now() - SignedDuration::from_hours(24 * days)
}

async fn whoami(ch: Channel, rec: &Recorder) -> Result<pb::WhoAmIResponse, Status> {
    DirectoryServiceClient::with_interceptor(ch, rec.clone())
        .who_am_i(pb::WhoAmIRequest {})
        .await
        .map(|r| r.into_inner())
}

/// Headers a client might send to pass itself off as the gemeente's
/// Participatiewet function; all must be ignored.
const CLAIM_GEMEENTE: [(&str, &str); 7] = [
    ("x-schakel-oin", GEMEENTE_OIN),
    ("x-schakel-organisation", GEMEENTE_OIN),
    ("x-schakel-function", "participatiewet"),
    ("x-ssl-client-serial", GEMEENTE_OIN),
    ("x-client-cert-oin", GEMEENTE_OIN),
    (
        "x-forwarded-client-cert",
        "By=spiffe://hub;Subject=\"serialNumber=00000001999990014000\"",
    ),
    (
        "x-ssl-client-s-dn",
        "serialNumber=00000001999990014000,CN=Gemeente Groningen",
    ),
];

async fn metadata_claiming_another_organisation_is_ignored(t: TestHub) {
    let rec = Recorder::with_user(&CLAIM_GEMEENTE);
    let ch = t.connect("mbo-school").await.channel();
    let me = whoami(ch.clone(), &rec).await.unwrap();
    assert_eq!(me.organisation.unwrap().oin, MBO_OIN);
    assert_eq!(me.function, pb::FunctionKind::School as i32);

    // It acts as the school: the gemeente's inbox and expertise stay closed…
    let before = audit_size(&t).await;
    let e = InboxServiceClient::with_interceptor(ch.clone(), rec.clone())
        .list_inbox(pb::ListInboxRequest::default())
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
    assert_one_authorisation_failure(&t, before, MBO_OIN, "claimed gemeente, inbox").await;
    let before = audit_size(&t).await;
    let e = ExpertiseServiceClient::with_interceptor(ch.clone(), rec.clone())
        .list_expertise_requests(pb::ListExpertiseRequestsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
    assert_one_authorisation_failure(&t, before, MBO_OIN, "claimed gemeente, expertise").await;

    // … and what it does is recorded as the school's: a consent recorded
    // with the claim in its headers names the school as actor.
    let before = audit_size(&t).await;
    let mut consent = ConsentServiceClient::with_interceptor(ch.clone(), rec.clone());
    let recorded = consent
        .record_consent(pb::RecordConsentRequest {
            idempotency_key: "claim-1".into(),
            status: pb::ConsentStatus::Given as i32,
            subject: Some(pb::ConsentSubject {
                bsn: BSN.into(),
                date_of_birth: flow::ago(19, 30),
            }),
            giver: pb::ConsentGiver::Youth as i32,
            scope: Some(pb::ConsentScope {
                purpose: "handover.school_to_gemeente".into(),
                recipient: flow::werk_party(),
                groups: flow::GROUPS.iter().map(|g| (*g).to_owned()).collect(),
            }),
            method: pb::ConsentMethod::Digital as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(recorded.consent.is_some());
    let new = audit_since(&t, before).await;
    assert!(!new.is_empty());
    for e in &new {
        assert_eq!(e.actor.oin.as_deref(), Some(MBO_OIN), "{e:#?}");
        assert_eq!(e.actor.function.as_deref(), Some("school"), "{e:#?}");
    }

    // A privacy officer of the school claiming the gemeente is the school's.
    let officer = Recorder::with_user(&CLAIM_GEMEENTE);
    let ch = t.connect("mbo-privacy-officer").await.channel();
    let me = whoami(ch.clone(), &officer).await.unwrap();
    assert_eq!(me.organisation.unwrap().oin, MBO_OIN);
    assert_eq!(me.function, pb::FunctionKind::PrivacyOfficer as i32);

    // The other way round: the gemeente's Participatiewet certificate with
    // headers claiming the school stays Participatiewet, which may not send
    // a school's handover (R9): the refusal, and its audit entry, are the
    // gemeente's.
    let rec = Recorder::with_user(&[("x-schakel-oin", MBO_OIN), ("x-schakel-function", "school")]);
    let ch = t.connect("gemeente-participatiewet").await.channel();
    let me = whoami(ch.clone(), &rec).await.unwrap();
    assert_eq!(me.organisation.unwrap().oin, GEMEENTE_OIN);
    assert_eq!(me.function, pb::FunctionKind::Participatiewet as i32);
    let before = audit_size(&t).await;
    let e = TransferServiceClient::with_interceptor(ch, rec.clone())
        .submit(flow::handover(BSN, "", "claim-2"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(
        flow::violations(&e).iter().any(|(_, d)| d.starts_with("R9:")),
        "{:?}",
        flow::violations(&e)
    );
    let new = audit_since(&t, before).await;
    assert_eq!(new.len(), 1, "{new:#?}");
    assert_eq!(new[0].action, Action::TransferRefused, "{new:#?}");
    assert_eq!(new[0].actor.oin.as_deref(), Some(GEMEENTE_OIN), "{new:#?}");
    assert_eq!(
        new[0].actor.function.as_deref(),
        Some("participatiewet"),
        "{new:#?}"
    );
}

/// Checks that two connections, each making three calls with `cert`, are
/// refused `UNAUTHENTICATED` with `reason`, and audited once per method.
async fn assert_unauthenticated_per_connection(t: &TestHub, cert: Option<&IssuedCert>, reason: &str) {
    let rec = Recorder::with_user(&[]);
    let before = audit_size(t).await;
    for _ in 0..2 {
        let ch = t.connect_with(cert).await.channel();
        let results = [
            whoami(ch.clone(), &rec).await.map(|_| ()),
            InboxServiceClient::with_interceptor(ch.clone(), rec.clone())
                .list_inbox(pb::ListInboxRequest::default())
                .await
                .map(|_| ()),
            AdminServiceClient::with_interceptor(ch, rec.clone())
                .purge(pb::PurgeRequest {
                    dry_run: true,
                    ..Default::default()
                })
                .await
                .map(|_| ()),
        ];
        for r in results {
            let e = r.unwrap_err();
            assert_eq!(e.code(), Code::Unauthenticated, "{reason}: {e:?}");
            assert!(e.message().contains(reason), "{reason}: {}", e.message());
        }
    }
    // One entry per method for this peer and reason; the second
    // connection's refusals are counted, not written again (issue 15).
    let new = audit_since(t, before).await;
    assert_eq!(new.len(), 3, "{reason}: once per method: {new:#?}");
    for e in &new {
        assert_eq!(e.action, Action::AuthenticationFailed, "{e:#?}");
        assert_eq!(
            e.outcome,
            Outcome::Error {
                code: "unauthenticated".into()
            }
        );
        assert_eq!(e.actor.function, None);
        if let Some(oin) = &e.actor.oin {
            assert_eq!(Some(oin.as_str()), cert.map(|_| MBO_OIN), "{e:#?}");
        }
    }
}

async fn expired_and_not_yet_valid_certificates_are_unauthenticated(t: TestHub) {
    // Certificates of a registered organisation: without the validity check
    // they would get PERMISSION_DENIED (unbound), not UNAUTHENTICATED.
    let expired = t.issue(
        MBO_OIN,
        Validity {
            not_before: ago(60),
            not_after: ago(1),
        },
    );
    assert_unauthenticated_per_connection(&t, Some(&expired), "expired").await;
    let early = t.issue(
        MBO_OIN,
        Validity {
            not_before: ago(-2),
            not_after: ago(-30),
        },
    );
    assert_unauthenticated_per_connection(&t, Some(&early), "not yet valid").await;
    assert_unauthenticated_per_connection(&t, None, "certificate is required").await;

    // Even when the operator bound the (then valid) certificate: the
    // validity is checked at every call, not only at binding.
    let admin = t.connect("admin").await;
    for cert in [&expired, &early] {
        let bound = admin
            .admin()
            .bind_certificate(pb::BindCertificateRequest {
                oin: MBO_OIN.into(),
                function: pb::FunctionKind::School as i32,
                certificate_pem: cert.cert_pem.clone(),
            })
            .await;
        if bound.is_ok() {
            let e = whoami(
                t.connect_with(Some(cert)).await.channel(),
                &Recorder::with_user(&[]),
            )
            .await
            .unwrap_err();
            assert_eq!(
                e.code(),
                Code::Unauthenticated,
                "bound but out of validity: {e:?}"
            );
        }
    }
}

async fn a_deactivated_organisation_is_refused_everything(t: TestHub) {
    let rec = Recorder::with_user(&[]);
    let admin = t.connect("admin").await;
    // Connections made while the organisation was active.
    let school = t.connect("pro-school").await.channel();
    let officer = t.connect("pro-privacy-officer").await.channel();
    assert!(whoami(school.clone(), &rec).await.is_ok());
    assert!(whoami(officer.clone(), &rec).await.is_ok());

    admin
        .admin()
        .update_organisation(pb::UpdateOrganisationRequest {
            oin: PRO_OIN.into(),
            active: Some(false),
            ..Default::default()
        })
        .await
        .unwrap();

    let rpcs = rpcs();
    let fresh_school = t.connect("pro-school").await.channel();
    for (label, ch, written) in [
        ("pro-school (old connection)", school.clone(), true),
        ("pro-privacy-officer (old connection)", officer.clone(), true),
        // The same certificate, method and reason again: counted, not
        // written again (issue 15; `refusals`).
        ("pro-school (new connection)", fresh_school, false),
    ] {
        // Every RPC, even those its function may call, even the directory.
        for rpc in &rpcs {
            let what = format!("{label} → {}/{}", rpc.service, rpc.method);
            let before = audit_size(&t).await;
            let e = call(rpc, ch.clone(), &rec).await.unwrap_err();
            assert_eq!(e.code(), Code::PermissionDenied, "{what}: {e:?}");
            assert!(e.message().contains("deactivated"), "{what}: {}", e.message());
            if written {
                assert_one_authorisation_failure(&t, before, PRO_OIN, &what).await;
            } else {
                assert_eq!(audit_size(&t).await, before, "{what}: counted, not written");
            }
        }
    }

    // Reactivated: the same certificates work again (history kept).
    admin
        .admin()
        .update_organisation(pb::UpdateOrganisationRequest {
            oin: PRO_OIN.into(),
            active: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(whoami(school, &rec).await.is_ok());
    assert!(whoami(officer, &rec).await.is_ok());
}

async fn privacy_officers_cannot_send(t: TestHub) {
    let rec = Recorder::with_user(&[]);
    for (profile, oin) in [
        ("mbo-privacy-officer", MBO_OIN),
        ("gemeente-privacy-officer", GEMEENTE_OIN),
        ("pro-privacy-officer", PRO_OIN),
    ] {
        let ch = t.connect(profile).await.channel();
        let before = audit_size(&t).await;
        let e = ConsentServiceClient::with_interceptor(ch.clone(), rec.clone())
            .record_consent(pb::RecordConsentRequest {
                idempotency_key: format!("{profile}-consent"),
                status: pb::ConsentStatus::Given as i32,
                subject: Some(pb::ConsentSubject {
                    bsn: BSN.into(),
                    date_of_birth: flow::ago(19, 30),
                }),
                giver: pb::ConsentGiver::Youth as i32,
                scope: Some(pb::ConsentScope {
                    purpose: "handover.school_to_gemeente".into(),
                    recipient: flow::werk_party(),
                    groups: flow::GROUPS.iter().map(|g| (*g).to_owned()).collect(),
                }),
                method: pb::ConsentMethod::Digital as i32,
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "{profile}: {e:?}");
        assert_one_authorisation_failure(&t, before, oin, &format!("{profile} RecordConsent")).await;

        let before = audit_size(&t).await;
        let e = TransferServiceClient::with_interceptor(ch.clone(), rec.clone())
            .submit(flow::handover(BSN, "", &format!("{profile}-submit")))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "{profile}: {e:?}");
        assert_one_authorisation_failure(&t, before, oin, &format!("{profile} Submit")).await;

        // Withdrawing consent is a sender's act too.
        let before = audit_size(&t).await;
        let e = ConsentServiceClient::with_interceptor(ch, rec.clone())
            .withdraw_consent(pb::WithdrawConsentRequest::default())
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "{profile}: {e:?}");
        assert_one_authorisation_failure(&t, before, oin, &format!("{profile} WithdrawConsent")).await;
    }
    // Nothing was sent: the gemeente's inbox is empty.
    let inbox = InboxServiceClient::with_interceptor(
        t.connect("gemeente-participatiewet").await.channel(),
        rec.clone(),
    )
    .list_inbox(pb::ListInboxRequest::default())
    .await
    .unwrap()
    .into_inner();
    assert!(inbox.transfers.is_empty(), "{inbox:?}");
}

async fn admin_rpcs_need_the_admin_identity(t: TestHub) {
    let rec = Recorder::with_user(&[]);
    let admin = t.connect("admin").await;
    let mbo = whoami(t.connect("mbo-school").await.channel(), &rec)
        .await
        .unwrap();
    let mbo_school_sha = mbo.certificate_sha256.clone();
    let mbo_key = mbo
        .organisation
        .unwrap()
        .functions
        .into_iter()
        .find(|f| f.kind == pb::FunctionKind::School as i32)
        .unwrap()
        .recipients
        .remove(0);
    let recipient = std::fs::read_to_string(t.env.profile("mbo-school").join("age-recipient.txt")).unwrap();
    let new_oin = "00000003777770001000";
    let mut refused = 0;

    for party in PARTIES.iter().filter(|p| p.kind != FunctionKind::Admin) {
        let ch = t.connect(party.profile).await.channel();
        let mut client = AdminServiceClient::with_interceptor(ch, rec.clone());
        // A fresh certificate of the caller's own organisation, which it
        // tries to bind to a function of its choice.
        let own_cert = t.issue(party.oin, Validity::days_from_now(30));
        // Requests that would succeed for the admin.
        let attempts: Vec<(&str, Result<(), Status>)> = vec![
            (
                "RegisterOrganisation",
                client
                    .register_organisation(pb::RegisterOrganisationRequest {
                        oin: new_oin.into(),
                        kind: pb::OrgKind::VsoSchool as i32,
                        name: "VSO De Brug".into(),
                        brin: "77AB".into(),
                        doorstroompunt_regio: "03".into(),
                        arbeidsmarktregio: "AM01".into(),
                        ..Default::default()
                    })
                    .await
                    .map(|_| ()),
            ),
            (
                "UpdateOrganisation",
                client
                    .update_organisation(pb::UpdateOrganisationRequest {
                        oin: MBO_OIN.into(),
                        active: Some(false),
                        ..Default::default()
                    })
                    .await
                    .map(|_| ()),
            ),
            (
                "AddFunction",
                client
                    .add_function(pb::AddFunctionRequest {
                        oin: PRO_OIN.into(),
                        function: pb::FunctionKind::Admin as i32,
                    })
                    .await
                    .map(|_| ()),
            ),
            (
                "RegisterRecipient",
                client
                    .register_recipient(pb::RegisterRecipientRequest {
                        oin: PRO_OIN.into(),
                        function: pb::FunctionKind::School as i32,
                        age_recipient: recipient.trim().into(),
                        ..Default::default()
                    })
                    .await
                    .map(|_| ()),
            ),
            (
                "RevokeRecipient",
                client
                    .revoke_recipient(pb::RevokeRecipientRequest {
                        key_id: mbo_key.key_id.clone(),
                    })
                    .await
                    .map(|_| ()),
            ),
            (
                "BindCertificate",
                client
                    .bind_certificate(pb::BindCertificateRequest {
                        oin: party.oin.into(),
                        function: pb_function(if party.oin == GEMEENTE_OIN {
                            FunctionKind::Participatiewet
                        } else {
                            FunctionKind::School
                        }),
                        certificate_pem: own_cert.cert_pem.clone(),
                    })
                    .await
                    .map(|_| ()),
            ),
            (
                "UnbindCertificate",
                client
                    .unbind_certificate(pb::UnbindCertificateRequest {
                        certificate_sha256: mbo_school_sha.clone(),
                    })
                    .await
                    .map(|_| ()),
            ),
            (
                "Purge",
                client
                    .purge(pb::PurgeRequest {
                        dry_run: false,
                        ..Default::default()
                    })
                    .await
                    .map(|_| ()),
            ),
            (
                "RecordMandate",
                client
                    .record_mandate(pb::RecordMandateRequest {
                        mandating_oin: GEMEENTE_OIN.into(),
                        function: pb_function(FunctionKind::Participatiewet),
                        mandated_oin: party.oin.into(),
                        processing_agreement: "VWO-1".into(),
                        valid_from: None,
                        valid_until: Some(pb::Date {
                            year: 2099,
                            month: 12,
                            day: 31,
                        }),
                    })
                    .await
                    .map(|_| ()),
            ),
            (
                "EndMandate",
                client
                    .end_mandate(pb::EndMandateRequest {
                        mandate_id: uuid::Uuid::now_v7().to_string(),
                        last_day: None,
                    })
                    .await
                    .map(|_| ()),
            ),
            (
                "ListMandates",
                client
                    .list_mandates(pb::ListMandatesRequest::default())
                    .await
                    .map(|_| ()),
            ),
        ];
        // Each attempt is audited once; count them from the log afterwards.
        let n = attempts.len();
        for (rpc, r) in attempts {
            let e = r.unwrap_err();
            assert_eq!(e.code(), Code::PermissionDenied, "{} {rpc}: {e:?}", party.profile);
            assert!(
                e.message().contains("may not call schakel.v1.AdminService"),
                "{} {rpc}: {}",
                party.profile,
                e.message()
            );
            refused += 1;
        }
        assert_eq!(n, 11, "every AdminService RPC is tried");
        // The certificate it tried to bind is still unbound.
        let e = whoami(t.connect_with(Some(&own_cert)).await.channel(), &rec)
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
        assert!(e.message().contains("not bound"), "{}", e.message());
    }

    // Audited: one authorisation_failed per attempt, each with its caller.
    let entries = schakel_e2e::verify_audit_log(&t).await;
    let admin_refusals: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.action == Action::AuthorisationFailed && e.actor.user_id.as_deref() == Some(USER_ID))
        .collect();
    // Per non-admin party: 11 admin RPCs + the unbound-certificate probe.
    let non_admin: Vec<&Party> = PARTIES.iter().filter(|p| p.kind != FunctionKind::Admin).collect();
    assert_eq!(admin_refusals.len(), non_admin.len() * 12, "{admin_refusals:#?}");
    for (chunk, party) in admin_refusals.chunks(12).zip(&non_admin) {
        for e in chunk {
            assert_eq!(e.actor.oin.as_deref(), Some(party.oin), "{e:#?}");
        }
    }
    assert_eq!(refused, non_admin.len() * 11);

    // Nothing changed: the school is active and bound, its key not revoked,
    // the organisation not registered, no function added.
    let me = whoami(t.connect("mbo-school").await.channel(), &rec)
        .await
        .unwrap();
    assert_eq!(me.certificate_sha256, mbo_school_sha);
    let org = me.organisation.unwrap();
    let school = org
        .functions
        .iter()
        .find(|f| f.kind == pb::FunctionKind::School as i32)
        .unwrap();
    assert!(school.recipients.iter().all(|k| !k.revoked));
    let pro = admin
        .directory()
        .get_organisation(pb::GetOrganisationRequest {
            key: Some(pb::get_organisation_request::Key::Oin(PRO_OIN.into())),
        })
        .await
        .unwrap()
        .into_inner()
        .organisation
        .unwrap();
    assert!(
        pro.functions
            .iter()
            .all(|f| f.kind != pb::FunctionKind::Admin as i32)
    );
    let pro_school = pro
        .functions
        .iter()
        .find(|f| f.kind == pb::FunctionKind::School as i32)
        .unwrap();
    assert_eq!(pro_school.recipients.len(), 1, "no recipient was registered");
    let e = admin
        .directory()
        .get_organisation(pb::GetOrganisationRequest {
            key: Some(pb::get_organisation_request::Key::Oin(new_oin.into())),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);

    // Control: the admin identity may do what was refused.
    let cert = t.issue(MBO_OIN, Validity::days_from_now(30));
    admin
        .admin()
        .bind_certificate(pb::BindCertificateRequest {
            oin: MBO_OIN.into(),
            function: pb::FunctionKind::School as i32,
            certificate_pem: cert.cert_pem.clone(),
        })
        .await
        .unwrap();
    let me = whoami(t.connect_with(Some(&cert)).await.channel(), &rec)
        .await
        .unwrap();
    assert_eq!(me.function, pb::FunctionKind::School as i32);
}

on_both_backends!(
    every_rpc_by_every_function_kind,
    metadata_claiming_another_organisation_is_ignored,
    expired_and_not_yet_valid_certificates_are_unauthenticated,
    a_deactivated_organisation_is_refused_everything,
    privacy_officers_cannot_send,
    admin_rpcs_need_the_admin_identity,
);
