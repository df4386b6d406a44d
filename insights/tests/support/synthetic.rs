//! Customers drawn from the models' own generative process, with a seeded
//! generator (the same seed gives the same customers): shared by the
//! recovery test and the fitting benchmark.
//!
//! Each customer's first purchase falls on one of the first 84 days
//! (twelve weeks, like the CDNOW cohort) and the calibration ends on day
//! 364. While active they buy at rate λ ~ Gamma(r, 1/α) a week; after
//! each repeat purchase they stop with probability p ~ Beta(a, b).
//! Each purchase is worth z ~ Gamma(p, 1/ν) with ν ~ Gamma(q, 1/γ) per
//! customer. Purchases are rounded down to whole days and summarised with
//! the crate's own conventions (same-day purchases merge).

use guild_insights::models::{BgNbd, GammaGamma};
use guild_insights::{CustomerSummary, Day, Purchase, summarize};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution, Exp, Gamma, Uniform};

/// The calibration end, in days from the cohort's first day.
pub const CALIBRATION_END: u64 = 364;

/// `customers` summaries drawn from `purchases` and `spend`.
pub fn customers(
    customers: usize,
    purchases: BgNbd,
    spend: GammaGamma,
    seed: u64,
) -> Vec<CustomerSummary> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let rate = Gamma::new(purchases.r, 1.0 / purchases.alpha).unwrap();
    let dropout = Beta::new(purchases.a, purchases.b).unwrap();
    let scale = Gamma::new(spend.q, 1.0 / spend.gamma).unwrap();
    let start = Uniform::new(0u64, 84).unwrap();
    let mut log: Vec<Purchase<usize>> = Vec::new();
    for id in 0..customers {
        let first = start.sample(&mut rng);
        let lambda: f64 = rate.sample(&mut rng);
        let p: f64 = dropout.sample(&mut rng);
        let nu: f64 = scale.sample(&mut rng);
        let amount = Gamma::new(spend.p, 1.0 / nu).unwrap();
        let gap = Exp::new(lambda.max(1e-12)).unwrap();
        let mut buy = |day: u64, rng: &mut ChaCha8Rng| {
            let value: f64 = amount.sample(rng);
            log.push(Purchase {
                customer: id,
                day: Day(day),
                amount: (value * 100.0).round() as u64,
            });
        };
        buy(first, &mut rng);
        let horizon = (CALIBRATION_END - first) as f64 / 7.0;
        let mut t = 0.0;
        loop {
            t += gap.sample(&mut rng);
            if t > horizon {
                break;
            }
            buy(first + (t * 7.0) as u64, &mut rng);
            if Distribution::<f64>::sample(&rand_distr::StandardUniform, &mut rng) < p {
                break;
            }
        }
    }
    summarize(&log, Day(CALIBRATION_END), 2)
        .into_values()
        .collect()
}
