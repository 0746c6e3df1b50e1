//! The repair order's status machine and its ETA, with the customer's messages on each change.

use aftersales_domain::workshop::check_status_change;

use super::*;

impl Workshop<'_> {
    /// Sets or clears the expected ready time.
    pub async fn set_eta(
        self,
        scope: &Scope,
        ro_id: &str,
        eta: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Result<RepairOrder, StoreError> {
        let row = self.writable_ro(scope, ro_id).await?;
        let mut tx = self.store.begin().await?;
        sqlx::query("UPDATE repair_orders SET eta = $1, updated_at = $2, version = version + 1 WHERE id = $3")
            .bind(eta.map(micros))
            .bind(micros(now))
            .bind(ro_id)
            .execute(&mut *tx)
            .await?;
        crate::logistics::Logistics::touch_days_of_repair_order(&mut tx, ro_id).await?;
        // A new time the customer has not heard yet is told through the outbox (consent and
        // quiet hours apply there); clearing it or setting the same time is not news.
        let moved = eta.is_some_and(|e| row.eta != Some(micros(e)));
        let open = crate::decode("repair_orders", "status", &row.status, RoStatus::parse)?;
        if moved
            && !matches!(
                open,
                RoStatus::Delivered | RoStatus::Closed | RoStatus::Cancelled
            )
        {
            let vehicle = vehicle_label(&mut tx, row.vehicle_id.as_deref()).await?;
            let ctx = row.addressee(vehicle, eta);
            enqueue(
                &mut tx,
                self.store.public_url(),
                &Notice {
                    event: Event::EtaChanged,
                    ro: Some(ro_id),
                    case_id: row.case_id.as_deref(),
                    dedupe: format!("ro:{ro_id}:eta:{}", eta.map(micros).unwrap_or(0)),
                    extra: Vec::new(),
                    place: None,
                    message: None,
                    calendar: None,
                    delay: Duration::ZERO,
                    item: None,
                    due: None,
                },
                &ctx,
                now,
            )
            .await?;
        }
        tx.commit().await?;
        if row.eta != eta.map(micros) {
            self.store
                .logistics()
                .follow_repair_order(ro_id, scope.user_id(), now)
                .await;
        }
        self.repair_order(scope, ro_id).await
    }
    /// Moves a repair order along its status machine, guarded by its version, and tells the
    /// customer through the outbox where the market's rules say so.
    pub async fn set_ro_status(
        self,
        scope: &Scope,
        ro_id: &str,
        next: RoStatus,
        expected_version: i64,
        now: OffsetDateTime,
    ) -> Result<RepairOrder, StoreError> {
        let row = self.writable_ro(scope, ro_id).await?;
        let current = crate::decode("repair_orders", "status", &row.status, RoStatus::parse)?;
        let pending: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM ro_jobs WHERE repair_order_id = $1 AND approval = 'pending'",
        )
        .bind(ro_id)
        .fetch_one(&self.store.pool)
        .await?;
        check_status_change(current, next, pending).map_err(ValidationErrors::from)?;
        let settings = self.settings_of(&row.organisation_id).await?;
        let place = place_of(&row.org_name, settings.address.as_deref(), None);
        let mut tx = self.store.begin().await?;
        let done = sqlx::query("UPDATE repair_orders SET status = $1, updated_at = $2, version = version + 1 WHERE id = $3 AND version = $4")
            .bind(next.as_str())
            .bind(micros(now))
            .bind(ro_id)
            .bind(expected_version)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict {
                current: row.version,
            });
        }
        crate::logistics::Logistics::touch_days_of_repair_order(&mut tx, ro_id).await?;
        ro_event(
            &mut tx,
            ro_id,
            "status",
            Some(next),
            None,
            Some(scope.user_id()),
            "staff",
            now,
        )
        .await?;
        if next == RoStatus::Cancelled {
            if let Some(a) = &row.appointment_id {
                sqlx::query("DELETE FROM resource_units WHERE appointment_id = $1")
                    .bind(a)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("UPDATE appointments SET status = 'cancelled' WHERE id = $1")
                    .bind(a)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        if next == RoStatus::CheckedIn {
            if let Some(a) = &row.appointment_id {
                sqlx::query("UPDATE appointments SET status = 'arrived' WHERE id = $1")
                    .bind(a)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        if next == RoStatus::Closed {
            sqlx::query("UPDATE ro_clockings SET stopped_at = $1 WHERE repair_order_id = $2 AND stopped_at IS NULL").bind(micros(now)).bind(ro_id).execute(&mut *tx).await?;
        }
        let vehicle = vehicle_label(&mut tx, row.vehicle_id.as_deref()).await?;
        let ctx = row.addressee(vehicle, row.eta.map(from_micros));
        if let Some(event) = Event::for_status(next) {
            let seq: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM ro_events WHERE repair_order_id = $1 AND kind = 'status'",
            )
            .bind(ro_id)
            .fetch_one(&mut *tx)
            .await?;
            enqueue(
                &mut tx,
                self.store.public_url(),
                &Notice {
                    event,
                    ro: Some(ro_id),
                    case_id: row.case_id.as_deref(),
                    dedupe: format!("ro:{ro_id}:status:{seq}"),
                    extra: Vec::new(),
                    place: Some(place.clone()),
                    message: None,
                    calendar: None,
                    delay: Duration::ZERO,
                    item: None,
                    due: None,
                },
                &ctx,
                now,
            )
            .await?;
        }
        if next == RoStatus::Delivered {
            let survey_token = crate::new_token();
            let lang: String = sqlx::query_scalar("SELECT language FROM customers WHERE id = $1")
                .bind(&row.customer_id)
                .fetch_one(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO surveys (repair_order_id, organisation_id, token, language, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (repair_order_id) DO NOTHING")
                .bind(ro_id)
                .bind(&row.organisation_id)
                .bind(&survey_token)
                .bind(lang)
                .bind(micros(now))
                .execute(&mut *tx)
                .await?;
            let survey_token: String =
                sqlx::query_scalar("SELECT token FROM surveys WHERE repair_order_id = $1")
                    .bind(ro_id)
                    .fetch_one(&mut *tx)
                    .await?;
            enqueue(
                &mut tx,
                self.store.public_url(),
                &Notice {
                    event: Event::Survey,
                    ro: Some(ro_id),
                    case_id: row.case_id.as_deref(),
                    dedupe: format!("ro:{ro_id}:survey"),
                    extra: Vec::new(),
                    place: Some(place),
                    message: Some(format!("/survey/{survey_token}")),
                    calendar: None,
                    delay: SURVEY_DELAY,
                    item: None,
                    due: None,
                },
                &ctx,
                now,
            )
            .await?;
        }
        tx.commit().await?;
        self.store
            .logistics()
            .follow_repair_order(ro_id, scope.user_id(), now)
            .await;
        self.repair_order(scope, ro_id).await
    }
}
