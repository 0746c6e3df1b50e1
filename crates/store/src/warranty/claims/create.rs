//! A claim created from a repair-order job: checked against the terms, the job's lines and the
//! car's history, numbered, with its lines and evidence.

use super::*;

impl Warranty<'_> {
    /// Makes a claim (a draft) from one job of a repair order: the job's lines with pay type
    /// warranty (goodwill for a goodwill claim), the three Cs, the vehicle's VIN and delivery day,
    /// the repair order's days, after `domain::warranty::claims::check_claim`.
    pub async fn create_claim(
        self,
        scope: &Scope,
        input: &ClaimInput,
        now: OffsetDateTime,
    ) -> Result<Claim, StoreError> {
        type JobRow = (
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            String,
            i64,
        );
        let job: Option<JobRow> = sqlx::query_as(
            "SELECT j.repair_order_id, r.organisation_id, j.complaint, j.cause, j.correction, j.technician_id, r.vehicle_id, \
             j.approval, r.created_at FROM ro_jobs j JOIN repair_orders r ON r.id = j.repair_order_id WHERE j.id = $1",
        )
        .bind(&input.job_id)
        .fetch_optional(&self.store.pool)
        .await?;
        let Some((
            ro_id,
            org,
            complaint,
            cause,
            correction,
            technician,
            vehicle_id,
            approval,
            ro_created,
        )) = job
        else {
            return Err(StoreError::NotFound);
        };
        if !scope.permits(&org, Permission::WarrantyRead)
            && !scope.permits(&org, Permission::CrmRead)
        {
            return Err(StoreError::NotFound);
        }
        scope.require(&org, Permission::WarrantyClaim)?;
        let mut errs = ValidationErrors::default();
        let claim_type = errs.take(ClaimType::parse("claim_type", &input.claim_type));
        let campaign = text("campaign", input.campaign.as_deref(), 40, &mut errs);
        let causal_part = text("causal_part", input.causal_part.as_deref(), 40, &mut errs);
        let component = input
            .component_group
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .and_then(|c| errs.take(ComponentGroup::parse("component_group", c)));
        let preauth = text("preauth", input.preauth.as_deref(), 40, &mut errs);
        let codes = dtcs(&input.dtcs, &mut errs);
        if approval == "declined" {
            errs.push(
                FieldError::new(
                    "job_id",
                    Rule::NotAllowed,
                    "the customer declined this job; there is nothing to claim",
                )
                .hint("wc-err-declined"),
            );
        }
        let Some(vehicle_id) = vehicle_id else {
            return Err(ValidationErrors::single(
                "job_id",
                Rule::NotAllowed,
                "the repair order has no vehicle to claim for",
            )
            .into());
        };
        let taken: Option<String> =
            sqlx::query_scalar("SELECT number FROM warranty_claims WHERE job_id = $1")
                .bind(&input.job_id)
                .fetch_optional(&self.store.pool)
                .await?;
        if let Some(n) = taken {
            errs.push(
                FieldError::new(
                    "job_id",
                    Rule::Unique,
                    format!("this job is already claimed as {n}"),
                )
                .hint("wc-err-claimed"),
            );
        }
        let v = self.store.crm().get_vehicle(scope, &vehicle_id).await?;
        let odometer_km = input
            .odometer_km
            .or_else(|| v.odometer.first().map(|r| r.km));
        let pay = match claim_type {
            Some(ClaimType::Goodwill) => PayType::Goodwill,
            _ => PayType::Warranty,
        };
        type LineSrc = (
            String,
            String,
            Option<String>,
            String,
            i64,
            i64,
            Option<i64>,
        );
        let src: Vec<LineSrc> = sqlx::query_as(
            "SELECT l.id, l.kind, l.code, l.description, l.quantity_centi, l.unit_price_minor, o.hours_centi \
             FROM ro_lines l LEFT JOIN labour_operations o ON o.id = l.labour_operation_id \
             WHERE l.job_id = $1 AND l.pay_type = $2 ORDER BY l.created_at, l.id",
        )
        .bind(&input.job_id)
        .bind(pay.as_str())
        .fetch_all(&self.store.pool)
        .await?;
        let mut offered = Vec::with_capacity(src.len());
        for (id, kind, code, _, qty, price, frt) in &src {
            let kind = decode("ro_lines", "kind", kind, LineKind::parse)?;
            let reason = input.over_reasons.get(id).map(|r| r.trim().to_string());
            if reason.as_ref().is_some_and(|r| r.chars().count() > 500) {
                errs.push(FieldError::new(
                    "over_reason",
                    Rule::TooLong,
                    "over_reason must be at most 500 characters",
                ));
            }
            offered.push(OfferedLine {
                kind,
                code: code.clone(),
                quantity_centi: *qty,
                amount_minor: line_total(*price, *qty),
                flat_rate_centi: if kind == LineKind::Labour { *frt } else { None },
                over_reason: reason.filter(|r| !r.is_empty()),
            });
        }
        if let Some(unknown) = input
            .over_reasons
            .keys()
            .find(|k| !src.iter().any(|l| &l.0 == *k))
        {
            errs.push(FieldError::new(
                "over_reasons",
                Rule::Unknown,
                format!("{unknown} is not a line of this job's claim"),
            ));
        }
        let currency = self.store.workshop().currency_of(&org).await?;
        let brand_code: Option<String> = sqlx::query_scalar(
            "SELECT b.code FROM organisations o JOIN brands b ON b.id = o.brand_id WHERE o.id = $1",
        )
        .bind(&org)
        .fetch_optional(&self.store.pool)
        .await?;
        let Some(claim_type) = claim_type else {
            return Err(errs.into_result().err().unwrap_or_default().into());
        };
        let parts_under_warranty = if claim_type == ClaimType::PartsWarranty {
            let zone = self.store.org().zone_of(&org).await?;
            let came_in = zone.local(from_micros(ro_created)).date();
            self.store
                .warranty()
                .parts_under_warranty(scope, &vehicle_id, came_in, odometer_km, &ro_id)
                .await?
        } else {
            Vec::new()
        };
        let facts = ClaimFacts {
            claim_type,
            campaign: campaign.clone(),
            odometer_km,
            complaint: complaint.clone(),
            causal_part: causal_part.clone(),
            preauth: preauth.clone(),
            parts_under_warranty,
        };
        let limit = brand_code
            .as_deref()
            .and_then(|b| rules::preauth_limit(&b.to_lowercase(), &currency));
        if let Err(e) = rules::check_claim(&facts, &offered, limit) {
            errs.0.extend(e.0);
        }
        errs.into_result()?;
        let odometer_km = odometer_km.unwrap_or_default();
        let (reviewer, brand) = self.parties_of(&org).await?;
        let zone = self.store.org().zone_of(&org).await?;
        type Day = Option<(String, i64)>;
        let checked_in: Day = sqlx::query_as(
            "SELECT status, at FROM ro_events WHERE repair_order_id = $1 AND status = 'checked-in' ORDER BY at LIMIT 1",
        )
        .bind(&ro_id)
        .fetch_optional(&self.store.pool)
        .await?;
        let ready: Day = sqlx::query_as(
            "SELECT status, at FROM ro_events WHERE repair_order_id = $1 AND status IN ('ready', 'delivered') ORDER BY at LIMIT 1",
        )
        .bind(&ro_id)
        .fetch_optional(&self.store.pool)
        .await?;
        let day = |us: i64| zone.local(from_micros(us)).date().to_string();
        let opened_on = day(checked_in.map(|c| c.1).unwrap_or(ro_created));
        let closed_on = ready.map(|r| day(r.1));
        let (ro_number, position): (String, i64) = sqlx::query_as(
            "SELECT r.number, j.position FROM ro_jobs j JOIN repair_orders r ON r.id = j.repair_order_id WHERE j.id = $1",
        )
        .bind(&input.job_id)
        .fetch_one(&self.store.pool)
        .await?;
        let id = new_id();
        let number = format!("WC-{ro_number}-{position}");
        let mut tx = self.store.begin().await?;
        let at = micros(now);
        let inserted = sqlx::query(
            "INSERT INTO warranty_claims (id, number, organisation_id, reviewer_org_id, brand_org_id, repair_order_id, job_id, \
             vehicle_id, vin, claim_type, campaign, odometer_km, delivered_on, opened_on, closed_on, complaint, cause, correction, \
             dtcs, causal_part, technician_id, preauth, currency, status, appealed, step_since, step_due, created_by, created_at, \
             updated_at, version, component_group) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, \
             $20, $21, $22, $23, 'draft', 0, $24, NULL, $25, $24, $24, 1, $26) ON CONFLICT (job_id) DO NOTHING",
        )
        .bind(&id)
        .bind(&number)
        .bind(&org)
        .bind(&reviewer)
        .bind(&brand)
        .bind(&ro_id)
        .bind(&input.job_id)
        .bind(&vehicle_id)
        .bind(&v.vin)
        .bind(claim_type.as_str())
        .bind(&campaign)
        .bind(odometer_km)
        .bind(&v.delivery_date)
        .bind(&opened_on)
        .bind(&closed_on)
        .bind(&complaint)
        .bind(&cause)
        .bind(&correction)
        .bind(serde_json::to_string(&codes).map_err(|e| StoreError::Internal(e.to_string()))?)
        .bind(&causal_part)
        .bind(&technician)
        .bind(&preauth)
        .bind(&currency)
        .bind(at)
        .bind(scope.user_id())
        .bind(component.map(ComponentGroup::as_str))
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(ValidationErrors::single(
                "job_id",
                Rule::Unique,
                "this job has been claimed meanwhile",
            )
            .into());
        }
        for (i, ((ro_line, _, code, description, qty, price, _), o)) in
            src.iter().zip(&offered).enumerate()
        {
            sqlx::query(
                "INSERT INTO warranty_claim_lines (id, claim_id, ro_line_id, position, kind, code, description, quantity_centi, \
                 unit_price_minor, claimed_minor, flat_rate_centi, over_reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(new_id())
            .bind(&id)
            .bind(ro_line)
            .bind(i64::try_from(i).unwrap_or(i64::MAX))
            .bind(o.kind.as_str())
            .bind(code)
            .bind(description)
            .bind(qty)
            .bind(price)
            .bind(o.amount_minor)
            .bind(o.flat_rate_centi)
            .bind(&o.over_reason)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.claim(scope, &id, now).await
    }
}
