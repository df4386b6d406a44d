//! The models against what happened: purchases predicted for the period
//! after the calibration end, next to the purchases actually made then.
//!
//! A purchase log that runs past the calibration end has a hold-out
//! period: from the day after the calibration end to the last purchase
//! day in the log. For every customer of the calibration period, the
//! BG/NBD model predicts their repeat purchases in that period from their
//! calibration history alone (the conditional expectation), and the log
//! says how many purchase days they actually had then. As in Figure 5 of
//! Fader, Hardie & Lee (2005), the customers are grouped by their
//! calibration frequency, 0, 1, …, 6 and 7 or more, and each group's
//! mean actual and mean predicted purchases are compared; the totals
//! compare the whole period. Customers whose first purchase is in the
//! hold-out period are not part of it: the model predicts the customers
//! it knows.

use crate::models::{BgNbd, ModelError};
use crate::purchase::{CustomerSummary, Day, Purchase};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The last group holds this calibration frequency and above (7+).
pub const TOP_GROUP: u32 = 7;

/// The comparison over one hold-out period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Holdout {
    /// Length of the hold-out period in weeks.
    pub weeks: f64,
    /// Its first day (days since 1970-01-01): the day after the
    /// calibration end.
    pub first_day: u64,
    /// Its last day: the last purchase day in the log.
    pub last_day: u64,
    /// One row per calibration frequency 0, 1, …, 6, 7+ (groups without
    /// customers are left out).
    pub rows: Vec<HoldoutRow>,
    /// All calibration customers together.
    pub total: HoldoutRow,
}

/// One group of customers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HoldoutRow {
    /// The calibration frequency of the group; the last group, [`TOP_GROUP`],
    /// holds that frequency and above. `None` in the total.
    pub frequency: Option<u32>,
    /// Customers in the group.
    pub customers: usize,
    /// Purchase days they actually had in the hold-out period.
    pub actual: u64,
    /// Purchases the model predicted for them.
    pub predicted: f64,
}

impl HoldoutRow {
    /// Mean actual purchases per customer.
    pub fn mean_actual(&self) -> f64 {
        self.actual as f64 / self.customers.max(1) as f64
    }

    /// Mean predicted purchases per customer.
    pub fn mean_predicted(&self) -> f64 {
        self.predicted / self.customers.max(1) as f64
    }

    /// The group's name: `0`, `1`, … `7+`, or `all`.
    pub fn label(&self) -> String {
        match self.frequency {
            Some(f) if f >= TOP_GROUP => format!("{TOP_GROUP}+"),
            Some(f) => f.to_string(),
            None => "all".to_string(),
        }
    }
}

/// Compares `model`'s predictions with the purchases after
/// `calibration_end`, for the customers in `summaries` (the calibration
/// summaries [`crate::summarize`] made from the same `purchases`).
/// `None` when the log has no purchase after the calibration end.
pub fn compare_holdout<C: Ord>(
    purchases: &[Purchase<C>],
    summaries: &BTreeMap<C, CustomerSummary>,
    calibration_end: Day,
    model: &BgNbd,
) -> Result<Option<Holdout>, ModelError> {
    let after = || purchases.iter().filter(|p| p.day > calibration_end);
    let Some(last_day) = after().map(|p| p.day).max() else {
        return Ok(None);
    };
    let weeks = last_day.weeks_since(calibration_end);
    let mut days: BTreeMap<&C, BTreeSet<Day>> = BTreeMap::new();
    for p in after().filter(|p| summaries.contains_key(&p.customer)) {
        days.entry(&p.customer).or_default().insert(p.day);
    }
    let group = |f: u32| f.min(TOP_GROUP);
    let mut rows: Vec<HoldoutRow> = (0..=TOP_GROUP)
        .map(|f| HoldoutRow {
            frequency: Some(f),
            customers: 0,
            actual: 0,
            predicted: 0.0,
        })
        .collect();
    for (customer, summary) in summaries {
        let actual = days.get(customer).map_or(0, |d| d.len() as u64);
        let predicted = model.expected_purchases(summary, weeks)?;
        if let Some(row) = rows.get_mut(group(summary.frequency) as usize) {
            row.customers += 1;
            row.actual += actual;
            row.predicted += predicted;
        }
    }
    let total = HoldoutRow {
        frequency: None,
        customers: rows.iter().map(|r| r.customers).sum(),
        actual: rows.iter().map(|r| r.actual).sum(),
        predicted: rows.iter().map(|r| r.predicted).sum(),
    };
    rows.retain(|r| r.customers > 0);
    Ok(Some(Holdout {
        weeks,
        first_day: calibration_end.0 + 1,
        last_day: last_day.0,
        rows,
        total,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summarize;

    const MODEL: BgNbd = BgNbd {
        r: 0.243,
        alpha: 4.414,
        a: 0.793,
        b: 2.426,
    };

    fn p(customer: &'static str, day: u64) -> Purchase<&'static str> {
        Purchase {
            customer,
            day: Day(day),
            amount: 100,
        }
    }

    #[test]
    fn actual_and_predicted_by_calibration_frequency() {
        let end = Day(70);
        let log = [
            // a: once in calibration, twice after (two on one day count once).
            p("a", 0),
            p("a", 80),
            p("a", 80),
            p("a", 90),
            // b: three days in calibration (x = 2), none after.
            p("b", 7),
            p("b", 14),
            p("b", 21),
            // c: x = 9 → the 7+ group, one after.
            p("c", 1),
            p("c", 2),
            p("c", 3),
            p("c", 4),
            p("c", 5),
            p("c", 6),
            p("c", 7),
            p("c", 8),
            p("c", 9),
            p("c", 10),
            p("c", 140),
            // d: first purchase after the end: not compared.
            p("d", 100),
            p("d", 110),
        ];
        let summaries = summarize(&log, end, 2);
        let h = compare_holdout(&log, &summaries, end, &MODEL)
            .unwrap()
            .unwrap();
        assert_eq!((h.first_day, h.last_day), (71, 140));
        assert_eq!(h.weeks, 10.0);
        let got: Vec<(String, usize, u64)> = h
            .rows
            .iter()
            .map(|r| (r.label(), r.customers, r.actual))
            .collect();
        assert_eq!(
            got,
            [
                ("0".to_string(), 1, 2),
                ("2".to_string(), 1, 0),
                ("7+".to_string(), 1, 1)
            ]
        );
        assert_eq!((h.total.customers, h.total.actual), (3, 3));
        let want: f64 = ["a", "b", "c"]
            .iter()
            .map(|c| MODEL.expected_purchases(&summaries[c], 10.0).unwrap())
            .sum();
        assert!((h.total.predicted - want).abs() < 1e-12);
        assert!(
            (h.rows[0].mean_predicted() - MODEL.expected_purchases(&summaries["a"], 10.0).unwrap())
                .abs()
                < 1e-12
        );
    }

    #[test]
    fn no_purchase_after_the_end_is_no_comparison() {
        let log = [p("a", 0), p("a", 5)];
        let summaries = summarize(&log, Day(5), 2);
        assert_eq!(compare_holdout(&log, &summaries, Day(5), &MODEL), Ok(None));
    }
}
