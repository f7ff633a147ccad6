//! The audit log at rest: append in the same transaction as the action,
//! read entries and leaf hashes, keep signed checkpoints.
//!
//! Appending takes the row lock on `audit_head` (SQLite: the write lock of
//! `BEGIN IMMEDIATE`), so sequence numbers are gapless and in commit order
//! even with several hubs on one PostgreSQL. The append also writes the
//! subtree hashes the entry completes (`audit_nodes`, see
//! [`crate::audit_nodes`]). UPDATE and DELETE on the log tables are refused
//! by triggers (migrations 0002 and 0004).

use jiff::Timestamp;
use schakel_audit::{Entry, Hash, leaf_hash};

use crate::pool::on_pool;
use crate::{Store, StoreError};

pub(crate) const AUDIT_NEXT_SEQ: &str = include_str!("../queries/audit_next_seq.sql");
pub(crate) const AUDIT_INSERT: &str = include_str!("../queries/audit_insert.sql");
pub(crate) const AUDIT_INSERT_PARTY: &str = include_str!("../queries/audit_insert_party.sql");
pub(crate) const AUDIT_INSERT_ROW: &str = include_str!("../queries/audit_insert_row.sql");
const AUDIT_SIZE: &str = include_str!("../queries/audit_size.sql");
const AUDIT_RANGE: &str = include_str!("../queries/audit_range.sql");
const AUDIT_ENTRY: &str = include_str!("../queries/audit_entry.sql");
const AUDIT_LATEST_CHECKPOINT: &str = include_str!("../queries/audit_latest_checkpoint.sql");
const AUDIT_CHECKPOINT_AT_LEAST: &str = include_str!("../queries/audit_checkpoint_at_least.sql");
const AUDIT_INSERT_CHECKPOINT: &str = include_str!("../queries/audit_insert_checkpoint.sql");

/// One stored entry: its canonical bytes and the leaf hash stored beside them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    /// Sequence number (leaf index).
    pub seq: u64,
    /// Canonical encoding (schakel-audit).
    pub bytes: Vec<u8>,
    /// The leaf hash written when the entry was appended.
    pub leaf_hash: Hash,
    /// The authentication code the appending hub stored beside it
    /// (schakel-audit `LeafKey`), if it had the key.
    pub leaf_mac: Option<Hash>,
}

/// A signed checkpoint with the compact range at its size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// Tree size.
    pub size: u64,
    /// Root hash.
    pub root: Hash,
    /// The compact range (frontier) nodes at `size`, left to right.
    pub frontier: Vec<Hash>,
    /// The signed note text.
    pub note: String,
    /// When it was made.
    pub created_at: Timestamp,
}

pub(crate) fn hash_from(what: &'static str, bytes: &[u8]) -> Result<Hash, StoreError> {
    bytes.try_into().map_err(|_| StoreError::Corrupt(what))
}

pub(crate) fn seq_from(what: &'static str, v: i64) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(what))
}

/// A position or size as the database column holds it. Numbers beyond the
/// largest column value come from clients (`GetInclusionProof` with
/// sequence 2^64 − 1): they compare as that largest value and so find
/// nothing — an out-of-range question, not a corrupt log (which an operator
/// would be alarmed by).
pub(crate) fn to_i64(v: u64) -> Result<i64, StoreError> {
    Ok(i64::try_from(v).unwrap_or(i64::MAX))
}

/// Appends `$entry` (its `seq` and `time_ms` are assigned here) inside the
/// open write transaction `$tx`; evaluates to the sequence number.
macro_rules! append_audit_in_tx {
    ($tx:expr, $entry:expr, $now:expr, $leaf_key:expr) => {{
        use tracing::Instrument as _;
        let entry: schakel_audit::Entry = $entry;
        let now: jiff::Timestamp = $now;
        async {
            let next: i64 = sqlx::query_scalar($crate::audit::AUDIT_NEXT_SEQ)
                .fetch_one(&mut *$tx)
                .await
                .map_err(|e| StoreError::from_sqlx("audit log", e))?;
            let mut entry = entry;
            entry.seq = u64::try_from(next).map_err(|_| StoreError::Corrupt("audit head"))?;
            // The time is taken now that the head is locked, not when the
            // request began: a write that waited for the lock must not carry a
            // time before entries committed ahead of it. `$now` is a floor.
            let appended_at = std::cmp::max(now, jiff::Timestamp::now());
            entry.time_ms = u64::try_from(appended_at.as_millisecond()).unwrap_or(0);
            let bytes = entry.encode().map_err(StoreError::AuditEntry)?;
            let leaf = schakel_audit::leaf_hash(&bytes);
            // The hub's code over position and leaf (`schakel_audit::LeafKey`):
            // checked before a checkpoint covers the entry.
            let leaf_mac: Option<schakel_audit::Hash> =
                $leaf_key.map(|k: &schakel_audit::LeafKey| k.tag(entry.seq, &leaf));
            // The query columns, from the one function that also checks
            // them (`audit_index`).
            let index = $crate::audit_index::IndexRow::of(&entry);
            sqlx::query($crate::audit::AUDIT_INSERT)
                .bind(next)
                .bind(index.time_ms)
                .bind(&bytes[..])
                .bind(&leaf[..])
                .bind(index.actor_oin)
                .bind(index.action)
                .bind(index.subject)
                .bind(index.transfer_id)
                .bind(index.consent_id)
                .bind(index.user_id)
                .bind(index.purpose)
                .bind(leaf_mac.as_ref().map(|m| &m[..]))
                .execute(&mut *$tx)
                .await
                .map_err(|e| StoreError::from_sqlx("audit log", e))?;
            for party in &index.parties {
                sqlx::query($crate::audit::AUDIT_INSERT_PARTY)
                    .bind(next)
                    .bind(party.as_str())
                    .execute(&mut *$tx)
                    .await
                    .map_err(|e| StoreError::from_sqlx("audit log", e))?;
            }
            for (table, id) in &index.rows {
                sqlx::query($crate::audit::AUDIT_INSERT_ROW)
                    .bind(next)
                    .bind(table.as_str())
                    .bind(id.as_str())
                    .execute(&mut *$tx)
                    .await
                    .map_err(|e| StoreError::from_sqlx("audit log", e))?;
            }
            // The subtree hashes this entry completes (migration 0004).
            $crate::audit_nodes::append_nodes_in_tx!($tx, entry.seq, leaf);
            Ok::<u64, StoreError>(entry.seq)
        }
        .instrument(tracing::info_span!("audit.append"))
        .await?
    }};
}

/// Runs `$body` (which uses `&mut *$tx`, and evaluates to a
/// `Result<T, StoreError>`) in a write transaction, appends `$audit` in the
/// same transaction, and commits: the action and its audit entry are
/// stored together or not at all (DESIGN.md §7 property 3). An error before
/// the commit rolls both back.
///
/// With `rows = [(table, id), …]`, the entry commits to those rows as the
/// body left them (`row_commitments`), read back in the same transaction.
macro_rules! audited_write {
    ($store:expr, $what:literal, $audit:expr, $now:expr, $tx:ident => $body:expr) => {
        $crate::audit::audited_write!($store, $what, $audit, $now, rows = [], $tx => $body)
    };
    ($store:expr, $what:literal, $audit:expr, $now:expr, rows = $rows:expr, $tx:ident => $body:expr) => {
        $crate::pool::on_pool!($store, p => {
            let mut turn = $store.write_turn().await;
            let (mut $tx, made_on) = $crate::pool::BeginWrite::begin_write(p)
                .await
                .map_err(|e| StoreError::from_sqlx($what, e))?;
            let out = $body?;
            let mut audit: schakel_audit::Entry = $audit;
            let rows: &[(schakel_audit::RowTable, uuid::Uuid)] = &$rows;
            if !rows.is_empty() {
                audit.rows = $crate::row_commitments::commitments_in_tx(&mut *$tx, rows).await?;
            }
            $crate::audit::append_audit_in_tx!($tx, audit, $now, $store.leaf_key.as_deref());
            turn.committing();
            $tx.commit().await.map_err(|e| StoreError::from_sqlx($what, e))?;
            // Acknowledged only once a flush covers this commit (`durable`).
            turn.durable(made_on).await?;
            out
        })
    };
}
pub(crate) use {append_audit_in_tx, audited_write};

impl Store {
    /// Appends one entry in a transaction of its own (for events that are
    /// not part of another action: refused calls, privacy-officer queries).
    /// Returns its sequence number.
    #[tracing::instrument(name = "store.append_audit", skip_all)]
    pub async fn append_audit(&self, entry: Entry, now: Timestamp) -> Result<u64, StoreError> {
        on_pool!(self, p => {
            let mut turn = self.write_turn().await;
            let (mut tx, made_on) = crate::pool::BeginWrite::begin_write(p).await.map_err(|e| StoreError::from_sqlx("audit log", e))?;
            let seq = append_audit_in_tx!(tx, entry, now, self.leaf_key.as_deref());
            turn.committing();
            tx.commit().await.map_err(|e| StoreError::from_sqlx("audit log", e))?;
            turn.durable(made_on).await?;
            Ok(seq)
        })
    }

    /// Number of committed entries.
    #[tracing::instrument(name = "store.audit_size", skip_all)]
    pub async fn audit_size(&self) -> Result<u64, StoreError> {
        let n: i64 = on_pool!(self, p => sqlx::query_scalar(AUDIT_SIZE).fetch_one(p).await)
            .map_err(|e| StoreError::from_sqlx("audit log", e))?;
        seq_from("audit head", n)
    }

    /// Entries with `from <= seq < to`, in order.
    #[tracing::instrument(name = "store.audit_range", skip_all)]
    pub async fn audit_range(&self, from: u64, to: u64) -> Result<Vec<StoredEntry>, StoreError> {
        let (from, to) = (to_i64(from)?, to_i64(to)?);
        crate::records::fetch!(
            self,
            fetch_all,
            crate::records::EntryRecord,
            "audit log",
            AUDIT_RANGE,
            [from, to]
        )
    }

    /// The entry with this sequence number.
    #[tracing::instrument(name = "store.audit_entry", skip_all)]
    pub async fn audit_entry(&self, seq: u64) -> Result<Option<StoredEntry>, StoreError> {
        let seq = to_i64(seq)?;
        crate::records::fetch!(
            self,
            fetch_optional,
            crate::records::EntryRecord,
            "audit log",
            AUDIT_ENTRY,
            [seq]
        )
    }

    /// The largest checkpoint.
    #[tracing::instrument(name = "store.latest_checkpoint", skip_all)]
    pub async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        crate::records::fetch!(
            self,
            fetch_optional,
            crate::records::CheckpointRecord,
            "checkpoint",
            AUDIT_LATEST_CHECKPOINT,
            []
        )
    }

    /// The smallest checkpoint whose size is at least `size`.
    #[tracing::instrument(name = "store.checkpoint_covering", skip_all)]
    pub async fn checkpoint_covering(&self, size: u64) -> Result<Option<StoredCheckpoint>, StoreError> {
        let size = to_i64(size)?;
        crate::records::fetch!(
            self,
            fetch_optional,
            crate::records::CheckpointRecord,
            "checkpoint",
            AUDIT_CHECKPOINT_AT_LEAST,
            [size]
        )
    }

    /// Stores a checkpoint; `false` when one of that size exists already
    /// (another hub made it first).
    #[tracing::instrument(name = "store.insert_checkpoint", skip_all)]
    pub async fn insert_checkpoint(&self, cp: &StoredCheckpoint) -> Result<bool, StoreError> {
        let frontier: Vec<u8> = cp.frontier.concat();
        let size = to_i64(cp.size)?;
        on_pool!(self, p => {
            let mut turn = self.write_turn().await;
            let (mut tx, made_on) = crate::pool::BeginWrite::begin_write(p)
                .await
                .map_err(|e| StoreError::from_sqlx("checkpoint", e))?;
            let n = sqlx::query(AUDIT_INSERT_CHECKPOINT)
                .bind(size)
                .bind(&cp.root[..])
                .bind(frontier)
                .bind(&cp.note)
                .bind(cp.created_at.as_millisecond())
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::from_sqlx("checkpoint", e))?
                .rows_affected();
            turn.committing();
            tx.commit().await.map_err(|e| StoreError::from_sqlx("checkpoint", e))?;
            turn.durable(made_on).await?;
            Ok(n > 0)
        })
    }
}

/// Recomputes the leaf hash of stored bytes (what a checkpointer or verifier
/// trusts, rather than the stored copy).
pub fn recompute_leaf(entry: &StoredEntry) -> Hash {
    leaf_hash(&entry.bytes)
}
