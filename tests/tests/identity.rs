//! Issue 2, end to end: real hubs over real mutual TLS, on SQLite and
//! PostgreSQL. Who the caller is comes only from a certificate that chains to
//! the hub's CA bundle, carries a registered OIN, and is bound to a function;
//! each service admits only the functions allowed to use it.

use jiff::SignedDuration;
use schakel_e2e::{TestHub, on_both_backends};
use schakel_hub::dev::DEMO_ORGS;
use schakel_hub::pki::{DevCa, Validity};
use schakel_proto::v1 as pb;
use tonic::Code;
use tonic_types::StatusExt;

const MBO_OIN: &str = "00000003999990001000";

fn ago(days: i64) -> jiff::Timestamp {
    jiff::Timestamp::now() - SignedDuration::from_hours(24 * days)
}

async fn whoami(hub: &schakel_client::Hub) -> Result<pb::WhoAmIResponse, tonic::Status> {
    hub.directory()
        .who_am_i(pb::WhoAmIRequest {})
        .await
        .map(|r| r.into_inner())
}

async fn whoami_answers_with_the_schools_oin_and_functions(t: TestHub) {
    let r = whoami(&t.connect("mbo-school").await).await.unwrap();
    let org = r.organisation.unwrap();
    assert_eq!(org.oin, MBO_OIN);
    assert_eq!(org.kind, pb::OrgKind::MboSchool as i32);
    assert_eq!(org.brin, "99XA");
    assert_eq!(org.arbeidsmarktregio, "AM01");
    assert_eq!(org.doorstroompunt_regio_naam, "Centraal en Westelijk Groningen");
    assert_eq!(r.function, pb::FunctionKind::School as i32);
    let functions: Vec<i32> = org.functions.iter().map(|f| f.kind).collect();
    assert!(functions.contains(&(pb::FunctionKind::School as i32)));
    assert!(functions.contains(&(pb::FunctionKind::PrivacyOfficer as i32)));
    let school = org
        .functions
        .iter()
        .find(|f| f.kind == pb::FunctionKind::School as i32)
        .unwrap();
    assert_eq!(
        school.recipients.len(),
        1,
        "the school function has its age recipient"
    );
    assert!(school.recipients[0].age_recipient.starts_with("age1"));

    // The gemeente's two functions are separate parties (R9).
    let g = whoami(&t.connect("gemeente-participatiewet").await)
        .await
        .unwrap();
    assert_eq!(g.function, pb::FunctionKind::Participatiewet as i32);
    let d = whoami(&t.connect("gemeente-doorstroompunt").await).await.unwrap();
    assert_eq!(d.function, pb::FunctionKind::Doorstroompunt as i32);
    assert_ne!(g.certificate_sha256, d.certificate_sha256);
}

async fn no_client_certificate_is_unauthenticated(t: TestHub) {
    let e = whoami(&t.connect_with(None).await).await.unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated, "{e:?}");
    assert!(e.message().contains("certificate is required"));
}

async fn certificate_from_another_ca_is_unauthenticated(t: TestHub) {
    let other = DevCa::generate("someone else's CA").unwrap();
    let cert = other
        .issue_client(&MBO_OIN.parse().unwrap(), "ROC", "x", Validity::days_from_now(30))
        .unwrap();
    let e = whoami(&t.connect_with(Some(&cert)).await).await.unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated, "{e:?}");
    assert!(
        e.message().contains("not issued by a trusted CA"),
        "{}",
        e.message()
    );
}

async fn expired_certificate_is_unauthenticated(t: TestHub) {
    let cert = t.issue(
        MBO_OIN,
        Validity {
            not_before: ago(60),
            not_after: ago(1),
        },
    );
    let e = whoami(&t.connect_with(Some(&cert)).await).await.unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated, "{e:?}");
    assert!(e.message().contains("expired"), "{}", e.message());
}

async fn not_yet_valid_certificate_is_unauthenticated(t: TestHub) {
    let cert = t.issue(
        MBO_OIN,
        Validity {
            not_before: ago(-2),
            not_after: ago(-30),
        },
    );
    let e = whoami(&t.connect_with(Some(&cert)).await).await.unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated, "{e:?}");
    assert!(e.message().contains("not yet valid"), "{}", e.message());
}

async fn unknown_oin_is_unauthenticated(t: TestHub) {
    let cert = t.issue("00000003123456789000", Validity::days_from_now(30));
    let e = whoami(&t.connect_with(Some(&cert)).await).await.unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated, "{e:?}");
    assert!(e.message().contains("not registered"), "{}", e.message());
}

async fn certificate_without_binding_is_permission_denied(t: TestHub) {
    // A valid certificate of a registered organisation that the operator has
    // not bound to a function: the hub cannot know which function it acts as.
    let cert = t.issue(MBO_OIN, Validity::days_from_now(30));
    let e = whoami(&t.connect_with(Some(&cert)).await).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
}

async fn school_calling_the_inbox_is_permission_denied(t: TestHub) {
    let hub = t.connect("mbo-school").await;
    let mut inbox = schakel_proto::v1::inbox_service_client::InboxServiceClient::new(hub.channel());
    let e = inbox
        .list_inbox(pb::ListInboxRequest::default())
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
    assert!(
        e.message()
            .contains("school may not call schakel.v1.InboxService"),
        "{}",
        e.message()
    );
}

async fn only_the_admin_identity_calls_admin_and_refusals_change_nothing(t: TestHub) {
    let req = pb::RegisterOrganisationRequest {
        oin: "00000003777770001000".into(),
        kind: pb::OrgKind::VsoSchool as i32,
        name: "VSO De Brug".into(),
        brin: "77AB".into(),
        ..Default::default()
    };
    for party in [
        "mbo-school",
        "gemeente-participatiewet",
        "gemeente-privacy-officer",
    ] {
        let e = t
            .connect(party)
            .await
            .admin()
            .register_organisation(req.clone())
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "{party}: {e:?}");
    }
    let admin = t.connect("admin").await;
    let lookup = pb::GetOrganisationRequest {
        key: Some(pb::get_organisation_request::Key::Oin(req.oin.clone())),
    };
    let e = admin.directory().get_organisation(lookup).await.unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "a refused call registered nothing");
}

async fn admin_registers_an_organisation_that_can_then_call(t: TestHub) {
    let admin = t.connect("admin").await;
    let oin = "00000003777770001000";
    let org = admin
        .admin()
        .register_organisation(pb::RegisterOrganisationRequest {
            oin: oin.into(),
            kind: pb::OrgKind::VsoSchool as i32,
            name: "VSO De Brug".into(),
            brin: "77AB".into(),
            doorstroompunt_regio: "03".into(),
            arbeidsmarktregio: "AM01".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .organisation
        .unwrap();
    assert_eq!(org.arbeidsmarktregio_naam, "Groningen");
    admin
        .admin()
        .add_function(pb::AddFunctionRequest {
            oin: oin.into(),
            function: pb::FunctionKind::School as i32,
        })
        .await
        .unwrap();
    // R9: a school cannot hold the Participatiewet function.
    let e = admin
        .admin()
        .add_function(pb::AddFunctionRequest {
            oin: oin.into(),
            function: pb::FunctionKind::Participatiewet as i32,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let bad = e.get_details_bad_request().unwrap();
    assert_eq!(bad.field_violations[0].field, "function");
    assert!(bad.field_violations[0].description.starts_with("R9:"));

    let recipient = std::fs::read_to_string(t.env.profile("mbo-school").join("age-recipient.txt")).unwrap();
    let key = admin
        .admin()
        .register_recipient(pb::RegisterRecipientRequest {
            oin: oin.into(),
            function: pb::FunctionKind::School as i32,
            age_recipient: recipient.trim().into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .recipient
        .unwrap();
    assert!(!key.revoked);

    let cert = t.issue(oin, Validity::days_from_now(30));
    let bound = admin
        .admin()
        .bind_certificate(pb::BindCertificateRequest {
            oin: oin.into(),
            function: pb::FunctionKind::School as i32,
            certificate_pem: cert.cert_pem.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let me = whoami(&t.connect_with(Some(&cert)).await).await.unwrap();
    assert_eq!(me.organisation.unwrap().oin, oin);
    assert_eq!(me.certificate_sha256, bound.certificate_sha256);

    // A certificate of another organisation cannot be bound to this one.
    let foreign = t.issue(MBO_OIN, Validity::days_from_now(30));
    let e = admin
        .admin()
        .bind_certificate(pb::BindCertificateRequest {
            oin: oin.into(),
            function: pb::FunctionKind::School as i32,
            certificate_pem: foreign.cert_pem,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);

    // Deactivated: every call of the organisation is refused.
    admin
        .admin()
        .update_organisation(pb::UpdateOrganisationRequest {
            oin: oin.into(),
            active: Some(false),
            ..Default::default()
        })
        .await
        .unwrap();
    let e = whoami(&t.connect_with(Some(&cert)).await).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");

    // Revoked keys stay listed, marked revoked.
    let revoked = admin
        .admin()
        .revoke_recipient(pb::RevokeRecipientRequest { key_id: key.key_id })
        .await
        .unwrap()
        .into_inner()
        .recipient
        .unwrap();
    assert!(revoked.revoked);

    // Unbinding the certificate takes its function away.
    admin
        .admin()
        .update_organisation(pb::UpdateOrganisationRequest {
            oin: oin.into(),
            active: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    admin
        .admin()
        .unbind_certificate(pb::UnbindCertificateRequest {
            certificate_sha256: bound.certificate_sha256,
        })
        .await
        .unwrap();
    let e = whoami(&t.connect_with(Some(&cert)).await).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
}

async fn a_refused_registration_names_every_problem(t: TestHub) {
    let admin = t.connect("admin").await;
    let e = admin
        .admin()
        .register_organisation(pb::RegisterOrganisationRequest {
            oin: "123".into(),
            kind: pb::OrgKind::Gemeente as i32,
            name: " ".into(),
            brin: "01AB".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let fields: Vec<String> = e
        .get_details_bad_request()
        .unwrap()
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect();
    assert_eq!(fields, ["oin", "name", "gemeentecode", "brin"]);
    // A gemeente's regions are derived from the region table.
    let g = admin
        .admin()
        .register_organisation(pb::RegisterOrganisationRequest {
            oin: "00000001777770363000".into(),
            kind: pb::OrgKind::Gemeente as i32,
            name: "Gemeente Amsterdam".into(),
            gemeentecode: "GM0363".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .organisation
        .unwrap();
    assert_eq!(
        (g.arbeidsmarktregio.as_str(), g.doorstroompunt_regio.as_str()),
        ("AM18", "21")
    );
    let dup = admin
        .admin()
        .register_organisation(pb::RegisterOrganisationRequest {
            oin: "00000001777770364000".into(),
            kind: pb::OrgKind::Gemeente as i32,
            name: "Dubbel".into(),
            gemeentecode: "GM0363".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(dup.code(), Code::AlreadyExists);
}

async fn directory_lists_and_looks_up(t: TestHub) {
    let hub = t.connect("gemeente-participatiewet").await;
    let mut dir = hub.directory();
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let r = dir
            .list_organisations(pb::ListOrganisationsRequest {
                page_size: 2,
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(r.organisations.len() <= 2);
        seen.extend(r.organisations.into_iter().map(|o| o.oin));
        if r.next_page_token.is_empty() {
            break;
        }
        token = r.next_page_token;
    }
    let mut expected: Vec<String> = DEMO_ORGS.iter().map(|o| o.oin.to_owned()).collect();
    expected.sort();
    assert_eq!(seen, expected);
    let by_code = dir
        .get_organisation(pb::GetOrganisationRequest {
            key: Some(pb::get_organisation_request::Key::Gemeentecode("GM0014".into())),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_code.organisation.unwrap().name, "Gemeente Groningen (demo)");
    let region = dir
        .get_region(pb::GetRegionRequest {
            gemeentecode: "GM0034".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(region.arbeidsmarktregio, "AM11");
    let e = dir
        .get_region(pb::GetRegionRequest {
            gemeentecode: "363".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
}

async fn health_is_served_to_any_verified_certificate(t: TestHub) {
    use tonic_health::pb::health_client::HealthClient;
    let cert = t.issue("00000003123456789000", Validity::days_from_now(30));
    let hub = t.connect_with(Some(&cert)).await;
    let r = HealthClient::new(hub.channel())
        .check(tonic_health::pb::HealthCheckRequest {
            service: "schakel.v1.DirectoryService".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        r.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
    // Every service has its real state, the server as a whole too (issue
    // 21, item 2); a name the hub does not serve is NOT_FOUND.
    let mut health = HealthClient::new(hub.channel());
    for service in std::iter::once("").chain(schakel_proto::SERVICE_NAMES) {
        let r = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap_or_else(|e| panic!("{service:?}: {e:?}"))
            .into_inner();
        assert_eq!(
            r.status,
            tonic_health::pb::health_check_response::ServingStatus::Serving as i32,
            "{service:?}"
        );
    }
    let e = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "schakel.v1.NoSuchService".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    // Reflection in both versions: grpcio-reflection speaks v1alpha.
    {
        use tonic_reflection::pb::v1alpha::ServerReflectionRequest;
        use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;
        let ask = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut answers = ServerReflectionClient::new(hub.channel())
            .server_reflection_info(tokio_stream::iter([ask]))
            .await
            .expect("v1alpha reflection")
            .into_inner();
        let answer = answers.message().await.expect("answer").expect("one answer");
        let Some(MessageResponse::ListServicesResponse(list)) = answer.message_response else {
            panic!("not a service list: {answer:?}");
        };
        let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
        for service in schakel_proto::SERVICE_NAMES {
            assert!(names.iter().any(|n| n == service), "{service} in {names:?}");
        }
    }
    let e = HealthClient::new(t.connect_with(None).await.channel())
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);
}

async fn a_bound_certificate_without_its_private_key_is_refused(t: TestHub) {
    // The handshake must prove possession of the certificate's key: a copy
    // of someone's (public) certificate is worth nothing.
    let real = t.issue(MBO_OIN, Validity::days_from_now(30));
    let admin = t.connect("admin").await;
    admin
        .admin()
        .bind_certificate(pb::BindCertificateRequest {
            oin: MBO_OIN.into(),
            function: pb::FunctionKind::School as i32,
            certificate_pem: real.cert_pem.clone(),
        })
        .await
        .unwrap();
    assert!(whoami(&t.connect_with(Some(&real)).await).await.is_ok());
    let other_key = t.issue(MBO_OIN, Validity::days_from_now(30)).key_pem;
    // rustls' own client refuses a key that does not match its certificate,
    // so present the pair through a resolver that skips that check: only the
    // hub's handshake check can refuse it now.
    let answer = raw_h2_exchange(&t, &real.cert_pem, &other_key).await;
    assert!(
        answer.is_err(),
        "the hub answered a client that cannot prove possession: {answer:?}"
    );
    // Control: the same exchange with the right key gets an HTTP/2 answer.
    let control = raw_h2_exchange(&t, &real.cert_pem, &real.key_pem).await;
    assert!(control.is_ok_and(|n| n > 0), "control exchange failed");
}

#[derive(Debug)]
struct FixedClientCert(std::sync::Arc<rustls::sign::CertifiedKey>);

impl rustls::client::ResolvesClientCert for FixedClientCert {
    fn resolve(
        &self,
        _: &[&[u8]],
        _: &[rustls::SignatureScheme],
    ) -> Option<std::sync::Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }
    fn has_certs(&self) -> bool {
        true
    }
}

/// Handshakes with the hub presenting `cert_pem` and signing with `key_pem`,
/// sends the HTTP/2 preface and returns how many bytes the hub answered.
async fn raw_h2_exchange(t: &TestHub, cert_pem: &str, key_pem: &str) -> std::io::Result<usize> {
    use rustls_pki_types::pem::PemObject;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let cert = rustls_pki_types::CertificateDer::from_pem_slice(cert_pem.as_bytes()).unwrap();
    let key = rustls_pki_types::PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).unwrap();
    let signing = provider.key_provider.load_private_key(key).unwrap();
    let certified = rustls::sign::CertifiedKey::new(vec![cert], signing);
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls_pki_types::CertificateDer::from_pem_slice(t.ca_pem().as_bytes()).unwrap())
        .unwrap();
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_cert_resolver(std::sync::Arc::new(FixedClientCert(std::sync::Arc::new(
            certified,
        ))));
    cfg.alpn_protocols = vec![b"h2".to_vec()];
    let addr = t.url().trim_start_matches("https://").to_owned();
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(cfg))
        .connect(name, tcp)
        .await?;
    tls.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await?;
    tls.flush().await?;
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(std::time::Duration::from_secs(5), tls.read(&mut buf))
        .await
        .map_err(|_| std::io::Error::other("no answer"))??;
    if n == 0 {
        Err(std::io::Error::other("closed"))
    } else {
        Ok(n)
    }
}

async fn admin_changes_and_refusals_are_audited(t: TestHub) {
    use schakel_audit::{Action, Checkpoint, Entry, Outcome, Signer, VerifyConfig, verify_log};
    let store = t.hub.as_ref().unwrap().store().clone();
    let before = store.audit_size().await.unwrap();
    assert!(before > 0, "the development set-up is audited too");

    let admin = t.connect("admin").await;
    let mut req = tonic::Request::new(pb::RegisterOrganisationRequest {
        oin: "00000003777770001000".into(),
        kind: pb::OrgKind::VsoSchool as i32,
        name: "VSO De Brug".into(),
        brin: "77AB".into(),
        ..Default::default()
    });
    req.metadata_mut()
        .insert("x-schakel-user-id", "beheerder-7".parse().unwrap());
    req.metadata_mut()
        .insert("x-schakel-user-role", "functioneel_beheerder".parse().unwrap());
    req.metadata_mut().insert(
        "traceparent",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
            .parse()
            .unwrap(),
    );
    admin.admin().register_organisation(req).await.unwrap();
    // A refused registration (validation) changes nothing and writes nothing.
    let e = admin
        .admin()
        .register_organisation(pb::RegisterOrganisationRequest::default())
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    // Metadata that cannot go into the log is refused before anything happens.
    let mut bad = tonic::Request::new(pb::WhoAmIRequest {});
    bad.metadata_mut()
        .insert("x-schakel-user-role", "two words".parse().unwrap());
    assert_eq!(
        admin.directory().who_am_i(bad).await.unwrap_err().code(),
        Code::InvalidArgument
    );
    // An identified organisation calling what it may not: audited each time.
    let school = t.connect("mbo-school").await;
    let e = school
        .admin()
        .register_organisation(pb::RegisterOrganisationRequest::default())
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    // An unidentified peer: audited once per connection, however often it calls.
    let anonymous = t.connect_with(None).await;
    for _ in 0..3 {
        assert_eq!(
            whoami(&anonymous).await.unwrap_err().code(),
            Code::Unauthenticated
        );
    }

    let size = store.audit_size().await.unwrap();
    assert_eq!(size, before + 3);
    let stored = store.audit_range(0, size).await.unwrap();
    let new: Vec<Entry> = stored[before as usize..]
        .iter()
        .map(|e| Entry::decode(&e.bytes).unwrap())
        .collect();
    assert_eq!(new[0].action, Action::AdminChange);
    assert_eq!(new[0].actor.oin.as_deref(), Some(DEMO_ORGS[0].oin));
    assert_eq!(new[0].actor.function.as_deref(), Some("admin"));
    assert_eq!(new[0].actor.user_id.as_deref(), Some("beheerder-7"));
    assert_eq!(new[0].actor.user_role.as_deref(), Some("functioneel_beheerder"));
    assert_eq!(new[0].parties, vec!["00000003777770001000".to_owned()]);
    assert_eq!(
        new[0].trace.trace_id.to_string(),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    assert_eq!(new[1].action, Action::AuthorisationFailed);
    assert_eq!(new[1].actor.oin.as_deref(), Some(MBO_OIN));
    assert_eq!(
        new[1].outcome,
        Outcome::Error {
            code: "permission_denied".into()
        }
    );
    assert_eq!(new[2].action, Action::AuthenticationFailed);
    assert_eq!(new[2].actor.oin, None);

    // The whole log verifies against a checkpoint over it.
    let leaves: Vec<_> = stored.iter().map(schakel_store::recompute_leaf).collect();
    let cp = Checkpoint::new("schakel.test/log", size, schakel_audit::root(&leaves));
    let signer = Signer::from_seed("schakel.test/log", &[3; 32]).unwrap();
    let cp = Checkpoint::open(&signer.sign(&cp).unwrap(), &signer.verifier()).unwrap();
    let report = verify_log(stored.iter().map(|e| &e.bytes), &cp, &[], VerifyConfig::default()).unwrap();
    assert_eq!(report.proven_size, size);
}

on_both_backends!(
    admin_changes_and_refusals_are_audited,
    a_bound_certificate_without_its_private_key_is_refused,
    whoami_answers_with_the_schools_oin_and_functions,
    no_client_certificate_is_unauthenticated,
    certificate_from_another_ca_is_unauthenticated,
    expired_certificate_is_unauthenticated,
    not_yet_valid_certificate_is_unauthenticated,
    unknown_oin_is_unauthenticated,
    certificate_without_binding_is_permission_denied,
    school_calling_the_inbox_is_permission_denied,
    only_the_admin_identity_calls_admin_and_refusals_change_nothing,
    admin_registers_an_organisation_that_can_then_call,
    a_refused_registration_names_every_problem,
    directory_lists_and_looks_up,
    health_is_served_to_any_verified_certificate,
);
