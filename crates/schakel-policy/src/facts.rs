//! What a request states: the input of [`crate::decide`].
//!
//! Facts carry **no field values**: only which fields are present, and the
//! few dates and codes the rules need. A BSN or a name never enters the
//! policy engine, so it can never leak into a violation message.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use schakel_domain::{Consent, DiplomaLevel, FieldGroup, Party, PurposeId, SchoolType, VsoExitProfile};

use crate::model::Channel;

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
    /// Whether the sender states the youth has a startkwalificatie (R3);
    /// `None` when the sender did not say.
    pub startkwalificatie: Option<bool>,
}

/// The sender's judgement on return to initial education (R6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnToEducation {
    /// Return to initial education is not possible now.
    NotPossible,
    /// Return to initial education is possible.
    Possible,
}

/// The consent a request relies on, as the hub found it (R4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsentRef {
    /// The request names no consent.
    Absent,
    /// The request names a consent id that the sender's organisation function
    /// never recorded (or that does not exist: the two are not told apart).
    Unknown,
    /// The consent was recorded by the sender, for another youth.
    OtherYouth,
    /// A consent the sender recorded for this youth.
    Recorded(Consent),
}

impl ConsentRef {
    /// The consent, when one was found for this youth.
    pub fn recorded(&self) -> Option<&Consent> {
        match self {
            Self::Recorded(c) => Some(c),
            _ => None,
        }
    }

    /// The consent, to change it (a withdrawal), when one was found.
    pub fn recorded_mut(&mut self) -> Option<&mut Consent> {
        match self {
            Self::Recorded(c) => Some(c),
            _ => None,
        }
    }
}

/// Which functions have a valid age key to seal the content to (R9, R12):
/// content is never stored for a function that cannot open it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealingKeys {
    /// The recipient function has at least one valid key.
    pub recipient: bool,
    /// The sender's own function has at least one valid key.
    pub sender: bool,
}

/// A free-text field whose value holds terms of a term list (R16): which
/// field and which list, never the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecialText {
    /// The field path (`support_needs.functional_needs`).
    pub field: String,
    /// The id of the term list it matched ([`crate::Policy::screen_text`]).
    pub list: String,
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
    /// The service the request came through (R9).
    pub channel: Channel,
    /// The consent record the request relies on (R4).
    pub consent: ConsentRef,
    /// Whether the youth's own refusal for this purpose and recipient was
    /// recorded after that consent (R4, R13): the youth's latest word counts,
    /// also against a parent's consent for a minor.
    pub refused_by_youth_since: bool,
    /// The keys the content can be sealed to (R9, R12).
    pub keys: SealingKeys,
    /// The field paths present in the document, as sent (`group.field`).
    pub fields: Vec<String>,
    /// Free-text fields whose values hold special-category or criminal
    /// terms (R16), as screened by the hub with [`crate::Policy::screen_text`].
    pub special_text: Vec<SpecialText>,
    /// Necessity justification per group (R8).
    pub justifications: BTreeMap<FieldGroup, String>,
    /// The fields a group's justification names, when it names any (the
    /// narrowing of `GroupJustification.fields`); a group not here is
    /// justified as a whole. A group whose catalogue entry says
    /// `justify_fields` must name every field sent (R8).
    pub justified_fields: BTreeMap<FieldGroup, BTreeSet<String>>,
    /// Whether the request itself invokes the hardheidsclausule; a sender
    /// never may (R2: it is the gemeente's decision).
    pub hardheidsclausule_invoked: bool,
    /// Whether the receiving gemeente function's own hardheidsclausule
    /// decision (art. 7a lid 7) holds for this youth on the decision date, as
    /// the hub found it in the gemeente's recorded decisions (R2).
    pub hardheidsclausule_decision: bool,
    /// Whether an open expertise request exists that this advice answers (R7).
    pub open_expertise_request: bool,
    /// The sender's judgement on return to initial education (R6).
    pub return_to_education: Option<ReturnToEducation>,
}
