//! Table-driven tests per rule of domain.md §3: at least one allowed and one
//! refused case each; refused cases assert the rule id and the field path.

mod common;

use std::collections::BTreeSet;

use common::*;
use jiff::civil::date;
use schakel_domain::{
    Consent, ConsentGiver, ConsentMethod, ConsentScope, DiplomaLevel, FieldGroup, FieldPath, FunctionKind,
    OrgKind, SchoolType, VsoExitProfile,
};
use schakel_policy::{
    Channel, ConsentRef, ConsentToRecord, Decision, Ground, HardheidsclausuleDecision, ReturnToEducation,
    RuleId, SpecialText, SupportBasis, decide, decide_consent_record, decide_hardheidsclausule, load,
};
use schakel_policy::{Mandate, NewMandate, check_acting, check_new_mandate, delivery};

const R: fn(u8) -> RuleId = |n| format!("R{n}").parse().unwrap();

#[test]
fn r1_purposes_apply_from_2026_01_01() {
    run(&[
        Case {
            name: "first day",
            base: expertise_request,
            change: same,
            today: date(2026, 1, 1),
            expect: None,
        },
        Case {
            name: "day before",
            base: expertise_request,
            change: same,
            today: date(2025, 12, 31),
            expect: Some((R(1), "purpose")),
        },
        Case {
            name: "unknown purpose",
            base: school_handover,
            change: |f| f.purpose = pid("handover.anything_else"),
            today: TODAY,
            expect: Some((R(1), "purpose")),
        },
    ]);
}

#[test]
fn r1_versions_are_chosen_by_date() {
    // A later law change: the purpose closes on 2026-12-31 and a new version
    // without the hardheidsclausule starts on 2027-01-01.
    let original = FILES[2].1;
    let first_block = original.split("[[purpose]]").nth(1).unwrap();
    let closed = original.replacen(
        "valid_from = \"2026-01-01\"\n",
        "valid_from = \"2026-01-01\"\nvalid_until = \"2026-12-31\"\n",
        1,
    );
    let next = first_block
        .replacen("valid_from = \"2026-01-01\"", "valid_from = \"2027-01-01\"", 1)
        .replacen("hardheidsclausule = true", "hardheidsclausule = false", 1);
    let purposes = format!("{closed}\n[[purpose]]{next}");
    let files = [FILES[0], FILES[1], ("purposes.toml", purposes.as_str())];
    let policy = load(&files).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        policy
            .purpose_versions(&pid("handover.school_to_gemeente"))
            .count(),
        2
    );
    let mut f = school_handover();
    f.subject.date_of_birth = date(1999, 1, 1);
    f.subject.leave_date = Some(date(2026, 6, 1));
    f.subject.diploma_date = Some(date(2026, 6, 1));
    f.hardheidsclausule_decision = true;
    assert_allowed(&decide(&f, &policy, date(2026, 12, 31)), "old version");
    assert_refused(
        &decide(&f, &policy, date(2027, 1, 1)),
        R(2),
        "identity.date_of_birth",
        "new version",
    );
}

#[test]
fn r2_under_27_or_hardheidsclausule() {
    fn born_1999_03_10(f: &mut schakel_policy::Facts) {
        f.subject.date_of_birth = date(1999, 3, 10);
    }
    run(&[
        Case {
            name: "26",
            base: school_handover,
            change: born_1999_03_10,
            today: date(2026, 3, 9),
            expect: None,
        },
        Case {
            name: "27th birthday",
            base: school_handover,
            change: born_1999_03_10,
            today: date(2026, 3, 10),
            expect: Some((R(2), "identity.date_of_birth")),
        },
        Case {
            name: "27 while the gemeente's own hardheidsclausule decision holds",
            base: school_handover,
            change: |f| {
                f.subject.date_of_birth = date(1998, 1, 1);
                f.hardheidsclausule_decision = true;
            },
            today: TODAY,
            expect: None,
        },
        Case {
            name: "a school invoking the hardheidsclausule itself, past 27",
            base: school_handover,
            change: |f| {
                f.subject.date_of_birth = date(1998, 1, 1);
                f.hardheidsclausule_invoked = true;
            },
            today: TODAY,
            expect: Some((R(2), "hardheidsclausule")),
        },
        Case {
            name: "a school invoking the hardheidsclausule for a youth under 27",
            base: school_handover,
            change: |f| f.hardheidsclausule_invoked = true,
            today: TODAY,
            expect: Some((R(2), "hardheidsclausule")),
        },
        Case {
            name: "a sender invoking it even while the gemeente's decision holds",
            base: school_handover,
            change: |f| {
                f.subject.date_of_birth = date(1998, 1, 1);
                f.hardheidsclausule_decision = true;
                f.hardheidsclausule_invoked = true;
            },
            today: TODAY,
            expect: Some((R(2), "hardheidsclausule")),
        },
        Case {
            name: "the Doorstroompunt has no basis past 27, whatever the gemeente decided (R3)",
            base: doorstroompunt_handover,
            change: |f| {
                f.subject.date_of_birth = date(1998, 1, 1);
                f.hardheidsclausule_decision = true;
            },
            today: TODAY,
            expect: Some((R(2), "identity.date_of_birth")),
        },
        Case {
            name: "date of birth in the future",
            base: school_handover,
            change: |f| f.subject.date_of_birth = date(2027, 1, 1),
            today: TODAY,
            expect: Some((R(2), "identity.date_of_birth")),
        },
    ]);
}

/// R2: the gemeente's own hardheidsclausule decision, for a youth it already
/// supports, with a written justification and a period past the 27th
/// birthday.
#[test]
fn r2_the_gemeente_decides_the_hardheidsclausule() {
    fn valid() -> HardheidsclausuleDecision {
        HardheidsclausuleDecision {
            decider: party(GEMEENTE_OIN, OrgKind::Gemeente, FunctionKind::Participatiewet),
            date_of_birth: date(1999, 5, 1),
            basis: SupportBasis::Transfer { accepted: true },
            justification:
                "Rondt de bbl-opleiding af die voor de 27e verjaardag begon; de leerbaan hangt ervan af."
                    .into(),
            valid_from: TODAY,
            valid_until: date(2026, 12, 31),
            today: TODAY,
        }
    }
    let p = policy();
    assert_eq!(decide_hardheidsclausule(&valid(), &p), Vec::new());
    let own_case = HardheidsclausuleDecision {
        basis: SupportBasis::CaseReference,
        ..valid()
    };
    assert_eq!(decide_hardheidsclausule(&own_case, &p), Vec::new());
    /// A change of the valid decision, and the violation it must cause.
    type Change = (
        &'static str,
        fn(&mut HardheidsclausuleDecision),
        RuleId,
        &'static str,
        Ground,
    );
    let cases: &[Change] = &[
        (
            "a school cannot decide it",
            |d| d.decider = party(SCHOOL_OIN, OrgKind::MboSchool, FunctionKind::School),
            R(9),
            "caller",
            Ground::Request,
        ),
        (
            "nor the gemeente's Doorstroompunt",
            |d| d.decider = party(GEMEENTE_OIN, OrgKind::Gemeente, FunctionKind::Doorstroompunt),
            R(9),
            "caller",
            Ground::Request,
        ),
        (
            "no support to continue",
            |d| d.basis = SupportBasis::Missing,
            R(2),
            "accepted_transfer_id",
            Ground::Request,
        ),
        (
            "a transfer not yet accepted",
            |d| d.basis = SupportBasis::Transfer { accepted: false },
            R(2),
            "accepted_transfer_id",
            Ground::Case,
        ),
        (
            "a transfer this function did not receive for this youth",
            |d| d.basis = SupportBasis::UnknownTransfer,
            R(2),
            "accepted_transfer_id",
            Ground::Request,
        ),
        (
            "no real justification",
            |d| d.justification = "   bbl   ".into(),
            R(2),
            "justification",
            Ground::Request,
        ),
        (
            "a diagnosis in the justification",
            |d| d.justification = "Diagnose: ADHD, gebruikt medicatie; rondt de opleiding af.".into(),
            R(16),
            "justification",
            Ground::Request,
        ),
        (
            "back-dated",
            |d| d.valid_from = date(2026, 3, 1),
            R(2),
            "valid_from",
            Ground::Request,
        ),
        (
            "ends before it starts",
            |d| d.valid_until = date(2026, 3, 1),
            R(2),
            "valid_until",
            Ground::Request,
        ),
        (
            "longer than two years",
            |d| d.valid_until = date(2028, 3, 3),
            R(2),
            "valid_until",
            Ground::Request,
        ),
        (
            "ends before the 27th birthday: nothing to cover",
            |d| d.valid_until = date(2026, 4, 30),
            R(2),
            "valid_until",
            Ground::Request,
        ),
    ];
    for (name, change, rule, path, ground) in cases {
        let mut d = valid();
        change(&mut d);
        let found = decide_hardheidsclausule(&d, &p);
        assert!(
            found
                .iter()
                .any(|v| v.rule == *rule && v.field_path == *path && v.ground == *ground),
            "{name}: expected {rule} {path} ({ground:?}), got {found:?}"
        );
        for v in &found {
            assert!(
                !v.message.contains("ADHD"),
                "{name}: the message repeats the text: {v:?}"
            );
        }
    }
    // Exactly two years is allowed; one day more is not.
    let mut d = valid();
    d.valid_until = date(2028, 3, 2);
    assert_eq!(decide_hardheidsclausule(&d, &p), Vec::new());
}

const WERKBEDRIJF_OIN: &str = "00000001000000000777";

/// R9: a gemeente mandates its task to another organisation, explicitly,
/// under a processing agreement, for a period; one organisation at a time.
#[test]
fn r9_a_mandate_is_explicit_and_recorded() {
    fn valid() -> NewMandate {
        NewMandate {
            mandating_kind: OrgKind::Gemeente,
            mandating: party(GEMEENTE_OIN, OrgKind::Gemeente, FunctionKind::Participatiewet),
            mandated: party(
                WERKBEDRIJF_OIN,
                OrgKind::Uitvoeringsorganisatie,
                FunctionKind::Participatiewet,
            ),
            agreement_ref: "VWO-2026-014".into(),
            valid_from: TODAY,
            valid_until: date(2027, 12, 31),
            today: TODAY,
        }
    }
    fn recorded(
        from: jiff::civil::Date,
        until: jiff::civil::Date,
        ended_on: Option<jiff::civil::Date>,
    ) -> Mandate {
        let v = valid();
        Mandate {
            mandating: v.mandating.key(),
            mandated: party(
                OTHER_GEMEENTE_OIN,
                OrgKind::Gemeente,
                FunctionKind::Participatiewet,
            )
            .key(),
            valid_from: from,
            valid_until: until,
            ended_on,
        }
    }
    assert_eq!(check_new_mandate(&valid(), &[]), Vec::new());
    // A centrumgemeente may carry out another gemeente's task too.
    let to_gemeente = NewMandate {
        mandated: party(
            OTHER_GEMEENTE_OIN,
            OrgKind::Gemeente,
            FunctionKind::Participatiewet,
        ),
        ..valid()
    };
    assert_eq!(check_new_mandate(&to_gemeente, &[]), Vec::new());
    // One that ended, or one of another task, does not stand in the way.
    let ended = recorded(date(2026, 1, 1), date(2027, 1, 1), Some(date(2026, 3, 1)));
    assert_eq!(check_new_mandate(&valid(), &[ended]), Vec::new());
    type Change = (&'static str, fn(&mut NewMandate), &'static str);
    let cases: &[Change] = &[
        (
            "a school mandates nothing",
            |m| m.mandating_kind = OrgKind::MboSchool,
            "mandating_oin",
        ),
        (
            "the privacy officer's function is not a task to mandate",
            |m| {
                m.mandating = party(GEMEENTE_OIN, OrgKind::Gemeente, FunctionKind::PrivacyOfficer);
                m.mandated = party(
                    WERKBEDRIJF_OIN,
                    OrgKind::Uitvoeringsorganisatie,
                    FunctionKind::PrivacyOfficer,
                );
            },
            "function",
        ),
        (
            "the mandated function is another task (R9: functions are separate purposes)",
            |m| {
                m.mandated = party(
                    WERKBEDRIJF_OIN,
                    OrgKind::Uitvoeringsorganisatie,
                    FunctionKind::Doorstroompunt,
                )
            },
            "function",
        ),
        (
            "a gemeente does not mandate itself",
            |m| m.mandated = party(GEMEENTE_OIN, OrgKind::Gemeente, FunctionKind::Participatiewet),
            "mandated_oin",
        ),
        (
            "no processing agreement named",
            |m| m.agreement_ref = "   ".into(),
            "processing_agreement",
        ),
        (
            "an agreement reference over two lines",
            |m| m.agreement_ref = "VWO-2026\n014".into(),
            "processing_agreement",
        ),
        ("back-dated", |m| m.valid_from = date(2026, 3, 1), "valid_from"),
        (
            "ends before it starts",
            |m| m.valid_until = date(2026, 3, 1),
            "valid_until",
        ),
    ];
    for (name, change, path) in cases {
        let mut m = valid();
        change(&mut m);
        let found = check_new_mandate(&m, &[]);
        assert!(
            found.iter().any(|v| v.rule == R(9) && v.field_path == *path),
            "{name}: expected R9 {path}, got {found:?}"
        );
    }
    // Two organisations never carry out one task of one gemeente at once.
    let holding = recorded(date(2026, 1, 1), date(2026, 6, 30), None);
    let found = check_new_mandate(&valid(), std::slice::from_ref(&holding));
    assert!(
        found
            .iter()
            .any(|v| v.rule == R(9) && v.field_path == "valid_from" && v.message.contains("2026-06-30")),
        "{found:?}"
    );
    let after = NewMandate {
        valid_from: date(2026, 7, 1),
        ..valid()
    };
    assert_eq!(check_new_mandate(&after, &[holding]), Vec::new());
}

/// R9: data for the gemeente goes to the mandated organisation while the
/// mandate holds, and only then may it act for the gemeente.
#[test]
fn r9_the_mandated_organisation_acts_only_while_the_mandate_holds() {
    let gemeente = party(GEMEENTE_OIN, OrgKind::Gemeente, FunctionKind::Participatiewet);
    let werkbedrijf = party(
        WERKBEDRIJF_OIN,
        OrgKind::Uitvoeringsorganisatie,
        FunctionKind::Participatiewet,
    );
    let (gemeente, werkbedrijf) = (gemeente.key(), werkbedrijf.key());
    let m = Mandate {
        mandating: gemeente.clone(),
        mandated: werkbedrijf.clone(),
        valid_from: date(2026, 2, 1),
        valid_until: date(2026, 12, 31),
        ended_on: None,
    };
    let mandates = [m.clone()];
    // Delivery: the mandated organisation from the first to the last day.
    assert_eq!(delivery(&mandates, &gemeente, date(2026, 1, 31)), None);
    assert_eq!(delivery(&mandates, &gemeente, date(2026, 2, 1)), Some(&m));
    assert_eq!(delivery(&mandates, &gemeente, date(2026, 12, 31)), Some(&m));
    assert_eq!(delivery(&mandates, &gemeente, date(2027, 1, 1)), None);
    // Another task of the same gemeente is not covered.
    let doorstroompunt = party(GEMEENTE_OIN, OrgKind::Gemeente, FunctionKind::Doorstroompunt).key();
    assert_eq!(delivery(&mandates, &doorstroompunt, TODAY), None);
    // Acting: the mandated function, while it holds.
    assert_eq!(check_acting(&m, &werkbedrijf, TODAY, "transfer_id"), Ok(()));
    let refused = |actor: &(schakel_domain::Oin, FunctionKind), day| {
        check_acting(&m, actor, day, "transfer_id").expect_err("refused")
    };
    let other = refused(&gemeente, TODAY);
    assert_eq!(
        (other.rule, other.field_path.as_str(), other.ground),
        (R(9), "transfer_id", Ground::Request)
    );
    let late = refused(&werkbedrijf, date(2027, 1, 1));
    assert_eq!((late.rule, late.ground), (R(9), Ground::Case));
    assert!(late.message.contains("2026-12-31"), "{late:?}");
    // Ended early by the operator: the ending day is the last.
    let ended = Mandate {
        ended_on: Some(date(2026, 3, 1)),
        ..m.clone()
    };
    assert_eq!(ended.last_day(), date(2026, 3, 1));
    assert!(check_acting(&ended, &werkbedrijf, date(2026, 3, 1), "x").is_ok());
    assert!(check_acting(&ended, &werkbedrijf, TODAY, "x").is_err());
    assert_eq!(delivery(&[ended], &gemeente, TODAY), None);
}

#[test]
fn r2_leap_day_birthday_reaches_27_on_1_march() {
    let p = policy();
    let mut f = school_handover();
    f.subject.date_of_birth = date(2000, 2, 29);
    f.subject.leave_date = Some(date(2026, 6, 1));
    f.subject.diploma_date = Some(date(2026, 6, 1));
    assert_allowed(&decide(&f, &p, date(2027, 2, 28)), "26 on 28 Feb 2027");
    assert_refused(
        &decide(&f, &p, date(2027, 3, 1)),
        R(2),
        "identity.date_of_birth",
        "27 on 1 Mar 2027",
    );
}

#[test]
fn r3_doorstroompunt_only_without_startkwalificatie() {
    run(&[
        Case {
            name: "entree diploma is not a startkwalificatie",
            base: doorstroompunt_handover,
            change: same,
            today: TODAY,
            expect: None,
        },
        Case {
            name: "stated startkwalificatie",
            base: doorstroompunt_handover,
            change: |f| f.subject.startkwalificatie = Some(true),
            today: TODAY,
            expect: Some((R(3), "school_career.startkwalificatie")),
        },
        Case {
            name: "mbo 2 diploma",
            base: doorstroompunt_handover,
            change: |f| {
                f.subject.diploma_level = Some(DiplomaLevel::Mbo2);
                f.subject.startkwalificatie = Some(true);
            },
            today: TODAY,
            expect: Some((R(3), "school_career.startkwalificatie")),
        },
        Case {
            name: "havo diploma contradicts 'no startkwalificatie'",
            base: school_handover,
            change: |f| {
                f.subject.diploma_level = Some(DiplomaLevel::Havo);
                f.subject.startkwalificatie = Some(false);
            },
            today: TODAY,
            expect: Some((R(3), "school_career.startkwalificatie")),
        },
        Case {
            name: "school handover does not need absence of startkwalificatie",
            base: school_handover,
            change: same,
            today: TODAY,
            expect: None,
        },
    ]);
}

#[test]
fn r4_consent_and_windows() {
    run(&[
        Case {
            name: "youth of 20 consents",
            base: school_handover,
            change: same,
            today: TODAY,
            expect: None,
        },
        Case {
            name: "no consent",
            base: school_handover,
            change: |f| f.consent = ConsentRef::Absent,
            today: TODAY,
            expect: Some((R(4), "consent")),
        },
        Case {
            name: "consent refused (R13: recorded, respected)",
            base: school_handover,
            change: |f| {
                let c = f.consent.recorded().cloned().unwrap();
                f.consent = ConsentRef::Recorded(
                    Consent::refused(
                        c.giver(),
                        c.scope().clone(),
                        c.method(),
                        "mentor".into(),
                        date(2026, 2, 1),
                    )
                    .unwrap(),
                );
            },
            today: TODAY,
            expect: Some((R(4), "consent.status")),
        },
        Case {
            name: "consent withdrawn",
            base: school_handover,
            change: |f| {
                f.consent
                    .recorded_mut()
                    .unwrap()
                    .withdraw(date(2026, 2, 20))
                    .unwrap()
            },
            today: TODAY,
            expect: Some((R(4), "consent.status")),
        },
        Case {
            name: "consent for another gemeente",
            base: school_handover,
            change: |f| {
                let other = party(
                    OTHER_GEMEENTE_OIN,
                    OrgKind::Gemeente,
                    FunctionKind::Participatiewet,
                );
                f.consent = ConsentRef::Recorded(consent(
                    ConsentGiver::Youth,
                    "handover.school_to_gemeente",
                    &other,
                    &ALL_GROUPS,
                ));
            },
            today: TODAY,
            expect: Some((R(4), "consent.scope.recipient")),
        },
        Case {
            name: "consent for another purpose",
            base: school_handover,
            change: |f| {
                f.consent = ConsentRef::Recorded(consent(
                    ConsentGiver::Youth,
                    "support.during_school",
                    &f.recipient,
                    &ALL_GROUPS,
                ));
            },
            today: TODAY,
            expect: Some((R(4), "consent.scope.purpose")),
        },
        Case {
            name: "consent does not cover support_needs",
            base: school_handover,
            change: |f| {
                let groups: Vec<FieldGroup> = ALL_GROUPS
                    .into_iter()
                    .filter(|g| *g != FieldGroup::SupportNeeds)
                    .collect();
                f.consent = ConsentRef::Recorded(consent(
                    ConsentGiver::Youth,
                    "handover.school_to_gemeente",
                    &f.recipient,
                    &groups,
                ));
            },
            today: TODAY,
            expect: Some((R(4), "support_needs")),
        },
        Case {
            name: "consent expired",
            base: school_handover,
            change: |f| {
                let c = f.consent.recorded().cloned().unwrap();
                f.consent = ConsentRef::Recorded(
                    Consent::given(
                        c.giver(),
                        c.scope().clone(),
                        ConsentMethod::Digital,
                        "mentor".into(),
                        date(2026, 1, 1),
                        Some(date(2026, 3, 1)),
                    )
                    .unwrap(),
                );
            },
            today: TODAY,
            expect: Some((R(4), "consent.valid_until")),
        },
        Case {
            name: "not yet left school",
            base: school_handover,
            change: |f| f.subject.leave_date = Some(date(2026, 7, 1)),
            today: TODAY,
            expect: Some((R(4), "school_career.leave_date")),
        },
        Case {
            name: "no leave date",
            base: school_handover,
            change: |f| f.subject.leave_date = None,
            today: TODAY,
            expect: Some((R(4), "school_career.leave_date")),
        },
    ]);
}

#[test]
fn r4_parent_consent_required_under_18() {
    fn minor(f: &mut schakel_policy::Facts) {
        f.sender = party(SCHOOL_OIN, OrgKind::VsoSchool, FunctionKind::School);
        f.subject.school_type = Some(SchoolType::Vso);
        f.subject.date_of_birth = date(2008, 6, 15);
        f.subject.diploma_level = None;
        f.subject.diploma_date = None;
        f.subject.startkwalificatie = Some(false);
    }
    run(&[
        Case {
            name: "parent consents for a 17-year-old",
            base: school_handover,
            change: |f| {
                minor(f);
                f.consent = ConsentRef::Recorded(consent(
                    ConsentGiver::Parent,
                    "handover.school_to_gemeente",
                    &f.recipient,
                    &ALL_GROUPS,
                ));
            },
            today: TODAY,
            expect: None,
        },
        Case {
            name: "guardian consents for a 17-year-old",
            base: school_handover,
            change: |f| {
                minor(f);
                f.consent = ConsentRef::Recorded(consent(
                    ConsentGiver::Guardian,
                    "handover.school_to_gemeente",
                    &f.recipient,
                    &ALL_GROUPS,
                ));
            },
            today: TODAY,
            expect: None,
        },
        Case {
            name: "17-year-old consents alone",
            base: school_handover,
            change: minor,
            today: TODAY,
            expect: Some((R(4), "consent.giver")),
        },
        Case {
            name: "parent consent no longer enough once 18",
            base: school_handover,
            change: |f| {
                minor(f);
                f.consent = ConsentRef::Recorded(consent(
                    ConsentGiver::Parent,
                    "handover.school_to_gemeente",
                    &f.recipient,
                    &ALL_GROUPS,
                ));
            },
            today: date(2026, 6, 15),
            expect: Some((R(4), "consent.giver")),
        },
        Case {
            name: "the youth consents from the 18th birthday",
            base: school_handover,
            change: minor,
            today: date(2026, 6, 15),
            expect: None,
        },
    ]);
}

#[test]
fn r4_windows_pro_vso_two_years_mbo_one_year_after_the_diploma_inclusive() {
    fn vso_left_2024_03_01(f: &mut schakel_policy::Facts) {
        f.sender = party(SCHOOL_OIN, OrgKind::VsoSchool, FunctionKind::School);
        f.subject.school_type = Some(SchoolType::Vso);
        f.subject.leave_date = Some(date(2024, 3, 1));
        f.subject.diploma_level = None;
        f.subject.diploma_date = None;
    }
    fn mbo_diploma_2025_03_01(f: &mut schakel_policy::Facts) {
        f.subject.diploma_date = Some(date(2025, 3, 1));
        f.subject.leave_date = Some(date(2025, 7, 1));
    }
    fn mbo_no_diploma_left_2025_03_01(f: &mut schakel_policy::Facts) {
        f.subject.diploma_date = None;
        f.subject.diploma_level = None;
        f.subject.startkwalificatie = Some(false);
        f.subject.leave_date = Some(date(2025, 3, 1));
    }
    run(&[
        Case {
            name: "vso last day",
            base: school_handover,
            change: vso_left_2024_03_01,
            today: date(2026, 3, 1),
            expect: None,
        },
        Case {
            name: "vso day after",
            base: school_handover,
            change: vso_left_2024_03_01,
            today: date(2026, 3, 2),
            expect: Some((R(4), "school_career.leave_date")),
        },
        Case {
            name: "mbo last day after diploma",
            base: school_handover,
            change: mbo_diploma_2025_03_01,
            today: date(2026, 3, 1),
            expect: None,
        },
        Case {
            name: "mbo day after (window runs from the diploma, not from leaving)",
            base: school_handover,
            change: mbo_diploma_2025_03_01,
            today: date(2026, 3, 2),
            expect: Some((R(4), "school_career.diploma_date")),
        },
        Case {
            name: "mbo without diploma, three months after leaving: no handover, the Doorstroompunt's (R3)",
            base: school_handover,
            change: mbo_no_diploma_left_2025_03_01,
            today: date(2025, 6, 1),
            expect: Some((R(4), "school_career.diploma_date")),
        },
        Case {
            name: "window from 29 Feb ends 28 Feb",
            base: school_handover,
            change: |f| {
                f.subject.diploma_date = Some(date(2028, 2, 29));
                f.subject.leave_date = Some(date(2028, 2, 29));
            },
            today: date(2029, 3, 1),
            expect: Some((R(4), "school_career.diploma_date")),
        },
        Case {
            name: "window from 29 Feb: 28 Feb is the last day",
            base: school_handover,
            change: |f| {
                f.subject.diploma_date = Some(date(2028, 2, 29));
                f.subject.leave_date = Some(date(2028, 2, 29));
            },
            today: date(2029, 2, 28),
            expect: None,
        },
    ]);
}

#[test]
fn r6_a_handover_carries_the_judgement_that_return_is_not_possible() {
    run(&[
        Case {
            name: "school handover: return not possible",
            base: school_handover,
            change: same,
            today: TODAY,
            expect: None,
        },
        Case {
            name: "school handover without a judgement",
            base: school_handover,
            change: |f| f.return_to_education = None,
            today: TODAY,
            expect: Some((R(6), "return_to_education")),
        },
        Case {
            name: "school handover judging that return is possible",
            base: school_handover,
            change: |f| f.return_to_education = Some(ReturnToEducation::Possible),
            today: TODAY,
            expect: Some((R(6), "return_to_education")),
        },
        Case {
            name: "Doorstroompunt handover without a judgement",
            base: doorstroompunt_handover,
            change: |f| f.return_to_education = None,
            today: TODAY,
            expect: Some((R(6), "return_to_education")),
        },
        Case {
            name: "support during school asks for none",
            base: during_school,
            change: |f| f.return_to_education = None,
            today: TODAY,
            expect: None,
        },
        Case {
            name: "an expertise request asks for none",
            base: expertise_request,
            change: |f| f.return_to_education = None,
            today: TODAY,
            expect: None,
        },
    ]);
}

#[test]
fn r7_expertise_request_and_advice() {
    run(&[
        Case {
            name: "request allowed",
            base: expertise_request,
            change: same,
            today: TODAY,
            expect: None,
        },
        Case {
            name: "request about a youth with startkwalificatie",
            base: expertise_request,
            change: |f| {
                f.subject.diploma_level = Some(DiplomaLevel::Mbo3);
                f.subject.startkwalificatie = Some(true);
            },
            today: TODAY,
            expect: Some((R(7), "school_career.startkwalificatie")),
        },
        Case {
            name: "advice answers an open request",
            base: expertise_advice,
            change: same,
            today: TODAY,
            expect: None,
        },
        Case {
            name: "advice without an open request",
            base: expertise_advice,
            change: |f| f.open_expertise_request = false,
            today: TODAY,
            expect: Some((R(7), "expertise_request")),
        },
        Case {
            name: "request must come from the Participatiewet side",
            base: expertise_request,
            change: |f| f.sender = party(GEMEENTE_OIN, OrgKind::Gemeente, FunctionKind::Doorstroompunt),
            today: TODAY,
            expect: Some((R(9), "sender.function")),
        },
    ]);
}

#[test]
fn r8_doorstroompunt_data_needs_justification_per_group() {
    run(&[
        Case {
            name: "every group justified",
            base: doorstroompunt_handover,
            change: same,
            today: TODAY,
            expect: None,
        },
        Case {
            name: "history without justification",
            base: doorstroompunt_handover,
            change: |f| {
                f.justifications.remove(&FieldGroup::DoorstroompuntHistory);
            },
            today: TODAY,
            expect: Some((R(8), "justifications.doorstroompunt.history")),
        },
        Case {
            name: "token justification",
            base: doorstroompunt_handover,
            change: |f| {
                f.justifications.insert(FieldGroup::Identity, "nodig".into());
            },
            today: TODAY,
            expect: Some((R(8), "justifications.identity")),
        },
        Case {
            name: "history never in a school handover",
            base: school_handover,
            change: |f| f.fields.push("doorstroompunt.history.absence_record".into()),
            today: TODAY,
            expect: Some((R(8), "doorstroompunt.history")),
        },
        Case {
            name: "history justified as a whole group, not field by field",
            base: doorstroompunt_handover,
            change: |f| {
                f.justified_fields.clear();
            },
            today: TODAY,
            expect: Some((R(8), "doorstroompunt.history.absence_record")),
        },
        Case {
            name: "a history field sent that its justification does not name",
            base: doorstroompunt_handover,
            change: |f| f.fields.push("doorstroompunt.history.vsv_registration".into()),
            today: TODAY,
            expect: Some((R(8), "doorstroompunt.history.vsv_registration")),
        },
        Case {
            name: "a justification that names fields covers those only",
            base: doorstroompunt_handover,
            change: |f| {
                f.justified_fields
                    .insert(FieldGroup::Identity, ["bsn".to_owned()].into());
            },
            today: TODAY,
            expect: Some((R(8), "identity.date_of_birth")),
        },
        Case {
            name: "other groups may be justified as a whole",
            base: doorstroompunt_handover,
            change: |f| {
                f.justified_fields.remove(&FieldGroup::Identity);
            },
            today: TODAY,
            expect: None,
        },
        Case {
            name: "advice attaching history without justification",
            base: expertise_advice,
            change: |f| f.justifications.clear(),
            today: TODAY,
            expect: Some((R(8), "justifications.doorstroompunt.history")),
        },
    ]);
}

#[test]
fn r9_functions_must_match_the_purpose() {
    run(&[
        Case {
            name: "school to participatiewet",
            base: school_handover,
            change: same,
            today: TODAY,
            expect: None,
        },
        Case {
            name: "school handover sent to the Doorstroompunt",
            base: school_handover,
            change: |f| f.recipient = party(GEMEENTE_OIN, OrgKind::Gemeente, FunctionKind::Doorstroompunt),
            today: TODAY,
            expect: Some((R(9), "recipient.function")),
        },
        Case {
            name: "Doorstroompunt sending a school handover",
            base: school_handover,
            change: |f| f.sender = party(GEMEENTE_OIN, OrgKind::Gemeente, FunctionKind::Doorstroompunt),
            today: TODAY,
            expect: Some((R(9), "sender.kind")),
        },
        Case {
            name: "Participatiewet sending Doorstroompunt data",
            base: doorstroompunt_handover,
            change: |f| f.sender = party(GEMEENTE_OIN, OrgKind::Gemeente, FunctionKind::Participatiewet),
            today: TODAY,
            expect: Some((R(9), "sender.function")),
        },
        Case {
            name: "a privacy officer receives nothing",
            base: school_handover,
            change: |f| f.recipient = party(GEMEENTE_OIN, OrgKind::Gemeente, FunctionKind::PrivacyOfficer),
            today: TODAY,
            expect: Some((R(9), "recipient.function")),
        },
    ]);
}

#[test]
fn r9_groups_are_bound_to_the_recipient_function() {
    let d = decide(&school_handover(), &policy(), TODAY);
    let Decision::Allowed { groups, purpose, .. } = d else {
        panic!("allowed")
    };
    assert!(!groups.is_empty());
    for g in groups {
        assert_eq!(g.purpose, purpose);
        assert_eq!(
            g.recipient_functions,
            BTreeSet::from([FunctionKind::Participatiewet])
        );
    }
}

#[test]
fn r10_support_during_school_only_while_enrolled() {
    run(&[
        Case {
            name: "enrolled pro pupil",
            base: during_school,
            change: same,
            today: TODAY,
            expect: None,
        },
        Case {
            name: "leaves later this year",
            base: during_school,
            change: |f| f.subject.leave_date = Some(date(2026, 7, 1)),
            today: TODAY,
            expect: None,
        },
        Case {
            name: "already left",
            base: during_school,
            change: |f| f.subject.leave_date = Some(date(2026, 1, 1)),
            today: TODAY,
            expect: Some((R(10), "school_career.leave_date")),
        },
        Case {
            name: "left today",
            base: during_school,
            change: |f| f.subject.leave_date = Some(TODAY),
            today: TODAY,
            expect: Some((R(10), "school_career.leave_date")),
        },
    ]);
}

#[test]
fn r12_region_profile_narrows_the_document() {
    run(&[
        Case {
            name: "within the region's format",
            base: school_handover,
            change: |f| f.region = Some("voorbeeldregio".into()),
            today: TODAY,
            expect: None,
        },
        Case {
            name: "group outside the region's format",
            base: school_handover,
            change: |f| {
                f.region = Some("voorbeeldregio".into());
                f.fields.push("development.options".into());
            },
            today: TODAY,
            expect: Some((R(12), "development")),
        },
        Case {
            name: "field the region leaves out",
            base: school_handover,
            change: |f| {
                f.region = Some("voorbeeldregio".into());
                f.fields.push("contact.school.contact_phone".into());
            },
            today: TODAY,
            expect: Some((R(12), "contact.school.contact_phone")),
        },
        Case {
            name: "without the region, development is allowed",
            base: school_handover,
            change: |f| f.fields.push("development.options".into()),
            today: TODAY,
            expect: None,
        },
        Case {
            name: "empty document",
            base: school_handover,
            change: |f| f.fields.clear(),
            today: TODAY,
            expect: Some((R(12), "fields")),
        },
        Case {
            name: "group the purpose does not serve",
            base: expertise_request,
            change: |f| f.fields.push("wishes.desired_work".into()),
            today: TODAY,
            expect: Some((R(12), "wishes")),
        },
    ]);
}

#[test]
fn r12_r15_region_shortens_retention() {
    let p = policy();
    let mut f = school_handover();
    let Decision::Allowed { retention, .. } = decide(&f, &p, TODAY) else {
        panic!("allowed")
    };
    assert_eq!((retention.months, retention.until), (12, date(2027, 3, 2)));
    f.region = Some("voorbeeldregio".into());
    let Decision::Allowed {
        retention,
        policy_version,
        ..
    } = decide(&f, &p, TODAY)
    else {
        panic!("allowed")
    };
    assert_eq!((retention.months, retention.until), (6, date(2026, 9, 2)));
    assert_eq!(policy_version, p.version());
}

#[test]
fn r14_no_basis_and_unknown_fields() {
    run(&[
        Case {
            name: "catalogue fields only",
            base: school_handover,
            change: same,
            today: TODAY,
            expect: None,
        },
        Case {
            name: "UWV benefit",
            base: school_handover,
            change: |f| f.fields.push("school_career.uwv_benefit".into()),
            today: TODAY,
            expect: Some((R(14), "school_career.uwv_benefit")),
        },
        Case {
            name: "newcomer status",
            base: school_handover,
            change: |f| f.fields.push("identity.newcomer_status".into()),
            today: TODAY,
            expect: Some((R(14), "identity.newcomer_status")),
        },
        Case {
            name: "mbo-verklaring",
            base: school_handover,
            change: |f| f.fields.push("school_career.mbo_verklaring".into()),
            today: TODAY,
            expect: Some((R(14), "school_career.mbo_verklaring")),
        },
        Case {
            name: "dagbesteding data",
            base: school_handover,
            change: |f| f.fields.push("development.dagbesteding".into()),
            today: TODAY,
            expect: Some((R(14), "development.dagbesteding")),
        },
        Case {
            name: "unknown field in a known group",
            base: school_handover,
            change: |f| f.fields.push("skills.hobbies".into()),
            today: TODAY,
            expect: Some((R(14), "skills.hobbies")),
        },
        Case {
            name: "unknown group",
            base: school_handover,
            change: |f| f.fields.push("family.siblings".into()),
            today: TODAY,
            expect: Some((R(14), "family.siblings")),
        },
        Case {
            name: "a value typed as a field name is not echoed",
            base: school_handover,
            change: |f| f.fields.push("identity.999990019".into()),
            today: TODAY,
            expect: Some((R(14), "fields[12]")),
        },
    ]);
}

#[test]
fn r16_special_categories_refused() {
    run(&[
        Case {
            name: "functional support needs are fine",
            base: school_handover,
            change: |f| f.fields.push("support_needs.functional_needs".into()),
            today: TODAY,
            expect: None,
        },
        Case {
            name: "diagnosis",
            base: school_handover,
            change: |f| f.fields.push("support_needs.diagnosis".into()),
            today: TODAY,
            expect: Some((R(16), "support_needs.diagnosis")),
        },
        Case {
            name: "health group",
            base: school_handover,
            change: |f| f.fields.push("health.psychiatric_history".into()),
            today: TODAY,
            expect: Some((R(16), "health.psychiatric_history")),
        },
        Case {
            name: "criminal record",
            base: school_handover,
            change: |f| f.fields.push("identity.criminal_record".into()),
            today: TODAY,
            expect: Some((R(16), "identity.criminal_record")),
        },
        Case {
            name: "religion",
            base: school_handover,
            change: |f| f.fields.push("wishes.religion".into()),
            today: TODAY,
            expect: Some((R(16), "wishes.religion")),
        },
    ]);
}

#[test]
fn r16_special_category_field_needs_explicit_consent() {
    // A catalogue that (hypothetically) admits one special-category field.
    let catalogue = FILES[0].1.replace(
        "[[group.field]]\nname = \"job_coach\"",
        "[[group.field]]\nname = \"work_capacity\"\ntype = \"text\"\ndescription = \"x\"\nspecial_category = true\n\
         legal_ground = \"AVG art. 9 lid 2 sub a (explicit consent)\"\n\n[[group.field]]\nname = \"job_coach\"",
    );
    let files = [("catalogue.toml", catalogue.as_str()), FILES[1], FILES[2]];
    let p = load(&files).unwrap_or_else(|e| panic!("{e}"));
    let mut f = school_handover();
    f.fields.push("support_needs.work_capacity".into());
    assert_refused(
        &decide(&f, &p, TODAY),
        R(16),
        "support_needs.work_capacity",
        "no explicit consent",
    );
    let c = f.consent.recorded().cloned().unwrap();
    let mut scope: ConsentScope = c.scope().clone();
    scope
        .explicit_special_fields
        .insert("support_needs.work_capacity".parse::<FieldPath>().unwrap());
    f.consent = ConsentRef::Recorded(
        Consent::given(
            c.giver(),
            scope,
            c.method(),
            "mentor".into(),
            c.recorded_on(),
            None,
        )
        .unwrap(),
    );
    assert_allowed(&decide(&f, &p, TODAY), "explicit consent names the field");
    // Without a consent-based purpose the field can never pass.
    let mut d = doorstroompunt_handover();
    d.fields.push("support_needs.work_capacity".into());
    d.justifications
        .insert(FieldGroup::SupportNeeds, JUSTIFICATION.into());
    assert_refused(
        &decide(&d, &p, TODAY),
        R(16),
        "support_needs.work_capacity",
        "no consent purpose",
    );
}

#[test]
fn r18_hbo_wo_are_not_senders() {
    run(&[
        Case {
            name: "mbo school about its own student",
            base: school_handover,
            change: same,
            today: TODAY,
            expect: None,
        },
        Case {
            name: "hbo student",
            base: school_handover,
            change: |f| {
                f.subject.school_type = Some(SchoolType::Hbo);
                f.subject.diploma_level = None;
                f.subject.diploma_date = None;
            },
            today: TODAY,
            expect: Some((R(18), "school_career.school_type")),
        },
        Case {
            name: "wo student during school",
            base: during_school,
            change: |f| f.subject.school_type = Some(SchoolType::Wo),
            today: TODAY,
            expect: Some((R(18), "school_career.school_type")),
        },
        Case {
            name: "pro school about an mbo student",
            base: school_handover,
            change: |f| f.sender = party(SCHOOL_OIN, OrgKind::ProSchool, FunctionKind::School),
            today: TODAY,
            expect: Some((R(18), "school_career.school_type")),
        },
    ]);
}

#[test]
fn r19_vso_exit_profiles() {
    fn vso_arbeidsmarkt(f: &mut schakel_policy::Facts) {
        f.subject.school_type = Some(SchoolType::Vso);
        f.subject.vso_exit_profile = Some(VsoExitProfile::Arbeidsmarkt);
        f.subject.diploma_level = None;
        f.subject.diploma_date = None;
        f.subject.leave_date = Some(date(2025, 6, 1));
    }
    run(&[
        Case {
            name: "vso school hands over its arbeidsmarkt leaver",
            base: school_handover,
            change: |f| {
                vso_arbeidsmarkt(f);
                f.sender = party(SCHOOL_OIN, OrgKind::VsoSchool, FunctionKind::School);
                f.subject.startkwalificatie = Some(false);
            },
            today: TODAY,
            expect: None,
        },
        Case {
            name: "Doorstroompunt in the years the vso school is the first route: a division of work, not a ban",
            base: doorstroompunt_handover,
            change: vso_arbeidsmarkt,
            today: TODAY,
            expect: None,
        },
        Case {
            name: "dagbesteding profile likewise",
            base: doorstroompunt_handover,
            change: |f| {
                vso_arbeidsmarkt(f);
                f.subject.vso_exit_profile = Some(VsoExitProfile::Dagbesteding);
            },
            today: TODAY,
            expect: None,
        },
        Case {
            name: "Doorstroompunt, leaving date unknown",
            base: doorstroompunt_handover,
            change: |f| {
                vso_arbeidsmarkt(f);
                f.subject.leave_date = None;
            },
            today: TODAY,
            expect: None,
        },
        Case {
            name: "Doorstroompunt after the two school years",
            base: doorstroompunt_handover,
            change: vso_arbeidsmarkt,
            today: date(2027, 6, 2),
            expect: None,
        },
        Case {
            name: "vervolgonderwijs leavers can be vsv'ers",
            base: doorstroompunt_handover,
            change: |f| {
                vso_arbeidsmarkt(f);
                f.subject.vso_exit_profile = Some(VsoExitProfile::Vervolgonderwijs);
            },
            today: TODAY,
            expect: None,
        },
        Case {
            name: "exit profile on an mbo student",
            base: school_handover,
            change: |f| f.subject.vso_exit_profile = Some(VsoExitProfile::Arbeidsmarkt),
            today: TODAY,
            expect: Some((R(19), "school_career.vso_exit_profile")),
        },
    ]);
}

#[test]
fn all_violations_are_reported_at_once() {
    let mut f = school_handover();
    f.consent = ConsentRef::Absent;
    f.subject.date_of_birth = date(1990, 1, 1);
    f.fields.push("support_needs.diagnosis".into());
    f.fields.push("school_career.uwv_benefit".into());
    f.recipient = party(GEMEENTE_OIN, OrgKind::Gemeente, FunctionKind::Doorstroompunt);
    let d = decide(&f, &policy(), TODAY);
    let rules: BTreeSet<RuleId> = d.violations().iter().map(|v| v.rule).collect();
    for r in [2, 4, 9, 14, 16] {
        assert!(rules.contains(&R(r)), "missing R{r} in {:?}", violations(&d));
    }
}

#[test]
fn violation_messages_never_contain_values() {
    let mut f = school_handover();
    f.fields = fields(&[
        "identity.999990019",
        "identity.Jan Jansen",
        "identity.1234 AB",
        "x",
    ]);
    f.consent = ConsentRef::Absent;
    let d = decide(&f, &policy(), TODAY);
    assert!(!d.is_allowed());
    let text = format!("{d:?}");
    for needle in ["999990019", "Jan", "1234", "2005-05-05"] {
        assert!(!text.contains(needle), "{needle} leaked: {text}");
    }
}

#[test]
fn recording_a_consent_or_a_refusal() {
    let policy = policy();
    let werk = party(GEMEENTE_OIN, OrgKind::Gemeente, FunctionKind::Participatiewet);
    let record = |status, giver, age: i16| ConsentToRecord {
        purpose: pid("handover.school_to_gemeente"),
        status,
        giver: Some(giver),
        recipient: Some(werk.clone()),
        groups: vec![FieldGroup::Identity, FieldGroup::Wishes],
        date_of_birth: Some(date(2026 - age, 1, 1)),
        on: TODAY,
    };
    let found = |r: &ConsentToRecord| -> Vec<(RuleId, String)> {
        decide_consent_record(r, &policy)
            .into_iter()
            .map(|v| (v.rule, v.field_path))
            .collect()
    };
    let giver = vec![(R(4), "consent.giver".to_owned())];
    use ConsentGiver::{Guardian, Parent, Representative, Youth};
    use schakel_domain::ConsentStatus::{Given, Refused};
    for (status, who, age, ok, case) in [
        (Given, Youth, 19, true, "an adult consents"),
        (Given, Parent, 16, true, "a parent consents for a minor"),
        (Given, Guardian, 16, true, "a guardian consents for a minor"),
        (Given, Youth, 17, false, "a minor cannot consent alone"),
        (Refused, Youth, 17, true, "a minor's own refusal counts (R4, R13)"),
        (Refused, Youth, 15, true, "at any age"),
        (Refused, Parent, 16, true, "a parent may refuse for a minor"),
        (Given, Parent, 19, false, "from 18 a parent no longer decides"),
        (Refused, Parent, 19, false, "nor refuses"),
        (
            Given,
            Representative,
            22,
            true,
            "a curator or mentor for an adult",
        ),
        (
            Given,
            Representative,
            16,
            false,
            "not for a minor: a parent or guardian",
        ),
    ] {
        let want = if ok { vec![] } else { giver.clone() };
        assert_eq!(found(&record(status, who, age)), want, "{case}");
    }

    // R9: a recipient that can never receive under the purpose.
    let mut r = record(Given, Youth, 19);
    r.recipient = Some(party(
        GEMEENTE_OIN,
        OrgKind::Gemeente,
        FunctionKind::Doorstroompunt,
    ));
    assert_eq!(found(&r), [(R(9), "recipient.function".to_owned())]);
    r.recipient = Some(party(SCHOOL_OIN, OrgKind::MboSchool, FunctionKind::School));
    assert_eq!(found(&r).len(), 2, "{:?}", found(&r));
    // R12: a group that may not be sent under the purpose, by its position.
    let mut r = record(Given, Youth, 19);
    r.groups.push(FieldGroup::DoorstroompuntHistory);
    assert_eq!(found(&r), [(R(12), "groups[2]".to_owned())]);
    // R1, R4: no legal basis; a purpose that rests on the law, not on consent.
    let mut r = record(Given, Youth, 19);
    r.purpose = pid("handover.anything_else");
    assert_eq!(found(&r), [(R(1), "purpose".to_owned())]);
    r.purpose = pid("handover.doorstroompunt_to_gemeente");
    r.groups.clear();
    assert!(
        found(&r).contains(&(R(4), "purpose".to_owned())),
        "{:?}",
        found(&r)
    );
}

#[test]
fn r4_r13_the_youths_own_refusal_outweighs_an_earlier_consent() {
    run(&[
        Case {
            name: "a 17-year-old refused after the parent consented",
            base: during_school,
            change: |f| f.refused_by_youth_since = true,
            today: TODAY,
            expect: Some((R(4), "consent")),
        },
        Case {
            name: "an adult refused after consenting",
            base: school_handover,
            change: |f| f.refused_by_youth_since = true,
            today: TODAY,
            expect: Some((R(4), "consent")),
        },
    ]);
}

#[test]
fn r9_each_purpose_goes_through_its_own_service() {
    run(&[
        Case {
            name: "an expertise request sent as a transfer",
            base: expertise_request,
            change: |f| f.channel = Channel::Transfer,
            today: TODAY,
            expect: Some((R(9), "purpose")),
        },
        Case {
            name: "advice sent as a transfer",
            base: expertise_advice,
            change: |f| f.channel = Channel::Transfer,
            today: TODAY,
            expect: Some((R(9), "purpose")),
        },
        Case {
            name: "a handover sent through ExpertiseService",
            base: school_handover,
            change: |f| f.channel = Channel::Expertise,
            today: TODAY,
            expect: Some((R(9), "purpose")),
        },
    ]);
}

#[test]
fn r9_r12_content_is_sealed_only_for_functions_with_a_key() {
    run(&[
        Case {
            name: "recipient without a key",
            base: school_handover,
            change: |f| f.keys.recipient = false,
            today: TODAY,
            expect: Some((R(9), "keys.recipient")),
        },
        Case {
            name: "school without its own key cannot show the youth what it sent",
            base: school_handover,
            change: |f| f.keys.sender = false,
            today: TODAY,
            expect: Some((R(12), "keys.sender")),
        },
        Case {
            name: "Doorstroompunt without a key cannot be asked",
            base: expertise_request,
            change: |f| f.keys.recipient = false,
            today: TODAY,
            expect: Some((R(9), "keys.recipient")),
        },
        Case {
            name: "an expertise request keeps no sender's copy",
            base: expertise_request,
            change: |f| f.keys.sender = false,
            today: TODAY,
            expect: None,
        },
    ]);
}

#[test]
fn r4_a_consent_id_must_name_a_consent_of_the_sender_for_this_youth() {
    run(&[
        Case {
            name: "an id the sender never recorded",
            base: school_handover,
            change: |f| f.consent = ConsentRef::Unknown,
            today: TODAY,
            expect: Some((R(4), "consent")),
        },
        Case {
            name: "a consent of another youth",
            base: school_handover,
            change: |f| f.consent = ConsentRef::OtherYouth,
            today: TODAY,
            expect: Some((R(4), "consent")),
        },
        Case {
            name: "a wrong id is wrong even where no consent is needed",
            base: doorstroompunt_handover,
            change: |f| f.consent = ConsentRef::Unknown,
            today: TODAY,
            expect: Some((R(4), "consent")),
        },
    ]);
}

#[test]
fn r4_regular_secondary_education_hands_no_youth_over() {
    run(&[
        Case {
            name: "a vo pupil in a school handover",
            base: school_handover,
            change: |f| f.subject.school_type = Some(SchoolType::Vo),
            today: TODAY,
            expect: Some((R(4), "school_career.school_type")),
        },
        Case {
            name: "a former havo pupil without startkwalificatie, handed over by the Doorstroompunt",
            base: doorstroompunt_handover,
            change: |f| {
                f.subject.school_type = Some(SchoolType::Vo);
                f.subject.diploma_level = None;
                f.subject.diploma_date = None;
            },
            today: TODAY,
            expect: None,
        },
    ]);
}

#[test]
fn r3_r7_the_doorstroompunt_purposes_need_the_startkwalificatie_stated() {
    run(&[
        Case {
            name: "Doorstroompunt handover, not stated",
            base: doorstroompunt_handover,
            change: |f| f.subject.startkwalificatie = None,
            today: TODAY,
            expect: Some((R(3), "school_career.startkwalificatie")),
        },
        Case {
            name: "expertise request, not stated",
            base: expertise_request,
            change: |f| f.subject.startkwalificatie = None,
            today: TODAY,
            expect: Some((R(7), "school_career.startkwalificatie")),
        },
        Case {
            name: "a school handover does not depend on it",
            base: school_handover,
            change: |f| f.subject.startkwalificatie = None,
            today: TODAY,
            expect: None,
        },
    ]);
}

#[test]
fn each_violation_says_whether_the_request_or_the_case_must_change() {
    let p = policy();
    let ground = |f: &schakel_policy::Facts| -> Vec<Ground> {
        decide(f, &p, TODAY)
            .violations()
            .iter()
            .map(|v| v.ground)
            .collect()
    };
    let mut f = school_handover();
    f.keys.recipient = false;
    assert_eq!(ground(&f), [Ground::Case], "a missing key is the case's");
    let mut f = school_handover();
    f.subject.leave_date = Some(date(2020, 1, 1));
    f.subject.diploma_date = Some(date(2020, 1, 1));
    assert!(
        ground(&f).iter().all(|g| *g == Ground::Case),
        "a window that passed is the case's"
    );
    let mut f = school_handover();
    f.consent = ConsentRef::Unknown;
    assert_eq!(
        ground(&f),
        [Ground::Request],
        "a wrong consent id is the request's"
    );
    let mut f = school_handover();
    f.fields.push("school_career.uwv_benefit".into());
    assert_eq!(
        ground(&f),
        [Ground::Request],
        "a forbidden field is the request's"
    );
}

#[test]
fn r16_free_text_is_screened_for_special_category_terms() {
    let p = policy();
    let screen = |t: &str| p.screen_text(t, TODAY).map(|l| l.id.as_str());
    for (text, list) in [
        ("Diagnose: ADHD, gebruikt medicatie", "diagnoses"),
        ("PDD-NOS", "diagnoses"),
        ("licht  verstandelijke\nbeperking", "diagnoses"),
        ("Gebruikt Ritalin.", "medication"),
        ("heeft een strafblad", "criminal"),
        ("Justitiële documentatie aanwezig", "criminal"),
    ] {
        assert_eq!(screen(text), Some(list), "{text}");
    }
    for text in [
        "Heeft korte, schriftelijke instructies nodig",
        "Werkt het best op een rustige plek met een vaste begeleider",
        "Wil monteur worden in de installatietechniek",
        "adhdx",
        "",
    ] {
        assert_eq!(screen(text), None, "{text}");
    }
    // Dated like every rule (R1).
    assert_eq!(p.screen_text("ADHD", date(2025, 12, 31)), None);

    let mut f = school_handover();
    f.special_text = vec![SpecialText {
        field: "support_needs.functional_needs".into(),
        list: "diagnoses".into(),
    }];
    let d = decide(&f, &p, TODAY);
    assert_refused(
        &d,
        R(16),
        "support_needs.functional_needs.value",
        "diagnosis in free text",
    );
    let v = &d.violations()[0];
    assert_eq!(v.ground, Ground::Request);
    assert!(
        v.message.contains("describe what the youth needs"),
        "{}",
        v.message
    );
}

#[test]
fn a_text_term_list_cites_r16_and_holds_terms() {
    let bad = format!(
        "{}\n[[text_terms]]\nid = \"x\"\nrule = \"R14\"\ntitle = \"x\"\ntitle_nl = \"x\"\nhint = \"x\"\n\
         valid_from = \"2026-01-01\"\nterms = [\"--\"]\n",
        FILES[1].1
    );
    let files = [FILES[0], ("forbidden.toml", bad.as_str()), FILES[2]];
    let e = load(&files).unwrap_err().to_string();
    assert!(e.contains("must cite R16"), "{e}");
    assert!(e.contains("every term needs a letter or digit"), "{e}");
}

#[test]
fn r12_the_identity_group_holds_bsn_and_date_of_birth() {
    run(&[
        Case {
            name: "without a date of birth",
            base: school_handover,
            change: |f| f.fields.retain(|p| p != "identity.date_of_birth"),
            today: TODAY,
            expect: Some((R(12), "identity")),
        },
        Case {
            name: "without a BSN",
            base: doorstroompunt_handover,
            change: |f| f.fields.retain(|p| p != "identity.bsn"),
            today: TODAY,
            expect: Some((R(12), "identity")),
        },
    ]);
}

/// R7: the Doorstroompunt may take a youth over for guidance back to school;
/// the gemeente then sends what that guidance needs — contact, school
/// career, wishes — per case, every group justified (the mirror of R8),
/// sealed to the Doorstroompunt only.
#[test]
fn r7_takeover_by_the_doorstroompunt() {
    run(&[
        Case {
            name: "takeover with every group justified",
            base: takeover,
            change: same,
            today: TODAY,
            expect: None,
        },
        Case {
            name: "a group without its justification",
            base: takeover,
            change: |f| {
                f.justifications.remove(&FieldGroup::Wishes);
            },
            today: TODAY,
            expect: Some((R(8), "justifications.wishes")),
        },
        Case {
            name: "support needs are not what guidance back to school needs",
            base: takeover,
            change: |f| {
                f.fields.push("support_needs.functional_needs".into());
                f.justifications
                    .insert(FieldGroup::SupportNeeds, JUSTIFICATION.to_owned());
            },
            today: TODAY,
            expect: Some((R(12), "support_needs")),
        },
        Case {
            name: "the Doorstroompunt's history does not flow back",
            base: takeover,
            change: |f| {
                f.fields.push("doorstroompunt.history.absence_record".into());
                f.justifications
                    .insert(FieldGroup::DoorstroompuntHistory, JUSTIFICATION.to_owned());
            },
            today: TODAY,
            // The group's own rule: Doorstroompunt data leaves only under R8.
            expect: Some((R(8), "doorstroompunt.history")),
        },
        Case {
            name: "a youth with a startkwalificatie is not the Doorstroompunt's",
            base: takeover,
            change: |f| f.subject.startkwalificatie = Some(true),
            today: TODAY,
            expect: Some((R(7), "school_career.startkwalificatie")),
        },
        Case {
            name: "only the Participatiewet function hands over",
            base: takeover,
            change: |f| f.sender = party(SCHOOL_OIN, OrgKind::MboSchool, FunctionKind::School),
            today: TODAY,
            expect: Some((R(9), "sender.function")),
        },
        Case {
            name: "only to the Doorstroompunt",
            base: takeover,
            change: |f| f.recipient = party(GEMEENTE_OIN, OrgKind::Gemeente, FunctionKind::Participatiewet),
            today: TODAY,
            expect: Some((R(9), "recipient.function")),
        },
        Case {
            name: "the gemeente needs no key of its own: nothing is sealed to it",
            base: takeover,
            change: |f| f.keys.sender = false,
            today: TODAY,
            expect: None,
        },
    ]);
    let Decision::Allowed { seal_to_sender, .. } = decide(&takeover(), &policy(), TODAY) else {
        panic!("allowed")
    };
    assert!(!seal_to_sender, "sealed to the Doorstroompunt only");
}
