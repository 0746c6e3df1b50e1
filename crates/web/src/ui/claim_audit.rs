//! The risk-based audit of service points as the market manager works it (`/warranty/audit`):
//! the service points ranked by risk over the last 12 months, each rule's hits linked to the
//! claims behind them, the rules with their thresholds and weights (changed in place), a button
//! that proposes an audit sample for a service point, and the audit itself
//! (`/warranty/audits/{id}`): the claims to inspect in priority order, with what was found on each
//! (accepted, or charged back with an amount and a reason).

use aftersales_domain::analysis::audit::{ChargebackReason, RedFlag};
use aftersales_domain::money::Money;
use aftersales_domain::validation::{FieldError, Rule};
use aftersales_domain::ValidationErrors;
use aftersales_store::warranty::{
    Audit, AuditProposal, AuditResultInput, AuditRuleInput, AuditSummary, FlaggedClaim,
    RiskOverview, AUDIT_MONTHS,
};
use aftersales_store::StoreError;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::{
    field, form_pairs, render, see_other, store_error, Chrome, FormErrors, Sent, SignedIn,
};
use crate::i18n::Tr;
use crate::AppState;

#[derive(Template)]
#[template(path = "warranty_audit.html")]
struct Page<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    risk: RiskOverview,
    audits: Vec<AuditSummary>,
    errors: FormErrors,
    sent: Sent,
    done: Option<String>,
}

impl Page<'_> {
    fn risk_def(&self) -> String {
        self.t.with(
            "au-risk-def",
            &[
                ("from", self.t.date(&self.risk.from).as_str()),
                ("to", self.t.date(&self.risk.to).as_str()),
            ],
        )
    }
    fn flag(&self, f: &RedFlag) -> String {
        self.t.t(&format!("au-flag-{}", f.as_str()))
    }
    fn flag_def(&self, f: &RedFlag) -> String {
        self.t.t(&format!("au-def-{}", f.as_str()))
    }
    fn unit(&self, u: &str) -> String {
        self.t.t(&format!("au-unit-{u}"))
    }
    fn flags(&self) -> Vec<RedFlag> {
        self.risk
            .rules
            .iter()
            .map(|r| r.setting.flag)
            .filter(|f| *f != RedFlag::PeerOutlier)
            .collect()
    }
    fn hits(&self, row: &aftersales_store::warranty::PointRiskRow, f: &RedFlag) -> i64 {
        row.hits
            .iter()
            .find(|h| h.flag == *f)
            .map_or(0, |h| h.claims)
    }
    fn d(&self, v: &f64, places: usize) -> String {
        self.t.dec(*v, places)
    }
    fn pct(&self, v: &Option<f64>) -> String {
        v.map_or_else(|| "–".into(), |v| format!("{} %", self.t.dec(v, 1)))
    }
    fn money(&self, m: &Money) -> String {
        self.t.money(m)
    }
    fn outlier(&self, key: &str) -> String {
        self.t.t(&format!("au-outlier-{key}"))
    }
    fn when(&self, at: &time::OffsetDateTime) -> String {
        self.t.date(&at.date().to_string())
    }
    fn value<'b>(&'b self, rule: &RedFlag, name: &str, current: &'b str) -> &'b str {
        self.sent
            .or(&format!("rule:{}", rule.as_str()), name, current)
    }
}

/// `/warranty/audit`
pub async fn page(State(state): State<AppState>, s: SignedIn, RawQuery(q): RawQuery) -> Response {
    let q = form_pairs(q.unwrap_or_default().as_bytes());
    let done = (field(&q, "done") == "rule").then(|| "rule".to_string());
    show(
        &state,
        &s,
        FormErrors::default(),
        Sent::default(),
        done,
        StatusCode::OK,
    )
    .await
}

async fn show(
    state: &AppState,
    s: &SignedIn,
    errors: FormErrors,
    sent: Sent,
    done: Option<String>,
    status: StatusCode,
) -> Response {
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let w = state.store.warranty();
    let scope = &s.caller.scope;
    let risk = match w.risk(scope, state.now().date(), AUDIT_MONTHS).await {
        Ok(r) => r,
        Err(e) => return store_error(state, &s.ctx, e),
    };
    let audits = match w.audits(scope).await {
        Ok(a) => a,
        Err(e) => return store_error(state, &s.ctx, e),
    };
    let mut r = render(&Page {
        chrome: Chrome::new(&t, &s.ctx),
        risk,
        audits,
        errors,
        sent,
        done: done.map(|d| t.t(&format!("au-done-{d}"))),
        t,
    });
    *r.status_mut() = status;
    r
}

/// `POST /warranty/audit/rules/{rule}`: a rule's threshold, weight, on or off.
pub async fn set_rule(
    State(state): State<AppState>,
    s: SignedIn,
    Path(rule): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let mut typed = ValidationErrors::default();
    let mut num = |n: &str| {
        let v = field(&p, n).trim();
        if v.is_empty() {
            return None;
        }
        let parsed = v.parse::<i64>().ok();
        if parsed.is_none() {
            typed.push(
                FieldError::new(n, Rule::Format, format!("{n} must be a whole number"))
                    .hint("au-err-whole-number"),
            );
        }
        parsed
    };
    let input = AuditRuleInput {
        threshold: num("threshold"),
        weight: num("weight"),
        enabled: Some(field(&p, "enabled") == "on"),
    };
    let r = if typed.0.is_empty() {
        state
            .store
            .warranty()
            .set_audit_rule(&s.caller.scope, &rule, &input, state.now())
            .await
    } else {
        Err(StoreError::Invalid(typed))
    };
    let form = format!("rule:{rule}");
    super::answer(
        &state,
        &s,
        r,
        |_| see_other("/warranty/audit?done=rule#rules"),
        |errors| {
            show(
                &state,
                &s,
                errors,
                Sent::new(form, p.clone()),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        },
    )
    .await
}

/// `POST /warranty/audits`: proposes an audit sample of a service point.
pub async fn propose(State(state): State<AppState>, s: SignedIn, body: Bytes) -> Response {
    let p = form_pairs(&body);
    let input = AuditProposal {
        service_point_id: field(&p, "service_point_id").to_string(),
        months: None,
        confidence_pct: None,
        min_bad_rate_pct: None,
    };
    let r = state
        .store
        .warranty()
        .propose_audit(&s.caller.scope, &input, state.now())
        .await;
    super::answer(
        &state,
        &s,
        r,
        |a| see_other(&format!("/warranty/audits/{}", a.id)),
        |errors| {
            show(
                &state,
                &s,
                errors,
                Sent::new("propose", p.clone()),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        },
    )
    .await
}

#[derive(Template)]
#[template(path = "warranty_audit_point.html")]
struct PointPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    name: String,
    flag: Option<RedFlag>,
    claims: Vec<FlaggedClaim>,
    /// How many claims the rule hits in all (the page lists the newest [`POINT_ROWS`]).
    total: i64,
}

/// Claims listed on a service point's page, newest first.
const POINT_ROWS: i64 = 200;

impl PointPage<'_> {
    fn shown(&self) -> String {
        let shown = self.t.int(self.claims.len() as i64);
        let total = self.t.int(self.total);
        self.t.with(
            "au-point-shown",
            &[("shown", shown.as_str()), ("total", total.as_str())],
        )
    }
    fn title(&self) -> String {
        match &self.flag {
            Some(f) => self.t.with(
                "au-point-flag-title",
                &[
                    ("point", self.name.as_str()),
                    ("rule", self.flag_name(f).as_str()),
                ],
            ),
            None => self.t.t1("au-point-title", "point", &self.name),
        }
    }
    fn flag_name(&self, f: &RedFlag) -> String {
        self.t.t(&format!("au-flag-{}", f.as_str()))
    }
    fn status(&self, c: &FlaggedClaim) -> String {
        self.t.t(&format!("wc-status-{}", c.status.as_str()))
    }
    fn money(&self, m: &Money) -> String {
        self.t.money(m)
    }
    fn when(&self, d: &str) -> String {
        self.t.date(d)
    }
}

/// `/warranty/audit/points/{id}?flag=…`: the claims of a service point the rules hit.
pub async fn point(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let q = form_pairs(q.unwrap_or_default().as_bytes());
    let flag = RedFlag::parse("flag", field(&q, "flag")).ok();
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let w = state.store.warranty();
    let (total, claims) = match w
        .flagged_claims(
            &s.caller.scope,
            state.now().date(),
            AUDIT_MONTHS,
            &id,
            flag,
            Some(POINT_ROWS),
        )
        .await
    {
        Ok(c) => c,
        Err(e) => return store_error(&state, &s.ctx, e),
    };
    let name = match state
        .store
        .org()
        .get_organisation(&s.caller.scope, &id)
        .await
    {
        Ok(o) => o.name,
        Err(e) => return store_error(&state, &s.ctx, e),
    };
    render(&PointPage {
        chrome: Chrome::new(&t, &s.ctx),
        name,
        flag,
        claims,
        total,
        t,
    })
}

#[derive(Template)]
#[template(path = "warranty_audit_detail.html")]
struct DetailPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    audit: Audit,
    reasons: &'static [ChargebackReason],
    errors: FormErrors,
    sent: Sent,
}

impl DetailPage<'_> {
    fn status_text(&self) -> String {
        self.t.t(&format!("au-status-{}", self.audit.status))
    }
    fn title(&self) -> String {
        self.t.with(
            "au-detail-title",
            &[
                ("number", self.audit.number.as_str()),
                ("point", self.audit.service_point.label.as_str()),
            ],
        )
    }
    fn sizing(&self) -> String {
        self.t.with(
            "au-sizing",
            &[
                ("population", self.t.int(self.audit.population).as_str()),
                ("required", self.t.int(self.audit.required).as_str()),
                ("confidence", self.audit.confidence_pct.to_string().as_str()),
                ("rate", self.audit.min_bad_rate_pct.to_string().as_str()),
                ("sampled", self.audit.items.len().to_string().as_str()),
            ],
        )
    }
    fn flag(&self, f: &RedFlag) -> String {
        self.t.t(&format!("au-flag-{}", f.as_str()))
    }
    fn reason(&self, r: &ChargebackReason) -> String {
        self.t.t(&format!("au-reason-{}", r.as_str()))
    }
    fn money(&self, m: &Money) -> String {
        self.t.money(m)
    }
    fn d(&self, v: &f64, places: usize) -> String {
        self.t.dec(*v, places)
    }
    fn when(&self, d: &str) -> String {
        self.t.date(d)
    }
    fn form(&self, claim: &str) -> String {
        format!("item:{claim}")
    }
    fn result_text(&self, i: &aftersales_store::warranty::AuditItem) -> String {
        match i.result {
            Some(r) => self.t.t(&format!("au-result-{}", r.as_str())),
            None => self.t.t("au-result-open"),
        }
    }
}

/// `/warranty/audits/{id}`
pub async fn detail(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
) -> Response {
    detail_page(
        &state,
        &s,
        &id,
        FormErrors::default(),
        Sent::default(),
        StatusCode::OK,
    )
    .await
}

async fn detail_page(
    state: &AppState,
    s: &SignedIn,
    id: &str,
    errors: FormErrors,
    sent: Sent,
    status: StatusCode,
) -> Response {
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let a = match state.store.warranty().audit(&s.caller.scope, id).await {
        Ok(a) => a,
        Err(e) => return store_error(state, &s.ctx, e),
    };
    let mut r = render(&DetailPage {
        chrome: Chrome::new(&t, &s.ctx),
        audit: a,
        reasons: ChargebackReason::ALL,
        errors,
        sent,
        t,
    });
    *r.status_mut() = status;
    r
}

/// `POST /warranty/audits/{id}/claims/{claim_id}`: what the audit found on a claim.
pub async fn record(
    State(state): State<AppState>,
    s: SignedIn,
    Path((id, claim)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let opt = |n: &str| Some(field(&p, n).trim().to_string()).filter(|v| !v.is_empty());
    let input = AuditResultInput {
        result: field(&p, "result").to_string(),
        amount: opt("amount"),
        reason: opt("reason"),
        note: opt("note"),
    };
    let r = state
        .store
        .warranty()
        .record_audit_result(&s.caller.scope, &id, &claim, &input, state.now())
        .await;
    let back = format!("/warranty/audits/{id}#c-{claim}");
    let form = format!("item:{claim}");
    super::answer(
        &state,
        &s,
        r,
        |_| see_other(&back),
        |errors| {
            detail_page(
                &state,
                &s,
                &id,
                errors,
                Sent::new(form, p.clone()),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        },
    )
    .await
}

/// `POST /warranty/audits/{id}/close`: closes an audit whose claims all have a finding.
pub async fn close(State(state): State<AppState>, s: SignedIn, Path(id): Path<String>) -> Response {
    let r = state
        .store
        .warranty()
        .close_audit(&s.caller.scope, &id, state.now())
        .await;
    let back = format!("/warranty/audits/{id}");
    super::answer(
        &state,
        &s,
        r,
        |_| see_other(&back),
        |errors| {
            detail_page(
                &state,
                &s,
                &id,
                errors,
                Sent::default(),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        },
    )
    .await
}
