//! Warranty coverage decided per vehicle (issue 17, first part): the brand's terms as versioned
//! data, the version a vehicle has by its model and delivery date, and for a day and an odometer
//! reading which coverages apply, what is left of each, and why one does not. Statutory rights
//! (the buyer's complaint period in the market) run beside the warranty and are never mixed into
//! it. Pure: the store reads the vehicle and its battery readings, this module decides.
//!
//! Boundaries, as the brands word them ("4 years / 80 000 km, whichever comes first"): a
//! coverage of N months runs from the delivery date up to and including the day before the same
//! date N months later (the day clamped to the month's end); it holds up to and including the last
//! km of its limit. A battery's capacity is a warranty case when its state of health is below the
//! threshold (70 % means 69.x % and under; exactly 70 % is not).
//!
//! The parts warranty (kind `parts`) is not counted from delivery: it covers each part a
//! workshop of the network fitted, from the day the car was handed back with it, for its months
//! and for its km counted from the reading at fitting ("12 months or 20 000 km").

use serde::{Deserialize, Serialize};
use time::Date;

use crate::reminders::add_months;
use crate::validation::{FieldError, Rule};

pub mod campaigns;
pub mod claims;
pub mod goodwill;

vocabulary!(
    /// What a coverage protects.
    CoverageKind {
        Vehicle => "vehicle",
        Basic => "basic",
        Restraint => "restraint",
        BatteryDriveUnit => "battery-drive-unit",
        Corrosion => "corrosion",
        Parts => "parts",
    }
);

vocabulary!(
    /// Where a battery's state of health was read.
    BatterySource {
        Diagnostic => "diagnostic",
        Telematics => "telematics",
        CapacityTest => "capacity-test",
        Customer => "customer",
    }
);

/// One coverage of a terms version: months from delivery, an optional km limit, and for the
/// battery the state of health under which its capacity is a warranty case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CoverageTerm {
    pub kind: CoverageKind,
    pub months: u32,
    pub km: Option<i64>,
    pub min_soh_pct: Option<i64>,
}

/// A version of a brand's warranty terms in a market: which cars it is for (models, by the
/// delivery date) and its coverages. Versions are never edited; a change is a new version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermsVersion {
    /// How the version is called on the vehicle (`tesla-eu-2020`).
    pub code: String,
    /// Models it is for (as the vehicle's model is written); empty: every model of the brand.
    pub models: Vec<String>,
    /// Delivered on or after this day…
    pub delivered_from: Option<Date>,
    /// …and before this one.
    pub delivered_before: Option<Date>,
    pub coverages: Vec<CoverageTerm>,
}

impl TermsVersion {
    /// How closely the version names the model: the length of the longest model name it lists
    /// that the vehicle's model begins with, 0 for a version of every model, None when it is not
    /// for this car at all (another model, or delivered outside its dates).
    fn fit(&self, model: Option<&str>, delivered: Date) -> Option<usize> {
        let dated = self.delivered_from.is_none_or(|f| delivered >= f)
            && self.delivered_before.is_none_or(|b| delivered < b);
        if !dated {
            return None;
        }
        if self.models.is_empty() {
            return Some(0);
        }
        let m = model?.to_lowercase();
        self.models
            .iter()
            .filter(|x| m.starts_with(&x.to_lowercase()))
            .map(|x| x.len())
            .max()
    }
}

/// The version a vehicle has: of those that hold for its model and delivery date, the one that
/// names its model most closely, and of those the latest to start.
pub fn terms_for<'a>(
    versions: &'a [TermsVersion],
    model: Option<&str>,
    delivered: Date,
) -> Option<&'a TermsVersion> {
    versions
        .iter()
        .filter_map(|v| v.fit(model, delivered).map(|f| (f, v)))
        .max_by_key(|(f, v)| (*f, v.delivered_from))
        .map(|(_, v)| v)
}

/// Where a coverage stands on a day at an odometer reading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "standing", rename_all = "kebab-case")]
pub enum Standing {
    /// Applies: days left (the last day counted) and km left when it has a limit.
    Covered {
        days_left: i64,
        km_left: Option<i64>,
    },
    /// Ended on its last day.
    Expired { last_day: Date },
    /// Over its km limit.
    OverKm { limit: i64 },
}

/// A battery's capacity against its threshold, from the latest state-of-health reading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capacity {
    pub soh_pct: i64,
    pub threshold_pct: i64,
    /// Below the threshold: a capacity claim is a warranty case (while the coverage applies).
    pub below: bool,
}

/// One coverage for a vehicle on a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoverageStanding {
    pub kind: CoverageKind,
    pub last_day: Date,
    pub km_limit: Option<i64>,
    pub standing: Standing,
    pub capacity: Option<Capacity>,
}

/// The last day a coverage of `months` from `delivered` holds.
pub fn last_day(delivered: Date, months: u32) -> Date {
    add_months(delivered, months)
        .previous_day()
        .unwrap_or(delivered)
}

/// Each coverage of `terms` for a car delivered on `delivered`, on `day` at `odometer_km`, with
/// the latest battery state of health when one was read.
pub fn coverage(
    terms: &TermsVersion,
    delivered: Date,
    day: Date,
    odometer_km: i64,
    soh_pct: Option<i64>,
) -> Vec<CoverageStanding> {
    terms
        .coverages
        .iter()
        .filter(|c| c.kind != CoverageKind::Parts)
        .map(|c| {
            let last = last_day(delivered, c.months);
            let standing = if day > last {
                Standing::Expired { last_day: last }
            } else if let Some(limit) = c.km.filter(|l| odometer_km > *l) {
                Standing::OverKm { limit }
            } else {
                Standing::Covered {
                    days_left: (last - day).whole_days() + 1,
                    km_left: c.km.map(|l| l - odometer_km),
                }
            };
            CoverageStanding {
                kind: c.kind,
                last_day: last,
                km_limit: c.km,
                standing,
                capacity: c.min_soh_pct.zip(soh_pct).map(|(t, s)| Capacity {
                    soh_pct: s,
                    threshold_pct: t,
                    below: s < t,
                }),
            }
        })
        .collect()
}

/// A part fitted by the network, as the parts warranty judges it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FittedPart {
    /// The day the car was handed back with the part.
    pub fitted_on: Date,
    /// The odometer at fitting (the latest reading up to then); none: not known.
    pub fitted_km: Option<i64>,
}

/// The parts warranty of `terms` (when it has one) for a part fitted as `part`, on `day` at
/// `odometer_km`: months from the fitting day, km counted from the reading at fitting (a part
/// whose fitting km is unknown is judged on time alone). None when the terms have no parts
/// warranty.
pub fn part_coverage(
    terms: &TermsVersion,
    part: &FittedPart,
    day: Date,
    odometer_km: i64,
) -> Option<CoverageStanding> {
    let c = terms
        .coverages
        .iter()
        .find(|c| c.kind == CoverageKind::Parts)?;
    let last = last_day(part.fitted_on, c.months);
    let limit = c.km.zip(part.fitted_km).map(|(k, at)| at + k);
    let standing = if day > last {
        Standing::Expired { last_day: last }
    } else if let Some(limit) = limit.filter(|l| odometer_km > *l) {
        Standing::OverKm { limit }
    } else {
        Standing::Covered {
            days_left: (last - day).whole_days() + 1,
            km_left: limit.map(|l| l - odometer_km),
        }
    };
    Some(CoverageStanding {
        kind: CoverageKind::Parts,
        last_day: last,
        km_limit: limit,
        standing,
        capacity: None,
    })
}

/// The buyer's statutory complaint period in a market (months), beside the warranty: Norway 5
/// years (forbrukerkjøpsloven § 27), Portugal 3 years (DL 84/2021).
pub fn statutory_months(market: &str) -> Option<u32> {
    match market {
        "NO" => Some(60),
        "PT" => Some(36),
        _ => None,
    }
}

/// A battery reading as entered: state of health 1–100 %.
pub fn soh(field: &str, pct: i64) -> Result<i64, FieldError> {
    if (1..=100).contains(&pct) {
        Ok(pct)
    } else {
        Err(FieldError::new(
            field,
            Rule::NotAllowed,
            format!("{field} must lie between 1 and 100"),
        ))
    }
}

fn term(kind: CoverageKind, months: u32, km: Option<i64>, soh: Option<i64>) -> CoverageTerm {
    CoverageTerm {
        kind,
        months,
        km,
        min_soh_pct: soh,
    }
}

/// The brands' published European terms (docs: ../shared/reference/domain-rules.md §3), the
/// versions a new installation starts with; a brand's headquarters adds its own later versions.
pub fn published_terms(brand: &str) -> Vec<TermsVersion> {
    use CoverageKind::*;
    let d = |y, m: time::Month, day| Date::from_calendar_date(y, m, day).ok();
    match brand {
        "tesla" => {
            let common = |battery: Option<i64>| {
                vec![
                    term(Basic, 48, Some(80_000), None),
                    term(Restraint, 60, Some(100_000), None),
                    term(BatteryDriveUnit, 96, battery, Some(70)),
                    term(Parts, 12, Some(20_000), None),
                ]
            };
            let cutover = d(2020, time::Month::January, 29);
            vec![
                TermsVersion {
                    code: "tesla-eu-sx-2012".into(),
                    models: vec!["Model S".into(), "Model X".into()],
                    delivered_from: None,
                    delivered_before: cutover,
                    coverages: common(None),
                },
                TermsVersion {
                    code: "tesla-eu-sx-2020".into(),
                    models: vec!["Model S".into(), "Model X".into()],
                    delivered_from: cutover,
                    delivered_before: None,
                    coverages: common(Some(240_000)),
                },
                TermsVersion {
                    code: "tesla-eu-3y-lr".into(),
                    models: vec![
                        "Model 3 Long Range AWD".into(),
                        "Model 3 Performance".into(),
                        "Model Y Long Range AWD".into(),
                        "Model Y Performance".into(),
                    ],
                    delivered_from: None,
                    delivered_before: None,
                    coverages: common(Some(192_000)),
                },
                TermsVersion {
                    code: "tesla-eu-3y".into(),
                    models: vec!["Model 3".into(), "Model Y".into()],
                    delivered_from: None,
                    delivered_before: None,
                    coverages: common(Some(160_000)),
                },
            ]
        }
        "polestar" => vec![TermsVersion {
            code: "polestar-eu-2020".into(),
            models: Vec::new(),
            delivered_from: None,
            delivered_before: None,
            coverages: vec![
                term(Vehicle, 24, None, None),
                term(BatteryDriveUnit, 96, Some(160_000), Some(70)),
                term(Corrosion, 144, None, None),
                term(Parts, 24, None, None),
            ],
        }],
        _ => Vec::new(),
    }
}

/// Checks a terms version before it is kept: a code, at least one coverage, months 1–600, a km
/// limit above zero where there is one, a minimum state of health of 1–100 %, the delivery
/// window in order. Errors name the field (`coverages.N.months`).
pub fn check_terms(t: &TermsVersion) -> Result<(), crate::validation::ValidationErrors> {
    let mut errs = crate::validation::ValidationErrors::default();
    let code = t.code.trim();
    if code.is_empty() || code.len() > 40 {
        errs.push(FieldError::new(
            "code",
            Rule::Required,
            "a terms version has a code of 1 to 40 characters",
        ));
    }
    if t.coverages.is_empty() {
        errs.push(FieldError::new(
            "coverages",
            Rule::Required,
            "a terms version has at least one coverage",
        ));
    }
    for (i, c) in t.coverages.iter().enumerate() {
        if !(1..=600).contains(&c.months) {
            errs.push(FieldError::new(
                format!("coverages.{i}.months"),
                Rule::NotAllowed,
                "months lie between 1 and 600",
            ));
        }
        if c.km.is_some_and(|k| k <= 0) {
            errs.push(FieldError::new(
                format!("coverages.{i}.km"),
                Rule::NotAllowed,
                "a km limit is above zero (leave it out for none)",
            ));
        }
        if c.min_soh_pct.is_some_and(|p| !(1..=100).contains(&p)) {
            errs.push(FieldError::new(
                format!("coverages.{i}.min_soh_pct"),
                Rule::NotAllowed,
                "min_soh_pct lies between 1 and 100",
            ));
        }
    }
    if let (Some(f), Some(b)) = (t.delivered_from, t.delivered_before) {
        if f >= b {
            errs.push(FieldError::new(
                "delivered_before",
                Rule::NotAllowed,
                "delivered_before is after delivered_from",
            ));
        }
    }
    errs.into_result()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn standing(list: &[CoverageStanding], kind: CoverageKind) -> &CoverageStanding {
        list.iter().find(|c| c.kind == kind).expect("coverage")
    }

    #[test]
    fn the_last_day_is_the_day_before_the_anniversary_and_is_covered() {
        let tesla = published_terms("tesla");
        let t = terms_for(&tesla, Some("Model Y"), date!(2022 - 03 - 15)).unwrap();
        assert_eq!(last_day(date!(2022 - 03 - 15), 48), date!(2026 - 03 - 14));
        let on_last = coverage(
            t,
            date!(2022 - 03 - 15),
            date!(2026 - 03 - 14),
            10_000,
            None,
        );
        assert_eq!(
            standing(&on_last, CoverageKind::Basic).standing,
            Standing::Covered {
                days_left: 1,
                km_left: Some(70_000)
            }
        );
        let after = coverage(
            t,
            date!(2022 - 03 - 15),
            date!(2026 - 03 - 15),
            10_000,
            None,
        );
        assert_eq!(
            standing(&after, CoverageKind::Basic).standing,
            Standing::Expired {
                last_day: date!(2026 - 03 - 14)
            }
        );
        // A month's end is clamped: a year from 29 February is 28 February, so the 27th is the last day.
        assert_eq!(last_day(date!(2024 - 02 - 29), 12), date!(2025 - 02 - 27));
    }

    #[test]
    fn the_last_km_is_covered_and_the_next_is_not() {
        let tesla = published_terms("tesla");
        let t = terms_for(&tesla, Some("Model 3"), date!(2023 - 05 - 01)).unwrap();
        let at = |km| {
            coverage(t, date!(2023 - 05 - 01), date!(2024 - 05 - 01), km, None)
                .into_iter()
                .find(|c| c.kind == CoverageKind::Basic)
                .unwrap()
                .standing
        };
        assert_eq!(
            at(80_000),
            Standing::Covered {
                days_left: 1095,
                km_left: Some(0)
            }
        );
        assert_eq!(at(80_001), Standing::OverKm { limit: 80_000 });
    }

    #[test]
    fn a_battery_at_the_threshold_is_not_a_capacity_case_and_just_under_it_is() {
        let polestar = published_terms("polestar");
        let t = terms_for(&polestar, Some("Polestar 2"), date!(2023 - 01 - 10)).unwrap();
        let cap = |soh| {
            coverage(
                t,
                date!(2023 - 01 - 10),
                date!(2025 - 07 - 10),
                70_000,
                Some(soh),
            )
            .into_iter()
            .find(|c| c.kind == CoverageKind::BatteryDriveUnit)
            .unwrap()
            .capacity
            .unwrap()
        };
        assert!(!cap(70).below);
        assert!(cap(69).below);
        assert!(soh("soh_pct", 0).is_err() && soh("soh_pct", 101).is_err());
    }

    #[test]
    fn a_polestar_at_two_and_a_half_years_has_its_battery_covered_and_the_car_not() {
        let polestar = published_terms("polestar");
        let delivered = date!(2023 - 01 - 10);
        let t = terms_for(&polestar, Some("Polestar 2"), delivered).unwrap();
        let list = coverage(t, delivered, date!(2025 - 07 - 10), 48_000, None);
        assert!(matches!(
            standing(&list, CoverageKind::Vehicle).standing,
            Standing::Expired { .. }
        ));
        assert!(matches!(
            standing(&list, CoverageKind::BatteryDriveUnit).standing,
            Standing::Covered {
                km_left: Some(112_000),
                ..
            }
        ));
        assert!(matches!(
            standing(&list, CoverageKind::Corrosion).standing,
            Standing::Covered { km_left: None, .. }
        ));
        assert_eq!(statutory_months("PT"), Some(36));
        assert_eq!(statutory_months("NO"), Some(60));
    }

    #[test]
    fn a_fitted_part_counts_its_months_from_fitting_and_its_km_from_the_reading_then() {
        let tesla = published_terms("tesla");
        let t = terms_for(&tesla, Some("Model Y"), date!(2021 - 03 - 01)).unwrap();
        // The car's own coverages never list the parts warranty.
        assert!(coverage(
            t,
            date!(2021 - 03 - 01),
            date!(2026 - 01 - 10),
            90_000,
            None
        )
        .iter()
        .all(|c| c.kind != CoverageKind::Parts));
        let part = FittedPart {
            fitted_on: date!(2025 - 11 - 20),
            fitted_km: Some(85_000),
        };
        let at = |day, km| part_coverage(t, &part, day, km).unwrap().standing;
        // Last day and last km covered; the day after or the km after not.
        assert_eq!(
            at(date!(2026 - 11 - 19), 105_000),
            Standing::Covered {
                days_left: 1,
                km_left: Some(0)
            }
        );
        assert_eq!(
            at(date!(2026 - 11 - 20), 90_000),
            Standing::Expired {
                last_day: date!(2026 - 11 - 19)
            }
        );
        assert_eq!(
            at(date!(2026 - 01 - 10), 105_001),
            Standing::OverKm { limit: 105_000 }
        );
        // Unknown km at fitting: judged on time alone.
        let unknown = FittedPart {
            fitted_km: None,
            ..part
        };
        assert!(matches!(
            part_coverage(t, &unknown, date!(2026 - 01 - 10), 900_000)
                .unwrap()
                .standing,
            Standing::Covered { km_left: None, .. }
        ));
        // Polestar: two years, no km limit.
        let polestar = published_terms("polestar");
        let p = terms_for(&polestar, Some("Polestar 2"), date!(2022 - 01 - 01)).unwrap();
        assert_eq!(
            part_coverage(p, &part, date!(2027 - 11 - 19), 300_000)
                .unwrap()
                .last_day,
            date!(2027 - 11 - 19)
        );
        // Terms without a parts warranty say so.
        let none = TermsVersion {
            coverages: vec![term(CoverageKind::Basic, 24, None, None)],
            ..p.clone()
        };
        assert!(part_coverage(&none, &part, date!(2026 - 01 - 10), 0).is_none());
    }

    #[test]
    fn the_delivery_date_picks_the_version_a_model_s_has() {
        let tesla = published_terms("tesla");
        let before = terms_for(&tesla, Some("Model S"), date!(2020 - 01 - 28)).unwrap();
        let after = terms_for(&tesla, Some("Model S"), date!(2020 - 01 - 29)).unwrap();
        assert_eq!(before.code, "tesla-eu-sx-2012");
        assert_eq!(after.code, "tesla-eu-sx-2020");
        // Unlimited km before the change: a Model S at 400 000 km still has its battery covered.
        let old = coverage(
            before,
            date!(2019 - 06 - 01),
            date!(2026 - 06 - 01),
            400_000,
            None,
        );
        assert!(matches!(
            standing(&old, CoverageKind::BatteryDriveUnit).standing,
            Standing::Covered { km_left: None, .. }
        ));
        // The model named before the one for every model of its line.
        let lr = terms_for(
            &tesla,
            Some("Model Y Long Range AWD"),
            date!(2023 - 01 - 01),
        )
        .unwrap();
        assert_eq!(lr.code, "tesla-eu-3y-lr");
        assert_eq!(
            terms_for(&tesla, Some("Model Y"), date!(2023 - 01 - 01)).map(|t| t.code.as_str()),
            Some("tesla-eu-3y")
        );
        assert!(terms_for(&tesla, Some("Cybertruck"), date!(2024 - 01 - 01)).is_none());
    }
}
