//! Kinds of organisation and the functions an organisation performs.

use std::fmt;
use std::str::FromStr;

use crate::DomainError;

/// What kind of organisation a party is (domain.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    /// *Praktijkonderwijs* school.
    ProSchool,
    /// *Voortgezet speciaal onderwijs* school.
    VsoSchool,
    /// *mbo-instelling* (vocational college).
    MboSchool,
    /// A gemeente (municipality); hosts the Doorstroompunt and Participatiewet functions.
    Gemeente,
    /// The operator of the hub; registers organisations. Never a party to case data.
    Admin,
    /// An *uitvoeringsorganisatie*: an organisation that carries out a
    /// gemeente's Participatiewet or Doorstroompunt task under a recorded
    /// mandate (a regional werkbedrijf, a shared service; R9). It has no CBS
    /// gemeentecode and receives data only while a mandate holds.
    Uitvoeringsorganisatie,
}

impl OrgKind {
    /// All kinds, in a stable order.
    pub const ALL: [OrgKind; 6] = [
        Self::ProSchool,
        Self::VsoSchool,
        Self::MboSchool,
        Self::Gemeente,
        Self::Admin,
        Self::Uitvoeringsorganisatie,
    ];

    /// The stable text form used in files, the database and the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ProSchool => "pro_school",
            Self::VsoSchool => "vso_school",
            Self::MboSchool => "mbo_school",
            Self::Gemeente => "gemeente",
            Self::Admin => "admin",
            Self::Uitvoeringsorganisatie => "uitvoeringsorganisatie",
        }
    }

    /// Whether this is a school kind that may send handovers (R4, R10, R18:
    /// hbo/wo are deliberately absent).
    pub const fn is_school(self) -> bool {
        matches!(self, Self::ProSchool | Self::VsoSchool | Self::MboSchool)
    }

    /// Which functions an organisation of this kind may hold. A school cannot
    /// hold the Participatiewet function; a gemeente holds no school function;
    /// the admin kind holds only `admin` (R9: functions are separate purposes).
    pub fn allows_function(self, f: FunctionKind) -> bool {
        use FunctionKind as F;
        match self {
            // A contactschool is a regional partner (domain.md §7).
            Self::ProSchool | Self::VsoSchool | Self::MboSchool => {
                matches!(f, F::School | F::PrivacyOfficer | F::RegionalPartner)
            }
            // The contactgemeente and centrumgemeenten are regional partners.
            Self::Gemeente => matches!(
                f,
                F::Doorstroompunt | F::Participatiewet | F::PrivacyOfficer | F::RegionalPartner
            ),
            Self::Uitvoeringsorganisatie => {
                matches!(f, F::Doorstroompunt | F::Participatiewet | F::PrivacyOfficer)
            }
            Self::Admin => matches!(f, F::Admin),
        }
    }
}

impl FromStr for OrgKind {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or(DomainError::new(
                "kind",
                "must be one of pro_school, vso_school, mbo_school, gemeente, admin, uitvoeringsorganisatie",
            ))
    }
}

impl fmt::Display for OrgKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A function an organisation performs. Parties are organisation × function:
/// each function has its own legal purposes and its own age keys, so a
/// doorstroomcoach and a werkcoach of one gemeente cannot read each other's
/// data (R9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FunctionKind {
    /// A school's career guidance; sends overgangsdocumenten (R4, R10).
    School,
    /// The Doorstroompunt (formerly RMC) of a gemeente (R3, R5, R7, R8).
    Doorstroompunt,
    /// The gemeente's work side executing Participatiewet art. 7a.
    Participatiewet,
    /// The privacy officer (FG) of an organisation; reads its own audit trail.
    PrivacyOfficer,
    /// The hub operator's administrative identity.
    Admin,
    /// A regional partner of a Doorstroompuntregio (contactgemeente,
    /// contactschool, centrumgemeente): reads the region's numbers, never a
    /// case (R13, R17).
    RegionalPartner,
}

impl FunctionKind {
    /// All functions, in a stable order.
    pub const ALL: [FunctionKind; 6] = [
        Self::School,
        Self::Doorstroompunt,
        Self::Participatiewet,
        Self::PrivacyOfficer,
        Self::Admin,
        Self::RegionalPartner,
    ];

    /// The stable text form used in files, the database and the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::School => "school",
            Self::Doorstroompunt => "doorstroompunt",
            Self::Participatiewet => "participatiewet",
            Self::PrivacyOfficer => "privacy_officer",
            Self::Admin => "admin",
            Self::RegionalPartner => "regional_partner",
        }
    }
}

impl FromStr for FunctionKind {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or(DomainError::new(
                "function",
                "must be one of school, doorstroompunt, participatiewet, privacy_officer, admin, regional_partner",
            ))
    }
}

impl fmt::Display for FunctionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_forms_round_trip() {
        for k in OrgKind::ALL {
            assert_eq!(k.as_str().parse::<OrgKind>().unwrap(), k);
        }
        for f in FunctionKind::ALL {
            assert_eq!(f.as_str().parse::<FunctionKind>().unwrap(), f);
        }
    }

    #[test]
    fn r9_functions_belong_to_kinds() {
        assert!(OrgKind::Gemeente.allows_function(FunctionKind::Participatiewet));
        assert!(OrgKind::Gemeente.allows_function(FunctionKind::Doorstroompunt));
        assert!(!OrgKind::MboSchool.allows_function(FunctionKind::Participatiewet));
        assert!(!OrgKind::Gemeente.allows_function(FunctionKind::School));
        assert!(!OrgKind::Gemeente.allows_function(FunctionKind::Admin));
        assert!(OrgKind::Admin.allows_function(FunctionKind::Admin));
        // An uitvoeringsorganisatie carries out a gemeente's tasks, never a school's.
        assert!(OrgKind::Uitvoeringsorganisatie.allows_function(FunctionKind::Participatiewet));
        assert!(OrgKind::Uitvoeringsorganisatie.allows_function(FunctionKind::Doorstroompunt));
        assert!(!OrgKind::Uitvoeringsorganisatie.allows_function(FunctionKind::School));
        assert!(!OrgKind::Uitvoeringsorganisatie.allows_function(FunctionKind::Admin));
    }
}
