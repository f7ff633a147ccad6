//! The regional numbers' rules (domain.md §7, R13, R17): a region's partners
//! see counts, per period, never a case; periods are school years and
//! calendar quarters only — two overlapping free date ranges would give
//! away one youth by differencing — and counts below a threshold are hidden
//! (`schakel-disclosure` does the hiding).

use std::fmt;
use std::str::FromStr;

use jiff::civil::Date;

/// The smallest count published; smaller ones show as `<5`.
pub const REGIONAL_THRESHOLD: u64 = 5;

/// A period the numbers are given for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Period {
    /// A school year, 1 August of `.0` to 31 July of the next year
    /// (`2026/27`).
    SchoolYear(i16),
    /// A calendar quarter (`2026-Q3`): year and quarter 1–4.
    Quarter(i16, i8),
}

/// The text is not a period the numbers are given for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "give a school year (2026/27: 1 August to 31 July) or a calendar quarter (2026-Q3); other date ranges \
     are not given, since two overlapping ones would single out a youth (R17)"
)]
pub struct NotAPeriod;

impl FromStr for Period {
    type Err = NotAPeriod;
    fn from_str(s: &str) -> Result<Self, NotAPeriod> {
        let year = |t: &str| {
            (t.len() == 4 && t.bytes().all(|b| b.is_ascii_digit()))
                .then(|| t.parse::<i16>().ok())
                .flatten()
                .filter(|y| (2000..=2199).contains(y))
        };
        if let Some((a, b)) = s.split_once('/') {
            let first = year(a).ok_or(NotAPeriod)?;
            if b.len() != 2 || b.parse::<i16>().ok() != Some((first + 1) % 100) {
                return Err(NotAPeriod);
            }
            return Ok(Self::SchoolYear(first));
        }
        if let Some((a, q)) = s.split_once("-Q") {
            let y = year(a).ok_or(NotAPeriod)?;
            return match q {
                "1" | "2" | "3" | "4" => Ok(Self::Quarter(y, q.parse().map_err(|_| NotAPeriod)?)),
                _ => Err(NotAPeriod),
            };
        }
        Err(NotAPeriod)
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SchoolYear(y) => write!(f, "{y}/{:02}", (y + 1) % 100),
            Self::Quarter(y, q) => write!(f, "{y}-Q{q}"),
        }
    }
}

impl Period {
    /// The first day (Europe/Amsterdam).
    pub fn first_day(self) -> Date {
        match self {
            Self::SchoolYear(y) => Date::constant(y, 8, 1),
            Self::Quarter(y, q) => Date::constant(y, 3 * (q - 1) + 1, 1),
        }
    }

    /// The day after the last (the end, exclusive).
    pub fn end(self) -> Date {
        match self {
            Self::SchoolYear(y) => Date::constant(y + 1, 8, 1),
            Self::Quarter(y, 4) => Date::constant(y + 1, 1, 1),
            Self::Quarter(y, q) => Date::constant(y, 3 * q + 1, 1),
        }
    }

    /// The last day.
    pub fn last_day(self) -> Date {
        self.end().yesterday().unwrap_or(Date::MAX)
    }

    /// Whether the period is still running on `today`: its numbers can
    /// still change, and are marked provisional.
    pub fn provisional(self, today: Date) -> bool {
        today < self.end()
    }

    /// Whether it has started on `today`; a future period has no numbers.
    pub fn started(self, today: Date) -> bool {
        self.first_day() <= today
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn r17_only_school_years_and_quarters() {
        let sy: Period = "2026/27".parse().unwrap();
        assert_eq!(
            (sy.first_day(), sy.last_day()),
            (date(2026, 8, 1), date(2027, 7, 31))
        );
        assert_eq!(sy.to_string(), "2026/27");
        let q: Period = "2026-Q4".parse().unwrap();
        assert_eq!(
            (q.first_day(), q.last_day()),
            (date(2026, 10, 1), date(2026, 12, 31))
        );
        let q1: Period = "2027-Q1".parse().unwrap();
        assert_eq!(
            (q1.first_day(), q1.last_day()),
            (date(2027, 1, 1), date(2027, 3, 31))
        );
        assert_eq!("2099/00".parse::<Period>().unwrap().last_day(), date(2100, 7, 31));
        for bad in [
            "2026/28",
            "2026-2027",
            "2026-01-01..2026-03-31",
            "2026-Q5",
            "2026-Q0",
            "26/27",
            "2026/7",
            "",
            "Q3",
            "2026-q3",
            "2026/27 ",
        ] {
            assert_eq!(bad.parse::<Period>(), Err(NotAPeriod), "{bad}");
        }
        assert!(q.provisional(date(2026, 12, 31)));
        assert!(!q.provisional(date(2027, 1, 1)));
        assert!(!q1.started(date(2026, 12, 31)));
    }
}
