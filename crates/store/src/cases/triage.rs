//! Triage that learns (capability cases): a knowledge base of remote fixes in three languages,
//! ranked suggestions for a case with each fix's observed success rate, every decision recorded,
//! and the remote-resolution rate of `shared/reference/kpi-definitions.md`.
//!
//! A remote fix succeeded when its case was resolved after it (with no later decision for a
//! visit) and the customer opened no new case of the same category within 30 days. Until the
//! workshop capability records visits, a new case of the same concern stands for the visit.

use aftersales_domain::cases::Category;
use aftersales_domain::i18n::Language;
use aftersales_domain::org::Permission;
use aftersales_domain::validation::{text, text_block, FieldError, Rule};
use aftersales_domain::ValidationErrors;
use time::{Duration, OffsetDateTime};

use super::Cases;
use crate::crm::normalise_terms;
use crate::db::placeholders;
use crate::error::StoreError;
use crate::from_micros;
use crate::scope::Scope;
use crate::{micros, new_id};
pub use aftersales_api_types::cases::{Article, ArticleInput, DecisionInput, Outcomes, Suggestion};

fn settle_micros() -> i64 {
    i64::try_from(Duration::days(SETTLE_DAYS).whole_microseconds()).unwrap_or(i64::MAX)
}

/// How the concern is handled.
pub const DECISIONS: &[&str] = &["remote-fix", "mobile-service", "workshop"];
/// Kinds of remote fix.
pub const FIX_KINDS: &[&str] = &["reboot", "setting", "ota", "guidance"];
/// A remote fix's outcome is known this long after its case was resolved.
pub const SETTLE_DAYS: i64 = 30;

#[derive(sqlx::FromRow)]
struct ArticleRow {
    id: String,
    organisation_id: String,
    category: String,
    keywords: String,
    fix_kind: String,
    title_nb: String,
    title_en: String,
    title_pt: String,
    steps_nb: String,
    steps_en: String,
    steps_pt: String,
}

impl ArticleRow {
    pub(crate) fn into_article(self, lang: Language) -> Result<Article, StoreError> {
        let (title, steps) = match lang {
            Language::Nb => (self.title_nb, self.steps_nb),
            Language::En => (self.title_en, self.steps_en),
            Language::Pt => (self.title_pt, self.steps_pt),
        };
        Ok(Article {
            id: self.id,
            organisation_id: self.organisation_id,
            category: crate::decode("kb_articles", "category", &self.category, Category::parse)?,
            keywords: self
                .keywords
                .split(',')
                .map(|k| k.trim().to_string())
                .filter(|k| !k.is_empty())
                .collect(),
            fix_kind: self.fix_kind,
            title,
            steps,
        })
    }
}

/// The keywords of an article found in a text, as whole words or word prefixes.
fn matches(keywords: &str, text: &str) -> Vec<String> {
    let words: Vec<&str> = text.split(' ').collect();
    keywords
        .split(',')
        .map(|k| k.trim())
        .filter(|k| !k.is_empty())
        .filter(|k| {
            let k = normalise_terms(k);
            !k.is_empty()
                && (words.iter().any(|w| w.starts_with(k.as_str()))
                    || (k.contains(' ') && text.contains(k.as_str())))
        })
        .map(str::to_string)
        .collect()
}

const ARTICLE_COLUMNS: &str = "id, organisation_id, category, keywords, fix_kind, title_nb, title_en, title_pt, steps_nb, steps_en, steps_pt";

impl Cases<'_> {
    /// Writes a knowledge-base article, owned by an organisation where the caller may manage it;
    /// everyone at or below that organisation gets it suggested.
    pub async fn create_article(
        self,
        scope: &Scope,
        org_id: &str,
        input: &ArticleInput,
        now: OffsetDateTime,
    ) -> Result<Article, StoreError> {
        // Published to everyone below the owner, so only where the caller's own roles reach.
        scope.require(org_id, Permission::KnowledgeManage)?;
        let mut errs = ValidationErrors::default();
        let category = errs.take(Category::parse("category", &input.category));
        let keywords = errs.take(text("keywords", &input.keywords, 2, 1000));
        if !FIX_KINDS.contains(&input.fix_kind.as_str()) {
            errs.push(FieldError::new(
                "fix_kind",
                Rule::OneOf,
                format!("fix_kind must be one of {}", FIX_KINDS.join(", ")),
            ));
        }
        let mut texts = Vec::new();
        for (field, value, max) in [
            ("title_nb", &input.title_nb, 200),
            ("title_en", &input.title_en, 200),
            ("title_pt", &input.title_pt, 200),
            ("steps_nb", &input.steps_nb, 5000),
            ("steps_en", &input.steps_en, 5000),
            ("steps_pt", &input.steps_pt, 5000),
        ] {
            let parsed = if field.starts_with("steps") {
                text_block(field, value, 3, max)
            } else {
                text(field, value, 3, max)
            };
            texts.push(errs.take(parsed).unwrap_or_default());
        }
        errs.clone().into_result()?;
        let (Some(category), Some(keywords)) = (category, keywords) else {
            return Err(errs.into());
        };
        let id = new_id();
        let mut q = sqlx::query(
            "INSERT INTO kb_articles (id, organisation_id, category, keywords, fix_kind, title_nb, title_en, title_pt, steps_nb, steps_en, steps_pt, created_at, version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1)",
        )
        .bind(&id)
        .bind(org_id)
        .bind(category.as_str())
        .bind(&keywords)
        .bind(&input.fix_kind);
        for t in &texts {
            q = q.bind(t);
        }
        q.bind(micros(now)).execute(&self.store.pool).await?;
        self.get_article(scope, &id, Language::En).await
    }

    pub async fn get_article(
        self,
        scope: &Scope,
        id: &str,
        lang: Language,
    ) -> Result<Article, StoreError> {
        let sql = format!("SELECT {ARTICLE_COLUMNS} FROM kb_articles WHERE id = $1");
        let row = sqlx::query_as::<_, ArticleRow>(&sql)
            .bind(id)
            .fetch_optional(&self.store.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        if !scope.permits_record(&row.organisation_id, Permission::OrgRead) {
            return Err(StoreError::NotFound);
        }
        row.into_article(lang)
    }

    /// The articles the caller may use, in their language.
    pub async fn list_articles(
        self,
        scope: &Scope,
        lang: Language,
    ) -> Result<Vec<Article>, StoreError> {
        let owners = scope.record_owners_with(Permission::OrgRead);
        let sql = format!("SELECT {ARTICLE_COLUMNS} FROM kb_articles WHERE organisation_id IN ({}) ORDER BY title_en", placeholders(1, owners.len()));
        let mut q = sqlx::query_as::<_, ArticleRow>(&sql);
        for o in &owners {
            q = q.bind(o);
        }
        q.fetch_all(&self.store.pool)
            .await?
            .into_iter()
            .map(|r| r.into_article(lang))
            .collect()
    }

    /// What a remote fix achieved so far: for each decision applying it, success when its case
    /// was resolved with no later visit decision and no new case of the same concern within 30 days.
    pub async fn article_outcomes(
        self,
        article_id: &str,
        now: OffsetDateTime,
    ) -> Result<Outcomes, StoreError> {
        type Row = (String, i64, Option<i64>, Option<String>, String);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT d.case_id, d.at, c.resolved_at, c.customer_id, c.category FROM triage_decisions d JOIN cases c ON c.id = d.case_id \
             WHERE d.article_id = $1 AND d.kind = 'remote-fix'",
        )
        .bind(article_id)
        .fetch_all(&self.store.pool)
        .await?;
        let mut out = Outcomes::default();
        for (case_id, at, resolved_at, customer, category) in rows {
            let visit_later: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM triage_decisions WHERE case_id = $1 AND at > $2 AND kind <> 'remote-fix'")
                .bind(&case_id)
                .bind(at)
                .fetch_one(&self.store.pool)
                .await?;
            let Some(resolved) = resolved_at else {
                if visit_later > 0 {
                    out.settled += 1;
                }
                continue;
            };
            let window_end = resolved + settle_micros();
            let comeback: i64 = match &customer {
                Some(c) => sqlx::query_scalar("SELECT COUNT(*) FROM cases WHERE customer_id = $1 AND category = $2 AND id <> $3 AND created_at > $4 AND created_at <= $5")
                    .bind(c)
                    .bind(&category)
                    .bind(&case_id)
                    .bind(at)
                    .bind(window_end)
                    .fetch_one(&self.store.pool)
                    .await?,
                None => 0,
            };
            if visit_later > 0 || comeback > 0 {
                out.settled += 1;
            } else if window_end <= micros(now) {
                out.settled += 1;
                out.successes += 1;
            }
        }
        out.rate_percent =
            (out.settled > 0).then(|| (out.successes * 100 + out.settled / 2) / out.settled);
        Ok(out)
    }

    /// Ranked suggestions for a case: the remote fixes whose symptom words match, best first (more
    /// matching words, then a better observed success rate), then mobile service and the workshop.
    pub async fn triage_suggestions(
        self,
        scope: &Scope,
        case_id: &str,
        lang: Language,
        now: OffsetDateTime,
    ) -> Result<Vec<Suggestion>, StoreError> {
        let case = self.get_case(scope, case_id, now).await?;
        let text = normalise_terms(&format!(
            "{} {}",
            case.subject,
            case.symptoms.clone().unwrap_or_default()
        ));
        let owners = scope.record_owners_with(Permission::OrgRead);
        let sql = format!(
            "SELECT {ARTICLE_COLUMNS} FROM kb_articles WHERE organisation_id IN ({})",
            placeholders(1, owners.len())
        );
        let mut q = sqlx::query_as::<_, ArticleRow>(&sql);
        for o in &owners {
            q = q.bind(o);
        }
        let mut ranked = Vec::new();
        let withheld = aftersales_domain::cases::remote_fix_withheld(case.escalation_reason);
        for row in q.fetch_all(&self.store.pool).await? {
            if withheld.is_some() {
                break;
            }
            let matched = matches(&row.keywords, &text);
            if matched.is_empty() {
                continue;
            }
            let outcomes = self.article_outcomes(&row.id, now).await?;
            // Laplace-smoothed rate, so one lucky outcome does not outrank many good ones.
            let score = (outcomes.successes as f64 + 1.0) / (outcomes.settled as f64 + 2.0);
            let same_category = row.category == case.category.as_str();
            ranked.push((
                matched.len(),
                same_category,
                score,
                row.into_article(lang)?,
                matched,
                outcomes,
            ));
        }
        ranked.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(b.2.total_cmp(&a.2)));
        let mut out: Vec<Suggestion> = ranked
            .into_iter()
            .take(5)
            .map(|(_, _, _, article, matched, outcomes)| Suggestion {
                kind: "remote-fix".into(),
                article: Some(article),
                matched,
                outcomes: Some(outcomes),
            })
            .collect();
        for kind in ["mobile-service", "workshop"] {
            out.push(Suggestion {
                kind: kind.into(),
                article: None,
                matched: Vec::new(),
                outcomes: None,
            });
        }
        Ok(out)
    }

    /// Records how the concern is handled; it shows on the case and the customer's timeline.
    pub async fn record_triage(
        self,
        scope: &Scope,
        case_id: &str,
        input: &DecisionInput,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let case = self.get_case(scope, case_id, now).await?;
        scope.require(&case.organisation.id, Permission::CrmWrite)?;
        if input.kind == "remote-fix"
            && aftersales_domain::cases::remote_fix_withheld(case.escalation_reason).is_some()
        {
            return Err(ValidationErrors::single(
                "kind",
                Rule::NotAllowed,
                "a case escalated as a safety risk gets no remote fix: send mobile service or book the workshop",
            )
            .into());
        }
        if !DECISIONS.contains(&input.kind.as_str()) {
            return Err(ValidationErrors::single(
                "kind",
                Rule::OneOf,
                format!("kind must be one of {}", DECISIONS.join(", ")),
            )
            .into());
        }
        let article = match (
            input.kind.as_str(),
            input.article_id.as_deref().filter(|a| !a.is_empty()),
        ) {
            ("remote-fix", Some(a)) => Some(
                self.get_article(scope, a, Language::En)
                    .await
                    .map_err(|e| match e {
                        StoreError::NotFound => StoreError::from(ValidationErrors::single(
                            "article_id",
                            Rule::Unknown,
                            "article_id names no article you can use",
                        )),
                        e => e,
                    })?,
            ),
            ("remote-fix", None) => {
                return Err(ValidationErrors::single(
                    "article_id",
                    Rule::Required,
                    "a remote fix names the article applied",
                )
                .into())
            }
            _ => None,
        };
        let mut tx = self.store.begin().await?;
        sqlx::query("INSERT INTO triage_decisions (id, case_id, kind, article_id, decided_by, at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(new_id())
            .bind(case_id)
            .bind(&input.kind)
            .bind(article.as_ref().map(|a| a.id.clone()))
            .bind(scope.user_id())
            .bind(micros(now))
            .execute(&mut *tx)
            .await?;
        // The decision as a fact; the article's title is content, shown as written.
        let title = article.as_ref().map(|a| a.title.clone());
        crate::cases::fact(
            &mut tx,
            case_id,
            "triage",
            None,
            &[("decision", input.kind.as_str())],
            title.clone(),
            Some(scope.user_id()),
            now,
        )
        .await?;
        if let Some(c) = &case.customer {
            let owner: String =
                sqlx::query_scalar("SELECT organisation_id FROM customers WHERE id = $1")
                    .bind(&c.id)
                    .fetch_one(&mut *tx)
                    .await?;
            crate::crm::add_entry(
                &mut tx,
                crate::crm::NewEntry {
                    organisation_id: &owner,
                    customer_id: Some(&c.id),
                    vehicle_id: case.vehicle.as_ref().map(|v| v.id.as_str()),
                    kind: "triage",
                    summary: String::new(),
                    params: vec![
                        ("case", case.number.clone()),
                        ("decision", input.kind.clone()),
                    ],
                    body: title,
                    actor: Some(scope.user_id()),
                },
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The remote-resolution rate over cases created in `[from, to)` that the caller can see:
    /// technical cases resolved by a remote fix with no visit within 30 days ÷ technical cases.
    /// A visit is an appointment, a repair order or a new technical case for the same vehicle
    /// (the same customer where the case names none): `domain::kpi::formulas::visit_after`.
    /// Returns (numerator, denominator).
    pub async fn remote_resolution_rate(
        self,
        scope: &Scope,
        from: OffsetDateTime,
        to: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<(i64, i64), StoreError> {
        use aftersales_domain::kpi::formulas::{visit_after, CaseFact, Visit};
        use aftersales_domain::kpi::{Dims, ItemRef, KpiItemKind};
        let orgs = scope.orgs_with(Permission::OrgRead);
        let n = orgs.len();
        let sql = format!(
            "SELECT id, resolved_at, customer_id, vehicle_id FROM cases WHERE category = 'technical' AND created_at >= ${} AND created_at < ${} AND organisation_id IN ({})",
            n + 1,
            n + 2,
            placeholders(1, n)
        );
        let mut q =
            sqlx::query_as::<_, (String, Option<i64>, Option<String>, Option<String>)>(&sql);
        for o in &orgs {
            q = q.bind(o);
        }
        let rows = q
            .bind(micros(from))
            .bind(micros(to))
            .fetch_all(&self.store.pool)
            .await?;
        let mut fixed = 0;
        for (id, resolved, customer, vehicle) in &rows {
            let Some(resolved) = resolved else { continue };
            let last: Option<String> = sqlx::query_scalar("SELECT kind FROM triage_decisions WHERE case_id = $1 ORDER BY at DESC, id DESC LIMIT 1")
                .bind(id)
                .fetch_optional(&self.store.pool)
                .await?;
            if last.as_deref() != Some("remote-fix") {
                continue;
            }
            let end = resolved + settle_micros();
            // Counted once the 30 days have passed.
            if end > micros(now) {
                continue;
            }
            let visits: Vec<crate::kpis::VisitRow> = sqlx::query_as(
                "SELECT a.vehicle_id, a.customer_id, a.created_at, a.case_id, c.category FROM appointments a LEFT JOIN cases c ON c.id = a.case_id \
                 WHERE (a.vehicle_id = $1 OR a.customer_id = $2) AND a.created_at > $3 AND a.created_at <= $4 \
                 UNION ALL SELECT r.vehicle_id, r.customer_id, r.created_at, r.case_id, c.category FROM repair_orders r LEFT JOIN cases c ON c.id = r.case_id \
                 WHERE (r.vehicle_id = $1 OR r.customer_id = $2) AND r.created_at > $3 AND r.created_at <= $4 \
                 UNION ALL SELECT c.vehicle_id, c.customer_id, c.created_at, c.id, c.category FROM cases c \
                 WHERE c.category = 'technical' AND c.customer_id = $2 AND c.created_at > $3 AND c.created_at <= $4",
            )
            .bind(vehicle.clone().unwrap_or_default())
            .bind(customer.clone().unwrap_or_default())
            .bind(*resolved)
            .bind(end)
            .fetch_all(&self.store.pool)
            .await?;
            let visits: Vec<Visit> = visits
                .into_iter()
                .map(|(v, c, at, case, category)| Visit {
                    vehicle: v,
                    customer: Some(c),
                    at: from_micros(at),
                    case: case.map(|k| (k, category.as_deref() == Some("technical"))),
                })
                .collect();
            let fact = CaseFact {
                item: ItemRef {
                    kind: KpiItemKind::Case,
                    id: id.clone(),
                    label: String::new(),
                },
                dims: Dims::default(),
                vehicle: vehicle.clone(),
                customer: customer.clone(),
                technical: true,
                created_at: from_micros(*resolved),
                resolved_at: Some(from_micros(*resolved)),
                remote_fix: true,
                first_responded_at: None,
                response_breached_at: None,
                resolution_breached_at: None,
            };
            let back = visit_after(&fact, &visits);
            if !back {
                fixed += 1;
            }
        }
        Ok((fixed, rows.len() as i64))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    pub(crate) fn keyword_matching() {
        let text = crate::crm::normalise_terms("Skjermen fryser når jeg rygger");
        assert_eq!(
            super::matches("screen, skjerm, ecrã, fryser", &text),
            vec!["skjerm", "fryser"]
        );
        assert!(super::matches("charging", &text).is_empty());
    }
}
