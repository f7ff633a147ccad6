//! Shared test helpers: the committed policy and a valid baseline request.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::{Date, date};
use schakel_domain::{
    Consent, ConsentGiver, ConsentMethod, ConsentScope, DiplomaLevel, FieldGroup, FunctionKind, Oin, OrgKind,
    Party, PurposeId, SchoolType,
};
use schakel_policy::{
    Channel, ConsentRef, Decision, Facts, Policy, ReturnToEducation, RuleId, SealingKeys, Subject, load,
};

/// The committed policy files, as the hub would read them.
pub const FILES: &[(&str, &str)] = &[
    (
        "catalogue.toml",
        include_str!("../../../../policy/catalogue.toml"),
    ),
    (
        "forbidden.toml",
        include_str!("../../../../policy/forbidden.toml"),
    ),
    ("purposes.toml", include_str!("../../../../policy/purposes.toml")),
    (
        "region-voorbeeld.toml",
        include_str!("../../../../policy/region-voorbeeld.toml"),
    ),
];

pub fn policy() -> Policy {
    match load(FILES) {
        Ok(p) => p,
        Err(e) => panic!("committed policy must load: {e}"),
    }
}

pub const SCHOOL_OIN: &str = "00000001000000000001";
pub const GEMEENTE_OIN: &str = "00000001000000000363";
pub const OTHER_GEMEENTE_OIN: &str = "00000001000000000599";

pub fn oin(s: &str) -> Oin {
    s.parse().unwrap()
}

pub fn party(oin_s: &str, kind: OrgKind, f: FunctionKind) -> Party {
    Party::new(oin(oin_s), kind, f).unwrap()
}

pub fn pid(s: &str) -> PurposeId {
    s.parse().unwrap()
}

/// The day most tests decide on.
pub const TODAY: Date = date(2026, 3, 2);

pub const ALL_GROUPS: [FieldGroup; 9] = FieldGroup::ALL;

pub fn consent(giver: ConsentGiver, purpose: &str, recipient: &Party, groups: &[FieldGroup]) -> Consent {
    Consent::given(
        giver,
        ConsentScope {
            purpose: pid(purpose),
            recipient_oin: recipient.oin().clone(),
            recipient_function: recipient.function(),
            groups: groups.iter().copied().collect(),
            explicit_special_fields: BTreeSet::new(),
        },
        ConsentMethod::Written,
        "loopbaanbegeleider-3".into(),
        date(2026, 2, 1),
        None,
    )
    .unwrap()
}

pub fn fields(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

pub const HANDOVER_FIELDS: &[&str] = &[
    "identity.bsn",
    "identity.date_of_birth",
    "identity.given_names",
    "identity.surname",
    "identity.date_of_birth",
    "contact.youth.postcode",
    "contact.school.brin",
    "school_career.school_type",
    "school_career.leave_date",
    "skills.skills",
    "wishes.desired_work",
    "support_needs.job_coach",
];

/// An mbo school hands over a 20-year-old who got an mbo 2 diploma and left
/// on 2026-01-15, with the youth's consent for every group. Allowed on TODAY.
pub fn school_handover() -> Facts {
    let recipient = party(GEMEENTE_OIN, OrgKind::Gemeente, FunctionKind::Participatiewet);
    Facts {
        purpose: pid("handover.school_to_gemeente"),
        sender: party(SCHOOL_OIN, OrgKind::MboSchool, FunctionKind::School),
        channel: Channel::Transfer,
        keys: SealingKeys {
            recipient: true,
            sender: true,
        },
        refused_by_youth_since: false,
        special_text: Vec::new(),
        consent: ConsentRef::Recorded(consent(
            ConsentGiver::Youth,
            "handover.school_to_gemeente",
            &recipient,
            &ALL_GROUPS,
        )),
        recipient,
        region: None,
        subject: Subject {
            date_of_birth: date(2005, 5, 5),
            school_type: Some(SchoolType::Mbo),
            vso_exit_profile: None,
            leave_date: Some(date(2026, 1, 15)),
            diploma_level: Some(DiplomaLevel::Mbo2),
            diploma_date: Some(date(2026, 1, 15)),
            startkwalificatie: Some(true),
        },
        fields: fields(HANDOVER_FIELDS),
        justifications: BTreeMap::new(),
        justified_fields: BTreeMap::new(),
        hardheidsclausule_invoked: false,
        hardheidsclausule_decision: false,
        open_expertise_request: false,
        return_to_education: Some(ReturnToEducation::NotPossible),
    }
}

/// A school asks for support during school for an enrolled 16-year-old pro
/// pupil, with a parent's consent. Allowed on TODAY.
pub fn during_school() -> Facts {
    let mut f = school_handover();
    f.purpose = pid("support.during_school");
    f.sender = party(SCHOOL_OIN, OrgKind::ProSchool, FunctionKind::School);
    f.subject = Subject {
        date_of_birth: date(2010, 1, 10),
        school_type: Some(SchoolType::Pro),
        vso_exit_profile: None,
        leave_date: None,
        diploma_level: None,
        diploma_date: None,
        startkwalificatie: Some(false),
    };
    f.return_to_education = None;
    f.consent = ConsentRef::Recorded(consent(
        ConsentGiver::Parent,
        "support.during_school",
        &f.recipient,
        &ALL_GROUPS,
    ));
    f.fields = fields(&[
        "identity.bsn",
        "identity.date_of_birth",
        "identity.date_of_birth",
        "identity.surname",
        "school_career.school_type",
        "wishes.desired_work",
    ]);
    f
}

pub const JUSTIFICATION: &str =
    "Needed for this youth's case: the werkcoach plans the leerwerktraject with it.";

/// The Doorstroompunt hands over a 19-year-old without startkwalificatie,
/// justifying every group. Allowed on TODAY.
pub fn doorstroompunt_handover() -> Facts {
    let mut f = school_handover();
    f.purpose = pid("handover.doorstroompunt_to_gemeente");
    f.sender = party(GEMEENTE_OIN, OrgKind::Gemeente, FunctionKind::Doorstroompunt);
    f.consent = ConsentRef::Absent;
    f.subject = Subject {
        date_of_birth: date(2006, 9, 1),
        school_type: Some(SchoolType::Mbo),
        vso_exit_profile: None,
        leave_date: Some(date(2025, 6, 1)),
        diploma_level: Some(DiplomaLevel::MboEntree),
        diploma_date: Some(date(2024, 7, 1)),
        startkwalificatie: Some(false),
    };
    f.fields = fields(&[
        "identity.bsn",
        "identity.date_of_birth",
        "identity.date_of_birth",
        "identity.surname",
        "school_career.school_type",
        "doorstroompunt.history.absence_record",
    ]);
    f.justifications = [
        FieldGroup::Identity,
        FieldGroup::SchoolCareer,
        FieldGroup::DoorstroompuntHistory,
    ]
    .into_iter()
    .map(|g| (g, JUSTIFICATION.to_owned()))
    .collect();
    // R8: Doorstroompunt data is chosen field by field.
    f.justified_fields = [(
        FieldGroup::DoorstroompuntHistory,
        ["absence_record".to_owned()].into(),
    )]
    .into();
    f
}

/// The gemeente's Participatiewet side hands a 19-year-old without
/// startkwalificatie to its Doorstroompunt, which takes over guidance back
/// to school (R7), justifying every group. Allowed on TODAY.
pub fn takeover() -> Facts {
    let mut f = doorstroompunt_handover();
    f.purpose = pid("handover.gemeente_to_doorstroompunt");
    f.sender = party(GEMEENTE_OIN, OrgKind::Gemeente, FunctionKind::Participatiewet);
    f.recipient = party(GEMEENTE_OIN, OrgKind::Gemeente, FunctionKind::Doorstroompunt);
    f.return_to_education = None;
    f.keys.sender = false;
    f.fields = fields(&[
        "identity.bsn",
        "identity.date_of_birth",
        "identity.surname",
        "contact.youth.phone",
        "school_career.school_type",
        "wishes.desired_work",
    ]);
    f.justifications = [
        FieldGroup::Identity,
        FieldGroup::ContactYouth,
        FieldGroup::SchoolCareer,
        FieldGroup::Wishes,
    ]
    .into_iter()
    .map(|g| (g, JUSTIFICATION.to_owned()))
    .collect();
    f
}

/// The gemeente's Participatiewet side asks its Doorstroompunt for advice.
pub fn expertise_request() -> Facts {
    let mut f = doorstroompunt_handover();
    f.purpose = pid("expertise.request");
    f.channel = Channel::Expertise;
    f.sender = party(GEMEENTE_OIN, OrgKind::Gemeente, FunctionKind::Participatiewet);
    f.recipient = party(GEMEENTE_OIN, OrgKind::Gemeente, FunctionKind::Doorstroompunt);
    f.fields = fields(&[
        "identity.bsn",
        "identity.date_of_birth",
        "school_career.school_type",
    ]);
    f.justifications.clear();
    f.return_to_education = None;
    f
}

/// The Doorstroompunt answers an open expertise request.
pub fn expertise_advice() -> Facts {
    let mut f = doorstroompunt_handover();
    f.purpose = pid("expertise.advice");
    f.channel = Channel::Expertise;
    f.open_expertise_request = true;
    f
}

pub fn violations(d: &Decision) -> Vec<(RuleId, String)> {
    d.violations()
        .iter()
        .map(|v| (v.rule, v.field_path.clone()))
        .collect()
}

/// Assert the decision is refused with (at least) this rule at this path.
pub fn assert_refused(d: &Decision, rule: RuleId, path: &str, case: &str) {
    assert!(
        !d.is_allowed(),
        "{case}: expected refusal {rule} {path}, got {d:?}"
    );
    assert!(
        d.violations()
            .iter()
            .any(|v| v.rule == rule && v.field_path == path),
        "{case}: expected {rule} at {path}, got {:?}",
        violations(d)
    );
}

pub fn assert_allowed(d: &Decision, case: &str) {
    assert!(
        d.is_allowed(),
        "{case}: expected allowed, got {:?}",
        violations(d)
    );
}

/// A table case: a name, a change to a baseline, the decision date, and
/// either `None` (allowed) or the rule and field path expected.
pub struct Case {
    pub name: &'static str,
    pub base: fn() -> Facts,
    pub change: fn(&mut Facts),
    pub today: Date,
    pub expect: Option<(RuleId, &'static str)>,
}

pub fn run(cases: &[Case]) {
    let policy = policy();
    for c in cases {
        let mut facts = (c.base)();
        (c.change)(&mut facts);
        let d = schakel_policy::decide(&facts, &policy, c.today);
        match c.expect {
            None => assert_allowed(&d, c.name),
            Some((rule, path)) => assert_refused(&d, rule, path, c.name),
        }
        for v in d.violations() {
            assert!(
                !v.message.is_empty() && !v.field_path.is_empty(),
                "{}: empty violation",
                c.name
            );
        }
    }
}

pub fn same(_: &mut Facts) {}
