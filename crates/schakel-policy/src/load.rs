//! Parsing and validating policy files. Pure: the caller reads the files.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use jiff::civil::Date;
use schakel_domain::{ConsentGiver, FieldGroup, FieldPath, FunctionKind, OrgKind, PurposeId, SchoolType};
use sha2::{Digest, Sha256};
use toml::Spanned;

use crate::error::line_col;
use crate::model::*;
use crate::{PolicyError, PolicyIssue, RuleId};

/// Domain-separation label of the policy version hash.
const VERSION_LABEL: &[u8] = b"schakel-policy-version-v1\n";

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    purpose: Vec<Spanned<RawPurpose>>,
    #[serde(default)]
    group: Vec<Spanned<RawGroup>>,
    #[serde(default)]
    forbidden: Vec<Spanned<RawForbidden>>,
    #[serde(default)]
    text_terms: Vec<Spanned<RawTextTerms>>,
    #[serde(default)]
    profile: Vec<Spanned<RawProfile>>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPurpose {
    id: Spanned<PurposeId>,
    title: String,
    title_nl: String,
    description: String,
    legal_basis: Spanned<String>,
    legal_refs: Spanned<Vec<String>>,
    valid_from: Spanned<Date>,
    #[serde(default)]
    valid_until: Option<Spanned<Date>>,
    sender_kinds: Spanned<Vec<OrgKind>>,
    sender_functions: Spanned<BTreeSet<FunctionKind>>,
    recipient_kinds: Spanned<Vec<OrgKind>>,
    recipient_functions: Spanned<BTreeSet<FunctionKind>>,
    max_age: u8,
    #[serde(default)]
    hardheidsclausule: bool,
    startkwalificatie: StartkwalificatieCondition,
    #[serde(default)]
    startkwalificatie_rule: Option<RuleId>,
    school_status: SchoolStatus,
    #[serde(default)]
    necessity_justification: NecessityJustification,
    #[serde(default)]
    channel: Channel,
    #[serde(default)]
    seal_to_sender: bool,
    #[serde(default)]
    requires_open_request: bool,
    #[serde(default)]
    document_optional: bool,
    #[serde(default)]
    requires_return_judgement: bool,
    #[serde(default)]
    vso_school_responsibility_years: Option<u8>,
    retention_months: Spanned<u16>,
    retention_note: String,
    consent: Spanned<RawConsent>,
    #[serde(default)]
    window: Vec<Spanned<RawWindow>>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConsent {
    required: bool,
    #[serde(default = "default_adult_age")]
    adult_age: u8,
    #[serde(default)]
    givers_minor: BTreeSet<ConsentGiver>,
    #[serde(default)]
    givers_adult: BTreeSet<ConsentGiver>,
}

fn default_adult_age() -> u8 {
    18
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWindow {
    school_types: BTreeSet<SchoolType>,
    from: WindowAnchor,
    years: u8,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    id: Spanned<FieldGroup>,
    title: String,
    title_nl: String,
    class: SensitivityClass,
    purposes: Vec<Spanned<PurposeId>>,
    #[serde(default)]
    justification_required_for: Vec<Spanned<PurposeId>>,
    #[serde(default)]
    justify_fields: bool,
    #[serde(default)]
    refusal_rule: Option<RuleId>,
    #[serde(default)]
    field: Vec<Spanned<RawField>>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    name: Spanned<String>,
    #[serde(rename = "type")]
    field_type: FieldType,
    description: String,
    #[serde(default)]
    special_category: bool,
    #[serde(default)]
    legal_ground: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTextTerms {
    id: Spanned<String>,
    rule: RuleId,
    title: String,
    title_nl: String,
    hint: String,
    valid_from: Date,
    #[serde(default)]
    valid_until: Option<Date>,
    terms: Spanned<Vec<String>>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawForbidden {
    id: Spanned<String>,
    rule: RuleId,
    title: String,
    title_nl: String,
    reason: String,
    names: Spanned<BTreeSet<String>>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    region: Spanned<String>,
    title: String,
    #[serde(default)]
    purpose: Vec<Spanned<RawProfilePurpose>>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfilePurpose {
    id: Spanned<PurposeId>,
    groups: Vec<Spanned<FieldGroup>>,
    #[serde(default)]
    omit_fields: Vec<Spanned<FieldPath>>,
    #[serde(default)]
    retention_months: Option<Spanned<u16>>,
}

/// Collects issues with positions for one set of files.
struct Issues<'a> {
    texts: BTreeMap<&'a str, &'a str>,
    list: Vec<PolicyIssue>,
}

impl<'a> Issues<'a> {
    fn at(&mut self, file: &str, span: Range<usize>, message: impl Into<String>) {
        let (line, column) = match self.texts.get(file) {
            Some(text) => {
                let (l, c) = line_col(text, span.start);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        self.list.push(PolicyIssue {
            file: file.to_owned(),
            line,
            column,
            message: message.into(),
        });
    }

    fn whole(&mut self, file: &str, message: impl Into<String>) {
        self.list.push(PolicyIssue {
            file: file.to_owned(),
            line: None,
            column: None,
            message: message.into(),
        });
    }
}

/// The policy version: hex SHA-256 over a label and, for each file sorted by
/// name, the length-prefixed (u64 big-endian) name and content.
pub fn policy_version(files: &[(&str, &str)]) -> String {
    let mut sorted: Vec<&(&str, &str)> = files.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut h = Sha256::new();
    h.update(VERSION_LABEL);
    for (name, text) in sorted {
        h.update((name.len() as u64).to_be_bytes());
        h.update(name.as_bytes());
        h.update((text.len() as u64).to_be_bytes());
        h.update(text.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Parse and validate policy files given as `(file name, contents)` pairs.
///
/// The crate does no I/O: the caller reads `policy/*.toml` and passes the
/// contents. Every problem found is reported at once, each with the file, the
/// line and column where the toml parser or the check located it, and why:
/// syntax errors, unknown keys, wrong types, unknown purposes or groups,
/// purposes without a legal basis, overlapping validity of one purpose id
/// (R1), and region profiles that would widen the catalogue (R12).
pub fn load(files: &[(&str, &str)]) -> Result<Policy, PolicyError> {
    let mut sorted: Vec<(&str, &str)> = files.to_vec();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut issues = Issues {
        texts: sorted.iter().copied().collect(),
        list: Vec::new(),
    };

    if sorted.is_empty() {
        issues.whole("<policy>", "no policy files were given");
    }
    for w in sorted.windows(2) {
        if w[0].0 == w[1].0 {
            issues.whole(w[1].0, "the same file name is given twice");
        }
    }

    // Parse every file; syntax and schema errors are reported for all files.
    let mut parsed: Vec<(&str, RawFile)> = Vec::new();
    for (name, text) in &sorted {
        match toml::from_str::<RawFile>(text) {
            Ok(raw) => parsed.push((name, raw)),
            Err(e) => {
                let msg = e.message().trim_end().to_owned();
                match e.span() {
                    Some(span) => issues.at(name, span, msg),
                    None => issues.whole(name, msg),
                }
            }
        }
    }
    if !issues.list.is_empty() {
        return Err(PolicyError::Invalid { issues: issues.list });
    }

    let mut purposes: Vec<(Purpose, &str, Range<usize>)> = Vec::new();
    // Ids of every purpose defined, valid or not, so that one invalid purpose
    // does not also produce "unknown purpose" for every reference to it.
    let mut purpose_ids: BTreeSet<PurposeId> = BTreeSet::new();
    let mut raw_groups = Vec::new();
    let mut raw_forbidden = Vec::new();
    let mut raw_terms = Vec::new();
    let mut raw_profiles = Vec::new();
    for (file, raw) in parsed {
        for p in raw.purpose {
            let span = p.span();
            purpose_ids.insert(p.get_ref().id.get_ref().clone());
            if let Some(purpose) = purpose_from_raw(&mut issues, file, p.into_inner()) {
                purposes.push((purpose, file, span));
            }
        }
        raw_groups.extend(raw.group.into_iter().map(|g| (file, g)));
        raw_forbidden.extend(raw.forbidden.into_iter().map(|f| (file, f)));
        raw_terms.extend(raw.text_terms.into_iter().map(|t| (file, t)));
        raw_profiles.extend(raw.profile.into_iter().map(|p| (file, p)));
    }

    if purposes.is_empty() && issues.list.is_empty() {
        issues.whole(
            sorted.first().map_or("<policy>", |f| f.0),
            "the policy defines no purpose",
        );
    }

    // R1: versions of one purpose id must not overlap in time.
    purposes.sort_by(|a, b| (&a.0.id, a.0.valid_from).cmp(&(&b.0.id, b.0.valid_from)));
    for w in purposes.windows(2) {
        let (a, b) = (&w[0].0, &w[1].0);
        if a.id == b.id && a.valid_until.is_none_or(|u| b.valid_from <= u) {
            issues.at(
                w[1].1,
                w[1].2.clone(),
                format!(
                    "purpose {} has two versions valid on {}: validity periods of one purpose must not overlap",
                    b.id, b.valid_from
                ),
            );
        }
    }
    let groups = groups_from_raw(&mut issues, raw_groups, &purpose_ids);
    let forbidden = forbidden_from_raw(&mut issues, raw_forbidden, &groups);
    let text_terms = text_terms_from_raw(&mut issues, raw_terms);
    let profiles = profiles_from_raw(&mut issues, raw_profiles, &purposes, &purpose_ids, &groups);

    if !issues.list.is_empty() {
        return Err(PolicyError::Invalid { issues: issues.list });
    }
    Ok(Policy {
        version: policy_version(files),
        files: sorted.iter().map(|f| f.0.to_owned()).collect(),
        purposes: purposes.into_iter().map(|p| p.0).collect(),
        groups,
        forbidden,
        text_terms,
        profiles,
    })
}

/// Deduplicate kinds into `OrgKind::ALL` order.
fn kinds(list: Vec<OrgKind>) -> Vec<OrgKind> {
    OrgKind::ALL.into_iter().filter(|k| list.contains(k)).collect()
}

fn purpose_from_raw(issues: &mut Issues<'_>, file: &str, r: RawPurpose) -> Option<Purpose> {
    let before = issues.list.len();
    let id = r.id.get_ref().clone();
    if r.legal_basis.get_ref().trim().is_empty() {
        issues.at(
            file,
            r.legal_basis.span(),
            format!("purpose {id} has no legal basis: legal_basis is empty"),
        );
    }
    if r.legal_refs.get_ref().iter().all(|s| s.trim().is_empty()) {
        issues.at(
            file,
            r.legal_refs.span(),
            format!("purpose {id} names no article in legal_refs"),
        );
    }
    if let Some(until) = &r.valid_until
        && *until.get_ref() < *r.valid_from.get_ref()
    {
        issues.at(
            file,
            until.span(),
            format!("purpose {id}: valid_until is before valid_from"),
        );
    }
    for (span, what, empty) in [
        (
            r.sender_kinds.span(),
            "sender_kinds",
            r.sender_kinds.get_ref().is_empty(),
        ),
        (
            r.sender_functions.span(),
            "sender_functions",
            r.sender_functions.get_ref().is_empty(),
        ),
        (
            r.recipient_kinds.span(),
            "recipient_kinds",
            r.recipient_kinds.get_ref().is_empty(),
        ),
        (
            r.recipient_functions.span(),
            "recipient_functions",
            r.recipient_functions.get_ref().is_empty(),
        ),
    ] {
        if empty {
            issues.at(file, span, format!("purpose {id}: {what} must not be empty"));
        }
    }
    // R9: every listed function must be one some listed kind can hold.
    for (kinds, funcs, what) in [
        (&r.sender_kinds, &r.sender_functions, "sender"),
        (&r.recipient_kinds, &r.recipient_functions, "recipient"),
    ] {
        for f in funcs.get_ref() {
            if !kinds.get_ref().iter().any(|k| k.allows_function(*f)) {
                issues.at(
                    file,
                    funcs.span(),
                    format!("purpose {id}: no {what} kind listed can hold the function {f}"),
                );
            }
        }
    }
    let consent_span = r.consent.span();
    let c = r.consent.into_inner();
    if c.required && (c.givers_minor.is_empty() || c.givers_adult.is_empty()) {
        issues.at(
            file,
            consent_span.clone(),
            format!("purpose {id}: consent is required, so givers_minor and givers_adult must name who may give it"),
        );
    }
    let mut windows = Vec::new();
    let mut seen_types = BTreeSet::new();
    for w in r.window {
        let span = w.span();
        let w = w.into_inner();
        if w.years == 0 || w.school_types.is_empty() {
            issues.at(
                file,
                span.clone(),
                format!("purpose {id}: a window needs school_types and years > 0"),
            );
        }
        for t in &w.school_types {
            if !seen_types.insert(*t) {
                issues.at(
                    file,
                    span.clone(),
                    format!("purpose {id}: two windows for school type {t}"),
                );
            }
        }
        windows.push(Window {
            school_types: w.school_types,
            anchor: w.from,
            years: w.years,
        });
    }
    if !windows.is_empty() && r.school_status != SchoolStatus::Left {
        issues.at(
            file,
            consent_span,
            format!("purpose {id}: windows need school_status = \"left\""),
        );
    }
    if *r.retention_months.get_ref() == 0 {
        issues.at(
            file,
            r.retention_months.span(),
            format!("purpose {id}: retention_months must be at least 1"),
        );
    }
    if issues.list.len() != before {
        return None;
    }
    Some(Purpose {
        id,
        title: r.title,
        title_nl: r.title_nl,
        description: r.description,
        legal_basis: r.legal_basis.into_inner(),
        legal_refs: r.legal_refs.into_inner(),
        valid_from: r.valid_from.into_inner(),
        valid_until: r.valid_until.map(Spanned::into_inner),
        sender_kinds: kinds(r.sender_kinds.into_inner()),
        sender_functions: r.sender_functions.into_inner(),
        recipient_kinds: kinds(r.recipient_kinds.into_inner()),
        recipient_functions: r.recipient_functions.into_inner(),
        consent: ConsentRule {
            required: c.required,
            adult_age: c.adult_age,
            givers_minor: c.givers_minor,
            givers_adult: c.givers_adult,
        },
        max_age: r.max_age,
        hardheidsclausule: r.hardheidsclausule,
        startkwalificatie: r.startkwalificatie,
        startkwalificatie_rule: r.startkwalificatie_rule.unwrap_or(RuleId::R3),
        school_status: r.school_status,
        windows,
        necessity_justification: r.necessity_justification,
        channel: r.channel,
        seal_to_sender: r.seal_to_sender,
        requires_open_request: r.requires_open_request,
        document_optional: r.document_optional,
        requires_return_judgement: r.requires_return_judgement,
        vso_school_responsibility_years: r.vso_school_responsibility_years,
        retention_months: r.retention_months.into_inner(),
        retention_note: r.retention_note,
    })
}

fn groups_from_raw(
    issues: &mut Issues<'_>,
    raw: Vec<(&str, Spanned<RawGroup>)>,
    purpose_ids: &BTreeSet<PurposeId>,
) -> BTreeMap<FieldGroup, GroupDef> {
    let mut groups = BTreeMap::new();
    for (file, g) in raw {
        let g = g.into_inner();
        let id = *g.id.get_ref();
        if groups.contains_key(&id) {
            issues.at(file, g.id.span(), format!("group {id} is defined twice"));
            continue;
        }
        let mut check_refs = |list: &[Spanned<PurposeId>], what: &str| {
            for p in list {
                if !purpose_ids.contains(p.get_ref()) {
                    issues.at(
                        file,
                        p.span(),
                        format!("group {id}: {what} names unknown purpose {}", p.get_ref()),
                    );
                }
            }
        };
        check_refs(&g.purposes, "purposes");
        check_refs(&g.justification_required_for, "justification_required_for");
        let purposes: BTreeSet<PurposeId> = g.purposes.iter().map(|p| p.get_ref().clone()).collect();
        for p in &g.justification_required_for {
            if !purposes.contains(p.get_ref()) {
                issues.at(
                    file,
                    p.span(),
                    format!(
                        "group {id}: justification_required_for names {}, which the group does not serve",
                        p.get_ref()
                    ),
                );
            }
        }
        let mut fields: Vec<FieldDef> = Vec::new();
        for f in g.field {
            let f = f.into_inner();
            let name = f.name.get_ref();
            if FieldPath::new(id, name).is_err() {
                issues.at(
                    file,
                    f.name.span(),
                    format!("group {id}: field name {name:?} is not a valid field name"),
                );
            } else if fields.iter().any(|x| &x.name == name) {
                issues.at(
                    file,
                    f.name.span(),
                    format!("group {id}: field {name} is defined twice"),
                );
            }
            // R16: a special-category field needs an explicit legal ground.
            if f.special_category && f.legal_ground.as_deref().is_none_or(|s| s.trim().is_empty()) {
                issues.at(
                    file,
                    f.name.span(),
                    format!(
                        "group {id}: field {name} is special-category data and needs a legal_ground (R16)"
                    ),
                );
            }
            fields.push(FieldDef {
                name: f.name.into_inner(),
                field_type: f.field_type,
                description: f.description,
                special_category: f.special_category,
                legal_ground: f.legal_ground,
            });
        }
        groups.insert(
            id,
            GroupDef {
                id,
                title: g.title,
                title_nl: g.title_nl,
                class: g.class,
                purposes,
                justification_required_for: g
                    .justification_required_for
                    .into_iter()
                    .map(Spanned::into_inner)
                    .collect(),
                justify_fields: g.justify_fields,
                refusal_rule: g.refusal_rule.unwrap_or(RuleId::R12),
                fields,
            },
        );
    }
    groups
}

fn forbidden_from_raw(
    issues: &mut Issues<'_>,
    raw: Vec<(&str, Spanned<RawForbidden>)>,
    groups: &BTreeMap<FieldGroup, GroupDef>,
) -> Vec<ForbiddenCategory> {
    let mut out: Vec<ForbiddenCategory> = Vec::new();
    for (file, f) in raw {
        let f = f.into_inner();
        if out.iter().any(|x| &x.id == f.id.get_ref()) {
            issues.at(
                file,
                f.id.span(),
                format!("forbidden category {} is defined twice", f.id.get_ref()),
            );
        }
        if ![RuleId::R14, RuleId::R16].contains(&f.rule) {
            issues.at(file, f.id.span(), "a forbidden category must cite R14 or R16");
        }
        let names: BTreeSet<String> = f.names.get_ref().iter().map(|n| n.to_ascii_lowercase()).collect();
        if names.is_empty() || names.iter().any(|n| n.is_empty()) {
            issues.at(
                file,
                f.names.span(),
                format!("forbidden category {}: names must not be empty", f.id.get_ref()),
            );
        }
        let cat = ForbiddenCategory {
            id: f.id.get_ref().clone(),
            rule: f.rule,
            title: f.title,
            title_nl: f.title_nl,
            reason: f.reason,
            names,
        };
        // A field cannot be both in the catalogue and forbidden.
        for g in groups.values() {
            for field in &g.fields {
                let path = format!("{}.{}", g.id, field.name);
                if cat.matches(&path) {
                    issues.at(
                        file,
                        f.names.span(),
                        format!("forbidden category {} matches catalogue field {path}", cat.id),
                    );
                }
            }
        }
        out.push(cat);
    }
    out
}

fn text_terms_from_raw(issues: &mut Issues<'_>, raw: Vec<(&str, Spanned<RawTextTerms>)>) -> Vec<TextTerms> {
    let mut out: Vec<TextTerms> = Vec::new();
    for (file, t) in raw {
        let t = t.into_inner();
        let id = t.id.get_ref().clone();
        if out.iter().any(|x| x.id == id) {
            issues.at(file, t.id.span(), format!("text term list {id} is defined twice"));
        }
        if t.rule != RuleId::R16 {
            issues.at(file, t.id.span(), "a text term list must cite R16");
        }
        if t.valid_until.is_some_and(|u| u < t.valid_from) {
            issues.at(
                file,
                t.id.span(),
                format!("text term list {id}: valid_until is before valid_from"),
            );
        }
        let terms: BTreeSet<String> = t.terms.get_ref().iter().map(|w| normalise_words(w)).collect();
        if terms.is_empty() || terms.iter().any(String::is_empty) {
            issues.at(
                file,
                t.terms.span(),
                format!(
                    "text term list {id}: every term needs a letter or digit, and the list must not be empty"
                ),
            );
        }
        out.push(TextTerms {
            id,
            rule: t.rule,
            title: t.title,
            title_nl: t.title_nl,
            hint: t.hint,
            valid_from: t.valid_from,
            valid_until: t.valid_until,
            terms: terms.into_iter().filter(|t| !t.is_empty()).collect(),
        });
    }
    out
}

fn profiles_from_raw(
    issues: &mut Issues<'_>,
    raw: Vec<(&str, Spanned<RawProfile>)>,
    purposes: &[(Purpose, &str, Range<usize>)],
    purpose_ids: &BTreeSet<PurposeId>,
    groups: &BTreeMap<FieldGroup, GroupDef>,
) -> BTreeMap<String, RegionProfile> {
    let mut out = BTreeMap::new();
    for (file, p) in raw {
        let p = p.into_inner();
        let region = p.region.get_ref().clone();
        if region.trim().is_empty() {
            issues.at(file, p.region.span(), "region must not be empty");
        }
        if out.contains_key(&region) {
            issues.at(file, p.region.span(), format!("region {region} has two profiles"));
            continue;
        }
        let mut narrowed = BTreeMap::new();
        for pp in p.purpose {
            let pp = pp.into_inner();
            let id = pp.id.get_ref().clone();
            let versions: Vec<&Purpose> = purposes.iter().map(|x| &x.0).filter(|x| x.id == id).collect();
            if versions.is_empty() {
                if !purpose_ids.contains(&id) {
                    issues.at(
                        file,
                        pp.id.span(),
                        format!("region {region}: unknown purpose {id}"),
                    );
                }
                continue;
            }
            if narrowed.contains_key(&id) {
                issues.at(
                    file,
                    pp.id.span(),
                    format!("region {region}: purpose {id} is narrowed twice"),
                );
                continue;
            }
            // R12: a region may only narrow: every group must already serve the purpose.
            for g in &pp.groups {
                let serves = groups
                    .get(g.get_ref())
                    .is_some_and(|def| def.purposes.contains(&id));
                if !serves {
                    issues.at(
                        file,
                        g.span(),
                        format!(
                            "region {region} widens purpose {id}: the catalogue does not allow group {} for it",
                            g.get_ref()
                        ),
                    );
                }
            }
            for f in &pp.omit_fields {
                let known = groups
                    .get(&f.get_ref().group())
                    .and_then(|def| def.field(f.get_ref().field()));
                if known.is_none() {
                    issues.at(
                        file,
                        f.span(),
                        format!("region {region}: unknown field {}", f.get_ref()),
                    );
                }
            }
            if let Some(r) = &pp.retention_months {
                let max = versions.iter().map(|v| v.retention_months).min().unwrap_or(0);
                if *r.get_ref() > max || *r.get_ref() == 0 {
                    issues.at(
                        file,
                        r.span(),
                        format!("region {region} widens purpose {id}: retention must be 1 to {max} months"),
                    );
                }
            }
            narrowed.insert(
                id.clone(),
                ProfilePurpose {
                    id,
                    groups: pp.groups.into_iter().map(Spanned::into_inner).collect(),
                    omit_fields: pp.omit_fields.into_iter().map(Spanned::into_inner).collect(),
                    retention_months: pp.retention_months.map(Spanned::into_inner),
                },
            );
        }
        out.insert(
            region.clone(),
            RegionProfile {
                region,
                title: p.title,
                purposes: narrowed,
            },
        );
    }
    out
}
