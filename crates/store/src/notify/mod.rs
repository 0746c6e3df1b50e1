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
use time::{Duration, OffsetDateTime};

use crate::db::placeholders;
use crate::error::StoreError;
use crate::scope::Scope;
use crate::{from_micros, micros, new_id};
pub use aftersales_api_types::notify::{OutboxItem, RuleView, TemplateView};

mod outbox;
mod rules;

crate::capability!(
    /// Customer messages: rules, templates and the outbox: `store.notify().outbox(..)`.
    Notify, notify
);

/// How long a claimed message is reserved for the worker that claimed it. Sending times out after
/// 20 seconds and a worker claims at most `limit` messages at once, well inside this.
const LEASE: Duration = Duration::minutes(15);

/// A calendar file for the booking mail.
pub(crate) struct CalendarFile {
    pub uid: String,
    /// How many times the appointment has been moved: the invitation's SEQUENCE.
    pub sequence: u32,
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
    pub summary: String,
    pub location: String,
}

/// Who a notice goes to and what it is about, filled in once by the capability that raises it:
/// the organisation that speaks, the customer, the record's number (case, repair order or
/// document) and, for a repair order, its vehicle, status-page token and ETA (empty otherwise).
pub(crate) struct Addressee {
    pub org_id: String,
    pub org_name: String,
    pub customer_id: String,
    pub number: String,
    pub token: String,
    pub vehicle: String,
    pub eta: Option<OffsetDateTime>,
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
    /// What a reminder is about (`item`): the service item, or the campaign's title.
    pub item: Option<String>,
    /// The day a service item is due (`due`).
    pub due: Option<time::Date>,
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

/// Writes a notice to a member of staff (an overdue corrective action, an expiring training) in
/// the caller's transaction: an e-mail in the person's language, to their address; a person
/// without one is recorded as skipped. Not about a customer, so no customer's rules or consent
/// apply. `dedupe` makes a retried change enqueue nothing twice.
pub(crate) async fn enqueue_staff(
    conn: &mut sqlx::AnyConnection,
    org_id: &str,
    user_id: &str,
    notice: aftersales_domain::notify::StaffNotice,
    vars: &[(&'static str, String)],
    dedupe: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let name: Option<(String, String)> =
        sqlx::query_as("SELECT display_name, language FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some((name, lang)) = name else {
        return Ok(());
    };
    let lang = Language::from_tag(&lang).unwrap_or(Language::En);
    let template = aftersales_domain::notify::staff_template(notice, lang);
    let mut map: BTreeMap<&str, String> = vars.iter().cloned().collect();
    map.insert("name", name);
    enqueue_staff_text(
        conn,
        org_id,
        user_id,
        notice.as_str(),
        (
            &render(&template.subject, &map),
            &render(&template.body, &map),
        ),
        dedupe,
        now,
    )
    .await
}

/// A message to a member of staff already worded (in their language) by the caller: e-mailed
/// through the outbox, once per `dedupe`; skipped, with the reason, without an e-mail address.
pub(crate) async fn enqueue_staff_text(
    conn: &mut sqlx::AnyConnection,
    org_id: &str,
    user_id: &str,
    event: &str,
    (subject, body): (&str, &str),
    dedupe: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let person: Option<(Option<String>, String)> =
        sqlx::query_as("SELECT email, language FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some((email, lang)) = person else {
        return Ok(());
    };
    sqlx::query(
        "INSERT INTO outbox (id, organisation_id, customer_id, repair_order_id, case_id, event, channel, recipient, language, subject, body, attachment_name, attachment, dedupe_key, status, attempts, not_before, lease_until, last_error, created_at, sent_at) \
         VALUES ($1, $2, NULL, NULL, NULL, $3, 'email', $4, $5, $6, $7, NULL, NULL, $8, $9, 0, $10, NULL, $11, $10, NULL) ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(new_id())
    .bind(org_id)
    .bind(event)
    .bind(email.as_deref())
    .bind(Language::from_tag(&lang).unwrap_or(Language::En).code())
    .bind(subject)
    .bind(body)
    .bind(format!("{dedupe}:{user_id}:email"))
    .bind(if email.is_some() { "pending" } else { "skipped" })
    .bind(micros(now))
    .bind(email.is_none().then_some("no-email"))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Writes the customer's messages for `n` in the caller's transaction: one per channel the
/// market's rules enable, in the customer's language, with the market's template or the
/// built-in one. A channel without address or consent is recorded as skipped, with the reason.
pub(crate) async fn enqueue(
    conn: &mut sqlx::AnyConnection,
    public_url: &str,
    n: &Notice<'_>,
    ctx: &Addressee,
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
    let zone = match tz {
        Some(t) => crate::decode("markets", "time_zone", &t, Zone::parse)?,
        None => Zone::OSLO,
    };
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
    vars.insert("item", n.item.clone().unwrap_or_default());
    vars.insert(
        "due",
        n.due
            .map(|d| aftersales_domain::notify::format_day(d, lang))
            .unwrap_or_default(),
    );
    vars.insert("book_link", format!("{base}/book"));
    for (k, t) in &n.extra {
        vars.insert(k, format_when(local(zone, *t), lang));
    }
    // A pickup or delivery window: the day and time it opens, to the time it closes.
    let at = |key: &str| n.extra.iter().find(|(k, _)| *k == key).map(|(_, t)| *t);
    vars.insert(
        "window",
        match (at("window_from"), at("window_to")) {
            (Some(a), Some(b)) => {
                let end = local(zone, b);
                format!(
                    "{}–{:02}:{:02}",
                    format_when(local(zone, a), lang),
                    end.hour(),
                    end.minute()
                )
            }
            _ => String::new(),
        },
    );
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
    // Offers (campaigns) go only to customers who agreed to them on the channel; service
    // messages to everyone who did not decline them.
    let offer = n.event == Event::Campaign;
    let consents: Vec<(String, i64)> = sqlx::query_as(
        "SELECT channel, granted FROM consents WHERE customer_id = $1 AND purpose = $2 ORDER BY at DESC, id DESC",
    )
    .bind(&ctx.customer_id)
    .bind(if offer { "marketing" } else { "service" })
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
        let latest = consents.iter().find(|(c, _)| c == channel.as_str());
        let refused = if offer {
            latest.is_none_or(|(_, g)| *g != 1)
        } else {
            latest.is_some_and(|(_, g)| *g == 0)
        };
        use aftersales_domain::notify::SkipReason;
        let skip = if erased.is_some() {
            Some(SkipReason::Erased)
        } else if recipient.is_none() {
            Some(match channel {
                MessageChannel::Email => SkipReason::NoEmail,
                MessageChannel::Sms => SkipReason::NoPhone,
            })
        } else if refused && offer {
            Some(SkipReason::NoOfferConsent)
        } else if refused {
            Some(SkipReason::DeclinedService)
        } else {
            None
        };
        let (att_name, att) = match (&n.calendar, channel) {
            (Some(c), MessageChannel::Email) => (
                Some("appointment.ics".to_string()),
                Some(icalendar(&CalendarEvent {
                    uid: &c.uid,
                    sequence: c.sequence,
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
            // The invoice's PDF is rendered when the mail goes out, from the issued (immutable)
            // document; the signed loaner agreement goes as kept with the repair order.
            (None, MessageChannel::Email) => {
                let prefix = match n.event {
                    Event::InvoiceIssued | Event::CreditNoteIssued => Some(""),
                    Event::LoanerAgreement => Some("loaner-agreement-"),
                    _ => None,
                };
                let file: String = ctx
                    .number
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || c == '-' {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect();
                match prefix {
                    Some(p) => (Some(format!("{p}{file}.pdf")), Some(n.dedupe.clone())),
                    None => (None, None),
                }
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
        .bind(skip.map(|r| r.as_str()))
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
            "item",
            match lang {
                Language::Nb => "årlig service",
                Language::En => "annual service",
                Language::Pt => "revisão anual",
            }
            .to_string(),
        ),
        (
            "due",
            aftersales_domain::notify::format_day(when.date(), lang),
        ),
        ("book_link", "https://service.example/book".to_string()),
        (
            "survey_link",
            "https://service.example/survey/abc123".to_string(),
        ),
    ])
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
