//! R13, R17, end to end on both backends: the demo region's contactgemeente
//! (Groningen, as regional partner) reads the numbers of Doorstroompuntregio
//! 03 — Groningen and Westerkwartier, whose task a werkbedrijf carries out
//! under a mandate — after known handovers and consent decisions. The counts
//! shown are the true ones, those below 5 are hidden, no hidden count can be
//! worked out from what is shown (checked with `schakel-disclosure`'s exact
//! test, as an attacker would), the same period gives the same answer,
//! free date ranges are refused, and every read is audited.

use schakel_audit::Action;
use schakel_disclosure::{Published, Shown, Table, protect, protect_linked, unprotected, unprotected_linked};
use schakel_e2e::flow::*;
use schakel_e2e::{TestHub, on_both_backends, verify_audit_log};
use schakel_hub::dev::DEMO_MANDATE;
use schakel_proto::v1 as pb;
use schakel_proto::v1::region_service_client::RegionServiceClient;
use tonic::Code;

/// Fictitious test BSNs (9999xxxxx, elfproef) for the youths counted here.
const YOUTHS: [&str; 20] = [
    "999990007",
    "999990019",
    "999990020",
    "999990032",
    "999990044",
    "999990056",
    "999990068",
    "999990081",
    "999990093",
    "999990111",
    "999990123",
    "999990135",
    "999990147",
    "999990159",
    "999990160",
    "999990172",
    "999990184",
    "999990196",
    "999990202",
    "999990214",
];

/// A handover to `to` (a gemeente's Participatiewet function) from `school`
/// (a pro school's pupil when `pro`), on the youth's consent; answers when it
/// was submitted.
async fn hand_over(school: &mut Clients, pro: bool, bsn: &str, to: &str, key: &str) -> pb::SubmitResponse {
    let recipient = party(to, pb::FunctionKind::Participatiewet);
    let consent_id = give_consent_to(school, bsn, &format!("{key}-consent"), recipient.clone()).await;
    let mut r = handover(bsn, &consent_id, key);
    r.recipient = recipient;
    if pro {
        // A praktijkonderwijs pupil who left two months ago, without an mbo diploma.
        r.subject = Some(pb::SubjectFacts {
            school_type: pb::SchoolType::Pro as i32,
            diploma_date: None,
            startkwalificatie: pb::Startkwalificatie::NotAchieved as i32,
            ..mbo_subject(bsn)
        });
        r.groups.retain(|g| g.name != "school_career");
    }
    submit_ok(school, r).await
}

/// A refusal recorded by the school (R13: without content).
async fn refusal(school: &mut Clients, bsn: &str, key: &str) {
    school
        .consent
        .record_consent(req(consent_request(
            bsn,
            key,
            werk_party(),
            pb::ConsentStatus::Refused,
        )))
        .await
        .expect("refusal recorded");
}

/// The calendar quarter (Europe/Amsterdam) of a hub timestamp.
fn quarter_of(t: &prost_types::Timestamp) -> String {
    let day =
        schakel_domain::dates::amsterdam_date(jiff::Timestamp::from_second(t.seconds).expect("timestamp"))
            .expect("date");
    format!("{}-Q{}", day.year(), (day.month() - 1) / 3 + 1)
}

/// What the published table says of each count, back in the crate's terms.
fn published(t: &pb::NumbersTable) -> Published {
    let shown = |c: &pb::Count| match pb::CellStatus::try_from(c.status) {
        Ok(pb::CellStatus::Shown) => Shown::Value(c.value),
        Ok(pb::CellStatus::Small) => Shown::Small,
        _ => Shown::Suppressed,
    };
    Published {
        cells: t.rows.iter().flat_map(|r| r.cells.iter().map(shown)).collect(),
        row_totals: t
            .rows
            .iter()
            .map(|r| shown(r.total.as_ref().expect("total")))
            .collect(),
        col_totals: t.column_totals.iter().map(shown).collect(),
        total: shown(t.total.as_ref().expect("total")),
    }
}

fn numbers_req(period: &str) -> tonic::Request<pb::GetRegionalNumbersRequest> {
    req(pb::GetRegionalNumbersRequest {
        period: period.into(),
    })
}

async fn the_region_sees_its_numbers_and_never_a_small_one(t: TestHub) {
    let westerkwartier = DEMO_MANDATE.0;
    let mut mbo = clients(&t, "mbo-school").await;
    let mut pro = clients(&t, "pro-school").await;
    // Groningen: 7 from the mbo school, 2 from the pro school; Westerkwartier
    // (delivered to the werkbedrijf, counted for the gemeente): 6 from the mbo
    // school. Three refusals for Groningen, one withdrawal.
    let mut youths = YOUTHS.iter();
    let mut first = None;
    for (from_mbo, to, n, tag) in [
        (true, GEMEENTE_OIN, 7, "mbo-gr"),
        (false, GEMEENTE_OIN, 2, "pro-gr"),
        (true, westerkwartier, 6, "mbo-wk"),
    ] {
        let school = if from_mbo { &mut mbo } else { &mut pro };
        for i in 0..n {
            let bsn = youths.next().expect("enough youths");
            let sent = hand_over(school, !from_mbo, bsn, to, &format!("{tag}-{i}")).await;
            first.get_or_insert(sent.submitted_at.expect("time"));
        }
    }
    for i in 0..3 {
        refusal(
            &mut mbo,
            youths.next().expect("enough youths"),
            &format!("refusal-{i}"),
        )
        .await;
    }
    let withdrawn_bsn = youths.next().expect("enough youths");
    let consent_id = give_consent(&mut mbo, withdrawn_bsn, "to-withdraw").await;
    mbo.consent
        .withdraw_consent(req(pb::WithdrawConsentRequest {
            consent_id,
            withdrawn_by: pb::ConsentGiver::Youth as i32,
        }))
        .await
        .expect("withdrawn");
    let quarter = quarter_of(first.as_ref().expect("submitted"));

    let mut region = RegionServiceClient::new(t.connect("gemeente-regional-partner").await.channel());
    let answer = region
        .get_regional_numbers(numbers_req(&quarter))
        .await
        .expect("numbers")
        .into_inner();
    assert_eq!(answer.region_code, "03");
    assert_eq!(answer.period, quarter);
    assert!(answer.provisional, "the quarter is still running");
    assert_eq!(answer.threshold, 5);
    let handovers = &answer.tables[0];
    assert_eq!(handovers.measure, "handovers_submitted");
    assert_eq!(handovers.columns, ["pro", "vso", "mbo", "doorstroompunt"]);
    let codes: Vec<&str> = handovers.rows.iter().map(|r| r.gemeentecode.as_str()).collect();
    assert_eq!(codes, ["GM0014", "GM1969"]);
    // The true table, row by row: Groningen, Westerkwartier.
    let truth = Table::new(2, 4, vec![2, 0, 7, 0, 0, 0, 6, 0]).expect("table");
    let p = published(handovers);
    // What is shown is true; what is below 5 is never shown.
    for (i, shown) in p.cells.iter().enumerate() {
        let value = truth.cell(i / 4, i % 4);
        if let Shown::Value(v) = shown {
            assert_eq!(*v, value, "cell {i}");
        }
        if value < 5 {
            assert!(shown.is_hidden(), "cell {i} ({value}) is shown");
        }
    }
    assert_eq!(p.cells[0], Shown::Small, "Groningen's two pro handovers");
    // The same handovers by where they stood: none decided yet.
    let outcomes = &answer.tables[1];
    assert_eq!(outcomes.measure, "handover_outcomes");
    assert_eq!(outcomes.columns, ["accepted", "declined", "withdrawn", "open"]);
    let outcome_truth = Table::new(2, 4, vec![0, 0, 0, 9, 0, 0, 0, 6]).expect("table");
    let q = published(outcomes);
    // No hidden count of either table can be worked out from both together
    // — checked exactly, as a reader with every total would — and the hub
    // published what the disclosure rules give for the true tables.
    assert_eq!(
        unprotected_linked(&truth, &outcome_truth, (&p, &q), 5).expect("linked"),
        Vec::new(),
        "{p:?} {q:?}"
    );
    assert_eq!(
        protect_linked(&truth, &outcome_truth, 5).expect("linked"),
        Some((p, q))
    );

    // Requests for support during school, take-overs, expertise requests and
    // hardheidsclausule decisions: none this time, every count small.
    let measures: Vec<&str> = answer.tables.iter().map(|t| t.measure.as_str()).collect();
    assert_eq!(
        measures[2..6],
        [
            "support_requests",
            "takeovers",
            "expertise_requests",
            "hardheidsclausule_decisions"
        ]
    );
    for t in &answer.tables[2..6] {
        assert!(published(t).cells.iter().all(|c| *c == Shown::Small), "{t:?}");
    }
    let consents = &answer.tables[6];
    assert_eq!(consents.measure, "consent_decisions");
    assert_eq!(consents.columns, ["given", "refused", "withdrawn"]);
    // Groningen: 9 + 1 given (one later withdrawn), 3 refused, 1 withdrawn;
    // Westerkwartier: 6 given.
    let truth = Table::new(2, 3, vec![10, 3, 1, 6, 0, 0]).expect("table");
    let p = published(consents);
    assert_eq!(p.cells[1], Shown::Small, "three refusals");
    assert_eq!(p.cells[2], Shown::Small, "one withdrawal");
    assert_eq!(unprotected(&truth, &p, 5), Vec::new(), "{p:?}");
    assert_eq!(Some(p), protect(&truth, 5).ok());
    // R13: a share over a hidden count is not given.
    assert!(!answer.refusal_shares[0].shown);

    // The same period gives the same answer.
    let again = region
        .get_regional_numbers(numbers_req(&quarter))
        .await
        .expect("numbers")
        .into_inner();
    assert_eq!(again, answer);

    // Free date ranges, and a period that has not started, are refused.
    for bad in ["2026-12-01..2026-12-31", "2026-W49", "Q4"] {
        let e = region.get_regional_numbers(numbers_req(bad)).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{bad}");
        assert!(has(&e, "period", "R17"), "{bad}: {:?}", violations(&e));
    }
    let e = region
        .get_regional_numbers(numbers_req("2199-Q1"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);

    // A regional partner sees no case: its function calls nothing else.
    let mut as_partner = clients(&t, "gemeente-regional-partner").await;
    let e = as_partner
        .inbox
        .list_inbox(req(pb::ListInboxRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);

    // Each read is audited, with the region and period, and no youth.
    let all = verify_audit_log(&t).await;
    let reads: Vec<_> = all
        .iter()
        .filter(|e| e.action == Action::RegionalNumbersRead)
        .collect();
    assert_eq!(reads.len(), 2);
    for e in reads {
        assert_eq!(e.actor.oin.as_deref(), Some(GEMEENTE_OIN));
        assert_eq!(e.actor.function.as_deref(), Some("regional_partner"));
        assert_eq!(e.groups, [format!("period:{quarter}"), "region:03".to_owned()]);
        assert!(e.subject.is_none() && e.transfer_id.is_none());
    }
}

on_both_backends!(the_region_sees_its_numbers_and_never_a_small_one);
