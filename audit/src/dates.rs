//! Calendar dates (`YYYY-MM-DD`), months (`YYYY-MM`) and report periods,
//! converted to and from day numbers (days since 1970-01-01) with the
//! proleptic Gregorian calendar.
//!
//! A day number is either a UTC day (the ledger's `Timestamp::day`) or a
//! day in the network's local time (`Locale::local(time).day`, the genesis
//! zone table). People see local dates: [`Date::local`] is the one place an
//! instant becomes the date a shop would write on a receipt, and report
//! periods ([`Period::contains_local`]) start and end at local midnight.

use guild_ledger::programme::Locale;
use guild_ledger::types::{MS_PER_DAY, Timestamp};
use std::fmt;

/// A date that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    /// Not in the expected form.
    #[error("'{text}' is not a date of the form {form}")]
    Form {
        /// What was given.
        text: String,
        /// `YYYY-MM-DD` or `YYYY-MM`.
        form: &'static str,
    },
    /// A month or day out of range, or a year outside 1970..=9999.
    #[error("'{text}' is not a real date (years 1970 to 9999)")]
    Range {
        /// What was given.
        text: String,
    },
    /// The end of a period is before its start.
    #[error("the period ends ({to}) before it starts ({from})")]
    Reversed {
        /// The start.
        from: Date,
        /// The end.
        to: Date,
    },
}

/// A calendar day (UTC or local: see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: u32,
    month: u32,
    day: u32,
}

fn is_leap(year: u32) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Parses exactly `digits` ASCII digits.
fn number(text: &str, digits: usize) -> Option<u32> {
    (text.len() == digits && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

impl Date {
    /// A date from its parts, if it exists (years 1970..=9999).
    pub fn new(year: u32, month: u32, day: u32) -> Option<Date> {
        ((1970..=9999).contains(&year)
            && (1..=12).contains(&month)
            && (1..=days_in_month(year, month)).contains(&day))
        .then_some(Date { year, month, day })
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Result<Date, DateError> {
        let form = || DateError::Form {
            text: text.to_string(),
            form: "YYYY-MM-DD",
        };
        let mut parts = text.trim().split('-');
        let (Some(y), Some(m), Some(d), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(form());
        };
        let (Some(y), Some(m), Some(d)) = (number(y, 4), number(m, 2), number(d, 2)) else {
            return Err(form());
        };
        Date::new(y, m, d).ok_or_else(|| DateError::Range {
            text: text.to_string(),
        })
    }

    /// Days since 1970-01-01 (the ledger's `Timestamp::day`).
    pub fn day_number(self) -> u64 {
        // Howard Hinnant's days_from_civil, for years >= 1970 only.
        let y = u64::from(if self.month <= 2 {
            self.year - 1
        } else {
            self.year
        });
        let era = y / 400;
        let yoe = y - era * 400;
        let mp = u64::from((self.month + 9) % 12);
        let doy = (153 * mp + 2) / 5 + u64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date of a day number.
    pub fn from_day_number(days: u64) -> Date {
        let z = days + 719_468;
        let era = z / 146_097;
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + u64::from(month <= 2)) as u32;
        Date { year, month, day }
    }

    /// The year (1970..=9999).
    pub fn year(self) -> u32 {
        self.year
    }

    /// The month, 1 (January) to 12.
    pub fn month(self) -> u32 {
        self.month
    }

    /// The day of the month, 1 to 31.
    pub fn day(self) -> u32 {
        self.day
    }

    /// The month this date is in.
    pub fn month_of(self) -> Month {
        Month {
            year: self.year,
            month: self.month,
        }
    }

    /// The date an instant falls on (UTC).
    pub fn of(time: Timestamp) -> Date {
        Date::from_day_number(time.day())
    }

    /// The date an instant falls on in the network's local time: what a
    /// shop in that zone would write on a receipt.
    pub fn local(locale: &Locale, time: Timestamp) -> Date {
        Date::from_day_number(locale.local(time).day)
    }

    /// 00:00 UTC of this date.
    pub fn start(self) -> Timestamp {
        Timestamp::start_of_day(self.day_number())
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// A calendar month.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: u32,
    month: u32,
}

impl Month {
    /// Parses `YYYY-MM`.
    pub fn parse(text: &str) -> Result<Month, DateError> {
        let form = || DateError::Form {
            text: text.to_string(),
            form: "YYYY-MM",
        };
        let mut parts = text.trim().split('-');
        let (Some(y), Some(m), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(form());
        };
        let (Some(year), Some(month)) = (number(y, 4), number(m, 2)) else {
            return Err(form());
        };
        Date::new(year, month, 1)
            .map(|_| Month { year, month })
            .ok_or_else(|| DateError::Range {
                text: text.to_string(),
            })
    }

    /// The year.
    pub fn year(self) -> u32 {
        self.year
    }

    /// The month, 1 (January) to 12.
    pub fn month(self) -> u32 {
        self.month
    }

    /// Months since January 1970 (`1970-01` is 0): consecutive months have
    /// consecutive indexes.
    pub fn index(self) -> u32 {
        (self.year - 1970) * 12 + (self.month - 1)
    }

    /// The month of index `index` (see [`Month::index`]), if it is before
    /// the year 10000.
    pub fn from_index(index: u32) -> Option<Month> {
        let year = 1970u32.checked_add(index / 12)?;
        (year <= 9999).then_some(Month {
            year,
            month: index % 12 + 1,
        })
    }

    /// Its first day.
    pub fn first(self) -> Date {
        Date {
            year: self.year,
            month: self.month,
            day: 1,
        }
    }

    /// Its last day.
    pub fn last(self) -> Date {
        Date {
            year: self.year,
            month: self.month,
            day: days_in_month(self.year, self.month),
        }
    }

    /// The whole month as a period.
    pub fn period(self) -> Period {
        Period {
            from: Some(self.first()),
            to: Some(self.last()),
        }
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// Dates from `from` to `to`, both included; `None`: from genesis / to the
/// head. A block belongs to the period when its time falls on one of these
/// dates: in UTC for [`Period::is_before`] / [`Period::is_after`], in the
/// network's local time for [`Period::local_position`] (what the audit's
/// reports use).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Period {
    /// The first date.
    pub from: Option<Date>,
    /// The last date.
    pub to: Option<Date>,
}

impl Period {
    /// A period, checking that it does not end before it starts.
    pub fn new(from: Option<Date>, to: Option<Date>) -> Result<Period, DateError> {
        if let (Some(from), Some(to)) = (from, to)
            && to < from
        {
            return Err(DateError::Reversed { from, to });
        }
        Ok(Period { from, to })
    }

    /// The first instant of the period.
    pub fn start(&self) -> Timestamp {
        self.from.map_or(Timestamp(0), Date::start)
    }

    /// The first instant after the period, if it ends.
    pub fn end(&self) -> Option<Timestamp> {
        self.to
            .map(|d| Timestamp(d.day_number().saturating_add(1).saturating_mul(MS_PER_DAY)))
    }

    /// True if `time` is before the period.
    pub fn is_before(&self, time: Timestamp) -> bool {
        time < self.start()
    }

    /// True if `time` is after the period.
    pub fn is_after(&self, time: Timestamp) -> bool {
        self.end().is_some_and(|end| time >= end)
    }

    /// Where `time` lies against the period's dates in the network's local
    /// time: the period starts at local midnight of `from` and ends at local
    /// midnight after `to`.
    pub fn local_position(&self, locale: &Locale, time: Timestamp) -> Position {
        let day = locale.local(time).day;
        if self.from.is_some_and(|from| day < from.day_number()) {
            Position::Before
        } else if self.to.is_some_and(|to| day > to.day_number()) {
            Position::After
        } else {
            Position::Within
        }
    }

    /// True if `time` falls on one of the period's local dates.
    pub fn contains_local(&self, locale: &Locale, time: Timestamp) -> bool {
        self.local_position(locale, time) == Position::Within
    }
}

/// Where an instant lies against a [`Period`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    /// Before its first date.
    Before,
    /// On one of its dates.
    Within,
    /// After its last date.
    After,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers_match_known_dates() {
        for (text, days) in [
            ("1970-01-01", 0),
            ("1970-03-01", 59),
            ("2000-02-29", 11_016),
            ("2000-03-01", 11_017),
            ("2024-12-31", 20_088),
            ("2026-01-01", 20_454),
            ("9999-12-31", 2_932_896),
        ] {
            let date = Date::parse(text).unwrap();
            assert_eq!(date.day_number(), days, "{text}");
            assert_eq!(Date::from_day_number(days), date, "{text}");
            assert_eq!(date.to_string(), text);
        }
    }

    #[test]
    fn every_day_round_trips() {
        let mut previous = None;
        for days in 0..200_000u64 {
            let date = Date::from_day_number(days);
            assert_eq!(date.day_number(), days);
            assert!(previous < Some(date));
            previous = Some(date);
        }
    }

    #[test]
    fn bad_dates_are_refused() {
        for text in [
            "2026-1-01",
            "2026-01-1",
            "26-01-01",
            "2026/01/01",
            "2026-01-01-01",
            "",
            "+026-01-01",
        ] {
            assert!(
                matches!(Date::parse(text), Err(DateError::Form { .. })),
                "{text}"
            );
        }
        for text in ["2026-02-29", "2026-13-01", "2026-00-10", "1969-12-31"] {
            assert!(
                matches!(Date::parse(text), Err(DateError::Range { .. })),
                "{text}"
            );
        }
        assert!(Date::parse("2024-02-29").is_ok());
        assert!(Month::parse("2026-13").is_err());
        assert!(Month::parse("2026-3").is_err());
        let d = |t| Date::parse(t).unwrap();
        assert!(Period::new(Some(d("2026-02-01")), Some(d("2026-01-31"))).is_err());
    }

    #[test]
    fn months_have_consecutive_indexes() {
        let month = Date::parse("2026-03-15").unwrap().month_of();
        assert_eq!((month.year(), month.month()), (2026, 3));
        assert_eq!(month.index(), 56 * 12 + 2);
        assert_eq!(Month::from_index(month.index()), Some(month));
        assert_eq!(
            Month::from_index(month.index() + 10).unwrap().to_string(),
            "2027-01"
        );
        assert_eq!(Month::from_index(0).unwrap().to_string(), "1970-01");
        assert_eq!(Month::from_index(12 * 8030), None);
        let date = Date::parse("2024-02-29").unwrap();
        assert_eq!((date.year(), date.month(), date.day()), (2024, 2, 29));
    }

    #[test]
    fn months_and_periods_cover_whole_days() {
        let month = Month::parse("2024-02").unwrap();
        assert_eq!(month.last().to_string(), "2024-02-29");
        let period = month.period();
        let start = Date::parse("2024-02-01").unwrap().start();
        let next = Date::parse("2024-03-01").unwrap().start();
        assert!(period.is_before(Timestamp(start.0 - 1)));
        assert!(!period.is_before(start) && !period.is_after(start));
        assert!(!period.is_after(Timestamp(next.0 - 1)));
        assert!(period.is_after(next));
        let open = Period::default();
        assert!(!open.is_before(Timestamp(0)) && !open.is_after(Timestamp(u64::MAX)));
    }

    #[test]
    fn local_periods_start_at_local_midnight() {
        use guild_ledger::programme::ZoneOffset;
        // UTC−5 all year: 2026-02-01 03:00 UTC is still 31 January locally.
        let new_york = Locale {
            zone: vec![ZoneOffset {
                from: Timestamp(0),
                offset_minutes: -300,
            }],
            ..Locale::default()
        };
        let at = Timestamp(Date::parse("2026-02-01").unwrap().start().0 + 3 * 3_600_000);
        assert_eq!(Date::of(at).to_string(), "2026-02-01");
        assert_eq!(Date::local(&new_york, at).to_string(), "2026-01-31");
        let january = Month::parse("2026-01").unwrap().period();
        let february = Month::parse("2026-02").unwrap().period();
        assert!(january.contains_local(&new_york, at));
        assert_eq!(february.local_position(&new_york, at), Position::Before);
        assert!(february.contains_local(&Locale::default(), at));
        assert_eq!(
            january.local_position(&Locale::default(), at),
            Position::After
        );
    }
}
