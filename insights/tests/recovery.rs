//! The fit recovers the parameters customers were drawn with, and what it
//! returns is a maximum of the likelihood.

mod support;

use guild_insights::models::{BgNbd, GammaGamma, fit_models};
use support::synthetic;

const PURCHASES: BgNbd = BgNbd {
    r: 0.8,
    alpha: 6.0,
    a: 1.6,
    b: 4.0,
};
const SPEND: GammaGamma = GammaGamma {
    p: 6.0,
    q: 4.0,
    gamma: 20.0,
};

fn within(got: f64, truth: f64, relative: f64, what: &str) {
    assert!(
        (got - truth).abs() <= relative * truth,
        "{what}: fitted {got}, drawn with {truth}"
    );
}

#[test]
fn parameters_drawn_are_parameters_fitted() {
    let customers = synthetic::customers(20_000, PURCHASES, SPEND, 7);
    let models = fit_models(&customers).unwrap();
    let m = models.bgnbd;
    // 20,000 customers pin r and α to a few per cent; the drop-out
    // shapes a and b less tightly.
    within(m.r, PURCHASES.r, 0.1, "r");
    within(m.alpha, PURCHASES.alpha, 0.1, "alpha");
    within(m.a, PURCHASES.a, 0.25, "a");
    within(m.b, PURCHASES.b, 0.25, "b");
    within(m.mean_dropout(), PURCHASES.mean_dropout(), 0.1, "a/(a+b)");
    let gg = models.gamma_gamma.unwrap();
    within(gg.p, SPEND.p, 0.15, "p");
    within(gg.q, SPEND.q, 0.15, "q");
    within(gg.gamma, SPEND.gamma, 0.2, "gamma");

    // A maximum: moving any parameter 1% either way lowers the likelihood.
    let ll = m.log_likelihood(&customers);
    for i in 0..4 {
        for factor in [0.99, 1.01] {
            let mut p = [m.r, m.alpha, m.a, m.b];
            p[i] *= factor;
            let moved = BgNbd {
                r: p[0],
                alpha: p[1],
                a: p[2],
                b: p[3],
            };
            assert!(
                moved.log_likelihood(&customers) < ll,
                "BG/NBD parameter {i} × {factor}"
            );
        }
    }
    let ll = gg.log_likelihood(&customers);
    for i in 0..3 {
        for factor in [0.99, 1.01] {
            let mut p = [gg.p, gg.q, gg.gamma];
            p[i] *= factor;
            let moved = GammaGamma {
                p: p[0],
                q: p[1],
                gamma: p[2],
            };
            assert!(
                moved.log_likelihood(&customers) < ll,
                "Gamma-Gamma parameter {i} × {factor}"
            );
        }
    }
}

#[test]
fn the_same_seed_gives_the_same_customers_and_fit() {
    let one = synthetic::customers(2_000, PURCHASES, SPEND, 3);
    let two = synthetic::customers(2_000, PURCHASES, SPEND, 3);
    assert_eq!(one, two);
    assert_eq!(fit_models(&one).unwrap(), fit_models(&two).unwrap());
}
