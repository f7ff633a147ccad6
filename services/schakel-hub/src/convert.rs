//! Conversions between proto messages and domain/store types, at the edge.

use jiff::Timestamp;
use schakel_domain::{FunctionKind, OrgKind};
use schakel_proto::v1 as pb;
use schakel_store::{Organisation, RecipientKey};

use crate::regions::RegionTable;

/// Domain → proto organisation kind.
pub fn org_kind_to_pb(k: OrgKind) -> pb::OrgKind {
    match k {
        OrgKind::ProSchool => pb::OrgKind::ProSchool,
        OrgKind::VsoSchool => pb::OrgKind::VsoSchool,
        OrgKind::MboSchool => pb::OrgKind::MboSchool,
        OrgKind::Gemeente => pb::OrgKind::Gemeente,
        OrgKind::Admin => pb::OrgKind::Admin,
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
