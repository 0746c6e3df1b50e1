//! Warranty claims as the three parties work them: the list (what waits for me, everything I
//! see), a claim made from a repair-order job, and the claim's page where the service point
//! submits or appeals, the importer recommends and the brand decides line by line, with the
//! history, the deadline of the step, the supplier recovery and the reconciliation with the
//! invoice. Words in the reader's language; what people wrote shown as written.

use aftersales_domain::org::Permission;
use aftersales_domain::warranty::claims::{
    ClaimStatus, ClaimType, PartAnalysis, Party, ReasonCode,
};
use aftersales_domain::warranty::goodwill::ComponentGroup;
use aftersales_domain::workshop::LineKind;
use aftersales_store::warranty::{
    Claim, ClaimEvent, ClaimFilter, ClaimInput, ClaimLine, ClaimOffer, ClaimStepInput,
    ClaimSummary, LineDecisionInput, OfferLine, RecoveryInput,
};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{
    field, form_pairs, render, see_other, store_error, Chrome, FormErrors, Sent, SignedIn,
};
use crate::i18n::Tr;
use crate::AppState;

/// A quantity or hours (`2.50`) as the reader writes decimals.
fn decimal(t: &Tr<'_>, v: &str) -> String {
    match aftersales_domain::money::parse_centi("q", v, i64::MIN / 2, i64::MAX / 2) {
        Ok(c) => aftersales_domain::money::format_amount(c, t.lang),
        Err(_) => v.to_string(),
    }
}

/// Words for the claim vocabulary, shared by the pages.
struct Words<'a, 'b>(&'a Tr<'b>);

impl Words<'_, '_> {
    fn status(&self, s: ClaimStatus) -> String {
        self.0.t(&format!("wc-status-{}", s.as_str()))
    }
    fn party(&self, p: Party) -> String {
        self.0.t(&format!("wc-party-{}", p.as_str()))
    }
    fn kind(&self, k: ClaimType) -> String {
        self.0.t(&format!("wc-type-{}", k.as_str()))
    }
    fn reason(&self, r: ReasonCode) -> String {
        self.0.t(&format!("wc-reason-{}", r.as_str()))
    }
    fn line_kind(&self, k: LineKind) -> String {
        self.0.t(&format!("line-{}", k.as_str()))
    }
}

fn status_class(s: ClaimStatus) -> &'static str {
    match s {
        ClaimStatus::Approved => "badge ok",
        ClaimStatus::PartlyApproved | ClaimStatus::Returned => "badge warn",
        ClaimStatus::Rejected => "badge bad",
        _ => "badge",
    }
}

#[derive(Template)]
#[template(path = "warranty.html")]
struct ListPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    /// The drill-down from the analysis, as the reader reads it.
    narrowed: Option<String>,
    /// The reader may open the claim analysis.
    can_analyse: bool,
    view: String,
    claims: Vec<ClaimSummary>,
    zone: aftersales_domain::calendar::Zone,
}

impl ListPage<'_> {
    fn status(&self, c: &ClaimSummary) -> String {
        Words(&self.t).status(c.status)
    }
    fn status_class(&self, c: &ClaimSummary) -> &'static str {
        status_class(c.status)
    }
    fn kind(&self, c: &ClaimSummary) -> String {
        Words(&self.t).kind(c.claim_type)
    }
    fn holder(&self, c: &ClaimSummary) -> String {
        Words(&self.t).party(c.holder)
    }
    fn due(&self, c: &ClaimSummary) -> String {
        c.step_due
            .map(|d| super::local_time(self.zone, d))
            .unwrap_or_default()
    }
}

/// `/warranty`: the claims whose next step is the reader's (the default), or all they see.
pub async fn list(State(state): State<AppState>, s: SignedIn, RawQuery(q): RawQuery) -> Response {
    let q = form_pairs(q.unwrap_or_default().as_bytes());
    let view = match field(&q, "view") {
        "all" => "all",
        "decided" => "decided",
        _ => "mine",
    };
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    // The analysis drills down here: claims of a component group opened in a month.
    let component = ComponentGroup::parse("component", field(&q, "component")).ok();
    let month = Some(field(&q, "month"))
        .filter(|m| m.len() == 7 && m.as_bytes().get(4) == Some(&b'-'))
        .map(str::to_string);
    let view = if component.is_some() || month.is_some() {
        "all"
    } else {
        view
    };
    let filter = ClaimFilter {
        mine: view == "mine",
        component,
        opened_month: month.clone(),
        ..Default::default()
    };
    let mut claims = match state
        .store
        .warranty()
        .claims(&s.caller.scope, &filter, state.now())
        .await
    {
        Ok(c) => c,
        Err(e) => return store_error(&state, &s.ctx, e),
    };
    if view == "decided" {
        claims.retain(|c| {
            matches!(
                c.status,
                ClaimStatus::Approved | ClaimStatus::PartlyApproved | ClaimStatus::Rejected
            )
        });
    }
    let zone = match super::reader_zone(&state, &s).await {
        Ok(z) => z,
        Err(e) => return store_error(&state, &s.ctx, e),
    };
    let narrowed = match (component, &month) {
        (None, None) => None,
        (c, m) => Some(
            [
                c.map(|c| t.t(&format!("gw-group-{}", c.as_str()))),
                m.clone(),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" · "),
        ),
    };
    render(&ListPage {
        chrome: Chrome::new(&t, &s.ctx),
        narrowed,
        can_analyse: !s
            .caller
            .scope
            .orgs_with(aftersales_domain::org::Permission::WarrantyAnalyse)
            .is_empty(),
        view: view.into(),
        claims,
        zone,
        t,
    })
}

#[derive(Template)]
#[template(path = "claim_new.html")]
struct NewPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    offer: ClaimOffer,
    errors: FormErrors,
    sent: Sent,
    types: &'static [ClaimType],
}

impl NewPage<'_> {
    fn component_groups(&self) -> &'static [ComponentGroup] {
        ComponentGroup::ALL
    }
    fn group(&self, g: &ComponentGroup) -> String {
        self.t.t(&format!("gw-group-{}", g.as_str()))
    }
    fn kind(&self, k: &ClaimType) -> String {
        Words(&self.t).kind(*k)
    }
    fn line_kind(&self, l: &OfferLine) -> String {
        Words(&self.t).line_kind(l.kind)
    }
    fn dec(&self, v: &str) -> String {
        decimal(&self.t, v)
    }
    fn chosen_type(&self) -> &str {
        let default =
            if self.offer.warranty_lines.is_empty() && !self.offer.goodwill_lines.is_empty() {
                "goodwill"
            } else {
                "warranty"
            };
        self.sent.or("claim", "claim_type", default)
    }
    fn km(&self) -> String {
        self.sent
            .or(
                "claim",
                "odometer_km",
                &self
                    .offer
                    .odometer_km
                    .map(|k| k.to_string())
                    .unwrap_or_default(),
            )
            .to_string()
    }
    fn groups(&self) -> Vec<(String, &Vec<OfferLine>)> {
        vec![
            (self.t.t("wc-lines-warranty"), &self.offer.warranty_lines),
            (self.t.t("wc-lines-goodwill"), &self.offer.goodwill_lines),
        ]
    }
    fn over_reason(&self, l: &OfferLine) -> &str {
        self.sent
            .get("claim", &format!("over_reason_{}", l.ro_line_id))
    }
}

async fn new_page(
    state: &AppState,
    s: &SignedIn,
    job: &str,
    errors: FormErrors,
    sent: Sent,
    status: StatusCode,
) -> Response {
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let offer = match state
        .store
        .warranty()
        .claim_offer(&s.caller.scope, job)
        .await
    {
        Ok(o) => o,
        Err(e) => return store_error(state, &s.ctx, e),
    };
    if errors.is_empty() {
        if let Some(c) = &offer.existing {
            return see_other(&format!("/warranty/claims/{}", c.id));
        }
    }
    (
        status,
        render(&NewPage {
            chrome: Chrome::new(&t, &s.ctx),
            offer,
            errors,
            sent,
            types: ClaimType::ALL,
            t,
        }),
    )
        .into_response()
}

/// `/warranty/claims/new?job=…`: what the claim from a repair-order job would state.
pub async fn new_claim(
    State(state): State<AppState>,
    s: SignedIn,
    RawQuery(q): RawQuery,
) -> Response {
    let q = form_pairs(q.unwrap_or_default().as_bytes());
    new_page(
        &state,
        &s,
        field(&q, "job"),
        FormErrors::default(),
        Sent::default(),
        StatusCode::OK,
    )
    .await
}

fn km_of(v: &str) -> Option<i64> {
    let v = v.trim();
    if v.is_empty() {
        None
    } else {
        Some(
            v.replace([' ', '.', '\u{a0}', ','], "")
                .parse::<i64>()
                .unwrap_or(-1),
        )
    }
}

pub async fn create(State(state): State<AppState>, s: SignedIn, body: Bytes) -> Response {
    let p = form_pairs(&body);
    let f = |n: &str| {
        let v = field(&p, n).trim();
        (!v.is_empty()).then(|| v.to_string())
    };
    let input = ClaimInput {
        job_id: field(&p, "job_id").to_string(),
        claim_type: field(&p, "claim_type").to_string(),
        campaign: f("campaign"),
        odometer_km: km_of(field(&p, "odometer_km")),
        dtcs: field(&p, "dtcs")
            .split([',', ' ', ';'])
            .filter(|d| !d.trim().is_empty())
            .map(str::to_string)
            .collect(),
        causal_part: f("causal_part"),
        component_group: f("component_group"),
        preauth: f("preauth"),
        over_reasons: p
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix("over_reason_")
                    .filter(|_| !v.trim().is_empty())
                    .map(|id| (id.to_string(), v.clone()))
            })
            .collect(),
    };
    let r = state
        .store
        .warranty()
        .create_claim(&s.caller.scope, &input, state.now())
        .await;
    let job = input.job_id.clone();
    super::answer(
        &state,
        &s,
        r,
        |c| see_other(&format!("/warranty/claims/{}?done=created", c.id)),
        |errors| {
            new_page(
                &state,
                &s,
                &job,
                errors,
                Sent::new("claim", p.clone()),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        },
    )
    .await
}

#[derive(Template)]
#[template(path = "claim.html")]
struct ClaimPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    c: Claim,
    zone: aftersales_domain::calendar::Zone,
    errors: FormErrors,
    sent: Sent,
    done: String,
    /// The reader may open the repair order (customer data): not analysts.
    ro_link: bool,
    reasons: &'static [ReasonCode],
    analyses: &'static [PartAnalysis],
}

impl ClaimPage<'_> {
    fn group(&self, g: &ComponentGroup) -> String {
        self.t.t(&format!("gw-group-{}", g.as_str()))
    }
    fn w(&self) -> Words<'_, '_> {
        Words(&self.t)
    }
    fn status(&self) -> String {
        self.w().status(self.c.status)
    }
    fn done_text(&self) -> Option<String> {
        ["submit", "approve", "reject", "return", "appeal"]
            .contains(&self.done.as_str())
            .then(|| self.t.t(&format!("wc-done-{}", self.done)))
    }
    fn km(&self) -> String {
        self.t.int(self.c.odometer_km)
    }
    fn status_class(&self) -> &'static str {
        status_class(self.c.status)
    }
    fn kind(&self) -> String {
        self.w().kind(self.c.claim_type)
    }
    fn holder(&self) -> String {
        let who = match self.c.holder {
            Party::ServicePoint => Some(&self.c.organisation),
            Party::Importer => self.c.reviewer.as_ref(),
            Party::Brand => Some(&self.c.brand),
        };
        format!(
            "{}{}",
            self.w().party(self.c.holder),
            who.map(|r| format!(" ({})", r.label)).unwrap_or_default()
        )
    }
    fn due(&self) -> String {
        self.c
            .step_due
            .map(|d| super::local_time(self.zone, d))
            .unwrap_or_default()
    }
    fn line_kind(&self, l: &ClaimLine) -> String {
        self.w().line_kind(l.kind)
    }
    fn dec(&self, v: &str) -> String {
        decimal(&self.t, v)
    }
    fn reason_word(&self, r: &Option<ReasonCode>) -> String {
        r.map(|r| self.w().reason(r)).unwrap_or_default()
    }
    fn reason_label(&self, r: &ReasonCode) -> String {
        self.w().reason(*r)
    }
    fn analysis_label(&self, a: &PartAnalysis) -> String {
        self.t.t(&format!("wc-analysis-{}", a.as_str()))
    }
    fn analysis_word(&self, l: &ClaimLine) -> String {
        l.analysis
            .map(|a| self.analysis_label(&a))
            .unwrap_or_default()
    }
    fn may(&self, a: &str) -> bool {
        self.c.actions.iter().any(|x| x.as_str() == a)
    }
    /// The reader decides amounts on this step (importer or brand).
    fn deciding(&self) -> bool {
        self.may("approve")
    }
    /// The amount the decision form starts with: what was sent, else the importer's
    /// recommendation (for the brand), else the claim.
    fn start_amount(&self, l: &ClaimLine) -> String {
        let sent = self.sent.get("step", &format!("approved_{}", l.id));
        if !sent.is_empty() {
            return sent.to_string();
        }
        let base = if self.c.holder == Party::Brand {
            l.importer.as_ref().unwrap_or(&l.claimed)
        } else {
            &l.claimed
        };
        base.amount.clone()
    }
    fn start_reason(&self, l: &ClaimLine) -> String {
        let sent = self.sent.get("step", &format!("reason_{}", l.id));
        if !sent.is_empty() {
            return sent.to_string();
        }
        if self.c.holder == Party::Brand {
            l.importer_reason
                .map(|r| r.as_str().to_string())
                .unwrap_or_default()
        } else {
            String::new()
        }
    }
    fn event_line(&self, e: &ClaimEvent) -> String {
        let w = self.w();
        let mut s = self.t.with(
            "wc-event",
            &[
                ("party", &w.party(e.party)),
                (
                    "action",
                    &self.t.t(&format!("wc-action-{}", e.action.as_str())),
                ),
                ("status", &w.status(e.status_after)),
            ],
        );
        if let Some(r) = e.reason {
            s.push_str(&format!(" · {}", w.reason(r)));
        }
        s
    }
    fn when(&self, at: &time::OffsetDateTime) -> String {
        super::local_time(self.zone, *at)
    }
    fn money(&self, m: &aftersales_domain::money::Money) -> String {
        self.t.money(m)
    }
    fn opt_money(&self, m: &Option<aftersales_domain::money::Money>) -> String {
        m.as_ref().map(|m| self.t.money(m)).unwrap_or_default()
    }
    fn decision_of(&self, e: &ClaimEvent) -> Vec<String> {
        e.decisions
            .iter()
            .filter_map(|d| {
                let l = self.c.lines.iter().find(|l| l.id == d.line_id)?;
                (d.approved.minor() != l.claimed.minor()).then(|| {
                    format!(
                        "{}: {} ({})",
                        l.description,
                        self.t.money(&d.approved),
                        self.reason_word(&d.reason)
                    )
                })
            })
            .collect()
    }
    fn returned_value(&self, l: &ClaimLine) -> &'static str {
        match l.part_returned {
            Some(true) => "yes",
            Some(false) => "no",
            None => "",
        }
    }
}

async fn claim_page(
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
    let c = match state
        .store
        .warranty()
        .claim(&s.caller.scope, id, state.now())
        .await
    {
        Ok(c) => c,
        Err(e) => return store_error(state, &s.ctx, e),
    };
    let zone = match super::reader_zone(state, s).await {
        Ok(z) => z,
        Err(e) => return store_error(state, &s.ctx, e),
    };
    let ro_link = s
        .caller
        .scope
        .permits(&c.organisation.id, Permission::CrmRead);
    (
        status,
        render(&ClaimPage {
            chrome: Chrome::new(&t, &s.ctx),
            c,
            zone,
            errors,
            sent,
            done,
            ro_link,
            reasons: ReasonCode::ALL,
            analyses: PartAnalysis::ALL,
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
    claim_page(&state, &s, &id, Default::default(), StatusCode::OK, done).await
}

/// A step from the claim's page: the button pressed is the action; line amounts and reasons
/// come as `approved_<line>` / `reason_<line>`.
pub async fn step(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let opt = |n: &str| {
        let v = field(&p, n).trim();
        (!v.is_empty()).then(|| v.to_string())
    };
    let action = field(&p, "action").to_string();
    let lines = if action == "approve" {
        p.iter()
            .filter_map(|(k, v)| {
                k.strip_prefix("approved_").map(|line| LineDecisionInput {
                    line_id: line.to_string(),
                    approved: v.trim().replace(',', "."),
                    reason: opt(&format!("reason_{line}")),
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    let input = ClaimStepInput {
        action: action.clone(),
        reason: opt("reason"),
        note: opt("note"),
        lines,
    };
    let version = field(&p, "version").parse::<i64>().unwrap_or(0);
    let r = state
        .store
        .warranty()
        .step(&s.caller.scope, &id, version, &input, state.now())
        .await
        .map(|_| ());
    let back = format!("/warranty/claims/{id}?done={action}");
    super::after_form(&state, &s, r, &back, |errors| {
        claim_page(
            &state,
            &s,
            &id,
            (errors, Sent::new("step", p.clone())),
            StatusCode::UNPROCESSABLE_ENTITY,
            String::new(),
        )
    })
    .await
}

pub async fn recovery(
    State(state): State<AppState>,
    s: SignedIn,
    Path((id, line)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let input = RecoveryInput {
        part_returned: match field(&p, "part_returned") {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        },
        analysis: Some(field(&p, "analysis").to_string()).filter(|a| !a.is_empty()),
        recovery_pct: field(&p, "recovery_pct")
            .trim()
            .trim_end_matches('%')
            .trim()
            .parse::<i64>()
            .unwrap_or(if field(&p, "recovery_pct").trim().is_empty() {
                0
            } else {
                -1
            }),
    };
    let r = state
        .store
        .warranty()
        .record_recovery(&s.caller.scope, &id, &line, &input, state.now())
        .await
        .map(|_| ());
    let back = format!("/warranty/claims/{id}?done=recovery");
    super::after_form(&state, &s, r, &back, |errors| {
        claim_page(
            &state,
            &s,
            &id,
            (errors, Sent::new(format!("recovery-{line}"), p.clone())),
            StatusCode::UNPROCESSABLE_ENTITY,
            String::new(),
        )
    })
    .await
}

/// The claim in the export format, as a file.
pub async fn export(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
) -> Response {
    let c = match state
        .store
        .warranty()
        .claim(&s.caller.scope, &id, state.now())
        .await
    {
        Ok(c) => c,
        Err(e) => return store_error(&state, &s.ctx, e),
    };
    let body = match serde_json::to_vec_pretty(&c.export()) {
        Ok(b) => b,
        Err(e) => {
            return store_error(
                &state,
                &s.ctx,
                aftersales_store::StoreError::Internal(e.to_string()),
            )
        }
    };
    (
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}.json\"", c.number),
            ),
        ],
        body,
    )
        .into_response()
}
