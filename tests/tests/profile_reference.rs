//! The profile format reference (`docs/profiles.md`) holds: its example,
//! `docs/examples/profile.toml`, loads and connects to a hub as written,
//! with only what is the reader's own replaced (the hub's address and
//! name, and its verifier key).

use schakel_e2e::flow::*;
use schakel_e2e::{Db, TestHub};
use schakel_proto::v1 as pb;
use schakel_proto::v1::consent_service_client::ConsentServiceClient;

const EXAMPLE: &str = include_str!("../../docs/examples/profile.toml");
const REFERENCE: &str = include_str!("../../docs/profiles.md");

#[tokio::test]
async fn the_documented_profile_connects_as_written() {
    let t = TestHub::start(Db::Sqlite).await.expect("hub");
    let addr = t.hub.as_ref().expect("running").addr();
    // The reference shows the example file itself.
    let shown: String = EXAMPLE
        .lines()
        .filter(|l| !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        REFERENCE.contains(&shown),
        "docs/profiles.md shows docs/examples/profile.toml"
    );

    // The school's files, under the names the example uses.
    let dir = tempfile::tempdir().expect("dir");
    let party = t.env.profile("mbo-school");
    for file in ["ca.pem", "cert.pem", "key.pem", "age-identity.txt"] {
        std::fs::copy(party.join(file), dir.path().join(file)).expect("copy");
    }
    let vkey = t.env.audit_verifier().expect("verifier").vkey();
    let text: String = EXAMPLE
        .lines()
        .map(|l| match l.split_once(" = ").map(|(k, _)| k) {
            Some("hub") => format!("hub = \"https://{addr}\""),
            Some("server_name") => "server_name = \"localhost\"".to_owned(),
            Some("audit_verifier_key") => format!("audit_verifier_key = \"{vkey}\""),
            _ => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(dir.path().join("profile.toml"), text).expect("write");

    let profile = schakel_client::Profile::load(dir.path()).expect("the example loads");
    assert_eq!(profile.user.user_id.as_deref(), Some("medewerker-42"));
    assert!(profile.audit_verifier.is_some());
    assert!(!profile.identities().expect("identities").is_empty());
    let hub = profile.connect().await.expect("connects");
    ConsentServiceClient::new(hub.channel())
        .list_consents(req(pb::ListConsentsRequest::default()))
        .await
        .expect("served");

    // An unknown key is refused with its name.
    let typo = std::fs::read_to_string(dir.path().join("profile.toml")).unwrap() + "\nusr_role = \"x\"\n";
    std::fs::write(dir.path().join("profile.toml"), typo).unwrap();
    let e = schakel_client::Profile::load(dir.path())
        .expect_err("refused")
        .to_string();
    assert!(e.contains("usr_role"), "{e}");
}
