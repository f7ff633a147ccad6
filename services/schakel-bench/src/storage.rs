//! The storage baseline: single-row commits of the same ciphertext bytes as
//! a submit stores, with the hub's durability settings (SQLite WAL with
//! `synchronous=FULL`; PostgreSQL with its default `synchronous_commit=on`)
//! and the hub's pool size.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

use crate::stats::{Measured, drive};

/// A raw table on one backend.
#[derive(Clone)]
pub enum RawDb {
    /// SQLite file.
    Sqlite(SqlitePool),
    /// PostgreSQL database.
    Postgres(PgPool),
}

const CREATE: &str = "CREATE TABLE IF NOT EXISTS raw_blob (k TEXT PRIMARY KEY, data BLOB NOT NULL)";
const CREATE_PG: &str = "CREATE TABLE IF NOT EXISTS raw_blob (k TEXT PRIMARY KEY, data BYTEA NOT NULL)";
const INSERT: &str = "INSERT INTO raw_blob (k, data) VALUES ($1, $2)";

impl RawDb {
    /// Opens (and creates) a SQLite file with the hub's settings.
    pub async fn sqlite(path: &std::path::Path, connections: u32) -> anyhow::Result<Self> {
        let opts = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(connections)
            .connect_with(opts)
            .await?;
        sqlx::query(CREATE).execute(&pool).await?;
        Ok(Self::Sqlite(pool))
    }

    /// Connects to a PostgreSQL database.
    pub async fn postgres(url: &str, connections: u32) -> anyhow::Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(connections)
            .connect(url)
            .await?;
        sqlx::query(CREATE_PG).execute(&pool).await?;
        Ok(Self::Postgres(pool))
    }

    /// One durable single-row commit (autocommit INSERT).
    pub async fn insert(&self, key: String, data: &[u8]) -> anyhow::Result<()> {
        match self {
            Self::Sqlite(p) => {
                // BEGIN IMMEDIATE, as the hub's write transactions do.
                let mut tx = p.begin_with("BEGIN IMMEDIATE").await?;
                sqlx::query(INSERT).bind(key).bind(data).execute(&mut *tx).await?;
                tx.commit().await?;
            }
            Self::Postgres(p) => {
                sqlx::query(INSERT).bind(key).bind(data).execute(p).await?;
            }
        }
        Ok(())
    }

    /// Closes the pool.
    pub async fn close(&self) {
        match self {
            Self::Sqlite(p) => p.close().await,
            Self::Postgres(p) => p.close().await,
        }
    }
}

/// Measures single-row commits of `data` at `concurrency`.
pub async fn measure(
    db: &RawDb,
    data: Arc<Vec<u8>>,
    concurrency: usize,
    warmup: Duration,
    duration: Duration,
) -> anyhow::Result<Measured> {
    let db = db.clone();
    let tag = uuid::Uuid::new_v4().simple().to_string();
    drive(concurrency, warmup, duration, move |_, n| {
        let db = db.clone();
        let data = data.clone();
        let key = format!("{tag}-{n}");
        async move { db.insert(key, &data).await }
    })
    .await
}
