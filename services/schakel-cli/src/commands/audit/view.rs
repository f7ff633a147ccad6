//! Text and JSON forms of audit answers. Text functions return the text
//! (tested below) instead of printing it. Nothing here ever holds a BSN:
//! entries carry the subject's pseudonym only.

use std::fmt::Write as _;

use schakel_proto::v1 as pb;
use serde_json::{Value, json};

use super::parse::{amsterdam, from_proto};
use crate::names::{self, name};
use crate::render::{party_text, ts};

/// Characters of a subject pseudonym shown in tables (of 64).
const PSEUDONYM_SHOWN: usize = 12;

/// A timestamp as local (Europe/Amsterdam) wall-clock time.
pub fn local_time(t: &Option<prost_types::Timestamp>) -> String {
    t.as_ref()
        .and_then(from_proto)
        .map(|t| t.to_zoned(amsterdam()).strftime("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| "-".into())
}

/// A pseudonym shortened for a table: enough to tell subjects apart and to
/// find one again in `--json` output.
pub fn short_pseudonym(p: &str) -> String {
    match p.char_indices().nth(PSEUDONYM_SHOWN) {
        Some((i, _)) => format!("{}…", &p[..i]),
        None if p.is_empty() => "-".into(),
        None => p.to_owned(),
    }
}

fn opt(s: &str) -> Value {
    if s.is_empty() {
        Value::Null
    } else {
        Value::String(s.to_owned())
    }
}

fn party_json(p: &Option<pb::PartyRef>) -> Value {
    match p {
        Some(p) if p.function == 0 => json!({ "oin": p.oin }),
        Some(p) => json!({ "oin": p.oin, "function": name(names::FUNCTIONS, p.function) }),
        None => Value::Null,
    }
}

/// An organisation party: `OIN/function`, or the OIN alone when the
/// function is not given (the log records the other party's organisation).
fn org_text(p: &Option<pb::PartyRef>) -> String {
    match p {
        Some(p) if p.function == 0 => p.oin.clone(),
        _ => party_text(p),
    }
}

/// An audit entry as JSON (every field; hashes in lowercase hex).
pub fn entry_json(e: &pb::AuditEntry) -> Value {
    let actor = e.actor.clone().unwrap_or_default();
    json!({
        "sequence": e.sequence,
        "time": ts(&e.time),
        "actor": {
            "party": party_json(&actor.party),
            "user_id": opt(&actor.user_id),
            "user_role": opt(&actor.user_role),
            "acting_for": opt(&actor.acting_for),
        },
        "action": name(names::AUDIT_ACTIONS, e.action),
        "outcome": name(names::AUDIT_OUTCOMES, e.outcome),
        "refusal_rules": e.refusal_rules,
        "counterparty": party_json(&e.counterparty),
        "purpose": opt(&e.purpose),
        "policy_version": opt(&e.policy_version),
        "legal_basis": opt(&e.legal_basis),
        "subject_pseudonym": opt(&e.subject_pseudonym),
        "transfer_id": opt(&e.transfer_id),
        "consent_id": opt(&e.consent_id),
        "expertise_request_id": opt(&e.expertise_request_id),
        "groups": e.groups,
        "trace_id": opt(&e.trace_id),
        "span_id": opt(&e.span_id),
        "leaf_hash": hex::encode(&e.leaf_hash),
        "attempts": e.attempts.max(1),
        "flags": e.flags,
        "justification_marks": e.justification_marks,
    })
}

fn actor_text(a: &Option<pb::AuditActor>) -> String {
    let Some(a) = a else { return "-".into() };
    let mut s = org_text(&a.party);
    match (a.user_id.is_empty(), a.user_role.is_empty()) {
        (false, false) => write!(s, " {} ({})", a.user_id, a.user_role).unwrap_or_default(),
        (false, true) => write!(s, " {}", a.user_id).unwrap_or_default(),
        (true, false) => write!(s, " ({})", a.user_role).unwrap_or_default(),
        (true, true) => {}
    }
    // Under a mandate (R9): the organisation acted for this gemeente.
    if !a.acting_for.is_empty() {
        write!(s, " for {}", a.acting_for).unwrap_or_default();
    }
    s
}

fn outcome_text(e: &pb::AuditEntry) -> String {
    let outcome = name(names::AUDIT_OUTCOMES, e.outcome);
    let mut text = if e.refusal_rules.is_empty() {
        outcome.to_owned()
    } else {
        format!("{outcome} {}", e.refusal_rules.join(","))
    };
    if e.attempts > 1 {
        write!(text, " ×{}", e.attempts).unwrap_or_default();
    }
    // The legal exception the action rested on (hardheidsclausule, R2).
    for flag in &e.flags {
        write!(text, " [{flag}]").unwrap_or_default();
    }
    text
}

/// What the entry is about: transfer, consent and/or expertise request.
fn about_text(e: &pb::AuditEntry) -> String {
    let mut parts = Vec::new();
    if !e.transfer_id.is_empty() {
        parts.push(format!("transfer {}", e.transfer_id));
    }
    if !e.consent_id.is_empty() {
        parts.push(format!("consent {}", e.consent_id));
    }
    if !e.expertise_request_id.is_empty() {
        parts.push(format!("expertise {}", e.expertise_request_id));
    }
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(", ")
    }
}

/// Lays out rows under a header in columns two spaces apart; the last column
/// is not padded.
fn columns(rows: &[Vec<String>]) -> String {
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..n)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                let pad = widths[i] - cell.chars().count();
                line.push_str(cell);
                line.push_str(&" ".repeat(pad + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Audit entries as a table, times in Europe/Amsterdam.
pub fn entries_table(entries: &[pb::AuditEntry]) -> String {
    if entries.is_empty() {
        return "no audit entries match\n".into();
    }
    let mut rows = vec![
        [
            "SEQ",
            "TIME (Europe/Amsterdam)",
            "ACTOR",
            "ACTION",
            "OUTCOME",
            "PURPOSE",
            "SUBJECT",
            "CONCERNS",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for e in entries {
        rows.push(vec![
            e.sequence.to_string(),
            local_time(&e.time),
            actor_text(&e.actor),
            name(names::AUDIT_ACTIONS, e.action).to_owned(),
            outcome_text(e),
            if e.purpose.is_empty() {
                "-".into()
            } else {
                e.purpose.clone()
            },
            short_pseudonym(&e.subject_pseudonym),
            about_text(e),
        ]);
    }
    columns(&rows)
}

/// A checkpoint as JSON.
pub fn checkpoint_json(c: &pb::Checkpoint) -> Value {
    json!({
        "origin": c.origin,
        "tree_size": c.tree_size,
        "root_hash": hex::encode(&c.root_hash),
        "time": ts(&c.time),
        "note": c.note,
    })
}

/// A checkpoint as labelled rows.
pub fn checkpoint_rows(c: &pb::Checkpoint) -> Vec<(&'static str, String)> {
    vec![
        ("origin", c.origin.clone()),
        ("tree_size", c.tree_size.to_string()),
        ("root", hex::encode(&c.root_hash)),
        ("time", format!("{} (Europe/Amsterdam)", local_time(&c.time))),
    ]
}

/// A checkpoint on one line: `origin size N root HEX`.
pub fn checkpoint_line(c: &pb::Checkpoint) -> String {
    format!(
        "{} size {} root {}",
        c.origin,
        c.tree_size,
        hex::encode(&c.root_hash)
    )
}

/// Sequence numbers with runs collapsed: `3-6, 9, 12-13`.
pub fn sequences_text(seqs: &[u64]) -> String {
    let mut sorted = seqs.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts = Vec::new();
    let mut it = sorted.into_iter().peekable();
    while let Some(first) = it.next() {
        let mut last = first;
        while it.peek() == Some(&(last + 1)) {
            last += 1;
            it.next();
        }
        parts.push(if first == last {
            first.to_string()
        } else {
            format!("{first}-{last}")
        });
    }
    parts.join(", ")
}

/// The thresholds an anomaly report applied, as JSON.
pub fn thresholds_json(t: &pb::AnomalyThresholds) -> Value {
    json!({
        "office_hours_start": t.office_hours_start,
        "office_hours_end": t.office_hours_end,
        "max_subjects_per_user_per_day": t.max_subjects_per_user_per_day,
        "max_users_per_subject": t.max_users_per_subject,
        "refusal_burst_count": t.refusal_burst_count,
        "refusal_burst_minutes": t.refusal_burst_minutes,
    })
}

/// The thresholds an anomaly report applied, one per line.
pub fn thresholds_text(t: &pb::AnomalyThresholds) -> String {
    format!(
        "thresholds applied:\n  \
         office hours             {:02}:00-{:02}:00 on weekdays (Europe/Amsterdam)\n  \
         subjects per user a day  at most {}\n  \
         users per subject        at most {}\n  \
         refusal burst            {} refusals within {} minutes\n",
        t.office_hours_start,
        t.office_hours_end,
        t.max_subjects_per_user_per_day,
        t.max_users_per_subject,
        t.refusal_burst_count,
        t.refusal_burst_minutes,
    )
}

/// An anomaly as JSON.
pub fn anomaly_json(a: &pb::Anomaly) -> Value {
    json!({
        "kind": name(names::ANOMALY_KINDS, a.kind),
        "description": a.description,
        "party": party_json(&a.party),
        "user_id": opt(&a.user_id),
        "subject_pseudonym": opt(&a.subject_pseudonym),
        "count": a.count,
        "first_seen": ts(&a.first_seen),
        "last_seen": ts(&a.last_seen),
        "sequences": a.sequences,
    })
}

/// An anomaly report as text: a summary line, each anomaly as a block, and
/// the thresholds applied.
pub fn anomalies_text(r: &pb::AnomalyReportResponse) -> String {
    let mut s = match r.anomalies.len() {
        0 => format!("no anomalies among {} entries examined\n", r.entries_examined),
        1 => format!("1 anomaly among {} entries examined\n", r.entries_examined),
        n => format!("{n} anomalies among {} entries examined\n", r.entries_examined),
    };
    for a in &r.anomalies {
        s.push('\n');
        let _ = writeln!(s, "{}: {}", name(names::ANOMALY_KINDS, a.kind), a.description);
        let mut rows: Vec<(&str, String)> = Vec::new();
        if a.party.is_some() {
            rows.push(("party", org_text(&a.party)));
        }
        if !a.user_id.is_empty() {
            rows.push(("user", a.user_id.clone()));
        }
        if !a.subject_pseudonym.is_empty() {
            rows.push(("subject", a.subject_pseudonym.clone()));
        }
        rows.push(("entries", a.count.to_string()));
        rows.push(("first seen", local_time(&a.first_seen)));
        rows.push(("last seen", local_time(&a.last_seen)));
        if !a.sequences.is_empty() {
            let listed = a.sequences.len() as u64;
            let mut seqs = sequences_text(&a.sequences);
            if a.count > listed {
                let _ = write!(seqs, " (first {listed} of {})", a.count);
            }
            rows.push(("sequences", seqs));
        }
        for (label, value) in rows {
            let _ = writeln!(s, "  {label:<11} {value}");
        }
    }
    s.push('\n');
    if let Some(t) = &r.thresholds {
        s.push_str(&thresholds_text(t));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const OIN_GM: &str = "00000001999990014000";
    const OIN_SCHOOL: &str = "00000003999990001000";
    const PSEUDONYM: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    const TRANSFER: &str = "0190f1c2-7d3e-7a00-8000-000000000001";

    fn at(s: &str) -> Option<prost_types::Timestamp> {
        let t: jiff::Timestamp = s.parse().unwrap();
        Some(super::super::parse::proto_time(t))
    }

    fn fetch() -> pb::AuditEntry {
        pb::AuditEntry {
            sequence: 17,
            time: at("2026-03-02T13:05:09Z"),
            actor: Some(pb::AuditActor {
                party: Some(pb::PartyRef {
                    oin: OIN_GM.into(),
                    function: pb::FunctionKind::Participatiewet.into(),
                }),
                user_id: "u-42".into(),
                user_role: "werkcoach".into(),
                acting_for: String::new(),
            }),
            action: pb::AuditAction::TransferFetch.into(),
            outcome: pb::AuditOutcome::Success.into(),
            counterparty: Some(pb::PartyRef {
                oin: OIN_SCHOOL.into(),
                function: 0,
            }),
            purpose: "handover.school_to_gemeente".into(),
            policy_version: "sha256:abcd".into(),
            legal_basis: "Participatiewet art. 7a".into(),
            subject_pseudonym: PSEUDONYM.into(),
            transfer_id: TRANSFER.into(),
            groups: vec!["identity".into(), "contact.youth".into()],
            trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".into(),
            span_id: "00f067aa0ba902b7".into(),
            leaf_hash: vec![0xab; 32],
            ..Default::default()
        }
    }

    fn refused_submit() -> pb::AuditEntry {
        pb::AuditEntry {
            sequence: 1203,
            time: at("2026-07-01T06:00:00Z"),
            actor: Some(pb::AuditActor {
                party: Some(pb::PartyRef {
                    oin: OIN_SCHOOL.into(),
                    function: pb::FunctionKind::School.into(),
                }),
                // Another organisation's users are its internal detail.
                user_id: String::new(),
                user_role: String::new(),
                acting_for: String::new(),
            }),
            action: pb::AuditAction::TransferSubmit.into(),
            outcome: pb::AuditOutcome::Refused.into(),
            refusal_rules: vec!["R1".into(), "R4".into()],
            purpose: "handover.school_to_gemeente".into(),
            subject_pseudonym: PSEUDONYM.into(),
            ..Default::default()
        }
    }

    #[test]
    fn the_entry_table_shows_local_time_actor_outcome_and_short_pseudonym() {
        let table = entries_table(&[fetch(), refused_submit()]);
        let expected = "\
SEQ   TIME (Europe/Amsterdam)  ACTOR                                          ACTION           OUTCOME     PURPOSE                      SUBJECT        CONCERNS
17    2026-03-02 14:05:09      00000001999990014000/participatiewet u-42 (werkcoach)  transfer_fetch   success     handover.school_to_gemeente  9f86d081884c…  transfer 0190f1c2-7d3e-7a00-8000-000000000001
1203  2026-07-01 08:00:00      00000003999990001000/school                    transfer_submit  refused R1,R4  handover.school_to_gemeente  9f86d081884c…  -
";
        // Compare column by column, independent of the exact padding.
        let cells = |s: &str| -> Vec<Vec<String>> {
            s.lines()
                .map(|l| {
                    l.split("  ")
                        .map(str::trim)
                        .filter(|c| !c.is_empty())
                        .map(String::from)
                        .collect()
                })
                .collect()
        };
        assert_eq!(cells(&table), cells(expected), "\n{table}");
        // Columns line up: every row's SUBJECT starts at the same place.
        let starts: Vec<usize> = table
            .lines()
            .map(|l| l.find("SUBJECT").or_else(|| l.find("9f86")).unwrap())
            .collect();
        assert!(starts.windows(2).all(|w| w[0] == w[1]), "\n{table}");
        // Never the whole pseudonym in the table.
        assert!(!table.contains(PSEUDONYM));
    }

    #[test]
    fn an_empty_result_says_so() {
        assert_eq!(entries_table(&[]), "no audit entries match\n");
    }

    #[test]
    fn entry_json_names_enums_and_hex_encodes_the_leaf_hash() {
        let v = entry_json(&fetch());
        assert_eq!(v["sequence"], 17);
        assert_eq!(v["time"], "2026-03-02T13:05:09Z");
        assert_eq!(v["action"], "transfer_fetch");
        assert_eq!(v["outcome"], "success");
        assert_eq!(v["actor"]["party"]["function"], "participatiewet");
        assert_eq!(v["actor"]["user_id"], "u-42");
        assert_eq!(v["counterparty"], json!({ "oin": OIN_SCHOOL }));
        assert_eq!(v["subject_pseudonym"], PSEUDONYM);
        assert_eq!(v["consent_id"], Value::Null);
        assert_eq!(v["leaf_hash"], "ab".repeat(32));
        let v = entry_json(&refused_submit());
        assert_eq!(v["refusal_rules"], json!(["R1", "R4"]));
        assert_eq!(v["actor"]["user_id"], Value::Null);
    }

    #[test]
    fn pseudonyms_are_shortened() {
        assert_eq!(short_pseudonym(PSEUDONYM), "9f86d081884c…");
        assert_eq!(short_pseudonym("abc"), "abc");
        assert_eq!(short_pseudonym(""), "-");
    }

    #[test]
    fn sequence_runs_collapse() {
        assert_eq!(sequences_text(&[12, 3, 4, 5, 6, 9, 13, 9]), "3-6, 9, 12-13");
        assert_eq!(sequences_text(&[]), "");
        assert_eq!(sequences_text(&[0]), "0");
    }

    fn report() -> pb::AnomalyReportResponse {
        pb::AnomalyReportResponse {
            anomalies: vec![
                pb::Anomaly {
                    kind: pb::AnomalyKind::UserVolume.into(),
                    description: "user u-123 accessed 57 subjects on 2026-03-02 (threshold 40)".into(),
                    party: Some(pb::PartyRef {
                        oin: OIN_GM.into(),
                        function: pb::FunctionKind::Participatiewet.into(),
                    }),
                    user_id: "u-123".into(),
                    subject_pseudonym: String::new(),
                    count: 157,
                    first_seen: at("2026-03-02T07:01:02Z"),
                    last_seen: at("2026-03-02T16:55:00Z"),
                    sequences: vec![100, 101, 102, 107],
                },
                pb::Anomaly {
                    kind: pb::AnomalyKind::OutsideOfficeHours.into(),
                    description: "access at 23:12 on a weekday".into(),
                    party: None,
                    user_id: "u-7".into(),
                    subject_pseudonym: PSEUDONYM.into(),
                    count: 1,
                    first_seen: at("2026-03-03T22:12:00Z"),
                    last_seen: at("2026-03-03T22:12:00Z"),
                    sequences: vec![230],
                },
            ],
            thresholds: Some(pb::AnomalyThresholds {
                office_hours_start: 6,
                office_hours_end: 19,
                max_subjects_per_user_per_day: 40,
                max_users_per_subject: 5,
                refusal_burst_count: 5,
                refusal_burst_minutes: 10,
            }),
            entries_examined: 1234,
        }
    }

    #[test]
    fn anomalies_render_with_counts_times_sequences_and_thresholds() {
        let text = anomalies_text(&report());
        let expected = "\
2 anomalies among 1234 entries examined

user_volume: user u-123 accessed 57 subjects on 2026-03-02 (threshold 40)
  party       00000001999990014000/participatiewet
  user        u-123
  entries     157
  first seen  2026-03-02 08:01:02
  last seen   2026-03-02 17:55:00
  sequences   100-102, 107 (first 4 of 157)

outside_office_hours: access at 23:12 on a weekday
  user        u-7
  subject     9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
  entries     1
  first seen  2026-03-03 23:12:00
  last seen   2026-03-03 23:12:00
  sequences   230

thresholds applied:
  office hours             06:00-19:00 on weekdays (Europe/Amsterdam)
  subjects per user a day  at most 40
  users per subject        at most 5
  refusal burst            5 refusals within 10 minutes
";
        assert_eq!(text, expected, "\n{text}");
    }

    #[test]
    fn no_anomalies_still_shows_the_thresholds() {
        let mut r = report();
        r.anomalies.clear();
        let text = anomalies_text(&r);
        assert!(
            text.starts_with("no anomalies among 1234 entries examined\n"),
            "{text}"
        );
        assert!(text.contains("at most 40"), "{text}");
    }

    #[test]
    fn anomaly_json_keeps_every_field() {
        let v = anomaly_json(&report().anomalies[0]);
        assert_eq!(v["kind"], "user_volume");
        assert_eq!(v["count"], 157);
        assert_eq!(v["sequences"], json!([100, 101, 102, 107]));
        assert_eq!(v["subject_pseudonym"], Value::Null);
        assert_eq!(v["first_seen"], "2026-03-02T07:01:02Z");
        let t = thresholds_json(report().thresholds.as_ref().unwrap());
        assert_eq!(t["refusal_burst_minutes"], 10);
    }

    #[test]
    fn checkpoints_show_hex_roots_and_local_time() {
        let c = pb::Checkpoint {
            note: "schakel.test/log\n5\n...\n".into(),
            origin: "schakel.test/log".into(),
            tree_size: 5,
            root_hash: vec![0x01; 32],
            time: at("2026-01-15T09:00:00Z"),
        };
        let rows = checkpoint_rows(&c);
        assert_eq!(rows[2], ("root", "01".repeat(32)));
        assert_eq!(rows[3], ("time", "2026-01-15 10:00:00 (Europe/Amsterdam)".into()));
        assert_eq!(
            checkpoint_line(&c),
            format!("schakel.test/log size 5 root {}", "01".repeat(32))
        );
        assert_eq!(checkpoint_json(&c)["root_hash"], "01".repeat(32));
    }
}
