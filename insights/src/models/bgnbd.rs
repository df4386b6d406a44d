//! The BG/NBD model of repeat purchasing (Fader, Hardie & Lee, "Counting
//! your customers the easy way: an alternative to the Pareto/NBD model",
//! Marketing Science 24(2), 2005).
//!
//! While a customer is active they buy at a rate λ per week (Poisson), and
//! after each purchase they stop being a customer with probability p. Across
//! customers λ ~ Gamma(r, α) and p ~ Beta(a, b). With x repeat purchases,
//! the last at t_x, observed over T weeks (a [`CustomerSummary`]):
//!
//! ```text
//! ln L(r, α, a, b | x, t_x, T) = A₁ + A₂ + ln(e^A₃ + δ(x>0) e^A₄)
//!   A₁ = ln Γ(r + x) − ln Γ(r) + r ln α
//!   A₂ = ln Γ(a + b) + ln Γ(b + x) − ln Γ(b) − ln Γ(a + b + x)
//!   A₃ = −(r + x) ln(α + T)
//!   A₄ = ln a − ln(b + x − 1) − (r + x) ln(α + t_x)
//!
//! P(active | x, t_x, T) = 1 / (1 + δ(x>0) · a / (b + x − 1) · ((α + T)/(α + t_x))^(r + x))
//!
//! E[X(t)] = (a + b − 1)/(a − 1) · [1 − (α/(α + t))^r ₂F₁(r, b; a + b − 1; t/(α + t))]       (eq. 9)
//!
//! E[Y(t) | x, t_x, T] = (a + b + x − 1)/(a − 1)
//!     · [1 − ((α + T)/(α + T + t))^(r + x) ₂F₁(r + x, b + x; a + b + x − 1; t/(α + T + t))]
//!     · P(active | x, t_x, T)                                                              (eq. 10)
//! ```
//!
//! The ₂F₁ series of a customer with thousands of purchases exceeds the
//! range of a float while its product with the power in front does not:
//! the two are computed together ([`bracket`]). Both expectations are 0/0 at a = 1 (the limit exists);
//! there they are interpolated linearly between a = 1 ± 10⁻⁴, which is
//! exact to about 10⁻⁸ of the value.

use super::ModelError;
use super::special::{hyp2f1_scaled, ln_gamma, log_add_exp};
use crate::purchase::CustomerSummary;
use serde::{Deserialize, Serialize};

/// Below this distance of a from 1 the expectations are interpolated.
const NEAR_ONE: f64 = 1e-4;

/// The four parameters of a fitted BG/NBD model; time in weeks.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BgNbd {
    /// Shape of the purchase-rate distribution across customers.
    pub r: f64,
    /// Scale (in weeks) of the purchase-rate distribution: the mean rate of
    /// an active customer is r / α purchases a week.
    pub alpha: f64,
    /// First shape of the drop-out probability distribution.
    pub a: f64,
    /// Second shape: the mean chance of stopping after a purchase is
    /// a / (a + b).
    pub b: f64,
}

impl BgNbd {
    /// Whether every parameter is a positive finite number.
    pub fn is_valid(&self) -> bool {
        [self.r, self.alpha, self.a, self.b]
            .iter()
            .all(|v| v.is_finite() && *v > 0.0)
    }

    /// The mean number of purchases a week of an active customer (r / α).
    pub fn mean_weekly_rate(&self) -> f64 {
        self.r / self.alpha
    }

    /// The mean chance that a customer stops after a purchase (a / (a + b)).
    pub fn mean_dropout(&self) -> f64 {
        self.a / (self.a + self.b)
    }

    /// ln L of one customer (formula above).
    pub fn customer_log_likelihood(&self, customer: &CustomerSummary) -> f64 {
        let BgNbd { r, alpha, a, b } = *self;
        let x = f64::from(customer.frequency);
        let x_int = customer.frequency;
        let a1 = ln_rising(r, x_int) + r * alpha.ln();
        let a2 = ln_rising(b, x_int) - ln_rising(a + b, x_int);
        let a3 = -(r + x) * (alpha + customer.age).ln();
        if customer.frequency == 0 {
            return a1 + a2 + a3;
        }
        let a4 = a.ln() - (b + x - 1.0).ln() - (r + x) * (alpha + customer.recency).ln();
        a1 + a2 + log_add_exp(a3, a4)
    }

    /// The log-likelihood of a set of customers: the sum of theirs.
    pub fn log_likelihood(&self, customers: &[CustomerSummary]) -> f64 {
        customers
            .iter()
            .map(|c| self.customer_log_likelihood(c))
            .sum()
    }

    /// The probability that the customer is still active (formula above;
    /// 1 for a customer who has not bought again: in this model a customer
    /// can only stop right after a purchase).
    pub fn p_alive(&self, customer: &CustomerSummary) -> f64 {
        if customer.frequency == 0 {
            return 1.0;
        }
        let x = f64::from(customer.frequency);
        let log_odds_gone = (self.a / (self.b + x - 1.0)).ln()
            + (self.r + x) * ((self.alpha + customer.age) / (self.alpha + customer.recency)).ln();
        1.0 / (1.0 + log_odds_gone.exp())
    }

    /// The expected number of purchases of this customer in the next
    /// `weeks` weeks, given their history (eq. 10 above).
    pub fn expected_purchases(
        &self,
        customer: &CustomerSummary,
        weeks: f64,
    ) -> Result<f64, ModelError> {
        check_weeks(weeks)?;
        super::check_customer(customer)?;
        let x = f64::from(customer.frequency);
        let z = weeks / (self.alpha + customer.age + weeks);
        let at = |a: f64| -> Result<f64, ModelError> {
            let c = a + self.b + x - 1.0;
            Ok(c / (a - 1.0) * bracket(self.r, a, self.b, x, z)?)
        };
        Ok(near_one(self.a, at)? * self.p_alive(customer))
    }

    /// The expected number of repeat purchases in the first `weeks` weeks
    /// of a new customer (eq. 9 above).
    pub fn expected_purchases_new(&self, weeks: f64) -> Result<f64, ModelError> {
        check_weeks(weeks)?;
        let z = weeks / (self.alpha + weeks);
        near_one(self.a, |a| {
            let c = a + self.b - 1.0;
            Ok(c / (a - 1.0) * bracket(self.r, a, self.b, 0.0, z)?)
        })
    }
}

/// The bracket of eqs. 9 (x = 0, z = t/(α+t)) and 10 (z = t/(α+T+t)):
/// 1 − (1 − z)^(r+x) ₂F₁(r + x, b + x; a + b + x − 1; z), where 1 − z is
/// (α+T)/(α+T+t), the base of the paper's power. The product is computed
/// with [`hyp2f1_scaled`]: for a customer with thousands of purchases the
/// series alone is beyond the range of a float while the product is not.
fn bracket(r: f64, a: f64, b: f64, x: f64, z: f64) -> Result<f64, ModelError> {
    let power = (r + x) * (-z).ln_1p();
    Ok(1.0 - hyp2f1_scaled(r + x, b + x, a + b + x - 1.0, z, power)?)
}

/// f(a), or for a within [`NEAR_ONE`] of 1 (where the formulas are 0/0)
/// the straight line through f(1 − h) and f(1 + h) evaluated at a.
fn near_one(a: f64, f: impl Fn(f64) -> Result<f64, ModelError>) -> Result<f64, ModelError> {
    if (a - 1.0).abs() >= NEAR_ONE {
        return f(a);
    }
    let (low, high) = (f(1.0 - NEAR_ONE)?, f(1.0 + NEAR_ONE)?);
    Ok(low + (a - (1.0 - NEAR_ONE)) / (2.0 * NEAR_ONE) * (high - low))
}

fn check_weeks(weeks: f64) -> Result<(), ModelError> {
    if weeks.is_finite() && weeks >= 0.0 {
        Ok(())
    } else {
        Err(ModelError::Horizon { weeks })
    }
}

/// The customers prepared for fast likelihood evaluation: identical
/// (x, t_x, T) merged with a weight, sorted by x so the gamma-function
/// ratios are carried from one frequency to the next instead of being
/// recomputed per customer. Built once per fit; evaluating allocates
/// nothing.
pub(crate) struct BgNbdData {
    groups: Vec<Group>,
    total_weight: f64,
}

struct Group {
    x: u32,
    recency: f64,
    age: f64,
    weight: f64,
}

/// How far x may jump between groups before the ratio is recomputed with
/// ln Γ instead of added up one log at a time.
const MAX_STEP: u32 = 1024;

/// ln Γ(v + x) − ln Γ(v), as the sum of ln(v + k) for k < x when x is at
/// most [`MAX_STEP`] (exact also for huge v, where the difference of two
/// ln Γ loses digits), else from ln Γ.
fn ln_rising(v: f64, x: u32) -> f64 {
    if x <= MAX_STEP {
        (0..x).map(|k| (v + f64::from(k)).ln()).sum()
    } else {
        let x = f64::from(x);
        ln_gamma(v + x) - ln_gamma(v)
    }
}

impl BgNbdData {
    /// Prepares valid customers (the caller checked them).
    pub(crate) fn new(customers: &[CustomerSummary]) -> BgNbdData {
        let mut sorted: Vec<(u32, f64, f64)> = customers
            .iter()
            .map(|c| (c.frequency, c.recency, c.age))
            .collect();
        sorted.sort_by(|p, q| {
            p.0.cmp(&q.0)
                .then(p.1.total_cmp(&q.1))
                .then(p.2.total_cmp(&q.2))
        });
        let mut groups: Vec<Group> = Vec::new();
        for (x, recency, age) in sorted {
            match groups.last_mut() {
                Some(g) if g.x == x && g.recency == recency && g.age == age => g.weight += 1.0,
                _ => groups.push(Group {
                    x,
                    recency,
                    age,
                    weight: 1.0,
                }),
            }
        }
        BgNbdData {
            groups,
            total_weight: customers.len() as f64,
        }
    }

    /// The distinct (x, t_x, T) histories.
    #[cfg(test)]
    pub(crate) fn distinct(&self) -> usize {
        self.groups.len()
    }

    /// The total log-likelihood at `model` (NaN for invalid parameters).
    pub(crate) fn log_likelihood(&self, model: &BgNbd) -> f64 {
        if !model.is_valid() {
            return f64::NAN;
        }
        let BgNbd { r, alpha, a, b } = *model;
        let ln_alpha = alpha.ln();
        let ln_a = a.ln();
        // Carried along x: ln Γ(r+x) − ln Γ(r) and
        // ln Γ(b+x) − ln Γ(a+b+x) − (ln Γ(b) − ln Γ(a+b)).
        let (mut x_now, mut rate_ratio, mut drop_ratio) = (0u32, 0.0_f64, 0.0_f64);
        let mut ln_b_x1 = f64::NAN; // ln(b + x − 1), for x > 0
        let mut total = 0.0;
        for g in &self.groups {
            if g.x != x_now {
                if g.x - x_now <= MAX_STEP {
                    for k in x_now..g.x {
                        let k = f64::from(k);
                        rate_ratio += (r + k).ln();
                        drop_ratio += ((b + k) / (a + b + k)).ln();
                    }
                } else {
                    rate_ratio = ln_rising(r, g.x);
                    drop_ratio = ln_rising(b, g.x) - ln_rising(a + b, g.x);
                }
                x_now = g.x;
                ln_b_x1 = (b + f64::from(x_now) - 1.0).ln();
            }
            let rx = r + f64::from(g.x);
            let a3 = -rx * (alpha + g.age).ln();
            let tail = if g.x == 0 {
                a3
            } else {
                let a4 = ln_a - ln_b_x1 - rx * (alpha + g.recency).ln();
                log_add_exp(a3, a4)
            };
            total += g.weight * (rate_ratio + r * ln_alpha + drop_ratio + tail);
        }
        total
    }

    /// The customers' count (the sum of the weights).
    pub(crate) fn customers(&self) -> f64 {
        self.total_weight
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The published estimates on the CDNOW sample (Fader, Hardie & Lee
    /// 2005, section 5).
    const CDNOW: BgNbd = BgNbd {
        r: 0.243,
        alpha: 4.414,
        a: 0.793,
        b: 2.426,
    };

    fn customer(frequency: u32, recency: f64, age: f64) -> CustomerSummary {
        CustomerSummary {
            frequency,
            recency,
            age,
            monetary: 0.0,
        }
    }

    fn close(got: f64, want: f64, absolute: f64) {
        assert!((got - want).abs() <= absolute, "got {got}, want {want}");
    }

    #[test]
    fn one_customers_likelihood_by_hand() {
        // x = 2, t_x = 30.43, T = 38.86 at the published estimates:
        // A1 = lnΓ(2.243) − lnΓ(0.243) + 0.243 ln 4.414
        //    = 0.120878 − 1.318044 + 0.360802              = −0.836364
        // A2 = lnΓ(3.219) + lnΓ(4.426) − lnΓ(2.426) − lnΓ(5.219)
        //    = 0.904449 + 2.351645 − 0.234008 − 3.513118   = −0.491032
        // A3 = −2.243 ln(43.274)                           = −8.450619
        // A4 = ln 0.793 − ln 3.426 − 2.243 ln(34.844)      = −9.427951
        // ln L = A1 + A2 + ln(e^A3 + e^A4)                 = −9.458606
        let c = customer(2, 30.43, 38.86);
        close(CDNOW.customer_log_likelihood(&c), -9.458_606, 2e-6);
        // x = 0, T = 38.86: A1 = 0.243 ln 4.414 = 0.360802, A2 = 0,
        // A3 = −0.243 ln 43.274 = −0.915515: ln L = −0.554713.
        close(
            CDNOW.customer_log_likelihood(&customer(0, 0.0, 38.86)),
            -0.554_713,
            2e-6,
        );
    }

    #[test]
    fn the_prepared_likelihood_equals_the_sum_of_customers() {
        let customers = [
            customer(0, 0.0, 38.86),
            customer(0, 0.0, 38.86),
            customer(2, 30.43, 38.86),
            customer(1, 1.71, 38.86),
            customer(5, 20.0, 30.0),
            customer(80, 37.0, 38.0),
            customer(2, 30.43, 38.86),
        ];
        let data = BgNbdData::new(&customers);
        assert_eq!(data.distinct(), 5);
        let want = CDNOW.log_likelihood(&customers);
        close(data.log_likelihood(&CDNOW), want, 1e-9 * want.abs());
        let other = BgNbd {
            r: 2.0,
            alpha: 0.5,
            a: 3.0,
            b: 0.7,
        };
        let want = other.log_likelihood(&customers);
        close(data.log_likelihood(&other), want, 1e-9 * want.abs());
    }

    #[test]
    fn p_alive_by_hand() {
        // x = 2, t_x = 30.43, T = 38.86:
        // a/(b+x−1) = 0.793/3.426 = 0.231465
        // ((α+T)/(α+t_x))^(r+x) = (43.274/34.844)^2.243 = 1.625788
        // P = 1/(1 + 0.231465 · 1.625789) = 0.726579
        close(CDNOW.p_alive(&customer(2, 30.43, 38.86)), 0.726_579, 1e-6);
        // x = 1, t_x = 1.71, T = 38.86 (bought twice in the first fortnight):
        // a/b = 0.326876; (43.274/6.124)^1.243 = 11.364373; P = 0.212101
        close(CDNOW.p_alive(&customer(1, 1.71, 38.86)), 0.212_101, 1e-6);
        // No repeat purchase: still active in this model.
        assert_eq!(CDNOW.p_alive(&customer(0, 0.0, 38.86)), 1.0);
        // Bought on the last day: the odds of being gone are a/(b+x−1).
        close(
            CDNOW.p_alive(&customer(3, 38.86, 38.86)),
            1.0 / (1.0 + 0.793 / 4.426),
            1e-12,
        );
    }

    #[test]
    fn the_papers_conditional_expectation() {
        // Section 5: a customer with x = 2, t_x = 30.43, T = 38.86 is
        // expected to make 1.226 purchases in the next 39 weeks.
        let e = CDNOW
            .expected_purchases(&customer(2, 30.43, 38.86), 39.0)
            .unwrap();
        close(e, 1.226, 0.0005);
        assert_eq!(
            CDNOW
                .expected_purchases(&customer(2, 30.43, 38.86), 0.0)
                .unwrap(),
            0.0
        );
    }

    /// E[X(t)] by integrating the individual-level expectation
    /// (1/p)(1 − e^(−λpt)) over λ ~ Gamma(r, α) and p ~ Beta(a, b): the λ
    /// integral is (α/(α+pt))^r, the p integral is done by tanh-sinh
    /// quadrature (p = (1 + tanh(π/2 sinh s))/2, step 1/64), which is
    /// accurate to many digits despite the p^(a−1) and (1−p)^(b−1) ends.
    fn unconditional_by_integration(m: &BgNbd, t: f64) -> f64 {
        let f = |p: f64, q: f64| -> f64 {
            // q = 1 − p, computed without cancellation.
            (1.0 - (m.alpha / (m.alpha + p * t)).powf(m.r)) / p
                * p.powf(m.a - 1.0)
                * q.powf(m.b - 1.0)
        };
        let h = 1.0 / 64.0;
        let mut sum = 0.0;
        for k in -6 * 64..=6 * 64 {
            let s = f64::from(k) * h;
            let u = std::f64::consts::FRAC_PI_2 * s.sinh();
            let (p, q) = (
                1.0 / (1.0 + (-2.0 * u).exp()),
                1.0 / (1.0 + (2.0 * u).exp()),
            );
            if p == 0.0 || q == 0.0 {
                continue;
            }
            let weight = std::f64::consts::FRAC_PI_4 * s.cosh() / u.cosh().powi(2);
            sum += h * weight * f(p, q);
        }
        let ln_beta = ln_gamma(m.a) + ln_gamma(m.b) - ln_gamma(m.a + m.b);
        sum / ln_beta.exp()
    }

    #[test]
    fn the_unconditional_expectation_equals_its_integral() {
        for model in [
            CDNOW,
            BgNbd {
                r: 1.5,
                alpha: 2.0,
                a: 2.5,
                b: 1.2,
            },
        ] {
            for t in [1.0, 39.0, 78.0] {
                let formula = model.expected_purchases_new(t).unwrap();
                let integral = unconditional_by_integration(&model, t);
                close(formula, integral, 1e-9 * integral);
            }
        }
    }

    #[test]
    fn a_customer_with_thousands_of_purchases_is_computed() {
        // Almost daily for seven years: x = 2,500, the last 5 days ago,
        // over the next three years (156 weeks). The series alone grows
        // like (1 − z)^−2500 ≈ 3·10^382, beyond any float; mpmath (40
        // digits) gives 878.563761 for eq. 10.
        let c = customer(2_500, 2_550.0 / 7.0, 2_555.0 / 7.0);
        let e = CDNOW.expected_purchases(&c, 156.0).unwrap();
        close(e, 878.563_761, 1e-5);
    }

    #[test]
    fn the_limit_of_equal_dropout_for_everyone_is_computed() {
        // a and b huge with a/(a+b) fixed: p is the same for every
        // customer. The expectations approach those of a = 0.3k, b = 0.7k
        // as k grows; at k = 10^6 they agree with k = 10^11 to 10^-5.
        let at = |k: f64| BgNbd {
            r: 1.5,
            alpha: 5.5,
            a: 0.3 * k,
            b: 0.7 * k,
        };
        let c = customer(4, 20.0, 26.0);
        for weeks in [4.0, 52.0] {
            let far = at(1e11).expected_purchases(&c, weeks).unwrap();
            let near = at(1e6).expected_purchases(&c, weeks).unwrap();
            close(far, near, 1e-5 * near);
            let new = at(1e11).expected_purchases_new(weeks).unwrap();
            close(
                new,
                at(1e6).expected_purchases_new(weeks).unwrap(),
                1e-5 * new,
            );
        }
    }

    #[test]
    fn a_brand_new_customer_is_the_unconditional_expectation() {
        let new = customer(0, 0.0, 0.0);
        for t in [4.0, 52.0] {
            close(
                CDNOW.expected_purchases(&new, t).unwrap(),
                CDNOW.expected_purchases_new(t).unwrap(),
                1e-12,
            );
        }
    }

    #[test]
    fn at_a_equal_to_one_the_limit_is_used() {
        let at = |a: f64| BgNbd { a, ..CDNOW };
        let c = customer(2, 30.43, 38.86);
        let left = at(1.0 - 1e-3).expected_purchases(&c, 39.0).unwrap();
        let right = at(1.0 + 1e-3).expected_purchases(&c, 39.0).unwrap();
        let one = at(1.0).expected_purchases(&c, 39.0).unwrap();
        assert!(one.is_finite());
        close(one, (left + right) / 2.0, 1e-6);
        let new = at(1.0).expected_purchases_new(39.0).unwrap();
        close(new, unconditional_by_integration(&at(1.0), 39.0), 1e-6);
    }

    #[test]
    fn bad_horizons_and_histories_are_refused() {
        let c = customer(2, 30.43, 38.86);
        assert!(matches!(
            CDNOW.expected_purchases(&c, -1.0),
            Err(ModelError::Horizon { .. })
        ));
        assert!(matches!(
            CDNOW.expected_purchases_new(f64::NAN),
            Err(ModelError::Horizon { .. })
        ));
        assert!(matches!(
            CDNOW.expected_purchases(&customer(2, 40.0, 38.86), 1.0),
            Err(ModelError::Customer { .. })
        ));
    }
}
