//! Snapshot tests: the text report, the HTML report and the anomaly output for
//! the fixed scenario of `common::scenario`, pinned under `tests/snapshots/`.
//!
//! Update after a deliberate change with
//! `UPDATE_SNAPSHOTS=1 cargo test -p schakel-audit-report --test snapshots`,
//! then read the files: they are what a privacy officer reads.

mod common;

use common::*;
use schakel_audit_report::{Thresholds, detect};

#[test]
fn subject_report_text() {
    let entries = scoped_for_gemeente(&scenario());
    assert_snapshot("subject_report.txt", &report(&entries, &names).render_text());
}

#[test]
fn subject_report_html() {
    let entries = scoped_for_gemeente(&scenario());
    assert_snapshot("subject_report.html", &report(&entries, &names).render_html());
}

#[test]
fn anomalies() {
    let found = detect(&scenario(), &closed(), &Thresholds::default(), &[]);
    let mut out = String::new();
    for a in &found {
        out.push_str(&format!("{a:#?}\n"));
    }
    assert_snapshot("anomalies.txt", &out);
}
