//! The loaded, validated policy: purposes, field catalogue, forbidden
//! categories and region profiles.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use schakel_domain::{FieldGroup, FieldPath, FunctionKind, OrgKind, PurposeId, SchoolType};

use crate::RuleId;

/// Whether the subject must still be at school, must have left, or either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SchoolStatus {
    /// The youth is enrolled on the decision date (R10).
    Enrolled,
    /// The youth has left school on or before the decision date (R4).
    Left,
    /// No condition.
    Any,
}

/// The service a purpose's requests come through (R9): a handover is a
/// transfer, an expertise request or advice an exchange between the gemeente's
/// functions with its own states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// `TransferService`.
    #[default]
    Transfer,
    /// `ExpertiseService`.
    Expertise,
}

impl Channel {
    /// The service's name as clients know it.
    pub const fn service(self) -> &'static str {
        match self {
            Self::Transfer => "TransferService",
            Self::Expertise => "ExpertiseService",
        }
    }
}

/// The startkwalificatie condition on the subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartkwalificatieCondition {
    /// No condition.
    Any,
    /// The youth must not have a startkwalificatie (R3, R7).
    Without,
}

/// Whether each group needs a written necessity justification (R8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NecessityJustification {
    /// No justification needed.
    #[default]
    None,
    /// Every group sent needs its own justification (R8).
    PerGroup,
}

/// From which date a handover window runs (R4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowAnchor {
    /// The date the youth left school (pro, vso).
    LeaveDate,
    /// The diploma date (mbo): without a diploma there is no handover — a
    /// youth who left mbo without one is the Doorstroompunt's (R3).
    DiplomaDate,
}

impl WindowAnchor {
    /// A readable description.
    pub fn describe(self) -> &'static str {
        match self {
            Self::LeaveDate => "the date the youth left school",
            Self::DiplomaDate => "the diploma date",
        }
    }
}

/// A handover window: for these school types, up to `years` after the anchor, inclusive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// The school types the window applies to.
    pub school_types: BTreeSet<SchoolType>,
    /// From which date the window runs.
    pub anchor: WindowAnchor,
    /// Length in calendar years; the last day is the anniversary itself.
    pub years: u8,
}

/// Who may consent, and whether consent is needed (R4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRule {
    /// Whether a recorded, given consent is required.
    pub required: bool,
    /// The age from which only the youth may consent (18).
    pub adult_age: u8,
    /// Who may consent while the youth is under `adult_age`.
    pub givers_minor: BTreeSet<schakel_domain::ConsentGiver>,
    /// Who may consent from `adult_age`.
    pub givers_adult: BTreeSet<schakel_domain::ConsentGiver>,
}

/// One version of a purpose (*verwerkingsdoel*) with its legal basis (domain.md §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purpose {
    /// The purpose id.
    pub id: PurposeId,
    /// Short English title.
    pub title: String,
    /// Dutch title.
    pub title_nl: String,
    /// What the purpose is for, in plain words.
    pub description: String,
    /// The legal basis in words.
    pub legal_basis: String,
    /// Article references (e.g. `Participatiewet art. 7a`).
    pub legal_refs: Vec<String>,
    /// First day this version applies (R1).
    pub valid_from: Date,
    /// Last day this version applies, inclusive; open-ended if `None`.
    pub valid_until: Option<Date>,
    /// Organisation kinds that may send (no duplicates, in `OrgKind::ALL` order).
    pub sender_kinds: Vec<OrgKind>,
    /// Functions that may send (R9).
    pub sender_functions: BTreeSet<FunctionKind>,
    /// Organisation kinds that may receive (no duplicates, in `OrgKind::ALL` order).
    pub recipient_kinds: Vec<OrgKind>,
    /// Functions that may receive and open the groups (R9).
    pub recipient_functions: BTreeSet<FunctionKind>,
    /// Consent requirement (R4).
    pub consent: ConsentRule,
    /// The subject must be under this age (R2, R3).
    pub max_age: u8,
    /// Whether the hardheidsclausule (art. 7a lid 7) may continue past `max_age` (R2).
    pub hardheidsclausule: bool,
    /// The startkwalificatie condition (R3).
    pub startkwalificatie: StartkwalificatieCondition,
    /// The rule cited when the startkwalificatie condition fails (R3, or R7 for expertise).
    pub startkwalificatie_rule: RuleId,
    /// School status condition (R4, R10).
    pub school_status: SchoolStatus,
    /// Handover windows per school type (R4).
    pub windows: Vec<Window>,
    /// Necessity justification requirement (R8).
    pub necessity_justification: NecessityJustification,
    /// The service its requests come through (R9).
    pub channel: Channel,
    /// Whether the sender's own function gets a sealed copy, so it can show
    /// the youth exactly what was sent (R12); the sender then needs a key.
    pub seal_to_sender: bool,
    /// Whether an open expertise request must exist (R7).
    pub requires_open_request: bool,
    /// Whether the request may carry no document fields at all (advice can
    /// be given in its text alone); otherwise an empty document is refused
    /// (R12).
    pub document_optional: bool,
    /// Whether the sender must state that return to initial education is
    /// not possible now (R6: every handover carries that judgement).
    pub requires_return_judgement: bool,
    /// R19: for vso leavers with uitstroomprofiel arbeidsmarkt or
    /// dagbesteding the vso school is the first route this many years after
    /// leaving — a division of work the docs state, never a refusal.
    pub vso_school_responsibility_years: Option<u8>,
    /// Retention of the transfer in months (R15).
    pub retention_months: u16,
    /// Why this retention.
    pub retention_note: String,
}

impl Purpose {
    /// Whether this version applies on `on` (R1; both ends inclusive).
    pub fn valid_on(&self, on: Date) -> bool {
        self.valid_from <= on && self.valid_until.is_none_or(|u| on <= u)
    }

    /// Whether schools send under this purpose (R18 checks apply).
    pub fn is_school_sent(&self) -> bool {
        self.sender_kinds.iter().any(|k| k.is_school())
    }
}

/// The type of a catalogue field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// Free text.
    Text,
    /// A calendar date.
    Date,
    /// Yes or no.
    Boolean,
    /// A whole number.
    Integer,
    /// A value from a code list.
    Code,
    /// A burgerservicenummer.
    Bsn,
    /// A BRIN code.
    Brin,
    /// A Dutch postcode.
    Postcode,
    /// A phone number.
    Phone,
    /// An e-mail address.
    Email,
}

impl FieldType {
    /// The text form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Date => "date",
            Self::Boolean => "boolean",
            Self::Integer => "integer",
            Self::Code => "code",
            Self::Bsn => "bsn",
            Self::Brin => "brin",
            Self::Postcode => "postcode",
            Self::Phone => "phone",
            Self::Email => "email",
        }
    }
}

/// How sensitive a group is (domain.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SensitivityClass {
    /// Identifies the youth (BSN, names).
    Identifying,
    /// Ordinary personal data.
    Personal,
    /// About an organisation, not the youth.
    Organisational,
    /// Sensitive personal data (support needs, Doorstroompunt history).
    Sensitive,
}

impl SensitivityClass {
    /// The text form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Identifying => "identifying",
            Self::Personal => "personal",
            Self::Organisational => "organisational",
            Self::Sensitive => "sensitive",
        }
    }
}

/// A field of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDef {
    /// The field name within its group.
    pub name: String,
    /// Its type.
    pub field_type: FieldType,
    /// What it holds.
    pub description: String,
    /// Whether it carries special-category data (AVG art. 9, R16).
    pub special_category: bool,
    /// The explicit legal ground for a special-category field (R16).
    pub legal_ground: Option<String>,
}

/// A group of the catalogue (domain.md §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDef {
    /// The group.
    pub id: FieldGroup,
    /// English title.
    pub title: String,
    /// Dutch title.
    pub title_nl: String,
    /// Sensitivity class.
    pub class: SensitivityClass,
    /// Purposes this group may serve.
    pub purposes: BTreeSet<PurposeId>,
    /// Purposes for which each transfer of this group needs a necessity justification (R8).
    pub justification_required_for: BTreeSet<PurposeId>,
    /// Whether a justification of this group names each field sent (R8:
    /// the data leaves field by field, never as a whole group).
    pub justify_fields: bool,
    /// The rule cited when the group is sent under a purpose it does not serve.
    pub refusal_rule: RuleId,
    /// The fields, in catalogue order.
    pub fields: Vec<FieldDef>,
}

impl GroupDef {
    /// The field named `name`.
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// A category of data that may never be exchanged (R14, R16).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForbiddenCategory {
    /// Short id.
    pub id: String,
    /// The rule that forbids it.
    pub rule: RuleId,
    /// English title.
    pub title: String,
    /// Dutch title.
    pub title_nl: String,
    /// Why it is forbidden.
    pub reason: String,
    /// Field-path segments or words that identify this category.
    pub names: BTreeSet<String>,
}

impl ForbiddenCategory {
    /// Whether a field path (as sent) falls in this category: one of its
    /// dot-separated segments, or one `_`-separated word of a segment, is a
    /// listed name.
    pub fn matches(&self, path: &str) -> bool {
        let path = path.to_ascii_lowercase();
        path.split('.').any(|seg| {
            self.names.contains(seg) || seg.split(['_', '-']).any(|word| self.names.contains(word))
        })
    }
}

/// Terms that mark special-category data (AVG art. 9: health, diagnoses,
/// medication) or criminal data (art. 10) typed into a free-text field (R16).
/// Dated like every rule (R1), so an evaluation can change the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextTerms {
    /// Short id.
    pub id: String,
    /// The rule (R16).
    pub rule: RuleId,
    /// English title.
    pub title: String,
    /// Dutch title.
    pub title_nl: String,
    /// What to write instead.
    pub hint: String,
    /// First day the list applies.
    pub valid_from: Date,
    /// Last day, if it ends.
    pub valid_until: Option<Date>,
    /// The terms, normalised: lower-case words joined by single spaces.
    pub terms: BTreeSet<String>,
}

impl TextTerms {
    /// Whether the list applies on `on`.
    pub fn valid_on(&self, on: Date) -> bool {
        self.valid_from <= on && self.valid_until.is_none_or(|u| on <= u)
    }

    /// Whether `text` holds one of the terms as whole words (case, accents
    /// and punctuation aside: "ADHD," and "pdd-nos" match `adhd`, `pdd nos`).
    pub fn matches(&self, text: &str) -> bool {
        let words = format!(" {} ", normalise_words(text));
        self.terms.iter().any(|t| {
            words
                .match_indices(t.as_str())
                .any(|(i, _)| words.as_bytes()[i - 1] == b' ' && words.as_bytes()[i + t.len()] == b' ')
        })
    }
}

/// Lower-case words of `text` joined by single spaces: every character
/// that is not a letter or digit separates words.
pub fn normalise_words(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    out
}

/// A region's narrowing of one purpose (R12).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfilePurpose {
    /// The purpose narrowed.
    pub id: PurposeId,
    /// The groups the region's format includes (a subset of the catalogue's).
    pub groups: BTreeSet<FieldGroup>,
    /// Catalogue fields the region's format leaves out.
    pub omit_fields: BTreeSet<FieldPath>,
    /// A shorter retention, if the region sets one (R15).
    pub retention_months: Option<u16>,
}

/// A region's overgangsdocument format: narrows, never widens (R12).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionProfile {
    /// Region name as used in requests.
    pub region: String,
    /// Title.
    pub title: String,
    /// The narrowed purposes.
    pub purposes: BTreeMap<PurposeId, ProfilePurpose>,
}

/// A loaded and validated policy. Construct with [`crate::load`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub(crate) version: String,
    pub(crate) files: Vec<String>,
    pub(crate) purposes: Vec<Purpose>,
    pub(crate) groups: BTreeMap<FieldGroup, GroupDef>,
    pub(crate) forbidden: Vec<ForbiddenCategory>,
    pub(crate) text_terms: Vec<TextTerms>,
    pub(crate) profiles: BTreeMap<String, RegionProfile>,
}

impl Policy {
    /// The policy version: hex SHA-256 over the loaded files (see [`crate::load`]).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The names of the loaded files, sorted.
    pub fn files(&self) -> &[String] {
        &self.files
    }

    /// All purpose versions, sorted by id and then by `valid_from`.
    pub fn purposes(&self) -> &[Purpose] {
        &self.purposes
    }

    /// All versions of one purpose, oldest first.
    pub fn purpose_versions<'a>(&'a self, id: &PurposeId) -> impl Iterator<Item = &'a Purpose> + 'a {
        let id = id.clone();
        self.purposes.iter().filter(move |p| p.id == id)
    }

    /// The version of `id` that applies on `on` (R1).
    pub fn purpose_on(&self, id: &PurposeId, on: Date) -> Option<&Purpose> {
        self.purpose_versions(id).find(|p| p.valid_on(on))
    }

    /// The catalogue groups.
    pub fn groups(&self) -> &BTreeMap<FieldGroup, GroupDef> {
        &self.groups
    }

    /// The forbidden categories.
    pub fn forbidden(&self) -> &[ForbiddenCategory] {
        &self.forbidden
    }

    /// The term lists that screen free text (R16).
    pub fn text_terms(&self) -> &[TextTerms] {
        &self.text_terms
    }

    /// The first term list in force on `on` that `text` matches: the text
    /// then holds special-category or criminal data (R16). Only the list is
    /// returned, never the text or the term.
    pub fn screen_text(&self, text: &str, on: Date) -> Option<&TextTerms> {
        self.text_terms.iter().find(|t| t.valid_on(on) && t.matches(text))
    }

    /// The region profiles by region name.
    pub fn profiles(&self) -> &BTreeMap<String, RegionProfile> {
        &self.profiles
    }
}
