//! Fuzz target (issue 6, item 3) for the policy decision, as a bounded
//! randomized test that runs on stable: arbitrary but type-valid [`Facts`]
//! (any purpose, parties, dates across jiff's whole range, consents in every
//! state, hostile field paths and justifications) over the committed policy,
//! and the five allowed baselines with one part replaced by an arbitrary one.
//!
//! `decide` must never panic, must be deterministic, a refusal must name at
//! least one violation with a rule id, a field path and a message, and no
//! violation may echo a value the request carried.
//!
//! Cases per target: `SCHAKEL_FUZZ_CASES` (default 256); a long local run:
//! `SCHAKEL_FUZZ_CASES=1000000 cargo test -p schakel-policy --release --test fuzz`.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use jiff::civil::Date;
use proptest::prelude::*;
use schakel_domain::{
    Consent, ConsentGiver, ConsentMethod, ConsentScope, DiplomaLevel, FieldGroup, FieldPath, FunctionKind,
    Oin, OrgKind, Party, PurposeId, SchoolType, VsoExitProfile,
};
use schakel_policy::{
    Channel, ConsentRef, Decision, Facts, Policy, ReturnToEducation, SealingKeys, Subject, decide,
};

fn cases() -> u32 {
    std::env::var("SCHAKEL_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(256)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        max_local_rejects: u32::MAX,
        ..ProptestConfig::default()
    }
}

/// Marks a value from the request; it must never appear in a violation.
const SECRET: &str = "999990019";

fn the_policy() -> &'static Policy {
    static POLICY: std::sync::OnceLock<Policy> = std::sync::OnceLock::new();
    POLICY.get_or_init(policy)
}

fn catalogue_paths() -> Vec<String> {
    the_policy()
        .groups()
        .values()
        .flat_map(|g| g.fields.iter().map(move |f| format!("{}.{}", g.id, f.name)))
        .collect()
}

/// Field paths a consent may name explicitly (R16): the catalogue's
/// special-category fields first, then any catalogue field.
fn special_paths() -> Vec<FieldPath> {
    let mut special: Vec<FieldPath> = the_policy()
        .groups()
        .values()
        .flat_map(|g| {
            g.fields
                .iter()
                .filter(|f| f.special_category)
                .filter_map(move |f| FieldPath::new(g.id, &f.name).ok())
        })
        .collect();
    special.extend(catalogue_paths().iter().filter_map(|p| p.parse().ok()).take(8));
    special
}

// ---- generators ----

/// Any date jiff can hold, with weight on the years the rules care about
/// and on the edges of the range (where date arithmetic overflows).
fn date() -> impl Strategy<Value = Date> {
    prop_oneof![
        4 => (1990i16..2040, 1i8..=12, 1i8..=31),
        1 => (-9999i16..=9999, 1i8..=12, 1i8..=31),
        1 => (prop_oneof![Just(-9999i16), Just(-9998), Just(9998), Just(9999)], 1i8..=12, 1i8..=31),
    ]
    .prop_map(|(y, m, d)| {
        let first = Date::new(y, m, 1).expect("the first of a month in range");
        Date::new(y, m, d.min(first.days_in_month())).expect("a real day")
    })
}

fn oin() -> impl Strategy<Value = Oin> {
    prop_oneof![
        prop::sample::select(vec![SCHOOL_OIN, GEMEENTE_OIN, OTHER_GEMEENTE_OIN]).prop_map(str::to_owned),
        "[0-9]{20}",
    ]
    .prop_map(|s| s.parse().expect("20 digits"))
}

fn party() -> impl Strategy<Value = Party> {
    let pairs: Vec<(OrgKind, FunctionKind)> = OrgKind::ALL
        .iter()
        .flat_map(|&k| FunctionKind::ALL.iter().map(move |&f| (k, f)))
        .filter(|&(k, f)| k.allows_function(f))
        .collect();
    (oin(), prop::sample::select(pairs))
        .prop_map(|(o, (k, f))| Party::new(o, k, f).expect("an allowed function"))
}

fn purpose() -> impl Strategy<Value = PurposeId> {
    let known: Vec<String> = the_policy()
        .purposes()
        .iter()
        .map(|p| p.id.as_str().to_owned())
        .collect();
    prop_oneof![
        4 => prop::sample::select(known),
        1 => "[a-z][a-z0-9_]{0,8}(\\.[a-z][a-z0-9_]{0,8}){1,3}",
    ]
    .prop_filter_map("a purpose id", |s| s.parse().ok())
}

fn group_set(min: usize) -> impl Strategy<Value = BTreeSet<FieldGroup>> {
    prop::collection::btree_set(prop::sample::select(FieldGroup::ALL.to_vec()), min..=9)
}

prop_compose! {
    fn consent()(
        giver in prop::sample::select(ConsentGiver::ALL.to_vec()),
        purpose in purpose(),
        recipient in party(),
        groups in group_set(0),
        special in prop::collection::btree_set(prop::sample::select(special_paths()), 0..3),
        method in prop::sample::select(ConsentMethod::ALL.to_vec()),
        recorded_on in date(),
        valid_until in prop::option::of(date()),
        status in 0u8..3,
        withdrawn_on in date(),
    ) -> Option<Consent> {
        let scope = ConsentScope {
            purpose,
            recipient_oin: recipient.oin().clone(),
            recipient_function: recipient.function(),
            groups,
            explicit_special_fields: special,
        };
        let by = "loopbaanbegeleider-3".to_owned();
        match status {
            0 => Consent::given(giver, scope, method, by, recorded_on, valid_until).ok(),
            1 => Consent::refused(giver, scope, method, by, recorded_on).ok(),
            _ => {
                let mut c = Consent::given(giver, scope, method, by, recorded_on, valid_until).ok()?;
                c.withdraw(withdrawn_on).ok()?;
                Some(c)
            }
        }
    }
}

/// Field paths as a sender may write them: catalogue ones, forbidden ones,
/// near misses, and data typed where a path belongs.
fn field_path() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(catalogue_paths()),
        1 => prop::sample::select(vec![
            "identity.religion", "health.psychiatric", "support_needs.diagnosis", "identity.ethnicity",
            "identity.criminal_record", "school_career.uwv_benefit", "identity", "identity.", ".bsn", "",
            "meta.justifications", "identity.bsn.extra", "IDENTITY.BSN",
        ]).prop_map(str::to_owned),
        1 => "[a-z_]{1,12}\\.[a-z_]{1,16}",
        1 => ".{0,20}",
        1 => Just(format!("identity.{SECRET}")),
        1 => Just(SECRET.to_owned()),
        1 => "[a-z]{60,70}\\.[a-z]{1,4}",
    ]
}

fn justification() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(JUSTIFICATION.to_owned()),
        ".{0,30}",
        " {0,40}",
        "[a-z ]{18,22}",
        Just(format!("Nodig voor de begeleiding van {SECRET} naar werk.")),
    ]
}

prop_compose! {
    fn subject()(
        date_of_birth in date(),
        school_type in prop::option::of(prop::sample::select(SchoolType::ALL.to_vec())),
        vso_exit_profile in prop::option::of(prop::sample::select(VsoExitProfile::ALL.to_vec())),
        leave_date in prop::option::of(date()),
        diploma_level in prop::option::of(prop::sample::select(DiplomaLevel::ALL.to_vec())),
        diploma_date in prop::option::of(date()),
        startkwalificatie in prop::option::of(any::<bool>()),
    ) -> Subject {
        Subject { date_of_birth, school_type, vso_exit_profile, leave_date, diploma_level, diploma_date, startkwalificatie }
    }
}

fn region() -> impl Strategy<Value = Option<String>> {
    let mut known: Vec<String> = the_policy().profiles().keys().cloned().collect();
    known.push(String::new());
    prop::option::of(prop_oneof![prop::sample::select(known), ".{0,12}"])
}

prop_compose! {
    fn facts()(
        purpose in purpose(),
        sender in party(),
        recipient in party(),
        region in region(),
        subject in subject(),
        consent in consent(),
        consent_ref in 0u8..4,
        channel in prop::sample::select(vec![Channel::Transfer, Channel::Expertise]),
        keys in (any::<bool>(), any::<bool>()),
        fields in prop::collection::vec(field_path(), 0..40),
        justifications in prop::collection::btree_map(
            prop::sample::select(FieldGroup::ALL.to_vec()), justification(), 0..9),
        hardheidsclausule in (any::<bool>(), any::<bool>()),
        open_expertise_request in any::<bool>(),
        return_to_education in prop::option::of(prop::sample::select(vec![
            ReturnToEducation::NotPossible,
            ReturnToEducation::Possible,
        ])),
    ) -> Facts {
        Facts {
            purpose, sender, recipient, region, subject,
            consent: match (consent_ref, consent) {
                (0, _) | (_, None) => ConsentRef::Absent,
                (1, _) => ConsentRef::Unknown,
                (2, _) => ConsentRef::OtherYouth,
                (_, Some(c)) => ConsentRef::Recorded(c),
            },
            refused_by_youth_since: consent_ref == 3 && keys.0 != keys.1,
            special_text: Vec::new(),
            channel,
            keys: SealingKeys { recipient: keys.0, sender: keys.1 },
            fields, justifications, open_expertise_request, return_to_education,
            hardheidsclausule_invoked: hardheidsclausule.0,
            hardheidsclausule_decision: hardheidsclausule.1,
            justified_fields: BTreeMap::new(),
        }
    }
}

fn baseline() -> impl Strategy<Value = Facts> {
    prop::sample::select(vec![
        school_handover(),
        during_school(),
        doorstroompunt_handover(),
        expertise_request(),
        expertise_advice(),
    ])
}

/// A baseline with one part replaced by an arbitrary value: close enough to
/// valid that the decision goes past the first rules.
fn near_valid() -> impl Strategy<Value = (Facts, Date)> {
    (
        baseline(),
        facts(),
        0usize..12,
        prop::option::of(date()),
        -400i32..4000,
    )
        .prop_map(|(mut f, other, which, today, shift)| {
            match which {
                0 => f.purpose = other.purpose,
                1 => f.sender = other.sender,
                2 => f.recipient = other.recipient,
                3 => f.region = other.region,
                4 => f.subject = other.subject,
                5 => f.consent = other.consent,
                6 => f.fields.extend(other.fields),
                7 => f.justifications = other.justifications,
                8 => f.hardheidsclausule_decision = other.hardheidsclausule_decision,
                9 => f.subject.date_of_birth = other.subject.date_of_birth,
                10 => f.subject.leave_date = other.subject.leave_date,
                _ => f.open_expertise_request = !f.open_expertise_request,
            }
            let today = today.unwrap_or_else(|| {
                TODAY
                    .checked_add(jiff::Span::new().days(i64::from(shift)))
                    .unwrap_or(TODAY)
            });
            (f, today)
        })
}

fn check(f: &Facts, today: Date) -> Result<Decision, TestCaseError> {
    let d = decide(f, the_policy(), today);
    prop_assert_eq!(&decide(f, the_policy(), today), &d, "decide is deterministic");
    match &d {
        Decision::Refused {
            violations,
            policy_version,
        } => {
            prop_assert!(!violations.is_empty(), "a refusal names at least one violation");
            prop_assert_eq!(policy_version.as_str(), the_policy().version());
            for v in violations {
                let rule = v.rule.to_string();
                prop_assert!(rule.starts_with('R') && rule.len() >= 2, "rule id {rule}");
                prop_assert!(!v.field_path.is_empty(), "{v} names no field");
                prop_assert!(!v.message.is_empty(), "{v} has no message");
                prop_assert!(
                    !v.field_path.contains(SECRET) && !v.message.contains(SECRET),
                    "a violation echoes a request value: {v}"
                );
            }
        }
        Decision::Allowed { policy_version, .. } => {
            prop_assert_eq!(policy_version.as_str(), the_policy().version());
        }
    }
    Ok(d)
}

proptest! {
    #![proptest_config(config())]

    /// Arbitrary type-valid facts on an arbitrary day.
    #[test]
    fn decide_arbitrary_facts(f in facts(), today in date()) {
        check(&f, today)?;
    }

    /// Baselines with one part made arbitrary, decided around the baseline day.
    #[test]
    fn decide_near_valid_facts((f, today) in near_valid()) {
        check(&f, today)?;
    }
}

/// The allowed baselines stay allowed (the generators start from valid facts).
#[test]
fn baselines_are_allowed() {
    for f in [
        school_handover(),
        during_school(),
        doorstroompunt_handover(),
        expertise_request(),
        expertise_advice(),
    ] {
        let d = decide(&f, the_policy(), TODAY);
        assert!(d.is_allowed(), "{:?}", d.violations());
    }
}

/// Facts at the very ends of jiff's date range (where adding a window or an
/// age limit overflows) decide without a panic.
#[test]
fn decide_at_the_ends_of_the_date_range() {
    let ends = [Date::MIN, Date::MAX, Date::new(9999, 2, 28).expect("day"), TODAY];
    for base in [
        school_handover(),
        during_school(),
        doorstroompunt_handover(),
        expertise_request(),
        expertise_advice(),
    ] {
        for &birth in &ends {
            for &leave in &ends {
                for &today in &ends {
                    let mut f = base.clone();
                    f.subject.date_of_birth = birth;
                    f.subject.leave_date = Some(leave);
                    f.subject.diploma_date = Some(leave);
                    let _ = decide(&f, the_policy(), today);
                    let justifications: BTreeMap<_, _> = BTreeMap::new();
                    f.justifications = justifications;
                    f.hardheidsclausule_decision = true;
                    let _ = decide(&f, the_policy(), today);
                }
            }
        }
    }
}
