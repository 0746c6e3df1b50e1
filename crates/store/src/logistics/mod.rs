//! Logistics (capability logistics): pickups and deliveries of customers' cars around the repair
//! order, planned per service point and day. setup.rs keeps what the plan runs on (the depot and
//! travel model, loaners, wash bays, drivers' shifts); jobs.rs the jobs (added to a repair order,
//! locked, moved forward by the driver); plan.rs the day: loaded into `domain::logistics::Day`,
//! solved off the async runtime with no connection held, saved only over the version it was made
//! from (docs/decisions/0006).

use aftersales_domain::logistics::{JobKind, JobStatus};
use aftersales_domain::org::Permission;
use sqlx::Row;
use time::OffsetDateTime;

use crate::error::StoreError;
use crate::scope::Scope;
use crate::{from_micros, Ref};
pub use aftersales_api_types::logistics::{
    DayPlan, DriverRun, DriverShift, DriverShiftInput, JobStatusInput, Loaner, LoanerInput,
    LoanerPatch, LockInput, LogisticsSettings, LogisticsSettingsInput, PhotoInput, PlaceInput,
    PlanEntry, PlannedWash, TransportJob, TransportJobInput, UnplannedJob, WashBay, WashBayInput,
    WindowInput, WindowOffer,
};

mod handover;
mod jobs;
mod plan;
mod routing;
mod setup;

pub use handover::{Handover, Handovers, LoanerAgreement, LoanerTerms, LoanerTermsInput};
pub use routing::{OsrmTable, RoutingTable};

pub(crate) use jobs::NewJob;
pub use plan::Budget;

crate::capability!(
    /// Pickups, deliveries, loaners and the day's plan: `store.logistics().replan(..)`.
    Logistics, logistics
);

const JOB_SELECT: &str = "SELECT j.id, j.organisation_id, j.repair_order_id, r.number, c.id, c.name, c.phone, \
    v.registration, v.vin, j.kind, j.day, j.address, j.latitude_e6, j.longitude_e6, j.window_from, j.window_to, \
    j.loaner_id, l.plate, j.clean, r.eta, r.status, j.status, j.held, j.lock_driver_id, ld.display_name, j.lock_at, \
    j.driver_id, d.display_name, j.on_the_way_at, j.arrived_at, j.done_at, j.odometer_km, j.charge_pct, j.handover_note \
    FROM transport_jobs j JOIN repair_orders r ON r.id = j.repair_order_id JOIN customers c ON c.id = r.customer_id \
    LEFT JOIN vehicles v ON v.id = r.vehicle_id LEFT JOIN loaners l ON l.id = j.loaner_id \
    LEFT JOIN users ld ON ld.id = j.lock_driver_id LEFT JOIN users d ON d.id = j.driver_id";

/// A job as read, with the repair order's status (a delivery waits for the car to be ready).
pub(crate) struct JobRow {
    pub job: TransportJob,
    pub ro_ready: bool,
}

fn job_of(r: &sqlx::any::AnyRow) -> Result<JobRow, StoreError> {
    let coord = |i: usize| -> Result<Option<f64>, StoreError> {
        Ok(r.try_get::<Option<i64>, _>(i)?.map(|v| v as f64 / 1e6))
    };
    let time = |i: usize| -> Result<Option<OffsetDateTime>, StoreError> {
        Ok(r.try_get::<Option<i64>, _>(i)?.map(from_micros))
    };
    let reference = |id: usize, label: usize| -> Result<Option<Ref>, StoreError> {
        Ok(match r.try_get::<Option<String>, _>(id)? {
            Some(id) => Some(Ref {
                id,
                label: r.try_get::<Option<String>, _>(label)?.unwrap_or_default(),
            }),
            None => None,
        })
    };
    let ro_status: String = r.try_get(20)?;
    let registration: Option<String> = r.try_get(7)?;
    let vin: Option<String> = r.try_get(8)?;
    Ok(JobRow {
        ro_ready: matches!(ro_status.as_str(), "ready" | "delivered" | "closed"),
        job: TransportJob {
            id: r.try_get(0)?,
            organisation_id: r.try_get(1)?,
            repair_order: Ref {
                id: r.try_get(2)?,
                label: r.try_get(3)?,
            },
            customer: Ref {
                id: r.try_get(4)?,
                label: r.try_get(5)?,
            },
            customer_phone: r.try_get(6)?,
            vehicle: registration.or(vin),
            kind: crate::decode(
                "transport_jobs",
                "kind",
                &r.try_get::<String, _>(9)?,
                JobKind::parse,
            )?,
            day: r.try_get(10)?,
            address: r.try_get(11)?,
            latitude: coord(12)?,
            longitude: coord(13)?,
            window_from: from_micros(r.try_get(14)?),
            window_to: from_micros(r.try_get(15)?),
            loaner: reference(16, 17)?,
            clean: r.try_get::<i64, _>(18)? != 0,
            ready_at: time(19)?,
            status: crate::decode(
                "transport_jobs",
                "status",
                &r.try_get::<String, _>(21)?,
                JobStatus::parse,
            )?,
            held: r.try_get::<i64, _>(22)? != 0,
            lock_driver: reference(23, 24)?,
            lock_at: time(25)?,
            driver: reference(26, 27)?,
            on_the_way_at: time(28)?,
            arrived_at: time(29)?,
            done_at: time(30)?,
            odometer_km: r.try_get(31)?,
            charge_pct: r.try_get(32)?,
            handover_note: r.try_get(33)?,
        },
    })
}

impl Logistics<'_> {
    /// Jobs matching a condition on `j` (bound parameters `$1`…), in window order.
    pub(crate) async fn jobs_where(
        self,
        condition: &str,
        binds: &[&str],
    ) -> Result<Vec<JobRow>, StoreError> {
        let sql = format!("{JOB_SELECT} WHERE {condition} ORDER BY j.window_from, j.id");
        let mut q = sqlx::query(&sql);
        for b in binds {
            q = q.bind(*b);
        }
        q.fetch_all(&self.store.pool)
            .await?
            .iter()
            .map(job_of)
            .collect()
    }

    pub(crate) async fn job_row(self, id: &str) -> Result<JobRow, StoreError> {
        self.jobs_where("j.id = $1", &[id])
            .await?
            .into_iter()
            .next()
            .ok_or(StoreError::NotFound)
    }

    /// A job the caller may see (logistics at its service point, or the repair order's workshop).
    pub async fn job(self, scope: &Scope, id: &str) -> Result<TransportJob, StoreError> {
        let row = self.job_row(id).await?;
        let org = &row.job.organisation_id;
        if !scope.permits(org, Permission::LogisticsRead)
            && !scope.permits(org, Permission::WorkshopWrite)
        {
            return Err(StoreError::NotFound);
        }
        Ok(row.job)
    }

    /// The pickup and delivery of a repair order.
    pub async fn jobs_of_repair_order(
        self,
        scope: &Scope,
        repair_order_id: &str,
    ) -> Result<Vec<TransportJob>, StoreError> {
        let org: String =
            sqlx::query_scalar("SELECT organisation_id FROM repair_orders WHERE id = $1")
                .bind(repair_order_id)
                .fetch_optional(&self.store.pool)
                .await?
                .ok_or(StoreError::NotFound)?;
        if !scope.permits(&org, Permission::LogisticsRead)
            && !scope.permits(&org, Permission::WorkshopWrite)
        {
            return Err(StoreError::NotFound);
        }
        let rows = self
            .jobs_where("j.repair_order_id = $1", &[repair_order_id])
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| r.job)
            .filter(|j| {
                scope.permits(&j.organisation_id, Permission::LogisticsRead)
                    || scope.permits(&j.organisation_id, Permission::WorkshopWrite)
            })
            .collect())
    }

    /// Valet drivers of a service point (held the role there), by name.
    pub async fn drivers(self, scope: &Scope, org: &str) -> Result<Vec<Ref>, StoreError> {
        scope.require(org, Permission::LogisticsRead)?;
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT u.id, u.display_name FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.organisation_id = $1 AND m.role = 'valet-driver' AND u.disabled = 0 ORDER BY u.display_name, u.id",
        )
        .bind(org)
        .fetch_all(&self.store.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, label)| Ref { id, label })
            .collect())
    }

    /// Raises the day's version: a plan solved from before this change will not be saved over it.
    pub(crate) async fn touch_day(
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        org: &str,
        day: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO logistics_days (organisation_id, day, version) VALUES ($1, $2, 1) \
             ON CONFLICT (organisation_id, day) DO UPDATE SET version = logistics_days.version + 1",
        )
        .bind(org)
        .bind(day)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Raises the version of every day where a job of this repair order is still to be driven: its
    /// ready time or status changed, so the saved plan may no longer hold.
    pub(crate) async fn touch_days_of_repair_order(
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        repair_order_id: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE logistics_days SET version = version + 1 WHERE EXISTS (SELECT 1 FROM transport_jobs j \
             WHERE j.repair_order_id = $1 AND j.organisation_id = logistics_days.organisation_id \
             AND j.day = logistics_days.day AND j.status NOT IN ('done', 'cancelled'))",
        )
        .bind(repair_order_id)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}
