//! One timeline per customer and vehicle.

use super::*;

impl Crm<'_> {
    /// Logs a call, e-mail, message or note on a customer (and optionally one of their vehicles).
    pub async fn add_timeline_entry(
        self,
        scope: &Scope,
        customer_id: &str,
        input: &TimelineInput,
        now: OffsetDateTime,
    ) -> Result<TimelineEntry, StoreError> {
        let c = self.get_customer(scope, customer_id).await?;
        scope.require_record(&c.organisation_id, Permission::CrmWrite)?;
        let mut errs = ValidationErrors::default();
        if !MANUAL_KINDS.contains(&input.kind.as_str()) {
            errs.push(FieldError::new(
                "kind",
                Rule::OneOf,
                format!("kind must be one of {}", MANUAL_KINDS.join(", ")),
            ));
        }
        let summary = errs.take(text("summary", &input.summary, 2, 200));
        let body = opt(&input.body).and_then(|b| errs.take(text_block("body", b, 1, 10_000)));
        if let Some(vid) = opt(&input.vehicle_id) {
            match self.get_vehicle(scope, vid).await {
                Ok(_) => {}
                Err(StoreError::NotFound) => errs.push(FieldError::new(
                    "vehicle_id",
                    Rule::Unknown,
                    "vehicle_id names no vehicle you can see",
                )),
                Err(e) => return Err(e),
            }
        }
        errs.clone().into_result()?;
        let mut conn = self.store.pool.acquire().await?;
        let id = add_entry(
            &mut conn,
            NewEntry {
                organisation_id: &c.organisation_id,
                customer_id: Some(customer_id),
                vehicle_id: opt(&input.vehicle_id),
                kind: &input.kind,
                summary: summary.clone().unwrap_or_default(),
                params: Vec::new(),
                body: body.clone(),
                actor: Some(scope.user_id()),
            },
            now,
        )
        .await?;
        Ok(TimelineEntry {
            id,
            at: now,
            kind: input.kind.clone(),
            summary: summary.unwrap_or_default(),
            params: Default::default(),
            body,
            customer_id: Some(customer_id.to_string()),
            vehicle_id: opt(&input.vehicle_id).map(str::to_string),
            actor: None,
        })
    }
    pub(crate) async fn timeline_where(
        self,
        column: &str,
        id: &str,
    ) -> Result<Vec<TimelineEntry>, StoreError> {
        type Row = (
            String,
            i64,
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let sql = format!(
            "SELECT t.id, t.at, t.kind, t.summary, t.body, t.customer_id, t.vehicle_id, u.display_name, t.params FROM timeline_events t \
             LEFT JOIN users u ON u.id = t.actor_user_id WHERE t.{column} = $1 ORDER BY t.at DESC, t.id DESC LIMIT 5000"
        );
        let rows: Vec<Row> = sqlx::query_as(&sql)
            .bind(id)
            .fetch_all(&self.store.pool)
            .await?;
        rows.into_iter()
            .map(
                |(id, at, kind, summary, body, customer_id, vehicle_id, actor, params)| {
                    Ok(TimelineEntry {
                        id,
                        at: from_micros(at),
                        kind,
                        summary,
                        params: crate::params_of("timeline_events", params)?,
                        body,
                        customer_id,
                        vehicle_id,
                        actor,
                    })
                },
            )
            .collect()
    }
    /// Everything that happened with a customer, newest first.
    pub async fn customer_timeline(
        self,
        scope: &Scope,
        customer_id: &str,
    ) -> Result<Vec<TimelineEntry>, StoreError> {
        self.get_customer(scope, customer_id).await?;
        self.timeline_where("customer_id", customer_id).await
    }
    /// Everything that happened with a vehicle, across its owners, newest first.
    pub async fn vehicle_timeline(
        self,
        scope: &Scope,
        vehicle_id: &str,
    ) -> Result<Vec<TimelineEntry>, StoreError> {
        self.get_vehicle(scope, vehicle_id).await?;
        self.timeline_where("vehicle_id", vehicle_id).await
    }
}
