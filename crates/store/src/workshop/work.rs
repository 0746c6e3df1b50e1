//! Work on a repair order: lines, competence-checked assignment, clocking, and the customer's
//! decision on added work.

use super::*;
use crate::db::Write;

impl Workshop<'_> {
    /// Adds a labour, part or sublet line to a job. Parts come off the service point's stock;
    /// what is not in stock is marked as on order.
    pub async fn add_line(
        self,
        scope: &Scope,
        ro_id: &str,
        job_id: &str,
        input: &LineInput,
        now: OffsetDateTime,
    ) -> Result<RepairOrder, StoreError> {
        let row = self.active_ro(scope, ro_id).await?;
        let (job_pay, _, job_tech) = self.job_of(ro_id, job_id).await?;
        let mut errs = ValidationErrors::default();
        let kind = errs.take(LineKind::parse("kind", &input.kind));
        let pay = match opt(&input.pay_type) {
            Some(p) => errs.take(PayType::parse("pay_type", p)),
            None => Some(crate::decode(
                "ro_jobs",
                "pay_type",
                &job_pay,
                PayType::parse,
            )?),
        };
        errs.clone().into_result()?;
        let org = row.organisation_id.clone();
        // A catalogue line reads in the customer's language: on the estimate, the status page
        // and the invoice.
        let lang = self.customer_language(&row.customer_id).await?;
        struct NewLine {
            code: Option<String>,
            description: String,
            qty: i64,
            price: i64,
            cost: i64,
            op: Option<String>,
            part: Option<String>,
            cert: Option<String>,
        }
        let line = match kind {
            Some(LineKind::Labour) => {
                let code = opt(&input.code).unwrap_or("");
                let op = self
                    .operations_at(&org)
                    .await?
                    .into_iter()
                    .find(|o| o.code.eq_ignore_ascii_case(code));
                match op {
                    None => {
                        errs.push(FieldError::new(
                            "code",
                            Rule::Unknown,
                            "code names no labour operation in this service point's catalogue",
                        ));
                        None
                    }
                    Some(op) => {
                        let flat =
                            parse_centi("hours", &op.hours, 0, i64::MAX).unwrap_or(MIN_HOURS_CENTI);
                        let qty = match opt(&input.quantity) {
                            Some(q) => errs.take(
                                parse_centi("quantity", q, MIN_HOURS_CENTI, 10_000)
                                    .map_err(|e| e.hint("err-labour-quantity")),
                            ),
                            None => Some(flat),
                        };
                        let rate = parse_centi(
                            "rate",
                            &self.settings_of(&org).await?.labour_rate.amount,
                            0,
                            i64::MAX,
                        )
                        .unwrap_or(DEFAULT_LABOUR_RATE_MINOR);
                        let description = op.name(lang).to_string();
                        qty.map(|qty| NewLine {
                            code: Some(op.code),
                            description,
                            qty,
                            price: rate,
                            cost: 0,
                            op: Some(op.id),
                            part: None,
                            cert: op.certification,
                        })
                    }
                }
            }
            Some(LineKind::Part) => {
                let code = opt(&input.code).unwrap_or("").to_ascii_uppercase();
                let lineage = self.store.org().lineage(&org).await?;
                let sql = format!("SELECT id, part_number, description, price_minor, cost_minor, organisation_id, names FROM parts WHERE part_number = $1 AND organisation_id IN ({})", placeholders(2, lineage.len()));
                type Found = (String, String, String, i64, i64, String, Option<String>);
                let mut q = sqlx::query_as::<_, Found>(&sql).bind(&code);
                for o in &lineage {
                    q = q.bind(o);
                }
                let mut found = q.fetch_all(&self.store.pool).await?;
                found.sort_by_key(|p| lineage.iter().position(|o| *o == p.5));
                match found.into_iter().next() {
                    None => {
                        errs.push(FieldError::new(
                            "code",
                            Rule::Unknown,
                            "code names no part number in this service point's catalogue",
                        ));
                        None
                    }
                    Some((id, number, description, price, cost, _, names)) => {
                        let names = super::catalogue::decode_names("parts", names)?;
                        let description = local_name(&names, &description, lang).to_string();
                        let qty = match opt(&input.quantity) {
                            Some(q) => errs.take(parse_centi("quantity", q, 1, 100_000_000)),
                            None => Some(100),
                        };
                        qty.map(|qty| NewLine {
                            code: Some(number),
                            description,
                            qty,
                            price,
                            cost,
                            op: None,
                            part: Some(id),
                            cert: None,
                        })
                    }
                }
            }
            Some(LineKind::Sublet) => {
                let description = errs.take(text(
                    "description",
                    opt(&input.description).unwrap_or(""),
                    2,
                    200,
                ));
                let price = errs.take(parse_centi(
                    "unit_price",
                    opt(&input.unit_price).unwrap_or(""),
                    0,
                    10_000_000_000,
                ));
                let qty = match opt(&input.quantity) {
                    Some(q) => errs.take(parse_centi("quantity", q, 1, 100_000_000)),
                    None => Some(100),
                };
                match (description, price, qty) {
                    (Some(d), Some(p), Some(q)) => Some(NewLine {
                        code: opt(&input.code).map(str::to_string),
                        description: d,
                        qty: q,
                        price: p,
                        cost: p,
                        op: None,
                        part: None,
                        cert: None,
                    }),
                    _ => None,
                }
            }
            None => None,
        };
        errs.into_result()?;
        let (Some(line), Some(pay)) = (line, pay) else {
            return Err(StoreError::Internal("validated line lost a field".into()));
        };
        // Work that needs a certificate cannot slip onto a job already given to someone without it.
        if let (Some(tech), Some(cert)) = (&job_tech, &line.cert) {
            let name: String = sqlx::query_scalar("SELECT display_name FROM users WHERE id = $1")
                .bind(tech)
                .fetch_one(&self.store.pool)
                .await?;
            let today = self.store.org().zone_of(&org).await?.local(now).date();
            if let Some(r) = crate::training::refusal(
                &self.store.pool,
                (tech, &name),
                &org,
                std::slice::from_ref(cert),
                today,
            )
            .await?
            {
                return Err(StoreError::Refused(r));
            }
            let certs: Vec<Certificate> = self
                .certifications_at(tech, &org, today)
                .await?
                .into_iter()
                .map(|c| Certificate {
                    code: c.code,
                    issued_on: c.issued_on,
                    expires_on: c.expires_on,
                })
                .collect();
            check_competence(&name, &certs, std::slice::from_ref(cert), today)
                .map_err(StoreError::Refused)?;
        }
        let status = crate::decode("repair_orders", "status", &row.status, RoStatus::parse)?;
        let mut tx = self.store.begin().await?;
        sqlx::query(
            "UPDATE repair_orders SET updated_at = $1, version = version + 1 WHERE id = $2",
        )
        .bind(micros(now))
        .bind(ro_id)
        .execute(&mut *tx)
        .await?;
        let mut backordered = false;
        if let Some(part) = &line.part {
            // Take from stock only when it covers the quantity; otherwise the part is ordered.
            let took = sqlx::query("UPDATE part_stock SET quantity_centi = quantity_centi - $1 WHERE part_id = $2 AND organisation_id = $3 AND quantity_centi >= $1")
                .bind(line.qty)
                .bind(part)
                .bind(&org)
                .execute(&mut *tx)
                .await?;
            backordered = took.rows_affected() == 0;
        }
        sqlx::query("INSERT INTO ro_lines (id, job_id, repair_order_id, kind, code, description, quantity_centi, unit_price_minor, unit_cost_minor, pay_type, labour_operation_id, part_id, certification, backordered, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)")
            .bind(new_id())
            .bind(job_id)
            .bind(ro_id)
            .bind(kind.map(|k| k.as_str()).unwrap_or("labour"))
            .bind(&line.code)
            .bind(&line.description)
            .bind(line.qty)
            .bind(line.price)
            .bind(line.cost)
            .bind(pay.as_str())
            .bind(&line.op)
            .bind(&line.part)
            .bind(&line.cert)
            .bind(flag(backordered))
            .bind(micros(now))
            .execute(&mut *tx)
            .await?;
        // An estimate the customer approved has grown: they decide again.
        if pay == PayType::Customer && !matches!(status, RoStatus::Booked | RoStatus::CheckedIn) {
            sqlx::query("UPDATE ro_jobs SET approval = 'pending', approval_at = NULL, approval_via = NULL WHERE id = $1 AND approval = 'approved'")
                .bind(job_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.repair_order(scope, ro_id).await
    }
    pub async fn remove_line(
        self,
        scope: &Scope,
        ro_id: &str,
        line_id: &str,
        now: OffsetDateTime,
    ) -> Result<RepairOrder, StoreError> {
        let row = self.active_ro(scope, ro_id).await?;
        let line: Option<(Option<String>, i64, i64)> = sqlx::query_as("SELECT part_id, quantity_centi, backordered FROM ro_lines WHERE id = $1 AND repair_order_id = $2")
            .bind(line_id)
            .bind(ro_id)
            .fetch_optional(&self.store.pool)
            .await?;
        let (part, qty, backordered) = line.ok_or(StoreError::NotFound)?;
        let invoiced: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM billing_lines WHERE ro_line_id = $1")
                .bind(line_id)
                .fetch_one(&self.store.pool)
                .await?;
        if invoiced > 0 {
            return Err(line_is_invoiced());
        }
        let mut tx = self.store.begin().await?;
        // A draft that took the line meanwhile keeps it: the foreign key refuses the delete.
        let gone = match sqlx::query("DELETE FROM ro_lines WHERE id = $1")
            .bind(line_id)
            .execute(&mut *tx)
            .await
        {
            Err(e)
                if e.as_database_error()
                    .is_some_and(|d| d.is_foreign_key_violation()) =>
            {
                return Err(line_is_invoiced())
            }
            r => r?,
        };
        if gone.rows_affected() == 0 {
            // Removed meanwhile (a double submit): nothing to give back twice.
            return Err(StoreError::NotFound);
        }
        if let (Some(part), 0) = (part, backordered) {
            sqlx::query("UPDATE part_stock SET quantity_centi = quantity_centi + $1 WHERE part_id = $2 AND organisation_id = $3")
                .bind(qty)
                .bind(part)
                .bind(&row.organisation_id)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "UPDATE repair_orders SET updated_at = $1, version = version + 1 WHERE id = $2",
        )
        .bind(micros(now))
        .bind(ro_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.repair_order(scope, ro_id).await
    }
    /// Gives a job to a technician of the service point who holds every certificate its labour
    /// needs, valid today. A refusal names the person and the certificate.
    pub async fn assign_technician(
        self,
        scope: &Scope,
        ro_id: &str,
        job_id: &str,
        technician_id: &str,
        now: OffsetDateTime,
    ) -> Result<RepairOrder, StoreError> {
        let row = self.active_ro(scope, ro_id).await?;
        // Technicians work on their jobs; who does what is planned by the advisor or manager.
        scope.require(&row.organisation_id, Permission::WorkshopPlan)?;
        self.job_of(ro_id, job_id).await?;
        let name: Option<String> =
            sqlx::query_scalar("SELECT display_name FROM users WHERE id = $1")
                .bind(technician_id)
                .fetch_optional(&self.store.pool)
                .await?;
        let Some(name) = name else {
            return Err(ValidationErrors::single(
                "technician_id",
                Rule::Unknown,
                "technician_id names nobody",
            )
            .into());
        };
        if self
            .require_technician_at(&row.organisation_id, technician_id)
            .await
            .is_err()
        {
            return Err(StoreError::Refused(Refusal::NotTechnicianHere {
                technician: name,
            }));
        }
        let required: Vec<String> = sqlx::query_scalar("SELECT DISTINCT certification FROM ro_lines WHERE job_id = $1 AND certification IS NOT NULL ORDER BY certification")
            .bind(job_id)
            .fetch_all(&self.store.pool)
            .await?;
        let today = self
            .store
            .org()
            .zone_of(&row.organisation_id)
            .await?
            .local(now)
            .date();
        if let Some(r) = crate::training::refusal(
            &self.store.pool,
            (technician_id, &name),
            &row.organisation_id,
            &required,
            today,
        )
        .await?
        {
            return Err(StoreError::Refused(r));
        }
        let certs: Vec<Certificate> = self
            .certifications_at(technician_id, &row.organisation_id, today)
            .await?
            .into_iter()
            .map(|c| Certificate {
                code: c.code,
                issued_on: c.issued_on,
                expires_on: c.expires_on,
            })
            .collect();
        check_competence(&name, &certs, &required, today).map_err(StoreError::Refused)?;
        let mut tx = self.store.begin().await?;
        sqlx::query("UPDATE ro_jobs SET technician_id = $1 WHERE id = $2")
            .bind(technician_id)
            .bind(job_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE repair_orders SET updated_at = $1, version = version + 1 WHERE id = $2",
        )
        .bind(micros(now))
        .bind(ro_id)
        .execute(&mut *tx)
        .await?;
        ro_event(
            &mut tx,
            ro_id,
            "assignment",
            None,
            Some(name),
            Some(scope.user_id()),
            "staff",
            now,
        )
        .await?;
        tx.commit().await?;
        self.repair_order(scope, ro_id).await
    }
    /// The caller clocks on a job assigned to them; a running clocking elsewhere stops first.
    pub async fn clock_on(
        self,
        scope: &Scope,
        ro_id: &str,
        job_id: &str,
        now: OffsetDateTime,
    ) -> Result<RepairOrder, StoreError> {
        let row = self.writable_ro(scope, ro_id).await?;
        let status = crate::decode("repair_orders", "status", &row.status, RoStatus::parse)?;
        if !status.allows_clocking() {
            return Err(ValidationErrors::single(
                "job_id",
                Rule::NotAllowed,
                if status == RoStatus::Booked {
                    "the car is not checked in yet: time is clocked once it is at the workshop"
                } else {
                    "the work on this repair order is finished: no more time is clocked on it"
                },
            )
            .into());
        }
        let (_, _, tech) = self.job_of(ro_id, job_id).await?;
        if tech.as_deref() != Some(scope.user_id()) {
            return Err(ValidationErrors::single(
                "job_id",
                Rule::NotAllowed,
                "only the technician assigned to a job clocks on it",
            )
            .into());
        }
        let mut tx = self.store.begin().await?;
        sqlx::query("UPDATE ro_clockings SET stopped_at = $1 WHERE technician_id = $2 AND stopped_at IS NULL")
            .bind(micros(now))
            .bind(scope.user_id())
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO ro_clockings (id, job_id, repair_order_id, technician_id, started_at, stopped_at) VALUES ($1, $2, $3, $4, $5, NULL)")
            .bind(new_id())
            .bind(job_id)
            .bind(ro_id)
            .bind(scope.user_id())
            .bind(micros(now))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.repair_order(scope, ro_id).await
    }
    pub async fn clock_off(
        self,
        scope: &Scope,
        ro_id: &str,
        job_id: &str,
        now: OffsetDateTime,
    ) -> Result<RepairOrder, StoreError> {
        self.writable_ro(scope, ro_id).await?;
        self.job_of(ro_id, job_id).await?;
        let done = sqlx::query("UPDATE ro_clockings SET stopped_at = $1 WHERE job_id = $2 AND technician_id = $3 AND stopped_at IS NULL")
            .bind(micros(now))
            .bind(job_id)
            .bind(scope.user_id())
            .write(self.store)
            .await?;
        if done.rows_affected() == 0 {
            return Err(ValidationErrors::single(
                "job_id",
                Rule::NotAllowed,
                "you are not clocked on this job",
            )
            .into());
        }
        self.repair_order(scope, ro_id).await
    }
    /// Records the customer's answer taken by phone or at the desk.
    pub async fn decide_job(
        self,
        scope: &Scope,
        ro_id: &str,
        job_id: &str,
        approve: bool,
        now: OffsetDateTime,
    ) -> Result<RepairOrder, StoreError> {
        let row = self.writable_ro(scope, ro_id).await?;
        self.decide(
            &row.id,
            &row.status,
            job_id,
            approve,
            Decider::Staff(scope.user_id()),
            now,
        )
        .await?;
        self.repair_order(scope, ro_id).await
    }

    /// The one write of a decision on added work, by staff or by the customer on the status page:
    /// the job's approval (only while pending), the repair order's version and its event.
    pub(crate) async fn decide(
        self,
        ro_id: &str,
        status: &str,
        job_id: &str,
        approve: bool,
        by: Decider<'_>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let status = crate::decode("repair_orders", "status", status, RoStatus::parse)?;
        let (actor, via) = match by {
            Decider::Staff(user) => {
                require_active(status)?;
                (Some(user), "staff")
            }
            Decider::Customer => {
                if !status.is_active() {
                    return Err(ValidationErrors::single(
                        "job_id",
                        Rule::NotAllowed,
                        "this repair order is finished; call us if something is wrong",
                    )
                    .into());
                }
                (None, "status-page")
            }
        };
        let mut tx = self.store.begin().await?;
        let done = sqlx::query("UPDATE ro_jobs SET approval = $1, approval_at = $2, approval_via = $3 WHERE id = $4 AND repair_order_id = $5 AND approval = 'pending'")
            .bind(if approve { "approved" } else { "declined" })
            .bind(micros(now))
            .bind(via)
            .bind(job_id)
            .bind(ro_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(ValidationErrors::single(
                "job_id",
                Rule::NotAllowed,
                match by {
                    Decider::Staff(_) => "this job does not wait for a decision",
                    Decider::Customer => "this work does not wait for your decision",
                },
            )
            .into());
        }
        let title: String = sqlx::query_scalar("SELECT title FROM ro_jobs WHERE id = $1")
            .bind(job_id)
            .fetch_one(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE repair_orders SET updated_at = $1, version = version + 1 WHERE id = $2",
        )
        .bind(micros(now))
        .bind(ro_id)
        .execute(&mut *tx)
        .await?;
        ro_event(
            &mut tx,
            ro_id,
            if approve { "approved" } else { "declined" },
            None,
            Some(title),
            actor,
            via,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Who decides on added work; the wording of a refusal and the event's channel follow from it.
#[derive(Clone, Copy)]
pub(crate) enum Decider<'a> {
    /// A member of staff, by user id.
    Staff(&'a str),
    /// The customer, on the status page.
    Customer,
}

/// A repair-order line on a billing document (draft or issued) stays: the document refers to it.
fn line_is_invoiced() -> StoreError {
    ValidationErrors::single(
        "line_id",
        Rule::NotAllowed,
        "the line is on an invoice (or a draft of one) and stays with the repair order; delete the draft first if it is one",
    )
    .into()
}
