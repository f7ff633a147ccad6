//! Audit proofs served from the database through the store, and what a hub
//! does at start, on a large synthetic log in a real SQLite file.
//!
//! The log is built fast: realistic entries (as [`micro::entry`]) inserted
//! directly in big transactions, without the hub and without their subtree
//! hashes, i.e. a log as it stands after an upgrade to migration 0004. Then,
//! in this order and each timed:
//!
//! 1. `Store::connect` fills in the subtree hashes once (the upgrade);
//! 2. the hub's checkpointer signs the first checkpoint: it replays every
//!    entry since the latest checkpoint (here: all of them), O(n);
//! 3. the hub starts on the file (connect, migrations, the subtree-hash
//!    check, listener, background jobs) and signs again (nothing new: O(1));
//! 4. inclusion and consistency proofs through `Store::audit_subtree_hashes`,
//!    each checked against the root computed while building.

use std::net::SocketAddr;
use std::path::Path;
use std::str::FromStr;
use std::time::Instant;

use schakel_audit::{
    CompactRange, Hash, consistency_proof, consistency_proof_ranges, inclusion_proof, inclusion_proof_ranges,
    leaf_hash, verify_consistency, verify_inclusion,
};
use schakel_hub::checkpoint::Checkpointer;
use schakel_hub::dev::DevEnvironment;
use schakel_store::{Store, StoreOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::micro;

/// Entries per build transaction.
const TX_ENTRIES: u64 = 100_000;
/// Rows per INSERT statement while building.
const ROWS_PER_INSERT: u64 = 80;

/// Figures of one log size.
#[derive(Debug, Clone)]
pub struct DbFigures {
    /// Entries in the log.
    pub size: u64,
    /// Building the synthetic log (seconds; entries only).
    pub build_s: f64,
    /// Database file size in bytes after everything (WAL checkpointed).
    pub file_bytes: u64,
    /// First `Store::connect`: migrations plus filling in the subtree hashes (ms).
    pub backfill_ms: f64,
    /// Subtree hashes written by it.
    pub backfilled_nodes: u64,
    /// The first checkpoint over the whole log: replay of every entry (ms).
    pub first_checkpoint_ms: f64,
    /// `schakel_hub::start` on the file until it serves (ms).
    pub start_ms: f64,
    /// The checkpoint right after start, nothing appended since (ms).
    pub checkpoint_after_start_ms: f64,
    /// `Store::connect` on the filled-in file (ms).
    pub connect_ms: f64,
    /// Median inclusion proof through the store (ms).
    pub inclusion_ms: f64,
    /// Median consistency proof through the store (ms).
    pub consistency_ms: f64,
    /// Proofs timed of each kind.
    pub repeats: usize,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// A fixed pseudo-random sequence (splitmix64), so runs are comparable.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Inserts `size` synthetic entries into the (migrated) SQLite file at
/// `url`; returns their tree, and every leaf hash when `keep_leaves`.
async fn insert_entries(
    url: &str,
    size: u64,
    keep_leaves: bool,
) -> anyhow::Result<(CompactRange, Vec<Hash>)> {
    let opts = SqliteConnectOptions::from_str(url)?
        .journal_mode(SqliteJournalMode::Wal)
        // A scratch file: durability does not matter while building.
        .synchronous(SqliteSynchronous::Off);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await?;
    let mut tree = CompactRange::new();
    let mut kept = Vec::new();
    let mut seq = 0u64;
    while seq < size {
        let end = (seq + TX_ENTRIES).min(size);
        let mut tx = pool.begin().await?;
        while seq < end {
            let rows = ROWS_PER_INSERT.min(end - seq);
            let mut sql = String::from(
                "INSERT INTO audit_log (seq, time_ms, entry, leaf_hash, actor_oin, action, subject, transfer_id, consent_id, user_id, purpose) VALUES ",
            );
            for r in 0..rows {
                let b = r * 11;
                if r > 0 {
                    sql.push_str(", ");
                }
                sql.push('(');
                for c in 1..=11 {
                    if c > 1 {
                        sql.push_str(", ");
                    }
                    sql.push_str(&format!("${}", b + c));
                }
                sql.push(')');
            }
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            // The party index rows, as the store writes them (the
            // checkpointer checks them against the entries).
            let mut parties: Vec<(i64, String)> = Vec::new();
            for i in seq..seq + rows {
                let e = micro::entry(i);
                parties.extend(e.parties.iter().map(|p| (i as i64, p.clone())));
                let bytes = e.encode()?;
                let leaf = leaf_hash(&bytes);
                tree.push(leaf);
                if keep_leaves {
                    kept.push(leaf);
                }
                q = q
                    .bind(i64::try_from(i)?)
                    .bind(i64::try_from(e.time_ms)?)
                    .bind(bytes)
                    .bind(leaf.to_vec())
                    .bind(e.actor.oin.clone())
                    .bind(e.action.as_str().to_owned())
                    .bind(e.subject.clone())
                    .bind(e.transfer_id.map(|u| u.to_string()))
                    .bind(e.consent_id.map(|u| u.to_string()))
                    .bind(e.actor.user_id.clone())
                    .bind(e.activity.as_ref().map(|a| a.purpose.clone()));
            }
            q.execute(&mut *tx).await?;
            for chunk in parties.chunks(ROWS_PER_INSERT as usize * 5) {
                let mut sql = String::from("INSERT INTO audit_parties (seq, oin) VALUES ");
                for r in 0..chunk.len() {
                    if r > 0 {
                        sql.push_str(", ");
                    }
                    sql.push_str(&format!("(${}, ${})", 2 * r + 1, 2 * r + 2));
                }
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for (seq, oin) in chunk {
                    q = q.bind(*seq).bind(oin.clone());
                }
                q.execute(&mut *tx).await?;
            }
            seq += rows;
        }
        sqlx::query("UPDATE audit_head SET next_seq = $1 WHERE id = 1")
            .bind(i64::try_from(end)?)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&pool)
        .await?;
    pool.close().await;
    Ok((tree, kept))
}

/// Rows of `audit_nodes`.
async fn count_nodes(url: &str) -> anyhow::Result<u64> {
    let pool = SqlitePoolOptions::new().max_connections(1).connect(url).await?;
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_nodes")
        .fetch_one(&pool)
        .await?;
    pool.close().await;
    Ok(u64::try_from(n)?)
}

/// Builds a log of `size` entries in `dir` and measures it (see the module
/// documentation). `repeats` proofs of each kind.
pub async fn measure(
    env: &DevEnvironment,
    dir: &Path,
    size: u64,
    repeats: usize,
) -> anyhow::Result<DbFigures> {
    anyhow::ensure!(size >= 2, "a log of at least two entries");
    let path = dir.join(format!("audit-{size}.db"));
    let url = format!("sqlite://{}", path.display());
    let small = size <= 100_000;

    // The schema, then the entries directly.
    let store = Store::connect(&StoreOptions::new(&url)).await?;
    anyhow::ensure!(store.audit_size().await? == 0, "a fresh file");
    store.close().await;
    let t = Instant::now();
    let (tree, leaves) = insert_entries(&url, size, small).await?;
    let build_s = t.elapsed().as_secs_f64();
    let root = tree.root();

    // 1. The upgrade: the first connect fills in the subtree hashes.
    let t = Instant::now();
    let store = Store::connect(&StoreOptions::new(&url)).await?;
    let backfill_ms = t.elapsed().as_secs_f64() * 1e3;
    anyhow::ensure!(store.audit_size().await? == size, "the head counts every entry");
    anyhow::ensure!(
        store.backfill_audit_nodes().await? == 0,
        "connect left subtree hashes to fill in"
    );
    let backfilled_nodes = count_nodes(&url).await?;
    anyhow::ensure!(
        backfilled_nodes == size - u64::from(size.count_ones()),
        "every complete subtree of level 1 and up is stored"
    );

    // 2. The first checkpoint replays the whole log.
    let listen: SocketAddr = "127.0.0.1:0".parse()?;
    let cfg = env.hub_config(listen, &url)?;
    let signer = cfg.audit_signer.clone();
    let checkpointer = Checkpointer::new(store.clone(), signer.clone(), None).expect("checkpointer");
    let t = Instant::now();
    let cp = checkpointer
        .checkpoint_now()
        .await
        .map_err(|e| anyhow::anyhow!("first checkpoint: {e}"))?;
    let first_checkpoint_ms = t.elapsed().as_secs_f64() * 1e3;
    anyhow::ensure!(
        cp.size == size && cp.root == root,
        "the checkpoint signs the built tree"
    );
    store.close().await;

    // 3. A hub starts on the file and is asked for a checkpoint.
    let t = Instant::now();
    let hub = schakel_hub::start(cfg).await?;
    let start_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let again = Checkpointer::new(hub.store().clone(), signer, None)
        .expect("checkpointer")
        .checkpoint_now()
        .await
        .map_err(|e| anyhow::anyhow!("checkpoint after start: {e}"))?;
    let checkpoint_after_start_ms = t.elapsed().as_secs_f64() * 1e3;
    anyhow::ensure!(again.size >= size, "the hub resumed from the checkpoint");
    hub.shutdown().await;

    // 4. Proofs through the store, as the hub's two RPCs read them.
    let t = Instant::now();
    let store = Store::connect(&StoreOptions::new(&url)).await?;
    let connect_ms = t.elapsed().as_secs_f64() * 1e3;
    let mut inc = Vec::with_capacity(repeats);
    let mut con = Vec::with_capacity(repeats);
    // One unmeasured round first: the connection and statement caches.
    for r in 0..=repeats {
        let index = mix(r as u64) % size;
        let t = Instant::now();
        let ranges = inclusion_proof_ranges(index, size)?;
        let proof = store.audit_subtree_hashes(&ranges).await?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        let leaf = leaf_hash(&micro::entry(index).encode()?);
        verify_inclusion(&leaf, index, size, &proof, &root)?;
        if small {
            anyhow::ensure!(
                proof == inclusion_proof(&leaves, index)?,
                "same as from every leaf"
            );
        }
        if r > 0 {
            inc.push(ms);
        }

        let old = 1 + mix(r as u64 + 1_000_000) % (size - 1);
        let t = Instant::now();
        let ranges = consistency_proof_ranges(old, size)?;
        let proof = store.audit_subtree_hashes(&ranges).await?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        let old_root = store
            .audit_subtree_hashes(std::slice::from_ref(&(0..old)))
            .await?[0];
        verify_consistency(old, size, &old_root, &root, &proof)?;
        if small {
            anyhow::ensure!(
                proof == consistency_proof(&leaves, old)?,
                "same as from every leaf"
            );
        }
        if r > 0 {
            con.push(ms);
        }
    }
    store.close().await;
    let file_bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    // The file is large; the run's scratch directory goes at the end anyway.
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    Ok(DbFigures {
        size,
        build_s,
        file_bytes,
        backfill_ms,
        backfilled_nodes,
        first_checkpoint_ms,
        start_ms,
        checkpoint_after_start_ms,
        connect_ms,
        inclusion_ms: median(inc),
        consistency_ms: median(con),
        repeats,
    })
}
