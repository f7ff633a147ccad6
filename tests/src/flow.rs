//! Building blocks of the exchange flows for end-to-end tests: demo
//! parties, fictitious youths, documents, and the calls that record consent
//! and submit handovers.

use age::x25519::Identity;
use schakel_crypto::GroupPlaintext;
use schakel_proto::v1 as pb;
use schakel_proto::v1::consent_service_client::ConsentServiceClient;
use schakel_proto::v1::expertise_service_client::ExpertiseServiceClient;
use schakel_proto::v1::inbox_service_client::InboxServiceClient;
use schakel_proto::v1::transfer_service_client::TransferServiceClient;
use tonic::transport::Channel;
use tonic::{Request, Status};
use tonic_types::StatusExt;

use crate::TestHub;

pub const MBO_OIN: &str = "00000003999990001000";
pub const GEMEENTE_OIN: &str = "00000001999990014000";
/// Fictitious test BSNs (9999xxxxx, elfproef), never real people.
pub const BSN: &str = "999990019";
pub const BSN2: &str = "999990925";
pub const BSN3: &str = "999992740";
pub const SURNAME: &str = "Testpersoon-Zwaluwstaart";
pub const GIVEN: &str = "Quirijntje";

/// A request with the end-user metadata every case-data RPC needs.
pub fn req<T>(msg: T) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut()
        .insert("x-schakel-user-id", "medewerker-42".parse().unwrap());
    r.metadata_mut()
        .insert("x-schakel-user-role", "loopbaanbegeleider".parse().unwrap());
    r
}

pub fn date(y: i32, m: i32, d: i32) -> Option<pb::Date> {
    Some(pb::Date {
        year: y,
        month: m,
        day: d,
    })
}

pub fn today() -> jiff::civil::Date {
    schakel_domain::dates::amsterdam_date(jiff::Timestamp::now()).unwrap()
}

/// A date `years` years and `days` days before today.
pub fn ago(years: i16, days: i64) -> Option<pb::Date> {
    let d = today()
        .checked_sub(jiff::Span::new().years(years))
        .unwrap()
        .checked_sub(jiff::Span::new().days(days))
        .unwrap();
    date(i32::from(d.year()), i32::from(d.month()), i32::from(d.day()))
}

/// A date as the document writes it: `YYYY-MM-DD`.
pub fn iso(d: Option<pb::Date>) -> String {
    let d = d.expect("a date");
    format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)
}

/// Sets the youth's date of birth in the facts and in the identity group,
/// which must agree (R12).
pub fn set_birth(r: &mut pb::SubmitRequest, d: Option<pb::Date>) {
    r.subject.get_or_insert_default().date_of_birth = d;
    for g in r.groups.iter_mut().filter(|g| g.name == "identity") {
        for f in g.fields.iter_mut().filter(|f| f.key == "date_of_birth") {
            f.value = iso(d);
        }
    }
}

pub fn party(oin: &str, f: pb::FunctionKind) -> Option<pb::PartyRef> {
    Some(pb::PartyRef {
        oin: oin.into(),
        function: f as i32,
    })
}

pub fn werk_party() -> Option<pb::PartyRef> {
    party(GEMEENTE_OIN, pb::FunctionKind::Participatiewet)
}

pub fn group(name: &str, fields: &[(&str, &str)]) -> pb::FieldGroup {
    pb::FieldGroup {
        name: name.into(),
        fields: fields
            .iter()
            .map(|(k, v)| pb::Field {
                key: (*k).into(),
                value: (*v).into(),
            })
            .collect(),
    }
}

pub struct Clients {
    pub consent: ConsentServiceClient<Channel>,
    pub transfer: TransferServiceClient<Channel>,
    pub inbox: InboxServiceClient<Channel>,
    pub expertise: ExpertiseServiceClient<Channel>,
}

pub async fn clients(t: &TestHub, party: &str) -> Clients {
    let ch = t.connect(party).await.channel();
    Clients {
        consent: ConsentServiceClient::new(ch.clone()),
        transfer: TransferServiceClient::new(ch.clone()),
        inbox: InboxServiceClient::new(ch.clone()),
        expertise: ExpertiseServiceClient::new(ch),
    }
}

pub fn identity(t: &TestHub, party: &str) -> Identity {
    let text = std::fs::read_to_string(t.env.profile(party).join("age-identity.txt")).unwrap();
    schakel_crypto::parse_identities(&text).unwrap().remove(0)
}

/// The field violations of a refusal as (field, rule prefix) pairs.
pub fn violations(s: &Status) -> Vec<(String, String)> {
    s.get_details_bad_request()
        .map(|b| {
            b.field_violations
                .into_iter()
                .map(|v| (v.field, v.description))
                .collect()
        })
        .unwrap_or_default()
}

pub fn has(s: &Status, field: &str, rule: &str) -> bool {
    violations(s)
        .iter()
        .any(|(f, d)| f == field && d.starts_with(&format!("{rule}:")))
}

/// An mbo student who got the diploma two months ago, 19 years old.
pub fn mbo_subject(bsn: &str) -> pb::SubjectFacts {
    pb::SubjectFacts {
        bsn: bsn.into(),
        date_of_birth: ago(19, 30),
        school_type: pb::SchoolType::Mbo as i32,
        leaving_date: ago(0, 60),
        diploma_date: ago(0, 60),
        startkwalificatie: pb::Startkwalificatie::Achieved as i32,
        ..Default::default()
    }
}

pub fn document(bsn: &str) -> Vec<pb::FieldGroup> {
    vec![
        group(
            "identity",
            &[
                ("bsn", bsn),
                ("date_of_birth", &iso(ago(19, 30))),
                ("given_names", GIVEN),
                ("surname", SURNAME),
            ],
        ),
        group("contact.youth", &[("postcode", "9711 AB"), ("city", "Groningen")]),
        group(
            "school_career",
            &[("programme_crebo", "25180"), ("diploma_level", "mbo_2")],
        ),
        group("wishes", &[("desired_work", "Monteur in de installatietechniek")]),
    ]
}

pub const GROUPS: [&str; 4] = ["identity", "contact.youth", "school_career", "wishes"];

/// The youth's own consent (or, with `status`, refusal) for a handover of
/// the document's groups to `recipient`.
pub fn consent_request(
    bsn: &str,
    key: &str,
    recipient: Option<pb::PartyRef>,
    status: pb::ConsentStatus,
) -> pb::RecordConsentRequest {
    pb::RecordConsentRequest {
        idempotency_key: key.into(),
        status: status as i32,
        subject: Some(pb::ConsentSubject {
            bsn: bsn.into(),
            date_of_birth: ago(19, 30),
        }),
        giver: pb::ConsentGiver::Youth as i32,
        scope: Some(pb::ConsentScope {
            purpose: "handover.school_to_gemeente".into(),
            recipient,
            groups: GROUPS.iter().map(|g| (*g).to_owned()).collect(),
        }),
        method: pb::ConsentMethod::Digital as i32,
        ..Default::default()
    }
}

/// Records the youth's consent for a handover to `recipient`; its id.
pub async fn give_consent_to(
    c: &mut Clients,
    bsn: &str,
    key: &str,
    recipient: Option<pb::PartyRef>,
) -> String {
    c.consent
        .record_consent(req(consent_request(
            bsn,
            key,
            recipient,
            pb::ConsentStatus::Given,
        )))
        .await
        .unwrap()
        .into_inner()
        .consent
        .unwrap()
        .consent_id
}

/// Records the youth's consent for a handover to the demo gemeente; its id.
pub async fn give_consent(c: &mut Clients, bsn: &str, key: &str) -> String {
    give_consent_to(c, bsn, key, werk_party()).await
}

pub fn handover(bsn: &str, consent_id: &str, key: &str) -> pb::SubmitRequest {
    pb::SubmitRequest {
        idempotency_key: key.into(),
        purpose: "handover.school_to_gemeente".into(),
        recipient: werk_party(),
        subject: Some(mbo_subject(bsn)),
        groups: document(bsn),
        consent_id: consent_id.into(),
        return_to_education: pb::ReturnToEducation::NotPossible as i32,
        client_reference: "dossier-A17".into(),
        ..Default::default()
    }
}

pub async fn submit_ok(c: &mut Clients, r: pb::SubmitRequest) -> pb::SubmitResponse {
    c.transfer.submit(req(r)).await.unwrap().into_inner()
}

/// Every group of the sealed units, opened with `id` (each must open), in order.
pub fn opened(units: &[pb::SealedGroup], id: &Identity) -> Vec<GroupPlaintext> {
    schakel_client::open_groups(units, std::slice::from_ref(id))
        .into_iter()
        .map(|g| {
            g.result
                .unwrap_or_else(|e| panic!("group {} does not open: {e}", g.group))
        })
        .collect()
}

/// The names of the groups in the sealed units, in order.
pub fn group_names(units: &[pb::SealedGroup]) -> Vec<&str> {
    units.iter().flat_map(schakel_client::unit_groups).collect()
}

/// A method path the hub does not serve, chosen by a hostile client to
/// carry a youth's name and BSN into telemetry (issue 15).
pub fn hostile_path() -> String {
    format!("/schakel.v1.{GIVEN}{BSN2}/{SURNAME}")
}

/// Asserts that `status` is `code` and does not repeat a BSN or a name.
fn refused_without_echo(status: &Status, code: tonic::Code) {
    assert_eq!(status.code(), code, "{status:?}");
    let text = format!("{status:?}");
    for secret in [BSN, BSN2, GIVEN, SURNAME] {
        assert!(!text.contains(secret), "the refusal repeats {secret}: {text}");
    }
}

/// Sends a BSN and a name everywhere a client chooses the text and no
/// personal data may go (issue 15): as the method path (with and without a
/// certificate), as the end-user id and role, and in idempotency keys. Each
/// is refused with the field it came in, and nothing is stored.
pub async fn send_hostile_text(t: &TestHub) {
    let path: http::uri::PathAndQuery = hostile_path().parse().unwrap();
    for (hub, code) in [
        (t.connect("mbo-school").await, tonic::Code::PermissionDenied),
        (t.connect_with(None).await, tonic::Code::Unauthenticated),
    ] {
        let mut grpc = tonic::client::Grpc::new(hub.channel());
        grpc.ready().await.unwrap();
        let codec = tonic_prost::ProstCodec::<(), ()>::default();
        let status = grpc.unary(req(()), path.clone(), codec).await.unwrap_err();
        refused_without_echo(&status, code);
    }
    let mut school = clients(t, "mbo-school").await;
    for (header, value) in [
        ("x-schakel-user-id", format!("{GIVEN}-{BSN2}")),
        ("x-schakel-user-role", format!("role{BSN2}")),
    ] {
        let mut r = req(handover(BSN2, "", "hostile-metadata"));
        r.metadata_mut().insert(header, value.parse().unwrap());
        let status = school.transfer.submit(r).await.unwrap_err();
        refused_without_echo(&status, tonic::Code::InvalidArgument);
        assert!(
            violations(&status)
                .iter()
                .any(|(f, m)| *f == format!("metadata.{header}") && m.contains("BSN")),
            "{:?}",
            violations(&status)
        );
    }
    let status = school
        .transfer
        .submit(req(handover(BSN2, "", &format!("key-{BSN2}"))))
        .await
        .unwrap_err();
    refused_without_echo(&status, tonic::Code::InvalidArgument);
    assert!(
        has(&status, "idempotency_key", "format"),
        "{:?}",
        violations(&status)
    );
    let status = school
        .consent
        .record_consent(req(pb::RecordConsentRequest {
            idempotency_key: format!("consent-{BSN2}"),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    refused_without_echo(&status, tonic::Code::InvalidArgument);
    assert!(
        has(&status, "idempotency_key", "format"),
        "{:?}",
        violations(&status)
    );
}
