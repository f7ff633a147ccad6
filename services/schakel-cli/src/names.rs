//! The text names of the API's enums, one table per enum: used to parse
//! command-line options and document files, and to print answers.
//! Names are the proto value names without prefix, in lower case
//! (`SCHOOL_TYPE_PRO` is `pro`).

use schakel_proto::v1 as pb;

/// A name table: text name and value, in the order they are listed to a user.
pub type Table<T> = &'static [(&'static str, T)];

/// The value named `s` (exact, lower case); `None` for unknown names.
pub fn parse<T: Copy>(table: Table<T>, s: &str) -> Option<T> {
    table.iter().find(|(n, _)| *n == s).map(|(_, v)| *v)
}

/// The allowed names, comma-separated, for messages.
pub fn list<T>(table: Table<T>) -> String {
    table.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
}

/// The name of a proto enum value as carried on the wire (`i32`):
/// `unspecified` for 0 and `unknown` for values this CLI does not know.
pub fn name<T: Copy + PartialEq + TryFrom<i32>>(table: Table<T>, value: i32) -> &'static str {
    if value == 0 {
        return "unspecified";
    }
    match T::try_from(value) {
        Ok(v) => table
            .iter()
            .find(|(_, t)| *t == v)
            .map(|(n, _)| *n)
            .unwrap_or("unknown"),
        Err(_) => "unknown",
    }
}

/// Functions of an organisation.
pub const FUNCTIONS: Table<pb::FunctionKind> = &[
    ("participatiewet", pb::FunctionKind::Participatiewet),
    ("doorstroompunt", pb::FunctionKind::Doorstroompunt),
    ("school", pb::FunctionKind::School),
    ("privacy_officer", pb::FunctionKind::PrivacyOfficer),
    ("admin", pb::FunctionKind::Admin),
    ("regional_partner", pb::FunctionKind::RegionalPartner),
];

/// Type of school.
pub const SCHOOL_TYPES: Table<pb::SchoolType> = &[
    ("pro", pb::SchoolType::Pro),
    ("vso", pb::SchoolType::Vso),
    ("mbo", pb::SchoolType::Mbo),
    ("vo", pb::SchoolType::Vo),
    ("hbo", pb::SchoolType::Hbo),
    ("wo", pb::SchoolType::Wo),
];

/// Startkwalificatie.
pub const STARTKWALIFICATIE: Table<pb::Startkwalificatie> = &[
    ("achieved", pb::Startkwalificatie::Achieved),
    ("not_achieved", pb::Startkwalificatie::NotAchieved),
];

/// vso uitstroomprofiel.
pub const VSO_EXIT_PROFILES: Table<pb::VsoExitProfile> = &[
    ("vervolgonderwijs", pb::VsoExitProfile::Vervolgonderwijs),
    ("arbeidsmarkt", pb::VsoExitProfile::Arbeidsmarkt),
    ("dagbesteding", pb::VsoExitProfile::Dagbesteding),
];

/// The sender's judgement on return to initial education (R6).
pub const RETURN_TO_EDUCATION: Table<pb::ReturnToEducation> = &[
    ("not_possible", pb::ReturnToEducation::NotPossible),
    ("possible", pb::ReturnToEducation::Possible),
];

/// Transfer states.
pub const TRANSFER_STATES: Table<pb::TransferState> = &[
    ("available", pb::TransferState::Available),
    ("fetched", pb::TransferState::Fetched),
    ("acknowledged", pb::TransferState::Acknowledged),
    ("accepted", pb::TransferState::Accepted),
    ("declined", pb::TransferState::Declined),
    ("withdrawn", pb::TransferState::Withdrawn),
    ("purged", pb::TransferState::Purged),
];

/// Decisions.
pub const DECISIONS: Table<pb::DecisionKind> = &[
    ("accept", pb::DecisionKind::Accept),
    ("decline", pb::DecisionKind::Decline),
];

/// Decline reasons.
pub const DECLINE_REASONS: Table<pb::DeclineReason> = &[
    ("not_resident", pb::DeclineReason::NotResident),
    ("outside_target_group", pb::DeclineReason::OutsideTargetGroup),
    ("youth_declined_support", pb::DeclineReason::YouthDeclinedSupport),
    ("already_supported", pb::DeclineReason::AlreadySupported),
    (
        "insufficient_information",
        pb::DeclineReason::InsufficientInformation,
    ),
    ("other_route", pb::DeclineReason::OtherRoute),
    ("other", pb::DeclineReason::Other),
];

/// Consent statuses.
pub const CONSENT_STATUSES: Table<pb::ConsentStatus> = &[
    ("given", pb::ConsentStatus::Given),
    ("refused", pb::ConsentStatus::Refused),
    ("withdrawn", pb::ConsentStatus::Withdrawn),
    ("expired", pb::ConsentStatus::Expired),
];

/// Who gives consent.
pub const CONSENT_GIVERS: Table<pb::ConsentGiver> = &[
    ("youth", pb::ConsentGiver::Youth),
    ("parent", pb::ConsentGiver::Parent),
    ("guardian", pb::ConsentGiver::Guardian),
    ("representative", pb::ConsentGiver::Representative),
];

/// How consent was obtained.
pub const CONSENT_METHODS: Table<pb::ConsentMethod> = &[
    ("written", pb::ConsentMethod::Written),
    ("digital", pb::ConsentMethod::Digital),
    ("verbal", pb::ConsentMethod::VerbalRecorded),
];

/// What a consent withdrawal did to a transfer.
pub const WITHDRAWAL_EFFECTS: Table<pb::WithdrawalEffect> = &[
    ("delivery_stopped", pb::WithdrawalEffect::DeliveryStopped),
    ("notice_sent", pb::WithdrawalEffect::NoticeSent),
];

/// Expertise request states.
pub const EXPERTISE_STATES: Table<pb::ExpertiseState> = &[
    ("open", pb::ExpertiseState::Open),
    ("answered", pb::ExpertiseState::Answered),
    ("purged", pb::ExpertiseState::Purged),
];

/// Expertise advice outcomes.
pub const ADVICE_OUTCOMES: Table<pb::AdviceOutcome> = &[
    ("return_possible", pb::AdviceOutcome::ReturnPossible),
    ("return_not_possible", pb::AdviceOutcome::ReturnNotPossible),
    (
        "doorstroompunt_takes_over",
        pb::AdviceOutcome::DoorstroompuntTakesOver,
    ),
];

/// Which side of expertise requests to list.
pub const EXPERTISE_ROLES: Table<pb::ExpertiseRole> = &[
    ("asked", pb::ExpertiseRole::Asked),
    ("received", pb::ExpertiseRole::Received),
];

/// What an audit entry records (`transfer_fetch`, …).
pub const AUDIT_ACTIONS: Table<pb::AuditAction> = &[
    ("access_denied", pb::AuditAction::AccessDenied),
    ("consent_given", pb::AuditAction::ConsentGiven),
    ("consent_refused", pb::AuditAction::ConsentRefused),
    ("consent_withdrawn", pb::AuditAction::ConsentWithdrawn),
    ("consent_read", pb::AuditAction::ConsentRead),
    ("transfer_submit", pb::AuditAction::TransferSubmit),
    ("transfer_read", pb::AuditAction::TransferRead),
    ("transfer_fetch", pb::AuditAction::TransferFetch),
    ("transfer_acknowledge", pb::AuditAction::TransferAcknowledge),
    ("transfer_decide", pb::AuditAction::TransferDecide),
    ("transfer_withdraw", pb::AuditAction::TransferWithdraw),
    ("withdrawal_acknowledge", pb::AuditAction::WithdrawalAcknowledge),
    ("expertise_request", pb::AuditAction::ExpertiseRequest),
    ("expertise_fetch", pb::AuditAction::ExpertiseFetch),
    ("expertise_advice", pb::AuditAction::ExpertiseAdvice),
    ("expertise_advice_read", pb::AuditAction::ExpertiseAdviceRead),
    ("purge", pb::AuditAction::Purge),
    ("admin_change", pb::AuditAction::AdminChange),
    ("audit_query", pb::AuditAction::AuditQuery),
    ("audit_report", pb::AuditAction::AuditReport),
    (
        "hardheidsclausule_decision",
        pb::AuditAction::HardheidsclausuleDecision,
    ),
    ("justifications_read", pb::AuditAction::JustificationsRead),
    ("mandate_change", pb::AuditAction::MandateChange),
    ("regional_numbers_read", pb::AuditAction::RegionalNumbersRead),
];

/// The outcome of an audited action.
pub const AUDIT_OUTCOMES: Table<pb::AuditOutcome> = &[
    ("success", pb::AuditOutcome::Success),
    ("refused", pb::AuditOutcome::Refused),
    ("denied", pb::AuditOutcome::Denied),
    ("error", pb::AuditOutcome::Error),
];

/// Kinds of audit anomaly.
pub const ANOMALY_KINDS: Table<pb::AnomalyKind> = &[
    ("outside_office_hours", pb::AnomalyKind::OutsideOfficeHours),
    ("user_volume", pb::AnomalyKind::UserVolume),
    ("many_users_one_subject", pb::AnomalyKind::ManyUsersOneSubject),
    ("fetch_of_closed_transfer", pb::AnomalyKind::FetchOfClosedTransfer),
    ("refusal_burst", pb::AnomalyKind::RefusalBurst),
    ("reused_justification", pb::AnomalyKind::ReusedJustification),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Each table names every non-zero value of its enum exactly once.
    fn complete<T: Copy + PartialEq + TryFrom<i32> + Into<i32>>(table: Table<T>) {
        let mut n = 1;
        while T::try_from(n).is_ok() {
            assert_ne!(name(table, n), "unknown", "value {n} has no name");
            n += 1;
        }
        assert_eq!(table.len() as i32, n - 1);
        for (s, v) in table {
            assert_eq!(parse(table, s).map(Into::into), Some((*v).into()));
        }
    }

    #[test]
    fn every_table_is_complete() {
        complete(FUNCTIONS);
        complete(SCHOOL_TYPES);
        complete(STARTKWALIFICATIE);
        complete(VSO_EXIT_PROFILES);
        complete(RETURN_TO_EDUCATION);
        complete(TRANSFER_STATES);
        complete(DECISIONS);
        complete(DECLINE_REASONS);
        complete(CONSENT_STATUSES);
        complete(CONSENT_GIVERS);
        complete(CONSENT_METHODS);
        complete(WITHDRAWAL_EFFECTS);
        complete(EXPERTISE_STATES);
        complete(ADVICE_OUTCOMES);
        complete(EXPERTISE_ROLES);
        complete(AUDIT_ACTIONS);
        complete(AUDIT_OUTCOMES);
        complete(ANOMALY_KINDS);
    }

    #[test]
    fn unknown_and_unset_values_have_names_too() {
        assert_eq!(name(SCHOOL_TYPES, 0), "unspecified");
        assert_eq!(name(SCHOOL_TYPES, 99), "unknown");
        assert_eq!(parse(SCHOOL_TYPES, "PRO"), None);
        assert_eq!(parse(SCHOOL_TYPES, "unspecified"), None);
    }
}
