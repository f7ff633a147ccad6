//! Rule ids of domain.md §3.

use std::fmt;
use std::str::FromStr;

/// A rule of domain.md §3 (`R1` … `R19`). Displays as `R4`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RuleId(u8);

impl RuleId {
    /// R1: legal bases apply from 2026-01-01; rules carry validity dates.
    pub const R1: RuleId = RuleId(1);
    /// R2: art. 7a covers youths under 27; past 27 only under the gemeente's own hardheidsclausule decision.
    pub const R2: RuleId = RuleId(2);
    /// R3: the Doorstroompunt handles only youths without startkwalificatie.
    pub const R3: RuleId = RuleId(3);
    /// R4: overgangsdocument only with consent, within the handover window.
    pub const R4: RuleId = RuleId(4);
    /// R5: the Doorstroompunt may provide an overgangsdocument.
    pub const R5: RuleId = RuleId(5);
    /// R6: the sender judges whether return to education is possible.
    pub const R6: RuleId = RuleId(6);
    /// R7: expertise request and advice.
    pub const R7: RuleId = RuleId(7);
    /// R8: Doorstroompunt data to Participatiewet only when necessary, per group.
    pub const R8: RuleId = RuleId(8);
    /// R9: functions are separate purposes.
    pub const R9: RuleId = RuleId(9);
    /// R10: support during school on the school's request.
    pub const R10: RuleId = RuleId(10);
    /// R11: support without benefits is voluntary.
    pub const R11: RuleId = RuleId(11);
    /// R12: overgangsdocument content; the region fixes the format.
    pub const R12: RuleId = RuleId(12);
    /// R13: refusals are recorded without content.
    pub const R13: RuleId = RuleId(13);
    /// R14: data without basis in this law may not be exchanged.
    pub const R14: RuleId = RuleId(14);
    /// R15: retention.
    pub const R15: RuleId = RuleId(15);
    /// R16: special-category and criminal data.
    pub const R16: RuleId = RuleId(16);
    /// R17: regional partners get aggregates only.
    pub const R17: RuleId = RuleId(17);
    /// R18: hbo/wo is not a sender.
    pub const R18: RuleId = RuleId(18);
    /// R19: vso exit profiles arbeidsmarkt/dagbesteding.
    pub const R19: RuleId = RuleId(19);

    /// The rule number, 1 to 19.
    pub const fn number(self) -> u8 {
        self.0
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "R{}", self.0)
    }
}

/// The text is not a rule id `R1` … `R19`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be a rule id R1 to R19")]
pub struct UnknownRule;

impl FromStr for RuleId {
    type Err = UnknownRule;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let n: u8 = s
            .strip_prefix('R')
            .filter(|d| !d.starts_with('0'))
            .and_then(|d| d.parse().ok())
            .ok_or(UnknownRule)?;
        if (1..=19).contains(&n) {
            Ok(Self(n))
        } else {
            Err(UnknownRule)
        }
    }
}

impl TryFrom<String> for RuleId {
    type Error = UnknownRule;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<RuleId> for String {
    fn from(r: RuleId) -> Self {
        r.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_display_and_parse() {
        assert_eq!(RuleId::R4.to_string(), "R4");
        assert_eq!("R19".parse::<RuleId>().unwrap(), RuleId::R19);
        for bad in ["R0", "R20", "r4", "4", "R04", "R", ""] {
            assert!(bad.parse::<RuleId>().is_err(), "{bad}");
        }
    }
}
