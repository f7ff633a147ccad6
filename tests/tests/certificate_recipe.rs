//! The certificate recipe in `docs/operations.md` ("What the hub needs of
//! certificates") runs as written with OpenSSL, and what it makes works: a
//! hub serves with its certificate, and a school's client certificate,
//! issued by an intermediate, is verified and its OIN read — with the
//! intermediate in the client's chain or only in `ca_bundle`, and with the
//! intermediate alone as the trust anchor (issue 22, item 5).

use std::path::Path;
use std::process::Command;

use schakel_e2e::flow::req;
use schakel_e2e::{Db, TestHub};
use schakel_hub::tls::SecretPem;
use schakel_proto::v1 as pb;
use schakel_proto::v1::consent_service_client::ConsentServiceClient;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

const GUIDE: &str = include_str!("../../docs/operations.md");
const MARKER: &str = "<!-- tested: certificate recipe -->\n```sh\n";

/// Runs the recipe from the guide in `dir`.
fn run_recipe(dir: &Path) {
    let start = GUIDE.find(MARKER).expect("the recipe in docs/operations.md") + MARKER.len();
    let script = &GUIDE[start..start + GUIDE[start..].find("```").expect("end of the recipe")];
    let out = Command::new("sh")
        .args(["-eu", "-c", script])
        .current_dir(dir)
        .output()
        .expect("sh and openssl");
    assert!(
        out.status.success(),
        "the recipe failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A hub with the recipe's certificate, trusting `bundle`; connects with
/// `cert` and the school's key, checks health and that the OIN was read.
async fn hub_accepts(dir: &Path, bundle: &str, cert: &str) {
    let read = |f: &str| std::fs::read(dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    let (ca_bundle, chain, key) = (read(bundle), read("hub.pem"), read("hub.key"));
    let t = TestHub::start_with(Db::Sqlite, move |c| {
        c.ca_bundle_pem = ca_bundle;
        c.cert_chain_pem = chain;
        c.key_pem = SecretPem::new(key);
    })
    .await
    .expect("hub");
    let addr = t.hub.as_ref().expect("running").addr();
    let profile = dir.join(format!("profile-{bundle}-{cert}"));
    std::fs::create_dir_all(&profile).unwrap();
    std::fs::write(
        profile.join("profile.toml"),
        format!(
            "hub = \"https://{addr}\"\nserver_name = \"schakel.gemeente.example\"\n\
             ca = \"../hub-ca.pem\"\ncert = \"../{cert}\"\nkey = \"../school.key\"\n"
        ),
    )
    .unwrap();
    let hub = schakel_client::Profile::load(&profile)
        .expect("profile")
        .connect()
        .await
        .expect("the hub's certificate is accepted");
    let status = HealthClient::new(hub.channel())
        .check(HealthCheckRequest::default())
        .await
        .unwrap_or_else(|e| panic!("{bundle}, {cert}: {e:?}"))
        .into_inner()
        .status;
    assert_eq!(status, ServingStatus::Serving as i32);
    // Verified, OIN read: the organisation is simply not registered here.
    let e = ConsentServiceClient::new(hub.channel())
        .list_consents(req(pb::ListConsentsRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated, "{e:?}");
    assert!(e.message().contains("not registered"), "{e:?}");
}

#[tokio::test]
async fn the_documented_certificate_recipe_makes_certificates_the_hub_accepts() {
    let dir = tempfile::tempdir().expect("dir");
    run_recipe(dir.path());
    let read = |f: &str| std::fs::read(dir.path().join(f)).unwrap();
    assert_eq!(
        schakel_hub::tls::server_identity_problems(
            &read("hub.pem"),
            &read("hub.key"),
            &read("ca-bundle.pem")
        ),
        Vec::<String>::new(),
        "--check-config finds nothing wrong"
    );
    hub_accepts(dir.path(), "ca-bundle.pem", "school.pem").await;
    hub_accepts(dir.path(), "ca-bundle.pem", "school-leaf.pem").await;
    hub_accepts(dir.path(), "intermediate.pem", "school-leaf.pem").await;
}
