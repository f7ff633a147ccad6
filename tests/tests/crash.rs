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

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use schakel_audit::{Action, Checkpoint, Entry, Signer, VerifyConfig, verify_log};
use schakel_client::Profile;
use schakel_domain::{FunctionKind, Oin};
use schakel_e2e::flow::{BSN, Clients, GROUPS, MBO_OIN, give_consent, handover, opened, req};
use schakel_hub::dev::{DEV_LOG_ORIGIN, DevEnvironment};
use schakel_proto::v1 as pb;
use schakel_proto::v1::consent_service_client::ConsentServiceClient;
use schakel_proto::v1::expertise_service_client::ExpertiseServiceClient;
use schakel_proto::v1::inbox_service_client::InboxServiceClient;
use schakel_proto::v1::transfer_service_client::TransferServiceClient;
use schakel_store::{Side, Store, StoreOptions, TransferFilter};
use tonic::Code;

/// Client tasks submitting at once.
const CLIENTS: usize = 4;
/// Longest a single submit may stay unanswered before the test fails.
const KEY_DEADLINE: Duration = Duration::from_secs(90);

// ------------------------------------------------------------ the hub binary

/// `schakel-hub`, built once per test binary into this test's own target
/// directory and profile (as tests/local_cluster.rs does).
fn hub_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().expect("current exe");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("test binary under <target>/<profile>/deps")
            .to_owned();
        let target_dir = profile_dir.parent().expect("target directory").to_owned();
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("workspace root");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut build = Command::new(cargo);
        build
            .current_dir(repo)
            .env("CARGO_TARGET_DIR", &target_dir)
            .args(["build", "-p", "schakel-hub", "--bins"])
            .stdin(Stdio::null());
        match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") => {}
            Some("release") => {
                build.arg("--release");
            }
            Some(other) => {
                build.args(["--profile", other]);
            }
            None => panic!("no profile directory in {}", profile_dir.display()),
        }
        let out = build.output().expect("run cargo build");
        assert!(
            out.status.success(),
            "cargo build of schakel-hub failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        profile_dir.join("schakel-hub")
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// Writes a production-style configuration file for the development
/// environment `env` (its PKI, pseudonym key and checkpoint signing key).
fn write_config(env: &DevEnvironment, dir: &Path, addr: SocketAddr, db_url: &str) -> PathBuf {
    let d = env.dir();
    let p = |rel: &str| d.join(rel).display().to_string();
    let text = format!(
        "listen = {listen:?}\n\
         database_url = {db_url:?}\n\
         ca_bundle = {ca:?}\n\
         server_cert = {cert:?}\n\
         server_key = {key:?}\n\
         pseudonym_key_file = {pk:?}\n\
         audit_signing_key_file = {ak:?}\n\
         log_origin = {DEV_LOG_ORIGIN:?}\n\
         checkpoint_interval_secs = 1\n\
         rate_limit_per_second = 0\n\
         max_connections = 8\n",
        listen = addr.to_string(),
        ca = p("ca/ca.pem"),
        cert = p("hub/cert.pem"),
        key = p("hub/key.pem"),
        pk = p("hub/pseudonym.key"),
        ak = p("hub/audit-signing.key"),
    );
    let path = dir.join("hub.toml");
    std::fs::write(&path, text).expect("write hub.toml");
    path
}

/// The hub as a child process, restartable on the same address.
struct HubProcess {
    config: PathBuf,
    log: PathBuf,
    addr: SocketAddr,
    child: Option<Child>,
    starts: u32,
}

impl HubProcess {
    fn new(config: PathBuf, log: PathBuf, addr: SocketAddr) -> Self {
        Self {
            config,
            log,
            addr,
            child: None,
            starts: 0,
        }
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(60)..].join("\n")
    }

    /// Starts the hub and waits until it accepts connections (it binds its
    /// port only after the database is open and migrated). A port still held
    /// by the previous process is retried.
    fn start(&mut self) {
        assert!(self.child.is_none(), "hub already running");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            self.starts += 1;
            let mut log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.log)
                .expect("hub log");
            use std::io::Write;
            let _ = writeln!(log, "=== test: start {}", self.starts);
            let mut cmd = Command::new(hub_binary());
            cmd.arg("--config")
                .arg(&self.config)
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log"))
                .stderr(log);
            // Nothing from the caller's environment may redirect the hub.
            for (k, _) in std::env::vars_os() {
                if k.to_string_lossy().starts_with("SCHAKEL_") {
                    cmd.env_remove(k);
                }
            }
            let mut child = cmd.spawn().expect("spawn schakel-hub");
            let ready = loop {
                if let Some(status) = child.try_wait().expect("wait") {
                    break Err(status);
                }
                if std::net::TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_ok() {
                    break Ok(());
                }
                assert!(
                    Instant::now() < deadline,
                    "the hub did not start listening within 60 s\n{}",
                    self.log_tail()
                );
                std::thread::sleep(Duration::from_millis(25));
            };
            match ready {
                Ok(()) => {
                    self.child = Some(child);
                    return;
                }
                Err(status) => {
                    let tail = self.log_tail();
                    assert!(
                        tail.contains("Address already in use") && Instant::now() < deadline,
                        "the hub exited at start ({status}):\n{tail}"
                    );
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
    }

    /// SIGKILL, then reap.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            if let Some(status) = c.try_wait().expect("wait") {
                panic!("the hub had died by itself ({status}):\n{}", self.log_tail());
            }
            c.kill().expect("SIGKILL the hub");
            c.wait().expect("reap the hub");
        }
    }

    /// SIGTERM (graceful shutdown), SIGKILL after 15 s.
    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill").args(["-TERM", &c.id().to_string()]).status();
            let t = Instant::now();
            while t.elapsed() < Duration::from_secs(15) {
                if c.try_wait().ok().flatten().is_some() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

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

async fn connect(env: &DevEnvironment, party: &str, url: &str) -> Clients {
    let ch = Profile::load(env.profile(party))
        .expect("profile")
        .with_hub(url)
        .connect()
        .await
        .expect("connect")
        .channel();
    Clients {
        consent: ConsentServiceClient::new(ch.clone()),
        transfer: TransferServiceClient::new(ch.clone()),
        inbox: InboxServiceClient::new(ch.clone()),
        expertise: ExpertiseServiceClient::new(ch),
    }
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

// ------------------------------------------------------------ the checks

fn school() -> (Oin, FunctionKind) {
    (MBO_OIN.parse().expect("oin"), FunctionKind::School)
}

/// Every transfer the school sent, from the store.
async fn all_sent(store: &Store) -> Vec<schakel_store::TransferRow> {
    let party = school();
    let mut out: Vec<schakel_store::TransferRow> = Vec::new();
    loop {
        let after = out.last().map(|t| t.transfer_id);
        let page = store
            .list_transfers(&party, Side::Sender, &TransferFilter::default(), after, 100)
            .await
            .expect("list transfers");
        if page.is_empty() {
            return out;
        }
        out.extend(page);
    }
}

/// What a database holds after a crash, checked with the hub down.
#[derive(Debug, Default, Clone, Copy)]
struct Consistency {
    transfers: usize,
    audit_entries: u64,
}

/// No half-written transfer, no orphan audit entry, and the log verifies
/// with no gap. Every key in `acked` is stored with its answer.
async fn check_database(
    url: &str,
    env: &DevEnvironment,
    acked: &BTreeMap<String, Ack>,
    when: &str,
) -> Consistency {
    let store = Store::connect(&StoreOptions::new(url))
        .await
        .expect("open the database");
    let party = school();
    for (key, ack) in acked {
        let (row, _) = store
            .transfer_by_key(&party, key)
            .await
            .expect("transfer by key")
            .unwrap_or_else(|| panic!("{when}: acknowledged submit {key} is not stored"));
        assert_eq!(row.transfer_id.to_string(), ack.transfer_id, "{when}: {key}");
    }
    let transfers = all_sent(&store).await;
    let size = verify_audit(&store, env, when).await;
    let entries: Vec<Entry> = store
        .audit_range(0, size)
        .await
        .expect("audit range")
        .iter()
        .map(|e| Entry::decode(&e.bytes).expect("entry decodes"))
        .collect();
    let mut submitted: HashMap<uuid::Uuid, u32> = HashMap::new();
    for e in entries.iter().filter(|e| e.action == Action::TransferSubmitted) {
        let id = e.transfer_id.expect("transfer_submitted names its transfer");
        *submitted.entry(id).or_default() += 1;
    }
    for t in &transfers {
        let groups = store.transfer_groups(t.transfer_id).await.expect("groups");
        let mut stored: Vec<&str> = groups.iter().map(|g| g.group.as_str()).collect();
        let mut listed: Vec<&str> = t.groups.iter().map(String::as_str).collect();
        stored.sort_unstable();
        listed.sort_unstable();
        assert!(
            !stored.is_empty(),
            "{when}: transfer {} has no groups",
            t.transfer_id
        );
        assert_eq!(
            stored, listed,
            "{when}: transfer {} is half-written",
            t.transfer_id
        );
        for g in GROUPS {
            assert!(
                stored.contains(&g),
                "{when}: transfer {} lacks {g}",
                t.transfer_id
            );
        }
        assert_eq!(
            submitted.remove(&t.transfer_id),
            Some(1),
            "{when}: transfer {} must have exactly one transfer_submitted entry",
            t.transfer_id
        );
    }
    assert!(
        submitted.is_empty(),
        "{when}: audit entries for transfers that are not stored: {submitted:?}"
    );
    store.close().await;
    Consistency {
        transfers: transfers.len(),
        audit_entries: size,
    }
}

/// The whole stored log verifies: every entry at its own position (no gap),
/// the hub's signed checkpoints, and a checkpoint over the whole table.
async fn verify_audit(store: &Store, env: &DevEnvironment, when: &str) -> u64 {
    let size = store.audit_size().await.expect("audit size");
    let stored = store.audit_range(0, size).await.expect("audit range");
    assert_eq!(stored.len() as u64, size, "{when}: the log has a gap");
    for (i, e) in stored.iter().enumerate() {
        assert_eq!(e.seq, i as u64, "{when}: the log has a gap at {i}");
    }
    let leaves: Vec<_> = stored.iter().map(schakel_store::recompute_leaf).collect();
    let signer = Signer::from_seed("schakel.test/log", &[7; 32]).expect("signer");
    let cp = Checkpoint::new("schakel.test/log", size, schakel_audit::root(&leaves));
    let cp = Checkpoint::open(&signer.sign(&cp).expect("sign"), &signer.verifier()).expect("checkpoint");
    verify_log(stored.iter().map(|e| &e.bytes), &cp, &[], VerifyConfig::default())
        .unwrap_or_else(|e| panic!("{when}: the audit log does not verify: {e}"));
    let verifier = env.audit_verifier().expect("hub verifier key");
    let report = store
        .verify_audit_log(&verifier, &[cp], VerifyConfig::default())
        .await
        .expect("database")
        .unwrap_or_else(|e| panic!("{when}: the stored audit log does not verify: {e}"));
    assert_eq!(report.end, size, "{when}");
    size
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
        let c = check_database(&db_url, &env, &acked, &format!("after kill {}", k + 1)).await;
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
        let names: Vec<&str> = fetched.groups.iter().map(|g| g.group.as_str()).collect();
        assert_eq!(names, GROUPS);
        let plain = opened(&fetched.groups, &id);
        assert_eq!(plain[0].fields[0].value, BSN);
        present += 1;
    }
    tokio::task::block_in_place(|| hub.stop());

    let c = check_database(&db_url, &env, &ledger.acked, "at the end").await;
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
        hub.starts,
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
