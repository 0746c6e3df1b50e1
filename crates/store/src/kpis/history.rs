//! Writes a workshop history planned by `domain::kpi::history` into service points: a customer
//! and a car per planned vehicle (owned by the market), and per planned repair order its status
//! events (checked in, delivered, closed), jobs with labour and part lines, clockings by the
//! point's technicians, the survey answer, the pickup and delivery with their windows and
//! arrivals; and the inbox's cases with their timers and triage decisions. Rows go in batches,
//! 100,000 repair orders (or cases) a transaction, each marking its days for the KPI roll-ups;
//! invoices are not generated (issued documents are legal records with a signature chain):
//! revenue and margin come from what is really invoiced and claimed.

use aftersales_domain::kpi::history::{
    self, PlannedTrip, WorkshopHistorySpec, CASE_TARGETS, OPERATIONS,
};
use time::OffsetDateTime;

use std::collections::BTreeSet;

use super::{rollups, Kpis};
use crate::batch::{Batch, CarRows, NewCar, V};
use crate::error::StoreError;
use crate::warranty::history::{person, vin};

/// A car's VIN: the model's template with `serial` as its six serial digits; past a million (a
/// history of more than 15 service points) the plant letter moves on, so VINs stay unique.
fn history_vin(template: &str, serial: usize) -> String {
    const PLANTS: &[u8] = b"ABCDEFGHJKMNPRSTUVWXYZ0123456789";
    let million = serial / 1_000_000;
    if million == 0 || template.len() < 17 || !template.is_ascii() {
        return vin(template, serial);
    }
    let own = template.as_bytes()[10];
    let others: Vec<u8> = PLANTS.iter().copied().filter(|c| *c != own).collect();
    let plant = others[(million - 1) % others.len()] as char;
    let moved = format!("{}{plant}{}", &template[..10], &template[11..]);
    vin(&moved, serial)
}
use crate::warranty::HistoryTarget;
use crate::{micros, new_id};

/// Repair orders (or cases) written per transaction: a history of millions is not one
/// transaction (SQLite would hold all of it in its write-ahead log until the end).
const SLICE: usize = 100_000;

/// Who works at each service point of a history, in the target's order.
#[derive(Debug, Clone, Default)]
pub struct PointStaff {
    pub advisors: Vec<String>,
    pub technicians: Vec<String>,
    pub drivers: Vec<String>,
}

/// A generated case's subject, as a customer of that market would put it.
fn subject(language: &str, technical: bool) -> &'static str {
    match (language, technical) {
        ("nb", true) => "Feilmelding på skjermen",
        ("nb", false) => "Spørsmål om service",
        ("pt", true) => "Mensagem de erro no ecrã",
        ("pt", false) => "Pergunta sobre a revisão",
        (_, true) => "Error message on the screen",
        (_, false) => "Question about the service",
    }
}

fn nth(v: &[String], i: usize) -> V {
    if v.is_empty() {
        V::NullText
    } else {
        V::T(v[i % v.len()].clone())
    }
}

impl Kpis<'_> {
    /// Ends a slice of a history: marks its days, commits, and begins the next (markers paused).
    async fn next_slice(
        &self,
        mut tx: sqlx::Transaction<'static, sqlx::Any>,
        marks: &mut BTreeSet<(String, i64)>,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        let engine = self.store.engine();
        rollups::resume_marks(&mut tx, engine, marks).await?;
        marks.clear();
        tx.commit().await?;
        let mut tx = self.store.begin().await?;
        rollups::pause_marks(&mut tx, engine).await?;
        Ok(tx)
    }

    /// Plans and writes a workshop history (see the module): returns how many repair orders.
    /// `target.models` VIN templates must differ from those of other generated histories.
    pub async fn write_history(
        self,
        spec: &WorkshopHistorySpec,
        target: &HistoryTarget,
        staff: &[PointStaff],
        now: OffsetDateTime,
    ) -> Result<usize, StoreError> {
        if target.service_points.len() < spec.points.len()
            || staff.len() < spec.points.len()
            || target.models.is_empty()
        {
            return Err(StoreError::Internal(
                "a workshop history needs a service point, its staff and models per profile".into(),
            ));
        }
        let planned = history::plan(spec);
        let created = micros(now);
        let mut car_rows = CarRows::new();
        let mut orders = Batch::new(
            "repair_orders",
            &[
                "id",
                "number",
                "organisation_id",
                "customer_id",
                "vehicle_id",
                "status",
                "public_token",
                "created_by",
                "created_at",
                "updated_at",
            ],
        );
        let mut events = Batch::new(
            "ro_events",
            &[
                "id",
                "repair_order_id",
                "kind",
                "status",
                "actor_user_id",
                "via",
                "at",
            ],
        );
        let mut jobs = Batch::new(
            "ro_jobs",
            &[
                "id",
                "repair_order_id",
                "position",
                "title",
                "complaint",
                "pay_type",
                "approval",
                "technician_id",
                "created_at",
            ],
        );
        let mut lines = Batch::new(
            "ro_lines",
            &[
                "id",
                "job_id",
                "repair_order_id",
                "kind",
                "code",
                "description",
                "quantity_centi",
                "unit_price_minor",
                "unit_cost_minor",
                "pay_type",
                "backordered",
                "created_at",
            ],
        );
        let mut clockings = Batch::new(
            "ro_clockings",
            &[
                "id",
                "job_id",
                "repair_order_id",
                "technician_id",
                "started_at",
                "stopped_at",
            ],
        );
        let mut surveys = Batch::new(
            "surveys",
            &[
                "repair_order_id",
                "organisation_id",
                "token",
                "language",
                "created_at",
                "answered_at",
                "csat",
                "nps",
            ],
        );
        let mut trips = Batch::new(
            "transport_jobs",
            &[
                "id",
                "organisation_id",
                "repair_order_id",
                "kind",
                "day",
                "address",
                "window_from",
                "window_to",
                "clean",
                "status",
                "held",
                "driver_id",
                "on_the_way_at",
                "arrived_at",
                "done_at",
                "created_at",
            ],
        );
        // One transaction per slice of the history, each writing its days' change markers
        // itself (a trigger per row would write them a row at a time).
        let engine = self.store.engine();
        let mut tx = self.store.begin().await?;
        rollups::pause_marks(&mut tx, engine).await?;
        let mut marks: BTreeSet<(String, i64)> = BTreeSet::new();
        // The cars of each point, with their owners.
        let mut cars: Vec<Vec<(String, String, String)>> = Vec::new();
        for p in 0..spec.points.len() {
            let mut of_point = Vec::new();
            for i in 0..spec.vehicles_per_point {
                let serial = 700_000 + p * 20_000 + i;
                let (model, template, year) = &target.models[i % target.models.len()];
                let street = format!("Rua {} {}", 1 + serial % 300, 1 + serial % 89);
                let (customer, vehicle) = car_rows
                    .push(
                        &mut tx,
                        self.store.engine(),
                        NewCar {
                            owner_org: &target.owner_org,
                            name: person(&target.language, serial),
                            street: street.clone(),
                            language: &target.language,
                            country: &target.country,
                            vin: history_vin(template, serial),
                            brand_id: &target.brand_id,
                            model,
                            year: *year,
                            delivered: None,
                            warranty_version: None,
                            from_date: now.date() - time::Duration::days(900),
                            created,
                        },
                    )
                    .await?;
                of_point.push((customer, vehicle, street));
            }
            cars.push(of_point);
        }
        let mut written = 0;
        for (n, ro) in planned.iter().enumerate() {
            let org = &target.service_points[ro.point];
            let people = &staff[ro.point];
            let Some((customer, vehicle, street)) = cars[ro.point].get(ro.vehicle) else {
                continue;
            };
            let id = new_id();
            let advisor = nth(&people.advisors, ro.advisor);
            let opened = ro.received - time::Duration::minutes(30);
            marks.insert((org.clone(), rollups::utc_day(opened)));
            orders.rows.push(vec![
                V::T(id.clone()),
                V::T(format!("RO-{}K-{:07}", target.prefix, n + 1)),
                V::T(org.clone()),
                V::T(customer.clone()),
                V::T(vehicle.clone()),
                V::T("closed".into()),
                V::T(new_id()),
                nth(&people.advisors, ro.advisor),
                V::I(micros(opened)),
                V::I(micros(ro.delivered)),
            ]);
            for (status, at) in [
                ("checked-in", ro.received),
                ("delivered", ro.delivered),
                ("closed", ro.delivered + time::Duration::minutes(5)),
            ] {
                events.rows.push(vec![
                    V::T(new_id()),
                    V::T(id.clone()),
                    V::T("status".into()),
                    V::T(status.into()),
                    match &advisor {
                        V::T(a) => V::T(a.clone()),
                        _ => V::NullText,
                    },
                    V::T("staff".into()),
                    V::I(micros(at)),
                ]);
            }
            let mut clock_at = ro.received + time::Duration::minutes(45);
            for (pos, j) in ro.jobs.iter().enumerate() {
                let (code, _, pay) = OPERATIONS[j.operation];
                let job = new_id();
                let tech = nth(&people.technicians, j.technician);
                jobs.rows.push(vec![
                    V::T(job.clone()),
                    V::T(id.clone()),
                    V::I(i64::try_from(pos).unwrap_or(0)),
                    V::T(code.to_string()),
                    V::T(code.to_string()),
                    V::T(pay.as_str().into()),
                    V::T("approved".into()),
                    match &tech {
                        V::T(t) => V::T(t.clone()),
                        _ => V::NullText,
                    },
                    V::I(micros(ro.received)),
                ]);
                lines.rows.push(vec![
                    V::T(new_id()),
                    V::T(job.clone()),
                    V::T(id.clone()),
                    V::T("labour".into()),
                    V::T(code.to_string()),
                    V::T(code.to_string()),
                    V::I(j.sold_centi),
                    V::I(target.labour_rate_minor),
                    V::I(0),
                    V::T(pay.as_str().into()),
                    V::I(0),
                    V::I(micros(ro.received)),
                ]);
                if j.operation % 3 == 0 {
                    let price = 4_500 * target.price_factor;
                    lines.rows.push(vec![
                        V::T(new_id()),
                        V::T(job.clone()),
                        V::T(id.clone()),
                        V::T("part".into()),
                        V::T(format!("PRT-{code}")),
                        V::T(format!("{code} kit")),
                        V::I(100),
                        V::I(price),
                        V::I(price * 6 / 10),
                        V::T(pay.as_str().into()),
                        V::I(0),
                        V::I(micros(ro.received)),
                    ]);
                }
                if let V::T(t) = tech {
                    let stop = clock_at + time::Duration::seconds(j.clocked_seconds);
                    clockings.rows.push(vec![
                        V::T(new_id()),
                        V::T(job),
                        V::T(id.clone()),
                        V::T(t),
                        V::I(micros(clock_at)),
                        V::I(micros(stop)),
                    ]);
                    clock_at = stop + time::Duration::minutes(10);
                }
            }
            if let Some((csat, nps, answered)) = ro.survey {
                surveys.rows.push(vec![
                    V::T(id.clone()),
                    V::T(org.clone()),
                    V::T(new_id()),
                    V::T(target.language.clone()),
                    V::I(micros(ro.delivered)),
                    V::I(micros(answered)),
                    V::I(csat),
                    V::I(nps),
                ]);
            }
            for (kind, trip) in [("pickup", &ro.pickup), ("delivery", &ro.delivery)] {
                let Some(PlannedTrip {
                    window_from,
                    window_to,
                    on_the_way,
                    arrived,
                    done,
                }) = trip
                else {
                    continue;
                };
                marks.insert((
                    org.clone(),
                    rollups::utc_day((*window_from).min(ro.received)),
                ));
                trips.rows.push(vec![
                    V::T(new_id()),
                    V::T(org.clone()),
                    V::T(id.clone()),
                    V::T(kind.into()),
                    V::T(window_from.date().to_string()),
                    V::T(street.clone()),
                    V::I(micros(*window_from)),
                    V::I(micros(*window_to)),
                    V::I(0),
                    V::T("done".into()),
                    V::I(0),
                    nth(&people.drivers, n),
                    V::I(micros(*on_the_way)),
                    V::I(micros(*arrived)),
                    V::I(micros(*done)),
                    V::I(micros(ro.received)),
                ]);
            }
            written += 1;
            if written % 2_000 == 0 || written % SLICE == 0 {
                car_rows.flush(&mut tx).await?;
                for b in [
                    &mut orders,
                    &mut events,
                    &mut jobs,
                    &mut lines,
                    &mut clockings,
                    &mut surveys,
                    &mut trips,
                ] {
                    b.flush(&mut tx).await?;
                }
            }
            if written % SLICE == 0 {
                tx = self.next_slice(tx, &mut marks).await?;
            }
        }
        car_rows.flush(&mut tx).await?;
        for b in [
            &mut orders,
            &mut events,
            &mut jobs,
            &mut lines,
            &mut clockings,
            &mut surveys,
            &mut trips,
        ] {
            b.flush(&mut tx).await?;
        }
        // The inbox: cases with their timers, technical ones triaged (remote fix or workshop).
        let mut cases = Batch::new(
            "cases",
            &[
                "id",
                "number",
                "organisation_id",
                "customer_id",
                "vehicle_id",
                "channel",
                "category",
                "priority",
                "status",
                "subject",
                "owner_user_id",
                "first_response_minutes",
                "resolution_minutes",
                "first_responded_at",
                "resolved_at",
                "first_response_breached_at",
                "resolution_breached_at",
                "created_at",
                "updated_at",
            ],
        );
        let mut decisions = Batch::new(
            "triage_decisions",
            &["id", "case_id", "kind", "decided_by", "at"],
        );
        for (n, c) in history::plan_cases(spec).iter().enumerate() {
            let Some((customer, vehicle, _)) = cars[c.point].get(c.vehicle) else {
                continue;
            };
            let id = new_id();
            let owner = nth(&staff[c.point].advisors, c.advisor);
            marks.insert((
                target.service_points[c.point].clone(),
                rollups::utc_day(c.created),
            ));
            let opt = |t: Option<OffsetDateTime>| t.map_or(V::NullInt, |t| V::I(micros(t)));
            cases.rows.push(vec![
                V::T(id.clone()),
                V::T(format!("CASE-{}K-{:06}", target.prefix, n + 1)),
                V::T(target.service_points[c.point].clone()),
                V::T(customer.clone()),
                V::T(vehicle.clone()),
                V::T(if n % 3 == 0 { "email" } else { "phone" }.into()),
                V::T(
                    if c.technical {
                        "technical"
                    } else {
                        "maintenance"
                    }
                    .into(),
                ),
                V::T("normal".into()),
                V::T("closed".into()),
                V::T(subject(&target.language, c.technical).into()),
                match &owner {
                    V::T(o) => V::T(o.clone()),
                    _ => V::NullText,
                },
                V::I(CASE_TARGETS.0),
                V::I(CASE_TARGETS.1),
                V::I(micros(c.responded)),
                V::I(micros(c.resolved)),
                opt(c.response_breached()),
                opt(c.resolution_breached()),
                V::I(micros(c.created)),
                V::I(micros(c.resolved)),
            ]);
            if c.technical {
                decisions.rows.push(vec![
                    V::T(new_id()),
                    V::T(id),
                    V::T(
                        if c.remote_fix {
                            "remote-fix"
                        } else {
                            "workshop"
                        }
                        .into(),
                    ),
                    owner,
                    V::I(micros(c.responded)),
                ]);
            }
            if n % 2_000 == 1_999 {
                cases.flush(&mut tx).await?;
                decisions.flush(&mut tx).await?;
            }
            if (n + 1) % SLICE == 0 {
                tx = self.next_slice(tx, &mut marks).await?;
            }
        }
        cases.flush(&mut tx).await?;
        decisions.flush(&mut tx).await?;
        rollups::resume_marks(&mut tx, engine, &marks).await?;
        tx.commit().await?;
        Ok(written)
    }
}
