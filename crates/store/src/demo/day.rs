//! A working day in the demo, in both markets: each advisor (Ingrid in Trondheim, João in Lisboa)
//! has a booked appointment at the next free time, a car ready for delivery with its work on the
//! repair order (to invoice), and a follow-up task due today. Written through the store's own
//! operations with the advisor's scope, so the demo holds exactly what a real day would.

use aftersales_domain::workshop::{AppointmentKind, RoStatus};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, Time};

use crate::db::Store;
use crate::error::StoreError;
use crate::workshop::{BookingInput, LineInput, RepairOrderInput};

/// One market's day: who works it, where, for whom, and what is done.
struct Day {
    advisor: &'static str,
    service_point: &'static str,
    booked_customer: &'static str,
    operation: &'static str,
    complaint: &'static str,
    ready_customer: &'static str,
    ready_complaint: &'static str,
    ready_lines: [(&'static str, &'static str); 2],
    task: &'static str,
}

const DAYS: [Day; 2] = [
    Day {
        advisor: "ingrid",
        service_point: "tesla-trd",
        booked_customer: "Kari Nordmann",
        operation: "SRV-ANNUAL",
        complaint: "Årlig service, og kupéfilteret lukter",
        ready_customer: "Ola Hansen",
        ready_complaint: "Viskerbladene etterlater striper",
        ready_lines: [("labour", "WIPER"), ("part", "1089472-00-B")],
        task: "Ring kunden om tilbudet på vinterdekk",
    },
    Day {
        advisor: "joao",
        service_point: "ws-lisboa",
        booked_customer: "Miguel Costa",
        operation: "PS-REVISAO",
        complaint: "Revisão anual e ruído na suspensão dianteira",
        ready_customer: "Rui Matos",
        ready_complaint: "Cheiro no habitáculo ao ligar a ventilação",
        ready_lines: [("labour", "PS-DIAG"), ("part", "32222937")],
        task: "Ligar ao cliente para confirmar a entrega",
    },
];

pub(super) async fn seed_day(
    store: &Store,
    org: &dyn Fn(&str) -> String,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    for day in &DAYS {
        let user: String = sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
            .bind(day.advisor)
            .fetch_one(&store.pool)
            .await?;
        let scope = store.scope_of(&user).await?;
        let sp = org(day.service_point);
        let zone = store.org().zone_of(&sp).await?;
        let (customer, vehicle) = customer_and_car(store, day.booked_customer).await?;
        // The next free time from today on (the service point may be closed today).
        let mut booked = false;
        for ahead in 0..14 {
            let date = zone.local(now).date() + Duration::days(ahead);
            let free = store
                .workshop()
                .availability(
                    &scope,
                    &sp,
                    date,
                    AppointmentKind::Workshop,
                    &[day.operation.to_string()],
                    now,
                )
                .await?;
            let Some(slot) = free.slots.first() else {
                continue;
            };
            let starts_at = slot
                .starts_at
                .format(&Rfc3339)
                .map_err(|e| StoreError::Internal(e.to_string()))?;
            store
                .workshop()
                .book_appointment(
                    &scope,
                    &BookingInput {
                        organisation_id: sp.clone(),
                        customer_id: customer.clone(),
                        vehicle_id: vehicle.clone(),
                        kind: "workshop".into(),
                        operations: vec![day.operation.into()],
                        starts_at,
                        complaint: Some(day.complaint.into()),
                        ..Default::default()
                    },
                    now,
                )
                .await?;
            booked = true;
            break;
        }
        if !booked {
            return Err(StoreError::Internal(format!(
                "demo: no free time at {} in two weeks",
                day.service_point
            )));
        }
        // A car whose work is done, waiting for its customer (and its invoice).
        let (customer, vehicle) = customer_and_car(store, day.ready_customer).await?;
        let mut ro = store
            .workshop()
            .create_repair_order(
                &scope,
                &RepairOrderInput {
                    organisation_id: sp.clone(),
                    customer_id: customer,
                    vehicle_id: vehicle,
                    complaint: day.ready_complaint.into(),
                    ..Default::default()
                },
                now - Duration::hours(3),
            )
            .await?;
        let job = ro.jobs.first().map(|j| j.id.clone()).unwrap_or_default();
        for (kind, code) in day.ready_lines {
            ro = store
                .workshop()
                .add_line(
                    &scope,
                    &ro.id,
                    &job,
                    &LineInput {
                        kind: kind.into(),
                        code: Some(code.into()),
                        ..Default::default()
                    },
                    now - Duration::hours(3),
                )
                .await?;
        }
        let mut path = Vec::new();
        let mut at = ro.status;
        for step in [
            RoStatus::CheckedIn,
            RoStatus::InRepair,
            RoStatus::QualityCheck,
            RoStatus::Ready,
        ] {
            if at.may_become(step) {
                path.push(step);
                at = step;
            }
        }
        for (i, step) in path.into_iter().enumerate() {
            let minutes = i64::try_from(i).unwrap_or(0) * 30;
            ro = store
                .workshop()
                .set_ro_status(
                    &scope,
                    &ro.id,
                    step,
                    ro.version,
                    now - Duration::hours(2) + Duration::minutes(minutes),
                )
                .await?;
        }
        // A follow-up due later today, on the advisor's oldest open case.
        let case: Option<String> = sqlx::query_scalar(
            "SELECT id FROM cases WHERE organisation_id = $1 AND status IN ('new', 'open') ORDER BY created_at LIMIT 1",
        )
        .bind(&sp)
        .fetch_optional(&store.pool)
        .await?;
        if let Some(case) = case {
            let today = zone.local(now).date();
            let afternoon =
                zone.instant(today.with_time(Time::from_hms(15, 0, 0).unwrap_or(Time::MIDNIGHT)));
            let due = if afternoon > now {
                afternoon
            } else {
                now + Duration::hours(1)
            };
            store
                .cases()
                .add_task(&scope, &case, day.task, due, None, now)
                .await?;
        }
    }
    Ok(())
}

/// A demo customer by name, with the car they own now (if any).
pub(super) async fn customer_and_car(
    store: &Store,
    name: &str,
) -> Result<(String, Option<String>), StoreError> {
    let customer: String = sqlx::query_scalar("SELECT id FROM customers WHERE name = $1")
        .bind(name)
        .fetch_one(&store.pool)
        .await?;
    let vehicle: Option<String> = sqlx::query_scalar(
        "SELECT vehicle_id FROM vehicle_ownerships WHERE customer_id = $1 AND to_date IS NULL ORDER BY from_date DESC LIMIT 1",
    )
    .bind(&customer)
    .fetch_optional(&store.pool)
    .await?;
    Ok((customer, vehicle))
}
