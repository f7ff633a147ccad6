//! Recording a consent or a refusal (R1, R4, R9, R12, R13): whether this
//! giver may say yes or no, for this purpose, recipient and groups.
//!
//! A refusal is the youth's own voice and counts at any age (domain.md §0,
//! R4): a 17-year-old can say no, although only a parent or guardian can say
//! yes for them. An adult under curatele or mentorschap may be represented
//! by the legal representative the court appointed, where the purpose says
//! so.

use std::collections::BTreeSet;

use jiff::civil::Date;
use schakel_domain::dates::age_on;
use schakel_domain::{ConsentGiver, ConsentStatus, FieldGroup, Party, PurposeId};

use crate::decide::{Found, giver_words, recipient_checks};
use crate::{Policy, RuleId, Violation};

/// The facts of a consent (or refusal) being recorded. Parts the request
/// did not give in a usable form are `None` and their rules are skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentToRecord {
    /// The purpose it is for.
    pub purpose: PurposeId,
    /// Given or refused.
    pub status: ConsentStatus,
    /// Who says it.
    pub giver: Option<ConsentGiver>,
    /// The recipient it names.
    pub recipient: Option<Party>,
    /// The groups it names, in the request's order.
    pub groups: Vec<FieldGroup>,
    /// The youth's date of birth (who may consent depends on the age).
    pub date_of_birth: Option<Date>,
    /// The day it was given or refused.
    pub on: Date,
}

/// The violations of recording `record` under `policy`. Paths: `purpose`,
/// `recipient.kind`, `recipient.function`, `groups[i]`, `consent.giver`.
pub fn decide_consent_record(record: &ConsentToRecord, policy: &Policy) -> Vec<Violation> {
    let mut found = Found(BTreeSet::new());
    let purpose = policy
        .purpose_on(&record.purpose, record.on)
        .or_else(|| policy.purpose_versions(&record.purpose).next());
    let Some(purpose) = purpose else {
        found.add(
            RuleId::R1,
            "purpose",
            "this purpose is not registered, so there is no legal basis to record consent for it",
        );
        return found.0.into_iter().collect();
    };
    if !purpose.consent.required {
        // R5, R8: the Doorstroompunt and expertise purposes rest on the law,
        // not on consent.
        found.add(
            RuleId::R4,
            "purpose",
            "this purpose needs no consent; there is nothing to record",
        );
    }
    // R9: a consent for a recipient that could never receive under the
    // purpose is refused now, not at the first submission.
    if let Some(recipient) = &record.recipient {
        recipient_checks(&mut found, purpose, recipient);
    }
    for (i, group) in record.groups.iter().enumerate() {
        let allowed = policy
            .groups()
            .get(group)
            .is_some_and(|d| d.purposes.contains(&purpose.id));
        if !allowed {
            found.add(
                RuleId::R12,
                format!("groups[{i}]"),
                format!("the group '{group}' may not be sent under this purpose"),
            );
        }
    }
    if let (Some(giver), Some(birth)) = (record.giver, record.date_of_birth) {
        giver_may_say_it(&mut found, purpose, record.status, giver, birth, record.on);
    }
    found.0.into_iter().collect()
}

/// R4, R13: judged on the day it is said. A yes comes from whom the purpose
/// names for the youth's age; a no also from the youth at any age.
fn giver_may_say_it(
    found: &mut Found,
    purpose: &crate::Purpose,
    status: ConsentStatus,
    giver: ConsentGiver,
    birth: Date,
    on: Date,
) {
    let minor = age_on(birth, on) < i32::from(purpose.consent.adult_age);
    let mut allowed = if minor {
        purpose.consent.givers_minor.clone()
    } else {
        purpose.consent.givers_adult.clone()
    };
    if status == ConsentStatus::Refused {
        allowed.insert(ConsentGiver::Youth);
    }
    if allowed.contains(&giver) {
        return;
    }
    let words = giver_words(&allowed);
    let message = match (status, minor) {
        (ConsentStatus::Refused, true) => format!(
            "for a youth under {} a refusal comes from {words}",
            purpose.consent.adult_age
        ),
        (ConsentStatus::Refused, false) => {
            format!("from {} a refusal comes from {words}", purpose.consent.adult_age)
        }
        (_, true) => format!(
            "a youth under {} needs consent of {words}; the youth can refuse, but not consent alone",
            purpose.consent.adult_age
        ),
        (_, false) => format!("from {} consent comes from {words}", purpose.consent.adult_age),
    };
    found.add(RuleId::R4, "consent.giver", message);
}
