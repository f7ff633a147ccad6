//! Shared test helpers: entry builders, local times, the fixed scenario and
//! snapshot comparison.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;

use schakel_audit::{Action, Actor, Entry, Outcome, ProcessingActivity, TraceContext};
use schakel_audit_report::{CheckpointRef, Closure, SubjectReport};
use uuid::Uuid;

pub const SCHOOL: &str = "00000001800866472000";
pub const GEMEENTE: &str = "00000001002220647000";
pub const MBO: &str = "00000001823288444000";

/// The youth of the scenario.
pub const YOUTH: &str = "5f2cae7b91d04c3e8a6b2d9f0e1c7a4b3d5e6f8091a2b3c4d5e6f7a8b9c0d1e2";
pub const TRANSFER: &str = "0195f3a2-7c41-7b2e-9d3a-4e5f6a7b8c9d";
pub const CONSENT: &str = "0195f3a1-1e22-7a10-8b7c-1d2e3f4a5b6c";

pub const SCHOOL_USER: &str = "s-mentor-17";
pub const WERKCOACH: &str = "w-0042";

pub const ROOT_HEX: &str = "3a7d1c9e5b2f4a6081d7e3c5b9a2f4e6d8c0b1a3f5e7d9c2b4a6f8e0d1c3b5a7";
pub const NOTE: &str = "schakel.example/audit\n119\nOn0cnlsvSmCB1+PFuaL05tjAsaP159nCtKb44NHDtac=\n\n\
— schakel.example/audit Kq3fZ2vb8w1XyTn0cPe4LmRsAoGdUhJiQk+V7zWtBxE=\n";

pub fn names(oin: &str) -> Option<String> {
    match oin {
        SCHOOL => Some("Praktijkschool De Brug".to_owned()),
        GEMEENTE => Some("Gemeente Utrecht".to_owned()),
        MBO => Some("Mbo College Midden".to_owned()),
        _ => None,
    }
}

pub fn uuid(s: &str) -> Uuid {
    s.parse().expect("valid uuid")
}

/// Milliseconds since the epoch of a wall-clock time in Europe/Amsterdam.
pub fn local_ms(y: i16, mo: i8, d: i8, h: i8, mi: i8, s: i8) -> u64 {
    let z = jiff::civil::date(y, mo, d)
        .at(h, mi, s, 0)
        .in_tz("Europe/Amsterdam")
        .expect("valid local time");
    u64::try_from(z.timestamp().as_millisecond()).expect("after 1970")
}

fn trace() -> TraceContext {
    TraceContext {
        trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".parse().expect("trace id"),
        span_id: "00f067aa0ba902b7".parse().expect("span id"),
    }
}

/// A successful entry by `oin`/`function`/`user`, with nothing else set.
pub fn entry(seq: u64, time_ms: u64, oin: &str, function: &str, user: &str, action: Action) -> Entry {
    Entry {
        seq,
        time_ms,
        actor: Actor {
            oin: Some(oin.to_owned()),
            function: Some(function.to_owned()),
            user_id: Some(user.to_owned()),
            user_role: None,
            acting_for: None,
        },
        action,
        outcome: Outcome::Success,
        activity: None,
        legal_basis: None,
        subject: None,
        transfer_id: None,
        consent_id: None,
        groups: Vec::new(),
        parties: Vec::new(),
        trace: trace(),
        rows: Vec::new(),
        attempts: None,
        flags: Vec::new(),
        justification_marks: Vec::new(),
    }
}

/// An entry about `subject`.
pub fn about(mut e: Entry, subject: &str) -> Entry {
    e.subject = Some(subject.to_owned());
    e
}

/// A refused entry.
pub fn refused(mut e: Entry, rules: &[&str]) -> Entry {
    e.outcome = Outcome::Refused {
        rules: rules.iter().map(|r| (*r).to_owned()).collect(),
    };
    e
}

/// A distinct pseudonym for test subject number `n`: 64 hex digits without two
/// decimal digits in a row.
pub fn subject(n: u32) -> String {
    let hex: String = format!("{n:08x}").chars().flat_map(|c| [c, 'e']).collect();
    hex.repeat(4)
}

fn handover(mut e: Entry) -> Entry {
    e.activity = Some(ProcessingActivity {
        purpose: "handover.school_to_gemeente".to_owned(),
        policy_version: "2026.1+3f1c0a9e".to_owned(),
    });
    e.legal_basis = Some("Participatiewet art. 7a; WVO 2020 art. 2.31b lid 2".to_owned());
    e.subject = Some(YOUTH.to_owned());
    e
}

fn role(mut e: Entry, role: &str) -> Entry {
    e.actor.user_role = Some(role.to_owned());
    e
}

/// The fixed scenario, all in winter time (+01:00):
///
/// Monday 2026-03-02
/// - 09:05 the school's first submission is refused under R4, R9
/// - 09:20 the school records the youth's consent
/// - 09:31 the school submits the overgangsdocument
/// - 10:00–10:04:30 another school (mbo) has 12 submissions refused, about other youths
/// - 21:30 the gemeente's werkcoach fetches the transfer
/// - 21:32 and acknowledges receipt
///
/// Tuesday 2026-03-03
/// - 10:15 the werkcoach declines the transfer
/// - 10:40 and fetches it again
pub fn scenario() -> Vec<Entry> {
    let t = uuid(TRANSFER);
    let c = uuid(CONSENT);
    let school = |seq, ms, action| {
        let mut e = handover(role(
            entry(seq, ms, SCHOOL, "school", SCHOOL_USER, action),
            "mentor",
        ));
        e.parties = vec![GEMEENTE.to_owned()];
        e
    };
    let coach = |seq, ms, action| {
        let mut e = handover(role(
            entry(seq, ms, GEMEENTE, "participatiewet", WERKCOACH, action),
            "werkcoach",
        ));
        e.parties = vec![SCHOOL.to_owned()];
        e.transfer_id = Some(t);
        e.consent_id = Some(c);
        e
    };
    let groups = |e: Entry, g: &[&str]| Entry {
        groups: g.iter().map(|s| (*s).to_owned()).collect(),
        ..e
    };
    let delivered = ["contact", "school_career", "skills", "support_needs", "wishes"];

    let mut v = Vec::new();
    v.push(refused(
        school(100, local_ms(2026, 3, 2, 9, 5, 0), Action::TransferRefused),
        &["R4", "R9"],
    ));
    v.push(Entry {
        consent_id: Some(c),
        ..school(101, local_ms(2026, 3, 2, 9, 20, 0), Action::ConsentRecorded)
    });
    v.push(groups(
        Entry {
            consent_id: Some(c),
            transfer_id: Some(t),
            ..school(102, local_ms(2026, 3, 2, 9, 31, 0), Action::TransferSubmitted)
        },
        &delivered,
    ));
    for i in 0..12u32 {
        let mut e = handover(refused(
            entry(
                103 + u64::from(i),
                local_ms(2026, 3, 2, 10, 0, 0) + u64::from(i) * 25_000,
                MBO,
                "school",
                "mbo-batch",
                Action::TransferRefused,
            ),
            if i % 2 == 0 { &["R1"] } else { &["R4"] },
        ));
        e.subject = Some(subject(i + 1));
        e.parties = vec![GEMEENTE.to_owned()];
        v.push(e);
    }
    v.push(groups(
        coach(115, local_ms(2026, 3, 2, 21, 30, 0), Action::TransferFetched),
        &delivered,
    ));
    v.push(coach(
        116,
        local_ms(2026, 3, 2, 21, 32, 0),
        Action::TransferAcknowledged,
    ));
    v.push(coach(117, decided_at(), Action::TransferDecided));
    v.push(groups(
        coach(118, local_ms(2026, 3, 3, 10, 40, 0), Action::TransferFetched),
        &delivered,
    ));
    v
}

pub fn decided_at() -> u64 {
    local_ms(2026, 3, 3, 10, 15, 0)
}

/// The transfers the hub knows are closed in the scenario.
pub fn closed() -> HashMap<Uuid, (Closure, u64)> {
    HashMap::from([(uuid(TRANSFER), (Closure::Declined, decided_at()))])
}

/// What the hub would pass for the gemeente's privacy officer asking about
/// the youth: entries about the youth in which the gemeente is actor or party.
pub fn scoped_for_gemeente(entries: &[Entry]) -> Vec<Entry> {
    entries
        .iter()
        .filter(|e| e.subject.as_deref() == Some(YOUTH))
        .filter(|e| e.actor.oin.as_deref() == Some(GEMEENTE) || e.parties.iter().any(|p| p == GEMEENTE))
        .cloned()
        .collect()
}

pub fn report<'a>(entries: &'a [Entry], names: &'a dyn Fn(&str) -> Option<String>) -> SubjectReport<'a> {
    SubjectReport {
        entries,
        requester_oin: GEMEENTE,
        names,
        subject_pseudonym: YOUTH,
        from_ms: Some(local_ms(2026, 3, 1, 0, 0, 0)),
        until_ms: Some(local_ms(2026, 4, 1, 0, 0, 0)),
        generated_at_ms: local_ms(2026, 4, 7, 14, 0, 0),
        checkpoint: Some(CheckpointRef {
            size: 119,
            root_hex: ROOT_HEX,
            note: NOTE,
        }),
    }
}

/// Compares `actual` with `tests/snapshots/<name>`.
///
/// To accept a deliberate change, run the tests with `UPDATE_SNAPSHOTS=1`
/// (`UPDATE_SNAPSHOTS=1 cargo test -p schakel-audit-report`): the test then
/// writes the file instead of comparing, and passes. Read the diff before
/// committing it — the snapshot is what a privacy officer gets to read.
pub fn assert_snapshot(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("snapshots")
        .join(name);
    if std::env::var("UPDATE_SNAPSHOTS").as_deref() == Ok("1") {
        std::fs::write(&path, actual).expect("write snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read snapshot {}: {e}; run with UPDATE_SNAPSHOTS=1 to create it",
            path.display()
        )
    });
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            "snapshot {} differs from line {}:\n  expected: {:?}\n  actual:   {:?}\n\
             full output:\n{actual}\n(run with UPDATE_SNAPSHOTS=1 to accept the change)",
            path.display(),
            line + 1,
            expected.lines().nth(line),
            actual.lines().nth(line),
        );
    }
}
