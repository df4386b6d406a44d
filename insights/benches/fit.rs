//! Fitting both models on 25,000 customers drawn from the BG/NBD and
//! Gamma-Gamma generative processes (a seeded generator: the same
//! customers every run), with CDNOW-like parameters. The goal is well
//! under 5 s per fit on the project's small machine (docs/performance.md).
//!
//! Run: `cargo bench -p guild-insights --bench fit`.
//! Set `GUILD_BENCH_CUSTOMERS` to change the number of customers.
#![allow(missing_docs)] // criterion's macros generate undocumented items

#[path = "../tests/support/synthetic.rs"]
mod synthetic;

use criterion::{Criterion, criterion_group, criterion_main};
use guild_insights::models::{BgNbd, GammaGamma, fit_models};
use std::hint::black_box;
use std::time::Duration;

const PURCHASES: BgNbd = BgNbd {
    r: 0.243,
    alpha: 4.414,
    a: 0.793,
    b: 2.426,
};
const SPEND: GammaGamma = GammaGamma {
    p: 6.25,
    q: 3.74,
    gamma: 15.44,
};

fn fit(c: &mut Criterion) {
    let count = std::env::var("GUILD_BENCH_CUSTOMERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(25_000);
    let customers = synthetic::customers(count, PURCHASES, SPEND, 2005);
    let models = fit_models(&customers).expect("the synthetic customers fit");
    let evaluations = (
        BgNbd::fit(&customers).map_or(0, |e| e.evaluations),
        GammaGamma::fit(&customers).map_or(0, |e| e.evaluations),
    );
    eprintln!(
        "{count} customers ({} repeat), likelihood evaluations {} + {}: r {:.3} alpha {:.3} a {:.3} b {:.3}; p {:.2} q {:.2} gamma {:.2}",
        models.repeat_customers,
        evaluations.0,
        evaluations.1,
        models.bgnbd.r,
        models.bgnbd.alpha,
        models.bgnbd.a,
        models.bgnbd.b,
        models.gamma_gamma.map_or(f64::NAN, |g| g.p),
        models.gamma_gamma.map_or(f64::NAN, |g| g.q),
        models.gamma_gamma.map_or(f64::NAN, |g| g.gamma),
    );
    let mut group = c.benchmark_group("insights");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function(format!("fit_models/customers={count}"), |b| {
        b.iter(|| fit_models(black_box(&customers)))
    });
    group.bench_function(format!("bgnbd_fit/customers={count}"), |b| {
        b.iter(|| BgNbd::fit(black_box(&customers)))
    });
    group.bench_function(format!("gamma_gamma_fit/customers={count}"), |b| {
        b.iter(|| GammaGamma::fit(black_box(&customers)))
    });
    group.finish();
}

criterion_group!(benches, fit);
criterion_main!(benches);
