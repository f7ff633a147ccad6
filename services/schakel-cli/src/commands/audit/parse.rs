//! Option values of the audit commands: points in time (Dutch civil time for
//! dates), anomaly thresholds, verifier keys.

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;

/// Central European Time with EU summer time, the rule of Europe/Amsterdam
/// since 1996 (as schakel-domain uses it): no time-zone database needed.
const EUROPE_AMSTERDAM_POSIX: &str = "CET-1CEST,M3.5.0,M10.5.0/3";

/// Europe/Amsterdam.
pub fn amsterdam() -> TimeZone {
    // A constant rule that a unit test parses: it cannot fail at run time.
    TimeZone::posix(EUROPE_AMSTERDAM_POSIX).unwrap_or(TimeZone::UTC)
}

/// A `--from` or `--until` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeArg {
    /// An instant with its offset: `2026-03-02T10:00:00Z`, `…+01:00`.
    Instant(Timestamp),
    /// A whole day in Europe/Amsterdam: `2026-03-02`.
    Day(Date),
    /// A wall-clock time in Europe/Amsterdam: `2026-03-02T10:00`.
    Local(DateTime),
}

impl TimeArg {
    /// Parses RFC 3339 (with offset), `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM[:SS]`
    /// (the last two in Europe/Amsterdam).
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if let Ok(t) = s.parse::<Timestamp>() {
            return Ok(Self::Instant(t));
        }
        // A bare date is 10 characters; longer input with a time of day is
        // a wall-clock time (jiff would read a bare date as midnight too).
        if s.len() == 10
            && let Ok(d) = s.parse::<Date>()
        {
            return Ok(Self::Day(d));
        }
        if let Ok(dt) = s.parse::<DateTime>() {
            return Ok(Self::Local(dt));
        }
        Err(
            "expected RFC 3339 (2026-03-02T10:00:00Z, 2026-03-02T11:00:00+01:00), \
             a date (2026-03-02) or a local time (2026-03-02T11:00), both in Europe/Amsterdam"
                .into(),
        )
    }

    /// The instant a window starts at: a day's first moment.
    pub fn start(self) -> Result<Timestamp, String> {
        match self {
            Self::Instant(t) => Ok(t),
            Self::Day(d) => local(d.to_datetime(jiff::civil::Time::midnight())),
            Self::Local(dt) => local(dt),
        }
    }

    /// The instant a window ends at (exclusive): after the whole of a day,
    /// so `--until 2026-03-31` includes 31 March.
    pub fn end(self) -> Result<Timestamp, String> {
        match self {
            Self::Day(d) => {
                let next = d.tomorrow().map_err(|_| "date out of range".to_owned())?;
                Self::Day(next).start()
            }
            other => other.start(),
        }
    }
}

fn local(dt: DateTime) -> Result<Timestamp, String> {
    // In the spring gap a wall-clock time is read as if the clocks had not
    // moved yet (RFC 5545 "compatible"), as `TimeZone::to_zoned` does.
    amsterdam()
        .to_zoned(dt)
        .map(|z| z.timestamp())
        .map_err(|_| "time out of range".to_owned())
}

/// A time window from `--from` and `--until`, as the API's timestamps.
pub fn window(
    from: Option<TimeArg>,
    until: Option<TimeArg>,
) -> Result<(Option<prost_types::Timestamp>, Option<prost_types::Timestamp>), String> {
    let from = from.map(TimeArg::start).transpose()?;
    let until = until.map(TimeArg::end).transpose()?;
    if let (Some(f), Some(u)) = (from, until)
        && u <= f
    {
        return Err(format!("--until ({u}) is not after --from ({f})"));
    }
    Ok((from.map(proto_time), until.map(proto_time)))
}

/// A jiff timestamp as the API's.
pub fn proto_time(t: Timestamp) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.as_second(),
        nanos: t.subsec_nanosecond(),
    }
}

/// The API's timestamp as a jiff one, if it is in range.
pub fn from_proto(t: &prost_types::Timestamp) -> Option<Timestamp> {
    Timestamp::new(t.seconds, t.nanos).ok()
}

/// `--office-hours START-END`, whole hours in Europe/Amsterdam.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OfficeHours {
    /// First hour inside office hours.
    pub start: i32,
    /// First hour after office hours.
    pub end: i32,
}

impl OfficeHours {
    /// Parses `6-19`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (a, b) = s
            .split_once('-')
            .ok_or("expected START-END in whole hours, e.g. 6-19")?;
        let hour = |v: &str| -> Result<i32, String> {
            v.trim()
                .parse::<i32>()
                .ok()
                .filter(|h| (0..=23).contains(h))
                .ok_or_else(|| format!("{v:?} is not an hour 0-23"))
        };
        let (start, end) = (hour(a)?, hour(b)?);
        // The API reads 0 as "the hub's default" (proto3 has no unset int).
        if start == 0 {
            return Err("office hours cannot start at 0: the API reads hour 0 as the hub's default".into());
        }
        if end <= start {
            return Err("office hours must end after they start, e.g. 6-19".into());
        }
        Ok(Self { start, end })
    }
}

/// `--refusal-burst COUNT/MINUTES`: that many refused submissions by one
/// sender within that many minutes count as a burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefusalBurst {
    /// Refusals that make a burst.
    pub count: i32,
    /// Within this many minutes.
    pub minutes: i32,
}

impl RefusalBurst {
    /// Parses `5/10`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (a, b) = s
            .split_once('/')
            .ok_or("expected COUNT/MINUTES, e.g. 5/10 (5 refusals within 10 minutes)")?;
        let positive = |v: &str, what: &str| -> Result<i32, String> {
            v.trim()
                .parse::<i32>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| format!("{what} must be a whole number from 1"))
        };
        Ok(Self {
            count: positive(a, "the count")?,
            minutes: positive(b, "the minutes")?,
        })
    }
}

/// `--verifier-key NAME+HASH+KEY`: the hub's note verifier key.
pub fn verifier_key(s: &str) -> Result<schakel_audit::Verifier, String> {
    schakel_audit::Verifier::from_vkey(s.trim())
        .map_err(|e| format!("{e} (expected <name>+<8 hex digits>+<base64 key>)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn the_amsterdam_rule_parses() {
        assert!(TimeZone::posix(EUROPE_AMSTERDAM_POSIX).is_ok());
    }

    #[test]
    fn rfc3339_instants_keep_their_offset() {
        let t = TimeArg::parse("2026-03-02T10:00:00Z").unwrap();
        assert_eq!(t.start().unwrap(), ts("2026-03-02T10:00:00Z"));
        assert_eq!(t.end().unwrap(), ts("2026-03-02T10:00:00Z"));
        let t = TimeArg::parse("2026-03-02T11:00:00+01:00").unwrap();
        assert_eq!(t.start().unwrap(), ts("2026-03-02T10:00:00Z"));
    }

    #[test]
    fn dates_are_whole_days_in_amsterdam() {
        // Winter: UTC+1.
        let d = TimeArg::parse("2026-01-15").unwrap();
        assert_eq!(d, TimeArg::Day(jiff::civil::date(2026, 1, 15)));
        assert_eq!(d.start().unwrap(), ts("2026-01-14T23:00:00Z"));
        assert_eq!(d.end().unwrap(), ts("2026-01-15T23:00:00Z"));
        // Summer: UTC+2.
        let d = TimeArg::parse("2026-07-01").unwrap();
        assert_eq!(d.start().unwrap(), ts("2026-06-30T22:00:00Z"));
        // The day the clocks go forward has 23 hours.
        let d = TimeArg::parse("2026-03-29").unwrap();
        assert_eq!(d.start().unwrap(), ts("2026-03-28T23:00:00Z"));
        assert_eq!(d.end().unwrap(), ts("2026-03-29T22:00:00Z"));
        // New Year's Eve 23:30 UTC is already the next day in Amsterdam.
        let d = TimeArg::parse("2026-01-01").unwrap();
        assert!(d.start().unwrap() <= ts("2025-12-31T23:30:00Z"));
    }

    #[test]
    fn local_times_are_amsterdam_wall_clock() {
        let t = TimeArg::parse("2026-03-02T11:00").unwrap();
        assert_eq!(t.start().unwrap(), ts("2026-03-02T10:00:00Z"));
        assert_eq!(t.end().unwrap(), ts("2026-03-02T10:00:00Z"));
        let t = TimeArg::parse("2026-08-02 11:00:30").unwrap();
        assert_eq!(t.start().unwrap(), ts("2026-08-02T09:00:30Z"));
    }

    #[test]
    fn malformed_times_are_refused() {
        for bad in [
            "",
            "yesterday",
            "2026-13-01",
            "2026-02-30",
            "02-03-2026",
            "2026-03-02T25:00",
        ] {
            assert!(TimeArg::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_window_must_not_end_before_it_starts() {
        let d = |s| Some(TimeArg::parse(s).unwrap());
        let (f, u) = window(d("2026-03-01"), d("2026-03-31")).unwrap();
        assert_eq!(f.unwrap().seconds, ts("2026-02-28T23:00:00Z").as_second());
        assert_eq!(u.unwrap().seconds, ts("2026-03-31T22:00:00Z").as_second());
        // One day: from and until the same date is that whole day.
        assert!(window(d("2026-03-01"), d("2026-03-01")).is_ok());
        assert!(window(d("2026-03-02"), d("2026-03-01")).is_err());
        assert!(window(d("2026-03-01T10:00:00Z"), d("2026-03-01T10:00:00Z")).is_err());
        assert_eq!(window(None, None).unwrap(), (None, None));
    }

    #[test]
    fn proto_times_round_trip() {
        let t = ts("2026-03-02T10:00:00.25Z");
        let p = proto_time(t);
        assert_eq!((p.seconds, p.nanos), (t.as_second(), 250_000_000));
        assert_eq!(from_proto(&p), Some(t));
    }

    #[test]
    fn office_hours() {
        assert_eq!(OfficeHours::parse("6-19"), Ok(OfficeHours { start: 6, end: 19 }));
        assert_eq!(OfficeHours::parse("7-23"), Ok(OfficeHours { start: 7, end: 23 }));
        for bad in ["6", "6-24", "19-6", "8-8", "0-19", "-1-19", "a-b", "6:00-19:00"] {
            assert!(OfficeHours::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn refusal_bursts() {
        assert_eq!(
            RefusalBurst::parse("5/10"),
            Ok(RefusalBurst {
                count: 5,
                minutes: 10
            })
        );
        for bad in ["5", "0/10", "5/0", "-1/10", "5/x", "5/10/2", "99999999999/1"] {
            assert!(RefusalBurst::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn verifier_keys() {
        let signer = schakel_audit::Signer::from_seed("schakel.test/log", &[3; 32]).unwrap();
        let vkey = signer.verifier().vkey();
        assert_eq!(verifier_key(&vkey).unwrap().vkey(), vkey);
        assert!(verifier_key("schakel.test/log").is_err());
        assert!(verifier_key(&vkey.replace("schakel.test", "other.test")).is_err());
    }
}
