//! Notification rules per event and market, and the templates per language.

use super::*;
use crate::db::Write;

impl Notify<'_> {
    /// The rules in force at an organisation for every event and channel.
    pub async fn notification_rules(
        self,
        scope: &Scope,
        org: &str,
    ) -> Result<Vec<RuleView>, StoreError> {
        scope.require(org, Permission::NotifyManage)?;
        let lineage = self.store.org().lineage(org).await?;
        let sql = format!(
            "SELECT r.organisation_id, r.event, r.channel, r.enabled, o.name FROM notification_rules r JOIN organisations o ON o.id = r.organisation_id WHERE r.organisation_id IN ({})",
            placeholders(1, lineage.len())
        );
        let mut q = sqlx::query_as::<_, (String, String, String, i64, String)>(&sql);
        for o in &lineage {
            q = q.bind(o);
        }
        let rows = q.fetch_all(&self.store.pool).await?;
        let mut out = Vec::new();
        for e in Event::ALL {
            for c in MessageChannel::ALL {
                let found = lineage.iter().find_map(|o| {
                    rows.iter()
                        .find(|r| &r.0 == o && r.1 == e.as_str() && r.2 == c.as_str())
                });
                out.push(RuleView {
                    event: *e,
                    channel: *c,
                    enabled: found
                        .map(|r| r.3 == 1)
                        .unwrap_or_else(|| e.default_enabled(*c)),
                    set_at: found.map(|r| r.4.clone()),
                });
            }
        }
        Ok(out)
    }
    pub async fn set_notification_rule(
        self,
        scope: &Scope,
        org: &str,
        event: Event,
        channel: MessageChannel,
        enabled: bool,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        scope.require(org, Permission::NotifyManage)?;
        let mut tx = self.store.begin().await?;
        sqlx::query("DELETE FROM notification_rules WHERE organisation_id = $1 AND event = $2 AND channel = $3")
            .bind(org)
            .bind(event.as_str())
            .bind(channel.as_str())
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO notification_rules (organisation_id, event, channel, enabled, updated_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(org)
            .bind(event.as_str())
            .bind(channel.as_str())
            .bind(i64::from(enabled))
            .bind(micros(now))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
    pub async fn notification_template(
        self,
        scope: &Scope,
        org: &str,
        event: Event,
        channel: MessageChannel,
        lang: Language,
    ) -> Result<TemplateView, StoreError> {
        scope.require(org, Permission::NotifyManage)?;
        let lineage = self.store.org().lineage(org).await?;
        let mut conn = self.store.pool.acquire().await?;
        let (t, from) = template_in(&mut conn, &lineage, event, channel, lang).await?;
        let set_at = match from {
            Some(o) => {
                sqlx::query_scalar("SELECT name FROM organisations WHERE id = $1")
                    .bind(o)
                    .fetch_optional(&mut *conn)
                    .await?
            }
            None => None,
        };
        Ok(TemplateView {
            event,
            channel,
            language: lang,
            subject: t.subject,
            body: t.body,
            set_at,
        })
    }
    /// Saves a market's wording; placeholders must be known ones. E-mails need a subject; SMS
    /// bodies stay within three message parts.
    #[allow(clippy::too_many_arguments)]
    pub async fn set_notification_template(
        self,
        scope: &Scope,
        org: &str,
        event: Event,
        channel: MessageChannel,
        lang: Language,
        subject: &str,
        body: &str,
        now: OffsetDateTime,
    ) -> Result<TemplateView, StoreError> {
        scope.require(org, Permission::NotifyManage)?;
        let (subject, body) = validate_template(channel, subject, body)?;
        let mut tx = self.store.begin().await?;
        sqlx::query("DELETE FROM notification_templates WHERE organisation_id = $1 AND event = $2 AND channel = $3 AND language = $4")
            .bind(org)
            .bind(event.as_str())
            .bind(channel.as_str())
            .bind(lang.code())
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO notification_templates (organisation_id, event, channel, language, subject, body, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(org)
            .bind(event.as_str())
            .bind(channel.as_str())
            .bind(lang.code())
            .bind(&subject)
            .bind(&body)
            .bind(scope.user_id())
            .bind(micros(now))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.notification_template(scope, org, event, channel, lang)
            .await
    }
    /// Goes back to the inherited (or built-in) wording.
    pub async fn reset_notification_template(
        self,
        scope: &Scope,
        org: &str,
        event: Event,
        channel: MessageChannel,
        lang: Language,
    ) -> Result<TemplateView, StoreError> {
        scope.require(org, Permission::NotifyManage)?;
        sqlx::query("DELETE FROM notification_templates WHERE organisation_id = $1 AND event = $2 AND channel = $3 AND language = $4")
            .bind(org)
            .bind(event.as_str())
            .bind(channel.as_str())
            .bind(lang.code())
            .write(self.store)
            .await?;
        self.notification_template(scope, org, event, channel, lang)
            .await
    }
}
