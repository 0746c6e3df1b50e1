//! KPI digests: a person subscribes to their dashboard weekly or monthly; once a week (or month)
//! is over, the server's hourly run composes it with that person's scope (what they may see,
//! nothing more) and sends it through the outbox, once per period (`Cli::due_kpi_digests`,
//! `Cli::send_kpi_digest`). The wording is the web layer's: it knows the KPIs' names per language.

use aftersales_domain::i18n::Language;
use aftersales_domain::kpi::Period;
use aftersales_domain::org::Permission;
use aftersales_domain::validation::{FieldError, Rule};
use time::{Duration, OffsetDateTime};

use super::Kpis;
use crate::cli::Cli;
use crate::db::Write;
use crate::error::StoreError;
use crate::micros;
use crate::scope::Scope;

/// How often a digest comes.
pub const FREQUENCIES: [&str; 2] = ["weekly", "monthly"];

/// A digest whose period is over and not yet sent.
#[derive(Debug, Clone)]
pub struct DueDigest {
    pub user_id: String,
    pub name: String,
    pub language: Language,
    pub frequency: String,
    pub period: Period,
    /// The recipient's reach: the digest shows only that.
    pub scope: Scope,
}

/// The period a digest sent at `now` covers: the last whole week (Monday to Sunday) or month.
pub fn digest_period(frequency: &str, now: OffsetDateTime) -> Period {
    let today = now.date();
    if frequency == "monthly" {
        Period::last_month(today)
    } else {
        let this_week = Period::this_week(today);
        Period {
            from: this_week.from - Duration::days(7),
            to: this_week.from - Duration::days(1),
        }
    }
}

impl Kpis<'_> {
    /// The digests the caller receives.
    pub async fn subscriptions(self, scope: &Scope) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT frequency FROM kpi_subscriptions WHERE user_id = $1 ORDER BY frequency DESC",
        )
        .bind(scope.user_id())
        .fetch_all(&self.store.pool)
        .await?)
    }

    /// Turns the caller's weekly or monthly digest on or off.
    pub async fn subscribe(
        self,
        scope: &Scope,
        frequency: &str,
        on: bool,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        if !FREQUENCIES.contains(&frequency) {
            return Err(StoreError::Invalid(
                FieldError::new(
                    "frequency",
                    Rule::OneOf,
                    "frequency must be one of weekly, monthly",
                )
                .into(),
            ));
        }
        scope.require_somewhere(Permission::KpiRead)?;
        if on {
            // From the period after this one: the first digest covers a period after subscribing.
            let current = digest_period(frequency, now);
            sqlx::query("INSERT INTO kpi_subscriptions (user_id, frequency, last_sent, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, frequency) DO NOTHING")
                .bind(scope.user_id())
                .bind(frequency)
                .bind(current.from.to_string())
                .bind(micros(now))
                .write(self.store)
                .await?;
        } else {
            sqlx::query("DELETE FROM kpi_subscriptions WHERE user_id = $1 AND frequency = $2")
                .bind(scope.user_id())
                .bind(frequency)
                .write(self.store)
                .await?;
        }
        Ok(())
    }
}

impl Cli<'_> {
    /// The digests whose period is over and not yet sent, each with its recipient's scope.
    pub async fn due_kpi_digests(&self, now: OffsetDateTime) -> Result<Vec<DueDigest>, StoreError> {
        let rows: Vec<(String, String, Option<String>, String, String, i64)> = sqlx::query_as(
            "SELECT s.user_id, s.frequency, s.last_sent, u.display_name, u.language, u.disabled FROM kpi_subscriptions s \
             JOIN users u ON u.id = s.user_id ORDER BY s.user_id, s.frequency",
        )
        .fetch_all(&self.store.pool)
        .await?;
        let mut out = Vec::new();
        for (user, frequency, last, name, lang, disabled) in rows {
            let period = digest_period(&frequency, now);
            if disabled != 0 || last.as_deref() == Some(&period.from.to_string()) {
                continue;
            }
            let scope = self.store.scope_of(&user).await?;
            if !scope.orgs_with(Permission::KpiRead).is_empty() {
                out.push(DueDigest {
                    user_id: user,
                    name,
                    language: Language::from_tag(&lang).unwrap_or(Language::En),
                    frequency,
                    period,
                    scope,
                });
            }
        }
        Ok(out)
    }

    /// Sends every due digest: each recipient's dashboard over the period (side by side as their
    /// reach asks), worded by `compose` (subject, body), through the outbox. Returns how many.
    pub async fn send_kpi_digests(
        &self,
        now: OffsetDateTime,
        compose: impl Fn(&DueDigest, &super::Dashboard) -> (String, String),
    ) -> Result<usize, StoreError> {
        let due = self.due_kpi_digests(now).await?;
        let k = self.store.kpis();
        for d in &due {
            let q = super::KpiQuery {
                period: d.period,
                organisation: None,
                model: None,
                pay_type: None,
            };
            let columns = k.columns(&d.scope, &q).await?;
            let dashboard = k.dashboard(&d.scope, &q, columns, now).await?;
            let (subject, body) = compose(d, &dashboard);
            self.send_kpi_digest(d, &subject, &body, now).await?;
        }
        Ok(due.len())
    }

    /// Sends one digest through the outbox and marks its period sent, in one transaction.
    async fn send_kpi_digest(
        &self,
        due: &DueDigest,
        subject: &str,
        body: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let org = due
            .scope
            .orgs_with(Permission::KpiRead)
            .into_iter()
            .next()
            .ok_or(StoreError::NotFound)?;
        let mut tx = self.store.begin().await?;
        crate::notify::enqueue_staff_text(
            &mut tx,
            &org,
            &due.user_id,
            "kpi-digest",
            (subject, body),
            &format!("kpi-digest:{}:{}", due.frequency, due.period.from),
            now,
        )
        .await?;
        sqlx::query(
            "UPDATE kpi_subscriptions SET last_sent = $1 WHERE user_id = $2 AND frequency = $3",
        )
        .bind(due.period.from.to_string())
        .bind(&due.user_id)
        .bind(&due.frequency)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
