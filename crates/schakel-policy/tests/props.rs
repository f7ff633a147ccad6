//! Property tests of the decision function and of region profiles.

mod common;

use std::collections::BTreeSet;

use common::*;
use jiff::ToSpan;
use jiff::civil::{Date, date};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use schakel_domain::{
    Consent, ConsentGiver, ConsentStatus, DiplomaLevel, FieldGroup, FunctionKind, OrgKind, SchoolType,
    VsoExitProfile,
};
use schakel_policy::{ConsentRef, Decision, Facts, Policy, decide, load};

const FORBIDDEN_FIELDS: &[&str] = &[
    "school_career.uwv_benefit",
    "identity.newcomer_status",
    "support_needs.diagnosis",
    "health.psychiatric",
    "identity.religion",
    "identity.criminal_record",
    "development.dagbesteding",
    "school_career.mbo_verklaring",
    "identity.ethnicity",
];

fn catalogue_paths(p: &Policy) -> Vec<String> {
    p.groups()
        .values()
        .flat_map(|g| g.fields.iter().map(move |f| format!("{}.{}", g.id, f.name)))
        .collect()
}

fn parties() -> Vec<schakel_domain::Party> {
    vec![
        party(SCHOOL_OIN, OrgKind::MboSchool, FunctionKind::School),
        party(SCHOOL_OIN, OrgKind::VsoSchool, FunctionKind::School),
        party(SCHOOL_OIN, OrgKind::ProSchool, FunctionKind::School),
        party(GEMEENTE_OIN, OrgKind::Gemeente, FunctionKind::Participatiewet),
        party(GEMEENTE_OIN, OrgKind::Gemeente, FunctionKind::Doorstroompunt),
        party(GEMEENTE_OIN, OrgKind::Gemeente, FunctionKind::PrivacyOfficer),
        party(
            OTHER_GEMEENTE_OIN,
            OrgKind::Gemeente,
            FunctionKind::Participatiewet,
        ),
    ]
}

/// Random changes to one of the five allowed baselines: enough of them stay
/// allowed, enough are refused, for the properties to bite both ways.
#[derive(Debug, Clone)]
struct Mutation {
    base: usize,
    today_shift: Option<i32>,
    dob_shift: Option<i16>,
    drop_fields: u32,
    add_fields: Vec<usize>,
    consent: u8,
    consent_groups: u16,
    drop_justifications: u16,
    region: bool,
    school_type: Option<usize>,
    exit_profile: Option<usize>,
    diploma: Option<usize>,
    sk_flip: bool,
    sender: Option<usize>,
    recipient: Option<usize>,
    open_request: Option<bool>,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    (
        (
            0usize..5,
            proptest::option::weighted(0.3, -500i32..1500),
            proptest::option::weighted(0.3, -12i16..12),
        ),
        (
            prop_oneof![3 => Just(0u32), 1 => any::<u32>()],
            proptest::collection::vec(0usize..60, 0..4),
            prop_oneof![4 => Just(0u8), 1 => 1u8..7],
            any::<u16>(),
            prop_oneof![3 => Just(0u16), 1 => any::<u16>()],
        ),
        (
            any::<bool>(),
            proptest::option::weighted(0.15, 0usize..5),
            proptest::option::weighted(0.15, 0usize..3),
            proptest::option::weighted(0.15, 0usize..9),
            proptest::bool::weighted(0.1),
        ),
        (
            proptest::option::weighted(0.1, 0usize..7),
            proptest::option::weighted(0.1, 0usize..7),
            proptest::option::weighted(0.1, any::<bool>()),
        ),
    )
        .prop_map(
            |(
                (base, today_shift, dob_shift),
                (drop_fields, add_fields, consent, consent_groups, drop_j),
                (region, school_type, exit_profile, diploma, sk_flip),
                (sender, recipient, open_request),
            )| Mutation {
                base,
                today_shift,
                dob_shift,
                drop_fields,
                add_fields,
                consent,
                consent_groups,
                drop_justifications: drop_j,
                region,
                school_type,
                exit_profile,
                diploma,
                sk_flip,
                sender,
                recipient,
                open_request,
            },
        )
}

fn apply(m: &Mutation, policy: &Policy) -> (Facts, Date) {
    let mut f = [
        school_handover,
        during_school,
        doorstroompunt_handover,
        expertise_request,
        expertise_advice,
    ][m.base]();
    let today = match m.today_shift {
        Some(d) => TODAY.checked_add(d.days()).unwrap(),
        None => TODAY,
    };
    if let Some(y) = m.dob_shift {
        f.subject.date_of_birth = f.subject.date_of_birth.checked_add(y.years()).unwrap();
    }
    let mut i = 0;
    f.fields.retain(|_| {
        i += 1;
        m.drop_fields & (1 << (i % 32)) == 0
    });
    let paths = catalogue_paths(policy);
    for &a in &m.add_fields {
        f.fields.push(paths[a % paths.len()].clone());
    }
    let groups: Vec<FieldGroup> = FieldGroup::ALL
        .into_iter()
        .enumerate()
        .filter(|(i, _)| m.consent_groups & (1 << i) != 0)
        .map(|x| x.1)
        .collect();
    match m.consent {
        1 => f.consent = ConsentRef::Absent,
        2 => {
            if let Some(c) = f.consent.recorded_mut() {
                let _ = c.withdraw(date(2026, 2, 2));
            }
        }
        3 if !groups.is_empty() => {
            f.consent = ConsentRef::Recorded(consent(
                ConsentGiver::Youth,
                f.purpose.as_str(),
                &f.recipient,
                &groups,
            ))
        }
        4 => {
            f.consent = ConsentRef::Recorded(consent(
                ConsentGiver::Parent,
                f.purpose.as_str(),
                &f.recipient,
                &FieldGroup::ALL,
            ))
        }
        5 => {
            f.consent = ConsentRef::Recorded(consent(
                ConsentGiver::Youth,
                "support.during_school",
                &f.recipient,
                &FieldGroup::ALL,
            ))
        }
        6 => {
            f.consent = ConsentRef::Recorded(consent(
                ConsentGiver::Youth,
                f.purpose.as_str(),
                &f.recipient,
                &FieldGroup::ALL,
            ))
        }
        _ => {}
    }
    let mut j = 0;
    f.justifications.retain(|_, _| {
        j += 1;
        m.drop_justifications & (1 << j) == 0
    });
    if m.region {
        f.region = Some("voorbeeldregio".into());
    }
    if let Some(t) = m.school_type {
        f.subject.school_type = Some(SchoolType::ALL[t]);
    }
    if let Some(p) = m.exit_profile {
        f.subject.vso_exit_profile = Some(VsoExitProfile::ALL[p]);
    }
    if let Some(d) = m.diploma {
        f.subject.diploma_level = Some(DiplomaLevel::ALL[d]);
        f.subject.diploma_date.get_or_insert(date(2025, 7, 1));
    }
    if m.sk_flip {
        f.subject.startkwalificatie = f.subject.startkwalificatie.map(|b| !b);
    }
    let ps = parties();
    if let Some(s) = m.sender {
        f.sender = ps[s].clone();
    }
    if let Some(r) = m.recipient {
        f.recipient = ps[r].clone();
    }
    if let Some(o) = m.open_request {
        f.open_expertise_request = o;
    }
    (f, today)
}

fn consent_matches(c: Option<&Consent>, f: &Facts, today: Date, groups: &BTreeSet<FieldGroup>) -> bool {
    c.is_some_and(|c| {
        c.status() == ConsentStatus::Given
            && c.in_force_on(today)
            && c.scope().purpose == f.purpose
            && c.scope().recipient_oin == *f.recipient.oin()
            && c.scope().recipient_function == f.recipient.function()
            && groups.is_subset(&c.scope().groups)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn never_allows_a_group_the_catalogue_does_not_allow(m in mutation()) {
        let policy = policy();
        let (f, today) = apply(&m, &policy);
        if let Decision::Allowed { groups, purpose, .. } = decide(&f, &policy, today) {
            for g in &groups {
                let def = &policy.groups()[&g.group];
                prop_assert!(def.purposes.contains(&purpose), "{} allowed for {}", g.group, purpose);
                let p = policy.purpose_on(&purpose, today).unwrap();
                prop_assert_eq!(&g.recipient_functions, &p.recipient_functions);
            }
            // And every field sent is a catalogue field of an allowed group.
            let paths = catalogue_paths(&policy);
            for field in &f.fields {
                prop_assert!(paths.contains(field), "{} allowed", field);
            }
        }
    }

    #[test]
    fn never_allows_consent_purposes_without_matching_consent(m in mutation()) {
        let policy = policy();
        let (f, today) = apply(&m, &policy);
        if let Decision::Allowed { groups, purpose, .. } = decide(&f, &policy, today) {
            let p = policy.purpose_on(&purpose, today).unwrap();
            if p.consent.required {
                let groups: BTreeSet<FieldGroup> = groups.iter().map(|g| g.group).collect();
                prop_assert!(consent_matches(f.consent.recorded(), &f, today, &groups));
            }
        }
    }

    #[test]
    fn forbidden_fields_never_turn_a_refusal_into_an_acceptance(
        m in mutation(),
        extra in proptest::collection::vec(0usize..FORBIDDEN_FIELDS.len(), 1..4),
    ) {
        let policy = policy();
        let (mut f, today) = apply(&m, &policy);
        let before = decide(&f, &policy, today);
        for e in extra {
            f.fields.push(FORBIDDEN_FIELDS[e].to_owned());
        }
        let after = decide(&f, &policy, today);
        prop_assert!(!after.is_allowed());
        // Every earlier violation is still reported (except "the document is
        // empty", which adding fields rightly resolves).
        for v in before.violations().iter().filter(|v| v.field_path != "fields") {
            prop_assert!(after.violations().contains(v), "lost {v}");
        }
    }

    #[test]
    fn a_region_never_allows_more_than_the_catalogue(m in mutation()) {
        let policy = policy();
        let (mut f, today) = apply(&m, &policy);
        f.region = Some("voorbeeldregio".into());
        if let Decision::Allowed { groups, retention, .. } = decide(&f, &policy, today) {
            f.region = None;
            match decide(&f, &policy, today) {
                Decision::Allowed { groups: without, retention: r2, .. } => {
                    prop_assert_eq!(groups, without);
                    prop_assert!(retention.months <= r2.months);
                }
                Decision::Refused { .. } => prop_assert!(false, "region allowed what the catalogue refuses"),
            }
        }
    }

    #[test]
    fn a_region_profile_never_widens(
        purpose in 0usize..5,
        groups in any::<u16>(),
        retention in 1u16..40,
    ) {
        let ids = ["handover.school_to_gemeente", "support.during_school", "handover.doorstroompunt_to_gemeente",
                   "expertise.request", "expertise.advice"];
        let chosen: Vec<FieldGroup> = FieldGroup::ALL.into_iter().enumerate()
            .filter(|(i, _)| groups & (1 << i) != 0).map(|x| x.1).collect();
        let text = format!(
            "[[profile]]\nregion = \"proefregio\"\ntitle = \"t\"\n\n[[profile.purpose]]\nid = \"{}\"\ngroups = [{}]\nretention_months = {}\n",
            ids[purpose],
            chosen.iter().map(|g| format!("\"{g}\"")).collect::<Vec<_>>().join(", "),
            retention,
        );
        let mut files = FILES.to_vec();
        files.push(("region-proef.toml", &text));
        let base = common::policy();
        let pid = pid(ids[purpose]);
        let narrows = chosen.iter().all(|g| base.groups()[g].purposes.contains(&pid))
            && base.purpose_versions(&pid).all(|p| retention <= p.retention_months);
        match load(&files) {
            Ok(p) => {
                prop_assert!(narrows, "a widening profile loaded");
                let pp = &p.profiles()["proefregio"].purposes[&pid];
                for g in &pp.groups {
                    prop_assert!(p.groups()[g].purposes.contains(&pid));
                }
            }
            Err(e) => {
                prop_assert!(!narrows, "a narrowing profile was refused: {e}");
                prop_assert!(e.issues().iter().all(|i| i.file == "region-proef.toml" && i.line.is_some()));
            }
        }
    }
}

#[test]
fn mutations_reach_both_outcomes() {
    // Guard against a vacuous generator: a fixed sample has both outcomes.
    let policy = policy();
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let (mut allowed, mut refused) = (0, 0);
    for _ in 0..300 {
        let m = mutation().new_tree(&mut runner).unwrap().current();
        let (f, today) = apply(&m, &policy);
        if decide(&f, &policy, today).is_allowed() {
            allowed += 1
        } else {
            refused += 1
        }
    }
    assert!(
        allowed >= 20 && refused >= 20,
        "allowed {allowed}, refused {refused}"
    );
}
