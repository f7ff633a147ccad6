//! `schakel audit verify --database URL`: the operator's check of the whole
//! stored log, on the machine with database access. Every entry is decoded,
//! hashed and checked against every stored checkpoint (signatures checked
//! with the pinned key) and the checkpoints a privacy officer saved.

use std::path::{Path, PathBuf};

use anyhow::Context;
use schakel_audit::{AuditError, Checkpoint, VerifyConfig, VerifyReport};
use schakel_store::{Store, StoreOptions};
use serde_json::{Value, json};

use super::{KeyArgs, failed, pinned};
use crate::commands::{Outcome, Session};
use crate::output::Out;
use crate::render::print_rows;

/// Runs the operator's verification.
pub async fn verify(
    session: &mut Session,
    url: &str,
    key: &KeyArgs,
    saved: &[PathBuf],
    checkpoint_file: Option<&Path>,
    out: &mut Out,
) -> anyhow::Result<Outcome> {
    let Some((verifier, _)) = pinned(key, session)? else {
        anyhow::bail!(
            "give the hub's audit verifier key with --verifier-key NAME+HASH+KEY (the hub's \
             configuration names it; `schakel audit checkpoint` shows the one the hub presents)"
        );
    };
    let mut extra = Vec::new();
    for path in saved {
        let note = std::fs::read_to_string(path)
            .with_context(|| format!("reading the saved checkpoint {}", path.display()))?;
        match Checkpoint::open(&note, &verifier) {
            Ok(cp) => extra.push(cp),
            Err(e) => {
                return Ok(failed(
                    out,
                    &format!("saved checkpoint {}: {e}", path.display()),
                    json!({ "saved": path.display().to_string() }),
                ));
            }
        }
    }
    refuse_missing_sqlite_file(url)?;
    // The hub's own checkpoints kept outside the database.
    let default_file = schakel_store::sqlite_file(url).map(|db| {
        let mut f = db.into_os_string();
        f.push(".checkpoints");
        PathBuf::from(f)
    });
    let file = match checkpoint_file {
        Some(f) => Some(f.to_owned()),
        None => default_file.filter(|f| f.is_file()),
    };
    if let Some(path) = &file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the checkpoint file {}", path.display()))?;
        match schakel_audit::parse_checkpoint_log(&text, &verifier) {
            Ok(cps) => extra.extend(cps),
            Err(e) => {
                return Ok(failed(
                    out,
                    &format!("checkpoint file {}: {e}", path.display()),
                    json!({ "checkpoint_file": path.display().to_string() }),
                ));
            }
        }
    }
    if extra.is_empty() {
        eprintln!(
            "WARNING: nothing outside the database to compare with (no --saved checkpoint, no \
             checkpoint file). The log is checked only against the checkpoints stored in the \
             database itself: someone who can edit the database could remove those and rewrite \
             the log, and this check would still pass. Give --saved or --checkpoint-file."
        );
    }
    // Few connections: the verification reads in order, one batch at a time.
    let opts = StoreOptions {
        max_connections: 2,
        ..StoreOptions::new(url)
    };
    let store = Store::connect(&opts)
        .await
        .context("opening the audit database")?;
    let result = store
        .verify_audit_log(&verifier, &extra, VerifyConfig::default())
        .await;
    store.close().await;
    match result.context("reading the audit log")? {
        Ok(report) => {
            if out.is_json() {
                out.set(report_json(&report));
            } else {
                print_rows(&report_rows(&report));
                outln!("audit log verified");
            }
            Ok(Outcome::Done)
        }
        Err(e) => Ok(failed(out, &e.to_string(), error_json(&e))),
    }
}

/// A SQLite URL's file must exist: connecting would create an empty
/// database and "verify" nothing.
fn refuse_missing_sqlite_file(url: &str) -> anyhow::Result<()> {
    if !url.starts_with("sqlite:") {
        return Ok(());
    }
    let path = schakel_store::sqlite_file(url).context("the database URL names no database file")?;
    anyhow::ensure!(path.is_file(), "no database file at {}", path.display());
    Ok(())
}

fn report_json(r: &VerifyReport) -> Value {
    json!({
        "verified": true,
        "start": r.start,
        "end": r.end,
        "entries": r.end - r.start,
        "checkpoints_matched": r.checkpoints_matched,
        "proven_size": r.proven_size,
        "time_regressions_tolerated": r.time_regressions_tolerated,
    })
}

/// Checkpoint sizes, all of them when few, else the first and last three.
fn sizes_text(sizes: &[u64]) -> String {
    let shown: Vec<String> = if sizes.len() <= 8 {
        sizes.iter().map(u64::to_string).collect()
    } else {
        let head = sizes[..3].iter().map(u64::to_string);
        let tail = sizes[sizes.len() - 3..].iter().map(u64::to_string);
        head.chain(std::iter::once("…".to_owned())).chain(tail).collect()
    };
    shown.join(", ")
}

fn report_rows(r: &VerifyReport) -> Vec<(&'static str, String)> {
    let mut rows = vec![
        (
            "entries",
            format!("{} (positions {}..{})", r.end - r.start, r.start, r.end),
        ),
        (
            "checkpoints",
            match r.checkpoints_matched.len() {
                0 => "none matched (no checkpoint covers the log)".into(),
                n => format!("{n} matched (sizes {})", sizes_text(&r.checkpoints_matched)),
            },
        ),
        ("proven size", r.proven_size.to_string()),
    ];
    if r.end > r.proven_size {
        rows.push((
            "not proven",
            format!(
                "entries {}..{} come after the last checkpoint: checked for order and time only",
                r.proven_size, r.end
            ),
        ));
    }
    if r.time_regressions_tolerated > 0 {
        rows.push((
            "clock skew",
            format!(
                "{} entries slightly earlier than the one before (within tolerance)",
                r.time_regressions_tolerated
            ),
        ));
    }
    rows
}

/// The error as JSON, with the first bad position when it names one.
fn error_json(e: &AuditError) -> Value {
    let (position, range) = match e {
        AuditError::Undecodable { position, .. }
        | AuditError::SequenceGap { position, .. }
        | AuditError::TimeRegression { position, .. }
        | AuditError::EntryModified { position }
        | AuditError::LeafHashMismatch { position } => (Some(*position), None),
        AuditError::RootMismatch { size, after } => (None, Some([*after, *size])),
        // A stored subtree hash covers the entries [index·2^level, (index+1)·2^level).
        AuditError::NodeMismatch { level, index } => {
            let at = |i: u64| i.checked_shl(u32::from(*level)).filter(|v| v >> *level == i);
            match (at(*index), index.checked_add(1).and_then(at)) {
                (Some(start), Some(end)) => (None, Some([start, end])),
                _ => (None, None),
            }
        }
        AuditError::Truncated { found, .. } | AuditError::Shortened { found, .. } => (Some(*found), None),
        _ => (None, None),
    };
    json!({ "position": position, "positions": range })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(end: u64, matched: Vec<u64>) -> VerifyReport {
        VerifyReport {
            start: 0,
            end,
            proven_size: matched.last().copied().unwrap_or(0),
            checkpoints_matched: matched,
            time_regressions_tolerated: 0,
        }
    }

    #[test]
    fn the_report_says_how_far_the_proof_reaches() {
        let rows = report_rows(&report(1234, vec![10, 20, 1200]));
        assert_eq!(rows[0], ("entries", "1234 (positions 0..1234)".into()));
        assert_eq!(rows[1], ("checkpoints", "3 matched (sizes 10, 20, 1200)".into()));
        assert_eq!(rows[2], ("proven size", "1200".into()));
        assert!(
            rows[3].1.starts_with("entries 1200..1234 come after"),
            "{:?}",
            rows[3]
        );
        let rows = report_rows(&report(5, vec![5]));
        assert_eq!(rows.len(), 3);
    }

    #[test]
    fn many_checkpoint_sizes_are_elided() {
        assert_eq!(sizes_text(&(1..=10).collect::<Vec<_>>()), "1, 2, 3, …, 8, 9, 10");
    }

    #[test]
    fn errors_name_the_first_bad_position() {
        let e = AuditError::EntryModified { position: 17 };
        assert_eq!(error_json(&e)["position"], 17);
        let e = AuditError::RootMismatch { size: 40, after: 20 };
        assert_eq!(error_json(&e)["positions"], json!([20, 40]));
        assert!(e.to_string().contains("20..40"));
        let e = AuditError::NodeMismatch { level: 3, index: 2 };
        assert_eq!(error_json(&e)["positions"], json!([16, 24]));
        assert!(e.to_string().contains("16..24"), "{e}");
        let e = AuditError::NodeMismatch { level: 62, index: 9 };
        assert_eq!(error_json(&e)["positions"], Value::Null, "beyond u64: no range");
    }

    #[test]
    fn a_missing_sqlite_file_is_not_created() {
        let e = refuse_missing_sqlite_file("sqlite:///nonexistent/dir/hub.db").unwrap_err();
        assert!(e.to_string().contains("no database file"), "{e}");
        assert!(refuse_missing_sqlite_file("sqlite::memory:").is_err());
        assert!(refuse_missing_sqlite_file("postgres://localhost/schakel").is_ok());
    }
}
