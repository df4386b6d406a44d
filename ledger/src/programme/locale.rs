//! Money and local time, pinned in the ledger so every node agrees.
//!
//! Day-of-week and hour-of-day filters ("double points before 9") must give
//! the same answer on every node, so the network's time zone is not the
//! host's time-zone database but a table of fixed UTC offsets with the
//! instant each takes effect (summer time is two entries a year), fixed at
//! genesis. The currency says how amounts in minor units are shown.

use crate::types::{Cents, MS_PER_DAY, Timestamp};

/// The network's currency and time zone.
#[derive(
    Clone,
    Debug,
    PartialEq,
    Eq,
    bincode::Encode,
    bincode::Decode,
    serde::Serialize,
    serde::Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Locale {
    /// The currency amounts are in.
    pub currency: Currency,
    /// Offsets from UTC, each from an instant on, sorted by `from`. Before
    /// the first entry (or with none) local time is UTC.
    pub zone: Vec<ZoneOffset>,
}

/// A currency: ISO 4217 code, symbol, and digits after the decimal point.
#[derive(
    Clone,
    Debug,
    PartialEq,
    Eq,
    bincode::Encode,
    bincode::Decode,
    serde::Serialize,
    serde::Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Currency {
    /// ISO 4217 code, e.g. `GBP`.
    pub code: String,
    /// Symbol, e.g. `£`.
    pub symbol: String,
    /// Minor units per major unit as a power of ten (2 for pence).
    pub minor_units: u8,
}

/// A fixed UTC offset in force from an instant on.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    bincode::Encode,
    bincode::Decode,
    serde::Serialize,
    serde::Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ZoneOffset {
    /// The first instant (UTC) the offset applies.
    pub from: Timestamp,
    /// Minutes east of UTC (60 for UTC+1, -300 for UTC-5).
    pub offset_minutes: i16,
}

/// One instant in the network's local time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalTime {
    /// Local day number (days since 1970-01-01 in local time).
    pub day: u64,
    /// Day of the week, Monday = 0 … Sunday = 6.
    pub weekday: u8,
    /// Hour of the day, 0 to 23.
    pub hour: u8,
}

/// Why a locale was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocaleError {
    /// The currency code is not three upper-case letters.
    #[error("currency code {0:?} must be three upper-case letters, e.g. GBP")]
    BadCurrencyCode(String),
    /// The symbol is empty or too long.
    #[error("currency symbol must be 1 to 4 characters")]
    BadSymbol,
    /// Too many digits after the decimal point.
    #[error("minor units must be 0 to 4, got {0}")]
    BadMinorUnits(u8),
    /// The zone table is not sorted, too long, or an offset is beyond ±14 h.
    #[error(
        "time zone table must have at most 256 entries, sorted by time, offsets within ±14 hours"
    )]
    BadZone,
}

/// Most entries in a zone table (a century of summer time).
pub const MAX_ZONE_ENTRIES: usize = 256;

impl Default for Locale {
    /// Pounds sterling, UTC.
    fn default() -> Locale {
        Locale {
            currency: Currency {
                code: "GBP".into(),
                symbol: "£".into(),
                minor_units: 2,
            },
            zone: Vec::new(),
        }
    }
}

impl Locale {
    /// Checks the currency and the zone table.
    pub fn validate(&self) -> Result<(), LocaleError> {
        let code = &self.currency.code;
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(LocaleError::BadCurrencyCode(code.clone()));
        }
        let symbol = self.currency.symbol.chars().count();
        if symbol == 0 || symbol > 4 || self.currency.symbol.chars().any(char::is_control) {
            return Err(LocaleError::BadSymbol);
        }
        if self.currency.minor_units > 4 {
            return Err(LocaleError::BadMinorUnits(self.currency.minor_units));
        }
        let sorted = self.zone.windows(2).all(|w| w[0].from < w[1].from);
        let in_range = self.zone.iter().all(|z| z.offset_minutes.abs() <= 14 * 60);
        if self.zone.len() > MAX_ZONE_ENTRIES || !sorted || !in_range {
            return Err(LocaleError::BadZone);
        }
        Ok(())
    }

    /// The UTC offset in force at `time`, in minutes.
    pub fn offset_at(&self, time: Timestamp) -> i16 {
        self.zone
            .iter()
            .take_while(|z| z.from <= time)
            .last()
            .map_or(0, |z| z.offset_minutes)
    }

    /// `time` in local time.
    pub fn local(&self, time: Timestamp) -> LocalTime {
        let offset_ms = i64::from(self.offset_at(time)) * 60_000;
        let local = if offset_ms >= 0 {
            time.0.saturating_add(offset_ms.unsigned_abs())
        } else {
            time.0.saturating_sub(offset_ms.unsigned_abs())
        };
        let day = local / MS_PER_DAY;
        LocalTime {
            day,
            // 1970-01-01 was a Thursday (Monday = 0, so Thursday = 3).
            weekday: ((day + 3) % 7) as u8,
            hour: ((local % MS_PER_DAY) / 3_600_000) as u8,
        }
    }

    /// An amount as people write it: `£12.50`. The one money formatter:
    /// every output for people goes through it (or [`Locale::signed_money`]).
    pub fn money(&self, amount: Cents) -> String {
        format!("{}{}", self.currency.symbol, self.decimal(amount))
    }

    /// A signed amount: `-£3.50` for money owed, `£3.50` otherwise.
    pub fn signed_money(&self, amount: i128) -> String {
        let sign = if amount < 0 { "-" } else { "" };
        format!(
            "{sign}{}{}",
            self.currency.symbol,
            self.decimal_u128(amount.unsigned_abs())
        )
    }

    /// An amount without the symbol, with the currency's decimals (`12.50`):
    /// what a spreadsheet reads as a number.
    pub fn decimal(&self, amount: Cents) -> String {
        self.decimal_u128(u128::from(amount.0))
    }

    /// A signed amount without the symbol (`-12.50`).
    pub fn signed_decimal(&self, amount: i128) -> String {
        let sign = if amount < 0 { "-" } else { "" };
        format!("{sign}{}", self.decimal_u128(amount.unsigned_abs()))
    }

    fn decimal_u128(&self, amount: u128) -> String {
        let digits = u32::from(self.currency.minor_units);
        if digits == 0 {
            return amount.to_string();
        }
        let unit = 10u128.pow(digits);
        format!(
            "{}.{:0width$}",
            amount / unit,
            amount % unit,
            width = digits as usize
        )
    }

    /// Parses an amount in major units (`12.50`, `12`, `0.5`) into minor
    /// units, refusing more decimals than the currency has.
    pub fn parse_money(&self, text: &str) -> Option<Cents> {
        parse_minor(text, self.currency.minor_units)
    }
}

/// Why a number typed by a person (an amount of money, a number of points)
/// was refused. The one rule for every number Guild reads from a person or
/// a till: digits, and for money a dot as the decimal separator; no
/// thousands separators, no currency sign, no sign. Anything else is
/// refused (never guessed: `12,50` could mean 12.50 or 1250).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    /// Nothing was given.
    #[error("it is empty: {}", form(*.decimals))]
    Empty {
        /// Decimals allowed (0: a whole number).
        decimals: u8,
    },
    /// A minus sign.
    #[error("it cannot be negative: {}", form(*.decimals))]
    Negative {
        /// Decimals allowed.
        decimals: u8,
    },
    /// A comma, a space, an underscore or an apostrophe between digits.
    #[error("{} (no thousands separators, and a dot for decimals): {}", separator_hint(.text, *.decimals), form(*.decimals))]
    Separator {
        /// The text as given (trimmed).
        text: String,
        /// Decimals allowed.
        decimals: u8,
    },
    /// More decimals than allowed.
    #[error("{}", too_precise(*.decimals))]
    TooManyDecimals {
        /// Decimals allowed.
        decimals: u8,
    },
    /// Letters, a currency sign, an exponent, several dots…
    #[error("it is not a number: {}", form(*.decimals))]
    NotANumber {
        /// Decimals allowed.
        decimals: u8,
    },
    /// More than a `u64` holds.
    #[error("it is too large")]
    TooLarge,
}

fn form(decimals: u8) -> String {
    match decimals {
        0 => "write a whole number with digits only, such as 1000".to_string(),
        d => format!(
            "write digits with a dot before at most {d} decimals, such as {}",
            example(d)
        ),
    }
}

fn example(decimals: u8) -> String {
    match decimals {
        0 => "1000".to_string(),
        d => format!(
            "12.{}",
            "50".chars()
                .chain(std::iter::repeat('0'))
                .take(usize::from(d))
                .collect::<String>()
        ),
    }
}

fn too_precise(decimals: u8) -> String {
    match decimals {
        0 => "it must be a whole number, such as 1000".to_string(),
        d => format!("give at most {d} decimals, such as {}", example(d)),
    }
}

/// "for 1000 write 1000" / "for 12.50 write 12.50; for 1250 write 1250":
/// what the person may have meant, offered rather than guessed.
fn separator_hint(text: &str, decimals: u8) -> String {
    let plain = |t: &str| -> String {
        t.chars()
            .filter(|c| c.is_ascii_digit() || *c == '.')
            .collect()
    };
    let whole_number = plain(text);
    match text.rsplit_once(',') {
        Some((head, tail))
            if decimals > 0
                && !text.contains('.')
                && !tail.is_empty()
                && tail.len() <= usize::from(decimals)
                && tail.bytes().all(|b| b.is_ascii_digit()) =>
        {
            let decimal = format!("{}.{tail}", plain(head));
            format!("for {decimal} write {decimal}; for {whole_number} write {whole_number}")
        }
        _ => format!("for {whole_number} write {whole_number}"),
    }
}

/// Parses a number with at most `decimals` decimals into minor units
/// (`12.50` with 2 decimals → 1250; `.5` → 50; `12` → 1200), by the one
/// rule of [`NumberError`].
pub fn parse_decimal(text: &str, decimals: u8) -> Result<u64, NumberError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(NumberError::Empty { decimals });
    }
    if text.starts_with('-') {
        return Err(NumberError::Negative { decimals });
    }
    let is_separator = |c: char| matches!(c, ',' | '_' | ' ' | '\'' | '\u{a0}');
    let digits_around = text.contains(is_separator)
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || is_separator(c));
    if digits_around {
        return Err(NumberError::Separator {
            text: text.to_string(),
            decimals,
        });
    }
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && frac.is_empty()) || !all_digits(whole) || !all_digits(frac) {
        return Err(NumberError::NotANumber { decimals });
    }
    if frac.len() > usize::from(decimals) || (decimals == 0 && text.contains('.')) {
        return Err(NumberError::TooManyDecimals { decimals });
    }
    let unit = 10u64
        .checked_pow(u32::from(decimals))
        .ok_or(NumberError::TooLarge)?;
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| NumberError::TooLarge)?
    };
    let mut minor: u64 = if frac.is_empty() {
        0
    } else {
        frac.parse().map_err(|_| NumberError::TooLarge)?
    };
    for _ in frac.len()..usize::from(decimals) {
        minor = minor.checked_mul(10).ok_or(NumberError::TooLarge)?;
    }
    whole
        .checked_mul(unit)
        .and_then(|w| w.checked_add(minor))
        .ok_or(NumberError::TooLarge)
}

/// Parses `12.50` into minor units with `digits` decimals ([`parse_decimal`]
/// without the reason).
pub fn parse_minor(text: &str, digits: u8) -> Option<Cents> {
    parse_decimal(text, digits).ok().map(Cents)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn london() -> Locale {
        // 2026: summer time from 29 March 01:00 UTC to 25 October 01:00 UTC.
        Locale {
            zone: vec![
                ZoneOffset {
                    from: Timestamp(1_774_746_000_000),
                    offset_minutes: 60,
                },
                ZoneOffset {
                    from: Timestamp(1_792_890_000_000),
                    offset_minutes: 0,
                },
            ],
            ..Locale::default()
        }
    }

    #[test]
    fn weekdays_and_hours_follow_the_offset_table() {
        let l = london();
        // 2026-07-01 07:30 UTC is a Wednesday, 08:30 in London.
        let t = Timestamp(1_782_891_000_000);
        assert_eq!(l.local(t).weekday, 2);
        assert_eq!(l.local(t).hour, 8);
        // 2026-12-01 08:30 UTC, winter: 08:30 local, a Tuesday.
        let t = Timestamp(1_796_113_800_000);
        assert_eq!(l.local(t).hour, 8);
        assert_eq!(l.local(t).weekday, 1);
        // 1970-01-01 was a Thursday.
        assert_eq!(Locale::default().local(Timestamp(0)).weekday, 3);
    }

    #[test]
    fn a_negative_offset_moves_the_day_back() {
        let l = Locale {
            zone: vec![ZoneOffset {
                from: Timestamp(0),
                offset_minutes: -300,
            }],
            ..Locale::default()
        };
        let t = Timestamp(MS_PER_DAY * 10 + 3_600_000); // 01:00 UTC on day 10
        assert_eq!(l.local(t).day, 9);
        assert_eq!(l.local(t).hour, 20);
    }

    #[test]
    fn money_parses_and_prints_in_minor_units() {
        let l = Locale::default();
        assert_eq!(l.parse_money("12.50"), Some(Cents(1250)));
        assert_eq!(l.parse_money("12.5"), Some(Cents(1250)));
        assert_eq!(l.parse_money("12"), Some(Cents(1200)));
        assert_eq!(l.parse_money(".5"), Some(Cents(50)));
        assert_eq!(l.parse_money("12.505"), None);
        assert_eq!(l.parse_money("-1"), None);
        assert_eq!(l.parse_money("1e3"), None);
        assert_eq!(l.parse_money(""), None);
        assert_eq!(l.parse_money("."), None);
        assert_eq!(l.parse_money("12,50"), None);
        assert_eq!(l.parse_money("1,000"), None);
        assert_eq!(l.money(Cents(1250)), "£12.50");
        assert_eq!(l.money(Cents(5)), "£0.05");
        assert_eq!(l.decimal(Cents(5)), "0.05");
        assert_eq!(l.signed_money(-350), "-£3.50");
        assert_eq!(l.signed_money(350), "£3.50");
        assert_eq!(l.signed_decimal(-5), "-0.05");
        let yen = Locale {
            currency: Currency {
                code: "JPY".into(),
                symbol: "¥".into(),
                minor_units: 0,
            },
            zone: Vec::new(),
        };
        assert_eq!(yen.money(Cents(1250)), "¥1250");
        assert_eq!(yen.signed_money(-7), "-¥7");
    }

    #[test]
    fn bad_locales_are_refused() {
        let mut l = Locale::default();
        l.currency.code = "gbp".into();
        assert!(matches!(l.validate(), Err(LocaleError::BadCurrencyCode(_))));
        let mut l = london();
        l.zone.reverse();
        assert_eq!(l.validate(), Err(LocaleError::BadZone));
        assert_eq!(london().validate(), Ok(()));
    }

    #[test]
    fn one_rule_for_numbers_with_messages_that_show_the_accepted_form() {
        assert_eq!(parse_decimal("1000", 0), Ok(1000));
        assert_eq!(parse_decimal(" 12.5 ", 2), Ok(1250));
        let text = |t: &str, d| parse_decimal(t, d).unwrap_err().to_string();
        assert_eq!(
            text("1,000", 0),
            "for 1000 write 1000 (no thousands separators, and a dot for decimals): \
             write a whole number with digits only, such as 1000"
        );
        assert_eq!(
            text("12,50", 2),
            "for 12.50 write 12.50; for 1250 write 1250 (no thousands separators, and a dot \
             for decimals): write digits with a dot before at most 2 decimals, such as 12.50"
        );
        assert!(text("1,000.00", 2).starts_with("for 1000.00 write 1000.00 ("));
        assert!(text("1 000", 0).contains("no thousands separators"));
        assert!(text("1_000", 0).contains("no thousands separators"));
        assert_eq!(text("12.505", 2), "give at most 2 decimals, such as 12.50");
        assert_eq!(text("2.5", 0), "it must be a whole number, such as 1000");
        assert!(text("£12", 2).starts_with("it is not a number"));
        assert!(text("-3", 0).starts_with("it cannot be negative"));
        assert!(text("", 2).starts_with("it is empty"));
        assert_eq!(text("99999999999999999999", 0), "it is too large");
        assert_eq!(parse_decimal("1.5", 3), Ok(1500));
        assert_eq!(
            parse_decimal("1.5", 3).ok(),
            parse_minor("1.5", 3).map(|c| c.0)
        );
    }
}
