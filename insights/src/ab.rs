//! A/B statistics: what a treated group did against a held-out group, as
//! an uplift with a 95% confidence interval, and the deterministic
//! assignment of customers to a holdout.
//!
//! ## The uplifts
//!
//! - **Purchase rate** (share of the group's customers with a purchase in
//!   the window): the difference of two proportions, treated minus
//!   holdout, with **Newcombe's hybrid score interval** (Newcombe 1998,
//!   method 10): the Wilson score interval of each proportion `(l₁, u₁)`,
//!   `(l₂, u₂)`, combined as
//!   `d − √((p₁ − l₁)² + (u₂ − p₂)²)` to `d + √((u₁ − p₁)² + (p₂ − l₂)²)`.
//!   Unlike the Wald interval it stays inside −1…1 and behaves at rates
//!   of 0% and 100% and with small groups.
//! - **Spend per customer** (customers without a purchase count as 0): the
//!   difference of the two means with **Welch's interval**:
//!   `d ± t(0.975, ν) · √(s₁²/n₁ + s₂²/n₂)`, `ν` by Welch–Satterthwaite,
//!   sample variances. It needs two customers in each group and some
//!   variation; otherwise the estimate is given without an interval.
//!
//! ## Assignment
//!
//! A campaign's holdout is decided by the ledger
//! ([`guild_ledger::programme::campaign::held_out`], keyed by the campaign
//! id). An automation, which has no campaign id, uses [`held_out`]: the
//! same draw — the first two bytes of a tagged SHA-256 as a big-endian
//! number modulo 1000, held out when below the share in per mille — under
//! its own tag `guild/automation-holdout/v1` over the automation's salt
//! (length-prefixed) and the customer's address. The same salt and
//! customer always give the same group, and over many customers the
//! share held out is close to the share asked for.

use guild_ledger::crypto::Address;
use guild_ledger::hash::tagged_hash;
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// The domain tag of [`held_out`].
pub const AUTOMATION_HOLDOUT: &str = "guild/automation-holdout/v1";

/// True if `customer` is in the holdout of the automation with `salt`,
/// for a holdout of `share_permille` per mille (see the module
/// documentation; at most 1000).
pub fn held_out(salt: &[u8], customer: &Address, share_permille: u16) -> bool {
    if share_permille == 0 {
        return false;
    }
    let length = (salt.len() as u64).to_be_bytes();
    let h = tagged_hash(AUTOMATION_HOLDOUT, &[&length, salt, &customer.0]);
    let draw = u16::from_be_bytes([h.0[0], h.0[1]]) % 1000;
    draw < share_permille
}

/// One group's outcomes, accumulated customer by customer.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Group {
    /// Customers in the group.
    pub customers: u32,
    /// Of them, those with a purchase.
    pub purchasers: u32,
    /// Mean spend per customer.
    mean: f64,
    /// Sum of squared deviations from the mean (Welford).
    m2: f64,
    /// Total spend.
    total: f64,
}

impl Group {
    /// Adds a customer who spent `spend` (0 without a purchase).
    pub fn add(&mut self, purchased: bool, spend: f64) {
        self.customers = self.customers.saturating_add(1);
        if purchased {
            self.purchasers = self.purchasers.saturating_add(1);
        }
        let n = f64::from(self.customers);
        let delta = spend - self.mean;
        self.mean += delta / n;
        self.m2 += delta * (spend - self.mean);
        self.total += spend;
    }

    /// The share of customers with a purchase (`None` for an empty
    /// group).
    pub fn purchase_rate(&self) -> Option<f64> {
        (self.customers > 0).then(|| f64::from(self.purchasers) / f64::from(self.customers))
    }

    /// Mean spend per customer (`None` for an empty group).
    pub fn mean_spend(&self) -> Option<f64> {
        (self.customers > 0).then_some(self.mean)
    }

    /// Total spend.
    pub fn total_spend(&self) -> f64 {
        self.total
    }

    /// The sample variance of spend (`None` below two customers).
    pub fn variance(&self) -> Option<f64> {
        (self.customers > 1).then(|| self.m2 / f64::from(self.customers - 1))
    }
}

/// An estimated difference (treated minus holdout) and its 95%
/// confidence interval, when one can be given.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Uplift {
    /// The difference.
    pub estimate: f64,
    /// Its 95% interval, low and high.
    pub interval: Option<(f64, f64)>,
}

/// The treated group against the holdout.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Comparison {
    /// The treated group.
    pub treated: Group,
    /// The held-out group.
    pub holdout: Group,
    /// Uplift in purchase rate (`None` if a group is empty).
    pub purchase_rate: Option<Uplift>,
    /// Uplift in spend per customer (`None` if a group is empty).
    pub spend: Option<Uplift>,
}

/// Compares `treated` with `holdout`.
pub fn compare(treated: Group, holdout: Group) -> Comparison {
    Comparison {
        treated,
        holdout,
        purchase_rate: proportion_difference(
            treated.purchasers,
            treated.customers,
            holdout.purchasers,
            holdout.customers,
        ),
        spend: mean_difference(&treated, &holdout),
    }
}

/// The 0.975 quantile of the standard normal distribution.
fn z975() -> f64 {
    Normal::new(0.0, 1.0).map_or(1.959_963_984_540_054, |n| n.inverse_cdf(0.975))
}

/// The Wilson score interval of `x` successes in `n` (n > 0).
fn wilson(x: u32, n: u32, z: f64) -> (f64, f64) {
    let (x, n) = (f64::from(x), f64::from(n));
    let p = x / n;
    let z2 = z * z;
    let denominator = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denominator;
    let half = z / denominator * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// `x1/n1 − x2/n2` with Newcombe's hybrid score interval (`None` if a
/// group is empty).
pub fn proportion_difference(x1: u32, n1: u32, x2: u32, n2: u32) -> Option<Uplift> {
    if n1 == 0 || n2 == 0 || x1 > n1 || x2 > n2 {
        return None;
    }
    let z = z975();
    let (p1, p2) = (f64::from(x1) / f64::from(n1), f64::from(x2) / f64::from(n2));
    let (l1, u1) = wilson(x1, n1, z);
    let (l2, u2) = wilson(x2, n2, z);
    let d = p1 - p2;
    let low = d - ((p1 - l1).powi(2) + (u2 - p2).powi(2)).sqrt();
    let high = d + ((u1 - p1).powi(2) + (p2 - l2).powi(2)).sqrt();
    Some(Uplift {
        estimate: d,
        interval: Some((low.max(-1.0), high.min(1.0))),
    })
}

/// The difference of the two groups' mean spend with Welch's interval
/// (`None` if a group is empty; no interval below two customers a group or
/// without any variation).
pub fn mean_difference(a: &Group, b: &Group) -> Option<Uplift> {
    let d = a.mean_spend()? - b.mean_spend()?;
    let interval = (|| {
        let (va, vb) = (a.variance()?, b.variance()?);
        let (na, nb) = (f64::from(a.customers), f64::from(b.customers));
        let (qa, qb) = (va / na, vb / nb);
        let se2 = qa + qb;
        if se2 <= 0.0 || !se2.is_finite() {
            return None;
        }
        let df = se2 * se2 / (qa * qa / (na - 1.0) + qb * qb / (nb - 1.0));
        let t = StudentsT::new(0.0, 1.0, df).ok()?.inverse_cdf(0.975);
        let half = t * se2.sqrt();
        half.is_finite().then_some((d - half, d + half))
    })();
    Some(Uplift {
        estimate: d,
        interval,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance
    }

    #[test]
    fn newcombe_intervals_match_the_published_values() {
        // Newcombe (1998), Table II, method 10 (to 4 decimals).
        let cases = [
            ((56, 70, 48, 80), (0.0524, 0.3339)),
            ((9, 10, 3, 10), (0.1705, 0.8090)),
            ((6, 7, 2, 7), (0.0582, 0.8062)),
            ((5, 56, 0, 29), (-0.0381, 0.1926)),
            ((0, 10, 0, 20), (-0.1611, 0.2775)),
            ((10, 10, 0, 20), (0.6791, 1.0000)),
        ];
        for ((x1, n1, x2, n2), (low, high)) in cases {
            let u = proportion_difference(x1, n1, x2, n2).unwrap();
            let (l, h) = u.interval.unwrap();
            let d = f64::from(x1) / f64::from(n1) - f64::from(x2) / f64::from(n2);
            assert!(close(u.estimate, d, 1e-12));
            assert!(
                close(l, low, 5e-5) && close(h, high, 5e-5),
                "{x1}/{n1} - {x2}/{n2}: ({l:.4}, {h:.4}), published ({low}, {high})"
            );
        }
        assert_eq!(proportion_difference(1, 10, 0, 0), None);
    }

    #[test]
    fn welch_interval_matches_a_hand_computation() {
        // a = 1..5: mean 3, s² 2.5; b = 2,4,…,12: mean 7, s² 14.
        // se = √(2.5/5 + 14/6) = 1.683251; ν = 2.8333² / (0.5²/4 +
        // 2.3333²/5) = 6.97226; t(0.975, 6.97226) = 2.366533 (numerical
        // integration of the t density); d = −4 ± 3.983469.
        let mut a = Group::default();
        for x in [1.0, 2.0, 3.0, 4.0, 5.0] {
            a.add(true, x);
        }
        let mut b = Group::default();
        for x in [2.0, 4.0, 6.0, 8.0, 10.0, 12.0] {
            b.add(true, x);
        }
        assert!(close(a.variance().unwrap(), 2.5, 1e-12));
        assert!(close(b.variance().unwrap(), 14.0, 1e-12));
        let u = mean_difference(&a, &b).unwrap();
        assert!(close(u.estimate, -4.0, 1e-12));
        let (low, high) = u.interval.unwrap();
        assert!(close(low, -7.983469, 1e-5), "{low}");
        assert!(close(high, -0.016531, 1e-5), "{high}");
        // One customer a group: an estimate, no interval.
        let mut one = Group::default();
        one.add(false, 0.0);
        let u = mean_difference(&one, &b).unwrap();
        assert_eq!((u.estimate, u.interval), (-7.0, None));
    }

    #[test]
    fn a_comparison_counts_purchasers_and_spend() {
        let mut treated = Group::default();
        let mut holdout = Group::default();
        for (purchased, spend) in [(true, 10.0), (true, 20.0), (false, 0.0), (true, 30.0)] {
            treated.add(purchased, spend);
        }
        for (purchased, spend) in [(true, 10.0), (false, 0.0)] {
            holdout.add(purchased, spend);
        }
        let c = compare(treated, holdout);
        assert_eq!(c.treated.purchase_rate(), Some(0.75));
        assert_eq!(c.holdout.purchase_rate(), Some(0.5));
        assert_eq!(c.purchase_rate.unwrap().estimate, 0.25);
        assert_eq!(c.treated.mean_spend(), Some(15.0));
        assert_eq!(c.spend.unwrap().estimate, 10.0);
        assert_eq!(c.treated.total_spend(), 60.0);
    }

    #[test]
    fn holdout_assignment_is_stable_and_near_its_share() {
        let customer = |i: u32| {
            let mut bytes = [0u8; 32];
            bytes[..4].copy_from_slice(&i.to_be_bytes());
            Address(bytes)
        };
        // Same inputs, same group, every time.
        for i in 0..100 {
            let c = customer(i);
            assert_eq!(
                held_out(b"welcome-back", &c, 200),
                held_out(b"welcome-back", &c, 200)
            );
        }
        // A customer held out at 10% stays held out at 20% (the draw is
        // fixed; only the threshold moves).
        for i in 0..1000 {
            let c = customer(i);
            if held_out(b"welcome-back", &c, 100) {
                assert!(held_out(b"welcome-back", &c, 200));
            }
        }
        // Over 20,000 customers the share is within 1 point of 20%
        // (the standard error is 0.28 points).
        let held = (0..20_000)
            .filter(|i| held_out(b"welcome-back", &customer(*i), 200))
            .count();
        assert!((3_800..=4_200).contains(&held), "{held}");
        // Another salt draws another group.
        let differ = (0..1000)
            .filter(|i| {
                held_out(b"welcome-back", &customer(*i), 500)
                    != held_out(b"birthday", &customer(*i), 500)
            })
            .count();
        assert!(differ > 300, "{differ}");
        assert!(!held_out(b"x", &customer(1), 0));
        assert!((0..100).all(|i| held_out(b"x", &customer(i), 1000)));
    }

    #[test]
    fn the_draw_is_pinned() {
        // The tag and layout are what automations promise: a customer
        // stays in the same group across versions. Worked out with
        // Python's hashlib: sha256(u64be(27) ‖ "guild/automation-holdout/v1"
        // ‖ u64be(4) ‖ "salt" ‖ [7; 32]) starts 28 0e: 0x280e = 10254,
        // draw 254.
        let c = Address([7; 32]);
        assert!(held_out(b"salt", &c, 255));
        assert!(!held_out(b"salt", &c, 254));
        // …and for "welcome-back" and [9; 32], 7c 9b: 31899, draw 899.
        let c = Address([9; 32]);
        assert!(held_out(b"welcome-back", &c, 900));
        assert!(!held_out(b"welcome-back", &c, 899));
    }
}
