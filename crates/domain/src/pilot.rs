//! Pilots (capability pilots, issue 20): whether a programme run at some service points moved a
//! KPI, against a control group. The data is a panel: a KPI's value per service point and period
//! (month), each point in the pilot or the control group, each period before or after the start.
//!
//! - Difference-in-differences by ordinary least squares, y = α + β·pilot + γ·after +
//!   δ·(pilot × after) + ε, δ the estimate; its standard error clustered by service point (the
//!   sandwich with the small-sample factor G/(G−1)·(N−1)/(N−K), as statsmodels' `cov_type =
//!   "cluster"`), the 95 % interval from Student's t with G − 1 degrees of freedom (G service
//!   points; statsmodels with `use_t=True`), wider than the normal one when there are few points.
//! - The permutation (placebo) test: the same estimate with the pilot label moved to every other
//!   set of as many service points (all of them when there are at most `MAX_EXACT`
//!   assignments, else a seeded sample); the p-value is the share of assignments whose estimate
//!   is at least as far from zero as the pilot's, the pilot's own among them.
//! - `thin` says plainly when the data is too thin: no point in the pilot, fewer than two in the
//!   control group, fewer than two periods on either side of the start.
//! - A single pilot site also gets a synthetic control (synthetic.rs); a control group can be
//!   proposed by matching points on their KPIs before the start (matching.rs).
//! - The verdict reads the interval in the KPI's better direction.
//!
//! Checked against statsmodels on fixed data sets (`tools/pilots/make_fixtures.py`).

use crate::analysis::sample::SplitMix64;
use crate::analysis::student;
use crate::kpi::{Better, Kpi, Period};
use crate::validation::{self, FieldError, Rule};
use crate::ValidationErrors;
use serde::{Deserialize, Serialize};
use time::{Date, Duration, Month};

pub mod matching;
pub mod synthetic;

vocabulary!(
    /// What a pilot's evaluation concludes for one KPI.
    Verdict {
        Improved => "improved",
        Worsened => "worsened",
        NoClearEffect => "no-clear-effect",
        TooThin => "too-thin",
    }
);

vocabulary!(
    /// How a pilot's control group was chosen.
    ControlMethod {
        Chosen => "chosen",
        Matched => "matched",
    }
);

vocabulary!(
    /// A service point's part in a pilot.
    PilotRole {
        Pilot => "pilot",
        Control => "control",
    }
);

/// The verdict of an interval around an effect, in the KPI's better direction: improved or
/// worsened when the whole interval lies on one side of zero, else no clear effect.
pub fn verdict(better: Better, lower: f64, upper: f64) -> Verdict {
    let up = lower > 0.0;
    let down = upper < 0.0;
    match (better, up, down) {
        (Better::HigherIsBetter, true, _) | (Better::LowerIsBetter, _, true) => Verdict::Improved,
        (Better::HigherIsBetter, _, true) | (Better::LowerIsBetter, true, _) => Verdict::Worsened,
        _ => Verdict::NoClearEffect,
    }
}

/// One observation: a service point's KPI value in a period.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// The service point's index.
    pub unit: usize,
    /// The period's index (months from the panel's first).
    pub period: i64,
    pub value: f64,
}

/// A pilot's panel.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    pub observations: Vec<Observation>,
    /// Which units are in the pilot (by index); the rest are the control group.
    pub pilot: Vec<bool>,
    /// The first period after the start.
    pub start: i64,
}

/// A difference-in-differences estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// δ: the pilot's change less the control group's.
    pub effect: f64,
    /// Clustered by service point.
    pub std_error: f64,
    /// The 95 % interval.
    pub lower: f64,
    pub upper: f64,
    /// The four means: pilot before, pilot after, control before, control after.
    pub means: [f64; 4],
}

vocabulary!(
    /// Why a pilot cannot be concluded yet.
    Thin {
        TooFewPilotPoints => "too-few-pilot-points",
        TooFewControlPoints => "too-few-control-points",
        TooFewPeriodsBefore => "too-few-periods-before",
        TooFewPeriodsAfter => "too-few-periods-after",
    }
);

/// The permutation test.
#[derive(Debug, Clone, PartialEq)]
pub struct Placebo {
    /// Share of assignments with an estimate at least as far from zero as the pilot's.
    pub p_value: f64,
    /// How many assignments were tried (the pilot's own included).
    pub assignments: usize,
    /// Whether every assignment was tried.
    pub exact: bool,
}

/// At most this many assignments are tried one by one; beyond, a seeded sample of this size.
pub const MAX_EXACT: usize = 5_000;

impl Panel {
    /// Checks that the data allows a conclusion.
    pub fn thin(&self) -> Option<Thin> {
        let pilots = self.pilot.iter().filter(|p| **p).count();
        let controls = self.pilot.len() - pilots;
        if pilots < 1 {
            return Some(Thin::TooFewPilotPoints);
        }
        if controls < 2 {
            return Some(Thin::TooFewControlPoints);
        }
        let periods = |after: bool| {
            let mut ps: Vec<i64> = self
                .observations
                .iter()
                .filter(|o| (o.period >= self.start) == after)
                .map(|o| o.period)
                .collect();
            ps.sort_unstable();
            ps.dedup();
            ps.len()
        };
        if periods(false) < 2 {
            return Some(Thin::TooFewPeriodsBefore);
        }
        if periods(true) < 2 {
            return Some(Thin::TooFewPeriodsAfter);
        }
        None
    }

    /// The estimate with the pilot label as given.
    pub fn estimate(&self) -> Option<Estimate> {
        did(&self.observations, &self.pilot, self.start)
    }

    /// The permutation test of the estimate (see the module).
    pub fn placebo(&self, seed: u64) -> Option<Placebo> {
        let actual = self.estimate()?.effect;
        let n = self.pilot.len();
        let k = self.pilot.iter().filter(|p| **p).count();
        let total = binomial(n, k);
        let tol = 1e-12 * actual.abs().max(1.0);
        let mut at_least = 0usize;
        let mut tried = 0usize;
        let mut count = |labels: &[bool]| {
            if let Some(e) = did(&self.observations, labels, self.start) {
                tried += 1;
                if e.effect.abs() >= actual.abs() - tol {
                    at_least += 1;
                }
            }
        };
        let exact = total <= MAX_EXACT as u128;
        if exact {
            let mut idx: Vec<usize> = (0..k).collect();
            loop {
                let mut labels = vec![false; n];
                for i in &idx {
                    labels[*i] = true;
                }
                count(&labels);
                // The next combination in lexicographic order: the rightmost index that can
                // still move, moved by one, those after it right behind.
                let mut i = k;
                while i > 0 && idx[i - 1] == n - k + i - 1 {
                    i -= 1;
                }
                if i == 0 {
                    break;
                }
                idx[i - 1] += 1;
                for j in i..k {
                    idx[j] = idx[j - 1] + 1;
                }
            }
        } else {
            count(&self.pilot);
            let mut rng = SplitMix64::new(seed);
            for _ in 1..MAX_EXACT {
                let mut order: Vec<usize> = (0..n).collect();
                for i in (1..n).rev() {
                    let j = (rng.next_u64() % (i as u64 + 1)) as usize;
                    order.swap(i, j);
                }
                let mut labels = vec![false; n];
                for i in order.iter().take(k) {
                    labels[*i] = true;
                }
                count(&labels);
            }
        }
        (tried > 0).then(|| Placebo {
            p_value: at_least as f64 / tried as f64,
            assignments: tried,
            exact,
        })
    }
}

/// The most months before the start a pilot compares.
pub const MAX_MONTHS_BEFORE: i64 = 24;
/// The most months after the start an evaluation reads.
pub const MAX_MONTHS_AFTER: usize = 36;

/// A pilot as typed, checked (the organisations are checked by the store).
#[derive(Debug, Clone, PartialEq)]
pub struct NewPilot {
    pub name: String,
    pub programme: String,
    pub start: Date,
    pub end: Option<Date>,
    pub months_before: i64,
    pub kpis: Vec<Kpi>,
    pub pilot_points: Vec<String>,
    pub control_points: Vec<String>,
    pub control_method: ControlMethod,
}

fn date(field: &str, s: &str) -> Result<Date, FieldError> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s.trim(), &fmt).map_err(|_| {
        FieldError::new(
            field,
            Rule::Format,
            format!("{field} must be a date like 2026-08-01"),
        )
    })
}

/// The KPIs a pilot may follow: those computed on the KPI pages, each once.
pub fn parse_kpis(field: &str, codes: &[String]) -> Result<Vec<Kpi>, FieldError> {
    let mut out: Vec<Kpi> = Vec::new();
    for c in codes.iter().filter(|c| !c.trim().is_empty()) {
        let k = Kpi::parse(field, c)?;
        if let Some(page) = k.computed_at() {
            return Err(FieldError::new(
                field,
                Rule::NotAllowed,
                format!(
                    "{} is computed on {page} and cannot be followed by a pilot",
                    k.as_str()
                ),
            ));
        }
        if !out.contains(&k) {
            out.push(k);
        }
    }
    if out.is_empty() {
        return Err(FieldError::new(
            field,
            Rule::Required,
            format!("{field} needs at least one KPI"),
        ));
    }
    Ok(out)
}

/// `months_before`: 6 when not given, else 2 to [`MAX_MONTHS_BEFORE`].
pub fn parse_months_before(v: Option<i64>) -> Result<i64, FieldError> {
    let m = v.unwrap_or(6);
    if !(2..=MAX_MONTHS_BEFORE).contains(&m) {
        return Err(FieldError::new(
            "months_before",
            Rule::NotAllowed,
            format!("months_before must be from 2 to {MAX_MONTHS_BEFORE}"),
        ));
    }
    Ok(m)
}

/// The start date of a pilot or a proposal.
pub fn parse_start(s: &str) -> Result<Date, FieldError> {
    date("start_date", s)
}

fn points(ids: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for id in ids.iter().map(|i| i.trim()).filter(|i| !i.is_empty()) {
        if !out.iter().any(|o| o == id) {
            out.push(id.to_string());
        }
    }
    out
}

impl NewPilot {
    /// Checks every field, naming each that fails.
    #[allow(clippy::too_many_arguments)]
    pub fn parse(
        name: &str,
        programme: &str,
        start_date: &str,
        end_date: Option<&str>,
        months_before: Option<i64>,
        kpis: &[String],
        pilot_points: &[String],
        control_points: &[String],
        control_method: Option<&str>,
    ) -> Result<NewPilot, ValidationErrors> {
        let mut e = ValidationErrors::default();
        let name = e.take(validation::text("name", name, 1, 200));
        let programme = e.take(validation::text_block("programme", programme, 1, 4_000));
        let start = e.take(date("start_date", start_date));
        let end = match end_date.map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => e.take(date("end_date", s)).map(Some),
            None => Some(None),
        };
        if let (Some(s), Some(Some(en))) = (start, end) {
            if en < s {
                e.push(FieldError::new(
                    "end_date",
                    Rule::NotAllowed,
                    "end_date must not be before start_date",
                ));
            }
        }
        let months_before = e.take(parse_months_before(months_before));
        let kpis = e.take(parse_kpis("kpis", kpis));
        let pilot_points = points(pilot_points);
        let control_points = points(control_points);
        if pilot_points.is_empty() {
            e.push(FieldError::new(
                "pilot_points",
                Rule::Required,
                "pilot_points needs at least one service point",
            ));
        }
        if control_points.is_empty() {
            e.push(FieldError::new(
                "control_points",
                Rule::Required,
                "control_points needs at least one service point",
            ));
        }
        if control_points.iter().any(|c| pilot_points.contains(c)) {
            e.push(FieldError::new(
                "control_points",
                Rule::NotAllowed,
                "a service point cannot be in the pilot and in the control group",
            ));
        }
        let control_method = match control_method.map(str::trim).filter(|s| !s.is_empty()) {
            Some(m) => e.take(ControlMethod::parse("control_method", m)),
            None => Some(ControlMethod::Chosen),
        };
        e.into_result()?;
        match (
            name,
            programme,
            start,
            end,
            months_before,
            kpis,
            control_method,
        ) {
            (
                Some(name),
                Some(programme),
                Some(start),
                Some(end),
                Some(months_before),
                Some(kpis),
                Some(control_method),
            ) => Ok(NewPilot {
                name,
                programme,
                start,
                end,
                months_before,
                kpis,
                pilot_points,
                control_points,
                control_method,
            }),
            _ => {
                Err(FieldError::new("name", Rule::Required, "a checked pilot lost a field").into())
            }
        }
    }
}

/// The months an evaluation compares.
#[derive(Debug, Clone, PartialEq)]
pub struct Months {
    /// Each month as a period, the before months first.
    pub periods: Vec<Period>,
    /// The index of the first month after the start.
    pub first_after: usize,
    /// The month the start falls inside (left out: half before, half after).
    pub left_out: Option<Period>,
}

fn month_of(d: Date) -> Period {
    let from = d.replace_day(1).unwrap_or(d);
    let next = next_month(from);
    Period {
        from,
        to: next - Duration::days(1),
    }
}

fn next_month(first: Date) -> Date {
    let (y, m) = if first.month() == Month::December {
        (first.year() + 1, Month::January)
    } else {
        (first.year(), first.month().next())
    };
    Date::from_calendar_date(y, m, 1).unwrap_or(first)
}

/// `months_before` whole months before the start and the whole months after it up to the last
/// one ended before `today` (and begun by `end`), at most [`MAX_MONTHS_AFTER`].
pub fn months(start: Date, end: Option<Date>, months_before: i64, today: Date) -> Months {
    let start_month = month_of(start);
    let (left_out, first) = if start.day() == 1 {
        (None, start_month)
    } else {
        (
            Some(start_month),
            month_of(start_month.to + Duration::days(1)),
        )
    };
    let mut before = Vec::new();
    let mut m = start_month;
    for _ in 0..months_before.clamp(0, MAX_MONTHS_BEFORE) {
        m = month_of(m.from - Duration::days(1));
        before.push(m);
    }
    before.reverse();
    let first_after = before.len();
    let mut periods = before;
    let mut m = first;
    while m.to < today
        && end.is_none_or(|e| m.from <= e)
        && periods.len() - first_after < MAX_MONTHS_AFTER
    {
        periods.push(m);
        m = month_of(m.to + Duration::days(1));
    }
    Months {
        periods,
        first_after,
        left_out,
    }
}

/// How many of the months (from the first) a KPI can be read for by `today`: all of them, but
/// for the KPIs whose items count only once their 30 days have passed (first-time fix,
/// comebacks, remote resolution), a month whose last 30 days have not yet passed is not.
pub fn months_counted(k: Kpi, periods: &[Period], today: Date) -> usize {
    let wait = match k {
        Kpi::FirstTimeFix | Kpi::Comeback | Kpi::RemoteResolution => {
            crate::kpi::formulas::RETURN_DAYS
        }
        _ => 0,
    };
    periods
        .iter()
        .take_while(|p| p.to + Duration::days(wait) < today)
        .count()
}

/// Whether a point's monthly values take part in an evaluation: a value on both sides of the
/// start.
pub fn takes_part(values: &[Option<f64>], first_after: usize) -> bool {
    values.iter().take(first_after).any(Option::is_some)
        && values.iter().skip(first_after).any(Option::is_some)
}

/// One KPI's evaluation: the estimate and its tests, and what they conclude.
#[derive(Debug, Clone, PartialEq)]
pub struct KpiEvaluation {
    pub estimate: Option<Estimate>,
    pub placebo: Option<Placebo>,
    /// For a single pilot point: its synthetic control and the placebo in space.
    pub synthetic: Option<(synthetic::Synthetic, synthetic::SynthPlacebo)>,
    pub thin: Option<Thin>,
    pub verdict: Verdict,
}

/// The largest placebo p-value a single pilot point's gap is called an effect at.
pub const SYNTHETIC_P: f64 = 0.10;

/// Evaluates one KPI from each point's monthly values (`true`: a pilot point), the months from
/// `first_after` on being after the start. Points without a value on both sides of the start
/// take no part. Several pilot points: the verdict reads the difference-in-differences interval;
/// a single one: that interval and its synthetic control must agree (an effect there when no
/// more than [`SYNTHETIC_P`] of the placebo points show a gap ratio as large).
pub fn evaluate(
    better: Better,
    series: &[(bool, Vec<Option<f64>>)],
    first_after: usize,
    seed: u64,
) -> KpiEvaluation {
    let used: Vec<&(bool, Vec<Option<f64>>)> = series
        .iter()
        .filter(|(_, v)| takes_part(v, first_after))
        .collect();
    let mut observations = Vec::new();
    for (unit, (_, values)) in used.iter().enumerate() {
        for (period, v) in values.iter().enumerate() {
            if let Some(value) = v {
                observations.push(Observation {
                    unit,
                    period: period as i64,
                    value: *value,
                });
            }
        }
    }
    let panel = Panel {
        observations,
        pilot: used.iter().map(|(p, _)| *p).collect(),
        start: first_after as i64,
    };
    // The months come first: with none after the start, no point has data on both sides.
    let months = series.iter().map(|(_, v)| v.len()).max().unwrap_or(0);
    let with_data = |range: std::ops::Range<usize>| {
        range
            .filter(|t| {
                series
                    .iter()
                    .any(|(_, v)| v.get(*t).copied().flatten().is_some())
            })
            .count()
    };
    let thin = if with_data(0..first_after.min(months)) < 2 {
        Some(Thin::TooFewPeriodsBefore)
    } else if with_data(first_after.min(months)..months) < 2 {
        Some(Thin::TooFewPeriodsAfter)
    } else {
        panel.thin()
    };
    let estimate = panel.estimate();
    let placebo = if thin.is_none() {
        panel.placebo(seed)
    } else {
        None
    };
    let pilots: Vec<&Vec<Option<f64>>> = used.iter().filter(|(p, _)| *p).map(|(_, v)| v).collect();
    let synthetic = if pilots.len() == 1 && thin.is_none() {
        let donors: Vec<Vec<Option<f64>>> = used
            .iter()
            .filter(|(p, _)| !*p)
            .map(|(_, v)| v.clone())
            .collect();
        synthetic::fit(pilots[0], &donors, first_after).zip(synthetic::placebo(
            pilots[0],
            &donors,
            first_after,
        ))
    } else {
        None
    };
    let verdict = match (&thin, &synthetic, &estimate) {
        (Some(_), _, _) => Verdict::TooThin,
        (None, Some((s, p)), did) => {
            // One pilot point: the interval and its synthetic control must agree.
            let synthetic = if p.p_value <= SYNTHETIC_P + 1e-12 {
                verdict(better, s.effect, s.effect)
            } else {
                Verdict::NoClearEffect
            };
            match did.map(|e| verdict(better, e.lower, e.upper)) {
                Some(d) if d == synthetic => d,
                _ => Verdict::NoClearEffect,
            }
        }
        (None, None, Some(e)) => verdict(better, e.lower, e.upper),
        (None, None, None) => Verdict::TooThin,
    };
    KpiEvaluation {
        estimate,
        placebo,
        synthetic,
        thin,
        verdict,
    }
}

fn binomial(n: usize, k: usize) -> u128 {
    let k = k.min(n - k.min(n));
    let mut r: u128 = 1;
    for i in 0..k {
        r = r * (n - i) as u128 / (i + 1) as u128;
        if r > 1_000_000_000 {
            return r;
        }
    }
    r
}

/// Solves a small symmetric system by Gauss–Jordan with partial pivoting; the inverse.
fn invert(m: [[f64; 4]; 4]) -> Option<[[f64; 4]; 4]> {
    let mut a = m;
    let mut inv = [[0.0; 4]; 4];
    for (i, row) in inv.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    for col in 0..4 {
        let pivot = (col..4).max_by(|x, y| a[*x][col].abs().total_cmp(&a[*y][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        inv.swap(col, pivot);
        let d = a[col][col];
        for j in 0..4 {
            a[col][j] /= d;
            inv[col][j] /= d;
        }
        for r in 0..4 {
            if r != col {
                let f = a[r][col];
                for j in 0..4 {
                    a[r][j] -= f * a[col][j];
                    inv[r][j] -= f * inv[col][j];
                }
            }
        }
    }
    Some(inv)
}

/// The difference-in-differences regression (see the module); `None` when a cell is empty.
pub fn did(observations: &[Observation], pilot: &[bool], start: i64) -> Option<Estimate> {
    let row = |o: &Observation| {
        let p = f64::from(u8::from(*pilot.get(o.unit)?));
        let a = f64::from(u8::from(o.period >= start));
        Some([1.0, p, a, p * a])
    };
    let mut xtx = [[0.0; 4]; 4];
    let mut xty = [0.0; 4];
    let mut sums = [(0.0, 0usize); 4];
    for o in observations {
        let x = row(o)?;
        for i in 0..4 {
            xty[i] += x[i] * o.value;
            for j in 0..4 {
                xtx[i][j] += x[i] * x[j];
            }
        }
        let cell = match (x[1] > 0.5, x[2] > 0.5) {
            (true, false) => 0,
            (true, true) => 1,
            (false, false) => 2,
            (false, true) => 3,
        };
        sums[cell].0 += o.value;
        sums[cell].1 += 1;
    }
    if sums.iter().any(|(_, n)| *n == 0) {
        return None;
    }
    let inv = invert(xtx)?;
    let beta: Vec<f64> = (0..4)
        .map(|i| (0..4).map(|j| inv[i][j] * xty[j]).sum())
        .collect();
    // The meat: Σ over clusters of (X_g' u_g)(X_g' u_g)'.
    let units = pilot.len();
    let mut score = vec![[0.0; 4]; units];
    for o in observations {
        let x = row(o)?;
        let u = o.value - (0..4).map(|i| x[i] * beta[i]).sum::<f64>();
        for i in 0..4 {
            score[o.unit][i] += x[i] * u;
        }
    }
    let used: Vec<&[f64; 4]> = score
        .iter()
        .enumerate()
        .filter(|(g, _)| observations.iter().any(|o| o.unit == *g))
        .map(|(_, s)| s)
        .collect();
    let g = used.len() as f64;
    let n = observations.len() as f64;
    let k = 4.0;
    if g < 2.0 || n <= k {
        return None;
    }
    let mut meat = [[0.0; 4]; 4];
    for s in used {
        for i in 0..4 {
            for j in 0..4 {
                meat[i][j] += s[i] * s[j];
            }
        }
    }
    let factor = g / (g - 1.0) * (n - 1.0) / (n - k);
    // The variance of δ: row 3 of inv · meat · inv, column 3.
    let mut var = 0.0;
    for i in 0..4 {
        for j in 0..4 {
            var += inv[3][i] * meat[i][j] * inv[j][3];
        }
    }
    let se = (var * factor).max(0.0).sqrt();
    let z = student::quantile(0.975, g - 1.0)?;
    let means = sums.map(|(s, n)| s / n as f64);
    Some(Estimate {
        effect: beta[3],
        std_error: se,
        lower: beta[3] - z * se,
        upper: beta[3] + z * se,
        means,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panel(effect: f64) -> Panel {
        // Five points, eight months, the programme from month 4 at points 0 and 1.
        let base = [80.0, 76.0, 78.0, 74.0, 79.0];
        let mut observations = Vec::new();
        for (unit, b) in base.iter().enumerate() {
            for period in 0..8 {
                let wiggle = ((unit * 7 + period as usize * 3) % 5) as f64 - 2.0;
                let lift = if unit < 2 && period >= 4 { effect } else { 0.0 };
                observations.push(Observation {
                    unit,
                    period,
                    value: b + 0.5 * period as f64 + wiggle + lift,
                });
            }
        }
        Panel {
            observations,
            pilot: vec![true, true, false, false, false],
            start: 4,
        }
    }

    #[test]
    fn the_estimate_is_the_difference_of_the_differences_of_means() {
        let p = panel(6.0);
        let e = p.estimate().unwrap();
        let [pb, pa, cb, ca] = e.means;
        assert!((e.effect - ((pa - pb) - (ca - cb))).abs() < 1e-9);
        assert!(e.lower < e.effect && e.effect < e.upper);
        assert!(p.thin().is_none());
    }

    #[test]
    fn the_placebo_test_tries_every_assignment_and_ranks_the_pilot() {
        let p = panel(6.0);
        let t = p.placebo(1).unwrap();
        // C(5, 2) = 10 assignments; the real one is the most extreme.
        assert_eq!(t.assignments, 10);
        assert!(t.exact);
        assert!((t.p_value - 0.1).abs() < 1e-12, "{}", t.p_value);
        let none = panel(0.0).placebo(1).unwrap();
        assert!(none.p_value > 0.1);
    }

    #[test]
    fn evaluation_reads_the_interval_in_the_kpis_direction() {
        let p = panel(6.0);
        let series: Vec<(bool, Vec<Option<f64>>)> = (0..5)
            .map(|u| {
                let mut v = vec![None; 8];
                for o in p.observations.iter().filter(|o| o.unit == u) {
                    v[o.period as usize] = Some(o.value);
                }
                (p.pilot[u], v)
            })
            .collect();
        let up = evaluate(Better::HigherIsBetter, &series, 4, 1);
        assert_eq!(up.verdict, Verdict::Improved);
        assert_eq!(
            evaluate(Better::LowerIsBetter, &series, 4, 1).verdict,
            Verdict::Worsened
        );
        // A point with no value after the start takes no part: four points, two controls left.
        let mut fewer = series.clone();
        fewer[4].1[4..].iter_mut().for_each(|v| *v = None);
        fewer[3].1[4..].iter_mut().for_each(|v| *v = None);
        let thin = evaluate(Better::HigherIsBetter, &fewer, 4, 1);
        assert_eq!(thin.thin, Some(Thin::TooFewControlPoints));
        assert_eq!(thin.verdict, Verdict::TooThin);
        // A single pilot point gets its synthetic control.
        let mut single = series.clone();
        single[1].0 = false;
        let one = evaluate(Better::HigherIsBetter, &single, 4, 1);
        assert!(one.synthetic.is_some());
        // Four placebo points and the pilot: the smallest p-value is 1/5, above 0.10.
        assert_eq!(one.verdict, Verdict::NoClearEffect);
    }

    #[test]
    fn months_are_whole_and_a_start_inside_a_month_leaves_it_out() {
        use time::macros::date;
        let m = months(date!(2026 - 08 - 01), None, 3, date!(2026 - 12 - 07));
        let firsts: Vec<String> = m.periods.iter().map(|p| p.from.to_string()).collect();
        assert_eq!(
            firsts,
            [
                "2026-05-01",
                "2026-06-01",
                "2026-07-01",
                "2026-08-01",
                "2026-09-01",
                "2026-10-01",
                "2026-11-01"
            ]
        );
        assert_eq!(m.first_after, 3);
        assert_eq!(m.left_out, None);
        let m = months(
            date!(2026 - 08 - 15),
            Some(date!(2026 - 10 - 10)),
            2,
            date!(2026 - 12 - 07),
        );
        let firsts: Vec<String> = m.periods.iter().map(|p| p.from.to_string()).collect();
        assert_eq!(
            firsts,
            ["2026-06-01", "2026-07-01", "2026-09-01", "2026-10-01"]
        );
        assert_eq!(
            m.left_out.map(|p| p.to.to_string()).as_deref(),
            Some("2026-08-31")
        );
        let m = months(date!(2026 - 12 - 01), None, 2, date!(2026 - 12 - 07));
        assert_eq!(m.periods.len(), m.first_after);
    }

    #[test]
    fn a_month_counts_for_first_time_fix_once_its_30_days_have_passed() {
        use time::macros::date;
        let m = months(date!(2026 - 08 - 01), None, 2, date!(2026 - 12 - 07));
        // June to November; November ends on the 30th, its 30 days pass on 30 December.
        assert_eq!(m.periods.len(), 6);
        assert_eq!(
            months_counted(Kpi::Csat, &m.periods, date!(2026 - 12 - 07)),
            6
        );
        assert_eq!(
            months_counted(Kpi::FirstTimeFix, &m.periods, date!(2026 - 12 - 07)),
            5
        );
        assert_eq!(
            months_counted(Kpi::FirstTimeFix, &m.periods, date!(2026 - 12 - 31)),
            6
        );
    }

    #[test]
    fn a_pilot_names_each_field_it_refuses() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let e = NewPilot::parse(
            "",
            "Pickup",
            "2026-13-01",
            Some("2026-01-01"),
            Some(30),
            &s(&["csat", "claims-per-1000"]),
            &s(&["a"]),
            &s(&["a", "b"]),
            Some("random"),
        )
        .unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
        for f in [
            "name",
            "start_date",
            "months_before",
            "kpis",
            "control_points",
            "control_method",
        ] {
            assert!(fields.contains(&f), "{f} in {fields:?}");
        }
        let ok = NewPilot::parse(
            "Recolha",
            "Pickup and delivery included",
            "2026-08-01",
            None,
            None,
            &s(&["csat", "nps", "csat"]),
            &s(&["a", "b"]),
            &s(&["c", "d", "e"]),
            None,
        )
        .unwrap();
        assert_eq!(ok.kpis, vec![Kpi::Csat, Kpi::Nps]);
        assert_eq!(ok.months_before, 6);
        assert_eq!(ok.control_method, ControlMethod::Chosen);
    }

    #[test]
    fn thin_data_is_named() {
        let mut p = panel(1.0);
        p.pilot = vec![true, true, true, true, false];
        assert_eq!(p.thin(), Some(Thin::TooFewControlPoints));
        let mut p = panel(1.0);
        p.start = 7;
        assert_eq!(p.thin(), Some(Thin::TooFewPeriodsAfter));
        let mut p = panel(1.0);
        p.pilot = vec![false; 5];
        assert_eq!(p.thin(), Some(Thin::TooFewPilotPoints));
        assert!(p.estimate().is_none());
    }
}
