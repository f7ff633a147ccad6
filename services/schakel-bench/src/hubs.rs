//! Real hubs on loopback: the development PKI and demo region, a database
//! (SQLite file or PostgreSQL), one or more hubs, and mTLS clients acting as
//! the demo school and gemeente.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use schakel_client::{AgeIdentity, Hub, Profile};
use schakel_hub::RunningHub;
use schakel_hub::dev::DevEnvironment;
use schakel_proto::v1 as pb;

use crate::docs::{self, DocSize, PURPOSE};
use crate::echo::Pki;
use crate::stats::{Measured, drive};

/// The end user every call acts for (opaque ids, no personal data).
const USER: (&str, &str) = ("medewerker-42", "loopbaanbegeleider");

/// The development environment shared by every scenario of a run.
pub struct Env {
    /// PKI, profiles and keys.
    pub env: DevEnvironment,
    dir: tempfile::TempDir,
}

impl Env {
    /// Creates the development PKI, profiles and age identities.
    pub fn new() -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new().prefix("schakel-bench-").tempdir()?;
        let env = DevEnvironment::ensure(dir.path().join("dev"))?;
        env.write_profiles("https://127.0.0.1:1")?;
        Ok(Self { env, dir })
    }

    /// A path in the run's scratch directory.
    pub fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    /// The PKI for the echo baseline: the hub's own certificate and the
    /// school's client certificate.
    pub fn pki(&self) -> anyhow::Result<Pki> {
        let read = |p: std::path::PathBuf| std::fs::read(p);
        let d = self.env.dir();
        let school = self.env.profile("mbo-school");
        Ok(Pki {
            ca: read(d.join("ca/ca.pem"))?,
            server: (read(d.join("hub/cert.pem"))?, read(d.join("hub/key.pem"))?),
            client: (read(school.join("cert.pem"))?, read(school.join("key.pem"))?),
        })
    }

    /// The age identities of the gemeente's Participatiewet function.
    pub fn gemeente_identities(&self) -> anyhow::Result<Vec<AgeIdentity>> {
        Ok(Profile::load(self.env.profile("gemeente-participatiewet"))?.identities()?)
    }

    /// Seeds `db_url` with the demo region and starts `n` hubs on it.
    pub async fn start_hubs(&self, db_url: &str, n: usize) -> anyhow::Result<Hubs> {
        self.env.seed(db_url).await?;
        let mut hubs = Vec::new();
        for _ in 0..n {
            let listen: SocketAddr = "127.0.0.1:0".parse()?;
            let cfg = self.env.hub_config(listen, db_url)?;
            hubs.push(schakel_hub::start(cfg).await?);
        }
        Ok(Hubs { hubs })
    }

    /// `n` separate connections (HTTP/2 over mTLS) as `party`, spread
    /// round-robin over `hubs`.
    pub async fn connect(&self, hubs: &Hubs, party: &str, n: usize) -> anyhow::Result<Vec<Hub>> {
        let addrs: Vec<SocketAddr> = hubs.hubs.iter().map(RunningHub::addr).collect();
        self.connect_to(&addrs, party, n).await
    }

    /// `n` separate connections as `party`, round-robin over `addrs`.
    pub async fn connect_to(&self, addrs: &[SocketAddr], party: &str, n: usize) -> anyhow::Result<Vec<Hub>> {
        let profile = Profile::load(self.env.profile(party))?;
        let mut out = Vec::new();
        for i in 0..n {
            let url = format!("https://{}", addrs[i % addrs.len()]);
            let hub = profile.clone().with_hub(url).connect().await?;
            out.push(hub.with_user(USER.0, USER.1)?);
        }
        Ok(out)
    }
}

/// Hubs sharing one database.
pub struct Hubs {
    /// The running hubs.
    pub hubs: Vec<RunningHub>,
}

impl Hubs {
    /// Stops them all.
    pub async fn stop(self) {
        for h in self.hubs {
            h.shutdown().await;
        }
    }
}

/// A youth with recorded consent, ready to be handed over.
#[derive(Clone)]
pub struct Subject {
    /// The submit request template (the key is set per call).
    pub template: Arc<pb::SubmitRequest>,
}

/// Records consent for `n` fictitious youths (one per worker, so no two
/// in-flight submits share a youth) and returns their templates.
pub async fn subjects(school: &Hub, n: usize, size: DocSize, tag: &str) -> anyhow::Result<Vec<Subject>> {
    let mut out = Vec::new();
    let mut consent = school.consent();
    for i in 0..n {
        let bsn = docs::bsn(i as u32 + 1);
        let key = format!("bench-consent-{tag}-{i}");
        let answer = consent
            .record_consent(docs::consent(&bsn, &key, size))
            .await?
            .into_inner();
        let id = answer
            .consent
            .ok_or_else(|| anyhow::anyhow!("no consent in the answer"))?
            .consent_id;
        out.push(Subject {
            template: Arc::new(docs::handover(&bsn, &id, size)),
        });
    }
    Ok(out)
}

/// Submits at `concurrency` over `conns`, every call with a distinct
/// idempotency key.
pub async fn submit(
    conns: &[Hub],
    subjects: &[Subject],
    concurrency: usize,
    warmup: Duration,
    duration: Duration,
) -> anyhow::Result<Measured> {
    let clients: Arc<Vec<_>> = Arc::new(conns.iter().map(Hub::transfer).collect());
    let subjects = Arc::new(subjects.to_vec());
    let tag = uuid::Uuid::new_v4().simple().to_string();
    drive(concurrency, warmup, duration, move |w, n| {
        let mut client = clients[w % clients.len()].clone();
        let mut req = (*subjects[w % subjects.len()].template).clone();
        req.idempotency_key = format!("bench-{tag}-{n}");
        async move {
            let answer = client.submit(req).await?.into_inner();
            anyhow::ensure!(
                !answer.transfer_id.is_empty() && !answer.replayed,
                "submit answered without a new transfer"
            );
            Ok(())
        }
    })
    .await
}

/// Every transfer id in the gemeente's inbox (paging through it).
pub async fn inbox_ids(gemeente: &Hub) -> anyhow::Result<Vec<String>> {
    inbox_first_ids(gemeente, usize::MAX).await
}

/// The first `max` (or more, to the end of a page) transfer ids of the
/// gemeente's inbox.
pub async fn inbox_first_ids(gemeente: &Hub, max: usize) -> anyhow::Result<Vec<String>> {
    let mut inbox = gemeente.inbox();
    let mut ids = Vec::new();
    let mut token = String::new();
    loop {
        let page = inbox
            .list_inbox(pb::ListInboxRequest {
                page_size: 100,
                page_token: token.clone(),
                ..Default::default()
            })
            .await?
            .into_inner();
        ids.extend(page.transfers.into_iter().map(|t| t.transfer_id));
        if page.next_page_token.is_empty() || ids.len() >= max {
            return Ok(ids);
        }
        token = page.next_page_token;
    }
}

/// Lists the first page (`page_size`) of the inbox repeatedly: pages per second.
pub async fn list(
    conns: &[Hub],
    page_size: i32,
    concurrency: usize,
    warmup: Duration,
    duration: Duration,
) -> anyhow::Result<Measured> {
    let clients: Arc<Vec<_>> = Arc::new(conns.iter().map(Hub::inbox).collect());
    drive(concurrency, warmup, duration, move |w, _| {
        let mut client = clients[w % clients.len()].clone();
        async move {
            let page = client
                .list_inbox(pb::ListInboxRequest {
                    page_size,
                    ..Default::default()
                })
                .await?
                .into_inner();
            anyhow::ensure!(!page.transfers.is_empty(), "the inbox is empty");
            Ok(())
        }
    })
    .await
}

/// Fetches transfers (round-robin over `ids`) and opens every sealed group
/// on the client with the gemeente's identity: documents per second.
pub async fn fetch_open(
    conns: &[Hub],
    ids: Vec<String>,
    identities: Vec<AgeIdentity>,
    concurrency: usize,
    warmup: Duration,
    duration: Duration,
) -> anyhow::Result<Measured> {
    anyhow::ensure!(!ids.is_empty(), "nothing to fetch");
    let clients: Arc<Vec<_>> = Arc::new(conns.iter().map(Hub::inbox).collect());
    let ids = Arc::new(ids);
    let identities = Arc::new(identities);
    drive(concurrency, warmup, duration, move |w, n| {
        let mut client = clients[w % clients.len()].clone();
        let id = ids[(n as usize) % ids.len()].clone();
        let identities = identities.clone();
        async move {
            let answer = client
                .fetch(pb::FetchRequest {
                    transfer_id: id,
                    purpose: PURPOSE.into(),
                })
                .await?
                .into_inner();
            anyhow::ensure!(!answer.groups.is_empty(), "fetch delivered no groups");
            let opened = schakel_client::open_groups(&answer.groups, &identities);
            anyhow::ensure!(
                opened.iter().all(|g| g.result.is_ok()),
                "a delivered group did not open"
            );
            Ok(())
        }
    })
    .await
}

/// Registers one more valid age key for `oin`'s `function` (as during a key
/// rotation), so every later submit seals to one more recipient.
pub async fn add_key(hubs: &Hubs, oin: &str, function: schakel_domain::FunctionKind) -> anyhow::Result<()> {
    let now = jiff::Timestamp::now();
    let oin: schakel_domain::Oin = oin.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
    let key = schakel_store::RecipientKey {
        key_id: uuid::Uuid::now_v7(),
        oin: oin.clone(),
        function,
        age_recipient: age::x25519::Identity::generate().to_public().to_string(),
        valid_from: now.checked_sub(jiff::SignedDuration::from_secs(60))?,
        valid_until: None,
        revoked_at: None,
    };
    let mut entry = crate::micro::entry(0);
    entry.action = schakel_audit::Action::AdminChange;
    entry.activity = None;
    entry.legal_basis = None;
    entry.subject = None;
    entry.transfer_id = None;
    entry.consent_id = None;
    entry.groups = Vec::new();
    entry.parties = vec![oin.as_str().to_owned()];
    hubs.hubs[0].store().insert_recipient(&key, now, entry).await?;
    Ok(())
}
