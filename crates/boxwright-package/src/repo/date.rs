//! RFC 2822 dates (apt's `Release` `Date:` field) without a calendar crate.

/// `Tue, 01 Dec 2026 16:39:30 UTC` for `seconds` since the epoch.
pub(crate) fn rfc2822(seconds: u64) -> String {
    format!("{} UTC", rfc2822_bare(seconds))
}

/// `Tue, 01 Dec 2026 16:39:30 +0000` (Debian changelog trailer lines).
pub(crate) fn rfc2822_numeric(seconds: u64) -> String {
    format!("{} +0000", rfc2822_bare(seconds))
}

fn rfc2822_bare(seconds: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = seconds / 86_400;
    let rest = seconds % 86_400;
    let (year, month, day) = civil_from_days(i64::try_from(days).unwrap_or(i64::MAX / 2));
    format!(
        "{}, {day:02} {} {year} {:02}:{:02}:{:02}",
        DAYS[(days % 7) as usize],
        MONTHS[usize::try_from(month - 1).unwrap_or(0)],
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Year, month (1–12) and day of `days` since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_known_dates() {
        assert_eq!(super::rfc2822(0), "Thu, 01 Jan 1970 00:00:00 UTC");
        assert_eq!(
            super::rfc2822(1_796_143_170),
            "Tue, 01 Dec 2026 16:39:30 UTC"
        );
        assert_eq!(super::rfc2822(951_782_400), "Tue, 29 Feb 2000 00:00:00 UTC");
    }
}
