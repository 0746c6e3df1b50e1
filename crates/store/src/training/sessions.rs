//! Training sessions: a course held at an organisation on a day with a number of places; people
//! registered (never more than the places), then marked attended (which writes their training
//! record, passed, on the session's day) or absent.

use aftersales_domain::org::Permission;
use aftersales_domain::training::{Attendance, RecordSource};
use aftersales_domain::validation::{text, FieldError, Rule};
use aftersales_domain::ValidationErrors;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{AttendanceInput, Attendee, Training, TrainingSession, TrainingSessionInput};
use crate::error::StoreError;
use crate::scope::Scope;
use crate::standards::{org_ref, user_ref};
use crate::{decode, from_micros, micros, new_id, Ref};

impl Training<'_> {
    /// Sessions at the organisations the caller reaches, and those the caller is registered on;
    /// soonest first, from a week ago.
    pub async fn sessions(
        &self,
        scope: &Scope,
        now: OffsetDateTime,
    ) -> Result<Vec<TrainingSession>, StoreError> {
        let orgs = scope.orgs_with(aftersales_domain::org::Permission::OrgRead);
        let sql = format!(
            "SELECT s.id, s.course_id, c.code, s.organisation_id, s.starts_at, s.location, s.places FROM training_sessions s \
             JOIN training_courses c ON c.id = s.course_id WHERE (s.organisation_id IN ({}) \
             OR s.id IN (SELECT session_id FROM session_attendees WHERE user_id = ${})) AND s.starts_at >= ${} ORDER BY s.starts_at, s.id",
            crate::db::placeholders(1, orgs.len()),
            orgs.len() + 1,
            orgs.len() + 2
        );
        type Row = (String, String, String, String, i64, String, i64);
        let mut q = sqlx::query_as::<_, Row>(&sql);
        for o in &orgs {
            q = q.bind(o);
        }
        let rows = q
            .bind(scope.user_id())
            .bind(micros(now - time::Duration::days(7)))
            .fetch_all(&self.store.pool)
            .await?;
        let mut out = Vec::new();
        for (id, course, code, org, at, location, places) in rows {
            out.push(
                self.session_of(id, (course, code), org, at, location, places)
                    .await?,
            );
        }
        Ok(out)
    }

    async fn session_of(
        &self,
        id: String,
        (course, code): (String, String),
        org: String,
        at: i64,
        location: String,
        places: i64,
    ) -> Result<TrainingSession, StoreError> {
        let pool = &self.store.pool;
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT user_id, status FROM session_attendees WHERE session_id = $1 ORDER BY updated_at, user_id",
        )
        .bind(&id)
        .fetch_all(pool)
        .await?;
        let mut attendees = Vec::new();
        for (user, status) in rows {
            attendees.push(Attendee {
                person: user_ref(pool, &user).await?,
                status: decode("session_attendees", "status", &status, Attendance::parse)?,
            });
        }
        Ok(TrainingSession {
            course: Ref {
                id: course,
                label: code,
            },
            organisation: org_ref(pool, &org).await?,
            starts_at: from_micros(at),
            location,
            places,
            attendees,
            id,
        })
    }

    /// Plans a session of a course at an organisation where the caller manages training.
    pub async fn add_session(
        &self,
        scope: &Scope,
        input: &TrainingSessionInput,
        now: OffsetDateTime,
    ) -> Result<TrainingSession, StoreError> {
        scope.require(input.organisation_id.trim(), Permission::TrainingManage)?;
        let mut errs = ValidationErrors::default();
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
        let starts = OffsetDateTime::parse(input.starts_at.trim(), &Rfc3339).map_err(|_| {
            FieldError::new(
                "starts_at",
                Rule::Format,
                "starts_at must be a time like 2026-12-14T09:00:00+00:00",
            )
        });
        let starts = errs.take(starts.and_then(|s| {
            if s < now - time::Duration::days(1) || s > now + time::Duration::days(730) {
                Err(FieldError::new(
                    "starts_at",
                    Rule::NotAllowed,
                    "a session lies within the next two years",
                ))
            } else {
                Ok(s)
            }
        }));
        let location = errs.take(text("location", &input.location, 2, 200));
        if !(1..=500).contains(&input.places) {
            errs.push(FieldError::new(
                "places",
                Rule::Format,
                "places is a whole number from 1 to 500",
            ));
        }
        errs.into_result()?;
        let (Some(starts), Some(location)) = (starts, location) else {
            return Err(StoreError::Internal("checked above".into()));
        };
        let id = new_id();
        let mut tx = self.store.begin().await?;
        sqlx::query(
            "INSERT INTO training_sessions (id, course_id, organisation_id, starts_at, location, places, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&id)
        .bind(&input.course_id)
        .bind(input.organisation_id.trim())
        .bind(micros(starts))
        .bind(&location)
        .bind(input.places)
        .bind(scope.user_id())
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let code: String = sqlx::query_scalar("SELECT code FROM training_courses WHERE id = $1")
            .bind(&input.course_id)
            .fetch_one(&self.store.pool)
            .await?;
        self.session_of(
            id,
            (input.course_id.clone(), code),
            input.organisation_id.trim().to_string(),
            micros(starts),
            location,
            input.places,
        )
        .await
    }

    /// Registers a person on a session (within its places), or records their attendance:
    /// attended writes their training record (passed, on the session's day); absent does not.
    pub async fn attendance(
        &self,
        scope: &Scope,
        session: &str,
        input: &AttendanceInput,
        now: OffsetDateTime,
    ) -> Result<TrainingSession, StoreError> {
        type Row = (String, String, i64, String, i64);
        let row: Option<Row> = sqlx::query_as(
            "SELECT organisation_id, course_id, starts_at, location, places FROM training_sessions WHERE id = $1",
        )
        .bind(session)
        .fetch_optional(&self.store.pool)
        .await?;
        let Some((org, course, at, location, places)) = row else {
            return Err(StoreError::NotFound);
        };
        scope.require(&org, Permission::TrainingManage)?;
        let user = input.user_id.trim();
        self.require_person(scope, user).await?;
        let status = Attendance::parse("status", &input.status).map_err(ValidationErrors::from)?;
        if status != Attendance::Registered && from_micros(at) > now {
            return Err(ValidationErrors::from(
                FieldError::new(
                    "status",
                    Rule::NotAllowed,
                    "attendance is recorded once the session has begun",
                )
                .hint("tr-err-not-begun"),
            )
            .into());
        }
        let mut tx = self.store.begin().await?;
        // The session row is claimed first: two registrations for the last place take turns.
        sqlx::query("UPDATE training_sessions SET places = places WHERE id = $1")
            .bind(session)
            .execute(&mut *tx)
            .await?;
        let current: Option<(String, Option<String>)> = sqlx::query_as(
            "SELECT status, record_id FROM session_attendees WHERE session_id = $1 AND user_id = $2",
        )
        .bind(session)
        .bind(user)
        .fetch_optional(&mut *tx)
        .await?;
        if current.is_none() {
            let taken: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM session_attendees WHERE session_id = $1")
                    .bind(session)
                    .fetch_one(&mut *tx)
                    .await?;
            if taken >= places {
                return Err(ValidationErrors::from(
                    FieldError::new("user_id", Rule::NotAllowed, "the session is full")
                        .hint("tr-err-full"),
                )
                .into());
            }
        }
        let mut record = current.as_ref().and_then(|(_, r)| r.clone());
        if status != Attendance::Attended {
            // Not attended after all: the record the session wrote goes with it.
            if let Some(r) = record.take() {
                sqlx::query("UPDATE session_attendees SET record_id = NULL WHERE record_id = $1")
                    .bind(&r)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM training_records WHERE id = $1 AND source = 'session'")
                    .bind(&r)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        if status == Attendance::Attended && record.is_none() {
            record = Some(
                Self::insert_record(
                    &mut tx,
                    (user, &course),
                    self.store
                        .org()
                        .zone_of(&org)
                        .await?
                        .local(from_micros(at))
                        .date(),
                    true,
                    RecordSource::Session,
                    Some(scope.user_id()),
                    None,
                    now,
                )
                .await?,
            );
        }
        sqlx::query("DELETE FROM session_attendees WHERE session_id = $1 AND user_id = $2")
            .bind(session)
            .bind(user)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO session_attendees (session_id, user_id, status, record_id, updated_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(session)
        .bind(user)
        .bind(status.as_str())
        .bind(&record)
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let code: String = sqlx::query_scalar("SELECT code FROM training_courses WHERE id = $1")
            .bind(&course)
            .fetch_one(&self.store.pool)
            .await?;
        self.session_of(
            session.to_string(),
            (course, code),
            org,
            at,
            location,
            places,
        )
        .await
    }
}
