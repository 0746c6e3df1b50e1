//! The formulas of `shared/reference/kpi-definitions.md`, from what happened to contributions.
//! The store reads the facts (a repair order with its status times, jobs, lines and clockings; a
//! case with its timers; a survey; an invoice or a claim with its costs; a transport job with its
//! window and arrival; a technician's attendance) and these functions decide, one item at a time,
//! what the item adds to a KPI's numerator and denominator. Choices the definitions leave open
//! are stated where they are made:
//! - a repair order is finished when the car is delivered (or, without a delivery, closed);
//! - a return is a repair order for the same vehicle opened within 30 days after another was
//!   finished, sharing a concern: a labour operation code, or a job title where a job has none;
//!   a repair order counts for the first-time-fix and comeback rates once its 30 days have passed
//!   (counting the returns earlier than the quiet cars would bias the rate);
//! - a remote fix fails when a visit follows within 30 days of the resolution: any appointment or
//!   repair order for the same vehicle (the same customer where the case names no vehicle), unless
//!   it belongs to another case that is not technical, or a new technical case about it (the
//!   customer back with the problem); a technical case counts once resolved 30 days ago;
//! - the SLA rates leave out cases still inside their target (met or breached is not known yet);
//! - revenue is the net of issued invoices (credit notes subtract) plus what is claimed from the
//!   brand; the margin subtracts parts and sublet at cost, clocked hours (the hours billed where
//!   nothing was clocked) at the technician cost per hour and driven hours at the driver cost per
//!   hour of the service point's settings.

use std::collections::{BTreeMap, BTreeSet};

use time::{Duration, OffsetDateTime};

use super::{Contribution, Dims, ItemRef, KpiItemKind, Period};
use crate::workshop::{LineKind, PayType};

/// Days after a finished repair order (or a resolved case) in which a return counts.
pub const RETURN_DAYS: i64 = 30;

fn window() -> Duration {
    Duration::days(RETURN_DAYS)
}

/// Whether the 30 days after `at` are over, in whole days (UTC): from the 31st day after the day
/// of `at` on. Whole days make a day's figure final at midnight, so it can be kept as a roll-up.
pub fn settled(at: OffsetDateTime, now: OffsetDateTime) -> bool {
    let utc = time::UtcOffset::UTC;
    at.to_offset(utc).date() + Duration::days(RETURN_DAYS + 1) <= now.to_offset(utc).date()
}

/// A job of a repair order.
#[derive(Debug, Clone, PartialEq)]
pub struct JobFact {
    pub id: String,
    pub pay_type: PayType,
    pub technician: Option<String>,
    /// The job's title, for the concern of a job without a labour operation code.
    pub title: String,
}

/// A line of a repair order.
#[derive(Debug, Clone, PartialEq)]
pub struct LineFact {
    pub job: String,
    pub kind: LineKind,
    pub pay_type: PayType,
    pub code: Option<String>,
    pub quantity_centi: i64,
    pub unit_price_minor: i64,
    pub unit_cost_minor: i64,
}

impl LineFact {
    fn sales_minor(&self) -> f64 {
        self.quantity_centi as f64 * self.unit_price_minor as f64 / 100.0
    }
    fn hours(&self) -> f64 {
        self.quantity_centi as f64 / 100.0
    }
}

/// Time clocked on a job.
#[derive(Debug, Clone, PartialEq)]
pub struct ClockFact {
    pub job: String,
    pub technician: String,
    pub started_at: OffsetDateTime,
    pub seconds: i64,
}

/// A repair order as the KPIs read it.
#[derive(Debug, Clone, PartialEq)]
pub struct RoFact {
    pub id: String,
    pub number: String,
    /// Service point, market, advisor (who opened it), model; technician and pay type are set
    /// per contribution.
    pub dims: Dims,
    pub vehicle: Option<String>,
    pub currency: String,
    pub created_at: OffsetDateTime,
    /// Checked in (the keys received).
    pub received_at: Option<OffsetDateTime>,
    pub delivered_at: Option<OffsetDateTime>,
    pub closed_at: Option<OffsetDateTime>,
    pub cancelled: bool,
    pub jobs: Vec<JobFact>,
    pub lines: Vec<LineFact>,
    pub clockings: Vec<ClockFact>,
}

impl RoFact {
    /// Delivered, or closed without a delivery.
    pub fn finished_at(&self) -> Option<OffsetDateTime> {
        if self.cancelled {
            return None;
        }
        self.delivered_at.or(self.closed_at)
    }

    fn item(&self) -> ItemRef {
        ItemRef {
            kind: KpiItemKind::RepairOrder,
            id: self.id.clone(),
            label: self.number.clone(),
        }
    }

    /// The concerns it worked on: labour operation codes, or a job's title where the job has none.
    pub fn concerns(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for j in &self.jobs {
            let codes: Vec<&String> = self
                .lines
                .iter()
                .filter(|l| l.job == j.id && l.kind == LineKind::Labour)
                .filter_map(|l| l.code.as_ref())
                .collect();
            if codes.is_empty() {
                out.insert(format!("title:{}", j.title.trim().to_lowercase()));
            } else {
                out.extend(codes.into_iter().map(|c| format!("op:{c}")));
            }
        }
        out
    }

    /// Who clocked most on it, else the first job's technician.
    pub fn main_technician(&self) -> Option<String> {
        let mut by: BTreeMap<&str, i64> = BTreeMap::new();
        for c in &self.clockings {
            *by.entry(c.technician.as_str()).or_default() += c.seconds;
        }
        by.into_iter()
            .max_by_key(|(t, s)| (*s, std::cmp::Reverse(*t)))
            .map(|(t, _)| t.to_string())
            .or_else(|| self.jobs.iter().find_map(|j| j.technician.clone()))
    }

    /// The first job's pay type.
    pub fn main_pay_type(&self) -> Option<PayType> {
        self.jobs.first().map(|j| j.pay_type)
    }

    fn dims(&self) -> Dims {
        Dims {
            technician: self.main_technician(),
            pay_type: self.main_pay_type(),
            ..self.dims.clone()
        }
    }

    fn clocked_seconds(&self) -> i64 {
        self.clockings.iter().map(|c| c.seconds).sum()
    }
}

/// The return of a finished repair order among `all`, if any: same vehicle, opened within
/// 30 days after it was finished, a concern in common.
pub fn comeback_of<'a>(ro: &RoFact, all: &'a [RoFact]) -> Option<&'a RoFact> {
    let same_car: Vec<&RoFact> = all.iter().filter(|o| o.vehicle == ro.vehicle).collect();
    comeback_among(ro, &same_car)
}

/// As [`comeback_of`], among the repair orders of the same car.
fn comeback_among<'a>(ro: &RoFact, same_car: &[&'a RoFact]) -> Option<&'a RoFact> {
    let finished = ro.finished_at()?;
    ro.vehicle.as_ref()?;
    let concerns = ro.concerns();
    same_car.iter().copied().find(|o| {
        o.id != ro.id
            && !o.cancelled
            && o.created_at > finished
            && o.created_at <= finished + window()
            && !o.concerns().is_disjoint(&concerns)
    })
}

/// First-time fix (`comeback` false: 1 when it did not come back) or comeback rate (`comeback`
/// true: 1 when it did), over repair orders finished in the period.
pub fn first_time_fix(
    ros: &[RoFact],
    period: Period,
    now: OffsetDateTime,
    comeback: bool,
) -> Vec<Contribution> {
    // The repair orders of each car, so a return is looked for among a handful, not all.
    let mut by_car: BTreeMap<&str, Vec<&RoFact>> = BTreeMap::new();
    for ro in ros {
        if let Some(v) = &ro.vehicle {
            by_car.entry(v.as_str()).or_default().push(ro);
        }
    }
    ros.iter()
        .filter_map(|ro| {
            let at = ro.finished_at().filter(|f| period.contains(*f))?;
            // Only once its 30 days have passed, came back or not: counting early returns
            // before the quiet cars would bias the rate.
            if !settled(at, now) {
                return None;
            }
            let back = ro
                .vehicle
                .as_deref()
                .and_then(|v| by_car.get(v))
                .and_then(|same| comeback_among(ro, same))
                .is_some();
            Some(Contribution {
                item: ro.item(),
                at,
                dims: ro.dims(),
                num: if back == comeback { 1.0 } else { 0.0 },
                den: 1.0,
                currency: None,
            })
        })
        .collect()
}

/// Keys-to-keys in calendar days, over repair orders delivered in the period after a check-in.
pub fn turnaround(ros: &[RoFact], period: Period) -> Vec<Contribution> {
    ros.iter()
        .filter_map(|ro| {
            let out = ro
                .delivered_at
                .filter(|d| period.contains(*d) && !ro.cancelled)?;
            let inn = ro.received_at.filter(|r| *r <= out)?;
            Some(Contribution {
                item: ro.item(),
                at: out,
                dims: ro.dims(),
                num: (out - inn).whole_seconds() as f64 / 86_400.0,
                den: 1.0,
                currency: None,
            })
        })
        .collect()
}

/// Active work (hours clocked) and waiting (the rest of keys-to-keys), in hours.
pub fn turnaround_split(ro: &RoFact) -> Option<(f64, f64)> {
    let total = (ro.delivered_at? - ro.received_at?).whole_seconds() as f64 / 3600.0;
    let active = ro.clocked_seconds() as f64 / 3600.0;
    Some((active, (total - active).max(0.0)))
}

/// Effective labour rate: labour sales ÷ labour hours sold, one contribution per repair order
/// finished in the period and pay type (minor units per hour).
pub fn labour_rate(ros: &[RoFact], period: Period) -> Vec<Contribution> {
    let mut out = Vec::new();
    for ro in ros {
        let Some(at) = ro.finished_at().filter(|f| period.contains(*f)) else {
            continue;
        };
        let mut by: BTreeMap<PayType, (f64, f64)> = BTreeMap::new();
        for l in ro.lines.iter().filter(|l| l.kind == LineKind::Labour) {
            let e = by.entry(l.pay_type).or_default();
            e.0 += l.sales_minor();
            e.1 += l.hours();
        }
        for (pay, (sales, hours)) in by {
            if hours <= 0.0 {
                continue;
            }
            out.push(Contribution {
                item: ro.item(),
                at,
                dims: Dims {
                    pay_type: Some(pay),
                    ..ro.dims()
                },
                num: sales,
                den: hours,
                currency: Some(ro.currency.clone()),
            });
        }
    }
    out
}

/// Labour hours sold per repair order finished in the period; internal work left out (and a
/// repair order with only internal work).
pub fn hours_per_ro(ros: &[RoFact], period: Period) -> Vec<Contribution> {
    ros.iter()
        .filter_map(|ro| {
            let at = ro.finished_at().filter(|f| period.contains(*f))?;
            if !ro.jobs.iter().any(|j| j.pay_type != PayType::Internal) {
                return None;
            }
            let hours: f64 = ro
                .lines
                .iter()
                .filter(|l| l.kind == LineKind::Labour && l.pay_type != PayType::Internal)
                .map(LineFact::hours)
                .sum();
            Some(Contribution {
                item: ro.item(),
                at,
                dims: ro.dims(),
                num: hours,
                den: 1.0,
                currency: None,
            })
        })
        .collect()
}

/// Technician efficiency: flat-rate hours sold on a technician's jobs ÷ hours they clocked on the
/// repair order, per repair order finished in the period and technician who clocked on it.
pub fn efficiency(ros: &[RoFact], period: Period) -> Vec<Contribution> {
    let mut out = Vec::new();
    for ro in ros {
        let Some(at) = ro.finished_at().filter(|f| period.contains(*f)) else {
            continue;
        };
        let mut clocked: BTreeMap<&str, i64> = BTreeMap::new();
        for c in &ro.clockings {
            *clocked.entry(c.technician.as_str()).or_default() += c.seconds;
        }
        for (tech, secs) in clocked {
            if secs <= 0 {
                continue;
            }
            let jobs: BTreeSet<&str> = ro
                .clockings
                .iter()
                .filter(|c| c.technician == tech)
                .map(|c| c.job.as_str())
                .collect();
            let sold: f64 = ro
                .lines
                .iter()
                .filter(|l| l.kind == LineKind::Labour && jobs.contains(l.job.as_str()))
                .map(LineFact::hours)
                .sum();
            out.push(Contribution {
                item: ro.item(),
                at,
                dims: Dims {
                    technician: Some(tech.to_string()),
                    pay_type: None,
                    ..ro.dims.clone()
                },
                num: sold,
                den: secs as f64 / 3600.0,
                currency: None,
            });
        }
    }
    out
}

/// A technician's time over the period: attendance (shifts less absences) and clocked on repair
/// orders.
#[derive(Debug, Clone, PartialEq)]
pub struct TechnicianTime {
    pub technician: String,
    pub name: String,
    pub dims: Dims,
    pub attendance_seconds: i64,
    pub clocked_seconds: i64,
}

/// Technician productivity: hours clocked on repair orders ÷ attendance hours, per technician
/// with attendance in the period.
pub fn productivity(times: &[TechnicianTime], period: Period) -> Vec<Contribution> {
    times
        .iter()
        .filter(|t| t.attendance_seconds > 0)
        .map(|t| Contribution {
            item: ItemRef {
                kind: KpiItemKind::Technician,
                id: t.technician.clone(),
                label: t.name.clone(),
            },
            at: period.to.midnight().assume_utc(),
            dims: Dims {
                technician: Some(t.technician.clone()),
                ..t.dims.clone()
            },
            num: t.clocked_seconds as f64 / 3600.0,
            den: t.attendance_seconds as f64 / 3600.0,
            currency: None,
        })
        .collect()
}

/// A survey answer about a repair order.
#[derive(Debug, Clone, PartialEq)]
pub struct SurveyFact {
    pub repair_order: ItemRef,
    pub dims: Dims,
    pub answered_at: OffsetDateTime,
    pub csat: Option<i64>,
    pub nps: Option<i64>,
}

/// CSAT: answers of 4–5 ÷ all answers (× 100).
pub fn csat(surveys: &[SurveyFact], period: Period) -> Vec<Contribution> {
    surveys
        .iter()
        .filter(|s| period.contains(s.answered_at))
        .filter_map(|s| {
            let a = s.csat?;
            Some(Contribution {
                item: s.repair_order.clone(),
                at: s.answered_at,
                dims: s.dims.clone(),
                num: if a >= 4 { 1.0 } else { 0.0 },
                den: 1.0,
                currency: None,
            })
        })
        .collect()
}

/// NPS: promoters (9–10) count +1, detractors (0–6) −1, passives 0, over all answers (× 100).
pub fn nps(surveys: &[SurveyFact], period: Period) -> Vec<Contribution> {
    surveys
        .iter()
        .filter(|s| period.contains(s.answered_at))
        .filter_map(|s| {
            let a = s.nps?;
            Some(Contribution {
                item: s.repair_order.clone(),
                at: s.answered_at,
                dims: s.dims.clone(),
                num: match a {
                    9..=10 => 1.0,
                    0..=6 => -1.0,
                    _ => 0.0,
                },
                den: 1.0,
                currency: None,
            })
        })
        .collect()
}

/// A case as the KPIs read it.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseFact {
    pub item: ItemRef,
    pub dims: Dims,
    pub vehicle: Option<String>,
    pub customer: Option<String>,
    pub technical: bool,
    pub created_at: OffsetDateTime,
    pub resolved_at: Option<OffsetDateTime>,
    /// The last triage decision was a remote fix.
    pub remote_fix: bool,
    pub first_responded_at: Option<OffsetDateTime>,
    pub response_breached_at: Option<OffsetDateTime>,
    pub resolution_breached_at: Option<OffsetDateTime>,
}

/// An appointment or a repair order (a visit to the workshop), or a new technical case.
#[derive(Debug, Clone, PartialEq)]
pub struct Visit {
    pub vehicle: Option<String>,
    pub customer: Option<String>,
    pub at: OffsetDateTime,
    /// The case it was made for, and whether that case is technical.
    pub case: Option<(String, bool)>,
}

/// Whether a visit follows a resolved case within 30 days (see the module).
pub fn visit_after(case: &CaseFact, visits: &[Visit]) -> bool {
    let Some(resolved) = case.resolved_at else {
        return false;
    };
    visits.iter().any(|v| {
        // The same car; or, where either names no car, the same customer.
        let same = match (&case.vehicle, &v.vehicle) {
            (Some(a), Some(b)) => a == b,
            _ => case.customer.is_some() && v.customer == case.customer,
        };
        let related = match &v.case {
            Some((id, technical)) => *id == case.item.id || *technical,
            None => true,
        };
        same && related && v.at > resolved && v.at <= resolved + window()
    })
}

/// Remote resolution: technical cases created in the period, 1 when resolved by a remote fix
/// with no visit within 30 days. A case counts once it is resolved and 30 days have passed since,
/// whatever its outcome (counting the workshop cases at once and the remote fixes a month later
/// would bias the rate down); open cases wait.
pub fn remote_resolution(
    cases: &[CaseFact],
    visits: &[Visit],
    period: Period,
    now: OffsetDateTime,
) -> Vec<Contribution> {
    cases
        .iter()
        .filter(|c| c.technical && period.contains(c.created_at))
        .filter(|c| c.resolved_at.is_some_and(|r| settled(r, now)))
        .map(|c| {
            let fixed = c.remote_fix && !visit_after(c, visits);
            Contribution {
                item: c.item.clone(),
                at: c.created_at,
                dims: c.dims.clone(),
                num: if fixed { 1.0 } else { 0.0 },
                den: 1.0,
                currency: None,
            }
        })
        .collect()
}

/// Response (`resolution` false) or resolution SLA attainment over cases created in the period:
/// met ÷ (met + breached); a case still inside its target is left out.
pub fn sla(cases: &[CaseFact], period: Period, resolution: bool) -> Vec<Contribution> {
    cases
        .iter()
        .filter(|c| period.contains(c.created_at))
        .filter_map(|c| {
            let (done, breached) = if resolution {
                (c.resolved_at, c.resolution_breached_at)
            } else {
                (c.first_responded_at, c.response_breached_at)
            };
            let met = match (done, breached) {
                (_, Some(_)) => false,
                (Some(_), None) => true,
                (None, None) => return None,
            };
            Some(Contribution {
                item: c.item.clone(),
                at: c.created_at,
                dims: c.dims.clone(),
                num: if met { 1.0 } else { 0.0 },
                den: 1.0,
                currency: None,
            })
        })
        .collect()
}

/// An invoice (or credit note) or a warranty claim: what it earned and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct MoneyFact {
    pub item: ItemRef,
    pub dims: Dims,
    /// Issued (an invoice) or opened (a claim).
    pub at: OffsetDateTime,
    pub currency: String,
    /// Net of VAT; negative for a credit note.
    pub revenue_minor: i64,
    pub parts_cost_minor: i64,
    pub sublet_cost_minor: i64,
    /// Clocked on the work it bills; where nothing was clocked, the labour hours it bills.
    pub labour_seconds: i64,
    /// Driven for its repair order (pickup and delivery).
    pub driver_seconds: i64,
}

/// Variable costs per hour of a service point (its KPI settings), in minor units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HourlyCosts {
    pub technician_minor: i64,
    pub driver_minor: i64,
}

/// Service revenue: the sum of what was invoiced or claimed in the period.
pub fn revenue(facts: &[MoneyFact], period: Period) -> Vec<Contribution> {
    facts
        .iter()
        .filter(|f| period.contains(f.at))
        .map(|f| Contribution {
            item: f.item.clone(),
            at: f.at,
            dims: f.dims.clone(),
            num: f.revenue_minor as f64,
            den: 0.0,
            currency: Some(f.currency.clone()),
        })
        .collect()
}

/// Revenue less parts and sublet at cost, labour and driving at the hourly costs.
pub fn margin_of(f: &MoneyFact, costs: HourlyCosts) -> f64 {
    f.revenue_minor as f64
        - f.parts_cost_minor as f64
        - f.sublet_cost_minor as f64
        - f.labour_seconds as f64 * costs.technician_minor as f64 / 3600.0
        - f.driver_seconds as f64 * costs.driver_minor as f64 / 3600.0
}

/// Contribution margin (`percent` false: the sum) or margin ÷ revenue (`percent` true).
pub fn margin(
    facts: &[MoneyFact],
    costs: &dyn Fn(&str) -> HourlyCosts,
    period: Period,
    percent: bool,
) -> Vec<Contribution> {
    facts
        .iter()
        .filter(|f| period.contains(f.at))
        .map(|f| Contribution {
            item: f.item.clone(),
            at: f.at,
            dims: f.dims.clone(),
            num: margin_of(f, costs(&f.dims.service_point)),
            den: if percent { f.revenue_minor as f64 } else { 0.0 },
            currency: Some(f.currency.clone()),
        })
        .collect()
}

/// A pickup or delivery at the customer's.
#[derive(Debug, Clone, PartialEq)]
pub struct TransportFact {
    pub repair_order: ItemRef,
    pub dims: Dims,
    pub window_from: OffsetDateTime,
    pub window_to: OffsetDateTime,
    /// When the driver reached the customer; `None` if the job was never done.
    pub arrived_at: Option<OffsetDateTime>,
}

impl TransportFact {
    /// Minutes after the window closed (0 inside it or early).
    pub fn minutes_late(&self) -> Option<i64> {
        self.arrived_at
            .map(|a| (a - self.window_to).whole_minutes().max(0))
    }
}

/// Logistics on time: jobs done whose window falls in the period, 1 when the driver reached the
/// customer inside the agreed window.
pub fn on_time(jobs: &[TransportFact], period: Period) -> Vec<Contribution> {
    jobs.iter()
        .filter(|j| period.contains(j.window_from))
        .filter_map(|j| {
            let a = j.arrived_at?;
            Some(Contribution {
                item: j.repair_order.clone(),
                at: j.window_from,
                dims: j.dims.clone(),
                num: if a >= j.window_from && a <= j.window_to {
                    1.0
                } else {
                    0.0
                },
                den: 1.0,
                currency: None,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    //! Every KPI on a small case computed by hand.
    use super::*;
    use crate::kpi::{figure, Kpi};
    use time::macros::{date, datetime};

    fn nov() -> Period {
        Period {
            from: date!(2026 - 11 - 01),
            to: date!(2026 - 11 - 30),
        }
    }

    fn job(id: &str, pay: PayType, tech: Option<&str>, title: &str) -> JobFact {
        JobFact {
            id: id.into(),
            pay_type: pay,
            technician: tech.map(str::to_string),
            title: title.into(),
        }
    }

    fn labour(job: &str, code: Option<&str>, centi: i64, price: i64, pay: PayType) -> LineFact {
        LineFact {
            job: job.into(),
            kind: LineKind::Labour,
            pay_type: pay,
            code: code.map(str::to_string),
            quantity_centi: centi,
            unit_price_minor: price,
            unit_cost_minor: 0,
        }
    }

    fn clock(job: &str, tech: &str, hours: f64) -> ClockFact {
        ClockFact {
            job: job.into(),
            technician: tech.into(),
            started_at: datetime!(2026-11-02 09:00 UTC),
            seconds: (hours * 3600.0) as i64,
        }
    }

    fn ro(id: &str, vehicle: &str, created: OffsetDateTime) -> RoFact {
        RoFact {
            id: id.into(),
            number: format!("RO-{id}"),
            dims: Dims {
                service_point: "trd".into(),
                ..Dims::default()
            },
            vehicle: Some(vehicle.into()),
            currency: "NOK".into(),
            created_at: created,
            received_at: None,
            delivered_at: None,
            closed_at: None,
            cancelled: false,
            jobs: vec![],
            lines: vec![],
            clockings: vec![],
        }
    }

    /// Three finished in November: A comes back on the same operation 10 days later (as D), B
    /// returns for something else, C is not back; E finished three days before `now` and is not
    /// known yet.
    fn fix_case() -> Vec<RoFact> {
        let mut a = ro("a", "v1", datetime!(2026-11-01 08:00 UTC));
        a.jobs = vec![job("a1", PayType::Customer, Some("sindre"), "Brake noise")];
        a.lines = vec![labour(
            "a1",
            Some("BRK-01"),
            150,
            120_000,
            PayType::Customer,
        )];
        a.delivered_at = Some(datetime!(2026-11-03 15:00 UTC));
        let mut b = ro("b", "v2", datetime!(2026-11-05 08:00 UTC));
        b.jobs = vec![job("b1", PayType::Warranty, Some("mats"), "Charging port")];
        b.delivered_at = Some(datetime!(2026-11-06 15:00 UTC));
        let mut b2 = ro("b2", "v2", datetime!(2026-11-20 08:00 UTC));
        b2.jobs = vec![job("b21", PayType::Customer, None, "Tyres")];
        let mut c = ro("c", "v3", datetime!(2026-11-07 08:00 UTC));
        c.jobs = vec![job("c1", PayType::Customer, None, "Service")];
        c.closed_at = Some(datetime!(2026-11-08 12:00 UTC));
        let mut d = ro("d", "v1", datetime!(2026-11-13 08:00 UTC));
        d.jobs = vec![job("d1", PayType::Customer, None, "Noise again")];
        d.lines = vec![labour("d1", Some("BRK-01"), 50, 120_000, PayType::Customer)];
        let mut e = ro("e", "v4", datetime!(2026-11-25 08:00 UTC));
        e.jobs = vec![job("e1", PayType::Customer, None, "Wipers")];
        e.delivered_at = Some(datetime!(2026-11-28 08:00 UTC));
        vec![a, b, b2, c, d, e]
    }

    #[test]
    fn first_time_fix_and_comebacks() {
        let ros = fix_case();
        let now = datetime!(2026-12-26 08:00 UTC);
        let ftf = first_time_fix(&ros, nov(), now, false);
        // a (came back), b (different concern: fixed), c: 2 of 3 fixed; e not yet known.
        assert_eq!(ftf.len(), 3);
        let f = figure(Kpi::FirstTimeFix, &ftf);
        assert!((f.value.unwrap() - 200.0 / 3.0).abs() < 1e-9);
        let cb = figure(Kpi::Comeback, &first_time_fix(&ros, nov(), now, true));
        assert!((cb.value.unwrap() - 100.0 / 3.0).abs() < 1e-9);
        assert_eq!(comeback_of(&ros[0], &ros).map(|r| r.id.as_str()), Some("d"));
        // A return 31 days later is a new concern, not a comeback.
        let mut late = ros.clone();
        late[4].created_at = datetime!(2026-12-05 08:00 UTC);
        assert!(comeback_of(&late[0], &late).is_none());
        // By job title where there is no operation code.
        let mut t = ros.clone();
        t[2].jobs[0].title = " charging PORT".into();
        assert_eq!(comeback_of(&t[1], &t).map(|r| r.id.as_str()), Some("b2"));
    }

    #[test]
    fn turnaround_in_days_with_active_and_waiting() {
        let mut r = ro("a", "v1", datetime!(2026-11-01 08:00 UTC));
        r.received_at = Some(datetime!(2026-11-02 08:00 UTC));
        r.delivered_at = Some(datetime!(2026-11-04 20:00 UTC));
        r.jobs = vec![job("j", PayType::Customer, Some("t"), "x")];
        r.clockings = vec![clock("j", "t", 6.0)];
        let mut s = ro("b", "v2", datetime!(2026-11-01 08:00 UTC));
        s.received_at = Some(datetime!(2026-11-10 08:00 UTC));
        s.delivered_at = Some(datetime!(2026-11-10 20:00 UTC));
        let cs = turnaround(&[r.clone(), s], nov());
        // 2.5 days and 0.5 days: 1.5 on average.
        assert_eq!(figure(Kpi::Turnaround, &cs).value, Some(1.5));
        assert_eq!(turnaround_split(&r), Some((6.0, 54.0)));
    }

    #[test]
    fn labour_rate_hours_and_efficiency() {
        let mut r = ro("a", "v1", datetime!(2026-11-01 08:00 UTC));
        r.delivered_at = Some(datetime!(2026-11-02 08:00 UTC));
        r.jobs = vec![
            job("j1", PayType::Customer, Some("t1"), "x"),
            job("j2", PayType::Warranty, Some("t2"), "y"),
            job("j3", PayType::Internal, Some("t2"), "z"),
        ];
        r.lines = vec![
            labour("j1", Some("A"), 200, 150_000, PayType::Customer), // 2 h × 1 500
            labour("j1", Some("B"), 100, 120_000, PayType::Customer), // 1 h × 1 200
            labour("j2", Some("C"), 100, 100_000, PayType::Warranty), // 1 h × 1 000
            labour("j3", Some("D"), 50, 0, PayType::Internal),
        ];
        r.clockings = vec![clock("j1", "t1", 2.5), clock("j2", "t2", 2.0)];
        let elr = labour_rate(std::slice::from_ref(&r), nov());
        assert_eq!(elr.len(), 3);
        let customer: Vec<_> = elr
            .iter()
            .filter(|c| c.dims.pay_type == Some(PayType::Customer))
            .cloned()
            .collect();
        // 420 000 ÷ 3 h = 140 000 per hour (1 400,00 NOK).
        assert_eq!(figure(Kpi::LabourRate, &customer).value, Some(140_000.0));
        // Hours per RO: 4 hours sold outside internal work.
        assert_eq!(
            figure(
                Kpi::HoursPerRo,
                &hours_per_ro(std::slice::from_ref(&r), nov())
            )
            .value,
            Some(4.0)
        );
        // Efficiency: t1 sold 3 h over 2.5 clocked (120 %), t2 1 h over 2 (50 %); together 4 ÷ 4.5.
        let eff = efficiency(std::slice::from_ref(&r), nov());
        let t1: Vec<_> = eff
            .iter()
            .filter(|c| c.dims.technician.as_deref() == Some("t1"))
            .cloned()
            .collect();
        assert_eq!(figure(Kpi::Efficiency, &t1).value, Some(120.0));
        let all = figure(Kpi::Efficiency, &eff).value.unwrap();
        assert!((all - 400.0 / 4.5).abs() < 1e-9);
        assert_eq!(r.main_technician().as_deref(), Some("t1"));
    }

    #[test]
    fn productivity_over_attendance() {
        let t = TechnicianTime {
            technician: "t".into(),
            name: "Sindre".into(),
            dims: Dims::default(),
            attendance_seconds: 40 * 3600,
            clocked_seconds: 34 * 3600,
        };
        let idle = TechnicianTime {
            attendance_seconds: 0,
            ..t.clone()
        };
        let cs = productivity(&[t, idle], nov());
        assert_eq!(cs.len(), 1);
        assert_eq!(figure(Kpi::Productivity, &cs).value, Some(85.0));
    }

    #[test]
    fn csat_and_nps_from_answers() {
        let s = |csat, nps, day: u8| SurveyFact {
            repair_order: ItemRef {
                kind: KpiItemKind::RepairOrder,
                id: "r".into(),
                label: "RO-1".into(),
            },
            dims: Dims::default(),
            answered_at: date!(2026 - 11 - 01)
                .replace_day(day)
                .unwrap()
                .midnight()
                .assume_utc(),
            csat,
            nps,
        };
        let answers = [
            s(Some(5), Some(10), 1),
            s(Some(4), Some(9), 2),
            s(Some(3), Some(8), 3),
            s(Some(1), Some(3), 4),
            s(None, Some(6), 5),
            s(Some(5), None, 6),
        ];
        // CSAT: 3 of 5 answers at 4–5 = 60 %.
        assert_eq!(figure(Kpi::Csat, &csat(&answers, nov())).value, Some(60.0));
        // NPS: 2 promoters, 2 detractors of 5 = 0.
        assert_eq!(figure(Kpi::Nps, &nps(&answers, nov())).value, Some(0.0));
        assert_eq!(
            figure(Kpi::Nps, &nps(&answers[..2], nov())).value,
            Some(100.0)
        );
    }

    fn case(id: &str, created: OffsetDateTime) -> CaseFact {
        CaseFact {
            item: ItemRef {
                kind: KpiItemKind::Case,
                id: id.into(),
                label: format!("CASE-{id}"),
            },
            dims: Dims::default(),
            vehicle: Some(format!("v-{id}")),
            customer: Some(format!("c-{id}")),
            technical: true,
            created_at: created,
            resolved_at: None,
            remote_fix: false,
            first_responded_at: None,
            response_breached_at: None,
            resolution_breached_at: None,
        }
    }

    #[test]
    fn remote_resolution_counts_a_visit_of_any_kind() {
        let now = datetime!(2026-12-20 08:00 UTC);
        let mut a = case("a", datetime!(2026-11-02 08:00 UTC));
        a.remote_fix = true;
        a.resolved_at = Some(datetime!(2026-11-02 10:00 UTC));
        // b was fixed remotely but the car came in on an appointment made without a case.
        let mut b = case("b", datetime!(2026-11-03 08:00 UTC));
        b.remote_fix = true;
        b.resolved_at = Some(datetime!(2026-11-03 10:00 UTC));
        // c was sent to the workshop; d is not technical; e resolved remotely too recently;
        // f is still open.
        let mut c = case("c", datetime!(2026-11-04 08:00 UTC));
        c.resolved_at = Some(datetime!(2026-11-06 08:00 UTC));
        let f = case("f", datetime!(2026-11-06 08:00 UTC));
        let mut d = case("d", datetime!(2026-11-05 08:00 UTC));
        d.technical = false;
        let mut e = case("e", datetime!(2026-11-30 08:00 UTC));
        e.remote_fix = true;
        e.resolved_at = Some(datetime!(2026-11-30 09:00 UTC));
        let visits = vec![
            Visit {
                vehicle: Some("v-b".into()),
                customer: None,
                at: datetime!(2026-11-20 08:00 UTC),
                case: None,
            },
            // A visit for a billing question about car a does not undo its remote fix.
            Visit {
                vehicle: Some("v-a".into()),
                customer: None,
                at: datetime!(2026-11-10 08:00 UTC),
                case: Some(("other".into(), false)),
            },
        ];
        let cs = remote_resolution(&[a.clone(), b.clone(), c, d, e, f], &visits, nov(), now);
        // a (fixed), b (came in), c (workshop): 1 of 3.
        assert_eq!(cs.len(), 3);
        let v = figure(Kpi::RemoteResolution, &cs).value.unwrap();
        assert!((v - 100.0 / 3.0).abs() < 1e-9);
        assert!(visit_after(&b, &visits));
        assert!(!visit_after(&a, &visits));
    }

    #[test]
    fn sla_attainment_leaves_out_the_undecided() {
        let t = datetime!(2026-11-02 08:00 UTC);
        let mut met = case("a", t);
        met.first_responded_at = Some(t + Duration::minutes(20));
        met.resolved_at = Some(t + Duration::hours(3));
        let mut late = case("b", t);
        late.first_responded_at = Some(t + Duration::hours(5));
        late.response_breached_at = Some(t + Duration::hours(4));
        // Open, breached before any answer: counts as breached.
        let mut open_breached = case("c", t);
        open_breached.response_breached_at = Some(t + Duration::hours(4));
        open_breached.resolution_breached_at = Some(t + Duration::hours(48));
        // Open and still inside both targets: left out.
        let waiting = case("d", t);
        let all = [met, late, open_breached, waiting];
        let r = sla(&all, nov(), false);
        assert_eq!(r.len(), 3);
        assert!((figure(Kpi::ResponseSla, &r).value.unwrap() - 100.0 / 3.0).abs() < 1e-9);
        let s = sla(&all, nov(), true);
        assert_eq!(s.len(), 2);
        assert_eq!(figure(Kpi::ResolutionSla, &s).value, Some(50.0));
    }

    #[test]
    fn revenue_and_margin() {
        let m = |revenue, parts, labour_h: i64, drive_h: i64| MoneyFact {
            item: ItemRef {
                kind: KpiItemKind::Invoice,
                id: "i".into(),
                label: "F-1".into(),
            },
            dims: Dims {
                service_point: "trd".into(),
                ..Dims::default()
            },
            at: datetime!(2026-11-10 10:00 UTC),
            currency: "NOK".into(),
            revenue_minor: revenue,
            parts_cost_minor: parts,
            sublet_cost_minor: 0,
            labour_seconds: labour_h * 3600,
            driver_seconds: drive_h * 3600,
        };
        // 5 000,00 billed; parts 1 000,00 at cost; 2 h at 450,00; 1 h driving at 300,00:
        // 500 000 − 100 000 − 90 000 − 30 000 = 280 000. A credit note of 500,00 takes 50 000 off.
        let facts = [m(500_000, 100_000, 2, 1), m(-50_000, 0, 0, 0)];
        let costs = |_: &str| HourlyCosts {
            technician_minor: 45_000,
            driver_minor: 30_000,
        };
        assert_eq!(
            figure(Kpi::ServiceRevenue, &revenue(&facts, nov())).value,
            Some(450_000.0)
        );
        assert_eq!(
            figure(
                Kpi::ContributionMargin,
                &margin(&facts, &costs, nov(), false)
            )
            .value,
            Some(230_000.0)
        );
        let pct = figure(Kpi::MarginPercent, &margin(&facts, &costs, nov(), true))
            .value
            .unwrap();
        assert!((pct - 230_000.0 / 450_000.0 * 100.0).abs() < 1e-9);
    }

    #[test]
    fn on_time_inside_the_window() {
        let j = |arrived: Option<OffsetDateTime>| TransportFact {
            repair_order: ItemRef {
                kind: KpiItemKind::RepairOrder,
                id: "r".into(),
                label: "RO-1".into(),
            },
            dims: Dims::default(),
            window_from: datetime!(2026-11-10 08:00 UTC),
            window_to: datetime!(2026-11-10 10:00 UTC),
            arrived_at: arrived,
        };
        let jobs = [
            j(Some(datetime!(2026-11-10 09:59 UTC))),
            j(Some(datetime!(2026-11-10 10:25 UTC))),
            j(Some(datetime!(2026-11-10 08:00 UTC))),
            j(None),
        ];
        let cs = on_time(&jobs, nov());
        assert_eq!(cs.len(), 3);
        assert!((figure(Kpi::LogisticsOnTime, &cs).value.unwrap() - 200.0 / 3.0).abs() < 1e-9);
        assert_eq!(jobs[1].minutes_late(), Some(25));
        assert_eq!(jobs[0].minutes_late(), Some(0));
    }
}
