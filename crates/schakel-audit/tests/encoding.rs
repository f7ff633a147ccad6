//! The canonical encoding: round trips, a pinned byte layout, and one negative
//! vector per malformation.

mod common;

use std::collections::BTreeSet;

use proptest::prelude::*;
use schakel_audit::{
    Action, Actor, AuditError, Entry, FLAG_HARDHEIDSCLAUSULE, Outcome, ProcessingActivity, RowCommitment,
    RowTable, SpanId, TraceContext, TraceId, leaf_hash,
};
use uuid::Uuid;

/// The smallest entry: everything optional absent.
fn minimal() -> Entry {
    Entry {
        seq: 0,
        time_ms: 0,
        actor: Actor {
            oin: None,
            function: None,
            user_id: None,
            user_role: None,
            acting_for: None,
        },
        action: Action::Purge,
        outcome: Outcome::Success,
        activity: None,
        legal_basis: None,
        subject: None,
        transfer_id: None,
        consent_id: None,
        groups: vec![],
        parties: vec![],
        trace: TraceContext {
            trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".parse().expect("trace id"),
            span_id: "00f067aa0ba902b7".parse().expect("span id"),
        },
        rows: Vec::new(),
        attempts: None,
        flags: Vec::new(),
        justification_marks: Vec::new(),
    }
}

/// The minimal entry's bytes, written out by hand from the layout in encoding.rs.
const MINIMAL_HEX: &str = concat!(
    "01",               // version
    "0000000000000000", // seq
    "0000000000000000", // time_ms
    "00000000",         // actor: oin, function, user_id, user_role absent
    "0005",
    "7075726765", // action "purge"
    "00",         // outcome success
    "00",
    "00",
    "00",
    "00",
    "00", // activity, legal_basis, subject, transfer_id, consent_id absent
    "0000",
    "0000",                             // groups, parties: empty
    "4bf92f3577b34da6a3ce929d0e0e4736", // trace_id
    "00f067aa0ba902b7",                 // span_id
);

fn minimal_bytes() -> Vec<u8> {
    hex::decode(MINIMAL_HEX).expect("hex")
}

#[test]
fn minimal_entry_has_the_documented_layout() {
    assert_eq!(hex::encode(minimal().encode().expect("encode")), MINIMAL_HEX);
    assert_eq!(Entry::decode(&minimal_bytes()).expect("decode"), minimal());
}

#[test]
fn full_entry_encoding_is_pinned() {
    // A change here changes every leaf hash: it needs a new encoding version.
    let bytes = common::entry(4).encode().expect("encode");
    assert_eq!(bytes.len(), 341);
    assert_eq!(
        hex::encode(leaf_hash(&bytes)),
        "a919e6809e1464485dcf8543c60648d927e9c31143c6a19801c478202f430c23"
    );
}

// ---- version 2: row commitments ----

fn row(table: RowTable, id: u128, fill: u8) -> RowCommitment {
    RowCommitment {
        table,
        id: Uuid::from_u128(id),
        meta: [fill; 32],
        units: [fill.wrapping_add(1); 32],
    }
}

/// The minimal entry committing to one transfer row.
fn minimal_with_row() -> Entry {
    let mut e = minimal();
    e.rows = vec![row(RowTable::TRANSFER, 7, 0xaa)];
    e
}

#[test]
fn an_entry_with_rows_has_the_documented_version_2_layout() {
    let bytes = minimal_with_row().encode().expect("encode");
    let mut expected = minimal_bytes();
    expected[0] = 2;
    expected.extend_from_slice(&hex::decode("0001").expect("hex")); // one row
    expected.push(2); // table: transfer
    expected.extend_from_slice(Uuid::from_u128(7).as_bytes());
    expected.extend_from_slice(&[0xaa; 32]);
    expected.extend_from_slice(&[0xab; 32]);
    expected.push(0); // attempts: absent
    assert_eq!(hex::encode(&bytes), hex::encode(&expected));
    assert_eq!(Entry::decode(&bytes).expect("decode"), minimal_with_row());
}

#[test]
fn an_entry_without_rows_keeps_version_1_so_old_logs_keep_their_bytes() {
    assert_eq!(minimal().encode().expect("encode")[0], 1);
    // Version 2 with no rows would be a second encoding of the same value.
    let mut b = minimal_bytes();
    b[0] = 2;
    b.extend_from_slice(&[0, 0, 0]);
    assert!(matches!(
        decode_err(&b),
        AuditError::InvalidField { field: "rows", .. }
    ));
}

#[test]
fn a_count_of_attempts_makes_version_2_and_is_at_least_two() {
    let mut e = minimal();
    e.attempts = Some(4999);
    let bytes = e.encode().expect("encode");
    let mut expected = minimal_bytes();
    expected[0] = 2;
    expected.extend_from_slice(&[0, 0, 1]); // no rows; attempts present
    expected.extend_from_slice(&4999u64.to_be_bytes());
    assert_eq!(hex::encode(&bytes), hex::encode(&expected));
    assert_eq!(Entry::decode(&bytes).expect("decode"), e);
    e.attempts = Some(1);
    assert!(matches!(
        e.encode(),
        Err(AuditError::InvalidField {
            field: "attempts",
            ..
        })
    ));
    let json = serde_json::to_string(&minimal_with_row()).expect("json");
    assert!(!json.contains("attempts"), "{json}");
}

#[test]
fn rows_must_be_sorted_without_duplicates_and_name_a_table() {
    let mut e = minimal();
    e.rows = vec![row(RowTable::TRANSFER, 2, 1), row(RowTable::CONSENT, 9, 1)];
    assert!(matches!(
        e.encode(),
        Err(AuditError::InvalidField { field: "rows", .. })
    ));
    e.rows = vec![row(RowTable::TRANSFER, 2, 1), row(RowTable::TRANSFER, 2, 3)];
    assert!(matches!(
        e.encode(),
        Err(AuditError::InvalidField { field: "rows", .. })
    ));
    let mut b = minimal_with_row().encode().expect("encode");
    let table = MINIMAL_HEX.len() / 2 + 2;
    b[table] = 0;
    assert!(matches!(
        decode_err(&b),
        AuditError::InvalidField {
            field: "rows.table",
            ..
        }
    ));
    // A table this version has no name for still decodes (an older verifier
    // reads a newer log).
    b[table] = 9;
    let decoded = Entry::decode(&b).expect("decode");
    assert_eq!(decoded.rows[0].table.code(), 9);
    assert_eq!(decoded.rows[0].table.name(), "table_9");
    assert_eq!(decoded.encode().expect("encode"), b);
}

#[test]
fn flags_make_version_3_with_exactly_one_encoding() {
    // Without rows: the version 2 tail (no rows, no attempts) and the flags.
    let mut e = minimal();
    e.flags = vec![FLAG_HARDHEIDSCLAUSULE.to_owned()];
    let bytes = e.encode().expect("encode");
    let mut expected = minimal_bytes();
    expected[0] = 3;
    expected.extend_from_slice(&[0, 0, 0, 0, 1, 0, 17]);
    expected.extend_from_slice(b"hardheidsclausule");
    expected.extend_from_slice(&[0, 0]);
    assert_eq!(hex::encode(&bytes), hex::encode(&expected));
    assert_eq!(Entry::decode(&bytes).expect("decode"), e);
    // With a row: version 3 as well, the row kept.
    let mut with_row = minimal_with_row();
    with_row.flags = e.flags.clone();
    let decoded = Entry::decode(&with_row.encode().expect("encode")).expect("decode");
    assert_eq!(decoded, with_row);
    // The JSON form names the flag; an entry without flags has no `flags` key.
    let json = serde_json::to_string(&e).expect("json");
    assert!(json.contains(r#""flags":["hardheidsclausule"]"#), "{json}");
    assert_eq!(serde_json::from_str::<Entry>(&json).expect("parse"), e);
    assert!(!serde_json::to_string(&minimal()).expect("json").contains("flags"));
    // Version 3 without a flag or mark is version 1 or 2 written the wrong way.
    let mut empty = expected.clone();
    empty.truncate(expected.len() - 21);
    empty.extend_from_slice(&[0, 0, 0, 0]);
    assert!(matches!(
        decode_err(&empty),
        AuditError::InvalidField { field: "flags", .. }
    ));
    // Flags are tokens, sorted, without duplicates.
    e.flags = vec!["z".into(), "a".into()];
    assert!(matches!(
        e.encode(),
        Err(AuditError::InvalidField { field: "flags", .. })
    ));
    e.flags = vec!["has space".into()];
    assert!(matches!(
        e.encode(),
        Err(AuditError::InvalidField { field: "flags", .. })
    ));
    // Justification marks alone make version 3 too; each is 32 lowercase hex.
    let mut marked = minimal();
    marked.justification_marks = vec!["0f".repeat(16), "a1".repeat(16)];
    let decoded = Entry::decode(&marked.encode().expect("encode")).expect("decode");
    assert_eq!(decoded, marked);
    assert_eq!(marked.encode().expect("encode")[0], 3);
    for bad in ["0F".repeat(16), "0f".repeat(15), "zz".repeat(16)] {
        marked.justification_marks = vec![bad];
        assert!(matches!(
            marked.encode(),
            Err(AuditError::InvalidField {
                field: "justification_marks",
                ..
            })
        ));
    }
    // Version 3 bytes read as version 4 lack the OIN acted for.
    let mut b = bytes.clone();
    b[0] = 4;
    assert!(matches!(decode_err(&b), AuditError::Malformed { .. }));
}

#[test]
fn acting_under_a_mandate_makes_version_4_with_exactly_one_encoding() {
    let gemeente = "00000001001234567000";
    let mut e = minimal();
    e.actor.acting_for = Some(gemeente.to_owned());
    let bytes = e.encode().expect("encode");
    // The version 2 tail (no rows, no attempts), empty flags and marks, the OIN.
    let mut expected = minimal_bytes();
    expected[0] = 4;
    expected.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 20]);
    expected.extend_from_slice(gemeente.as_bytes());
    assert_eq!(hex::encode(&bytes), hex::encode(&expected));
    assert_eq!(Entry::decode(&bytes).expect("decode"), e);
    // With a flag and a row: still version 4, everything kept.
    let mut full = minimal_with_row();
    full.actor.acting_for = e.actor.acting_for.clone();
    full.flags = vec![FLAG_HARDHEIDSCLAUSULE.to_owned()];
    let encoded = full.encode().expect("encode");
    assert_eq!(encoded[0], 4);
    assert_eq!(Entry::decode(&encoded).expect("decode"), full);
    // The JSON form names it under the actor; an entry without has no key.
    let json = serde_json::to_string(&e).expect("json");
    assert!(json.contains(&format!(r#""acting_for":"{gemeente}""#)), "{json}");
    assert_eq!(serde_json::from_str::<Entry>(&json).expect("parse"), e);
    assert!(
        !serde_json::to_string(&minimal())
            .expect("json")
            .contains("acting_for")
    );
    // Only an OIN: a BSN or free text is refused on both sides.
    e.actor.acting_for = Some("123456782".into());
    assert!(matches!(
        e.encode(),
        Err(AuditError::InvalidField {
            field: "actor.acting_for",
            ..
        })
    ));
    let mut bad = expected.clone();
    let at = bad.len() - 1;
    bad[at] = b'x';
    assert!(matches!(
        decode_err(&bad),
        AuditError::InvalidField {
            field: "actor.acting_for",
            ..
        }
    ));
    // Nothing may follow it, and a version after 4 is unknown.
    let mut trailing = expected.clone();
    trailing.push(0);
    assert!(matches!(decode_err(&trailing), AuditError::Malformed { .. }));
    let mut b = expected;
    b[0] = 5;
    assert!(matches!(decode_err(&b), AuditError::UnknownVersion(5)));
}

#[test]
fn a_truncated_row_is_malformed() {
    let mut b = minimal_with_row().encode().expect("encode");
    b.pop();
    assert!(matches!(decode_err(&b), AuditError::Malformed { .. }));
}

#[test]
fn rows_round_trip_through_json_as_hex() {
    let mut e = minimal();
    e.rows = vec![row(RowTable::CONSENT, 1, 0x01), row(RowTable::TRANSFER, 1, 0x10)];
    let json = serde_json::to_string(&e).expect("json");
    assert!(
        json.contains(&format!(r#""meta":"{}""#, "10".repeat(32))),
        "{json}"
    );
    assert_eq!(serde_json::from_str::<Entry>(&json).expect("parse"), e);
    // An entry without rows has no `rows` key, as before version 2.
    assert!(!serde_json::to_string(&minimal()).expect("json").contains("rows"));
}

#[test]
fn every_known_action_round_trips_through_its_text_form() {
    for action in Action::KNOWN {
        assert_eq!(action.as_str().parse::<Action>().expect("parses"), *action);
        let mut e = minimal();
        e.action = action.clone();
        assert_eq!(Entry::decode(&e.encode().expect("encode")).expect("decode"), e);
    }
}

#[test]
fn unknown_action_name_decodes_as_other_and_keeps_its_text() {
    let action: Action = "consent_extended".parse().expect("snake_case");
    assert!(matches!(action, Action::Other(_)));
    assert_eq!(action.as_str(), "consent_extended");
    let mut e = minimal();
    e.action = action;
    assert_eq!(Entry::decode(&e.encode().expect("encode")).expect("decode"), e);
}

#[test]
fn json_form_round_trips() {
    let e = common::entry(4);
    let json = serde_json::to_string(&e).expect("json");
    assert!(json.contains(r#""action":"transfer_fetched""#), "{json}");
    assert!(json.contains(r#""status":"refused""#), "{json}");
    assert_eq!(serde_json::from_str::<Entry>(&json).expect("parse"), e);
}

// ---- negative vectors: bytes ----

fn with(offset: usize, byte: u8) -> Vec<u8> {
    let mut b = minimal_bytes();
    b[offset] = byte;
    b
}

fn decode_err(bytes: &[u8]) -> AuditError {
    Entry::decode(bytes).expect_err("must not decode")
}

#[test]
fn decode_refuses_unknown_version() {
    assert_eq!(decode_err(&with(0, 5)), AuditError::UnknownVersion(5));
    assert_eq!(decode_err(&with(0, 0)), AuditError::UnknownVersion(0));
}

#[test]
fn decode_refuses_trailing_byte() {
    let mut b = minimal_bytes();
    b.push(0);
    assert!(matches!(decode_err(&b), AuditError::Malformed { offset: 62, .. }));
}

#[test]
fn decode_refuses_truncated_input() {
    let b = minimal_bytes();
    for len in 0..b.len() {
        assert!(Entry::decode(&b[..len]).is_err(), "prefix of {len} bytes");
    }
}

#[test]
fn decode_refuses_option_tag_other_than_0_or_1() {
    assert!(matches!(
        decode_err(&with(17, 2)),
        AuditError::Malformed { offset: 17, .. }
    ));
}

#[test]
fn decode_refuses_unknown_outcome_tag() {
    assert!(matches!(
        decode_err(&with(28, 3)),
        AuditError::Malformed { offset: 28, .. }
    ));
}

#[test]
fn decode_refuses_action_in_uppercase() {
    assert!(matches!(
        decode_err(&with(23, b'P')),
        AuditError::InvalidField { field: "action", .. }
    ));
}

#[test]
fn decode_refuses_action_with_space() {
    assert!(matches!(
        decode_err(&with(25, b' ')),
        AuditError::InvalidField { field: "action", .. }
    ));
}

#[test]
fn decode_refuses_action_not_utf8() {
    assert!(matches!(
        decode_err(&with(23, 0xff)),
        AuditError::Malformed { offset: 23, .. }
    ));
}

#[test]
fn decode_refuses_length_past_the_end() {
    assert!(matches!(
        decode_err(&with(21, 0xff)),
        AuditError::Malformed { .. }
    ));
}

#[test]
fn decode_refuses_all_zero_trace_id() {
    let mut b = minimal_bytes();
    b[38..54].fill(0);
    assert!(matches!(
        decode_err(&b),
        AuditError::InvalidField {
            field: "trace.trace_id",
            ..
        }
    ));
}

#[test]
fn decode_refuses_all_zero_span_id() {
    let mut b = minimal_bytes();
    b[54..62].fill(0);
    assert!(matches!(
        decode_err(&b),
        AuditError::InvalidField {
            field: "trace.span_id",
            ..
        }
    ));
}

/// The minimal entry with a hand-written groups list.
fn with_groups(items: &[&str]) -> Vec<u8> {
    let b = minimal_bytes();
    let mut out = b[..34].to_vec();
    out.extend_from_slice(&(items.len() as u16).to_be_bytes());
    for item in items {
        out.extend_from_slice(&(item.len() as u16).to_be_bytes());
        out.extend_from_slice(item.as_bytes());
    }
    out.extend_from_slice(&b[36..]);
    out
}

#[test]
fn decode_refuses_unsorted_groups() {
    Entry::decode(&with_groups(&["a", "b"])).expect("sorted is fine");
    assert!(matches!(
        decode_err(&with_groups(&["b", "a"])),
        AuditError::InvalidField { field: "groups", .. }
    ));
}

#[test]
fn decode_refuses_duplicate_groups() {
    assert!(matches!(
        decode_err(&with_groups(&["a", "a"])),
        AuditError::InvalidField { field: "groups", .. }
    ));
}

#[test]
fn decode_refuses_refusal_without_rules() {
    let mut b = minimal_bytes();
    b.splice(28..29, [1, 0, 0]); // outcome refused, zero rules
    assert!(matches!(
        decode_err(&b),
        AuditError::InvalidField {
            field: "outcome.rules",
            ..
        }
    ));
}

// ---- negative vectors: field values refused by encode ----

fn encode_err(edit: impl FnOnce(&mut Entry)) -> &'static str {
    let mut e = common::entry(1);
    edit(&mut e);
    match e.encode() {
        Err(AuditError::InvalidField { field, .. }) => field,
        other => panic!("expected an invalid field, got {other:?}"),
    }
}

#[test]
fn encode_refuses_a_bsn_where_an_oin_belongs() {
    assert_eq!(
        encode_err(|e| e.actor.oin = Some("111222333".into())),
        "actor.oin"
    );
}

#[test]
fn encode_refuses_a_party_that_is_not_an_oin() {
    assert_eq!(
        encode_err(|e| e.parties = vec!["gemeente utrecht".into()]),
        "parties"
    );
}

#[test]
fn encode_refuses_unsorted_parties() {
    assert_eq!(
        encode_err(|e| e.parties = vec![common::OIN_SCHOOL.into(), common::OIN_GEMEENTE.into()]),
        "parties"
    );
}

#[test]
fn encode_refuses_unsorted_groups() {
    assert_eq!(
        encode_err(|e| e.groups = vec!["wensen".into(), "contact".into()]),
        "groups"
    );
}

#[test]
fn encode_refuses_duplicate_rule_ids() {
    assert_eq!(
        encode_err(|e| e.outcome = Outcome::Refused {
            rules: vec!["R4".into(), "R4".into()]
        }),
        "outcome.rules"
    );
}

#[test]
fn encode_refuses_free_text_error_code() {
    assert_eq!(
        encode_err(|e| e.outcome = Outcome::Error {
            code: "disk full".into()
        }),
        "outcome.code"
    );
}

#[test]
fn encode_refuses_multiline_legal_basis() {
    assert_eq!(
        encode_err(|e| e.legal_basis = Some("art. 7a\nart. 9".into())),
        "legal_basis"
    );
}

#[test]
fn encode_refuses_empty_legal_basis() {
    assert_eq!(encode_err(|e| e.legal_basis = Some(String::new())), "legal_basis");
}

#[test]
fn encode_refuses_overlong_legal_basis() {
    assert_eq!(
        encode_err(|e| e.legal_basis = Some("a".repeat(513))),
        "legal_basis"
    );
}

#[test]
fn encode_refuses_control_character_in_user_id() {
    assert_eq!(
        encode_err(|e| e.actor.user_id = Some("jan\u{1b}[31m".into())),
        "actor.user_id"
    );
}

#[test]
fn encode_refuses_function_with_space() {
    assert_eq!(
        encode_err(|e| e.actor.function = Some("werk en inkomen".into())),
        "actor.function"
    );
}

#[test]
fn encode_refuses_empty_subject() {
    assert_eq!(encode_err(|e| e.subject = Some(String::new())), "subject");
}

#[test]
fn encode_refuses_empty_purpose() {
    assert_eq!(
        encode_err(|e| e.activity = Some(ProcessingActivity {
            purpose: String::new(),
            policy_version: "1".into()
        })),
        "activity.purpose"
    );
}

#[test]
fn encode_refuses_too_many_groups() {
    assert_eq!(
        encode_err(|e| e.groups = (0..257).map(|i| format!("g{i:04}")).collect()),
        "groups"
    );
}

#[test]
fn trace_ids_parse_only_lowercase_hex_of_the_right_length() {
    assert!("4BF92F3577B34DA6A3CE929D0E0E4736".parse::<TraceId>().is_err());
    assert!("4bf92f3577b34da6a3ce929d0e0e473".parse::<TraceId>().is_err());
    assert!("00000000000000000000000000000000".parse::<TraceId>().is_err());
    assert!("00f067aa0ba902b".parse::<SpanId>().is_err());
    assert!("0000000000000000".parse::<SpanId>().is_err());
    assert!("not-snake".parse::<Action>().is_err());
}

// ---- property: decode(encode(e)) == e ----

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._:/-]{1,24}"
}

fn text() -> impl Strategy<Value = String> {
    "[^\\p{Cc}]{1,40}"
}

fn oin() -> impl Strategy<Value = String> {
    "[0-9]{20}"
}

fn set(item: impl Strategy<Value = String>, max: usize) -> impl Strategy<Value = Vec<String>> {
    prop::collection::btree_set(item, 0..max).prop_map(|s: BTreeSet<String>| s.into_iter().collect())
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        prop::sample::select(Action::KNOWN.to_vec()),
        "[a-z][a-z0-9_]{0,30}".prop_map(|s| s.parse::<Action>().expect("snake_case")),
    ]
}

fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        Just(Outcome::Success),
        prop::collection::btree_set("R[0-9]{1,2}", 1..4).prop_map(|s| Outcome::Refused {
            rules: s.into_iter().collect()
        }),
        "[a-z_]{1,20}".prop_map(|code| Outcome::Error { code }),
    ]
}

fn nonzero<const N: usize>() -> impl Strategy<Value = [u8; N]>
where
    [u8; N]: Arbitrary,
{
    any::<[u8; N]>().prop_filter("not all zero", |b| b.iter().any(|&x| x != 0))
}

prop_compose! {
    fn entry()(
        seq in any::<u64>(),
        time_ms in any::<u64>(),
        actor in (prop::option::of(oin()), prop::option::of(token()), prop::option::of(text()), prop::option::of(token()), prop::option::of(oin())),
        action in action(),
        outcome in outcome(),
        activity in prop::option::of((token(), token())),
        legal_basis in prop::option::of(text()),
        subject in prop::option::of("[0-9a-f]{64}"),
        ids in (prop::option::of(any::<u128>()), prop::option::of(any::<u128>())),
        groups in set(token(), 8),
        parties in set(oin(), 4),
        trace_id in nonzero::<16>(),
        span_id in nonzero::<8>(),
        flags in set(token(), 3),
        marks in set("[0-9a-f]{32}", 3),
    ) -> Entry {
        Entry {
            seq,
            time_ms,
            actor: Actor { oin: actor.0, function: actor.1, user_id: actor.2, user_role: actor.3, acting_for: actor.4 },
            action,
            outcome,
            activity: activity.map(|(purpose, policy_version)| ProcessingActivity { purpose, policy_version }),
            legal_basis,
            subject,
            transfer_id: ids.0.map(Uuid::from_u128),
            consent_id: ids.1.map(Uuid::from_u128),
            groups,
            parties,
            trace: TraceContext {
                trace_id: TraceId::from_bytes(trace_id).expect("non-zero"),
                span_id: SpanId::from_bytes(span_id).expect("non-zero"),
            },
            rows: Vec::new(),
            attempts: None,
            flags,
            justification_marks: marks,
        }
    }
}

proptest! {
    #[test]
    fn decode_inverts_encode(e in entry()) {
        let bytes = e.encode().expect("valid entry");
        prop_assert_eq!(Entry::decode(&bytes).expect("decodes"), e.clone());
        // And the JSON form too.
        let json = serde_json::to_string(&e).expect("json");
        prop_assert_eq!(serde_json::from_str::<Entry>(&json).expect("json parses"), e);
    }

    #[test]
    fn decode_never_panics_on_garbage(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = Entry::decode(&bytes);
    }

    #[test]
    fn any_single_byte_change_is_refused_or_decodes_to_another_entry(e in entry(), at in any::<prop::sample::Index>(), x in 1u8..=255) {
        let bytes = e.encode().expect("valid entry");
        let mut changed = bytes.clone();
        let i = at.index(bytes.len());
        changed[i] ^= x;
        if let Ok(other) = Entry::decode(&changed) {
            prop_assert_ne!(&other, &e);
            // Canonical: the other entry encodes to exactly the changed bytes.
            prop_assert_eq!(other.encode().expect("valid"), changed);
        }
    }
}
