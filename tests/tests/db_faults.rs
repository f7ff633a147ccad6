//! Database faults (issue 6), against the real `schakel-hub` binary under a
//! submit load from several clients, without ever restarting the hub:
//!
//! - PostgreSQL (a private throwaway cluster, so stopping it disturbs no
//!   other test) is stopped with `pg_ctl stop -m fast` during the load and
//!   started again. While it is down every submit is answered `UNAVAILABLE`
//!   (no other code, no panic, nothing acknowledged that is not stored); when
//!   it is back the same hub process answers OK again by itself.
//! - SQLite: the disk is "full" — the hub's file size limit is lowered to 0
//!   with `prlimit` (SIGXFSZ ignored, so every write to a file fails with
//!   EFBIG as on a full disk; works as any user, unlike a tmpfs or a
//!   read-only mount). Submits are answered `UNAVAILABLE`; when the limit is
//!   lifted the hub recovers by itself; `PRAGMA integrity_check` passes.
//!
//! - PostgreSQL crashes (issue 14) under two hubs: `pg_ctl stop -m immediate`
//!   and SIGKILL of the postmaster, each followed by crash recovery, while
//!   both hubs have submits in flight. A commit that the crash took must
//!   never have been acknowledged (it is answered `UNAVAILABLE` and made
//!   again on retry). `SCHAKEL_PG_CRASHES` sets the number of crashes.
//!
//! In all, afterwards: every acknowledged submit is stored, no transfer is
//! half-written, and the audit log verifies with no gap. A submit answered
//! `UNAVAILABLE` is retried with the same idempotency key; the test counts how
//! many of those turn out to have been stored (the commit reached the
//! database but its answer did not reach the hub).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use schakel_e2e::binary_hub::{HubProcess, check_database, connect, free_port, hub_binary, write_config};
use schakel_e2e::flow::{BSN, Clients, give_consent, handover, req};
use schakel_hub::dev::DevEnvironment;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

/// Client tasks submitting at once.
const CLIENTS: usize = 3;
/// How long the fault lasts.
const OUTAGE: Duration = Duration::from_secs(8);
/// Longest the hub may take to answer OK again once the fault is gone.
const RECOVERY: Duration = Duration::from_secs(60);

// ------------------------------------------------------------ the load

/// One submit answered OK.
#[derive(Debug, Clone)]
struct Ack {
    transfer_id: String,
    attempts: u32,
    replayed: bool,
    /// An earlier attempt with this key was answered `UNAVAILABLE`.
    after_unavailable: bool,
}

#[derive(Debug, Default)]
struct Ledger {
    acked: BTreeMap<String, Ack>,
    /// Answers per code (OK included).
    codes: BTreeMap<String, u64>,
    /// When the last OK answer arrived.
    last_ok: Option<Instant>,
    /// Answers a valid request must never get.
    wrong: Vec<String>,
}

/// Submits fresh keys until `stop`; `UNAVAILABLE` is retried with the same
/// key (as the API asks). Any other failure is recorded as wrong.
async fn client_load(
    mut c: Clients,
    client: usize,
    consent_id: String,
    stop: Arc<AtomicBool>,
    ledger: Arc<Mutex<Ledger>>,
) {
    let mut n = 0u32;
    while !stop.load(Ordering::Relaxed) {
        let key = format!("f{client}-{n}");
        let request = handover(BSN, &consent_id, &key);
        let mut attempts = 0u32;
        let mut after_unavailable = false;
        let started = Instant::now();
        loop {
            attempts += 1;
            let mut r = req(request.clone());
            r.set_timeout(Duration::from_secs(30));
            let answer = c.transfer.submit(r).await;
            let done = {
                let mut l = ledger.lock().expect("ledger");
                match answer {
                    Ok(a) => {
                        let a = a.into_inner();
                        *l.codes.entry("Ok".into()).or_default() += 1;
                        l.last_ok = Some(Instant::now());
                        if a.replayed && !after_unavailable {
                            l.wrong.push(format!("{key}: a first answer marked as replay"));
                        }
                        l.acked.insert(
                            key.clone(),
                            Ack {
                                transfer_id: a.transfer_id,
                                attempts,
                                replayed: a.replayed,
                                after_unavailable,
                            },
                        );
                        true
                    }
                    Err(s) if s.code() != Code::Unavailable => {
                        *l.codes.entry(format!("{:?}", s.code())).or_default() += 1;
                        l.wrong.push(format!(
                            "{key} attempt {attempts}: {:?} {}",
                            s.code(),
                            s.message()
                        ));
                        true
                    }
                    Err(_) => {
                        *l.codes.entry("Unavailable".into()).or_default() += 1;
                        after_unavailable = true;
                        if started.elapsed() > OUTAGE + RECOVERY + Duration::from_secs(30) {
                            l.wrong.push(format!("{key}: still UNAVAILABLE"));
                            true
                        } else {
                            false
                        }
                    }
                }
            };
            if done {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        n += 1;
    }
}

/// Waits until an OK answer arrives after `since`; the time it took.
async fn recovered(ledger: &Mutex<Ledger>, since: Instant, hub: &HubProcess) -> Duration {
    loop {
        if let Some(t) = ledger.lock().expect("ledger").last_ok
            && t > since
        {
            return t - since;
        }
        if since.elapsed() > RECOVERY {
            let codes = ledger.lock().expect("ledger").codes.clone();
            let kept = std::env::temp_dir().join("schakel-db-faults-hub.log");
            let _ = std::fs::copy(hub.log_path(), &kept);
            eprintln!("hub log kept in {}", kept.display());
            panic!(
                "the hub did not recover within {RECOVERY:?}; answers {codes:?}\n{}",
                hub.log_tail()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ------------------------------------------------------------ the tests

/// What a fault does to the hub's surroundings.
struct FaultKind {
    /// Start the hub with SIGXFSZ ignored (for a file size limit).
    ignore_xfsz: bool,
    /// The database does not answer at all (health must say NOT_SERVING).
    database_unreachable: bool,
}

/// A load against a hub started on `db_url`; `fault` starts the fault and
/// returns a closure that ends it. Returns the report line.
async fn fault_run(
    name: &str,
    env: &DevEnvironment,
    dir: &Path,
    db_url: &str,
    kind: FaultKind,
    begin_fault: impl FnOnce(u32),
    end_fault: impl FnOnce(u32),
) {
    env.seed(db_url).await.expect("seed demo directory");
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    let url = format!("https://{addr}");
    env.write_profiles(&url).expect("profiles");
    let config = write_config(env, dir, addr, db_url);
    let mut hub = HubProcess::new(config, dir.join("hub.log"), addr);
    hub.ignore_xfsz = kind.ignore_xfsz;
    tokio::task::spawn_blocking(hub_binary).await.expect("build");
    tokio::task::block_in_place(|| hub.start());
    let pid = hub.pid();

    let mut school = connect(env, "mbo-school", &url).await;
    let consent_id = give_consent(&mut school, BSN, "fault-consent").await;
    let stop = Arc::new(AtomicBool::new(false));
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut tasks = Vec::new();
    for client in 0..CLIENTS {
        let c = connect(env, "mbo-school", &url).await;
        tasks.push(tokio::spawn(client_load(
            c,
            client,
            consent_id.clone(),
            stop.clone(),
            ledger.clone(),
        )));
    }

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let acked_before = ledger.lock().expect("ledger").acked.len();
    tokio::task::block_in_place(|| begin_fault(pid));
    let down = Instant::now();
    tokio::time::sleep(OUTAGE).await;
    hub.assert_alive("during the fault");
    let health_channel = schakel_e2e::binary_hub::channel(env, "mbo-school", &url).await;
    if kind.database_unreachable {
        // A load balancer's health check sees it (at the next probe).
        wait_for_health(&health_channel, ServingStatus::NotServing, &hub).await;
    }
    let during = {
        let l = ledger.lock().expect("ledger");
        l.codes.clone()
    };
    tokio::task::block_in_place(|| end_fault(pid));
    let up = Instant::now();
    let recovery = recovered(&ledger, up, &hub).await;
    wait_for_health(&health_channel, ServingStatus::Serving, &hub).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        tokio::time::timeout(RECOVERY + OUTAGE + Duration::from_secs(60), t)
            .await
            .expect("client tasks stop")
            .expect("client task");
    }
    hub.assert_alive("after the fault");
    assert_eq!(hub.starts(), 1, "the hub was never restarted");
    let ledger = std::mem::take(&mut *ledger.lock().expect("ledger"));
    assert!(ledger.wrong.is_empty(), "wrong answers: {:#?}", ledger.wrong);
    let unavailable = ledger.codes.get("Unavailable").copied().unwrap_or(0);
    assert!(
        unavailable > 0,
        "no submit was answered UNAVAILABLE during the fault"
    );
    tokio::task::block_in_place(|| hub.stop());
    let log = std::fs::read_to_string(dir.join("hub.log")).unwrap_or_default();
    assert!(!log.contains("panicked"), "the hub panicked:\n{log}");

    let c = check_database(
        db_url,
        env,
        ledger
            .acked
            .iter()
            .map(|(k, a)| (k.as_str(), a.transfer_id.as_str())),
        "after the fault",
    )
    .await;
    assert_eq!(
        c.transfers,
        ledger.acked.len(),
        "one transfer per idempotency key"
    );
    let retried: Vec<&Ack> = ledger.acked.values().filter(|a| a.after_unavailable).collect();
    let stored_anyway = retried.iter().filter(|a| a.replayed).count();
    let max_attempts = ledger.acked.values().map(|a| a.attempts).max().unwrap_or(0);
    eprintln!(
        "db_faults[{name}] acknowledged={} (before the fault {acked_before}) stored={} answers={:?} \
         answers_until_fault_end={during:?} outage={:.1?} recovered_after={recovery:.1?} \
         keys_answered_unavailable={} of_which_stored_anyway(replayed on retry)={stored_anyway} \
         max_attempts={max_attempts} audit_entries={} hub_restarts=0",
        ledger.acked.len(),
        c.transfers,
        ledger.codes,
        up - down,
        retried.len(),
        c.audit_entries,
    );
}

/// Waits until the hub's health service reports `want` for every
/// `schakel.v1` service and the server as a whole; the deadline only stops
/// a hang (the hub probes its database every few seconds).
async fn wait_for_health(channel: &tonic::transport::Channel, want: ServingStatus, hub: &HubProcess) {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_client::HealthClient;
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut health = HealthClient::new(channel.clone());
    loop {
        let mut seen = Vec::new();
        for service in std::iter::once("").chain(schakel_proto::SERVICE_NAMES) {
            let status = health
                .check(HealthCheckRequest {
                    service: service.into(),
                })
                .await
                .map(|r| r.into_inner().status);
            seen.push((service, status));
        }
        if seen
            .iter()
            .all(|(_, s)| s.as_ref().is_ok_and(|s| *s == want as i32))
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "health never became {want:?}: {seen:?}\n{}",
            hub.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_stopped_and_restarted_under_load() {
    if schakel_testkit::pg_bin_dir().is_none() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "CI=true but no PostgreSQL server binaries"
        );
        eprintln!("skipping: no PostgreSQL server binaries (set SCHAKEL_PG_BIN)");
        return;
    }
    // A private cluster: stopping it must not disturb other tests.
    let cluster = schakel_testkit::PgCluster::start().expect("private PostgreSQL cluster");
    let url = cluster.create_database().expect("database");
    let dir = tempfile::tempdir().expect("temp dir");
    let env = DevEnvironment::ensure(dir.path().join("dev")).expect("dev environment");
    fault_run(
        "postgres restart",
        &env,
        dir.path(),
        &url,
        FaultKind {
            ignore_xfsz: false,
            database_unreachable: true,
        },
        |_| cluster.stop().expect("pg_ctl stop"),
        |_| cluster.start_again().expect("pg_ctl start"),
    )
    .await;
}

fn prlimit_fsize(pid: u32, soft: &str) {
    let out = Command::new("prlimit")
        .args(["--pid", &pid.to_string(), &format!("--fsize={soft}:")])
        .output()
        .expect("run prlimit (util-linux)");
    assert!(
        out.status.success(),
        "prlimit: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_disk_full_under_load() {
    let dir = tempfile::tempdir().expect("temp dir");
    let env = DevEnvironment::ensure(dir.path().join("dev")).expect("dev environment");
    let url = env.sqlite_url();
    fault_run(
        "sqlite disk full",
        &env,
        dir.path(),
        &url,
        FaultKind {
            ignore_xfsz: true,
            // A full disk still answers reads: health stays SERVING.
            database_unreachable: false,
        },
        |pid| prlimit_fsize(pid, "0"),
        |pid| prlimit_fsize(pid, "unlimited"),
    )
    .await;
    // The file itself is sound.
    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect(&url).await.expect("open");
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .expect("integrity_check");
    assert_eq!(check, "ok");
}

// ------------------------------------------------------------ PostgreSQL crashes

/// How a crash cycle ends the server.
#[derive(Debug, Clone, Copy)]
enum Crash {
    /// `pg_ctl stop -m immediate`: nothing flushed, crash recovery on start.
    Immediate,
    /// SIGKILL of the postmaster (its children end by themselves).
    KillPostmaster,
}

/// Crash cycles in [`postgres_crashes_under_two_hubs`]: `SCHAKEL_PG_CRASHES`
/// (default 2, one of each kind; run 20 or more by hand, see
/// docs/reliability.md).
fn pg_crashes() -> usize {
    std::env::var("SCHAKEL_PG_CRASHES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2)
}

/// Submit clients per hub in the crash test: enough commits in flight that
/// a crash falls between some commit and its flush.
const CRASH_CLIENTS_PER_HUB: usize = 8;
/// How long the server stays down in a crash cycle: shorter than the hubs'
/// pool acquire timeout, so writers are still waiting for a flush when the
/// server is back — the moment the lost-commit bug acknowledged them.
const CRASH_DOWN: Duration = Duration::from_secs(2);

/// Two hubs on one PostgreSQL under a submit load; the server is crashed
/// (alternately `-m immediate` and SIGKILL of the postmaster) and started
/// again, several times. Nothing acknowledged may be lost: a commit the
/// crash took must have been answered `UNAVAILABLE` (and is then made again
/// on retry with its key), never OK. Afterwards every acknowledged key is
/// stored once with the answer its client got, and the log verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_crashes_under_two_hubs() {
    if schakel_testkit::pg_bin_dir().is_none() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "CI=true but no PostgreSQL server binaries"
        );
        eprintln!("skipping: no PostgreSQL server binaries (set SCHAKEL_PG_BIN)");
        return;
    }
    let cluster = schakel_testkit::PgCluster::start().expect("private PostgreSQL cluster");
    let db_url = cluster.create_database().expect("database");
    let dir = tempfile::tempdir().expect("temp dir");
    let env = DevEnvironment::ensure(dir.path().join("dev")).expect("dev environment");
    env.seed(&db_url).await.expect("seed demo directory");
    tokio::task::spawn_blocking(hub_binary).await.expect("build");

    let mut hubs = Vec::new();
    let mut urls = Vec::new();
    for name in ["hub-a", "hub-b"] {
        let hub_dir = dir.path().join(name);
        std::fs::create_dir_all(&hub_dir).expect("hub dir");
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
        let config = write_config(&env, &hub_dir, addr, &db_url);
        let mut hub = HubProcess::new(config, hub_dir.join("hub.log"), addr);
        tokio::task::block_in_place(|| hub.start());
        urls.push(format!("https://{addr}"));
        hubs.push(hub);
    }
    env.write_profiles(&urls[0]).expect("profiles");

    let mut school = connect(&env, "mbo-school", &urls[0]).await;
    let consent_id = give_consent(&mut school, BSN, "crash-consent").await;
    let stop = Arc::new(AtomicBool::new(false));
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut tasks = Vec::new();
    for (h, url) in urls.iter().enumerate() {
        for i in 0..CRASH_CLIENTS_PER_HUB {
            let c = connect(&env, "mbo-school", url).await;
            tasks.push(tokio::spawn(client_load(
                c,
                h * CRASH_CLIENTS_PER_HUB + i,
                consent_id.clone(),
                stop.clone(),
                ledger.clone(),
            )));
        }
    }

    let mut recoveries = Vec::new();
    for cycle in 0..pg_crashes() {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let crash = if cycle % 2 == 0 {
            Crash::Immediate
        } else {
            Crash::KillPostmaster
        };
        tokio::task::block_in_place(|| match crash {
            Crash::Immediate => cluster.stop_immediate(),
            Crash::KillPostmaster => cluster.kill_postmaster(),
        })
        .unwrap_or_else(|e| panic!("crash {cycle} ({crash:?}): {e}"));
        tokio::time::sleep(CRASH_DOWN).await;
        tokio::task::block_in_place(|| cluster.start_again()).expect("pg_ctl start after the crash");
        let up = Instant::now();
        recoveries.push(recovered(&ledger, up, &hubs[0]).await);
        for hub in &mut hubs {
            hub.assert_alive("after a database crash");
        }
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        tokio::time::timeout(RECOVERY + OUTAGE + Duration::from_secs(60), t)
            .await
            .expect("client tasks stop")
            .expect("client task");
    }
    // Both hubs still sign: no checkpoint was made over entries a crash
    // took (it would contradict the log, and the hub would refuse from then on).
    for url in &urls {
        let mut officer = schakel_proto::v1::audit_service_client::AuditServiceClient::new(
            schakel_e2e::binary_hub::channel(&env, "gemeente-privacy-officer", url).await,
        );
        let cp = officer
            .get_checkpoint(req(schakel_proto::v1::GetCheckpointRequest { fresh: true }))
            .await
            .unwrap_or_else(|s| panic!("a fresh checkpoint after the crashes: {s:?}"));
        assert!(cp.into_inner().checkpoint.is_some());
    }
    for hub in &mut hubs {
        assert_eq!(hub.starts(), 1, "the hubs were never restarted");
        tokio::task::block_in_place(|| hub.stop());
        let log = std::fs::read_to_string(hub.log_path()).unwrap_or_default();
        assert!(!log.contains("panicked"), "a hub panicked:\n{log}");
    }
    let ledger = std::mem::take(&mut *ledger.lock().expect("ledger"));
    assert!(ledger.wrong.is_empty(), "wrong answers: {:#?}", ledger.wrong);

    // First, all lost keys at once, with how they were answered (the check
    // below stops at the first).
    let lost = lost_keys(&db_url, &ledger).await;
    if !lost.is_empty() {
        for (i, hub) in hubs.iter().enumerate() {
            let kept = std::env::temp_dir().join(format!("schakel-pg-crash-hub-{i}.log"));
            let _ = std::fs::copy(hub.log_path(), &kept);
            eprintln!("hub log kept in {}", kept.display());
        }
        let kept = std::env::temp_dir().join("schakel-pg-crash-cluster");
        let _ = std::fs::remove_dir_all(&kept);
        let copied = Command::new("cp")
            .arg("-a")
            .arg(cluster.data_dir().parent().expect("cluster directory"))
            .arg(&kept)
            .status();
        eprintln!(
            "cluster (data and server log) copied to {} ({copied:?})",
            kept.display()
        );
        panic!(
            "{} acknowledged submits lost after the crashes: {lost:#?}",
            lost.len()
        );
    }
    // Every acknowledged key is stored, with the answer its client got;
    // nothing is stored twice; the log verifies.
    let c = check_database(
        &db_url,
        &env,
        ledger
            .acked
            .iter()
            .map(|(k, a)| (k.as_str(), a.transfer_id.as_str())),
        "after the crashes",
    )
    .await;
    // Every checkpoint the hubs kept outside the database still holds for
    // the log the crashes left.
    let verifier = env.audit_verifier().expect("verifier");
    let mut kept = Vec::new();
    for name in ["hub-a", "hub-b"] {
        let text = std::fs::read_to_string(dir.path().join(name).join("hub.checkpoints")).unwrap_or_default();
        kept.extend(schakel_audit::parse_checkpoint_log(&text, &verifier).expect("checkpoint file"));
    }
    assert!(!kept.is_empty(), "the hubs kept checkpoints outside the database");
    let store = schakel_store::Store::connect(&schakel_store::StoreOptions::new(&db_url))
        .await
        .expect("open the database");
    let report = store
        .verify_audit_log(&verifier, &kept, schakel_audit::VerifyConfig::default())
        .await
        .expect("database")
        .unwrap_or_else(|e| panic!("a checkpoint in a hub's file contradicts the log: {e}"));
    store.close().await;
    assert!(!report.checkpoints_matched.is_empty(), "{report:?}");
    assert_eq!(
        c.transfers,
        ledger.acked.len(),
        "one transfer per idempotency key"
    );
    let retried = ledger.acked.values().filter(|a| a.after_unavailable).count();
    let remade = ledger
        .acked
        .values()
        .filter(|a| a.after_unavailable && !a.replayed)
        .count();
    eprintln!(
        "pg_crash crashes={} acknowledged={} lost=0 stored={} answers={:?} recovered_after={recoveries:.1?} \
         keys_answered_unavailable={retried} of_which_made_again_on_retry={remade} audit_entries={}",
        pg_crashes(),
        ledger.acked.len(),
        c.transfers,
        ledger.codes,
        c.audit_entries,
    );
}

/// Acknowledged keys that are not stored, with their answers.
async fn lost_keys(db_url: &str, ledger: &Ledger) -> Vec<(String, Ack)> {
    let store = schakel_store::Store::connect(&schakel_store::StoreOptions::new(db_url))
        .await
        .expect("open the database");
    let party = schakel_e2e::binary_hub::school();
    let mut lost = Vec::new();
    for (key, ack) in &ledger.acked {
        if store
            .transfer_by_key(&party, key)
            .await
            .expect("transfer by key")
            .is_none()
        {
            lost.push((key.clone(), ack.clone()));
        }
    }
    store.close().await;
    lost
}
