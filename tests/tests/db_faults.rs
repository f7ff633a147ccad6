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
//! In both, afterwards: every acknowledged submit is stored, no transfer is
//! half-written, and the audit log verifies with no gap. A submit answered
//! `UNAVAILABLE` is retried with the same idempotency key; the test counts how
//! many of those turn out to have been stored (the commit reached the
//! database but its answer did not reach the hub).

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
use schakel_e2e::flow::{BSN, Clients, GROUPS, MBO_OIN, give_consent, handover, req};
use schakel_hub::dev::{DEV_LOG_ORIGIN, DevEnvironment};
use schakel_proto::v1::consent_service_client::ConsentServiceClient;
use schakel_proto::v1::expertise_service_client::ExpertiseServiceClient;
use schakel_proto::v1::inbox_service_client::InboxServiceClient;
use schakel_proto::v1::transfer_service_client::TransferServiceClient;
use schakel_store::{Side, Store, StoreOptions, TransferFilter};
use tonic::Code;

/// Client tasks submitting at once.
const CLIENTS: usize = 3;
/// How long the fault lasts.
const OUTAGE: Duration = Duration::from_secs(8);
/// Longest the hub may take to answer OK again once the fault is gone.
const RECOVERY: Duration = Duration::from_secs(60);

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
    /// Start the hub with SIGXFSZ ignored, so that a file size limit
    /// (`prlimit --fsize`) makes writes fail with EFBIG instead of killing it.
    ignore_xfsz: bool,
}

impl HubProcess {
    fn new(config: PathBuf, log: PathBuf, addr: SocketAddr) -> Self {
        Self {
            config,
            log,
            addr,
            child: None,
            starts: 0,
            ignore_xfsz: false,
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
            let mut cmd = if self.ignore_xfsz {
                // An ignored signal stays ignored across exec; the pid is the hub's.
                let mut c = Command::new("sh");
                c.args(["-c", "trap '' XFSZ; exec \"$0\" \"$@\""])
                    .arg(hub_binary());
                c
            } else {
                Command::new(hub_binary())
            };
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

    /// The hub's process id.
    fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Panics when the hub process has exited.
    fn assert_alive(&mut self, when: &str) {
        let c = self.child.as_mut().expect("running");
        if let Some(status) = c.try_wait().expect("wait") {
            panic!("{when}: the hub exited ({status}):\n{}", self.log_tail());
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
            let _ = std::fs::copy(&hub.log, &kept);
            eprintln!("hub log kept in {}", kept.display());
            panic!(
                "the hub did not recover within {RECOVERY:?}; answers {codes:?}\n{}",
                hub.log_tail()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
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

// ------------------------------------------------------------ the tests

/// A load against a hub started on `db_url`; `fault` starts the fault and
/// returns a closure that ends it. Returns the report line.
async fn fault_run(
    name: &str,
    env: &DevEnvironment,
    dir: &Path,
    db_url: &str,
    ignore_xfsz: bool,
    begin_fault: impl FnOnce(u32),
    end_fault: impl FnOnce(u32),
) {
    env.seed(db_url).await.expect("seed demo directory");
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    let url = format!("https://{addr}");
    env.write_profiles(&url).expect("profiles");
    let config = write_config(env, dir, addr, db_url);
    let mut hub = HubProcess::new(config, dir.join("hub.log"), addr);
    hub.ignore_xfsz = ignore_xfsz;
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
    let during = {
        let l = ledger.lock().expect("ledger");
        l.codes.clone()
    };
    tokio::task::block_in_place(|| end_fault(pid));
    let up = Instant::now();
    let recovery = recovered(&ledger, up, &hub).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        tokio::time::timeout(RECOVERY + OUTAGE + Duration::from_secs(60), t)
            .await
            .expect("client tasks stop")
            .expect("client task");
    }
    hub.assert_alive("after the fault");
    assert_eq!(hub.starts, 1, "the hub was never restarted");
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

    let c = check_database(db_url, env, &ledger.acked, "after the fault").await;
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

fn pg_command(bin: &Path, program: &str) -> Command {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false);
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join(program));
        c
    } else {
        Command::new(bin.join(program))
    }
}

/// Starts a stopped cluster again with the options `schakel_testkit` uses.
fn pg_start(cluster: &schakel_testkit::PgCluster) {
    let bin = schakel_testkit::pg_bin_dir().expect("pg binaries");
    let dir = cluster.data_dir().parent().expect("cluster directory");
    let opts = format!(
        "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=64MB",
        cluster.port(),
        dir.display()
    );
    let mut c = pg_command(&bin, "pg_ctl");
    c.arg("-D")
        .arg(cluster.data_dir())
        .arg("-l")
        .arg(dir.join("log"))
        .args(["-o", &opts, "-w", "-t", "60", "start"])
        .stdin(Stdio::null());
    let out = c.output().expect("pg_ctl start");
    assert!(
        out.status.success(),
        "pg_ctl start: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
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
        false,
        |_| cluster.stop().expect("pg_ctl stop"),
        |_| pg_start(&cluster),
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
        true,
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
