//! Audits of a service point against its brand's catalogue and the market's additions: planned by
//! the market (auditor and day), the service point's self-assessment and the auditor's official
//! answers kept side by side, evidence files per requirement, and the scores computed when the
//! auditor completes the audit (`domain::standards::score`).
//! Here: planning, listing, reading and replanning audits; answers.rs the answers and evidence.

mod answers;

use std::collections::BTreeMap;

use aftersales_domain::org::Permission;
use aftersales_domain::standards::{
    self as rules, AuditParty, AuditStatus, Outcome, Scored, Scores,
};
use aftersales_domain::validation::{text_block, FieldError, Rule};
use aftersales_domain::ValidationErrors;
use time::{Duration, OffsetDateTime};

use super::{
    catalogues_for, lineage, org_ref, requirements_of, user_ref, AnswersInput,
    CatalogueRequirement, EvidenceFile, StandardAnswer, StandardAudit, StandardAuditInput,
    StandardAuditItem, StandardAuditSummary, Standards,
};
use crate::crm::parse_date;
use crate::error::StoreError;
use crate::scope::Scope;
use crate::{decode, from_micros, micros, new_id};

type AuditRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    String,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<String>,
    i64,
);

const AUDIT_COLUMNS: &str = "id, service_point_id, planned_by_org, brand_catalogue_id, market_catalogue_id, auditor_id, planned_on, status, self_submitted_at, self_submitted_by, completed_at, scores, version";

type AnswerRow = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    i64,
);

type EvidenceRow = (
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    i64,
    i64,
);

pub(crate) const EVIDENCE_COLUMNS: &str =
    "id, party, requirement_id, action_id, file_name, content_type, size, uploaded_at";

pub(crate) fn evidence_of(r: EvidenceRow) -> EvidenceFile {
    let (id, party, requirement_id, action_id, file_name, content_type, size, at) = r;
    EvidenceFile {
        id,
        party,
        requirement_id,
        action_id,
        file_name,
        content_type,
        size,
        uploaded_at: from_micros(at),
    }
}

/// The scores of one party's answers over an audit's requirements.
fn scores_of(items: &[StandardAuditItem], official: bool) -> Scores {
    let scored: Vec<Scored> = items
        .iter()
        .map(|i| Scored {
            category: i.requirement.category,
            weight: i.requirement.weight,
            mandatory: i.requirement.mandatory,
            outcome: if official {
                &i.official
            } else {
                &i.self_answer
            }
            .as_ref()
            .and_then(|a| a.outcome),
        })
        .collect();
    rules::score(&scored)
}

/// The catalogue versions an audit uses: the brand's, and the market's additions when there are.
fn catalogues_of(row: &AuditRow) -> Vec<&str> {
    std::iter::once(row.3.as_str())
        .chain(row.4.as_deref())
        .collect()
}

impl Standards<'_> {
    /// The day and auditor of a planned audit: the day within a year back and two ahead, the
    /// auditor someone active who may audit the service point. Problems go into `errs`.
    async fn check_plan(
        &self,
        point: &str,
        input: &StandardAuditInput,
        now: OffsetDateTime,
        errs: &mut ValidationErrors,
    ) -> Result<Option<time::Date>, StoreError> {
        let today = now.date();
        let day = errs.take(parse_date("planned_on", &input.planned_on).and_then(|d| {
            aftersales_domain::validation::date_between(
                "planned_on",
                d,
                today - Duration::days(366),
                today + Duration::days(2 * 366),
            )
        }));
        let auditor = input.auditor_id.trim();
        let may_audit = self
            .store
            .scope_of(auditor)
            .await?
            .permits(point, Permission::StandardsAudit)
            && self.active(auditor).await?;
        if !may_audit {
            errs.push(
                FieldError::new(
                    "auditor_id",
                    Rule::NotAllowed,
                    "the auditor must be someone who may audit this service point",
                )
                .hint("st-err-auditor"),
            );
        }
        Ok(day)
    }

    async fn audit_row(&self, id: &str) -> Result<AuditRow, StoreError> {
        let row: Option<AuditRow> = sqlx::query_as(&format!(
            "SELECT {AUDIT_COLUMNS} FROM standard_audits WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.store.pool)
        .await?;
        row.ok_or(StoreError::NotFound)
    }

    /// Plans an audit of a service point: its auditor (who may audit there) and day. The audit
    /// uses the brand's and the market's latest catalogue versions of today.
    pub async fn plan_audit(
        &self,
        scope: &Scope,
        input: &StandardAuditInput,
        now: OffsetDateTime,
    ) -> Result<StandardAudit, StoreError> {
        let point = input.service_point_id.trim();
        scope.require(point, Permission::StandardsAudit)?;
        let line = lineage(&self.store.pool, point).await?;
        let mut errs = ValidationErrors::default();
        if line.first().map(|(_, k)| k.as_str()) != Some("service-point") {
            errs.push(
                FieldError::new(
                    "service_point_id",
                    Rule::NotAllowed,
                    "audits are of service points",
                )
                .hint("st-err-not-point"),
            );
        }
        let day = self.check_plan(point, input, now, &mut errs).await?;
        let (brand, market) = catalogues_for(&self.store.pool, point).await?;
        if brand.is_none() {
            errs.push(
                FieldError::new(
                    "service_point_id",
                    Rule::Required,
                    "the brand has no standards catalogue yet",
                )
                .hint("st-err-no-catalogue"),
            );
        }
        errs.into_result()?;
        let (Some(day), Some(brand)) = (day, brand) else {
            return Err(StoreError::Internal("checked above".into()));
        };
        // The planner's own organisation: the highest one above the point where they may audit.
        let planned_by = line
            .iter()
            .rev()
            .find(|(id, _)| scope.permits(id, Permission::StandardsAudit))
            .map(|(id, _)| id.clone())
            .unwrap_or_else(|| point.to_string());
        let id = new_id();
        let mut tx = self.store.begin().await?;
        sqlx::query(
            "INSERT INTO standard_audits (id, service_point_id, planned_by_org, brand_catalogue_id, market_catalogue_id, auditor_id, planned_on, status, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'planned', $8, $9)",
        )
        .bind(&id)
        .bind(point)
        .bind(&planned_by)
        .bind(&brand)
        .bind(&market)
        .bind(input.auditor_id.trim())
        .bind(day.to_string())
        .bind(scope.user_id())
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.audit(scope, &id).await
    }

    /// Audits of the service points the caller reaches, the newest day first; `status` narrows.
    pub async fn audits(
        &self,
        scope: &Scope,
        status: Option<AuditStatus>,
    ) -> Result<Vec<StandardAuditSummary>, StoreError> {
        scope.require_somewhere(Permission::StandardsRead)?;
        let orgs = scope.orgs_with(Permission::StandardsRead);
        let sql = format!(
            "SELECT a.id, a.service_point_id, o.name, a.auditor_id, u.display_name, a.planned_on, a.status, a.self_submitted_at, a.scores, a.passed \
             FROM standard_audits a JOIN organisations o ON o.id = a.service_point_id JOIN users u ON u.id = a.auditor_id \
             WHERE a.service_point_id IN ({}){} ORDER BY a.planned_on DESC, a.id DESC LIMIT 500",
            crate::db::placeholders(1, orgs.len()),
            if status.is_some() {
                format!(" AND a.status = ${}", orgs.len() + 1)
            } else {
                String::new()
            }
        );
        type Row = (
            String,
            String,
            String,
            String,
            String,
            String,
            String,
            Option<i64>,
            Option<String>,
            Option<i64>,
        );
        let mut q = sqlx::query_as::<_, Row>(&sql);
        for o in &orgs {
            q = q.bind(o);
        }
        if let Some(s) = status {
            q = q.bind(s.as_str());
        }
        let rows = q.fetch_all(&self.store.pool).await?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, sp, sp_name, auditor, auditor_name, day, st, self_at, scores, passed) in rows {
            let scores: Option<Scores> = match scores {
                Some(s) => Some(serde_json::from_str(&s).map_err(|_| StoreError::Corrupt {
                    table: "standard_audits",
                    column: "scores",
                    value: s,
                })?),
                None => None,
            };
            out.push(StandardAuditSummary {
                id,
                service_point: crate::Ref {
                    id: sp,
                    label: sp_name,
                },
                auditor: crate::Ref {
                    id: auditor,
                    label: auditor_name,
                },
                planned_on: day,
                status: decode("standard_audits", "status", &st, AuditStatus::parse)?,
                self_submitted: self_at.is_some(),
                score: scores.and_then(|s| s.overall.percent),
                passed: passed.map(|p| p != 0),
            });
        }
        Ok(out)
    }

    /// An audit with its requirements, both parties' answers, evidence and scores.
    pub async fn audit(&self, scope: &Scope, id: &str) -> Result<StandardAudit, StoreError> {
        let row = self.audit_row(id).await?;
        scope.require(&row.1, Permission::StandardsRead)?;
        let pool = &self.store.pool;
        let (
            id,
            point,
            planned_by,
            brand,
            market,
            auditor,
            planned_on,
            status,
            self_at,
            self_by,
            completed_at,
            scores,
            version,
        ) = row;
        let mut cats = vec![brand.as_str()];
        if let Some(m) = &market {
            cats.push(m.as_str());
        }
        let requirements = requirements_of(pool, &cats).await?;
        let answers: Vec<AnswerRow> = sqlx::query_as(
            "SELECT requirement_id, party, outcome, figure, comment, answered_by, answered_at FROM standard_answers WHERE audit_id = $1",
        )
        .bind(&id)
        .fetch_all(pool)
        .await?;
        let mut by: BTreeMap<(String, String), StandardAnswer> = BTreeMap::new();
        let mut names: BTreeMap<String, crate::Ref> = BTreeMap::new();
        for (req, party, outcome, figure, comment, user, at) in answers {
            if !names.contains_key(&user) {
                names.insert(user.clone(), user_ref(pool, &user).await?);
            }
            let outcome = match outcome {
                Some(o) => Some(decode("standard_answers", "outcome", &o, Outcome::parse)?),
                None => None,
            };
            // Figures are kept as text: the Any driver cannot bind a NULL double on PostgreSQL.
            let figure = match figure {
                Some(f) => Some(f.parse::<f64>().map_err(|_| StoreError::Corrupt {
                    table: "standard_answers",
                    column: "figure",
                    value: f,
                })?),
                None => None,
            };
            by.insert(
                (req, party),
                StandardAnswer {
                    outcome,
                    figure,
                    comment,
                    answered_by: names.get(&user).cloned().unwrap_or(crate::Ref {
                        id: user.clone(),
                        label: String::new(),
                    }),
                    answered_at: from_micros(at),
                },
            );
        }
        let items: Vec<StandardAuditItem> = requirements
            .into_iter()
            .map(|r| StandardAuditItem {
                self_answer: by.remove(&(r.id.clone(), "self".to_string())),
                official: by.remove(&(r.id.clone(), "official".to_string())),
                requirement: r,
            })
            .collect();
        let evidence: Vec<EvidenceRow> = sqlx::query_as(&format!(
            "SELECT {EVIDENCE_COLUMNS} FROM standard_evidence WHERE audit_id = $1 AND action_id IS NULL ORDER BY uploaded_at, id"
        ))
        .bind(&id)
        .fetch_all(pool)
        .await?;
        let pass_mark: i64 =
            sqlx::query_scalar("SELECT pass_mark FROM standard_catalogues WHERE id = $1")
                .bind(&brand)
                .fetch_one(pool)
                .await?;
        let pass_mark = u8::try_from(pass_mark).unwrap_or(100);
        let mut catalogues = Vec::new();
        for c in &cats {
            let (org, v): (String, i64) = sqlx::query_as(
                "SELECT o.name, c.version FROM standard_catalogues c JOIN organisations o ON o.id = c.organisation_id WHERE c.id = $1",
            )
            .bind(*c)
            .fetch_one(pool)
            .await?;
            catalogues.push(crate::Ref {
                id: c.to_string(),
                label: format!("{org} v{v}"),
            });
        }
        let scores: Option<Scores> = match scores {
            Some(s) => Some(serde_json::from_str(&s).map_err(|_| StoreError::Corrupt {
                table: "standard_audits",
                column: "scores",
                value: s,
            })?),
            None => None,
        };
        let self_scores = self_at.map(|_| scores_of(&items, false));
        Ok(StandardAudit {
            service_point: org_ref(pool, &point).await?,
            planned_by: org_ref(pool, &planned_by).await?,
            auditor: user_ref(pool, &auditor).await?,
            planned_on,
            status: decode("standard_audits", "status", &status, AuditStatus::parse)?,
            catalogues,
            pass_mark,
            self_submitted_by: match self_by {
                Some(u) => Some(user_ref(pool, &u).await?),
                None => None,
            },
            self_submitted_at: self_at.map(from_micros),
            completed_at: completed_at.map(from_micros),
            passed: scores.as_ref().map(|s| s.passed(pass_mark)),
            scores,
            self_scores,
            items,
            evidence: evidence.into_iter().map(evidence_of).collect(),
            version,
            id,
        })
    }

    /// Moves a planned audit to another day or auditor, or cancels it (`cancel`), by someone who
    /// may plan audits there. A completed audit stays as it is.
    pub async fn replan_audit(
        &self,
        scope: &Scope,
        id: &str,
        input: &StandardAuditInput,
        cancel: bool,
        now: OffsetDateTime,
    ) -> Result<StandardAudit, StoreError> {
        let row = self.audit_row(id).await?;
        scope.require(&row.1, Permission::StandardsRead)?;
        scope.require(&row.1, Permission::StandardsAudit)?;
        if row.7 != AuditStatus::Planned.as_str() {
            return Err(StoreError::Invalid(
                FieldError::new("status", Rule::NotAllowed, "the audit is closed")
                    .hint("st-err-closed")
                    .into(),
            ));
        }
        let day = if cancel {
            None
        } else {
            let mut errs = ValidationErrors::default();
            let day = self.check_plan(&row.1, input, now, &mut errs).await?;
            errs.into_result()?;
            day
        };
        let mut tx = self.store.begin().await?;
        let changed = if cancel {
            sqlx::query(
                "UPDATE standard_audits SET status = 'cancelled', version = version + 1 WHERE id = $1 AND status = 'planned'",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?
        } else {
            sqlx::query(
                "UPDATE standard_audits SET planned_on = $1, auditor_id = $2, version = version + 1 WHERE id = $3 AND status = 'planned'",
            )
            .bind(day.map(|d| d.to_string()).unwrap_or_default())
            .bind(input.auditor_id.trim())
            .bind(id)
            .execute(&mut *tx)
            .await?
        };
        if changed.rows_affected() == 0 {
            return Err(StoreError::Invalid(
                FieldError::new("status", Rule::NotAllowed, "the audit is closed")
                    .hint("st-err-closed")
                    .into(),
            ));
        }
        tx.commit().await?;
        self.audit(scope, id).await
    }

    /// Checks that the caller may answer for `party` on this audit now.
    fn may_answer(scope: &Scope, row: &AuditRow, party: AuditParty) -> Result<(), StoreError> {
        scope.require(&row.1, Permission::StandardsRead)?;
        if row.7 != AuditStatus::Planned.as_str() {
            return Err(StoreError::Invalid(
                FieldError::new("status", Rule::NotAllowed, "the audit is closed")
                    .hint("st-err-closed")
                    .into(),
            ));
        }
        match party {
            AuditParty::SelfAssessment => {
                scope.require(&row.1, Permission::StandardsSelfAssess)?;
                if row.8.is_some() {
                    return Err(StoreError::Invalid(
                        FieldError::new(
                            "party",
                            Rule::NotAllowed,
                            "the self-assessment is submitted already",
                        )
                        .hint("st-err-self-submitted")
                        .into(),
                    ));
                }
            }
            AuditParty::Official => {
                scope.require(&row.1, Permission::StandardsAudit)?;
                if scope.user_id() != row.5 {
                    return Err(StoreError::Forbidden(
                        "only the audit's auditor answers for the audit".into(),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The people who may audit a service point the caller plans audits for (a choice of auditor).
    pub async fn auditors(
        &self,
        scope: &Scope,
        service_point: &str,
    ) -> Result<Vec<crate::Ref>, StoreError> {
        scope.require(service_point, Permission::StandardsAudit)?;
        self.people_with(service_point, Permission::StandardsAudit)
            .await
    }

    /// The people who may own a corrective action at a service point (its advisors and manager),
    /// for an auditor choosing the owner.
    pub async fn action_owners(
        &self,
        scope: &Scope,
        service_point: &str,
    ) -> Result<Vec<crate::Ref>, StoreError> {
        scope.require(service_point, Permission::StandardsAudit)?;
        self.people_with(service_point, Permission::StandardsSelfAssess)
            .await
    }

    /// Active people whose roles at the service point or above it grant `p` there.
    async fn people_with(
        &self,
        service_point: &str,
        p: Permission,
    ) -> Result<Vec<crate::Ref>, StoreError> {
        let line: Vec<String> = lineage(&self.store.pool, service_point)
            .await?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let sql = format!(
            "SELECT DISTINCT u.id, u.display_name, m.role FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.organisation_id IN ({}) AND u.disabled = 0 ORDER BY u.display_name",
            crate::db::placeholders(1, line.len())
        );
        let mut q = sqlx::query_as::<_, (String, String, String)>(&sql);
        for o in &line {
            q = q.bind(o);
        }
        let mut out: Vec<crate::Ref> = Vec::new();
        for (id, name, role) in q.fetch_all(&self.store.pool).await? {
            let audits =
                aftersales_domain::org::Role::parse("role", &role).is_ok_and(|r| r.grants(p));
            if audits && !out.iter().any(|r| r.id == id) {
                out.push(crate::Ref { id, label: name });
            }
        }
        Ok(out)
    }
}
