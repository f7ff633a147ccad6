//! Registering the hub operator's own organisation, its `admin` function
//! and the operator's certificate in a new database (`schakel-hub
//! --register-operator`): every `schakel admin` call needs an operator
//! certificate that is already bound, so the first one is written directly,
//! with the same audit entries the development set-up writes. Run it as the
//! schema owner (it migrates). It refuses a certificate whose subject
//! serialNumber is not the given OIN; it does not check the chain, which the
//! hub does on every connection. When the organisation exists it changes
//! nothing.

use jiff::Timestamp;
use schakel_audit::{Action, Outcome};
use schakel_domain::{FunctionKind, Oin, OrgKind};
use schakel_store::{CertificateBinding, NewOrganisation, Store, StoreOptions};

use crate::caller::RequestContext;
use crate::certinfo::{CertFacts, cert_facts};

/// Registers the operator in the database at `database_url` (migrating it
/// first) and says what it did; the error is a readable message.
pub async fn register_operator(
    database_url: &str,
    oin: &str,
    name: &str,
    cert_pem: &[u8],
) -> Result<String, String> {
    let oin: Oin = oin.parse().map_err(|e| format!("--operator-oin: {e}"))?;
    if name.trim().is_empty() {
        return Err("--operator-name: must not be empty".into());
    }
    let der = crate::tls::certs_from_pem("operator certificate", cert_pem).map_err(|e| e.to_string())?;
    let first = der
        .first()
        .ok_or("operator certificate: no certificate in the file")?;
    let facts = cert_facts(first).map_err(|e| format!("operator certificate: {e}"))?;
    if facts.oin != oin {
        return Err(format!(
            "operator certificate: its serialNumber is {}, not {}",
            facts.oin.as_str(),
            oin.as_str()
        ));
    }
    let store = Store::connect(&StoreOptions::new(database_url))
        .await
        .map_err(|e| format!("database: {e}"))?;
    let result = register(&store, &oin, name, facts).await;
    store.close().await;
    result
}

async fn register(store: &Store, oin: &Oin, name: &str, facts: CertFacts) -> Result<String, String> {
    let db = |e: schakel_store::StoreError| format!("database: {e}");
    if store.get_organisation(oin).await.map_err(db)?.is_some() {
        return Ok(format!(
            "operator {} is already registered; nothing changed",
            oin.as_str()
        ));
    }
    let now = Timestamp::now();
    let ctx = RequestContext::internal("schakel-hub-register-operator").map_err(|e| e.header.to_owned())?;
    let audit = || {
        ctx.entry(
            None,
            Some(oin.as_str()),
            Action::AdminChange,
            Outcome::Success,
            &[oin.as_str()],
        )
    };
    store
        .insert_organisation(
            &NewOrganisation {
                oin: oin.clone(),
                kind: OrgKind::Admin,
                name: name.to_owned(),
                brin: None,
                gemeentecode: None,
                doorstroompunt_regio: None,
                arbeidsmarktregio: None,
            },
            now,
            audit(),
        )
        .await
        .map_err(db)?;
    store
        .add_function(oin, FunctionKind::Admin, now, audit())
        .await
        .map_err(db)?;
    let sha256 = facts.sha256.clone();
    store
        .bind_certificate(
            &CertificateBinding {
                sha256: facts.sha256,
                oin: oin.clone(),
                function: FunctionKind::Admin,
                not_after: facts.not_after,
            },
            now,
            audit(),
        )
        .await
        .map_err(db)?;
    Ok(format!(
        "registered operator {} with function admin and certificate {sha256}",
        oin.as_str()
    ))
}
