//! Repair orders: creation, reading (with jobs, lines, events and the appointment), lists, jobs and
//! their three Cs.

use super::*;

impl Workshop<'_> {
    /// Opens a repair order without an appointment (a walk-in or a car already on site).
    pub async fn create_repair_order(
        self,
        scope: &Scope,
        input: &RepairOrderInput,
        now: OffsetDateTime,
    ) -> Result<RepairOrder, StoreError> {
        let org = input.organisation_id.trim();
        self.require_service_point(scope, org, Permission::WorkshopWrite)
            .await?;
        let mut errs = ValidationErrors::default();
        let complaint = errs.take(text_block("complaint", &input.complaint, 2, 5000));
        let (customer, vehicle_id, case_id) = self
            .parties(
                scope,
                org,
                &input.customer_id,
                &input.vehicle_id,
                &input.case_id,
                &mut errs,
            )
            .await?;
        errs.into_result()?;
        let (Some(customer), Some(complaint)) = (customer, complaint) else {
            return Err(StoreError::Internal(
                "validated repair order lost a field".into(),
            ));
        };
        let id = new_id();
        let mut tx = self.store.begin().await?;
        let number = next_ro_number(&mut tx, now.year()).await?;
        sqlx::query("INSERT INTO repair_orders (id, number, organisation_id, customer_id, vehicle_id, case_id, appointment_id, status, eta, public_token, created_by, created_at, updated_at, version) \
             VALUES ($1, $2, $3, $4, $5, $6, NULL, 'booked', NULL, $7, $8, $9, $9, 1)")
            .bind(&id)
            .bind(&number)
            .bind(org)
            .bind(&customer.id)
            .bind(&vehicle_id)
            .bind(&case_id)
            .bind(crate::new_token())
            .bind(scope.user_id())
            .bind(micros(now))
            .execute(&mut *tx)
            .await?;
        let title: String = complaint.chars().take(80).collect();
        insert_job(
            &mut tx,
            &new_id(),
            &id,
            1,
            &title,
            &complaint,
            PayType::Customer,
            Approval::NotRequired,
            None,
            now,
        )
        .await?;
        ro_event(
            &mut tx,
            &id,
            "status",
            Some(RoStatus::Booked),
            None,
            Some(scope.user_id()),
            "staff",
            now,
        )
        .await?;
        if let Some(case_id) = &case_id {
            crate::cases::fact(
                &mut tx,
                case_id,
                "repair-order",
                None,
                &[("number", number.as_str())],
                None,
                Some(scope.user_id()),
                now,
            )
            .await?;
        }
        tx.commit().await?;
        self.repair_order(scope, &id).await
    }
    pub(crate) async fn ro_row(self, id: &str) -> Result<RoRow, StoreError> {
        let sql = format!("{RO_SELECT} WHERE r.id = $1");
        sqlx::query_as::<_, RoRow>(&sql)
            .bind(id)
            .fetch_optional(&self.store.pool)
            .await?
            .ok_or(StoreError::NotFound)
    }
    pub(crate) async fn readable_ro(self, scope: &Scope, id: &str) -> Result<RoRow, StoreError> {
        let row = self.ro_row(id).await?;
        if !scope.permits(&row.organisation_id, Permission::CrmRead) {
            return Err(StoreError::NotFound);
        }
        Ok(row)
    }
    pub(crate) async fn writable_ro(self, scope: &Scope, id: &str) -> Result<RoRow, StoreError> {
        let row = self.readable_ro(scope, id).await?;
        scope.require(&row.organisation_id, Permission::WorkshopWrite)?;
        Ok(row)
    }
    /// A repair order the caller may change and that is still under way (not delivered,
    /// closed or cancelled).
    pub(crate) async fn active_ro(self, scope: &Scope, id: &str) -> Result<RoRow, StoreError> {
        let row = self.writable_ro(scope, id).await?;
        require_active(crate::decode(
            "repair_orders",
            "status",
            &row.status,
            RoStatus::parse,
        )?)?;
        Ok(row)
    }
    pub async fn repair_order(self, scope: &Scope, id: &str) -> Result<RepairOrder, StoreError> {
        let row = self.readable_ro(scope, id).await?;
        let mut ro = self.assemble(row).await?;
        // Prices are for those who plan the work or invoice it, not for the technician at the car.
        if !scope.permits(&ro.organisation.id, Permission::WorkshopPlan)
            && !scope.permits(&ro.organisation.id, Permission::BillingRead)
        {
            ro.prices_shown = false;
            ro.totals.clear();
            for j in &mut ro.jobs {
                j.estimate = None;
                for l in &mut j.lines {
                    l.unit_price = None;
                    l.total = None;
                }
            }
        }
        Ok(ro)
    }
    pub(crate) async fn assemble(self, row: RoRow) -> Result<RepairOrder, StoreError> {
        let currency = self.currency_of(&row.organisation_id).await?;
        let status = crate::decode("repair_orders", "status", &row.status, RoStatus::parse)?;
        let jobs = self.jobs_of(&row.id, &currency).await?;
        let mut totals: BTreeMap<PayType, i64> = BTreeMap::new();
        for l in jobs.iter().flat_map(|j| j.lines.iter()) {
            *totals.entry(l.pay_type).or_default() += l
                .total
                .as_ref()
                .and_then(|t| parse_centi("t", &t.amount, i64::MIN, i64::MAX).ok())
                .unwrap_or(0);
        }
        let flat: i64 = jobs
            .iter()
            .map(|j| parse_centi("h", &j.flat_rate_hours, 0, i64::MAX).unwrap_or(0))
            .sum();
        let clocked: i64 = jobs.iter().map(|j| j.clocked_minutes).sum();
        let appointment = match &row.appointment_id {
            Some(a) => self.appointment_view(a).await?,
            None => None,
        };
        let events = self.ro_events(&row.id).await?;
        Ok(RepairOrder {
            next: status.next().to_vec(),
            status,
            organisation: Ref {
                id: row.organisation_id.clone(),
                label: row.org_name,
            },
            customer: Ref {
                id: row.customer_id,
                label: row.customer_name,
            },
            vehicle: row.vehicle_id.map(|id| Ref {
                id,
                label: row.vehicle_label.unwrap_or_default(),
            }),
            case: row.case_id.map(|id| Ref {
                id,
                label: row.case_number.unwrap_or_default(),
            }),
            appointment,
            eta: row.eta.map(from_micros),
            status_page: format!("/s/{}", row.public_token),
            prices_shown: true,
            totals: totals
                .into_iter()
                .map(|(pay_type, m)| PayTotal {
                    pay_type,
                    amount: Money::new(m, &currency),
                })
                .collect(),
            efficiency_percent: efficiency_percent(flat, Duration::minutes(clocked)),
            currency,
            jobs,
            events,
            created_at: from_micros(row.created_at),
            version: row.version,
            id: row.id,
            number: row.number,
        })
    }
    pub(crate) async fn appointment_view(
        self,
        id: &str,
    ) -> Result<Option<AppointmentView>, StoreError> {
        type Row = (
            String,
            String,
            i64,
            i64,
            Option<String>,
            String,
            String,
            Option<String>,
            String,
            String,
        );
        let row: Option<Row> = sqlx::query_as(
            "SELECT a.id, a.kind, a.starts_at, a.ends_at, b.name, a.technician_id, u.display_name, a.address, a.status, a.source \
             FROM appointments a JOIN users u ON u.id = a.technician_id LEFT JOIN bays b ON b.id = a.bay_id WHERE a.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.store.pool)
        .await?;
        row.map(
            |(id, kind, s, e, bay, tid, tname, address, status, source)| {
                Ok(AppointmentView {
                    id,
                    kind: crate::decode("appointments", "kind", &kind, AppointmentKind::parse)?,
                    starts_at: from_micros(s),
                    ends_at: from_micros(e),
                    bay,
                    technician: Ref {
                        id: tid,
                        label: tname,
                    },
                    address,
                    status,
                    source,
                })
            },
        )
        .transpose()
    }
    pub(crate) async fn jobs_of(self, ro_id: &str, currency: &str) -> Result<Vec<Job>, StoreError> {
        let jobs: Vec<JobRow> = sqlx::query_as(
            "SELECT j.id, j.position, j.title, j.complaint, j.cause, j.correction, j.pay_type, j.approval, j.approval_at, j.approval_via, \
             j.technician_id, u.display_name AS technician_name FROM ro_jobs j LEFT JOIN users u ON u.id = j.technician_id \
             WHERE j.repair_order_id = $1 ORDER BY j.position",
        )
        .bind(ro_id)
        .fetch_all(&self.store.pool)
        .await?;
        let lines: Vec<LineRow> = sqlx::query_as(
            "SELECT id, job_id, kind, code, description, quantity_centi, unit_price_minor, pay_type, certification, backordered \
             FROM ro_lines WHERE repair_order_id = $1 ORDER BY created_at, id",
        )
        .bind(ro_id)
        .fetch_all(&self.store.pool)
        .await?;
        let clocks: Vec<(String, i64, Option<i64>, String)> = sqlx::query_as(
            "SELECT c.job_id, c.started_at, c.stopped_at, u.display_name FROM ro_clockings c JOIN users u ON u.id = c.technician_id WHERE c.repair_order_id = $1",
        )
        .bind(ro_id)
        .fetch_all(&self.store.pool)
        .await?;
        jobs.into_iter()
            .map(|j| {
                let lines: Vec<Line> = lines
                    .iter()
                    .filter(|l| l.job_id == j.id)
                    .map(|l| {
                        Ok(Line {
                            id: l.id.clone(),
                            kind: crate::decode("ro_lines", "kind", &l.kind, LineKind::parse)?,
                            code: l.code.clone(),
                            description: l.description.clone(),
                            quantity: format_centi(l.quantity_centi),
                            unit_price: Some(Money::new(l.unit_price_minor, currency)),
                            total: Some(Money::new(
                                line_total(l.unit_price_minor, l.quantity_centi),
                                currency,
                            )),
                            pay_type: crate::decode(
                                "ro_lines",
                                "pay_type",
                                &l.pay_type,
                                PayType::parse,
                            )?,
                            certification: l.certification.clone(),
                            backordered: l.backordered == 1,
                        })
                    })
                    .collect::<Result<_, StoreError>>()?;
                let flat: i64 = lines
                    .iter()
                    .filter(|l| l.kind == LineKind::Labour)
                    .map(|l| parse_centi("q", &l.quantity, 0, i64::MAX).unwrap_or(0))
                    .sum();
                let estimate: i64 = lines
                    .iter()
                    .filter(|l| l.pay_type == PayType::Customer)
                    .filter_map(|l| l.total.as_ref())
                    .map(|t| parse_centi("t", &t.amount, i64::MIN, i64::MAX).unwrap_or(0))
                    .sum();
                let mine: Vec<&(String, i64, Option<i64>, String)> =
                    clocks.iter().filter(|c| c.0 == j.id).collect();
                let clocked_minutes = mine
                    .iter()
                    .filter_map(|(_, s, e, _)| e.map(|e| (e - s) / 60_000_000))
                    .sum();
                let clocked_on = mine
                    .iter()
                    .filter(|c| c.2.is_none())
                    .map(|c| c.3.clone())
                    .collect();
                let certifications: BTreeSet<String> = lines
                    .iter()
                    .filter_map(|l| l.certification.clone())
                    .collect();
                Ok(Job {
                    technician: j.technician_id.map(|id| Ref {
                        id,
                        label: j.technician_name.unwrap_or_default(),
                    }),
                    pay_type: crate::decode("ro_jobs", "pay_type", &j.pay_type, PayType::parse)?,
                    approval: crate::decode("ro_jobs", "approval", &j.approval, Approval::parse)?,
                    approval_at: j.approval_at.map(from_micros),
                    approval_via: j.approval_via,
                    certifications: certifications.into_iter().collect(),
                    flat_rate_hours: format_centi(flat),
                    estimate: Some(Money::new(estimate, currency)),
                    clocked_minutes,
                    clocked_on,
                    lines,
                    id: j.id,
                    position: j.position,
                    title: j.title,
                    complaint: j.complaint,
                    cause: j.cause,
                    correction: j.correction,
                })
            })
            .collect()
    }
    pub(crate) async fn ro_events(self, ro_id: &str) -> Result<Vec<RoEvent>, StoreError> {
        type Row = (
            i64,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            String,
            Option<String>,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT e.at, e.kind, e.status, e.body, u.display_name, e.via, e.params FROM ro_events e LEFT JOIN users u ON u.id = e.actor_user_id \
             WHERE e.repair_order_id = $1 ORDER BY e.at, e.id",
        )
        .bind(ro_id)
        .fetch_all(&self.store.pool)
        .await?;
        rows.into_iter()
            .map(|(at, kind, status, body, actor, via, params)| {
                let status = status
                    .map(|s| crate::decode("ro_events", "status", &s, RoStatus::parse))
                    .transpose()?;
                Ok(RoEvent {
                    at: from_micros(at),
                    kind,
                    status,
                    body,
                    params: crate::params_of("ro_events", params)?,
                    actor,
                    via,
                })
            })
            .collect()
    }
    /// Repair orders of the service points in reach: active ones, or those with `status` (or
    /// booked within `day`), by appointment (or opening) time, a page at a time.
    pub async fn repair_orders(
        self,
        scope: &Scope,
        status: Option<RoStatus>,
        day: Option<(OffsetDateTime, OffsetDateTime)>,
        cursor: Option<&str>,
        limit: i64,
    ) -> Result<crate::Page<RoSummary>, StoreError> {
        let orgs = scope.orgs_with(Permission::CrmRead);
        // The page goes on after the order the cursor names, in the list's order.
        let after: Option<(i64, String)> = match cursor {
            None => None,
            Some(c) => Some(
                sqlx::query_as(
                    "SELECT COALESCE(a.starts_at, r.created_at), r.number FROM repair_orders r LEFT JOIN appointments a ON a.id = r.appointment_id WHERE r.id = $1",
                )
                .bind(c)
                .fetch_optional(&self.store.pool)
                .await?
                .ok_or_else(|| {
                    ValidationErrors::single(
                        "cursor",
                        Rule::Unknown,
                        "cursor must be the next_cursor of the page before",
                    )
                })?,
            ),
        };
        let mut sql = format!(
            "SELECT r.id, r.number, o.name, c.name, CASE WHEN v.id IS NULL THEN NULL ELSE COALESCE(v.model, 'Vehicle') || ' ' || COALESCE(v.registration, v.vin) END, \
             r.status, a.starts_at, r.eta FROM repair_orders r JOIN organisations o ON o.id = r.organisation_id JOIN customers c ON c.id = r.customer_id \
             LEFT JOIN vehicles v ON v.id = r.vehicle_id LEFT JOIN appointments a ON a.id = r.appointment_id \
             WHERE r.organisation_id IN ({})",
            placeholders(1, orgs.len())
        );
        let mut n = orgs.len();
        match status {
            Some(_) => {
                n += 1;
                sql.push_str(&format!(" AND r.status = ${n}"));
            }
            None => sql.push_str(" AND r.status NOT IN ('delivered', 'closed', 'cancelled')"),
        }
        if day.is_some() {
            sql.push_str(&format!(
                " AND a.starts_at >= ${} AND a.starts_at < ${}",
                n + 1,
                n + 2
            ));
            n += 2;
        }
        if after.is_some() {
            sql.push_str(&format!(
                " AND (COALESCE(a.starts_at, r.created_at) > ${a} OR (COALESCE(a.starts_at, r.created_at) = ${a} AND r.number > ${b}))",
                a = n + 1,
                b = n + 2
            ));
            n += 2;
        }
        sql.push_str(&format!(
            " ORDER BY COALESCE(a.starts_at, r.created_at), r.number LIMIT ${}",
            n + 1
        ));
        type Row = (
            String,
            String,
            String,
            String,
            Option<String>,
            String,
            Option<i64>,
            Option<i64>,
        );
        let mut q = sqlx::query_as::<_, Row>(&sql);
        for o in &orgs {
            q = q.bind(o);
        }
        if let Some(s) = status {
            q = q.bind(s.as_str());
        }
        if let Some((a, b)) = day {
            q = q.bind(micros(a)).bind(micros(b));
        }
        if let Some((key, number)) = &after {
            q = q.bind(*key).bind(number.clone());
        }
        let rows = q.bind(limit + 1).fetch_all(&self.store.pool).await?;
        let page = crate::Page::from_rows(rows, limit, |r: &Row| r.0.clone());
        let mut out = Vec::new();
        for (id, number, org, customer, vehicle, st, starts, eta) in page.items {
            let technicians: Vec<String> = sqlx::query_scalar(
                "SELECT DISTINCT u.display_name FROM ro_jobs j JOIN users u ON u.id = j.technician_id WHERE j.repair_order_id = $1 ORDER BY u.display_name",
            )
            .bind(&id)
            .fetch_all(&self.store.pool)
            .await?;
            out.push(RoSummary {
                id,
                number,
                organisation: org,
                customer,
                vehicle,
                status: crate::decode("repair_orders", "status", &st, RoStatus::parse)?,
                starts_at: starts.map(from_micros),
                eta: eta.map(from_micros),
                technicians,
            });
        }
        Ok(crate::Page {
            items: out,
            next_cursor: page.next_cursor,
        })
    }
    /// The repair order of a case, if one was opened from it.
    pub async fn repair_orders_of_case(
        self,
        scope: &Scope,
        case_id: &str,
    ) -> Result<Vec<RoSummary>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM repair_orders WHERE case_id = $1 ORDER BY created_at",
        )
        .bind(case_id)
        .fetch_all(&self.store.pool)
        .await?;
        let mut out = Vec::new();
        for id in ids {
            // Orders outside the caller's reach (another service point's) are left out.
            match self.repair_order(scope, &id).await {
                Ok(ro) => out.push(RoSummary::of(&ro)),
                Err(StoreError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }
    pub async fn add_job(
        self,
        scope: &Scope,
        ro_id: &str,
        input: &JobInput,
        now: OffsetDateTime,
    ) -> Result<RepairOrder, StoreError> {
        let row = self.writable_ro(scope, ro_id).await?;
        let status = crate::decode("repair_orders", "status", &row.status, RoStatus::parse)?;
        require_active(status)?;
        let mut errs = ValidationErrors::default();
        let title = errs.take(text("title", &input.title, 2, 120));
        let complaint = errs.take(text_block("complaint", &input.complaint, 2, 5000));
        let pay = match opt(&input.pay_type) {
            Some(p) => errs.take(PayType::parse("pay_type", p)),
            None => Some(PayType::Customer),
        };
        errs.into_result()?;
        let pay = pay.unwrap_or(PayType::Customer);
        // Work found after the car came in and paid by the customer waits for their approval.
        let approval = if matches!(status, RoStatus::Booked | RoStatus::CheckedIn)
            || pay != PayType::Customer
        {
            Approval::NotRequired
        } else {
            Approval::Pending
        };
        let mut tx = self.store.begin().await?;
        sqlx::query(
            "UPDATE repair_orders SET updated_at = $1, version = version + 1 WHERE id = $2",
        )
        .bind(micros(now))
        .bind(ro_id)
        .execute(&mut *tx)
        .await?;
        let pos: i64 = sqlx::query_scalar(
            "SELECT COALESCE(MAX(position), 0) + 1 FROM ro_jobs WHERE repair_order_id = $1",
        )
        .bind(ro_id)
        .fetch_one(&mut *tx)
        .await?;
        insert_job(
            &mut tx,
            &new_id(),
            ro_id,
            pos,
            title.as_deref().unwrap_or(""),
            complaint.as_deref().unwrap_or(""),
            pay,
            approval,
            None,
            now,
        )
        .await?;
        ro_event(
            &mut tx,
            ro_id,
            "job",
            None,
            title,
            Some(scope.user_id()),
            "staff",
            now,
        )
        .await?;
        tx.commit().await?;
        self.repair_order(scope, ro_id).await
    }
    pub(crate) async fn job_of(
        self,
        ro_id: &str,
        job_id: &str,
    ) -> Result<(String, String, Option<String>), StoreError> {
        let r: Option<(String, String, Option<String>)> = sqlx::query_as("SELECT pay_type, approval, technician_id FROM ro_jobs WHERE id = $1 AND repair_order_id = $2")
            .bind(job_id)
            .bind(ro_id)
            .fetch_optional(&self.store.pool)
            .await?;
        r.ok_or(StoreError::NotFound)
    }
    /// Writes the three Cs and the pay type of a job.
    pub async fn update_job(
        self,
        scope: &Scope,
        ro_id: &str,
        job_id: &str,
        input: &JobUpdate,
        now: OffsetDateTime,
    ) -> Result<RepairOrder, StoreError> {
        self.active_ro(scope, ro_id).await?;
        self.job_of(ro_id, job_id).await?;
        let mut errs = ValidationErrors::default();
        let complaint = input
            .complaint
            .as_deref()
            .map(|c| errs.take(text_block("complaint", c, 2, 5000)));
        let cause = input.cause.as_deref().map(|c| {
            if c.trim().is_empty() {
                None
            } else {
                errs.take(text_block("cause", c, 2, 5000))
            }
        });
        let correction = input.correction.as_deref().map(|c| {
            if c.trim().is_empty() {
                None
            } else {
                errs.take(text_block("correction", c, 2, 5000))
            }
        });
        let pay = opt(&input.pay_type).and_then(|p| errs.take(PayType::parse("pay_type", p)));
        errs.into_result()?;
        let mut tx = self.store.begin().await?;
        sqlx::query(
            "UPDATE repair_orders SET updated_at = $1, version = version + 1 WHERE id = $2",
        )
        .bind(micros(now))
        .bind(ro_id)
        .execute(&mut *tx)
        .await?;
        if let Some(Some(c)) = complaint {
            sqlx::query("UPDATE ro_jobs SET complaint = $1 WHERE id = $2")
                .bind(c)
                .bind(job_id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(c) = cause {
            sqlx::query("UPDATE ro_jobs SET cause = $1 WHERE id = $2")
                .bind(c)
                .bind(job_id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(c) = correction {
            sqlx::query("UPDATE ro_jobs SET correction = $1 WHERE id = $2")
                .bind(c)
                .bind(job_id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(p) = pay {
            sqlx::query("UPDATE ro_jobs SET pay_type = $1 WHERE id = $2")
                .bind(p.as_str())
                .bind(job_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE ro_lines SET pay_type = $1 WHERE job_id = $2")
                .bind(p.as_str())
                .bind(job_id)
                .execute(&mut *tx)
                .await?;
            if p != PayType::Customer {
                sqlx::query("UPDATE ro_jobs SET approval = 'not-required' WHERE id = $1 AND approval = 'pending'").bind(job_id).execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
        self.repair_order(scope, ro_id).await
    }
}
