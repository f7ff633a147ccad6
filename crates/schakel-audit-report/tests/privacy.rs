//! What a subject access report must never show.

mod common;

use common::*;
use schakel_audit::Entry;
use schakel_audit_report::{CheckpointRef, SubjectReport};

/// Maximal runs of exactly nine ASCII digits: what a BSN looks like.
fn nine_digit_runs(s: &str) -> Vec<String> {
    let mut runs = Vec::new();
    let mut cur = String::new();
    for c in s.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() {
            cur.push(c);
        } else {
            if cur.len() == 9 {
                runs.push(cur.clone());
            }
            cur.clear();
        }
    }
    runs
}

#[test]
fn detector_finds_nine_digit_runs() {
    assert_eq!(nine_digit_runs("bsn 123456782."), vec!["123456782"]);
    assert!(nine_digit_runs("00000001002220647000 2026-03-02 12345678").is_empty());
}

/// The text with line breaks and runs of spaces collapsed, so phrases can be
/// found whatever the wrapping.
fn flat(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn both(r: &SubjectReport<'_>) -> [String; 2] {
    [r.render_text(), r.render_html()]
}

#[test]
fn scenario_report_has_no_bsn_and_no_foreign_user_id() {
    let entries = scoped_for_gemeente(&scenario());
    assert!(!entries.is_empty());
    for out in both(&report(&entries, &names)) {
        assert_eq!(nine_digit_runs(&out), Vec::<String>::new());
        // The school's user is the school's internal detail; the gemeente asked.
        assert!(
            !out.contains(SCHOOL_USER),
            "another organisation's user id leaked"
        );
        // The requesting organisation's own user id is shown.
        assert!(out.contains(WERKCOACH));
        // Entries about other youths were scoped away by the hub and stay away.
        assert!(!out.contains("mbo-batch"));
    }
}

#[test]
fn bsn_like_values_in_free_text_are_removed() {
    let mut entries = scoped_for_gemeente(&scenario());
    // A calling system that passes a BSN as user id, in the role, in the legal
    // basis, or an unknown organisation whose directory name holds one.
    for e in &mut entries {
        if e.actor.oin.as_deref() == Some(GEMEENTE) {
            e.actor.user_id = Some("123456782".to_owned());
            e.actor.user_role = Some("werkcoach-111222333".to_owned());
        }
        e.legal_basis = Some("Participatiewet art. 7a (bsn 999999990)".to_owned());
        e.groups = vec!["g123456789".to_owned()];
    }
    let weird_names =
        |oin: &str| -> Option<String> { (oin == SCHOOL).then(|| "School 444555666".to_owned()) };
    let mut r = report(&entries, &weird_names);
    // A BSN passed where the pseudonym belongs.
    r.subject_pseudonym = "123456782";
    for out in both(&r) {
        assert_eq!(nine_digit_runs(&out), Vec::<String>::new(), "{out}");
        assert!(out.contains("[9-digit number removed]"));
    }
}

#[test]
fn actor_of_another_organisation_never_shows_its_user_id() {
    // Every entry acted by the school, with a distinctive user id.
    let entries: Vec<Entry> = scoped_for_gemeente(&scenario())
        .into_iter()
        .map(|mut e| {
            if e.actor.oin.as_deref() == Some(SCHOOL) {
                e.actor.user_id = Some("secret-school-user".to_owned());
            }
            e
        })
        .collect();
    for out in both(&report(&entries, &names)) {
        assert!(!out.contains("secret-school-user"));
    }
    // The school's own privacy officer does see it.
    let r = SubjectReport {
        requester_oin: SCHOOL,
        ..report(&entries, &names)
    };
    for out in both(&r) {
        assert!(out.contains("secret-school-user"));
        // … and not the gemeente's werkcoach.
        assert!(!out.contains(WERKCOACH));
    }
}

/// R9: an organisation acting for the gemeente under a mandate acts for it:
/// the report says so, and the gemeente sees its end user (it answers for
/// the action); the organisation is not listed as a mere other party.
#[test]
fn an_action_under_a_mandate_names_the_gemeente_it_was_for() {
    const WERKBEDRIJF: &str = "00000003000000000777";
    let entries: Vec<Entry> = scoped_for_gemeente(&scenario())
        .into_iter()
        .map(|mut e| {
            if e.actor.oin.as_deref() == Some(GEMEENTE) {
                e.actor.oin = Some(WERKBEDRIJF.to_owned());
                e.actor.acting_for = Some(GEMEENTE.to_owned());
                e.parties.push(GEMEENTE.to_owned());
                e.parties.sort();
                e.parties.dedup();
            }
            e
        })
        .collect();
    let text = flat(&report(&entries, &names).render_text());
    assert!(text.contains("Acting for"), "{text}");
    assert!(
        text.contains("Gemeente Utrecht (OIN 00000001002220647000) (under a mandate)"),
        "{text}"
    );
    assert!(
        text.contains(WERKCOACH),
        "the gemeente sees who acted for it: {text}"
    );
}

#[test]
fn html_escapes_everything() {
    let mut entries = scoped_for_gemeente(&scenario());
    entries[0].legal_basis = Some("<script>alert(1)</script>".to_owned());
    let evil = |oin: &str| -> Option<String> {
        (oin == SCHOOL).then(|| "<img src=x onerror=\"alert(2)\"> & Co".to_owned())
    };
    let note = "origin <b>\n1\nroot\n\n— <script>x</script>\n";
    let r = SubjectReport {
        checkpoint: Some(CheckpointRef {
            size: 119,
            root_hex: "<i>",
            note,
        }),
        ..report(&entries, &evil)
    };
    let html = r.render_html();
    assert!(!html.contains("<script>"));
    assert!(!html.contains("<img"));
    assert!(!html.contains("<b>"));
    assert!(!html.contains("<i>"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("&lt;img src=x onerror=&quot;alert(2)&quot;&gt; &amp; Co"));
    // The page is self-contained: no external resources, no scripts.
    assert!(!html.contains("http://") && !html.contains("https://"));
    assert!(!html.contains("<script") && !html.contains("<link"));
}

#[test]
fn empty_report_says_nothing_was_recorded() {
    let r = report(&[], &names);
    let text = flat(&r.render_text());
    assert!(text.contains("No processing of this youth's data in which Gemeente Utrecht"));
    assert!(!text.contains("Summary"));
    assert!(text.contains("covers log entries #0 to #118."));
    let html = r.render_html();
    assert!(html.contains("class=\"empty\""));
}

#[test]
fn entries_newer_than_the_checkpoint_are_named() {
    let entries = scoped_for_gemeente(&scenario());
    let r = SubjectReport {
        checkpoint: Some(CheckpointRef {
            size: 117,
            root_hex: ROOT_HEX,
            note: NOTE,
        }),
        ..report(&entries, &names)
    };
    let text = flat(&r.render_text());
    assert!(
        text.contains("Log entries #117, #118 are newer than this checkpoint"),
        "{text}"
    );
    let none = SubjectReport {
        checkpoint: None,
        ..report(&entries, &names)
    };
    assert!(none.render_text().contains("No signed checkpoint was attached"));
}
