//! Asking for goodwill: what a request is about (a repair-order job, or a case before the car
//! is in) and the request itself, with the matrix's proposal and who may decide it.

use super::*;

impl Warranty<'_> {
    /// What a goodwill request is about: a repair-order job (its customer and goodwill lines are
    /// the amounts) or a case before the order exists (the estimate is the amounts).
    pub(super) async fn goodwill_subject(
        self,
        scope: &Scope,
        input: &GoodwillInput,
        errs: &mut ValidationErrors,
    ) -> Result<Subject, StoreError> {
        let job_id = input
            .job_id
            .as_deref()
            .map(str::trim)
            .filter(|j| !j.is_empty());
        let case_id = input
            .case_id
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty());
        let (org, market, vehicle_id, subject) = match (job_id, case_id) {
            (Some(job), None) => {
                type JobRow = (String, String, Option<String>, String, Option<String>, i64);
                let row: Option<JobRow> = sqlx::query_as(
                    "SELECT j.repair_order_id, r.organisation_id, r.vehicle_id, r.number, o.market_id, j.position FROM ro_jobs j \
                     JOIN repair_orders r ON r.id = j.repair_order_id JOIN organisations o ON o.id = r.organisation_id WHERE j.id = $1",
                )
                .bind(job)
                .fetch_optional(&self.store.pool)
                .await?;
                let Some((ro_id, org, vehicle_id, ro_number, market, position)) = row else {
                    return Err(StoreError::NotFound);
                };
                (
                    org,
                    market,
                    vehicle_id,
                    On::Job {
                        ro_id,
                        job_id: job.to_string(),
                        number: format!("GW-{ro_number}-{position}"),
                    },
                )
            }
            (None, Some(case)) => {
                type CaseRow = (String, Option<String>, String, Option<String>);
                let row: Option<CaseRow> = sqlx::query_as(
                    "SELECT c.organisation_id, c.vehicle_id, c.number, o.market_id FROM cases c \
                     JOIN organisations o ON o.id = c.organisation_id WHERE c.id = $1",
                )
                .bind(case)
                .fetch_optional(&self.store.pool)
                .await?;
                let Some((org, vehicle_id, case_number, market)) = row else {
                    return Err(StoreError::NotFound);
                };
                let asked: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM goodwill_requests WHERE case_id = $1")
                        .bind(case)
                        .fetch_one(&self.store.pool)
                        .await?;
                (
                    org,
                    market,
                    vehicle_id,
                    On::Case {
                        case_id: case.to_string(),
                        number: format!("GW-{case_number}-{}", asked + 1),
                    },
                )
            }
            _ => {
                return Err(ValidationErrors::single(
                    "job_id",
                    Rule::Required,
                    "a goodwill request is for a repair-order job (job_id) or a case (case_id), one of the two",
                )
                .into())
            }
        };
        if !scope.permits(&org, Permission::CrmRead) {
            return Err(StoreError::NotFound);
        }
        scope.require(&org, Permission::WarrantyClaim)?;
        let whose = match subject {
            On::Job { .. } => "job_id",
            On::Case { .. } => "case_id",
        };
        let Some(market) = market else {
            return Err(ValidationErrors::single(
                whose,
                Rule::NotAllowed,
                "the service point belongs to no market with a goodwill policy",
            )
            .into());
        };
        let Some(vehicle_id) = vehicle_id else {
            return Err(ValidationErrors::from(
                FieldError::new(
                    whose,
                    Rule::NotAllowed,
                    "there is no car to give goodwill on",
                )
                .hint("gw-err-no-car"),
            )
            .into());
        };
        let (parts, labour) = match &subject {
            On::Job { job_id, .. } => {
                let taken: Option<String> =
                    sqlx::query_scalar("SELECT number FROM goodwill_requests WHERE job_id = $1")
                        .bind(job_id)
                        .fetch_optional(&self.store.pool)
                        .await?;
                if taken.is_some() {
                    errs.push(
                        FieldError::new(
                            "job_id",
                            Rule::Unique,
                            "this job already has a goodwill request",
                        )
                        .hint("gw-err-taken"),
                    );
                }
                let (parts, labour, lines) = self.job_amounts(job_id, true).await?;
                if lines == 0 {
                    errs.push(no_lines());
                }
                (parts, labour)
            }
            On::Case { case_id, .. } => {
                let open: Option<String> = sqlx::query_scalar(
                    "SELECT number FROM goodwill_requests WHERE case_id = $1 AND job_id IS NULL AND status <> 'rejected'",
                )
                .bind(case_id)
                .fetch_optional(&self.store.pool)
                .await?;
                if let Some(n) = open {
                    errs.push(
                        FieldError::new(
                            "case_id",
                            Rule::Unique,
                            format!("the case has goodwill request {n} not yet applied to a job"),
                        )
                        .hint("gw-err-case-taken"),
                    );
                }
                let amount = |name: &str, v: Option<&str>, errs: &mut ValidationErrors| match v
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                {
                    None => 0,
                    Some(v) => errs
                        .take(
                            parse_centi(name, v, 0, 100_000_000)
                                .map_err(|e| e.hint("gw-err-amount")),
                        )
                        .unwrap_or(0),
                };
                let parts = amount("parts_amount", input.parts_amount.as_deref(), errs);
                let labour = amount("labour_amount", input.labour_amount.as_deref(), errs);
                if parts + labour == 0 && errs.is_empty() {
                    errs.push(
                        FieldError::new(
                            "parts_amount",
                            Rule::Required,
                            "a request from a case needs the estimated parts or labour amount",
                        )
                        .hint("gw-err-estimate"),
                    );
                }
                (parts, labour)
            }
        };
        if matches!(subject, On::Job { .. })
            && (input.parts_amount.is_some() || input.labour_amount.is_some())
        {
            errs.push(FieldError::new(
                "parts_amount",
                Rule::NotAllowed,
                "a job's amounts are its lines; an estimate is for a case only",
            ));
        }
        Ok(Subject {
            org,
            market,
            vehicle_id,
            on: subject,
            parts,
            labour,
        })
    }

    /// Asks for goodwill on a repair-order job or a case (see [`GoodwillInput`]): the amounts
    /// (parts and sublet as parts, labour as labour), the car's age from its delivery day, its
    /// km, the component group; the market's policy proposes the shares, and the amount decides
    /// the level whose authority it needs.
    pub async fn request_goodwill(
        self,
        scope: &Scope,
        input: &GoodwillInput,
        now: OffsetDateTime,
    ) -> Result<GoodwillRequest, StoreError> {
        let mut errs = ValidationErrors::default();
        let Subject {
            org,
            market,
            vehicle_id,
            on,
            parts,
            labour,
        } = self.goodwill_subject(scope, input, &mut errs).await?;
        let group = errs.take(ComponentGroup::parse(
            "component_group",
            &input.component_group,
        ));
        let note = input
            .note
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string);
        if note.as_ref().is_some_and(|n| n.chars().count() > 2000) {
            errs.push(FieldError::new(
                "note",
                Rule::TooLong,
                "note must be at most 2000 characters",
            ));
        }
        let v = self.store.crm().get_vehicle(scope, &vehicle_id).await?;
        let delivered = v
            .delivery_date
            .as_deref()
            .and_then(|d| parse_date("delivery_date", d).ok());
        let Some(delivered) = delivered else {
            return Err(ValidationErrors::from(
                FieldError::new(
                    on.field(),
                    Rule::NotAllowed,
                    "the car has no delivery day: its age decides goodwill",
                )
                .hint("gw-err-no-delivery"),
            )
            .into());
        };
        let km = input
            .odometer_km
            .or_else(|| v.odometer.first().map(|r| r.km));
        match km {
            Some(k) if (0..=2_000_000).contains(&k) => {}
            _ => errs.push(
                FieldError::new("odometer_km", Rule::Required, "the car's km is needed")
                    .hint("wc-err-odometer"),
            ),
        }
        let policy = self
            .policy_of(&market)
            .await?
            .unwrap_or_else(|| rules::published_policy(PUBLISHED));
        errs.into_result()?;
        let (Some(group), Some(km)) = (group, km) else {
            return Err(StoreError::Internal("checked above".into()));
        };
        let owners: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM vehicle_ownerships WHERE vehicle_id = $1")
                .bind(&vehicle_id)
                .fetch_one(&self.store.pool)
                .await?;
        let serviced: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM repair_orders WHERE vehicle_id = $1 AND id <> $2 AND status IN ('delivered', 'closed')",
        )
        .bind(&vehicle_id)
        .bind(on.repair_order().unwrap_or(""))
        .fetch_one(&self.store.pool)
        .await?;
        let network_history = input.network_history.unwrap_or(serviced > 0);
        let first_owner = input.first_owner.unwrap_or(owners <= 1);
        let age = months_between(delivered, now.date()).max(0);
        let band = rules::band_for(
            &policy,
            u32::try_from(age).unwrap_or(u32::MAX),
            km,
            group,
            network_history,
            first_owner,
        );
        let (proposed, no_goodwill, shares) = match band {
            Ok(b) => (Some((b.parts_pct, b.labour_pct)), None, b.clone()),
            Err(why) => (
                None,
                Some(why.as_str()),
                policy.bands.first().cloned().unwrap_or(Band {
                    max_age_months: 0,
                    max_km: 0,
                    groups: Vec::new(),
                    parts_pct: 0,
                    labour_pct: 0,
                    brand_pct: 60,
                    importer_pct: 25,
                    dealer_pct: 15,
                }),
            ),
        };
        let (pp, lp) = proposed.unwrap_or((0, 0));
        let split = rules::split(parts, labour, pp, lp, &shares);
        let currency = self.store.workshop().currency_of(&org).await?;
        let level = rules::level_for(split.goodwill, &currency);
        let id = new_id();
        let at = micros(now);
        let mut tx = self.store.begin().await?;
        let done = sqlx::query(
            "INSERT INTO goodwill_requests (id, number, organisation_id, market_id, repair_order_id, job_id, vehicle_id, policy_code, \
             component_group, age_months, odometer_km, network_history, first_owner, parts_minor, labour_minor, currency, \
             proposed_parts_pct, proposed_labour_pct, no_goodwill, parts_pct, labour_pct, brand_pct, importer_pct, dealer_pct, \
             deviation_reason, goodwill_minor, customer_minor, level, status, period, created_by, created_at, updated_at, version, case_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, \
             NULL, $25, $26, $27, 'pending', NULL, $28, $29, $29, 1, $30) ON CONFLICT DO NOTHING",
        )
        .bind(&id)
        .bind(on.number())
        .bind(&org)
        .bind(&market)
        .bind(on.repair_order())
        .bind(on.job())
        .bind(&vehicle_id)
        .bind(&policy.code)
        .bind(group.as_str())
        .bind(age)
        .bind(km)
        .bind(i64::from(network_history))
        .bind(i64::from(first_owner))
        .bind(parts)
        .bind(labour)
        .bind(&currency)
        .bind(proposed.map(|p| p.0))
        .bind(proposed.map(|p| p.1))
        .bind(no_goodwill)
        .bind(pp)
        .bind(lp)
        .bind(shares.brand_pct)
        .bind(shares.importer_pct)
        .bind(shares.dealer_pct)
        .bind(split.goodwill)
        .bind(split.customer)
        .bind(level.as_str())
        .bind(scope.user_id())
        .bind(at)
        .bind(on.case())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(ValidationErrors::from(
                FieldError::new(
                    on.field(),
                    Rule::Unique,
                    "this already has a goodwill request",
                )
                .hint("gw-err-taken"),
            )
            .into());
        }
        Self::event(
            &mut tx,
            &id,
            scope,
            None,
            "request",
            Some((pp, lp)),
            note.as_deref(),
            at,
        )
        .await?;
        tx.commit().await?;
        self.goodwill_request(scope, &id).await
    }
}
