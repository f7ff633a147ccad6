//! Load generator and benchmark harness of schakel (issue 7).
//!
//! It starts real hubs in this process on loopback (the development PKI and
//! demo region, SQLite or a throwaway PostgreSQL cluster), drives them over
//! mutual TLS with realistic documents, and measures — in the same run —
//! the baselines each product figure is compared with: a bare tonic echo
//! over the same mTLS (transport), single-row durable commits of the same
//! ciphertext bytes (storage), SHA-256 and age sealing alone (CPU). Every
//! product figure is printed next to its baselines with the ratio, because
//! absolute numbers on shared machines are noisy. See `docs/performance.md`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod auditdb;
pub mod docs;
pub mod echo;
pub mod hubs;
pub mod micro;
pub mod report;
pub mod rss;
pub mod stats;
pub mod storage;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use prost::Message as _;

use crate::docs::DocSize;
use crate::report::{Report, Row};
use crate::stats::Measured;

/// The scenarios, in run order; `--only` takes any of these names.
pub const SCENARIOS: [&str; 11] = [
    "echo",
    "raw",
    "crypto",
    "submit-sqlite",
    "inbox",
    "submit-pg",
    "submit-pg2",
    "size",
    "audit",
    "audit-db",
    "rss",
];

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Measured time per cell.
    pub duration: Duration,
    /// Unmeasured warm-up per cell.
    pub warmup: Duration,
    /// Scenario names to run (empty: all).
    pub only: Vec<String>,
    /// Everything tiny: a few seconds in all (CI).
    pub smoke: bool,
    /// Concurrency levels (calls in flight).
    pub concurrency: Vec<usize>,
    /// Connections the load spreads over (at most the concurrency).
    pub connections: usize,
    /// Audit entries for the verification run.
    pub audit_entries: u64,
    /// Log sizes for the proof timings (in memory, and from a SQLite file
    /// through the store).
    pub proof_sizes: Vec<u64>,
    /// Proofs of each kind timed per size from the database.
    pub db_proofs: usize,
    /// Stored transfers at which the hub's memory is read (ascending).
    pub rss_sizes: Vec<u64>,
}

impl Options {
    /// The full run: `duration` per cell, concurrency 1, 16, 64 over 4
    /// connections, audit figures at 1 M and 10 M entries.
    pub fn full(duration: Duration) -> Self {
        Self {
            duration,
            warmup: Duration::from_secs(1).min(duration / 4),
            only: Vec::new(),
            smoke: false,
            concurrency: vec![1, 16, 64],
            connections: 4,
            audit_entries: 10_000_000,
            proof_sizes: vec![1_000_000, 10_000_000],
            db_proofs: 201,
            rss_sizes: vec![100_000],
        }
    }

    /// The CI smoke run: every scenario once, tiny.
    pub fn smoke() -> Self {
        Self {
            duration: Duration::from_millis(250),
            warmup: Duration::from_millis(50),
            only: Vec::new(),
            smoke: true,
            concurrency: vec![1, 4],
            connections: 2,
            audit_entries: 5_000,
            proof_sizes: vec![5_000],
            db_proofs: 21,
            rss_sizes: vec![300],
        }
    }

    fn wants(&self, name: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| o == name)
    }

    fn top(&self) -> usize {
        self.concurrency.iter().copied().max().unwrap_or(1)
    }
}

/// A PostgreSQL database URL for a scenario, or why there is none.
fn postgres_url() -> Result<String, String> {
    let cluster = schakel_testkit::shared_cluster().ok_or("no PostgreSQL server binaries on this machine")?;
    cluster.create_database()
}

fn per_s(m: &Measured) -> f64 {
    m.rate()
}

/// Runs the selected scenarios and returns the report.
pub async fn run(opts: &Options) -> anyhow::Result<Report> {
    for o in &opts.only {
        anyhow::ensure!(
            SCENARIOS.contains(&o.as_str()),
            "unknown scenario {o}; one of {}",
            SCENARIOS.join(", ")
        );
    }
    let started = Instant::now();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut r = Report::new(threads, opts);
    let env = hubs::Env::new()?;
    let (d, w) = (opts.duration, opts.warmup);
    let full_doc = docs::plaintexts(DocSize::Full);
    let (two, _) = micro::keys(2);
    let submit_len = docs::handover(&docs::bsn(1), &uuid::Uuid::nil().to_string(), DocSize::Full)
        .encode_to_vec()
        .len();
    let sealed_len = micro::sealed_bytes(&full_doc, &two)?;
    r.note(format!(
        "Full overgangsdocument: SubmitRequest {submit_len} bytes on the wire, 8 groups; sealed as one unit to 2 recipients: {sealed_len} bytes of ciphertext."
    ));
    for size in [DocSize::Small, DocSize::Large] {
        let len = docs::handover(&docs::bsn(1), "", size).encode_to_vec().len();
        let sealed = micro::sealed_bytes(&docs::plaintexts(size), &two)?;
        r.note(format!(
            "{} document: SubmitRequest {len} bytes, {} groups, {sealed} bytes sealed.",
            size.name(),
            docs::group_names(size).len()
        ));
    }

    // --- Baselines -------------------------------------------------------
    if opts.wants("echo")
        || opts.wants("submit-sqlite")
        || opts.wants("submit-pg")
        || opts.wants("submit-pg2")
    {
        let pki = env.pki()?;
        let server = echo::start(&pki).await?;
        for &c in &opts.concurrency {
            let mut clients = Vec::new();
            for _ in 0..opts.connections.min(c) {
                clients.push(echo::connect(&pki, server.addr).await?);
            }
            let clients = Arc::new(clients);
            let payload = bytes_of(submit_len);
            let m = stats::drive(c, w, d, move |wk, _| {
                let mut client = clients[wk % clients.len()].clone();
                let msg = echo::pb::EchoMessage {
                    payload: payload.clone(),
                };
                async move {
                    let back = client.echo(msg).await?.into_inner();
                    anyhow::ensure!(back.payload.len() == submit_len, "echo changed the payload");
                    Ok(())
                }
            })
            .await?;
            r.push(Row::calls(
                format!("echo.c{c}"),
                format!("baseline: tonic mTLS echo, {submit_len} B, c={c}"),
                &m,
            ));
        }
        server.stop().await;
    }
    let raw_data = Arc::new(vec![0xa5u8; sealed_len]);
    if opts.wants("raw") || opts.wants("submit-sqlite") {
        let db = storage::RawDb::sqlite(&env.path("raw.db"), 8).await?;
        for &c in &opts.concurrency {
            let m = storage::measure(&db, raw_data.clone(), c, w, d).await?;
            r.push(Row::calls(
                format!("raw.sqlite.c{c}"),
                format!("baseline: SQLite WAL FULL single-row commit of {sealed_len} B, c={c}"),
                &m,
            ));
        }
        db.close().await;
    }
    if opts.wants("raw") || opts.wants("submit-pg") || opts.wants("submit-pg2") {
        match postgres_url() {
            Err(e) => r.note(format!("PostgreSQL baselines skipped: {e}")),
            Ok(url) => {
                for conns in [8u32, 16] {
                    let db = storage::RawDb::postgres(&url, conns).await?;
                    for &c in &opts.concurrency {
                        if conns == 16 && c != opts.top() {
                            continue;
                        }
                        let m = storage::measure(&db, raw_data.clone(), c, w, d).await?;
                        r.push(Row::calls(
                            format!("raw.pg{conns}.c{c}"),
                            format!("baseline: PostgreSQL single-row commit of {sealed_len} B, {conns} conns, c={c}"),
                            &m,
                        ));
                    }
                    db.close().await;
                }
            }
        }
    }
    if opts.wants("crypto") || opts.wants("audit") || opts.wants("submit-sqlite") || opts.wants("inbox") {
        let cpu = d.min(Duration::from_secs(3));
        let len = micro::entry_len()?;
        let m = micro::sha256(len, 1, cpu);
        r.push(Row::rate(
            "sha.1".into(),
            format!("baseline: SHA-256 of {len} B (one audit entry), 1 thread"),
            per_s(&m),
            "hashes/s",
        ));
        let m = micro::seal_per_group(&full_doc, &two, threads, cpu);
        r.push(Row::rate(
            "seal.full.2".into(),
            format!("before issue 7: age seal of the full document per group (8 groups) to 2 recipients, {threads} threads"),
            per_s(&m),
            "docs/s",
        ));
        let m = micro::seal_once(&full_doc, &two, threads, cpu);
        r.push(Row::rate(
            "seal.once.2".into(),
            format!(
                "baseline: age seal of the full document as one unit (as the hub seals) to 2 recipients, {threads} threads"
            ),
            per_s(&m),
            "docs/s",
        ));
        let m = micro::open_per_group(&full_doc, threads, cpu)?;
        r.push(Row::rate(
            "open.full".into(),
            format!("before issue 7: age open of the full document per group (8 groups), {threads} threads"),
            per_s(&m),
            "docs/s",
        ));
        let m = micro::open_once(&full_doc, threads, cpu)?;
        r.push(Row::rate(
            "open.once".into(),
            format!(
                "baseline: age open of the full document as one unit (as the client opens), {threads} threads"
            ),
            per_s(&m),
            "docs/s",
        ));
    }

    // --- Product: SQLite -------------------------------------------------
    let top = opts.top();
    if opts.wants("submit-sqlite") || opts.wants("inbox") {
        let url = format!("sqlite://{}", env.path("hub.db").display());
        let hubs = env.start_hubs(&url, 1).await?;
        let school = env.connect(&hubs, "mbo-school", opts.connections).await?;
        let subjects = hubs::subjects(&school[0], top, DocSize::Full, "sqlite").await?;
        for &c in &opts.concurrency {
            let conns = &school[..opts.connections.min(c)];
            let m = hubs::submit(conns, &subjects, c, w, d).await?;
            r.push(
                Row::calls(
                    format!("submit.sqlite.c{c}"),
                    format!("submit, SQLite, 1 hub, c={c}"),
                    &m,
                )
                .vs(&format!("echo.c{c}"))
                .vs(&format!("raw.sqlite.c{c}"))
                .vs("seal.once.2"),
            );
        }
        if opts.wants("inbox") {
            let gemeente = env
                .connect(&hubs, "gemeente-participatiewet", opts.connections)
                .await?;
            let mut ids = hubs::inbox_ids(&gemeente[0]).await?;
            if ids.is_empty() {
                // Only `inbox` was asked for: fill the inbox first.
                hubs::submit(&school, &subjects, top, Duration::ZERO, d).await?;
                ids = hubs::inbox_ids(&gemeente[0]).await?;
            }
            r.note(format!("Inbox of the SQLite hub: {} transfers.", ids.len()));
            let c = top.min(16);
            let m = hubs::list(&gemeente[..opts.connections.min(c)], 100, c, w, d).await?;
            r.push(
                Row::calls(
                    "list.sqlite".into(),
                    format!("inbox list, page of 100, SQLite, c={c}"),
                    &m,
                )
                .vs(&format!("echo.c{c}")),
            );
            let identities = env.gemeente_identities()?;
            for &c in &opts.concurrency {
                let conns = &gemeente[..opts.connections.min(c)];
                let m = hubs::fetch_open(conns, ids.clone(), identities.clone(), c, w, d).await?;
                r.push(
                    Row::calls(
                        format!("fetch.sqlite.c{c}"),
                        format!("fetch + open (client), SQLite, c={c}"),
                        &m,
                    )
                    .vs(&format!("echo.c{c}"))
                    .vs(&format!("raw.sqlite.c{c}"))
                    .vs("open.once"),
                );
            }
        }
        // What an inclusion proof costs the hub before hashing: every leaf
        // hash of the log read from the database.
        let store = hubs.hubs[0].store().clone();
        let size = store.audit_size().await?;
        let t = Instant::now();
        let leaves = store.audit_leaves(0, size).await?;
        let secs = t.elapsed().as_secs_f64();
        r.push(Row::rate(
            "leaves.sqlite".into(),
            format!(
                "audit_leaves(0, {}) read from SQLite (how proofs began before the stored subtree hashes; now only their fallback)",
                leaves.len()
            ),
            leaves.len() as f64 / secs.max(1e-9),
            "leaves/s",
        ));
        hubs.stop().await;
    }

    // --- Product: PostgreSQL, one and two hubs ---------------------------
    for (name, n) in [("submit-pg", 1usize), ("submit-pg2", 2)] {
        if !opts.wants(name) {
            continue;
        }
        let url = match postgres_url() {
            Ok(u) => u,
            Err(e) => {
                r.note(format!("{name} skipped: {e}"));
                continue;
            }
        };
        let hubs = env.start_hubs(&url, n).await?;
        let conns_n = opts.connections.max(n);
        let school = env.connect(&hubs, "mbo-school", conns_n).await?;
        let subjects = hubs::subjects(&school[0], top, DocSize::Full, name).await?;
        for &c in &opts.concurrency {
            // At least one connection to every hub.
            let conns = &school[..conns_n.min(c.max(n))];
            let m = hubs::submit(conns, &subjects, c, w, d).await?;
            let raw = if n == 2 && c == top {
                format!("raw.pg16.c{c}")
            } else {
                format!("raw.pg8.c{c}")
            };
            r.push(
                Row::calls(
                    format!("submit.pg{n}.c{c}"),
                    format!("submit, PostgreSQL, {n} hub(s), c={c}"),
                    &m,
                )
                .vs(&format!("echo.c{c}"))
                .vs(&raw),
            );
        }
        hubs.stop().await;
    }

    // --- How cost grows with document size and recipients ----------------
    if opts.wants("size") {
        let cpu = d.min(Duration::from_secs(2));
        for size in [DocSize::Small, DocSize::Full, DocSize::Large] {
            let doc = docs::plaintexts(size);
            let m = micro::seal_once(&doc, &two, 1, cpu);
            r.push(Row::rate(
                format!("seal.1t.{}", size.name()),
                format!(
                    "age seal as one unit, {} document, 2 recipients, 1 thread",
                    size.name()
                ),
                per_s(&m),
                "docs/s",
            ));
        }
        for n in [1usize, 2, 3, 4] {
            let (keys, _) = micro::keys(n);
            let m = micro::seal_once(&full_doc, &keys, 1, cpu);
            r.push(Row::rate(
                format!("seal.1t.r{n}"),
                format!("age seal as one unit, full document, {n} recipient(s), 1 thread"),
                per_s(&m),
                "docs/s",
            ));
        }
        let url = format!("sqlite://{}", env.path("size.db").display());
        let hubs = env.start_hubs(&url, 1).await?;
        let school = env.connect(&hubs, "mbo-school", opts.connections).await?;
        let c = top;
        let sd = d / 2;
        for size in [DocSize::Small, DocSize::Large] {
            let subjects = hubs::subjects(&school[0], c, size, size.name()).await?;
            let m = hubs::submit(&school[..opts.connections.min(c)], &subjects, c, w, sd).await?;
            r.push(
                Row::calls(
                    format!("submit.sqlite.{}", size.name()),
                    format!("submit, SQLite, {} document, c={c}", size.name()),
                    &m,
                )
                .vs(&format!("submit.sqlite.c{c}"))
                .vs(&format!("seal.1t.{}", size.name())),
            );
        }
        // More recipients: a second valid key for the gemeente (3), then
        // for the school too (4), as during key rotations.
        let subjects = hubs::subjects(&school[0], c, DocSize::Full, "keys").await?;
        for (n, oin, f) in [
            (
                3,
                docs::GEMEENTE_OIN,
                schakel_domain::FunctionKind::Participatiewet,
            ),
            (4, "00000003999990001000", schakel_domain::FunctionKind::School),
        ] {
            hubs::add_key(&hubs, oin, f).await?;
            let m = hubs::submit(&school[..opts.connections.min(c)], &subjects, c, w, sd).await?;
            r.push(
                Row::calls(
                    format!("submit.sqlite.r{n}"),
                    format!("submit, SQLite, full document sealed to {n} recipients, c={c}"),
                    &m,
                )
                .vs(&format!("submit.sqlite.c{c}"))
                .vs(&format!("seal.1t.r{n}")),
            );
        }
        hubs.stop().await;
    }

    // --- Audit log ----------------------------------------------------------
    if opts.wants("audit") {
        let n = opts.audit_entries;
        let (entries, secs) = tokio::task::spawn_blocking(move || micro::verify(n)).await??;
        r.push(
            Row::rate(
                "audit.verify".into(),
                format!("audit verification (LogVerifier), {entries} entries, 1 thread"),
                entries as f64 / secs.max(1e-9),
                "entries/s",
            )
            .vs("sha.1"),
        );
        for &size in &opts.proof_sizes {
            let p = tokio::task::spawn_blocking(move || micro::proofs(size, 3)).await??;
            r.push(
                Row::millis(
                    format!("proof.inclusion.{size}"),
                    format!("inclusion proof over {size} leaves in memory (as the hub computes it)"),
                    p.inclusion_ms,
                )
                .vs(&format!("proof.verify.{size}")),
            );
            r.push(Row::millis(
                format!("proof.consistency.{size}"),
                format!("consistency proof over {size} leaves in memory"),
                p.consistency_ms,
            ));
            r.push(Row::millis(
                format!("proof.verify.{size}"),
                format!("baseline: checking an inclusion proof at {size} (log n hashes)"),
                p.verify_ms,
            ));
        }
    }
    if opts.wants("audit-db") {
        for &size in &opts.proof_sizes {
            let f = auditdb::measure(&env.env, &env.path(""), size, opts.db_proofs).await?;
            r.push(
                Row::millis(
                    format!("proof.db.inclusion.{size}"),
                    format!(
                        "inclusion proof from SQLite through the store (audit_subtree_hashes), {size} entries, median of {}",
                        f.repeats
                    ),
                    f.inclusion_ms,
                )
                .vs(&format!("proof.verify.{size}"))
                .vs(&format!("proof.inclusion.{size}")),
            );
            r.push(
                Row::millis(
                    format!("proof.db.consistency.{size}"),
                    format!(
                        "consistency proof from SQLite through the store, {size} entries, median of {}",
                        f.repeats
                    ),
                    f.consistency_ms,
                )
                .vs(&format!("proof.verify.{size}"))
                .vs(&format!("proof.consistency.{size}")),
            );
            r.push(Row::millis(
                format!("startup.{size}"),
                format!("hub start on a SQLite log of {size} entries until it serves (connect, migrations, subtree-hash check, listener)"),
                f.start_ms,
            ));
            r.push(Row::millis(
                format!("startup.checkpoint.{size}"),
                "checkpoint right after that start, nothing appended since (O(1): resumes from the stored one)".into(),
                f.checkpoint_after_start_ms,
            ));
            r.push(Row::millis(
                format!("startup.connect.{size}"),
                "Store::connect alone on that file".into(),
                f.connect_ms,
            ));
            r.push(Row::millis(
                format!("startup.first_checkpoint.{size}"),
                format!(
                    "first checkpoint of a log without one: replays and re-checks all {size} entries, O(n)"
                ),
                f.first_checkpoint_ms,
            ));
            r.push(Row::millis(
                format!("startup.backfill.{size}"),
                format!(
                    "first Store::connect after the upgrade to migration 0004: fills in {} subtree hashes, once, O(n)",
                    f.backfilled_nodes
                ),
                f.backfill_ms,
            ));
            r.note(format!(
                "Synthetic SQLite log of {size} entries built in {:.1} s; {:.0} MB on disk with its subtree hashes.",
                f.build_s,
                f.file_bytes as f64 / 1e6
            ));
        }
    }

    // --- Hub memory with many stored transfers -----------------------------
    if opts.wants("rss") {
        let work = d.min(Duration::from_secs(3));
        for row in rss::measure(&env, &opts.rss_sizes, opts.connections, work).await? {
            r.push(row);
        }
    }
    r.note(format!(
        "Total run time: {:.0} s.",
        started.elapsed().as_secs_f64()
    ));
    Ok(r)
}

fn bytes_of(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// The figures of a report by key (for tests and tools).
pub fn figures(r: &Report) -> BTreeMap<String, f64> {
    r.rows().iter().map(|row| (row.key.clone(), row.value)).collect()
}
