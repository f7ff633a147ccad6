//! The decision function: `(facts, policy, today) -> Decision`.
//!
//! Pure and total: it never panics on input and reports **every** violation
//! it finds. Messages are for a school administrator: plain English, Dutch
//! terms where those are what people use, and never a field value, a BSN or
//! a name (facts hold none; sent field paths are echoed only when they look
//! like field paths).

use std::collections::BTreeSet;
use std::fmt;

use jiff::civil::Date;
use schakel_domain::dates::{add_months, add_years, age_on};
use schakel_domain::{
    ConsentGiver, ConsentStatus, FieldGroup, FieldPath, FunctionKind, Party, PurposeId, SchoolType,
};

use crate::model::{
    NecessityJustification, ProfilePurpose, Purpose, RegionProfile, SchoolStatus, StartkwalificatieCondition,
    WindowAnchor,
};
use crate::{ConsentRef, Facts, Policy, ReturnToEducation, RuleId};

/// A written justification (R2, R8) must have at least this many characters
/// (without surrounding spaces): enough for one real sentence, so an empty or
/// token justification ("x", "nodig") is refused.
pub const MIN_JUSTIFICATION_CHARS: usize = 20;

/// What a violation asks of the sender: to correct the request, or to wait
/// for (or change) the facts of the case. The hub answers `INVALID_ARGUMENT`
/// when any violation is about the request and `FAILED_PRECONDITION` when
/// every one is about the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ground {
    /// The request itself is incomplete or contradicts itself or the law's
    /// routes (wrong party, purpose, group, field, justification).
    Request,
    /// The request is well formed, but the youth's facts, the consent, the
    /// date, an open expertise request or a registered key do not allow it.
    Case,
}

/// One violated rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Violation {
    /// The rule of domain.md §3.
    pub rule: RuleId,
    /// Whether the request or the case must change.
    pub ground: Ground,
    /// Where the problem is: a field path, a group, or a request element
    /// such as `consent.giver`, `sender.function`, `purpose`.
    pub field_path: String,
    /// What is wrong and what to do, in plain language. Never contains
    /// field values, a BSN or names.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.rule, self.field_path, self.message)
    }
}

/// A group allowed to be sent, bound to its purpose and to the recipient
/// function(s) whose key may open it (DESIGN.md §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundGroup {
    /// The group.
    pub group: FieldGroup,
    /// The purpose it is bound to.
    pub purpose: PurposeId,
    /// The recipient functions that may open it (R9).
    pub recipient_functions: BTreeSet<FunctionKind>,
}

/// How long the transfer may be kept (R15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// The period in months (the purpose's, or the region's if shorter).
    pub months: u16,
    /// The last day the content may be kept, inclusive.
    pub until: Date,
}

/// The outcome of [`decide`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The request may go ahead with exactly these groups.
    Allowed {
        /// The purpose version applied.
        purpose: PurposeId,
        /// The groups present in the request, each bound to purpose and recipient function(s).
        groups: Vec<BoundGroup>,
        /// How long the content may be kept.
        retention: Retention,
        /// Whether the youth is past the age limit and the request passed R2
        /// only because the receiving gemeente's hardheidsclausule decision
        /// (art. 7a lid 7) holds; the audit entry then carries its flag and
        /// legal basis.
        hardheidsclausule_applied: bool,
        /// Whether the content is also sealed to the sender function's keys,
        /// so it can show the youth what was sent (R12).
        seal_to_sender: bool,
        /// The policy version the decision was taken under.
        policy_version: String,
    },
    /// The request is refused; every violation found is listed.
    Refused {
        /// All violations, sorted by rule and field path.
        violations: Vec<Violation>,
        /// The policy version the decision was taken under.
        policy_version: String,
    },
}

impl Decision {
    /// Whether the decision allows the request.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Self::Allowed { .. })
    }

    /// The violations (empty if allowed).
    pub fn violations(&self) -> &[Violation] {
        match self {
            Self::Allowed { .. } => &[],
            Self::Refused { violations, .. } => violations,
        }
    }
}

pub(crate) struct Found(pub(crate) BTreeSet<Violation>);

impl Found {
    /// Adds a violation whose ground follows from where it is
    /// ([`ground_of`]).
    pub(crate) fn add(&mut self, rule: RuleId, field_path: impl Into<String>, message: impl Into<String>) {
        let field_path = field_path.into();
        let ground = ground_of(rule, &field_path);
        self.add_on(ground, rule, field_path, message);
    }

    /// Adds a violation on a stated ground.
    pub(crate) fn add_on(
        &mut self,
        ground: Ground,
        rule: RuleId,
        field_path: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.0.insert(Violation {
            rule,
            ground,
            field_path: field_path.into(),
            message: message.into(),
        });
    }
}

/// The ground of a violation from where it is: the youth's facts, the
/// consent, the open request, a key or the date of the legal basis (R1) are
/// the case; everything else is the request.
fn ground_of(rule: RuleId, path: &str) -> Ground {
    let case = rule == RuleId::R1
        || matches!(
            path,
            "identity.date_of_birth"
                | "school_career.school_type"
                | "school_career.leave_date"
                | "school_career.diploma_date"
                | "school_career.startkwalificatie"
                | "school_career.vso_exit_profile"
                | "consent"
                | "expertise_request"
        )
        || path.starts_with("consent.")
        || path.starts_with("keys.");
    if case { Ground::Case } else { Ground::Request }
}

/// Echo a sent field path only if it looks like one: lower-case words, digits,
/// `_` and `.`, at most 64 characters and no run of 5 or more digits (so a
/// BSN, phone number or date typed into a field name is never repeated).
/// Otherwise refer to it by position.
fn safe_path(raw: &str, index: usize) -> String {
    let shaped = !raw.is_empty()
        && raw.len() <= 64
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.');
    let mut run = 0;
    let mut long_digits = false;
    for b in raw.bytes() {
        run = if b.is_ascii_digit() { run + 1 } else { 0 };
        long_digits |= run >= 5;
    }
    if shaped && !long_digits {
        raw.to_owned()
    } else {
        format!("fields[{index}]")
    }
}

pub(crate) fn list<T: fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    items
        .into_iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn justified(text: Option<&String>) -> bool {
    text.is_some_and(|t| t.trim().chars().count() >= MIN_JUSTIFICATION_CHARS)
}

/// A sentence of policy data (a reason, a hint) as a clause of a refusal
/// message: lowercase first letter (not of an acronym such as AVG), no
/// trailing period — the style of every message the hub sends.
pub(crate) fn clause(sentence: &str) -> String {
    let s = sentence.trim().trim_end_matches('.');
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(first), Some(second)) if !second.is_uppercase() => first
            .to_lowercase()
            .chain(s[first.len_utf8()..].chars())
            .collect(),
        _ => s.to_owned(),
    }
}

/// Decide whether `facts` may be sent under `policy` on `today` (a civil date
/// in Europe/Amsterdam; see [`schakel_domain::dates::amsterdam_date`]).
///
/// Each rule of domain.md §3 is one function below, called in order; each
/// adds what it finds, so the sender learns every problem at once.
pub fn decide(facts: &Facts, policy: &Policy, today: Date) -> Decision {
    let mut found = Found(BTreeSet::new());
    let Some(purpose) = purpose_in_force(&mut found, facts, policy, today) else {
        return refused(found, policy);
    };
    let case = Case {
        facts,
        policy,
        purpose,
        today,
        age: age_on(facts.subject.date_of_birth, today),
    };
    parties(&mut found, &case);
    keys(&mut found, &case);
    school_type(&mut found, &case);
    let hardheidsclausule_applied = age_limit(&mut found, &case);
    startkwalificatie(&mut found, &case);
    school_status_and_window(&mut found, &case);
    let (groups_present, paths) = fields(&mut found, &case);
    identity(&mut found, &case, &groups_present);
    groups_for_purpose(&mut found, &case, &groups_present);
    necessity(&mut found, &case, &groups_present);
    consent_checks(&mut found, &case, &groups_present);
    open_request(&mut found, &case);
    return_judgement(&mut found, &case);
    vso_exit_profile(&mut found, &case);
    let profile = region_format(&mut found, &case, &groups_present, &paths);
    if !found.0.is_empty() {
        return refused(found, policy);
    }
    // R15: retention from the purpose, shortened by the region if it says so.
    let months = profile
        .and_then(|(_, pp)| pp.retention_months)
        .map_or(purpose.retention_months, |m| m.min(purpose.retention_months));
    let until = match add_months(today, i32::from(months)) {
        Ok(d) => d,
        Err(_) => {
            found.add(
                RuleId::R15,
                "retention",
                "the retention period cannot be computed for this date",
            );
            return refused(found, policy);
        }
    };
    Decision::Allowed {
        purpose: purpose.id.clone(),
        groups: groups_present
            .into_iter()
            .map(|group| BoundGroup {
                group,
                purpose: purpose.id.clone(),
                recipient_functions: purpose.recipient_functions.clone(),
            })
            .collect(),
        retention: Retention { months, until },
        hardheidsclausule_applied,
        seal_to_sender: purpose.seal_to_sender,
        policy_version: policy.version().to_owned(),
    }
}

/// What every rule reads: the request, the policy, the purpose version that
/// applies, the decision date and the youth's age on it.
struct Case<'a> {
    facts: &'a Facts,
    policy: &'a Policy,
    purpose: &'a Purpose,
    today: Date,
    age: i32,
}

impl Case<'_> {
    /// The rule that governs the school-status and window conditions.
    fn school_rule(&self) -> RuleId {
        if self.purpose.school_status == SchoolStatus::Enrolled {
            RuleId::R10
        } else {
            RuleId::R4
        }
    }
}

/// R1: the purpose must exist and one of its versions must apply today. When
/// none applies yet (or any more) the nearest version is returned, so the
/// other rules are still checked.
fn purpose_in_force<'p>(
    found: &mut Found,
    facts: &Facts,
    policy: &'p Policy,
    today: Date,
) -> Option<&'p Purpose> {
    let versions: Vec<&Purpose> = policy.purpose_versions(&facts.purpose).collect();
    match policy.purpose_on(&facts.purpose, today) {
        Some(p) => Some(p),
        None => {
            let Some(first) = versions.first() else {
                found.add(
                    RuleId::R1,
                    "purpose",
                    "this purpose is not registered, so there is no legal basis to send anything under it",
                );
                return None;
            };
            let next = versions.iter().find(|p| p.valid_from > today);
            let msg = match next {
                Some(p) => format!(
                    "the legal basis for this purpose applies from {}; nothing can be sent under it before then",
                    p.valid_from
                ),
                None => "the legal basis for this purpose is no longer in force".to_owned(),
            };
            found.add(RuleId::R1, "purpose", msg);
            // Check everything else against the nearest version so the sender
            // learns all problems at once.
            Some(next.copied().unwrap_or(versions.last().copied().unwrap_or(first)))
        }
    }
}

/// R9: sender and recipient must be the parties (organisation kind and
/// function) the purpose names; a werkcoach and a doorstroomcoach are
/// different parties even within one gemeente.
fn parties(found: &mut Found, case: &Case<'_>) {
    let (facts, purpose) = (case.facts, case.purpose);
    if facts.channel != purpose.channel {
        found.add(
            RuleId::R9,
            "purpose",
            format!(
                "this purpose goes through {}, not {}",
                purpose.channel.service(),
                facts.channel.service()
            ),
        );
    }
    if !purpose.sender_kinds.contains(&facts.sender.kind()) {
        found.add(
            RuleId::R9,
            "sender.kind",
            format!(
                "a {} cannot send under this purpose; it is sent by: {}",
                facts.sender.kind(),
                list(&purpose.sender_kinds)
            ),
        );
    }
    if !purpose.sender_functions.contains(&facts.sender.function()) {
        found.add(
            RuleId::R9,
            "sender.function",
            format!(
                "the {} function cannot send under this purpose; only: {}",
                facts.sender.function(),
                list(&purpose.sender_functions)
            ),
        );
    }
    recipient_checks(found, purpose, &facts.recipient);
}

/// R9: the recipient must be a party the purpose names.
pub(crate) fn recipient_checks(found: &mut Found, purpose: &Purpose, recipient: &Party) {
    if !purpose.recipient_kinds.contains(&recipient.kind()) {
        found.add(
            RuleId::R9,
            "recipient.kind",
            format!(
                "a {} cannot receive under this purpose; it goes to: {}",
                recipient.kind(),
                list(&purpose.recipient_kinds)
            ),
        );
    }
    if !purpose.recipient_functions.contains(&recipient.function()) {
        found.add(
            RuleId::R9,
            "recipient.function",
            format!(
                "the {} function cannot receive under this purpose; only: {}",
                recipient.function(),
                list(&purpose.recipient_functions)
            ),
        );
    }
}

/// R9, R12: content is sealed to the recipient function's keys, and for
/// purposes that keep a sender's copy to the sender function's keys too; a
/// function without a valid key could never open what is stored for it.
fn keys(found: &mut Found, case: &Case<'_>) {
    let keys = case.facts.keys;
    if !keys.recipient {
        found.add(
            RuleId::R9,
            "keys.recipient",
            "the recipient function has no valid age key registered; it cannot receive until it registers one",
        );
    }
    if case.purpose.seal_to_sender && !keys.sender {
        found.add(
            RuleId::R12,
            "keys.sender",
            "your function has no valid age key registered, so you could not show the youth what was sent; \
             register one",
        );
    }
}

/// R18: hbo/wo never hand a student over; the student asks the gemeente. And
/// a school sends only about its own kind of pupils.
fn school_type(found: &mut Found, case: &Case<'_>) {
    let (facts, purpose, s) = (case.facts, case.purpose, &case.facts.subject);
    let school_rule = case.school_rule();
    if purpose.is_school_sent() {
        match s.school_type {
            Some(SchoolType::Vo) => found.add_on(
                Ground::Request,
                RuleId::R4,
                "school_career.school_type",
                "regular secondary education (vmbo, havo, vwo) does not hand youths over under this law",
            ),
            Some(t) if !t.may_initiate_transfer() => found.add(
                RuleId::R18,
                "school_career.school_type",
                "hbo and wo students are not handed over by their institution; the student can ask the \
                 gemeente for support directly",
            ),
            Some(t) if facts.sender.kind().is_school() && !school_matches(facts.sender.kind(), t) => found
                .add(
                    RuleId::R18,
                    "school_career.school_type",
                    format!(
                        "the school type must match the sending school: a {} cannot send about a {t} pupil",
                        facts.sender.kind()
                    ),
                ),
            Some(_) => {}
            None => found.add(
                school_rule,
                "school_career.school_type",
                "the school type (pro, vso or mbo) is needed to check this request",
            ),
        }
    }
}

/// R2: under 27, or past 27 while the recipient gemeente's own
/// hardheidsclausule decision for this youth holds (art. 7a lid 7). The clause
/// is the gemeente's decision, never the sender's: a request that invokes it
/// is refused whatever the age. Returns whether the decision let the request
/// through.
fn age_limit(found: &mut Found, case: &Case<'_>) -> bool {
    let (facts, purpose, s, today, age) = (
        case.facts,
        case.purpose,
        &case.facts.subject,
        case.today,
        case.age,
    );
    if facts.hardheidsclausule_invoked {
        found.add(
            RuleId::R2,
            "hardheidsclausule",
            "the hardheidsclausule (Participatiewet art. 7a lid 7) is the gemeente's decision, not the \
             sender's: the gemeente records it for a youth it already supports, and then transfers for that \
             youth pass without it being named",
        );
    }
    if s.date_of_birth > today {
        found.add(
            RuleId::R2,
            "identity.date_of_birth",
            "the date of birth is in the future",
        );
        return false;
    }
    if age < i32::from(purpose.max_age) {
        return false;
    }
    if purpose.hardheidsclausule && facts.hardheidsclausule_decision {
        return true;
    }
    let message = if purpose.hardheidsclausule {
        format!(
            "the youth is {max} or older; past {max} data flows only while the receiving gemeente's own \
             hardheidsclausule decision (art. 7a lid 7) holds for this youth, and it has recorded none in force",
            max = purpose.max_age
        )
    } else {
        format!(
            "the youth is {max} or older; this purpose covers youths under {max} only",
            max = purpose.max_age
        )
    };
    found.add(RuleId::R2, "identity.date_of_birth", message);
    false
}

/// R3: a startkwalificatie is havo, vwo or mbo 2-4 (mbo 1 entree is not).
fn startkwalificatie(found: &mut Found, case: &Case<'_>) {
    let (purpose, s) = (case.purpose, &case.facts.subject);
    let school_rule = case.school_rule();
    let diploma_sk = s.diploma_level.is_some_and(|d| d.is_startkwalificatie());
    let has_sk = s.startkwalificatie == Some(true) || diploma_sk;
    if s.startkwalificatie == Some(false) && diploma_sk {
        found.add(
            RuleId::R3,
            "school_career.startkwalificatie",
            "the diploma level counts as a startkwalificatie but startkwalificatie is stated as 'no'; \
             correct one of the two",
        );
    }
    if s.diploma_date.is_some() != s.diploma_level.is_some() {
        found.add(
            school_rule,
            "school_career.diploma_date",
            "give both the diploma level and the diploma date, or neither",
        );
    }
    if purpose.startkwalificatie == StartkwalificatieCondition::Without && s.startkwalificatie.is_none() {
        found.add_on(
            Ground::Request,
            purpose.startkwalificatie_rule,
            "school_career.startkwalificatie",
            "say whether the youth has a startkwalificatie; this purpose is only for youths without one",
        );
    }
    if purpose.startkwalificatie == StartkwalificatieCondition::Without && has_sk {
        // R3 (Doorstroompunt) or R7 (expertise): the Doorstroompunt has no
        // legal basis for youths who have a startkwalificatie.
        found.add(
            purpose.startkwalificatie_rule,
            "school_career.startkwalificatie",
            "the youth has a startkwalificatie (havo, vwo or mbo 2-4); the Doorstroompunt has no legal basis \
             to process or exchange data about youths with a startkwalificatie",
        );
    }
}

/// R4 / R10: has the youth left school, and is this within the window?
fn school_status_and_window(found: &mut Found, case: &Case<'_>) {
    let (purpose, s, today) = (case.purpose, &case.facts.subject, case.today);
    let left = s.leave_date.is_some_and(|d| d <= today);
    match purpose.school_status {
        SchoolStatus::Left if !left => found.add(
            RuleId::R4,
            "school_career.leave_date",
            if s.leave_date.is_some() {
                "the youth has not left school yet; while the youth is at school, use support during school \
                 (support.during_school)"
            } else {
                "the date the youth left school is needed for a handover"
            },
        ),
        // R10: support during school is for pupils who are still enrolled.
        SchoolStatus::Enrolled if left => found.add(
            RuleId::R10,
            "school_career.leave_date",
            "the youth has already left school; support during school is only for enrolled pupils; use a \
             handover (handover.school_to_gemeente) instead",
        ),
        _ => {}
    }
    if let Some(t) = s.school_type
        && left
        && let Some(w) = purpose.windows.iter().find(|w| w.school_types.contains(&t))
    {
        // R4: pro/vso up to 2 years after leaving, mbo up to 1 year after the
        // diploma, and not at all without one. Inclusive: the last allowed
        // day is the anniversary itself (28 Feb for 29 Feb anchors).
        let (anchor, path) = match w.anchor {
            WindowAnchor::DiplomaDate => (s.diploma_date, "school_career.diploma_date"),
            WindowAnchor::LeaveDate => (s.leave_date, "school_career.leave_date"),
        };
        if w.anchor == WindowAnchor::DiplomaDate && anchor.is_none() {
            found.add(
                RuleId::R4,
                path,
                format!(
                    "a {t} school hands a youth over only after a diploma, within {} year(s) of it; a youth who \
                     left without a diploma has no startkwalificatie and is the Doorstroompunt's (R3): refer \
                     the youth there",
                    w.years
                ),
            );
        }
        if let Some(anchor) = anchor {
            match add_years(anchor, i16::from(w.years)) {
                Ok(end) if today <= end && anchor <= today => {}
                Ok(_) if anchor > today => found.add(RuleId::R4, path, "this date is in the future"),
                _ => found.add(
                    RuleId::R4,
                    path,
                    format!(
                        "the handover period has passed: for {t} the school may hand a youth over up to {} year(s) \
                         after {}",
                        w.years,
                        w.anchor.describe()
                    ),
                ),
            }
        }
    }
}

/// R12: the identity group identifies the youth by BSN and date of birth
/// (the hub checks that both agree with the facts the decision is taken on).
fn identity(found: &mut Found, case: &Case<'_>, groups_present: &BTreeSet<FieldGroup>) {
    if !groups_present.contains(&FieldGroup::Identity) {
        return;
    }
    let missing: Vec<&str> = ["bsn", "date_of_birth"]
        .into_iter()
        .filter(|f| {
            !case
                .facts
                .fields
                .iter()
                .any(|p| p.strip_prefix("identity.") == Some(f))
        })
        .collect();
    if !missing.is_empty() {
        found.add(
            RuleId::R12,
            "identity",
            format!(
                "the identity group holds the youth's BSN and date of birth; add: {}",
                missing.join(", ")
            ),
        );
    }
}

/// Fields: forbidden categories (R14, R16), unknown fields (R14), special
/// categories (R16). Returns the groups present and the allowed field paths.
fn fields(found: &mut Found, case: &Case<'_>) -> (BTreeSet<FieldGroup>, Vec<FieldPath>) {
    let (facts, policy, purpose, today) = (case.facts, case.policy, case.purpose, case.today);
    let mut groups_present: BTreeSet<FieldGroup> = BTreeSet::new();
    let mut paths: Vec<FieldPath> = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, raw) in facts.fields.iter().enumerate() {
        if !seen.insert(raw.as_str()) {
            continue;
        }
        let shown = safe_path(raw, i);
        if let Some(cat) = policy.forbidden().iter().find(|c| c.matches(raw)) {
            // R14 / R16: never exchanged under these purposes.
            found.add(
                cat.rule,
                shown,
                format!(
                    "{} ({}) may never be exchanged here: {}; remove this field",
                    clause(&cat.title),
                    cat.title_nl,
                    clause(&cat.reason)
                ),
            );
            continue;
        }
        let Ok(path) = raw.parse::<FieldPath>() else {
            // R14: what is not in the catalogue has no basis in this law.
            found.add(
                RuleId::R14,
                shown,
                "this is not a field of the overgangsdocument, so there is no legal basis to send it; remove it",
            );
            continue;
        };
        groups_present.insert(path.group());
        let def = policy
            .groups()
            .get(&path.group())
            .and_then(|g| g.field(path.field()));
        match def {
            None => found.add(
                RuleId::R14,
                shown,
                "this field is not in the field catalogue, so there is no legal basis to send it; remove it",
            ),
            Some(f) if f.special_category => {
                // R16: special-category data needs an explicit legal ground
                // (checked at load) and consent that names this very field.
                let explicit = purpose.consent.required
                    && facts.consent.recorded().is_some_and(|c| {
                        c.in_force_on(today) && c.scope().explicit_special_fields.contains(&path)
                    });
                if !explicit {
                    found.add(
                        RuleId::R16,
                        shown,
                        "this field holds special-category data (AVG art. 9); it can only be sent with consent \
                         that explicitly names this field; describe support needs functionally instead",
                    );
                }
            }
            Some(_) => paths.push(path),
        }
    }
    // R16 in free text: a diagnosis or a conviction typed into a text field
    // is special-category or criminal data, whatever the field is called.
    for s in &facts.special_text {
        let message = match policy.text_terms().iter().find(|t| t.id == s.list) {
            Some(list) => format!(
                "this text holds {} ({}): special-category or criminal data (AVG art. 9, 10) is not part of the \
                 overgangsdocument; {}",
                list.title.to_lowercase(),
                list.title_nl,
                clause(&list.hint)
            ),
            None => {
                "this text holds special-category or criminal data (AVG art. 9, 10), which is not part of \
                     the overgangsdocument"
                    .to_owned()
            }
        };
        found.add_on(
            Ground::Request,
            RuleId::R16,
            format!("{}.value", s.field),
            message,
        );
    }
    if facts.fields.is_empty() && !purpose.document_optional {
        found.add(RuleId::R12, "fields", "the document contains no fields");
    }

    (groups_present, paths)
}

/// R12 (R8 for Doorstroompunt history): each group must serve this purpose.
fn groups_for_purpose(found: &mut Found, case: &Case<'_>, groups_present: &BTreeSet<FieldGroup>) {
    let (policy, purpose) = (case.policy, case.purpose);
    for g in groups_present {
        match policy.groups().get(g) {
            Some(def) if def.purposes.contains(&purpose.id) => {}
            Some(def) => found.add(
                def.refusal_rule,
                g.as_str(),
                format!("the group '{g}' may not be sent under this purpose; remove it"),
            ),
            None => found.add(
                RuleId::R14,
                g.as_str(),
                format!("the group '{g}' is not in the field catalogue"),
            ),
        }
    }
}

/// R8: Doorstroompunt data to the Participatiewet side only when necessary
/// for this case, with a justification per group.
fn necessity(found: &mut Found, case: &Case<'_>, groups_present: &BTreeSet<FieldGroup>) {
    let (facts, policy, purpose) = (case.facts, case.policy, case.purpose);
    for g in groups_present {
        let per_group = purpose.necessity_justification == NecessityJustification::PerGroup;
        let group_demands = policy
            .groups()
            .get(g)
            .is_some_and(|d| d.justification_required_for.contains(&purpose.id));
        let needed = per_group || group_demands;
        if needed && !justified(facts.justifications.get(g)) {
            // The justification is what is missing, not the group.
            found.add(
                RuleId::R8,
                format!("justifications.{g}"),
                format!(
                    "explain why the group '{g}' is necessary for this youth's case (at least \
                     {MIN_JUSTIFICATION_CHARS} characters); data may only be passed on when needed for the case, \
                     never automatically"
                ),
            );
            continue;
        }
        // Field by field: a justification that names fields covers those
        // only, and a group the catalogue marks `justify_fields`
        // (Doorstroompunt data) must name every field sent.
        let def = policy.groups().get(g);
        let named = facts.justified_fields.get(g);
        if !needed || (named.is_none() && !def.is_some_and(|d| d.justify_fields)) {
            continue;
        }
        for (i, path) in facts.fields.iter().enumerate() {
            let Some(field) = path.strip_prefix(g.as_str()).and_then(|f| f.strip_prefix('.')) else {
                continue;
            };
            // A field outside the catalogue is refused on its own (R14).
            if def.and_then(|d| d.field(field)).is_none() {
                continue;
            }
            if !named.is_some_and(|n| n.contains(field)) {
                found.add(
                    RuleId::R8,
                    safe_path(path, i),
                    format!(
                        "the justification of '{g}' does not name this field: a justification covers the \
                         fields it names, and data of this group leaves field by field, each chosen for this \
                         youth's case"
                    ),
                );
            }
        }
    }
}

/// R7: advice answers an open expertise request.
fn open_request(found: &mut Found, case: &Case<'_>) {
    if case.purpose.requires_open_request && !case.facts.open_expertise_request {
        found.add(
            RuleId::R7,
            "expertise_request",
            "advice can only be sent in answer to an open expertise request from the gemeente",
        );
    }
}

/// R6: a handover carries the sender's judgement that return to initial
/// education is not possible now; a youth who can return belongs back in
/// education, with the Doorstroompunt, not with the gemeente.
fn return_judgement(found: &mut Found, case: &Case<'_>) {
    if !case.purpose.requires_return_judgement {
        return;
    }
    match case.facts.return_to_education {
        Some(ReturnToEducation::NotPossible) => {}
        Some(ReturnToEducation::Possible) => found.add(
            RuleId::R6,
            "return_to_education",
            "you judge that the youth can return to initial education: then the youth belongs back in \
             education, with the Doorstroompunt, not in a handover to the gemeente",
        ),
        None => found.add(
            RuleId::R6,
            "return_to_education",
            "a handover states your judgement that return to initial education is not possible now; weighing \
             that is the sender's legal task",
        ),
    }
}

/// R19: vso exit profiles arbeidsmarkt and dagbesteding.
fn vso_exit_profile(found: &mut Found, case: &Case<'_>) {
    let s = &case.facts.subject;
    // R19 (domain.md §0: a division of work, not a ban). vso pupils with
    // uitstroomprofiel arbeidsmarkt or dagbesteding cannot become a vsv'er;
    // in the second year after leaving the vso school is the *first* route,
    // but the Doorstroompunt may still hand such a youth over, so nothing is
    // refused on that ground. What is refused is an uitstroomprofiel for a
    // youth who was not a vso pupil. The exit-profile *value* "dagbesteding"
    // is school-career data, not the forbidden day-care data of R14.
    if s.vso_exit_profile.is_some() && s.school_type != Some(SchoolType::Vso) {
        found.add(
            RuleId::R19,
            "school_career.vso_exit_profile",
            "an uitstroomprofiel only applies to vso pupils; remove it or correct the school type",
        );
    }
}

/// R12: the region's overgangsdocument format narrows the catalogue. Returns
/// the region's profile for this purpose, for the retention (R15).
fn region_format<'p>(
    found: &mut Found,
    case: &Case<'p>,
    groups_present: &BTreeSet<FieldGroup>,
    paths: &[FieldPath],
) -> Option<(&'p RegionProfile, &'p ProfilePurpose)> {
    let (facts, policy, purpose) = (case.facts, case.policy, case.purpose);
    let profile = facts
        .region
        .as_ref()
        .and_then(|r| policy.profiles().get(r))
        .and_then(|p| p.purposes.get(&purpose.id).map(|pp| (p, pp)));
    if let Some((p, pp)) = profile {
        for g in groups_present {
            if !pp.groups.contains(g) {
                found.add(
                    RuleId::R12,
                    g.as_str(),
                    format!(
                        "the overgangsdocument format of region {} does not include the group '{g}'",
                        p.region
                    ),
                );
            }
        }
        for path in paths {
            if pp.omit_fields.contains(path) {
                found.add(
                    RuleId::R12,
                    path.to_string(),
                    format!(
                        "the overgangsdocument format of region {} leaves this field out",
                        p.region
                    ),
                );
            }
        }
    }

    profile
}

fn school_matches(kind: schakel_domain::OrgKind, t: SchoolType) -> bool {
    use schakel_domain::OrgKind as K;
    matches!(
        (kind, t),
        (K::ProSchool, SchoolType::Pro) | (K::VsoSchool, SchoolType::Vso) | (K::MboSchool, SchoolType::Mbo)
    )
}

/// R4 (and R13): consent of the youth, or of a parent or guardian under 18,
/// recorded by the sender for this youth, purpose, recipient and groups.
fn consent_checks(found: &mut Found, case: &Case<'_>, groups_present: &BTreeSet<FieldGroup>) {
    let (facts, purpose, today, age) = (case.facts, case.purpose, case.today, case.age);
    // A consent id that names nothing of the sender's is wrong whether or
    // not the purpose needs consent.
    let c = match &facts.consent {
        ConsentRef::Unknown => {
            return found.add_on(
                Ground::Request,
                RuleId::R4,
                "consent",
                "no consent with this id was recorded by your organisation function",
            );
        }
        ConsentRef::OtherYouth => {
            return found.add_on(
                Ground::Request,
                RuleId::R4,
                "consent",
                "this consent was recorded for another youth",
            );
        }
        _ if !purpose.consent.required => return,
        ConsentRef::Absent => {
            return found.add(
                RuleId::R4,
                "consent",
                "this needs recorded consent (instemming) of the youth, or of a parent or guardian if the youth \
                 is under 18; no consent was included",
            );
        }
        ConsentRef::Recorded(c) => c,
    };
    match c.status() {
        // R13: a refusal is respected; it never blocks the youth's own access to help.
        ConsentStatus::Refused => found.add(
            RuleId::R4,
            "consent.status",
            "consent was refused, so nothing can be sent; the youth can still ask the gemeente for help directly",
        ),
        ConsentStatus::Withdrawn => {
            found.add(RuleId::R4, "consent.status", "consent was withdrawn, so nothing can be sent")
        }
        ConsentStatus::Given => {
            if c.recorded_on() > today {
                found.add(RuleId::R4, "consent.recorded_on", "the consent is dated in the future");
            } else if !c.in_force_on(today) {
                found.add(RuleId::R4, "consent.valid_until", "the consent has expired; record a new one");
            }
        }
    }
    if facts.refused_by_youth_since {
        found.add(
            RuleId::R4,
            "consent",
            "the youth refused after this consent was recorded, and the youth's own refusal is respected (R13); \
             if the youth changes their mind, record a new consent",
        );
    }
    let scope = c.scope();
    if scope.purpose != facts.purpose {
        found.add(
            RuleId::R4,
            "consent.scope.purpose",
            "the consent was given for a different purpose",
        );
    }
    if scope.recipient_oin != *facts.recipient.oin() || scope.recipient_function != facts.recipient.function()
    {
        found.add(
            RuleId::R4,
            "consent.scope.recipient",
            "the consent was given for a different recipient (organisation or function)",
        );
    }
    // Who may consent is judged on the decision date: once the youth turns 18
    // a parent's consent no longer covers new transfers.
    let minor = age < i32::from(purpose.consent.adult_age);
    let allowed: &BTreeSet<ConsentGiver> = if minor {
        &purpose.consent.givers_minor
    } else {
        &purpose.consent.givers_adult
    };
    if !allowed.contains(&c.giver()) {
        let msg = if minor {
            format!(
                "the youth is under {}: consent must come from {}",
                purpose.consent.adult_age,
                giver_words(allowed)
            )
        } else {
            format!(
                "the youth is {} or older: consent must come from {}",
                purpose.consent.adult_age,
                giver_words(allowed)
            )
        };
        found.add(RuleId::R4, "consent.giver", msg);
    }
    for g in groups_present {
        if !scope.groups.contains(g) {
            found.add(
                RuleId::R4,
                g.as_str(),
                format!("the consent does not cover the group '{g}'; remove it, or record consent that includes it"),
            );
        }
    }
}

pub(crate) fn giver_words(givers: &BTreeSet<ConsentGiver>) -> String {
    let words: Vec<&str> = givers
        .iter()
        .map(|g| match g {
            ConsentGiver::Youth => "the youth",
            ConsentGiver::Parent => "a parent",
            ConsentGiver::Guardian => "a guardian",
            ConsentGiver::Representative => "a legal representative (curator or mentor)",
        })
        .collect();
    match words.as_slice() {
        [] => "nobody (this purpose is misconfigured)".to_owned(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn refused(found: Found, policy: &Policy) -> Decision {
    Decision::Refused {
        violations: found.0.into_iter().collect(),
        policy_version: policy.version().to_owned(),
    }
}
