//! Mandates (R9): "Het college kan de uitvoering van deze taak mandateren
//! of delegeren aan een andere afdeling of organisatie" — a gemeente may have
//! its Participatiewet or Doorstroompunt task carried out by another
//! organisation (a regional werkbedrijf, a shared service, a centrumgemeente)
//! under a processing agreement. The mandate must be explicit and recorded:
//! who acts for which gemeente, for which task, from when to when.
//!
//! While a mandate holds, the hub delivers the task's data to the mandated
//! organisation's function ([`delivery`]), and every action that function
//! takes for the gemeente is checked ([`check_acting`]) and audited as
//! acting for the gemeente. Outside it, the mandated organisation receives
//! nothing for that gemeente and its calls for it are refused.

use std::collections::BTreeSet;

use jiff::civil::Date;
use schakel_domain::{FunctionKind, Oin, OrgKind, Party};

use crate::decide::Found;
use crate::{Ground, RuleId, Violation};

/// The longest processing-agreement reference, in characters: a reference
/// (a contract number, a register id), not the agreement itself.
pub const MAX_AGREEMENT_REF_CHARS: usize = 100;

/// An organisation's function as stored rows name it.
pub type FunctionOf = (Oin, FunctionKind);

/// A mandate as recorded: the gemeente's task, carried out by another
/// organisation's function of the same kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mandate {
    /// The mandating gemeente's function (the task).
    pub mandating: FunctionOf,
    /// The mandated organisation's function that carries it out.
    pub mandated: FunctionOf,
    /// First day it holds.
    pub valid_from: Date,
    /// Last day it holds, as recorded.
    pub valid_until: Date,
    /// The last day it held when the operator ended it early.
    pub ended_on: Option<Date>,
}

impl Mandate {
    /// The last day the mandate holds: the recorded last day, or the day it
    /// was ended, whichever is earlier.
    pub fn last_day(&self) -> Date {
        self.ended_on
            .map_or(self.valid_until, |e| e.min(self.valid_until))
    }

    /// Whether it holds on `day`.
    pub fn in_force_on(&self, day: Date) -> bool {
        self.valid_from <= day && day <= self.last_day()
    }

    fn overlaps(&self, from: Date, until: Date) -> bool {
        self.valid_from <= until && from <= self.last_day()
    }
}

/// A mandate the operator asks to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMandate {
    /// The mandating organisation's kind (from the directory).
    pub mandating_kind: OrgKind,
    /// The mandating organisation's function (the task).
    pub mandating: Party,
    /// The mandated organisation's function.
    pub mandated: Party,
    /// The processing agreement's reference (verwerkersovereenkomst or
    /// mandate decision).
    pub agreement_ref: String,
    /// First day.
    pub valid_from: Date,
    /// Last day.
    pub valid_until: Date,
    /// The day it is recorded.
    pub today: Date,
}

/// The violations of recording `m` beside the mandates already recorded for
/// the same gemeente and task. Paths: `mandating_oin`, `function`,
/// `mandated_oin`, `processing_agreement`, `valid_from`, `valid_until`.
pub fn check_new_mandate(m: &NewMandate, existing: &[Mandate]) -> Vec<Violation> {
    let mut found = Found(BTreeSet::new());
    if m.mandating_kind != OrgKind::Gemeente {
        found.add(RuleId::R9, "mandating_oin", "only a gemeente mandates its task");
    }
    let task = m.mandating.function();
    if !matches!(task, FunctionKind::Participatiewet | FunctionKind::Doorstroompunt) {
        found.add(
            RuleId::R9,
            "function",
            "a mandate covers the Participatiewet or the Doorstroompunt task; the privacy officer's and the \
             school's functions are not mandated",
        );
    }
    if m.mandated.function() != task {
        found.add(
            RuleId::R9,
            "function",
            "the mandated organisation carries out the same task: it must hold the same function",
        );
    }
    if m.mandated.oin() == m.mandating.oin() {
        found.add(
            RuleId::R9,
            "mandated_oin",
            "a gemeente does not mandate itself; its own functions need no mandate",
        );
    }
    if !matches!(
        m.mandated.kind(),
        OrgKind::Uitvoeringsorganisatie | OrgKind::Gemeente
    ) {
        found.add(
            RuleId::R9,
            "mandated_oin",
            "a task is mandated to an uitvoeringsorganisatie or to another gemeente",
        );
    }
    let reference = m.agreement_ref.trim();
    if reference.is_empty()
        || reference.chars().count() > MAX_AGREEMENT_REF_CHARS
        || reference.chars().any(char::is_control)
    {
        found.add(
            RuleId::R9,
            "processing_agreement",
            format!(
                "name the processing agreement (verwerkersovereenkomst) or mandate decision the organisation acts \
                 under: one line of at most {MAX_AGREEMENT_REF_CHARS} characters"
            ),
        );
    }
    if m.valid_from < m.today {
        found.add(
            RuleId::R9,
            "valid_from",
            "a mandate cannot be recorded to hold before the day it is recorded",
        );
    }
    if m.valid_until < m.valid_from {
        found.add(RuleId::R9, "valid_until", "the period ends before it starts");
    } else if let Some(other) = existing
        .iter()
        .find(|e| e.mandating == m.mandating.key() && e.overlaps(m.valid_from, m.valid_until))
    {
        found.add(
            RuleId::R9,
            "valid_from",
            format!(
                "another mandate of this task of this gemeente holds from {} to {}: one organisation carries out \
                 a task at a time; end that mandate first",
                other.valid_from,
                other.last_day()
            ),
        );
    }
    found.0.into_iter().collect()
}

/// Where data for `recipient` (a gemeente's function) is delivered on
/// `today`: the mandate in force for that task, if any; otherwise the
/// function itself.
pub fn delivery<'a>(mandates: &'a [Mandate], recipient: &FunctionOf, today: Date) -> Option<&'a Mandate> {
    mandates
        .iter()
        .find(|m| m.mandating == *recipient && m.in_force_on(today))
}

/// R9: whether `actor` may act on data delivered under `mandate` on
/// `today`: only the mandated function, only while the mandate holds.
/// `field` names the request element the refusal points at.
pub fn check_acting(
    mandate: &Mandate,
    actor: &FunctionOf,
    today: Date,
    field: &str,
) -> Result<(), Violation> {
    let refuse = |ground, message: String| {
        Err(Violation {
            rule: RuleId::R9,
            ground,
            field_path: field.to_owned(),
            message,
        })
    };
    if mandate.mandated != *actor {
        refuse(
            Ground::Request,
            "this data was delivered under a mandate to another organisation".to_owned(),
        )
    } else if today < mandate.valid_from {
        refuse(
            Ground::Case,
            format!("the mandate you act under holds from {}", mandate.valid_from),
        )
    } else if !mandate.in_force_on(today) {
        refuse(
            Ground::Case,
            format!(
                "the mandate you acted under for this gemeente ended on {}; without a mandate in force you \
                 receive nothing for it and cannot act for it",
                mandate.last_day()
            ),
        )
    } else {
        Ok(())
    }
}
