//! A synthetic workshop history, planned from a seed: per service point and working day, repair
//! orders (checked in, worked, delivered) with their jobs, flat-rate hours sold, time clocked,
//! survey answers, pickups and deliveries with their windows and arrivals, and same-concern
//! returns, each drawn from the point's profile (how busy, how often a car comes back, how
//! happy customers are, how punctual drivers are). A profile may change from a day on (a
//! programme started there). Pure: the store writes what this plans; the demo's KPIs and the
//! benchmark's history both come from here.

use time::{Date, Duration, OffsetDateTime, Weekday};

use crate::analysis::sample::SplitMix64;
use crate::workshop::PayType;

/// How a service point works.
#[derive(Debug, Clone, PartialEq)]
pub struct PointProfile {
    /// Repair orders checked in per working day, on average.
    pub per_day: f64,
    /// Share of repair orders that come back for the same concern within 30 days.
    pub comeback: f64,
    /// Share of survey answers at 4–5 (CSAT) and at 9–10 (NPS promoters).
    pub happy: f64,
    /// Share of repair orders whose customer answers the survey.
    pub answers: f64,
    /// Calendar days from check-in to delivery, on average.
    pub turnaround_days: f64,
    /// Share of repair orders with pickup and delivery.
    pub pickup: f64,
    /// Share of pickups and deliveries that reach the customer inside the window.
    pub punctual: f64,
    /// Hours sold ÷ hours clocked.
    pub efficiency: f64,
    /// Cases opened per working day, on average (seven in ten technical).
    pub cases_per_day: f64,
    /// Share of technical cases the advisor resolves remotely.
    pub remote_fix: f64,
    /// Share of cases answered within the first-response target.
    pub responsive: f64,
}

/// The first-response and resolution targets of the generated cases, in minutes.
pub const CASE_TARGETS: (i64, i64) = (60, 2 * 24 * 60);

/// A planned case.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedCase {
    pub point: usize,
    pub vehicle: usize,
    pub created: OffsetDateTime,
    pub technical: bool,
    pub responded: OffsetDateTime,
    pub resolved: OffsetDateTime,
    /// Resolved by a remote fix (technical cases only).
    pub remote_fix: bool,
    pub advisor: usize,
}

impl PlannedCase {
    /// When the first-response target was missed, if it was.
    pub fn response_breached(&self) -> Option<OffsetDateTime> {
        let due = self.created + Duration::minutes(CASE_TARGETS.0);
        (self.responded > due).then_some(due)
    }
    /// When the resolution target was missed, if it was.
    pub fn resolution_breached(&self) -> Option<OffsetDateTime> {
        let due = self.created + Duration::minutes(CASE_TARGETS.1);
        (self.resolved > due).then_some(due)
    }
}

/// Plans the cases of the history (see the module), oldest first: per point and working day,
/// calls and mails answered in or out of target, technical ones resolved remotely or sent to
/// the workshop.
pub fn plan_cases(spec: &WorkshopHistorySpec) -> Vec<PlannedCase> {
    let mut rng = SplitMix64::new(spec.seed ^ 0x0CA5_E5CA_5E5C_A5E5);
    let mut out = Vec::new();
    let first = spec.end - Duration::days(i64::from(spec.days));
    for (point, (base, change)) in spec.points.iter().enumerate() {
        let mut day = first;
        while day < spec.end {
            let profile = match change {
                Some((from, p)) if day >= *from => p,
                _ => base,
            };
            if !matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday) {
                for _ in 0..poisson(&mut rng, profile.cases_per_day) {
                    let created = at(day, 8 * 60 + (rng.next_open01() * 540.0) as i64);
                    let technical = rng.next_open01() < 0.7;
                    let wait = if rng.next_open01() < profile.responsive {
                        5 + (rng.next_open01() * 50.0) as i64
                    } else {
                        CASE_TARGETS.0 + 10 + (rng.next_open01() * 180.0) as i64
                    };
                    let responded = created + Duration::minutes(wait);
                    let resolved = responded
                        + Duration::minutes(30 + (rng.next_open01() * 3.5 * 24.0 * 60.0) as i64);
                    if resolved >= at(spec.end, 0) {
                        continue;
                    }
                    out.push(PlannedCase {
                        point,
                        vehicle: pick(&mut rng, spec.vehicles_per_point.max(1)),
                        created,
                        technical,
                        responded,
                        resolved,
                        remote_fix: technical && rng.next_open01() < profile.remote_fix,
                        advisor: pick(&mut rng, 3),
                    });
                }
            }
            day += Duration::days(1);
        }
    }
    out.sort_by_key(|c| (c.created, c.point));
    out
}

/// What to plan.
#[derive(Debug, Clone)]
pub struct WorkshopHistorySpec {
    /// The last day (exclusive: nothing is planned on it or after).
    pub end: Date,
    pub days: u32,
    /// A profile per service point, and optionally another from a day on.
    pub points: Vec<(PointProfile, Option<(Date, PointProfile)>)>,
    /// Cars per service point.
    pub vehicles_per_point: usize,
    /// Technicians per service point (indices the store maps to people).
    pub technicians: usize,
    pub seed: u64,
}

/// A labour operation of the generated history: code, flat-rate hours, pay type.
pub const OPERATIONS: [(&str, i64, PayType); 8] = [
    ("SRV-ANNUAL", 150, PayType::Customer),
    ("TYR-SWAP", 80, PayType::Customer),
    ("BRK-FLUID", 60, PayType::Customer),
    ("HV-DIAG", 200, PayType::Warranty),
    ("SW-UPDATE", 50, PayType::Warranty),
    ("WIPER-REPL", 30, PayType::Customer),
    ("AC-SERVICE", 120, PayType::Customer),
    ("DOOR-ADJ", 90, PayType::Goodwill),
];

/// A planned job.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedJob {
    /// Index into [`OPERATIONS`].
    pub operation: usize,
    pub sold_centi: i64,
    pub clocked_seconds: i64,
    pub technician: usize,
}

/// A trip to or from the customer.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedTrip {
    pub window_from: OffsetDateTime,
    pub window_to: OffsetDateTime,
    pub on_the_way: OffsetDateTime,
    pub arrived: OffsetDateTime,
    pub done: OffsetDateTime,
}

/// A planned repair order.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedRo {
    pub point: usize,
    /// Index of the car among the point's.
    pub vehicle: usize,
    pub received: OffsetDateTime,
    pub delivered: OffsetDateTime,
    pub jobs: Vec<PlannedJob>,
    /// (CSAT 1–5, NPS 0–10, answered at).
    pub survey: Option<(i64, i64, OffsetDateTime)>,
    pub pickup: Option<PlannedTrip>,
    pub delivery: Option<PlannedTrip>,
    /// The advisor (index) who opened it.
    pub advisor: usize,
}

fn at(d: Date, minutes: i64) -> OffsetDateTime {
    d.midnight().assume_utc() + Duration::minutes(minutes)
}

fn poisson(rng: &mut SplitMix64, mean: f64) -> usize {
    // Knuth's method: fine for the small means of a day.
    let l = (-mean).exp();
    let mut k = 0;
    let mut p = 1.0;
    loop {
        p *= rng.next_open01();
        if p <= l || k > 200 {
            return k;
        }
        k += 1;
    }
}

fn pick(rng: &mut SplitMix64, n: usize) -> usize {
    ((rng.next_open01() * n as f64) as usize).min(n.saturating_sub(1))
}

fn trip(rng: &mut SplitMix64, day: Date, start_min: i64, punctual: f64) -> PlannedTrip {
    let window_from = at(day, start_min);
    let window_to = window_from + Duration::hours(2);
    let arrived = if rng.next_open01() < punctual {
        window_from + Duration::minutes((rng.next_open01() * 110.0) as i64)
    } else {
        window_to + Duration::minutes(5 + (rng.next_open01() * 40.0) as i64)
    };
    PlannedTrip {
        window_from,
        window_to,
        on_the_way: arrived - Duration::minutes(25),
        arrived,
        done: arrived + Duration::minutes(20),
    }
}

/// Plans the history (see the module), oldest first.
pub fn plan(spec: &WorkshopHistorySpec) -> Vec<PlannedRo> {
    let mut rng = SplitMix64::new(spec.seed);
    let mut out = Vec::new();
    let first = spec.end - Duration::days(i64::from(spec.days));
    let techs = spec.technicians.max(1);
    for (point, (base, change)) in spec.points.iter().enumerate() {
        let mut day = first;
        while day < spec.end {
            let profile = match change {
                Some((from, p)) if day >= *from => p,
                _ => base,
            };
            if matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday) {
                day += Duration::days(1);
                continue;
            }
            for _ in 0..poisson(&mut rng, profile.per_day) {
                let received = at(day, 7 * 60 + 30 + (rng.next_open01() * 150.0) as i64);
                let stay = (profile.turnaround_days * (0.4 + 1.2 * rng.next_open01()) * 24.0 * 60.0)
                    as i64;
                let delivered =
                    (received + Duration::minutes(stay.max(120))).min(at(spec.end, -60));
                if delivered <= received {
                    continue;
                }
                let vehicle = pick(&mut rng, spec.vehicles_per_point.max(1));
                let n_jobs = 1 + usize::from(rng.next_open01() < 0.35);
                let jobs: Vec<PlannedJob> = (0..n_jobs)
                    .map(|_| {
                        let operation = pick(&mut rng, OPERATIONS.len());
                        let sold = OPERATIONS[operation].1;
                        let eff = profile.efficiency * (0.8 + 0.4 * rng.next_open01());
                        PlannedJob {
                            operation,
                            sold_centi: sold,
                            clocked_seconds: ((sold as f64 / 100.0) / eff.max(0.2) * 3600.0) as i64,
                            technician: pick(&mut rng, techs),
                        }
                    })
                    .collect();
                let survey = (rng.next_open01() < profile.answers).then(|| {
                    let happy = rng.next_open01() < profile.happy;
                    let csat = if happy {
                        4 + i64::from(rng.next_open01() < 0.6)
                    } else {
                        1 + pick(&mut rng, 3) as i64
                    };
                    let nps = if happy {
                        if rng.next_open01() < 0.8 {
                            9 + i64::from(rng.next_open01() < 0.5)
                        } else {
                            7 + pick(&mut rng, 2) as i64
                        }
                    } else {
                        pick(&mut rng, 7) as i64
                    };
                    (csat, nps, delivered + Duration::hours(20))
                });
                let (pickup, delivery) = if rng.next_open01() < profile.pickup {
                    let p = trip(&mut rng, day, 8 * 60, profile.punctual);
                    let d = trip(&mut rng, delivered.date(), 15 * 60, profile.punctual);
                    (Some(p), Some(d))
                } else {
                    (None, None)
                };
                let comeback = rng.next_open01() < profile.comeback;
                let advisor = pick(&mut rng, 3);
                let ro = PlannedRo {
                    point,
                    vehicle,
                    received,
                    delivered,
                    jobs,
                    survey: survey.filter(|s| s.2 < at(spec.end, 0)),
                    pickup,
                    delivery,
                    advisor,
                };
                if comeback {
                    let back = delivered + Duration::days(2 + pick(&mut rng, 20) as i64);
                    if back + Duration::hours(30) < at(spec.end, 0) {
                        let mut again = ro.clone();
                        again.received = back;
                        again.delivered = back + Duration::hours(26);
                        again.jobs.truncate(1);
                        again.survey = None;
                        again.pickup = None;
                        again.delivery = None;
                        out.push(ro);
                        out.push(again);
                        continue;
                    }
                }
                out.push(ro);
            }
            day += Duration::days(1);
        }
    }
    out.sort_by_key(|r| (r.received, r.point));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn profile(pickup: f64) -> PointProfile {
        PointProfile {
            per_day: 6.0,
            comeback: 0.1,
            happy: 0.8,
            answers: 0.5,
            turnaround_days: 2.0,
            pickup,
            punctual: 0.9,
            efficiency: 1.1,
            cases_per_day: 4.0,
            remote_fix: 0.5,
            responsive: 0.8,
        }
    }

    #[test]
    fn the_same_seed_plans_the_same_history_and_a_change_shows_from_its_day() {
        let spec = WorkshopHistorySpec {
            end: date!(2026 - 12 - 01),
            days: 120,
            points: vec![
                (profile(0.1), Some((date!(2026 - 10 - 01), profile(0.9)))),
                (profile(0.1), None),
            ],
            vehicles_per_point: 300,
            technicians: 4,
            seed: 7,
        };
        let a = plan(&spec);
        assert_eq!(a, plan(&spec));
        // About 6 a working day per point over ~86 working days, plus returns.
        assert!(a.len() > 800 && a.len() < 1300, "{}", a.len());
        assert!(a
            .iter()
            .all(|r| r.delivered > r.received && r.received.date() < spec.end));
        let share = |point: usize, after: bool| {
            let v: Vec<&PlannedRo> = a
                .iter()
                .filter(|r| {
                    r.point == point && (r.received.date() >= date!(2026 - 10 - 01)) == after
                })
                .collect();
            v.iter().filter(|r| r.pickup.is_some()).count() as f64 / v.len() as f64
        };
        assert!(share(0, true) > 0.6 && share(0, false) < 0.3);
        assert!(share(1, true) < 0.3);
        // Returns share an operation with the repair order before.
        assert!(a.iter().filter(|r| r.jobs.len() == 1).count() > 100);
        // Cases: about four a working day per point, most answered in time, half of the
        // technical ones fixed remotely.
        let cases = plan_cases(&spec);
        assert_eq!(cases, plan_cases(&spec));
        assert!(cases.len() > 500 && cases.len() < 900, "{}", cases.len());
        let late = cases
            .iter()
            .filter(|c| c.response_breached().is_some())
            .count();
        assert!(late * 100 / cases.len() > 10 && late * 100 / cases.len() < 30);
        let technical: Vec<&PlannedCase> = cases.iter().filter(|c| c.technical).collect();
        let remote = technical.iter().filter(|c| c.remote_fix).count();
        assert!(remote * 100 / technical.len() > 40 && remote * 100 / technical.len() < 60);
        assert!(cases.iter().all(|c| !c.remote_fix || c.technical));
    }
}
