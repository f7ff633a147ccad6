//! DESIGN.md §4 and §7 property 4, end to end: the audit log a real hub
//! wrote detects every change an attacker with the database owner's rights
//! makes (modification, removal, reordering, truncation, insertion), naming
//! the position; several hubs on one PostgreSQL keep one gapless, verifiable
//! log; and on PostgreSQL the hub's own role (deploy/postgres/roles.sql)
//! cannot change or remove entries even with the triggers off.
//!
//! Each tampering runs on a fresh hub on both backends. The hub is stopped
//! before the attack (so its checkpointer cannot sign over the result), the
//! attacker works on the database directly, and the log is then verified
//! with `Store::verify_audit_log` against every stored checkpoint plus the
//! two a privacy officer kept.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use schakel_audit::{
    Action, AuditError, Checkpoint, Entry, NodeId, RowTable, Verifier, VerifyConfig, VerifyReport, leaf_hash,
    verify_consistency, verify_inclusion,
};
use schakel_e2e::flow::*;
use schakel_e2e::{Db, TestHub, on_both_backends};
use schakel_hub::dev::DevEnvironment;
use schakel_proto::v1 as pb;
use schakel_proto::v1::audit_service_client::AuditServiceClient;
use schakel_proto::v1::consent_service_client::ConsentServiceClient;
use schakel_proto::v1::expertise_service_client::ExpertiseServiceClient;
use schakel_proto::v1::inbox_service_client::InboxServiceClient;
use schakel_proto::v1::transfer_service_client::TransferServiceClient;
use schakel_store::{AuditQuery, Store, StoreOptions};
use sqlx::{AssertSqlSafe, PgPool, SqlitePool};
use tonic::transport::Channel;

const ROLES_SQL: &str = include_str!("../../deploy/postgres/roles.sql");
const USER: &str = "medewerker-42";

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// `n` distinct fictitious BSNs (9999xxxxx that pass the elfproef).
fn test_bsns(n: usize) -> Vec<String> {
    (999_900_000u32..999_999_999)
        .map(|c| c.to_string())
        .filter(|s| s.parse::<schakel_domain::Bsn>().is_ok())
        .take(n)
        .collect()
}

/// A channel to the hub at `url` as demo party `party`.
async fn channel_at(env: &DevEnvironment, url: &str, party: &str) -> Channel {
    schakel_client::Profile::load(env.profile(party))
        .expect("profile")
        .with_hub(url)
        .connect()
        .await
        .expect("connect")
        .channel()
}

fn clients_on(ch: Channel) -> Clients {
    Clients {
        consent: ConsentServiceClient::new(ch.clone()),
        transfer: TransferServiceClient::new(ch.clone()),
        inbox: InboxServiceClient::new(ch.clone()),
        expertise: ExpertiseServiceClient::new(ch),
    }
}

/// A fresh checkpoint, signed by the hub, as a privacy officer keeps it
/// (the note, opened with the pinned verifier).
async fn fresh_checkpoint(officer: &mut AuditServiceClient<Channel>, verifier: &Verifier) -> Checkpoint {
    let r = officer
        .get_checkpoint(req(pb::GetCheckpointRequest { fresh: true }))
        .await
        .expect("fresh checkpoint")
        .into_inner();
    let note = r.checkpoint.expect("checkpoint").note;
    Checkpoint::open(&note, verifier).expect("checkpoint signed by the hub's key")
}

async fn fetch(werk: &mut Clients, transfer_id: &str) {
    werk.inbox
        .fetch(req(pb::FetchRequest {
            transfer_id: transfer_id.into(),
            purpose: "handover.school_to_gemeente".into(),
        }))
        .await
        .expect("fetch");
}

/// Verifies the stored log of `url` against its stored checkpoints and `kept`.
async fn verify(url: &str, verifier: &Verifier, kept: &[Checkpoint]) -> Result<VerifyReport, AuditError> {
    let store = Store::connect(&StoreOptions::new(url)).await.expect("store");
    let out = store
        .verify_audit_log(verifier, kept, VerifyConfig::default())
        .await
        .expect("database answers");
    store.close().await;
    out
}

/// The checkpoint sizes that bracket position `p`: the first checkpoint
/// covering it (size > p) and the last one before it (size <= p, 0 if none),
/// i.e. the `RootMismatch { size, after }` a change at `p` must produce.
fn bracket(sizes: &[u64], p: u64) -> (u64, u64) {
    let size = sizes
        .iter()
        .copied()
        .filter(|&s| s > p)
        .min()
        .expect("a checkpoint covers the position");
    let after = sizes.iter().copied().filter(|&s| s <= p).max().unwrap_or(0);
    (size, after)
}

/// The log a tamper test starts from.
struct Built {
    /// The hub's database (its owner's / the superuser's URL).
    url: String,
    verifier: Verifier,
    /// The two checkpoints the privacy officer kept: early (A) and final (B).
    kept: Vec<Checkpoint>,
    /// Log size (= B's size).
    size: u64,
    /// An entry between A and B, by the school's end user: the one attacked.
    p: u64,
    /// Decoded entries, in order.
    entries: Vec<Entry>,
    /// The stopped hub; it holds the SQLite file's directory, and can be
    /// started again on the tampered database.
    hub: TestHub,
}

impl Built {
    /// Sizes of every stored checkpoint and every kept one, ascending.
    async fn checkpoint_sizes(&self) -> Vec<u64> {
        let store = Store::connect(&StoreOptions::new(&self.url))
            .await
            .expect("store");
        let mut sizes: Vec<u64> = store
            .audit_checkpoints()
            .await
            .expect("checkpoints")
            .iter()
            .map(|c| c.size)
            .chain(self.kept.iter().map(|c| c.size))
            .collect();
        store.close().await;
        sizes.sort_unstable();
        sizes.dedup();
        sizes
    }
}

/// Five consents and handovers from the school and one fetch by the
/// gemeente, with a checkpoint kept after the second handover (A) and one at
/// the end (B); then the hub stops.
async fn build_log(mut t: TestHub) -> Built {
    let verifier = t.env.audit_verifier().expect("verifier");
    let bsns = test_bsns(5);
    let mut kept = Vec::new();
    {
        let mut school = clients(&t, "mbo-school").await;
        let mut werk = clients(&t, "gemeente-participatiewet").await;
        let mut officer = AuditServiceClient::new(t.connect("gemeente-privacy-officer").await.channel());
        let mut sent = Vec::new();
        for (i, bsn) in bsns.iter().enumerate() {
            if i == 2 {
                kept.push(fresh_checkpoint(&mut officer, &verifier).await);
            }
            let consent = give_consent(&mut school, bsn, &format!("consent-{i}")).await;
            let s = submit_ok(&mut school, handover(bsn, &consent, &format!("submit-{i}"))).await;
            sent.push(s.transfer_id);
        }
        fetch(&mut werk, &sent[4]).await;
        kept.push(fresh_checkpoint(&mut officer, &verifier).await);
    }
    let size = t.audit_size().await;
    t.stop().await;
    let (a, b) = (kept[0].size, kept[1].size);
    assert_eq!(b, size, "the final checkpoint covers the whole log");
    assert_eq!(
        b - a,
        3 + 3 + 1,
        "three consents, three handovers and a fetch after A"
    );

    let store = Store::connect(&StoreOptions::new(&t.db_url))
        .await
        .expect("store");
    let stored = store.audit_range(0, size).await.expect("range");
    store.close().await;
    let entries: Vec<Entry> = stored
        .iter()
        .map(|e| Entry::decode(&e.bytes).expect("decodes"))
        .collect();
    let p = entries
        .iter()
        .find(|e| e.seq > a && e.actor.user_id.as_deref() == Some(USER))
        .expect("an entry by the school's user after A")
        .seq;
    assert!(p + 2 < b, "p={p} b={b}");
    Built {
        url: t.db_url.clone(),
        verifier,
        kept,
        size,
        p,
        entries,
        hub: t,
    }
}

// ---------------------------------------------------------------------------
// The attacker: direct database access with the owner's rights
// ---------------------------------------------------------------------------

enum Raw {
    Sqlite(SqlitePool),
    Pg(PgPool),
}

macro_rules! raw {
    ($r:expr, $p:ident => $body:expr) => {
        match $r {
            Raw::Sqlite($p) => $body,
            Raw::Pg($p) => $body,
        }
    };
}

/// One stored row of audit_log.
struct Row {
    time_ms: i64,
    entry: Vec<u8>,
    leaf: Vec<u8>,
}

impl Raw {
    async fn open(url: &str) -> Self {
        if url.starts_with("sqlite:") {
            Raw::Sqlite(SqlitePool::connect(url).await.expect("sqlite"))
        } else {
            Raw::Pg(PgPool::connect(url).await.expect("postgres"))
        }
    }

    async fn exec(&self, sql: &str) -> Result<u64, sqlx::Error> {
        let sql = AssertSqlSafe(sql.to_owned());
        raw!(self, p => sqlx::query(sql).execute(p).await.map(|r| r.rows_affected()))
    }

    /// Turns off the append-only protection the way a database owner can.
    async fn disable_protection(&self) {
        let stmts: &[&str] = match self {
            Raw::Sqlite(_) => &[
                "DROP TRIGGER audit_log_no_update",
                "DROP TRIGGER audit_log_no_delete",
                "DROP TRIGGER audit_parties_no_update",
                "DROP TRIGGER audit_parties_no_delete",
                "DROP TRIGGER audit_checkpoints_no_update",
                "DROP TRIGGER audit_checkpoints_no_delete",
                "DROP TRIGGER audit_nodes_no_update",
                "DROP TRIGGER audit_nodes_no_delete",
                "DROP TRIGGER audit_rows_no_update",
                "DROP TRIGGER audit_rows_no_delete",
            ],
            Raw::Pg(_) => &[
                "ALTER TABLE audit_log DISABLE TRIGGER USER",
                "ALTER TABLE audit_parties DISABLE TRIGGER USER",
                "ALTER TABLE audit_checkpoints DISABLE TRIGGER USER",
                "ALTER TABLE audit_nodes DISABLE TRIGGER USER",
                "ALTER TABLE audit_rows DISABLE TRIGGER USER",
            ],
        };
        for s in stmts {
            self.exec(s).await.unwrap_or_else(|e| panic!("{s}: {e}"));
        }
    }

    async fn row(&self, seq: u64) -> Row {
        let seq = i64::try_from(seq).expect("seq");
        let (time_ms, entry, leaf): (i64, Vec<u8>, Vec<u8>) = raw!(self, p =>
            sqlx::query_as("SELECT time_ms, entry, leaf_hash FROM audit_log WHERE seq = $1")
                .bind(seq)
                .fetch_one(p)
                .await)
        .expect("row");
        Row { time_ms, entry, leaf }
    }

    /// Overwrites the entry bytes (and, if given, the stored leaf hash) of
    /// row `seq`.
    async fn set_entry(&self, seq: u64, entry: &[u8], leaf: Option<&[u8]>) {
        let seq = i64::try_from(seq).expect("seq");
        let n = raw!(self, p => sqlx::query("UPDATE audit_log SET entry = $1 WHERE seq = $2")
            .bind(entry)
            .bind(seq)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))
        .expect("update entry");
        assert_eq!(n, 1);
        if let Some(leaf) = leaf {
            self.set_leaf(seq as u64, leaf).await;
        }
    }

    async fn set_leaf(&self, seq: u64, leaf: &[u8]) {
        let seq = i64::try_from(seq).expect("seq");
        let n = raw!(self, p => sqlx::query("UPDATE audit_log SET leaf_hash = $1 WHERE seq = $2")
            .bind(leaf)
            .bind(seq)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))
        .expect("update leaf hash");
        assert_eq!(n, 1);
    }

    async fn set_time(&self, seq: u64, time_ms: i64) {
        let seq = i64::try_from(seq).expect("seq");
        raw!(self, p => sqlx::query("UPDATE audit_log SET time_ms = $1 WHERE seq = $2")
            .bind(time_ms)
            .bind(seq)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))
        .expect("update time");
    }

    /// The (seq, oin) rows of audit_parties from `from` on.
    async fn parties_from(&self, from: u64) -> Vec<(i64, String)> {
        let from = i64::try_from(from).expect("seq");
        raw!(self, p => sqlx::query_as("SELECT seq, oin FROM audit_parties WHERE seq >= $1 ORDER BY seq")
            .bind(from)
            .fetch_all(p)
            .await)
        .expect("parties")
    }

    /// Removes the rows with `from <= seq < to` (their parties first, as
    /// the foreign key wants); the number of log rows removed.
    async fn delete_range(&self, from: u64, to: u64) -> u64 {
        let (from, to) = (i64::try_from(from).expect("seq"), i64::try_from(to).expect("seq"));
        for table in ["audit_parties", "audit_rows"] {
            let sql = AssertSqlSafe(format!("DELETE FROM {table} WHERE seq >= $1 AND seq < $2"));
            raw!(self, p => sqlx::query(sql)
                .bind(from)
                .bind(to)
                .execute(p)
                .await
                .map(|r| r.rows_affected()))
            .expect("delete index rows");
        }
        raw!(self, p => sqlx::query("DELETE FROM audit_log WHERE seq >= $1 AND seq < $2")
            .bind(from)
            .bind(to)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))
        .expect("delete entries")
    }

    /// Inserts `forged` at `at`, moving every later row one place up: the
    /// sequence column only (the entry bytes keep their old numbers), or,
    /// with `renumber`, also re-encoding each moved entry with its new
    /// number and rewriting its leaf hash, as a thorough attacker would.
    async fn insert_shifted(&self, at: u64, forged: &Entry, renumber: bool) {
        let at_i = i64::try_from(at).expect("seq");
        // The parties rows refer to the numbers that move: take them out
        // and put them back one place up.
        let parties = self.parties_from(at).await;
        let committed: Vec<(i64, String, String)> = raw!(self, p => sqlx::query_as(
            "SELECT seq, row_table, row_id FROM audit_rows WHERE seq >= $1")
            .bind(at_i)
            .fetch_all(p)
            .await)
        .expect("row commitments");
        for table in ["audit_parties", "audit_rows"] {
            let sql = AssertSqlSafe(format!("DELETE FROM {table} WHERE seq >= $1"));
            raw!(self, p => sqlx::query(sql)
                .bind(at_i)
                .execute(p)
                .await
                .map(|r| r.rows_affected()))
            .expect("delete index rows");
        }
        // Two steps, so no intermediate number collides with another row.
        raw!(self, p => sqlx::query("UPDATE audit_log SET seq = seq + 1000000 WHERE seq >= $1")
            .bind(at_i)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))
        .expect("shift up");
        self.exec("UPDATE audit_log SET seq = seq - 999999 WHERE seq >= 1000000")
            .await
            .expect("shift back");
        if renumber {
            let extent: i64 = raw!(self, p => sqlx::query_scalar("SELECT MAX(seq) FROM audit_log")
                .fetch_one(p)
                .await)
            .expect("extent");
            for seq in (at + 1)..=u64::try_from(extent).expect("extent") {
                let mut e = Entry::decode(&self.row(seq).await.entry).expect("decodes");
                e.seq = seq;
                let bytes = e.encode().expect("encode");
                self.set_entry(seq, &bytes, Some(&leaf_hash(&bytes))).await;
            }
        }
        let bytes = forged.encode().expect("forged entry encodes");
        let leaf = leaf_hash(&bytes);
        let time_ms = i64::try_from(forged.time_ms).expect("time");
        raw!(self, p => sqlx::query(
            "INSERT INTO audit_log (seq, time_ms, entry, leaf_hash, action) VALUES ($1, $2, $3, $4, $5)")
            .bind(at_i)
            .bind(time_ms)
            .bind(&bytes[..])
            .bind(&leaf[..])
            .bind(forged.action.as_str())
            .execute(p)
            .await
            .map(|r| r.rows_affected()))
        .expect("insert forged entry");
        for (seq, oin) in parties {
            raw!(self, p => sqlx::query("INSERT INTO audit_parties (seq, oin) VALUES ($1, $2)")
                .bind(seq + 1)
                .bind(&oin)
                .execute(p)
                .await
                .map(|r| r.rows_affected()))
            .expect("put parties back");
        }
        for (seq, table, id) in committed {
            raw!(self, p => sqlx::query("INSERT INTO audit_rows (seq, row_table, row_id) VALUES ($1, $2, $3)")
                .bind(seq + 1)
                .bind(&table)
                .bind(&id)
                .execute(p)
                .await
                .map(|r| r.rows_affected()))
            .expect("put row commitments back");
        }
        // The head is not protected: a hub would go on appending after the
        // forged tail.
        self.exec("UPDATE audit_head SET next_seq = next_seq + 1 WHERE id = 1")
            .await
            .expect("head");
    }

    /// Overwrites the stored subtree hash at (`level`, `index`); the number
    /// of rows changed.
    async fn set_node(&self, level: u8, index: u64, hash: &[u8]) -> u64 {
        let index = i64::try_from(index).expect("index");
        raw!(self, p => sqlx::query("UPDATE audit_nodes SET hash = $1 WHERE level = $2 AND idx = $3")
            .bind(hash)
            .bind(i32::from(level))
            .bind(index)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))
        .expect("update node")
    }

    /// Recomputes, from the stored leaf hashes, every stored subtree hash
    /// over position `p`, as a thorough attacker who rewrote `p` would.
    async fn rewrite_nodes_over(&self, p: u64, size: u64) -> usize {
        let leaves: Vec<Vec<u8>> =
            raw!(self, pool => sqlx::query_scalar("SELECT leaf_hash FROM audit_log ORDER BY seq")
            .fetch_all(pool)
            .await)
            .expect("leaves");
        let leaves: Vec<schakel_audit::Hash> = leaves
            .iter()
            .map(|l| l.as_slice().try_into().expect("32 bytes"))
            .collect();
        assert_eq!(leaves.len() as u64, size);
        let mut rewritten = 0;
        for level in 1..=62u8 {
            let node = NodeId::new(level, p >> level);
            let r = node.range();
            if r.end > size {
                break;
            }
            let hash = schakel_audit::root(&leaves[r.start as usize..r.end as usize]);
            rewritten += self.set_node(level, node.index, &hash).await as usize;
        }
        rewritten
    }

    async fn close(self) {
        raw!(&self, p => p.close().await);
    }
}

/// The database error's SQLSTATE and message.
fn db_error(e: &sqlx::Error) -> (String, String) {
    match e {
        sqlx::Error::Database(d) => (
            d.code().map(|c| c.into_owned()).unwrap_or_default(),
            d.message().to_owned(),
        ),
        other => panic!("not a database error: {other}"),
    }
}

// ---------------------------------------------------------------------------
// 1. Tamper tests, on both backends
// ---------------------------------------------------------------------------

on_both_backends!(
    untampered_log_verifies_against_kept_checkpoints,
    append_only_triggers_refuse_update_delete_truncate,
    flipped_byte_with_stored_hash_kept_is_named,
    reencoded_entry_with_stored_hash_kept_is_named,
    reencoded_entry_with_rewritten_hash_is_bracketed_by_checkpoints,
    undecodable_entry_is_named,
    rewritten_leaf_hash_alone_is_named,
    deleted_entry_is_a_sequence_gap,
    swapped_entries_are_a_sequence_gap,
    truncated_tail_is_detected,
    truncated_unproven_tail_is_detected_by_the_head,
    forged_entry_inserted_with_shifted_rows_is_named,
    forged_entry_inserted_with_renumbered_tail_is_bracketed,
    rewritten_subtree_hash_is_named,
    added_subtree_hash_is_named,
    changed_index_column_is_named,
    deleted_party_rows_are_named,
    added_party_row_is_named,
    index_changed_in_the_unchecked_tail_stops_the_checkpointer,
    tail_entry_changed_is_refused,
    forged_entry_appended_is_refused,
    truncated_log_with_checkpoints_deleted_is_refused,
    swapped_sealed_units_are_refused_by_the_receiver,
    readdressed_transfer_is_refused_to_both_functions,
    transfer_state_reset_is_refused,
    changed_consent_is_refused,
    deleted_row_commitment_index_is_named,
    replaced_recipient_key_is_refused,
    forged_or_stretched_hardheidsclausule_decision_is_refused,
);

/// (r) A gemeente's hardheidsclausule decision is what lets data for a youth
/// of 27 or older through (R2). One stretched in the database, or one
/// copied under a new id for the same youth (a decision no entry wrote), is
/// not honoured: the school's next transfer for that youth is refused
/// `DATA_LOSS`, and verification names the row.
async fn forged_or_stretched_hardheidsclausule_decision_is_refused(mut t: TestHub) {
    use pb::decide_hardheidsclausule_request::Support;
    let verifier = t.env.audit_verifier().expect("verifier");
    let past_27 = |consent: &str, key: &str| {
        let mut r = handover(BSN, consent, key);
        set_birth(&mut r, ago(27, 30));
        r
    };
    let (decision_id, consent) = {
        let mut school = clients(&t, "mbo-school").await;
        let mut werk = clients(&t, "gemeente-participatiewet").await;
        let consent = give_consent(&mut school, BSN, "hk-consent").await;
        let d = werk
            .inbox
            .decide_hardheidsclausule(req(pb::DecideHardheidsclausuleRequest {
                idempotency_key: "hk-decision".into(),
                bsn: BSN.into(),
                date_of_birth: ago(27, 30),
                support: Some(Support::CaseReference("zaak-2025-0917".into())),
                justification: "Rondt de bbl-opleiding af die voor de 27e verjaardag begon.".into(),
                valid_from: None,
                valid_until: ago(0, -60),
            }))
            .await
            .expect("decided")
            .into_inner();
        submit_ok(&mut school, past_27(&consent, "hk-1")).await;
        (d.decision_id, consent)
    };
    let until = ago(0, -60).expect("date");
    let at = t.audit_size().await - 2;
    t.stop().await;
    let url = t.db_url.clone();
    change_row(
        &url,
        "UPDATE hardheidsclausule_decisions SET valid_until = '2099-12-31' WHERE decision_id = $1",
        &decision_id,
    )
    .await;
    t.restart().await;
    let mut school = clients(&t, "mbo-school").await;
    assert_row_refused(
        school.transfer.submit(req(past_27(&consent, "hk-2"))).await,
        Some(at),
    );
    t.stop().await;
    let err = verify(&url, &verifier, &[]).await.unwrap_err();
    assert_eq!(
        err,
        AuditError::RowMismatch {
            table: "hardheidsclausule",
            id: decision_id.parse().expect("uuid"),
            position: Some(at),
        }
    );
    // Put back, then copy it under a new id: a decision no entry wrote.
    change_row(
        &url,
        &format!(
            "UPDATE hardheidsclausule_decisions SET valid_until = '{:04}-{:02}-{:02}' WHERE decision_id = $1",
            until.year, until.month, until.day
        ),
        &decision_id,
    )
    .await;
    let forged = uuid::Uuid::now_v7().to_string();
    change_row(
        &url,
        &format!(
            "INSERT INTO hardheidsclausule_decisions SELECT '{forged}', gemeente_oin, gemeente_function, \
             'forged-key', fingerprint, subject, basis_transfer_id, valid_from, valid_until, decided_at, \
             decided_by_user, policy_version, sealed_key_ids, sealed FROM hardheidsclausule_decisions \
             WHERE decision_id = $1"
        ),
        &decision_id,
    )
    .await;
    t.restart().await;
    let mut school = clients(&t, "mbo-school").await;
    assert_row_refused(school.transfer.submit(req(past_27(&consent, "hk-3"))).await, None);
    t.stop().await;
    let err = verify(&url, &verifier, &[]).await.unwrap_err();
    assert_eq!(
        err,
        AuditError::RowMismatch {
            table: "hardheidsclausule",
            id: forged.parse().expect("uuid"),
            position: None,
        }
    );
}

async fn untampered_log_verifies_against_kept_checkpoints(t: TestHub) {
    let started = Instant::now();
    let b = build_log(t).await;
    let count = |a: Action| b.entries.iter().filter(|e| e.action == a).count() as u64;
    // The demo directory: admin changes and the demo mandate (R9).
    let seeded = count(Action::AdminChange) + count(Action::MandateRecorded);
    assert_eq!(count(Action::MandateRecorded), 1);
    assert_eq!(count(Action::ConsentRecorded), 5);
    assert_eq!(count(Action::TransferSubmitted), 5);
    assert_eq!(count(Action::TransferFetched), 1);
    assert_eq!(b.size, seeded + 11, "one entry per action, nothing else");
    let report = verify(&b.url, &b.verifier, &b.kept)
        .await
        .unwrap_or_else(|e| panic!("the untouched log does not verify: {e}"));
    assert_eq!(report.end, b.size);
    assert_eq!(report.proven_size, b.size);
    assert_eq!(report.checkpoints_matched, b.checkpoint_sizes().await);
    assert!(report.checkpoints_matched.contains(&b.kept[0].size));
    eprintln!(
        "{} entries, checkpoints {:?}, in {:?}",
        b.size,
        report.checkpoints_matched,
        started.elapsed()
    );
}

async fn append_only_triggers_refuse_update_delete_truncate(t: TestHub) {
    let b = build_log(t).await;
    let raw = Raw::open(&b.url).await;
    let last = b.size - 1;
    let mut refused = vec![
        format!("UPDATE audit_log SET action = 'purge' WHERE seq = {}", b.p),
        format!("UPDATE audit_log SET seq = seq + 1 WHERE seq = {last}"),
        format!("DELETE FROM audit_log WHERE seq = {last}"),
        "DELETE FROM audit_log".to_owned(),
        "UPDATE audit_parties SET oin = '00000001999990014000'".to_owned(),
        "DELETE FROM audit_parties".to_owned(),
        "UPDATE audit_checkpoints SET note = 'x'".to_owned(),
        "DELETE FROM audit_checkpoints".to_owned(),
        "UPDATE audit_nodes SET hash = hash".to_owned(),
        "DELETE FROM audit_nodes".to_owned(),
    ];
    let pg = matches!(raw, Raw::Pg(_));
    if pg {
        // TRUNCATE of the referenced table alone fails on the foreign key
        // first; with CASCADE it reaches the triggers.
        refused.push("TRUNCATE audit_log CASCADE".to_owned());
        refused.push("TRUNCATE audit_parties".to_owned());
        refused.push("TRUNCATE audit_checkpoints".to_owned());
        refused.push("TRUNCATE audit_nodes".to_owned());
    }
    for sql in &refused {
        let e = raw.exec(sql).await.expect_err(sql);
        let (code, message) = db_error(&e);
        assert!(message.ends_with("is append-only"), "{sql}: {message}");
        if pg {
            assert_eq!(code, "42501", "{sql}");
        }
    }
    let n: i64 = raw!(&raw, p => sqlx::query_scalar("SELECT COUNT(*) FROM audit_log").fetch_one(p).await)
        .expect("count");
    assert_eq!(n as u64, b.size, "nothing was removed");
    raw.close().await;
    let report = verify(&b.url, &b.verifier, &b.kept)
        .await
        .expect("still verifies");
    assert_eq!(report.proven_size, b.size);
}

/// (a) One byte inside an entry flipped (the last byte of its span id: it
/// still decodes); the stored leaf hash left alone.
async fn flipped_byte_with_stored_hash_kept_is_named(t: TestHub) {
    let b = build_log(t).await;
    let raw = Raw::open(&b.url).await;
    raw.disable_protection().await;
    let mut bytes = raw.row(b.p).await.entry;
    let span = b.entries[b.p as usize].trace.span_id;
    let at = bytes
        .windows(8)
        .position(|w| w == span.as_bytes())
        .expect("the span id is in the encoding")
        + 7;
    bytes[at] ^= 0x01;
    assert!(Entry::decode(&bytes).is_ok(), "still a well-formed entry");
    raw.set_entry(b.p, &bytes, None).await;
    raw.close().await;
    let e = verify(&b.url, &b.verifier, &b.kept).await.unwrap_err();
    assert_eq!(e, AuditError::EntryModified { position: b.p });
}

/// (a) An entry re-encoded with another end user; stored leaf hash left
/// alone: the stored hashes still give the signed roots, so the verifier
/// names the entry.
async fn reencoded_entry_with_stored_hash_kept_is_named(t: TestHub) {
    let b = build_log(t).await;
    let raw = Raw::open(&b.url).await;
    raw.disable_protection().await;
    let mut e = b.entries[b.p as usize].clone();
    e.actor.user_id = Some("medewerker-7".into());
    raw.set_entry(b.p, &e.encode().expect("encode"), None).await;
    raw.exec(&format!(
        "UPDATE audit_log SET user_id = 'medewerker-7' WHERE seq = {}",
        b.p
    ))
    .await
    .expect("copy column");
    raw.close().await;
    let err = verify(&b.url, &b.verifier, &b.kept).await.unwrap_err();
    assert_eq!(err, AuditError::EntryModified { position: b.p });
}

/// (a) The same change with the leaf hash rewritten too: now only the
/// checkpoints tell, and they bracket the position. If the attacker also
/// deletes the stored checkpoints over it, only the ones the privacy officer
/// kept still do.
async fn reencoded_entry_with_rewritten_hash_is_bracketed_by_checkpoints(t: TestHub) {
    let b = build_log(t).await;
    let sizes = b.checkpoint_sizes().await;
    let (size, after) = bracket(&sizes, b.p);
    assert!(after >= b.kept[0].size && size <= b.kept[1].size, "{sizes:?}");
    let raw = Raw::open(&b.url).await;
    raw.disable_protection().await;
    let mut e = b.entries[b.p as usize].clone();
    e.actor.user_id = Some("medewerker-7".into());
    let bytes = e.encode().expect("encode");
    raw.set_entry(b.p, &bytes, Some(&leaf_hash(&bytes))).await;
    let err = verify(&b.url, &b.verifier, &b.kept).await.unwrap_err();
    assert_eq!(err, AuditError::RootMismatch { size, after });

    let n = raw
        .exec(&format!("DELETE FROM audit_checkpoints WHERE size > {}", b.p))
        .await
        .expect("delete checkpoints");
    assert_eq!(n as usize, sizes.iter().filter(|&&s| s > b.p).count());
    // The stored subtree hashes still commit to the original entry.
    let err = verify(&b.url, &b.verifier, &[]).await.unwrap_err();
    assert_eq!(
        err,
        AuditError::NodeMismatch {
            level: 1,
            index: b.p >> 1
        }
    );
    // A thorough attacker rewrites those too.
    assert!(raw.rewrite_nodes_over(b.p, b.size).await >= 1);
    // The query column still holds the old end user.
    let err = verify(&b.url, &b.verifier, &[]).await.unwrap_err();
    assert_eq!(
        err,
        AuditError::IndexMismatch {
            position: b.p,
            column: "user_id"
        }
    );
    // And that column too.
    raw.exec(&format!(
        "UPDATE audit_log SET user_id = 'medewerker-7' WHERE seq = {}",
        b.p
    ))
    .await
    .expect("update user_id");
    raw.close().await;
    let report = verify(&b.url, &b.verifier, &[])
        .await
        .expect("without kept checkpoints the rewrite passes");
    assert_eq!((report.end, report.proven_size), (b.size, after));
    let err = verify(&b.url, &b.verifier, &b.kept).await.unwrap_err();
    assert_eq!(
        err,
        AuditError::RootMismatch {
            size: b.kept[1].size,
            after
        }
    );
}

/// (a) A byte flipped where the entry no longer decodes (its version).
async fn undecodable_entry_is_named(t: TestHub) {
    let b = build_log(t).await;
    let raw = Raw::open(&b.url).await;
    raw.disable_protection().await;
    let mut bytes = raw.row(b.p).await.entry;
    bytes[0] = 9;
    raw.set_entry(b.p, &bytes, None).await;
    raw.close().await;
    let err = verify(&b.url, &b.verifier, &b.kept).await.unwrap_err();
    assert_eq!(
        err,
        AuditError::Undecodable {
            position: b.p,
            reason: Box::new(AuditError::UnknownVersion(9))
        }
    );
}

/// Only the stored leaf hash changed: the entries still give the roots.
async fn rewritten_leaf_hash_alone_is_named(t: TestHub) {
    let b = build_log(t).await;
    let raw = Raw::open(&b.url).await;
    raw.disable_protection().await;
    raw.set_leaf(b.p, &[0xaa; 32]).await;
    raw.close().await;
    let err = verify(&b.url, &b.verifier, &b.kept).await.unwrap_err();
    assert_eq!(err, AuditError::LeafHashMismatch { position: b.p });
}

/// (b) One entry deleted.
async fn deleted_entry_is_a_sequence_gap(t: TestHub) {
    let b = build_log(t).await;
    let raw = Raw::open(&b.url).await;
    raw.disable_protection().await;
    assert_eq!(raw.delete_range(b.p, b.p + 1).await, 1);
    raw.close().await;
    let err = verify(&b.url, &b.verifier, &b.kept).await.unwrap_err();
    assert_eq!(
        err,
        AuditError::SequenceGap {
            position: b.p,
            expected: b.p,
            found: b.p + 1
        }
    );
}

/// (c) Two entries swapped (bytes, hashes and times change rows).
async fn swapped_entries_are_a_sequence_gap(t: TestHub) {
    let b = build_log(t).await;
    let (i, j) = (b.p, b.p + 2);
    let raw = Raw::open(&b.url).await;
    raw.disable_protection().await;
    let (ri, rj) = (raw.row(i).await, raw.row(j).await);
    assert_ne!(ri.entry, rj.entry);
    raw.set_entry(i, &rj.entry, Some(&rj.leaf)).await;
    raw.set_entry(j, &ri.entry, Some(&ri.leaf)).await;
    raw.set_time(i, rj.time_ms).await;
    raw.set_time(j, ri.time_ms).await;
    raw.close().await;
    let err = verify(&b.url, &b.verifier, &b.kept).await.unwrap_err();
    assert_eq!(
        err,
        AuditError::SequenceGap {
            position: i,
            expected: i,
            found: j
        }
    );
}

/// (d) The tail cut off from `p` on.
async fn truncated_tail_is_detected(t: TestHub) {
    let b = build_log(t).await;
    let largest = *b.checkpoint_sizes().await.last().expect("checkpoints");
    assert_eq!(largest, b.size);
    let raw = Raw::open(&b.url).await;
    raw.disable_protection().await;
    assert_eq!(raw.delete_range(b.p, b.size).await, b.size - b.p);
    raw.close().await;
    let err = verify(&b.url, &b.verifier, &b.kept).await.unwrap_err();
    assert_eq!(
        err,
        AuditError::Truncated {
            expected: b.size,
            found: b.p
        }
    );
}

/// (d') The tail cut off where no checkpoint covers it yet (the stored
/// checkpoints above `p` removed too, none kept): the audit head still
/// counts the entries that were appended.
async fn truncated_unproven_tail_is_detected_by_the_head(t: TestHub) {
    let b = build_log(t).await;
    let raw = Raw::open(&b.url).await;
    raw.disable_protection().await;
    assert_eq!(raw.delete_range(b.p, b.size).await, b.size - b.p);
    raw.exec(&format!("DELETE FROM audit_checkpoints WHERE size > {}", b.p))
        .await
        .expect("delete checkpoints");
    raw.close().await;
    let err = verify(&b.url, &b.verifier, &[]).await.unwrap_err();
    assert_eq!(
        err,
        AuditError::Shortened {
            recorded: b.size,
            found: b.p
        }
    );
}

/// (f) An index column changed (entry bytes untouched): the entry would
/// vanish from its organisation's privacy-officer queries.
async fn changed_index_column_is_named(t: TestHub) {
    let b = build_log(t).await;
    let raw = Raw::open(&b.url).await;
    raw.disable_protection().await;
    let other = "00000001003214345000";
    assert_ne!(b.entries[b.p as usize].actor.oin.as_deref(), Some(other));
    let n = raw
        .exec(&format!(
            "UPDATE audit_log SET actor_oin = '{other}' WHERE seq = {}",
            b.p
        ))
        .await
        .expect("update actor_oin");
    assert_eq!(n, 1);
    raw.close().await;
    let err = verify(&b.url, &b.verifier, &b.kept).await.unwrap_err();
    assert_eq!(
        err,
        AuditError::IndexMismatch {
            position: b.p,
            column: "actor_oin"
        }
    );
}

/// The first entry at or after `from` that has parties.
fn with_parties(b: &Built, from: u64) -> u64 {
    b.entries
        .iter()
        .find(|e| e.seq >= from && !e.parties.is_empty())
        .expect("an entry with parties")
        .seq
}

/// (g) The party rows of an entry deleted: the gemeente's privacy officer
/// would no longer see that a school sent it a handover.
async fn deleted_party_rows_are_named(t: TestHub) {
    let b = build_log(t).await;
    let q = with_parties(&b, b.kept[0].size);
    let raw = Raw::open(&b.url).await;
    raw.disable_protection().await;
    let n = raw
        .exec(&format!("DELETE FROM audit_parties WHERE seq = {q}"))
        .await
        .expect("delete parties");
    assert!(n > 0);
    raw.close().await;
    let err = verify(&b.url, &b.verifier, &b.kept).await.unwrap_err();
    assert_eq!(
        err,
        AuditError::IndexMismatch {
            position: q,
            column: "parties"
        }
    );
}

/// (h) A party row added: the entry would be listed for another
/// organisation's privacy officer.
async fn added_party_row_is_named(t: TestHub) {
    let b = build_log(t).await;
    let raw = Raw::open(&b.url).await;
    raw.disable_protection().await;
    let n = raw
        .exec(&format!(
            "INSERT INTO audit_parties (seq, oin) VALUES ({}, '00000001003214345000')",
            b.p
        ))
        .await
        .expect("insert party");
    assert_eq!(n, 1);
    raw.close().await;
    let err = verify(&b.url, &b.verifier, &b.kept).await.unwrap_err();
    assert_eq!(
        err,
        AuditError::IndexMismatch {
            position: b.p,
            column: "parties"
        }
    );
}

/// The hub started again after the log grew by one consent past the
/// privacy officer's last kept checkpoint, and stopped; then the stored
/// checkpoints above that one removed, so the new entries are an unchecked
/// tail as a crash would leave it (a clean stop signs a last checkpoint).
/// Returns the log size.
async fn grow_an_unchecked_tail(b: &mut Built) -> u64 {
    b.hub.restart().await;
    {
        let mut school = clients(&b.hub, "mbo-school").await;
        let bsn = &test_bsns(6)[5];
        give_consent(&mut school, bsn, "consent-tail").await;
    }
    let size = b.hub.audit_size().await;
    assert!(size > b.size, "a new entry after the last kept checkpoint");
    b.hub.stop().await;
    let raw = Raw::open(&b.url).await;
    raw.disable_protection().await;
    raw.exec(&format!("DELETE FROM audit_checkpoints WHERE size > {}", b.size))
        .await
        .expect("delete checkpoints");
    raw.close().await;
    size
}

/// The hub, started again, asked for a fresh checkpoint by a privacy
/// officer: refused with DATA_LOSS, whose message must hold every one of
/// `needles`.
async fn fresh_checkpoint_is_refused(b: &mut Built, needles: &[String]) {
    b.hub.restart().await;
    let mut officer = AuditServiceClient::new(b.hub.connect("gemeente-privacy-officer").await.channel());
    let status = officer
        .get_checkpoint(req(pb::GetCheckpointRequest { fresh: true }))
        .await
        .expect_err("no checkpoint over a tampered log");
    assert_eq!(status.code(), tonic::Code::DataLoss, "{status:?}");
    for n in needles {
        assert!(
            status.message().contains(n.as_str()),
            "the reason names {n:?}: {}",
            status.message()
        );
    }
    b.hub.stop().await;
}

/// (i) An index column changed in entries no checkpoint covers yet: the
/// hub refuses to sign over them, and the privacy officer asking for a
/// fresh checkpoint is told why (DATA_LOSS with the position), not
/// "internal error".
async fn index_changed_in_the_unchecked_tail_stops_the_checkpointer(t: TestHub) {
    let mut b = build_log(t).await;
    let size = grow_an_unchecked_tail(&mut b).await;
    let tail = size - 1;
    let raw = Raw::open(&b.url).await;
    raw.exec(&format!(
        "UPDATE audit_log SET user_id = 'someone-else' WHERE seq = {tail}"
    ))
    .await
    .expect("update user_id");
    raw.close().await;
    fresh_checkpoint_is_refused(&mut b, &[format!("position {tail}"), "user_id".into()]).await;
}

/// (j) An entry of the unchecked tail changed with its leaf hash and
/// subtree hashes rewritten (nothing in the database contradicts it): the
/// hub finds no valid authentication code and refuses to sign.
async fn tail_entry_changed_is_refused(t: TestHub) {
    let mut b = build_log(t).await;
    let size = grow_an_unchecked_tail(&mut b).await;
    let tail = size - 1;
    let raw = Raw::open(&b.url).await;
    let mut e = Entry::decode(&raw.row(tail).await.entry).expect("decodes");
    e.actor.user_id = Some("medewerker-666".into());
    let bytes = e.encode().expect("encode");
    raw.set_entry(tail, &bytes, Some(&leaf_hash(&bytes))).await;
    raw.exec(&format!(
        "UPDATE audit_log SET user_id = 'medewerker-666' WHERE seq = {tail}"
    ))
    .await
    .expect("update user_id");
    raw.rewrite_nodes_over(tail, size).await;
    raw.close().await;
    fresh_checkpoint_is_refused(
        &mut b,
        &[format!("position {tail}"), "not appended by a hub".into()],
    )
    .await;
}

/// (k) A forged entry appended after the tail (and the head moved on): no
/// hub appended it, so none signs over it.
async fn forged_entry_appended_is_refused(t: TestHub) {
    let mut b = build_log(t).await;
    let size = grow_an_unchecked_tail(&mut b).await;
    let mut e = forged(&b);
    e.seq = size;
    e.time_ms += 60_000;
    let bytes = e.encode().expect("encode");
    let leaf = leaf_hash(&bytes);
    let raw = Raw::open(&b.url).await;
    raw!(&raw, p => sqlx::query(
        "INSERT INTO audit_log (seq, time_ms, entry, leaf_hash, actor_oin, action, subject, transfer_id, consent_id, user_id, purpose) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
        .bind(i64::try_from(size).expect("seq"))
        .bind(i64::try_from(e.time_ms).expect("time"))
        .bind(&bytes[..])
        .bind(&leaf[..])
        .bind(e.actor.oin.as_deref())
        .bind(e.action.as_str())
        .bind(e.subject.as_deref())
        .bind(e.transfer_id.map(|u| u.to_string()))
        .bind(e.consent_id.map(|u| u.to_string()))
        .bind(e.actor.user_id.as_deref())
        .bind(e.activity.as_ref().map(|a| a.purpose.as_str()))
        .execute(p)
        .await
        .map(|r| r.rows_affected()))
    .expect("insert forged entry");
    for party in &e.parties {
        raw.exec(&format!(
            "INSERT INTO audit_parties (seq, oin) VALUES ({size}, '{party}')"
        ))
        .await
        .expect("party");
    }
    raw.exec("UPDATE audit_head SET next_seq = next_seq + 1 WHERE id = 1")
        .await
        .expect("head");
    raw.close().await;
    fresh_checkpoint_is_refused(
        &mut b,
        &[format!("position {size}"), "not appended by a hub".into()],
    )
    .await;
}

/// (l) The log truncated at `p`, every stored checkpoint above removed and
/// the head lowered: nothing in the log remembers the lost entries, only the
/// rows they wrote, which no entry now commits to. The checkpoint file
/// outside the database does: the hub refuses to sign a smaller log, and
/// `verify_audit_log` given the file's checkpoint names the truncation.
async fn truncated_log_with_checkpoints_deleted_is_refused(t: TestHub) {
    let mut b = build_log(t).await;
    let file = b.hub.env.checkpoint_file(&b.url);
    let in_file = schakel_hub::checkpoint::read_checkpoint_file(&file, &b.verifier)
        .expect("checkpoint file")
        .expect("the hub kept its checkpoints outside the database");
    assert_eq!(in_file.size, b.size);
    let raw = Raw::open(&b.url).await;
    raw.disable_protection().await;
    assert_eq!(raw.delete_range(b.p, b.size).await, b.size - b.p);
    raw.exec(&format!("DELETE FROM audit_checkpoints WHERE size > {}", b.p))
        .await
        .expect("delete checkpoints");
    raw.exec(&format!(
        "DELETE FROM audit_nodes WHERE (idx + 1) * (1 << level) > {}",
        b.p
    ))
    .await
    .expect("delete nodes");
    raw.exec(&format!("UPDATE audit_head SET next_seq = {} WHERE id = 1", b.p))
        .await
        .expect("head");
    raw.close().await;
    // The log in the database alone no longer shows it; the rows the lost
    // entries wrote do: no entry commits to them any more.
    let err = verify(&b.url, &b.verifier, &[]).await.unwrap_err();
    assert!(
        matches!(err, AuditError::RowMismatch { position: None, .. }),
        "{err:?}"
    );
    // The file names the truncation itself.
    let err = verify(&b.url, &b.verifier, std::slice::from_ref(&in_file))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        AuditError::Truncated {
            expected: b.size,
            found: b.p
        }
    );
    let needle = format!("checkpoint covers {} entries", b.size);
    fresh_checkpoint_is_refused(&mut b, &[needle]).await;
}

/// The id of every row of `table` the built log wrote, in the order first
/// written, with the position of the entry that last wrote it: the entry its
/// stored row must match.
fn last_writes(b: &Built, table: RowTable) -> Vec<(String, u64)> {
    let mut order: Vec<uuid::Uuid> = Vec::new();
    let mut last = std::collections::HashMap::new();
    for e in &b.entries {
        for r in e.rows.iter().filter(|r| r.table == table) {
            if !order.contains(&r.id) {
                order.push(r.id);
            }
            last.insert(r.id, e.seq);
        }
    }
    order.into_iter().map(|id| (id.to_string(), last[&id])).collect()
}

/// A hub's answer to a read of a row changed in the database: DATA_LOSS
/// naming the entry the row no longer matches.
fn assert_row_refused(answer: Result<impl std::fmt::Debug, tonic::Status>, position: Option<u64>) {
    let status = answer.expect_err("a changed row is not served");
    assert_eq!(status.code(), tonic::Code::DataLoss, "{status:?}");
    let expected = match position {
        Some(p) => format!("at position {p} that last wrote it"),
        None => "has no audit entry that wrote it".to_owned(),
    };
    assert!(status.message().contains(&expected), "{status:?}");
}

/// Runs `sql` with `id` bound as `$1`; it must change one row.
async fn change_row(url: &str, sql: &str, id: &str) {
    let raw = Raw::open(url).await;
    let n = raw!(&raw, p => sqlx::query(AssertSqlSafe(sql.to_owned())).bind(id).execute(p).await.map(|r| r.rows_affected()))
        .expect("change");
    assert_eq!(n, 1, "one row changed");
    raw.close().await;
}

/// `verify_audit_log` names the changed row and the entry it contradicts.
async fn assert_verify_names_row(b: &Built, table: &'static str, id: &str, position: Option<u64>) {
    let err = verify(&b.url, &b.verifier, &b.kept).await.unwrap_err();
    assert_eq!(
        err,
        AuditError::RowMismatch {
            table,
            id: id.parse().expect("uuid"),
            position
        }
    );
}

fn list_inbox() -> tonic::Request<pb::ListInboxRequest> {
    req(pb::ListInboxRequest::default())
}

/// (m) The sealed units of two transfers to the same gemeente swapped in
/// the database: the werkcoach's fetch of one would otherwise open the other
/// youth's data under its id. The hub refuses to serve either (their
/// entries commit to each transfer's own ciphertext); and the binding sealed
/// inside each unit names its own transfer, so a receiver served them
/// anyway (by a hub that does not check) refuses both.
async fn swapped_sealed_units_are_refused_by_the_receiver(t: TestHub) {
    let mut b = build_log(t).await;
    let handovers = last_writes(&b, RowTable::TRANSFER);
    let ((x, at_x), (y, _)) = (handovers[0].clone(), handovers[1].clone());
    let raw = Raw::open(&b.url).await;
    let unit_of = async |id: &str| -> Vec<u8> {
        raw!(&raw, p => sqlx::query_scalar("SELECT ciphertext FROM transfer_groups WHERE transfer_id = $1 AND ordinal = 0")
            .bind(id)
            .fetch_one(p)
            .await)
        .expect("unit")
    };
    let (ux, uy) = (unit_of(&x).await, unit_of(&y).await);
    assert_ne!(ux, uy);
    for (id, unit) in [(&x, &uy), (&y, &ux)] {
        let n = raw!(&raw, p => sqlx::query("UPDATE transfer_groups SET ciphertext = $1 WHERE transfer_id = $2 AND ordinal = 0")
            .bind(&unit[..])
            .bind(id.as_str())
            .execute(p)
            .await
            .map(|r| r.rows_affected()))
        .expect("swap");
        assert_eq!(n, 1);
    }
    // What a hub that did not check would serve for x.
    let served: Vec<pb::SealedGroup> = raw!(&raw, p => sqlx::query_as::<_, (String, String, String, Vec<u8>)>(
        "SELECT group_name, purpose, key_ids, ciphertext FROM transfer_groups WHERE transfer_id = $1 ORDER BY ordinal")
        .bind(x.as_str())
        .fetch_all(p)
        .await)
    .expect("units")
    .into_iter()
    .map(|(names, purpose, keys, ciphertext)| pb::SealedGroup {
        groups: names.split(' ').map(str::to_owned).collect(),
        purpose,
        key_ids: keys.split(' ').map(str::to_owned).collect(),
        ciphertext,
        ..Default::default()
    })
    .collect();
    raw.close().await;
    b.hub.restart().await;
    let mut werk = clients(&b.hub, "gemeente-participatiewet").await;
    let answer = werk
        .inbox
        .fetch(req(pb::FetchRequest {
            transfer_id: x.clone(),
            purpose: "handover.school_to_gemeente".into(),
        }))
        .await;
    assert_row_refused(answer, Some(at_x));
    b.hub.stop().await;
    let werkcoach = identity(&b.hub, "gemeente-participatiewet");
    let to = schakel_client::binding_party(&pb::PartyRef {
        oin: schakel_e2e::flow::GEMEENTE_OIN.into(),
        function: pb::FunctionKind::Participatiewet as i32,
    });
    let opened = schakel_client::open_record_groups(&x, Some(&to), &served, std::slice::from_ref(&werkcoach));
    assert!(!opened.is_empty());
    for g in &opened {
        assert_eq!(
            g.result.as_ref().err(),
            Some(&schakel_client::OpenError::BindingMismatch),
            "{}: opened although it belongs to the other transfer",
            g.group
        );
    }
    assert_verify_names_row(&b, "transfer", &x, Some(at_x)).await;
}

/// (n) A transfer readdressed in the database, from the gemeente's
/// Participatiewet function to its Doorstroompunt: the intended receiver
/// would lose it and the other would list and fetch it. Both are refused.
async fn readdressed_transfer_is_refused_to_both_functions(t: TestHub) {
    let mut b = build_log(t).await;
    let (x, at) = last_writes(&b, RowTable::TRANSFER)[0].clone();
    change_row(
        &b.url,
        "UPDATE transfers SET recipient_function = 'doorstroompunt' WHERE transfer_id = $1",
        &x,
    )
    .await;
    b.hub.restart().await;
    let mut werk = clients(&b.hub, "gemeente-participatiewet").await;
    let fetched = werk
        .inbox
        .fetch(req(pb::FetchRequest {
            transfer_id: x.clone(),
            purpose: "handover.school_to_gemeente".into(),
        }))
        .await;
    assert_row_refused(fetched, Some(at));
    let mut dp = clients(&b.hub, "gemeente-doorstroompunt").await;
    assert_row_refused(dp.inbox.list_inbox(list_inbox()).await, Some(at));
    b.hub.stop().await;
    assert_verify_names_row(&b, "transfer", &x, Some(at)).await;
}

/// (o) A fetched transfer reset to `submitted` in the database would be
/// served as new again; the gemeente's inbox refuses it instead.
async fn transfer_state_reset_is_refused(t: TestHub) {
    let mut b = build_log(t).await;
    // The last handover is the one the gemeente fetched: its fetch entry
    // committed to the state `fetched`.
    let (x, at) = last_writes(&b, RowTable::TRANSFER)[4].clone();
    assert_eq!(b.entries[at as usize].action, Action::TransferFetched);
    change_row(
        &b.url,
        "UPDATE transfers SET state = 'submitted', first_fetched_at = NULL WHERE transfer_id = $1",
        &x,
    )
    .await;
    b.hub.restart().await;
    let mut werk = clients(&b.hub, "gemeente-participatiewet").await;
    assert_row_refused(werk.inbox.list_inbox(list_inbox()).await, Some(at));
    b.hub.stop().await;
    assert_verify_names_row(&b, "transfer", &x, Some(at)).await;
}

/// (p) A consent record changed in the database (valid for decades more)
/// is refused to the school that recorded it, and named by verification.
async fn changed_consent_is_refused(t: TestHub) {
    let mut b = build_log(t).await;
    let (c, at) = last_writes(&b, RowTable::CONSENT)[0].clone();
    change_row(
        &b.url,
        "UPDATE consents SET valid_until = '2099-12-31' WHERE consent_id = $1",
        &c,
    )
    .await;
    b.hub.restart().await;
    let mut school = clients(&b.hub, "mbo-school").await;
    let got = school
        .consent
        .get_consent(req(pb::GetConsentRequest {
            consent_id: c.clone(),
        }))
        .await;
    assert_row_refused(got, Some(at));
    b.hub.stop().await;
    assert_verify_names_row(&b, "consent", &c, Some(at)).await;
}

/// (q) The index row that finds a transfer's entry removed, so the read
/// would find no entry to compare with: the read is refused, and
/// verification names the entry whose index lost it.
async fn deleted_row_commitment_index_is_named(t: TestHub) {
    let mut b = build_log(t).await;
    let (x, at) = last_writes(&b, RowTable::TRANSFER)[0].clone();
    let raw = Raw::open(&b.url).await;
    raw.disable_protection().await;
    raw.close().await;
    change_row(&b.url, "DELETE FROM audit_rows WHERE row_id = $1", &x).await;
    let err = verify(&b.url, &b.verifier, &b.kept).await.unwrap_err();
    assert_eq!(
        err,
        AuditError::IndexMismatch {
            position: at,
            column: "rows"
        }
    );
    b.hub.restart().await;
    let mut werk = clients(&b.hub, "gemeente-participatiewet").await;
    assert_row_refused(werk.inbox.list_inbox(list_inbox()).await, None);
    b.hub.stop().await;
}

/// (r) The gemeente's age key replaced in the database by one the attacker
/// holds: new handovers would be sealed to the attacker. The hub refuses to
/// seal to a key that is not what the entry that registered it says.
async fn replaced_recipient_key_is_refused(t: TestHub) {
    let mut b = build_log(t).await;
    let raw = Raw::open(&b.url).await;
    let (key_id,): (String,) = raw!(&raw, p => sqlx::query_as(
        "SELECT key_id FROM recipient_keys WHERE oin = $1 AND function = 'participatiewet'")
        .bind(schakel_e2e::flow::GEMEENTE_OIN)
        .fetch_one(p)
        .await)
    .expect("the gemeente's key");
    raw.close().await;
    let attacker = age::x25519::Identity::generate().to_public().to_string();
    change_row(
        &b.url,
        &format!("UPDATE recipient_keys SET age_recipient = '{attacker}' WHERE key_id = $1"),
        &key_id,
    )
    .await;
    b.hub.restart().await;
    let mut school = clients(&b.hub, "mbo-school").await;
    let bsn = &test_bsns(6)[5];
    let consent = give_consent(&mut school, bsn, "consent-after").await;
    let sent = school
        .transfer
        .submit(req(handover(bsn, &consent, "submit-after")))
        .await;
    let status = sent.expect_err("nothing is sealed to a replaced key");
    assert_eq!(status.code(), tonic::Code::DataLoss, "{status:?}");
    b.hub.stop().await;
    let position = last_writes(&b, RowTable::RECIPIENT_KEY)
        .into_iter()
        .find(|(id, _)| *id == key_id)
        .map(|(_, at)| at);
    assert_verify_names_row(&b, "recipient_key", &key_id, position).await;
}

/// A forged entry for position `p`: another end user, same time.
fn forged(b: &Built) -> Entry {
    let mut e = b.entries[b.p as usize].clone();
    e.actor.user_id = Some("medewerker-666".into());
    e
}

/// (e) A forged entry inserted at `p`, later rows moved up by one (their
/// sequence column; the bytes keep their numbers).
async fn forged_entry_inserted_with_shifted_rows_is_named(t: TestHub) {
    let b = build_log(t).await;
    let raw = Raw::open(&b.url).await;
    raw.disable_protection().await;
    raw.insert_shifted(b.p, &forged(&b), false).await;
    let rows: i64 = raw!(&raw, p => sqlx::query_scalar("SELECT COUNT(*) FROM audit_log").fetch_one(p).await)
        .expect("count");
    assert_eq!(rows as u64, b.size + 1);
    let moved = Entry::decode(&raw.row(b.p + 1).await.entry).expect("decodes");
    assert_eq!(
        moved, b.entries[b.p as usize],
        "the displaced entry, one place up"
    );
    raw.close().await;
    let err = verify(&b.url, &b.verifier, &b.kept).await.unwrap_err();
    // The forged entry carries the number of the one it displaced and
    // passes; the displaced one, a place later, is named.
    assert_eq!(
        err,
        AuditError::SequenceGap {
            position: b.p + 1,
            expected: b.p + 1,
            found: b.p
        }
    );
}

/// (e) The same, with every later entry re-encoded with its new number and
/// its leaf hash rewritten: the sequence checks pass, the checkpoints do not.
async fn forged_entry_inserted_with_renumbered_tail_is_bracketed(t: TestHub) {
    let b = build_log(t).await;
    let (size, after) = bracket(&b.checkpoint_sizes().await, b.p);
    let raw = Raw::open(&b.url).await;
    raw.disable_protection().await;
    raw.insert_shifted(b.p, &forged(&b), true).await;
    let last = Entry::decode(&raw.row(b.size).await.entry).expect("decodes");
    assert_eq!(last.seq, b.size, "the tail was renumbered");
    raw.close().await;
    let err = verify(&b.url, &b.verifier, &b.kept).await.unwrap_err();
    assert_eq!(err, AuditError::RootMismatch { size, after });
}

/// A stored subtree hash (audit_nodes, what proofs are served from) in the
/// inclusion proof of `p` changed, the entries left alone: named by its
/// level and index. A hub serving that proof refuses rather than hand out a
/// proof that fails against its signed checkpoint.
async fn rewritten_subtree_hash_is_named(t: TestHub) {
    let b = build_log(t).await;
    let raw = Raw::open(&b.url).await;
    raw.disable_protection().await;
    let node = schakel_audit::inclusion_proof_ranges(b.p, b.size)
        .expect("ranges")
        .into_iter()
        .flat_map(|r| schakel_audit::range_nodes(r).expect("aligned"))
        .find(|n| n.level >= 1)
        .expect("a stored node in the proof");
    assert_eq!(raw.set_node(node.level, node.index, &[0xaa; 32]).await, 1);
    raw.close().await;
    let err = verify(&b.url, &b.verifier, &b.kept).await.unwrap_err();
    assert_eq!(
        err,
        AuditError::NodeMismatch {
            level: node.level,
            index: node.index
        }
    );
    let text = err.to_string();
    let r = node.range();
    assert!(
        text.contains(&format!("positions {}..{}", r.start, r.end)),
        "{text}"
    );

    // The hub, restarted on the tampered database, will not serve a proof
    // of `p` through that node.
    let listen: std::net::SocketAddr = "127.0.0.1:0".parse().expect("addr");
    let hub = schakel_hub::start(b.hub.env.hub_config(listen, &b.url).expect("config"))
        .await
        .expect("hub starts");
    let url = format!("https://{}", hub.addr());
    let mut officer = AuditServiceClient::new(channel_at(&b.hub.env, &url, "mbo-privacy-officer").await);
    let status = officer
        .get_inclusion_proof(req(pb::GetInclusionProofRequest {
            sequence: b.p,
            tree_size: b.size,
        }))
        .await
        .unwrap_err();
    // It says why, with the position, instead of "internal error".
    assert_eq!(status.code(), tonic::Code::DataLoss, "{status:?}");
    assert!(
        status.message().contains(&format!("position {}", b.p)),
        "{}",
        status.message()
    );
    hub.shutdown().await;
}

/// A subtree hash stored for entries the log does not hold.
async fn added_subtree_hash_is_named(t: TestHub) {
    let b = build_log(t).await;
    let raw = Raw::open(&b.url).await;
    let index = (b.size >> 1) + 3;
    raw!(&raw, p => sqlx::query("INSERT INTO audit_nodes (level, idx, hash) VALUES (1, $1, $2)")
        .bind(i64::try_from(index).expect("index"))
        .bind(&[0x55u8; 32][..])
        .execute(p)
        .await
        .map(|r| r.rows_affected()))
    .expect("insert node");
    raw.close().await;
    let err = verify(&b.url, &b.verifier, &b.kept).await.unwrap_err();
    assert_eq!(err, AuditError::NodeMismatch { level: 1, index });
}

// ---------------------------------------------------------------------------
// 2. Two hubs on one PostgreSQL
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hubs_on_one_postgres_keep_one_log() {
    const TASKS: usize = 4;
    const ROUNDS: usize = 10;
    let Some(t) = TestHub::start(Db::Postgres).await else {
        return;
    };
    let started = Instant::now();
    let verifier = t.env.audit_verifier().expect("verifier");
    let listen: SocketAddr = "127.0.0.1:0".parse().expect("addr");
    let hub2 = schakel_hub::start(t.env.hub_config(listen, &t.db_url).expect("config"))
        .await
        .expect("second hub starts on the same database");
    let urls = [t.url(), format!("https://{}", hub2.addr())];
    let mut officers = Vec::new();
    for url in &urls {
        officers.push(AuditServiceClient::new(
            channel_at(&t.env, url, "mbo-privacy-officer").await,
        ));
    }
    let store = t.hub.as_ref().expect("running").store().clone();
    let before = store.audit_size().await.expect("size");
    let first = fresh_checkpoint(&mut officers[0], &verifier).await;
    assert_eq!(first.size, before);

    let bsns = test_bsns(2 * TASKS * ROUNDS + 1);
    let mut writers = Vec::new();
    for (h, url) in urls.iter().enumerate() {
        for w in 0..TASKS {
            let mut c = clients_on(channel_at(&t.env, url, "mbo-school").await);
            let start = (h * TASKS + w) * ROUNDS;
            let mine = bsns[start..start + ROUNDS].to_vec();
            writers.push(tokio::spawn(async move {
                for (i, bsn) in mine.iter().enumerate() {
                    let consent = give_consent(&mut c, bsn, &format!("c-{h}-{w}-{i}")).await;
                    submit_ok(&mut c, handover(bsn, &consent, &format!("s-{h}-{w}-{i}"))).await;
                }
            }));
        }
    }
    // Checkpoints from either hub while both write.
    let mut kept = vec![first.clone()];
    let mut i = 0;
    while writers.iter().any(|w| !w.is_finished()) {
        kept.push(fresh_checkpoint(&mut officers[i % 2], &verifier).await);
        i += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for w in writers {
        w.await.expect("writer");
    }
    let written = store.audit_size().await.expect("size");
    assert_eq!(written, before + (2 * TASKS * ROUNDS * 2) as u64);
    let writing = started.elapsed();

    // A fresh checkpoint from each hub; hub 2's after one more entry, so
    // each signs its own.
    let cp1 = fresh_checkpoint(&mut officers[0], &verifier).await;
    assert_eq!(cp1.size, written);
    let mut school2 = clients_on(channel_at(&t.env, &urls[1], "mbo-school").await);
    give_consent(&mut school2, &bsns[2 * TASKS * ROUNDS], "c-last").await;
    let cp2 = fresh_checkpoint(&mut officers[1], &verifier).await;
    assert_eq!(cp2.size, written + 1);

    // Gapless: every position holds the entry numbered for it.
    let stored = store.audit_range(0, cp2.size).await.expect("range");
    assert_eq!(stored.len() as u64, cp2.size);
    let entries: Vec<Entry> = stored
        .iter()
        .enumerate()
        .map(|(i, s)| {
            assert_eq!(s.seq, i as u64, "row at position {i}");
            let e = Entry::decode(&s.bytes).expect("decodes");
            assert_eq!(e.seq, i as u64, "entry at position {i}");
            e
        })
        .collect();
    // Entry times are taken when a request starts, sequence numbers when it
    // commits: how far back in time the log steps (the verifier tolerates
    // 5 s by default).
    let mut latest = 0u64;
    let mut max_regression_ms = 0;
    for e in &entries {
        max_regression_ms = max_regression_ms.max(latest.saturating_sub(e.time_ms));
        latest = latest.max(e.time_ms);
    }
    let new = &entries[before as usize..];
    let count = |a: Action| new.iter().filter(|e| e.action == a).count();
    assert_eq!(count(Action::ConsentRecorded), 2 * TASKS * ROUNDS + 1);
    assert_eq!(count(Action::TransferSubmitted), 2 * TASKS * ROUNDS);

    // Inclusion proofs from one hub verify against the other's checkpoint.
    let visible = store
        .audit_query(
            &AuditQuery {
                visible_to: MBO_OIN.into(),
                ..Default::default()
            },
            before,
            1000,
        )
        .await
        .expect("query");
    let visible: Vec<u64> = visible.iter().map(|e| e.seq).filter(|&s| s < cp1.size).collect();
    assert_eq!(visible.len(), 2 * TASKS * ROUNDS * 2);
    let sample: Vec<u64> = visible.iter().step_by(visible.len() / 8).copied().collect();
    for &seq in &sample {
        for (via, cp) in [(0, &cp2), (1, &cp1)] {
            let r = officers[via]
                .get_inclusion_proof(req(pb::GetInclusionProofRequest {
                    sequence: seq,
                    tree_size: cp.size,
                }))
                .await
                .expect("inclusion proof")
                .into_inner();
            assert_eq!((r.leaf_index, r.tree_size), (seq, cp.size));
            let leaf = leaf_hash(&stored[seq as usize].bytes);
            assert_eq!(r.entry.expect("entry").leaf_hash, leaf.to_vec());
            let hashes: Vec<[u8; 32]> = r
                .hashes
                .iter()
                .map(|h| h.as_slice().try_into().expect("32 bytes"))
                .collect();
            verify_inclusion(&leaf, seq, cp.size, &hashes, &cp.root)
                .unwrap_or_else(|e| panic!("entry {seq} via hub {} against {}: {e}", via + 1, cp.size));
            // A neighbour's leaf does not pass with this proof.
            let other = leaf_hash(&stored[seq as usize + 1].bytes);
            assert!(verify_inclusion(&other, seq, cp.size, &hashes, &cp.root).is_err());
        }
    }

    // Consistency: the checkpoint before the writes, and one made while
    // they ran, are prefixes of the final ones.
    let mid = kept[kept.len() / 2].clone();
    for (via, old, new) in [
        (0, &first, &cp2),
        (1, &first, &cp1),
        (1, &mid, &cp2),
        (0, &mid, &cp1),
    ] {
        let r = officers[via]
            .get_consistency_proof(req(pb::GetConsistencyProofRequest {
                first_size: old.size,
                second_size: new.size,
            }))
            .await
            .expect("consistency proof")
            .into_inner();
        let hashes: Vec<[u8; 32]> = r
            .hashes
            .iter()
            .map(|h| h.as_slice().try_into().expect("32 bytes"))
            .collect();
        verify_consistency(old.size, new.size, &old.root, &new.root, &hashes)
            .unwrap_or_else(|e| panic!("{} -> {} via hub {}: {e}", old.size, new.size, via + 1));
    }

    // The whole log against every checkpoint either hub signed.
    kept.push(cp1.clone());
    kept.push(cp2.clone());
    let size = store.audit_size().await.expect("size");
    assert_eq!(
        size,
        cp2.size + 2 * sample.len() as u64,
        "each inclusion proof request is audited"
    );
    let report = store
        .verify_audit_log(&verifier, &kept, VerifyConfig::default())
        .await
        .expect("database")
        .unwrap_or_else(|e| panic!("the shared log does not verify: {e}"));
    assert_eq!(report.end, size);
    assert!(report.proven_size >= cp2.size);
    for cp in &kept {
        assert!(report.checkpoints_matched.contains(&cp.size), "{}", cp.size);
    }
    eprintln!(
        "two hubs: {} entries ({} written concurrently in {writing:?}), {} checkpoints kept, {} stored, {} time regressions tolerated (largest {max_regression_ms} ms), total {:?}",
        size,
        written - before,
        kept.len(),
        store.audit_checkpoints().await.expect("checkpoints").len(),
        report.time_regressions_tolerated,
        started.elapsed()
    );
    drop(officers);
    drop(school2);
    hub2.shutdown().await;
}

// ---------------------------------------------------------------------------
// 3. A PostgreSQL role without UPDATE/DELETE (deploy/postgres/roles.sql)
// ---------------------------------------------------------------------------

async fn pg_exec(pool: &PgPool, sql: &str) -> Result<u64, sqlx::Error> {
    sqlx::query(AssertSqlSafe(sql.to_owned()))
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
}

#[tokio::test]
async fn postgres_hub_role_cannot_change_the_log() {
    const AUDIT_TABLES: [(&str, &str); 4] = [
        ("audit_log", "action"),
        ("audit_parties", "oin"),
        ("audit_checkpoints", "note"),
        ("audit_nodes", "hash"),
    ];
    let Some(mut t) = TestHub::start(Db::Postgres).await else {
        return;
    };
    let started = Instant::now();
    let verifier = t.env.audit_verifier().expect("verifier");
    // The hub migrated and seeded as the superuser; now the operator applies
    // the roles file (twice: it must be idempotent).
    t.stop().await;
    let su = PgPool::connect(&t.db_url).await.expect("superuser");
    for _ in 0..2 {
        sqlx::raw_sql(ROLES_SQL)
            .execute(&su)
            .await
            .expect("roles.sql applies");
    }
    let owners: Vec<(String, String)> = sqlx::query_as(
        "SELECT tablename::text, tableowner::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
    )
    .fetch_all(&su)
    .await
    .expect("owners");
    assert!(owners.len() >= 13, "{owners:?}");
    for (table, owner) in &owners {
        assert_eq!(owner, "schakel_owner", "{table}");
    }
    su.close().await;
    let as_role = |role: &str| {
        let url = t
            .db_url
            .replacen("postgres://postgres@", &format!("postgres://{role}@"), 1);
        assert_ne!(url, t.db_url);
        url
    };
    let (hub_url, owner_url) = (as_role("schakel_hub"), as_role("schakel_owner"));

    // A hub running as schakel_hub works: consent, handover, fetch, checkpoint.
    let listen: SocketAddr = "127.0.0.1:0".parse().expect("addr");
    let hub = schakel_hub::start(t.env.hub_config(listen, &hub_url).expect("config"))
        .await
        .expect("a hub starts as schakel_hub");
    let url = format!("https://{}", hub.addr());
    let before = hub.store().audit_size().await.expect("size");
    {
        let mut school = clients_on(channel_at(&t.env, &url, "mbo-school").await);
        let mut werk = clients_on(channel_at(&t.env, &url, "gemeente-participatiewet").await);
        let mut officer = AuditServiceClient::new(channel_at(&t.env, &url, "gemeente-privacy-officer").await);
        let consent = give_consent(&mut school, BSN, "consent-role").await;
        let sent = submit_ok(&mut school, handover(BSN, &consent, "submit-role")).await;
        fetch(&mut werk, &sent.transfer_id).await;
        let cp = fresh_checkpoint(&mut officer, &verifier).await;
        assert_eq!(cp.size, before + 3);
    }
    let size = hub.store().audit_size().await.expect("size");
    assert_eq!(size, before + 3);
    hub.shutdown().await;

    let hub_db = PgPool::connect(&hub_url).await.expect("as schakel_hub");
    let owner_db = PgPool::connect(&owner_url).await.expect("as schakel_owner");
    let denied = |r: Result<u64, sqlx::Error>, sql: &str, message: &str| {
        let e = r.expect_err(sql);
        assert_eq!(db_error(&e), ("42501".to_owned(), message.to_owned()), "{sql}");
    };
    // The hub's role cannot switch the triggers off; the owner can.
    for (table, _) in AUDIT_TABLES {
        let sql = format!("ALTER TABLE {table} DISABLE TRIGGER USER");
        denied(
            pg_exec(&hub_db, &sql).await,
            &sql,
            &format!("must be owner of table {table}"),
        );
        pg_exec(&owner_db, &sql)
            .await
            .expect("the owner disables the triggers");
    }
    // With the triggers off the owner could now rewrite entries (rolled
    // back here), so what stops the hub below is its missing privileges.
    {
        let mut tx = owner_db.begin().await.expect("begin");
        let n = sqlx::query("UPDATE audit_log SET action = action WHERE seq = 0")
            .execute(&mut *tx)
            .await
            .expect("owner updates with triggers off")
            .rows_affected();
        assert_eq!(n, 1);
        tx.rollback().await.expect("rollback");
    }
    for (table, column) in AUDIT_TABLES {
        for sql in [
            format!("UPDATE {table} SET {column} = {column}"),
            format!("DELETE FROM {table}"),
            format!("TRUNCATE {table}"),
        ] {
            denied(
                pg_exec(&hub_db, &sql).await,
                &sql,
                &format!("permission denied for table {table}"),
            );
        }
        // Reading and appending stay allowed.
        pg_exec(&hub_db, &format!("SELECT * FROM {table} LIMIT 1"))
            .await
            .expect("select");
    }
    // The head: only its counter.
    for sql in [
        "UPDATE audit_head SET id = 1",
        "DELETE FROM audit_head",
        "INSERT INTO audit_head (id, next_seq) VALUES (1, 0)",
        "TRUNCATE audit_head",
    ] {
        denied(
            pg_exec(&hub_db, sql).await,
            sql,
            "permission denied for table audit_head",
        );
    }
    // Migrations are the owner's.
    denied(
        pg_exec(&hub_db, "DELETE FROM _sqlx_migrations").await,
        "DELETE FROM _sqlx_migrations",
        "permission denied for table _sqlx_migrations",
    );
    // The case tables: full DML (rolled back), but no TRUNCATE.
    {
        let mut tx = hub_db.begin().await.expect("begin");
        for sql in [
            "UPDATE transfers SET state = state",
            "DELETE FROM transfer_groups WHERE false",
            "UPDATE consents SET status = status",
        ] {
            sqlx::query(sql).execute(&mut *tx).await.expect(sql);
        }
        tx.rollback().await.expect("rollback");
    }
    denied(
        pg_exec(&hub_db, "TRUNCATE transfers").await,
        "TRUNCATE transfers",
        "permission denied for table transfers",
    );
    for (table, _) in AUDIT_TABLES {
        pg_exec(&owner_db, &format!("ALTER TABLE {table} ENABLE TRIGGER USER"))
            .await
            .expect("enable triggers");
    }
    hub_db.close().await;
    owner_db.close().await;

    // Nothing changed: the log verifies, read as the hub's role.
    let report = verify(&hub_url, &verifier, &[]).await.expect("verifies");
    assert_eq!((report.end, report.proven_size), (size, size));
    eprintln!("schakel_hub role: {size} entries, in {:?}", started.elapsed());
}

// ---------------------------------------------------------------------------
// A write that waits for a lock keeps the log verifiable
// ---------------------------------------------------------------------------

/// An untampered log must verify and stay checkpointable. An entry's time
/// was once taken when the request started and its sequence number when it
/// committed, so a write that waited more than 5 s (here: behind a lock on
/// `transfers`) landed after faster later writes with a time more than the
/// verifier's tolerance before them: `verify_audit_log` reported
/// `TimeRegression` and the checkpointer refused to sign from then on. The
/// time is now taken once the audit head is locked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_write_keeps_the_log_verifiable() {
    let Some(t) = TestHub::start(Db::Postgres).await else {
        return;
    };
    let verifier = t.env.audit_verifier().expect("verifier");
    let bsns = test_bsns(2);
    let mut school = clients(&t, "mbo-school").await;
    let mut slow_school = clients(&t, "mbo-school").await;
    let consent = give_consent(&mut school, &bsns[0], "consent-slow").await;
    let su = PgPool::connect(&t.db_url).await.expect("superuser");
    let mut lock = su.begin().await.expect("begin");
    sqlx::query("LOCK TABLE transfers IN SHARE MODE")
        .execute(&mut *lock)
        .await
        .expect("lock");
    let slow_bsn = bsns[0].clone();
    let slow = tokio::spawn(async move {
        submit_ok(&mut slow_school, handover(&slow_bsn, &consent, "submit-slow")).await
    });
    tokio::time::sleep(Duration::from_millis(5_500)).await;
    give_consent(&mut school, &bsns[1], "consent-fast").await;
    lock.rollback().await.expect("release");
    slow.await.expect("slow submit");
    let mut officer = AuditServiceClient::new(t.connect("gemeente-privacy-officer").await.channel());
    let cp = officer
        .get_checkpoint(req(pb::GetCheckpointRequest { fresh: true }))
        .await
        .map(|r| r.into_inner().checkpoint.expect("checkpoint").tree_size);
    let report = verify(&t.db_url, &verifier, &[]).await;
    let size = t.audit_size().await;
    assert!(
        report.is_ok() && cp.as_ref().is_ok_and(|&n| n == size),
        "an untampered log of {size} entries: verification {report:?}, fresh checkpoint {cp:?}"
    );
}
