//! Business calendars for SLA timers: opening hours per weekday in the service point's time zone,
//! the public holidays of Norway and Portugal (the movable ones from Easter), and business-time
//! arithmetic with pauses (while waiting for the customer the clock stops).
//!
//! Time zones: the markets served follow the EU summer-time rule (from 01:00 UTC on the last
//! Sunday of March to 01:00 UTC on the last Sunday of October), which this module implements
//! exactly for the zones it names; no time-zone database is needed.

use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset, Weekday};

use crate::validation::{FieldError, Rule};

/// A time zone of a market served, with its standard offset and EU summer time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zone {
    pub name: &'static str,
    standard_hours: i8,
}

impl Zone {
    pub const KNOWN: [Zone; 7] = [
        Zone {
            name: "Europe/Oslo",
            standard_hours: 1,
        },
        Zone {
            name: "Europe/Stockholm",
            standard_hours: 1,
        },
        Zone {
            name: "Europe/Copenhagen",
            standard_hours: 1,
        },
        Zone {
            name: "Europe/Madrid",
            standard_hours: 1,
        },
        Zone {
            name: "Europe/Lisbon",
            standard_hours: 0,
        },
        Zone {
            name: "Atlantic/Madeira",
            standard_hours: 0,
        },
        Zone {
            name: "Atlantic/Azores",
            standard_hours: -1,
        },
    ];

    pub fn parse(field: &str, name: &str) -> Result<Zone, FieldError> {
        Zone::KNOWN
            .into_iter()
            .find(|z| z.name == name)
            .ok_or_else(|| {
                FieldError::new(
                    field,
                    Rule::OneOf,
                    format!(
                        "{field} must be one of {}",
                        Zone::KNOWN.map(|z| z.name).join(", ")
                    ),
                )
            })
    }

    /// The UTC offset in force at `at`.
    pub fn offset_at(self, at: OffsetDateTime) -> UtcOffset {
        let at = at.to_offset(UtcOffset::UTC);
        let year = at.year();
        let start = last_sunday(year, Month::March)
            .with_hms(1, 0, 0)
            .map(|d| d.assume_utc());
        let end = last_sunday(year, Month::October)
            .with_hms(1, 0, 0)
            .map(|d| d.assume_utc());
        let summer = matches!((start, end), (Ok(s), Ok(e)) if at >= s && at < e);
        UtcOffset::from_hms(self.standard_hours + i8::from(summer), 0, 0).unwrap_or(UtcOffset::UTC)
    }

    /// The instant of a local wall-clock time. In the autumn hour that happens twice the first is
    /// taken; a time skipped in spring is taken as the offset before the change would read it.
    pub fn instant(self, local: PrimitiveDateTime) -> OffsetDateTime {
        let guess = local.assume_offset(
            UtcOffset::from_hms(self.standard_hours, 0, 0).unwrap_or(UtcOffset::UTC),
        );
        let summer = local.assume_offset(self.offset_at(guess));
        let again = local.assume_offset(self.offset_at(summer));
        if self.offset_at(again) == again.offset() {
            again
        } else {
            summer
        }
    }

    pub fn local(self, at: OffsetDateTime) -> OffsetDateTime {
        at.to_offset(self.offset_at(at))
    }
}

fn last_sunday(year: i32, month: Month) -> Date {
    let first_next = if month == Month::December {
        Date::from_calendar_date(year + 1, Month::January, 1)
    } else {
        Date::from_calendar_date(year, month.next(), 1)
    };
    let mut d = first_next
        .map(|d| d - Duration::days(1))
        .unwrap_or(Date::MIN);
    while d.weekday() != Weekday::Sunday {
        d -= Duration::days(1);
    }
    d
}

/// Easter Sunday (Gregorian), by the anonymous Gregorian algorithm (Meeus/Jones/Butcher).
pub fn easter_sunday(year: i32) -> Date {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = ((h + l - 7 * m + 114) % 31) + 1;
    let month = if month == 3 {
        Month::March
    } else {
        Month::April
    };
    Date::from_calendar_date(year, month, day as u8).unwrap_or(Date::MIN)
}

/// The national public holidays of a country in a year, with their names.
pub fn public_holidays(country: &str, year: i32) -> Vec<(Date, &'static str)> {
    let easter = easter_sunday(year);
    let fixed = |m: Month, d: u8, name: &'static str| {
        Date::from_calendar_date(year, m, d)
            .ok()
            .map(|date| (date, name))
    };
    let moved = |days: i64, name: &'static str| Some((easter + Duration::days(days), name));
    let list: Vec<Option<(Date, &'static str)>> = match country {
        "NO" => vec![
            fixed(Month::January, 1, "Første nyttårsdag"),
            moved(-3, "Skjærtorsdag"),
            moved(-2, "Langfredag"),
            moved(0, "Første påskedag"),
            moved(1, "Andre påskedag"),
            fixed(Month::May, 1, "Arbeidernes dag"),
            fixed(Month::May, 17, "Grunnlovsdag"),
            moved(39, "Kristi himmelfartsdag"),
            moved(49, "Første pinsedag"),
            moved(50, "Andre pinsedag"),
            fixed(Month::December, 25, "Første juledag"),
            fixed(Month::December, 26, "Andre juledag"),
        ],
        "PT" => vec![
            fixed(Month::January, 1, "Ano Novo"),
            moved(-2, "Sexta-feira Santa"),
            moved(0, "Domingo de Páscoa"),
            fixed(Month::April, 25, "Dia da Liberdade"),
            fixed(Month::May, 1, "Dia do Trabalhador"),
            moved(60, "Corpo de Deus"),
            fixed(Month::June, 10, "Dia de Portugal"),
            fixed(Month::August, 15, "Assunção de Nossa Senhora"),
            fixed(Month::October, 5, "Implantação da República"),
            fixed(Month::November, 1, "Dia de Todos-os-Santos"),
            fixed(Month::December, 1, "Restauração da Independência"),
            fixed(Month::December, 8, "Imaculada Conceição"),
            fixed(Month::December, 25, "Natal"),
        ],
        _ => Vec::new(),
    };
    let mut out: Vec<(Date, &'static str)> = list.into_iter().flatten().collect();
    out.sort();
    out
}

/// Opening hours of one weekday: zero or more `[open, close)` intervals in local time.
pub type DayHours = Vec<(Time, Time)>;

/// Where SLA time runs: opening hours per weekday (Monday first), a time zone, closed dates.
#[derive(Debug, Clone)]
pub struct BusinessCalendar {
    pub zone: Zone,
    pub week: [DayHours; 7],
    /// Public holidays and other closed days (local dates).
    pub closed: Vec<Date>,
}

impl BusinessCalendar {
    /// A calendar with the same hours Monday to Friday, closed at weekends, with the country's
    /// public holidays for the years given.
    pub fn weekdays(
        zone: Zone,
        open: Time,
        close: Time,
        country: &str,
        years: std::ops::RangeInclusive<i32>,
    ) -> BusinessCalendar {
        let day = vec![(open, close)];
        BusinessCalendar {
            zone,
            week: [
                day.clone(),
                day.clone(),
                day.clone(),
                day.clone(),
                day,
                Vec::new(),
                Vec::new(),
            ],
            closed: years
                .flat_map(|y| public_holidays(country, y).into_iter().map(|(d, _)| d))
                .collect(),
        }
    }

    /// The open intervals (UTC) of one local date.
    pub fn open_on(&self, date: Date) -> Vec<(OffsetDateTime, OffsetDateTime)> {
        if self.closed.contains(&date) {
            return Vec::new();
        }
        self.week[date.weekday().number_days_from_monday() as usize]
            .iter()
            .filter(|(o, c)| o < c)
            .map(|(o, c)| {
                (
                    self.zone.instant(date.with_time(*o)),
                    self.zone.instant(date.with_time(*c)),
                )
            })
            .collect()
    }

    /// Business time between `from` and `to`, not counting `pauses`.
    pub fn business_time(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
        pauses: &[(OffsetDateTime, OffsetDateTime)],
    ) -> Duration {
        if to <= from {
            return Duration::ZERO;
        }
        let mut total = Duration::ZERO;
        let mut date = self.zone.local(from).date() - Duration::days(1);
        let last = self.zone.local(to).date() + Duration::days(1);
        while date <= last {
            for (o, c) in self.open_on(date) {
                let (s, e) = (o.max(from), c.min(to));
                if s < e {
                    total += e - s - overlap(s, e, pauses);
                }
            }
            date += Duration::days(1);
        }
        total
    }

    /// The instant at which `amount` of business time, counted from `from` and skipping
    /// `pauses`, has run out. `None` if the calendar has no open time within ten years.
    pub fn deadline(
        &self,
        from: OffsetDateTime,
        amount: Duration,
        pauses: &[(OffsetDateTime, OffsetDateTime)],
    ) -> Option<OffsetDateTime> {
        let mut left = amount;
        let mut date = self.zone.local(from).date();
        let stop = date + Duration::days(3660);
        if left <= Duration::ZERO {
            return Some(from);
        }
        while date <= stop {
            for (o, c) in self.open_on(date) {
                // Walk the open interval piece by piece between pauses.
                let mut s = o.max(from);
                while s < c {
                    let next_pause = pauses
                        .iter()
                        .filter(|(ps, pe)| *pe > s && *ps < c)
                        .min_by_key(|(ps, _)| *ps);
                    let (run_end, resume) = match next_pause {
                        Some((ps, pe)) if *ps <= s => (s, (*pe).min(c)),
                        Some((ps, pe)) => (*ps, (*pe).min(c)),
                        None => (c, c),
                    };
                    let run = run_end - s;
                    if run >= left {
                        return Some(s + left);
                    }
                    left -= run;
                    s = resume.max(run_end);
                }
            }
            date += Duration::days(1);
        }
        None
    }
}

fn overlap(
    s: OffsetDateTime,
    e: OffsetDateTime,
    pauses: &[(OffsetDateTime, OffsetDateTime)],
) -> Duration {
    // Pauses may overlap one another; merge them within [s, e) first.
    let mut ps: Vec<(OffsetDateTime, OffsetDateTime)> = pauses
        .iter()
        .map(|(a, b)| ((*a).max(s), (*b).min(e)))
        .filter(|(a, b)| a < b)
        .collect();
    ps.sort();
    let mut total = Duration::ZERO;
    let mut cur: Option<(OffsetDateTime, OffsetDateTime)> = None;
    for (a, b) in ps {
        cur = match cur {
            Some((ca, cb)) if a <= cb => Some((ca, cb.max(b))),
            Some((ca, cb)) => {
                total += cb - ca;
                Some((a, b))
            }
            None => Some((a, b)),
        };
    }
    if let Some((ca, cb)) = cur {
        total += cb - ca;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime, time};

    fn oslo() -> Zone {
        Zone::parse("tz", "Europe/Oslo").unwrap()
    }

    #[test]
    fn easter_and_movable_holidays() {
        assert_eq!(easter_sunday(2024), date!(2024 - 03 - 31));
        assert_eq!(easter_sunday(2025), date!(2025 - 04 - 20));
        assert_eq!(easter_sunday(2026), date!(2026 - 04 - 05));
        assert_eq!(easter_sunday(2027), date!(2027 - 03 - 28));
        let no: Vec<Date> = public_holidays("NO", 2026)
            .into_iter()
            .map(|h| h.0)
            .collect();
        for d in [
            date!(2026 - 04 - 02),
            date!(2026 - 04 - 03),
            date!(2026 - 04 - 06),
            date!(2026 - 05 - 14),
            date!(2026 - 05 - 25),
            date!(2026 - 05 - 17),
        ] {
            assert!(no.contains(&d), "{d}");
        }
        let pt: Vec<Date> = public_holidays("PT", 2026)
            .into_iter()
            .map(|h| h.0)
            .collect();
        assert!(
            pt.contains(&date!(2026 - 06 - 04)),
            "Corpo de Deus = Easter + 60"
        );
        assert!(pt.contains(&date!(2026 - 04 - 25)) && !pt.contains(&date!(2026 - 04 - 06)));
        assert_eq!(public_holidays("NO", 2026).len(), 12);
        assert_eq!(public_holidays("PT", 2026).len(), 13);
    }

    #[test]
    fn summer_time_follows_the_eu_rule() {
        let z = oslo();
        assert_eq!(
            z.offset_at(datetime!(2026-03-29 00:59 UTC)).whole_hours(),
            1
        );
        assert_eq!(
            z.offset_at(datetime!(2026-03-29 01:00 UTC)).whole_hours(),
            2
        );
        assert_eq!(
            z.offset_at(datetime!(2026-10-25 00:59 UTC)).whole_hours(),
            2
        );
        assert_eq!(
            z.offset_at(datetime!(2026-10-25 01:00 UTC)).whole_hours(),
            1
        );
        let lisbon = Zone::parse("tz", "Europe/Lisbon").unwrap();
        assert_eq!(
            lisbon
                .offset_at(datetime!(2026-07-01 12:00 UTC))
                .whole_hours(),
            1
        );
        assert_eq!(
            lisbon
                .offset_at(datetime!(2026-01-01 12:00 UTC))
                .whole_hours(),
            0
        );
        assert_eq!(
            z.instant(datetime!(2026-07-01 08:00)),
            datetime!(2026-07-01 06:00 UTC)
        );
        assert_eq!(
            z.instant(datetime!(2026-01-05 08:00)),
            datetime!(2026-01-05 07:00 UTC)
        );
        assert!(Zone::parse("tz", "Mars/Olympus").is_err());
    }

    #[test]
    fn sla_time_skips_nights_weekends_and_a_norwegian_holiday() {
        // Trondheim: Mon–Fri 08:00–16:00. Wednesday 13 May 2026, 15:00; Thursday 14 May is
        // Ascension Day. Eight business hours: 1 h on Wednesday, none on Thursday, 7 h on Friday
        // (08:00–15:00).
        let cal = BusinessCalendar::weekdays(oslo(), time!(08:00), time!(16:00), "NO", 2026..=2027);
        let start = oslo().instant(datetime!(2026-05-13 15:00));
        let due = cal.deadline(start, Duration::hours(8), &[]).unwrap();
        assert_eq!(oslo().local(due), datetime!(2026-05-15 15:00 +02:00));
        assert_eq!(cal.business_time(start, due, &[]), Duration::hours(8));
        // Friday 15:00 plus two hours: one on Friday, the weekend (17 May is a Sunday anyway)
        // skipped, one on Monday: 09:00.
        let due2 = cal.deadline(due, Duration::hours(2), &[]).unwrap();
        assert_eq!(oslo().local(due2), datetime!(2026-05-18 09:00 +02:00));
        // Whit Monday 25 May 2026 is closed: Friday 22 May 15:00 + 2 h → Tuesday 26 May 09:00.
        let fri = oslo().instant(datetime!(2026-05-22 15:00));
        assert_eq!(
            oslo().local(cal.deadline(fri, Duration::hours(2), &[]).unwrap()),
            datetime!(2026-05-26 09:00 +02:00)
        );
        // Outside hours the clock waits for opening.
        let night = oslo().instant(datetime!(2026-05-19 22:30));
        assert_eq!(
            oslo().local(cal.deadline(night, Duration::minutes(30), &[]).unwrap()),
            datetime!(2026-05-20 08:30 +02:00)
        );
    }

    #[test]
    fn pauses_stop_the_clock() {
        let cal = BusinessCalendar::weekdays(oslo(), time!(08:00), time!(16:00), "NO", 2026..=2026);
        let start = oslo().instant(datetime!(2026-06-01 09:00));
        // Waiting for the customer from 10:00 to 14:00: a 4-hour SLA ends at 17:00 → next day 09:00.
        let pause = (
            oslo().instant(datetime!(2026-06-01 10:00)),
            oslo().instant(datetime!(2026-06-01 14:00)),
        );
        let due = cal.deadline(start, Duration::hours(4), &[pause]).unwrap();
        assert_eq!(oslo().local(due), datetime!(2026-06-02 09:00 +02:00));
        assert_eq!(cal.business_time(start, due, &[pause]), Duration::hours(4));
        // Overlapping and open-ended pauses are merged.
        let p2 = (
            oslo().instant(datetime!(2026-06-01 12:00)),
            oslo().instant(datetime!(2026-06-01 15:00)),
        );
        assert_eq!(
            cal.business_time(
                start,
                oslo().instant(datetime!(2026-06-01 16:00)),
                &[pause, p2]
            ),
            Duration::hours(2)
        );
        // A pause at the very start.
        let p0 = (start, oslo().instant(datetime!(2026-06-01 11:00)));
        assert_eq!(
            oslo().local(cal.deadline(start, Duration::hours(1), &[p0]).unwrap()),
            datetime!(2026-06-01 12:00 +02:00)
        );
    }

    #[test]
    fn portuguese_calendar_in_lisbon_time() {
        let lisbon = Zone::parse("tz", "Europe/Lisbon").unwrap();
        let cal = BusinessCalendar::weekdays(lisbon, time!(09:00), time!(18:00), "PT", 2026..=2026);
        // Wednesday 3 June 2026 17:00, Corpo de Deus on Thursday 4 June: 3 h run to Friday 11:00.
        let start = lisbon.instant(datetime!(2026-06-03 17:00));
        assert_eq!(
            lisbon.local(cal.deadline(start, Duration::hours(3), &[]).unwrap()),
            datetime!(2026-06-05 11:00 +01:00)
        );
    }
}
