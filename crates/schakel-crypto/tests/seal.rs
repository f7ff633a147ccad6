//! Sealing is purpose binding by keys (DESIGN.md §3): only the identities of
//! the functions a group was sealed to open it (R8, R9).

use age::x25519::Identity;
use schakel_crypto::{
    CryptoError, GroupPlaintext, PlainField, open, parse_identities, parse_recipient, seal,
};

fn group() -> GroupPlaintext {
    GroupPlaintext {
        group: "contact.youth".into(),
        fields: vec![
            PlainField {
                key: "postcode".into(),
                value: "9711 AB".into(),
            },
            PlainField {
                key: "city".into(),
                value: "Groningen \"stad\" \u{e9}\n".into(),
            },
        ],
    }
}

#[test]
fn every_recipient_opens_and_nobody_else() {
    let (werk, sender, doorstroompunt) = (Identity::generate(), Identity::generate(), Identity::generate());
    let sealed = seal(&group(), &[&werk.to_public(), &sender.to_public()]).unwrap();
    assert_eq!(open(&sealed, std::slice::from_ref(&werk)).unwrap(), group());
    assert_eq!(open(&sealed, std::slice::from_ref(&sender)).unwrap(), group());
    // R9: another function of the same gemeente holds another key.
    assert_eq!(
        open(&sealed, std::slice::from_ref(&doorstroompunt)).unwrap_err(),
        CryptoError::NoMatchingIdentity
    );
    // The plaintext is not visible in the ciphertext.
    assert!(!sealed.windows(7).any(|w| w == b"9711 AB"));
}

#[test]
fn an_old_identity_in_a_list_still_opens_what_was_sealed_to_it() {
    let (old, new) = (Identity::generate(), Identity::generate());
    let sealed = seal(&group(), &[&old.to_public()]).unwrap();
    assert_eq!(open(&sealed, &[new, old]).unwrap(), group());
}

#[test]
fn sealing_needs_a_recipient() {
    assert_eq!(seal(&group(), &[]).unwrap_err(), CryptoError::NoRecipients);
}

#[test]
fn damaged_ciphertext_is_refused_not_panicked_on() {
    let id = Identity::generate();
    let mut sealed = seal(&group(), &[&id.to_public()]).unwrap();
    let n = sealed.len();
    sealed[n - 5] ^= 1;
    assert_eq!(
        open(&sealed, std::slice::from_ref(&id)).unwrap_err(),
        CryptoError::Corrupt
    );
    assert_eq!(
        open(b"not age", std::slice::from_ref(&id)).unwrap_err(),
        CryptoError::Corrupt
    );
    assert_eq!(
        open(&[], std::slice::from_ref(&id)).unwrap_err(),
        CryptoError::Corrupt
    );
}

#[test]
fn recipients_and_identity_files_parse() {
    use age::secrecy::ExposeSecret;
    let id = Identity::generate();
    let file = format!(
        "# created: today\n# public key: {}\n{}\n\n",
        id.to_public(),
        id.to_string().expose_secret()
    );
    let ids = parse_identities(&file).unwrap();
    assert_eq!(ids.len(), 1);
    assert!(parse_recipient(&id.to_public().to_string()).is_ok());
    assert_eq!(
        parse_recipient("age1nope").unwrap_err(),
        CryptoError::InvalidRecipient
    );
    assert_eq!(
        parse_identities("# nothing\n").err(),
        Some(CryptoError::InvalidIdentity)
    );
    assert_eq!(
        parse_identities("garbage").err(),
        Some(CryptoError::InvalidIdentity)
    );
}

#[test]
fn debug_never_shows_values() {
    let s = format!("{:?}", group());
    assert!(s.contains("postcode"));
    assert!(!s.contains("9711"));
    assert!(!s.contains("Groningen"));
}

proptest::proptest! {
    #[test]
    fn round_trip_any_text(name in "[a-z.]{1,20}", fields in proptest::collection::vec(("[a-z_]{1,12}", ".{0,40}"), 0..8)) {
        let id = Identity::generate();
        let g = GroupPlaintext {
            group: name,
            fields: fields.into_iter().map(|(key, value)| PlainField { key, value }).collect(),
        };
        let sealed = seal(&g, &[&id.to_public()]).unwrap();
        proptest::prop_assert_eq!(open(&sealed, &[id]).unwrap(), g);
    }
}
