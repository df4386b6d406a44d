//! Money and time as a shop sees them: every amount with the network's
//! currency symbol and decimals, every date and time in the network's time
//! zone, and what points are worth at the group's settlement rate.
//!
//! The genesis fixes the network's [`Locale`] (currency and a table of UTC
//! offsets); the parameters say what a point is worth between shops
//! (`settlement_cents_per_point`, changed by governance). A [`Shown`] holds
//! both, and is the one way the command line and the wallet print them:
//! amounts through [`Locale::money`], dates through
//! [`guild_audit::Date::local`], so the same instant is the same date in a
//! wallet, a shop's receipt and the audit.
//!
//! Points expire at an instant (`expires_at`, the first moment they are
//! gone). People are shown the last moment they can be spent instead:
//! [`Shown::usable_until`] gives the last usable local day, with the local
//! time when they stop being usable before that day's end.
//!
//! ```
//! use guild_api::shown::Shown;
//! use guild_ledger::programme::{Locale, ZoneOffset};
//! use guild_ledger::types::{Points, Timestamp};
//!
//! let shown = Shown::new(Locale::default(), 1);
//! assert_eq!(shown.worth(Points(20)), "£0.20");
//! // Gone at 2027-12-03 00:00 UTC: usable until the day before.
//! let expires = Timestamp(1_827_792_000_000);
//! assert_eq!(shown.usable_until(expires), "2027-12-02");
//! // Five hours west of UTC the points stop at 18:59 local time.
//! let west = Locale {
//!     zone: vec![ZoneOffset { from: Timestamp(0), offset_minutes: -300 }],
//!     ..Locale::default()
//! };
//! assert_eq!(Shown::new(west, 1).usable_until(expires), "2027-12-02 18:59");
//! ```

use crate::client::{NodeClient, Result};
use guild_audit::Date;
use guild_ledger::programme::Locale;
use guild_ledger::types::{Cents, MS_PER_DAY, Points, Timestamp};

/// The network's currency, time zone and settlement rate, for printing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shown {
    locale: Locale,
    cents_per_point: u64,
}

impl Shown {
    /// From the genesis locale and the settlement rate (minor units of the
    /// currency per point).
    pub fn new(locale: Locale, cents_per_point: u64) -> Shown {
        Shown {
            locale,
            cents_per_point,
        }
    }

    /// Reads the locale (genesis) and the settlement rate (parameters at
    /// the head) from a node.
    pub async fn fetch(client: &NodeClient) -> Result<Shown> {
        let genesis = client.genesis().await?;
        let params = client.params().await?;
        Ok(Shown::new(
            genesis.programme.locale,
            params.params.settlement_cents_per_point.0,
        ))
    }

    /// The locale.
    pub fn locale(&self) -> &Locale {
        &self.locale
    }

    /// Minor units per point at the settlement rate.
    pub fn cents_per_point(&self) -> u64 {
        self.cents_per_point
    }

    /// An amount: `£12.50`.
    pub fn money(&self, amount: Cents) -> String {
        self.locale.money(amount)
    }

    /// An amount that may have overflowed (`None`): `£12.50` or
    /// `more than £184467440737095516.15`.
    pub fn money_or_overflow(&self, amount: Option<u64>) -> String {
        match amount {
            Some(c) => self.money(Cents(c)),
            None => format!("more than {}", self.money(Cents(u64::MAX))),
        }
    }

    /// A signed amount (negative: owed): `-£3.50`.
    pub fn signed_money(&self, amount: Option<i128>) -> String {
        match amount {
            Some(c) => self.locale.signed_money(c),
            None => "an amount too large to show".to_string(),
        }
    }

    /// What `points` are worth at the settlement rate, in minor units
    /// (`None` on overflow).
    pub fn value(&self, points: Points) -> Option<Cents> {
        points.0.checked_mul(self.cents_per_point).map(Cents)
    }

    /// What `points` are worth, as text: `£0.20`.
    pub fn worth(&self, points: Points) -> String {
        self.money_or_overflow(self.value(points).map(|c| c.0))
    }

    /// The settlement rate as text: `1 point = £0.01`.
    pub fn rate(&self) -> String {
        format!("1 point = {}", self.money(Cents(self.cents_per_point)))
    }

    /// The local date of an instant, `YYYY-MM-DD`.
    pub fn date(&self, time: Timestamp) -> String {
        Date::local(&self.locale, time).to_string()
    }

    /// The local date and time of an instant with the zone's offset:
    /// `2026-07-01 08:30:00 UTC+1`.
    pub fn time(&self, time: Timestamp) -> String {
        let offset = self.locale.offset_at(time);
        let (hour, minute, second) = self.clock(time);
        format!(
            "{} {hour:02}:{minute:02}:{second:02} {}",
            self.date(time),
            zone_label(offset)
        )
    }

    /// The last local moment points expiring at `expires_at` can be spent:
    /// the date alone when they last the whole of that day
    /// (`2027-12-02`), else the date and the last usable minute
    /// (`2027-12-02 18:59`).
    pub fn usable_until(&self, expires_at: Timestamp) -> String {
        let last = Timestamp(expires_at.0.saturating_sub(1));
        let (hour, minute, _) = self.clock(last);
        if (hour, minute) == (23, 59) {
            self.date(last)
        } else {
            format!("{} {hour:02}:{minute:02}", self.date(last))
        }
    }

    /// Local hour, minute and second of an instant.
    fn clock(&self, time: Timestamp) -> (u64, u64, u64) {
        let offset_ms = i128::from(self.locale.offset_at(time)) * 60_000;
        let day = i128::from(MS_PER_DAY);
        let of_day = (i128::from(time.0) + offset_ms).rem_euclid(day) / 1000;
        let of_day = u64::try_from(of_day).unwrap_or(0);
        (of_day / 3600, of_day / 60 % 60, of_day % 60)
    }
}

/// `UTC`, `UTC+1`, `UTC-5`, `UTC+5:30`.
fn zone_label(offset_minutes: i16) -> String {
    if offset_minutes == 0 {
        return "UTC".to_string();
    }
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let minutes = offset_minutes.unsigned_abs();
    match minutes % 60 {
        0 => format!("UTC{sign}{}", minutes / 60),
        m => format!("UTC{sign}{}:{m:02}", minutes / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use guild_ledger::programme::{Currency, ZoneOffset};

    fn zone(offset_minutes: i16) -> Locale {
        Locale {
            zone: vec![ZoneOffset {
                from: Timestamp(0),
                offset_minutes,
            }],
            ..Locale::default()
        }
    }

    /// 2027-12-03 00:00 UTC.
    const DEC_3: u64 = 1_827_792_000_000;

    #[test]
    fn expiry_is_the_last_usable_local_moment() {
        let utc = Shown::new(Locale::default(), 1);
        assert_eq!(utc.usable_until(Timestamp(DEC_3)), "2027-12-02");
        // An hour east: gone at 01:00 local on the 3rd.
        let east = Shown::new(zone(60), 1);
        assert_eq!(east.usable_until(Timestamp(DEC_3)), "2027-12-03 00:59");
        // Five hours west: gone at 19:00 local on the 2nd.
        let west = Shown::new(zone(-300), 1);
        assert_eq!(west.usable_until(Timestamp(DEC_3)), "2027-12-02 18:59");
        // Expiring at local midnight, the whole day before is usable.
        assert_eq!(
            west.usable_until(Timestamp(DEC_3 + 5 * 3_600_000)),
            "2027-12-02"
        );
    }

    #[test]
    fn times_are_local_with_their_offset() {
        // 23:30 UTC on 2 December is already the 3rd an hour east.
        let t = Timestamp(DEC_3 - 30 * 60_000);
        assert_eq!(
            Shown::new(Locale::default(), 1).time(t),
            "2027-12-02 23:30:00 UTC"
        );
        assert_eq!(Shown::new(zone(60), 1).time(t), "2027-12-03 00:30:00 UTC+1");
        assert_eq!(Shown::new(zone(60), 1).date(t), "2027-12-03");
        assert_eq!(
            Shown::new(zone(330), 1).time(t),
            "2027-12-03 05:00:00 UTC+5:30"
        );
        assert_eq!(
            Shown::new(zone(-300), 1).time(t),
            "2027-12-02 18:30:00 UTC-5"
        );
    }

    #[test]
    fn points_are_worth_the_settlement_rate_in_the_currency() {
        let euro = Locale {
            currency: Currency {
                code: "EUR".into(),
                symbol: "€".into(),
                minor_units: 2,
            },
            zone: Vec::new(),
        };
        let shown = Shown::new(euro, 1);
        assert_eq!(shown.worth(Points(20)), "€0.20");
        assert_eq!(shown.worth(Points(250)), "€2.50");
        assert_eq!(shown.rate(), "1 point = €0.01");
        assert_eq!(shown.signed_money(Some(-350)), "-€3.50");
        let costly = Shown::new(Locale::default(), u64::MAX);
        assert_eq!(costly.value(Points(2)), None);
        assert!(costly.worth(Points(2)).starts_with("more than £"));
    }
}
