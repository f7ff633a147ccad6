//! A database written by an earlier hub opens with this one: migration 0008
//! rebuilds SQLite's `organisations` table (a CHECK constraint cannot be
//! changed in place) outside sqlx's transaction. These tests start from a
//! file migrated only as far as 0007, with a directory in it, and check that
//! nothing is lost, every reference still holds and is still enforced, and
//! that running 0008 again — what a crash between its commit and sqlx's
//! bookkeeping leads to — is harmless.

use std::path::Path;
use std::str::FromStr;

use schakel_domain::{FunctionKind, OrgKind};
use schakel_store::{Store, StoreOptions};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};
use sqlx::{AssertSqlSafe, Row};

const GEMEENTE: &str = "00000001000000000363";

/// The migrations before mandates, copied to `to`.
fn migrations_before_0008(to: &Path) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    for entry in std::fs::read_dir(&from).expect("migrations") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("name")
            .to_owned();
        if name.as_str() < "0008" {
            std::fs::copy(&path, to.join(&name)).expect("copy");
        }
    }
}

async fn pool(url: &str) -> SqlitePool {
    let opts = SqliteConnectOptions::from_str(url)
        .expect("url")
        .create_if_missing(true)
        .foreign_keys(true);
    SqlitePool::connect_with(opts).await.expect("connect")
}

/// A file as a hub of migration 0007 left it, with one gemeente, its
/// function, key and certificate binding.
async fn old_database(dir: &Path) -> String {
    let old = dir.join("migrations-0007");
    std::fs::create_dir(&old).expect("dir");
    migrations_before_0008(&old);
    let url = format!("sqlite://{}", dir.join("schakel.db").display());
    let p = pool(&url).await;
    Migrator::new(old.as_path())
        .await
        .expect("migrator")
        .run(&p)
        .await
        .expect("0001-0007");
    sqlx::raw_sql(AssertSqlSafe(format!(
        "INSERT INTO organisations (oin, kind, name, gemeentecode, doorstroompunt_regio, arbeidsmarktregio, \
             created_at, updated_at) VALUES ('{GEMEENTE}', 'gemeente', 'Gemeente 363', 'GM0363', '13', 'AM21', 1, 1);
         INSERT INTO functions (oin, function, created_at) VALUES ('{GEMEENTE}', 'participatiewet', 1);
         INSERT INTO recipient_keys (key_id, oin, function, age_recipient, valid_from, created_at)
             VALUES ('0190e0b4-0000-7000-8000-000000000001', '{GEMEENTE}', 'participatiewet', 'age1test', 1, 1);
         INSERT INTO certificate_bindings (sha256, oin, function, not_after, created_at)
             VALUES ('{}', '{GEMEENTE}', 'participatiewet', 9999999999999, 1);",
        "ab".repeat(32)
    )))
    .execute(&p)
    .await
    .expect("directory");
    p.close().await;
    url
}

async fn count(p: &SqlitePool, sql: &str) -> i64 {
    sqlx::query(AssertSqlSafe(sql))
        .fetch_all(p)
        .await
        .expect(sql)
        .len()
        .try_into()
        .expect("count")
}

#[tokio::test]
async fn an_older_database_keeps_its_directory_and_references() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = old_database(dir.path()).await;

    // Today's hub opens it and migrates it.
    let store = Store::connect(&StoreOptions::new(url.clone()))
        .await
        .expect("upgrade");
    let org = store
        .get_organisation(&GEMEENTE.parse().expect("oin"))
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(org.kind, OrgKind::Gemeente);
    assert_eq!(org.gemeentecode.map(|c| c.to_string()).as_deref(), Some("GM0363"));
    assert_eq!(org.functions, vec![FunctionKind::Participatiewet]);
    store.close().await;

    let p = pool(&url).await;
    // Nothing points nowhere, and the file is sound.
    assert_eq!(count(&p, "PRAGMA foreign_key_check").await, 0);
    let ok: String = sqlx::query("PRAGMA integrity_check")
        .fetch_one(&p)
        .await
        .expect("integrity")
        .get(0);
    assert_eq!(ok, "ok");
    // The rebuilt table still checks its kind, now with the new one.
    sqlx::raw_sql(
        "INSERT INTO organisations (oin, kind, name, created_at, updated_at)
             VALUES ('00000003000000000777', 'uitvoeringsorganisatie', 'Werkbedrijf', 1, 1)",
    )
    .execute(&p)
    .await
    .expect("the new kind");
    let bogus = sqlx::raw_sql(
        "INSERT INTO organisations (oin, kind, name, created_at, updated_at)
             VALUES ('00000003000000000778', 'werkbedrijf', 'Bogus', 1, 1)",
    )
    .execute(&p)
    .await;
    assert!(bogus.is_err(), "an unknown kind passed the CHECK");
    // And the other tables still refer to it, enforced.
    let orphan = sqlx::raw_sql(
        "INSERT INTO functions (oin, function, created_at) VALUES ('00000003000000000999', 'participatiewet', 1)",
    )
    .execute(&p)
    .await;
    assert!(orphan.is_err(), "a function of no organisation was stored");
    let functions_sql: String = sqlx::query("SELECT sql FROM sqlite_master WHERE name = 'functions'")
        .fetch_one(&p)
        .await
        .expect("schema")
        .get(0);
    assert!(
        functions_sql.contains("REFERENCES organisations"),
        "{functions_sql}"
    );
    assert_eq!(
        count(&p, "SELECT name FROM sqlite_master WHERE name LIKE '%_rebuilt'").await,
        0
    );
    // `functions` was rebuilt too: the new function is allowed, the tables
    // that refer to it still do, enforced.
    sqlx::raw_sql(AssertSqlSafe(format!(
        "INSERT INTO functions (oin, function, created_at) VALUES ('{GEMEENTE}', 'regional_partner', 1)"
    )))
    .execute(&p)
    .await
    .expect("the new function");
    let orphan_key = sqlx::raw_sql(AssertSqlSafe(format!(
        "INSERT INTO recipient_keys (key_id, oin, function, age_recipient, valid_from, created_at)
             VALUES ('0190e0b4-0000-7000-8000-000000000002', '{GEMEENTE}', 'doorstroompunt', 'age1x', 1, 1)"
    )))
    .execute(&p)
    .await;
    assert!(
        orphan_key.is_err(),
        "a key of a function the organisation does not hold was stored"
    );

    // A crash after 0008 committed but before sqlx recorded it runs it again.
    let again = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite/0008_mandates.sql"),
    )
    .expect("0008");
    let mut conn = p.acquire().await.expect("conn");
    sqlx::raw_sql(AssertSqlSafe(again))
        .execute(&mut *conn)
        .await
        .expect("0008 again");
    drop(conn);
    assert_eq!(count(&p, "SELECT oin FROM organisations").await, 2);
    assert_eq!(count(&p, "SELECT oin FROM functions").await, 2);
    assert_eq!(count(&p, "SELECT key_id FROM recipient_keys").await, 1);
    assert_eq!(count(&p, "PRAGMA foreign_key_check").await, 0);
    p.close().await;
    // And the hub still opens it.
    let store = Store::connect(&StoreOptions::new(url)).await.expect("reopen");
    store.close().await;
}
