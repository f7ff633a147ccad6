//! Hub memory with many stored transfers (issue 7: RSS < 150 MB at 1 M).
//!
//! The hub runs in a child process — this binary with `--serve-hub` — so
//! its resident set is its own, not the load generator's. The parent fills
//! the hub's SQLite database through the hub (real submits, 64 in flight),
//! and at each size asked for runs a few seconds of the gemeente's normal
//! work (inbox pages, fetches) before reading the child's `VmRSS` and
//! `VmHWM` (peak) from `/proc`.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::docs::DocSize;
use crate::hubs::{self, Env};
use crate::report::Row;

/// The child side: starts one hub on `db_url` with the development
/// environment in `dev_dir`, prints `listening <addr>` and serves until its
/// standard input closes.
pub async fn serve_child(dev_dir: &Path, db_url: &str) -> anyhow::Result<()> {
    let env = schakel_hub::dev::DevEnvironment::ensure(dev_dir)?;
    let cfg = env.hub_config("127.0.0.1:0".parse()?, db_url)?;
    let hub = schakel_hub::start(cfg).await?;
    println!("listening {}", hub.addr());
    std::io::stdout().flush()?;
    // Block until the parent closes our stdin (or dies).
    tokio::task::spawn_blocking(|| {
        let mut sink = String::new();
        while std::io::stdin()
            .read_line(&mut sink)
            .map(|n| n > 0)
            .unwrap_or(false)
        {
            sink.clear();
        }
    })
    .await?;
    hub.shutdown().await;
    Ok(())
}

/// The hub in its own process.
struct ChildHub {
    child: Child,
    addr: SocketAddr,
}

impl ChildHub {
    fn start(env: &Env, db_url: &str) -> anyhow::Result<Self> {
        let mut child = Command::new(std::env::current_exe()?)
            .arg("--serve-hub")
            .arg(env.env.dir())
            .arg(db_url)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("no stdout of the hub"))?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let addr = line
            .trim()
            .strip_prefix("listening ")
            .ok_or_else(|| anyhow::anyhow!("the hub process did not start"))?
            .parse()?;
        Ok(Self { child, addr })
    }

    /// Resident and peak resident memory in MiB.
    fn memory(&self) -> anyhow::Result<(f64, f64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let kib = |key: &str| -> anyhow::Result<f64> {
            let line = status
                .lines()
                .find(|l| l.starts_with(key))
                .ok_or_else(|| anyhow::anyhow!("{key} not in /proc status"))?;
            let n: f64 = line
                .split_whitespace()
                .nth(1)
                .ok_or_else(|| anyhow::anyhow!("{key} without a value"))?
                .parse()?;
            Ok(n / 1024.0)
        };
        Ok((kib("VmRSS:")?, kib("VmHWM:")?))
    }

    fn stop(mut self) -> anyhow::Result<()> {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }
}

/// Fills a hub to each of `sizes` transfers (ascending) and reads its memory
/// there; also reports the fill rate (a long submit run).
pub async fn measure(
    env: &Env,
    sizes: &[u64],
    connections: usize,
    work: Duration,
) -> anyhow::Result<Vec<Row>> {
    let url = format!("sqlite://{}", env.path("rss.db").display());
    env.env.seed(&url).await?;
    // Starting and stopping the child wait on pipes and sleep: not on a
    // runtime worker's time.
    let hub = tokio::task::block_in_place(|| ChildHub::start(env, &url))?;
    let result = fill_and_read(env, &hub, sizes, connections, work).await;
    tokio::task::block_in_place(|| hub.stop())?;
    result
}

async fn fill_and_read(
    env: &Env,
    hub: &ChildHub,
    sizes: &[u64],
    connections: usize,
    work: Duration,
) -> anyhow::Result<Vec<Row>> {
    let school = env.connect_to(&[hub.addr], "mbo-school", connections).await?;
    let gemeente = env
        .connect_to(&[hub.addr], "gemeente-participatiewet", connections)
        .await?;
    let identities = env.gemeente_identities()?;
    let (rss, _) = hub.memory()?;
    let mut rows = vec![Row::rate(
        "rss.start".into(),
        "hub process resident memory after start (MiB), SQLite".into(),
        rss,
        "MiB",
    )];
    let subjects = hubs::subjects(&school[0], 64, DocSize::Full, "rss").await?;
    let mut stored = 0u64;
    for &size in sizes {
        let started = Instant::now();
        let added = fill(&school, &subjects, size.saturating_sub(stored)).await?;
        let secs = started.elapsed().as_secs_f64();
        stored += added;
        rows.push(Row::rate(
            format!("rss.fill.{size}"),
            format!("submits while filling the hub to {size} transfers (c=64, long run)"),
            added as f64 / secs.max(1e-9),
            "/s",
        ));
        // The gemeente's normal work on the full database: pages and fetches.
        let ids: Vec<String> = hubs::inbox_first_ids(&gemeente[0], 1000).await?;
        hubs::list(&gemeente, 100, 16, Duration::ZERO, work).await?;
        hubs::fetch_open(&gemeente, ids, identities.clone(), 16, Duration::ZERO, work).await?;
        let (rss, peak) = hub.memory()?;
        rows.push(Row::rate(
            format!("rss.{size}"),
            format!("hub process resident memory with {size} stored transfers (MiB), SQLite"),
            rss,
            "MiB",
        ));
        rows.push(Row::rate(
            format!("rss.peak.{size}"),
            format!("hub process peak resident memory up to {size} stored transfers (MiB)"),
            peak,
            "MiB",
        ));
    }
    Ok(rows)
}

/// Submits `n` handovers, 64 in flight: how many were stored.
async fn fill(school: &[schakel_client::Hub], subjects: &[hubs::Subject], n: u64) -> anyhow::Result<u64> {
    let next = Arc::new(AtomicU64::new(0));
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..64usize {
        let mut client = school[w % school.len()].transfer();
        let template = subjects[w % subjects.len()].template.clone();
        let next = next.clone();
        let tag = tag.clone();
        tasks.spawn(async move {
            let mut done = 0u64;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return anyhow::Ok(done);
                }
                let mut req = (*template).clone();
                req.idempotency_key = format!("rss-{tag}-{i}");
                let answer = client.submit(req).await?.into_inner();
                anyhow::ensure!(!answer.replayed, "a fill submit was replayed");
                done += 1;
            }
        });
    }
    let mut total = 0;
    while let Some(r) = tasks.join_next().await {
        total += r??;
    }
    Ok(total)
}
