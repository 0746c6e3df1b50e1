//! An audit's results recorded claim by claim, and its closing.

use super::*;

impl Warranty<'_> {
    /// What each claim's decision approved, summed over its lines.
    pub(super) async fn approved_totals(
        self,
        claims: &[&str],
    ) -> Result<HashMap<String, i64>, StoreError> {
        if claims.is_empty() {
            return Ok(HashMap::new());
        }
        let sql = format!(
            "SELECT claim_id, CAST(SUM(COALESCE(approved_minor, 0)) AS BIGINT) FROM warranty_claim_lines \
             WHERE claim_id IN ({}) GROUP BY claim_id",
            placeholders(1, claims.len())
        );
        let mut q = sqlx::query_as::<_, (String, i64)>(&sql);
        for c in claims {
            q = q.bind(*c);
        }
        Ok(q.fetch_all(&self.store.pool).await?.into_iter().collect())
    }

    /// Records what the audit found on one of its claims: accepted, or charged back with an
    /// amount (at most what the claim still pays, and only on a claim that pays) and a reason.
    /// Findings may be changed until the audit is closed; the claim's chargeback follows. The
    /// audit row is locked first, so two auditors saving at once are applied one after the other.
    pub async fn record_audit_result(
        self,
        scope: &Scope,
        audit_id: &str,
        claim_id: &str,
        input: &AuditResultInput,
        now: OffsetDateTime,
    ) -> Result<Audit, StoreError> {
        let audit = self.audit(scope, audit_id).await?;
        if !audit.items.iter().any(|i| i.claim_id == claim_id) {
            return Err(StoreError::NotFound);
        }
        let result = AuditResult::parse("result", &input.result).map_err(ValidationErrors::from)?;
        let note = input
            .note
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string);
        let mut errs = ValidationErrors::default();
        let (amount, reason) = match result {
            AuditResult::Accepted => (None, None),
            AuditResult::ChargedBack => {
                let amount = match input.amount.as_deref().map(str::trim) {
                    None | Some("") => {
                        errs.push(
                            FieldError::new(
                                "amount",
                                Rule::Required,
                                "amount is required to charge back",
                            )
                            .hint("au-err-amount"),
                        );
                        None
                    }
                    Some(a) => match parse_centi("amount", a, 0, i64::MAX / 4) {
                        Ok(v) => Some(v),
                        Err(e) => {
                            errs.push(e.hint("au-err-amount"));
                            None
                        }
                    },
                };
                let reason = match input.reason.as_deref().map(str::trim) {
                    None | Some("") => {
                        errs.push(
                            FieldError::new(
                                "reason",
                                Rule::Required,
                                "reason is required to charge back",
                            )
                            .hint("au-err-reason"),
                        );
                        None
                    }
                    Some(r) => match ChargebackReason::parse("reason", r) {
                        Ok(v) => Some(v),
                        Err(e) => {
                            errs.push(e);
                            None
                        }
                    },
                };
                (amount, reason)
            }
        };
        let mut tx = self.store.begin().await?;
        lock_open(&mut tx, audit_id).await?;
        let previous: Option<i64> = sqlx::query_scalar(
            "SELECT chargeback_minor FROM claim_audit_items WHERE audit_id = $1 AND claim_id = $2",
        )
        .bind(audit_id)
        .bind(claim_id)
        .fetch_one(&mut *tx)
        .await?;
        let previous = previous.unwrap_or(0);
        let (status, charged_back): (String, i64) =
            sqlx::query_as("SELECT status, charged_back_minor FROM warranty_claims WHERE id = $1")
                .bind(claim_id)
                .fetch_one(&mut *tx)
                .await?;
        let approved: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(approved_minor), 0) AS BIGINT) FROM warranty_claim_lines WHERE claim_id = $1",
        )
        .bind(claim_id)
        .fetch_one(&mut *tx)
        .await?;
        if let Some(v) = amount {
            let pays = ClaimStatus::parse("status", &status).is_ok_and(ClaimStatus::pays);
            if !pays {
                errs.push(
                    FieldError::new(
                        "amount",
                        Rule::NotAllowed,
                        "the claim pays nothing now (it is under appeal or was rejected)",
                    )
                    .hint("au-err-not-paid"),
                );
            } else if let Err(e) = rules::check_chargeback(v, approved - charged_back + previous) {
                errs.push(e);
            }
        }
        if !errs.is_empty() {
            // Let go of the audit's lock at once (a dropped transaction would hold it until its
            // connection is used again).
            tx.rollback().await?;
            return Err(errs.into());
        }
        sqlx::query(
            "UPDATE claim_audit_items SET result = $1, chargeback_minor = $2, reason = $3, note = $4, decided_by = $5, \
             decided_at = $6 WHERE audit_id = $7 AND claim_id = $8",
        )
        .bind(result.as_str())
        .bind(amount)
        .bind(reason.map(ChargebackReason::as_str))
        .bind(note)
        .bind(scope.user_id())
        .bind(micros(now))
        .bind(audit_id)
        .bind(claim_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE warranty_claims SET charged_back_minor = charged_back_minor - $1 + $2, updated_at = $3, \
             version = version + 1 WHERE id = $4",
        )
        .bind(previous)
        .bind(amount.unwrap_or(0))
        .bind(micros(now))
        .bind(claim_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.audit(scope, audit_id).await
    }

    /// Closes an audit once every claim of its sample has a finding; its findings then stand.
    pub async fn close_audit(
        self,
        scope: &Scope,
        audit_id: &str,
        now: OffsetDateTime,
    ) -> Result<Audit, StoreError> {
        self.audit(scope, audit_id).await?;
        let mut tx = self.store.begin().await?;
        lock_open(&mut tx, audit_id).await?;
        let undecided: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM claim_audit_items WHERE audit_id = $1 AND result IS NULL",
        )
        .bind(audit_id)
        .fetch_one(&mut *tx)
        .await?;
        if undecided > 0 {
            tx.rollback().await?;
            return Err(ValidationErrors(vec![FieldError::new(
                "status",
                Rule::NotAllowed,
                format!("{undecided} claims of the sample have no finding yet"),
            )
            .hint("au-err-undecided")])
            .into());
        }
        sqlx::query("UPDATE claim_audits SET status = 'closed', closed_at = $1 WHERE id = $2")
            .bind(micros(now))
            .bind(audit_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.audit(scope, audit_id).await
    }

    /// What audits found on a claim (the claim page shows it to everyone who sees the claim).
    pub(crate) async fn audit_findings(
        self,
        claim_id: &str,
        currency: &str,
    ) -> Result<Vec<ClaimAuditFinding>, StoreError> {
        type Row = (
            String,
            String,
            String,
            Option<i64>,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT a.id, a.number, i.result, i.chargeback_minor, i.reason, i.note, u.display_name \
             FROM claim_audit_items i JOIN claim_audits a ON a.id = i.audit_id LEFT JOIN users u ON u.id = i.decided_by \
             WHERE i.claim_id = $1 AND i.result IS NOT NULL ORDER BY a.created_at",
        )
        .bind(claim_id)
        .fetch_all(&self.store.pool)
        .await?;
        let t = "claim_audit_items";
        rows.into_iter()
            .map(|(id, number, result, amount, reason, note, by)| {
                Ok(ClaimAuditFinding {
                    audit: Ref { id, label: number },
                    result: decode(t, "result", &result, AuditResult::parse)?,
                    chargeback: amount.map(|a| Money::new(a, currency)),
                    reason: reason
                        .map(|r| decode(t, "reason", &r, ChargebackReason::parse))
                        .transpose()?,
                    note,
                    decided_by: by,
                })
            })
            .collect()
    }
}
