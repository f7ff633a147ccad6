//! `schakel-hub --register-operator`: the first operator is written into a
//! new database with its audit entries; a certificate of another
//! organisation is refused; a second run changes nothing.

use std::process::Command;

use schakel_hub::dev::DevEnvironment;
use schakel_store::{Store, StoreOptions};

const OPERATOR_OIN: &str = "00000009999999990000";

fn register(cert: &std::path::Path, db: &str, oin: &str) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_schakel-hub"))
        .arg("--register-operator")
        .arg(cert)
        .args([
            "--database",
            db,
            "--operator-oin",
            oin,
            "--operator-name",
            "Regio Voorbeeld, beheer",
        ])
        .output()
        .expect("run schakel-hub");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test]
async fn the_operator_is_registered_once_with_its_audit_entries() {
    let dir = tempfile::tempdir().unwrap();
    let env = DevEnvironment::ensure(dir.path().join("dev")).unwrap();
    let cert = env.profile("admin").join("cert.pem");
    let db = format!("sqlite://{}", dir.path().join("hub.db").display());

    // The certificate names another organisation: refused, nothing written.
    let (code, out) = register(&cert, &db, "00000001999990014000");
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("serialNumber is 00000009999999990000, not 00000001999990014000"),
        "{out}"
    );
    assert!(!dir.path().join("hub.db").exists(), "no database was created");

    let (code, out) = register(&cert, &db, OPERATOR_OIN);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("registered operator 00000009999999990000"), "{out}");
    let (code, out) = register(&cert, &db, OPERATOR_OIN);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("already registered; nothing changed"), "{out}");

    let store = Store::connect(&StoreOptions::new(&db)).await.unwrap();
    let org = store
        .get_organisation(&OPERATOR_OIN.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(org.name, "Regio Voorbeeld, beheer");
    // Organisation, function, certificate: three admin changes, once.
    assert_eq!(store.audit_size().await.unwrap(), 3);
    store.close().await;
}
