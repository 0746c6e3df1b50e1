//! The market's goodwill policy (versions of the matrix) and its budgets per quarter.

use super::*;

impl Warranty<'_> {
    /// The market organisation's goodwill policy in force (its own newest version, else the
    /// published one).
    pub async fn goodwill_policy(self, scope: &Scope, org: &str) -> Result<Policy, StoreError> {
        scope.require(org, Permission::WarrantyRead)?;
        let market = self.market_of(org).await?;
        Ok(self
            .policy_of(&market)
            .await?
            .unwrap_or_else(|| rules::published_policy(PUBLISHED)))
    }

    pub(super) async fn market_of(self, org: &str) -> Result<String, StoreError> {
        let market: Option<Option<String>> =
            sqlx::query_scalar("SELECT market_id FROM organisations WHERE id = $1")
                .bind(org)
                .fetch_optional(&self.store.pool)
                .await?;
        market.flatten().ok_or(StoreError::NotFound)
    }

    /// Keeps a new version of a market's goodwill policy (checked by field); requests decided
    /// under an older version keep its code.
    pub async fn add_goodwill_policy(
        self,
        scope: &Scope,
        org: &str,
        policy: &Policy,
        now: OffsetDateTime,
    ) -> Result<Policy, StoreError> {
        scope.require(org, Permission::WarrantyReview)?;
        let market = self.market_of(org).await?;
        let mut errs = ValidationErrors::default();
        let code = policy.code.trim();
        if code.is_empty() || code.len() > 40 {
            errs.push(FieldError::new(
                "code",
                Rule::Required,
                "a policy version has a code of 1 to 40 characters",
            ));
        }
        if let Err(e) = rules::check_policy(policy) {
            errs.0.extend(e.0);
        }
        errs.into_result()?;
        let body =
            serde_json::to_string(policy).map_err(|e| StoreError::Internal(e.to_string()))?;
        let mut tx = self.store.begin().await?;
        let done = sqlx::query(
            "INSERT INTO goodwill_policies (id, market_id, code, body, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (market_id, code) DO NOTHING",
        )
        .bind(new_id())
        .bind(&market)
        .bind(code)
        .bind(body)
        .bind(scope.user_id())
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(ValidationErrors::single(
                "code",
                Rule::Unique,
                "this market has a policy version with that code: versions are never changed",
            )
            .into());
        }
        tx.commit().await?;
        Ok(policy.clone())
    }

    /// The goodwill budgets of the markets the caller sees warranty matters in, for the quarter
    /// of `on`: the budget, what approvals committed and invoices spent, what is left.
    pub async fn goodwill_budgets(
        self,
        scope: &Scope,
        on: Date,
    ) -> Result<Vec<GoodwillBudget>, StoreError> {
        scope.require_somewhere(Permission::WarrantyRead)?;
        let orgs = scope.orgs_with(Permission::WarrantyRead);
        let sql = format!(
            "SELECT DISTINCT m.id, m.name, m.currency FROM organisations o JOIN markets m ON m.id = o.market_id WHERE o.id IN ({}) ORDER BY m.name",
            placeholders(1, orgs.len())
        );
        let mut q = sqlx::query_as::<_, (String, String, String)>(&sql);
        for o in &orgs {
            q = q.bind(o);
        }
        let period = quarter(on);
        let mut out = Vec::new();
        for (market, name, currency) in q.fetch_all(&self.store.pool).await? {
            let budget: Option<i64> = sqlx::query_scalar(
                "SELECT amount_minor FROM goodwill_budgets WHERE market_id = $1 AND period = $2",
            )
            .bind(&market)
            .bind(&period)
            .fetch_optional(&self.store.pool)
            .await?;
            let approved: Vec<(Option<String>, i64)> = sqlx::query_as(
                "SELECT job_id, goodwill_minor FROM goodwill_requests WHERE market_id = $1 AND period = $2 AND status = 'approved'",
            )
            .bind(&market)
            .bind(&period)
            .fetch_all(&self.store.pool)
            .await?;
            let mut invoiced: BTreeMap<String, i64> = BTreeMap::new();
            for job in approved.iter().filter_map(|(job, _)| job.as_ref()) {
                let rows: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT d.kind, bl.net_minor FROM billing_lines bl JOIN billing_documents d ON d.id = bl.document_id \
                     JOIN ro_lines l ON l.id = bl.ro_line_id WHERE l.job_id = $1 AND l.pay_type = 'goodwill' AND d.status = 'issued'",
                )
                .bind(job)
                .fetch_all(&self.store.pool)
                .await?;
                let net: i64 = rows
                    .iter()
                    .map(|(k, n)| if k == "invoice" { *n } else { -*n })
                    .sum();
                invoiced.insert(job.clone(), net);
            }
            let spent: i64 = approved
                .iter()
                .map(|(job, g)| {
                    job.as_ref()
                        .and_then(|j| invoiced.get(j))
                        .copied()
                        .unwrap_or(0)
                        .clamp(0, *g)
                })
                .sum();
            let committed: i64 = approved.iter().map(|(_, g)| *g).sum::<i64>() - spent;
            let b = budget.unwrap_or(0);
            out.push(GoodwillBudget {
                market: name,
                period: period.clone(),
                budget: Money::new(b, &currency),
                committed: Money::new(committed, &currency),
                spent: Money::new(spent, &currency),
                left: Money::new(b - committed - spent, &currency),
            });
        }
        Ok(out)
    }

    /// Sets a market's goodwill budget for a quarter (`2026-Q4`), as its market manager or a
    /// warranty administrator above it.
    pub async fn set_goodwill_budget(
        self,
        scope: &Scope,
        market_org: &str,
        period: &str,
        amount_minor: i64,
    ) -> Result<(), StoreError> {
        scope.require(market_org, Permission::WarrantyReview)?;
        let market: Option<Option<String>> =
            sqlx::query_scalar("SELECT market_id FROM organisations WHERE id = $1")
                .bind(market_org)
                .fetch_optional(&self.store.pool)
                .await?;
        let Some(Some(market)) = market else {
            return Err(StoreError::NotFound);
        };
        let mut errs = ValidationErrors::default();
        let ok_period = period.len() == 7
            && period[..4].bytes().all(|b| b.is_ascii_digit())
            && matches!(&period[4..], "-Q1" | "-Q2" | "-Q3" | "-Q4");
        if !ok_period {
            errs.push(FieldError::new(
                "period",
                Rule::Format,
                "period is a quarter like 2026-Q4",
            ));
        }
        if amount_minor < 0 {
            errs.push(FieldError::new(
                "amount",
                Rule::NotAllowed,
                "a budget is not negative",
            ));
        }
        errs.into_result()?;
        let mut tx = self.store.begin().await?;
        sqlx::query(
            "INSERT INTO goodwill_budgets (market_id, period, amount_minor) VALUES ($1, $2, $3) \
             ON CONFLICT (market_id, period) DO UPDATE SET amount_minor = excluded.amount_minor",
        )
        .bind(&market)
        .bind(period)
        .bind(amount_minor)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
