//! Goodwill as people work it: the requests (those I may decide, all I see), the quarter's budget
//! per market, the policy matrix in force; a request made from a repair-order job with the
//! policy's proposal; the request's page where the person deciding approves (at the proposal, or
//! other shares with a reason), passes it up when the amount is above their authority, or
//! rejects; the customer's share then on the repair order's lines.

use aftersales_domain::org::Permission;
use aftersales_domain::warranty::goodwill::{ComponentGroup, GoodwillStatus, Policy};
use aftersales_store::warranty::{
    ClaimOffer, GoodwillBudget, GoodwillDecision, GoodwillInput, GoodwillRequest,
};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{
    field, form_pairs, render, see_other, store_error, Chrome, FormErrors, Sent, SignedIn,
};
use crate::i18n::Tr;
use crate::AppState;

fn status_word(t: &Tr<'_>, s: GoodwillStatus) -> String {
    t.t(&format!("gw-status-{}", s.as_str()))
}

fn role_word(t: &Tr<'_>, r: aftersales_domain::org::Role) -> String {
    t.t(&format!("role-{}", r.as_str()))
}

#[derive(Template)]
#[template(path = "goodwill.html")]
struct ListPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    view: String,
    requests: Vec<GoodwillRequest>,
    budgets: Vec<GoodwillBudget>,
    /// The policy in force where the reader works (the first market they reach).
    policy: Option<Policy>,
}

impl ListPage<'_> {
    fn status(&self, g: &GoodwillRequest) -> String {
        status_word(&self.t, g.status)
    }
    fn level(&self, g: &GoodwillRequest) -> String {
        role_word(&self.t, g.level)
    }
    fn group(&self, g: &ComponentGroup) -> String {
        self.t.t(&format!("gw-group-{}", g.as_str()))
    }
    fn groups(&self, gs: &[ComponentGroup]) -> String {
        if gs.is_empty() {
            self.t.t("gw-group-all")
        } else {
            gs.iter()
                .map(|g| self.group(g))
                .collect::<Vec<_>>()
                .join(", ")
        }
    }
    fn years(&self, months: &u32) -> String {
        self.t.t1("gw-years", "years", &(months / 12).to_string())
    }
    fn km(&self, km: &i64) -> String {
        self.t.int(*km)
    }
}

/// `/warranty/goodwill`: requests, budgets, the policy.
pub async fn list(State(state): State<AppState>, s: SignedIn, RawQuery(q): RawQuery) -> Response {
    let q = form_pairs(q.unwrap_or_default().as_bytes());
    let view = if field(&q, "view") == "all" {
        "all"
    } else {
        "mine"
    };
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let w = state.store.warranty();
    let requests = match w
        .goodwill_requests(&s.caller.scope, view == "mine", None, None)
        .await
    {
        Ok(r) => r,
        Err(e) => return store_error(&state, &s.ctx, e),
    };
    let budgets = match w
        .goodwill_budgets(&s.caller.scope, state.now().date())
        .await
    {
        Ok(b) => b,
        Err(e) => return store_error(&state, &s.ctx, e),
    };
    let policy = match s.caller.scope.orgs_with(Permission::WarrantyRead).first() {
        Some(org) => match w.goodwill_policy(&s.caller.scope, org).await {
            Ok(p) => Some(p),
            Err(aftersales_store::StoreError::NotFound) => None,
            Err(e) => return store_error(&state, &s.ctx, e),
        },
        None => None,
    };
    render(&ListPage {
        chrome: Chrome::new(&t, &s.ctx),
        view: view.into(),
        requests,
        budgets,
        policy,
        t,
    })
}

/// What a new request is asked on, as its page shows it.
enum AskedOn {
    /// A repair-order job: its lines are the amounts.
    Job(Box<ClaimOffer>),
    /// A case before the order exists: the advisor gives an estimate.
    Case {
        case: Box<aftersales_store::cases::Case>,
        vin: Option<String>,
        odometer_km: Option<i64>,
        currency: String,
    },
}

#[derive(Template)]
#[template(path = "goodwill_new.html")]
struct NewPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    on: AskedOn,
    groups: &'static [ComponentGroup],
    errors: FormErrors,
    sent: Sent,
}

impl NewPage<'_> {
    fn offer(&self) -> Option<&ClaimOffer> {
        match &self.on {
            AskedOn::Job(o) => Some(o),
            AskedOn::Case { .. } => None,
        }
    }
    fn case(&self) -> Option<&aftersales_store::cases::Case> {
        match &self.on {
            AskedOn::Case { case, .. } => Some(case),
            AskedOn::Job(_) => None,
        }
    }
    fn vin(&self) -> Option<&str> {
        match &self.on {
            AskedOn::Job(o) => o.vin.as_deref(),
            AskedOn::Case { vin, .. } => vin.as_deref(),
        }
    }
    /// The currency an estimate is given in (a case's).
    fn currency(&self) -> &str {
        match &self.on {
            AskedOn::Case { currency, .. } => currency,
            AskedOn::Job(_) => "",
        }
    }
    fn group(&self, g: &ComponentGroup) -> String {
        self.t.t(&format!("gw-group-{}", g.as_str()))
    }
    fn km(&self) -> String {
        let known = match &self.on {
            AskedOn::Job(o) => o.odometer_km,
            AskedOn::Case { odometer_km, .. } => *odometer_km,
        };
        self.sent
            .or(
                "goodwill",
                "odometer_km",
                &known.map(|k| k.to_string()).unwrap_or_default(),
            )
            .to_string()
    }
}

/// A job (`job=`) or a case (`case=`) the request is asked on.
enum Target<'a> {
    Job(&'a str),
    Case(&'a str),
}

async fn new_page(
    state: &AppState,
    s: &SignedIn,
    target: Target<'_>,
    errors: FormErrors,
    sent: Sent,
    status: StatusCode,
) -> Response {
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let on = match target {
        Target::Job(job) => match state
            .store
            .warranty()
            .claim_offer(&s.caller.scope, job)
            .await
        {
            Ok(o) => AskedOn::Job(Box::new(o)),
            Err(e) => return store_error(state, &s.ctx, e),
        },
        Target::Case(id) => {
            let case = match state
                .store
                .cases()
                .get_case(&s.caller.scope, id, state.now())
                .await
            {
                Ok(c) => c,
                Err(e) => return store_error(state, &s.ctx, e),
            };
            let (vin, odometer_km) = match &case.vehicle {
                Some(v) => match state.store.crm().get_vehicle(&s.caller.scope, &v.id).await {
                    Ok(v) => (Some(v.vin.clone()), v.odometer.first().map(|r| r.km)),
                    Err(e) => return store_error(state, &s.ctx, e),
                },
                None => (None, None),
            };
            let currency = match state
                .store
                .workshop()
                .currency_of(&case.organisation.id)
                .await
            {
                Ok(c) => c,
                Err(e) => return store_error(state, &s.ctx, e),
            };
            AskedOn::Case {
                case: Box::new(case),
                vin,
                odometer_km,
                currency,
            }
        }
    };
    (
        status,
        render(&NewPage {
            chrome: Chrome::new(&t, &s.ctx),
            on,
            groups: ComponentGroup::ALL,
            errors,
            sent,
            t,
        }),
    )
        .into_response()
}

/// `/warranty/goodwill/new?job=…`
pub async fn new_request(
    State(state): State<AppState>,
    s: SignedIn,
    RawQuery(q): RawQuery,
) -> Response {
    let q = form_pairs(q.unwrap_or_default().as_bytes());
    let target = if field(&q, "case").is_empty() {
        Target::Job(field(&q, "job"))
    } else {
        Target::Case(field(&q, "case"))
    };
    new_page(
        &state,
        &s,
        target,
        FormErrors::default(),
        Sent::default(),
        StatusCode::OK,
    )
    .await
}

pub async fn create(State(state): State<AppState>, s: SignedIn, body: Bytes) -> Response {
    let p = form_pairs(&body);
    let km = field(&p, "odometer_km")
        .trim()
        .replace([' ', '.', '\u{a0}', ','], "");
    let opt = |n: &str| Some(field(&p, n).trim().to_string()).filter(|v| !v.is_empty());
    let input = GoodwillInput {
        job_id: opt("job_id"),
        case_id: opt("case_id"),
        parts_amount: opt("parts_amount"),
        labour_amount: opt("labour_amount"),
        component_group: field(&p, "component_group").to_string(),
        odometer_km: if km.is_empty() {
            None
        } else {
            Some(km.parse::<i64>().unwrap_or(-1))
        },
        network_history: Some(field(&p, "network_history") == "yes"),
        first_owner: Some(field(&p, "first_owner") == "yes"),
        note: Some(field(&p, "note").to_string()).filter(|n| !n.trim().is_empty()),
    };
    let r = state
        .store
        .warranty()
        .request_goodwill(&s.caller.scope, &input, state.now())
        .await;
    let (job, case) = (field(&p, "job_id"), field(&p, "case_id"));
    let target = if case.is_empty() {
        Target::Job(job)
    } else {
        Target::Case(case)
    };
    super::answer(
        &state,
        &s,
        r,
        |g| see_other(&format!("/warranty/goodwill/{}?done=requested", g.id)),
        |errors| {
            new_page(
                &state,
                &s,
                target,
                errors,
                Sent::new("goodwill", p.clone()),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        },
    )
    .await
}

#[derive(Template)]
#[template(path = "goodwill_request.html")]
struct RequestPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    g: GoodwillRequest,
    zone: aftersales_domain::calendar::Zone,
    errors: FormErrors,
    sent: Sent,
    done: String,
    ro_link: bool,
}

impl RequestPage<'_> {
    fn status(&self) -> String {
        status_word(&self.t, self.g.status)
    }
    fn level(&self) -> String {
        role_word(&self.t, self.g.level)
    }
    fn group(&self) -> String {
        self.t
            .t(&format!("gw-group-{}", self.g.component_group.as_str()))
    }
    fn money(&self, minor: &i64) -> String {
        self.t.money(&aftersales_domain::money::Money::new(
            *minor,
            &self.g.currency,
        ))
    }
    fn m(&self, m: &aftersales_domain::money::Money) -> String {
        self.t.money(m)
    }
    fn km(&self) -> String {
        self.t.int(self.g.odometer_km)
    }
    fn age(&self) -> String {
        self.t.with(
            "gw-age",
            &[
                ("years", &(self.g.age_months / 12).to_string()),
                ("months", &(self.g.age_months % 12).to_string()),
            ],
        )
    }
    fn no_goodwill(&self) -> Option<String> {
        self.g
            .no_goodwill
            .as_ref()
            .map(|w| self.t.t(&format!("gw-none-{w}")))
    }
    fn pct(&self, name: &str, current: &i64) -> String {
        let sent = self.sent.get("decide", name);
        if sent.is_empty() {
            current.to_string()
        } else {
            sent.to_string()
        }
    }
    fn when(&self, at: &time::OffsetDateTime) -> String {
        super::local_time(self.zone, *at)
    }
    fn shares(&self, parts: i64, labour: i64) -> String {
        self.t.with(
            "gw-proposal-text",
            &[
                ("parts", &parts.to_string()),
                ("labour", &labour.to_string()),
            ],
        )
    }
    fn event_shares(&self, e: &aftersales_store::warranty::GoodwillEvent) -> String {
        match (e.parts_pct, e.labour_pct) {
            (Some(p), Some(l)) => format!(" · {}", self.shares(p, l)),
            _ => String::new(),
        }
    }
    fn action(&self, a: &str) -> String {
        self.t.t(&format!("gw-action-{a}"))
    }
    fn role(&self, r: &Option<aftersales_domain::org::Role>) -> String {
        r.map(|r| format!(" ({})", role_word(&self.t, r)))
            .unwrap_or_default()
    }
    fn done_text(&self) -> Option<String> {
        ["requested", "approve", "recommend", "reject", "apply"]
            .contains(&self.done.as_str())
            .then(|| self.t.t(&format!("gw-done-{}", self.done)))
    }
}

async fn request_page(
    state: &AppState,
    s: &SignedIn,
    id: &str,
    (errors, sent): (FormErrors, Sent),
    status: StatusCode,
    done: String,
) -> Response {
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let g = match state
        .store
        .warranty()
        .goodwill_request(&s.caller.scope, id)
        .await
    {
        Ok(g) => g,
        Err(e) => return store_error(state, &s.ctx, e),
    };
    let zone = match super::reader_zone(state, s).await {
        Ok(z) => z,
        Err(e) => return store_error(state, &s.ctx, e),
    };
    let ro_link = s
        .caller
        .scope
        .permits(&g.organisation.id, Permission::CrmRead);
    (
        status,
        render(&RequestPage {
            chrome: Chrome::new(&t, &s.ctx),
            g,
            zone,
            errors,
            sent,
            done,
            ro_link,
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
    let q = form_pairs(q.unwrap_or_default().as_bytes());
    let done = field(&q, "done").to_string();
    request_page(&state, &s, &id, Default::default(), StatusCode::OK, done).await
}

pub async fn decide(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let pct = |n: &str| {
        let v = field(&p, n).trim().trim_end_matches('%').trim();
        (!v.is_empty()).then(|| v.parse::<i64>().unwrap_or(-1))
    };
    let opt = |n: &str| Some(field(&p, n).trim().to_string()).filter(|v| !v.is_empty());
    let input = GoodwillDecision {
        action: field(&p, "action").to_string(),
        parts_pct: pct("parts_pct"),
        labour_pct: pct("labour_pct"),
        deviation_reason: opt("deviation_reason"),
        note: opt("note"),
    };
    let version = field(&p, "version").parse::<i64>().unwrap_or(0);
    let r = state
        .store
        .warranty()
        .decide_goodwill(&s.caller.scope, &id, version, &input, state.now())
        .await;
    let back_id = id.clone();
    super::answer(
        &state,
        &s,
        r,
        |g| {
            let done = match g.status {
                GoodwillStatus::Approved => "approve",
                GoodwillStatus::Rejected => "reject",
                GoodwillStatus::Pending => "recommend",
            };
            see_other(&format!("/warranty/goodwill/{back_id}?done={done}"))
        },
        |errors| {
            request_page(
                &state,
                &s,
                &id,
                (errors, Sent::new("decide", p.clone())),
                StatusCode::UNPROCESSABLE_ENTITY,
                String::new(),
            )
        },
    )
    .await
}

/// `POST /warranty/goodwill/{id}/job`: an approved request from a case applied to a job of the
/// case's repair order.
pub async fn apply(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let version = field(&p, "version").parse::<i64>().unwrap_or(0);
    let r = state
        .store
        .warranty()
        .apply_goodwill(
            &s.caller.scope,
            &id,
            version,
            field(&p, "job_id"),
            state.now(),
        )
        .await;
    let back_id = id.clone();
    super::answer(
        &state,
        &s,
        r,
        |_| see_other(&format!("/warranty/goodwill/{back_id}?done=apply")),
        |errors| {
            request_page(
                &state,
                &s,
                &id,
                (errors, Sent::new("apply", p.clone())),
                StatusCode::UNPROCESSABLE_ENTITY,
                String::new(),
            )
        },
    )
    .await
}
