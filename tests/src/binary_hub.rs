//! The real `schakel-hub` binary as a child process, for the tests that
//! must kill it, restart it or starve it of its database (crash safety and
//! database faults, issue 6): building the binary, a production-style
//! configuration for the development PKI, the process itself, and the
//! checks of the database a crash or fault left behind.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use schakel_audit::{Action, Checkpoint, Entry, Signer, VerifyConfig, verify_log};
use schakel_client::Profile;
use schakel_domain::{FunctionKind, Oin};
use schakel_hub::dev::{DEV_LOG_ORIGIN, DevEnvironment};
use schakel_proto::v1::consent_service_client::ConsentServiceClient;
use schakel_proto::v1::expertise_service_client::ExpertiseServiceClient;
use schakel_proto::v1::inbox_service_client::InboxServiceClient;
use schakel_proto::v1::transfer_service_client::TransferServiceClient;
use schakel_store::{Side, Store, StoreOptions, TransferFilter};

use crate::flow::{Clients, GROUPS, MBO_OIN};

/// Builds the binaries of `packages` into the target directory and profile
/// this test binary lives in (`<target>/<profile>/deps/<test>`) and returns
/// that profile directory. Cargo builds another package's binaries only for
/// that package's own tests, so a test that runs them builds them first;
/// quick when they are up to date.
pub fn build_binaries(packages: &[&str]) -> PathBuf {
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
        .arg("build")
        .stdin(Stdio::null());
    for p in packages {
        build.args(["-p", p]);
    }
    build.arg("--bins");
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
        "cargo build of {packages:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    profile_dir
}

/// `schakel-hub`, built once per test binary (see [`build_binaries`]).
pub fn hub_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| build_binaries(&["schakel-hub"]).join("schakel-hub"))
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// Writes a production-style configuration file for the development
/// environment `env` (its PKI, pseudonym key and checkpoint signing key).
pub fn write_config(env: &DevEnvironment, dir: &Path, addr: SocketAddr, db_url: &str) -> PathBuf {
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
         checkpoint_file = {cpf:?}\n\
         rate_limit_per_second = 0\n\
         max_connections = 8\n",
        listen = addr.to_string(),
        cpf = dir.join("hub.checkpoints").display().to_string(),
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
pub struct HubProcess {
    /// Start the hub with SIGXFSZ ignored, so that a file size limit
    /// (`prlimit --fsize`) makes writes fail with EFBIG instead of killing it.
    pub ignore_xfsz: bool,
    config: PathBuf,
    log: PathBuf,
    addr: SocketAddr,
    child: Option<Child>,
    starts: u32,
}

impl HubProcess {
    pub fn new(config: PathBuf, log: PathBuf, addr: SocketAddr) -> Self {
        Self {
            ignore_xfsz: false,
            config,
            log,
            addr,
            child: None,
            starts: 0,
        }
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(60)..].join("\n")
    }

    /// Starts the hub and waits until it accepts connections (it binds its
    /// port only after the database is open and migrated). A port still held
    /// by the previous process is retried.
    pub fn start(&mut self) {
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
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Panics when the hub process has exited.
    pub fn assert_alive(&mut self, when: &str) {
        let c = self.child.as_mut().expect("running");
        if let Some(status) = c.try_wait().expect("wait") {
            panic!("{when}: the hub exited ({status}):\n{}", self.log_tail());
        }
    }

    /// The hub's log file (stdout and stderr of every start).
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// How many times the hub was started.
    pub fn starts(&self) -> u32 {
        self.starts
    }

    /// SIGKILL, then reap.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            if let Some(status) = c.try_wait().expect("wait") {
                panic!("the hub had died by itself ({status}):\n{}", self.log_tail());
            }
            c.kill().expect("SIGKILL the hub");
            c.wait().expect("reap the hub");
        }
    }

    /// SIGTERM (graceful shutdown), SIGKILL after 15 s.
    pub fn stop(&mut self) {
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

/// A channel to the hub at `url` as demo party `party`.
pub async fn channel(env: &DevEnvironment, party: &str, url: &str) -> tonic::transport::Channel {
    Profile::load(env.profile(party))
        .expect("profile")
        .with_hub(url)
        .connect()
        .await
        .expect("connect")
        .channel()
}

pub async fn connect(env: &DevEnvironment, party: &str, url: &str) -> Clients {
    let ch = channel(env, party, url).await;
    Clients {
        consent: ConsentServiceClient::new(ch.clone()),
        transfer: TransferServiceClient::new(ch.clone()),
        inbox: InboxServiceClient::new(ch.clone()),
        expertise: ExpertiseServiceClient::new(ch),
    }
}

pub fn school() -> (Oin, FunctionKind) {
    (MBO_OIN.parse().expect("oin"), FunctionKind::School)
}

/// Every transfer the school sent, from the store.
pub async fn all_sent(store: &Store) -> Vec<schakel_store::TransferRow> {
    let party = school();
    let mut out: Vec<schakel_store::TransferRow> = Vec::new();
    loop {
        let after = out.last().map(|t| t.transfer_id.uuid());
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
pub struct Consistency {
    /// Transfers stored.
    pub transfers: usize,
    /// Audit entries, all verified.
    pub audit_entries: u64,
}

/// No half-written transfer, no orphan audit entry, and the log verifies
/// with no gap. Every acknowledged `(idempotency key, transfer id)` is
/// stored with that answer.
pub async fn check_database<'a>(
    url: &str,
    env: &DevEnvironment,
    acked: impl IntoIterator<Item = (&'a str, &'a str)>,
    when: &str,
) -> Consistency {
    let store = Store::connect(&StoreOptions::new(url))
        .await
        .expect("open the database");
    let party = school();
    for (key, transfer_id) in acked {
        let (row, _) = store
            .transfer_by_key(&party, key)
            .await
            .expect("transfer by key")
            .unwrap_or_else(|| panic!("{when}: acknowledged submit {key} is not stored"));
        assert_eq!(row.transfer_id.to_string(), transfer_id, "{when}: {key}");
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
        let mut stored: Vec<&str> = groups
            .iter()
            .flat_map(|g| g.groups.iter().map(String::as_str))
            .collect();
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
            submitted.remove(&t.transfer_id.uuid()),
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
pub async fn verify_audit(store: &Store, env: &DevEnvironment, when: &str) -> u64 {
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
