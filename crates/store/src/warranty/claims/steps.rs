//! A claim's steps through its three parties (service point, importer, manufacturer) and the
//! recovery recorded against it.

use super::*;

impl Warranty<'_> {
    /// Takes a step on a claim as the party whose move it is: submit (or resubmit), approve
    /// (line by line: a line paid less needs a reason code, and makes it a partial approval),
    /// reject with a reason code, send back for information, appeal once. Written with its event
    /// in one transaction, against the version the caller read.
    pub async fn step(
        self,
        scope: &Scope,
        id: &str,
        version: i64,
        input: &ClaimStepInput,
        now: OffsetDateTime,
    ) -> Result<Claim, StoreError> {
        let Some(r) = self.row(id).await? else {
            return Err(StoreError::NotFound);
        };
        if !scope.permits(&r.organisation_id, Permission::WarrantyRead) {
            return Err(StoreError::NotFound);
        }
        let status = decode("warranty_claims", "status", &r.status, ClaimStatus::parse)?;
        let mut errs = ValidationErrors::default();
        let action = ClaimAction::parse("action", &input.action).map_err(ValidationErrors::from)?;
        let reason = input
            .reason
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .and_then(|s| errs.take(ReasonCode::parse("reason", s)));
        let note = text("note", input.note.as_deref(), 2000, &mut errs);
        // Whose move it is: the action must be one the caller may take now.
        let allowed = Self::actions_for(scope, &r, status);
        let wanted = if action == ClaimAction::ApprovePartly {
            ClaimAction::Approve
        } else {
            action
        };
        if !allowed.contains(&wanted) {
            let party_perm = match status.holder() {
                Party::ServicePoint => (r.organisation_id.as_str(), Permission::WarrantyClaim),
                Party::Importer => (
                    r.reviewer_org_id.as_deref().unwrap_or(&r.organisation_id),
                    Permission::WarrantyReview,
                ),
                Party::Brand => (r.brand_org_id.as_str(), Permission::WarrantyDecide),
            };
            if !scope.permits(party_perm.0, party_perm.1) {
                return Err(StoreError::Forbidden(format!(
                    "your roles do not allow {}",
                    party_perm.1.describe()
                )));
            }
        }
        match action {
            ClaimAction::Reject if reason.is_none() => errs.push(
                FieldError::new("reason", Rule::Required, "a rejection needs a reason code")
                    .hint("wc-err-reject-reason"),
            ),
            ClaimAction::Return | ClaimAction::Appeal if note.is_none() => errs.push(
                FieldError::new(
                    "note",
                    Rule::Required,
                    "say what the other party should know",
                )
                .hint("wc-err-note"),
            ),
            _ => {}
        }
        let line_rows: Vec<(String, i64, Option<i64>)> = sqlx::query_as(
            "SELECT id, claimed_minor, importer_minor FROM warranty_claim_lines WHERE claim_id = $1 ORDER BY position",
        )
        .bind(id)
        .fetch_all(&self.store.pool)
        .await?;
        let mut decisions = Vec::new();
        let mut reduced = false;
        if wanted == ClaimAction::Approve {
            let mut given: Vec<Option<LineDecision>> = vec![None; line_rows.len()];
            // Which input entry speaks for each claim line: errors name the caller's `lines.N`.
            let mut from_input: Vec<Option<usize>> = vec![None; line_rows.len()];
            for (i, d) in input.lines.iter().enumerate() {
                let Some(pos) = line_rows.iter().position(|l| l.0 == d.line_id) else {
                    errs.push(FieldError::new(
                        format!("lines.{i}.line_id"),
                        Rule::Unknown,
                        "not a line of this claim",
                    ));
                    continue;
                };
                let amount = errs.take(parse_centi(
                    &format!("lines.{i}.approved"),
                    &d.approved,
                    0,
                    i64::MAX / 4,
                ));
                let reason = d
                    .reason
                    .as_deref()
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .and_then(|s| errs.take(ReasonCode::parse(&format!("lines.{i}.reason"), s)));
                from_input[pos] = Some(i);
                if let Some(approved_minor) = amount {
                    given[pos] = Some(LineDecision {
                        approved_minor,
                        reason,
                    });
                }
            }
            let claimed: Vec<i64> = line_rows.iter().map(|l| l.1).collect();
            match rules::check_decisions(&claimed, &given) {
                Ok((d, red)) => {
                    decisions = d;
                    reduced = red;
                }
                Err(e) => errs.0.extend(e.0.into_iter().map(|mut f| {
                    let pos = f
                        .field
                        .strip_prefix("lines.")
                        .and_then(|rest| rest.split('.').next())
                        .and_then(|n| n.parse::<usize>().ok());
                    if let Some(Some(i)) = pos.and_then(|p| from_input.get(p).copied()) {
                        if let Some((_, tail)) =
                            f.field.split_once('.').and_then(|(_, r)| r.split_once('.'))
                        {
                            f.field = format!("lines.{i}.{tail}");
                        }
                    }
                    f
                })),
            }
        }
        let next = errs.take(rules::next_status(
            status,
            action,
            r.reviewer_org_id.is_some(),
            r.appealed != 0,
            reduced,
        ));
        errs.into_result()?;
        let Some(next) = next else {
            return Err(StoreError::Internal("checked above".into()));
        };
        let recorded = if wanted == ClaimAction::Approve && reduced {
            ClaimAction::ApprovePartly
        } else {
            wanted
        };
        let party = status.holder();
        let at = micros(now);
        let mut tx = self.store.begin().await?;
        let done = sqlx::query(
            "UPDATE warranty_claims SET status = $1, appealed = CASE WHEN $2 = 'appeal' THEN 1 ELSE appealed END, step_since = $3, \
             step_due = $4, updated_at = $3, version = version + 1 WHERE id = $5 AND version = $6 AND status = $7",
        )
        .bind(next.as_str())
        .bind(action.as_str())
        .bind(at)
        .bind(rules::step_due(next, now).map(micros))
        .bind(id)
        .bind(version)
        .bind(status.as_str())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict { current: r.version });
        }
        let mut records = Vec::new();
        if wanted == ClaimAction::Approve {
            let col = if party == Party::Importer {
                "importer"
            } else {
                "approved"
            };
            for ((line_id, _, _), d) in line_rows.iter().zip(&decisions) {
                sqlx::query(&format!(
                    "UPDATE warranty_claim_lines SET {col}_minor = $1, {col}_reason = $2 WHERE id = $3"
                ))
                .bind(d.approved_minor)
                .bind(d.reason.map(ReasonCode::as_str))
                .bind(line_id)
                .execute(&mut *tx)
                .await?;
                records.push(StoredDecision {
                    line_id: line_id.clone(),
                    approved_minor: d.approved_minor,
                    reason: d.reason,
                });
            }
        }
        if next == ClaimStatus::Rejected {
            // A rejection pays nothing: the brand's amounts go, the importer's recommendation stays.
            sqlx::query("UPDATE warranty_claim_lines SET approved_minor = NULL, approved_reason = NULL WHERE claim_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO warranty_claim_events (id, claim_id, at, actor_id, party, action, status_after, reason, decisions, note) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(new_id())
        .bind(id)
        .bind(at)
        .bind(scope.user_id())
        .bind(party.as_str())
        .bind(recorded.as_str())
        .bind(next.as_str())
        .bind(reason.map(ReasonCode::as_str))
        .bind(if records.is_empty() {
            None
        } else {
            Some(serde_json::to_string(&records).map_err(|e| StoreError::Internal(e.to_string()))?)
        })
        .bind(&note)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.claim(scope, id, now).await
    }

    /// Records a line's supplier recovery (the part returned, what its analysis found, the share
    /// the supplier pays back) on an approved claim, as its importer or brand.
    pub async fn record_recovery(
        self,
        scope: &Scope,
        claim_id: &str,
        line_id: &str,
        input: &RecoveryInput,
        now: OffsetDateTime,
    ) -> Result<Claim, StoreError> {
        let Some(r) = self.row(claim_id).await? else {
            return Err(StoreError::NotFound);
        };
        if !scope.permits(&r.organisation_id, Permission::WarrantyRead) {
            return Err(StoreError::NotFound);
        }
        let status = decode("warranty_claims", "status", &r.status, ClaimStatus::parse)?;
        if !Self::may_record_recovery(scope, &r, status) {
            if status.pays() {
                return Err(StoreError::Forbidden(format!(
                    "your roles do not allow {}",
                    Permission::WarrantyReview.describe()
                )));
            }
            return Err(ValidationErrors::single(
                "claim_id",
                Rule::NotAllowed,
                "supplier recovery is recorded once the claim is approved",
            )
            .into());
        }
        let line: Option<(String, Option<i64>)> = sqlx::query_as(
            "SELECT kind, approved_minor FROM warranty_claim_lines WHERE id = $1 AND claim_id = $2",
        )
        .bind(line_id)
        .bind(claim_id)
        .fetch_optional(&self.store.pool)
        .await?;
        let Some((kind, approved)) = line else {
            return Err(StoreError::NotFound);
        };
        let kind = decode("warranty_claim_lines", "kind", &kind, LineKind::parse)?;
        let mut errs = ValidationErrors::default();
        let analysis = input
            .analysis
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .and_then(|s| errs.take(PartAnalysis::parse("analysis", s)));
        errs.into_result()?;
        rules::check_recovery(kind, input.part_returned, analysis, input.recovery_pct)?;
        let amount = rules::recovery_amount(approved.unwrap_or(0), input.recovery_pct);
        let mut tx = self.store.begin().await?;
        sqlx::query(
            "UPDATE warranty_claim_lines SET part_returned = $1, analysis = $2, recovery_pct = $3, recovery_minor = $4 WHERE id = $5",
        )
        .bind(input.part_returned.map(i64::from))
        .bind(analysis.map(PartAnalysis::as_str))
        .bind(input.recovery_pct)
        .bind(amount)
        .bind(line_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE warranty_claims SET updated_at = $1 WHERE id = $2")
            .bind(micros(now))
            .bind(claim_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.claim(scope, claim_id, now).await
    }
}
