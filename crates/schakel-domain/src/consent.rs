//! Consent (*instemming*) for a transfer (R4, R13, R16).

use std::collections::BTreeSet;

use jiff::civil::Date;

use crate::text_enum::text_enum;
use crate::{DomainError, FieldGroup, FieldPath, FunctionKind, Oin, PurposeId};

text_enum! {
    /// Who gave (or refused) consent. R4: the youth, or a parent/guardian when
    /// the youth is under 18. Which giver is acceptable is decided by the policy.
    pub enum ConsentGiver: "consent.giver" {
        /// The youth themself.
        Youth = "youth",
        /// A parent with parental authority (*ouder met gezag*).
        Parent = "parent",
        /// A guardian (*voogd*).
        Guardian = "guardian",
        /// A legal representative of an adult youth: a *curator* (under
        /// curatele) or *mentor* (under mentorschap) appointed by the court.
        Representative = "representative",
    }
}

text_enum! {
    /// How the consent was obtained.
    pub enum ConsentMethod: "consent.method" {
        /// Signed on paper; the school keeps the form.
        Written = "written",
        /// Given digitally (e.g. in a portal, with DigiD).
        Digital = "digital",
        /// Given in conversation and recorded by the named employee.
        Verbal = "verbal",
    }
}

text_enum! {
    /// The state of a consent record.
    pub enum ConsentStatus: "consent.status" {
        /// Consent is given and may be relied on while valid.
        Given = "given",
        /// Consent was refused. Recorded without document content (R13).
        Refused = "refused",
        /// Consent was given and later withdrawn.
        Withdrawn = "withdrawn",
    }
}

/// What a consent covers: one purpose, one recipient party, and the field
/// groups the giver agreed to share.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentScope {
    /// The purpose the consent is for.
    pub purpose: PurposeId,
    /// The receiving organisation.
    pub recipient_oin: Oin,
    /// The receiving function of that organisation (R9).
    pub recipient_function: FunctionKind,
    /// The groups the giver agreed to share.
    pub groups: BTreeSet<FieldGroup>,
    /// Special-category fields (AVG art. 9) the giver explicitly agreed to (R16).
    #[serde(default)]
    pub explicit_special_fields: BTreeSet<FieldPath>,
}

/// A consent record: given, refused or withdrawn.
///
/// Fields are private so a record cannot be in an impossible state (withdrawn
/// without a date, valid until before it was given, given for no groups).
/// The serialised form is [`ConsentRecord`], validated on the way in.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "ConsentRecord", into = "ConsentRecord")]
pub struct Consent {
    giver: ConsentGiver,
    scope: ConsentScope,
    method: ConsentMethod,
    recorded_by: String,
    recorded_on: Date,
    valid_until: Option<Date>,
    status: ConsentStatus,
    withdrawn_on: Option<Date>,
}

/// The plain, serialisable form of a [`Consent`]. Converting it into a
/// `Consent` checks the same invariants as the constructors.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentRecord {
    /// Who gave or refused it.
    pub giver: ConsentGiver,
    /// What it covers.
    pub scope: ConsentScope,
    /// How it was obtained.
    pub method: ConsentMethod,
    /// Who recorded it (pseudonymous user id or role).
    pub recorded_by: String,
    /// The day it was given or refused.
    pub recorded_on: Date,
    /// The last day it is valid, if limited.
    pub valid_until: Option<Date>,
    /// Given, refused or withdrawn.
    pub status: ConsentStatus,
    /// The day it was withdrawn; set exactly when the status is withdrawn.
    pub withdrawn_on: Option<Date>,
}

impl TryFrom<ConsentRecord> for Consent {
    type Error = DomainError;
    fn try_from(r: ConsentRecord) -> Result<Self, Self::Error> {
        let ConsentRecord {
            giver,
            scope,
            method,
            recorded_by,
            recorded_on,
            valid_until,
            status,
            withdrawn_on,
        } = r;
        match status {
            ConsentStatus::Refused => {
                if valid_until.is_some() || withdrawn_on.is_some() {
                    return Err(DomainError::new(
                        "consent.status",
                        "a refused consent has no validity or withdrawal date",
                    ));
                }
                Self::refused(giver, scope, method, recorded_by, recorded_on)
            }
            ConsentStatus::Given | ConsentStatus::Withdrawn => {
                let mut c = Self::given(giver, scope, method, recorded_by, recorded_on, valid_until)?;
                match (status, withdrawn_on) {
                    (ConsentStatus::Withdrawn, Some(on)) => c.withdraw(on)?,
                    (ConsentStatus::Given, None) => {}
                    _ => {
                        return Err(DomainError::new(
                            "consent.withdrawn_on",
                            "must be set exactly when the consent is withdrawn",
                        ));
                    }
                }
                Ok(c)
            }
        }
    }
}

impl From<Consent> for ConsentRecord {
    fn from(c: Consent) -> Self {
        let Consent {
            giver,
            scope,
            method,
            recorded_by,
            recorded_on,
            valid_until,
            status,
            withdrawn_on,
        } = c;
        Self {
            giver,
            scope,
            method,
            recorded_by,
            recorded_on,
            valid_until,
            status,
            withdrawn_on,
        }
    }
}

fn check_recorded_by(recorded_by: &str) -> Result<(), DomainError> {
    let ok = !recorded_by.trim().is_empty() && recorded_by.len() <= 200;
    if !ok {
        return Err(DomainError::new(
            "consent.recorded_by",
            "must name who recorded the consent (1 to 200 characters)",
        ));
    }
    Ok(())
}

impl Consent {
    /// A consent given on `recorded_on`, valid through `valid_until` (inclusive) if set.
    ///
    /// `recorded_by` is the pseudonymous user id or role of the person who
    /// recorded it at the school, as passed by the calling system.
    pub fn given(
        giver: ConsentGiver,
        scope: ConsentScope,
        method: ConsentMethod,
        recorded_by: String,
        recorded_on: Date,
        valid_until: Option<Date>,
    ) -> Result<Self, DomainError> {
        check_recorded_by(&recorded_by)?;
        if scope.groups.is_empty() {
            return Err(DomainError::new(
                "consent.scope.groups",
                "must name at least one group",
            ));
        }
        if valid_until.is_some_and(|u| u < recorded_on) {
            return Err(DomainError::new(
                "consent.valid_until",
                "must not be before the day it was given",
            ));
        }
        Ok(Self {
            giver,
            scope,
            method,
            recorded_by,
            recorded_on,
            valid_until,
            status: ConsentStatus::Given,
            withdrawn_on: None,
        })
    }

    /// A refusal: recorded so the region can see the rate, never with content (R13).
    pub fn refused(
        giver: ConsentGiver,
        scope: ConsentScope,
        method: ConsentMethod,
        recorded_by: String,
        recorded_on: Date,
    ) -> Result<Self, DomainError> {
        check_recorded_by(&recorded_by)?;
        Ok(Self {
            giver,
            scope,
            method,
            recorded_by,
            recorded_on,
            valid_until: None,
            status: ConsentStatus::Refused,
            withdrawn_on: None,
        })
    }

    /// Withdraw a given consent on `on`. Only a given consent can be withdrawn,
    /// and not before the day it was given.
    pub fn withdraw(&mut self, on: Date) -> Result<(), DomainError> {
        if self.status != ConsentStatus::Given {
            return Err(DomainError::new(
                "consent.status",
                "only a given consent can be withdrawn",
            ));
        }
        if on < self.recorded_on {
            return Err(DomainError::new(
                "consent.withdrawn_on",
                "must not be before the day it was given",
            ));
        }
        self.status = ConsentStatus::Withdrawn;
        self.withdrawn_on = Some(on);
        Ok(())
    }

    /// Who gave or refused it.
    pub fn giver(&self) -> ConsentGiver {
        self.giver
    }
    /// What it covers.
    pub fn scope(&self) -> &ConsentScope {
        &self.scope
    }
    /// How it was obtained.
    pub fn method(&self) -> ConsentMethod {
        self.method
    }
    /// Who recorded it (pseudonymous user id or role).
    pub fn recorded_by(&self) -> &str {
        &self.recorded_by
    }
    /// The day it was given or refused.
    pub fn recorded_on(&self) -> Date {
        self.recorded_on
    }
    /// The last day it is valid, if limited.
    pub fn valid_until(&self) -> Option<Date> {
        self.valid_until
    }
    /// Given, refused or withdrawn.
    pub fn status(&self) -> ConsentStatus {
        self.status
    }
    /// The day it was withdrawn, if it was.
    pub fn withdrawn_on(&self) -> Option<Date> {
        self.withdrawn_on
    }

    /// Whether this consent is given and in force on `on`: given on or before
    /// `on`, not past `valid_until` (inclusive), and not withdrawn.
    pub fn in_force_on(&self, on: Date) -> bool {
        self.status == ConsentStatus::Given
            && self.recorded_on <= on
            && self.valid_until.is_none_or(|u| on <= u)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn scope() -> ConsentScope {
        ConsentScope {
            purpose: PurposeId::HANDOVER_SCHOOL_TO_GEMEENTE.parse().unwrap(),
            recipient_oin: "00000001234567890000".parse().unwrap(),
            recipient_function: FunctionKind::Participatiewet,
            groups: [FieldGroup::Identity].into(),
            explicit_special_fields: BTreeSet::new(),
        }
    }

    #[test]
    fn given_consent_is_in_force_inclusive_and_can_be_withdrawn() {
        let mut c = Consent::given(
            ConsentGiver::Youth,
            scope(),
            ConsentMethod::Digital,
            "mentor-17".into(),
            date(2026, 2, 1),
            Some(date(2026, 8, 1)),
        )
        .unwrap();
        assert!(!c.in_force_on(date(2026, 1, 31)));
        assert!(c.in_force_on(date(2026, 2, 1)));
        assert!(c.in_force_on(date(2026, 8, 1)));
        assert!(!c.in_force_on(date(2026, 8, 2)));
        assert!(c.withdraw(date(2026, 1, 1)).is_err());
        c.withdraw(date(2026, 3, 1)).unwrap();
        assert_eq!(c.status(), ConsentStatus::Withdrawn);
        assert!(!c.in_force_on(date(2026, 3, 2)));
        assert!(c.withdraw(date(2026, 3, 2)).is_err());
    }

    #[test]
    fn refused_consent_is_never_in_force_and_cannot_be_withdrawn() {
        let mut c = Consent::refused(
            ConsentGiver::Parent,
            scope(),
            ConsentMethod::Verbal,
            "x".into(),
            date(2026, 2, 1),
        )
        .unwrap();
        assert!(!c.in_force_on(date(2026, 2, 1)));
        assert_eq!(c.withdraw(date(2026, 2, 2)).unwrap_err().field, "consent.status");
    }

    #[test]
    fn invalid_consents_are_refused_naming_the_field() {
        let e = Consent::given(
            ConsentGiver::Youth,
            scope(),
            ConsentMethod::Written,
            " ".into(),
            date(2026, 2, 1),
            None,
        )
        .unwrap_err();
        assert_eq!(e.field, "consent.recorded_by");
        let mut s = scope();
        s.groups.clear();
        let e = Consent::given(
            ConsentGiver::Youth,
            s,
            ConsentMethod::Written,
            "a".into(),
            date(2026, 2, 1),
            None,
        )
        .unwrap_err();
        assert_eq!(e.field, "consent.scope.groups");
        let e = Consent::given(
            ConsentGiver::Youth,
            scope(),
            ConsentMethod::Written,
            "a".into(),
            date(2026, 2, 1),
            Some(date(2026, 1, 1)),
        )
        .unwrap_err();
        assert_eq!(e.field, "consent.valid_until");
    }
}
