//! Purposes: registered processing activities with a legal basis (domain.md §4).

use std::fmt;
use std::str::FromStr;

use crate::DomainError;

/// The id of a purpose (*verwerkingsdoel*), e.g. `handover.school_to_gemeente`.
///
/// Purposes are policy data (`policy/*.toml`), so this is a validated name and
/// not a closed enum: two or more lower-case segments of `a-z`, `0-9` and `_`,
/// separated by dots. Every stored field, transfer and audit entry names one.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PurposeId(String);

impl PurposeId {
    /// The school hands a youth who has left school over to the gemeente (R4).
    pub const HANDOVER_SCHOOL_TO_GEMEENTE: &'static str = "handover.school_to_gemeente";
    /// The school asks the gemeente to support a pupil during school (R10).
    pub const SUPPORT_DURING_SCHOOL: &'static str = "support.during_school";
    /// The Doorstroompunt hands a youth over to the Participatiewet side (R5, R8).
    pub const HANDOVER_DOORSTROOMPUNT_TO_GEMEENTE: &'static str = "handover.doorstroompunt_to_gemeente";
    /// The gemeente hands a youth to the Doorstroompunt, which takes over
    /// guidance back to school (R7).
    pub const HANDOVER_GEMEENTE_TO_DOORSTROOMPUNT: &'static str = "handover.gemeente_to_doorstroompunt";
    /// The gemeente asks the Doorstroompunt whether return to school is possible (R7).
    pub const EXPERTISE_REQUEST: &'static str = "expertise.request";
    /// The Doorstroompunt answers an open expertise request (R7).
    pub const EXPERTISE_ADVICE: &'static str = "expertise.advice";

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn valid_segment(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && s.as_bytes()[0].is_ascii_lowercase()
}

impl FromStr for PurposeId {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let segments: Vec<&str> = s.split('.').collect();
        if s.len() > 100 || segments.len() < 2 || !segments.iter().all(|seg| valid_segment(seg)) {
            return Err(DomainError::new(
                "purpose",
                "must be two or more lower-case words separated by dots, e.g. handover.school_to_gemeente",
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

impl TryFrom<String> for PurposeId {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl TryFrom<&str> for PurposeId {
    type Error = DomainError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<PurposeId> for String {
    fn from(v: PurposeId) -> Self {
        v.0
    }
}

impl fmt::Display for PurposeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PurposeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PurposeId({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purpose_ids_parse() {
        for s in [
            PurposeId::HANDOVER_SCHOOL_TO_GEMEENTE,
            PurposeId::SUPPORT_DURING_SCHOOL,
            PurposeId::HANDOVER_DOORSTROOMPUNT_TO_GEMEENTE,
            PurposeId::HANDOVER_GEMEENTE_TO_DOORSTROOMPUNT,
            PurposeId::EXPERTISE_REQUEST,
            PurposeId::EXPERTISE_ADVICE,
        ] {
            assert_eq!(s.parse::<PurposeId>().unwrap().as_str(), s);
        }
        for s in [
            "",
            "handover",
            "Handover.x",
            "a..b",
            "a.b.",
            ".a.b",
            "a.b-c",
            "1a.b",
        ] {
            assert_eq!(s.parse::<PurposeId>().unwrap_err().field, "purpose", "{s}");
        }
    }
}
