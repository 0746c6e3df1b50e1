//! A synthetic warranty history, planned from a seed: vehicles delivered over some years with a
//! home service point and a usage, and the claims their components make, whose first failures
//! follow a Weibull law per component group (the battery and drive unit wear in, the rest fail at
//! a constant rate), with one component whose rate rises in the last months and one service point
//! that claims more labour than its peers. Pure: the store writes what this plans (the demo's
//! history and the benchmark's 100,000 vehicles both come from here).

use time::{Date, Duration};

use super::sample::SplitMix64;
use crate::warranty::goodwill::ComponentGroup;

/// What to plan.
#[derive(Debug, Clone)]
pub struct HistorySpec {
    /// How many vehicles.
    pub vehicles: usize,
    /// The last day of the history (the analyses' "today").
    pub end: Date,
    /// Deliveries spread over this many years before `end`.
    pub years: u32,
    /// How many service points share the cars (the first takes the largest share).
    pub service_points: usize,
    /// A component whose claim rate rises over the last six months, if any.
    pub rising: Option<ComponentGroup>,
    /// A service point (index) that claims half as much labour again, over the flat rate.
    pub costly_point: Option<usize>,
    /// Scales every component's claim rate (1.0: about three claims per car over five years).
    pub rate: f64,
    /// The seed every draw comes from.
    pub seed: u64,
}

/// A planned vehicle.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedVehicle {
    /// Index among the planned vehicles (a serial for its VIN).
    pub serial: usize,
    /// The delivery day.
    pub delivered: Date,
    /// Index of the service point it is serviced at.
    pub point: usize,
    /// Km driven per month.
    pub km_per_month: i64,
    /// Index of the model among those the store offers.
    pub model: usize,
    /// Its claims, oldest first.
    pub claims: Vec<PlannedClaim>,
}

/// A planned claim.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedClaim {
    /// What failed.
    pub component: ComponentGroup,
    /// The day the car came in.
    pub day: Date,
    /// The odometer then.
    pub odometer_km: i64,
    /// Labour claimed, in hundredths of an hour.
    pub labour_centi: i64,
    /// The operation's flat rate, in hundredths of an hour.
    pub flat_rate_centi: i64,
    /// Parts claimed, in euro cents (the store converts for other currencies).
    pub parts_minor: i64,
    /// How it ended.
    pub outcome: Outcome,
    /// The supplier's analysis of the returned part said "no trouble found".
    pub no_trouble_found: bool,
    /// The analysis said the replaced part could have been repaired.
    pub repairable: bool,
    /// The part line was billed twice on the claim.
    pub duplicate_line: bool,
}

/// How a planned claim ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Approved as claimed.
    Approved,
    /// Approved with the labour cut to the flat rate (or by a tenth).
    PartlyApproved,
    /// Rejected.
    Rejected,
    /// Still with the importer (recent claims).
    Open,
}

/// Per component group: Weibull shape and scale (months) of the first failure, flat-rate hours,
/// parts cost (euro cents), and whether a part is usually replaced.
struct Law {
    group: ComponentGroup,
    beta: f64,
    eta_months: f64,
    flat_rate_centi: i64,
    parts_minor: i64,
}

const LAWS: &[Law] = &[
    Law {
        group: ComponentGroup::HighVoltage,
        beta: 1.6,
        eta_months: 180.0,
        flat_rate_centi: 250,
        parts_minor: 180_000,
    },
    Law {
        group: ComponentGroup::Drivetrain,
        beta: 1.4,
        eta_months: 220.0,
        flat_rate_centi: 320,
        parts_minor: 240_000,
    },
    Law {
        group: ComponentGroup::Electrical,
        beta: 1.0,
        eta_months: 30.0,
        flat_rate_centi: 100,
        parts_minor: 22_000,
    },
    Law {
        group: ComponentGroup::Chassis,
        beta: 1.1,
        eta_months: 50.0,
        flat_rate_centi: 150,
        parts_minor: 35_000,
    },
    Law {
        group: ComponentGroup::Body,
        beta: 0.9,
        eta_months: 45.0,
        flat_rate_centi: 120,
        parts_minor: 18_000,
    },
    Law {
        group: ComponentGroup::Interior,
        beta: 0.8,
        eta_months: 60.0,
        flat_rate_centi: 80,
        parts_minor: 9_000,
    },
];

/// Whole months from `from` to `to` (a month counts once its day is reached).
pub fn months_between(from: Date, to: Date) -> i64 {
    let m = (i64::from(to.year()) - i64::from(from.year())) * 12 + i64::from(u8::from(to.month()))
        - i64::from(u8::from(from.month()));
    if to.day() < from.day() {
        m - 1
    } else {
        m
    }
}

fn add_days(d: Date, days: f64) -> Date {
    // Truncation to whole days is intended; days stay well inside i64.
    #[allow(clippy::cast_possible_truncation)]
    let whole = days.floor() as i64;
    d.checked_add(Duration::days(whole)).unwrap_or(d)
}

/// Plans the history. The same spec gives the same history.
pub fn plan(spec: &HistorySpec) -> Vec<PlannedVehicle> {
    let mut rng = SplitMix64::new(spec.seed);
    // Audit findings come from a stream of their own, so they leave the rest of the plan as it was.
    let mut audit_rng = SplitMix64::new(spec.seed ^ 0xA0D1_7A0D_17A0_D17A);
    let span_days = f64::from(spec.years.max(1)) * 365.25;
    let points = spec.service_points.max(1);
    let mut out = Vec::with_capacity(spec.vehicles);
    for serial in 0..spec.vehicles {
        // Deliveries grow over the years (more cars sold later): the square root of a uniform
        // leans towards the end.
        let u = rng.next_open01().sqrt();
        let delivered = add_days(spec.end, -(span_days * (1.0 - u)) - 30.0);
        // The first service point takes about half the cars, the others share the rest.
        let point = if points == 1 || rng.next_open01() < 0.5 {
            0
        } else {
            1 + (rng.next_u64() % (points as u64 - 1)) as usize
        };
        let km_per_month = 800 + (rng.next_u64() % 1700) as i64;
        let model = (rng.next_u64() % 3) as usize;
        let age_days = (spec.end - delivered).whole_days().max(0) as f64;
        let mut claims = Vec::new();
        for law in LAWS {
            // Repeated claims on a component: each next failure from the last, as a renewal.
            let mut at_days = 0.0;
            loop {
                let eta_days = law.eta_months * 30.44 / spec.rate.max(1e-6);
                let t = eta_days * (-rng.next_open01().ln()).powf(1.0 / law.beta);
                at_days += t.max(1.0);
                if at_days > age_days {
                    break;
                }
                let day = add_days(delivered, at_days);
                claims.push(claim(
                    spec,
                    law,
                    (point, delivered, km_per_month),
                    day,
                    (&mut rng, &mut audit_rng),
                ));
            }
            // The rising component: an extra hazard over the last six months, growing month by month.
            if spec.rising == Some(law.group) {
                for back in 0..6_i64 {
                    let month_start = add_days(spec.end, -30.44 * (back + 1) as f64);
                    if month_start <= delivered {
                        continue;
                    }
                    let p = 0.004 * (6 - back) as f64 * spec.rate;
                    if rng.next_open01() < p {
                        let day = add_days(month_start, rng.next_open01() * 29.0);
                        claims.push(claim(
                            spec,
                            law,
                            (point, delivered, km_per_month),
                            day,
                            (&mut rng, &mut audit_rng),
                        ));
                    }
                }
            }
        }
        claims.sort_by_key(|c| c.day);
        out.push(PlannedVehicle {
            serial,
            delivered,
            point,
            km_per_month,
            model,
            claims,
        });
    }
    out
}

/// A claim on `law`'s component by the car (its service point, delivery day, km per month) on `day`.
fn claim(
    spec: &HistorySpec,
    law: &Law,
    (point, delivered, km_per_month): (usize, Date, i64),
    day: Date,
    (rng, audit_rng): (&mut SplitMix64, &mut SplitMix64),
) -> PlannedClaim {
    let months = (day - delivered).whole_days() as f64 / 30.44;
    #[allow(clippy::cast_possible_truncation)]
    let odometer_km = (months * km_per_month as f64) as i64 + 50;
    let costly = spec.costly_point == Some(point);
    let over = if costly {
        1.5 + rng.next_open01() * 0.3
    } else if rng.next_open01() < 0.1 {
        1.2
    } else {
        1.0
    };
    #[allow(clippy::cast_possible_truncation)]
    let labour_centi = ((law.flat_rate_centi as f64 * over) / 5.0).round() as i64 * 5;
    let replace = rng.next_open01() < 0.7;
    #[allow(clippy::cast_possible_truncation)]
    let parts_minor = if replace {
        (law.parts_minor as f64 * (0.8 + rng.next_open01() * 0.4)).round() as i64
    } else {
        0
    };
    let recent = (spec.end - day).whole_days() < 14;
    let r = rng.next_open01();
    let outcome = if recent {
        Outcome::Open
    } else if r < 0.05 {
        Outcome::Rejected
    } else if labour_centi > law.flat_rate_centi || r < 0.12 {
        Outcome::PartlyApproved
    } else {
        Outcome::Approved
    };
    // The costly point also replaces what could be repaired and bills lines twice, now and then.
    let repairable = replace && audit_rng.next_open01() < if costly { 0.12 } else { 0.02 };
    let duplicate_line = replace && audit_rng.next_open01() < if costly { 0.03 } else { 0.002 };
    PlannedClaim {
        component: law.group,
        day,
        odometer_km,
        labour_centi,
        flat_rate_centi: law.flat_rate_centi,
        parts_minor,
        outcome,
        no_trouble_found: replace && rng.next_open01() < if costly { 0.25 } else { 0.06 },
        repairable,
        duplicate_line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn spec() -> HistorySpec {
        HistorySpec {
            vehicles: 2_000,
            end: date!(2026 - 11 - 21),
            years: 5,
            service_points: 3,
            rising: Some(ComponentGroup::Electrical),
            costly_point: Some(2),
            rate: 1.0,
            seed: 7,
        }
    }

    #[test]
    fn the_same_seed_plans_the_same_history_and_claims_fall_in_service() {
        let a = plan(&spec());
        assert_eq!(a, plan(&spec()));
        assert_eq!(a.len(), 2_000);
        for v in &a {
            assert!(v.delivered < date!(2026 - 11 - 21));
            assert!(v.point < 3);
            for c in &v.claims {
                assert!(c.day >= v.delivered && c.day <= date!(2026 - 11 - 21));
                assert!(c.odometer_km > 0);
            }
        }
        // About three claims per car over five years, fewer for younger cars.
        let claims: usize = a.iter().map(|v| v.claims.len()).sum();
        assert!((2_000..8_000).contains(&claims), "{claims}");
    }

    #[test]
    fn the_costly_point_claims_more_labour_and_the_rising_component_rises() {
        let a = plan(&spec());
        let labour = |p: usize| {
            let (h, n) = a
                .iter()
                .filter(|v| v.point == p)
                .flat_map(|v| &v.claims)
                .fold((0, 0), |(h, n), c| (h + c.labour_centi, n + 1));
            h as f64 / n as f64
        };
        assert!(labour(2) > 1.3 * labour(1));
        let in_month = |from: Date, to: Date| {
            a.iter()
                .flat_map(|v| &v.claims)
                .filter(|c| {
                    c.component == ComponentGroup::Electrical && c.day >= from && c.day < to
                })
                .count()
        };
        let last = in_month(date!(2026 - 10 - 21), date!(2026 - 11 - 21));
        let year_before = in_month(date!(2025 - 10 - 21), date!(2025 - 11 - 21));
        assert!(last > year_before, "{last} vs {year_before}");
    }
}
