//! Business calendars for SLA timers: opening hours per weekday in the service point's time zone,
//! the public holidays of Norway and Portugal (the movable ones from Easter), and business-time
//! arithmetic with pauses (while waiting for the customer the clock stops).
//!
//! Time zones: any IANA zone, from the time-zone database bundled with `jiff` (so a rule change is
//! a dependency update, not a code change). The rest of the product keeps `time`'s types; this
//! module converts at its edge.

use std::sync::OnceLock;

use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use crate::validation::{FieldError, Rule};

/// An IANA time zone (`Europe/Oslo`, `Atlantic/Azores`, `America/Sao_Paulo`, ...). Cheap to copy:
/// it names an entry of the bundled database, loaded once per process on first use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zone {
    pub name: &'static str,
}

/// The bundled database's zone names, sorted, each with its rules loaded on first use.
struct Entry {
    name: String,
    tz: OnceLock<jiff::tz::TimeZone>,
}

fn database() -> &'static [Entry] {
    static ZONES: OnceLock<Vec<Entry>> = OnceLock::new();
    ZONES.get_or_init(|| {
        let mut names: Vec<String> = jiff::tz::db().available().map(|n| n.to_string()).collect();
        names.sort();
        names.dedup();
        names
            .into_iter()
            .map(|name| Entry {
                name,
                tz: OnceLock::new(),
            })
            .collect()
    })
}

impl Zone {
    /// Norway's zone: the default where a market has none recorded.
    pub const OSLO: Zone = Zone {
        name: "Europe/Oslo",
    };
    /// Portugal's mainland zone.
    pub const LISBON: Zone = Zone {
        name: "Europe/Lisbon",
    };

    /// A zone by its IANA name, as the database spells it (`Europe/Lisbon`); case is forgiven.
    pub fn parse(field: &str, name: &str) -> Result<Zone, FieldError> {
        let zones = database();
        let found = zones
            .binary_search_by(|e| e.name.as_str().cmp(name))
            .ok()
            .or_else(|| zones.iter().position(|e| e.name.eq_ignore_ascii_case(name)));
        match found.and_then(|i| zones.get(i)) {
            Some(e) => Ok(Zone {
                name: e.name.as_str(),
            }),
            None => Err(FieldError::new(
                field,
                Rule::Unknown,
                format!(
                    "{field} must be an IANA time-zone name such as Europe/Oslo or Europe/Lisbon"
                ),
            )),
        }
    }

    /// Every zone the database knows, sorted by name.
    pub fn all() -> impl Iterator<Item = Zone> {
        database().iter().map(|e| Zone {
            name: e.name.as_str(),
        })
    }

    fn rules(self) -> jiff::tz::TimeZone {
        let zones = database();
        match zones.binary_search_by(|e| e.name.as_str().cmp(self.name)) {
            Ok(i) => zones[i]
                .tz
                .get_or_init(|| {
                    jiff::tz::TimeZone::get(self.name).unwrap_or(jiff::tz::TimeZone::UTC)
                })
                .clone(),
            // The constants above name zones the bundled database always has; anything else came
            // through `parse`. UTC is the answer that cannot move a clock by more than the offset.
            Err(_) => jiff::tz::TimeZone::get(self.name).unwrap_or(jiff::tz::TimeZone::UTC),
        }
    }

    /// The UTC offset in force at `at`.
    pub fn offset_at(self, at: OffsetDateTime) -> UtcOffset {
        let ts = jiff::Timestamp::from_second(at.unix_timestamp())
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let seconds = self.rules().to_offset(ts).seconds();
        UtcOffset::from_whole_seconds(seconds).unwrap_or(UtcOffset::UTC)
    }

    /// The instant of a local wall-clock time. In the autumn hour that happens twice the first is
    /// taken; a time skipped in spring is taken as the offset before the change would read it
    /// (jiff's "compatible" disambiguation, as RFC 5545 and Temporal do).
    pub fn instant(self, local: PrimitiveDateTime) -> OffsetDateTime {
        let civil = jiff::civil::DateTime::new(
            local.year() as i16,
            u8::from(local.month()) as i8,
            local.day() as i8,
            local.hour() as i8,
            local.minute() as i8,
            local.second() as i8,
            local.nanosecond() as i32,
        );
        let zoned = civil.ok().and_then(|dt| {
            self.rules()
                .to_ambiguous_zoned_datetime(dt)
                .compatible()
                .ok()
        });
        let instant = zoned.and_then(|z| {
            let offset = UtcOffset::from_whole_seconds(z.offset().seconds()).ok()?;
            OffsetDateTime::from_unix_timestamp_nanos(z.timestamp().as_nanosecond())
                .ok()
                .map(|at| at.to_offset(offset))
        });
        instant.unwrap_or_else(|| local.assume_offset(self.offset_at(local.assume_utc())))
    }

    pub fn local(self, at: OffsetDateTime) -> OffsetDateTime {
        at.to_offset(self.offset_at(at))
    }
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
    fn any_iana_zone_with_its_own_rules() {
        // Half-hour offsets and zones outside the EU rule come from the database, not from code.
        let kolkata = Zone::parse("tz", "Asia/Kolkata").unwrap();
        assert_eq!(
            kolkata.offset_at(datetime!(2026-07-01 12:00 UTC)),
            UtcOffset::from_hms(5, 30, 0).unwrap()
        );
        let sao_paulo = Zone::parse("tz", "america/sao_paulo").unwrap();
        assert_eq!(sao_paulo.name, "America/Sao_Paulo");
        assert_eq!(
            sao_paulo
                .offset_at(datetime!(2026-01-15 12:00 UTC))
                .whole_hours(),
            -3
        );
        // Azores: one hour behind Lisbon all year, summer time on the EU dates.
        let azores = Zone::parse("tz", "Atlantic/Azores").unwrap();
        assert_eq!(
            azores
                .offset_at(datetime!(2026-01-15 12:00 UTC))
                .whole_hours(),
            -1
        );
        assert_eq!(
            azores
                .offset_at(datetime!(2026-07-15 12:00 UTC))
                .whole_hours(),
            0
        );
        // Oslo's spring gap (02:00-03:00 on 29 March 2026) reads with the offset before the change;
        // the autumn hour that happens twice (02:00-03:00 on 25 October) takes the first.
        let z = oslo();
        assert_eq!(
            z.instant(datetime!(2026-03-29 02:30)),
            datetime!(2026-03-29 01:30 UTC)
        );
        assert_eq!(
            z.instant(datetime!(2026-10-25 02:30)),
            datetime!(2026-10-25 00:30 UTC)
        );
        assert!(Zone::all().count() > 300);
        assert!(Zone::all().any(|zone| zone == Zone::LISBON));
        let err = Zone::parse("time_zone", "CET+1").unwrap_err();
        assert_eq!(err.rule, Rule::Unknown);
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
