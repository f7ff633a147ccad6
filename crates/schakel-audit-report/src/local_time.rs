//! Dutch local time (Europe/Amsterdam) for audit timestamps.

use std::sync::OnceLock;

use jiff::Timestamp;
use jiff::Zoned;
use jiff::civil::Date;
use jiff::tz::TimeZone;

/// The IANA name shown in reports.
pub(crate) const ZONE_NAME: &str = "Europe/Amsterdam";

/// Europe/Amsterdam from the bundled database. The POSIX rule (CET/CEST, EU
/// switch on the last Sunday of March and October) is only a fallback should
/// the bundle ever lack the zone; it is right for every date since 1996.
fn amsterdam() -> &'static TimeZone {
    static TZ: OnceLock<TimeZone> = OnceLock::new();
    TZ.get_or_init(|| {
        TimeZone::get(ZONE_NAME)
            .or_else(|_| TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3"))
            .unwrap_or(TimeZone::UTC)
    })
}

/// An audit time (ms since the Unix epoch) in Dutch local time; `None` when it
/// lies outside the range a calendar can show (a corrupt entry).
pub(crate) fn zoned(ms: u64) -> Option<Zoned> {
    let ms = i64::try_from(ms).ok()?;
    Timestamp::from_millisecond(ms)
        .ok()
        .map(|t| t.to_zoned(amsterdam().clone()))
}

/// `2026-03-02 21:30:00 +01:00`.
pub(crate) fn format_ms(ms: u64) -> String {
    match zoned(ms) {
        Some(z) => z.strftime("%Y-%m-%d %H:%M:%S %:z").to_string(),
        None => format!("(invalid time: {ms} ms since 1970)"),
    }
}

/// `21:30`, for describing a stretch within one day.
pub(crate) fn format_hm(ms: u64) -> String {
    match zoned(ms) {
        Some(z) => z.strftime("%H:%M").to_string(),
        None => format!("(invalid time: {ms} ms since 1970)"),
    }
}

/// The local calendar day.
pub(crate) fn local_day(ms: u64) -> Option<Date> {
    zoned(ms).map(|z| z.date())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Milliseconds since the epoch of a local Amsterdam wall-clock time.
    pub(crate) fn local_ms(y: i16, mo: i8, d: i8, h: i8, mi: i8) -> u64 {
        let z = jiff::civil::date(y, mo, d)
            .at(h, mi, 0, 0)
            .to_zoned(amsterdam().clone())
            .expect("valid local time");
        u64::try_from(z.timestamp().as_millisecond()).expect("after 1970")
    }

    #[test]
    fn winter_and_summer_offsets() {
        // 2026-01-15 12:00 UTC is 13:00 CET; 2026-07-15 12:00 UTC is 14:00 CEST.
        assert_eq!(format_ms(1_768_478_400_000), "2026-01-15 13:00:00 +01:00");
        assert_eq!(format_ms(1_784_116_800_000), "2026-07-15 14:00:00 +02:00");
    }

    #[test]
    fn dst_switch_2026() {
        // Clocks go forward on Sunday 2026-03-29 at 02:00 CET (01:00 UTC).
        let before = 1_774_745_940_000; // 00:59 UTC
        assert_eq!(format_ms(before), "2026-03-29 01:59:00 +01:00");
        assert_eq!(format_ms(before + 60_000), "2026-03-29 03:00:00 +02:00");
    }

    #[test]
    fn out_of_range_time_is_shown_not_panicking() {
        assert!(format_ms(u64::MAX).starts_with("(invalid time"));
        assert_eq!(local_day(u64::MAX), None);
    }

    #[test]
    fn local_day_follows_local_midnight() {
        // 23:30 UTC on 2026-03-01 is already 00:30 on 2 March in Amsterdam.
        let ms = local_ms(2026, 3, 2, 0, 30);
        assert_eq!(local_day(ms), Some(jiff::civil::date(2026, 3, 2)));
        assert_eq!(format_ms(ms), "2026-03-02 00:30:00 +01:00");
    }
}
