//! Campaigns: a message to every owner of a brand's cars (of the models named) on a chosen day,
//! each in the customer's language, to those who agreed to offers; created, listed, withdrawn
//! and sent by the hourly run.

use super::*;

impl Reminders<'_> {
    /// Campaigns of the organisations the caller manages customer messages for, newest first.
    pub async fn campaigns(self, scope: &Scope) -> Result<Vec<Campaign>, StoreError> {
        let orgs = scope.orgs_with(Permission::NotifyManage);
        let mut plan = scope.orgs_with(Permission::WorkshopPlan);
        plan.retain(|o| !orgs.contains(o));
        let all: Vec<String> = orgs.into_iter().chain(plan).collect();
        if all.is_empty() {
            scope.require_somewhere(Permission::WorkshopPlan)?;
            return Ok(Vec::new());
        }
        // Advisors see the campaigns of their market too (their customers will ask about them).
        let mut reach = all.clone();
        for o in &all {
            for l in self.store.org().lineage(o).await? {
                if !reach.contains(&l) {
                    reach.push(l);
                }
            }
        }
        let sql = format!(
            "{CAMPAIGN_SELECT} WHERE k.organisation_id IN ({}) ORDER BY k.send_on DESC, k.created_at DESC LIMIT 200",
            placeholders(1, reach.len())
        );
        let mut q = sqlx::query_as::<_, CampaignRow>(&sql);
        for o in &reach {
            q = q.bind(o);
        }
        Ok(q.fetch_all(&self.store.pool)
            .await?
            .into_iter()
            .map(campaign_of)
            .collect())
    }

    /// Withdraws a campaign that has not gone out yet (those who manage customer messages at its
    /// organisation). One already sent stays, as the record of what customers were told.
    pub async fn withdraw_campaign(self, scope: &Scope, id: &str) -> Result<(), StoreError> {
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT organisation_id, status FROM campaigns WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.store.pool)
                .await?;
        let (org, status) = row.ok_or(StoreError::NotFound)?;
        scope.require(&org, Permission::NotifyManage)?;
        if status != "planned" {
            return Err(ValidationErrors::single(
                "status",
                Rule::NotAllowed,
                "a campaign that was sent cannot be withdrawn",
            )
            .into());
        }
        // Only while still planned: a run sending it at this moment wins, and it stays.
        let gone = sqlx::query("DELETE FROM campaigns WHERE id = $1 AND status = 'planned'")
            .bind(id)
            .write(self.store)
            .await?
            .rows_affected();
        if gone == 0 {
            return Err(ValidationErrors::single(
                "status",
                Rule::NotAllowed,
                "a campaign that was sent cannot be withdrawn",
            )
            .into());
        }
        Ok(())
    }

    /// Plans a campaign (market managers, administrators): sent by the reminder run on its day.
    pub async fn create_campaign(
        self,
        scope: &Scope,
        input: &CampaignInput,
        now: OffsetDateTime,
    ) -> Result<Campaign, StoreError> {
        scope.require(&input.organisation_id, Permission::NotifyManage)?;
        let mut errs = ValidationErrors::default();
        let titles = [
            ("title_nb", &input.title_nb),
            ("title_en", &input.title_en),
            ("title_pt", &input.title_pt),
        ]
        .map(|(f, v)| errs.take(text(f, v, 3, 120)));
        let messages = [
            ("message_nb", &input.message_nb),
            ("message_en", &input.message_en),
            ("message_pt", &input.message_pt),
        ]
        .map(|(f, v)| errs.take(text_block(f, v, 10, 2_000)));
        let today = self
            .store
            .org()
            .zone_of(&input.organisation_id)
            .await?
            .local(now)
            .date();
        let send_on = errs.take(parse_date("send_on", &input.send_on).and_then(|d| {
            aftersales_domain::validation::date_between(
                "send_on",
                d,
                today,
                today + Duration::days(366),
            )
        }));
        let models: Vec<String> = input
            .models
            .split(',')
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(str::to_string)
            .collect();
        errs.clone().into_result()?;
        let ([Some(tnb), Some(ten), Some(tpt)], [Some(mnb), Some(men), Some(mpt)], Some(send_on)) =
            (titles, messages, send_on)
        else {
            return Err(errs.into());
        };
        let id = new_id();
        sqlx::query(
            "INSERT INTO campaigns (id, organisation_id, title_nb, title_en, title_pt, message_nb, message_en, message_pt, models, \
             send_on, status, messages, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'planned', 0, $11, $12)",
        )
        .bind(&id)
        .bind(&input.organisation_id)
        .bind(&tnb)
        .bind(&ten)
        .bind(&tpt)
        .bind(&mnb)
        .bind(&men)
        .bind(&mpt)
        .bind(models.join(","))
        .bind(format_date(send_on))
        .bind(scope.user_id())
        .bind(micros(now))
        .write(self.store)
        .await?;
        let row = sqlx::query_as::<_, CampaignRow>(&format!("{CAMPAIGN_SELECT} WHERE k.id = $1"))
            .bind(&id)
            .fetch_one(&self.store.pool)
            .await?;
        Ok(campaign_of(row))
    }
}

pub(super) const CAMPAIGN_SELECT: &str = "SELECT k.id, k.organisation_id, o.name, k.title_nb, k.title_en, k.title_pt, k.message_nb, k.message_en, \
    k.message_pt, k.models, k.send_on, k.status, k.messages, k.created_at FROM campaigns k JOIN organisations o ON o.id = k.organisation_id";

pub(super) type CampaignRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
);

pub(super) fn campaign_of(r: CampaignRow) -> Campaign {
    Campaign {
        id: r.0,
        organisation: Ref {
            id: r.1,
            label: r.2,
        },
        title: Texts {
            nb: r.3,
            en: r.4,
            pt: r.5,
        },
        message: Texts {
            nb: r.6,
            en: r.7,
            pt: r.8,
        },
        models: r
            .9
            .split(',')
            .filter(|m| !m.is_empty())
            .map(str::to_string)
            .collect(),
        send_on: parse_date("send_on", &r.10).unwrap_or(Date::MIN),
        status: r.11,
        messages: r.12,
        created_at: from_micros(r.13),
    }
}

/// Sends the campaigns whose day has come: one message per owner (of a vehicle of the campaign
/// organisation's brand, owned at or above it, of the models named), each written in the
/// customer's language; the outbox records a customer without consent to offers as not sent.
pub(super) async fn send_campaigns(
    store: &crate::Store,
    today: Date,
    now: OffsetDateTime,
) -> Result<usize, StoreError> {
    let due: Vec<CampaignRow> = sqlx::query_as(&format!(
        "{CAMPAIGN_SELECT} WHERE k.status = 'planned' AND k.send_on <= $1 ORDER BY k.send_on"
    ))
    .bind(format_date(today))
    .fetch_all(&store.pool)
    .await?;
    let mut n = 0;
    for row in due {
        let c = campaign_of(row);
        let lineage = store.org().lineage(&c.organisation.id).await?;
        let brand: Option<String> = sqlx::query_scalar(&format!(
            "SELECT brand_id FROM organisations WHERE id IN ({}) AND brand_id IS NOT NULL LIMIT 1",
            placeholders(1, lineage.len())
        ))
        .bind_all(&lineage)
        .fetch_optional(&store.pool)
        .await?;
        let Some(brand) = brand else {
            // Not sent, and said so: it stays planned until its organisation belongs to a brand.
            tracing::warn!(campaign = %c.id, "campaign of an organisation without brand: not sent");
            continue;
        };
        // The brand's vehicles owned at the campaign's organisation, above it (the market's
        // shared records) or below it (a dealer's own).
        type Target = (String, Option<String>, String);
        let targets: Vec<Target> = sqlx::query_as(&format!(
            "WITH RECURSIVE down(id) AS (SELECT id FROM organisations WHERE id = $1 UNION ALL \
                 SELECT o.id FROM organisations o JOIN down d ON o.parent_id = d.id) \
             SELECT c.id, v.model, v.id FROM vehicles v \
                 JOIN vehicle_ownerships w ON w.vehicle_id = v.id AND w.to_date IS NULL \
                 JOIN customers c ON c.id = w.customer_id AND c.erased_at IS NULL \
                 WHERE (v.organisation_id IN ({}) OR v.organisation_id IN (SELECT id FROM down)) \
                 AND v.brand_id = ${} ORDER BY c.id, v.id",
            placeholders(2, lineage.len()),
            lineage.len() + 2
        ))
        .bind(&c.organisation.id)
        .bind_all(&lineage)
        .bind(brand)
        .fetch_all(&store.pool)
        .await?;
        let mut tx = store.begin().await?;
        let mut told: std::collections::HashSet<String> = std::collections::HashSet::new();
        for (customer, model, vehicle_id) in targets {
            if told.contains(&customer)
                || (!c.models.is_empty()
                    && !model
                        .as_deref()
                        .is_some_and(|m| c.models.iter().any(|want| want.eq_ignore_ascii_case(m))))
            {
                continue;
            }
            let vehicle = crate::workshop::vehicle_label(&mut tx, Some(&vehicle_id)).await?;
            let to = addressee(&mut tx, &c.organisation.id, &customer, &vehicle).await?;
            let lang = customer_language(&mut tx, &customer).await?;
            enqueue(
                &mut tx,
                store.public_url(),
                &Notice {
                    event: Event::Campaign,
                    ro: None,
                    case_id: None,
                    dedupe: format!("campaign:{}:{customer}", c.id),
                    extra: Vec::new(),
                    place: None,
                    message: Some(c.message.get(lang).to_string()),
                    calendar: None,
                    delay: Duration::ZERO,
                    item: Some(c.title.get(lang).to_string()),
                    due: None,
                },
                &to,
                now,
            )
            .await?;
            told.insert(customer);
        }
        let messages: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM outbox WHERE event = 'campaign' AND dedupe_key LIKE $1",
        )
        .bind(format!("campaign:{}:%", c.id))
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("UPDATE campaigns SET status = 'sent', messages = $2, sent_at = $3 WHERE id = $1 AND status = 'planned'")
            .bind(&c.id)
            .bind(messages)
            .bind(micros(now))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        n += 1;
    }
    Ok(n)
}
