//! A submitted document (field groups, justifications, subject facts):
//! checked for shape and limits, taken out of the request into zeroizing
//! plaintext, and turned into policy facts. Messages name fields, never
//! values.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use schakel_crypto::{GroupPlaintext, PlainField};
use schakel_domain::{Bsn, DiplomaLevel, FieldGroup};
use schakel_policy::{
    FieldType, Policy, SensitivityClass, SpecialText, Subject, Violation as PolicyViolation,
};
use schakel_proto::v1 as pb;

use super::convert::{date_from_pb, school_type_from_pb, vso_exit_from_pb};
use crate::error::Violations;
use crate::limits::{MAX_FIELD_KEY, MAX_FIELD_VALUE, MAX_FIELDS, MAX_GROUPS, MAX_TEXT};

/// The groups of a request, in plaintext, with what the policy needs.
pub struct Document {
    /// Where each group and field sits in the request.
    pub index: FieldIndex,
    /// Policy field paths (`group.field`), in request order.
    pub fields: Vec<String>,
    /// The groups, taken out of the request (zeroized on drop).
    pub groups: Vec<GroupPlaintext>,
    /// Necessity justifications per group (R8).
    pub justifications: BTreeMap<FieldGroup, String>,
    /// The fields a justification names, by group, when it names any.
    pub justified_fields: BTreeMap<FieldGroup, BTreeSet<String>>,
}

impl Document {
    /// The value of `group.key`, if present once or more (the first).
    fn value(&self, group: &str, key: &str) -> Option<(&str, String)> {
        self.groups.iter().enumerate().find_map(|(i, g)| {
            (g.group == group)
                .then(|| {
                    g.fields.iter().position(|f| f.key == key).map(|j| {
                        (
                            g.fields[j].value.as_str(),
                            format!("groups[{i}].fields[{j}].value"),
                        )
                    })
                })
                .flatten()
        })
    }

    /// The free-text fields of the catalogue whose values hold special-category
    /// or criminal terms (R16), screened with the policy's term lists in
    /// force on `on`. Only the fields that describe the youth are screened:
    /// those of personal and sensitive groups, not names or an organisation's
    /// details. Only the field and the list leave this function.
    pub fn special_text(&self, policy: &Policy, on: Date) -> Vec<SpecialText> {
        let mut found = Vec::new();
        for g in &self.groups {
            let Some(def) = g
                .group
                .parse::<FieldGroup>()
                .ok()
                .and_then(|id| policy.groups().get(&id))
            else {
                continue;
            };
            if !matches!(
                def.class,
                SensitivityClass::Personal | SensitivityClass::Sensitive
            ) {
                continue;
            }
            for f in &g.fields {
                let free_text = def
                    .field(&f.key)
                    .is_some_and(|d| d.field_type == FieldType::Text && !d.special_category);
                if free_text && let Some(list) = policy.screen_text(&f.value, on) {
                    found.push(SpecialText {
                        field: format!("{}.{}", g.group, f.key),
                        list: list.id.clone(),
                    });
                }
            }
        }
        found
    }

    /// Justification texts as a sealed `meta.justifications` group's fields:
    /// `necessity.<group>` with the text and, when it names fields,
    /// `necessity.<group>.fields` with their names.
    pub fn justification_fields(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (g, t) in &self.justifications {
            out.push((format!("necessity.{g}"), t.clone()));
            if let Some(named) = self.justified_fields.get(g) {
                out.push((format!("necessity.{g}.fields"), join_names(named)));
            }
        }
        out
    }
}

/// Checks the shape and limits of `groups` and `justifications` and takes
/// them out of the request. `required` groups must be present.
pub fn take_document(
    v: &mut Violations,
    groups: &mut [pb::FieldGroup],
    justifications: &mut [pb::GroupJustification],
    required: &[&str],
) -> Document {
    let (index, fields) = FieldIndex::new(groups);
    if groups.len() > MAX_GROUPS {
        v.format("groups", format!("at most {MAX_GROUPS} groups"));
    }
    let mut seen = BTreeMap::new();
    for (i, g) in groups.iter().enumerate() {
        if g.name.is_empty() || g.name.len() > 64 || !g.name.bytes().all(|b| b.is_ascii_graphic()) {
            v.format(
                format!("groups[{i}].name"),
                "a group needs a name from the field catalogue",
            );
        } else if g.name.starts_with("meta.") {
            v.format(
                format!("groups[{i}].name"),
                "group names starting with 'meta.' are reserved for the hub",
            );
        } else if seen.insert(g.name.as_str(), i).is_some() {
            v.format(
                format!("groups[{i}].name"),
                "the group appears twice; merge its fields",
            );
        }
        if g.fields.len() > MAX_FIELDS {
            v.format(
                format!("groups[{i}].fields"),
                format!("at most {MAX_FIELDS} fields in a group"),
            );
        }
        for (j, f) in g.fields.iter().enumerate() {
            if f.key.is_empty() || f.key.len() > MAX_FIELD_KEY {
                v.format(
                    format!("groups[{i}].fields[{j}].key"),
                    format!("a field key has 1 to {MAX_FIELD_KEY} characters"),
                );
            }
            if f.value.chars().count() > MAX_FIELD_VALUE {
                v.format(
                    format!("groups[{i}].fields[{j}].value"),
                    format!("at most {MAX_FIELD_VALUE} characters"),
                );
            }
        }
    }
    for name in required {
        if !seen.contains_key(name) {
            v.format("groups", format!("the '{name}' group is required"));
        }
    }
    let mut just = BTreeMap::new();
    let mut justified_fields = BTreeMap::new();
    for (k, j) in justifications.iter_mut().enumerate() {
        // Every field by name: a field added to the proto does not compile
        // until it is read here (issue 19).
        let pb::GroupJustification {
            group,
            fields: named,
            justification,
        } = j;
        let field = format!("justifications[{k}]");
        let group = match group.parse::<FieldGroup>() {
            Ok(g) if seen.contains_key(g.as_str()) => Some(g),
            _ => {
                v.format(format!("{field}.group"), "must name one of the submitted groups");
                None
            }
        };
        if justification.chars().count() > MAX_TEXT {
            v.format(
                format!("{field}.justification"),
                format!("at most {MAX_TEXT} characters"),
            );
        }
        // The narrowing to named fields: each one a field sent in the group.
        if let Some(g) = group
            && !named.is_empty()
        {
            let sent: BTreeSet<&str> = seen
                .get(g.as_str())
                .map(|&i| groups[i].fields.iter().map(|f| f.key.as_str()).collect())
                .unwrap_or_default();
            let mut names = BTreeSet::new();
            for (m, n) in named.iter().enumerate() {
                if sent.contains(n.as_str()) {
                    names.insert(n.clone());
                } else {
                    v.format(
                        format!("{field}.fields[{m}]"),
                        "must name a field sent in the group",
                    );
                }
            }
            justified_fields.insert(g, names);
        }
        if let Some(g) = group
            && just.insert(g, std::mem::take(justification)).is_some()
        {
            v.format(format!("{field}.group"), "one justification per group");
        }
    }
    let groups = groups
        .iter_mut()
        .map(|g| GroupPlaintext {
            group: std::mem::take(&mut g.name),
            fields: g
                .fields
                .iter_mut()
                .map(|f| PlainField {
                    key: std::mem::take(&mut f.key),
                    value: std::mem::take(&mut f.value),
                })
                .collect(),
        })
        .collect();
    Document {
        index,
        fields,
        groups,
        justifications: just,
        justified_fields,
    }
}

/// Field names as one line, in order.
fn join_names(names: &BTreeSet<String>) -> String {
    names.iter().map(String::as_str).collect::<Vec<_>>().join(" ")
}

/// The youth's facts from a request, checked against the document: a fact
/// the policy decides on must say the same as the document's field (so a
/// request cannot state one date to pass the policy and send another).
pub struct SubjectIn {
    /// The BSN (for the pseudonym only).
    pub bsn: Option<Bsn>,
    /// The facts, when complete enough to decide.
    pub subject: Option<Subject>,
}

fn same(v: &mut Violations, doc: &Document, group: &str, key: &str, stated: Option<&str>, fact: &str) {
    if let Some((value, path)) = doc.value(group, key) {
        let matches = match stated {
            Some(s) => value.trim().eq_ignore_ascii_case(s),
            None => value.trim().is_empty(),
        };
        if !matches {
            v.format(
                path,
                format!("differs from {fact}; the facts and the document must agree"),
            );
        }
    }
}

/// Reads `s` (at `prefix`, e.g. `subject`) into policy facts.
pub fn subject_facts(
    v: &mut Violations,
    prefix: &str,
    s: Option<&mut pb::SubjectFacts>,
    doc: &Document,
    on: Date,
) -> SubjectIn {
    let Some(s) = s else {
        v.format(prefix, "the facts about the youth are required");
        return SubjectIn {
            bsn: None,
            subject: None,
        };
    };
    // Every fact by name, without `..`: a fact added to the proto does not
    // compile until it is read here (issue 19).
    let pb::SubjectFacts {
        bsn,
        date_of_birth,
        school_type,
        leaving_date,
        diploma_date,
        startkwalificatie,
        vso_exit_profile,
        enrolled,
    } = s;
    let f = |name: &str| format!("{prefix}.{name}");
    let bsn_text = std::mem::take(bsn);
    let bsn = if bsn_text.is_empty() {
        v.format(f("bsn"), "the BSN of the youth is required");
        None
    } else {
        v.parse::<Bsn>(&f("bsn"), &bsn_text)
    };
    if let Some((value, path)) = doc.value("identity", "bsn")
        && value.trim() != bsn_text
    {
        v.format(
            path,
            format!("differs from {prefix}.bsn; the facts and the document must agree"),
        );
    }
    drop(zeroize::Zeroizing::new(bsn_text));
    let birth = date_from_pb(v, &f("date_of_birth"), date_of_birth.as_ref());
    if date_of_birth.is_none() {
        v.format(f("date_of_birth"), "the date of birth is required (R2)");
    }
    let leave = date_from_pb(v, &f("leaving_date"), leaving_date.as_ref());
    // `enrolled` and the leaving date must tell the same story: the policy
    // reads a youth as enrolled until the leaving date (R10).
    if *enrolled && leave.is_some_and(|d| d <= on) {
        v.format(
            f("enrolled"),
            "differs from subject.leaving_date: a youth who has left school is not enrolled; the facts must agree",
        );
    }
    let diploma = date_from_pb(v, &f("diploma_date"), diploma_date.as_ref());
    v.known_enum::<pb::SchoolType>(f("school_type"), *school_type);
    v.known_enum::<pb::VsoExitProfile>(f("vso_exit_profile"), *vso_exit_profile);
    v.known_enum::<pb::Startkwalificatie>(f("startkwalificatie"), *startkwalificatie);
    let school_type = school_type_from_pb(*school_type);
    let vso = vso_exit_from_pb(*vso_exit_profile);
    let sk = match pb::Startkwalificatie::try_from(*startkwalificatie) {
        Ok(pb::Startkwalificatie::Achieved) => Some(true),
        Ok(pb::Startkwalificatie::NotAchieved) => Some(false),
        _ => None,
    };
    let diploma_level = match doc.value("school_career", "diploma_level") {
        Some((value, path)) => match value.trim().parse::<DiplomaLevel>() {
            Ok(d) => Some(d),
            Err(_) => {
                v.format(path, "not a diploma level of the catalogue (e.g. mbo_2, havo)");
                None
            }
        },
        None => None,
    };
    let iso = |d: Option<Date>| d.map(|d| d.to_string());
    same(
        v,
        doc,
        "identity",
        "date_of_birth",
        iso(birth).as_deref(),
        &f("date_of_birth"),
    );
    same(
        v,
        doc,
        "school_career",
        "leave_date",
        iso(leave).as_deref(),
        &f("leaving_date"),
    );
    same(
        v,
        doc,
        "school_career",
        "diploma_date",
        iso(diploma).as_deref(),
        &f("diploma_date"),
    );
    same(
        v,
        doc,
        "school_career",
        "school_type",
        school_type.map(|t| t.as_str()),
        &f("school_type"),
    );
    same(
        v,
        doc,
        "school_career",
        "vso_exit_profile",
        vso.map(|t| t.as_str()),
        &f("vso_exit_profile"),
    );
    if let Some((value, path)) = doc.value("school_career", "startkwalificatie") {
        let doc_sk = match value.trim().to_ascii_lowercase().as_str() {
            "true" | "ja" | "yes" => Some(true),
            "false" | "nee" | "no" => Some(false),
            _ => None,
        };
        if doc_sk.is_none() || doc_sk != sk {
            v.format(
                path,
                format!("must be true or false and agree with {}", f("startkwalificatie")),
            );
        }
    }
    SubjectIn {
        bsn,
        subject: birth.map(|date_of_birth| Subject {
            date_of_birth,
            school_type,
            vso_exit_profile: vso,
            leave_date: leave,
            diploma_level,
            diploma_date: diploma,
            startkwalificatie: sk,
        }),
    }
}

// ---- policy violations → request field paths ----

/// Where the groups and fields of a request are, so a policy path
/// (`contact.youth.postcode`, `fields[3]`) can be shown as the request's path
/// (`groups[1].fields[0].key`).
#[derive(Default)]
pub struct FieldIndex {
    /// Policy path of each field, in `Facts::fields` order, with its position.
    positions: Vec<(String, usize, usize)>,
    groups: BTreeMap<String, usize>,
}

impl FieldIndex {
    /// Indexes the groups of a request and returns the policy field paths.
    pub fn new(groups: &[pb::FieldGroup]) -> (Self, Vec<String>) {
        let mut idx = Self::default();
        let mut paths = Vec::new();
        for (i, g) in groups.iter().enumerate() {
            idx.groups.entry(g.name.clone()).or_insert(i);
            for (j, f) in g.fields.iter().enumerate() {
                let path = format!("{}.{}", g.name, f.key);
                idx.positions.push((path.clone(), i, j));
                paths.push(path);
            }
        }
        (idx, paths)
    }

    fn group_path(&self, group: &str) -> Option<String> {
        self.groups.get(group).map(|i| format!("groups[{i}].name"))
    }

    fn field_path(&self, path: &str) -> Option<String> {
        if let Some(n) = path.strip_prefix("fields[").and_then(|r| r.strip_suffix(']')) {
            let k: usize = n.parse().ok()?;
            let (_, i, j) = self.positions.get(k)?;
            return Some(format!("groups[{i}].fields[{j}].key"));
        }
        self.positions
            .iter()
            .find(|(p, _, _)| p == path)
            .map(|(_, i, j)| format!("groups[{i}].fields[{j}].key"))
    }

    /// The request path of a policy violation (see transfer.proto `Submit`).
    pub fn request_path(&self, v: &PolicyViolation, names: &RequestNames) -> String {
        let p = v.field_path.as_str();
        // R16 in free text: the value's own path.
        if let Some(key) = p.strip_suffix(".value").and_then(|f| self.field_path(f)) {
            return format!("{}.value", key.trim_end_matches(".key"));
        }
        let subject = |f: &str| format!("{}.{f}", names.subject);
        match p {
            "identity.date_of_birth" => subject("date_of_birth"),
            "school_career.school_type" => subject("school_type"),
            "school_career.leave_date" => subject("leaving_date"),
            "school_career.diploma_date" => subject("diploma_date"),
            "school_career.startkwalificatie" => subject("startkwalificatie"),
            "school_career.vso_exit_profile" => subject("vso_exit_profile"),
            "hardheidsclausule" => "hardheidsclausule".into(),
            "purpose" | "sender.kind" | "sender.function" | "retention" => "purpose".into(),
            "keys.sender" => names.sender_copy.into(),
            "recipient.kind" | "recipient.function" | "keys.recipient" => names.recipient.into(),
            "expertise_request" => "request_id".into(),
            "return_to_education" => "return_to_education".into(),
            "fields" => "groups".into(),
            _ if p == "consent" || p.starts_with("consent.") => "consent_id".into(),
            // R8: a missing justification is shown at the justification.
            _ if p.starts_with("justifications.") => {
                format!("justifications[{}]", &p["justifications.".len()..])
            }
            _ => {
                if let Some(g) = self.group_path(p) {
                    return g;
                }
                self.field_path(p).unwrap_or_else(|| "groups".into())
            }
        }
    }
}

/// What one request calls the parts the policy names: the facts about the
/// youth, the recipient and what the sender keeps a sealed copy of
/// (`Submit`: `subject`, `recipient`, `purpose`; `RequestExpertise`:
/// `doorstroompunt`; `GiveAdvice`: `request_id`, `advice_text`).
#[derive(Debug, Clone, Copy)]
pub struct RequestNames {
    /// The field holding the subject facts.
    pub subject: &'static str,
    /// The field naming the recipient.
    pub recipient: &'static str,
    /// The field a missing key of the sender's own function is shown at.
    pub sender_copy: &'static str,
}
