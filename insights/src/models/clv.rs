//! Customer lifetime value: the purchases the BG/NBD model expects month
//! by month, times the spend the Gamma-Gamma model expects per purchase,
//! times the shop's margin, discounted to today.
//!
//! ```text
//! CLV = Σ_{m=1..M} margin · E[spend] · (E[Y(m·w)] − E[Y((m−1)·w)]) / (1 + d)^m
//! ```
//!
//! with E[Y(t)] the customer's conditional expected purchases in the next
//! t weeks, w = 4.345 weeks per month, M months (12 by default) and d the
//! monthly discount rate (1% by default). This is the computation of the
//! `lifetimes` package's `GammaGammaFitter.customer_lifetime_value`
//! (version 0.11.3, `lifetimes/utils.py`, `_customer_lifetime_value`, with
//! `freq="W"`), so figures can be compared with it directly.

use super::fit::Models;
use super::{BgNbd, GammaGamma, ModelError, check_customer};
use crate::purchase::CustomerSummary;
use serde::{Deserialize, Serialize};

/// Weeks in a month, as in `lifetimes` (52.14 / 12).
pub const WEEKS_PER_MONTH: f64 = 4.345;

/// The longest lifetime-value horizon, in months (ten years).
pub const MAX_MONTHS: u32 = 120;

/// How a lifetime value is computed.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClvSettings {
    /// The horizon in months (1 to 120).
    pub months: u32,
    /// The discount rate per month (0.01 = 1%; 0 to 1).
    pub monthly_discount: f64,
    /// The share of spend the shop keeps (1.0 = count all spend; 0 to 1).
    pub margin: f64,
}

impl Default for ClvSettings {
    /// 12 months, 1% a month, the whole spend.
    fn default() -> ClvSettings {
        ClvSettings {
            months: 12,
            monthly_discount: 0.01,
            margin: 1.0,
        }
    }
}

impl ClvSettings {
    /// Checks every setting is in its range.
    pub fn check(&self) -> Result<(), ModelError> {
        let reason = if !(1..=MAX_MONTHS).contains(&self.months) {
            Some(format!(
                "the horizon must be 1 to {MAX_MONTHS} months, not {}",
                self.months
            ))
        } else if !(0.0..=1.0).contains(&self.monthly_discount) {
            Some(format!(
                "the monthly discount rate must be between 0 and 1 (0.01 is 1%), not {}",
                self.monthly_discount
            ))
        } else if !(0.0..=1.0).contains(&self.margin) {
            Some(format!(
                "the margin must be between 0 and 1 (1 is all of the spend), not {}",
                self.margin
            ))
        } else {
            None
        };
        match reason {
            Some(reason) => Err(ModelError::Settings { reason }),
            None => Ok(()),
        }
    }
}

/// The lifetime value of one customer (formula above), in major units of
/// the currency.
pub fn lifetime_value(
    bgnbd: &BgNbd,
    gamma_gamma: &GammaGamma,
    customer: &CustomerSummary,
    settings: &ClvSettings,
) -> Result<f64, ModelError> {
    settings.check()?;
    check_customer(customer)?;
    let spend = gamma_gamma
        .expected_spend(customer)
        .ok_or(ModelError::NoMeanSpend { q: gamma_gamma.q })?;
    let mut value = 0.0;
    let mut before = 0.0;
    let mut discount = 1.0;
    for month in 1..=settings.months {
        let upto = bgnbd.expected_purchases(customer, f64::from(month) * WEEKS_PER_MONTH)?;
        discount /= 1.0 + settings.monthly_discount;
        value += settings.margin * spend * (upto - before) * discount;
        before = upto;
    }
    Ok(value)
}

/// What the models say about one customer.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerValue {
    /// The probability that they are still a customer.
    pub p_alive: f64,
    /// The purchases expected from them over the lifetime-value horizon.
    pub expected_purchases: f64,
    /// The expected spend per purchase; `None` without a spend model.
    pub expected_spend: Option<f64>,
    /// The lifetime value over the horizon; `None` without a spend model.
    pub lifetime_value: Option<f64>,
}

impl Models {
    /// The figures of one customer: P(active), the purchases expected over
    /// the settings' horizon, and (with a spend model) the expected spend
    /// and lifetime value.
    pub fn value_of(
        &self,
        customer: &CustomerSummary,
        settings: &ClvSettings,
    ) -> Result<CustomerValue, ModelError> {
        settings.check()?;
        check_customer(customer)?;
        let weeks = f64::from(settings.months) * WEEKS_PER_MONTH;
        let (expected_spend, lifetime_value) = match &self.gamma_gamma {
            Some(gg) => match gg.expected_spend(customer) {
                Some(spend) => (
                    Some(spend),
                    Some(lifetime_value(&self.bgnbd, gg, customer, settings)?),
                ),
                None => (None, None),
            },
            None => (None, None),
        };
        Ok(CustomerValue {
            p_alive: self.bgnbd.p_alive(customer),
            expected_purchases: self.bgnbd.expected_purchases(customer, weeks)?,
            expected_spend,
            lifetime_value,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BGNBD: BgNbd = BgNbd {
        r: 0.243,
        alpha: 4.414,
        a: 0.793,
        b: 2.426,
    };
    const GG: GammaGamma = GammaGamma {
        p: 6.25,
        q: 3.74,
        gamma: 15.44,
    };

    fn first_customer() -> CustomerSummary {
        CustomerSummary {
            frequency: 2,
            recency: 30.43,
            age: 38.86,
            monetary: 22.345,
        }
    }

    #[test]
    fn without_discount_it_is_spend_times_expected_purchases() {
        let c = first_customer();
        let settings = ClvSettings {
            months: 9,
            monthly_discount: 0.0,
            margin: 0.5,
        };
        let clv = lifetime_value(&BGNBD, &GG, &c, &settings).unwrap();
        let purchases = BGNBD.expected_purchases(&c, 9.0 * WEEKS_PER_MONTH).unwrap();
        let spend = GG.expected_spend(&c).unwrap();
        assert!((clv - 0.5 * spend * purchases).abs() < 1e-9, "{clv}");
    }

    #[test]
    fn discounting_by_hand() {
        // Two months at 10%: spend·(E1/1.1 + (E2 − E1)/1.21).
        let c = first_customer();
        let settings = ClvSettings {
            months: 2,
            monthly_discount: 0.1,
            margin: 1.0,
        };
        let e1 = BGNBD.expected_purchases(&c, WEEKS_PER_MONTH).unwrap();
        let e2 = BGNBD.expected_purchases(&c, 2.0 * WEEKS_PER_MONTH).unwrap();
        let spend = GG.expected_spend(&c).unwrap();
        let want = spend * (e1 / 1.1 + (e2 - e1) / 1.21);
        let got = lifetime_value(&BGNBD, &GG, &c, &settings).unwrap();
        assert!((got - want).abs() < 1e-12, "{got} {want}");
        // The default discounts, so it is below the undiscounted value.
        let default = lifetime_value(&BGNBD, &GG, &c, &ClvSettings::default()).unwrap();
        let flat = lifetime_value(
            &BGNBD,
            &GG,
            &c,
            &ClvSettings {
                monthly_discount: 0.0,
                ..ClvSettings::default()
            },
        )
        .unwrap();
        assert!(default < flat && default > 0.9 * flat, "{default} {flat}");
    }

    #[test]
    fn settings_out_of_range_are_refused() {
        let c = first_customer();
        for settings in [
            ClvSettings {
                months: 0,
                ..ClvSettings::default()
            },
            ClvSettings {
                months: 121,
                ..ClvSettings::default()
            },
            ClvSettings {
                monthly_discount: -0.1,
                ..ClvSettings::default()
            },
            ClvSettings {
                margin: f64::NAN,
                ..ClvSettings::default()
            },
        ] {
            assert!(matches!(
                lifetime_value(&BGNBD, &GG, &c, &settings),
                Err(ModelError::Settings { .. })
            ));
        }
        let wide = GammaGamma { q: 1.0, ..GG };
        assert!(matches!(
            lifetime_value(&BGNBD, &wide, &c, &ClvSettings::default()),
            Err(ModelError::NoMeanSpend { .. })
        ));
    }
}
