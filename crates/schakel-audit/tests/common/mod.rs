//! Shared test fixtures.
#![allow(dead_code)]

use schakel_audit::{Action, Actor, Entry, Outcome, ProcessingActivity, SpanId, TraceContext, TraceId};
use uuid::Uuid;

pub const OIN_SCHOOL: &str = "00000001234567890000";
pub const OIN_GEMEENTE: &str = "00000001002220647000";

/// A realistic entry at `seq`, with time increasing one second per entry.
pub fn entry(seq: u64) -> Entry {
    let mut trace = [0u8; 16];
    trace[..8].copy_from_slice(&(seq + 1).to_be_bytes());
    Entry {
        seq,
        time_ms: 1_767_225_600_000 + seq * 1_000,
        actor: Actor {
            oin: Some(OIN_SCHOOL.to_owned()),
            function: Some("school".to_owned()),
            user_id: Some("mentor-0042".to_owned()),
            user_role: Some("mentor".to_owned()),
            acting_for: None,
        },
        action: if seq.is_multiple_of(3) {
            Action::TransferSubmitted
        } else {
            Action::TransferFetched
        },
        outcome: if seq % 5 == 4 {
            Outcome::Refused {
                rules: vec!["R1".into(), "R4".into()],
            }
        } else {
            Outcome::Success
        },
        activity: Some(ProcessingActivity {
            purpose: "overgang-school-gemeente".to_owned(),
            policy_version: "2026.1".to_owned(),
        }),
        legal_basis: Some("Participatiewet art. 7a; WEB art. 9.2.13".to_owned()),
        subject: Some("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".to_owned()),
        transfer_id: Some(Uuid::from_u128(
            0x0190_0000_0000_7000_8000_0000_0000_0000 + seq as u128,
        )),
        consent_id: None,
        groups: vec!["contact".to_owned(), "loopbaan".to_owned(), "wensen".to_owned()],
        parties: vec![OIN_GEMEENTE.to_owned()],
        trace: TraceContext {
            trace_id: TraceId::from_bytes(trace).expect("non-zero"),
            span_id: SpanId::from_bytes([0, 0, 0, 0, 0, 0, 0, 1]).expect("non-zero"),
        },
        rows: Vec::new(),
        attempts: None,
        flags: Vec::new(),
        justification_marks: Vec::new(),
    }
}

/// Canonical bytes of `n` entries.
pub fn log(n: u64) -> Vec<Vec<u8>> {
    (0..n).map(|i| entry(i).encode().expect("valid entry")).collect()
}
