//! One conformance suite for the store, run against every backend: SQLite
//! (a temporary file) and PostgreSQL (a throwaway cluster on 127.0.0.1).
//! With `CI=true` the PostgreSQL half runs or fails; it never skips.

use jiff::{Timestamp, ToSpan};
use schakel_domain::{FunctionKind, Oin, OrgKind};
use schakel_store::{
    CertificateBinding, NewOrganisation, OrgFilter, OrganisationUpdate, RecipientKey, Store, StoreError,
    StoreOptions,
};
use uuid::Uuid;

fn oin(n: u64) -> Oin {
    format!("{n:020}").parse().unwrap()
}

fn t0() -> Timestamp {
    "2026-03-01T09:00:00Z".parse().unwrap()
}

fn school(n: u64, brin: &str) -> NewOrganisation {
    NewOrganisation {
        oin: oin(n),
        kind: OrgKind::MboSchool,
        name: format!("ROC {n}"),
        brin: Some(brin.parse().unwrap()),
        gemeentecode: None,
        doorstroompunt_regio: Some("03".into()),
        arbeidsmarktregio: Some("AM01".into()),
    }
}

fn gemeente(n: u64, code: &str) -> NewOrganisation {
    NewOrganisation {
        oin: oin(n),
        kind: OrgKind::Gemeente,
        name: format!("Gemeente {n}"),
        brin: None,
        gemeentecode: Some(code.parse().unwrap()),
        doorstroompunt_regio: Some("03".into()),
        arbeidsmarktregio: Some("AM01".into()),
    }
}

async fn organisation_round_trip(s: Store) {
    s.insert_organisation(&gemeente(1, "GM0014"), t0()).await.unwrap();
    let got = s.get_organisation(&oin(1)).await.unwrap().unwrap();
    assert_eq!(got.kind, OrgKind::Gemeente);
    assert_eq!(got.gemeentecode.unwrap().as_str(), "GM0014");
    assert!(got.active);
    assert!(got.functions.is_empty());
    assert!(s.get_organisation(&oin(2)).await.unwrap().is_none());
}

async fn duplicate_keys_conflict(s: Store) {
    s.insert_organisation(&school(1, "01AB"), t0()).await.unwrap();
    let again = s.insert_organisation(&school(1, "02AB"), t0()).await.unwrap_err();
    assert!(matches!(again, StoreError::Conflict(_)), "{again:?}");
    let same_brin = s.insert_organisation(&school(2, "01AB"), t0()).await.unwrap_err();
    assert!(matches!(same_brin, StoreError::Conflict(_)), "{same_brin:?}");
}

async fn update_changes_only_given_fields(s: Store) {
    s.insert_organisation(&gemeente(1, "GM0014"), t0()).await.unwrap();
    let upd = OrganisationUpdate {
        name: Some("Gemeente Groningen".into()),
        active: Some(false),
        ..Default::default()
    };
    let got = s.update_organisation(&oin(1), upd, t0()).await.unwrap();
    assert_eq!(got.name, "Gemeente Groningen");
    assert!(!got.active);
    assert_eq!(got.gemeentecode.unwrap().as_str(), "GM0014");
    assert_eq!(got.arbeidsmarktregio.as_deref(), Some("AM01"));
    let missing = s
        .update_organisation(&oin(9), OrganisationUpdate::default(), t0())
        .await
        .unwrap_err();
    assert!(matches!(missing, StoreError::NotFound(_)));
}

async fn functions_need_their_organisation(s: Store) {
    let e = s
        .add_function(&oin(1), FunctionKind::Participatiewet, t0())
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::MissingReference(_)), "{e:?}");
    s.insert_organisation(&gemeente(1, "GM0014"), t0()).await.unwrap();
    s.add_function(&oin(1), FunctionKind::Participatiewet, t0())
        .await
        .unwrap();
    s.add_function(&oin(1), FunctionKind::Doorstroompunt, t0())
        .await
        .unwrap();
    let e = s
        .add_function(&oin(1), FunctionKind::Doorstroompunt, t0())
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)));
    let got = s.get_organisation(&oin(1)).await.unwrap().unwrap();
    assert_eq!(
        got.functions,
        vec![FunctionKind::Doorstroompunt, FunctionKind::Participatiewet]
    );
}

async fn lookup_by_codes(s: Store) {
    s.insert_organisation(&gemeente(1, "GM0014"), t0()).await.unwrap();
    s.insert_organisation(&school(2, "01AB"), t0()).await.unwrap();
    assert_eq!(s.oin_by_gemeentecode("GM0014").await.unwrap(), Some(oin(1)));
    assert_eq!(s.oin_by_brin("01AB").await.unwrap(), Some(oin(2)));
    assert_eq!(s.oin_by_brin("99ZZ").await.unwrap(), None);
}

async fn list_paginates_and_filters(s: Store) {
    for n in 1..=5 {
        s.insert_organisation(&school(n, &format!("0{n}AB")), t0())
            .await
            .unwrap();
    }
    s.insert_organisation(&gemeente(6, "GM0014"), t0()).await.unwrap();
    let page1 = s
        .list_organisations(&OrgFilter::default(), None, 4)
        .await
        .unwrap();
    assert_eq!(page1.len(), 4);
    let page2 = s
        .list_organisations(&OrgFilter::default(), Some(&page1[3].oin), 4)
        .await
        .unwrap();
    assert_eq!(
        page2.iter().map(|o| o.oin.clone()).collect::<Vec<_>>(),
        vec![oin(5), oin(6)]
    );
    let only_gm = OrgFilter {
        kind: Some(OrgKind::Gemeente),
        ..Default::default()
    };
    let gms = s.list_organisations(&only_gm, None, 100).await.unwrap();
    assert_eq!(gms.len(), 1);
    let other_region = OrgFilter {
        arbeidsmarktregio: Some("AM02".into()),
        ..Default::default()
    };
    assert!(
        s.list_organisations(&other_region, None, 100)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn recipients_register_and_revoke(s: Store) {
    s.insert_organisation(&gemeente(1, "GM0014"), t0()).await.unwrap();
    let key = RecipientKey {
        key_id: Uuid::now_v7(),
        oin: oin(1),
        function: FunctionKind::Participatiewet,
        age_recipient: "age1example".into(),
        valid_from: t0(),
        valid_until: Some(t0() + 24.hours()),
        revoked_at: None,
    };
    // A key needs its function registered first.
    let e = s.insert_recipient(&key, t0()).await.unwrap_err();
    assert!(matches!(e, StoreError::MissingReference(_)), "{e:?}");
    s.add_function(&oin(1), FunctionKind::Participatiewet, t0())
        .await
        .unwrap();
    s.insert_recipient(&key, t0()).await.unwrap();
    let dup = RecipientKey {
        key_id: Uuid::now_v7(),
        ..key.clone()
    };
    assert!(matches!(
        s.insert_recipient(&dup, t0()).await.unwrap_err(),
        StoreError::Conflict(_)
    ));

    let keys = s.recipients_of(&oin(1)).await.unwrap();
    assert_eq!(keys, vec![key.clone()]);
    assert!(keys[0].usable_at(t0() + 1.hour()));
    assert!(!keys[0].usable_at(t0() + 25.hours()));

    let revoked = s.revoke_recipient(key.key_id, t0() + 2.hours()).await.unwrap();
    assert_eq!(revoked.revoked_at, Some(t0() + 2.hours()));
    assert!(!revoked.usable_at(t0() + 3.hours()));
    // Revoking again keeps the first revocation time.
    let again = s.revoke_recipient(key.key_id, t0() + 5.hours()).await.unwrap();
    assert_eq!(again.revoked_at, Some(t0() + 2.hours()));
    assert!(matches!(
        s.revoke_recipient(Uuid::now_v7(), t0()).await.unwrap_err(),
        StoreError::NotFound(_)
    ));
}

async fn certificate_bindings(s: Store) {
    s.insert_organisation(&school(1, "01AB"), t0()).await.unwrap();
    let b = CertificateBinding {
        sha256: "ab".repeat(32),
        oin: oin(1),
        function: FunctionKind::School,
        not_after: t0() + 24.hours(),
    };
    assert!(matches!(
        s.bind_certificate(&b, t0()).await.unwrap_err(),
        StoreError::MissingReference(_)
    ));
    s.add_function(&oin(1), FunctionKind::School, t0()).await.unwrap();
    s.bind_certificate(&b, t0()).await.unwrap();
    assert!(matches!(
        s.bind_certificate(&b, t0()).await.unwrap_err(),
        StoreError::Conflict(_)
    ));
    assert_eq!(s.certificate_binding(&b.sha256).await.unwrap(), Some(b.clone()));
    assert!(s.unbind_certificate(&b.sha256).await.unwrap());
    assert!(!s.unbind_certificate(&b.sha256).await.unwrap());
    assert_eq!(s.certificate_binding(&b.sha256).await.unwrap(), None);
}

async fn ping_answers(s: Store) {
    s.ping().await.unwrap();
}

async fn sqlite_store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("schakel.db").display());
    (Store::connect(&StoreOptions::new(url)).await.unwrap(), dir)
}

async fn postgres_store() -> Option<Store> {
    let url = schakel_testkit::fresh_postgres_url()?;
    Some(Store::connect(&StoreOptions::new(url)).await.unwrap())
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let (store, _dir) = super::sqlite_store().await;
                    super::$name(store).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(store) = super::postgres_store().await else { return };
                    super::$name(store).await;
                }
            )*
        }
    };
}

conformance!(
    organisation_round_trip,
    duplicate_keys_conflict,
    update_changes_only_given_fields,
    functions_need_their_organisation,
    lookup_by_codes,
    list_paginates_and_filters,
    recipients_register_and_revoke,
    certificate_bindings,
    ping_answers,
);

#[tokio::test]
async fn unknown_url_scheme_is_a_config_error() {
    let e = Store::connect(&StoreOptions::new("mysql://x")).await.unwrap_err();
    assert!(matches!(e, StoreError::Config(_)));
}
