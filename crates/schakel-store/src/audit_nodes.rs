//! Stored subtree hashes of the audit log's Merkle tree (`audit_nodes`,
//! migration 0004), so proofs read O(log n) rows instead of every leaf hash.
//!
//! Row `(level, idx)` holds the root of the complete, aligned subtree over
//! entries `idx << level .. (idx + 1) << level` (level ≥ 1; level 0 is
//! `audit_log.leaf_hash`). Appending entry `i` writes, in the same
//! transaction and under the same audit-head lock, every node `i` completes
//! ([`schakel_audit::nodes_completed_by`]): on average one point read (its
//! left sibling) and one insert per entry. A node is written only when its
//! left child is stored, so a stored node always has both children stored.
//!
//! # Logs appended before migration 0004
//!
//! They have no nodes. [`Store::connect`] fills them in once, after the
//! migrations ([`Store::backfill_audit_nodes`]): in transactions of 2^16
//! entries, children before parents, idempotent (`ON CONFLICT DO NOTHING`),
//! and only when a node of the current tree's right edge is missing (O(log n)
//! point reads otherwise). Besides that, proofs never depend on it: a node
//! that is missing anyway (a hub of an older version still appending during
//! a rolling upgrade, a backfill that failed) is recomputed from its children
//! or, low in the tree, from its leaf hashes, which is what every proof cost
//! before. Nodes are trusted as much as the stored leaf hashes were: a
//! changed node gives a proof that fails against the signed checkpoint, and
//! [`Store::verify_audit_log`] recomputes every node from the entries.

use std::collections::HashMap;
use std::future::Future;
use std::ops::Range;
use std::pin::Pin;

use schakel_audit::{CompactRange, Hash, NodeId, fold_range, node_hash, range_nodes, root};
use sqlx::Row;

use crate::audit::{hash_from, to_i64};
use crate::pool::on_pool;
use crate::{Store, StoreError};

pub(crate) const AUDIT_NODE_INSERT: &str = include_str!("../queries/audit_node_insert.sql");
pub(crate) const AUDIT_NODES_LEVEL: &str = include_str!("../queries/audit_nodes_level.sql");
pub(crate) const AUDIT_NODES_BEYOND: &str = include_str!("../queries/audit_nodes_beyond.sql");

/// Node lookups per query; more are split over several.
pub(crate) const LOOKUP_CHUNK: usize = 128;
/// Rows per INSERT statement when the backfill writes nodes.
const INSERT_CHUNK: usize = 300;
/// A missing node this low is recomputed from its (at most 2^10) leaf
/// hashes; a higher one from its children.
const LEAF_READ_LEVEL: u8 = 10;
/// The backfill computes subtrees of 2^16 entries from their leaf hashes,
/// one transaction each.
const BACKFILL_LEVEL: u8 = 16;
/// Rounds of backfill at connect: appends by other hubs while it runs can
/// leave new gaps behind; they are few, and proofs cope with them anyway.
const BACKFILL_ROUNDS: usize = 3;

/// One lookup query: node terms and leaf terms, each padded with repeats to
/// a multiple of 8 so that few distinct statements are prepared.
pub(crate) struct Lookup {
    pub(crate) sql: String,
    pub(crate) nodes: Vec<(i32, i64)>,
    pub(crate) leaves: Vec<i64>,
}

impl Lookup {
    pub(crate) fn new(ids: &[NodeId]) -> Result<Self, StoreError> {
        let mut nodes = Vec::new();
        let mut leaves = Vec::new();
        for id in ids {
            if id.level == 0 {
                leaves.push(to_i64(id.index)?);
            } else {
                nodes.push((i32::from(id.level), to_i64(id.index)?));
            }
        }
        fn pad<T: Copy>(v: &mut Vec<T>) {
            if let Some(&last) = v.last() {
                while !v.len().is_multiple_of(8) {
                    v.push(last);
                }
            }
        }
        pad(&mut nodes);
        pad(&mut leaves);
        let mut sql = String::new();
        let mut n = 0;
        if !nodes.is_empty() {
            // Each term is one primary-key lookup (SQLite: a multi-index OR,
            // PostgreSQL: a BitmapOr).
            sql.push_str("SELECT level, idx, hash FROM audit_nodes WHERE ");
            for i in 0..nodes.len() {
                if i > 0 {
                    sql.push_str(" OR ");
                }
                sql.push_str(&format!("(level = ${} AND idx = ${})", n + 1, n + 2));
                n += 2;
            }
        }
        if !leaves.is_empty() {
            if !sql.is_empty() {
                sql.push_str(" UNION ALL ");
            }
            sql.push_str("SELECT 0 AS level, seq AS idx, leaf_hash AS hash FROM audit_log WHERE seq IN (");
            for i in 0..leaves.len() {
                if i > 0 {
                    sql.push_str(", ");
                }
                n += 1;
                sql.push_str(&format!("${n}"));
            }
            sql.push(')');
        }
        Ok(Self { sql, nodes, leaves })
    }
}

/// The stored hashes of the nodes `$ids` (`&[NodeId]`; level 0 from
/// `audit_log`) read through executor `$exec`, as a `HashMap`; nodes not
/// stored are absent. Evaluates to `Result<_, StoreError>`.
macro_rules! lookup_nodes {
    ($exec:expr, $ids:expr) => {{
        let ids: &[schakel_audit::NodeId] = $ids;
        async {
            let mut found: std::collections::HashMap<schakel_audit::NodeId, schakel_audit::Hash> =
                std::collections::HashMap::with_capacity(ids.len());
            for chunk in ids.chunks($crate::audit_nodes::LOOKUP_CHUNK) {
                let plan = $crate::audit_nodes::Lookup::new(chunk)?;
                if plan.sql.is_empty() {
                    continue;
                }
                let mut q = sqlx::query(sqlx::AssertSqlSafe(plan.sql));
                for (level, idx) in &plan.nodes {
                    q = q.bind(*level).bind(*idx);
                }
                for seq in &plan.leaves {
                    q = q.bind(*seq);
                }
                let rows = q
                    .fetch_all($exec)
                    .await
                    .map_err(|e| StoreError::from_sqlx("audit node", e))?;
                for r in rows {
                    let level: i32 = sqlx::Row::try_get(&r, "level")
                        .map_err(|_| StoreError::Corrupt("audit node level"))?;
                    let idx: i64 =
                        sqlx::Row::try_get(&r, "idx").map_err(|_| StoreError::Corrupt("audit node index"))?;
                    let hash: Vec<u8> =
                        sqlx::Row::try_get(&r, "hash").map_err(|_| StoreError::Corrupt("audit node hash"))?;
                    let id = schakel_audit::NodeId::new(
                        u8::try_from(level).map_err(|_| StoreError::Corrupt("audit node level"))?,
                        $crate::audit::seq_from("audit node index", idx)?,
                    );
                    found.insert(id, $crate::audit::hash_from("audit node hash", &hash)?);
                }
            }
            Ok::<_, StoreError>(found)
        }
        .await
    }};
}

/// Writes the nodes entry `$seq` (with leaf hash `$leaf`) completes, inside
/// the open write transaction `$tx` that appends it (the audit head is
/// locked). Reads their left children; stops below the first one that is
/// not stored (see the module documentation).
macro_rules! append_nodes_in_tx {
    ($tx:expr, $seq:expr, $leaf:expr) => {{
        let seq: u64 = $seq;
        let leaf: schakel_audit::Hash = $leaf;
        let siblings: Vec<schakel_audit::NodeId> = schakel_audit::left_siblings(seq).collect();
        if !siblings.is_empty() {
            let found = $crate::audit_nodes::lookup_nodes!(&mut *$tx, &siblings)?;
            let left: Vec<schakel_audit::Hash> =
                siblings.iter().map_while(|s| found.get(s).copied()).collect();
            if left.len() < siblings.len() {
                tracing::debug!(
                    level = siblings[left.len()].level,
                    "audit node below is not stored yet; left to the backfill"
                );
            }
            for (node, hash) in
                schakel_audit::complete_nodes(seq, leaf, &left).map_err(StoreError::AuditEntry)?
            {
                sqlx::query($crate::audit_nodes::AUDIT_NODE_INSERT)
                    .bind(i32::from(node.level))
                    .bind($crate::audit::to_i64(node.index)?)
                    .bind(&hash[..])
                    .execute(&mut *$tx)
                    .await
                    .map_err(|e| StoreError::from_sqlx("audit log", e))?;
            }
        }
    }};
}
pub(crate) use {append_nodes_in_tx, lookup_nodes};

/// `INSERT … ON CONFLICT DO NOTHING` of `rows` rows.
fn insert_ignore_sql(rows: usize) -> String {
    let mut sql = String::from("INSERT INTO audit_nodes (level, idx, hash) VALUES ");
    for i in 0..rows {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3));
    }
    sql.push_str(" ON CONFLICT (level, idx) DO NOTHING");
    sql
}

type Filled<'a> = Pin<Box<dyn Future<Output = Result<(Hash, u64), StoreError>> + Send + 'a>>;

impl Store {
    /// The stored hashes of `ids` (level 0 from `audit_log`); absent when not stored.
    pub(crate) async fn lookup_nodes(&self, ids: &[NodeId]) -> Result<HashMap<NodeId, Hash>, StoreError> {
        on_pool!(self, p => lookup_nodes!(p, ids))
    }

    /// The hash of each leaf range of `ranges` (RFC 9162 MTH over those
    /// entries' stored leaf hashes), read from the stored subtree hashes:
    /// O(log n) rows in one or two queries for the ranges a proof needs.
    /// Give it the ranges of [`schakel_audit::inclusion_proof_ranges`] or
    /// [`schakel_audit::consistency_proof_ranges`] and it returns the proof.
    /// A range that is not made of complete, aligned subtrees is
    /// [`StoreError::NotFound`]; one beyond the log is
    /// [`StoreError::Corrupt`], as for [`Store::audit_leaves`].
    #[tracing::instrument(name = "store.audit_subtree_hashes", skip_all)]
    pub async fn audit_subtree_hashes(&self, ranges: &[Range<u64>]) -> Result<Vec<Hash>, StoreError> {
        let parts: Vec<Vec<NodeId>> = ranges
            .iter()
            .map(|r| range_nodes(r.clone()))
            .collect::<Result<_, _>>()
            .map_err(|_| StoreError::NotFound("audit subtree"))?;
        let mut want: Vec<NodeId> = parts.iter().flatten().copied().collect();
        want.sort_unstable();
        want.dedup();
        let known = self.node_hashes(want).await?;
        parts
            .iter()
            .map(|p| {
                let hashes: Vec<Hash> = p
                    .iter()
                    .map(|n| known.get(n).copied().ok_or(StoreError::Corrupt("audit node")))
                    .collect::<Result<_, _>>()?;
                Ok(fold_range(&hashes))
            })
            .collect()
    }

    /// Hashes of `want`; a node that is not stored is recomputed from its
    /// children (recursively) or, at level [`LEAF_READ_LEVEL`] and below,
    /// from its leaf hashes.
    async fn node_hashes(&self, want: Vec<NodeId>) -> Result<HashMap<NodeId, Hash>, StoreError> {
        let mut known = HashMap::with_capacity(want.len());
        let mut combine = Vec::new();
        let mut pending = want;
        while !pending.is_empty() {
            let found = self.lookup_nodes(&pending).await?;
            let mut next = Vec::new();
            for n in pending {
                if let Some(h) = found.get(&n) {
                    known.insert(n, *h);
                    continue;
                }
                match n.children() {
                    None => return Err(StoreError::Corrupt("audit log (gap in sequence numbers)")),
                    Some(_) if n.level <= LEAF_READ_LEVEL => {
                        let r = n.range();
                        let leaves = self.audit_leaves(r.start, r.end).await?;
                        known.insert(n, root(&leaves));
                    }
                    Some((l, r)) => {
                        next.push(l);
                        next.push(r);
                        combine.push(n);
                    }
                }
            }
            next.sort_unstable();
            next.dedup();
            next.retain(|n| !known.contains_key(n));
            pending = next;
        }
        if !combine.is_empty() {
            tracing::debug!(
                nodes = combine.len(),
                "audit nodes not stored; recomputed from below"
            );
        }
        combine.sort_unstable_by_key(|n| n.level);
        for n in combine {
            if let Some((l, r)) = n.children()
                && let (Some(lh), Some(rh)) = (known.get(&l), known.get(&r))
            {
                let h = node_hash(lh, rh);
                known.insert(n, h);
            }
        }
        Ok(known)
    }

    /// Fills in the subtree hashes of entries appended before migration 0004
    /// (or by a hub of an older version). Runs at [`Store::connect`]; does
    /// nothing (O(log n) point reads) when the nodes of the tree's right edge
    /// are stored, since a stored node implies stored children. Otherwise it
    /// computes the missing subtrees from the stored leaf hashes, 2^16
    /// entries per transaction, children before parents, so it can stop at
    /// any point and resume. Returns the number of nodes written.
    #[tracing::instrument(name = "store.backfill_audit_nodes", skip_all)]
    pub async fn backfill_audit_nodes(&self) -> Result<u64, StoreError> {
        let mut written = 0;
        for _ in 0..BACKFILL_ROUNDS {
            let size = self.audit_size().await?;
            if size == 0 {
                break;
            }
            let edge: Vec<NodeId> = range_nodes(0..size)
                .map_err(StoreError::AuditEntry)?
                .into_iter()
                .filter(|n| n.level > 0)
                .collect();
            let found = self.lookup_nodes(&edge).await?;
            let missing: Vec<NodeId> = edge.into_iter().filter(|n| !found.contains_key(n)).collect();
            if missing.is_empty() {
                break;
            }
            tracing::info!(entries = size, "audit subtree hashes missing; filling them in");
            let started = std::time::Instant::now();
            for n in missing {
                written += self.fill_node(n).await?.1;
            }
            tracing::info!(
                nodes = written,
                ms = started.elapsed().as_millis() as u64,
                "audit subtree hashes filled in"
            );
        }
        Ok(written)
    }

    /// The hash of `node`, writing it and whatever is missing below it.
    fn fill_node(&self, node: NodeId) -> Filled<'_> {
        Box::pin(async move {
            if let Some(h) = self.lookup_nodes(&[node]).await?.get(&node) {
                return Ok((*h, 0));
            }
            let Some((l, r)) = node.children() else {
                return Err(StoreError::Corrupt("audit log (gap in sequence numbers)"));
            };
            if node.level <= BACKFILL_LEVEL {
                let range = node.range();
                let leaves = self.audit_leaves(range.start, range.end).await?;
                let mut nodes = Vec::with_capacity(leaves.len());
                let mut tree = CompactRange::new();
                for leaf in &leaves {
                    tree.push_with(*leaf, |n, h| {
                        nodes.push((NodeId::new(n.level, n.index + (range.start >> n.level)), *h));
                    });
                }
                self.insert_nodes(&nodes).await?;
                return Ok((tree.root(), nodes.len() as u64));
            }
            let (lh, a) = self.fill_node(l).await?;
            let (rh, b) = self.fill_node(r).await?;
            let h = node_hash(&lh, &rh);
            self.insert_nodes(&[(node, h)]).await?;
            Ok((h, a + b + 1))
        })
    }

    /// Inserts nodes in one write transaction, keeping any already stored.
    async fn insert_nodes(&self, nodes: &[(NodeId, Hash)]) -> Result<(), StoreError> {
        on_pool!(self, p => {
            let mut turn = self.write_turn().await;
            let (mut tx, made_on) = crate::pool::BeginWrite::begin_write(p)
                .await
                .map_err(|e| StoreError::from_sqlx("audit node", e))?;
            for chunk in nodes.chunks(INSERT_CHUNK) {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(insert_ignore_sql(chunk.len())));
                for (n, h) in chunk {
                    q = q.bind(i32::from(n.level)).bind(to_i64(n.index)?).bind(h.to_vec());
                }
                q.execute(&mut *tx)
                    .await
                    .map_err(|e| StoreError::from_sqlx("audit node", e))?;
            }
            turn.committing();
            tx.commit().await.map_err(|e| StoreError::from_sqlx("audit node", e))?;
            turn.durable(made_on).await
        })
    }

    /// The stored nodes of `level` with index in `from..to`, in order
    /// (verification).
    pub(crate) async fn audit_nodes_of_level(
        &self,
        level: u8,
        from: u64,
        to: u64,
    ) -> Result<Vec<(NodeId, Hash)>, StoreError> {
        let (from, to) = (to_i64(from)?, to_i64(to)?);
        on_pool!(self, p => {
            let rows = sqlx::query(AUDIT_NODES_LEVEL)
                .bind(i32::from(level))
                .bind(from)
                .bind(to)
                .fetch_all(p)
                .await
                .map_err(|e| StoreError::from_sqlx("audit node", e))?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                let idx: i64 = r.try_get("idx").map_err(|_| StoreError::Corrupt("audit node index"))?;
                let hash: Vec<u8> = r.try_get("hash").map_err(|_| StoreError::Corrupt("audit node hash"))?;
                out.push((
                    NodeId::new(level, crate::audit::seq_from("audit node index", idx)?),
                    hash_from("audit node hash", &hash)?,
                ));
            }
            Ok(out)
        })
    }

    /// The first stored node of `level` at or after index `from`
    /// (verification: a node the log does not complete).
    pub(crate) async fn audit_node_beyond(&self, level: u8, from: u64) -> Result<Option<u64>, StoreError> {
        let from = to_i64(from)?;
        let idx: Option<i64> = on_pool!(self, p => sqlx::query_scalar(AUDIT_NODES_BEYOND)
            .bind(i32::from(level))
            .bind(from)
            .fetch_optional(p)
            .await)
        .map_err(|e| StoreError::from_sqlx("audit node", e))?;
        idx.map(|i| crate::audit::seq_from("audit node index", i))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;
    use schakel_audit::{
        Action, Actor, Entry, Hash, Outcome, SpanId, TraceContext, TraceId, consistency_proof,
        consistency_proof_ranges, inclusion_proof, inclusion_proof_ranges,
    };

    use crate::{Store, StoreError, StoreOptions};

    fn entry(i: u64) -> Entry {
        Entry {
            seq: 0,
            time_ms: 0,
            actor: Actor {
                oin: Some("00000001999990014000".into()),
                function: Some("admin".into()),
                user_id: Some(format!("beheerder-{i}")),
                user_role: None,
                acting_for: None,
            },
            action: Action::AdminChange,
            outcome: Outcome::Success,
            activity: None,
            legal_basis: None,
            subject: None,
            transfer_id: None,
            consent_id: None,
            groups: Vec::new(),
            parties: Vec::new(),
            trace: TraceContext {
                trace_id: TraceId::from_bytes([7; 16]).expect("trace id"),
                span_id: SpanId::from_bytes([9; 8]).expect("span id"),
            },
            rows: Vec::new(),
            attempts: None,
            flags: Vec::new(),
            justification_marks: Vec::new(),
        }
    }

    async fn append(store: &Store, n: u64) {
        for i in 0..n {
            store
                .append_audit(entry(i), Timestamp::now())
                .await
                .expect("append");
        }
    }

    async fn leaves(store: &Store) -> Vec<Hash> {
        let size = store.audit_size().await.expect("size");
        store.audit_leaves(0, size).await.expect("leaves")
    }

    /// Every inclusion and consistency proof of every size up to the log's,
    /// from the stored nodes, equals the one from all leaf hashes.
    async fn proofs_match_leaves(store: &Store) {
        let all = leaves(store).await;
        for size in 1..=all.len() as u64 {
            let l = &all[..size as usize];
            for i in 0..size {
                let got = store
                    .audit_subtree_hashes(&inclusion_proof_ranges(i, size).expect("ranges"))
                    .await
                    .expect("inclusion");
                assert_eq!(
                    got,
                    inclusion_proof(l, i).expect("proof"),
                    "inclusion {i} of {size}"
                );
            }
            for old in 0..=size {
                let got = store
                    .audit_subtree_hashes(&consistency_proof_ranges(old, size).expect("ranges"))
                    .await
                    .expect("consistency");
                assert_eq!(
                    got,
                    consistency_proof(l, old).expect("proof"),
                    "consistency {old} to {size}"
                );
            }
        }
    }

    async fn count(store: &Store) -> i64 {
        crate::pool::on_pool!(store, p => sqlx::query_scalar("SELECT COUNT(*) FROM audit_nodes").fetch_one(p).await)
            .expect("count")
    }

    async fn exec(store: &Store, sql: &'static str) {
        crate::pool::on_pool!(store, p => sqlx::query(sql).execute(p).await.map(|_| ())).expect(sql);
    }

    async fn disable_triggers(store: &Store) {
        match store.backend() {
            crate::Backend::Sqlite => {
                exec(store, "DROP TRIGGER audit_nodes_no_delete").await;
            }
            crate::Backend::Postgres => {
                exec(store, "ALTER TABLE audit_nodes DISABLE TRIGGER USER").await;
            }
        }
    }

    async fn appends_write_every_node_and_proofs_use_them(store: Store, _url: String) {
        append(&store, 37).await;
        assert_eq!(count(&store).await, 37 - 3, "n - popcount(n) complete subtrees");
        proofs_match_leaves(&store).await;
        let e = store
            .audit_subtree_hashes(std::slice::from_ref(&(3..5)))
            .await
            .unwrap_err();
        assert!(matches!(e, StoreError::NotFound(_)), "{e}");
        let e = store
            .audit_subtree_hashes(std::slice::from_ref(&(32..40)))
            .await
            .unwrap_err();
        assert!(matches!(e, StoreError::Corrupt(_)), "{e}");
    }

    async fn a_log_without_nodes_is_filled_in_at_connect(store: Store, url: String) {
        append(&store, 45).await;
        disable_triggers(&store).await;
        exec(&store, "DELETE FROM audit_nodes").await;
        // Proofs recompute what is missing.
        proofs_match_leaves(&store).await;
        // Appends after the upgrade cannot form nodes above a missing one.
        append(&store, 3).await;
        assert!(count(&store).await < 48 - 2);
        proofs_match_leaves(&store).await;
        store.close().await;
        let store = Store::connect(&StoreOptions::new(url.clone()))
            .await
            .expect("connect");
        assert_eq!(count(&store).await, 48 - 2, "filled in");
        assert_eq!(
            store.backfill_audit_nodes().await.expect("again"),
            0,
            "idempotent"
        );
        // Holes in the middle: the right edge is there, the rest is not.
        exec(&store, "DELETE FROM audit_nodes WHERE level < 3").await;
        proofs_match_leaves(&store).await;
        append(&store, 16).await;
        proofs_match_leaves(&store).await;
        store.close().await;
    }

    async fn sqlite() -> (Store, String, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}", dir.path().join("nodes.db").display());
        let store = Store::connect(&StoreOptions::new(url.clone()))
            .await
            .expect("connect");
        (store, url, dir)
    }

    async fn postgres() -> Option<(Store, String)> {
        let Some(url) = schakel_testkit::fresh_postgres_url() else {
            assert_ne!(
                std::env::var("CI").as_deref(),
                Ok("true"),
                "PostgreSQL is required in CI"
            );
            return None;
        };
        let store = Store::connect(&StoreOptions::new(url.clone()))
            .await
            .expect("connect");
        Some((store, url))
    }

    macro_rules! on_both {
        ($($name:ident),*) => {
            mod sqlite {
                $(
                    #[tokio::test]
                    async fn $name() {
                        let (store, url, _dir) = super::sqlite().await;
                        super::$name(store, url).await;
                    }
                )*
            }
            mod postgres {
                $(
                    #[tokio::test]
                    async fn $name() {
                        let Some((store, url)) = super::postgres().await else { return };
                        super::$name(store, url).await;
                    }
                )*
            }
        };
    }

    on_both!(
        appends_write_every_node_and_proofs_use_them,
        a_log_without_nodes_is_filled_in_at_connect
    );
}
