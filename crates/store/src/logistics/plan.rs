//! The day: load a service point's jobs, drivers and wash bays into `domain::logistics::Day`, solve
//! on a blocking thread with no connection or transaction held, and save only over the version the
//! plan was made from (a change in between makes the next attempt start from the fresh day).

use std::collections::HashMap;

use aftersales_domain::logistics::{
    fits, plan as solve_day, Day, DayDriver, DayJob, DriveTable, JobKind, JobStatus, Place,
    TravelModel, WashBay as DayBay,
};
use aftersales_domain::org::Permission;
use time::{Date, OffsetDateTime};

use super::setup::parse_hm;
use super::*;
use crate::micros;

/// How long the planner may search.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub time: std::time::Duration,
    pub seed: u64,
    /// Change as little as possible: from a saved plan, only place what changed (one insertion pass, no
    /// search); without a saved plan the search runs as usual.
    pub minimal: bool,
}

/// A day as the planner needs it, with the rows behind each index.
struct Loaded {
    day: Day,
    version: i64,
    jobs: Vec<TransportJob>,
    drivers: Vec<String>,
    bays: Vec<String>,
    midnight: OffsetDateTime,
    warm: Vec<(usize, Vec<usize>)>,
    /// Where the driving times came from: `model`, `routing`, or `fallback` (the routing service failed).
    travel: &'static str,
}

fn secs(midnight: OffsetDateTime, t: OffsetDateTime) -> f64 {
    (t - midnight).as_seconds_f64()
}

fn at(midnight: OffsetDateTime, s: f64) -> OffsetDateTime {
    midnight + time::Duration::seconds_f64(s)
}

/// A reason's code with the key of its sentence (`lg-why-<code>`), for a form's error.
fn why_key(w: aftersales_domain::logistics::Why) -> (&'static str, &'static str) {
    use aftersales_domain::logistics::{Reason, Why};
    match w {
        Why::NoPlace => ("no-place", "lg-why-no-place"),
        Why::Held => ("held", "lg-why-held"),
        Why::DriverOff => ("driver-off", "lg-why-driver-off"),
        Why::LoanerRange => ("loaner-range", "lg-why-loaner-range"),
        Why::Cleaning => ("cleaning", "lg-why-cleaning"),
        Why::NotReady => ("not-ready", "lg-why-not-ready"),
        Why::NoEta => ("no-eta", "lg-why-no-eta"),
        Why::TooFar => ("too-far", "lg-why-too-far"),
        Why::Planner(Reason::Skill) => ("skill", "lg-why-skill"),
        Why::Planner(Reason::Capacity) => ("capacity", "lg-why-capacity"),
        Why::Planner(Reason::TimeWindow) => ("time-window", "lg-why-time-window"),
        Why::Planner(Reason::Shift) => ("shift", "lg-why-shift"),
        Why::Planner(Reason::Break) => ("break", "lg-why-break"),
        Why::Planner(Reason::Pairing) => ("pairing", "lg-why-pairing"),
    }
}

fn no_depot() -> StoreError {
    StoreError::Invalid(aftersales_domain::ValidationErrors::single(
        "settings",
        aftersales_domain::Rule::Required,
        "the service point has no depot on the map yet: set it in the logistics set-up",
    ))
}

impl Logistics<'_> {
    async fn load(self, org: &str, date: Date, now: OffsetDateTime) -> Result<Loaded, StoreError> {
        let settings = self.settings_of(org).await?.ok_or_else(no_depot)?;
        let zone = self.store.org().zone_of(org).await?;
        let midnight = zone.instant(date.midnight());
        let day_s = date.to_string();
        let version: i64 = sqlx::query_scalar(
            "SELECT version FROM logistics_days WHERE organisation_id = $1 AND day = $2",
        )
        .bind(org)
        .bind(&day_s)
        .fetch_optional(&self.store.pool)
        .await?
        .unwrap_or(0);
        let rows = self
            .jobs_where(
                "j.organisation_id = $1 AND j.day = $2 AND j.status NOT IN ('cancelled', 'done')",
                &[org, &day_s],
            )
            .await?;
        let ranges: HashMap<String, (i64, bool)> = sqlx::query_as::<_, (String, i64, i64)>(
            "SELECT id, range_km, out_of_service FROM loaners WHERE organisation_id = $1",
        )
        .bind(org)
        .fetch_all(&self.store.pool)
        .await?
        .into_iter()
        .map(|(id, r, out)| (id, (r, out != 0)))
        .collect();
        // Drivers on shift that day and not absent, from now on when the day is today.
        let weekday = date.weekday().number_days_from_monday();
        let now_s = secs(midnight, now);
        let mut drivers = Vec::new();
        let mut shifts = Vec::new();
        for s in self.driver_shifts_of(org).await? {
            if s.weekday != weekday {
                continue;
            }
            let (Ok(a), Ok(b)) = (parse_hm("starts", &s.starts), parse_hm("ends", &s.ends)) else {
                continue;
            };
            let start = secs(midnight, zone.instant(date.with_time(a))).max(now_s);
            let end = secs(midnight, zone.instant(date.with_time(b)));
            let absent: Option<i64> = sqlx::query_scalar(
                "SELECT 1 FROM technician_absences WHERE user_id = $1 AND starts_at < $3 AND ends_at > $2",
            )
            .bind(&s.driver.id)
            .bind(micros(at(midnight, start)))
            .bind(micros(at(midnight, end)))
            .fetch_optional(&self.store.pool)
            .await?;
            if start < end && absent.is_none() {
                drivers.push(s.driver.id);
                shifts.push(DayDriver {
                    shift: (start, end),
                });
            }
        }
        let index = |id: &str| {
            drivers
                .iter()
                .position(|d| d == id)
                .unwrap_or(drivers.len())
        };
        let jobs: Vec<DayJob> = rows
            .iter()
            .map(|r| {
                let j = &r.job;
                let started = j.status.started();
                DayJob {
                    kind: j.kind,
                    place: j
                        .latitude
                        .zip(j.longitude)
                        .map(|(lat, lon)| Place { lat, lon }),
                    window: (secs(midnight, j.window_from), secs(midnight, j.window_to)),
                    loaner_km: j.loaner.as_ref().map(|l| match ranges.get(&l.id) {
                        Some((km, false)) => *km as f64,
                        _ => 0.0,
                    }),
                    ready: (j.kind == JobKind::Delivery && !r.ro_ready)
                        .then(|| j.ready_at.map(|t| secs(midnight, t)))
                        .flatten(),
                    ready_unknown: j.kind == JobKind::Delivery
                        && !r.ro_ready
                        && j.ready_at.is_none(),
                    clean: j.clean,
                    lock_driver: if started {
                        j.driver.as_ref().map(|d| index(&d.id))
                    } else {
                        j.lock_driver.as_ref().map(|d| index(&d.id))
                    },
                    lock_at: j.lock_at.map(|t| secs(midnight, t)),
                    held: j.held,
                    started,
                }
            })
            .collect();
        let bays = self.wash_bays_of(org).await?;
        let day_bays = bays
            .iter()
            .filter_map(|b| {
                let a = parse_hm("opens", &b.opens).ok()?;
                let c = parse_hm("closes", &b.closes).ok()?;
                Some(DayBay {
                    secs_per_car: b.minutes_per_car as f64 * 60.0,
                    open: secs(midnight, zone.instant(date.with_time(a))),
                    close: secs(midnight, zone.instant(date.with_time(c))),
                })
            })
            .collect();
        let job_ids: Vec<TransportJob> = rows.into_iter().map(|r| r.job).collect();
        let entries: Vec<(String, Option<String>)> = sqlx::query_as(
            "SELECT job_id, driver_id FROM plan_entries WHERE organisation_id = $1 AND day = $2 AND driver_id IS NOT NULL ORDER BY seq",
        )
        .bind(org)
        .bind(&day_s)
        .fetch_all(&self.store.pool)
        .await?;
        let mut warm: Vec<(usize, Vec<usize>)> = Vec::new();
        for (job, driver) in entries {
            let (Some(j), Some(d)) = (
                job_ids.iter().position(|x| x.id == job),
                driver.and_then(|d| drivers.iter().position(|x| *x == d)),
            ) else {
                continue;
            };
            match warm.iter_mut().find(|w| w.0 == d) {
                Some(w) => w.1.push(j),
                None => warm.push((d, vec![j])),
            }
        }
        // Driving from the routing service, when one is configured; if it fails, the built-in model.
        let table = match &self.store.routing {
            Some(r) => {
                let mut places = vec![Place {
                    lat: settings.latitude,
                    lon: settings.longitude,
                }];
                for j in &jobs {
                    if let Some(p) = j.place {
                        if !places.contains(&p) {
                            places.push(p);
                        }
                    }
                }
                match r.table(&places).await {
                    Ok((secs, km)) => Some(DriveTable { places, secs, km }),
                    Err(e) => {
                        tracing::warn!(error = %e, org, "routing service failed; the built-in travel model plans this day");
                        None
                    }
                }
            }
            None => None,
        };
        let source = match (&self.store.routing, &table) {
            (None, _) => "model",
            (Some(_), Some(_)) => "routing",
            (Some(_), None) => "fallback",
        };
        let mut travel = TravelModel::city();
        travel.road_factor = settings.road_factor_pct as f64 / 100.0;
        travel.unassisted_kmh = settings.unassisted_kmh as f64;
        travel.unassisted_max_km = settings.unassisted_max_km as f64;
        Ok(Loaded {
            travel: source,
            day: Day {
                depot: Place {
                    lat: settings.latitude,
                    lon: settings.longitude,
                },
                travel,
                table,
                handover: settings.handover_minutes as f64 * 60.0,
                jobs,
                drivers: shifts,
                bays: day_bays,
            },
            version,
            jobs: job_ids,
            drivers,
            bays: bays.into_iter().map(|b| b.id).collect(),
            midnight,
            warm,
        })
    }

    /// Plans the day again from its saved plan (warm start: what still fits stays), within the
    /// budget, and saves it. Changes made meanwhile are never overwritten: the save checks the
    /// version, and a stale plan is made again from the fresh day.
    pub async fn replan(
        self,
        scope: &Scope,
        org: &str,
        date: Date,
        budget: Budget,
        now: OffsetDateTime,
    ) -> Result<DayPlan, StoreError> {
        scope.require(org, Permission::LogisticsPlan)?;
        self.solve_and_save(org, date, budget, scope.user_id(), now)
            .await?;
        self.day_plan(scope, org, date).await
    }

    /// After a repair order's ready time or status changed: every day with a saved plan where one
    /// of its jobs is still to be driven is planned again from that plan (changing as little as it
    /// can), so the board and the run sheets follow the workshop without anyone pressing a button.
    /// The change itself is already saved; a failure here is logged and the day shows as changed.
    pub(crate) async fn follow_repair_order(
        self,
        repair_order_id: &str,
        actor: &str,
        now: OffsetDateTime,
    ) {
        let days: Result<Vec<(String, String)>, sqlx::Error> = sqlx::query_as(
            "SELECT DISTINCT j.organisation_id, j.day FROM transport_jobs j JOIN logistics_days d \
             ON d.organisation_id = j.organisation_id AND d.day = j.day \
             WHERE j.repair_order_id = $1 AND j.status NOT IN ('done', 'cancelled') AND d.planned_version IS NOT NULL",
        )
        .bind(repair_order_id)
        .fetch_all(&self.store.pool)
        .await;
        let days = match days {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, repair_order_id, "the days to plan again could not be read");
                return;
            }
        };
        for (org, day) in days {
            let Ok(date) = Date::parse(&day, &time::format_description::well_known::Iso8601::DATE)
            else {
                continue;
            };
            // A day gone by keeps the plan it was driven from.
            match self.store.org().zone_of(&org).await {
                Ok(zone) if date >= zone.local(now).date() => {}
                Ok(_) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, org, "the service point's time zone could not be read");
                    continue;
                }
            }
            let budget = Budget {
                time: std::time::Duration::from_secs(1),
                seed: 0,
                minimal: true,
            };
            if let Err(e) = self.solve_and_save(&org, date, budget, actor, now).await {
                tracing::warn!(error = %e, org, day, "the day could not be planned again after the workshop moved");
            }
        }
    }

    async fn solve_and_save(
        self,
        org: &str,
        date: Date,
        budget: Budget,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut current = 0;
        for _ in 0..3 {
            let loaded = self.load(org, date, now).await?;
            current = loaded.version;
            let day = loaded.day.clone();
            let warm = loaded.warm.clone();
            let minimal = budget.minimal && !warm.is_empty();
            let b = aftersales_domain::logistics::Budget {
                time: (!minimal).then_some(budget.time),
                iterations: minimal.then_some(1),
                seed: budget.seed,
            };
            let planned = tokio::task::spawn_blocking(move || solve_day(&day, &b, &warm))
                .await
                .map_err(|e| StoreError::Internal(format!("the planner stopped: {e}")))?
                .map_err(|e| StoreError::Internal(e.to_string()))?;
            if self.save(org, date, &loaded, &planned, actor, now).await? {
                return Ok(());
            }
        }
        Err(StoreError::Conflict { current })
    }

    /// Writes a plan if the day is still at the version it was made from; false when it is not.
    async fn save(
        self,
        org: &str,
        date: Date,
        l: &Loaded,
        p: &aftersales_domain::logistics::DayPlan,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let day = date.to_string();
        let mut tx = self.store.begin().await?;
        let claimed = if l.version == 0 {
            sqlx::query(
                "INSERT INTO logistics_days (organisation_id, day, version, planned_version, planned_at, planned_by, travel) \
                 VALUES ($1, $2, 0, 0, $3, $4, $5) ON CONFLICT (organisation_id, day) DO NOTHING",
            )
            .bind(org)
            .bind(&day)
            .bind(micros(now))
            .bind(actor)
            .bind(l.travel)
            .execute(&mut *tx)
            .await?
        } else {
            sqlx::query(
                "UPDATE logistics_days SET planned_version = version, planned_at = $3, planned_by = $4, travel = $6 \
                 WHERE organisation_id = $1 AND day = $2 AND version = $5",
            )
            .bind(org)
            .bind(&day)
            .bind(micros(now))
            .bind(actor)
            .bind(l.version)
            .bind(l.travel)
            .execute(&mut *tx)
            .await?
        };
        if claimed.rows_affected() == 0 {
            return Ok(false);
        }
        // Jobs done keep the entry they were worked from.
        sqlx::query(
            "DELETE FROM plan_entries WHERE organisation_id = $1 AND day = $2 \
             AND job_id NOT IN (SELECT id FROM transport_jobs WHERE status = 'done')",
        )
        .bind(org)
        .bind(&day)
        .execute(&mut *tx)
        .await?;
        let insert = "INSERT INTO plan_entries (job_id, organisation_id, day, driver_id, seq, starts_at, at_customer, ends_at, \
             drive_m, unassisted_m, wash_bay_id, wash_from, wash_to, reason) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";
        let wash = |j: usize| p.washes.get(j).copied().flatten();
        for r in &p.routes {
            for (seq, e) in r.jobs.iter().enumerate() {
                let w = wash(e.job);
                sqlx::query(insert)
                    .bind(&l.jobs[e.job].id)
                    .bind(org)
                    .bind(&day)
                    .bind(&l.drivers[r.driver])
                    .bind(seq as i64)
                    .bind(micros(at(l.midnight, e.start)))
                    .bind(micros(at(l.midnight, e.at_customer)))
                    .bind(micros(at(l.midnight, e.end)))
                    .bind((e.drive_km * 1000.0).round() as i64)
                    .bind((e.unassisted_km * 1000.0).round() as i64)
                    .bind(w.map(|w| l.bays[w.bay].clone()))
                    .bind(w.map(|w| micros(at(l.midnight, w.start))))
                    .bind(w.map(|w| micros(at(l.midnight, w.end))))
                    .bind(None::<String>)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        for (j, why) in &p.unassigned {
            sqlx::query(insert)
                .bind(&l.jobs[*j].id)
                .bind(org)
                .bind(&day)
                .bind(None::<String>)
                .bind(None::<i64>)
                .bind(None::<i64>)
                .bind(None::<i64>)
                .bind(None::<i64>)
                .bind(None::<i64>)
                .bind(None::<i64>)
                .bind(None::<String>)
                .bind(None::<i64>)
                .bind(None::<i64>)
                .bind(why.as_str())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// A service point's day as saved: each driver's run, the jobs the plan leaves out with the
    /// reason, and the jobs added or changed since (a re-plan places them).
    pub async fn day_plan(
        self,
        scope: &Scope,
        org: &str,
        date: Date,
    ) -> Result<DayPlan, StoreError> {
        scope.require(org, Permission::LogisticsRead)?;
        let day = date.to_string();
        let zone = self.store.org().zone_of(org).await?;
        type Head = (i64, Option<i64>, Option<i64>, Option<String>);
        let head: Option<Head> = sqlx::query_as(
            "SELECT version, planned_version, planned_at, travel FROM logistics_days WHERE organisation_id = $1 AND day = $2",
        )
        .bind(org)
        .bind(&day)
        .fetch_optional(&self.store.pool)
        .await?;
        let jobs: Vec<TransportJob> = self
            .jobs_where(
                "j.organisation_id = $1 AND j.day = $2 AND j.status <> 'cancelled'",
                &[org, &day],
            )
            .await?
            .into_iter()
            .map(|r| r.job)
            .collect();
        type EntryRow = (
            String,
            Option<String>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<String>,
            Option<String>,
            Option<i64>,
            Option<i64>,
            Option<String>,
        );
        let entries: Vec<EntryRow> = sqlx::query_as(
            "SELECT e.job_id, e.driver_id, e.seq, e.starts_at, e.at_customer, e.ends_at, e.drive_m, e.unassisted_m, \
             e.wash_bay_id, w.name, e.wash_from, e.wash_to, e.reason FROM plan_entries e \
             LEFT JOIN wash_bays w ON w.id = e.wash_bay_id WHERE e.organisation_id = $1 AND e.day = $2 ORDER BY e.seq",
        )
        .bind(org)
        .bind(&day)
        .fetch_all(&self.store.pool)
        .await?;
        let names: HashMap<String, String> = self
            .drivers(scope, org)
            .await?
            .into_iter()
            .map(|d| (d.id, d.label))
            .collect();
        let weekday = date.weekday().number_days_from_monday();
        let mut runs: Vec<DriverRun> = Vec::new();
        for s in self.driver_shifts_of(org).await? {
            if s.weekday != weekday {
                continue;
            }
            let (Ok(a), Ok(b)) = (parse_hm("starts", &s.starts), parse_hm("ends", &s.ends)) else {
                continue;
            };
            runs.push(DriverRun {
                driver: s.driver,
                shift_from: Some(zone.instant(date.with_time(a))),
                shift_to: Some(zone.instant(date.with_time(b))),
                entries: Vec::new(),
            });
        }
        let mut unplanned = Vec::new();
        let mut placed = std::collections::HashSet::new();
        for e in entries {
            let Some(job) = jobs.iter().find(|j| j.id == e.0) else {
                continue;
            };
            placed.insert(job.id.clone());
            match (e.1, e.3, e.4, e.5) {
                (Some(driver), Some(s), Some(c), Some(t)) => {
                    let entry = PlanEntry {
                        job: job.clone(),
                        starts_at: from_micros(s),
                        at_customer: from_micros(c),
                        ends_at: from_micros(t),
                        drive_km: e.6.unwrap_or(0) as f64 / 1000.0,
                        unassisted_km: e.7.unwrap_or(0) as f64 / 1000.0,
                        wash: match (e.8, e.10, e.11) {
                            (Some(id), Some(a), Some(b)) => Some(PlannedWash {
                                bay: Ref {
                                    id,
                                    label: e.9.unwrap_or_default(),
                                },
                                from: from_micros(a),
                                to: from_micros(b),
                            }),
                            _ => None,
                        },
                    };
                    match runs.iter_mut().find(|r| r.driver.id == driver) {
                        Some(r) => r.entries.push(entry),
                        None => runs.push(DriverRun {
                            driver: Ref {
                                label: names.get(&driver).cloned().unwrap_or_default(),
                                id: driver,
                            },
                            shift_from: None,
                            shift_to: None,
                            entries: vec![entry],
                        }),
                    }
                }
                _ => unplanned.push(UnplannedJob {
                    job: job.clone(),
                    reason: e.12.unwrap_or_else(|| "time-window".into()),
                }),
            }
        }
        for r in &mut runs {
            r.entries.sort_by_key(|e| e.starts_at);
        }
        let pending = jobs
            .iter()
            .filter(|j| !placed.contains(&j.id) && j.status != JobStatus::Done)
            .cloned()
            .collect();
        let short: i64 = sqlx::query_scalar(
            "SELECT COUNT(DISTINCT l.id) FROM transport_jobs j JOIN loaners l ON l.id = j.loaner_id \
             WHERE j.organisation_id = $1 AND j.day = $2 AND j.status NOT IN ('cancelled', 'done') AND l.out_of_service = 1",
        )
        .bind(org)
        .bind(&day)
        .fetch_one(&self.store.pool)
        .await?;
        Ok(DayPlan {
            organisation_id: org.to_string(),
            day,
            version: head.as_ref().map_or(0, |h| h.0),
            planned_version: head.as_ref().and_then(|h| h.1),
            planned_at: head.as_ref().and_then(|h| h.2).map(from_micros),
            travel: head.as_ref().and_then(|h| h.3.clone()),
            runs,
            unplanned,
            pending,
            loaners_short: short,
        })
    }

    /// The first later day with jobs at a service point (for a board whose day is empty).
    pub async fn next_day_with_jobs(
        self,
        scope: &Scope,
        org: &str,
        after: Date,
    ) -> Result<Option<String>, StoreError> {
        scope.require(org, Permission::LogisticsRead)?;
        Ok(sqlx::query_scalar(
            "SELECT MIN(day) FROM transport_jobs WHERE organisation_id = $1 AND day > $2 AND status <> 'cancelled'",
        )
        .bind(org)
        .bind(after.to_string())
        .fetch_one(&self.store.pool)
        .await?)
    }

    /// The first later day the caller drives on a saved plan.
    pub async fn my_next_day(
        self,
        scope: &Scope,
        after: Date,
    ) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT MIN(day) FROM plan_entries WHERE driver_id = $1 AND day > $2",
        )
        .bind(scope.user_id())
        .bind(after.to_string())
        .fetch_one(&self.store.pool)
        .await?)
    }

    /// Why a pickup at `place` in `window` cannot be served by the day's plan (code, reason's text
    /// key), or `None` when it can (or the place is unknown: then it is taken and flagged).
    pub(crate) async fn pickup_blocked(
        self,
        org: &str,
        window: (OffsetDateTime, OffsetDateTime),
        place: Option<Place>,
        now: OffsetDateTime,
    ) -> Result<Option<(&'static str, &'static str)>, StoreError> {
        if self.settings_of(org).await?.is_none() {
            return Ok(Some(("no-pickup", "book-no-pickup")));
        }
        if window.0 < now {
            return Ok(Some(("too-soon", "book-pickup-too-soon")));
        }
        let Some(place) = place else {
            return Ok(None);
        };
        let zone = self.store.org().zone_of(org).await?;
        let date = zone.local(window.0).date();
        let loaded = self.load(org, date, now).await?;
        let midnight = loaded.midnight;
        let mut day = loaded.day;
        day.jobs.push(DayJob::new(
            JobKind::Pickup,
            Some(place),
            (secs(midnight, window.0), secs(midnight, window.1)),
        ));
        let j = day.jobs.len() - 1;
        let warm = loaded.warm;
        let why = tokio::task::spawn_blocking(move || fits(&day, &warm, j).err())
            .await
            .map_err(|e| StoreError::Internal(format!("the planner stopped: {e}")))?;
        Ok(why.map(why_key))
    }

    /// The caller's own run sheets on a day (a driver may drive for more than one service point).
    pub async fn my_runs(self, scope: &Scope, date: Date) -> Result<Vec<DriverRun>, StoreError> {
        let mut out = Vec::new();
        for org in scope.orgs_with(Permission::LogisticsDrive) {
            let plan = self.day_plan(scope, &org, date).await?;
            out.extend(
                plan.runs
                    .into_iter()
                    .filter(|r| r.driver.id == scope.user_id()),
            );
        }
        Ok(out)
    }

    /// The windows of a day a repair order's pickup or delivery could be given, each tested against
    /// the saved plan by one insertion (2-hour windows on the hour from 07:00 to 18:00, those not
    /// yet over).
    pub async fn offers(
        self,
        scope: &Scope,
        repair_order_id: &str,
        kind: JobKind,
        date: Date,
        loaner: bool,
        now: OffsetDateTime,
    ) -> Result<Vec<WindowOffer>, StoreError> {
        type Facts = (String, Option<i64>, Option<i64>, Option<i64>, String);
        let facts: Option<Facts> = sqlx::query_as(
            "SELECT r.organisation_id, c.latitude_e6, c.longitude_e6, r.eta, r.status FROM repair_orders r \
             JOIN customers c ON c.id = r.customer_id WHERE r.id = $1",
        )
        .bind(repair_order_id)
        .fetch_optional(&self.store.pool)
        .await?;
        let Some((org, lat, lon, eta, ro_status)) = facts else {
            return Err(StoreError::NotFound);
        };
        if !scope.permits(&org, Permission::CrmRead) {
            return Err(StoreError::NotFound);
        }
        scope.require(&org, Permission::LogisticsPlan)?;
        let loaded = self.load(&org, date, now).await?;
        let range: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(range_km) FROM loaners WHERE organisation_id = $1 AND out_of_service = 0",
        )
        .bind(&org)
        .fetch_one(&self.store.pool)
        .await?;
        let place = lat.zip(lon).map(|(a, b)| Place::from_e6(a, b));
        let windows: Vec<(f64, f64)> = (7..=16)
            .map(|h| (f64::from(h) * 3600.0, f64::from(h + 2) * 3600.0))
            .collect();
        let midnight = loaded.midnight;
        let now_s = secs(midnight, now);
        // A delivery waits for the car: its expected ready time, unless it is ready already.
        let ro_ready = matches!(ro_status.as_str(), "ready" | "delivered" | "closed");
        let ready = (kind == JobKind::Delivery && !ro_ready)
            .then(|| eta.map(|e| secs(midnight, from_micros(e))))
            .flatten();
        let ready_unknown = kind == JobKind::Delivery && !ro_ready && eta.is_none();
        let warm = loaded.warm.clone();
        let day = loaded.day;
        let verdicts = tokio::task::spawn_blocking(move || {
            windows
                .into_iter()
                .filter(|w| w.1 > now_s)
                .map(|w| {
                    let mut d = day.clone();
                    d.jobs.push(DayJob {
                        loaner_km: loaner.then(|| range.unwrap_or(0) as f64),
                        ready,
                        ready_unknown,
                        ..DayJob::new(kind, place, w)
                    });
                    let j = d.jobs.len() - 1;
                    (w, fits(&d, &warm, j).err())
                })
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| StoreError::Internal(format!("the planner stopped: {e}")))?;
        Ok(verdicts
            .into_iter()
            .map(|(w, why)| WindowOffer {
                from: at(midnight, w.0),
                to: at(midnight, w.1),
                blocked: why.map(|w| w.as_str().to_string()),
            })
            .collect())
    }
}
