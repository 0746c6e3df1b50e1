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
    /// The customer's whole history, newest first: the timeline's entries and, read from where
    /// they live, the repair orders, appointments, issued invoices and credit notes, messages sent
    /// and survey answers, each within the caller's reach (billing documents need billing access).
    pub async fn customer_history(
        self,
        scope: &Scope,
        customer_id: &str,
    ) -> Result<Vec<TimelineEntry>, StoreError> {
        let mut out = self.customer_timeline(scope, customer_id).await?;
        let entry = |id: String, at: i64, kind: &str, params: Vec<(&str, String)>| TimelineEntry {
            id,
            at: from_micros(at),
            kind: kind.to_string(),
            summary: String::new(),
            params: params
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            body: None,
            customer_id: Some(customer_id.to_string()),
            vehicle_id: None,
            actor: None,
        };
        let crm = scope.orgs_with(Permission::CrmRead);
        let inside = |orgs: &[String]| placeholders(2, orgs.len());
        if !crm.is_empty() {
            let sql = format!(
                "SELECT id, number, status, created_at FROM repair_orders WHERE customer_id = $1 AND organisation_id IN ({})",
                inside(&crm)
            );
            let mut q = sqlx::query_as::<_, (String, String, String, i64)>(&sql).bind(customer_id);
            for o in &crm {
                q = q.bind(o);
            }
            for (id, number, status, at) in q.fetch_all(&self.store.pool).await? {
                out.push(entry(
                    format!("ro-{id}"),
                    at,
                    "repair-order",
                    vec![("id", id), ("number", number), ("status", status)],
                ));
            }
            let sql = format!(
                "SELECT a.id, a.starts_at, a.status, a.created_at, a.organisation_id FROM appointments a \
                 WHERE a.customer_id = $1 AND a.organisation_id IN ({})",
                inside(&crm)
            );
            let mut q =
                sqlx::query_as::<_, (String, i64, String, i64, String)>(&sql).bind(customer_id);
            for o in &crm {
                q = q.bind(o);
            }
            for (id, starts, status, at, org) in q.fetch_all(&self.store.pool).await? {
                let local = self
                    .store
                    .org()
                    .zone_of(&org)
                    .await?
                    .local(from_micros(starts));
                out.push(entry(
                    format!("appointment-{id}"),
                    at,
                    "appointment",
                    vec![
                        ("date", local.date().to_string()),
                        ("time", format!("{:02}:{:02}", local.hour(), local.minute())),
                        ("status", status),
                    ],
                ));
            }
            let sql = format!(
                "SELECT id, event, channel, status, subject, COALESCE(sent_at, created_at) FROM outbox \
                 WHERE customer_id = $1 AND status IN ('sent', 'dead') AND organisation_id IN ({})",
                inside(&crm)
            );
            let mut q = sqlx::query_as::<_, (String, String, String, String, String, i64)>(&sql)
                .bind(customer_id);
            for o in &crm {
                q = q.bind(o);
            }
            for (id, event, channel, status, subject, at) in q.fetch_all(&self.store.pool).await? {
                let mut e = entry(
                    format!("message-{id}"),
                    at,
                    "message-sent",
                    vec![("event", event), ("channel", channel), ("status", status)],
                );
                // The words the customer received, in their language.
                e.body = (!subject.is_empty()).then_some(subject);
                out.push(e);
            }
            let sql = format!(
                "SELECT s.repair_order_id, s.answered_at, s.csat, s.nps, s.comment FROM surveys s \
                 JOIN repair_orders r ON r.id = s.repair_order_id \
                 WHERE r.customer_id = $1 AND s.answered_at IS NOT NULL AND r.organisation_id IN ({})",
                inside(&crm)
            );
            type Survey = (String, i64, Option<i64>, Option<i64>, Option<String>);
            let mut q = sqlx::query_as::<_, Survey>(&sql).bind(customer_id);
            for o in &crm {
                q = q.bind(o);
            }
            for (ro, at, csat, nps, comment) in q.fetch_all(&self.store.pool).await? {
                let mut e = entry(
                    format!("survey-{ro}"),
                    at,
                    "survey",
                    vec![
                        ("csat", csat.map(|v| v.to_string()).unwrap_or_default()),
                        ("nps", nps.map(|v| v.to_string()).unwrap_or_default()),
                    ],
                );
                e.body = comment;
                out.push(e);
            }
        }
        let billing = scope.orgs_with(Permission::BillingRead);
        if !billing.is_empty() {
            let sql = format!(
                "SELECT id, kind, number, gross_minor, currency, issued_at FROM billing_documents \
                 WHERE customer_id = $1 AND status = 'issued' AND organisation_id IN ({})",
                inside(&billing)
            );
            type Doc = (String, String, Option<String>, i64, String, Option<i64>);
            let mut q = sqlx::query_as::<_, Doc>(&sql).bind(customer_id);
            for o in &billing {
                q = q.bind(o);
            }
            for (id, kind, number, gross, currency, at) in q.fetch_all(&self.store.pool).await? {
                out.push(entry(
                    format!("document-{id}"),
                    at.unwrap_or(0),
                    if kind == "credit-note" {
                        "credit-note"
                    } else {
                        "invoice"
                    },
                    vec![
                        ("id", id),
                        ("number", number.unwrap_or_default()),
                        ("gross", gross.to_string()),
                        ("currency", currency),
                    ],
                ));
            }
        }
        out.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| b.id.cmp(&a.id)));
        Ok(out)
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
