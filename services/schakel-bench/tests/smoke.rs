//! CI smoke run of the harness: every scenario once, tiny, no timing
//! assertions — it only keeps the harness compiling and working.

use std::process::Command;

#[test]
fn smoke_run_prints_every_figure() {
    let out = Command::new(env!("CARGO_BIN_EXE_schakel-bench"))
        .arg("--smoke")
        .output()
        .expect("run schakel-bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schakel-bench --smoke failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for key in [
        "echo.c4",
        "raw.sqlite.c4",
        "seal.full.2",
        "seal.once.2",
        "open.once",
        "submit.sqlite.c4",
        "list.sqlite",
        "fetch.sqlite.c4",
        "seal.1t.r4",
        "submit.sqlite.large",
        "submit.sqlite.r4",
        "audit.verify",
        "proof.inclusion.5000",
        "proof.db.inclusion.5000",
        "proof.db.consistency.5000",
        "startup.5000",
        "rss.start",
        "rss.300",
        "rss.peak.300",
    ] {
        assert!(stdout.contains(&format!("`{key}`")), "no {key} in:\n{stdout}");
    }
    // PostgreSQL is there in CI (the CI script installs it); elsewhere it
    // may be skipped with a note.
    if std::env::var("CI").as_deref() == Ok("true") {
        for key in ["raw.pg8.c4", "submit.pg1.c4", "submit.pg2.c4"] {
            assert!(stdout.contains(&format!("`{key}`")), "no {key} in:\n{stdout}");
        }
    }
}
