//! Group commit: many commits, one flush to disk (issue 7).
//!
//! A write transaction commits without waiting for the disk — SQLite in WAL
//! mode with `synchronous=NORMAL`, PostgreSQL with `SET LOCAL
//! synchronous_commit = off` — and then waits in [`WriteTurn::durable`]
//! until a flush has covered it: an `fdatasync` of SQLite's write-ahead log,
//! or on PostgreSQL a small synchronous commit, which flushes the WAL up to
//! its own commit record and so every commit before it, from any hub.
//! Writers that arrive while a flush runs wait for the next one, and that
//! one flush covers all of them: the fsync is shared, not repeated.
//!
//! The guarantee is unchanged: nothing a store method returns as written is
//! lost by a crash of the process, the database or the machine (DESIGN.md
//! §7 property 7), and each action still commits in one transaction with its
//! audit entry (property 3). What changes is that a commit becomes visible
//! to other readers a flush earlier than it becomes durable; an answer
//! built from such a read must not leave before that flush either, which is
//! what [`Store::flush_commits`] is for (the hub calls it before every
//! answer). While the disk is idle the wait is one atomic load.
//!
//! Locks are no longer held across the disk flush: the SQLite write gate
//! and PostgreSQL's row lock on `audit_head` are released at COMMIT, before
//! the flush, so the next writer proceeds while the disk works.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::PgPool;

use crate::{Store, StoreError};

/// What makes commits durable.
#[derive(Debug)]
pub(crate) enum FlushTarget {
    /// `fdatasync` of this SQLite write-ahead log file (`<db>-wal`). A
    /// missing file means everything was checkpointed into the database
    /// file, which SQLite syncs after each checkpoint.
    SqliteWal(PathBuf),
    /// A synchronous commit on this pool (it waits for the WAL flush).
    Postgres(PgPool),
    /// Nothing to flush (an in-memory database).
    Nothing,
}

/// Commit and flush counters of one store (one per process).
#[derive(Debug)]
pub(crate) struct Durability {
    /// Commits counted so far (write turns ended).
    committed: AtomicU64,
    /// Every commit counted up to this number is on disk.
    flushed: AtomicU64,
    /// Flushes done.
    flushes: AtomicU64,
    /// Held by the writer that runs the current flush; the others wait here
    /// and usually find their commit covered when they get it.
    leader: tokio::sync::Mutex<()>,
    target: FlushTarget,
}

impl Durability {
    pub(crate) fn new(target: FlushTarget) -> Arc<Self> {
        Arc::new(Self {
            committed: AtomicU64::new(0),
            flushed: AtomicU64::new(0),
            flushes: AtomicU64::new(0),
            leader: tokio::sync::Mutex::new(()),
            target,
        })
    }

    /// Counts one commit (or a write turn that may have committed); returns
    /// its number.
    fn count_commit(&self) -> u64 {
        self.committed.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Waits until commit number `n` (and every one before it) is on disk,
    /// flushing if no one else is.
    async fn wait_flushed(&self, n: u64) -> Result<(), StoreError> {
        if self.flushed.load(Ordering::SeqCst) >= n {
            return Ok(());
        }
        let _leader = self.leader.lock().await;
        if self.flushed.load(Ordering::SeqCst) >= n {
            return Ok(());
        }
        // Everything counted so far has committed: this flush covers it all.
        let upto = self.committed.load(Ordering::SeqCst);
        self.flush().await?;
        self.flushes.fetch_add(1, Ordering::SeqCst);
        self.flushed.fetch_max(upto, Ordering::SeqCst);
        Ok(())
    }

    async fn flush(&self) -> Result<(), StoreError> {
        use tracing::Instrument as _;
        let flush = async {
            match &self.target {
                FlushTarget::SqliteWal(path) => {
                    let path = path.clone();
                    let synced = tokio::task::spawn_blocking(move || match std::fs::File::open(&path) {
                        Ok(f) => f.sync_data(),
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                        Err(e) => Err(e),
                    })
                    .await
                    .unwrap_or_else(|_| Err(std::io::Error::other("the flush task did not finish")));
                    synced.map_err(|e| {
                        tracing::error!(error = %e, "flushing the SQLite write-ahead log failed");
                        StoreError::Unavailable(sqlx::Error::Io(e))
                    })
                }
                FlushTarget::Postgres(pool) => {
                    let mut tx = pool
                        .begin()
                        .await
                        .map_err(|e| StoreError::from_sqlx("database flush", e))?;
                    // An xid makes COMMIT write a record and wait until the
                    // WAL is flushed up to it (synchronous_commit=on, the
                    // session default), so every earlier commit too.
                    sqlx::query("SELECT txid_current()")
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| StoreError::from_sqlx("database flush", e))?;
                    tx.commit()
                        .await
                        .map_err(|e| StoreError::from_sqlx("database flush", e))
                }
                FlushTarget::Nothing => Ok(()),
            }
        };
        flush.instrument(tracing::info_span!("store.flush")).await
    }
}

/// This process's turn to write: on SQLite the place in the write queue
/// (see `Store::write_gate`). End it with [`WriteTurn::durable`] after
/// COMMIT; a turn dropped without it (an error path) is still counted, so
/// the next flush covers whatever it may have committed.
#[must_use = "end a write turn with `durable().await` after COMMIT"]
pub(crate) struct WriteTurn {
    gate: Option<tokio::sync::OwnedMutexGuard<()>>,
    durability: Arc<Durability>,
    counted: bool,
}

impl WriteTurn {
    pub(crate) fn new(gate: Option<tokio::sync::OwnedMutexGuard<()>>, durability: Arc<Durability>) -> Self {
        Self {
            gate,
            durability,
            counted: false,
        }
    }

    /// After COMMIT: lets the next writer in, then waits until this commit
    /// is on disk. Only then may the write be reported as done.
    pub(crate) async fn durable(mut self) -> Result<(), StoreError> {
        self.gate = None;
        self.counted = true;
        let n = self.durability.count_commit();
        self.durability.wait_flushed(n).await
    }
}

impl Drop for WriteTurn {
    fn drop(&mut self) {
        if !self.counted {
            self.durability.count_commit();
        }
    }
}

impl Store {
    /// Waits until every commit made so far by this store is on disk. The
    /// hub calls it before each answer leaves, so an answer that read a
    /// commit still waiting for its flush (another caller's write) is not
    /// sent before that commit is durable. Immediate when nothing waits.
    pub async fn flush_commits(&self) -> Result<(), StoreError> {
        let n = self.durability.committed.load(Ordering::SeqCst);
        self.durability.wait_flushed(n).await
    }

    /// How many commits this store made and how many flushes made them
    /// durable (for the benchmark and tests: commits per flush is the group
    /// size).
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

    /// Every waiter returns only once a flush covers its commit, and waiters
    /// that arrive together share flushes.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_commit_is_reported_only_once_a_shared_flush_covers_it() {
        let dir = tempfile::tempdir().unwrap();
        let wal = dir.path().join("db-wal");
        std::fs::write(&wal, b"frames").unwrap();
        let d = Durability::new(FlushTarget::SqliteWal(wal));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..200 {
            let d = d.clone();
            tasks.spawn(async move {
                let n = d.count_commit();
                d.wait_flushed(n).await.unwrap();
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
        assert!((1..200).contains(&flushes), "{flushes} flushes for 200 commits");
    }

    #[tokio::test]
    async fn a_checkpointed_log_needs_no_flush_and_a_dropped_turn_is_counted() {
        let dir = tempfile::tempdir().unwrap();
        let d = Durability::new(FlushTarget::SqliteWal(dir.path().join("gone-wal")));
        drop(WriteTurn::new(None, d.clone()));
        assert_eq!(
            d.committed.load(Ordering::SeqCst),
            1,
            "an error path still counts"
        );
        WriteTurn::new(None, d.clone()).durable().await.unwrap();
        assert_eq!(d.flushed.load(Ordering::SeqCst), 2);
    }
}
