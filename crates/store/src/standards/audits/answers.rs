//! Answering an audit: each party's answers saved (checked against the item and the party),
//! and the evidence files added to an item and read back.

use super::*;

impl Standards<'_> {
    /// Saves one party's answers (the service point's self-assessment or the auditor's). With
    /// `finish`, every requirement must be answered: the self-assessment is then submitted (no
    /// more changes), or the audit completed and scored.
    pub async fn save_answers(
        &self,
        scope: &Scope,
        id: &str,
        party: AuditParty,
        input: &AnswersInput,
        now: OffsetDateTime,
    ) -> Result<StandardAudit, StoreError> {
        let row = self.audit_row(id).await?;
        Self::may_answer(scope, &row, party)?;
        let cats = catalogues_of(&row);
        let requirements = requirements_of(&self.store.pool, &cats).await?;
        let by_id: BTreeMap<&str, &CatalogueRequirement> =
            requirements.iter().map(|r| (r.id.as_str(), r)).collect();
        let mut errs = ValidationErrors::default();
        let mut writes = Vec::new();
        for (i, a) in input.answers.iter().enumerate() {
            let at = |f: &str| format!("answers.{i}.{f}");
            let Some(req) = by_id.get(a.requirement_id.as_str()) else {
                errs.push(FieldError::new(
                    at("requirement_id"),
                    Rule::Unknown,
                    "not a requirement of this audit",
                ));
                continue;
            };
            let outcome = match a
                .outcome
                .as_deref()
                .map(str::trim)
                .filter(|o| !o.is_empty())
            {
                Some(o) => errs.take(Outcome::parse(&at("outcome"), o)).map(Some),
                None => Some(None),
            };
            let Some(outcome) = outcome else { continue };
            let judged = errs.take(rules::judge(
                &at("outcome"),
                req.scoring,
                req.figure.as_ref(),
                outcome,
                a.figure,
            ));
            let comment = match a
                .comment
                .as_deref()
                .map(str::trim)
                .filter(|c| !c.is_empty())
            {
                Some(c) => errs.take(text_block(&at("comment"), c, 1, 2000)).map(Some),
                None => Some(None),
            };
            if let (Some(judged), Some(comment)) = (judged, comment) {
                let figure = if req.figure.is_some() { a.figure } else { None };
                writes.push((req.id.clone(), judged, figure, comment));
            }
        }
        errs.into_result()?;
        let mut tx = self.store.begin().await?;
        // The audit row is claimed first: two savers of one audit take turns.
        let claimed = sqlx::query(
            "UPDATE standard_audits SET version = version + 1 WHERE id = $1 AND status = 'planned'",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if claimed.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        for (req, outcome, figure, comment) in &writes {
            sqlx::query(
                "DELETE FROM standard_answers WHERE audit_id = $1 AND requirement_id = $2 AND party = $3",
            )
            .bind(id)
            .bind(req)
            .bind(party.as_str())
            .execute(&mut *tx)
            .await?;
            if outcome.is_none() && figure.is_none() && comment.is_none() {
                continue;
            }
            sqlx::query(
                "INSERT INTO standard_answers (audit_id, requirement_id, party, outcome, figure, comment, answered_by, answered_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(id)
            .bind(req)
            .bind(party.as_str())
            .bind(outcome.map(|o| o.as_str()))
            .bind(figure.map(|f| f.to_string()))
            .bind(comment.as_deref())
            .bind(scope.user_id())
            .bind(micros(now))
            .execute(&mut *tx)
            .await?;
        }
        if input.finish {
            let answered: Vec<(String, Option<String>)> = sqlx::query_as(
                "SELECT requirement_id, outcome FROM standard_answers WHERE audit_id = $1 AND party = $2",
            )
            .bind(id)
            .bind(party.as_str())
            .fetch_all(&mut *tx)
            .await?;
            let outcomes: BTreeMap<String, Outcome> = answered
                .into_iter()
                .filter_map(|(r, o)| Some((r, Outcome::parse("outcome", &o?).ok()?)))
                .collect();
            let scored: Vec<Scored> = requirements
                .iter()
                .map(|r| Scored {
                    category: r.category,
                    weight: r.weight,
                    mandatory: r.mandatory,
                    outcome: outcomes.get(&r.id).copied(),
                })
                .collect();
            let scores = rules::score(&scored);
            if scores.unanswered > 0 {
                return Err(StoreError::Invalid(
                    FieldError::new(
                        "answers",
                        Rule::Required,
                        format!(
                            "{} requirements have no answer yet; answer every one to finish",
                            scores.unanswered
                        ),
                    )
                    .hint("st-err-unanswered")
                    .into(),
                ));
            }
            match party {
                AuditParty::SelfAssessment => {
                    sqlx::query(
                        "UPDATE standard_audits SET self_submitted_at = $1, self_submitted_by = $2 WHERE id = $3",
                    )
                    .bind(micros(now))
                    .bind(scope.user_id())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                }
                AuditParty::Official => {
                    let pass_mark: i64 = sqlx::query_scalar(
                        "SELECT pass_mark FROM standard_catalogues WHERE id = $1",
                    )
                    .bind(&row.3)
                    .fetch_one(&mut *tx)
                    .await?;
                    let passed = scores.passed(u8::try_from(pass_mark).unwrap_or(100));
                    sqlx::query(
                        "UPDATE standard_audits SET status = 'completed', completed_at = $1, score = $2, passed = $3, scores = $4 WHERE id = $5",
                    )
                    .bind(micros(now))
                    .bind(scores.overall.percent.map(i64::from))
                    .bind(i64::from(passed))
                    .bind(serde_json::to_string(&scores).unwrap_or_default())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        tx.commit().await?;
        self.audit(scope, id).await
    }

    /// Adds an evidence file (its name as uploaded, its bytes) to a requirement of an audit, for
    /// one party (who may answer now).
    pub async fn add_evidence(
        &self,
        scope: &Scope,
        audit_id: &str,
        requirement_id: &str,
        party: AuditParty,
        (file_name, bytes): (&str, &[u8]),
        now: OffsetDateTime,
    ) -> Result<EvidenceFile, StoreError> {
        let row = self.audit_row(audit_id).await?;
        Self::may_answer(scope, &row, party)?;
        let cats = catalogues_of(&row);
        let known = requirements_of(&self.store.pool, &cats)
            .await?
            .iter()
            .any(|r| r.id == requirement_id);
        if !known {
            return Err(ValidationErrors::single(
                "requirement_id",
                Rule::Unknown,
                "not a requirement of this audit",
            )
            .into());
        }
        let content_type = rules::evidence_type("file", bytes).map_err(ValidationErrors::from)?;
        self.store_evidence(
            scope,
            audit_id,
            (Some(requirement_id), None),
            party.as_str(),
            file_name,
            content_type,
            bytes,
            now,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn store_evidence(
        &self,
        scope: &Scope,
        audit_id: &str,
        (requirement_id, action_id): (Option<&str>, Option<&str>),
        party: &str,
        file_name: &str,
        content_type: &str,
        bytes: &[u8],
        now: OffsetDateTime,
    ) -> Result<EvidenceFile, StoreError> {
        let id = new_id();
        let name = rules::file_name(file_name);
        let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
        let mut tx = self.store.begin().await?;
        sqlx::query(
            "INSERT INTO standard_evidence (id, audit_id, requirement_id, action_id, party, file_name, content_type, size, bytes, uploaded_by, uploaded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&id)
        .bind(audit_id)
        .bind(requirement_id)
        .bind(action_id)
        .bind(party)
        .bind(&name)
        .bind(content_type)
        .bind(size)
        .bind(bytes.to_vec())
        .bind(scope.user_id())
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(EvidenceFile {
            id,
            party: party.to_string(),
            requirement_id: requirement_id.map(str::to_string),
            action_id: action_id.map(str::to_string),
            file_name: name,
            content_type: content_type.to_string(),
            size,
            uploaded_at: now,
        })
    }

    /// An evidence file with its bytes, for those who may see its audit.
    pub async fn evidence(
        &self,
        scope: &Scope,
        id: &str,
    ) -> Result<(EvidenceFile, Vec<u8>), StoreError> {
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT a.service_point_id, e.audit_id FROM standard_evidence e JOIN standard_audits a ON a.id = e.audit_id WHERE e.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.store.pool)
        .await?;
        let Some((point, _)) = row else {
            return Err(StoreError::NotFound);
        };
        if !scope.permits(&point, Permission::StandardsRead) {
            return Err(StoreError::NotFound);
        }
        let meta: EvidenceRow = sqlx::query_as(&format!(
            "SELECT {EVIDENCE_COLUMNS} FROM standard_evidence WHERE id = $1"
        ))
        .bind(id)
        .fetch_one(&self.store.pool)
        .await?;
        let bytes: Vec<u8> =
            sqlx::query_scalar("SELECT bytes FROM standard_evidence WHERE id = $1")
                .bind(id)
                .fetch_one(&self.store.pool)
                .await?;
        Ok((evidence_of(meta), bytes))
    }
}
