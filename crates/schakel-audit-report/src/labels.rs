//! Readable labels for the machine codes in audit entries.

use schakel_audit::{Action, Outcome};

use crate::text::scrub;

/// An organisation's function as a reader knows it (one organisation has
/// several, R9). Unknown functions show their code.
pub(crate) fn function_label(function: &str) -> String {
    match function {
        "school" => "school".to_owned(),
        "doorstroompunt" => "Doorstroompunt".to_owned(),
        "participatiewet" => "Participatiewet (werkcoach)".to_owned(),
        "privacy_officer" => "privacy officer".to_owned(),
        "admin" => "hub administrator".to_owned(),
        other => scrub(other),
    }
}

/// Whether the action's transfer id field holds an expertise request id.
pub(crate) fn is_expertise(action: &Action) -> bool {
    matches!(
        action,
        Action::ExpertiseRequested
            | Action::ExpertiseFetched
            | Action::ExpertiseAdvised
            | Action::AdviceFetched
    )
}

/// What a transfer under this purpose is called: a handover carries an
/// *overgangsdocument* (R4, R5); other transfers (support during school, R10)
/// are just transfers.
fn document(purpose: Option<&str>) -> &'static str {
    match purpose {
        Some(p) if p.starts_with("handover.") => "overgangsdocument",
        _ => "transfer",
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A short sentence for what happened. Unknown actions show their text form.
pub(crate) fn action_label(action: &Action, purpose: Option<&str>) -> String {
    let doc = document(purpose);
    match action {
        Action::ConsentRecorded => "Consent recorded".to_owned(),
        Action::ConsentRefused => "Consent refused (recorded without content)".to_owned(),
        Action::ConsentWithdrawn => "Consent withdrawn".to_owned(),
        Action::TransferWithdrawn => format!(
            "{} withdrawn with the consent (not delivered, or the recipient told to delete it)",
            capitalised(doc)
        ),
        Action::TransferSubmitted => format!("{} submitted", capitalised(doc)),
        Action::TransferRefused => format!(
            "{} refused on submission (nothing was stored or sent)",
            capitalised(doc)
        ),
        Action::TransferFetched => format!("{} fetched by recipient", capitalised(doc)),
        Action::SentCopyFetched => format!("Sender viewed its own copy of the {doc}"),
        Action::ConsentViewed => "Consent record viewed by sender".to_owned(),
        Action::TransferAcknowledged => format!("Receipt of the {doc} acknowledged by recipient"),
        Action::TransferDecided => format!("{} accepted or declined by recipient", capitalised(doc)),
        Action::WithdrawalNoticeAcknowledged => {
            "Notice of withdrawn consent acknowledged by recipient".to_owned()
        }
        Action::ExpertiseRequested => "Expertise requested from the Doorstroompunt".to_owned(),
        Action::ExpertiseFetched => "Expertise request read by the Doorstroompunt".to_owned(),
        Action::ExpertiseAdvised => "Advice given by the Doorstroompunt".to_owned(),
        Action::JustificationsRead => {
            "Necessity justifications read by a privacy officer (proof of the assessment, R8)".to_owned()
        }
        Action::HardheidsclausuleDecided => {
            "Hardheidsclausule applied by the gemeente (support past 27, art. 7a lid 7)".to_owned()
        }
        Action::MandateRecorded => {
            "Mandate recorded: another organisation carries out the gemeente's task (R9)".to_owned()
        }
        Action::MandateEnded => "Mandate ended by the hub administrator (R9)".to_owned(),
        Action::RegionalNumbersRead => {
            "Regional numbers read by a regional partner (counts only, R17)".to_owned()
        }
        Action::AdviceFetched => "Advice of the Doorstroompunt read by the requester".to_owned(),
        Action::Purge => "Content removed at the end of its retention period".to_owned(),
        Action::AdminChange => "Configuration or policy changed by the hub administrator".to_owned(),
        Action::AuditQuery => "Audit log searched by a privacy officer".to_owned(),
        Action::AuditExport => "Audit entries exported by a privacy officer".to_owned(),
        Action::AuthenticationFailed => "Caller could not be authenticated".to_owned(),
        Action::AuthorisationFailed => "Request not allowed for this caller".to_owned(),
        Action::LookupNotFound => "Record asked for that does not exist or is not the caller's".to_owned(),
        // `Action` is non-exhaustive: a newer log may hold actions this version
        // does not know by name. Matched by text so the label works whether or
        // not the audit crate in use has the variant yet.
        other => match other.as_str() {
            "audit_report" => "Report made by a privacy officer".to_owned(),
            text => format!("Other action: {}", scrub(text)),
        },
    }
}

/// `done`, `refused under R4, R9`, `failed (storage_unavailable)`.
pub(crate) fn outcome_text(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Success => "done".to_owned(),
        Outcome::Refused { rules } if rules.is_empty() => "refused".to_owned(),
        Outcome::Refused { rules } => format!("refused under {}", scrub(&rules.join(", "))),
        Outcome::Error { code } => format!("failed ({})", scrub(code)),
    }
}

/// `Gemeente Utrecht (OIN 00000001002220647000)`; the OIN alone when the
/// directory has no name for it.
pub(crate) fn organisation(names: &dyn Fn(&str) -> Option<String>, oin: &str) -> String {
    match names(oin) {
        Some(name) => format!("{} (OIN {})", scrub(&name), scrub(oin)),
        None => format!("organisation with OIN {}", scrub(oin)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_action_has_its_own_label() {
        let labels: std::collections::BTreeSet<String> = Action::KNOWN
            .iter()
            .map(|a| action_label(a, Some("handover.school_to_gemeente")))
            .collect();
        assert_eq!(labels.len(), Action::KNOWN.len());
        assert!(labels.iter().all(|l| !l.starts_with("Other action")));
    }

    #[test]
    fn unknown_action_shows_its_text() {
        let a: Action = "teleported".parse().expect("snake_case");
        assert_eq!(action_label(&a, None), "Other action: teleported");
    }

    #[test]
    fn handover_is_an_overgangsdocument() {
        assert_eq!(
            action_label(&Action::TransferSubmitted, Some("handover.school_to_gemeente")),
            "Overgangsdocument submitted"
        );
        assert_eq!(
            action_label(&Action::TransferSubmitted, Some("support.during_school")),
            "Transfer submitted"
        );
    }

    #[test]
    fn outcomes() {
        assert_eq!(outcome_text(&Outcome::Success), "done");
        let refused = Outcome::Refused {
            rules: vec!["R4".into(), "R9".into()],
        };
        assert_eq!(outcome_text(&refused), "refused under R4, R9");
        let failed = Outcome::Error {
            code: "storage_unavailable".into(),
        };
        assert_eq!(outcome_text(&failed), "failed (storage_unavailable)");
    }

    #[test]
    fn functions() {
        assert_eq!(function_label("participatiewet"), "Participatiewet (werkcoach)");
        assert_eq!(function_label("doorstroompunt"), "Doorstroompunt");
        assert_eq!(function_label("mystery"), "mystery");
    }
}
