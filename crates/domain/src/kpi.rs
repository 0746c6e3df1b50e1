//! KPIs (capability kpis, issue 20): the published definitions of
//! `shared/reference/kpi-definitions.md` as data (unit, which way is better, where each is
//! computed), the period a figure covers, the contributions every figure is summed from (one per
//! repair order, case, survey, invoice, claim, transport job or technician, each carrying the
//! dimensions it breaks down by and the item it drills down to), figures and breakdowns, and the
//! red/amber/green rule against a target. The formulas that turn what happened into
//! contributions are in kpi/formulas.rs; a seeded workshop history for the demo and the
//! benchmark in kpi/history.rs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::{Date, Duration, Month, OffsetDateTime, Weekday};

use crate::validation::{FieldError, Rule};
use crate::workshop::PayType;

pub mod formulas;
pub mod history;

vocabulary!(
    /// A published KPI, by its code in URLs and the API.
    Kpi {
        FirstTimeFix => "first-time-fix",
        Comeback => "comeback",
        RemoteResolution => "remote-resolution",
        Turnaround => "turnaround-days",
        ResponseSla => "response-sla-attainment",
        ResolutionSla => "resolution-sla-attainment",
        LabourRate => "effective-labour-rate",
        HoursPerRo => "hours-per-ro",
        Efficiency => "technician-efficiency",
        Productivity => "technician-productivity",
        Csat => "csat",
        Nps => "nps",
        ServiceRevenue => "service-revenue",
        ContributionMargin => "contribution-margin",
        MarginPercent => "contribution-margin-percent",
        LogisticsOnTime => "logistics-on-time",
        ClaimsPer1000 => "claims-per-1000",
        WarrantyCostPerUnit => "warranty-cost-per-unit",
        GoodwillCostPerUnit => "goodwill-cost-per-unit",
        StandardsCompliance => "standards-compliance",
        TrainingCompliance => "training-compliance",
    }
);

vocabulary!(
    /// What a KPI's value is measured in.
    KpiUnit {
        Percent => "percent",
        Days => "days",
        Hours => "hours",
        Money => "money",
        MoneyPerHour => "money-per-hour",
        Score => "score",
    }
);

vocabulary!(
    /// Which way a KPI is better.
    Better {
        HigherIsBetter => "higher-is-better",
        LowerIsBetter => "lower-is-better",
    }
);

vocabulary!(
    /// What a figure breaks down by.
    Dimension {
        Market => "market",
        ServicePoint => "service-point",
        Advisor => "advisor",
        Technician => "technician",
        Model => "model",
        PayType => "pay-type",
        Month => "month",
    }
);

vocabulary!(
    /// What a contribution drills down to.
    KpiItemKind {
        RepairOrder => "repair-order",
        Case => "case",
        Claim => "claim",
        Invoice => "invoice",
        Technician => "technician",
    }
);

vocabulary!(
    /// A figure against its target.
    Rag {
        Green => "green",
        Amber => "amber",
        Red => "red",
    }
);

impl Kpi {
    pub fn unit(self) -> KpiUnit {
        use Kpi::*;
        match self {
            Turnaround => KpiUnit::Days,
            HoursPerRo => KpiUnit::Hours,
            LabourRate => KpiUnit::MoneyPerHour,
            ServiceRevenue | ContributionMargin | WarrantyCostPerUnit | GoodwillCostPerUnit => {
                KpiUnit::Money
            }
            Nps | ClaimsPer1000 => KpiUnit::Score,
            _ => KpiUnit::Percent,
        }
    }

    pub fn direction(self) -> Better {
        use Kpi::*;
        match self {
            Comeback | Turnaround | ClaimsPer1000 | WarrantyCostPerUnit | GoodwillCostPerUnit => {
                Better::LowerIsBetter
            }
            _ => Better::HigherIsBetter,
        }
    }

    /// Whether the value is a sum (revenue, margin) rather than a ratio of sums.
    pub fn is_sum(self) -> bool {
        matches!(self, Kpi::ServiceRevenue | Kpi::ContributionMargin)
    }

    /// numerator ÷ denominator is multiplied by this.
    pub fn scale(self) -> f64 {
        match self.unit() {
            KpiUnit::Percent | KpiUnit::Score => 100.0,
            _ => 1.0,
        }
    }

    /// The page that computes the KPIs whose data lives with another capability (warranty
    /// analysis, the network's audits, training); `None` for those the KPI pages compute.
    pub fn computed_at(self) -> Option<&'static str> {
        use Kpi::*;
        match self {
            ClaimsPer1000 | WarrantyCostPerUnit | GoodwillCostPerUnit => Some("/warranty/analysis"),
            StandardsCompliance => Some("/network"),
            TrainingCompliance => Some("/training"),
            _ => None,
        }
    }

    /// The KPIs the KPI pages compute, in the published order.
    pub fn computed() -> impl Iterator<Item = Kpi> {
        Kpi::ALL
            .iter()
            .copied()
            .filter(|k| k.computed_at().is_none())
    }

    /// The dimensions a KPI breaks down by (the technician only where work is clocked).
    pub fn dimensions(self) -> &'static [Dimension] {
        use Dimension as D;
        use Kpi::*;
        match self {
            Efficiency | Productivity => &[D::Market, D::ServicePoint, D::Technician, D::Month],
            RemoteResolution | ResponseSla | ResolutionSla => {
                &[D::Market, D::ServicePoint, D::Advisor, D::Model, D::Month]
            }
            _ => &[
                D::Market,
                D::ServicePoint,
                D::Advisor,
                D::Technician,
                D::Model,
                D::PayType,
                D::Month,
            ],
        }
    }
}

/// The days a figure covers, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: Date,
    pub to: Date,
}

/// The longest period a figure covers.
pub const MAX_PERIOD_DAYS: i64 = 3 * 366;

impl Period {
    pub fn new(from: Date, to: Date) -> Result<Period, FieldError> {
        if to < from {
            return Err(FieldError::new(
                "to",
                Rule::NotAllowed,
                "to must not be before from",
            ));
        }
        if (to - from).whole_days() >= MAX_PERIOD_DAYS {
            return Err(FieldError::new(
                "to",
                Rule::TooLong,
                format!("a period covers at most {MAX_PERIOD_DAYS} days"),
            ));
        }
        Ok(Period { from, to })
    }

    /// A named period: `2026-11` (a month), `2026-Q4` (a quarter), `2026` (a year).
    pub fn parse(field: &str, s: &str) -> Result<Period, FieldError> {
        let s = s.trim();
        let bad = || {
            FieldError::new(
                field,
                Rule::Format,
                format!("{field} must be a month (2026-11), a quarter (2026-Q4) or a year (2026)"),
            )
        };
        let year = |y: &str| -> Result<i32, FieldError> {
            y.parse::<i32>()
                .ok()
                .filter(|y| (2000..=2100).contains(y))
                .ok_or_else(bad)
        };
        if let Some((y, q)) = s.split_once("-Q") {
            let y = year(y)?;
            let q: u8 = q
                .parse()
                .ok()
                .filter(|q| (1..=4).contains(q))
                .ok_or_else(bad)?;
            let first = Month::try_from(3 * q - 2).map_err(|_| bad())?;
            let from = Date::from_calendar_date(y, first, 1).map_err(|_| bad())?;
            let last = Month::try_from(3 * q).map_err(|_| bad())?;
            return Ok(Period {
                from,
                to: month_end(y, last),
            });
        }
        if let Some((y, m)) = s.split_once('-') {
            let y = year(y)?;
            let m: u8 = m.parse().map_err(|_| bad())?;
            let m = Month::try_from(m).map_err(|_| bad())?;
            let from = Date::from_calendar_date(y, m, 1).map_err(|_| bad())?;
            return Ok(Period {
                from,
                to: month_end(y, m),
            });
        }
        let y = year(s)?;
        let from = Date::from_calendar_date(y, Month::January, 1).map_err(|_| bad())?;
        Ok(Period {
            from,
            to: month_end(y, Month::December),
        })
    }

    /// Monday of `today`'s week to today.
    pub fn this_week(today: Date) -> Period {
        let back = i64::from(today.weekday().number_days_from_monday());
        Period {
            from: today - Duration::days(back),
            to: today,
        }
    }

    /// The first of `today`'s month to today.
    pub fn this_month(today: Date) -> Period {
        Period {
            from: today.replace_day(1).unwrap_or(today),
            to: today,
        }
    }

    /// The whole month before `today`'s.
    pub fn last_month(today: Date) -> Period {
        let first = today.replace_day(1).unwrap_or(today);
        let last = first - Duration::days(1);
        Period {
            from: last.replace_day(1).unwrap_or(last),
            to: last,
        }
    }

    /// The twelve whole months before `today`'s month.
    pub fn last_twelve_months(today: Date) -> Period {
        let first = today.replace_day(1).unwrap_or(today);
        let to = first - Duration::days(1);
        let from = Date::from_calendar_date(first.year() - 1, first.month(), 1).unwrap_or(first);
        Period { from, to }
    }

    /// The first of January to today.
    pub fn year_to_date(today: Date) -> Period {
        Period {
            from: Date::from_calendar_date(today.year(), Month::January, 1).unwrap_or(today),
            to: today,
        }
    }

    /// The same number of days just before this period (for "against the period before").
    pub fn previous(self) -> Period {
        let days = (self.to - self.from).whole_days() + 1;
        Period {
            from: self.from - Duration::days(days),
            to: self.from - Duration::days(1),
        }
    }

    /// Whether the instant falls on one of the period's days (days in UTC).
    pub fn contains(self, at: OffsetDateTime) -> bool {
        let d = at.to_offset(time::UtcOffset::UTC).date();
        d >= self.from && d <= self.to
    }

    pub fn contains_day(self, d: Date) -> bool {
        d >= self.from && d <= self.to
    }

    /// The first instant of the period and the first after it (UTC).
    pub fn bounds(self) -> (OffsetDateTime, OffsetDateTime) {
        (
            self.from.midnight().assume_utc(),
            (self.to + Duration::days(1)).midnight().assume_utc(),
        )
    }

    pub fn days(self) -> i64 {
        (self.to - self.from).whole_days() + 1
    }

    /// Every day of the period.
    pub fn each_day(self) -> impl Iterator<Item = Date> {
        let from = self.from;
        (0..self.days()).map(move |i| from + Duration::days(i))
    }
}

fn month_end(year: i32, month: Month) -> Date {
    let days = month.length(year);
    Date::from_calendar_date(year, month, days).unwrap_or(Date::MIN)
}

/// What a contribution is, to drill down to.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
pub struct ItemRef {
    pub kind: KpiItemKind,
    pub id: String,
    /// Its number as people know it (RO-…, CASE-…, a claim's or an invoice's number, a name).
    pub label: String,
}

/// The dimensions one contribution carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dims {
    pub market: Option<String>,
    pub service_point: String,
    pub advisor: Option<String>,
    pub technician: Option<String>,
    pub model: Option<String>,
    pub pay_type: Option<PayType>,
}

impl Dims {
    /// The key this contribution falls under for a dimension (`None`: not known).
    pub fn key(&self, d: Dimension, at: OffsetDateTime) -> Option<String> {
        match d {
            Dimension::Market => self.market.clone(),
            Dimension::ServicePoint => Some(self.service_point.clone()),
            Dimension::Advisor => self.advisor.clone(),
            Dimension::Technician => self.technician.clone(),
            Dimension::Model => self.model.clone(),
            Dimension::PayType => self.pay_type.map(|p| p.as_str().to_string()),
            Dimension::Month => {
                let d = at.to_offset(time::UtcOffset::UTC).date();
                Some(format!("{}-{:02}", d.year(), u8::from(d.month())))
            }
        }
    }
}

/// One item's share of a figure: the figure is Σ num ÷ Σ den × scale (or Σ num for a sum).
#[derive(Debug, Clone, PartialEq)]
pub struct Contribution {
    pub item: ItemRef,
    /// When it counts (the day that puts it in a period, and its month).
    pub at: OffsetDateTime,
    pub dims: Dims,
    pub num: f64,
    pub den: f64,
    /// The currency of a money KPI's amounts.
    pub currency: Option<String>,
}

/// A KPI's value over some contributions.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Figure {
    /// `null` without data, or when money in several currencies would be added.
    pub value: Option<f64>,
    pub numerator: f64,
    pub denominator: f64,
    /// How many items it is computed from.
    pub items: usize,
    /// The currency of a money figure.
    pub currency: Option<String>,
    /// Money in more than one currency: no total (break it down by market).
    pub mixed_currencies: bool,
}

/// The figure of `kpi` over contributions.
pub fn figure<'a>(kpi: Kpi, cs: impl IntoIterator<Item = &'a Contribution>) -> Figure {
    figure_of_sums(
        kpi,
        cs.into_iter()
            .map(|c| (c.num, c.den, 1, c.currency.as_deref())),
    )
}

/// A KPI's value over sums already added (a roll-up's rows: numerator, denominator, how many
/// items, currency), by the same rule as [`figure`].
pub fn figure_of_sums<'a>(
    kpi: Kpi,
    parts: impl IntoIterator<Item = (f64, f64, usize, Option<&'a str>)>,
) -> Figure {
    let mut f = Figure {
        value: None,
        numerator: 0.0,
        denominator: 0.0,
        items: 0,
        currency: None,
        mixed_currencies: false,
    };
    for (num, den, items, currency) in parts {
        if items == 0 {
            continue;
        }
        f.numerator += num;
        f.denominator += den;
        f.items += items;
        if let Some(cur) = currency {
            match &f.currency {
                None => f.currency = Some(cur.to_string()),
                Some(x) if x != cur => f.mixed_currencies = true,
                _ => {}
            }
        }
    }
    if f.items == 0 || f.mixed_currencies {
        return f;
    }
    f.value = if kpi.is_sum() {
        Some(f.numerator)
    } else if f.denominator > 0.0 {
        Some(f.numerator / f.denominator * kpi.scale())
    } else {
        None
    };
    f
}

/// The figure per key of a dimension, keys in order (`None` last: not known).
pub fn breakdown(kpi: Kpi, cs: &[Contribution], by: Dimension) -> Vec<(Option<String>, Figure)> {
    let mut groups: BTreeMap<Option<String>, Vec<&Contribution>> = BTreeMap::new();
    for c in cs {
        groups.entry(c.dims.key(by, c.at)).or_default().push(c);
    }
    let mut out: Vec<(Option<String>, Figure)> = groups
        .into_iter()
        .map(|(k, v)| (k, figure(kpi, v)))
        .collect();
    // Known keys first (BTreeMap puts None first).
    out.sort_by(|a, b| (a.0.is_none(), &a.0).cmp(&(b.0.is_none(), &b.0)));
    out
}

/// A target: green from `green` on, amber from `amber` on (in the KPI's better direction),
/// red beyond.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Target {
    pub green: f64,
    pub amber: f64,
}

impl Target {
    /// Checks the thresholds lie the right way round for the KPI.
    pub fn new(kpi: Kpi, green: f64, amber: f64) -> Result<Target, FieldError> {
        if !green.is_finite() || !amber.is_finite() {
            return Err(FieldError::new(
                "green",
                Rule::Format,
                "green and amber must be numbers",
            ));
        }
        let ok = match kpi.direction() {
            Better::HigherIsBetter => amber <= green,
            Better::LowerIsBetter => amber >= green,
        };
        if !ok {
            return Err(FieldError::new(
                "amber",
                Rule::NotAllowed,
                match kpi.direction() {
                    Better::HigherIsBetter => {
                        "amber must not be above green: higher is better for this KPI"
                    }
                    Better::LowerIsBetter => {
                        "amber must not be below green: lower is better for this KPI"
                    }
                },
            ));
        }
        Ok(Target { green, amber })
    }

    pub fn rag(self, kpi: Kpi, value: f64) -> Rag {
        let at_least = |v: f64, t: f64| match kpi.direction() {
            Better::HigherIsBetter => v >= t,
            Better::LowerIsBetter => v <= t,
        };
        if at_least(value, self.green) {
            Rag::Green
        } else if at_least(value, self.amber) {
            Rag::Amber
        } else {
            Rag::Red
        }
    }
}

/// Attendance in seconds over a period: a weekly shift pattern (weekday from Monday = 1,
/// start and end in minutes after midnight) less absences (from, to: whole days).
pub fn attendance_seconds(
    shifts: &[(u8, i64, i64)],
    absences: &[(Date, Date)],
    period: Period,
) -> i64 {
    period
        .each_day()
        .filter(|d| !absences.iter().any(|(a, b)| d >= a && d <= b))
        .map(|d| {
            let wd = weekday_number(d.weekday());
            shifts
                .iter()
                .filter(|(w, ..)| *w == wd)
                .map(|(_, s, e)| (e - s).max(0) * 60)
                .sum::<i64>()
        })
        .sum()
}

/// Monday = 1 … Sunday = 7.
pub fn weekday_number(w: Weekday) -> u8 {
    w.number_from_monday()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    fn c(num: f64, den: f64, cur: Option<&str>) -> Contribution {
        Contribution {
            item: ItemRef {
                kind: KpiItemKind::RepairOrder,
                id: "x".into(),
                label: "RO-1".into(),
            },
            at: datetime!(2026-11-03 10:00 UTC),
            dims: Dims {
                service_point: "sp".into(),
                ..Dims::default()
            },
            num,
            den,
            currency: cur.map(str::to_string),
        }
    }

    #[test]
    fn periods_by_name_and_preset() {
        let p = Period::parse("period", "2026-11").unwrap();
        assert_eq!(
            (p.from, p.to),
            (date!(2026 - 11 - 01), date!(2026 - 11 - 30))
        );
        let q = Period::parse("period", "2026-Q1").unwrap();
        assert_eq!(
            (q.from, q.to),
            (date!(2026 - 01 - 01), date!(2026 - 03 - 31))
        );
        let y = Period::parse("period", "2024").unwrap();
        assert_eq!(y.to, date!(2024 - 12 - 31));
        assert!(Period::parse("period", "2026-13").is_err());
        assert!(Period::parse("period", "last month").is_err());
        assert_eq!(
            Period::parse("period", "2026-Q5").unwrap_err().field,
            "period"
        );
        let today = date!(2026 - 12 - 03); // a Thursday
        assert_eq!(Period::this_week(today).from, date!(2026 - 11 - 30));
        assert_eq!(
            Period::last_month(today),
            Period {
                from: date!(2026 - 11 - 01),
                to: date!(2026 - 11 - 30)
            }
        );
        assert_eq!(
            Period::last_twelve_months(today),
            Period {
                from: date!(2025 - 12 - 01),
                to: date!(2026 - 11 - 30)
            }
        );
        assert_eq!(
            Period::last_month(today).previous().from,
            date!(2026 - 10 - 02)
        );
        assert!(Period::new(date!(2026 - 12 - 02), date!(2026 - 12 - 01)).is_err());
        assert!(Period::new(date!(2020 - 01 - 01), date!(2026 - 12 - 01)).is_err());
    }

    #[test]
    fn figures_are_ratios_of_sums_and_money_never_mixes() {
        let f = figure(
            Kpi::Csat,
            &[c(1.0, 1.0, None), c(0.0, 1.0, None), c(1.0, 1.0, None)],
        );
        assert!((f.value.unwrap() - 200.0 / 3.0).abs() < 1e-9);
        assert_eq!(f.items, 3);
        // Labour rate: Σ sales ÷ Σ hours, not the mean of rates.
        let f = figure(
            Kpi::LabourRate,
            &[
                c(100_000.0, 1.0, Some("NOK")),
                c(300_000.0, 3.0, Some("NOK")),
            ],
        );
        assert_eq!(f.value, Some(100_000.0));
        let f = figure(
            Kpi::ServiceRevenue,
            &[c(100.0, 0.0, Some("NOK")), c(50.0, 0.0, Some("EUR"))],
        );
        assert_eq!(f.value, None);
        assert!(f.mixed_currencies);
        let f = figure(
            Kpi::ServiceRevenue,
            &[c(100.0, 0.0, Some("EUR")), c(-30.0, 0.0, Some("EUR"))],
        );
        assert_eq!(f.value, Some(70.0));
        assert_eq!(figure(Kpi::Csat, &[]).value, None);
    }

    #[test]
    fn breakdowns_put_the_unknown_last() {
        let mut a = c(1.0, 1.0, None);
        a.dims.advisor = Some("ingrid".into());
        let b = c(0.0, 1.0, None);
        let rows = breakdown(Kpi::Csat, &[b, a], Dimension::Advisor);
        assert_eq!(rows[0].0.as_deref(), Some("ingrid"));
        assert_eq!(rows[1].0, None);
        let months = breakdown(Kpi::Csat, &[c(1.0, 1.0, None)], Dimension::Month);
        assert_eq!(months[0].0.as_deref(), Some("2026-11"));
    }

    #[test]
    fn red_amber_green_follow_the_better_direction() {
        let t = Target::new(Kpi::FirstTimeFix, 90.0, 85.0).unwrap();
        assert_eq!(t.rag(Kpi::FirstTimeFix, 92.0), Rag::Green);
        assert_eq!(t.rag(Kpi::FirstTimeFix, 90.0), Rag::Green);
        assert_eq!(t.rag(Kpi::FirstTimeFix, 86.0), Rag::Amber);
        assert_eq!(t.rag(Kpi::FirstTimeFix, 80.0), Rag::Red);
        let t = Target::new(Kpi::Turnaround, 2.0, 3.0).unwrap();
        assert_eq!(t.rag(Kpi::Turnaround, 1.5), Rag::Green);
        assert_eq!(t.rag(Kpi::Turnaround, 2.5), Rag::Amber);
        assert_eq!(t.rag(Kpi::Turnaround, 3.5), Rag::Red);
        assert_eq!(
            Target::new(Kpi::Turnaround, 3.0, 2.0).unwrap_err().field,
            "amber"
        );
        assert!(Target::new(Kpi::Csat, 90.0, 95.0).is_err());
    }

    #[test]
    fn attendance_follows_the_shift_pattern_less_absences() {
        // Mon–Fri 08:00–16:00; a week with Wednesday off.
        let shifts: Vec<(u8, i64, i64)> = (1..=5).map(|d| (d, 480, 960)).collect();
        let week = Period {
            from: date!(2026 - 11 - 30),
            to: date!(2026 - 12 - 06),
        };
        assert_eq!(attendance_seconds(&shifts, &[], week), 5 * 8 * 3600);
        let off = [(date!(2026 - 12 - 02), date!(2026 - 12 - 02))];
        assert_eq!(attendance_seconds(&shifts, &off, week), 4 * 8 * 3600);
    }

    #[test]
    fn every_kpi_has_a_unit_and_the_computed_ones_a_breakdown() {
        assert_eq!(Kpi::ALL.len(), 21);
        assert_eq!(Kpi::computed().count(), 16);
        for k in Kpi::computed() {
            assert!(k.dimensions().contains(&Dimension::ServicePoint));
        }
        assert_eq!(Kpi::Nps.unit(), KpiUnit::Score);
        assert_eq!(Kpi::Comeback.direction(), Better::LowerIsBetter);
    }
}
