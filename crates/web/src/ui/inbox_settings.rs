//! The inbox's settings page of an organisation (its administrators): opening hours, SLA targets,
//! the mail addresses that feed the inbox and the public web form. Each form comes back with what
//! was typed and the message at the field when something is wrong.

use aftersales_domain::cases::{Category, Priority};
use aftersales_domain::org::Permission;
use aftersales_domain::validation::{FieldError, Rule};
use aftersales_domain::ValidationErrors;
use aftersales_store::cases::InboxSettings;
use aftersales_store::StoreError;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use time::Time;

use super::{field, form_pairs, render, store_error, Chrome, FormErrors, Sent, SignedIn};
use crate::i18n::Tr;
use crate::AppState;

#[derive(Template)]
#[template(path = "inbox_settings.html")]
struct SettingsPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    org_id: String,
    org_name: String,
    settings: InboxSettings,
    /// The working procedures that cover this organisation's intake.
    rules: Vec<aftersales_store::cases::RoutingRule>,
    /// Parties of the same brand a category can be routed to: (id, name).
    targets: Vec<(String, String)>,
    categories: &'static [Category],
    /// Opening and closing time per weekday (0 = Monday), empty when closed.
    week: Vec<(u8, String, String)>,
    /// The built-in hours apply: none of the organisation's own are set.
    default_hours: bool,
    errors: FormErrors,
    sent: Sent,
    done: Option<String>,
}

impl SettingsPage<'_> {
    fn label(&self, prefix: &str, code: &str) -> String {
        self.t.t(&format!("{prefix}-{code}"))
    }
    /// A field of the form that came back, else the saved value.
    fn val(&self, form: &str, name: &str, saved: &str) -> String {
        self.sent.or(form, name, saved).to_string()
    }
}

const DONE: &[&str] = &[
    "hours",
    "sla",
    "address",
    "web",
    "routing",
    "routing-removed",
];

async fn page(
    state: &AppState,
    s: &SignedIn,
    id: &str,
    (errors, sent): (FormErrors, Sent),
    status: StatusCode,
    done: Option<&str>,
) -> Response {
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let org = match state
        .store
        .org()
        .get_organisation(&s.caller.scope, id)
        .await
    {
        Ok(o) => o,
        Err(e) => return store_error(state, &s.ctx, e),
    };
    let settings = match state
        .store
        .cases()
        .inbox_settings(&s.caller.scope, id)
        .await
    {
        Ok(x) => x,
        Err(e) => return store_error(state, &s.ctx, e),
    };
    let rules = match state.store.cases().routing_rules(&s.caller.scope).await {
        Ok(r) => r
            .into_iter()
            .filter(|r| r.organisation.id == org.id)
            .collect(),
        Err(e) => return store_error(state, &s.ctx, e),
    };
    let targets = match state.store.org().all_organisations(&s.caller.scope).await {
        Ok(all) => all
            .into_iter()
            .filter(|o| o.brand.id == org.brand.id && o.id != org.id)
            .map(|o| (o.id, o.name))
            .collect(),
        Err(e) => return store_error(state, &s.ctx, e),
    };
    let default_hours = settings.opening_hours.is_empty();
    let week = (0u8..7)
        .map(
            |d| match settings.opening_hours.iter().find(|p| p.weekday == d) {
                Some(p) => (d, p.opens.clone(), p.closes.clone()),
                None if default_hours && d < 5 => (d, "08:00".into(), "16:00".into()),
                None => (d, String::new(), String::new()),
            },
        )
        .collect();
    let done = done
        .filter(|d| DONE.contains(d))
        .map(|d| t.t(&format!("done-inbox-{d}")));
    (
        status,
        render(&SettingsPage {
            chrome: Chrome::new(&t, &s.ctx),
            org_id: org.id,
            org_name: org.name,
            settings,
            rules,
            targets,
            categories: Category::ALL,
            week,
            default_hours,
            errors,
            sent,
            done,
            t,
        }),
    )
        .into_response()
}

pub async fn show(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let q = super::form_pairs(q.unwrap_or_default().as_bytes());
    let done = Some(field(&q, "done")).filter(|d| !d.is_empty());
    page(&state, &s, &id, Default::default(), StatusCode::OK, done).await
}

async fn after(
    state: &AppState,
    s: &SignedIn,
    id: &str,
    r: Result<(), StoreError>,
    (done, form, typed): (&str, &str, Vec<(String, String)>),
) -> Response {
    let ok = format!("/organisations/{id}/inbox-settings?done={done}");
    super::after_form(state, s, r, &ok, |errors| {
        page(
            state,
            s,
            id,
            (errors, Sent::new(form, typed)),
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
        )
    })
    .await
}

fn time_of(s: &str) -> Option<Time> {
    let (h, m) = s.trim().split_once(':')?;
    Time::from_hms(h.parse().ok()?, m.parse().ok()?, 0).ok()
}

/// One opening period per weekday; a day with neither time is closed.
pub async fn hours(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let mut errs = ValidationErrors::default();
    let mut week = Vec::new();
    for d in 0u8..7 {
        let (o, c) = (
            field(&p, &format!("opens.{d}")),
            field(&p, &format!("closes.{d}")),
        );
        match (o.trim().is_empty(), c.trim().is_empty()) {
            (true, true) => {}
            (false, false) => match (time_of(o), time_of(c)) {
                (Some(a), Some(b)) if a < b => week.push((d, a, b)),
                (Some(_), Some(_)) => errs.push(FieldError::new(
                    format!("closes.{d}"),
                    Rule::NotAllowed,
                    "closing must come after opening",
                )),
                (None, _) => errs.push(FieldError::new(
                    format!("opens.{d}"),
                    Rule::Format,
                    "opens must be a time like 08:00",
                )),
                (_, None) => errs.push(FieldError::new(
                    format!("closes.{d}"),
                    Rule::Format,
                    "closes must be a time like 16:00",
                )),
            },
            (true, false) => errs.push(FieldError::new(
                format!("opens.{d}"),
                Rule::Required,
                "a day with a closing time needs its opening time",
            )),
            (false, true) => errs.push(FieldError::new(
                format!("closes.{d}"),
                Rule::Required,
                "a day with an opening time needs its closing time",
            )),
        }
    }
    let r = match errs.into_result() {
        Ok(()) => {
            state
                .store
                .cases()
                .set_opening_hours(&s.caller.scope, &id, &week)
                .await
        }
        Err(e) => Err(e.into()),
    };
    after(&state, &s, &id, r, ("hours", "hours", p)).await
}

/// The SLA targets of every category and priority; only those changed become the organisation's own.
pub async fn sla(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let current = match state
        .store
        .cases()
        .inbox_settings(&s.caller.scope, &id)
        .await
    {
        Ok(x) => x.sla,
        Err(e) => return store_error(&state, &s.ctx, e),
    };
    let mut errs = ValidationErrors::default();
    let mut changed = Vec::new();
    for (i, c) in Category::ALL.iter().enumerate() {
        for (j, pr) in Priority::ALL.iter().enumerate() {
            let key = format!("{}.{}", c.as_str(), pr.as_str());
            let read = |name: &str| {
                field(&p, &format!("{name}.{key}"))
                    .trim()
                    .parse::<i64>()
                    .ok()
            };
            let (fr, res) = (read("fr"), read("res"));
            let n = i * Priority::ALL.len() + j;
            match (fr, res) {
                (Some(fr), Some(res)) => {
                    let now = current
                        .iter()
                        .find(|t| t.category == c.as_str() && t.priority == pr.as_str());
                    if now.is_none_or(|t| {
                        t.first_response_minutes != fr || t.resolution_minutes != res
                    }) {
                        changed.push((*c, *pr, fr, res));
                    }
                }
                (None, _) => errs.push(FieldError::new(
                    format!("sla.{n}.first_response_minutes"),
                    Rule::Format,
                    "first_response_minutes must be a whole number of minutes",
                )),
                (_, None) => errs.push(FieldError::new(
                    format!("sla.{n}.resolution_minutes"),
                    Rule::Format,
                    "resolution_minutes must be a whole number of minutes",
                )),
            }
        }
    }
    let r = match errs.into_result() {
        Ok(()) if changed.is_empty() => Ok(()),
        Ok(()) => {
            state
                .store
                .cases()
                .set_sla_policies(&s.caller.scope, &id, &changed)
                .await
        }
        Err(e) => Err(e.into()),
    };
    after(&state, &s, &id, r, ("sla", "sla", p)).await
}

/// The working procedure of one category: its cases go to another party of the brand, with that
/// party's own targets when given (both or neither).
pub async fn routing(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let mut errs = ValidationErrors::default();
    let category = errs.take(Category::parse("category", field(&p, "category")));
    let minutes = |name: &str| {
        let v = field(&p, name).trim();
        (!v.is_empty()).then(|| v.parse::<i64>().ok())
    };
    let targets = match (
        minutes("first_response_minutes"),
        minutes("resolution_minutes"),
    ) {
        (None, None) => None,
        (Some(Some(f)), Some(Some(r))) => Some((f, r)),
        (Some(None), _) => {
            errs.push(FieldError::new(
                "first_response_minutes",
                Rule::Format,
                "first_response_minutes must be a whole number of minutes",
            ));
            None
        }
        _ => {
            errs.push(FieldError::new(
                "resolution_minutes",
                Rule::Format,
                "give both targets in whole minutes, or neither",
            ));
            None
        }
    };
    let r = match (errs.into_result(), category) {
        (Ok(()), Some(category)) => state
            .store
            .cases()
            .set_routing_rule(
                &s.caller.scope,
                &id,
                category,
                field(&p, "target_organisation_id"),
                targets,
                state.now(),
            )
            .await
            .map(|_| ()),
        (Err(e), _) => Err(e.into()),
        (Ok(()), None) => Err(StoreError::Internal("validated category lost".into())),
    };
    after(&state, &s, &id, r, ("routing", "routing", p)).await
}

/// Ends the working procedure of one category (a button on its row).
pub async fn remove_routing(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let r = match Category::parse("category", field(&p, "category")) {
        Ok(category) => {
            state
                .store
                .cases()
                .remove_routing_rule(&s.caller.scope, &id, category)
                .await
        }
        Err(e) => Err(ValidationErrors::from(e).into()),
    };
    after(&state, &s, &id, r, ("routing-removed", "routing", p)).await
}

pub async fn address(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let r = state
        .store
        .cases()
        .add_inbound_address(&s.caller.scope, &id, field(&p, "address"))
        .await;
    after(&state, &s, &id, r, ("address", "address", p)).await
}

pub async fn web_intake(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let r = state
        .store
        .cases()
        .set_web_intake(&s.caller.scope, &id, field(&p, "on") == "yes")
        .await;
    after(&state, &s, &id, r, ("web", "web", p)).await
}

/// Whether the caller administers the organisation's inbox (the link on the organisation's page).
pub fn manages(s: &SignedIn, org_id: &str) -> bool {
    s.caller.scope.permits(org_id, Permission::OrgManage)
}
