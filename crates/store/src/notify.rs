//! Customer updates (capability notify): the transactional outbox, notification rules and
//! templates per market and language. A change that must tell the customer writes its messages
//! in its own transaction (`enqueue`); the delivery workers (`aftersales-notify`) claim due
//! messages, send them and record the outcome here, with retries and a dead-letter list.

use std::collections::BTreeMap;

use aftersales_domain::calendar::Zone;
use aftersales_domain::i18n::Language;
use aftersales_domain::notify::{
    check_placeholders, default_template, format_when, render, retry_delay, send_after,
    status_label, Event, MessageChannel, Template,
};
use aftersales_domain::org::Permission;
use aftersales_domain::validation::{text, text_block, Rule};
use aftersales_domain::workshop::{icalendar, CalendarEvent, RoStatus};
use aftersales_domain::ValidationErrors;
use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::db::{placeholders, Store};
use crate::error::StoreError;
use crate::scope::Scope;
use crate::workshop::RoContext;
use crate::{from_micros, micros, new_id};

/// How long a claimed message is reserved for the worker that claimed it. Sending times out after
/// 20 seconds and a worker claims at most `limit` messages at once, well inside this.
const LEASE: Duration = Duration::minutes(15);

/// A calendar file for the booking mail.
pub(crate) struct CalendarFile {
    pub uid: String,
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
    pub summary: String,
    pub location: String,
}

/// One thing to tell the customer.
pub(crate) struct Notice<'a> {
    pub event: Event,
    pub ro: Option<&'a str>,
    pub case_id: Option<&'a str>,
    /// Unique per notice; the channel is appended. A retried change enqueues nothing twice.
    pub dedupe: String,
    /// Times shown in the customer's zone and language (`when`).
    pub extra: Vec<(&'static str, OffsetDateTime)>,
    pub place: Option<String>,
    /// The advisor's message, or the survey path for survey invitations.
    pub message: Option<String>,
    pub calendar: Option<CalendarFile>,
    pub delay: Duration,
}

async fn lineage_in(conn: &mut sqlx::AnyConnection, org: &str) -> Result<Vec<String>, StoreError> {
    let mut out = vec![org.to_string()];
    let mut cur = org.to_string();
    for _ in 0..8 {
        let parent: Option<Option<String>> =
            sqlx::query_scalar("SELECT parent_id FROM organisations WHERE id = $1")
                .bind(&cur)
                .fetch_optional(&mut *conn)
                .await?;
        match parent.flatten() {
            Some(p) => {
                out.push(p.clone());
                cur = p;
            }
            None => break,
        }
    }
    Ok(out)
}

/// Writes the customer's messages for `n` in the caller's transaction: one per channel the
/// market's rules enable, in the customer's language, with the market's template or the
/// built-in one. A channel without address or consent is recorded as skipped, with the reason.
pub(crate) async fn enqueue(
    conn: &mut sqlx::AnyConnection,
    public_url: &str,
    n: &Notice<'_>,
    ctx: &RoContext,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    type Row = (String, Option<String>, Option<String>, String, Option<i64>);
    let customer: Option<Row> = sqlx::query_as(
        "SELECT name, email, phone, language, erased_at FROM customers WHERE id = $1",
    )
    .bind(&ctx.customer_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((name, email, phone, lang, erased)) = customer else {
        return Ok(());
    };
    let lang = Language::from_tag(&lang).unwrap_or(Language::En);
    let lineage = lineage_in(conn, &ctx.org_id).await?;
    let tz: Option<String> = sqlx::query_scalar("SELECT m.time_zone FROM organisations o JOIN markets m ON m.id = o.market_id WHERE o.id = $1")
        .bind(&ctx.org_id)
        .fetch_optional(&mut *conn)
        .await?;
    let zone = tz
        .and_then(|t| Zone::parse("tz", &t).ok())
        .unwrap_or(Zone::KNOWN[0]);
    let status = ro_status_of(n.event);
    let base = public_url.trim_end_matches('/');
    let mut vars: BTreeMap<&str, String> = BTreeMap::new();
    vars.insert("name", name);
    vars.insert("number", ctx.number.clone());
    vars.insert(
        "vehicle",
        if ctx.vehicle.is_empty() {
            ctx.number.clone()
        } else {
            ctx.vehicle.clone()
        },
    );
    vars.insert(
        "status",
        status
            .map(|s| status_label(s, lang).to_string())
            .unwrap_or_default(),
    );
    vars.insert(
        "link",
        if ctx.token.is_empty() {
            String::new()
        } else {
            format!("{base}/s/{}", ctx.token)
        },
    );
    vars.insert(
        "place",
        n.place.clone().unwrap_or_else(|| ctx.org_name.clone()),
    );
    vars.insert(
        "eta",
        ctx.eta
            .map(|e| format_when(local(zone, e), lang))
            .unwrap_or_default(),
    );
    vars.insert("when", String::new());
    for (k, t) in &n.extra {
        vars.insert(k, format_when(local(zone, *t), lang));
    }
    match n.event {
        Event::Survey => {
            vars.insert(
                "survey_link",
                n.message
                    .as_ref()
                    .map(|m| format!("{base}{m}"))
                    .unwrap_or_default(),
            );
            vars.insert("message", String::new());
        }
        Event::InvoiceIssued | Event::CreditNoteIssued => {
            // The message carries the document's own path: the link is the document, not the status page.
            vars.insert(
                "link",
                n.message
                    .as_ref()
                    .map(|m| format!("{base}{m}"))
                    .unwrap_or_default(),
            );
            vars.insert("message", String::new());
            vars.insert("survey_link", String::new());
        }
        _ => {
            vars.insert("message", n.message.clone().unwrap_or_default());
            vars.insert("survey_link", String::new());
        }
    }
    let consents: Vec<(String, i64)> = sqlx::query_as(
        "SELECT channel, granted FROM consents WHERE customer_id = $1 AND purpose = 'service' ORDER BY at DESC, id DESC",
    )
    .bind(&ctx.customer_id)
    .fetch_all(&mut *conn)
    .await?;
    for channel in MessageChannel::ALL {
        if !rule_enabled(conn, &lineage, n.event, *channel).await? {
            continue;
        }
        let template = template_in(conn, &lineage, n.event, *channel, lang)
            .await?
            .0;
        let recipient = match channel {
            MessageChannel::Email => email.clone(),
            MessageChannel::Sms => phone.clone(),
        };
        let refused = consents
            .iter()
            .find(|(c, _)| c == channel.as_str())
            .is_some_and(|(_, g)| *g == 0);
        let skip = if erased.is_some() {
            Some("the customer was erased")
        } else if recipient.is_none() {
            Some(match channel {
                MessageChannel::Email => "no e-mail address",
                MessageChannel::Sms => "no mobile number",
            })
        } else if refused {
            Some("the customer declined service messages on this channel")
        } else {
            None
        };
        let (att_name, att) = match (&n.calendar, channel) {
            (Some(c), MessageChannel::Email) => (
                Some("appointment.ics".to_string()),
                Some(icalendar(&CalendarEvent {
                    uid: &c.uid,
                    stamp: now,
                    start: c.start,
                    end: c.end,
                    summary: &c.summary,
                    location: &c.location,
                    description: &format!(
                        "{} {}",
                        ctx.number,
                        vars.get("link").map(String::as_str).unwrap_or("")
                    ),
                })),
            ),
            // The invoice's PDF is rendered when the mail goes out, from the issued (immutable) document.
            (None, MessageChannel::Email)
                if matches!(n.event, Event::InvoiceIssued | Event::CreditNoteIssued) =>
            {
                (
                    Some(format!(
                        "{}.pdf",
                        ctx.number
                            .chars()
                            .map(|c| if c.is_ascii_alphanumeric() || c == '-' {
                                c
                            } else {
                                '_'
                            })
                            .collect::<String>()
                    )),
                    Some(n.dedupe.clone()),
                )
            }
            _ => (None, None),
        };
        let not_before = send_after(*channel, zone, now + n.delay);
        let r = sqlx::query(
            "INSERT INTO outbox (id, organisation_id, customer_id, repair_order_id, case_id, event, channel, recipient, language, subject, body, attachment_name, attachment, dedupe_key, status, attempts, not_before, lease_until, last_error, created_at, sent_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 0, $16, NULL, $17, $18, NULL) ON CONFLICT (dedupe_key) DO NOTHING",
        )
        .bind(new_id())
        .bind(&ctx.org_id)
        .bind(&ctx.customer_id)
        .bind(n.ro)
        .bind(n.case_id)
        .bind(n.event.as_str())
        .bind(channel.as_str())
        .bind(if skip.is_some() && erased.is_some() { None } else { recipient })
        .bind(lang.code())
        .bind(render(&template.subject, &vars))
        .bind(render(&template.body, &vars))
        .bind(att_name)
        .bind(att)
        .bind(format!("{}:{}", n.dedupe, channel.as_str()))
        .bind(if skip.is_some() { "skipped" } else { "pending" })
        .bind(micros(not_before))
        .bind(skip)
        .bind(micros(now))
        .execute(&mut *conn)
        .await?;
        let _ = r;
    }
    Ok(())
}

fn local(zone: Zone, t: OffsetDateTime) -> time::PrimitiveDateTime {
    let l = zone.local(t);
    time::PrimitiveDateTime::new(l.date(), l.time())
}

fn ro_status_of(e: Event) -> Option<RoStatus> {
    RoStatus::ALL
        .iter()
        .copied()
        .find(|s| Event::for_status(*s) == Some(e))
}

async fn rule_enabled(
    conn: &mut sqlx::AnyConnection,
    lineage: &[String],
    event: Event,
    channel: MessageChannel,
) -> Result<bool, StoreError> {
    let sql = format!(
        "SELECT organisation_id, enabled FROM notification_rules WHERE event = $1 AND channel = $2 AND organisation_id IN ({})",
        placeholders(3, lineage.len())
    );
    let mut q = sqlx::query_as::<_, (String, i64)>(&sql)
        .bind(event.as_str())
        .bind(channel.as_str());
    for o in lineage {
        q = q.bind(o);
    }
    let rows = q.fetch_all(&mut *conn).await?;
    Ok(lineage
        .iter()
        .find_map(|o| rows.iter().find(|(r, _)| r == o).map(|(_, e)| *e == 1))
        .unwrap_or_else(|| event.default_enabled(channel)))
}

/// The template in force: the nearest organisation's, else the built-in one. Also says where it comes from.
async fn template_in(
    conn: &mut sqlx::AnyConnection,
    lineage: &[String],
    event: Event,
    channel: MessageChannel,
    lang: Language,
) -> Result<(Template, Option<String>), StoreError> {
    let sql = format!(
        "SELECT organisation_id, subject, body FROM notification_templates WHERE event = $1 AND channel = $2 AND language = $3 AND organisation_id IN ({})",
        placeholders(4, lineage.len())
    );
    let mut q = sqlx::query_as::<_, (String, String, String)>(&sql)
        .bind(event.as_str())
        .bind(channel.as_str())
        .bind(lang.code());
    for o in lineage {
        q = q.bind(o);
    }
    let rows = q.fetch_all(&mut *conn).await?;
    for o in lineage {
        if let Some((org, subject, body)) = rows.iter().find(|(r, _, _)| r == o) {
            return Ok((
                Template {
                    subject: subject.clone(),
                    body: body.clone(),
                },
                Some(org.clone()),
            ));
        }
    }
    Ok((default_template(event, channel, lang), None))
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RuleView {
    pub event: Event,
    pub channel: MessageChannel,
    pub enabled: bool,
    /// The organisation whose rule is in force; none for the built-in default.
    pub set_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TemplateView {
    pub event: Event,
    pub channel: MessageChannel,
    pub language: Language,
    pub subject: String,
    pub body: String,
    /// The organisation whose wording is in force; none for the built-in wording.
    pub set_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OutboxItem {
    pub id: String,
    pub organisation: String,
    pub repair_order_id: Option<String>,
    pub repair_order_number: Option<String>,
    pub case_id: Option<String>,
    pub event: String,
    pub channel: String,
    pub recipient: Option<String>,
    pub language: String,
    pub subject: String,
    pub body: String,
    /// `pending`, `sent`, `dead` (gave up; an administrator may retry) or `skipped` (no address or consent).
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub not_before: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub sent_at: Option<OffsetDateTime>,
}

#[derive(sqlx::FromRow)]
struct OutboxRow {
    id: String,
    org_name: String,
    repair_order_id: Option<String>,
    ro_number: Option<String>,
    case_id: Option<String>,
    event: String,
    channel: String,
    recipient: Option<String>,
    language: String,
    subject: String,
    body: String,
    status: String,
    attempts: i64,
    last_error: Option<String>,
    not_before: i64,
    created_at: i64,
    sent_at: Option<i64>,
}

const OUTBOX_SELECT: &str = "SELECT x.id, o.name AS org_name, x.repair_order_id, r.number AS ro_number, x.case_id, x.event, x.channel, x.recipient, x.language, x.subject, x.body, x.status, x.attempts, x.last_error, x.not_before, x.created_at, x.sent_at \
     FROM outbox x JOIN organisations o ON o.id = x.organisation_id LEFT JOIN repair_orders r ON r.id = x.repair_order_id";

fn outbox_item(r: OutboxRow) -> OutboxItem {
    OutboxItem {
        id: r.id,
        organisation: r.org_name,
        repair_order_id: r.repair_order_id,
        repair_order_number: r.ro_number,
        case_id: r.case_id,
        event: r.event,
        channel: r.channel,
        recipient: r.recipient,
        language: r.language,
        subject: r.subject,
        body: r.body,
        status: r.status,
        attempts: r.attempts,
        last_error: r.last_error,
        not_before: from_micros(r.not_before),
        created_at: from_micros(r.created_at),
        sent_at: r.sent_at.map(from_micros),
    }
}

/// A message claimed for delivery.
#[derive(Debug, Clone)]
pub struct OutboxJob {
    pub id: String,
    pub channel: MessageChannel,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub attachment_name: Option<String>,
    pub attachment: Option<Vec<u8>>,
    pub attempts: i64,
}

/// Sample values for template previews.
pub fn preview_vars(lang: Language) -> BTreeMap<&'static str, String> {
    let when = time::macros::datetime!(2026-11-23 09:00);
    BTreeMap::from([
        ("name", "Kari Nordmann".to_string()),
        ("number", "RO-2026-00042".to_string()),
        ("vehicle", "Model Y EL12345".to_string()),
        ("status", status_label(RoStatus::Ready, lang).to_string()),
        ("link", "https://service.example/s/abc123".to_string()),
        ("when", format_when(when, lang)),
        ("place", "Tesla Trondheim".to_string()),
        ("eta", format_when(when, lang)),
        ("message", "…".to_string()),
        (
            "survey_link",
            "https://service.example/survey/abc123".to_string(),
        ),
    ])
}

impl Store {
    /// The rules in force at an organisation for every event and channel.
    pub async fn notification_rules(
        &self,
        scope: &Scope,
        org: &str,
    ) -> Result<Vec<RuleView>, StoreError> {
        scope.require(org, Permission::NotifyManage)?;
        let lineage = self.lineage(org).await?;
        let sql = format!(
            "SELECT r.organisation_id, r.event, r.channel, r.enabled, o.name FROM notification_rules r JOIN organisations o ON o.id = r.organisation_id WHERE r.organisation_id IN ({})",
            placeholders(1, lineage.len())
        );
        let mut q = sqlx::query_as::<_, (String, String, String, i64, String)>(&sql);
        for o in &lineage {
            q = q.bind(o);
        }
        let rows = q.fetch_all(&self.pool).await?;
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
        &self,
        scope: &Scope,
        org: &str,
        event: Event,
        channel: MessageChannel,
        enabled: bool,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        scope.require(org, Permission::NotifyManage)?;
        let mut tx = self.pool.begin().await?;
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
        &self,
        scope: &Scope,
        org: &str,
        event: Event,
        channel: MessageChannel,
        lang: Language,
    ) -> Result<TemplateView, StoreError> {
        scope.require(org, Permission::NotifyManage)?;
        let lineage = self.lineage(org).await?;
        let mut conn = self.pool.acquire().await?;
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
        &self,
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
        let mut tx = self.pool.begin().await?;
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
        &self,
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
            .execute(&self.pool)
            .await?;
        self.notification_template(scope, org, event, channel, lang)
            .await
    }

    /// Messages of the organisations the caller manages messages for, newest first.
    pub async fn outbox(
        &self,
        scope: &Scope,
        status: Option<&str>,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let orgs = scope.orgs_with(Permission::NotifyManage);
        let mut sql = format!(
            "{OUTBOX_SELECT} WHERE x.organisation_id IN ({})",
            placeholders(1, orgs.len())
        );
        if status.is_some() {
            sql.push_str(&format!(" AND x.status = ${}", orgs.len() + 1));
        }
        sql.push_str(" ORDER BY x.created_at DESC LIMIT 200");
        let mut q = sqlx::query_as::<_, OutboxRow>(&sql);
        for o in &orgs {
            q = q.bind(o);
        }
        if let Some(s) = status {
            q = q.bind(s);
        }
        Ok(q.fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(outbox_item)
            .collect())
    }

    /// The messages written to the customer about one repair order.
    pub async fn ro_messages(
        &self,
        scope: &Scope,
        ro_id: &str,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        self.repair_order(scope, ro_id).await?;
        let sql = format!(
            "{OUTBOX_SELECT} WHERE x.repair_order_id = $1 ORDER BY x.created_at, x.channel"
        );
        Ok(sqlx::query_as::<_, OutboxRow>(&sql)
            .bind(ro_id)
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(outbox_item)
            .collect())
    }

    /// Puts a dead letter back in line (after the address was corrected, say).
    pub async fn retry_outbox(
        &self,
        scope: &Scope,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let org: Option<(String, String)> =
            sqlx::query_as("SELECT organisation_id, status FROM outbox WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
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
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

fn validate_template(
    channel: MessageChannel,
    subject: &str,
    body: &str,
) -> Result<(String, String), ValidationErrors> {
    let mut errs = ValidationErrors::default();
    let subject = match channel {
        MessageChannel::Email => errs.take(
            text("subject", subject, 1, 200)
                .and_then(|s| check_placeholders("subject", &s).map(|_| s)),
        ),
        MessageChannel::Sms => Some(String::new()),
    };
    let max = match channel {
        MessageChannel::Email => 5000,
        MessageChannel::Sms => 459,
    };
    let body = errs.take(
        text_block("body", body, 1, max).and_then(|b| check_placeholders("body", &b).map(|_| b)),
    );
    errs.clone().into_result()?;
    match (subject, body) {
        (Some(s), Some(b)) => Ok((s, b)),
        _ => Err(errs),
    }
}

/// Renders a template with sample values, for the administrator's preview.
pub fn preview(
    channel: MessageChannel,
    lang: Language,
    subject: &str,
    body: &str,
) -> Result<Template, ValidationErrors> {
    let (s, b) = validate_template(channel, subject, body)?;
    let vars = preview_vars(lang);
    Ok(Template {
        subject: render(&s, &vars),
        body: render(&b, &vars),
    })
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
                    .bind(reason)
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
                        match self.store().pdf_of(a.trim_start_matches("document:")).await {
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

    /// Why a claimed message may no longer go out, if it may not.
    async fn blocked(&self, id: &str) -> Result<Option<&'static str>, StoreError> {
        let row: Option<(String, Option<String>, Option<i64>)> = sqlx::query_as(
            "SELECT x.channel, x.customer_id, c.erased_at FROM outbox x LEFT JOIN customers c ON c.id = x.customer_id WHERE x.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.store().pool)
        .await?;
        let Some((channel, Some(customer), erased)) = row else {
            return Ok(None);
        };
        if erased.is_some() {
            return Ok(Some("the customer was erased"));
        }
        let latest: Option<i64> = sqlx::query_scalar(
            "SELECT granted FROM consents WHERE customer_id = $1 AND purpose = 'service' AND channel = $2 ORDER BY at DESC, id DESC LIMIT 1",
        )
        .bind(&customer)
        .bind(&channel)
        .fetch_optional(&self.store().pool)
        .await?;
        Ok((latest == Some(0)).then_some("the customer declined service messages on this channel"))
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
        let zone = tz
            .and_then(|t| Zone::parse("tz", &t).ok())
            .unwrap_or(Zone::KNOWN[0]);
        let channel = MessageChannel::parse("channel", &channel).unwrap_or(MessageChannel::Email);
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
