//! The workshop's views: the board of a day per service point, a technician's own jobs, and the
//! messages the customer got about a repair order.

use super::*;

impl Workshop<'_> {
    /// The messages written to the customer about one repair order.
    pub async fn ro_messages(
        self,
        scope: &Scope,
        ro_id: &str,
    ) -> Result<Vec<crate::notify::OutboxItem>, StoreError> {
        self.readable_ro(scope, ro_id).await?;
        self.store.notify().messages_of_ro(ro_id).await
    }

    /// The appointments of one local day at a service point, for the workshop board.
    pub async fn day_board(
        self,
        scope: &Scope,
        org: &str,
        date: Date,
    ) -> Result<Vec<(AppointmentView, RoSummary)>, StoreError> {
        scope.require(org, Permission::CrmRead)?;
        check_day(date)?;
        let zone = self.store.org().zone_of(org).await?;
        let (a, b) = (
            zone.instant(date.midnight()),
            zone.instant((date + Duration::days(1)).midnight()),
        );
        let ids: Vec<(String, String)> = sqlx::query_as(
            "SELECT a.id, r.id FROM appointments a JOIN repair_orders r ON r.appointment_id = a.id WHERE a.organisation_id = $1 AND a.starts_at >= $2 AND a.starts_at < $3 AND a.status <> 'cancelled' ORDER BY a.starts_at",
        )
        .bind(org)
        .bind(micros(a))
        .bind(micros(b))
        .fetch_all(&self.store.pool)
        .await?;
        let mut out = Vec::new();
        for (aid, rid) in ids {
            let (Some(app), Ok(ro)) = (
                self.appointment_view(&aid).await?,
                self.repair_order(scope, &rid).await,
            ) else {
                continue;
            };
            out.push((app, RoSummary::of(&ro)));
        }
        Ok(out)
    }
    /// Jobs assigned to the caller on active repair orders (the technician's list).
    pub async fn my_jobs(self, scope: &Scope) -> Result<Vec<(RoSummary, Job)>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT r.id FROM ro_jobs j JOIN repair_orders r ON r.id = j.repair_order_id WHERE j.technician_id = $1 AND r.status NOT IN ('delivered', 'closed', 'cancelled')",
        )
        .bind(scope.user_id())
        .fetch_all(&self.store.pool)
        .await?;
        let mut out = Vec::new();
        for id in ids {
            let Ok(ro) = self.repair_order(scope, &id).await else {
                continue;
            };
            let summary = RoSummary::of(&ro);
            for j in ro.jobs.into_iter().filter(|j| {
                j.technician
                    .as_ref()
                    .is_some_and(|t| t.id == scope.user_id())
            }) {
                out.push((summary.clone(), j));
            }
        }
        Ok(out)
    }
}
