//! Funnel plots comparing service points with their peers (a cross-section, not a time series):
//! a rate per unit (claims per vehicle serviced) or a mean per unit (cost per claim), limits at
//! 95 % and 99.8 % around the peers' value, widened for overdispersion.
//!
//! Method (D. J. Spiegelhalter, "Funnel plots for comparing institutional performance",
//! Statistics in Medicine 24, 2005; §3.3 additive random effects, as FunnelPlotR does):
//! - each unit has a value yᵢ with a standard error sᵢ under the target θ₀: for a rate
//!   yᵢ = countᵢ/exposureᵢ, θ₀ = Σcount/Σexposure, sᵢ = √(θ₀/exposureᵢ) (Poisson); for a mean
//!   θ₀ = Σnᵢ·yᵢ/Σnᵢ, sᵢ = σ/√nᵢ with σ given;
//! - zᵢ = (yᵢ − θ₀)/sᵢ, winsorised at the 10th and 90th percentile (linear interpolation
//!   between order statistics, as R's type 7 and numpy's default), φ = mean of the squared
//!   winsorised z;
//! - overdispersion when I·φ > I − 1; then τ² = (I·φ − (I − 1)) / (Σwᵢ − Σwᵢ²/Σwᵢ) with
//!   wᵢ = 1/sᵢ² (DerSimonian–Laird), otherwise τ² = 0;
//! - limits θ₀ ± z_c·√(sᵢ² + τ²) on the natural scale (normal approximation), for a rate the
//!   lower limit floored at 0; a unit is outside when its value lies beyond a limit.

use serde::Serialize;

use super::{normal, Interval};

/// The inner limits' confidence level.
pub const INNER: f64 = 0.95;
/// The outer limits' confidence level.
pub const OUTER: f64 = 0.998;

/// A unit's value with its standard error under the target: the input of [`funnel`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct UnitValue {
    /// The unit's indicator.
    pub value: f64,
    /// Its standard error if the unit were on target; > 0.
    pub standard_error: f64,
    /// What the funnel's x-axis shows for the unit (exposure, number of claims).
    pub size: f64,
}

/// A unit's count over its exposure (claims over vehicles serviced).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RateUnit {
    /// Events (claims).
    pub count: u64,
    /// Exposure (vehicles serviced); > 0.
    pub exposure: f64,
}

/// A unit's mean over its number of cases (cost per claim over claims).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MeanUnit {
    /// The unit's mean (cost per claim).
    pub mean: f64,
    /// Cases behind the mean (claims); ≥ 1.
    pub n: u64,
}

/// How the limits allow for variation between units beyond chance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Overdispersion {
    /// Chance alone: limits θ₀ ± z·sᵢ.
    None,
    /// Additive random effects (τ², DerSimonian–Laird) when the data are overdispersed.
    Additive,
}

/// Settings of a funnel; [`Default`] is additive overdispersion with 10 % winsorising.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FunnelOptions {
    /// How limits allow for between-unit variation (additive).
    pub overdispersion: Overdispersion,
    /// Share winsorised at each end, 0 ≤ x < 0.5 (0.1).
    pub winsor: f64,
}

impl Default for FunnelOptions {
    fn default() -> Self {
        FunnelOptions {
            overdispersion: Overdispersion::Additive,
            winsor: 0.1,
        }
    }
}

/// Where a unit lies against a pair of limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Position {
    /// Below the lower limit.
    Below,
    /// Between the limits, ends included.
    Inside,
    /// Above the upper limit.
    Above,
}

/// One unit on the funnel.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FunnelPoint {
    /// The unit's indicator.
    pub value: f64,
    /// The x-axis value (exposure, claims).
    pub size: f64,
    /// The value expected of the unit: the target θ₀.
    pub expected: f64,
    /// sᵢ, the standard error on target.
    pub standard_error: f64,
    /// (value − θ₀)/√(s² + τ²): the z-score against the limits drawn.
    pub z: f64,
    /// Limits at [`INNER`] (95 %).
    pub limits_95: Interval,
    /// Limits at [`OUTER`] (99.8 %).
    pub limits_998: Interval,
    /// Where the value lies against the 95 % limits.
    pub position_95: Position,
    /// Where the value lies against the 99.8 % limits.
    pub position_998: Position,
}

/// A funnel plot: target, dispersion and the units against their limits.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Funnel {
    /// θ₀, the centre line.
    pub target: f64,
    /// φ, the mean squared winsorised z-score (about 1 when units differ by chance only).
    pub phi: f64,
    /// Whether I·φ > I − 1.
    pub overdispersed: bool,
    /// τ², the between-unit variance added to each unit's (0 unless overdispersed and asked for).
    pub tau2: f64,
    /// The settings the funnel was drawn with.
    pub options: FunnelOptions,
    /// Whether limits are floored at 0 (rates).
    pub floor_at_zero: bool,
    /// Every unit in input order.
    pub points: Vec<FunnelPoint>,
}

impl Funnel {
    /// The limits for a unit with standard error `standard_error` at `confidence`, for drawing
    /// the funnel's curves (for a rate s = √(θ₀/exposure), for a mean s = σ/√n).
    pub fn limits_at(&self, standard_error: f64, confidence: f64) -> Option<Interval> {
        let z = normal::two_sided_z(confidence)?;
        if !(standard_error.is_finite() && standard_error >= 0.0) {
            return None;
        }
        let half = z * (standard_error * standard_error + self.tau2).sqrt();
        let lower = self.target - half;
        Some(Interval {
            lower: if self.floor_at_zero {
                lower.max(0.0)
            } else {
                lower
            },
            upper: self.target + half,
        })
    }

    /// Indices of the units outside the 99.8 % limits.
    pub fn outside_outer(&self) -> Vec<usize> {
        self.points
            .iter()
            .enumerate()
            .filter(|(_, p)| p.position_998 != Position::Inside)
            .map(|(i, _)| i)
            .collect()
    }
}

/// Why no funnel can be drawn.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FunnelError {
    /// Fewer than 2 units.
    #[error("a funnel compares at least 2 units")]
    TooFewUnits,
    /// A unit's value, size or standard error is out of range.
    #[error("unit {index}: the value, its size and its standard error must be finite, the size and standard error above 0")]
    InvalidUnit {
        /// Position of the unit in the input.
        index: usize,
    },
    /// The target is 0 or not finite.
    #[error("the target is 0 (no events anywhere): no unit can be judged")]
    NoEvents,
    /// The standard deviation of a case is not above 0.
    #[error("the standard deviation must be a finite number above 0")]
    InvalidDeviation,
    /// The winsorising share lies outside [0, 0.5).
    #[error("the winsorising share must lie in [0, 0.5)")]
    InvalidWinsor,
}

/// A funnel for rates: count/exposure per unit against the pooled rate (Poisson errors).
pub fn rate_funnel(units: &[RateUnit], options: &FunnelOptions) -> Result<Funnel, FunnelError> {
    if let Some(index) = units
        .iter()
        .position(|u| !(u.exposure.is_finite() && u.exposure > 0.0))
    {
        return Err(FunnelError::InvalidUnit { index });
    }
    let count: f64 = units.iter().map(|u| u.count as f64).sum();
    let exposure: f64 = units.iter().map(|u| u.exposure).sum();
    if units.len() < 2 {
        return Err(FunnelError::TooFewUnits);
    }
    let target = count / exposure;
    if !(target.is_finite() && target > 0.0) {
        return Err(FunnelError::NoEvents);
    }
    let values: Vec<UnitValue> = units
        .iter()
        .map(|u| UnitValue {
            value: u.count as f64 / u.exposure,
            standard_error: (target / u.exposure).sqrt(),
            size: u.exposure,
        })
        .collect();
    build(&values, target, options, true)
}

/// A funnel for means: each unit's mean over its n cases against the pooled mean, with a
/// common standard deviation `sd` of a single case (for cost per claim: the SD of claim cost).
pub fn mean_funnel(
    units: &[MeanUnit],
    sd: f64,
    options: &FunnelOptions,
) -> Result<Funnel, FunnelError> {
    if !(sd.is_finite() && sd > 0.0) {
        return Err(FunnelError::InvalidDeviation);
    }
    if let Some(index) = units.iter().position(|u| u.n == 0 || !u.mean.is_finite()) {
        return Err(FunnelError::InvalidUnit { index });
    }
    if units.len() < 2 {
        return Err(FunnelError::TooFewUnits);
    }
    let n: f64 = units.iter().map(|u| u.n as f64).sum();
    let target = units.iter().map(|u| u.n as f64 * u.mean).sum::<f64>() / n;
    let values: Vec<UnitValue> = units
        .iter()
        .map(|u| UnitValue {
            value: u.mean,
            standard_error: sd / (u.n as f64).sqrt(),
            size: u.n as f64,
        })
        .collect();
    build(&values, target, options, false)
}

/// A funnel for any indicator given each unit's value and standard error and the target.
pub fn funnel(
    units: &[UnitValue],
    target: f64,
    options: &FunnelOptions,
) -> Result<Funnel, FunnelError> {
    build(units, target, options, false)
}

fn build(
    units: &[UnitValue],
    target: f64,
    options: &FunnelOptions,
    floor_at_zero: bool,
) -> Result<Funnel, FunnelError> {
    if !(options.winsor >= 0.0 && options.winsor < 0.5) {
        return Err(FunnelError::InvalidWinsor);
    }
    if units.len() < 2 {
        return Err(FunnelError::TooFewUnits);
    }
    if let Some(index) = units.iter().position(|u| {
        !(u.value.is_finite()
            && u.size.is_finite()
            && u.size > 0.0
            && u.standard_error.is_finite()
            && u.standard_error > 0.0)
    }) {
        return Err(FunnelError::InvalidUnit { index });
    }
    if !target.is_finite() {
        return Err(FunnelError::NoEvents);
    }
    let raw_z: Vec<f64> = units
        .iter()
        .map(|u| (u.value - target) / u.standard_error)
        .collect();
    let count = units.len() as f64;
    let mut sorted = raw_z.clone();
    sorted.sort_by(f64::total_cmp);
    let low = percentile(&sorted, options.winsor);
    let high = percentile(&sorted, 1.0 - options.winsor);
    let phi = raw_z
        .iter()
        .map(|z| z.clamp(low, high).powi(2))
        .sum::<f64>()
        / count;
    let overdispersed = count * phi > count - 1.0;
    let tau2 = if overdispersed && options.overdispersion == Overdispersion::Additive {
        let w: Vec<f64> = units
            .iter()
            .map(|u| 1.0 / (u.standard_error * u.standard_error))
            .collect();
        let sum_w: f64 = w.iter().sum();
        let sum_w2: f64 = w.iter().map(|w| w * w).sum();
        ((count * phi - (count - 1.0)) / (sum_w - sum_w2 / sum_w)).max(0.0)
    } else {
        0.0
    };
    let mut out = Funnel {
        target,
        phi,
        overdispersed,
        tau2,
        options: *options,
        floor_at_zero,
        points: Vec::with_capacity(units.len()),
    };
    for (index, u) in units.iter().enumerate() {
        let se = u.standard_error;
        let inner = out
            .limits_at(se, INNER)
            .ok_or(FunnelError::InvalidUnit { index })?;
        let outer = out
            .limits_at(se, OUTER)
            .ok_or(FunnelError::InvalidUnit { index })?;
        out.points.push(FunnelPoint {
            value: u.value,
            size: u.size,
            expected: target,
            standard_error: se,
            z: (u.value - target) / (se * se + tau2).sqrt(),
            limits_95: inner,
            limits_998: outer,
            position_95: position(u.value, inner),
            position_998: position(u.value, outer),
        });
    }
    Ok(out)
}

fn position(value: f64, limits: Interval) -> Position {
    if value < limits.lower {
        Position::Below
    } else if value > limits.upper {
        Position::Above
    } else {
        Position::Inside
    }
}

/// The p-quantile of sorted values by linear interpolation between order statistics (R type 7).
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let Some(last) = sorted.len().checked_sub(1) else {
        return f64::NAN;
    };
    let h = last as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(last);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_matches_type_7() {
        let s = [1.0, 2.0, 3.0, 4.0, 10.0];
        assert_eq!(percentile(&s, 0.1), 1.4);
        assert!((percentile(&s, 0.9) - 7.6).abs() < 1e-12);
        assert_eq!(percentile(&s, 0.0), 1.0);
        assert_eq!(percentile(&s, 1.0), 10.0);
    }

    #[test]
    fn rejects_bad_input() {
        let o = FunnelOptions::default();
        assert_eq!(rate_funnel(&[], &o), Err(FunnelError::TooFewUnits));
        let one = [RateUnit {
            count: 3,
            exposure: 10.0,
        }];
        assert_eq!(rate_funnel(&one, &o), Err(FunnelError::TooFewUnits));
        let zero = [
            RateUnit {
                count: 0,
                exposure: 10.0,
            },
            RateUnit {
                count: 0,
                exposure: 20.0,
            },
        ];
        assert_eq!(rate_funnel(&zero, &o), Err(FunnelError::NoEvents));
        let bad = [
            RateUnit {
                count: 1,
                exposure: 10.0,
            },
            RateUnit {
                count: 0,
                exposure: 0.0,
            },
        ];
        assert_eq!(
            rate_funnel(&bad, &o),
            Err(FunnelError::InvalidUnit { index: 1 })
        );
        let means = [MeanUnit { mean: 1.0, n: 2 }, MeanUnit { mean: 2.0, n: 3 }];
        assert_eq!(
            mean_funnel(&means, 0.0, &o),
            Err(FunnelError::InvalidDeviation)
        );
        let wide = FunnelOptions { winsor: 0.5, ..o };
        assert_eq!(
            mean_funnel(&means, 1.0, &wide),
            Err(FunnelError::InvalidWinsor)
        );
    }

    #[test]
    fn chance_only_is_not_overdispersed() {
        // Every unit exactly on target: φ = 0, no τ², nobody outside.
        let units: Vec<RateUnit> = (1..=10)
            .map(|i| RateUnit {
                count: 5 * i,
                exposure: 100.0 * i as f64,
            })
            .collect();
        let f = rate_funnel(&units, &FunnelOptions::default()).unwrap();
        assert_eq!(f.tau2, 0.0);
        assert!(!f.overdispersed);
        assert!(f.outside_outer().is_empty());
        assert!(f.points.iter().all(|p| p.limits_95.lower >= 0.0));
    }

    #[test]
    fn an_outlier_is_outside_even_with_overdispersion() {
        let mut units: Vec<MeanUnit> = [
            410.0, 395.0, 430.0, 380.0, 402.0, 415.0, 390.0, 405.0, 398.0, 420.0,
        ]
        .iter()
        .map(|m| MeanUnit { mean: *m, n: 200 })
        .collect();
        units.push(MeanUnit {
            mean: 650.0,
            n: 150,
        });
        let f = mean_funnel(&units, 150.0, &FunnelOptions::default()).unwrap();
        assert!(f.overdispersed && f.tau2 > 0.0);
        assert_eq!(f.outside_outer(), vec![10]);
        assert_eq!(f.points[10].position_998, Position::Above);
        let plain = mean_funnel(
            &units,
            150.0,
            &FunnelOptions {
                overdispersion: Overdispersion::None,
                ..FunnelOptions::default()
            },
        )
        .unwrap();
        assert_eq!(plain.tau2, 0.0);
        assert!(plain.points[0].limits_95.upper < f.points[0].limits_95.upper);
    }
}
