//! The risk-based audit of service points (issue 18): the red-flag rules an organisation audits
//! by (defaults from `domain::analysis::audit` until changed), the service points ranked by risk
//! over a period, the claims each rule hits, an audit sample proposed for one service point, and
//! what the auditor found per claim. A chargeback lowers what the claim pays
//! (`warranty_claims.charged_back_minor`), so the claim, its reconciliation with the invoices and
//! the cost per unit all show it. Who: `WarrantyAudit` (market managers, importer staff, warranty
//! administrators), over the service points below the organisation they hold it at.
//! Here: the rules, proposing an audit and reading it; findings.rs counts the red flags,
//! results.rs records the results and closes.

mod findings;
mod results;

use std::collections::HashMap;

use aftersales_domain::analysis::audit::{
    self as rules, AuditResult, ChargebackReason, PointRisk, RedFlag, RuleSetting,
};
use aftersales_domain::analysis::sample::{self, RiskItem};
use aftersales_domain::money::{parse_centi, Money};
use aftersales_domain::org::Permission;
use aftersales_domain::validation::{FieldError, Rule};
use aftersales_domain::warranty::claims::ClaimStatus;
use aftersales_domain::ValidationErrors;
use sqlx::Row;
use time::{Date, OffsetDateTime};

use super::facts::Read;
use super::{
    Audit, AuditItem, AuditProposal, AuditResultInput, AuditRule, AuditRuleInput, AuditRules,
    AuditSummary, ClaimAuditFinding, FlagCount, FlaggedClaim, PointRiskRow, RiskOverview, Warranty,
};
use crate::db::placeholders;
use crate::error::StoreError;
use crate::scope::Scope;
use crate::{decode, from_micros, micros, new_id, Ref};

/// The period audits look at unless asked otherwise, in months.
pub const DEFAULT_MONTHS: u32 = 12;

/// The day before a period of `months` months (of 30 days) ending on `on`: claims opened after it
/// count (the funnels count the same way).
fn period_start(on: Date, months: u32) -> Date {
    on.checked_sub(time::Duration::days(i64::from(months) * 30))
        .unwrap_or(on)
}

/// The first day of that period, as shown.
fn first_day(on: Date, months: u32) -> Date {
    let s = period_start(on, months);
    s.next_day().unwrap_or(s)
}

/// A claim of a service point with its red flags: (id, number, VIN, opened on, status, paid,
/// currency, flags as bits in the order of the rules, how many claims were picked in all).
type FlagRow = (
    String,
    String,
    String,
    String,
    String,
    i64,
    String,
    i64,
    i64,
);

/// Which of a service point's claims to read.
#[derive(Debug, Clone, Copy)]
enum Pick {
    /// Those that pay.
    Paid,
    /// Those a rule hits (any rule when none is named).
    Flagged(Option<RedFlag>),
}

/// The red flags as SQL over `claim_facts f` for one period, ready to count or to pick claims by.
struct Judging {
    /// The enabled rules (their order gives each its bit).
    rules: Vec<RuleSetting>,
    /// The service points in reach and the period (claims opened after `from` up to `on`): the
    /// customers sharing an address are counted over them.
    orgs: Vec<String>,
    from: Date,
    on: Date,
    /// `claim_facts g` read by address.
    by_address: String,
    /// Service points whose share of "no trouble found" lies above the threshold.
    high_no_trouble: Vec<String>,
}

impl Judging {
    /// Per enabled rule a boolean SQL expression; the claim-local ones mirror
    /// `ClaimInputs::hits` (thresholds are validated integers, written in). The reach and period
    /// of the shared-address count are bound from `$first` ([`Judging::bind`]).
    fn exprs(&self, first: usize) -> Vec<(RedFlag, String)> {
        self.rules
            .iter()
            .filter_map(|r| {
                let t = r.threshold;
                let e = match r.flag {
                    RedFlag::RepeatRepair => format!("(f.repeat_gap BETWEEN 1 AND {t})"),
                    RedFlag::NearExpiry => format!("(f.coverage_days_left <= {t})"),
                    RedFlag::OverFlatRate => format!("(f.over_flat_bp > {})", 10_000 + 100 * t),
                    RedFlag::ReplacedRepairable => {
                        format!("(f.repairable_max_minor >= {})", t * 100)
                    }
                    RedFlag::DuplicateBilling => {
                        format!("(f.duplicate_in_claim = 1 OR f.duplicate_gap <= {t})")
                    }
                    RedFlag::SharedAddress => {
                        let n = self.orgs.len();
                        format!(
                            "(f.address IN (SELECT g.address FROM {} WHERE g.point_id IN ({}) \
                             AND g.opened_on > ${} AND g.opened_on <= ${} AND g.address IS NOT NULL AND g.customer_id IS NOT NULL \
                             GROUP BY g.address HAVING COUNT(DISTINCT g.customer_id) >= {t}))",
                            self.by_address,
                            placeholders(first, n),
                            first + n,
                            first + n + 1
                        )
                    }
                    RedFlag::NoTroubleFound => return None,
                    RedFlag::PeerOutlier => return None,
                };
                Some((r.flag, e))
            })
            .collect()
    }

    /// Binds what [`Judging::exprs`] refers to from `$first`: the reach, then the period.
    fn bind<'q>(
        &'q self,
        mut q: sqlx::query::QueryAs<'q, sqlx::Any, FlagRow, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::QueryAs<'q, sqlx::Any, FlagRow, sqlx::any::AnyArguments<'q>> {
        for o in &self.orgs {
            q = q.bind(o.as_str());
        }
        q.bind(self.from.to_string()).bind(self.on.to_string())
    }

    /// The flags of a service point's claims as one number, a bit per rule (`bits`' order).
    fn mask(&self, point: &str, first: usize) -> (String, Vec<RedFlag>) {
        let mut exprs = self.exprs(first);
        if self.rules.iter().any(|r| r.flag == RedFlag::NoTroubleFound)
            && self.high_no_trouble.iter().any(|p| p == point)
        {
            exprs.push((RedFlag::NoTroubleFound, "(f.no_trouble = 1)".into()));
        }
        let sql = exprs
            .iter()
            .enumerate()
            .map(|(i, (_, e))| format!("CASE WHEN {e} THEN {} ELSE 0 END", 1_i64 << i))
            .collect::<Vec<_>>()
            .join(" + ");
        let sql = if sql.is_empty() { "0".into() } else { sql };
        (sql, exprs.into_iter().map(|e| e.0).collect())
    }
}

/// The flags a mask names.
fn flags_of(mask: i64, bits: &[RedFlag]) -> Vec<RedFlag> {
    bits.iter()
        .enumerate()
        .filter(|(i, _)| mask & (1_i64 << i) != 0)
        .map(|(_, f)| *f)
        .collect()
}

impl Warranty<'_> {
    /// The organisation the caller audits at: the highest one where they hold `WarrantyAudit`.
    async fn auditing_org(self, scope: &Scope) -> Result<(String, String), StoreError> {
        scope.require_somewhere(Permission::WarrantyAudit)?;
        let orgs = scope.orgs_with(Permission::WarrantyAudit);
        let sql = format!(
            "SELECT id, parent_id, name FROM organisations WHERE id IN ({}) ORDER BY name",
            placeholders(1, orgs.len())
        );
        let mut q = sqlx::query_as::<_, (String, Option<String>, String)>(&sql);
        for o in &orgs {
            q = q.bind(o);
        }
        let rows = q.fetch_all(&self.store.pool).await?;
        rows.iter()
            .find(|(_, parent, _)| parent.as_ref().is_none_or(|p| !orgs.contains(p)))
            .map(|(id, _, name)| (id.clone(), name.clone()))
            .ok_or(StoreError::NotFound)
    }

    /// The rules in force at `org`: the defaults with the changes kept there.
    async fn rules_at(self, org: &str) -> Result<Vec<(RuleSetting, bool)>, StoreError> {
        let stored: Vec<(String, i64, i64, i64)> = sqlx::query_as(
            "SELECT rule, threshold, weight, enabled FROM audit_rules WHERE organisation_id = $1",
        )
        .bind(org)
        .fetch_all(&self.store.pool)
        .await?;
        Ok(rules::default_rules()
            .into_iter()
            .map(|d| {
                match stored
                    .iter()
                    .find(|(rule, ..)| rule.as_str() == d.flag.as_str())
                {
                    Some((_, threshold, weight, enabled)) => (
                        RuleSetting {
                            flag: d.flag,
                            threshold: *threshold,
                            weight: *weight,
                            enabled: *enabled != 0,
                        },
                        true,
                    ),
                    None => (d, false),
                }
            })
            .collect())
    }

    fn rule_rows(rules: &[(RuleSetting, bool)]) -> Vec<AuditRule> {
        rules
            .iter()
            .map(|(s, changed)| AuditRule {
                setting: *s,
                unit: s.flag.unit().into(),
                changed: *changed,
            })
            .collect()
    }

    /// The red-flag rules the caller audits by.
    pub async fn audit_rules(self, scope: &Scope) -> Result<AuditRules, StoreError> {
        let (org, name) = self.auditing_org(scope).await?;
        let rules = self.rules_at(&org).await?;
        Ok(AuditRules {
            organisation: Ref {
                id: org,
                label: name,
            },
            rules: Self::rule_rows(&rules),
        })
    }

    /// Changes one rule (threshold, weight, on or off) where the caller audits.
    pub async fn set_audit_rule(
        self,
        scope: &Scope,
        rule: &str,
        input: &AuditRuleInput,
        now: OffsetDateTime,
    ) -> Result<AuditRules, StoreError> {
        let flag = RedFlag::parse("rule", rule).map_err(ValidationErrors::from)?;
        let (org, _) = self.auditing_org(scope).await?;
        let current = self
            .rules_at(&org)
            .await?
            .into_iter()
            .find(|(s, _)| s.flag == flag)
            .map(|(s, _)| s)
            .ok_or(StoreError::NotFound)?;
        let next = RuleSetting {
            flag,
            threshold: input.threshold.unwrap_or(current.threshold),
            weight: input.weight.unwrap_or(current.weight),
            enabled: input.enabled.unwrap_or(current.enabled),
        };
        rules::check_rule(&next)?;
        let mut tx = self.store.begin().await?;
        sqlx::query("DELETE FROM audit_rules WHERE organisation_id = $1 AND rule = $2")
            .bind(&org)
            .bind(flag.as_str())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO audit_rules (organisation_id, rule, threshold, weight, enabled, updated_by, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&org)
        .bind(flag.as_str())
        .bind(next.threshold)
        .bind(next.weight)
        .bind(i64::from(next.enabled))
        .bind(scope.user_id())
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.audit_rules(scope).await
    }

    /// Proposes an audit of a service point: its paid claims of the period not in another audit,
    /// a sample sized by discovery sampling and drawn weighted by risk. Kept as an open audit.
    pub async fn propose_audit(
        self,
        scope: &Scope,
        input: &AuditProposal,
        now: OffsetDateTime,
    ) -> Result<Audit, StoreError> {
        let point = input.service_point_id.trim();
        if point.is_empty() {
            return Err(ValidationErrors::single(
                "service_point_id",
                Rule::Required,
                "service_point_id is required",
            )
            .into());
        }
        if !scope.permits(point, Permission::WarrantyAudit) {
            return Err(StoreError::NotFound);
        }
        let months = input.months.unwrap_or(DEFAULT_MONTHS);
        let mut errs = ValidationErrors::default();
        if !(1..=60).contains(&months) {
            errs.push(
                FieldError::new("months", Rule::Format, "months must lie between 1 and 60")
                    .hint("au-err-months"),
            );
        }
        let confidence = input.confidence_pct.unwrap_or(95);
        if !(50..=99).contains(&confidence) {
            errs.push(
                FieldError::new(
                    "confidence_pct",
                    Rule::Format,
                    "confidence_pct must lie between 50 and 99",
                )
                .hint("au-err-confidence"),
            );
        }
        let bad = input.min_bad_rate_pct.unwrap_or(5);
        if !(1..=50).contains(&bad) {
            errs.push(
                FieldError::new(
                    "min_bad_rate_pct",
                    Rule::Format,
                    "min_bad_rate_pct must lie between 1 and 50",
                )
                .hint("au-err-bad-rate"),
            );
        }
        errs.into_result()?;
        let on = now.date();
        let (org, rules, points, judging) =
            self.findings(scope, on, months, true, Some(point)).await?;
        let settings: Vec<RuleSetting> = rules.iter().map(|r| r.0).collect();
        let (rows, bits) = self
            .point_claims(
                &judging,
                point,
                period_start(on, months),
                on,
                Pick::Paid,
                None,
            )
            .await?;
        let audited: Vec<String> = sqlx::query_scalar(
            "SELECT i.claim_id FROM claim_audit_items i JOIN warranty_claims c ON c.id = i.claim_id \
             WHERE c.organisation_id = $1",
        )
        .bind(point)
        .fetch_all(&self.store.pool)
        .await?;
        let audited: std::collections::HashSet<String> = audited.into_iter().collect();
        let flags: Vec<Vec<RedFlag>> = rows.iter().map(|r| flags_of(r.7, &bits)).collect();
        let mut items = Vec::new();
        for (i, r) in rows.iter().enumerate() {
            if !audited.contains(&r.0) {
                items.push(RiskItem {
                    id: i,
                    weight: rules::sampling_weight(&flags[i], &settings),
                });
            }
        }
        if items.is_empty() {
            return Err(ValidationErrors(vec![FieldError::new(
                "service_point_id",
                Rule::NotAllowed,
                "the service point has no paid claims in the period that are not audited yet",
            )
            .hint("au-err-nothing-to-sample")])
            .into());
        }
        let seed = uuid::Uuid::now_v7().as_u64_pair().1;
        let proposal = sample::propose(&items, confidence as f64 / 100.0, bad as f64 / 100.0, seed)
            .map_err(|e| StoreError::Internal(format!("audit sample: {e}")))?;
        let score = points
            .iter()
            .find(|p| p.point == point)
            .map_or(0.0, |p| p.score);
        let id = new_id();
        let mut tx = self.store.begin().await?;
        let year = on.year();
        let counter = format!("audit-{year}");
        sqlx::query(
            "INSERT INTO counters (name, value) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING",
        )
        .bind(&counter)
        .execute(&mut *tx)
        .await?;
        let n: i64 = sqlx::query_scalar(
            "UPDATE counters SET value = value + 1 WHERE name = $1 RETURNING value",
        )
        .bind(&counter)
        .fetch_one(&mut *tx)
        .await?;
        let number = format!("AU-{year}-{n:04}");
        // A claim another audit took meanwhile (read under the counter's lock) makes this one retry.
        let taken: Vec<String> = sqlx::query_scalar(
            "SELECT i.claim_id FROM claim_audit_items i JOIN warranty_claims c ON c.id = i.claim_id \
             WHERE c.organisation_id = $1",
        )
        .bind(point)
        .fetch_all(&mut *tx)
        .await?;
        if proposal
            .selected
            .iter()
            .any(|s| taken.iter().any(|t| *t == rows[s.id].0))
        {
            tx.rollback().await?;
            return Err(StoreError::Taken(
                "a claim of the sample was taken by another audit meanwhile".into(),
            ));
        }
        sqlx::query(
            "INSERT INTO claim_audits (id, number, organisation_id, service_point_id, period_from, period_to, population, \
             required, confidence_pct, min_bad_rate_pct, seed, score_centi, status, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'open', $13, $14)",
        )
        .bind(&id)
        .bind(&number)
        .bind(&org)
        .bind(point)
        .bind(first_day(on, months).to_string())
        .bind(on.to_string())
        .bind(proposal.population as i64)
        .bind(i64::try_from(proposal.required).unwrap_or(i64::MAX))
        .bind(confidence)
        .bind(bad)
        .bind(i64::from_ne_bytes(seed.to_ne_bytes()))
        .bind((score * 100.0).round() as i64)
        .bind(scope.user_id())
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        for s in &proposal.selected {
            let claim_id = &rows[s.id].0;
            let flags: Vec<&str> = flags[s.id].iter().map(|f| f.as_str()).collect();
            sqlx::query(
                "INSERT INTO claim_audit_items (audit_id, claim_id, priority, weight_centi, flags) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&id)
            .bind(claim_id)
            .bind(s.priority as i64)
            .bind((s.weight * 100.0).round() as i64)
            .bind(serde_json::to_string(&flags).unwrap_or_else(|_| "[]".into()))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.audit(scope, &id).await
    }

    /// The audits of the service points in reach, newest first.
    pub async fn audits(self, scope: &Scope) -> Result<Vec<AuditSummary>, StoreError> {
        scope.require_somewhere(Permission::WarrantyAudit)?;
        let orgs = scope.orgs_with(Permission::WarrantyAudit);
        let sql = format!(
            "SELECT a.id, a.number, a.service_point_id, o.name, a.status, a.created_at, \
             COUNT(i.claim_id), COUNT(i.result), CAST(COALESCE(SUM(i.chargeback_minor), 0) AS BIGINT), MIN(c.currency) \
             FROM claim_audits a JOIN organisations o ON o.id = a.service_point_id \
             LEFT JOIN claim_audit_items i ON i.audit_id = a.id LEFT JOIN warranty_claims c ON c.id = i.claim_id \
             WHERE a.service_point_id IN ({}) GROUP BY a.id, a.number, a.service_point_id, o.name, a.status, a.created_at \
             ORDER BY a.created_at DESC",
            placeholders(1, orgs.len())
        );
        type SumRow = (
            String,
            String,
            String,
            String,
            String,
            i64,
            i64,
            i64,
            i64,
            Option<String>,
        );
        let mut q = sqlx::query_as::<_, SumRow>(&sql);
        for o in &orgs {
            q = q.bind(o);
        }
        Ok(q.fetch_all(&self.store.pool)
            .await?
            .into_iter()
            .map(
                |(id, number, sp, name, status, at, sampled, decided, charged, currency)| {
                    AuditSummary {
                        id,
                        number,
                        service_point: Ref {
                            id: sp,
                            label: name,
                        },
                        status,
                        sampled,
                        decided,
                        charged_back: Money::new(charged, currency.as_deref().unwrap_or("EUR")),
                        created_at: from_micros(at),
                    }
                },
            )
            .collect())
    }

    /// One audit with its sample and what was found.
    pub async fn audit(self, scope: &Scope, id: &str) -> Result<Audit, StoreError> {
        type HeadRow = (
            String,
            String,
            String,
            String,
            String,
            String,
            i64,
            i64,
            i64,
            i64,
            i64,
            i64,
            String,
            Option<String>,
            i64,
            i64,
        );
        let head: Option<HeadRow> = sqlx::query_as(
            "SELECT a.number, a.organisation_id, a.service_point_id, a.period_from, a.period_to, o.name, a.population, \
             a.required, a.confidence_pct, a.min_bad_rate_pct, a.seed, a.score_centi, a.status, u.display_name, a.created_at, a.version \
             FROM claim_audits a JOIN organisations o ON o.id = a.organisation_id LEFT JOIN users u ON u.id = a.created_by WHERE a.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.store.pool)
        .await?;
        let Some((
            number,
            org,
            point,
            from,
            to,
            org_name,
            population,
            required,
            confidence,
            bad,
            seed,
            score,
            status,
            created_by,
            created_at,
            version,
        )) = head
        else {
            return Err(StoreError::NotFound);
        };
        if !scope.permits(&point, Permission::WarrantyAudit) {
            return Err(StoreError::NotFound);
        }
        let names = self
            .names(&[point.as_str()], "organisations", "name")
            .await?;
        type ItemRow = (
            String,
            String,
            String,
            String,
            i64,
            i64,
            String,
            String,
            i64,
            Option<String>,
            Option<i64>,
            Option<String>,
            Option<String>,
            Option<String>,
            String,
        );
        let rows: Vec<ItemRow> = sqlx::query_as(
            "SELECT i.claim_id, c.number, c.vin, c.opened_on, i.priority, i.weight_centi, i.flags, c.status, \
             c.charged_back_minor, i.result, i.chargeback_minor, i.reason, i.note, u.display_name, c.currency \
             FROM claim_audit_items i JOIN warranty_claims c ON c.id = i.claim_id LEFT JOIN users u ON u.id = i.decided_by \
             WHERE i.audit_id = $1 ORDER BY i.priority",
        )
        .bind(id)
        .fetch_all(&self.store.pool)
        .await?;
        let approved = self
            .approved_totals(&rows.iter().map(|r| r.0.as_str()).collect::<Vec<_>>())
            .await?;
        let mut items = Vec::with_capacity(rows.len());
        let mut charged_total = 0;
        let mut decided = 0;
        let mut currency = "EUR".to_string();
        let t = "claim_audit_items";
        for (
            claim,
            claim_number,
            vin,
            opened,
            priority,
            weight,
            flags,
            _status,
            charged_back,
            result,
            chargeback,
            reason,
            note,
            by,
            cur,
        ) in rows
        {
            let flags: Vec<String> = serde_json::from_str(&flags)
                .map_err(|e| StoreError::Internal(format!("{t}.flags does not read: {e}")))?;
            let flags = flags
                .iter()
                .map(|f| decode(t, "flags", f, RedFlag::parse))
                .collect::<Result<Vec<_>, _>>()?;
            let result = result
                .map(|r| decode(t, "result", &r, AuditResult::parse))
                .transpose()?;
            let reason = reason
                .map(|r| decode(t, "reason", &r, ChargebackReason::parse))
                .transpose()?;
            if result.is_some() {
                decided += 1;
            }
            charged_total += chargeback.unwrap_or(0);
            let this = chargeback.unwrap_or(0);
            let paid = approved.get(&claim).copied().unwrap_or(0) - charged_back + this;
            items.push(AuditItem {
                claim_id: claim,
                claim_number,
                vin,
                opened_on: opened,
                priority,
                weight: weight as f64 / 100.0,
                flags,
                approved: Money::new(paid, &cur),
                result,
                chargeback: chargeback.map(|c| Money::new(c, &cur)),
                reason,
                note,
                decided_by: by,
            });
            currency = cur;
        }
        Ok(Audit {
            id: id.to_string(),
            number,
            organisation: Ref {
                id: org,
                label: org_name,
            },
            service_point: Ref {
                label: names.get(&point).cloned().unwrap_or_default(),
                id: point,
            },
            period_from: from,
            period_to: to,
            population,
            required,
            confidence_pct: confidence,
            min_bad_rate_pct: bad,
            seed: u64::from_ne_bytes(seed.to_ne_bytes()).to_string(),
            score: score as f64 / 100.0,
            status,
            charged_back: Money::new(charged_total, &currency),
            decided,
            items,
            created_by,
            created_at: from_micros(created_at),
            version,
        })
    }
}

/// Locks an open audit for the rest of the transaction (its version moves on), so findings and
/// the closing are applied one after the other; a closed audit is refused.
async fn lock_open(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    audit_id: &str,
) -> Result<(), StoreError> {
    let open = sqlx::query(
        "UPDATE claim_audits SET version = version + 1 WHERE id = $1 AND status = 'open'",
    )
    .bind(audit_id)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if open == 0 {
        return Err(ValidationErrors(vec![FieldError::new(
            "status",
            Rule::NotAllowed,
            "the audit is closed; its findings can no longer change",
        )
        .hint("au-err-closed")])
        .into());
    }
    Ok(())
}
