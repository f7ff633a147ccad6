//! Proto ↔ domain and store types: enums, dates, timestamps, and the
//! answers' small messages. Pure: no database, no hub state.

use jiff::Timestamp;
use jiff::civil::Date;
use schakel_domain::{
    CaseDecision, ConsentGiver, ConsentMethod, DeclineReason, FunctionKind, Oin, OrgKind, SchoolType,
    TransferState, VsoExitProfile,
};
use schakel_proto::v1 as pb;
use schakel_store::{Organisation, PartyKey, RecipientKey, SealedRow};
use uuid::Uuid;

use crate::error::Violations;
use crate::regions::RegionTable;

/// Domain → proto organisation kind.
pub fn org_kind_to_pb(k: OrgKind) -> pb::OrgKind {
    match k {
        OrgKind::ProSchool => pb::OrgKind::ProSchool,
        OrgKind::VsoSchool => pb::OrgKind::VsoSchool,
        OrgKind::MboSchool => pb::OrgKind::MboSchool,
        OrgKind::Gemeente => pb::OrgKind::Gemeente,
        OrgKind::Admin => pb::OrgKind::Admin,
        OrgKind::Uitvoeringsorganisatie => pb::OrgKind::Uitvoeringsorganisatie,
    }
}

/// Proto → domain organisation kind; `None` for unspecified or unknown values.
pub fn org_kind_from_pb(v: i32) -> Option<OrgKind> {
    match pb::OrgKind::try_from(v).ok()? {
        pb::OrgKind::Unspecified => None,
        pb::OrgKind::ProSchool => Some(OrgKind::ProSchool),
        pb::OrgKind::VsoSchool => Some(OrgKind::VsoSchool),
        pb::OrgKind::MboSchool => Some(OrgKind::MboSchool),
        pb::OrgKind::Gemeente => Some(OrgKind::Gemeente),
        pb::OrgKind::Admin => Some(OrgKind::Admin),
        pb::OrgKind::Uitvoeringsorganisatie => Some(OrgKind::Uitvoeringsorganisatie),
    }
}

/// Domain → proto function.
pub fn function_to_pb(f: FunctionKind) -> pb::FunctionKind {
    match f {
        FunctionKind::School => pb::FunctionKind::School,
        FunctionKind::Doorstroompunt => pb::FunctionKind::Doorstroompunt,
        FunctionKind::Participatiewet => pb::FunctionKind::Participatiewet,
        FunctionKind::PrivacyOfficer => pb::FunctionKind::PrivacyOfficer,
        FunctionKind::Admin => pb::FunctionKind::Admin,
        FunctionKind::RegionalPartner => pb::FunctionKind::RegionalPartner,
    }
}

/// Proto → domain function; `None` for unspecified or unknown values.
pub fn function_from_pb(v: i32) -> Option<FunctionKind> {
    match pb::FunctionKind::try_from(v).ok()? {
        pb::FunctionKind::Unspecified => None,
        pb::FunctionKind::School => Some(FunctionKind::School),
        pb::FunctionKind::Doorstroompunt => Some(FunctionKind::Doorstroompunt),
        pb::FunctionKind::Participatiewet => Some(FunctionKind::Participatiewet),
        pb::FunctionKind::PrivacyOfficer => Some(FunctionKind::PrivacyOfficer),
        pb::FunctionKind::Admin => Some(FunctionKind::Admin),
        pb::FunctionKind::RegionalPartner => Some(FunctionKind::RegionalPartner),
    }
}

/// Domain → proto timestamp.
pub fn ts_to_pb(t: Timestamp) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.as_second(),
        nanos: t.subsec_nanosecond(),
    }
}

/// Proto → domain timestamp; `None` when out of range.
pub fn ts_from_pb(t: &prost_types::Timestamp) -> Option<Timestamp> {
    Timestamp::new(t.seconds, t.nanos).ok()
}

/// A recipient key as the API shows it.
pub fn recipient_to_pb(k: &RecipientKey) -> pb::RecipientKey {
    pb::RecipientKey {
        key_id: k.key_id.to_string(),
        age_recipient: k.age_recipient.clone(),
        valid_from: Some(ts_to_pb(k.valid_from)),
        valid_until: k.valid_until.map(ts_to_pb),
        revoked: k.revoked_at.is_some(),
    }
}

/// An organisation as the API shows it: region names from the region
/// table, each function with its recipient keys.
pub fn organisation_to_pb(
    org: &Organisation,
    keys: &[RecipientKey],
    regions: &RegionTable,
) -> pb::Organisation {
    let dp = org.doorstroompunt_regio.clone().unwrap_or_default();
    let am = org.arbeidsmarktregio.clone().unwrap_or_default();
    pb::Organisation {
        oin: org.oin.to_string(),
        kind: org_kind_to_pb(org.kind) as i32,
        name: org.name.clone(),
        brin: org.brin.as_ref().map(|b| b.to_string()).unwrap_or_default(),
        gemeentecode: org
            .gemeentecode
            .as_ref()
            .map(|g| g.to_string())
            .unwrap_or_default(),
        doorstroompunt_regio_naam: regions.rmc_name(&dp).unwrap_or_default().to_owned(),
        arbeidsmarktregio_naam: regions.am_name(&am).unwrap_or_default().to_owned(),
        doorstroompunt_regio: dp,
        arbeidsmarktregio: am,
        active: org.active,
        functions: org
            .functions
            .iter()
            .map(|f| pb::Function {
                kind: function_to_pb(*f) as i32,
                recipients: keys
                    .iter()
                    .filter(|k| k.function == *f)
                    .map(recipient_to_pb)
                    .collect(),
            })
            .collect(),
    }
}

/// Proto → civil date; `None` when unset, a violation when invalid.
pub fn date_from_pb(v: &mut Violations, field: &str, d: Option<&pb::Date>) -> Option<Date> {
    let d = d?;
    let ok = i16::try_from(d.year)
        .ok()
        .zip(i8::try_from(d.month).ok())
        .zip(i8::try_from(d.day).ok())
        .and_then(|((y, m), day)| Date::new(y, m, day).ok())
        .filter(|d| (1900..=2200).contains(&d.year()));
    if ok.is_none() {
        v.format(field, "not a valid calendar date");
    }
    ok
}

/// Civil date → proto.
pub fn date_to_pb(d: Date) -> pb::Date {
    pb::Date {
        year: i32::from(d.year()),
        month: i32::from(d.month()),
        day: i32::from(d.day()),
    }
}

/// A stored sealed unit as the API shows it: `group` for one group,
/// `groups` for several (common.proto `SealedGroup`).
pub fn sealed_to_pb(s: &SealedRow) -> pb::SealedGroup {
    let (group, groups) = match s.groups.as_slice() {
        [one] => (one.clone(), Vec::new()),
        several => (String::new(), several.to_vec()),
    };
    pb::SealedGroup {
        group,
        groups,
        purpose: s.purpose.as_str().to_owned(),
        key_ids: s.key_ids.iter().map(Uuid::to_string).collect(),
        ciphertext: s.ciphertext.clone(),
    }
}

/// A `PartyRef` of a request as a party key; problems are violations on
/// `field` (whether the party exists is the directory's to say).
pub fn party_key(v: &mut Violations, field: &str, r: Option<&pb::PartyRef>) -> Option<PartyKey> {
    let Some(r) = r else {
        v.format(field, "the party must be given");
        return None;
    };
    let oin = v.parse::<Oin>(&format!("{field}.oin"), &r.oin);
    let function = function_from_pb(r.function);
    if function.is_none() {
        v.format(format!("{field}.function"), "the function must be set");
    }
    oin.zip(function)
}

/// A party key as the API shows it.
pub fn party_to_pb(p: &PartyKey) -> pb::PartyRef {
    pb::PartyRef {
        oin: p.0.to_string(),
        function: function_to_pb(p.1) as i32,
    }
}

// ---- proto enums ↔ domain ----

/// Proto school type → domain; `None` when unset or unknown.
pub fn school_type_from_pb(v: i32) -> Option<SchoolType> {
    match pb::SchoolType::try_from(v).ok()? {
        pb::SchoolType::Unspecified => None,
        pb::SchoolType::Pro => Some(SchoolType::Pro),
        pb::SchoolType::Vso => Some(SchoolType::Vso),
        pb::SchoolType::Mbo => Some(SchoolType::Mbo),
        pb::SchoolType::Hbo => Some(SchoolType::Hbo),
        pb::SchoolType::Wo => Some(SchoolType::Wo),
        pb::SchoolType::Vo => Some(SchoolType::Vo),
    }
}

/// Proto vso exit profile → domain.
pub fn vso_exit_from_pb(v: i32) -> Option<VsoExitProfile> {
    match pb::VsoExitProfile::try_from(v).ok()? {
        pb::VsoExitProfile::Unspecified => None,
        pb::VsoExitProfile::Vervolgonderwijs => Some(VsoExitProfile::Vervolgonderwijs),
        pb::VsoExitProfile::Arbeidsmarkt => Some(VsoExitProfile::Arbeidsmarkt),
        pb::VsoExitProfile::Dagbesteding => Some(VsoExitProfile::Dagbesteding),
    }
}

/// Proto consent giver → domain.
pub fn giver_from_pb(v: i32) -> Option<ConsentGiver> {
    match pb::ConsentGiver::try_from(v).ok()? {
        pb::ConsentGiver::Unspecified => None,
        pb::ConsentGiver::Youth => Some(ConsentGiver::Youth),
        pb::ConsentGiver::Parent => Some(ConsentGiver::Parent),
        pb::ConsentGiver::Guardian => Some(ConsentGiver::Guardian),
        pb::ConsentGiver::Representative => Some(ConsentGiver::Representative),
    }
}

/// Domain consent giver → proto.
pub fn giver_to_pb(g: ConsentGiver) -> pb::ConsentGiver {
    match g {
        ConsentGiver::Youth => pb::ConsentGiver::Youth,
        ConsentGiver::Parent => pb::ConsentGiver::Parent,
        ConsentGiver::Guardian => pb::ConsentGiver::Guardian,
        ConsentGiver::Representative => pb::ConsentGiver::Representative,
    }
}

/// Proto consent method → domain.
pub fn method_from_pb(v: i32) -> Option<ConsentMethod> {
    match pb::ConsentMethod::try_from(v).ok()? {
        pb::ConsentMethod::Unspecified => None,
        pb::ConsentMethod::Written => Some(ConsentMethod::Written),
        pb::ConsentMethod::Digital => Some(ConsentMethod::Digital),
        pb::ConsentMethod::VerbalRecorded => Some(ConsentMethod::Verbal),
    }
}

/// Domain consent method → proto.
pub fn method_to_pb(m: ConsentMethod) -> pb::ConsentMethod {
    match m {
        ConsentMethod::Written => pb::ConsentMethod::Written,
        ConsentMethod::Digital => pb::ConsentMethod::Digital,
        ConsentMethod::Verbal => pb::ConsentMethod::VerbalRecorded,
    }
}

/// Domain transfer state → the state the API shows (the withdrawal details
/// travel in `Transfer.withdrawal`).
pub fn state_to_pb(s: TransferState) -> pb::TransferState {
    match s {
        TransferState::Submitted => pb::TransferState::Available,
        TransferState::Delivered => pb::TransferState::Fetched,
        TransferState::Acknowledged => pb::TransferState::Acknowledged,
        TransferState::Accepted => pb::TransferState::Accepted,
        TransferState::Declined => pb::TransferState::Declined,
        TransferState::Withdrawn
        | TransferState::WithdrawalNotified
        | TransferState::WithdrawalAcknowledged => pb::TransferState::Withdrawn,
        TransferState::Purged => pb::TransferState::Purged,
    }
}

/// API state filter → the domain states it covers; violation when unknown.
pub fn states_from_pb(v: &mut Violations, field: &str, states: &[i32]) -> Vec<TransferState> {
    let mut out = Vec::new();
    for (i, s) in states.iter().enumerate() {
        match pb::TransferState::try_from(*s) {
            Ok(pb::TransferState::Unspecified) => {}
            Ok(pb::TransferState::Available) => out.push(TransferState::Submitted),
            Ok(pb::TransferState::Fetched) => out.push(TransferState::Delivered),
            Ok(pb::TransferState::Acknowledged) => out.push(TransferState::Acknowledged),
            Ok(pb::TransferState::Accepted) => out.push(TransferState::Accepted),
            Ok(pb::TransferState::Declined) => out.push(TransferState::Declined),
            Ok(pb::TransferState::Withdrawn) => out.extend([
                TransferState::Withdrawn,
                TransferState::WithdrawalNotified,
                TransferState::WithdrawalAcknowledged,
            ]),
            Ok(pb::TransferState::Purged) => out.push(TransferState::Purged),
            Err(_) => v.format(format!("{field}[{i}]"), "unknown transfer state"),
        }
    }
    out
}

/// A decline reason from the wire (`None` for `UNSPECIFIED`).
pub fn decline_reason_from_pb(r: pb::DeclineReason) -> Option<DeclineReason> {
    Some(match r {
        pb::DeclineReason::Unspecified => return None,
        pb::DeclineReason::NotResident => DeclineReason::NotResident,
        pb::DeclineReason::OutsideTargetGroup => DeclineReason::OutsideTargetGroup,
        pb::DeclineReason::YouthDeclinedSupport => DeclineReason::YouthDeclinedSupport,
        pb::DeclineReason::AlreadySupported => DeclineReason::AlreadySupported,
        pb::DeclineReason::InsufficientInformation => DeclineReason::InsufficientInformation,
        pb::DeclineReason::OtherRoute => DeclineReason::OtherRoute,
        pb::DeclineReason::Other => DeclineReason::Other,
    })
}

/// A decline reason on the wire.
pub fn decline_reason_to_pb(r: DeclineReason) -> pb::DeclineReason {
    match r {
        DeclineReason::NotResident => pb::DeclineReason::NotResident,
        DeclineReason::OutsideTargetGroup => pb::DeclineReason::OutsideTargetGroup,
        DeclineReason::YouthDeclinedSupport => pb::DeclineReason::YouthDeclinedSupport,
        DeclineReason::AlreadySupported => pb::DeclineReason::AlreadySupported,
        DeclineReason::InsufficientInformation => pb::DeclineReason::InsufficientInformation,
        DeclineReason::OtherRoute => pb::DeclineReason::OtherRoute,
        DeclineReason::Other => pb::DeclineReason::Other,
    }
}

/// A decision on the wire.
pub fn decision_to_pb(d: CaseDecision) -> pb::DecisionKind {
    match d {
        CaseDecision::Accept => pb::DecisionKind::Accept,
        CaseDecision::Decline => pb::DecisionKind::Decline,
    }
}

/// The sender's judgement on return to education (R6) as a policy fact.
pub fn return_to_education_fact(v: i32) -> Option<schakel_policy::ReturnToEducation> {
    match pb::ReturnToEducation::try_from(v).ok()? {
        pb::ReturnToEducation::Unspecified => None,
        pb::ReturnToEducation::NotPossible => Some(schakel_policy::ReturnToEducation::NotPossible),
        pb::ReturnToEducation::Possible => Some(schakel_policy::ReturnToEducation::Possible),
    }
}

/// The stored code of the sender's judgement on return to education (R6).
pub fn return_to_education_code(v: i32) -> Option<&'static str> {
    match pb::ReturnToEducation::try_from(v).ok()? {
        pb::ReturnToEducation::Unspecified => None,
        pb::ReturnToEducation::NotPossible => Some("not_possible"),
        pb::ReturnToEducation::Possible => Some("possible"),
    }
}

/// A stored return-to-education judgement code → proto.
pub fn return_to_education_pb(code: Option<&str>) -> pb::ReturnToEducation {
    match code {
        Some("not_possible") => pb::ReturnToEducation::NotPossible,
        Some("possible") => pb::ReturnToEducation::Possible,
        _ => pb::ReturnToEducation::Unspecified,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip_and_unspecified_is_none() {
        for k in OrgKind::ALL {
            assert_eq!(org_kind_from_pb(org_kind_to_pb(k) as i32), Some(k));
        }
        for f in FunctionKind::ALL {
            assert_eq!(function_from_pb(function_to_pb(f) as i32), Some(f));
        }
        assert_eq!(org_kind_from_pb(0), None);
        assert_eq!(function_from_pb(0), None);
        assert_eq!(function_from_pb(999), None);
    }
}
