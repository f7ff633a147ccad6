//! The gemeente's hardheidsclausule decision (Participatiewet art. 7a lid 7,
//! R2): "De gemeente kan bij gerechtvaardigde belangen afwijken van de
//! leeftijdsgrens". The gemeente's Participatiewet function decides, for a
//! youth it already supports, with a written justification and a period;
//! while the decision holds, transfers for that youth to that function pass
//! the age limit (see [`crate::Facts::hardheidsclausule_decision`]).

use std::collections::BTreeSet;

use jiff::civil::Date;
use schakel_domain::dates::age_on;
use schakel_domain::{FunctionKind, Party};

use crate::decide::{Found, MIN_JUSTIFICATION_CHARS, clause};
use crate::{Ground, Policy, RuleId, Violation};

/// What the gemeente already does for the youth: the hardheidsclausule
/// continues support, it does not start it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SupportBasis {
    /// A transfer for this youth that this function received; `accepted`
    /// says whether it accepted it (a transfer it declined, or has not
    /// decided on, is no support).
    Transfer {
        /// Whether the function accepted the transfer.
        accepted: bool,
    },
    /// A transfer id that names no transfer this function received for
    /// this youth.
    UnknownTransfer,
    /// The gemeente's own case reference for the youth.
    CaseReference,
    /// Neither was given.
    Missing,
}

/// The facts of a hardheidsclausule decision being recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HardheidsclausuleDecision {
    /// The deciding party (from the mTLS identity and directory).
    pub decider: Party,
    /// The youth's date of birth.
    pub date_of_birth: Date,
    /// What the gemeente already does for the youth.
    pub basis: SupportBasis,
    /// The written justification.
    pub justification: String,
    /// First day the decision holds.
    pub valid_from: Date,
    /// Last day the decision holds.
    pub valid_until: Date,
    /// The day it is recorded.
    pub today: Date,
}

/// The legal basis of an action that rests on the decision, as its audit
/// entry names it.
pub const HARDHEIDSCLAUSULE_LEGAL_BASIS: &str = "Participatiewet art. 7a lid 7";

/// The longest period one decision may cover. The law names none; a decision
/// is about continuing a trajectory (the seed's example: a bbl track that
/// runs past the 27th birthday), and two years covers every mbo track's
/// remaining part. A longer need is a new decision with a new justification.
pub const MAX_PERIOD_MONTHS: i8 = 24;

/// The violations of recording `d` under `policy`. Paths: `caller` (R9),
/// `accepted_transfer_id` / `case_reference` (the basis), `justification`,
/// `valid_from`, `valid_until` (R2), and R16 on the justification's text.
pub fn decide_hardheidsclausule(d: &HardheidsclausuleDecision, policy: &Policy) -> Vec<Violation> {
    let mut found = Found(BTreeSet::new());
    if d.decider.function() != FunctionKind::Participatiewet {
        found.add(
            RuleId::R9,
            "caller",
            "only a gemeente's Participatiewet function decides on the hardheidsclausule (art. 7a lid 7)",
        );
    }
    match d.basis {
        SupportBasis::Transfer { accepted: true } | SupportBasis::CaseReference => {}
        SupportBasis::Transfer { accepted: false } => found.add_on(
            Ground::Case,
            RuleId::R2,
            "accepted_transfer_id",
            "the hardheidsclausule continues support the gemeente already gives: accept the transfer first, \
             or name your own case reference",
        ),
        SupportBasis::UnknownTransfer => found.add(
            RuleId::R2,
            "accepted_transfer_id",
            "no transfer for this youth was received by your function under this id",
        ),
        SupportBasis::Missing => found.add(
            RuleId::R2,
            "accepted_transfer_id",
            "the hardheidsclausule continues support the gemeente already gives: name a transfer for this youth \
             that your function accepted, or your own case reference",
        ),
    }
    if d.justification.trim().chars().count() < MIN_JUSTIFICATION_CHARS {
        found.add(
            RuleId::R2,
            "justification",
            format!(
                "the decision needs a written justification of at least {MIN_JUSTIFICATION_CHARS} characters: \
                 the legitimate interest (gerechtvaardigd belang) in continuing past 27"
            ),
        );
    }
    if let Some(list) = policy.screen_text(&d.justification, d.today) {
        found.add(
            list.rule,
            "justification",
            format!(
                "this text holds {} ({}): special-category or criminal data (AVG art. 9, 10) does not belong in \
                 the decision; {}",
                list.title.to_lowercase(),
                list.title_nl,
                clause(&list.hint)
            ),
        );
    }
    period(&mut found, d, policy);
    found.0.into_iter().collect()
}

/// R2: a period that starts no earlier than today, ends after it starts, is
/// at most [`MAX_PERIOD_MONTHS`] long and reaches past the youth's 27th
/// birthday (before it, the decision would have nothing to cover).
fn period(found: &mut Found, d: &HardheidsclausuleDecision, policy: &Policy) {
    if d.valid_from < d.today {
        found.add(
            RuleId::R2,
            "valid_from",
            "a decision cannot hold before the day it is recorded",
        );
    }
    if d.valid_until < d.valid_from {
        found.add(RuleId::R2, "valid_until", "the period ends before it starts");
        return;
    }
    let longest = d
        .valid_from
        .checked_add(jiff::Span::new().months(MAX_PERIOD_MONTHS))
        .unwrap_or(Date::MAX);
    if d.valid_until > longest {
        found.add(
            RuleId::R2,
            "valid_until",
            format!(
                "one decision holds for at most {MAX_PERIOD_MONTHS} months; a longer need is a new decision"
            ),
        );
    }
    let limit = policy
        .purposes()
        .iter()
        .filter(|p| p.hardheidsclausule)
        .map(|p| p.max_age)
        .min();
    if let Some(limit) = limit
        && age_on(d.date_of_birth, d.valid_until) < i32::from(limit)
    {
        found.add(
            RuleId::R2,
            "valid_until",
            format!(
                "the youth is still under {limit} on the last day; the age limit does not stand in the way"
            ),
        );
    }
}
