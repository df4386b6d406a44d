//! Customer-value models fitted on a shop's own history.
//!
//! Two models of the literature, each read from the [`CustomerSummary`] of
//! every customer (docs/insights.md prints every formula):
//!
//! - [`bgnbd`]: how often a customer buys and whether they are still a
//!   customer (BG/NBD, Fader, Hardie & Lee 2005): the probability that a
//!   customer is still active, and the purchases expected from them in
//!   the next weeks.
//! - [`gamma_gamma`]: how much they spend per purchase (Gamma-Gamma), the
//!   customer's own mean shrunk towards the shop's.
//!
//! [`clv`] combines them into a discounted lifetime value, [`fit`] finds
//! the maximum-likelihood parameters of both (Nelder–Mead over the
//! logarithms of the parameters, from deterministic starting points: the
//! same history always gives the same figures), and [`special`] holds the
//! hypergeometric series and the other special functions the formulas
//! need.
//!
//! The estimators are checked against the published estimates on the
//! CDNOW sample (insights/tests/cdnow.rs).

pub mod bgnbd;
pub mod clv;
pub mod fit;
pub mod gamma_gamma;
pub mod special;

use crate::purchase::CustomerSummary;
use special::SpecialError;

/// Why a model cannot give a figure for a customer.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ModelError {
    /// The history is not one the summary conventions can produce.
    #[error("not a customer history: {reason}")]
    Customer {
        /// What is wrong with it.
        reason: String,
    },
    /// A horizon that is negative or not a number.
    #[error("a horizon must be zero or more weeks, not {weeks}")]
    Horizon {
        /// The horizon given.
        weeks: f64,
    },
    /// Lifetime-value settings out of range.
    #[error("lifetime value settings: {reason}")]
    Settings {
        /// Which setting, and its range.
        reason: String,
    },
    /// The spend model has no mean (q ≤ 1), so there is no expected spend.
    #[error(
        "the spend model's q is {q}, at most 1: spend per purchase varies too widely for a mean, so there is no lifetime value"
    )]
    NoMeanSpend {
        /// The fitted q.
        q: f64,
    },
    /// A special function failed.
    #[error(transparent)]
    Special(#[from] SpecialError),
}

/// Checks a history the way [`crate::summarize`] makes them: finite,
/// 0 ≤ recency ≤ age, at most one repeat purchase day per day of recency
/// (x ≤ 7 t_x, with half a day of slack for weeks rounded to two decimals,
/// as published summaries such as CDNOW's are), recency 0 without repeat
/// purchases, a non-negative mean spend. (The bound on x also bounds the
/// work of a likelihood evaluation.)
pub fn check_customer(customer: &CustomerSummary) -> Result<(), ModelError> {
    let CustomerSummary {
        frequency,
        recency,
        age,
        monetary,
    } = *customer;
    let reason = if !(recency.is_finite() && age.is_finite() && monetary.is_finite()) {
        Some("recency, age and spend must be numbers".to_string())
    } else if recency < 0.0 {
        Some(format!("recency {recency} is negative"))
    } else if recency > age {
        Some(format!("recency {recency} is after the age {age}"))
    } else if monetary < 0.0 {
        Some(format!("mean spend {monetary} is negative"))
    } else if f64::from(frequency) > recency * 7.0 + 0.5 {
        Some(format!(
            "{frequency} repeat purchase days within {recency} weeks is more than one a day"
        ))
    } else if frequency == 0 && recency != 0.0 {
        Some(format!(
            "recency {recency} without a repeat purchase (it is 0 for one purchase)"
        ))
    } else {
        None
    };
    match reason {
        Some(reason) => Err(ModelError::Customer { reason }),
        None => Ok(()),
    }
}

pub use bgnbd::BgNbd;
pub use clv::{ClvSettings, CustomerValue, WEEKS_PER_MONTH, lifetime_value};
pub use fit::{Estimate, FitError, MIN_REPEAT_CUSTOMERS, Models, fit_models};
pub use gamma_gamma::GammaGamma;
