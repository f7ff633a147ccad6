//! One test group per anomaly rule, with the boundaries pinned.

mod common;

use std::collections::HashMap;

use common::*;
use schakel_audit::{Action, Entry};
use schakel_audit_report::anomaly::MAX_SEQUENCES;
use schakel_audit_report::{Anomaly, AnomalyKind, Closure, Thresholds, detect};
use uuid::Uuid;

fn only(kind: AnomalyKind, entries: &[Entry]) -> Vec<Anomaly> {
    detect(entries, &HashMap::new(), &Thresholds::default(), &[kind])
}

/// A werkcoach fetch about the youth at a local time.
fn fetch_at(seq: u64, ms: u64) -> Entry {
    about(
        entry(
            seq,
            ms,
            GEMEENTE,
            "participatiewet",
            WERKCOACH,
            Action::TransferFetched,
        ),
        YOUTH,
    )
}

// ---- (a) outside office hours ----

#[test]
fn office_hours_end_is_exclusive() {
    // Wednesday 2026-03-04, winter time.
    let inside = fetch_at(1, local_ms(2026, 3, 4, 18, 59, 59));
    let outside = fetch_at(2, local_ms(2026, 3, 4, 19, 0, 0));
    assert!(only(AnomalyKind::OutsideOfficeHours, &[inside]).is_empty());
    let found = only(AnomalyKind::OutsideOfficeHours, &[outside]);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].sequences, vec![2]);
    assert_eq!(found[0].user_id.as_deref(), Some(WERKCOACH));
    assert_eq!(found[0].party_oin.as_deref(), Some(GEMEENTE));
    assert_eq!(found[0].party_function.as_deref(), Some("participatiewet"));
    assert_eq!(found[0].subject.as_deref(), Some(YOUTH));
}

#[test]
fn office_hours_start_is_inclusive() {
    let early = fetch_at(1, local_ms(2026, 3, 4, 5, 59, 59));
    let start = fetch_at(2, local_ms(2026, 3, 4, 6, 0, 0));
    assert_eq!(only(AnomalyKind::OutsideOfficeHours, &[early]).len(), 1);
    assert!(only(AnomalyKind::OutsideOfficeHours, &[start]).is_empty());
}

#[test]
fn office_hours_are_local_time_in_winter_and_summer() {
    // 18:59 local is 17:59 UTC in winter and 16:59 UTC in summer; a detector
    // working in UTC (or with a fixed offset) gets one of them wrong.
    for (mo, d) in [(1, 14), (7, 15)] {
        let at_1859 = fetch_at(1, local_ms(2026, mo, d, 18, 59, 0));
        let at_1900 = fetch_at(2, local_ms(2026, mo, d, 19, 0, 0));
        let found = only(AnomalyKind::OutsideOfficeHours, &[at_1859, at_1900]);
        assert_eq!(found.len(), 1, "2026-{mo}-{d}");
        assert_eq!(found[0].sequences, vec![2], "2026-{mo}-{d}");
    }
    // Same UTC instant, 17:30 UTC: 18:30 in winter (inside), 19:30 in summer (outside).
    let winter = fetch_at(3, 1_768_498_200_000); // 2026-01-15 17:30 UTC
    let summer = fetch_at(4, 1_784_136_600_000); // 2026-07-15 17:30 UTC
    assert!(only(AnomalyKind::OutsideOfficeHours, &[winter]).is_empty());
    assert_eq!(only(AnomalyKind::OutsideOfficeHours, &[summer]).len(), 1);
}

#[test]
fn weekend_is_outside_office_hours() {
    let saturday = fetch_at(1, local_ms(2026, 3, 7, 11, 0, 0));
    let sunday = fetch_at(2, local_ms(2026, 3, 8, 11, 0, 0));
    let friday = fetch_at(3, local_ms(2026, 3, 6, 11, 0, 0));
    let found = only(AnomalyKind::OutsideOfficeHours, &[saturday, sunday, friday]);
    assert_eq!(found.len(), 2);
    assert!(
        found[0].description.contains("Saturday 2026-03-07"),
        "{}",
        found[0].description
    );
    assert!(found[1].description.contains("Sunday 2026-03-08"));
}

#[test]
fn office_hours_group_per_user_and_local_day() {
    let entries = vec![
        fetch_at(1, local_ms(2026, 3, 2, 21, 30, 0)),
        fetch_at(2, local_ms(2026, 3, 2, 22, 10, 0)),
        // 23:30 local is still Monday; 00:30 local is Tuesday although both
        // are 2 March in UTC.
        fetch_at(3, local_ms(2026, 3, 2, 23, 30, 0)),
        fetch_at(4, local_ms(2026, 3, 3, 0, 30, 0)),
        // Another user of the same organisation.
        about(
            entry(
                5,
                local_ms(2026, 3, 2, 21, 0, 0),
                GEMEENTE,
                "participatiewet",
                "w-other",
                Action::ConsentViewed,
            ),
            YOUTH,
        ),
    ];
    let found = only(AnomalyKind::OutsideOfficeHours, &entries);
    let summary: Vec<(Option<&str>, u64, Vec<u64>)> = found
        .iter()
        .map(|a| (a.user_id.as_deref(), a.count, a.sequences.clone()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (Some("w-other"), 1, vec![5]),
            (Some(WERKCOACH), 3, vec![1, 2, 3]),
            (Some(WERKCOACH), 1, vec![4]),
        ]
    );
    assert_eq!(
        found[1].description,
        format!(
            "user {WERKCOACH} of {GEMEENTE} (participatiewet) was active outside office hours on \
             Monday 2026-03-02: 3 entries about 1 subject between 21:30 and 23:30 (office hours 06:00–19:00, Monday to Friday)"
        )
    );
}

#[test]
fn office_hours_ignore_entries_without_subject_and_purges() {
    let night = local_ms(2026, 3, 4, 3, 0, 0);
    let admin = entry(1, night, GEMEENTE, "admin", "root", Action::AdminChange);
    let purge = about(entry(2, night, GEMEENTE, "admin", "hub", Action::Purge), YOUTH);
    assert!(only(AnomalyKind::OutsideOfficeHours, &[admin, purge]).is_empty());
}

#[test]
fn sequences_are_capped_but_counted() {
    let entries: Vec<Entry> = (0..150)
        .map(|i| fetch_at(i, local_ms(2026, 3, 4, 22, 0, 0) + i * 1000))
        .collect();
    let found = only(AnomalyKind::OutsideOfficeHours, &entries);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].count, 150);
    assert_eq!(found[0].sequences.len(), MAX_SEQUENCES);
    assert_eq!(found[0].sequences.first(), Some(&0));
    assert_eq!(found[0].sequences.last(), Some(&99));
}

// ---- (b) user volume ----

fn subjects_in_a_day(n: u32, user: &str, day: i8) -> Vec<Entry> {
    (0..n)
        .map(|i| {
            about(
                entry(
                    u64::from(i),
                    local_ms(2026, 3, day, 9, 0, 0) + u64::from(i) * 60_000,
                    GEMEENTE,
                    "participatiewet",
                    user,
                    Action::TransferFetched,
                ),
                &subject(i),
            )
        })
        .collect()
}

#[test]
fn user_volume_threshold_is_exceeded_not_reached() {
    let at = subjects_in_a_day(40, "w-busy", 4);
    assert!(only(AnomalyKind::UserVolume, &at).is_empty());
    let above = subjects_in_a_day(41, "w-busy", 4);
    let found = only(AnomalyKind::UserVolume, &above);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].count, 41);
    assert_eq!(found[0].subject, None);
    assert_eq!(
        found[0].description,
        format!("user w-busy of {GEMEENTE} accessed 41 subjects on 2026-03-04 (threshold 40)")
    );
}

#[test]
fn user_volume_counts_distinct_subjects_per_user_per_day() {
    // The same subject many times is one subject.
    let same: Vec<Entry> = (0..100)
        .map(|i| fetch_at(i, local_ms(2026, 3, 4, 9, 0, 0) + i))
        .collect();
    assert!(only(AnomalyKind::UserVolume, &same).is_empty());
    // Two users with 30 each, and one user with 30 on each of two days.
    let mut split = subjects_in_a_day(30, "w-a", 4);
    split.extend(subjects_in_a_day(30, "w-b", 4));
    split.extend(subjects_in_a_day(30, "w-a", 5));
    assert!(only(AnomalyKind::UserVolume, &split).is_empty());
    // A stricter threshold finds both days of w-a and w-b's day.
    let t = Thresholds {
        max_subjects_per_user_per_day: 29,
        ..Thresholds::default()
    };
    let found = detect(&split, &HashMap::new(), &t, &[AnomalyKind::UserVolume]);
    assert_eq!(found.len(), 3);
}

// ---- (c) many users, one subject ----

fn readers(n: u32, action: Action) -> Vec<Entry> {
    (0..n)
        .map(|i| {
            about(
                entry(
                    u64::from(i),
                    local_ms(2026, 3, 4, 10, 0, 0) + u64::from(i) * 60_000,
                    GEMEENTE,
                    "participatiewet",
                    &format!("w-{i}"),
                    action.clone(),
                ),
                YOUTH,
            )
        })
        .collect()
}

#[test]
fn many_users_threshold_is_exceeded_not_reached() {
    assert!(
        only(
            AnomalyKind::ManyUsersOneSubject,
            &readers(5, Action::TransferFetched)
        )
        .is_empty()
    );
    let found = only(
        AnomalyKind::ManyUsersOneSubject,
        &readers(6, Action::ConsentViewed),
    );
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].count, 6);
    assert_eq!(found[0].subject.as_deref(), Some(YOUTH));
    assert_eq!(found[0].party_oin.as_deref(), Some(GEMEENTE));
    assert!(
        !found[0].description.contains(YOUTH),
        "no pseudonym in the description"
    );
}

#[test]
fn many_users_counts_reads_only_and_distinct_users() {
    // Submissions and acknowledgements are not reads.
    assert!(
        only(
            AnomalyKind::ManyUsersOneSubject,
            &readers(8, Action::TransferSubmitted)
        )
        .is_empty()
    );
    assert!(
        only(
            AnomalyKind::ManyUsersOneSubject,
            &readers(8, Action::TransferAcknowledged)
        )
        .is_empty()
    );
    // Each read action counts.
    for action in [
        Action::TransferFetched,
        Action::SentCopyFetched,
        Action::ConsentViewed,
        Action::ExpertiseFetched,
        Action::AdviceFetched,
    ] {
        assert_eq!(
            only(AnomalyKind::ManyUsersOneSubject, &readers(6, action)).len(),
            1
        );
    }
    // One user reading many times is one user.
    let same: Vec<Entry> = (0..20)
        .map(|i| fetch_at(i, local_ms(2026, 3, 4, 10, 0, 0) + i))
        .collect();
    assert!(only(AnomalyKind::ManyUsersOneSubject, &same).is_empty());
    // The same user id in two organisations is two users.
    let mut two_orgs = readers(3, Action::TransferFetched);
    two_orgs.extend(readers(3, Action::TransferFetched).into_iter().map(|mut e| {
        e.actor.oin = Some(SCHOOL.to_owned());
        e
    }));
    let found = only(AnomalyKind::ManyUsersOneSubject, &two_orgs);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].party_oin, None);
}

// ---- (d) fetch of a closed transfer ----

#[test]
fn fetch_at_or_after_closure_is_reported() {
    let t = uuid(TRANSFER);
    let at = local_ms(2026, 3, 3, 10, 15, 0);
    let with_transfer = |mut e: Entry| {
        e.transfer_id = Some(t);
        e
    };
    for (how, word) in [
        (Closure::Declined, "after it was declined"),
        (Closure::Withdrawn, "after consent for it was withdrawn"),
        (Closure::Purged, "after its content was purged"),
    ] {
        let closed = HashMap::from([(t, (how, at))]);
        let kinds = [AnomalyKind::FetchOfClosedTransfer];
        let before = with_transfer(fetch_at(1, at - 1));
        assert!(detect(&[before], &closed, &Thresholds::default(), &kinds).is_empty());
        let same_ms = with_transfer(fetch_at(2, at));
        let found = detect(&[same_ms], &closed, &Thresholds::default(), &kinds);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].sequences, vec![2]);
        assert!(found[0].description.contains(word), "{}", found[0].description);
    }
}

#[test]
fn closed_transfer_rule_needs_a_fetch_of_that_transfer() {
    let t = uuid(TRANSFER);
    let at = local_ms(2026, 3, 3, 10, 15, 0);
    let closed = HashMap::from([(t, (Closure::Declined, at))]);
    let kinds = [AnomalyKind::FetchOfClosedTransfer];
    let mut other = fetch_at(1, at + 1);
    other.transfer_id = Some(Uuid::nil());
    let mut ack = entry(
        2,
        at + 1,
        GEMEENTE,
        "participatiewet",
        WERKCOACH,
        Action::TransferAcknowledged,
    );
    ack.transfer_id = Some(t);
    let mut copy = entry(3, at + 1, SCHOOL, "school", SCHOOL_USER, Action::SentCopyFetched);
    copy.transfer_id = Some(t);
    let found = detect(&[other, ack, copy], &closed, &Thresholds::default(), &kinds);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].sequences, vec![3]);
    assert_eq!(found[0].party_oin.as_deref(), Some(SCHOOL));
}

// ---- (e) refusal bursts ----

fn refusals_at(oin: &str, offsets_ms: &[u64]) -> Vec<Entry> {
    let base = local_ms(2026, 3, 4, 10, 0, 0);
    offsets_ms
        .iter()
        .enumerate()
        .map(|(i, off)| {
            refused(
                entry(
                    i as u64,
                    base + off,
                    oin,
                    "school",
                    "batch",
                    Action::TransferRefused,
                ),
                &["R4"],
            )
        })
        .collect()
}

const MIN: u64 = 60_000;

#[test]
fn burst_needs_the_count_within_the_window() {
    // Ten refusals, the last 9:59.999 after the first: a burst.
    let mut offs: Vec<u64> = (0..9).map(|i| i * MIN).collect();
    offs.push(10 * MIN - 1);
    let found = only(AnomalyKind::RefusalBurst, &refusals_at(MBO, &offs));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].count, 10);
    // The last exactly 10:00 after the first: the window [t, t+10 min) holds nine.
    *offs.last_mut().expect("ten") = 10 * MIN;
    assert!(only(AnomalyKind::RefusalBurst, &refusals_at(MBO, &offs)).is_empty());
    // Nine in a minute: below the count.
    let nine: Vec<u64> = (0..9).map(|i| i * 1000).collect();
    assert!(only(AnomalyKind::RefusalBurst, &refusals_at(MBO, &nine)).is_empty());
}

#[test]
fn overlapping_windows_are_one_maximal_burst() {
    // Twenty refusals one minute apart: every ten in a row fit in ten minutes.
    let offs: Vec<u64> = (0..20).map(|i| i * MIN).collect();
    let found = only(AnomalyKind::RefusalBurst, &refusals_at(MBO, &offs));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].count, 20);
    assert_eq!(found[0].sequences, (0..20).collect::<Vec<u64>>());
}

#[test]
fn separate_bursts_are_reported_separately() {
    let mut offs: Vec<u64> = (0..10).map(|i| i * 1000).collect();
    offs.extend((0..11).map(|i| 30 * MIN + i * 1000));
    let found = only(AnomalyKind::RefusalBurst, &refusals_at(MBO, &offs));
    let counts: Vec<u64> = found.iter().map(|a| a.count).collect();
    assert_eq!(counts, vec![10, 11]);
}

#[test]
fn bursts_are_per_organisation_and_count_refusals_only() {
    // Five refusals each from two organisations, interleaved: no burst.
    let mut entries = refusals_at(MBO, &[0, 2000, 4000, 6000, 8000]);
    entries.extend(refusals_at(SCHOOL, &[1000, 3000, 5000, 7000, 9000]));
    // Successes and failures in between do not count.
    let mut ok = refusals_at(MBO, &[100, 200, 300, 400, 500]);
    for e in &mut ok {
        e.outcome = schakel_audit::Outcome::Success;
    }
    entries.extend(ok);
    assert!(only(AnomalyKind::RefusalBurst, &entries).is_empty());
}

// ---- all rules ----

#[test]
fn kinds_filter_and_empty_means_all() {
    let entries = scenario();
    let all = detect(&entries, &closed(), &Thresholds::default(), &[]);
    let kinds: Vec<AnomalyKind> = all.iter().map(|a| a.kind).collect();
    assert_eq!(
        kinds,
        vec![
            AnomalyKind::RefusalBurst,
            AnomalyKind::OutsideOfficeHours,
            AnomalyKind::FetchOfClosedTransfer,
        ]
    );
    let one = detect(
        &entries,
        &closed(),
        &Thresholds::default(),
        &[AnomalyKind::RefusalBurst],
    );
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].kind, AnomalyKind::RefusalBurst);
}

#[test]
fn output_does_not_depend_on_input_order() {
    let entries = scenario();
    let mut reversed = entries.clone();
    reversed.reverse();
    assert_eq!(
        detect(&entries, &closed(), &Thresholds::default(), &[]),
        detect(&reversed, &closed(), &Thresholds::default(), &[]),
    );
}

#[test]
fn descriptions_hold_no_pseudonym() {
    for a in detect(&scenario(), &closed(), &Thresholds::default(), &[]) {
        assert!(!a.description.contains(YOUTH), "{}", a.description);
    }
}

// ---- thresholds and kinds ----

#[test]
fn default_thresholds_are_valid() {
    assert_eq!(Thresholds::default().validate(), Ok(()));
}

#[test]
fn invalid_thresholds_name_each_field() {
    let t = Thresholds {
        office_hours_start: 24,
        office_hours_end: 6,
        max_subjects_per_user_per_day: 0,
        max_users_per_subject: 0,
        refusal_burst_count: 0,
        refusal_burst_minutes: 0,
    };
    let fields: Vec<&str> = t
        .validate()
        .expect_err("invalid")
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    assert_eq!(
        fields,
        vec![
            "office_hours_start",
            "office_hours_start",
            "max_subjects_per_user_per_day",
            "max_users_per_subject",
            "refusal_burst_count",
            "refusal_burst_minutes",
        ]
    );
    let equal = Thresholds {
        office_hours_start: 9,
        office_hours_end: 9,
        ..Thresholds::default()
    };
    assert_eq!(
        equal.validate().expect_err("start == end")[0].0,
        "office_hours_start"
    );
    let hour_24 = Thresholds {
        office_hours_end: 24,
        ..Thresholds::default()
    };
    assert_eq!(hour_24.validate().expect_err("24")[0].0, "office_hours_end");
}

#[test]
fn kind_names_round_trip() {
    for k in AnomalyKind::ALL {
        assert_eq!(AnomalyKind::from_name(k.as_str()), Some(k));
    }
    assert_eq!(AnomalyKind::from_name("nope"), None);
}

// ---- (f) the same justification for several youths ----

/// A Doorstroompunt handover about youth `n` with justification marks.
fn justified(seq: u64, n: u32, marks: &[&str], oin: &str) -> Entry {
    let mut e = about(
        entry(
            seq,
            local_ms(2026, 3, 2, 10, seq as i8, 0),
            oin,
            "doorstroompunt",
            "coach-1",
            Action::TransferSubmitted,
        ),
        &subject(n),
    );
    e.justification_marks = marks.iter().map(|m| m.repeat(16)).collect();
    e
}

#[test]
fn one_justification_for_two_youths_is_reported_once_per_sender_and_text() {
    let entries = vec![
        // One youth, two groups with the same text: one assessment, no finding.
        justified(1, 1, &["a1", "b2"], GEMEENTE),
        justified(2, 1, &["a1"], GEMEENTE),
        // The same text for a second and a third youth: a finding of three.
        justified(3, 2, &["a1"], GEMEENTE),
        justified(4, 3, &["a1", "c3"], GEMEENTE),
        // Another organisation's equal mark is not this sender's reuse.
        justified(5, 4, &["c3"], "00000001999990026000"),
    ];
    let found = only(AnomalyKind::ReusedJustification, &entries);
    assert_eq!(found.len(), 1, "{found:#?}");
    let a = &found[0];
    assert_eq!(a.count, 3);
    assert_eq!(a.sequences, [1, 2, 3, 4]);
    assert_eq!(a.party_oin.as_deref(), Some(GEMEENTE));
    assert_eq!(a.party_function.as_deref(), Some("doorstroompunt"));
    assert_eq!(a.subject, None);
    assert!(a.description.contains("3 different youths"), "{}", a.description);
    assert!(!a.description.contains(&"a1".repeat(16)), "{}", a.description);
    // A refused submission sealed nothing: it does not count.
    let mut refused_one = justified(6, 5, &["c3"], GEMEENTE);
    refused_one.outcome = schakel_audit::Outcome::Refused {
        rules: vec!["R8".into()],
    };
    let found = only(
        AnomalyKind::ReusedJustification,
        &[justified(4, 3, &["c3"], GEMEENTE), refused_one],
    );
    assert_eq!(found, []);
}
