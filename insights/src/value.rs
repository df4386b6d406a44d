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

use crate::models::{ClvSettings, FitError, ModelError, fit_models};
use crate::purchase::CustomerSummary;
use std::collections::BTreeMap;

/// Customers with at least one repeat purchase day needed to fit the
/// models ([`crate::models::MIN_REPEAT_CUSTOMERS`]).
pub const MIN_REPEAT_CUSTOMERS: u32 = crate::models::MIN_REPEAT_CUSTOMERS as u32;

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
    /// The models could not be fitted on these customers (the history
    /// does not pin them down, or a customer's figures cannot be computed).
    #[error("the customer value models could not be fitted on this history: {reason}")]
    NotFitted {
        /// Why, from the fit.
        reason: String,
    },
}

impl From<FitError> for ModelsAbsent {
    fn from(error: FitError) -> ModelsAbsent {
        match error {
            FitError::TooFewRepeatCustomers { repeat, needed } => {
                ModelsAbsent::TooFewRepeatCustomers {
                    repeat: u32::try_from(repeat).unwrap_or(u32::MAX),
                    needed: u32::try_from(needed).unwrap_or(u32::MAX),
                }
            }
            other => ModelsAbsent::NotFitted {
                reason: other.to_string(),
            },
        }
    }
}

impl ModelsAbsent {
    /// A stable name for the reason.
    pub fn code(&self) -> &'static str {
        match self {
            ModelsAbsent::TooFewRepeatCustomers { .. } => "too_few_repeat_customers",
            ModelsAbsent::NotFitted { .. } => "models_not_fitted",
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
    let list: Vec<CustomerSummary> = summaries.values().copied().collect();
    let models = fit_models(&list)?;
    let settings = ClvSettings::default();
    let not_fitted = |e: ModelError| ModelsAbsent::NotFitted {
        reason: e.to_string(),
    };
    summaries
        .iter()
        .map(|(customer, summary)| {
            let value = models.value_of(summary, &settings).map_err(not_fitted)?;
            let expected_purchases = models
                .bgnbd
                .expected_purchases(summary, HORIZON_WEEKS)
                .map_err(not_fitted)?;
            Ok((
                customer.clone(),
                ValueColumns {
                    p_alive: value.p_alive,
                    expected_purchases,
                    expected_spend: value.expected_spend,
                    clv: value.lifetime_value,
                },
            ))
        })
        .collect()
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

    #[test]
    fn on_the_cdnow_sample_the_columns_are_those_of_the_published_models() {
        let text = include_str!("../tests/data/cdnow_customers_summary_with_transactions.csv");
        let summaries: BTreeMap<u32, CustomerSummary> = text
            .lines()
            .skip(1)
            .map(|line| {
                let f: Vec<f64> = line.split(',').map(|v| v.parse().unwrap()).collect();
                let summary = CustomerSummary {
                    frequency: f[1] as u32,
                    recency: f[2],
                    age: f[3],
                    monetary: f[4],
                };
                (f[0] as u32, summary)
            })
            .collect();
        let columns = value_columns(&summaries).unwrap();
        assert_eq!(columns.len(), summaries.len());
        let published = crate::models::BgNbd {
            r: 0.243,
            alpha: 4.414,
            a: 0.793,
            b: 2.426,
        };
        let first = &summaries[&1];
        let got = columns[&1];
        let close = |a: f64, b: f64| (a - b).abs() <= 0.01 * b.abs();
        assert!(close(got.p_alive, published.p_alive(first)), "{got:?}");
        let expected = published.expected_purchases(first, HORIZON_WEEKS).unwrap();
        assert!(
            close(got.expected_purchases, expected),
            "{got:?} vs {expected}"
        );
        assert!(got.clv.is_some_and(|v| v > 0.0) && got.expected_spend.is_some());
        // A customer who never came back has no spend of their own: the
        // spend model gives them the population's mean.
        assert!(columns[&3].p_alive == 1.0 && columns[&3].expected_spend.is_some());
    }
}
