//! Dates and times on the command line, in the network's local time (its
//! zone table is on the ledger, so every shop reads "2026-12-24 09:00" the
//! same way).

use anyhow::{Context, bail};
use guild_ledger::programme::Locale;
use guild_ledger::types::{MS_PER_DAY, Timestamp};

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM` (also with a space) in the
/// network's local time, or `now`.
pub fn parse_local(text: &str, locale: &Locale, now: Timestamp) -> anyhow::Result<Timestamp> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("now") {
        return Ok(now);
    }
    let bad = || {
        format!(
            "{text:?} is not a date: write 2026-12-24 or 2026-12-24T09:00 (network local time) or now"
        )
    };
    let (date, clock) = match text.split_once(['T', ' ']) {
        Some((d, c)) => (d, Some(c)),
        None => (text, None),
    };
    let parts: Vec<&str> = date.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        bail!(bad());
    };
    let year: i64 = y.parse().with_context(bad)?;
    let month: u32 = m.parse().with_context(bad)?;
    let day: u32 = d.parse().with_context(bad)?;
    if !(1970..=9999).contains(&year) || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        bail!(bad());
    }
    let (hour, minute) = match clock {
        None => (0u64, 0u64),
        Some(c) => {
            let (h, mi) = c.split_once(':').with_context(bad)?;
            let h: u64 = h.parse().with_context(bad)?;
            let mi: u64 = mi.parse().with_context(bad)?;
            if h > 23 || mi > 59 {
                bail!(bad());
            }
            (h, mi)
        }
    };
    let days = u64::try_from(days_from_civil(year, month, day)).with_context(bad)?;
    let local = days * MS_PER_DAY + hour * 3_600_000 + minute * 60_000;
    // The offset in force around that local time (a guess by the local
    // instant, corrected once).
    let guess = Timestamp(local);
    let offset = i64::from(locale.offset_at(guess)) * 60_000;
    let utc = i64::try_from(local).with_context(bad)? - offset;
    let utc = Timestamp(u64::try_from(utc).with_context(bad)?);
    let offset = i64::from(locale.offset_at(utc)) * 60_000;
    let utc = i64::try_from(local).with_context(bad)? - offset;
    Ok(Timestamp(u64::try_from(utc).with_context(bad)?))
}

/// `time` as `YYYY-MM-DD HH:MM` in the network's local time.
pub fn show_local(time: Timestamp, locale: &Locale) -> String {
    let offset = i64::from(locale.offset_at(time)) * 60_000;
    let local = i64::try_from(time.0).unwrap_or(i64::MAX / 2) + offset;
    let local = Timestamp(u64::try_from(local).unwrap_or(0));
    let (y, m, d) = guild_wallet::builder::civil_date(local);
    let minutes = (local.0 % MS_PER_DAY) / 60_000;
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        minutes / 60,
        minutes % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use guild_ledger::programme::ZoneOffset;

    #[test]
    fn local_dates_round_trip_through_the_zone_table() {
        let london = Locale {
            zone: vec![ZoneOffset {
                from: Timestamp(1_774_746_000_000),
                offset_minutes: 60,
            }],
            ..Locale::default()
        };
        let t = parse_local("2026-07-01T08:30", &london, Timestamp(0)).unwrap();
        assert_eq!(t, Timestamp(1_782_891_000_000));
        assert_eq!(show_local(t, &london), "2026-07-01 08:30");
        let t = parse_local("2026-01-01", &london, Timestamp(0)).unwrap();
        assert_eq!(show_local(t, &Locale::default()), "2026-01-01 00:00");
        assert!(parse_local("2026-13-01", &london, Timestamp(0)).is_err());
        assert!(parse_local("tomorrow", &london, Timestamp(0)).is_err());
        assert_eq!(
            parse_local("now", &london, Timestamp(5)).unwrap(),
            Timestamp(5)
        );
    }
}
