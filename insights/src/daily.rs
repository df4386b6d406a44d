//! The programme day by day: what a dashboard draws as a time series.
//!
//! For each local day of a period, the scope's purchases and spend that
//! day and the points its shops issued, had redeemed (their issue,
//! redeemed anywhere) and lost to expiry that day. Points come from the
//! shops' running totals ([`History::stats_at`]): a day's figure is the
//! total after its last block minus the total after the day before, so
//! the days of a period add up to the period's KPI figures.

use crate::history::{Customer, History, Scope};
use crate::kpi::Period;
use crate::purchase::Day;
use guild_ledger::crypto::Address;
use guild_ledger::state::ShopStats;
use std::collections::BTreeMap;

/// One day of the series.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DayFigures {
    /// The local day.
    pub day: Day,
    /// Purchases that day (not refunded in full).
    pub purchases: u32,
    /// Their spend, net of refunds, in minor units.
    pub spend: u64,
    /// Points the scope issued that day.
    pub points_issued: u64,
    /// Points of the scope's issue redeemed that day.
    pub points_redeemed: u64,
    /// Points of the scope's issue that expired that day.
    pub points_expired: u64,
}

impl DayFigures {
    /// A day with nothing.
    pub fn empty(day: Day) -> DayFigures {
        DayFigures {
            day,
            purchases: 0,
            spend: 0,
            points_issued: 0,
            points_redeemed: 0,
            points_expired: 0,
        }
    }
}

/// Every day of `period`, oldest first, for `customers` (the scope's, as
/// [`History::customers`] gives them) and the scope's shops.
pub fn daily(
    history: &History,
    scope: Scope,
    customers: &[Customer],
    period: Period,
) -> Vec<DayFigures> {
    let mut days: BTreeMap<Day, DayFigures> = (period.from.0..=period.to.0)
        .map(|d| (Day(d), DayFigures::empty(Day(d))))
        .collect();
    for c in customers {
        for (day, bought) in c
            .days
            .iter()
            .filter(|(d, _)| *d >= period.from && *d <= period.to)
        {
            if let Some(figures) = days.get_mut(day) {
                figures.purchases = figures.purchases.saturating_add(bought.purchases);
                figures.spend = figures.spend.saturating_add(bought.spend);
            }
        }
    }
    let shops: Vec<Address> = match scope {
        Scope::Group => history.shops().map(|(a, _)| *a).collect(),
        Scope::Shop(shop) => vec![shop],
    };
    for shop in shops {
        let mut before = match period.from.0.checked_sub(1) {
            Some(day) => history.stats_at(&shop, Day(day)),
            None => ShopStats::default(),
        };
        for figures in days.values_mut() {
            let after = history.stats_at(&shop, figures.day);
            let grew = |a: u64, b: u64| a.saturating_sub(b);
            figures.points_issued = figures
                .points_issued
                .saturating_add(grew(after.issued.0, before.issued.0));
            figures.points_redeemed = figures
                .points_redeemed
                .saturating_add(grew(after.redeemed_issued.0, before.redeemed_issued.0));
            figures.points_expired = figures
                .points_expired
                .saturating_add(grew(after.expired.0, before.expired.0));
            before = after;
        }
    }
    days.into_values().collect()
}
