//! Calendar dates and ages.
//!
//! All legal dates in schakel are civil dates in the Netherlands
//! (Europe/Amsterdam). Decisions take a [`Date`]; callers that hold a
//! timestamp convert it with [`amsterdam_date`], which needs no time-zone
//! database on the machine (the rule is fixed by EU law since 1996).

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use crate::DomainError;

/// Central European Time with EU summer time: UTC+1, UTC+2 from the last
/// Sunday of March 02:00 to the last Sunday of October 03:00 local time.
const EUROPE_AMSTERDAM_POSIX: &str = "CET-1CEST,M3.5.0,M10.5.0/3";

/// The calendar date in the Netherlands (Europe/Amsterdam) at `ts`.
///
/// A timestamp of 2025-12-31T23:30:00Z is already 2026-01-01 in Amsterdam.
pub fn amsterdam_date(ts: Timestamp) -> Result<Date, DomainError> {
    let tz = TimeZone::posix(EUROPE_AMSTERDAM_POSIX)
        .map_err(|_| DomainError::new("now", "cannot build the Europe/Amsterdam time zone rule"))?;
    Ok(ts.to_zoned(tz).date())
}

/// The exact age in completed years on `on` of someone born on `birth`.
///
/// A year is completed on the anniversary of the birth date. For a birthday
/// on 29 February the anniversary in a common year is **1 March**: the youth
/// has not completed the year until the calendar has passed 28 February
/// (so someone born 2008-02-29 turns 18 on 2026-03-01). This is the cautious
/// reading for "under 18" (a parent's consent is needed one day longer) and is
/// documented in docs/policy.md. Returns a negative number if `on` is before `birth`.
pub fn age_on(birth: Date, on: Date) -> i32 {
    let mut years = i32::from(on.year()) - i32::from(birth.year());
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    years
}

/// `date` plus `years` calendar years; 29 February becomes 28 February in a
/// common year (the window never runs longer than the stated number of years).
pub fn add_years(date: Date, years: i16) -> Result<Date, DomainError> {
    date.checked_add(jiff::Span::new().years(years))
        .map_err(|_| DomainError::new("date", "is outside the supported range"))
}

/// `date` plus `months` calendar months, clamped to the end of the month.
pub fn add_months(date: Date, months: i32) -> Result<Date, DomainError> {
    date.checked_add(jiff::Span::new().months(months))
        .map_err(|_| DomainError::new("date", "is outside the supported range"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn ages_are_exact() {
        assert_eq!(age_on(date(2008, 6, 15), date(2026, 6, 14)), 17);
        assert_eq!(age_on(date(2008, 6, 15), date(2026, 6, 15)), 18);
        assert_eq!(age_on(date(2008, 6, 15), date(2008, 6, 14)), -1);
    }

    #[test]
    fn leap_day_birthdays_complete_on_1_march_in_common_years() {
        let b = date(2008, 2, 29);
        assert_eq!(age_on(b, date(2026, 2, 28)), 17);
        assert_eq!(age_on(b, date(2026, 3, 1)), 18);
        // In a leap year the birthday itself counts.
        assert_eq!(age_on(b, date(2028, 2, 28)), 19);
        assert_eq!(age_on(b, date(2028, 2, 29)), 20);
    }

    #[test]
    fn year_windows_clamp_leap_days() {
        assert_eq!(add_years(date(2024, 2, 29), 1).unwrap(), date(2025, 2, 28));
        assert_eq!(add_years(date(2026, 7, 1), 2).unwrap(), date(2028, 7, 1));
        assert_eq!(add_months(date(2026, 1, 31), 1).unwrap(), date(2026, 2, 28));
    }

    #[test]
    fn amsterdam_dates_follow_cet_and_cest() {
        let ts: Timestamp = "2025-12-31T23:30:00Z".parse().unwrap();
        assert_eq!(amsterdam_date(ts).unwrap(), date(2026, 1, 1));
        let ts: Timestamp = "2025-12-31T22:59:59Z".parse().unwrap();
        assert_eq!(amsterdam_date(ts).unwrap(), date(2025, 12, 31));
        // Summer time: UTC+2.
        let ts: Timestamp = "2026-06-30T22:30:00Z".parse().unwrap();
        assert_eq!(amsterdam_date(ts).unwrap(), date(2026, 7, 1));
        let ts: Timestamp = "2026-06-30T21:30:00Z".parse().unwrap();
        assert_eq!(amsterdam_date(ts).unwrap(), date(2026, 6, 30));
    }
}
