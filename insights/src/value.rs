//! The customer value columns of an insight row (alive probability,
//! expected purchases and spend, lifetime value), from the customer value
//! models — and the one place that fills them.
//!
//! The models (BG/NBD, Gamma-Gamma, CLV; docs/insights.md, "Customer
//! value models") need enough customers who came back to fit: with fewer
//! than [`MIN_REPEAT_CUSTOMERS`] customers with a repeat purchase day the
//! columns are absent and the answer says why ([`ModelsAbsent`]). Every
//! answer that shows model columns calls [`value_columns`], so the models
//! are wired in here and nowhere else.

use crate::purchase::CustomerSummary;
use std::collections::BTreeMap;

/// Customers with at least one repeat purchase day needed to fit the
/// models.
pub const MIN_REPEAT_CUSTOMERS: u32 = 30;

/// The horizon of `expected_purchases`, in weeks (about three months).
pub const HORIZON_WEEKS: f64 = 13.0;

/// One customer's figures from the models.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ValueColumns {
    /// Probability the customer is still active (BG/NBD), 0 to 1.
    pub p_alive: f64,
    /// Expected purchase days in the next [`HORIZON_WEEKS`] weeks.
    pub expected_purchases: f64,
    /// Expected spend per purchase day, in major units (Gamma-Gamma;
    /// `None` if that model could not be fitted).
    pub expected_spend: Option<f64>,
    /// Lifetime value over the next 12 months, in major units (`None`
    /// without the spend model).
    pub clv: Option<f64>,
}

/// Why there are no model columns.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ModelsAbsent {
    /// Too few customers came back to fit the models.
    #[error(
        "too few customers have come back to fit the customer value models: {repeat} made a repeat purchase, at least {needed} are needed"
    )]
    TooFewRepeatCustomers {
        /// Customers with a repeat purchase day.
        repeat: u32,
        /// The least needed.
        needed: u32,
    },
    /// The models cannot be fitted in this build.
    #[error("the customer value models are not part of this build of the node")]
    NotBuilt,
}

impl ModelsAbsent {
    /// A stable name for the reason.
    pub fn code(&self) -> &'static str {
        match self {
            ModelsAbsent::TooFewRepeatCustomers { .. } => "too_few_repeat_customers",
            ModelsAbsent::NotBuilt => "not_built",
        }
    }
}

/// The model columns of each customer summarised in `summaries` (one
/// scope, one calibration end), or why there are none.
///
/// This is where the fitted models fill the columns: fit on `summaries`,
/// then `p_alive`, `expected_purchases(HORIZON_WEEKS)`, `expected_spend`
/// and the 12-month lifetime value for each customer.
pub fn value_columns<C: Ord + Clone>(
    summaries: &BTreeMap<C, CustomerSummary>,
) -> Result<BTreeMap<C, ValueColumns>, ModelsAbsent> {
    let repeat = summaries.values().filter(|s| s.frequency > 0).count();
    let repeat = u32::try_from(repeat).unwrap_or(u32::MAX);
    if repeat < MIN_REPEAT_CUSTOMERS {
        return Err(ModelsAbsent::TooFewRepeatCustomers {
            repeat,
            needed: MIN_REPEAT_CUSTOMERS,
        });
    }
    Err(ModelsAbsent::NotBuilt)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(frequency: u32) -> CustomerSummary {
        CustomerSummary {
            frequency,
            recency: f64::from(frequency),
            age: 52.0,
            monetary: 10.0,
        }
    }

    #[test]
    fn too_few_repeat_customers_is_said_with_the_counts() {
        let summaries: BTreeMap<u32, CustomerSummary> =
            (0..100).map(|i| (i, summary(u32::from(i < 29)))).collect();
        let absent = value_columns(&summaries).unwrap_err();
        assert_eq!(
            absent,
            ModelsAbsent::TooFewRepeatCustomers {
                repeat: 29,
                needed: 30
            }
        );
        assert!(
            absent
                .to_string()
                .contains("29 made a repeat purchase, at least 30"),
            "{absent}"
        );
    }
}
