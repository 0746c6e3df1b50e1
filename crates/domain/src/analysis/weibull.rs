//! Two-parameter Weibull fits of component lifetimes with right censoring (vehicles still in
//! service without the failure are suspensions), by maximum likelihood, with Fisher-matrix
//! confidence bounds and median-rank plotting positions for a probability plot.
//!
//! Definitions, chosen to agree with the Python `reliability` package's `Fit_Weibull_2P` (see
//! `tools/reliability/`):
//! - F(t) = 1 − exp(−(t/η)^β); the log-likelihood is the full one, Σ_failures ln f(tᵢ) +
//!   Σ_suspensions ln R(tⱼ) with ln f = ln(β/η) + (β−1)·ln(t/η) − (t/η)^β and ln R = −(t/η)^β.
//! - Bounds on β and η: the covariance is the inverse of the observed information (the Hessian
//!   of −ln L in (η, β) at the estimate); each bound is normal on the log of the parameter,
//!   η·exp(±z·SE(η)/η), so it stays positive.
//! - Bounds on F(t): the delta method on u = β·(ln t − ln η) = ln(−ln R), normal on u, mapped
//!   back through F = 1 − exp(−e^u).
//!
//! Solver: the profile score for β (η eliminated in closed form) is strictly increasing in β,
//! so a bracket is found and Newton steps are taken inside it, falling back to bisection when a
//! step leaves it. Sums run on ln t shifted by its maximum, so times in km do not overflow.

use serde::Serialize;

use super::{normal, Estimate, Interval};

/// One unit's time in service and whether it failed then (`false`: a suspension, still working
/// at that age). Times are months in service, km or any other positive measure of life.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Observation {
    /// Age at failure or at the end of observation; > 0.
    pub time: f64,
    /// Whether the unit failed at `time`.
    pub failed: bool,
}

impl Observation {
    /// A failure at `time`.
    pub fn failure(time: f64) -> Self {
        Observation { time, failed: true }
    }

    /// A suspension (right-censored unit) at `time`.
    pub fn suspension(time: f64) -> Self {
        Observation {
            time,
            failed: false,
        }
    }
}

/// Fewer failures than this: no fit.
pub const MIN_FAILURES: usize = 2;
/// Fewer failures than this: the fit is shown but flagged unstable.
pub const STABLE_FAILURES: usize = 5;
/// A shape interval wider than this many times the estimate, (β_upper − β_lower) / β: unstable.
pub const MAX_SHAPE_RELATIVE_WIDTH: f64 = 1.0;

/// Why a fit is not to be trusted much. Kinds with their numbers; the screen words them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum FitWarning {
    /// Fewer than [`STABLE_FAILURES`] failures.
    FewFailures {
        /// Failures in the data.
        failures: usize,
        /// [`STABLE_FAILURES`].
        minimum: usize,
    },
    /// The confidence interval on β is wider than [`MAX_SHAPE_RELATIVE_WIDTH`] times β.
    WideShapeInterval {
        /// (β_upper − β_lower) / β.
        relative_width: f64,
        /// [`MAX_SHAPE_RELATIVE_WIDTH`].
        limit: f64,
    },
}

/// The covariance of the estimates (η, β), inverse of the observed information.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Covariance {
    /// Var(η).
    pub var_eta: f64,
    /// Var(β).
    pub var_beta: f64,
    /// Cov(η, β).
    pub cov_eta_beta: f64,
}

/// A fitted two-parameter Weibull with its uncertainty and stability verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeibullFit {
    /// Shape β: below 1 early failures, about 1 random, above 1 wear-out.
    pub beta: f64,
    /// Scale η (characteristic life, F(η) ≈ 63.2 %), in the unit of the times.
    pub eta: f64,
    /// ln L at the estimate (full density terms, see the module header).
    pub log_likelihood: f64,
    /// Units that failed.
    pub failures: usize,
    /// Units still working at their time (right-censored).
    pub suspensions: usize,
    /// The two-sided confidence level of every interval of this fit (0.95 for 95 %).
    pub confidence: f64,
    /// Bounds on β, normal on ln β.
    pub beta_ci: Interval,
    /// Bounds on η, normal on ln η.
    pub eta_ci: Interval,
    /// Covariance of (η, β) from the observed information.
    pub covariance: Covariance,
    /// Empty when the fit is stable.
    pub warnings: Vec<FitWarning>,
    /// True when there is any warning: fewer than [`STABLE_FAILURES`] failures or a shape
    /// interval wider than [`MAX_SHAPE_RELATIVE_WIDTH`]·β.
    pub unstable: bool,
}

/// Why no fit could be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WeibullError {
    /// No observation was given.
    #[error("no observations")]
    Empty,
    /// A time is zero, negative or not finite.
    #[error("observation {index}: the time must be a finite number above 0")]
    InvalidTime {
        /// Position of the observation in the input.
        index: usize,
    },
    /// The confidence level is not strictly between 0 and 1.
    #[error("the confidence level must lie strictly between 0 and 1")]
    InvalidConfidence,
    /// Fewer than [`MIN_FAILURES`] failures.
    #[error("{failures} failures: a Weibull fit needs at least {MIN_FAILURES}")]
    TooFewFailures {
        /// Failures in the data.
        failures: usize,
    },
    /// Every failure lies at the longest time observed, so the likelihood grows without end
    /// as β grows.
    #[error("the failures do not spread in time (all at the longest time observed): the shape is unbounded")]
    NoSpread,
    /// The solver found no root of the profile score.
    #[error("the maximum-likelihood solver did not converge")]
    NoConvergence,
    /// The observed information cannot be inverted.
    #[error("the information matrix is singular at the estimate: no confidence bounds")]
    SingularInformation,
}

/// Fits a two-parameter Weibull by maximum likelihood with right censoring, with two-sided
/// bounds at `confidence` (0.95 for 95 %).
pub fn fit(observations: &[Observation], confidence: f64) -> Result<WeibullFit, WeibullError> {
    validate(observations)?;
    let z = normal::two_sided_z(confidence).ok_or(WeibullError::InvalidConfidence)?;
    let failures = observations.iter().filter(|o| o.failed).count();
    let suspensions = observations.len() - failures;
    if failures < MIN_FAILURES {
        return Err(WeibullError::TooFewFailures { failures });
    }
    let profile = Profile::new(observations, failures);
    let beta = profile.solve()?;
    let eta = profile.eta(beta);
    let log_likelihood =
        log_likelihood(observations, beta, eta).ok_or(WeibullError::NoConvergence)?;
    let covariance = covariance(observations, failures, beta, eta)?;
    let se_eta = covariance.var_eta.sqrt();
    let se_beta = covariance.var_beta.sqrt();
    let eta_ci = Interval {
        lower: eta * (-z * se_eta / eta).exp(),
        upper: eta * (z * se_eta / eta).exp(),
    };
    let beta_ci = Interval {
        lower: beta * (-z * se_beta / beta).exp(),
        upper: beta * (z * se_beta / beta).exp(),
    };
    let mut warnings = Vec::new();
    if failures < STABLE_FAILURES {
        warnings.push(FitWarning::FewFailures {
            failures,
            minimum: STABLE_FAILURES,
        });
    }
    let relative_width = (beta_ci.upper - beta_ci.lower) / beta;
    if relative_width > MAX_SHAPE_RELATIVE_WIDTH {
        warnings.push(FitWarning::WideShapeInterval {
            relative_width,
            limit: MAX_SHAPE_RELATIVE_WIDTH,
        });
    }
    Ok(WeibullFit {
        beta,
        eta,
        log_likelihood,
        failures,
        suspensions,
        confidence,
        beta_ci,
        eta_ci,
        covariance,
        unstable: !warnings.is_empty(),
        warnings,
    })
}

impl WeibullFit {
    /// F(t) = 1 − exp(−(t/η)^β), the share failed by `t`; `None` unless t is finite and ≥ 0.
    pub fn unreliability(&self, t: f64) -> Option<f64> {
        if !(t.is_finite() && t >= 0.0) {
            return None;
        }
        Some(-(-(t / self.eta).powf(self.beta)).exp_m1())
    }

    /// F(t) with its two-sided bounds at the fit's confidence level (delta method on
    /// u = β·(ln t − ln η), see the module header); `None` unless t is finite and > 0.
    pub fn unreliability_bounds(&self, t: f64) -> Option<Estimate> {
        if !(t.is_finite() && t > 0.0) {
            return None;
        }
        let z = normal::two_sided_z(self.confidence)?;
        let log_ratio = t.ln() - self.eta.ln();
        let u = self.beta * log_ratio;
        let du_deta = -self.beta / self.eta;
        let du_dbeta = log_ratio;
        let c = &self.covariance;
        let var_u = du_deta * du_deta * c.var_eta
            + du_dbeta * du_dbeta * c.var_beta
            + 2.0 * du_deta * du_dbeta * c.cov_eta_beta;
        let half = z * var_u.max(0.0).sqrt();
        let f_of_u = |u: f64| -(-u.exp()).exp_m1();
        Some(Estimate {
            value: f_of_u(u),
            lower: f_of_u(u - half),
            upper: f_of_u(u + half),
        })
    }

    /// The time by which a share `p` has failed (B10 life for p = 0.10), t = η·(−ln(1−p))^(1/β);
    /// `None` unless 0 < p < 1.
    pub fn quantile(&self, p: f64) -> Option<f64> {
        if !(p > 0.0 && p < 1.0) {
            return None;
        }
        Some(self.eta * (-(-p).ln_1p()).powf(1.0 / self.beta))
    }
}

/// The log-likelihood of Weibull(β, η) for the observations (definition in the module header);
/// `None` for a non-positive or non-finite parameter or time.
pub fn log_likelihood(observations: &[Observation], beta: f64, eta: f64) -> Option<f64> {
    if !(beta.is_finite() && beta > 0.0 && eta.is_finite() && eta > 0.0) {
        return None;
    }
    let mut sum = 0.0;
    for o in observations {
        if !(o.time.is_finite() && o.time > 0.0) {
            return None;
        }
        let log_ratio = o.time.ln() - eta.ln();
        let cumulative_hazard = (beta * log_ratio).exp();
        if o.failed {
            sum += (beta / eta).ln() + (beta - 1.0) * log_ratio;
        }
        sum -= cumulative_hazard;
    }
    Some(sum)
}

fn validate(observations: &[Observation]) -> Result<(), WeibullError> {
    if observations.is_empty() {
        return Err(WeibullError::Empty);
    }
    match observations
        .iter()
        .position(|o| !(o.time.is_finite() && o.time > 0.0))
    {
        Some(index) => Err(WeibullError::InvalidTime { index }),
        None => Ok(()),
    }
}

/// The profile score for β: with η at its closed form η(β) = (Σ tᵢ^β / r)^(1/β), ∂ln L/∂β = 0
/// becomes g(β) = Σ tᵢ^β ln tᵢ / Σ tᵢ^β − 1/β − mean of ln t over failures = 0 (sums over all
/// units). g increases strictly from −∞ to max ln t − mean ln t_failures.
struct Profile {
    /// ln t − max ln t, every unit.
    shifted: Vec<f64>,
    max_log: f64,
    /// Mean of ln t over the failures, minus `max_log`.
    failure_mean_shifted: f64,
    failures: f64,
}

impl Profile {
    fn new(observations: &[Observation], failures: usize) -> Self {
        let max_log = observations
            .iter()
            .map(|o| o.time.ln())
            .fold(f64::NEG_INFINITY, f64::max);
        let shifted: Vec<f64> = observations.iter().map(|o| o.time.ln() - max_log).collect();
        let failures = failures as f64;
        let failure_mean_shifted = observations
            .iter()
            .zip(&shifted)
            .filter(|(o, _)| o.failed)
            .map(|(_, x)| *x)
            .sum::<f64>()
            / failures;
        Profile {
            shifted,
            max_log,
            failure_mean_shifted,
            failures,
        }
    }

    /// g(β) and g′(β) = weighted variance of ln t + 1/β² (weights tᵢ^β).
    fn score(&self, beta: f64) -> (f64, f64) {
        let mut weight = 0.0;
        let mut first = 0.0;
        for x in &self.shifted {
            let w = (beta * x).exp();
            weight += w;
            first += w * x;
        }
        let mean = first / weight;
        let variance = self
            .shifted
            .iter()
            .map(|x| (beta * x).exp() * (x - mean) * (x - mean))
            .sum::<f64>()
            / weight;
        (
            mean - 1.0 / beta - self.failure_mean_shifted,
            variance + 1.0 / (beta * beta),
        )
    }

    fn solve(&self) -> Result<f64, WeibullError> {
        // g(∞) = 0 − failure_mean_shifted: no root unless some failure lies below the longest time.
        if -self.failure_mean_shifted <= 1e-12 {
            return Err(WeibullError::NoSpread);
        }
        let (mut lo, mut hi) = (1.0_f64, 1.0_f64);
        while self.score(lo).0 >= 0.0 {
            lo /= 2.0;
            if lo < 1e-9 {
                return Err(WeibullError::NoConvergence);
            }
        }
        while self.score(hi).0 <= 0.0 {
            hi *= 2.0;
            if hi > 1e9 {
                return Err(WeibullError::NoSpread);
            }
        }
        let mut beta = 0.5 * (lo + hi);
        for _ in 0..500 {
            let (g, dg) = self.score(beta);
            if g == 0.0 {
                return Ok(beta);
            }
            if g < 0.0 {
                lo = beta;
            } else {
                hi = beta;
            }
            let newton = beta - g / dg;
            let next = if newton > lo && newton < hi && newton.is_finite() {
                newton
            } else {
                0.5 * (lo + hi)
            };
            // Newton converges quadratically: a step of 1e-12·β leaves an error far below it,
            // and rounding noise in g keeps smaller steps from settling reliably.
            if (next - beta).abs() <= 1e-12 * beta || hi - lo <= 4.0 * f64::EPSILON * hi {
                return Ok(next);
            }
            beta = next;
        }
        Err(WeibullError::NoConvergence)
    }

    /// η(β) = (Σ tᵢ^β / r)^(1/β), in logs around the longest time.
    fn eta(&self, beta: f64) -> f64 {
        let sum: f64 = self.shifted.iter().map(|x| (beta * x).exp()).sum();
        (self.max_log + (sum / self.failures).ln() / beta).exp()
    }
}

/// The inverse of the observed information, the Hessian of −ln L in (η, β) at the estimate.
/// With zᵢ = ln(tᵢ/η), sₖ = Σ_all e^(β·zᵢ)·zᵢ^k and r failures:
/// H_ηη = (β(1+β)s₀ − rβ)/η², H_ββ = r/β² + s₂, H_ηβ = (r − s₀ − β·s₁)/η.
fn covariance(
    observations: &[Observation],
    failures: usize,
    beta: f64,
    eta: f64,
) -> Result<Covariance, WeibullError> {
    let r = failures as f64;
    let (mut s0, mut s1, mut s2) = (0.0, 0.0, 0.0);
    for o in observations {
        let z = o.time.ln() - eta.ln();
        let w = (beta * z).exp();
        s0 += w;
        s1 += w * z;
        s2 += w * z * z;
    }
    let h_ee = (beta * (1.0 + beta) * s0 - r * beta) / (eta * eta);
    let h_bb = r / (beta * beta) + s2;
    let h_eb = (r - s0 - beta * s1) / eta;
    let det = h_ee * h_bb - h_eb * h_eb;
    if !(det.is_finite() && det > 0.0 && h_ee > 0.0) {
        return Err(WeibullError::SingularInformation);
    }
    Ok(Covariance {
        var_eta: h_bb / det,
        var_beta: h_ee / det,
        cov_eta_beta: -h_eb / det,
    })
}

/// One failure's point on a Weibull probability plot.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PlotPoint {
    /// The failure's time.
    pub time: f64,
    /// Johnson's adjusted rank (equals the plain rank when nothing is censored before it).
    pub adjusted_rank: f64,
    /// Benard's median rank (rank − 0.3)/(n + 0.4): the empirical F at `time`.
    pub unreliability: f64,
}

/// Plotting positions for the failures, in time order: Johnson's adjusted ranks for censored
/// data, rankᵢ = (rᵢ·rank₍ᵢ₋₁₎ + n + 1)/(rᵢ + 1) with rᵢ the reverse rank (units at or beyond this
/// one, this one included) and rank₀ = 0, then Benard's median rank. At equal times failures are
/// ranked before suspensions (a unit suspended at t survived t). Empty when nothing failed.
pub fn plotting_positions(observations: &[Observation]) -> Result<Vec<PlotPoint>, WeibullError> {
    validate(observations)?;
    let mut sorted: Vec<Observation> = observations.to_vec();
    sorted.sort_by(|a, b| a.time.total_cmp(&b.time).then(b.failed.cmp(&a.failed)));
    let n = sorted.len() as f64;
    let mut previous = 0.0;
    let mut points = Vec::new();
    for (i, o) in sorted.iter().enumerate() {
        if !o.failed {
            continue;
        }
        let reverse = n - i as f64;
        let rank = (reverse * previous + n + 1.0) / (reverse + 1.0);
        previous = rank;
        points.push(PlotPoint {
            time: o.time,
            adjusted_rank: rank,
            unreliability: (rank - 0.3) / (n + 0.4),
        });
    }
    Ok(points)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(times: &[f64]) -> Vec<Observation> {
        times.iter().map(|t| Observation::failure(*t)).collect()
    }

    #[test]
    fn rejects_empty_and_bad_times() {
        assert_eq!(fit(&[], 0.95), Err(WeibullError::Empty));
        let bad = [Observation::failure(3.0), Observation::failure(0.0)];
        assert_eq!(fit(&bad, 0.95), Err(WeibullError::InvalidTime { index: 1 }));
        let negative = [Observation::failure(-1.0), Observation::failure(2.0)];
        assert_eq!(
            fit(&negative, 0.95),
            Err(WeibullError::InvalidTime { index: 0 })
        );
        let nan = [Observation::failure(1.0), Observation::suspension(f64::NAN)];
        assert_eq!(fit(&nan, 0.95), Err(WeibullError::InvalidTime { index: 1 }));
        assert_eq!(plotting_positions(&[]), Err(WeibullError::Empty));
        let ok = complete(&[1.0, 2.0, 3.0]);
        assert_eq!(fit(&ok, 1.0), Err(WeibullError::InvalidConfidence));
        assert_eq!(fit(&ok, 0.0), Err(WeibullError::InvalidConfidence));
    }

    #[test]
    fn needs_two_failures() {
        let all_censored: Vec<_> = (1..=20)
            .map(|t| Observation::suspension(f64::from(t)))
            .collect();
        assert_eq!(
            fit(&all_censored, 0.95),
            Err(WeibullError::TooFewFailures { failures: 0 })
        );
        let mut one = all_censored.clone();
        one[3].failed = true;
        assert_eq!(
            fit(&one, 0.95),
            Err(WeibullError::TooFewFailures { failures: 1 })
        );
        assert!(plotting_positions(&all_censored).unwrap().is_empty());
    }

    #[test]
    fn identical_times_have_no_fit() {
        let same = complete(&[5.0, 5.0, 5.0, 5.0]);
        assert_eq!(fit(&same, 0.95), Err(WeibullError::NoSpread));
        // Failures at the longest time and suspensions before: still no spread.
        let mut late = same.clone();
        late.push(Observation::suspension(2.0));
        assert_eq!(fit(&late, 0.95), Err(WeibullError::NoSpread));
        // The same failures with one unit surviving longer: a (steep) fit exists.
        late.push(Observation::suspension(6.0));
        let f = fit(&late, 0.95).unwrap();
        assert!(f.beta > 1.0 && f.eta > 5.0);
    }

    #[test]
    fn estimate_is_a_maximum() {
        let obs: Vec<_> = [3.1, 7.4, 9.0, 12.5, 15.0, 18.2, 22.0]
            .iter()
            .map(|t| Observation::failure(*t))
            .chain((1..=10).map(|t| Observation::suspension(2.0 * f64::from(t))))
            .collect();
        let f = fit(&obs, 0.95).unwrap();
        assert_eq!((f.failures, f.suspensions), (7, 10));
        let at = |b: f64, e: f64| log_likelihood(&obs, b, e).unwrap();
        for (db, de) in [(1e-4, 0.0), (-1e-4, 0.0), (0.0, 1e-3), (0.0, -1e-3)] {
            assert!(at(f.beta + db, f.eta + de) < f.log_likelihood);
        }
        assert!(f.beta_ci.contains(f.beta) && f.eta_ci.contains(f.eta));
        let b = f.unreliability_bounds(10.0).unwrap();
        assert!(b.lower < b.value && b.value < b.upper);
        assert!((b.value - f.unreliability(10.0).unwrap()).abs() < 1e-15);
        let b10 = f.quantile(0.1).unwrap();
        assert!((f.unreliability(b10).unwrap() - 0.1).abs() < 1e-12);
        assert_eq!(f.unreliability_bounds(0.0), None);
    }

    #[test]
    fn stability_rule() {
        let few: Vec<_> = [4.0, 9.0, 14.0]
            .iter()
            .map(|t| Observation::failure(*t))
            .chain((1..=37).map(|t| Observation::suspension(f64::from(t))))
            .collect();
        let f = fit(&few, 0.95).unwrap();
        assert!(f.unstable);
        assert!(f.warnings.contains(&FitWarning::FewFailures {
            failures: 3,
            minimum: STABLE_FAILURES
        }));
        let many = complete(&(1..=40).map(|i| 10.0 + f64::from(i)).collect::<Vec<_>>());
        let f = fit(&many, 0.95).unwrap();
        assert!(!f.unstable && f.warnings.is_empty(), "{f:?}");
    }

    #[test]
    fn scale_free_in_the_unit_of_time() {
        let months = [
            Observation::failure(2.5),
            Observation::failure(8.0),
            Observation::suspension(9.0),
            Observation::failure(11.0),
            Observation::suspension(30.0),
        ];
        let km: Vec<_> = months
            .iter()
            .map(|o| Observation {
                time: o.time * 1.0e6,
                ..*o
            })
            .collect();
        let a = fit(&months, 0.9).unwrap();
        let b = fit(&km, 0.9).unwrap();
        assert!((a.beta / b.beta - 1.0).abs() < 1e-10);
        assert!((a.eta * 1.0e6 / b.eta - 1.0).abs() < 1e-10);
        let lower = a.beta_ci.lower / b.beta_ci.lower;
        assert!((lower - 1.0).abs() < 1e-8);
    }

    #[test]
    fn plotting_positions_with_suspensions() {
        // Textbook example: 5 units, suspension at 2, failures at 1, 3, 5; suspension at 4.
        let obs = [
            Observation::failure(3.0),
            Observation::suspension(2.0),
            Observation::failure(1.0),
            Observation::failure(5.0),
            Observation::suspension(4.0),
        ];
        let p = plotting_positions(&obs).unwrap();
        let ranks: Vec<f64> = p.iter().map(|p| p.adjusted_rank).collect();
        // 1; (3·1 + 6)/4 = 2.25; (1·2.25 + 6)/2 = 4.125.
        assert_eq!(ranks, vec![1.0, 2.25, 4.125]);
        assert!((p[0].unreliability - 0.7 / 5.4).abs() < 1e-15);
        // A failure and a suspension at the same time: the failure ranks first.
        let tie = [Observation::suspension(2.0), Observation::failure(2.0)];
        assert_eq!(plotting_positions(&tie).unwrap()[0].adjusted_rank, 1.0);
    }

    proptest::proptest! {
        /// On any data with a fit, the estimate is a stationary point (ln L falls a little step
        /// away in every direction) and F(t) lies inside its bounds.
        #[test]
        fn any_fit_is_a_maximum(
            data in proptest::collection::vec((0.01f64..1.0e5, proptest::bool::ANY), 2..60)
        ) {
            let obs: Vec<Observation> = data.iter().map(|&(time, failed)| Observation { time, failed }).collect();
            if let Ok(f) = fit(&obs, 0.95) {
                let ll = |b: f64, e: f64| log_likelihood(&obs, b, e).unwrap();
                for (db, de) in [(1e-3, 0.0), (-1e-3, 0.0), (0.0, 1e-3), (0.0, -1e-3)] {
                    let moved = ll(f.beta * (1.0 + db), f.eta * (1.0 + de));
                    proptest::prop_assert!(moved <= f.log_likelihood + 1e-9 * f.log_likelihood.abs());
                }
                let b = f.unreliability_bounds(f.eta).unwrap();
                proptest::prop_assert!(b.lower <= b.value && b.value <= b.upper);
                proptest::prop_assert!(f.beta_ci.contains(f.beta) && f.eta_ci.contains(f.eta));
            }
        }
    }
}
