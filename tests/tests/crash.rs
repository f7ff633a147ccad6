//! Crash safety (DESIGN.md §7 property 7, issue 6): the real `schakel-hub`
//! binary serves a bounded submit load from several clients and is killed
//! with SIGKILL at random moments, then restarted on the same port and
//! database. After every kill, with the hub down, the database as the crash
//! left it is checked:
//!
//! - every submit answered OK so far is stored under its idempotency key;
//! - no half-written transfer: every transfer has its sealed groups and
//!   exactly one `transfer_submitted` audit entry, and every such entry has
//!   its transfer;
//! - the audit log verifies (signed checkpoints and a checkpoint over the
//!   whole table) and has no gap.
//!
//! Clients retry a submit that got no answer with the same idempotency key
//! until it is answered; at the end every key has exactly one transfer, a
//! retry of every acknowledged key replays the stored answer, and the
//! gemeente's werkcoach fetches every acknowledged transfer and opens its
//! sealed groups with its own age identity.
//!
//! `SCHAKEL_CRASH_KILLS` sets the number of kills per backend (default 3);
//! `SCHAKEL_CRASH_SEED` replays a run's random moments. PostgreSQL runs on the
//! shared throwaway cluster (skipped without server binaries outside CI).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use schakel_e2e::binary_hub::{HubProcess, check_database, connect, free_port, hub_binary, write_config};
use schakel_e2e::flow::{BSN, Clients, GROUPS, give_consent, group_names, handover, opened, req};
use schakel_hub::dev::DevEnvironment;
use schakel_proto::v1 as pb;
use tonic::Code;

/// Client tasks submitting at once.
const CLIENTS: usize = 4;
/// Longest a single submit may stay unanswered before the test fails.
const KEY_DEADLINE: Duration = Duration::from_secs(90);

// ------------------------------------------------------------ randomness

/// xorshift64*: enough for choosing moments; the seed is printed.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

// ------------------------------------------------------------ the load

/// One submit answered OK.
#[derive(Debug, Clone)]
struct Ack {
    transfer_id: String,
    attempts: u32,
    replayed: bool,
}

#[derive(Debug, Default)]
struct Ledger {
    /// Idempotency key → the OK answer.
    acked: BTreeMap<String, Ack>,
    /// Codes of failed attempts (all retried with the same key).
    failures: BTreeMap<String, u64>,
    /// Answers that must never come (a definite refusal of a valid request).
    wrong: Vec<String>,
}

fn code_name(c: Code) -> String {
    format!("{c:?}")
}

/// Submits fresh keys `c<client>-<n>` until `stop`; a submit without an
/// answer (the hub died, or was down) is retried with the same key.
async fn client_load(
    mut c: Clients,
    client: usize,
    consent_id: String,
    stop: Arc<AtomicBool>,
    ledger: Arc<Mutex<Ledger>>,
) {
    let mut n = 0u32;
    while !stop.load(Ordering::Relaxed) {
        let key = format!("c{client}-{n}");
        let request = handover(BSN, &consent_id, &key);
        let started = Instant::now();
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let mut r = req(request.clone());
            r.set_timeout(Duration::from_secs(20));
            match c.transfer.submit(r).await {
                Ok(answer) => {
                    let a = answer.into_inner();
                    let mut l = ledger.lock().expect("ledger");
                    if a.replayed && attempts == 1 {
                        l.wrong.push(format!("{key}: first attempt answered as a replay"));
                    }
                    l.acked.insert(
                        key.clone(),
                        Ack {
                            transfer_id: a.transfer_id,
                            attempts,
                            replayed: a.replayed,
                        },
                    );
                    break;
                }
                Err(s) => {
                    let retry = matches!(
                        s.code(),
                        Code::Unavailable
                            | Code::Unknown
                            | Code::Cancelled
                            | Code::DeadlineExceeded
                            | Code::Internal
                            | Code::ResourceExhausted
                    );
                    {
                        let mut l = ledger.lock().expect("ledger");
                        *l.failures.entry(code_name(s.code())).or_default() += 1;
                        if !retry {
                            l.wrong.push(format!(
                                "{key} attempt {attempts}: {:?} {}",
                                s.code(),
                                s.message()
                            ));
                        }
                    }
                    if !retry {
                        break;
                    }
                    if started.elapsed() > KEY_DEADLINE {
                        ledger
                            .lock()
                            .expect("ledger")
                            .wrong
                            .push(format!("{key}: no answer within {KEY_DEADLINE:?}"));
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
        n += 1;
    }
}

fn werkcoach_identity(env: &DevEnvironment) -> age::x25519::Identity {
    let text = std::fs::read_to_string(env.profile("gemeente-participatiewet").join("age-identity.txt"))
        .expect("age identity");
    schakel_crypto::parse_identities(&text)
        .expect("identity")
        .remove(0)
}

// ------------------------------------------------------------ the test

fn kills() -> u32 {
    std::env::var("SCHAKEL_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
}

fn seed() -> u64 {
    std::env::var("SCHAKEL_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        })
}

async fn crash_run(backend: &str, db_url: String, env: DevEnvironment, dir: &Path) {
    let kills = kills();
    let seed = seed();
    let mut rng = Rng::new(seed);
    env.seed(&db_url).await.expect("seed demo directory");
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    let url = format!("https://{addr}");
    env.write_profiles(&url).expect("profiles");
    let config = write_config(&env, dir, addr, &db_url);
    let mut hub = HubProcess::new(config, dir.join("hub.log"), addr);
    tokio::task::spawn_blocking(hub_binary).await.expect("build");
    let began = Instant::now();
    tokio::task::block_in_place(|| hub.start());

    let mut school_clients = connect(&env, "mbo-school", &url).await;
    let consent_id = give_consent(&mut school_clients, BSN, "crash-consent").await;

    let stop = Arc::new(AtomicBool::new(false));
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut tasks = Vec::new();
    for client in 0..CLIENTS {
        let c = connect(&env, "mbo-school", &url).await;
        tasks.push(tokio::spawn(client_load(
            c,
            client,
            consent_id.clone(),
            stop.clone(),
            ledger.clone(),
        )));
    }

    let mut checked_after_kill = Vec::new();
    for k in 0..kills {
        tokio::time::sleep(Duration::from_millis(rng.between(150, 1200))).await;
        tokio::task::block_in_place(|| hub.kill());
        // Answers received until now were all sent before the process died.
        let acked = ledger.lock().expect("ledger").acked.clone();
        let c = check_database(
            &db_url,
            &env,
            acked.iter().map(|(k, a)| (k.as_str(), a.transfer_id.as_str())),
            &format!("after kill {}", k + 1),
        )
        .await;
        assert!(c.transfers >= acked.len(), "after kill {}", k + 1);
        checked_after_kill.push((acked.len(), c.transfers));
        tokio::time::sleep(Duration::from_millis(rng.between(0, 300))).await;
        tokio::task::block_in_place(|| hub.start());
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        tokio::time::timeout(KEY_DEADLINE + Duration::from_secs(30), t)
            .await
            .expect("client tasks stop")
            .expect("client task");
    }
    let load_time = began.elapsed();
    let ledger = std::mem::take(&mut *ledger.lock().expect("ledger"));
    assert!(ledger.wrong.is_empty(), "wrong answers: {:#?}", ledger.wrong);

    // A retry of every acknowledged key replays the stored answer.
    let mut replays = 0usize;
    for (key, ack) in &ledger.acked {
        let a = school_clients
            .transfer
            .submit(req(handover(BSN, &consent_id, key)))
            .await
            .unwrap_or_else(|s| panic!("replay of {key}: {s:?}"))
            .into_inner();
        assert!(a.replayed, "{key} was not replayed");
        assert_eq!(a.transfer_id, ack.transfer_id, "{key} replayed another transfer");
        replays += 1;
    }

    // The werkcoach fetches every acknowledged transfer and opens it.
    let mut werk = connect(&env, "gemeente-participatiewet", &url).await;
    let id = werkcoach_identity(&env);
    let mut present = 0usize;
    for ack in ledger.acked.values() {
        let fetched = werk
            .inbox
            .fetch(req(pb::FetchRequest {
                transfer_id: ack.transfer_id.clone(),
                purpose: "handover.school_to_gemeente".into(),
            }))
            .await
            .unwrap_or_else(|s| panic!("fetch {}: {s:?}", ack.transfer_id))
            .into_inner();
        assert_eq!(group_names(&fetched.groups), GROUPS);
        let plain = opened(&fetched.groups, &id);
        assert_eq!(plain[0].fields[0].value, BSN);
        present += 1;
    }
    tokio::task::block_in_place(|| hub.stop());

    let c = check_database(
        &db_url,
        &env,
        ledger
            .acked
            .iter()
            .map(|(k, a)| (k.as_str(), a.transfer_id.as_str())),
        "at the end",
    )
    .await;
    // Every key was answered in the end, and exactly one transfer exists per key.
    assert_eq!(
        c.transfers,
        ledger.acked.len(),
        "one transfer per idempotency key"
    );

    let retried: Vec<&Ack> = ledger.acked.values().filter(|a| a.attempts > 1).collect();
    let retried_replayed = retried.iter().filter(|a| a.replayed).count();
    eprintln!(
        "crash[{backend}] seed={seed} kills={kills} hub_starts={} acknowledged={} present={present} \
         transfers={} replays_verified={replays} retried={} (stored before the kill, replayed: {}; \
         created on retry: {}) failed_attempts={:?} audit_entries={} checks_after_kill(acked,stored)={:?} \
         load={load_time:.1?} total={:.1?} (hub build not counted)",
        hub.starts(),
        ledger.acked.len(),
        c.transfers,
        retried.len(),
        retried_replayed,
        retried.len() - retried_replayed,
        ledger.failures,
        c.audit_entries,
        checked_after_kill,
        began.elapsed(),
    );
    assert_eq!(present, ledger.acked.len());
    assert!(!ledger.acked.is_empty(), "the load acknowledged nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_survives_sigkill() {
    let dir = tempfile::tempdir().expect("temp dir");
    let env = DevEnvironment::ensure(dir.path().join("dev")).expect("dev environment");
    let url = env.sqlite_url();
    crash_run("sqlite", url, env, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_survives_sigkill() {
    let Some(url) = schakel_testkit::fresh_postgres_url() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let env = DevEnvironment::ensure(dir.path().join("dev")).expect("dev environment");
    crash_run("postgres", url, env, dir.path()).await;
}
