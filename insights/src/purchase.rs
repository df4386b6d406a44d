//! Purchases and the per-customer summary the models read.
//!
//! ## Conventions (docs/insights.md states them for shop owners)
//!
//! - A customer's purchases on the same day count as one purchase; their
//!   amounts are added.
//! - Time is measured in weeks: days / 7.
//! - `frequency` (x) = the number of *repeat* purchase days (all purchase
//!   days but the first).
//! - `recency` (t_x) = (last purchase day − first purchase day) / 7; 0 for
//!   a customer who bought once.
//! - `age` (T) = (calibration end − first purchase day) / 7, so a customer
//!   first buying on 1997-01-01 has T = 38.86 for a calibration end of
//!   1997-09-30, as in the paper.
//! - `monetary` (m_x) = the mean amount of the repeat purchase days (the
//!   first purchase is left out); 0 for a customer without repeats.
//!
//! Purchases after the calibration end are not part of the summary (they
//! are the hold-out period a fit is compared with).

use std::collections::BTreeMap;

/// A calendar day: days since 1970-01-01, in the shop's local time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(pub u64);

impl Day {
    /// The weeks from `earlier` to `self` (negative if `self` is before).
    pub fn weeks_since(self, earlier: Day) -> f64 {
        (self.0 as f64 - earlier.0 as f64) / 7.0
    }
}

/// One purchase: who, which day, how much (in minor units of the
/// currency, e.g. pence).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Purchase<C> {
    /// The customer: a ledger address, or an id from a till's export.
    pub customer: C,
    /// The day of the purchase.
    pub day: Day,
    /// The amount, in minor units.
    pub amount: u64,
}

/// One customer's history in the terms of the models.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CustomerSummary {
    /// Repeat purchase days (x).
    pub frequency: u32,
    /// Weeks from the first to the last purchase day (t_x).
    pub recency: f64,
    /// Weeks from the first purchase day to the calibration end (T).
    pub age: f64,
    /// Mean amount of the repeat purchase days, in major units (m_x).
    pub monetary: f64,
}

/// Summarises each customer's purchases up to and including
/// `calibration_end`, with the conventions above. `minor_units` is the
/// currency's number of decimals (2 for pence): `monetary` is in major
/// units. Customers whose first purchase is after the end are left out.
pub fn summarize<C: Ord + Clone>(
    purchases: &[Purchase<C>],
    calibration_end: Day,
    minor_units: u8,
) -> BTreeMap<C, CustomerSummary> {
    // Per customer: amount per purchase day.
    let mut days: BTreeMap<&C, BTreeMap<Day, u64>> = BTreeMap::new();
    for p in purchases.iter().filter(|p| p.day <= calibration_end) {
        let amount = days
            .entry(&p.customer)
            .or_default()
            .entry(p.day)
            .or_default();
        *amount = amount.saturating_add(p.amount);
    }
    let unit = 10f64.powi(i32::from(minor_units));
    days.into_iter()
        .filter_map(|(customer, by_day)| {
            let (&first, _) = by_day.first_key_value()?;
            let (&last, _) = by_day.last_key_value()?;
            let repeats: Vec<u64> = by_day.values().skip(1).copied().collect();
            let frequency = u32::try_from(repeats.len()).unwrap_or(u32::MAX);
            let monetary = if repeats.is_empty() {
                0.0
            } else {
                repeats.iter().map(|&a| a as f64).sum::<f64>() / repeats.len() as f64 / unit
            };
            Some((
                customer.clone(),
                CustomerSummary {
                    frequency,
                    recency: last.weeks_since(first),
                    age: calibration_end.weeks_since(first),
                    monetary,
                },
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use guild_audit::Date;

    fn day(text: &str) -> Day {
        Day(Date::parse(text).unwrap().day_number())
    }

    #[test]
    fn the_papers_first_customer() {
        // CDNOW customer 1: purchases on 1997-01-01, 1997-01-18 and
        // 1997-08-02 (and one after the calibration end).
        let p = |d: &str, amount| Purchase {
            customer: 1,
            day: day(d),
            amount,
        };
        let log = [
            p("1997-01-01", 2933),
            p("1997-01-18", 2973),
            p("1997-08-02", 1496),
            p("1997-12-12", 2648),
        ];
        let s = summarize(&log, day("1997-09-30"), 2)[&1];
        assert_eq!(s.frequency, 2);
        assert!((s.recency - 30.43).abs() < 0.005, "{}", s.recency);
        assert!((s.age - 38.86).abs() < 0.005, "{}", s.age);
        assert!((s.monetary - 22.345).abs() < 1e-9, "{}", s.monetary);
    }

    #[test]
    fn same_day_purchases_are_one() {
        let p = |d: u64, amount| Purchase {
            customer: "a",
            day: Day(d),
            amount,
        };
        let s = summarize(&[p(0, 100), p(0, 50), p(7, 300), p(7, 100)], Day(14), 2)["a"];
        assert_eq!(s.frequency, 1);
        assert_eq!(s.recency, 1.0);
        assert_eq!(s.age, 2.0);
        assert_eq!(s.monetary, 4.0);
    }

    #[test]
    fn customers_after_the_end_are_left_out() {
        let log = [Purchase {
            customer: "late",
            day: Day(20),
            amount: 1,
        }];
        assert!(summarize(&log, Day(14), 2).is_empty());
    }
}
