//! Reading the audit log for privacy officers and auditors: entries visible
//! to one organisation, leaf hashes for proofs, every checkpoint, and a
//! verification of the whole stored log.

use std::collections::HashMap;

use jiff::Timestamp;
use schakel_audit::{
    AuditError, Checkpoint, CompactRange, Hash, LogVerifier, NodeId, Verifier, VerifyConfig, VerifyReport,
};
use sqlx::Row;
use uuid::Uuid;

use crate::audit::{StoredCheckpoint, StoredEntry, hash_from, to_i64};
use crate::pool::on_pool;
use crate::{Store, StoreError};

const AUDIT_QUERY: &str = include_str!("../queries/audit_query.sql");
const AUDIT_LEAVES: &str = include_str!("../queries/audit_leaves.sql");
const AUDIT_CHECKPOINTS: &str = include_str!("../queries/audit_checkpoints.sql");
const AUDIT_EXTENT: &str = include_str!("../queries/audit_extent.sql");
const TRANSFER_CLOSURES: &str = include_str!("../queries/transfer_closures.sql");

/// Entries are read in batches of this many when the whole log is walked.
const BATCH: u64 = 10_000;

/// Which entries a privacy officer asks for. Every field narrows the answer;
/// `visible_to` is not a filter but the scope: an organisation sees only
/// entries in which it is the actor or a party (DESIGN.md §4).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// OIN of the organisation asking.
    pub visible_to: String,
    /// Only entries about this subject pseudonym.
    pub subject: Option<String>,
    /// Only entries about this transfer (or expertise request).
    pub transfer_id: Option<Uuid>,
    /// Only entries about this consent.
    pub consent_id: Option<Uuid>,
    /// Only entries by this end user.
    pub user_id: Option<String>,
    /// Only entries under this purpose.
    pub purpose: Option<String>,
    /// Only these action names; empty = all.
    pub actions: Vec<String>,
    /// At or after.
    pub from: Option<Timestamp>,
    /// Before.
    pub until: Option<Timestamp>,
    /// Only entries with a sequence number below this (a query's snapshot).
    pub before_seq: Option<u64>,
}

/// How a transfer was closed, for the anomaly report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferClosure {
    /// The recipient declined it.
    Declined,
    /// The consent it rested on was withdrawn.
    Withdrawn,
    /// Its sealed content was purged (R15).
    Purged,
}

impl Store {
    /// Up to `limit` entries matching `q` with sequence number at least
    /// `from_seq`, in order. Action names are matched exactly.
    #[tracing::instrument(name = "store.audit_query", skip_all)]
    pub async fn audit_query(
        &self,
        q: &AuditQuery,
        from_seq: u64,
        limit: u32,
    ) -> Result<Vec<StoredEntry>, StoreError> {
        let actions = (!q.actions.is_empty()).then(|| format!(",{},", q.actions.join(",")));
        let ms = |t: Option<Timestamp>| t.map(|t| t.as_millisecond());
        let from_seq = to_i64(from_seq)?;
        let before_seq = q.before_seq.map(to_i64).transpose()?;
        crate::records::fetch!(
            self,
            fetch_all,
            crate::records::EntryRecord,
            "audit log",
            AUDIT_QUERY,
            [
                from_seq,
                &q.visible_to,
                q.subject.as_deref(),
                q.transfer_id.map(|u| u.to_string()),
                q.consent_id.map(|u| u.to_string()),
                q.user_id.as_deref(),
                q.purpose.as_deref(),
                ms(q.from),
                ms(q.until),
                actions.as_deref(),
                i64::from(limit),
                before_seq
            ]
        )
    }

    /// The stored leaf hashes of entries `from <= seq < to`, in order.
    #[tracing::instrument(name = "store.audit_leaves", skip_all)]
    pub async fn audit_leaves(&self, from: u64, to: u64) -> Result<Vec<Hash>, StoreError> {
        let (from_i, to_i) = (to_i64(from)?, to_i64(to)?);
        let raw: Vec<Vec<u8>> = on_pool!(self, p => sqlx::query_scalar(AUDIT_LEAVES)
            .bind(from_i)
            .bind(to_i)
            .fetch_all(p)
            .await)
        .map_err(|e| StoreError::from_sqlx("audit log", e))?;
        if raw.len() as u64 != to.saturating_sub(from) {
            return Err(StoreError::Corrupt("audit log (gap in sequence numbers)"));
        }
        raw.iter().map(|b| hash_from("audit leaf hash", b)).collect()
    }

    /// Every stored checkpoint, smallest first.
    #[tracing::instrument(name = "store.audit_checkpoints", skip_all)]
    pub async fn audit_checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StoreError> {
        crate::records::fetch!(
            self,
            fetch_all,
            crate::records::CheckpointRecord,
            "checkpoint",
            AUDIT_CHECKPOINTS,
            []
        )
    }

    /// Transfers of `oin` (as sender or recipient) that were declined,
    /// withdrawn or purged, with the moment that happened.
    #[tracing::instrument(name = "store.transfer_closures", skip_all)]
    pub async fn transfer_closures(
        &self,
        oin: &str,
    ) -> Result<HashMap<Uuid, (TransferClosure, Timestamp)>, StoreError> {
        on_pool!(self, p => {
            let rows = sqlx::query(TRANSFER_CLOSURES)
                .bind(oin)
                .fetch_all(p)
                .await
                .map_err(|e| StoreError::from_sqlx("transfer", e))?;
            let mut out = HashMap::with_capacity(rows.len());
            for r in rows {
                let id: String = r.try_get("transfer_id").map_err(|_| StoreError::Corrupt("transfer id"))?;
                let id = Uuid::parse_str(&id).map_err(|_| StoreError::Corrupt("transfer id"))?;
                let state: String = r.try_get("state").map_err(|_| StoreError::Corrupt("transfer state"))?;
                let at = |col: &str| -> Result<Option<i64>, StoreError> {
                    r.try_get(col).map_err(|_| StoreError::Corrupt("transfer time"))
                };
                let (kind, ms) = match (at("purged_at")?, at("withdrawn_at")?, at("decided_at")?) {
                    (Some(ms), _, _) => (TransferClosure::Purged, ms),
                    (None, Some(ms), _) if state == "withdrawn" => (TransferClosure::Withdrawn, ms),
                    (None, _, Some(ms)) if state == "declined" => (TransferClosure::Declined, ms),
                    _ => return Err(StoreError::Corrupt("transfer closure time")),
                };
                let at = Timestamp::from_millisecond(ms).map_err(|_| StoreError::Corrupt("transfer time"))?;
                out.insert(id, (kind, at));
            }
            Ok(out)
        })
    }

    /// Verifies the whole stored log: every entry decodes and sits at its
    /// own position, the stored leaf hashes match the entries, the tree
    /// matches every stored checkpoint (its signature checked with
    /// `verifier`) and every checkpoint in `extra` (ones a privacy officer
    /// kept), and every stored subtree hash (`audit_nodes`) is the hash of
    /// the entries it covers ([`AuditError::NodeMismatch`] names the first
    /// that is not, or one the log does not complete), and every consent,
    /// transfer and expertise request is what the latest entry that wrote it
    /// commits to ([`AuditError::RowMismatch`], `row_commitments`). The inner error
    /// names the first bad position; the outer one is a database failure.
    #[tracing::instrument(name = "store.verify_audit_log", skip_all)]
    pub async fn verify_audit_log(
        &self,
        verifier: &Verifier,
        extra: &[Checkpoint],
        config: VerifyConfig,
    ) -> Result<Result<VerifyReport, AuditError>, StoreError> {
        let mut checkpoints = Vec::new();
        for stored in self.audit_checkpoints().await? {
            // The signed note is what counts; the size and root columns are
            // copies for lookup.
            match Checkpoint::open(&stored.note, verifier) {
                Ok(cp) => checkpoints.push(cp),
                Err(e) => return Ok(Err(e)),
            }
        }
        checkpoints.extend(extra.iter().cloned());
        let mut verifier = LogVerifier::new(config);
        for cp in &checkpoints {
            if let Err(e) = verifier.add_checkpoint(cp) {
                return Ok(Err(e));
            }
        }
        // Walk to the end of the table, not only to the head: rows written
        // behind the head's back are checked too.
        let extent: i64 = on_pool!(self, p => sqlx::query_scalar(AUDIT_EXTENT).fetch_one(p).await)
            .map_err(|e| StoreError::from_sqlx("audit log", e))?;
        let head = self.audit_size().await?;
        let size = head.max(u64::try_from(extent).unwrap_or(0));
        // The subtree hashes (audit_nodes) are recomputed alongside, from the
        // stored leaf hashes: once the entries verify, those equal the
        // recomputed ones, so a node that differs was changed itself. It is
        // reported only then; a fault in the entries is named first.
        let mut tree = CompactRange::new();
        let mut bad_node: Option<NodeId> = None;
        // The first entry whose query columns differ from its bytes.
        let mut bad_index: Option<AuditError> = None;
        let mut from = 0;
        while from < size {
            let to = size.min(from + BATCH);
            let batch = self.audit_range(from, to).await?;
            let mut computed = HashMap::new();
            for entry in &batch {
                if let Err(e) = verifier.push(&entry.bytes, Some(&entry.leaf_hash)) {
                    return Ok(Err(e));
                }
                tree.push_with(entry.leaf_hash, |node, hash| {
                    computed.insert(node, *hash);
                });
            }
            if batch.is_empty() {
                // The head says there are more entries than the table holds.
                break;
            }
            if bad_node.is_none() {
                bad_node = self
                    .check_nodes(from, from + batch.len() as u64, &computed)
                    .await?;
            }
            if bad_index.is_none() {
                bad_index = self.check_audit_index(&batch).await?.err();
            }
            from = batch.last().map_or(to, |e| e.seq + 1).max(from + 1);
        }
        let report = verifier.finish();
        // Rows removed after the last checkpoint leave the head ahead of the
        // table (a checkpoint-covered removal is reported above).
        let report = match report {
            Ok(r) if r.end < head => Err(AuditError::Shortened {
                recorded: head,
                found: r.end,
            }),
            other => other,
        };
        let Ok(report) = report else {
            return Ok(report);
        };
        // A node for a subtree the log does not complete was added.
        if bad_node.is_none() {
            for level in 1..=62u8 {
                if let Some(index) = self.audit_node_beyond(level, report.end >> level).await? {
                    bad_node = Some(NodeId::new(level, index));
                    break;
                }
            }
        }
        // A changed subtree hash is named before a changed index column:
        // the nodes are hashes, the columns copies.
        match (bad_node, bad_index) {
            (Some(n), _) => {
                return Ok(Err(AuditError::NodeMismatch {
                    level: n.level,
                    index: n.index,
                }));
            }
            (None, Some(e)) => return Ok(Err(e)),
            (None, None) => {}
        }
        // The log holds; now the exchange's rows against what it says of them.
        Ok(self.verify_rows().await?.map(|_| report))
    }

    /// Compares the stored nodes completed by entries `from..to` with
    /// `computed`; the first that differs. Nodes not stored are no fault
    /// (see [`crate::audit_nodes`]).
    async fn check_nodes(
        &self,
        from: u64,
        to: u64,
        computed: &HashMap<NodeId, Hash>,
    ) -> Result<Option<NodeId>, StoreError> {
        // Entries from..to complete the nodes of level k with index in
        // from >> k .. to >> k.
        let mut level = 1u8;
        while level <= 62 && (to >> level) > (from >> level) {
            for (node, stored) in self
                .audit_nodes_of_level(level, from >> level, to >> level)
                .await?
            {
                if computed.get(&node) != Some(&stored) {
                    return Ok(Some(node));
                }
            }
            level += 1;
        }
        Ok(None)
    }
}
