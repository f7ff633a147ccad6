//! What a request states: the input of [`crate::decide`].
//!
//! Facts carry **no field values**: only which fields are present, and the
//! few dates and codes the rules need. A BSN or a name never enters the
//! policy engine, so it can never leak into a violation message.

use std::collections::BTreeMap;

use jiff::civil::Date;
use schakel_domain::{Consent, DiplomaLevel, FieldGroup, Party, PurposeId, SchoolType, VsoExitProfile};

/// What the request says about the youth (the subject).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// Date of birth (for R2 and R4 ages).
    pub date_of_birth: Date,
    /// The school type the youth attends or attended.
    pub school_type: Option<SchoolType>,
    /// The vso exit profile, for vso pupils (R19).
    pub vso_exit_profile: Option<VsoExitProfile>,
    /// The date the youth left (was deregistered from) school; on and after it
    /// the youth has left. `None` while enrolled.
    pub leave_date: Option<Date>,
    /// The highest diploma, if any.
    pub diploma_level: Option<DiplomaLevel>,
    /// The date of that diploma.
    pub diploma_date: Option<Date>,
    /// Whether the sender states the youth has a startkwalificatie (R3).
    pub startkwalificatie: bool,
}

/// The sender's judgement on return to initial education (R6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnToEducation {
    /// Return to initial education is not possible now.
    NotPossible,
    /// Return to initial education is possible.
    Possible,
}

/// The facts of one request to send data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// The purpose the sender states.
    pub purpose: PurposeId,
    /// The sending party (from the mTLS identity and directory).
    pub sender: Party,
    /// The receiving party.
    pub recipient: Party,
    /// The Doorstroompuntregio whose overgangsdocument format applies (R12). A
    /// region without a loaded profile uses the full catalogue (the hub, not
    /// the sender, should set this from the directory).
    pub region: Option<String>,
    /// What the request says about the youth.
    pub subject: Subject,
    /// The consent record the request relies on (R4).
    pub consent: Option<Consent>,
    /// The field paths present in the document, as sent (`group.field`).
    pub fields: Vec<String>,
    /// Necessity justification per group (R8).
    pub justifications: BTreeMap<FieldGroup, String>,
    /// Written justification for applying the hardheidsclausule (R2).
    pub hardheidsclausule: Option<String>,
    /// Whether an open expertise request exists that this advice answers (R7).
    pub open_expertise_request: bool,
    /// The sender's judgement on return to initial education (R6).
    pub return_to_education: Option<ReturnToEducation>,
}
