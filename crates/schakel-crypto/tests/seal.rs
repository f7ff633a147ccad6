//! Sealing is purpose binding by keys (DESIGN.md §3): only the identities of
//! the functions a group was sealed to open it (R8, R9).

use age::x25519::Identity;
use schakel_crypto::{
    CryptoError, GroupPlaintext, PlainField, open, open_groups, parse_identities, parse_recipient, seal,
    seal_groups,
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

fn other_group() -> GroupPlaintext {
    GroupPlaintext {
        group: "school_career".into(),
        fields: vec![PlainField {
            key: "diploma".into(),
            value: "mbo-2 \u{2714}".into(),
        }],
    }
}

#[test]
fn several_groups_sealed_as_one_unit_open_in_order_for_every_recipient_only() {
    let (werk, sender, doorstroompunt) = (Identity::generate(), Identity::generate(), Identity::generate());
    let groups = [group(), other_group()];
    let sealed = seal_groups(&groups, &[&werk.to_public(), &sender.to_public()]).unwrap();
    for id in [&werk, &sender] {
        assert_eq!(open_groups(&sealed, std::slice::from_ref(id), 2).unwrap(), groups);
    }
    // R8/R9: one age file per purpose still opens only for its keys.
    assert_eq!(
        open_groups(&sealed, std::slice::from_ref(&doorstroompunt), 2).unwrap_err(),
        CryptoError::NoMatchingIdentity
    );
    // One X25519 stanza per key, not per group: the unit is one header.
    let two_files = seal(&groups[0], &[&werk.to_public(), &sender.to_public()])
        .unwrap()
        .len()
        + seal(&groups[1], &[&werk.to_public(), &sender.to_public()])
            .unwrap()
            .len();
    assert!(sealed.len() < two_files, "{} !< {two_files}", sealed.len());
    assert!(!sealed.windows(7).any(|w| w == b"9711 AB"));
}

#[test]
fn a_unit_must_hold_the_announced_number_of_groups() {
    let id = Identity::generate();
    let groups = [group(), other_group()];
    let sealed = seal_groups(&groups, &[&id.to_public()]).unwrap();
    for wrong in [1, 3] {
        assert_eq!(
            open_groups(&sealed, std::slice::from_ref(&id), wrong).unwrap_err(),
            CryptoError::BadPlaintext,
            "announced {wrong}"
        );
    }
}

#[test]
fn a_unit_of_one_group_is_an_ordinary_sealed_group() {
    let id = Identity::generate();
    let sealed = seal_groups(&[group()], &[&id.to_public()]).unwrap();
    assert_eq!(open(&sealed, std::slice::from_ref(&id)).unwrap(), group());
    assert_eq!(
        open_groups(&sealed, std::slice::from_ref(&id), 1).unwrap(),
        vec![group()]
    );
    assert_eq!(
        seal_groups(&[], &[&id.to_public()]).unwrap_err(),
        CryptoError::Seal
    );
    assert_eq!(
        seal_groups(&[group(), other_group()], &[]).unwrap_err(),
        CryptoError::NoRecipients
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

    #[test]
    fn any_groups_round_trip_as_one_unit(
        groups in proptest::collection::vec(("[a-z.]{1,20}", proptest::collection::vec(("[a-z_]{1,12}", ".{0,40}"), 0..4)), 1..6)
    ) {
        let id = Identity::generate();
        let groups: Vec<GroupPlaintext> = groups
            .into_iter()
            .map(|(group, fields)| GroupPlaintext {
                group,
                fields: fields.into_iter().map(|(key, value)| PlainField { key, value }).collect(),
            })
            .collect();
        let sealed = seal_groups(&groups, &[&id.to_public()]).unwrap();
        proptest::prop_assert_eq!(open_groups(&sealed, &[id], groups.len()).unwrap(), groups);
    }
}

/// A bound unit carries what it was sealed for inside the age file, and
/// every way of opening it reads it (issue 14).
#[test]
fn a_bound_unit_opens_with_its_binding_in_every_form() {
    use schakel_crypto::{SealBinding, open, open_bound, open_groups, seal_bound};
    let id = age::x25519::Identity::generate();
    let one = GroupPlaintext {
        group: "wishes".into(),
        fields: vec![PlainField {
            key: "sector".into(),
            value: "techniek".into(),
        }],
    };
    let binding = SealBinding {
        record: "01a24ec5-43a4-713a-9bed-6dcf88ac8c2f".into(),
        purpose: "handover.school_to_gemeente".into(),
        recipient: "00000001003214345000/participatiewet".into(),
        groups: vec!["wishes".into()],
    };
    let sealed = seal_bound(std::slice::from_ref(&one), &binding, &[&id.to_public()]).unwrap();
    let unit = open_bound(&sealed, std::slice::from_ref(&id), 1).unwrap();
    assert_eq!(unit.binding.as_ref(), Some(&binding));
    assert_eq!(unit.groups, vec![one.clone()]);
    assert_eq!(open(&sealed, std::slice::from_ref(&id)).unwrap(), one);
    assert_eq!(
        open_groups(&sealed, std::slice::from_ref(&id), 1).unwrap(),
        vec![one.clone()]
    );
    // A unit sealed without a binding opens without one.
    let plain = schakel_crypto::seal(&one, &[&id.to_public()]).unwrap();
    assert_eq!(
        open_bound(&plain, std::slice::from_ref(&id), 1).unwrap().binding,
        None
    );
    // The count announced must match.
    assert!(open_bound(&sealed, std::slice::from_ref(&id), 2).is_err());
}
