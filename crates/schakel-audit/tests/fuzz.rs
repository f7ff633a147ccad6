//! Fuzz targets (issue 6, item 3) as bounded randomized tests that run on
//! stable: hostile bytes and text for the canonical entry decoding, checkpoint
//! and signed-note parsing, verifier keys, and proof verification.
//!
//! Every target must never panic; valid inputs must be accepted, and whatever
//! a parser accepts must be canonical (re-encoding gives the same bytes).
//!
//! Cases per target: `SCHAKEL_FUZZ_CASES` (default 256, a CI run of seconds);
//! a long local run: `SCHAKEL_FUZZ_CASES=1000000 cargo test -p schakel-audit
//! --release --test fuzz`.

mod common;

use std::collections::BTreeSet;

use proptest::prelude::*;
use proptest::sample::Index;
use schakel_audit::{
    Action, Actor, Checkpoint, CompactRange, EMPTY_ROOT, Entry, Hash, LogVerifier, Outcome,
    ProcessingActivity, Signer, SpanId, TraceContext, TraceId, Verifier, VerifyConfig, consistency_proof,
    consistency_proof_ranges, inclusion_proof, inclusion_proof_ranges, leaf_hash, root, verify_consistency,
    verify_inclusion,
};
use uuid::Uuid;

fn cases() -> u32 {
    std::env::var("SCHAKEL_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(256)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        // A failure prints its shrunk input; no regression files in the tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---- byte and text mutations ----

#[derive(Debug, Clone)]
enum ByteOp {
    Flip(Index, u8),
    Set(Index, u8),
    Insert(Index, u8),
    Remove(Index),
    Truncate(Index),
    /// Sets a big-endian u16 (a length prefix, most likely) to an extreme.
    Len(Index, u16),
}

fn byte_op() -> impl Strategy<Value = ByteOp> {
    prop_oneof![
        (any::<Index>(), 0u8..8).prop_map(|(i, b)| ByteOp::Flip(i, b)),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| ByteOp::Set(i, b)),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| ByteOp::Insert(i, b)),
        any::<Index>().prop_map(ByteOp::Remove),
        any::<Index>().prop_map(ByteOp::Truncate),
        (
            any::<Index>(),
            prop_oneof![
                Just(0u16),
                Just(1),
                Just(u16::MAX),
                Just(256),
                Just(257),
                any::<u16>()
            ]
        )
            .prop_map(|(i, v)| ByteOp::Len(i, v)),
    ]
}

fn mutate_bytes(bytes: &mut Vec<u8>, ops: &[ByteOp]) {
    for op in ops {
        let n = bytes.len();
        match op {
            ByteOp::Flip(i, bit) if n > 0 => bytes[i.index(n)] ^= 1 << bit,
            ByteOp::Set(i, b) if n > 0 => bytes[i.index(n)] = *b,
            ByteOp::Insert(i, b) => bytes.insert(i.index(n + 1), *b),
            ByteOp::Remove(i) if n > 0 => {
                bytes.remove(i.index(n));
            }
            ByteOp::Truncate(i) => bytes.truncate(i.index(n + 1)),
            ByteOp::Len(i, v) if n >= 2 => {
                let at = i.index(n - 1);
                bytes[at..at + 2].copy_from_slice(&v.to_be_bytes());
            }
            _ => {}
        }
    }
}

/// Characters that matter to the line- and base64-based formats.
fn interesting_char() -> impl Strategy<Value = char> {
    prop_oneof![
        prop::sample::select(vec![
            '\n', '\r', '\t', '\0', ' ', '+', '/', '=', '-', '0', '9', 'a', 'A', '\u{2014}', '\u{feff}',
            '\u{7f}', '\u{85}', '\u{2028}', 'é',
        ]),
        any::<char>(),
    ]
}

#[derive(Debug, Clone)]
enum TextOp {
    Insert(Index, char),
    Replace(Index, char),
    Remove(Index),
    Truncate(Index),
    /// Repeats a slice of the text at its position (duplicated lines).
    Duplicate(Index, Index),
}

fn text_op() -> impl Strategy<Value = TextOp> {
    prop_oneof![
        (any::<Index>(), interesting_char()).prop_map(|(i, c)| TextOp::Insert(i, c)),
        (any::<Index>(), interesting_char()).prop_map(|(i, c)| TextOp::Replace(i, c)),
        any::<Index>().prop_map(TextOp::Remove),
        any::<Index>().prop_map(TextOp::Truncate),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| TextOp::Duplicate(a, b)),
    ]
}

fn mutate_text(text: &str, ops: &[TextOp]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for op in ops {
        let n = chars.len();
        match op {
            TextOp::Insert(i, c) => chars.insert(i.index(n + 1), *c),
            TextOp::Replace(i, c) if n > 0 => chars[i.index(n)] = *c,
            TextOp::Remove(i) if n > 0 => {
                chars.remove(i.index(n));
            }
            TextOp::Truncate(i) => chars.truncate(i.index(n + 1)),
            TextOp::Duplicate(a, b) if n > 0 => {
                let (a, b) = (a.index(n), b.index(n));
                let (lo, hi) = (a.min(b), a.max(b));
                let slice: Vec<char> = chars[lo..=hi.min(lo + 80)].to_vec();
                chars.splice(lo..lo, slice);
            }
            _ => {}
        }
    }
    chars.into_iter().collect()
}

// ---- entries ----

/// Tokens, including the longest allowed and printable punctuation.
fn token() -> impl Strategy<Value = String> {
    prop_oneof!["[!-~]{1,24}", "[A-Za-z0-9._:/-]{120,128}", Just("R4".to_owned()),]
}

/// Single-line text: any non-control Unicode, up to the 512-byte limit.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[^\\p{Cc}]{1,40}",
        "[a-z ]{500,512}",
        "[^\\p{Cc}]{100,128}".prop_filter("at most 512 bytes", |s| s.len() <= 512),
    ]
}

fn set(item: impl Strategy<Value = String>, max: usize) -> impl Strategy<Value = Vec<String>> {
    prop::collection::btree_set(item, 0..max).prop_map(|s: BTreeSet<String>| s.into_iter().collect())
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        prop::sample::select(Action::KNOWN.to_vec()),
        "[a-z][a-z0-9_]{0,63}".prop_map(|s| s.parse::<Action>().expect("snake_case")),
    ]
}

fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        Just(Outcome::Success),
        set(token(), 12)
            .prop_filter("a refusal names a rule", |r| !r.is_empty())
            .prop_map(|rules| Outcome::Refused { rules }),
        token().prop_map(|code| Outcome::Error { code }),
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
        actor in (
            prop::option::of("[0-9]{20}"),
            prop::option::of(token()),
            prop::option::of(text()),
            prop::option::of(token()),
        ),
        action in action(),
        outcome in outcome(),
        activity in prop::option::of((token(), token())),
        legal_basis in prop::option::of(text()),
        subject in prop::option::of(token()),
        ids in (prop::option::of(any::<u128>()), prop::option::of(any::<u128>())),
        groups in prop_oneof![set(token(), 12), set("[a-z]{1,4}", 300)],
        parties in set("[0-9]{20}", 6),
        trace_id in nonzero::<16>(),
        span_id in nonzero::<8>(),
    ) -> Entry {
        let mut groups = groups;
        groups.truncate(256);
        Entry {
            seq,
            time_ms,
            actor: Actor { oin: actor.0, function: actor.1, user_id: actor.2, user_role: actor.3, acting_for: None },
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
            flags: Vec::new(),
            justification_marks: Vec::new(),
        }
    }
}

/// Field values that break the rules: controls, spaces, too long, unsorted.
fn hostile_string() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,16}",
        "[ -~\n\t\r]{0,16}",
        "[0-9]{19,21}",
        "[a-z]{127,130}",
        "[a-z]{510,514}",
        Just(String::new()),
        Just("x".repeat(70_000)),
    ]
}

prop_compose! {
    /// An entry whose fields may break the rules: `encode` must refuse it
    /// cleanly, or produce bytes that decode to it.
    fn hostile_entry()(
        base in entry(),
        which in 0usize..10,
        s in hostile_string(),
        list in prop::collection::vec(hostile_string(), 0..4),
        many in 250usize..260,
    ) -> Entry {
        let mut e = base;
        match which {
            0 => e.actor.oin = Some(s),
            1 => e.actor.function = Some(s),
            2 => e.actor.user_id = Some(s),
            3 => e.legal_basis = Some(s),
            4 => e.subject = Some(s),
            5 => e.groups = list,
            6 => e.parties = list,
            7 => e.outcome = Outcome::Refused { rules: list },
            8 => e.outcome = Outcome::Error { code: s },
            _ => e.groups = (0..many).map(|i| format!("g{i:04}")).collect(),
        }
        e
    }
}

proptest! {
    #![proptest_config(config())]

    /// Arbitrary bytes: never a panic; whatever decodes is canonical.
    #[test]
    fn entry_decode_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(e) = Entry::decode(&bytes) {
            prop_assert_eq!(e.encode().expect("a decoded entry encodes"), bytes);
        }
    }

    /// Arbitrary bytes behind a valid version, seq and time: reach the fields.
    #[test]
    fn entry_decode_after_valid_header(tail in prop::collection::vec(any::<u8>(), 0..400)) {
        let mut bytes = common::entry(3).encode().expect("valid")[..17].to_vec();
        bytes.extend_from_slice(&tail);
        if let Ok(e) = Entry::decode(&bytes) {
            prop_assert_eq!(e.encode().expect("a decoded entry encodes"), bytes);
        }
    }

    /// Mutated valid encodings: never a panic; whatever decodes is canonical.
    #[test]
    fn entry_decode_mutated(e in entry(), ops in prop::collection::vec(byte_op(), 1..6)) {
        let mut bytes = e.encode().expect("valid entry");
        let original = bytes.clone();
        mutate_bytes(&mut bytes, &ops);
        match Entry::decode(&bytes) {
            Ok(d) => {
                prop_assert_eq!(d.encode().expect("a decoded entry encodes"), bytes.clone());
                if bytes == original {
                    prop_assert_eq!(d, e);
                }
            }
            Err(err) => prop_assert!(!err.to_string().is_empty()),
        }
    }

    /// decode(encode(e)) == e for generated entries, long fields included.
    #[test]
    fn entry_round_trip(e in entry()) {
        let bytes = e.encode().expect("valid entry");
        prop_assert_eq!(Entry::decode(&bytes).expect("decodes"), e);
    }

    /// Entries breaking the field rules: encode refuses, or round-trips.
    #[test]
    fn entry_encode_hostile(e in hostile_entry()) {
        if let Ok(bytes) = e.encode() {
            prop_assert_eq!(Entry::decode(&bytes).expect("what encodes, decodes"), e);
        }
    }

    /// The streaming verifier on hostile entries: never a panic.
    #[test]
    fn log_verifier_hostile_entries(
        entries in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..80), 0..6),
        valid in 0u64..4,
    ) {
        let mut v = LogVerifier::new(VerifyConfig::default());
        let mut ok = true;
        for seq in 0..valid {
            ok &= v.push(&common::entry(seq).encode().expect("valid"), None).is_ok();
        }
        prop_assert!(ok, "valid entries are accepted");
        for bytes in &entries {
            if v.push(bytes, Some(&leaf_hash(bytes))).is_err() {
                break;
            }
        }
        let _ = v.finish();
    }
}

// ---- checkpoints, signed notes, verifier keys ----

const ORIGIN: &str = "schakel.example/log";

fn signer(seed: u8) -> Signer {
    Signer::from_seed(ORIGIN, &[seed; 32]).expect("signer")
}

prop_compose! {
    fn checkpoint()(
        size in prop_oneof![any::<u64>(), 0u64..10, Just(u64::MAX)],
        root in any::<[u8; 32]>(),
        extensions in prop::collection::vec("[^\\p{Cc}]{1,30}", 0..3),
    ) -> Checkpoint {
        Checkpoint { origin: ORIGIN.to_owned(), size, root, extensions }
    }
}

/// What `from_text` accepts prints back to the same text (control
/// characters, which `to_text` refuses, are refused when parsing too; the
/// fuzz run once found `"\rorigin\n0\n<root>\n"` accepted).
fn assert_canonical(cp: &Checkpoint, text: &str) -> Result<(), TestCaseError> {
    let printed = cp.to_text();
    prop_assert!(printed.is_ok(), "parsed but not printable: {:?}", cp);
    prop_assert_eq!(printed.unwrap_or_default(), text);
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    /// Arbitrary text as a checkpoint body: never a panic; accepted ⇒ canonical.
    #[test]
    fn checkpoint_from_arbitrary_text(text in prop_oneof![".{0,200}", "(.{0,40}\n){0,6}"]) {
        if let Ok(cp) = Checkpoint::from_text(&text) {
            assert_canonical(&cp, &text)?;
        }
    }

    /// Mutated valid bodies: never a panic; valid ones accepted; accepted ⇒ canonical.
    #[test]
    fn checkpoint_from_mutated_text(cp in checkpoint(), ops in prop::collection::vec(text_op(), 0..5)) {
        let text = cp.to_text().expect("valid checkpoint");
        prop_assert_eq!(&Checkpoint::from_text(&text).expect("valid body parses"), &cp);
        let mutated = mutate_text(&text, &ops);
        if let Ok(parsed) = Checkpoint::from_text(&mutated) {
            assert_canonical(&parsed, &mutated)?;
        }
    }

    /// Signed notes, mutated: never a panic; the valid one opens; whatever
    /// opens says exactly what was signed (no signature bypass).
    #[test]
    fn checkpoint_open_mutated_note(
        cp in checkpoint(),
        seed in 1u8..4,
        ops in prop::collection::vec(text_op(), 0..5),
        extra in prop::option::of("[^\\p{Cc}]{0,60}"),
    ) {
        let signer = signer(seed);
        let verifier = signer.verifier();
        let mut note = signer.sign(&cp).expect("sign");
        prop_assert_eq!(&Checkpoint::open(&note, &verifier).expect("valid note opens"), &cp);
        if let Some(line) = extra {
            // A cosignature line of some other (perhaps malformed) key.
            note.push_str(&line);
            note.push('\n');
        }
        let mutated = mutate_text(&note, &ops);
        if let Ok(opened) = Checkpoint::open(&mutated, &verifier) {
            prop_assert_eq!(&opened, &cp);
        }
        if let Ok(text) = verifier.open_note(&mutated) {
            prop_assert_eq!(text, cp.to_text().expect("text"));
        }
        // Never opens under another key.
        prop_assert!(Checkpoint::open(&mutated, &self::signer(seed + 10).verifier()).is_err());
    }

    /// Arbitrary text as a note: never a panic, never opens.
    #[test]
    fn note_open_arbitrary(text in prop_oneof![
        ".{0,200}",
        "(.{0,30}\n){0,5}\n(\u{2014} [!-~]{0,20} [A-Za-z0-9+/=]{0,100}\n){0,4}",
    ]) {
        let verifier = signer(1).verifier();
        prop_assert!(verifier.open_note(&text).is_err());
        prop_assert!(Checkpoint::open(&text, &verifier).is_err());
    }

    /// Verifier keys, arbitrary and mutated: never a panic; accepted ⇒ canonical.
    #[test]
    fn verifier_from_vkey(
        seed in any::<[u8; 32]>(),
        name in "[!-*,-~]{1,20}",
        ops in prop::collection::vec(text_op(), 0..4),
        arbitrary in ".{0,120}",
    ) {
        let vkey = Signer::from_seed(&name, &seed).expect("signer").verifier().vkey();
        let v = Verifier::from_vkey(&vkey).expect("a valid key parses");
        prop_assert_eq!(v.vkey(), vkey.clone());
        for text in [mutate_text(&vkey, &ops), arbitrary] {
            if let Ok(v) = Verifier::from_vkey(&text) {
                prop_assert_eq!(v.vkey(), text);
            }
        }
    }
}

// ---- proofs ----

fn leaves(n: u64) -> Vec<Hash> {
    (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
}

fn big_u64() -> impl Strategy<Value = u64> {
    prop_oneof![
        0u64..20,
        any::<u64>(),
        (0u32..64).prop_map(|b| 1u64 << b),
        (0u32..64).prop_map(|b| (1u64 << b).wrapping_sub(1)),
        Just(u64::MAX),
        Just(u64::MAX - 1),
    ]
}

proptest! {
    #![proptest_config(config())]

    /// Arbitrary sizes, indices and proofs: never a panic.
    #[test]
    fn proofs_arbitrary(
        leaf in any::<[u8; 32]>(),
        index in big_u64(),
        size in big_u64(),
        proof in prop::collection::vec(any::<[u8; 32]>(), 0..70),
        roots in any::<([u8; 32], [u8; 32])>(),
    ) {
        let _ = verify_inclusion(&leaf, index, size, &proof, &roots.0);
        let _ = verify_consistency(index, size, &roots.0, &roots.1, &proof);
        let _ = verify_consistency(index, size, &EMPTY_ROOT, &roots.1, &[]);
        if let Ok(r) = inclusion_proof_ranges(index, size) {
            prop_assert!(r.len() <= 64);
            prop_assert!(r.iter().all(|r| r.start < r.end && r.end <= size));
        }
        if let Ok(r) = consistency_proof_ranges(index, size) {
            prop_assert!(r.len() <= 128);
            prop_assert!(r.iter().all(|r| r.start < r.end && r.end <= size));
        }
        let ranges = CompactRange::node_ranges(size);
        prop_assert_eq!(ranges.len(), size.count_ones() as usize);
        let nodes = proof.iter().take(size.count_ones() as usize).copied().collect();
        if let Ok(c) = CompactRange::from_parts(size, nodes) {
            let _ = c.root();
        }
    }

    /// Real proofs verify; a changed proof hash, leaf or root never does.
    #[test]
    fn inclusion_proofs_real_and_mutated(
        n in 1u64..300,
        i in any::<Index>(),
        which in any::<Index>(),
        bit in 0u8..8,
        wrong in any::<Index>(),
    ) {
        let l = leaves(n);
        let index = i.index(n as usize) as u64;
        let r = root(&l);
        let proof = inclusion_proof(&l, index).expect("proof");
        prop_assert!(verify_inclusion(&l[index as usize], index, n, &proof, &r).is_ok());
        let mut bad_root = r;
        bad_root[which.index(32)] ^= 1 << bit;
        prop_assert!(verify_inclusion(&l[index as usize], index, n, &proof, &bad_root).is_err());
        let other = wrong.index(n as usize) as u64;
        if other != index {
            prop_assert!(verify_inclusion(&l[other as usize], index, n, &proof, &r).is_err());
            prop_assert!(verify_inclusion(&l[index as usize], other, n, &proof, &r).is_err());
        }
        if !proof.is_empty() {
            let mut bad = proof.clone();
            let k = which.index(bad.len());
            bad[k][bit as usize] ^= 1;
            prop_assert!(verify_inclusion(&l[index as usize], index, n, &bad, &r).is_err());
            prop_assert!(verify_inclusion(&l[index as usize], index, n, &proof[1..], &r).is_err());
        }
        let mut longer = proof.clone();
        longer.push(r);
        prop_assert!(verify_inclusion(&l[index as usize], index, n, &longer, &r).is_err());
    }

    /// Real consistency proofs verify; changed ones never do.
    #[test]
    fn consistency_proofs_real_and_mutated(
        n in 1u64..300,
        m in any::<Index>(),
        which in any::<Index>(),
        bit in 0u8..8,
    ) {
        let l = leaves(n);
        let old = m.index(n as usize + 1) as u64;
        let (old_root, new_root) = (root(&l[..old as usize]), root(&l));
        let proof = consistency_proof(&l, old).expect("proof");
        prop_assert!(verify_consistency(old, n, &old_root, &new_root, &proof).is_ok());
        let mut bad_old = old_root;
        bad_old[which.index(32)] ^= 1 << bit;
        prop_assert!(verify_consistency(old, n, &bad_old, &new_root, &proof).is_err());
        if old > 0 {
            // From the empty tree anything is consistent; otherwise the new root is bound.
            let mut bad_new = new_root;
            bad_new[which.index(32)] ^= 1 << bit;
            prop_assert!(verify_consistency(old, n, &old_root, &bad_new, &proof).is_err());
        }
        if !proof.is_empty() {
            let mut bad = proof.clone();
            let k = which.index(bad.len());
            bad[k][bit as usize] ^= 1;
            prop_assert!(verify_consistency(old, n, &old_root, &new_root, &bad).is_err());
            prop_assert!(verify_consistency(old, n, &old_root, &new_root, &proof[1..]).is_err());
        }
        let mut longer = proof.clone();
        longer.push(new_root);
        prop_assert!(verify_consistency(old, n, &old_root, &new_root, &longer).is_err());
    }
}
