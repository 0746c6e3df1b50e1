//! Corrective actions from an audit's findings: raised by the auditor with an owner at the service
//! point and a due day, closed by the owner with evidence, verified (or sent back) by the auditor;
//! open actions past their day are escalated once through the outbox to the owner and the
//! auditor (`Cli::escalate_overdue_actions`, the server's hourly run). And the network view:
//! every service point's latest scores, trend and open actions.

use std::collections::BTreeMap;

use aftersales_domain::notify::StaffNotice;
use aftersales_domain::org::Permission;
use aftersales_domain::standards::{
    self as rules, ActionStatus, AuditStatus, Scores, StandardCategory,
};
use aftersales_domain::validation::{text, text_block, FieldError, Rule};
use aftersales_domain::ValidationErrors;
use time::{Duration, OffsetDateTime};

use super::audits::{evidence_of, EVIDENCE_COLUMNS};
use super::{
    org_ref, user_ref, ActionReview, ActionSubmission, CorrectiveAction, CorrectiveActionInput,
    EvidenceFile, NetworkPoint, ScorePoint, Standards,
};
use crate::cli::Cli;
use crate::crm::parse_date;
use crate::error::StoreError;
use crate::scope::Scope;
use crate::{decode, from_micros, micros, new_id, Ref};

type ActionRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<i64>,
    i64,
    i64,
);

const ACTION_COLUMNS: &str = "a.id, a.audit_id, a.service_point_id, a.requirement_id, a.title, a.owner_id, a.due_on, a.status, a.closing_note, a.submitted_at, a.verified_at, a.verified_by, a.review_note, a.escalated_at, a.created_at, a.version";

impl Standards<'_> {
    async fn action_of(
        &self,
        r: ActionRow,
        now: OffsetDateTime,
    ) -> Result<CorrectiveAction, StoreError> {
        let pool = &self.store.pool;
        let (
            id,
            audit_id,
            point,
            requirement_id,
            title,
            owner,
            due_on,
            status,
            closing_note,
            submitted_at,
            verified_at,
            verified_by,
            review_note,
            escalated_at,
            created_at,
            version,
        ) = r;
        let status = decode("standard_actions", "status", &status, ActionStatus::parse)?;
        let due = decode("standard_actions", "due_on", &due_on, parse_date)?;
        let (code, texts): (String, String) =
            sqlx::query_as("SELECT code, texts FROM standard_requirements WHERE id = $1")
                .bind(&requirement_id)
                .fetch_one(pool)
                .await?;
        let evidence: Vec<_> = sqlx::query_as(&format!(
            "SELECT {EVIDENCE_COLUMNS} FROM standard_evidence WHERE action_id = $1 ORDER BY uploaded_at, id"
        ))
        .bind(&id)
        .fetch_all(pool)
        .await?;
        Ok(CorrectiveAction {
            audit_id,
            service_point: org_ref(pool, &point).await?,
            requirement_code: code,
            requirement_text: serde_json::from_str(&texts).map_err(|_| StoreError::Corrupt {
                table: "standard_requirements",
                column: "texts",
                value: texts.clone(),
            })?,
            requirement_id,
            title,
            owner: user_ref(pool, &owner).await?,
            due_on,
            overdue: rules::overdue(status, due, now.date()),
            age_days: (now - from_micros(created_at)).whole_days(),
            status,
            closing_note,
            submitted_at: submitted_at.map(from_micros),
            verified_by: match verified_by {
                Some(u) => Some(user_ref(pool, &u).await?),
                None => None,
            },
            verified_at: verified_at.map(from_micros),
            review_note,
            escalated_at: escalated_at.map(from_micros),
            evidence: evidence.into_iter().map(evidence_of).collect(),
            created_at: from_micros(created_at),
            version,
            id,
        })
    }

    async fn action_row(&self, id: &str) -> Result<ActionRow, StoreError> {
        let row: Option<ActionRow> = sqlx::query_as(&format!(
            "SELECT {ACTION_COLUMNS} FROM standard_actions a WHERE a.id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.store.pool)
        .await?;
        row.ok_or(StoreError::NotFound)
    }

    /// Raises a corrective action from a finding (a requirement the completed audit found not met
    /// or partly met): its owner works at the service point, its due day lies within a year.
    pub async fn raise_action(
        &self,
        scope: &Scope,
        audit_id: &str,
        input: &CorrectiveActionInput,
        now: OffsetDateTime,
    ) -> Result<CorrectiveAction, StoreError> {
        let audit: Option<(String, String)> =
            sqlx::query_as("SELECT service_point_id, status FROM standard_audits WHERE id = $1")
                .bind(audit_id)
                .fetch_optional(&self.store.pool)
                .await?;
        let Some((point, status)) = audit else {
            return Err(StoreError::NotFound);
        };
        scope.require(&point, Permission::StandardsRead)?;
        scope.require(&point, Permission::StandardsAudit)?;
        let mut errs = ValidationErrors::default();
        if status != AuditStatus::Completed.as_str() {
            errs.push(
                FieldError::new(
                    "audit",
                    Rule::NotAllowed,
                    "actions are raised from the findings of a completed audit",
                )
                .hint("st-err-not-completed"),
            );
        }
        let official: Option<Option<String>> = sqlx::query_scalar(
            "SELECT outcome FROM standard_answers WHERE audit_id = $1 AND requirement_id = $2 AND party = 'official'",
        )
        .bind(audit_id)
        .bind(input.requirement_id.trim())
        .fetch_optional(&self.store.pool)
        .await?;
        let outcome = official
            .flatten()
            .and_then(|o| rules::Outcome::parse("outcome", &o).ok());
        if !rules::is_finding(outcome) && errs.is_empty() {
            errs.push(
                FieldError::new(
                    "requirement_id",
                    Rule::NotAllowed,
                    "only a requirement the audit found not met or partly met is a finding",
                )
                .hint("st-err-not-finding"),
            );
        }
        let title = errs.take(text("title", &input.title, 3, 200));
        let today = now.date();
        let due = errs.take(parse_date("due_on", &input.due_on).and_then(|d| {
            aftersales_domain::validation::date_between(
                "due_on",
                d,
                today,
                today + Duration::days(366),
            )
        }));
        let owner = input.owner_id.trim();
        let may_work = self
            .store
            .scope_of(owner)
            .await?
            .permits(&point, Permission::StandardsSelfAssess)
            && self.active(owner).await?;
        if !may_work {
            errs.push(
                FieldError::new(
                    "owner_id",
                    Rule::NotAllowed,
                    "the owner must be someone who works the service point's actions (an advisor or its manager)",
                )
                .hint("st-err-owner-point"),
            );
        }
        errs.into_result()?;
        let (Some(title), Some(due)) = (title, due) else {
            return Err(StoreError::Internal("checked above".into()));
        };
        let id = new_id();
        let mut tx = self.store.begin().await?;
        sqlx::query(
            "INSERT INTO standard_actions (id, audit_id, requirement_id, service_point_id, title, owner_id, due_on, status, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8, $9)",
        )
        .bind(&id)
        .bind(audit_id)
        .bind(input.requirement_id.trim())
        .bind(&point)
        .bind(&title)
        .bind(owner)
        .bind(due.to_string())
        .bind(scope.user_id())
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.action(scope, &id, now).await
    }

    /// One corrective action, for those who may see its audit.
    pub async fn action(
        &self,
        scope: &Scope,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<CorrectiveAction, StoreError> {
        let row = self.action_row(id).await?;
        scope.require(&row.2, Permission::StandardsRead)?;
        self.action_of(row, now).await
    }

    /// Corrective actions of the service points reached (`audit`: of one audit; `open_only`:
    /// not yet verified), the oldest due first.
    pub async fn actions(
        &self,
        scope: &Scope,
        audit: Option<&str>,
        open_only: bool,
        now: OffsetDateTime,
    ) -> Result<Vec<CorrectiveAction>, StoreError> {
        scope.require_somewhere(Permission::StandardsRead)?;
        let orgs = scope.orgs_with(Permission::StandardsRead);
        let mut sql = format!(
            "SELECT {ACTION_COLUMNS} FROM standard_actions a WHERE a.service_point_id IN ({})",
            crate::db::placeholders(1, orgs.len())
        );
        if audit.is_some() {
            sql.push_str(&format!(" AND a.audit_id = ${}", orgs.len() + 1));
        }
        if open_only {
            sql.push_str(" AND a.status <> 'verified'");
        }
        sql.push_str(" ORDER BY a.due_on, a.id LIMIT 500");
        let mut q = sqlx::query_as::<_, ActionRow>(&sql);
        for o in &orgs {
            q = q.bind(o);
        }
        if let Some(a) = audit {
            q = q.bind(a);
        }
        let mut out = Vec::new();
        for r in q.fetch_all(&self.store.pool).await? {
            out.push(self.action_of(r, now).await?);
        }
        Ok(out)
    }

    fn may_work(scope: &Scope, row: &ActionRow) -> Result<(), StoreError> {
        scope.require(&row.2, Permission::StandardsRead)?;
        scope.require(&row.2, Permission::StandardsSelfAssess)
    }

    /// Adds closing evidence to an open action (the service point's people).
    pub async fn add_action_evidence(
        &self,
        scope: &Scope,
        id: &str,
        file_name: &str,
        bytes: &[u8],
        now: OffsetDateTime,
    ) -> Result<EvidenceFile, StoreError> {
        let row = self.action_row(id).await?;
        Self::may_work(scope, &row)?;
        if row.7 != ActionStatus::Open.as_str() {
            return Err(ValidationErrors::from(
                FieldError::new("status", Rule::NotAllowed, "the action is not open")
                    .hint("st-err-action-closed"),
            )
            .into());
        }
        let content_type = rules::evidence_type("file", bytes).map_err(ValidationErrors::from)?;
        self.store_evidence(
            scope,
            &row.1,
            (None, Some(id)),
            "action",
            file_name,
            content_type,
            bytes,
            now,
        )
        .await
    }

    /// The owner's side closes an open action with a note; at least one evidence file must be on it.
    pub async fn submit_action(
        &self,
        scope: &Scope,
        id: &str,
        input: &ActionSubmission,
        now: OffsetDateTime,
    ) -> Result<CorrectiveAction, StoreError> {
        let row = self.action_row(id).await?;
        Self::may_work(scope, &row)?;
        let from = decode("standard_actions", "status", &row.7, ActionStatus::parse)?;
        let mut errs = ValidationErrors::default();
        errs.take(rules::action_move(from, ActionStatus::Submitted));
        let note = errs.take(text_block("note", &input.note, 3, 2000));
        let files: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM standard_evidence WHERE action_id = $1")
                .bind(id)
                .fetch_one(&self.store.pool)
                .await?;
        if files == 0 {
            errs.push(
                FieldError::new(
                    "file",
                    Rule::Required,
                    "add the evidence that closes the action first",
                )
                .hint("st-err-action-evidence"),
            );
        }
        errs.into_result()?;
        let mut tx = self.store.begin().await?;
        let r = sqlx::query(
            "UPDATE standard_actions SET status = 'submitted', closing_note = $1, submitted_at = $2, submitted_by = $3, version = version + 1 WHERE id = $4 AND status = 'open'",
        )
        .bind(note)
        .bind(micros(now))
        .bind(scope.user_id())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::Conflict {
                current: row.15 + 1,
            });
        }
        tx.commit().await?;
        self.action(scope, id, now).await
    }

    /// The auditor's review of a submitted action: verified, or sent back (open again) with why.
    pub async fn review_action(
        &self,
        scope: &Scope,
        id: &str,
        input: &ActionReview,
        now: OffsetDateTime,
    ) -> Result<CorrectiveAction, StoreError> {
        let row = self.action_row(id).await?;
        scope.require(&row.2, Permission::StandardsRead)?;
        scope.require(&row.2, Permission::StandardsAudit)?;
        let from = decode("standard_actions", "status", &row.7, ActionStatus::parse)?;
        let to = if input.verified {
            ActionStatus::Verified
        } else {
            ActionStatus::Open
        };
        let mut errs = ValidationErrors::default();
        errs.take(rules::action_move(from, to));
        let note = match input
            .note
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            Some(n) => errs.take(text_block("note", n, 1, 2000)),
            None if !input.verified => {
                errs.push(
                    FieldError::new("note", Rule::Required, "say why the action goes back")
                        .hint("st-err-review-note"),
                );
                None
            }
            None => None,
        };
        errs.into_result()?;
        let mut tx = self.store.begin().await?;
        let r = if input.verified {
            sqlx::query(
                "UPDATE standard_actions SET status = 'verified', verified_at = $1, verified_by = $2, review_note = $3, version = version + 1 WHERE id = $4 AND status = 'submitted'",
            )
            .bind(micros(now))
            .bind(scope.user_id())
            .bind(note)
            .bind(id)
            .execute(&mut *tx)
            .await?
        } else {
            // Back to the owner: a new due day is not set here; the old one stands.
            sqlx::query(
                "UPDATE standard_actions SET status = 'open', review_note = $1, escalated_at = NULL, version = version + 1 WHERE id = $2 AND status = 'submitted'",
            )
            .bind(note)
            .bind(id)
            .execute(&mut *tx)
            .await?
        };
        if r.rows_affected() == 0 {
            return Err(StoreError::Conflict {
                current: row.15 + 1,
            });
        }
        tx.commit().await?;
        self.action(scope, id, now).await
    }

    /// Every service point the caller reaches with standards, side by side: the latest completed
    /// audit's scores, the trend over the last six, open and overdue actions, the next audit.
    pub async fn network(
        &self,
        scope: &Scope,
        now: OffsetDateTime,
    ) -> Result<Vec<NetworkPoint>, StoreError> {
        scope.require_somewhere(Permission::StandardsRead)?;
        let pool = &self.store.pool;
        let orgs = scope.orgs_with(Permission::StandardsRead);
        let sql = format!(
            "SELECT id, name FROM organisations WHERE kind = 'service-point' AND id IN ({}) ORDER BY name",
            crate::db::placeholders(1, orgs.len())
        );
        let mut q = sqlx::query_as::<_, (String, String)>(&sql);
        for o in &orgs {
            q = q.bind(o);
        }
        let points = q.fetch_all(pool).await?;
        let today = now.date();
        let mut out = Vec::with_capacity(points.len());
        for (id, name) in points {
            let done: Vec<(String, i64, Option<String>)> = sqlx::query_as(
                "SELECT id, completed_at, scores FROM standard_audits WHERE service_point_id = $1 AND status = 'completed' ORDER BY completed_at DESC LIMIT 6",
            )
            .bind(&id)
            .fetch_all(pool)
            .await?;
            let mut trend = Vec::new();
            let mut latest: Option<(String, Scores)> = None;
            for (audit, at, scores) in &done {
                let s: Option<Scores> = match scores {
                    Some(v) => Some(serde_json::from_str(v).map_err(|_| StoreError::Corrupt {
                        table: "standard_audits",
                        column: "scores",
                        value: v.clone(),
                    })?),
                    None => None,
                };
                if latest.is_none() {
                    if let Some(s) = &s {
                        latest = Some((audit.clone(), s.clone()));
                    }
                }
                trend.push(ScorePoint {
                    audit_id: audit.clone(),
                    completed_on: from_micros(*at).date().to_string(),
                    score: s.and_then(|s| s.overall.percent),
                });
            }
            trend.reverse();
            let passed: Option<i64> = match &latest {
                Some((a, _)) => {
                    sqlx::query_scalar("SELECT passed FROM standard_audits WHERE id = $1")
                        .bind(a)
                        .fetch_one(pool)
                        .await?
                }
                None => None,
            };
            let open: Vec<(String, String, i64)> = sqlx::query_as(
                "SELECT status, due_on, created_at FROM standard_actions WHERE service_point_id = $1 AND status <> 'verified'",
            )
            .bind(&id)
            .fetch_all(pool)
            .await?;
            let mut overdue = 0;
            let mut oldest: Option<i64> = None;
            for (status, due, created) in &open {
                let st = decode("standard_actions", "status", status, ActionStatus::parse)?;
                let due = decode("standard_actions", "due_on", due, parse_date)?;
                if rules::overdue(st, due, today) {
                    overdue += 1;
                }
                let age = (now - from_micros(*created)).whole_days();
                oldest = Some(oldest.map_or(age, |o: i64| o.max(age)));
            }
            let next: Option<String> = sqlx::query_scalar(
                "SELECT MIN(planned_on) FROM standard_audits WHERE service_point_id = $1 AND status = 'planned'",
            )
            .bind(&id)
            .fetch_one(pool)
            .await?;
            let categories: BTreeMap<StandardCategory, Option<u8>> = match &latest {
                Some((_, s)) => StandardCategory::ALL
                    .iter()
                    .map(|c| (*c, s.categories.get(c).and_then(|x| x.percent)))
                    .collect(),
                None => BTreeMap::new(),
            };
            out.push(NetworkPoint {
                service_point: Ref { id, label: name },
                latest_audit_id: latest.as_ref().map(|(a, _)| a.clone()),
                score: latest.as_ref().and_then(|(_, s)| s.overall.percent),
                mandatory_failed: latest.as_ref().map_or(0, |(_, s)| s.mandatory_failed),
                categories,
                passed: passed.map(|p| p != 0),
                trend,
                open_actions: i64::try_from(open.len()).unwrap_or(0),
                overdue_actions: overdue,
                oldest_open_days: oldest,
                next_audit_on: next,
            });
        }
        Ok(out)
    }
}

impl Cli<'_> {
    /// Escalates every open corrective action past its due day, once: a notice through the
    /// outbox to its owner and to the audit's auditor, in each one's language. Returns how many
    /// actions were escalated. The server runs it hourly.
    pub async fn escalate_overdue_actions(&self, now: OffsetDateTime) -> Result<usize, StoreError> {
        let pool = &self.store.pool;
        // Candidates by the latest day anywhere; each is judged on its service point's own day.
        let today = (now + Duration::days(1)).date().to_string();
        type Row = (String, String, String, String, String, String, String);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT a.id, a.service_point_id, o.name, a.title, a.owner_id, a.due_on, s.auditor_id \
             FROM standard_actions a JOIN organisations o ON o.id = a.service_point_id JOIN standard_audits s ON s.id = a.audit_id \
             WHERE a.status = 'open' AND a.due_on < $1 AND a.escalated_at IS NULL ORDER BY a.due_on, a.id",
        )
        .bind(&today)
        .fetch_all(pool)
        .await?;
        let mut n = 0;
        for (id, point, point_name, title, owner, due, auditor) in rows {
            let local_today = self.store.org().zone_of(&point).await?.local(now).date();
            let due_day = decode("standard_actions", "due_on", &due, parse_date)?;
            if !rules::overdue(ActionStatus::Open, due_day, local_today) {
                continue;
            }
            let owner_name = user_ref(pool, &owner).await?.label;
            let link = format!("{}/network/actions/{id}", self.store.public_url());
            let mut tx = self.store.begin().await?;
            let claimed = sqlx::query(
                "UPDATE standard_actions SET escalated_at = $1 WHERE id = $2 AND status = 'open' AND escalated_at IS NULL",
            )
            .bind(micros(now))
            .bind(&id)
            .execute(&mut *tx)
            .await?;
            if claimed.rows_affected() == 0 {
                continue;
            }
            let vars = [
                ("title", title.clone()),
                ("point", point_name.clone()),
                ("due", due.clone()),
                ("owner", owner_name),
                ("link", link),
            ];
            let mut people = vec![owner.clone()];
            if auditor != owner {
                people.push(auditor.clone());
            }
            for person in people {
                crate::notify::enqueue_staff(
                    &mut tx,
                    &point,
                    &person,
                    StaffNotice::ActionOverdue,
                    &vars,
                    &format!("action-overdue:{id}:{due}"),
                    now,
                )
                .await?;
            }
            tx.commit().await?;
            n += 1;
        }
        Ok(n)
    }
}
