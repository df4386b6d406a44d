//! Maximum-likelihood fitting of both models, and the one call the node
//! and the `guild insights fit` command make: [`fit_models`].
//!
//! **Optimiser.** The Nelder–Mead simplex method of `argmin` minimises the
//! mean negative log-likelihood over the logarithms of the parameters, so
//! every parameter stays positive without constraints. It starts from a
//! fixed point computed from the data (below), with a simplex one unit of
//! log wide (a factor e on each parameter), and stops when the costs at
//! the simplex's corners agree to [`COST_TOLERANCE`]. A simplex can
//! collapse before it reaches the optimum, so the search is restarted
//! from its best corner with a fresh, narrower simplex until a restart
//! improves the log-likelihood by less than [`RESTART_GAIN`] per customer
//! (at most [`MAX_RUNS`] runs of at most [`MAX_ITERATIONS`] iterations
//! each, else [`FitError::NoConvergence`]). Nothing random and no clock
//! (argmin's timer is off): the same history gives the same parameters.
//!
//! **Starting points.** BG/NBD: r = 1, α = Σ T / Σ x (weeks per repeat
//! purchase: a rate of the right scale), a = b = 1. Gamma-Gamma: p = 1,
//! q = 2, γ = the mean of the customers' mean spends (so the starting
//! population mean γp/(q − 1) is the observed one).
//!
//! **Parameters the data cannot pin down.** With too little churn in the
//! data, b can run off to infinity (no one ever stops) and similar: the
//! search keeps each log-parameter within ±[`LOG_BOUND`] and an estimate
//! that ends within 1 of that bound is refused as
//! [`FitError::NotIdentified`], naming the parameter, rather than shown as
//! a figure.

use super::bgnbd::{BgNbd, BgNbdData};
use super::gamma_gamma::{GammaGamma, GammaGammaData};
use super::{ModelError, check_customer};
use crate::purchase::CustomerSummary;
use argmin::core::{CostFunction, Error as ArgminError, Executor, State, TerminationReason};
use argmin::solver::neldermead::NelderMead;
use argmin_math::{ArgminAdd, ArgminMul, ArgminSub};
use serde::{Deserialize, Serialize};
use std::cell::Cell;

/// The fewest repeat customers (frequency > 0) a model is fitted on: with
/// fewer, the parameters are guesses and a shop would be shown noise.
pub const MIN_REPEAT_CUSTOMERS: usize = 30;

/// The most customers one fit reads (the fit is linear in them; this keeps
/// one call's time and memory bounded).
pub const MAX_CUSTOMERS: usize = 5_000_000;

/// The spread of costs (mean negative log-likelihood per customer) at which
/// one Nelder–Mead run stops.
pub const COST_TOLERANCE: f64 = 1e-13;

/// The least gain in mean log-likelihood for which a run is restarted.
pub const RESTART_GAIN: f64 = 1e-11;

/// The most Nelder–Mead runs (the first and its restarts).
pub const MAX_RUNS: usize = 12;

/// The most iterations of one run.
pub const MAX_ITERATIONS: u64 = 4_000;

/// The search keeps |ln parameter| within this (parameters within e^±30).
pub const LOG_BOUND: f64 = 30.0;

/// The cost of parameters outside the bound or where the likelihood is
/// not a number: worse than any real cost, and finite so that the
/// simplex arithmetic stays finite.
const PENALTY: f64 = 1e300;

/// Why the models could not be fitted.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum FitError {
    /// Too few customers have bought more than once.
    #[error(
        "only {repeat} customers have bought more than once and the models need at least {needed}: keep collecting purchases and fit again later"
    )]
    TooFewRepeatCustomers {
        /// Customers with a repeat purchase.
        repeat: usize,
        /// [`MIN_REPEAT_CUSTOMERS`].
        needed: usize,
    },
    /// Too few repeat customers with a positive spend for the spend model.
    #[error(
        "only {customers} repeat customers have spent more than zero and the spend model needs at least {needed}"
    )]
    TooFewSpendCustomers {
        /// Repeat customers with a positive mean spend.
        customers: usize,
        /// [`MIN_REPEAT_CUSTOMERS`].
        needed: usize,
    },
    /// More customers than one fit reads.
    #[error("{customers} customers are more than one fit reads ({max})")]
    TooManyCustomers {
        /// Customers given.
        customers: usize,
        /// [`MAX_CUSTOMERS`].
        max: usize,
    },
    /// A history that is not consistent.
    #[error("customer {index}: {source}")]
    InvalidCustomer {
        /// Its position in the input.
        index: usize,
        /// What is wrong.
        source: ModelError,
    },
    /// The optimiser kept improving until its limits.
    #[error(
        "the {model} fit did not settle within {evaluations} likelihood evaluations: the history may be too irregular for the model"
    )]
    NoConvergence {
        /// `BG/NBD` or `Gamma-Gamma`.
        model: &'static str,
        /// Likelihood evaluations spent.
        evaluations: usize,
    },
    /// The likelihood is not a number even at the starting point.
    #[error("the {model} likelihood is not a number for this history")]
    NotFinite {
        /// `BG/NBD` or `Gamma-Gamma`.
        model: &'static str,
    },
    /// A parameter ran off towards 0 or infinity.
    #[error(
        "the {model} parameter {parameter} runs off to {value:e}: the history does not pin it down (e.g. no customer seems to have stopped buying)"
    )]
    NotIdentified {
        /// `BG/NBD` or `Gamma-Gamma`.
        model: &'static str,
        /// Its name.
        parameter: &'static str,
        /// Where the search left it.
        value: f64,
    },
}

/// A fitted model with its log-likelihood.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Estimate<M> {
    /// The maximum-likelihood parameters.
    pub model: M,
    /// The log-likelihood there (the sum over the customers fitted on).
    pub log_likelihood: f64,
    /// The customers fitted on.
    pub customers: usize,
    /// Likelihood evaluations the search took.
    pub evaluations: usize,
}

/// Both models fitted on one shop's customers.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Models {
    /// The purchase-count model.
    pub bgnbd: BgNbd,
    /// Its log-likelihood over all customers.
    pub bgnbd_log_likelihood: f64,
    /// The spend model; `None` when fewer than [`MIN_REPEAT_CUSTOMERS`]
    /// repeat customers spent more than zero.
    pub gamma_gamma: Option<GammaGamma>,
    /// Its log-likelihood over the spend customers.
    pub gamma_gamma_log_likelihood: Option<f64>,
    /// Customers fitted on.
    pub customers: usize,
    /// Of them, customers with a repeat purchase.
    pub repeat_customers: usize,
    /// Of them, repeat customers with a positive mean spend (what the
    /// spend model reads).
    pub spend_customers: usize,
}

/// Fits both models on a shop's customers (one [`CustomerSummary`] each).
///
/// Fewer than [`MIN_REPEAT_CUSTOMERS`] repeat customers is
/// [`FitError::TooFewRepeatCustomers`]; with enough repeat customers but
/// fewer than that with a positive spend, the spend model is left out
/// (`gamma_gamma: None`) and the purchase model is still given.
pub fn fit_models(customers: &[CustomerSummary]) -> Result<Models, FitError> {
    let bgnbd = BgNbd::fit(customers)?;
    let spend_customers = customers
        .iter()
        .filter(|c| GammaGamma::applies_to(c))
        .count();
    let gamma_gamma = if spend_customers >= MIN_REPEAT_CUSTOMERS {
        Some(GammaGamma::fit(customers)?)
    } else {
        None
    };
    Ok(Models {
        bgnbd: bgnbd.model,
        bgnbd_log_likelihood: bgnbd.log_likelihood,
        gamma_gamma: gamma_gamma.map(|e| e.model),
        gamma_gamma_log_likelihood: gamma_gamma.map(|e| e.log_likelihood),
        customers: customers.len(),
        repeat_customers: customers.iter().filter(|c| c.frequency > 0).count(),
        spend_customers,
    })
}

fn check_all(customers: &[CustomerSummary]) -> Result<(), FitError> {
    if customers.len() > MAX_CUSTOMERS {
        return Err(FitError::TooManyCustomers {
            customers: customers.len(),
            max: MAX_CUSTOMERS,
        });
    }
    for (index, customer) in customers.iter().enumerate() {
        check_customer(customer).map_err(|source| FitError::InvalidCustomer { index, source })?;
    }
    Ok(())
}

impl BgNbd {
    /// The maximum-likelihood BG/NBD model of these customers (at least
    /// [`MIN_REPEAT_CUSTOMERS`] of them with a repeat purchase).
    pub fn fit(customers: &[CustomerSummary]) -> Result<Estimate<BgNbd>, FitError> {
        check_all(customers)?;
        let repeat = customers.iter().filter(|c| c.frequency > 0).count();
        if repeat < MIN_REPEAT_CUSTOMERS {
            return Err(FitError::TooFewRepeatCustomers {
                repeat,
                needed: MIN_REPEAT_CUSTOMERS,
            });
        }
        let data = BgNbdData::new(customers);
        let n = data.customers();
        let (ages, repeats) = customers.iter().fold((0.0, 0.0), |(t, x), c| {
            (t + c.age, x + f64::from(c.frequency))
        });
        let alpha = (ages / f64::max(repeats, 1.0)).clamp(1e-3, 1e4);
        let model = |p: &[f64; 4]| BgNbd {
            r: p[0],
            alpha: p[1],
            a: p[2],
            b: p[3],
        };
        let found = minimize(
            "BG/NBD",
            ["r", "alpha", "a", "b"],
            [1.0, alpha, 1.0, 1.0],
            |p| -data.log_likelihood(&model(p)) / n,
        )?;
        Ok(Estimate {
            model: model(&found.params),
            log_likelihood: -found.cost * n,
            customers: customers.len(),
            evaluations: found.evaluations,
        })
    }
}

impl GammaGamma {
    /// The maximum-likelihood Gamma-Gamma model of the customers it
    /// applies to (frequency > 0, positive mean spend; at least
    /// [`MIN_REPEAT_CUSTOMERS`] of them). The others are skipped.
    pub fn fit(customers: &[CustomerSummary]) -> Result<Estimate<GammaGamma>, FitError> {
        check_all(customers)?;
        let data = GammaGammaData::new(customers);
        let count = data.customers();
        if count < MIN_REPEAT_CUSTOMERS {
            return Err(FitError::TooFewSpendCustomers {
                customers: count,
                needed: MIN_REPEAT_CUSTOMERS,
            });
        }
        let n = count as f64;
        let mean_spend = customers
            .iter()
            .filter(|c| GammaGamma::applies_to(c))
            .map(|c| c.monetary)
            .sum::<f64>()
            / n;
        let model = |p: &[f64; 3]| GammaGamma {
            p: p[0],
            q: p[1],
            gamma: p[2],
        };
        let found = minimize(
            "Gamma-Gamma",
            ["p", "q", "gamma"],
            [1.0, 2.0, mean_spend.clamp(1e-6, 1e9)],
            |p| -data.log_likelihood(&model(p)) / n,
        )?;
        Ok(Estimate {
            model: model(&found.params),
            log_likelihood: -found.cost * n,
            customers: count,
            evaluations: found.evaluations,
        })
    }
}

/// Where a minimisation ended.
struct Minimum<const N: usize> {
    params: [f64; N],
    cost: f64,
    evaluations: usize,
}

/// A point of the search: the logarithms of the parameters. A fixed-size
/// array, so the simplex arithmetic allocates nothing.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Point<const N: usize>([f64; N]);

impl<const N: usize> Point<N> {
    fn zip(&self, other: &Point<N>, f: impl Fn(f64, f64) -> f64) -> Point<N> {
        let mut out = [0.0; N];
        for ((o, a), b) in out.iter_mut().zip(&self.0).zip(&other.0) {
            *o = f(*a, *b);
        }
        Point(out)
    }
}

impl<const N: usize> ArgminAdd<Point<N>, Point<N>> for Point<N> {
    fn add(&self, other: &Point<N>) -> Point<N> {
        self.zip(other, |a, b| a + b)
    }
}

impl<const N: usize> ArgminSub<Point<N>, Point<N>> for Point<N> {
    fn sub(&self, other: &Point<N>) -> Point<N> {
        self.zip(other, |a, b| a - b)
    }
}

impl<const N: usize> ArgminMul<f64, Point<N>> for Point<N> {
    fn mul(&self, factor: &f64) -> Point<N> {
        Point(self.0.map(|a| a * factor))
    }
}

/// The cost over log-parameters that argmin minimises.
struct LogObjective<'a, const N: usize> {
    cost: &'a dyn Fn(&[f64; N]) -> f64,
    evaluations: Cell<usize>,
}

impl<const N: usize> LogObjective<'_, N> {
    fn at(&self, logs: &Point<N>) -> f64 {
        self.evaluations.set(self.evaluations.get() + 1);
        if logs.0.iter().any(|l| !l.is_finite() || l.abs() > LOG_BOUND) {
            return PENALTY;
        }
        let cost = (self.cost)(&logs.0.map(f64::exp));
        if cost.is_finite() { cost } else { PENALTY }
    }
}

impl<const N: usize> CostFunction for &LogObjective<'_, N> {
    type Param = Point<N>;
    type Output = f64;

    fn cost(&self, logs: &Point<N>) -> Result<f64, ArgminError> {
        Ok(self.at(logs))
    }
}

/// Minimises `cost` over positive parameters, starting from `start`, with
/// the restarts described in the module documentation.
fn minimize<const N: usize>(
    model: &'static str,
    names: [&'static str; N],
    start: [f64; N],
    cost: impl Fn(&[f64; N]) -> f64,
) -> Result<Minimum<N>, FitError> {
    let objective = LogObjective {
        cost: &cost,
        evaluations: Cell::new(0),
    };
    let mut best = Point(start.map(f64::ln));
    let mut best_cost = objective.at(&best);
    if best_cost >= PENALTY {
        return Err(FitError::NotFinite { model });
    }
    let mut step = 1.0;
    let mut settled = false;
    for _ in 0..MAX_RUNS {
        let mut simplex = vec![best];
        for i in 0..N {
            let mut corner = best;
            corner.0[i] += step;
            simplex.push(corner);
        }
        let solver = NelderMead::new(simplex)
            .with_sd_tolerance(COST_TOLERANCE)
            .map_err(|_| FitError::NotFinite { model })?;
        let run = Executor::new(&objective, solver)
            .configure(|state| state.max_iters(MAX_ITERATIONS))
            .timer(false)
            .run()
            .map_err(|_| FitError::NotFinite { model })?;
        let state = run.state();
        let converged = matches!(
            state.get_termination_reason(),
            Some(TerminationReason::SolverConverged)
        );
        let (Some(params), cost) = (state.get_best_param(), state.get_best_cost()) else {
            return Err(FitError::NotFinite { model });
        };
        let gain = best_cost - cost;
        if cost < best_cost {
            best = *params;
            best_cost = cost;
        }
        if converged && gain < RESTART_GAIN {
            settled = true;
            break;
        }
        step = 0.1;
    }
    if !settled {
        return Err(FitError::NoConvergence {
            model,
            evaluations: objective.evaluations.get(),
        });
    }
    let mut params = [0.0; N];
    for ((p, l), name) in params.iter_mut().zip(&best.0).zip(names) {
        *p = l.exp();
        if l.abs() > LOG_BOUND - 1.0 {
            return Err(FitError::NotIdentified {
                model,
                parameter: name,
                value: *p,
            });
        }
    }
    Ok(Minimum {
        params,
        cost: best_cost,
        evaluations: objective.evaluations.get(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_optimiser_finds_a_known_minimum() {
        // (ln p − ln 3)² + (ln q + 1)², minimum at p = 3, q = 1/e.
        let found = minimize("test", ["p", "q"], [1.0, 1.0], |p| {
            (p[0].ln() - 3f64.ln()).powi(2) + (p[1].ln() + 1.0).powi(2)
        })
        .unwrap();
        assert!((found.params[0] - 3.0).abs() < 1e-5, "{:?}", found.params);
        assert!(
            (found.params[1] - (-1f64).exp()).abs() < 1e-5,
            "{:?}",
            found.params
        );
    }

    #[test]
    fn a_parameter_running_off_is_named() {
        // Decreasing in q for ever: q runs to the bound.
        let error = minimize("test", ["p", "q"], [1.0, 1.0], |p| {
            (p[0] - 2.0).powi(2) - p[1].ln().atan()
        })
        .err()
        .unwrap();
        assert!(
            matches!(error, FitError::NotIdentified { parameter: "q", .. }),
            "{error}"
        );
    }

    #[test]
    fn a_likelihood_that_is_never_a_number_is_an_error() {
        let error = minimize("test", ["p"], [1.0], |_| f64::NAN).err().unwrap();
        assert_eq!(error, FitError::NotFinite { model: "test" });
    }

    fn customers(repeat: usize, once: usize) -> Vec<CustomerSummary> {
        let mut all = Vec::new();
        for i in 0..repeat {
            // A third stopped buying early, the others are still buying.
            let recency = if i % 3 == 0 {
                1.0 + (i % 4) as f64
            } else {
                22.0 + (i % 8) as f64
            };
            all.push(CustomerSummary {
                frequency: 1 + (i % 5) as u32,
                recency,
                age: 30.0,
                monetary: 5.0 + (i % 7) as f64,
            });
        }
        for _ in 0..once {
            all.push(CustomerSummary {
                frequency: 0,
                recency: 0.0,
                age: 30.0,
                monetary: 0.0,
            });
        }
        all
    }

    #[test]
    fn too_few_repeat_customers_is_a_clear_error() {
        let error = fit_models(&customers(29, 500)).unwrap_err();
        assert_eq!(
            error,
            FitError::TooFewRepeatCustomers {
                repeat: 29,
                needed: 30
            }
        );
        assert!(error.to_string().contains("only 29 customers"), "{error}");
    }

    #[test]
    fn without_spend_the_purchase_model_is_still_fitted() {
        let mut all = customers(40, 200);
        for c in &mut all {
            c.monetary = 0.0;
        }
        let models = fit_models(&all).unwrap();
        assert_eq!(models.gamma_gamma, None);
        assert_eq!(models.spend_customers, 0);
        assert_eq!((models.customers, models.repeat_customers), (240, 40));
        assert!(models.bgnbd.is_valid());
    }

    #[test]
    fn an_inconsistent_history_is_named() {
        let mut all = customers(40, 10);
        all[3].recency = 31.0;
        let error = fit_models(&all).unwrap_err();
        assert!(
            matches!(error, FitError::InvalidCustomer { index: 3, .. }),
            "{error}"
        );
    }

    #[test]
    fn the_fitted_maximum_is_a_maximum() {
        let all = customers(300, 700);
        let fit = BgNbd::fit(&all).unwrap();
        let ll = fit.model.log_likelihood(&all);
        assert!(
            (ll - fit.log_likelihood).abs() < 1e-6 * ll.abs(),
            "{ll} {fit:?}"
        );
        // Moving any parameter by 1% either way lowers the likelihood.
        for i in 0..4 {
            for factor in [0.99, 1.01] {
                let mut p = [fit.model.r, fit.model.alpha, fit.model.a, fit.model.b];
                p[i] *= factor;
                let moved = BgNbd {
                    r: p[0],
                    alpha: p[1],
                    a: p[2],
                    b: p[3],
                };
                assert!(moved.log_likelihood(&all) < ll, "parameter {i} × {factor}");
            }
        }
        let gg = GammaGamma::fit(&all).unwrap();
        assert_eq!(gg.customers, 300);
        let ll = gg.model.log_likelihood(&all);
        assert!((ll - gg.log_likelihood).abs() < 1e-6 * ll.abs());
        for i in 0..3 {
            for factor in [0.99, 1.01] {
                let mut p = [gg.model.p, gg.model.q, gg.model.gamma];
                p[i] *= factor;
                let moved = GammaGamma {
                    p: p[0],
                    q: p[1],
                    gamma: p[2],
                };
                assert!(moved.log_likelihood(&all) < ll, "parameter {i} × {factor}");
            }
        }
    }

    #[test]
    fn the_same_history_gives_the_same_fit() {
        let all = customers(100, 300);
        assert_eq!(fit_models(&all).unwrap(), fit_models(&all).unwrap());
    }
}
