//! Deciding and applying goodwill: approval within authority or passing it up, and the split of
//! a job's lines between goodwill and the customer when an approval is applied.

use super::*;

impl Warranty<'_> {
    /// Decides a goodwill request (`version` as read): reject, or approve at the proposal or at
    /// other shares with a reason. Within the decider's authority the approval splits the job's
    /// lines (goodwill pays its share of each unit price, the customer the rest) and commits the
    /// quarter's budget; above it the request goes up a level with the decider's shares.
    pub async fn decide_goodwill(
        self,
        scope: &Scope,
        id: &str,
        version: i64,
        input: &GoodwillDecision,
        now: OffsetDateTime,
    ) -> Result<GoodwillRequest, StoreError> {
        let r = self.visible_row(scope, id).await?;
        let Some(authority) = Self::authority_at(scope, &r.organisation_id, &r.currency) else {
            return Err(StoreError::Forbidden(
                "deciding goodwill needs a service manager, importer staff, a market manager or a warranty administrator".into(),
            ));
        };
        let role = scope
            .roles_at(&r.organisation_id)
            .into_iter()
            .flatten()
            .copied()
            .max_by_key(|x| rules::authority(*x, &r.currency).unwrap_or(-1));
        let status = decode(
            "goodwill_requests",
            "status",
            &r.status,
            GoodwillStatus::parse,
        )?;
        let mut errs = ValidationErrors::default();
        if status != GoodwillStatus::Pending {
            errs.push(
                FieldError::new("action", Rule::NotAllowed, "the request has been decided")
                    .hint("gw-err-decided"),
            );
        }
        let note = input
            .note
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string);
        let reason = input
            .deviation_reason
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string);
        for (name, v) in [
            ("parts_pct", input.parts_pct),
            ("labour_pct", input.labour_pct),
        ] {
            if v.is_some_and(|v| !(0..=100).contains(&v)) {
                errs.push(
                    FieldError::new(
                        name,
                        Rule::NotAllowed,
                        format!("{name} lies between 0 and 100"),
                    )
                    .hint("gw-err-pct"),
                );
            }
        }
        let action = input.action.trim();
        if !matches!(action, "approve" | "reject") {
            errs.push(FieldError::new(
                "action",
                Rule::OneOf,
                "action must be one of approve, reject",
            ));
        }
        let pp = input.parts_pct.unwrap_or(r.parts_pct);
        let lp = input.labour_pct.unwrap_or(r.labour_pct);
        let proposed = (
            r.proposed_parts_pct.unwrap_or(0),
            r.proposed_labour_pct.unwrap_or(0),
        );
        if action == "approve" && (pp, lp) != proposed && reason.is_none() {
            errs.push(
                FieldError::new(
                    "deviation_reason",
                    Rule::Required,
                    "shares other than the policy's proposal need a reason",
                )
                .hint("gw-err-deviation"),
            );
        }
        if action == "reject" && note.is_none() {
            errs.push(
                FieldError::new("note", Rule::Required, "say why goodwill is refused")
                    .hint("gw-err-reject-note"),
            );
        }
        errs.into_result()?;
        let mut shares = shares_band(&r);
        shares.parts_pct = pp;
        shares.labour_pct = lp;
        let split = rules::split(r.parts_minor, r.labour_minor, pp, lp, &shares);
        let at = micros(now);
        let mut tx = self.store.begin().await?;
        let (next, event, level) = match action {
            "reject" => (
                GoodwillStatus::Rejected,
                "reject",
                rules::level_for(split.goodwill, &r.currency),
            ),
            _ if split.goodwill <= authority => (
                GoodwillStatus::Approved,
                "approve",
                rules::level_for(split.goodwill, &r.currency),
            ),
            _ => {
                // Above the decider's authority: the next level that covers the amount decides.
                (
                    GoodwillStatus::Pending,
                    "recommend",
                    rules::level_for(split.goodwill, &r.currency),
                )
            }
        };
        let done = sqlx::query(
            "UPDATE goodwill_requests SET status = $1, parts_pct = $2, labour_pct = $3, deviation_reason = COALESCE($4, deviation_reason), \
             goodwill_minor = $5, customer_minor = $6, level = $7, period = $8, updated_at = $9, version = version + 1 \
             WHERE id = $10 AND version = $11 AND status = 'pending'",
        )
        .bind(next.as_str())
        .bind(pp)
        .bind(lp)
        .bind(&reason)
        .bind(split.goodwill)
        .bind(split.customer)
        .bind(level.as_str())
        .bind((next == GoodwillStatus::Approved).then(|| quarter(now.date())))
        .bind(at)
        .bind(id)
        .bind(version)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict { current: r.version });
        }
        // A request from a case splits the lines when it is applied to a job.
        if let (GoodwillStatus::Approved, Some(job)) = (next, &r.job_id) {
            self.split_lines(&mut tx, job, pp, lp, now).await?;
        }
        Self::event(
            &mut tx,
            id,
            scope,
            role,
            event,
            Some((pp, lp)),
            note.as_deref(),
            at,
        )
        .await?;
        tx.commit().await?;
        self.goodwill_request(scope, id).await
    }

    /// What a job's lines the customer would pay (with those already goodwill when `with_goodwill`)
    /// come to: parts (and sublet), labour, and how many lines.
    pub(super) async fn job_amounts(
        self,
        job_id: &str,
        with_goodwill: bool,
    ) -> Result<(i64, i64, usize), StoreError> {
        let lines: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT kind, quantity_centi, unit_price_minor FROM ro_lines WHERE job_id = $1 \
             AND (pay_type = 'customer' OR (pay_type = 'goodwill' AND $2 = 1))",
        )
        .bind(job_id)
        .bind(i64::from(with_goodwill))
        .fetch_all(&self.store.pool)
        .await?;
        let (mut parts, mut labour) = (0_i64, 0_i64);
        for (kind, q, p) in &lines {
            if kind == "labour" {
                labour += line_total(*p, *q);
            } else {
                parts += line_total(*p, *q);
            }
        }
        Ok((parts, labour, lines.len()))
    }

    /// The jobs of a case's repair orders (not cancelled) that have no goodwill request yet.
    pub(super) async fn jobs_to_apply(self, case_id: &str) -> Result<Vec<Ref>, StoreError> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT j.id, r.number, j.title FROM ro_jobs j JOIN repair_orders r ON r.id = j.repair_order_id \
             WHERE r.case_id = $1 AND r.status <> 'cancelled' \
             AND NOT EXISTS (SELECT 1 FROM goodwill_requests g WHERE g.job_id = j.id) ORDER BY r.created_at, j.position",
        )
        .bind(case_id)
        .fetch_all(&self.store.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, number, title)| Ref {
                id,
                label: format!("{number} · {title}"),
            })
            .collect())
    }

    /// Applies an approved goodwill request from a case to a job of the case's repair order
    /// (`version` as read): the job's customer lines become the amounts, split at the approved
    /// shares. Goodwill above what was approved is refused (ask again on the job), so the
    /// decision's authority holds.
    pub async fn apply_goodwill(
        self,
        scope: &Scope,
        id: &str,
        version: i64,
        job_id: &str,
        now: OffsetDateTime,
    ) -> Result<GoodwillRequest, StoreError> {
        let r = self.visible_row(scope, id).await?;
        scope.require(&r.organisation_id, Permission::WarrantyClaim)?;
        let status = decode(
            "goodwill_requests",
            "status",
            &r.status,
            GoodwillStatus::parse,
        )?;
        let Some(case) = r.case_id.clone().filter(|_| r.job_id.is_none()) else {
            return Err(ValidationErrors::from(
                FieldError::new(
                    "job_id",
                    Rule::NotAllowed,
                    "only a request from a case that is not applied yet is applied to a job",
                )
                .hint("gw-err-applied"),
            )
            .into());
        };
        if status != GoodwillStatus::Approved {
            return Err(ValidationErrors::from(
                FieldError::new(
                    "job_id",
                    Rule::NotAllowed,
                    "a request is applied once it is approved",
                )
                .hint("gw-err-not-approved"),
            )
            .into());
        }
        if !self
            .jobs_to_apply(&case)
            .await?
            .iter()
            .any(|j| j.id == job_id)
        {
            return Err(ValidationErrors::from(
                FieldError::new(
                    "job_id",
                    Rule::NotAllowed,
                    "the job is not one of the case's repair orders, or has goodwill already",
                )
                .hint("gw-err-not-case-job"),
            )
            .into());
        }
        let (parts, labour, lines) = self.job_amounts(job_id, false).await?;
        let split = rules::split(parts, labour, r.parts_pct, r.labour_pct, &shares_band(&r));
        let approved = rules::split(
            r.parts_minor,
            r.labour_minor,
            r.parts_pct,
            r.labour_pct,
            &shares_band(&r),
        );
        let mut errs = ValidationErrors::default();
        if lines == 0 {
            errs.push(no_lines());
        }
        if split.goodwill > approved.goodwill {
            errs.push(
                FieldError::new(
                    "job_id",
                    Rule::NotAllowed,
                    "the job's goodwill is above what was approved: ask for goodwill on the job",
                )
                .hint("gw-err-above-approved"),
            );
        }
        errs.into_result()?;
        let ro_id: String = sqlx::query_scalar("SELECT repair_order_id FROM ro_jobs WHERE id = $1")
            .bind(job_id)
            .fetch_one(&self.store.pool)
            .await?;
        let at = micros(now);
        let mut tx = self.store.begin().await?;
        let done = sqlx::query(
            "UPDATE goodwill_requests SET repair_order_id = $1, job_id = $2, parts_minor = $3, labour_minor = $4, \
             goodwill_minor = $5, customer_minor = $6, updated_at = $7, version = version + 1 \
             WHERE id = $8 AND version = $9 AND job_id IS NULL",
        )
        .bind(&ro_id)
        .bind(job_id)
        .bind(parts)
        .bind(labour)
        .bind(split.goodwill)
        .bind(split.customer)
        .bind(at)
        .bind(id)
        .bind(version)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict { current: r.version });
        }
        self.split_lines(&mut tx, job_id, r.parts_pct, r.labour_pct, now)
            .await?;
        Self::event(&mut tx, id, scope, None, "apply", None, None, at).await?;
        tx.commit().await?;
        self.goodwill_request(scope, id).await
    }

    /// Splits a job's customer lines between goodwill and the customer: goodwill pays its share
    /// of each unit price (parts and sublet at `pp`, labour at `lp`), the customer the rest, so
    /// the two lines add up to the original exactly. Lines already on an invoice are refused.
    pub(super) async fn split_lines(
        self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        job: &str,
        pp: i64,
        lp: i64,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let billed: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM billing_lines bl JOIN ro_lines l ON l.id = bl.ro_line_id WHERE l.job_id = $1",
        )
        .bind(job)
        .fetch_one(&mut **tx)
        .await?;
        if billed > 0 {
            return Err(ValidationErrors::from(
                FieldError::new(
                    "job_id",
                    Rule::NotAllowed,
                    "the job's lines are on an invoice already: credit it first",
                )
                .hint("gw-err-invoiced"),
            )
            .into());
        }
        let lines: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT id, kind, unit_price_minor FROM ro_lines WHERE job_id = $1 AND pay_type = 'customer' ORDER BY created_at, id",
        )
        .bind(job)
        .fetch_all(&mut **tx)
        .await?;
        for (line, kind, unit) in lines {
            let pct = if kind == "labour" { lp } else { pp };
            match pct {
                0 => {}
                100 => {
                    sqlx::query("UPDATE ro_lines SET pay_type = 'goodwill' WHERE id = $1")
                        .bind(&line)
                        .execute(&mut **tx)
                        .await?;
                }
                _ => {
                    let share = rules::unit_share(unit, pct);
                    sqlx::query(
                        "INSERT INTO ro_lines (id, job_id, repair_order_id, kind, code, description, quantity_centi, unit_price_minor, \
                         unit_cost_minor, pay_type, labour_operation_id, part_id, certification, backordered, created_at) \
                         SELECT $1, job_id, repair_order_id, kind, code, description, quantity_centi, $2, 0, 'goodwill', \
                         labour_operation_id, part_id, certification, backordered, $3 FROM ro_lines WHERE id = $4",
                    )
                    .bind(new_id())
                    .bind(share)
                    .bind(micros(now))
                    .bind(&line)
                    .execute(&mut **tx)
                    .await?;
                    sqlx::query("UPDATE ro_lines SET unit_price_minor = $1 WHERE id = $2")
                        .bind(unit - share)
                        .bind(&line)
                        .execute(&mut **tx)
                        .await?;
                }
            }
        }
        Ok(())
    }
}
