//! Training records per person: recorded (with the certificate file) by whoever may, read by
//! the person and those who manage them, and the certificate fetched.

use super::*;

impl Training<'_> {
    /// Records a training a person took, with its certificate file (a PDF or a photo) if given.
    pub async fn record(
        &self,
        scope: &Scope,
        input: &TrainingRecordInput,
        certificate: Option<(&str, &[u8])>,
        now: OffsetDateTime,
    ) -> Result<TrainingRecord, StoreError> {
        self.require_person(scope, input.user_id.trim()).await?;
        let mut errs = ValidationErrors::default();
        let today = now.date();
        let done = errs.take(
            parse_date("completed_on", &input.completed_on).and_then(|d| {
                aftersales_domain::validation::date_between(
                    "completed_on",
                    d,
                    today - Duration::days(366 * 30),
                    today,
                )
            }),
        );
        let courses = self.courses(scope).await?;
        match courses.iter().find(|c| c.id == input.course_id) {
            None => errs.push(FieldError::new(
                "course_id",
                Rule::Unknown,
                "not a course of your catalogues",
            )),
            // High-voltage work is assigned by these: a passed one recorded by hand shows its
            // certificate.
            Some(c) if c.high_voltage && input.passed && certificate.is_none() => errs.push(
                FieldError::new(
                    "certificate",
                    Rule::Required,
                    "a high-voltage training is recorded with its certificate",
                )
                .hint("tr-err-hv-certificate"),
            ),
            Some(_) => {}
        }
        let file = match certificate {
            Some((name, bytes)) => errs
                .take(aftersales_domain::standards::evidence_type(
                    "certificate",
                    bytes,
                ))
                .map(|t| (aftersales_domain::standards::file_name(name), t, bytes)),
            None => None,
        };
        errs.into_result()?;
        let Some(done) = done else {
            return Err(StoreError::Internal("checked above".into()));
        };
        let mut tx = self.store.begin().await?;
        let id = Self::insert_record(
            &mut tx,
            (input.user_id.trim(), &input.course_id),
            done,
            input.passed,
            RecordSource::Manual,
            Some(scope.user_id()),
            file.as_ref().map(|(n, t, b)| (n.as_str(), *t, *b)),
            now,
        )
        .await?;
        tx.commit().await?;
        self.records_of(scope, input.user_id.trim())
            .await?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or(StoreError::NotFound)
    }

    /// A person's training records, newest first: their own, or of people the caller reads.
    pub async fn records_of(
        &self,
        scope: &Scope,
        user: &str,
    ) -> Result<Vec<TrainingRecord>, StoreError> {
        if user != scope.user_id() {
            let orgs: Vec<String> =
                sqlx::query_scalar("SELECT organisation_id FROM memberships WHERE user_id = $1")
                    .bind(user)
                    .fetch_all(&self.store.pool)
                    .await?;
            if !orgs
                .iter()
                .any(|o| scope.permits(o, Permission::TrainingRead))
            {
                return Err(
                    if orgs.iter().any(|o| scope.permits(o, Permission::OrgRead)) {
                        StoreError::Forbidden(
                            "your roles here do not allow reading trainings".into(),
                        )
                    } else {
                        StoreError::NotFound
                    },
                );
            }
        }
        type Row = (
            String,
            String,
            String,
            String,
            i64,
            Option<String>,
            String,
            Option<String>,
            i64,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT r.id, r.course_id, c.code, r.completed_on, r.passed, r.expires_on, r.source, r.certificate_name, r.created_at \
             FROM training_records r JOIN training_courses c ON c.id = r.course_id WHERE r.user_id = $1 ORDER BY r.completed_on DESC, r.id DESC",
        )
        .bind(user)
        .fetch_all(&self.store.pool)
        .await?;
        let person = user_ref(&self.store.pool, user).await?;
        let mut out = Vec::new();
        for (id, course, code, done, passed, expires, source, cert, at) in rows {
            out.push(TrainingRecord {
                id,
                person: person.clone(),
                course: Ref {
                    id: course,
                    label: code,
                },
                completed_on: done,
                passed: passed != 0,
                expires_on: expires,
                source: decode("training_records", "source", &source, RecordSource::parse)?,
                certificate: cert,
                created_at: from_micros(at),
            });
        }
        Ok(out)
    }

    /// A record's certificate file: (name, type, bytes).
    pub async fn certificate(
        &self,
        scope: &Scope,
        record: &str,
    ) -> Result<(String, String, Vec<u8>), StoreError> {
        type Row = (String, Option<String>, Option<String>, Option<Vec<u8>>);
        let row: Option<Row> =
            sqlx::query_as(
                "SELECT user_id, certificate_name, certificate_type, certificate FROM training_records WHERE id = $1",
            )
            .bind(record)
            .fetch_optional(&self.store.pool)
            .await?;
        let Some((user, Some(name), Some(kind), Some(bytes))) = row else {
            return Err(StoreError::NotFound);
        };
        // Only someone who may read the person's records (or the person).
        self.records_of(scope, &user).await?;
        Ok((name, kind, bytes))
    }
}
