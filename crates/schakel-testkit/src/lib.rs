//! Test support: a throwaway PostgreSQL cluster started from the binaries on
//! the machine (`/usr/lib/postgresql/*/bin`, or `SCHAKEL_PG_BIN`), listening
//! on 127.0.0.1 only, never run as root, and removed when the test process
//! ends — also when it panics or is killed, through a small watchdog.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// A running PostgreSQL cluster.
#[derive(Debug)]
pub struct PgCluster {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}

/// Where the PostgreSQL server binaries are, if anywhere.
pub fn pg_bin_dir() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SCHAKEL_PG_BIN") {
        return Some(PathBuf::from(p));
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists() && p.join("pg_ctl").exists())
        .collect();
    found.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    found.pop()
}

/// Runs a PostgreSQL binary as the `postgres` OS user when we are root
/// (initdb refuses root), as ourselves otherwise.
fn pg_command(bin: &Path, program: &str) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join(program));
        c
    } else {
        Command::new(bin.join(program))
    }
}

/// `pg_ctl start` of the cluster in `data` on `port`, its socket and log in
/// `dir`; waits until the server accepts connections (crash recovery
/// included).
fn pg_start_command(bin: &Path, data: &Path, dir: &Path, port: u16) -> Command {
    let opts = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=64MB",
        dir.display()
    );
    let mut start = pg_command(bin, "pg_ctl");
    start.args([
        "-D",
        &data.to_string_lossy(),
        "-l",
        &dir.join("log").to_string_lossy(),
    ]);
    start.args(["-o", &opts, "-w", "-t", "120", "start"]);
    start
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn run(mut c: Command, what: &str) -> Result<(), String> {
    let out = c
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{what}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

impl PgCluster {
    /// Initialises and starts a new cluster in a temporary directory.
    pub fn start() -> Result<Self, String> {
        let bin = pg_bin_dir().ok_or("no PostgreSQL server binaries found (set SCHAKEL_PG_BIN)")?;
        let dir = tempfile::Builder::new()
            .prefix("schakel-pg-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let data = dir.path().join("data");
        if is_root() {
            run(
                {
                    let mut c = Command::new("chown");
                    c.args(["postgres:", &dir.path().to_string_lossy()]);
                    c
                },
                "chown",
            )?;
        }
        let mut initdb = pg_command(&bin, "initdb");
        initdb.args([
            "-D",
            &data.to_string_lossy(),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ]);
        run(initdb, "initdb")?;
        // The port is free when we look; a race with another process is
        // retried with a new port.
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port().map_err(|e| e.to_string())?;
            match run(pg_start_command(&bin, &data, dir.path(), port), "pg_ctl start") {
                Ok(()) => {
                    let cluster = Self {
                        bin,
                        data,
                        port,
                        _dir: dir,
                    };
                    cluster.spawn_watchdog();
                    return Ok(cluster);
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Stops the cluster when this process exits, however it exits: a test
    /// binary that panics or is killed never leaves a server behind.
    fn spawn_watchdog(&self) {
        let me = std::process::id();
        let stop = format!(
            "while kill -0 {me} 2>/dev/null; do sleep 0.5; done; {} {} -D {} -m immediate stop >/dev/null 2>&1; rm -rf {}",
            if is_root() { "runuser -u postgres --" } else { "" },
            self.bin.join("pg_ctl").display(),
            self.data.display(),
            self.data
                .parent()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        );
        let _ = Command::new("sh")
            .args(["-c", &stop])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The data directory (for tests that inspect what is at rest).
    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    /// A connection URL for database `db` as the superuser.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates a new, uniquely named database and returns its URL.
    pub fn create_database(&self) -> Result<String, String> {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!("t{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
        let mut c = Command::new(self.bin.join("createdb"));
        c.args([
            "-h",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "-U",
            "postgres",
            &name,
        ]);
        run(c, "createdb")?;
        Ok(self.url(&name))
    }

    /// `pg_ctl stop -m <mode>`, waiting until the server is down.
    fn pg_ctl_stop(&self, mode: &str) -> Command {
        let mut c = pg_command(&self.bin, "pg_ctl");
        c.args(["-D", &self.data.to_string_lossy(), "-m", mode, "-w", "stop"]);
        c
    }

    /// Stops the server now (fast shutdown: the WAL is flushed first).
    pub fn stop(&self) -> Result<(), String> {
        run(self.pg_ctl_stop("fast"), "pg_ctl stop")
    }

    /// Crashes the server: `pg_ctl stop -m immediate`, which ends every
    /// server process without flushing anything, as a power cut would (the
    /// next start runs crash recovery).
    pub fn stop_immediate(&self) -> Result<(), String> {
        run(self.pg_ctl_stop("immediate"), "pg_ctl stop -m immediate")
    }

    /// Crashes the server by SIGKILL of the postmaster. Its children notice
    /// and end by themselves; this waits for them (SIGKILL after 10 s), so
    /// the cluster can be started again, into crash recovery.
    pub fn kill_postmaster(&self) -> Result<(), String> {
        let pid_file = std::fs::read_to_string(self.data.join("postmaster.pid"))
            .map_err(|e| format!("postmaster.pid: {e}"))?;
        let pid: u32 = pid_file
            .lines()
            .next()
            .and_then(|l| l.trim().parse().ok())
            .ok_or("postmaster.pid has no process id")?;
        let children = children_of(pid);
        signal_kill(pid)?;
        let started = std::time::Instant::now();
        loop {
            let alive: Vec<u32> = std::iter::once(pid)
                .chain(children.iter().copied())
                .filter(|p| Path::new(&format!("/proc/{p}")).exists() && !is_zombie(*p))
                .collect();
            if alive.is_empty() {
                return Ok(());
            }
            if started.elapsed() > std::time::Duration::from_secs(10) {
                for p in alive {
                    let _ = signal_kill(p);
                }
            }
            if started.elapsed() > std::time::Duration::from_secs(30) {
                return Err("server processes survived SIGKILL".into());
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// Starts a stopped or crashed cluster again on its port; waits until it
    /// accepts connections (after crash recovery).
    pub fn start_again(&self) -> Result<(), String> {
        let dir = self.data.parent().ok_or("the cluster has no directory")?;
        run(
            pg_start_command(&self.bin, &self.data, dir, self.port),
            "pg_ctl start",
        )
    }
}

/// Process ids whose parent is `pid` (from /proc).
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| parent_of(*p) == Some(pid))
        .collect()
}

/// Fields after the command name in /proc/<pid>/stat (the name may hold
/// spaces and parentheses, so split after the last ')').
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

fn parent_of(pid: u32) -> Option<u32> {
    stat_fields(pid)?.get(1)?.parse().ok()
}

fn is_zombie(pid: u32) -> bool {
    stat_fields(pid).is_some_and(|f| f.first().map(String::as_str) == Some("Z"))
}

fn signal_kill(pid: u32) -> Result<(), String> {
    let mut c = Command::new("kill");
    c.args(["-KILL", &pid.to_string()]);
    run(c, "kill -KILL")
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = self
            .pg_ctl_stop("immediate")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// One cluster shared by all tests of a test binary, started on first use.
///
/// Returns `None` (and the test should return early) only when no PostgreSQL
/// binaries exist *and* `CI` is not `true`; in CI a missing PostgreSQL is a
/// failure, never a silent skip.
pub fn shared_cluster() -> Option<&'static PgCluster> {
    static CLUSTER: OnceLock<Result<PgCluster, String>> = OnceLock::new();
    let c = CLUSTER.get_or_init(PgCluster::start);
    match c {
        Ok(c) => Some(c),
        Err(e) if pg_bin_dir().is_none() && std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("skipping PostgreSQL test: {e}");
            None
        }
        Err(e) => panic!("cannot start PostgreSQL for tests: {e}"),
    }
}

/// A fresh database URL in the shared cluster (see [`shared_cluster`]).
pub fn fresh_postgres_url() -> Option<String> {
    let cluster = shared_cluster()?;
    match cluster.create_database() {
        Ok(url) => Some(url),
        Err(e) => panic!("cannot create a test database: {e}"),
    }
}
