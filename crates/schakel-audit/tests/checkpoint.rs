//! Signed notes and checkpoints: known answers from Go's `golang.org/x/mod/sumdb/note`
//! and the C2SP signed-note spec, then one negative vector per malformation.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use schakel_audit::{AuditError, Checkpoint, EMPTY_ROOT, Signer, Verifier};

// Go's sumdb/note example key and note.
const GO_SKEY_B64: &str = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"; // 0x01 || seed
const GO_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const GO_TEXT: &str =
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const GO_SIG: &str = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

// The C2SP signed-note spec's example.
const SPEC_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
const SPEC_NOTE: &str = "This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

const ORIGIN: &str = "schakel.example/audit";
const ROOT_B64: &str = "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg="; // the 8-leaf reference root

fn go_seed() -> [u8; 32] {
    let raw = B64.decode(GO_SKEY_B64).expect("base64");
    assert_eq!(raw[0], 1);
    raw[1..].try_into().expect("32 bytes")
}

fn signer() -> Signer {
    Signer::from_seed(ORIGIN, &[7u8; 32]).expect("valid name")
}

#[test]
fn go_note_signature_is_reproduced_byte_for_byte() {
    let signer = Signer::from_seed("PeterNeumann", &go_seed()).expect("signer");
    assert_eq!(signer.verifier().vkey(), GO_VKEY);
    let note = signer.sign_note(GO_TEXT).expect("sign");
    assert_eq!(note, format!("{GO_TEXT}\n{GO_SIG}"));
}

#[test]
fn go_note_opens() {
    let verifier = Verifier::from_vkey(GO_VKEY).expect("vkey");
    assert_eq!(verifier.name(), "PeterNeumann");
    assert_eq!(verifier.vkey(), GO_VKEY);
    let note = format!("{GO_TEXT}\n{GO_SIG}");
    assert_eq!(verifier.open_note(&note).expect("opens"), GO_TEXT);
}

#[test]
fn spec_example_note_opens() {
    let verifier = Verifier::from_vkey(SPEC_VKEY).expect("vkey");
    assert_eq!(
        verifier.open_note(SPEC_NOTE).expect("opens"),
        "This is an example message.\n"
    );
}

#[test]
fn note_with_an_extra_unknown_signature_opens() {
    let go = Verifier::from_vkey(GO_VKEY).expect("vkey");
    let other = Signer::from_seed("witness.example", &[9u8; 32]).expect("signer");
    let witness_line = other.sign_note(GO_TEXT).expect("sign");
    let witness_line = witness_line.rsplit_once("\n\n").expect("split").1;
    let note = format!("{GO_TEXT}\n{witness_line}{GO_SIG}");
    assert_eq!(go.open_note(&note).expect("opens"), GO_TEXT);
}

#[test]
fn checkpoint_round_trips() {
    let signer = signer();
    let root: [u8; 32] = B64.decode(ROOT_B64).expect("b64").try_into().expect("32");
    let mut checkpoint = Checkpoint::new(ORIGIN, 8, root);
    let note = signer.sign(&checkpoint).expect("sign");
    assert!(
        note.starts_with(&format!("{ORIGIN}\n8\n{ROOT_B64}\n\n— {ORIGIN} ")),
        "{note}"
    );
    assert_eq!(
        Checkpoint::open(&note, &signer.verifier()).expect("opens"),
        checkpoint
    );

    checkpoint.extensions = vec!["time 1767225600".to_owned()];
    let note = signer.sign(&checkpoint).expect("sign");
    assert_eq!(
        Checkpoint::open(&note, &signer.verifier()).expect("opens"),
        checkpoint
    );

    let empty = Checkpoint::new(ORIGIN, 0, EMPTY_ROOT);
    let note = signer.sign(&empty).expect("sign");
    assert_eq!(Checkpoint::open(&note, &signer.verifier()).expect("opens"), empty);
}

#[test]
fn verifier_key_round_trips() {
    let v = signer().verifier();
    assert_eq!(Verifier::from_vkey(&v.vkey()).expect("parses"), v);
}

#[test]
fn signer_refuses_another_origin() {
    let checkpoint = Checkpoint::new("other.example/log", 1, EMPTY_ROOT);
    assert_eq!(signer().sign(&checkpoint), Err(AuditError::OriginMismatch));
}

#[test]
fn signer_refuses_invalid_key_names() {
    for name in ["", "with space", "with+plus", "tab\there"] {
        assert!(Signer::from_seed(name, &[1u8; 32]).is_err(), "{name:?}");
    }
}

// ---- negative vectors: checkpoint bodies, validly signed, each wrong in one way ----

fn open_body(body: &str) -> Result<Checkpoint, AuditError> {
    let signer = signer();
    let note = signer
        .sign_note(body)
        .expect("note text is fine, the checkpoint is not");
    Checkpoint::open(&note, &signer.verifier())
}

macro_rules! bad_checkpoint {
    ($($name:ident: $body:expr,)*) => {$(
        #[test]
        fn $name() {
            let body: String = $body;
            assert!(
                matches!(open_body(&body), Err(AuditError::MalformedCheckpoint(_))),
                "{body:?} gave {:?}", open_body(&body)
            );
        }
    )*};
}

bad_checkpoint! {
    checkpoint_size_with_leading_zero: format!("{ORIGIN}\n08\n{ROOT_B64}\n"),
    checkpoint_size_with_plus_sign: format!("{ORIGIN}\n+8\n{ROOT_B64}\n"),
    checkpoint_size_negative: format!("{ORIGIN}\n-8\n{ROOT_B64}\n"),
    checkpoint_size_empty: format!("{ORIGIN}\n\n{ROOT_B64}\n"),
    checkpoint_size_overflows_u64: format!("{ORIGIN}\n18446744073709551616\n{ROOT_B64}\n"),
    checkpoint_size_with_space: format!("{ORIGIN}\n 8\n{ROOT_B64}\n"),
    checkpoint_size_hex: format!("{ORIGIN}\n0x8\n{ROOT_B64}\n"),
    checkpoint_root_not_base64: format!("{ORIGIN}\n8\n!!!!{}\n", &ROOT_B64[4..]),
    checkpoint_root_missing_padding: format!("{ORIGIN}\n8\n{}\n", ROOT_B64.trim_end_matches('=')),
    checkpoint_root_url_safe_alphabet: format!("{ORIGIN}\n8\n{}\n", ROOT_B64.replace('/', "_").replace('+', "-")),
    checkpoint_root_noncanonical_trailing_bits: format!("{ORIGIN}\n8\n{}h=\n", &ROOT_B64[..42]),
    checkpoint_root_31_bytes: format!("{ORIGIN}\n8\n{}\n", B64.encode([1u8; 31])),
    checkpoint_root_33_bytes: format!("{ORIGIN}\n8\n{}\n", B64.encode([1u8; 33])),
    checkpoint_root_hex_instead_of_base64: format!("{ORIGIN}\n8\n{}\n", hex::encode([1u8; 32])),
    checkpoint_missing_root_line: format!("{ORIGIN}\n8\n"),
    checkpoint_missing_size_line: format!("{ORIGIN}\n"),
    checkpoint_empty_origin: format!("\n8\n{ROOT_B64}\n"),
    checkpoint_empty_extension_line: format!("{ORIGIN}\n8\n{ROOT_B64}\next\n\nmore\n"),
}

#[test]
fn checkpoint_origin_differs_from_key_name() {
    let body = format!("other.example/log\n8\n{ROOT_B64}\n");
    assert_eq!(open_body(&body), Err(AuditError::OriginMismatch));
}

#[test]
fn checkpoint_root_noncanonical_vector_is_really_noncanonical() {
    // The vector above must differ from the canonical text only in trailing bits.
    let bad = format!("{}h=", &ROOT_B64[..42]);
    assert_ne!(bad, ROOT_B64);
    assert_eq!(&bad[..42], &ROOT_B64[..42]);
}

// ---- negative vectors: notes ----

fn good_note() -> String {
    signer()
        .sign(&Checkpoint::new(ORIGIN, 8, EMPTY_ROOT))
        .expect("sign")
}

fn open(note: &str) -> Result<Checkpoint, AuditError> {
    Checkpoint::open(note, &signer().verifier())
}

#[test]
fn good_note_opens() {
    open(&good_note()).expect("the base of the negative vectors is valid");
}

#[test]
fn note_missing_final_newline() {
    let note = good_note();
    assert!(matches!(
        open(note.trim_end_matches('\n')),
        Err(AuditError::MalformedNote(_))
    ));
}

#[test]
fn note_without_blank_line_before_signatures() {
    let note = good_note().replacen("\n\n", "\n", 1);
    assert!(matches!(open(&note), Err(AuditError::MalformedNote(_))));
}

#[test]
fn note_without_signatures() {
    let note = good_note();
    let text = note.split_once("\n\n").expect("split").0;
    assert!(matches!(
        open(&format!("{text}\n\n")),
        Err(AuditError::MalformedNote(_))
    ));
}

#[test]
fn note_signature_line_with_hyphen_instead_of_em_dash() {
    let note = good_note().replace('—', "-");
    assert!(matches!(open(&note), Err(AuditError::MalformedNote(_))));
}

#[test]
fn note_signature_line_without_space_after_dash() {
    let note = good_note().replace("— ", "—");
    assert!(matches!(open(&note), Err(AuditError::MalformedNote(_))));
}

#[test]
fn note_signature_not_base64() {
    let note = good_note();
    let (head, sig) = note.rsplit_once(' ').expect("split");
    let note = format!("{head} *{}", &sig[1..]);
    assert!(matches!(open(&note), Err(AuditError::MalformedNote(_))));
}

#[test]
fn note_signature_too_short() {
    let note = good_note();
    let head = note.rsplit_once(' ').expect("split").0;
    let note = format!("{head} {}\n", B64.encode([1, 2, 3, 4]));
    assert!(matches!(open(&note), Err(AuditError::MalformedNote(_))));
}

#[test]
fn note_signature_truncated_to_63_bytes() {
    let note = good_note();
    let (head, sig) = note.rsplit_once(' ').expect("split");
    let raw = B64.decode(sig.trim_end()).expect("b64");
    let note = format!("{head} {}\n", B64.encode(&raw[..raw.len() - 1]));
    assert!(open(&note).is_err());
}

#[test]
fn note_signature_bit_flipped() {
    let note = good_note();
    let (head, sig) = note.rsplit_once(' ').expect("split");
    let mut raw = B64.decode(sig.trim_end()).expect("b64");
    raw[10] ^= 1;
    let note = format!("{head} {}\n", B64.encode(raw));
    assert_eq!(open(&note), Err(AuditError::BadSignature));
}

#[test]
fn note_text_changed_after_signing() {
    let note = good_note().replacen("\n8\n", "\n9\n", 1);
    assert_eq!(open(&note), Err(AuditError::BadSignature));
}

#[test]
fn note_signed_only_by_unknown_key() {
    let other = Signer::from_seed(ORIGIN, &[8u8; 32]).expect("signer");
    let note = other.sign(&Checkpoint::new(ORIGIN, 8, EMPTY_ROOT)).expect("sign");
    assert_eq!(open(&note), Err(AuditError::UnknownSigner));
}

#[test]
fn note_signed_by_key_with_another_name() {
    let other = Signer::from_seed("other.example/log", &[7u8; 32]).expect("signer");
    let note = other
        .sign_note(&format!("{ORIGIN}\n8\n{}\n", B64.encode(EMPTY_ROOT)))
        .expect("sign");
    assert_eq!(open(&note), Err(AuditError::UnknownSigner));
}

#[test]
fn note_with_carriage_return() {
    let note = good_note().replace('\n', "\r\n");
    assert!(matches!(open(&note), Err(AuditError::MalformedNote(_))));
}

#[test]
fn note_with_control_character_in_text() {
    let note = good_note().replacen(ORIGIN, "schakel.example/au\u{7}dit", 1);
    assert!(matches!(open(&note), Err(AuditError::MalformedNote(_))));
}

#[test]
fn note_signature_with_invalid_key_name() {
    let note = good_note().replacen(&format!("— {ORIGIN} "), "— bad+name ", 1);
    assert!(matches!(open(&note), Err(AuditError::MalformedNote(_))));
}

#[test]
fn note_with_trailing_text_after_signatures() {
    let note = format!("{}junk", good_note());
    assert!(matches!(open(&note), Err(AuditError::MalformedNote(_))));
}

#[test]
fn note_with_more_than_100_signatures() {
    let note = good_note();
    let (text, sig) = note.split_once("\n\n").expect("split");
    let other = Signer::from_seed("w", &[3u8; 32]).expect("signer");
    let line = other.sign_note("x\n").expect("sign");
    let line = line.rsplit_once("\n\n").expect("split").1;
    let note = format!("{text}\n\n{}{sig}", line.repeat(100));
    assert!(matches!(open(&note), Err(AuditError::MalformedNote(_))));
}

// ---- negative vectors: verifier keys ----

macro_rules! bad_vkey {
    ($($name:ident: $vkey:expr,)*) => {$(
        #[test]
        fn $name() {
            let vkey: String = $vkey;
            assert!(matches!(Verifier::from_vkey(&vkey), Err(AuditError::MalformedKey(_))), "{vkey}");
        }
    )*};
}

bad_vkey! {
    vkey_hash_does_not_match: GO_VKEY.replace("c74f20a3", "c74f20a4"),
    vkey_hash_uppercase: GO_VKEY.replace("c74f20a3", "C74F20A3"),
    vkey_hash_too_short: GO_VKEY.replace("c74f20a3", "c74f20a"),
    vkey_name_changed: GO_VKEY.replace("PeterNeumann", "PeterNeuman"),
    vkey_missing_key: "PeterNeumann+c74f20a3".to_owned(),
    vkey_empty_name: GO_VKEY.replace("PeterNeumann", ""),
    vkey_key_not_base64: "PeterNeumann+c74f20a3+!!!".to_owned(),
    vkey_wrong_algorithm: format!("PeterNeumann+c74f20a3+{}", B64.encode([2u8; 33])),
    vkey_key_31_bytes: format!("PeterNeumann+c74f20a3+{}", B64.encode([1u8; 32])),
}
