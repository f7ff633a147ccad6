//! Group commit: many commits, one flush to disk (issue 7), and no commit
//! acknowledged that a crash could still take away (issue 14).
//!
//! A write transaction commits without waiting for the disk — SQLite in WAL
//! mode with `synchronous=NORMAL`, PostgreSQL with `SET LOCAL
//! synchronous_commit = off` — and then waits in [`WriteTurn::durable`]
//! until a flush has covered it: an `fdatasync` of SQLite's write-ahead log,
//! or on PostgreSQL a small synchronous commit of a WAL-logged change (a
//! transaction that writes no WAL is committed asynchronously whatever the
//! setting), which flushes the WAL up to its own commit record and so every
//! commit before it, from any hub.
//! Writers that arrive while a flush runs wait for the next one, and that
//! one flush covers all of them: the fsync is shared, not repeated.
//!
//! A flush covers an earlier commit only on the server that made it. If
//! PostgreSQL crashed in between (`pg_ctl stop -m immediate`, a killed
//! postmaster, a power cut), the synchronous commit runs on the restarted
//! server, where the earlier commit never existed, and succeeds. So every
//! write transaction and every flush reads the server's [`Incarnation`]
//! (an epoch in an UNLOGGED table, which PostgreSQL empties in every crash
//! recovery: migration 0005), and a commit is reported durable only when a
//! flush after it saw the same incarnation. Otherwise the write is answered
//! [`StoreError::NotDurable`] (gRPC `UNAVAILABLE`): the client retries with
//! its idempotency key and gets the stored answer, or a new one if the
//! commit was lost — never an acknowledgement of something that is gone.
//!
//! On SQLite the process that commits is the one that flushes, so there is
//! one incarnation; what can go wrong is the flush itself. After a failed
//! `fdatasync` Linux may mark the unwritten pages clean, so a later flush
//! that succeeds proves nothing about them: the store then refuses to
//! report any write durable until the hub is restarted (and SQLite recovers
//! from what is really on disk), as PostgreSQL PANICs in the same case. A
//! write-ahead log that SQLite deleted and created again after a checkpoint
//! is a new directory entry, so its directory is synced once as well.
//!
//! The guarantee: nothing a store method returns as written is lost by a
//! crash of the process, the database or the machine (DESIGN.md §7
//! property 7), and each action still commits in one transaction with its
//! audit entry (property 3). A commit becomes visible to other readers a
//! flush earlier than it becomes durable; an answer built from such a read
//! must not leave before that flush either, which is what
//! [`Store::flush_commits`] is for (the hub calls it before every answer).
//! While the disk is idle the wait is one atomic load.
//!
//! Locks are not held across the disk flush: the SQLite write gate and
//! PostgreSQL's row lock on `audit_head` are released at COMMIT, before the
//! flush, so the next writer proceeds while the disk works.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use sqlx::PgPool;

use crate::{Store, StoreError};

/// Which incarnation of the database server a commit was made on, or a
/// flush ran on. Two commits of the same incarnation share one history: a
/// flush of the later one covers the earlier one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Incarnation {
    /// SQLite, or a database without a server: this process is the writer.
    Local,
    /// A PostgreSQL server between two crash recoveries (migration 0005).
    Server(String),
}

const INCARNATION_SELECT: &str = include_str!("../queries/incarnation_select.sql");
const INCARNATION_INSERT: &str = include_str!("../queries/incarnation_insert.sql");
const FLUSH_WRITE: &str = include_str!("../queries/flush_write.sql");

/// Reads (or, first thing after a crash recovery, creates) the incarnation
/// of the server this transaction runs on.
pub(crate) async fn server_incarnation(tx: &mut sqlx::PgConnection) -> Result<Incarnation, sqlx::Error> {
    let epoch: Option<String> = sqlx::query_scalar(INCARNATION_SELECT).fetch_one(&mut *tx).await?;
    if let Some(epoch) = epoch {
        return Ok(Incarnation::Server(epoch));
    }
    // Another hub may be doing the same: the loser's insert waits for the
    // winner's transaction and then does nothing, and both read the winner's.
    sqlx::query(INCARNATION_INSERT)
        .bind(uuid::Uuid::new_v4().to_string())
        .execute(&mut *tx)
        .await?;
    let epoch: Option<String> = sqlx::query_scalar(INCARNATION_SELECT).fetch_one(&mut *tx).await?;
    epoch.map(Incarnation::Server).ok_or(sqlx::Error::RowNotFound)
}

/// What makes commits durable.
#[derive(Debug)]
pub(crate) enum FlushTarget {
    /// `fdatasync` of this SQLite write-ahead log file (`<db>-wal`). A
    /// missing file means everything was checkpointed into the database
    /// file, which SQLite syncs after each checkpoint.
    SqliteWal(PathBuf),
    /// A synchronous commit of a WAL-logged change on this pool (it waits
    /// for the WAL flush), updating the row of this process (`writer`) in
    /// `schakel_flush` (migration 0005).
    Postgres {
        /// The pool.
        pool: PgPool,
        /// This process's row.
        writer: String,
    },
    /// Nothing to flush (an in-memory database).
    Nothing,
}

/// Commit and flush counters of one store (one per process).
#[derive(Debug)]
pub(crate) struct Durability {
    /// Commits numbered so far: a write is numbered just before its COMMIT
    /// is sent, because its rows may be visible to readers from then on.
    committed: AtomicU64,
    /// Numbered commits whose COMMIT has not returned yet. A flush covers
    /// only commits that finished before it started, so it stops below the
    /// smallest of these.
    pending: Mutex<BTreeSet<u64>>,
    /// Woken when a pending commit finishes.
    settled: tokio::sync::Notify,
    /// Every commit numbered up to this is on disk — on the server
    /// incarnation in `flushed_on`.
    flushed: AtomicU64,
    /// Flushes done.
    flushes: AtomicU64,
    /// The incarnation the latest flush ran on; written before `flushed`
    /// is raised, so a waiter that sees its commit covered reads the
    /// incarnation of that flush or of a later one.
    flushed_on: Mutex<Option<Incarnation>>,
    /// A flush failed in a way that may have dropped written pages (a
    /// failed `fdatasync`): nothing is reported durable any more.
    poisoned: AtomicBool,
    /// The SQLite write-ahead log file last synced (device, inode): a new
    /// file needs its directory synced once.
    wal_file: Mutex<Option<(u64, u64)>>,
    /// Held by the writer that runs the current flush; the others wait here
    /// and usually find their commit covered when they get it.
    leader: tokio::sync::Mutex<()>,
    target: FlushTarget,
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Durability {
    pub(crate) fn new(target: FlushTarget) -> Arc<Self> {
        Arc::new(Self {
            committed: AtomicU64::new(0),
            pending: Mutex::new(BTreeSet::new()),
            settled: tokio::sync::Notify::new(),
            flushed: AtomicU64::new(0),
            flushes: AtomicU64::new(0),
            flushed_on: Mutex::new(None),
            poisoned: AtomicBool::new(false),
            wal_file: Mutex::new(None),
            leader: tokio::sync::Mutex::new(()),
            target,
        })
    }

    /// Numbers a commit about to be sent; it is pending until
    /// [`Durability::settle`].
    fn number_commit(&self) -> u64 {
        let mut pending = locked(&self.pending);
        let n = self.committed.fetch_add(1, Ordering::SeqCst) + 1;
        pending.insert(n);
        n
    }

    /// Commit `n` returned (committed or failed).
    fn settle(&self, n: u64) {
        locked(&self.pending).remove(&n);
        self.settled.notify_waiters();
    }

    /// The largest number up to which every numbered commit has returned.
    fn settled_upto(&self) -> u64 {
        let pending = locked(&self.pending);
        match pending.first() {
            Some(first) => first - 1,
            None => self.committed.load(Ordering::SeqCst),
        }
    }

    fn latest_flush_incarnation(&self) -> Option<Incarnation> {
        locked(&self.flushed_on).clone()
    }

    /// Waits until commit number `n` (and every one before it) has been
    /// covered by a flush that started after it returned, flushing if no
    /// one else is. Returns the incarnation of the covering flush (or of a
    /// later one).
    async fn wait_flushed(&self, n: u64) -> Result<Option<Incarnation>, StoreError> {
        loop {
            if self.poisoned.load(Ordering::SeqCst) {
                return Err(StoreError::NotDurable(
                    "an earlier flush to disk failed; restart the hub",
                ));
            }
            if self.flushed.load(Ordering::SeqCst) >= n {
                return Ok(self.latest_flush_incarnation());
            }
            let leader = self.leader.lock().await;
            if self.flushed.load(Ordering::SeqCst) >= n {
                return Ok(self.latest_flush_incarnation());
            }
            if self.settled_upto() < n {
                // A commit numbered before `n` is still on its way: a flush
                // now might not cover it. Wait until one returns.
                let settled = self.settled.notified();
                tokio::pin!(settled);
                settled.as_mut().enable();
                if self.settled_upto() < n {
                    drop(leader);
                    settled.await;
                }
                continue;
            }
            // Every commit up to here has returned: this flush covers them.
            let upto = self.settled_upto();
            let on = self.flush().await?;
            *locked(&self.flushed_on) = Some(on.clone());
            self.flushes.fetch_add(1, Ordering::SeqCst);
            self.flushed.fetch_max(upto, Ordering::SeqCst);
            return Ok(Some(on));
        }
    }

    async fn flush(&self) -> Result<Incarnation, StoreError> {
        use tracing::Instrument as _;
        let flush = async {
            match &self.target {
                FlushTarget::SqliteWal(path) => self.sync_sqlite_wal(path).await.map(|()| Incarnation::Local),
                FlushTarget::Postgres { pool, writer } => {
                    let mut tx = pool
                        .begin()
                        .await
                        .map_err(|e| StoreError::from_sqlx("database flush", e))?;
                    let on = server_incarnation(&mut tx)
                        .await
                        .map_err(|e| StoreError::from_sqlx("database flush", e))?;
                    // A WAL-logged change makes COMMIT wait until the WAL is
                    // flushed up to its commit record (synchronous_commit=on,
                    // the session default), so every earlier commit of this
                    // incarnation too. Taking a transaction id alone is not
                    // enough: PostgreSQL commits a transaction that wrote no
                    // WAL asynchronously (migration 0005).
                    sqlx::query(FLUSH_WRITE)
                        .bind(writer)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| StoreError::from_sqlx("database flush", e))?;
                    tx.commit()
                        .await
                        .map_err(|e| StoreError::from_sqlx("database flush", e))?;
                    Ok(on)
                }
                FlushTarget::Nothing => Ok(Incarnation::Local),
            }
        };
        flush.instrument(tracing::info_span!("store.flush")).await
    }

    /// `fdatasync` of SQLite's write-ahead log, and of its directory when
    /// the log is a file this store has not synced before.
    async fn sync_sqlite_wal(&self, path: &std::path::Path) -> Result<(), StoreError> {
        use std::os::unix::fs::MetadataExt as _;
        let wal = path.to_owned();
        let synced = tokio::task::spawn_blocking(move || -> std::io::Result<Option<(u64, u64)>> {
            let f = match std::fs::File::open(&wal) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(e),
            };
            f.sync_data()?;
            let meta = f.metadata()?;
            Ok(Some((meta.dev(), meta.ino())))
        })
        .await
        .unwrap_or_else(|_| Err(std::io::Error::other("the flush task did not finish")));
        let file = synced.map_err(|e| self.flush_failed(e))?;
        let Some(file) = file else { return Ok(()) };
        let known = *locked(&self.wal_file);
        if known != Some(file) {
            let dir = path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."))
                .to_owned();
            tokio::task::spawn_blocking(move || std::fs::File::open(dir)?.sync_all())
                .await
                .unwrap_or_else(|_| Err(std::io::Error::other("the flush task did not finish")))
                .map_err(|e| self.flush_failed(e))?;
            *locked(&self.wal_file) = Some(file);
        }
        Ok(())
    }

    /// A failed `fdatasync` may have dropped the pages it did not write
    /// (the kernel marks them clean): no later flush can vouch for them.
    fn flush_failed(&self, e: std::io::Error) -> StoreError {
        self.poisoned.store(true, Ordering::SeqCst);
        tracing::error!(
            error = %e,
            "flushing the SQLite write-ahead log failed; no write is acknowledged until the hub is restarted"
        );
        StoreError::NotDurable("flushing the write-ahead log failed; restart the hub")
    }
}

/// This process's turn to write: on SQLite the place in the write queue
/// (see `Store::write_gate`). Call [`WriteTurn::committing`] just before
/// COMMIT and end it with [`WriteTurn::durable`] after; a turn dropped in
/// between (COMMIT failed) still settles its number, so the next flush
/// covers whatever it may have committed.
#[must_use = "end a write turn with `durable(..).await` after COMMIT"]
pub(crate) struct WriteTurn {
    gate: Option<tokio::sync::OwnedMutexGuard<()>>,
    durability: Arc<Durability>,
    /// This write's commit number, once COMMIT is about to be sent.
    number: Option<u64>,
}

impl WriteTurn {
    pub(crate) fn new(gate: Option<tokio::sync::OwnedMutexGuard<()>>, durability: Arc<Durability>) -> Self {
        Self {
            gate,
            durability,
            number: None,
        }
    }

    /// Right before COMMIT: from here on readers may see this write, so
    /// answers that read it wait for its flush (`Store::flush_commits`).
    pub(crate) fn committing(&mut self) {
        if self.number.is_none() {
            self.number = Some(self.durability.number_commit());
        }
    }

    /// After COMMIT of a transaction made on `made_on` (see
    /// `BeginWrite::begin_write`): lets the next writer in, then waits
    /// until this commit is on disk on that same server. Only then may the
    /// write be reported as done.
    pub(crate) async fn durable(mut self, made_on: Incarnation) -> Result<(), StoreError> {
        self.gate = None;
        let n = match self.number.take() {
            Some(n) => n,
            None => self.durability.number_commit(),
        };
        self.durability.settle(n);
        let flushed_on = self.durability.wait_flushed(n).await?;
        if flushed_on.as_ref() == Some(&made_on) {
            return Ok(());
        }
        tracing::warn!(
            "the database server restarted between a commit and its flush; the write is not acknowledged"
        );
        Err(StoreError::NotDurable(
            "the database restarted before the write was on disk; retry with the same idempotency key",
        ))
    }
}

impl Drop for WriteTurn {
    fn drop(&mut self) {
        if let Some(n) = self.number.take() {
            self.durability.settle(n);
        }
    }
}

/// Where the durability of what one answer read is measured from: taken
/// before the answer reads anything ([`Store::read_mark`]), checked after
/// ([`Store::flush_commits`]).
#[derive(Debug, Clone)]
pub struct ReadMark {
    on: Option<Incarnation>,
}

impl Store {
    /// Marks the start of an answer's reads (see [`Store::flush_commits`]).
    pub fn read_mark(&self) -> ReadMark {
        ReadMark {
            on: self.durability.latest_flush_incarnation(),
        }
    }

    /// Waits until every commit this store has started is on disk. The hub
    /// calls it before each answer leaves, so an answer that read a commit
    /// still waiting for its flush (another caller's write) is not sent
    /// before that commit is durable. Immediate when nothing waits.
    ///
    /// When the server's incarnation changed since `since` was taken, the
    /// answer may have read commits that the crash took away: it is then
    /// [`StoreError::NotDurable`] too, and the caller asks again.
    pub async fn flush_commits(&self, since: &ReadMark) -> Result<(), StoreError> {
        let n = self.durability.committed.load(Ordering::SeqCst);
        let after = self.durability.wait_flushed(n).await?;
        match (&since.on, after) {
            (Some(b), Some(a)) if a != *b => Err(StoreError::NotDurable(
                "the database restarted while this answer was read; ask again",
            )),
            _ => Ok(()),
        }
    }

    /// A mark for something that will be vouched for outside the database
    /// (a signed checkpoint): the server incarnation now, read from the
    /// server itself. Check it with [`Store::confirm_durable`] after the
    /// reads.
    pub async fn durability_mark(&self) -> Result<ReadMark, StoreError> {
        let on = match &self.pool {
            crate::pool::Pool::Sqlite(_) => Incarnation::Local,
            crate::pool::Pool::Postgres(p) => {
                let mut tx = p
                    .begin()
                    .await
                    .map_err(|e| StoreError::from_sqlx("database", e))?;
                let on = server_incarnation(&mut tx)
                    .await
                    .map_err(|e| StoreError::from_sqlx("database", e))?;
                tx.commit()
                    .await
                    .map_err(|e| StoreError::from_sqlx("database", e))?;
                on
            }
        };
        Ok(ReadMark { on: Some(on) })
    }

    /// Makes sure that everything read since `mark` — also other hubs'
    /// commits — is on disk, on the same server incarnation: a fresh flush,
    /// started now. A signed checkpoint must never cover entries a crash
    /// can still take (it would contradict the log forever after).
    pub async fn confirm_durable(&self, mark: &ReadMark) -> Result<(), StoreError> {
        let n = self.durability.number_commit();
        self.durability.settle(n);
        let after = self.durability.wait_flushed(n).await?;
        match (&mark.on, after) {
            (Some(b), Some(a)) if a == *b => Ok(()),
            _ => Err(StoreError::NotDurable(
                "the database restarted while what was read could be flushed; try again",
            )),
        }
    }

    /// Makes sure a row found by its idempotency key, about to be answered
    /// again as done (a replay), is on disk, also when another hub on the
    /// same PostgreSQL committed it and has not flushed it yet: that hub's
    /// flush is not this one's to wait for, and a crash before it would take
    /// a row this answer acknowledged. A fresh flush started after the read
    /// covers the other hub's commit record, which precedes it in the WAL;
    /// a crash between the read and this flush changes the incarnation the
    /// answer barrier ([`Store::flush_commits`]) compares. On SQLite one
    /// process writes, and the answer barrier already covers its commits.
    pub(crate) async fn vouch_for_replay(&self) -> Result<(), StoreError> {
        match &self.pool {
            crate::pool::Pool::Sqlite(_) => Ok(()),
            crate::pool::Pool::Postgres(_) => {
                let mark = self.durability_mark().await?;
                self.confirm_durable(&mark).await
            }
        }
    }

    /// How many commits this store made and how many flushes made them
    /// durable (for the benchmark: commits per flush is the group size).
    pub fn commit_stats(&self) -> CommitStats {
        CommitStats {
            commits: self.durability.committed.load(Ordering::SeqCst),
            durable: self.durability.flushed.load(Ordering::SeqCst),
            flushes: self.durability.flushes.load(Ordering::SeqCst),
        }
    }
}

/// Counters of group commit, see [`Store::commit_stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitStats {
    /// Write transactions ended (committed or not).
    pub commits: u64,
    /// Every commit up to this number is on disk.
    pub durable: u64,
    /// Flushes to disk done.
    pub flushes: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every waiter returns only once a flush covers its commit. (Whether
    /// waiters share flushes depends on the disk and the scheduler: that is
    /// measured by schakel-bench, not asserted here.)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_commit_is_reported_only_once_a_flush_covers_it() {
        let dir = tempfile::tempdir().unwrap();
        let wal = dir.path().join("db-wal");
        std::fs::write(&wal, b"frames").unwrap();
        let d = Durability::new(FlushTarget::SqliteWal(wal));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..200 {
            let d = d.clone();
            tasks.spawn(async move {
                let n = d.number_commit();
                d.settle(n);
                let on = d.wait_flushed(n).await.unwrap();
                assert_eq!(on, Some(Incarnation::Local));
                assert!(
                    d.flushed.load(Ordering::SeqCst) >= n,
                    "commit {n} reported before its flush"
                );
            });
        }
        while let Some(r) = tasks.join_next().await {
            r.unwrap();
        }
        let flushes = d.flushes.load(Ordering::SeqCst);
        assert_eq!(d.flushed.load(Ordering::SeqCst), 200);
        assert!((1..=200).contains(&flushes), "{flushes} flushes for 200 commits");
    }

    #[tokio::test]
    async fn a_checkpointed_log_needs_no_flush_and_a_failed_commit_is_covered() {
        let dir = tempfile::tempdir().unwrap();
        let d = Durability::new(FlushTarget::SqliteWal(dir.path().join("gone-wal")));
        // Dropped before COMMIT: nothing was committed, nothing numbered.
        drop(WriteTurn::new(None, d.clone()));
        assert_eq!(d.committed.load(Ordering::SeqCst), 0);
        // Dropped after COMMIT was sent (it failed, or may have landed):
        // numbered, settled, and covered by the next flush.
        let mut failed = WriteTurn::new(None, d.clone());
        failed.committing();
        drop(failed);
        assert_eq!(d.settled_upto(), 1);
        WriteTurn::new(None, d.clone())
            .durable(Incarnation::Local)
            .await
            .unwrap();
        assert_eq!(d.flushed.load(Ordering::SeqCst), 2);
    }

    /// A reader that saw a commit still on its way (numbered, COMMIT not yet
    /// returned) waits until that commit returned and a flush covered it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_flush_waits_for_commits_still_on_their_way() {
        let d = Durability::new(FlushTarget::Nothing);
        let mut writer = WriteTurn::new(None, d.clone());
        writer.committing();
        let reader = tokio::spawn({
            let d = d.clone();
            async move {
                let n = d.committed.load(Ordering::SeqCst);
                d.wait_flushed(n).await.unwrap();
                d.flushed.load(Ordering::SeqCst)
            }
        });
        tokio::task::yield_now().await;
        assert_eq!(
            d.flushed.load(Ordering::SeqCst),
            0,
            "no flush before the commit returned"
        );
        writer.durable(Incarnation::Local).await.unwrap();
        assert_eq!(reader.await.unwrap(), 1);
    }

    /// A commit made on one server incarnation is never reported durable by
    /// a flush on another (the crash the PostgreSQL test reproduces).
    #[tokio::test]
    async fn a_flush_on_another_incarnation_does_not_cover_a_commit() {
        let d = Durability::new(FlushTarget::Nothing);
        let err = WriteTurn::new(None, d.clone())
            .durable(Incarnation::Server("before the crash".into()))
            .await
            .unwrap_err();
        assert!(err.is_unavailable(), "{err}");
        assert!(matches!(err, StoreError::NotDurable(_)));
    }

    /// What a checkpoint is signed over must be flushed on the incarnation
    /// it was read from; a mark from another one is refused.
    #[tokio::test]
    async fn a_checkpoint_is_confirmed_only_on_the_incarnation_it_read() {
        let store = Store::connect(&crate::StoreOptions::new("sqlite::memory:"))
            .await
            .unwrap();
        let mark = store.durability_mark().await.unwrap();
        store.confirm_durable(&mark).await.unwrap();
        let before_a_crash = ReadMark {
            on: Some(Incarnation::Server("before the crash".into())),
        };
        let err = store.confirm_durable(&before_a_crash).await.unwrap_err();
        assert!(matches!(err, StoreError::NotDurable(_)), "{err}");
    }

    /// After a failed fdatasync nothing is acknowledged, even when the next
    /// flush would succeed.
    #[tokio::test]
    async fn a_failed_flush_stops_every_later_acknowledgement() {
        let dir = tempfile::tempdir().unwrap();
        // The log's "directory" is a plain file: opening the log fails with
        // ENOTDIR, an I/O error other than a missing log.
        let file = dir.path().join("plain");
        std::fs::write(&file, b"x").unwrap();
        let d = Durability::new(FlushTarget::SqliteWal(file.join("db-wal")));
        let first = WriteTurn::new(None, d.clone())
            .durable(Incarnation::Local)
            .await
            .unwrap_err();
        assert!(matches!(first, StoreError::NotDurable(_)), "{first}");
        std::fs::remove_file(&file).unwrap();
        // The log is now simply missing (nothing to flush), yet the store
        // still refuses: the failed flush may have lost pages.
        let later = WriteTurn::new(None, d.clone())
            .durable(Incarnation::Local)
            .await
            .unwrap_err();
        assert!(matches!(later, StoreError::NotDurable(_)), "{later}");
    }
}
