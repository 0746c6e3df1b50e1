//! Reading cases (one, by number, the inbox, a customer's), messages and status changes.

use super::*;

impl Cases<'_> {
    pub(crate) async fn events_of(self, case_id: &str) -> Result<Vec<CaseEvent>, StoreError> {
        type Row = (
            String,
            i64,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT e.id, e.at, e.kind, e.status, e.body, u.display_name, e.params FROM case_events e LEFT JOIN users u ON u.id = e.actor_user_id \
             WHERE e.case_id = $1 ORDER BY e.at, e.id",
        )
        .bind(case_id)
        .fetch_all(&self.store.pool)
        .await?;
        rows.into_iter()
            .map(|(id, at, kind, status, body, actor, params)| {
                Ok(CaseEvent {
                    id,
                    at: from_micros(at),
                    kind,
                    status,
                    params: crate::params_of("case_events", params)?,
                    body,
                    actor,
                })
            })
            .collect()
    }
    pub(crate) async fn case_from_row(
        self,
        row: CaseRow,
        now: OffsetDateTime,
    ) -> Result<Case, StoreError> {
        let events = self.events_of(&row.id).await?;
        let cal = self.calendar_for(&row.organisation_id, now).await?;
        let created = from_micros(row.created_at);
        let status = crate::decode("cases", "status", &row.status, Status::parse)?;
        // Pauses: from each change into waiting-for-customer to the next change out of it.
        let mut pauses: Vec<(OffsetDateTime, OffsetDateTime)> = Vec::new();
        let mut since: Option<OffsetDateTime> = None;
        for e in events
            .iter()
            .filter(|e| e.kind == "status" || e.kind == "created")
        {
            // Waiting for the customer, or resolved until reopened: the clock stands still.
            let stopped =
                |st: &str| st == "waiting-for-customer" || st == "resolved" || st == "closed";
            match (e.status.as_deref(), since) {
                (Some(st), None) if stopped(st) => since = Some(e.at),
                (Some(s), Some(start)) if !stopped(s) => {
                    pauses.push((start, e.at));
                    since = None;
                }
                _ => {}
            }
        }
        if let Some(start) = since {
            pauses.push((start, now.max(start)));
        }
        let paused = status == Status::WaitingForCustomer;
        let timer = |minutes: i64, done_at: Option<i64>| {
            let end = done_at.map(from_micros).unwrap_or(now);
            let used = cal.business_time(created, end, &pauses).whole_minutes();
            let due = if done_at.is_some() {
                None
            } else {
                cal.deadline(created, Duration::minutes(minutes), &pauses)
            };
            SlaTimer {
                state: timer_state(done_at.is_some(), used <= minutes, paused, minutes, used),
                minutes,
                used_minutes: used,
                due_at: due,
            }
        };
        // A case resolved without a reply no longer waits for its first response.
        let first_response = timer(
            row.first_response_minutes,
            row.first_responded_at.or(row.resolved_at),
        );
        let resolution = timer(row.resolution_minutes, row.resolved_at);
        Ok(Case {
            id: row.id,
            number: row.number,
            organisation: Ref {
                id: row.organisation_id,
                label: row.organisation_name,
            },
            customer: row.customer_id.map(|id| Ref {
                id,
                label: row.customer_name.unwrap_or_default(),
            }),
            vehicle: row.vehicle_id.map(|id| Ref {
                id,
                label: row.vehicle_label.unwrap_or_default(),
            }),
            contact: row.contact,
            channel: crate::decode("cases", "channel", &row.channel, Channel::parse)?,
            category: crate::decode("cases", "category", &row.category, Category::parse)?,
            priority: crate::decode("cases", "priority", &row.priority, Priority::parse)?,
            status,
            subject: row.subject,
            symptoms: row.symptoms,
            owner: row.owner_user_id.map(|id| Ref {
                id,
                label: row.owner_name.unwrap_or_default(),
            }),
            escalated_at: row.escalated_at.map(from_micros),
            escalation_reason: row
                .escalation_reason
                .as_deref()
                .and_then(EscalationReason::parse),
            first_response,
            resolution,
            created_at: created,
            version: row.version,
        })
    }
    /// A case the caller may read: one their reach handles, or one a party in their reach took in
    /// and handed on (that party keeps following it, read-only).
    pub(crate) async fn case_row(self, scope: &Scope, id: &str) -> Result<CaseRow, StoreError> {
        let sql = format!("{CASE_SELECT} WHERE c.id = $1");
        let row = sqlx::query_as::<_, CaseRow>(&sql)
            .bind(id)
            .fetch_optional(&self.store.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        if scope.permits(&row.organisation_id, Permission::CrmRead) {
            return Ok(row);
        }
        let parties: Vec<String> =
            sqlx::query_scalar("SELECT from_organisation_id FROM case_handoffs WHERE case_id = $1")
                .bind(id)
                .fetch_all(&self.store.pool)
                .await?;
        if parties
            .iter()
            .any(|p| scope.permits(p, Permission::CrmRead))
        {
            Ok(row)
        } else {
            Err(StoreError::NotFound)
        }
    }
    /// The id of the case with this number (`CASE-2026-00042`, any case, spaces ignored) when
    /// the caller may read it; `NotFound` otherwise, so numbers out of reach reveal nothing.
    pub async fn case_id_by_number(
        self,
        scope: &Scope,
        number: &str,
    ) -> Result<String, StoreError> {
        let number: String = number
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_uppercase();
        let id: Option<String> = sqlx::query_scalar("SELECT id FROM cases WHERE number = $1")
            .bind(&number)
            .fetch_optional(&self.store.pool)
            .await?;
        let id = id.ok_or(StoreError::NotFound)?;
        self.case_row(scope, &id).await?;
        Ok(id)
    }
    pub async fn get_case(
        self,
        scope: &Scope,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<Case, StoreError> {
        let row = self.case_row(scope, id).await?;
        self.case_from_row(row, now).await
    }
    pub async fn case_events(self, scope: &Scope, id: &str) -> Result<Vec<CaseEvent>, StoreError> {
        self.case_row(scope, id).await?;
        self.events_of(id).await
    }
    /// The inbox: active cases in reach, the most urgent first (breached, at risk, then by due
    /// time). Reading it also applies the SLA rules: a timer newly at risk escalates its case,
    /// a newly breached one is recorded.
    pub async fn inbox(
        self,
        scope: &Scope,
        filter: InboxFilter,
        now: OffsetDateTime,
    ) -> Result<Vec<Case>, StoreError> {
        scope.require_somewhere(Permission::CrmRead)?;
        let orgs = scope.orgs_with(Permission::CrmRead);
        let n = orgs.len();
        let extra = match filter {
            InboxFilter::All => String::new(),
            InboxFilter::Mine => format!(" AND c.owner_user_id = ${}", n + 1),
            InboxFilter::Escalated => " AND c.escalated_at IS NOT NULL".to_string(),
        };
        let sql = format!(
            "{CASE_SELECT} WHERE c.organisation_id IN ({}) AND c.status IN ('new', 'open', 'waiting-for-customer'){extra} ORDER BY c.created_at",
            placeholders(1, n)
        );
        let mut q = sqlx::query_as::<_, CaseRow>(&sql);
        for o in &orgs {
            q = q.bind(o);
        }
        if filter == InboxFilter::Mine {
            q = q.bind(scope.user_id());
        }
        let rows = q.fetch_all(&self.store.pool).await?;
        let mut cases = Vec::with_capacity(rows.len());
        for row in rows {
            let (fr_breached, res_breached, escalated) = (
                row.first_response_breached_at.is_some(),
                row.resolution_breached_at.is_some(),
                row.escalated_at.is_some(),
            );
            let case = self.case_from_row(row, now).await?;
            self.apply_sla_rules(&case, fr_breached, res_breached, escalated, now)
                .await?;
            cases.push(case);
        }
        let rank = |t: Timer| match t {
            Timer::Breached => 0,
            Timer::AtRisk => 1,
            Timer::Running => 2,
            Timer::Paused => 3,
            Timer::Met => 4,
        };
        cases.sort_by(|a, b| {
            let ka = (
                rank(a.first_response.state).min(rank(a.resolution.state)),
                a.resolution.due_at,
            );
            let kb = (
                rank(b.first_response.state).min(rank(b.resolution.state)),
                b.resolution.due_at,
            );
            ka.cmp(&kb)
        });
        Ok(cases)
    }
    pub(crate) async fn writable_case(
        self,
        scope: &Scope,
        id: &str,
    ) -> Result<CaseRow, StoreError> {
        let row = self.case_row(scope, id).await?;
        scope.require(&row.organisation_id, Permission::CrmWrite)?;
        Ok(row)
    }
    /// An internal note (only colleagues see it) or a message to the customer (which counts as
    /// the first response and opens a new case).
    pub async fn add_case_message(
        self,
        scope: &Scope,
        id: &str,
        body: &str,
        to_customer: bool,
        now: OffsetDateTime,
    ) -> Result<Case, StoreError> {
        let row = self.writable_case(scope, id).await?;
        let body = text_block("body", body, 1, 10_000).map_err(ValidationErrors::from)?;
        let mut tx = self.store.begin().await?;
        event(
            &mut tx,
            id,
            if to_customer { "message" } else { "note" },
            None,
            Some(body.clone()),
            Some(scope.user_id()),
            now,
        )
        .await?;
        if let (true, Some(customer_id)) = (to_customer, &row.customer_id) {
            // The message goes to the customer through the outbox, in the same transaction.
            let seq: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM case_events WHERE case_id = $1")
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?;
            crate::notify::enqueue(
                &mut tx,
                self.store.public_url(),
                &crate::notify::Notice {
                    event: aftersales_domain::notify::Event::CaseMessage,
                    ro: None,
                    case_id: Some(id),
                    dedupe: format!("case:{id}:message:{seq}"),
                    extra: Vec::new(),
                    place: None,
                    message: Some(body),
                    calendar: None,
                    delay: Duration::ZERO,
                    item: None,
                    due: None,
                },
                &crate::notify::Addressee {
                    org_id: row.organisation_id.clone(),
                    org_name: row.organisation_name.clone(),
                    customer_id: customer_id.clone(),
                    number: row.number.clone(),
                    token: String::new(),
                    vehicle: row.vehicle_label.clone().unwrap_or_default(),
                    eta: None,
                },
                now,
            )
            .await?;
        }
        if to_customer {
            sqlx::query("UPDATE cases SET first_responded_at = COALESCE(first_responded_at, $1), updated_at = $1, version = version + 1 WHERE id = $2")
                .bind(micros(now))
                .bind(id)
                .execute(&mut *tx)
                .await?;
            if row.status == "new" {
                sqlx::query("UPDATE cases SET status = 'open' WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                event(
                    &mut tx,
                    id,
                    "status",
                    Some(Status::Open),
                    None,
                    Some(scope.user_id()),
                    now,
                )
                .await?;
            }
        }
        tx.commit().await?;
        self.get_case(scope, id, now).await
    }
    /// Moves a case along its status machine, guarded by its version.
    pub async fn set_case_status(
        self,
        scope: &Scope,
        id: &str,
        next: Status,
        expected_version: i64,
        now: OffsetDateTime,
    ) -> Result<Case, StoreError> {
        let row = self.writable_case(scope, id).await?;
        let current = crate::decode("cases", "status", &row.status, Status::parse)?;
        if !current.may_become(next) {
            return Err(ValidationErrors::single(
                "status",
                Rule::NotAllowed,
                format!(
                    "a {} case cannot become {}",
                    current.as_str(),
                    next.as_str()
                ),
            )
            .into());
        }
        let resolved_at = match next {
            Status::Resolved => Some(micros(now)),
            Status::Closed => row.resolved_at,
            _ => None,
        };
        let mut tx = self.store.begin().await?;
        let done = sqlx::query("UPDATE cases SET status = $1, resolved_at = $2, updated_at = $3, version = version + 1 WHERE id = $4 AND version = $5")
            .bind(next.as_str())
            .bind(resolved_at)
            .bind(micros(now))
            .bind(id)
            .bind(expected_version)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict {
                current: row.version,
            });
        }
        event(
            &mut tx,
            id,
            "status",
            Some(next),
            None,
            Some(scope.user_id()),
            now,
        )
        .await?;
        if matches!(next, Status::Resolved | Status::Closed) {
            on_customer_timeline(
                &mut tx,
                &row,
                ("status", next.as_str().to_string()),
                Some(scope.user_id()),
                now,
            )
            .await?;
        }
        tx.commit().await?;
        self.get_case(scope, id, now).await
    }
    /// Cases of a customer, newest first, a page at a time (`cursor`: the `next_cursor` before).
    pub async fn cases_of_customer(
        self,
        scope: &Scope,
        customer_id: &str,
        (cursor, limit): (Option<&str>, i64),
        now: OffsetDateTime,
    ) -> Result<crate::Page<Case>, StoreError> {
        self.store.crm().get_customer(scope, customer_id).await?;
        let after = crate::db::cursor_key(&self.store.pool, "cases", cursor).await?;
        let (at, id) = after.unwrap_or((i64::MAX, String::new()));
        let sql = format!(
            "{CASE_SELECT} WHERE c.customer_id = $1 AND (c.created_at < $2 OR (c.created_at = $2 AND c.id < $3) OR $4 = 1) \
             ORDER BY c.created_at DESC, c.id DESC LIMIT $5"
        );
        let rows = sqlx::query_as::<_, CaseRow>(&sql)
            .bind(customer_id)
            .bind(at)
            .bind(id)
            .bind(i64::from(cursor.is_none()))
            .bind(limit + 1)
            .fetch_all(&self.store.pool)
            .await?;
        let page = crate::Page::from_rows(rows, limit, |r: &CaseRow| r.id.clone());
        let mut out = Vec::new();
        for r in page.items {
            // A case handled by another party of the market stays theirs to show.
            if self.case_row(scope, &r.id).await.is_ok() {
                out.push(self.case_from_row(r, now).await?);
            }
        }
        Ok(crate::Page {
            items: out,
            next_cursor: page.next_cursor,
        })
    }
    /// One page of the inbox (see [`Self::inbox`]): its order is worked out from the timers at
    /// each reading, so its cursor is the position where the next page starts.
    pub async fn inbox_page(
        self,
        scope: &Scope,
        filter: InboxFilter,
        (cursor, limit): (Option<&str>, i64),
        now: OffsetDateTime,
    ) -> Result<crate::Page<Case>, StoreError> {
        let from = match cursor {
            None => 0,
            Some(c) => c.parse::<usize>().map_err(|_| {
                ValidationErrors::single(
                    "cursor",
                    Rule::Unknown,
                    "cursor must be the next_cursor of the page before",
                )
            })?,
        };
        let all = self.inbox(scope, filter, now).await?;
        let limit = usize::try_from(limit).unwrap_or(1);
        let next_cursor = (all.len() > from + limit).then(|| (from + limit).to_string());
        Ok(crate::Page {
            items: all.into_iter().skip(from).take(limit).collect(),
            next_cursor,
        })
    }
}
