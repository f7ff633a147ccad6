//! ConsentService requests as the hub reads them (R4, R13).

use std::collections::BTreeSet;

use jiff::civil::Date;
use schakel_domain::{Bsn, ConsentGiver, ConsentMethod, ConsentStatus, FieldGroup, PurposeId};
use schakel_proto::v1 as pb;
use schakel_store::PartyKey;

use super::check::{check_key, check_reference};
use super::convert::{date_from_pb, giver_from_pb, method_from_pb, party_key};
use crate::error::Violations;

/// A RecordConsent request, read: every field by name (a field added to
/// the proto does not compile until it is read here), every problem in the
/// caller's [`Violations`]. Whether this giver may say this, for this
/// purpose, recipient and groups, is the policy's
/// (`schakel_policy::decide_consent_record`).
pub struct RecordConsent {
    /// The recorder's idempotency key.
    pub idempotency_key: String,
    /// Given or refused.
    pub status: Option<ConsentStatus>,
    /// The youth's BSN (required for a given consent; for the pseudonym only).
    pub bsn: Option<Bsn>,
    /// The youth's date of birth.
    pub date_of_birth: Option<Date>,
    /// Who says it.
    pub giver: Option<ConsentGiver>,
    /// How it was obtained.
    pub method: Option<ConsentMethod>,
    /// The purpose it is for.
    pub purpose: Option<PurposeId>,
    /// The recipient it names (whether it exists is the directory's to say).
    pub recipient: Option<PartyKey>,
    /// The groups it names that parse, each once, with its place in the request.
    pub groups: Vec<(usize, FieldGroup)>,
    /// First valid day (today when not given).
    pub valid_from: Date,
    /// Last valid day, if any.
    pub valid_until: Option<Date>,
    /// The recorder's own reference.
    pub client_reference: String,
}

impl RecordConsent {
    /// Reads `r`, judging dates against `on`.
    pub fn read(r: pb::RecordConsentRequest, v: &mut Violations, on: Date) -> Self {
        let pb::RecordConsentRequest {
            idempotency_key,
            status,
            subject,
            giver,
            scope,
            method,
            valid_from,
            valid_until,
            client_reference,
        } = r;
        check_key(v, "idempotency_key", &idempotency_key);
        let status = match pb::ConsentStatus::try_from(status) {
            Ok(pb::ConsentStatus::Given) => Some(ConsentStatus::Given),
            Ok(pb::ConsentStatus::Refused) => Some(ConsentStatus::Refused),
            _ => {
                v.format("status", "must be GIVEN or REFUSED");
                None
            }
        };
        let given = status == Some(ConsentStatus::Given);
        let subject = subject.unwrap_or_default();
        let bsn = if subject.bsn.is_empty() {
            if given {
                v.format(
                    "subject.bsn",
                    "the BSN of the youth is required for a given consent",
                );
            }
            None
        } else {
            v.parse::<Bsn>("subject.bsn", &subject.bsn)
        };
        let date_of_birth = date_from_pb(v, "subject.date_of_birth", subject.date_of_birth.as_ref());
        if given && subject.date_of_birth.is_none() {
            v.format(
                "subject.date_of_birth",
                "the date of birth decides who may consent (R4) and is required",
            );
        }
        let giver = giver_from_pb(giver);
        if giver.is_none() {
            v.format("giver", "must be YOUTH, PARENT, GUARDIAN or REPRESENTATIVE");
        }
        let method = method_from_pb(method);
        if method.is_none() {
            v.format("method", "say how the consent (or refusal) was obtained");
        }
        let pb::ConsentScope {
            purpose,
            recipient,
            groups: group_names,
        } = scope.unwrap_or_default();
        let purpose = v.parse::<PurposeId>("scope.purpose", &purpose);
        let recipient = party_key(v, "scope.recipient", recipient.as_ref());
        let mut seen = BTreeSet::new();
        let mut groups = Vec::new();
        for (i, g) in group_names.iter().enumerate() {
            let field = format!("scope.groups[{i}]");
            let Some(group) = v.parse::<FieldGroup>(&field, g) else {
                continue;
            };
            if seen.insert(group) {
                groups.push((i, group));
            } else {
                v.format(&field, "the group is listed twice");
            }
        }
        if given && group_names.is_empty() {
            v.format("scope.groups", "a given consent names the groups it covers");
        }
        let valid_from = date_from_pb(v, "valid_from", valid_from.as_ref()).unwrap_or(on);
        let valid_until = date_from_pb(v, "valid_until", valid_until.as_ref());
        if let Some(u) = valid_until {
            if !given {
                v.format("valid_until", "a refusal has no validity period");
            } else if u < valid_from {
                v.format("valid_until", "must not be before valid_from");
            }
        }
        if valid_from > on {
            v.format(
                "valid_from",
                "consent cannot be recorded ahead of the day it is given",
            );
        }
        check_reference(v, "client_reference", &client_reference);
        Self {
            idempotency_key,
            status,
            bsn,
            date_of_birth,
            giver,
            method,
            purpose,
            recipient,
            groups,
            valid_from,
            valid_until,
            client_reference,
        }
    }

    /// The request path of a path of `decide_consent_record` (`purpose`,
    /// `recipient.*`, `consent.giver`, `groups[k]` of the groups read).
    pub fn request_path(&self, policy_path: &str) -> String {
        match policy_path {
            "purpose" => "scope.purpose".to_owned(),
            "recipient.kind" | "recipient.function" => "scope.recipient".to_owned(),
            "consent.giver" => "giver".to_owned(),
            p => p
                .strip_prefix("groups[")
                .and_then(|k| k.strip_suffix(']'))
                .and_then(|k| k.parse::<usize>().ok())
                .and_then(|k| self.groups.get(k))
                .map_or_else(|| "scope".to_owned(), |(i, _)| format!("scope.groups[{i}]")),
        }
    }
}
