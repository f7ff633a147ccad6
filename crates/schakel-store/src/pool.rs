//! Connecting to a backend and running its migrations.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

use crate::StoreError;
use crate::directory_cache::DirectoryCache;
use crate::durable::{Durability, FlushTarget, Incarnation, WriteTurn};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// The file of a SQLite database URL (`sqlite:PATH`, `sqlite://PATH?…`);
/// none for an in-memory database or another backend.
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let path = rest.strip_prefix("//").unwrap_or(rest);
    let path = path.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.contains(":memory:")).then(|| std::path::PathBuf::from(path))
}

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file (WAL; commits flushed in groups, see `durable`).
    Sqlite,
    /// A PostgreSQL server, possibly shared by several hubs.
    Postgres,
}

/// Connection settings.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// `sqlite://path/to/file.db` or `postgres://user@host:port/db`.
    pub url: String,
    /// Upper bound of pooled connections.
    pub max_connections: u32,
    /// How long a caller waits for a connection before the store answers
    /// [`StoreError::Unavailable`].
    pub acquire_timeout: Duration,
    /// How long directory reads (organisations, certificate bindings,
    /// recipient keys) are kept (default 2 s; zero: not cached). Changes made
    /// through this store are seen at once; changes made by another hub or
    /// process within this time (`directory_cache`).
    pub directory_cache_ttl: Duration,
    /// The key with which appended audit entries are authenticated
    /// (`schakel_audit::LeafKey`, from the log's signing key). A hub always
    /// sets it; a tool without it (registering the first operator) appends
    /// entries without a code, which a hub accepts only before the log's
    /// first checkpoint.
    pub audit_leaf_key: Option<schakel_audit::LeafKey>,
}

impl StoreOptions {
    /// Defaults for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 8,
            acquire_timeout: Duration::from_secs(5),
            directory_cache_ttl: Duration::from_secs(2),
            audit_leaf_key: None,
        }
    }
}

/// What [`probe`] found: the database answers, and how far its schema is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseProbe {
    /// The SQLite file does not exist yet (the hub creates it at start).
    pub new_file: bool,
    /// Migrations applied to the database.
    pub applied: usize,
    /// Migrations this version of the hub knows; it applies the rest at start.
    pub known: usize,
}

/// Connects once to the database of `opts` and reads how many schema
/// migrations it has, changing nothing (no migration, no file created): for
/// `schakel-hub --check-config --check-database`. The error says why a
/// connection failed (refused, wrong password, no such database).
pub async fn probe(opts: &StoreOptions) -> Result<DatabaseProbe, StoreError> {
    use sqlx::Connection as _;
    /// The migrations applied on `conn` (none when `exists` — a query
    /// whether the migrations table exists — says false); closes `conn`.
    macro_rules! applied_migrations {
        ($conn:ident, $exists:expr) => {{
            let read = |e| StoreError::from_sqlx("database", e);
            let exists: bool = sqlx::query_scalar($exists)
                .fetch_one(&mut $conn)
                .await
                .map_err(read)?;
            let applied: i64 = if exists {
                sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
                    .fetch_one(&mut $conn)
                    .await
                    .map_err(read)?
            } else {
                0
            };
            let _ = $conn.close().await;
            usize::try_from(applied).unwrap_or(0)
        }};
    }
    let bad_url = |_| StoreError::Config("the database URL cannot be parsed".into());
    let connect_failed = |e: sqlx::Error| StoreError::Connect(e.to_string());
    let timed_out = |_| StoreError::Connect("no answer within the acquire timeout".into());
    if opts.url.starts_with("sqlite:") {
        let known = SQLITE_MIGRATIONS.iter().count();
        let connect = SqliteConnectOptions::from_str(&opts.url).map_err(bad_url)?;
        let in_memory = opts.url.contains(":memory:") || opts.url.contains("mode=memory");
        if !in_memory && !connect.get_filename().exists() {
            return Ok(DatabaseProbe {
                new_file: true,
                applied: 0,
                known,
            });
        }
        let mut conn = tokio::time::timeout(
            opts.acquire_timeout,
            sqlx::SqliteConnection::connect_with(&connect.read_only(true)),
        )
        .await
        .map_err(timed_out)?
        .map_err(connect_failed)?;
        let applied = applied_migrations!(
            conn,
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations')"
        );
        Ok(DatabaseProbe {
            new_file: false,
            applied,
            known,
        })
    } else if opts.url.starts_with("postgres:") || opts.url.starts_with("postgresql:") {
        let connect = PgConnectOptions::from_str(&opts.url).map_err(bad_url)?;
        let mut conn = tokio::time::timeout(opts.acquire_timeout, sqlx::PgConnection::connect_with(&connect))
            .await
            .map_err(timed_out)?
            .map_err(connect_failed)?;
        let applied = applied_migrations!(conn, "SELECT to_regclass('_sqlx_migrations') IS NOT NULL");
        Ok(DatabaseProbe {
            new_file: false,
            applied,
            known: POSTGRES_MIGRATIONS.iter().count(),
        })
    } else {
        Err(StoreError::Config(
            "database URL must start with sqlite: or postgres:".into(),
        ))
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The hub's storage: one pool on one backend. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) pool: Pool,
    /// SQLite has one writer at a time. Writers of this process queue here,
    /// in order, instead of in SQLite's busy handler, which sleeps with
    /// back-off and gave latency spikes of hundreds of milliseconds under
    /// load. (Other processes on the same file still meet the busy handler.)
    write_gate: Option<Arc<tokio::sync::Mutex<()>>>,
    /// Group commit: which commits are on disk (see `durable`).
    pub(crate) durability: Arc<Durability>,
    /// Recent directory reads (see `directory_cache`).
    pub(crate) directory: Arc<DirectoryCache>,
    /// Authenticates appended audit entries (`StoreOptions::audit_leaf_key`).
    pub(crate) leaf_key: Option<Arc<schakel_audit::LeafKey>>,
}

/// Starts a transaction that will write, and says which server
/// incarnation it runs on (pass it to `WriteTurn::durable` after COMMIT). On
/// SQLite it is `BEGIN IMMEDIATE`: the write lock is taken at once (waiting
/// under the busy timeout), so a transaction never reads a snapshot it
/// cannot later write on.
pub(crate) trait BeginWrite {
    type Db: sqlx::Database;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<
        Output = Result<(sqlx::Transaction<'static, Self::Db>, Incarnation), sqlx::Error>,
    > + Send;
}

impl BeginWrite for SqlitePool {
    type Db = sqlx::Sqlite;
    async fn begin_write(
        &self,
    ) -> Result<(sqlx::Transaction<'static, sqlx::Sqlite>, Incarnation), sqlx::Error> {
        Ok((self.begin_with("BEGIN IMMEDIATE").await?, Incarnation::Local))
    }
}

impl BeginWrite for PgPool {
    type Db = sqlx::Postgres;
    async fn begin_write(
        &self,
    ) -> Result<(sqlx::Transaction<'static, sqlx::Postgres>, Incarnation), sqlx::Error> {
        // Commits do not wait for the disk, so the audit head's row lock is
        // released at COMMIT; `WriteTurn::durable` then waits for a flush
        // that covers this commit, on this same server incarnation, before
        // anything is acknowledged.
        let mut tx = self
            .begin_with("BEGIN; SET LOCAL synchronous_commit TO OFF")
            .await?;
        let on = crate::durable::server_incarnation(&mut tx).await?;
        Ok((tx, on))
    }
}

/// Whether a pooled connection may be handed out again. A connection whose
/// COMMIT failed (SQLite: disk full) can come back still marked as inside a
/// transaction; every later BEGIN on it would fail, until the whole pool was
/// unusable and the hub answered INTERNAL for good. Such a connection is
/// closed instead, and the pool opens a fresh one.
fn usable(conn: &impl sqlx::Connection) -> bool {
    let ok = !conn.is_in_transaction();
    if !ok {
        tracing::warn!("closing a database connection left inside a failed transaction");
    }
    ok
}

/// Runs `$body` with `$p` bound to the concrete pool of either backend. The
/// body is written once and type-checked for each backend.
macro_rules! on_pool {
    ($store:expr, $p:ident => $body:expr) => {
        match &$store.pool {
            $crate::pool::Pool::Sqlite($p) => $body,
            $crate::pool::Pool::Postgres($p) => $body,
        }
    };
}
pub(crate) use on_pool;

impl Store {
    /// Connects to the database named by `opts.url` (creating a SQLite file
    /// if it does not exist) and brings its schema up to date. Several hubs
    /// may call this at once on one PostgreSQL: migrations take a lock.
    pub async fn connect(opts: &StoreOptions) -> Result<Self, StoreError> {
        let target;
        let store = if opts.url.starts_with("sqlite:") {
            let connect = SqliteConnectOptions::from_str(&opts.url)
                .map_err(|_| StoreError::Config("the database URL cannot be parsed".into()))?;
            let mut wal = connect.get_filename().as_os_str().to_owned();
            wal.push("-wal");
            let in_memory = opts.url.contains(":memory:") || opts.url.contains("mode=memory");
            target = if in_memory {
                FlushTarget::Nothing
            } else {
                FlushTarget::SqliteWal(wal.into())
            };
            let connect = connect
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // Commits do not fsync; `WriteTurn::durable` flushes the WAL
                // for a group of them before any is acknowledged (DESIGN.md
                // §7 property 7). SQLite still syncs around checkpoints.
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(5));
            let pool = SqlitePoolOptions::new()
                .before_acquire(|conn, _| Box::pin(async move { Ok(usable(&*conn)) }))
                .max_connections(opts.max_connections)
                .acquire_timeout(opts.acquire_timeout)
                .connect_with(connect)
                .await
                .map_err(|e| StoreError::Connect(e.to_string()))?;
            SQLITE_MIGRATIONS
                .run(&pool)
                .await
                .map_err(StoreError::Migration)?;
            Pool::Sqlite(pool)
        } else if opts.url.starts_with("postgres:") || opts.url.starts_with("postgresql:") {
            let connect = PgConnectOptions::from_str(&opts.url)
                .map_err(|_| StoreError::Config("the database URL cannot be parsed".into()))?;
            // One connection first, on its own: the pool retries a failed
            // connect until its timeout and then says only that it timed
            // out, where the operator needs the reason (refused, wrong
            // password, no such database).
            {
                use sqlx::Connection as _;
                let probe =
                    tokio::time::timeout(opts.acquire_timeout, sqlx::PgConnection::connect_with(&connect))
                        .await
                        .map_err(|_| StoreError::Connect("no answer within the acquire timeout".into()))?
                        .map_err(|e| StoreError::Connect(e.to_string()))?;
                let _ = probe.close().await;
            }
            let pool = PgPoolOptions::new()
                .before_acquire(|conn, _| Box::pin(async move { Ok(usable(&*conn)) }))
                .max_connections(opts.max_connections)
                .acquire_timeout(opts.acquire_timeout)
                .connect_with(connect)
                .await
                .map_err(|e| StoreError::Connect(e.to_string()))?;
            POSTGRES_MIGRATIONS
                .run(&pool)
                .await
                .map_err(StoreError::Migration)?;
            target = FlushTarget::Postgres {
                pool: pool.clone(),
                writer: uuid::Uuid::new_v4().to_string(),
            };
            Pool::Postgres(pool)
        } else {
            return Err(StoreError::Config(
                "database URL must start with sqlite: or postgres:".into(),
            ));
        };
        let write_gate = matches!(store, Pool::Sqlite(_)).then(|| Arc::new(tokio::sync::Mutex::new(())));
        let store = Self {
            pool: store,
            write_gate,
            durability: Durability::new(target),
            directory: Arc::new(DirectoryCache::new(opts.directory_cache_ttl)),
            leaf_key: opts.audit_leaf_key.clone().map(Arc::new),
        };
        // A log appended before migration 0004 gets its subtree hashes once
        // (O(log n) reads when there is nothing to do). Proofs do not depend
        // on it: they recompute what is missing, so a failure only costs speed.
        if let Err(e) = store.backfill_audit_nodes().await {
            tracing::warn!(error = %e, "audit subtree hashes not filled in; proofs recompute them");
        }
        // The backfill committed without waiting for the disk; flush once
        // before the store is used.
        store.flush_commits(&store.read_mark()).await?;
        Ok(store)
    }

    /// Waits for this process's turn to write (SQLite: see `write_gate`).
    /// Hold it until the transaction has committed, then end it with
    /// `WriteTurn::durable`.
    pub(crate) async fn write_turn(&self) -> WriteTurn {
        let gate = match &self.write_gate {
            Some(gate) => Some(gate.clone().lock_owned().await),
            None => None,
        };
        WriteTurn::new(gate, self.durability.clone())
    }

    /// Which backend this store uses.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Checks that the database answers (for health checks).
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query("SELECT 1").execute(p).await.map(|_| ()))
            .map(|_| ())
            .map_err(|e| StoreError::from_sqlx("database", e))
    }

    /// Closes every pooled connection.
    pub async fn close(&self) {
        on_pool!(self, p => p.close().await)
    }
}
