//! The dates of Release files (`Date`, `Valid-Until`): RFC 2822 as Debian writes them,
//! `Sat, 11 Jul 2026 10:16:37 UTC` (zone `UTC`, `GMT`, `Z` or a numeric `+hhmm`).

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Seconds since the epoch of an RFC 2822 date, `None` when it is not one.
pub fn parse_date(text: &str) -> Option<u64> {
    let text = text.trim();
    // The day name is optional.
    let text = text.split_once(',').map_or(text, |(_, rest)| rest);
    let mut words = text.split_whitespace();
    let day: i64 = words.next()?.parse().ok()?;
    let month = words.next()?;
    let month = i64::try_from(MONTHS.iter().position(|m| m.eq_ignore_ascii_case(month))?).ok()? + 1;
    let year: i64 = words.next()?.parse().ok()?;
    let mut clock = words.next()?.split(':');
    let hour: i64 = clock.next()?.parse().ok()?;
    let minute: i64 = clock.next()?.parse().ok()?;
    let second: i64 = clock.next().map_or(Some(0), |s| s.parse().ok())?;
    let offset = zone_offset(words.next().unwrap_or("UTC"))?;
    if words.next().is_some()
        || clock.next().is_some()
        || !(1..=31).contains(&day)
        || !(0..24).contains(&hour)
        || !(0..60).contains(&minute)
        || !(0..=60).contains(&second)
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    u64::try_from(seconds).ok()
}

/// The zone's offset east of UTC in seconds.
fn zone_offset(zone: &str) -> Option<i64> {
    match zone {
        "UTC" | "GMT" | "Z" | "UT" => Some(0),
        _ => {
            let (sign, digits) = match zone.as_bytes().first()? {
                b'+' => (1, &zone[1..]),
                b'-' => (-1, &zone[1..]),
                _ => return None,
            };
            if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let hours: i64 = digits[..2].parse().ok()?;
            let minutes: i64 = digits[2..].parse().ok()?;
            Some(sign * (hours * 3600 + minutes * 60))
        }
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the civil-from-days inverse).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(parse_date("Thu, 01 Jan 1970 00:00:00 UTC"), Some(0));
        assert_eq!(
            parse_date("Sat, 10 Jun 2023 08:54:37 UTC"),
            Some(1_686_387_277)
        );
        assert_eq!(parse_date("29 Feb 2024 12:00:00 GMT"), Some(1_709_208_000));
        assert_eq!(
            parse_date("Sat, 10 Jun 2023 10:54:37 +0200"),
            Some(1_686_387_277)
        );
        assert_eq!(parse_date("Sat, 10 Foo 2023 08:54:37 UTC"), None);
        assert_eq!(parse_date("Sat, 10 Jun 2023 25:54:37 UTC"), None);
        assert_eq!(parse_date("yesterday"), None);
    }
}
