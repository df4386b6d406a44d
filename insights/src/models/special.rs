//! The special functions the model formulas need beyond `statrs`.
//!
//! - [`hyp2f1`]: the Gauss hypergeometric function ₂F₁(a, b; c; z), summed
//!   as its power series for |z| < 1 with a proven bound on what is left
//!   out, and an error instead of a wrong number when the series does not
//!   settle within [`HYP2F1_MAX_TERMS`] terms; [`hyp2f1_scaled`] the same
//!   times a factor, for series larger than a float holds.
//! - [`ln_gamma`]: ln Γ(x) for x > 0 (`statrs`' Lanczos approximation,
//!   about 15 significant digits).
//! - [`log_add_exp`]: ln(eˣ + eʸ) without overflow, for the two-term
//!   likelihood of the BG/NBD model.

/// The most terms [`hyp2f1`] adds before it gives up. The terms shrink
/// roughly like |z|ⁿ, so about ln(10⁻¹⁵) / ln|z| terms are needed: 330 for
/// z = 0.9, 35 000 for z = 0.999, 170 000 for z = 0.9998. The models'
/// arguments are t / (α + T + t), which stays below 0.99 for any horizon of
/// up to ten years unless α is a fraction of a week.
pub const HYP2F1_MAX_TERMS: usize = 200_000;

/// The relative accuracy [`hyp2f1`] stops at: the proven bound on the sum
/// of the terms left out, relative to the sum so far.
pub const HYP2F1_TOLERANCE: f64 = 1e-15;

/// Why a special function has no value.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SpecialError {
    /// An argument outside the domain the function is computed on.
    #[error("{function} is not defined here: {reason}")]
    Domain {
        /// The function.
        function: &'static str,
        /// Which argument, and why.
        reason: String,
    },
    /// The series did not reach its accuracy within its term limit.
    #[error(
        "the hypergeometric series 2F1({a}, {b}; {c}; {z}) did not converge within {terms} terms"
    )]
    NoConvergence {
        /// First parameter.
        a: f64,
        /// Second parameter.
        b: f64,
        /// Third parameter.
        c: f64,
        /// The argument.
        z: f64,
        /// The terms added.
        terms: usize,
    },
    /// The value overflows a float.
    #[error("2F1({a}, {b}; {c}; {z}) is too large to represent")]
    Overflow {
        /// First parameter.
        a: f64,
        /// Second parameter.
        b: f64,
        /// Third parameter.
        c: f64,
        /// The argument.
        z: f64,
    },
}

/// The Gauss hypergeometric function ₂F₁(a, b; c; z) for real parameters
/// and |z| < 1, from its series
///
/// ```text
/// ₂F₁(a, b; c; z) = Σₙ tₙ,   t₀ = 1,   tₙ₊₁ = tₙ · (a + n)(b + n) / ((c + n)(n + 1)) · z.
/// ```
///
/// **Convergence bound.** Once n + a, n + b and n + c are positive, every
/// later term ratio satisfies |tₖ₊₁ / tₖ| ≤ ρₙ = |z| · max(1, (n + a)/(n + 1))
/// · max(1, (n + b)/(n + c)) (each factor (k + a)/(k + 1) and (k + b)/(k + c)
/// moves monotonically towards 1 as k grows), so when ρₙ < 1 the terms left
/// out sum to at most |tₙ| · ρₙ / (1 − ρₙ). The sum stops when that bound
/// is below [`HYP2F1_TOLERANCE`] × |sum|; if it has not after
/// [`HYP2F1_MAX_TERMS`] terms the answer is [`SpecialError::NoConvergence`],
/// never a truncated value. A series that ends (a or b a non-positive
/// integer) is summed exactly.
///
/// c must not be 0, −1, −2, … (the function has poles there), and |z| < 1.
pub fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> Result<f64, SpecialError> {
    hyp2f1_scaled(a, b, c, z, 0.0)
}

/// e^`ln_factor` · ₂F₁(a, b; c; z), for a series whose value is beyond the
/// range of a float while the product is not: the models multiply
/// ₂F₁(r + x, …) by ((α + T)/(α + T + t))^(r + x), and for a customer with
/// thousands of purchases over a long horizon the series alone exceeds
/// 10³⁰⁸. The terms are summed with a running power-of-ten scale, so only
/// the final product must be representable. Same series, bound and errors
/// as [`hyp2f1`].
pub fn hyp2f1_scaled(a: f64, b: f64, c: f64, z: f64, ln_factor: f64) -> Result<f64, SpecialError> {
    let domain = |reason: String| SpecialError::Domain {
        function: "2F1",
        reason,
    };
    if !(a.is_finite() && b.is_finite() && c.is_finite() && z.is_finite() && ln_factor.is_finite())
    {
        return Err(domain(format!(
            "the arguments must be finite (a = {a}, b = {b}, c = {c}, z = {z})"
        )));
    }
    if z.abs() >= 1.0 {
        return Err(domain(format!("the series needs |z| < 1, and z = {z}")));
    }
    if c <= 0.0 && c == c.round() {
        return Err(domain(format!("c = {c} is a pole (0, -1, -2, ...)")));
    }
    // sum · e^shift is the partial sum; term is scaled alike.
    const RESCALE: f64 = 1e200;
    let ln_rescale = RESCALE.ln();
    let (mut term, mut sum, mut shift) = (1.0_f64, 1.0_f64, 0.0_f64);
    let done = |sum: f64, shift: f64| -> Result<f64, SpecialError> {
        let value = sum * (shift + ln_factor).exp();
        if value.is_finite() {
            Ok(value)
        } else {
            Err(SpecialError::Overflow { a, b, c, z })
        }
    };
    for n in 0..HYP2F1_MAX_TERMS {
        let k = n as f64;
        let (an, bn, cn) = (a + k, b + k, c + k);
        if an == 0.0 || bn == 0.0 {
            // A non-positive integer a or b: the series is a polynomial.
            return done(sum, shift);
        }
        term *= an * bn / (cn * (k + 1.0)) * z;
        sum += term;
        if sum.abs() > RESCALE {
            sum /= RESCALE;
            term /= RESCALE;
            shift += ln_rescale;
        }
        if !sum.is_finite() {
            return Err(SpecialError::Overflow { a, b, c, z });
        }
        // The bound on what is left out holds from here on only when
        // every factor is past its sign change.
        let m = k + 1.0;
        if m + a > 0.0 && m + b > 0.0 && m + c > 0.0 {
            let rho = z.abs() * ((m + a) / (m + 1.0)).max(1.0) * ((m + b) / (m + c)).max(1.0);
            if rho < 1.0 && term.abs() * rho / (1.0 - rho) <= HYP2F1_TOLERANCE * sum.abs() {
                return done(sum, shift);
            }
        }
    }
    Err(SpecialError::NoConvergence {
        a,
        b,
        c,
        z,
        terms: HYP2F1_MAX_TERMS,
    })
}

/// ln Γ(x) for x > 0; NaN for other arguments (the callers check their
/// parameters are positive first, and a NaN makes a likelihood worse than
/// any other, never better).
pub fn ln_gamma(x: f64) -> f64 {
    if x > 0.0 && x.is_finite() {
        statrs::function::gamma::ln_gamma(x)
    } else {
        f64::NAN
    }
}

/// ln(eˣ + eʸ), exact for large arguments of either sign.
pub fn log_add_exp(x: f64, y: f64) -> f64 {
    let (high, low) = if x >= y { (x, y) } else { (y, x) };
    if low == f64::NEG_INFINITY {
        return high;
    }
    high + (low - high).exp().ln_1p()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: f64, want: f64, relative: f64) {
        assert!(
            (got - want).abs() <= relative * want.abs(),
            "got {got}, want {want}"
        );
    }

    #[test]
    fn hyp2f1_matches_its_closed_forms() {
        for z in [-0.9_f64, -0.3, 0.0, 0.1, 0.5, 0.9, 0.99] {
            // 2F1(1, 1; 2; z) = -ln(1 - z) / z
            let want = if z == 0.0 { 1.0 } else { -(-z).ln_1p() / z };
            close(hyp2f1(1.0, 1.0, 2.0, z).unwrap(), want, 1e-13);
            // 2F1(a, b; b; z) = (1 - z)^-a
            close(
                hyp2f1(0.243, 2.426, 2.426, z).unwrap(),
                (1.0 - z).powf(-0.243),
                1e-13,
            );
        }
        // 2F1(1/2, 1/2; 3/2; z²) = asin(z) / z
        for z in [0.2_f64, 0.7, 0.95] {
            close(hyp2f1(0.5, 0.5, 1.5, z * z).unwrap(), z.asin() / z, 1e-13);
        }
    }

    #[test]
    fn hyp2f1_matches_mpmath_on_the_models_arguments() {
        // mpmath.hyp2f1(2.243, 4.426, 4.219, 39/(4.414+38.86+39)), 30 digits:
        // the conditional expectation of CDNOW's customer 1 over 39 weeks.
        close(
            hyp2f1(2.243, 4.426, 4.219, 39.0 / (4.414 + 38.86 + 39.0)).unwrap(),
            4.575_315_897_643_69,
            1e-12,
        );
    }

    #[test]
    fn a_series_beyond_the_float_range_is_summed_scaled() {
        // 2F1(a, b; b; z) = (1 − z)^−a, so (1 − z)^a · 2F1 = 1 even where
        // the series alone is (0.5)^−2000 ≈ 10^602.
        let (a, z) = (2000.0_f64, 0.5_f64);
        let ln_factor = a * (-z).ln_1p();
        close(
            hyp2f1_scaled(a, 3.0, 3.0, z, ln_factor).unwrap(),
            1.0,
            1e-11,
        );
        assert!(matches!(
            hyp2f1(a, 3.0, 3.0, z),
            Err(SpecialError::Overflow { .. })
        ));
    }

    #[test]
    fn a_terminating_series_is_a_polynomial() {
        // 2F1(-2, b; c; z) = 1 - 2bz/c + b(b+1)z²/(c(c+1))
        let (b, c, z) = (3.0, 4.0, 0.5);
        let want = 1.0 - 2.0 * b * z / c + b * (b + 1.0) * z * z / (c * (c + 1.0));
        close(hyp2f1(-2.0, b, c, z).unwrap(), want, 1e-15);
    }

    #[test]
    fn negative_c_between_poles_is_summed() {
        // 2F1(a, b; b; z) = (1 - z)^-a holds for any non-pole b, -0.2 too.
        close(
            hyp2f1(0.7, -0.2, -0.2, 0.6).unwrap(),
            0.4_f64.powf(-0.7),
            1e-12,
        );
    }

    #[test]
    fn outside_its_domain_it_says_so() {
        assert!(matches!(
            hyp2f1(1.0, 1.0, 2.0, 1.0),
            Err(SpecialError::Domain { .. })
        ));
        assert!(matches!(
            hyp2f1(1.0, 1.0, -3.0, 0.5),
            Err(SpecialError::Domain { .. })
        ));
        assert!(matches!(
            hyp2f1(f64::NAN, 1.0, 2.0, 0.5),
            Err(SpecialError::Domain { .. })
        ));
    }

    #[test]
    fn a_series_too_slow_for_the_limit_is_an_error_not_a_guess() {
        let error = hyp2f1(1.0, 1.0, 2.0, 1.0 - 1e-9).unwrap_err();
        assert!(
            matches!(error, SpecialError::NoConvergence { terms, .. } if terms == HYP2F1_MAX_TERMS),
            "{error}"
        );
        // Close to 1 but within the documented reach it converges.
        let z = 0.9998_f64;
        close(hyp2f1(1.0, 1.0, 2.0, z).unwrap(), -(-z).ln_1p() / z, 1e-12);
    }

    #[test]
    fn ln_gamma_and_log_add_exp() {
        close(ln_gamma(5.0), 24.0_f64.ln(), 1e-14);
        close(ln_gamma(0.5), std::f64::consts::PI.sqrt().ln(), 1e-14);
        assert!(ln_gamma(0.0).is_nan() && ln_gamma(-1.0).is_nan());
        close(log_add_exp(1000.0, 1000.0), 1000.0 + 2f64.ln(), 1e-15);
        close(
            log_add_exp(-1000.0, -1001.0),
            -1000.0 + (-1f64).exp().ln_1p(),
            1e-15,
        );
        assert_eq!(log_add_exp(3.0, f64::NEG_INFINITY), 3.0);
    }
}
