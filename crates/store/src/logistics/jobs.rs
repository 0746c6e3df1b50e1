//! The jobs: a pickup or delivery added to a repair order with the customer's window, locked or
//! held by an advisor, moved forward by the driver with the hand-over readings.

use aftersales_domain::logistics::{parse_place, JobKind, JobStatus};
use aftersales_domain::org::Permission;
use aftersales_domain::validation::{text, FieldError, Rule};
use aftersales_domain::ValidationErrors;
use time::{Duration, OffsetDateTime};

use super::*;
use crate::crm::opt;
use crate::notify::{enqueue, Notice};
use crate::workshop::parse_instant;
use crate::{from_micros, micros, new_id};
use aftersales_domain::notify::Event;

/// The window a customer is promised: from 30 minutes to 8 hours, within one local day, not over yet. Answers
/// the instants and the local day.
fn check_window(
    errs: &mut ValidationErrors,
    zone: aftersales_domain::calendar::Zone,
    from: &str,
    to: &str,
    now: OffsetDateTime,
) -> Option<(OffsetDateTime, OffsetDateTime, String)> {
    let from = errs.take(parse_instant("window_from", from));
    let to = errs.take(parse_instant("window_to", to));
    let (a, b) = (from?, to?);
    let rule = if b - a < MIN_WINDOW || b - a > MAX_WINDOW {
        "a window lasts from 30 minutes to 8 hours"
    } else if b <= now {
        "the window must end in the future"
    } else if zone.local(a).date() != zone.local(b).date() {
        "the window must lie within one day"
    } else {
        return Some((a, b, zone.local(a).date().to_string()));
    };
    errs.push(FieldError::new("window_to", Rule::NotAllowed, rule));
    None
}

/// A job as written, once validated.
pub(crate) struct NewJob<'a> {
    pub org: &'a str,
    pub repair_order: &'a str,
    pub kind: JobKind,
    pub day: &'a str,
    pub address: &'a str,
    pub coords: Option<(i64, i64)>,
    pub window: (OffsetDateTime, OffsetDateTime),
    pub loaner: Option<&'a str>,
    pub clean: bool,
    pub actor: Option<&'a str>,
}

/// A message to the customer about a job, with its window.
fn notice<'a>(
    event: Event,
    ro: &'a str,
    dedupe: String,
    window: (OffsetDateTime, OffsetDateTime),
    place: &str,
) -> Notice<'a> {
    Notice {
        event,
        ro: Some(ro),
        case_id: None,
        dedupe,
        extra: vec![("window_from", window.0), ("window_to", window.1)],
        place: Some(place.to_string()),
        message: None,
        calendar: None,
        delay: Duration::ZERO,
        item: None,
        due: None,
    }
}

/// Shortest and longest window a customer may be promised.
const MIN_WINDOW: Duration = Duration::minutes(30);
const MAX_WINDOW: Duration = Duration::hours(8);

type RoFacts = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<i64>,
);

impl Logistics<'_> {
    /// Adds a pickup or delivery to a repair order. The address is the customer's unless another is
    /// given; without coordinates it is kept and flagged on the board. A loaner promised to another
    /// customer whose car is not back is refused.
    pub async fn add_job(
        self,
        scope: &Scope,
        input: &TransportJobInput,
        now: OffsetDateTime,
    ) -> Result<TransportJob, StoreError> {
        let ro_id = input.repair_order_id.trim();
        let facts: Option<RoFacts> = sqlx::query_as(
            "SELECT r.organisation_id, r.status, c.street, c.postal_code, c.city, c.latitude_e6, c.longitude_e6 \
             FROM repair_orders r JOIN customers c ON c.id = r.customer_id WHERE r.id = $1",
        )
        .bind(ro_id)
        .fetch_optional(&self.store.pool)
        .await?;
        let Some((org, ro_status, street, postal, city, lat, lon)) = facts else {
            return Err(StoreError::NotFound);
        };
        if !scope.permits(&org, Permission::CrmRead) {
            return Err(StoreError::NotFound);
        }
        scope.require(&org, Permission::LogisticsPlan)?;
        let mut errs = ValidationErrors::default();
        if matches!(ro_status.as_str(), "delivered" | "closed" | "cancelled") {
            errs.push(
                FieldError::new(
                    "repair_order_id",
                    Rule::NotAllowed,
                    "the repair order is finished; its car needs no transport",
                )
                .hint("lg-err-finished"),
            );
        }
        let kind = errs.take(JobKind::parse("kind", &input.kind));
        let zone = self.store.org().zone_of(&org).await?;
        let window = check_window(&mut errs, zone, &input.window_from, &input.window_to, now);
        let typed_place = match (opt(&input.latitude), opt(&input.longitude)) {
            (Some(a), Some(b)) => errs.take(parse_place(a, b)),
            (None, None) => None,
            _ => {
                errs.push(FieldError::new(
                    "longitude",
                    Rule::Required,
                    "give both latitude and longitude, or neither",
                ));
                None
            }
        };
        let (address, coords) = match opt(&input.address) {
            Some(a) => (
                errs.take(text("address", a, 3, 300)),
                typed_place.map(|p| ((p.lat * 1e6).round() as i64, (p.lon * 1e6).round() as i64)),
            ),
            None => {
                let parts: Vec<String> = [street, postal, city].into_iter().flatten().collect();
                if parts.is_empty() {
                    errs.push(FieldError::new(
                        "address",
                        Rule::Required,
                        "the customer has no address on record; give the address",
                    ));
                }
                let coords = match typed_place {
                    Some(p) => Some(((p.lat * 1e6).round() as i64, (p.lon * 1e6).round() as i64)),
                    None => lat.zip(lon),
                };
                (Some(parts.join(", ")), coords)
            }
        };
        let loaner = match opt(&input.loaner_id) {
            Some(l) => {
                let row: Option<(i64,)> = sqlx::query_as(
                    "SELECT out_of_service FROM loaners WHERE id = $1 AND organisation_id = $2",
                )
                .bind(l)
                .bind(&org)
                .fetch_optional(&self.store.pool)
                .await?;
                let promised: Option<String> = sqlx::query_scalar(
                    "SELECT r.number FROM transport_jobs p JOIN repair_orders r ON r.id = p.repair_order_id \
                     WHERE p.loaner_id = $1 AND p.kind = 'pickup' AND p.repair_order_id <> $2 AND p.status <> 'cancelled' \
                     AND NOT EXISTS (SELECT 1 FROM transport_jobs d WHERE d.repair_order_id = p.repair_order_id \
                     AND d.kind = 'delivery' AND d.status IN ('done', 'cancelled'))",
                )
                .bind(l)
                .bind(ro_id)
                .fetch_optional(&self.store.pool)
                .await?;
                match (row, promised) {
                    (None, _) => {
                        errs.push(FieldError::new(
                            "loaner_id",
                            Rule::Unknown,
                            "loaner_id names no loaner of this service point",
                        ));
                        None
                    }
                    (Some((1,)), _) => {
                        errs.push(FieldError::new(
                            "loaner_id",
                            Rule::NotAllowed,
                            "the loaner is out of service",
                        ));
                        None
                    }
                    (_, Some(number)) if kind == Some(JobKind::Pickup) => {
                        errs.push(FieldError::new(
                            "loaner_id",
                            Rule::NotAllowed,
                            format!("the loaner is promised to repair order {number} until its car is back"),
                        ));
                        None
                    }
                    _ => Some(l.to_string()),
                }
            }
            None => None,
        };
        errs.clone().into_result()?;
        let (Some(kind), Some((from, to, day)), Some(address)) = (kind, window, address) else {
            return Err(errs.into());
        };
        let id = self
            .write_job(
                &NewJob {
                    org: &org,
                    repair_order: ro_id,
                    kind,
                    day: &day,
                    address: &address,
                    coords,
                    window: (from, to),
                    loaner: loaner.as_deref(),
                    clean: input.clean && kind == JobKind::Delivery,
                    actor: Some(scope.user_id()),
                },
                now,
            )
            .await?;
        Ok(self.job_row(&id).await?.job)
    }

    /// Writes a validated job in one transaction: the row, the day's new version, and the customer's
    /// message with the window (in their language, through the outbox).
    pub(crate) async fn write_job(
        self,
        j: &NewJob<'_>,
        now: OffsetDateTime,
    ) -> Result<String, StoreError> {
        let id = new_id();
        let mut tx = self.store.begin().await?;
        let res = sqlx::query(
            "INSERT INTO transport_jobs (id, organisation_id, repair_order_id, kind, day, address, latitude_e6, longitude_e6, \
             window_from, window_to, loaner_id, clean, status, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'planned', $13, $14)",
        )
        .bind(&id)
        .bind(j.org)
        .bind(j.repair_order)
        .bind(j.kind.as_str())
        .bind(j.day)
        .bind(j.address)
        .bind(j.coords.map(|c| c.0))
        .bind(j.coords.map(|c| c.1))
        .bind(micros(j.window.0))
        .bind(micros(j.window.1))
        .bind(j.loaner)
        .bind(i64::from(j.clean))
        .bind(j.actor)
        .bind(micros(now))
        .execute(&mut *tx)
        .await;
        match res {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(ValidationErrors::single(
                    "kind",
                    Rule::Unique,
                    format!("the repair order already has a {}", j.kind.as_str()),
                )
                .into())
            }
            r => {
                r?;
            }
        }
        Self::touch_day(&mut tx, j.org, j.day).await?;
        let ctx = self
            .store
            .workshop()
            .addressee_of(&mut tx, j.repair_order)
            .await?;
        let event = match j.kind {
            JobKind::Pickup => Event::PickupConfirmed,
            JobKind::Delivery => Event::DeliveryScheduled,
        };
        enqueue(
            &mut tx,
            self.store.public_url(),
            &notice(
                event,
                j.repair_order,
                format!("transport:{id}:scheduled"),
                j.window,
                j.address,
            ),
            &ctx,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// A job an advisor changes before it is under way, with the error already named when it is.
    async fn plannable(
        self,
        scope: &Scope,
        id: &str,
    ) -> Result<(TransportJob, ValidationErrors), StoreError> {
        let job = self.job(scope, id).await?;
        scope.require(&job.organisation_id, Permission::LogisticsPlan)?;
        let mut errs = ValidationErrors::default();
        if job.status != JobStatus::Planned {
            errs.push(FieldError::new(
                "status",
                Rule::NotAllowed,
                "only a job not yet under way can be locked, moved or put on the map",
            ));
        }
        Ok((job, errs))
    }

    /// An advisor locks a job to a driver and/or a time at the customer, or holds it off the plan
    /// (no driver, no time and not held: unlocked). Only a job not yet under way.
    pub async fn lock_job(
        self,
        scope: &Scope,
        id: &str,
        input: &LockInput,
    ) -> Result<TransportJob, StoreError> {
        let (job, mut errs) = self.plannable(scope, id).await?;
        let driver = opt(&input.driver_id).map(str::to_string);
        if let Some(d) = &driver {
            let drivers = self.drivers(scope, &job.organisation_id).await?;
            if !drivers.iter().any(|x| x.id == *d) {
                errs.push(FieldError::new(
                    "driver_id",
                    Rule::Unknown,
                    "driver_id names no valet driver of this service point",
                ));
            }
        }
        let at = opt(&input.at).and_then(|a| errs.take(parse_instant("at", a)));
        if let Some(at) = at {
            let zone = self.store.org().zone_of(&job.organisation_id).await?;
            if zone.local(at).date().to_string() != job.day {
                errs.push(FieldError::new(
                    "at",
                    Rule::NotAllowed,
                    "the locked time must be on the job's day",
                ));
            }
        }
        errs.into_result()?;
        let mut tx = self.store.begin().await?;
        sqlx::query(
            "UPDATE transport_jobs SET lock_driver_id = $2, lock_at = $3, held = $4 WHERE id = $1",
        )
        .bind(id)
        .bind(&driver)
        .bind(at.map(micros))
        .bind(i64::from(input.held))
        .execute(&mut *tx)
        .await?;
        Self::touch_day(&mut tx, &job.organisation_id, &job.day).await?;
        tx.commit().await?;
        Ok(self.job_row(id).await?.job)
    }

    /// The customer asked for another window (the same day or another): the job keeps its driver's
    /// lock but not a locked time, both days' plans go stale, and the customer hears the new window.
    pub async fn move_window(
        self,
        scope: &Scope,
        id: &str,
        input: &WindowInput,
        now: OffsetDateTime,
    ) -> Result<TransportJob, StoreError> {
        let (job, mut errs) = self.plannable(scope, id).await?;
        let zone = self.store.org().zone_of(&job.organisation_id).await?;
        let window = check_window(&mut errs, zone, &input.window_from, &input.window_to, now);
        errs.clone().into_result()?;
        let Some((from, to, day)) = window else {
            return Err(errs.into());
        };
        let mut tx = self.store.begin().await?;
        sqlx::query(
            "UPDATE transport_jobs SET window_from = $2, window_to = $3, day = $4, lock_at = NULL WHERE id = $1",
        )
        .bind(id)
        .bind(micros(from))
        .bind(micros(to))
        .bind(&day)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM plan_entries WHERE job_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        Self::touch_day(&mut tx, &job.organisation_id, &job.day).await?;
        if day != job.day {
            Self::touch_day(&mut tx, &job.organisation_id, &day).await?;
        }
        let ro = job.repair_order.id.as_str();
        let ctx = self.store.workshop().addressee_of(&mut tx, ro).await?;
        let event = match job.kind {
            JobKind::Pickup => Event::PickupConfirmed,
            JobKind::Delivery => Event::DeliveryScheduled,
        };
        enqueue(
            &mut tx,
            self.store.public_url(),
            &notice(
                event,
                ro,
                format!("transport:{id}:moved:{}", micros(from)),
                (from, to),
                &job.address,
            ),
            &ctx,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(self.job_row(id).await?.job)
    }

    /// Puts a job's address on the map (an address kept without coordinates is flagged on the
    /// board until an advisor gives them), or corrects it. Only a job not yet under way.
    pub async fn set_job_place(
        self,
        scope: &Scope,
        id: &str,
        input: &PlaceInput,
    ) -> Result<TransportJob, StoreError> {
        let (job, mut errs) = self.plannable(scope, id).await?;
        let place = errs.take(parse_place(&input.latitude, &input.longitude));
        let address = opt(&input.address).and_then(|a| errs.take(text("address", a, 3, 300)));
        errs.clone().into_result()?;
        let Some(place) = place else {
            return Err(errs.into());
        };
        let mut tx = self.store.begin().await?;
        sqlx::query(
            "UPDATE transport_jobs SET latitude_e6 = $2, longitude_e6 = $3, address = COALESCE($4, address) WHERE id = $1",
        )
        .bind(id)
        .bind((place.lat * 1e6).round() as i64)
        .bind((place.lon * 1e6).round() as i64)
        .bind(&address)
        .execute(&mut *tx)
        .await?;
        Self::touch_day(&mut tx, &job.organisation_id, &job.day).await?;
        tx.commit().await?;
        Ok(self.job_row(id).await?.job)
    }

    /// What a driver pressed (on the way, arrived, done with odometer, charge and a note), or an
    /// advisor's cancellation. A driver works only the jobs of their own run sheet.
    pub async fn set_job_status(
        self,
        scope: &Scope,
        id: &str,
        input: &JobStatusInput,
        now: OffsetDateTime,
    ) -> Result<TransportJob, StoreError> {
        let job = self.job(scope, id).await?;
        let org = job.organisation_id.clone();
        let mut errs = ValidationErrors::default();
        let Some(to) = errs.take(JobStatus::parse("status", &input.status)) else {
            return Err(errs.into());
        };
        if to == JobStatus::Cancelled {
            scope.require(&org, Permission::LogisticsPlan)?;
        } else {
            scope.require(&org, Permission::LogisticsDrive)?;
            if !scope.permits(&org, Permission::LogisticsPlan) {
                let planned: Option<String> =
                    sqlx::query_scalar("SELECT driver_id FROM plan_entries WHERE job_id = $1")
                        .bind(id)
                        .fetch_optional(&self.store.pool)
                        .await?
                        .flatten();
                let mine = |d: Option<&str>| d == Some(scope.user_id());
                if !mine(planned.as_deref()) && !mine(job.driver.as_ref().map(|d| d.id.as_str())) {
                    return Err(StoreError::Forbidden(
                        "the job is on another driver's run sheet".into(),
                    ));
                }
            }
        }
        if !job.status.can_go(to) {
            errs.push(FieldError::new(
                "status",
                Rule::NotAllowed,
                "a job moves one step at a time: planned, on the way, arrived, done (or cancelled before it is done)",
            ));
        }
        let handover = if to == JobStatus::Done && errs.is_empty() {
            Some(self.prepare_handover(&job, input, &mut errs, now).await?)
        } else {
            None
        };
        errs.into_result()?;
        let column = match to {
            JobStatus::OnTheWay => "on_the_way_at",
            JobStatus::Arrived => "arrived_at",
            JobStatus::Done => "done_at",
            _ => "created_at",
        };
        let mut tx = self.store.begin().await?;
        // The status it had is part of the condition: two presses at once move it once.
        let sql = if to == JobStatus::Cancelled {
            "UPDATE transport_jobs SET status = $2 WHERE id = $1 AND status = $3".to_string()
        } else {
            format!(
                "UPDATE transport_jobs SET status = $2, {column} = $4, \
                 driver_id = CASE WHEN $2 = 'on-the-way' THEN $5 ELSE driver_id END, \
                 odometer_km = COALESCE($6, odometer_km), charge_pct = COALESCE($7, charge_pct), \
                 handover_note = COALESCE($8, handover_note) WHERE id = $1 AND status = $3"
            )
        };
        let mut q = sqlx::query(&sql)
            .bind(id)
            .bind(to.as_str())
            .bind(job.status.as_str());
        if to != JobStatus::Cancelled {
            q = q
                .bind(micros(now))
                .bind(scope.user_id())
                .bind(input.odometer_km.filter(|_| to == JobStatus::Done))
                .bind(input.charge_pct.filter(|_| to == JobStatus::Done))
                .bind(
                    opt(&input.note)
                        .map(|n| n.replace("\r\n", "\n"))
                        .filter(|_| to == JobStatus::Done),
                );
        }
        let done = q.execute(&mut *tx).await?.rows_affected();
        if done == 0 {
            return Err(StoreError::Conflict { current: 0 });
        }
        if let Some(h) = handover {
            self.write_handover(&mut tx, &job, h, scope.user_id(), now)
                .await?;
        }
        Self::touch_day(&mut tx, &org, &job.day).await?;
        let told = match (to, job.kind) {
            (JobStatus::OnTheWay, _) => Some((Event::DriverOnTheWay, self.arrival(id, now).await?)),
            (JobStatus::Done, JobKind::Delivery) => {
                Some((Event::CarDelivered, (job.window_from, job.window_to)))
            }
            _ => None,
        };
        if let Some((event, window)) = told {
            let ro = job.repair_order.id.as_str();
            let ctx = self.store.workshop().addressee_of(&mut tx, ro).await?;
            enqueue(
                &mut tx,
                self.store.public_url(),
                &notice(
                    event,
                    ro,
                    format!("transport:{id}:{}", to.as_str()),
                    window,
                    &job.address,
                ),
                &ctx,
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(self.job_row(id).await?.job)
    }

    /// When a driver who just left will be at the customer: the plan's way there (unassisted leg
    /// and driving) from now, as a window from 10 minutes before to 20 after, on five minutes.
    pub(crate) async fn arrival(
        self,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<(OffsetDateTime, OffsetDateTime), StoreError> {
        type Planned = (Option<i64>, Option<i64>, Option<i64>, i64);
        let planned: Option<Planned> = sqlx::query_as(
            "SELECT e.starts_at, e.at_customer, e.unassisted_m, COALESCE(s.unassisted_kmh, 15) FROM plan_entries e \
             LEFT JOIN logistics_settings s ON s.organisation_id = e.organisation_id WHERE e.job_id = $1",
        )
        .bind(id)
        .fetch_optional(&self.store.pool)
        .await?;
        let way = match planned {
            Some((Some(start), Some(at), unassisted, kmh)) => {
                let drive = from_micros(at) - from_micros(start);
                let walk = unassisted.unwrap_or(0) as f64 / (kmh.max(1) as f64 * 1000.0 / 3600.0);
                drive + Duration::seconds_f64(walk)
            }
            _ => Duration::minutes(20),
        };
        let est = now + way;
        let round = |t: OffsetDateTime| {
            let over = t.unix_timestamp().rem_euclid(300);
            t - Duration::seconds(over)
        };
        // Never earlier than the driver can be there: a short way starts the window at the next five minutes.
        let soonest = round(now + Duration::minutes(5) - Duration::seconds(1));
        Ok((
            round(est - Duration::minutes(10)).max(soonest),
            round(est + Duration::minutes(20)),
        ))
    }
}
