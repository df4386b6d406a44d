//! The checked values of a directory entry: a customer's name, email
//! address, birthday and note, and the calendar date a birthday falls on.
//!
//! Each is a newtype that can only hold a valid value: it is checked when
//! made from text ([`CustomerName::new`], [`Email::new`], `Birthday::from_str`,
//! [`Note::new`]) and again when read from JSON (`serde(try_from)`), so a
//! node never stores, and a client never sends, a value the other side
//! would refuse. The same functions check a request on the node, a
//! command line in `guild customer`, and the node's file when it is read.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The longest customer name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// The longest email address, in bytes (RFC 5321's path limit).
pub const MAX_EMAIL_BYTES: usize = 254;
/// The longest local part of an email address (before the `@`), in bytes.
pub const MAX_EMAIL_LOCAL_BYTES: usize = 64;
/// The longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 280;
/// The earliest birth year accepted.
pub const MIN_BIRTH_YEAR: u16 = 1900;
/// The latest birth year accepted.
pub const MAX_BIRTH_YEAR: u16 = 2100;

/// A value of a directory entry that is not acceptable. [`FieldError::code`]
/// is the API's error code for it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    /// A name that is empty, too long or holds control characters.
    #[error(
        "a customer's name must be 1 to {MAX_NAME_CHARS} characters, without tabs or line breaks"
    )]
    BadName,
    /// Text that is not shaped like an email address.
    #[error("'{text}' is not an email address ({reason}): write it like name@example.com")]
    BadEmail {
        /// The text given (at most 80 characters of it).
        text: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Text that is not a birthday.
    #[error(
        "'{text}' is not a birthday ({reason}): write the month and day as MM-DD (03-14), or with the year as YYYY-MM-DD (1984-03-14)"
    )]
    BadBirthday {
        /// The text given (at most 40 characters of it).
        text: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A note that is empty, too long or holds control characters.
    #[error("a note must be 1 to {MAX_NOTE_CHARS} characters, without tabs or line breaks")]
    BadNote,
}

impl FieldError {
    /// The API's stable code for the error (`bad_name`, `bad_email`,
    /// `bad_birthday`, `bad_note`).
    pub fn code(&self) -> &'static str {
        use crate::error::code;
        match self {
            FieldError::BadName => code::BAD_NAME,
            FieldError::BadEmail { .. } => code::BAD_EMAIL,
            FieldError::BadBirthday { .. } => code::BAD_BIRTHDAY,
            FieldError::BadNote => code::BAD_NOTE,
        }
    }
}

fn clip(text: &str, chars: usize) -> String {
    text.chars().take(chars).collect()
}

/// Trimmed text of 1 to `max` characters with no control character.
fn short_text(text: &str, max: usize) -> Option<String> {
    let text = text.trim();
    let count = text.chars().count();
    ((1..=max).contains(&count) && !text.chars().any(char::is_control)).then(|| text.to_string())
}

/// A customer's name as the shop writes it (`Mrs Lee`): 1 to
/// [`MAX_NAME_CHARS`] characters, trimmed, no control characters.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "Mrs Lee")]
pub struct CustomerName(String);

impl CustomerName {
    /// Checks and trims `text`.
    pub fn new(text: &str) -> Result<CustomerName, FieldError> {
        short_text(text, MAX_NAME_CHARS)
            .map(CustomerName)
            .ok_or(FieldError::BadName)
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A short note of the shop's about the customer (`prefers oat milk`): 1
/// to [`MAX_NOTE_CHARS`] characters, trimmed, no control characters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "prefers oat milk")]
pub struct Note(String);

impl Note {
    /// Checks and trims `text`.
    pub fn new(text: &str) -> Result<Note, FieldError> {
        short_text(text, MAX_NOTE_CHARS)
            .map(Note)
            .ok_or(FieldError::BadNote)
    }

    /// The note.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An email address of the usual shape `local@domain.tld`, trimmed, with
/// the domain in lower case. Only the shape is checked (whether mail
/// arrives is not knowable here): one `@`; a local part of 1 to 64 bytes
/// of letters, digits and ``!#$%&'*+/=?^_`{|}~.-`` without a leading,
/// trailing or doubled dot; a domain of at least two labels of letters,
/// digits and inner hyphens, each 1 to 63 bytes, the last not all digits;
/// at most [`MAX_EMAIL_BYTES`] bytes in all. Letters may be non-ASCII
/// (internationalised addresses).
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, format = "email", example = "lee@example.com")]
pub struct Email(String);

impl Email {
    /// Checks `text` and puts the domain in lower case.
    pub fn new(text: &str) -> Result<Email, FieldError> {
        let text = text.trim();
        let bad = |reason: &'static str| FieldError::BadEmail {
            text: clip(text, 80),
            reason,
        };
        if text.len() > MAX_EMAIL_BYTES {
            return Err(bad("longer than 254 bytes"));
        }
        let (local, domain) = match text.split_once('@') {
            Some((local, domain)) if !domain.contains('@') => (local, domain),
            Some(_) => return Err(bad("more than one @")),
            None => return Err(bad("no @")),
        };
        if local.is_empty() || local.len() > MAX_EMAIL_LOCAL_BYTES {
            return Err(bad("the part before the @ must be 1 to 64 bytes"));
        }
        let local_char = |c: char| c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c);
        if !local.chars().all(local_char) {
            return Err(bad("a character that cannot be in an address"));
        }
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return Err(bad(
                "a dot at the start or end of the name, or two dots in a row",
            ));
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 {
            return Err(bad("the domain after the @ needs a dot, as in example.com"));
        }
        for label in &labels {
            let fits = (1..=63).contains(&label.len())
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-');
            if !fits {
                return Err(bad("the domain after the @ is not a domain name"));
            }
        }
        if labels
            .last()
            .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()))
        {
            return Err(bad("the domain ends in a number"));
        }
        Ok(Email(format!("{local}@{}", domain.to_lowercase())))
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether `year` is a leap year of the Gregorian calendar.
pub fn is_leap_year(year: u16) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

/// The days of `month` (1–12) in `year`; February has 29 when the year
/// is unknown (`None`), so a birthday of 29 February can be written
/// without a year.
fn days_in_month(month: u8, year: Option<u16>) -> u8 {
    match month {
        2 => match year {
            Some(year) if !is_leap_year(year) => 28,
            _ => 29,
        },
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A day of the Gregorian calendar, such as the shop's local date today.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CalendarDate {
    /// The year.
    pub year: u16,
    /// The month, 1 to 12.
    pub month: u8,
    /// The day of the month, 1 to 31.
    pub day: u8,
}

impl CalendarDate {
    /// The date, if it exists (`2026-02-29` does not).
    pub fn new(year: u16, month: u8, day: u8) -> Option<CalendarDate> {
        ((1..=12).contains(&month) && (1..=days_in_month(month, Some(year))).contains(&day))
            .then_some(CalendarDate { year, month, day })
    }

    /// The date `days` days after 1970-01-01: a ledger local day
    /// (`Locale::local(time).day`) as a calendar date. (Howard Hinnant's
    /// `civil_from_days`.) Days past the year 65535 give its last day.
    pub fn from_days(days: u64) -> CalendarDate {
        /// 65535-12-31, the last day a `u16` year can hold.
        const LAST_DAY: u64 = 23_217_003;
        if days >= LAST_DAY {
            return CalendarDate {
                year: u16::MAX,
                month: 12,
                day: 31,
            };
        }
        // Below LAST_DAY, every figure fits an i64 and the year a u16.
        let days = days as i64 + 719_468;
        let era = days / 146_097;
        let day_of_era = days - era * 146_097;
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let shifted_month = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
        let month = if shifted_month < 10 {
            shifted_month + 3
        } else {
            shifted_month - 9
        };
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        CalendarDate {
            year: year as u16,
            month: month as u8,
            day: day as u8,
        }
    }
}

impl fmt::Display for CalendarDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// A customer's birthday: month and day, and the year if the customer
/// gave it. Written `MM-DD` (`03-14`) or `YYYY-MM-DD` (`1984-03-14`).
///
/// **29 February** can be given with or without a year (the year must be
/// a leap year). In a year without 29 February, such a birthday is kept
/// on **28 February** ([`Birthday::falls_on`]), so it stays in the
/// customer's own month and is celebrated once every year.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Birthday {
    year: Option<u16>,
    month: u8,
    day: u8,
}

impl Birthday {
    /// A birthday of `month` and `day` (and `year`, if known), if it is a
    /// real date.
    pub fn new(year: Option<u16>, month: u8, day: u8) -> Result<Birthday, FieldError> {
        let text = match year {
            Some(year) => format!("{year:04}-{month:02}-{day:02}"),
            None => format!("{month:02}-{day:02}"),
        };
        let bad = |reason: String| FieldError::BadBirthday {
            text: text.clone(),
            reason,
        };
        if let Some(year) = year
            && !(MIN_BIRTH_YEAR..=MAX_BIRTH_YEAR).contains(&year)
        {
            return Err(bad(format!(
                "the year must be from {MIN_BIRTH_YEAR} to {MAX_BIRTH_YEAR}"
            )));
        }
        if !(1..=12).contains(&month) {
            return Err(bad(format!("there is no month {month}")));
        }
        let last = days_in_month(month, year);
        if !(1..=last).contains(&day) {
            let reason = if month == 2 && day == 29 {
                format!("{} is not a leap year", year.unwrap_or_default())
            } else {
                format!("month {month} has {last} days")
            };
            return Err(bad(reason));
        }
        Ok(Birthday { year, month, day })
    }

    /// The year, if the customer gave it.
    pub fn year(&self) -> Option<u16> {
        self.year
    }

    /// The month, 1 to 12.
    pub fn month(&self) -> u8 {
        self.month
    }

    /// The same month and day, without the year.
    pub fn without_year(&self) -> Birthday {
        Birthday {
            year: None,
            ..*self
        }
    }

    /// The day of the month.
    pub fn day(&self) -> u8 {
        self.day
    }

    /// Whether the birthday is celebrated on `date`: the same month and
    /// day, or 28 February in a year without 29 February for a birthday of
    /// 29 February.
    pub fn falls_on(&self, date: CalendarDate) -> bool {
        if (self.month, self.day) == (date.month, date.day) {
            return true;
        }
        (self.month, self.day) == (2, 29)
            && (date.month, date.day) == (2, 28)
            && !is_leap_year(date.year)
    }
}

impl utoipa::PartialSchema for Birthday {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some("^([0-9]{4}-)?[0-9]{2}-[0-9]{2}$"))
            .description(Some(
                "MM-DD, or YYYY-MM-DD with the year; 29 February is kept on 28 February in other years",
            ))
            .examples(["03-14"])
            .into()
    }
}

impl utoipa::ToSchema for Birthday {}

impl FromStr for Birthday {
    type Err = FieldError;

    fn from_str(text: &str) -> Result<Birthday, FieldError> {
        let text = text.trim();
        let bad = |reason: &str| FieldError::BadBirthday {
            text: clip(text, 40),
            reason: reason.to_string(),
        };
        let parts: Vec<&str> = text.split('-').collect();
        let number = |part: &str, digits: usize| -> Option<u16> {
            (part.len() == digits && part.bytes().all(|b| b.is_ascii_digit()))
                .then(|| part.parse().ok())
                .flatten()
        };
        let (year, month, day) = match parts.as_slice() {
            [month, day] => (None, number(month, 2), number(day, 2)),
            [year, month, day] => {
                let year = number(year, 4).ok_or_else(|| bad("the year needs 4 digits"))?;
                (Some(year), number(month, 2), number(day, 2))
            }
            _ => return Err(bad("not MM-DD or YYYY-MM-DD")),
        };
        let (Some(month), Some(day)) = (month, day) else {
            return Err(bad("the month and the day need 2 digits each"));
        };
        Birthday::new(year, month as u8, day as u8)
    }
}

impl fmt::Display for Birthday {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(year) = self.year {
            write!(f, "{year:04}-")?;
        }
        write!(f, "{:02}-{:02}", self.month, self.day)
    }
}

macro_rules! string_conversions {
    ($type:ty, $make:expr) => {
        impl TryFrom<String> for $type {
            type Error = FieldError;
            fn try_from(text: String) -> Result<$type, FieldError> {
                $make(&text)
            }
        }

        impl From<$type> for String {
            fn from(value: $type) -> String {
                value.to_string()
            }
        }
    };
}

string_conversions!(CustomerName, CustomerName::new);
string_conversions!(Email, Email::new);
string_conversions!(Note, Note::new);
string_conversions!(Birthday, Birthday::from_str);

impl fmt::Display for CustomerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_notes_are_trimmed_and_bounded() {
        assert_eq!(CustomerName::new("  Mrs Lee ").unwrap().as_str(), "Mrs Lee");
        assert_eq!(
            CustomerName::new("Zoë Ó Briain").unwrap().as_str(),
            "Zoë Ó Briain"
        );
        assert!(CustomerName::new(&"é".repeat(MAX_NAME_CHARS)).is_ok());
        for bad in [
            "",
            "   ",
            "Mrs\nLee",
            "tab\there",
            "\u{7}",
            &"x".repeat(MAX_NAME_CHARS + 1),
        ] {
            assert_eq!(CustomerName::new(bad), Err(FieldError::BadName), "{bad:?}");
        }
        assert!(Note::new(&"n".repeat(MAX_NOTE_CHARS)).is_ok());
        assert_eq!(
            Note::new(&"n".repeat(MAX_NOTE_CHARS + 1)),
            Err(FieldError::BadNote)
        );
        assert_eq!(Note::new("two\nlines"), Err(FieldError::BadNote));
        assert_eq!(FieldError::BadName.code(), "bad_name");
        assert_eq!(FieldError::BadNote.code(), "bad_note");
    }

    #[test]
    fn emails_of_the_usual_shape_are_accepted_and_their_domain_lowered() {
        for (given, kept) in [
            ("lee@example.com", "lee@example.com"),
            (
                " Lee.Ann+cakes@Example.CO.uk ",
                "Lee.Ann+cakes@example.co.uk",
            ),
            ("o'brien@mail.example.ie", "o'brien@mail.example.ie"),
            ("zoë@exämple.de", "zoë@exämple.de"),
            ("a@b.io", "a@b.io"),
            (
                "x_y-z@sub-domain.example.org",
                "x_y-z@sub-domain.example.org",
            ),
        ] {
            assert_eq!(Email::new(given).unwrap().as_str(), kept, "{given}");
        }
    }

    #[test]
    fn emails_of_another_shape_are_refused_with_the_reason() {
        let long_local = format!("{}@example.com", "a".repeat(65));
        let long = format!("a@{}.com", "b".repeat(250));
        let long_label = format!("a@{}.com", "b".repeat(64));
        for (bad, reason) in [
            ("", "no @"),
            ("lee", "no @"),
            (
                "lee@",
                "the domain after the @ needs a dot, as in example.com",
            ),
            (
                "@example.com",
                "the part before the @ must be 1 to 64 bytes",
            ),
            ("lee@@example.com", "more than one @"),
            (
                "lee@example",
                "the domain after the @ needs a dot, as in example.com",
            ),
            (
                "lee@example.",
                "the domain after the @ is not a domain name",
            ),
            (
                "lee@.example.com",
                "the domain after the @ is not a domain name",
            ),
            (
                "lee@-example.com",
                "the domain after the @ is not a domain name",
            ),
            (
                "lee@exa_mple.com",
                "the domain after the @ is not a domain name",
            ),
            ("lee@10.0.0.1", "the domain ends in a number"),
            (
                "mrs lee@example.com",
                "a character that cannot be in an address",
            ),
            (
                "lee\"@example.com",
                "a character that cannot be in an address",
            ),
            (
                ".lee@example.com",
                "a dot at the start or end of the name, or two dots in a row",
            ),
            (
                "lee.@example.com",
                "a dot at the start or end of the name, or two dots in a row",
            ),
            (
                "le..e@example.com",
                "a dot at the start or end of the name, or two dots in a row",
            ),
            (&long_local, "the part before the @ must be 1 to 64 bytes"),
            (&long, "longer than 254 bytes"),
            (&long_label, "the domain after the @ is not a domain name"),
        ] {
            match Email::new(bad) {
                Err(FieldError::BadEmail { reason: got, .. }) => assert_eq!(got, reason, "{bad}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
        let error = Email::new("lee").unwrap_err();
        assert_eq!(error.code(), "bad_email");
        assert!(error.to_string().contains("name@example.com"), "{error}");
    }

    #[test]
    fn birthdays_parse_with_or_without_the_year() {
        let b: Birthday = "03-14".parse().unwrap();
        assert_eq!((b.year(), b.month(), b.day()), (None, 3, 14));
        assert_eq!(b.to_string(), "03-14");
        let b: Birthday = " 1984-03-14 ".parse().unwrap();
        assert_eq!((b.year(), b.month(), b.day()), (Some(1984), 3, 14));
        assert_eq!(b.to_string(), "1984-03-14");
        assert!("12-31".parse::<Birthday>().is_ok());
        assert!("04-30".parse::<Birthday>().is_ok());
    }

    #[test]
    fn impossible_birthdays_are_refused_with_the_reason() {
        for (bad, reason) in [
            ("", "not MM-DD or YYYY-MM-DD"),
            ("14/03", "not MM-DD or YYYY-MM-DD"),
            ("3-14", "the month and the day need 2 digits each"),
            ("03-1a", "the month and the day need 2 digits each"),
            ("84-03-14", "the year needs 4 digits"),
            ("13-01", "there is no month 13"),
            ("00-10", "there is no month 0"),
            ("04-31", "month 4 has 30 days"),
            ("02-30", "month 2 has 29 days"),
            ("01-00", "month 1 has 31 days"),
            ("2023-02-29", "2023 is not a leap year"),
            ("1900-02-29", "1900 is not a leap year"),
            ("1899-05-01", "the year must be from 1900 to 2100"),
            ("2101-05-01", "the year must be from 1900 to 2100"),
            ("1984-03-14-01", "not MM-DD or YYYY-MM-DD"),
        ] {
            match bad.parse::<Birthday>() {
                Err(FieldError::BadBirthday { reason: got, .. }) => {
                    assert_eq!(got, reason, "{bad}")
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
        assert_eq!(
            "13-01".parse::<Birthday>().unwrap_err().code(),
            "bad_birthday"
        );
    }

    #[test]
    fn the_29th_of_february_is_kept_on_the_28th_in_other_years() {
        let leapling: Birthday = "02-29".parse().unwrap();
        assert_eq!(
            leapling,
            "2000-02-29".parse::<Birthday>().unwrap().without_year()
        );
        let date = |y, m, d| CalendarDate::new(y, m, d).unwrap();
        assert!(leapling.falls_on(date(2028, 2, 29)));
        assert!(
            !leapling.falls_on(date(2028, 2, 28)),
            "a leap year has the day itself"
        );
        assert!(leapling.falls_on(date(2027, 2, 28)));
        assert!(
            leapling.falls_on(date(2100, 2, 28)),
            "2100 is not a leap year"
        );
        assert!(!leapling.falls_on(date(2000, 2, 28)), "2000 is");
        assert!(!leapling.falls_on(date(2027, 3, 1)));
        let ordinary: Birthday = "1984-02-28".parse().unwrap();
        assert!(ordinary.falls_on(date(2027, 2, 28)));
        assert!(ordinary.falls_on(date(2028, 2, 28)));
        assert!(!ordinary.falls_on(date(2028, 2, 29)));
        assert!(CalendarDate::new(2027, 2, 29).is_none());
    }

    #[test]
    fn ledger_days_become_calendar_dates() {
        assert_eq!(CalendarDate::from_days(0).to_string(), "1970-01-01");
        assert_eq!(CalendarDate::from_days(59).to_string(), "1970-03-01");
        // 2026-12-01 is day 20788; 2028-02-29 is day 21243.
        assert_eq!(CalendarDate::from_days(20_788).to_string(), "2026-12-01");
        assert_eq!(CalendarDate::from_days(21_243).to_string(), "2028-02-29");
        assert_eq!(CalendarDate::from_days(21_244).to_string(), "2028-03-01");
        assert_eq!(
            CalendarDate::from_days(23_217_002).to_string(),
            "65535-12-30"
        );
        assert_eq!(
            CalendarDate::from_days(23_217_003).to_string(),
            "65535-12-31"
        );
        assert_eq!(CalendarDate::from_days(u64::MAX).to_string(), "65535-12-31");
        // Every day of a leap year and the next, in order.
        let mut previous = CalendarDate::from_days(21_183);
        assert_eq!(previous.to_string(), "2027-12-31");
        for day in 21_184..21_184 + 366 + 365 {
            let date = CalendarDate::from_days(day);
            assert_eq!(
                CalendarDate::new(date.year, date.month, date.day),
                Some(date)
            );
            assert!(date > previous, "{date} after {previous}");
            previous = date;
        }
        assert_eq!(previous.to_string(), "2029-12-31");
    }

    #[test]
    fn values_are_checked_when_read_from_json() {
        let b: Birthday = serde_json::from_str("\"02-29\"").unwrap();
        assert_eq!(serde_json::to_string(&b).unwrap(), "\"02-29\"");
        assert!(serde_json::from_str::<Birthday>("\"02-30\"").is_err());
        assert!(serde_json::from_str::<Email>("\"not an email\"").is_err());
        assert!(serde_json::from_str::<CustomerName>("\"\"").is_err());
        let e: Email = serde_json::from_str("\"Lee@EXAMPLE.com\"").unwrap();
        assert_eq!(e.as_str(), "Lee@example.com");
    }
}
