//! Opening sealed groups locally with the party's own age identity, which
//! never goes to the hub (DESIGN.md §3).

use std::path::Path;

use schakel_crypto::{CryptoError, GroupPlaintext};
use schakel_proto::v1 as pb;
use zeroize::Zeroizing;

use crate::ClientError;

/// An age X25519 identity (private key) of this party's function.
pub type AgeIdentity = age::x25519::Identity;

/// Why one sealed group could not be opened. Never carries key material or
/// content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// None of the identities opens it: the group is sealed to other keys
    /// (another function, another organisation, or a key rotated away).
    #[error("sealed to other keys: none of the given identities opens it")]
    OtherKeys,
    /// The ciphertext is damaged or not an age file.
    #[error("the sealed group is damaged or not an age file")]
    Damaged,
    /// The decrypted content is not a group document.
    #[error("the opened content is not a valid group document")]
    BadContent,
    /// The decrypted content names another group than the hub said; it is
    /// not trusted.
    #[error("the opened content belongs to another group than announced")]
    GroupMismatch,
    /// The unit was sealed for another transfer or request, purpose or
    /// addressee than the one asked for (the binding inside it says so): it
    /// was moved in the hub's database. Not trusted; nothing of it is used.
    #[error("the sealed unit belongs to another record, purpose or addressee than announced")]
    BindingMismatch,
    /// The unit carries no binding, so it cannot be shown to belong to the
    /// record asked for (only units sealed by an older hub lack one).
    #[error("the sealed unit carries no binding to a record")]
    Unbound,
}

impl From<CryptoError> for OpenError {
    fn from(e: CryptoError) -> Self {
        match e {
            CryptoError::NoMatchingIdentity => Self::OtherKeys,
            CryptoError::BadPlaintext => Self::BadContent,
            _ => Self::Damaged,
        }
    }
}

/// One sealed group after an attempt to open it.
#[derive(Debug)]
pub struct OpenedGroup {
    /// The group name the hub announced, e.g. `contact.youth`.
    pub group: String,
    /// The purpose the group is bound to.
    pub purpose: String,
    /// The recipient key ids it is sealed to.
    pub key_ids: Vec<String>,
    /// The plaintext (zeroized on drop), or why it could not be opened.
    pub result: Result<GroupPlaintext, OpenError>,
}

/// The names of the groups in one sealed unit, as the hub announced them:
/// `groups` when it holds several, else the one `group`.
pub fn unit_groups(unit: &pb::SealedGroup) -> Vec<&str> {
    if unit.groups.is_empty() {
        vec![unit.group.as_str()]
    } else {
        unit.groups.iter().map(String::as_str).collect()
    }
}

/// Opens every sealed unit with `identities` and returns one entry per
/// group, in order: a unit of several groups (one age file per purpose) is
/// opened once and yields each of its groups. A unit that cannot be opened
/// is reported in the entry of each of its groups; the others still open.
/// The group names and purpose sealed inside a unit must match the ones the
/// hub announced beside it; [`open_record_groups`] also checks the record
/// and addressee.
pub fn open_groups(units: &[pb::SealedGroup], identities: &[AgeIdentity]) -> Vec<OpenedGroup> {
    open_checked(units, identities, None)
}

/// As [`open_groups`], for the units of one record — the transfer or
/// expertise request `record` asked for, addressed to `recipient`
/// (`<OIN>/<function>`, see [`binding_party`]; `None` when the answer does
/// not name the addressee): every unit must carry a binding (sealed inside
/// it) to exactly that record, addressee, purpose and groups. A unit moved
/// from another record in the hub's database fails with
/// [`OpenError::BindingMismatch`].
pub fn open_record_groups(
    record: &str,
    recipient: Option<&str>,
    units: &[pb::SealedGroup],
    identities: &[AgeIdentity],
) -> Vec<OpenedGroup> {
    open_checked(units, identities, Some((record, recipient)))
}

fn open_checked(
    units: &[pb::SealedGroup],
    identities: &[AgeIdentity],
    record: Option<(&str, Option<&str>)>,
) -> Vec<OpenedGroup> {
    let mut out = Vec::new();
    for unit in units {
        let names = unit_groups(unit);
        let opened: Result<Vec<GroupPlaintext>, OpenError> =
            schakel_crypto::open_bound(&unit.ciphertext, identities, names.len())
                .map_err(OpenError::from)
                .and_then(|mut opened| {
                    // The names inside the ciphertext are authenticated; the
                    // ones next to it are not. They must agree, in order.
                    if !opened
                        .groups
                        .iter()
                        .map(|p| p.group.as_str())
                        .eq(names.iter().copied())
                    {
                        return Err(OpenError::GroupMismatch);
                    }
                    match (&opened.binding, record) {
                        (Some(b), _)
                            if b.purpose != unit.purpose
                                || !b.groups.iter().map(String::as_str).eq(names.iter().copied()) =>
                        {
                            Err(OpenError::BindingMismatch)
                        }
                        (Some(b), Some((id, to)))
                            if b.record != id || to.is_some_and(|to| b.recipient != to) =>
                        {
                            Err(OpenError::BindingMismatch)
                        }
                        (None, Some(_)) => Err(OpenError::Unbound),
                        _ => Ok(std::mem::take(&mut opened.groups)),
                    }
                });
        let entry = |group: &str, result| OpenedGroup {
            group: group.to_owned(),
            purpose: unit.purpose.clone(),
            key_ids: unit.key_ids.clone(),
            result,
        };
        match opened {
            Ok(plain) => out.extend(names.iter().zip(plain).map(|(n, p)| entry(n, Ok(p)))),
            Err(e) => out.extend(names.iter().map(|n| entry(n, Err(e.clone())))),
        }
    }
    out
}

/// The text form of a function (`participatiewet`, …), as the hub stores
/// and seals it; `unspecified` for a value this client does not know.
pub fn function_name(f: i32) -> &'static str {
    match pb::FunctionKind::try_from(f) {
        Ok(pb::FunctionKind::School) => "school",
        Ok(pb::FunctionKind::Doorstroompunt) => "doorstroompunt",
        Ok(pb::FunctionKind::Participatiewet) => "participatiewet",
        Ok(pb::FunctionKind::PrivacyOfficer) => "privacy_officer",
        Ok(pb::FunctionKind::Admin) => "admin",
        _ => "unspecified",
    }
}

/// A party as a sealed binding names it: `<OIN>/<function>`.
pub fn binding_party(p: &pb::PartyRef) -> String {
    format!("{}/{}", p.oin, function_name(p.function))
}

/// Reads an age identity file (`AGE-SECRET-KEY-1…` lines, `#` comments).
/// The file content is zeroized after parsing; errors never show it.
pub fn read_identities(path: &Path) -> Result<Vec<AgeIdentity>, ClientError> {
    let bytes = Zeroizing::new(std::fs::read(path).map_err(|source| ClientError::Read {
        path: path.to_owned(),
        source,
    })?);
    let text = std::str::from_utf8(&bytes).map_err(|_| ClientError::Identity {
        path: path.to_owned(),
        source: CryptoError::InvalidIdentity,
    })?;
    schakel_crypto::parse_identities(text).map_err(|source| ClientError::Identity {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use schakel_crypto::{PlainField, seal, seal_groups};

    use super::*;

    fn sealed(name: &str, inner: &str, to: &AgeIdentity) -> pb::SealedGroup {
        let plain = GroupPlaintext {
            group: inner.into(),
            fields: vec![PlainField {
                key: "postcode".into(),
                value: "9711 AB".into(),
            }],
        };
        pb::SealedGroup {
            group: name.into(),
            purpose: "handover.school_to_gemeente".into(),
            key_ids: vec!["k1".into()],
            ciphertext: seal(&plain, &[&to.to_public()]).unwrap(),
            groups: Vec::new(),
        }
    }

    fn plain(name: &str) -> GroupPlaintext {
        GroupPlaintext {
            group: name.into(),
            fields: vec![PlainField {
                key: "k".into(),
                value: format!("value of {name}"),
            }],
        }
    }

    fn unit(announced: &[&str], inside: &[&str], to: &AgeIdentity) -> pb::SealedGroup {
        let inside: Vec<GroupPlaintext> = inside.iter().map(|n| plain(n)).collect();
        pb::SealedGroup {
            group: String::new(),
            groups: announced.iter().map(|n| n.to_string()).collect(),
            purpose: "handover.school_to_gemeente".into(),
            key_ids: vec!["k1".into()],
            ciphertext: seal_groups(&inside, &[&to.to_public()]).unwrap(),
        }
    }

    #[test]
    fn a_unit_of_several_groups_yields_each_group_in_order() {
        let (mine, other) = (AgeIdentity::generate(), AgeIdentity::generate());
        let units = vec![
            unit(
                &["contact.youth", "skills", "meta.justifications"],
                &["contact.youth", "skills", "meta.justifications"],
                &mine,
            ),
            sealed("meta.decision", "meta.decision", &mine),
            unit(&["wishes", "development"], &["wishes", "development"], &other),
        ];
        let opened = open_groups(&units, std::slice::from_ref(&mine));
        let names: Vec<&str> = opened.iter().map(|o| o.group.as_str()).collect();
        assert_eq!(
            names,
            [
                "contact.youth",
                "skills",
                "meta.justifications",
                "meta.decision",
                "wishes",
                "development"
            ]
        );
        for o in &opened[..3] {
            assert_eq!(o.result.as_ref().unwrap(), &plain(&o.group));
        }
        assert!(opened[3].result.is_ok());
        for o in &opened[4..] {
            assert_eq!(o.result.as_ref().unwrap_err(), &OpenError::OtherKeys);
        }
    }

    #[test]
    fn a_unit_whose_content_differs_from_its_announcement_is_not_trusted() {
        let id = AgeIdentity::generate();
        let cases = [
            unit(&["skills", "wishes"], &["wishes", "skills"], &id),
            unit(&["skills", "wishes"], &["skills", "identity"], &id),
            unit(&["skills", "wishes"], &["skills", "wishes", "identity"], &id),
        ];
        let want = [
            OpenError::GroupMismatch,
            OpenError::GroupMismatch,
            OpenError::BadContent,
        ];
        for (u, want) in cases.iter().zip(want) {
            let opened = open_groups(std::slice::from_ref(u), std::slice::from_ref(&id));
            assert_eq!(opened.len(), 2);
            for o in opened {
                assert_eq!(o.result.unwrap_err(), want.clone());
            }
        }
    }

    #[test]
    fn opens_what_is_sealed_to_us_and_reports_the_rest() {
        let (mine, other) = (AgeIdentity::generate(), AgeIdentity::generate());
        let groups = vec![
            sealed("contact.youth", "contact.youth", &mine),
            sealed("skills", "skills", &other),
            sealed("wishes", "identity", &mine),
            pb::SealedGroup {
                group: "development".into(),
                ciphertext: b"not age".to_vec(),
                ..Default::default()
            },
        ];
        let opened = open_groups(&groups, std::slice::from_ref(&mine));
        assert_eq!(opened.len(), 4);
        let plain = opened[0].result.as_ref().unwrap();
        assert_eq!(plain.fields[0].value, "9711 AB");
        assert_eq!(opened[1].result.as_ref().unwrap_err(), &OpenError::OtherKeys);
        assert_eq!(opened[2].result.as_ref().unwrap_err(), &OpenError::GroupMismatch);
        assert_eq!(opened[3].result.as_ref().unwrap_err(), &OpenError::Damaged);
    }

    #[test]
    fn a_bad_identity_file_is_refused_without_echoing_it() {
        let dir = std::env::temp_dir().join(format!("schakel-client-id-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("identity.txt");
        std::fs::write(&path, "AGE-SECRET-KEY-1NOTAKEY\n").unwrap();
        let Err(e) = read_identities(&path) else {
            panic!("a bad identity file was accepted")
        };
        let e = e.to_string();
        assert!(!e.contains("NOTAKEY"), "{e}");
        let good = AgeIdentity::generate();
        use age::secrecy::ExposeSecret;
        std::fs::write(
            &path,
            format!("# created: now\n{}\n", good.to_string().expose_secret()),
        )
        .unwrap();
        assert_eq!(read_identities(&path).unwrap().len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
