//! Service reminders (capability reminders): when a vehicle is next due for a service item (the
//! brand's maintenance schedule) or a periodic inspection (the market's legal rhythm), from
//! schedules kept as data. Pure arithmetic on dates and kilometres; the store supplies what was
//! done and the odometer readings.

use serde::{Deserialize, Serialize};
use time::{Date, Duration, Month};

use crate::validation::{FieldError, Rule};
use crate::ValidationErrors;

vocabulary!(
    /// A brand's maintenance item (by time or distance since it was last done) or a legal
    /// inspection (deadlines counted from the first registration).
    ItemKind {
        Service => "service",
        Inspection => "inspection",
    }
);

/// One line of a schedule, as data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Interval {
    /// Months after delivery for the first time (the first inspection comes later than the rest).
    pub first_months: u32,
    pub every_months: u32,
    /// Or after this many km, whichever comes first (service items only).
    pub every_km: Option<u32>,
    /// From this many months after delivery on, every `later_every_months` instead
    /// (Portugal's IPO: at 4 years, every 2 years until 8, then every year).
    pub later_from_months: Option<u32>,
    pub later_every_months: Option<u32>,
}

/// An inspection done this long before a deadline counts for that deadline.
pub const EARLY_INSPECTION_MONTHS: u32 = 3;
/// Without a record, a deadline passed longer ago than this is taken as met elsewhere.
pub const UNRECORDED_OVERDUE_DAYS: i64 = 60;

/// When the item is next due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    pub date: Date,
    /// The odometer reading it is due at, for items with a distance.
    pub km: Option<u32>,
    /// Whether the distance (at the vehicle's usage so far) comes before the date.
    pub by_km: bool,
}

/// How a vehicle is driven, from its odometer readings.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Usage {
    /// The latest reading.
    pub last: Option<(Date, u32)>,
    pub km_per_day: Option<f64>,
}

impl Usage {
    /// The odometer on a day, at the usage so far: what the latest reading says less the
    /// distance driven since (a service recorded without a reading still starts a distance).
    pub fn km_on(&self, day: Date) -> Option<u32> {
        let ((at, read), rate) = (self.last?, self.km_per_day?);
        let back = (at - day).whole_days().max(0) as f64 * rate;
        Some((f64::from(read) - back).max(0.0) as u32)
    }

    /// From readings (date, km) in any order and the delivery date (at 0 km): the rate over the
    /// longest span of at least 30 days.
    pub fn from_readings(readings: &[(Date, u32)], delivered: Option<Date>) -> Usage {
        let last = readings.iter().copied().max_by_key(|(d, _)| *d);
        let first = readings
            .iter()
            .copied()
            .min_by_key(|(d, _)| *d)
            .into_iter()
            .chain(delivered.map(|d| (d, 0)))
            .min_by_key(|(d, _)| *d);
        let km_per_day = match (first, last) {
            (Some((d0, k0)), Some((d1, k1))) if (d1 - d0).whole_days() >= 30 && k1 >= k0 => {
                Some(f64::from(k1 - k0) / (d1 - d0).whole_days() as f64)
            }
            _ => None,
        };
        Usage { last, km_per_day }
    }
}

/// `d` plus whole months, the day kept or clamped to the month's end (31 Jan + 1 = 28/29 Feb).
pub fn add_months(d: Date, months: u32) -> Date {
    let total = d.year() * 12 + (d.month() as i32 - 1) + months as i32;
    let (year, month0) = (total.div_euclid(12), total.rem_euclid(12));
    let month = Month::try_from(month0 as u8 + 1).unwrap_or(Month::December);
    let last = month.length(year);
    Date::from_calendar_date(year, month, d.day().min(last)).unwrap_or(d)
}

impl Interval {
    /// Checks a schedule line as typed: months 1–240, km 500–500,000, both parts of the later
    /// rhythm or neither.
    pub fn check(&self, kind: ItemKind) -> Result<(), ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let months = |field: &str, v: u32| {
            (1..=240).contains(&v).then_some(()).ok_or_else(|| {
                FieldError::new(
                    field,
                    Rule::NotAllowed,
                    format!("{field} must lie between 1 and 240 months"),
                )
            })
        };
        errs.take(months("first_months", self.first_months));
        errs.take(months("every_months", self.every_months));
        if let Some(km) = self.every_km {
            if kind == ItemKind::Inspection {
                errs.push(FieldError::new(
                    "every_km",
                    Rule::NotAllowed,
                    "every_km is for service items; inspections go by date",
                ));
            } else if !(500..=500_000).contains(&km) {
                errs.push(FieldError::new(
                    "every_km",
                    Rule::NotAllowed,
                    "every_km must lie between 500 and 500000",
                ));
            }
        }
        match (self.later_from_months, self.later_every_months) {
            (Some(f), Some(e)) => {
                errs.take(months("later_from_months", f));
                errs.take(months("later_every_months", e));
            }
            (None, None) => {}
            (None, Some(_)) => errs.push(FieldError::new(
                "later_from_months",
                Rule::Required,
                "later_from_months is required with later_every_months",
            )),
            (Some(_), None) => errs.push(FieldError::new(
                "later_every_months",
                Rule::Required,
                "later_every_months is required with later_from_months",
            )),
        }
        errs.into_result()
    }

    fn step_after(&self, months_since_delivery: u32) -> u32 {
        match (self.later_from_months, self.later_every_months) {
            (Some(from), Some(every)) if months_since_delivery >= from => every,
            _ => self.every_months,
        }
        .max(1)
    }

    /// A service item: due `every_months` (the first time `first_months` after delivery) or
    /// `every_km` after it was last done, whichever comes first at the vehicle's usage.
    pub fn next_service(
        &self,
        delivered: Date,
        last_done: Option<(Date, Option<u32>)>,
        usage: &Usage,
    ) -> Due {
        let (base, months, base_km) = match last_done {
            Some((d, km)) => (d, self.every_months, km.or_else(|| usage.km_on(d))),
            None => (delivered, self.first_months, Some(0)),
        };
        let date = add_months(base, months.max(1));
        let km = self.every_km.zip(base_km).map(|(e, b)| b.saturating_add(e));
        if let (Some(km), Some((at, read)), Some(rate)) = (km, usage.last, usage.km_per_day) {
            if rate > 0.0 {
                let days = (f64::from(km.saturating_sub(read)) / rate).ceil();
                // Compared before a date is built: a car that barely moves reaches the distance
                // in millions of days, past any calendar.
                if days < (date - at).whole_days() as f64 {
                    return Due {
                        date: at + Duration::days(days as i64),
                        km: Some(km),
                        by_km: true,
                    };
                }
            }
        }
        Due {
            date,
            km,
            by_km: false,
        }
    }

    /// A legal inspection: deadlines at `first_months` after delivery and then every
    /// `every_months` (or the later rhythm). The next is the first deadline not met by the
    /// last recorded inspection (done at most three months before it); without a record, the
    /// first not passed more than sixty days before `today`.
    pub fn next_inspection(&self, delivered: Date, last_done: Option<Date>, today: Date) -> Due {
        let mut m = self.first_months.max(1);
        for _ in 0..400 {
            let deadline = add_months(delivered, m);
            let open = match last_done {
                Some(done) => done < sub_months(deadline, EARLY_INSPECTION_MONTHS),
                None => deadline >= today - Duration::days(UNRECORDED_OVERDUE_DAYS),
            };
            if open {
                return Due {
                    date: deadline,
                    km: None,
                    by_km: false,
                };
            }
            m += self.step_after(m);
        }
        Due {
            date: add_months(delivered, m),
            km: None,
            by_km: false,
        }
    }
}

/// `d` minus whole months, the day kept or clamped to the month's end.
pub fn sub_months(d: Date, months: u32) -> Date {
    let total = d.year() * 12 + (d.month() as i32 - 1) - months as i32;
    let (year, month0) = (total.div_euclid(12), total.rem_euclid(12));
    let month = Month::try_from(month0 as u8 + 1).unwrap_or(Month::January);
    let last = month.length(year);
    Date::from_calendar_date(year, month, d.day().min(last)).unwrap_or(d)
}

/// Where a due item stands on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Standing {
    Overdue,
    DueSoon,
    Later,
}

pub fn standing(due: Date, today: Date, remind_days: u32) -> Standing {
    if due < today {
        Standing::Overdue
    } else if due <= today + Duration::days(i64::from(remind_days)) {
        Standing::DueSoon
    } else {
        Standing::Later
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use time::macros::date;

    const POLESTAR_SERVICE: Interval = Interval {
        first_months: 24,
        every_months: 24,
        every_km: Some(30_000),
        later_from_months: None,
        later_every_months: None,
    };
    const IPO: Interval = Interval {
        first_months: 48,
        every_months: 24,
        every_km: None,
        later_from_months: Some(96),
        later_every_months: Some(12),
    };

    #[test]
    fn months_are_added_on_the_calendar() {
        assert_eq!(add_months(date!(2024 - 01 - 31), 1), date!(2024 - 02 - 29));
        assert_eq!(add_months(date!(2023 - 11 - 15), 14), date!(2025 - 01 - 15));
        assert_eq!(sub_months(date!(2026 - 05 - 31), 3), date!(2026 - 02 - 28));
    }

    #[test]
    fn a_service_falls_due_by_date_or_by_distance_whichever_first() {
        let delivered = date!(2024 - 03 - 01);
        // Little driving: the date decides.
        let slow = Usage::from_readings(&[(date!(2025 - 03 - 01), 8_000)], Some(delivered));
        let due = POLESTAR_SERVICE.next_service(delivered, None, &slow);
        assert_eq!(
            due,
            Due {
                date: date!(2026 - 03 - 01),
                km: Some(30_000),
                by_km: false
            }
        );
        // 100 km a day: 30,000 km is reached 300 days after delivery.
        let fast = Usage::from_readings(&[(date!(2024 - 05 - 30), 9_000)], Some(delivered));
        assert_eq!(fast.km_per_day, Some(100.0));
        let due = POLESTAR_SERVICE.next_service(delivered, None, &fast);
        assert!(due.by_km);
        assert_eq!(due.date, date!(2024 - 05 - 30) + Duration::days(210));
        // After a service at 31,000 km the next is counted from there.
        let due = POLESTAR_SERVICE.next_service(
            delivered,
            Some((date!(2025 - 01 - 10), Some(31_000))),
            &slow,
        );
        assert_eq!((due.date, due.km), (date!(2027 - 01 - 10), Some(61_000)));
    }

    #[test]
    fn a_car_that_barely_moves_is_due_by_date_and_nothing_overflows() {
        let delivered = date!(2023 - 03 - 01);
        let still = Usage::from_readings(&[(date!(2026 - 03 - 01), 5)], Some(delivered));
        let due = POLESTAR_SERVICE.next_service(delivered, None, &still);
        assert_eq!((due.date, due.by_km), (date!(2025 - 03 - 01), false));
    }

    #[test]
    fn a_service_recorded_without_km_still_counts_a_distance() {
        let delivered = date!(2024 - 03 - 01);
        let fast = Usage::from_readings(&[(date!(2025 - 03 - 01), 36_500)], Some(delivered));
        // Done on 2025-01-01 without a reading: at 100 km a day that was about 30,600 km.
        let due =
            POLESTAR_SERVICE.next_service(delivered, Some((date!(2025 - 01 - 01), None)), &fast);
        assert!(due.by_km, "{due:?}");
        assert_eq!(due.km, Some(30_600 + 30_000));
    }

    #[test]
    fn inspections_keep_the_legal_rhythm_from_registration() {
        let reg = date!(2017 - 06 - 15);
        // Deadlines 2021-06-15, 2023-06-15, 2025-06-15 (96 months), then yearly: 2026-06-15, 2027-06-15.
        assert_eq!(
            IPO.next_inspection(reg, Some(date!(2026 - 04 - 01)), date!(2026 - 12 - 06))
                .date,
            date!(2027 - 06 - 15),
            "done within three months before 2026-06-15 counts for it"
        );
        assert_eq!(
            IPO.next_inspection(reg, Some(date!(2025 - 06 - 01)), date!(2026 - 12 - 06))
                .date,
            date!(2026 - 06 - 15),
            "the 2026 deadline was not met: overdue"
        );
        // No record: the next deadline not long past.
        assert_eq!(
            IPO.next_inspection(reg, None, date!(2026 - 12 - 06)).date,
            date!(2027 - 06 - 15)
        );
        assert_eq!(
            IPO.next_inspection(reg, None, date!(2026 - 07 - 01)).date,
            date!(2026 - 06 - 15),
            "passed two weeks ago: shown as overdue"
        );
        let eu = Interval {
            first_months: 48,
            every_months: 24,
            ..IPO
        };
        let eu = Interval {
            later_from_months: None,
            later_every_months: None,
            ..eu
        };
        assert_eq!(
            eu.next_inspection(date!(2022 - 12 - 20), None, date!(2026 - 12 - 06))
                .date,
            date!(2026 - 12 - 20)
        );
    }

    #[test]
    fn schedule_lines_are_checked_field_by_field() {
        let bad = Interval {
            first_months: 0,
            every_months: 24,
            every_km: Some(10),
            later_from_months: Some(96),
            later_every_months: None,
        };
        let e = bad.check(ItemKind::Service).unwrap_err();
        let fields: Vec<_> = e.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["first_months", "every_km", "later_every_months"]);
        assert!(IPO.check(ItemKind::Inspection).is_ok());
        assert!(POLESTAR_SERVICE.check(ItemKind::Inspection).is_err());
    }

    #[test]
    fn standing_on_a_day() {
        let today = date!(2026 - 12 - 06);
        assert_eq!(
            standing(date!(2026 - 12 - 01), today, 30),
            Standing::Overdue
        );
        assert_eq!(
            standing(date!(2026 - 12 - 20), today, 30),
            Standing::DueSoon
        );
        assert_eq!(standing(date!(2027 - 02 - 20), today, 30), Standing::Later);
    }
}
