//! Customer-message pages (capability notify): which events tell the customer through which
//! channel, the wording per language with a preview, and the outbox with its dead letters.

use aftersales_domain::i18n::Language;
use aftersales_domain::notify::{Event, MessageChannel, Template, PLACEHOLDERS};
use aftersales_domain::org::Permission;
use aftersales_store::notify::{OutboxItem, RuleView, TemplateView};
use aftersales_store::StoreError;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{field, form_pairs, render, see_other, store_error, Chrome, FormErrors, SignedIn};
use crate::i18n::Tr;
use crate::AppState;

fn query(q: &Option<String>) -> Vec<(String, String)> {
    q.as_deref()
        .map(|q| form_pairs(q.as_bytes()))
        .unwrap_or_default()
}

/// Organisations whose customer messages the caller manages, by name.
async fn managed(state: &AppState, s: &SignedIn) -> Result<Vec<(String, String)>, StoreError> {
    let ids = s.caller.scope.orgs_with(Permission::NotifyManage);
    Ok(state
        .store
        .org()
        .list_organisations(&s.caller.scope, None, 200)
        .await?
        .items
        .into_iter()
        .filter(|o| ids.contains(&o.id))
        .map(|o| (o.id, o.name))
        .collect())
}

fn pick(orgs: &[(String, String)], wanted: &str) -> String {
    orgs.iter()
        .find(|(id, _)| id == wanted)
        .or(orgs.first())
        .map(|o| o.0.clone())
        .unwrap_or_default()
}

#[derive(askama::Template)]
#[template(path = "messages.html")]
struct RulesPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    orgs: Vec<(String, String)>,
    org: String,
    rows: Vec<(Event, RuleView, RuleView)>,
}

impl RulesPage<'_> {
    fn event(&self, e: &Event) -> String {
        self.t.t(&format!("event-{}", e.as_str()))
    }
    fn source(&self, r: &RuleView) -> String {
        match &r.set_at {
            Some(o) => self.t.t1("msg-set-at", "org", o),
            None => self.t.t("msg-built-in"),
        }
    }
}

pub async fn rules(State(state): State<AppState>, s: SignedIn, RawQuery(q): RawQuery) -> Response {
    let q = query(&q);
    let orgs = super::or_page!(state, &s.ctx, managed(&state, &s).await);
    let org = pick(&orgs, field(&q, "org"));
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    if org.is_empty() {
        return store_error(
            &state,
            &s.ctx,
            StoreError::Forbidden(Permission::NotifyManage.describe().into()),
        );
    }
    let list = match state
        .store
        .notify()
        .notification_rules(&s.caller.scope, &org)
        .await
    {
        Ok(l) => l,
        Err(e) => return store_error(&state, &s.ctx, e),
    };
    let rows = Event::ALL
        .iter()
        .filter_map(|e| {
            let of = |c: MessageChannel| {
                list.iter()
                    .find(|r| r.event == *e && r.channel == c)
                    .cloned()
            };
            Some((*e, of(MessageChannel::Email)?, of(MessageChannel::Sms)?))
        })
        .collect();
    render(&RulesPage {
        chrome: Chrome::new(&t, &s.ctx),
        orgs,
        org,
        rows,
        t,
    })
}

/// Saves the whole table of rules: a box per event and channel.
pub async fn save_rules(State(state): State<AppState>, s: SignedIn, body: Bytes) -> Response {
    let p = form_pairs(&body);
    let org = field(&p, "org").to_string();
    for e in Event::ALL {
        for c in MessageChannel::ALL {
            let on = p
                .iter()
                .any(|(k, _)| *k == format!("{}:{}", e.as_str(), c.as_str()));
            if let Err(err) = state
                .store
                .notify()
                .set_notification_rule(&s.caller.scope, &org, *e, *c, on, state.now())
                .await
            {
                return store_error(&state, &s.ctx, err);
            }
        }
    }
    see_other(&format!("/messages?org={org}"))
}

#[derive(askama::Template)]
#[template(path = "message_template.html")]
struct TemplatePage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    orgs: Vec<(String, String)>,
    org: String,
    event: Event,
    channel: MessageChannel,
    language: Language,
    current: TemplateView,
    subject: String,
    body: String,
    preview: Option<Template>,
    errors: FormErrors,
    saved: bool,
}

impl TemplatePage<'_> {
    fn events(&self) -> &'static [Event] {
        Event::ALL
    }
    fn channels(&self) -> &'static [MessageChannel] {
        MessageChannel::ALL
    }
    fn languages(&self) -> [Language; 3] {
        Language::ALL
    }
    /// The placeholders a template may use, each explained in the reader's language.
    fn placeholders(&self) -> Vec<(&'static str, String)> {
        PLACEHOLDERS
            .iter()
            .map(|(k, _)| (*k, self.t.t(&format!("placeholder-{k}"))))
            .collect()
    }
    fn event_name(&self, e: &Event) -> String {
        self.t.t(&format!("event-{}", e.as_str()))
    }
    fn channel_name(&self, c: &MessageChannel) -> String {
        self.t.t(&format!("msg-{}", c.as_str()))
    }
}

struct Key {
    org: String,
    event: Event,
    channel: MessageChannel,
    language: Language,
}

fn key(p: &[(String, String)], orgs: &[(String, String)]) -> Key {
    Key {
        org: pick(orgs, field(p, "org")),
        event: Event::parse("event", field(p, "event")).unwrap_or(Event::RoReady),
        channel: MessageChannel::parse("channel", field(p, "channel"))
            .unwrap_or(MessageChannel::Email),
        language: Language::from_tag(field(p, "language")).unwrap_or(Language::Nb),
    }
}

#[allow(clippy::too_many_arguments)]
async fn template_page(
    state: &AppState,
    s: &SignedIn,
    orgs: Vec<(String, String)>,
    k: Key,
    draft: Option<(String, String)>,
    preview: Option<Template>,
    errors: FormErrors,
    saved: bool,
    status: StatusCode,
) -> Response {
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let current = match state
        .store
        .notify()
        .notification_template(&s.caller.scope, &k.org, k.event, k.channel, k.language)
        .await
    {
        Ok(c) => c,
        Err(e) => return store_error(state, &s.ctx, e),
    };
    let (subject, body) = draft.unwrap_or_else(|| (current.subject.clone(), current.body.clone()));
    (
        status,
        render(&TemplatePage {
            chrome: Chrome::new(&t, &s.ctx),
            orgs,
            org: k.org,
            event: k.event,
            channel: k.channel,
            language: k.language,
            current,
            subject,
            body,
            preview,
            errors,
            saved,
            t,
        }),
    )
        .into_response()
}

pub async fn template(
    State(state): State<AppState>,
    s: SignedIn,
    RawQuery(q): RawQuery,
) -> Response {
    let q = query(&q);
    let orgs = super::or_page!(state, &s.ctx, managed(&state, &s).await);
    let k = key(&q, &orgs);
    template_page(
        &state,
        &s,
        orgs,
        k,
        None,
        None,
        FormErrors::default(),
        field(&q, "saved") == "1",
        StatusCode::OK,
    )
    .await
}

/// `action=preview` renders with sample values; `save` stores; `reset` goes back to the inherited wording.
pub async fn save_template(State(state): State<AppState>, s: SignedIn, body: Bytes) -> Response {
    let p = form_pairs(&body);
    let orgs = super::or_page!(state, &s.ctx, managed(&state, &s).await);
    let k = key(&p, &orgs);
    let (subject, text) = (
        field(&p, "subject").to_string(),
        field(&p, "body").to_string(),
    );
    let back = format!(
        "/messages/template?org={}&event={}&channel={}&language={}&saved=1",
        k.org,
        k.event.as_str(),
        k.channel.as_str(),
        k.language.code()
    );
    match field(&p, "action") {
        "preview" => {
            match aftersales_store::notify::preview(k.channel, k.language, &subject, &text) {
                Ok(pv) => {
                    template_page(
                        &state,
                        &s,
                        orgs,
                        k,
                        Some((subject, text)),
                        Some(pv),
                        FormErrors::default(),
                        false,
                        StatusCode::OK,
                    )
                    .await
                }
                Err(e) => {
                    template_page(
                        &state,
                        &s,
                        orgs,
                        k,
                        Some((subject, text)),
                        None,
                        FormErrors(e.0),
                        false,
                        StatusCode::UNPROCESSABLE_ENTITY,
                    )
                    .await
                }
            }
        }
        "reset" => match state
            .store
            .notify()
            .reset_notification_template(&s.caller.scope, &k.org, k.event, k.channel, k.language)
            .await
        {
            Ok(_) => see_other(&back),
            Err(e) => store_error(&state, &s.ctx, e),
        },
        _ => match state
            .store
            .notify()
            .set_notification_template(
                &s.caller.scope,
                &k.org,
                k.event,
                k.channel,
                k.language,
                &subject,
                &text,
                state.now(),
            )
            .await
        {
            Ok(_) => see_other(&back),
            Err(StoreError::Invalid(e)) => {
                template_page(
                    &state,
                    &s,
                    orgs,
                    k,
                    Some((subject, text)),
                    None,
                    FormErrors(e.0),
                    false,
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await
            }
            Err(e) => store_error(&state, &s.ctx, e),
        },
    }
}

#[derive(askama::Template)]
#[template(path = "outbox.html")]
struct OutboxPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    status: String,
    items: Vec<OutboxItem>,
    /// The next page of the outbox.
    next: Option<String>,
    /// The caller may send dead letters again (manages customer messages somewhere).
    manage: bool,
}

impl OutboxPage<'_> {
    fn label(&self, prefix: &str, code: &str) -> String {
        self.t.t(&format!("{prefix}-{code}"))
    }
}

pub async fn outbox(State(state): State<AppState>, s: SignedIn, RawQuery(q): RawQuery) -> Response {
    let q = query(&q);
    let status = Some(field(&q, "status"))
        .filter(|x| ["pending", "sent", "dead", "skipped"].contains(x))
        .map(str::to_string);
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    match state
        .store
        .notify()
        .outbox(
            &s.caller.scope,
            status.as_deref(),
            Some(field(&q, "cursor")).filter(|c| !c.is_empty()),
            super::PAGE_ROWS,
        )
        .await
    {
        Ok(page) => render(&OutboxPage {
            next: page
                .next_cursor
                .map(|c| super::next_page("/messages/outbox", &q, "cursor", &c)),
            items: page.items,
            chrome: Chrome::new(&t, &s.ctx),
            status: status.unwrap_or_default(),
            manage: !s
                .caller
                .scope
                .orgs_with(Permission::NotifyManage)
                .is_empty(),
            t,
        }),
        Err(e) => store_error(&state, &s.ctx, e),
    }
}

pub async fn retry(State(state): State<AppState>, s: SignedIn, Path(id): Path<String>) -> Response {
    match state
        .store
        .notify()
        .retry_outbox(&s.caller.scope, &id, state.now())
        .await
    {
        Ok(()) => see_other("/messages/outbox?status=dead"),
        Err(e) => store_error(&state, &s.ctx, e),
    }
}
