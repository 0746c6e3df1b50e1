//! Learning records from outside: xAPI statements an e-learning platform posts (stored whole,
//! indexed by actor, verb, object and time), and the mapping of its activities to courses by
//! which a completion grants a training record. The actor is matched to a person the caller
//! reaches by e-mail (`mbox`) or username (`account.name`).

use aftersales_domain::org::Permission;
use aftersales_domain::training::{self as rules, RecordSource};
use aftersales_domain::validation::{FieldError, Rule};
use aftersales_domain::ValidationErrors;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{Training, XapiMapping, XapiMappingInput, XapiResult, XapiStatement};
use crate::error::StoreError;
use crate::scope::Scope;
use crate::standards::{lineage, org_ref, user_ref};
use crate::{from_micros, micros, new_id, Ref};

/// Most statements one post may carry.
pub const MAX_STATEMENTS: usize = 500;

impl Training<'_> {
    /// Maps an activity of an e-learning platform to a course, for an organisation where the
    /// caller manages training (its people's completions then count).
    pub async fn add_mapping(
        &self,
        scope: &Scope,
        org: &str,
        input: &XapiMappingInput,
        now: OffsetDateTime,
    ) -> Result<XapiMapping, StoreError> {
        scope.require(org, Permission::TrainingManage)?;
        let mut errs = ValidationErrors::default();
        let activity = input.activity_id.trim();
        if activity.is_empty() || activity.len() > 500 || !activity.contains(':') {
            errs.push(FieldError::new(
                "activity_id",
                Rule::Format,
                "activity_id is the activity's IRI, e.g. https://lms.example/courses/hv-2",
            ));
        }
        let known: Vec<String> = self
            .courses(scope)
            .await?
            .into_iter()
            .map(|c| c.id)
            .collect();
        if !known.contains(&input.course_id) {
            errs.push(FieldError::new(
                "course_id",
                Rule::Unknown,
                "not a course of your catalogues",
            ));
        }
        errs.into_result()?;
        let id = new_id();
        let mut tx = self.store.begin().await?;
        let r = sqlx::query(
            "INSERT INTO xapi_mappings (id, organisation_id, activity_id, course_id, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (organisation_id, activity_id) DO NOTHING",
        )
        .bind(&id)
        .bind(org)
        .bind(activity)
        .bind(&input.course_id)
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() == 0 {
            return Err(ValidationErrors::single(
                "activity_id",
                Rule::Unique,
                "the activity is mapped already",
            )
            .into());
        }
        tx.commit().await?;
        self.mappings(scope)
            .await?
            .into_iter()
            .find(|m| m.id == id)
            .ok_or(StoreError::NotFound)
    }

    /// The mappings of the organisations the caller reaches.
    pub async fn mappings(&self, scope: &Scope) -> Result<Vec<XapiMapping>, StoreError> {
        let orgs = scope.orgs_with(Permission::TrainingRead);
        let sql = format!(
            "SELECT m.id, m.organisation_id, m.activity_id, m.course_id, c.code FROM xapi_mappings m JOIN training_courses c ON c.id = m.course_id \
             WHERE m.organisation_id IN ({}) ORDER BY m.activity_id",
            crate::db::placeholders(1, orgs.len())
        );
        let mut q = sqlx::query_as::<_, (String, String, String, String, String)>(&sql);
        for o in &orgs {
            q = q.bind(o);
        }
        let mut out = Vec::new();
        for (id, org, activity, course, code) in q.fetch_all(&self.store.pool).await? {
            out.push(XapiMapping {
                id,
                organisation: org_ref(&self.store.pool, &org).await?,
                activity_id: activity,
                course: Ref {
                    id: course,
                    label: code,
                },
            });
        }
        Ok(out)
    }

    /// Takes xAPI statements (one or a list): each is stored with its id (one given, or a new
    /// one; a statement id seen before is not taken twice); a completion of a mapped activity
    /// by a person the caller manages training for grants a training record, passed, on the
    /// statement's day. All statements are checked before any is kept.
    pub async fn take_statements(
        &self,
        scope: &Scope,
        body: &serde_json::Value,
        now: OffsetDateTime,
    ) -> Result<Vec<XapiResult>, StoreError> {
        let orgs = scope.orgs_with(Permission::TrainingManage);
        if orgs.is_empty() {
            return Err(StoreError::Forbidden(
                "your roles do not allow keeping training records".into(),
            ));
        }
        let list: Vec<&serde_json::Value> = match body {
            serde_json::Value::Array(a) => a.iter().collect(),
            v => vec![v],
        };
        if list.is_empty() || list.len() > MAX_STATEMENTS {
            return Err(ValidationErrors::single(
                "statements",
                Rule::Required,
                format!("1 to {MAX_STATEMENTS} statements"),
            )
            .into());
        }
        let mut errs = ValidationErrors::default();
        let mut read = Vec::new();
        for (i, v) in list.iter().enumerate() {
            let at = if matches!(body, serde_json::Value::Array(_)) {
                format!("{i}.")
            } else {
                String::new()
            };
            let Some(s) = errs.take(rules::read_statement(&at, v)) else {
                continue;
            };
            let id = match v["id"].as_str() {
                Some(id) => match uuid::Uuid::parse_str(id) {
                    Ok(u) => Some(u.to_string()),
                    Err(_) => {
                        errs.push(FieldError::new(
                            format!("{at}id"),
                            Rule::Format,
                            "a statement id is a UUID",
                        ));
                        None
                    }
                },
                None => Some(new_id()),
            };
            let when = match v["timestamp"].as_str() {
                Some(t) => errs.take(
                    OffsetDateTime::parse(t, &Rfc3339)
                        .map_err(|_| {
                            FieldError::new(
                                format!("{at}timestamp"),
                                Rule::Format,
                                "timestamp is an ISO 8601 time",
                            )
                        })
                        .and_then(|w| {
                            aftersales_domain::validation::date_between(
                                &format!("{at}timestamp"),
                                w.date(),
                                now.date() - time::Duration::days(366 * 30),
                                now.date() + time::Duration::days(1),
                            )
                            .map(|_| w)
                        }),
                ),
                None => Some(now),
            };
            if let (Some(id), Some(when)) = (id, when) {
                read.push((id, s, when, (*v).clone()));
            }
        }
        errs.into_result()?;
        let pool = &self.store.pool;
        let mut out = Vec::new();
        let mut tx = self.store.begin().await?;
        for (id, s, when, raw) in read {
            let seen: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM xapi_statements WHERE id = $1")
                    .bind(&id)
                    .fetch_one(&mut *tx)
                    .await?;
            if seen > 0 {
                let prior: (String, Option<String>, Option<String>) = sqlx::query_as(
                    "SELECT organisation_id, user_id, record_id FROM xapi_statements WHERE id = $1",
                )
                .bind(&id)
                .fetch_one(&mut *tx)
                .await?;
                // What became of it is told only to those who read trainings there.
                let (person, record_id) = if scope.permits(&prior.0, Permission::TrainingRead) {
                    (
                        match prior.1 {
                            Some(u) => Some(user_ref(pool, &u).await?),
                            None => None,
                        },
                        prior.2,
                    )
                } else {
                    (None, None)
                };
                out.push(XapiResult {
                    statement_id: id,
                    person,
                    record_id,
                });
                continue;
            }
            // The person: someone at an organisation where the caller manages training.
            let candidates: Vec<(String, String)> = sqlx::query_as(
                "SELECT DISTINCT u.id, m.organisation_id FROM users u JOIN memberships m ON m.user_id = u.id \
                 WHERE u.disabled = 0 AND (LOWER(u.email) = $1 OR u.username = $1)",
            )
            .bind(&s.actor)
            .fetch_all(&mut *tx)
            .await?;
            let person = candidates
                .iter()
                .find(|(_, org)| scope.permits(org, Permission::TrainingManage))
                .cloned();
            let owner = person
                .as_ref()
                .map(|(_, o)| o.clone())
                .unwrap_or_else(|| orgs[0].clone());
            let mut record = None;
            if let (Some((user, org)), true) = (&person, rules::completes(&s)) {
                // The mapping nearest the person's organisation.
                let mut course: Option<String> = None;
                for (o, _) in lineage(pool, org).await? {
                    course = sqlx::query_scalar(
                        "SELECT course_id FROM xapi_mappings WHERE organisation_id = $1 AND activity_id = $2",
                    )
                    .bind(&o)
                    .bind(&s.object)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if course.is_some() {
                        break;
                    }
                }
                if let Some(course) = course {
                    record = Some(
                        Self::insert_record(
                            &mut tx,
                            (user, &course),
                            when.date(),
                            true,
                            RecordSource::Xapi,
                            None,
                            None,
                            now,
                        )
                        .await?,
                    );
                }
            }
            sqlx::query(
                "INSERT INTO xapi_statements (id, organisation_id, actor, verb, object, at, stored_at, statement, user_id, record_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(&id)
            .bind(&owner)
            .bind(&s.actor)
            .bind(&s.verb)
            .bind(&s.object)
            .bind(micros(when))
            .bind(micros(now))
            .bind(raw.to_string())
            .bind(person.as_ref().map(|(u, _)| u.clone()))
            .bind(&record)
            .execute(&mut *tx)
            .await?;
            out.push(XapiResult {
                statement_id: id,
                person: match &person {
                    Some((u, _)) => Some(user_ref(pool, u).await?),
                    None => None,
                },
                record_id: record,
            });
        }
        tx.commit().await?;
        Ok(out)
    }

    /// The latest statements taken for the organisations the caller reads trainings of.
    pub async fn statements(
        &self,
        scope: &Scope,
        limit: i64,
    ) -> Result<Vec<XapiStatement>, StoreError> {
        let orgs = scope.orgs_with(Permission::TrainingRead);
        let sql = format!(
            "SELECT id, actor, verb, object, at, user_id, record_id FROM xapi_statements WHERE organisation_id IN ({}) ORDER BY at DESC, id DESC LIMIT ${}",
            crate::db::placeholders(1, orgs.len()),
            orgs.len() + 1
        );
        type Row = (
            String,
            String,
            String,
            String,
            i64,
            Option<String>,
            Option<String>,
        );
        let mut q = sqlx::query_as::<_, Row>(&sql);
        for o in &orgs {
            q = q.bind(o);
        }
        let mut out = Vec::new();
        for (id, actor, verb, object, at, user, record) in
            q.bind(limit).fetch_all(&self.store.pool).await?
        {
            out.push(XapiStatement {
                id,
                actor,
                verb,
                object,
                at: from_micros(at),
                person: match user {
                    Some(u) => Some(user_ref(&self.store.pool, &u).await?),
                    None => None,
                },
                record_id: record,
            });
        }
        Ok(out)
    }
}
