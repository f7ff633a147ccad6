//! Field groups and field paths of the overgangsdocument (domain.md §5).

use std::fmt;
use std::str::FromStr;

use crate::DomainError;

/// A group of fields of the overgangsdocument. Groups are the unit of consent
/// scope, of purpose binding and of sealing (DESIGN.md §3): each group is
/// encrypted separately to the recipient function(s) that may open it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum FieldGroup {
    /// `identity`: BSN, names, date of birth.
    Identity,
    /// `contact.youth`: the youth's address, phone, e-mail.
    ContactYouth,
    /// `contact.school`: the school, its BRIN, contact person, mentor.
    ContactSchool,
    /// `school_career`: school type, programme, level, dates, diploma, startkwalificatie.
    SchoolCareer,
    /// `skills`: skills, work experience, internships, certificates.
    Skills,
    /// `wishes`: desired work, sector, hours.
    Wishes,
    /// `support_needs`: functional support needs (never medical, R16).
    SupportNeeds,
    /// `development`: development options (leerwerktraject, ontwikkelpad).
    Development,
    /// `doorstroompunt.history`: absence, vsv registration, guidance history (R8).
    DoorstroompuntHistory,
}

impl FieldGroup {
    /// All groups, in catalogue order.
    pub const ALL: [FieldGroup; 9] = [
        Self::Identity,
        Self::ContactYouth,
        Self::ContactSchool,
        Self::SchoolCareer,
        Self::Skills,
        Self::Wishes,
        Self::SupportNeeds,
        Self::Development,
        Self::DoorstroompuntHistory,
    ];

    /// The stable text form used in field paths, files, the database and the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Identity => "identity",
            Self::ContactYouth => "contact.youth",
            Self::ContactSchool => "contact.school",
            Self::SchoolCareer => "school_career",
            Self::Skills => "skills",
            Self::Wishes => "wishes",
            Self::SupportNeeds => "support_needs",
            Self::Development => "development",
            Self::DoorstroompuntHistory => "doorstroompunt.history",
        }
    }
}

impl FromStr for FieldGroup {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|g| g.as_str() == s)
            .ok_or(DomainError::new(
                "group",
                "must be one of identity, contact.youth, contact.school, school_career, skills, wishes, \
             support_needs, development, doorstroompunt.history",
            ))
    }
}

impl TryFrom<String> for FieldGroup {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<FieldGroup> for String {
    fn from(g: FieldGroup) -> Self {
        g.as_str().to_owned()
    }
}

impl fmt::Display for FieldGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether `s` is a valid field name: lower-case `a-z`, `0-9`, `_`, starting with a letter.
pub(crate) fn valid_field_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.as_bytes()[0].is_ascii_lowercase()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// A field of the overgangsdocument: `group.field`, e.g. `contact.youth.postcode`.
///
/// Groups may themselves contain a dot (`contact.youth`), so the group is the
/// longest known group name the path starts with; the rest is one field name.
/// Whether the field exists is the field catalogue's business (schakel-policy).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FieldPath {
    group: FieldGroup,
    field: String,
}

impl FieldPath {
    /// A path from a group and a field name.
    pub fn new(group: FieldGroup, field: &str) -> Result<Self, DomainError> {
        if !valid_field_name(field) {
            return Err(DomainError::new(
                "field_path",
                "field name must be lower-case letters, digits or _ and start with a letter",
            ));
        }
        Ok(Self {
            group,
            field: field.to_owned(),
        })
    }

    /// The group this field belongs to.
    pub fn group(&self) -> FieldGroup {
        self.group
    }

    /// The field name within its group.
    pub fn field(&self) -> &str {
        &self.field
    }
}

impl FromStr for FieldPath {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Longest group prefix first, so `contact.youth.x` is not read as group `contact`.
        let mut groups = FieldGroup::ALL;
        groups.sort_by_key(|g| std::cmp::Reverse(g.as_str().len()));
        for g in groups {
            if let Some(rest) = s.strip_prefix(g.as_str()).and_then(|r| r.strip_prefix('.')) {
                return Self::new(g, rest);
            }
        }
        Err(DomainError::new(
            "field_path",
            "must be a known group followed by .field_name",
        ))
    }
}

impl TryFrom<String> for FieldPath {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<FieldPath> for String {
    fn from(p: FieldPath) -> Self {
        p.to_string()
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.group.as_str(), self.field)
    }
}

impl fmt::Debug for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FieldPath({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_round_trip() {
        for g in FieldGroup::ALL {
            assert_eq!(g.as_str().parse::<FieldGroup>().unwrap(), g);
        }
        assert_eq!("contact".parse::<FieldGroup>().unwrap_err().field, "group");
    }

    #[test]
    fn field_paths_take_the_longest_group() {
        let p: FieldPath = "contact.youth.postcode".parse().unwrap();
        assert_eq!(p.group(), FieldGroup::ContactYouth);
        assert_eq!(p.field(), "postcode");
        assert_eq!(p.to_string(), "contact.youth.postcode");
        let p: FieldPath = "doorstroompunt.history.absence".parse().unwrap();
        assert_eq!(p.group(), FieldGroup::DoorstroompuntHistory);
        for bad in [
            "contact.postcode",
            "identity",
            "identity.",
            "identity.a.b",
            "nope.x",
            "identity.Bsn",
        ] {
            assert_eq!(bad.parse::<FieldPath>().unwrap_err().field, "field_path", "{bad}");
        }
    }
}
