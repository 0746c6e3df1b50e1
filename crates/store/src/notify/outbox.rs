//! The outbox as staff see it (per organisation, per repair order, retry), and the courier's claims.

use super::*;
use crate::db::Write;
use aftersales_domain::notify::SkipReason;

impl Notify<'_> {
    /// Messages of the organisations the caller manages messages for, and of the service points
    /// where they plan the work (advisors and managers follow what their customers were told);
    /// newest first.
    pub async fn outbox(
        self,
        scope: &Scope,
        status: Option<&str>,
        cursor: Option<&str>,
        limit: i64,
    ) -> Result<crate::Page<OutboxItem>, StoreError> {
        let after = crate::db::cursor_key(&self.store.pool, "outbox", cursor).await?;
        let mut orgs = scope.orgs_with(Permission::NotifyManage);
        for o in scope.orgs_with(Permission::WorkshopPlan) {
            if !orgs.contains(&o) {
                orgs.push(o);
            }
        }
        let mut sql = format!(
            "{OUTBOX_SELECT} WHERE x.organisation_id IN ({})",
            placeholders(1, orgs.len())
        );
        let mut n = orgs.len();
        if status.is_some() {
            n += 1;
            sql.push_str(&format!(" AND x.status = ${n}"));
        }
        if after.is_some() {
            sql.push_str(&format!(
                " AND (x.created_at < ${a} OR (x.created_at = ${a} AND x.id < ${b}))",
                a = n + 1,
                b = n + 2
            ));
            n += 2;
        }
        sql.push_str(&format!(
            " ORDER BY x.created_at DESC, x.id DESC LIMIT ${}",
            n + 1
        ));
        let mut q = sqlx::query_as::<_, OutboxRow>(&sql);
        for o in &orgs {
            q = q.bind(o);
        }
        if let Some(s) = status {
            q = q.bind(s);
        }
        if let Some((at, id)) = &after {
            q = q.bind(*at).bind(id.clone());
        }
        let items = q
            .bind(limit + 1)
            .fetch_all(&self.store.pool)
            .await?
            .into_iter()
            .map(outbox_item)
            .collect();
        Ok(crate::Page::from_rows(items, limit, |m: &OutboxItem| {
            m.id.clone()
        }))
    }
    /// The messages written to the customer about one repair order; the caller has checked that
    /// the repair order is in reach (`workshop().ro_messages`).
    pub(crate) async fn messages_of_ro(self, ro_id: &str) -> Result<Vec<OutboxItem>, StoreError> {
        let sql = format!(
            "{OUTBOX_SELECT} WHERE x.repair_order_id = $1 ORDER BY x.created_at, x.channel"
        );
        Ok(sqlx::query_as::<_, OutboxRow>(&sql)
            .bind(ro_id)
            .fetch_all(&self.store.pool)
            .await?
            .into_iter()
            .map(outbox_item)
            .collect())
    }
    /// Puts a dead letter back in line (after the address was corrected, say).
    pub async fn retry_outbox(
        self,
        scope: &Scope,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let org: Option<(String, String)> =
            sqlx::query_as("SELECT organisation_id, status FROM outbox WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.store.pool)
                .await?;
        let (org, status) = org.ok_or(StoreError::NotFound)?;
        if !scope.permits(&org, Permission::NotifyManage) {
            return Err(StoreError::NotFound);
        }
        if status != "dead" {
            return Err(ValidationErrors::single(
                "status",
                Rule::NotAllowed,
                "only a dead letter can be retried",
            )
            .into());
        }
        sqlx::query("UPDATE outbox SET status = 'pending', attempts = 0, not_before = $1, lease_until = NULL WHERE id = $2 AND status = 'dead'")
            .bind(micros(now))
            .bind(id)
            .write(self.store)
            .await?;
        Ok(())
    }
}

impl crate::cli::Cli<'_> {
    /// Claims up to `limit` due messages of the given channels for five minutes. The claim is a
    /// conditional update, so two workers (or two app instances) never take the same message.
    pub async fn claim_outbox(
        &self,
        channels: &[MessageChannel],
        now: OffsetDateTime,
        limit: i64,
    ) -> Result<Vec<OutboxJob>, StoreError> {
        if channels.is_empty() {
            return Ok(Vec::new());
        }
        let pool = &self.store().pool;
        let sql = format!(
            "SELECT id FROM outbox WHERE status = 'pending' AND not_before <= $1 AND (lease_until IS NULL OR lease_until < $1) AND channel IN ({}) ORDER BY not_before LIMIT {}",
            placeholders(2, channels.len()),
            limit.clamp(1, 500)
        );
        let mut q = sqlx::query_scalar::<_, String>(&sql).bind(micros(now));
        for c in channels {
            q = q.bind(c.as_str());
        }
        let ids = q.fetch_all(pool).await?;
        let mut out = Vec::new();
        for id in ids {
            let took = sqlx::query("UPDATE outbox SET lease_until = $1 WHERE id = $2 AND status = 'pending' AND (lease_until IS NULL OR lease_until < $3)")
                .bind(micros(now + LEASE))
                .bind(&id)
                .bind(micros(now))
                .execute(pool)
                .await?;
            if took.rows_affected() != 1 {
                continue;
            }
            type Row = (
                String,
                Option<String>,
                String,
                String,
                Option<String>,
                Option<String>,
                i64,
            );
            let row: Option<Row> = sqlx::query_as(
                "SELECT channel, recipient, subject, body, attachment_name, attachment, attempts FROM outbox WHERE id = $1",
            )
            .bind(&id)
            .fetch_optional(pool)
            .await?;
            // Consent and erasure are read again at sending time: a survey or an SMS held for the
            // morning does not go to someone who said no (or was erased) meanwhile.
            if let Some(reason) = self.blocked(&id).await? {
                sqlx::query("UPDATE outbox SET status = 'skipped', last_error = $1, lease_until = NULL WHERE id = $2")
                    .bind(reason.as_str())
                    .bind(&id)
                    .execute(pool)
                    .await?;
                continue;
            }
            if let Some((
                channel,
                Some(recipient),
                subject,
                body,
                attachment_name,
                attachment,
                attempts,
            )) = row
            {
                let attachment = match attachment {
                    Some(a) if a.starts_with("document:") => {
                        match self
                            .store()
                            .billing()
                            .pdf_of(a.trim_start_matches("document:"))
                            .await
                        {
                            Ok((_, pdf)) => Some(pdf),
                            Err(e) => {
                                // Retried with the usual backoff, then a dead letter: never a hot loop.
                                self.outbox_failed(
                                    &id,
                                    &format!("rendering the PDF: {e}"),
                                    false,
                                    now,
                                )
                                .await?;
                                continue;
                            }
                        }
                    }
                    Some(a) if a.starts_with("agreement:") => {
                        let pdf: Option<Vec<u8>> =
                            sqlx::query_scalar("SELECT pdf FROM loaner_agreements WHERE id = $1")
                                .bind(a.trim_start_matches("agreement:"))
                                .fetch_optional(pool)
                                .await?;
                        match pdf {
                            Some(pdf) => Some(pdf),
                            None => {
                                // Erased since: the message goes nowhere rather than without its PDF.
                                sqlx::query("UPDATE outbox SET status = 'skipped', last_error = 'erased', lease_until = NULL WHERE id = $1")
                                    .bind(&id)
                                    .execute(pool)
                                    .await?;
                                continue;
                            }
                        }
                    }
                    other => other.map(String::into_bytes),
                };
                if let Ok(channel) = MessageChannel::parse("channel", &channel) {
                    out.push(OutboxJob {
                        id,
                        channel,
                        recipient,
                        subject,
                        body,
                        attachment_name,
                        attachment,
                        attempts,
                    });
                }
            }
        }
        Ok(out)
    }

    /// Why a claimed message may no longer go out, if it may not: the customer erased, or the
    /// consent its purpose needs withdrawn since it was written (offers need a grant).
    async fn blocked(&self, id: &str) -> Result<Option<SkipReason>, StoreError> {
        let row: Option<(String, String, Option<String>, Option<i64>)> = sqlx::query_as(
            "SELECT x.channel, x.event, x.customer_id, c.erased_at FROM outbox x LEFT JOIN customers c ON c.id = x.customer_id WHERE x.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.store().pool)
        .await?;
        let Some((channel, event, Some(customer), erased)) = row else {
            return Ok(None);
        };
        if erased.is_some() {
            return Ok(Some(SkipReason::Erased));
        }
        let offer = event == Event::Campaign.as_str();
        let latest: Option<i64> = sqlx::query_scalar(
            "SELECT granted FROM consents WHERE customer_id = $1 AND purpose = $3 AND channel = $2 ORDER BY at DESC, id DESC LIMIT 1",
        )
        .bind(&customer)
        .bind(&channel)
        .bind(if offer { "marketing" } else { "service" })
        .fetch_optional(&self.store().pool)
        .await?;
        Ok(if offer {
            (latest != Some(1)).then_some(SkipReason::NoOfferConsent)
        } else {
            (latest == Some(0)).then_some(SkipReason::DeclinedService)
        })
    }

    /// Records a delivery; only a message still pending (its lease not taken over) changes.
    pub async fn outbox_sent(&self, id: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query("UPDATE outbox SET status = 'sent', sent_at = $1, attempts = attempts + 1, lease_until = NULL, last_error = NULL WHERE id = $2 AND status = 'pending'")
            .bind(micros(now))
            .bind(id)
            .execute(&self.store().pool)
            .await?;
        Ok(())
    }

    /// Records a failed attempt: retried later with backoff, or a dead letter when `permanent`
    /// (the provider refused the message itself) or the attempts are used up.
    pub async fn outbox_failed(
        &self,
        id: &str,
        error: &str,
        permanent: bool,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let row: Option<(i64, String, Option<String>)> = sqlx::query_as(
            "SELECT x.attempts, x.channel, m.time_zone FROM outbox x JOIN organisations o ON o.id = x.organisation_id \
             LEFT JOIN markets m ON m.id = o.market_id WHERE x.id = $1 AND x.status = 'pending'",
        )
        .bind(id)
        .fetch_optional(&self.store().pool)
        .await?;
        let (attempts, channel, tz) = row.ok_or(StoreError::NotFound)?;
        let attempts = attempts + 1;
        let zone = match tz {
            Some(t) => crate::decode("markets", "time_zone", &t, Zone::parse)?,
            None => Zone::OSLO,
        };
        let channel = crate::decode("outbox", "channel", &channel, MessageChannel::parse)?;
        let error: String = error.chars().take(1000).collect();
        let next = if permanent {
            None
        } else {
            retry_delay(attempts)
        };
        match next {
            Some(d) => {
                sqlx::query("UPDATE outbox SET attempts = $1, last_error = $2, not_before = $3, lease_until = NULL WHERE id = $4")
                    .bind(attempts)
                    .bind(&error)
                    // A retried SMS still waits out the quiet hours.
                    .bind(micros(send_after(channel, zone, now + d)))
                    .bind(id)
                    .execute(&self.store().pool)
                    .await?;
                Ok(false)
            }
            None => {
                sqlx::query("UPDATE outbox SET status = 'dead', attempts = $1, last_error = $2, lease_until = NULL WHERE id = $3")
                    .bind(attempts)
                    .bind(&error)
                    .bind(id)
                    .execute(&self.store().pool)
                    .await?;
                Ok(true)
            }
        }
    }
}
