//! Policy as data for schakel, and the pure decision function.
//!
//! `policy/*.toml` holds the purposes of domain.md §4 with their legal bases,
//! the field catalogue of §5, forbidden categories (R14, R16) and optional
//! region profiles (R12). [`load`] parses and validates those files (the
//! caller reads them: this crate does no I/O) and [`decide`] applies rules
//! R1–R19 to the facts of one request:
//!
//! ```text
//! decide(&facts, &policy, today) -> Decision::Allowed { groups, retention, .. }
//!                                 | Decision::Refused { violations: [ {rule, field_path, message}, .. ] }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod consent;
mod decide;
mod docs;
mod error;
mod facts;
mod hardheidsclausule;
mod load;
mod mandate;
mod model;
mod regional;
mod rule;

pub use consent::{ConsentToRecord, decide_consent_record};
pub use decide::{BoundGroup, Decision, Ground, MIN_JUSTIFICATION_CHARS, Retention, Violation, decide};
pub use docs::render_markdown;
pub use error::{PolicyError, PolicyIssue};
pub use facts::{ConsentRef, Facts, ReturnToEducation, SealingKeys, SpecialText, Subject};
pub use hardheidsclausule::{
    HARDHEIDSCLAUSULE_LEGAL_BASIS, HardheidsclausuleDecision, MAX_PERIOD_MONTHS, SupportBasis,
    decide_hardheidsclausule,
};
pub use load::{load, policy_version};
pub use mandate::{
    FunctionOf, MAX_AGREEMENT_REF_CHARS, Mandate, NewMandate, check_acting, check_new_mandate, delivery,
};
pub use model::{
    Channel, ConsentRule, FieldDef, FieldType, ForbiddenCategory, GroupDef, NecessityJustification, Policy,
    ProfilePurpose, Purpose, RegionProfile, SchoolStatus, SensitivityClass, StartkwalificatieCondition,
    TextTerms, Window, WindowAnchor, normalise_words,
};
pub use regional::{NotAPeriod, Period, REGIONAL_THRESHOLD};
pub use rule::{RuleId, UnknownRule};
