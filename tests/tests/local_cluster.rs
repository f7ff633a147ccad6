//! `deploy/local-cluster.sh`, end to end: PostgreSQL and two hubs on
//! loopback, a handover submitted on one hub and fetched on the other, the
//! audit log verified through the hub and in the database, and everything
//! stopped again.
//!
//! The script runs the binaries `schakel-hub` and `schakel`. Cargo builds binaries of other packages only
//! for their own tests, so this test builds them first (`cargo build … --bins`
//! into this test's own target directory and profile; quick when they are up
//! to date) and hands the directory to the script.
//!
//! Without PostgreSQL server binaries the test is skipped, except with
//! `CI=true`, where that is a failure (as in `schakel_testkit`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Longest the script may take (it needs a few seconds; a cold machine more).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(300);

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(120)..].join("\n")
}

#[test]
fn local_cluster_script_runs_two_hubs_on_one_postgres() {
    if schakel_testkit::pg_bin_dir().is_none() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "CI=true but no PostgreSQL server binaries under /usr/lib/postgresql (.ci/run installs them)"
        );
        eprintln!("skipping the local cluster test: no PostgreSQL server binaries (set SCHAKEL_PG_BIN)");
        return;
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root");
    let started = Instant::now();
    let profile_dir = schakel_e2e::binary_hub::build_binaries(&["schakel-hub", "schakel-cli"]);
    eprintln!("binaries built in {:.1?}", started.elapsed());

    let logs = tempfile::tempdir().expect("temp dir");
    let (stdout, stderr) = (logs.path().join("stdout"), logs.path().join("stderr"));
    let started = Instant::now();
    let mut child = Command::new("bash")
        .arg(repo.join("deploy/local-cluster.sh"))
        .current_dir(repo)
        .env("SCHAKEL_BIN_DIR", &profile_dir)
        .env_remove("SCHAKEL_KEEP_TMP")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).expect("stdout file"))
        .stderr(std::fs::File::create(&stderr).expect("stderr file"))
        .spawn()
        .expect("start deploy/local-cluster.sh");
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the script") {
            break status;
        }
        if started.elapsed() > SCRIPT_TIMEOUT {
            // SIGTERM runs the script's clean-up; SIGKILL leaves it to the
            // script's watchdog.
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let grace = Instant::now();
            while grace.elapsed() < Duration::from_secs(30) {
                if child.try_wait().ok().flatten().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "deploy/local-cluster.sh did not finish within {SCRIPT_TIMEOUT:?}\n--- stderr\n{}",
                tail(&stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let elapsed = started.elapsed();
    let err = std::fs::read_to_string(&stderr).unwrap_or_default();
    assert!(
        status.success(),
        "deploy/local-cluster.sh failed ({status}) after {elapsed:.1?}\n--- stdout\n{}\n--- stderr\n{}",
        tail(&stdout),
        tail(&stderr)
    );
    eprintln!("local cluster smoke flow passed in {elapsed:.1?}");

    // Both hubs served, the handover crossed them, both checks verified.
    for needle in [
        "hub 1 listening on 127.0.0.1:",
        "hub 2 listening on 127.0.0.1:",
        "submitted on hub 1",
        "signature   verified with the pinned key",
        "audit log verified",
        "local-cluster: OK",
    ] {
        assert!(err.contains(needle), "{needle:?} missing:\n{err}");
    }
    // Nothing left behind: the temporary directory named in the output is
    // gone, and with it the PostgreSQL data directory.
    let tmp = err
        .lines()
        .find_map(|l| l.strip_prefix("== PostgreSQL ("))
        .and_then(|l| l.split(" in ").nth(1))
        .map(|p| PathBuf::from(p.trim().trim_end_matches("/pg")))
        .unwrap_or_else(|| panic!("no temporary directory in the output:\n{err}"));
    assert!(!tmp.exists(), "{} was not removed", tmp.display());
    // … and no process (PostgreSQL, a hub, the watchdog) still refers to it.
    if let Ok(ps) = Command::new("ps").args(["-eo", "pid,args"]).output() {
        let ps = String::from_utf8_lossy(&ps.stdout);
        let left: Vec<&str> = ps
            .lines()
            .filter(|l| l.contains(&*tmp.to_string_lossy()))
            .collect();
        assert!(left.is_empty(), "processes left behind: {left:#?}");
    }
}
