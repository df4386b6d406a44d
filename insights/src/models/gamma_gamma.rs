//! The Gamma-Gamma model of spend per purchase (Fader, Hardie & Lee, "RFM
//! and CLV: using iso-value curves for customer base analysis", Journal of
//! Marketing Research 42(4), 2005; the formulas as in Fader & Hardie, "The
//! Gamma-Gamma model of monetary value", 2013).
//!
//! Each purchase of a customer is worth z ~ Gamma(p, ν), so the customer's
//! mean spend is p / ν, and ν varies across customers as Gamma(q, γ). The
//! model reads the mean m_x of a customer's x repeat purchases (only
//! customers with x > 0 and m_x > 0):
//!
//! ```text
//! ln L(p, q, γ | x, m_x) = ln Γ(px + q) − ln Γ(px) − ln Γ(q) + q ln γ
//!                          + (px − 1) ln m_x + px ln x − (px + q) ln(γ + x m_x)
//!
//! E[M | x, m_x] = p (γ + x m_x) / (px + q − 1)
//!              = (1 − w) · γp/(q − 1) + w · m_x,   w = px / (px + q − 1)
//! ```
//!
//! The expected spend is the population mean γp/(q − 1) pulled towards the
//! customer's own mean as they buy more; it exists only for q > 1.
//! Spend is independent of purchase frequency in this model, which is why
//! the BG/NBD count and this spend multiply into a lifetime value.

use super::special::ln_gamma;
use crate::purchase::CustomerSummary;
use serde::{Deserialize, Serialize};

/// The three parameters of a fitted Gamma-Gamma spend model (spend in
/// major units of the shop's currency).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GammaGamma {
    /// Shape of the spend of one purchase.
    pub p: f64,
    /// Shape of the spread of customers' mean spends.
    pub q: f64,
    /// Scale of the spread of customers' mean spends.
    pub gamma: f64,
}

impl GammaGamma {
    /// Whether every parameter is a positive finite number.
    pub fn is_valid(&self) -> bool {
        [self.p, self.q, self.gamma]
            .iter()
            .all(|v| v.is_finite() && *v > 0.0)
    }

    /// Whether a customer is one the model reads: repeat purchases with a
    /// positive mean spend.
    pub fn applies_to(customer: &CustomerSummary) -> bool {
        customer.frequency > 0 && customer.monetary > 0.0 && customer.monetary.is_finite()
    }

    /// ln L of one customer (formula above); NaN for a customer the model
    /// does not apply to.
    pub fn customer_log_likelihood(&self, customer: &CustomerSummary) -> f64 {
        if !Self::applies_to(customer) {
            return f64::NAN;
        }
        let GammaGamma { p, q, gamma } = *self;
        let x = f64::from(customer.frequency);
        let m = customer.monetary;
        let px = p * x;
        ln_gamma(px + q) - ln_gamma(px) - ln_gamma(q)
            + q * gamma.ln()
            + (px - 1.0) * m.ln()
            + px * x.ln()
            - (px + q) * (gamma + x * m).ln()
    }

    /// The log-likelihood of the customers the model applies to (the
    /// others are skipped).
    pub fn log_likelihood(&self, customers: &[CustomerSummary]) -> f64 {
        customers
            .iter()
            .filter(|c| Self::applies_to(c))
            .map(|c| self.customer_log_likelihood(c))
            .sum()
    }

    /// The mean spend per purchase across customers, γp / (q − 1); `None`
    /// when q ≤ 1 (the spread is so wide that the mean does not exist).
    pub fn population_mean_spend(&self) -> Option<f64> {
        (self.q > 1.0).then(|| self.gamma * self.p / (self.q - 1.0))
    }

    /// The expected spend per future purchase of this customer (formula
    /// above): the population mean for a customer without repeat
    /// purchases. `None` when q ≤ 1.
    pub fn expected_spend(&self, customer: &CustomerSummary) -> Option<f64> {
        let population = self.population_mean_spend()?;
        if !Self::applies_to(customer) {
            return Some(population);
        }
        let px = self.p * f64::from(customer.frequency);
        let own = px / (px + self.q - 1.0);
        Some((1.0 - own) * population + own * customer.monetary)
    }
}

/// The spend-model customers prepared for fast likelihood evaluation:
/// sorted by x so ln Γ(px + q) − ln Γ(px) is computed once per distinct x,
/// with ln x and ln m_x computed once. Evaluating allocates nothing.
pub(crate) struct GammaGammaData {
    rows: Vec<Row>,
}

struct Row {
    x: f64,
    ln_x: f64,
    m: f64,
    ln_m: f64,
}

impl GammaGammaData {
    /// Prepares the customers the model applies to.
    pub(crate) fn new(customers: &[CustomerSummary]) -> GammaGammaData {
        let mut rows: Vec<Row> = customers
            .iter()
            .filter(|c| GammaGamma::applies_to(c))
            .map(|c| {
                let x = f64::from(c.frequency);
                Row {
                    x,
                    ln_x: x.ln(),
                    m: c.monetary,
                    ln_m: c.monetary.ln(),
                }
            })
            .collect();
        rows.sort_by(|a, b| a.x.total_cmp(&b.x));
        GammaGammaData { rows }
    }

    /// The customers the model is fitted on.
    pub(crate) fn customers(&self) -> usize {
        self.rows.len()
    }

    /// The total log-likelihood at `model` (NaN for invalid parameters).
    pub(crate) fn log_likelihood(&self, model: &GammaGamma) -> f64 {
        if !model.is_valid() {
            return f64::NAN;
        }
        let GammaGamma { p, q, gamma } = *model;
        let constant = q * gamma.ln() - ln_gamma(q);
        let (mut x_now, mut ratio) = (f64::NAN, 0.0);
        let mut total = 0.0;
        for row in &self.rows {
            let px = p * row.x;
            if row.x != x_now {
                x_now = row.x;
                ratio = ln_gamma(px + q) - ln_gamma(px);
            }
            total += ratio + constant + (px - 1.0) * row.ln_m + px * row.ln_x
                - (px + q) * (gamma + row.x * row.m).ln();
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The published estimates on the CDNOW sample (Fader & Hardie 2013).
    const CDNOW: GammaGamma = GammaGamma {
        p: 6.25,
        q: 3.74,
        gamma: 15.44,
    };

    fn customer(frequency: u32, monetary: f64) -> CustomerSummary {
        CustomerSummary {
            frequency,
            recency: 1.0,
            age: 2.0,
            monetary,
        }
    }

    #[test]
    fn one_customers_likelihood_by_hand() {
        // x = 2, m = 22.345 (CDNOW's customer 1):
        // lnΓ(16.24) − lnΓ(12.5) − lnΓ(3.74)     = 28.558962 − 18.734348 − 1.475005
        // + 3.74 ln 15.44                        = + 10.236236
        // + 11.5 ln 22.345 + 12.5 ln 2           = + 35.725930 + 8.664340
        // − 16.24 ln(15.44 + 44.69)              = − 66.527304
        // ln L                                   = −3.551189
        let ll = CDNOW.customer_log_likelihood(&customer(2, 22.345));
        assert!((ll - -3.551_189).abs() < 2e-6, "{ll}");
        assert!(CDNOW.customer_log_likelihood(&customer(0, 0.0)).is_nan());
    }

    #[test]
    fn the_prepared_likelihood_equals_the_sum_of_customers() {
        let customers = [
            customer(2, 22.345),
            customer(1, 11.77),
            customer(0, 0.0),
            customer(3, 0.0),
            customer(2, 50.0),
            customer(7, 13.2),
        ];
        let data = GammaGammaData::new(&customers);
        assert_eq!(data.customers(), 4);
        let want = CDNOW.log_likelihood(&customers);
        assert!((data.log_likelihood(&CDNOW) - want).abs() < 1e-9 * want.abs());
    }

    #[test]
    fn expected_spend_pulls_towards_the_population_mean() {
        // Population mean γp/(q−1) = 15.44 · 6.25 / 2.74 = 35.218978.
        let population = CDNOW.population_mean_spend().unwrap();
        assert!((population - 35.218_978).abs() < 1e-6, "{population}");
        // x = 2, m = 22.345: p(γ + x m)/(px + q − 1) = 6.25 · 60.13 / 15.24
        //                  = 24.659613
        let spend = CDNOW.expected_spend(&customer(2, 22.345)).unwrap();
        assert!((spend - 24.659_613).abs() < 1e-6, "{spend}");
        // Someone without repeat purchases gets the population mean.
        assert_eq!(CDNOW.expected_spend(&customer(0, 0.0)), Some(population));
        // Many purchases: close to their own mean.
        let regular = CDNOW.expected_spend(&customer(200, 10.0)).unwrap();
        assert!((regular - 10.0).abs() < 0.1, "{regular}");
        // q ≤ 1: no mean.
        let wide = GammaGamma { q: 0.9, ..CDNOW };
        assert_eq!(wide.expected_spend(&customer(2, 22.345)), None);
    }
}
